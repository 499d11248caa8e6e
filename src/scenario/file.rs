//! Serde mirror of the scenario TOML, and the map from key paths to lines.
//!
//! Every table is `deny_unknown_fields`, so a misspelt key is an error rather than a silently
//! ignored default. Values whose text has a form of its own (durations, CPU, memory, curves,
//! surge amounts) are parsed here by small visitors, so a bad value is reported at its own
//! span. Integers stay `i64` and floats `f64`: ranges are checked in `validate`, which can say
//! "must be between 1 and 10000, got 0" instead of serde's "expected u32".
//!
//! [`Locator`] re-reads the text as a spanned tree so that `validate` can give the line of any
//! key path it complains about.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::Path;

use serde::Deserialize;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use toml::de::{DeTable, DeValue};

use super::units;
use super::{Millis, ScenarioError};

/// The scenario as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    /// `[scenario]`.
    pub scenario: ScenarioSection,
    /// `[vpc]`.
    pub vpc: Option<VpcSection>,
    /// `[[vswitch]]`.
    #[serde(default)]
    pub vswitch: Vec<VSwitchEntry>,
    /// `[terway]`.
    pub terway: Option<TerwayEntry>,
    /// `[cloud]`.
    pub cloud: Option<CloudSection>,
    /// `[[nodepool]]`.
    #[serde(default)]
    pub nodepool: Vec<NodePoolEntry>,
    /// `[instance_type."NAME"]`.
    #[serde(default)]
    pub instance_type: BTreeMap<String, InstanceTypeEntry>,
    /// `[[workload]]`.
    #[serde(default)]
    pub workload: Vec<WorkloadEntry>,
    /// `[[action]]`.
    #[serde(default)]
    pub action: Vec<ActionEntry>,
    /// `[planning]`.
    pub planning: Option<PlanningSection>,
    /// `[gates]`.
    pub gates: Option<GatesSection>,
    /// `[source]`.
    pub source: Option<SourceSection>,
    /// `[[podnetworking]]`.
    #[serde(default)]
    pub podnetworking: Vec<PodNetworkingEntry>,
}

/// `[[podnetworking]]`: a `PodNetworking` resource, whose pods get ENIs of their own.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PodNetworkingEntry {
    /// Name.
    pub name: String,
    /// Zone name to vSwitch ids, in order (`vSwitchOptions`).
    pub vswitches: BTreeMap<String, Vec<String>>,
    /// `ordered` (first-fit in list order), `random` or `most`.
    pub selection_policy: Option<String>,
    /// `elastic` or `fixed`.
    pub allocation: Option<String>,
    /// With `fixed`: how long after its pod was last seen a fixed address is freed.
    pub release_after: Option<Duration>,
}

/// `[planning]`: how recommendations are made.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanningSection {
    /// Run percentile to plan for.
    pub percentile: Option<f64>,
    /// Spare fraction on top of the predicted peak.
    pub headroom: Option<f64>,
    /// How long an expansion takes to roll out.
    pub lead_time: Option<Duration>,
}

/// `[gates]`: capacity checks for CI.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatesSection {
    /// Run percentile to judge at.
    pub percentile: Option<f64>,
    /// Every zone's first shortage must come later than this, or never.
    pub min_time_to_shortage: Option<Duration>,
    /// No vSwitch's peak used / usable above this.
    pub max_vswitch_utilization: Option<f64>,
    /// Never more pods than this waiting for an address.
    pub max_pods_pending_ip: Option<i64>,
    /// Judge on the pessimistic end of the interval of this confidence.
    pub confidence: Option<f64>,
}

/// `[scenario]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioSection {
    /// Defaults to the file's stem.
    pub name: Option<String>,
    /// Length of a run.
    pub horizon: Duration,
    /// Base seed.
    pub seed: Option<i64>,
    /// Seeded runs: a number, or `"auto"` to run until `precision` is reached.
    pub runs: Option<Runs>,
    /// With `runs = "auto"`: how narrow the interval of the first shortage must get.
    pub precision: Option<Duration>,
    /// With `runs = "auto"`: the most runs to make.
    pub max_runs: Option<i64>,
    /// Time-series resolution.
    pub sample_interval: Option<Duration>,
    /// The `time,series,value` CSV of the history the growth was fitted to (`planner import
    /// --history`), relative to the scenario's folder.
    pub history: Option<String>,
}

/// `runs`: a count, or `"auto"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runs {
    /// This many runs.
    Count(i64),
    /// Run until sure.
    Auto,
}

impl<'de> Deserialize<'de> for Runs {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RunsVisitor;
        impl Visitor<'_> for RunsVisitor {
            type Value = Runs;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number of runs or \"auto\"")
            }
            fn visit_i64<E: de::Error>(self, runs: i64) -> Result<Runs, E> {
                Ok(Runs::Count(runs))
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<Runs, E> {
                if text == "auto" {
                    Ok(Runs::Auto)
                } else {
                    Err(E::custom(format!(
                        "expected a number of runs or \"auto\", found \"{text}\""
                    )))
                }
            }
        }
        deserializer.deserialize_any(RunsVisitor)
    }
}

