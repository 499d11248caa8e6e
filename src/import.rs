//! `planner import`: a scenario of today's cluster from what `kubectl` and the `aliyun` CLI
//! print.
//!
//! The inputs are read in the shapes those tools really print (see the submodules); anything
//! that is not what it claims to be is refused with an [`ImportError`] naming the file and
//! what was expected. The output is TOML text with a comment on every value saying where it
//! came from, or that it was defaulted and why. It is checked by parsing it back with
//! [`scenario::parse`] and linted with [`lint::check`], so what import writes is what
//! `planner run` accepts.
//!
//! Nothing here touches the file system: `main` reads the files and writes the result.

mod aliyun;
mod configmap;
mod kube;
mod yaml;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use crate::catalog::InstanceType;
use crate::lint::{self, Finding, LintOptions};
use crate::scenario::{
    self, DAY_MS, MAX_VSWITCH_PREFIX, MIN_VSWITCH_PREFIX, Millis, SECOND_MS, Scenario,
    format_duration, usable_addresses,
};

use aliyun::VSwitch;
use configmap::EniConf;

/// One input file: its path (for messages) and its text.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    /// Where it was read from.
    pub path: &'a Path,
    /// Its contents.
    pub text: &'a str,
}

/// The files `planner import` reads.
#[derive(Debug, Clone, Copy)]
pub struct Sources<'a> {
    /// `kubectl -n kube-system get cm eni-config -o yaml` (or `-o json`).
    pub eni_config: Input<'a>,
    /// `aliyun vpc DescribeVSwitches`.
    pub vswitches: Input<'a>,
    /// `kubectl get nodes -o json`.
    pub nodes: Option<Input<'a>>,
    /// `kubectl get pods -A -o json`.
    pub pods: Option<Input<'a>>,
    /// `aliyun ecs DescribeInstanceTypes`.
    pub instance_types: Option<Input<'a>>,
}

/// How the cluster grows over the horizon.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Growth {
    /// Today's pods, constant.
    None,
    /// This many more pods per day, cluster-wide, spread over the workloads in proportion to
    /// their pods today (linear).
    PerDay(f64),
    /// Every workload grows by this percentage per day, compounded daily.
    PercentPerDay(f64),
}

/// Settings of an import.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportOptions {
    /// The growth assumption.
    pub growth: Growth,
    /// `[scenario] horizon`.
    pub horizon_ms: Millis,
    /// Where the scenario will be written: its stem names the scenario, and the check parses
    /// it under this name.
    pub output: PathBuf,
    /// Options of the lints run on the result.
    pub lint: LintOptions,
}

/// An imported scenario.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The commented TOML.
    pub toml: String,
    /// The same, validated.
    pub scenario: Scenario,
    /// Findings about the input files (with `file` set), then the lints of the scenario.
    pub findings: Vec<Finding>,
}

/// An input that is not what it claims to be, or values that make no valid scenario.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", file.display())]
pub struct ImportError {
    /// The file at fault.
    pub file: PathBuf,
    /// What is wrong and what was expected.
    pub message: String,
}

impl ImportError {
    fn new(file: &Path, message: impl Into<String>) -> Self {
        ImportError {
            file: file.to_path_buf(),
            message: message.into(),
        }
    }
}

/// A serde_json error in words: a truncated document says so.
fn json_error(error: &serde_json::Error) -> String {
    match error.classify() {
        serde_json::error::Category::Eof => format!(
            "is truncated: the JSON ends at line {} before it is complete",
            error.line()
        ),
        _ => format!("is not valid JSON ({error})"),
    }
}

/// Most replicas the scenario accepts for one workload.
const MAX_REPLICAS: f64 = 10_000_000.0;
/// Most nodes the scenario accepts for one pool.
const MAX_NODES: u64 = 100_000;
/// How full the autoscaler ceiling lets the nodes get at the horizon: requests never pack
/// nodes perfectly.
const TARGET_FILL: f64 = 0.8;
/// Job pods are imported as arrivals of this mean run time (Little's law keeps today's count).
const JOB_DURATION_MS: Millis = 3_600_000;
/// Terway's own default when `ip_pool_sync_period` is unset or unreadable.
const TERWAY_SYNC_PERIOD_MS: Millis = 120 * SECOND_MS;
/// Instance type of the placeholder pool when no nodes are given.
const DEFAULT_INSTANCE_TYPE: &str = "ecs.g7.xlarge";

/// Imports a scenario from the files.
pub fn import(sources: &Sources, options: &ImportOptions) -> Result<Imported, ImportError> {
    let mut findings = Vec::new();
    let map = configmap::read(&sources.eni_config, &mut findings)?;
    let conf = configmap::parse_eni_conf(&sources.eni_config, &map, &mut findings)?;
    let described = dedup_vswitches(aliyun::vswitches(&sources.vswitches, &mut findings)?);
    for v in &described {
        if !(MIN_VSWITCH_PREFIX..=MAX_VSWITCH_PREFIX).contains(&v.cidr.prefix_len()) {
            return Err(ImportError::new(
                sources.vswitches.path,
                format!(
                    "vSwitch `{}` has CidrBlock {} whose mask is outside the /16../29 Alibaba Cloud allows",
                    v.id, v.cidr
                ),
            ));
        }
    }
    let types = match &sources.instance_types {
        Some(input) => Some((input.path, aliyun::instance_types(input)?)),
        None => None,
    };
    let nodes = match &sources.nodes {
        Some(input) => Some((input.path, kube::nodes(input)?)),
        None => None,
    };
    let pods = match &sources.pods {
        Some(input) => Some((input.path, kube::pods(input)?)),
        None => None,
    };

    let mut builder = Builder {
        sources,
        options,
        conf: &conf,
        map: &map,
        described: &described,
        findings: &mut findings,
    };
    let cluster = builder.cluster(nodes.as_ref(), types.as_ref())?;
    let workloads = builder.workloads(pods.as_ref(), &cluster)?;
    let curves = builder.curves(&workloads.list)?;
    let toml = builder.emit(&cluster, &workloads, &curves);

    let (scenario, warnings) = scenario::parse(&options.output, &toml).map_err(|e| {
        ImportError::new(
            &options.output,
            format!(
                "the files give values that make no valid scenario ({}); correct the input or edit the scenario by hand",
                e
            ),
        )
    })?;
    let mut lints = lint::check(&scenario, &warnings, &options.lint);
    lint::locate(&mut lints, &toml);
    findings.extend(lints);
    Ok(Imported {
        toml,
        scenario,
        findings,
    })
}

/// `--pager` output or a hand-merged listing may name a vSwitch twice.
fn dedup_vswitches(list: Vec<VSwitch>) -> Vec<VSwitch> {
    let mut seen = BTreeSet::new();
    list.into_iter()
        .filter(|v| seen.insert(v.id.clone()))
        .collect()
}

