//! Nodes and node pools, the scheduler that places pods on them, and the cluster autoscaler.
//!
//! The scheduler sees CPU, memory and the node's pod limit, never free addresses: Terway adds
//! no extended resource for shared-ENI pods. PodNetworking pods under trunking also request
//! `aliyun/member-eni`, which trunk nodes offer up to their member-ENI limit. It spreads a workload's pods over zones (fewest of
//! its pods first) and, within a zone, over nodes (least loaded first), like kube-scheduler's
//! default topology spreading and `LeastAllocated` scoring.

use super::least_loaded::{LeastLoaded, PodSize, Room};
use super::terway::centralized::NodeController;
use super::terway::{Daemon, PoolUsage, Slot, StickyAddress};
use super::{Event, NodeId, NodeRef, PodId, World};
use crate::scenario::{IpamType, MINUTE_MS, Millis, SECOND_MS};

/// The autoscaler removes a node that has been empty this long.
const SCALE_DOWN_EMPTY_MS: Millis = 10 * MINUTE_MS;
/// The autoscaler's backoff for a node group whose scale-up failed.
const SCALE_UP_BACKOFF_MS: Millis = 5 * MINUTE_MS;
const SCALE_UP_BACKOFF_MAX_MS: Millis = 30 * MINUTE_MS;
/// The autoscaler's scan interval.
const AUTOSCALER_SCAN_MS: Millis = 10 * SECOND_MS;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum NodeState {
    Booting,
    Ready,
    Gone,
}

/// A node: an ECS instance with its Terway daemon.
///
/// `repr(C, align(64))` puts what most events read (the generation check, the pool loop's
/// counters and limits) in the record's first cache line; with the default layout a pool tick
/// touched four lines of the node and one per ENI slot.
#[derive(Debug, Clone)]
#[repr(C, align(64))]
pub(super) struct Node {
    pub generation: u32,
    pub state: NodeState,
    pub ipv4_per_eni: u32,
    /// The slots' addresses as the pool loop counts them, kept in step by
    /// [`Node::change_slot`]. Moving addresses between idle, marked and unassigning leaves it
    /// as it is, so those moves need not go through it; the invariant checker recounts it.
    pub usage: PoolUsage,
    /// Pods bound to the node, running or not.
    pub pods: u32,
    /// The key the node has in its pool's scheduling set.
    pub load: u32,
    /// How many times the node has become empty (Ready with no pods). A scale-down check
    /// carries the count it was scheduled for and is void once the node has had pods since (a
    /// count keeps the event small, where a timestamp would not).
    pub times_emptied: u32,
    pub daemon: Daemon,
    pub slots: Vec<Slot>,
    pub pool: usize,
    /// Index into `scenario.zones`, and into the pool's zone list.
    pub zone: usize,
    pub zone_position: usize,
    /// eth0's vSwitch; eth0's address is held for the node's lifetime.
    pub primary_vswitch: usize,
    pub cpu_millis: u64,
    pub memory_mib: u64,
    pub max_pods: u32,
    pub cpu_used: u64,
    pub memory_used: u64,
    pub sticky: Vec<StickyAddress>,
    pub sticky_serial: u32,
    /// Who allocates the node's addresses, fixed when it joins (`ipam_type`).
    pub ipam: IpamType,
    /// The centralized controller's record of the node (unused by the daemon's allocator).
    pub controller: NodeController,
    /// `ipv4_prefix_count` when the node joined in prefix mode, else 0.
    pub prefix_count: u32,
    /// Its /28 prefixes: (slot of the ENI holding it, first address).
    pub prefixes: Vec<(u8, u32)>,
    /// Pods holding an address from its prefixes.
    pub prefix_pods: u32,
}

impl Node {
    /// Changes slot `index` through `change`, keeping [`Node::usage`] in step with it.
    pub fn change_slot<R>(&mut self, index: usize, change: impl FnOnce(&mut Slot) -> R) -> R {
        let slot = &mut self.slots[index];
        self.usage.remove(PoolUsage::of(slot));
        let result = change(slot);
        self.usage.add(PoolUsage::of(slot));
        result
    }

    pub fn is_ready(&self) -> bool {
        self.state == NodeState::Ready
    }

