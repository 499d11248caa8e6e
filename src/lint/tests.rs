//! Each lint fires on a scenario made to trigger it and stays quiet on the clean one.

use std::path::Path;

use super::rules::{is_region_of, region_of};
use super::*;
use crate::scenario;

/// Two /22s in one zone, ordered selection, a pool that fits them many times over.
const CLEAN: &str = include_str!("../../tests/fixtures/check-clean.toml");

fn lint_text(text: &str, options: &LintOptions) -> Vec<Finding> {
    let (scenario, warnings) = scenario::parse(Path::new("t.toml"), text)
        .unwrap_or_else(|e| panic!("test scenario does not parse: {e}"));
    let mut findings = check(&scenario, &warnings, options);
    locate(&mut findings, text);
    findings
}

fn codes(text: &str) -> Vec<&'static str> {
    lint_text(text, &LintOptions::default())
        .iter()
        .map(|f| f.code)
        .collect()
}

fn finding(text: &str, code: &str) -> Finding {
    lint_text(text, &LintOptions::default())
        .into_iter()
        .find(|f| f.code == code)
        .unwrap_or_else(|| panic!("no {code} in {:?}", codes(text)))
}

fn edit(from: &str, to: &str) -> String {
    assert!(CLEAN.contains(from), "{from}");
    CLEAN.replacen(from, to, 1)
}

#[test]
fn the_clean_scenario_has_no_findings() {
    assert_eq!(codes(CLEAN), Vec::<&str>::new());
}

#[test]
fn every_code_is_listed_once() {
    for (i, lint) in LINTS.iter().enumerate() {
        assert!(
            LINTS[..i].iter().all(|other| other.code != lint.code),
            "{}",
            lint.code
        );
    }
}

#[test]
fn vswitch_wrong_zone_is_an_error_with_its_line() {
    let text = edit(
        "cidr = \"10.0.4.0/22\"\n",
        "cidr = \"10.0.4.0/22\"\n\n[[vswitch]]\nid = \"vsw-b\"\nzone = \"z-b\"\ncidr = \"10.0.8.0/22\"\n",
    )
    .replace(
        "vswitches = { \"z-a\" = [\"vsw-a1\", \"vsw-a2\"] }",
        "vswitches = { \"z-a\" = [\"vsw-a1\", \"vsw-a2\", \"vsw-b\"] }",
    );
    let found = finding(&text, "vswitch-wrong-zone");
    assert_eq!(found.severity, Severity::Error);
    assert_eq!(found.key, "terway.vswitches.z-a[2]");
    assert!(found.line.is_some());
    assert!(
        found.fix.contains("list `vsw-b` under \"z-b\""),
        "{}",
        found.fix
    );
    assert!(!codes(CLEAN).contains(&"vswitch-wrong-zone"));
}

#[test]
fn zone_without_vswitch_and_vswitch_without_nodes() {
    // The pool moves to z-b, whose only vSwitch Terway does not list; z-a keeps its vSwitches.
    let text = edit(
        "cidr = \"10.0.4.0/22\"\n",
        "cidr = \"10.0.4.0/22\"\n\n[[vswitch]]\nid = \"vsw-b\"\nzone = \"z-b\"\ncidr = \"10.0.8.0/22\"\n",
    )
    .replace("zones = [\"z-a\"]", "zones = [\"z-b\"]");
    let found = codes(&text);
    assert!(found.contains(&"zone-without-vswitch"), "{found:?}");
    assert!(found.contains(&"vswitch-zone-without-nodes"), "{found:?}");
    let clean = codes(CLEAN);
    assert!(!clean.contains(&"zone-without-vswitch"));
    assert!(!clean.contains(&"vswitch-zone-without-nodes"));
}

