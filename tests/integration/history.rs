//! `planner import --history` through the binary: the fixtures in
//! `tests/fixtures/import/history/` (a Prometheus range query's answer as curl prints it, the
//! result array as `promtool query range -o json` prints it, a `time,series,value` CSV, and
//! answers that are something else) become a scenario whose growth follows the fitted trend,
//! its history kept beside it for `planner run`; every refusal is exit 2 naming the file.
//!
//! The fixtures were generated from known curves (seeded noise): `default/web` grows 0.5 pods
//! a day with a swing of 4 pods peaking at 14:00 UTC, over two ReplicaSets (a rollout 9 days
//! before the end), with a day-long gap and an exporter restart (three 0s);
//! `kube-system/coredns` compounds 2% a day from 20 pods at the end with a 10% swing;
//! `default/db` stays at 2 but for two 0s. The data end at 2026-12-01T00:00:00Z.

use std::path::PathBuf;

use crate::util::*;

fn fixture(name: &str) -> String {
    let path: PathBuf = root().join("tests/fixtures/import").join(name);
    path.to_str().expect("utf-8 path").to_string()
}

/// `planner import` of the cluster fixtures with these history files and extra flags.
fn import(history: &[&str], extra: &[&str]) -> std::process::Output {
    let mut args: Vec<String> = [
        "import",
        "--eni-config",
        &fixture("eni-config.yaml"),
        "--vswitches",
        &fixture("vswitches.json"),
        "--nodes",
        &fixture("nodes.json"),
        "--pods",
        &fixture("pods.json"),
        "--instance-types",
        &fixture("instance-types.json"),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for h in history {
        args.push("--history".into());
        args.push(fixture(&format!("history/{h}")));
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    planner(&refs)
}

/// The line of `text` that starts with `key = ` after `name = "workload"`.
fn workload_line<'a>(text: &'a str, workload: &str, key: &str) -> &'a str {
    let start = text
        .find(&format!("name = \"{workload}\""))
        .unwrap_or_else(|| panic!("no workload {workload} in {text}"));
    text[start..]
        .lines()
        .take_while(|l| !l.is_empty())
        .find(|l| l.starts_with(&format!("{key} = ")))
        .unwrap_or("")
}

#[test]
fn a_prometheus_matrix_round_trips_through_import_and_run() {
    let scratch = Scratch::new("history-run");
    let out = scratch.path("cluster.toml");
    let output = import(
        &["prometheus-workloads.json"],
        &["--horizon", "30d", "-o", out.to_str().unwrap()],
    );
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    // The fixtures' pods.json shows 5 web pods; the history ends at 30: said, not refused.
    let err = stderr(&output);
    assert!(
        err.contains("the fit of `default/web` gives 30 pods at day 0 (2026-12-01T00:00:00Z) where --pods shows 5 today"),
        "{err}"
    );
    assert!(!err.contains("the fit of `default/db`"), "{err}");
    assert!(
        stdout(&output).contains("cluster.toml and "),
        "{}",
        stdout(&output)
    );
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains("history = \"cluster.history.csv\""), "{text}");
    assert!(
        text.contains("day 0 is 2026-12-01T00:00:00Z, the newest point used"),
        "{text}"
    );

    // web: 0.5 pods/day from 30 at day 0 (the two ReplicaSets summed): 45 at day 30; the
    // restart's three 0s dropped; the swing of 4 pods is 13.3% of 30 (within 0.01).
    let replicas = workload_line(&text, "default/web", "replicas");
    assert!(
        replicas.starts_with("replicas = [[\"0d\", 30], [\"30d\", 45]]"),
        "{replicas}"
    );
    assert!(replicas.contains("web-5d8f7c9b4") && replicas.contains("web-7c6b5f8d9"));
    assert!(
        replicas.contains("linear trend +0.50 pods/day"),
        "{replicas}"
    );
    assert!(replicas.contains("3 dropped as outliers"), "{replicas}");
    assert!(replicas.contains("2026-11-03T00:00:00Z to 2026-12-01T00:00:00Z"));
    let swing = workload_line(&text, "default/web", "daily_swing");
    let value: f64 = swing
        .trim_start_matches("daily_swing = ")
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!((value - 4.0 / 30.0).abs() < 0.01, "{swing}");
    assert!(swing.contains("peaking at 13:") || swing.contains("peaking at 14:"));

    // coredns compounds: 2% a day (printed to 0.1) from 20: 20 x 1.02^30 = 36.2 at day 30.
    let replicas = workload_line(&text, "kube-system/coredns", "replicas");
    assert!(replicas.contains("compounding trend +2.0"), "{replicas}");
    assert!(replicas.starts_with("replicas = [[\"0d\", 20], [\"1d\", 20]"));
    assert!(replicas.contains("[\"30d\", 36]"), "{replicas}");
    // db is flat: a result, not an error; its two 0s are restarts.
    let replicas = workload_line(&text, "default/db", "replicas");
    assert!(replicas.starts_with("replicas = [[\"0d\", 2], [\"30d\", 2]]"));
    assert!(replicas.contains("+0.00 pods/day") && replicas.contains("2 dropped"));
    // No series for the CronJob: it stays as today.
    assert!(workload_line(&text, "batch/report", "arrivals_per_hour").contains("stays as today"));

    let sidecar = std::fs::read_to_string(scratch.path("cluster.history.csv")).unwrap();
    assert!(sidecar.starts_with("time,series,value\n2026-11-03T00:00:00Z,default/db,2\n"));
    // Points used: 1297 per series less those dropped (3 for web, 2 for db).
    assert_eq!(sidecar.lines().count(), 1 + 3 * 1297 - 5);

    let reports = scratch.path("reports");
    let run = run_to(&out, &reports, &["--runs", "1"]);
    assert_eq!(code(&run), 0, "{}", stderr(&run));
    assert!(reports.join("pods.png").exists());
}

