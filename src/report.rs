//! Turns the runs of a scenario into percentiles, CSV files and a summary table.
//!
//! Aggregation is pure (runs in, rows out) and sequential over runs taken in run order, so the
//! bytes written do not depend on how many threads ran the runs. Only [`write_reports`]
//! touches the file system, and it swaps a finished folder into place so that a failed run
//! never leaves a half-written report where a good one was.

pub mod ci;
pub mod csv;
pub mod png;
pub mod runbook;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::model::{RunResult, ShortageCause};
use crate::scenario::{Millis, Scenario, format_duration, human_duration};
use crate::stats::{
    CONFIDENCE, CountInterval, Spread, TimeInterval, Wait, WaitPercentiles, fraction, idle_at_peak,
    ip_wait_percentiles, nearest_rank, spread, time_interval, time_percentile, value_interval,
    value_percentile, wait_percentiles,
};

/// One row of `zones.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct ZoneRow {
    /// Zone name.
    pub zone: String,
    /// Addresses the cluster can take from the zone's vSwitches by the horizon.
    pub usable_ips: u32,
    /// The same at the start (before any `add_vswitch`).
    pub usable_ips_at_start: u32,
    /// Peak addresses held, median run.
    pub peak_used_p50: u32,
    /// Peak addresses held, 90th percentile run.
    pub peak_used_p90: u32,
    /// First shortage, percentiles over runs (never = `None`).
    pub first_shortage_p10_ms: Option<Millis>,
    /// Median.
    pub first_shortage_p50_ms: Option<Millis>,
    /// 90th percentile.
    pub first_shortage_p90_ms: Option<Millis>,
    /// Fraction of runs with a shortage.
    pub shortage_runs: f64,
    /// Most common cause of the first shortage.
    pub shortage_cause: Option<ShortageCause>,
    /// Peak demand (held + waiting), 90th percentile run.
    pub peak_demand_p90: u32,
    /// Peak pods waiting for an address in the zone, 90th percentile run.
    pub peak_pods_pending_ip_p90: u32,
    /// First request that failed while the node could still reach free addresses, median.
    pub first_stranded_p50_ms: Option<Millis>,
    /// Requests that failed that way, median run.
    pub stranded_failures_p50: u32,
    /// Address waits of the zone's pods over all runs, those that never got one included.
    pub ip_wait: WaitPercentiles,
    /// [`CONFIDENCE`] intervals of `peak_used_p50` and `peak_used_p90`.
    pub peak_used_ci: [CountInterval; 2],
    /// Of the first shortage at p10, p50 and p90.
    pub first_shortage_ci: [TimeInterval; 3],
    /// Of `peak_demand_p90`.
    pub peak_demand_p90_ci: CountInterval,
    /// Of `peak_pods_pending_ip_p90`.
    pub peak_pods_pending_ip_p90_ci: CountInterval,
}

/// One row of `vswitches.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct VSwitchRow {
    /// `vsw-...`
    pub vswitch: String,
    /// Its zone.
    pub zone: String,
    /// Its block.
    pub cidr: String,
    /// Addresses the cluster can take.
    pub usable_ips: u32,
    /// Peak addresses held, median run.
    pub peak_used_p50: u32,
    /// Peak addresses held, 90th percentile run.
    pub peak_used_p90: u32,
    /// First time with no free address, percentiles over runs.
    pub full_p10_ms: Option<Millis>,
    /// Median.
    pub full_p50_ms: Option<Millis>,
    /// 90th percentile.
    pub full_p90_ms: Option<Millis>,
    /// Fraction of runs where it filled up.
    pub full_runs: f64,
    /// When an `add_vswitch` action created it.
    pub created_at_ms: Option<Millis>,
    /// [`CONFIDENCE`] intervals of `peak_used_p50` and `peak_used_p90`.
    pub peak_used_ci: [CountInterval; 2],
    /// Of the time it filled at p10, p50 and p90.
    pub full_ci: [TimeInterval; 3],
}

/// One row of `prefixes.csv`: a vSwitch's reserved CIDR blocks, whose /28 IP prefixes only
/// prefix-mode nodes take.
#[derive(Debug, Clone, PartialEq)]
pub struct PrefixRow {
    /// `vsw-...`
    pub vswitch: String,
    /// Its zone.
    pub zone: String,
    /// The reserved blocks, space-separated.
    pub reserved: String,
    /// /28 prefixes the blocks hold.
    pub prefixes: u32,
    /// Most prefixes taken at once, median run.
    pub peak_used_p50: u32,
    /// 90th percentile run.
    pub peak_used_p90: u32,
    /// Fraction of runs in which every prefix was taken at some point.
    pub full_runs: f64,
}