#[test]
fn terway_zone_unused_suggests_the_near_zone() {
    let text = edit(
        "vswitches = { \"z-a\" = [\"vsw-a1\", \"vsw-a2\"] }",
        "vswitches = { \"z-a\" = [\"vsw-a1\", \"vsw-a2\"], \"z-aa\" = [] }",
    );
    let found = finding(&text, "terway-zone-unused");
    assert!(found.fix.contains("`z-a`"), "{}", found.fix);
    assert!(!codes(CLEAN).contains(&"terway-zone-unused"));
}

#[test]
fn min_pool_above_max() {
    let text = edit("max_pool_size = 5", "max_pool_size = 5\nmin_pool_size = 8");
    assert_eq!(
        finding(&text, "min-pool-above-max").key,
        "terway.min_pool_size"
    );
    let fine = edit("max_pool_size = 5", "max_pool_size = 5\nmin_pool_size = 5");
    assert!(!codes(&fine).contains(&"min-pool-above-max"));
}

#[test]
fn max_pool_above_capacity() {
    // An ecs.g7.xlarge holds (4 - 1) x 15 = 45.
    let text = edit("max_pool_size = 5", "max_pool_size = 46");
    assert!(codes(&text).contains(&"max-pool-above-capacity"));
    let fine = edit("max_pool_size = 5", "max_pool_size = 45");
    assert!(!codes(&fine).contains(&"max-pool-above-capacity"));
}

#[test]
fn selection_policy_unknown() {
    let text = edit("\"ordered\"", "\"most\"");
    assert!(codes(&text).contains(&"selection-policy-unknown"));
    assert!(!codes(CLEAN).contains(&"selection-policy-unknown"));
}

#[test]
fn instance_type_too_small_is_an_error() {
    // ecs.g6.large: (2 - 1) x 6 = 6 pods.
    let text = edit("ecs.g7.xlarge", "ecs.g6.large");
    let found = finding(&text, "instance-type-too-small");
    assert_eq!(found.severity, Severity::Error);
    assert!(has_errors(&lint_text(&text, &LintOptions::default())));
    // ecs.g7.large: (3 - 1) x 6 = 12, just above the limit.
    let fine = edit("ecs.g7.xlarge", "ecs.g7.large");
    assert!(!codes(&fine).contains(&"instance-type-too-small"));
}

#[test]
fn vswitch_too_small_gives_the_headroom() {
    // Two /26s: 2 x 60 = 120 addresses. At max_nodes, 10 nodes x (45 pods + 1 eth0) = 460.
    // At the start: 50 pods + 4 nodes x (1 eth0 + 5 idle) = 74 in use, 46 free; the first week
    // grows by 150 / 30 = 5 pods/day, so they last 46 / 5 = 9.2 days.
    let text = CLEAN
        .replace("10.0.0.0/22", "10.0.0.0/26")
        .replace("10.0.4.0/22", "10.0.4.0/26");
    let found = finding(&text, "vswitch-too-small");
    assert_eq!(found.key, "terway.vswitches.z-a");
    assert!(
        found.message.contains("give pods 120 addresses"),
        "{}",
        found.message
    );
    assert!(
        found.message.contains("could hold 460"),
        "{}",
        found.message
    );
    assert!(found.message.contains("5.0 pods/day"), "{}", found.message);
    assert!(
        found.message.contains("last about 9 days"),
        "{}",
        found.message
    );
    // 460 - 120 = 340 more: a /23 (508) is the narrowest that holds them.
    assert!(found.fix.contains("/23"), "{}", found.fix);
    assert!(!codes(CLEAN).contains(&"vswitch-too-small"));
}

#[test]
fn vswitch_too_small_without_growth_names_the_peak() {
    let text = CLEAN
        .replace("10.0.0.0/22", "10.0.0.0/26")
        .replace("10.0.4.0/22", "10.0.4.0/26")
        .replace("[[\"0d\", 50], [\"30d\", 200]]", "50");
    let found = finding(&text, "vswitch-too-small");
    assert!(found.message.contains("does not grow"), "{}", found.message);
}

#[test]
fn single_vswitch() {
    let text = edit("[\"vsw-a1\", \"vsw-a2\"]", "[\"vsw-a1\"]");
    let found = finding(&text, "single-vswitch");
    assert!(found.message.contains("`vsw-a1`"), "{}", found.message);
    assert!(!codes(CLEAN).contains(&"single-vswitch"));
}

