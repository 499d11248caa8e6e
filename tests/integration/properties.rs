//! Property tests through the library: random valid scenarios, written as TOML by a seeded
//! generator and read back with `planner::scenario::parse`, run short with the invariant checker
//! on after every event; and properties the model holds by design.
//!
//! No proptest: the generator is a ChaCha8 stream, so a failing case is reproduced by its index
//! (the message prints the scenario text and how to rerun it). Sizes stay small (hours, a few
//! nodes, tens of pods) to keep `cargo test` quick in the debug profile.

use std::fmt::Write;
use std::path::Path;

use planner::model::{RunResult, World};
use planner::scenario::{self, Scenario};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Node types the generator picks from: all in the built-in catalog, all accepted by ACK.
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

/// What kind of scenario to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// Anything valid: every section, every workload kind, every action.
    Any,
    /// Like `Any`, but Terway keeps no pool: `max_pool_size = min_pool_size = 0` throughout.
    ZeroPools,
}

struct Gen {
    rng: ChaCha8Rng,
}

impl Gen {
    fn new(seed: u64) -> Self {
        Gen {
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    fn int(&mut self, low: u32, high: u32) -> u32 {
        self.rng.random_range(low..=high)
    }

    fn chance(&mut self, p: f64) -> bool {
        self.rng.random::<f64>() < p
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.rng.random_range(0..items.len())]
    }

    fn minutes(&mut self, low: u32, high: u32) -> String {
        format!("{}m", self.int(low, high))
    }
}

/// A random valid scenario for `family`, as TOML text. The same `case` gives the same text.
pub fn random_scenario(case: u64, family: Family) -> String {
    let mut g = Gen::new(0x5EED_0000 + case);
    let mut t = String::new();
    let horizon_h = g.int(2, 6);
    let horizon_min = horizon_h * 60;
    let _ = writeln!(t, "# generated: case {case}, {family:?}");
    let _ = writeln!(
        t,
        "[scenario]\nname = \"gen-{case}\"\nhorizon = \"{horizon_h}h\""
    );
    let _ = writeln!(t, "seed = {}\nruns = 1", g.int(0, 1_000_000));
    let _ = writeln!(t, "sample_interval = \"{}\"", g.pick(&["1m", "5m", "10m"]));
    if g.chance(0.5) {
        let _ = writeln!(t, "\n[vpc]\ncidr = \"10.0.0.0/8\"");
    }

    // vSwitches: one or two for pods per zone, sometimes one for the nodes' eth0. Each gets its
    // own 10.N.0.0/16, so none overlap whatever the mask.
    let zones = &ZONES[..g.int(1, 3) as usize];
    let mut block = 0u32;
    let mut pod_vswitches: Vec<Vec<String>> = Vec::new();
    let mut node_vswitch: Vec<Option<String>> = Vec::new();
    for (z, zone) in zones.iter().enumerate() {
        let mut ids = Vec::new();
        for v in 0..g.int(1, 2) {
            block += 1;
            let mask = g.int(22, 28);
            let usable = (1u32 << (32 - mask)) - 4;
            let id = format!("vsw-{z}-pods-{v}");
            let others = if g.chance(0.4) {
                g.int(0, usable / 3)
            } else {
                0
            };
            let _ = writeln!(
                t,
                "\n[[vswitch]]\nid = \"{id}\"\nzone = \"{zone}\"\ncidr = \"10.{block}.0.0/{mask}\"\nused_by_others = {others}"
            );
            ids.push(id);
        }
        pod_vswitches.push(ids);
        if g.chance(0.6) {
            block += 1;
            let id = format!("vsw-{z}-nodes");
            let _ = writeln!(
                t,
                "\n[[vswitch]]\nid = \"{id}\"\nzone = \"{zone}\"\ncidr = \"10.{block}.0.0/{}\"",
                g.int(24, 27)
            );
            node_vswitch.push(Some(id));
        } else {
            node_vswitch.push(None);
        }
    }

    // Terway.
    let zero = family == Family::ZeroPools;
    let listing = |g: &mut Gen, extra: Option<(usize, &str)>| {
        let mut parts = Vec::new();
        for (z, zone) in zones.iter().enumerate() {
            let mut ids: Vec<String> = pod_vswitches[z].clone();
            if g.chance(0.3) {
                ids.reverse();
            }
            if ids.len() > 1 && g.chance(0.2) {
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
    let max_pool = if zero { 0 } else { g.int(0, 10) };
    let min_pool = if zero { 0 } else { g.int(0, max_pool) };
    let _ = writeln!(t, "\n[terway]\nvswitches = {}", listing(&mut g, None));
    let _ = writeln!(
        t,
        "vswitch_selection_policy = \"{}\"\neni_selection_policy = \"{}\"",
        g.pick(&["ordered", "random"]),
        g.pick(&["most_ips", "least_ips"])
    );
    let _ = writeln!(t, "max_pool_size = {max_pool}\nmin_pool_size = {min_pool}");
    let _ = writeln!(t, "ip_pool_sync_period = \"{}s\"", g.int(20, 180));
    if g.chance(0.2) {
        let _ = writeln!(t, "max_eni = {}", g.int(1, 3));
    }
    if !zero && g.chance(0.15) {
        let _ = writeln!(t, "min_eni = 1");
    }
    if g.chance(0.3) {
        let _ = writeln!(
            t,
            "idle_ip_reclaim_after = \"{}\"\nidle_ip_reclaim_interval = \"{}\"\nidle_ip_reclaim_batch_size = {}",
            g.minutes(5, 30),
            g.minutes(2, 10),
            g.int(1, 5)
        );
    }
    if g.chance(0.3) {
        let _ = writeln!(
            t,
            "\n[cloud]\ncreate_eni = \"{}s\"\nassign_ips = \"{}ms\"\napi_error = \"{}ms\"",
            g.int(1, 8),
            g.int(200, 3000),
            g.int(100, 2000)
        );
    }

    // Node pools over some of the zones, autoscaling or not.
    let pools = g.int(1, 2) as usize;
    let mut pool_names = Vec::new();
    for p in 0..pools {
        let first = g.int(0, zones.len() as u32 - 1) as usize;
        let count = g.int(1, (zones.len() - first) as u32) as usize;
        let pool_zones = &zones[first..first + count];
        let quoted: Vec<String> = pool_zones.iter().map(|z| format!("\"{z}\"")).collect();
        let nodes = g.int(0, 4);
        let max_nodes = nodes + if g.chance(0.6) { g.int(1, 6) } else { 0 };
        let name = format!("pool-{p}");
        let _ = writeln!(
            t,
            "\n[[nodepool]]\nname = \"{name}\"\ninstance_type = \"{}\"\nzones = [{}]",
            g.pick(INSTANCE_TYPES),
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
            g.int(0, nodes),
            g.int(30, 180)
        );
        if g.chance(0.2) {
            let _ = writeln!(t, "max_pods = {}", g.int(12, 40));
        }
        pool_names.push(name);
    }

    // Workloads of every kind.
    for w in 0..g.int(1, 4) {
        let kind = *g.pick(&["deployment", "deployment", "statefulset", "job"]);
        let _ = writeln!(t, "\n[[workload]]\nname = \"w{w}\"\nkind = \"{kind}\"");
        if g.chance(0.4) {
            let _ = writeln!(t, "nodepool = \"{}\"", g.pick(&pool_names));
        }
        let _ = writeln!(
            t,
            "cpu = \"{}m\"\nmemory = \"{}Mi\"",
            g.int(0, 10) * 100,
            g.int(0, 8) * 128
        );
        if g.chance(0.5) {
            let _ = writeln!(t, "termination_grace = \"{}s\"", g.int(0, 60));
        }
        if kind == "job" {
            let _ = writeln!(t, "arrivals_per_hour = {}", g.int(5, 200));
            if g.chance(0.5) {
                let _ = writeln!(t, "duration = \"{}\"", g.minutes(1, 30));
            } else {
                let p50 = g.int(1, 10);
                let _ = writeln!(
                    t,
                    "duration_p50 = \"{p50}m\"\nduration_p99 = \"{}m\"",
                    p50 + g.int(1, 30)
                );
            }
            continue;
        }
        if g.chance(0.4) {
            let _ = writeln!(t, "replicas = {}", g.int(0, 40));
        } else {
            let mut points = Vec::new();
            let mut at = 0;
            for _ in 0..g.int(1, 4) {
                points.push(format!("[\"{at}m\", {}]", g.int(0, 60)));
                at += g.int(5, horizon_min / 2);
            }
            let _ = writeln!(t, "replicas = [{}]", points.join(", "));
        }
        if g.chance(0.4) {
            let _ = writeln!(t, "daily_swing = {:.2}", g.rng.random::<f64>() * 0.4);
        }
        if g.chance(0.4) {
            let _ = writeln!(t, "rollout_every = \"{}\"", g.minutes(20, 120));
        }
        if kind == "deployment" && g.chance(0.5) {
            let surge = g.int(0, 3);
            let _ = writeln!(
                t,
                "max_surge = {}\nmax_unavailable = \"{}%\"",
                if surge == 0 {
                    "\"50%\"".to_string()
                } else {
                    surge.to_string()
                },
                g.int(0, 50)
            );
        }
        if kind == "statefulset" && g.chance(0.5) {
            let _ = writeln!(t, "pod_management = \"parallel\"");
        }
    }

    // Actions at random times: vSwitch expansions, config changes, restarts, pool resizes.
    let mut added = 0;
    for _ in 0..g.int(0, 4) {
        let at = g.int(1, horizon_min - 1);
        match g.int(0, 3) {
            0 => {
                block += 1;
                added += 1;
                let z = g.int(0, zones.len() as u32 - 1) as usize;
                let id = format!("vsw-added-{added}");
                let _ = writeln!(
                    t,
                    "\n[[action]]\nat = \"{at}m\"\nadd_vswitch = {{ id = \"{id}\", zone = \"{}\", cidr = \"10.{block}.0.0/{}\" }}",
                    zones[z],
                    g.int(22, 26)
                );
                let _ = writeln!(
                    t,
                    "\n[[action]]\nat = \"{at}m\"\nset_terway = {{ vswitches = {} }}",
                    listing(&mut g, Some((z, &id)))
                );
                if g.chance(0.7) {
                    let _ = writeln!(
                        t,
                        "\n[[action]]\nat = \"{}m\"\nrestart_terway = true",
                        (at + g.int(0, 10)).min(horizon_min)
                    );
                }
            }
            1 => {
                let (max, min) = if zero {
                    (0, 0)
                } else {
                    let max = g.int(0, 10);
                    (max, g.int(0, max))
                };
                let _ = writeln!(
                    t,
                    "\n[[action]]\nat = \"{at}m\"\nset_terway = {{ max_pool_size = {max}, min_pool_size = {min}, eni_selection_policy = \"{}\" }}",
                    g.pick(&["most_ips", "least_ips"])
                );
            }
            2 => {
                let _ = writeln!(t, "\n[[action]]\nat = \"{at}m\"\nrestart_terway = true");
            }
            _ => {
                let nodes = g.int(0, 6);
                let _ = writeln!(
                    t,
                    "\n[[action]]\nat = \"{at}m\"\nscale_nodepool = {{ name = \"{}\", nodes = {nodes}, min_nodes = {}, max_nodes = {} }}",
                    g.pick(&pool_names),
                    g.int(0, nodes),
                    nodes + g.int(0, 4)
                );
            }
        }
    }
    t
}

/// Parses generated text, failing with the text when it does not validate.
pub fn parse(case: u64, text: &str) -> Scenario {
    let name = format!("gen-{case}.toml");
    match scenario::parse(Path::new(&name), text) {
        Ok((scenario, _warnings)) => scenario,
        Err(e) => panic!("case {case}: the generator wrote an invalid scenario: {e}\n{text}"),
    }
}

/// Runs run 0 with the checker after every event; a violation fails with the scenario text.
fn run_checked(case: u64, text: &str, scenario: &Scenario) -> (RunResult, u64) {
    match World::new(scenario, 0).run_checked(&mut |_| {}) {
        Ok((result, counts)) => {
            assert_eq!(
                counts.checks,
                result.events + 1,
                "case {case}: every event checked"
            );
            (result, counts.zero_pool_trims)
        }
        Err(violation) => panic!(
            "case {case}: {violation}\n(reproduce: properties::random_scenario({case}, ..))\n{text}"
        ),
    }
}

#[test]
fn the_generator_is_deterministic_and_varied() {
    assert_eq!(
        random_scenario(3, Family::Any),
        random_scenario(3, Family::Any)
    );
    assert_ne!(
        random_scenario(3, Family::Any),
        random_scenario(4, Family::Any)
    );
}

#[test]
fn random_scenarios_keep_every_invariant_after_every_event() {
    let mut events = 0;
    for case in 0..48 {
        let text = random_scenario(case, Family::Any);
        let scenario = parse(case, &text);
        let (checked, _) = run_checked(case, &text, &scenario);
        events += checked.events;
        // Checking changes nothing: the same run without it gives the same result.
        if case % 4 == 0 {
            assert_eq!(
                checked,
                planner::model::run_once(&scenario, 0),
                "case {case}: checking changed the result\n{text}"
            );
        }
    }
    assert!(events > 100_000, "the runs did something: {events} events");
}

/// With `max_pool_size = min_pool_size = 0` every pool tick marks every idle address of an ENI
/// in use for unassign, except the ENI's primary (Terway never unassigns it): `syncPool` asks
/// to dispose of all the node's idle addresses, and each slot's walk then visits all of its own.
/// The checker verifies this right after every such tick; here it must have had work to do.
#[test]
fn zero_pools_leave_only_eni_primaries_idle_after_every_pool_tick() {
    let mut trims = 0;
    for case in 100..124 {
        let text = random_scenario(case, Family::ZeroPools);
        let scenario = parse(case, &text);
        assert!(
            scenario
                .terway_configs
                .iter()
                .all(|c| c.max_pool_size == 0 && c.min_pool_size == 0),
            "case {case}: zero pools throughout"
        );
        trims += run_checked(case, &text, &scenario).1;
    }
    assert!(
        trims > 50,
        "pool ticks found idle addresses to trim only {trims} times"
    );
}

/// The family for which "more addresses never bring a shortage earlier" holds by construction.
///
/// Two worlds, the same but for a larger pod vSwitch, run identically until the first moment a
/// vSwitch's free count decides something differently; the small world has the fewer addresses,
/// so at that moment it is short where the large one is not. The small world records a shortage
/// then if (1) the call that fails asks for one address (so "fewer than asked" means "none
/// left"), (2) a pod waits in it (not a pool top-up) and is still there when the refusal comes
/// back, and (3) the node has nowhere else to draw from. So: one zone with one listed pod
/// vSwitch (the nodes' eth0 on a separate vSwitch the same in both worlds), a fixed number of
/// nodes (no launches after the start), `min_pool_size = 0` (no top-ups), no idle reclaim, one
/// Deployment ramping up by at most one pod every 30 s (one pod per request batch, none ever
/// deleted), no swing, no rollouts, no actions. Before that moment both worlds see the same
/// failures, and a failure that is a shortage in the large world is one in the small world.
/// Outside this family random draws diverge once the states differ, and the first shortage can
/// move either way.
fn monotone_pair(case: u64) -> (String, String) {
    let mut g = Gen::new(0xADD0_0000 + case);
    let small_mask = g.int(26, 28);
    // Half the pairs differ by a few addresses only (less used by others), half by a larger
    // block.
    let same_block = g.chance(0.5);
    let large_mask = if same_block {
        small_mask
    } else {
        small_mask - g.int(1, 3)
    };
    let nodes = g.int(1, 3);
    let ramp_minutes = g.int(30, 120);
    // At most one pod per 30 s.
    let top = g.int(10, ramp_minutes * 2);
    let others_small = g.int(u32::from(same_block), 6);
    // Everything but the pod vSwitch is drawn from the same stream in both worlds.
    let body = |mask: u32, others: u32| -> String {
        let mut g = Gen::new(0xB0D1_0000 + case);
        format!(
            r#"[scenario]
name = "monotone-{case}"
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
vswitch_selection_policy = "{policy}"
eni_selection_policy = "{eni}"
max_pool_size = {max_pool}
min_pool_size = 0

[[nodepool]]
name = "workers"
instance_type = "{instance}"
zones = ["cn-test-a"]
node_vswitch = {{ "cn-test-a" = "vsw-nodes" }}
nodes = {nodes}

[[workload]]
name = "web"
kind = "deployment"
cpu = "{cpu}m"
replicas = [["0s", 0], ["{ramp_minutes}m", {top}]]
termination_grace = "{grace}s"
"#,
            seed = g.int(0, 1_000_000),
            policy = g.pick(&["ordered", "random"]),
            eni = g.pick(&["most_ips", "least_ips"]),
            max_pool = g.int(0, 5),
            instance = g.pick(INSTANCE_TYPES),
            cpu = g.int(0, 5) * 100,
            grace = g.int(0, 30),
        )
    };
    let large_others = if same_block {
        g.int(0, others_small - 1)
    } else {
        g.int(0, others_small)
    };
    (
        body(small_mask, others_small),
        body(large_mask, large_others),
    )
}

#[test]
fn more_addresses_never_bring_a_shortage_earlier() {
    let mut short = 0;
    for case in 0..40 {
        let (small_text, large_text) = monotone_pair(case);
        let small = parse(case, &small_text);
        let large = parse(case, &large_text);
        assert!(
            large.vswitches[0].usable_ips() > small.vswitches[0].usable_ips(),
            "case {case}: the large world has more addresses"
        );
        let (small_run, _) = run_checked(case, &small_text, &small);
        let (large_run, _) = run_checked(case, &large_text, &large);
        let never = u64::MAX;
        let first = |r: &RunResult| r.zones[0].first_shortage_ms.unwrap_or(never);
        assert!(
            first(&large_run) >= first(&small_run),
            "case {case}: {} more addresses brought the first shortage from {:?} to {:?} ms\n--- small\n{small_text}\n--- large\n{large_text}",
            large.vswitches[0].usable_ips() - small.vswitches[0].usable_ips(),
            small_run.zones[0].first_shortage_ms,
            large_run.zones[0].first_shortage_ms
        );
        short += u32::from(small_run.zones[0].first_shortage_ms.is_some());
    }
    assert!(short >= 10, "only {short} of 40 small worlds ran short");
}

/// The files the fuzzer starts from (`fuzz/`): the shipped scenarios and the malformed corpus.
fn seed_files() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["scenarios", "tests/integration/malformed"] {
        let mut paths: Vec<_> = std::fs::read_dir(root.join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        paths.sort();
        for path in paths {
            let text = std::fs::read_to_string(&path).unwrap();
            files.push((path.display().to_string(), text));
        }
    }
    files
}

/// Parses `text` and, when it validates, estimates its memory; a panic fails with the input.
fn parse_survives(label: &str, text: &str) -> bool {
    let outcome = std::panic::catch_unwind(|| {
        scenario::parse(Path::new("mutant.toml"), text).map(|(s, _)| {
            let _ = s.check_memory();
        })
    });
    match outcome {
        Ok(result) => result.is_ok(),
        Err(_) => panic!("{label}: parsing panicked on\n{text}"),
    }
}

/// A deterministic, in-CI slice of what `cargo fuzz run scenario_parse` does: every line
/// prefix of the seed files, and random byte, line and number mutations of them, parse to a
/// scenario or an error, never a panic.
#[test]
fn parsing_never_panics_on_truncated_or_mutated_scenarios() {
    let seeds = seed_files();
    assert!(seeds.len() >= 20, "the shipped scenarios and the corpus");
    let mut g = Gen::new(0xF022);
    let (mut inputs, mut valid) = (0u32, 0u32);
    let hostile = [
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
    for (name, text) in &seeds {
        let lines: Vec<&str> = text.lines().collect();
        for cut in 0..=lines.len() {
            inputs += 1;
            valid += u32::from(parse_survives(name, &lines[..cut].join("\n")));
        }
        for _ in 0..60 {
            let mut mutated = lines.iter().map(|l| l.to_string()).collect::<Vec<_>>();
            if mutated.is_empty() {
                break;
            }
            for _ in 0..g.int(1, 3) {
                let line = g.int(0, mutated.len() as u32 - 1) as usize;
                match g.int(0, 4) {
                    // Replace a value by a hostile one.
                    0 => {
                        if let Some((key, _)) = mutated[line].split_once(" = ") {
                            mutated[line] = format!("{key} = {}", g.pick(&hostile));
                        }
                    }
                    // Drop or duplicate a line.
                    1 => {
                        mutated.remove(line);
                        if mutated.is_empty() {
                            mutated.push(String::new());
                        }
                    }
                    2 => {
                        let copy = mutated[line].clone();
                        mutated.insert(line, copy);
                    }
                    // Flip a byte (kept valid UTF-8 by going through lossy decoding).
                    3 => {
                        let mut bytes = mutated[line].clone().into_bytes();
                        if !bytes.is_empty() {
                            let at = g.int(0, bytes.len() as u32 - 1) as usize;
                            bytes[at] ^= 1 << g.int(0, 7);
                        }
                        mutated[line] = String::from_utf8_lossy(&bytes).into_owned();
                    }
                    // Scale a number.
                    _ => {
                        let scaled: String = mutated[line]
                            .split(' ')
                            .map(|word| match word.parse::<i64>() {
                                Ok(n) => n.saturating_mul(1_000_003).to_string(),
                                Err(_) => word.to_string(),
                            })
                            .collect::<Vec<_>>()
                            .join(" ");
                        mutated[line] = scaled;
                    }
                }
            }
            inputs += 1;
            valid += u32::from(parse_survives(name, &mutated.join("\n")));
        }
    }
    assert!(inputs > 1_000, "{inputs} inputs");
    assert!(
        valid > 20,
        "some mutants still validate: {valid} of {inputs}"
    );
}
