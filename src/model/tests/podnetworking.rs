//! Pods on ENIs of their own under centralized IPAM, expectations worked out by hand from the
//! domain note on modes, section 5: the trunk ENI (one slot, at least one address, made on the
//! first pass even with no pod), member ENIs of one address from the PodNetworking's vSwitches
//! (first-fit over the list on the cluster's cached counts, `IpNotEnough` blocking), the
//! per-node member limit `EniTotalQuantity - EniQuantity`, and fixed addresses held until
//! `release_after` past the pod's last sighting (GC every minute). Timings: an ECS call of the
//! multi-IP controller takes `assign_ips` = 1 s and its attach 3 s more; a pod's ENI is usable
//! `create_eni` = 3 s after the call; a refused call answers in 0.5 s.

use super::*;
use crate::scenario::{PodNetworkingSelection, PodNetworkingSpec};

const TRUNK: &str = "ecs.test.trunk";

/// `vsw-a` (shared, listed in `eni_conf`), `vsw-n` (eth0), `vsw-p1` (/29: 4 usable) and
/// `vsw-p2` (/28: 12 usable) for PodNetworkings; one trunk pool of `nodes` nodes, each taking at
/// most `members` member ENIs.
fn trunk_scenario(nodes: u32, members: u32) -> Scenario {
    let mut s = scenario(
        &[
            ("vsw-a", "z1", "10.0.0.0/24", 0),
            ("vsw-n", "z1", "10.0.1.0/24", 0),
            ("vsw-p1", "z1", "10.0.2.0/29", 0),
            ("vsw-p2", "z1", "10.0.3.0/28", 0),
        ],
        &["vsw-a"],
    );
    for config in &mut s.terway_configs {
        config.ipam = IpamType::Centralized;
        config.max_pool_size = 5;
    }
    s.instance_types.insert(
        TRUNK.into(),
        InstanceType {
            name: TRUNK.into(),
            vcpu: 64,
            memory_mib: 256 * 1024,
            eni_quantity: 3,
            ipv4_per_eni: 10,
        },
    );
    add_pool(&mut s, "workers", TRUNK, "vsw-n", nodes);
    s.pod_enis.enable_eni_trunking = true;
    s.pod_enis.exclusive_eni = vec![false];
    s.pod_enis.member_eni_limit = vec![members];
    s.horizon_ms = 2 * HOUR_MS;
    s
}

/// A PodNetworking over `vswitches` (in order) and a Deployment (or StatefulSet) it selects.
fn add_podnetworking(s: &mut Scenario, vswitches: &[&str], release_after_ms: Option<Millis>) {
    let list = vswitches
        .iter()
        .map(|id| {
            s.vswitches
                .iter()
                .position(|v| v.id == *id)
                .expect("vswitch")
        })
        .collect();
    s.pod_enis.podnetworkings.push(PodNetworkingSpec {
        name: "pn".into(),
        vswitches: vec![list],
        selection: PodNetworkingSelection::Ordered,
        fixed_release_after_ms: release_after_ms,
    });
}

fn select_last_workload(s: &mut Scenario) {
    s.pod_enis
        .workload_podnetworking
        .resize(s.workloads.len() - 1, None);
    s.pod_enis.workload_podnetworking.push(Some(0));
}

fn step_until(world: &mut World, until_ms: Millis) {
    while world.queue.peek_time().is_some_and(|at| at <= until_ms) {
        let (_, event) = world.queue.pop().expect("an event");
        world.handle(event);
        if let Err(message) = world.check_invariants() {
            panic!("at {} ms after {event:?}: {message}", world.now());
        }
    }
}

fn count(world: &World, state: workload::PodState) -> usize {
    world.pods.iter().filter(|p| p.state == state).count()
}

