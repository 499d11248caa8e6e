//! Terway's daemon-local ENI manager (v1.7+), one per node, and the vSwitches it draws from.
//!
//! Sources are Terway's `pkg/eni/local.go`, `pkg/eni/manager.go`, `pkg/vswitch/vswitch.go` and
//! `daemon/builder.go` at HEAD `89aadf8`, as summarised in the domain notes (sections 2.1, 2.2,
//! 2.5, 2.6). Where this file departs from them it says so.

use std::collections::VecDeque;

use rand::RngExt;
use rand::seq::SliceRandom;

use super::metrics::ShortageCause;
use super::workload::{CniFailure, PodState};
use super::{Event, NodeId, NodeRef, PodId, PodRef, World};
use crate::scenario::{
    EniSelection, IpamType, MINUTE_MS, Millis, SECOND_MS, VSwitchSelection, VSwitchSpec,
};

pub(super) mod centralized;
pub(super) mod podnetworking;
mod pool;
pub(super) mod prefix;

/// A slot's worker sleeps this long so that requests can gather into one API call.
const GATHER_MS: Millis = 300;
/// At most this many addresses per create or assign call (`BatchSize`).
const BATCH_MAX: u32 = 10;
/// An ENI that hit `InvalidVSwitchId.IpNotEnough` asks for nothing more for this long.
const INHIBIT_MS: Millis = 10 * MINUTE_MS;
/// The daemon's vSwitch cache keeps a record (and a block) this long.
const VSWITCH_CACHE_TTL_MS: Millis = 10 * MINUTE_MS;
/// The daemon gives a CNI ADD 118 s; the CNI plugin itself 120 s.
pub(super) const DAEMON_RPC_MS: Millis = 118 * SECOND_MS;
/// The pool loop's top-up requests share one context of this length.
const TOP_UP_TIMEOUT_MS: Millis = 2 * MINUTE_MS;
/// `eni_create` backoff: 2 attempts, 10 s apart with jitter 0.3.
const CREATE_RETRY_MS: Millis = 10 * SECOND_MS;
const CREATE_ATTEMPTS: u8 = 2;
/// Per-slot token buckets: 10 per minute, burst 2.
const TOKEN_INTERVAL_MS: Millis = 6 * SECOND_MS;
const TOKEN_BURST: Millis = 2;
/// Terway's GC runs every 5 minutes; a deleted StatefulSet pod's address survives two passes.
pub(super) const STICKY_GC_MS: Millis = 5 * MINUTE_MS;

/// A vSwitch as the cluster sees it.
#[derive(Debug, Clone)]
pub(super) struct VSwitch {
    pub zone: usize,
    /// Addresses the cluster can take (`usable_ips`).
    pub usable: u32,
    /// Addresses the cluster holds: ENI addresses plus node primaries.
    pub used: u32,
    /// Of `used`, those idle in node pools.
    pub idle: u32,
    /// Whether the vSwitch has been created yet.
    pub exists: bool,
    /// Its reserved CIDR blocks, which serve only IP prefixes.
    pub reserved: prefix::Reservations,
}

impl VSwitch {
    pub fn new(spec: &VSwitchSpec) -> Self {
        VSwitch {
            zone: spec.zone,
            usable: spec.usable_ips(),
            used: 0,
            idle: 0,
            exists: spec.created_at_ms.is_none(),
            reserved: prefix::Reservations::new(spec),
        }
    }

    /// What `DescribeVSwitches` would report as `AvailableIpAddressCount`.
    pub fn free(&self) -> u32 {
        debug_assert!(self.used <= self.usable, "vSwitch over-allocated");
        self.usable - self.used
    }
}

/// The status of an ENI slot (`Local`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SlotStatus {
    Init,
    Creating,
    InUse,
    Deleting,
}

/// What the slot's allocation worker is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Worker {
    Idle,
    /// Sleeping for requests to gather, until then.
    Gathering(Millis),
    /// Batch size fixed; waiting for a token until then.
    WaitingToken(Millis, u32),
    /// Parked while the slot is inhibited, until then.
    WaitingInhibit(Millis),
    /// An API call is out (see `Slot::op`).
    Calling,
}

/// An API call in flight on a slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Op {
    /// `CreateNetworkInterface` that will succeed: `count` addresses already taken from the
    /// vSwitch (ECS assigns them when the call is made).
    Create { vswitch: usize, count: u32 },
    /// `CreateNetworkInterface` refused with `IpNotEnough` on attempt `attempt`.
    CreateRefused {
        vswitch: usize,
        count: u32,
        attempt: u8,
    },
    /// Sleeping in the `eni_create` backoff before attempt `attempt`.
    CreateBackoff { count: u32, attempt: u8 },
    /// `GetOne` found no vSwitch with a nonzero cached count.
    CreateNoVSwitch,
    /// `AssignPrivateIpAddresses` that will succeed (addresses already taken).
    Assign { count: u32 },
    /// `AssignPrivateIpAddresses` refused with `IpNotEnough`.
    AssignRefused,
    /// Detach and delete the whole ENI.
    DeleteEni,
}

/// A queued IP request: a pod's CNI ADD, or one of the pool loop's top-up requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Request {
    pub pod: Option<PodRef>,
    pub deadline_ms: Millis,
    /// The pod already counts as waiting for an address (`pods_pending_ip`). Kept here, beside
    /// the queue, so that a shortage does not visit every waiting pod on every failed call.
    pub counted_pending: bool,
}

/// `rate.NewLimiter(rate.Every(6s), 2)` as a generic cell rate algorithm: integer and exact.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct TokenBucket {
    theoretical_arrival_ms: Millis,
}

impl TokenBucket {
    pub fn ready_at(&self) -> Millis {
        self.theoretical_arrival_ms
            .saturating_sub((TOKEN_BURST - 1) * TOKEN_INTERVAL_MS)
    }

