//! `kubectl -n kube-system get cm eni-config -o yaml` (or `-o json`), and the `eni_conf` JSON
//! inside it, read the way Terway reads it (`types/daemon/config.go`) but forgiving what
//! Terway would refuse, with a finding for each such thing.

use std::collections::BTreeMap;

use serde_json::Value;

use super::yaml::{self, Node, NodeExt};
use super::{ImportError, Input, json_error};
use crate::lint::Finding;
use crate::scenario::Millis;

/// What `kubectl get cm` printed: the name and the `data` strings.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigMap {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace`.
    pub namespace: String,
    /// `data`, each value as a string.
    pub data: BTreeMap<String, String>,
    /// The 1-based line where `data.eni_conf`'s text starts (YAML block scalars), for findings.
    pub eni_conf_line: Option<usize>,
}

const EXPECTED: &str = "expected the eni-config ConfigMap as `kubectl -n kube-system get cm eni-config -o yaml` (or -o json) prints it";

/// The keys of Terway's `eni_conf` that mark a bare JSON object as one.
const ENI_CONF_KEYS: &[&str] = &[
    "version",
    "vswitches",
    "max_pool_size",
    "min_pool_size",
    "security_group",
    "security_groups",
    "service_cidr",
    "vswitch_selection_policy",
    "eni_selection_policy",
    "ipam_type",
    "ip_stack",
    "credential_path",
    "access_key",
    "eni_tags",
];

/// Reads the ConfigMap, YAML or JSON, and checks it is the one with `eni_conf`. `wanted` is
/// the ConfigMap to take (`--configmap`); a manifest of several documents gives `eni-config`
/// without it. The bare `eni_conf` JSON (what `-o jsonpath='{.data.eni_conf}'` prints) is
/// read as that ConfigMap's `eni_conf`. What was taken from a bigger file goes to `notes`.
pub fn read(
    input: &Input,
    wanted: Option<&str>,
    findings: &mut Vec<Finding>,
    notes: &mut Vec<String>,
) -> Result<ConfigMap, ImportError> {
    let fail = |message: String| ImportError::new(input.path, format!("{message}; {EXPECTED}"));
    let text = input.text.trim_start_matches('\u{feff}');
    let trimmed = text.trim_start();
    if trimmed.is_empty() {
        return Err(fail("is empty".to_string()));
    }
    let map = if trimmed.starts_with('{') {
        let value: Value = match serde_json::from_str(trimmed) {
            Ok(value) => value,
            Err(e) => {
                // Bare eni_conf with `#` comments: parse_eni_conf reads it with a finding.
                let (stripped, _) = strip_comments(trimmed);
                match serde_json::from_str::<Value>(&stripped) {
                    Ok(value) if is_bare_eni_conf(&value) => value,
                    _ => return Err(fail(looks_like(text).unwrap_or_else(|| json_error(&e)))),
                }
            }
        };
        if is_bare_eni_conf(&value) {
            notes.push(
                "read as the bare eni_conf JSON (`-o jsonpath='{.data.eni_conf}'`), the data of ConfigMap kube-system/eni-config".to_string(),
            );
            ConfigMap {
                name: wanted.unwrap_or("eni-config").to_string(),
                namespace: "kube-system".to_string(),
                data: BTreeMap::from([("eni_conf".to_string(), text.to_string())]),
                eni_conf_line: Some(1),
            }
        } else if let Some(item) = list_item(&value, wanted, notes) {
            from_json(item.map_err(fail)?).map_err(fail)?
        } else {
            from_json(&value).map_err(fail)?
        }
    } else {
        let docs = yaml::documents(input.text).map_err(|e| {
            fail(looks_like(text).unwrap_or_else(|| {
                format!(
                    "is not YAML kubectl prints (line {}: {})",
                    e.line, e.message
                )
            }))
        })?;
        let doc = match docs.len() {
            0 | 1 => docs.into_iter().next().map(|d| d.root),
            _ => Some(pick(docs, wanted, notes).map_err(fail)?),
        };
        match doc
            .as_ref()
            .and_then(|doc| yaml_list_item(doc, wanted, notes))
        {
            Some(item) => from_yaml(Some(item.map_err(fail)?)),
            None => from_yaml(doc.as_ref()),
        }
        .map_err(|m| fail(looks_like(text).unwrap_or(m)))?
    };
    if let Some(wanted) = wanted
        && map.name != wanted
    {
        return Err(fail(format!(
            "is ConfigMap `{}/{}`, not `{wanted}` (--configmap)",
            map.namespace, map.name
        )));
    }
    if !map.data.contains_key("eni_conf") {
        let keys: Vec<&str> = map.data.keys().map(String::as_str).collect();
        let keys = if keys.is_empty() {
            "it has no data".to_string()
        } else {
            format!("its data keys are {}", keys.join(", "))
        };
        return Err(fail(format!(
            "is ConfigMap `{}/{}`, which has no data.eni_conf ({keys})",
            map.namespace, map.name
        )));
    }
    if map.name != "eni-config" {
        // A per-node-pool `terway-config` (dynamic config) has the same shape: it is merged
        // over eni-config on the nodes labelled for it, which the model does not do.
        findings.push(
            Finding::new(
                "eni-conf-unmodelled",
                "metadata.name",
                format!(
                    "this is ConfigMap `{}/{}`, not `kube-system/eni-config`; its eni_conf is read as the whole cluster's Terway config",
                    map.namespace, map.name
                ),
                "import `kubectl -n kube-system get cm eni-config -o yaml` unless this dynamic config is what every node runs",
            )
            .in_file(input.path),
        );
    }
    Ok(map)
}