/// One combination of a what-if sweep, as `sweep.csv` and `sweep.png` show it. Figures are for
/// the whole cluster: the earliest zone shortage, the fullest vSwitch.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepPoint {
    /// The combination, e.g. `terway.max_pool_size=5 vswitch.vsw-aaa.cidr=10.0.0.0/22`.
    pub label: String,
    /// Earliest first shortage over zones, percentiles over runs (`None`: never).
    pub first_shortage_p10_ms: Option<Millis>,
    /// Median.
    pub first_shortage_p50_ms: Option<Millis>,
    /// 90th percentile.
    pub first_shortage_p90_ms: Option<Millis>,
    /// Fraction of runs with a shortage in any zone.
    pub shortage_runs: f64,
    /// Peak addresses held over all zones, 90th percentile run.
    pub peak_used_p90: u32,
    /// Highest peak used / usable over vSwitches, 90th percentile run.
    pub peak_utilization_p90: f64,
    /// Idle addresses in node pools at the moment of peak use, median run.
    pub idle_at_peak_p50: u32,
    /// Time from a pod's first CNI ADD to its address: median.
    pub ip_wait_p50_ms: Option<Millis>,
    /// 99th percentile.
    pub ip_wait_p99_ms: Option<Millis>,
    /// Address waits with the pods that never got one counted at their wait so far.
    pub ip_wait: WaitPercentiles,
}

/// Everything the reports say, aggregated over runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// Scenario name.
    pub scenario: String,
    /// Base seed.
    pub seed: u64,
    /// Runs aggregated.
    pub runs: u32,
    /// Horizon.
    pub horizon_ms: Millis,
    /// One per zone, in scenario order.
    pub zones: Vec<ZoneRow>,
    /// One per vSwitch, in scenario order.
    pub vswitches: Vec<VSwitchRow>,
    /// One per vSwitch with reserved blocks, in scenario order (empty without prefix mode).
    pub prefixes: Vec<PrefixRow>,
    /// Per zone with prefix-mode nodes, the prefixes they hold at `max_nodes` against the
    /// reservations.
    pub prefix_plans: Vec<crate::plan::PrefixPlan>,
    /// Sample times.
    pub times_ms: Vec<Millis>,
    /// `[sample][vswitch]` used addresses.
    pub vswitch_used: Vec<Vec<Spread>>,
    /// `[sample][vswitch]` idle addresses.
    pub vswitch_idle: Vec<Vec<Spread>>,
    /// `[sample][zone]` idle addresses in node pools.
    pub zone_idle: Vec<Vec<Spread>>,
    /// Ready nodes per sample.
    pub nodes: Vec<Spread>,
    /// Pods with an address per sample.
    pub pods_running: Vec<Spread>,
    /// Pods waiting for an address per sample.
    pub pods_pending_ip: Vec<Spread>,
    /// Unschedulable pods per sample.
    pub pods_unschedulable: Vec<Spread>,
    /// Most pods waiting at once, percentiles over runs.
    pub max_pods_pending_ip: Spread,
    /// [`CONFIDENCE`] intervals of its p10, p50 and p90.
    pub max_pods_pending_ip_ci: [CountInterval; 3],
    /// Time from a pod's first CNI ADD to its address over all runs: p50 and p99.
    pub ip_wait_p50_ms: Option<Millis>,
    /// 99th percentile.
    pub ip_wait_p99_ms: Option<Millis>,
    /// Address waits over all runs with the pods that never got one counted at their wait so
    /// far (still waiting at the horizon, or deleted while waiting).
    pub ip_wait: WaitPercentiles,
    /// Events handled in all runs.
    pub events: u64,
    /// Node launches refused for lack of an eth0 address, over all runs.
    pub node_launch_failures: u64,
    /// With `runs = "auto"`: how many runs it took and why it stopped (set by the caller that
    /// ran them).
    pub auto_runs: Option<crate::sweep::AutoOutcome>,
    /// Idle addresses Terway's pools held today per zone (`idle_today` of its vSwitches, from
    /// `terway-cli mapping`), in zone order; `None` where the scenario does not say.
    pub idle_today: Vec<Option<u32>>,
}