    /// Takes a token at `at_ms`, which must be no earlier than `ready_at`.
    pub fn take(&mut self, at_ms: Millis) {
        debug_assert!(at_ms >= self.ready_at(), "token taken before it was ready");
        self.theoretical_arrival_ms = self.theoretical_arrival_ms.max(at_ms) + TOKEN_INTERVAL_MS;
    }
}

/// One of a node's secondary-ENI slots.
///
/// `repr(C, align(64))`: what `allocate` reads of every slot for every pod (status, enabled,
/// address counts, the queue's length, the inhibit) fills the first cache line exactly, so
/// placing a pod reads one line per slot; with the default layout it read two or three.
#[derive(Debug, Clone)]
#[repr(C, align(64))]
pub(super) struct Slot {
    pub status: SlotStatus,
    /// Whether the daemon uses this slot (`max_eni` may leave some unused).
    pub enabled: bool,
    /// Whether the ENI's primary address is among the idle ones.
    pub primary_idle: bool,
    /// Addresses on the ENI, the primary and those being unassigned included.
    pub ips: u32,
    /// Valid addresses owned by no pod (the primary included when idle).
    pub idle: u32,
    /// Marked for unassign, not yet sent.
    pub deleting: u32,
    /// In an unassign call now.
    pub unassigning: u32,
    /// Pods already counted as waiting for an address that the call in flight will serve, so
    /// that demand does not count them twice (once in `used`, once as waiting).
    pub covered_pending: u32,
    pub queue: VecDeque<Request>,
    pub inhibit_until_ms: Millis,
    /// The ENI's vSwitch; meaningful unless `Init`/`Creating`.
    pub vswitch: usize,
    /// No queued request is due before this (it may be earlier than the earliest one): while
    /// it has not passed, nothing has expired and the queue need not be read.
    pub earliest_deadline_ms: Millis,
    pub eni_bucket: TokenBucket,
    pub ip_bucket: TokenBucket,
    pub worker: Worker,
    pub op: Option<Op>,
}

impl Slot {
    pub fn new() -> Self {
        Slot {
            status: SlotStatus::Init,
            enabled: false,
            vswitch: usize::MAX,
            ips: 0,
            idle: 0,
            deleting: 0,
            unassigning: 0,
            primary_idle: false,
            queue: VecDeque::new(),
            inhibit_until_ms: 0,
            earliest_deadline_ms: Millis::MAX,
            eni_bucket: TokenBucket::default(),
            ip_bucket: TokenBucket::default(),
            worker: Worker::Idle,
            op: None,
            covered_pending: 0,
        }
    }

    /// Queues a request at the back.
    pub fn enqueue(&mut self, request: Request) {
        self.earliest_deadline_ms = self.earliest_deadline_ms.min(request.deadline_ms);
        self.queue.push_back(request);
    }

    /// Drops the requests whose CNI call has given up by `now`.
    pub fn drop_expired(&mut self, now: Millis) {
        if self.earliest_deadline_ms >= now {
            return;
        }
        self.queue.retain(|request| request.deadline_ms >= now);
        self.earliest_deadline_ms = self
            .queue
            .iter()
            .map(|r| r.deadline_ms)
            .min()
            .unwrap_or(Millis::MAX);
    }

    /// Addresses owned by pods, held ones (StatefulSet) included.
    pub fn in_use(&self) -> u32 {
        self.ips - self.idle - self.deleting - self.unassigning
    }

    /// `Local.Priority`: what `eni_selection_policy` sorts by.
    fn priority(&self) -> i64 {
        let base = match self.status {
            SlotStatus::Deleting => return -100,
            SlotStatus::InUse => 50,
            SlotStatus::Creating => 10,
            SlotStatus::Init => 0,
        };
        base + i64::from(self.ips)
    }
}

/// One cached `DescribeVSwitches` record.
#[derive(Debug, Clone, Copy)]
pub(super) struct CacheEntry {
    pub available: u32,
    pub expires_ms: Millis,
}

/// The daemon's state that a restart throws away. `repr(C)`: what the pool loop reads comes
/// first, so that it shares the node record's first cache line.
#[derive(Debug, Clone)]
#[repr(C)]
pub(super) struct Daemon {
    /// Only the `PoolSync` event carrying this value acts.
    pub sync_token: u32,
    pub max_pool: u32,
    pub min_pool: u32,
    /// Addresses the enabled slots could hold (`ipv4_per_eni` each).
    pub capacity: u32,
    /// Index into the world's `configs` read at start-up.
    pub config: usize,
    /// Top-up requests still queued, and the `TopUpTimeout` token.
    pub top_up_outstanding: u32,
    pub top_up_token: u32,
    pub max_enis: u32,
    /// Last pod address allocation or release (idle reclaim).
    pub last_modified_ms: Millis,
    pub next_reclaim_ms: Option<Millis>,
    /// Per scenario vSwitch.
    pub cache: Vec<Option<CacheEntry>>,
}

/// A node's addresses as the pool loop counts them (`Usage()`), over the enabled slots whose
/// ENI is in use: all their addresses, and those no pod owns (idle, marked for unassign, or
/// being unassigned, which Terway counts as idle until they are gone).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct PoolUsage {
    pub ips: u32,
    pub idle: u32,
}

impl PoolUsage {
    pub fn of(slot: &Slot) -> PoolUsage {
        if slot.enabled && slot.status == SlotStatus::InUse {
            PoolUsage {
                ips: slot.ips,
                idle: slot.idle + slot.deleting + slot.unassigning,
            }
        } else {
            PoolUsage::default()
        }
    }

    pub fn add(&mut self, other: PoolUsage) {
        self.ips += other.ips;
        self.idle += other.idle;
    }

