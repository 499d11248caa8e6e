//! The CSV files, as pure functions from a summary to bytes. Column order is fixed by the
//! row structs; numbers have fixed formats, so equal summaries give equal bytes.

use serde::Serialize;

use super::{Summary, seconds};
use crate::model::ShortageCause;
use crate::scenario::Millis;
use crate::stats::{CountInterval, TimeInterval, Wait, WaitPercentiles};

/// The ends of a time interval: empty is never, as in the percentile columns.
fn time_ends(ci: TimeInterval) -> (String, String) {
    (cell(ci.lo), cell(ci.hi))
}

/// The ends of a count interval: an empty upper end is one too few runs can bound.
fn count_ends(ci: CountInterval) -> (String, String) {
    (
        ci.lo.to_string(),
        ci.hi.map(|h| h.to_string()).unwrap_or_default(),
    )
}

fn cell(time: Option<Millis>) -> String {
    time.map(seconds).unwrap_or_default()
}

/// A wait and whether it is only a lower bound (`true`: it falls on a pod that never got an
/// address); both empty when no pod asked for one.
fn wait_cells(wait: Option<Wait>) -> (String, String) {
    (
        cell(wait.map(|w| w.ms)),
        wait.map(|w| w.censored.to_string()).unwrap_or_default(),
    )
}

/// The columns every file with address waits ends with, in this order.
const WAIT_COLUMNS: [&str; 5] = [
    "ip_wait_all_p50_s",
    "ip_wait_all_p50_censored",
    "ip_wait_all_p99_s",
    "ip_wait_all_p99_censored",
    "ip_wait_censored_pods",
];

fn wait_row(waits: &WaitPercentiles) -> [String; 5] {
    let (p50, p50_censored) = wait_cells(waits.p50);
    let (p99, p99_censored) = wait_cells(waits.p99);
    [
        p50,
        p50_censored,
        p99,
        p99_censored,
        waits.censored.to_string(),
    ]
}

fn cause_name(cause: Option<ShortageCause>) -> &'static str {
    match cause {
        None => "",
        Some(ShortageCause::VSwitchExhausted) => "assign_ip_not_enough",
        Some(ShortageCause::NoVSwitch) => "no_vswitch_for_new_eni",
        Some(ShortageCause::EniInhibited) => "eni_inhibited",
    }
}

#[derive(Serialize)]
struct ZoneCsv<'a> {
    zone: &'a str,
    usable_ips: u32,
    peak_used_p50: u32,
    peak_used_p90: u32,
    first_shortage_p10_s: String,
    first_shortage_p50_s: String,
    first_shortage_p90_s: String,
    shortage_runs: String,
    usable_ips_at_start: u32,
    peak_demand_p90: u32,
    peak_pods_pending_ip_p90: u32,
    shortage_cause: &'static str,
    first_stranded_p50_s: String,
    stranded_failures_p50: u32,
    ip_wait_all_p50_s: String,
    ip_wait_all_p50_censored: String,
    ip_wait_all_p99_s: String,
    ip_wait_all_p99_censored: String,
    ip_wait_censored_pods: String,
    peak_used_p50_lo: String,
    peak_used_p50_hi: String,
    peak_used_p90_lo: String,
    peak_used_p90_hi: String,
    first_shortage_p10_lo_s: String,
    first_shortage_p10_hi_s: String,
    first_shortage_p50_lo_s: String,
    first_shortage_p50_hi_s: String,
    first_shortage_p90_lo_s: String,
    first_shortage_p90_hi_s: String,
    peak_demand_p90_lo: String,
    peak_demand_p90_hi: String,
    peak_pods_pending_ip_p90_lo: String,
    peak_pods_pending_ip_p90_hi: String,
}

#[derive(Serialize)]
struct VSwitchCsv<'a> {
    vswitch: &'a str,
    zone: &'a str,
    cidr: &'a str,
    usable_ips: u32,
    peak_used_p50: u32,
    peak_used_p90: u32,
    full_p10_s: String,
    full_p50_s: String,
    full_p90_s: String,
    full_runs: String,
    created_at_s: String,
    peak_used_p50_lo: String,
    peak_used_p50_hi: String,
    peak_used_p90_lo: String,
    peak_used_p90_hi: String,
    full_p10_lo_s: String,
    full_p10_hi_s: String,
    full_p50_lo_s: String,
    full_p50_hi_s: String,
    full_p90_lo_s: String,
    full_p90_hi_s: String,
}

#[derive(Serialize)]
struct VSwitchSeriesCsv<'a> {
    time_s: String,
    vswitch: &'a str,
    used_p10: u32,
    used_p50: u32,
    used_p90: u32,
    idle_p50: u32,
}

#[derive(Serialize)]
struct ClusterSeriesCsv {
    time_s: String,
    nodes_p50: u32,
    pods_running_p50: u32,
    pods_pending_ip_p10: u32,
    pods_pending_ip_p50: u32,
    pods_pending_ip_p90: u32,
    pods_unschedulable_p50: u32,
}

#[derive(Serialize)]
struct ZoneSeriesCsv<'a> {
    time_s: String,
    zone: &'a str,
    idle_p10: u32,
    idle_p50: u32,
    idle_p90: u32,
}

