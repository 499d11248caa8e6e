//! The invariant checker: a slow, independent recount of the whole model state, compared with
//! what the handlers keep up to date incrementally.
//!
//! The handlers never scan (see ARCHITECTURE.md); they keep counts. The checker recomputes every
//! count from the tables, so a handler that forgets one update, or does one twice, is caught at
//! the first check after it. What it checks:
//!
//! - **No address held twice, none lost.** The model keeps counts, not addresses: on every ENI,
//!   `ips = idle + deleting + unassigning + in use`, where "in use" is recounted from the pods
//!   running or terminating on that ENI plus the StatefulSet addresses Terway holds on it; exactly
//!   one of those owns the ENI's primary address. Empty slots hold nothing.
//! - **vSwitches.** Each vSwitch's `used` equals the addresses on its ENIs (in use or being
//!   deleted), plus the addresses taken by create and assign calls in flight, plus eth0 of every
//!   live node on it; `used <= usable` (`usable` already leaves out `used_by_others`); a vSwitch
//!   not created yet holds nothing; `idle` equals the idle addresses of its ENIs. The zone totals
//!   the metrics keep agree.
//! - **Instance limits.** Slots per node equal the type's secondary ENIs, addresses per ENI (with
//!   those an assign in flight will add) stay within `ipv4_per_eni`, only enabled slots hold
//!   ENIs, and an ENI is in its node's zone.
//! - **Pods and nodes.** Every running pod holds exactly one address on an ENI of its node, and
//!   is not counted as waiting; a bound pod's node is Ready; each node's pod count, CPU and memory
//!   equal the sums over its bound pods, within its limits; queued requests name pods that wait
//!   on that node, at most once each; pool, scheduler and metric counters match a recount.
//! - **Time.** No event is pending before the current time, and time never goes backwards
//!   between events (the queue also asserts both).
//! - **Pool trim.** After a pool tick of a daemon with `max_pool_size = 0`, every ENI in use
//!   keeps no idle address but possibly its primary (which Terway never unassigns): all the
//!   others are being unassigned, or their ENI is being deleted.
//!
//! Debug and test builds check every so many events (often enough to stay within a small factor
//! of the simulation's own cost) and at the end of every run; [`World::run_checked`] (`planner
//! run --check-invariants`) checks after every event, so that the event named in a violation is
//! the one that broke the state.

use std::collections::BTreeSet;
use std::fmt;
use std::path::PathBuf;

use super::cluster::{Node, NodeState};
use super::terway::centralized::NO_SLOT;
use super::terway::podnetworking::{GC_PERIOD_MS, POD_ENI_SLOT, PodEniPhase};
use super::terway::prefix::PREFIX_SLOT;
use super::terway::{Op, PoolUsage, SlotStatus, Worker};
use super::workload::PodState;
use super::{Event, NodeId, PodId, RunResult, World};
use crate::scenario::{IpamType, Millis, PREFIX_ADDRESSES};

/// In sampled mode, a check costs about one unit per pod entry and per ENI slot, and runs once
/// the events since the last check reach this many per unit: a unit of checking costs about a
/// tenth of an event, so this keeps checking near a tenth of the run's time.
const SAMPLED_EVENTS_PER_UNIT: u64 = 1;

/// A broken model invariant: a bug in planner, never a property of the scenario.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "model invariant violated: {message}\n  scenario {}, seed {seed}, run {run_index}, at {at_ms} ms of simulated time, {when} event #{events}: {event}\n  this is a bug in planner; rerun with `planner run {} --seed {seed} --runs {} --check-invariants` (the last run is the one that fails) and report it with the scenario",
    scenario.display(),
    scenario.display(),
    run_index + 1,
    when = if *every_event { "right after" } else { "found after" }
)]
pub struct InvariantViolation {
    /// The scenario file.
    pub scenario: PathBuf,
    /// The scenario's seed.
    pub seed: u64,
    /// The run index (runs are numbered from 0).
    pub run_index: u32,
    /// Simulated time of the check.
    pub at_ms: Millis,
    /// Events handled so far (the last one is `event`).
    pub events: u64,
    /// The `Debug` form of the last event handled, or `end of run`.
    pub event: String,
    /// Whether every event was checked: then `event` is the one that broke the state.
    pub every_event: bool,
    /// What is wrong.
    pub message: String,
}

/// A node in messages: index and pool (formatted only when a check fails).
struct NodeName(usize, usize);

impl fmt::Display for NodeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "node {} (pool {})", self.0, self.1)
    }
}

/// An ENI slot of a node in messages.
struct SlotName<'a>(&'a NodeName, usize, SlotStatus);

impl fmt::Display for SlotName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} slot {} ({:?})", self.0, self.1, self.2)
    }
}

/// What a checked run verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CheckCounts {
    /// Full checks of the state.
    pub checks: u64,
    /// Pool ticks of daemons with `max_pool_size = 0` that found idle addresses to trim, each
    /// checked to leave only ENI primaries idle.
    pub zero_pool_trims: u64,
}

/// How often a run checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    /// Never (release builds without `--check-invariants`).
    Off,
    /// Every so many events, scaled to the size of the state, and at the end.
    Sampled,
    /// After every event.
    EveryEvent,
}

impl Mode {
    /// What [`World::run`] does: sampled in debug and test builds, off in release.
    pub(super) fn default_for_build() -> Self {
        if cfg!(debug_assertions) {
            Mode::Sampled
        } else {
            Mode::Off
        }
    }
}

/// The checker's state over one run.
pub(super) struct Checker {
    mode: Mode,
    last_ms: Millis,
    since_check: u64,
    /// Events handled so far, to name the one that broke an invariant.
    events: u64,
    pub(super) counts: CheckCounts,
}

macro_rules! ensure {
    ($cond:expr, $($fmt:tt)+) => {
        if !$cond {
            return Err(format!($($fmt)+));
        }
    };
}

impl Checker {
    pub(super) fn new(mode: Mode) -> Self {
        Checker {
            mode,
            last_ms: 0,
            since_check: 0,
            events: 0,
            counts: CheckCounts::default(),
        }
    }

