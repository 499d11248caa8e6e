//! What Terway and the VPC already tell (`planner import --terway-mapping`) and the runbook
//! `planner run` writes for its recommendations, through the real binary: the mapping dumps in
//! `tests/fixtures/import/mapping/` (the two shapes `terway-cli mapping` prints) become each
//! vSwitch's `idle_today`, taken out of `used_by_others`; `runbook.md` carries commands whose
//! flags, patch and Terraform are checked by running, parsing and importing them again.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::util::*;

fn fixture(name: &str) -> String {
    let path: PathBuf = root().join("tests/fixtures").join(name);
    path.to_str().expect("utf-8 path").to_string()
}

fn import_args(extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "import",
        "--eni-config",
        &fixture("import/eni-config.yaml"),
        "--vswitches",
        &fixture("import/vswitches.json"),
        "--nodes",
        &fixture("import/nodes.json"),
        "--pods",
        &fixture("import/pods.json"),
        "--instance-types",
        &fixture("import/instance-types.json"),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

fn planner_strings(args: &[String]) -> std::process::Output {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    planner(&args)
}

/// `[[vswitch]]` id to (used_by_others, idle_today) in an imported scenario.
fn vswitch_counts(text: &str) -> Vec<(String, i64, Option<i64>)> {
    let value: toml::Value = toml::from_str(text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    value["vswitch"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["id"].as_str().unwrap().to_string(),
                v["used_by_others"].as_integer().unwrap(),
                v.get("idle_today").and_then(toml::Value::as_integer),
            )
        })
        .collect()
}

fn count_of<'a>(
    counts: &'a [(String, i64, Option<i64>)],
    id: &str,
) -> &'a (String, i64, Option<i64>) {
    counts.iter().find(|c| c.0 == id).unwrap()
}

// The tree dump (Terway v1.7+) of the five imported nodes: idle addresses (a line with an
// address and a status but no pod) are 10.0.0.20-22 on node .10 and 10.0.0.23-24 on node .11
// (10.0.0.25 is Deleting, not idle): 5 in vsw-bp1h0pods0001 (10.0.0.0/22); 10.0.4.20, .22,
// .23 on node .70 and 10.0.4.21 on node .71: 4 in vsw-bp1i0pods0001 (10.0.4.0/24); none in the
// other vSwitches. Each leaves used_by_others, which without the mapping counted them.
#[test]
fn a_mapping_of_several_nodes_makes_idle_addresses_known() {
    let scratch = Scratch::new("mapping-tree");
    let without = scratch.path("without.toml");
    let with = scratch.path("with.toml");
    let output = planner_strings(&import_args(&["-o", without.to_str().unwrap()]));
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let output = planner_strings(&import_args(&[
        "--terway-mapping",
        &fixture("import/mapping/nodes.txt"),
        "-o",
        with.to_str().unwrap(),
    ]));
    let err = stderr(&output);
    assert_eq!(code(&output), 0, "{err}");
    assert!(
        !err.contains("import-mapping"),
        "every node is in the mapping: {err}"
    );
    let before = vswitch_counts(&std::fs::read_to_string(&without).unwrap());
    let text = std::fs::read_to_string(&with).unwrap();
    assert!(
        text.contains("terway-cli mapping: 5 nodes, 9 idle addresses"),
        "{text}"
    );
    let after = vswitch_counts(&text);
    for (id, idle) in [
        ("vsw-bp1h0pods0001", 5),
        ("vsw-bp1i0pods0001", 4),
        ("vsw-bp1i0pods0002", 0),
        ("vsw-bp1h0node0001", 0),
    ] {
        let (_, others_before, idle_before) = count_of(&before, id);
        let (_, others_after, idle_after) = count_of(&after, id);
        assert_eq!(*idle_before, None, "{id}");
        assert_eq!(*idle_after, Some(idle), "{id}");
        assert_eq!(others_before - others_after, idle, "{id}");
    }

    let reports = scratch.path("reports");
    let run = planner(&[
        "run",
        with.to_str().unwrap(),
        "--runs",
        "1",
        "--out",
        reports.to_str().unwrap(),
    ]);
    let out = stdout(&run);
    assert_eq!(code(&run), 0, "{}", stderr(&run));
    assert!(
        out.contains("idle addresses in Terway's pools today (terway-cli mapping)"),
        "{out}"
    );
    assert!(
        out.contains("  cn-hangzhou-h      today 5, model "),
        "{out}"
    );
    assert!(
        out.contains("  cn-hangzhou-i      today 4, model "),
        "{out}"
    );
    let md = std::fs::read_to_string(reports.join("summary.md")).unwrap();
    assert!(md.contains("### Idle addresses in Terway's pools"), "{md}");
    assert!(md.contains("| cn-hangzhou-h | 5 | "), "{md}");
    assert!(md.contains("| cn-hangzhou-i | 4 | "), "{md}");
    // Without the mapping the summary says nothing about it.
    let run = planner(&[
        "run",
        without.to_str().unwrap(),
        "--runs",
        "1",
        "--out",
        scratch.path("reports-without").to_str().unwrap(),
    ]);
    assert!(!stdout(&run).contains("terway-cli mapping"));
    let md = std::fs::read_to_string(scratch.path("reports-without").join("summary.md")).unwrap();
    assert!(!md.contains("Idle addresses in Terway's pools"));
}