    /// Scoring key, lower is emptier: CPU, memory and pod-count fractions, each out of 10 000.
    /// The pod count stands in for kube-scheduler's non-zero default requests, so that pods
    /// without requests still spread.
    fn load_key(&self) -> u32 {
        let fraction = |used: u64, total: u64| (used * 10_000 / total.max(1)) as u32;
        fraction(self.cpu_used, self.cpu_millis)
            + fraction(self.memory_used, self.memory_mib)
            + fraction(u64::from(self.pods), u64::from(self.max_pods))
    }

    pub fn room(&self) -> Room {
        Room {
            cpu_millis: self.cpu_millis - self.cpu_used,
            memory_mib: self.memory_mib - self.memory_used,
            pods: self.max_pods - self.pods,
            member_enis: self
                .controller
                .member_limit
                .saturating_sub(self.controller.member_pods),
        }
    }
}

/// A node pool and its autoscaler state.
#[derive(Debug, Clone)]
pub(super) struct Pool {
    /// Nodes booting or ready.
    pub nodes: u32,
    pub booting: u32,
    pub min_nodes: u32,
    pub max_nodes: u32,
    /// Nodes per entry of the pool's zone list.
    pub zone_nodes: Vec<u32>,
    /// Ready nodes per zone, indexed for the scheduler.
    pub schedulable: Vec<LeastLoaded>,
    pub launch_failures: u32,
    /// After a failed scale-up the autoscaler leaves the pool alone until then (its node-group
    /// backoff: 5 minutes, doubling to 30).
    pub backoff_until_ms: Millis,
    pub backoff_ms: Millis,
}

impl<'s> World<'s> {
    pub(super) fn node_ref(&self, id: NodeId) -> NodeRef {
        NodeRef {
            id,
            generation: self.nodes[id.0 as usize].generation,
        }
    }

    /// The node an event names, unless it has been removed since.
    pub(super) fn live_node(&self, node: NodeRef) -> Option<NodeId> {
        let n = self.nodes.get(node.id.0 as usize)?;
        (n.generation == node.generation && n.state != NodeState::Gone).then_some(node.id)
    }

    pub(super) fn node_launch_failures(&self) -> u32 {
        self.pools.iter().map(|pool| pool.launch_failures).sum()
    }

    /// Creates the pools with their initial nodes, Ready at time 0.
    pub(super) fn init_pools(&mut self) {
        for spec in &self.scenario.nodepools {
            self.pools.push(Pool {
                nodes: 0,
                booting: 0,
                min_nodes: spec.min_nodes,
                max_nodes: spec.max_nodes,
                zone_nodes: vec![0; spec.zones.len()],
                schedulable: vec![LeastLoaded::default(); spec.zones.len()],
                launch_failures: 0,
                backoff_until_ms: 0,
                backoff_ms: 0,
            });
        }
        for pool in 0..self.pools.len() {
            for _ in 0..self.scenario.nodepools[pool].nodes {
                self.launch_node(pool, false);
            }
        }
        self.warm_start_pools();
    }