    pub(super) fn is_off(&self) -> bool {
        self.mode == Mode::Off
    }
}

impl<'s> World<'s> {
    /// Handles one event and checks the state afterwards as the checker's mode says. `at_ms` is
    /// the event's time.
    pub(super) fn handle_checked(
        &mut self,
        event: Event,
        at_ms: Millis,
        checker: &mut Checker,
    ) -> Result<(), InvariantViolation> {
        checker.events += 1;
        if at_ms < checker.last_ms {
            return Err(self.violation(
                checker,
                format!("{event:?}"),
                format!(
                    "time went backwards: {at_ms} ms after {} ms",
                    checker.last_ms
                ),
            ));
        }
        checker.last_ms = at_ms;
        let zero_pool_tick = self.zero_pool_tick(&event);
        self.handle(event);
        if let Some((node, had_idle)) = zero_pool_tick {
            if let Err(message) = self.check_zero_pool_trim(node) {
                return Err(self.violation(checker, format!("{event:?}"), message));
            }
            checker.counts.zero_pool_trims += u64::from(had_idle);
        }
        checker.since_check += 1;
        let due = match checker.mode {
            Mode::Off => false,
            Mode::EveryEvent => true,
            Mode::Sampled => {
                checker.since_check >= self.check_cost() * SAMPLED_EVENTS_PER_UNIT
                    || matches!(event, Event::Action(_))
            }
        };
        if due {
            self.check_now(checker, &format!("{event:?}"))?;
        }
        Ok(())
    }

    /// The final check, once the loop has reached the horizon.
    pub(super) fn check_at_end(&self, checker: &mut Checker) -> Result<(), InvariantViolation> {
        if checker.is_off() {
            return Ok(());
        }
        self.check_now(checker, "end of run")
    }

    fn check_now(&self, checker: &mut Checker, event: &str) -> Result<(), InvariantViolation> {
        checker.since_check = 0;
        checker.counts.checks += 1;
        self.check_invariants()
            .map_err(|message| self.violation(checker, event.to_string(), message))
    }

    fn violation(&self, checker: &Checker, event: String, message: String) -> InvariantViolation {
        InvariantViolation {
            scenario: self.scenario.source.clone(),
            seed: self.scenario.seed,
            run_index: self.metrics.run_index,
            at_ms: self.now(),
            events: checker.events,
            event,
            every_event: checker.mode == Mode::EveryEvent,
            message,
        }
    }

    /// About how much work a full check is.
    fn check_cost(&self) -> u64 {
        (self.pods.len() + self.nodes.len() * 4 + self.vswitches.len()) as u64
    }

    /// Runs to the horizon checking the invariants after every event; the first violation
    /// stops the run. Gives the same result as [`World::run`].
    pub fn run_checked(
        self,
        progress: &mut dyn FnMut(Millis),
    ) -> Result<(RunResult, CheckCounts), InvariantViolation> {
        self.run_in_mode(progress, Mode::EveryEvent)
    }

    /// The node of a `PoolSync` that will act (its token is current) on a daemon that keeps no
    /// pool, and whether any of its ENIs holds an idle address other than its primary.
    fn zero_pool_tick(&self, event: &Event) -> Option<(NodeId, bool)> {
        let Event::PoolSync(node, token) = *event else {
            return None;
        };
        let id = self.live_node(node)?;
        let n = &self.nodes[id.0 as usize];
        if n.daemon.sync_token != token || n.daemon.max_pool != 0 {
            return None;
        }
        let had_idle = n.slots.iter().any(|slot| {
            slot.status == SlotStatus::InUse && slot.idle > u32::from(slot.primary_idle)
        });
        Some((id, had_idle))
    }

    fn check_zero_pool_trim(&self, id: NodeId) -> Result<(), String> {
        let n = &self.nodes[id.0 as usize];
        for (index, slot) in n.slots.iter().enumerate() {
            if slot.status == SlotStatus::InUse {
                ensure!(
                    slot.idle == u32::from(slot.primary_idle),
                    "node {} slot {index}: {} idle addresses after a pool tick with max_pool_size = 0 (primary idle: {}); only the primary may stay",
                    id.0,
                    slot.idle,
                    slot.primary_idle
                );
            }
        }
        Ok(())
    }

    /// Centralized IPAM on one node: one allocating call per pass, no create while an ENI
    /// attaches, no call on a vSwitch the cluster has blocked, and a pass always to come.
    fn check_controller_node(&self, node: &Node, name: &dyn fmt::Display) -> Result<(), String> {
        let c = &node.controller;
        let mut pass_calls = 0;
        let mut attaching = 0;
        for (index, slot) in node.slots.iter().enumerate() {
            match slot.op {
                Some(Op::Assign { .. } | Op::AssignRefused | Op::CreateRefused { .. }) => {
                    pass_calls += 1;
                    ensure!(
                        c.call.is_some_and(|call| call.slot as usize == index),
                        "{name}: slot {index} has call {:?} outside the pass's call {:?}",
                        slot.op,
                        c.call
                    );
                }
                Some(Op::Create { .. }) => attaching += 1,
                Some(Op::CreateBackoff { .. } | Op::CreateNoVSwitch) => {
                    return Err(format!(
                        "{name}: slot {index} has the daemon's call {:?} under centralized IPAM",
                        slot.op
                    ));
                }
                Some(Op::DeleteEni) | None => {}
            }
            ensure!(
                slot.queue.is_empty(),
                "{name}: slot {index} queues requests under centralized IPAM"
            );
        }
        ensure!(
            pass_calls <= 1 && attaching <= 1,
            "{name}: {pass_calls} allocating calls out and {attaching} ENIs creating at once"
        );
        if let Some(call) = c.call {
            if let Some((from, until)) = self.controller.blocks[call.vswitch] {
                ensure!(
                    // A call made in the same millisecond as the block may have come first.
                    !(from < call.started_ms && call.started_ms < until),
                    "{name}: called ECS at {} ms on vSwitch {}, blocked cluster-wide from {from} to {until} ms",
                    call.started_ms,
                    self.scenario.vswitches[call.vswitch].id
                );
            }
        } else if node.is_ready() {
            ensure!(
                c.next_pass_ms.is_some(),
                "{name}: no controller pass is queued"
            );
        }
        Ok(())
    }

