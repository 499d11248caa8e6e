//! The rules that need the whole scenario: whether each zone's vSwitches hold its node pools at
//! full size and for how long at the scenario's growth, one vSwitch per zone, random selection,
//! idle pools that hoard a zone's addresses, region keys and doubly listed vSwitches, and SNAT
//! coverage.

use super::*;

/// Adds the whole-scenario lints to `findings` (the validation warnings already there).
pub(super) fn add_whole_scenario(
    scenario: &Scenario,
    options: &LintOptions,
    findings: &mut Vec<Finding>,
) {
    let by_region = region_key_findings(scenario);
    // The region finding says more than the validator's "no such zone" about the same key.
    findings
        .retain(|f| f.code != "terway-zone-unused" || !by_region.iter().any(|r| r.key == f.key));
    findings.extend(by_region);
    findings.extend(listed_twice_findings(scenario));
    let zones = zone_views(scenario);
    findings.extend(capacity_findings(scenario, &zones));
    findings.extend(single_vswitch_findings(scenario, &zones));
    findings.extend(random_selection_findings(scenario, &zones));
    findings.extend(idle_fraction_findings(scenario, &zones, options));
    findings.extend(snat_findings(scenario));
}

/// What the whole-scenario lints need to know about one zone that node pools run in, at the
/// start (`terway_configs[0]`, vSwitches that exist from time 0).
struct ZoneView {
    zone: usize,
    /// vSwitches pods take addresses from: the zone's own vSwitches that Terway lists for it,
    /// or, when it lists none, the pools' primary vSwitches there.
    pod_vswitches: Vec<usize>,
    /// Whether `pod_vswitches` came from the Terway list.
    listed: bool,
    /// Addresses the cluster can take from `pod_vswitches`.
    supply: u64,
    /// Nodes in the zone at the start and at every pool's `max_nodes`.
    nodes_start: u64,
    nodes_max: u64,
    /// Most addresses the zone's nodes could hold at `max_nodes`: per node the pods' and idle
    /// addresses (at most its capacity), plus eth0 when eth0's vSwitch is one of
    /// `pod_vswitches`.
    full_demand: u64,
    /// Addresses the nodes themselves hold at the start (eth0 on `pod_vswitches`, full idle
    /// pools).
    node_overhead_start: f64,
    /// Idle addresses per node at most, summed over the nodes at `max_nodes`.
    idle_max: u64,
    /// (pool name, its nodes here at max_nodes, addresses one node can hold).
    pools: Vec<(String, u64, u64)>,
}

/// Nodes at position `position` of `zones` zones when a pool has `nodes`: the model launches
/// each node in the zone with the fewest, earlier positions first.
fn nodes_at(nodes: u32, zones: usize, position: usize) -> u64 {
    let zones = zones.max(1) as u64;
    let nodes = u64::from(nodes);
    nodes / zones + u64::from((position as u64) < nodes % zones)
}

/// Per-node capacity under a config: `(ENIs - 1) x IPv4 per ENI`, with `max_eni` applied.
fn node_capacity(scenario: &Scenario, pool: usize, config: &TerwayConfig) -> (u64, u64) {
    let spec = &scenario.nodepools[pool];
    let Some(instance) = scenario.instance_types.get(&spec.instance_type) else {
        return (0, 0);
    };
    let mut enis = instance.secondary_enis();
    if config.max_eni > 0 {
        enis = enis.min(config.max_eni);
    }
    let capacity = u64::from(enis) * u64::from(instance.ipv4_per_eni);
    let pods = if spec.max_pods > 0 {
        u64::from(spec.max_pods).min(capacity)
    } else {
        capacity
    };
    (capacity, pods)
}

fn idle_per_node(config: &TerwayConfig, capacity: u64) -> u64 {
    // With idle reclaim on, pools shrink towards min_pool_size; without it they sit at
    // max_pool_size between pod churn.
    let idle = if config.idle_ip_reclaim.is_some() {
        config.min_pool_size.min(config.max_pool_size)
    } else {
        config.max_pool_size
    };
    u64::from(idle).min(capacity)
}

