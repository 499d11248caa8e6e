//! The `planner` command line: parses flags, reads the scenario, runs it with a progress bar,
//! prints the summary and writes the reports. All the work is in the library.
//!
//! Exit codes: 0 success; 2 invalid input or usage (clap uses 2 for usage errors as well);
//! 1 is kept for failed capacity gates; 3 means `--check-invariants` found a broken model
//! invariant (a bug in planner).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use planner::catalog;
use planner::plan;
use planner::report;
use planner::scenario::{self, Override, Scenario, Warning};

#[derive(Parser)]
#[command(
    name = "planner",
    version,
    about = "Simulate Terway pod address pools forward in time and plan vSwitch capacity"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a scenario's seeded runs, write reports and judge capacity gates.
    Run(RunArgs),
    /// Run a scenario for every combination of values and compare them.
    Sweep(SweepArgs),
    /// Measure the engine: events per second against a bare binary-heap loop, parallel
    /// speed-up, peak memory.
    Bench(BenchArgs),
    /// Write a scenario of today's cluster from kubectl and aliyun CLI output.
    Import(ImportArgs),
    /// Lint a scenario's Terway configuration; exits 2 when an error is found.
    Check(CheckArgs),
    /// List the built-in ECS instance types and their Terway pod capacity.
    Catalog {
        /// Show only this type (e.g. ecs.g7.xlarge).
        instance_type: Option<String>,
    },
}

#[derive(clap::Args)]
struct RunArgs {
    /// The scenario file (TOML).
    scenario: PathBuf,
    #[command(flatten)]
    common: CommonArgs,
    /// A capacity gate, overriding `[gates]`: min_time_to_shortage=30d,
    /// max_vswitch_utilization=0.85, max_pods_pending_ip=0 or percentile=90. Repeatable.
    #[arg(long = "gate", value_name = "KEY=VALUE")]
    gates: Vec<String>,
    /// Check the model's invariants after every event (slower). A violation is a bug in planner:
    /// it exits 3 naming the seed, run, simulated time and event.
    #[arg(long)]
    check_invariants: bool,
}

#[derive(clap::Args)]
struct SweepArgs {
    /// The scenario file (TOML).
    scenario: PathBuf,
    /// Values to try for a key, e.g. terway.max_pool_size=0,5,10 or
    /// vswitch.vsw-aaa.cidr=10.0.0.0/24,10.0.0.0/22. Repeatable: every combination runs.
    #[arg(long = "set", value_name = "KEY=V1,V2,...", required = true)]
    sets: Vec<String>,
    #[command(flatten)]
    common: CommonArgs,
}

#[derive(clap::Args)]
struct BenchArgs {
    /// The scenario to measure.
    #[arg(default_value = "scenarios/bench-large.toml")]
    scenario: PathBuf,
    /// Runs for the parallel speed-up (0 skips that pass).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(0..=1000))]
    runs: u32,
    /// Horizon to measure over (default: the scenario's).
    #[arg(long)]
    horizon: Option<String>,
    /// Pod-count factors to measure cost against (e.g. 1,2,4).
    #[arg(long, value_delimiter = ',', default_value = "1")]
    scale: Vec<u32>,
    /// Times the single run and the hold loops are repeated; the best of each counts.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=100))]
    repeat: u32,
}

/// Options `run` and `sweep` share.
#[derive(clap::Args)]
struct CommonArgs {
    /// Number of seeded runs (overrides `[scenario] runs`).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    runs: Option<u32>,
    /// Base seed (overrides `[scenario] seed`).
    #[arg(long)]
    seed: Option<u64>,
    /// Report folder (default: reports/<scenario name>/, or reports/<name>-sweep/).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Worker threads (default: one per core). Results do not depend on it.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    threads: Option<u16>,
    /// No progress bar and no summary table.
    #[arg(long, short)]
    quiet: bool,
    /// Print events, events per second and peak memory (also written to summary.json; these
    /// figures depend on the machine).
    #[arg(long)]
    stats: bool,
}

/// A failure with its exit code.
struct Failure {
    code: u8,
    message: String,
}

