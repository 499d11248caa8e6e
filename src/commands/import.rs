//! `planner import`: kubectl and aliyun CLI output to a commented scenario.

use std::path::{Path, PathBuf};

use planner::scenario;

use super::{Failure, idle_fraction, print, read_input};

#[derive(clap::Args)]
pub struct ImportArgs {
    /// `kubectl -n kube-system get cm eni-config -o yaml` (or -o json, or only its eni_conf, or a
    /// manifest holding it).
    #[arg(long, value_name = "CM.yaml")]
    pub eni_config: PathBuf,
    /// `aliyun vpc DescribeVSwitches --VpcId vpc-...` (JSON).
    #[arg(long, value_name = "VSW.json")]
    pub vswitches: PathBuf,
    /// The ConfigMap to take from --eni-config when it holds several documents (default
    /// eni-config).
    #[arg(long, value_name = "NAME")]
    pub configmap: Option<String>,
    /// `kubectl get nodes -o json` (or -o yaml): today's nodes per zone, instance type and node
    /// pool.
    #[arg(long, value_name = "NODES.json")]
    pub nodes: Option<PathBuf>,
    /// `kubectl get pods -A -o json` (or -o yaml): today's pods, grouped by owner into workloads.
    #[arg(long, value_name = "PODS.json")]
    pub pods: Option<PathBuf>,
    /// `aliyun ecs DescribeInstanceTypes` (JSON): ENI limits of types not in the catalog.
    #[arg(long, value_name = "TYPES.json")]
    pub instance_types: Option<PathBuf>,
    /// `aliyun vpc DescribeSnatTableEntries --SnatTableId stb-...` (JSON): the SNAT table, so
    /// that `vswitch-without-snat` finds vSwitches whose pods cannot reach the internet.
    #[arg(long, value_name = "SNAT.json")]
    pub snat_entries: Option<PathBuf>,
    /// `terway-cli mapping` in each node's Terway pod: one file per node, or several nodes'
    /// outputs after `### node NAME` lines (repeatable, or several files after one flag). Idle
    /// addresses become known instead of counted in used_by_others.
    #[arg(long, value_name = "MAPPING.txt", num_args = 1..)]
    pub terway_mapping: Vec<PathBuf>,
    /// Cluster-wide growth in pods per day (linear), shared among the workloads in proportion
    /// to their pods today.
    #[arg(long, value_name = "N", conflicts_with = "growth_percent_per_day")]
    pub growth_per_day: Option<f64>,
    /// Growth of every workload in percent per day, compounded daily.
    #[arg(long, value_name = "P")]
    pub growth_percent_per_day: Option<f64>,
    /// The scenario's horizon.
    #[arg(long, default_value = "90d", value_name = "DURATION")]
    pub horizon: String,
    /// Where to write the scenario (default: standard output).
    #[arg(short = 'o', long = "output", value_name = "SCENARIO.toml")]
    pub output: Option<PathBuf>,
    /// Fraction of a zone's addresses the idle pools may hold before `idle-pool-fraction` warns.
    #[arg(long, default_value_t = 0.2, value_name = "FRACTION")]
    pub idle_fraction: f64,
}

pub fn import_command(args: ImportArgs) -> Result<(), Failure> {
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
        (
            args.snat_entries.as_ref(),
            "the DescribeSnatTableEntries output",
        ),
    ]
    .into_iter()
    .filter_map(|(path, what)| path.map(|p| (p.as_path(), what)))
    .chain(
        args.terway_mapping
            .iter()
            .map(|p| (p.as_path(), "the terway-cli mapping output")),
    )
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
    let mapping: Vec<Input> = args
        .terway_mapping
        .iter()
        .filter_map(|path| input_for(Some(path), &inputs, &texts))
        .collect();
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
        snat_entries: input_for(args.snat_entries.as_deref(), &inputs, &texts),
        terway_mapping: &mapping,
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
        configmap: args.configmap.clone(),
    };
    let imported = import::import(&sources, &options).map_err(Failure::input)?;
    let where_written = args
        .output
        .clone()
        .unwrap_or_else(|| PathBuf::from("<stdout>"));
    for (file, note) in &imported.notes {
        eprintln!("note: {}: {note}", file.display());
    }
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
            print(format!(
                "wrote {} ({} vSwitches, {} node pools, {} workloads); next: planner run {}\n",
                path.display(),
                s.vswitches.len(),
                s.nodepools.len(),
                s.workloads.len(),
                path.display()
            ))?;
        }
        None => print(&imported.toml)?,
    }
    Ok(())
}

/// The text read for an optional input file.
pub fn input_for<'a>(
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
pub fn contains_same(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}
