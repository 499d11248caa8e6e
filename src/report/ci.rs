//! The files CI reads: `summary.json` (versioned), `summary.md` (for a pull-request comment or
//! a step summary), `junit.xml` (one test case per gate and subject), and
//! `recommendations.csv`. All pure functions to bytes.

use std::fmt::Write as _;

use serde::Serialize;

use super::{Summary, count_with_interval, seconds, wait_text};
use crate::plan::{GateResult, PoolSaving, Recommendation, describe};
use crate::scenario::human_duration;
use crate::scenario::{Millis, Scenario};
use crate::stats::CONFIDENCE;

/// Bumped whenever a field of `summary.json` changes meaning or goes away (new fields do not).
pub const SUMMARY_SCHEMA_VERSION: u32 = 1;

/// What the planner concluded, beside the summary of the runs.
#[derive(Debug, Clone, Copy)]
pub struct Plan<'a> {
    /// Zones that need more addresses.
    pub recommendations: &'a [Recommendation],
    /// Idle addresses per zone and what no pools would save (empty when pools hold nothing).
    pub savings: &'a [PoolSaving],
    /// Gate results (empty when no gate is set).
    pub gates: &'a [GateResult],
    /// Chart files written beside the reports.
    pub charts: &'a [&'a str],
    /// Engine figures, when asked for (`--stats`): they depend on the machine, so they are
    /// left out otherwise to keep the file byte-identical between runs.
    pub stats: Option<&'a Stats>,
}

/// How the simulation went, in wall-clock terms.
#[derive(Debug, Clone, Serialize)]
pub struct Stats {
    /// Events handled over all runs.
    pub events: u64,
    /// Wall seconds of the runs.
    pub wall_s: f64,
    /// Worker threads.
    pub threads: usize,
    /// Peak resident memory of the process, where the system tells.
    pub peak_memory_bytes: Option<u64>,
    /// Wall seconds of each phase after the seeded runs (verification re-runs, the pool
    /// what-if, charts), which run at once on the worker threads.
    pub phases: Vec<Phase>,
}

/// One phase of a `planner run` and its wall time.
#[derive(Debug, Clone, Serialize)]
pub struct Phase {
    /// `verification`, `pool what-if` or `charts`.
    pub name: &'static str,
    /// Wall seconds (0 when the phase had nothing to do).
    pub wall_s: f64,
}

impl Stats {
    /// One line for stderr.
    pub fn line(&self) -> String {
        let memory = self.peak_memory_bytes.map_or("unknown".to_string(), |b| {
            format!("{:.0} MiB", b as f64 / 1048576.0)
        });
        let mut line = format!(
            "stats: {} events in {:.2} s on {} threads: {:.2} M events/s; peak memory {memory}",
            self.events,
            self.wall_s,
            self.threads,
            self.events as f64 / self.wall_s.max(1e-9) / 1e6
        );
        if !self.phases.is_empty() {
            let phases: Vec<String> = self
                .phases
                .iter()
                .map(|p| format!("{} {:.2} s", p.name, p.wall_s))
                .collect();
            let _ = write!(line, "; then at once: {}", phases.join(", "));
        }
        line
    }
}

impl Plan<'_> {
    /// Whether every gate passed (true when none is set).
    pub fn gates_passed(&self) -> bool {
        self.gates.iter().all(|g| g.passed)
    }
}

fn secs(ms: Option<Millis>) -> Option<f64> {
    ms.map(|ms| ms as f64 / 1000.0)
}

