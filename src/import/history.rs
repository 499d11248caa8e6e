//! `--history`: pod counts from the past, fitted into each workload's growth.
//!
//! Two inputs are read: what Prometheus answers a range query (`/api/v1/query_range`, as
//! `curl` prints it: `{"status": "success", "data": {"resultType": "matrix", "result":
//! [...]}}`), or only its result array (as `promtool query range -o json` prints it), and a
//! `time,series,value` CSV ([`crate::scenario::parse_history_csv`]) for other monitoring
//! systems. A Prometheus series names a workload by kube-state-metrics' `namespace`,
//! `owner_kind` and `owner_name` (a ReplicaSet counts for its Deployment, a Job for its
//! CronJob, as the pods are grouped), or a zone by `zone`, `topology_kubernetes_io_zone` or
//! `label_topology_kubernetes_io_zone`; a CSV series is a workload's `namespace/name` or a
//! zone's id. Several series of one workload (the ReplicaSets of its rollouts) are summed at
//! each time; a time given by two files counts once, from the later file, so consecutive
//! range queries can be passed together.
//!
//! Each workload's (or zone's) sum is fitted ([`fit`]); day 0 of the scenario is the newest
//! point used. A workload with a series follows its own fit; with only zone series, the
//! others follow the zones' summed trend in proportion to their pods today (the scenario has
//! no per-zone demand, so zones cannot grow apart).

mod fit;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::emit::number;
use super::growth::compound_step;
use super::workloads::kind_name;
use super::{ImportError, Input, Kind, Workload, kube};
use crate::scenario::{self, DAY_MS, Millis, days_between, format_time, nearest_name};
pub use fit::{Fit, TrendKind};

/// Least history a series needs.
pub const MIN_DAYS: f64 = 3.0;
/// Least points a series needs.
pub const MIN_POINTS: usize = 50;
/// Most replicas the scenario accepts for one workload.
const MAX_REPLICAS: f64 = 10_000_000.0;
/// Labels that name a zone.
const ZONE_LABELS: [&str; 3] = [
    "zone",
    "topology_kubernetes_io_zone",
    "label_topology_kubernetes_io_zone",
];

/// One series as read, before it is matched.
#[derive(Debug, Clone)]
pub struct Series {
    /// Index of the file among the `--history` files.
    file: usize,
    /// What names it: Prometheus labels, or the CSV's series.
    names: Names,
    /// (Unix ms, pods).
    points: Vec<(i64, f64)>,
}

#[derive(Debug, Clone)]
enum Names {
    Labels(BTreeMap<String, String>),
    Csv(String),
}

impl Names {
    /// The series as a user wrote or saw it.
    fn shown(&self) -> String {
        match self {
            Names::Labels(labels) if labels.is_empty() => "{} (no labels)".to_string(),
            Names::Labels(labels) => {
                let parts: Vec<String> =
                    labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
                format!("{{{}}}", parts.join(", "))
            }
            Names::Csv(name) => format!("`{name}`"),
        }
    }
}

/// What a series is about.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Target {
    Workload(usize),
    Zone(String),
}

/// Reads one `--history` file: Prometheus JSON (either shape) or the CSV.
pub fn read(input: &Input, file: usize) -> Result<Vec<Series>, ImportError> {
    let text = input.text.trim_start_matches('\u{feff}');
    let first = text.trim_start().chars().next();
    let series = if matches!(first, Some('{') | Some('[')) {
        prometheus(input.path, text, file)?
    } else {
        csv(input.path, text, file)?
    };
    if series.is_empty() {
        return Err(ImportError::new(
            input.path,
            "holds no series: the query matched nothing (check it in the Prometheus UI first)",
        ));
    }
    Ok(series)
}

