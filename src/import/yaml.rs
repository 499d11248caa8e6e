//! kubectl's YAML, read with saphyr (a YAML 1.2 parser): block scalars, quoted and plain
//! strings, comments, flow collections, anchors and several documents in one stream.
//!
//! Scalars are kept as written (saphyr's "representation"), not resolved to numbers or
//! booleans: a ConfigMap's `data` holds strings, and `5` there means the text "5". Every node
//! carries the line it starts on, so findings and errors can point into the file.

use saphyr::{MarkedYaml, ScalarStyle, YamlData, YamlLoader};
use saphyr_parser::{Event, Parser, Span, SpannedEventReceiver};

/// A YAML node and where it starts.
pub type Node<'input> = MarkedYaml<'input>;

/// One document of a YAML stream.
#[derive(Debug)]
pub struct Document<'input> {
    /// The 1-based line of its `---`, or of its first node when it has none.
    pub line: usize,
    /// Its root node.
    pub root: Node<'input>,
}

/// Why the text is not YAML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    /// 1-based line.
    pub line: usize,
    /// What the parser found wrong.
    pub message: String,
}

/// Forwards the parser's events to saphyr's loader, noting where each document starts (the
/// loader keeps a document's root but not its `---`).
struct Recorder<'input> {
    loader: YamlLoader<'input, Node<'input>>,
    starts: Vec<usize>,
}

impl<'input> SpannedEventReceiver<'input> for Recorder<'input> {
    fn on_event(&mut self, event: Event<'input>, span: Span) {
        if matches!(event, Event::DocumentStart(_)) {
            self.starts.push(span.start.line());
        }
        self.loader.on_event(event, span);
    }
}

/// Parses every document of the text. Comment-only text has none.
pub fn documents(text: &str) -> Result<Vec<Document<'_>>, YamlError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut loader = YamlLoader::default();
    // Scalars stay text: what matters is what the file says, not YAML's guess at a type.
    loader.early_parse(false);
    let mut recorder = Recorder {
        loader,
        starts: Vec::new(),
    };
    let error = |e: &saphyr::ScanError| YamlError {
        line: e.marker().line().max(1),
        message: e.info().to_string(),
    };
    Parser::new_from_str(text)
        .load(&mut recorder, true)
        .map_err(|e| error(&e))?;
    if let Some(e) = recorder.loader.error() {
        return Err(error(e));
    }
    let starts = recorder.starts;
    let docs = recorder.loader.into_documents();
    Ok(docs
        .into_iter()
        .enumerate()
        .map(|(i, root)| Document {
            line: starts.get(i).copied().unwrap_or(root.span.start.line()),
            root,
        })
        .collect())
}

/// A node as JSON, with plain scalars resolved the way YAML 1.2's core schema (and so
/// kubectl's `-o yaml`) means them: `true`, `5`, `null`. Quoted scalars stay strings, so
/// `pods: "64"` is the text kubectl's JSON has too.
pub fn to_json(node: &Node) -> serde_json::Value {
    use serde_json::Value;
    match &node.untagged().data {
        YamlData::Representation(text, ScalarStyle::Plain, _) => plain_scalar(text),
        YamlData::Representation(text, _, _) => Value::String(text.to_string()),
        YamlData::Sequence(items) => Value::Array(items.iter().map(to_json).collect()),
        YamlData::Mapping(map) => Value::Object(
            map.iter()
                .map(|(key, value)| {
                    let key = match &key.untagged().data {
                        YamlData::Representation(text, _, _) => text.to_string(),
                        _ => String::new(),
                    };
                    (key, to_json(value))
                })
                .collect(),
        ),
        _ => Value::Null,
    }
}

fn plain_scalar(text: &str) -> serde_json::Value {
    use serde_json::Value;
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    if let Ok(n) = text.parse::<i64>() {
        return Value::from(n);
    }
    let numeric = text.bytes().any(|b| b.is_ascii_digit())
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'));
    match text.parse::<f64>() {
        Ok(f) if numeric && f.is_finite() => serde_json::Number::from_f64(f)
            .map(Value::Number)
            .unwrap_or_else(|| Value::String(text.to_string())),
        _ => Value::String(text.to_string()),
    }
}

/// What the import reads from a node: mapping entries by key, sequence items, scalar text.
pub trait NodeExt<'input> {
    /// The node under a tag, or the node itself.
    fn untagged(&self) -> &Node<'input>;
    /// The 1-based line the node starts on.
    fn line(&self) -> usize;
    /// The 1-based line where a scalar's text starts: for a block scalar, the line after its
    /// `|` or `>`, blank or not.
    fn text_line(&self) -> usize;
    /// The value under `key` of a mapping.
    fn get(&self, key: &str) -> Option<&Node<'input>>;
    /// The text of a scalar that is not null.
    fn as_str(&self) -> Option<&str>;
    /// Whether the node is empty (`key:` with nothing after it) or a plain `~`/`null`.
    fn is_null(&self) -> bool;
    /// The entries of a mapping, in file order.
    fn entries(&self) -> Option<Vec<(&Node<'input>, &Node<'input>)>>;
    /// The items of a sequence.
    fn items(&self) -> Option<&[Node<'input>]>;
}

