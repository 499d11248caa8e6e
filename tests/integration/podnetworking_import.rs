//! `planner import --podnetworkings`: PodNetworking objects (`kubectl get podnetworkings -o
//! yaml`), the pods they bind, the exclusive-ENI label and EniTotalQuantity become a scenario
//! that runs with `--check-invariants`; files that are not PodNetworkings are refused.

use crate::util::*;

fn fixture(name: &str) -> String {
    root()
        .join("tests/fixtures/import/podnetworking")
        .join(name)
        .to_str()
        .expect("utf-8 path")
        .to_string()
}

fn import(pn: &str, extra: &[&str]) -> std::process::Output {
    let files = [
        ("--eni-config", "eni-config.yaml"),
        ("--vswitches", "vswitches.json"),
        ("--nodes", "nodes.json"),
        ("--pods", "pods.json"),
        ("--podnetworkings", pn),
    ];
    let paths: Vec<(String, String)> = files
        .iter()
        .map(|(flag, file)| (flag.to_string(), fixture(file)))
        .collect();
    let mut args: Vec<&str> = vec!["import"];
    for (flag, path) in &paths {
        args.push(flag);
        args.push(path);
    }
    args.extend(extra);
    planner(&args)
}

/// The value of the first `key = ...` line after `[[podnetworking]]` named `name`, or of the
/// workload named `name`, without its comment.
fn value_in(toml: &str, header: &str, name: &str, key: &str) -> Option<String> {
    let start = toml.find(&format!("{header}\nname = \"{name}\""))?;
    let block = &toml[start + header.len()..];
    let block = &block[..block.find("\n[").unwrap_or(block.len())];
    block.lines().find_map(|line| {
        let (k, rest) = line.split_once(" = ")?;
        (k.trim() == key).then(|| rest.split(" # ").next().unwrap_or("").trim().to_string())
    })
}