fn prometheus(path: &Path, text: &str, file: usize) -> Result<Vec<Series>, ImportError> {
    let value: Value = serde_json::from_str(text).map_err(|e| {
        let what = match e.classify() {
            serde_json::error::Category::Eof => "is truncated: the JSON ends",
            _ => "is not valid JSON",
        };
        ImportError::new(
            path,
            format!(
                "{what} at line {}, column {} ({e}); save the whole answer of the range query",
                e.line(),
                e.column()
            ),
        )
    })?;
    let err = |message: String| ImportError::new(path, message);
    let result = match &value {
        Value::Object(map) => {
            match map.get("status").and_then(Value::as_str) {
                Some("success") => {}
                Some("error") => {
                    let field = |k: &str| map.get(k).and_then(Value::as_str).unwrap_or("?");
                    return Err(err(format!(
                        "is Prometheus' error answer, not data: {}: {}; correct the query (and its start, end and step) and run it again",
                        field("errorType"),
                        field("error")
                    )));
                }
                _ => {
                    return Err(err(
                        "is not a Prometheus answer: expected `{\"status\": \"success\", \"data\": {\"resultType\": \"matrix\", ...}}` from /api/v1/query_range".to_string(),
                    ));
                }
            }
            let data = map
                .get("data")
                .ok_or_else(|| err("has no `data`".to_string()))?;
            match data.get("resultType").and_then(Value::as_str) {
                Some("matrix") => {}
                Some(kind) => {
                    return Err(err(format!(
                        "is a Prometheus {kind}, not a matrix: that is the answer of an instant query (/api/v1/query); ask /api/v1/query_range with start, end and step (or `promtool query range`)"
                    )));
                }
                None => return Err(err("has no `data.resultType`".to_string())),
            }
            data.get("result")
                .and_then(Value::as_array)
                .ok_or_else(|| err("has no `data.result` array".to_string()))?
        }
        Value::Array(items) => {
            // promtool prints a scalar as `[time, "value"]` and a vector as objects with `value`.
            if items.len() == 2 && items[1].is_string() {
                return Err(err(
                    "is a Prometheus scalar, not a matrix: ask a range query (`promtool query range`) of a series".to_string(),
                ));
            }
            items
        }
        _ => {
            return Err(err(
                "is neither a Prometheus answer nor a `time,series,value` CSV".to_string(),
            ));
        }
    };
    let mut out = Vec::new();
    for (i, item) in result.iter().enumerate() {
        let labels: BTreeMap<String, String> = item
            .get("metric")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                    .collect()
            })
            .unwrap_or_default();
        let Some(values) = item.get("values").and_then(Value::as_array) else {
            if item.get("value").is_some() {
                return Err(err(format!(
                    "is a Prometheus vector, not a matrix (series {} has one `value`, not `values`): that is an instant query's answer; run `promtool query range` or /api/v1/query_range",
                    Names::Labels(labels).shown()
                )));
            }
            return Err(err(format!(
                "result[{i}] has no `values`: expected a range query's matrix"
            )));
        };
        let mut points = Vec::with_capacity(values.len());
        for (j, pair) in values.iter().enumerate() {
            let bad = || {
                err(format!(
                    "series {} value [{j}] is not `[unix_time, \"value\"]`",
                    Names::Labels(labels.clone()).shown()
                ))
            };
            let pair = pair.as_array().filter(|p| p.len() == 2).ok_or_else(bad)?;
            let time = pair[0].as_f64().ok_or_else(bad)?;
            let value: f64 = pair[1]
                .as_str()
                .ok_or_else(bad)?
                .parse()
                .map_err(|_| bad())?;
            // Prometheus writes NaN and ±Inf as strings; they carry no count.
            if value.is_finite() && time.is_finite() {
                points.push(((time * 1000.0).round() as i64, value.max(0.0)));
            }
        }
        out.push(Series {
            file,
            names: Names::Labels(labels),
            points,
        });
    }
    Ok(out)
}

fn csv(path: &Path, text: &str, file: usize) -> Result<Vec<Series>, ImportError> {
    let rows = scenario::parse_history_csv(text).map_err(|e| {
        ImportError::new(
            path,
            match e.line {
                Some(line) => format!("line {line}: {}", e.message),
                None => e.message,
            },
        )
    })?;
    let mut out: Vec<Series> = Vec::new();
    for row in rows {
        match out
            .iter_mut()
            .find(|s| matches!(&s.names, Names::Csv(n) if *n == row.series))
        {
            Some(s) => s.points.push((row.unix_ms, row.value)),
            None => out.push(Series {
                file,
                names: Names::Csv(row.series),
                points: vec![(row.unix_ms, row.value)],
            }),
        }
    }
    Ok(out)
}

/// One fitted workload or zone.
#[derive(Debug, Clone)]
pub struct Fitted {
    /// What it is: a workload's or a zone's name.
    name: String,
    /// The series that went into it, as shown.
    series: Vec<String>,
    /// The file of its first series.
    file: PathBuf,
    fit: Fit,
    /// Days from the fit's origin to day 0 of the scenario.
    offset: f64,
    /// (Unix ms, pods) given, and whether each was kept.
    points: Vec<(i64, f64)>,
}

