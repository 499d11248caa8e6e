//! Scenarios: the TOML a user writes, checked and turned into the values the model runs on.
//!
//! `file` mirrors the TOML with serde (unknown keys are errors); `validate` checks every rule
//! that spans keys and resolves names to indices. Only [`Scenario`] leaves this module: the
//! engine never sees a raw string, duration text or a name it would have to look up.

mod file;
mod history;
mod overrides;
mod units;
mod validate;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use ipnet::Ipv4Net;

pub use crate::catalog::InstanceType;
pub use file::{key_segment, nearest as nearest_name};
pub use history::{
    CsvError, HISTORY_HEADER, History, HistoryRow, HistorySeries, days_between, format_time,
    parse_history_csv, parse_time, read_history,
};
pub use overrides::{Override, parse_with_overrides};
pub use units::{format_duration, human_duration, parse_duration_ms};

/// Simulated milliseconds since the scenario starts (the engine's time).
pub use crate::engine::Millis;

/// One millisecond, second, minute, hour and day in [`Millis`].
pub const SECOND_MS: Millis = 1_000;
/// One minute.
pub const MINUTE_MS: Millis = 60 * SECOND_MS;
/// One hour.
pub const HOUR_MS: Millis = 60 * MINUTE_MS;
/// One day.
pub const DAY_MS: Millis = 24 * HOUR_MS;

/// A validated scenario. Indices (`usize`) point into the vectors of this struct.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// `[scenario] name`, or the file's stem.
    pub name: String,
    /// The file it was read from (for messages).
    pub source: PathBuf,
    /// Length of each run.
    pub horizon_ms: Millis,
    /// Base seed; run `i` uses ChaCha streams derived from (seed, i).
    pub seed: u64,
    /// Number of seeded runs (with `runs = "auto"`, the most that may be made until the
    /// runner knows how many it took).
    pub runs: u32,
    /// `runs = "auto"`: run in batches until the answer is this sure.
    pub auto_runs: Option<AutoRuns>,
    /// Time-series resolution.
    pub sample_interval_ms: Millis,
    /// VPC address blocks (`[vpc] cidr` first, then `secondary_cidrs`); empty when not given.
    pub vpc_cidrs: Vec<Ipv4Net>,
    /// The VPC's SNAT table (`[vpc] snat_entries`); `None` when the scenario does not carry it,
    /// and then nothing is judged about the pods' way to the internet.
    pub snat: Option<SnatTable>,
    /// What the scenario knows of the live cluster: read by the runbook and the report, and by
    /// the model only for the idle addresses its first nodes start with.
    pub live: Live,
    /// Zones, sorted by name: every zone named by a vSwitch or a node pool.
    pub zones: Vec<String>,
    /// Every vSwitch the scenario knows: those under `[[vswitch]]` first, in file order, then those
    /// added by `add_vswitch` actions, in action order.
    pub vswitches: Vec<VSwitchSpec>,
    /// Terway configurations: `[0]` is `[terway]`; each `set_terway` action appends the config as
    /// it stands after that action (patches are merged in time order).
    pub terway_configs: Vec<TerwayConfig>,
    /// ECS API timings.
    pub cloud: CloudTimings,
    /// Instance types: the built-in catalog plus `[instance_type."NAME"]` entries.
    pub instance_types: BTreeMap<String, InstanceType>,
    /// Node pools in file order.
    pub nodepools: Vec<NodePoolSpec>,
    /// Workloads in file order.
    pub workloads: Vec<WorkloadSpec>,
    /// Operator actions, sorted by time; equal times keep file order.
    pub actions: Vec<Action>,
    /// `[planning]`.
    pub planning: Planning,
    /// `[gates]`.
    pub gates: Gates,
    /// `[scenario] history`: the pod counts `import` fitted the growth to, for the charts.
    pub history: Option<History>,
    /// Pods on ENIs of their own: trunking, `[[podnetworking]]`, exclusive-ENI pools.
    pub pod_enis: PodEnis,
}

