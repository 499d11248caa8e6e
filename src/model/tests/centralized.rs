//! Centralized IPAM (`ipam_type = "crd"`): expectations worked out by hand from the domain note
//! on modes, section 2 (passes at most one a second, one assign or create of at most 10 per
//! pass, demand `pods + max(min_pool + pods - idle, 0)`, the cluster-wide 20-minute vSwitch
//! cache and its block). Timings: an ECS call takes `assign_ips` = 1 s, a refused one 0.5 s,
//! an attach is seen 3 s after the create returns.

use super::*;

const WIDE: &str = "ecs.test.wide";

fn centralized(mut s: Scenario) -> Scenario {
    for config in &mut s.terway_configs {
        config.ipam = IpamType::Centralized;
        config.max_pool_size = 5;
    }
    s.instance_types.insert(
        WIDE.into(),
        InstanceType {
            name: WIDE.into(),
            vcpu: 64,
            memory_mib: 256 * 1024,
            eni_quantity: 3,
            ipv4_per_eni: 50,
        },
    );
    s
}

/// Handles every event up to and including `until_ms`, checking the invariants after each.
fn step_until(world: &mut World, until_ms: Millis) {
    while world.queue.peek_time().is_some_and(|at| at <= until_ms) {
        let (_, event) = world.queue.pop().expect("an event");
        world.handle(event);
        if let Err(message) = world.check_invariants() {
            panic!("at {} ms after {event:?}: {message}", world.now());
        }
    }
}

fn running(world: &World) -> usize {
    world
        .pods
        .iter()
        .filter(|p| p.state == workload::PodState::Running)
        .count()
}

// One node of a wide type (2 secondary ENIs of 50 addresses), max_pool_size 5.
// One pod at 0 s: the node's first pass (at 0 s, before the pod exists) finds nothing; the pod's
// bind asks for a pass, held back to 1 s by the throttle. Demand 1 + (0 + 1 - 0) = 2: a create
// of 2 addresses, returning at 2 s; the attach is seen at 5 s, whose pass binds the pod: one
// address idle (2 on the ENI, 1 used).
// 25 pods at 615 s (the target is read every 15 s; at 600 s it is still 1): pass 1 binds the idle address to the first pod, then
// demand 24 + 24 = 48, the ENI takes min(50 - 2, 48, 10) = 10: back at 601 s, 10 pods bound.
// Pass 2 at 602 s (1 s after the first ended): 14 wait, demand 28, 10 more at 603 s. Pass 3 at
// 604 s: 4 wait, demand 8, the ENI takes 8 at 605 s: the last 4 pods run at 605 s, 4 addresses
// stay idle (below max_pool_size, so nothing is trimmed). Three assign calls, one create; the
// vSwitch holds eth0 + 2 + 10 + 10 + 8 = 31.
#[test]
fn a_burst_of_25_pods_on_a_node_with_room_takes_three_passes() {
    let mut s = centralized(scenario(&[("vsw-a", "z1", "10.0.0.0/24", 0)], &["vsw-a"]));
    add_pool(&mut s, "workers", WIDE, "vsw-a", 1);
    add_deployment(
        &mut s,
        None,
        &[(0, 1.0), (10 * MINUTE_MS, 1.0), (10 * MINUTE_MS + 1, 26.0)],
    );
    s.horizon_ms = HOUR_MS;
    let mut world = World::new(&s, 0);
    step_until(&mut world, 4_999);
    assert_eq!(running(&world), 0);
    step_until(&mut world, 5_000);
    assert_eq!(running(&world), 1);
    assert_eq!(world.metrics.api_calls.create_eni, 1);

    // The target is re-read every 15 s: at 600 s it is still 1, the 25 pods come at 615 s.
    let burst = 615_000;
    step_until(&mut world, burst);
    assert_eq!(
        running(&world),
        2,
        "the idle address serves one pod at once"
    );
    step_until(&mut world, burst + 999);
    assert_eq!(running(&world), 2);
    step_until(&mut world, burst + 1_000);
    assert_eq!(running(&world), 12);
    step_until(&mut world, burst + 2_999);
    assert_eq!(running(&world), 12);
    step_until(&mut world, burst + 3_000);
    assert_eq!(running(&world), 22);
    step_until(&mut world, burst + 4_999);
    assert_eq!(running(&world), 22);
    step_until(&mut world, burst + 5_000);
    assert_eq!(running(&world), 26);
    assert_eq!(world.metrics.api_calls.assign_ips, 3);
    let result = world.run();
    assert_eq!(result.api_calls.create_eni, 1);
    assert_eq!(result.api_calls.assign_ips, 3);
    assert_eq!(used_at_end(&s, &result), vec![31]);
    assert_eq!(result.zones[0].first_shortage_ms, None);
}

