//! A small reader for the YAML that `kubectl get ... -o yaml` prints: block mappings and
//! sequences by indentation, plain and quoted scalars (multi-line ones folded), literal and
//! folded block scalars (`|`, `|-`, `|+`, `>`, with an indentation digit), comments, and flow
//! collections kept as text. Anchors, aliases, tags and multiple documents are not needed for
//! a ConfigMap and are refused or passed over.
//!
//! No YAML crate is used: kubectl's output is regular enough that a few hundred lines read it
//! exactly, and every error can name its line.

/// A YAML node.
#[derive(Debug, Clone, PartialEq)]
pub enum Yaml {
    /// An empty value (`key:` with nothing under it, or `~`/`null`).
    Null,
    /// A scalar's text, quotes and escapes resolved.
    Scalar(String),
    /// A block mapping, in file order.
    Map(Vec<(String, Yaml)>),
    /// A block sequence.
    Seq(Vec<Yaml>),
    /// A flow collection (`{...}`, `[...]`) other than an empty one, as written.
    Flow(String),
}

impl Yaml {
    /// The value under `key` of a mapping.
    pub fn get(&self, key: &str) -> Option<&Yaml> {
        match self {
            Yaml::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The text of a scalar.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Yaml::Scalar(text) => Some(text),
            _ => None,
        }
    }
}

/// Why the text is not YAML this reader understands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    /// 1-based line.
    pub line: usize,
    /// What was expected.
    pub message: String,
}

/// One line of the text. `col` is where the parser looks: 0, or just after a `- ` that the
/// sequence reader has consumed (so a mapping can start on the dash's line).
#[derive(Clone, Copy)]
struct Line<'a> {
    text: &'a str,
    col: usize,
    number: usize,
}

impl<'a> Line<'a> {
    fn indent(&self) -> usize {
        self.col
            + (self.text.len() - self.col - self.text[self.col..].trim_start_matches(' ').len())
    }

    fn content(&self) -> &'a str {
        &self.text[self.indent()..]
    }

    /// Blank, or only a comment: carries no structure.
    fn is_blank(&self) -> bool {
        let content = self.content().trim_start();
        content.is_empty() || content.starts_with('#')
    }
}

/// Parses one YAML document.
pub fn parse(text: &str) -> Result<Yaml, YamlError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines: Vec<Line> = text
        .split('\n')
        .enumerate()
        .map(|(i, line)| Line {
            text: line.strip_suffix('\r').unwrap_or(line),
            col: 0,
            number: i + 1,
        })
        .collect();
    let mut parser = Parser { lines, pos: 0 };
    parser.skip_blank();
    while parser.pos < parser.lines.len() {
        let content = parser.lines[parser.pos].content();
        if content.starts_with('%') {
            parser.pos += 1;
        } else if is_marker(content, "---") {
            parser.pos += 1;
            break;
        } else {
            break;
        }
        parser.skip_blank();
    }
    let root = parser.node(-1)?;
    parser.skip_blank();
    if let Some(line) = parser.lines.get(parser.pos) {
        let content = line.content();
        if is_marker(content, "---") {
            return Err(parser.error_at(line.number, "a second YAML document; expected one object"));
        }
        if !is_marker(content, "...") {
            return Err(parser.error_at(
                line.number,
                "unexpected text after the document (is the indentation off?)",
            ));
        }
    }
    Ok(root)
}

fn is_marker(content: &str, marker: &str) -> bool {
    content == marker
        || content
            .strip_prefix(marker)
            .is_some_and(|rest| rest.starts_with(' ') || rest.starts_with('\t'))
}

struct Parser<'a> {
    lines: Vec<Line<'a>>,
    pos: usize,
}

impl<'a> Parser<'a> {
    fn error_at(&self, line: usize, message: impl Into<String>) -> YamlError {
        YamlError {
            line,
            message: message.into(),
        }
    }

    fn skip_blank(&mut self) {
        while self.pos < self.lines.len() && self.lines[self.pos].is_blank() {
            self.pos += 1;
        }
    }

    fn check_tabs(&self, line: &Line) -> Result<(), YamlError> {
        if line.content().starts_with('\t') {
            return Err(self.error_at(
                line.number,
                "a tab in the indentation; YAML indents with spaces",
            ));
        }
        Ok(())
    }

