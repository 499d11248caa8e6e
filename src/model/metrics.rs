//! What a run measures: counters kept up to date by the handlers, peaks and first times kept
//! exactly as they happen, and a time series sampled at the scenario's interval (never logged
//! per event, so memory grows with samples, not with events).

use super::terway::VSwitch;
use super::{Event, World};
use crate::scenario::{Millis, Scenario};

/// Why a zone was found short of addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ShortageCause {
    /// `AssignPrivateIpAddresses` failed with `InvalidVSwitchId.IpNotEnough`.
    VSwitchExhausted,
    /// A new ENI could not be created: no configured vSwitch had addresses (or all were
    /// blocked in the daemon's cache).
    NoVSwitch,
    /// The node's ENIs refused the request while inhibited after an exhaustion error.
    EniInhibited,
}

/// ECS API calls made in one run, by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ApiCalls {
    /// `CreateNetworkInterface` calls that succeeded.
    pub create_eni: u64,
    /// `AssignPrivateIpAddresses` calls that succeeded.
    pub assign_ips: u64,
    /// `UnassignPrivateIpAddresses` calls.
    pub unassign_ips: u64,
    /// `DeleteNetworkInterface` calls.
    pub delete_eni: u64,
    /// Create or assign calls refused with `InvalidVSwitchId.IpNotEnough`.
    pub refused_ip_not_enough: u64,
}

/// A vSwitch over one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VSwitchOutcome {
    /// Most addresses the cluster held at once.
    pub peak_used: u32,
    /// Most /28 prefixes taken from its reserved blocks at once.
    pub peak_prefixes_used: u32,
    /// When it first had no free address.
    pub full_at_ms: Option<Millis>,
}

/// A zone over one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneOutcome {
    /// Most addresses the cluster held at once in the zone's vSwitches.
    pub peak_used: u32,
    /// When a pod's address request first failed for lack of addresses in the zone.
    pub first_shortage_ms: Option<Millis>,
    /// What the first shortage was.
    pub first_shortage_cause: Option<ShortageCause>,
    /// Most pods waiting for an address at once in the zone.
    pub peak_pending_ip: u32,
    /// Most of (addresses held + pods waiting for one) at once: what the zone would have held
    /// with unlimited addresses.
    pub peak_demand: u32,
    /// When a pod's request first failed for lack of addresses while its node could still
    /// reach free ones (Terway's binding of ENIs to vSwitches, its cache, batching).
    pub first_stranded_ms: Option<Millis>,
    /// How many pod requests failed that way.
    pub stranded_failures: u32,
}

/// The sampled time series of one run. Per-vSwitch and per-zone series are flattened sample
/// by sample: entry `[sample * count + index]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Samples {
    /// Sample times.
    pub times_ms: Vec<Millis>,
    /// Addresses the cluster holds per vSwitch.
    pub vswitch_used: Vec<u32>,
    /// Of those, idle in node pools.
    pub vswitch_idle: Vec<u32>,
    /// Idle addresses per zone.
    pub zone_idle: Vec<u32>,
    /// Pods waiting for an address per zone.
    pub zone_pending_ip: Vec<u32>,
    /// Ready nodes.
    pub nodes: Vec<u32>,
    /// Pods with an address.
    pub pods_running: Vec<u32>,
    /// Pods waiting for an address (their CNI ADD failed or stalled for lack of one).
    pub pods_pending_ip: Vec<u32>,
    /// Pods no node can take.
    pub pods_unschedulable: Vec<u32>,
}

/// How long pods of one zone waited for an address over a run, as counts per bucket of
/// [`bucket_of`] (milliseconds). A pod still waiting at the horizon, or deleted while it waited,
/// never got one: its wait is *censored*, known only to be at least what was observed, and is
/// counted apart at that value so that a lasting shortage shows in the waits.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WaitHistograms {
    /// Pods that got an address: from their first CNI ADD to the address.
    pub served: Vec<u64>,
    /// Pods that never got one: from their first CNI ADD to the horizon or their deletion.
    pub censored: Vec<u64>,
}

fn count_in(histogram: &mut Vec<u64>, waited_ms: Millis) {
    let bucket = bucket_of(waited_ms);
    if histogram.len() <= bucket {
        histogram.resize(bucket + 1, 0);
    }
    histogram[bucket] += 1;
}

/// Buckets of a log-linear histogram: exact below 128, then 64 per power of two (<1.6% wide).
const LINEAR_BUCKETS: u64 = 128;
const SUB_BUCKETS: u64 = 64;

/// Maps a value to its histogram bucket.
pub fn bucket_of(value: u64) -> usize {
    if value < LINEAR_BUCKETS {
        return value as usize;
    }
    let exponent = 63 - u64::from(value.leading_zeros());
    let sub = (value >> (exponent - 6)) & (SUB_BUCKETS - 1);
    (LINEAR_BUCKETS + (exponent - 7) * SUB_BUCKETS + sub) as usize
}