fn to_bytes<R: Serialize>(rows: impl IntoIterator<Item = R>) -> Vec<u8> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    for row in rows {
        writer.serialize(row).expect("rows serialize into memory");
    }
    writer.into_inner().expect("flushing into memory")
}

/// `zones.csv`: one row per zone.
pub fn zones(summary: &Summary) -> Vec<u8> {
    to_bytes(summary.zones.iter().map(|z| {
        let [
            ip_wait_all_p50_s,
            ip_wait_all_p50_censored,
            ip_wait_all_p99_s,
            ip_wait_all_p99_censored,
            ip_wait_censored_pods,
        ] = wait_row(&z.ip_wait);
        let (peak_used_p50_lo, peak_used_p50_hi) = count_ends(z.peak_used_ci[0]);
        let (peak_used_p90_lo, peak_used_p90_hi) = count_ends(z.peak_used_ci[1]);
        let (first_shortage_p10_lo_s, first_shortage_p10_hi_s) = time_ends(z.first_shortage_ci[0]);
        let (first_shortage_p50_lo_s, first_shortage_p50_hi_s) = time_ends(z.first_shortage_ci[1]);
        let (first_shortage_p90_lo_s, first_shortage_p90_hi_s) = time_ends(z.first_shortage_ci[2]);
        let (peak_demand_p90_lo, peak_demand_p90_hi) = count_ends(z.peak_demand_p90_ci);
        let (peak_pods_pending_ip_p90_lo, peak_pods_pending_ip_p90_hi) =
            count_ends(z.peak_pods_pending_ip_p90_ci);
        ZoneCsv {
            zone: &z.zone,
            usable_ips: z.usable_ips,
            peak_used_p50: z.peak_used_p50,
            peak_used_p90: z.peak_used_p90,
            first_shortage_p10_s: cell(z.first_shortage_p10_ms),
            first_shortage_p50_s: cell(z.first_shortage_p50_ms),
            first_shortage_p90_s: cell(z.first_shortage_p90_ms),
            shortage_runs: format!("{:.3}", z.shortage_runs),
            usable_ips_at_start: z.usable_ips_at_start,
            peak_demand_p90: z.peak_demand_p90,
            peak_pods_pending_ip_p90: z.peak_pods_pending_ip_p90,
            shortage_cause: cause_name(z.shortage_cause),
            first_stranded_p50_s: cell(z.first_stranded_p50_ms),
            stranded_failures_p50: z.stranded_failures_p50,
            ip_wait_all_p50_s,
            ip_wait_all_p50_censored,
            ip_wait_all_p99_s,
            ip_wait_all_p99_censored,
            ip_wait_censored_pods,
            peak_used_p50_lo,
            peak_used_p50_hi,
            peak_used_p90_lo,
            peak_used_p90_hi,
            first_shortage_p10_lo_s,
            first_shortage_p10_hi_s,
            first_shortage_p50_lo_s,
            first_shortage_p50_hi_s,
            first_shortage_p90_lo_s,
            first_shortage_p90_hi_s,
            peak_demand_p90_lo,
            peak_demand_p90_hi,
            peak_pods_pending_ip_p90_lo,
            peak_pods_pending_ip_p90_hi,
        }
    }))
}

/// `vswitches.csv`: one row per vSwitch.
pub fn vswitches(summary: &Summary) -> Vec<u8> {
    to_bytes(summary.vswitches.iter().map(|v| {
        let (peak_used_p50_lo, peak_used_p50_hi) = count_ends(v.peak_used_ci[0]);
        let (peak_used_p90_lo, peak_used_p90_hi) = count_ends(v.peak_used_ci[1]);
        let (full_p10_lo_s, full_p10_hi_s) = time_ends(v.full_ci[0]);
        let (full_p50_lo_s, full_p50_hi_s) = time_ends(v.full_ci[1]);
        let (full_p90_lo_s, full_p90_hi_s) = time_ends(v.full_ci[2]);
        VSwitchCsv {
            vswitch: &v.vswitch,
            zone: &v.zone,
            cidr: &v.cidr,
            usable_ips: v.usable_ips,
            peak_used_p50: v.peak_used_p50,
            peak_used_p90: v.peak_used_p90,
            full_p10_s: cell(v.full_p10_ms),
            full_p50_s: cell(v.full_p50_ms),
            full_p90_s: cell(v.full_p90_ms),
            full_runs: format!("{:.3}", v.full_runs),
            created_at_s: cell(v.created_at_ms),
            peak_used_p50_lo,
            peak_used_p50_hi,
            peak_used_p90_lo,
            peak_used_p90_hi,
            full_p10_lo_s,
            full_p10_hi_s,
            full_p50_lo_s,
            full_p50_hi_s,
            full_p90_lo_s,
            full_p90_hi_s,
        }
    }))
}

