//! `planner sweep`: the scenario once per combination of `--set` values, compared.

use std::path::{Path, PathBuf};

use planner::model::RunResult;
use planner::report;
use planner::scenario::{self, Override, Scenario};

use super::merge::{self, ShardArgs};
use super::{CommonArgs, Failure, Progress, load_text, output_dir, print, read_scenario};

#[derive(clap::Args)]
pub struct SweepArgs {
    /// The scenario file (TOML).
    pub scenario: PathBuf,
    /// Values to try for a key, e.g. terway.max_pool_size=0,5,10 or
    /// vswitch.vsw-aaa.cidr=10.0.0.0/24,10.0.0.0/22. Repeatable: every combination runs.
    #[arg(long = "set", value_name = "KEY=V1,V2,...", required = true)]
    pub sets: Vec<String>,
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(flatten)]
    pub shard: ShardArgs,
}

/// A sweep's points, built the same way by `sweep`, its shards and `merge`.
pub struct Points {
    /// The `--set` keys, one per axis.
    pub keys: Vec<String>,
    /// Each combination's overrides, the first axis varying slowest.
    pub combinations: Vec<Vec<Override>>,
    /// The scenario of each combination.
    pub scenarios: Vec<Scenario>,
}

impl Points {
    /// Every run of every point as (point, run index), in the order the runs are reported.
    pub fn tasks(&self) -> Vec<(usize, u32)> {
        self.scenarios
            .iter()
            .enumerate()
            .flat_map(|(point, s)| (0..s.runs).map(move |run| (point, run)))
            .collect()
    }
}

/// The values of each `--set`.
pub fn axes(sets: &[String]) -> Result<Vec<Vec<Override>>, Failure> {
    sets.iter()
        .map(|set| Override::parse_list(set).map_err(|e| Failure::input(format!("--set {e}"))))
        .collect()
}

/// The points of a sweep of `text` (read from `path`) over `axes`, with `--runs` and `--seed`.
pub fn points(
    path: &Path,
    text: &str,
    axes: &[Vec<Override>],
    runs: Option<u32>,
    seed: Option<u64>,
) -> Result<Points, Failure> {
    let combinations = planner::sweep::combinations(axes);
    if combinations.len() > 1000 {
        return Err(Failure::input(format!(
            "--set: {} combinations; at most 1000 run in one sweep",
            combinations.len()
        )));
    }
    let mut scenarios = Vec::with_capacity(combinations.len());
    for combination in &combinations {
        let (mut scenario, _) =
            scenario::parse_with_overrides(path, text, combination).map_err(Failure::input)?;
        if let Some(runs) = runs {
            scenario.runs = runs;
        }
        if let Some(seed) = seed {
            scenario.seed = seed;
        }
        scenarios.push(scenario);
    }
    Ok(Points {
        keys: axes.iter().map(|axis| axis[0].key.clone()).collect(),
        combinations,
        scenarios,
    })
}

pub fn sweep(args: SweepArgs) -> Result<(), Failure> {
    let shard = args.shard.shard()?;
    let axes = axes(&args.sets)?;
    let text = read_scenario(&args.scenario)?;
    let points = points(
        &args.scenario,
        &text,
        &axes,
        args.common.runs,
        args.common.seed,
    )?;
    // A sweep compares points at one run count, so `runs = "auto"` (which stops each scenario
    // when its own answer is sure) does not apply; say which count is used instead.
    if let (Some(auto), None) = (points.scenarios[0].auto_runs, args.common.runs) {
        eprintln!(
            "note: {}: a sweep does not run until sure (runs = \"auto\"); every combination runs max_runs = {} runs; pass --runs N to choose",
            args.scenario.display(),
            auto.max_runs
        );
    }
    Scenario::check_memory_of_sweep(&points.scenarios).map_err(Failure::input)?;
    // Warnings once, for the scenario as written.
    let base = load_text(&args.scenario, &text, &[], &args.common)?;
    if let Some(shard) = shard {
        return merge::sweep_shard(&args, shard, &text, &base.name, &points);
    }
    let out = output_dir(&args.common, default_out(&base.name), &args.scenario)?;
    let progress = Progress::new(&points.scenarios[0], &args.common)?;
    for scenario in &points.scenarios[1..] {
        progress.add(scenario);
    }
    let results = progress
        .pool
        .install(|| planner::sweep::run_points(&points.scenarios, &progress.callback()));
    progress.finish();
    write(&base.name, &points, &results, &out, args.common.quiet)
}

/// The sweep's report folder when `--out` is not given.
pub fn default_out(name: &str) -> PathBuf {
    Path::new("reports").join(format!("{name}-sweep"))
}

/// Writes `sweep.csv` and `sweep.png` from every point's runs, and prints the table.
pub fn write(
    name: &str,
    points: &Points,
    results: &[Vec<RunResult>],
    out: &Path,
    quiet: bool,
) -> Result<(), Failure> {
    let rows: Vec<report::SweepPoint> = points
        .combinations
        .iter()
        .zip(&points.scenarios)
        .zip(results)
        .map(|((combination, scenario), runs)| {
            let label = combination
                .iter()
                .map(|o| format!("{}={}", o.key, o.value))
                .collect::<Vec<_>>()
                .join(" ");
            report::sweep_point(label, scenario, runs)
        })
        .collect();
    let keys: Vec<&str> = points.keys.iter().map(String::as_str).collect();
    let values: Vec<Vec<&str>> = points
        .combinations
        .iter()
        .map(|c| c.iter().map(|o| o.value.as_str()).collect())
        .collect();
    let chart = report::png::sweep_chart(name, &rows)
        .map_err(|e| Failure::input(format!("cannot draw the chart: {e}")))?;
    let files = vec![
        ("sweep.csv", report::csv::sweep(&keys, &values, &rows)),
        ("sweep.png", chart),
    ];
    report::write_reports(out, &files).map_err(Failure::input)?;
    if !quiet {
        print(format!(
            "{}wrote {}/ (sweep.csv, sweep.png)\n",
            report::sweep_table(name, &rows),
            out.display()
        ))?;
    }
    Ok(())
}
