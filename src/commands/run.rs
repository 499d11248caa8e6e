//! `planner run`: a scenario's seeded runs, the reports, the recommendations and the gates.

use std::path::{Path, PathBuf};

use planner::plan;
use planner::report;
use planner::scenario::{self, Override};

use planner::model::RunResult;
use planner::scenario::Scenario;

use super::merge::{self, ShardArgs};
use super::{CommonArgs, Failure, Progress, load, output_dir, print};

#[derive(clap::Args)]
pub struct RunArgs {
    /// The scenario file (TOML).
    pub scenario: PathBuf,
    #[command(flatten)]
    pub common: CommonArgs,
    /// A capacity gate, overriding `[gates]`: min_time_to_shortage=30d,
    /// max_vswitch_utilization=0.85, max_pods_pending_ip=0, percentile=90 or confidence=0.95.
    /// Repeatable.
    #[arg(long = "gate", value_name = "KEY=VALUE")]
    pub gates: Vec<String>,
    /// Run until the planning percentile's first shortage is known to within this (e.g. 6h):
    /// sets `[scenario] precision` and `runs = "auto"`. Not with --runs.
    #[arg(long, value_name = "DURATION")]
    pub precision: Option<String>,
    /// Check the model's invariants after every event (slower). A violation is a bug in planner:
    /// it exits 3 naming the seed, run, simulated time and event.
    #[arg(long)]
    pub check_invariants: bool,
    #[command(flatten)]
    pub shard: ShardArgs,
    /// With --shard: run this shard's share of the follow-up re-runs (verification of the
    /// recommendations, the pool what-if) instead of the seeded runs, from every run partial
    /// (files, or folders of *.partial files). `planner merge` then takes these partials too.
    #[arg(long, value_name = "PARTIAL", num_args = 1.., requires = "shard_given")]
    pub follow_ups_of: Vec<PathBuf>,
}

/// Where `finish` gets the follow-up re-runs from.
pub enum FollowUps {
    /// Run them here, on the worker threads.
    Here,
    /// Made by shards: the verification runs and the pool what-if runs, in run order (empty
    /// when there is nothing to verify or no pool to compare).
    Made {
        verification: Vec<RunResult>,
        pool: Vec<RunResult>,
    },
}

pub fn run(args: RunArgs) -> Result<(), Failure> {
    let mut overrides = Vec::new();
    for gate in &args.gates {
        let o = Override::parse(gate).map_err(|e| Failure::input(format!("--gate {e}")))?;
        let known = [
            "percentile",
            "min_time_to_shortage",
            "max_vswitch_utilization",
            "max_pods_pending_ip",
            "confidence",
        ];
        if !known.contains(&o.key.as_str()) {
            let hint = scenario::nearest_name(&o.key, known)
                .map(|n| format!(", did you mean `{n}`?"))
                .unwrap_or_default();
            return Err(Failure::input(format!(
                "--gate {}: unknown gate `{}`{hint} (gates: {})",
                gate,
                o.key,
                known.join(", ")
            )));
        }
        overrides.push(Override {
            key: format!("gates.{}", o.key),
            value: o.value,
        });
    }
    if let Some(precision) = &args.precision {
        if args.common.runs.is_some() {
            return Err(Failure::input(
                "--precision runs until sure and --runs fixes the count: give one of them",
            ));
        }
        overrides.push(Override {
            key: "scenario.precision".into(),
            value: precision.clone(),
        });
        overrides.push(Override {
            key: "scenario.runs".into(),
            value: "auto".into(),
        });
    }
    if let Some(shard) = args.shard.shard()? {
        return merge::run_shard(&args, shard, &overrides);
    }
    let mut scenario = load(&args.scenario, &overrides, &args.common)?;
    let out = output_dir(
        &args.common,
        Path::new("reports").join(&scenario.name),
        &args.scenario,
    )?;
    let progress = Progress::new(&scenario, &args.common)?;
    let started = std::time::Instant::now();
    let (runs, auto_runs) = match scenario.auto_runs {
        Some(settings) => {
            let (runs, outcome) =
                progress.run_until_sure(&scenario, settings, args.check_invariants)?;
            // The follow-up re-runs use the same seeded runs as a fixed count would.
            scenario.runs = outcome.runs;
            (runs, Some(outcome))
        }
        None if args.check_invariants => (progress.run_checked(&scenario)?, None),
        None => (progress.run(&scenario), None),
    };
    let elapsed_s = started.elapsed().as_secs_f64();
    finish(
        &scenario,
        &runs,
        auto_runs,
        elapsed_s,
        &out,
        &args.common,
        &progress,
        FollowUps::Here,
    )
}