impl Fitted {
    fn trend(&self, days: f64) -> f64 {
        self.fit.trend(self.offset + days)
    }

    /// The fit in words: trend, slope, R², residual spread, range, points.
    fn describe(&self) -> String {
        let f = &self.fit;
        let first = self.points.first().map_or(0, |p| p.0);
        let last = self.points.last().map_or(0, |p| p.0);
        let slope = match f.kind {
            TrendKind::Linear => format!("{:+.2} pods/day", f.b),
            TrendKind::Compounding => format!("{:+.2}%/day", f.percent_per_day(0.0)),
        };
        format!(
            "{} trend {slope}, R² {:.3}, residual spread {:.1} pods, {} to {} ({:.1} days), {} points used, {} dropped as outliers",
            f.kind.word(),
            f.r_squared,
            f.residual_spread,
            format_time(first),
            format_time(last),
            days_between(first, last),
            f.points - f.dropped,
            f.dropped
        )
    }
}

/// The fits of an import, and what they make of the scenario.
#[derive(Debug, Clone)]
pub struct HistoryFits {
    /// The `--history` files.
    files: Vec<PathBuf>,
    /// Day 0: the newest point used, Unix ms.
    end_ms: i64,
    /// Per workload index.
    workloads: BTreeMap<usize, Fitted>,
    zones: Vec<Fitted>,
}

/// What the history makes of one workload.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkloadGrowth {
    /// Replica (or arrival) points from day 0 through the horizon.
    pub curve: Vec<(Millis, f64)>,
    /// The comment of `replicas`.
    pub comment: String,
    /// `daily_swing` and its comment, when there is a swing to give.
    pub swing: Option<(f64, String)>,
}

/// Matches the series to the workloads (or zones) and fits each.
pub fn fit_all(
    inputs: &[Input],
    series: Vec<Series>,
    workloads: &[Workload],
    zones: &[String],
) -> Result<HistoryFits, ImportError> {
    // Per target, per file: the sums at each time.
    type Sums = BTreeMap<usize, BTreeMap<i64, f64>>;
    let mut groups: BTreeMap<Target, (Vec<String>, Sums)> = BTreeMap::new();
    for s in series {
        let path = inputs[s.file].path;
        let target = target(path, &s.names, workloads, zones)?;
        let (shown, sums) = groups.entry(target).or_default();
        shown.push(s.names.shown());
        let file_sums = sums.entry(s.file).or_default();
        for (t, v) in s.points {
            *file_sums.entry(t).or_default() += v;
        }
    }
    let mut prepared = Vec::new();
    for (target, (shown, sums)) in groups {
        let first_file = *sums.keys().next().unwrap_or(&0);
        let mut merged: BTreeMap<i64, f64> = BTreeMap::new();
        for (_, file_sums) in sums {
            merged.extend(file_sums);
        }
        let points: Vec<(i64, f64)> = merged.into_iter().collect();
        let path = inputs[first_file].path;
        let name = match &target {
            Target::Workload(i) => format!("workload `{}`", workloads[*i].name),
            Target::Zone(z) => format!("zone `{z}`"),
        };
        let span = match (points.first(), points.last()) {
            (Some(a), Some(b)) => days_between(a.0, b.0),
            _ => 0.0,
        };
        if points.len() < MIN_POINTS || span < MIN_DAYS {
            return Err(ImportError::new(
                path,
                format!(
                    "series {} ({name}) has too little history: {} points over {span:.1} days, and a fit needs at least {MIN_POINTS} points over {MIN_DAYS} days; query a longer range (start) or a shorter step",
                    shown.join(" + "),
                    points.len()
                ),
            ));
        }
        prepared.push((target, shown, path.to_path_buf(), points));
    }
    let origin = prepared
        .iter()
        .filter_map(|p| p.3.last().map(|x| x.0))
        .max()
        .unwrap_or(0);
    let mut fitted = Vec::new();
    for (target, shown, file, points) in prepared {
        let days: Vec<(f64, f64)> = points
            .iter()
            .map(|&(t, v)| (days_between(origin, t), v))
            .collect();
        let fit = fit::fit(&days)
            .filter(|f| f.points - f.dropped >= MIN_POINTS)
            .ok_or_else(|| {
                ImportError::new(
                    &file,
                    format!(
                        "series {} has fewer than {MIN_POINTS} points left once restarts and outliers are dropped: too few to fit",
                        shown.join(" + ")
                    ),
                )
            })?;
        let name = match &target {
            Target::Workload(i) => workloads[*i].name.clone(),
            Target::Zone(z) => z.clone(),
        };
        fitted.push((
            target,
            Fitted {
                name,
                series: shown,
                file,
                offset: 0.0,
                points,
                fit,
            },
        ));
    }
    // Day 0 is the newest point kept by any fit.
    let end_ms = fitted
        .iter()
        .flat_map(|(_, f)| {
            f.points
                .iter()
                .zip(&f.fit.kept)
                .filter(|(_, k)| **k)
                .map(|(p, _)| p.0)
        })
        .max()
        .unwrap_or(origin);
    let mut out = HistoryFits {
        files: inputs.iter().map(|i| i.path.to_path_buf()).collect(),
        end_ms,
        workloads: BTreeMap::new(),
        zones: Vec::new(),
    };
    for (target, mut f) in fitted {
        f.offset = days_between(origin, end_ms);
        match target {
            Target::Workload(i) => {
                out.workloads.insert(i, f);
            }
            Target::Zone(_) => out.zones.push(f),
        }
    }
    Ok(out)
}

