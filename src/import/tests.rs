//! Import of the fixtures in `tests/fixtures/import/` (the shapes kubectl and aliyun print),
//! and of broken ones.

use super::*;
use crate::scenario::WorkloadKind;

const CM_YAML: &str = include_str!("../../tests/fixtures/import/eni-config.yaml");
const CM_JSON: &str = include_str!("../../tests/fixtures/import/eni-config.json");
const VSWITCHES: &str = include_str!("../../tests/fixtures/import/vswitches.json");
const NODES: &str = include_str!("../../tests/fixtures/import/nodes.json");
const PODS: &str = include_str!("../../tests/fixtures/import/pods.json");
const TYPES: &str = include_str!("../../tests/fixtures/import/instance-types.json");
const WRONG_KIND: &str = include_str!("../../tests/fixtures/import/bad/wrong-kind.yaml");
const OTHER_CM: &str = include_str!("../../tests/fixtures/import/bad/other-configmap.yaml");
const CM_LIST: &str = include_str!("../../tests/fixtures/import/configmap-list.yaml");
const BROKEN_CONF: &str = include_str!("../../tests/fixtures/import/bad/eni-conf-broken.yaml");
const TRUNCATED: &str = include_str!("../../tests/fixtures/import/bad/truncated-vswitches.json");
const TRUNCATED_PODS: &str = include_str!("../../tests/fixtures/import/bad/truncated-pods.json");

fn input<'a>(name: &'a str, text: &'a str) -> Input<'a> {
    Input {
        path: Path::new(name),
        text,
    }
}

fn full<'a>() -> Sources<'a> {
    Sources {
        eni_config: input("cm.yaml", CM_YAML),
        vswitches: input("vsw.json", VSWITCHES),
        nodes: Some(input("nodes.json", NODES)),
        pods: Some(input("pods.json", PODS)),
        instance_types: Some(input("types.json", TYPES)),
        snat_entries: None,
        history: &[],
        terway_mapping: &[],
        more_eni_configs: &[],
        cidr_reservations: &[],
        podnetworkings: &[],
        namespaces: None,
    }
}

fn options(growth: Growth) -> ImportOptions {
    ImportOptions {
        growth,
        horizon_ms: 90 * DAY_MS,
        output: PathBuf::from("imported.toml"),
        lint: LintOptions::default(),
        configmap: None,
    }
}

fn run(sources: &Sources, growth: Growth) -> Imported {
    import(sources, &options(growth)).unwrap_or_else(|e| panic!("{e}"))
}

fn error(sources: &Sources) -> ImportError {
    match import(sources, &options(Growth::None)) {
        Ok(imported) => panic!("imported:\n{}", imported.toml),
        Err(e) => e,
    }
}

fn codes(imported: &Imported) -> Vec<&'static str> {
    imported.findings.iter().map(|f| f.code).collect()
}

fn vswitch<'s>(scenario: &'s Scenario, id: &str) -> &'s scenario::VSwitchSpec {
    scenario
        .vswitches
        .iter()
        .find(|v| v.id == id)
        .unwrap_or_else(|| panic!("no {id}"))
}

fn replicas(scenario: &Scenario, name: &str) -> Vec<(Millis, f64)> {
    let workload = scenario
        .workloads
        .iter()
        .find(|w| w.name == name)
        .unwrap_or_else(|| panic!("no workload {name}"));
    match &workload.kind {
        WorkloadKind::Deployment(r) | WorkloadKind::StatefulSet(r) => r.replicas.points.clone(),
        WorkloadKind::Job(j) => j.arrivals_per_hour.points.clone(),
    }
}