/// A node pool of the scenario, built from nodes.
struct Pool {
    name: String,
    name_source: String,
    instance_type: String,
    type_source: String,
    /// (zone, nodes there), in the order the model should fill them.
    zones: Vec<(String, u64)>,
    /// eth0's vSwitch per zone, from the nodes' InternalIP.
    node_vswitch: BTreeMap<String, usize>,
    nodes: u64,
    max_pods: Option<u32>,
    /// Terway's pod capacity of the instance type.
    capacity: u32,
    /// vCPU and memory of a node, for the autoscaler ceiling.
    vcpu: u32,
    memory_mib: u64,
    placeholder: bool,
}

/// The nodes side of the cluster.
struct Cluster {
    pools: Vec<Pool>,
    /// `[instance_type."..."]` tables to write: (type, why).
    instance_tables: Vec<(InstanceType, String)>,
    /// Node names left out (virtual, unlabelled): their pods are left out too.
    skipped_nodes: BTreeSet<String>,
    /// Node name to (pool index, vSwitch holding its eth0).
    node_index: BTreeMap<String, usize>,
    /// Addresses per described vSwitch held by the imported nodes' eth0.
    eth0_held: Vec<u64>,
    node_count: u64,
}

/// A workload of the scenario, built from pods.
struct Workload {
    name: String,
    kind: Kind,
    source: String,
    pods: u64,
    cpu_millis: u64,
    memory_bytes: u64,
    nodepool: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Deployment,
    StatefulSet,
    DaemonSet,
    Job,
}

/// Replica points per workload, and of the extra `growth` workload.
type Curves = (Vec<Vec<(Millis, f64)>>, Option<Vec<(Millis, f64)>>);

/// The built workloads and the addresses their pods hold.
struct Workloads {
    list: Vec<Workload>,
    /// Addresses per described vSwitch held by the imported pods.
    pod_held: Vec<u64>,
    host_network: u64,
    finished: u64,
    on_skipped_nodes: u64,
    terminating: u64,
    taking: u64,
}

struct Builder<'a, 'f> {
    sources: &'a Sources<'a>,
    options: &'a ImportOptions,
    conf: &'a EniConf,
    map: &'a configmap::ConfigMap,
    described: &'a [VSwitch],
    findings: &'f mut Vec<Finding>,
}

fn vswitch_of(described: &[VSwitch], ip: Ipv4Addr) -> Option<usize> {
    described.iter().position(|v| v.cidr.contains(&ip))
}

impl Builder<'_, '_> {
    fn cluster(
        &mut self,
        nodes: Option<&(&Path, Vec<kube::Node>)>,
        types: Option<&(&Path, Vec<aliyun::InstanceTypeRow>)>,
    ) -> Result<Cluster, ImportError> {
        let mut cluster = Cluster {
            pools: Vec::new(),
            instance_tables: Vec::new(),
            skipped_nodes: BTreeSet::new(),
            node_index: BTreeMap::new(),
            eth0_held: vec![0; self.described.len()],
            node_count: 0,
        };
        let Some((nodes_path, nodes)) = nodes else {
            cluster.pools.push(self.placeholder_pool());
            return Ok(cluster);
        };
        // (pool label, type) -> zone -> nodes.
        struct Kept<'n> {
            node: &'n kube::Node,
            zone: String,
            zone_source: String,
            instance_type: String,
            vswitch: Option<usize>,
        }
        let mut kept: Vec<Kept> = Vec::new();
        let mut skipped: Vec<String> = Vec::new();
        for node in nodes {
            let vswitch = node
                .internal_ip
                .and_then(|ip| vswitch_of(self.described, ip));
            let zone = match (&node.zone, vswitch) {
                (Some(zone), _) => Some((zone.clone(), format!("label {}", node.zone_label))),
                (None, Some(v)) => Some((
                    self.described[v].zone.clone(),
                    format!(
                        "no zone label; the zone of `{}`, which holds its InternalIP",
                        self.described[v].id
                    ),
                )),
                (None, None) => None,
            };
            let reason = if node.is_virtual {
                Some("a virtual node (ECI): its pods do not take addresses through Terway")
            } else if zone.is_none() {
                Some("no zone label and no InternalIP in a described vSwitch")
            } else if node.instance_type.is_none() {
                Some("no instance-type label")
            } else {
                None
            };
            if let Some(reason) = reason {
                skipped.push(format!("`{}` ({reason})", node.name));
                cluster.skipped_nodes.insert(node.name.clone());
                continue;
            }
            let (zone, zone_source) = zone.unwrap_or_default();
            kept.push(Kept {
                node,
                zone,
                zone_source,
                instance_type: node.instance_type.clone().unwrap_or_default(),
                vswitch,
            });
        }
        if !skipped.is_empty() {
            let shown: Vec<&str> = skipped.iter().take(5).map(String::as_str).collect();
            let more = if skipped.len() > 5 {
                format!(" and {} more", skipped.len() - 5)
            } else {
                String::new()
            };
            self.findings.push(
                Finding::new(
                    "import-node-skipped",
                    "items",
                    format!(
                        "{} node{} left out, with their pods: {}{more}",
                        skipped.len(),
                        if skipped.len() == 1 { "" } else { "s" },
                        shown.join(", ")
                    ),
                    "nothing to do for virtual nodes; label other nodes with topology.kubernetes.io/zone and node.kubernetes.io/instance-type",
                )
                .in_file(nodes_path),
            );
        }

        // Instance types: the catalog, unless DescribeInstanceTypes says otherwise.
        let catalog = crate::catalog::builtin();
        let used_types: BTreeSet<&str> = kept.iter().map(|k| k.instance_type.as_str()).collect();
        let mut resolved: BTreeMap<String, InstanceType> = BTreeMap::new();
        for &name in &used_types {
            let row = types.and_then(|(_, rows)| rows.iter().find(|r| r.id == name));
            let from_catalog = catalog.get(name);
            match (row, from_catalog) {
                (Some(row), builtin) => {
                    let path = types.map(|(p, _)| *p).unwrap_or(Path::new(""));
                    let t = instance_type_from(row, path)?;
                    let same = builtin.is_some_and(|b| {
                        b.vcpu == t.vcpu
                            && b.eni_quantity == t.eni_quantity
                            && b.ipv4_per_eni == t.ipv4_per_eni
                            && b.memory_mib == t.memory_mib
                    });
                    if !same {
                        let why = if builtin.is_some() {
                            format!(
                                "from {}: DescribeInstanceTypes differs from the built-in catalog, and Terway reads the API",
                                path.display()
                            )
                        } else {
                            format!("from {}: not in the built-in catalog", path.display())
                        };
                        cluster.instance_tables.push((t.clone(), why));
                    }
                    resolved.insert(name.to_string(), t);
                }
                (None, Some(builtin)) => {
                    resolved.insert(name.to_string(), builtin.clone());
                }
                (None, None) => {
                    let file = types.map_or(*nodes_path, |(p, _)| *p);
                    let hint = if types.is_some() {
                        "it is not in that DescribeInstanceTypes listing either; add it"
                    } else {
                        "pass --instance-types with its ENI limits"
                    };
                    return Err(ImportError::new(
                        file,
                        format!(
                            "instance type `{name}` of the nodes is not in the built-in catalog; {hint}: `aliyun ecs DescribeInstanceTypes --InstanceTypes '[\"{name}\"]' > types.json`"
                        ),
                    ));
                }
            }
        }