/// Aggregates runs (in run order) into a summary.
pub fn summarize(scenario: &Scenario, runs: &[RunResult]) -> Summary {
    assert!(!runs.is_empty(), "at least one run");
    let zones = scenario
        .zones
        .iter()
        .enumerate()
        .map(|(zone, name)| zone_row(scenario, runs, zone, name))
        .collect();
    let vswitches = scenario
        .vswitches
        .iter()
        .enumerate()
        .map(|(index, spec)| {
            let full: Vec<Option<Millis>> =
                runs.iter().map(|r| r.vswitches[index].full_at_ms).collect();
            let peaks = || runs.iter().map(|r| r.vswitches[index].peak_used);
            VSwitchRow {
                vswitch: spec.id.clone(),
                zone: scenario.zones[spec.zone].clone(),
                cidr: spec.cidr.to_string(),
                usable_ips: spec.usable_ips(),
                peak_used_p50: value_percentile(peaks(), 50.0),
                peak_used_p90: value_percentile(peaks(), 90.0),
                full_p10_ms: time_percentile(&full, 10.0),
                full_p50_ms: time_percentile(&full, 50.0),
                full_p90_ms: time_percentile(&full, 90.0),
                full_runs: fraction(&full),
                created_at_ms: spec.created_at_ms,
                peak_used_ci: [50.0, 90.0].map(|p| value_interval(peaks(), p)),
                full_ci: [10.0, 50.0, 90.0].map(|p| time_interval(&full, p)),
            }
        })
        .collect();
    let prefixes = scenario
        .vswitches
        .iter()
        .enumerate()
        .filter(|(_, spec)| !spec.cidr_reservations.is_empty())
        .map(|(index, spec)| {
            let peaks = || runs.iter().map(|r| r.vswitches[index].peak_prefixes_used);
            let total = spec.reserved_prefixes();
            PrefixRow {
                vswitch: spec.id.clone(),
                zone: scenario.zones[spec.zone].clone(),
                reserved: spec
                    .cidr_reservations
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(" "),
                prefixes: total,
                peak_used_p50: value_percentile(peaks(), 50.0),
                peak_used_p90: value_percentile(peaks(), 90.0),
                full_runs: peaks().filter(|&peak| peak >= total).count() as f64 / runs.len() as f64,
            }
        })
        .collect();
    let times_ms = runs[0].samples.times_ms.clone();
    for run in runs {
        assert_eq!(
            run.samples.times_ms, times_ms,
            "runs sample at the same times"
        );
    }
    let per_entity = |count: usize, series: fn(&RunResult) -> &Vec<u32>| {
        (0..times_ms.len())
            .map(|sample| {
                (0..count)
                    .map(|entity| spread(runs.iter().map(|r| series(r)[sample * count + entity])))
                    .collect()
            })
            .collect()
    };
    let per_sample = |series: fn(&RunResult) -> &Vec<u32>| {
        (0..times_ms.len())
            .map(|sample| spread(runs.iter().map(|r| series(r)[sample])))
            .collect()
    };
    let (ip_wait_p50_ms, ip_wait_p99_ms) = ip_wait_percentiles(runs);
    let vswitch_used = per_entity(scenario.vswitches.len(), |r| &r.samples.vswitch_used);
    let vswitch_idle = per_entity(scenario.vswitches.len(), |r| &r.samples.vswitch_idle);
    let zone_idle = per_entity(scenario.zones.len(), |r| &r.samples.zone_idle);
    let nodes = per_sample(|r| &r.samples.nodes);
    let pods_running = per_sample(|r| &r.samples.pods_running);
    let pods_pending_ip = per_sample(|r| &r.samples.pods_pending_ip);
    let pods_unschedulable = per_sample(|r| &r.samples.pods_unschedulable);
    Summary {
        scenario: scenario.name.clone(),
        seed: scenario.seed,
        runs: runs.len() as u32,
        horizon_ms: scenario.horizon_ms,
        zones,
        vswitches,
        prefixes,
        prefix_plans: crate::plan::prefix_plans(scenario),
        times_ms,
        vswitch_used,
        vswitch_idle,
        zone_idle,
        nodes,
        pods_running,
        pods_pending_ip,
        pods_unschedulable,
        max_pods_pending_ip: spread(runs.iter().map(|r| r.max_pods_pending_ip)),
        max_pods_pending_ip_ci: [10.0, 50.0, 90.0]
            .map(|p| value_interval(runs.iter().map(|r| r.max_pods_pending_ip), p)),
        ip_wait_p50_ms,
        ip_wait_p99_ms,
        ip_wait: wait_percentiles(runs, None),
        events: runs.iter().map(|r| r.events).sum(),
        node_launch_failures: runs.iter().map(|r| u64::from(r.node_launch_failures)).sum(),
        auto_runs: None,
        idle_today: scenario.live.idle_today_per_zone(scenario),
    }
}