fn zone_views(scenario: &Scenario) -> Vec<ZoneView> {
    let Some(config) = scenario.terway_configs.first() else {
        return Vec::new();
    };
    let mut views = Vec::new();
    for zone in 0..scenario.zones.len() {
        let zone_name = &scenario.zones[zone];
        let in_zone = |&index: &usize| {
            let spec = &scenario.vswitches[index];
            spec.zone == zone && spec.created_at_ms.is_none()
        };
        let mut listed: Vec<usize> = config
            .vswitches
            .get(zone_name)
            .map(|list| list.iter().copied().filter(in_zone).collect())
            .unwrap_or_default();
        listed.dedup();
        let is_listed = !listed.is_empty();
        let mut pod_vswitches = listed;
        let mut any_pool = false;
        for spec in &scenario.nodepools {
            for (position, &z) in spec.zones.iter().enumerate() {
                if z != zone {
                    continue;
                }
                any_pool = true;
                let node_vswitch = spec.node_vswitch[position];
                if !is_listed && !pod_vswitches.contains(&node_vswitch) {
                    pod_vswitches.push(node_vswitch);
                }
            }
        }
        if !any_pool {
            continue;
        }
        let supply: u64 = pod_vswitches
            .iter()
            .map(|&i| u64::from(scenario.vswitches[i].usable_ips()))
            .sum();
        let mut view = ZoneView {
            zone,
            pod_vswitches,
            listed: is_listed,
            supply,
            nodes_start: 0,
            nodes_max: 0,
            full_demand: 0,
            node_overhead_start: 0.0,
            idle_max: 0,
            pools: Vec::new(),
        };
        for (pool, spec) in scenario.nodepools.iter().enumerate() {
            let (capacity, pods) = node_capacity(scenario, pool, config);
            let idle = idle_per_node(config, capacity);
            for (position, &z) in spec.zones.iter().enumerate() {
                if z != zone {
                    continue;
                }
                let eth0 = u64::from(view.pod_vswitches.contains(&spec.node_vswitch[position]));
                let start = nodes_at(spec.nodes, spec.zones.len(), position);
                let max = nodes_at(spec.max_nodes, spec.zones.len(), position);
                let per_node = capacity.min(pods + idle) + eth0;
                view.nodes_start += start;
                view.nodes_max += max;
                view.full_demand += max * per_node;
                view.node_overhead_start += (start * (eth0 + idle)) as f64;
                view.idle_max += max * idle;
                view.pools.push((spec.name.clone(), max, per_node));
            }
        }
        views.push(view);
    }
    views
}

/// The zones a workload's pods may land in: its pool's, or those of every pool.
fn workload_zones(scenario: &Scenario, workload: usize) -> Vec<usize> {
    let mut zones: Vec<usize> = match scenario.workloads[workload].nodepool {
        Some(pool) => scenario.nodepools[pool].zones.clone(),
        None => scenario
            .nodepools
            .iter()
            .flat_map(|p| p.zones.iter().copied())
            .collect(),
    };
    zones.sort_unstable();
    zones.dedup();
    zones
}

/// Mean run time of a job's pod in hours.
fn mean_hours(duration: &JobDuration) -> f64 {
    let hour = 3_600_000.0;
    match *duration {
        JobDuration::Exponential { mean_ms } => mean_ms as f64 / hour,
        JobDuration::LogNormal { p50_ms, p99_ms } => {
            // z(0.99) = 2.3263: the log-normal through p50 and p99 has this sigma.
            let sigma = ((p99_ms as f64) / (p50_ms as f64).max(1.0)).ln() / 2.3263;
            p50_ms as f64 / hour * (sigma * sigma / 2.0).exp()
        }
    }
}

/// Pods a workload has at `t`: the replica target at its daily peak, or for jobs the mean
/// number running (arrivals x mean run time).
fn workload_pods(kind: &WorkloadKind, t: Millis) -> f64 {
    match kind {
        WorkloadKind::Deployment(r) | WorkloadKind::StatefulSet(r) => {
            r.replicas.at(t) * (1.0 + r.daily_swing.abs())
        }
        WorkloadKind::Job(job) => job.arrivals_per_hour.at(t) * mean_hours(&job.duration),
    }
}