#[test]
fn random_selection_with_several_vswitches() {
    let text = edit("vswitch_selection_policy = \"ordered\"\n", "");
    let found = finding(&text, "random-vswitch-selection");
    assert_eq!(found.key, "terway.vswitch_selection_policy");
    // With one vSwitch per zone the policy has nothing to choose between.
    let one = text.replace("[\"vsw-a1\", \"vsw-a2\"]", "[\"vsw-a1\"]");
    assert!(!codes(&one).contains(&"random-vswitch-selection"));
    assert!(!codes(CLEAN).contains(&"random-vswitch-selection"));
}

#[test]
fn idle_pool_fraction_follows_the_option() {
    // 10 nodes x 5 idle = 50 of 2040 addresses: 2.5%.
    let strict = LintOptions {
        idle_fraction: 0.02,
    };
    let found = lint_text(CLEAN, &strict);
    let idle = found
        .iter()
        .find(|f| f.code == "idle-pool-fraction")
        .expect("fires at 2%");
    assert!(
        idle.message.contains("50 idle addresses"),
        "{}",
        idle.message
    );
    assert!(idle.fix.contains("max_pool_size to 4"), "{}", idle.fix);
    assert!(!codes(CLEAN).contains(&"idle-pool-fraction"));
    let big = edit("max_pool_size = 5", "max_pool_size = 45");
    assert!(codes(&big).contains(&"idle-pool-fraction"));
}

#[test]
fn set_terway_without_restart_and_unlisted_vswitch() {
    let text = format!(
        "{CLEAN}\n[[action]]\nat = \"1d\"\nadd_vswitch = {{ id = \"vsw-new\", zone = \"z-a\", cidr = \"10.0.8.0/22\" }}\n\n[[action]]\nat = \"2d\"\nset_terway = {{ max_pool_size = 3 }}\n"
    );
    let found = codes(&text);
    assert!(found.contains(&"set-terway-without-restart"), "{found:?}");
    assert!(found.contains(&"added-vswitch-unlisted"), "{found:?}");
    let fixed = format!(
        "{CLEAN}\n[[action]]\nat = \"1d\"\nadd_vswitch = {{ id = \"vsw-new\", zone = \"z-a\", cidr = \"10.0.8.0/22\" }}\n\n[[action]]\nat = \"2d\"\nset_terway = {{ vswitches = {{ \"z-a\" = [\"vsw-a1\", \"vsw-a2\", \"vsw-new\"] }} }}\n\n[[action]]\nat = \"2d 1m\"\nrestart_terway = true\n"
    );
    assert_eq!(codes(&fixed), Vec::<&str>::new());
}

#[test]
fn unknown_warnings_keep_their_text() {
    let warning = Warning {
        key: "x".into(),
        line: Some(3),
        message: "something new".into(),
    };
    let found = from_warning(&warning);
    assert_eq!(found.code, "scenario-warning");
    assert_eq!(found.line, Some(3));
    assert_eq!(
        found.to_string(),
        "warning[scenario-warning]: line 3: x: something new; fix: see the message; the scenario runs as Terway would"
    );
}

#[test]
fn json_has_the_promised_fields() {
    let text = edit("ecs.g7.xlarge", "ecs.g6.large");
    let json: serde_json::Value =
        serde_json::from_str(&to_json(&lint_text(&text, &LintOptions::default()))).unwrap();
    let first = &json.as_array().unwrap()[0];
    for field in ["severity", "code", "key", "line", "message", "fix"] {
        assert!(first.get(field).is_some(), "{field} in {first}");
    }
    assert_eq!(first["severity"], "error");
}