#[test]
fn zone_series_from_promtool_grow_the_other_workloads() {
    let scratch = Scratch::new("history-zones");
    let out = scratch.path("zones.toml");
    let output = import(
        &["promtool-zones.json", "prometheus-workloads.json"],
        &["--horizon", "10d", "-o", out.to_str().unwrap()],
    );
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(
        text.contains("(3 workload series, 2 zone series)"),
        "{text}"
    );
    // Zones: 40 + 1.0/day and 25 + 0.3/day, 65 at day 0, 78 at day 10: x 1.2 for the
    // DaemonSet's 2 pods gives 2.4, which rounds to 2.
    let replicas = workload_line(&text, "default/pods-without-owner", "replicas");
    assert!(
        replicas.contains("following the summed trend of zones cn-hangzhou-h, cn-hangzhou-i"),
        "{replicas}"
    );
    // Workloads with their own series keep their own fit.
    assert!(workload_line(&text, "default/web", "replicas").contains("linear trend"));
}

#[test]
fn a_csv_history_is_read_with_both_time_forms() {
    let scratch = Scratch::new("history-csv");
    let out = scratch.path("csv.toml");
    let output = import(
        &["history.csv"],
        &["--horizon", "30d", "-o", out.to_str().unwrap()],
    );
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let text = std::fs::read_to_string(&out).unwrap();
    let replicas = workload_line(&text, "default/web", "replicas");
    // Hourly points without the gap: the same web curve.
    assert!(replicas.contains("`default/web`"), "{replicas}");
    assert!(
        replicas.contains("linear trend +0.50 pods/day"),
        "{replicas}"
    );
    let run = run_to(&out, &scratch.path("reports"), &["--runs", "1"]);
    assert_eq!(code(&run), 0, "{}", stderr(&run));
}

