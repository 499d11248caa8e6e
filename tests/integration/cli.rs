//! The command line contract: columns, exit codes, output folders, the catalog.

use crate::util::*;

const ZONES: &[&str] = &[
    "zone",
    "usable_ips",
    "peak_used_p50",
    "peak_used_p90",
    "first_shortage_p10_s",
    "first_shortage_p50_s",
    "first_shortage_p90_s",
    "shortage_runs",
];
const VSWITCHES: &[&str] = &[
    "vswitch",
    "zone",
    "cidr",
    "usable_ips",
    "peak_used_p50",
    "peak_used_p90",
    "full_p10_s",
    "full_p50_s",
    "full_p90_s",
    "full_runs",
];
const VSWITCH_SERIES: &[&str] = &[
    "time_s", "vswitch", "used_p10", "used_p50", "used_p90", "idle_p50",
];
const CLUSTER_SERIES: &[&str] = &[
    "time_s",
    "nodes_p50",
    "pods_running_p50",
    "pods_pending_ip_p10",
    "pods_pending_ip_p50",
    "pods_pending_ip_p90",
];

// The promised columns come first, in the promised order; more may follow.
#[test]
fn run_writes_every_promised_column() {
    let scratch = Scratch::new("columns");
    let out = scratch.path("out");
    let output = planner(&[
        "run",
        scenario("burst.toml").to_str().unwrap(),
        "--runs",
        "2",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    for (file, columns) in [
        ("zones.csv", ZONES),
        ("vswitches.csv", VSWITCHES),
        ("vswitch_timeseries.csv", VSWITCH_SERIES),
        ("cluster_timeseries.csv", CLUSTER_SERIES),
    ] {
        let (header, rows) = read_csv(&out.join(file));
        assert_eq!(&header[..columns.len()], columns, "{file}");
        assert!(!rows.is_empty(), "{file} has rows");
    }
    let summary = stdout(&output);
    assert!(summary.contains("cn-shanghai-f"), "{summary}");
    assert!(summary.contains("first shortage"), "{summary}");
}

#[test]
fn default_output_folder_is_reports_slash_name() {
    let scratch = Scratch::new("default-out");
    let text = std::fs::read_to_string(scenario("burst.toml"))
        .unwrap()
        .replace("name = \"burst\"", "name = \"it-default-out\"")
        .replace("runs = 20", "runs = 1");
    let file = scratch.write("s.toml", &text);
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_planner"))
        .args(["run", file.to_str().unwrap(), "--quiet"])
        .current_dir(&scratch.dir)
        .output()
        .unwrap();
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert!(scratch.path("reports/it-default-out/zones.csv").exists());
    assert!(stdout(&output).is_empty(), "--quiet prints nothing");
}

#[test]
fn an_output_path_that_is_a_file_is_refused_before_any_work() {
    let scratch = Scratch::new("out-file");
    let file = scratch.write("taken", "keep me");
    let output = planner(&[
        "run",
        scenario("burst.toml").to_str().unwrap(),
        "--out",
        file.to_str().unwrap(),
    ]);
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).contains("not a folder"),
        "{}",
        stderr(&output)
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep me");
}

#[test]
fn a_folder_that_is_not_a_report_is_never_replaced() {
    let scratch = Scratch::new("out-foreign");
    scratch.write("notes.txt", "precious");
    let output = planner(&[
        "run",
        scenario("burst.toml").to_str().unwrap(),
        "--out",
        scratch.dir.to_str().unwrap(),
    ]);
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).contains("not a planner report"),
        "{}",
        stderr(&output)
    );
    assert_eq!(
        std::fs::read_to_string(scratch.path("notes.txt")).unwrap(),
        "precious"
    );
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(code(&planner(&["run"])), 2);
    assert_eq!(code(&planner(&["frobnicate"])), 2);
    let output = planner(&[
        "run",
        scenario("burst.toml").to_str().unwrap(),
        "--runs",
        "0",
    ]);
    assert_eq!(code(&output), 2);
    let output = planner(&["run", "no/such/scenario.toml"]);
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).contains("no/such/scenario.toml"),
        "{}",
        stderr(&output)
    );
}

