//! What `kubectl get nodes -o json` and `kubectl get pods -A -o json` print, reduced to what
//! the scenario needs: nodes by zone, instance type and node pool; pods that take a Terway
//! address, by owner, with their requests and addresses.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use serde_json::Value;

use super::yaml;
use super::{ImportError, Input, describe, json_error};
use crate::lint::Finding;

/// A node of the cluster.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// `metadata.name`.
    pub name: String,
    /// Zone label, when there is one.
    pub zone: Option<String>,
    /// Instance-type label, when there is one.
    pub instance_type: Option<String>,
    /// `alibabacloud.com/nodepool-id`.
    pub nodepool: Option<String>,
    /// `terway-config`: the kube-system ConfigMap whose `eni_conf` Terway merges over
    /// eni-config on this node (a node pool's dynamic config).
    pub terway_config: Option<String>,
    /// The `InternalIP` address (eth0's primary address).
    pub internal_ip: Option<Ipv4Addr>,
    /// `status.capacity.pods` (or allocatable).
    pub max_pods: Option<u32>,
    /// A virtual node (ECI virtual-kubelet): not a Terway node.
    pub is_virtual: bool,
    /// `spec.providerID`: `region.instance-id` on ACK, `scheme://...` elsewhere.
    pub provider_id: Option<String>,
    /// Which labels gave the zone and type, for comments.
    pub zone_label: &'static str,
    /// The label the instance type came from.
    pub type_label: &'static str,
    /// `k8s.aliyun.com/exclusive-mode-eni-type: eniOnly` (any case, as Terway compares it):
    /// every pod gets an ENI of its own.
    pub exclusive_eni: bool,
}

/// A pod, as far as addresses go.
#[derive(Debug, Clone, PartialEq)]
pub struct Pod {
    /// `metadata.namespace`.
    pub namespace: String,
    /// `metadata.name`.
    pub name: String,
    /// `spec.nodeName`.
    pub node: Option<String>,
    /// `spec.hostNetwork`.
    pub host_network: bool,
    /// `status.phase`.
    pub phase: String,
    /// Whether it is being deleted (`metadata.deletionTimestamp`).
    pub deleting: bool,
    /// `status.podIPs` (or `podIP`), IPv4 only.
    pub ips: Vec<Ipv4Addr>,
    /// The controlling owner: (kind, name).
    pub owner: Option<(String, String)>,
    /// `metadata.labels["pod-template-hash"]`.
    pub template_hash: Option<String>,
    /// CPU request in millicores: the sum over containers, or the largest init container's
    /// when that is larger (how the scheduler counts it).
    pub cpu_millis: u64,
    /// Memory request in bytes, summed the same way.
    pub memory_bytes: u64,
    /// `spec.nodeSelector["alibabacloud.com/nodepool-id"]`.
    pub nodepool_selector: Option<String>,
    /// `metadata.labels`, which PodNetworking pod selectors match.
    pub labels: BTreeMap<String, String>,
    /// `metadata.annotations`: `k8s.aliyun.com/pod-networking` names a pod's PodNetworking.
    pub annotations: BTreeMap<String, String>,
}

impl Pod {
    /// Whether the pod takes (or will take) a Terway address: not host-network, not finished.
    pub fn takes_address(&self) -> bool {
        !self.host_network && self.phase != "Succeeded" && self.phase != "Failed"
    }
}

/// The objects of a `kubectl get ...` of `kind`: a `List` or `<kind>List` of them, or one of
/// them. `"items": null`, as some tools print an empty list, is an empty list with a finding.
pub(super) fn objects<'v>(
    input: &Input,
    value: &'v Value,
    kind: &str,
    command: &str,
    findings: &mut Vec<Finding>,
) -> Result<Vec<&'v Value>, ImportError> {
    let expected = expected(command);
    let fail = |message: String| ImportError::new(input.path, format!("{message}; {expected}"));
    let Some(top_kind) = value.get("kind").and_then(Value::as_str) else {
        let what = if value.get("VSwitches").is_some() {
            "is a DescribeVSwitches listing"
        } else if value.get("InstanceTypes").is_some() {
            "is a DescribeInstanceTypes listing"
        } else if !value.is_object() {
            "is not an object"
        } else {
            "has no `kind`"
        };
        return Err(fail(what.to_string()));
    };
    if top_kind == kind {
        return Ok(vec![value]);
    }
    if top_kind != "List" && top_kind != format!("{kind}List") {
        let api = value
            .get("apiVersion")
            .and_then(Value::as_str)
            .map(|a| format!(" ({})", a.trim()))
            .unwrap_or_default();
        return Err(fail(format!(
            "is a {}{api}, not a list of {kind}s",
            top_kind.trim()
        )));
    }
    let items = match value.get("items") {
        Some(Value::Array(items)) => items,
        Some(Value::Null) => {
            findings.push(
                Finding::new(
                    "import-empty-list",
                    "items",
                    format!("`items` is null: read as an empty list, so no {kind}s"),
                    format!("nothing to do if there are none; otherwise pass the output of `{command}` again"),
                )
                .in_file(input.path),
            );
            return Ok(Vec::new());
        }
        _ => return Err(fail(format!("is a {top_kind} without `items`"))),
    };
    for (i, item) in items.iter().enumerate() {
        match item.get("kind").and_then(Value::as_str) {
            Some(k) if k != kind => {
                return Err(fail(format!(
                    "lists {k}s, not {kind}s (items[{i}] is a {k})"
                )));
            }
            _ => {}
        }
    }
    Ok(items.iter().collect())
}