#[test]
fn the_fixtures_make_todays_cluster() {
    let imported = run(&full(), Growth::None);
    let s = &imported.scenario;
    // The node vSwitch in zone k holds nothing of the cluster and Terway does not list it.
    assert_eq!(s.vswitches.len(), 5);
    assert!(s.vswitches.iter().all(|v| v.id != "vsw-bp1k0misc0001"));
    // /22: 1020 usable, 975 available, so 45 in use: 6 of this cluster's pods (the ECI pod and
    // the virtual node's address are not Terway's) leave 39.
    assert_eq!(vswitch(s, "vsw-bp1h0pods0001").used_by_others, 39);
    // /24: 252 - 238 = 14 in use; 6 pods (the finished job's stale podIP does not count).
    assert_eq!(vswitch(s, "vsw-bp1i0pods0001").used_by_others, 8);
    // Node vSwitches: 5 in use less 2 eth0; 3 in use less 3 eth0.
    assert_eq!(vswitch(s, "vsw-bp1h0node0001").used_by_others, 3);
    assert_eq!(vswitch(s, "vsw-bp1i0node0001").used_by_others, 0);

    let terway = &s.terway_configs[0];
    assert_eq!(terway.max_pool_size, 5);
    assert_eq!(
        terway.vswitch_selection,
        scenario::VSwitchSelection::Ordered
    );
    assert_eq!(terway.ip_pool_sync_period_ms, 120_000);
    assert_eq!(terway.vswitches["cn-hangzhou-i"].len(), 2);

    assert_eq!(s.nodepools.len(), 2);
    let general = &s.nodepools[0];
    assert_eq!(general.name, "np-2f8c1b6a7e4d4b0c9f31");
    assert_eq!(
        (general.nodes, general.min_nodes, general.max_nodes),
        (4, 4, 4)
    );
    assert_eq!(general.zones.len(), 2);
    assert_eq!(s.vswitches[general.node_vswitch[0]].id, "vsw-bp1h0node0001");
    let big = &s.nodepools[1];
    assert_eq!(big.instance_type, "ecs.g8ae.2xlarge");
    assert_eq!(s.instance_types["ecs.g8ae.2xlarge"].pod_capacity(), 45);
    assert!(
        imported
            .toml
            .contains("[instance_type.\"ecs.g8ae.2xlarge\"]")
    );

    // web: 4 running + 1 pending; the terminating and host-network pods are not replicas.
    assert_eq!(replicas(s, "default/web"), vec![(0, 5.0)]);
    assert_eq!(replicas(s, "default/db"), vec![(0, 2.0)]);
    assert_eq!(replicas(s, "kube-system/coredns"), vec![(0, 2.0)]);
    assert_eq!(replicas(s, "monitoring/node-exporter"), vec![(0, 2.0)]);
    assert_eq!(replicas(s, "batch/report"), vec![(0, 1.0)]);
    assert!(s.workloads.iter().all(|w| !w.name.contains("terway")));
    assert!(s.workloads.iter().all(|w| !w.name.contains("eci")));
    let db = s.workloads.iter().find(|w| w.name == "default/db").unwrap();
    // Two containers of 1 CPU and 2Gi each.
    assert_eq!((db.cpu_millis, db.memory_mib), (2000, 4096));
    let report = s
        .workloads
        .iter()
        .find(|w| w.name == "batch/report")
        .unwrap();
    // The init container's 2 CPUs are more than the container's 500m.
    assert_eq!((report.cpu_millis, report.memory_mib), (2000, 1024));

    let found = codes(&imported);
    assert!(found.contains(&"eni-conf-unparsable"), "{found:?}");
    assert!(found.contains(&"import-node-skipped"), "{found:?}");
    let comment = imported
        .findings
        .iter()
        .find(|f| f.code == "eni-conf-unparsable")
        .unwrap();
    assert_eq!(comment.file.as_deref(), Some(Path::new("cm.yaml")));
    assert_eq!(
        comment.line,
        Some(14),
        "the line of the first `#` in the file"
    );
}

#[test]
fn every_value_has_a_comment() {
    let imported = run(&full(), Growth::PerDay(2.0));
    for line in imported.toml.lines() {
        let assignment = line.contains(" = ") && !line.starts_with('#');
        assert!(!assignment || line.contains(" # "), "no comment: {line}");
    }
    assert!(imported.toml.contains("defaulted"));
}

#[test]
fn json_configmap_gives_the_same_scenario() {
    let yaml = run(
        &Sources {
            eni_config: input("cm", CM_YAML),
            ..full()
        },
        Growth::None,
    );
    let json = run(
        &Sources {
            eni_config: input("cm", CM_JSON),
            ..full()
        },
        Growth::None,
    );
    assert_eq!(yaml.toml, json.toml);
    assert!(codes(&json).contains(&"eni-conf-unparsable"));
}

