//! `planner bench`: the engine's speed against a bare binary-heap loop.

use std::path::PathBuf;

use planner::scenario::Override;

use super::{CommonArgs, Failure, load, print};

#[derive(clap::Args)]
pub struct BenchArgs {
    /// The scenario to measure.
    #[arg(default_value = "scenarios/bench-large.toml")]
    pub scenario: PathBuf,
    /// Runs for the parallel speed-up (0 skips that pass).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(0..=1000))]
    pub runs: u32,
    /// Horizon to measure over (default: the scenario's).
    #[arg(long)]
    pub horizon: Option<String>,
    /// Pod-count factors to measure cost against (e.g. 1,2,4).
    #[arg(long, value_delimiter = ',', default_value = "1")]
    pub scale: Vec<u32>,
    /// The allocator to measure (`ipam_type`: "" for the daemon, `crd` for centralized IPAM;
    /// default: the scenario's).
    #[arg(long, value_name = "TYPE")]
    pub ipam_type: Option<String>,
    /// Times the single run and the hold loops are repeated; the best of each counts.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub repeat: u32,
}

pub fn bench(args: BenchArgs) -> Result<(), Failure> {
    let common = CommonArgs {
        runs: None,
        seed: None,
        out: None,
        threads: None,
        quiet: true,
        stats: false,
    };
    let mut overrides: Vec<Override> = args
        .horizon
        .iter()
        .map(|h| Override {
            key: "scenario.horizon".into(),
            value: h.clone(),
        })
        .collect();
    if let Some(ipam_type) = &args.ipam_type {
        overrides.push(Override {
            key: "terway.ipam_type".into(),
            value: ipam_type.clone(),
        });
    }
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
        print(planner::bench::format_report(&name, &report))?;
    }
    Ok(())
}