#[test]
fn podnetworkings_pods_and_exclusive_nodes_round_trip_into_a_scenario_that_runs() {
    let scratch = Scratch::new("pn-import");
    let out = scratch.path("pn.toml");
    let types = fixture("instance-types.json");
    let ns = fixture("ns.json");
    let output = import(
        "pn.yaml",
        &[
            "--instance-types",
            &types,
            "--namespaces",
            &ns,
            "--horizon",
            "1d",
            "-o",
            out.to_str().unwrap(),
        ],
    );
    let err = stderr(&output);
    assert_eq!(code(&output), 0, "{err}");
    let toml = std::fs::read_to_string(&out).unwrap();

    // The fixed one: its described vSwitch only (vsw-bp1h0gone0001 is not in the listing).
    assert_eq!(
        value_in(&toml, "[[podnetworking]]", "db-fixed", "vswitches").as_deref(),
        Some(r#"{ "cn-hangzhou-h" = ["vsw-bp1h0db00001"] }"#),
        "{toml}"
    );
    assert_eq!(
        value_in(&toml, "[[podnetworking]]", "db-fixed", "allocation").as_deref(),
        Some(r#""fixed""#)
    );
    // releaseAfter 30m0s.
    assert_eq!(
        value_in(&toml, "[[podnetworking]]", "db-fixed", "release_after").as_deref(),
        Some(r#""30m""#)
    );
    assert!(
        err.contains("warning[import-podnetworking-vswitch-unknown]")
            && err.contains("vsw-bp1h0gone0001")
            && err.contains("pn.yaml:3: PodNetworking `db-fixed`"),
        "{err}"
    );
    assert_eq!(
        value_in(
            &toml,
            "[[podnetworking]]",
            "web-elastic",
            "selection_policy"
        )
        .as_deref(),
        Some(r#""most""#)
    );
    assert_eq!(
        value_in(&toml, "[[podnetworking]]", "web-elastic", "allocation").as_deref(),
        Some(r#""elastic""#)
    );
    // Every value says where it came from.
    assert!(toml.contains("pn.yaml, line 3"), "{toml}");
    assert!(toml.contains("#   PodNetworkings: "), "{toml}");

    // db-0 is annotated, db-1 only matches the selector (app=db in namespace data): both bound.
    assert_eq!(
        value_in(&toml, "[[workload]]", "data/db", "podnetworking").as_deref(),
        Some(r#""db-fixed""#)
    );
    // web's pods name the elastic one, which has no selector, in the annotation.
    assert_eq!(
        value_in(&toml, "[[workload]]", "default/web", "podnetworking").as_deref(),
        Some(r#""web-elastic""#)
    );
    assert_eq!(
        value_in(&toml, "[[workload]]", "default/api", "podnetworking"),
        None
    );

    // Trunking from eni_conf; EniTotalQuantity from the listing (30) and the catalog (20).
    assert!(
        toml.contains("enable_eni_trunking = true     # eni_conf"),
        "{toml}"
    );
    assert!(
        toml.contains("[instance_type.\"ecs.g7.2xlarge\"]\n"),
        "{toml}"
    );
    assert!(toml.contains("eni_total_quantity = 30 "), "{toml}");
    assert!(toml.contains("eni_total_quantity = 20 "), "{toml}");
    // The node with the exclusive-ENI label makes its pool exclusive; the other pool is not.
    assert_eq!(
        value_in(&toml, "[[nodepool]]", "np-exclusive", "exclusive_eni").as_deref(),
        Some("true")
    );
    assert_eq!(
        value_in(&toml, "[[nodepool]]", "np-shared", "exclusive_eni"),
        None
    );

    let run_out = scratch.path("out");
    let run = run_to(&out, &run_out, &["--runs", "2", "--check-invariants"]);
    assert_eq!(code(&run), 0, "{}", stderr(&run));
}

#[test]
fn without_eni_total_quantity_trunking_is_written_off_and_workloads_are_left_unbound() {
    // ecs.g7.2xlarge has no EniTotalQuantity in the catalog: no --instance-types, no trunking.
    let output = import("pn.yaml", &["--horizon", "1d"]);
    let err = stderr(&output);
    assert_eq!(code(&output), 0, "{err}");
    let toml = stdout(&output);
    assert!(toml.contains("enable_eni_trunking = false"), "{toml}");
    assert!(err.contains("warning[import-trunking-off]"), "{err}");
    assert!(err.contains("ecs.g7.2xlarge"), "{err}");
    assert!(
        err.contains("warning[import-podnetworking-unbound]"),
        "{err}"
    );
    assert!(!toml.contains("podnetworking = "), "{toml}");
    // The PodNetworkings themselves are still written.
    assert!(toml.contains("name = \"db-fixed\""), "{toml}");
}

#[test]
fn files_that_are_not_podnetworkings_are_refused_with_file_and_line() {
    let cases = [
        ("bad/configmap.yaml", "line 3: items[0] is a ConfigMap"),
        (
            "bad/allocation.yaml",
            "line 12: PodNetworking `sticky` has allocationType.type `Sticky`",
        ),
        ("nodes.json", "items[0] is a Node, not a PodNetworking"),
    ];
    for (file, message) in cases {
        let output = import(file, &[]);
        let err = stderr(&output);
        assert_eq!(code(&output), 2, "{file}: {err}");
        assert!(err.contains(&fixture(file)), "{file}: {err}");
        assert!(err.contains(message), "{file}: {err}");
        assert!(stdout(&output).is_empty(), "{file}");
    }
}

#[test]
fn namespace_labels_come_from_namespaces_and_split_workloads_are_reported() {
    // db-fixed selects namespaces by a team label, which only `kubectl get ns` shows: db-0 is
    // annotated, db-1 is matched by the selectors alone.
    let scratch = Scratch::new("pn-import-ns");
    let text = std::fs::read_to_string(fixture("pn.yaml"))
        .unwrap()
        .replace(
            "          kubernetes.io/metadata.name: data\n",
            "          team: storage\n",
        );
    let pn = scratch.write("pn.yaml", &text);
    let pn = pn.to_str().unwrap();
    let types = fixture("instance-types.json");

    let without = import(pn, &["--instance-types", &types]);
    let err = stderr(&without);
    assert_eq!(code(&without), 0, "{err}");
    assert!(
        err.contains("warning[import-podnetworking-namespace-labels]")
            && err.contains("--namespaces"),
        "{err}"
    );
    // One pod bound, one not: the workload keeps the PodNetworking, and the split is named.
    assert!(err.contains("warning[import-podnetworking-mixed]"), "{err}");
    assert!(err.contains("1 none, 1 `db-fixed`"), "{err}");
    let toml = stdout(&without);
    assert_eq!(
        value_in(&toml, "[[workload]]", "data/db", "podnetworking").as_deref(),
        Some(r#""db-fixed""#),
        "{toml}"
    );

    let ns = fixture("ns.json");
    let with = import(pn, &["--instance-types", &types, "--namespaces", &ns]);
    let err = stderr(&with);
    assert_eq!(code(&with), 0, "{err}");
    assert!(
        !err.contains("import-podnetworking-namespace-labels"),
        "{err}"
    );
    assert!(!err.contains("import-podnetworking-mixed"), "{err}");
    assert!(stdout(&with).contains("2 of 2 pods"), "{}", stdout(&with));
}

#[test]
fn prefix_mode_leaves_out_trunking_and_exclusive_eni_with_findings() {
    // The scenario runs neither trunk ENIs nor exclusive-ENI pools with IP prefix mode.
    let scratch = Scratch::new("pn-import-prefix");
    let text = std::fs::read_to_string(fixture("eni-config.yaml"))
        .unwrap()
        .replace(
            "\"enable_eni_trunking\": true,",
            "\"enable_eni_trunking\": true,\n      \"enable_ip_prefix\": true,",
        );
    let cm = scratch.write("cm.yaml", &text);
    let types = fixture("instance-types.json");
    let paths = [
        fixture("vswitches.json"),
        fixture("nodes.json"),
        fixture("pods.json"),
        fixture("pn.yaml"),
    ];
    let output = planner(&[
        "import",
        "--eni-config",
        cm.to_str().unwrap(),
        "--vswitches",
        &paths[0],
        "--nodes",
        &paths[1],
        "--pods",
        &paths[2],
        "--podnetworkings",
        &paths[3],
        "--instance-types",
        &types,
    ]);
    let err = stderr(&output);
    assert_eq!(code(&output), 0, "{err}");
    assert!(
        err.contains("warning[import-exclusive-eni-prefix]"),
        "{err}"
    );
    assert!(err.contains("warning[import-trunking-off]"), "{err}");
    let toml = stdout(&output);
    assert!(!toml.contains("exclusive_eni = true"), "{toml}");
    assert!(toml.contains("enable_eni_trunking = false"), "{toml}");
}