fn zone_row(scenario: &Scenario, runs: &[RunResult], zone: usize, name: &str) -> ZoneRow {
    let in_zone = || scenario.vswitches.iter().filter(|v| v.zone == zone);
    let shortage: Vec<Option<Millis>> = runs
        .iter()
        .map(|r| r.zones[zone].first_shortage_ms)
        .collect();
    let peaks = || runs.iter().map(|r| r.zones[zone].peak_used);
    let mut causes: Vec<ShortageCause> = runs
        .iter()
        .filter_map(|r| r.zones[zone].first_shortage_cause)
        .collect();
    causes.sort_unstable();
    // The most common cause; ties go to the one listed first in `ShortageCause`.
    let shortage_cause = causes
        .chunk_by(|a, b| a == b)
        .max_by_key(|group| (group.len(), std::cmp::Reverse(group[0])))
        .map(|group| group[0]);
    ZoneRow {
        zone: name.to_string(),
        usable_ips: in_zone().map(|v| v.usable_ips()).sum(),
        usable_ips_at_start: in_zone()
            .filter(|v| v.created_at_ms.is_none())
            .map(|v| v.usable_ips())
            .sum(),
        peak_used_p50: value_percentile(peaks(), 50.0),
        peak_used_p90: value_percentile(peaks(), 90.0),
        first_shortage_p10_ms: time_percentile(&shortage, 10.0),
        first_shortage_p50_ms: time_percentile(&shortage, 50.0),
        first_shortage_p90_ms: time_percentile(&shortage, 90.0),
        shortage_runs: fraction(&shortage),
        shortage_cause,
        peak_demand_p90: value_percentile(runs.iter().map(|r| r.zones[zone].peak_demand), 90.0),
        peak_pods_pending_ip_p90: value_percentile(
            runs.iter().map(|r| r.zones[zone].peak_pending_ip),
            90.0,
        ),
        first_stranded_p50_ms: time_percentile(
            &runs
                .iter()
                .map(|r| r.zones[zone].first_stranded_ms)
                .collect::<Vec<_>>(),
            50.0,
        ),
        stranded_failures_p50: value_percentile(
            runs.iter().map(|r| r.zones[zone].stranded_failures),
            50.0,
        ),
        ip_wait: wait_percentiles(runs, Some(zone)),
        peak_used_ci: [50.0, 90.0].map(|p| value_interval(peaks(), p)),
        first_shortage_ci: [10.0, 50.0, 90.0].map(|p| time_interval(&shortage, p)),
        peak_demand_p90_ci: value_interval(runs.iter().map(|r| r.zones[zone].peak_demand), 90.0),
        peak_pods_pending_ip_p90_ci: value_interval(
            runs.iter().map(|r| r.zones[zone].peak_pending_ip),
            90.0,
        ),
    }
}

/// Seconds for CSV cells: whole seconds, or with milliseconds when there are any.
pub fn seconds(ms: Millis) -> String {
    if ms.is_multiple_of(1000) {
        format!("{}", ms / 1000)
    } else {
        format!("{}.{:03}", ms / 1000, ms % 1000)
    }
}

/// One sweep point from its runs: cluster-wide figures (the earliest zone, the fullest
/// vSwitch).
pub fn sweep_point(label: String, scenario: &Scenario, runs: &[RunResult]) -> SweepPoint {
    let earliest: Vec<Option<Millis>> = runs
        .iter()
        .map(|r| r.zones.iter().filter_map(|z| z.first_shortage_ms).min())
        .collect();
    let peak_used = |r: &RunResult| r.zones.iter().map(|z| z.peak_used).sum::<u32>();
    let utilization = |r: &RunResult| {
        scenario
            .vswitches
            .iter()
            .zip(&r.vswitches)
            .map(|(spec, outcome)| {
                f64::from(outcome.peak_used) / f64::from(spec.usable_ips().max(1))
            })
            .fold(0.0, f64::max)
    };
    let idle_at_peak = |r: &RunResult| idle_at_peak(scenario, r, None);
    let mut utilizations: Vec<f64> = runs.iter().map(utilization).collect();
    utilizations.sort_by(f64::total_cmp);
    let (ip_wait_p50_ms, ip_wait_p99_ms) = ip_wait_percentiles(runs);
    SweepPoint {
        label,
        first_shortage_p10_ms: time_percentile(&earliest, 10.0),
        first_shortage_p50_ms: time_percentile(&earliest, 50.0),
        first_shortage_p90_ms: time_percentile(&earliest, 90.0),
        shortage_runs: fraction(&earliest),
        peak_used_p90: value_percentile(runs.iter().map(peak_used), 90.0),
        peak_utilization_p90: nearest_rank(&utilizations, 90.0),
        idle_at_peak_p50: value_percentile(runs.iter().map(idle_at_peak), 50.0),
        ip_wait_p50_ms,
        ip_wait_p99_ms,
        ip_wait: wait_percentiles(runs, None),
    }
}

/// A wait for people: `>= 2d 3h` when it is only a lower bound, `-` when no pod asked.
pub fn wait_text(wait: Option<Wait>) -> String {
    match wait {
        None => "-".to_string(),
        Some(w) if w.censored => format!(">= {}", human_duration(w.ms)),
        Some(w) => human_duration(w.ms),
    }
}