/// Pods with ENIs of their own (trunk member ENIs and exclusive-ENI pools), all under
/// centralized IPAM. Empty (the default) when the scenario uses none of it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PodEnis {
    /// `[terway] enable_eni_trunking`.
    pub enable_eni_trunking: bool,
    /// `[[podnetworking]]`, in file order.
    pub podnetworkings: Vec<PodNetworkingSpec>,
    /// Per workload (when not empty): index into `podnetworkings` of its `podnetworking`.
    pub workload_podnetworking: Vec<Option<usize>>,
    /// Per node pool (when not empty): `exclusive_eni`.
    pub exclusive_eni: Vec<bool>,
    /// Per node pool (when not empty): member ENIs a node's trunk takes at most,
    /// `EniTotalQuantity - EniQuantity`; 0 when its nodes run no trunk ENI.
    pub member_eni_limit: Vec<u32>,
}

impl PodEnis {
    /// The PodNetworking of a workload's pods.
    pub fn podnetworking_of(&self, workload: usize) -> Option<usize> {
        self.workload_podnetworking.get(workload).copied().flatten()
    }

    /// Whether a pool's nodes are exclusive-ENI nodes.
    pub fn is_exclusive(&self, pool: usize) -> bool {
        self.exclusive_eni.get(pool).copied().unwrap_or(false)
    }

    /// The member-ENI limit of a pool's nodes (0: no trunk).
    pub fn member_limit(&self, pool: usize) -> u32 {
        self.member_eni_limit.get(pool).copied().unwrap_or(0)
    }
}

/// A `PodNetworking`: the vSwitches its pods' ENIs come from, and how long addresses live.
#[derive(Debug, Clone, PartialEq)]
pub struct PodNetworkingSpec {
    /// Name.
    pub name: String,
    /// Per zone of [`Scenario::zones`]: the vSwitches listed for it, in order.
    pub vswitches: Vec<Vec<usize>>,
    /// `vSwitchSelectionPolicy`.
    pub selection: PodNetworkingSelection,
    /// `allocationType: Fixed` with `releaseStrategy: TTL`: how long after its pod was last
    /// seen a fixed address is freed. `None` for `Elastic`.
    pub fixed_release_after_ms: Option<Millis>,
}

/// `vSwitchSelectionPolicy` of a PodNetworking (not the meaning `eni_conf` gives `ordered`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PodNetworkingSelection {
    /// `ordered` (the CRD default): the first listed vSwitch whose cached count is not 0.
    Ordered,
    /// `random`: shuffled.
    Random,
    /// `most`: the largest cached count first.
    Most,
}

/// `runs = "auto"`: how sure the runs must make the answer, and how many runs it may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AutoRuns {
    /// The interval of the planning percentile's first shortage must be at most this wide in
    /// every zone that runs short.
    pub precision_ms: Millis,
    /// The most runs to make.
    pub max_runs: u32,
}

/// `[planning]`: how recommendations are made.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Planning {
    /// Run percentile to plan for (default 90): demand at this percentile, first shortage at
    /// 100 minus it (the earlier side), so that this share of runs is no worse.
    pub percentile: f64,
    /// Spare fraction on top of the predicted peak (default 0.2).
    pub headroom: f64,
    /// How long an expansion takes to roll out (default 7d).
    pub lead_time_ms: Millis,
}

/// `[gates]`: capacity checks; `None` means the gate is not set.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gates {
    /// Run percentile to judge at (default 90), read on the pessimistic side as in
    /// [`Planning::percentile`].
    pub percentile: f64,
    /// Every zone's first shortage must come later than this, or never.
    pub min_time_to_shortage_ms: Option<Millis>,
    /// No vSwitch's peak used / usable above this.
    pub max_vswitch_utilization: Option<f64>,
    /// Never more pods than this waiting for an address.
    pub max_pods_pending_ip: Option<u32>,
    /// When set, gates judge on the pessimistic end of the confidence interval of their
    /// percentile over runs (the earlier end for times, the higher for counts), so that a gate
    /// passes only when the runs make it sure at this confidence.
    pub confidence: Option<f64>,
}

impl Gates {
    /// Whether any gate is set.
    pub fn any(&self) -> bool {
        self.min_time_to_shortage_ms.is_some()
            || self.max_vswitch_utilization.is_some()
            || self.max_pods_pending_ip.is_some()
    }
}

