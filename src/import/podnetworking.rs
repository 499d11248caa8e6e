//! What `kubectl get podnetworkings -o yaml` (or `-o json`) prints: Terway's cluster-scoped
//! `network.alibabacloud.com/v1beta1` PodNetworking objects (`pkg/apis/network.alibabacloud.com/
//! v1beta1/types.go`), and `kubectl get ns -o json` for the labels their namespace selectors
//! match. Which pods a PodNetworking takes follows Terway's webhook (`matchOnePodNetworking` in
//! `pkg/controller/webhook/mutating.go`): the first Ready one, in list order, whose selectors all
//! match, fixed-IP ones only for StatefulSet pods; the webhook then writes the name into the
//! pod's `k8s.aliyun.com/pod-networking` annotation.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::Value;

use super::emit::{kv, q};
use super::vswitches::Selection;
use super::yaml::{self, NodeExt};
use super::{Builder, Cluster, ImportError, Input, Kind, Workloads, describe, json_error, kube};
use crate::lint::Finding;
use crate::scenario::{Millis, format_duration};

/// The pod annotation naming a pod's PodNetworking (`types.PodNetworking` in Terway).
pub const ANNOTATION: &str = "k8s.aliyun.com/pod-networking";
/// The label every namespace has (Kubernetes 1.21+).
const NAMESPACE_NAME_LABEL: &str = "kubernetes.io/metadata.name";

const COMMAND: &str = "kubectl get podnetworkings -o yaml";

/// One PodNetworking.
#[derive(Debug, Clone, PartialEq)]
pub struct PodNetworking {
    /// `metadata.name`.
    pub name: String,
    /// Where it starts in its file (YAML only), for comments.
    pub line: Option<usize>,
    /// The file's index among the `--podnetworkings` files.
    pub file: usize,
    /// `spec.vSwitchOptions`, in order.
    pub vswitch_options: Vec<String>,
    /// `spec.vSwitchSelectOptions.vSwitchSelectionPolicy` (default `ordered`).
    pub selection_policy: Option<String>,
    /// `spec.allocationType.type` is `Fixed`.
    pub fixed: bool,
    /// `spec.allocationType.releaseStrategy` is `Never`.
    pub never_released: bool,
    /// `spec.allocationType.releaseAfter`, as written and in ms.
    pub release_after: Option<(String, Millis)>,
    /// `spec.selector.podSelector`.
    pub pod_selector: Option<Selector>,
    /// `spec.selector.namespaceSelector`.
    pub namespace_selector: Option<Selector>,
    /// `status.status`, when printed.
    pub status: Option<String>,
}

impl PodNetworking {
    /// Whether the webhook matches pods to it (it skips those not Ready).
    pub fn ready(&self) -> bool {
        self.status.as_deref().is_none_or(|s| s == "Ready")
    }
}

/// A Kubernetes `LabelSelector`: every `matchLabels` pair and every expression must hold.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Selector {
    /// `matchLabels`.
    pub match_labels: BTreeMap<String, String>,
    /// `matchExpressions`: (key, operator, values).
    pub expressions: Vec<(String, String, Vec<String>)>,
}

impl Selector {
    /// Whether the labels satisfy it (`metav1.LabelSelectorAsSelector(...).Matches`); an empty
    /// selector matches everything.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.match_labels
            .iter()
            .all(|(k, v)| labels.get(k) == Some(v))
            && self.expressions.iter().all(|(key, op, values)| {
                let value = labels.get(key);
                match op.as_str() {
                    "In" => value.is_some_and(|v| values.contains(v)),
                    "NotIn" => value.is_none_or(|v| !values.contains(v)),
                    "Exists" => value.is_some(),
                    _ => value.is_none(),
                }
            })
    }

    /// The label keys it looks at.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.match_labels
            .keys()
            .map(String::as_str)
            .chain(self.expressions.iter().map(|(k, _, _)| k.as_str()))
    }
}

fn expected() -> String {
    format!("expected the output of `{COMMAND}` (or -o json)")
}