/// The smallest value in a bucket.
pub fn bucket_floor(bucket: usize) -> u64 {
    let bucket = bucket as u64;
    if bucket < LINEAR_BUCKETS {
        return bucket;
    }
    let exponent = (bucket - LINEAR_BUCKETS) / SUB_BUCKETS + 7;
    let sub = (bucket - LINEAR_BUCKETS) % SUB_BUCKETS;
    (SUB_BUCKETS + sub) << (exponent - 6)
}

/// Per-zone counters, indexed by zone (see [`Metrics::zone_counters`]).
pub(super) struct ZoneCounters<'a> {
    pub used: &'a [u32],
    pub idle: &'a [u32],
    pub pending: &'a [u32],
    pub covered: &'a [u32],
    pub pending_total: u32,
}

pub(super) struct Metrics {
    pub run_index: u32,
    sample_interval_ms: Millis,
    zone_of: Vec<usize>,
    vswitch_peak: Vec<u32>,
    /// Per vSwitch, the most reserved-block prefixes taken at once.
    pub vswitch_peak_prefixes: Vec<u32>,
    vswitch_full_at: Vec<Option<Millis>>,
    zone_used: Vec<u32>,
    zone_idle: Vec<u32>,
    zone_pending: Vec<u32>,
    /// Of the waiting pods, those a call in flight will serve (their address is in `zone_used`).
    zone_covered: Vec<u32>,
    zones: Vec<ZoneOutcome>,
    pub nodes_ready: u32,
    pub pods_running: u32,
    pub pods_unschedulable: u32,
    pub api_calls: ApiCalls,
    pods_pending_ip: u32,
    max_pods_pending_ip: u32,
    /// The time pods waited for an address, per zone.
    zone_ip_waits: Vec<WaitHistograms>,
    samples: Samples,
}

impl Metrics {
    pub fn new(scenario: &Scenario) -> Self {
        let (vswitches, zones) = (scenario.vswitches.len(), scenario.zones.len());
        let zone = ZoneOutcome {
            peak_used: 0,
            first_shortage_ms: None,
            first_shortage_cause: None,
            peak_pending_ip: 0,
            peak_demand: 0,
            first_stranded_ms: None,
            stranded_failures: 0,
        };
        Metrics {
            run_index: 0,
            sample_interval_ms: scenario.sample_interval_ms,
            zone_of: scenario.vswitches.iter().map(|v| v.zone).collect(),
            vswitch_peak: vec![0; vswitches],
            vswitch_peak_prefixes: vec![0; vswitches],
            vswitch_full_at: vec![None; vswitches],
            zone_used: vec![0; zones],
            zone_idle: vec![0; zones],
            zone_pending: vec![0; zones],
            zone_covered: vec![0; zones],
            zones: vec![zone; zones],
            nodes_ready: 0,
            pods_running: 0,
            pods_unschedulable: 0,
            api_calls: ApiCalls::default(),
            pods_pending_ip: 0,
            max_pods_pending_ip: 0,
            zone_ip_waits: vec![WaitHistograms::default(); zones],
            samples: Samples::default(),
        }
    }

    pub fn last_sample_ms(&self) -> Option<Millis> {
        self.samples.times_ms.last().copied()
    }

    /// A pod of the zone got its address after waiting `waited_ms`.
    pub fn record_ip_wait(&mut self, zone: usize, waited_ms: Millis) {
        count_in(&mut self.zone_ip_waits[zone].served, waited_ms);
    }

    /// A pod of the zone stopped waiting without an address (deleted, or the run ended) after
    /// `waited_ms`.
    pub fn record_censored_wait(&mut self, zone: usize, waited_ms: Millis) {
        count_in(&mut self.zone_ip_waits[zone].censored, waited_ms);
    }

    pub fn pending_ip_changed(&mut self, zone: usize, delta: i32) {
        self.zone_pending[zone] = self.zone_pending[zone].strict_add_signed(delta);
        self.pods_pending_ip = self.pods_pending_ip.strict_add_signed(delta);
        self.max_pods_pending_ip = self.max_pods_pending_ip.max(self.pods_pending_ip);
        let outcome = &mut self.zones[zone];
        outcome.peak_pending_ip = outcome.peak_pending_ip.max(self.zone_pending[zone]);
        self.update_demand(zone);
    }

    /// `failures` calls of waiting pods on one node failed for `cause`: a shortage of the zone
    /// if the node can reach no free address (`reachable`), else failures of Terway's own
    /// making (stranded).
    pub fn waiters_failed(
        &mut self,
        zone: usize,
        now: Millis,
        cause: ShortageCause,
        reachable: u32,
        failures: u32,
    ) {
        let outcome = &mut self.zones[zone];
        if reachable == 0 {
            if outcome.first_shortage_ms.is_none() {
                outcome.first_shortage_ms = Some(now);
                outcome.first_shortage_cause = Some(cause);
            }
        } else {
            outcome.first_stranded_ms.get_or_insert(now);
            outcome.stranded_failures += failures;
        }
    }

    pub fn covered_pending_changed(&mut self, zone: usize, delta: i64) {
        let delta = i32::try_from(delta).expect("small change");
        self.zone_covered[zone] = self.zone_covered[zone].strict_add_signed(delta);
        self.update_demand(zone);
    }