// The table dumps (Terway before v1.7), one file per node named after it: node .70 has three
// Idle rows (10.0.4.20, .22, .23) and node .71 one (10.0.4.21; its ERROR row is not idle), all
// in vsw-bp1i0pods0001. The other three nodes are not in the mapping, which import says.
#[test]
fn table_dumps_one_file_per_node_after_one_flag_or_repeated() {
    let scratch = Scratch::new("mapping-table");
    let a = fixture("import/mapping/legacy/cn-hangzhou.10.0.100.70.txt");
    let b = fixture("import/mapping/legacy/cn-hangzhou.10.0.100.71.txt");
    let mut texts = Vec::new();
    for (name, flags) in [
        ("one-flag.toml", vec!["--terway-mapping", &a, &b]),
        (
            "repeated.toml",
            vec!["--terway-mapping", &a, "--terway-mapping", &b],
        ),
    ] {
        let out = scratch.path(name);
        let mut extra = flags.clone();
        extra.extend(["-o", out.to_str().unwrap()]);
        let output = planner_strings(&import_args(&extra));
        let err = stderr(&output);
        assert_eq!(code(&output), 0, "{err}");
        assert!(
            err.contains("warning[import-mapping-partial]")
                && err.contains("(3 of 5 imported nodes)"),
            "{err}"
        );
        let text = std::fs::read_to_string(&out).unwrap();
        let counts = vswitch_counts(&text);
        assert_eq!(count_of(&counts, "vsw-bp1i0pods0001").2, Some(4));
        assert_eq!(count_of(&counts, "vsw-bp1h0pods0001").2, Some(0));
        texts.push(text.replace(name.trim_end_matches(".toml"), "X"));
    }
    assert_eq!(texts[0], texts[1]);
}

#[test]
fn a_file_that_is_no_mapping_is_refused_with_its_line() {
    let scratch = Scratch::new("mapping-bad");
    let garbage = scratch.write(
        "pods.txt",
        "### node cn-hangzhou.10.0.100.10\nNAME                  READY   STATUS    RESTARTS   AGE\nweb-5d8f7c9b4-x2k9p   1/1     Running   0          3d\n",
    );
    let twice = scratch.write(
        "twice.txt",
        "### node a\nStatus | Pod Name | Res ID | Factory Res ID\n### node a\n",
    );
    for (file, expected) in [
        (fixture("import/nodes.json"), "line 1 (`{`)".to_string()),
        (
            garbage.to_str().unwrap().to_string(),
            "line 2 (`NAME                  READY".to_string(),
        ),
        (
            twice.to_str().unwrap().to_string(),
            "node `a` (line 3) is also at".to_string(),
        ),
    ] {
        let output = planner_strings(&import_args(&["--terway-mapping", &file]));
        let err = stderr(&output);
        assert_eq!(code(&output), 2, "{file}: {err}");
        assert!(err.contains(&file) && err.contains(&expected), "{err}");
        assert!(err.contains("terway-cli mapping"), "{err}");
        assert!(!err.contains("panicked"), "{err}");
        assert!(stdout(&output).is_empty());
    }
}