#[derive(Serialize)]
struct Json<'a> {
    schema_version: u32,
    planner_version: &'static str,
    scenario: &'a str,
    source: String,
    seed: u64,
    runs: u32,
    horizon_s: f64,
    /// Of the `_ci` intervals around percentiles over runs.
    confidence: f64,
    planning: JsonPlanning,
    zones: Vec<JsonZone<'a>>,
    vswitches: Vec<JsonVSwitch<'a>>,
    cluster: JsonCluster,
    gates: JsonGates<'a>,
    recommendations: Vec<JsonRecommendation<'a>>,
    charts: &'a [&'a str],
    #[serde(skip_serializing_if = "Option::is_none")]
    stats: Option<&'a Stats>,
    #[serde(skip_serializing_if = "Option::is_none")]
    auto_runs: Option<JsonAutoRuns<'a>>,
    /// IP prefix mode: per vSwitch with reserved blocks (none without prefix mode).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    prefixes: Vec<JsonPrefixes<'a>>,
    /// IP prefix mode: per zone, the prefixes nodes hold at max_nodes against the reservations.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    prefix_plans: Vec<JsonPrefixPlan<'a>>,
}

#[derive(Serialize)]
struct JsonPrefixes<'a> {
    vswitch: &'a str,
    zone: &'a str,
    reserved_cidrs: Vec<&'a str>,
    prefixes: u32,
    peak_prefixes_used_p50: u32,
    peak_prefixes_used_p90: u32,
    full_runs: f64,
}

#[derive(Serialize)]
struct JsonPrefixPlan<'a> {
    zone: &'a str,
    needed_prefixes: u32,
    reserved_prefixes: u32,
    /// When short: one reservation that holds them, and a vSwitch around it.
    reservation_prefix_len: Option<u8>,
    vswitch_prefix_len: Option<u8>,
    vswitch_cidr: Option<String>,
}

/// How `runs = "auto"` went.
#[derive(Serialize)]
struct JsonAutoRuns<'a> {
    precision_s: f64,
    max_runs: u32,
    runs: u32,
    sure: bool,
    reason: &'a str,
}

#[derive(Serialize)]
struct JsonPlanning {
    percentile: f64,
    headroom: f64,
    lead_time_s: f64,
}

#[derive(Serialize)]
struct JsonZone<'a> {
    zone: &'a str,
    usable_ips: u32,
    usable_ips_at_start: u32,
    peak_used_p50: u32,
    peak_used_p90: u32,
    peak_demand_p90: u32,
    first_shortage_p10_s: Option<f64>,
    first_shortage_p50_s: Option<f64>,
    first_shortage_p90_s: Option<f64>,
    shortage_runs: f64,
    peak_pods_pending_ip_p90: u32,
    idle_at_peak: Option<u32>,
    peak_used_without_pool: Option<u32>,
    #[serde(flatten)]
    ip_wait: JsonWaits,
    peak_used_p50_ci: JsonCount,
    peak_used_p90_ci: JsonCount,
    first_shortage_p10_ci: JsonTime,
    first_shortage_p50_ci: JsonTime,
    first_shortage_p90_ci: JsonTime,
    peak_demand_p90_ci: JsonCount,
    peak_pods_pending_ip_p90_ci: JsonCount,
}

/// A confidence interval of a time percentile over runs: `null` is never, as in the
/// percentile fields.
#[derive(Serialize)]
struct JsonTime {
    lo_s: Option<f64>,
    hi_s: Option<f64>,
}

impl From<crate::stats::TimeInterval> for JsonTime {
    fn from(ci: crate::stats::TimeInterval) -> Self {
        JsonTime {
            lo_s: secs(ci.lo),
            hi_s: secs(ci.hi),
        }
    }
}

/// A confidence interval of a count percentile over runs: `hi` is `null` when too few runs
/// bound it.
#[derive(Serialize)]
struct JsonCount {
    lo: u32,
    hi: Option<u32>,
}

impl From<crate::stats::CountInterval> for JsonCount {
    fn from(ci: crate::stats::CountInterval) -> Self {
        JsonCount {
            lo: ci.lo,
            hi: ci.hi,
        }
    }
}

/// Address waits with the pods that never got one counted at their wait so far; `_censored`
/// says the figure falls on such a pod and is only a lower bound.
#[derive(Serialize)]
struct JsonWaits {
    ip_wait_all_p50_s: Option<f64>,
    ip_wait_all_p50_censored: Option<bool>,
    ip_wait_all_p99_s: Option<f64>,
    ip_wait_all_p99_censored: Option<bool>,
    ip_wait_censored_pods: u64,
}