    pub fn remove(&mut self, other: PoolUsage) {
        self.ips -= other.ips;
        self.idle -= other.idle;
    }

    /// Addresses owned by pods, held ones included.
    pub fn in_use(&self) -> u32 {
        self.ips - self.idle
    }
}

/// An address Terway holds for a deleted StatefulSet pod.
#[derive(Debug, Clone, Copy)]
pub(super) struct StickyAddress {
    pub serial: u32,
    pub workload: usize,
    pub ordinal: u32,
    pub slot: u8,
    pub holds_primary: bool,
}

/// Where a request ended up.
enum Placement {
    /// An idle address was bound at once.
    Bound { slot: usize, holds_primary: bool },
    /// Queued on this slot; the slot's worker will ask ECS.
    Queued { slot: usize },
    /// No slot took it; `inhibited` if one refused for lack of vSwitch addresses.
    Refused { inhibited: bool },
}

/// Slot indices in some order, without allocating.
struct SlotOrder {
    slots: [u8; 64],
    len: usize,
}

/// A slot's place in policy order as one integer, lower first: (`Local.Priority`, highest or
/// lowest first, then the slot index). Priorities lie in -100..=50 + addresses, far inside the
/// 24 bits the rank gets.
fn slot_rank(slot: &Slot, index: usize, highest_first: bool) -> u32 {
    let priority = slot.priority() + (1 << 22);
    let rank = if highest_first {
        (1 << 23) - priority
    } else {
        priority
    };
    ((rank as u32) << 8) | index as u32
}

/// Where a daemon opens ENIs: its config's vSwitches for the node's zone, or eth0's vSwitch
/// when the zone has none listed.
fn listed_or_eth0<'a>(listed: &'a [usize], eth0: &'a usize) -> &'a [usize] {
    if listed.is_empty() {
        std::slice::from_ref(eth0)
    } else {
        listed
    }
}

impl<'s> World<'s> {
    /// Starts (or restarts) the node's daemon: reads the current `eni-config`, keeps attached
    /// ENIs, forgets caches, inhibits, rate limits and queues; the pool loop runs at once.
    pub(super) fn daemon_start(&mut self, id: NodeId) {
        let config_index = self.config_index(self.nodes[id.0 as usize].pool);
        let config = &self.configs[config_index];
        let now = self.now();
        let node = &mut self.nodes[id.0 as usize];
        let secondary = node.slots.len() as u32;
        let centralized = node.ipam == IpamType::Centralized;
        // The controller ignores `max_eni` (the Node resource's flavor is every secondary slot).
        let max_enis = if config.max_eni > 0 && config.max_eni < secondary && !centralized {
            config.max_eni
        } else {
            secondary
        };
        let capacity = max_enis * node.ipv4_per_eni;
        // Prefix mode forces the pool sizes to 0 (`node_reconcile.go`).
        let prefix_mode = node.prefix_count > 0;
        let max_pool = if prefix_mode {
            0
        } else {
            config.max_pool_size.min(capacity)
        };
        let min_pool = if config.min_eni > 0 && !centralized {
            config.min_eni * node.ipv4_per_eni
        } else {
            config.min_pool_size
        }
        .min(max_pool);
        let attached = node
            .slots
            .iter()
            .filter(|slot| slot.status != SlotStatus::Init)
            .count() as u32;
        let mut free_to_enable = max_enis.saturating_sub(attached);
        for slot in &mut node.slots {
            slot.enabled = slot.status != SlotStatus::Init || {
                let enable = free_to_enable > 0;
                free_to_enable -= u32::from(enable);
                enable
            };
            slot.inhibit_until_ms = 0;
            slot.eni_bucket = TokenBucket::default();
            slot.ip_bucket = TokenBucket::default();
            if slot.worker != Worker::Calling {
                slot.worker = Worker::Idle;
            }
        }
        // `enabled` changes only here, so the slots are counted afresh.
        let mut enabled = 0;
        node.usage = PoolUsage::default();
        for slot in &node.slots {
            enabled += u32::from(slot.enabled);
            node.usage.add(PoolUsage::of(slot));
        }
        let daemon = &mut node.daemon;
        daemon.capacity = enabled * node.ipv4_per_eni;
        daemon.config = config_index;
        daemon.cache.iter_mut().for_each(|entry| *entry = None);
        daemon.max_enis = max_enis;
        daemon.max_pool = max_pool;
        daemon.min_pool = min_pool;
        daemon.sync_token += 1;
        daemon.top_up_outstanding = 0;
        daemon.top_up_token += 1;
        daemon.last_modified_ms = now;
        daemon.next_reclaim_ms = None;
        if centralized {
            self.controller_node_start(id);
            return;
        }
        let token = daemon.sync_token;
        let node_ref = self.node_ref(id);
        self.queue.schedule(now, Event::PoolSync(node_ref, token));
    }

    /// Today's idle addresses (`idle_today`, from `terway-cli mapping`) on the nodes a run
    /// starts with: each zone's spread evenly over its Ready nodes (at most `max_pool_size` a
    /// node) and asked for as the pool loop tops up, with requests no pod waits on, so the run
    /// starts holding them idle as the cluster does (import leaves them out of
    /// `used_by_others`). Nothing happens, and no random draw, when the scenario does not know
    /// them.
    pub(super) fn warm_start_pools(&mut self) {
        let per_zone = self.scenario.live.idle_today_per_zone(self.scenario);
        let now = self.now();
        for (zone, idle) in per_zone.into_iter().enumerate() {
            let Some(idle) = idle.filter(|&idle| idle > 0) else {
                continue;
            };
            let nodes: Vec<NodeId> = (0..self.nodes.len())
                .filter(|&i| self.nodes[i].zone == zone && self.nodes[i].is_ready())
                .map(|i| NodeId(i as u32))
                .collect();
            let count = nodes.len() as u32;
            for (k, &id) in nodes.iter().enumerate() {
                let share = idle / count + u32::from((k as u32) < idle % count);
                let n = &mut self.nodes[id.0 as usize];
                if n.ipam == IpamType::Centralized {
                    // The controller's warm-up demand (`ip_warm_up_size`) does the same; a
                    // prefix-mode node keeps no pool.
                    if n.prefix_count == 0 {
                        n.controller.warm_up = share.min(n.daemon.max_pool);
                    }
                    continue;
                }
                for _ in 0..share.min(self.nodes[id.0 as usize].daemon.max_pool) {
                    let request = Request {
                        pod: None,
                        deadline_ms: now + TOP_UP_TIMEOUT_MS,
                        counted_pending: false,
                    };
                    self.allocate(id, request);
                }
            }
        }
    }

