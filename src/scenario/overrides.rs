//! `--set KEY=VALUE` and `--gate KEY=VALUE`: changes applied to the scenario's TOML before it
//! is validated, so an override is checked exactly like the same value written in the file.
//!
//! Keys are dotted paths in the file's own names. Arrays of tables are addressed by the entry's
//! `id` (vSwitches) or `name` (node pools, workloads): `vswitch.vsw-aaa.cidr`,
//! `nodepool.workers.max_nodes`, `workload.web.replicas`, `terway.max_pool_size`,
//! `instance_type.ecs.custom.large.eni_quantity` (everything between the first and the last dot
//! is the type name).

use std::path::Path;

use toml::{Table, Value};

use super::{Scenario, ScenarioError, Warning, file};

/// One override as given on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Override {
    /// Dotted key path.
    pub key: String,
    /// The value as typed: TOML (`5`, `true`, `["a", "b"]`, `"x"`) or a bare string (`30d`).
    pub value: String,
}

impl Override {
    /// Parses `KEY=VALUE`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (key, value) = text
            .split_once('=')
            .ok_or_else(|| format!("`{text}` is not KEY=VALUE"))?;
        let (key, value) = (key.trim(), value.trim());
        if key.is_empty() || (value.is_empty() && !may_be_empty(key)) {
            return Err(format!("`{text}` is not KEY=VALUE"));
        }
        Ok(Override {
            key: key.to_string(),
            value: value.to_string(),
        })
    }

    /// Parses `KEY=V1,V2,...` into one override per value. Commas inside brackets or quotes do
    /// not split.
    pub fn parse_list(text: &str) -> Result<Vec<Self>, String> {
        let first = Override::parse(text)?;
        let mut values = Vec::new();
        let (mut depth, mut quoted, mut start) = (0i32, false, 0);
        let raw = first.value.as_str();
        for (i, c) in raw.char_indices() {
            match c {
                '"' | '\'' => quoted = !quoted,
                '[' | '{' if !quoted => depth += 1,
                ']' | '}' if !quoted => depth -= 1,
                ',' if !quoted && depth == 0 => {
                    values.push(raw[start..i].trim().to_string());
                    start = i + 1;
                }
                _ => {}
            }
        }
        values.push(raw[start..].trim().to_string());
        if values.iter().any(String::is_empty) && !may_be_empty(&first.key) {
            return Err(format!("`{text}` has an empty value"));
        }
        Ok(values
            .into_iter()
            .map(|value| Override {
                key: first.key.clone(),
                value,
            })
            .collect())
    }
}

/// Keys whose empty value means something: `ipam_type = ""` is Terway's daemon allocator, so
/// `--set terway.ipam_type=,crd` compares the two.
fn may_be_empty(key: &str) -> bool {
    key.rsplit('.').next() == Some("ipam_type")
}

/// Reads the scenario with `overrides` applied in order. Errors in the file itself come first
/// and carry its lines; an override that names nothing, or a value that does not validate,
/// names the override.
pub fn parse_with_overrides(
    path: &Path,
    text: &str,
    overrides: &[Override],
) -> Result<(Scenario, Vec<Warning>), ScenarioError> {
    let base = super::parse(path, text)?;
    if overrides.is_empty() {
        return Ok(base);
    }
    let error = |key: &str, message: String| ScenarioError {
        file: path.to_path_buf(),
        line: None,
        key: key.to_string(),
        message,
    };
    let mut doc: Table = toml::from_str(text).map_err(|e| error("", e.to_string()))?;
    for o in overrides {
        set(&mut doc, o).map_err(|message| error(&o.key, message))?;
    }
    let changed = toml::to_string(&doc).map_err(|e| error("", e.to_string()))?;
    let described = overrides
        .iter()
        .map(|o| format!("{}={}", o.key, o.value))
        .collect::<Vec<_>>()
        .join(" ");
    super::parse(path, &changed).map_err(|e| ScenarioError {
        line: None,
        message: format!("{} (with {described})", e.message),
        ..e
    })
}

/// The value as TOML if it reads as such, else as a string.
fn value_of(text: &str) -> Value {
    toml::from_str::<Table>(&format!("v = {text}"))
        .ok()
        .and_then(|mut table| table.remove("v"))
        .unwrap_or_else(|| Value::String(text.to_string()))
}