/// The fenced blocks of a language in a Markdown text, in order.
fn blocks(markdown: &str, language: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match &mut current {
            None if line == format!("```{language}") => current = Some(String::new()),
            Some(_) if line == "```" => out.push(current.take().unwrap()),
            Some(text) => {
                text.push_str(line);
                text.push('\n');
            }
            None => {}
        }
    }
    out
}

/// The `--Flag value` pairs of a command line (values as the shell would see them, quotes
/// removed).
fn flags(line: &str) -> Vec<(String, String)> {
    let words: Vec<&str> = line.split_whitespace().collect();
    words
        .windows(2)
        .filter(|w| w[0].starts_with("--") && !w[1].starts_with("--"))
        .map(|w| (w[0].to_string(), w[1].trim_matches('"').to_string()))
        .collect()
}

fn flag<'a>(pairs: &'a [(String, String)], name: &str) -> &'a str {
    pairs
        .iter()
        .find(|(f, _)| f == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no {name} in {pairs:?}"))
}

/// Runs the runbook's `kubectl ... patch` line in bash, with `kubectl` standing in to print
/// its arguments and the vSwitch variables set, and returns the `-p` argument as parsed JSON.
fn run_patch(scratch: &Scratch, line: &str, ids: &[(&str, &str)]) -> Value {
    let script = scratch.write("patch.sh", line);
    let args = scratch.path("args.txt");
    let mut setup = format!(
        "kubectl() {{ printf '%s\\0' \"$@\" > '{}'; }}\n",
        args.display()
    );
    for (variable, id) in ids {
        setup.push_str(&format!("{variable}={id}\n"));
    }
    setup.push_str(&format!(". '{}'\n", script.display()));
    let status = Command::new("bash")
        .arg("-c")
        .arg(&setup)
        .status()
        .expect("bash runs");
    assert!(status.success());
    let printed = std::fs::read(&args).unwrap();
    let words: Vec<String> = printed
        .split(|&b| b == 0)
        .filter(|w| !w.is_empty())
        .map(|w| String::from_utf8(w.to_vec()).unwrap())
        .collect();
    assert_eq!(
        &words[..7],
        [
            "-n",
            "kube-system",
            "patch",
            "configmap",
            "eni-config",
            "--type",
            "merge"
        ],
        "{words:?}"
    );
    assert_eq!(words[7], "-p");
    assert_eq!(words.len(), 9, "{words:?}");
    serde_json::from_str(&words[8]).unwrap_or_else(|e| panic!("{e}: {}", words[8]))
}

/// A JSON merge patch (RFC 7386), as `kubectl patch --type merge` applies it.
fn merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(target), Value::Object(patch)) => {
            for (key, value) in patch {
                if value.is_null() {
                    target.remove(key);
                } else {
                    merge(target.entry(key.clone()).or_insert(Value::Null), value);
                }
            }
        }
        (target, patch) => *target = patch.clone(),
    }
}

fn hcl_attribute<'a>(block: &'a hcl::Block, key: &str) -> &'a hcl::Expression {
    block
        .body
        .attributes()
        .find(|a| a.key.as_str() == key)
        .map(|a| &a.expr)
        .unwrap_or_else(|| panic!("no {key} in {block:?}"))
}

fn hcl_string(block: &hcl::Block, key: &str) -> String {
    match hcl_attribute(block, key) {
        hcl::Expression::String(s) => s.clone(),
        other => panic!("{key} is {other:?}"),
    }
}