    /// `kubectl -n kube-system rollout restart ds terway-eniip`: every running daemon restarts.
    /// CNI calls in flight fail (the kubelet retries them); ECS calls in flight complete.
    pub(super) fn restart_terway(&mut self) {
        for index in 0..self.nodes.len() {
            if !self.nodes[index].is_ready() {
                continue;
            }
            let id = NodeId(index as u32);
            if self.nodes[index].ipam == IpamType::Centralized {
                self.controller_daemon_restart(id);
            }
            for slot in 0..self.nodes[index].slots.len() {
                let queue = std::mem::take(&mut self.nodes[index].slots[slot].queue);
                for request in queue {
                    if let Some(pod) = request.pod.and_then(|pod| self.live_pod(pod)) {
                        self.cni_failed(pod, CniFailure::DaemonRestart);
                    }
                }
            }
            self.daemon_start(id);
        }
    }

    /// CNI ADD for a pod already bound to a node.
    pub(super) fn cni_add(&mut self, pod: PodId) {
        let now = self.now();
        if self.pods[pod.0 as usize].state == PodState::Backoff {
            self.move_pod(pod, PodState::Attaching);
        }
        let (node, generation) = {
            let p = &mut self.pods[pod.0 as usize];
            p.attempt += 1;
            if p.attempt == 1 {
                p.first_attempt_ms = now;
            }
            (p.node, p.generation)
        };
        if self.nodes[node.0 as usize].ipam == IpamType::Centralized {
            self.controller_cni_add(pod);
            return;
        }
        if let Some((slot, holds_primary)) = self.take_sticky_address(pod) {
            self.pod_got_address(pod, slot, holds_primary);
            return;
        }
        let pod_ref = PodRef {
            id: pod,
            generation,
        };
        let request = Request {
            pod: Some(pod_ref),
            deadline_ms: now + DAEMON_RPC_MS,
            counted_pending: self.pods[pod.0 as usize].pending_ip,
        };
        match self.allocate(node, request) {
            Placement::Bound {
                slot,
                holds_primary,
            } => self.pod_got_address(pod, slot, holds_primary),
            Placement::Queued { slot } => {
                // Until the pod has an address, `slot` names where its request waits.
                self.pods[pod.0 as usize].slot = slot as u8;
                let attempt = self.pods[pod.0 as usize].attempt;
                self.queue.schedule(
                    now + super::workload::CNI_TIMEOUT_MS,
                    Event::CniTimeout(pod_ref, attempt),
                );
            }
            Placement::Refused { inhibited } => {
                let cause = inhibited.then_some(ShortageCause::EniInhibited);
                self.cni_failed(pod, CniFailure::NoAddress(cause));
            }
        }
    }

    /// The CNI call ran out of time: the request leaves its slot's queue.
    pub(super) fn cni_timeout(&mut self, pod: PodRef, attempt: u32) {
        let Some(id) = self.live_pod(pod) else {
            return;
        };
        let p = &self.pods[id.0 as usize];
        if p.attempt != attempt || !p.is_waiting_for_address() {
            return;
        }
        let (node, slot) = (p.node, p.slot as usize);
        if self.nodes[node.0 as usize].ipam == IpamType::Daemon {
            self.nodes[node.0 as usize].slots[slot]
                .queue
                .retain(|request| request.pod != Some(pod));
        }
        if self.nodes[node.0 as usize].prefix_count > 0 {
            // Short of prefixes with none left to take: the zone's shortage.
            let reachable = self.prefix_reachable_free(node);
            if reachable == 0 {
                self.mark_pending_ip_with(id, Some(ShortageCause::VSwitchExhausted), 0);
            }
        }
        self.cni_failed(id, CniFailure::NoAddress(None));
    }

    /// `Manager.Allocate`: offer the request to each enabled slot in policy order. The first
    /// slot in that order that can serve it wins, so one pass keeping the lowest-ranked taker
    /// gives the same answer as sorting first (and this runs for every pod).
    fn allocate(&mut self, node: NodeId, request: Request) -> Placement {
        let now = self.now();
        let n = &self.nodes[node.0 as usize];
        let config = &self.configs[n.daemon.config];
        let highest_first = config.eni_selection == EniSelection::MostIps;
        let cap = n.ipv4_per_eni;
        // (rank, slot, whether it hands over an idle address)
        let mut chosen: Option<(u32, usize, bool)> = None;
        let mut inhibited = false;
        for (index, slot) in n.slots.iter().enumerate() {
            if !slot.enabled || slot.status == SlotStatus::Deleting {
                continue;
            }
            // Top-up requests want a new address; an idle one would not grow the pool.
            let takes_idle =
                request.pod.is_some() && slot.status == SlotStatus::InUse && slot.idle > 0;
            if !takes_idle {
                if slot.ips + slot.queue.len() as u32 >= cap {
                    continue;
                }
                if slot.inhibit_until_ms > now {
                    inhibited = true;
                    continue;
                }
            }
            let rank = slot_rank(slot, index, highest_first);
            if chosen.is_none_or(|(best, _, _)| rank < best) {
                chosen = Some((rank, index, takes_idle));
            }
        }
        match chosen {
            Some((_, slot_index, true)) => {
                let holds_primary = self.take_idle(node, slot_index);
                Placement::Bound {
                    slot: slot_index,
                    holds_primary,
                }
            }
            Some((_, slot_index, false)) => {
                self.nodes[node.0 as usize].slots[slot_index].enqueue(request);
                self.kick(node, slot_index);
                Placement::Queued { slot: slot_index }
            }
            None => Placement::Refused { inhibited },
        }
    }

