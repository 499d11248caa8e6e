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
//!
//! The steps, a file each: `configmap` (with `yaml`), `aliyun`, `kube`, `snat` and `mapping`
//! read the inputs; `nodepools` turns nodes into node pools and `workloads` pods into workloads;
//! `growth` gives them replica points; `vswitches` picks the vSwitches and works out what
//! others use of them; `emit`, `terway_table` and `snat` write the commented TOML. This file holds what the steps
//! pass between them.

mod aliyun;
mod configmap;
mod emit;
mod growth;
mod history;
mod kube;
mod mapping;
mod nodepools;
mod podnetworking;
mod reservations;
mod snat;
mod terway_table;
mod vswitches;
mod workloads;
mod yaml;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::catalog::InstanceType;
use crate::lint::{self, Finding, LintOptions};
use crate::scenario::{self, MAX_VSWITCH_PREFIX, MIN_VSWITCH_PREFIX, Millis, Scenario};

use aliyun::VSwitch;
use configmap::EniConf;
// The unit tests reach these through `use super::*`.
#[cfg(test)]
use crate::scenario::DAY_MS;
#[cfg(test)]
use growth::largest_remainder;

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
    /// `aliyun vpc DescribeSnatTableEntries`.
    pub snat_entries: Option<Input<'a>>,
    /// `--history`: Prometheus range queries or `time,series,value` CSVs of pods per workload
    /// or zone.
    pub history: &'a [Input<'a>],
    /// `terway-cli mapping` of the nodes, one file per node or several nodes per file.
    pub terway_mapping: &'a [Input<'a>],
    /// Further `--eni-config` files: node pools' dynamic-config ConfigMaps (`terway-config`).
    pub more_eni_configs: &'a [Input<'a>],
    /// `aliyun vpc ListVSwitchCidrReservations` of the vSwitches (prefix mode's blocks).
    pub cidr_reservations: &'a [Input<'a>],
    /// `kubectl get podnetworkings -o yaml`: Terway's PodNetworking objects.
    pub podnetworkings: &'a [Input<'a>],
    /// `kubectl get ns -o json`: the labels PodNetworking namespace selectors match.
    pub namespaces: Option<Input<'a>>,
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
    /// `--configmap`: the ConfigMap to take from the eni-config file (default `eni-config`).
    pub configmap: Option<String>,
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
    /// What was taken from a bigger file, or how a file was read, as (file, note): not a
    /// problem, but worth saying.
    pub notes: Vec<(PathBuf, String)>,
    /// With `--history`: the `time,series,value` CSV of the points fitted, to be written as
    /// [`history_file_name`] beside the scenario, which names it in `[scenario] history`.
    pub history: Option<String>,
}

