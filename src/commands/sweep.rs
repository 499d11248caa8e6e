//! `planner sweep`: the scenario once per combination of `--set` values, compared.

use std::path::{Path, PathBuf};

use planner::report;
use planner::scenario::{self, Override, Scenario};

use super::{CommonArgs, Failure, Progress, load, output_dir, print};

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
}

pub fn sweep(args: SweepArgs) -> Result<(), Failure> {
    let mut axes: Vec<Vec<Override>> = Vec::new();
    for set in &args.sets {
        let values = Override::parse_list(set).map_err(|e| Failure::input(format!("--set {e}")))?;
        axes.push(values);
    }
    let text = std::fs::read_to_string(&args.scenario).map_err(|e| {
        Failure::input(format!(
            "{}: cannot read the scenario: {e}",
            args.scenario.display()
        ))
    })?;
    let combinations = planner::sweep::combinations(&axes);
    if combinations.len() > 1000 {
        return Err(Failure::input(format!(
            "--set: {} combinations; at most 1000 run in one sweep",
            combinations.len()
        )));
    }
    let mut scenarios = Vec::with_capacity(combinations.len());
    for combination in &combinations {
        let (mut scenario, _) = scenario::parse_with_overrides(&args.scenario, &text, combination)
            .map_err(Failure::input)?;
        if let Some(runs) = args.common.runs {
            scenario.runs = runs;
        }
        if let Some(seed) = args.common.seed {
            scenario.seed = seed;
        }
        scenarios.push(scenario);
    }
    // A sweep compares points at one run count, so `runs = "auto"` (which stops each scenario
    // when its own answer is sure) does not apply; say which count is used instead.
    if let (Some(auto), None) = (scenarios[0].auto_runs, args.common.runs) {
        eprintln!(
            "note: {}: a sweep does not run until sure (runs = \"auto\"); every combination runs max_runs = {} runs; pass --runs N to choose",
            args.scenario.display(),
            auto.max_runs
        );
    }
    Scenario::check_memory_of_sweep(&scenarios).map_err(Failure::input)?;
    // Warnings once, for the scenario as written.
    let base = load(&args.scenario, &[], &args.common)?;
    let out = output_dir(
        &args.common,
        Path::new("reports").join(format!("{}-sweep", base.name)),
        &args.scenario,
    )?;
    let progress = Progress::new(&scenarios[0], &args.common)?;
    for scenario in &scenarios[1..] {
        progress.add(scenario);
    }
    let results = progress
        .pool
        .install(|| planner::sweep::run_points(&scenarios, &progress.callback()));
    progress.finish();
    let points: Vec<report::SweepPoint> = combinations
        .iter()
        .zip(&scenarios)
        .zip(&results)
        .map(|((combination, scenario), runs)| {
            let label = combination
                .iter()
                .map(|o| format!("{}={}", o.key, o.value))
                .collect::<Vec<_>>()
                .join(" ");
            report::sweep_point(label, scenario, runs)
        })
        .collect();
    let keys: Vec<&str> = axes.iter().map(|axis| axis[0].key.as_str()).collect();
    let values: Vec<Vec<&str>> = combinations
        .iter()
        .map(|c| c.iter().map(|o| o.value.as_str()).collect())
        .collect();
    let chart = report::png::sweep_chart(&base.name, &points)
        .map_err(|e| Failure::input(format!("cannot draw the chart: {e}")))?;
    let files = vec![
        ("sweep.csv", report::csv::sweep(&keys, &values, &points)),
        ("sweep.png", chart),
    ];
    report::write_reports(&out, &files).map_err(Failure::input)?;
    if !args.common.quiet {
        print(format!(
            "{}wrote {}/ (sweep.csv, sweep.png)\n",
            report::sweep_table(&base.name, &points),
            out.display()
        ))?;
    }
    Ok(())
}