/// How `runs = "auto"` went, in one line.
pub fn auto_runs_line(auto: &crate::sweep::AutoOutcome) -> String {
    format!(
        "runs = \"auto\" (precision {}, max_runs {}): stopped after {} runs; {}",
        human_duration(auto.settings.precision_ms),
        auto.settings.max_runs,
        auto.runs,
        auto.reason
    )
}

impl ZoneRow {
    /// The first shortage's p10, p50 and p90, each with its interval, for people.
    pub fn first_shortage_with_intervals(&self) -> [String; 3] {
        let [p10, p50, p90] = self.first_shortage_ci;
        [
            time_with_interval(self.first_shortage_p10_ms, p10),
            time_with_interval(self.first_shortage_p50_ms, p50),
            time_with_interval(self.first_shortage_p90_ms, p90),
        ]
    }
}

/// A time percentile with its interval, for people: `9d 1h (95%: 8d 20h .. 9d 5h)`.
pub fn time_with_interval(value: Option<Millis>, ci: TimeInterval) -> String {
    let when = |t: Option<Millis>| t.map_or_else(|| "never".to_string(), human_duration);
    format!(
        "{} ({:.0}%: {} .. {})",
        when(value),
        CONFIDENCE * 100.0,
        when(ci.lo),
        when(ci.hi)
    )
}

/// A count percentile with its interval, for people: `240 (95%: 236 .. 251)`; `?` for an end
/// too few runs can bound.
pub fn count_with_interval(value: u32, ci: CountInterval) -> String {
    format!(
        "{value} ({:.0}%: {} .. {})",
        CONFIDENCE * 100.0,
        ci.lo,
        ci.hi.map_or_else(|| "?".to_string(), |h| h.to_string())
    )
}

/// p50 and p99 of address waits, and how many pods never got an address, for people.
pub fn waits_text(waits: &WaitPercentiles) -> String {
    let mut out = format!(
        "p50 {} / p99 {}",
        wait_text(waits.p50),
        wait_text(waits.p99)
    );
    if waits.censored > 0 {
        let _ = write!(
            out,
            " ({} of {} pods never got an address)",
            waits.censored, waits.pods
        );
    }
    out
}

/// The comparison table printed after a sweep.
pub fn sweep_table(scenario: &str, points: &[SweepPoint]) -> String {
    let when = |t: Option<Millis>| t.map_or_else(|| "never".to_string(), human_duration);
    let mut out = String::new();
    let _ = writeln!(out, "sweep of {scenario}: {} combinations", points.len());
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{:<4} {:<30} {:>10}  {:>8} {:>10} {:>9} {:>16}  combination",
        "#",
        "first shortage p10 / p50",
        "runs short",
        "peak p90",
        "util p90",
        "idle@peak",
        "IP wait p50/p99"
    );
    for (index, p) in points.iter().enumerate() {
        let _ = writeln!(
            out,
            "{:<4} {:<30} {:>9.0}%  {:>8} {:>9.1}% {:>9} {:>16}  {}",
            index + 1,
            format!(
                "{} / {}",
                when(p.first_shortage_p10_ms),
                when(p.first_shortage_p50_ms)
            ),
            p.shortage_runs * 100.0,
            p.peak_used_p90,
            p.peak_utilization_p90 * 100.0,
            p.idle_at_peak_p50,
            format!("{} / {}", when(p.ip_wait_p50_ms), when(p.ip_wait_p99_ms)),
            p.label
        );
    }
    out
}

/// Recommendations, pool savings and gate results, for the terminal.
pub fn plan_table(plan: ci::Plan<'_>) -> String {
    let mut out = String::new();
    if !plan.recommendations.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(out, "recommendations:");
        for r in plan.recommendations {
            let check = match r.verified {
                Some(true) => "verified: the re-run with it has no shortage".to_string(),
                Some(false) => format!(
                    "NOT enough alone: the re-run still runs short in {:.0}% of runs",
                    r.verified_shortage_runs.unwrap_or(0.0) * 100.0
                ),
                None => "not verified".to_string(),
            };
            let _ = writeln!(
                out,
                "  {}: at {} it needs {} addresses with headroom but has {}: {}; {check}",
                r.zone_name,
                human_duration(r.shortfall_at_ms),
                r.needed_ips,
                r.needed_ips - r.shortfall_ips,
                crate::plan::describe(r)
            );
        }
    }
    if !plan.savings.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "idle addresses in node pools at the peak (and with max_pool_size = 0):"
        );
        for s in plan.savings {
            let _ = writeln!(
                out,
                "  {}: {} idle; peak use {} -> {} (saves {}); pod IP wait p50/p99 {} / {} -> {} / {}",
                s.zone_name,
                s.idle_at_peak,
                s.peak_used,
                s.peak_used_without_pool,
                s.saved(),
                wait_text(s.ip_wait.p50),
                wait_text(s.ip_wait.p99),
                wait_text(s.ip_wait_without_pool.p50),
                wait_text(s.ip_wait_without_pool.p99)
            );
        }
    }
    if !plan.gates.is_empty() {
        let _ = writeln!(out);
        let failed = plan.gates.iter().filter(|g| !g.passed).count();
        let _ = writeln!(out, "gates: {} checks, {failed} failed", plan.gates.len());
        for g in plan.gates {
            let mark = if g.passed { "pass" } else { "FAIL" };
            let _ = writeln!(out, "  {mark} {}: {}", g.gate, g.message);
        }
    }
    out
}

