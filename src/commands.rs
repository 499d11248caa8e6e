//! The subcommands, one module each: flags, reading the inputs, calling the library, printing
//! and the exit code. What they share (the failure type, the options of `run` and `sweep`,
//! loading a scenario, the progress bar, writing to standard output) is here.

pub mod bench;
pub mod catalog;
pub mod check;
pub mod import;
pub mod merge;
pub mod run;
pub mod sweep;

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use planner::report;
use planner::scenario::{self, Override, Scenario, Warning};

/// Options `run` and `sweep` share.
#[derive(clap::Args)]
pub struct CommonArgs {
    /// Number of seeded runs (overrides `[scenario] runs`).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub runs: Option<u32>,
    /// Base seed (overrides `[scenario] seed`).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Report folder (default: reports/<scenario name>/, or reports/<name>-sweep/).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Worker threads (default: one per core). Results do not depend on it.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,
    /// No progress bar and no summary table.
    #[arg(long, short)]
    pub quiet: bool,
    /// Print events, events per second, peak memory and the time of each phase after the runs
    /// (also written to summary.json; these figures depend on the machine).
    #[arg(long)]
    pub stats: bool,
}

/// A failure with its exit code.
pub struct Failure {
    /// The exit code.
    pub code: u8,
    /// What to print after `error: `.
    pub message: String,
}

impl Failure {
    pub fn input(message: impl ToString) -> Self {
        Failure {
            code: 2,
            message: message.to_string(),
        }
    }
}

/// Writes `text` to standard output. A reader that has gone away (`planner catalog | head`)
/// is not an error: like other Unix tools, the command ends its output quietly and goes on to
/// its exit code.
pub fn print(text: impl AsRef<str>) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    match out
        .write_all(text.as_ref().as_bytes())
        .and_then(|()| out.flush())
    {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(Failure::input(format!(
            "cannot write to standard output: {e}"
        ))),
        _ => Ok(()),
    }
}

/// The scenario's lints on stderr, one line each (the same as `planner check` prints). A run
/// goes ahead even with error-level findings: Terway accepts such configs, and the model
/// behaves as Terway would.
pub fn print_findings(file: &Path, text: &str, scenario: &Scenario, warnings: &[Warning]) {
    let mut findings =
        planner::lint::check(scenario, warnings, &planner::lint::LintOptions::default());
    planner::lint::locate(&mut findings, text);
    for finding in &findings {
        eprintln!("{}", finding.display_in(file));
    }
}

/// Reads the scenario with overrides and the shared options applied.
pub fn load(path: &Path, overrides: &[Override], common: &CommonArgs) -> Result<Scenario, Failure> {
    load_text(path, &read_scenario(path)?, overrides, common)
}

/// The scenario file's text.
pub fn read_scenario(path: &Path) -> Result<String, Failure> {
    std::fs::read_to_string(path)
        .map_err(|e| Failure::input(format!("{}: cannot read the scenario: {e}", path.display())))
}

/// [`load`] from text already read (a shard keeps the text in its partial result).
pub fn load_text(
    path: &Path,
    text: &str,
    overrides: &[Override],
    common: &CommonArgs,
) -> Result<Scenario, Failure> {
    let (mut scenario, warnings) =
        scenario::parse_with_overrides(path, text, overrides).map_err(Failure::input)?;
    scenario::read_history(&mut scenario).map_err(Failure::input)?;
    print_findings(path, text, &scenario, &warnings);
    if let Some(runs) = common.runs {
        scenario.runs = runs;
        scenario.auto_runs = None;
    }
    if let Some(seed) = common.seed {
        scenario.seed = seed;
    }
    scenario.check_memory().map_err(Failure::input)?;
    Ok(scenario)
}

/// Checks the report folder before any work is done.
pub fn output_dir(
    common: &CommonArgs,
    default: PathBuf,
    scenario: &Path,
) -> Result<PathBuf, Failure> {
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

pub fn contains(dir: &Path, file: &Path) -> bool {
    match (dir.canonicalize(), file.canonicalize()) {
        (Ok(dir), Ok(file)) => file.starts_with(dir),
        _ => false,
    }
}

/// The worker pool and the progress bar, which counts simulated seconds over every run set
/// (the scenario's runs, then any verification re-runs), so one long run moves it too.
pub struct Progress {
    bar: ProgressBar,
    /// The worker threads runs go to.
    pub pool: rayon::ThreadPool,
}

impl Progress {
    pub fn new(scenario: &Scenario, common: &CommonArgs) -> Result<Self, Failure> {
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

    pub fn work(scenario: &Scenario) -> u64 {
        (u64::from(scenario.runs) * scenario.horizon_ms / 1000).max(1)
    }

    /// Counts a set of the scenario's runs as done (made elsewhere, by shards).
    pub fn done(&self, scenario: &Scenario) {
        self.bar.inc(Self::work(scenario));
    }

    /// Adds another set of the scenario's runs to the bar.
    pub fn add(&self, scenario: &Scenario) {
        self.bar.inc_length(Self::work(scenario));
    }

    pub fn callback(&self) -> impl Fn(u64) + Sync + '_ {
        |ms| self.bar.inc(ms / 1000)
    }

    pub fn run(&self, scenario: &Scenario) -> Vec<planner::model::RunResult> {
        self.pool
            .install(|| planner::sweep::run_all(scenario, &self.callback()))
    }

    pub fn run_checked(
        &self,
        scenario: &Scenario,
    ) -> Result<Vec<planner::model::RunResult>, Failure> {
        self.pool
            .install(|| planner::sweep::run_all_checked(scenario, &self.callback()))
            .map_err(|violation| self.violated(violation))
    }

    /// `runs = "auto"`: batches until sure, on the pool.
    pub fn run_until_sure(
        &self,
        scenario: &Scenario,
        settings: planner::scenario::AutoRuns,
        checked: bool,
    ) -> Result<(Vec<planner::model::RunResult>, planner::sweep::AutoOutcome), Failure> {
        self.bar.set_message(format!(
            "{}: runs until sure (at most {})",
            scenario.name, settings.max_runs
        ));
        let result = self
            .pool
            .install(|| {
                planner::sweep::run_until_sure(scenario, settings, checked, &self.callback())
            })
            .map_err(|violation| self.violated(violation))?;
        // The bar was sized for max_runs; what follows (verification, the pool what-if) is
        // added to the runs actually made, so it does not jump.
        self.bar.set_length(self.bar.position().max(1));
        self.bar
            .set_message(format!("{}: {} runs", scenario.name, result.1.runs));
        Ok(result)
    }

    fn violated(&self, violation: planner::model::InvariantViolation) -> Failure {
        self.finish();
        Failure {
            code: 3,
            message: violation.to_string(),
        }
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

pub fn idle_fraction(value: f64) -> Result<planner::lint::LintOptions, Failure> {
    if !(value.is_finite() && (0.0..=1.0).contains(&value)) {
        return Err(Failure::input(format!(
            "--idle-fraction must be between 0 and 1, got {value}"
        )));
    }
    Ok(planner::lint::LintOptions {
        idle_fraction: value,
    })
}

pub fn read_input(path: &Path, what: &str) -> Result<String, Failure> {
    std::fs::read_to_string(path)
        .map_err(|e| Failure::input(format!("{}: cannot read {what}: {e}", path.display())))
}