    /// A pod with an ENI of its own: waiting in its node's queue with no ENI, or with one ENI
    /// (its call out, or attached); a pod with an address holds an attached ENI.
    fn check_own_eni_pod(&self, id: PodId, name: &str) -> Result<(), String> {
        let pod = &self.pods[id.0 as usize];
        let node = &self.nodes[pod.node.0 as usize];
        let waiting = node.controller.eni_waiting.contains(&(pod.seq, id));
        let eni = self.pod_enis.by_pod.get(&id);
        ensure!(
            waiting != eni.is_some(),
            "{name}: waiting for an ENI: {waiting}; has one: {eni:?}"
        );
        if let Some(eni) = eni {
            ensure!(
                eni.node == pod.node,
                "{name}: its ENI is on node {}, it is on node {}",
                eni.node.0,
                pod.node.0
            );
        }
        let attached = eni.is_some_and(|eni| eni.phase == PodEniPhase::Attached);
        match pod.state {
            PodState::Running | PodState::Terminating => ensure!(
                attached && pod.slot == POD_ENI_SLOT && !pod.pending_ip,
                "{name}: runs without an attached ENI of its own (slot {}, ENI {eni:?}, pending {})",
                pod.slot,
                pod.pending_ip
            ),
            _ => ensure!(
                (pod.slot == POD_ENI_SLOT) == attached
                    && (pod.slot == POD_ENI_SLOT || pod.slot == NO_SLOT),
                "{name}: waits on slot {} with ENI {eni:?}",
                pod.slot
            ),
        }
        Ok(())
    }

    /// The pod controller's ENIs: each node's count matches its pods' ENIs and stays within
    /// its member-ENI limit (exclusive nodes: its secondary slots), as do the bound pods that
    /// request `aliyun/member-eni` (which the scheduler counts), each waiting queue holds
    /// exactly the pods waiting on that node, no create went to a vSwitch the cluster had
    /// blocked, a trunk node's trunk ENI is on a slot being made or in use, and the addresses
    /// of pods' ENIs and of fixed addresses held count as used.
    fn check_pod_enis(
        &self,
        node_waiting: &[u32],
        node_member_pods: &[u32],
        used: &mut [u64],
    ) -> Result<(), String> {
        let mut node_enis = vec![0u32; self.nodes.len()];
        for (pod, eni) in &self.pod_enis.by_pod {
            let p = &self.pods[pod.0 as usize];
            ensure!(
                p.state != PodState::Gone && p.state != PodState::Unscheduled,
                "pod {}: has an ENI of its own but is {:?}",
                pod.0,
                p.state
            );
            node_enis[eni.node.0 as usize] += 1;
            if eni.phase != PodEniPhase::Refused {
                used[eni.vswitch] += 1;
            }
            if matches!(eni.phase, PodEniPhase::Creating | PodEniPhase::Refused)
                && let Some((from, until)) = self.controller.blocks[eni.vswitch]
            {
                ensure!(
                    !(from < eni.started_ms && eni.started_ms < until),
                    "pod {}: created an ENI at {} ms on vSwitch {}, blocked cluster-wide from {from} to {until} ms",
                    pod.0,
                    eni.started_ms,
                    self.scenario.vswitches[eni.vswitch].id
                );
            }
        }
        for held in self.pod_enis.held.values() {
            used[held.vswitch] += 1;
            ensure!(
                held.last_seen_ms + held.release_after_ms + GC_PERIOD_MS >= self.now(),
                "a fixed address on {} outlived release_after by a GC period",
                self.scenario.vswitches[held.vswitch].id
            );
        }
        let pod_enis = &self.scenario.pod_enis;
        for (index, node) in self.nodes.iter().enumerate() {
            let name = NodeName(index, node.pool);
            let c = &node.controller;
            if node.state == NodeState::Gone {
                ensure!(
                    c.eni_waiting.is_empty() && c.pod_enis == 0,
                    "{name}: gone but still has pods' ENIs"
                );
                continue;
            }
            ensure!(
                c.pod_enis == node_enis[index] && c.eni_waiting.len() as u32 == node_waiting[index],
                "{name}: counts {} pods' ENIs and {} waiting; its pods have {} and {} wait",
                c.pod_enis,
                c.eni_waiting.len(),
                node_enis[index],
                node_waiting[index]
            );
            ensure!(
                c.member_pods == node_member_pods[index] && c.member_pods <= c.member_limit,
                "{name}: counts {} pods on aliyun/member-eni, {} are bound, it offers {}",
                c.member_pods,
                node_member_pods[index],
                c.member_limit
            );
            let limit = if pod_enis.is_exclusive(node.pool) {
                node.slots.len() as u32
            } else {
                pod_enis.member_limit(node.pool)
            };
            ensure!(
                c.pod_enis <= limit,
                "{name}: {} pods' ENIs, its limit is {limit}",
                c.pod_enis
            );
            if let Some(slot) = c.trunk_slot {
                ensure!(
                    pod_enis.member_limit(node.pool) > 0
                        && node.slots.get(slot as usize).is_some_and(|s| {
                            matches!(s.status, SlotStatus::Creating | SlotStatus::InUse)
                        }),
                    "{name}: trunk ENI on slot {slot}, which is not being made or in use"
                );
            }
        }
        Ok(())
    }