/// The summary table printed after a run.
pub fn summary_table(summary: &Summary) -> String {
    let mut out = String::new();
    let when = |t: Option<Millis>| t.map_or_else(|| "never".to_string(), human_duration);
    let _ = writeln!(
        out,
        "scenario {}: {} runs, seed {}, horizon {}",
        summary.scenario,
        summary.runs,
        summary.seed,
        format_duration(summary.horizon_ms)
    );
    if let Some(auto) = &summary.auto_runs {
        let _ = writeln!(out, "{}", auto_runs_line(auto));
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{:<18} {:>8} {:>15}  {:<36} {:>10}",
        "zone", "usable", "peak used p50/90", "first shortage p10 / p50 / p90", "runs short"
    );
    for zone in &summary.zones {
        let _ = writeln!(
            out,
            "{:<18} {:>8} {:>15}  {:<36} {:>9.0}%",
            zone.zone,
            zone.usable_ips,
            format!("{} / {}", zone.peak_used_p50, zone.peak_used_p90),
            format!(
                "{} / {} / {}",
                when(zone.first_shortage_p10_ms),
                when(zone.first_shortage_p50_ms),
                when(zone.first_shortage_p90_ms)
            ),
            zone.shortage_runs * 100.0
        );
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{:<18} {:<18} {:>8} {:>15}  {:<36} {:>10}",
        "vSwitch", "zone", "usable", "peak used p50/90", "full p10 / p50 / p90", "runs full"
    );
    for vswitch in &summary.vswitches {
        let _ = writeln!(
            out,
            "{:<18} {:<18} {:>8} {:>15}  {:<36} {:>9.0}%",
            vswitch.vswitch,
            vswitch.zone,
            vswitch.usable_ips,
            format!("{} / {}", vswitch.peak_used_p50, vswitch.peak_used_p90),
            format!(
                "{} / {} / {}",
                when(vswitch.full_p10_ms),
                when(vswitch.full_p50_ms),
                when(vswitch.full_p90_ms)
            ),
            vswitch.full_runs * 100.0
        );
    }
    if !summary.prefixes.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "{:<18} {:<28} {:>8} {:>15}  {:>11} {:>10}",
            "IP prefixes",
            "reserved blocks",
            "/28s",
            "peak used p50/90",
            "free at p90",
            "runs full"
        );
        for row in &summary.prefixes {
            let _ = writeln!(
                out,
                "{:<18} {:<28} {:>8} {:>15}  {:>11} {:>9.0}%",
                row.vswitch,
                row.reserved,
                row.prefixes,
                format!("{} / {}", row.peak_used_p50, row.peak_used_p90),
                row.prefixes.saturating_sub(row.peak_used_p90),
                row.full_runs * 100.0
            );
        }
    }
    for plan in &summary.prefix_plans {
        let _ = write!(
            out,
            "prefix mode in {}: nodes at max_nodes hold {} /28 prefixes, the reserved blocks {}",
            plan.zone, plan.needed_prefixes, plan.reserved_prefixes
        );
        match (plan.reservation_prefix_len, plan.vswitch_prefix_len) {
            (Some(reservation), Some(around)) => {
                let place = plan
                    .vswitch_cidr
                    .map_or("(no free block in the VPC)".to_string(), |c| {
                        format!("at {c}")
                    });
                let _ = writeln!(
                    out,
                    ": reserve a /{reservation} ({} prefixes) for them, in a new /{around} vSwitch {place} (a reservation may not take a vSwitch's first or last three addresses)",
                    (1u32 << (32 - reservation)) / 16
                );
            }
            _ => {
                let _ = writeln!(out, ": enough");
            }
        }
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "how sure: {:.0}% confidence intervals of the percentiles over {} runs (`?`: too few runs to bound that side)",
        CONFIDENCE * 100.0,
        summary.runs
    );
    for zone in &summary.zones {
        let [p10, p50, p90] = zone.first_shortage_with_intervals();
        let _ = writeln!(
            out,
            "  {}: first shortage p10 {p10}, p50 {p50}, p90 {p90}",
            zone.zone
        );
        let _ = writeln!(
            out,
            "  {}: peak used p50 {}, p90 {}; peak demand p90 {}; peak pods waiting p90 {}",
            zone.zone,
            count_with_interval(zone.peak_used_p50, zone.peak_used_ci[0]),
            count_with_interval(zone.peak_used_p90, zone.peak_used_ci[1]),
            count_with_interval(zone.peak_demand_p90, zone.peak_demand_p90_ci),
            count_with_interval(
                zone.peak_pods_pending_ip_p90,
                zone.peak_pods_pending_ip_p90_ci
            )
        );
    }
    for vswitch in &summary.vswitches {
        let [p10, p50, p90] = vswitch.full_ci;
        let _ = writeln!(
            out,
            "  {}: full p10 {}, p50 {}, p90 {}; peak used p50 {}, p90 {}",
            vswitch.vswitch,
            time_with_interval(vswitch.full_p10_ms, p10),
            time_with_interval(vswitch.full_p50_ms, p50),
            time_with_interval(vswitch.full_p90_ms, p90),
            count_with_interval(vswitch.peak_used_p50, vswitch.peak_used_ci[0]),
            count_with_interval(vswitch.peak_used_p90, vswitch.peak_used_ci[1])
        );
    }
    let [p10, p50, p90] = summary.max_pods_pending_ip_ci;
    let m = summary.max_pods_pending_ip;
    let _ = writeln!(
        out,
        "  most pods waiting at once: p10 {}, p50 {}, p90 {}",
        count_with_interval(m.p10, p10),
        count_with_interval(m.p50, p50),
        count_with_interval(m.p90, p90)
    );
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "most pods waiting for an address at once: p10 {} / p50 {} / p90 {}",
        m.p10, m.p50, m.p90
    );
    let _ = writeln!(
        out,
        "pod address wait (first CNI ADD to address, or to the horizon or deletion for pods that never got one): {}",
        waits_text(&summary.ip_wait)
    );
    if summary.zones.len() > 1 {
        for zone in &summary.zones {
            let _ = writeln!(out, "  {:<18} {}", zone.zone, waits_text(&zone.ip_wait));
        }
    }
    let _ = writeln!(
        out,
        "events simulated: {} over {} runs",
        summary.events, summary.runs
    );
    if summary.node_launch_failures > 0 {
        let _ = writeln!(
            out,
            "node launches refused for lack of an eth0 address: {} over all runs",
            summary.node_launch_failures
        );
    }
    out.push_str(&idle_today_text(summary));
    out
}