impl JsonWaits {
    fn new(waits: &crate::stats::WaitPercentiles) -> Self {
        JsonWaits {
            ip_wait_all_p50_s: secs(waits.p50.map(|w| w.ms)),
            ip_wait_all_p50_censored: waits.p50.map(|w| w.censored),
            ip_wait_all_p99_s: secs(waits.p99.map(|w| w.ms)),
            ip_wait_all_p99_censored: waits.p99.map(|w| w.censored),
            ip_wait_censored_pods: waits.censored,
        }
    }
}

#[derive(Serialize)]
struct JsonVSwitch<'a> {
    vswitch: &'a str,
    zone: &'a str,
    cidr: &'a str,
    usable_ips: u32,
    peak_used_p50: u32,
    peak_used_p90: u32,
    full_p10_s: Option<f64>,
    full_p50_s: Option<f64>,
    full_p90_s: Option<f64>,
    full_runs: f64,
    created_at_s: Option<f64>,
    peak_used_p50_ci: JsonCount,
    peak_used_p90_ci: JsonCount,
    full_p10_ci: JsonTime,
    full_p50_ci: JsonTime,
    full_p90_ci: JsonTime,
}

#[derive(Serialize)]
struct JsonCluster {
    max_pods_pending_ip_p50: u32,
    max_pods_pending_ip_p90: u32,
    ip_wait_p50_s: Option<f64>,
    ip_wait_p99_s: Option<f64>,
    events: u64,
    node_launch_failures: u64,
    #[serde(flatten)]
    ip_wait: JsonWaits,
    max_pods_pending_ip_p10_ci: JsonCount,
    max_pods_pending_ip_p50_ci: JsonCount,
    max_pods_pending_ip_p90_ci: JsonCount,
}

#[derive(Serialize)]
struct JsonGates<'a> {
    percentile: f64,
    /// Set when gates judge on the pessimistic end of the interval of this confidence.
    #[serde(skip_serializing_if = "Option::is_none")]
    confidence: Option<f64>,
    passed: bool,
    results: Vec<JsonGate<'a>>,
}

#[derive(Serialize)]
struct JsonGate<'a> {
    gate: &'a str,
    subject: &'a str,
    passed: bool,
    actual: &'a str,
    limit: &'a str,
    message: &'a str,
}

#[derive(Serialize)]
struct JsonRecommendation<'a> {
    zone: &'a str,
    needed_ips: u32,
    usable_ips_now: u32,
    peak_demand: u32,
    shortfall_ips: u32,
    shortfall_at_s: f64,
    add_prefix_len: Option<u8>,
    add_count: u32,
    add_cidr: Option<String>,
    cidr_note: Option<&'a str>,
    expand_by_s: f64,
    late: bool,
    trigger_used_fraction: f64,
    verified: Option<bool>,
    verified_shortage_runs: Option<f64>,
    summary: String,
}

