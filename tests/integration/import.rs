//! `planner import` through the binary: the fixtures in `tests/fixtures/import/` (what kubectl
//! and the aliyun CLI print) become a scenario that `planner run` accepts as it is; inputs that
//! are not what they claim are refused with exit code 2, naming the file.

use std::path::PathBuf;

use crate::util::*;

fn fixture(name: &str) -> String {
    let path: PathBuf = root().join("tests/fixtures/import").join(name);
    path.to_str().expect("utf-8 path").to_string()
}

fn all_inputs(cm: &str) -> Vec<String> {
    [
        "--eni-config",
        &fixture(cm),
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
    .collect()
}

fn import(args: &[String], extra: &[&str]) -> std::process::Output {
    let mut all: Vec<&str> = vec!["import"];
    all.extend(args.iter().map(String::as_str));
    all.extend(extra);
    planner(&all)
}

#[test]
fn the_fixtures_round_trip_into_a_scenario_that_runs() {
    let scratch = Scratch::new("import-run");
    let out = scratch.path("cluster.toml");
    let output = import(
        &all_inputs("eni-config.yaml"),
        &[
            "--growth-per-day",
            "2",
            "--horizon",
            "30d",
            "-o",
            out.to_str().unwrap(),
        ],
    );
    let err = stderr(&output);
    assert_eq!(code(&output), 0, "{err}");
    assert!(stdout(&output).contains("wrote"), "{}", stdout(&output));
    // The `#` comments pasted into eni_conf: Terway would not start; import reads it anyway.
    assert!(
        err.contains("warning[eni-conf-unparsable]") && err.contains("eni-config.yaml:14"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");

    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains("name = \"cluster\""), "{text}");
    assert!(
        text.contains("[instance_type.\"ecs.g8ae.2xlarge\"]"),
        "{text}"
    );
    assert!(text.contains("replicas = [[\"0d\", 5], [\"30d\""), "{text}");

    let check = planner(&["check", out.to_str().unwrap()]);
    assert_eq!(code(&check), 0, "{}{}", stdout(&check), stderr(&check));

    let reports = scratch.path("reports");
    let run = planner(&[
        "run",
        out.to_str().unwrap(),
        "--runs",
        "1",
        "--quiet",
        "--out",
        reports.to_str().unwrap(),
    ]);
    assert_eq!(code(&run), 0, "{}", stderr(&run));
    assert!(reports.join("zones.csv").exists());
}

#[test]
fn json_configmap_to_stdout_runs_too() {
    let scratch = Scratch::new("import-json");
    let output = import(
        &all_inputs("eni-config.json"),
        &["--growth-percent-per-day", "0.5"],
    );
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let text = stdout(&output);
    assert!(text.contains("compounded daily"), "{text}");
    let file = scratch.write("from-json.toml", &text);
    let run = planner(&[
        "run",
        file.to_str().unwrap(),
        "--runs",
        "1",
        "--quiet",
        "--out",
        scratch.path("out").to_str().unwrap(),
    ]);
    assert_eq!(code(&run), 0, "{}", stderr(&run));
}

#[test]
fn only_the_required_files() {
    let scratch = Scratch::new("import-min");
    let out = scratch.path("min.toml");
    let output = planner(&[
        "import",
        "--eni-config",
        &fixture("eni-config.yaml"),
        "--vswitches",
        &fixture("vswitches.json"),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let check = planner(&["check", out.to_str().unwrap()]);
    assert_eq!(code(&check), 0, "{}", stdout(&check));
}

#[test]
fn inputs_that_are_not_what_they_claim_exit_2() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "--eni-config",
            "bad/wrong-kind.yaml",
            "is a Secret, not a ConfigMap",
        ),
        (
            "--eni-config",
            "bad/other-configmap.yaml",
            "kube-system/coredns",
        ),
        (
            "--eni-config",
            "bad/configmap-list.yaml",
            "not one ConfigMap",
        ),
        ("--eni-config", "bad/eni-conf-broken.yaml", "data.eni_conf"),
        (
            "--vswitches",
            "bad/truncated-vswitches.json",
            "is truncated",
        ),
        (
            "--vswitches",
            "instance-types.json",
            "DescribeInstanceTypes",
        ),
        ("--nodes", "pods.json", "lists Pods, not Nodes"),
        ("--pods", "bad/truncated-pods.json", "is truncated"),
        ("--instance-types", "vswitches.json", "DescribeVSwitches"),
    ];
    for (flag, file, expected) in cases {
        let mut args = all_inputs("eni-config.yaml");
        let at = args.iter().position(|a| a == flag).unwrap();
        args[at + 1] = fixture(file);
        let output = import(&args, &[]);
        let err = stderr(&output);
        assert_eq!(code(&output), 2, "{file}: {err}");
        assert!(err.contains(file), "{file}: names the file: {err}");
        assert!(err.contains(expected), "{file}: `{expected}` in {err}");
        assert!(
            err.contains("expected"),
            "{file}: says what was expected: {err}"
        );
        assert!(!err.contains("panicked"), "{err}");
        assert!(stdout(&output).is_empty(), "nothing written on failure");
    }
}

#[test]
fn bad_flags_exit_2() {
    let inputs = all_inputs("eni-config.yaml");
    for extra in [
        &["--growth-per-day", "1", "--growth-percent-per-day", "1"][..],
        &["--growth-per-day", "-3"][..],
        &["--horizon", "ninety days"][..],
        &["--idle-fraction", "2"][..],
    ] {
        let output = import(&inputs, extra);
        assert_eq!(code(&output), 2, "{extra:?}: {}", stderr(&output));
    }
    let missing = planner(&[
        "import",
        "--eni-config",
        &fixture("eni-config.yaml"),
        "--vswitches",
        "/nonexistent/vsw.json",
    ]);
    assert_eq!(code(&missing), 2);
    assert!(
        stderr(&missing).contains("/nonexistent/vsw.json"),
        "{}",
        stderr(&missing)
    );
}

#[test]
fn never_writes_over_an_input() {
    let scratch = Scratch::new("import-self");
    let cm = scratch.write(
        "cm.yaml",
        &std::fs::read_to_string(fixture("eni-config.yaml")).unwrap(),
    );
    let output = planner(&[
        "import",
        "--eni-config",
        cm.to_str().unwrap(),
        "--vswitches",
        &fixture("vswitches.json"),
        "-o",
        cm.to_str().unwrap(),
    ]);
    assert_eq!(code(&output), 2, "{}", stderr(&output));
    assert!(
        std::fs::read_to_string(&cm)
            .unwrap()
            .contains("kind: ConfigMap")
    );
}