        // Pools: ACK node pool (or instance type) x instance type, split by zone only when the
        // zones are uneven (the model spreads a pool's nodes evenly).
        let mut types_per_label: BTreeMap<Option<&str>, BTreeSet<&str>> = BTreeMap::new();
        for k in &kept {
            types_per_label
                .entry(k.node.nodepool.as_deref())
                .or_default()
                .insert(&k.instance_type);
        }
        let mut groups: BTreeMap<(Option<&str>, &str), Vec<&Kept>> = BTreeMap::new();
        for k in &kept {
            groups
                .entry((k.node.nodepool.as_deref(), k.instance_type.as_str()))
                .or_default()
                .push(k);
        }
        let mut zone_sources: BTreeSet<String> = BTreeSet::new();
        for ((label, instance_type), members) in &groups {
            let t = &resolved[*instance_type];
            let (base, name_source) = match label {
                Some(label) if types_per_label[&Some(*label)].len() > 1 => (
                    format!("{label}/{instance_type}"),
                    format!(
                        "label alibabacloud.com/nodepool-id `{label}`, nodes of type {instance_type}"
                    ),
                ),
                Some(label) => (
                    label.to_string(),
                    "label alibabacloud.com/nodepool-id".to_string(),
                ),
                None => (
                    instance_type.to_string(),
                    "no alibabacloud.com/nodepool-id label: named after the instance type"
                        .to_string(),
                ),
            };
            let type_source = members
                .first()
                .map(|k| format!("label {}", k.node.type_label))
                .unwrap_or_default();
            let mut per_zone: BTreeMap<&str, Vec<&Kept>> = BTreeMap::new();
            for k in members {
                per_zone.entry(k.zone.as_str()).or_default().push(k);
                zone_sources.insert(k.zone_source.clone());
            }
            let counts: Vec<u64> = per_zone.values().map(|v| v.len() as u64).collect();
            let even = counts.iter().max().unwrap_or(&0) - counts.iter().min().unwrap_or(&0) <= 1;
            let mut zone_groups: Vec<Vec<(&str, &Vec<&Kept>)>> = if even {
                vec![per_zone.iter().map(|(z, v)| (*z, v)).collect()]
            } else {
                per_zone.iter().map(|(z, v)| vec![(*z, v)]).collect()
            };
            let split = !even && per_zone.len() > 1;
            for zones in &mut zone_groups {
                // More nodes first: the model launches into the zone with the fewest, earlier
                // zones first, so this order gives back today's counts exactly.
                zones.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(b.0)));
                let name = if split {
                    format!("{base}/{}", zones[0].0)
                } else {
                    base.clone()
                };
                let mut node_vswitch = BTreeMap::new();
                let mut max_pods: Option<u32> = None;
                let pool_index = cluster.pools.len();
                for (zone, zone_members) in zones.iter() {
                    let mut votes: BTreeMap<usize, u64> = BTreeMap::new();
                    for k in zone_members.iter() {
                        if let Some(v) = k.vswitch {
                            cluster.eth0_held[v] += 1;
                            if self.described[v].zone == *zone {
                                *votes.entry(v).or_default() += 1;
                            }
                        }
                        if let Some(pods) = k.node.max_pods {
                            max_pods = Some(max_pods.map_or(pods, |m: u32| m.min(pods)));
                        }
                        cluster.node_index.insert(k.node.name.clone(), pool_index);
                    }
                    if let Some((&v, _)) =
                        votes.iter().max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
                    {
                        node_vswitch.insert(zone.to_string(), v);
                    }
                }
                let nodes: u64 = zones.iter().map(|(_, m)| m.len() as u64).sum();
                cluster.node_count += nodes;
                let capacity = t.pod_capacity();
                let max_pods = max_pods.filter(|&m| m != capacity && m > 0);
                cluster.pools.push(Pool {
                    name,
                    name_source: name_source.clone(),
                    instance_type: instance_type.to_string(),
                    type_source: type_source.clone(),
                    zones: zones
                        .iter()
                        .map(|(z, m)| (z.to_string(), m.len() as u64))
                        .collect(),
                    node_vswitch,
                    nodes,
                    max_pods,
                    capacity,
                    vcpu: t.vcpu,
                    memory_mib: t.memory_mib,
                    placeholder: false,
                });
            }
        }
        if cluster.pools.is_empty() {
            cluster.pools.push(self.placeholder_pool());
        }
        Ok(cluster)
    }

    /// One node per zone of the Terway vSwitches, when no nodes are given.
    fn placeholder_pool(&self) -> Pool {
        let mut zones: Vec<String> = self
            .conf
            .vswitches
            .iter()
            .flatten()
            .filter(|(zone, ids)| {
                ids.iter().any(|id| {
                    self.described
                        .iter()
                        .any(|v| &v.id == id && &v.zone == *zone)
                })
            })
            .map(|(zone, _)| zone.clone())
            .collect();
        if zones.is_empty() {
            zones = self.described.iter().map(|v| v.zone.clone()).collect();
        }
        zones.sort();
        zones.dedup();
        let catalog = crate::catalog::builtin();
        let t = catalog.get(DEFAULT_INSTANCE_TYPE);
        Pool {
            name: "default".to_string(),
            name_source: "defaulted: no --nodes given; replace with your node pools".to_string(),
            instance_type: DEFAULT_INSTANCE_TYPE.to_string(),
            type_source: "defaulted: no --nodes given".to_string(),
            zones: zones.iter().map(|z| (z.clone(), 1)).collect(),
            node_vswitch: BTreeMap::new(),
            nodes: zones.len() as u64,
            max_pods: None,
            capacity: t.map_or(45, InstanceType::pod_capacity),
            vcpu: t.map_or(4, |t| t.vcpu),
            memory_mib: t.map_or(16 * 1024, |t| t.memory_mib),
            placeholder: true,
        }
    }

    fn workloads(
        &mut self,
        pods: Option<&(&Path, Vec<kube::Pod>)>,
        cluster: &Cluster,
    ) -> Result<Workloads, ImportError> {
        let mut out = Workloads {
            list: Vec::new(),
            pod_held: vec![0; self.described.len()],
            host_network: 0,
            finished: 0,
            on_skipped_nodes: 0,
            terminating: 0,
            taking: 0,
        };
        let Some((_, pods)) = pods else {
            return Ok(out);
        };
        let mut groups: BTreeMap<(String, Kind, String), Workload> = BTreeMap::new();
        for pod in pods {
            if pod
                .node
                .as_ref()
                .is_some_and(|n| cluster.skipped_nodes.contains(n))
            {
                out.on_skipped_nodes += 1;
                continue;
            }
            if pod.host_network {
                out.host_network += 1;
                continue;
            }
            if !pod.takes_address() {
                out.finished += 1;
                continue;
            }
            for ip in &pod.ips {
                if let Some(v) = vswitch_of(self.described, *ip) {
                    out.pod_held[v] += 1;
                }
            }
            if pod.deleting {
                out.terminating += 1;
                continue;
            }
            out.taking += 1;
            let (kind, name, source) = self.owner(pod);
            let key = (pod.namespace.clone(), kind, name.clone());
            let entry = groups.entry(key).or_insert_with(|| Workload {
                name: format!("{}/{name}", pod.namespace),
                kind,
                source,
                pods: 0,
                cpu_millis: 0,
                memory_bytes: 0,
                nodepool: pod.nodepool_selector.clone(),
            });
            entry.pods += 1;
            entry.cpu_millis = entry.cpu_millis.max(pod.cpu_millis);
            entry.memory_bytes = entry.memory_bytes.max(pod.memory_bytes);
            if entry.nodepool != pod.nodepool_selector {
                entry.nodepool = None;
            }
        }
        let mut names: BTreeMap<String, usize> = BTreeMap::new();
        for workload in groups.values() {
            *names.entry(workload.name.clone()).or_default() += 1;
        }
        for (_, mut workload) in groups {
            if names[&workload.name] > 1 {
                workload.name = format!("{} ({})", workload.name, kind_name(workload.kind));
            }
            // Only a selector on a node pool that import kept whole can pin the workload.
            if let Some(label) = &workload.nodepool
                && !cluster.pools.iter().any(|p| &p.name == label)
            {
                workload.nodepool = None;
            }
            out.list.push(workload);
        }
        Ok(out)
    }

    /// The workload a pod belongs to: (kind, name, where the name came from).
    fn owner(&self, pod: &kube::Pod) -> (Kind, String, String) {
        let Some((kind, name)) = &pod.owner else {
            return (
                Kind::Deployment,
                "pods-without-owner".to_string(),
                "pods with no ownerReferences, as one Deployment".to_string(),
            );
        };
        match kind.as_str() {
            "ReplicaSet" => match kube::deployment_of(name, pod.template_hash.as_deref()) {
                Some(deployment) => (
                    Kind::Deployment,
                    deployment.clone(),
                    format!(
                        "Deployment `{deployment}`: ReplicaSet `{name}` less its pod-template-hash"
                    ),
                ),
                None => (
                    Kind::Deployment,
                    name.clone(),
                    format!("ReplicaSet `{name}`"),
                ),
            },
            "StatefulSet" => (
                Kind::StatefulSet,
                name.clone(),
                format!("StatefulSet `{name}`"),
            ),
            "DaemonSet" => (
                Kind::DaemonSet,
                name.clone(),
                format!(
                    "DaemonSet `{name}`: one pod per node today; the scenario has no DaemonSet kind, so nodes added later get none"
                ),
            ),
            "Job" => match kube::cronjob_of(name) {
                Some(cronjob) => (
                    Kind::Job,
                    cronjob.clone(),
                    format!("CronJob `{cronjob}` (Job `{name}`)"),
                ),
                None => (Kind::Job, name.clone(), format!("Job `{name}`")),
            },
            other if self.conf.stateful_kinds.contains(&other.to_lowercase()) => (
                Kind::StatefulSet,
                name.clone(),
                format!("{other} `{name}`, stateful by eni_conf custom_stateful_workload_kinds"),
            ),
            other => (
                Kind::Deployment,
                name.clone(),
                format!("{other} `{name}`, as a Deployment"),
            ),
        }
    }

    /// The replica points of every workload, and those of a `growth` workload when there is
    /// growth but no pod to give it to.
    fn curves(&self, workloads: &[Workload]) -> Result<Curves, ImportError> {
        let horizon = self.options.horizon_ms;
        let days = horizon as f64 / DAY_MS as f64;
        let growable: f64 = workloads
            .iter()
            .filter(|w| w.kind != Kind::DaemonSet)
            .map(|w| w.pods as f64)
            .sum();
        let constant = |w: &Workload| vec![(0, w.pods as f64)];
        let mut extra = None;
        let curves: Vec<Vec<(Millis, f64)>> = match self.options.growth {
            Growth::None => workloads.iter().map(constant).collect(),
            Growth::PerDay(per_day) => {
                let total = (per_day * days).round();
                let shares = if growable > 0.0 {
                    largest_remainder(
                        total,
                        &workloads
                            .iter()
                            .map(|w| {
                                if w.kind == Kind::DaemonSet {
                                    0.0
                                } else {
                                    w.pods as f64
                                }
                            })
                            .collect::<Vec<_>>(),
                    )
                } else {
                    if total > 0.0 {
                        extra = Some(vec![(0, 0.0), (horizon, total)]);
                    }
                    vec![0.0; workloads.len()]
                };
                workloads
                    .iter()
                    .zip(shares)
                    .map(|(w, share)| {
                        if w.kind == Kind::DaemonSet || share == 0.0 {
                            constant(w)
                        } else {
                            vec![(0, w.pods as f64), (horizon, w.pods as f64 + share)]
                        }
                    })
                    .collect()
            }
            Growth::PercentPerDay(percent) => {
                let times = compound_times(horizon);
                workloads
                    .iter()
                    .map(|w| {
                        if w.kind == Kind::DaemonSet || w.pods == 0 || percent == 0.0 {
                            return constant(w);
                        }
                        times
                            .iter()
                            .map(|&t| {
                                let factor = (1.0 + percent / 100.0).powf(t as f64 / DAY_MS as f64);
                                (t, (w.pods as f64 * factor).round())
                            })
                            .collect()
                    })
                    .collect()
            }
        };
        for (w, curve) in workloads.iter().zip(&curves) {
            if let Some(&(_, last)) = curve.last()
                && (last.is_nan() || last > MAX_REPLICAS)
            {
                return Err(ImportError::new(
                    self.sources
                        .pods
                        .map_or(self.sources.vswitches.path, |p| p.path),
                    format!(
                        "at the given growth `{}` reaches {last:.0} pods by the horizon, more than the {MAX_REPLICAS:.0} a scenario allows; give a smaller growth or a shorter --horizon",
                        w.name
                    ),
                ));
            }
        }
        if let Some(curve) = &extra
            && (curve[1].1.is_nan() || curve[1].1 > MAX_REPLICAS)
        {
            return Err(ImportError::new(
                self.sources.vswitches.path,
                format!(
                    "at the given growth the cluster adds {:.0} pods by the horizon, more than the {MAX_REPLICAS:.0} a scenario allows",
                    curve[1].1
                ),
            ));
        }
        Ok((curves, extra))
    }

    fn emit(&mut self, cluster: &Cluster, workloads: &Workloads, curves: &Curves) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = self.emit_into(&mut out, cluster, workloads, curves);
        out
    }

    fn emit_into(
        &mut self,
        out: &mut String,
        cluster: &Cluster,
        workloads: &Workloads,
        (curves, extra): &Curves,
    ) -> std::fmt::Result {
        let opts = self.options;
        let src = self.sources;
        let horizon = format_duration(opts.horizon_ms);
        let name = opts
            .output
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .filter(|s| !s.trim().is_empty() && s != "-")
            .unwrap_or_else(|| "imported".to_string());

        // Which vSwitches the scenario needs: those Terway lists and those the nodes' eth0 use.
        let mut included: BTreeSet<usize> = BTreeSet::new();
        let mut missing: Vec<(String, String)> = Vec::new();
        let mut listed: BTreeMap<String, Vec<String>> = BTreeMap::new();
        if let Some(vswitches) = &self.conf.vswitches {
            for (zone, ids) in vswitches {
                let mut kept = Vec::new();
                for id in ids {
                    match self.described.iter().position(|v| &v.id == id) {
                        Some(index) => {
                            included.insert(index);
                            if !kept.contains(id) {
                                kept.push(id.clone());
                            }
                        }
                        None => missing.push((zone.clone(), id.clone())),
                    }
                }
                listed.insert(zone.clone(), kept);
            }
        }
        for (index, &held) in cluster.eth0_held.iter().enumerate() {
            if held > 0 {
                included.insert(index);
            }
        }
        for pool in &cluster.pools {
            included.extend(pool.node_vswitch.values().copied());
        }
        let pool_zones: BTreeSet<&str> = cluster
            .pools
            .iter()
            .flat_map(|p| p.zones.iter().map(|(z, _)| z.as_str()))
            .collect();
        // A zone with nodes needs some vSwitch for eth0; without a listed or eth0 one, take
        // the zone's described vSwitches.
        for zone in &pool_zones {
            if !included.iter().any(|&i| self.described[i].zone == *zone) {
                for (i, v) in self.described.iter().enumerate() {
                    if v.zone == *zone {
                        included.insert(i);
                    }
                }
            }
        }
        if included.is_empty() {
            included.extend(0..self.described.len());
        }
        for (zone, id) in &missing {
            self.findings.push(
                Finding::new(
                    "import-vswitch-missing",
                    "data.eni_conf",
                    format!(
                        "eni_conf lists `{id}` under `{zone}`, but {} does not describe it; the scenario leaves it out",
                        src.vswitches.path.display()
                    ),
                    "describe it too (`aliyun vpc DescribeVSwitches --VSwitchId vsw-...`), or remove it from eni_conf if it no longer exists (Terway cannot use it)",
                )
                .in_file(src.eni_config.path),
            );
        }

        // Header.
        writeln!(
            out,
            "# Imported by `planner import`: today's cluster, then the growth below."
        )?;
        writeln!(out, "#")?;
        writeln!(
            out,
            "#   Terway config:  {} (ConfigMap {}/{}, data.eni_conf)",
            src.eni_config.path.display(),
            or(&self.map.namespace, "?"),
            or(&self.map.name, "?")
        )?;
        writeln!(
            out,
            "#   vSwitches:      {} (DescribeVSwitches: {} listed, {} used here)",
            src.vswitches.path.display(),
            self.described.len(),
            included.len()
        )?;
        match &src.nodes {
            Some(nodes) => writeln!(
                out,
                "#   nodes:          {} ({} nodes in {} pools{})",
                nodes.path.display(),
                cluster.node_count,
                cluster.pools.len(),
                if cluster.skipped_nodes.is_empty() {
                    String::new()
                } else {
                    format!(", {} left out", cluster.skipped_nodes.len())
                }
            )?,
            None => writeln!(
                out,
                "#   nodes:          none given (--nodes): a placeholder pool of one node per zone"
            )?,
        }
        match &src.pods {
            Some(input) => writeln!(
                out,
                "#   pods:           {} ({} pods take a Terway address; left out: {} host-network, {} finished, {} terminating, {} on left-out nodes)",
                input.path.display(),
                workloads.taking,
                workloads.host_network,
                workloads.finished,
                workloads.terminating,
                workloads.on_skipped_nodes
            )?,
            None => writeln!(
                out,
                "#   pods:           none given (--pods): no workloads from today's pods"
            )?,
        }
        match &src.instance_types {
            Some(types) => writeln!(
                out,
                "#   instance types: {} (DescribeInstanceTypes) and the built-in catalog",
                types.path.display()
            )?,
            None => writeln!(
                out,
                "#   instance types: the built-in catalog (`planner catalog`)"
            )?,
        }
        let growth_line = match opts.growth {
            Growth::None => "none given: every workload keeps today's pods (give --growth-per-day or --growth-percent-per-day)".to_string(),
            Growth::PerDay(n) => format!(
                "{} pods/day cluster-wide (--growth-per-day), linear, shared among the workloads in proportion to their pods today (DaemonSets excluded)",
                number(n)
            ),
            Growth::PercentPerDay(p) => format!(
                "{}% per day per workload (--growth-percent-per-day), compounded daily; points every {} with straight lines between (slightly above the curve)",
                number(p),
                format_duration(compound_step(opts.horizon_ms))
            ),
        };
        writeln!(out, "#   growth:         {growth_line}")?;
        writeln!(out, "#")?;
        writeln!(
            out,
            "# Check it with `planner check`, then `planner run` it."
        )?;
        writeln!(out)?;

        writeln!(out, "[scenario]")?;
        kv(out, "name", &q(&name), "the output file's name")?;
        kv(out, "horizon", &q(&horizon), "--horizon (default 90d)")?;
        kv(
            out,
            "runs",
            "10",
            "defaulted: 10 seeded runs (`planner run --runs N` overrides)",
        )?;
        kv(out, "seed", "1", "defaulted")?;
        writeln!(out)?;

        // vSwitches.
        let nodes_per_zone: BTreeMap<&str, u64> =
            cluster.pools.iter().fold(BTreeMap::new(), |mut m, p| {
                for (z, n) in &p.zones {
                    *m.entry(z.as_str()).or_default() += n;
                }
                m
            });
        let max_pool = self.conf.max_pool_size.unwrap_or(0).max(0);
        for &index in &included {
            let v = &self.described[index];
            let usable = u64::from(usable_addresses(v.cidr.prefix_len()));
            let used = usable.saturating_sub(v.available);
            let eth0 = if src.nodes.is_some() {
                cluster.eth0_held[index]
            } else {
                0
            };
            let pod_ips = workloads.pod_held[index];
            let held = eth0 + pod_ips;
            let others = used.saturating_sub(held);
            if held > used {
                self.findings.push(
                    Finding::new(
                        "import-usage-mismatch",
                        format!("VSwitches.VSwitch `{}`", v.id),
                        format!(
                            "the cluster's nodes and pods hold {held} addresses in `{}` but DescribeVSwitches reports only {used} in use ({usable} usable, {} available); used_by_others is 0",
                            v.id, v.available
                        ),
                        "take the listings at the same time and import again",
                    )
                    .in_file(src.vswitches.path),
                );
            }
            writeln!(out, "[[vswitch]]")?;
            let vpc = v
                .vpc
                .as_ref()
                .map(|vpc| format!(" (VPC {vpc})"))
                .unwrap_or_default();
            kv(out, "id", &q(&v.id), &format!("VSwitchId{vpc}"))?;
            kv(out, "zone", &q(&v.zone), "ZoneId")?;
            kv(out, "cidr", &q(&v.cidr.to_string()), "CidrBlock")?;
            let mut how = format!(
                "{usable} usable - {} AvailableIpAddressCount = {used} in use",
                v.available
            );
            if v.available > usable {
                how = format!(
                    "AvailableIpAddressCount {} is above the {usable} usable, so 0 in use",
                    v.available
                );
            }
            let mut parts = Vec::new();
            if src.nodes.is_some() {
                parts.push(format!("{eth0} node eth0"));
            }
            if src.pods.is_some() {
                parts.push(format!("{pod_ips} pod addresses"));
            }
            if parts.is_empty() {
                writeln!(
                    out,
                    "# {how}; no --nodes or --pods given, so all of it counts as used by others"
                )?;
            } else {
                writeln!(
                    out,
                    "# {how}; less this cluster's own {} = {others}",
                    parts.join(" and ")
                )?;
            }
            let zone_nodes = nodes_per_zone.get(v.zone.as_str()).copied().unwrap_or(0);
            // Terway pools draw from the listed vSwitches, or from eth0's when a zone lists none.
            let pools_draw_here = listed.values().flatten().any(|id| *id == v.id)
                || listed.get(&v.zone).is_none_or(|ids| ids.is_empty());
            if zone_nodes > 0 && max_pool > 0 && src.nodes.is_some() && pools_draw_here {
                writeln!(
                    out,
                    "# (idle addresses in the Terway pools, up to {zone_nodes} nodes x max_pool_size {max_pool} in this zone, are invisible to kubectl and stay counted here)"
                )?;
            }
            kv(
                out,
                "used_by_others",
                &others.to_string(),
                "addresses used outside the simulated cluster",
            )?;
            writeln!(out)?;
        }

        self.emit_terway(out, &listed, &missing)?;

        for (t, why) in &cluster.instance_tables {
            writeln!(out, "[instance_type.{}]", q(&t.name))?;
            writeln!(out, "# {why}")?;
            kv(out, "vcpu", &t.vcpu.to_string(), "CpuCoreCount")?;
            kv(
                out,
                "memory_gib",
                &number(t.memory_mib as f64 / 1024.0),
                "MemorySize",
            )?;
            kv(
                out,
                "eni_quantity",
                &t.eni_quantity.to_string(),
                "EniQuantity (eth0 included)",
            )?;
            kv(
                out,
                "ipv4_per_eni",
                &t.ipv4_per_eni.to_string(),
                &format!(
                    "EniPrivateIpAddressQuantity; pods per node (ENIs - 1) x {} = {}",
                    t.ipv4_per_eni,
                    t.pod_capacity()
                ),
            )?;
            writeln!(out)?;
        }

        // Node pools; the autoscaler's ceiling follows the growth.
        let scale = node_scale(cluster, &workloads.list, curves, extra.as_ref());
        for pool in &cluster.pools {
            writeln!(out, "[[nodepool]]")?;
            kv(out, "name", &q(&pool.name), &pool.name_source)?;
            kv(
                out,
                "instance_type",
                &q(&pool.instance_type),
                &pool.type_source,
            )?;
            let zone_list: Vec<String> = pool.zones.iter().map(|(z, _)| q(z)).collect();
            let counts: Vec<String> = pool
                .zones
                .iter()
                .map(|(z, n)| format!("{n} in {z}"))
                .collect();
            let zones_comment = if pool.placeholder {
                "defaulted: the zones of eni_conf's vSwitches".to_string()
            } else {
                format!("nodes' zone labels: {}", counts.join(", "))
            };
            kv(
                out,
                "zones",
                &format!("[{}]", zone_list.join(", ")),
                &zones_comment,
            )?;
            if !pool.node_vswitch.is_empty() {
                let entries: Vec<String> = pool
                    .node_vswitch
                    .iter()
                    .map(|(z, &v)| format!("{} = {}", q(z), q(&self.described[v].id)))
                    .collect();
                kv(
                    out,
                    "node_vswitch",
                    &format!("{{ {} }}", entries.join(", ")),
                    "the vSwitch holding most of the nodes' InternalIP",
                )?;
            }
            let nodes_comment = if pool.placeholder {
                "defaulted: one per zone"
            } else {
                "today's nodes"
            };
            kv(out, "nodes", &pool.nodes.to_string(), nodes_comment)?;
            kv(
                out,
                "min_nodes",
                &pool.nodes.to_string(),
                "defaulted: today's nodes (kubectl does not show the autoscaler's limits)",
            )?;
            let grows = !matches!(opts.growth, Growth::None);
            let max_nodes = if grows {
                ((pool.nodes as f64) * scale / TARGET_FILL)
                    .ceil()
                    .min(MAX_NODES as f64) as u64
            } else {
                pool.nodes
            };
            let max_nodes = max_nodes.max(pool.nodes);
            let max_comment = if grows {
                format!(
                    "defaulted: kubectl does not show the autoscaler's limits; enough nodes for the pods' requests at the horizon ({:.1}x today's load) at {:.0}% full; set your pool's real maximum",
                    scale,
                    TARGET_FILL * 100.0
                )
            } else {
                "defaulted: today's nodes, as the pods do not grow; set your pool's real maximum"
                    .to_string()
            };
            kv(out, "max_nodes", &max_nodes.to_string(), &max_comment)?;
            kv(
                out,
                "boot_time",
                &q("2m"),
                "defaulted: ACK node pools take about 2 minutes to a Ready node",
            )?;
            if let Some(max_pods) = pool.max_pods {
                kv(
                    out,
                    "max_pods",
                    &max_pods.to_string(),
                    &format!(
                        "nodes' status.capacity.pods (the type's Terway capacity is {})",
                        pool.capacity
                    ),
                )?;
            }
            writeln!(out)?;
        }

        // Workloads.
        for (w, curve) in workloads.list.iter().zip(curves.iter()) {
            writeln!(out, "[[workload]]")?;
            kv(out, "name", &q(&w.name), &w.source)?;
            kv(out, "kind", &q(kind_name(w.kind)), "from the pods' owner")?;
            if let Some(pool) = &w.nodepool {
                kv(
                    out,
                    "nodepool",
                    &q(pool),
                    "the pods' nodeSelector alibabacloud.com/nodepool-id",
                )?;
            }
            kv(
                out,
                "cpu",
                &q(&format!("{}m", w.cpu_millis.min(1_024_000))),
                "largest pod request: containers summed (or the largest init container)",
            )?;
            let mib = w.memory_bytes.div_ceil(1 << 20).min(65536 * 1024);
            kv(
                out,
                "memory",
                &q(&format!("{mib}Mi")),
                "the same for memory",
            )?;
            let today = format!("{} pod{} today", w.pods, if w.pods == 1 { "" } else { "s" });
            let growth = match (opts.growth, curve.len()) {
                (_, 1) if w.kind == Kind::DaemonSet => {
                    format!("{today}; a DaemonSet does not follow the growth")
                }
                (Growth::None, _) => format!("{today}; no growth given"),
                (_, 1) => format!("{today}; no share of the growth"),
                (Growth::PerDay(_), _) => {
                    format!("{today}, plus its share of the growth by {horizon}")
                }
                (Growth::PercentPerDay(p), _) => format!("{today}, x (1 + {}%)^days", number(p)),
            };
            if w.kind == Kind::Job {
                kv(
                    out,
                    "arrivals_per_hour",
                    &points(curve),
                    &format!(
                        "{today}: with a mean run of 1h, as many arrivals per hour keep that many running; {}",
                        growth
                            .trim_start_matches(&format!("{today}; "))
                            .trim_start_matches(&format!("{today}, "))
                    ),
                )?;
                kv(
                    out,
                    "duration",
                    &q(&format_duration(JOB_DURATION_MS)),
                    "defaulted: a snapshot shows no run times",
                )?;
            } else {
                kv(out, "replicas", &points(curve), &growth)?;
            }
            writeln!(out)?;
        }
        if let Some(curve) = &extra {
            writeln!(out, "[[workload]]")?;
            kv(
                out,
                "name",
                &q("growth"),
                "no pods today to share the growth: new pods with no requests",
            )?;
            kv(out, "kind", &q("deployment"), "defaulted")?;
            kv(out, "replicas", &points(curve), "the growth given")?;
            writeln!(out)?;
        }
        if workloads.list.is_empty() && extra.is_none() {
            writeln!(
                out,
                "# No workloads: give --pods (kubectl get pods -A -o json) or a growth, or add [[workload]] entries."
            )?;
        }
        Ok(())
    }

    fn emit_terway(
        &self,
        out: &mut String,
        listed: &BTreeMap<String, Vec<String>>,
        missing: &[(String, String)],
    ) -> std::fmt::Result {
        let conf = self.conf;
        let file = self.sources.eni_config.path.display().to_string();
        writeln!(out, "[terway]")?;
        writeln!(
            out,
            "# From data.eni_conf in {file}; a key eni_conf lacks has Terway's code default."
        )?;
        let given = "eni_conf";
        let (policy, comment) = match &conf.vswitch_selection_policy {
            Some(p) => (p.clone(), given.to_string()),
            None => (
                "random".to_string(),
                "defaulted: not in eni_conf; Terway's default is random".to_string(),
            ),
        };
        kv(out, "vswitch_selection_policy", &q(&policy), &comment)?;
        let (policy, comment) = match &conf.eni_selection_policy {
            Some(p) => (p.clone(), given.to_string()),
            None => (
                "most_ips".to_string(),
                "defaulted: Terway's default".to_string(),
            ),
        };
        kv(out, "eni_selection_policy", &q(&policy), &comment)?;
        let count = |out: &mut String, key: &str, value: Option<i64>, default_note: &str| {
            let (v, note) = match value {
                Some(v) if v < 0 => (0, format!("eni_conf has {v}; read as 0")),
                Some(v) => (v, given.to_string()),
                None => (0, default_note.to_string()),
            };
            kv(out, key, &v.to_string(), &note)
        };
        count(
            out,
            "max_pool_size",
            conf.max_pool_size,
            "defaulted: not in eni_conf, so Terway keeps no idle addresses (its code default is 0; ACK ships 5)",
        )?;
        count(
            out,
            "min_pool_size",
            conf.min_pool_size,
            "defaulted: Terway's default",
        )?;
        count(
            out,
            "min_eni",
            conf.min_eni,
            "defaulted: Terway's default (off)",
        )?;
        count(
            out,
            "max_eni",
            conf.max_eni,
            "defaulted: Terway's default (no cap)",
        )?;
        let (period, note) = match &conf.ip_pool_sync_period {
            Some((_, Some(ms))) if *ms >= SECOND_MS => (*ms, given.to_string()),
            Some((text, Some(_))) => (
                SECOND_MS,
                format!("eni_conf has \"{text}\"; the scenario's shortest is 1s"),
            ),
            Some((text, None)) => (
                TERWAY_SYNC_PERIOD_MS,
                format!("eni_conf has \"{text}\", which Terway cannot read, so it uses 120s"),
            ),
            None => (
                TERWAY_SYNC_PERIOD_MS,
                "defaulted: Terway's default".to_string(),
            ),
        };
        kv(
            out,
            "ip_pool_sync_period",
            &q(&format_duration(period)),
            &note,
        )?;
        match conf.idle_ip_reclaim_after.filter(|&ms| ms > 0) {
            Some(after) => {
                kv(
                    out,
                    "idle_ip_reclaim_after",
                    &q(&format_duration(after.max(SECOND_MS))),
                    given,
                )?;
                if let Some(interval) = conf.idle_ip_reclaim_interval {
                    kv(
                        out,
                        "idle_ip_reclaim_interval",
                        &q(&format_duration(interval.max(SECOND_MS))),
                        given,
                    )?;
                }
                if let Some(batch) = conf.idle_ip_reclaim_batch_size.filter(|&b| b > 0) {
                    kv(out, "idle_ip_reclaim_batch_size", &batch.to_string(), given)?;
                }
                if let Some(jitter) = conf
                    .idle_ip_reclaim_jitter_factor
                    .filter(|j| (0.0..=10.0).contains(j))
                {
                    kv(out, "idle_ip_reclaim_jitter_factor", &number(jitter), given)?;
                }
            }
            None => writeln!(
                out,
                "# idle_ip_reclaim_after: not in eni_conf, so idle reclaim is off (Terway's default)"
            )?,
        }
        writeln!(out)?;
        writeln!(out, "[terway.vswitches]")?;
        if conf.vswitches.is_none() {
            writeln!(
                out,
                "# eni_conf lists no vswitches: Terway gives pods addresses from each node's primary vSwitch"
            )?;
        }
        for (zone, ids) in listed {
            let list: Vec<String> = ids.iter().map(|id| q(id)).collect();
            let dropped: Vec<&str> = missing
                .iter()
                .filter(|(z, _)| z == zone)
                .map(|(_, id)| id.as_str())
                .collect();
            let note = if dropped.is_empty() {
                "eni_conf vswitches".to_string()
            } else {
                format!(
                    "eni_conf vswitches, less {} (not described in the vSwitch listing)",
                    dropped.join(", ")
                )
            };
            kv(out, &q(zone), &format!("[{}]", list.join(", ")), &note)?;
        }
        writeln!(out)
    }
}