    /// The node that starts at the next non-blank line, if it is indented more than `parent`.
    fn node(&mut self, parent: isize) -> Result<Yaml, YamlError> {
        self.skip_blank();
        let Some(&line) = self.lines.get(self.pos) else {
            return Ok(Yaml::Null);
        };
        self.check_tabs(&line)?;
        let indent = line.indent();
        if indent as isize <= parent {
            return Ok(Yaml::Null);
        }
        let content = line.content();
        if is_dash(content) {
            return self.sequence(indent);
        }
        if split_key(content).is_some() {
            return self.mapping(indent);
        }
        self.pos += 1;
        self.value(content, parent, line.number)
    }

    fn mapping(&mut self, indent: usize) -> Result<Yaml, YamlError> {
        let mut entries: Vec<(String, Yaml)> = Vec::new();
        loop {
            self.skip_blank();
            let Some(&line) = self.lines.get(self.pos) else {
                break;
            };
            self.check_tabs(&line)?;
            let content = line.content();
            if line.indent() < indent || is_marker(content, "---") || is_marker(content, "...") {
                break;
            }
            if line.indent() > indent {
                return Err(self.error_at(
                    line.number,
                    "unexpected indentation; expected `key: value` aligned with the keys above",
                ));
            }
            if is_dash(content) {
                return Err(
                    self.error_at(line.number, "a list item where a `key: value` was expected")
                );
            }
            let Some((key, rest)) = split_key(content) else {
                return Err(self.error_at(
                    line.number,
                    format!("expected `key: value`, found `{}`", clip(content)),
                ));
            };
            let key = key.map_err(|message| self.error_at(line.number, message))?;
            self.pos += 1;
            let value = if rest_is_empty(rest) {
                self.nested(indent)?
            } else {
                self.value(rest.trim_start(), indent as isize, line.number)?
            };
            entries.push((key, value));
        }
        Ok(Yaml::Map(entries))
    }

    /// What follows `key:` with nothing on its line: a more-indented node, or a sequence at
    /// the key's own indentation (kubectl writes `key:\n- item`).
    fn nested(&mut self, indent: usize) -> Result<Yaml, YamlError> {
        self.skip_blank();
        match self.lines.get(self.pos) {
            Some(next) if next.indent() > indent => self.node(indent as isize),
            Some(next) if next.indent() == indent && is_dash(next.content()) => {
                self.sequence(indent)
            }
            _ => Ok(Yaml::Null),
        }
    }

    fn sequence(&mut self, indent: usize) -> Result<Yaml, YamlError> {
        let mut items = Vec::new();
        loop {
            self.skip_blank();
            let Some(&line) = self.lines.get(self.pos) else {
                break;
            };
            self.check_tabs(&line)?;
            let content = line.content();
            if line.indent() != indent || !is_dash(content) {
                if line.indent() > indent {
                    return Err(self.error_at(
                        line.number,
                        "unexpected indentation in a list; expected `- item`",
                    ));
                }
                break;
            }
            let after_dash = &content[1..];
            if rest_is_empty(after_dash) {
                self.pos += 1;
                self.skip_blank();
                let more = self
                    .lines
                    .get(self.pos)
                    .is_some_and(|next| next.indent() > indent);
                items.push(if more {
                    self.node(indent as isize)?
                } else {
                    Yaml::Null
                });
            } else {
                // Re-read the rest of the line as a node of its own, indented where it starts,
                // so `- key: v` followed by `  key2: v` reads as one mapping.
                let spaces = after_dash.len() - after_dash.trim_start_matches(' ').len();
                self.lines[self.pos].col = line.indent() + 1 + spaces;
                items.push(self.node(indent as isize)?);
            }
        }
        Ok(Yaml::Seq(items))
    }