impl<'input> NodeExt<'input> for Node<'input> {
    fn untagged(&self) -> &Node<'input> {
        match &self.data {
            YamlData::Tagged(_, inner) => inner.untagged(),
            _ => self,
        }
    }

    fn line(&self) -> usize {
        self.span.start.line()
    }

    fn text_line(&self) -> usize {
        match &self.untagged().data {
            // saphyr's span starts at the first character of text; the blank lines before it
            // are the text's leading line breaks.
            YamlData::Representation(text, ScalarStyle::Literal | ScalarStyle::Folded, _) => {
                let blank = text.len() - text.trim_start_matches('\n').len();
                self.line().saturating_sub(blank).max(1)
            }
            _ => self.line(),
        }
    }

    fn get(&self, key: &str) -> Option<&Node<'input>> {
        match &self.untagged().data {
            YamlData::Mapping(map) => map
                .iter()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    fn as_str(&self) -> Option<&str> {
        if self.is_null() {
            return None;
        }
        match &self.untagged().data {
            YamlData::Representation(text, _, _) => Some(text),
            _ => None,
        }
    }

    fn is_null(&self) -> bool {
        match &self.untagged().data {
            YamlData::Representation(text, ScalarStyle::Plain, _) => {
                matches!(text.as_ref(), "" | "~" | "null" | "Null" | "NULL")
            }
            YamlData::BadValue => true,
            _ => false,
        }
    }

    fn entries(&self) -> Option<Vec<(&Node<'input>, &Node<'input>)>> {
        match &self.untagged().data {
            YamlData::Mapping(map) => Some(map.iter().collect()),
            _ => None,
        }
    }

    fn items(&self) -> Option<&[Node<'input>]> {
        match &self.untagged().data {
            YamlData::Sequence(items) => Some(items),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Node<'_> {
        let mut docs = documents(text).unwrap();
        assert_eq!(docs.len(), 1, "{text}");
        docs.remove(0).root
    }

    fn scalar<'a>(doc: &'a Node, path: &[&str]) -> &'a str {
        let mut node = doc;
        for key in path {
            node = node
                .get(key)
                .unwrap_or_else(|| panic!("no {key} in {node:?}"));
        }
        node.as_str()
            .unwrap_or_else(|| panic!("{path:?} is {node:?}"))
    }

    #[test]
    fn reads_a_configmap_as_kubectl_prints_it() {
        let text = "apiVersion: v1\ndata:\n  eni_conf: |\n    {\n      \"max_pool_size\": 5, # five\n\n      \"x\": 1\n    }\n  flag: \"false\"\n  other: 'it''s'\n  count: 5\nkind: ConfigMap\nmetadata:\n  annotations: {}\n  managedFields:\n  - apiVersion: v1\n    fieldsV1:\n      f:data: {}\n  - manager: kubectl\n  name: eni-config\n  namespace: kube-system\n";
        let doc = one(text);
        assert_eq!(
            scalar(&doc, &["data", "eni_conf"]),
            "{\n  \"max_pool_size\": 5, # five\n\n  \"x\": 1\n}\n"
        );
        assert_eq!(
            doc.get("data")
                .unwrap()
                .get("eni_conf")
                .unwrap()
                .text_line(),
            4
        );
        assert_eq!(scalar(&doc, &["data", "flag"]), "false");
        assert_eq!(scalar(&doc, &["data", "other"]), "it's");
        assert_eq!(scalar(&doc, &["data", "count"]), "5");
        assert_eq!(scalar(&doc, &["kind"]), "ConfigMap");
        assert_eq!(scalar(&doc, &["metadata", "name"]), "eni-config");
        assert_eq!(scalar(&doc, &["metadata", "namespace"]), "kube-system");
        let items = doc
            .get("metadata")
            .and_then(|m| m.get("managedFields"))
            .and_then(NodeExt::items)
            .expect("managedFields is a list");
        assert_eq!(items.len(), 2);
        assert_eq!(
            items[1].get("manager").and_then(NodeExt::as_str),
            Some("kubectl")
        );
        let annotations = doc.get("metadata").and_then(|m| m.get("annotations"));
        assert_eq!(
            annotations.and_then(NodeExt::entries).map(|e| e.len()),
            Some(0)
        );
    }

    #[test]
    fn chomping_indicators() {
        let doc = one(
            "a: |-\n  x\n  y\n\nb: |+\n  x\n\n\nc: |\n  x\n\n\nd: >\n  one\n  two\n\n  three\n",
        );
        assert_eq!(scalar(&doc, &["a"]), "x\ny");
        assert_eq!(scalar(&doc, &["b"]), "x\n\n\n");
        assert_eq!(scalar(&doc, &["c"]), "x\n");
        assert_eq!(scalar(&doc, &["d"]), "one two\nthree\n");
        let lines: Vec<usize> = ["a", "b", "c", "d"]
            .iter()
            .map(|key| doc.get(key).unwrap().text_line())
            .collect();
        assert_eq!(lines, [2, 6, 10, 14]);
        let doc = one("x: 1\na: |\n\n\n  text\nb: \"q\"\n");
        assert_eq!(doc.get("a").unwrap().text_line(), 3);
        assert_eq!(doc.get("b").unwrap().text_line(), 6);
    }

    #[test]
    fn explicit_indentation_keeps_leading_spaces() {
        let doc = one("a: |2\n    indented\n  base\n");
        assert_eq!(scalar(&doc, &["a"]), "  indented\nbase\n");
    }

    #[test]
    fn folded_double_quoted_strings() {
        let doc = one(
            "a: \"{\\\"max_pool_size\\\": 5,\n  \\\"min\\\": 0}\"\nb: \"x\\\n  y\"\nc: plain\n  continued\n",
        );
        assert_eq!(scalar(&doc, &["a"]), "{\"max_pool_size\": 5, \"min\": 0}");
        assert_eq!(scalar(&doc, &["b"]), "xy");
        assert_eq!(scalar(&doc, &["c"]), "plain continued");
    }

    #[test]
    fn quoted_keys_comments_and_markers() {
        let doc = one("--- # doc\n\"a b\": 1 # one\n'c': x#y\n...\n");
        assert_eq!(scalar(&doc, &["a b"]), "1");
        assert_eq!(scalar(&doc, &["c"]), "x#y");
    }

    #[test]
    fn nulls_are_not_text() {
        let doc = one("a:\nb: ~\nc: null\nd: \"null\"\n");
        for key in ["a", "b", "c"] {
            let node = doc.get(key).unwrap();
            assert!(node.is_null() && node.as_str().is_none(), "{key}");
        }
        assert_eq!(scalar(&doc, &["d"]), "null");
    }

    #[test]
    fn crlf_line_endings() {
        let doc = one("a:\r\n  b: c\r\n  d: |\r\n    x\r\n    y\r\n");
        assert_eq!(scalar(&doc, &["a", "b"]), "c");
        assert_eq!(scalar(&doc, &["a", "d"]), "x\ny\n");
    }

    #[test]
    fn every_document_and_where_it_starts() {
        let docs = documents("# lead\na: 1\n---\nb: 2\n--- \nc: 3\n").unwrap();
        let lines: Vec<usize> = docs.iter().map(|d| d.line).collect();
        assert_eq!(lines, [2, 3, 5]);
        assert_eq!(scalar(&docs[2].root, &["c"]), "3");
        assert!(documents("# only a comment\n").unwrap().is_empty());
    }

    #[test]
    fn errors_name_the_line() {
        let err = documents("a: 1\n   b: 2\n").unwrap_err();
        assert_eq!(err.line, 2, "{err:?}");
        let err = documents("a: \"never closed\nb: 1\n").unwrap_err();
        assert!(err.line >= 1, "{err:?}");
        let err = documents("a: 1\na: 2\n").unwrap_err();
        assert_eq!(err.line, 2, "{err:?}");
        assert!(documents("a:\n\t- b\n").is_err());
    }

    #[test]
    fn json_of_kubectl_yaml() {
        let doc = one("a: true\nb: \"64\"\nc: 64\nd: 0.5\ne: ~\nf: [x, 'y']\ng: {h: 1.2.3}\n");
        assert_eq!(
            to_json(&doc),
            serde_json::json!({"a": true, "b": "64", "c": 64, "d": 0.5, "e": null, "f": ["x", "y"], "g": {"h": "1.2.3"}})
        );
    }

    #[test]
    fn never_panics_on_odd_input() {
        for text in [
            "",
            "-",
            "- -",
            ":",
            "a:",
            "a: |",
            "a: |9",
            "a: >-\n",
            "\"",
            "'",
            "- a: b\n  - c",
            "a: [1, {b",
            "a: \"\\",
            "a: \"\\u12\"",
            "? x",
            "a:\n- b\n -c",
            "- |\n x",
            "\u{feff}a: 1",
            "a: 'x\n\n  y'",
            "a: *nowhere",
            "a: &x [1]\nb: *x\n",
            "!!map {a: 1}",
            "%YAML 1.2\n---\na: 1\n",
        ] {
            if let Ok(docs) = documents(text) {
                for doc in &docs {
                    let _ = (doc.root.get("a"), doc.root.as_str(), doc.root.entries());
                }
            }
        }
    }
}