/// Pods the scenario puts in `zone` at `t`, spreading each workload evenly over its zones.
fn zone_pods(scenario: &Scenario, zone: usize, t: Millis) -> f64 {
    (0..scenario.workloads.len())
        .map(|w| {
            let zones = workload_zones(scenario, w);
            if zones.contains(&zone) {
                workload_pods(&scenario.workloads[w].kind, t) / zones.len() as f64
            } else {
                0.0
            }
        })
        .sum()
}

/// Every time a workload curve bends, and the ends.
fn breakpoints(scenario: &Scenario) -> Vec<Millis> {
    let mut times = vec![0, scenario.horizon_ms];
    for workload in &scenario.workloads {
        let curve = match &workload.kind {
            WorkloadKind::Deployment(r) | WorkloadKind::StatefulSet(r) => &r.replicas,
            WorkloadKind::Job(job) => &job.arrivals_per_hour,
        };
        times.extend(
            curve
                .points
                .iter()
                .map(|&(t, _)| t)
                .filter(|&t| t <= scenario.horizon_ms),
        );
    }
    times.sort_unstable();
    times.dedup();
    times
}

/// Growth in pods per day: over the first week (or the horizon when shorter) when pods grow
/// there, else over the whole horizon.
fn growth_per_day(scenario: &Scenario, zone: usize) -> f64 {
    let start = zone_pods(scenario, zone, 0);
    let slope = |until: Millis| {
        if until == 0 {
            return 0.0;
        }
        (zone_pods(scenario, zone, until) - start) / (until as f64 / DAY_MS as f64)
    };
    let near = slope(scenario.horizon_ms.min(7 * DAY_MS));
    if near > 0.0 {
        near
    } else {
        slope(scenario.horizon_ms)
    }
}

fn zone_key(scenario: &Scenario, view: &ZoneView) -> String {
    let zone = &scenario.zones[view.zone];
    if view.listed {
        format!("terway.vswitches.{}", key_segment(zone))
    } else {
        vswitch_key(scenario, view.pod_vswitches[0])
    }
}

fn vswitch_key(scenario: &Scenario, index: usize) -> String {
    scenario
        .actions
        .iter()
        .find(|a| a.kind == ActionKind::AddVSwitch(index))
        .map(|a| format!("action[{}].add_vswitch", a.file_index))
        .unwrap_or_else(|| format!("vswitch[{index}]"))
}

/// The narrowest vSwitch mask that holds `addresses`.
fn mask_for(addresses: u64) -> Option<u8> {
    (16..=29)
        .rev()
        .find(|&prefix| u64::from(usable_addresses(prefix)) >= addresses)
}

fn ids(scenario: &Scenario, indices: &[usize]) -> String {
    indices
        .iter()
        .map(|&i| format!("`{}`", scenario.vswitches[i].id))
        .collect::<Vec<_>>()
        .join(", ")
}

fn capacity_findings(scenario: &Scenario, zones: &[ZoneView]) -> Vec<Finding> {
    let mut findings = Vec::new();
    let times = breakpoints(scenario);
    for view in zones {
        if view.full_demand <= view.supply {
            continue;
        }
        let zone = &scenario.zones[view.zone];
        let pools: Vec<String> = view
            .pools
            .iter()
            .filter(|(_, nodes, _)| *nodes > 0)
            .map(|(name, nodes, per_node)| format!("{nodes} x {per_node} in `{name}`"))
            .collect();
        // Today's idle pool addresses, when known, are held apart from used_by_others.
        let idle_today = scenario.live.idle_today_per_zone(scenario)[view.zone].unwrap_or(0);
        let in_use =
            zone_pods(scenario, view.zone, 0) + view.node_overhead_start + f64::from(idle_today);
        let free = view.supply as f64 - in_use;
        let growth = growth_per_day(scenario, view.zone);
        let headroom = if free <= 0.0 {
            format!(
                "at the start the {} nodes and their pods already need about {:.0}, more than there is",
                view.nodes_start, in_use
            )
        } else if growth > 0.0 {
            let days = free / growth;
            let within = if days * DAY_MS as f64 <= scenario.horizon_ms as f64 {
                format!(
                    ", within the scenario's {}",
                    format_duration(scenario.horizon_ms)
                )
            } else {
                String::new()
            };
            format!(
                "about {:.0} are in use at the start, so at the scenario's {growth:.1} pods/day the {:.0} free last about {:.0} days{within}",
                in_use, free, days
            )
        } else {
            let peak = times
                .iter()
                .map(|&t| (zone_pods(scenario, view.zone, t), t))
                .fold((0.0, 0), |best, x| if x.0 > best.0 { x } else { best });
            format!(
                "about {:.0} are in use at the start and the scenario does not grow (its peak is {:.0} pods here at {})",
                in_use,
                peak.0,
                format_duration(peak.1)
            )
        };
        let shortfall = view.full_demand - view.supply;
        let fix = match mask_for(shortfall) {
            Some(mask) => format!(
                "add a vSwitch of at least /{mask} in zone `{zone}` to terway.vswitches (and restart Terway), or lower max_nodes"
            ),
            None => format!(
                "add vSwitches for {shortfall} more addresses in zone `{zone}` to terway.vswitches, or lower max_nodes"
            ),
        };
        findings.push(Finding::new(
            "vswitch-too-small",
            zone_key(scenario, view),
            format!(
                "zone `{zone}`: {} give pods {} addresses, but the node pools at max_nodes could hold {} ({}); {headroom}",
                ids(scenario, &view.pod_vswitches),
                view.supply,
                view.full_demand,
                pools.join(", ")
            ),
            fix,
        ));
    }
    findings
}