// (8 - 1) x 30 = 210 for ecs.g7.4xlarge, the ACK documentation's own example.
#[test]
fn catalog_shows_pod_capacity_and_warns_below_twelve() {
    let output = planner(&["catalog", "ecs.g7.4xlarge"]);
    assert_eq!(code(&output), 0);
    let line = stdout(&output)
        .lines()
        .find(|l| l.starts_with("ecs.g7.4xlarge"))
        .expect("a row")
        .to_string();
    assert!(line.trim_end().ends_with("210"), "{line}");

    let output = planner(&["catalog", "ecs.g6.large"]);
    assert_eq!(code(&output), 0);
    assert!(
        stderr(&output).contains("ACK does not add such nodes"),
        "{}",
        stderr(&output)
    );

    let output = planner(&["catalog"]);
    assert!(stdout(&output).lines().count() > 30);

    // A family lists its sizes smallest first, as the family pages do.
    let output = planner(&["catalog", "ecs.g7"]);
    assert_eq!(code(&output), 0);
    let sizes: Vec<String> = stdout(&output)
        .lines()
        .filter_map(|l| l.strip_prefix("ecs.g7."))
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .collect();
    let position = |size: &str| sizes.iter().position(|s| s == size).expect(size);
    assert!(position("large") < position("xlarge"), "{sizes:?}");
    assert!(position("2xlarge") < position("4xlarge"), "{sizes:?}");
    assert!(position("4xlarge") < position("16xlarge"), "{sizes:?}");

    let output = planner(&["catalog", "ecs.g7.4xlarg"]);
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).contains("ecs.g7.4xlarge"),
        "suggests the near miss"
    );
}

// `planner bench` prints every figure the performance section quotes, from one process, and
// its own options are checked like any other input.
#[test]
fn bench_prints_events_rates_ratio_speed_up_and_memory() {
    let scenario = scenario("steady.toml");
    let output = planner(&[
        "bench",
        scenario.to_str().unwrap(),
        "--horizon",
        "1d",
        "--runs",
        "2",
        "--repeat",
        "1",
        "--scale",
        "1,2",
    ]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let text = stdout(&output);
    for line in [
        "benchmark steady at 1x pods",
        "benchmark steady at 2x pods",
        "events (one run):",
        "engine, 1 run, 1 thread:",
        "bare BinaryHeap hold loop:",
        "engine / baseline:",
        "engine's queue, hold loop:",
        "2 runs on 1 thread:",
        "peak memory, one run:",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
    // Twice the pods and nodes, clearly more events (not exactly twice: samples and actions
    // do not grow, and a small scenario's vSwitches may not widen).
    let events: Vec<f64> = text
        .lines()
        .filter_map(|line| line.strip_prefix("events (one run):"))
        .map(|n| n.trim().parse().expect("a count"))
        .collect();
    assert_eq!(events.len(), 2);
    let ratio = events[1] / events[0];
    assert!(
        (1.3..2.5).contains(&ratio),
        "2x pods gave {ratio:.2}x events"
    );

    let output = planner(&["bench", scenario.to_str().unwrap(), "--scale", "0"]);
    assert_eq!(code(&output), 2);
    assert!(stderr(&output).contains("--scale 0"), "{}", stderr(&output));
}

/// Runs `planner` with its standard output closed before it writes anything, as
/// `planner catalog | head -0` would.
fn with_stdout_closed(args: &[&str]) -> std::process::Output {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_planner"))
        .args(args)
        .current_dir(root())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start planner");
    drop(child.stdout.take());
    child.wait_with_output().expect("planner ends")
}

// Like other Unix tools, every command that prints ends quietly when its reader has gone,
// with the exit code it would have had.
#[test]
fn a_closed_pipe_ends_output_quietly() {
    let scratch = Scratch::new("epipe");
    let fixture = |name: &str| {
        root()
            .join("tests/fixtures/import")
            .join(name)
            .to_str()
            .unwrap()
            .to_string()
    };
    let (cm, vsw) = (fixture("eni-config.yaml"), fixture("vswitches.json"));
    let out = scratch.path("out");
    let clean = root().join("tests/fixtures/check-clean.toml");
    let steady = scenario("steady.toml");
    let commands: Vec<(Vec<&str>, i32)> = vec![
        (vec!["catalog"], 0),
        (vec!["check", clean.to_str().unwrap()], 0),
        (vec!["import", "--eni-config", &cm, "--vswitches", &vsw], 0),
        (
            vec![
                "run",
                steady.to_str().unwrap(),
                "--runs",
                "1",
                "--out",
                out.to_str().unwrap(),
            ],
            0,
        ),
    ];
    for (args, expected) in commands {
        let output = with_stdout_closed(&args);
        let err = stderr(&output);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(!err.contains("Broken pipe"), "{args:?}: {err}");
        assert_eq!(code(&output), expected, "{args:?}: {err}");
    }
}

#[test]
fn precision_and_runs_together_are_a_usage_error() {
    let output = planner(&[
        "run",
        scenario("burst.toml").to_str().unwrap(),
        "--precision",
        "6h",
        "--runs",
        "5",
        "--quiet",
    ]);
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).contains("give one of them"),
        "{}",
        stderr(&output)
    );
    let output = planner(&[
        "run",
        scenario("burst.toml").to_str().unwrap(),
        "--precision",
        "soon",
        "--quiet",
    ]);
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).contains("scenario.precision"),
        "{}",
        stderr(&output)
    );
}