fn set(doc: &mut Table, o: &Override) -> Result<(), String> {
    let segments: Vec<&str> = o.key.split('.').collect();
    let value = value_of(&o.value);
    let (table, rest): (&mut Table, &[&str]) = match segments[0] {
        "scenario" | "vpc" | "terway" | "cloud" | "planning" | "gates" => {
            let table = doc
                .entry(segments[0])
                .or_insert_with(|| Value::Table(Table::new()));
            let table = table
                .as_table_mut()
                .ok_or_else(|| format!("`{}` is not a table", segments[0]))?;
            (table, &segments[1..])
        }
        kind @ ("vswitch" | "nodepool" | "workload" | "podnetworking") => {
            let id_key = if kind == "vswitch" { "id" } else { "name" };
            let Some(&name) = segments.get(1) else {
                return Err(format!("write {kind}.<{id_key}>.<key>"));
            };
            let entries = doc
                .get_mut(kind)
                .and_then(Value::as_array_mut)
                .ok_or_else(|| format!("the scenario has no [[{kind}]]"))?;
            let names: Vec<String> = entries
                .iter()
                .filter_map(|e| e.get(id_key).and_then(Value::as_str).map(String::from))
                .collect();
            let entry = entries
                .iter_mut()
                .find(|e| e.get(id_key).and_then(Value::as_str) == Some(name))
                .and_then(Value::as_table_mut)
                .ok_or_else(|| {
                    let hint = file::nearest(name, names.iter().map(String::as_str))
                        .map(|n| format!(", did you mean `{n}`?"))
                        .unwrap_or_else(|| format!(" (there are: {})", names.join(", ")));
                    format!("no {kind} with {id_key} `{name}`{hint}")
                })?;
            (entry, &segments[2..])
        }
        "instance_type" if segments.len() >= 3 => {
            let name = segments[1..segments.len() - 1].join(".");
            let types = doc
                .entry("instance_type")
                .or_insert_with(|| Value::Table(Table::new()))
                .as_table_mut()
                .ok_or("`instance_type` is not a table")?;
            let entry = types
                .entry(name)
                .or_insert_with(|| Value::Table(Table::new()))
                .as_table_mut()
                .ok_or("not a table")?;
            (entry, &segments[segments.len() - 1..])
        }
        other => {
            let known = [
                "scenario",
                "vpc",
                "terway",
                "cloud",
                "planning",
                "gates",
                "vswitch",
                "nodepool",
                "workload",
                "instance_type",
                "podnetworking",
            ];
            let hint = file::nearest(other, known)
                .map(|n| format!(", did you mean `{n}`?"))
                .unwrap_or_default();
            return Err(format!("unknown section `{other}`{hint}"));
        }
    };
    let Some((last, parents)) = rest.split_last() else {
        return Err("name a key inside the section".to_string());
    };
    let mut table = table;
    for parent in parents {
        table = table
            .entry(*parent)
            .or_insert_with(|| Value::Table(Table::new()))
            .as_table_mut()
            .ok_or_else(|| format!("`{parent}` is not a table"))?;
    }
    table.insert((*last).to_string(), value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = r#"
[scenario]
horizon = "1d"
[[vswitch]]
id = "vsw-a"
zone = "z"
cidr = "10.0.0.0/24"
[terway]
vswitches = { "z" = ["vsw-a"] }
max_pool_size = 5
[[nodepool]]
name = "p"
instance_type = "ecs.g7.xlarge"
zones = ["z"]
nodes = 1
"#;

    fn with(list: &[&str]) -> Result<Scenario, ScenarioError> {
        let overrides: Vec<Override> = list.iter().map(|t| Override::parse(t).unwrap()).collect();
        parse_with_overrides(Path::new("s.toml"), BASE, &overrides).map(|(s, _)| s)
    }

    #[test]
    fn overrides_reach_tables_and_entries_by_name() {
        let s = with(&["terway.max_pool_size=0", "vswitch.vsw-a.cidr=10.0.0.0/22"]).unwrap();
        assert_eq!(s.terway_configs[0].max_pool_size, 0);
        assert_eq!(s.vswitches[0].cidr.to_string(), "10.0.0.0/22");
        let s = with(&["nodepool.p.max_nodes=9", "scenario.horizon=2d"]).unwrap();
        assert_eq!(s.nodepools[0].max_nodes, 9);
        assert_eq!(s.horizon_ms, 2 * 86_400_000);
        let s = with(&["gates.max_pods_pending_ip=3"]).unwrap();
        assert_eq!(s.gates.max_pods_pending_ip, Some(3));
    }

    #[test]
    fn bad_overrides_name_the_key() {
        let err = with(&["vswitch.vsw-b.cidr=10.0.0.0/22"]).unwrap_err();
        assert_eq!(err.key, "vswitch.vsw-b.cidr");
        assert!(
            err.message.contains("did you mean `vsw-a`"),
            "{}",
            err.message
        );
        let err = with(&["terway.max_pool_size=-1"]).unwrap_err();
        assert_eq!(err.key, "terway.max_pool_size");
        assert!(
            err.message.contains("with terway.max_pool_size=-1"),
            "{}",
            err.message
        );
        let err = with(&["terway.max_pool_sise=1"]).unwrap_err();
        assert!(err.message.contains("max_pool_size"), "{}", err.message);
        let err = with(&["terwya.max_pool_size=1"]).unwrap_err();
        assert!(
            err.message.contains("did you mean `terway`"),
            "{}",
            err.message
        );
    }

    #[test]
    fn value_lists_split_outside_brackets() {
        let list =
            Override::parse_list(r#"workload.w.replicas=5,[["0d", 1], ["1d", 2]],7"#).unwrap();
        let values: Vec<&str> = list.iter().map(|o| o.value.as_str()).collect();
        assert_eq!(values, vec!["5", r#"[["0d", 1], ["1d", 2]]"#, "7"]);
        assert!(Override::parse_list("a=1,,2").is_err());
        assert!(Override::parse("novalue").is_err());
    }
}
