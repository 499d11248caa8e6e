//! Model tests on scenarios built in code. Every expected number is worked out by hand from
//! the Terway behaviour in the domain notes; the comments show the arithmetic.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::*;
use crate::catalog::{self, InstanceType};
use crate::scenario::{
    Action, Amount, CloudTimings, Curve, EniSelection, HOUR_MS, IpamType, MINUTE_MS, NodePoolSpec,
    PodManagement, Replicated, SECOND_MS, TerwayConfig, VSwitchSelection, VSwitchSpec,
    WorkloadKind, WorkloadSpec,
};

const CUSTOM: &str = "ecs.test.custom";

/// One zone `z1` (plus `z2` when a vSwitch names it), no pool, no workload: tests add them.
fn scenario(vswitches: &[(&str, &str, &str, u32)], listed: &[&str]) -> Scenario {
    let mut zones: Vec<String> = vswitches.iter().map(|v| v.1.to_string()).collect();
    zones.push("z1".into());
    zones.sort();
    zones.dedup();
    let zone_index = |name: &str| zones.iter().position(|z| z == name).expect("zone");
    let specs: Vec<VSwitchSpec> = vswitches
        .iter()
        .map(|&(id, zone, cidr, used_by_others)| VSwitchSpec {
            id: id.into(),
            zone: zone_index(zone),
            cidr: cidr.parse().expect("cidr"),
            used_by_others,
            created_at_ms: None,
            cidr_reservations: Vec::new(),
        })
        .collect();
    let index = |id: &str| specs.iter().position(|v| v.id == id).expect("vswitch");
    let mut config_vswitches = BTreeMap::new();
    config_vswitches.insert(
        "z1".to_string(),
        listed.iter().map(|id| index(id)).collect(),
    );
    let mut instance_types = catalog::builtin();
    instance_types.insert(
        CUSTOM.into(),
        InstanceType {
            name: CUSTOM.into(),
            vcpu: 64,
            memory_mib: 256 * 1024,
            eni_quantity: 5,
            ipv4_per_eni: 15,
        },
    );
    Scenario {
        name: "test".into(),
        source: PathBuf::from("test.toml"),
        horizon_ms: 6 * HOUR_MS,
        seed: 1,
        runs: 1,
        auto_runs: None,
        sample_interval_ms: MINUTE_MS,
        vpc_cidrs: Vec::new(),
        snat: None,
        live: Default::default(),
        zones,
        vswitches: specs,
        terway_configs: vec![TerwayConfig {
            vswitches: config_vswitches,
            vswitch_selection: VSwitchSelection::Ordered,
            eni_selection: EniSelection::MostIps,
            max_pool_size: 0,
            min_pool_size: 0,
            min_eni: 0,
            max_eni: 0,
            ip_pool_sync_period_ms: 120 * SECOND_MS,
            idle_ip_reclaim: None,
            ipam: IpamType::Daemon,
            enable_ip_prefix: false,
            ipv4_prefix_count: 0,
        }],
        cloud: CloudTimings {
            create_eni_ms: 3 * SECOND_MS,
            assign_ips_ms: SECOND_MS,
            unassign_ips_ms: SECOND_MS,
            delete_eni_ms: 7 * SECOND_MS,
            api_error_ms: 500,
        },
        instance_types,
        nodepools: Vec::new(),
        workloads: Vec::new(),
        actions: Vec::new(),
        planning: crate::scenario::Planning {
            percentile: 90.0,
            headroom: 0.2,
            lead_time_ms: 7 * crate::scenario::DAY_MS,
        },
        gates: crate::scenario::Gates {
            percentile: 90.0,
            min_time_to_shortage_ms: None,
            max_vswitch_utilization: None,
            max_pods_pending_ip: None,
            confidence: None,
        },
        history: None,
        pod_enis: Default::default(),
    }
}

fn add_pool(s: &mut Scenario, name: &str, instance_type: &str, node_vswitch: &str, nodes: u32) {
    let vswitch = s
        .vswitches
        .iter()
        .position(|v| v.id == node_vswitch)
        .expect("vswitch");
    s.nodepools.push(NodePoolSpec {
        name: name.into(),
        instance_type: instance_type.into(),
        zones: vec![s.vswitches[vswitch].zone],
        node_vswitch: vec![vswitch],
        nodes,
        min_nodes: nodes,
        max_nodes: nodes,
        boot_time_ms: 2 * MINUTE_MS,
        max_pods: 0,
        terway: Default::default(),
    });
}