#[test]
fn locate_finds_table_keys_and_array_entries() {
    let lines = KeyLines::new(CLEAN);
    assert_eq!(lines.line("terway.vswitches.z-a"), Some(16));
    assert_eq!(lines.line("vswitch[1].cidr"), Some(13));
    assert_eq!(lines.line("nodepool[0].max_nodes"), Some(25));
    assert_eq!(lines.line("nodepool[0].boot_time"), Some(20));
    assert_eq!(parent("terway.vswitches.\"a.b\""), Some("terway.vswitches"));
}

#[test]
fn the_readme_lists_every_code() {
    let readme = include_str!("../../README.md");
    for lint in LINTS {
        assert!(
            readme.contains(&format!(
                "| `{}` | {} | {} |",
                lint.code, lint.severity, lint.stage
            )),
            "README's planner check table lacks `{}` ({}, {})",
            lint.code,
            lint.severity,
            lint.stage
        );
    }
}

#[test]
fn a_region_key_is_an_error_with_the_zone_keyed_fix() {
    let text = edit(
        "vswitches = { \"z-a\" = [\"vsw-a1\", \"vsw-a2\"] }",
        "vswitches = { \"z\" = [\"vsw-a1\"], \"z-a\" = [\"vsw-a2\"] }",
    );
    let f = finding(&text, "vswitch-keyed-by-region");
    assert_eq!(f.severity, Severity::Error);
    assert_eq!(f.key, "terway.vswitches.z");
    assert!(f.fix.contains("{\"z-a\": [\"vsw-a1\"]}"), "{}", f.fix);
    // It replaces the validator's "no such zone" for the same key.
    assert!(
        !codes(&text).contains(&"terway-zone-unused"),
        "{:?}",
        codes(&text)
    );
}

#[test]
fn region_shapes() {
    let zones = ["cn-hangzhou-h".to_string(), "eu-central-1a".to_string()];
    for region in [
        "cn-hangzhou",
        "eu-central-1",
        "ap-southeast-1",
        "cn-beijing",
    ] {
        assert!(is_region_of(region, &zones), "{region}");
    }
    for zone in [
        "cn-hangzhou-h",
        "eu-central-1a",
        "cn-hangzhou-k",
        "z-a",
        "<zone-id>",
    ] {
        assert!(!is_region_of(zone, &zones), "{zone}");
    }
}

#[test]
fn a_vswitch_under_two_zones_is_named_with_its_own_zone() {
    let text = edit(
        "cidr = \"10.0.4.0/22\"\n",
        "cidr = \"10.0.4.0/22\"\n\n[[vswitch]]\nid = \"vsw-b\"\nzone = \"z-b\"\ncidr = \"10.0.8.0/22\"\n",
    )
    .replace(
        "vswitches = { \"z-a\" = [\"vsw-a1\", \"vsw-a2\"] }",
        "vswitches = { \"z-a\" = [\"vsw-a1\", \"vsw-a2\"], \"z-b\" = [\"vsw-a1\", \"vsw-b\"] }",
    );
    let f = finding(&text, "vswitch-listed-twice");
    assert_eq!(f.key, "terway.vswitches.z-b");
    assert!(
        f.message
            .contains("`vsw-a1` is listed under `z-a` and `z-b`")
            && f.message.contains("one zone (`z-a`)"),
        "{}",
        f.message
    );
    assert!(
        f.fix
            .contains("only under \"z-a\" and remove it from \"z-b\""),
        "{}",
        f.fix
    );
    assert!(f.line.is_some());
}

fn with_snat(entries: &str) -> String {
    format!("{CLEAN}\n[vpc]\nsnat_table_id = \"stb-1\"\nsnat_entries = [{entries}]\n")
}

