//! The shipped scenarios say what their comments promise.

use crate::util::*;

fn run(name: &str, scratch: &Scratch, runs: &str) -> std::path::PathBuf {
    let out = scratch.path("out");
    let output = planner(&[
        "run",
        scenario(name).to_str().unwrap(),
        "--runs",
        runs,
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code(&output), 0, "{name}: {}", stderr(&output));
    out
}

#[test]
fn burst_exhausts_zone_f_in_every_run_and_never_zone_g() {
    let scratch = Scratch::new("burst");
    let out = run("burst.toml", &scratch, "4");
    let (header, rows) = read_csv(&out.join("zones.csv"));
    let zone = |name: &str| rows.iter().find(|r| r[0] == name).expect(name).clone();
    let f = zone("cn-shanghai-f");
    let g = zone("cn-shanghai-g");
    assert_eq!(cell(&header, &f, "shortage_runs"), "1.000");
    assert_eq!(cell(&header, &g, "shortage_runs"), "0.000");
    assert_eq!(cell(&header, &g, "first_shortage_p50_s"), "");
    // The burst starts at 2 d (172 800 s) and lasts a few hours.
    let p50: f64 = cell(&header, &f, "first_shortage_p50_s").parse().unwrap();
    assert!(
        (172_800.0..172_800.0 + 6.0 * 3600.0).contains(&p50),
        "{p50}"
    );
}

#[test]
fn steady_never_runs_out() {
    let scratch = Scratch::new("steady");
    let out = run("steady.toml", &scratch, "2");
    let (header, rows) = read_csv(&out.join("zones.csv"));
    assert_eq!(rows.len(), 3);
    for row in &rows {
        assert_eq!(cell(&header, row, "shortage_runs"), "0.000", "{row:?}");
    }
}

#[test]
fn expansion_clears_the_shortage_after_the_restart() {
    let scratch = Scratch::new("expansion");
    let out = run("expansion.toml", &scratch, "2");
    let (header, rows) = read_csv(&out.join("zones.csv"));
    let shortage: f64 = cell(&header, &rows[0], "first_shortage_p50_s")
        .parse()
        .unwrap();
    assert!(
        shortage < 12.0 * 86_400.0,
        "short before the day-12 expansion: {shortage}"
    );
    let (header, rows) = read_csv(&out.join("cluster_timeseries.csv"));
    let pending = |row: &Vec<String>| {
        cell(&header, row, "pods_pending_ip_p90")
            .parse::<u32>()
            .unwrap()
    };
    let time = |row: &Vec<String>| cell(&header, row, "time_s").parse::<f64>().unwrap();
    let before: u32 = rows
        .iter()
        .filter(|r| time(r) < 12.0 * 86_400.0)
        .map(pending)
        .max()
        .unwrap();
    let after: u32 = rows
        .iter()
        .filter(|r| time(r) > 13.0 * 86_400.0)
        .map(pending)
        .max()
        .unwrap();
    assert!(before > 10, "pods waited before the runbook: {before}");
    // Afterwards a pod may still queue on an ENI of the full vsw-aaa (most_ips prefers the
    // largest ENI), wait for its CNI timeout and then get an address on vsw-bbb: a sample
    // can catch one such pod, never a backlog.
    assert!(after <= 2, "no backlog a day after the runbook: {after}");
    let (header, rows) = read_csv(&out.join("vswitches.csv"));
    let bbb = rows.iter().find(|r| r[0] == "vsw-bbb").expect("vsw-bbb");
    assert_ne!(
        cell(&header, bbb, "peak_used_p50"),
        "0",
        "the new vSwitch is used"
    );
}

// tests/fixtures/never-clears.toml: per run 11 of 20 pods get an address (ten within 3.3 s,
// one minutes later) and 9 wait from about 1h to the 6h horizon. Counting only the pods that
// got one, the p99 would be minutes; with the 27 censored waits of 3 runs it is rank
// ceil(0.99 x 60) = 60, a censored wait of 5h less under a minute: the bucket with floor
// (64 + 4) << 18 = 17 825 792 ms (2^24 <= 18e6 < 2^25, (18e6 >> 18) & 63 = 4), shown as a
// lower bound. The p50, rank 30, is one of the 30 pods served in 3.3 s (bucket floor 3 296 ms).
#[test]
fn a_shortage_that_never_clears_shows_its_waits_as_lower_bounds() {
    let scratch = Scratch::new("never-clears");
    let out = scratch.path("out");
    let fixture = root().join("tests/fixtures/never-clears.toml");
    let output = planner(&[
        "run",
        fixture.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let (header, rows) = read_csv(&out.join("zones.csv"));
    let z1 = &rows[0];
    assert_eq!(cell(&header, z1, "ip_wait_all_p99_s"), "17825.792");
    assert_eq!(cell(&header, z1, "ip_wait_all_p99_censored"), "true");
    assert_eq!(cell(&header, z1, "ip_wait_all_p50_s"), "3.296");
    assert_eq!(cell(&header, z1, "ip_wait_all_p50_censored"), "false");
    assert_eq!(cell(&header, z1, "ip_wait_censored_pods"), "27");
    let text = stdout(&output);
    assert!(
        text.contains("p50 3.3s / p99 >= 4h 57m (27 of 60 pods never got an address)"),
        "{text}"
    );
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(json["zones"][0]["ip_wait_all_p99_censored"], true);
    assert_eq!(json["cluster"]["ip_wait_all_p99_s"], 17825.792);
}

/// The comparison the scenario's comments promise: with the same pods, centralized IPAM fills
/// every pool to max_pool_size (two addresses asked per waiting pod) and runs zone f short in
/// some runs; the daemon's allocator does not. Both pass the invariant checker.
#[test]
fn centralized_runs_short_where_the_daemon_does_not() {
    let scratch = Scratch::new("centralized");
    let out = scratch.path("sweep");
    let output = planner(&[
        "sweep",
        scenario("centralized.toml").to_str().unwrap(),
        "--set",
        "terway.ipam_type=,crd",
        "--runs",
        "8",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let (header, rows) = read_csv(&out.join("sweep.csv"));
    assert_eq!(rows.len(), 2);
    let (daemon, crd) = (&rows[0], &rows[1]);
    assert_eq!(cell(&header, daemon, "terway.ipam_type"), "");
    assert_eq!(cell(&header, crd, "terway.ipam_type"), "crd");
    let short = |row: &Vec<String>| -> f64 { cell(&header, row, "shortage_runs").parse().unwrap() };
    let idle =
        |row: &Vec<String>| -> u32 { cell(&header, row, "idle_at_peak_p50").parse().unwrap() };
    assert_eq!(short(daemon), 0.0);
    assert!(short(crd) > 0.0, "{crd:?}");
    assert!(idle(crd) > idle(daemon), "{daemon:?} {crd:?}");

    let checked = planner(&[
        "run",
        scenario("centralized.toml").to_str().unwrap(),
        "--runs",
        "2",
        "--quiet",
        "--check-invariants",
        "--out",
        scratch.path("checked").to_str().unwrap(),
    ]);
    assert_eq!(code(&checked), 0, "{}", stderr(&checked));
}

/// What prefix.toml's comments promise: the 16 reserved prefixes serve 4 nodes, the fifth
/// finds none while the normal range is nearly empty, the zone runs short in every run, and the
/// plan sizes a reservation for max_nodes (8 nodes x 4 prefixes = 32: a /23).
#[test]
fn prefix_mode_runs_the_reservation_dry_not_the_vswitch() {
    let scratch = Scratch::new("prefix");
    let out = scratch.path("out");
    let output = planner(&[
        "run",
        scenario("prefix.toml").to_str().unwrap(),
        "--runs",
        "2",
        "--check-invariants",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let (header, rows) = read_csv(&out.join("prefixes.csv"));
    assert_eq!(rows.len(), 1);
    assert_eq!(cell(&header, &rows[0], "reserved_cidrs"), "10.0.1.0/24");
    assert_eq!(cell(&header, &rows[0], "prefixes"), "16");
    assert_eq!(cell(&header, &rows[0], "peak_prefixes_used_p90"), "16");
    assert_eq!(cell(&header, &rows[0], "full_runs"), "1.000");
    let (header, rows) = read_csv(&out.join("zones.csv"));
    assert_eq!(cell(&header, &rows[0], "shortage_runs"), "1.000");
    let (header, rows) = read_csv(&out.join("vswitches.csv"));
    let pods = rows.iter().find(|r| r[0] == "vsw-f-pods").unwrap();
    // 4 ENI primaries of the normal range's 1020 - 256 reserved = 764.
    assert_eq!(cell(&header, pods, "usable_ips"), "764");
    assert_eq!(cell(&header, pods, "peak_used_p90"), "4");
    let text = stdout(&output);
    assert!(
        text.contains(
            "nodes at max_nodes hold 32 /28 prefixes, the reserved blocks 16: reserve a /23"
        ),
        "{text}"
    );

    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(json["prefix_plans"][0]["needed_prefixes"], 32);
    assert_eq!(json["prefix_plans"][0]["reservation_prefix_len"], 23);
    assert_eq!(json["prefixes"][0]["peak_prefixes_used_p90"], 16);

    // Without reservations there is nothing to report on prefixes.
    let plain = scratch.path("plain");
    let output = planner(&[
        "run",
        scenario("burst.toml").to_str().unwrap(),
        "--runs",
        "1",
        "--quiet",
        "--out",
        plain.to_str().unwrap(),
    ]);
    assert_eq!(code(&output), 0);
    assert!(!plain.join("prefixes.csv").exists());
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(plain.join("summary.json")).unwrap()).unwrap();
    assert!(json.get("prefixes").is_none() && json.get("prefix_plans").is_none());
}

/// What podnetworking.toml's comments promise: the fixed-IP StatefulSet fills its own /27 and
/// the zone runs short in every run, at 1d 55m (the 29th replica), while the shared vSwitches
/// stay far from full; the invariants hold with member ENIs and fixed addresses.
#[test]
fn a_podnetworking_vswitch_runs_out_while_the_shared_ones_have_room() {
    let scratch = Scratch::new("podnetworking");
    let out = scratch.path("out");
    let output = planner(&[
        "run",
        scenario("podnetworking.toml").to_str().unwrap(),
        "--runs",
        "2",
        "--check-invariants",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let (header, rows) = read_csv(&out.join("vswitches.csv"));
    let row = |id: &str| rows.iter().find(|r| r[0] == id).unwrap();
    assert_eq!(cell(&header, row("vsw-db"), "usable_ips"), "28");
    assert_eq!(cell(&header, row("vsw-db"), "peak_used_p90"), "28");
    assert_eq!(cell(&header, row("vsw-db"), "full_runs"), "1.000");
    for shared in ["vsw-pods", "vsw-pods-2"] {
        assert_eq!(cell(&header, row(shared), "full_runs"), "0.000");
        let used: u32 = cell(&header, row(shared), "peak_used_p90").parse().unwrap();
        assert!(used < 126, "{shared}: {used} of 252 used at most");
    }
    let (header, rows) = read_csv(&out.join("zones.csv"));
    assert_eq!(cell(&header, &rows[0], "shortage_runs"), "1.000");
    // 12 + 18 x t / 1 h reaches 28.5 at t = 55 min: the 29th pod is created at 1d 55m.
    let first: f64 = cell(&header, &rows[0], "first_shortage_p50_s")
        .parse()
        .unwrap();
    assert!((89_700.0..89_760.0).contains(&first), "{first}");
    // The zone has room; the PodNetworking does not: 28 used + 1 waiting, x 1.2 headroom = 35
    // against 28, a gap of 7: a /28 (12) joins its list, and the re-run has no shortage.
    let (header, rows) = read_csv(&out.join("recommendations.csv"));
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(
        cell(&header, &rows[0], "zone"),
        "cn-shanghai-f for PodNetworking db"
    );
    assert_eq!(cell(&header, &rows[0], "needed_ips"), "35");
    assert_eq!(cell(&header, &rows[0], "add_prefix_len"), "28");
    assert_eq!(cell(&header, &rows[0], "verified"), "yes");
    // The runbook lists the new vSwitch in the PodNetworking, not in eni-config, and restarts
    // nothing.
    let runbook = std::fs::read_to_string(out.join("runbook.md")).unwrap();
    assert!(
        runbook.contains("kubectl patch podnetworking db --type json -p '[{\"op\": \"add\", \"path\": \"/spec/vSwitchOptions/-\""),
        "{runbook}"
    );
    assert!(!runbook.contains("patch configmap eni-config"), "{runbook}");
    assert!(!runbook.contains("rollout restart"), "{runbook}");
}

/// The catalog's published EniTotalQuantity (ecs.g7.xlarge: 20) lets a hand-written scenario turn
/// trunking on without `[instance_type] eni_total_quantity`; a type without a published figure
/// still needs it.
#[test]
fn trunking_uses_the_catalogs_published_eni_total_quantity() {
    let scratch = Scratch::new("trunk-catalog");
    let text = |instance_type: &str| {
        format!(
            "[scenario]\nhorizon = \"1h\"\n[[vswitch]]\nid = \"vsw-a\"\nzone = \"z\"\ncidr = \"10.0.0.0/24\"\n[terway]\nipam_type = \"crd\"\nenable_eni_trunking = true\nvswitches = {{ \"z\" = [\"vsw-a\"] }}\n[[nodepool]]\nname = \"p\"\ninstance_type = \"{instance_type}\"\nzones = [\"z\"]\nnodes = 2\n[[workload]]\nname = \"w\"\nkind = \"deployment\"\nreplicas = 10\n"
        )
    };
    let known = scratch.write("known.toml", &text("ecs.g7.xlarge"));
    let output = run_to(&known, &scratch.path("out"), &["--check-invariants"]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let unknown = scratch.write("unknown.toml", &text("ecs.g6.large"));
    let output = run_to(&unknown, &scratch.path("out2"), &[]);
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).contains("eni_total_quantity"),
        "{}",
        stderr(&output)
    );
}