fn add_deployment(s: &mut Scenario, pool: Option<usize>, points: &[(Millis, f64)]) {
    s.workloads.push(WorkloadSpec {
        name: format!("w{}", s.workloads.len()),
        kind: WorkloadKind::Deployment(Replicated {
            replicas: Curve {
                points: points.to_vec(),
            },
            daily_swing: 0.0,
            rollout_every_ms: None,
            max_surge: Amount::Percent(25.0),
            max_unavailable: Amount::Percent(25.0),
            pod_management: PodManagement::OrderedReady,
        }),
        nodepool: pool,
        cpu_millis: 0,
        memory_mib: 0,
        termination_grace_ms: 10 * SECOND_MS,
    });
}

fn run(s: &Scenario) -> RunResult {
    World::new(s, 0).run()
}

fn last(series: &[u32]) -> u32 {
    *series.last().expect("samples")
}

/// Used addresses per vSwitch at the last sample.
fn used_at_end(s: &Scenario, result: &RunResult) -> Vec<u32> {
    let n = s.vswitches.len();
    result.samples.vswitch_used[result.samples.vswitch_used.len() - n..].to_vec()
}

// A /24 has 252 usable addresses. One node takes one for eth0, so pods can have 251. With
// max_pool_size = 0 every pod costs exactly one address (a new ENI's first call asks for one,
// its primary, which the pod gets). Replicas ramp 0 -> 300 over 300 minutes: the target rounds
// to k at (k - 0.5) min, a multiple of the 15 s resolution, so pod k is created then. Pod 251
// is created at 250.5 min = 15 030 s; its assign call starts 300 ms later (gather) and takes the
// last address: full at 15 030.3 s. Pod 252 is created at 15 090 s, its call starts at
// 15 090.3 s and is refused after 500 ms: the shortage is at 15 090.8 s.
#[test]
fn linear_ramp_runs_short_exactly_when_pods_exceed_usable_addresses() {
    let mut s = scenario(&[("vsw-a", "z1", "10.0.0.0/24", 0)], &["vsw-a"]);
    add_pool(&mut s, "workers", "ecs.g7.32xlarge", "vsw-a", 1);
    add_deployment(&mut s, None, &[(0, 0.0), (300 * MINUTE_MS, 300.0)]);
    let result = run(&s);
    assert_eq!(result.vswitches[0].full_at_ms, Some(15_030_300));
    assert_eq!(result.zones[0].first_shortage_ms, Some(15_090_800));
    assert_eq!(
        result.zones[0].first_shortage_cause,
        Some(ShortageCause::VSwitchExhausted)
    );
    assert_eq!(result.vswitches[0].peak_used, 252);
    // By the horizon 300 pods are wanted and 251 run: 49 wait for an address.
    assert_eq!(last(&result.samples.pods_running), 251);
    assert_eq!(last(&result.samples.pods_pending_ip), 49);
    // Demand is what the zone would hold with unlimited addresses: 1 eth0 + 300 pods.
    assert_eq!(result.zones[0].peak_demand, 301);
}

// The same ramp stopping at 251 pods never runs short.
#[test]
fn linear_ramp_that_fits_never_runs_short() {
    let mut s = scenario(&[("vsw-a", "z1", "10.0.0.0/24", 0)], &["vsw-a"]);
    add_pool(&mut s, "workers", "ecs.g7.32xlarge", "vsw-a", 1);
    add_deployment(&mut s, None, &[(0, 0.0), (251 * MINUTE_MS, 251.0)]);
    let result = run(&s);
    assert_eq!(result.zones[0].first_shortage_ms, None);
    assert_eq!(result.vswitches[0].full_at_ms, Some(15_030_300));
    assert_eq!(last(&result.samples.pods_pending_ip), 0);
}