/// `[vpc]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VpcSection {
    /// Primary block.
    pub cidr: Option<String>,
    /// Secondary blocks.
    #[serde(default)]
    pub secondary_cidrs: Vec<String>,
    /// The SNAT table new entries go to (`stb-...`).
    pub snat_table_id: Option<String>,
    /// The SNAT table's entries; given (even empty) means the table is known.
    pub snat_entries: Option<Vec<SnatEntryRow>>,
}

/// One of `[vpc] snat_entries`, as DescribeSnatTableEntries lists it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnatEntryRow {
    /// `SnatEntryId`.
    pub id: Option<String>,
    /// `SourceVSwitchId`.
    pub source_vswitch_id: Option<String>,
    /// `SourceCIDR`.
    pub source_cidr: Option<String>,
    /// `SnatIp`.
    pub snat_ip: Option<String>,
}

/// `[[vswitch]]` and `add_vswitch`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VSwitchEntry {
    /// `vsw-...`.
    pub id: String,
    /// Zone name.
    pub zone: String,
    /// Block.
    pub cidr: String,
    /// Addresses held outside the cluster.
    pub used_by_others: Option<i64>,
    /// Reserved CIDR blocks (`ListVSwitchCidrReservations`): only IP prefixes come from them.
    pub cidr_reservations: Option<Vec<String>>,
    /// The VPC it is in (`vpc-...`), for the runbook.
    pub vpc_id: Option<String>,
    /// Addresses Terway's pools held idle in it today (`terway-cli mapping`).
    pub idle_today: Option<i64>,
}

/// `[terway]` and `set_terway`: every key optional, so the same shape serves as a patch.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TerwayEntry {
    /// Zone name to vSwitch ids.
    pub vswitches: Option<BTreeMap<String, Vec<String>>>,
    /// `ordered` or anything else (random).
    pub vswitch_selection_policy: Option<String>,
    /// `most_ips` or `least_ips`.
    pub eni_selection_policy: Option<String>,
    /// Idle addresses kept at most.
    pub max_pool_size: Option<i64>,
    /// Idle addresses topped up to.
    pub min_pool_size: Option<i64>,
    /// Pool tick period.
    pub ip_pool_sync_period: Option<Duration>,
    /// ENIs kept at least.
    pub min_eni: Option<i64>,
    /// ENIs used at most.
    pub max_eni: Option<i64>,
    /// Idle time before reclaim; unset turns reclaim off.
    pub idle_ip_reclaim_after: Option<Duration>,
    /// Reclaim check period.
    pub idle_ip_reclaim_interval: Option<Duration>,
    /// Addresses reclaimed per check.
    pub idle_ip_reclaim_batch_size: Option<i64>,
    /// Jitter on the reclaim period.
    pub idle_ip_reclaim_jitter_factor: Option<f64>,
    /// `""` (the daemon allocates) or `crd` (centralized IPAM).
    pub ipam_type: Option<String>,
    /// IP prefix mode (Terway v1.17.1+, with `crd`).
    pub enable_ip_prefix: Option<bool>,
    /// /28 prefixes per node in prefix mode.
    pub ipv4_prefix_count: Option<i64>,
    /// A trunk ENI on every node that supports it; `[terway]` only.
    pub enable_eni_trunking: Option<bool>,
}

/// `[source]`: what the scenario was made from, verbatim, for the runbook.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceSection {
    /// The `eni_conf` JSON of `kube-system/eni-config` as written.
    pub eni_conf: Option<String>,
}

/// `[cloud]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloudSection {
    /// CreateNetworkInterface plus attach.
    pub create_eni: Option<Duration>,
    /// AssignPrivateIpAddresses.
    pub assign_ips: Option<Duration>,
    /// UnassignPrivateIpAddresses.
    pub unassign_ips: Option<Duration>,
    /// Detach plus DeleteNetworkInterface.
    pub delete_eni: Option<Duration>,
    /// A refused call.
    pub api_error: Option<Duration>,
}

/// `[[nodepool]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodePoolEntry {
    /// Pool name.
    pub name: String,
    /// ECS instance type.
    pub instance_type: String,
    /// Zones the pool spreads over.
    pub zones: Vec<String>,
    /// eth0's vSwitch per zone.
    pub node_vswitch: Option<BTreeMap<String, String>>,
    /// Nodes at the start.
    pub nodes: Option<i64>,
    /// Autoscaler floor.
    pub min_nodes: Option<i64>,
    /// Autoscaler ceiling.
    pub max_nodes: Option<i64>,
    /// Decision to Ready.
    pub boot_time: Option<Duration>,
    /// Pod limit per node.
    pub max_pods: Option<i64>,
    /// The pool's own Terway settings, merged over `[terway]`.
    pub terway: Option<TerwayEntry>,
    /// Exclusive-ENI nodes: one ENI per pod.
    pub exclusive_eni: Option<bool>,
}