fn expected(command: &str) -> String {
    format!("expected the output of `{command}` (or -o yaml)")
}

/// kubectl's JSON, or its YAML (`-o yaml`: one object, a list, or several documents, which
/// are read as a list of them).
pub(super) fn parse(input: &Input, command: &str) -> Result<Value, ImportError> {
    let text = input.text.trim_start_matches('\u{feff}');
    let trimmed = text.trim_start();
    let expected = expected(command);
    if trimmed.is_empty() {
        return Err(ImportError::new(
            input.path,
            format!("is empty; {expected}"),
        ));
    }
    if trimmed.starts_with('{') {
        return serde_json::from_str(text)
            .map_err(|e| ImportError::new(input.path, format!("{}; {expected}", json_error(&e))));
    }
    let mut docs = yaml::documents(text).map_err(|e| {
        let what = describe(text).unwrap_or_else(|| {
            format!("is neither JSON nor YAML (line {}: {})", e.line, e.message)
        });
        ImportError::new(input.path, format!("{what}; {expected}"))
    })?;
    match docs.len() {
        0 => Err(ImportError::new(
            input.path,
            format!("has only comments; {expected}"),
        )),
        1 => Ok(yaml::to_json(&docs.remove(0).root)),
        _ => Ok(serde_json::json!({
            "kind": "List",
            "items": docs.iter().map(|d| yaml::to_json(&d.root)).collect::<Vec<_>>(),
        })),
    }
}

fn label<'v>(object: &'v Value, keys: &[&'static str]) -> Option<(&'v str, &'static str)> {
    let labels = object.get("metadata")?.get("labels")?;
    keys.iter()
        .find_map(|&key| labels.get(key).and_then(Value::as_str).map(|v| (v, key)))
        .filter(|(v, _)| !v.is_empty())
}