// The imported fixtures grown by 40 pods a day outgrow zone cn-hangzhou-i within 30 days; with
// the VPC's block given, the recommendation has a block. Every command of the runbook is
// checked against recommendations.csv and the scenario: the flags of the aliyun CLI, the
// patch (run through bash, then applied to the ConfigMap and imported again), the HCL (parsed
// with hcl-rs, as Terraform's own parser is Go), and the alert threshold.
#[test]
fn an_imported_scenario_gets_a_runbook_its_cluster_can_run() {
    let scratch = Scratch::new("runbook-import");
    let scenario = scratch.path("cluster.toml");
    let output = planner_strings(&import_args(&[
        "--snat-entries",
        &fixture("import/snat-entries.json"),
        "--terway-mapping",
        &fixture("import/mapping/nodes.txt"),
        "--growth-per-day",
        "40",
        "--horizon",
        "30d",
        "-o",
        scenario.to_str().unwrap(),
    ]));
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let text = std::fs::read_to_string(&scenario).unwrap().replacen(
        "[vpc]\n",
        "[vpc]\ncidr = \"10.0.0.0/16\"\n",
        1,
    );
    std::fs::write(&scenario, &text).unwrap();
    let imported: toml::Value = toml::from_str(&text).unwrap();
    let source_conf = imported["source"]["eni_conf"].as_str().unwrap().to_string();

    let out = scratch.path("out");
    let run = run_to(&scenario, &out, &[]);
    assert_eq!(code(&run), 0, "{}", stderr(&run));
    let (header, rows) = read_csv(&out.join("recommendations.csv"));
    assert_eq!(rows.len(), 1, "{rows:?}");
    let zone = cell(&header, &rows[0], "zone").to_string();
    let block = cell(&header, &rows[0], "add_cidr").to_string();
    let trigger: f64 = cell(&header, &rows[0], "trigger_used_fraction")
        .parse()
        .unwrap();
    assert_eq!(zone, "cn-hangzhou-i");
    assert!(!block.is_empty());
    let runbook = std::fs::read_to_string(out.join("runbook.md")).unwrap();

    // Step 1 and 2: the aliyun CLI lines.
    let shell = blocks(&runbook, "sh");
    let create = shell
        .iter()
        .flat_map(|b| b.lines())
        .find(|l| l.contains("aliyun vpc CreateVSwitch"))
        .unwrap();
    assert!(
        create.starts_with("VSW_1=$(aliyun vpc CreateVSwitch "),
        "{create}"
    );
    assert!(create.ends_with(" | jq -r .VSwitchId)"), "{create}");
    let pairs = flags(create);
    assert_eq!(flag(&pairs, "--RegionId"), "cn-hangzhou");
    assert_eq!(flag(&pairs, "--ZoneId"), zone);
    assert_eq!(flag(&pairs, "--VpcId"), "vpc-bp1qpo0kug3a20qqe2ivx");
    assert_eq!(flag(&pairs, "--CidrBlock"), block);
    assert_eq!(flag(&pairs, "--VSwitchName"), "terway-pods-cn-hangzhou-i-4");
    let snat = shell
        .iter()
        .flat_map(|b| b.lines())
        .find(|l| l.contains("aliyun vpc CreateSnatEntry"))
        .unwrap();
    let pairs = flags(snat);
    assert_eq!(flag(&pairs, "--RegionId"), "cn-hangzhou");
    assert_eq!(flag(&pairs, "--SnatTableId"), "stb-bp1snattable001");
    assert_eq!(flag(&pairs, "--SourceVSwitchId"), "$VSW_1");
    // The address of the entry that covers the zone's pod vSwitches today.
    assert_eq!(flag(&pairs, "--SnatIp"), "47.98.10.1,47.98.10.2");

    // Step 3: the patch, as bash passes it to kubectl.
    let patch_line = shell
        .iter()
        .flat_map(|b| b.lines())
        .find(|l| l.starts_with("kubectl -n kube-system patch configmap eni-config"))
        .unwrap();
    let patch = run_patch(&scratch, patch_line, &[("VSW_1", "vsw-bp1new0000001")]);
    let patched_text = patch["data"]["eni_conf"].as_str().unwrap().to_string();
    assert_eq!(patch["data"].as_object().unwrap().len(), 1, "{patch}");
    // The original eni_conf, its two `#` comments (which Terway cannot parse) removed by hand.
    let configmap: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("import/eni-config.json")).unwrap())
            .unwrap();
    let original_text = configmap["data"]["eni_conf"]
        .as_str()
        .unwrap()
        .replace(" # idle addresses a node keeps at most", " ")
        .replace(" # most free addresses first", " ");
    assert_eq!(source_conf, original_text);
    // Only the id was added to the text, so keys keep their order and spacing.
    assert_eq!(
        patched_text.replacen(", \"vsw-bp1new0000001\"", "", 1),
        original_text
    );
    let patched: Value = serde_json::from_str(&patched_text).unwrap();
    let mut expected: Value = serde_json::from_str(&original_text).unwrap();
    expected["vswitches"][zone.as_str()]
        .as_array_mut()
        .unwrap()
        .push("vsw-bp1new0000001".into());
    assert_eq!(patched, expected);
    for ignored in [
        "credential_path",
        "eni_tags",
        "service_cidr",
        "security_group",
        "version",
    ] {
        assert_eq!(patched[ignored], expected[ignored], "{ignored}");
    }

    // The ConfigMap as the patch leaves it, imported again with the new vSwitch described:
    // the scenario lists it under its zone.
    let mut applied = configmap.clone();
    merge(&mut applied, &patch);
    let cm = scratch.write("cm-after.json", &applied.to_string());
    let mut listing: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("import/vswitches.json")).unwrap())
            .unwrap();
    listing["VSwitches"]["VSwitch"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({
            "VSwitchId": "vsw-bp1new0000001",
            "VpcId": "vpc-bp1qpo0kug3a20qqe2ivx",
            "ZoneId": zone,
            "CidrBlock": block,
            "AvailableIpAddressCount": 100,
        }));
    let vsw = scratch.write("vsw-after.json", &listing.to_string());
    let again = planner(&[
        "import",
        "--eni-config",
        cm.to_str().unwrap(),
        "--vswitches",
        vsw.to_str().unwrap(),
    ]);
    let err = stderr(&again);
    assert_eq!(code(&again), 0, "{err}");
    assert!(!err.contains("eni-conf-unparsable"), "{err}");
    let reimported: toml::Value = toml::from_str(&stdout(&again)).unwrap();
    let listed: Vec<&str> = reimported["terway"]["vswitches"][zone.as_str()]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        listed,
        [
            "vsw-bp1i0pods0001",
            "vsw-bp1i0pods0002",
            "vsw-bp1new0000001"
        ]
    );
    assert!(
        reimported["vswitch"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["id"].as_str() == Some("vsw-bp1new0000001")),
    );

    // Step 4: the restart.
    let all_shell = shell.join("");
    assert!(all_shell.contains("kubectl -n kube-system rollout restart daemonset/terway-eniip\n"));
    assert!(
        all_shell.contains(
            "kubectl -n kube-system rollout status daemonset/terway-eniip --timeout=15m\n"
        )
    );

    // Step 5: Terraform.
    let hcl_blocks = blocks(&runbook, "hcl");
    assert_eq!(hcl_blocks.len(), 1);
    let body: hcl::Body = hcl::from_str(&hcl_blocks[0]).unwrap_or_else(|e| panic!("{e}"));
    let resources: Vec<&hcl::Block> = body.blocks().collect();
    assert_eq!(resources.len(), 2);
    let vswitch = resources[0];
    assert_eq!(vswitch.identifier.as_str(), "resource");
    assert_eq!(vswitch.labels[0].as_str(), "alicloud_vswitch");
    assert_eq!(hcl_string(vswitch, "vpc_id"), "vpc-bp1qpo0kug3a20qqe2ivx");
    assert_eq!(hcl_string(vswitch, "cidr_block"), block);
    assert_eq!(hcl_string(vswitch, "zone_id"), zone);
    assert_eq!(
        hcl_string(vswitch, "vswitch_name"),
        "terway-pods-cn-hangzhou-i-4"
    );
    let entry = resources[1];
    assert_eq!(entry.labels[0].as_str(), "alicloud_snat_entry");
    assert_eq!(hcl_string(entry, "snat_table_id"), "stb-bp1snattable001");
    assert_eq!(hcl_string(entry, "snat_ip"), "47.98.10.1,47.98.10.2");
    let source = hcl_attribute(entry, "source_vswitch_id").to_string();
    assert_eq!(
        source,
        format!("alicloud_vswitch.{}.id", vswitch.labels[1].as_str())
    );

    // Step 6: the alert on the used fraction.
    let rule = &blocks(&runbook, "yaml")[0];
    assert!(
        rule.contains("vswitch_id=~\"vsw-bp1i0pods0001|vsw-bp1i0pods0002\"}) / "),
        "{rule}"
    );
    let threshold: f64 = rule
        .lines()
        .find(|l| l.contains("> "))
        .and_then(|l| l.rsplit("> ").next())
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(
        (threshold - trigger).abs() < 0.0006,
        "{threshold} vs {trigger}"
    );
}

