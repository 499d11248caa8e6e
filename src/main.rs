//! The `planner` command line: parses flags, reads the scenario, runs it with a progress bar,
//! prints the summary and writes the reports. All the work is in the library.
//!
//! Exit codes: 0 success; 2 invalid input or usage (clap uses 2 for usage errors as well);
//! 1 is kept for failed capacity gates.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use planner::catalog;
use planner::report;
use planner::scenario::{self, Scenario, Warning};

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
    /// Run a scenario's seeded runs and write reports.
    Run(RunArgs),
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
    /// Number of seeded runs (overrides `[scenario] runs`).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    runs: Option<u32>,
    /// Base seed (overrides `[scenario] seed`).
    #[arg(long)]
    seed: Option<u64>,
    /// Report folder (default: reports/<scenario name>/).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Worker threads (default: one per core). Results do not depend on it.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    threads: Option<u16>,
    /// No progress bar and no summary table.
    #[arg(long, short)]
    quiet: bool,
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
        Command::Catalog { instance_type } => catalog_command(instance_type.as_deref()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("error: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}

fn print_warnings(file: &Path, warnings: &[Warning]) {
    for warning in warnings {
        let line = warning.line.map(|l| format!(":{l}")).unwrap_or_default();
        eprintln!(
            "warning: {}{line}: {}: {}",
            file.display(),
            warning.key,
            warning.message
        );
    }
}

fn run(args: RunArgs) -> Result<(), Failure> {
    let (mut scenario, warnings) = scenario::load(&args.scenario).map_err(Failure::input)?;
    print_warnings(&args.scenario, &warnings);
    if let Some(runs) = args.runs {
        scenario.runs = runs;
    }
    if let Some(seed) = args.seed {
        scenario.seed = seed;
    }
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| Path::new("reports").join(&scenario.name));
    report::check_output_dir(&out).map_err(Failure::input)?;
    if out.exists() && contains(&out, &args.scenario) {
        return Err(Failure::input(format!(
            "{}: the scenario is inside the output folder, which the report replaces; choose another --out",
            out.display()
        )));
    }
    let runs = run_with_progress(&scenario, &args)?;
    let summary = report::summarize(&scenario, &runs);
    let files = report::csv::all(&summary);
    report::write_reports(&out, &files).map_err(Failure::input)?;
    if !args.quiet {
        print!("{}", report::summary_table(&summary));
        let names: Vec<&str> = files.iter().map(|(name, _)| *name).collect();
        println!("wrote {}/ ({})", out.display(), names.join(", "));
    }
    Ok(())
}

fn contains(dir: &Path, file: &Path) -> bool {
    match (dir.canonicalize(), file.canonicalize()) {
        (Ok(dir), Ok(file)) => file.starts_with(dir),
        _ => false,
    }
}

fn run_with_progress(
    scenario: &Scenario,
    args: &RunArgs,
) -> Result<Vec<planner::model::RunResult>, Failure> {
    // Progress counts simulated seconds over all runs, so one long run moves the bar too.
    let total_s = u64::from(scenario.runs) * scenario.horizon_ms / 1000;
    let bar = ProgressBar::new(total_s.max(1));
    if args.quiet || !std::io::stderr().is_terminal() {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {percent}%, {elapsed} (eta {eta})")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_message(format!("{}: {} runs", scenario.name, scenario.runs));
    let mut pool = rayon::ThreadPoolBuilder::new();
    if let Some(threads) = args.threads {
        pool = pool.num_threads(usize::from(threads));
    }
    let pool = pool
        .build()
        .map_err(|e| Failure::input(format!("cannot start worker threads: {e}")))?;
    let runs = pool.install(|| planner::sweep::run_all(scenario, &|ms| bar.inc(ms / 1000)));
    bar.finish_and_clear();
    Ok(runs)
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