/// `summary.json`.
pub fn summary_json(scenario: &Scenario, summary: &Summary, plan: Plan<'_>) -> Vec<u8> {
    let saving = |zone: &str| plan.savings.iter().find(|s| s.zone_name == zone);
    let json = Json {
        schema_version: SUMMARY_SCHEMA_VERSION,
        planner_version: env!("CARGO_PKG_VERSION"),
        scenario: &summary.scenario,
        source: scenario.source.display().to_string(),
        seed: summary.seed,
        runs: summary.runs,
        horizon_s: summary.horizon_ms as f64 / 1000.0,
        confidence: crate::stats::CONFIDENCE,
        planning: JsonPlanning {
            percentile: scenario.planning.percentile,
            headroom: scenario.planning.headroom,
            lead_time_s: scenario.planning.lead_time_ms as f64 / 1000.0,
        },
        zones: summary
            .zones
            .iter()
            .map(|z| JsonZone {
                zone: &z.zone,
                usable_ips: z.usable_ips,
                usable_ips_at_start: z.usable_ips_at_start,
                peak_used_p50: z.peak_used_p50,
                peak_used_p90: z.peak_used_p90,
                peak_demand_p90: z.peak_demand_p90,
                first_shortage_p10_s: secs(z.first_shortage_p10_ms),
                first_shortage_p50_s: secs(z.first_shortage_p50_ms),
                first_shortage_p90_s: secs(z.first_shortage_p90_ms),
                shortage_runs: z.shortage_runs,
                peak_pods_pending_ip_p90: z.peak_pods_pending_ip_p90,
                idle_at_peak: saving(&z.zone).map(|s| s.idle_at_peak),
                peak_used_without_pool: saving(&z.zone).map(|s| s.peak_used_without_pool),
                ip_wait: JsonWaits::new(&z.ip_wait),
                peak_used_p50_ci: z.peak_used_ci[0].into(),
                peak_used_p90_ci: z.peak_used_ci[1].into(),
                first_shortage_p10_ci: z.first_shortage_ci[0].into(),
                first_shortage_p50_ci: z.first_shortage_ci[1].into(),
                first_shortage_p90_ci: z.first_shortage_ci[2].into(),
                peak_demand_p90_ci: z.peak_demand_p90_ci.into(),
                peak_pods_pending_ip_p90_ci: z.peak_pods_pending_ip_p90_ci.into(),
            })
            .collect(),
        vswitches: summary
            .vswitches
            .iter()
            .map(|v| JsonVSwitch {
                vswitch: &v.vswitch,
                zone: &v.zone,
                cidr: &v.cidr,
                usable_ips: v.usable_ips,
                peak_used_p50: v.peak_used_p50,
                peak_used_p90: v.peak_used_p90,
                full_p10_s: secs(v.full_p10_ms),
                full_p50_s: secs(v.full_p50_ms),
                full_p90_s: secs(v.full_p90_ms),
                full_runs: v.full_runs,
                created_at_s: secs(v.created_at_ms),
                peak_used_p50_ci: v.peak_used_ci[0].into(),
                peak_used_p90_ci: v.peak_used_ci[1].into(),
                full_p10_ci: v.full_ci[0].into(),
                full_p50_ci: v.full_ci[1].into(),
                full_p90_ci: v.full_ci[2].into(),
            })
            .collect(),
        cluster: JsonCluster {
            max_pods_pending_ip_p50: summary.max_pods_pending_ip.p50,
            max_pods_pending_ip_p90: summary.max_pods_pending_ip.p90,
            ip_wait_p50_s: secs(summary.ip_wait_p50_ms),
            ip_wait_p99_s: secs(summary.ip_wait_p99_ms),
            events: summary.events,
            node_launch_failures: summary.node_launch_failures,
            ip_wait: JsonWaits::new(&summary.ip_wait),
            max_pods_pending_ip_p10_ci: summary.max_pods_pending_ip_ci[0].into(),
            max_pods_pending_ip_p50_ci: summary.max_pods_pending_ip_ci[1].into(),
            max_pods_pending_ip_p90_ci: summary.max_pods_pending_ip_ci[2].into(),
        },
        gates: JsonGates {
            percentile: scenario.gates.percentile,
            confidence: scenario.gates.confidence,
            passed: plan.gates_passed(),
            results: plan
                .gates
                .iter()
                .map(|g| JsonGate {
                    gate: g.gate,
                    subject: &g.subject,
                    passed: g.passed,
                    actual: &g.actual,
                    limit: &g.limit,
                    message: &g.message,
                })
                .collect(),
        },
        recommendations: plan
            .recommendations
            .iter()
            .map(|r| JsonRecommendation {
                zone: &r.zone_name,
                needed_ips: r.needed_ips,
                usable_ips_now: r.usable_ips_now,
                peak_demand: r.peak_demand,
                shortfall_ips: r.shortfall_ips,
                shortfall_at_s: r.shortfall_at_ms as f64 / 1000.0,
                add_prefix_len: r.add_prefix_len,
                add_count: r.add_count,
                add_cidr: r.add_cidr.map(|c| c.to_string()),
                cidr_note: r.cidr_note.as_deref(),
                expand_by_s: r.expand_by_ms as f64 / 1000.0,
                late: r.late,
                trigger_used_fraction: r.trigger_used_fraction,
                verified: r.verified,
                verified_shortage_runs: r.verified_shortage_runs,
                summary: describe(r),
            })
            .collect(),
        charts: plan.charts,
        stats: plan.stats,
        auto_runs: summary.auto_runs.as_ref().map(|a| JsonAutoRuns {
            precision_s: a.settings.precision_ms as f64 / 1000.0,
            max_runs: a.settings.max_runs,
            runs: a.runs,
            sure: a.sure,
            reason: &a.reason,
        }),
        prefixes: summary
            .prefixes
            .iter()
            .map(|row| JsonPrefixes {
                vswitch: &row.vswitch,
                zone: &row.zone,
                reserved_cidrs: row.reserved.split(' ').collect(),
                prefixes: row.prefixes,
                peak_prefixes_used_p50: row.peak_used_p50,
                peak_prefixes_used_p90: row.peak_used_p90,
                full_runs: row.full_runs,
            })
            .collect(),
        prefix_plans: summary
            .prefix_plans
            .iter()
            .map(|p| JsonPrefixPlan {
                zone: &p.zone,
                needed_prefixes: p.needed_prefixes,
                reserved_prefixes: p.reserved_prefixes,
                reservation_prefix_len: p.reservation_prefix_len,
                vswitch_prefix_len: p.vswitch_prefix_len,
                vswitch_cidr: p.vswitch_cidr.map(|c| c.to_string()),
            })
            .collect(),
    };
    let mut bytes = serde_json::to_vec_pretty(&json).expect("summary serializes");
    bytes.push(b'\n');
    bytes
}

