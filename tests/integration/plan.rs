//! Recommendations, gates, CI files and sweeps through the real binary.

use std::path::{Path, PathBuf};

use crate::util::*;

fn fixture(name: &str) -> PathBuf {
    root().join("tests/fixtures").join(name)
}

fn run_into(scratch: &Scratch, scenario: &Path, extra: &[&str]) -> (std::process::Output, PathBuf) {
    let out = scratch.path("out");
    (run_to(scenario, &out, extra), out)
}

// By construction the zone's peak demand is 1 eth0 + 240 pods = 241 in every run (one address
// per pod: max_pool_size = 0 and pods come one at a time). With 20% headroom it needs
// ceil(241 x 1.2) = ceil(289.2) = 290; vsw-a gives 252, so the gap is 38. A /27 gives 28, a /26
// 60: the smallest that covers it is a /26, and the lowest aligned free /26 of 10.0.0.0/16 after
// vsw-a's 10.0.0.0/24 is 10.0.1.0/26. There is no shortage, so the deadline is when demand x 1.2
// first exceeds 252, i.e. demand >= 211, 210 pods: the target 24 pods/day rounds to 210 at
// 209.5 h, so the hourly sample at 210 h is the first. Minus the 1-day lead time: 186 h =
// 669 600 s, when 1 + 186 = 187 of 252 addresses are used: 0.742.
#[test]
fn a_known_demand_gets_the_hand_computed_vswitch_and_it_verifies() {
    let scratch = Scratch::new("known-demand");
    let (output, out) = run_into(&scratch, &fixture("known-demand.toml"), &[]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let (header, zones) = read_csv(&out.join("zones.csv"));
    assert_eq!(cell(&header, &zones[0], "peak_demand_p90"), "241");
    assert_eq!(cell(&header, &zones[0], "shortage_runs"), "0.000");
    let (header, rows) = read_csv(&out.join("recommendations.csv"));
    assert_eq!(rows.len(), 1, "{rows:?}");
    let row = &rows[0];
    assert_eq!(cell(&header, row, "zone"), "z1");
    assert_eq!(cell(&header, row, "needed_ips"), "290");
    assert_eq!(cell(&header, row, "usable_ips_now"), "252");
    assert_eq!(cell(&header, row, "add_prefix_len"), "26");
    assert_eq!(cell(&header, row, "add_cidr"), "10.0.1.0/26");
    assert_eq!(cell(&header, row, "expand_by_s"), "669600");
    assert_eq!(cell(&header, row, "trigger_used_fraction"), "0.742");
    assert_eq!(cell(&header, row, "late"), "false");
    assert_eq!(cell(&header, row, "verified"), "yes");
    // The block lies inside the VPC and overlaps no vSwitch.
    let block: ipnet::Ipv4Net = cell(&header, row, "add_cidr").parse().unwrap();
    let vpc: ipnet::Ipv4Net = "10.0.0.0/16".parse().unwrap();
    let taken: ipnet::Ipv4Net = "10.0.0.0/24".parse().unwrap();
    assert!(vpc.contains(&block));
    assert!(!block.contains(&taken.network()) && !taken.contains(&block.network()));
}

fn junit_counts(path: &Path) -> (usize, usize) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.starts_with("<?xml"), "{text}");
    assert_balanced(&text);
    let cases = text.matches("<testcase ").count();
    let failures = text.matches("<failure ").count();
    (cases, failures)
}

/// A small well-formedness check: every opened element is closed in order.
fn assert_balanced(xml: &str) {
    let mut stack: Vec<String> = Vec::new();
    let mut rest = xml;
    while let Some(start) = rest.find('<') {
        let end = rest[start..].find('>').expect("tag closes") + start;
        let tag = &rest[start + 1..end];
        rest = &rest[end + 1..];
        if tag.starts_with('?') || tag.ends_with('/') {
            continue;
        }
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(stack.pop().as_deref(), Some(name), "closing {name}");
        } else {
            let name = tag.split_whitespace().next().unwrap().to_string();
            stack.push(name);
        }
    }
    assert!(stack.is_empty(), "unclosed {stack:?}");
}

#[test]
fn a_failed_gate_exits_1_and_says_which_zone_by_how_much_and_what_to_do() {
    let scratch = Scratch::new("gate-fail");
    let (output, out) = run_into(
        &scratch,
        &scenario("burst.toml"),
        &["--runs", "2", "--gate", "min_time_to_shortage=30d"],
    );
    assert_eq!(code(&output), 1, "{}", stderr(&output));
    let err = stderr(&output);
    assert!(err.contains("gate failed: min_time_to_shortage"), "{err}");
    assert!(err.contains("zone cn-shanghai-f"), "{err}");
    assert!(err.contains("earlier than the required 30d"), "{err}");
    assert!(err.contains("recommendation: add a /"), "{err}");
    // One case per zone for this gate; zone g passes.
    assert_eq!(junit_counts(&out.join("junit.xml")), (2, 1));
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(json["schema_version"], 1);
    assert_eq!(json["gates"]["passed"], false);
    assert_eq!(json["runs"], 2);
    assert!(
        std::fs::read_to_string(out.join("summary.md"))
            .unwrap()
            .contains("gates FAILED")
    );
}