/// The objects of one file with the line each starts on (YAML only).
fn objects(input: &Input) -> Result<Vec<(Value, Option<usize>)>, ImportError> {
    let text = input.text.trim_start_matches('\u{feff}');
    let trimmed = text.trim_start();
    if trimmed.is_empty() {
        return Err(ImportError::new(
            input.path,
            format!("is empty; {}", expected()),
        ));
    }
    let mut tops: Vec<(Value, Option<usize>, Vec<Option<usize>>)> = Vec::new();
    if trimmed.starts_with('{') {
        let value: Value = serde_json::from_str(text).map_err(|e| {
            ImportError::new(input.path, format!("{}; {}", json_error(&e), expected()))
        })?;
        let n = value
            .get("items")
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        tops.push((value, None, vec![None; n]));
    } else {
        let docs = yaml::documents(text).map_err(|e| {
            let what = describe(text).unwrap_or_else(|| {
                format!("is neither JSON nor YAML (line {}: {})", e.line, e.message)
            });
            ImportError::new(input.path, format!("{what}; {}", expected()))
        })?;
        if docs.is_empty() {
            return Err(ImportError::new(
                input.path,
                format!("has only comments; {}", expected()),
            ));
        }
        for doc in &docs {
            let lines = doc
                .root
                .get("items")
                .and_then(|items| items.items())
                .map(|items| items.iter().map(|i| Some(i.line())).collect())
                .unwrap_or_default();
            tops.push((yaml::to_json(&doc.root), Some(doc.line), lines));
        }
    }
    let mut out = Vec::new();
    for (value, line, item_lines) in tops {
        let at = |line: Option<usize>| line.map(|l| format!("line {l}: ")).unwrap_or_default();
        let kind = value.get("kind").and_then(Value::as_str);
        match kind {
            Some("PodNetworking") => out.push((value, line)),
            Some("List" | "PodNetworkingList") => {
                let items = match value.get("items") {
                    Some(Value::Array(items)) => items.clone(),
                    Some(Value::Null) => Vec::new(),
                    _ => {
                        return Err(ImportError::new(
                            input.path,
                            format!("{}is a List without `items`; {}", at(line), expected()),
                        ));
                    }
                };
                for (i, item) in items.into_iter().enumerate() {
                    let item_line = item_lines.get(i).copied().flatten();
                    match item.get("kind").and_then(Value::as_str) {
                        Some("PodNetworking") | None => out.push((item, item_line)),
                        Some(other) => {
                            return Err(ImportError::new(
                                input.path,
                                format!(
                                    "{}items[{i}] is a {other}, not a PodNetworking; {}",
                                    at(item_line.or(line)),
                                    expected()
                                ),
                            ));
                        }
                    }
                }
            }
            Some(other) => {
                let api = value
                    .get("apiVersion")
                    .and_then(Value::as_str)
                    .map(|a| format!(" ({a})"))
                    .unwrap_or_default();
                return Err(ImportError::new(
                    input.path,
                    format!(
                        "{}is a {other}{api}, not a PodNetworking (network.alibabacloud.com/v1beta1); {}",
                        at(line),
                        expected()
                    ),
                ));
            }
            None => {
                let what = super::aliyun::what_it_is(&value);
                return Err(ImportError::new(
                    input.path,
                    format!("{}{what}, not PodNetworkings; {}", at(line), expected()),
                ));
            }
        }
    }
    Ok(out)
}

/// Reads every `--podnetworkings` file; a name given twice keeps its first object.
pub fn read(
    inputs: &[Input],
    findings: &mut Vec<Finding>,
) -> Result<Vec<PodNetworking>, ImportError> {
    let mut out: Vec<PodNetworking> = Vec::new();
    for (file, input) in inputs.iter().enumerate() {
        for (value, line) in objects(input)? {
            let at = line.map(|l| format!("line {l}: ")).unwrap_or_default();
            let Some(name) = value
                .get("metadata")
                .and_then(|m| m.get("name"))
                .and_then(Value::as_str)
                .filter(|n| !n.is_empty())
            else {
                return Err(ImportError::new(
                    input.path,
                    format!("{at}a PodNetworking has no metadata.name; {}", expected()),
                ));
            };
            let bad = |what: String| {
                ImportError::new(
                    input.path,
                    format!("{at}PodNetworking `{name}` has {what}; {}", expected()),
                )
            };
            if let Some(api) = value.get("apiVersion").and_then(Value::as_str)
                && !api.starts_with("network.alibabacloud.com/")
            {
                return Err(bad(format!(
                    "apiVersion `{api}`, not network.alibabacloud.com/v1beta1"
                )));
            }
            let spec = value.get("spec").cloned().unwrap_or(Value::Null);
            let vswitch_options = match spec.get("vSwitchOptions") {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Array(ids)) => ids
                    .iter()
                    .map(|id| {
                        id.as_str()
                            .map(str::to_string)
                            .ok_or_else(|| bad(format!("a vSwitchOptions entry {id}, not an id")))
                    })
                    .collect::<Result<_, _>>()?,
                Some(other) => return Err(bad(format!("vSwitchOptions {other}, not a list"))),
            };
            let selection_policy = spec
                .get("vSwitchSelectOptions")
                .and_then(|o| o.get("vSwitchSelectionPolicy"))
                .and_then(Value::as_str)
                .filter(|p| !p.is_empty())
                .map(str::to_string);
            if let Some(p) = &selection_policy
                && !["ordered", "random", "most"].contains(&p.as_str())
            {
                return Err(bad(format!(
                    "vSwitchSelectionPolicy `{p}`; Terway knows ordered, random and most"
                )));
            }
            let allocation = spec.get("allocationType");
            let text = |key: &str| {
                allocation
                    .and_then(|a| a.get(key))
                    .and_then(Value::as_str)
                    .filter(|t| !t.is_empty())
            };
            let fixed = match text("type") {
                None | Some("Elastic") => false,
                Some("Fixed") => true,
                Some(other) => {
                    return Err(bad(format!(
                        "allocationType.type `{other}`; it is Elastic or Fixed"
                    )));
                }
            };
            let never_released = match text("releaseStrategy") {
                None | Some("TTL") => false,
                Some("Never") => true,
                Some(other) => {
                    return Err(bad(format!(
                        "allocationType.releaseStrategy `{other}`; it is TTL or Never"
                    )));
                }
            };
            let release_after = match text("releaseAfter") {
                None => None,
                Some(t) => Some((
                    t.to_string(),
                    go_duration_ms(t).ok_or_else(|| {
                        bad(format!(
                            "allocationType.releaseAfter `{t}`, not a Go duration such as 5m0s"
                        ))
                    })?,
                )),
            };
            let selector = spec.get("selector");
            let pod_selector = label_selector(selector.and_then(|s| s.get("podSelector")))
                .map_err(|e| bad(format!("selector.podSelector {e}")))?;
            let namespace_selector =
                label_selector(selector.and_then(|s| s.get("namespaceSelector")))
                    .map_err(|e| bad(format!("selector.namespaceSelector {e}")))?;
            let status = value
                .get("status")
                .and_then(|s| s.get("status"))
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string);
            if out.iter().any(|pn| pn.name == name) {
                findings.push(
                    Finding::new(
                        "import-podnetworking-skipped",
                        format!("PodNetworking `{name}`"),
                        format!("PodNetworking `{name}` is given twice; the first is kept"),
                        "pass each PodNetworking once",
                    )
                    .in_file(input.path),
                );
                continue;
            }
            out.push(PodNetworking {
                name: name.to_string(),
                line,
                file,
                vswitch_options,
                selection_policy,
                fixed,
                never_released,
                release_after,
                pod_selector,
                namespace_selector,
                status,
            });
        }
    }
    Ok(out)
}