#[test]
fn growth_per_day_is_shared_in_proportion() {
    let imported = run(&full(), Growth::PerDay(2.0));
    let s = &imported.scenario;
    // 180 more pods over the 11 pods that grow (the DaemonSet's 2 do not).
    let mut added = 0.0;
    for w in &s.workloads {
        let points = replicas(s, &w.name);
        if w.name == "monitoring/node-exporter" {
            assert_eq!(points, vec![(0, 2.0)]);
            continue;
        }
        assert_eq!(points.len(), 2, "{}", w.name);
        assert_eq!(points[1].0, 90 * DAY_MS);
        added += points[1].1 - points[0].1;
    }
    assert_eq!(added, 180.0);
    // web has 5 of 11: 180 x 5 / 11 = 81.8, rounded by largest remainder to 82.
    assert_eq!(replicas(s, "default/web")[1].1, 87.0);
    assert!(s.nodepools[0].max_nodes > s.nodepools[0].nodes);
}

#[test]
fn growth_percent_compounds_daily() {
    let imported = run(&full(), Growth::PercentPerDay(1.0));
    let points = replicas(&imported.scenario, "default/web");
    // Points every 3 days (90 / 30), the last at the horizon: 5 x 1.01^90 = 12.25.
    assert_eq!(points.len(), 31);
    assert_eq!(points[1], (3 * DAY_MS, 5.0));
    assert_eq!(*points.last().unwrap(), (90 * DAY_MS, 12.0));
    assert!(imported.toml.contains("compounded daily"));
}

#[test]
fn absurd_growth_is_refused() {
    let err = match import(&full(), &options(Growth::PercentPerDay(1000.0))) {
        Err(e) => e,
        Ok(_) => panic!("accepted"),
    };
    assert!(
        err.message.contains("more than the 10000000"),
        "{}",
        err.message
    );
}

#[test]
fn without_nodes_or_pods_a_placeholder_pool() {
    let imported = run(
        &Sources {
            nodes: None,
            pods: None,
            instance_types: None,
            ..full()
        },
        Growth::PerDay(1.0),
    );
    let s = &imported.scenario;
    assert_eq!(s.nodepools.len(), 1);
    assert_eq!(s.nodepools[0].nodes, 2, "one per Terway zone");
    assert!(imported.toml.contains("no --nodes given"));
    // Without pods all addresses in use stay with others; the growth gets its own workload.
    assert_eq!(vswitch(s, "vsw-bp1h0pods0001").used_by_others, 45);
    assert_eq!(replicas(s, "growth"), vec![(0, 0.0), (90 * DAY_MS, 90.0)]);
}

#[test]
fn a_vswitch_the_listing_lacks_is_left_out() {
    let cm = CM_YAML.replace(
        "\"vsw-bp1h0pods0001\"]",
        "\"vsw-bp1h0pods0001\", \"vsw-gone\"]",
    );
    let imported = run(
        &Sources {
            eni_config: input("cm.yaml", &cm),
            ..full()
        },
        Growth::None,
    );
    assert!(codes(&imported).contains(&"import-vswitch-missing"));
    assert_eq!(
        imported.scenario.terway_configs[0].vswitches["cn-hangzhou-h"].len(),
        1
    );
    assert!(!codes(&run(&full(), Growth::None)).contains(&"import-vswitch-missing"));
}

#[test]
fn used_by_others_is_never_negative() {
    // The listing says every address is free although the cluster's pods hold some.
    let vsw = VSWITCHES.replace(
        "\"AvailableIpAddressCount\": 238",
        "\"AvailableIpAddressCount\": 252",
    );
    let imported = run(
        &Sources {
            vswitches: input("vsw.json", &vsw),
            ..full()
        },
        Growth::None,
    );
    assert_eq!(
        vswitch(&imported.scenario, "vsw-bp1i0pods0001").used_by_others,
        0
    );
    assert!(codes(&imported).contains(&"import-usage-mismatch"));
    assert!(!codes(&run(&full(), Growth::None)).contains(&"import-usage-mismatch"));
}

#[test]
fn a_partial_listing_is_flagged() {
    let vsw = VSWITCHES.replace("\"TotalCount\": 6", "\"TotalCount\": 60");
    let imported = run(
        &Sources {
            vswitches: input("vsw.json", &vsw),
            ..full()
        },
        Growth::None,
    );
    assert!(codes(&imported).contains(&"import-partial-listing"));
    assert!(!codes(&run(&full(), Growth::None)).contains(&"import-partial-listing"));
}