    /// Slots sorted by `Local.Priority`: `most_ips` highest first, `least_ips` lowest first;
    /// `for_disposal` reverses it, as `syncPool` does. Ties go to the lower slot index.
    fn slot_order(&self, node: NodeId, for_disposal: bool) -> SlotOrder {
        let n = &self.nodes[node.0 as usize];
        let config = &self.configs[n.daemon.config];
        let highest_first = (config.eni_selection == EniSelection::MostIps) != for_disposal;
        let mut ranks = [0u32; 64];
        let len = n.slots.len();
        for (index, (rank, slot)) in ranks.iter_mut().zip(&n.slots).enumerate() {
            *rank = slot_rank(slot, index, highest_first);
        }
        ranks[..len].sort_unstable();
        let mut order = SlotOrder {
            slots: [0; 64],
            len,
        };
        for (entry, rank) in order.slots.iter_mut().zip(&ranks[..len]) {
            *entry = (*rank & 0xFF) as u8;
        }
        order
    }

    /// Binds one idle address of the slot. Which one is Go map order, i.e. random; it is the
    /// ENI's primary with probability 1/idle.
    fn take_idle(&mut self, node: NodeId, slot_index: usize) -> bool {
        let now = self.now();
        let rng = &mut self.rng_terway;
        let n = &mut self.nodes[node.0 as usize];
        n.daemon.last_modified_ms = now;
        let (holds_primary, vswitch) = n.change_slot(slot_index, |slot| {
            assert!(slot.idle > 0, "no idle address to take");
            let holds_primary = slot.primary_idle && rng.random_range(0..slot.idle) == 0;
            if holds_primary {
                slot.primary_idle = false;
            }
            slot.idle -= 1;
            (holds_primary, slot.vswitch)
        });
        self.change_idle(vswitch, -1);
        holds_primary
    }

    /// An address a pod held goes back to the slot's idle pool, and a request waiting on that
    /// slot takes it. (Terway's waiters pick it up at the next wake-up of the slot; the model
    /// hands it over at once.)
    pub(super) fn release_address(&mut self, node: NodeId, slot_index: usize, holds_primary: bool) {
        self.return_to_idle(node, slot_index, holds_primary);
        self.serve_queue(node, slot_index);
    }

    /// An address a pod held is idle on its ENI again (no cooldown, no ECS call).
    fn return_to_idle(&mut self, node: NodeId, slot_index: usize, holds_primary: bool) {
        let now = self.now();
        let n = &mut self.nodes[node.0 as usize];
        n.daemon.last_modified_ms = now;
        let vswitch = n.change_slot(slot_index, |slot| {
            slot.idle += 1;
            if holds_primary {
                slot.primary_idle = true;
            }
            slot.vswitch
        });
        self.change_idle(vswitch, 1);
    }

    /// Holds a deleted StatefulSet pod's address for a same-name pod until Terway's GC has seen
    /// the pod gone twice: 5 to 10 minutes.
    pub(super) fn hold_sticky_address(
        &mut self,
        node: NodeId,
        slot: usize,
        workload: usize,
        ordinal: u32,
        holds_primary: bool,
    ) {
        let hold_ms = STICKY_GC_MS + self.rng_timers.random_range(0..STICKY_GC_MS);
        let n = &mut self.nodes[node.0 as usize];
        n.sticky_serial += 1;
        let serial = n.sticky_serial;
        n.sticky.push(StickyAddress {
            serial,
            workload,
            ordinal,
            slot: slot as u8,
            holds_primary,
        });
        let node_ref = self.node_ref(node);
        self.queue
            .schedule_in(hold_ms, Event::StickyExpire(node_ref, serial));
    }

    /// A same-name pod on the same node gets its held address back (`PeekAvailable`).
    fn take_sticky_address(&mut self, pod: PodId) -> Option<(usize, bool)> {
        let p = &self.pods[pod.0 as usize];
        let (workload, ordinal) = (p.workload as usize, p.ordinal);
        let n = &mut self.nodes[p.node.0 as usize];
        let index = n
            .sticky
            .iter()
            .position(|held| held.workload == workload && held.ordinal == ordinal)?;
        let held = n.sticky.swap_remove(index);
        n.daemon.last_modified_ms = self.queue.now_ms();
        Some((held.slot as usize, held.holds_primary))
    }

    pub(super) fn sticky_expire(&mut self, node: NodeRef, serial: u32) {
        let Some(id) = self.live_node(node) else {
            return;
        };
        let n = &mut self.nodes[id.0 as usize];
        let Some(index) = n.sticky.iter().position(|held| held.serial == serial) else {
            return;
        };
        let held = n.sticky.swap_remove(index);
        self.release_address(id, held.slot as usize, held.holds_primary);
    }

    /// Wakes the slot's worker if it has requests and nothing else to wait for.
    fn kick(&mut self, node: NodeId, slot_index: usize) {
        let now = self.now();
        let node_ref = self.node_ref(node);
        let slot = &mut self.nodes[node.0 as usize].slots[slot_index];
        if slot.worker != Worker::Idle || slot.status == SlotStatus::Deleting {
            return;
        }
        slot.drop_expired(now);
        if slot.queue.is_empty() {
            return;
        }
        let wake_ms = if slot.inhibit_until_ms > now {
            slot.worker = Worker::WaitingInhibit(slot.inhibit_until_ms);
            slot.inhibit_until_ms
        } else {
            slot.worker = Worker::Gathering(now + GATHER_MS);
            now + GATHER_MS
        };
        self.queue
            .schedule(wake_ms, Event::SlotWake(node_ref, slot_index as u8));
    }