/// Whether `key` names a region rather than a zone: a zone of the scenario is the key and a
/// zone letter (`cn-hangzhou` + `-h`, `eu-central-1` + `a`), or the key has a region's shape.
pub(super) fn is_region_of(key: &str, zones: &[String]) -> bool {
    if zones.iter().any(|z| z == key) {
        return false;
    }
    let zone_suffix = |rest: &str| {
        let letters = rest.strip_prefix('-').unwrap_or(rest);
        (1..=2).contains(&letters.len())
            && letters
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            && (rest.starts_with('-') || key.ends_with(|c: char| c.is_ascii_digit()))
    };
    if zones
        .iter()
        .any(|z| z.strip_prefix(key).is_some_and(zone_suffix))
    {
        return true;
    }
    // Alibaba Cloud regions: `cn-hangzhou`, `eu-central-1`, `ap-southeast-1`; their zones add a
    // letter (`cn-hangzhou-h`, `eu-central-1a`).
    let parts: Vec<&str> = key.split('-').collect();
    let word = |p: &str| p.len() >= 2 && p.bytes().all(|b| b.is_ascii_lowercase());
    let number = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    match parts.as_slice() {
        [geo, place] => geo.len() == 2 && word(geo) && word(place) && place.len() > 2,
        [geo, place, n] => geo.len() == 2 && word(geo) && word(place) && number(n),
        _ => false,
    }
}

/// `vswitch-keyed-by-region`: `[terway] vswitches` keyed by region, as an installer once
/// wrote it; Terway finds nothing under the node's zone and uses eth0's vSwitch.
fn region_key_findings(scenario: &Scenario) -> Vec<Finding> {
    let Some(config) = scenario.terway_configs.first() else {
        return Vec::new();
    };
    let mut findings = Vec::new();
    for (key, listed) in &config.vswitches {
        if !is_region_of(key, &scenario.zones) {
            continue;
        }
        let mut by_zone: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for &index in listed {
            let spec = &scenario.vswitches[index];
            by_zone
                .entry(scenario.zones[spec.zone].as_str())
                .or_default()
                .push(&spec.id);
        }
        let ids: Vec<String> = by_zone
            .values()
            .flatten()
            .map(|id| format!("`{id}`"))
            .collect();
        let (message_tail, fix) = if by_zone.is_empty() {
            (
                String::new(),
                format!(
                    "key eni_conf vswitches by zone (\"{key}-a\" style, as the nodes' topology.kubernetes.io/zone label says), not by region"
                ),
            )
        } else {
            let entries: Vec<String> = by_zone
                .iter()
                .map(|(zone, ids)| {
                    let ids: Vec<String> = ids.iter().map(|id| format!("\"{id}\"")).collect();
                    format!("\"{zone}\": [{}]", ids.join(", "))
                })
                .collect();
            (
                format!(
                    ", so {} {} never used",
                    ids.join(", "),
                    if ids.len() == 1 { "is" } else { "are" }
                ),
                format!(
                    "key eni_conf vswitches by zone: {{{}}} (then restart Terway)",
                    entries.join(", ")
                ),
            )
        };
        findings.push(Finding::new(
            "vswitch-keyed-by-region",
            format!("terway.vswitches.{}", key_segment(key)),
            format!(
                "`{key}` is a region, not a zone: Terway looks up the vSwitches of the node's zone, finds none under this key and gives pods the node's primary vSwitch{message_tail}"
            ),
            fix,
        ));
    }
    findings
}

