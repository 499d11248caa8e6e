//! What the property tests generate: valid scenarios, pairs of worlds that differ only in the
//! size of their pod vSwitch, and mutations of scenario files. Each is a value proptest can
//! shrink, written out as text the way a user would write it.
//!
//! A choice whose range depends on another (a node pool's zones among the scenario's, a
//! workload's node pool, an action's time within the horizon, `min_pool_size` up to
//! `max_pool_size`) is drawn as a [`sample::Index`] and scaled when the text is written, not
//! with `prop_flat_map`: the value stays one tree that shrinks field by field, and every
//! choice stays in range whatever the others shrink to. Sizes stay small (hours, a few nodes,
//! tens of pods) to keep `cargo test` quick in the debug profile.

use std::fmt::{self, Write};

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{Index, select};
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngSeed, TestRunner};

/// Node types the scenarios pick from: all in the built-in catalog, all accepted by ACK.
const INSTANCE_TYPES: &[&str] = &[
    "ecs.g7.large",
    "ecs.g7.xlarge",
    "ecs.g7.2xlarge",
    "ecs.c7.xlarge",
    "ecs.g6.xlarge",
    "ecs.g5.2xlarge",
    "ecs.r6.xlarge",
    "ecs.g6e.xlarge",
];

const ZONES: &[&str] = &["cn-test-a", "cn-test-b", "cn-test-c"];
const SAMPLE_INTERVALS: &[&str] = &["1m", "5m", "10m"];
const VSWITCH_POLICIES: &[&str] = &["ordered", "random"];
const ENI_POLICIES: &[&str] = &["most_ips", "least_ips"];

/// `low..=high` from an index drawn before `high` was known.
fn within(index: Index, low: u32, high: u32) -> u32 {
    low + index.index((high - low + 1) as usize) as u32
}

/// What kind of scenario to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// Anything valid: every section, every workload kind, every action.
    Any,
    /// Like `Any`, but Terway keeps no pool: `max_pool_size = min_pool_size = 0` throughout.
    ZeroPools,
}

/// A valid scenario of one [`Family`]: zones with their vSwitches, Terway, the cloud's
/// latencies, node pools, workloads and actions.
#[derive(Clone)]
pub struct GeneratedScenario {
    family: Family,
    horizon_h: u32,
    seed: u32,
    sample_interval: &'static str,
    vpc: bool,
    zones: Vec<Zone>,
    terway: Terway,
    cloud: Option<Cloud>,
    nodepools: Vec<NodePool>,
    workloads: Vec<Workload>,
    actions: Vec<Action>,
}

/// One or two vSwitches for pods, and sometimes one for the nodes' eth0.
#[derive(Clone, Debug)]
struct Zone {
    pod_vswitches: Vec<PodVswitch>,
    node_vswitch_mask: Option<u32>,
}

#[derive(Clone, Debug)]
struct PodVswitch {
    mask: u32,
    /// A share of the usable addresses, up to a third.
    used_by_others: Option<Index>,
}

/// How Terway lists a zone's pod vSwitches: reversed, cut to the first.
#[derive(Clone, Copy, Debug)]
struct Listing {
    reverse: bool,
    first_only: bool,
}

/// One [`Listing`] for each of [`ZONES`]; those of zones the scenario lacks go unused.
type Listings = [Listing; ZONES.len()];

#[derive(Clone, Copy, Debug)]
struct PoolSize {
    max: u32,
    /// Up to `max`.
    min: Index,
}

#[derive(Clone, Debug)]
struct Terway {
    listings: Listings,
    vswitch_policy: &'static str,
    eni_policy: &'static str,
    pool: PoolSize,
    sync_period_s: u32,
    max_eni: Option<u32>,
    min_eni: bool,
    idle_reclaim: Option<IdleReclaim>,
}

#[derive(Clone, Copy, Debug)]
struct IdleReclaim {
    after_min: u32,
    interval_min: u32,
    batch_size: u32,
}

#[derive(Clone, Copy, Debug)]
struct Cloud {
    create_eni_s: u32,
    assign_ips_ms: u32,
    api_error_ms: u32,
}

#[derive(Clone, Debug)]
struct NodePool {
    /// The pool spans `zone_count` zones from `first_zone` on.
    first_zone: Index,
    zone_count: Index,
    instance_type: &'static str,
    nodes: u32,
    /// How far `max_nodes` is above `nodes`, when it is.
    headroom: Option<u32>,
    /// Up to `nodes`.
    min_nodes: Index,
    boot_s: u32,
    max_pods: Option<u32>,
}