    /// A value that starts with `text` on a line already consumed; `parent` is the
    /// indentation of the key or dash that owns it.
    fn value(&mut self, text: &str, parent: isize, number: usize) -> Result<Yaml, YamlError> {
        let mut text = text;
        // Tags and anchors are decorations here; what matters is the value after them.
        while text.starts_with('!') || text.starts_with('&') {
            let end = text.find(' ').unwrap_or(text.len());
            text = text[end..].trim_start();
        }
        if rest_is_empty(text) {
            return self.nested(parent.max(0) as usize);
        }
        match text.as_bytes()[0] {
            b'|' | b'>' => self.block_scalar(text, parent, number),
            b'"' | b'\'' => self.quoted(text, number),
            b'{' | b'[' => self.flow(text, number),
            b'*' => Err(self.error_at(number, "YAML aliases (`*name`) are not supported here")),
            _ => Ok(self.plain(text, parent)),
        }
    }

    fn plain(&mut self, first: &str, parent: isize) -> Yaml {
        let mut out = strip_comment(first).trim_end().to_string();
        // Continuation lines: more indented than the owner, not comments; blank lines between
        // them become line breaks.
        let mut pending_breaks = 0;
        let mut look = self.pos;
        while let Some(line) = self.lines.get(look) {
            let content = line.content().trim_start();
            if content.is_empty() {
                pending_breaks += 1;
                look += 1;
                continue;
            }
            // A `key: value` line is never part of a plain scalar: it is a mapping entry,
            // misplaced if it is indented more than its siblings.
            if line.indent() as isize <= parent
                || content.starts_with('#')
                || split_key(content).is_some()
            {
                break;
            }
            if pending_breaks == 0 {
                out.push(' ');
            } else {
                out.extend(std::iter::repeat_n('\n', pending_breaks));
            }
            pending_breaks = 0;
            out.push_str(strip_comment(content).trim_end());
            look += 1;
            self.pos = look;
        }
        match out.as_str() {
            "~" | "null" | "Null" | "NULL" => Yaml::Null,
            _ => Yaml::Scalar(out),
        }
    }

    /// A quoted scalar, possibly over several lines (kubectl folds long strings).
    fn quoted(&mut self, text: &str, number: usize) -> Result<Yaml, YamlError> {
        let quote = text.as_bytes()[0];
        let mut raw = String::new();
        let mut segment = &text[1..];
        loop {
            if let Some(end) = closing_quote(segment, quote) {
                raw.push_str(&segment[..end]);
                let after = segment[end + 1..].trim_start();
                if !after.is_empty() && !after.starts_with('#') {
                    return Err(self.error_at(
                        number,
                        format!("unexpected `{}` after a quoted string", clip(after)),
                    ));
                }
                break;
            }
            raw.push_str(segment);
            raw.push('\n');
            let Some(line) = self.lines.get(self.pos) else {
                return Err(self.error_at(
                    number,
                    "a quoted string that never ends (is the file truncated?)",
                ));
            };
            segment = line.text.trim_start_matches([' ', '\t']);
            self.pos += 1;
        }
        let folded = fold_quoted(&raw);
        if quote == b'\'' {
            Ok(Yaml::Scalar(folded.replace("''", "'")))
        } else {
            unescape(&folded)
                .map(Yaml::Scalar)
                .map_err(|message| self.error_at(number, message))
        }
    }

    fn flow(&mut self, text: &str, number: usize) -> Result<Yaml, YamlError> {
        let mut collected = strip_comment(text).trim_end().to_string();
        while !balanced(&collected) {
            let Some(line) = self.lines.get(self.pos) else {
                return Err(self.error_at(
                    number,
                    "a `{` or `[` that is never closed (is the file truncated?)",
                ));
            };
            collected.push(' ');
            collected.push_str(strip_comment(line.text.trim()).trim_end());
            self.pos += 1;
        }
        Ok(match collected.replace(' ', "").as_str() {
            "{}" => Yaml::Map(Vec::new()),
            "[]" => Yaml::Seq(Vec::new()),
            _ => Yaml::Flow(collected),
        })
    }