/// `vswitch_timeseries.csv`: one row per (sample, vSwitch).
pub fn vswitch_timeseries(summary: &Summary) -> Vec<u8> {
    let rows = summary
        .times_ms
        .iter()
        .enumerate()
        .flat_map(|(sample, &t)| {
            summary.vswitches.iter().enumerate().map(move |(index, v)| {
                let used = summary.vswitch_used[sample][index];
                VSwitchSeriesCsv {
                    time_s: seconds(t),
                    vswitch: &v.vswitch,
                    used_p10: used.p10,
                    used_p50: used.p50,
                    used_p90: used.p90,
                    idle_p50: summary.vswitch_idle[sample][index].p50,
                }
            })
        });
    to_bytes(rows)
}

/// `cluster_timeseries.csv`: one row per sample.
pub fn cluster_timeseries(summary: &Summary) -> Vec<u8> {
    to_bytes(
        summary
            .times_ms
            .iter()
            .enumerate()
            .map(|(sample, &t)| ClusterSeriesCsv {
                time_s: seconds(t),
                nodes_p50: summary.nodes[sample].p50,
                pods_running_p50: summary.pods_running[sample].p50,
                pods_pending_ip_p10: summary.pods_pending_ip[sample].p10,
                pods_pending_ip_p50: summary.pods_pending_ip[sample].p50,
                pods_pending_ip_p90: summary.pods_pending_ip[sample].p90,
                pods_unschedulable_p50: summary.pods_unschedulable[sample].p50,
            }),
    )
}

/// `zone_timeseries.csv`: idle addresses in node pools per (sample, zone).
pub fn zone_timeseries(summary: &Summary) -> Vec<u8> {
    let rows = summary
        .times_ms
        .iter()
        .enumerate()
        .flat_map(|(sample, &t)| {
            summary.zones.iter().enumerate().map(move |(index, z)| {
                let idle = summary.zone_idle[sample][index];
                ZoneSeriesCsv {
                    time_s: seconds(t),
                    zone: &z.zone,
                    idle_p10: idle.p10,
                    idle_p50: idle.p50,
                    idle_p90: idle.p90,
                }
            })
        });
    to_bytes(rows)
}

/// `prefixes.csv`: one row per vSwitch with reserved blocks (IP prefix mode).
#[derive(Serialize)]
struct PrefixCsv<'a> {
    vswitch: &'a str,
    zone: &'a str,
    reserved_cidrs: &'a str,
    prefixes: u32,
    peak_prefixes_used_p50: u32,
    peak_prefixes_used_p90: u32,
    free_prefixes_at_p90: u32,
    full_runs: String,
}

fn prefixes(summary: &Summary) -> Vec<u8> {
    to_bytes(summary.prefixes.iter().map(|row| PrefixCsv {
        vswitch: &row.vswitch,
        zone: &row.zone,
        reserved_cidrs: &row.reserved,
        prefixes: row.prefixes,
        peak_prefixes_used_p50: row.peak_used_p50,
        peak_prefixes_used_p90: row.peak_used_p90,
        free_prefixes_at_p90: row.prefixes.saturating_sub(row.peak_used_p90),
        full_runs: format!("{:.3}", row.full_runs),
    }))
}

/// Every CSV file with its name (`prefixes.csv` only when a vSwitch has reserved blocks).
pub fn all(summary: &Summary) -> Vec<(&'static str, Vec<u8>)> {
    let mut files = vec![
        ("zones.csv", zones(summary)),
        ("vswitches.csv", vswitches(summary)),
        ("vswitch_timeseries.csv", vswitch_timeseries(summary)),
        ("cluster_timeseries.csv", cluster_timeseries(summary)),
        ("zone_timeseries.csv", zone_timeseries(summary)),
    ];
    if !summary.prefixes.is_empty() {
        files.push(("prefixes.csv", prefixes(summary)));
    }
    files
}

/// `sweep.csv`: one row per combination: a column per swept key with its value, then the
/// figures of [`super::SweepPoint`].
pub fn sweep(keys: &[&str], values: &[Vec<&str>], points: &[super::SweepPoint]) -> Vec<u8> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let mut header: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
    header.extend(
        [
            "first_shortage_p10_s",
            "first_shortage_p50_s",
            "first_shortage_p90_s",
            "shortage_runs",
            "peak_used_p90",
            "peak_utilization_p90",
            "idle_at_peak_p50",
            "ip_wait_p50_s",
            "ip_wait_p99_s",
        ]
        .map(String::from),
    );
    header.extend(WAIT_COLUMNS.map(String::from));
    writer.write_record(&header).expect("header into memory");
    for (row_values, p) in values.iter().zip(points) {
        let mut row: Vec<String> = row_values.iter().map(|v| v.to_string()).collect();
        row.extend([
            cell(p.first_shortage_p10_ms),
            cell(p.first_shortage_p50_ms),
            cell(p.first_shortage_p90_ms),
            format!("{:.3}", p.shortage_runs),
            p.peak_used_p90.to_string(),
            format!("{:.4}", p.peak_utilization_p90),
            p.idle_at_peak_p50.to_string(),
            cell(p.ip_wait_p50_ms),
            cell(p.ip_wait_p99_ms),
        ]);
        row.extend(wait_row(&p.ip_wait));
        writer.write_record(&row).expect("row into memory");
    }
    writer.into_inner().expect("flush into memory")
}