// A /27 pod vSwitch (28 usable), eth0 on another; two nodes of 4 ENIs x 15, 15 pods each at 0 s.
// Both nodes' first passes run at 1 s: each creates an ENI of min(15, 30, 10) = 10 addresses
// (the cache, described by the first, says 28): 8 left. Both attaches are seen at 5 s: node A's
// pass binds 10 pods and assigns min(15 - 10, 10, 10) = 5 (3 left); node B's pass binds its 10
// and asks for 5 of the 3: `IpNotEnough` at 5.5 s blocks vsw-p for the whole cluster until
// 5.5 s + 20 min = 1 205.5 s. Node B's later passes find its ENI's vSwitch at 0 and no vSwitch
// for a new ENI: they fail, backing off 1, 2, 4 ... 256, then 300 s: at 7.5, 9.5, 13.5 ... 517.5,
// 817.5, 1 117.5 and 1 417.5 s. Only that last one, after the block, calls ECS again (and fails
// again: 3 left, 5 asked).
#[test]
fn after_ip_not_enough_no_node_calls_for_the_vswitch_until_the_block_expires() {
    let mut s = centralized(scenario(
        &[
            ("vsw-p", "z1", "10.0.0.0/27", 0),
            ("vsw-n", "z1", "10.0.1.0/24", 0),
        ],
        &["vsw-p"],
    ));
    add_pool(&mut s, "workers", CUSTOM, "vsw-n", 2);
    add_deployment(&mut s, None, &[(0, 30.0)]);
    s.horizon_ms = HOUR_MS;
    let mut world = World::new(&s, 0);
    // A refused call counts when it is made; the block comes with the answer.
    step_until(&mut world, 4_999);
    assert_eq!(world.metrics.api_calls.refused_ip_not_enough, 0);
    step_until(&mut world, 5_000);
    assert_eq!(world.metrics.api_calls.refused_ip_not_enough, 1);
    assert_eq!(world.controller.blocks[0], None);
    step_until(&mut world, 5_500);
    assert_eq!(world.controller.blocks[0], Some((5_500, 1_205_500)));
    let calls = |w: &World| {
        let c = w.metrics.api_calls;
        c.create_eni + c.assign_ips + c.refused_ip_not_enough
    };
    let before = calls(&world);
    assert_eq!(before, 4, "two creates, one assign, one refusal");
    step_until(&mut world, 1_417_499);
    assert_eq!(calls(&world), before, "no call while vsw-p is blocked");
    assert_eq!(running(&world), 25);
    step_until(&mut world, 1_417_500);
    assert_eq!(world.metrics.api_calls.refused_ip_not_enough, 2);
    step_until(&mut world, 1_418_000);
    assert_eq!(
        world.controller.blocks[0],
        Some((1_418_000, 1_418_000 + 20 * MINUTE_MS))
    );
    // Three addresses are free all along, but every call asks for 5 (the ENI's room; a new ENI
    // would ask for 10): for these pods the zone ran short when the first refusal came back.
    let result = world.run();
    assert_eq!(result.zones[0].first_shortage_ms, Some(5_500));
    assert_eq!(result.zones[0].first_stranded_ms, None);
    assert_eq!(used_at_end(&s, &result)[0], 25);
}