// known-demand.toml (see tests/integration/plan.rs) recommends 10.0.1.0/26 in zone z1 by 186 h
// (7d 18h), when 187 of vsw-a's 252 addresses are used (0.742). It is hand-written: no VPC, a
// zone that names no region, no SNAT table, no eni_conf; the runbook says so and builds
// eni_conf from [terway].
#[test]
fn a_hand_written_scenario_gets_placeholders_and_a_built_eni_conf() {
    let scratch = Scratch::new("runbook-hand");
    let out = scratch.path("out");
    let run = run_to(Path::new(&fixture("known-demand.toml")), &out, &[]);
    assert_eq!(code(&run), 0, "{}", stderr(&run));
    let runbook = std::fs::read_to_string(out.join("runbook.md")).unwrap();
    assert!(
        runbook.contains(
            "| z1 | `$VSW_1` (terway-pods-z1-2) | 10.0.1.0/26 | 60 | 7d 18h | 74% used |"
        ),
        "{runbook}"
    );
    let shell = blocks(&runbook, "sh").join("");
    let create = shell
        .lines()
        .find(|l| l.contains("aliyun vpc CreateVSwitch"))
        .unwrap();
    let pairs = flags(create);
    assert_eq!(flag(&pairs, "--RegionId"), "<region-id>");
    assert_eq!(flag(&pairs, "--VpcId"), "<vpc-id>");
    assert_eq!(flag(&pairs, "--CidrBlock"), "10.0.1.0/26");
    assert!(runbook.contains("**Placeholder:** the scenario names no VPC"));
    assert!(runbook.contains("**Placeholder:** the zone `z1` does not name a region"));
    assert!(runbook.contains("The scenario carries no SNAT table"));
    assert!(runbook.contains("**Built from the scenario's `[terway]` settings:**"));

    let patch_line = shell
        .lines()
        .find(|l| l.starts_with("kubectl -n kube-system patch"))
        .unwrap();
    let patch = run_patch(&scratch, patch_line, &[("VSW_1", "vsw-z1new")]);
    let conf: Value = serde_json::from_str(patch["data"]["eni_conf"].as_str().unwrap()).unwrap();
    assert_eq!(
        conf,
        serde_json::json!({
            "vswitches": {"z1": ["vsw-a", "vsw-z1new"]},
            "vswitch_selection_policy": "ordered",
            "eni_selection_policy": "most_ips",
            "max_pool_size": 0,
            "min_pool_size": 0,
            "ip_pool_sync_period": "2m",
        })
    );
    let body: hcl::Body = hcl::from_str(&blocks(&runbook, "hcl")[0]).unwrap();
    assert_eq!(body.blocks().count(), 2);
    let rule = &blocks(&runbook, "yaml")[0];
    assert!(
        rule.contains(
            "1 - sum(alicloud_vswitch_available_ip_count{vswitch_id=~\"vsw-a\"}) / 252 > 0.742"
        ),
        "{rule}"
    );
}