/// The file the history of a scenario written to `output` is kept in, beside it.
pub fn history_file_name(output: &Path) -> String {
    history::HistoryFits::sidecar_name(output)
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

/// What a text that is not data looks like, and what to pass instead: a Helm or Go template,
/// a terminal session pasted with its prompt, a paste with `...` where parts were left out.
/// Only asked once the text failed to read, so data that merely contains such characters is
/// never refused for them.
fn describe(text: &str) -> Option<String> {
    let lines = || text.lines().enumerate().map(|(i, l)| (i + 1, l));
    let mut found = Vec::new();
    if let Some((n, first)) = lines().find(|(_, l)| !l.trim().is_empty()) {
        let first = first.trim();
        let command = ["$", "❯", "%", ">", "#", "➜"]
            .iter()
            .find_map(|prompt| first.strip_prefix(prompt))
            .map(str::trim_start)
            .unwrap_or(first);
        let tools = ["kubectl ", "aliyun ", "helm ", "cat ", "curl ", "k "];
        if tools.iter().any(|tool| command.starts_with(tool)) {
            found.push(format!(
                "is a terminal session, not a command's output (line {n} is the command `{first}`): save only what the command prints (`{command} > FILE`)"
            ));
        }
    }
    if let Some((n, _)) = lines().find(|(_, l)| l.contains("{{")) {
        found.push(format!(
            "is a Helm template (line {n} has `{{{{ }}}}`), not data: render it with `helm template` first (or fill in its placeholders) and pass the ConfigMap it prints"
        ));
    } else if let Some((n, _)) =
        lines().find(|(_, l)| l.contains("\"%s\"") || l.contains(": %s") || l.contains(": %d"))
    {
        found.push(format!(
            "is a Go format template (line {n} has `%s` placeholders), not data: pass the ConfigMap as the installer wrote it into the cluster (`kubectl -n kube-system get cm eni-config -o yaml`)"
        ));
    }
    if let Some((n, _)) = lines().find(|(_, l)| {
        let t = l.trim().trim_end_matches(',');
        t == "..." || t == "…" || l.contains("[...]") || l.contains("{...}")
    }) {
        found.push(format!(
            "has `...` where a paste left values out (line {n}): pass the complete output"
        ));
    }
    (!found.is_empty()).then(|| found.join("; it also "))
}

/// Imports a scenario from the files.
pub fn import(sources: &Sources, options: &ImportOptions) -> Result<Imported, ImportError> {
    let mut findings = Vec::new();
    let mut notes = Vec::new();
    let map = configmap::read(
        &sources.eni_config,
        options.configmap.as_deref(),
        &mut findings,
        &mut notes,
    )?;
    let mut notes: Vec<(PathBuf, String)> = notes
        .into_iter()
        .map(|note| (sources.eni_config.path.to_path_buf(), note))
        .collect();
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
    let snat = match &sources.snat_entries {
        Some(input) => Some(snat::entries(input, &mut findings)?),
        None => None,
    };
    let nodes = match &sources.nodes {
        Some(input) => Some((input.path, kube::nodes(input, &mut findings)?)),
        None => None,
    };
    let pods = match &sources.pods {
        Some(input) => Some((input.path, kube::pods(input, &mut findings)?)),
        None => None,
    };
    let mut series = Vec::new();
    for (i, input) in sources.history.iter().enumerate() {
        series.extend(history::read(input, i)?);
    }
    let fits;
    let grown;
    let mapping = if sources.terway_mapping.is_empty() {
        None
    } else {
        Some(mapping::Mapping::read(sources.terway_mapping, &described)?)
    };

    let mut dynamic_configs = BTreeMap::new();
    for input in std::iter::once(&sources.eni_config).chain(sources.more_eni_configs) {
        for other in configmap::configmaps_with_eni_conf(input)? {
            if other.name == map.name || dynamic_configs.contains_key(&other.name) {
                continue;
            }
            let parsed = configmap::parse_eni_conf(input, &other, &mut findings)?;
            dynamic_configs.insert(other.name.clone(), (input.path.to_path_buf(), parsed));
        }
    }
    let reserved = reservations::read(sources.cidr_reservations, &mut findings)?;
    let podnetworkings = podnetworking::read(sources.podnetworkings, &mut findings)?;
    let namespaces = match &sources.namespaces {
        Some(input) => Some(podnetworking::namespaces(input, &mut findings)?),
        None => None,
    };
    let mut builder = Builder {
        reserved: &reserved,
        dynamic_configs: &dynamic_configs,
        sources,
        options,
        conf: &conf,
        map: &map,
        described: &described,
        snat: snat.as_ref(),
        mapping: mapping.as_ref(),
        findings: &mut findings,
        history: None,
        podnetworkings: &podnetworkings,
        namespaces: namespaces.as_ref(),
        pod_enis: podnetworking::PodEniPlan::default(),
    };
    let cluster = builder.cluster(nodes.as_ref(), types.as_ref())?;
    builder.mapping_findings(&cluster);
    let workloads = builder.workloads(pods.as_ref(), &cluster)?;
    builder.plan_pod_enis(&cluster, &workloads);
    let mut curves = builder.curves(&workloads.list)?;
    if !sources.history.is_empty() {
        let zones: BTreeSet<String> = described
            .iter()
            .map(|v| v.zone.clone())
            .chain(
                cluster
                    .pools
                    .iter()
                    .flat_map(|p| p.zones.iter().map(|z| z.0.clone())),
            )
            .collect();
        let zones: Vec<String> = zones.into_iter().collect();
        let fitted = history::fit_all(sources.history, series, &workloads.list, &zones)?;
        let mut per_workload = Vec::new();
        for (i, w) in workloads.list.iter().enumerate() {
            let growth = fitted.workload(i, w, options.horizon_ms)?;
            if let Some(g) = &growth {
                curves.0[i] = g.curve.clone();
            }
            per_workload.push(growth);
        }
        notes.extend(fitted.notes(&workloads.list));
        fits = fitted;
        grown = per_workload;
        builder.history = Some((&fits, &grown));
    }
    let toml = builder.emit(&cluster, &workloads, &curves);
    let builder_history = builder.history.map(|(fits, _)| fits.sidecar());

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
        notes,
        history: builder_history,
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
    /// The ConfigMap its nodes name with the `terway-config` label (their dynamic config).
    terway_config: Option<String>,
    /// Its nodes carry the exclusive-ENI label (`k8s.aliyun.com/exclusive-mode-eni-type`).
    exclusive_eni: bool,
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
    /// `EniTotalQuantity` of the nodes' instance types, where known: (ENIs, where from).
    eni_totals: BTreeMap<String, (u32, String)>,
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
    /// The PodNetworking (index) each of its pods matched, or none, with how many pods, and
    /// how the matches were made (annotation, selector).
    podnetworking_votes: BTreeMap<Option<usize>, u64>,
    podnetworking_how: BTreeSet<&'static str>,
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

/// The inputs read so far and the findings about them, shared by the steps that build and
/// write the scenario.
struct Builder<'a, 'f> {
    sources: &'a Sources<'a>,
    options: &'a ImportOptions,
    conf: &'a EniConf,
    map: &'a configmap::ConfigMap,
    described: &'a [VSwitch],
    /// The SNAT table, when `--snat-entries` gave it.
    snat: Option<&'a snat::SnatListing>,
    /// Today's idle addresses, when `--terway-mapping` gave them.
    mapping: Option<&'a mapping::Mapping>,
    /// The node pools' dynamic configs: every other ConfigMap with an `eni_conf` in the
    /// `--eni-config` files, by name, with the file it came from.
    dynamic_configs: &'a BTreeMap<String, (PathBuf, EniConf)>,
    /// Reserved CIDR blocks per vSwitch id (`--cidr-reservations`).
    reserved: &'a BTreeMap<String, Vec<ipnet::Ipv4Net>>,
    findings: &'f mut Vec<Finding>,
    /// With `--history`: the fits, and what they make of each workload.
    history: Option<(
        &'a history::HistoryFits,
        &'a [Option<history::WorkloadGrowth>],
    )>,
    /// `--podnetworkings`, in the order given.
    podnetworkings: &'a [podnetworking::PodNetworking],
    /// `--namespaces`: labels by namespace.
    namespaces: Option<&'a BTreeMap<String, BTreeMap<String, String>>>,
    /// Trunking, PodNetworkings, exclusive-ENI pools and the limits they need, as written.
    pod_enis: podnetworking::PodEniPlan,
}

#[cfg(test)]
mod tests;