#[test]
fn uneven_zones_become_one_pool_per_zone() {
    // Move one h node of the general pool to zone i: 1 in h, 3 in i.
    let nodes = NODES.replacen("\"cn-hangzhou-h\"", "\"cn-hangzhou-i\"", 2);
    let imported = run(
        &Sources {
            nodes: Some(input("nodes.json", &nodes)),
            ..full()
        },
        Growth::None,
    );
    let names: Vec<&str> = imported
        .scenario
        .nodepools
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    assert!(
        names.contains(&"np-2f8c1b6a7e4d4b0c9f31/cn-hangzhou-h"),
        "{names:?}"
    );
    assert!(
        names.contains(&"np-2f8c1b6a7e4d4b0c9f31/cn-hangzhou-i"),
        "{names:?}"
    );
}

#[test]
fn eni_conf_quirks_are_read_as_terway_would_not() {
    let cm = CM_YAML
        .replace(
            "\"max_pool_size\": 5, # idle addresses a node keeps at most",
            "\"max_pool_size\": \"7\",",
        )
        .replace(
            "\"version\": \"1\",",
            "\"version\": \"1\", \"ipam_type\": \"crd2\",",
        )
        .replace(", # most free addresses first", ",");
    let imported = run(
        &Sources {
            eni_config: input("cm.yaml", &cm),
            ..full()
        },
        Growth::None,
    );
    assert_eq!(imported.scenario.terway_configs[0].max_pool_size, 7);
    let found = codes(&imported);
    assert!(found.contains(&"eni-conf-unparsable"), "{found:?}");
    assert!(found.contains(&"eni-conf-unmodelled"), "{found:?}");
    let unparsable = imported
        .findings
        .iter()
        .find(|f| f.code == "eni-conf-unparsable")
        .unwrap();
    assert!(
        unparsable.message.contains("max_pool_size"),
        "{}",
        unparsable.message
    );
}

#[test]
fn ipam_type_crd_imports_as_centralized_ipam() {
    let cm = CM_YAML.replace(
        "\"version\": \"1\",",
        "\"version\": \"1\", \"ipam_type\": \"crd\",",
    );
    let imported = run(
        &Sources {
            eni_config: input("cm.yaml", &cm),
            ..full()
        },
        Growth::None,
    );
    assert_eq!(
        imported.scenario.terway_configs[0].ipam,
        crate::scenario::IpamType::Centralized
    );
    assert!(!codes(&imported).contains(&"eni-conf-unmodelled"));
    let plain = run(&full(), Growth::None);
    assert_eq!(
        plain.scenario.terway_configs[0].ipam,
        crate::scenario::IpamType::Daemon
    );
}

#[test]
fn a_clean_eni_conf_has_no_import_findings() {
    let cm = CM_YAML
        .replace(", # idle addresses a node keeps at most", ",")
        .replace(", # most free addresses first", ",");
    let imported = run(
        &Sources {
            eni_config: input("cm.yaml", &cm),
            ..full()
        },
        Growth::None,
    );
    let found = codes(&imported);
    assert!(!found.contains(&"eni-conf-unparsable"), "{found:?}");
    assert!(!found.contains(&"eni-conf-unmodelled"), "{found:?}");
}

#[test]
fn missing_keys_get_terways_code_defaults() {
    let cm = CM_YAML
        .replace(
            "      \"max_pool_size\": 5, # idle addresses a node keeps at most\n",
            "",
        )
        .replace(
            "      \"vswitch_selection_policy\": \"ordered\", # most free addresses first\n",
            "",
        );
    let imported = run(
        &Sources {
            eni_config: input("cm.yaml", &cm),
            ..full()
        },
        Growth::None,
    );
    let terway = &imported.scenario.terway_configs[0];
    assert_eq!(terway.max_pool_size, 0);
    assert_eq!(terway.vswitch_selection, scenario::VSwitchSelection::Random);
    assert!(imported.toml.contains("max_pool_size = 0"));
    assert!(imported.toml.contains("its code default is 0"));
}