#[derive(Clone, Debug)]
struct Workload {
    nodepool: Option<Index>,
    /// In tenths of a core.
    cpu: u32,
    /// In 128 MiB.
    memory: u32,
    termination_grace_s: Option<u32>,
    kind: WorkloadKind,
}

#[derive(Clone, Debug)]
enum WorkloadKind {
    Deployment {
        replicas: Replicas,
        surge: Option<Surge>,
    },
    StatefulSet {
        replicas: Replicas,
        parallel: bool,
    },
    Job {
        arrivals_per_hour: u32,
        duration: JobDuration,
    },
}

/// What a Deployment or StatefulSet runs and how it changes.
#[derive(Clone, Debug)]
struct Replicas {
    count: ReplicaCount,
    daily_swing: Option<f64>,
    rollout_every_min: Option<u32>,
}

#[derive(Clone, Debug)]
enum ReplicaCount {
    Fixed(u32),
    /// Replicas at each point, and the time to the next point (5 min up to half the horizon).
    Schedule(Vec<(u32, Index)>),
}

#[derive(Clone, Copy, Debug)]
struct Surge {
    /// 0 stands for "50%".
    max_surge: u32,
    max_unavailable_pct: u32,
}

#[derive(Clone, Copy, Debug)]
enum JobDuration {
    Fixed { min: u32 },
    Spread { p50_min: u32, p99_above_min: u32 },
}

#[derive(Clone, Debug)]
struct Action {
    /// Within the horizon, after its first minute.
    at: Index,
    kind: ActionKind,
}

#[derive(Clone, Debug)]
enum ActionKind {
    /// A new pod vSwitch in one zone, listed by Terway, and often a restart to pick it up.
    AddVswitch {
        zone: Index,
        mask: u32,
        listings: Listings,
        restart_after_min: Option<u32>,
    },
    SetPool {
        pool: PoolSize,
        eni_policy: &'static str,
    },
    RestartTerway,
    ScaleNodepool {
        nodepool: Index,
        nodes: u32,
        /// Up to `nodes`.
        min_nodes: Index,
        headroom: u32,
    },
}

fn listings() -> impl Strategy<Value = Listings> {
    proptest::array::uniform(
        (prop::bool::weighted(0.3), prop::bool::weighted(0.2)).prop_map(|(reverse, first_only)| {
            Listing {
                reverse,
                first_only,
            }
        }),
    )
}

fn pool_size(family: Family) -> impl Strategy<Value = PoolSize> {
    let max: u32 = if family == Family::ZeroPools { 0 } else { 10 };
    (0..=max, any::<Index>()).prop_map(|(max, min)| PoolSize { max, min })
}

fn zone() -> impl Strategy<Value = Zone> {
    let pod_vswitch = (22u32..=28, prop::option::weighted(0.4, any::<Index>())).prop_map(
        |(mask, used_by_others)| PodVswitch {
            mask,
            used_by_others,
        },
    );
    (
        vec(pod_vswitch, 1..=2),
        prop::option::weighted(0.6, 24u32..=27),
    )
        .prop_map(|(pod_vswitches, node_vswitch_mask)| Zone {
            pod_vswitches,
            node_vswitch_mask,
        })
}

fn terway(family: Family) -> impl Strategy<Value = Terway> {
    let idle_reclaim =
        (5u32..=30, 2u32..=10, 1u32..=5).prop_map(|(after_min, interval_min, batch_size)| {
            IdleReclaim {
                after_min,
                interval_min,
                batch_size,
            }
        });
    let min_eni = if family == Family::ZeroPools {
        0.0
    } else {
        0.15
    };
    (
        listings(),
        select(VSWITCH_POLICIES),
        select(ENI_POLICIES),
        pool_size(family),
        20u32..=180,
        prop::option::weighted(0.2, 1u32..=3),
        prop::bool::weighted(min_eni),
        prop::option::weighted(0.3, idle_reclaim),
    )
        .prop_map(
            |(
                listings,
                vswitch_policy,
                eni_policy,
                pool,
                sync_period_s,
                max_eni,
                min_eni,
                idle_reclaim,
            )| Terway {
                listings,
                vswitch_policy,
                eni_policy,
                pool,
                sync_period_s,
                max_eni,
                min_eni,
                idle_reclaim,
            },
        )
}

