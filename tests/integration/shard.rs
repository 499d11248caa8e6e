//! Sharded runs: `planner run --shard K/N` and `planner sweep --shard K/N` write partials,
//! `planner merge` writes what one unsharded run writes, byte for byte, and refuses partials that
//! are not every shard of one run. The shipped manifests' own commands are run locally as N
//! processes and merged.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use saphyr::{LoadableYamlNode, Yaml};

use crate::util::{Scratch, code, planner, root, scenario, stderr, stdout};

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_planner")
}

/// Runs planner in `dir` (so relative paths in the commands resolve there).
fn planner_in(dir: &Path, args: &[String]) -> Output {
    Command::new(bin())
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run planner")
}

/// Every file of a folder, by name.
fn folder(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let entry = entry.expect("entry");
            (
                entry.file_name().to_string_lossy().into_owned(),
                std::fs::read(entry.path()).expect("read report file"),
            )
        })
        .collect()
}

fn assert_same_folder(expected: &Path, actual: &Path, what: &str) {
    let (a, b) = (folder(expected), folder(actual));
    assert_eq!(
        a.keys().collect::<Vec<_>>(),
        b.keys().collect::<Vec<_>>(),
        "{what}: the same files"
    );
    for (name, bytes) in &a {
        assert!(bytes == &b[name], "{what}: {name} differs");
    }
}

/// The runs of a small scenario: burst's shortage on day 2, so there are recommendations to
/// verify, pools for the what-if and a gate that fails.
fn small_scenario(scratch: &Scratch) -> PathBuf {
    let text = std::fs::read_to_string(scenario("burst.toml")).expect("burst.toml");
    scratch.write(
        "small.toml",
        &text.replace("horizon = \"4d\"", "horizon = \"2d 12h\""),
    )
}

const RUN_FLAGS: [&str; 4] = ["--runs", "5", "--gate", "min_time_to_shortage=30d"];

#[test]
fn shards_merged_write_the_unsharded_report_byte_for_byte() {
    let scratch = Scratch::new("shard-run");
    let s = small_scenario(&scratch);
    let s = s.to_str().unwrap();
    let base = scratch.path("base");
    let mut args = vec!["run", s, "--out", base.to_str().unwrap()];
    args.extend(RUN_FLAGS);
    let unsharded = planner(&args);
    assert_eq!(
        code(&unsharded),
        1,
        "the gate fails: {}",
        stderr(&unsharded)
    );
    for n in [1u32, 2, 3, 7] {
        let parts = scratch.path(&format!("parts-{n}"));
        for k in 1..=n {
            let out = parts.join(format!("p{k}.partial"));
            let shard = format!("{k}/{n}");
            let mut args = vec!["run", s, "--shard", &shard, "--out", out.to_str().unwrap()];
            args.extend(RUN_FLAGS);
            let output = planner(&args);
            assert_eq!(code(&output), 0, "shard {shard}: {}", stderr(&output));
            // Run i goes to shard i mod N + 1: 5 runs over 7 shards leave 6 and 7 empty.
            let held = (0..5).filter(|i| i % n + 1 == k).count();
            assert!(
                stdout(&output).contains(&format!("(shard {shard}: {held} of 5 seeded runs)")),
                "{}",
                stdout(&output)
            );
        }
        // The merge writes the report under the same name, so stdout compares too.
        let merged = planner(&[
            "merge",
            parts.to_str().unwrap(),
            "--out",
            base.to_str().unwrap(),
        ]);
        let again = scratch.path(&format!("merged-{n}"));
        std::fs::rename(&base, &again).expect("move the merged report");
        assert_eq!(code(&merged), 1, "N = {n}: {}", stderr(&merged));
        assert_eq!(stdout(&merged), stdout(&unsharded), "N = {n}: stdout");
        // The scenario's lints and the failed gate, as the run printed them.
        assert!(stderr(&merged).contains("gate failed: min_time_to_shortage"));
        assert!(stderr(&merged).contains("warning[single-vswitch]"));
        assert_eq!(stderr(&merged), stderr(&unsharded), "N = {n}: stderr");
        let rerun = planner(&args);
        assert_eq!(code(&rerun), 1);
        assert_same_folder(&base, &again, &format!("N = {n}"));
    }
}