/// A `LabelSelector`; `None` when absent or null (Terway then does not test it).
fn label_selector(value: Option<&Value>) -> Result<Option<Selector>, String> {
    let Some(value) = value.filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    if !value.is_object() {
        return Err(format!("{value}, not a label selector"));
    }
    let mut selector = Selector::default();
    match value.get("matchLabels") {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            for (k, v) in map {
                let v = match v {
                    Value::String(s) => s.clone(),
                    Value::Number(_) | Value::Bool(_) => v.to_string(),
                    _ => return Err(format!("matchLabels `{k}`: {v}, not a label value")),
                };
                selector.match_labels.insert(k.clone(), v);
            }
        }
        Some(other) => return Err(format!("matchLabels {other}, not a map")),
    }
    match value.get("matchExpressions") {
        None | Some(Value::Null) => {}
        Some(Value::Array(list)) => {
            for (i, e) in list.iter().enumerate() {
                let key = e.get("key").and_then(Value::as_str);
                let op = e.get("operator").and_then(Value::as_str);
                let (Some(key), Some(op)) = (key, op) else {
                    return Err(format!("matchExpressions[{i}] without key or operator"));
                };
                if !["In", "NotIn", "Exists", "DoesNotExist"].contains(&op) {
                    return Err(format!(
                        "matchExpressions[{i}] operator `{op}`; it is In, NotIn, Exists or DoesNotExist"
                    ));
                }
                let values = e
                    .get("values")
                    .and_then(Value::as_array)
                    .map(|vs| {
                        vs.iter()
                            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                            .collect()
                    })
                    .unwrap_or_default();
                selector
                    .expressions
                    .push((key.to_string(), op.to_string(), values));
            }
        }
        Some(other) => return Err(format!("matchExpressions {other}, not a list")),
    }
    Ok(Some(selector))
}

/// A Go `time.Duration` string (`5m0s`, `1h30m`, `90s`, `500ms`) in milliseconds.
pub fn go_duration_ms(text: &str) -> Option<Millis> {
    let mut rest = text.trim();
    if rest == "0" {
        return Some(0);
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let split = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .filter(|&i| i > 0)?;
        let (number, tail) = rest.split_at(split);
        let number: f64 = number.parse().ok()?;
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_len);
        let factor = match unit {
            "h" => 3_600_000.0,
            "m" => 60_000.0,
            "s" => 1_000.0,
            "ms" => 1.0,
            "us" | "µs" => 1e-3,
            "ns" => 1e-6,
            _ => return None,
        };
        total += number * factor;
        rest = tail;
    }
    (total.is_finite() && total >= 0.0).then(|| total.round() as Millis)
}

/// `kubectl get ns -o json` (or `-o yaml`): each namespace's labels, by name.
pub fn namespaces(
    input: &Input,
    findings: &mut Vec<Finding>,
) -> Result<BTreeMap<String, BTreeMap<String, String>>, ImportError> {
    let command = "kubectl get ns -o json";
    let value = kube::parse(input, command)?;
    let mut out = BTreeMap::new();
    for ns in kube::objects(input, &value, "Namespace", command, findings)? {
        let Some(name) = ns
            .get("metadata")
            .and_then(|m| m.get("name"))
            .and_then(Value::as_str)
        else {
            continue;
        };
        let mut labels = kube::string_map(ns.get("metadata").and_then(|m| m.get("labels")));
        labels
            .entry(NAMESPACE_NAME_LABEL.to_string())
            .or_insert_with(|| name.to_string());
        out.insert(name.to_string(), labels);
    }
    Ok(out)
}