/// A `map[string]string` (labels, annotations); values that are not strings are left out.
pub(super) fn string_map(value: Option<&Value>) -> BTreeMap<String, String> {
    value
        .and_then(Value::as_object)
        .map(|map| {
            map.iter()
                .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

fn str_at<'v>(value: &'v Value, path: &[&str]) -> Option<&'v str> {
    let mut node = value;
    for key in path {
        node = node.get(key)?;
    }
    node.as_str()
}

/// `kubectl get nodes -o json` (or `-o yaml`).
pub fn nodes(input: &Input, findings: &mut Vec<Finding>) -> Result<Vec<Node>, ImportError> {
    let command = "kubectl get nodes -o json";
    let value = parse(input, command)?;
    let mut out = Vec::new();
    for (i, node) in objects(input, &value, "Node", command, findings)?
        .into_iter()
        .enumerate()
    {
        let name = str_at(node, &["metadata", "name"])
            .map(str::to_string)
            .unwrap_or_else(|| format!("items[{i}]"));
        let zone = label(
            node,
            &[
                "topology.kubernetes.io/zone",
                "failure-domain.beta.kubernetes.io/zone",
            ],
        );
        let instance_type = label(
            node,
            &[
                "node.kubernetes.io/instance-type",
                "beta.kubernetes.io/instance-type",
            ],
        );
        let nodepool = label(node, &["alibabacloud.com/nodepool-id"]).map(|(v, _)| v.to_string());
        let terway_config = label(node, &["terway-config"]).map(|(v, _)| v.to_string());
        let is_virtual = label(node, &["type"]).is_some_and(|(v, _)| v == "virtual-kubelet")
            || str_at(node, &["spec", "providerID"]).is_some_and(|p| p.starts_with("vk://"));
        let internal_ip = node
            .get("status")
            .and_then(|s| s.get("addresses"))
            .and_then(Value::as_array)
            .and_then(|addresses| {
                addresses.iter().find_map(|a| {
                    (a.get("type").and_then(Value::as_str) == Some("InternalIP"))
                        .then(|| a.get("address").and_then(Value::as_str))
                        .flatten()
                        .and_then(|ip| ip.parse::<Ipv4Addr>().ok())
                })
            });
        let max_pods = ["capacity", "allocatable"].iter().find_map(|field| {
            let pods = node.get("status")?.get(*field)?.get("pods")?;
            pods.as_str()
                .and_then(|s| s.parse::<u32>().ok())
                .or_else(|| pods.as_u64().and_then(|n| u32::try_from(n).ok()))
        });
        out.push(Node {
            name,
            zone: zone.map(|(v, _)| v.to_string()),
            instance_type: instance_type.map(|(v, _)| v.to_string()),
            nodepool,
            terway_config,
            internal_ip,
            max_pods,
            is_virtual,
            provider_id: str_at(node, &["spec", "providerID"]).map(str::to_string),
            zone_label: zone.map_or("", |(_, k)| k),
            type_label: instance_type.map_or("", |(_, k)| k),
            exclusive_eni: label(node, &["k8s.aliyun.com/exclusive-mode-eni-type"])
                .is_some_and(|(v, _)| v.eq_ignore_ascii_case("eniOnly")),
        });
    }
    Ok(out)
}

/// `kubectl get pods -A -o json` (or `-o yaml`).
pub fn pods(input: &Input, findings: &mut Vec<Finding>) -> Result<Vec<Pod>, ImportError> {
    let command = "kubectl get pods -A -o json";
    let value = parse(input, command)?;
    let mut out = Vec::new();
    for (i, pod) in objects(input, &value, "Pod", command, findings)?
        .into_iter()
        .enumerate()
    {
        let bad = |what: String| {
            ImportError::new(
                input.path,
                format!("items[{i}] {what}; {}", expected(command)),
            )
        };
        let metadata = pod.get("metadata");
        let name =
            str_at(pod, &["metadata", "name"]).ok_or_else(|| bad("has no metadata.name".into()))?;
        let namespace = str_at(pod, &["metadata", "namespace"]).unwrap_or("default");
        let spec = pod.get("spec");
        let host_network = spec
            .and_then(|s| s.get("hostNetwork"))
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let phase = str_at(pod, &["status", "phase"])
            .unwrap_or("Pending")
            .to_string();
        let deleting = metadata
            .and_then(|m| m.get("deletionTimestamp"))
            .is_some_and(|t| !t.is_null());
        let mut ips: Vec<Ipv4Addr> = pod
            .get("status")
            .and_then(|s| s.get("podIPs"))
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .filter_map(|entry| entry.get("ip").and_then(Value::as_str))
                    .filter_map(|ip| ip.parse().ok())
                    .collect()
            })
            .unwrap_or_default();
        if ips.is_empty()
            && let Some(ip) = str_at(pod, &["status", "podIP"]).and_then(|ip| ip.parse().ok())
        {
            ips.push(ip);
        }
        let owners = metadata
            .and_then(|m| m.get("ownerReferences"))
            .and_then(Value::as_array);
        let owner = owners.and_then(|refs| {
            let controller = refs
                .iter()
                .find(|r| r.get("controller").and_then(Value::as_bool) == Some(true));
            let chosen = controller.or_else(|| refs.first())?;
            Some((
                chosen.get("kind").and_then(Value::as_str)?.to_string(),
                chosen.get("name").and_then(Value::as_str)?.to_string(),
            ))
        });
        let template_hash = metadata
            .and_then(|m| m.get("labels"))
            .and_then(|l| l.get("pod-template-hash"))
            .and_then(Value::as_str)
            .map(str::to_string);
        let requests = |list: &str,
                        resource: &str,
                        parse: fn(&str) -> Option<f64>|
         -> Result<Vec<f64>, ImportError> {
            let Some(containers) = spec.and_then(|s| s.get(list)).and_then(Value::as_array) else {
                return Ok(Vec::new());
            };
            containers
                .iter()
                .map(|c| {
                    match c.get("resources").and_then(|r| r.get("requests")).and_then(|r| r.get(resource)) {
                        None | Some(Value::Null) => Ok(0.0),
                        Some(q) => {
                            let text = match q {
                                Value::String(s) => s.clone(),
                                other => other.to_string(),
                            };
                            parse(&text).ok_or_else(|| {
                                bad(format!("({namespace}/{name}) has {resource} request `{text}`, not a Kubernetes quantity"))
                            })
                        }
                    }
                })
                .collect()
        };
        let effective =
            |resource: &str, parse: fn(&str) -> Option<f64>| -> Result<f64, ImportError> {
                let sum: f64 = requests("containers", resource, parse)?.iter().sum();
                let init = requests("initContainers", resource, parse)?
                    .into_iter()
                    .fold(0.0, f64::max);
                Ok(sum.max(init))
            };
        let cpu_millis = effective("cpu", |q| quantity(q).map(|v| v * 1000.0))?.ceil() as u64;
        let memory_bytes = effective("memory", quantity)?.ceil() as u64;
        let nodepool_selector = spec
            .and_then(|s| s.get("nodeSelector"))
            .and_then(|s| s.get("alibabacloud.com/nodepool-id"))
            .and_then(Value::as_str)
            .map(str::to_string);
        out.push(Pod {
            namespace: namespace.to_string(),
            name: name.to_string(),
            node: str_at(pod, &["spec", "nodeName"])
                .filter(|n| !n.is_empty())
                .map(str::to_string),
            host_network,
            phase,
            deleting,
            ips,
            owner,
            template_hash,
            cpu_millis,
            memory_bytes,
            nodepool_selector,
            labels: string_map(metadata.and_then(|m| m.get("labels"))),
            annotations: string_map(metadata.and_then(|m| m.get("annotations"))),
        });
    }
    Ok(out)
}