#[test]
fn follow_ups_made_by_shards_give_the_same_report() {
    let scratch = Scratch::new("shard-follow-ups");
    let s = small_scenario(&scratch);
    let s = s.to_str().unwrap();
    let base = scratch.path("base");
    let mut args = vec!["run", s, "--out", base.to_str().unwrap()];
    args.extend(RUN_FLAGS);
    let unsharded = planner(&args);
    let parts = scratch.path("parts/");
    let follow = scratch.path("follow/");
    for k in 1..=2 {
        let shard = format!("{k}/2");
        let mut args = vec![
            "run",
            s,
            "--shard",
            &shard,
            "--out",
            parts.to_str().unwrap(),
        ];
        args.extend(RUN_FLAGS);
        assert_eq!(code(&planner(&args)), 0);
    }
    // Another split for the follow-ups: 5 verification and 5 pool runs over 3 shards.
    for k in 1..=3 {
        let shard = format!("{k}/3");
        let mut args = vec!["run", s, "--shard", &shard, "--follow-ups-of"];
        args.push(parts.to_str().unwrap());
        args.extend(["--out", follow.to_str().unwrap()]);
        args.extend(RUN_FLAGS);
        let output = planner(&args);
        assert_eq!(code(&output), 0, "{}", stderr(&output));
        let held = [4, 3, 3][k - 1];
        assert!(
            stdout(&output).contains(&format!("(shard {shard}: {held} of 10 follow-up runs)")),
            "{}",
            stdout(&output)
        );
    }
    let merged_dir = scratch.path("merged");
    let merged = planner(&[
        "merge",
        parts.to_str().unwrap(),
        follow.to_str().unwrap(),
        "--out",
        merged_dir.to_str().unwrap(),
    ]);
    assert_eq!(code(&merged), 1, "{}", stderr(&merged));
    assert_eq!(
        stdout(&merged).replace(merged_dir.to_str().unwrap(), base.to_str().unwrap()),
        stdout(&unsharded)
    );
    assert_same_folder(&base, &merged_dir, "follow-ups from shards");
    // Follow-ups of other runs (another seed) are refused.
    let other = scratch.path("other/");
    let mut args = vec!["run", s, "--shard", "1/1", "--seed", "9", "--out"];
    args.push(other.to_str().unwrap());
    args.extend(RUN_FLAGS);
    assert_eq!(code(&planner(&args)), 0);
    let mut args = vec!["run", s, "--shard", "1/1", "--seed", "9", "--follow-ups-of"];
    args.extend([other.to_str().unwrap(), "--out", other.to_str().unwrap()]);
    args.extend(RUN_FLAGS);
    assert_eq!(code(&planner(&args)), 0);
    let follow_other = other.join("burst.follow-ups.shard-1-of-1.partial");
    let refused = planner(&[
        "merge",
        parts.to_str().unwrap(),
        follow_other.to_str().unwrap(),
        "--out",
        scratch.path("never").to_str().unwrap(),
    ]);
    assert_eq!(code(&refused), 2, "{}", stderr(&refused));
    assert!(stderr(&refused).contains("seed 9"), "{}", stderr(&refused));
    assert!(!scratch.path("never").exists());
}

