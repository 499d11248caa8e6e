//! Centralized IPAM (`ipam_type = "crd"`): the controller in `terway-controlplane` allocates
//! for every node, through the node's `nodes.network.alibabacloud.com` resource.
//!
//! Sources: Terway's `pkg/controller/multi-ip/node/pool.go` and `eni.go`, `pkg/vswitch`,
//! `pkg/eni/crdv2.go` and `types/controlplane/config_default.go` at HEAD `89aadf8`, as written
//! up in the domain note on modes (section 2). What differs from the daemon (`terway.rs`):
//!
//! - allocation starts when the scheduler binds the pod, not at CNI ADD; the daemon's CNI call
//!   only waits (118 s) for the controller to write an address for the pod;
//! - the controller works on a node in passes, at most one a second, each making at most one
//!   allocating ECS call (one assign or one create of at most 10 addresses), and no create while
//!   another ENI of the node is attaching;
//! - demand is `pods + max(min_pool + pods - idle, 0)`: with `min_pool_size = 0` each waiting
//!   pod asks for two addresses (`pool.go` around line 1191, since `a274275d`);
//! - one vSwitch cache for the whole cluster, 20 minutes, with counts that are snapshots; an
//!   `IpNotEnough` from an assign or a create blocks the vSwitch for every node;
//! - released addresses go back to the node's pool on the pass after the daemon reports the
//!   CNI DEL (every 3 s), with no cooldown and no StatefulSet hold;
//! - idle addresses above `max_pool_size` are trimmed every 2 minutes, emptiest ENI first, and a
//!   whole ENI goes only if it holds fewer addresses than are to go (strictly).

use std::collections::BTreeSet;

use rand::RngExt;
use rand::seq::SliceRandom;

use super::prefix::PrefixPass;
use super::{CacheEntry, DAEMON_RPC_MS, Op, SlotStatus, Worker, listed_or_eth0};
use crate::model::metrics::ShortageCause;
use crate::model::workload::{CniFailure, PodState};
use crate::model::{Event, NodeId, NodeRef, PodId, World};
use crate::scenario::{MINUTE_MS, Millis, SECOND_MS, VSwitchSelection};

/// Passes of one node are at least this far apart (`LastReconcileTime + 1s`).
const PASS_THROTTLE_MS: Millis = SECOND_MS;
/// The workqueue's failure backoff: 1 s doubling to 300 s.
const FAILURE_BACKOFF_MIN_MS: Millis = SECOND_MS;
const FAILURE_BACKOFF_MAX_MS: Millis = 300 * SECOND_MS;
/// At most this many addresses per create or assign (`ecsBatchSize`).
const BATCH_MAX: u32 = 10;
/// `VSwitchCacheTTL`: the controller's one vSwitch cache keeps a record (and a block) this long.
const VSWITCH_CACHE_TTL_MS: Millis = 20 * MINUTE_MS;
/// The attach task's `InitialDelay` before it first sees the new ENI `InUse`.
const ATTACH_MS: Millis = 3 * SECOND_MS;
/// The daemon writes the pods whose CNI DEL it has seen to `NodeRuntime` this often.
const NODE_RUNTIME_PERIOD_MS: Millis = 3 * SECOND_MS;
/// A waiting pod's address is not on any slot yet.
pub(in crate::model) const NO_SLOT: u8 = u8::MAX;

/// The cluster-wide ECS rate limits of `terway-controlplane` (`ratelimit.go`): `n` per minute,
/// burst `n`.
const CREATE_PER_MINUTE: Millis = 500;
const ASSIGN_PER_MINUTE: Millis = 400;

/// A cluster-wide token bucket: `per_minute` calls a minute with a burst of as many, as a
/// generic cell rate algorithm (integer and exact).
#[derive(Debug, Clone, Copy)]
pub(in crate::model) struct RateLimit {
    per_minute: Millis,
    theoretical_arrival_ms: Millis,
}

impl RateLimit {
    fn new(per_minute: Millis) -> Self {
        RateLimit {
            per_minute,
            theoretical_arrival_ms: 0,
        }
    }

    fn interval_ms(&self) -> Millis {
        MINUTE_MS / self.per_minute
    }

    /// Takes a token at `now` or, when none is left, when the next comes; returns that time.
    pub(super) fn take(&mut self, now: Millis) -> Millis {
        let ready = self
            .theoretical_arrival_ms
            .saturating_sub((self.per_minute - 1) * self.interval_ms());
        let at = now.max(ready);
        self.theoretical_arrival_ms = self.theoretical_arrival_ms.max(at) + self.interval_ms();
        at
    }
}

/// What the controller shares across nodes.
#[derive(Debug, Clone)]
pub(in crate::model) struct Controller {
    /// `DescribeVSwitches` records per scenario vSwitch (one LRU cache, cluster-wide).
    pub cache: Vec<Option<CacheEntry>>,
    /// The last `Block` of each vSwitch: (from, until). Kept apart from the cache, whose
    /// records are refreshed, so that the invariant checker can tell a call made during a block.
    pub blocks: Vec<Option<(Millis, Millis)>>,
    pub(super) create_limit: RateLimit,
    assign_limit: RateLimit,
}