#[derive(Serialize)]
struct RecommendationCsv<'a> {
    zone: &'a str,
    needed_ips: u32,
    usable_ips_now: u32,
    add_prefix_len: String,
    add_cidr: String,
    expand_by_s: String,
    trigger_used_fraction: String,
    verified: &'static str,
    peak_demand: u32,
    add_count: u32,
    late: bool,
    verified_shortage_runs: String,
    shortfall_ips: u32,
    shortfall_at_s: String,
    note: String,
}

/// `recommendations.csv`: one row per zone that needs more addresses.
pub fn recommendations_csv(recommendations: &[Recommendation]) -> Vec<u8> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    // A header even without rows, so tools always find the columns.
    if recommendations.is_empty() {
        writer
            .write_record([
                "zone",
                "needed_ips",
                "usable_ips_now",
                "add_prefix_len",
                "add_cidr",
                "expand_by_s",
                "trigger_used_fraction",
                "verified",
                "peak_demand",
                "add_count",
                "late",
                "verified_shortage_runs",
                "shortfall_ips",
                "shortfall_at_s",
                "note",
            ])
            .expect("header into memory");
    }
    for r in recommendations {
        writer
            .serialize(RecommendationCsv {
                zone: &r.zone_name,
                needed_ips: r.needed_ips,
                usable_ips_now: r.usable_ips_now,
                add_prefix_len: r.add_prefix_len.map(|p| p.to_string()).unwrap_or_default(),
                add_cidr: r.add_cidr.map(|c| c.to_string()).unwrap_or_default(),
                expand_by_s: seconds(r.expand_by_ms),
                trigger_used_fraction: format!("{:.3}", r.trigger_used_fraction),
                verified: match r.verified {
                    Some(true) => "yes",
                    Some(false) => "no",
                    None => "",
                },
                peak_demand: r.peak_demand,
                add_count: r.add_count,
                late: r.late,
                verified_shortage_runs: r
                    .verified_shortage_runs
                    .map(|f| format!("{f:.3}"))
                    .unwrap_or_default(),
                shortfall_ips: r.shortfall_ips,
                shortfall_at_s: seconds(r.shortfall_at_ms),
                note: r.cidr_note.clone().unwrap_or_default(),
            })
            .expect("row into memory");
    }
    writer.into_inner().expect("flush into memory")
}

fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\t') => {}
            c => out.push(c),
        }
    }
    out
}

/// `junit.xml`: one test case per gate and subject; a failed gate is a `<failure>`.
pub fn junit_xml(summary: &Summary, gates: &[GateResult]) -> Vec<u8> {
    let failures = gates.iter().filter(|g| !g.passed).count();
    let mut out = String::new();
    let _ = writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    let name = xml_escape(&format!("planner gates: {}", summary.scenario));
    let _ = writeln!(
        out,
        r#"<testsuites name="{name}" tests="{}" failures="{failures}">"#,
        gates.len()
    );
    let _ = writeln!(
        out,
        r#"  <testsuite name="{name}" tests="{}" failures="{failures}" errors="0" skipped="0">"#,
        gates.len()
    );
    for gate in gates {
        let case = format!(
            r#"    <testcase classname="planner.{}" name="{}""#,
            gate.gate,
            xml_escape(&gate.subject)
        );
        if gate.passed {
            let _ = writeln!(out, "{case}>");
            let _ = writeln!(
                out,
                "      <system-out>{}</system-out>",
                xml_escape(&gate.message)
            );
            let _ = writeln!(out, "    </testcase>");
        } else {
            let _ = writeln!(out, "{case}>");
            let _ = writeln!(
                out,
                r#"      <failure message="{}" type="{}">actual {} / limit {}</failure>"#,
                xml_escape(&gate.message),
                gate.gate,
                xml_escape(&gate.actual),
                xml_escape(&gate.limit)
            );
            let _ = writeln!(out, "    </testcase>");
        }
    }
    let _ = writeln!(out, "  </testsuite>");
    let _ = writeln!(out, "</testsuites>");
    out.into_bytes()
}