/// In a `List` (`kubectl -n kube-system get cm -o json`), the ConfigMap named `wanted` (or
/// `eni-config`); `None` when the value is no list.
fn list_item<'v>(
    value: &'v Value,
    wanted: Option<&str>,
    notes: &mut Vec<String>,
) -> Option<Result<&'v Value, String>> {
    let kind = value.get("kind").and_then(Value::as_str)?;
    let items = value.get("items").and_then(Value::as_array)?;
    if !kind.ends_with("List") {
        return None;
    }
    let name = wanted.unwrap_or("eni-config");
    let named = |item: &&Value| {
        item.get("metadata")
            .and_then(|m| m.get("name"))
            .and_then(Value::as_str)
            == Some(name)
    };
    Some(match items.iter().position(|item| named(&item)) {
        Some(index) => {
            notes.push(format!(
                "took ConfigMap {name}, item {} of the {kind}'s {}",
                index + 1,
                items.len()
            ));
            Ok(&items[index])
        }
        None => Err(format!(
            "is a {kind} of {} objects without a ConfigMap `{name}`",
            items.len()
        )),
    })
}

/// The same for YAML.
fn yaml_list_item<'d, 'i>(
    doc: &'d Node<'i>,
    wanted: Option<&str>,
    notes: &mut Vec<String>,
) -> Option<Result<&'d Node<'i>, String>> {
    let kind = doc.get("kind").and_then(NodeExt::as_str)?;
    let items = doc.get("items").and_then(NodeExt::items)?;
    if !kind.ends_with("List") {
        return None;
    }
    let name = wanted.unwrap_or("eni-config");
    let named = |item: &Node| {
        item.get("metadata")
            .and_then(|m| m.get("name"))
            .and_then(NodeExt::as_str)
            == Some(name)
    };
    Some(match items.iter().position(named) {
        Some(index) => {
            notes.push(format!(
                "took ConfigMap {name}, item {} of the {kind}'s {}",
                index + 1,
                items.len()
            ));
            Ok(&items[index])
        }
        None => Err(format!(
            "is a {kind} of {} objects without a ConfigMap `{name}`",
            items.len()
        )),
    })
}

