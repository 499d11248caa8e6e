//! Cross-key rules; resolves names to indices.
//!
//! The order of the checks follows the dependencies between sections: `[scenario]` (the horizon
//! bounds every time), `[vpc]`, instance types, vSwitches (those of `[[vswitch]]` and those added
//! by actions, since Terway may name either), zones, `[terway]`, node pools (their default
//! primary vSwitch comes from `[terway]`), workloads, then actions in time order (each
//! `set_terway` is merged over the config as it stands). The first error ends validation; what
//! Terway itself accepts becomes a [`Warning`] and is modelled as Terway does it.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::RangeInclusive;
use std::path::Path;

use ipnet::Ipv4Net;

use super::file::{
    ActionEntry, AmountEntry, CurveEntry, GatesSection, Locator, NodePoolEntry, PlanningSection,
    ScenarioFile, TerwayEntry, VSwitchEntry, WorkloadEntry, key_segment, nearest,
};
use super::{
    Action, ActionKind, Amount, CloudTimings, Curve, DAY_MS, EniSelection, Gates, HOUR_MS,
    IdleReclaim, InstanceType, JobDuration, JobSpec, MAX_VSWITCH_PREFIX, MIN_VSWITCH_PREFIX,
    MINUTE_MS, Millis, NodePoolSpec, Planning, PodManagement, Replicated, SECOND_MS, Scenario,
    ScenarioError, TerwayConfig, VSwitchSelection, VSwitchSpec, Warning, WorkloadKind,
    format_duration, usable_addresses,
};
use crate::catalog::{self, ACK_MIN_POD_CAPACITY};

/// The shortest horizon worth simulating.
const MIN_HORIZON_MS: Millis = SECOND_MS;
/// Ten years: longer runs say more about the input than about Terway.
const MAX_HORIZON_MS: Millis = 3650 * DAY_MS;
/// Most samples a run may keep per series.
const MAX_SAMPLES: u64 = 100_000;
/// Sample intervals chosen when none is given.
const NICE_INTERVALS_MS: [Millis; 11] = [
    SECOND_MS,
    5 * SECOND_MS,
    10 * SECOND_MS,
    30 * SECOND_MS,
    MINUTE_MS,
    5 * MINUTE_MS,
    10 * MINUTE_MS,
    30 * MINUTE_MS,
    HOUR_MS,
    6 * HOUR_MS,
    DAY_MS,
];
const MAX_RUNS: i64 = 10_000;
const MAX_NODES: i64 = 100_000;
const MAX_COUNT: f64 = 10_000_000.0;
const MAX_POOL: i64 = 10_000;
const MAX_PODS: i64 = 10_000;
/// Secondary ENIs an ECS instance can have at most; `min_eni`/`max_eni` beyond are typos.
const MAX_ENIS: i64 = 64;
const VPC_PREFIXES: RangeInclusive<u8> = 8..=28;
const VSWITCH_PREFIXES: RangeInclusive<u8> = MIN_VSWITCH_PREFIX..=MAX_VSWITCH_PREFIX;
/// Terway's and ACK's defaults for `[terway]`.
const DEFAULT_MAX_POOL_SIZE: u32 = 5;
const DEFAULT_IP_POOL_SYNC_PERIOD_MS: Millis = 120 * SECOND_MS;
const DEFAULT_RECLAIM_INTERVAL_MS: Millis = 10 * MINUTE_MS;
/// A deleted pod usually stops within seconds of SIGTERM; its address goes at CNI DEL.
const DEFAULT_TERMINATION_GRACE_MS: Millis = 10 * SECOND_MS;
const MAX_TERMINATION_GRACE_MS: Millis = HOUR_MS;
const DEFAULT_RECLAIM_BATCH_SIZE: u32 = 5;
const DEFAULT_RECLAIM_JITTER: f64 = 0.1;
const DEFAULT_BOOT_TIME_MS: Millis = 2 * MINUTE_MS;
const DEFAULT_ROLLOUT_AMOUNT: Amount = Amount::Percent(25.0);

/// Checks every rule that spans keys and resolves names to indices. `text` is the file's text,
/// re-read for the lines of the keys that messages name.
pub fn validate(
    path: &Path,
    text: &str,
    raw: ScenarioFile,
) -> Result<(Scenario, Vec<Warning>), ScenarioError> {
    let mut checker = Checker {
        path,
        locator: Locator::new(text),
        warnings: Vec::new(),
    };
    let scenario = checker.scenario(raw)?;
    Ok((scenario, checker.warnings))
}

struct Checker<'a> {
    path: &'a Path,
    locator: Locator,
    warnings: Vec<Warning>,
}

/// A vSwitch as written, with where it was written.
struct VSwitchSource<'a> {
    /// `vswitch[0]` or `action[3].add_vswitch`.
    key: String,
    entry: &'a VSwitchEntry,
    created_at_ms: Option<Millis>,
}

/// The vSwitches once resolved, for name look-ups.
struct VSwitches<'a> {
    specs: Vec<VSwitchSpec>,
    keys: Vec<String>,
    by_id: BTreeMap<&'a str, usize>,
    ids: Vec<&'a str>,
}

/// Terway's config as it stands, including reclaim settings kept while reclaim is off (a later
/// `set_terway` may turn it on and inherit them).
#[derive(Clone)]
struct TerwayState {
    config: TerwayConfig,
    reclaim_after_ms: Option<Millis>,
    reclaim_interval_ms: Millis,
    reclaim_batch_size: u32,
    reclaim_jitter_factor: f64,
}

impl TerwayState {
    fn new() -> Self {
        TerwayState {
            config: TerwayConfig {
                vswitches: BTreeMap::new(),
                vswitch_selection: VSwitchSelection::Random,
                eni_selection: EniSelection::MostIps,
                max_pool_size: DEFAULT_MAX_POOL_SIZE,
                min_pool_size: 0,
                min_eni: 0,
                max_eni: 0,
                ip_pool_sync_period_ms: DEFAULT_IP_POOL_SYNC_PERIOD_MS,
                idle_ip_reclaim: None,
            },
            reclaim_after_ms: None,
            reclaim_interval_ms: DEFAULT_RECLAIM_INTERVAL_MS,
            reclaim_batch_size: DEFAULT_RECLAIM_BATCH_SIZE,
            reclaim_jitter_factor: DEFAULT_RECLAIM_JITTER,
        }
    }

    fn resolved(&self) -> TerwayConfig {
        let mut config = self.config.clone();
        config.idle_ip_reclaim = self.reclaim_after_ms.map(|after_ms| IdleReclaim {
            after_ms,
            interval_ms: self.reclaim_interval_ms,
            batch_size: self.reclaim_batch_size,
            jitter_factor: self.reclaim_jitter_factor,
        });
        config
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Deployment,
    StatefulSet,
    Job,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Deployment => "deployment",
            Kind::StatefulSet => "statefulset",
            Kind::Job => "job",
        }
    }
}