/// `vswitch-listed-twice`: one vSwitch under several keys of `[terway] vswitches`.
fn listed_twice_findings(scenario: &Scenario) -> Vec<Finding> {
    let Some(config) = scenario.terway_configs.first() else {
        return Vec::new();
    };
    let mut keys_of: BTreeMap<usize, Vec<&str>> = BTreeMap::new();
    for (key, listed) in &config.vswitches {
        let mut seen = Vec::new();
        for &index in listed {
            if !seen.contains(&index) {
                seen.push(index);
                keys_of.entry(index).or_default().push(key);
            }
        }
    }
    keys_of
        .into_iter()
        .filter(|(_, keys)| keys.len() > 1)
        .map(|(index, keys)| {
            let spec = &scenario.vswitches[index];
            let zone = scenario.zones[spec.zone].as_str();
            let others: Vec<&str> = keys.iter().copied().filter(|k| *k != zone).collect();
            let shown: Vec<String> = keys.iter().map(|k| format!("`{k}`")).collect();
            let wrong = others.first().copied().unwrap_or(keys[1]);
            let quoted: Vec<String> = others.iter().map(|k| format!("\"{k}\"")).collect();
            Finding::new(
                "vswitch-listed-twice",
                format!("terway.vswitches.{}", key_segment(wrong)),
                format!(
                    "`{}` is listed under {}, but a vSwitch is in one zone (`{zone}`); Terway skips it for nodes in the others",
                    spec.id,
                    shown.join(" and ")
                ),
                format!(
                    "list `{}` only under \"{zone}\" and remove it from {}; give those zones a vSwitch of their own",
                    spec.id,
                    quoted.join(", ")
                ),
            )
        })
        .collect()
}

fn single_vswitch_findings(scenario: &Scenario, zones: &[ZoneView]) -> Vec<Finding> {
    zones
        .iter()
        .filter(|view| view.listed && view.pod_vswitches.len() == 1)
        .map(|view| {
            let zone = &scenario.zones[view.zone];
            let id = &scenario.vswitches[view.pod_vswitches[0]].id;
            Finding::new(
                "single-vswitch",
                zone_key(scenario, view),
                format!(
                    "zone `{zone}` has one Terway vSwitch, `{id}`: when it fills, nodes cannot open ENIs anywhere else, and a vSwitch added later only helps nodes with a free ENI slot"
                ),
                format!(
                    "create a second vSwitch in `{zone}` and list it after `{id}` now, with vswitch_selection_policy = \"ordered\""
                ),
            )
        })
        .collect()
}

fn random_selection_findings(scenario: &Scenario, zones: &[ZoneView]) -> Vec<Finding> {
    let Some(config) = scenario.terway_configs.first() else {
        return Vec::new();
    };
    if config.vswitch_selection != VSwitchSelection::Random {
        return Vec::new();
    }
    let several: Vec<&ZoneView> = zones
        .iter()
        .filter(|view| view.listed && view.pod_vswitches.len() > 1)
        .collect();
    if several.is_empty() {
        return Vec::new();
    }
    let names: Vec<String> = several
        .iter()
        .map(|view| {
            format!(
                "`{}` ({})",
                scenario.zones[view.zone],
                view.pod_vswitches.len()
            )
        })
        .collect();
    vec![Finding::new(
        "random-vswitch-selection",
        "terway.vswitch_selection_policy",
        format!(
            "zones {} list several vSwitches and vswitch_selection_policy is not `ordered`: Terway picks one at random for a new ENI, so it can create ENIs on an almost full vSwitch while another has room",
            names.join(", ")
        ),
        "set vswitch_selection_policy = \"ordered\" in eni_conf (most free addresses first) and restart Terway",
    )]
}

