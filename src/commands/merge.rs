//! Sharding: `planner run --shard K/N` and `planner sweep --shard K/N` run one share of the
//! seeded runs and write a partial result (`planner::partial`); `planner run --shard K/N
//! --follow-ups-of RUN-PARTIALS` runs one share of the follow-up re-runs; `planner merge`
//! checks that the partials are every shard of one set and writes the report folder an
//! unsharded run would write.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use planner::model::RunResult;
use planner::partial::{self, Kind, PLANNER_VERSION, Partial, Shard, Source};
use planner::plan;
use planner::report;
use planner::scenario::{self, Override, Scenario};

use super::run::{self, FollowUps, RunArgs};
use super::sweep::{self as sweep_command, Points, SweepArgs};
use super::{
    CommonArgs, Failure, Progress, contains, load_text, print, print_findings, read_scenario,
};

/// `--shard K/N`, or its 0-based form for Kubernetes Indexed Jobs.
#[derive(clap::Args)]
#[group(id = "shard_given", multiple = true)]
pub struct ShardArgs {
    /// Run only shard K of N (K = 1..N): run i goes to shard i mod N + 1. Writes a partial
    /// result for `planner merge` to --out FILE (default reports/<name>.shard-K-of-N.partial;
    /// a folder, existing or ending in `/`, gets that name inside it) instead of the report
    /// folder.
    #[arg(long, value_name = "K/N", conflicts_with_all = ["shard_index", "shard_count"])]
    pub shard: Option<String>,
    /// --shard counted from 0, as a Kubernetes Indexed Job numbers its pods: --shard-index
    /// $(JOB_COMPLETION_INDEX) --shard-count N is --shard INDEX+1/N.
    #[arg(long, value_name = "INDEX", requires = "shard_count")]
    pub shard_index: Option<u32>,
    /// N, with --shard-index.
    #[arg(long, value_name = "N", requires = "shard_index")]
    pub shard_count: Option<u32>,
}

impl ShardArgs {
    /// The shard asked for, if any.
    pub fn shard(&self) -> Result<Option<Shard>, Failure> {
        match (&self.shard, self.shard_index, self.shard_count) {
            (Some(text), _, _) => Shard::parse(text)
                .map(Some)
                .map_err(|e| Failure::input(format!("--shard {e}"))),
            (None, Some(index), Some(n)) => Shard::new(index.saturating_add(1), n)
                .map(Some)
                .map_err(|e| {
                    Failure::input(format!(
                        "--shard-index {index} --shard-count {n}: the index counts from 0 to N-1 ({e})"
                    ))
                }),
            _ => Ok(None),
        }
    }
}

#[derive(clap::Args)]
pub struct MergeArgs {
    /// Partial results of every shard: files, or folders (every *.partial file in them). Run
    /// partials, with or without follow-up partials; or a sweep's partials.
    #[arg(required = true, value_name = "PARTIAL")]
    pub partials: Vec<PathBuf>,
    /// Report folder (default: reports/<scenario name>/, or reports/<name>-sweep/).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Worker threads for the follow-up re-runs the partials do not hold (default: one per
    /// core). Results do not depend on it.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,
    /// No progress bar and no summary table.
    #[arg(long, short)]
    pub quiet: bool,
}

/// One partial and the file it came from.
type File = (PathBuf, Partial);

