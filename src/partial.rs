//! Partial results of a sharded run: what one shard of `planner run --shard K/N` (or of a
//! sweep, or of the follow-up re-runs) made, in a self-describing file that `planner merge`
//! reads back into exactly the runs an unsharded run would hold.
//!
//! The model and engine derive no serde traits, so the mapping lives here, in mirror records
//! converted field by field (the conversions destructure every struct, so a field added to a
//! run result fails to compile here until the format carries it). A file is
//!
//! ```text
//! planner-partial 1
//! sha256 <hex digest of the body> <body length in bytes>
//! <body: one JSON object>
//! ```
//!
//! The first line says what the file is and which format it uses; the second lets a reader
//! tell a truncated or altered body from a good one before reading it. Floats are stored as
//! their IEEE bits, so they come back exactly.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::model::{
    ApiCalls, RunResult, Samples, ShortageCause, VSwitchOutcome, WaitHistograms, ZoneOutcome,
};
use crate::scenario::Scenario;

/// The format this planner writes and reads. A change of the body's meaning takes a new one.
pub const FORMAT_VERSION: u32 = 1;

/// The first word of every partial file.
pub const MAGIC: &str = "planner-partial";

/// The planner version that writes partials; merge reads only its own, because the summary
/// and plan it computes from the runs must be those the shards' planner would compute.
pub const PLANNER_VERSION: &str = env!("CARGO_PKG_VERSION");

/// One shard of N: `k` in 1..=n.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Shard {
    /// This shard, from 1.
    pub k: u32,
    /// How many shards share the work.
    pub n: u32,
}

impl Shard {
    /// Reads `K/N`.
    pub fn parse(text: &str) -> Result<Shard, String> {
        let (k, n) = text
            .split_once('/')
            .ok_or_else(|| format!("`{text}` is not K/N (e.g. 2/4)"))?;
        let number = |s: &str, what: &str| {
            s.trim()
                .parse::<u32>()
                .map_err(|_| format!("`{text}`: {what} `{s}` is not a whole number"))
        };
        Shard::new(number(k, "K")?, number(n, "N")?).map_err(|e| format!("`{text}`: {e}"))
    }

    /// Shard `k` of `n`, checked.
    pub fn new(k: u32, n: u32) -> Result<Shard, String> {
        if n == 0 || n > MAX_SHARDS {
            return Err(format!("N must be 1 to {MAX_SHARDS}, got {n}"));
        }
        if k == 0 || k > n {
            return Err(format!("K must be 1 to N = {n}, got {k}"));
        }
        Ok(Shard { k, n })
    }

    /// The shard that runs task `task` of any task list: task i goes to shard i mod N + 1, so
    /// every N works (a shard may hold none when N exceeds the tasks) and shards hold tasks
    /// spread over the whole list, early and late runs alike.
    pub fn of(task: u32, n: u32) -> u32 {
        task % n + 1
    }

    /// The tasks of `0..total` this shard holds, in order.
    pub fn tasks(self, total: u32) -> Vec<u32> {
        (self.k - 1..total).step_by(self.n as usize).collect()
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.k, self.n)
    }
}

/// The most shards one set may have (a Kubernetes Indexed Job allows far fewer in practice).
pub const MAX_SHARDS: u32 = 100_000;

/// What a partial holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// Seeded runs of `planner run`: task i is run i.
    Runs,
    /// Runs of a sweep's points: task i is run `i % runs` of point `i / runs`.
    Sweep,
    /// The follow-up re-runs of `planner run`: the verification runs (task i is run i of the
    /// scenario with the recommendations applied), then the pool what-if runs.
    FollowUps,
}

impl Kind {
    /// For messages.
    pub fn describe(self) -> &'static str {
        match self {
            Kind::Runs => "seeded runs",
            Kind::Sweep => "sweep runs",
            Kind::FollowUps => "follow-up runs",
        }
    }
}

/// What `planner merge` needs to rebuild the scenario the shards ran: the file's text as read
/// (so merge needs only the partials), the path it was given as (summary.json names it) and the
/// command line's overrides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    /// The scenario path as the shard was given it.
    pub path: String,
    /// The scenario file's text.
    pub text: String,
    /// `--gate` and other `KEY=VALUE` overrides, in order.
    pub overrides: Vec<(String, String)>,
    /// A sweep's `--set KEY=V1,V2,...` arguments, in order; empty for a run.
    pub sets: Vec<String>,
    /// `--runs`, when given.
    pub runs: Option<u32>,
    /// `--seed`, when given.
    pub seed: Option<u64>,
}

