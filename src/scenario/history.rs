//! Pod counts from the past, as a `time,series,value` CSV: what `planner import --history`
//! accepts from monitoring systems other than Prometheus, and what it writes next to the
//! scenario (`[scenario] history`) so that `planner run` can draw the history it fitted.
//!
//! `time` is RFC 3339 (`2026-11-03T14:00:00Z`, any offset) or Unix seconds (`1793714400`,
//! fractions allowed); `series` names a workload (`namespace/name`) or a zone; `value` is a
//! pod count. Empty lines and lines starting with `#` are skipped.

use std::path::{Path, PathBuf};

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{DAY_MS, Millis, Scenario, ScenarioError};

/// The history a scenario came with: `[scenario] history`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct History {
    /// The CSV, resolved against the scenario's folder.
    pub path: PathBuf,
    /// Its series, each sorted by time, with times relative to the newest point (day 0 of the
    /// scenario), so at or before 0. Empty until [`read_history`] has read the file.
    pub series: Vec<HistorySeries>,
}

/// One series of a history file.
#[derive(Debug, Clone, PartialEq)]
pub struct HistorySeries {
    /// The `series` column.
    pub name: String,
    /// (milliseconds relative to day 0, pods), by time.
    pub points: Vec<(i64, f64)>,
}

/// One row of a history CSV, with absolute time.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryRow {
    /// Unix time in milliseconds.
    pub unix_ms: i64,
    /// The `series` column.
    pub series: String,
    /// The `value` column.
    pub value: f64,
    /// 1-based line in the file.
    pub line: u64,
}

/// Why a history CSV was refused: the line (when one is at fault) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvError {
    /// 1-based line.
    pub line: Option<u64>,
    /// What is wrong, and what was expected.
    pub message: String,
}

/// The header a history CSV must start with.
pub const HISTORY_HEADER: &str = "time,series,value";

/// Reads a `time,series,value` CSV.
pub fn parse_history_csv(text: &str) -> Result<Vec<HistoryRow>, CsvError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(text.as_bytes());
    let header_error = |found: String| CsvError {
        line: Some(1),
        message: format!(
            "the header must be `{HISTORY_HEADER}` (time as RFC 3339 or Unix seconds, the workload `namespace/name` or zone, the pod count), found `{found}`"
        ),
    };
    // csv counts records, not the blank lines it skips: the line comes from the byte offset.
    let line_at = |position: &csv::Position| {
        let bytes = text.as_bytes();
        let mut start = (position.byte() as usize).min(bytes.len());
        // A record's position is where reading began, before the blank lines it skipped.
        while start < bytes.len() && matches!(bytes[start], b'\n' | b'\r') {
            start += 1;
        }
        bytes[..start].iter().filter(|&&b| b == b'\n').count() as u64 + 1
    };
    let headers = reader.headers().map_err(|e| CsvError {
        line: e.position().map(line_at),
        message: format!("is not a readable CSV ({e})"),
    })?;
    let found: Vec<String> = headers.iter().map(|h| h.to_lowercase()).collect();
    if found != ["time", "series", "value"] {
        return Err(header_error(headers.iter().collect::<Vec<_>>().join(",")));
    }
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| CsvError {
            line: e.position().map(line_at),
            message: format!("is not a readable CSV ({e})"),
        })?;
        let line = record.position().map_or(0, line_at);
        let bad = |message: String| CsvError {
            line: Some(line),
            message,
        };
        if record.len() != 3 {
            return Err(bad(format!(
                "has {} fields where `{HISTORY_HEADER}` needs 3",
                record.len()
            )));
        }
        let unix_ms = parse_time(&record[0]).map_err(bad)?;
        let series = record[1].to_string();
        if series.is_empty() {
            return Err(bad("has an empty series".to_string()));
        }
        let value: f64 = record[2].parse().map_err(|_| {
            bad(format!(
                "has value `{}`, which is not a number of pods",
                &record[2]
            ))
        })?;
        if value.is_nan() || value < 0.0 {
            return Err(bad(format!(
                "has value `{}`: a pod count is a number, 0 or more",
                &record[2]
            )));
        }
        rows.push(HistoryRow {
            unix_ms,
            series,
            value,
            line,
        });
    }
    Ok(rows)
}