/// The workload or zone a series names, or why none.
fn target(
    path: &Path,
    names: &Names,
    workloads: &[Workload],
    zones: &[String],
) -> Result<Target, ImportError> {
    let zone = match names {
        Names::Labels(labels) => ZONE_LABELS.iter().find_map(|l| labels.get(*l)).cloned(),
        Names::Csv(name) if !name.contains('/') => Some(name.clone()),
        Names::Csv(_) => None,
    };
    if let Some(zone) = zone {
        if zones.contains(&zone) {
            return Ok(Target::Zone(zone));
        }
        let near = nearest_name(&zone, zones.iter().map(String::as_str))
            .map(|n| format!(" (nearest: `{n}`)"))
            .unwrap_or_default();
        return Err(ImportError::new(
            path,
            format!(
                "series {} names zone `{zone}`, which is not a zone of the imported vSwitches or nodes: {}{near}",
                names.shown(),
                list(zones.iter().map(String::as_str))
            ),
        ));
    }
    let wanted: Option<(Option<Kind>, String)> = match names {
        Names::Labels(labels) => match (labels.get("namespace"), labels.get("owner_name")) {
            (Some(ns), Some(owner)) => {
                let kind = labels.get("owner_kind").map(String::as_str).unwrap_or("");
                let (kind, name) = match kind {
                    "ReplicaSet" => (
                        Some(Kind::Deployment),
                        kube::deployment_of(owner, None).unwrap_or_else(|| owner.clone()),
                    ),
                    "Deployment" => (Some(Kind::Deployment), owner.clone()),
                    "StatefulSet" => (Some(Kind::StatefulSet), owner.clone()),
                    "DaemonSet" => (Some(Kind::DaemonSet), owner.clone()),
                    "Job" => (
                        Some(Kind::Job),
                        kube::cronjob_of(owner).unwrap_or_else(|| owner.clone()),
                    ),
                    "CronJob" => (Some(Kind::Job), owner.clone()),
                    // kube-state-metrics' owner of a pod without ownerReferences.
                    "<none>" => (Some(Kind::Deployment), "pods-without-owner".to_string()),
                    _ => (None, owner.clone()),
                };
                Some((kind, format!("{ns}/{name}")))
            }
            _ => None,
        },
        Names::Csv(name) => Some((None, name.clone())),
    };
    let names_list = || list(workloads.iter().map(|w| w.name.as_str()));
    let Some((kind, name)) = wanted else {
        return Err(ImportError::new(
            path,
            format!(
                "series {} names no workload or zone: a workload series needs the labels `namespace` and `owner_name` (and `owner_kind`), as `count by (namespace, owner_kind, owner_name)` gives, and a zone series `zone`; the imported workloads are {}",
                names.shown(),
                names_list()
            ),
        ));
    };
    let found = workloads.iter().position(|w| {
        (w.name == name || w.name.starts_with(&format!("{name} (")))
            && kind.is_none_or(|k| k == w.kind)
    });
    // A workload of the same name whose kind differs (a Deployment named like a Job) is
    // still the one meant when it is the only one of that name.
    let found = found.or_else(|| {
        let same: Vec<usize> = workloads
            .iter()
            .enumerate()
            .filter(|(_, w)| w.name == name)
            .map(|(i, _)| i)
            .collect();
        (same.len() == 1).then(|| same[0])
    });
    match found {
        Some(i) => Ok(Target::Workload(i)),
        None => {
            let near = nearest_name(&name, workloads.iter().map(|w| w.name.as_str()))
                .map(|n| format!(" (nearest: `{n}`)"))
                .unwrap_or_default();
            Err(ImportError::new(
                path,
                format!(
                    "series {} matches no workload: it names `{name}`{}, and the workloads imported from --pods are {}{near}",
                    names.shown(),
                    kind.map(|k| format!(" ({})", kind_name(k)))
                        .unwrap_or_default(),
                    names_list()
                ),
            ))
        }
    }
}