#[test]
fn without_a_recommendation_there_is_no_runbook() {
    let scratch = Scratch::new("runbook-none");
    // Demand 241 fits vsw-a's 252 without headroom: nothing to add.
    let text = std::fs::read_to_string(fixture("known-demand.toml"))
        .unwrap()
        .replace("headroom = 0.2", "headroom = 0");
    let scenario = scratch.write("fits.toml", &text);
    let out = scratch.path("out");
    let run = run_to(&scenario, &out, &[]);
    assert_eq!(code(&run), 0, "{}", stderr(&run));
    assert!(!out.join("runbook.md").exists());
    let (_, rows) = read_csv(&out.join("recommendations.csv"));
    assert!(rows.is_empty());
}

#[test]
fn the_new_keys_are_checked_with_their_line() {
    let scratch = Scratch::new("runbook-keys");
    let base = std::fs::read_to_string(fixture("known-demand.toml")).unwrap();
    for (name, edit, key) in [
        (
            "idle.toml",
            base.replace(
                "cidr = \"10.0.0.0/24\"\n",
                "cidr = \"10.0.0.0/24\"\nidle_today = 253\n",
            ),
            "vswitch[0].idle_today",
        ),
        (
            "conf.toml",
            format!("{base}\n[source]\neni_conf = \"{{ not json\"\n"),
            "source.eni_conf",
        ),
        (
            "added.toml",
            format!(
                "{base}\n[[action]]\nat = \"1d\"\nadd_vswitch = {{ id = \"vsw-b\", zone = \"z1\", cidr = \"10.0.1.0/24\", idle_today = 1 }}\n"
            ),
            "action[0].add_vswitch.idle_today",
        ),
    ] {
        let file = scratch.write(name, &edit);
        let output = planner(&["check", file.to_str().unwrap()]);
        let err = format!("{}{}", stdout(&output), stderr(&output));
        assert_eq!(code(&output), 2, "{name}: {err}");
        assert!(err.contains(key) && err.contains(name), "{name}: {err}");
    }
}