#[test]
fn sweep_shards_merged_write_the_unsharded_sweep() {
    let scratch = Scratch::new("shard-sweep");
    let s = small_scenario(&scratch);
    let s = s.to_str().unwrap();
    let flags = ["--set", "terway.max_pool_size=0,5", "--runs", "2"];
    let base = scratch.path("base");
    let mut args = vec!["sweep", s, "--out", base.to_str().unwrap()];
    args.extend(flags);
    let unsharded = planner(&args);
    assert_eq!(code(&unsharded), 0, "{}", stderr(&unsharded));
    for n in [1u32, 2, 3, 7] {
        let parts = scratch.path(&format!("parts-{n}/"));
        for k in 1..=n {
            let shard = format!("{k}/{n}");
            let mut args = vec![
                "sweep",
                s,
                "--shard",
                &shard,
                "--out",
                parts.to_str().unwrap(),
            ];
            args.extend(flags);
            let output = planner(&args);
            assert_eq!(code(&output), 0, "{}", stderr(&output));
        }
        let merged = planner(&[
            "merge",
            parts.to_str().unwrap(),
            "--out",
            base.to_str().unwrap(),
        ]);
        assert_eq!(code(&merged), 0, "{}", stderr(&merged));
        assert_eq!(stdout(&merged), stdout(&unsharded), "N = {n}");
        assert_eq!(stderr(&merged), stderr(&unsharded), "N = {n}: stderr");
        let again = scratch.path(&format!("merged-{n}"));
        std::fs::rename(&base, &again).expect("move");
        assert_eq!(code(&planner(&args)), 0);
        assert_same_folder(&base, &again, &format!("sweep, N = {n}"));
    }
}