/// The labels a namespace is known to have without `--namespaces`: only its name label.
pub fn default_namespace_labels(namespace: &str) -> BTreeMap<String, String> {
    BTreeMap::from([(NAMESPACE_NAME_LABEL.to_string(), namespace.to_string())])
}

/// Whether a namespace selector looks at labels other than the name label, which only
/// `--namespaces` can give.
pub fn needs_namespace_labels(selector: &Selector) -> bool {
    selector.keys().any(|k| k != NAMESPACE_NAME_LABEL)
}

/// The PodNetworking Terway's webhook gives a pod: the annotation when it names a known one,
/// else the first Ready one whose selectors all match (fixed ones only for stateful pods).
/// Returns its index and how it was matched.
pub fn match_pod(
    list: &[PodNetworking],
    pod: &kube::Pod,
    stateful: bool,
    namespace_labels: &BTreeMap<String, String>,
) -> Option<(usize, &'static str)> {
    if let Some(name) = pod.annotations.get(ANNOTATION)
        && let Some(i) = list.iter().position(|pn| &pn.name == name)
    {
        return Some((i, "annotation"));
    }
    list.iter()
        .position(|pn| {
            if !pn.ready() || (pn.fixed && !stateful) {
                return false;
            }
            if pn.pod_selector.is_none() && pn.namespace_selector.is_none() {
                return false;
            }
            pn.pod_selector
                .as_ref()
                .is_none_or(|s| s.matches(&pod.labels))
                && pn
                    .namespace_selector
                    .as_ref()
                    .is_none_or(|s| s.matches(namespace_labels))
        })
        .map(|i| (i, "selector"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(go_duration_ms("5m0s"), Some(300_000));
        assert_eq!(go_duration_ms("1h30m"), Some(5_400_000));
        assert_eq!(go_duration_ms("90s"), Some(90_000));
        assert_eq!(go_duration_ms("1.5h"), Some(5_400_000));
        assert_eq!(go_duration_ms("500ms"), Some(500));
        assert_eq!(go_duration_ms("0"), Some(0));
        assert_eq!(go_duration_ms("5 minutes"), None);
        assert_eq!(go_duration_ms("m5"), None);
        assert_eq!(go_duration_ms("5"), None);
    }

    fn input<'a>(text: &'a str) -> Input<'a> {
        Input {
            path: std::path::Path::new("pn.yaml"),
            text,
        }
    }

    fn pod(namespace: &str, labels: &[(&str, &str)], annotation: Option<&str>) -> kube::Pod {
        kube::Pod {
            namespace: namespace.into(),
            name: "p".into(),
            node: None,
            host_network: false,
            phase: "Running".into(),
            deleting: false,
            ips: vec![],
            owner: None,
            template_hash: None,
            cpu_millis: 0,
            memory_bytes: 0,
            nodepool_selector: None,
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            annotations: annotation
                .map(|a| BTreeMap::from([(ANNOTATION.to_string(), a.to_string())]))
                .unwrap_or_default(),
        }
    }

    const TWO: &str = r#"{"apiVersion": "v1", "kind": "List", "items": [
      {"apiVersion": "network.alibabacloud.com/v1beta1", "kind": "PodNetworking",
       "metadata": {"name": "a-fixed"},
       "spec": {"allocationType": {"type": "Fixed", "releaseStrategy": "Never"},
                "selector": {"podSelector": {"matchLabels": {"app": "db"}}},
                "vSwitchOptions": ["vsw-1"]},
       "status": {"status": "Ready"}},
      {"apiVersion": "network.alibabacloud.com/v1beta1", "kind": "PodNetworking",
       "metadata": {"name": "b-team"},
       "spec": {"selector": {"namespaceSelector": {"matchExpressions": [
                  {"key": "team", "operator": "In", "values": ["storage"]}]}},
                "vSwitchOptions": ["vsw-2"]},
       "status": {"status": "Ready"}},
      {"apiVersion": "network.alibabacloud.com/v1beta1", "kind": "PodNetworking",
       "metadata": {"name": "c-pending"},
       "spec": {"selector": {"podSelector": {}}, "vSwitchOptions": ["vsw-3"]},
       "status": {"status": "Fail"}}
    ]}"#;

    #[test]
    fn pods_are_matched_as_the_webhook_matches_them() {
        let mut findings = Vec::new();
        let list = read(&[input(TWO)], &mut findings).unwrap();
        assert_eq!(list.len(), 3);
        assert!(list[0].fixed && list[0].never_released && list[0].line.is_none());
        let data = BTreeMap::from([
            (NAMESPACE_NAME_LABEL.to_string(), "data".to_string()),
            ("team".to_string(), "storage".to_string()),
        ]);
        let db = pod("data", &[("app", "db")], None);
        // Fixed: only a stateful pod; a Deployment's pod falls through to b-team (namespace).
        assert_eq!(match_pod(&list, &db, true, &data), Some((0, "selector")));
        assert_eq!(match_pod(&list, &db, false, &data), Some((1, "selector")));
        // Without the namespace's labels, b-team cannot match; c-pending is not Ready.
        assert_eq!(
            match_pod(&list, &db, false, &default_namespace_labels("data")),
            None
        );
        assert!(needs_namespace_labels(
            list[1].namespace_selector.as_ref().unwrap()
        ));
        // The annotation wins, even for a PodNetworking not Ready.
        let annotated = pod("data", &[("app", "db")], Some("c-pending"));
        assert_eq!(
            match_pod(&list, &annotated, true, &data),
            Some((2, "annotation"))
        );
        // An annotation naming no PodNetworking given falls back to the selectors.
        let unknown = pod("data", &[("app", "db")], Some("gone"));
        assert_eq!(
            match_pod(&list, &unknown, true, &data),
            Some((0, "selector"))
        );
    }

    #[test]
    fn yaml_objects_keep_their_lines_and_other_kinds_are_refused() {
        let yaml = "apiVersion: network.alibabacloud.com/v1beta1\nkind: PodNetworking\nmetadata:\n  name: one\nspec:\n  vSwitchOptions: [vsw-1]\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n";
        let err = read(&[input(yaml)], &mut Vec::new()).unwrap_err();
        assert!(
            err.message
                .starts_with("line 7: is a Pod (v1), not a PodNetworking"),
            "{}",
            err.message
        );
        let single = "# kubectl get podnetworking one -o yaml\napiVersion: network.alibabacloud.com/v1beta1\nkind: PodNetworking\nmetadata:\n  name: one\nspec:\n  allocationType:\n    type: Fixed\n    releaseAfter: 1h30m\n  vSwitchOptions:\n  - vsw-1\n";
        let list = read(&[input(single)], &mut Vec::new()).unwrap();
        assert_eq!(
            list[0].release_after,
            Some(("1h30m".to_string(), 5_400_000))
        );
        assert_eq!(list[0].vswitch_options, vec!["vsw-1".to_string()]);
        let bad = "apiVersion: network.alibabacloud.com/v1beta1\nkind: PodNetworking\nmetadata:\n  name: one\nspec:\n  allocationType:\n    releaseAfter: soon\n";
        let err = read(&[input(bad)], &mut Vec::new()).unwrap_err();
        assert!(
            err.message.contains("releaseAfter `soon`"),
            "{}",
            err.message
        );
        let twice = read(&[input(single), input(single)], &mut Vec::new());
        assert_eq!(twice.unwrap().len(), 1);
    }

    #[test]
    fn selectors() {
        let labels: BTreeMap<String, String> = [("app", "db"), ("tier", "data")]
            .map(|(k, v)| (k.into(), v.into()))
            .into();
        let mut s = Selector::default();
        assert!(s.matches(&labels));
        s.match_labels.insert("app".into(), "db".into());
        assert!(s.matches(&labels));
        s.expressions.push((
            "tier".into(),
            "In".into(),
            vec!["web".into(), "data".into()],
        ));
        assert!(s.matches(&labels));
        s.expressions
            .push(("gpu".into(), "DoesNotExist".into(), vec![]));
        assert!(s.matches(&labels));
        s.expressions
            .push(("app".into(), "NotIn".into(), vec!["db".into()]));
        assert!(!s.matches(&labels));
        let other = Selector {
            match_labels: BTreeMap::from([("app".into(), "web".into())]),
            expressions: vec![],
        };
        assert!(!other.matches(&labels));
        let exists = Selector {
            match_labels: BTreeMap::new(),
            expressions: vec![("zone".into(), "Exists".into(), vec![])],
        };
        assert!(!exists.matches(&labels));
    }
}