#[test]
fn inputs_that_are_not_what_they_claim() {
    let cases: Vec<(Sources, &str, &str)> = vec![
        (
            Sources {
                eni_config: input("secret.yaml", WRONG_KIND),
                ..full()
            },
            "secret.yaml",
            "is a Secret, not a ConfigMap",
        ),
        (
            Sources {
                eni_config: input("coredns.yaml", OTHER_CM),
                ..full()
            },
            "coredns.yaml",
            "is ConfigMap `kube-system/coredns`, which has no data.eni_conf (its data keys are Corefile)",
        ),
        (
            Sources {
                eni_config: input("broken.yaml", BROKEN_CONF),
                ..full()
            },
            "broken.yaml",
            "data.eni_conf ends before its JSON is complete",
        ),
        (
            Sources {
                eni_config: input("vsw.json", VSWITCHES),
                ..full()
            },
            "vsw.json",
            "has no `kind`",
        ),
        (
            Sources {
                vswitches: input("cut.json", TRUNCATED),
                ..full()
            },
            "cut.json",
            "is truncated",
        ),
        (
            Sources {
                vswitches: input("types.json", TYPES),
                ..full()
            },
            "types.json",
            "is a DescribeInstanceTypes listing, not VSwitches.VSwitch",
        ),
        (
            Sources {
                vswitches: input("nodes.json", NODES),
                ..full()
            },
            "nodes.json",
            "is kubectl output (kind List)",
        ),
        (
            Sources {
                nodes: Some(input("pods.json", PODS)),
                ..full()
            },
            "pods.json",
            "lists Pods, not Nodes",
        ),
        (
            Sources {
                nodes: Some(input("vsw.json", VSWITCHES)),
                ..full()
            },
            "vsw.json",
            "is a DescribeVSwitches listing",
        ),
        (
            Sources {
                pods: Some(input("cut.json", TRUNCATED_PODS)),
                ..full()
            },
            "cut.json",
            "is truncated",
        ),
        (
            Sources {
                pods: Some(input("cm.yaml", CM_YAML)),
                ..full()
            },
            "cm.yaml",
            "is a ConfigMap (v1), not a list of Pods",
        ),
        (
            Sources {
                instance_types: Some(input("vsw.json", VSWITCHES)),
                ..full()
            },
            "vsw.json",
            "is a DescribeVSwitches listing, not InstanceTypes.InstanceType",
        ),
        (
            Sources {
                instance_types: None,
                ..full()
            },
            "nodes.json",
            "instance type `ecs.g8ae.2xlarge` of the nodes is not in the built-in catalog; pass --instance-types",
        ),
        (
            Sources {
                eni_config: input("empty.yaml", ""),
                ..full()
            },
            "empty.yaml",
            "is empty",
        ),
    ];
    for (sources, file, expected) in cases {
        let err = error(&sources);
        assert_eq!(err.file, Path::new(file), "{err}");
        assert!(
            err.message.contains(expected),
            "expected `{expected}` in: {err}"
        );
        assert!(
            err.message.contains("expected") || err.message.contains("pass"),
            "{err}"
        );
    }
}

#[test]
fn no_input_makes_it_panic() {
    // Every prefix of every fixture, in every slot: an error or a scenario, never a panic.
    let fixtures = [CM_YAML, CM_JSON, VSWITCHES, NODES, TYPES];
    for text in fixtures {
        let cuts: Vec<usize> = (0..text.len()).step_by(37).chain([text.len()]).collect();
        for &cut in &cuts {
            let Some(part) = text.get(..cut) else {
                continue;
            };
            for slot in 0..5 {
                let mut sources = full();
                let piece = input("x", part);
                match slot {
                    0 => sources.eni_config = piece,
                    1 => sources.vswitches = piece,
                    2 => sources.nodes = Some(piece),
                    3 => sources.pods = Some(piece),
                    _ => sources.instance_types = Some(piece),
                }
                let _ = import(&sources, &options(Growth::PerDay(1.0)));
            }
        }
    }
}

#[test]
fn a_stateful_custom_kind_and_owner_names() {
    let pods = PODS.replace(
        "\"kind\": \"StatefulSet\",\n                        \"name\": \"db\"",
        "\"kind\": \"CloneSet\",\n                        \"name\": \"db\"",
    );
    assert_ne!(pods, PODS, "the fixture's owner reference moved");
    let imported = run(
        &Sources {
            pods: Some(input("pods.json", &pods)),
            ..full()
        },
        Growth::None,
    );
    let db = imported
        .scenario
        .workloads
        .iter()
        .find(|w| w.name == "default/db")
        .unwrap();
    assert!(matches!(db.kind, WorkloadKind::Deployment(_)));
    let cm = CM_YAML.replace(
        "\"version\": \"1\",",
        "\"version\": \"1\", \"custom_stateful_workload_kinds\": [\"CloneSet\"],",
    );
    let imported = run(
        &Sources {
            pods: Some(input("pods.json", &pods)),
            eni_config: input("cm.yaml", &cm),
            ..full()
        },
        Growth::None,
    );
    let db = imported
        .scenario
        .workloads
        .iter()
        .find(|w| w.name == "default/db")
        .unwrap();
    assert!(matches!(db.kind, WorkloadKind::StatefulSet(_)));
}