/// Everything after the seeded runs, for `planner run` and `planner merge` alike: the summary,
/// the recommendations and their verification, the pool what-if, the charts, the report folder,
/// the printed tables and the gates' exit code.
#[allow(clippy::too_many_arguments)]
pub fn finish(
    scenario: &Scenario,
    runs: &[RunResult],
    auto_runs: Option<planner::sweep::AutoOutcome>,
    elapsed_s: f64,
    out: &Path,
    common: &CommonArgs,
    progress: &Progress,
    follow_ups: FollowUps,
) -> Result<(), Failure> {
    let mut summary = report::summarize(scenario, runs);
    summary.auto_runs = auto_runs;
    // Verification re-runs, the pool what-if and the charts depend only on the runs and the
    // summary, not on each other, so they share the worker threads instead of waiting in turn;
    // each is deterministic, so the bytes do not depend on the order they finish in.
    let timed = |work: &mut dyn FnMut()| {
        let started = std::time::Instant::now();
        work();
        started.elapsed().as_secs_f64()
    };
    let mut recommendations = plan::recommend(scenario, runs);
    let pools_hold_idle = plan::pools_hold_idle(scenario);
    let here = matches!(follow_ups, FollowUps::Here);
    if here && !recommendations.is_empty() {
        progress.add(scenario);
    }
    if here && pools_hold_idle {
        progress.add(scenario);
    }
    let (verification_runs, pool_runs) = match follow_ups {
        FollowUps::Here => (None, None),
        FollowUps::Made { verification, pool } => (Some(verification), Some(pool)),
    };
    let mut savings = Vec::new();
    let mut charts = Ok(Vec::new());
    let ((verification_s, pool_s), charts_s) = progress.pool.install(|| {
        rayon::join(
            || {
                rayon::join(
                    || {
                        timed(&mut || match &verification_runs {
                            _ if recommendations.is_empty() => {}
                            Some(made) => plan::verified_by(&mut recommendations, made),
                            None => {
                                plan::verify(scenario, &mut recommendations, &progress.callback())
                            }
                        })
                    },
                    || {
                        timed(&mut || match &pool_runs {
                            _ if !pools_hold_idle => {}
                            Some(made) => {
                                savings = plan::pool_savings_against(scenario, runs, made)
                            }
                            None => {
                                savings = plan::pool_savings(scenario, runs, &progress.callback())
                            }
                        })
                    },
                )
            },
            || timed(&mut || charts = report::png::charts(scenario, &summary)),
        )
    });
    progress.finish();
    let stats = common.stats.then(|| report::ci::Stats {
        events: summary.events,
        wall_s: elapsed_s,
        threads: progress.pool.current_num_threads(),
        peak_memory_bytes: planner::bench::peak_memory_bytes(),
        phases: vec![
            report::ci::Phase {
                name: "verification",
                wall_s: verification_s,
            },
            report::ci::Phase {
                name: "pool what-if",
                wall_s: pool_s,
            },
            report::ci::Phase {
                name: "charts",
                wall_s: charts_s,
            },
        ],
    });
    let gates = plan::judge(scenario, runs, &recommendations);
    let charts = charts.map_err(|e| Failure::input(format!("cannot draw the charts: {e}")))?;
    let chart_names: Vec<&str> = charts.iter().map(|(name, _)| *name).collect();
    let plan = report::ci::Plan {
        recommendations: &recommendations,
        savings: &savings,
        gates: &gates,
        charts: &chart_names,
        stats: stats.as_ref(),
    };
    let mut files = report::csv::all(&summary);
    files.push((
        "recommendations.csv",
        report::ci::recommendations_csv(&recommendations),
    ));
    files.push((
        "summary.json",
        report::ci::summary_json(scenario, &summary, plan),
    ));
    files.push(("summary.md", report::ci::summary_md(&summary, plan)));
    files.push(("junit.xml", report::ci::junit_xml(&summary, &gates)));
    if let Some(runbook) = report::runbook::runbook_md(scenario, &recommendations) {
        files.push(("runbook.md", runbook));
    }
    files.extend(charts.iter().map(|(name, bytes)| (*name, bytes.clone())));
    report::write_reports(out, &files).map_err(Failure::input)?;
    if !common.quiet {
        print(format!(
            "{}{}wrote {}/ ({} files)\n",
            report::summary_table(&summary),
            report::plan_table(plan),
            out.display(),
            files.len()
        ))?;
    }
    if let Some(stats) = &stats {
        eprintln!("{}", stats.line());
    }
    let failed: Vec<&plan::GateResult> = gates.iter().filter(|g| !g.passed).collect();
    for gate in &failed {
        eprintln!("gate failed: {}: {}", gate.gate, gate.message);
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(Failure {
            code: 1,
            message: format!("{} of {} capacity gates failed", failed.len(), gates.len()),
        })
    }
}