    fn block_scalar(
        &mut self,
        header: &str,
        parent: isize,
        number: usize,
    ) -> Result<Yaml, YamlError> {
        let style = header.as_bytes()[0];
        let indicators = strip_comment(&header[1..]).trim();
        let mut chomp = b'c';
        let mut explicit: Option<usize> = None;
        for c in indicators.bytes() {
            match c {
                b'-' | b'+' if chomp == b'c' => chomp = c,
                b'1'..=b'9' if explicit.is_none() => explicit = Some(usize::from(c - b'0')),
                _ => {
                    return Err(self.error_at(
                        number,
                        format!(
                            "`{header}` is not a block scalar header such as `|`, `|-`, `|+` or `>`"
                        ),
                    ));
                }
            }
        }
        let base = parent.max(0) as usize;
        let leading = |text: &str| text.len() - text.trim_start_matches(' ').len();
        let indent = match explicit {
            Some(digit) => base + digit,
            None => {
                let first = self.lines[self.pos..]
                    .iter()
                    .find(|line| !line.text.trim().is_empty());
                match first {
                    Some(line) if leading(line.text) as isize > parent => leading(line.text),
                    _ => usize::MAX,
                }
            }
        };
        let mut body: Vec<&str> = Vec::new();
        while let Some(line) = self.lines.get(self.pos) {
            let text = line.text;
            if text.trim().is_empty() {
                body.push(text.get(indent..).unwrap_or(""));
            } else if indent != usize::MAX && leading(text) >= indent {
                body.push(&text[indent..]);
            } else {
                break;
            }
            self.pos += 1;
        }
        let content_end = body
            .iter()
            .rposition(|line| !line.trim().is_empty())
            .map_or(0, |i| i + 1);
        let trailing = body.len() - content_end;
        let mut out = if style == b'|' {
            body[..content_end].join("\n")
        } else {
            fold_block(&body[..content_end])
        };
        match chomp {
            b'-' => {}
            b'+' => {
                if content_end > 0 {
                    out.push('\n');
                }
                out.extend(std::iter::repeat_n('\n', trailing));
            }
            _ => {
                if content_end > 0 {
                    out.push('\n');
                }
            }
        }
        Ok(Yaml::Scalar(out))
    }
}

fn clip(text: &str) -> String {
    let clipped: String = text.chars().take(40).collect();
    if clipped.len() < text.len() {
        format!("{clipped}...")
    } else {
        clipped
    }
}

fn is_dash(content: &str) -> bool {
    content == "-" || content.starts_with("- ") || content.starts_with("-\t")
}

fn rest_is_empty(rest: &str) -> bool {
    let rest = rest.trim_start();
    rest.is_empty() || rest.starts_with('#')
}

/// ` #` starts a comment in a plain scalar; a `#` inside a word does not.
fn strip_comment(text: &str) -> &str {
    if text.starts_with('#') {
        return "";
    }
    match text.find(" #").or_else(|| text.find("\t#")) {
        Some(at) => &text[..at],
        None => text,
    }
}

/// `key: rest` when the line is a mapping entry: the key (quotes resolved) and what follows
/// the colon. `None` when the line is not an entry; `Some(Err)` for a broken quoted key.
fn split_key(content: &str) -> Option<(Result<String, String>, &str)> {
    let first = *content.as_bytes().first()?;
    if matches!(first, b'#' | b'{' | b'[' | b'|' | b'>' | b'!' | b'&' | b'*') || is_dash(content) {
        return None;
    }
    if first == b'"' || first == b'\'' {
        let end = closing_quote(&content[1..], first)? + 1;
        let rest = content[end + 1..].strip_prefix(':')?;
        if !(rest.is_empty() || rest.starts_with(' ') || rest.starts_with('\t')) {
            return None;
        }
        let inner = &content[1..end];
        let key = if first == b'\'' {
            Ok(inner.replace("''", "'"))
        } else {
            unescape(inner)
        };
        return Some((key, rest));
    }
    let bytes = content.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'#' && i > 0 && (bytes[i - 1] == b' ' || bytes[i - 1] == b'\t') {
            return None;
        }
        if bytes[i] == b':'
            && (i + 1 == bytes.len() || bytes[i + 1] == b' ' || bytes[i + 1] == b'\t')
        {
            let key = content[..i].trim_end();
            return Some((Ok(key.to_string()), &content[i + 1..]));
        }
        i += 1;
    }
    None
}