/// When the model's pools have settled: the pool loop has trimmed and topped up every node
/// many times over (`ip_pool_sync_period` is 2 minutes by default).
const IDLE_SETTLED_MS: Millis = 3_600_000;

/// The sample the model's idle addresses are read at: the first an hour in or later (the
/// last when the run is shorter), and its time.
pub fn idle_settled_sample(summary: &Summary) -> Option<(usize, Millis)> {
    let sample = summary
        .times_ms
        .iter()
        .position(|&t| t >= IDLE_SETTLED_MS)
        .or_else(|| summary.times_ms.len().checked_sub(1))?;
    Some((sample, summary.times_ms[sample]))
}

/// Per zone, today's idle addresses (from `terway-cli mapping`) beside the model's at
/// [`idle_settled_sample`] (median run); empty when the scenario does not know today's.
pub fn idle_today_rows(summary: &Summary) -> Vec<(String, u32, Option<u32>)> {
    let sample = idle_settled_sample(summary).map(|(sample, _)| sample);
    summary
        .zones
        .iter()
        .enumerate()
        .filter_map(|(zone, row)| {
            let today = (*summary.idle_today.get(zone)?)?;
            let model = sample.and_then(|s| summary.zone_idle.get(s)?.get(zone).map(|v| v.p50));
            Some((row.zone.clone(), today, model))
        })
        .collect()
}

/// The lines of [`idle_today_rows`] for the summary, or nothing.
fn idle_today_text(summary: &Summary) -> String {
    let rows = idle_today_rows(summary);
    let mut out = String::new();
    if rows.is_empty() {
        return out;
    }
    let at = idle_settled_sample(summary).map_or(0, |(_, t)| t);
    let _ = writeln!(
        out,
        "idle addresses in Terway's pools today (terway-cli mapping) and in the model at {} (p50):",
        human_duration(at)
    );
    for (zone, today, model) in rows {
        let model = model.map_or_else(|| "?".to_string(), |m| m.to_string());
        let _ = writeln!(out, "  {zone:<18} today {today}, model {model}");
    }
    out
}