/// A vSwitch: a subnet of the VPC in one zone.
#[derive(Debug, Clone, PartialEq)]
pub struct VSwitchSpec {
    /// `vsw-...`
    pub id: String,
    /// Index into [`Scenario::zones`].
    pub zone: usize,
    /// Mask between /16 and /29.
    pub cidr: Ipv4Net,
    /// Addresses held by things outside the cluster (SLB, RDS, other ECS).
    pub used_by_others: u32,
    /// `None` for `[[vswitch]]`; the action time for vSwitches created by `add_vswitch`.
    pub created_at_ms: Option<Millis>,
    /// Reserved CIDR blocks: the VPC gives their addresses only to /28 IP prefixes.
    pub cidr_reservations: Vec<Ipv4Net>,
}

impl VSwitchSpec {
    /// Addresses in the block less the 4 the VPC reserves (the first and the last three).
    pub fn block_usable(&self) -> u32 {
        usable_addresses(self.cidr.prefix_len())
    }

    /// Addresses the cluster can take one by one: the block's usable addresses less the
    /// reserved blocks and `used_by_others`.
    pub fn usable_ips(&self) -> u32 {
        self.block_usable()
            .saturating_sub(self.reserved_addresses())
            .saturating_sub(self.used_by_others)
    }

    /// Addresses in the reserved CIDR blocks.
    pub fn reserved_addresses(&self) -> u32 {
        self.cidr_reservations
            .iter()
            .map(|block| 1u32 << (32 - block.prefix_len()))
            .sum()
    }

    /// Aligned /28 IP prefixes the reserved blocks hold.
    pub fn reserved_prefixes(&self) -> u32 {
        self.reserved_addresses() / PREFIX_ADDRESSES
    }
}

/// The SNAT table of the VPC's NAT gateway: which vSwitches' pods reach the internet.
#[derive(Debug, Clone, PartialEq)]
pub struct SnatTable {
    /// `snat_table_id` (`stb-...`), where a missing entry should be created; `None` when not
    /// given.
    pub table_id: Option<String>,
    /// The entries, in file order.
    pub entries: Vec<SnatEntry>,
}

impl SnatTable {
    /// The first entry that covers `vswitch`.
    pub fn covering(&self, vswitch: &VSwitchSpec) -> Option<&SnatEntry> {
        self.entries.iter().find(|entry| entry.covers(vswitch))
    }
}

/// One SNAT entry: a vSwitch, or a block of source addresses, sent out through the NAT gateway.
#[derive(Debug, Clone, PartialEq)]
pub struct SnatEntry {
    /// `SnatEntryId`.
    pub id: Option<String>,
    /// `SourceVSwitchId`: the vSwitch it covers, whichever VPC block it has.
    pub source_vswitch_id: Option<String>,
    /// `SourceCIDR`: it covers every vSwitch whose block lies inside this one (an ECS-sized
    /// `/32` covers one instance, not a vSwitch).
    pub source_cidr: Option<Ipv4Net>,
    /// `SnatIp`: the public addresses, as listed.
    pub snat_ip: Option<String>,
}

impl SnatEntry {
    /// Whether every pod address of `vswitch` goes out through this entry.
    pub fn covers(&self, vswitch: &VSwitchSpec) -> bool {
        self.source_vswitch_id.as_deref() == Some(vswitch.id.as_str())
            || self
                .source_cidr
                .is_some_and(|block| block.contains(&vswitch.cidr))
    }
}

/// Facts of the live cluster a scenario may carry beside what the model runs: where a new
/// vSwitch goes, the `eni_conf` to patch, and the idle addresses counted today.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Live {
    /// `vpc_id` of each vSwitch (indexed like [`Scenario::vswitches`]; `None` when not given,
    /// always for those added by actions).
    pub vpc_ids: Vec<Option<String>>,
    /// `idle_today` of each vSwitch (indexed like [`Scenario::vswitches`]): the addresses
    /// Terway's pools held idle in it when the scenario was imported (`terway-cli mapping`).
    /// Counted apart from `used_by_others`: a run's first nodes start holding them (each
    /// zone's spread over its nodes), the one place the model reads this struct.
    pub idle_today: Vec<Option<u32>>,
    /// `[source] eni_conf`: the ConfigMap's `eni_conf` JSON as written, every key kept, so
    /// that the runbook changes only the vSwitch lists.
    pub eni_conf: Option<String>,
}