#[test]
fn passing_gates_exit_0_and_still_write_the_ci_files() {
    let scratch = Scratch::new("gate-pass");
    let (output, out) = run_into(
        &scratch,
        &scenario("steady.toml"),
        &[
            "--runs",
            "1",
            "--gate",
            "min_time_to_shortage=30d",
            "--gate",
            "max_vswitch_utilization=0.85",
            "--gate",
            "max_pods_pending_ip=0",
        ],
    );
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    // 3 zones x 2 zone gates + 3 vSwitches.
    assert_eq!(junit_counts(&out.join("junit.xml")), (9, 0));
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(json["gates"]["passed"], true);
    assert_eq!(json["zones"].as_array().unwrap().len(), 3);

    // The same scenario fails a utilization limit below its peak (about 27%).
    let scratch = Scratch::new("gate-util");
    let (output, _) = run_into(
        &scratch,
        &scenario("steady.toml"),
        &["--runs", "1", "--gate", "max_vswitch_utilization=0.1"],
    );
    assert_eq!(code(&output), 1);
    assert!(
        stderr(&output).contains("is above 10.0%"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn gates_without_any_set_still_give_a_junit_file() {
    let scratch = Scratch::new("no-gates");
    let (output, out) = run_into(&scratch, &scenario("steady.toml"), &["--runs", "1"]);
    assert_eq!(code(&output), 0);
    assert_eq!(junit_counts(&out.join("junit.xml")), (0, 0));
}

#[test]
fn a_gate_that_does_not_exist_exits_2_naming_it() {
    let scratch = Scratch::new("gate-typo");
    let (output, _) = run_into(
        &scratch,
        &scenario("steady.toml"),
        &["--gate", "min_time_to_shortag=1d"],
    );
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).contains("did you mean `min_time_to_shortage`"),
        "{}",
        stderr(&output)
    );
    let (output, _) = run_into(
        &scratch,
        &scenario("steady.toml"),
        &["--gate", "max_vswitch_utilization=2"],
    );
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).contains("gates.max_vswitch_utilization"),
        "{}",
        stderr(&output)
    );
}

fn png_size(path: &Path) -> (u32, u32) {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{}", path.display());
    assert_eq!(&bytes[12..16], b"IHDR");
    let width = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
    (width, height)
}

#[test]
fn charts_are_pngs_of_1600_by_900() {
    let scratch = Scratch::new("charts");
    let (output, out) = run_into(&scratch, &scenario("expansion.toml"), &["--runs", "2"]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    for chart in ["vswitch_usage.png", "pods.png", "pool_idle.png"] {
        assert_eq!(png_size(&out.join(chart)), (1600, 900), "{chart}");
    }
}

#[test]
fn a_sweep_compares_every_combination() {
    let scratch = Scratch::new("sweep");
    let out = scratch.path("out");
    let output = planner(&[
        "sweep",
        scenario("burst.toml").to_str().unwrap(),
        "--set",
        "terway.max_pool_size=0,10",
        "--set",
        "vswitch.vsw-f-pods.cidr=10.0.0.0/24,10.0.0.0/23",
        "--runs",
        "2",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let (header, rows) = read_csv(&out.join("sweep.csv"));
    assert_eq!(header[0], "terway.max_pool_size");
    assert_eq!(header[1], "vswitch.vsw-f-pods.cidr");
    assert_eq!(rows.len(), 4);
    // Twice the addresses in zone f: the burst no longer exhausts it.
    let short = |pool: &str, cidr: &str| {
        let row = rows.iter().find(|r| r[0] == pool && r[1] == cidr).unwrap();
        cell(&header, row, "shortage_runs").to_string()
    };
    assert_eq!(short("0", "10.0.0.0/24"), "1.000");
    assert_eq!(short("0", "10.0.0.0/23"), "0.000");
    assert_eq!(png_size(&out.join("sweep.png")), (1600, 900));
}

#[test]
fn a_sweep_key_that_names_nothing_exits_2() {
    let output = planner(&[
        "sweep",
        scenario("burst.toml").to_str().unwrap(),
        "--set",
        "vswitch.vsw-nope.cidr=10.0.0.0/23",
    ]);
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).contains("vswitch.vsw-nope.cidr"),
        "{}",
        stderr(&output)
    );
    assert!(
        stderr(&output).contains("vsw-f-pods"),
        "lists the ids: {}",
        stderr(&output)
    );
}

// tests/fixtures/never-clears.toml runs short at about 1h 11m in every run and has 10 pods
// waiting at its peak. At p90 over 3 runs the gates pass on the percentiles; with
// confidence = 0.95 three runs cannot bound p10 from below (P(no run below the true p10) =
// 0.9^3 = 73% > 2.5%) nor p90 from above, so both gates fail on the pessimistic end. 40 runs
// bound them (0.9^40 = 1.5% <= 2.5%) and the gates pass again.
#[test]
fn gates_with_a_confidence_judge_on_the_pessimistic_end_of_the_interval() {
    let scratch = Scratch::new("gate-confidence");
    let fixture = root().join("tests/fixtures/never-clears.toml");
    let gates = [
        "--gate",
        "min_time_to_shortage=1h",
        "--gate",
        "max_pods_pending_ip=10",
    ];
    let run = |runs: &str, extra: &[&str]| {
        let mut args = vec!["--runs", runs];
        args.extend_from_slice(&gates);
        args.extend_from_slice(extra);
        run_to(
            &fixture,
            &scratch.path(&format!("out-{runs}-{}", extra.len())),
            &args,
        )
    };
    assert_eq!(code(&run("3", &[])), 0);
    let few = run("3", &["--gate", "confidence=0.95"]);
    assert_eq!(code(&few), 1, "{}", stderr(&few));
    let err = stderr(&few);
    assert!(
        err.contains(
            "first shortage at 0s (the pessimistic end of the 95% interval of p10 over 3 runs)"
        ),
        "{err}"
    );
    assert!(
        err.contains("3 runs cannot bound p90 at 95% confidence"),
        "{err}"
    );
    let enough = run("40", &["--gate", "confidence=0.95"]);
    assert_eq!(code(&enough), 0, "{}", stderr(&enough));
}