/// Exit 2, the file named, and each of `words` in the message.
fn refused(output: &std::process::Output, file: &str, words: &[&str]) {
    let err = stderr(output);
    assert_eq!(code(output), 2, "{err}");
    assert!(err.contains(file), "{file} not named: {err}");
    for w in words {
        assert!(err.contains(w), "`{w}` not in: {err}");
    }
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn inputs_that_are_something_else_are_refused_naming_the_file() {
    let scratch = Scratch::new("history-refused");
    let out = scratch.path("x.toml");
    let o = out.to_str().unwrap();
    let cases: [(&str, &[&str]); 7] = [
        (
            "prometheus-error.json",
            &["Prometheus' error answer", "bad_data", "parse error"],
        ),
        (
            "prometheus-vector.json",
            &["is a Prometheus vector, not a matrix", "query_range"],
        ),
        (
            "prometheus-truncated.json",
            &["is truncated", "line 1, column 5000"],
        ),
        (
            "prometheus-short.json",
            &["too little history", "owner_name=\"db\"", "over 2.0 days"],
        ),
        (
            "prometheus-unknown-workload.json",
            &[
                "matches no workload",
                "owner_name=\"wbe-5d8f7c9b4\"",
                "`default/wbe`",
                "nearest: `default/web`",
            ],
        ),
        (
            "history-bad-row.csv",
            &["line 3", "`thirty`", "not a number of pods"],
        ),
        (
            "history-bad-header.csv",
            &["line 1", "time,series,value", "timestamp,workload,pods"],
        ),
    ];
    for (file, words) in cases {
        let output = import(&[file], &["-o", o]);
        refused(&output, file, words);
        assert!(!out.exists(), "{file}: nothing is written");
    }
    // A vector as promtool prints it (only the result array), and a scalar.
    let vector = scratch.write(
        "vector.json",
        "[{\"metric\":{\"zone\":\"cn-hangzhou-h\"},\"value\":[1796083200,\"5\"]}]\n",
    );
    let scalar = scratch.write("scalar.json", "[1796083200,\"5\"]\n");
    for (path, word) in [(&vector, "vector"), (&scalar, "scalar")] {
        let output = import(&[], &["--history", path.to_str().unwrap(), "-o", o]);
        refused(&output, "json", &[word]);
    }
    // Four days, but only 20 points: too few.
    let sparse: String = (0..20)
        .map(|i| format!("{},default/web,5\n", 1_796_083_200 - i * 4 * 3600 * 4))
        .collect();
    let sparse = scratch.write("sparse.csv", &format!("time,series,value\n{sparse}"));
    let output = import(&[], &["--history", sparse.to_str().unwrap(), "-o", o]);
    refused(
        &output,
        "sparse.csv",
        &["`default/web`", "too little history: 20 points over"],
    );
    // A zone that is not the cluster's.
    let zone = scratch.write("zone.csv", "time,series,value\n1796083200,cn-beijing-a,5\n");
    let output = import(&[], &["--history", zone.to_str().unwrap(), "-o", o]);
    refused(&output, "zone.csv", &["`cn-beijing-a`", "cn-hangzhou-h"]);
}

#[test]
fn the_history_is_not_combined_with_a_growth_and_needs_an_output() {
    let output = import(&["history.csv"], &["--growth-per-day", "2", "-o", "x.toml"]);
    refused(&output, "--history", &["--growth-per-day"]);
    let output = import(&["history.csv"], &[]);
    refused(&output, "--history needs -o", &["history.csv"]);
}

#[test]
fn run_refuses_a_missing_or_broken_history_naming_it() {
    let scratch = Scratch::new("history-broken");
    let out = scratch.path("c.toml");
    let output = import(&["history.csv"], &["-o", out.to_str().unwrap()]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let sidecar = scratch.path("c.history.csv");
    let good = std::fs::read_to_string(&sidecar).unwrap();

    std::fs::write(
        &sidecar,
        good.replacen(",default/db,2\n", ",default/db,x\n", 1),
    )
    .unwrap();
    let run = run_to(&out, &scratch.path("r"), &["--runs", "1"]);
    refused(&run, "c.history.csv:2", &["`x`"]);

    std::fs::remove_file(&sidecar).unwrap();
    let run = run_to(&out, &scratch.path("r"), &["--runs", "1"]);
    refused(
        &run,
        "c.history.csv",
        &["cannot read the history", "c.toml"],
    );
}

/// The README's worked example, from history to runbook: `web` grew 10 pods a day over four
/// weeks (with a daily swing); with today's idle addresses from `terway-cli mapping` and the
/// SNAT table, the 90-day forecast runs zone i short in every run, and `runbook.md` has the
/// vSwitch to create, its SNAT entry and the eni-config patch.
#[test]
fn the_worked_example_goes_from_history_to_a_runbook() {
    let scratch = Scratch::new("history-to-runbook");
    let scenario = scratch.path("cluster.toml");
    let output = import(
        &["prometheus-web-growing.json"],
        &[
            "--snat-entries",
            &fixture("snat-entries.json"),
            "--terway-mapping",
            &fixture("mapping/nodes.txt"),
            "--horizon",
            "90d",
            "-o",
            scenario.to_str().unwrap(),
        ],
    );
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let text = std::fs::read_to_string(&scenario).unwrap();
    let replicas = workload_line(&text, "default/web", "replicas");
    assert!(
        replicas.contains("linear trend +10.00 pods/day"),
        "{replicas}"
    );
    assert!(
        replicas.starts_with("replicas = [[\"0d\", 320], [\"90d\", 1220]]"),
        "{replicas}"
    );
    let out = scratch.path("report");
    let output = run_to(&scenario, &out, &["--runs", "4"]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let (header, rows) = read_csv(&out.join("zones.csv"));
    let zone_i = rows.iter().find(|r| r[0] == "cn-hangzhou-i").unwrap();
    assert_eq!(cell(&header, zone_i, "shortage_runs"), "1.000");
    let runbook = std::fs::read_to_string(out.join("runbook.md")).unwrap();
    for expected in [
        "aliyun vpc CreateVSwitch --RegionId cn-hangzhou --ZoneId cn-hangzhou-i",
        "aliyun vpc CreateSnatEntry --RegionId cn-hangzhou --SnatTableId stb-bp1snattable001",
        "kubectl -n kube-system patch configmap eni-config --type merge",
        "kubectl -n kube-system rollout restart daemonset/terway-eniip",
        "resource \"alicloud_vswitch\"",
    ] {
        assert!(runbook.contains(expected), "{expected}: {runbook}");
    }
}