// A /27 has 28 usable addresses. Two nodes in two pools take 2 for eth0. With
// min_pool_size = max_pool_size = 5 each node tops up to 5 idle at start: 12 used. At 1 h,
// 22 pods come to node b: 5 take its idle addresses, the other 17 need 17 of the 16 left.
// In the end the vSwitch is full (28 = 2 + 5 idle on a + 21 pods on b), one pod waits, and node
// a still holds 5 idle addresses no other node can use.
#[test]
fn pool_watermarks_strand_addresses_on_other_nodes() {
    let mut s = scenario(&[("vsw-a", "z1", "10.0.0.0/27", 0)], &["vsw-a"]);
    s.terway_configs[0].min_pool_size = 5;
    s.terway_configs[0].max_pool_size = 5;
    add_pool(&mut s, "a", CUSTOM, "vsw-a", 1);
    add_pool(&mut s, "b", CUSTOM, "vsw-a", 1);
    add_deployment(
        &mut s,
        Some(1),
        &[(0, 0.0), (HOUR_MS, 0.0), (HOUR_MS + 1, 22.0)],
    );
    let result = run(&s);
    assert_eq!(used_at_end(&s, &result), vec![28]);
    assert_eq!(last(&result.samples.zone_idle), 5);
    assert_eq!(last(&result.samples.pods_running), 21);
    assert_eq!(last(&result.samples.pods_pending_ip), 1);
    assert!(result.zones[0].first_shortage_ms.is_some());

    // Without pools the same 22 pods need 2 + 22 = 24 addresses of 28: no shortage.
    s.terway_configs[0].min_pool_size = 0;
    s.terway_configs[0].max_pool_size = 0;
    let result = run(&s);
    assert_eq!(result.zones[0].first_shortage_ms, None);
    assert_eq!(used_at_end(&s, &result), vec![24]);
    assert_eq!(last(&result.samples.pods_running), 22);
}

// vsw-a has 252 free, vsw-b 252 - 7 = 245; eth0 sits on vsw-c, which Terway does not list.
// Wave 1 (15 pods at 0 s) fills a new ENI: the cache is empty, so both are described and the
// ENI goes to vsw-a (252 > 245). vsw-a now truly has 237 free, fewer than vsw-b, but wave 2
// (15 pods at 2 min) still sees the cached 252 and puts its new ENI on vsw-a too. Wave 3 (at
// 12 min, after the 10 minute TTL) sees fresh counts, 222 against 245, and goes to vsw-b.
#[test]
fn a_new_eni_lands_on_the_vswitch_with_most_cached_free_addresses() {
    let mut s = scenario(
        &[
            ("vsw-a", "z1", "10.0.0.0/24", 0),
            ("vsw-b", "z1", "10.0.1.0/24", 7),
            ("vsw-c", "z1", "10.0.2.0/24", 0),
        ],
        &["vsw-b", "vsw-a"],
    );
    add_pool(&mut s, "workers", CUSTOM, "vsw-c", 1);
    let wave = |at: Millis, count: f64| [(at, count - 15.0), (at + 1, count)];
    let mut points = vec![(0, 15.0)];
    points.extend(wave(2 * MINUTE_MS, 30.0));
    points.extend(wave(12 * MINUTE_MS, 45.0));
    add_deployment(&mut s, None, &points);
    let result = run(&s);
    assert_eq!(used_at_end(&s, &result), vec![30, 15, 1]);
    assert_eq!(result.zones[0].first_shortage_ms, None);

    // With `random`, seeds disagree on where ENIs go.
    s.terway_configs[0].vswitch_selection = VSwitchSelection::Random;
    let placements: BTreeSet<Vec<u32>> = (0..12)
        .map(|seed| {
            s.seed = seed;
            used_at_end(&s, &run(&s))
        })
        .collect();
    assert!(
        placements.len() > 1,
        "random selection always chose the same"
    );
}

use std::collections::BTreeSet;