    pub(super) fn slot_wake(&mut self, node: NodeRef, slot_index: usize) {
        let Some(id) = self.live_node(node) else {
            return;
        };
        let now = self.now();
        let slot = &mut self.nodes[id.0 as usize].slots[slot_index];
        match slot.worker {
            Worker::Gathering(at) if at == now => {
                slot.drop_expired(now);
                let queued = slot.queue.len() as u32;
                if queued == 0 {
                    slot.worker = Worker::Idle;
                    return;
                }
                // A new ENI's first call asks for at least one address, its primary.
                let (count, bucket) = if slot.status == SlotStatus::Init {
                    (queued.clamp(1, BATCH_MAX), &slot.eni_bucket)
                } else {
                    (queued.min(BATCH_MAX), &slot.ip_bucket)
                };
                let ready = bucket.ready_at();
                if ready > now {
                    slot.worker = Worker::WaitingToken(ready, count);
                    self.queue
                        .schedule(ready, Event::SlotWake(node, slot_index as u8));
                } else {
                    self.start_call(id, slot_index, count);
                }
            }
            Worker::WaitingToken(at, count) if at == now => self.start_call(id, slot_index, count),
            Worker::WaitingInhibit(at) if at == now => {
                slot.worker = Worker::Idle;
                self.kick(id, slot_index);
            }
            _ => {}
        }
    }

    /// The worker's API call: create the ENI if the slot has none, else assign addresses.
    fn start_call(&mut self, node: NodeId, slot_index: usize, count: u32) {
        let now = self.now();
        let cloud = self.scenario.cloud;
        let slot = &mut self.nodes[node.0 as usize].slots[slot_index];
        slot.worker = Worker::Calling;
        match slot.status {
            SlotStatus::Init => {
                slot.eni_bucket.take(now);
                slot.status = SlotStatus::Creating;
                self.attempt_create(node, slot_index, count, 1);
            }
            SlotStatus::InUse => {
                slot.ip_bucket.take(now);
                let vswitch = slot.vswitch;
                let (op, delay) = if self.vswitches[vswitch].free() >= count {
                    self.metrics.api_calls.assign_ips += 1;
                    self.take_addresses(vswitch, count);
                    self.cover_pending(node, slot_index, count);
                    (Op::Assign { count }, cloud.assign_ips_ms)
                } else {
                    self.metrics.api_calls.refused_ip_not_enough += 1;
                    (Op::AssignRefused, cloud.api_error_ms)
                };
                self.start_op(node, slot_index, op, delay);
            }
            SlotStatus::Creating | SlotStatus::Deleting => {
                unreachable!("the worker does not run while the slot is creating or deleting")
            }
        }
    }

    fn start_op(&mut self, node: NodeId, slot_index: usize, op: Op, delay_ms: Millis) {
        let node_ref = self.node_ref(node);
        let slot = &mut self.nodes[node.0 as usize].slots[slot_index];
        debug_assert!(slot.op.is_none(), "two calls at once on one slot");
        slot.op = Some(op);
        self.queue
            .schedule_in(delay_ms, Event::SlotOpDone(node_ref, slot_index as u8));
    }

    /// One attempt of `CreateNetworkInterface`: pick a vSwitch (`GetOne`), then ask ECS. ECS
    /// assigns all the addresses or none.
    fn attempt_create(&mut self, node: NodeId, slot_index: usize, count: u32, attempt: u8) {
        let cloud = self.scenario.cloud;
        match self.pick_vswitch(node) {
            None => self.start_op(node, slot_index, Op::CreateNoVSwitch, 0),
            Some(vswitch) if self.vswitches[vswitch].free() >= count => {
                self.metrics.api_calls.create_eni += 1;
                self.take_addresses(vswitch, count);
                self.cover_pending(node, slot_index, count);
                let op = Op::Create { vswitch, count };
                self.start_op(node, slot_index, op, cloud.create_eni_ms);
            }
            Some(vswitch) => {
                self.metrics.api_calls.refused_ip_not_enough += 1;
                let op = Op::CreateRefused {
                    vswitch,
                    count,
                    attempt,
                };
                self.start_op(node, slot_index, op, cloud.api_error_ms);
            }
        }
    }

    /// Counts the waiting pods among the first `count` queued requests: the call being made
    /// will serve them.
    fn cover_pending(&mut self, node: NodeId, slot_index: usize, count: u32) {
        let n = &self.nodes[node.0 as usize];
        // A queued pod's `counted_pending` is its `pending_ip` (the invariants check it), and a
        // top-up's is false, so the pod records, far apart in memory, need not be read.
        let covered = n.slots[slot_index]
            .queue
            .iter()
            .take(count as usize)
            .filter(|request| request.counted_pending)
            .count() as u32;
        let zone = n.zone;
        self.nodes[node.0 as usize].slots[slot_index].covered_pending = covered;
        self.metrics
            .covered_pending_changed(zone, i64::from(covered));
    }

    fn uncover_pending(&mut self, node: NodeId, slot_index: usize) {
        let n = &mut self.nodes[node.0 as usize];
        let covered = std::mem::take(&mut n.slots[slot_index].covered_pending);
        let zone = n.zone;
        self.metrics
            .covered_pending_changed(zone, -i64::from(covered));
    }