/// Writes shard `k` of `n` of the small scenario with extra flags into `dir`.
fn shard(scratch: &Scratch, s: &Path, k: u32, n: u32, extra: &[&str], name: &str) -> PathBuf {
    let out = scratch.path(name);
    let shard = format!("{k}/{n}");
    let mut args = vec![
        "run",
        s.to_str().unwrap(),
        "--shard",
        &shard,
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend(extra);
    if !extra.contains(&"--runs") {
        args.extend(["--runs", "3"]);
    }
    let output = planner(&args);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    out
}

/// Rewrites a partial's body and seals it again with a valid checksum, as a planner of another
/// version (or a tampering hand) would.
fn edit_body(path: &Path, from: &str, to: &str) {
    let bytes = std::fs::read(path).expect("partial");
    let body = planner::partial::unseal(&bytes).expect("a sound partial");
    let text = String::from_utf8(body.to_vec()).expect("utf-8");
    assert!(text.contains(from), "{from} in the body");
    std::fs::write(
        path,
        planner::partial::seal(text.replacen(from, to, 1).as_bytes()),
    )
    .expect("write");
}

#[test]
fn merge_refuses_what_is_not_every_shard_of_one_run() {
    let scratch = Scratch::new("shard-refusals");
    let s = small_scenario(&scratch);
    let p1 = shard(&scratch, &s, 1, 3, &[], "p1.partial");
    let p2 = shard(&scratch, &s, 2, 3, &[], "p2.partial");
    let p3 = shard(&scratch, &s, 3, 3, &[], "p3.partial");
    let other_seed = shard(&scratch, &s, 2, 3, &["--seed", "2"], "seed.partial");
    let other_runs = shard(&scratch, &s, 2, 3, &["--runs", "4"], "runs.partial");
    let other_gate = shard(
        &scratch,
        &s,
        2,
        3,
        &["--gate", "max_pods_pending_ip=5"],
        "gate.partial",
    );
    let text = std::fs::read_to_string(&s).unwrap();
    let other = scratch.write(
        "other.toml",
        &text.replace("max_nodes = 40", "max_nodes = 41"),
    );
    let other_scenario = shard(&scratch, &other, 2, 3, &[], "scenario.partial");
    let copy = |from: &Path, name: &str| {
        let to = scratch.path(name);
        std::fs::copy(from, &to).expect("copy");
        to
    };
    let version = copy(&p2, "version.partial");
    edit_body(
        &version,
        "\"planner_version\":\"",
        "\"planner_version\":\"0.0.0-other",
    );
    // Sealed again after the edit, so only what the body says can give it away.
    let tampered_runs = copy(&p2, "tampered-runs.partial");
    edit_body(&tampered_runs, "\"times_ms\":[0,", "\"times_ms\":[");
    let tampered_scenario = copy(&p1, "tampered-scenario.partial");
    edit_body(&tampered_scenario, "max_nodes = 40", "max_nodes = 39");
    let twice = copy(&p2, "twice.partial");
    let truncated = copy(&p2, "truncated.partial");
    let bytes = std::fs::read(&p2).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let corrupt = copy(&p2, "corrupt.partial");
    let mut flipped = bytes.clone();
    let at = bytes.len() - 100;
    flipped[at] = if flipped[at] == b'1' { b'2' } else { b'1' };
    std::fs::write(&corrupt, &flipped).unwrap();
    let cases: Vec<(&str, Vec<&Path>, Vec<&str>)> = vec![
        (
            "another scenario",
            vec![&p1, &other_scenario, &p3],
            vec!["scenario.partial", "another scenario"],
        ),
        (
            "another gate",
            vec![&p1, &other_gate, &p3],
            vec!["gate.partial", "another scenario"],
        ),
        (
            "another seed",
            vec![&p1, &other_seed, &p3],
            vec!["seed.partial", "seed 2"],
        ),
        (
            "another run count",
            vec![&p1, &other_runs, &p3],
            vec!["runs.partial", "4 runs"],
        ),
        (
            "another planner version",
            vec![&p1, &version, &p3],
            vec!["version.partial", "planner 0.0.0-other"],
        ),
        (
            "a missing shard",
            vec![&p1, &p3],
            vec!["missing shard 2 of 3"],
        ),
        (
            "missing shards",
            vec![&p2],
            vec!["missing shards 1, 3 of 3"],
        ),
        (
            "a duplicated shard",
            vec![&p1, &p2, &twice, &p3],
            vec!["twice.partial", "shard 2/3", "given twice"],
        ),
        (
            "a truncated partial",
            vec![&p1, &truncated, &p3],
            vec!["truncated.partial", "truncated"],
        ),
        (
            "a corrupt partial",
            vec![&p1, &corrupt, &p3],
            vec!["corrupt.partial", "corrupt", "checksum"],
        ),
        (
            "runs of another shape than the scenario",
            vec![&p1, &tampered_runs, &p3],
            vec!["tampered-runs.partial", "corrupt", "samples"],
        ),
        (
            "a scenario that does not match its digest",
            vec![&tampered_scenario, &p2, &p3],
            vec!["tampered-scenario.partial", "does not match its digest"],
        ),
        (
            "not a partial",
            vec![&p1, &s, &p2, &p3],
            vec!["small.toml", "not a planner partial"],
        ),
    ];
    let out = scratch.path("report");
    for (what, files, expected) in cases {
        let mut args = vec!["merge"];
        args.extend(files.iter().map(|f| f.to_str().unwrap()));
        args.extend(["--out", out.to_str().unwrap()]);
        let output = planner(&args);
        assert_eq!(code(&output), 2, "{what}: {}", stderr(&output));
        let message = stderr(&output);
        assert_eq!(message.lines().count(), 1, "{what}: one line: {message}");
        for part in expected {
            assert!(message.contains(part), "{what}: `{part}` in {message}");
        }
        assert!(!out.exists(), "{what}: nothing written");
    }
    // The three good ones merge.
    let output = planner(&[
        "merge",
        p3.to_str().unwrap(),
        p1.to_str().unwrap(),
        p2.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert!(out.join("summary.json").exists());
    // A merge never replaces a folder holding its partials.
    let inside = scratch.path("inside");
    std::fs::create_dir_all(&inside).unwrap();
    let moved = inside.join("p1.partial");
    std::fs::copy(&p1, &moved).unwrap();
    let output = planner(&[
        "merge",
        moved.to_str().unwrap(),
        p2.to_str().unwrap(),
        p3.to_str().unwrap(),
        "--out",
        inside.to_str().unwrap(),
    ]);
    assert_eq!(code(&output), 2);
    assert!(moved.exists());
}

#[test]
fn shards_may_read_the_scenario_from_other_paths() {
    let scratch = Scratch::new("shard-paths");
    let s = small_scenario(&scratch);
    let text = std::fs::read_to_string(&s).unwrap();
    std::fs::create_dir_all(scratch.path("elsewhere")).unwrap();
    // Another path, and a comment more: the same scenario as the runs see it.
    let moved = scratch.write("elsewhere/copy.toml", &format!("# a copy\n{text}"));
    let p1 = shard(&scratch, &s, 1, 2, &[], "p1.partial");
    let p2 = shard(&scratch, &moved, 2, 2, &[], "p2.partial");
    let out = scratch.path("merged");
    let output = planner(&[
        "merge",
        p2.to_str().unwrap(),
        p1.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    // summary.json names the path shard 1 was given, as its unsharded run would.
    let base = scratch.path("base");
    assert_eq!(
        code(&planner(&[
            "run",
            s.to_str().unwrap(),
            "--runs",
            "3",
            "--quiet",
            "--out",
            base.to_str().unwrap()
        ])),
        0
    );
    assert_same_folder(&base, &out, "scenario read from two paths");
}

#[test]
fn shard_flags_are_checked() {
    let scratch = Scratch::new("shard-flags");
    let s = small_scenario(&scratch);
    let s = s.to_str().unwrap();
    for (args, expected) in [
        (
            vec!["--shard", "0/3", "--runs", "2"],
            "K must be 1 to N = 3",
        ),
        (
            vec!["--shard", "4/3", "--runs", "2"],
            "K must be 1 to N = 3",
        ),
        (vec!["--shard", "3", "--runs", "2"], "is not K/N"),
        (
            vec!["--shard-index", "3", "--shard-count", "3", "--runs", "2"],
            "counts from 0 to N-1",
        ),
        (vec!["--shard", "1/2", "--precision", "6h"], "give --runs N"),
    ] {
        let mut all = vec!["run", s];
        all.extend(args.iter());
        let output = planner(&all);
        assert_eq!(code(&output), 2, "{args:?}: {}", stderr(&output));
        assert!(
            stderr(&output).contains(expected),
            "{args:?}: {}",
            stderr(&output)
        );
    }
    // runs = "auto" has no deterministic split: refused, saying what to give.
    let text = std::fs::read_to_string(s).unwrap();
    let auto = scratch.write(
        "auto.toml",
        &text.replace("runs = 20", "runs = \"auto\"\nprecision = \"6h\""),
    );
    let output = planner(&["run", auto.to_str().unwrap(), "--shard", "1/2"]);
    assert_eq!(code(&output), 2, "{}", stderr(&output));
    assert!(stderr(&output).contains("runs = \"auto\" cannot be sharded"));
    assert!(stderr(&output).contains("give --runs N"));
    // The 0-based form is the same shard.
    let a = scratch.path("a.partial");
    let b = scratch.path("b.partial");
    for (out, flags) in [
        (&a, vec!["--shard", "2/3"]),
        (&b, vec!["--shard-index", "1", "--shard-count", "3"]),
    ] {
        let mut all = vec![
            "run",
            s,
            "--runs",
            "2",
            "--quiet",
            "--out",
            out.to_str().unwrap(),
        ];
        all.extend(flags);
        assert_eq!(code(&planner(&all)), 0);
    }
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    // A shard never writes over what is not a partial.
    let output = planner(&["run", s, "--runs", "2", "--shard", "1/2", "--out", s]);
    assert_eq!(code(&output), 2);
    assert!(
        std::fs::read_to_string(s)
            .unwrap()
            .starts_with("# A sudden burst")
    );
}

/// A YAML mapping's value.
fn get<'a>(node: &'a Yaml<'a>, key: &str) -> &'a Yaml<'a> {
    node.as_mapping_get(key)
        .unwrap_or_else(|| panic!("no `{key}` in {node:?}"))
}

fn text<'a>(node: &'a Yaml<'a>) -> String {
    node.as_str()
        .map(str::to_string)
        .or_else(|| node.as_integer().map(|i| i.to_string()))
        .unwrap_or_else(|| panic!("not a scalar: {node:?}"))
}

/// The planner container's command line in a Job's pod template.
fn job_command(job: &Yaml) -> Vec<String> {
    let spec = get(get(get(job, "spec"), "template"), "spec");
    let container = &get(spec, "containers").as_sequence().expect("containers")[0];
    let mut line: Vec<String> = get(container, "command")
        .as_sequence()
        .expect("command")
        .iter()
        .map(text)
        .collect();
    line.extend(
        get(container, "args")
            .as_sequence()
            .expect("args")
            .iter()
            .map(text),
    );
    line
}

#[test]
fn the_kubernetes_manifest_runs_locally_and_merges_to_the_unsharded_report() {
    let manifest =
        std::fs::read_to_string(root().join("deploy/kubernetes/planner-indexed-job.yaml"))
            .expect("the manifest");
    let docs = Yaml::load_from_str(&manifest).expect("the manifest is YAML");
    let by_name = |kind: &str, name: &str| {
        docs.iter()
            .find(|d| text(get(d, "kind")) == kind && text(get(get(d, "metadata"), "name")) == name)
            .unwrap_or_else(|| panic!("{kind} {name}"))
    };
    let scratch = Scratch::new("shard-kubernetes");
    // The ConfigMap is mounted at /scenario and the claim at /partials: here, folders.
    let config = by_name("ConfigMap", "planner-scenario");
    std::fs::create_dir_all(scratch.path("scenario")).unwrap();
    scratch.write(
        "scenario/scenario.toml",
        &text(get(get(config, "data"), "scenario.toml")),
    );
    let claim = by_name("PersistentVolumeClaim", "planner-partials");
    let modes = get(get(claim, "spec"), "accessModes")
        .as_sequence()
        .unwrap();
    assert_eq!(text(&modes[0]), "ReadWriteMany");
    std::fs::create_dir_all(scratch.path("partials")).unwrap();
    let local = |arg: &str, index: Option<i64>| {
        let mut arg = arg
            .replace(
                "/scenario/",
                &format!("{}/", scratch.path("scenario").display()),
            )
            .replace("/partials", scratch.path("partials").to_str().unwrap());
        if let Some(index) = index {
            arg = arg.replace("$(JOB_COMPLETION_INDEX)", &index.to_string());
        }
        arg
    };
    let indexed = |name: &str| {
        let job = by_name("Job", name);
        let spec = get(job, "spec");
        assert_eq!(text(get(spec, "completionMode")), "Indexed");
        let completions = get(spec, "completions").as_integer().expect("completions");
        let command = job_command(job);
        assert_eq!(command[0], "planner");
        let count = command
            .iter()
            .position(|a| a == "--shard-count")
            .expect("--shard-count");
        assert_eq!(
            command[count + 1],
            completions.to_string(),
            "{name}: N = completions"
        );
        assert!(command.iter().any(|a| a == "$(JOB_COMPLETION_INDEX)"));
        // Every pod of the Job at once, as N processes.
        let children: Vec<_> = (0..completions)
            .map(|index| {
                Command::new(bin())
                    .args(command[1..].iter().map(|a| local(a, Some(index))))
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .expect("spawn")
            })
            .collect();
        for child in children {
            let output = child.wait_with_output().expect("wait");
            assert!(output.status.success(), "{name}: {}", stderr(&output));
        }
        completions
    };
    let n = indexed("planner-runs");
    indexed("planner-follow-ups");
    let partials = std::fs::read_dir(scratch.path("partials")).unwrap().count() as i64;
    assert_eq!(partials, 2 * n, "one run and one follow-up partial per pod");
    let merge = job_command(by_name("Job", "planner-merge"));
    let merged = planner_in(
        &scratch.dir,
        &merge[1..]
            .iter()
            .map(|a| local(a, None))
            .collect::<Vec<_>>(),
    );
    assert_eq!(code(&merged), 0, "{}", stderr(&merged));
    // The same command without sharding, unsharded.
    let runs_command = job_command(by_name("Job", "planner-runs"));
    let runs_at = runs_command.iter().position(|a| a == "--runs").unwrap();
    let report = scratch.path("partials/report");
    let unsharded = planner_in(
        &scratch.dir,
        &[
            "run".to_string(),
            local(&runs_command[2], None),
            "--runs".to_string(),
            runs_command[runs_at + 1].clone(),
            "--out".to_string(),
            scratch.path("unsharded").to_str().unwrap().to_string(),
        ],
    );
    assert_eq!(code(&unsharded), 0, "{}", stderr(&unsharded));
    assert_eq!(
        stdout(&merged).replace(report.to_str().unwrap(), "OUT"),
        stdout(&unsharded).replace(scratch.path("unsharded").to_str().unwrap(), "OUT")
    );
    assert_same_folder(&scratch.path("unsharded"), &report, "kubernetes");
}

#[test]
fn the_ci_matrix_runs_locally_and_merges_to_the_unsharded_report() {
    let workflow =
        std::fs::read_to_string(root().join("deploy/ci/github-actions.yml")).expect("the workflow");
    let docs = Yaml::load_from_str(&workflow).expect("the workflow is YAML");
    let jobs = get(&docs[0], "jobs");
    let scratch = Scratch::new("shard-ci");
    std::fs::create_dir_all(scratch.path("scenarios")).unwrap();
    std::fs::copy(scenario("burst.toml"), scratch.path("scenarios/burst.toml")).unwrap();
    let planner_lines = |job: &str| -> Vec<String> {
        get(get(jobs, job), "steps")
            .as_sequence()
            .unwrap()
            .iter()
            .filter_map(|step| step.as_mapping_get("run").map(text))
            .filter(|line| line.starts_with("bin/planner "))
            .collect()
    };
    let words = |line: &str, shard: Option<i64>| -> Vec<String> {
        let line = match shard {
            Some(k) => line.replace("${{ matrix.shard }}", &k.to_string()),
            None => line.to_string(),
        };
        line.split_whitespace()
            .skip(1)
            .map(str::to_string)
            .collect()
    };
    let shard = get(jobs, "shard");
    assert_eq!(text(get(shard, "needs")), "build");
    assert_eq!(text(get(get(jobs, "merge"), "needs")), "shard");
    let matrix: Vec<i64> = get(get(get(shard, "strategy"), "matrix"), "shard")
        .as_sequence()
        .unwrap()
        .iter()
        .map(|k| k.as_integer().unwrap())
        .collect();
    let [run_line] = planner_lines("shard").try_into().expect("one planner step");
    assert!(
        run_line.contains(&format!("--shard ${{{{ matrix.shard }}}}/{}", matrix.len())),
        "N is the matrix size: {run_line}"
    );
    // Each matrix entry on its own machine: its own folder, then the artifacts gathered.
    let gathered = scratch.path("partials");
    std::fs::create_dir_all(&gathered).unwrap();
    for &k in &matrix {
        let machine = scratch.path(&format!("machine-{k}"));
        std::fs::create_dir_all(machine.join("scenarios")).unwrap();
        std::fs::copy(scenario("burst.toml"), machine.join("scenarios/burst.toml")).unwrap();
        let output = planner_in(&machine, &words(&run_line, Some(k)));
        assert_eq!(code(&output), 0, "shard {k}: {}", stderr(&output));
        for entry in std::fs::read_dir(machine.join("partials")).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), gathered.join(entry.file_name())).unwrap();
        }
    }
    let [merge_line] = planner_lines("merge").try_into().expect("one planner step");
    let merged = planner_in(&scratch.dir, &words(&merge_line, None));
    assert_eq!(code(&merged), 0, "{}", stderr(&merged));
    // Unsharded, the same command without --shard.
    let mut unsharded = words(&run_line, Some(1));
    let at = unsharded.iter().position(|w| w == "--shard").unwrap();
    unsharded.drain(at..at + 2);
    let out_at = unsharded.iter().position(|w| w == "--out").unwrap();
    unsharded[out_at + 1] = "unsharded".into();
    let output = planner_in(&scratch.dir, &unsharded);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let report = words(&merge_line, None).last().unwrap().clone();
    assert_eq!(
        stdout(&merged).replace(&report, "OUT"),
        stdout(&output).replace("unsharded", "OUT")
    );
    assert_same_folder(
        &scratch.path("unsharded"),
        &scratch.dir.join(&report),
        "CI matrix",
    );
}