/// `summary.md`: compact Markdown for a pull-request comment or a CI step summary.
pub fn summary_md(summary: &Summary, plan: Plan<'_>) -> Vec<u8> {
    let when = |t: Option<Millis>| t.map_or_else(|| "never".to_string(), human_duration);
    let mut out = String::new();
    let _ = writeln!(out, "## planner: {}", summary.scenario);
    let _ = writeln!(out);
    let verdict = if plan.gates.is_empty() {
        "no gates set".to_string()
    } else if plan.gates_passed() {
        format!("**gates passed** ({} checks)", plan.gates.len())
    } else {
        let failed = plan.gates.iter().filter(|g| !g.passed).count();
        format!("**gates FAILED** ({failed} of {} checks)", plan.gates.len())
    };
    let _ = writeln!(
        out,
        "{} runs, seed {}, horizon {}: {verdict}",
        summary.runs,
        summary.seed,
        human_duration(summary.horizon_ms)
    );
    if let Some(auto) = &summary.auto_runs {
        let _ = writeln!(out);
        let _ = writeln!(out, "{}", super::auto_runs_line(auto));
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "| zone | usable | peak used p50 / p90 | first shortage p10 / p50 / p90 | runs short |"
    );
    let _ = writeln!(out, "|---|---:|---:|---|---:|");
    for z in &summary.zones {
        let _ = writeln!(
            out,
            "| {} | {} | {} / {} | {} / {} / {} | {:.0}% |",
            z.zone,
            z.usable_ips,
            z.peak_used_p50,
            z.peak_used_p90,
            when(z.first_shortage_p10_ms),
            when(z.first_shortage_p50_ms),
            when(z.first_shortage_p90_ms),
            z.shortage_runs * 100.0
        );
    }
    if !plan.gates.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(out, "### Gates");
        let _ = writeln!(out);
        for g in plan.gates {
            let mark = if g.passed { "pass" } else { "**FAIL**" };
            let _ = writeln!(out, "- {mark} `{}`: {}", g.gate, g.message);
        }
    }
    if !summary.prefix_plans.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(out, "### IP prefixes");
        let _ = writeln!(out);
        for row in &summary.prefixes {
            let _ = writeln!(
                out,
                "- `{}` ({}): reserved {}, {} /28s; at most {} taken (p90 run), all taken in {:.0}% of runs",
                row.vswitch,
                row.zone,
                row.reserved,
                row.prefixes,
                row.peak_used_p90,
                row.full_runs * 100.0
            );
        }
        for p in &summary.prefix_plans {
            let verdict = match (p.reservation_prefix_len, p.vswitch_prefix_len) {
                (Some(reservation), Some(around)) => format!(
                    "reserve a /{reservation} for them in a new /{around} vSwitch{}",
                    p.vswitch_cidr.map_or(String::new(), |c| format!(" at {c}"))
                ),
                _ => "enough".to_string(),
            };
            let _ = writeln!(
                out,
                "- **{}**: nodes at max_nodes hold {} prefixes, the reservations {}: {verdict}",
                p.zone, p.needed_prefixes, p.reserved_prefixes
            );
        }
    }
    if !plan.recommendations.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(out, "### Recommendations");
        let _ = writeln!(out);
        for r in plan.recommendations {
            let check = match r.verified {
                Some(true) => {
                    " Verified: a re-run with it has no shortage in the zone.".to_string()
                }
                Some(false) => format!(
                    " Not enough alone: the re-run still runs short in {:.0}% of runs (nodes without a free ENI slot cannot use a new vSwitch).",
                    r.verified_shortage_runs.unwrap_or(0.0) * 100.0
                ),
                None => String::new(),
            };
            let _ = writeln!(
                out,
                "- **{}**: at {} it needs {} addresses with headroom but has {}: {}.{check}",
                r.zone_name,
                human_duration(r.shortfall_at_ms),
                r.needed_ips,
                r.needed_ips - r.shortfall_ips,
                describe(r)
            );
        }
    }
    if !plan.savings.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(out, "### Idle addresses in node pools");
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "| zone | idle at peak | peak used | with max_pool_size = 0 | pod IP wait p50 / p99 | with max_pool_size = 0 |"
        );
        let _ = writeln!(out, "|---|---:|---:|---:|---|---|");
        for s in plan.savings {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} / {} | {} / {} |",
                s.zone_name,
                s.idle_at_peak,
                s.peak_used,
                s.peak_used_without_pool,
                wait_text(s.ip_wait.p50),
                wait_text(s.ip_wait.p99),
                wait_text(s.ip_wait_without_pool.p50),
                wait_text(s.ip_wait_without_pool.p99)
            );
        }
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "### How sure: {:.0}% intervals over {} runs",
        CONFIDENCE * 100.0,
        summary.runs
    );
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "| zone | first shortage p10 | p50 | p90 | peak used p90 |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|");
    for z in &summary.zones {
        let [p10, p50, p90] = z.first_shortage_with_intervals();
        let _ = writeln!(
            out,
            "| {} | {p10} | {p50} | {p90} | {} |",
            z.zone,
            count_with_interval(z.peak_used_p90, z.peak_used_ci[1])
        );
    }
    let idle = super::idle_today_rows(summary);
    if !idle.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(out, "### Idle addresses in Terway's pools");
        let _ = writeln!(out);
        let at = super::idle_settled_sample(summary).map_or(0, |(_, t)| t);
        let _ = writeln!(
            out,
            "| zone | today (terway-cli mapping) | model at {} (p50) |",
            human_duration(at)
        );
        let _ = writeln!(out, "|---|---:|---:|");
        for (zone, today, model) in idle {
            let model = model.map_or_else(|| "?".to_string(), |m| m.to_string());
            let _ = writeln!(out, "| {zone} | {today} | {model} |");
        }
    }
    if !plan.charts.is_empty() {
        let _ = writeln!(out);
        for chart in plan.charts {
            let _ = writeln!(out, "![{chart}]({chart})");
        }
    }
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_special_characters_are_escaped() {
        assert_eq!(
            xml_escape(r#"a<b & "c">'d'"#),
            "a&lt;b &amp; &quot;c&quot;&gt;&apos;d&apos;"
        );
        assert_eq!(xml_escape("bell\u{7}"), "bell");
    }
}
