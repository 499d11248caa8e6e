//! Planning: what to add, where, and by when; what-if checks by re-running the scenario; and
//! the capacity gates that CI judges.
//!
//! Percentiles read on the pessimistic side: at `percentile = 90`, demand is the 90th
//! percentile over runs (higher is worse) and times are the 10th (earlier is worse), so 90% of
//! runs are no worse than the figure planned for.

use std::fmt::Write as _;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use crate::model::RunResult;
use crate::scenario::{
    Action, ActionKind, IpamType, MAX_VSWITCH_PREFIX, MIN_VSWITCH_PREFIX, Millis, PREFIX_ADDRESSES,
    Scenario, VSwitchSpec, human_duration, usable_addresses,
};
use crate::stats::{
    WaitPercentiles, idle_at_peak, time_interval_at, time_percentile, value_interval_at,
    value_percentile, wait_percentiles,
};
use crate::sweep;

/// The value at `percentile` over runs (higher is worse).
fn worse_value(values: impl Iterator<Item = u32>, percentile: f64) -> u32 {
    value_percentile(values, percentile)
}

/// The time at the pessimistic side of `percentile` over runs (earlier is worse).
fn worse_time(times: &[Option<Millis>], percentile: f64) -> Option<Millis> {
    time_percentile(times, 100.0 - percentile)
}

/// What a gate judges a time on: the pessimistic side of the percentile, or, with a
/// confidence, the earlier end of that percentile's interval (0 when the runs cannot bound it).
fn gate_time(times: &[Option<Millis>], percentile: f64, confidence: Option<f64>) -> Option<Millis> {
    match confidence {
        None => worse_time(times, percentile),
        Some(c) => time_interval_at(times, 100.0 - percentile, c).lo,
    }
}

/// What a gate judges a count on: the percentile, or, with a confidence, the higher end of its
/// interval (`None` when the runs cannot bound it).
fn gate_value(
    values: impl Iterator<Item = u32>,
    percentile: f64,
    confidence: Option<f64>,
) -> Option<u32> {
    match confidence {
        None => Some(worse_value(values, percentile)),
        Some(c) => value_interval_at(values, percentile, c).hi,
    }
}

/// What the planner recommends for a zone whose vSwitches will not hold its demand.
#[derive(Debug, Clone, PartialEq)]
pub struct Recommendation {
    /// Index into `scenario.zones`.
    pub zone: usize,
    /// For a PodNetworking's vSwitches in the zone: its index; the vSwitch joins its list.
    pub podnetworking: Option<usize>,
    /// Zone name.
    pub zone_name: String,
    /// Peak demand on the zone's pod vSwitches at the planning percentile: addresses held plus
    /// pods waiting.
    pub peak_demand: u32,
    /// Demand x (1 + headroom) where the shortfall is largest (at the peak, unless the
    /// scenario's own expansions come later than needed).
    pub needed_ips: u32,
    /// What the zone's pod vSwitches give at the start.
    pub usable_ips_now: u32,
    /// The largest shortfall: `needed_ips` less what the zone has at that moment.
    pub shortfall_ips: u32,
    /// When that shortfall is reached.
    pub shortfall_at_ms: Millis,
    /// Mask of the smallest vSwitch that covers the gap (`None`: more than a /16 is needed).
    pub add_prefix_len: Option<u8>,
    /// How many vSwitches of that mask cover the gap (1 unless the gap exceeds a /16).
    pub add_count: u32,
    /// The lowest aligned free block in the VPC, if one exists.
    pub add_cidr: Option<Ipv4Net>,
    /// Why `add_cidr` is empty, when it is.
    pub cidr_note: Option<String>,
    /// Latest time to have the vSwitch in place: the planning-percentile first shortage (or the
    /// time demand plus headroom first exceeds the zone) minus `lead_time`, at least 0.
    pub expand_by_ms: Millis,
    /// Whether `lead_time` is already past (expand now).
    pub late: bool,
    /// The zone's used fraction at `expand_by_ms`: a trigger an alert can watch.
    pub trigger_used_fraction: f64,
    /// Whether a re-run with the vSwitch added at `expand_by_ms` (listed, Terway restarted)
    /// had no shortage in the zone in any run; `None` before the check.
    pub verified: Option<bool>,
    /// Shortage runs in the verification re-run.
    pub verified_shortage_runs: Option<f64>,
}