/// The expansion runbook on a zone whose only vSwitch, a /27 (28 addresses), runs dry: one node
/// (eth0 takes 1) wants 30 pods; 27 fit, 3 wait. At 2 h an operator adds vsw-b (`zone`), lists it
/// in `eni-config` and, if `restart`, restarts Terway 10 minutes later.
fn runbook(instance_type: &str, zone: &str, restart: bool) -> (Scenario, RunResult) {
    let mut s = scenario(
        &[
            ("vsw-a", "z1", "10.0.0.0/27", 0),
            ("vsw-b", zone, "10.0.32.0/24", 0),
        ],
        &["vsw-a"],
    );
    s.vswitches[1].created_at_ms = Some(2 * HOUR_MS);
    let mut expanded = s.terway_configs[0].clone();
    expanded.vswitches.insert("z1".into(), vec![0, 1]);
    s.terway_configs.push(expanded);
    s.actions.push(Action {
        at_ms: 2 * HOUR_MS,
        kind: ActionKind::AddVSwitch(1),
        file_index: 0,
    });
    s.actions.push(Action {
        at_ms: 2 * HOUR_MS,
        kind: ActionKind::SetTerway(1),
        file_index: 1,
    });
    if restart {
        s.actions.push(Action {
            at_ms: 2 * HOUR_MS + 10 * MINUTE_MS,
            kind: ActionKind::RestartTerway,
            file_index: 2,
        });
    }
    add_pool(&mut s, "workers", instance_type, "vsw-a", 1);
    add_deployment(&mut s, None, &[(0, 30.0)]);
    let result = run(&s);
    (s, result)
}

/// 4 ENIs: 3 secondary slots of 15. Two fill with vsw-a's 27 addresses (15 + 12); one is free.
const FREE_SLOT: &str = CUSTOM;
/// ecs.g7.large-like: 3 ENIs, 2 secondary slots of 15... use a custom type with 3 ENIs.
const NO_FREE_SLOT: &str = "ecs.test.two-slots";

fn with_two_slot_type(s: &mut Scenario) {
    s.instance_types.insert(
        NO_FREE_SLOT.into(),
        InstanceType {
            name: NO_FREE_SLOT.into(),
            vcpu: 16,
            memory_mib: 64 * 1024,
            eni_quantity: 3,
            ipv4_per_eni: 15,
        },
    );
}

#[test]
fn the_expansion_runbook_clears_waiting_pods_when_done_right() {
    let (s, result) = runbook(FREE_SLOT, "z1", true);
    let shortage = result.zones[0].first_shortage_ms.expect("vsw-a runs dry");
    assert!(shortage < 2 * HOUR_MS);
    // Before the fix: 27 running, 3 waiting (the sample at 1 h).
    assert_eq!(result.samples.pods_pending_ip[60], 3);
    assert_eq!(result.samples.pods_running[60], 27);
    // After the restart the free slot gets a new ENI on vsw-b for the 3 pods.
    assert_eq!(last(&result.samples.pods_pending_ip), 0);
    assert_eq!(last(&result.samples.pods_running), 30);
    assert_eq!(used_at_end(&s, &result), vec![28, 3]);
}

#[test]
fn the_runbook_does_nothing_without_the_restart() {
    let (s, result) = runbook(FREE_SLOT, "z1", false);
    assert_eq!(last(&result.samples.pods_pending_ip), 3);
    assert_eq!(used_at_end(&s, &result), vec![28, 0]);
}

#[test]
fn the_runbook_does_nothing_with_a_vswitch_in_another_zone() {
    let (s, result) = runbook(FREE_SLOT, "z2", true);
    assert_eq!(last(&result.samples.pods_pending_ip), 3);
    assert_eq!(used_at_end(&s, &result), vec![28, 0]);
}

#[test]
fn the_runbook_does_nothing_without_a_free_eni_slot() {
    // Build the runbook scenario by hand with the two-slot type.
    let (mut s, _) = runbook(FREE_SLOT, "z1", true);
    with_two_slot_type(&mut s);
    s.nodepools[0].instance_type = NO_FREE_SLOT.into();
    let result = run(&s);
    // 2 slots x 15 = 30 pods could fit the node, but its two ENIs are on vsw-a, which is full.
    assert_eq!(last(&result.samples.pods_pending_ip), 3);
    assert_eq!(used_at_end(&s, &result), vec![28, 0]);
}