/// A time as RFC 3339 or Unix seconds, to Unix milliseconds.
pub fn parse_time(text: &str) -> Result<i64, String> {
    if let Ok(seconds) = text.parse::<f64>() {
        // Year 1970 to about 2286: a value outside is a unit mistake (milliseconds?).
        if seconds.is_finite() && (0.0..1e10).contains(&seconds) {
            return Ok((seconds * 1000.0).round() as i64);
        }
        return Err(format!(
            "has time `{text}`, which is not Unix seconds (milliseconds? divide by 1000)"
        ));
    }
    OffsetDateTime::parse(text, &Rfc3339)
        .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64)
        .map_err(|_| {
            format!(
                "has time `{text}`, which is neither RFC 3339 (`2026-11-03T14:00:00Z`) nor Unix seconds"
            )
        })
}

/// Unix milliseconds as RFC 3339 in UTC, to the second.
pub fn format_time(unix_ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix_ms.div_euclid(1000))
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| format!("{}", unix_ms / 1000))
}

/// Reads the file `[scenario] history` names and fills [`History::series`]. Call after the
/// scenario is parsed (parsing reads no other file, so `import` can check a scenario before
/// its history is written). A scenario without history is left as it is.
pub fn read_history(scenario: &mut Scenario) -> Result<(), ScenarioError> {
    let Some(history) = &mut scenario.history else {
        return Ok(());
    };
    let error = |path: &Path, line: Option<u64>, message: String| ScenarioError {
        file: path.to_path_buf(),
        line: line.map(|l| l as usize),
        key: String::new(),
        message,
    };
    let text = std::fs::read_to_string(&history.path).map_err(|e| {
        error(
            &history.path,
            None,
            format!(
                "cannot read the history that `[scenario] history` in {} names: {e}",
                scenario.source.display()
            ),
        )
    })?;
    let rows = parse_history_csv(&text).map_err(|e| error(&history.path, e.line, e.message))?;
    if rows.is_empty() {
        return Err(error(
            &history.path,
            None,
            "has no rows: a history file holds the points the fit used".to_string(),
        ));
    }
    history.series = relative_series(&rows);
    Ok(())
}

/// Rows grouped by series (in order of first appearance), times relative to the newest row.
fn relative_series(rows: &[HistoryRow]) -> Vec<HistorySeries> {
    let end = rows.iter().map(|r| r.unix_ms).max().unwrap_or(0);
    let mut series: Vec<HistorySeries> = Vec::new();
    for row in rows {
        let at = row.unix_ms - end;
        match series.iter_mut().find(|s| s.name == row.series) {
            Some(s) => s.points.push((at, row.value)),
            None => series.push(HistorySeries {
                name: row.series.clone(),
                points: vec![(at, row.value)],
            }),
        }
    }
    for s in &mut series {
        s.points.sort_by_key(|p| p.0);
    }
    series
}

impl History {
    /// The pods of all workload series (or, with none, of all zone series) summed at each
    /// time a series has a point, each series holding its last value until its next point:
    /// the total a reader compares with the forecast's pods running. Split into runs where
    /// the history has a gap (a series with no point for more than three of its usual steps,
    /// or no point at all), so a chart does not draw a line across an outage.
    pub fn total(&self) -> Vec<Vec<(i64, f64)>> {
        let workloads: Vec<&HistorySeries> = self
            .series
            .iter()
            .filter(|s| s.name.contains('/'))
            .collect();
        let chosen = if workloads.is_empty() {
            self.series.iter().collect()
        } else {
            workloads
        };
        let tolerance: Vec<i64> = chosen.iter().map(|s| 3 * usual_step(&s.points)).collect();
        let mut times: Vec<i64> = chosen
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.0))
            .collect();
        times.sort_unstable();
        times.dedup();
        let all_tolerance = 3 * usual_step(&times.iter().map(|&t| (t, 0.0)).collect::<Vec<_>>());
        let mut runs: Vec<Vec<(i64, f64)>> = Vec::new();
        let mut run: Vec<(i64, f64)> = Vec::new();
        for t in times {
            let mut sum = 0.0;
            let mut in_gap = false;
            for (s, tolerance) in chosen.iter().zip(&tolerance) {
                let (Some(first), Some(last)) = (s.points.first(), s.points.last()) else {
                    continue;
                };
                if t < first.0 || t > last.0 {
                    continue;
                }
                let p = s.points[s.points.partition_point(|p| p.0 <= t) - 1];
                if t - p.0 > *tolerance {
                    in_gap = true;
                }
                sum += p.1;
            }
            let apart = run
                .last()
                .is_some_and(|&(last, _)| t - last > all_tolerance);
            if (in_gap || apart) && !run.is_empty() {
                runs.push(std::mem::take(&mut run));
            }
            if !in_gap {
                run.push((t, sum));
            }
        }
        if !run.is_empty() {
            runs.push(run);
        }
        runs
    }

    /// How far back the history reaches, in milliseconds (0 when empty).
    pub fn span_ms(&self) -> Millis {
        self.series
            .iter()
            .filter_map(|s| s.points.first())
            .map(|p| p.0.unsigned_abs())
            .max()
            .unwrap_or(0)
    }
}

