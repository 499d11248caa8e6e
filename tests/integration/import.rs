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
            "bad/configmap-list-without-eni-config.yaml",
            "is a List of 1 objects without a ConfigMap `eni-config`",
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
        (
            "--eni-config",
            "bad/helm-template.yaml",
            "is a Helm template (line 9 has `{{ }}`), not data: render it with `helm template` first",
        ),
        (
            "--eni-config",
            "bad/helm-values.yaml",
            "is Helm chart values (a values.yaml: `securityGroupIDs` at line 4)",
        ),
        (
            "--eni-config",
            "bad/terminal-paste.yaml",
            "is a terminal session, not a command's output (line 1 is the command",
        ),
        (
            "--eni-config",
            "bad/ellipsis.yaml",
            "has `...` where a paste left values out (line 10)",
        ),
        (
            "--eni-config",
            "bad/eni-conf-fragment.yaml",
            "is only the `eni_conf:` key of a ConfigMap",
        ),
        (
            "--eni-config",
            "bad/printf-template.yaml",
            "is a Go format template (line 9 has `%s` placeholders)",
        ),
        (
            "--instance-types",
            "instance-types-no-eni-ips.json",
            "entry `ecs.g8ae.2xlarge`, the type of the nodes, has no `EniPrivateIpAddressQuantity`",
        ),
        (
            "--instance-types",
            "instance-types-float.json",
            "entry `ecs.g8ae.2xlarge`, the type of the nodes, has `EniQuantity` 4.5, not a whole number",
        ),
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

/// The same inputs with one flag's file replaced.
fn with(flag: &str, file: &str) -> Vec<String> {
    let mut args = all_inputs("eni-config.yaml");
    let at = args.iter().position(|a| a == flag).unwrap();
    args[at + 1] = fixture(file);
    args
}

/// The scenario printed for `args`, with the fixture paths it names replaced by `replace`.
fn scenario_text(args: &[String], extra: &[&str], replace: &[(&str, &str)]) -> String {
    let output = import(args, extra);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert!(!stderr(&output).contains("panicked"));
    let mut text = stdout(&output);
    for (from, to) in replace {
        text = text.replace(&fixture(from), &fixture(to));
    }
    text
}

#[test]
fn yaml_nodes_and_pods_import_as_their_json_does() {
    let json = scenario_text(&all_inputs("eni-config.yaml"), &[], &[]);
    let mut args = with("--nodes", "nodes.yaml");
    let at = args.iter().position(|a| a == "--pods").unwrap();
    args[at + 1] = fixture("pods.yaml");
    let yaml = scenario_text(
        &args,
        &[],
        &[("nodes.yaml", "nodes.json"), ("pods.yaml", "pods.json")],
    );
    assert_eq!(yaml, json);
}

#[test]
fn a_nodelist_and_a_single_node_are_nodes() {
    let json = scenario_text(&all_inputs("eni-config.yaml"), &[], &[]);
    let nodelist = scenario_text(
        &with("--nodes", "nodes-nodelist.json"),
        &[],
        &[("nodes-nodelist.json", "nodes.json")],
    );
    assert_eq!(nodelist, json);
    let scratch = Scratch::new("import-one-node");
    let out = scratch.path("one.toml");
    let output = import(
        &with("--nodes", "node-single.yaml"),
        &["-o", out.to_str().unwrap()],
    );
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains("nodes = 1 "), "{text}");
}

#[test]
fn items_null_is_an_empty_list_with_a_warning() {
    let output = import(&with("--pods", "pods-items-null.json"), &[]);
    let err = stderr(&output);
    assert_eq!(code(&output), 0, "{err}");
    let warning = err
        .lines()
        .find(|l| l.starts_with("warning[import-empty-list]"))
        .unwrap_or_else(|| panic!("{err}"));
    assert!(warning.contains("pods-items-null.json"), "{warning}");
    assert!(warning.contains("`items` is null"), "{warning}");
}