// Determinism inside the model: the same run twice gives the same result, a different seed
// with random choices a different one.
#[test]
fn runs_are_repeatable() {
    let mut s = scenario(
        &[
            ("vsw-a", "z1", "10.0.0.0/24", 0),
            ("vsw-b", "z1", "10.0.1.0/24", 0),
        ],
        &["vsw-a", "vsw-b"],
    );
    s.terway_configs[0].vswitch_selection = VSwitchSelection::Random;
    s.terway_configs[0].max_pool_size = 5;
    add_pool(&mut s, "workers", CUSTOM, "vsw-a", 3);
    add_deployment(&mut s, None, &[(0, 10.0), (3 * HOUR_MS, 120.0)]);
    let first = World::new(&s, 0).run();
    let again = World::new(&s, 0).run();
    assert_eq!(first, again);
    let other = World::new(&s, 1).run();
    assert_ne!(first.samples, other.samples);
}

fn add_statefulset(s: &mut Scenario, points: &[(Millis, f64)], rollout_every_ms: Option<Millis>) {
    add_deployment(s, None, points);
    let workload = s.workloads.last_mut().expect("just added");
    let WorkloadKind::Deployment(replicated) = &workload.kind else {
        unreachable!()
    };
    let mut replicated = replicated.clone();
    replicated.rollout_every_ms = rollout_every_ms;
    workload.kind = WorkloadKind::StatefulSet(replicated);
}

fn step(at: Millis, from: f64, to: f64) -> Vec<(Millis, f64)> {
    vec![(0, from), (at, from), (at + 1, to)]
}

// 25 pods reach a fresh node (15 addresses per ENI) at once. Pods 1-15 queue on slot 0 until it
// is full (addresses + queue = 15), pods 16-25 on slot 1. Each slot gathers 300 ms and creates
// its ENI with min(10, queued) = 10 addresses (3 s); slot 0 then gathers again and assigns the
// other 5 (1 s). That is 2 creates and 1 assign, and the last pod has waited
// 0.3 + 3 + 0.3 + 1 = 4.6 s.
#[test]
fn a_burst_is_served_in_batches_of_ten() {
    let mut s = scenario(&[("vsw-a", "z1", "10.0.0.0/24", 0)], &["vsw-a"]);
    add_pool(&mut s, "workers", CUSTOM, "vsw-a", 1);
    add_deployment(&mut s, None, &step(HOUR_MS, 0.0, 25.0));
    let result = run(&s);
    assert_eq!(result.api_calls.create_eni, 2);
    assert_eq!(result.api_calls.assign_ips, 1);
    assert_eq!(result.api_calls.refused_ip_not_enough, 0);
    assert_eq!(last(&result.samples.pods_running), 25);
    let slowest = result.zone_ip_waits[0].served.len() - 1;
    assert_eq!(bucket_floor(slowest), bucket_floor(bucket_of(4_600)));
}

// A /28 gives 12 addresses; eth0 takes one, so at most 11 of 20 pods asked for at 1h ever get
// one, and the zone never gets more: at least 9 pods wait from their first CNI ADD (1h plus the
// controller's 15 s re-read and the scheduling, well under a minute) to the horizon at 6h.
// Their censored waits are 5h less that delay: 17 940 000 to 18 000 000 ms, all in the bucket
// with floor (64 + 4) << 18 = 17 825 792 ms (2^24 <= 18e6 < 2^25, sub-bucket (18e6 >> 18) & 63
// = 4, 262 144 ms wide). Ten pods got an address within seconds, the eleventh minutes later
// (the batch of the second ENI is refused all or nothing, then retried smaller).
#[test]
fn pods_that_never_get_an_address_count_as_censored_waits() {
    let mut s = scenario(&[("vsw-a", "z1", "10.0.0.0/28", 0)], &["vsw-a"]);
    add_pool(&mut s, "workers", CUSTOM, "vsw-a", 1);
    add_deployment(&mut s, None, &step(HOUR_MS, 0.0, 20.0));
    let result = run(&s);
    let waits = &result.zone_ip_waits[0];
    let served: u64 = waits.served.iter().sum();
    let censored: u64 = waits.censored.iter().sum();
    assert_eq!(served + censored, 20);
    assert_eq!((served, censored), (11, 9));
    assert_eq!(censored, u64::from(last(&result.samples.pods_pending_ip)));
    let longest = waits.censored.len() - 1;
    assert_eq!(bucket_floor(longest), 17_825_792);
    assert_eq!(waits.censored[longest], censored, "all in one bucket");
    // Slot 0 gathers 300 ms and creates its ENI with 10 addresses (3 s): 10 pods wait 3.3 s.
    assert_eq!(waits.served[bucket_of(3_300)], 10);
}