fn cloud() -> impl Strategy<Value = Cloud> {
    (1u32..=8, 200u32..=3000, 100u32..=2000).prop_map(
        |(create_eni_s, assign_ips_ms, api_error_ms)| Cloud {
            create_eni_s,
            assign_ips_ms,
            api_error_ms,
        },
    )
}

fn nodepool() -> impl Strategy<Value = NodePool> {
    (
        any::<Index>(),
        any::<Index>(),
        select(INSTANCE_TYPES),
        0u32..=4,
        prop::option::weighted(0.6, 1u32..=6),
        any::<Index>(),
        30u32..=180,
        prop::option::weighted(0.2, 12u32..=40),
    )
        .prop_map(
            |(
                first_zone,
                zone_count,
                instance_type,
                nodes,
                headroom,
                min_nodes,
                boot_s,
                max_pods,
            )| NodePool {
                first_zone,
                zone_count,
                instance_type,
                nodes,
                headroom,
                min_nodes,
                boot_s,
                max_pods,
            },
        )
}

fn replicas() -> impl Strategy<Value = Replicas> {
    let count = prop_oneof![
        2 => (0u32..=40).prop_map(ReplicaCount::Fixed),
        3 => vec((0u32..=60, any::<Index>()), 1..=4).prop_map(ReplicaCount::Schedule),
    ];
    (
        count,
        prop::option::weighted(0.4, 0.0..0.4f64),
        prop::option::weighted(0.4, 20u32..=120),
    )
        .prop_map(|(count, daily_swing, rollout_every_min)| Replicas {
            count,
            daily_swing,
            rollout_every_min,
        })
}

fn workload() -> impl Strategy<Value = Workload> {
    let surge = (0u32..=3, 0u32..=50).prop_map(|(max_surge, max_unavailable_pct)| Surge {
        max_surge,
        max_unavailable_pct,
    });
    let duration = prop_oneof![
        (1u32..=30).prop_map(|min| JobDuration::Fixed { min }),
        (1u32..=10, 1u32..=30).prop_map(|(p50_min, p99_above_min)| JobDuration::Spread {
            p50_min,
            p99_above_min
        }),
    ];
    // Half Deployments, a quarter each StatefulSets and Jobs.
    let kind = prop_oneof![
        2 => (replicas(), prop::option::weighted(0.5, surge))
            .prop_map(|(replicas, surge)| WorkloadKind::Deployment { replicas, surge }),
        1 => (replicas(), any::<bool>())
            .prop_map(|(replicas, parallel)| WorkloadKind::StatefulSet { replicas, parallel }),
        1 => (5u32..=200, duration).prop_map(|(arrivals_per_hour, duration)| WorkloadKind::Job {
            arrivals_per_hour,
            duration
        }),
    ];
    (
        prop::option::weighted(0.4, any::<Index>()),
        0u32..=10,
        0u32..=8,
        prop::option::of(0u32..=60),
        kind,
    )
        .prop_map(
            |(nodepool, cpu, memory, termination_grace_s, kind)| Workload {
                nodepool,
                cpu,
                memory,
                termination_grace_s,
                kind,
            },
        )
}

fn action(family: Family) -> impl Strategy<Value = Action> {
    let add_vswitch = (
        any::<Index>(),
        22u32..=26,
        listings(),
        prop::option::weighted(0.7, 0u32..=10),
    )
        .prop_map(
            |(zone, mask, listings, restart_after_min)| ActionKind::AddVswitch {
                zone,
                mask,
                listings,
                restart_after_min,
            },
        );
    let set_pool = (pool_size(family), select(ENI_POLICIES))
        .prop_map(|(pool, eni_policy)| ActionKind::SetPool { pool, eni_policy });
    let scale = (any::<Index>(), 0u32..=6, any::<Index>(), 0u32..=4).prop_map(
        |(nodepool, nodes, min_nodes, headroom)| ActionKind::ScaleNodepool {
            nodepool,
            nodes,
            min_nodes,
            headroom,
        },
    );
    let kind = prop_oneof![
        add_vswitch,
        set_pool,
        Just(ActionKind::RestartTerway),
        scale
    ];
    (any::<Index>(), kind).prop_map(|(at, kind)| Action { at, kind })
}