/// Per zone: idle addresses at the peak and what `max_pool_size = 0` would change.
#[derive(Debug, Clone, PartialEq)]
pub struct PoolSaving {
    /// Zone name.
    pub zone_name: String,
    /// Idle addresses in node pools at the moment of peak use, planning-percentile run.
    pub idle_at_peak: u32,
    /// Peak addresses held now, planning percentile.
    pub peak_used: u32,
    /// Peak addresses held with `max_pool_size = 0` (and `min_pool_size = 0`).
    pub peak_used_without_pool: u32,
    /// Pod address wait now over the zone's pods of all runs, those that never got an address counted
    /// at their wait so far.
    pub ip_wait: WaitPercentiles,
    /// The same with `max_pool_size = 0`.
    pub ip_wait_without_pool: WaitPercentiles,
}

impl PoolSaving {
    /// Addresses the smaller pools would free at the peak.
    pub fn saved(&self) -> u32 {
        self.peak_used.saturating_sub(self.peak_used_without_pool)
    }
}

/// The zone's pod vSwitches: those Terway lists for the zone in any of the scenario's configs
/// (and really in the zone). Without any, Terway uses the nodes' own vSwitch: all of the zone.
pub fn pod_vswitches(scenario: &Scenario, zone: usize) -> Vec<usize> {
    let name = &scenario.zones[zone];
    let mut listed: Vec<usize> = scenario
        .terway_configs
        .iter()
        .filter_map(|c| c.vswitches.get(name))
        .flatten()
        .copied()
        .filter(|&v| scenario.vswitches[v].zone == zone)
        .collect();
    // A PodNetworking's vSwitches hold pod addresses of the zone too.
    listed.extend(
        scenario
            .pod_enis
            .podnetworkings
            .iter()
            .flat_map(|pn| pn.vswitches[zone].iter().copied()),
    );
    listed.sort_unstable();
    listed.dedup();
    if listed.is_empty() {
        listed = (0..scenario.vswitches.len())
            .filter(|&v| scenario.vswitches[v].zone == zone)
            .collect();
    }
    listed
}

/// Usable addresses of the zone's pod vSwitches that exist at `at_ms`.
pub fn zone_usable(scenario: &Scenario, pod_vswitches: &[usize], at_ms: Millis) -> u32 {
    pod_vswitches
        .iter()
        .map(|&v| &scenario.vswitches[v])
        .filter(|v| v.created_at_ms.is_none_or(|created| created <= at_ms))
        .map(VSwitchSpec::usable_ips)
        .sum()
}

/// Planning-percentile series of the zone's pod vSwitches: (time, used, used + waiting).
fn zone_series(
    scenario: &Scenario,
    runs: &[RunResult],
    zone: usize,
    pod_vswitches: &[usize],
) -> Vec<(Millis, u32, u32)> {
    let samples = &runs[0].samples;
    let n_vswitches = scenario.vswitches.len();
    let n_zones = scenario.zones.len();
    let percentile = scenario.planning.percentile;
    (0..samples.times_ms.len())
        .map(|sample| {
            let used_in = |run: &RunResult| -> u32 {
                pod_vswitches
                    .iter()
                    .map(|&v| run.samples.vswitch_used[sample * n_vswitches + v])
                    .sum()
            };
            let used = worse_value(runs.iter().map(used_in), percentile);
            let demand = worse_value(
                runs.iter()
                    .map(|r| used_in(r) + r.samples.zone_pending_ip[sample * n_zones + zone]),
                percentile,
            );
            (samples.times_ms[sample], used, demand)
        })
        .collect()
}

/// Smallest vSwitch mask whose usable addresses cover `gap`, and how many of them.
pub fn prefix_for(gap: u32) -> (Option<u8>, u32) {
    for prefix in (MIN_VSWITCH_PREFIX..=MAX_VSWITCH_PREFIX).rev() {
        if usable_addresses(prefix) >= gap {
            return (Some(prefix), 1);
        }
    }
    let per_block = usable_addresses(MIN_VSWITCH_PREFIX);
    (None, gap.div_ceil(per_block))
}

/// The lowest aligned `/prefix` block inside the VPC blocks that overlaps none of `taken`.
pub fn free_block(vpc: &[Ipv4Net], taken: &[Ipv4Net], prefix: u8) -> Option<Ipv4Net> {
    let size = 1u64 << (32 - prefix);
    let mut blocks: Vec<&Ipv4Net> = vpc.iter().filter(|b| b.prefix_len() <= prefix).collect();
    blocks.sort_by_key(|b| u32::from(b.network()));
    let mut taken: Vec<(u64, u64)> = taken
        .iter()
        .map(|t| {
            let start = u64::from(u32::from(t.network()));
            (start, start + (1u64 << (32 - t.prefix_len())))
        })
        .collect();
    taken.sort_unstable();
    for block in blocks {
        let block_start = u64::from(u32::from(block.network()));
        let block_end = block_start + (1u64 << (32 - block.prefix_len()));
        let mut start = block_start;
        while start + size <= block_end {
            match taken.iter().find(|&&(s, e)| s < start + size && start < e) {
                // Jump to the first aligned start after the block in the way.
                Some(&(_, end)) => start = end.div_ceil(size) * size,
                None => {
                    let addr = Ipv4Addr::from(start as u32);
                    return Some(Ipv4Net::new(addr, prefix).expect("valid prefix"));
                }
            }
        }
    }
    None
}