// The same shortage, but the Deployment scales back to 0 at 3h: the waiting pods are deleted
// while they wait, and count at 2h less the same delay (7 140 000 to 7 200 000 ms: floor
// (64 + 45) << 16 = 7 143 424 ms, as 2^22 <= 7.2e6 < 2^23 and (7.2e6 >> 16) & 63 = 45; a pod
// that asked 7 200 000 - 7 143 424 = 56.6 s after the step falls one bucket lower).
#[test]
fn pods_deleted_while_waiting_count_as_censored_waits() {
    let mut s = scenario(&[("vsw-a", "z1", "10.0.0.0/28", 0)], &["vsw-a"]);
    add_pool(&mut s, "workers", CUSTOM, "vsw-a", 1);
    add_deployment(
        &mut s,
        None,
        &[
            (0, 0.0),
            (HOUR_MS, 0.0),
            (HOUR_MS + 1, 20.0),
            (3 * HOUR_MS, 20.0),
            (3 * HOUR_MS + 1, 0.0),
        ],
    );
    let result = run(&s);
    let waits = &result.zone_ip_waits[0];
    let censored: u64 = waits.censored.iter().sum();
    assert!(censored >= 9, "{censored} censored");
    assert_eq!(last(&result.samples.pods_pending_ip), 0);
    assert_eq!(bucket_floor(waits.censored.len() - 1), 7_143_424);
}

// Five pods fill part of ENI 1; then three more pods come one at a time, with no idle address
// anywhere (max_pool_size = 0). Under most_ips each goes to the biggest ENI, which grows by an
// assign: 1 ENI in all. Under least_ips an empty slot (priority 0) sorts first, so each of the
// three creates a new ENI until all 4 slots are used: 4 creates.
#[test]
fn least_ips_opens_new_enis_eagerly_and_most_ips_fills_the_first() {
    let mut s = scenario(&[("vsw-a", "z1", "10.0.0.0/24", 0)], &["vsw-a"]);
    add_pool(&mut s, "workers", CUSTOM, "vsw-a", 1);
    let mut points = vec![(0, 5.0)];
    for (k, at) in [HOUR_MS, 2 * HOUR_MS, 3 * HOUR_MS].into_iter().enumerate() {
        points.push((at, 5.0 + k as f64));
        points.push((at + 1, 6.0 + k as f64));
    }
    add_deployment(&mut s, None, &points);
    let result = run(&s);
    assert_eq!(result.api_calls.create_eni, 1);
    assert_eq!(result.api_calls.assign_ips, 3);
    s.terway_configs[0].eni_selection = EniSelection::LeastIps;
    let result = run(&s);
    assert_eq!(result.api_calls.create_eni, 4);
    assert_eq!(result.api_calls.assign_ips, 0);
    assert_eq!(last(&result.samples.pods_running), 8);
}

// 20 pods on one node (ENIs of 15: 15 + 5 addresses) go away at 1 h. With max_pool_size = 5 the
// next pool tick wants 15 fewer idle addresses: ENI 2 (the emptiest) holds 5 and nothing uses it,
// so it is deleted whole; 10 more are unassigned from ENI 1. Terway's walk may land on ENI 1's
// primary, which it cannot unassign, so a later tick may finish the job: in the end the node
// holds 5 idle addresses, plus eth0: 6 used. With max_pool_size = 0 both ENIs go: 1 used.
#[test]
fn pool_ticks_trim_idle_addresses_down_to_max_pool_size() {
    let mut s = scenario(&[("vsw-a", "z1", "10.0.0.0/24", 0)], &["vsw-a"]);
    s.terway_configs[0].max_pool_size = 5;
    add_pool(&mut s, "workers", CUSTOM, "vsw-a", 1);
    add_deployment(&mut s, None, &step(HOUR_MS, 20.0, 0.0));
    let result = run(&s);
    assert_eq!(used_at_end(&s, &result), vec![6]);
    assert_eq!(last(&result.samples.zone_idle), 5);
    assert_eq!(result.api_calls.delete_eni, 1);
    assert!(result.api_calls.unassign_ips >= 1);

    s.terway_configs[0].max_pool_size = 0;
    let result = run(&s);
    assert_eq!(used_at_end(&s, &result), vec![1]);
    assert_eq!(result.api_calls.delete_eni, 2);
}