// A sweep compares its points at one run count, so it says what it does with runs = "auto".
#[test]
fn a_sweep_of_an_auto_runs_scenario_says_how_many_runs_each_point_gets() {
    let scratch = Scratch::new("sweep-auto");
    let text = std::fs::read_to_string(root().join("tests/fixtures/never-clears.toml"))
        .unwrap()
        .replace(
            "runs = 3",
            "runs = \"auto\"\nprecision = \"1h\"\nmax_runs = 2",
        );
    let file = scratch.write("auto.toml", &text);
    let sweep = |extra: &[&str]| {
        let out = scratch.path("out");
        let mut args = vec![
            "sweep",
            file.to_str().unwrap(),
            "--set",
            "terway.max_pool_size=0,5",
            "--quiet",
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        planner(&args)
    };
    let output = sweep(&[]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert!(
        stderr(&output).contains("every combination runs max_runs = 2 runs; pass --runs N"),
        "{}",
        stderr(&output)
    );
    let chosen = sweep(&["--runs", "1"]);
    assert_eq!(code(&chosen), 0, "{}", stderr(&chosen));
    assert!(!stderr(&chosen).contains("max_runs"), "{}", stderr(&chosen));
}

// summary.md says how sure each zone's figures are, the same intervals as summary.json. With
// 3 runs a median's interval is unbounded on both sides (B(3, 0.5) puts 12.5% on each end), so
// it reads `0s .. never`; the p90's lower end is the smallest run.
#[test]
fn summary_md_gives_the_intervals() {
    let scratch = Scratch::new("md-intervals");
    let out = scratch.path("out");
    let output = run_to(
        &root().join("tests/fixtures/never-clears.toml"),
        &out,
        &["--runs", "3"],
    );
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let md = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(
        md.contains("### How sure: 95% intervals over 3 runs"),
        "{md}"
    );
    let row = md
        .lines()
        .rev()
        .find(|l| l.starts_with("| z1 |"))
        .expect("a z1 row in the intervals table");
    let cells: Vec<&str> = row.split(" | ").collect();
    assert!(cells[2].ends_with("(95%: 0s .. never)"), "{row}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let p10_s = json["zones"][0]["first_shortage_p10_s"].as_f64().unwrap();
    let p90_lo_s = json["zones"][0]["first_shortage_p90_ci"]["lo_s"]
        .as_f64()
        .unwrap();
    assert_eq!(
        p10_s, p90_lo_s,
        "the p90's lower end is the smallest of 3 runs"
    );
    assert!(cells[3].contains("(95%: 1h 11m .. never)"), "{row}");
}

// --stats says where the time went; the figures depend on the machine, so they appear only when
// asked for and change no other byte.
#[test]
fn stats_give_the_phases_and_change_nothing_else() {
    let scratch = Scratch::new("stats");
    let burst = scenario("burst.toml");
    let with = scratch.path("with");
    let without = scratch.path("without");
    let output = run_to(&burst, &with, &["--runs", "2", "--stats"]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let err = stderr(&output);
    let line = err
        .lines()
        .find(|l| l.starts_with("stats: "))
        .unwrap_or_else(|| panic!("a stats line in {err}"));
    assert!(
        line.contains("then at once: verification ")
            && line.contains(", pool what-if ")
            && line.contains(", charts "),
        "{line}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(with.join("summary.json")).unwrap()).unwrap();
    let phases: Vec<&str> = json["stats"]["phases"]
        .as_array()
        .expect("phases")
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(phases, ["verification", "pool what-if", "charts"]);

    let output = run_to(&burst, &without, &["--runs", "2"]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert!(!stderr(&output).contains("stats: "));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(without.join("summary.json")).unwrap())
            .unwrap();
    assert!(
        json.get("stats").is_none(),
        "no machine figures unless asked"
    );
    for csv in ["zones.csv", "vswitches.csv", "recommendations.csv"] {
        assert_eq!(
            std::fs::read(with.join(csv)).unwrap(),
            std::fs::read(without.join(csv)).unwrap(),
            "{csv}"
        );
    }
}