/// IP prefix mode in one zone: what the prefix-mode pools hold at `max_nodes` against the
/// reserved blocks of the vSwitches they draw on, and, when short, the reservation and the
/// vSwitch around it that would hold them.
#[derive(Debug, Clone, PartialEq)]
pub struct PrefixPlan {
    /// Zone name.
    pub zone: String,
    /// /28 prefixes the zone's prefix-mode nodes hold at `max_nodes` (each pool's nodes spread
    /// evenly over its zones, rounded up).
    pub needed_prefixes: u32,
    /// /28 prefixes the reserved blocks of the zone's listed vSwitches hold.
    pub reserved_prefixes: u32,
    /// When short: the mask of one reservation that holds every needed prefix.
    pub reservation_prefix_len: Option<u8>,
    /// And of a new vSwitch around it: four times the reservation, as Terway's own Terraform
    /// reserves a /18 in a /16, so that ENI primaries and other resources keep a normal range.
    pub vswitch_prefix_len: Option<u8>,
    /// The lowest free aligned block of that size in the VPC.
    pub vswitch_cidr: Option<Ipv4Net>,
}

/// [`PrefixPlan`] for every zone where a prefix-mode node pool runs. Static: the prefixes a node
/// holds do not depend on its pods.
pub fn prefix_plans(scenario: &Scenario) -> Vec<PrefixPlan> {
    let mut taken: Vec<Ipv4Net> = scenario.vswitches.iter().map(|v| v.cidr).collect();
    let mut out = Vec::new();
    for (zone, name) in scenario.zones.iter().enumerate() {
        let mut needed = 0u32;
        let mut listed: Vec<usize> = Vec::new();
        for pool in &scenario.nodepools {
            let Some(position) = pool.zones.iter().position(|&z| z == zone) else {
                continue;
            };
            let config = pool.terway.applied_to(&scenario.terway_configs[0]);
            if !(config.enable_ip_prefix && config.ipam == IpamType::Centralized) {
                continue;
            }
            let zones = pool.zones.len() as u32;
            let nodes =
                pool.max_nodes / zones + u32::from((position as u32) < pool.max_nodes % zones);
            needed += nodes * config.ipv4_prefix_count;
            listed.extend(config.vswitches.get(name).into_iter().flatten().copied());
            if config.vswitches.get(name).is_none_or(Vec::is_empty) {
                listed.push(pool.node_vswitch[position]);
            }
        }
        if needed == 0 {
            continue;
        }
        listed.sort_unstable();
        listed.dedup();
        let reserved: u32 = listed
            .iter()
            .map(|&v| &scenario.vswitches[v])
            .filter(|v| v.zone == zone)
            .map(VSwitchSpec::reserved_prefixes)
            .sum();
        let (mut reservation_prefix_len, mut vswitch_prefix_len, mut vswitch_cidr) =
            (None, None, None);
        if needed > reserved {
            let addresses = u64::from(needed) * u64::from(PREFIX_ADDRESSES);
            let bits = 64 - (addresses - 1).leading_zeros();
            let mask = (32 - bits).min(28) as u8;
            reservation_prefix_len = Some(mask);
            let around = mask.saturating_sub(2).max(MIN_VSWITCH_PREFIX);
            vswitch_prefix_len = Some(around);
            vswitch_cidr = free_block(&scenario.vpc_cidrs, &taken, around);
            taken.extend(vswitch_cidr);
        }
        out.push(PrefixPlan {
            zone: name.clone(),
            needed_prefixes: needed,
            reserved_prefixes: reserved,
            reservation_prefix_len,
            vswitch_prefix_len,
            vswitch_cidr,
        });
    }
    out
}

