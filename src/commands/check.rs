//! `planner check`: the scenario's Terway configuration lints; exit 2 on an error.

use std::fmt::Write as _;
use std::path::PathBuf;

use planner::scenario;

use super::{Failure, idle_fraction, print, read_input};

#[derive(clap::Args)]
pub struct CheckArgs {
    /// The scenario file (TOML).
    pub scenario: PathBuf,
    /// `text`: one finding per line; `json`: an array of {severity, code, key, line, message, fix}.
    #[arg(long, value_enum, default_value = "text")]
    pub format: CheckFormat,
    /// Fraction of a zone's addresses the idle pools may hold before `idle-pool-fraction` warns.
    #[arg(long, default_value_t = 0.2, value_name = "FRACTION")]
    pub idle_fraction: f64,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CheckFormat {
    Text,
    Json,
}

pub fn check_command(args: CheckArgs) -> Result<(), Failure> {
    use planner::lint;

    let options = idle_fraction(args.idle_fraction)?;
    let text = read_input(&args.scenario, "the scenario")?;
    let (scenario, warnings) = match scenario::parse(&args.scenario, &text) {
        Ok(parsed) => parsed,
        Err(error) => {
            if args.format == CheckFormat::Json {
                print(format!(
                    "{}\n",
                    lint::to_json(&[lint::invalid_scenario(&error)])
                ))?;
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
        CheckFormat::Json => print(format!("{}\n", lint::to_json(&findings)))?,
        CheckFormat::Text => {
            let mut text = String::new();
            for finding in &findings {
                let _ = writeln!(text, "{}", finding.display_in(&args.scenario));
            }
            let warnings = findings.len() - errors;
            if findings.is_empty() {
                let _ = writeln!(text, "{}: no findings", args.scenario.display());
            } else {
                let _ = writeln!(
                    text,
                    "{}: {errors} error{}, {warnings} warning{}",
                    args.scenario.display(),
                    if errors == 1 { "" } else { "s" },
                    if warnings == 1 { "" } else { "s" }
                );
            }
            let _ = writeln!(text, "{}", allocator_note(&scenario));
            print(text)?;
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

/// Which allocator the scenario simulates, since the answer differs by mode and new ACK clusters
/// run another one than Terway's code default.
fn allocator_note(scenario: &scenario::Scenario) -> String {
    use scenario::IpamType;
    let global = scenario.terway_configs[0].ipam;
    let pools: Vec<&str> = scenario
        .nodepools
        .iter()
        .filter(|pool| pool.terway.ipam.is_some_and(|ipam| ipam != global))
        .map(|pool| pool.name.as_str())
        .collect();
    let mut note = match global {
        IpamType::Centralized => "allocator: ipam_type = \"crd\", centralized IPAM in terway-controlplane (what new ACK clusters run)".to_string(),
        IpamType::Daemon => "allocator: ipam_type = \"\", the Terway daemon on each node (Terway's code default); new ACK clusters run \"crd\" (centralized IPAM): set [terway] ipam_type = \"crd\" if yours does (`kubectl -n kube-system get cm eni-config -o jsonpath='{.data.eni_conf}'` shows it)".to_string(),
    };
    if !pools.is_empty() {
        note.push_str(&format!(
            "; node pools with the other allocator: {}",
            pools.join(", ")
        ));
    }
    note
}
