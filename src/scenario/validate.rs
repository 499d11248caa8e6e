//! Cross-key rules; resolves names to indices.
//!
//! The order of the checks follows the dependencies between sections: `[scenario]` (the horizon
//! bounds every time), `[vpc]`, instance types, vSwitches (those of `[[vswitch]]` and those added
//! by actions, since Terway may name either), zones, `[terway]`, node pools (their default
//! primary vSwitch comes from `[terway]`), workloads, then actions in time order (each
//! `set_terway` is merged over the config as it stands). The first error ends validation; what
//! Terway itself accepts becomes a [`Warning`] and is modelled as Terway does it.
//!
//! This file holds the order and the checks every part shares (ranges, names, unknown names);
//! each part lives beside it: `network` (`[vpc]`, vSwitches, zones), `terway` (`[terway]` and
//! `set_terway` patches), `nodepools` (instance types, node pools), `workloads`, `actions`,
//! `live` (what the scenario says of the live cluster for the runbook and the report), and
//! `memory` (the estimate that refuses scenarios too large to run).

mod actions;
#[cfg(test)]
mod fixtures;
mod live;
mod memory;
mod network;
mod nodepools;
mod podnetworking;
mod terway;
mod workloads;

use std::collections::BTreeSet;
use std::ops::RangeInclusive;
use std::path::Path;

use super::History;
use super::file::ScenarioSection;
use super::file::{
    GatesSection, Locator, PlanningSection, Runs, ScenarioFile, TerwayEntry, nearest,
};
use super::{
    AutoRuns, CloudTimings, DAY_MS, Gates, HOUR_MS, MINUTE_MS, Millis, Planning, PodEnis,
    SECOND_MS, Scenario, ScenarioError, Warning, format_duration,
};
use network::vswitch_sources;
use terway::TerwayState;

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
/// `max_runs` when `runs = "auto"` does not say.
const DEFAULT_MAX_RUNS: u32 = 400;
/// The most replicas, arrivals per hour or pods pending a gate may name.
const MAX_COUNT: f64 = 10_000_000.0;

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

/// What every check needs: the file that errors name, the lines of its keys, and the warnings
/// so far. Each part of validation adds its checks as methods.
struct Checker<'a> {
    path: &'a Path,
    locator: Locator,
    warnings: Vec<Warning>,
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

    /// `[scenario] history`, resolved against the scenario's folder; the file is read later
    /// (`scenario::read_history`), so parsing stays free of other files.
    fn history(&self, section: &ScenarioSection) -> Result<Option<History>, ScenarioError> {
        let Some(file) = &section.history else {
            return Ok(None);
        };
        self.not_empty("scenario.history", file, "the history file")?;
        let folder = self.path.parent().unwrap_or(Path::new(""));
        Ok(Some(History {
            path: folder.join(file),
            series: Vec::new(),
        }))
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
        let (runs, auto_runs) = self.runs(section, horizon_ms)?;
        let sample_interval_ms = match section.sample_interval {
            Some(interval) => self.sample_interval(interval.0, horizon_ms)?,
            None => default_sample_interval(horizon_ms),
        };

        let vpc_cidrs = self.vpc(&raw)?;
        let snat = self.snat(&raw)?;
        let instance_types = self.instance_types(&raw)?;
        self.actions_alone(&raw.action, horizon_ms)?;
        self.nodepool_zones(&raw.nodepool)?;

        let (sources, added_vswitch) = vswitch_sources(&raw);
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
        let vswitches = self.resolve_vswitches(&sources, &zones)?;
        let live = self.live(&raw, &vswitches.specs)?;

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
            auto_runs,
            sample_interval_ms,
            vpc_cidrs,
            snat,
            live,
            zones,
            vswitches: vswitches.specs,
            terway_configs,
            cloud,
            instance_types,
            nodepools,
            workloads,
            actions,
            history: self.history(section)?,
            pod_enis: PodEnis::default(),
        };
        let scenario = self.pod_enis(&raw, scenario)?;
        scenario.check_memory().map_err(|error| ScenarioError {
            line: self.locator.line(&error.key),
            ..error
        })?;
        Ok(scenario)
    }

    /// `runs`, and with `runs = "auto"` its `precision` and `max_runs` (the runs counted are
    /// then the most it may make, so that the memory check covers them).
    fn runs(
        &self,
        section: &super::file::ScenarioSection,
        horizon_ms: Millis,
    ) -> Result<(u32, Option<AutoRuns>), ScenarioError> {
        let only_with_auto = |key: &str| {
            self.err(
                key,
                "is used only with runs = \"auto\"; remove it or set runs = \"auto\"",
            )
        };
        match section.runs {
            Some(Runs::Auto) => {
                let Some(precision) = section.precision else {
                    return Err(self.err(
                        "scenario.runs",
                        "runs = \"auto\" needs scenario.precision (or --precision), how narrow the first shortage's interval must get, e.g. \"6h\"",
                    ));
                };
                if precision.0 < SECOND_MS || precision.0 > horizon_ms {
                    return Err(self.err(
                        "scenario.precision",
                        format!(
                            "must be between 1s and the horizon ({}), got {}",
                            format_duration(horizon_ms),
                            format_duration(precision.0)
                        ),
                    ));
                }
                let max_runs = match section.max_runs {
                    Some(max) => self.int("scenario.max_runs", max, 1..=MAX_RUNS)?,
                    None => DEFAULT_MAX_RUNS,
                };
                let auto = AutoRuns {
                    precision_ms: precision.0,
                    max_runs,
                };
                Ok((max_runs, Some(auto)))
            }
            other => {
                if section.precision.is_some() {
                    return Err(only_with_auto("scenario.precision"));
                }
                if section.max_runs.is_some() {
                    return Err(only_with_auto("scenario.max_runs"));
                }
                let runs = match other {
                    Some(Runs::Count(runs)) => self.int("scenario.runs", runs, 1..=MAX_RUNS)?,
                    _ => 1,
                };
                Ok((runs, None))
            }
        }
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
        let confidence = match section.confidence {
            Some(c) => Some(self.number("gates.confidence", c, 0.5..=0.999)?),
            None => None,
        };
        Ok(Gates {
            percentile,
            min_time_to_shortage_ms,
            max_vswitch_utilization,
            max_pods_pending_ip,
            confidence,
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

#[cfg(test)]
mod tests {
    use ipnet::Ipv4Net;

    use super::fixtures::*;
    use super::*;
    use crate::catalog;
    use crate::scenario::{
        ActionKind, Amount, Curve, EniSelection, IdleReclaim, JobDuration, JobSpec, NodePoolSpec,
        PodManagement, TerwayConfig, VSwitchSelection, WorkloadKind,
    };

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
                terway: Default::default(),
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