/// Recommendations for every zone whose planning-percentile demand plus headroom exceeds, at
/// some point, what its pod vSwitches give at that point (the scenario's own `add_vswitch`
/// actions count from when they happen). `verified` is left `None`; see [`verify`].
pub fn recommend(scenario: &Scenario, runs: &[RunResult]) -> Vec<Recommendation> {
    let planning = scenario.planning;
    let with_headroom = |demand: u32| (f64::from(demand) * (1.0 + planning.headroom)).ceil() as u32;
    let mut taken: Vec<Ipv4Net> = scenario.vswitches.iter().map(|v| v.cidr).collect();
    let mut out = Vec::new();
    for (zone, zone_name) in scenario.zones.iter().enumerate() {
        let pods = pod_vswitches(scenario, zone);
        // Node eth0 addresses in other vSwitches of the zone are not what pods draw on.
        let others: Vec<usize> = (0..scenario.vswitches.len())
            .filter(|v| scenario.vswitches[*v].zone == zone && !pods.contains(v))
            .collect();
        let peak_demand = worse_value(
            runs.iter().map(|r| {
                let elsewhere: u32 = others.iter().map(|&v| r.vswitches[v].peak_used).sum();
                r.zones[zone].peak_demand.saturating_sub(elsewhere)
            }),
            planning.percentile,
        );
        let series = zone_series(scenario, runs, zone, &pods);
        let usable_ips_now = zone_usable(scenario, &pods, 0);
        let usable_at_end = zone_usable(scenario, &pods, scenario.horizon_ms);
        // The largest shortfall over time, and when it first appears.
        let mut gap = i64::from(with_headroom(peak_demand)) - i64::from(usable_at_end);
        let mut needed_ips = with_headroom(peak_demand);
        // The exact peak has no time; the sample with the highest demand stands in for it.
        let mut shortfall_at_ms = series
            .iter()
            .max_by_key(|&&(t, _, demand)| (demand, std::cmp::Reverse(t)))
            .map_or(scenario.horizon_ms, |&(t, _, _)| t);
        let mut first_short_ms = (gap > 0).then_some(scenario.horizon_ms);
        for &(t, _, demand) in &series {
            let need = with_headroom(demand);
            let sample_gap = i64::from(need) - i64::from(zone_usable(scenario, &pods, t));
            if sample_gap > 0 {
                first_short_ms = Some(first_short_ms.map_or(t, |f| f.min(t)));
            }
            if sample_gap > gap {
                gap = sample_gap;
                needed_ips = need;
                shortfall_at_ms = t;
            }
        }
        if gap <= 0 {
            continue;
        }
        let (add_prefix_len, add_count) = prefix_for(gap as u32);
        let block_prefix = add_prefix_len.unwrap_or(MIN_VSWITCH_PREFIX);
        let (add_cidr, cidr_note) = if scenario.vpc_cidrs.is_empty() {
            (
                None,
                Some("no [vpc] cidr given, so no block can be chosen".to_string()),
            )
        } else {
            match free_block(&scenario.vpc_cidrs, &taken, block_prefix) {
                Some(block) => {
                    taken.push(block);
                    (Some(block), None)
                }
                None => (
                    None,
                    Some(format!(
                        "the VPC has no free /{block_prefix} block; add a secondary CIDR to the VPC"
                    )),
                ),
            }
        };
        let shortages: Vec<Option<Millis>> = runs
            .iter()
            .map(|r| r.zones[zone].first_shortage_ms)
            .collect();
        // The first shortage, or, without one, when demand plus headroom first outgrows the zone.
        let deadline_ms = worse_time(&shortages, planning.percentile)
            .or(first_short_ms)
            .unwrap_or(scenario.horizon_ms);
        let late = deadline_ms < planning.lead_time_ms;
        let expand_by_ms = deadline_ms.saturating_sub(planning.lead_time_ms);
        let used_then = series
            .iter()
            .take_while(|&&(t, _, _)| t <= expand_by_ms)
            .last()
            .map_or(0, |&(_, used, _)| used);
        let usable_then = zone_usable(scenario, &pods, expand_by_ms).max(1);
        out.push(Recommendation {
            zone,
            podnetworking: None,
            zone_name: zone_name.clone(),
            peak_demand,
            needed_ips,
            usable_ips_now,
            shortfall_ips: gap as u32,
            shortfall_at_ms,
            add_prefix_len,
            add_count,
            add_cidr,
            cidr_note,
            expand_by_ms,
            late,
            trigger_used_fraction: f64::from(used_then) / f64::from(usable_then),
            verified: None,
            verified_shortage_runs: None,
        });
    }
    out.extend(podnetworking_recommendations(scenario, runs, &mut taken));
    out
}