/// How many times today's node capacity the workloads need at the horizon: the largest of the
/// CPU, memory and pod-count ratios (each workload's requests x its pods at the horizon, over
/// today's nodes' capacity).
fn node_scale(
    cluster: &Cluster,
    workloads: &[Workload],
    curves: &[Vec<(Millis, f64)>],
    extra: Option<&Vec<(Millis, f64)>>,
) -> f64 {
    let last = |curve: &[(Millis, f64)]| curve.last().map_or(0.0, |p| p.1);
    let mut cpu = 0.0;
    let mut memory = 0.0;
    let mut pods = extra.map_or(0.0, |c| last(c));
    for (w, curve) in workloads.iter().zip(curves) {
        let n = last(curve);
        cpu += n * w.cpu_millis as f64;
        memory += n * (w.memory_bytes as f64 / (1 << 20) as f64);
        pods += n;
    }
    let (mut cpu_cap, mut memory_cap, mut pods_cap) = (0.0, 0.0, 0.0);
    for pool in &cluster.pools {
        let nodes = pool.nodes as f64;
        cpu_cap += nodes * f64::from(pool.vcpu) * 1000.0;
        memory_cap += nodes * pool.memory_mib as f64;
        pods_cap += nodes * f64::from(pool.max_pods.unwrap_or(pool.capacity));
    }
    let ratio = |need: f64, have: f64| if have > 0.0 { need / have } else { 0.0 };
    ratio(cpu, cpu_cap)
        .max(ratio(memory, memory_cap))
        .max(ratio(pods, pods_cap))
}