#[test]
fn snat_entries_cover_by_vswitch_id_or_by_a_block_that_holds_it() {
    let spec = |id: &str, cidr: &str| crate::scenario::VSwitchSpec {
        id: id.into(),
        zone: 0,
        cidr: cidr.parse().unwrap(),
        used_by_others: 0,
        created_at_ms: None,
        cidr_reservations: Vec::new(),
    };
    let entry = |id: Option<&str>, cidr: Option<&str>| crate::scenario::SnatEntry {
        id: None,
        source_vswitch_id: id.map(str::to_string),
        source_cidr: cidr.map(|c| c.parse().unwrap()),
        snat_ip: None,
    };
    let v = spec("vsw-a", "10.0.4.0/22");
    assert!(entry(Some("vsw-a"), None).covers(&v));
    assert!(!entry(Some("vsw-b"), None).covers(&v));
    assert!(entry(None, Some("10.0.0.0/16")).covers(&v));
    assert!(entry(None, Some("10.0.4.0/22")).covers(&v));
    assert!(entry(None, Some("0.0.0.0/0")).covers(&v));
    // Half the block, one instance, or a neighbour is not the vSwitch.
    assert!(!entry(None, Some("10.0.4.0/23")).covers(&v));
    assert!(!entry(None, Some("10.0.4.7/32")).covers(&v));
    assert!(!entry(None, Some("10.0.8.0/22")).covers(&v));
    // The id wins even when the listed block is another one.
    assert!(entry(Some("vsw-a"), Some("192.168.0.0/24")).covers(&v));
}

#[test]
fn vswitch_without_snat_names_the_vswitch_and_the_command() {
    let text = with_snat("{ id = \"snat-1\", source_vswitch_id = \"vsw-a1\" }");
    let found = finding(&text, "vswitch-without-snat");
    assert_eq!(found.severity, Severity::Warning);
    assert_eq!(found.key, "vswitch[1]");
    assert_eq!(found.line, Some(10));
    assert!(
        found.message.contains("`vsw-a2` (10.0.4.0/22)"),
        "{}",
        found.message
    );
    assert_eq!(
        found.fix,
        "aliyun vpc CreateSnatEntry --RegionId <region> --SnatTableId stb-1 --SourceVSwitchId vsw-a2 --SnatIp <EIP of the NAT gateway>"
    );
    let findings = lint_text(&text, &LintOptions::default());
    assert_eq!(findings.len(), 1, "{findings:?}");

    let covered = with_snat(
        "{ id = \"snat-1\", source_vswitch_id = \"vsw-a1\" }, { id = \"snat-2\", source_cidr = \"10.0.4.0/22\" }",
    );
    assert_eq!(codes(&covered), Vec::<&str>::new());
    let whole_vpc = with_snat("{ source_cidr = \"10.0.0.0/8\" }");
    assert_eq!(codes(&whole_vpc), Vec::<&str>::new());
}

#[test]
fn an_unknown_snat_table_is_silent_and_an_empty_one_is_not() {
    assert_eq!(codes(CLEAN), Vec::<&str>::new());
    let empty = with_snat("");
    assert_eq!(
        codes(&empty),
        vec!["vswitch-without-snat", "vswitch-without-snat"]
    );
}

#[test]
fn an_added_vswitch_without_snat_is_found_at_its_action() {
    let text = format!(
        "{}\n[[action]]\nat = \"1d\"\nadd_vswitch = {{ id = \"vsw-new\", zone = \"cn-hangzhou-h\", cidr = \"10.0.8.0/22\" }}\n",
        with_snat("{ source_cidr = \"10.0.0.0/21\" }")
    );
    let found: Vec<Finding> = lint_text(&text, &LintOptions::default())
        .into_iter()
        .filter(|f| f.code == "vswitch-without-snat")
        .collect();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].key, "action[0].add_vswitch");
    assert!(found[0].message.contains("is added by an action"));
    assert!(
        found[0]
            .fix
            .contains("--RegionId cn-hangzhou --SnatTableId stb-1 --SourceVSwitchId vsw-new"),
        "{}",
        found[0].fix
    );
}

#[test]
fn regions_of_zones() {
    assert_eq!(region_of("cn-hangzhou-h"), "cn-hangzhou");
    assert_eq!(region_of("eu-central-1a"), "eu-central-1");
    assert_eq!(region_of("ap-southeast-1b"), "ap-southeast-1");
    assert_eq!(region_of("z-a"), "<region>");
}
