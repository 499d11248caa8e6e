//! Reliability through the binary: the same bytes whatever the thread count or process, and
//! report folders that are never left half-written, never replace the scenario, and are
//! refused before any work when they cannot be written.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::properties::{Family, random_scenario};
use crate::util::*;

/// Every file of a report folder (the marker and the charts included), by name.
fn report_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).unwrap())
        })
        .collect();
    files.sort();
    files
}

/// A generated scenario with job arrivals (so every seed draws differently), with `runs` runs.
fn generated(scratch: &Scratch, runs: u32) -> PathBuf {
    let (case, text) = (0..)
        .map(|case| (case, random_scenario(case, Family::Any)))
        .find(|(_, text)| text.contains("kind = \"job\"") && !text.contains("nodes = 0\n"))
        .expect("some case has jobs");
    let text = text.replace("runs = 1\n", &format!("runs = {runs}\n"));
    scratch.write(&format!("gen-{case}.toml"), &text)
}

#[test]
fn one_two_and_four_threads_and_two_processes_write_the_same_bytes() {
    let scratch = Scratch::new("threads-124");
    for scenario in [generated(&scratch, 6), self::scenario("burst.toml")] {
        let mut reports = Vec::new();
        for (name, threads) in [("t1", "1"), ("t2", "2"), ("t4", "4"), ("t4-again", "4")] {
            let out = scratch.path(name);
            let output = run_to(&scenario, &out, &["--threads", threads, "--runs", "6"]);
            assert!(code(&output) <= 1, "{}", stderr(&output));
            reports.push((name, report_files(&out)));
        }
        let (first, expected) = &reports[0];
        let names: Vec<&str> = expected.iter().map(|(n, _)| n.as_str()).collect();
        for wanted in [
            "zones.csv",
            "vswitches.csv",
            "cluster_timeseries.csv",
            "summary.json",
            "summary.md",
            "junit.xml",
        ] {
            assert!(names.contains(&wanted), "{wanted} in {names:?}");
        }
        for (name, files) in &reports[1..] {
            for ((a_name, a), (b_name, b)) in expected.iter().zip(files) {
                assert_eq!(a_name, b_name);
                assert!(
                    a == b,
                    "{}: {a_name} differs between {first} and {name}",
                    scenario.display()
                );
            }
            assert_eq!(expected.len(), files.len());
        }
    }
}

#[test]
fn another_seed_gives_another_result_on_a_generated_scenario() {
    let scratch = Scratch::new("seed-gen");
    let scenario = generated(&scratch, 3);
    let mut reports = Vec::new();
    for seed in ["11", "12"] {
        let out = scratch.path(&format!("seed-{seed}"));
        let output = run_to(&scenario, &out, &["--seed", seed]);
        assert!(code(&output) <= 1, "{}", stderr(&output));
        let csv: Vec<(String, Vec<u8>)> = report_files(&out)
            .into_iter()
            .filter(|(name, _)| name.ends_with(".csv"))
            .collect();
        reports.push(csv);
    }
    assert_ne!(reports[0], reports[1], "seeds 11 and 12 gave the same CSVs");
}

#[test]
fn check_invariants_gives_the_same_report() {
    let scratch = Scratch::new("checked");
    let scenario = generated(&scratch, 2);
    let plain = scratch.path("plain");
    let checked = scratch.path("checked");
    let output = run_to(&scenario, &plain, &[]);
    assert!(code(&output) <= 1, "{}", stderr(&output));
    let output = run_to(&scenario, &checked, &["--check-invariants"]);
    assert!(code(&output) <= 1, "{}", stderr(&output));
    assert!(report_files(&plain) == report_files(&checked));
}