/// `planner run --shard K/N`: this shard's seeded runs, or with `--follow-ups-of` its
/// follow-up runs, into a partial.
pub fn run_shard(args: &RunArgs, shard: Shard, overrides: &[Override]) -> Result<(), Failure> {
    let path = &args.scenario;
    if args.precision.is_some() {
        return Err(Failure::input(
            "--precision runs until sure, and when to stop depends on every run so far, which no shard has: give --runs N with --shard",
        ));
    }
    let text = read_scenario(path)?;
    let scenario = load_text(path, &text, overrides, &args.common)?;
    if scenario.auto_runs.is_some() {
        return Err(Failure::input(format!(
            "{}: scenario.runs: runs = \"auto\" cannot be sharded (when to stop depends on every run so far, which no shard has); give --runs N, for example the count an unsharded `planner run` took",
            path.display()
        )));
    }
    let source = Source {
        path: path.display().to_string(),
        text,
        overrides: overrides
            .iter()
            .map(|o| (o.key.clone(), o.value.clone()))
            .collect(),
        sets: Vec::new(),
        runs: args.common.runs,
        seed: args.common.seed,
    };
    if !args.follow_ups_of.is_empty() {
        return follow_up_shard(args, shard, scenario, source);
    }
    let out = partial_out(
        args.common.out.as_deref(),
        &format!("{}.shard-{}-of-{}.partial", scenario.name, shard.k, shard.n),
        path,
    )?;
    let held = shard.tasks(scenario.runs);
    let progress = progress_for(&scenario, held.len(), &args.common)?;
    let started = std::time::Instant::now();
    let results = progress.pool.install(|| {
        planner::sweep::run_indices(
            &scenario,
            &held,
            args.check_invariants,
            &progress.callback(),
        )
    });
    progress.finish();
    let results = results.map_err(|violation| Failure {
        code: 3,
        message: violation.to_string(),
    })?;
    print_stats(&args.common, &progress, &results, started);
    let partial = Partial {
        planner_version: PLANNER_VERSION.into(),
        kind: Kind::Runs,
        scenario_digest: partial::scenario_digest(std::slice::from_ref(&scenario)),
        seed: scenario.seed,
        runs: scenario.runs,
        tasks: scenario.runs,
        shard,
        held,
        source,
        follow_ups: None,
        results,
    };
    write_partial(&out, &partial, args.common.quiet)
}

/// The follow-up runs as (scenario, run index) tasks: one verification run per seeded run when
/// there are recommendations, then one pool what-if run per seeded run when pools hold idle
/// addresses. Every shard and merge build the same list from the same runs.
fn follow_up_tasks(
    scenario: &Scenario,
    recommendations: &[plan::Recommendation],
) -> (Vec<Scenario>, Vec<(usize, u32)>) {
    let mut points = Vec::new();
    let mut tasks = Vec::new();
    if !recommendations.is_empty() {
        points.push(plan::apply(scenario, recommendations));
        tasks.extend((0..scenario.runs).map(|run| (points.len() - 1, run)));
    }
    if plan::pools_hold_idle(scenario) {
        points.push(plan::without_pools(scenario));
        tasks.extend((0..scenario.runs).map(|run| (points.len() - 1, run)));
    }
    (points, tasks)
}

fn follow_up_shard(
    args: &RunArgs,
    shard: Shard,
    scenario: Scenario,
    source: Source,
) -> Result<(), Failure> {
    let mut files: Vec<File> = read_all(&args.follow_ups_of)?
        .into_iter()
        // Follow-up partials of an earlier attempt may share the folder: they are this
        // stage's output, not its input.
        .filter(|(_, p)| p.kind != Kind::FollowUps)
        .collect();
    if let Some((path, _)) = files.iter().find(|(_, p)| p.kind != Kind::Runs) {
        return Err(Failure::input(format!(
            "{}: a sweep's partial; --follow-ups-of takes the partials of `planner run --shard`",
            path.display()
        )));
    }
    if files.is_empty() {
        return Err(Failure::input(
            "--follow-ups-of: no partial of seeded runs among the files given",
        ));
    }
    check_versions(&files)?;
    let runs = complete(&mut files, Kind::Runs)?;
    let (first_path, first) = &files[0];
    same_as_scenario(
        first_path,
        first,
        &format!("{} with these flags", args.scenario.display()),
        &scenario,
    )?;
    check_shapes(&files, &runs, |_| (0, &scenario))?;
    let recommendations = plan::recommend(&scenario, &runs);
    let (points, all_tasks) = follow_up_tasks(&scenario, &recommendations);
    let total = all_tasks.len() as u32;
    let held = shard.tasks(total);
    let tasks: Vec<(usize, u32)> = held.iter().map(|&t| all_tasks[t as usize]).collect();
    let out = partial_out(
        args.common.out.as_deref(),
        &format!(
            "{}.follow-ups.shard-{}-of-{}.partial",
            scenario.name, shard.k, shard.n
        ),
        &args.scenario,
    )?;
    let progress = progress_for(&scenario, held.len(), &args.common)?;
    let started = std::time::Instant::now();
    let results = progress
        .pool
        .install(|| planner::sweep::run_tasks(&points, &tasks, &progress.callback()));
    progress.finish();
    print_stats(&args.common, &progress, &results, started);
    let partial = Partial {
        planner_version: PLANNER_VERSION.into(),
        kind: Kind::FollowUps,
        scenario_digest: first.scenario_digest.clone(),
        seed: scenario.seed,
        runs: scenario.runs,
        tasks: total,
        shard,
        held,
        source,
        follow_ups: Some(partial::FollowUps {
            recommendations_digest: partial::digest(&recommendations),
            verification: !recommendations.is_empty(),
            pool: plan::pools_hold_idle(&scenario),
        }),
        results,
    };
    write_partial(&out, &partial, args.common.quiet)
}