fn list<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let names: Vec<String> = names.map(|n| format!("`{n}`")).collect();
    if names.is_empty() {
        "none (give --pods)".to_string()
    } else {
        names.join(", ")
    }
}

/// Times of a curve: whole days up to about 30 points, and the horizon.
fn curve_times(horizon: Millis) -> Vec<Millis> {
    let step = compound_step(horizon);
    let mut times: Vec<Millis> = (0..)
        .map(|i| i * step)
        .take_while(|&t| t < horizon)
        .collect();
    times.push(horizon);
    times
}

/// Replica counts are whole pods.
fn whole(value: f64) -> f64 {
    value.round()
}

impl HistoryFits {
    /// The sidecar's file name for a scenario written to `output`.
    pub fn sidecar_name(output: &Path) -> String {
        let stem = output
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "imported".to_string());
        format!("{stem}.history.csv")
    }

    /// The header line of the scenario for the growth.
    pub fn header_line(&self) -> String {
        let files: Vec<String> = self.files.iter().map(|f| f.display().to_string()).collect();
        format!(
            "fitted to the history in {} ({} workload series, {} zone series); day 0 is {}, the newest point used",
            files.join(", "),
            self.workloads.len(),
            self.zones.len(),
            format_time(self.end_ms)
        )
    }

    /// The points used, as the `time,series,value` CSV that `[scenario] history` names.
    pub fn sidecar(&self) -> String {
        let mut rows: Vec<(i64, &str, f64)> = Vec::new();
        for f in self.workloads.values().chain(&self.zones) {
            for (p, kept) in f.points.iter().zip(&f.fit.kept) {
                if *kept {
                    rows.push((p.0, &f.name, p.1));
                }
            }
        }
        rows.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(b.1)));
        let mut out = String::from(scenario::HISTORY_HEADER);
        out.push('\n');
        let mut writer = csv::WriterBuilder::new()
            .has_headers(false)
            .from_writer(Vec::new());
        for (t, name, v) in rows {
            let _ = writer.write_record([format_time(t), name.to_string(), number(v)]);
        }
        let bytes = writer.into_inner().unwrap_or_default();
        out.push_str(&String::from_utf8_lossy(&bytes));
        out
    }

    /// The growth of workload `index` (with `pods` today), or `None` when the history says
    /// nothing of it.
    pub fn workload(
        &self,
        index: usize,
        workload: &Workload,
        horizon: Millis,
    ) -> Result<Option<WorkloadGrowth>, ImportError> {
        let today = format!(
            "{} pod{} today",
            workload.pods,
            if workload.pods == 1 { "" } else { "s" }
        );
        let grown = if let Some(f) = self.workloads.get(&index) {
            let curve = self.own_curve(f, horizon);
            let level = f.trend(0.0);
            let swing = f.fit.relative_swing(f.offset).min(1.0);
            let swing_comment = format!(
                "fitted daily swing: {} of the trend ({}) peaking at {:02.0}:{:02.0} UTC; the scenario's swing peaks 6h into each simulated day, so only its size is kept",
                match f.fit.kind {
                    TrendKind::Linear =>
                        format!("{:.1} pods, {:.1}%", f.fit.amplitude(), swing * 100.0),
                    TrendKind::Compounding => format!("{:.1}%", swing * 100.0),
                },
                f.fit.kind.word(),
                f.fit.peak_hour().floor(),
                (f.fit.peak_hour().fract() * 60.0).floor()
            );
            let comment = format!(
                "{today}; history: {} = {:.1} at day 0; {}",
                f.series.join(" + "),
                level,
                f.describe()
            );
            (
                curve,
                comment,
                Some((round3(swing), swing_comment)),
                &f.file,
            )
        } else if !self.zones.is_empty() {
            let base: f64 = self.zones.iter().map(|z| z.trend(0.0)).sum();
            let curve: Vec<(Millis, f64)> = curve_times(horizon)
                .into_iter()
                .map(|t| {
                    let now: f64 = self
                        .zones
                        .iter()
                        .map(|z| z.trend(t as f64 / DAY_MS as f64))
                        .sum();
                    let factor = if base > 0.0 { now / base } else { 1.0 };
                    (t, whole(workload.pods as f64 * factor))
                })
                .collect();
            let swing = if base > 0.0 {
                self.zones
                    .iter()
                    .map(|z| z.fit.relative_swing(z.offset) * z.trend(0.0))
                    .sum::<f64>()
                    / base
            } else {
                0.0
            };
            let names: Vec<&str> = self.zones.iter().map(|z| z.name.as_str()).collect();
            let comment = format!(
                "{today}, following the summed trend of zones {} (no series of its own)",
                names.join(", ")
            );
            let swing_comment =
                "the zones' fitted daily swing, weighted by their pods at day 0".to_string();
            (
                curve,
                comment,
                Some((round3(swing.min(1.0)), swing_comment)),
                &self.zones[0].file,
            )
        } else {
            return Ok(Some(WorkloadGrowth {
                curve: vec![(0, workload.pods as f64)],
                comment: format!("{today}; no history series matched it, so it stays as today"),
                swing: None,
            }));
        };
        let (curve, comment, swing, file) = grown;
        if let Some(&(_, top)) = curve.iter().max_by(|a, b| a.1.total_cmp(&b.1))
            && top > MAX_REPLICAS
        {
            return Err(ImportError::new(
                file,
                format!(
                    "the fitted trend takes `{}` to {top:.0} pods by the horizon, more than the {MAX_REPLICAS:.0} a scenario allows; give a shorter --horizon or a history without the burst",
                    workload.name
                ),
            ));
        }
        let swing = swing.filter(|(s, _)| *s > 0.0 && workload.kind != Kind::Job);
        Ok(Some(WorkloadGrowth {
            curve,
            comment,
            swing,
        }))
    }

    /// A workload's curve from its own fit: the two ends (and where it reaches 0) for a
    /// linear trend, whole-day steps for a compounding one.
    fn own_curve(&self, f: &Fitted, horizon: Millis) -> Vec<(Millis, f64)> {
        let days = |t: Millis| t as f64 / DAY_MS as f64;
        let times = match f.fit.kind {
            TrendKind::Compounding => curve_times(horizon),
            TrendKind::Linear => {
                let mut times = vec![0, horizon];
                let (level, slope) = (f.fit.a + f.fit.b * f.offset, f.fit.b);
                if slope < 0.0 && level > 0.0 {
                    let zero = (level / -slope * DAY_MS as f64).round() as Millis;
                    if zero > 0 && zero < horizon {
                        times.insert(1, zero);
                    }
                }
                times
            }
        };
        times
            .into_iter()
            .map(|t| (t, whole(f.trend(days(t)))))
            .collect()
    }

    /// Where a fit's level at day 0 is far from the pods `--pods` shows today: not an error
    /// (the two may be taken at different times), but the scenario starts from the fit.
    pub fn notes(&self, workloads: &[Workload]) -> Vec<(PathBuf, String)> {
        self.workloads
            .iter()
            .filter_map(|(&i, f)| {
                let level = f.trend(0.0);
                let pods = workloads[i].pods as f64;
                let off = (level - pods).abs();
                (off > 2.0 && off > 0.25 * level.max(pods)).then(|| {
                    (
                        f.file.clone(),
                        format!(
                            "the fit of `{}` gives {level:.0} pods at day 0 ({}) where --pods shows {pods:.0} today; the scenario starts from the fit: check that the query counts what import counts (running pods that take an address) and that both were taken at about the same time",
                            f.name,
                            format_time(self.end_ms)
                        ),
                    )
                })
            })
            .collect()
    }

    /// One comment line per fit, for the header.
    pub fn fit_lines(&self) -> String {
        let mut out = String::new();
        for f in self.workloads.values().chain(&self.zones) {
            let _ = writeln!(out, "#     {}: {}", f.name, f.describe());
        }
        out
    }
}