/// Valid scenarios of `family`.
pub fn scenarios(family: Family) -> impl Strategy<Value = GeneratedScenario> {
    (
        (
            2u32..=6,
            0u32..=1_000_000,
            select(SAMPLE_INTERVALS),
            any::<bool>(),
        ),
        vec(zone(), 1..=ZONES.len()),
        terway(family),
        prop::option::weighted(0.3, cloud()),
        vec(nodepool(), 1..=2),
        vec(workload(), 1..=4),
        vec(action(family), 0..=4),
    )
        .prop_map(
            move |(
                (horizon_h, seed, sample_interval, vpc),
                zones,
                terway,
                cloud,
                nodepools,
                workloads,
                actions,
            )| GeneratedScenario {
                family,
                horizon_h,
                seed,
                sample_interval,
                vpc,
                zones,
                terway,
                cloud,
                nodepools,
                workloads,
                actions,
            },
        )
}

/// A scenario of `family` as TOML text; the same `case` gives the same text. For tests that
/// want one generated scenario rather than a property over many.
pub fn random_scenario(case: u64, family: Family) -> String {
    let mut runner = TestRunner::new(Config {
        rng_seed: RngSeed::Fixed(0x5EED_0000 + case),
        ..Config::default()
    });
    scenarios(family)
        .new_tree(&mut runner)
        .expect("the scenario strategy rejects nothing")
        .current()
        .to_toml(&format!("gen-{case}"))
}