impl Live {
    /// Today's idle addresses per zone (indexed like [`Scenario::zones`]); `None` for a zone
    /// none of whose vSwitches says.
    pub fn idle_today_per_zone(&self, scenario: &Scenario) -> Vec<Option<u32>> {
        let mut zones: Vec<Option<u32>> = vec![None; scenario.zones.len()];
        for (index, idle) in self.idle_today.iter().enumerate() {
            if let (Some(idle), Some(spec)) = (idle, scenario.vswitches.get(index)) {
                *zones[spec.zone].get_or_insert(0) += idle;
            }
        }
        zones
    }
}

/// Usable addresses of a vSwitch with this mask: `2^(32 - mask) - 4`.
pub fn usable_addresses(prefix_len: u8) -> u32 {
    assert!(
        (MIN_VSWITCH_PREFIX..=MAX_VSWITCH_PREFIX).contains(&prefix_len),
        "vSwitch masks are /16 to /29"
    );
    (1u32 << (32 - prefix_len)) - 4
}

/// The widest vSwitch mask Alibaba Cloud allows.
pub const MIN_VSWITCH_PREFIX: u8 = 16;
/// The narrowest vSwitch mask Alibaba Cloud allows.
pub const MAX_VSWITCH_PREFIX: u8 = 29;

/// The `eni_conf` keys of `kube-system/eni-config` that shape address allocation, as written
/// (Terway's own capping of odd values happens in the model, where the node is known).
#[derive(Debug, Clone, PartialEq)]
pub struct TerwayConfig {
    /// Candidate vSwitches per zone name, in the listed order (indices into
    /// [`Scenario::vswitches`]). A zone name may be one no node runs in; a listed vSwitch may be
    /// in another zone than its key (Terway then skips it).
    pub vswitches: BTreeMap<String, Vec<usize>>,
    /// `vswitch_selection_policy`: exactly `ordered` sorts by cached free count; anything else is
    /// random, as in Terway.
    pub vswitch_selection: VSwitchSelection,
    /// `eni_selection_policy`.
    pub eni_selection: EniSelection,
    /// `max_pool_size`: idle addresses a node keeps at most (trimmed at pool ticks).
    pub max_pool_size: u32,
    /// `min_pool_size`: idle addresses a node tops up to at pool ticks.
    pub min_pool_size: u32,
    /// `min_eni`: if > 0, replaces `min_pool_size` by `min_eni x IPv4 per ENI`.
    pub min_eni: u32,
    /// `max_eni`: if > 0, caps the secondary ENIs per node.
    pub max_eni: u32,
    /// `ip_pool_sync_period` (T): pool ticks come every U[T, 2T).
    pub ip_pool_sync_period_ms: Millis,
    /// Idle reclaim; `None` when `idle_ip_reclaim_after` is unset (Terway's default: off).
    pub idle_ip_reclaim: Option<IdleReclaim>,
    /// `ipam_type`: who allocates pod addresses. Fixed on a node when it joins.
    pub ipam: IpamType,
    /// `enable_ip_prefix` (with `ipam_type = "crd"`): nodes take /28 prefixes when they join.
    pub enable_ip_prefix: bool,
    /// `ipv4_prefix_count`: the prefixes a node in prefix mode holds.
    pub ipv4_prefix_count: u32,
}

/// Addresses in one IPv4 prefix (a /28); the daemon hands out all 16.
pub const PREFIX_ADDRESSES: u32 = 16;

/// `ipam_type`: which of Terway's allocators serves the node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpamType {
    /// `""` (Terway's code default): the daemon on each node calls ECS itself.
    Daemon,
    /// `"crd"` (the Helm chart's and new ACK clusters' default since 2025): the controller in
    /// `terway-controlplane` allocates for every node through the Node custom resource.
    Centralized,
}

impl IpamType {
    /// The value `eni_conf` spells it with.
    pub fn key(self) -> &'static str {
        match self {
            IpamType::Daemon => "",
            IpamType::Centralized => "crd",
        }
    }
}