/// `planner sweep --shard K/N`: this shard's runs of the sweep's points, into a partial.
pub fn sweep_shard(
    args: &SweepArgs,
    shard: Shard,
    text: &str,
    name: &str,
    points: &Points,
) -> Result<(), Failure> {
    let all_tasks = points.tasks();
    let held = shard.tasks(all_tasks.len() as u32);
    let tasks: Vec<(usize, u32)> = held.iter().map(|&t| all_tasks[t as usize]).collect();
    let out = partial_out(
        args.common.out.as_deref(),
        &format!("{name}-sweep.shard-{}-of-{}.partial", shard.k, shard.n),
        &args.scenario,
    )?;
    let first = &points.scenarios[0];
    let progress = progress_for(first, held.len(), &args.common)?;
    let started = std::time::Instant::now();
    let results = progress
        .pool
        .install(|| planner::sweep::run_tasks(&points.scenarios, &tasks, &progress.callback()));
    progress.finish();
    print_stats(&args.common, &progress, &results, started);
    let partial = Partial {
        planner_version: PLANNER_VERSION.into(),
        kind: Kind::Sweep,
        scenario_digest: partial::scenario_digest(&points.scenarios),
        seed: first.seed,
        runs: first.runs,
        tasks: all_tasks.len() as u32,
        shard,
        held,
        source: Source {
            path: args.scenario.display().to_string(),
            text: text.to_string(),
            overrides: Vec::new(),
            sets: args.sets.clone(),
            runs: args.common.runs,
            seed: args.common.seed,
        },
        follow_ups: None,
        results,
    };
    write_partial(&out, &partial, args.common.quiet)
}

/// With `--stats`, the stats line of this shard's runs (a shard has no later phases).
fn print_stats(
    common: &CommonArgs,
    progress: &Progress,
    results: &[RunResult],
    started: std::time::Instant,
) {
    if common.stats {
        let stats = report::ci::Stats {
            events: results.iter().map(|r| r.events).sum(),
            wall_s: started.elapsed().as_secs_f64(),
            threads: progress.pool.current_num_threads(),
            peak_memory_bytes: planner::bench::peak_memory_bytes(),
            phases: Vec::new(),
        };
        eprintln!("{}", stats.line());
    }
}

/// A progress bar sized for `held` runs of the scenario.
fn progress_for(
    scenario: &Scenario,
    held: usize,
    common: &CommonArgs,
) -> Result<Progress, Failure> {
    let mut share = scenario.clone();
    share.runs = held as u32;
    Progress::new(&share, common)
}