/// What the scenario gets of trunking, PodNetworkings and exclusive-ENI pools.
#[derive(Debug, Default)]
pub(super) struct PodEniPlan {
    /// `[terway] enable_eni_trunking`, when eni_conf turns it on: the value and why.
    pub(super) trunking: Option<(bool, String)>,
    /// `[instance_type."NAME"] eni_total_quantity`: (ENIs, where from) by type.
    pub(super) eni_totals: BTreeMap<String, (u32, String)>,
    /// The `[[podnetworking]]` written: index into the list, and vSwitch ids per zone.
    pub(super) written: Vec<(usize, BTreeMap<String, Vec<String>>)>,
    /// `[[workload]] podnetworking` by workload index: (name, comment).
    pub(super) workloads: BTreeMap<usize, (String, String)>,
    /// Pools whose nodes carry the exclusive-ENI label but run prefix mode, which the scenario
    /// cannot combine: written without `exclusive_eni`.
    pub(super) not_exclusive: std::collections::BTreeSet<String>,
}

impl Builder<'_, '_> {
    /// The PodNetworking a pod is bound to, and how.
    pub(super) fn podnetworking_of(
        &self,
        pod: &kube::Pod,
        kind: Kind,
    ) -> Option<(usize, &'static str)> {
        if self.podnetworkings.is_empty() {
            return None;
        }
        let labels = self
            .namespaces
            .and_then(|n| n.get(&pod.namespace).cloned())
            .unwrap_or_else(|| default_namespace_labels(&pod.namespace));
        match_pod(
            self.podnetworkings,
            pod,
            kind == Kind::StatefulSet || pod.owner.is_none(),
            &labels,
        )
    }