// Two trunk nodes and no pod. Each node's first pass runs when it is Ready, at 0 s: demand
// 0 + max(0 + 0 - 0, 0) = 0, but the trunk ENI is wanted, so the pass creates it with
// min(10, max(0, 1), 10) = 1 address on slot 0 from `vsw-a`. The call returns at 1 s, the attach
// is seen at 4 s. Then each node holds one ENI of one address, and `adjustPool` never trims it
// (1 idle is within max_pool_size 5; it would keep the primary anyway): `vsw-a` holds 2 for the
// whole run, `vsw-n` the 2 eth0s.
// At 30 min one ordinary pod comes: its pass binds the trunk's idle address (the trunk is an
// ENI of the shared pool), after which demand is 1 - 1 bound = 0 pods: no new call.
#[test]
fn every_trunk_node_has_a_trunk_eni_with_one_address_even_without_pods() {
    let mut s = trunk_scenario(2, 4);
    add_deployment(&mut s, None, &step(30 * MINUTE_MS, 0.0, 1.0));
    let mut world = World::new(&s, 0);
    step_until(&mut world, 3_999);
    for node in &world.nodes {
        assert_eq!(node.controller.trunk_slot, Some(0));
        assert_eq!(node.slots[0].status, terway::SlotStatus::Creating);
    }
    assert_eq!(
        world.vswitches[0].used, 2,
        "the two trunk creates took one each"
    );
    step_until(&mut world, 4_000);
    for node in &world.nodes {
        assert_eq!(node.slots[0].status, terway::SlotStatus::InUse);
        assert_eq!((node.slots[0].ips, node.slots[0].idle), (1, 1));
        assert!(
            node.slots[1..]
                .iter()
                .all(|slot| slot.status == terway::SlotStatus::Init)
        );
    }
    step_until(&mut world, HOUR_MS);
    assert_eq!(count(&world, workload::PodState::Running), 1);
    let pod = world
        .pods
        .iter()
        .find(|p| p.state == workload::PodState::Running)
        .expect("the pod");
    assert_eq!(pod.slot, 0, "the shared pod runs on the trunk ENI");
    assert_eq!(world.metrics.api_calls.create_eni, 2, "only the two trunks");
    assert_eq!(world.metrics.api_calls.assign_ips, 0);
    let result = world.run();
    assert_eq!(used_at_end(&s, &result), vec![2, 2, 0, 0]);
}

// One trunk node (member limit 10), a PodNetworking over [vsw-p1 (4 usable), vsw-p2 (12)], six
// of its pods at 1 h. The first pod's create describes vsw-p1: 4 in the cache for 20 minutes,
// a snapshot. The six pods are bound together and their CNI ADDs come in the same instant.
// Pods 1-4 each pick vsw-p1, the first listed with a nonzero count, and take its 4 addresses.
// Pods 5 and 6 pick vsw-p1 too (the cache still says 4) and ECS refuses both (`IpNotEnough`):
// the first answer, 0.5 s later, blocks vsw-p1 in the cluster's cache (count 0 for 20
// minutes). Their retries (5 ms after the answers) find vsw-p1 at 0 and take vsw-p2: vsw-p1 is
// full before vsw-p2 is touched. Calls: the trunk plus 6 member creates, and two refusals.
#[test]
fn ordered_podnetworking_fills_the_first_vswitch_before_the_second() {
    let mut s = trunk_scenario(1, 10);
    add_podnetworking(&mut s, &["vsw-p1", "vsw-p2"], None);
    add_deployment(&mut s, None, &step(HOUR_MS, 0.0, 6.0));
    select_last_workload(&mut s);
    let mut world = World::new(&s, 0);
    while let Some((_, event)) = world.queue.pop() {
        if world.now() > s.horizon_ms {
            break;
        }
        world.handle(event);
        world.check_invariants().expect("invariants");
        if world.vswitches[3].used > 0 {
            assert_eq!(
                world.vswitches[2].used, 4,
                "vsw-p2 is touched only once vsw-p1 is full"
            );
        }
    }
    assert_eq!(count(&world, workload::PodState::Running), 6);
    assert_eq!((world.vswitches[2].used, world.vswitches[3].used), (4, 2));
    assert_eq!(world.metrics.api_calls.create_eni, 7);
    assert_eq!(world.metrics.api_calls.refused_ip_not_enough, 2);
    assert!(world.controller.blocks[2].is_some(), "vsw-p1 was blocked");
}