    /// Launches a node in the pool's zone with the fewest nodes. ECS gives eth0 an address from
    /// the zone's node vSwitch; if it has none, the launch fails (`InvalidVSwitchId.IpNotEnough`
    /// on `RunInstances`) and the autoscaler will try again.
    fn launch_node(&mut self, pool: usize, boot: bool) -> bool {
        let spec = &self.scenario.nodepools[pool];
        let zone_position = (0..spec.zones.len())
            .min_by_key(|&position| (self.pools[pool].zone_nodes[position], position))
            .expect("a node pool has at least one zone");
        let primary_vswitch = spec.node_vswitch[zone_position];
        let vswitch = &self.vswitches[primary_vswitch];
        if !vswitch.exists || vswitch.free() == 0 {
            self.pools[pool].launch_failures += 1;
            return false;
        }
        self.take_addresses(primary_vswitch, 1);
        let instance = &self.scenario.instance_types[&spec.instance_type];
        let max_pods = if spec.max_pods == 0 {
            instance.pod_capacity()
        } else {
            spec.max_pods
        };
        let (id, generation) = match self.free_nodes.pop() {
            Some(id) => (id, self.nodes[id.0 as usize].generation + 1),
            None => (NodeId(self.nodes.len() as u32), 0),
        };
        let config = self.config_index(pool);
        // Exclusive-ENI nodes run the controller's `ENIOnly` mode whatever `ipam_type` says.
        let ipam = if self.scenario.pod_enis.is_exclusive(pool) {
            IpamType::Centralized
        } else {
            self.configs[config].ipam
        };
        let prefix_count = match ipam {
            IpamType::Centralized if self.configs[config].enable_ip_prefix => {
                self.configs[config].ipv4_prefix_count
            }
            _ => 0,
        };
        let node = Node {
            generation,
            state: NodeState::Booting,
            pool,
            zone: spec.zones[zone_position],
            zone_position,
            primary_vswitch,
            ipv4_per_eni: instance.ipv4_per_eni,
            cpu_millis: u64::from(instance.vcpu) * 1000,
            memory_mib: instance.memory_mib,
            max_pods,
            cpu_used: 0,
            memory_used: 0,
            pods: 0,
            load: 0,
            times_emptied: 0,
            usage: PoolUsage::default(),
            slots: vec![Slot::new(); instance.secondary_enis() as usize],
            daemon: Daemon {
                config,
                cache: vec![None; self.vswitches.len()],
                capacity: 0,
                max_enis: 0,
                max_pool: 0,
                min_pool: 0,
                sync_token: 0,
                top_up_outstanding: 0,
                top_up_token: 0,
                last_modified_ms: 0,
                next_reclaim_ms: None,
            },
            sticky: Vec::new(),
            sticky_serial: 0,
            ipam,
            controller: NodeController {
                member_limit: self.member_limit_of(pool),
                ..NodeController::default()
            },
            prefix_count,
            prefixes: Vec::new(),
            prefix_pods: 0,
        };
        if id.0 as usize == self.nodes.len() {
            self.nodes.push(node);
        } else {
            self.nodes[id.0 as usize] = node;
        }
        let p = &mut self.pools[pool];
        p.nodes += 1;
        p.booting += 1;
        p.zone_nodes[zone_position] += 1;
        let node_ref = self.node_ref(id);
        if boot {
            let boot_ms = self.scenario.nodepools[pool].boot_time_ms;
            self.queue.schedule_in(boot_ms, Event::NodeReady(node_ref));
        } else {
            self.node_ready(node_ref);
        }
        true
    }

    /// The node is Ready: the scheduler may use it and its Terway daemon starts.
    pub(super) fn node_ready(&mut self, node: NodeRef) {
        let Some(id) = self.live_node(node) else {
            return;
        };
        let now = self.now();
        let n = &mut self.nodes[id.0 as usize];
        n.state = NodeState::Ready;
        n.load = n.load_key();
        n.times_emptied += 1;
        let emptied = n.times_emptied;
        let (pool, position, load, room) = (n.pool, n.zone_position, n.load, n.room());
        self.pools[pool].booting -= 1;
        self.pools[pool].schedulable[position].insert(id, load, room);
        self.metrics.nodes_ready += 1;
        self.daemon_start(id);
        self.queue.schedule(
            now + SCALE_DOWN_EMPTY_MS,
            Event::NodeEmptyCheck(node, emptied),
        );
        self.request_scheduler_pass();
    }

    fn remove_node(&mut self, id: NodeId) {
        let n = &self.nodes[id.0 as usize];
        assert_eq!(n.pods, 0, "only empty nodes are removed");
        let (pool, position, ready) = (n.pool, n.zone_position, n.is_ready());
        let p = &mut self.pools[pool];
        p.nodes -= 1;
        p.zone_nodes[position] -= 1;
        if ready {
            p.schedulable[position].remove(id);
            self.metrics.nodes_ready -= 1;
        } else {
            p.booting -= 1;
        }
        self.release_node_addresses(id);
        let n = &mut self.nodes[id.0 as usize];
        n.state = NodeState::Gone;
        n.sticky.clear();
        self.free_nodes.push(id);
    }

    pub(super) fn node_empty_check(&mut self, node: NodeRef, since: u32) {
        let Some(id) = self.live_node(node) else {
            return;
        };
        let n = &self.nodes[id.0 as usize];
        let pool = &self.pools[n.pool];
        let still_empty = n.pods == 0 && n.times_emptied == since;
        if still_empty && n.is_ready() && pool.nodes > pool.min_nodes {
            self.remove_node(id);
        }
    }