    fn podnetworkings_file(&self, pn: &PodNetworking) -> &std::path::Path {
        self.sources.podnetworkings[pn.file].path
    }

    /// Decides what of trunking, PodNetworkings and exclusive-ENI pools the scenario can say,
    /// with a finding for each thing it cannot.
    pub(super) fn plan_pod_enis(&mut self, cluster: &Cluster, workloads: &Workloads) {
        let mut plan = PodEniPlan::default();
        for (index, pn) in self.podnetworkings.iter().enumerate() {
            let file = self.podnetworkings_file(pn).to_path_buf();
            let mut zones: BTreeMap<String, Vec<String>> = BTreeMap::new();
            let mut unknown = Vec::new();
            for id in &pn.vswitch_options {
                match self.described.iter().find(|v| &v.id == id) {
                    Some(v) => {
                        let ids = zones.entry(v.zone.clone()).or_default();
                        if !ids.contains(id) {
                            ids.push(id.clone());
                        }
                    }
                    None => unknown.push(format!("`{id}`")),
                }
            }
            if !unknown.is_empty() {
                self.findings.push(
                    Finding::new(
                        "import-podnetworking-vswitch-unknown",
                        format!("PodNetworking `{}` spec.vSwitchOptions", pn.name),
                        format!(
                            "PodNetworking `{}` lists {}, which {} does not describe; left out of its vswitches",
                            pn.name,
                            unknown.join(", "),
                            self.sources.vswitches.path.display()
                        ),
                        "describe them too (`aliyun vpc DescribeVSwitches --VSwitchId vsw-...`), or remove them from the PodNetworking if they no longer exist",
                    )
                    .in_file(&file)
                    .at_line(pn.line),
                );
            }
            if zones.is_empty() {
                self.findings.push(
                    Finding::new(
                        "import-podnetworking-skipped",
                        format!("PodNetworking `{}`", pn.name),
                        format!(
                            "PodNetworking `{}` has no described vSwitch; it is left out, and its pods use the shared ENIs in the scenario",
                            pn.name
                        ),
                        "pass a DescribeVSwitches listing that holds its vSwitchOptions",
                    )
                    .in_file(&file)
                    .at_line(pn.line),
                );
                continue;
            }
            if self.namespaces.is_none()
                && let Some(selector) = &pn.namespace_selector
                && needs_namespace_labels(selector)
            {
                self.findings.push(
                    Finding::new(
                        "import-podnetworking-namespace-labels",
                        format!("PodNetworking `{}` spec.selector.namespaceSelector", pn.name),
                        format!(
                            "PodNetworking `{}` selects namespaces by labels other than kubernetes.io/metadata.name, which the pods do not show; without --namespaces only pods annotated with it are bound",
                            pn.name
                        ),
                        "add --namespaces with `kubectl get ns -o json > ns.json`",
                    )
                    .in_file(&file)
                    .at_line(pn.line),
                );
            }
            plan.written.push((index, zones));
        }

        let prefix_mode = |pool: &super::Pool| {
            pool.terway_config
                .as_ref()
                .and_then(|c| self.dynamic_configs.get(c))
                .and_then(|(_, conf)| conf.enable_ip_prefix)
                .or(self.conf.enable_ip_prefix)
                == Some(true)
        };
        for pool in cluster.pools.iter().filter(|p| p.exclusive_eni) {
            if prefix_mode(pool) {
                plan.not_exclusive.insert(pool.name.clone());
            }
        }
        for name in &plan.not_exclusive {
            self.findings.push(
                Finding::new(
                    "import-exclusive-eni-prefix",
                    "metadata.labels.k8s.aliyun.com/exclusive-mode-eni-type",
                    format!(
                        "the nodes of pool `{name}` carry the exclusive-ENI label but their Terway config turns on IP prefix mode, which the scenario cannot combine; the pool is written without exclusive_eni"
                    ),
                    "check the pool's Terway config: exclusive-ENI nodes give every pod an ENI and use no prefixes",
                )
                .in_file(self.sources.nodes.as_ref().map_or(self.sources.eni_config.path, |n| n.path)),
            );
        }
        let exclusive =
            |pool: &super::Pool| pool.exclusive_eni && !plan.not_exclusive.contains(&pool.name);
        let catalog = crate::catalog::builtin();
        let eni_quantity = |name: &str| {
            cluster
                .instance_tables
                .iter()
                .find(|(t, _)| t.name == name)
                .map(|(t, _)| t.eni_quantity)
                .or_else(|| catalog.get(name).map(|t| t.eni_quantity))
                .unwrap_or(0)
        };
        if self.conf.enable_eni_trunking == Some(true) {
            let mut reasons = Vec::new();
            if self.conf.ipam_type.as_deref() != Some("crd") {
                reasons.push(
                    "ipam_type is not \"crd\" (trunk ENIs are modelled under centralized IPAM, as ACK runs them)"
                        .to_string(),
                );
            }
            for pool in cluster.pools.iter().filter(|p| !exclusive(p)) {
                if prefix_mode(pool) {
                    reasons.push(format!("node pool `{}` runs IP prefix mode", pool.name));
                }
                let total = cluster.eni_totals.get(&pool.instance_type).map(|t| t.0);
                if total.is_none_or(|t| t <= eni_quantity(&pool.instance_type)) {
                    let why = match total {
                        None => "no known EniTotalQuantity",
                        Some(_) => "an EniTotalQuantity no larger than its EniQuantity",
                    };
                    let reason = format!(
                        "instance type `{}` (pool `{}`) has {why}",
                        pool.instance_type, pool.name
                    );
                    if !reasons.contains(&reason) {
                        reasons.push(reason);
                    }
                }
            }
            if reasons.is_empty() {
                plan.trunking = Some((true, "eni_conf".to_string()));
            } else {
                plan.trunking = Some((
                    false,
                    format!(
                        "eni_conf turns it on, but the scenario cannot: {}",
                        reasons.join("; ")
                    ),
                ));
                self.findings.push(
                    Finding::new(
                        "import-trunking-off",
                        "data.eni_conf.enable_eni_trunking",
                        format!(
                            "eni_conf has enable_eni_trunking, but the scenario is written without it: {}",
                            reasons.join("; ")
                        ),
                        "pass --instance-types with `aliyun ecs DescribeInstanceTypes --InstanceTypes '[\"ecs....\"]'` (EniTotalQuantity), or set [instance_type.\"...\"] eni_total_quantity and enable_eni_trunking by hand",
                    )
                    .in_file(self.sources.eni_config.path),
                );
            }
        }
        if plan.trunking.is_some() || !plan.written.is_empty() {
            for pool in &cluster.pools {
                if let Some((total, source)) = cluster.eni_totals.get(&pool.instance_type)
                    && *total >= eni_quantity(&pool.instance_type)
                {
                    plan.eni_totals
                        .insert(pool.instance_type.clone(), (*total, source.clone()));
                }
            }
        }
        let trunking = plan.trunking.as_ref().is_some_and(|t| t.0);
        let all_exclusive = cluster.pools.iter().all(exclusive);
        for (i, w) in workloads.list.iter().enumerate() {
            let Some((&top, &count)) = w.podnetworking_votes.iter().max_by(|a, b| {
                // On a tie, a PodNetworking over none: some pods were bound for sure.
                a.1.cmp(b.1)
                    .then(a.0.is_some().cmp(&b.0.is_some()))
                    .then(b.0.cmp(a.0))
            }) else {
                continue;
            };
            let names = |key: &Option<usize>| {
                key.map_or("none".to_string(), |k| {
                    format!("`{}`", self.podnetworkings[k].name)
                })
            };
            let file = self
                .sources
                .pods
                .as_ref()
                .map_or(self.sources.eni_config.path, |p| p.path)
                .to_path_buf();
            if w.podnetworking_votes.len() > 1 {
                let split: Vec<String> = w
                    .podnetworking_votes
                    .iter()
                    .map(|(k, n)| format!("{n} {}", names(k)))
                    .collect();
                self.findings.push(
                    Finding::new(
                        "import-podnetworking-mixed",
                        format!("workload `{}`", w.name),
                        format!(
                            "the pods of `{}` match different PodNetworkings ({}); the scenario gives the workload {}",
                            w.name,
                            split.join(", "),
                            names(&top)
                        ),
                        "give the workload's pods one PodNetworking (its selectors or the k8s.aliyun.com/pod-networking annotation)",
                    )
                    .in_file(&file),
                );
            }
            let Some(index) = top else {
                continue;
            };
            let pn = &self.podnetworkings[index];
            if !plan.written.iter().any(|(k, _)| *k == index) {
                continue;
            }
            let exclusive_pool = match &w.nodepool {
                Some(name) => cluster
                    .pools
                    .iter()
                    .any(|p| &p.name == name && exclusive(p)),
                None => all_exclusive,
            };
            if !trunking && !exclusive_pool {
                self.findings.push(
                    Finding::new(
                        "import-podnetworking-unbound",
                        format!("workload `{}`", w.name),
                        format!(
                            "the pods of `{}` use PodNetworking `{}`, but the scenario has neither trunking nor an exclusive-ENI pool for them; written without podnetworking, on the shared ENIs",
                            w.name, pn.name
                        ),
                        "turn trunking on (enable_eni_trunking in eni_conf, EniTotalQuantity from --instance-types) or pin the workload to an exclusive-ENI pool",
                    )
                    .in_file(&file),
                );
                continue;
            }
            let how: Vec<&str> = w
                .podnetworking_how
                .iter()
                .map(|h| match *h {
                    "annotation" => "the pods' annotation k8s.aliyun.com/pod-networking",
                    _ => "its selector matches the pods' labels and namespace",
                })
                .collect();
            plan.workloads.insert(
                i,
                (
                    pn.name.clone(),
                    format!("{count} of {} pods: {}", w.pods, how.join(", and ")),
                ),
            );
        }
        self.pod_enis = plan;
    }