    pub(super) fn slot_op_done(&mut self, node: NodeRef, slot_index: usize) {
        let Some(id) = self.live_node(node) else {
            return;
        };
        self.uncover_pending(id, slot_index);
        let now = self.now();
        let slot = &mut self.nodes[id.0 as usize].slots[slot_index];
        let op = slot.op.take().expect("a call was out");
        slot.worker = Worker::Idle;
        match op {
            Op::Create { vswitch, count } => {
                self.nodes[id.0 as usize].change_slot(slot_index, |slot| {
                    slot.status = SlotStatus::InUse;
                    slot.vswitch = vswitch;
                    slot.ips = count;
                    slot.idle = count;
                    slot.primary_idle = true;
                });
                self.change_idle(vswitch, i64::from(count));
                self.serve_queue(id, slot_index);
            }
            Op::CreateRefused {
                vswitch,
                count,
                attempt,
            } => {
                // `SwitchPool.Block`: the cached count drops to 0 with a fresh TTL.
                if let Some(entry) = self.nodes[id.0 as usize].daemon.cache[vswitch].as_mut() {
                    entry.available = 0;
                    entry.expires_ms = now + VSWITCH_CACHE_TTL_MS;
                }
                if attempt < CREATE_ATTEMPTS {
                    let jitter_ms = self.rng_terway.random_range(0..CREATE_RETRY_MS * 3 / 10);
                    let op = Op::CreateBackoff {
                        count,
                        attempt: attempt + 1,
                    };
                    self.nodes[id.0 as usize].slots[slot_index].worker = Worker::Calling;
                    self.start_op(id, slot_index, op, CREATE_RETRY_MS + jitter_ms);
                    return;
                }
                self.create_failed(id, slot_index);
            }
            Op::CreateBackoff { count, attempt } => {
                slot.worker = Worker::Calling;
                self.attempt_create(id, slot_index, count, attempt);
                return;
            }
            Op::CreateNoVSwitch => self.create_failed(id, slot_index),
            Op::Assign { count } => {
                let vswitch = self.nodes[id.0 as usize].change_slot(slot_index, |slot| {
                    slot.ips += count;
                    slot.idle += count;
                    slot.vswitch
                });
                self.change_idle(vswitch, i64::from(count));
                self.serve_queue(id, slot_index);
            }
            Op::AssignRefused => {
                slot.inhibit_until_ms = now + INHIBIT_MS;
                self.mark_waiters_short(id, slot_index, ShortageCause::VSwitchExhausted);
            }
            Op::DeleteEni => {
                let (vswitch, ips, idle) = (slot.vswitch, slot.ips, slot.idle);
                *slot = Slot {
                    enabled: slot.enabled,
                    eni_bucket: slot.eni_bucket,
                    ip_bucket: slot.ip_bucket,
                    ..Slot::new()
                };
                self.change_idle(vswitch, -i64::from(idle));
                self.return_addresses(vswitch, ips);
            }
        }
        self.kick(id, slot_index);
    }

    /// The create failed without an ECS code Terway acts on: the slot goes back to `Init`
    /// (no inhibit) and retries while requests are queued, paced by its token bucket.
    fn create_failed(&mut self, node: NodeId, slot_index: usize) {
        let slot = &mut self.nodes[node.0 as usize].slots[slot_index];
        slot.status = SlotStatus::Init;
        slot.worker = Worker::Idle;
        self.mark_waiters_short(node, slot_index, ShortageCause::NoVSwitch);
    }

    /// The pods queued on a slot whose call failed for lack of addresses are now waiting for an
    /// address the zone does not have. Their requests stay queued until the CNI gives up.
    fn mark_waiters_short(&mut self, node: NodeId, slot_index: usize, cause: ShortageCause) {
        // The same node, the same moment: what it can reach is the same for every waiter.
        let reachable = self.reachable_free(node);
        let (zone, now) = (self.nodes[node.0 as usize].zone, self.now());
        // Waiters already counted are live (a pod's requests leave the queue with it) and
        // pending, so all a failure adds for them is the zone's tally: taken in one step rather
        // than by visiting each pod on every failed call of a shortage.
        let mut counted = 0;
        for index in 0..self.nodes[node.0 as usize].slots[slot_index].queue.len() {
            let request = self.nodes[node.0 as usize].slots[slot_index].queue[index];
            if request.counted_pending {
                counted += 1;
                continue;
            }
            if let Some(id) = request.pod.and_then(|pod| self.live_pod(pod)) {
                self.mark_pending_ip_with(id, Some(cause), reachable);
                self.nodes[node.0 as usize].slots[slot_index].queue[index].counted_pending = true;
            }
        }
        if counted > 0 {
            self.metrics
                .waiters_failed(zone, now, cause, reachable, counted);
        }
    }

    /// Free addresses the node's Terway could still draw on: in the vSwitch of each ENI that
    /// can grow, and, if an ENI slot is empty, in the zone's listed vSwitches as the daemon sees
    /// them (its config, existing, in its zone). Zero means the zone has no address to give this
    /// node; more means the request failed for Terway's own reasons (an ENI on a full vSwitch,
    /// a stale cache, an all-or-nothing batch larger than what is left).
    pub(super) fn reachable_free(&self, node: NodeId) -> u32 {
        let n = &self.nodes[node.0 as usize];
        let growable = n
            .slots
            .iter()
            .filter(|slot| {
                slot.enabled && slot.status == SlotStatus::InUse && slot.ips < n.ipv4_per_eni
            })
            .map(|slot| slot.vswitch);
        let empty_slot = n.slots.iter().any(|slot| {
            slot.enabled && matches!(slot.status, SlotStatus::Init | SlotStatus::Creating)
        });
        let listed = if empty_slot {
            listed_or_eth0(
                &self.listed_vswitches[n.daemon.config][n.zone],
                &n.primary_vswitch,
            )
        } else {
            &[]
        };
        let candidates = growable.chain(listed.iter().copied());
        // Each vSwitch once; the candidates are a handful, so look back rather than allocate
        // (this runs for every failed request during a shortage).
        candidates
            .clone()
            .enumerate()
            .filter(|&(index, v)| !candidates.clone().take(index).any(|earlier| earlier == v))
            .map(|(_, v)| &self.vswitches[v])
            .filter(|v| v.exists && v.zone == n.zone)
            .map(VSwitch::free)
            .sum()
    }