/// Every ConfigMap with an `eni_conf` in a file (one object, a `List`, or a manifest of several
/// documents): the node pools' dynamic configs that nodes name with the `terway-config` label.
/// Nothing else in the file is an error here; the file was read whole by [`read`] or is given
/// for these alone.
pub fn configmaps_with_eni_conf(input: &Input) -> Result<Vec<ConfigMap>, ImportError> {
    let fail = |message: String| ImportError::new(input.path, format!("{message}; {EXPECTED}"));
    let text = input.text.trim_start_matches('\u{feff}').trim_start();
    let mut out = Vec::new();
    if text.starts_with('{') {
        let value: Value = serde_json::from_str(text).map_err(|e| fail(json_error(&e)))?;
        let items: Vec<&Value> = match value.get("items").and_then(Value::as_array) {
            Some(items) => items.iter().collect(),
            None => vec![&value],
        };
        for item in items {
            if let Ok(map) = from_json(item)
                && map.data.contains_key("eni_conf")
            {
                out.push(map);
            }
        }
    } else {
        let docs = yaml::documents(input.text)
            .map_err(|e| fail(format!("is not YAML (line {}: {})", e.line, e.message)))?;
        for doc in &docs {
            let items: Vec<&Node> = match doc.root.get("items").and_then(NodeExt::items) {
                Some(items) => items.iter().collect(),
                None => vec![&doc.root],
            };
            for item in items {
                if let Ok(map) = from_yaml(Some(item))
                    && map.data.contains_key("eni_conf")
                {
                    out.push(map);
                }
            }
        }
    }
    Ok(out)
}

/// Whether a JSON object is Terway's `eni_conf` itself: no `kind`, and keys of eni_conf.
fn is_bare_eni_conf(value: &Value) -> bool {
    value.as_object().is_some_and(|object| {
        !object.contains_key("kind")
            && !object.contains_key("apiVersion")
            && ENI_CONF_KEYS.iter().any(|key| object.contains_key(*key))
    })
}