/// A Kubernetes quantity ("250m", "1.5", "128Mi", "1e3", "2G") in base units; `None` when it
/// is not one or is negative.
pub fn quantity(text: &str) -> Option<f64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(split);
    let (number, suffix) = match suffix.strip_prefix(['e', 'E']) {
        Some(exponent)
            if !exponent.is_empty()
                && exponent
                    .trim_start_matches(['+', '-'])
                    .bytes()
                    .all(|b| b.is_ascii_digit()) =>
        {
            let exponent: i32 = exponent.parse().ok()?;
            (number.parse::<f64>().ok()? * 10f64.powi(exponent), "")
        }
        _ => (number.parse::<f64>().ok()?, suffix),
    };
    let factor = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        _ => return None,
    };
    let value = number * factor;
    (value.is_finite() && value >= 0.0).then_some(value)
}

/// The name a ReplicaSet's Deployment has: the ReplicaSet name without its pod-template-hash
/// suffix (from the pod's label, or a suffix that looks like one).
pub fn deployment_of(replicaset: &str, template_hash: Option<&str>) -> Option<String> {
    if let Some(hash) = template_hash
        && let Some(base) = replicaset
            .strip_suffix(hash)
            .and_then(|b| b.strip_suffix('-'))
        && !base.is_empty()
    {
        return Some(base.to_string());
    }
    // Kubernetes writes the hash with its "safe" alphabet (no vowels, no 0, 1, 3).
    let (base, suffix) = replicaset.rsplit_once('-')?;
    let safe = |c: char| "bcdfghjklmnpqrstvwxz2456789".contains(c);
    (!base.is_empty() && (5..=10).contains(&suffix.len()) && suffix.chars().all(safe))
        .then(|| base.to_string())
}

/// The CronJob of a Job created by one: `name-<minutes since the epoch>`.
pub fn cronjob_of(job: &str) -> Option<String> {
    let (base, suffix) = job.rsplit_once('-')?;
    (!base.is_empty() && suffix.len() >= 8 && suffix.bytes().all(|b| b.is_ascii_digit()))
        .then(|| base.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities() {
        assert_eq!(quantity("250m"), Some(0.25));
        assert_eq!(quantity("2"), Some(2.0));
        assert_eq!(quantity("0.5"), Some(0.5));
        assert_eq!(quantity("128Mi"), Some(134_217_728.0));
        assert_eq!(quantity("1Gi"), Some(1_073_741_824.0));
        assert_eq!(quantity("1e3"), Some(1000.0));
        assert_eq!(quantity("500M"), Some(5e8));
        assert_eq!(quantity("100k"), Some(1e5));
        assert_eq!(quantity("abc"), None);
        assert_eq!(quantity("-1"), None);
        assert_eq!(quantity("1Xi"), None);
    }

    #[test]
    fn owners() {
        assert_eq!(
            deployment_of("web-5d8f7c9b4", Some("5d8f7c9b4")).as_deref(),
            Some("web")
        );
        assert_eq!(deployment_of("web-5d8f7c9b4", None).as_deref(), Some("web"));
        assert_eq!(
            deployment_of("my-app-7c9d6b5f8d", None).as_deref(),
            Some("my-app")
        );
        assert_eq!(deployment_of("plain", None), None);
        assert_eq!(deployment_of("web-aeiou", None), None);
        assert_eq!(cronjob_of("backup-28712345").as_deref(), Some("backup"));
        assert_eq!(cronjob_of("migrate-1"), None);
    }
}