/// The byte index of the quote that closes a string whose text starts at `text`.
fn closing_quote(text: &str, quote: u8) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if quote == b'"' => i += 2,
            b'\'' if quote == b'\'' => {
                if bytes.get(i + 1) == Some(&b'\'') {
                    i += 2;
                } else {
                    return Some(i);
                }
            }
            b if b == quote => return Some(i),
            _ => i += 1,
        }
    }
    None
}

/// Line folding of a multi-line quoted scalar: a line break becomes a space, an empty line a
/// newline; spaces around breaks go. A break escaped by `\` is kept for `unescape`.
fn fold_quoted(raw: &str) -> String {
    let lines: Vec<&str> = raw.split('\n').collect();
    if lines.len() == 1 {
        return raw.to_string();
    }
    let mut out = String::new();
    let mut i = 0;
    while i < lines.len() {
        let last = i + 1 == lines.len();
        let mut line = lines[i];
        if i > 0 {
            line = line.trim_start_matches([' ', '\t']);
        }
        if last {
            out.push_str(line);
            break;
        }
        let escaped_break = line.ends_with('\\') && !line.ends_with("\\\\");
        if escaped_break {
            // `\` at the end: the break disappears; keep the line's own spaces.
            out.push_str(&line[..line.len() - 1]);
            i += 1;
            continue;
        }
        out.push_str(line.trim_end_matches([' ', '\t']));
        let mut empties = 0;
        while i + 1 + empties < lines.len() - 1 && lines[i + 1 + empties].trim().is_empty() {
            empties += 1;
        }
        if empties == 0 {
            out.push(' ');
        } else {
            out.extend(std::iter::repeat_n('\n', empties));
        }
        i += 1 + empties;
    }
    out
}

/// Folding of a `>` block: lines of text join with spaces, empty lines become newlines, and
/// more-indented lines keep their breaks.
fn fold_block(lines: &[&str]) -> String {
    let mut out = String::new();
    let mut previous_text = false;
    for (i, line) in lines.iter().enumerate() {
        let more_indented = line.starts_with(' ') || line.starts_with('\t');
        if line.is_empty() {
            out.push('\n');
            previous_text = false;
            continue;
        }
        if i > 0 {
            if previous_text && !more_indented {
                out.push(' ');
            } else if more_indented || !previous_text && !out.ends_with('\n') {
                out.push('\n');
            }
        }
        out.push_str(line);
        previous_text = !more_indented;
    }
    out
}

fn balanced(text: &str) -> bool {
    let mut depth: i32 = 0;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in text.chars() {
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if c == '\\' && q == '"' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
            }
            None => match c {
                '"' | '\'' => quote = Some(c),
                '{' | '[' => depth += 1,
                '}' | ']' => depth -= 1,
                _ => {}
            },
        }
    }
    depth <= 0 && quote.is_none()
}