/// A PodNetworking's vSwitches in a zone hold only its pods' addresses, so the zone's room
/// elsewhere does not help them: they are sized on their own. Demand is their peak use, plus,
/// in runs where every one of them filled, the zone's pods waiting for an address (an upper
/// bound: some may be waiting for the shared vSwitches).
fn podnetworking_recommendations(
    scenario: &Scenario,
    runs: &[RunResult],
    taken: &mut Vec<Ipv4Net>,
) -> Vec<Recommendation> {
    let planning = scenario.planning;
    let with_headroom = |demand: u32| (f64::from(demand) * (1.0 + planning.headroom)).ceil() as u32;
    let mut out = Vec::new();
    for (index, pn) in scenario.pod_enis.podnetworkings.iter().enumerate() {
        for (zone, list) in pn.vswitches.iter().enumerate() {
            if list.is_empty() {
                continue;
            }
            let all_full = |r: &RunResult| -> Option<Millis> {
                list.iter()
                    .map(|&v| r.vswitches[v].full_at_ms)
                    .try_fold(0, |latest: Millis, full| full.map(|t| latest.max(t)))
            };
            let peak_demand = worse_value(
                runs.iter().map(|r| {
                    let used: u32 = list.iter().map(|&v| r.vswitches[v].peak_used).sum();
                    let waiting = all_full(r).map_or(0, |_| r.zones[zone].peak_pending_ip);
                    used + waiting
                }),
                planning.percentile,
            );
            let needed_ips = with_headroom(peak_demand);
            let usable_ips_now = zone_usable(scenario, list, 0);
            let gap =
                i64::from(needed_ips) - i64::from(zone_usable(scenario, list, scenario.horizon_ms));
            if gap <= 0 {
                continue;
            }
            let (add_prefix_len, add_count) = prefix_for(gap as u32);
            let block_prefix = add_prefix_len.unwrap_or(MIN_VSWITCH_PREFIX);
            let (add_cidr, cidr_note) = if scenario.vpc_cidrs.is_empty() {
                (
                    None,
                    Some("no [vpc] cidr given, so no block can be chosen".to_string()),
                )
            } else {
                match free_block(&scenario.vpc_cidrs, taken, block_prefix) {
                    Some(block) => {
                        taken.push(block);
                        (Some(block), None)
                    }
                    None => (
                        None,
                        Some(format!(
                            "the VPC has no free /{block_prefix} block; add a secondary CIDR to the VPC"
                        )),
                    ),
                }
            };
            let full: Vec<Option<Millis>> = runs.iter().map(all_full).collect();
            let deadline_ms = worse_time(&full, planning.percentile).unwrap_or(scenario.horizon_ms);
            let expand_by_ms = deadline_ms.saturating_sub(planning.lead_time_ms);
            let series = zone_series(scenario, runs, zone, list);
            let used_then = series
                .iter()
                .take_while(|&&(t, _, _)| t <= expand_by_ms)
                .last()
                .map_or(0, |&(_, used, _)| used);
            let usable_then = zone_usable(scenario, list, expand_by_ms).max(1);
            out.push(Recommendation {
                zone,
                podnetworking: Some(index),
                zone_name: format!("{} for PodNetworking {}", scenario.zones[zone], pn.name),
                peak_demand,
                needed_ips,
                usable_ips_now,
                shortfall_ips: gap as u32,
                shortfall_at_ms: deadline_ms,
                add_prefix_len,
                add_count,
                add_cidr,
                cidr_note,
                expand_by_ms,
                late: deadline_ms < planning.lead_time_ms,
                trigger_used_fraction: f64::from(used_then) / f64::from(usable_then),
                verified: None,
                verified_shortage_runs: None,
            });
        }
    }
    out
}