const WARM: &str = r#"
[scenario]
name = "warm"
horizon = "2h"
runs = 1
sample_interval = "10m"

[[vswitch]]
id = "vsw-a"
zone = "cn-hangzhou-h"
cidr = "10.0.0.0/24"
idle_today = 7

[terway]
vswitches = { "cn-hangzhou-h" = ["vsw-a"] }
vswitch_selection_policy = "ordered"
max_pool_size = 5
min_pool_size = 0

[[nodepool]]
name = "p"
instance_type = "ecs.g7.xlarge"
zones = ["cn-hangzhou-h"]
nodes = 2
"#;

// Two nodes and no pods: the 7 idle addresses of today are spread 4 and 3 over the nodes, both
// at or under max_pool_size 5, so the pool loop keeps them all: the zone holds 2 eth0 + 7 = 9,
// 7 of them idle an hour in. With max_pool_size 3 each node starts with at most 3: 6 idle, 8
// held. The checker runs after every event.
#[test]
fn the_first_nodes_start_holding_todays_idle_addresses() {
    let scratch = Scratch::new("warm-start");
    for (max_pool, idle, held) in [(5, 7, 9), (3, 6, 8)] {
        let text = WARM.replace("max_pool_size = 5", &format!("max_pool_size = {max_pool}"));
        let scenario = scratch.write(&format!("warm-{max_pool}.toml"), &text);
        let out = scratch.path(&format!("out-{max_pool}"));
        let run = planner(&[
            "run",
            scenario.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--check-invariants",
        ]);
        assert_eq!(code(&run), 0, "{}", stderr(&run));
        assert!(
            stdout(&run).contains(&format!("  cn-hangzhou-h      today 7, model {idle}\n")),
            "{}",
            stdout(&run)
        );
        let (header, zones) = read_csv(&out.join("zones.csv"));
        assert_eq!(cell(&header, &zones[0], "peak_used_p50"), held.to_string());
    }
}