// One trunk node, a fixed PodNetworking on vsw-p2 with release_after 10 min, a StatefulSet of
// one pod until 30 min. The target is read every 15 s: at 1 815 s it is 0, the pod is deleted
// and stops after its 10 s grace: gone at 1 825 s. Its address stays held (vsw-p2 keeps 1). The
// GC's first tick is one period after the hold, at 1 885 s, then every 60 s; the first tick at
// or after 1 825 + 600 = 2 425 s is 1 885 + 9 x 60 = 2 425 s itself: the address is freed then.
#[test]
fn a_fixed_address_is_held_for_release_after_then_freed() {
    let mut s = trunk_scenario(1, 10);
    add_podnetworking(&mut s, &["vsw-p2"], Some(10 * MINUTE_MS));
    add_statefulset(&mut s, &step(30 * MINUTE_MS, 1.0, 0.0), None);
    select_last_workload(&mut s);
    let mut world = World::new(&s, 0);
    step_until(&mut world, 1_824_999);
    assert_eq!(count(&world, workload::PodState::Terminating), 1);
    step_until(&mut world, 1_825_000);
    assert_eq!(count(&world, workload::PodState::Gone), 1);
    assert_eq!(world.vswitches[3].used, 1, "held after the pod is gone");
    assert_eq!(world.pod_enis.held.len(), 1);
    step_until(&mut world, 2_424_999);
    assert_eq!(
        world.vswitches[3].used, 1,
        "held until release_after has passed"
    );
    step_until(&mut world, 2_425_000);
    assert_eq!(world.vswitches[3].used, 0, "freed by the GC at 2 425 s");
    assert!(world.pod_enis.held.is_empty());
}

// The same fixed StatefulSet pod comes back at 40 min (within release_after = 1 h): it gets
// its held address again, attached without a new create: still one member create in all, and
// vsw-p2 holds 1 throughout.
#[test]
fn a_fixed_address_is_reused_by_the_same_name_pod() {
    let mut s = trunk_scenario(1, 10);
    add_podnetworking(&mut s, &["vsw-p2"], Some(HOUR_MS));
    add_statefulset(
        &mut s,
        &[
            (0, 1.0),
            (30 * MINUTE_MS, 1.0),
            (30 * MINUTE_MS + 1, 0.0),
            (40 * MINUTE_MS, 0.0),
            (40 * MINUTE_MS + 1, 1.0),
        ],
        None,
    );
    select_last_workload(&mut s);
    let mut world = World::new(&s, 0);
    step_until(&mut world, 50 * MINUTE_MS);
    assert_eq!(count(&world, workload::PodState::Running), 1);
    assert_eq!(world.vswitches[3].used, 1);
    assert!(
        world.pod_enis.held.is_empty(),
        "the address is the pod's again"
    );
    assert_eq!(
        world.metrics.api_calls.create_eni, 2,
        "the trunk and one member ENI: the second pod reattached it"
    );
}

// One trunk node whose type allows 2 member ENIs (EniTotalQuantity - EniQuantity = 2, offered
// as `aliyun/member-eni`), three PodNetworking pods at 1 h: the scheduler binds two, which get
// member ENIs (vsw-p2 holds 2); the third fits no node and stays pending (unschedulable: the
// pool cannot grow) to the horizon, without waiting for an address. Creates: the trunk and two
// members.
#[test]
fn the_member_eni_limit_leaves_pods_pending() {
    let mut s = trunk_scenario(1, 2);
    add_podnetworking(&mut s, &["vsw-p2"], None);
    add_deployment(&mut s, None, &step(HOUR_MS, 0.0, 3.0));
    select_last_workload(&mut s);
    let mut world = World::new(&s, 0);
    step_until(&mut world, s.horizon_ms - 1);
    assert_eq!(count(&world, workload::PodState::Running), 2);
    assert_eq!(count(&world, workload::PodState::Unscheduled), 1);
    assert_eq!(world.nodes[0].controller.member_pods, 2);
    assert_eq!(world.nodes[0].controller.pod_enis, 2);
    assert!(world.nodes[0].controller.eni_waiting.is_empty());
    assert_eq!(world.vswitches[3].used, 2);
    assert_eq!(world.metrics.api_calls.create_eni, 3);
    let result = world.run();
    assert_eq!(last(&result.samples.pods_pending_ip), 0);
    assert_eq!(
        result.zones[0].first_shortage_ms, None,
        "not a vSwitch shortage"
    );
}