/// `[instance_type."NAME"]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstanceTypeEntry {
    /// Virtual CPUs.
    pub vcpu: Option<i64>,
    /// Memory in GiB.
    pub memory_gib: Option<f64>,
    /// ENIs, eth0 included.
    pub eni_quantity: Option<i64>,
    /// IPv4 addresses per ENI.
    pub ipv4_per_eni: Option<i64>,
    /// `EniTotalQuantity`: ENIs including trunk members; above `eni_quantity` means trunking.
    pub eni_total_quantity: Option<i64>,
}

/// `[[workload]]`: the keys of every kind; `validate` refuses those of another kind.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkloadEntry {
    /// Name.
    pub name: String,
    /// `deployment`, `statefulset` or `job`.
    pub kind: String,
    /// Node pool name.
    pub nodepool: Option<String>,
    /// CPU request.
    pub cpu: Option<Cpu>,
    /// Memory request.
    pub memory: Option<Memory>,
    /// Replica target (deployment, statefulset).
    pub replicas: Option<CurveEntry>,
    /// Daily swing of the target.
    pub daily_swing: Option<f64>,
    /// Rolling update period.
    pub rollout_every: Option<Duration>,
    /// Surge during a rollout.
    pub max_surge: Option<AmountEntry>,
    /// Unavailable during a rollout.
    pub max_unavailable: Option<AmountEntry>,
    /// StatefulSet pod management.
    pub pod_management: Option<String>,
    /// Job arrivals per hour.
    pub arrivals_per_hour: Option<CurveEntry>,
    /// Mean job run time (exponential).
    pub duration: Option<Duration>,
    /// How long a deleted pod keeps running (and holds its address) before it is gone.
    pub termination_grace: Option<Duration>,
    /// Median job run time (log-normal).
    pub duration_p50: Option<Duration>,
    /// 99th percentile job run time (log-normal).
    pub duration_p99: Option<Duration>,
    /// The `[[podnetworking]]` that selects the pods.
    pub podnetworking: Option<String>,
}

/// `[[action]]`: `at` plus one of the kinds (`validate` checks there is exactly one).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionEntry {
    /// When.
    pub at: Duration,
    /// A vSwitch is created.
    pub add_vswitch: Option<VSwitchEntry>,
    /// `eni-config` is edited.
    pub set_terway: Option<TerwayEntry>,
    /// Terway restarts.
    pub restart_terway: Option<bool>,
    /// A node pool is resized.
    pub scale_nodepool: Option<ScaleEntry>,
}

/// `scale_nodepool = { ... }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScaleEntry {
    /// Pool name.
    pub name: String,
    /// New desired count.
    pub nodes: Option<i64>,
    /// New floor.
    pub min_nodes: Option<i64>,
    /// New ceiling.
    pub max_nodes: Option<i64>,
}

/// A duration string, already parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Duration(pub Millis);

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DurationVisitor;
        impl Visitor<'_> for DurationVisitor {
            type Value = Duration;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a duration string such as \"45s\" or \"1d 6h\"")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<Duration, E> {
                units::parse_duration_ms(text)
                    .map(Duration)
                    .map_err(E::custom)
            }
        }
        deserializer.deserialize_any(DurationVisitor)
    }
}

/// A CPU request in millicores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cpu(pub u32);

impl<'de> Deserialize<'de> for Cpu {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct CpuVisitor;
        impl Visitor<'_> for CpuVisitor {
            type Value = Cpu;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("cores (2, 0.5, \"2\") or millicores (\"250m\")")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<Cpu, E> {
                units::parse_cpu_millis(text).map(Cpu).map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, cores: i64) -> Result<Cpu, E> {
                if cores < 0 {
                    return Err(E::custom(format!("cpu {cores} cannot be negative")));
                }
                units::parse_cpu_millis(&cores.to_string())
                    .map(Cpu)
                    .map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, cores: u64) -> Result<Cpu, E> {
                units::parse_cpu_millis(&cores.to_string())
                    .map(Cpu)
                    .map_err(E::custom)
            }
            fn visit_f64<E: de::Error>(self, cores: f64) -> Result<Cpu, E> {
                units::cpu_millis_from_cores(cores)
                    .map(Cpu)
                    .map_err(E::custom)
            }
        }
        deserializer.deserialize_any(CpuVisitor)
    }
}

/// A memory request in MiB (rounded up).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Memory(pub u64);