/// Where a shard writes its partial, checked before any work: `--out` (a file, or a folder to
/// put `name` in) or `reports/NAME`. Only a partial is ever replaced, never the scenario.
fn partial_out(out: Option<&Path>, name: &str, scenario: &Path) -> Result<PathBuf, Failure> {
    let path = match out {
        Some(out) if out.is_dir() || out.as_os_str().to_string_lossy().ends_with('/') => {
            out.join(name)
        }
        Some(out) => out.to_path_buf(),
        None => Path::new("reports").join(name),
    };
    let refuse = |why: &str| {
        Err(Failure::input(format!(
            "{}: {why}; choose another --out",
            path.display()
        )))
    };
    if path.is_dir() {
        return refuse("is a folder");
    }
    if let (Ok(a), Ok(b)) = (path.canonicalize(), scenario.canonicalize())
        && a == b
    {
        return refuse("is the scenario");
    }
    if path.exists() {
        let head = std::fs::read(&path).unwrap_or_default();
        if !head.starts_with(partial::MAGIC.as_bytes()) {
            return refuse("exists and is not a planner partial result; refusing to replace it");
        }
    }
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(|e| {
        Failure::input(format!("{}: cannot create its folder: {e}", path.display()))
    })?;
    Ok(path)
}

/// Writes the partial beside its place and renames it there, so a reader never sees half a
/// file under the final name.
fn write_partial(path: &Path, partial: &Partial, quiet: bool) -> Result<(), Failure> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let staging = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    let error = |e: std::io::Error| {
        let _ = std::fs::remove_file(&staging);
        Failure::input(format!(
            "{}: cannot write the partial result: {e}",
            path.display()
        ))
    };
    std::fs::write(&staging, partial.to_bytes()).map_err(error)?;
    std::fs::rename(&staging, path).map_err(error)?;
    if !quiet {
        print(format!(
            "wrote {} (shard {}: {} of {} {})\n",
            path.display(),
            partial.shard,
            partial.held.len(),
            partial.tasks,
            partial.kind.describe()
        ))?;
    }
    Ok(())
}

/// Reads every partial named: files, and the `*.partial` files of folders, in name order.
fn read_all(paths: &[PathBuf]) -> Result<Vec<File>, Failure> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|e| Failure::input(format!("{}: cannot list: {e}", path.display())))?
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "partial"))
                .collect();
            if found.is_empty() {
                return Err(Failure::input(format!(
                    "{}: no *.partial file in this folder",
                    path.display()
                )));
            }
            found.sort();
            files.extend(found);
        } else {
            files.push(path.clone());
        }
    }
    files
        .into_iter()
        .map(|file| {
            let bytes = std::fs::read(&file)
                .map_err(|e| Failure::input(format!("{}: cannot read: {e}", file.display())))?;
            let partial = Partial::from_bytes(&bytes)
                .map_err(|e| Failure::input(format!("{}: {e}", file.display())))?;
            Ok((file, partial))
        })
        .collect()
}

/// Merge computes the summary and the plan itself, so it takes only its own version's runs.
fn check_versions(files: &[File]) -> Result<(), Failure> {
    for (path, p) in files {
        if p.planner_version != PLANNER_VERSION {
            return Err(Failure::input(format!(
                "{}: written by planner {}, and this is planner {PLANNER_VERSION}: merge with the planner that ran the shards, or run them again",
                path.display(),
                p.planner_version
            )));
        }
    }
    Ok(())
}