/// The follow-ups a follow-up partial's tasks are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowUps {
    /// [`digest`] of the recommendations the verification runs applied (recomputed from the
    /// runs at merge, which must give the same).
    pub recommendations_digest: String,
    /// Whether the tasks begin with one verification run per seeded run.
    pub verification: bool,
    /// Whether one pool what-if run per seeded run follows.
    pub pool: bool,
}

/// One partial result.
#[derive(Debug, Clone, PartialEq)]
pub struct Partial {
    /// The planner that wrote it.
    pub planner_version: String,
    /// What its tasks are.
    pub kind: Kind,
    /// [`scenario_digest`] of the scenario (or the sweep's points) as run.
    pub scenario_digest: String,
    /// The base seed.
    pub seed: u64,
    /// Seeded runs of the scenario (per point for a sweep).
    pub runs: u32,
    /// Tasks of all shards together.
    pub tasks: u32,
    /// This shard.
    pub shard: Shard,
    /// The tasks it holds, ascending: those [`Shard::tasks`] gives.
    pub held: Vec<u32>,
    /// The scenario, to rebuild it at merge.
    pub source: Source,
    /// For [`Kind::FollowUps`]: which follow-ups.
    pub follow_ups: Option<FollowUps>,
    /// One result per held task, in the same order.
    pub results: Vec<RunResult>,
}

/// Why bytes are not a partial that can be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PartialError {
    /// Not a partial at all.
    #[error("not a planner partial result (it does not start with `{MAGIC}`)")]
    NotPartial,
    /// A partial of a format this planner does not read.
    #[error("partial format {0}; this planner reads format {FORMAT_VERSION}")]
    Format(String),
    /// Shorter than its header says.
    #[error("truncated: {have} of {want} bytes after the header")]
    Truncated {
        /// Bytes present.
        have: usize,
        /// Bytes the header promises.
        want: usize,
    },
    /// The body does not match its checksum, or does not read.
    #[error("corrupt: {0}")]
    Corrupt(String),
}

/// Hex sha256 of some bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut out = String::with_capacity(64);
    for byte in digest {
        let _ = write!(out, "{byte:02x}");
    }
    out
}

/// The digest of a scenario as the runs see it: sha256 of its validated form (`Debug`, which
/// prints every field, floats exactly, maps in key order), without the path it was read from.
/// Comments, key order and where the file lies do not change it; any value the runs, the
/// reports or the gates read does. For a sweep, of every point in order.
pub fn scenario_digest(points: &[Scenario]) -> String {
    let mut text = String::new();
    for point in points {
        let mut point = point.clone();
        point.source = std::path::PathBuf::new();
        let _ = writeln!(text, "{point:?}");
    }
    sha256_hex(text.as_bytes())
}

/// The digest of any value's `Debug` form (for the recommendations a follow-up applied).
pub fn digest(value: &impl std::fmt::Debug) -> String {
    sha256_hex(format!("{value:?}").as_bytes())
}