/// The ConfigMap of a manifest of several documents: the one named `wanted`, or `eni-config`.
fn pick<'i>(
    docs: Vec<yaml::Document<'i>>,
    wanted: Option<&str>,
    notes: &mut Vec<String>,
) -> Result<Node<'i>, String> {
    let name = wanted.unwrap_or("eni-config");
    let total = docs.len();
    let field = |doc: &Node, path: [&str; 2]| {
        doc.get(path[0])
            .and_then(|m| m.get(path[1]))
            .and_then(NodeExt::as_str)
            .map(str::to_string)
    };
    let kind = |doc: &Node| {
        doc.get("kind")
            .and_then(NodeExt::as_str)
            .map(str::to_string)
    };
    let configmaps: Vec<(usize, String)> = docs
        .iter()
        .enumerate()
        .filter(|(_, d)| kind(&d.root).as_deref() == Some("ConfigMap"))
        .map(|(i, d)| (i, field(&d.root, ["metadata", "name"]).unwrap_or_default()))
        .collect();
    let matching: Vec<usize> = configmaps
        .iter()
        .filter(|(_, n)| n == name)
        .map(|(i, _)| *i)
        .collect();
    match matching.as_slice() {
        [index] => {
            let doc = docs.into_iter().nth(*index).expect("index from the list");
            let namespace = field(&doc.root, ["metadata", "namespace"])
                .map(|n| format!("{n}/"))
                .unwrap_or_default();
            notes.push(format!(
                "took ConfigMap {namespace}{name}, document {} of {total} (line {})",
                index + 1,
                doc.line
            ));
            Ok(doc.root)
        }
        [] => {
            let names: Vec<String> = configmaps.iter().map(|(_, n)| format!("`{n}`")).collect();
            let have = if names.is_empty() {
                "none of them is a ConfigMap".to_string()
            } else {
                format!(
                    "its ConfigMaps are {} (pass --configmap NAME to take another)",
                    names.join(", ")
                )
            };
            Err(format!(
                "has {total} YAML documents but no ConfigMap `{name}`; {have}"
            ))
        }
        several => Err(format!(
            "has {} ConfigMaps named `{name}` (documents {}); keep the one to import",
            several.len(),
            several
                .iter()
                .map(|i| (i + 1).to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// What a ConfigMap file that is not data looks like, and what to pass instead.
fn looks_like(text: &str) -> Option<String> {
    if let Some(what) = super::describe(text) {
        return Some(what);
    }
    let line_of = |pred: &dyn Fn(&str) -> bool| text.lines().position(pred).map(|i| i + 1);
    let has_kind = line_of(&|l| l.starts_with("kind:")).is_some();
    if !has_kind && let Some(line) = line_of(&|l| l.trim_end().starts_with("eni_conf:")) {
        return Some(format!(
            "is only the `eni_conf:` key of a ConfigMap as documentation shows it (line {line}), not the ConfigMap; its JSON must be indented under the key to be YAML. Pass the JSON alone (`kubectl -n kube-system get cm eni-config -o jsonpath='{{.data.eni_conf}}'`) or the whole ConfigMap"
        ));
    }
    let values_key = text.lines().enumerate().find_map(|(i, l)| {
        ["vSwitchIDs:", "securityGroupIDs:"]
            .iter()
            .find(|key| l.trim_start().starts_with(*key))
            .map(|key| (i + 1, key.trim_end_matches(':')))
    });
    if !has_kind && let Some((line, key)) = values_key {
        return Some(format!(
            "is Helm chart values (a values.yaml: `{key}` at line {line}), not a ConfigMap: render the chart with `helm template` and pass the eni-config ConfigMap it prints"
        ));
    }
    None
}

fn kind_check(kind: Option<&str>, items: Option<usize>) -> Result<(), String> {
    match kind {
        Some("ConfigMap") => Ok(()),
        Some(kind) if kind.ends_with("List") => Err(format!(
            "is a {kind} of {} objects, not one ConfigMap (name it: `get cm eni-config`)",
            items.unwrap_or(0)
        )),
        Some(kind) => Err(format!("is a {kind}, not a ConfigMap")),
        None => Err("has no `kind`".to_string()),
    }
}

fn from_json(value: &Value) -> Result<ConfigMap, String> {
    let Some(object) = value.as_object() else {
        return Err("is JSON but not an object".to_string());
    };
    let items = object.get("items").and_then(Value::as_array).map(Vec::len);
    kind_check(object.get("kind").and_then(Value::as_str), items)?;
    let metadata = object.get("metadata");
    let field = |name: &str| {
        metadata
            .and_then(|m| m.get(name))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let mut data = BTreeMap::new();
    if let Some(entries) = object.get("data") {
        let Some(entries) = entries.as_object() else {
            return Err("has a `data` that is not an object".to_string());
        };
        for (key, value) in entries {
            let Some(text) = value.as_str() else {
                return Err(format!("has data.{key} that is not a string"));
            };
            data.insert(key.clone(), text.to_string());
        }
    }
    Ok(ConfigMap {
        name: field("name"),
        namespace: field("namespace"),
        data,
        eni_conf_line: None,
    })
}

fn from_yaml(doc: Option<&Node>) -> Result<ConfigMap, String> {
    let Some(doc) = doc.filter(|doc| doc.entries().is_some()) else {
        return Err(
            "is not a YAML mapping of `apiVersion`, `kind`, `metadata` and `data`".to_string(),
        );
    };
    let items = doc.get("items").and_then(NodeExt::items).map(<[_]>::len);
    kind_check(doc.get("kind").and_then(NodeExt::as_str), items)?;
    let metadata = doc.get("metadata");
    let field = |name: &str| {
        metadata
            .and_then(|m| m.get(name))
            .and_then(NodeExt::as_str)
            .unwrap_or("")
            .to_string()
    };
    let mut data = BTreeMap::new();
    let mut eni_conf_line = None;
    if let Some(entries) = doc.get("data").filter(|d| !d.is_null()) {
        let Some(entries) = entries.entries() else {
            return Err("has a `data` that is not a mapping".to_string());
        };
        for (key, value) in entries {
            let key = key.as_str().unwrap_or_default().to_string();
            let text = match value.as_str() {
                Some(text) => text.to_string(),
                None if value.is_null() => String::new(),
                None => return Err(format!("has data.{key} that is not a string")),
            };
            if key == "eni_conf" {
                eni_conf_line = Some(value.text_line());
            }
            data.insert(key, text);
        }
    }
    Ok(ConfigMap {
        name: field("name"),
        namespace: field("namespace"),
        data,
        eni_conf_line,
    })
}

/// The `eni_conf` keys that matter for addresses, as Terway would read them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EniConf {
    /// `vswitches`: zone to ids, in the order written.
    pub vswitches: Option<BTreeMap<String, Vec<String>>>,
    /// `vswitch_selection_policy`.
    pub vswitch_selection_policy: Option<String>,
    /// `eni_selection_policy` (only `most_ips` and `least_ips` are kept).
    pub eni_selection_policy: Option<String>,
    /// `max_pool_size`.
    pub max_pool_size: Option<i64>,
    /// `min_pool_size`.
    pub min_pool_size: Option<i64>,
    /// `min_eni`.
    pub min_eni: Option<i64>,
    /// `max_eni`.
    pub max_eni: Option<i64>,
    /// `ip_pool_sync_period` as text, and in ms when Terway can read it.
    pub ip_pool_sync_period: Option<(String, Option<Millis>)>,
    /// `idle_ip_reclaim_after` in ms.
    pub idle_ip_reclaim_after: Option<Millis>,
    /// `idle_ip_reclaim_interval` in ms.
    pub idle_ip_reclaim_interval: Option<Millis>,
    /// `idle_ip_reclaim_batch_size`.
    pub idle_ip_reclaim_batch_size: Option<i64>,
    /// `idle_ip_reclaim_jitter_factor`.
    pub idle_ip_reclaim_jitter_factor: Option<f64>,
    /// `ipam_type` as written: `crd` is centralized IPAM, anything else the daemon's.
    pub ipam_type: Option<String>,
    /// `enable_ip_prefix`.
    pub enable_ip_prefix: Option<bool>,
    /// `ipv4_prefix_count`.
    pub ipv4_prefix_count: Option<i64>,
    /// `enable_eni_trunking`: a trunk ENI per node, member ENIs for PodNetworking pods.
    pub enable_eni_trunking: Option<bool>,
    /// `custom_stateful_workload_kinds`, lower-cased: owner kinds whose pods keep their
    /// address like StatefulSet pods.
    pub stateful_kinds: Vec<String>,
}

/// Removes `#` and `//` comments outside strings; returns the text and the 1-based lines of
/// the comments removed.
pub fn strip_comments(text: &str) -> (String, Vec<usize>) {
    let mut out = String::with_capacity(text.len());
    let mut lines = Vec::new();
    let mut line = 1;
    let mut in_string = false;
    let mut escaped = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            } else if c == '\n' {
                line += 1;
            }
            continue;
        }
        let comment = c == '#' || (c == '/' && chars.peek() == Some(&'/'));
        if comment {
            lines.push(line);
            while chars.peek().is_some_and(|&next| next != '\n') {
                chars.next();
            }
            continue;
        }
        if c == '"' {
            in_string = true;
        }
        if c == '\n' {
            line += 1;
        }
        out.push(c);
    }
    (out, lines)
}

/// Parses `eni_conf`. JSON that Terway would refuse but that reads once comments are gone (or
/// with a number written as a string) is read, with an `eni-conf-unparsable` finding.
pub fn parse_eni_conf(
    input: &Input,
    map: &ConfigMap,
    findings: &mut Vec<Finding>,
) -> Result<EniConf, ImportError> {
    let text = map.data.get("eni_conf").map(String::as_str).unwrap_or("");
    let file_line = |eni_line: usize| map.eni_conf_line.map(|start| start + eni_line - 1);
    let unparsable = |message: String, fix: &str, eni_line: Option<usize>| {
        Finding::new("eni-conf-unparsable", "data.eni_conf", message, fix)
            .in_file(input.path)
            .at_line(eni_line.and_then(file_line))
    };
    let value: Value = match serde_json::from_str(text) {
        Ok(value) => value,
        Err(original) => {
            let (stripped, comment_lines) = strip_comments(text);
            match serde_json::from_str::<Value>(&stripped) {
                Ok(value) if !comment_lines.is_empty() => {
                    let lines: Vec<String> = comment_lines.iter().map(usize::to_string).collect();
                    findings.push(unparsable(
                        format!(
                            "eni_conf has {} comment{} (line{} {} of eni_conf); JSON has no comments, so Terway fails to parse it (`{original}`) and its daemon does not start; import read it without them",
                            comment_lines.len(),
                            if comment_lines.len() == 1 { "" } else { "s" },
                            if comment_lines.len() == 1 { "" } else { "s" },
                            lines.join(", ")
                        ),
                        "delete the `#` comments from eni_conf (kubectl -n kube-system edit cm eni-config), then restart Terway",
                        comment_lines.first().copied(),
                    ));
                    value
                }
                _ => {
                    let what = match original.classify() {
                        serde_json::error::Category::Eof => format!(
                            "data.eni_conf ends before its JSON is complete (line {} of eni_conf)",
                            original.line()
                        ),
                        _ => format!("data.eni_conf is not valid JSON ({original})"),
                    };
                    if let Some(looks) = looks_like(input.text) {
                        return Err(ImportError::new(
                            input.path,
                            format!("{what}: the file {looks}; {EXPECTED}"),
                        ));
                    }
                    return Err(ImportError::new(
                        input.path,
                        format!(
                            "{what}; Terway cannot read it either; expected Terway's eni_conf JSON object such as {{\"vswitches\": {{...}}, \"max_pool_size\": 5}}"
                        ),
                    ));
                }
            }
        }
    };
    let Some(object) = value.as_object() else {
        return Err(ImportError::new(
            input.path,
            "data.eni_conf is JSON but not an object; expected Terway's eni_conf such as {\"vswitches\": {...}, \"max_pool_size\": 5}",
        ));
    };
    let mut conf = EniConf::default();
    let mut wrong_type = |key: &str, expected: &str, got: &Value| {
        findings.push(unparsable(
            format!(
                "eni_conf `{key}` is {got}, but Terway reads it as {expected}; Go's JSON decoding fails on it and the daemon does not start"
            ),
            &format!("write `{key}` as {expected}"),
            None,
        ));
    };
    let mut int = |key: &str| -> Option<i64> {
        let value = object.get(key)?;
        if let Some(n) = value.as_i64() {
            return Some(n);
        }
        let read = match value {
            Value::String(s) => s.trim().parse::<i64>().ok(),
            Value::Number(n) => n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64),
            _ => None,
        };
        wrong_type(key, "a whole number", value);
        read
    };
    conf.max_pool_size = int("max_pool_size");
    conf.min_pool_size = int("min_pool_size");
    conf.min_eni = int("min_eni");
    conf.max_eni = int("max_eni");
    conf.idle_ip_reclaim_batch_size = int("idle_ip_reclaim_batch_size");
    let mut string = |key: &str| -> Option<String> {
        let value = object.get(key)?;
        match value {
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            other => {
                wrong_type(key, "a string", other);
                Some(match other {
                    Value::Number(n) => n.to_string(),
                    _ => other.to_string(),
                })
            }
        }
    };
    conf.vswitch_selection_policy = string("vswitch_selection_policy");
    let eni_policy = string("eni_selection_policy");
    let sync = string("ip_pool_sync_period");
    let reclaim_after = string("idle_ip_reclaim_after");
    let reclaim_interval = string("idle_ip_reclaim_interval");
    let jitter = object.get("idle_ip_reclaim_jitter_factor").cloned();
    let ipam_type = string("ipam_type");
    let ip_stack = string("ip_stack");
    conf.ip_pool_sync_period = sync.map(|text| {
        let ms = go_duration_ms(&text).filter(|&ms| ms > 0);
        (text, ms)
    });
    let mut duration = |key: &str, text: Option<String>| -> Option<Millis> {
        let text = text?;
        match go_duration_ms(&text) {
            Some(ms) => Some(ms),
            None => {
                findings.push(unparsable(
                    format!(
                        "eni_conf `{key}` is \"{text}\", which is not a Go duration such as \"30m\""
                    ),
                    &format!("write `{key}` as a duration such as \"30m\""),
                    None,
                ));
                None
            }
        }
    };
    conf.idle_ip_reclaim_after = duration("idle_ip_reclaim_after", reclaim_after);
    conf.idle_ip_reclaim_interval = duration("idle_ip_reclaim_interval", reclaim_interval);
    conf.idle_ip_reclaim_jitter_factor = match jitter {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => s.trim().parse::<f64>().ok().filter(|f| f.is_finite()),
        Some(Value::Number(n)) => n.as_f64(),
        Some(_) => None,
    };
    match eni_policy.as_deref() {
        None | Some("") => {}
        Some(policy @ ("most_ips" | "least_ips")) => {
            conf.eni_selection_policy = Some(policy.to_string());
        }
        Some(other) => findings.push(
            Finding::new(
                "eni-conf-unmodelled",
                "data.eni_conf",
                format!("eni_selection_policy `{other}` is neither `most_ips` nor `least_ips`; the scenario uses most_ips, Terway's default"),
                "set eni_selection_policy to \"most_ips\" or \"least_ips\", or remove it",
            )
            .in_file(input.path),
        ),
    }
    conf.vswitches = vswitches(object.get("vswitches"), &mut |message| {
        findings.push(unparsable(
            message,
            "write vswitches as {\"zone\": [\"vsw-...\", ...]}",
            None,
        ));
    });
    if let Some(Value::Array(kinds)) = object.get("custom_stateful_workload_kinds") {
        conf.stateful_kinds = kinds
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_lowercase)
            .collect();
    }
    let mut unmodelled = |what: String, fix: &str| {
        findings.push(
            Finding::new("eni-conf-unmodelled", "data.eni_conf", what, fix).in_file(input.path),
        );
    };
    match ipam_type.as_deref() {
        None | Some("") => {}
        Some("crd") => conf.ipam_type = Some("crd".to_string()),
        Some(other) => unmodelled(
            format!(
                "ipam_type `{other}` is neither `crd` nor empty; Terway runs the daemon's allocator (as for empty), and so does the scenario"
            ),
            "set ipam_type to \"crd\" (centralized IPAM) or remove it",
        ),
    }
    if ip_stack.as_deref() == Some("dual") {
        unmodelled(
            "ip_stack is `dual`; only IPv4 addresses are simulated".to_string(),
            "plan IPv6 separately (each pod also takes one IPv6 address)",
        );
    }
    if object.get("enable_erdma").and_then(Value::as_bool) == Some(true) {
        unmodelled(
            "enable_erdma reserves one or two ENI slots per node for eRDMA; the scenario gives pods every secondary ENI".to_string(),
            "lower max_eni in the scenario by the reserved slots, or set max_pods",
        );
    }
    conf.enable_ip_prefix = object.get("enable_ip_prefix").and_then(Value::as_bool);
    conf.ipv4_prefix_count = object.get("ipv4_prefix_count").and_then(Value::as_i64);
    conf.enable_eni_trunking = object.get("enable_eni_trunking").and_then(Value::as_bool);
    let ratio = object.get("eni_cap_ratio").and_then(Value::as_f64);
    let shift = object.get("eni_cap_shift").and_then(Value::as_i64);
    if ratio.is_some_and(|r| r != 1.0) || shift.is_some_and(|s| s != 0) {
        unmodelled(
            "eni_cap_ratio / eni_cap_shift change the ENI limit per node; the scenario does not apply them".to_string(),
            "set max_eni in the scenario to floor(ENIs x ratio) + shift - 1",
        );
    }
    Ok(conf)
}