/// Checks that `files` (all of `kind`) are every shard of one set, once each, and returns
/// their results in task order, moved out of the partials (a merge holds every run once, as an
/// unsharded run does).
fn complete(files: &mut [File], kind: Kind) -> Result<Vec<RunResult>, Failure> {
    let what = kind.describe();
    let mut order: Vec<&File> = files.iter().collect();
    order.sort_by_key(|(path, p)| (p.shard.k, path.clone()));
    let (first_path, first) = order[0];
    let differs = |path: &Path, mine: String, theirs: String| {
        Err(Failure::input(format!(
            "{}: {mine}, but {}: {theirs}; these are not shards of one run (the same scenario file, flags and planner), so they cannot be merged",
            path.display(),
            first_path.display(),
        )))
    };
    for &(path, p) in &order[1..] {
        if p.seed != first.seed {
            return differs(
                path,
                format!("seed {}", p.seed),
                format!("seed {}", first.seed),
            );
        }
        if p.runs != first.runs || p.tasks != first.tasks {
            let count = |p: &Partial| format!("{} runs ({} {what} in all)", p.runs, p.tasks);
            return differs(path, count(p), count(first));
        }
        if p.scenario_digest != first.scenario_digest {
            return differs(
                path,
                format!(
                    "a partial of another scenario (digest {}...)",
                    short(&p.scenario_digest)
                ),
                format!("digest {}...", short(&first.scenario_digest)),
            );
        }
        if p.follow_ups != first.follow_ups {
            return differs(
                path,
                "follow-ups of other recommendations".into(),
                "others".into(),
            );
        }
        if p.shard.n != first.shard.n {
            return differs(
                path,
                format!("shard {}", p.shard),
                format!("shard {}", first.shard),
            );
        }
    }
    let n = first.shard.n;
    let mut by_shard: BTreeMap<u32, &Path> = BTreeMap::new();
    for &(path, p) in &order {
        if let Some(other) = by_shard.insert(p.shard.k, path) {
            return Err(Failure::input(format!(
                "{}: shard {} of the {what} is given twice (also {}); give each shard once",
                path.display(),
                p.shard,
                other.display()
            )));
        }
    }
    let missing: Vec<u32> = (1..=n).filter(|k| !by_shard.contains_key(k)).collect();
    if !missing.is_empty() {
        let listed: Vec<String> = missing.iter().take(20).map(u32::to_string).collect();
        let more = if missing.len() > 20 {
            format!(" and {} more", missing.len() - 20)
        } else {
            String::new()
        };
        return Err(Failure::input(format!(
            "missing shard{} {}{more} of {n} of the {what} (given: {}); merge needs every shard",
            if missing.len() == 1 { "" } else { "s" },
            listed.join(", "),
            order
                .iter()
                .map(|(path, p)| format!("{} {}", p.shard, path.display()))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let mut results: Vec<Option<RunResult>> = vec![None; first.tasks as usize];
    for (_, p) in files.iter_mut() {
        for (&task, result) in p.held.iter().zip(std::mem::take(&mut p.results)) {
            results[task as usize] = Some(result);
        }
    }
    Ok(results
        .into_iter()
        .map(|r| r.expect("every task is held by its shard"))
        .collect())
}

fn short(digest: &str) -> &str {
    &digest[..digest.len().min(12)]
}

/// The partial's shard with the lowest K: the one whose scenario path the report names.
fn lowest(files: &[File]) -> &File {
    files
        .iter()
        .min_by_key(|(path, p)| (p.shard.k, path.clone()))
        .expect("at least one partial")
}

/// The scenario a run partial carries, rebuilt as `planner run` loaded it and checked against
/// its digest.
fn rebuild(path: &Path, p: &Partial) -> Result<(Scenario, Vec<scenario::Warning>), Failure> {
    let overrides: Vec<Override> = p
        .source
        .overrides
        .iter()
        .map(|(key, value)| Override {
            key: key.clone(),
            value: value.clone(),
        })
        .collect();
    let (mut scenario, warnings) =
        scenario::parse_with_overrides(Path::new(&p.source.path), &p.source.text, &overrides)
            .map_err(|e| {
                Failure::input(format!(
                    "{}: the scenario it carries does not read: {e}",
                    path.display()
                ))
            })?;
    if let Some(runs) = p.source.runs {
        scenario.runs = runs;
        scenario.auto_runs = None;
    }
    if let Some(seed) = p.source.seed {
        scenario.seed = seed;
    }
    if partial::scenario_digest(std::slice::from_ref(&scenario)) != p.scenario_digest
        || scenario.runs != p.runs
        || scenario.seed != p.seed
    {
        return Err(Failure::input(format!(
            "{}: corrupt: the scenario it carries does not match its digest",
            path.display()
        )));
    }
    Ok((scenario, warnings))
}

/// Refuses a partial made from another scenario, seed or run count than `scenario`, which is
/// `against` (for the message).
fn same_as_scenario(
    path: &Path,
    p: &Partial,
    against: &str,
    scenario: &Scenario,
) -> Result<(), Failure> {
    let refuse = |mine: String, theirs: String| {
        Err(Failure::input(format!(
            "{}: {mine}, but {against}: {theirs}; runs and follow-ups must come from one scenario file, flags and seed",
            path.display()
        )))
    };
    if p.seed != scenario.seed {
        return refuse(
            format!("seed {}", p.seed),
            format!("seed {}", scenario.seed),
        );
    }
    if p.runs != scenario.runs {
        return refuse(
            format!("{} runs", p.runs),
            format!("{} runs", scenario.runs),
        );
    }
    let digest = partial::scenario_digest(std::slice::from_ref(scenario));
    if p.scenario_digest != digest {
        return refuse(
            format!(
                "a partial of another scenario (digest {}...)",
                short(&p.scenario_digest)
            ),
            format!("digest {}...", short(&digest)),
        );
    }
    Ok(())
}

/// The file of a complete set that held task `task`.
fn holder(files: &[File], task: usize) -> &Path {
    let k = Shard::of(task as u32, files[0].1.shard.n);
    files
        .iter()
        .find(|(_, p)| p.shard.k == k)
        .map(|(path, _)| path.as_path())
        .expect("every shard of a complete set")
}

/// Refuses runs (in task order) whose shape does not fit the scenario of their point, so that
/// reading them cannot index out of bounds, or that sample at other times than the point's
/// other runs; names the file that held them.
fn check_shapes<'s>(
    files: &[File],
    runs: &[RunResult],
    point_of: impl Fn(usize) -> (usize, &'s Scenario),
) -> Result<(), Failure> {
    let mut times: BTreeMap<usize, &Vec<u64>> = BTreeMap::new();
    for (task, run) in runs.iter().enumerate() {
        let (point, scenario) = point_of(task);
        let corrupt =
            |e: String| Failure::input(format!("{}: corrupt: {e}", holder(files, task).display()));
        partial::check_shape(scenario, run).map_err(corrupt)?;
        let first = times.entry(point).or_insert(&run.samples.times_ms);
        if **first != run.samples.times_ms {
            return Err(corrupt(format!(
                "run {} samples at other times than the others",
                run.run_index
            )));
        }
    }
    Ok(())
}

/// The report folder, checked before any work; it may not hold a partial it would replace.
fn merge_out<'f>(
    common: &CommonArgs,
    default: PathBuf,
    files: impl IntoIterator<Item = &'f File>,
) -> Result<PathBuf, Failure> {
    let out = common.out.clone().unwrap_or(default);
    report::check_output_dir(&out).map_err(Failure::input)?;
    if let Some((path, _)) = files.into_iter().find(|(path, _)| contains(&out, path)) {
        return Err(Failure::input(format!(
            "{}: the partial {} is inside the output folder, which the report replaces; choose another --out",
            out.display(),
            path.display()
        )));
    }
    Ok(out)
}

/// `planner merge`.
pub fn merge(args: MergeArgs) -> Result<(), Failure> {
    let files = read_all(&args.partials)?;
    check_versions(&files)?;
    let common = CommonArgs {
        runs: None,
        seed: None,
        out: args.out,
        threads: args.threads,
        quiet: args.quiet,
        stats: false,
    };
    let (sweeps, files): (Vec<File>, Vec<File>) =
        files.into_iter().partition(|(_, p)| p.kind == Kind::Sweep);
    if !sweeps.is_empty() {
        if let Some((path, p)) = files.first() {
            return Err(Failure::input(format!(
                "{}: {} cannot be merged with a sweep's partials ({})",
                path.display(),
                p.kind.describe(),
                sweeps[0].0.display()
            )));
        }
        return merge_sweep(sweeps, &common);
    }
    let (mut run_files, mut follow_up_files): (Vec<File>, Vec<File>) =
        files.into_iter().partition(|(_, p)| p.kind == Kind::Runs);
    if run_files.is_empty() {
        return Err(Failure::input(
            "no partial of seeded runs given: merge needs every shard of `planner run --shard` (the follow-up partials only add to them)",
        ));
    }
    let runs = complete(&mut run_files, Kind::Runs)?;
    let (first_path, first) = lowest(&run_files);
    let (scenario, warnings) = rebuild(first_path, first)?;
    check_shapes(&run_files, &runs, |_| (0, &scenario))?;
    scenario.check_memory().map_err(Failure::input)?;
    let follow_ups = if follow_up_files.is_empty() {
        FollowUps::Here
    } else {
        let made = complete(&mut follow_up_files, Kind::FollowUps)?;
        let (path, p) = lowest(&follow_up_files);
        same_as_scenario(
            path,
            p,
            &format!("the run partials ({})", first_path.display()),
            &scenario,
        )?;
        let recommendations = plan::recommend(&scenario, &runs);
        let expected = partial::FollowUps {
            recommendations_digest: partial::digest(&recommendations),
            verification: !recommendations.is_empty(),
            pool: plan::pools_hold_idle(&scenario),
        };
        if p.follow_ups.as_ref() != Some(&expected) {
            return Err(Failure::input(format!(
                "{}: follow-ups of other recommendations than the run partials give; make them with --follow-ups-of these run partials",
                path.display()
            )));
        }
        let (points, tasks) = follow_up_tasks(&scenario, &recommendations);
        if tasks.len() != made.len() {
            return Err(Failure::input(format!(
                "{}: corrupt: {} follow-up runs, {} expected",
                path.display(),
                made.len(),
                tasks.len()
            )));
        }
        check_shapes(&follow_up_files, &made, |task| {
            (tasks[task].0, &points[tasks[task].0])
        })?;
        let runs_each = scenario.runs as usize;
        let (verification, pool) = if expected.verification {
            let mut made = made;
            let pool = made.split_off(runs_each);
            (made, pool)
        } else {
            (Vec::new(), made)
        };
        FollowUps::Made { verification, pool }
    };
    let out = merge_out(
        &common,
        Path::new("reports").join(&scenario.name),
        run_files.iter().chain(&follow_up_files),
    )?;
    // The lints `planner run` prints, so the merge's output is the run's.
    let source = &lowest(&run_files).1.source;
    print_findings(Path::new(&source.path), &source.text, &scenario, &warnings);
    let progress = Progress::new(&scenario, &common)?;
    progress.done(&scenario);
    run::finish(
        &scenario, &runs, None, 0.0, &out, &common, &progress, follow_ups,
    )
}

fn merge_sweep(mut files: Vec<File>, common: &CommonArgs) -> Result<(), Failure> {
    let made = complete(&mut files, Kind::Sweep)?;
    let (first_path, first) = lowest(&files);
    let path = Path::new(&first.source.path);
    let corrupt =
        |what: String| Failure::input(format!("{}: corrupt: {what}", first_path.display()));
    let axes = sweep_command::axes(&first.source.sets)
        .map_err(|e| corrupt(format!("its --set does not read: {}", e.message)))?;
    let points = sweep_command::points(
        path,
        &first.source.text,
        &axes,
        first.source.runs,
        first.source.seed,
    )
    .map_err(|e| {
        corrupt(format!(
            "the scenario it carries does not read: {}",
            e.message
        ))
    })?;
    if partial::scenario_digest(&points.scenarios) != first.scenario_digest {
        return Err(corrupt(
            "the scenario it carries does not match its digest".into(),
        ));
    }
    let tasks = points.tasks();
    if tasks.len() != made.len() {
        return Err(corrupt(format!(
            "{} sweep runs, {} expected",
            made.len(),
            tasks.len()
        )));
    }
    check_shapes(&files, &made, |task| {
        (tasks[task].0, &points.scenarios[tasks[task].0])
    })?;
    let mut grouped: Vec<Vec<RunResult>> = points.scenarios.iter().map(|_| Vec::new()).collect();
    for (&(point, _), run) in tasks.iter().zip(made) {
        grouped[point].push(run);
    }
    Scenario::check_memory_of_sweep(&points.scenarios).map_err(Failure::input)?;
    let (base, warnings) = scenario::parse(path, &first.source.text)
        .map_err(|e| corrupt(format!("the scenario it carries does not read: {e}")))?;
    let out = merge_out(common, sweep_command::default_out(&base.name), &files)?;
    print_findings(path, &first.source.text, &base, &warnings);
    sweep_command::write(&base.name, &points, &grouped, &out, common.quiet)
}