/// Wraps a body in the two header lines.
pub fn seal(body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "{MAGIC} {FORMAT_VERSION}\nsha256 {} {}\n",
        sha256_hex(body),
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

/// The body of sealed bytes, checked against its header.
pub fn unseal(bytes: &[u8]) -> Result<&[u8], PartialError> {
    let (first, rest) = split_line(bytes).ok_or(PartialError::NotPartial)?;
    let first = std::str::from_utf8(first).map_err(|_| PartialError::NotPartial)?;
    let version = first
        .strip_prefix(MAGIC)
        .and_then(|v| v.strip_prefix(' '))
        .ok_or(PartialError::NotPartial)?;
    if version != FORMAT_VERSION.to_string() {
        return Err(PartialError::Format(version.to_string()));
    }
    let bad_header = || PartialError::Corrupt("the checksum line is damaged".into());
    let (second, body) = split_line(rest).ok_or(PartialError::Corrupt(
        "truncated: the file ends inside its header".into(),
    ))?;
    let second = std::str::from_utf8(second).map_err(|_| bad_header())?;
    let mut words = second.split(' ');
    let (Some("sha256"), Some(hex), Some(len), None) =
        (words.next(), words.next(), words.next(), words.next())
    else {
        return Err(bad_header());
    };
    let want: usize = len.parse().map_err(|_| bad_header())?;
    if body.len() < want {
        return Err(PartialError::Truncated {
            have: body.len(),
            want,
        });
    }
    if body.len() > want {
        return Err(PartialError::Corrupt(format!(
            "{} bytes after the header, {want} expected",
            body.len()
        )));
    }
    if sha256_hex(body) != hex {
        return Err(PartialError::Corrupt(
            "the body does not match its sha256 checksum".into(),
        ));
    }
    Ok(body)
}

fn split_line(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let end = bytes.iter().position(|&b| b == b'\n')?;
    Some((&bytes[..end], &bytes[end + 1..]))
}

impl Partial {
    /// The file's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let body = Body {
            planner_version: self.planner_version.clone(),
            kind: self.kind,
            scenario_digest: self.scenario_digest.clone(),
            seed: self.seed,
            runs: self.runs,
            tasks: self.tasks,
            shard: self.shard,
            held: self.held.clone(),
            follow_ups: self.follow_ups.clone(),
            source: self.source.clone(),
            results: self.results.iter().map(RunRecord::from).collect(),
        };
        let mut json = serde_json::to_vec(&body).expect("plain data serializes");
        json.push(b'\n');
        seal(&json)
    }

    /// Reads a file's bytes, checking the header, the checksum and that the body agrees with
    /// itself (one result per held task, the tasks of its shard).
    pub fn from_bytes(bytes: &[u8]) -> Result<Partial, PartialError> {
        let body = unseal(bytes)?;
        let body: Body = serde_json::from_slice(body)
            .map_err(|e| PartialError::Corrupt(format!("the body does not read: {e}")))?;
        let corrupt = |m: String| Err(PartialError::Corrupt(m));
        if Shard::new(body.shard.k, body.shard.n).is_err() {
            return corrupt(format!("shard {} is not K/N", body.shard));
        }
        if body.held != body.shard.tasks(body.tasks) {
            return corrupt(format!(
                "it holds other tasks than shard {} of {} tasks",
                body.shard, body.tasks
            ));
        }
        if body.results.len() != body.held.len() {
            return corrupt(format!(
                "{} results for {} tasks",
                body.results.len(),
                body.held.len()
            ));
        }
        let results = body
            .results
            .into_iter()
            .map(RunRecord::into_result)
            .collect::<Result<Vec<_>, String>>()
            .map_err(PartialError::Corrupt)?;
        Ok(Partial {
            planner_version: body.planner_version,
            kind: body.kind,
            scenario_digest: body.scenario_digest,
            seed: body.seed,
            runs: body.runs,
            tasks: body.tasks,
            shard: body.shard,
            held: body.held,
            source: body.source,
            follow_ups: body.follow_ups,
            results,
        })
    }
}