/// The median time between points (at least 1 ms).
fn usual_step(points: &[(i64, f64)]) -> i64 {
    let mut steps: Vec<i64> = points.windows(2).map(|w| w[1].0 - w[0].0).collect();
    steps.sort_unstable();
    steps.get(steps.len() / 2).copied().unwrap_or(1).max(1)
}

/// Days between two Unix millisecond times.
pub fn days_between(from_ms: i64, to_ms: i64) -> f64 {
    (to_ms - from_ms) as f64 / DAY_MS as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_read_in_both_time_forms() {
        let rows = parse_history_csv(
            "time,series,value\n2026-11-03T14:00:00Z,default/web,3\n\n1793714400.5,cn-hangzhou-h,4.5\n2026-11-03T16:00:00+02:00,default/web,5\n",
        )
        .unwrap();
        // 2026-11-03: 56 years of 365 days and 14 leap days (1972..2024), then 304 days of
        // January to October and 2 more: 20 760 days after 1970-01-01, plus 14 h.
        assert_eq!(rows[0].unix_ms, (20_760 * 86_400 + 14 * 3600) * 1000);
        assert_eq!(rows[1].unix_ms, 1_793_714_400_500);
        assert_eq!(rows[1].line, 4);
        assert_eq!(rows[2].unix_ms, rows[0].unix_ms);
        assert_eq!(format_time(rows[0].unix_ms), "2026-11-03T14:00:00Z");
    }

    #[test]
    fn bad_headers_and_rows_name_the_line() {
        let e = parse_history_csv("ts,name,pods\n1,a,2\n").unwrap_err();
        assert_eq!(e.line, Some(1));
        assert!(e.message.contains("time,series,value"), "{}", e.message);
        let e = parse_history_csv("time,series,value\n1,a/b,2\nyesterday,a/b,3\n").unwrap_err();
        assert_eq!(e.line, Some(3));
        assert!(e.message.contains("`yesterday`"));
        let e = parse_history_csv("time,series,value\n1,a/b,many\n").unwrap_err();
        assert_eq!((e.line, e.message.contains("`many`")), (Some(2), true));
        let e = parse_history_csv("time,series,value\n1,a/b\n").unwrap_err();
        assert_eq!(e.line, Some(2));
        let e = parse_history_csv("time,series,value\n1793714400000,a/b,1\n").unwrap_err();
        assert!(e.message.contains("milliseconds"));
    }

    #[test]
    fn the_total_holds_each_series_within_its_span() {
        let history = History {
            path: PathBuf::from("h.csv"),
            series: vec![
                HistorySeries {
                    name: "a/x".into(),
                    points: vec![(-20, 1.0), (-10, 2.0), (0, 3.0)],
                },
                HistorySeries {
                    name: "a/y".into(),
                    points: vec![(-15, 10.0), (-5, 20.0)],
                },
                // A zone series is left out when workload series exist.
                HistorySeries {
                    name: "zone-a".into(),
                    points: vec![(-20, 100.0)],
                },
            ],
        };
        assert_eq!(
            history.total(),
            [vec![
                (-20, 1.0),
                (-15, 11.0),
                (-10, 12.0),
                (-5, 22.0),
                (0, 3.0)
            ]]
        );
        assert_eq!(history.span_ms(), 20);
    }

    #[test]
    fn the_total_breaks_at_an_outage() {
        // Points every 10 ms, none from -100 to -40: more than three steps missing.
        let points: Vec<(i64, f64)> = (-15..=0)
            .map(|i| i * 10)
            .filter(|t| !(-100..-40).contains(t))
            .map(|t| (t, 1.0))
            .collect();
        let history = History {
            path: PathBuf::from("h.csv"),
            series: vec![HistorySeries {
                name: "a/x".into(),
                points,
            }],
        };
        let runs = history.total();
        assert_eq!(runs.len(), 2);
        assert_eq!(runs[0].last(), Some(&(-110, 1.0)));
        assert_eq!(runs[1].first(), Some(&(-40, 1.0)));
    }
}
