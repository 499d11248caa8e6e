//! `planner check` through the binary: exit 0 with warnings only, 2 with errors or an invalid
//! scenario; `--format json` gives the findings as an array of objects.

use crate::util::*;

const CLEAN: &str = include_str!("../fixtures/check-clean.toml");

fn json(output: &std::process::Output) -> Vec<serde_json::Value> {
    let value: serde_json::Value =
        serde_json::from_str(&stdout(output)).unwrap_or_else(|e| panic!("{e}: {}", stdout(output)));
    value.as_array().expect("an array").clone()
}

#[test]
fn a_clean_scenario_has_no_findings() {
    let scratch = Scratch::new("check-clean");
    let file = scratch.write("clean.toml", CLEAN);
    let output = planner(&["check", file.to_str().unwrap()]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert!(
        stdout(&output).contains("no findings"),
        "{}",
        stdout(&output)
    );
    let output = planner(&["check", file.to_str().unwrap(), "--format", "json"]);
    assert_eq!(json(&output).len(), 0);
}

#[test]
fn warnings_only_exit_0_with_a_line_and_fix_each() {
    let output = planner(&["check", scenario("burst.toml").to_str().unwrap()]);
    let out = stdout(&output);
    assert_eq!(code(&output), 0, "{out}{}", stderr(&output));
    assert!(out.contains("warning[vswitch-too-small]: "), "{out}");
    assert!(out.contains("burst.toml:"), "{out}");
    for line in out.lines().filter(|l| l.starts_with("warning[")) {
        assert!(line.contains("; fix: "), "{line}");
    }
    assert!(out.contains("0 errors"), "{out}");
}

#[test]
fn json_findings_have_every_field() {
    let output = planner(&[
        "check",
        scenario("expansion.toml").to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let findings = json(&output);
    assert!(!findings.is_empty());
    for finding in &findings {
        for field in ["severity", "code", "key", "line", "message", "fix"] {
            assert!(finding.get(field).is_some(), "{field}: {finding}");
        }
        assert!(
            finding["line"].is_u64(),
            "every finding here has a line: {finding}"
        );
    }
    let codes: Vec<&str> = findings.iter().filter_map(|f| f["code"].as_str()).collect();
    assert!(codes.contains(&"vswitch-too-small"), "{codes:?}");
    assert!(codes.contains(&"single-vswitch"), "{codes:?}");
}

#[test]
fn errors_exit_2() {
    let scratch = Scratch::new("check-error");
    // A vSwitch of another zone listed for z-a, and nodes ACK refuses.
    let text = CLEAN
        .replace(
            "cidr = \"10.0.4.0/22\"\n",
            "cidr = \"10.0.4.0/22\"\n\n[[vswitch]]\nid = \"vsw-b\"\nzone = \"z-b\"\ncidr = \"10.0.8.0/22\"\n",
        )
        .replace("[\"vsw-a1\", \"vsw-a2\"]", "[\"vsw-a1\", \"vsw-a2\", \"vsw-b\"]")
        .replace("ecs.g7.xlarge", "ecs.g6.large");
    let file = scratch.write("bad.toml", &text);
    let output = planner(&["check", file.to_str().unwrap()]);
    assert_eq!(code(&output), 2, "{}", stdout(&output));
    assert!(
        stdout(&output).contains("error[vswitch-wrong-zone]"),
        "{}",
        stdout(&output)
    );
    assert!(
        stdout(&output).contains("error[instance-type-too-small]"),
        "{}",
        stdout(&output)
    );
    let output = planner(&["check", file.to_str().unwrap(), "--format", "json"]);
    assert_eq!(code(&output), 2);
    let errors = json(&output)
        .into_iter()
        .filter(|f| f["severity"] == "error")
        .count();
    assert_eq!(errors, 2);
}

#[test]
fn an_invalid_scenario_is_an_error_finding() {
    let scratch = Scratch::new("check-invalid");
    let file = scratch.write("broken.toml", "[scenario]\nhorizon = \"soon\"\n");
    let output = planner(&["check", file.to_str().unwrap(), "--format", "json"]);
    assert_eq!(code(&output), 2);
    let findings = json(&output);
    assert_eq!(findings[0]["code"], "invalid-scenario");
    assert_eq!(findings[0]["line"], 2);
    assert!(
        stderr(&output).contains("broken.toml"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn idle_fraction_is_an_option() {
    let scratch = Scratch::new("check-idle");
    let file = scratch.write("clean.toml", CLEAN);
    // 10 nodes x 5 idle = 50 of 2040 addresses, 2.5%.
    let strict = planner(&["check", file.to_str().unwrap(), "--idle-fraction", "0.02"]);
    assert_eq!(code(&strict), 0);
    assert!(
        stdout(&strict).contains("warning[idle-pool-fraction]"),
        "{}",
        stdout(&strict)
    );
    let loose = planner(&["check", file.to_str().unwrap(), "--idle-fraction", "0.03"]);
    assert!(
        !stdout(&loose).contains("idle-pool-fraction"),
        "{}",
        stdout(&loose)
    );
    let bad = planner(&["check", file.to_str().unwrap(), "--idle-fraction", "-1"]);
    assert_eq!(code(&bad), 2);
}

#[test]
fn an_added_vswitch_no_snat_entry_covers_is_a_warning() {
    let scratch = Scratch::new("check-snat");
    let covered = format!(
        "{CLEAN}\n[vpc]\nsnat_table_id = \"stb-1\"\nsnat_entries = [\n  {{ id = \"snat-1\", source_cidr = \"10.0.0.0/21\" }},\n]\n\n[[action]]\nat = \"1d\"\nadd_vswitch = {{ id = \"vsw-new\", zone = \"z-a\", cidr = \"10.0.8.0/22\" }}\n\n[[action]]\nat = \"1d 1m\"\nset_terway = {{ vswitches = {{ \"z-a\" = [\"vsw-a1\", \"vsw-a2\", \"vsw-new\"] }} }}\n\n[[action]]\nat = \"1d 2m\"\nrestart_terway = true\n"
    );
    let file = scratch.write("added.toml", &covered);
    let output = planner(&["check", file.to_str().unwrap()]);
    let out = stdout(&output);
    assert_eq!(code(&output), 0, "{out}{}", stderr(&output));
    let lines: Vec<&str> = out
        .lines()
        .filter(|l| l.contains("[vswitch-without-snat]"))
        .collect();
    assert_eq!(lines.len(), 1, "{out}");
    assert!(
        lines[0].starts_with("warning[vswitch-without-snat]: ")
            && lines[0].contains("added.toml:40: action[0].add_vswitch: `vsw-new` (10.0.8.0/22) is added by an action")
            && lines[0].contains("--SnatTableId stb-1 --SourceVSwitchId vsw-new --SnatIp <EIP of the NAT gateway>"),
        "{out}"
    );
    let output = planner(&["check", file.to_str().unwrap(), "--format", "json"]);
    let found: Vec<serde_json::Value> = json(&output)
        .into_iter()
        .filter(|f| f["code"] == "vswitch-without-snat")
        .collect();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["key"], "action[0].add_vswitch");
    assert_eq!(found[0]["line"], 40);

    // Its entry added: quiet. No SNAT table at all: quiet too.
    let fixed = covered.replace("10.0.0.0/21", "10.0.0.0/20");
    let file = scratch.write("fixed.toml", &fixed);
    let output = planner(&["check", file.to_str().unwrap(), "--format", "json"]);
    assert_eq!(json(&output).len(), 0, "{}", stdout(&output));
    let unknown = covered.replace(
        "[vpc]\nsnat_table_id = \"stb-1\"\nsnat_entries = [\n  { id = \"snat-1\", source_cidr = \"10.0.0.0/21\" },\n]\n",
        "",
    );
    assert!(!unknown.contains("snat_"));
    let file = scratch.write("unknown.toml", &unknown);
    let output = planner(&["check", file.to_str().unwrap(), "--format", "json"]);
    assert_eq!(json(&output).len(), 0, "{}", stdout(&output));
}