    /// Hands idle addresses of the slot to its queued requests, first come first served.
    fn serve_queue(&mut self, node: NodeId, slot_index: usize) {
        let now = self.now();
        loop {
            let slot = &mut self.nodes[node.0 as usize].slots[slot_index];
            if slot.idle == 0 || slot.status != SlotStatus::InUse {
                return;
            }
            let Some(request) = slot.queue.pop_front() else {
                return;
            };
            if request.deadline_ms < now {
                continue;
            }
            match request.pod {
                Some(pod) => {
                    let Some(id) = self.live_pod(pod) else {
                        continue;
                    };
                    let holds_primary = self.take_idle(node, slot_index);
                    self.pod_got_address(id, slot_index, holds_primary);
                }
                // A top-up request is done once the address exists; it stays idle.
                None => self.top_up_done(node),
            }
        }
    }

    /// `GetOne`: candidates are `vswitches[zone]` (or eth0's vSwitch when the zone has none);
    /// each is looked up in the daemon's cache or described; other zones and zero counts are
    /// skipped; `ordered` takes the largest cached count, anything else a random one.
    fn pick_vswitch(&mut self, node: NodeId) -> Option<usize> {
        let now = self.now();
        let n = &self.nodes[node.0 as usize];
        let config = &self.configs[n.daemon.config];
        let primary = n.primary_vswitch;
        let candidates = listed_or_eth0(&self.listed_vswitches[n.daemon.config][n.zone], &primary);
        let ordered = config.vswitch_selection == VSwitchSelection::Ordered;
        // `ordered` wants the largest cached count only, found in one pass; `random` shuffles
        // every record, as Terway does, so its draws stay the same.
        let mut best: Option<(usize, u32)> = None;
        let mut records: Vec<(usize, u32)> = Vec::new();
        let node_zone = n.zone;
        for &vswitch in candidates {
            let cached = self.nodes[node.0 as usize].daemon.cache[vswitch]
                .filter(|entry| entry.expires_ms > now);
            let available = match cached {
                Some(entry) => entry.available,
                None => {
                    let real = &self.vswitches[vswitch];
                    // `DescribeVSwitches` on a vSwitch that does not exist yet fails; Terway
                    // skips it and does not cache the error.
                    if !real.exists {
                        continue;
                    }
                    let available = real.free();
                    self.nodes[node.0 as usize].daemon.cache[vswitch] = Some(CacheEntry {
                        available,
                        expires_ms: now + VSWITCH_CACHE_TTL_MS,
                    });
                    available
                }
            };
            if self.vswitches[vswitch].zone != node_zone || available == 0 {
                continue;
            }
            if ordered {
                // Terway's sort is not stable; ties keep the listed order here.
                if best.is_none_or(|(_, most)| available > most) {
                    best = Some((vswitch, available));
                }
            } else {
                records.push((vswitch, available));
            }
        }
        if ordered {
            return best.map(|(vswitch, _)| vswitch);
        }
        records.shuffle(&mut self.rng_terway);
        records.first().map(|&(vswitch, _)| vswitch)
    }

    /// Everything a removed node held goes back to its vSwitches: ENI addresses, addresses
    /// taken by calls still in flight, and eth0's address.
    pub(super) fn release_node_addresses(&mut self, node: NodeId) {
        for slot in 0..self.nodes[node.0 as usize].slots.len() {
            self.uncover_pending(node, slot);
        }
        let primary = self.nodes[node.0 as usize].primary_vswitch;
        let n = &mut self.nodes[node.0 as usize];
        n.usage = PoolUsage::default();
        let slots = std::mem::take(&mut n.slots);
        let prefixes = std::mem::take(&mut n.prefixes);
        let attaching = std::mem::take(&mut n.controller.attaching_prefixes);
        n.prefix_pods = 0;
        for (slot, address) in prefixes {
            self.give_back_prefix(slots[slot as usize].vswitch, address);
        }
        if let Some(vswitch) = slots.iter().find_map(|slot| match slot.op {
            Some(Op::Create { vswitch, .. }) => Some(vswitch),
            _ => None,
        }) {
            for address in attaching {
                self.give_back_prefix(vswitch, address);
            }
        }
        for slot in &slots {
            if matches!(slot.status, SlotStatus::InUse | SlotStatus::Deleting) {
                self.change_idle(slot.vswitch, -i64::from(slot.idle));
                self.return_addresses(slot.vswitch, slot.ips);
            }
            match slot.op {
                Some(Op::Create { vswitch, count }) => self.return_addresses(vswitch, count),
                Some(Op::Assign { count }) => self.return_addresses(slot.vswitch, count),
                _ => {}
            }
        }
        self.return_addresses(primary, 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_bucket_allows_two_then_one_every_six_seconds() {
        let mut bucket = TokenBucket::default();
        assert_eq!(bucket.ready_at(), 0);
        bucket.take(0);
        assert_eq!(bucket.ready_at(), 0);
        bucket.take(0);
        assert_eq!(bucket.ready_at(), 6_000);
        bucket.take(6_000);
        assert_eq!(bucket.ready_at(), 12_000);
        // A long pause refills the burst, but never beyond two.
        bucket.take(60_000);
        assert_eq!(bucket.ready_at(), 60_000);
        bucket.take(60_000);
        assert_eq!(bucket.ready_at(), 66_000);
    }
}