/// The scenario with the recommendations applied: each vSwitch created at its expansion
/// point, listed in `eni-config` (in every config in force from then on) and Terway restarted.
/// Without a free VPC block the vSwitch gets a stand-in block: the model only needs its size.
pub fn apply(scenario: &Scenario, recommendations: &[Recommendation]) -> Scenario {
    let mut s = scenario.clone();
    for (index, rec) in recommendations.iter().enumerate() {
        let prefix = rec.add_prefix_len.unwrap_or(MIN_VSWITCH_PREFIX);
        for copy in 0..rec.add_count {
            let cidr = rec.add_cidr.filter(|_| copy == 0).unwrap_or_else(|| {
                let base =
                    u32::from(Ipv4Addr::new(198, 18, 0, 0)) + ((index as u32 * 8 + copy) << 16);
                Ipv4Net::new(Ipv4Addr::from(base), prefix)
                    .expect("valid prefix")
                    .trunc()
            });
            let at = rec.expand_by_ms;
            let vswitch = s.vswitches.len();
            let id = match rec.podnetworking {
                Some(pn) => format!(
                    "vsw-planned-{}-{}-{}",
                    s.pod_enis.podnetworkings[pn].name,
                    s.zones[rec.zone],
                    copy + 1
                ),
                None => format!("vsw-planned-{}-{}", rec.zone_name, copy + 1),
            };
            s.vswitches.push(VSwitchSpec {
                cidr_reservations: Vec::new(),
                id,
                zone: rec.zone,
                cidr,
                used_by_others: 0,
                created_at_ms: (at > 0).then_some(at),
            });
            if let Some(pn) = rec.podnetworking {
                // A PodNetworking's new vSwitch is used as soon as it exists: no restart.
                s.pod_enis.podnetworkings[pn].vswitches[rec.zone].push(vswitch);
                if at > 0 {
                    s.actions.push(Action {
                        at_ms: at,
                        kind: ActionKind::AddVSwitch(vswitch),
                        file_index: usize::MAX - index,
                    });
                }
                continue;
            }
            let zone_name = &s.zones[rec.zone];
            // The config in force at `at`, and every later one, list the new vSwitch.
            let in_force = s
                .actions
                .iter()
                .filter(|a| a.at_ms <= at)
                .filter_map(|a| match a.kind {
                    ActionKind::SetTerway(c) => Some(c),
                    _ => None,
                })
                .next_back()
                .unwrap_or(0);
            let mut later: Vec<usize> = s
                .actions
                .iter()
                .filter(|a| a.at_ms > at)
                .filter_map(|a| match a.kind {
                    ActionKind::SetTerway(c) => Some(c),
                    _ => None,
                })
                .collect();
            let mut config = s.terway_configs[in_force].clone();
            config
                .vswitches
                .entry(zone_name.clone())
                .or_default()
                .push(vswitch);
            if at == 0 {
                s.terway_configs[0] = config;
            } else {
                s.terway_configs.push(config);
                let new_config = s.terway_configs.len() - 1;
                let file_index = usize::MAX - index;
                s.actions.push(Action {
                    at_ms: at,
                    kind: ActionKind::AddVSwitch(vswitch),
                    file_index,
                });
                s.actions.push(Action {
                    at_ms: at,
                    kind: ActionKind::SetTerway(new_config),
                    file_index,
                });
                s.actions.push(Action {
                    at_ms: at,
                    kind: ActionKind::RestartTerway,
                    file_index,
                });
            }
            later.sort_unstable();
            later.dedup();
            for c in later {
                s.terway_configs[c]
                    .vswitches
                    .entry(zone_name.clone())
                    .or_default()
                    .push(vswitch);
            }
        }
    }
    // Stable: equal times keep the order they were pushed in.
    s.actions.sort_by_key(|a| a.at_ms);
    s
}

/// Re-runs the scenario with the recommendations applied (same seeds) and fills `verified`.
pub fn verify(
    scenario: &Scenario,
    recommendations: &mut [Recommendation],
    on_progress: &(dyn Fn(Millis) + Sync),
) {
    if recommendations.is_empty() {
        return;
    }
    let applied = apply(scenario, recommendations);
    let runs = sweep::run_all(&applied, on_progress);
    verified_by(recommendations, &runs);
}

/// Fills `verified` from the verification runs (those of [`apply`]'s scenario, in run order),
/// however they were made (here, or by shards).
pub fn verified_by(recommendations: &mut [Recommendation], runs: &[RunResult]) {
    for rec in recommendations.iter_mut() {
        let short = runs
            .iter()
            .filter(|r| r.zones[rec.zone].first_shortage_ms.is_some())
            .count();
        rec.verified = Some(short == 0);
        rec.verified_shortage_runs = Some(short as f64 / runs.len() as f64);
    }
}

/// The scenario with Terway's pools turned off: `max_pool_size = min_pool_size = min_eni = 0`.
pub fn without_pools(scenario: &Scenario) -> Scenario {
    let mut s = scenario.clone();
    for config in &mut s.terway_configs {
        config.max_pool_size = 0;
        config.min_pool_size = 0;
        config.min_eni = 0;
        config.idle_ip_reclaim = None;
    }
    s
}

/// Whether any config keeps idle addresses, i.e. whether [`pool_savings`] has anything to say.
pub fn pools_hold_idle(scenario: &Scenario) -> bool {
    scenario
        .terway_configs
        .iter()
        .any(|c| c.max_pool_size > 0 || c.min_pool_size > 0 || c.min_eni > 0)
}

/// Idle addresses at the peak per zone, and a re-run without pools for comparison.
pub fn pool_savings(
    scenario: &Scenario,
    runs: &[RunResult],
    on_progress: &(dyn Fn(Millis) + Sync),
) -> Vec<PoolSaving> {
    let without = sweep::run_all(&without_pools(scenario), on_progress);
    pool_savings_against(scenario, runs, &without)
}