impl GeneratedScenario {
    /// The scenario as TOML, named `name`.
    pub fn to_toml(&self, name: &str) -> String {
        let mut t = String::new();
        let horizon_h = self.horizon_h;
        let horizon_min = horizon_h * 60;
        let zones = &ZONES[..self.zones.len()];
        let _ = writeln!(t, "# generated: {name}, {:?}", self.family);
        let _ = writeln!(
            t,
            "[scenario]\nname = \"{name}\"\nhorizon = \"{horizon_h}h\""
        );
        let _ = writeln!(t, "seed = {}\nruns = 1", self.seed);
        let _ = writeln!(t, "sample_interval = \"{}\"", self.sample_interval);
        if self.vpc {
            let _ = writeln!(t, "\n[vpc]\ncidr = \"10.0.0.0/8\"");
        }

        // Each vSwitch gets its own 10.N.0.0/16, so none overlap whatever the mask.
        let mut block = 0u32;
        let mut pod_vswitches: Vec<Vec<String>> = Vec::new();
        let mut node_vswitch: Vec<Option<String>> = Vec::new();
        for (z, (zone, spec)) in zones.iter().zip(&self.zones).enumerate() {
            let mut ids = Vec::new();
            for (v, vswitch) in spec.pod_vswitches.iter().enumerate() {
                block += 1;
                let mask = vswitch.mask;
                let usable = (1u32 << (32 - mask)) - 4;
                let id = format!("vsw-{z}-pods-{v}");
                let others = vswitch
                    .used_by_others
                    .map_or(0, |share| within(share, 0, usable / 3));
                let _ = writeln!(
                    t,
                    "\n[[vswitch]]\nid = \"{id}\"\nzone = \"{zone}\"\ncidr = \"10.{block}.0.0/{mask}\"\nused_by_others = {others}"
                );
                ids.push(id);
            }
            pod_vswitches.push(ids);
            if let Some(mask) = spec.node_vswitch_mask {
                block += 1;
                let id = format!("vsw-{z}-nodes");
                let _ = writeln!(
                    t,
                    "\n[[vswitch]]\nid = \"{id}\"\nzone = \"{zone}\"\ncidr = \"10.{block}.0.0/{mask}\""
                );
                node_vswitch.push(Some(id));
            } else {
                node_vswitch.push(None);
            }
        }

        // Terway.
        let listing = |listings: &Listings, extra: Option<(usize, &str)>| {
            let mut parts = Vec::new();
            for (z, zone) in zones.iter().enumerate() {
                let mut ids: Vec<String> = pod_vswitches[z].clone();
                if listings[z].reverse {
                    ids.reverse();
                }
                if ids.len() > 1 && listings[z].first_only {
                    ids.truncate(1);
                }
                if let Some((zone_index, id)) = extra
                    && zone_index == z
                {
                    ids.push(id.to_string());
                }
                let quoted: Vec<String> = ids.iter().map(|id| format!("\"{id}\"")).collect();
                parts.push(format!("\"{zone}\" = [{}]", quoted.join(", ")));
            }
            format!("{{ {} }}", parts.join(", "))
        };
        let terway = &self.terway;
        let _ = writeln!(
            t,
            "\n[terway]\nvswitches = {}",
            listing(&terway.listings, None)
        );
        let _ = writeln!(
            t,
            "vswitch_selection_policy = \"{}\"\neni_selection_policy = \"{}\"",
            terway.vswitch_policy, terway.eni_policy
        );
        let (max_pool, min_pool) = terway.pool.sizes();
        let _ = writeln!(t, "max_pool_size = {max_pool}\nmin_pool_size = {min_pool}");
        let _ = writeln!(t, "ip_pool_sync_period = \"{}s\"", terway.sync_period_s);
        if let Some(max_eni) = terway.max_eni {
            let _ = writeln!(t, "max_eni = {max_eni}");
        }
        if terway.min_eni {
            let _ = writeln!(t, "min_eni = 1");
        }
        if let Some(reclaim) = terway.idle_reclaim {
            let _ = writeln!(
                t,
                "idle_ip_reclaim_after = \"{}m\"\nidle_ip_reclaim_interval = \"{}m\"\nidle_ip_reclaim_batch_size = {}",
                reclaim.after_min, reclaim.interval_min, reclaim.batch_size
            );
        }
        if let Some(cloud) = self.cloud {
            let _ = writeln!(
                t,
                "\n[cloud]\ncreate_eni = \"{}s\"\nassign_ips = \"{}ms\"\napi_error = \"{}ms\"",
                cloud.create_eni_s, cloud.assign_ips_ms, cloud.api_error_ms
            );
        }

        // Node pools over some of the zones, autoscaling or not.
        let mut pool_names = Vec::new();
        for (p, pool) in self.nodepools.iter().enumerate() {
            let first = pool.first_zone.index(zones.len());
            let count = 1 + pool.zone_count.index(zones.len() - first);
            let pool_zones = &zones[first..first + count];
            let quoted: Vec<String> = pool_zones.iter().map(|z| format!("\"{z}\"")).collect();
            let nodes = pool.nodes;
            let max_nodes = nodes + pool.headroom.unwrap_or(0);
            let name = format!("pool-{p}");
            let _ = writeln!(
                t,
                "\n[[nodepool]]\nname = \"{name}\"\ninstance_type = \"{}\"\nzones = [{}]",
                pool.instance_type,
                quoted.join(", ")
            );
            let eth0: Vec<String> = (first..first + count)
                .filter_map(|z| {
                    node_vswitch[z]
                        .as_ref()
                        .map(|id| format!("\"{}\" = \"{id}\"", zones[z]))
                })
                .collect();
            if !eth0.is_empty() {
                let _ = writeln!(t, "node_vswitch = {{ {} }}", eth0.join(", "));
            }
            let _ = writeln!(
                t,
                "nodes = {nodes}\nmin_nodes = {}\nmax_nodes = {max_nodes}\nboot_time = \"{}s\"",
                within(pool.min_nodes, 0, nodes),
                pool.boot_s
            );
            if let Some(max_pods) = pool.max_pods {
                let _ = writeln!(t, "max_pods = {max_pods}");
            }
            pool_names.push(name);
        }

        // Workloads of every kind.
        for (w, workload) in self.workloads.iter().enumerate() {
            let kind = match workload.kind {
                WorkloadKind::Deployment { .. } => "deployment",
                WorkloadKind::StatefulSet { .. } => "statefulset",
                WorkloadKind::Job { .. } => "job",
            };
            let _ = writeln!(t, "\n[[workload]]\nname = \"w{w}\"\nkind = \"{kind}\"");
            if let Some(pool) = workload.nodepool {
                let _ = writeln!(t, "nodepool = \"{}\"", pool.get(&pool_names));
            }
            let _ = writeln!(
                t,
                "cpu = \"{}m\"\nmemory = \"{}Mi\"",
                workload.cpu * 100,
                workload.memory * 128
            );
            if let Some(grace) = workload.termination_grace_s {
                let _ = writeln!(t, "termination_grace = \"{grace}s\"");
            }
            let replicas = match &workload.kind {
                WorkloadKind::Job {
                    arrivals_per_hour,
                    duration,
                } => {
                    let _ = writeln!(t, "arrivals_per_hour = {arrivals_per_hour}");
                    match *duration {
                        JobDuration::Fixed { min } => {
                            let _ = writeln!(t, "duration = \"{min}m\"");
                        }
                        JobDuration::Spread {
                            p50_min,
                            p99_above_min,
                        } => {
                            let _ = writeln!(
                                t,
                                "duration_p50 = \"{p50_min}m\"\nduration_p99 = \"{}m\"",
                                p50_min + p99_above_min
                            );
                        }
                    }
                    continue;
                }
                WorkloadKind::Deployment { replicas, .. }
                | WorkloadKind::StatefulSet { replicas, .. } => replicas,
            };
            match &replicas.count {
                ReplicaCount::Fixed(count) => {
                    let _ = writeln!(t, "replicas = {count}");
                }
                ReplicaCount::Schedule(schedule) => {
                    let mut points = Vec::new();
                    let mut at = 0;
                    for &(count, step) in schedule {
                        points.push(format!("[\"{at}m\", {count}]"));
                        at += within(step, 5, horizon_min / 2);
                    }
                    let _ = writeln!(t, "replicas = [{}]", points.join(", "));
                }
            }
            if let Some(swing) = replicas.daily_swing {
                let _ = writeln!(t, "daily_swing = {swing:.2}");
            }
            if let Some(every) = replicas.rollout_every_min {
                let _ = writeln!(t, "rollout_every = \"{every}m\"");
            }
            match workload.kind {
                WorkloadKind::Deployment {
                    surge: Some(surge), ..
                } => {
                    let _ = writeln!(
                        t,
                        "max_surge = {}\nmax_unavailable = \"{}%\"",
                        if surge.max_surge == 0 {
                            "\"50%\"".to_string()
                        } else {
                            surge.max_surge.to_string()
                        },
                        surge.max_unavailable_pct
                    );
                }
                WorkloadKind::StatefulSet { parallel: true, .. } => {
                    let _ = writeln!(t, "pod_management = \"parallel\"");
                }
                _ => {}
            }
        }

        // Actions: vSwitch expansions, config changes, restarts, pool resizes.
        let mut added = 0;
        for action in &self.actions {
            let at = within(action.at, 1, horizon_min - 1);
            match &action.kind {
                ActionKind::AddVswitch {
                    zone,
                    mask,
                    listings,
                    restart_after_min,
                } => {
                    block += 1;
                    added += 1;
                    let z = zone.index(zones.len());
                    let id = format!("vsw-added-{added}");
                    let _ = writeln!(
                        t,
                        "\n[[action]]\nat = \"{at}m\"\nadd_vswitch = {{ id = \"{id}\", zone = \"{}\", cidr = \"10.{block}.0.0/{mask}\" }}",
                        zones[z]
                    );
                    let _ = writeln!(
                        t,
                        "\n[[action]]\nat = \"{at}m\"\nset_terway = {{ vswitches = {} }}",
                        listing(listings, Some((z, &id)))
                    );
                    if let Some(after) = restart_after_min {
                        let _ = writeln!(
                            t,
                            "\n[[action]]\nat = \"{}m\"\nrestart_terway = true",
                            (at + after).min(horizon_min)
                        );
                    }
                }
                ActionKind::SetPool { pool, eni_policy } => {
                    let (max, min) = pool.sizes();
                    let _ = writeln!(
                        t,
                        "\n[[action]]\nat = \"{at}m\"\nset_terway = {{ max_pool_size = {max}, min_pool_size = {min}, eni_selection_policy = \"{eni_policy}\" }}"
                    );
                }
                ActionKind::RestartTerway => {
                    let _ = writeln!(t, "\n[[action]]\nat = \"{at}m\"\nrestart_terway = true");
                }
                ActionKind::ScaleNodepool {
                    nodepool,
                    nodes,
                    min_nodes,
                    headroom,
                } => {
                    let _ = writeln!(
                        t,
                        "\n[[action]]\nat = \"{at}m\"\nscale_nodepool = {{ name = \"{}\", nodes = {nodes}, min_nodes = {}, max_nodes = {} }}",
                        nodepool.get(&pool_names),
                        within(*min_nodes, 0, *nodes),
                        nodes + headroom
                    );
                }
            }
        }
        t
    }
}