// Idle reclaim trims below max_pool_size once the pool has been untouched for a while.
// 10 pods leave at 1 h; max_pool_size = 10 keeps all 10 idle, forever without reclaim. With
// reclaim after 10 minutes, in batches of 5, the pool drains to min_pool_size = 0 within hours.
#[test]
fn idle_reclaim_trims_below_max_pool_size() {
    let mut s = scenario(&[("vsw-a", "z1", "10.0.0.0/24", 0)], &["vsw-a"]);
    s.terway_configs[0].max_pool_size = 10;
    add_pool(&mut s, "workers", CUSTOM, "vsw-a", 1);
    add_deployment(&mut s, None, &step(HOUR_MS, 10.0, 0.0));
    let result = run(&s);
    assert_eq!(used_at_end(&s, &result), vec![11]);
    s.terway_configs[0].idle_ip_reclaim = Some(crate::scenario::IdleReclaim {
        after_ms: 10 * MINUTE_MS,
        interval_ms: 10 * MINUTE_MS,
        batch_size: 5,
        jitter_factor: 0.0,
    });
    let result = run(&s);
    assert_eq!(used_at_end(&s, &result), vec![1]);
}

// Three StatefulSet pods leave at 1 h. Terway holds their addresses 5 to 10 minutes, so at 65
// min they are still used (1 + 3 = 4); a Deployment's are idle at once and gone after the next
// pool tick (at most 4 minutes, plus 7 s to delete the ENI): 1 used at 65 min. The samples are a
// minute apart, so sample 65 is 65 min.
#[test]
fn statefulset_addresses_are_held_for_a_same_name_pod() {
    let mut s = scenario(&[("vsw-a", "z1", "10.0.0.0/24", 0)], &["vsw-a"]);
    add_pool(&mut s, "workers", CUSTOM, "vsw-a", 1);
    add_statefulset(&mut s, &step(HOUR_MS, 3.0, 0.0), None);
    let result = run(&s);
    assert_eq!(result.samples.vswitch_used[65], 4);
    assert_eq!(result.samples.vswitch_used[90], 1);

    let mut d = scenario(&[("vsw-a", "z1", "10.0.0.0/24", 0)], &["vsw-a"]);
    add_pool(&mut d, "workers", CUSTOM, "vsw-a", 1);
    add_deployment(&mut d, None, &step(HOUR_MS, 3.0, 0.0));
    let result = run(&d);
    assert_eq!(result.samples.vswitch_used[65], 1);
}

// A StatefulSet rollout deletes one pod at a time and recreates it under the same name; on a
// single node the new pod gets the held address back, so the rollout needs no new address:
// the peak stays at 1 eth0 + 3 pods.
#[test]
fn a_statefulset_rollout_reuses_held_addresses() {
    let mut s = scenario(&[("vsw-a", "z1", "10.0.0.0/24", 0)], &["vsw-a"]);
    add_pool(&mut s, "workers", CUSTOM, "vsw-a", 1);
    add_statefulset(&mut s, &[(0, 3.0)], Some(HOUR_MS));
    let result = run(&s);
    assert_eq!(result.vswitches[0].peak_used, 4);
    assert_eq!(result.api_calls.assign_ips + result.api_calls.create_eni, 3);
    assert_eq!(last(&result.samples.pods_running), 3);
}