    fn update_demand(&mut self, zone: usize) {
        let waiting = self.zone_pending[zone].saturating_sub(self.zone_covered[zone]);
        let demand = self.zone_used[zone] + waiting;
        let outcome = &mut self.zones[zone];
        outcome.peak_demand = outcome.peak_demand.max(demand);
    }

    /// The per-zone counters the handlers keep, for the invariant checker to recount.
    pub fn zone_counters(&self) -> ZoneCounters<'_> {
        ZoneCounters {
            used: &self.zone_used,
            idle: &self.zone_idle,
            pending: &self.zone_pending,
            covered: &self.zone_covered,
            pending_total: self.pods_pending_ip,
        }
    }

    pub fn into_result(
        self,
        vswitches: &[VSwitch],
        events: u64,
        pods_created: u64,
        node_launch_failures: u32,
        pending_events_mean: f64,
    ) -> super::RunResult {
        debug_assert_eq!(vswitches.len(), self.vswitch_peak.len());
        super::RunResult {
            run_index: self.run_index,
            vswitches: self
                .vswitch_peak
                .iter()
                .zip(&self.vswitch_full_at)
                .zip(&self.vswitch_peak_prefixes)
                .map(
                    |((&peak_used, &full_at_ms), &peak_prefixes_used)| VSwitchOutcome {
                        peak_used,
                        peak_prefixes_used,
                        full_at_ms,
                    },
                )
                .collect(),
            zones: self.zones,
            samples: self.samples,
            max_pods_pending_ip: self.max_pods_pending_ip,
            api_calls: self.api_calls,
            zone_ip_waits: self.zone_ip_waits,
            events,
            pods_created,
            node_launch_failures,
            pending_events_mean,
        }
    }
}

impl<'s> World<'s> {
    /// ECS hands `count` addresses of the vSwitch to the cluster.
    pub(super) fn take_addresses(&mut self, vswitch: usize, count: u32) {
        let now = self.now();
        let v = &mut self.vswitches[vswitch];
        assert!(
            v.used + count <= v.usable,
            "vSwitch {vswitch} would hand out more addresses than it has"
        );
        v.used += count;
        let (used, full) = (v.used, v.used == v.usable);
        let m = &mut self.metrics;
        m.vswitch_peak[vswitch] = m.vswitch_peak[vswitch].max(used);
        if full && m.vswitch_full_at[vswitch].is_none() {
            m.vswitch_full_at[vswitch] = Some(now);
        }
        let zone = m.zone_of[vswitch];
        m.zone_used[zone] += count;
        m.zones[zone].peak_used = m.zones[zone].peak_used.max(m.zone_used[zone]);
        m.update_demand(zone);
    }

    /// The cluster gives `count` addresses back to the vSwitch.
    pub(super) fn return_addresses(&mut self, vswitch: usize, count: u32) {
        let v = &mut self.vswitches[vswitch];
        v.used = v.used.checked_sub(count).expect("returned more than taken");
        let zone = self.metrics.zone_of[vswitch];
        self.metrics.zone_used[zone] -= count;
    }

    /// Idle addresses held on the vSwitch's ENIs change by `delta`.
    pub(super) fn change_idle(&mut self, vswitch: usize, delta: i64) {
        let delta = i32::try_from(delta).expect("small idle change");
        let v = &mut self.vswitches[vswitch];
        v.idle = v.idle.strict_add_signed(delta);
        let zone = self.metrics.zone_of[vswitch];
        self.metrics.zone_idle[zone] = self.metrics.zone_idle[zone].strict_add_signed(delta);
    }

    pub(super) fn sample(&mut self) {
        let now = self.now();
        self.record_sample(now);
        let next = now + self.metrics.sample_interval_ms;
        if next <= self.scenario.horizon_ms {
            self.queue.schedule(next, Event::Sample);
        }
    }

    pub(super) fn record_sample(&mut self, now: Millis) {
        let m = &mut self.metrics;
        let s = &mut m.samples;
        s.times_ms.push(now);
        s.vswitch_used.extend(self.vswitches.iter().map(|v| v.used));
        s.vswitch_idle.extend(self.vswitches.iter().map(|v| v.idle));
        s.zone_idle.extend_from_slice(&m.zone_idle);
        s.zone_pending_ip.extend_from_slice(&m.zone_pending);
        s.nodes.push(m.nodes_ready);
        s.pods_running.push(m.pods_running);
        s.pods_pending_ip.push(m.pods_pending_ip);
        s.pods_unschedulable.push(m.pods_unschedulable);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_ordered_and_tight() {
        let mut previous = 0;
        for value in [
            0u64,
            1,
            127,
            128,
            129,
            200,
            1_000,
            120_000,
            3_600_000,
            u32::MAX as u64,
        ] {
            let bucket = bucket_of(value);
            assert!(bucket >= previous, "buckets must not go down");
            previous = bucket;
            let floor = bucket_floor(bucket);
            assert!(floor <= value, "floor {floor} above {value}");
            assert!(
                (value - floor) as f64 <= value as f64 / 64.0,
                "bucket too wide at {value}"
            );
        }
        assert_eq!(bucket_floor(bucket_of(120_000)), 119_808);
    }
}