/// A node pool's own Terway settings (the ConfigMap its nodes name with the `terway-config`
/// label), merged over `eni-config` for that pool's nodes: a given key wins.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TerwayOverride {
    /// `vswitches`, replacing the whole map when given.
    pub vswitches: Option<BTreeMap<String, Vec<usize>>>,
    /// `vswitch_selection_policy`.
    pub vswitch_selection: Option<VSwitchSelection>,
    /// `eni_selection_policy`.
    pub eni_selection: Option<EniSelection>,
    /// `max_pool_size`.
    pub max_pool_size: Option<u32>,
    /// `min_pool_size`.
    pub min_pool_size: Option<u32>,
    /// `min_eni`.
    pub min_eni: Option<u32>,
    /// `max_eni`.
    pub max_eni: Option<u32>,
    /// `ip_pool_sync_period`.
    pub ip_pool_sync_period_ms: Option<Millis>,
    /// The `idle_ip_reclaim_*` keys, as one setting when any is given.
    pub idle_ip_reclaim: Option<Option<IdleReclaim>>,
    /// `ipam_type`.
    pub ipam: Option<IpamType>,
    /// `enable_ip_prefix`.
    pub enable_ip_prefix: Option<bool>,
    /// `ipv4_prefix_count`.
    pub ipv4_prefix_count: Option<u32>,
}

impl TerwayOverride {
    /// Whether the pool sets nothing of its own.
    pub fn is_empty(&self) -> bool {
        *self == TerwayOverride::default()
    }

    /// `config` with this pool's keys put over it.
    pub fn applied_to(&self, config: &TerwayConfig) -> TerwayConfig {
        let mut merged = config.clone();
        if let Some(vswitches) = &self.vswitches {
            merged.vswitches = vswitches.clone();
        }
        macro_rules! take {
            ($($field:ident),*) => {$(if let Some(value) = self.$field {
                merged.$field = value;
            })*};
        }
        take!(
            vswitch_selection,
            eni_selection,
            max_pool_size,
            min_pool_size,
            min_eni,
            max_eni,
            ip_pool_sync_period_ms,
            idle_ip_reclaim,
            ipam,
            enable_ip_prefix,
            ipv4_prefix_count
        );
        merged
    }
}

/// `vswitch_selection_policy` as Terway interprets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VSwitchSelection {
    /// `ordered`: most cached free addresses first.
    Ordered,
    /// Any other value: shuffle the candidates.
    Random,
}

/// `eni_selection_policy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EniSelection {
    /// `most_ips` (default): fill the ENI that holds the most addresses first.
    MostIps,
    /// `least_ips`: spread over ENIs, creating new ones eagerly.
    LeastIps,
}

/// Terway v1.16+ idle address reclaim.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IdleReclaim {
    /// `idle_ip_reclaim_after`: the pool must be untouched this long.
    pub after_ms: Millis,
    /// `idle_ip_reclaim_interval` (default 10m).
    pub interval_ms: Millis,
    /// `idle_ip_reclaim_batch_size` (default 5).
    pub batch_size: u32,
    /// `idle_ip_reclaim_jitter_factor` (default 0.1): interval x (1 + U[0, factor)).
    pub jitter_factor: f64,
}

/// How long ECS API calls take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CloudTimings {
    /// `create_eni`: create, attach and see the addresses in metadata (default 3s).
    pub create_eni_ms: Millis,
    /// `assign_ips` (default 1s).
    pub assign_ips_ms: Millis,
    /// `unassign_ips` (default 1s).
    pub unassign_ips_ms: Millis,
    /// `delete_eni`: detach, wait, delete (default 7s).
    pub delete_eni_ms: Millis,
    /// `api_error`: how soon a refused call (e.g. `InvalidVSwitchId.IpNotEnough`) returns
    /// (default 500ms).
    pub api_error_ms: Millis,
}

/// A node pool: nodes of one instance type spread over zones.
#[derive(Debug, Clone, PartialEq)]
pub struct NodePoolSpec {
    /// Pool name.
    pub name: String,
    /// Key into [`Scenario::instance_types`].
    pub instance_type: String,
    /// Indices into [`Scenario::zones`], in the listed order.
    pub zones: Vec<usize>,
    /// eth0's vSwitch for each entry of `zones` (same order): `node_vswitch`, or the zone's first
    /// Terway vSwitch, or the zone's first vSwitch.
    pub node_vswitch: Vec<usize>,
    /// Nodes at the start.
    pub nodes: u32,
    /// Autoscaler floor (default: `nodes`).
    pub min_nodes: u32,
    /// Autoscaler ceiling (default: `nodes`, i.e. no autoscaling).
    pub max_nodes: u32,
    /// Time from the autoscaler's decision to a Ready node.
    pub boot_time_ms: Millis,
    /// Pod limit per node; 0 means the Terway capacity of the instance type.
    pub max_pods: u32,
    /// The pool's own Terway settings (`terway = { ... }`), merged over `[terway]` and every
    /// `set_terway` for its nodes.
    pub terway: TerwayOverride,
}