/// A process killed while it writes the new report (here by the file size limit, as a full
/// disk or a kill would) leaves the previous report in place, whole.
#[test]
fn a_run_that_dies_while_writing_leaves_the_previous_report_whole() {
    let scratch = Scratch::new("killed-write");
    let out = scratch.path("report");
    let scenario = scenario("burst.toml");
    let output = run_to(&scenario, &out, &["--runs", "2", "--seed", "1"]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let before = report_files(&out);
    // 16 KiB per file at most: the CSV time series and the charts are larger.
    let status = Command::new("bash")
        .arg("-c")
        .arg("ulimit -f 16 && exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_planner"))
        .args([
            "run",
            scenario.to_str().unwrap(),
            "--runs",
            "2",
            "--seed",
            "2",
            "--quiet",
            "--out",
            out.to_str().unwrap(),
        ])
        .current_dir(root())
        .output()
        .expect("run bash");
    assert!(
        !status.status.success(),
        "the write should have failed: {}",
        stderr(&status)
    );
    assert!(
        report_files(&out) == before,
        "the previous report changed after a failed write"
    );
    // A run that completes replaces it.
    let output = run_to(&scenario, &out, &["--runs", "2", "--seed", "2"]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert!(report_files(&out) != before, "the new report is in place");
}

/// An interrupted run (killed while simulating) never touches the previous report.
#[test]
fn a_run_killed_while_simulating_leaves_the_previous_report_whole() {
    let scratch = Scratch::new("killed-run");
    let out = scratch.path("report");
    let scenario = scenario("burst.toml");
    let output = run_to(&scenario, &out, &["--runs", "1"]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let before = report_files(&out);
    let mut child = Command::new(env!("CARGO_BIN_EXE_planner"))
        .args([
            "run",
            scenario.to_str().unwrap(),
            "--runs",
            "5000",
            "--quiet",
            "--out",
            out.to_str().unwrap(),
        ])
        .current_dir(root())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start planner");
    std::thread::sleep(Duration::from_millis(700));
    let _ = child.kill();
    let status = child.wait().expect("wait");
    assert!(!status.success(), "5000 runs do not finish in 0.7 s");
    assert!(report_files(&out) == before);
    let leftovers: Vec<_> = std::fs::read_dir(&scratch.dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains(".tmp-"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "nothing staged before the work is done: {leftovers:?}"
    );
}

/// `--out` naming the scenario's own folder is refused before any work, whether that folder is
/// a plain folder, a planner report (the scenario was copied into one), reached through a
/// symlink, or a parent of the scenario's folder; the scenario is never touched.
#[test]
fn the_scenario_is_never_overwritten() {
    let scratch = Scratch::new("own-folder");
    let text = std::fs::read_to_string(scenario("burst.toml")).unwrap();

    // A plain folder holding the scenario.
    let plain = scratch.path("plain");
    std::fs::create_dir_all(&plain).unwrap();
    let file = plain.join("s.toml");
    std::fs::write(&file, &text).unwrap();
    let output = run_to(&file, &plain, &["--runs", "1"]);
    assert_eq!(code(&output), 2, "{}", stderr(&output));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), text);

    // A report folder the scenario was copied into, directly or through a symlink, or one
    // level up.
    let report = scratch.path("report");
    let output = run_to(&scenario("burst.toml"), &report, &["--runs", "1"]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let inside = report.join("s.toml");
    std::fs::write(&inside, &text).unwrap();
    let link = scratch.path("link");
    std::os::unix::fs::symlink(&report, &link).unwrap();
    let nested_dir = report.join("sub");
    std::fs::create_dir_all(&nested_dir).unwrap();
    let nested = nested_dir.join("s.toml");
    std::fs::write(&nested, &text).unwrap();
    for (scenario_file, out) in [(&inside, &report), (&inside, &link), (&nested, &report)] {
        let started = Instant::now();
        let output = run_to(scenario_file, out, &["--runs", "10000"]);
        assert_eq!(code(&output), 2, "{}", stderr(&output));
        let err = stderr(&output);
        assert!(
            err.contains("the scenario is inside the output folder"),
            "{err}"
        );
        assert_eq!(err.lines().filter(|l| l.starts_with("error")).count(), 1);
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "refused before running 10000 runs"
        );
        assert_eq!(std::fs::read_to_string(scenario_file).unwrap(), text);
    }
}

/// Output paths that cannot become a report folder are exit 2 with one clear line, before
/// any work: 10 000 runs of burst would take minutes.
#[test]
fn unusable_output_paths_are_refused_before_any_work() {
    let scratch = Scratch::new("bad-out");
    let file = scratch.write("a-file", "keep me");
    let cases: Vec<(PathBuf, &str)> = vec![
        // The output folder's parent is a file.
        (file.join("out"), "cannot create its parent"),
        // Deeper still.
        (file.join("a/b/out"), "cannot create its parent"),
    ];
    for (out, expect) in &cases {
        let started = Instant::now();
        let output = run_to(&scenario("burst.toml"), out, &["--runs", "10000"]);
        let err = stderr(&output);
        assert_eq!(code(&output), 2, "{}: {err}", out.display());
        assert!(err.contains(expect), "{}: {err}", out.display());
        assert!(
            err.contains(&out.display().to_string()),
            "names the path: {err}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "before any work"
        );
    }
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep me");

    // A parent folder that is not writable (meaningless as root, who may write anywhere).
    let locked = scratch.path("locked");
    std::fs::create_dir_all(&locked).unwrap();
    set_mode(&locked, 0o555);
    let writable_anyway = std::fs::write(locked.join("probe"), b"").is_ok();
    if !writable_anyway {
        let out = locked.join("out");
        let output = run_to(&scenario("burst.toml"), &out, &["--runs", "10000"]);
        let err = stderr(&output);
        assert_eq!(code(&output), 2, "{err}");
        assert!(err.contains("not writable"), "{err}");
    }
    set_mode(&locked, 0o755);
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// `--runs` is checked like `runs` in the file: the results of 10 000 runs of ten years sampled
/// hourly would not fit in memory, so the command refuses before any work and says what to
/// lower.
#[test]
fn runs_given_on_the_command_line_are_bounded_too() {
    let scratch = Scratch::new("runs-memory");
    let mut text = String::from("[scenario]\nhorizon = \"3650d\"\nsample_interval = \"1h\"\n");
    for v in 0..8 {
        text.push_str(&format!(
            "[[vswitch]]\nid = \"vsw-{v}\"\nzone = \"z\"\ncidr = \"10.0.{v}.0/24\"\n"
        ));
    }
    let file = scratch.write("long.toml", &text);
    let out = scratch.path("out");
    let started = Instant::now();
    let output = run_to(&file, &out, &["--runs", "10000"]);
    let err = stderr(&output);
    assert_eq!(code(&output), 2, "{err}");
    let line = err
        .lines()
        .find(|l| l.starts_with("error:"))
        .unwrap_or_else(|| panic!("an error line: {err}"));
    assert!(line.contains("long.toml"), "{line}");
    assert!(line.contains("scenario.runs"), "{line}");
    assert!(line.contains("--runs"), "{line}");
    assert!(line.contains("GiB"), "{line}");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "before any work"
    );
    assert!(!out.exists());
}
