//! The `planner` command line: flags, exit codes and wiring. Each subcommand is a module of
//! [`commands`]; all the work is in the library.
//!
//! Exit codes: 0 success; 2 invalid input or usage (clap uses 2 for usage errors as well);
//! 1 is kept for failed capacity gates; 3 means `--check-invariants` found a broken model
//! invariant (a bug in planner).

mod commands;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use commands::{bench, catalog, check, import, merge, run, sweep};

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
    Run(run::RunArgs),
    /// Run a scenario for every combination of values and compare them.
    Sweep(sweep::SweepArgs),
    /// Merge the partial results of `run --shard K/N` (or `sweep --shard K/N`) into the report
    /// folder one unsharded run writes.
    Merge(merge::MergeArgs),
    /// Measure the engine: events per second against a bare binary-heap loop, parallel
    /// speed-up, peak memory.
    Bench(bench::BenchArgs),
    /// Write a scenario of today's cluster from kubectl and aliyun CLI output.
    Import(import::ImportArgs),
    /// Lint a scenario's Terway configuration; exits 2 when an error is found.
    Check(check::CheckArgs),
    /// List the built-in ECS instance types and their Terway pod capacity.
    Catalog {
        /// Show only this type (e.g. ecs.g7.xlarge).
        instance_type: Option<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => run::run(args),
        Command::Sweep(args) => sweep::sweep(args),
        Command::Merge(args) => merge::merge(args),
        Command::Bench(args) => bench::bench(args),
        Command::Catalog { instance_type } => catalog::catalog_command(instance_type.as_deref()),
        Command::Import(args) => import::import_command(args),
        Command::Check(args) => check::check_command(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("error: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}