impl<'de> Deserialize<'de> for Memory {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MemoryVisitor;
        impl Visitor<'_> for MemoryVisitor {
            type Value = Memory;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a quantity such as \"256Mi\" or \"1Gi\", or an integer of bytes")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<Memory, E> {
                units::parse_memory_mib(text).map(Memory).map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, bytes: i64) -> Result<Memory, E> {
                units::memory_mib_from_bytes(bytes)
                    .map(Memory)
                    .map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, bytes: u64) -> Result<Memory, E> {
                units::parse_memory_mib(&bytes.to_string())
                    .map(Memory)
                    .map_err(E::custom)
            }
        }
        deserializer.deserialize_any(MemoryVisitor)
    }
}

/// A value over time as written: a number, or `[duration, number]` points.
#[derive(Debug, Clone, PartialEq)]
pub enum CurveEntry {
    /// A constant.
    Constant(f64),
    /// Points in file order (`validate` checks the order).
    Points(Vec<(Millis, f64)>),
}

impl<'de> Deserialize<'de> for CurveEntry {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct CurveVisitor;
        impl<'de> Visitor<'de> for CurveVisitor {
            type Value = CurveEntry;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number or a list of [duration, number] points such as [[\"0d\", 100], [\"30d\", 400]]")
            }
            fn visit_i64<E: de::Error>(self, value: i64) -> Result<CurveEntry, E> {
                // Counts above 2^53 are refused later as absurd, so the conversion is exact
                // wherever it matters.
                Ok(CurveEntry::Constant(value as f64))
            }
            fn visit_u64<E: de::Error>(self, value: u64) -> Result<CurveEntry, E> {
                Ok(CurveEntry::Constant(value as f64))
            }
            fn visit_f64<E: de::Error>(self, value: f64) -> Result<CurveEntry, E> {
                Ok(CurveEntry::Constant(value))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<CurveEntry, A::Error> {
                let mut points = Vec::new();
                while let Some(Point(at, value)) = seq.next_element::<Point>()? {
                    points.push((at, value));
                }
                Ok(CurveEntry::Points(points))
            }
        }
        deserializer.deserialize_any(CurveVisitor)
    }
}

/// One `[duration, number]` point of a curve.
struct Point(Millis, f64);

impl<'de> Deserialize<'de> for Point {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PointVisitor;
        impl<'de> Visitor<'de> for PointVisitor {
            type Value = Point;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a point [duration, number] such as [\"30d\", 400]")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Point, A::Error> {
                let short =
                    || de::Error::custom("a point is [duration, number], e.g. [\"30d\", 400]");
                let Duration(at) = seq.next_element()?.ok_or_else(short)?;
                let value: f64 = seq.next_element()?.ok_or_else(short)?;
                if seq.next_element::<de::IgnoredAny>()?.is_some() {
                    return Err(short());
                }
                Ok(Point(at, value))
            }
        }
        deserializer.deserialize_any(PointVisitor)
    }
}

/// `max_surge` / `max_unavailable` as written.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AmountEntry {
    /// An integer count.
    Count(u32),
    /// "N%".
    Percent(f64),
}

impl<'de> Deserialize<'de> for AmountEntry {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct AmountVisitor;
        impl Visitor<'_> for AmountVisitor {
            type Value = AmountEntry;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a percentage such as \"25%\" or an integer count")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<AmountEntry, E> {
                units::parse_percent(text)
                    .map(AmountEntry::Percent)
                    .map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, count: i64) -> Result<AmountEntry, E> {
                if count < 0 {
                    return Err(E::custom(format!("amount {count} cannot be negative")));
                }
                u32::try_from(count)
                    .map(AmountEntry::Count)
                    .map_err(|_| E::custom(format!("amount {count} is too large")))
            }
            fn visit_u64<E: de::Error>(self, count: u64) -> Result<AmountEntry, E> {
                u32::try_from(count)
                    .map(AmountEntry::Count)
                    .map_err(|_| E::custom(format!("amount {count} is too large")))
            }
        }
        deserializer.deserialize_any(AmountVisitor)
    }
}

/// Reads the scenario TOML into [`ScenarioFile`]; syntax errors, unknown keys and values of the
/// wrong type or form are reported with key path and line.
pub fn parse(path: &Path, text: &str) -> Result<ScenarioFile, ScenarioError> {
    if let Err(err) = DeTable::parse(text) {
        let line = err.span().map(|span| line_of(text, span.start));
        return Err(ScenarioError {
            file: path.to_path_buf(),
            line,
            key: String::new(),
            message: format!("invalid toml: {}", one_line(err.message())),
        });
    }
    toml::from_str::<ScenarioFile>(text).map_err(|err| {
        let locator = Locator::new(text);
        serde_error(path, text, &locator, &err)
    })
}