/// Rounded to thousandths: the swing's precision in the scenario.
fn round3(value: f64) -> f64 {
    (value * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workload(name: &str, kind: Kind) -> Workload {
        Workload {
            name: name.to_string(),
            kind,
            source: String::new(),
            pods: 1,
            cpu_millis: 0,
            memory_bytes: 0,
            nodepool: None,
            podnetworking_votes: Default::default(),
            podnetworking_how: Default::default(),
        }
    }

    fn labels(pairs: &[(&str, &str)]) -> Names {
        Names::Labels(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn series_are_matched_as_pods_are_grouped() {
        let workloads = [
            workload("default/web", Kind::Deployment),
            workload("batch/report", Kind::Job),
            workload("default/pods-without-owner", Kind::Deployment),
            workload("default/db (statefulset)", Kind::StatefulSet),
            workload("default/db (deployment)", Kind::Deployment),
        ];
        let zones = ["cn-hangzhou-h".to_string()];
        let path = Path::new("h.json");
        let find = |names: Names| target(path, &names, &workloads, &zones);
        let owner = |kind, name| {
            labels(&[
                ("namespace", "default"),
                ("owner_kind", kind),
                ("owner_name", name),
            ])
        };
        assert_eq!(
            find(owner("ReplicaSet", "web-5d8f7c9b4")),
            Ok(Target::Workload(0))
        );
        assert_eq!(find(owner("Deployment", "web")), Ok(Target::Workload(0)));
        assert_eq!(find(owner("<none>", "<none>")), Ok(Target::Workload(2)));
        // Two workloads named db: the owner's kind picks one.
        assert_eq!(find(owner("StatefulSet", "db")), Ok(Target::Workload(3)));
        assert_eq!(
            find(owner("ReplicaSet", "db-7c6b5f8d9")),
            Ok(Target::Workload(4))
        );
        assert_eq!(
            find(labels(&[
                ("namespace", "batch"),
                ("owner_kind", "Job"),
                ("owner_name", "report-28712345"),
            ])),
            Ok(Target::Workload(1))
        );
        assert_eq!(
            find(Names::Csv("default/web".into())),
            Ok(Target::Workload(0))
        );
        assert_eq!(
            find(labels(&[(
                "label_topology_kubernetes_io_zone",
                "cn-hangzhou-h"
            )])),
            Ok(Target::Zone("cn-hangzhou-h".into()))
        );
        let error = find(owner("ReplicaSet", "wbe-5d8f7c9b4")).unwrap_err();
        assert!(error.message.contains("nearest: `default/web`"), "{error}");
        let error = find(labels(&[("job", "kube-state-metrics")])).unwrap_err();
        assert!(error.message.contains("`owner_name`"), "{error}");
        let error = find(Names::Csv("cn-hangzhou-x".into())).unwrap_err();
        assert!(
            error.message.contains("nearest: `cn-hangzhou-h`"),
            "{error}"
        );
    }

    #[test]
    fn rollouts_are_summed_and_files_overlap_once() {
        let workloads = [workload("default/web", Kind::Deployment)];
        let series = |file, name: &str, start: i64, value: f64| Series {
            file,
            names: labels(&[
                ("namespace", "default"),
                ("owner_kind", "ReplicaSet"),
                ("owner_name", name),
            ]),
            // Hourly for 4 days.
            points: (0..96)
                .map(|i| (start + i * 3_600_000, value + (i % 2) as f64))
                .collect(),
        };
        let inputs = [
            Input {
                path: Path::new("a.json"),
                text: "",
            },
            Input {
                path: Path::new("b.json"),
                text: "",
            },
        ];
        // Two ReplicaSets side by side in file a, and file b repeating a's last day.
        let fits = fit_all(
            &inputs,
            vec![
                series(0, "web-5d8f7c9b4", 0, 10.0),
                series(0, "web-7c6b5f8d9", 0, 5.0),
                series(1, "web-7c6b5f8d9", 72 * 3_600_000, 100.0),
            ],
            &workloads,
            &[],
        )
        .unwrap();
        let web = &fits.workloads[&0];
        // 96 hours in a; b's 96 hours start at hour 72, so 24 overlap: 168 distinct times.
        assert_eq!(web.points.len(), 168);
        // a sums 10 + 5 (+ 1 + 1 on odd hours); b's later value wins where both give one.
        assert_eq!(web.points[0].1, 15.0);
        assert_eq!(web.points[1].1, 17.0);
        assert_eq!(web.points[72].1, 100.0);
    }
}