impl Controller {
    pub fn new(vswitches: usize) -> Self {
        Controller {
            cache: vec![None; vswitches],
            blocks: vec![None; vswitches],
            create_limit: RateLimit::new(CREATE_PER_MINUTE),
            assign_limit: RateLimit::new(ASSIGN_PER_MINUTE),
        }
    }
}

/// The allocating call of a pass, out now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::model) struct PassCall {
    pub slot: u8,
    pub vswitch: usize,
    /// When ECS received it (after any wait for a rate-limit token).
    pub started_ms: Millis,
}

/// The controller's record of one node (`NodeStatus` and the node's part of the Node resource).
#[derive(Debug, Clone, Default)]
pub(in crate::model) struct NodeController {
    /// Only the `IpamPass` event carrying this value acts.
    pub token: u32,
    /// When the next pass is due; `None` when none is queued.
    pub next_pass_ms: Option<Millis>,
    /// When the last pass ended (`LastReconcileTime`).
    pub last_pass_end_ms: Option<Millis>,
    /// Failed passes in a row (the workqueue's backoff).
    pub failures: u32,
    /// The last `adjustPool` (`LastGCTime`).
    pub last_gc_ms: Option<Millis>,
    /// The pass's allocating call, while it is out.
    pub call: Option<PassCall>,
    /// Whether the pass waiting for `call` has changed the node's status so far.
    pub pass_changed: bool,
    /// A trigger came while the pass was busy with its call.
    pub pass_wanted: bool,
    /// Pods bound to the node that have no address yet, by creation (pod name order, which the
    /// controller sorts by).
    pub unbound: BTreeSet<(u64, PodId)>,
    /// Addresses of deleted pods the daemon has not reported yet: (slot, the ENI's primary).
    pub released_unreported: Vec<(u8, bool)>,
    /// Addresses of deleted pods reported in `NodeRuntime`, freed at the next pass.
    pub released_reported: Vec<(u8, bool)>,
    /// When the daemon started: its `NodeRuntime` writes come every 3 s from then.
    pub runtime_phase_ms: Millis,
    /// A `NodeRuntimeSync` event is queued.
    pub runtime_sync_queued: bool,
    /// Prefixes the create out now (and its attach) took for the node, in prefix mode.
    pub attaching_prefixes: Vec<u32>,
    /// Addresses still to take ahead of pods (the warm-up demand), for the idle addresses a
    /// run's first nodes hold today.
    pub warm_up: u32,
    /// The trunk ENI's slot, once its create is out (trunk nodes only).
    pub trunk_slot: Option<u8>,
    /// ENIs of the node's pods (trunk members, or exclusive ENIs), made or being made.
    pub pod_enis: u32,
    /// `aliyun/member-eni` the node offers (`u32::MAX` where the scheduler does not count it).
    pub member_limit: u32,
    /// Bound pods that request `aliyun/member-eni`.
    pub member_pods: u32,
    /// Pods waiting for an ENI of their own, by creation.
    pub eni_waiting: BTreeSet<(u64, PodId)>,
}

/// The outcome of a pass's `addIP`.
enum AddIp {
    /// No call: nothing wanted, or waiting for an attach, or no option with room.
    Nothing,
    /// A call is out; the pass continues when it returns.
    Calling,
    /// `GetOne` found no vSwitch with a nonzero cached count (an error: backoff).
    NoVSwitch,
}