fn instance_type_from(
    row: &aliyun::InstanceTypeRow,
    path: &Path,
) -> Result<InstanceType, ImportError> {
    let bad = |what: String| {
        ImportError::new(
            path,
            format!(
                "instance type `{}` has {what}; expected the limits DescribeInstanceTypes prints",
                row.id
            ),
        )
    };
    if !(2..=64).contains(&row.eni_quantity) {
        return Err(bad(format!(
            "EniQuantity {}; Terway needs at least 2 ENIs (eth0 carries no pods) and no type has more than 64",
            row.eni_quantity
        )));
    }
    if !(1..=100).contains(&row.ipv4_per_eni) {
        return Err(bad(format!(
            "EniPrivateIpAddressQuantity {}",
            row.ipv4_per_eni
        )));
    }
    if !(1..=1024).contains(&row.vcpu) {
        return Err(bad(format!("CpuCoreCount {}", row.vcpu)));
    }
    if !(row.memory_gib > 0.0 && row.memory_gib <= 65536.0) {
        return Err(bad(format!("MemorySize {}", row.memory_gib)));
    }
    Ok(InstanceType {
        name: row.id.clone(),
        vcpu: row.vcpu as u32,
        memory_mib: (row.memory_gib * 1024.0).round() as u64,
        eni_quantity: row.eni_quantity as u32,
        ipv4_per_eni: row.ipv4_per_eni as u32,
    })
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Deployment | Kind::DaemonSet => "deployment",
        Kind::StatefulSet => "statefulset",
        Kind::Job => "job",
    }
}