impl Failure {
    fn input(message: impl ToString) -> Self {
        Failure {
            code: 2,
            message: message.to_string(),
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => run(args),
        Command::Sweep(args) => sweep(args),
        Command::Bench(args) => bench(args),
        Command::Catalog { instance_type } => catalog_command(instance_type.as_deref()),
        Command::Import(args) => import_command(args),
        Command::Check(args) => check_command(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("error: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}

/// The scenario's lints on stderr, one line each (the same as `planner check` prints). A run
/// goes ahead even with error-level findings: Terway accepts such configs, and the model
/// behaves as Terway would.
fn print_findings(file: &Path, text: &str, scenario: &Scenario, warnings: &[Warning]) {
    let mut findings =
        planner::lint::check(scenario, warnings, &planner::lint::LintOptions::default());
    planner::lint::locate(&mut findings, text);
    for finding in &findings {
        eprintln!("{}", finding.display_in(file));
    }
}

/// Reads the scenario with overrides and the shared options applied.
fn load(path: &Path, overrides: &[Override], common: &CommonArgs) -> Result<Scenario, Failure> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Failure::input(format!("{}: cannot read the scenario: {e}", path.display()))
    })?;
    let (mut scenario, warnings) =
        scenario::parse_with_overrides(path, &text, overrides).map_err(Failure::input)?;
    print_findings(path, &text, &scenario, &warnings);
    if let Some(runs) = common.runs {
        scenario.runs = runs;
    }
    if let Some(seed) = common.seed {
        scenario.seed = seed;
    }
    scenario.check_memory().map_err(Failure::input)?;
    Ok(scenario)
}

/// Checks the report folder before any work is done.
fn output_dir(common: &CommonArgs, default: PathBuf, scenario: &Path) -> Result<PathBuf, Failure> {
    let out = common.out.clone().unwrap_or(default);
    report::check_output_dir(&out).map_err(Failure::input)?;
    if out.exists() && contains(&out, scenario) {
        return Err(Failure::input(format!(
            "{}: the scenario is inside the output folder, which the report replaces; choose another --out",
            out.display()
        )));
    }
    Ok(out)
}

fn run(args: RunArgs) -> Result<(), Failure> {
    let mut overrides = Vec::new();
    for gate in &args.gates {
        let o = Override::parse(gate).map_err(|e| Failure::input(format!("--gate {e}")))?;
        let known = [
            "percentile",
            "min_time_to_shortage",
            "max_vswitch_utilization",
            "max_pods_pending_ip",
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
    let scenario = load(&args.scenario, &overrides, &args.common)?;
    let out = output_dir(
        &args.common,
        Path::new("reports").join(&scenario.name),
        &args.scenario,
    )?;
    let progress = Progress::new(&scenario, &args.common)?;
    let started = std::time::Instant::now();
    let runs = if args.check_invariants {
        progress.run_checked(&scenario)?
    } else {
        progress.run(&scenario)
    };
    let elapsed_s = started.elapsed().as_secs_f64();
    let summary = report::summarize(&scenario, &runs);
    let stats = args.common.stats.then(|| report::ci::Stats {
        events: summary.events,
        wall_s: elapsed_s,
        threads: progress.pool.current_num_threads(),
        peak_memory_bytes: planner::bench::peak_memory_bytes(),
    });
    let mut recommendations = plan::recommend(&scenario, &runs);
    if !recommendations.is_empty() {
        progress.add(&scenario);
        progress
            .pool
            .install(|| plan::verify(&scenario, &mut recommendations, &progress.callback()));
    }
    let savings = if plan::pools_hold_idle(&scenario) {
        progress.add(&scenario);
        progress
            .pool
            .install(|| plan::pool_savings(&scenario, &runs, &progress.callback()))
    } else {
        Vec::new()
    };
    progress.finish();
    let gates = plan::judge(&scenario, &runs, &recommendations);
    let charts = report::png::charts(&scenario, &summary)
        .map_err(|e| Failure::input(format!("cannot draw the charts: {e}")))?;
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
        report::ci::summary_json(&scenario, &summary, plan),
    ));
    files.push(("summary.md", report::ci::summary_md(&summary, plan)));
    files.push(("junit.xml", report::ci::junit_xml(&summary, &gates)));
    files.extend(charts.iter().map(|(name, bytes)| (*name, bytes.clone())));
    report::write_reports(&out, &files).map_err(Failure::input)?;
    if !args.common.quiet {
        print!("{}", report::summary_table(&summary));
        print!("{}", report::plan_table(plan));
        println!("wrote {}/ ({} files)", out.display(), files.len());
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

fn sweep(args: SweepArgs) -> Result<(), Failure> {
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
        print!("{}", report::sweep_table(&base.name, &points));
        println!("wrote {}/ (sweep.csv, sweep.png)", out.display());
    }
    Ok(())
}

fn bench(args: BenchArgs) -> Result<(), Failure> {
    let common = CommonArgs {
        runs: None,
        seed: None,
        out: None,
        threads: None,
        quiet: true,
        stats: false,
    };
    let overrides: Vec<Override> = args
        .horizon
        .iter()
        .map(|h| Override {
            key: "scenario.horizon".into(),
            value: h.clone(),
        })
        .collect();
    let scenario = load(&args.scenario, &overrides, &common)?;
    for &factor in &args.scale {
        if factor == 0 || factor > 64 {
            return Err(Failure::input(format!(
                "--scale {factor}: use factors from 1 to 64"
            )));
        }
        let scaled = planner::bench::scaled(&scenario, factor);
        let name = format!("{} at {factor}x pods", scenario.name);
        eprintln!("measuring {name} ...");
        let report = planner::bench::bench(&scaled, args.runs, args.repeat);
        print!("{}", planner::bench::format_report(&name, &report));
    }
    Ok(())
}

fn contains(dir: &Path, file: &Path) -> bool {
    match (dir.canonicalize(), file.canonicalize()) {
        (Ok(dir), Ok(file)) => file.starts_with(dir),
        _ => false,
    }
}

/// The worker pool and the progress bar, which counts simulated seconds over every run set
/// (the scenario's runs, then any verification re-runs), so one long run moves it too.
struct Progress {
    bar: ProgressBar,
    pool: rayon::ThreadPool,
}

impl Progress {
    fn new(scenario: &Scenario, common: &CommonArgs) -> Result<Self, Failure> {
        let bar = ProgressBar::new(Self::work(scenario));
        if common.quiet || !std::io::stderr().is_terminal() {
            bar.set_draw_target(ProgressDrawTarget::hidden());
        }
        bar.set_style(
            ProgressStyle::with_template("{msg} [{bar:30}] {percent}%, {elapsed} (eta {eta})")
                .expect("valid template")
                .progress_chars("=> "),
        );
        bar.set_message(format!("{}: {} runs", scenario.name, scenario.runs));
        let mut pool = rayon::ThreadPoolBuilder::new();
        if let Some(threads) = common.threads {
            pool = pool.num_threads(usize::from(threads));
        }
        let pool = pool
            .build()
            .map_err(|e| Failure::input(format!("cannot start worker threads: {e}")))?;
        Ok(Progress { bar, pool })
    }

    fn work(scenario: &Scenario) -> u64 {
        (u64::from(scenario.runs) * scenario.horizon_ms / 1000).max(1)
    }

    /// Adds another set of the scenario's runs to the bar.
    fn add(&self, scenario: &Scenario) {
        self.bar.inc_length(Self::work(scenario));
    }

    fn callback(&self) -> impl Fn(u64) + Sync + '_ {
        |ms| self.bar.inc(ms / 1000)
    }

    fn run(&self, scenario: &Scenario) -> Vec<planner::model::RunResult> {
        self.pool
            .install(|| planner::sweep::run_all(scenario, &self.callback()))
    }

    fn run_checked(&self, scenario: &Scenario) -> Result<Vec<planner::model::RunResult>, Failure> {
        self.pool
            .install(|| planner::sweep::run_all_checked(scenario, &self.callback()))
            .map_err(|violation| {
                self.finish();
                Failure {
                    code: 3,
                    message: violation.to_string(),
                }
            })
    }

    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

fn catalog_command(instance_type: Option<&str>) -> Result<(), Failure> {
    let catalog = catalog::builtin();
    let types: Vec<&catalog::InstanceType> = match instance_type {
        Some(name) => match catalog.get(name) {
            Some(found) => vec![found],
            None => {
                let near = scenario::nearest_name(name, catalog.keys().map(String::as_str));
                let hint = near
                    .map(|n| format!("; did you mean `{n}`?"))
                    .unwrap_or_default();
                return Err(Failure::input(format!(
                    "unknown instance type `{name}`{hint} (run `planner catalog` for the list)"
                )));
            }
        },
        None => catalog.values().collect(),
    };
    println!(
        "{:<18} {:>5} {:>8} {:>5} {:>9} {:>8}",
        "instance type", "vCPU", "mem GiB", "ENIs", "IPv4/ENI", "max pods"
    );
    for t in &types {
        let flag = if t.ack_accepts() { "" } else { "  (!)" };
        println!(
            "{:<18} {:>5} {:>8} {:>5} {:>9} {:>8}{flag}",
            t.name,
            t.vcpu,
            t.memory_mib / 1024,
            t.eni_quantity,
            t.ipv4_per_eni,
            t.pod_capacity()
        );
    }
    let refused: Vec<&str> = types
        .iter()
        .filter(|t| !t.ack_accepts())
        .map(|t| t.name.as_str())
        .collect();
    if !refused.is_empty() {
        eprintln!(
            "warning: (!) pod capacity of {} or less: ACK does not add such nodes in ENI multi-IP mode ({})",
            catalog::ACK_MIN_POD_CAPACITY,
            refused.join(", ")
        );
    }
    println!(
        "max pods = (ENIs - 1) x IPv4 per ENI: eth0 takes no pods; every address on a secondary ENI, its primary included, can"
    );
    Ok(())
}

#[derive(clap::Args)]
struct ImportArgs {
    /// `kubectl -n kube-system get cm eni-config -o yaml` (or -o json).
    #[arg(long, value_name = "CM.yaml")]
    eni_config: PathBuf,
    /// `aliyun vpc DescribeVSwitches --VpcId vpc-...` (JSON).
    #[arg(long, value_name = "VSW.json")]
    vswitches: PathBuf,
    /// `kubectl get nodes -o json`: today's nodes per zone, instance type and node pool.
    #[arg(long, value_name = "NODES.json")]
    nodes: Option<PathBuf>,
    /// `kubectl get pods -A -o json`: today's pods, grouped by owner into workloads.
    #[arg(long, value_name = "PODS.json")]
    pods: Option<PathBuf>,
    /// `aliyun ecs DescribeInstanceTypes` (JSON): ENI limits of types not in the catalog.
    #[arg(long, value_name = "TYPES.json")]
    instance_types: Option<PathBuf>,
    /// Cluster-wide growth in pods per day (linear), shared among the workloads in proportion
    /// to their pods today.
    #[arg(long, value_name = "N", conflicts_with = "growth_percent_per_day")]
    growth_per_day: Option<f64>,
    /// Growth of every workload in percent per day, compounded daily.
    #[arg(long, value_name = "P")]
    growth_percent_per_day: Option<f64>,
    /// The scenario's horizon.
    #[arg(long, default_value = "90d", value_name = "DURATION")]
    horizon: String,
    /// Where to write the scenario (default: standard output).
    #[arg(short = 'o', long = "output", value_name = "SCENARIO.toml")]
    output: Option<PathBuf>,
    /// Fraction of a zone's addresses the idle pools may hold before `idle-pool-fraction` warns.
    #[arg(long, default_value_t = 0.2, value_name = "FRACTION")]
    idle_fraction: f64,
}

#[derive(clap::Args)]
struct CheckArgs {
    /// The scenario file (TOML).
    scenario: PathBuf,
    /// `text`: one finding per line; `json`: an array of {severity, code, key, line, message, fix}.
    #[arg(long, value_enum, default_value = "text")]
    format: CheckFormat,
    /// Fraction of a zone's addresses the idle pools may hold before `idle-pool-fraction` warns.
    #[arg(long, default_value_t = 0.2, value_name = "FRACTION")]
    idle_fraction: f64,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum CheckFormat {
    Text,
    Json,
}

fn idle_fraction(value: f64) -> Result<planner::lint::LintOptions, Failure> {
    if !(value.is_finite() && (0.0..=1.0).contains(&value)) {
        return Err(Failure::input(format!(
            "--idle-fraction must be between 0 and 1, got {value}"
        )));
    }
    Ok(planner::lint::LintOptions {
        idle_fraction: value,
    })
}

fn read_input(path: &Path, what: &str) -> Result<String, Failure> {
    std::fs::read_to_string(path)
        .map_err(|e| Failure::input(format!("{}: cannot read {what}: {e}", path.display())))
}

fn import_command(args: ImportArgs) -> Result<(), Failure> {
    use planner::import::{self, Growth, ImportOptions, Input, Sources};

    let growth = match (args.growth_per_day, args.growth_percent_per_day) {
        (Some(n), _) if !(n.is_finite() && n >= 0.0) => {
            return Err(Failure::input(format!(
                "--growth-per-day must be a number of pods, 0 or more, got {n}"
            )));
        }
        (_, Some(p)) if !(p.is_finite() && (0.0..=1000.0).contains(&p)) => {
            return Err(Failure::input(format!(
                "--growth-percent-per-day must be between 0 and 1000, got {p}"
            )));
        }
        (Some(n), _) => Growth::PerDay(n),
        (_, Some(p)) => Growth::PercentPerDay(p),
        (None, None) => Growth::None,
    };
    let horizon_ms = scenario::parse_duration_ms(&args.horizon)
        .map_err(|e| Failure::input(format!("--horizon: {e}")))?;
    if !(scenario::SECOND_MS..=3650 * scenario::DAY_MS).contains(&horizon_ms) {
        return Err(Failure::input(format!(
            "--horizon must be between 1s and 3650d, got {}",
            args.horizon
        )));
    }
    let lint = idle_fraction(args.idle_fraction)?;
    let inputs: Vec<(&Path, &str)> = [
        (Some(&args.eni_config), "the eni-config ConfigMap"),
        (Some(&args.vswitches), "the DescribeVSwitches output"),
        (args.nodes.as_ref(), "the nodes"),
        (args.pods.as_ref(), "the pods"),
        (
            args.instance_types.as_ref(),
            "the DescribeInstanceTypes output",
        ),
    ]
    .into_iter()
    .filter_map(|(path, what)| path.map(|p| (p.as_path(), what)))
    .collect();
    if let Some(output) = &args.output {
        for (path, _) in &inputs {
            if path == output || (output.exists() && contains_same(path, output)) {
                return Err(Failure::input(format!(
                    "{}: -o would overwrite an input file; choose another output",
                    output.display()
                )));
            }
        }
    }
    let texts: Vec<String> = inputs
        .iter()
        .map(|(path, what)| read_input(path, what))
        .collect::<Result<_, _>>()?;
    let sources = Sources {
        eni_config: Input {
            path: &args.eni_config,
            text: &texts[0],
        },
        vswitches: Input {
            path: &args.vswitches,
            text: &texts[1],
        },
        nodes: input_for(args.nodes.as_deref(), &inputs, &texts),
        pods: input_for(args.pods.as_deref(), &inputs, &texts),
        instance_types: input_for(args.instance_types.as_deref(), &inputs, &texts),
    };
    let shown = args
        .output
        .clone()
        .unwrap_or_else(|| PathBuf::from("imported.toml"));
    let options = ImportOptions {
        growth,
        horizon_ms,
        output: shown.clone(),
        lint,
    };
    let imported = import::import(&sources, &options).map_err(Failure::input)?;
    let where_written = args
        .output
        .clone()
        .unwrap_or_else(|| PathBuf::from("<stdout>"));
    for finding in &imported.findings {
        eprintln!("{}", finding.display_in(&where_written));
    }
    match &args.output {
        Some(path) => {
            std::fs::write(path, &imported.toml).map_err(|e| {
                Failure::input(format!(
                    "{}: cannot write the scenario: {e}",
                    path.display()
                ))
            })?;
            let s = &imported.scenario;
            println!(
                "wrote {} ({} vSwitches, {} node pools, {} workloads); next: planner run {}",
                path.display(),
                s.vswitches.len(),
                s.nodepools.len(),
                s.workloads.len(),
                path.display()
            );
        }
        None => print!("{}", imported.toml),
    }
    Ok(())
}

/// The text read for an optional input file.
fn input_for<'a>(
    path: Option<&'a Path>,
    inputs: &[(&Path, &str)],
    texts: &'a [String],
) -> Option<planner::import::Input<'a>> {
    let path = path?;
    let index = inputs.iter().position(|(p, _)| *p == path)?;
    Some(planner::import::Input {
        path,
        text: texts[index].as_str(),
    })
}

/// Whether two paths name the same existing file.
fn contains_same(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

fn check_command(args: CheckArgs) -> Result<(), Failure> {
    use planner::lint;

    let options = idle_fraction(args.idle_fraction)?;
    let text = read_input(&args.scenario, "the scenario")?;
    let (scenario, warnings) = match scenario::parse(&args.scenario, &text) {
        Ok(parsed) => parsed,
        Err(error) => {
            if args.format == CheckFormat::Json {
                println!("{}", lint::to_json(&[lint::invalid_scenario(&error)]));
            }
            return Err(Failure::input(error));
        }
    };
    let mut findings = lint::check(&scenario, &warnings, &options);
    lint::locate(&mut findings, &text);
    let errors = findings
        .iter()
        .filter(|f| f.severity == lint::Severity::Error)
        .count();
    match args.format {
        CheckFormat::Json => println!("{}", lint::to_json(&findings)),
        CheckFormat::Text => {
            for finding in &findings {
                println!("{}", finding.display_in(&args.scenario));
            }
            let warnings = findings.len() - errors;
            if findings.is_empty() {
                println!("{}: no findings", args.scenario.display());
            } else {
                println!(
                    "{}: {errors} error{}, {warnings} warning{}",
                    args.scenario.display(),
                    if errors == 1 { "" } else { "s" },
                    if warnings == 1 { "" } else { "s" }
                );
            }
        }
    }
    if errors > 0 {
        return Err(Failure::input(format!(
            "{}: {errors} error{} in the Terway configuration (see the findings above)",
            args.scenario.display(),
            if errors == 1 { "" } else { "s" }
        )));
    }
    Ok(())
}