    /// Updates a node's place in the scheduler's index after its usage changed.
    fn update_load(&mut self, id: NodeId) {
        let n = &mut self.nodes[id.0 as usize];
        if !n.is_ready() {
            return;
        }
        n.load = n.load_key();
        let (load, room) = (n.load, n.room());
        self.pools[n.pool].schedulable[n.zone_position].update(id, load, room);
    }

    /// Finds a node for a pod of the workload as kube-scheduler would: among the nodes with
    /// room for its requests, zones with the fewest of the workload's pods first, then the
    /// least-loaded node, then the lower node id.
    pub(super) fn find_node(&self, workload: usize) -> Option<NodeId> {
        let spec = &self.scenario.workloads[workload];
        let state = &self.workloads[workload];
        let pools = match spec.nodepool {
            Some(pool) => pool..pool + 1,
            None => 0..self.pools.len(),
        };
        let size = PodSize {
            cpu_millis: u64::from(spec.cpu_millis),
            memory_mib: spec.memory_mib,
            member_eni: u32::from(self.requests_member_eni(workload)),
        };
        let mut best: Option<(u32, u32, NodeId)> = None;
        for pool in pools {
            let zones = &self.scenario.nodepools[pool].zones;
            for (position, &zone) in zones.iter().enumerate() {
                if let Some((load, id)) = self.pools[pool].schedulable[position].least_loaded(size)
                {
                    let key = (state.zone_pods[zone], load, id);
                    if best.is_none_or(|b| key < b) {
                        best = Some(key);
                    }
                }
            }
        }
        best.map(|(_, _, id)| id)
    }

    /// Binds the pod to the node; the kubelet then sets up its sandbox (CNI ADD).
    pub(super) fn bind_pod(&mut self, pod: PodId, node: NodeId) {
        let p = &self.pods[pod.0 as usize];
        let spec = &self.scenario.workloads[p.workload as usize];
        let (workload, cpu, memory) = (
            p.workload as usize,
            u64::from(spec.cpu_millis),
            spec.memory_mib,
        );
        let member = u32::from(self.requests_member_eni(workload));
        let n = &mut self.nodes[node.0 as usize];
        n.cpu_used += cpu;
        n.memory_used += memory;
        n.pods += 1;
        n.controller.member_pods += member;
        let zone = n.zone;
        self.update_load(node);
        self.workloads[workload].zone_pods[zone] += 1;
        self.pods[pod.0 as usize].node = node;
        // The kubelet starts the sandbox at once; calling CNI ADD here saves an event per pod.
        self.cni_add(pod);
    }

    /// The pod leaves its node: its resources are free again.
    pub(super) fn unbind_pod(&mut self, pod: PodId) {
        let now = self.now();
        let p = &self.pods[pod.0 as usize];
        let spec = &self.scenario.workloads[p.workload as usize];
        let (workload, node) = (p.workload as usize, p.node);
        let member = u32::from(self.requests_member_eni(workload));
        let n = &mut self.nodes[node.0 as usize];
        n.controller.member_pods -= member;
        n.cpu_used -= u64::from(spec.cpu_millis);
        n.memory_used -= spec.memory_mib;
        n.pods -= 1;
        let zone = n.zone;
        let emptied = n.pods == 0;
        if emptied {
            n.times_emptied += 1;
        }
        let times_emptied = n.times_emptied;
        self.update_load(node);
        self.workloads[workload].zone_pods[zone] -= 1;
        if emptied {
            let node_ref = self.node_ref(node);
            self.queue.schedule(
                now + SCALE_DOWN_EMPTY_MS,
                Event::NodeEmptyCheck(node_ref, times_emptied),
            );
        }
        self.request_scheduler_pass();
    }

    pub(super) fn request_scheduler_pass(&mut self) {
        if self.metrics.pods_unschedulable > 0 && !self.scheduler_pass_pending {
            self.scheduler_pass_pending = true;
            self.queue.schedule_in(0, Event::SchedulerPass);
        }
    }

    pub(super) fn request_autoscaler(&mut self) {
        if !self.autoscaler_pending {
            self.autoscaler_pending = true;
            self.queue
                .schedule_in(AUTOSCALER_SCAN_MS, Event::AutoscalerTick);
        }
    }

    /// Retries unschedulable pods, each workload in creation order until one does not fit.
    pub(super) fn scheduler_pass(&mut self) {
        self.scheduler_pass_pending = false;
        for workload in 0..self.workloads.len() {
            while let Some(pod) = self.workloads[workload].first_unscheduled() {
                let Some(node) = self.find_node(workload) else {
                    break;
                };
                self.schedule_pod(pod, node);
            }
        }
    }