// A Deployment rollout with the default 25% surge needs new addresses while old pods still run:
// 8 pods, surge ceil(2) = 2, so the peak is at least 1 + 8 + 2 = 11.
#[test]
fn a_deployment_rollout_surges() {
    let mut s = scenario(&[("vsw-a", "z1", "10.0.0.0/24", 0)], &["vsw-a"]);
    add_pool(&mut s, "workers", CUSTOM, "vsw-a", 1);
    add_deployment(&mut s, None, &[(0, 8.0)]);
    if let WorkloadKind::Deployment(r) = &mut s.workloads[0].kind {
        r.rollout_every_ms = Some(HOUR_MS);
    }
    let result = run(&s);
    assert!(
        result.vswitches[0].peak_used >= 11,
        "{}",
        result.vswitches[0].peak_used
    );
    assert_eq!(last(&result.samples.pods_running), 8);
}

// One node of 64 vCPU holds 4 pods of 16 vCPU. 10 pods: 6 are unschedulable, the autoscaler
// (10 s scan) adds ceil(6 / 4) = 2 nodes, Ready 2 minutes later; everything runs by 3 min. At
// 1 h the pods go; the nodes are empty from 1 h 15 s (the next target tick) and removed 10
// minutes later down to min_nodes = 1.
#[test]
fn the_autoscaler_adds_nodes_for_unschedulable_pods_and_removes_empty_ones() {
    let mut s = scenario(&[("vsw-a", "z1", "10.0.0.0/24", 0)], &["vsw-a"]);
    add_pool(&mut s, "workers", CUSTOM, "vsw-a", 1);
    s.nodepools[0].max_nodes = 3;
    add_deployment(&mut s, None, &step(HOUR_MS, 10.0, 0.0));
    s.workloads[0].cpu_millis = 16_000;
    let result = run(&s);
    assert_eq!(result.samples.nodes[1], 1);
    assert_eq!(result.samples.pods_unschedulable[1], 6);
    assert_eq!(result.samples.nodes[3], 3);
    assert_eq!(result.samples.pods_running[3], 10);
    // Three eth0 addresses and ten pods.
    assert_eq!(result.samples.vswitch_used[3], 13);
    assert_eq!(result.samples.nodes[70], 3);
    assert_eq!(result.samples.nodes[71], 1);
}

// A /29 has 4 usable addresses: only 4 of 6 nodes get an eth0 address; the other launches fail.
#[test]
fn node_launches_fail_when_the_node_vswitch_is_full() {
    let mut s = scenario(
        &[
            ("vsw-a", "z1", "10.0.0.0/24", 0),
            ("vsw-n", "z1", "10.0.1.0/29", 0),
        ],
        &["vsw-a"],
    );
    add_pool(&mut s, "workers", CUSTOM, "vsw-n", 6);
    let result = run(&s);
    assert_eq!(result.node_launch_failures, 2);
    assert_eq!(last(&result.samples.nodes), 4);
    assert_eq!(result.vswitches[1].full_at_ms, Some(0));
}

// The queue moves each event a few times on its way out (see engine/queue.rs); an event that
// grew past two words would cost every one of those moves.
#[test]
fn events_stay_two_words() {
    assert!(
        std::mem::size_of::<Event>() <= 16,
        "{}",
        std::mem::size_of::<Event>()
    );
}

// Most events read one node or one pod record first, and that read is usually a cache miss:
// what it checks must sit in one cache line (see the layouts' comments).
#[test]
fn hot_fields_stay_in_one_cache_line() {
    use super::cluster::Node;
    use super::terway::Daemon;
    use super::workload::Pod;
    use std::mem::{align_of, offset_of, size_of};

    assert_eq!((size_of::<Pod>(), align_of::<Pod>()), (48, 16));
    assert!(offset_of!(Pod, node) + size_of::<NodeId>() <= 16);
    assert_eq!(align_of::<Node>(), 64);
    let pool_loop_end = offset_of!(Node, daemon) + offset_of!(Daemon, config) + size_of::<usize>();
    assert!(
        pool_loop_end <= 64,
        "the pool loop reads {pool_loop_end} bytes"
    );
    assert!(offset_of!(Node, usage) < 64 && offset_of!(Node, ipv4_per_eni) < 64);
    use super::terway::Slot;
    assert_eq!(align_of::<Slot>(), 64);
    assert!(offset_of!(Slot, inhibit_until_ms) + size_of::<Millis>() <= 64);
    assert!(offset_of!(Slot, queue) + size_of::<std::collections::VecDeque<()>>() <= 64);
}

mod centralized;

mod podnetworking;