/// The body as written: the metadata first, so `head -c 600 FILE` shows it.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    planner_version: String,
    kind: Kind,
    scenario_digest: String,
    seed: u64,
    runs: u32,
    tasks: u32,
    shard: Shard,
    held: Vec<u32>,
    follow_ups: Option<FollowUps>,
    source: Source,
    results: Vec<RunRecord>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RunRecord {
    run_index: u32,
    /// Per vSwitch: peak used, full at.
    vswitches: Vec<(u32, Option<u64>, u32)>,
    zones: Vec<ZoneRecord>,
    samples: SamplesRecord,
    max_pods_pending_ip: u32,
    /// create_eni, assign_ips, unassign_ips, delete_eni, refused_ip_not_enough.
    api_calls: [u64; 5],
    /// Per zone: served and censored wait histograms.
    zone_ip_waits: Vec<(Vec<u64>, Vec<u64>)>,
    events: u64,
    pods_created: u64,
    node_launch_failures: u32,
    /// IEEE bits, so the value comes back exactly.
    pending_events_mean_bits: u64,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ZoneRecord {
    peak_used: u32,
    first_shortage_ms: Option<u64>,
    first_shortage_cause: Option<CauseRecord>,
    peak_pending_ip: u32,
    peak_demand: u32,
    first_stranded_ms: Option<u64>,
    stranded_failures: u32,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum CauseRecord {
    VswitchExhausted,
    NoVswitch,
    EniInhibited,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SamplesRecord {
    times_ms: Vec<u64>,
    vswitch_used: Vec<u32>,
    vswitch_idle: Vec<u32>,
    zone_idle: Vec<u32>,
    zone_pending_ip: Vec<u32>,
    nodes: Vec<u32>,
    pods_running: Vec<u32>,
    pods_pending_ip: Vec<u32>,
    pods_unschedulable: Vec<u32>,
}

impl From<&RunResult> for RunRecord {
    fn from(run: &RunResult) -> Self {
        let RunResult {
            run_index,
            vswitches,
            zones,
            samples,
            max_pods_pending_ip,
            api_calls,
            zone_ip_waits,
            events,
            pods_created,
            node_launch_failures,
            pending_events_mean,
        } = run;
        let ApiCalls {
            create_eni,
            assign_ips,
            unassign_ips,
            delete_eni,
            refused_ip_not_enough,
        } = *api_calls;
        let Samples {
            times_ms,
            vswitch_used,
            vswitch_idle,
            zone_idle,
            zone_pending_ip,
            nodes,
            pods_running,
            pods_pending_ip,
            pods_unschedulable,
        } = samples.clone();
        RunRecord {
            run_index: *run_index,
            vswitches: vswitches
                .iter()
                .map(
                    |VSwitchOutcome {
                         peak_used,
                         peak_prefixes_used,
                         full_at_ms,
                     }| (*peak_used, *full_at_ms, *peak_prefixes_used),
                )
                .collect(),
            zones: zones.iter().map(ZoneRecord::from).collect(),
            samples: SamplesRecord {
                times_ms,
                vswitch_used,
                vswitch_idle,
                zone_idle,
                zone_pending_ip,
                nodes,
                pods_running,
                pods_pending_ip,
                pods_unschedulable,
            },
            max_pods_pending_ip: *max_pods_pending_ip,
            api_calls: [
                create_eni,
                assign_ips,
                unassign_ips,
                delete_eni,
                refused_ip_not_enough,
            ],
            zone_ip_waits: zone_ip_waits
                .iter()
                .map(|WaitHistograms { served, censored }| (served.clone(), censored.clone()))
                .collect(),
            events: *events,
            pods_created: *pods_created,
            node_launch_failures: *node_launch_failures,
            pending_events_mean_bits: pending_events_mean.to_bits(),
        }
    }
}

impl From<&ZoneOutcome> for ZoneRecord {
    fn from(zone: &ZoneOutcome) -> Self {
        let ZoneOutcome {
            peak_used,
            first_shortage_ms,
            first_shortage_cause,
            peak_pending_ip,
            peak_demand,
            first_stranded_ms,
            stranded_failures,
        } = *zone;
        ZoneRecord {
            peak_used,
            first_shortage_ms,
            first_shortage_cause: first_shortage_cause.map(|cause| match cause {
                ShortageCause::VSwitchExhausted => CauseRecord::VswitchExhausted,
                ShortageCause::NoVSwitch => CauseRecord::NoVswitch,
                ShortageCause::EniInhibited => CauseRecord::EniInhibited,
            }),
            peak_pending_ip,
            peak_demand,
            first_stranded_ms,
            stranded_failures,
        }
    }
}

impl RunRecord {
    fn into_result(self) -> Result<RunResult, String> {
        let RunRecord {
            run_index,
            vswitches,
            zones,
            samples,
            max_pods_pending_ip,
            api_calls,
            zone_ip_waits,
            events,
            pods_created,
            node_launch_failures,
            pending_events_mean_bits,
        } = self;
        let SamplesRecord {
            times_ms,
            vswitch_used,
            vswitch_idle,
            zone_idle,
            zone_pending_ip,
            nodes,
            pods_running,
            pods_pending_ip,
            pods_unschedulable,
        } = samples;
        let [
            create_eni,
            assign_ips,
            unassign_ips,
            delete_eni,
            refused_ip_not_enough,
        ] = api_calls;
        Ok(RunResult {
            run_index,
            vswitches: vswitches
                .into_iter()
                .map(
                    |(peak_used, full_at_ms, peak_prefixes_used)| VSwitchOutcome {
                        peak_used,
                        peak_prefixes_used,
                        full_at_ms,
                    },
                )
                .collect(),
            zones: zones.into_iter().map(ZoneRecord::into_outcome).collect(),
            samples: Samples {
                times_ms,
                vswitch_used,
                vswitch_idle,
                zone_idle,
                zone_pending_ip,
                nodes,
                pods_running,
                pods_pending_ip,
                pods_unschedulable,
            },
            max_pods_pending_ip,
            api_calls: ApiCalls {
                create_eni,
                assign_ips,
                unassign_ips,
                delete_eni,
                refused_ip_not_enough,
            },
            zone_ip_waits: zone_ip_waits
                .into_iter()
                .map(|(served, censored)| WaitHistograms { served, censored })
                .collect(),
            events,
            pods_created,
            node_launch_failures,
            pending_events_mean: f64::from_bits(pending_events_mean_bits),
        })
    }
}

impl ZoneRecord {
    fn into_outcome(self) -> ZoneOutcome {
        let ZoneRecord {
            peak_used,
            first_shortage_ms,
            first_shortage_cause,
            peak_pending_ip,
            peak_demand,
            first_stranded_ms,
            stranded_failures,
        } = self;
        ZoneOutcome {
            peak_used,
            first_shortage_ms,
            first_shortage_cause: first_shortage_cause.map(|cause| match cause {
                CauseRecord::VswitchExhausted => ShortageCause::VSwitchExhausted,
                CauseRecord::NoVswitch => ShortageCause::NoVSwitch,
                CauseRecord::EniInhibited => ShortageCause::EniInhibited,
            }),
            peak_pending_ip,
            peak_demand,
            first_stranded_ms,
            stranded_failures,
        }
    }
}

/// Whether a run's shape fits the scenario it claims to be a run of (counts of vSwitches and
/// zones, series lengths), so that reading it cannot index out of bounds. `Err` says what
/// differs.
pub fn check_shape(scenario: &Scenario, run: &RunResult) -> Result<(), String> {
    let (vswitches, zones) = (scenario.vswitches.len(), scenario.zones.len());
    let samples = run.samples.times_ms.len();
    let checks = [
        ("vSwitches", run.vswitches.len(), vswitches),
        ("zones", run.zones.len(), zones),
        ("zone waits", run.zone_ip_waits.len(), zones),
        (
            "vSwitch used samples",
            run.samples.vswitch_used.len(),
            samples * vswitches,
        ),
        (
            "vSwitch idle samples",
            run.samples.vswitch_idle.len(),
            samples * vswitches,
        ),
        (
            "zone idle samples",
            run.samples.zone_idle.len(),
            samples * zones,
        ),
        (
            "zone pending samples",
            run.samples.zone_pending_ip.len(),
            samples * zones,
        ),
        ("node samples", run.samples.nodes.len(), samples),
        (
            "running pod samples",
            run.samples.pods_running.len(),
            samples,
        ),
        (
            "pending pod samples",
            run.samples.pods_pending_ip.len(),
            samples,
        ),
        (
            "unschedulable pod samples",
            run.samples.pods_unschedulable.len(),
            samples,
        ),
    ];
    for (what, have, want) in checks {
        if have != want {
            return Err(format!(
                "run {}: {have} {what}, the scenario has {want}",
                run.run_index
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_split_tasks_round_robin() {
        let all: Vec<Vec<u32>> = (1..=3)
            .map(|k| Shard::new(k, 3).unwrap().tasks(7))
            .collect();
        assert_eq!(all, vec![vec![0, 3, 6], vec![1, 4], vec![2, 5]]);
        // More shards than tasks: the last ones hold nothing.
        assert_eq!(Shard::new(5, 7).unwrap().tasks(3), Vec::<u32>::new());
        assert_eq!(Shard::of(6, 3), 1);
        assert_eq!(Shard::of(5, 3), 3);
    }

    #[test]
    fn shard_text_is_checked() {
        assert_eq!(Shard::parse("2/4"), Ok(Shard { k: 2, n: 4 }));
        assert!(
            Shard::parse("0/4")
                .unwrap_err()
                .contains("K must be 1 to N = 4")
        );
        assert!(Shard::parse("5/4").is_err());
        assert!(Shard::parse("1/0").unwrap_err().contains("N must be"));
        assert!(Shard::parse("2").unwrap_err().contains("is not K/N"));
        assert!(
            Shard::parse("a/4")
                .unwrap_err()
                .contains("not a whole number")
        );
    }

    fn sample_run() -> RunResult {
        RunResult {
            run_index: 3,
            vswitches: vec![VSwitchOutcome {
                peak_used: 7,
                peak_prefixes_used: 3,
                full_at_ms: Some(12),
            }],
            zones: vec![ZoneOutcome {
                peak_used: 7,
                first_shortage_ms: Some(99),
                first_shortage_cause: Some(ShortageCause::EniInhibited),
                peak_pending_ip: 2,
                peak_demand: 9,
                first_stranded_ms: None,
                stranded_failures: 1,
            }],
            samples: Samples {
                times_ms: vec![0, 10],
                vswitch_used: vec![1, 2],
                vswitch_idle: vec![0, 1],
                zone_idle: vec![0, 1],
                zone_pending_ip: vec![0, 0],
                nodes: vec![1, 1],
                pods_running: vec![1, 2],
                pods_pending_ip: vec![0, 0],
                pods_unschedulable: vec![0, 0],
            },
            max_pods_pending_ip: 2,
            api_calls: ApiCalls {
                create_eni: 1,
                assign_ips: 2,
                unassign_ips: 3,
                delete_eni: 4,
                refused_ip_not_enough: 5,
            },
            zone_ip_waits: vec![WaitHistograms {
                served: vec![0, 3],
                censored: vec![1],
            }],
            events: 1234,
            pods_created: 5,
            node_launch_failures: 0,
            // Not exactly representable in decimal with few digits: must come back bit for bit.
            pending_events_mean: 0.1 + 0.2,
        }
    }

    fn sample_partial() -> Partial {
        Partial {
            planner_version: PLANNER_VERSION.into(),
            kind: Kind::Runs,
            scenario_digest: "d".into(),
            seed: 7,
            runs: 4,
            tasks: 4,
            shard: Shard { k: 2, n: 3 },
            held: vec![1],
            source: Source {
                path: "s.toml".into(),
                text: "[scenario]\n".into(),
                overrides: vec![("gates.percentile".into(), "90".into())],
                sets: vec![],
                runs: Some(4),
                seed: None,
            },
            follow_ups: None,
            results: vec![sample_run()],
        }
    }

    #[test]
    fn a_partial_round_trips_exactly() {
        let partial = sample_partial();
        let bytes = partial.to_bytes();
        assert!(bytes.starts_with(b"planner-partial 1\nsha256 "));
        let back = Partial::from_bytes(&bytes).expect("reads back");
        assert_eq!(back, partial);
        assert_eq!(
            back.results[0].pending_events_mean.to_bits(),
            (0.1f64 + 0.2).to_bits()
        );
    }

    #[test]
    fn damage_is_found() {
        let bytes = sample_partial().to_bytes();
        assert_eq!(
            Partial::from_bytes(&bytes[..bytes.len() - 10]),
            Err(PartialError::Truncated {
                have: bytes.len() - 10 - header_len(&bytes),
                want: bytes.len() - header_len(&bytes),
            })
        );
        let mut flipped = bytes.clone();
        let at = bytes.len() - 20;
        flipped[at] ^= 1;
        assert!(matches!(
            Partial::from_bytes(&flipped),
            Err(PartialError::Corrupt(m)) if m.contains("checksum")
        ));
        assert_eq!(
            Partial::from_bytes(b"[scenario]\nname = \"x\"\n"),
            Err(PartialError::NotPartial)
        );
        assert_eq!(
            Partial::from_bytes(b"planner-partial 9\n"),
            Err(PartialError::Format("9".into()))
        );
        // A body that checks out but holds another shard's tasks.
        let mut wrong = sample_partial();
        wrong.held = vec![0];
        assert!(matches!(
            Partial::from_bytes(&wrong.to_bytes()),
            Err(PartialError::Corrupt(m)) if m.contains("other tasks")
        ));
    }

    fn header_len(bytes: &[u8]) -> usize {
        let first = bytes.iter().position(|&b| b == b'\n').unwrap() + 1;
        first + bytes[first..].iter().position(|&b| b == b'\n').unwrap() + 1
    }
}