    /// The vSwitches of the PodNetworkings written are the scenario's too.
    pub(super) fn include_podnetworking_vswitches(&self, selection: &mut Selection) {
        for (_, zones) in &self.pod_enis.written {
            for id in zones.values().flatten() {
                if let Some(i) = self.described.iter().position(|v| &v.id == id) {
                    selection.included.insert(i);
                }
            }
        }
    }

    /// The header line naming the PodNetworking files.
    pub(super) fn podnetworking_header(&self, out: &mut String) -> std::fmt::Result {
        if self.sources.podnetworkings.is_empty() {
            return Ok(());
        }
        let files: Vec<String> = self
            .sources
            .podnetworkings
            .iter()
            .map(|i| i.path.display().to_string())
            .collect();
        writeln!(
            out,
            "#   PodNetworkings: {} ({} read, {} written{})",
            files.join(", "),
            self.podnetworkings.len(),
            self.pod_enis.written.len(),
            match &self.sources.namespaces {
                Some(ns) => format!("; namespace labels from {}", ns.path.display()),
                None => String::new(),
            }
        )
    }

    /// `eni_total_quantity` of a type, as a line of its `[instance_type]` table.
    pub(super) fn emit_eni_total(&self, out: &mut String, name: &str) -> std::fmt::Result {
        match self.pod_enis.eni_totals.get(name) {
            Some((total, source)) => kv(
                out,
                "eni_total_quantity",
                &total.to_string(),
                &format!("{source}: trunk members included"),
            ),
            None => Ok(()),
        }
    }