// Two listed vSwitches, ordered: vsw-a 252 free, vsw-b 245 (7 used by others); eth0 on vsw-c.
// Six nodes of 4 ENIs x 15 get 10 pods each at 0 s. Every node creates an ENI of 10: the first
// describe caches 252 for vsw-a and 245 for vsw-b, a snapshot the creates do not lower, so all
// six ENIs go to vsw-a although after the second it truly has fewer free (232, 222, ...) than
// vsw-b. At 25 min, past the 20-minute TTL, 6 more pods per node: each ENI grows by its last 5
// on vsw-a, and the sixth pod needs a new ENI (2 addresses) where fresh counts say vsw-b has
// more: vsw-a 6 x 15 = 90, vsw-b 6 x 2 = 12, vsw-c the 6 eth0s.
#[test]
fn a_snapshot_count_sends_every_new_eni_to_the_same_vswitch_within_one_ttl() {
    let mut s = centralized(scenario(
        &[
            ("vsw-a", "z1", "10.0.0.0/24", 0),
            ("vsw-b", "z1", "10.0.1.0/24", 7),
            ("vsw-c", "z1", "10.0.2.0/24", 0),
        ],
        &["vsw-b", "vsw-a"],
    ));
    add_pool(&mut s, "workers", CUSTOM, "vsw-c", 6);
    add_deployment(
        &mut s,
        None,
        &[
            (0, 60.0),
            (25 * MINUTE_MS, 60.0),
            (25 * MINUTE_MS + 1, 96.0),
        ],
    );
    s.horizon_ms = HOUR_MS;
    let mut world = World::new(&s, 0);
    step_until(&mut world, 20 * MINUTE_MS);
    assert_eq!(
        world.vswitches.iter().map(|v| v.used).collect::<Vec<_>>(),
        vec![60, 0, 6]
    );
    let result = world.run();
    assert_eq!(used_at_end(&s, &result), vec![90, 12, 6]);
    assert_eq!(last(&result.samples.pods_running), 96);
}

// Prefix mode, 2 prefixes per node. vsw-p is a /24 whose 10.0.0.64/26 is reserved: 64
// addresses, 4 aligned /28s. Three nodes (eth0 on vsw-n) join at 0 s; their first passes run at
// once: nodes 0 and 1 each create an ENI with 2 prefixes (4 taken, the block is full); node 2
// finds none free and fails (no vSwitch is blocked), backing off to 1 s. 60 pods are bound at
// 0 s, 20 per node. At 1 s node 2's pass fails again with 20 pods waiting and no free prefix
// within reach: the zone's first shortage. The creates return at 1 s, the attaches are seen at
// 4 s: nodes 0 and 1 run their 20 pods each (32 addresses each). Node 2 never gets a prefix.
#[test]
fn a_26_reservation_holds_four_prefixes_so_a_third_node_gets_none() {
    let mut s = centralized(scenario(
        &[
            ("vsw-p", "z1", "10.0.0.0/24", 0),
            ("vsw-n", "z1", "10.0.1.0/24", 0),
        ],
        &["vsw-p"],
    ));
    s.vswitches[0].cidr_reservations = vec!["10.0.0.64/26".parse().unwrap()];
    assert_eq!(s.vswitches[0].reserved_prefixes(), 4);
    assert_eq!(s.vswitches[0].usable_ips(), 252 - 64);
    s.terway_configs[0].enable_ip_prefix = true;
    s.terway_configs[0].ipv4_prefix_count = 2;
    add_pool(&mut s, "workers", CUSTOM, "vsw-n", 3);
    add_deployment(&mut s, None, &[(0, 60.0)]);
    s.horizon_ms = HOUR_MS;
    let mut world = World::new(&s, 0);
    step_until(&mut world, 0);
    assert_eq!(world.vswitches[0].reserved.used, 4);
    step_until(&mut world, 3_999);
    assert_eq!(running(&world), 0);
    step_until(&mut world, 4_000);
    assert_eq!(running(&world), 40);
    let held: Vec<usize> = world.nodes.iter().map(|n| n.prefixes.len()).collect();
    assert_eq!(held, vec![2, 2, 0]);
    // Prefixes are the block's aligned /28s, lowest first: .64, .80 for node 0, .96, .112 for 1.
    let first_addresses: Vec<String> = world
        .nodes
        .iter()
        .flat_map(|n| {
            n.prefixes
                .iter()
                .map(|&(_, a)| std::net::Ipv4Addr::from(a).to_string())
        })
        .collect();
    assert_eq!(
        first_addresses,
        vec!["10.0.0.64", "10.0.0.80", "10.0.0.96", "10.0.0.112"]
    );
    let result = world.run();
    assert_eq!(result.zones[0].first_shortage_ms, Some(1_000));
    assert_eq!(last(&result.samples.pods_running), 40);
    assert_eq!(last(&result.samples.pods_pending_ip), 20);
    assert_eq!(result.vswitches[0].peak_prefixes_used, 4);
    // The normal range holds the two ENI primaries only.
    assert_eq!(used_at_end(&s, &result), vec![2, 3]);
}