/// [`pool_savings`] from runs of [`without_pools`]'s scenario made elsewhere (by shards), in
/// run order.
pub fn pool_savings_against(
    scenario: &Scenario,
    runs: &[RunResult],
    without: &[RunResult],
) -> Vec<PoolSaving> {
    let percentile = scenario.planning.percentile;
    scenario
        .zones
        .iter()
        .enumerate()
        .map(|(zone, zone_name)| {
            let idle_at_peak = worse_value(
                runs.iter().map(|r| idle_at_peak(scenario, r, Some(zone))),
                percentile,
            );
            PoolSaving {
                zone_name: zone_name.clone(),
                idle_at_peak,
                peak_used: worse_value(runs.iter().map(|r| r.zones[zone].peak_used), percentile),
                peak_used_without_pool: worse_value(
                    without.iter().map(|r| r.zones[zone].peak_used),
                    percentile,
                ),
                ip_wait: wait_percentiles(runs, Some(zone)),
                ip_wait_without_pool: wait_percentiles(without, Some(zone)),
            }
        })
        .collect()
}

/// One gate judged on one subject (a zone, a vSwitch).
#[derive(Debug, Clone, PartialEq)]
pub struct GateResult {
    /// `min_time_to_shortage`, `max_vswitch_utilization` or `max_pods_pending_ip`.
    pub gate: &'static str,
    /// What was judged: a zone or vSwitch name.
    pub subject: String,
    /// Whether it passed.
    pub passed: bool,
    /// The measured value, for people.
    pub actual: String,
    /// The limit, for people.
    pub limit: String,
    /// One line: what, by how much, and what to do.
    pub message: String,
}

/// Judges the scenario's gates on its runs.
pub fn judge(
    scenario: &Scenario,
    runs: &[RunResult],
    recommendations: &[Recommendation],
) -> Vec<GateResult> {
    let gates = scenario.gates;
    let p = gates.percentile;
    // How the figure judged was read, for the messages.
    let basis = |percentile: f64| match gates.confidence {
        None => format!("p{percentile} over runs"),
        Some(c) => format!(
            "the pessimistic end of the {}% interval of p{percentile} over {} runs",
            c * 100.0,
            runs.len()
        ),
    };
    let unbounded = |percentile: f64| {
        format!(
            "{} runs cannot bound p{percentile} at {}% confidence: run more (or lower gates.confidence)",
            runs.len(),
            gates.confidence.unwrap_or(0.0) * 100.0
        )
    };
    let advice = |zone: usize| -> String {
        recommendations
            .iter()
            .find(|r| r.zone == zone)
            .map(|r| format!("; recommendation: {}", describe(r)))
            .unwrap_or_default()
    };
    let mut out = Vec::new();
    if let Some(limit) = gates.min_time_to_shortage_ms {
        for (zone, name) in scenario.zones.iter().enumerate() {
            let times: Vec<Option<Millis>> = runs
                .iter()
                .map(|r| r.zones[zone].first_shortage_ms)
                .collect();
            let first = gate_time(&times, p, gates.confidence);
            let passed = first.is_none_or(|t| t > limit);
            let actual = first.map_or_else(|| "never".to_string(), human_duration);
            let message = match first {
                Some(t) if !passed => format!(
                    "zone {name}: first shortage at {} ({}) is {} earlier than the required {}{}",
                    human_duration(t),
                    basis(100.0 - p),
                    human_duration(limit - t),
                    human_duration(limit),
                    advice(zone)
                ),
                _ => format!(
                    "zone {name}: first shortage {actual}, later than {}",
                    human_duration(limit)
                ),
            };
            out.push(GateResult {
                gate: "min_time_to_shortage",
                subject: name.clone(),
                passed,
                actual,
                limit: human_duration(limit),
                message,
            });
        }
    }
    if let Some(limit) = gates.max_vswitch_utilization {
        for (index, vswitch) in scenario.vswitches.iter().enumerate() {
            let usable = vswitch.usable_ips().max(1);
            let Some(peak) = gate_value(
                runs.iter().map(|r| r.vswitches[index].peak_used),
                p,
                gates.confidence,
            ) else {
                out.push(GateResult {
                    gate: "max_vswitch_utilization",
                    subject: vswitch.id.clone(),
                    passed: false,
                    actual: "unbounded".into(),
                    limit: format!("{limit:.3}"),
                    message: format!("vSwitch {}: {}", vswitch.id, unbounded(p)),
                });
                continue;
            };
            let utilization = f64::from(peak) / f64::from(usable);
            let passed = utilization <= limit;
            let message = if passed {
                format!(
                    "vSwitch {}: peak {peak} of {usable} ({:.1}%)",
                    vswitch.id,
                    utilization * 100.0
                )
            } else {
                format!(
                    "vSwitch {} ({}): peak use {peak} of {usable} addresses ({:.1}%, {}) is above {:.1}% by {} addresses{}",
                    vswitch.id,
                    scenario.zones[vswitch.zone],
                    utilization * 100.0,
                    basis(p),
                    limit * 100.0,
                    peak - (limit * f64::from(usable)).floor() as u32,
                    advice(vswitch.zone)
                )
            };
            out.push(GateResult {
                gate: "max_vswitch_utilization",
                subject: vswitch.id.clone(),
                passed,
                actual: format!("{utilization:.3}"),
                limit: format!("{limit:.3}"),
                message,
            });
        }
    }
    if let Some(limit) = gates.max_pods_pending_ip {
        for (zone, name) in scenario.zones.iter().enumerate() {
            let Some(peak) = gate_value(
                runs.iter().map(|r| r.zones[zone].peak_pending_ip),
                p,
                gates.confidence,
            ) else {
                out.push(GateResult {
                    gate: "max_pods_pending_ip",
                    subject: name.clone(),
                    passed: false,
                    actual: "unbounded".into(),
                    limit: limit.to_string(),
                    message: format!("zone {name}: {}", unbounded(p)),
                });
                continue;
            };
            let passed = peak <= limit;
            let message = if passed {
                format!("zone {name}: at most {peak} pods waiting for an address")
            } else {
                format!(
                    "zone {name}: {peak} pods waited for an address at once ({}), {} more than the {limit} allowed{}",
                    basis(p),
                    peak - limit,
                    advice(zone)
                )
            };
            out.push(GateResult {
                gate: "max_pods_pending_ip",
                subject: name.clone(),
                passed,
                actual: peak.to_string(),
                limit: limit.to_string(),
                message,
            });
        }
    }
    out
}