    /// The cluster autoscaler: for pods nothing can take, add nodes to the pool that can hold
    /// them (the workload's pool, or the first with room), counting nodes already booting.
    pub(super) fn autoscaler_tick(&mut self) {
        self.autoscaler_pending = false;
        if self.metrics.pods_unschedulable == 0 {
            return;
        }
        let mut node_equivalents = vec![0.0f64; self.pools.len()];
        for (workload, spec) in self.scenario.workloads.iter().enumerate() {
            let waiting = self.workloads[workload].unscheduled_count();
            if waiting == 0 {
                continue;
            }
            let pools = match spec.nodepool {
                Some(pool) => pool..pool + 1,
                None => 0..self.pools.len(),
            };
            let target = pools.clone().find_map(|pool| {
                let per_node = self.pods_per_empty_node(workload, pool);
                let room = self.pools[pool].nodes < self.pools[pool].max_nodes;
                (per_node > 0 && room).then_some((pool, per_node))
            });
            if let Some((pool, per_node)) = target {
                node_equivalents[pool] += waiting as f64 / f64::from(per_node);
            }
        }
        let now = self.now();
        for (pool, &needed) in node_equivalents.iter().enumerate() {
            let p = &self.pools[pool];
            if p.backoff_until_ms > now {
                continue;
            }
            let wanted = (needed.ceil() as u32).saturating_sub(p.booting);
            let room = p.max_nodes.saturating_sub(p.nodes);
            for _ in 0..wanted.min(room) {
                if !self.launch_node(pool, true) {
                    let p = &mut self.pools[pool];
                    p.backoff_ms =
                        (p.backoff_ms * 2).clamp(SCALE_UP_BACKOFF_MS, SCALE_UP_BACKOFF_MAX_MS);
                    p.backoff_until_ms = now + p.backoff_ms;
                    break;
                }
                self.pools[pool].backoff_ms = 0;
            }
        }
        self.request_autoscaler();
    }

    /// How many of the workload's pods an empty node of the pool holds.
    fn pods_per_empty_node(&self, workload: usize, pool: usize) -> u32 {
        let spec = &self.scenario.workloads[workload];
        let pool_spec = &self.scenario.nodepools[pool];
        let instance = &self.scenario.instance_types[&pool_spec.instance_type];
        let mut fit = if pool_spec.max_pods == 0 {
            instance.pod_capacity()
        } else {
            pool_spec.max_pods
        };
        if let Some(by_cpu) =
            (u64::from(instance.vcpu) * 1000).checked_div(u64::from(spec.cpu_millis))
        {
            fit = fit.min(by_cpu as u32);
        }
        if let Some(by_memory) = instance.memory_mib.checked_div(spec.memory_mib) {
            fit = fit.min(by_memory as u32);
        }
        let members = self.scenario.pod_enis.member_limit(pool);
        if self.requests_member_eni(workload) && members > 0 {
            fit = fit.min(members);
        }
        fit
    }

    /// `scale_nodepool`: new bounds; a new node count adds nodes at once or removes empty ones.
    pub(super) fn scale_nodepool(
        &mut self,
        pool: usize,
        nodes: Option<u32>,
        min_nodes: Option<u32>,
        max_nodes: Option<u32>,
    ) {
        let p = &mut self.pools[pool];
        if let Some(min_nodes) = min_nodes {
            p.min_nodes = min_nodes;
        }
        if let Some(max_nodes) = max_nodes {
            p.max_nodes = max_nodes;
        }
        p.max_nodes = p.max_nodes.max(p.min_nodes);
        let target = nodes.unwrap_or(p.nodes).clamp(p.min_nodes, p.max_nodes);
        for _ in p.nodes..target {
            if !self.launch_node(pool, true) {
                break;
            }
        }
        let mut surplus = self.pools[pool].nodes.saturating_sub(target);
        for index in 0..self.nodes.len() {
            if surplus == 0 {
                break;
            }
            let n = &self.nodes[index];
            if n.pool == pool && n.is_ready() && n.pods == 0 {
                self.remove_node(NodeId(index as u32));
                surplus -= 1;
            }
        }
        self.request_autoscaler();
    }
}