/// Turns a deserialisation error into a [`ScenarioError`] naming the key and line.
fn serde_error(path: &Path, text: &str, locator: &Locator, err: &toml::de::Error) -> ScenarioError {
    let message = one_line(err.message());
    let span = err.span();
    let line = span
        .as_ref()
        .filter(|span| !locator.is_root(span))
        .map(|span| line_of(text, span.start));
    let at = |key: String, message: String| ScenarioError {
        file: path.to_path_buf(),
        line,
        key,
        message,
    };

    if let Some(rest) = message.strip_prefix("missing field ") {
        let field = quoted_tokens(rest).into_iter().next().unwrap_or_default();
        let table = span
            .as_ref()
            .and_then(|span| locator.path_of_span(span))
            .unwrap_or_default();
        return at(
            join_key(&table, &field),
            format!("missing required key `{field}`"),
        );
    }

    let key = span
        .as_ref()
        .and_then(|span| locator.path_at(span.start))
        .unwrap_or_default();

    if let Some(rest) = message.strip_prefix("unknown field ") {
        // The span is the key's; an array-of-tables header also spans it as a value, so
        // prefer the entry the key belongs to.
        let key = span
            .as_ref()
            .and_then(|span| locator.key_at(span.start))
            .unwrap_or(key);
        let mut tokens = quoted_tokens(rest).into_iter();
        let field = tokens.next().unwrap_or_default();
        let expected: Vec<String> = tokens.collect();
        let top_level = !key.contains(['.', '[']);
        let home = SECTION_KEYS
            .iter()
            .find(|(_, keys)| keys.contains(&field.as_str()))
            .map(|(section, _)| *section)
            .filter(|_| top_level);
        let message = match (nearest(&field, expected.iter().map(String::as_str)), home) {
            (Some(near), _) => format!("unknown key `{field}`, did you mean `{near}`?"),
            (None, Some(section)) => {
                format!("unknown key `{field}` at the top level; it belongs under {section}")
            }
            (None, None) if expected.is_empty() => format!("unknown key `{field}`"),
            (None, None) => format!(
                "unknown key `{field}`; expected one of: {}",
                expected.join(", ")
            ),
        };
        return at(key, message);
    }

    if let Some(rest) = message.strip_prefix("invalid type: ")
        && let Some((found, expected)) = rest.split_once(", expected ")
    {
        let expected = plain_type_name(expected);
        if expected == "an integer" && found.starts_with("integer") {
            let number = quoted_tokens(found).into_iter().next().unwrap_or_default();
            return at(key, format!("integer {number} is out of range"));
        }
        let found = match found {
            "map" => "a table",
            "sequence" => "a list",
            other => other,
        };
        let mut message = format!("expected {expected}, found {found}");
        let entry_lists = ["vswitch", "nodepool", "workload", "action"];
        if found == "a table" && entry_lists.contains(&key.as_str()) {
            message.push_str(&format!(
                "; write [[{key}]] (double brackets) for each entry"
            ));
        }
        return at(key, message);
    }

    at(key, message)
}

/// Keys of the single tables, to point a key written above its table header to the table.
const SECTION_KEYS: &[(&str, &[&str])] = &[
    (
        "[scenario]",
        &["name", "horizon", "seed", "runs", "sample_interval"],
    ),
    (
        "[vpc]",
        &["secondary_cidrs", "snat_table_id", "snat_entries"],
    ),
    (
        "[terway]",
        &[
            "vswitches",
            "vswitch_selection_policy",
            "eni_selection_policy",
            "max_pool_size",
            "min_pool_size",
            "ip_pool_sync_period",
            "min_eni",
            "max_eni",
            "idle_ip_reclaim_after",
            "idle_ip_reclaim_interval",
            "idle_ip_reclaim_batch_size",
            "idle_ip_reclaim_jitter_factor",
        ],
    ),
    ("[source]", &["eni_conf"]),
    (
        "[cloud]",
        &[
            "create_eni",
            "assign_ips",
            "unassign_ips",
            "delete_eni",
            "api_error",
        ],
    ),
];

/// Serde's names for primitive types, as a user would say them.
fn plain_type_name(expected: &str) -> &str {
    match expected {
        "i64" | "i32" | "u32" | "u64" => "an integer",
        "f64" | "f32" => "a number",
        "a sequence" => "a list",
        "a map" => "a table",
        "a boolean" => "true or false",
        other if other.starts_with("struct ") => "a table",
        other => other,
    }
}

/// The texts between backticks, in order.
fn quoted_tokens(text: &str) -> Vec<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

fn one_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