impl Checker<'_> {
    fn err(&self, key: impl Into<String>, message: impl Into<String>) -> ScenarioError {
        let key = key.into();
        ScenarioError {
            file: self.path.to_path_buf(),
            line: self.locator.line(&key),
            key,
            message: message.into(),
        }
    }

    fn warn(&mut self, key: impl Into<String>, message: impl Into<String>) {
        let key = key.into();
        self.warnings.push(Warning {
            line: self.locator.line(&key),
            key,
            message: message.into(),
        });
    }

    /// An integer within `range`, as a `u32` (every range here is non-negative and small).
    fn int(&self, key: &str, value: i64, range: RangeInclusive<i64>) -> Result<u32, ScenarioError> {
        let (low, high) = (*range.start(), *range.end());
        if value < 0 && low >= 0 {
            return Err(self.err(key, format!("must not be negative, got {value}")));
        }
        if !range.contains(&value) {
            let message = if low == 0 {
                format!("must be at most {high}, got {value}")
            } else {
                format!("must be between {low} and {high}, got {value}")
            };
            return Err(self.err(key, message));
        }
        u32::try_from(value).map_err(|_| self.err(key, format!("{value} is too large")))
    }

    /// A finite number within `range`.
    fn number(
        &self,
        key: &str,
        value: f64,
        range: RangeInclusive<f64>,
    ) -> Result<f64, ScenarioError> {
        if !value.is_finite() {
            return Err(self.err(key, format!("must be a finite number, got {value}")));
        }
        if !range.contains(&value) {
            return Err(self.err(
                key,
                format!(
                    "must be between {} and {}, got {value}",
                    range.start(),
                    range.end()
                ),
            ));
        }
        Ok(value)
    }

    fn not_empty(&self, key: &str, value: &str, what: &str) -> Result<(), ScenarioError> {
        if value.trim().is_empty() {
            return Err(self.err(key, format!("{what} must not be empty")));
        }
        Ok(())
    }

    /// A duration of at least `min_ms`.
    fn at_least(
        &self,
        key: &str,
        value_ms: Millis,
        min_ms: Millis,
    ) -> Result<Millis, ScenarioError> {
        if value_ms < min_ms {
            return Err(self.err(
                key,
                format!(
                    "must be at least {}, got {}",
                    format_duration(min_ms),
                    format_duration(value_ms)
                ),
            ));
        }
        Ok(value_ms)
    }

    /// An IPv4 block with its mask in `prefixes`; `what` names it in messages.
    fn cidr(
        &self,
        key: &str,
        text: &str,
        prefixes: RangeInclusive<u8>,
        what: &str,
    ) -> Result<Ipv4Net, ScenarioError> {
        let net: Ipv4Net = text.trim().parse().map_err(|_| {
            if text.contains('/') {
                self.err(
                    key,
                    format!("`{text}` is not an IPv4 CIDR block such as \"10.0.0.0/24\""),
                )
            } else {
                self.err(
                    key,
                    format!("`{text}` has no mask; write a block such as \"10.0.0.0/24\""),
                )
            }
        })?;
        if net.trunc() != net {
            return Err(self.err(
                key,
                format!("`{text}` has host bits set; the block is `{}`", net.trunc()),
            ));
        }
        if !prefixes.contains(&net.prefix_len()) {
            return Err(self.err(
                key,
                format!(
                    "mask /{} is outside /{}../{} that Alibaba Cloud allows for {what}",
                    net.prefix_len(),
                    prefixes.start(),
                    prefixes.end()
                ),
            ));
        }
        Ok(net)
    }

    /// "unknown X `name`" with a suggestion or the list of known names.
    fn unknown<'n>(
        &self,
        key: &str,
        what: &str,
        name: &str,
        known: impl IntoIterator<Item = &'n str> + Clone,
    ) -> ScenarioError {
        let message = match nearest(name, known.clone()) {
            Some(near) => format!("unknown {what} `{name}`, did you mean `{near}`?"),
            None => {
                let list: Vec<&str> = known.into_iter().take(12).collect();
                if list.is_empty() {
                    format!("unknown {what} `{name}`; the scenario defines none")
                } else {
                    format!("unknown {what} `{name}`; known: {}", list.join(", "))
                }
            }
        };
        self.err(key, message)
    }

    fn scenario(&mut self, raw: ScenarioFile) -> Result<Scenario, ScenarioError> {
        let section = &raw.scenario;
        let name = match &section.name {
            Some(name) => {
                self.not_empty("scenario.name", name, "the name")?;
                name.clone()
            }
            None => self
                .path
                .file_stem()
                .map(|stem| stem.to_string_lossy().into_owned())
                .filter(|stem| !stem.is_empty())
                .unwrap_or_else(|| "scenario".to_string()),
        };
        let horizon_ms = section.horizon.0;
        if !(MIN_HORIZON_MS..=MAX_HORIZON_MS).contains(&horizon_ms) {
            return Err(self.err(
                "scenario.horizon",
                format!(
                    "must be at least 1s and at most 3650d (10 years), got {}",
                    format_duration(horizon_ms)
                ),
            ));
        }
        let seed = match section.seed {
            Some(seed) => u64::try_from(seed).map_err(|_| {
                self.err("scenario.seed", format!("must not be negative, got {seed}"))
            })?,
            None => 1,
        };
        let runs = match section.runs {
            Some(runs) => self.int("scenario.runs", runs, 1..=MAX_RUNS)?,
            None => 1,
        };
        let sample_interval_ms = match section.sample_interval {
            Some(interval) => self.sample_interval(interval.0, horizon_ms)?,
            None => default_sample_interval(horizon_ms),
        };

        let vpc_cidrs = self.vpc(&raw)?;
        let instance_types = self.instance_types(&raw)?;
        self.actions_alone(&raw.action, horizon_ms)?;
        self.nodepool_zones(&raw.nodepool)?;

        let mut sources: Vec<VSwitchSource> = raw
            .vswitch
            .iter()
            .enumerate()
            .map(|(i, entry)| VSwitchSource {
                key: format!("vswitch[{i}]"),
                entry,
                created_at_ms: None,
            })
            .collect();
        let mut added_vswitch = BTreeMap::new();
        for (i, action) in raw.action.iter().enumerate() {
            if let Some(entry) = &action.add_vswitch {
                added_vswitch.insert(i, sources.len());
                sources.push(VSwitchSource {
                    key: format!("action[{i}].add_vswitch"),
                    entry,
                    created_at_ms: Some(action.at.0),
                });
            }
        }
        self.vswitch_entries(&sources, &vpc_cidrs)?;

        let zones: Vec<String> = sources
            .iter()
            .map(|source| source.entry.zone.clone())
            .chain(
                raw.nodepool
                    .iter()
                    .flat_map(|pool| pool.zones.iter().cloned()),
            )
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let zone_index = |zone: &str| zones.binary_search_by(|z| z.as_str().cmp(zone)).ok();

        let mut vswitches = VSwitches {
            specs: Vec::with_capacity(sources.len()),
            keys: Vec::with_capacity(sources.len()),
            by_id: BTreeMap::new(),
            ids: Vec::new(),
        };
        for source in &sources {
            let entry = source.entry;
            let cidr = self.cidr(
                &format!("{}.cidr", source.key),
                &entry.cidr,
                VSWITCH_PREFIXES,
                "a vSwitch",
            )?;
            let used_by_others = match entry.used_by_others {
                Some(used) => self.int(
                    &format!("{}.used_by_others", source.key),
                    used,
                    0..=i64::from(usable_addresses(cidr.prefix_len())),
                )?,
                None => 0,
            };
            let zone = zone_index(&entry.zone)
                .ok_or_else(|| self.err(format!("{}.zone", source.key), "unknown zone"))?;
            vswitches
                .by_id
                .insert(entry.id.as_str(), vswitches.specs.len());
            vswitches.ids.push(entry.id.as_str());
            vswitches.keys.push(source.key.clone());
            vswitches.specs.push(VSwitchSpec {
                id: entry.id.clone(),
                zone,
                cidr,
                used_by_others,
                created_at_ms: source.created_at_ms,
            });
        }

        let mut terway = TerwayState::new();
        let default_terway = TerwayEntry::default();
        let terway_entry = raw.terway.as_ref().unwrap_or(&default_terway);
        self.apply_terway("terway", terway_entry, &mut terway, &vswitches, &zones)?;
        let first_config = terway.resolved();

        let nodepools = self.nodepools(
            &raw.nodepool,
            &instance_types,
            &vswitches,
            &zones,
            &first_config,
        )?;
        self.pool_capacity_warnings(
            "terway.max_pool_size",
            first_config.max_pool_size,
            &nodepools,
            &instance_types,
        );
        self.idle_zone_warnings(&vswitches, &nodepools, &zones);

        let workloads = self.workloads(&raw.workload, &nodepools)?;

        let mut terway_configs = vec![first_config];
        let actions = self.actions(
            &raw.action,
            &added_vswitch,
            &nodepools,
            &instance_types,
            &vswitches,
            &zones,
            terway,
            &mut terway_configs,
        )?;
        self.unlisted_vswitch_warnings(&raw.action, &added_vswitch, &vswitches, &terway_configs);

        let cloud = raw.cloud.clone().unwrap_or_default();
        let cloud = CloudTimings {
            create_eni_ms: cloud.create_eni.map_or(3 * SECOND_MS, |d| d.0),
            assign_ips_ms: cloud.assign_ips.map_or(SECOND_MS, |d| d.0),
            unassign_ips_ms: cloud.unassign_ips.map_or(SECOND_MS, |d| d.0),
            delete_eni_ms: cloud.delete_eni.map_or(7 * SECOND_MS, |d| d.0),
            api_error_ms: cloud.api_error.map_or(500, |d| d.0),
        };

        let planning = self.planning(raw.planning.clone().unwrap_or_default())?;
        let gates = self.gates(raw.gates.clone().unwrap_or_default())?;

        let scenario = Scenario {
            name,
            source: self.path.to_path_buf(),
            planning,
            gates,
            horizon_ms,
            seed,
            runs,
            sample_interval_ms,
            vpc_cidrs,
            zones,
            vswitches: vswitches.specs,
            terway_configs,
            cloud,
            instance_types,
            nodepools,
            workloads,
            actions,
        };
        scenario.check_memory().map_err(|error| ScenarioError {
            line: self.locator.line(&error.key),
            ..error
        })?;
        Ok(scenario)
    }

    fn planning(&self, section: PlanningSection) -> Result<Planning, ScenarioError> {
        let percentile = match section.percentile {
            Some(p) => self.number("planning.percentile", p, 1.0..=100.0)?,
            None => 90.0,
        };
        let headroom = match section.headroom {
            Some(h) => self.number("planning.headroom", h, 0.0..=10.0)?,
            None => 0.2,
        };
        let lead_time_ms = section.lead_time.map_or(7 * DAY_MS, |d| d.0);
        if lead_time_ms > MAX_HORIZON_MS {
            return Err(self.err(
                "planning.lead_time",
                format!(
                    "must be at most 3650d, got {}",
                    format_duration(lead_time_ms)
                ),
            ));
        }
        Ok(Planning {
            percentile,
            headroom,
            lead_time_ms,
        })
    }

    fn gates(&self, section: GatesSection) -> Result<Gates, ScenarioError> {
        let percentile = match section.percentile {
            Some(p) => self.number("gates.percentile", p, 1.0..=100.0)?,
            None => 90.0,
        };
        let min_time_to_shortage_ms = match section.min_time_to_shortage {
            Some(d) if d.0 > MAX_HORIZON_MS => {
                return Err(self.err(
                    "gates.min_time_to_shortage",
                    format!("must be at most 3650d, got {}", format_duration(d.0)),
                ));
            }
            other => other.map(|d| d.0),
        };
        let max_vswitch_utilization = match section.max_vswitch_utilization {
            Some(u) => Some(self.number("gates.max_vswitch_utilization", u, 0.0..=1.0)?),
            None => None,
        };
        let max_pods_pending_ip = match section.max_pods_pending_ip {
            Some(n) => Some(self.int("gates.max_pods_pending_ip", n, 0..=MAX_COUNT as i64)?),
            None => None,
        };
        Ok(Gates {
            percentile,
            min_time_to_shortage_ms,
            max_vswitch_utilization,
            max_pods_pending_ip,
        })
    }

    fn sample_interval(
        &self,
        interval_ms: Millis,
        horizon_ms: Millis,
    ) -> Result<Millis, ScenarioError> {
        let key = "scenario.sample_interval";
        self.at_least(key, interval_ms, SECOND_MS)?;
        if interval_ms > horizon_ms {
            return Err(self.err(
                key,
                format!(
                    "{} is longer than the horizon {}",
                    format_duration(interval_ms),
                    format_duration(horizon_ms)
                ),
            ));
        }
        let samples = horizon_ms / interval_ms + 1;
        if samples > MAX_SAMPLES {
            let shortest = horizon_ms / MAX_SAMPLES + 1;
            return Err(self.err(
                key,
                format!(
                    "{} gives {samples} samples per run over {}; at most {MAX_SAMPLES} are allowed, use {} or more",
                    format_duration(interval_ms),
                    format_duration(horizon_ms),
                    format_duration(shortest.div_ceil(SECOND_MS) * SECOND_MS)
                ),
            ));
        }
        Ok(interval_ms)
    }

    fn vpc(&self, raw: &ScenarioFile) -> Result<Vec<Ipv4Net>, ScenarioError> {
        let Some(vpc) = &raw.vpc else {
            return Ok(Vec::new());
        };
        let mut blocks = Vec::new();
        match &vpc.cidr {
            Some(cidr) => blocks.push(self.cidr("vpc.cidr", cidr, VPC_PREFIXES, "a VPC block")?),
            None if !vpc.secondary_cidrs.is_empty() => {
                return Err(self.err(
                    "vpc.cidr",
                    "secondary_cidrs need the primary `cidr` of the VPC",
                ));
            }
            None => {}
        }
        for (i, cidr) in vpc.secondary_cidrs.iter().enumerate() {
            let key = format!("vpc.secondary_cidrs[{i}]");
            let block = self.cidr(&key, cidr, VPC_PREFIXES, "a VPC block")?;
            if let Some(other) = blocks.iter().find(|other| overlaps(other, &block)) {
                return Err(self.err(&key, format!("{block} overlaps the VPC block {other}")));
            }
            blocks.push(block);
        }
        Ok(blocks)
    }

    fn instance_types(
        &self,
        raw: &ScenarioFile,
    ) -> Result<BTreeMap<String, InstanceType>, ScenarioError> {
        let mut types = catalog::builtin();
        for (name, entry) in &raw.instance_type {
            let prefix = format!("instance_type.{}", key_segment(name));
            self.not_empty(&prefix, name, "an instance type name")?;
            let existing = types.get(name).cloned();
            let required = |field: &str| {
                self.err(
                    format!("{prefix}.{field}"),
                    format!("missing required key `{field}`; a new instance type needs vcpu, memory_gib, eni_quantity and ipv4_per_eni"),
                )
            };
            let int_or = |field: &str,
                          value: Option<i64>,
                          old: Option<u32>,
                          range: RangeInclusive<i64>|
             -> Result<u32, ScenarioError> {
                match value {
                    Some(value) => self.int(&format!("{prefix}.{field}"), value, range),
                    None => old.ok_or_else(|| required(field)),
                }
            };
            let vcpu = int_or(
                "vcpu",
                entry.vcpu,
                existing.as_ref().map(|t| t.vcpu),
                1..=1024,
            )?;
            let eni_quantity = int_or(
                "eni_quantity",
                entry.eni_quantity,
                existing.as_ref().map(|t| t.eni_quantity),
                2..=64,
            )?;
            let ipv4_per_eni = int_or(
                "ipv4_per_eni",
                entry.ipv4_per_eni,
                existing.as_ref().map(|t| t.ipv4_per_eni),
                1..=100,
            )?;
            let memory_mib = match entry.memory_gib {
                Some(gib) => {
                    let key = format!("{prefix}.memory_gib");
                    let gib = self.number(&key, gib, 0.0..=65536.0)?;
                    if gib == 0.0 {
                        return Err(self.err(key, "must be above 0"));
                    }
                    // At most 2^26 MiB, so the float holds it exactly.
                    (gib * 1024.0).ceil() as u64
                }
                None => existing
                    .as_ref()
                    .map(|t| t.memory_mib)
                    .ok_or_else(|| required("memory_gib"))?,
            };
            types.insert(
                name.clone(),
                InstanceType {
                    name: name.clone(),
                    vcpu,
                    memory_mib,
                    eni_quantity,
                    ipv4_per_eni,
                },
            );
        }
        Ok(types)
    }

    /// The checks of each `[[action]]` that need nothing else: `at` and exactly one kind.
    fn actions_alone(
        &self,
        actions: &[ActionEntry],
        horizon_ms: Millis,
    ) -> Result<(), ScenarioError> {
        for (i, action) in actions.iter().enumerate() {
            let prefix = format!("action[{i}]");
            if action.at.0 > horizon_ms {
                return Err(self.err(
                    format!("{prefix}.at"),
                    format!(
                        "{} is after the horizon {}",
                        format_duration(action.at.0),
                        format_duration(horizon_ms)
                    ),
                ));
            }
            let given: Vec<&str> = [
                ("add_vswitch", action.add_vswitch.is_some()),
                ("set_terway", action.set_terway.is_some()),
                ("restart_terway", action.restart_terway.is_some()),
                ("scale_nodepool", action.scale_nodepool.is_some()),
            ]
            .into_iter()
            .filter_map(|(name, given)| given.then_some(name))
            .collect();
            match given.as_slice() {
                [] => {
                    return Err(self.err(
                        prefix,
                        "an action needs one of add_vswitch, set_terway, restart_terway or scale_nodepool",
                    ));
                }
                [_] => {}
                [first, second, ..] => {
                    return Err(self.err(
                        format!("{prefix}.{second}"),
                        format!("an action does one thing; put `{first}` and `{second}` in separate [[action]] entries (same `at` is fine)"),
                    ));
                }
            }
            if action.restart_terway == Some(false) {
                return Err(self.err(
                    format!("{prefix}.restart_terway"),
                    "must be true; remove the action to not restart",
                ));
            }
        }
        Ok(())
    }

    /// Zone lists of node pools, checked before zones are collected from them.
    fn nodepool_zones(&self, pools: &[NodePoolEntry]) -> Result<(), ScenarioError> {
        for (i, pool) in pools.iter().enumerate() {
            let key = format!("nodepool[{i}].zones");
            if pool.zones.is_empty() {
                return Err(self.err(key, "a node pool needs at least one zone"));
            }
            for (j, zone) in pool.zones.iter().enumerate() {
                let zone_key = format!("{key}[{j}]");
                self.not_empty(&zone_key, zone, "a zone name")?;
                if let Some(first) = pool.zones[..j].iter().position(|z| z == zone) {
                    return Err(self.err(
                        zone_key,
                        format!("zone `{zone}` is listed twice (also {key}[{first}])"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Ids, zones, blocks and overlaps of every vSwitch, those added by actions included.
    fn vswitch_entries(
        &self,
        sources: &[VSwitchSource],
        vpc: &[Ipv4Net],
    ) -> Result<(), ScenarioError> {
        let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
        let mut blocks: Vec<(Ipv4Net, &VSwitchSource)> = Vec::new();
        for source in sources {
            let entry = source.entry;
            let id_key = format!("{}.id", source.key);
            self.not_empty(&id_key, &entry.id, "a vSwitch id")?;
            if let Some(other) = seen.insert(&entry.id, &source.key) {
                return Err(self.err(
                    id_key,
                    format!("duplicate vSwitch id `{}` (also {other})", entry.id),
                ));
            }
            self.not_empty(&format!("{}.zone", source.key), &entry.zone, "a zone name")?;
            let cidr_key = format!("{}.cidr", source.key);
            let block = self.cidr(&cidr_key, &entry.cidr, VSWITCH_PREFIXES, "a vSwitch")?;
            if !vpc.is_empty() && !vpc.iter().any(|vpc_block| vpc_block.contains(&block)) {
                let list: Vec<String> = vpc.iter().map(Ipv4Net::to_string).collect();
                return Err(self.err(
                    cidr_key,
                    format!(
                        "{block} is outside the VPC blocks ({}); a vSwitch must lie inside one",
                        list.join(", ")
                    ),
                ));
            }
            blocks.push((block, source));
        }
        if let Some((later, earlier)) = first_overlap(&blocks) {
            let ((block, source), (other_block, other)) = (&blocks[later], &blocks[earlier]);
            return Err(self.err(
                format!("{}.cidr", source.key),
                format!(
                    "{block} of `{}` overlaps {other_block} of `{}` ({})",
                    source.entry.id, other.entry.id, other.key
                ),
            ));
        }
        Ok(())
    }

    /// Merges a `[terway]` table or a `set_terway` patch over `state`: every given key replaces
    /// the one before (a given `vswitches` replaces the whole map).
    fn apply_terway(
        &mut self,
        prefix: &str,
        patch: &TerwayEntry,
        state: &mut TerwayState,
        vswitches: &VSwitches,
        zones: &[String],
    ) -> Result<(), ScenarioError> {
        let key = |field: &str| format!("{prefix}.{field}");
        if let Some(map) = &patch.vswitches {
            let mut resolved = BTreeMap::new();
            for (zone, ids) in map {
                let zone_key = format!("{prefix}.vswitches.{}", key_segment(zone));
                self.not_empty(&zone_key, zone, "a zone name")?;
                let zone_index = zones.iter().position(|z| z == zone);
                let mut list = Vec::with_capacity(ids.len());
                for (j, id) in ids.iter().enumerate() {
                    let id_key = format!("{zone_key}[{j}]");
                    let Some(&index) = vswitches.by_id.get(id.as_str()) else {
                        return Err(self.unknown(
                            &id_key,
                            "vSwitch",
                            id,
                            vswitches.ids.iter().copied(),
                        ));
                    };
                    let spec = &vswitches.specs[index];
                    if zone_index.is_some_and(|z| z != spec.zone) {
                        self.warn(
                            id_key,
                            format!(
                                "vSwitch `{id}` is in zone `{}`, not `{zone}`; Terway skips it for nodes in `{zone}`",
                                zones[spec.zone]
                            ),
                        );
                    }
                    list.push(index);
                }
                if zone_index.is_none() {
                    let hint = nearest(zone, zones.iter().map(String::as_str))
                        .map(|near| format!(" (did you mean `{near}`?)"))
                        .unwrap_or_default();
                    self.warn(
                        zone_key,
                        format!("no vSwitch or node pool is in zone `{zone}`; Terway never uses this entry{hint}"),
                    );
                }
                resolved.insert(zone.clone(), list);
            }
            state.config.vswitches = resolved;
        }
        if let Some(policy) = &patch.vswitch_selection_policy {
            state.config.vswitch_selection = if policy == "ordered" {
                VSwitchSelection::Ordered
            } else {
                VSwitchSelection::Random
            };
            if policy != "ordered" && policy != "random" {
                let hint = nearest(policy, ["ordered", "random"])
                    .map(|near| format!(" (did you mean `{near}`?)"))
                    .unwrap_or_default();
                self.warn(
                    key("vswitch_selection_policy"),
                    format!("`{policy}` is neither `ordered` nor `random`; Terway treats it as random{hint}"),
                );
            }
        }
        if let Some(policy) = &patch.eni_selection_policy {
            state.config.eni_selection = match policy.as_str() {
                "most_ips" => EniSelection::MostIps,
                "least_ips" => EniSelection::LeastIps,
                other => {
                    let near = nearest(other, ["most_ips", "least_ips"])
                        .map(|near| format!(", did you mean `{near}`?"))
                        .unwrap_or_else(|| ", expected `most_ips` or `least_ips`".to_string());
                    return Err(self.err(
                        key("eni_selection_policy"),
                        format!("unknown eni_selection_policy `{other}`{near}"),
                    ));
                }
            };
        }
        if let Some(size) = patch.max_pool_size {
            state.config.max_pool_size = self.int(&key("max_pool_size"), size, 0..=MAX_POOL)?;
        }
        if let Some(size) = patch.min_pool_size {
            state.config.min_pool_size = self.int(&key("min_pool_size"), size, 0..=MAX_POOL)?;
        }
        if let Some(period) = patch.ip_pool_sync_period {
            state.config.ip_pool_sync_period_ms =
                self.at_least(&key("ip_pool_sync_period"), period.0, SECOND_MS)?;
        }
        if let Some(count) = patch.min_eni {
            state.config.min_eni = self.int(&key("min_eni"), count, 0..=MAX_ENIS)?;
        }
        if let Some(count) = patch.max_eni {
            state.config.max_eni = self.int(&key("max_eni"), count, 0..=MAX_ENIS)?;
        }
        if let Some(after) = patch.idle_ip_reclaim_after {
            // "0s" is how a patch turns reclaim back off: TOML has no null to unset a key.
            state.reclaim_after_ms = (after.0 > 0).then_some(after.0);
        }
        if let Some(interval) = patch.idle_ip_reclaim_interval {
            state.reclaim_interval_ms =
                self.at_least(&key("idle_ip_reclaim_interval"), interval.0, SECOND_MS)?;
        }
        if let Some(batch) = patch.idle_ip_reclaim_batch_size {
            state.reclaim_batch_size =
                self.int(&key("idle_ip_reclaim_batch_size"), batch, 1..=MAX_POOL)?;
        }
        if let Some(jitter) = patch.idle_ip_reclaim_jitter_factor {
            state.reclaim_jitter_factor =
                self.number(&key("idle_ip_reclaim_jitter_factor"), jitter, 0.0..=10.0)?;
        }
        let (min, max) = (state.config.min_pool_size, state.config.max_pool_size);
        if (patch.min_pool_size.is_some() || patch.max_pool_size.is_some()) && min > max {
            let field = if patch.min_pool_size.is_some() {
                "min_pool_size"
            } else {
                "max_pool_size"
            };
            self.warn(
                key(field),
                format!("min_pool_size {min} is above max_pool_size {max}; Terway caps min_pool_size at {max}"),
            );
        }
        Ok(())
    }

    fn nodepools(
        &mut self,
        pools: &[NodePoolEntry],
        instance_types: &BTreeMap<String, InstanceType>,
        vswitches: &VSwitches,
        zones: &[String],
        terway: &TerwayConfig,
    ) -> Result<Vec<NodePoolSpec>, ScenarioError> {
        let mut names: BTreeMap<&str, usize> = BTreeMap::new();
        let mut specs = Vec::with_capacity(pools.len());
        for (i, pool) in pools.iter().enumerate() {
            let prefix = format!("nodepool[{i}]");
            let name_key = format!("{prefix}.name");
            self.not_empty(&name_key, &pool.name, "a node pool name")?;
            if let Some(other) = names.insert(&pool.name, i) {
                return Err(self.err(
                    name_key,
                    format!(
                        "duplicate node pool name `{}` (also nodepool[{other}])",
                        pool.name
                    ),
                ));
            }

            let type_key = format!("{prefix}.instance_type");
            let Some(instance_type) = instance_types.get(&pool.instance_type) else {
                let mut error = self.unknown(
                    &type_key,
                    "instance type",
                    &pool.instance_type,
                    instance_types.keys().map(String::as_str),
                );
                if !error.message.contains("did you mean") {
                    error.message = format!(
                        "unknown instance type `{}`; define it under [instance_type.\"{}\"] or use a built-in one such as `ecs.g7.xlarge`",
                        pool.instance_type, pool.instance_type
                    );
                }
                return Err(error);
            };
            if !instance_type.ack_accepts() {
                self.warn(
                    type_key,
                    format!(
                        "a `{}` node holds ({} - 1) x {} = {} pods; ACK refuses nodes of {ACK_MIN_POD_CAPACITY} or fewer in ENI multi-IP mode (simulated anyway)",
                        instance_type.name,
                        instance_type.eni_quantity,
                        instance_type.ipv4_per_eni,
                        instance_type.pod_capacity()
                    ),
                );
            }

            let zone_indices: Vec<usize> = pool
                .zones
                .iter()
                .filter_map(|zone| zones.iter().position(|z| z == zone))
                .collect();

            let explicit = pool.node_vswitch.clone().unwrap_or_default();
            for (zone, id) in &explicit {
                let key = format!("{prefix}.node_vswitch.{}", key_segment(zone));
                if !pool.zones.contains(zone) {
                    return Err(self.err(
                        key,
                        format!(
                            "zone `{zone}` is not one of the pool's zones ({})",
                            pool.zones.join(", ")
                        ),
                    ));
                }
                let Some(&index) = vswitches.by_id.get(id.as_str()) else {
                    return Err(self.unknown(&key, "vSwitch", id, vswitches.ids.iter().copied()));
                };
                let spec = &vswitches.specs[index];
                if zones[spec.zone] != *zone {
                    return Err(self.err(
                        key,
                        format!(
                            "vSwitch `{id}` is in zone `{}`, not `{zone}`",
                            zones[spec.zone]
                        ),
                    ));
                }
                if let Some(at) = spec.created_at_ms {
                    return Err(self.err(
                        key,
                        format!(
                            "vSwitch `{id}` only exists from {} ({}); a node's primary vSwitch must exist from the start",
                            format_duration(at),
                            vswitches.keys[index]
                        ),
                    ));
                }
            }

            let mut node_vswitch = Vec::with_capacity(zone_indices.len());
            for (j, (zone, &zone_index)) in pool.zones.iter().zip(&zone_indices).enumerate() {
                let from_start_in_zone = |&index: &usize| {
                    let spec = &vswitches.specs[index];
                    spec.zone == zone_index && spec.created_at_ms.is_none()
                };
                let listed = terway.vswitches.get(zone);
                let chosen = explicit
                    .get(zone)
                    .and_then(|id| vswitches.by_id.get(id.as_str()).copied())
                    .or_else(|| {
                        listed.and_then(|list| list.iter().copied().find(from_start_in_zone))
                    })
                    .or_else(|| (0..vswitches.specs.len()).find(from_start_in_zone));
                let Some(chosen) = chosen else {
                    return Err(self.err(
                        format!("{prefix}.zones[{j}]"),
                        format!("no vSwitch in zone `{zone}` for the nodes' primary ENI; add a [[vswitch]] in that zone or set node_vswitch"),
                    ));
                };
                let terway_has_zone = listed.is_some_and(|list| {
                    list.iter()
                        .any(|&index| vswitches.specs[index].zone == zone_index)
                });
                if !terway_has_zone {
                    self.warn(
                        format!("{prefix}.zones[{j}]"),
                        format!(
                            "terway.vswitches lists no vSwitch in zone `{zone}`; Terway falls back to the node's primary vSwitch `{}` for pods",
                            vswitches.specs[chosen].id
                        ),
                    );
                }
                node_vswitch.push(chosen);
            }

            let count = |field: &str, value: Option<i64>| -> Result<Option<u32>, ScenarioError> {
                value
                    .map(|value| self.int(&format!("{prefix}.{field}"), value, 0..=MAX_NODES))
                    .transpose()
            };
            let nodes = count("nodes", pool.nodes)?.unwrap_or(0);
            let min_nodes = count("min_nodes", pool.min_nodes)?.unwrap_or(nodes);
            let max_nodes = count("max_nodes", pool.max_nodes)?.unwrap_or(nodes.max(min_nodes));
            if min_nodes > nodes {
                return Err(self.err(
                    format!("{prefix}.min_nodes"),
                    format!("min_nodes {min_nodes} is above nodes {nodes}"),
                ));
            }
            if nodes > max_nodes {
                return Err(self.err(
                    format!("{prefix}.max_nodes"),
                    format!("max_nodes {max_nodes} is below nodes {nodes}"),
                ));
            }
            let max_pods = match pool.max_pods {
                Some(max) => self.int(&format!("{prefix}.max_pods"), max, 0..=MAX_PODS)?,
                None => 0,
            };
            specs.push(NodePoolSpec {
                name: pool.name.clone(),
                instance_type: pool.instance_type.clone(),
                zones: zone_indices,
                node_vswitch,
                nodes,
                min_nodes,
                max_nodes,
                boot_time_ms: pool.boot_time.map_or(DEFAULT_BOOT_TIME_MS, |d| d.0),
                max_pods,
            });
        }
        Ok(specs)
    }

    fn pool_capacity_warnings(
        &mut self,
        key: &str,
        max_pool_size: u32,
        pools: &[NodePoolSpec],
        instance_types: &BTreeMap<String, InstanceType>,
    ) {
        for pool in pools {
            let Some(instance_type) = instance_types.get(&pool.instance_type) else {
                continue;
            };
            let capacity = instance_type.pod_capacity();
            if max_pool_size > capacity {
                self.warn(
                    key,
                    format!(
                        "max_pool_size {max_pool_size} is above the {capacity} addresses a node of pool `{}` ({}) can hold; Terway caps the pool there",
                        pool.name, instance_type.name
                    ),
                );
            }
        }
    }

    fn idle_zone_warnings(
        &mut self,
        vswitches: &VSwitches,
        pools: &[NodePoolSpec],
        zones: &[String],
    ) {
        for (zone_index, zone) in zones.iter().enumerate() {
            let first = vswitches
                .specs
                .iter()
                .position(|spec| spec.zone == zone_index);
            let used = pools.iter().any(|pool| pool.zones.contains(&zone_index));
            if let (Some(first), false) = (first, used) {
                self.warn(
                    format!("{}.zone", vswitches.keys[first]),
                    format!("no node pool runs in zone `{zone}`; its vSwitches stay unused"),
                );
            }
        }
    }

    fn workloads(
        &self,
        workloads: &[WorkloadEntry],
        pools: &[NodePoolSpec],
    ) -> Result<Vec<super::WorkloadSpec>, ScenarioError> {
        let mut names: BTreeMap<&str, usize> = BTreeMap::new();
        let mut specs = Vec::with_capacity(workloads.len());
        for (i, workload) in workloads.iter().enumerate() {
            let prefix = format!("workload[{i}]");
            let name_key = format!("{prefix}.name");
            self.not_empty(&name_key, &workload.name, "a workload name")?;
            if let Some(other) = names.insert(&workload.name, i) {
                return Err(self.err(
                    name_key,
                    format!(
                        "duplicate workload name `{}` (also workload[{other}])",
                        workload.name
                    ),
                ));
            }
            let kind = match workload.kind.as_str() {
                "deployment" => Kind::Deployment,
                "statefulset" => Kind::StatefulSet,
                "job" => Kind::Job,
                other => {
                    let hint = nearest(other, ["deployment", "statefulset", "job"])
                        .map(|near| format!(", did you mean `{near}`?"))
                        .unwrap_or_else(|| ", expected deployment, statefulset or job".to_string());
                    return Err(self.err(
                        format!("{prefix}.kind"),
                        format!("unknown kind `{other}`{hint}"),
                    ));
                }
            };
            let nodepool = match &workload.nodepool {
                Some(name) => Some(
                    pools
                        .iter()
                        .position(|pool| pool.name == *name)
                        .ok_or_else(|| {
                            self.unknown(
                                &format!("{prefix}.nodepool"),
                                "node pool",
                                name,
                                pools.iter().map(|pool| pool.name.as_str()),
                            )
                        })?,
                ),
                None => None,
            };
            let kind = match kind {
                Kind::Deployment | Kind::StatefulSet => self.replicated(&prefix, workload, kind)?,
                Kind::Job => self.job(&prefix, workload)?,
            };
            let termination_grace_ms = match workload.termination_grace {
                None => DEFAULT_TERMINATION_GRACE_MS,
                Some(grace) if grace.0 <= MAX_TERMINATION_GRACE_MS => grace.0,
                Some(grace) => {
                    return Err(self.err(
                        format!("{prefix}.termination_grace"),
                        format!(
                            "{} is longer than the {} a pod may take to stop here",
                            format_duration(grace.0),
                            format_duration(MAX_TERMINATION_GRACE_MS)
                        ),
                    ));
                }
            };
            specs.push(super::WorkloadSpec {
                name: workload.name.clone(),
                kind,
                nodepool,
                cpu_millis: workload.cpu.map_or(0, |cpu| cpu.0),
                memory_mib: workload.memory.map_or(0, |memory| memory.0),
                termination_grace_ms,
            });
        }
        Ok(specs)
    }

    fn wrong_kind(
        &self,
        prefix: &str,
        kind: Kind,
        given: &[(&str, bool)],
    ) -> Result<(), ScenarioError> {
        if let Some((field, _)) = given.iter().find(|(_, given)| *given) {
            let (owner, instead) = match kind {
                Kind::Job => (
                    "deployments and statefulsets",
                    "a job has `arrivals_per_hour` and `duration`",
                ),
                Kind::Deployment if *field == "pod_management" => (
                    "statefulsets",
                    "a deployment has `max_surge` and `max_unavailable`",
                ),
                Kind::StatefulSet if *field == "max_surge" || *field == "max_unavailable" => (
                    "deployments",
                    "a statefulset rolls one pod at a time (see `pod_management`)",
                ),
                _ => ("jobs", "a deployment or statefulset has `replicas`"),
            };
            return Err(self.err(
                format!("{prefix}.{field}"),
                format!("`{field}` is for {owner}; {instead}"),
            ));
        }
        Ok(())
    }

    fn replicated(
        &self,
        prefix: &str,
        workload: &WorkloadEntry,
        kind: Kind,
    ) -> Result<WorkloadKind, ScenarioError> {
        self.wrong_kind(
            prefix,
            kind,
            &[
                ("arrivals_per_hour", workload.arrivals_per_hour.is_some()),
                ("duration", workload.duration.is_some()),
                ("duration_p50", workload.duration_p50.is_some()),
                ("duration_p99", workload.duration_p99.is_some()),
            ],
        )?;
        let statefulset = kind == Kind::StatefulSet;
        self.wrong_kind(
            prefix,
            kind,
            &[
                (
                    "pod_management",
                    !statefulset && workload.pod_management.is_some(),
                ),
                ("max_surge", statefulset && workload.max_surge.is_some()),
                (
                    "max_unavailable",
                    statefulset && workload.max_unavailable.is_some(),
                ),
            ],
        )?;
        let replicas_key = format!("{prefix}.replicas");
        let Some(replicas) = &workload.replicas else {
            return Err(self.err(
                replicas_key,
                format!(
                    "a {} needs `replicas` (a number or [[duration, number], ...] points)",
                    kind.name()
                ),
            ));
        };
        let replicas = self.curve(&replicas_key, replicas, true)?;
        let daily_swing = match workload.daily_swing {
            Some(swing) => self.number(&format!("{prefix}.daily_swing"), swing, 0.0..=1.0)?,
            None => 0.0,
        };
        let rollout_every_ms = workload
            .rollout_every
            .map(|every| self.at_least(&format!("{prefix}.rollout_every"), every.0, SECOND_MS))
            .transpose()?;
        let amount = |entry: Option<AmountEntry>| match entry {
            Some(AmountEntry::Count(count)) => Amount::Count(count),
            Some(AmountEntry::Percent(percent)) => Amount::Percent(percent),
            None => DEFAULT_ROLLOUT_AMOUNT,
        };
        let max_surge = amount(workload.max_surge);
        let max_unavailable = amount(workload.max_unavailable);
        if let Amount::Percent(percent) = max_unavailable
            && percent > 100.0
        {
            return Err(self.err(
                format!("{prefix}.max_unavailable"),
                format!("{percent}% is above 100%"),
            ));
        }
        let is_zero =
            |amount: Amount| matches!(amount, Amount::Count(0)) || amount == Amount::Percent(0.0);
        if !statefulset && is_zero(max_surge) && is_zero(max_unavailable) {
            let field = if workload.max_unavailable.is_some() {
                "max_unavailable"
            } else {
                "max_surge"
            };
            return Err(self.err(
                format!("{prefix}.{field}"),
                "max_surge and max_unavailable cannot both be zero (Kubernetes rejects that: the rollout could never proceed)",
            ));
        }
        let pod_management = match workload.pod_management.as_deref() {
            None | Some("ordered_ready") => PodManagement::OrderedReady,
            Some("parallel") => PodManagement::Parallel,
            Some(other) => {
                let hint = nearest(other, ["ordered_ready", "parallel"])
                    .map(|near| format!(", did you mean `{near}`?"))
                    .unwrap_or_else(|| ", expected ordered_ready or parallel".to_string());
                return Err(self.err(
                    format!("{prefix}.pod_management"),
                    format!("unknown pod_management `{other}`{hint}"),
                ));
            }
        };
        let replicated = Replicated {
            replicas,
            daily_swing,
            rollout_every_ms,
            max_surge,
            max_unavailable,
            pod_management,
        };
        Ok(if statefulset {
            WorkloadKind::StatefulSet(replicated)
        } else {
            WorkloadKind::Deployment(replicated)
        })
    }

    fn job(&self, prefix: &str, workload: &WorkloadEntry) -> Result<WorkloadKind, ScenarioError> {
        self.wrong_kind(
            prefix,
            Kind::Job,
            &[
                ("replicas", workload.replicas.is_some()),
                ("daily_swing", workload.daily_swing.is_some()),
                ("rollout_every", workload.rollout_every.is_some()),
                ("max_surge", workload.max_surge.is_some()),
                ("max_unavailable", workload.max_unavailable.is_some()),
                ("pod_management", workload.pod_management.is_some()),
            ],
        )?;
        let arrivals_key = format!("{prefix}.arrivals_per_hour");
        let Some(arrivals) = &workload.arrivals_per_hour else {
            return Err(self.err(
                arrivals_key,
                "a job needs `arrivals_per_hour` (a number or [[duration, rate], ...] points)",
            ));
        };
        let arrivals_per_hour = self.curve(&arrivals_key, arrivals, false)?;
        let positive = |field: &str, ms: Millis| self.at_least(&format!("{prefix}.{field}"), ms, 1);
        let duration = match (
            workload.duration,
            workload.duration_p50,
            workload.duration_p99,
        ) {
            (Some(mean), None, None) => JobDuration::Exponential {
                mean_ms: positive("duration", mean.0)?,
            },
            (None, Some(p50), Some(p99)) => {
                let p50_ms = positive("duration_p50", p50.0)?;
                if p99.0 <= p50_ms {
                    return Err(self.err(
                        format!("{prefix}.duration_p99"),
                        format!(
                            "{} must be longer than duration_p50 {}",
                            format_duration(p99.0),
                            format_duration(p50_ms)
                        ),
                    ));
                }
                JobDuration::LogNormal {
                    p50_ms,
                    p99_ms: p99.0,
                }
            }
            (Some(_), _, _) => {
                return Err(self.err(
                    format!("{prefix}.duration"),
                    "give either `duration` (exponential mean) or `duration_p50` and `duration_p99` (log-normal), not both",
                ));
            }
            (None, Some(_), None) => {
                return Err(self.err(
                    format!("{prefix}.duration_p99"),
                    "`duration_p50` needs `duration_p99` for a log-normal run time",
                ));
            }
            (None, None, Some(_)) => {
                return Err(self.err(
                    format!("{prefix}.duration_p50"),
                    "`duration_p99` needs `duration_p50` for a log-normal run time",
                ));
            }
            (None, None, None) => {
                return Err(self.err(
                    format!("{prefix}.duration"),
                    "a job needs `duration` (exponential mean) or `duration_p50` and `duration_p99` (log-normal)",
                ));
            }
        };
        Ok(WorkloadKind::Job(JobSpec {
            arrivals_per_hour,
            duration,
        }))
    }

    /// A replica target or arrival rate; `whole` asks for whole numbers (replica counts).
    fn curve(&self, key: &str, entry: &CurveEntry, whole: bool) -> Result<Curve, ScenarioError> {
        let value = |key: &str, value: f64| -> Result<f64, ScenarioError> {
            let value = self.number(key, value, 0.0..=MAX_COUNT)?;
            if whole && value.fract() != 0.0 {
                return Err(self.err(
                    key,
                    format!("a replica count is a whole number, got {value}"),
                ));
            }
            Ok(value)
        };
        match entry {
            CurveEntry::Constant(constant) => Ok(Curve::constant(value(key, *constant)?)),
            CurveEntry::Points(points) => {
                if points.is_empty() {
                    return Err(self.err(key, "needs at least one [duration, number] point"));
                }
                let mut checked: Vec<(Millis, f64)> = Vec::with_capacity(points.len());
                for (j, &(at, v)) in points.iter().enumerate() {
                    if let Some(&(before, _)) = checked.last()
                        && at <= before
                    {
                        return Err(self.err(
                            format!("{key}[{j}][0]"),
                            format!(
                                "{} is not after the previous point's {}; times must increase",
                                format_duration(at),
                                format_duration(before)
                            ),
                        ));
                    }
                    checked.push((at, value(&format!("{key}[{j}][1]"), v)?));
                }
                Ok(Curve { points: checked })
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn actions(
        &mut self,
        entries: &[ActionEntry],
        added_vswitch: &BTreeMap<usize, usize>,
        pools: &[NodePoolSpec],
        instance_types: &BTreeMap<String, InstanceType>,
        vswitches: &VSwitches,
        zones: &[String],
        mut terway: TerwayState,
        terway_configs: &mut Vec<TerwayConfig>,
    ) -> Result<Vec<Action>, ScenarioError> {
        let mut order: Vec<usize> = (0..entries.len()).collect();
        order.sort_by_key(|&i| entries[i].at.0);
        let mut sizes: Vec<(u32, u32, u32)> = pools
            .iter()
            .map(|pool| (pool.nodes, pool.min_nodes, pool.max_nodes))
            .collect();
        let mut actions = Vec::with_capacity(entries.len());
        for (position, &i) in order.iter().enumerate() {
            let entry = &entries[i];
            let prefix = format!("action[{i}]");
            let kind = if entry.add_vswitch.is_some() {
                let index = added_vswitch.get(&i).copied().ok_or_else(|| {
                    self.err(
                        format!("{prefix}.add_vswitch"),
                        "internal error: vSwitch not indexed",
                    )
                })?;
                ActionKind::AddVSwitch(index)
            } else if let Some(patch) = &entry.set_terway {
                let set_prefix = format!("{prefix}.set_terway");
                self.apply_terway(&set_prefix, patch, &mut terway, vswitches, zones)?;
                if let Some(size) = patch.max_pool_size {
                    let size = u32::try_from(size).unwrap_or(u32::MAX);
                    self.pool_capacity_warnings(
                        &format!("{set_prefix}.max_pool_size"),
                        size,
                        pools,
                        instance_types,
                    );
                }
                let restarted = order[position + 1..]
                    .iter()
                    .any(|&later| entries[later].restart_terway.is_some());
                if !restarted {
                    self.warn(
                        set_prefix,
                        "no restart_terway follows; running Terway daemons keep their config and only nodes started later get this one",
                    );
                }
                terway_configs.push(terway.resolved());
                ActionKind::SetTerway(terway_configs.len() - 1)
            } else if entry.restart_terway.is_some() {
                ActionKind::RestartTerway
            } else if let Some(scale) = &entry.scale_nodepool {
                let scale_prefix = format!("{prefix}.scale_nodepool");
                let Some(nodepool) = pools.iter().position(|pool| pool.name == scale.name) else {
                    return Err(self.unknown(
                        &format!("{scale_prefix}.name"),
                        "node pool",
                        &scale.name,
                        pools.iter().map(|pool| pool.name.as_str()),
                    ));
                };
                let count =
                    |field: &str, value: Option<i64>| -> Result<Option<u32>, ScenarioError> {
                        value
                            .map(|value| {
                                self.int(&format!("{scale_prefix}.{field}"), value, 0..=MAX_NODES)
                            })
                            .transpose()
                    };
                let nodes = count("nodes", scale.nodes)?;
                let min_nodes = count("min_nodes", scale.min_nodes)?;
                let max_nodes = count("max_nodes", scale.max_nodes)?;
                if nodes.is_none() && min_nodes.is_none() && max_nodes.is_none() {
                    return Err(self.err(
                        scale_prefix,
                        "give at least one of nodes, min_nodes or max_nodes",
                    ));
                }
                let (current, old_min, old_max) = sizes[nodepool];
                let new_min = min_nodes.unwrap_or(old_min);
                let new_max = max_nodes.unwrap_or(old_max);
                if new_min > new_max {
                    let field = if min_nodes.is_some() {
                        "min_nodes"
                    } else {
                        "max_nodes"
                    };
                    return Err(self.err(
                        format!("{scale_prefix}.{field}"),
                        format!(
                            "min_nodes {new_min} would be above max_nodes {new_max} of pool `{}` at {}",
                            scale.name,
                            format_duration(entry.at.0)
                        ),
                    ));
                }
                if let Some(nodes) = nodes
                    && !(new_min..=new_max).contains(&nodes)
                {
                    return Err(self.err(
                        format!("{scale_prefix}.nodes"),
                        format!(
                            "nodes {nodes} is outside min_nodes..max_nodes ({new_min}..{new_max}) of pool `{}` at {}",
                            scale.name,
                            format_duration(entry.at.0)
                        ),
                    ));
                }
                sizes[nodepool] = (nodes.unwrap_or(current), new_min, new_max);
                ActionKind::ScaleNodePool {
                    nodepool,
                    nodes,
                    min_nodes,
                    max_nodes,
                }
            } else {
                return Err(self.err(prefix, "an action needs one of add_vswitch, set_terway, restart_terway or scale_nodepool"));
            };
            actions.push(Action {
                at_ms: entry.at.0,
                kind,
                file_index: i,
            });
        }
        Ok(actions)
    }

    fn unlisted_vswitch_warnings(
        &mut self,
        entries: &[ActionEntry],
        added_vswitch: &BTreeMap<usize, usize>,
        vswitches: &VSwitches,
        configs: &[TerwayConfig],
    ) {
        for i in 0..entries.len() {
            let Some(&index) = added_vswitch.get(&i) else {
                continue;
            };
            let listed = configs
                .iter()
                .any(|config| config.vswitches.values().any(|list| list.contains(&index)));
            if !listed {
                self.warn(
                    format!("action[{i}].add_vswitch.id"),
                    format!(
                        "vSwitch `{}` is never listed in terway.vswitches, so Terway never takes addresses from it; add it with a set_terway action",
                        vswitches.specs[index].id
                    ),
                );
            }
        }
    }
}

/// An overlapping pair of blocks as (later, earlier) positions, the later one first in list
/// order. CIDR blocks are nested or disjoint, so a sweep in address order that keeps the block
/// reaching farthest finds every block that starts inside another: O(n log n), not O(n^2).
fn first_overlap<T>(blocks: &[(Ipv4Net, T)]) -> Option<(usize, usize)> {
    let mut sorted: Vec<usize> = (0..blocks.len()).collect();
    sorted.sort_by_key(|&i| {
        (
            u32::from(blocks[i].0.network()),
            blocks[i].0.prefix_len(),
            i,
        )
    });
    let mut reach: Option<usize> = None;
    let mut found: Option<(usize, usize)> = None;
    for i in sorted {
        let Some(holder) = reach else {
            reach = Some(i);
            continue;
        };
        let (block, held) = (&blocks[i].0, &blocks[holder].0);
        if block.network() <= held.broadcast() {
            let pair = (i.max(holder), i.min(holder));
            if found.is_none_or(|best| pair < best) {
                found = Some(pair);
            }
        }
        if block.broadcast() > held.broadcast() {
            reach = Some(i);
        }
    }
    found
}

fn overlaps(a: &Ipv4Net, b: &Ipv4Net) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

/// The largest nice interval not above horizon / 1000, so a run has about 1000 samples or a few
/// more; never under 1s.
fn default_sample_interval(horizon_ms: Millis) -> Millis {
    let target = horizon_ms / 1000;
    NICE_INTERVALS_MS
        .iter()
        .copied()
        .filter(|&interval| interval <= target)
        .max()
        .unwrap_or(SECOND_MS)
}

/// The most memory a scenario's runs may need: above it, `planner` refuses the scenario rather
/// than run out of memory part way.
pub const MEMORY_LIMIT_BYTES: u64 = 8 << 30;
/// Runs assumed to be alive at once (whatever the machine, so that a scenario is accepted or
/// refused the same everywhere).
const CONCURRENT_RUNS: u64 = 16;
/// Rough bytes per pod table entry, with its place in its workload's sets and its events.
const BYTES_PER_POD: u64 = 150;
/// Rough bytes per node, per ENI slot and per vSwitch cache entry of a node.
const BYTES_PER_NODE: u64 = 300;
const BYTES_PER_SLOT: u64 = 130;
const BYTES_PER_CACHE_ENTRY: u64 = 24;

/// What a scenario's runs would hold in memory (estimates, on the high side).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryEstimate {
    /// Samples per run: `horizon / sample_interval + 2`.
    pub samples: u64,
    /// 4-byte values per sample: `2 x vSwitches + 2 x zones + 6` (the time takes two).
    pub values_per_sample: u64,
    /// The time series of every run, four times over (growing vectors keep up to twice what
    /// they hold, and a set of planning re-runs is held beside the runs): `4 x runs x samples x
    /// values x 4 bytes`.
    pub results_bytes: u64,
    /// The peak pods of one run and what their table takes.
    pub peak_pods: u64,
    /// The peak nodes of one run (every pool at its largest) and what they take.
    pub peak_nodes: u64,
    /// One run's live state, pods and nodes.
    pub run_state_bytes: u64,
    /// Runs counted as alive at once: `min(runs, 16)`.
    pub concurrent_runs: u64,
}

impl MemoryEstimate {
    /// Results plus the live state of the runs alive at once.
    pub fn total_bytes(&self) -> u64 {
        self.results_bytes
            .saturating_add(self.run_state_bytes.saturating_mul(self.concurrent_runs))
    }
}

fn gib(bytes: u64) -> String {
    format!("{:.1} GiB", bytes as f64 / (1u64 << 30) as f64)
}

impl Scenario {
    /// Estimates the memory the scenario's runs need: the sampled series of every run, and the
    /// pods and nodes of the runs alive at once. Deployments and StatefulSets count their
    /// largest target with the daily swing, doubled for rollouts and terminating pods; jobs
    /// count the most arrivals per hour times the longest of their typical run time and an
    /// hour, doubled (a cluster that cannot keep up piles up more, over the horizon).
    pub fn memory_estimate(&self) -> MemoryEstimate {
        let samples = self.horizon_ms / self.sample_interval_ms.max(1) + 2;
        let values_per_sample = 2 * self.vswitches.len() as u64 + 2 * self.zones.len() as u64 + 6;
        let runs = u64::from(self.runs);
        let results_bytes = 4u64
            .saturating_mul(runs)
            .saturating_mul(samples)
            .saturating_mul(values_per_sample)
            .saturating_mul(4);
        let peak_pods = (0..self.workloads.len())
            .map(|w| self.workload_peak_pods(w))
            .fold(0u64, u64::saturating_add);
        let peak_nodes: u64 = (0..self.nodepools.len())
            .map(|p| self.nodepool_peak_nodes(p))
            .sum();
        let node_bytes = (0..self.nodepools.len())
            .map(|p| {
                self.nodepool_peak_nodes(p)
                    .saturating_mul(self.bytes_per_node(p))
            })
            .fold(0u64, u64::saturating_add);
        MemoryEstimate {
            samples,
            values_per_sample,
            results_bytes,
            peak_pods,
            peak_nodes,
            run_state_bytes: peak_pods
                .saturating_mul(BYTES_PER_POD)
                .saturating_add(node_bytes),
            concurrent_runs: runs.clamp(1, CONCURRENT_RUNS),
        }
    }

    fn workload_peak_pods(&self, workload: usize) -> u64 {
        let spec = &self.workloads[workload];
        let pods = match &spec.kind {
            WorkloadKind::Deployment(r) | WorkloadKind::StatefulSet(r) => {
                let top = r.replicas.max().max(0.0) * (1.0 + r.daily_swing.abs());
                let surge = match r.max_surge {
                    Amount::Count(count) => f64::from(count),
                    Amount::Percent(percent) => top * percent / 100.0,
                };
                2.0 * top + surge + 1.0
            }
            WorkloadKind::Job(job) => {
                let typical_ms = match job.duration {
                    JobDuration::Exponential { mean_ms } => mean_ms,
                    JobDuration::LogNormal { p99_ms, .. } => p99_ms,
                };
                let hours = typical_ms.max(HOUR_MS) as f64 / HOUR_MS as f64;
                2.0 * job.arrivals_per_hour.max().max(0.0) * hours + 1.0
            }
        };
        if pods.is_finite() {
            pods as u64
        } else {
            u64::MAX
        }
    }

    fn nodepool_peak_nodes(&self, pool: usize) -> u64 {
        let spec = &self.nodepools[pool];
        let scaled = self.actions.iter().filter_map(|action| match action.kind {
            ActionKind::ScaleNodePool {
                nodepool,
                nodes,
                min_nodes,
                max_nodes,
            } if nodepool == pool => Some(nodes.max(min_nodes).max(max_nodes).unwrap_or(0)),
            _ => None,
        });
        u64::from(
            scaled
                .chain([spec.nodes, spec.min_nodes, spec.max_nodes])
                .max()
                .unwrap_or(0),
        )
    }

    fn bytes_per_node(&self, pool: usize) -> u64 {
        let slots = self
            .instance_types
            .get(&self.nodepools[pool].instance_type)
            .map_or(0, |t| u64::from(t.secondary_enis()));
        BYTES_PER_NODE
            + slots * BYTES_PER_SLOT
            + self.vswitches.len() as u64 * BYTES_PER_CACHE_ENTRY
    }

    /// Refuses a scenario whose runs would need more than `MEMORY_LIMIT_BYTES`, naming what
    /// to lower: `scenario.runs` (or the sampling) when the results dominate, else the
    /// workload or node pool that takes the most. The error has no line; `validate` adds it.
    pub fn check_memory(&self) -> Result<(), ScenarioError> {
        let estimate = self.memory_estimate();
        let total = estimate.total_bytes();
        if total <= MEMORY_LIMIT_BYTES {
            return Ok(());
        }
        let error = |key: String, message: String| ScenarioError {
            file: self.source.clone(),
            line: None,
            key,
            message,
        };
        let limit = gib(MEMORY_LIMIT_BYTES);
        let state_bytes = estimate
            .run_state_bytes
            .saturating_mul(estimate.concurrent_runs);
        if estimate.results_bytes >= state_bytes {
            let per_run = estimate.results_bytes / u64::from(self.runs.max(1));
            let fits = (MEMORY_LIMIT_BYTES.saturating_sub(state_bytes) / per_run.max(1)).max(1);
            return Err(error(
                "scenario.runs".into(),
                format!(
                    "{} runs x {} samples x {} series would need about {} of memory for the results, above the {limit} planner allows; lower runs (--runs) to {fits} or fewer, raise scenario.sample_interval, or shorten the horizon",
                    self.runs,
                    estimate.samples,
                    estimate.values_per_sample,
                    gib(total)
                ),
            ));
        }
        let pods_bytes = estimate.peak_pods.saturating_mul(BYTES_PER_POD);
        let runs_at_once = estimate.concurrent_runs;
        if pods_bytes >= estimate.run_state_bytes.saturating_sub(pods_bytes) {
            let (index, peak) = (0..self.workloads.len())
                .map(|w| (w, self.workload_peak_pods(w)))
                .max_by_key(|&(w, peak)| (peak, std::cmp::Reverse(w)))
                .expect("pods come from workloads");
            let field = match self.workloads[index].kind {
                WorkloadKind::Job(_) => "arrivals_per_hour",
                _ => "replicas",
            };
            return Err(error(
                format!("workload[{index}].{field}"),
                format!(
                    "workload `{}` may have up to {peak} pods at once ({} in all workloads; an estimate that allows for rollouts and the daily swing), and with {runs_at_once} runs alive at once the pods and nodes would need about {} of memory, above the {limit} planner allows; lower it, or the runs",
                    self.workloads[index].name,
                    estimate.peak_pods,
                    gib(total)
                ),
            ));
        }
        let (index, peak) = (0..self.nodepools.len())
            .map(|p| {
                (
                    p,
                    self.nodepool_peak_nodes(p)
                        .saturating_mul(self.bytes_per_node(p)),
                )
            })
            .max_by_key(|&(p, bytes)| (bytes, std::cmp::Reverse(p)))
            .expect("nodes come from node pools");
        Err(error(
            format!("nodepool[{index}].max_nodes"),
            format!(
                "node pool `{}` may grow to {} nodes ({} in all pools; about {} per run for this pool), and with {runs_at_once} runs alive at once the pods and nodes would need about {} of memory, above the {limit} planner allows; lower max_nodes, or the runs",
                self.nodepools[index].name,
                self.nodepool_peak_nodes(index),
                estimate.peak_nodes,
                gib(peak),
                gib(total)
            ),
        ))
    }

    /// [`Scenario::check_memory`] for the points of a sweep, whose runs are all held at once.
    pub fn check_memory_of_sweep(points: &[Scenario]) -> Result<(), ScenarioError> {
        let mut results = 0u64;
        let mut state = 0u64;
        for point in points {
            point.check_memory()?;
            let estimate = point.memory_estimate();
            // A sweep makes no planning re-runs: half the run's estimate.
            results = results.saturating_add(estimate.results_bytes / 2);
            state = state.max(
                estimate
                    .run_state_bytes
                    .saturating_mul(estimate.concurrent_runs),
            );
        }
        let total = results.saturating_add(state);
        match points.first() {
            Some(first) if total > MEMORY_LIMIT_BYTES => Err(ScenarioError {
                file: first.source.clone(),
                line: None,
                key: "scenario.runs".into(),
                message: format!(
                    "{} sweep points x {} runs would need about {} of memory for the results, above the {} planner allows; lower runs (--runs), sweep fewer values, or raise scenario.sample_interval",
                    points.len(),
                    first.runs,
                    gib(total),
                    gib(MEMORY_LIMIT_BYTES)
                ),
            }),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::parse;

    /// The example of the format description, with `pod_management` left out of the
    /// deployment (it is a statefulset key).
    const EXAMPLE: &str = r#"# Durations are strings: "300ms", "45s", "10m", "6h", "30d", or combined: "1d 6h".
[scenario]
name = "burst"
horizon = "30d"
seed = 1
runs = 50
sample_interval = "10m"

[vpc]
cidr = "10.0.0.0/16"
secondary_cidrs = []

[[vswitch]]
id = "vsw-aaa"
zone = "cn-shanghai-f"
cidr = "10.0.0.0/24"
used_by_others = 0

[terway]
vswitches = { "cn-shanghai-f" = ["vsw-aaa"] }
vswitch_selection_policy = "ordered"
eni_selection_policy = "most_ips"
max_pool_size = 5
min_pool_size = 0
ip_pool_sync_period = "120s"
min_eni = 0
max_eni = 0
idle_ip_reclaim_after = "30m"
idle_ip_reclaim_interval = "10m"
idle_ip_reclaim_batch_size = 5
idle_ip_reclaim_jitter_factor = 0.1

[cloud]
create_eni = "3s"
assign_ips = "1s"
unassign_ips = "1s"
delete_eni = "7s"
api_error = "500ms"

[[nodepool]]
name = "workers"
instance_type = "ecs.g7.xlarge"
zones = ["cn-shanghai-f"]
nodes = 10
min_nodes = 10
max_nodes = 40
boot_time = "2m"
max_pods = 0

[instance_type."ecs.custom.large"]
vcpu = 8
memory_gib = 32
eni_quantity = 4
ipv4_per_eni = 15

[[workload]]
name = "web"
kind = "deployment"
nodepool = "workers"
cpu = "250m"
memory = "256Mi"
replicas = [["0d", 100], ["30d", 400]]
daily_swing = 0.3
rollout_every = "1d"
max_surge = "25%"
max_unavailable = "25%"

[[workload]]
name = "batch"
kind = "job"
arrivals_per_hour = 120
duration = "10m"

[[action]]
at = "12d"
add_vswitch = { id = "vsw-bbb", zone = "cn-shanghai-f", cidr = "10.0.32.0/19", used_by_others = 0 }
[[action]]
at = "12d"
set_terway = { vswitches = { "cn-shanghai-f" = ["vsw-aaa", "vsw-bbb"] } }
[[action]]
at = "12d 10m"
restart_terway = true
[[action]]
at = "20d"
scale_nodepool = { name = "workers", max_nodes = 80 }
"#;

    /// A small valid scenario; tests append to it (line 17 on) or edit it. Line numbers in the
    /// tests count from here.
    const BASE: &str = r#"[scenario]
horizon = "30d"

[[vswitch]]
id = "vsw-a"
zone = "z1"
cidr = "10.0.0.0/24"

[terway]
vswitches = { z1 = ["vsw-a"] }

[[nodepool]]
name = "pool"
instance_type = "ecs.g7.xlarge"
zones = ["z1"]
nodes = 2
"#;

    fn ok(text: &str) -> (Scenario, Vec<Warning>) {
        match parse(Path::new("dir/example.toml"), text) {
            Ok(result) => result,
            Err(err) => panic!("expected a valid scenario, got: {err}"),
        }
    }

    fn fail(text: &str) -> ScenarioError {
        match parse(Path::new("dir/example.toml"), text) {
            Ok(_) => panic!("expected an error"),
            Err(err) => {
                assert_eq!(err.file, Path::new("dir/example.toml"));
                assert!(!err.message.ends_with('.'), "{}", err.message);
                err
            }
        }
    }

    fn with(extra: &str) -> String {
        format!("{BASE}{extra}")
    }

    fn edit(from: &str, to: &str) -> String {
        assert!(BASE.contains(from), "{from}");
        BASE.replacen(from, to, 1)
    }

    /// Asserts the error's key and line and that its message contains `needle`.
    #[track_caller]
    fn expect(text: &str, key: &str, line: usize, needle: &str) {
        let err = fail(text);
        assert_eq!(err.key, key, "{err}");
        assert_eq!(err.line, Some(line), "{err}");
        assert!(err.message.contains(needle), "{err}");
    }

    fn warning<'w>(warnings: &'w [Warning], key: &str) -> &'w Warning {
        warnings
            .iter()
            .find(|w| w.key == key)
            .unwrap_or_else(|| panic!("no warning at {key}: {warnings:?}"))
    }

    #[test]
    fn example_gives_the_expected_scenario() {
        let (s, warnings) = ok(EXAMPLE);
        assert_eq!(warnings, vec![]);
        assert_eq!(s.name, "burst");
        assert_eq!(s.horizon_ms, 2_592_000_000);
        assert_eq!((s.seed, s.runs, s.sample_interval_ms), (1, 50, 600_000));
        assert_eq!(s.vpc_cidrs, vec!["10.0.0.0/16".parse::<Ipv4Net>().unwrap()]);
        assert_eq!(s.zones, vec!["cn-shanghai-f".to_string()]);

        assert_eq!(s.vswitches.len(), 2);
        assert_eq!(s.vswitches[0].id, "vsw-aaa");
        assert_eq!(s.vswitches[0].created_at_ms, None);
        assert_eq!(s.vswitches[0].usable_ips(), 252);
        let added = &s.vswitches[1];
        assert_eq!(added.id, "vsw-bbb");
        assert_eq!(added.zone, 0);
        assert_eq!(added.cidr.to_string(), "10.0.32.0/19");
        assert_eq!(added.created_at_ms, Some(12 * DAY_MS));
        assert_eq!(added.usable_ips(), 8188);

        assert_eq!(s.terway_configs.len(), 2);
        let first = &s.terway_configs[0];
        assert_eq!(first.vswitches["cn-shanghai-f"], vec![0]);
        assert_eq!(first.vswitch_selection, VSwitchSelection::Ordered);
        assert_eq!(first.eni_selection, EniSelection::MostIps);
        assert_eq!((first.max_pool_size, first.min_pool_size), (5, 0));
        assert_eq!(first.ip_pool_sync_period_ms, 120_000);
        assert_eq!(
            first.idle_ip_reclaim,
            Some(IdleReclaim {
                after_ms: 1_800_000,
                interval_ms: 600_000,
                batch_size: 5,
                jitter_factor: 0.1,
            })
        );
        // The patch replaces the map and keeps everything else.
        let second = &s.terway_configs[1];
        assert_eq!(second.vswitches["cn-shanghai-f"], vec![0, 1]);
        assert_eq!(
            TerwayConfig {
                vswitches: first.vswitches.clone(),
                ..second.clone()
            },
            *first
        );

        assert_eq!(
            s.cloud,
            CloudTimings {
                create_eni_ms: 3000,
                assign_ips_ms: 1000,
                unassign_ips_ms: 1000,
                delete_eni_ms: 7000,
                api_error_ms: 500,
            }
        );
        assert_eq!(s.instance_types.len(), catalog::builtin().len() + 1);
        let custom = &s.instance_types["ecs.custom.large"];
        assert_eq!(
            (
                custom.vcpu,
                custom.memory_mib,
                custom.eni_quantity,
                custom.ipv4_per_eni
            ),
            (8, 32 * 1024, 4, 15)
        );

        assert_eq!(
            s.nodepools,
            vec![NodePoolSpec {
                name: "workers".into(),
                instance_type: "ecs.g7.xlarge".into(),
                zones: vec![0],
                node_vswitch: vec![0],
                nodes: 10,
                min_nodes: 10,
                max_nodes: 40,
                boot_time_ms: 120_000,
                max_pods: 0,
            }]
        );

        let web = &s.workloads[0];
        assert_eq!(
            (web.nodepool, web.cpu_millis, web.memory_mib),
            (Some(0), 250, 256)
        );
        let WorkloadKind::Deployment(replicated) = &web.kind else {
            panic!("web is a deployment: {:?}", web.kind);
        };
        assert_eq!(
            replicated.replicas.points,
            vec![(0, 100.0), (2_592_000_000, 400.0)]
        );
        assert_eq!(replicated.daily_swing, 0.3);
        assert_eq!(replicated.rollout_every_ms, Some(DAY_MS));
        assert_eq!(replicated.max_surge, Amount::Percent(25.0));
        assert_eq!(replicated.max_unavailable, Amount::Percent(25.0));
        let batch = &s.workloads[1];
        assert_eq!(
            (batch.nodepool, batch.cpu_millis, batch.memory_mib),
            (None, 0, 0)
        );
        assert_eq!(
            batch.kind,
            WorkloadKind::Job(JobSpec {
                arrivals_per_hour: Curve::constant(120.0),
                duration: JobDuration::Exponential { mean_ms: 600_000 },
            })
        );

        let expected = vec![
            (12 * DAY_MS, ActionKind::AddVSwitch(1), 0),
            (12 * DAY_MS, ActionKind::SetTerway(1), 1),
            (12 * DAY_MS + 10 * MINUTE_MS, ActionKind::RestartTerway, 2),
            (
                20 * DAY_MS,
                ActionKind::ScaleNodePool {
                    nodepool: 0,
                    nodes: None,
                    min_nodes: None,
                    max_nodes: Some(80),
                },
                3,
            ),
        ];
        let actual: Vec<_> = s
            .actions
            .iter()
            .map(|a| (a.at_ms, a.kind.clone(), a.file_index))
            .collect();
        assert_eq!(actual, expected);
    }

    #[test]
    fn defaults_fill_what_is_left_out() {
        let (s, warnings) = ok(BASE);
        assert_eq!(warnings, vec![]);
        assert_eq!(s.name, "example");
        assert_eq!((s.seed, s.runs), (1, 1));
        assert_eq!(s.sample_interval_ms, 30 * MINUTE_MS);
        assert!(s.vpc_cidrs.is_empty());
        let config = &s.terway_configs[0];
        assert_eq!(config.vswitch_selection, VSwitchSelection::Random);
        assert_eq!(config.eni_selection, EniSelection::MostIps);
        assert_eq!((config.max_pool_size, config.min_pool_size), (5, 0));
        assert_eq!((config.min_eni, config.max_eni), (0, 0));
        assert_eq!(config.ip_pool_sync_period_ms, 120_000);
        assert_eq!(config.idle_ip_reclaim, None);
        let pool = &s.nodepools[0];
        assert_eq!((pool.nodes, pool.min_nodes, pool.max_nodes), (2, 2, 2));
        assert_eq!(pool.boot_time_ms, 2 * MINUTE_MS);
        assert_eq!(s.cloud.delete_eni_ms, 7000);
        assert_eq!(s.vswitches[0].used_by_others, 0);

        let (s, _) = ok(&with(
            "[[workload]]\nname = \"db\"\nkind = \"statefulset\"\nreplicas = 3\n",
        ));
        let WorkloadKind::StatefulSet(replicated) = &s.workloads[0].kind else {
            panic!("db is a statefulset");
        };
        assert_eq!(replicated.pod_management, PodManagement::OrderedReady);
        assert_eq!(replicated.daily_swing, 0.0);
        assert_eq!(replicated.rollout_every_ms, None);
        assert_eq!(replicated.replicas, Curve::constant(3.0));
    }

    #[test]
    fn default_sample_interval_is_a_nice_value_near_a_thousandth() {
        assert_eq!(default_sample_interval(30 * DAY_MS), 30 * MINUTE_MS);
        assert_eq!(default_sample_interval(DAY_MS), MINUTE_MS);
        assert_eq!(default_sample_interval(10 * MINUTE_MS), SECOND_MS);
        assert_eq!(default_sample_interval(SECOND_MS), SECOND_MS);
        assert_eq!(default_sample_interval(3650 * DAY_MS), DAY_MS);
        assert_eq!(default_sample_interval(7 * DAY_MS), 10 * MINUTE_MS);
    }

    #[test]
    fn node_vswitch_defaults_to_the_first_terway_vswitch_in_the_zone() {
        // vsw-b is listed first under z1 but is in z2, so Terway (and the default) skips it.
        let text = r#"[scenario]
horizon = "1d"

[[vswitch]]
id = "vsw-a"
zone = "z1"
cidr = "10.0.0.0/24"

[[vswitch]]
id = "vsw-b"
zone = "z2"
cidr = "10.0.1.0/24"

[[vswitch]]
id = "vsw-c"
zone = "z1"
cidr = "10.0.2.0/24"

[terway]
vswitches = { z1 = ["vsw-b", "vsw-c", "vsw-a"], z2 = ["vsw-b"] }

[[nodepool]]
name = "pool"
instance_type = "ecs.g7.xlarge"
zones = ["z2", "z1"]

[[nodepool]]
name = "pinned"
instance_type = "ecs.g7.xlarge"
zones = ["z1"]
node_vswitch = { z1 = "vsw-a" }
"#;
        let (s, warnings) = ok(text);
        assert_eq!(s.zones, vec!["z1".to_string(), "z2".to_string()]);
        assert_eq!(s.nodepools[0].zones, vec![1, 0]);
        assert_eq!(s.nodepools[0].node_vswitch, vec![1, 2]);
        assert_eq!(s.nodepools[1].node_vswitch, vec![0]);
        let w = warning(&warnings, "terway.vswitches.z1[0]");
        assert_eq!(w.line, Some(20));
        assert!(w.message.contains("Terway skips it"), "{}", w.message);
        assert_eq!(warnings.len(), 1, "{warnings:?}");

        // Without Terway listing, the first [[vswitch]] of the zone is eth0's.
        let (s, _) = ok(&text.replace(
            "vswitches = { z1 = [\"vsw-b\", \"vsw-c\", \"vsw-a\"], z2 = [\"vsw-b\"] }",
            "",
        ));
        assert_eq!(s.nodepools[0].node_vswitch, vec![1, 0]);
    }

    #[test]
    fn actions_are_sorted_stably_and_patches_merge_in_time_order() {
        let (s, warnings) = ok(&with(
            r#"[[action]]
at = "5d"
restart_terway = true
[[action]]
at = "2d"
set_terway = { max_pool_size = 9 }
[[action]]
at = "1d"
add_vswitch = { id = "vsw-late", zone = "z1", cidr = "10.0.8.0/22" }
[[action]]
at = "1d"
set_terway = { vswitches = { z1 = ["vsw-a", "vsw-late"] }, min_pool_size = 2 }
[[action]]
at = "1d"
add_vswitch = { id = "vsw-early", zone = "z1", cidr = "10.0.4.0/22" }
"#,
        ));
        // Added vSwitches come after [[vswitch]] in file order, whatever their times.
        let ids: Vec<&str> = s.vswitches.iter().map(|v| v.id.as_str()).collect();
        assert_eq!(ids, vec!["vsw-a", "vsw-late", "vsw-early"]);
        let order: Vec<(usize, ActionKind)> = s
            .actions
            .iter()
            .map(|a| (a.file_index, a.kind.clone()))
            .collect();
        assert_eq!(
            order,
            vec![
                (2, ActionKind::AddVSwitch(1)),
                (3, ActionKind::SetTerway(1)),
                (4, ActionKind::AddVSwitch(2)),
                (1, ActionKind::SetTerway(2)),
                (0, ActionKind::RestartTerway),
            ]
        );
        let configs = &s.terway_configs;
        assert_eq!(configs[1].vswitches["z1"], vec![0, 1]);
        assert_eq!((configs[1].min_pool_size, configs[1].max_pool_size), (2, 5));
        assert_eq!(configs[2].vswitches["z1"], vec![0, 1]);
        assert_eq!((configs[2].min_pool_size, configs[2].max_pool_size), (2, 9));
        // vsw-early is in no config.
        let w = warning(&warnings, "action[4].add_vswitch.id");
        assert_eq!(w.line, Some(31));
        assert!(w.message.contains("vsw-early"));
        assert_eq!(warnings.len(), 1, "{warnings:?}");
    }

    #[test]
    fn overlap_sweep_finds_nested_and_equal_blocks() {
        let nets = |list: &[&str]| -> Vec<(Ipv4Net, ())> {
            list.iter().map(|n| (n.parse().unwrap(), ())).collect()
        };
        assert_eq!(
            first_overlap(&nets(&["10.0.0.0/24", "10.0.1.0/24", "10.0.2.0/23"])),
            None
        );
        assert_eq!(
            first_overlap(&nets(&["10.0.1.0/24", "10.0.0.0/16"])),
            Some((1, 0))
        );
        assert_eq!(
            first_overlap(&nets(&["10.0.0.0/24", "10.0.0.0/24"])),
            Some((1, 0))
        );
        // 10.0.0.0/16 holds the sweep while 10.0.5.0/24 and 10.0.9.0/24 pass; both overlap it.
        assert_eq!(
            first_overlap(&nets(&[
                "10.1.0.0/24",
                "10.0.9.0/24",
                "10.0.0.0/16",
                "10.0.5.0/24"
            ])),
            Some((2, 1))
        );
        assert_eq!(
            first_overlap(&nets(&[
                "192.168.0.0/29",
                "192.168.0.8/29",
                "192.168.0.4/30"
            ])),
            Some((2, 0))
        );
    }

    #[test]
    fn cidr_errors_name_the_block() {
        expect(
            &edit("10.0.0.0/24", "10.0.0.300/24"),
            "vswitch[0].cidr",
            7,
            "`10.0.0.300/24` is not an IPv4 CIDR block",
        );
        expect(
            &edit("10.0.0.0/24", "10.0.0.0"),
            "vswitch[0].cidr",
            7,
            "has no mask",
        );
        expect(
            &edit("10.0.0.0/24", "10.0.0.5/24"),
            "vswitch[0].cidr",
            7,
            "host bits set; the block is `10.0.0.0/24`",
        );
        let err = fail(&edit("10.0.0.0/24", "10.0.0.0/30"));
        assert_eq!(
            err.to_string(),
            "dir/example.toml:7: vswitch[0].cidr: mask /30 is outside /16../29 that Alibaba Cloud allows for a vSwitch"
        );
        expect(
            &edit("10.0.0.0/24", "10.0.0.0/15"),
            "vswitch[0].cidr",
            7,
            "mask /15",
        );
        expect(
            &with("[vpc]\ncidr = \"10.0.0.0/30\"\n"),
            "vpc.cidr",
            18,
            "mask /30 is outside /8../28 that Alibaba Cloud allows for a VPC block",
        );
        expect(
            &with("[vpc]\ncidr = \"192.168.0.0/16\"\n"),
            "vswitch[0].cidr",
            7,
            "10.0.0.0/24 is outside the VPC blocks (192.168.0.0/16)",
        );
        // Inside a secondary block is fine.
        ok(&with(
            "[vpc]\ncidr = \"192.168.0.0/16\"\nsecondary_cidrs = [\"10.0.0.0/16\"]\n",
        ));
        expect(
            &with("[vpc]\ncidr = \"10.0.0.0/8\"\nsecondary_cidrs = [\"10.1.0.0/16\"]\n"),
            "vpc.secondary_cidrs[0]",
            19,
            "overlaps the VPC block 10.0.0.0/8",
        );
    }

    #[test]
    fn overlapping_and_duplicate_vswitches_are_refused() {
        let second = "[[vswitch]]\nid = \"vsw-b\"\nzone = \"z1\"\ncidr = \"10.0.0.128/25\"\n";
        let err = fail(&with(second));
        assert_eq!((err.key.as_str(), err.line), ("vswitch[1].cidr", Some(20)));
        assert!(
            err.message.contains("`vsw-b`") && err.message.contains("`vsw-a`"),
            "{err}"
        );

        expect(
            &with("[[vswitch]]\nid = \"vsw-a\"\nzone = \"z1\"\ncidr = \"10.0.1.0/24\"\n"),
            "vswitch[1].id",
            18,
            "duplicate vSwitch id `vsw-a` (also vswitch[0])",
        );
        // An added vSwitch overlapping a [[vswitch]] is caught too.
        let err = fail(&with(
            "[[action]]\nat = \"1d\"\nadd_vswitch = { id = \"vsw-n\", zone = \"z1\", cidr = \"10.0.0.0/16\" }\n",
        ));
        assert_eq!(
            (err.key.as_str(), err.line),
            ("action[0].add_vswitch.cidr", Some(19))
        );
        assert!(
            err.message.contains("overlaps 10.0.0.0/24 of `vsw-a`"),
            "{err}"
        );
        expect(
            &with(
                "[[vswitch]]\nid = \"vsw-b\"\nzone = \"z1\"\ncidr = \"10.0.1.0/24\"\nused_by_others = 253\n",
            ),
            "vswitch[1].used_by_others",
            21,
            "must be at most 252, got 253",
        );
        expect(
            &edit("zone = \"z1\"", "zone = \"\""),
            "vswitch[0].zone",
            6,
            "must not be empty",
        );
    }

    #[test]
    fn unknown_names_get_suggestions() {
        expect(
            &edit("ecs.g7.xlarge", "ecs.g7.xlarg"),
            "nodepool[0].instance_type",
            14,
            "unknown instance type `ecs.g7.xlarg`, did you mean `ecs.g7.xlarge`?",
        );
        expect(
            &edit("ecs.g7.xlarge", "m5.large"),
            "nodepool[0].instance_type",
            14,
            "define it under [instance_type.\"m5.large\"]",
        );
        expect(
            &edit("[\"vsw-a\"]", "[\"vsw-a\", \"vsw-aa\"]"),
            "terway.vswitches.z1[1]",
            10,
            "unknown vSwitch `vsw-aa`, did you mean `vsw-a`?",
        );
        expect(
            &with(
                "[[workload]]\nname = \"w\"\nkind = \"deployment\"\nnodepool = \"pol\"\nreplicas = 1\n",
            ),
            "workload[0].nodepool",
            20,
            "unknown node pool `pol`, did you mean `pool`?",
        );
        expect(
            &with("[[action]]\nat = \"1d\"\nscale_nodepool = { name = \"pools\", nodes = 3 }\n"),
            "action[0].scale_nodepool.name",
            19,
            "did you mean `pool`?",
        );
        expect(
            &with("[[action]]\nat = \"1d\"\nset_terway = { vswitches = { z1 = [\"vsw-x\"] } }\n"),
            "action[0].set_terway.vswitches.z1[0]",
            19,
            "unknown vSwitch `vsw-x`",
        );
        expect(
            &with("node_vswitch = { z1 = \"vsw-q\" }\n"),
            "nodepool[0].node_vswitch.z1",
            17,
            "unknown vSwitch `vsw-q`",
        );
        expect(
            &with("node_vswitch = { z9 = \"vsw-a\" }\n"),
            "nodepool[0].node_vswitch.z9",
            17,
            "zone `z9` is not one of the pool's zones (z1)",
        );
        expect(
            &with("[[workload]]\nname = \"w\"\nkind = \"deploymnt\"\n"),
            "workload[0].kind",
            19,
            "unknown kind `deploymnt`, did you mean `deployment`?",
        );
        expect(
            &edit(
                "vswitches = { z1 = [\"vsw-a\"] }",
                "vswitches = { z1 = [\"vsw-a\"] }\neni_selection_policy = \"most_ip\"",
            ),
            "terway.eni_selection_policy",
            11,
            "unknown eni_selection_policy `most_ip`, did you mean `most_ips`?",
        );
    }

    #[test]
    fn node_vswitch_must_be_in_its_zone_and_exist_from_the_start() {
        let z2 = "[[vswitch]]\nid = \"vsw-b\"\nzone = \"z2\"\ncidr = \"10.0.1.0/24\"\n";
        let text = format!(
            "{}{z2}",
            edit(
                "zones = [\"z1\"]",
                "zones = [\"z1\"]\nnode_vswitch = { z1 = \"vsw-b\" }"
            )
        );
        expect(
            &text,
            "nodepool[0].node_vswitch.z1",
            16,
            "vSwitch `vsw-b` is in zone `z2`, not `z1`",
        );
        let text = with(
            "node_vswitch = { z1 = \"vsw-n\" }\n[[action]]\nat = \"1d\"\nadd_vswitch = { id = \"vsw-n\", zone = \"z1\", cidr = \"10.0.1.0/24\" }\n",
        );
        expect(
            &text,
            "nodepool[0].node_vswitch.z1",
            17,
            "only exists from 1d",
        );
        expect(
            &edit("zones = [\"z1\"]", "zones = [\"z1\", \"z3\"]"),
            "nodepool[0].zones[1]",
            15,
            "no vSwitch in zone `z3`",
        );
    }

    #[test]
    fn numbers_out_of_range_are_refused() {
        expect(
            &edit("nodes = 2", "nodes = -1"),
            "nodepool[0].nodes",
            16,
            "must not be negative, got -1",
        );
        expect(
            &edit("nodes = 2", "nodes = 100001"),
            "nodepool[0].nodes",
            16,
            "must be at most 100000",
        );
        expect(
            &with("min_nodes = 3\n"),
            "nodepool[0].min_nodes",
            17,
            "min_nodes 3 is above nodes 2",
        );
        expect(
            &with("max_nodes = 1\n"),
            "nodepool[0].max_nodes",
            17,
            "max_nodes 1 is below nodes 2",
        );
        expect(
            &edit("horizon = \"30d\"", "horizon = \"30d\"\nruns = 10001"),
            "scenario.runs",
            3,
            "must be between 1 and 10000, got 10001",
        );
        expect(
            &edit("horizon = \"30d\"", "horizon = \"30d\"\nruns = 0"),
            "scenario.runs",
            3,
            "got 0",
        );
        expect(
            &edit("horizon = \"30d\"", "horizon = \"30d\"\nseed = -4"),
            "scenario.seed",
            3,
            "negative",
        );
        expect(
            &edit("\"30d\"", "\"500ms\""),
            "scenario.horizon",
            2,
            "at least 1s and at most 3650d",
        );
        expect(
            &edit("\"30d\"", "\"3651d\""),
            "scenario.horizon",
            2,
            "got 3651d",
        );
        ok(&edit("\"30d\"", "\"3650d\""));
        let replicas = |value: &str| {
            with(&format!(
                "[[workload]]\nname = \"w\"\nkind = \"deployment\"\nreplicas = {value}\n"
            ))
        };
        expect(
            &replicas("20000000"),
            "workload[0].replicas",
            20,
            "between 0 and 10000000",
        );
        expect(&replicas("2.5"), "workload[0].replicas", 20, "whole number");
        expect(&replicas("-1"), "workload[0].replicas", 20, "got -1");
        expect(&replicas("[]"), "workload[0].replicas", 20, "at least one");
        expect(
            &replicas("[[\"0d\", 1],\n  [\"1d\", 2],\n  [\"1d\", 3]]"),
            "workload[0].replicas[2][0]",
            22,
            "1d is not after the previous point's 1d",
        );
        expect(
            &replicas("[[\"0d\", 1], [\"1d\", nan]]"),
            "workload[0].replicas[1][1]",
            20,
            "finite",
        );
        expect(
            &with(
                "[[workload]]\nname = \"w\"\nkind = \"deployment\"\nreplicas = 1\ndaily_swing = nan\n",
            ),
            "workload[0].daily_swing",
            21,
            "must be a finite number, got NaN",
        );
        expect(
            &with(
                "[[workload]]\nname = \"w\"\nkind = \"deployment\"\nreplicas = 1\ndaily_swing = 1.5\n",
            ),
            "workload[0].daily_swing",
            21,
            "between 0 and 1",
        );
        expect(
            &with(
                "[[workload]]\nname = \"j\"\nkind = \"job\"\narrivals_per_hour = inf\nduration = \"1m\"\n",
            ),
            "workload[0].arrivals_per_hour",
            20,
            "finite",
        );
    }

    #[test]
    fn instance_type_limits_and_required_keys() {
        let custom = |body: &str| with(&format!("[instance_type.\"ecs.x.large\"]\n{body}"));
        let full = "vcpu = 4\nmemory_gib = 16\neni_quantity = 3\nipv4_per_eni = 10\n";
        ok(&custom(full));
        expect(
            &custom("vcpu = 4\nmemory_gib = 16\neni_quantity = 3\n"),
            "instance_type.\"ecs.x.large\".ipv4_per_eni",
            17,
            "missing required key `ipv4_per_eni`",
        );
        expect(
            &custom(&full.replace("eni_quantity = 3", "eni_quantity = 1")),
            "instance_type.\"ecs.x.large\".eni_quantity",
            20,
            "between 2 and 64, got 1",
        );
        expect(
            &custom(&full.replace("ipv4_per_eni = 10", "ipv4_per_eni = 0")),
            "instance_type.\"ecs.x.large\".ipv4_per_eni",
            21,
            "between 1 and 100",
        );
        expect(
            &custom(&full.replace("vcpu = 4", "vcpu = 2000")),
            "instance_type.\"ecs.x.large\".vcpu",
            18,
            "between 1 and 1024",
        );
        expect(
            &custom(&full.replace("memory_gib = 16", "memory_gib = 0")),
            "instance_type.\"ecs.x.large\".memory_gib",
            19,
            "above 0",
        );
        // Overriding a built-in needs only the keys that change.
        let (s, _) = ok(&with(
            "[instance_type.\"ecs.g7.xlarge\"]\nipv4_per_eni = 20\n",
        ));
        let t = &s.instance_types["ecs.g7.xlarge"];
        assert_eq!((t.vcpu, t.eni_quantity, t.ipv4_per_eni), (4, 4, 20));
    }

    #[test]
    fn kind_specific_keys_stay_with_their_kind() {
        let workload = |body: &str| with(&format!("[[workload]]\nname = \"w\"\n{body}"));
        expect(
            &workload("kind = \"job\"\nreplicas = 3\narrivals_per_hour = 1\nduration = \"1m\"\n"),
            "workload[0].replicas",
            20,
            "`replicas` is for deployments and statefulsets",
        );
        expect(
            &workload("kind = \"deployment\"\nreplicas = 3\narrivals_per_hour = 1\n"),
            "workload[0].arrivals_per_hour",
            21,
            "`arrivals_per_hour` is for jobs",
        );
        expect(
            &workload("kind = \"deployment\"\nreplicas = 3\npod_management = \"parallel\"\n"),
            "workload[0].pod_management",
            21,
            "is for statefulsets",
        );
        expect(
            &workload("kind = \"statefulset\"\nreplicas = 3\nmax_surge = 1\n"),
            "workload[0].max_surge",
            21,
            "is for deployments",
        );
        expect(
            &workload("kind = \"deployment\"\n"),
            "workload[0].replicas",
            17,
            "a deployment needs `replicas`",
        );
        expect(
            &workload("kind = \"job\"\nduration = \"1m\"\n"),
            "workload[0].arrivals_per_hour",
            17,
            "a job needs `arrivals_per_hour`",
        );
        expect(
            &workload("kind = \"job\"\narrivals_per_hour = 5\n"),
            "workload[0].duration",
            17,
            "a job needs `duration`",
        );
        expect(
            &workload(
                "kind = \"job\"\narrivals_per_hour = 5\nduration = \"1m\"\nduration_p50 = \"1m\"\n",
            ),
            "workload[0].duration",
            21,
            "not both",
        );
        expect(
            &workload(
                "kind = \"job\"\narrivals_per_hour = 5\nduration_p50 = \"5m\"\nduration_p99 = \"5m\"\n",
            ),
            "workload[0].duration_p99",
            22,
            "5m must be longer than duration_p50 5m",
        );
        expect(
            &workload(
                "kind = \"deployment\"\nreplicas = 3\nmax_surge = 0\nmax_unavailable = \"0%\"\n",
            ),
            "workload[0].max_unavailable",
            22,
            "cannot both be zero",
        );
        expect(
            &workload("kind = \"statefulset\"\nreplicas = 3\npod_management = \"Paralel\"\n"),
            "workload[0].pod_management",
            21,
            "did you mean `parallel`?",
        );
        let (s, _) = ok(&workload(
            "kind = \"job\"\narrivals_per_hour = [[\"0s\", 0.5], [\"6h\", 20]]\nduration_p50 = \"5m\"\nduration_p99 = \"1h\"\n",
        ));
        assert_eq!(
            s.workloads[0].kind,
            WorkloadKind::Job(JobSpec {
                arrivals_per_hour: Curve {
                    points: vec![(0, 0.5), (6 * HOUR_MS, 20.0)]
                },
                duration: JobDuration::LogNormal {
                    p50_ms: 300_000,
                    p99_ms: 3_600_000
                },
            })
        );
    }

    #[test]
    fn pools_and_workloads_need_unique_names_and_zones() {
        expect(
            &edit("zones = [\"z1\"]", "zones = []"),
            "nodepool[0].zones",
            15,
            "at least one zone",
        );
        expect(
            &edit("zones = [\"z1\"]", "zones = [\"z1\", \"z1\"]"),
            "nodepool[0].zones[1]",
            15,
            "listed twice",
        );
        expect(
            &with(
                "[[nodepool]]\nname = \"pool\"\ninstance_type = \"ecs.g7.xlarge\"\nzones = [\"z1\"]\n",
            ),
            "nodepool[1].name",
            18,
            "duplicate node pool name `pool` (also nodepool[0])",
        );
        expect(
            &with(
                "[[workload]]\nname = \"w\"\nkind = \"deployment\"\nreplicas = 1\n[[workload]]\nname = \"w\"\nkind = \"deployment\"\nreplicas = 1\n",
            ),
            "workload[1].name",
            22,
            "duplicate workload name `w` (also workload[0])",
        );
    }

    #[test]
    fn action_rules() {
        expect(
            &with("[[action]]\nat = \"31d\"\nrestart_terway = true\n"),
            "action[0].at",
            18,
            "31d is after the horizon 30d",
        );
        expect(
            &with("[[action]]\nat = \"1d\"\n"),
            "action[0]",
            17,
            "needs one of",
        );
        expect(
            &with(
                "[[action]]\nat = \"1d\"\nrestart_terway = true\nscale_nodepool = { name = \"pool\", nodes = 3 }\n",
            ),
            "action[0].scale_nodepool",
            20,
            "separate [[action]] entries",
        );
        expect(
            &with("[[action]]\nat = \"1d\"\nrestart_terway = false\n"),
            "action[0].restart_terway",
            19,
            "must be true",
        );
        expect(
            &with("[[action]]\nat = \"1d\"\nscale_nodepool = { name = \"pool\" }\n"),
            "action[0].scale_nodepool",
            19,
            "at least one of",
        );
        expect(
            &with("[[action]]\nat = \"1d\"\nscale_nodepool = { name = \"pool\", min_nodes = 5 }\n"),
            "action[0].scale_nodepool.min_nodes",
            19,
            "min_nodes 5 would be above max_nodes 2",
        );
        // Sizes carry over from earlier scale actions, in time order.
        let text = with(
            "[[action]]\nat = \"2d\"\nscale_nodepool = { name = \"pool\", min_nodes = 5 }\n[[action]]\nat = \"1d\"\nscale_nodepool = { name = \"pool\", max_nodes = 10 }\n",
        );
        ok(&text);
        expect(
            &with(
                "[[action]]\nat = \"1d\"\nscale_nodepool = { name = \"pool\", max_nodes = 8, nodes = 9 }\n",
            ),
            "action[0].scale_nodepool.nodes",
            19,
            "nodes 9 is outside min_nodes..max_nodes (2..8)",
        );
        expect(
            &with("[[action]]\nat = \"1d\"\nscale_nodepool = { name = \"pool\", nodes = -3 }\n"),
            "action[0].scale_nodepool.nodes",
            19,
            "negative",
        );
    }

    #[test]
    fn sample_interval_bounds() {
        expect(
            &edit(
                "horizon = \"30d\"",
                "horizon = \"30d\"\nsample_interval = \"1s\"",
            ),
            "scenario.sample_interval",
            3,
            "gives 2592001 samples per run over 30d; at most 100000 are allowed, use 26s or more",
        );
        ok(&edit(
            "horizon = \"30d\"",
            "horizon = \"30d\"\nsample_interval = \"26s\"",
        ));
        expect(
            &edit(
                "horizon = \"30d\"",
                "horizon = \"30d\"\nsample_interval = \"31d\"",
            ),
            "scenario.sample_interval",
            3,
            "longer than the horizon",
        );
        expect(
            &edit(
                "horizon = \"30d\"",
                "horizon = \"30d\"\nsample_interval = \"500ms\"",
            ),
            "scenario.sample_interval",
            3,
            "at least 1s",
        );
    }

    #[test]
    fn terway_value_errors() {
        let terway = |line: &str| {
            edit(
                "vswitches = { z1 = [\"vsw-a\"] }",
                &format!("vswitches = {{ z1 = [\"vsw-a\"] }}\n{line}"),
            )
        };
        expect(
            &terway("max_pool_size = -1"),
            "terway.max_pool_size",
            11,
            "negative",
        );
        expect(
            &terway("ip_pool_sync_period = \"0s\""),
            "terway.ip_pool_sync_period",
            11,
            "at least 1s",
        );
        expect(
            &terway("idle_ip_reclaim_batch_size = 0"),
            "terway.idle_ip_reclaim_batch_size",
            11,
            "between 1",
        );
        expect(
            &terway("idle_ip_reclaim_jitter_factor = 11.0"),
            "terway.idle_ip_reclaim_jitter_factor",
            11,
            "between 0 and 10",
        );
        expect(&terway("max_eni = 65"), "terway.max_eni", 11, "at most 64");
        // Reclaim settings given while reclaim is off apply once a patch turns it on.
        let (s, _) = ok(&format!(
            "{}[[action]]\nat = \"1d\"\nset_terway = {{ idle_ip_reclaim_after = \"1h\" }}\n[[action]]\nat = \"2d\"\nrestart_terway = true\n",
            terway("idle_ip_reclaim_interval = \"5m\"")
        ));
        assert_eq!(s.terway_configs[0].idle_ip_reclaim, None);
        assert_eq!(
            s.terway_configs[1].idle_ip_reclaim,
            Some(IdleReclaim {
                after_ms: HOUR_MS,
                interval_ms: 5 * MINUTE_MS,
                batch_size: 5,
                jitter_factor: 0.1
            })
        );
    }

    #[test]
    fn what_terway_accepts_is_a_warning() {
        let terway = |line: &str| {
            edit(
                "vswitches = { z1 = [\"vsw-a\"] }",
                &format!("vswitches = {{ z1 = [\"vsw-a\"] }}\n{line}"),
            )
        };
        let (_, warnings) = ok(&terway("min_pool_size = 8"));
        let w = warning(&warnings, "terway.min_pool_size");
        assert_eq!(w.line, Some(11));
        assert!(
            w.message.contains("caps min_pool_size at 5"),
            "{}",
            w.message
        );

        let (s, warnings) = ok(&terway("vswitch_selection_policy = \"most\""));
        assert_eq!(
            s.terway_configs[0].vswitch_selection,
            VSwitchSelection::Random
        );
        let w = warning(&warnings, "terway.vswitch_selection_policy");
        assert_eq!(w.line, Some(11));
        assert!(w.message.contains("treats it as random"), "{}", w.message);
        let (s, warnings) = ok(&terway("vswitch_selection_policy = \"random\""));
        assert_eq!(
            s.terway_configs[0].vswitch_selection,
            VSwitchSelection::Random
        );
        assert!(warnings.is_empty());

        let (_, warnings) = ok(&edit("ecs.g7.xlarge", "ecs.g7.large").replace(
            "vswitches = { z1 = [\"vsw-a\"] }",
            "vswitches = { z1 = [\"vsw-a\"] }\nmax_pool_size = 20",
        ));
        let w = warning(&warnings, "terway.max_pool_size");
        assert_eq!(w.line, Some(11));
        assert!(
            w.message.contains("above the 12 addresses"),
            "{}",
            w.message
        );
        assert_eq!(warnings.len(), 1, "{warnings:?}");

        let (_, warnings) = ok(&edit("ecs.g7.xlarge", "ecs.g6.large"));
        let w = warning(&warnings, "nodepool[0].instance_type");
        assert_eq!(w.line, Some(14));
        assert!(w.message.contains("(2 - 1) x 6 = 6 pods"), "{}", w.message);
        // max_pool_size 5 is below 6, so that is the only warning.
        assert_eq!(warnings.len(), 1, "{warnings:?}");

        let (s, warnings) = ok(&edit("vswitches = { z1 = [\"vsw-a\"] }", ""));
        assert!(s.terway_configs[0].vswitches.is_empty());
        let w = warning(&warnings, "nodepool[0].zones[0]");
        assert_eq!(w.line, Some(15));
        assert!(
            w.message
                .contains("falls back to the node's primary vSwitch `vsw-a`"),
            "{}",
            w.message
        );

        let (_, warnings) = ok(&with(
            "[[vswitch]]\nid = \"vsw-b\"\nzone = \"z2\"\ncidr = \"10.0.1.0/24\"\n",
        ));
        let w = warning(&warnings, "vswitch[1].zone");
        assert_eq!(w.line, Some(19));
        assert!(
            w.message.contains("no node pool runs in zone `z2`"),
            "{}",
            w.message
        );

        let (_, warnings) = ok(&format!(
            "{}[[vswitch]]\nid = \"vsw-b\"\nzone = \"z2\"\ncidr = \"10.0.1.0/24\"\n",
            edit("[\"vsw-a\"]", "[\"vsw-a\", \"vsw-b\"]")
        ));
        let w = warning(&warnings, "terway.vswitches.z1[1]");
        assert_eq!(w.line, Some(10));
        assert!(
            w.message
                .contains("vSwitch `vsw-b` is in zone `z2`, not `z1`"),
            "{}",
            w.message
        );

        let (_, warnings) = ok(&edit(
            "{ z1 = [\"vsw-a\"] }",
            "{ z1 = [\"vsw-a\"], z0 = [\"vsw-a\"] }",
        ));
        let w = warning(&warnings, "terway.vswitches.z0");
        assert!(w.message.contains("did you mean `z1`?"), "{}", w.message);

        let (_, warnings) = ok(&with(
            "[[action]]\nat = \"1d\"\nset_terway = { max_pool_size = 3 }\n[[action]]\nat = \"1d\"\nrestart_terway = true\n[[action]]\nat = \"2d\"\nset_terway = { max_pool_size = 4 }\n",
        ));
        let w = warning(&warnings, "action[2].set_terway");
        assert_eq!(w.line, Some(25));
        assert!(
            w.message.contains("no restart_terway follows"),
            "{}",
            w.message
        );
        assert_eq!(warnings.len(), 1, "{warnings:?}");
    }

    #[test]
    fn warnings_print_with_line_and_key() {
        let (_, warnings) = ok(&edit("ecs.g7.xlarge", "ecs.g6.large"));
        assert!(
            warnings[0]
                .to_string()
                .starts_with("line 14: nodepool[0].instance_type: a `ecs.g6.large` node holds"),
            "{}",
            warnings[0]
        );
    }
}
