//! `planner import`: kubectl and aliyun CLI output to a commented scenario.

use std::path::{Path, PathBuf};

use planner::scenario;

use super::{Failure, idle_fraction, print, read_input};

#[derive(clap::Args)]
pub struct ImportArgs {
    /// `kubectl -n kube-system get cm eni-config -o yaml` (or -o json, or only its eni_conf, or a
    /// manifest or List holding it). Repeatable: later files (and other ConfigMaps with an
    /// eni_conf in the first, e.g. `kubectl -n kube-system get cm -o yaml`) are node pools' own
    /// Terway configs, which nodes name with the `terway-config` label.
    #[arg(long, value_name = "CM.yaml", required = true, num_args = 1..)]
    pub eni_config: Vec<PathBuf>,
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
    /// `aliyun vpc ListVSwitchCidrReservations --RegionId ... --VSwitchId vsw-...` (JSON), one
    /// per vSwitch with reserved blocks: the blocks IP prefix mode takes /28s from. Repeatable.
    #[arg(long, value_name = "RESERVATIONS.json")]
    pub cidr_reservations: Vec<PathBuf>,
    /// `kubectl get podnetworkings -o yaml` (or -o json): Terway's PodNetworkings, written as
    /// [[podnetworking]]; the pods they select (or that name one in the
    /// k8s.aliyun.com/pod-networking annotation) get `podnetworking`. Repeatable.
    #[arg(long, value_name = "PN.yaml")]
    pub podnetworkings: Vec<PathBuf>,
    /// `kubectl get ns -o json` (or -o yaml): the namespaces' labels, which PodNetworking
    /// namespace selectors match (without it only kubernetes.io/metadata.name is known).
    #[arg(long, value_name = "NS.json")]
    pub namespaces: Option<PathBuf>,
    /// Cluster-wide growth in pods per day (linear), shared among the workloads in proportion
    /// to their pods today.
    #[arg(long, value_name = "N", conflicts_with = "growth_percent_per_day")]
    pub growth_per_day: Option<f64>,
    /// Growth of every workload in percent per day, compounded daily.
    #[arg(long, value_name = "P")]
    pub growth_percent_per_day: Option<f64>,
    /// Pods per workload (or zone) over the past weeks, to fit the growth to: a Prometheus range
    /// query's answer (`curl .../api/v1/query_range`, or `promtool query range -o json`) or a
    /// `time,series,value` CSV; repeatable. Needs -o: the points fitted are kept beside the
    /// scenario for `planner run` to draw.
    #[arg(long, value_name = "FILE")]
    pub history: Vec<PathBuf>,
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
    if !args.history.is_empty() {
        if growth != Growth::None {
            return Err(Failure::input(
                "--history fits the growth to the past, and --growth-per-day or --growth-percent-per-day would replace it: give one or the other",
            ));
        }
        if args.output.is_none() {
            return Err(Failure::input(
                "--history needs -o SCENARIO.toml: the points fitted are written beside the scenario (SCENARIO.history.csv), which names them in `[scenario] history` for `planner run` to draw",
            ));
        }
    }
    let horizon_ms = scenario::parse_duration_ms(&args.horizon)
        .map_err(|e| Failure::input(format!("--horizon: {e}")))?;
    if !(scenario::SECOND_MS..=3650 * scenario::DAY_MS).contains(&horizon_ms) {
        return Err(Failure::input(format!(
            "--horizon must be between 1s and 3650d, got {}",
            args.horizon
        )));
    }
    let lint = idle_fraction(args.idle_fraction)?;
    let mut inputs: Vec<(&Path, &str)> = [
        (Some(&args.eni_config[0]), "the eni-config ConfigMap"),
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
        (args.namespaces.as_ref(), "the namespaces"),
    ]
    .into_iter()
    .filter_map(|(path, what)| path.map(|p| (p.as_path(), what)))
    .chain(
        args.cidr_reservations
            .iter()
            .map(|p| (p.as_path(), "the ListVSwitchCidrReservations output")),
    )
    .chain(
        args.eni_config[1..]
            .iter()
            .map(|p| (p.as_path(), "a node pool's Terway ConfigMap")),
    )
    .chain(
        args.terway_mapping
            .iter()
            .map(|p| (p.as_path(), "the terway-cli mapping output")),
    )
    .chain(
        args.podnetworkings
            .iter()
            .map(|p| (p.as_path(), "the PodNetworkings")),
    )
    .collect();
    inputs.extend(args.history.iter().map(|p| (p.as_path(), "the history")));
    let sidecar = args.output.as_ref().map(|output| {
        output
            .parent()
            .unwrap_or(Path::new(""))
            .join(import::history_file_name(output))
    });
    if let Some(sidecar) = sidecar.as_ref().filter(|_| !args.history.is_empty()) {
        for (path, _) in &inputs {
            if path == sidecar || (sidecar.exists() && contains_same(path, sidecar)) {
                return Err(Failure::input(format!(
                    "{}: -o would overwrite this input with the history it keeps beside the scenario; choose another output",
                    sidecar.display()
                )));
            }
        }
    }
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
    let history: Vec<Input> = args
        .history
        .iter()
        .filter_map(|p| input_for(Some(p), &inputs, &texts))
        .collect();
    let mapping: Vec<Input> = args
        .terway_mapping
        .iter()
        .filter_map(|path| input_for(Some(path), &inputs, &texts))
        .collect();
    let more_eni_configs: Vec<Input> = args.eni_config[1..]
        .iter()
        .filter_map(|p| input_for(Some(p), &inputs, &texts))
        .collect();
    let cidr_reservations: Vec<Input> = args
        .cidr_reservations
        .iter()
        .filter_map(|p| input_for(Some(p), &inputs, &texts))
        .collect();
    let podnetworkings: Vec<Input> = args
        .podnetworkings
        .iter()
        .filter_map(|p| input_for(Some(p), &inputs, &texts))
        .collect();
    let sources = Sources {
        podnetworkings: &podnetworkings,
        namespaces: input_for(args.namespaces.as_deref(), &inputs, &texts),
        more_eni_configs: &more_eni_configs,
        cidr_reservations: &cidr_reservations,
        eni_config: Input {
            path: &args.eni_config[0],
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
        history: &history,
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
            // The history first, so a scenario never names a file that is not there.
            if let (Some(text), Some(sidecar)) = (&imported.history, &sidecar) {
                std::fs::write(sidecar, text).map_err(|e| {
                    Failure::input(format!(
                        "{}: cannot write the history: {e}",
                        sidecar.display()
                    ))
                })?;
            }
            std::fs::write(path, &imported.toml).map_err(|e| {
                Failure::input(format!(
                    "{}: cannot write the scenario: {e}",
                    path.display()
                ))
            })?;
            let s = &imported.scenario;
            let history = match (&imported.history, &sidecar) {
                (Some(_), Some(sidecar)) => format!(" and {}", sidecar.display()),
                _ => String::new(),
            };
            print(format!(
                "wrote {}{history} ({} vSwitches, {} node pools, {} workloads); next: planner run {}\n",
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