impl PoolSize {
    /// `(max_pool_size, min_pool_size)`.
    fn sizes(self) -> (u32, u32) {
        (self.max, within(self.min, 0, self.max))
    }
}

/// The text, so that a failure (and the line proptest saves for it) shows the scenario.
impl fmt::Debug for GeneratedScenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.to_toml("gen"), f)
    }
}

impl fmt::Display for GeneratedScenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_toml("gen"))
    }
}

/// Two worlds, the same but for the size of their pod vSwitch: the family for which "more
/// addresses never bring a shortage earlier" holds by construction.
///
/// Two such worlds run identically until the first moment a vSwitch's free count decides
/// something differently; the small world has the fewer addresses, so at that moment it is
/// short where the large one is not. The small world records a shortage then if (1) the call
/// that fails asks for one address (so "fewer than asked" means "none left"), (2) a pod waits
/// in it (not a pool top-up) and is still there when the refusal comes back, and (3) the node
/// has nowhere else to draw from. So: one zone with one listed pod vSwitch (the nodes' eth0 on
/// a separate vSwitch the same in both worlds), a fixed number of nodes (no launches after the
/// start), `min_pool_size = 0` (no top-ups), no idle reclaim, one Deployment ramping up by at
/// most one pod every 30 s (one pod per request batch, none ever deleted), no swing, no
/// rollouts, no actions. Before that moment both worlds see the same failures, and a failure
/// that is a shortage in the large world is one in the small world. Outside this family random
/// draws diverge once the states differ, and the first shortage can move either way.
#[derive(Clone)]
pub struct MonotonePair {
    small_mask: u32,
    /// How many bits shorter the large world's mask is; `None`: the same block, so the large
    /// world has more addresses only by having fewer used by others.
    larger_by: Option<u32>,
    /// Used by others in the small world: 0 to 6, at least 1 when the blocks are the same.
    small_others: Index,
    /// Used by others in the large world: fewer than in the small world when the blocks are
    /// the same, at most as many otherwise.
    large_others: Index,
    nodes: u32,
    ramp_minutes: u32,
    /// The replicas reached at the end of the ramp: 10 up to one pod per 30 s.
    top: Index,
    seed: u32,
    vswitch_policy: &'static str,
    eni_policy: &'static str,
    max_pool: u32,
    instance_type: &'static str,
    /// In tenths of a core.
    cpu: u32,
    termination_grace_s: u32,
}