/// The 1-based line of a byte offset.
pub fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// A key as it appears in a key path: bare when TOML allows it, quoted otherwise.
pub fn key_segment(key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare {
        key.to_string()
    } else {
        format!("\"{}\"", key.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

/// `table.key`, or `key` at the top.
pub fn join_key(table: &str, key: &str) -> String {
    if table.is_empty() {
        key_segment(key)
    } else {
        format!("{table}.{}", key_segment(key))
    }
}

/// The closest of `candidates` to a misspelt `word`, if one is close enough to be a typo.
pub fn nearest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let word_lower = word.to_lowercase();
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .filter(|candidate| *candidate != word)
        .map(|candidate| {
            (
                edit_distance(&word_lower, &candidate.to_lowercase()),
                candidate,
            )
        })
        .filter(|&(distance, _)| distance <= limit)
        .min_by_key(|&(distance, _)| distance)
        .map(|(_, candidate)| candidate)
}

/// Optimal string alignment distance: Levenshtein plus adjacent transpositions, the usual typos.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut rows = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (rows[i - 1][j] + 1)
                .min(rows[i][j - 1] + 1)
                .min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = best;
        }
    }
    rows[a.len()][b.len()]
}

/// Where each key path of the file is: built from toml's spanned tree.
pub struct Locator {
    text_len: usize,
    root: Range<usize>,
    entries: Vec<Entry>,
    by_path: BTreeMap<String, usize>,
    line_starts: Vec<usize>,
}

struct Entry {
    path: String,
    depth: usize,
    key: Option<Range<usize>>,
    value: Range<usize>,
}

impl Locator {
    /// Indexes `text`; text that is not valid TOML gives an empty index (no lines).
    pub fn new(text: &str) -> Self {
        let mut locator = Locator {
            text_len: text.len(),
            root: 0..0,
            entries: Vec::new(),
            by_path: BTreeMap::new(),
            line_starts: std::iter::once(0)
                .chain(text.match_indices('\n').map(|(i, _)| i + 1))
                .collect(),
        };
        if let Ok(root) = DeTable::parse(text) {
            locator.root = root.span();
            for (key, value) in root.get_ref().iter() {
                locator.add(
                    key_segment(key.get_ref()),
                    1,
                    Some(key.span()),
                    value.span(),
                    value.get_ref(),
                );
            }
        }
        locator
    }

    fn add(
        &mut self,
        path: String,
        depth: usize,
        key: Option<Range<usize>>,
        span: Range<usize>,
        value: &DeValue<'_>,
    ) {
        match value {
            DeValue::Table(table) => {
                for (child_key, child) in table.iter() {
                    self.add(
                        format!("{path}.{}", key_segment(child_key.get_ref())),
                        depth + 1,
                        Some(child_key.span()),
                        child.span(),
                        child.get_ref(),
                    );
                }
            }
            DeValue::Array(items) => {
                for (index, item) in items.iter().enumerate() {
                    self.add(
                        format!("{path}[{index}]"),
                        depth + 1,
                        None,
                        item.span(),
                        item.get_ref(),
                    );
                }
            }
            _ => {}
        }
        self.by_path.insert(path.clone(), self.entries.len());
        self.entries.push(Entry {
            path,
            depth,
            key,
            value: span,
        });
    }

    fn is_root(&self, span: &Range<usize>) -> bool {
        *span == self.root
    }

    fn line_at(&self, offset: usize) -> usize {
        let offset = offset.min(self.text_len);
        self.line_starts.partition_point(|&start| start <= offset)
    }

    /// The 1-based line of `path`, or of its nearest ancestor that is in the file (a key left at
    /// its default is reported at its table). `None` for whole-file keys.
    pub fn line(&self, path: &str) -> Option<usize> {
        let mut path = path;
        loop {
            if let Some(&index) = self.by_path.get(path) {
                let entry = &self.entries[index];
                let start = entry.key.as_ref().unwrap_or(&entry.value).start;
                return Some(self.line_at(start));
            }
            path = parent_path(path)?;
        }
    }

    /// The deepest key path whose key or value holds `offset`.
    fn path_at(&self, offset: usize) -> Option<String> {
        let holds = |span: &Range<usize>| {
            span.start <= offset && (offset < span.end || span.is_empty() && offset == span.start)
        };
        self.entries
            .iter()
            .filter(|entry| holds(&entry.value) || entry.key.as_ref().is_some_and(holds))
            .max_by_key(|entry| entry.depth)
            .map(|entry| entry.path.clone())
    }

    /// The deepest key path whose key holds `offset`.
    fn key_at(&self, offset: usize) -> Option<String> {
        self.entries
            .iter()
            .filter(|entry| {
                entry
                    .key
                    .as_ref()
                    .is_some_and(|span| span.start <= offset && offset < span.end)
            })
            .max_by_key(|entry| entry.depth)
            .map(|entry| entry.path.clone())
    }

    /// The deepest key path whose value is exactly `span` (a table header or inline table).
    fn path_of_span(&self, span: &Range<usize>) -> Option<String> {
        self.entries
            .iter()
            .filter(|entry| entry.value == *span)
            .max_by_key(|entry| entry.depth)
            .map(|entry| entry.path.clone())
    }
}