    /// Recounts the whole state and compares it with the counts the handlers keep. Iterates
    /// every node, slot and pod: for checking only, never on the hot path.
    pub fn check_invariants(&self) -> Result<(), String> {
        let scenario = self.scenario;
        let now = self.now();
        if let Some(next) = self.queue.peek_time() {
            ensure!(next >= now, "an event is pending at {next} ms, before now");
        }
        let zones = scenario.zones.len();
        let vswitch_count = self.vswitches.len();

        // Pods: what each node and ENI should hold.
        let mut node_load = vec![(0u32, 0u64, 0u64); self.nodes.len()];
        // Per ENI slot, flattened: node `i`'s slots start at `slot_base[i]`.
        let mut slot_base = Vec::with_capacity(self.nodes.len());
        let mut slots = 0;
        for node in &self.nodes {
            slot_base.push(slots);
            slots += node.slots.len();
        }
        let mut slot_held = vec![0u32; slots];
        let mut node_unbound = vec![0u32; self.nodes.len()];
        let mut node_eni_waiting = vec![0u32; self.nodes.len()];
        let mut node_member_pods = vec![0u32; self.nodes.len()];
        let mut node_prefix_pods = vec![0u32; self.nodes.len()];
        // Per vSwitch, the prefixes nodes hold or an attaching ENI brings.
        let mut held_prefixes: Vec<Vec<u32>> = vec![Vec::new(); self.vswitches.len()];
        let mut slot_primary = vec![0u32; slots];
        let mut zone_pods = vec![vec![0u32; zones]; self.workloads.len()];
        let mut zone_pending = vec![0u32; zones];
        let (mut running, mut unscheduled, mut pending) = (0u32, 0u32, 0u32);
        for (index, pod) in self.pods.iter().enumerate() {
            let name = || format!("pod {index} (workload {}, {:?})", pod.workload, pod.state);
            match pod.state {
                PodState::Gone => continue,
                PodState::Unscheduled => {
                    ensure!(
                        !pod.pending_ip,
                        "{}: waits for an address but has no node",
                        name()
                    );
                    unscheduled += 1;
                    continue;
                }
                PodState::Attaching
                | PodState::Backoff
                | PodState::Running
                | PodState::Terminating => {}
            }
            let node_index = pod.node.0 as usize;
            let Some(node) = self.nodes.get(node_index) else {
                return Err(format!(
                    "{}: bound to node {node_index}, which does not exist",
                    name()
                ));
            };
            ensure!(
                node.state == NodeState::Ready,
                "{}: bound to node {node_index}, which is {:?}",
                name(),
                node.state
            );
            let spec = &scenario.workloads[pod.workload as usize];
            let load = &mut node_load[node_index];
            load.0 += 1;
            load.1 += u64::from(spec.cpu_millis);
            load.2 += spec.memory_mib;
            zone_pods[pod.workload as usize][node.zone] += 1;
            if pod.pending_ip {
                zone_pending[node.zone] += 1;
                pending += 1;
            }
            node_member_pods[node_index] +=
                u32::from(self.requests_member_eni(pod.workload as usize));
            if node.ipam == IpamType::Centralized && self.uses_own_eni(PodId(index as u32)) {
                self.check_own_eni_pod(PodId(index as u32), &name())?;
                node_eni_waiting[node_index] +=
                    u32::from(!self.pod_enis.by_pod.contains_key(&PodId(index as u32)));
                running += u32::from(pod.state == PodState::Running);
                continue;
            }
            let centralized = node.ipam == IpamType::Centralized;
            let bound_waiting = centralized
                && matches!(pod.state, PodState::Attaching | PodState::Backoff)
                && pod.slot != NO_SLOT;
            if centralized && matches!(pod.state, PodState::Attaching | PodState::Backoff) {
                node_unbound[node_index] += u32::from(pod.slot == NO_SLOT);
                let listed = node
                    .controller
                    .unbound
                    .contains(&(pod.seq, PodId(index as u32)));
                ensure!(
                    listed == (pod.slot == NO_SLOT),
                    "{}: on slot {} of node {node_index}; in the controller's waiting list: {listed}",
                    name(),
                    pod.slot
                );
            }
            if bound_waiting {
                let slot = pod.slot as usize;
                ensure!(
                    node.slots
                        .get(slot)
                        .is_some_and(|s| s.status == SlotStatus::InUse),
                    "{}: bound by the controller to slot {slot} of node {node_index}, which is not in use",
                    name()
                );
                slot_held[slot_base[node_index] + slot] += 1;
                slot_primary[slot_base[node_index] + slot] += u32::from(pod.holds_primary);
            }
            if matches!(pod.state, PodState::Running | PodState::Terminating)
                && pod.slot == PREFIX_SLOT
            {
                ensure!(
                    node.prefix_count > 0 && !pod.pending_ip,
                    "{}: holds a prefix address on node {node_index}, which is not in prefix mode (or waits too)",
                    name()
                );
                node_prefix_pods[node_index] += 1;
                running += u32::from(pod.state == PodState::Running);
                continue;
            }
            if matches!(pod.state, PodState::Running | PodState::Terminating) {
                ensure!(
                    !pod.pending_ip,
                    "{}: has an address but counts as waiting for one",
                    name()
                );
                let slot = pod.slot as usize;
                let Some(s) = node.slots.get(slot) else {
                    return Err(format!(
                        "{}: holds an address on slot {slot} of node {node_index}, which has {} slots",
                        name(),
                        node.slots.len()
                    ));
                };
                ensure!(
                    s.status == SlotStatus::InUse,
                    "{}: holds an address on slot {slot} of node {node_index}, which is {:?}",
                    name(),
                    s.status
                );
                slot_held[slot_base[node_index] + slot] += 1;
                slot_primary[slot_base[node_index] + slot] += u32::from(pod.holds_primary);
            }
            running += u32::from(pod.state == PodState::Running);
        }
        for &id in &self.free_pods {
            let pod = self.pods.get(id.0 as usize);
            ensure!(
                pod.is_some_and(|p| p.state == PodState::Gone),
                "pod {} is on the free list but not gone",
                id.0
            );
        }

        // Nodes, their ENIs and what they take from the vSwitches.
        let mut used = vec![0u64; vswitch_count];
        self.check_pod_enis(&node_eni_waiting, &node_member_pods, &mut used)?;
        let mut idle = vec![0u64; vswitch_count];
        let mut zone_covered = vec![0u32; zones];
        let pool_count = self.pools.len();
        let mut pool_nodes = vec![0u32; pool_count];
        let mut pool_booting = vec![0u32; pool_count];
        let mut pool_zone_nodes: Vec<Vec<u32>> = self
            .pools
            .iter()
            .map(|p| vec![0; p.zone_nodes.len()])
            .collect();
        let mut pool_ready: Vec<Vec<u32>> = pool_zone_nodes.clone();
        let mut ready = 0u32;
        let pool_limits: Vec<(u32, u32)> = scenario
            .nodepools
            .iter()
            .map(|spec| {
                let instance = &scenario.instance_types[&spec.instance_type];
                (instance.secondary_enis(), instance.ipv4_per_eni)
            })
            .collect();
        let mut queued_pods: BTreeSet<u32> = BTreeSet::new();
        for (node_index, node) in self.nodes.iter().enumerate() {
            let name = NodeName(node_index, node.pool);
            if node.state == NodeState::Gone {
                ensure!(
                    node_load[node_index].0 == 0,
                    "{name}: gone but pods are bound to it"
                );
                ensure!(
                    node.slots.is_empty() && node.sticky.is_empty(),
                    "{name}: gone but still holds ENIs or held addresses"
                );
                continue;
            }
            ensure!(
                node.pool < pool_count && node.zone_position < pool_zone_nodes[node.pool].len(),
                "{name}: pool or zone position out of range"
            );
            let pool_spec = &scenario.nodepools[node.pool];
            ensure!(
                pool_spec.zones[node.zone_position] == node.zone,
                "{name}: zone {} is not its pool's zone at position {}",
                node.zone,
                node.zone_position
            );
            pool_nodes[node.pool] += 1;
            pool_zone_nodes[node.pool][node.zone_position] += 1;
            match node.state {
                NodeState::Booting => pool_booting[node.pool] += 1,
                NodeState::Ready => {
                    ready += 1;
                    pool_ready[node.pool][node.zone_position] += 1;
                    let set = &self.pools[node.pool].schedulable[node.zone_position];
                    ensure!(
                        set.contains(node.load, NodeId(node_index as u32)),
                        "{name}: Ready but not in its pool's scheduling set under load {}",
                        node.load
                    );
                }
                NodeState::Gone => unreachable!("skipped above"),
            }
            ensure!(
                node.primary_vswitch < vswitch_count,
                "{name}: eth0 vSwitch out of range"
            );
            ensure!(
                self.vswitches[node.primary_vswitch].zone == node.zone,
                "{name}: eth0's vSwitch is in another zone"
            );
            used[node.primary_vswitch] += 1;
            let (secondary_enis, ipv4_per_eni) = pool_limits[node.pool];
            ensure!(
                node.slots.len() == secondary_enis as usize,
                "{name}: {} ENI slots, the instance type has {secondary_enis} secondary ENIs",
                node.slots.len()
            );
            ensure!(
                node.ipv4_per_eni == ipv4_per_eni,
                "{name}: {} addresses per ENI, the instance type allows {ipv4_per_eni}",
                node.ipv4_per_eni
            );
            let (pods, cpu, memory) = node_load[node_index];
            ensure!(
                (node.pods, node.cpu_used, node.memory_used) == (pods, cpu, memory),
                "{name}: counts {} pods, {} mCPU, {} MiB; its bound pods add up to {pods}, {cpu}, {memory}",
                node.pods,
                node.cpu_used,
                node.memory_used
            );
            ensure!(
                node.pods <= node.max_pods
                    && node.cpu_used <= node.cpu_millis
                    && node.memory_used <= node.memory_mib,
                "{name}: over its limits ({} of {} pods, {} of {} mCPU, {} of {} MiB)",
                node.pods,
                node.max_pods,
                node.cpu_used,
                node.cpu_millis,
                node.memory_used,
                node.memory_mib
            );
            let daemon = &node.daemon;
            ensure!(
                daemon.max_enis as usize <= node.slots.len() && daemon.min_pool <= daemon.max_pool,
                "{name}: daemon limits out of range (max_enis {}, pool {}..{})",
                daemon.max_enis,
                daemon.min_pool,
                daemon.max_pool
            );
            if node.prefix_count > 0 || !node.prefixes.is_empty() {
                ensure!(
                    node.prefix_pods == node_prefix_pods[node_index]
                        && node.prefix_pods <= node.prefixes.len() as u32 * PREFIX_ADDRESSES,
                    "{name}: counts {} pods on its prefixes, {} do, {} prefixes hold {}",
                    node.prefix_pods,
                    node_prefix_pods[node_index],
                    node.prefixes.len(),
                    node.prefixes.len() as u32 * PREFIX_ADDRESSES
                );
                let coming = node.controller.attaching_prefixes.len();
                ensure!(
                    node.prefixes.len() + coming <= node.prefix_count as usize,
                    "{name}: {} prefixes held and {coming} coming, its count is {}",
                    node.prefixes.len(),
                    node.prefix_count
                );
                for &(slot, address) in &node.prefixes {
                    let Some(s) = node.slots.get(slot as usize) else {
                        return Err(format!("{name}: a prefix on missing slot {slot}"));
                    };
                    ensure!(
                        s.status == SlotStatus::InUse,
                        "{name}: a prefix on slot {slot}, which is {:?}",
                        s.status
                    );
                    held_prefixes[s.vswitch].push(address);
                }
                if coming > 0 {
                    let Some(vswitch) = node.slots.iter().find_map(|s| match s.op {
                        Some(Op::Create { vswitch, .. }) => Some(vswitch),
                        _ => None,
                    }) else {
                        return Err(format!("{name}: {coming} prefixes coming, no ENI creating"));
                    };
                    held_prefixes[vswitch].extend(&node.controller.attaching_prefixes);
                }
            }
            if node.ipam == IpamType::Centralized {
                self.check_controller_node(node, &name)?;
                ensure!(
                    node.controller.unbound.len() == node_unbound[node_index] as usize,
                    "{name}: the controller lists {} pods waiting for an address; {} do",
                    node.controller.unbound.len(),
                    node_unbound[node_index]
                );
                let released = node
                    .controller
                    .released_unreported
                    .iter()
                    .chain(&node.controller.released_reported);
                for &(slot, holds_primary) in released {
                    let slot = slot as usize;
                    ensure!(
                        node.slots
                            .get(slot)
                            .is_some_and(|s| s.status == SlotStatus::InUse),
                        "{name}: a released address waits on slot {slot}, which is not in use"
                    );
                    slot_held[slot_base[node_index] + slot] += 1;
                    slot_primary[slot_base[node_index] + slot] += u32::from(holds_primary);
                }
            }
            // StatefulSet addresses Terway holds on this node.
            let mut held_names = BTreeSet::new();
            for held in &node.sticky {
                let slot = held.slot as usize;
                ensure!(
                    held_names.insert((held.workload, held.ordinal)),
                    "{name}: holds two addresses for workload {} ordinal {}",
                    held.workload,
                    held.ordinal
                );
                let Some(s) = node.slots.get(slot) else {
                    return Err(format!("{name}: holds an address on missing slot {slot}"));
                };
                ensure!(
                    s.status == SlotStatus::InUse,
                    "{name}: holds a StatefulSet address on slot {slot}, which is {:?}",
                    s.status
                );
                slot_held[slot_base[node_index] + slot] += 1;
                slot_primary[slot_base[node_index] + slot] += u32::from(held.holds_primary);
            }
            let (mut attached, mut enabled) = (0u32, 0u32);
            for (slot_index, slot) in node.slots.iter().enumerate() {
                let name = SlotName(&name, slot_index, slot.status);
                let held = slot_held[slot_base[node_index] + slot_index];
                enabled += u32::from(slot.enabled);
                ensure!(
                    (slot.worker == Worker::Calling) == slot.op.is_some(),
                    "{name}: worker {:?} with call {:?}",
                    slot.worker,
                    slot.op
                );
                match slot.status {
                    SlotStatus::Init | SlotStatus::Creating => {
                        ensure!(
                            slot.ips == 0
                                && slot.idle == 0
                                && slot.deleting == 0
                                && slot.unassigning == 0
                                && !slot.primary_idle
                                && held == 0,
                            "{name}: no ENI yet but {} addresses ({} idle, {} deleting, {} unassigning, {held} in use)",
                            slot.ips,
                            slot.idle,
                            slot.deleting,
                            slot.unassigning
                        );
                        let creating = matches!(
                            slot.op,
                            Some(
                                Op::Create { .. }
                                    | Op::CreateRefused { .. }
                                    | Op::CreateBackoff { .. }
                                    | Op::CreateNoVSwitch
                            )
                        );
                        ensure!(
                            creating == (slot.status == SlotStatus::Creating),
                            "{name}: call {:?}",
                            slot.op
                        );
                    }
                    SlotStatus::InUse | SlotStatus::Deleting => {
                        attached += 1;
                        ensure!(slot.enabled, "{name}: holds an ENI but is not enabled");
                        let v = slot.vswitch;
                        ensure!(v < vswitch_count, "{name}: vSwitch {v} out of range");
                        ensure!(
                            self.vswitches[v].exists,
                            "{name}: ENI on vSwitch {}, which does not exist yet",
                            scenario.vswitches[v].id
                        );
                        ensure!(
                            self.vswitches[v].zone == node.zone,
                            "{name}: ENI on vSwitch {} of another zone",
                            scenario.vswitches[v].id
                        );
                        ensure!(
                            slot.ips <= node.ipv4_per_eni,
                            "{name}: {} addresses on an ENI that allows {}",
                            slot.ips,
                            node.ipv4_per_eni
                        );
                        let accounted = u64::from(slot.idle)
                            + u64::from(slot.deleting)
                            + u64::from(slot.unassigning)
                            + u64::from(held);
                        ensure!(
                            u64::from(slot.ips) == accounted,
                            "{name}: {} addresses, but {} idle + {} deleting + {} unassigning + {held} held by pods = {accounted}",
                            slot.ips,
                            slot.idle,
                            slot.deleting,
                            slot.unassigning
                        );
                        let primary = slot_primary[slot_base[node_index] + slot_index]
                            + u32::from(slot.primary_idle);
                        ensure!(
                            primary == 1,
                            "{name}: the ENI's primary address has {primary} owners (idle: {})",
                            slot.primary_idle
                        );
                        ensure!(
                            !slot.primary_idle || slot.idle >= 1,
                            "{name}: primary idle but no idle address"
                        );
                        used[v] += u64::from(slot.ips);
                        idle[v] += u64::from(slot.idle);
                        if slot.status == SlotStatus::Deleting {
                            ensure!(
                                held == 0 && slot.op == Some(Op::DeleteEni),
                                "{name}: being deleted with {held} addresses in use and call {:?}",
                                slot.op
                            );
                        }
                    }
                }
                match slot.op {
                    Some(Op::Create { vswitch, count }) => {
                        ensure!(
                            vswitch < vswitch_count,
                            "{name}: create on vSwitch {vswitch} out of range"
                        );
                        ensure!(
                            self.vswitches[vswitch].exists
                                && self.vswitches[vswitch].zone == node.zone,
                            "{name}: creates an ENI on vSwitch {}, which does not exist or is in another zone",
                            scenario.vswitches[vswitch].id
                        );
                        ensure!(
                            (1..=node.ipv4_per_eni).contains(&count),
                            "{name}: creates an ENI with {count} addresses, the type allows {}",
                            node.ipv4_per_eni
                        );
                        used[vswitch] += u64::from(count);
                    }
                    Some(Op::Assign { count }) => {
                        ensure!(
                            slot.status == SlotStatus::InUse,
                            "{name}: assign call on an ENI that is not in use"
                        );
                        ensure!(
                            slot.ips + count <= node.ipv4_per_eni,
                            "{name}: {} addresses plus {count} being assigned exceed the {} an ENI allows",
                            slot.ips,
                            node.ipv4_per_eni
                        );
                        used[slot.vswitch] += u64::from(count);
                    }
                    Some(Op::AssignRefused) => ensure!(
                        slot.status == SlotStatus::InUse,
                        "{name}: refused assign on an ENI that is not in use"
                    ),
                    Some(Op::DeleteEni) => ensure!(
                        slot.status == SlotStatus::Deleting,
                        "{name}: delete call on an ENI that is not being deleted"
                    ),
                    _ => {}
                }
                zone_covered[node.zone] += slot.covered_pending;
                for request in &slot.queue {
                    ensure!(
                        slot.earliest_deadline_ms <= request.deadline_ms,
                        "{name}: a request is due at {} ms, before the slot's earliest deadline {} ms",
                        request.deadline_ms,
                        slot.earliest_deadline_ms
                    );
                    let Some(pod_ref) = request.pod else {
                        ensure!(
                            !request.counted_pending,
                            "{name}: a top-up request counts as a waiting pod"
                        );
                        continue;
                    };
                    // A pod's requests leave the queue with it, so none is stale.
                    let Some(pod) = self.live_pod(pod_ref) else {
                        return Err(format!(
                            "{name}: a queued request names pod {} generation {}, which is gone",
                            pod_ref.id.0, pod_ref.generation
                        ));
                    };
                    let p = &self.pods[pod.0 as usize];
                    ensure!(
                        request.counted_pending == p.pending_ip,
                        "{name}: pod {}'s request says counted {}, the pod says pending {}",
                        pod.0,
                        request.counted_pending,
                        p.pending_ip
                    );
                    ensure!(
                        p.node.0 as usize == node_index && p.state == PodState::Attaching,
                        "{name}: a queued request names pod {}, which is {:?} on node {}",
                        pod.0,
                        p.state,
                        p.node.0
                    );
                    ensure!(
                        p.slot as usize == slot_index,
                        "{name}: pod {} is queued here but names slot {}",
                        pod.0,
                        p.slot
                    );
                    ensure!(
                        queued_pods.insert(pod.0),
                        "{name}: pod {} is queued twice",
                        pod.0
                    );
                }
            }
            let mut usage = PoolUsage::default();
            for slot in &node.slots {
                usage.add(PoolUsage::of(slot));
            }
            ensure!(
                node.usage == usage
                    && (node.slots.is_empty() || daemon.capacity == enabled * node.ipv4_per_eni),
                "{name}: pool counters say {:?} and capacity {}; the slots say {usage:?} and {}",
                node.usage,
                daemon.capacity,
                enabled * node.ipv4_per_eni
            );
            ensure!(
                enabled <= attached.max(daemon.max_enis),
                "{name}: {enabled} slots enabled, {attached} ENIs attached, max_eni allows {}",
                daemon.max_enis
            );
        }
        for &id in &self.free_nodes {
            let node = self.nodes.get(id.0 as usize);
            ensure!(
                node.is_some_and(|n| n.state == NodeState::Gone),
                "node {} is on the free list but not gone",
                id.0
            );
        }

        // IP prefixes: aligned /28s inside a reserved block of their vSwitch, never two owners.
        for (index, held) in held_prefixes.iter_mut().enumerate() {
            let id = &scenario.vswitches[index].id;
            let reserved = &self.vswitches[index].reserved;
            held.sort_unstable();
            ensure!(
                held.windows(2).all(|pair| pair[0] != pair[1]),
                "vSwitch {id}: a prefix has two owners"
            );
            ensure!(
                held.len() as u32 == reserved.used,
                "vSwitch {id}: {} reserved prefixes taken, nodes hold {}",
                reserved.used,
                held.len()
            );
            for &address in held.iter() {
                let block = reserved.blocks.iter().find(|b| {
                    address >= b.first
                        && address < b.first + b.taken.len() as u32 * PREFIX_ADDRESSES
                });
                let Some(block) = block else {
                    return Err(format!(
                        "vSwitch {id}: prefix {}/28 is outside its reserved blocks",
                        std::net::Ipv4Addr::from(address)
                    ));
                };
                ensure!(
                    (address - block.first) % PREFIX_ADDRESSES == 0
                        && block.taken[((address - block.first) / PREFIX_ADDRESSES) as usize],
                    "vSwitch {id}: prefix {} is not an aligned /28 marked taken",
                    std::net::Ipv4Addr::from(address)
                );
            }
        }

        // vSwitches and the zone totals.
        let mut zone_used = vec![0u64; zones];
        let mut zone_idle = vec![0u64; zones];
        for (index, v) in self.vswitches.iter().enumerate() {
            let id = &scenario.vswitches[index].id;
            ensure!(
                u64::from(v.used) == used[index],
                "vSwitch {id}: used {} but its ENIs, calls in flight and node eth0s hold {}",
                v.used,
                used[index]
            );
            ensure!(
                v.used <= v.usable,
                "vSwitch {id}: used {} above usable {} (used_by_others {})",
                v.used,
                v.usable,
                scenario.vswitches[index].used_by_others
            );
            ensure!(
                v.exists || v.used == 0,
                "vSwitch {id}: holds {} addresses before it is created",
                v.used
            );
            ensure!(
                u64::from(v.idle) == idle[index],
                "vSwitch {id}: idle {} but its ENIs hold {} idle",
                v.idle,
                idle[index]
            );
            zone_used[v.zone] += u64::from(v.used);
            zone_idle[v.zone] += u64::from(v.idle);
        }
        let counters = self.metrics.zone_counters();
        for zone in 0..zones {
            let name = &scenario.zones[zone];
            ensure!(
                u64::from(counters.used[zone]) == zone_used[zone]
                    && u64::from(counters.idle[zone]) == zone_idle[zone],
                "zone {name}: metrics count {} used, {} idle; its vSwitches {}, {}",
                counters.used[zone],
                counters.idle[zone],
                zone_used[zone],
                zone_idle[zone]
            );
            ensure!(
                counters.pending[zone] == zone_pending[zone],
                "zone {name}: metrics count {} pods waiting for an address; {} do",
                counters.pending[zone],
                zone_pending[zone]
            );
            ensure!(
                counters.covered[zone] == zone_covered[zone],
                "zone {name}: metrics count {} waiting pods covered by calls; the slots say {}",
                counters.covered[zone],
                zone_covered[zone]
            );
        }
        ensure!(
            counters.pending_total == pending,
            "metrics count {} pods waiting for an address; {pending} do",
            counters.pending_total
        );
        ensure!(
            self.metrics.pods_running == running,
            "metrics count {} pods running; {running} are",
            self.metrics.pods_running
        );
        ensure!(
            self.metrics.pods_unschedulable == unscheduled,
            "metrics count {} pods unschedulable; {unscheduled} are",
            self.metrics.pods_unschedulable
        );
        ensure!(
            self.metrics.nodes_ready == ready,
            "metrics count {} nodes Ready; {ready} are",
            self.metrics.nodes_ready
        );

        // Pools and workloads.
        for (index, pool) in self.pools.iter().enumerate() {
            let name = &scenario.nodepools[index].name;
            ensure!(
                pool.nodes == pool_nodes[index]
                    && pool.booting == pool_booting[index]
                    && pool.zone_nodes == pool_zone_nodes[index],
                "node pool {name}: counts {} nodes ({} booting, per zone {:?}); there are {} ({}, {:?})",
                pool.nodes,
                pool.booting,
                pool.zone_nodes,
                pool_nodes[index],
                pool_booting[index],
                pool_zone_nodes[index]
            );
            for (position, set) in pool.schedulable.iter().enumerate() {
                if let Some(problem) = set.inconsistency(
                    |id| self.nodes[id.0 as usize].load,
                    |id| self.nodes[id.0 as usize].room(),
                ) {
                    return Err(format!(
                        "node pool {name}: scheduling index of zone position {position}: {problem}"
                    ));
                }
                ensure!(
                    set.len() as u32 == pool_ready[index][position],
                    "node pool {name}: {} nodes in the scheduling set of zone position {position}; {} are Ready",
                    set.len(),
                    pool_ready[index][position]
                );
            }
        }
        for (index, workload) in self.workloads.iter().enumerate() {
            ensure!(
                workload.zone_pods == zone_pods[index],
                "workload {}: counts {:?} pods per zone; {:?} are bound",
                scenario.workloads[index].name,
                workload.zone_pods,
                zone_pods[index]
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario;
    use std::path::Path;

    const SCENARIO: &str = r#"
[scenario]
horizon = "3h"
seed = 7
[[vswitch]]
id = "vsw-pods"
zone = "z"
cidr = "10.0.0.0/26"
[[vswitch]]
id = "vsw-nodes"
zone = "z"
cidr = "10.0.1.0/26"
[terway]
vswitches = { "z" = ["vsw-pods"] }
max_pool_size = 0
min_pool_size = 0
[[nodepool]]
name = "p"
instance_type = "ecs.g7.xlarge"
zones = ["z"]
node_vswitch = { "z" = "vsw-nodes" }
nodes = 2
[[workload]]
name = "web"
kind = "deployment"
replicas = [["0s", 10], ["1h", 70], ["2h", 5]]
daily_swing = 0.2
[[workload]]
name = "db"
kind = "statefulset"
replicas = 4
rollout_every = "20m"
[[workload]]
name = "batch"
kind = "job"
arrivals_per_hour = 120
duration = "5m"
"#;

    fn parsed() -> scenario::Scenario {
        scenario::parse(Path::new("checker.toml"), SCENARIO)
            .expect("valid")
            .0
    }

    #[test]
    fn a_checked_run_passes_and_matches_the_plain_run() {
        let s = parsed();
        let plain = World::new(&s, 0).run();
        let (checked, counts) = World::new(&s, 0)
            .run_checked(&mut |_| {})
            .expect("no violation");
        assert_eq!(plain, checked, "checking changes nothing");
        assert_eq!(counts.checks, checked.events + 1, "every event and the end");
        assert!(
            counts.zero_pool_trims > 0,
            "the pool trim property was exercised"
        );
    }

    #[test]
    fn a_corrupted_count_is_caught_with_the_seed_time_and_event() {
        let s = parsed();
        let mut world = World::new(&s, 3);
        assert_eq!(world.check_invariants(), Ok(()));
        let mut checker = Checker::new(Mode::EveryEvent);
        // Run a while, then lose one address from the books.
        for _ in 0..2_000 {
            let (at_ms, event) = world.queue.pop().expect("events");
            world
                .handle_checked(event, at_ms, &mut checker)
                .expect("clean");
        }
        world.vswitches[0].used += 1;
        let message = world.check_invariants().expect_err("caught");
        assert!(message.contains("vSwitch vsw-pods: used"), "{message}");
        let (at_ms, event) = world.queue.pop().expect("events");
        let violation = world
            .handle_checked(event, at_ms, &mut checker)
            .expect_err("caught");
        let text = violation.to_string();
        assert!(text.contains("seed 7, run 3"), "{text}");
        assert!(text.contains(&format!("at {at_ms} ms")), "{text}");
        assert!(text.contains(&format!("{event:?}")), "{text}");
        assert!(
            text.contains("planner run checker.toml --seed 7 --runs 4 --check-invariants"),
            "{text}"
        );
    }

    #[test]
    fn a_pod_counted_on_the_wrong_slot_is_caught() {
        let s = parsed();
        let mut world = World::new(&s, 0);
        let mut checker = Checker::new(Mode::Off);
        while world.metrics.pods_running < 5 {
            let (at_ms, event) = world.queue.pop().expect("events");
            world
                .handle_checked(event, at_ms, &mut checker)
                .expect("off");
        }
        assert_eq!(world.check_invariants(), Ok(()));
        let pod = world
            .pods
            .iter_mut()
            .find(|p| p.state == PodState::Running)
            .expect("a running pod");
        pod.slot = pod.slot.wrapping_add(1);
        assert!(world.check_invariants().is_err());
    }
}