fn vswitches(
    value: Option<&Value>,
    complain: &mut dyn FnMut(String),
) -> Option<BTreeMap<String, Vec<String>>> {
    let value = value?;
    if value.is_null() {
        return None;
    }
    let Some(zones) = value.as_object() else {
        complain(format!(
            "eni_conf `vswitches` is {value}, not an object of zone to vSwitch ids; Terway fails to parse it"
        ));
        return None;
    };
    let mut out = BTreeMap::new();
    for (zone, ids) in zones {
        let list = match ids {
            Value::Array(items) => {
                let ids: Vec<String> = items
                    .iter()
                    .filter_map(|item| item.as_str().map(str::to_string))
                    .collect();
                if ids.len() != items.len() {
                    complain(format!(
                        "eni_conf vswitches[\"{zone}\"] has entries that are not strings; Terway fails to parse it"
                    ));
                }
                ids
            }
            Value::String(id) => {
                complain(format!(
                    "eni_conf vswitches[\"{zone}\"] is the string \"{id}\", not a list; Terway fails to parse it (write [\"{id}\"])"
                ));
                vec![id.clone()]
            }
            other => {
                complain(format!(
                    "eni_conf vswitches[\"{zone}\"] is {other}, not a list of vSwitch ids"
                ));
                Vec::new()
            }
        };
        out.insert(zone.clone(), list);
    }
    Some(out)
}