/// Resolves the escapes of a double-quoted scalar.
fn unescape(text: &str) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let Some(escape) = chars.next() else {
            return Err("a `\\` at the end of a double-quoted string".to_string());
        };
        let hex = |chars: &mut std::str::Chars, digits: usize| -> Result<char, String> {
            let code: String = chars.by_ref().take(digits).collect();
            u32::from_str_radix(&code, 16)
                .ok()
                .filter(|_| code.len() == digits)
                .and_then(char::from_u32)
                .ok_or_else(|| format!("`\\{escape}{code}` is not a valid escape"))
        };
        out.push(match escape {
            '0' => '\0',
            'a' => '\u{7}',
            'b' => '\u{8}',
            't' | '\t' => '\t',
            'n' => '\n',
            'v' => '\u{b}',
            'f' => '\u{c}',
            'r' => '\r',
            'e' => '\u{1b}',
            ' ' => ' ',
            '"' => '"',
            '/' => '/',
            '\\' => '\\',
            'N' => '\u{85}',
            '_' => '\u{a0}',
            'L' => '\u{2028}',
            'P' => '\u{2029}',
            'x' => hex(&mut chars, 2)?,
            'u' => hex(&mut chars, 4)?,
            'U' => hex(&mut chars, 8)?,
            other => return Err(format!("`\\{other}` is not a YAML escape")),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scalar<'a>(doc: &'a Yaml, path: &[&str]) -> &'a str {
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
        let text = "apiVersion: v1\ndata:\n  eni_conf: |\n    {\n      \"max_pool_size\": 5, # five\n\n      \"x\": 1\n    }\n  flag: \"false\"\n  other: 'it''s'\nkind: ConfigMap\nmetadata:\n  annotations: {}\n  managedFields:\n  - apiVersion: v1\n    fieldsV1:\n      f:data: {}\n  - manager: kubectl\n  name: eni-config\n  namespace: kube-system\n";
        let doc = parse(text).unwrap();
        assert_eq!(
            scalar(&doc, &["data", "eni_conf"]),
            "{\n  \"max_pool_size\": 5, # five\n\n  \"x\": 1\n}\n"
        );
        assert_eq!(scalar(&doc, &["data", "flag"]), "false");
        assert_eq!(scalar(&doc, &["data", "other"]), "it's");
        assert_eq!(scalar(&doc, &["kind"]), "ConfigMap");
        assert_eq!(scalar(&doc, &["metadata", "name"]), "eni-config");
        assert_eq!(scalar(&doc, &["metadata", "namespace"]), "kube-system");
        let Some(Yaml::Seq(items)) = doc.get("metadata").and_then(|m| m.get("managedFields"))
        else {
            panic!("managedFields is a list");
        };
        assert_eq!(items.len(), 2);
        assert_eq!(
            items[1].get("manager").and_then(Yaml::as_str),
            Some("kubectl")
        );
    }

    #[test]
    fn chomping_indicators() {
        let doc = parse(
            "a: |-\n  x\n  y\n\nb: |+\n  x\n\n\nc: |\n  x\n\n\nd: >\n  one\n  two\n\n  three\n",
        )
        .unwrap();
        assert_eq!(scalar(&doc, &["a"]), "x\ny");
        assert_eq!(scalar(&doc, &["b"]), "x\n\n\n");
        assert_eq!(scalar(&doc, &["c"]), "x\n");
        assert_eq!(scalar(&doc, &["d"]), "one two\nthree\n");
    }

    #[test]
    fn explicit_indentation_keeps_leading_spaces() {
        let doc = parse("a: |2\n    indented\n  base\n").unwrap();
        assert_eq!(scalar(&doc, &["a"]), "  indented\nbase\n");
    }

    #[test]
    fn folded_double_quoted_strings() {
        let doc = parse("a: \"{\\\"max_pool_size\\\": 5,\n  \\\"min\\\": 0}\"\nb: \"x\\\n  y\"\nc: plain\n  continued\n").unwrap();
        assert_eq!(scalar(&doc, &["a"]), "{\"max_pool_size\": 5, \"min\": 0}");
        assert_eq!(scalar(&doc, &["b"]), "xy");
        assert_eq!(scalar(&doc, &["c"]), "plain continued");
    }

    #[test]
    fn quoted_keys_comments_and_markers() {
        let doc = parse("--- # doc\n\"a b\": 1 # one\n'c': x#y\n...\n").unwrap();
        assert_eq!(scalar(&doc, &["a b"]), "1");
        assert_eq!(scalar(&doc, &["c"]), "x#y");
    }

    #[test]
    fn errors_name_the_line() {
        let err = parse("a: 1\n   b: 2\n").unwrap_err();
        assert_eq!(err.line, 2);
        let err = parse("a: \"never closed\nb: 1\n").unwrap_err();
        assert_eq!(err.line, 1);
        assert!(err.message.contains("never ends"), "{}", err.message);
        let err = parse("a: 1\n---\nb: 2\n").unwrap_err();
        assert!(err.message.contains("second YAML document"));
        assert!(parse("a:\n\t- b\n").is_err());
    }

    #[test]
    fn json_like_text_is_not_a_mapping() {
        // A JSON object is a flow mapping; the ConfigMap reader handles JSON itself.
        assert!(matches!(parse("{\"a\": 1}").unwrap(), Yaml::Flow(_)));
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
            "a:\r\n  b: c\r\n",
        ] {
            let _ = parse(text);
        }
        assert_eq!(
            parse("a:\r\n  b: c\r\n")
                .unwrap()
                .get("a")
                .and_then(|a| a.get("b"))
                .and_then(Yaml::as_str),
            Some("c")
        );
    }
}