/// Why reports could not be written. Fatal for the command; the previous report is intact.
#[derive(Debug, thiserror::Error)]
#[error("{}: {message}", path.display())]
pub struct ReportError {
    /// The path that failed.
    pub path: PathBuf,
    /// What went wrong.
    pub message: String,
}

/// Checks, before any work, that `dir` can become a report folder.
pub fn check_output_dir(dir: &Path) -> Result<(), ReportError> {
    let error = |message: String| ReportError {
        path: dir.to_path_buf(),
        message,
    };
    if dir.exists() && !dir.is_dir() {
        return Err(error("the output path exists and is not a folder".into()));
    }
    if dir.is_dir() && !dir.join(MARKER).exists() {
        let empty = std::fs::read_dir(dir)
            .map(|mut entries| entries.next().is_none())
            .unwrap_or(false);
        if !empty {
            return Err(error(
                "the folder exists and is not a planner report; refusing to replace it (choose another --out)".into(),
            ));
        }
    }
    let parent = parent_of(dir);
    std::fs::create_dir_all(&parent)
        .map_err(|e| error(format!("cannot create its parent: {e}")))?;
    let probe = parent.join(format!(".planner-probe-{}", std::process::id()));
    std::fs::write(&probe, b"").map_err(|e| error(format!("the folder is not writable: {e}")))?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// Removes staging folders that runs killed mid-write left beside the report, unless their
/// process still lives (another planner writing the same folder).
fn remove_leftovers(parent: &Path, name: &str) {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name().to_string_lossy().into_owned();
        let pid = [".tmp-", ".old-"].iter().find_map(|kind| {
            file_name
                .strip_prefix(&format!(".{name}{kind}"))
                .and_then(|pid| pid.parse::<u32>().ok())
        });
        if let Some(pid) = pid
            && pid != std::process::id()
            && !Path::new(&format!("/proc/{pid}")).exists()
        {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Every report folder holds this file, so that only report folders are ever replaced.
pub const MARKER: &str = ".planner-report";

fn parent_of(dir: &Path) -> PathBuf {
    match dir.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Writes `files` (name, bytes) as the folder `dir`: first into a temporary folder beside it,
/// then swapped into place, so `dir` always holds either the old report or the new one whole.
pub fn write_reports(dir: &Path, files: &[(&str, Vec<u8>)]) -> Result<(), ReportError> {
    let parent = parent_of(dir);
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "report".into());
    let pid = std::process::id();
    let staging = parent.join(format!(".{name}.tmp-{pid}"));
    let retired = parent.join(format!(".{name}.old-{pid}"));
    let error = |path: &Path, e: std::io::Error| ReportError {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    remove_leftovers(&parent, &name);
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging).map_err(|e| error(&staging, e))?;
    let marker = (
        MARKER,
        b"written by planner; this folder is replaced by the next run\n".to_vec(),
    );
    for (file, bytes) in files.iter().chain(std::iter::once(&marker)) {
        let path = staging.join(file);
        if let Err(e) = std::fs::write(&path, bytes) {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(error(&path, e));
        }
    }
    let had_old = dir.exists();
    if had_old {
        std::fs::rename(dir, &retired).map_err(|e| error(dir, e))?;
    }
    if let Err(e) = std::fs::rename(&staging, dir) {
        if had_old {
            let _ = std::fs::rename(&retired, dir);
        }
        return Err(error(dir, e));
    }
    if had_old {
        let _ = std::fs::remove_dir_all(&retired);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_keep_milliseconds_only_when_present() {
        assert_eq!(seconds(0), "0");
        assert_eq!(seconds(120_000), "120");
        assert_eq!(seconds(1_300), "1.300");
        assert_eq!(seconds(45), "0.045");
    }

    #[test]
    fn a_failed_write_leaves_the_old_report_whole() {
        let base = std::env::temp_dir().join(format!("planner-report-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let dir = base.join("out");
        write_reports(&dir, &[("a.csv", b"old".to_vec())]).expect("first write");
        // A file name that cannot be created fails the second write midway.
        let bad = write_reports(
            &dir,
            &[
                ("a.csv", b"new".to_vec()),
                ("no/such/dir.csv", b"x".to_vec()),
            ],
        );
        assert!(bad.is_err());
        assert_eq!(std::fs::read(dir.join("a.csv")).expect("old file"), b"old");
        write_reports(&dir, &[("a.csv", b"new".to_vec())]).expect("second write");
        assert_eq!(std::fs::read(dir.join("a.csv")).expect("new file"), b"new");
        let leftovers = std::fs::read_dir(&base).expect("base").count();
        assert_eq!(leftovers, 1, "no staging folders left behind");
        let _ = std::fs::remove_dir_all(&base);
    }
}