    /// `[instance_type."NAME"]` with only `eni_total_quantity`, for types whose other limits
    /// the catalog has right.
    pub(super) fn emit_eni_total_tables(
        &self,
        out: &mut String,
        cluster: &Cluster,
    ) -> std::fmt::Result {
        for name in self.pod_enis.eni_totals.keys() {
            if cluster.instance_tables.iter().any(|(t, _)| &t.name == name) {
                continue;
            }
            writeln!(out, "[instance_type.{}]", q(name))?;
            writeln!(
                out,
                "# The built-in catalog's limits, and the ENIs with trunk members for trunking and PodNetworkings."
            )?;
            self.emit_eni_total(out, name)?;
            writeln!(out)?;
        }
        Ok(())
    }

    /// `[[podnetworking]]`, each value with where it came from.
    pub(super) fn emit_podnetworkings(&self, out: &mut String) -> std::fmt::Result {
        for (index, zones) in &self.pod_enis.written {
            let pn = &self.podnetworkings[*index];
            let file = self.podnetworkings_file(pn).display().to_string();
            let at = pn.line.map(|l| format!(", line {l}")).unwrap_or_default();
            writeln!(out, "[[podnetworking]]")?;
            let ready = if pn.ready() {
                String::new()
            } else {
                format!(
                    "; status {}: Terway's webhook matches no pod to it by selector",
                    pn.status.as_deref().unwrap_or("?")
                )
            };
            kv(
                out,
                "name",
                &q(&pn.name),
                &format!("PodNetworking `{}` in {file}{at}{ready}", pn.name),
            )?;
            let entries: Vec<String> = zones
                .iter()
                .map(|(zone, ids)| {
                    let ids: Vec<String> = ids.iter().map(|id| q(id)).collect();
                    format!("{} = [{}]", q(zone), ids.join(", "))
                })
                .collect();
            kv(
                out,
                "vswitches",
                &format!("{{ {} }}", entries.join(", ")),
                "spec.vSwitchOptions in order, by the zones DescribeVSwitches gives",
            )?;
            let (policy, comment) = match &pn.selection_policy {
                Some(p) => (
                    p.as_str(),
                    "spec.vSwitchSelectOptions.vSwitchSelectionPolicy",
                ),
                None => ("ordered", "defaulted: the CRD's default"),
            };
            kv(out, "selection_policy", &q(policy), comment)?;
            if pn.fixed {
                kv(
                    out,
                    "allocation",
                    &q("fixed"),
                    "spec.allocationType.type Fixed",
                )?;
                let (after, comment) = match (&pn.release_after, pn.never_released) {
                    (Some((text, ms)), false) => (
                        *ms,
                        format!("spec.allocationType.releaseAfter \"{text}\" (releaseStrategy TTL)"),
                    ),
                    (_, true) => (
                        self.options.horizon_ms,
                        "releaseStrategy Never: held for good; the model needs a time, so the horizon".to_string(),
                    ),
                    (None, false) => (
                        self.options.horizon_ms,
                        "no releaseAfter: held for good; the model needs a time, so the horizon"
                            .to_string(),
                    ),
                };
                kv(
                    out,
                    "release_after",
                    &q(&format_duration(after.max(crate::scenario::SECOND_MS))),
                    &comment,
                )?;
            } else {
                kv(
                    out,
                    "allocation",
                    &q("elastic"),
                    "spec.allocationType.type Elastic (the CRD's default)",
                )?;
            }
            writeln!(out)?;
        }
        Ok(())
    }
}