/// A workload: what creates pods.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkloadSpec {
    /// Name.
    pub name: String,
    /// Deployment, StatefulSet or Job, with what only that kind has.
    pub kind: WorkloadKind,
    /// Index into [`Scenario::nodepools`]; `None` lets pods go to any pool.
    pub nodepool: Option<usize>,
    /// CPU request per pod in millicores.
    pub cpu_millis: u32,
    /// Memory request per pod in MiB.
    pub memory_mib: u64,
    /// `termination_grace` (default 10s): a deleted pod keeps running, its node resources and
    /// its address until then. Jobs that complete release at once.
    pub termination_grace_ms: Millis,
}

/// What differs between workload kinds.
#[derive(Debug, Clone, PartialEq)]
pub enum WorkloadKind {
    /// A Deployment.
    Deployment(Replicated),
    /// A StatefulSet: pods keep their name (ordinal); Terway holds a deleted pod's address for
    /// a same-name replacement.
    StatefulSet(Replicated),
    /// Jobs: one pod per arrival, running for a random time.
    Job(JobSpec),
}

/// Deployments and StatefulSets: a replica target over time.
#[derive(Debug, Clone, PartialEq)]
pub struct Replicated {
    /// The replica target.
    pub replicas: Curve,
    /// Target x (1 + swing x sin(2 pi t / 1d)); 0 for none.
    pub daily_swing: f64,
    /// A rolling update starts every this often (`None`: never).
    pub rollout_every_ms: Option<Millis>,
    /// Extra pods during a rollout (Deployments; default 25%).
    pub max_surge: Amount,
    /// Pods that may be unavailable during a rollout (Deployments; default 25%).
    pub max_unavailable: Amount,
    /// StatefulSet `podManagementPolicy` (ignored for Deployments; default ordered_ready).
    pub pod_management: PodManagement,
}

/// A count or a percentage of the replica target (rounded up for surge, down for unavailable,
/// as Kubernetes does).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Amount {
    /// An absolute count.
    Count(u32),
    /// A percentage (0..=100 for surge up to any value).
    Percent(f64),
}

/// StatefulSet `podManagementPolicy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PodManagement {
    /// `OrderedReady`: create ordinal i+1 only when i is running.
    OrderedReady,
    /// `Parallel`: create all at once.
    Parallel,
}

/// A value over time: a constant, or piecewise-linear between points (held flat before the first
/// point and after the last).
#[derive(Debug, Clone, PartialEq)]
pub struct Curve {
    /// (time, value), strictly increasing in time; at least one point.
    pub points: Vec<(Millis, f64)>,
}

impl Curve {
    /// A constant.
    pub fn constant(value: f64) -> Self {
        Curve {
            points: vec![(0, value)],
        }
    }

    /// The value at `t`.
    pub fn at(&self, t: Millis) -> f64 {
        let points = &self.points;
        assert!(!points.is_empty(), "a curve has at least one point");
        if t <= points[0].0 {
            return points[0].1;
        }
        let after = points.partition_point(|&(time, _)| time <= t);
        if after == points.len() {
            return points[points.len() - 1].1;
        }
        let (t0, v0) = points[after - 1];
        let (t1, v1) = points[after];
        v0 + (v1 - v0) * ((t - t0) as f64 / (t1 - t0) as f64)
    }

    /// The largest value anywhere on the curve.
    pub fn max(&self) -> f64 {
        self.points.iter().map(|&(_, v)| v).fold(f64::MIN, f64::max)
    }

    /// Whether the value changes anywhere in `[from, until)`.
    pub fn changes_within(&self, from: Millis, until: Millis) -> bool {
        self.points.windows(2).any(|w| {
            let ((t0, v0), (t1, v1)) = (w[0], w[1]);
            v0 != v1 && t0 < until && t1 > from
        })
    }
}

/// Jobs: Poisson arrivals, one pod each.
#[derive(Debug, Clone, PartialEq)]
pub struct JobSpec {
    /// Arrivals per hour over time (`arrivals_per_hour`, a number or points).
    pub arrivals_per_hour: Curve,
    /// How long a job's pod runs once it has started.
    pub duration: JobDuration,
}