#[test]
fn the_bare_eni_conf_json_is_the_configmap_data() {
    let output = import(&with("--eni-config", "eni-conf.json"), &[]);
    let err = stderr(&output);
    assert_eq!(code(&output), 0, "{err}");
    assert!(
        err.contains("note: ") && err.contains("eni-conf.json: read as the bare eni_conf JSON"),
        "{err}"
    );
    let bare = stdout(&output);
    let from_configmap = scenario_text(&all_inputs("eni-config.yaml"), &[], &[]);
    let terway = |text: &str| -> String {
        let start = text.find("[terway]").unwrap();
        let end = text[start..].find("\n[[").map_or(text.len(), |e| start + e);
        text[start..end]
            .lines()
            .filter(|l| !l.starts_with("# From data.eni_conf"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(terway(&bare), terway(&from_configmap));
}

#[test]
fn a_manifest_gives_the_configmap_it_names() {
    let output = import(&with("--eni-config", "manifest.yaml"), &[]);
    let err = stderr(&output);
    assert_eq!(code(&output), 0, "{err}");
    assert!(
        err.contains("manifest.yaml: took ConfigMap kube-system/eni-config, document 3 of 4"),
        "{err}"
    );
    // Its comment finding points into the manifest: the ConfigMap starts at line 17.
    assert!(err.contains("manifest.yaml:30: data.eni_conf"), "{err}");
    let from_manifest =
        stdout(&output).replace(&fixture("manifest.yaml"), &fixture("eni-config.yaml"));
    assert_eq!(
        from_manifest,
        scenario_text(&all_inputs("eni-config.yaml"), &[], &[])
    );

    let other = import(
        &with("--eni-config", "manifest.yaml"),
        &["--configmap", "terway-config"],
    );
    let err = stderr(&other);
    assert_eq!(code(&other), 0, "{err}");
    assert!(
        err.contains("took ConfigMap kube-system/terway-config, document 2 of 4"),
        "{err}"
    );
    assert!(
        stdout(&other).contains("max_pool_size = 10"),
        "{}",
        stdout(&other)
    );

    let missing = import(
        &with("--eni-config", "manifest.yaml"),
        &["--configmap", "nope"],
    );
    let err = stderr(&missing);
    assert_eq!(code(&missing), 2, "{err}");
    assert!(
        err.contains("manifest.yaml: has 4 YAML documents but no ConfigMap `nope`")
            && err.contains("`terway-config`, `eni-config`"),
        "{err}"
    );
    let wrong = import(
        &all_inputs("eni-config.yaml"),
        &["--configmap", "terway-config"],
    );
    assert_eq!(code(&wrong), 2, "{}", stderr(&wrong));
    assert!(
        stderr(&wrong).contains("not `terway-config` (--configmap)"),
        "{}",
        stderr(&wrong)
    );
}

#[test]
fn region_keys_and_twice_listed_vswitches_are_check_findings() {
    let scratch = Scratch::new("import-keys");
    for (file, line, fix) in [
        (
            "eni-conf-by-region.json",
            "error[vswitch-keyed-by-region]",
            "key eni_conf vswitches by zone: {\"cn-hangzhou-h\": [\"vsw-bp1h0pods0001\"]}",
        ),
        (
            "eni-conf-listed-twice.json",
            "warning[vswitch-listed-twice]",
            "list `vsw-bp1h0pods0001` only under \"cn-hangzhou-h\" and remove it from \"cn-hangzhou-i\"",
        ),
    ] {
        let out = scratch.path(&format!("{file}.toml"));
        let output = import(&with("--eni-config", file), &["-o", out.to_str().unwrap()]);
        let err = stderr(&output);
        assert_eq!(code(&output), 0, "{err}");
        assert!(err.contains(line) && err.contains(fix), "{file}: {err}");
        // Written as Terway runs it, so `planner check` finds the same.
        let check = planner(&["check", out.to_str().unwrap()]);
        let text = stdout(&check);
        assert!(text.contains(line) && text.contains(fix), "{file}: {text}");
        let scenario = std::fs::read_to_string(&out).unwrap();
        assert!(scenario.contains("vsw-bp1h0pods0001"), "{scenario}");
    }
}

#[test]
fn an_incomplete_instance_type_the_catalog_knows_falls_back_with_a_warning() {
    let output = import(
        &with("--instance-types", "instance-types-catalog-incomplete.json"),
        &[],
    );
    let err = stderr(&output);
    assert_eq!(code(&output), 0, "{err}");
    assert!(
        err.contains("warning[import-instance-type-incomplete]")
            && err.contains("the entry of `ecs.g7.xlarge` has no `EniPrivateIpAddressQuantity`"),
        "{err}"
    );
}

#[test]
fn snat_entries_cover_vswitches_by_id_and_by_block() {
    let scratch = Scratch::new("import-snat");
    let out = scratch.path("snat.toml");
    let mut args = all_inputs("eni-config.yaml");
    args.extend(["--snat-entries".to_string(), fixture("snat-entries.json")]);
    let output = import(&args, &["-o", out.to_str().unwrap()]);
    let err = stderr(&output);
    assert_eq!(code(&output), 0, "{err}");
    assert!(!err.contains("vswitch-without-snat"), "{err}");
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(
        text.contains(
            "snat-entries.json (DescribeSnatTableEntries: 3 entries, 1 being deleted left out)"
        ),
        "{text}"
    );
    assert!(
        text.contains("snat_table_id = \"stb-bp1snattable001\" # the entries' SnatTableId"),
        "{text}"
    );
    // By id (vsw-bp1h0pods0001), and by a /23 holding both /24s of zone i.
    assert!(
        text.contains("  # [0]: SnatEntryId, SourceVSwitchId, SourceCIDR, SnatIp, Status Available\n  { id = \"snat-bp1pods00h\", source_vswitch_id = \"vsw-bp1h0pods0001\""),
        "{text}"
    );
    assert!(
        text.contains("  { id = \"snat-bp1pods00i\", source_cidr = \"10.0.4.0/23\", snat_ip = \"47.98.10.1,47.98.10.2\" },"),
        "{text}"
    );
    assert!(!text.contains("snat-bp1oldmisc"), "being deleted: {text}");
    let check = planner(&["check", out.to_str().unwrap()]);
    assert_eq!(code(&check), 0, "{}", stderr(&check));
    assert!(!stdout(&check).contains("vswitch-without-snat"));
}

#[test]
fn a_listed_vswitch_no_snat_entry_covers_is_found_by_import_and_check() {
    let scratch = Scratch::new("import-snat-missing");
    let out = scratch.path("snat.toml");
    let mut args = all_inputs("eni-config.yaml");
    args.extend([
        "--snat-entries".to_string(),
        fixture("snat-entries-zone-i-missing.json"),
    ]);
    let output = import(&args, &["-o", out.to_str().unwrap()]);
    let err = stderr(&output);
    assert_eq!(code(&output), 0, "{err}");
    let found: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("warning[vswitch-without-snat]"))
        .collect();
    assert_eq!(found.len(), 2, "{err}");
    assert!(
        found[0].contains("`vsw-bp1i0pods0001` (10.0.4.0/24) is listed for Terway")
            && found[0].contains("fix: aliyun vpc CreateSnatEntry --RegionId cn-hangzhou --SnatTableId stb-bp1snattable001 --SourceVSwitchId vsw-bp1i0pods0001 --SnatIp <EIP of the NAT gateway>"),
        "{err}"
    );
    assert!(found[1].contains("vsw-bp1i0pods0002"), "{err}");
    // The same from `planner check`, in both formats.
    let check = planner(&["check", out.to_str().unwrap()]);
    assert_eq!(code(&check), 0, "warnings only: {}", stderr(&check));
    let text = stdout(&check);
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("warning[vswitch-without-snat]"))
        .collect();
    assert_eq!(lines, found, "{text}");
    let check = planner(&["check", out.to_str().unwrap(), "--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&stdout(&check)).unwrap();
    let snat: Vec<&serde_json::Value> = json
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "vswitch-without-snat")
        .collect();
    assert_eq!(snat.len(), 2, "{json}");
    assert_eq!(snat[0]["severity"], "warning");
    assert_eq!(snat[0]["key"], "vswitch[1]");
    assert!(snat[0]["line"].is_u64(), "{json}");
    assert!(
        snat[0]["fix"]
            .as_str()
            .unwrap()
            .starts_with("aliyun vpc CreateSnatEntry --RegionId cn-hangzhou"),
        "{json}"
    );
}

#[test]
fn without_snat_entries_nothing_is_said_about_snat() {
    let output = import(&all_inputs("eni-config.yaml"), &[]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    // (The fixtures' path may hold the word, so look for the key and the code.)
    assert!(
        !stderr(&output).contains("without-snat"),
        "{}",
        stderr(&output)
    );
    assert!(!stdout(&output).contains("snat_"), "{}", stdout(&output));
    assert!(!stdout(&output).contains("SNAT"), "{}", stdout(&output));
    assert!(!stdout(&output).contains("[vpc]"), "{}", stdout(&output));
}

#[test]
fn a_wrong_snat_file_is_refused_naming_it() {
    for (file, expected) in [
        (
            "vswitches.json",
            "is a DescribeVSwitches listing, not SnatTableEntries.SnatTableEntry",
        ),
        (
            "bad/nat-gateways.json",
            "is a DescribeNatGateways listing, not SnatTableEntries.SnatTableEntry: take a SnatTableIds value from it",
        ),
        ("bad/truncated-snat-entries.json", "is truncated"),
        (
            "bad/snat-terminal-paste.json",
            "is a terminal session, not a command's output (line 1 is the command",
        ),
    ] {
        let mut args = all_inputs("eni-config.yaml");
        args.extend(["--snat-entries".to_string(), fixture(file)]);
        let output = import(&args, &[]);
        let err = stderr(&output);
        assert_eq!(code(&output), 2, "{file}: {err}");
        assert!(err.contains(file), "{file}: names the file: {err}");
        assert!(err.contains(expected), "{file}: `{expected}` in {err}");
        assert!(
            err.contains(
                "expected the JSON of `aliyun vpc DescribeSnatTableEntries --SnatTableId stb-"
            ),
            "{file}: says what to pass: {err}"
        );
        assert!(stdout(&output).is_empty(), "nothing written on failure");
    }
    // The SNAT listing passed as the vSwitches says what it is.
    let output = import(&with("--vswitches", "snat-entries.json"), &[]);
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).contains("is a DescribeSnatTableEntries listing, not VSwitches.VSwitch"),
        "{}",
        stderr(&output)
    );
}

/// A node pool's own Terway ConfigMap (its nodes' `terway-config` label) from a List of
/// kube-system's ConfigMaps, and the reserved blocks of `ListVSwitchCidrReservations`: the
/// pool gets `terway = { ... }` with prefix mode, the vSwitch its reservation, and the run
/// takes /28s from it.
#[test]
fn node_pool_configs_and_reservations_import_into_prefix_mode() {
    let scratch = Scratch::new("import-node-pool-configs");
    let out = scratch.path("s.toml");
    let args: Vec<String> = [
        "import",
        "--eni-config",
        &fixture("node-pool-configs/kube-system-configmaps.json"),
        "--vswitches",
        &fixture("vswitches.json"),
        "--nodes",
        &fixture("node-pool-configs/nodes-terway-config.json"),
        "--pods",
        &fixture("pods.json"),
        "--instance-types",
        &fixture("instance-types.json"),
        "--cidr-reservations",
        &fixture("node-pool-configs/cidr-reservations.json"),
        "-o",
        out.to_str().unwrap(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = planner(&refs);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(
        text.contains("terway = { max_pool_size = 0, ipam_type = \"crd\", enable_ip_prefix = true, ipv4_prefix_count = 4 }"),
        "{text}"
    );
    assert!(
        text.contains("cidr_reservations = [\"10.0.5.64/26\"]"),
        "{text}"
    );
    let report = scratch.path("report");
    let output = run_to(&out, &report, &["--runs", "1", "--check-invariants"]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let (header, rows) = read_csv(&report.join("prefixes.csv"));
    assert_eq!(cell(&header, &rows[0], "vswitch"), "vsw-bp1i0pods0002");
    assert_eq!(cell(&header, &rows[0], "prefixes"), "4");

    // Without the pool's ConfigMap, the nodes' label names one import cannot find.
    let args: Vec<String> = args
        .iter()
        .map(|a| {
            if a.ends_with("kube-system-configmaps.json") {
                fixture("eni-config.json")
            } else {
                a.clone()
            }
        })
        .collect();
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = planner(&refs);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert!(
        stderr(&output).contains("import-terway-config-missing"),
        "{}",
        stderr(&output)
    );
}