pub fn monotone_pairs() -> impl Strategy<Value = MonotonePair> {
    (
        (
            26u32..=28,
            // Half the pairs differ by a few addresses only (less used by others), half by a
            // larger block.
            prop::option::of(1u32..=3),
            any::<Index>(),
            any::<Index>(),
            1u32..=3,
            30u32..=120,
            any::<Index>(),
        ),
        (
            0u32..=1_000_000,
            select(VSWITCH_POLICIES),
            select(ENI_POLICIES),
            0u32..=5,
            select(INSTANCE_TYPES),
            0u32..=5,
            0u32..=30,
        ),
    )
        .prop_map(
            |(
                (small_mask, larger_by, small_others, large_others, nodes, ramp_minutes, top),
                (seed, vswitch_policy, eni_policy, max_pool, instance_type, cpu, grace),
            )| MonotonePair {
                small_mask,
                larger_by,
                small_others,
                large_others,
                nodes,
                ramp_minutes,
                top,
                seed,
                vswitch_policy,
                eni_policy,
                max_pool,
                instance_type,
                cpu,
                termination_grace_s: grace,
            },
        )
}

impl MonotonePair {
    /// The small world's text, then the large world's.
    pub fn to_toml(&self) -> (String, String) {
        let same_block = self.larger_by.is_none();
        let small_others = within(self.small_others, u32::from(same_block), 6);
        let large_others = if same_block {
            within(self.large_others, 0, small_others - 1)
        } else {
            within(self.large_others, 0, small_others)
        };
        let large_mask = self.small_mask - self.larger_by.unwrap_or(0);
        (
            self.world(self.small_mask, small_others),
            self.world(large_mask, large_others),
        )
    }

    fn world(&self, mask: u32, others: u32) -> String {
        let MonotonePair {
            nodes,
            ramp_minutes,
            seed,
            vswitch_policy,
            eni_policy,
            max_pool,
            instance_type,
            termination_grace_s,
            ..
        } = *self;
        // At most one pod per 30 s.
        let top = within(self.top, 10, ramp_minutes * 2);
        let cpu = self.cpu * 100;
        format!(
            r#"[scenario]
name = "monotone"
horizon = "3h"
seed = {seed}
sample_interval = "5m"

[[vswitch]]
id = "vsw-pods"
zone = "cn-test-a"
cidr = "10.0.0.0/{mask}"
used_by_others = {others}

[[vswitch]]
id = "vsw-nodes"
zone = "cn-test-a"
cidr = "10.1.0.0/24"

[terway]
vswitches = {{ "cn-test-a" = ["vsw-pods"] }}
vswitch_selection_policy = "{vswitch_policy}"
eni_selection_policy = "{eni_policy}"
max_pool_size = {max_pool}
min_pool_size = 0

[[nodepool]]
name = "workers"
instance_type = "{instance_type}"
zones = ["cn-test-a"]
node_vswitch = {{ "cn-test-a" = "vsw-nodes" }}
nodes = {nodes}

[[workload]]
name = "web"
kind = "deployment"
cpu = "{cpu}m"
replicas = [["0s", 0], ["{ramp_minutes}m", {top}]]
termination_grace = "{termination_grace_s}s"
"#
        )
    }
}