/// The run time of a job's pod.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum JobDuration {
    /// Exponential with this mean (`duration`).
    Exponential {
        /// Mean.
        mean_ms: Millis,
    },
    /// Log-normal through these percentiles (`duration_p50`, `duration_p99`).
    LogNormal {
        /// Median.
        p50_ms: Millis,
        /// 99th percentile (> p50).
        p99_ms: Millis,
    },
}

/// An operator action at a point in time.
#[derive(Debug, Clone, PartialEq)]
pub struct Action {
    /// When.
    pub at_ms: Millis,
    /// What.
    pub kind: ActionKind,
    /// Index of the `[[action]]` entry in the file (for labels and messages).
    pub file_index: usize,
}

/// The things an operator does.
#[derive(Debug, Clone, PartialEq)]
pub enum ActionKind {
    /// The vSwitch (index into [`Scenario::vswitches`]) is created in the VPC.
    AddVSwitch(usize),
    /// `eni-config` is edited; index into [`Scenario::terway_configs`]. Running daemons keep
    /// their config until they restart.
    SetTerway(usize),
    /// The Terway DaemonSet restarts on every node.
    RestartTerway,
    /// A node pool's sizes change; `None` leaves a value as it is.
    ScaleNodePool {
        /// Index into [`Scenario::nodepools`].
        nodepool: usize,
        /// New desired node count (the autoscaler is floored and capped by min/max).
        nodes: Option<u32>,
        /// New autoscaler floor.
        min_nodes: Option<u32>,
        /// New autoscaler ceiling.
        max_nodes: Option<u32>,
    },
}

/// Something the scenario allows but a user probably did not mean. Printed on stderr.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// The key path, e.g. `terway.vswitches.cn-shanghai-f[1]`.
    pub key: String,
    /// 1-based line in the file, where known.
    pub line: Option<usize>,
    /// What is odd and what Terway or the model will do.
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}: {}", self.key, self.message),
            None => write!(f, "{}: {}", self.key, self.message),
        }
    }
}

/// Why a scenario was refused. Always fatal for the scenario: nothing is run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{}: {}{}", file.display(), line.map(|l| format!(":{l}")).unwrap_or_default(), key_prefix(key), message)]
pub struct ScenarioError {
    /// The scenario file.
    pub file: PathBuf,
    /// 1-based line, where known.
    pub line: Option<usize>,
    /// The key path, e.g. `vswitch[0].cidr`; empty for whole-file problems (unreadable, bad TOML).
    pub key: String,
    /// What is wrong, with a fix where one is obvious.
    pub message: String,
}

fn key_prefix(key: &str) -> String {
    if key.is_empty() {
        String::new()
    } else {
        format!("{key}: ")
    }
}

/// Reads and validates a scenario file.
pub fn load(path: &Path) -> Result<(Scenario, Vec<Warning>), ScenarioError> {
    let text = std::fs::read_to_string(path).map_err(|err| ScenarioError {
        file: path.to_path_buf(),
        line: None,
        key: String::new(),
        message: format!("cannot read the scenario: {err}"),
    })?;
    parse(path, &text)
}

/// Validates scenario text; `path` names it in messages and gives the default name.
pub fn parse(path: &Path, text: &str) -> Result<(Scenario, Vec<Warning>), ScenarioError> {
    let raw = file::parse(path, text)?;
    validate::validate(path, text, raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Worked by hand: a /24 has 256 addresses; the VPC keeps .0, .253, .254 and .255.
    #[test]
    fn usable_addresses_follow_the_vpc_reservation() {
        assert_eq!(usable_addresses(24), 252);
        assert_eq!(usable_addresses(29), 4);
        assert_eq!(usable_addresses(19), 8188);
        assert_eq!(usable_addresses(16), 65532);
    }

    #[test]
    fn curve_interpolates_and_holds_flat() {
        let curve = Curve {
            points: vec![(10, 100.0), (20, 200.0)],
        };
        assert_eq!(curve.at(0), 100.0);
        assert_eq!(curve.at(15), 150.0);
        assert_eq!(curve.at(20), 200.0);
        assert_eq!(curve.at(99), 200.0);
        assert!(curve.changes_within(0, 11));
        assert!(!curve.changes_within(20, 30));
        assert_eq!(curve.max(), 200.0);
    }
}