/// Splits `total` in proportion to `weights` into whole numbers that add up to it.
fn largest_remainder(total: f64, weights: &[f64]) -> Vec<f64> {
    let sum: f64 = weights.iter().sum();
    if sum <= 0.0 || total <= 0.0 {
        return vec![0.0; weights.len()];
    }
    let exact: Vec<f64> = weights.iter().map(|w| total * w / sum).collect();
    let mut shares: Vec<f64> = exact.iter().map(|e| e.floor()).collect();
    let mut left = (total - shares.iter().sum::<f64>()).round() as usize;
    let mut order: Vec<usize> = (0..weights.len()).collect();
    // Largest remainder first; ties to the earlier workload, so the split is stable.
    order.sort_by(|&a, &b| {
        (exact[b] - shares[b])
            .partial_cmp(&(exact[a] - shares[a]))
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(a.cmp(&b))
    });
    for &i in order.iter().filter(|&&i| weights[i] > 0.0) {
        if left == 0 {
            break;
        }
        shares[i] += 1.0;
        left -= 1;
    }
    shares
}

/// Points of a compounding curve: whole days, at most about 30 of them, and the horizon.
fn compound_step(horizon: Millis) -> Millis {
    let days = horizon.div_ceil(DAY_MS).max(1);
    days.div_ceil(30).max(1) * DAY_MS
}