impl fmt::Debug for MonotonePair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.to_toml(), f)
    }
}

impl fmt::Display for MonotonePair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (small, large) = self.to_toml();
        write!(f, "--- small\n{small}\n--- large\n{large}")
    }
}

/// Values that break a scenario file in place of a valid one.
const HOSTILE: &[&str] = &[
    "",
    "\u{0}",
    "=",
    "[[",
    "\"",
    "-1",
    "1e309",
    "nan",
    "inf",
    "99999999999999999999",
    "18446744073709551616",
    "\"0ms\"",
    "\"3651d\"",
    "\"10000000000d\"",
    "\"1d 1d\"",
    "\"10.0.0.0/0\"",
    "\"255.255.255.255/32\"",
    "[]",
    "{}",
    "true",
    "\"\u{1F4A5}\"",
    "[[\"0d\", 1e300]]",
    "[[\"1d\", 1], [\"0d\", 2]]",
    "\"-5%\"",
    "\"1000%\"",
];

/// One change to one line of a scenario file.
#[derive(Clone, Debug)]
enum Mutation {
    /// Replace a value by a hostile one.
    Hostile {
        line: Index,
        value: &'static str,
    },
    Drop {
        line: Index,
    },
    Duplicate {
        line: Index,
    },
    /// Flip a bit of a byte (kept valid UTF-8 by going through lossy decoding).
    FlipBit {
        line: Index,
        byte: Index,
        bit: u32,
    },
    /// Multiply every whole number on the line by a million and three.
    Scale {
        line: Index,
    },
}

/// A scenario file with a few lines changed, and the name of the file it came from.
#[derive(Clone)]
pub struct Mutant {
    pub origin: String,
    pub text: String,
}

impl fmt::Debug for Mutant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {:?}", self.origin, self.text)
    }
}

impl fmt::Display for Mutant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}, mutated:\n{}", self.origin, self.text)
    }
}

/// One to three mutations of one of `files` (name and text).
pub fn mutants(files: Vec<(String, String)>) -> impl Strategy<Value = Mutant> {
    let mutation = prop_oneof![
        (any::<Index>(), select(HOSTILE))
            .prop_map(|(line, value)| Mutation::Hostile { line, value }),
        any::<Index>().prop_map(|line| Mutation::Drop { line }),
        any::<Index>().prop_map(|line| Mutation::Duplicate { line }),
        (any::<Index>(), any::<Index>(), 0u32..=7)
            .prop_map(|(line, byte, bit)| Mutation::FlipBit { line, byte, bit }),
        any::<Index>().prop_map(|line| Mutation::Scale { line }),
    ];
    (select(files), vec(mutation, 1..=3)).prop_map(|((origin, text), mutations)| Mutant {
        origin,
        text: mutate(&text, &mutations),
    })
}

fn mutate(text: &str, mutations: &[Mutation]) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    if lines.is_empty() {
        return text.to_string();
    }
    for mutation in mutations {
        match *mutation {
            Mutation::Hostile { line, value } => {
                let line = line.index(lines.len());
                if let Some((key, _)) = lines[line].split_once(" = ") {
                    lines[line] = format!("{key} = {value}");
                }
            }
            Mutation::Drop { line } => {
                lines.remove(line.index(lines.len()));
                if lines.is_empty() {
                    lines.push(String::new());
                }
            }
            Mutation::Duplicate { line } => {
                let line = line.index(lines.len());
                lines.insert(line, lines[line].clone());
            }
            Mutation::FlipBit { line, byte, bit } => {
                let line = line.index(lines.len());
                let mut bytes = lines[line].clone().into_bytes();
                if !bytes.is_empty() {
                    let at = byte.index(bytes.len());
                    bytes[at] ^= 1 << bit;
                }
                lines[line] = String::from_utf8_lossy(&bytes).into_owned();
            }
            Mutation::Scale { line } => {
                let line = line.index(lines.len());
                lines[line] = lines[line]
                    .split(' ')
                    .map(|word| match word.parse::<i64>() {
                        Ok(n) => n.saturating_mul(1_000_003).to_string(),
                        Err(_) => word.to_string(),
                    })
                    .collect::<Vec<_>>()
                    .join(" ");
            }
        }
    }
    lines.join("\n")
}