/// A Go `time.ParseDuration` string ("120s", "1m30s", "1.5h", "300ms") in milliseconds,
/// rounded to the nearest; `None` when Go would refuse it or it is negative.
pub fn go_duration_ms(text: &str) -> Option<Millis> {
    let text = text.trim();
    let text = text.strip_prefix('+').unwrap_or(text);
    if text == "0" {
        return Some(0);
    }
    if text.is_empty() || text.starts_with('-') {
        return None;
    }
    let mut rest = text;
    let mut total_ns = 0f64;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number: f64 = rest[..number_len].parse().ok()?;
        rest = &rest[number_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total_ns += number * scale;
    }
    let ms = (total_ns / 1e6).round();
    (ms.is_finite() && ms < 1e15).then_some(ms as Millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_are_stripped_outside_strings() {
        let (text, lines) = strip_comments("{\n \"a\": 5, # five\n \"b\": \"x#y//z\" // end\n}");
        assert_eq!(text, "{\n \"a\": 5, \n \"b\": \"x#y//z\" \n}");
        assert_eq!(lines, vec![2, 3]);
    }

    #[test]
    fn go_durations() {
        assert_eq!(go_duration_ms("120s"), Some(120_000));
        assert_eq!(go_duration_ms("1m30s"), Some(90_000));
        assert_eq!(go_duration_ms("1.5h"), Some(5_400_000));
        assert_eq!(go_duration_ms("300ms"), Some(300));
        assert_eq!(go_duration_ms("0"), Some(0));
        assert_eq!(go_duration_ms("2h45m0.5s"), Some(9_900_500));
        assert_eq!(go_duration_ms("5"), None);
        assert_eq!(go_duration_ms("-1s"), None);
        assert_eq!(go_duration_ms("1d"), None);
        assert_eq!(go_duration_ms(""), None);
    }
}