fn idle_fraction_findings(
    scenario: &Scenario,
    zones: &[ZoneView],
    options: &LintOptions,
) -> Vec<Finding> {
    let Some(config) = scenario.terway_configs.first() else {
        return Vec::new();
    };
    let mut findings = Vec::new();
    for view in zones {
        if view.supply == 0 || view.idle_max == 0 {
            continue;
        }
        let share = view.idle_max as f64 / view.supply as f64;
        if share <= options.idle_fraction {
            continue;
        }
        let zone = &scenario.zones[view.zone];
        let (field, size) = if config.idle_ip_reclaim.is_some() {
            ("min_pool_size", config.min_pool_size)
        } else {
            ("max_pool_size", config.max_pool_size)
        };
        let allowed = (options.idle_fraction * view.supply as f64 / view.nodes_max as f64).floor();
        let fix = if config.idle_ip_reclaim.is_some() {
            format!("lower min_pool_size to {allowed:.0} or less")
        } else {
            format!(
                "lower max_pool_size to {allowed:.0} or less, or set idle_ip_reclaim_after (Terway v1.16+) to give idle addresses back"
            )
        };
        findings.push(Finding::new(
            "idle-pool-fraction",
            format!("terway.{field}"),
            format!(
                "at max_nodes the {} nodes in zone `{zone}` may keep up to {} idle addresses ({field} {size} each), {:.1}% of the zone's {}, above the allowed {:.0}%; no other node can use them",
                view.nodes_max,
                view.idle_max,
                share * 100.0,
                view.supply,
                options.idle_fraction * 100.0
            ),
            fix,
        ));
    }
    findings
}

/// The region of a zone (`cn-hangzhou-h` -> `cn-hangzhou`, `eu-central-1a` -> `eu-central-1`),
/// or a placeholder when the name has neither shape.
pub fn region_of(zone: &str) -> String {
    let letter_at_end =
        |rest: &str| rest.len() == 1 && rest.bytes().all(|b| b.is_ascii_lowercase());
    if let Some((region, letter)) = zone.rsplit_once('-')
        && letter_at_end(letter)
        && region.contains('-')
    {
        return region.to_string();
    }
    let bytes = zone.as_bytes();
    if bytes.len() > 2
        && bytes[bytes.len() - 1].is_ascii_lowercase()
        && bytes[bytes.len() - 2].is_ascii_digit()
    {
        return zone[..zone.len() - 1].to_string();
    }
    "<region>".to_string()
}

/// `vswitch-without-snat`: pods of a vSwitch no SNAT entry covers get addresses but no way out
/// to the internet. Only judged when the scenario carries the SNAT table: an unknown table says
/// nothing. A warning, not an error: some clusters have no internet egress by design, or leave
/// through another route, and the address plan is right either way.
fn snat_findings(scenario: &Scenario) -> Vec<Finding> {
    let Some(snat) = &scenario.snat else {
        return Vec::new();
    };
    let mut used: Vec<usize> = scenario
        .terway_configs
        .iter()
        .flat_map(|config| config.vswitches.values().flatten().copied())
        .chain(
            scenario
                .actions
                .iter()
                .filter_map(|action| match action.kind {
                    ActionKind::AddVSwitch(index) => Some(index),
                    _ => None,
                }),
        )
        .collect();
    used.sort_unstable();
    used.dedup();
    let table = snat.table_id.as_deref().unwrap_or("<SnatTableId>");
    used.into_iter()
        .filter(|&index| snat.covering(&scenario.vswitches[index]).is_none())
        .map(|index| {
            let spec = &scenario.vswitches[index];
            let how = if spec.created_at_ms.is_some() {
                "is added by an action"
            } else {
                "is listed for Terway"
            };
            Finding::new(
                "vswitch-without-snat",
                vswitch_key(scenario, index),
                format!(
                    "`{}` ({}) {how} but no entry of the SNAT table covers it (by SourceVSwitchId or a SourceCIDR holding its block): pods given its addresses cannot reach the internet",
                    spec.id, spec.cidr
                ),
                format!(
                    "aliyun vpc CreateSnatEntry --RegionId {} --SnatTableId {table} --SourceVSwitchId {} --SnatIp <EIP of the NAT gateway>",
                    region_of(&scenario.zones[spec.zone]),
                    spec.id
                ),
            )
        })
        .collect()
}