#[test]
fn largest_remainder_adds_up() {
    assert_eq!(
        largest_remainder(10.0, &[1.0, 1.0, 1.0]),
        vec![4.0, 3.0, 3.0]
    );
    assert_eq!(largest_remainder(0.0, &[1.0]), vec![0.0]);
    assert_eq!(largest_remainder(5.0, &[0.0, 2.0]), vec![0.0, 5.0]);
}

const SNAT: &str = include_str!("../../tests/fixtures/import/snat-entries.json");

#[test]
fn snat_entries_become_the_scenarios_snat_table() {
    let imported = run(
        &Sources {
            snat_entries: Some(input("snat.json", SNAT)),
            ..full()
        },
        Growth::None,
    );
    let snat = imported.scenario.snat.as_ref().expect("a SNAT table");
    assert_eq!(snat.table_id.as_deref(), Some("stb-bp1snattable001"));
    let ids: Vec<Option<&str>> = snat.entries.iter().map(|e| e.id.as_deref()).collect();
    assert_eq!(
        ids,
        [
            Some("snat-bp1pods00h"),
            Some("snat-bp1pods00i"),
            Some("snat-bp1nodes0h")
        ]
    );
    for id in [
        "vsw-bp1h0pods0001",
        "vsw-bp1i0pods0001",
        "vsw-bp1i0pods0002",
    ] {
        let v = vswitch(&imported.scenario, id);
        assert!(snat.covering(v).is_some(), "{id}");
    }
    assert!(!codes(&imported).contains(&"vswitch-without-snat"));
}

#[test]
fn an_empty_snat_table_leaves_every_listed_vswitch_uncovered() {
    let empty = r#"{"TotalCount": 0, "PageSize": 50, "PageNumber": 1, "RequestId": "x", "SnatTableEntries": {"SnatTableEntry": []}}"#;
    let imported = run(
        &Sources {
            snat_entries: Some(input("snat.json", empty)),
            ..full()
        },
        Growth::None,
    );
    assert!(
        imported.toml.contains("snat_entries = []"),
        "{}",
        imported.toml
    );
    let found: Vec<&Finding> = imported
        .findings
        .iter()
        .filter(|f| f.code == "vswitch-without-snat")
        .collect();
    assert_eq!(found.len(), 3, "{found:?}");
    // The listing names no table when it has no entry.
    assert!(
        found[0].fix.contains("--SnatTableId <SnatTableId>"),
        "{}",
        found[0].fix
    );
}

#[test]
fn a_partial_snat_listing_and_broken_entries() {
    let partial = SNAT.replace("\"TotalCount\": 4", "\"TotalCount\": 60");
    let imported = run(
        &Sources {
            snat_entries: Some(input("snat.json", &partial)),
            ..full()
        },
        Growth::None,
    );
    let finding = imported
        .findings
        .iter()
        .find(|f| f.code == "import-partial-listing")
        .expect("partial");
    assert_eq!(finding.file.as_deref(), Some(Path::new("snat.json")));
    assert!(finding.message.contains("4 of 60 SNAT entries"));

    for (text, expected) in [
        (
            SNAT.replace("10.0.4.0/23", "10.0.4.0/23x"),
            "SnatTableEntries.SnatTableEntry[1] has SourceCIDR `10.0.4.0/23x`, not an IPv4 block",
        ),
        (
            SNAT.replace("\"SourceCIDR\": \"10.0.4.0/23\"", "\"SourceCIDR\": \"\""),
            "SnatTableEntries.SnatTableEntry[1] has neither SourceVSwitchId nor SourceCIDR",
        ),
        (String::new(), "is empty; expected the JSON of"),
    ] {
        let e = error(&Sources {
            snat_entries: Some(input("snat.json", &text)),
            ..full()
        });
        assert_eq!(e.file, Path::new("snat.json"));
        assert!(e.message.contains(expected), "{}", e.message);
    }
}

/// `kubectl -n kube-system get cm -o yaml` is a List: eni-config is taken from it by name.
#[test]
fn a_list_of_configmaps_gives_its_eni_config() {
    let imported = run(
        &Sources {
            eni_config: input("list.yaml", CM_LIST),
            ..full()
        },
        Growth::None,
    );
    assert!(
        imported
            .notes
            .iter()
            .any(|(_, note)| note.contains("took ConfigMap eni-config, item 1 of the List's 1")),
        "{:?}",
        imported.notes
    );
}