impl World<'_> {
    /// The daemon started on a node in this mode: it writes the Node resource and waits; the
    /// controller's first pass follows.
    pub(in crate::model) fn controller_node_start(&mut self, id: NodeId) {
        let now = self.now();
        let c = &mut self.nodes[id.0 as usize].controller;
        c.runtime_phase_ms = now % NODE_RUNTIME_PERIOD_MS;
        self.trigger_pass(id, now);
    }

    /// Something the controller watches changed: the node gets a pass, at most one a second,
    /// never two at once.
    pub(in crate::model) fn trigger_pass(&mut self, id: NodeId, at_ms: Millis) {
        let node_ref = self.node_ref(id);
        let c = &mut self.nodes[id.0 as usize].controller;
        if c.call.is_some() {
            c.pass_wanted = true;
            return;
        }
        let earliest = c
            .last_pass_end_ms
            .map_or(at_ms, |end| at_ms.max(end + PASS_THROTTLE_MS));
        if c.next_pass_ms.is_some_and(|next| next <= earliest) {
            return;
        }
        c.next_pass_ms = Some(earliest);
        c.token += 1;
        let token = c.token;
        self.queue
            .schedule(earliest, Event::IpamPass(node_ref, token));
    }

    /// The pod is bound to a node in this mode and its CNI ADD is made: the daemon waits for
    /// the controller's address, 118 s at most.
    pub(in crate::model) fn controller_cni_add(&mut self, pod: PodId) {
        if self.uses_own_eni(pod) {
            self.pod_eni_cni_add(pod);
            return;
        }
        let now = self.now();
        let p = &self.pods[pod.0 as usize];
        let (node, slot, holds_primary, attempt) = (p.node, p.slot, p.holds_primary, p.attempt);
        if self.nodes[node.0 as usize].prefix_count > 0 {
            let key = (self.pods[pod.0 as usize].seq, pod);
            if self.prefix_cni_add(pod) {
                self.nodes[node.0 as usize].controller.unbound.remove(&key);
                return;
            }
            self.pods[pod.0 as usize].slot = NO_SLOT;
            self.nodes[node.0 as usize].controller.unbound.insert(key);
            let pod_ref = self.pod_ref(pod);
            self.queue
                .schedule(now + DAEMON_RPC_MS, Event::CniTimeout(pod_ref, attempt));
            return;
        }
        if attempt > 1 && slot != NO_SLOT {
            // The controller bound an address while the kubelet was backing off.
            self.pod_got_address(pod, slot as usize, holds_primary);
            return;
        }
        if attempt == 1 {
            let seq = self.pods[pod.0 as usize].seq;
            self.pods[pod.0 as usize].slot = NO_SLOT;
            self.nodes[node.0 as usize]
                .controller
                .unbound
                .insert((seq, pod));
            self.trigger_pass(node, now);
        }
        let pod_ref = self.pod_ref(pod);
        self.queue
            .schedule(now + DAEMON_RPC_MS, Event::CniTimeout(pod_ref, attempt));
    }

    /// The pod is gone: its address goes back to the pool once the daemon has reported the
    /// CNI DEL and a pass has run; a pod still waiting leaves the controller's demand.
    pub(in crate::model) fn controller_remove_pod(&mut self, pod: PodId) {
        if self.uses_own_eni(pod) {
            self.pod_eni_remove(pod);
            return;
        }
        let p = &self.pods[pod.0 as usize];
        let (node, slot, holds_primary, seq) = (p.node, p.slot, p.holds_primary, p.seq);
        let now = self.now();
        let bound = match p.state {
            PodState::Attaching | PodState::Backoff => slot != NO_SLOT,
            PodState::Running | PodState::Terminating => true,
            PodState::Unscheduled | PodState::Gone => return,
        };
        if bound && self.nodes[node.0 as usize].prefix_count > 0 {
            // The daemon clears the address's bit at once: no cooldown, no ECS call.
            self.nodes[node.0 as usize].prefix_pods -= 1;
            self.serve_prefix_waiters(node);
            return;
        }
        let c = &mut self.nodes[node.0 as usize].controller;
        if !bound {
            c.unbound.remove(&(seq, pod));
            return;
        }
        c.released_unreported.push((slot, holds_primary));
        if !c.runtime_sync_queued {
            c.runtime_sync_queued = true;
            let phase = c.runtime_phase_ms;
            let next = now + NODE_RUNTIME_PERIOD_MS
                - (now + NODE_RUNTIME_PERIOD_MS - phase) % NODE_RUNTIME_PERIOD_MS;
            let node_ref = self.node_ref(node);
            let generation = node_ref.generation;
            self.queue
                .schedule(next, Event::NodeRuntimeSync(node_ref, generation));
        }
    }

    /// The daemon wrote the deleted pods to `NodeRuntime`: the node controller notifies the
    /// multi-IP controller.
    pub(in crate::model) fn node_runtime_sync(&mut self, node: NodeRef) {
        let Some(id) = self.live_node(node) else {
            return;
        };
        let now = self.now();
        let c = &mut self.nodes[id.0 as usize].controller;
        c.runtime_sync_queued = false;
        let reported = std::mem::take(&mut c.released_unreported);
        c.released_reported.extend(reported);
        self.trigger_pass(id, now);
    }

    /// A daemon restart fails the CNI calls waiting on the node (the kubelet retries them);
    /// the controller and what it bound are untouched.
    pub(in crate::model) fn controller_daemon_restart(&mut self, id: NodeId) {
        self.pod_eni_daemon_restart(id);
        let waiting: Vec<PodId> = self.nodes[id.0 as usize]
            .controller
            .unbound
            .iter()
            .map(|&(_, pod)| pod)
            .filter(|pod| self.pods[pod.0 as usize].state == PodState::Attaching)
            .collect();
        for pod in waiting {
            self.cni_failed(pod, CniFailure::DaemonRestart);
        }
    }

    /// `ReconcileNode.Reconcile` for one node.
    pub(in crate::model) fn ipam_pass(&mut self, node: NodeRef, token: u32) {
        let Some(id) = self.live_node(node) else {
            return;
        };
        let prefix_mode = self.nodes[id.0 as usize].prefix_count > 0;
        let pool = self.nodes[id.0 as usize].pool;
        let c = &mut self.nodes[id.0 as usize].controller;
        if c.token != token || c.call.is_some() {
            return;
        }
        c.next_pass_ms = None;
        if self.scenario.pod_enis.is_exclusive(pool) {
            // The multi-IP controller skips exclusive-ENI nodes (`ExclusiveENIOnly`).
            self.finish_pass(id, false, None);
            return;
        }
        if prefix_mode {
            match self.prefix_pass(id) {
                PrefixPass::Done { changed } => self.finish_pass(id, changed, None),
                PrefixPass::Calling => self.nodes[id.0 as usize].controller.pass_changed = false,
                PrefixPass::Failed(cause) => self.finish_pass(id, false, Some(cause)),
            }
            return;
        }
        // 1. releasePodNotFound: addresses of pods the daemon reported deleted are idle again.
        let released = std::mem::take(&mut c.released_reported);
        let mut changed = !released.is_empty();
        for (slot, holds_primary) in released {
            self.return_to_idle(id, slot as usize, holds_primary);
        }
        // 2. assignIPFromLocalPool.
        changed |= self.bind_idle_addresses(id);
        // 3. addIP.
        match self.add_ip(id) {
            AddIp::Calling => self.nodes[id.0 as usize].controller.pass_changed = changed,
            AddIp::Nothing => self.finish_pass(id, changed, None),
            AddIp::NoVSwitch => self.finish_pass(id, changed, Some(ShortageCause::NoVSwitch)),
        }
    }

    /// `assignIPFromLocalPool`: each waiting pod, in name order, takes an idle address of an
    /// ENI in use; which ENI is Go map order, i.e. random. Returns whether any pod was bound.
    fn bind_idle_addresses(&mut self, node: NodeId) -> bool {
        let mut bound = false;
        loop {
            let n = &self.nodes[node.0 as usize];
            let Some(&(seq, pod)) = n.controller.unbound.first() else {
                return bound;
            };
            let with_idle = n
                .slots
                .iter()
                .filter(|slot| slot.status == SlotStatus::InUse && slot.idle > 0)
                .count() as u32;
            if with_idle == 0 {
                return bound;
            }
            let mut pick = self.rng_terway.random_range(0..with_idle);
            let slot_index = self.nodes[node.0 as usize]
                .slots
                .iter()
                .position(|slot| {
                    let candidate = slot.status == SlotStatus::InUse && slot.idle > 0;
                    if candidate {
                        if pick == 0 {
                            return true;
                        }
                        pick -= 1;
                    }
                    false
                })
                .expect("a slot with an idle address");
            self.nodes[node.0 as usize]
                .controller
                .unbound
                .remove(&(seq, pod));
            let holds_primary = self.take_idle(node, slot_index);
            bound = true;
            if self.pods[pod.0 as usize].state == PodState::Attaching {
                self.pod_got_address(pod, slot_index, holds_primary);
            } else {
                // The kubelet is backing off; its next CNI ADD finds the address.
                let p = &mut self.pods[pod.0 as usize];
                p.slot = slot_index as u8;
                p.holds_primary = holds_primary;
            }
        }
    }

    /// The cluster's cached count for a vSwitch, described again when the record has expired
    /// (`validateENI` and `GetOne`). `None` when the vSwitch does not exist yet.
    pub(super) fn cached_available(&mut self, vswitch: usize) -> Option<u32> {
        let now = self.now();
        if let Some(entry) = self.controller.cache[vswitch].filter(|e| e.expires_ms > now) {
            return Some(entry.available);
        }
        let real = &self.vswitches[vswitch];
        if !real.exists {
            return None;
        }
        let available = real.free();
        self.controller.cache[vswitch] = Some(CacheEntry {
            available,
            expires_ms: now + VSWITCH_CACHE_TTL_MS,
        });
        Some(available)
    }

    /// `vswpool.Block`: a cached record drops to 0 with a fresh TTL, for the whole cluster.
    /// Nothing happens to a record that has expired.
    pub(super) fn block_vswitch(&mut self, vswitch: usize) {
        let now = self.now();
        if let Some(entry) = self.controller.cache[vswitch]
            .as_mut()
            .filter(|entry| entry.expires_ms > now)
        {
            entry.available = 0;
            entry.expires_ms = now + VSWITCH_CACHE_TTL_MS;
            self.controller.blocks[vswitch] = Some((now, now + VSWITCH_CACHE_TTL_MS));
        }
    }

    /// `GetOne`'s records: the candidates in the zone whose cached count is not 0, in order.
    pub(super) fn cached_records(
        &mut self,
        candidates: &[usize],
        zone: usize,
    ) -> Vec<(usize, u32)> {
        let mut records = Vec::with_capacity(candidates.len());
        for &vswitch in candidates {
            if let Some(available) = self.cached_available(vswitch)
                && self.vswitches[vswitch].zone == zone
                && available > 0
            {
                records.push((vswitch, available));
            }
        }
        records
    }

    /// `addIP`'s demand, less what attaching ENIs will bring: (remaining, attaching).
    fn controller_demand(&self, node: NodeId) -> (u32, u32) {
        let n = &self.nodes[node.0 as usize];
        let config = &self.configs[n.daemon.config];
        let pods = n.controller.unbound.len() as u32;
        let idle: u32 = n
            .slots
            .iter()
            .filter(|slot| slot.status == SlotStatus::InUse)
            .map(|slot| slot.idle)
            .sum();
        let min_pool = config.min_pool_size.min(n.daemon.max_pool);
        let demand = pods
            + (min_pool + pods)
                .saturating_sub(idle)
                .max(n.controller.warm_up);
        // Addresses an attaching ENI will bring count against the demand.
        let attaching: u32 = n
            .slots
            .iter()
            .filter_map(|slot| match slot.op {
                Some(Op::Create { count, .. }) if slot.status == SlotStatus::Creating => {
                    Some(count)
                }
                _ => None,
            })
            .sum();
        (demand.saturating_sub(attaching), attaching)
    }

    /// `addIP` and `allocateFromOptions`: the demand, then one call on the first option that
    /// can take part of it.
    fn add_ip(&mut self, node: NodeId) -> AddIp {
        let (remaining, attaching) = self.controller_demand(node);
        let n = &self.nodes[node.0 as usize];
        // A trunk node's first create is its trunk ENI, even with no pod waiting.
        let trunk_wanted =
            self.scenario.pod_enis.member_limit(n.pool) > 0 && n.controller.trunk_slot.is_none();
        let trunk_slot = n.controller.trunk_slot.map(usize::from);
        if remaining == 0 && !trunk_wanted {
            return AddIp::Nothing;
        }
        let cap = n.ipv4_per_eni;
        // Existing ENIs, most addresses first; ties are Go map order.
        let mut existing: Vec<(u32, usize)> = n
            .slots
            .iter()
            .enumerate()
            .filter(|(_, slot)| slot.status == SlotStatus::InUse && slot.op.is_none())
            .map(|(index, slot)| (slot.ips, index))
            .collect();
        existing.shuffle(&mut self.rng_terway);
        // The trunk ENI sorts first, so shared pods use it too.
        existing.sort_by_key(|&(ips, index)| (Some(index) != trunk_slot, std::cmp::Reverse(ips)));
        for (ips, slot_index) in existing {
            let amount = cap.saturating_sub(ips).min(remaining).min(BATCH_MAX);
            let vswitch = self.nodes[node.0 as usize].slots[slot_index].vswitch;
            if self.cached_available(vswitch).unwrap_or(0) == 0 || amount == 0 {
                continue;
            }
            self.start_assign(node, slot_index, amount);
            return AddIp::Calling;
        }
        let n = &self.nodes[node.0 as usize];
        if attaching > 0 || n.slots.iter().any(|s| s.status == SlotStatus::Creating) {
            return AddIp::Nothing;
        }
        let Some(slot_index) = n.slots.iter().position(|s| s.status == SlotStatus::Init) else {
            return AddIp::Nothing;
        };
        let amount = cap
            .min(remaining.max(u32::from(trunk_wanted)))
            .min(BATCH_MAX);
        match self.controller_pick_vswitch(node) {
            Some(vswitch) => {
                if trunk_wanted {
                    self.nodes[node.0 as usize].controller.trunk_slot = Some(slot_index as u8);
                }
                self.start_create(node, slot_index, vswitch, amount);
                AddIp::Calling
            }
            None => AddIp::NoVSwitch,
        }
    }

    /// `SwitchPool.GetOne` on the cluster's cache: the node's listed vSwitches for its zone (or
    /// eth0's), `ordered` the largest cached count first, anything else shuffled; the first with
    /// a nonzero count in the node's zone.
    pub(super) fn controller_pick_vswitch(&mut self, node: NodeId) -> Option<usize> {
        let n = &self.nodes[node.0 as usize];
        let config = &self.configs[n.daemon.config];
        let ordered = config.vswitch_selection == VSwitchSelection::Ordered;
        let zone = n.zone;
        let candidates: Vec<usize> = listed_or_eth0(
            &self.listed_vswitches[n.daemon.config][zone],
            &n.primary_vswitch,
        )
        .to_vec();
        let mut records = self.cached_records(&candidates, zone);
        if ordered {
            // Terway's sort is not stable; ties keep the listed order here.
            return records
                .iter()
                .copied()
                .reduce(|best, r| if r.1 > best.1 { r } else { best })
                .map(|(vswitch, _)| vswitch);
        }
        records.shuffle(&mut self.rng_terway);
        records.first().map(|&(vswitch, _)| vswitch)
    }

    /// `AssignPrivateIpAddresses` on an ENI in use: all the addresses, or `IpNotEnough`.
    fn start_assign(&mut self, node: NodeId, slot_index: usize, count: u32) {
        let now = self.now();
        let started = self.controller.assign_limit.take(now);
        let vswitch = self.nodes[node.0 as usize].slots[slot_index].vswitch;
        let (op, delay) = if self.vswitches[vswitch].free() >= count {
            self.metrics.api_calls.assign_ips += 1;
            self.take_addresses(vswitch, count);
            self.controller_cover_pending(node, slot_index, count);
            (Op::Assign { count }, self.scenario.cloud.assign_ips_ms)
        } else {
            self.metrics.api_calls.refused_ip_not_enough += 1;
            (Op::AssignRefused, self.scenario.cloud.api_error_ms)
        };
        self.start_pass_call(node, slot_index, vswitch, op, started, started + delay);
    }

    /// `CreateNetworkInterface` with `count` addresses (the primary among them); the attach
    /// follows asynchronously.
    pub(super) fn start_create(
        &mut self,
        node: NodeId,
        slot_index: usize,
        vswitch: usize,
        count: u32,
    ) {
        let now = self.now();
        let started = self.controller.create_limit.take(now);
        self.nodes[node.0 as usize].slots[slot_index].status = SlotStatus::Creating;
        let (op, delay) = if self.vswitches[vswitch].free() >= count {
            self.metrics.api_calls.create_eni += 1;
            self.take_addresses(vswitch, count);
            self.controller_cover_pending(node, slot_index, count);
            (
                Op::Create { vswitch, count },
                self.scenario.cloud.assign_ips_ms,
            )
        } else {
            self.metrics.api_calls.refused_ip_not_enough += 1;
            let op = Op::CreateRefused {
                vswitch,
                count,
                attempt: 1,
            };
            (op, self.scenario.cloud.api_error_ms)
        };
        self.start_pass_call(node, slot_index, vswitch, op, started, started + delay);
    }

    fn start_pass_call(
        &mut self,
        node: NodeId,
        slot_index: usize,
        vswitch: usize,
        op: Op,
        started_ms: Millis,
        done_ms: Millis,
    ) {
        let now = self.now();
        let node_ref = self.node_ref(node);
        let n = &mut self.nodes[node.0 as usize];
        n.daemon.last_modified_ms = now;
        n.slots[slot_index].op = Some(op);
        n.slots[slot_index].worker = Worker::Calling;
        n.controller.call = Some(PassCall {
            slot: slot_index as u8,
            vswitch,
            started_ms,
        });
        self.queue.schedule(done_ms, Event::IpamCallDone(node_ref));
    }

    /// The waiting pods already counted as pending that the call will serve (so that peak
    /// demand does not count them twice).
    fn controller_cover_pending(&mut self, node: NodeId, slot_index: usize, count: u32) {
        let n = &self.nodes[node.0 as usize];
        let covered = n
            .controller
            .unbound
            .iter()
            .filter(|&&(_, pod)| self.pods[pod.0 as usize].pending_ip)
            .take(count as usize)
            .count() as u32;
        let zone = n.zone;
        self.nodes[node.0 as usize].slots[slot_index].covered_pending = covered;
        self.metrics
            .covered_pending_changed(zone, i64::from(covered));
    }

    /// The pass's call returned.
    pub(in crate::model) fn ipam_call_done(&mut self, node: NodeRef) {
        let Some(id) = self.live_node(node) else {
            return;
        };
        let now = self.now();
        let n = &mut self.nodes[id.0 as usize];
        let call = n.controller.call.take().expect("a pass call was out");
        let slot_index = call.slot as usize;
        let changed = std::mem::take(&mut n.controller.pass_changed);
        let op = n.slots[slot_index].op.take().expect("the call's operation");
        n.slots[slot_index].worker = Worker::Idle;
        let mut failure = None;
        match op {
            Op::Assign { count } => {
                self.uncover_pending(id, slot_index);
                let warm_up = &mut self.nodes[id.0 as usize].controller.warm_up;
                *warm_up = warm_up.saturating_sub(count);
                let vswitch = self.nodes[id.0 as usize].change_slot(slot_index, |slot| {
                    slot.ips += count;
                    slot.idle += count;
                    slot.vswitch
                });
                self.change_idle(vswitch, i64::from(count));
            }
            Op::Create { vswitch, count } => {
                // The ENI exists and attaches; its addresses are usable once it is in use.
                let slot = &mut self.nodes[id.0 as usize].slots[slot_index];
                slot.op = Some(Op::Create { vswitch, count });
                slot.worker = Worker::Calling;
                let node_ref = self.node_ref(id);
                self.queue.schedule(
                    now + ATTACH_MS,
                    Event::IpamAttachDone(node_ref, slot_index as u8),
                );
            }
            Op::AssignRefused | Op::CreateRefused { .. } => {
                let slot = &mut self.nodes[id.0 as usize].slots[slot_index];
                if slot.status == SlotStatus::Creating {
                    slot.status = SlotStatus::Init;
                    let c = &mut self.nodes[id.0 as usize].controller;
                    if c.trunk_slot == Some(slot_index as u8) {
                        c.trunk_slot = None;
                    }
                }
                self.block_vswitch(call.vswitch);
                failure = Some(ShortageCause::VSwitchExhausted);
            }
            _ => unreachable!("a pass makes only assign and create calls"),
        }
        let changed = changed || failure.is_none();
        self.finish_pass(id, changed, failure);
    }

    /// The attach task saw the ENI in use and notifies the controller.
    pub(in crate::model) fn ipam_attach_done(&mut self, node: NodeRef, slot_index: usize) {
        let Some(id) = self.live_node(node) else {
            return;
        };
        let now = self.now();
        self.uncover_pending(id, slot_index);
        let slot = &mut self.nodes[id.0 as usize].slots[slot_index];
        let Some(Op::Create { vswitch, count }) = slot.op.take() else {
            unreachable!("an attach completes a create");
        };
        slot.worker = Worker::Idle;
        self.nodes[id.0 as usize].change_slot(slot_index, |slot| {
            slot.status = SlotStatus::InUse;
            slot.vswitch = vswitch;
            slot.ips = count;
            slot.idle = count;
            slot.primary_idle = true;
        });
        self.change_idle(vswitch, i64::from(count));
        let warm_up = &mut self.nodes[id.0 as usize].controller.warm_up;
        *warm_up = warm_up.saturating_sub(count);
        if self.nodes[id.0 as usize].prefix_count > 0 {
            self.prefix_eni_attached(id, slot_index);
        }
        self.trigger_pass(id, now);
    }

    /// The rest of a pass after `addIP`: bind what arrived, give back what was marked,
    /// `adjustPool`, account for pods left waiting, and requeue.
    fn finish_pass(&mut self, node: NodeId, mut changed: bool, failure: Option<ShortageCause>) {
        let now = self.now();
        let prefix_mode = self.nodes[node.0 as usize].prefix_count > 0;
        if prefix_mode {
            changed |= self.serve_prefix_waiters(node);
        } else {
            changed |= self.bind_idle_addresses(node);
            changed |= self.controller_unassign_marked(node);
            changed |= self.adjust_pool(node);
        }
        let unbound = self.nodes[node.0 as usize].controller.unbound.len();
        let calls_out = self.nodes[node.0 as usize]
            .slots
            .iter()
            .any(|slot| slot.status == SlotStatus::Creating);
        if unbound > 0 && (failure.is_some() || !calls_out) {
            self.account_waiting(node, failure);
        }
        let n = &mut self.nodes[node.0 as usize];
        let config = &self.configs[n.daemon.config];
        let c = &mut n.controller;
        c.last_pass_end_ms = Some(now);
        let wanted = std::mem::take(&mut c.pass_wanted);
        let delay = if failure.is_some() && !changed {
            c.failures += 1;
            (FAILURE_BACKOFF_MIN_MS << (c.failures - 1).min(16)).min(FAILURE_BACKOFF_MAX_MS)
        } else {
            c.failures = 0;
            if changed || wanted {
                // The status write (or what came during the call) triggers the next pass.
                PASS_THROTTLE_MS
            } else {
                config.ip_pool_sync_period_ms
            }
        };
        self.trigger_pass(node, now + delay);
    }

    /// Pods still waiting after a pass that could not serve them: a shortage of the zone when
    /// no vSwitch the node can draw on has an address (whether or not a call was made), else a
    /// failure of Terway's own making when a call failed.
    fn account_waiting(&mut self, node: NodeId, failure: Option<ShortageCause>) {
        let reachable = if self.nodes[node.0 as usize].prefix_count > 0 {
            self.prefix_reachable_free(node)
        } else {
            self.controller_reachable_free(node)
        };
        if reachable > 0 && failure.is_none() {
            return;
        }
        let cause = failure.unwrap_or(ShortageCause::VSwitchExhausted);
        let (zone, now) = (self.nodes[node.0 as usize].zone, self.now());
        let waiting: Vec<PodId> = self.nodes[node.0 as usize]
            .controller
            .unbound
            .iter()
            .map(|&(_, pod)| pod)
            .collect();
        let mut counted = 0;
        for pod in waiting {
            if self.pods[pod.0 as usize].pending_ip {
                counted += 1;
            } else {
                self.mark_pending_ip_with(pod, Some(cause), reachable);
            }
        }
        if counted > 0 {
            self.metrics
                .waiters_failed(zone, now, cause, reachable, counted);
        }
    }

    /// Free addresses in the vSwitches the controller could still draw on for this node: that
    /// of each ENI with room and, with an empty slot, of the listed vSwitches in its zone, but
    /// only where the vSwitch holds at least what the controller's all-or-nothing call would
    /// ask for there now. (The demand counts each waiting pod twice, so a vSwitch with fewer
    /// addresses left than the call cannot serve them: they wait as if it were empty.)
    fn controller_reachable_free(&self, node: NodeId) -> u32 {
        let (remaining, _) = self.controller_demand(node);
        let n = &self.nodes[node.0 as usize];
        let cap = n.ipv4_per_eni;
        let mut drawable: Vec<usize> = Vec::new();
        let mut consider = |vswitch: usize, asked: u32| {
            let v = &self.vswitches[vswitch];
            if v.exists
                && v.zone == n.zone
                && v.free() >= asked.max(1)
                && !drawable.contains(&vswitch)
            {
                drawable.push(vswitch);
            }
        };
        for slot in &n.slots {
            if slot.status == SlotStatus::InUse && slot.ips < cap {
                consider(slot.vswitch, (cap - slot.ips).min(remaining).min(BATCH_MAX));
            }
        }
        if n.slots.iter().any(|slot| slot.status == SlotStatus::Init) {
            let listed = listed_or_eth0(
                &self.listed_vswitches[n.daemon.config][n.zone],
                &n.primary_vswitch,
            );
            for &vswitch in listed {
                consider(vswitch, cap.min(remaining).min(BATCH_MAX));
            }
        }
        drawable.iter().map(|&v| self.vswitches[v].free()).sum()
    }

    /// `handleStatus`: addresses marked for deletion are unassigned, at most 10 per ENI per
    /// pass.
    fn controller_unassign_marked(&mut self, node: NodeId) -> bool {
        let mut started = false;
        for slot_index in 0..self.nodes[node.0 as usize].slots.len() {
            let slot = &self.nodes[node.0 as usize].slots[slot_index];
            if slot.status == SlotStatus::InUse && slot.deleting > 0 && slot.unassigning == 0 {
                self.kick_unassign(node, slot_index);
                started = true;
            }
        }
        started
    }

    /// `adjustPool`, once per pool sync period: idle addresses above `max_pool_size` (plus
    /// idle reclaim) go, visiting the ENIs with the fewest addresses first; an ENI no pod uses
    /// goes whole only if it holds fewer addresses than are still to go.
    fn adjust_pool(&mut self, node: NodeId) -> bool {
        let now = self.now();
        let n = &self.nodes[node.0 as usize];
        let period = self.configs[n.daemon.config].ip_pool_sync_period_ms;
        if n.controller
            .last_gc_ms
            .is_some_and(|last| last + period > now)
        {
            return false;
        }
        self.nodes[node.0 as usize].controller.last_gc_ms = Some(now);
        let n = &self.nodes[node.0 as usize];
        let idle: u32 = n
            .slots
            .iter()
            .filter(|slot| slot.status == SlotStatus::InUse)
            .map(|slot| slot.idle)
            .sum();
        let max_pool = n.daemon.max_pool;
        let mut to_delete = idle.saturating_sub(max_pool) + self.idle_reclaim(node, idle);
        if to_delete == 0 {
            return false;
        }
        let mut victims: Vec<(u32, usize)> = self.nodes[node.0 as usize]
            .slots
            .iter()
            .enumerate()
            .filter(|(_, slot)| slot.status == SlotStatus::InUse)
            .map(|(index, slot)| (slot.ips, index))
            .collect();
        victims.shuffle(&mut self.rng_terway);
        victims.sort_by_key(|&(ips, _)| ips);
        let mut changed = false;
        for (_, slot_index) in victims {
            if to_delete == 0 {
                break;
            }
            let released = self.release_unused(node, slot_index, to_delete);
            changed |= released > 0;
            to_delete = to_delete.saturating_sub(released);
        }
        changed
    }

    /// `releaseUnUsedIP`: the whole ENI when nothing on it is used and it holds fewer than
    /// `to_delete` addresses, else up to `to_delete` idle addresses other than the primary.
    fn release_unused(&mut self, node: NodeId, slot_index: usize, to_delete: u32) -> u32 {
        let delete_eni_ms = self.scenario.cloud.delete_eni_ms;
        let node_ref = self.node_ref(node);
        let slot = &self.nodes[node.0 as usize].slots[slot_index];
        let unused = slot.in_use() == 0 && slot.unassigning == 0 && slot.deleting == 0;
        // The trunk ENI is never deleted (its idle addresses but the primary may go).
        let trunk = self.nodes[node.0 as usize].controller.trunk_slot == Some(slot_index as u8);
        if unused && slot.ips < to_delete && slot.op.is_none() && !trunk {
            let ips = slot.ips;
            self.metrics.api_calls.delete_eni += 1;
            let n = &mut self.nodes[node.0 as usize];
            n.change_slot(slot_index, |slot| slot.status = SlotStatus::Deleting);
            n.slots[slot_index].op = Some(Op::DeleteEni);
            n.slots[slot_index].worker = Worker::Calling;
            self.queue
                .schedule_in(delete_eni_ms, Event::SlotOpDone(node_ref, slot_index as u8));
            return ips;
        }
        let marked = (slot.idle - u32::from(slot.primary_idle)).min(to_delete);
        if marked == 0 {
            return 0;
        }
        let slot = &mut self.nodes[node.0 as usize].slots[slot_index];
        slot.idle -= marked;
        slot.deleting += marked;
        let vswitch = slot.vswitch;
        self.change_idle(vswitch, -i64::from(marked));
        marked
    }
}