fn compound_times(horizon: Millis) -> Vec<Millis> {
    let step = compound_step(horizon);
    let mut times: Vec<Millis> = (0..)
        .map(|i| i * step)
        .take_while(|&t| t < horizon)
        .collect();
    times.push(horizon);
    times
}

fn points(curve: &[(Millis, f64)]) -> String {
    if curve.len() == 1 {
        return number(curve[0].1);
    }
    let parts: Vec<String> = curve
        .iter()
        .map(|&(t, v)| {
            let at = if t == 0 {
                "0d".to_string()
            } else {
                format_duration(t)
            };
            format!("[{}, {}]", q(&at), number(v))
        })
        .collect();
    format!("[{}]", parts.join(", "))
}

/// A number as TOML: integers without a fraction.
fn number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else {
        format!("{value}")
    }
}

fn or<'s>(value: &'s str, fallback: &'s str) -> &'s str {
    if value.is_empty() { fallback } else { value }
}

/// A TOML basic string.
fn q(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `key = value  # comment`, the comments aligned.
fn kv(out: &mut String, key: &str, value: &str, comment: &str) -> std::fmt::Result {
    let assignment = format!("{key} = {value}");
    let comment: String = comment
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if comment.is_empty() {
        writeln!(out, "{assignment}")
    } else {
        writeln!(out, "{assignment:<30} # {comment}")
    }
}

#[cfg(test)]
mod tests;
