//! The same scenario and seed give byte-identical CSV files whatever the thread count.

use crate::util::*;

fn run_with_threads(scratch: &Scratch, name: &str, threads: &str, seed: &str) -> Vec<Vec<u8>> {
    let out = scratch.path(name);
    let output = planner(&[
        "run",
        scenario("burst.toml").to_str().unwrap(),
        "--runs",
        "6",
        "--seed",
        seed,
        "--threads",
        threads,
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let mut files: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x != "png"))
        .collect();
    files.sort();
    assert!(files.len() >= 9, "{files:?}");
    files.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

#[test]
fn one_and_two_threads_write_identical_bytes() {
    let scratch = Scratch::new("threads");
    let one = run_with_threads(&scratch, "one", "1", "3");
    let two = run_with_threads(&scratch, "two", "2", "3");
    assert_eq!(one, two);
}

#[test]
fn another_seed_gives_another_result() {
    let scratch = Scratch::new("seeds");
    let a = run_with_threads(&scratch, "a", "2", "3");
    let b = run_with_threads(&scratch, "b", "2", "4");
    assert_ne!(a, b);
}

/// Every text file of a report folder, by name.
fn report_files(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x != "png"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .collect();
    files.sort();
    files
}

// tests/fixtures/never-clears.toml runs short in every run at 1h 10m to 1h 12m, a spread of
// about a minute, so a 1h precision holds from the first batch. The share of runs short is then
// all of n, whose 95% interval is [0.025^(1/n), 1]: at most 10 points wide once
// n >= ln(0.025) / ln(0.9) = 35.01, i.e. 36 runs, so runs = "auto" stops at the end of the
// second batch of 20: 40 runs. Its CSVs are those of --runs 40, at any thread count.
#[test]
fn auto_runs_stop_when_sure_and_equal_a_fixed_count() {
    let scratch = Scratch::new("auto-runs");
    let fixture = root().join("tests/fixtures/never-clears.toml");
    let auto = |name: &str, threads: &str, extra: &[&str]| {
        let out = scratch.path(name);
        let mut args = vec!["--threads", threads];
        args.extend_from_slice(extra);
        let output = run_to(&fixture, &out, &args);
        assert_eq!(code(&output), 0, "{}", stderr(&output));
        report_files(&out)
    };
    let one = auto("one", "1", &["--precision", "1h"]);
    let two = auto("two", "2", &["--precision", "1h"]);
    assert_eq!(one, two, "the same bytes at 1 and 2 threads");
    let json: serde_json::Value =
        serde_json::from_slice(&one.iter().find(|(n, _)| n == "summary.json").unwrap().1).unwrap();
    assert_eq!(json["runs"], 40);
    assert_eq!(json["auto_runs"]["runs"], 40);
    assert_eq!(json["auto_runs"]["sure"], true);
    let fixed = auto("fixed", "2", &["--runs", "40"]);
    let csvs = |files: &[(String, Vec<u8>)]| -> Vec<(String, Vec<u8>)> {
        files
            .iter()
            .filter(|(n, _)| n.ends_with(".csv"))
            .cloned()
            .collect()
    };
    assert_eq!(csvs(&one), csvs(&fixed));
    assert_eq!(csvs(&one).len(), 6);

    // A 1s precision is never met (the p10 interval spans seconds): it stops at max_runs,
    // after a last batch cut to fit (20 + 5), and says why.
    let text = std::fs::read_to_string(&fixture).unwrap().replace(
        "runs = 3",
        "runs = \"auto\"\nprecision = \"1s\"\nmax_runs = 25",
    );
    let file = scratch.write("capped.toml", &text);
    let out = scratch.path("capped");
    let output = planner(&[
        "run",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let stdout = stdout(&output);
    assert!(
        stdout.contains("stopped after 25 runs; max_runs = 25 reached, still unsure: zone z1"),
        "{stdout}"
    );
}