/// A recommendation in one line.
pub fn describe(rec: &Recommendation) -> String {
    let mut out = String::new();
    let size = match rec.add_prefix_len {
        Some(prefix) => format!(
            "a /{prefix} vSwitch ({} addresses)",
            usable_addresses(prefix)
        ),
        None => format!("{} /16 vSwitches", rec.add_count),
    };
    let _ = write!(out, "add {size} in {}", rec.zone_name);
    match (rec.add_cidr, &rec.cidr_note) {
        (Some(cidr), _) => {
            let _ = write!(out, " at {cidr}");
        }
        (None, Some(note)) => {
            let _ = write!(out, " ({note})");
        }
        (None, None) => {}
    }
    if rec.late {
        let _ = write!(out, " now: the lead time is already past");
    } else {
        let _ = write!(
            out,
            " by {} into the scenario (when the zone is {:.0}% used)",
            human_duration(rec.expand_by_ms),
            rec.trigger_used_fraction * 100.0
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    // Usable = 2^(32 - mask) - 4: a gap of 252 fits a /24 exactly, 253 needs a /23 (508).
    #[test]
    fn the_smallest_vswitch_that_covers_the_gap() {
        assert_eq!(prefix_for(1), (Some(29), 1));
        assert_eq!(prefix_for(4), (Some(29), 1));
        assert_eq!(prefix_for(5), (Some(28), 1));
        assert_eq!(prefix_for(252), (Some(24), 1));
        assert_eq!(prefix_for(253), (Some(23), 1));
        assert_eq!(prefix_for(65_532), (Some(16), 1));
        assert_eq!(prefix_for(65_533), (None, 2));
    }

    #[test]
    fn free_blocks_are_the_lowest_aligned_ones() {
        let net = |s: &str| s.parse::<Ipv4Net>().unwrap();
        let vpc = [net("10.0.0.0/16")];
        // 10.0.0.0/24 is taken: the first free /24 is 10.0.1.0, the first free /23 10.0.2.0.
        let taken = [net("10.0.0.0/24")];
        assert_eq!(free_block(&vpc, &taken, 24), Some(net("10.0.1.0/24")));
        assert_eq!(free_block(&vpc, &taken, 23), Some(net("10.0.2.0/23")));
        // Nothing free of a /16 inside a /16 that holds a vSwitch; a secondary block helps.
        assert_eq!(free_block(&vpc, &taken, 16), None);
        let vpc2 = [net("10.0.0.0/16"), net("172.16.0.0/12")];
        assert_eq!(free_block(&vpc2, &taken, 16), Some(net("172.16.0.0/16")));
        // A block between two taken ones.
        let taken = [net("10.0.0.0/24"), net("10.0.2.0/24")];
        assert_eq!(free_block(&vpc, &taken, 24), Some(net("10.0.1.0/24")));
        assert_eq!(free_block(&vpc, &taken, 22), Some(net("10.0.4.0/22")));
    }
}