/// `a.b[2]` -> `a.b`, `a."x.y".c` -> `a."x.y"`, `a` -> ``; `None` at the top.
fn parent_path(path: &str) -> Option<&str> {
    if path.is_empty() {
        return None;
    }
    if path.ends_with(']') {
        return path.rfind('[').map(|open| &path[..open]);
    }
    let cut = if let Some(inner) = path.strip_suffix('"') {
        // A quoted segment: find its opening quote (keys with escaped quotes are not worth the
        // trouble here; the worst case is the line of a coarser ancestor).
        inner
            .rfind('"')
            .map(|open| path[..open].trim_end_matches('.').len())
    } else {
        Some(path.rfind('.').unwrap_or(0))
    };
    cut.map(|cut| &path[..cut])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> ScenarioError {
        parse(Path::new("t.toml"), text).expect_err("should fail")
    }

    #[test]
    fn misspelt_key_suggests_the_right_one() {
        let e = err("[scenario]\nhorizn = \"30d\"\n");
        assert_eq!(e.key, "scenario.horizn");
        assert_eq!(e.line, Some(2));
        assert_eq!(e.message, "unknown key `horizn`, did you mean `horizon`?");
        assert_eq!(e.file, Path::new("t.toml"));
    }

    #[test]
    fn unknown_key_without_near_miss_lists_the_keys() {
        let e = err("[scenario]\nhorizon = \"1d\"\n[cloud]\nfoo = \"1s\"\n");
        assert_eq!(e.key, "cloud.foo");
        assert_eq!(e.line, Some(4));
        assert!(
            e.message
                .starts_with("unknown key `foo`; expected one of: create_eni")
        );
    }

    #[test]
    fn misspelt_table_suggests_the_right_one() {
        let e = err("[scenario]\nhorizon = \"1d\"\n\n[[vswitches]]\nid = \"a\"\n");
        assert_eq!(e.key, "vswitches");
        assert_eq!(e.line, Some(4));
        assert_eq!(
            e.message,
            "unknown key `vswitches`, did you mean `vswitch`?"
        );
    }

    #[test]
    fn key_above_its_table_points_to_the_table() {
        let e = err("horizon = \"1d\"\n[scenario]\nseed = 1\n");
        assert_eq!(e.key, "horizon");
        assert_eq!(e.line, Some(1));
        assert_eq!(
            e.message,
            "unknown key `horizon` at the top level; it belongs under [scenario]"
        );
    }

    #[test]
    fn missing_key_names_table_and_key() {
        let text = "[scenario]\nhorizon = \"1d\"\n[[vswitch]]\nid = \"a\"\nzone = \"z\"\ncidr = \"10.0.0.0/24\"\n\n[[vswitch]]\nid = \"b\"\nzone = \"z\"\n";
        let e = err(text);
        assert_eq!(e.key, "vswitch[1].cidr");
        assert_eq!(e.line, Some(8));
        assert_eq!(e.message, "missing required key `cidr`");

        let e = err("[vpc]\ncidr = \"10.0.0.0/8\"\n");
        assert_eq!(e.key, "scenario");
        assert_eq!(e.line, None);

        let e = err("[scenario]\nseed = 1\n");
        assert_eq!(e.key, "scenario.horizon");
        assert_eq!(e.line, Some(1));
    }

    #[test]
    fn bad_duration_is_reported_at_its_value() {
        let e = err("[scenario]\n\nhorizon = \"30 days\"\n");
        assert_eq!(e.key, "scenario.horizon");
        assert_eq!(e.line, Some(3));
        assert!(
            e.message.contains("invalid duration \"30 days\""),
            "{}",
            e.message
        );
        assert!(e.message.contains("\"1d 6h\""));

        let e = err("[scenario]\nhorizon = 30\n");
        assert_eq!(e.key, "scenario.horizon");
        assert_eq!(
            e.message,
            "expected a duration string such as \"45s\" or \"1d 6h\", found integer `30`"
        );
    }

    #[test]
    fn wrong_types_use_plain_words() {
        let e = err("[scenario]\nhorizon = \"1d\"\nseed = \"5\"\n");
        assert_eq!(e.key, "scenario.seed");
        assert_eq!(e.line, Some(3));
        assert_eq!(e.message, "expected an integer, found string \"5\"");

        let e = err("[scenario]\nhorizon = \"1d\"\nruns = \"5\"\n");
        assert_eq!(e.key, "scenario.runs");
        assert_eq!(e.line, Some(3));
        assert_eq!(
            e.message,
            "expected a number of runs or \"auto\", found \"5\""
        );

        let e = err("[scenario]\nhorizon = \"1d\"\n[vswitch]\nid = \"a\"\n");
        assert_eq!(e.key, "vswitch");
        assert!(e.message.contains("write [[vswitch]]"), "{}", e.message);
    }

    #[test]
    fn nested_point_errors_name_the_element() {
        let text = "[scenario]\nhorizon = \"1d\"\n[[workload]]\nname = \"w\"\nkind = \"deployment\"\nreplicas = [\n  [\"0d\", 1],\n  [\"5x\", 2],\n]\n";
        let e = err(text);
        assert_eq!(e.key, "workload[0].replicas[1][0]");
        assert_eq!(e.line, Some(8));
        assert!(e.message.contains("unknown unit \"x\""));

        let text = "[scenario]\nhorizon = \"1d\"\n[[workload]]\nname = \"w\"\nkind = \"deployment\"\nreplicas = [[\"0d\"]]\n";
        let e = err(text);
        assert_eq!(e.key, "workload[0].replicas[0]");
        assert_eq!(e.line, Some(6));
        assert!(e.message.contains("[duration, number]"));
    }

    #[test]
    fn syntax_errors_give_one_line() {
        let e = err("[scenario]\nhorizon = \"1d\"\nseed = \n");
        assert_eq!(e.key, "");
        assert_eq!(e.line, Some(3));
        assert!(e.message.starts_with("invalid toml: "));
        assert!(!e.message.contains('\n'));

        let e = err("[scenario]\nhorizon = \"1d\"\nhorizon = \"2d\"\n");
        assert_eq!(e.line, Some(3));
        assert!(e.message.contains("duplicate key"), "{}", e.message);
    }

    #[test]
    fn values_with_forms_parse() {
        let text = "[scenario]\nhorizon = \"1d\"\n[[workload]]\nname = \"w\"\nkind = \"job\"\ncpu = 0.5\nmemory = \"512M\"\narrivals_per_hour = [[\"0s\", 1.5], [\"1h\", 3]]\nmax_surge = 2\nmax_unavailable = \"10%\"\n";
        let file = parse(Path::new("t.toml"), text).expect("valid");
        let w = &file.workload[0];
        assert_eq!(w.cpu, Some(Cpu(500)));
        assert_eq!(w.memory, Some(Memory(489)));
        assert_eq!(
            w.arrivals_per_hour,
            Some(CurveEntry::Points(vec![(0, 1.5), (3_600_000, 3.0)]))
        );
        assert_eq!(w.max_surge, Some(AmountEntry::Count(2)));
        assert_eq!(w.max_unavailable, Some(AmountEntry::Percent(10.0)));
    }

    #[test]
    fn locator_finds_lines_and_falls_back_to_ancestors() {
        let text = "[scenario]\nhorizon = \"1d\"\n\n[instance_type.\"ecs.x.large\"]\nvcpu = 4\n\n[[nodepool]]\nname = \"a\"\n[[nodepool]]\nname = \"b\"\nzones = [\n \"z1\",\n \"z2\",\n]\n[terway]\nvswitches = { \"cn-f\" = [\"v1\", \"v2\"] }\n";
        let locator = Locator::new(text);
        assert_eq!(locator.line("scenario.horizon"), Some(2));
        assert_eq!(locator.line("instance_type.\"ecs.x.large\".vcpu"), Some(5));
        assert_eq!(
            locator.line("instance_type.\"ecs.x.large\".eni_quantity"),
            Some(4)
        );
        assert_eq!(locator.line("nodepool[1]"), Some(9));
        assert_eq!(locator.line("nodepool[1].zones[1]"), Some(13));
        assert_eq!(locator.line("nodepool[1].max_nodes"), Some(9));
        assert_eq!(locator.line("terway.vswitches.cn-f[1]"), Some(16));
        assert_eq!(locator.line("nowhere.at.all"), None);
    }

    #[test]
    fn suggestions_tolerate_typos_but_not_strangers() {
        let keys = ["horizon", "seed", "runs", "sample_interval"];
        assert_eq!(nearest("horizn", keys), Some("horizon"));
        assert_eq!(nearest("hroizon", keys), Some("horizon"));
        assert_eq!(nearest("seeds", keys), Some("seed"));
        assert_eq!(nearest("banana", keys), None);
        assert_eq!(nearest("Seed", keys), Some("seed"));
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn key_segments_quote_when_needed() {
        assert_eq!(key_segment("cn-shanghai-f"), "cn-shanghai-f");
        assert_eq!(key_segment("ecs.g7.xlarge"), "\"ecs.g7.xlarge\"");
        assert_eq!(join_key("", "a"), "a");
        assert_eq!(join_key("a[0]", "b"), "a[0].b");
        assert_eq!(parent_path("a.\"x.y\".c"), Some("a.\"x.y\""));
        assert_eq!(parent_path("a.\"x.y\""), Some("a"));
        assert_eq!(parent_path("a[3]"), Some("a"));
        assert_eq!(parent_path("a"), Some(""));
        assert_eq!(parent_path(""), None);
    }
}
