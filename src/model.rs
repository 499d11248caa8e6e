//! The simulated world of one run: vSwitches, nodes with their Terway daemon, pods and the
//! controllers around them, and the event handlers that move it forward.
//!
//! Everything here is deterministic given the scenario and the run's random streams: state is
//! kept in vectors indexed by id and in ordered sets, and every "pick one" rule ends with an id
//! as tie-breaker. The handlers never scan all pods or all nodes; per-event work is bounded by
//! the ENI slots of one node, the vSwitches of one zone, or the workloads and pools of the
//! scenario.
//!
//! The Terway behaviour follows the daemon-local ENI manager (Terway v1.7+, `ipam_type` empty);
//! the rules are written up in ARCHITECTURE.md and README.md, with sources.

mod cluster;
mod invariants;
mod least_loaded;
mod metrics;
mod terway;
mod workload;

use rand_chacha::ChaCha8Rng;

use crate::engine::queue::EventQueue;
use crate::engine::{self, LoopCounts, Simulation, rng};
use crate::scenario::{ActionKind, Millis, Scenario, TerwayConfig};

pub use invariants::{CheckCounts, InvariantViolation};
pub use metrics::{
    ApiCalls, Samples, ShortageCause, VSwitchOutcome, WaitHistograms, ZoneOutcome, bucket_floor,
    bucket_of,
};

use cluster::{Node, Pool};
use metrics::Metrics;
use terway::VSwitch;
use terway::centralized::Controller;
use terway::podnetworking::PodEnis;
use workload::{Pod, WorkloadState};

/// Index of a node in the world's node table; slots are reused after a node is removed, so events
/// carry the node's generation too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct NodeId(pub u32);

/// Index of a pod in the pod table; reused after the pod is gone (events carry a generation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct PodId(pub u32);

/// A node as named by an event: stale if the node was removed since.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeRef {
    id: NodeId,
    generation: u32,
}

/// A pod as named by an event: stale if the pod is gone since.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PodRef {
    id: PodId,
    generation: u32,
}

/// What a run's random streams are for (see [`engine::rng`]). The numbers fix each stream's
/// number, so they never change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Concern {
    /// Job arrivals and run times.
    Workload = 0,
    /// Terway's own randomness: shuffled vSwitches, map iteration, backoff jitter.
    Terway = 1,
    /// Jitter of per-node timers (pool sync, idle reclaim, stateful hold).
    Timers = 2,
}

fn stream(scenario: &Scenario, run_index: u32, concern: Concern) -> ChaCha8Rng {
    rng::stream(scenario.seed, run_index, concern as u64)
}

/// Runs run `run_index` of the scenario to its horizon.
pub fn run_once(scenario: &Scenario, run_index: u32) -> RunResult {
    World::new(scenario, run_index).run()
}

/// The closed set of things that can happen.
#[derive(Debug, Clone, Copy)]
pub enum Event {
    /// Record the time series.
    Sample,
    /// The scenario's action with this index.
    Action(u32),
    /// Re-evaluate a workload's replica target (periodic while the target moves).
    WorkloadTick(u32),
    /// A workload controller acts on what changed (coalesced).
    WorkloadReconcile(u32),
    /// A rolling update starts.
    RolloutStart(u32),
    /// A job arrives.
    JobArrival(u32),
    /// A job's pod finishes.
    JobEnd(PodRef),
    /// A deleted pod has stopped.
    PodTerminated(PodRef),
    /// A booting node becomes Ready.
    NodeReady(NodeRef),
    /// The kubelet (re)tries CNI ADD for a pod.
    CniAttempt(PodRef),
    /// A pod's CNI ADD call gives up (attempt number).
    CniTimeout(PodRef, u32),
    /// A slot's allocation worker wakes (gather delay, token or inhibit over).
    SlotWake(NodeRef, u8),
    /// A slot's ENI or assign call returns.
    SlotOpDone(NodeRef, u8),
    /// A slot's unassign call returns.
    SlotUnassignDone(NodeRef, u8),
    /// The daemon's pool loop runs (carries the daemon generation).
    PoolSync(NodeRef, u32),
    /// The pool loop's top-up requests time out (daemon generation).
    TopUpTimeout(NodeRef, u32),
    /// A StatefulSet pod's held address is released by Terway's GC (reservation serial).
    StickyExpire(NodeRef, u32),
    /// The centralized controller's pass over a node (the node's pass token).
    IpamPass(NodeRef, u32),
    /// The pass's ECS call returns.
    IpamCallDone(NodeRef),
    /// A new ENI's attach completes (slot).
    IpamAttachDone(NodeRef, u8),
    /// The daemon writes deleted pods to `NodeRuntime` (node generation).
    NodeRuntimeSync(NodeRef, u32),
    /// A node empty since then (its count of times emptied) may be removed.
    NodeEmptyCheck(NodeRef, u32),
    /// A pod's own ENI: its create (or the attach of its held fixed ENI) returned.
    PodEniDone(PodRef),
    /// The pod controller retries a pod that got no ENI.
    PodEniRetry(PodRef),
    /// The fixed-IP GC of PodENIs.
    PodEniGc,
    /// The cluster autoscaler looks at unschedulable pods.
    AutoscalerTick,
    /// The scheduler retries unschedulable pods.
    SchedulerPass,
}

/// One run of a scenario.
pub struct World<'s> {
    scenario: &'s Scenario,
    queue: EventQueue<Event>,
    rng_workload: ChaCha8Rng,
    rng_terway: ChaCha8Rng,
    rng_timers: ChaCha8Rng,
    /// Index into `scenario.terway_configs` of what `eni-config` says now.
    current_config: usize,
    /// Every `scenario.terway_configs` entry with each node pool's own settings merged over it:
    /// entry `config x pools + pool` is what that pool's nodes read under that config.
    configs: Vec<TerwayConfig>,
    vswitches: Vec<VSwitch>,
    /// Per entry of `configs` and zone, the vSwitches listed for the zone (empty when none
    /// are): resolved once, since Terway looks them up on every ENI create.
    listed_vswitches: Vec<Vec<Vec<usize>>>,
    /// Centralized IPAM's cluster-wide state.
    controller: Controller,
    /// The pod controller's ENIs of pods and fixed addresses.
    pod_enis: PodEnis,
    pools: Vec<Pool>,
    nodes: Vec<Node>,
    free_nodes: Vec<NodeId>,
    pods: Vec<Pod>,
    free_pods: Vec<PodId>,
    workloads: Vec<WorkloadState>,
    metrics: Metrics,
    pod_seq: u64,
    scheduler_pass_pending: bool,
    autoscaler_pending: bool,
}

/// What one run produced.
#[derive(Debug, Clone, PartialEq)]
pub struct RunResult {
    /// Run index.
    pub run_index: u32,
    /// Per vSwitch, in scenario order.
    pub vswitches: Vec<VSwitchOutcome>,
    /// Per zone, in scenario order.
    pub zones: Vec<ZoneOutcome>,
    /// The time series.
    pub samples: Samples,
    /// Most pods waiting for an address at once (exact, not sampled).
    pub max_pods_pending_ip: u32,
    /// ECS API calls made.
    pub api_calls: ApiCalls,
    /// Per zone, in scenario order: time pods spent from their first CNI ADD to an address,
    /// and, censored, how long those that never got one had waited.
    pub zone_ip_waits: Vec<WaitHistograms>,
    /// Events handled.
    pub events: u64,
    /// Pods created.
    pub pods_created: u64,
    /// Node launches refused because eth0's vSwitch had no address.
    pub node_launch_failures: u32,
    /// Mean number of events pending in the queue.
    pub pending_events_mean: f64,
}

impl<'s> World<'s> {
    /// Builds the world at time 0: initial nodes Ready, workloads about to create their pods.
    pub fn new(scenario: &'s Scenario, run_index: u32) -> Self {
        let vswitches = scenario.vswitches.iter().map(VSwitch::new).collect();
        let configs: Vec<TerwayConfig> = scenario
            .terway_configs
            .iter()
            .flat_map(|config| {
                scenario
                    .nodepools
                    .iter()
                    .map(move |pool| pool.terway.applied_to(config))
            })
            .collect();
        let listed_vswitches = configs
            .iter()
            .map(|config| {
                scenario
                    .zones
                    .iter()
                    .map(|zone| config.vswitches.get(zone).cloned().unwrap_or_default())
                    .collect()
            })
            .collect();
        let mut world = World {
            scenario,
            queue: EventQueue::new(),
            rng_workload: stream(scenario, run_index, Concern::Workload),
            rng_terway: stream(scenario, run_index, Concern::Terway),
            rng_timers: stream(scenario, run_index, Concern::Timers),
            current_config: 0,
            configs,
            vswitches,
            listed_vswitches,
            controller: Controller::new(scenario.vswitches.len()),
            pod_enis: PodEnis::default(),
            pools: Vec::new(),
            nodes: Vec::new(),
            free_nodes: Vec::new(),
            pods: Vec::new(),
            free_pods: Vec::new(),
            workloads: Vec::new(),
            metrics: Metrics::new(scenario),
            pod_seq: 0,
            scheduler_pass_pending: false,
            autoscaler_pending: false,
        };
        world.metrics.run_index = run_index;
        for (index, action) in scenario.actions.iter().enumerate() {
            world
                .queue
                .schedule(action.at_ms, Event::Action(index as u32));
        }
        world.queue.schedule(0, Event::Sample);
        world.init_pools();
        world.init_workloads();
        world
    }

    /// Runs to the horizon and returns the outcome.
    pub fn run(self) -> RunResult {
        self.run_with_progress(&mut |_| {})
    }

    /// Runs to the horizon, telling `progress` the simulated time reached every so many events
    /// (and the horizon at the end).
    ///
    /// Debug and test builds check the model's invariants every so many events and at the end
    /// (see `model/invariants.rs`); a violation is a bug and panics with the seed, run, time and
    /// event. [`World::run_checked`] checks after every event and returns the violation instead.
    pub fn run_with_progress(self, progress: &mut dyn FnMut(Millis)) -> RunResult {
        match self.run_in_mode(progress, invariants::Mode::default_for_build()) {
            Ok((result, _)) => result,
            Err(violation) => panic!("{violation}"),
        }
    }

    fn run_in_mode(
        mut self,
        progress: &mut dyn FnMut(Millis),
        mode: invariants::Mode,
    ) -> Result<(RunResult, CheckCounts), InvariantViolation> {
        let horizon_ms = self.scenario.horizon_ms;
        let mut run = Stepper {
            world: &mut self,
            checker: invariants::Checker::new(mode),
        };
        let counts = engine::run_until(&mut run, horizon_ms, progress)?;
        let mut checker = run.checker;
        self.check_at_end(&mut checker)?;
        Ok((self.finish(counts), checker.counts))
    }

    /// Which entry of `configs` a node of `pool` reads under the current `eni-config`.
    fn config_index(&self, pool: usize) -> usize {
        self.current_config * self.scenario.nodepools.len() + pool
    }

    /// Current simulated time.
    fn now(&self) -> Millis {
        self.queue.now_ms()
    }

    /// Starts fetching the node or pod record `event` will read first (see
    /// [`engine::prefetch`]); only a hint, so a stale or reused id does no harm.
    #[inline]
    fn prefetch_record(&self, event: Event) {
        match event {
            Event::NodeReady(node)
            | Event::SlotWake(node, _)
            | Event::SlotOpDone(node, _)
            | Event::SlotUnassignDone(node, _)
            | Event::PoolSync(node, _)
            | Event::TopUpTimeout(node, _)
            | Event::StickyExpire(node, _)
            | Event::IpamPass(node, _)
            | Event::IpamCallDone(node)
            | Event::IpamAttachDone(node, _)
            | Event::NodeRuntimeSync(node, _)
            | Event::NodeEmptyCheck(node, _) => {
                engine::prefetch(self.nodes.as_ptr().wrapping_add(node.id.0 as usize));
            }
            Event::JobEnd(pod)
            | Event::PodTerminated(pod)
            | Event::CniAttempt(pod)
            | Event::CniTimeout(pod, _) => {
                engine::prefetch(self.pods.as_ptr().wrapping_add(pod.id.0 as usize));
            }
            _ => {}
        }
    }

    fn handle(&mut self, event: Event) {
        match event {
            Event::Sample => self.sample(),
            Event::Action(index) => self.apply_action(index as usize),
            Event::WorkloadTick(w) => self.workload_tick(w as usize),
            Event::WorkloadReconcile(w) => self.workload_reconcile(w as usize),
            Event::RolloutStart(w) => self.rollout_start(w as usize),
            Event::JobArrival(w) => self.job_arrival(w as usize),
            // A finished job's container has exited: its sandbox goes at once.
            Event::JobEnd(pod) => {
                if let Some(id) = self.live_pod(pod) {
                    self.remove_pod(id);
                }
            }
            Event::PodTerminated(pod) => self.pod_terminated(pod),
            Event::NodeReady(node) => self.node_ready(node),
            Event::CniAttempt(pod) => {
                if let Some(id) = self.live_pod(pod) {
                    self.cni_add(id);
                }
            }
            Event::CniTimeout(pod, attempt) => self.cni_timeout(pod, attempt),
            Event::SlotWake(node, slot) => self.slot_wake(node, slot as usize),
            Event::SlotOpDone(node, slot) => self.slot_op_done(node, slot as usize),
            Event::SlotUnassignDone(node, slot) => self.slot_unassign_done(node, slot as usize),
            Event::PoolSync(node, generation) => self.pool_sync(node, generation),
            Event::TopUpTimeout(node, generation) => self.top_up_timeout(node, generation),
            Event::StickyExpire(node, serial) => self.sticky_expire(node, serial),
            Event::IpamPass(node, token) => self.ipam_pass(node, token),
            Event::IpamCallDone(node) => self.ipam_call_done(node),
            Event::IpamAttachDone(node, slot) => self.ipam_attach_done(node, slot as usize),
            Event::NodeRuntimeSync(node, _) => self.node_runtime_sync(node),
            Event::NodeEmptyCheck(node, since) => self.node_empty_check(node, since),
            Event::PodEniDone(pod) => self.pod_eni_done(pod),
            Event::PodEniRetry(pod) => self.pod_eni_retry(pod),
            Event::PodEniGc => self.pod_eni_gc(),
            Event::AutoscalerTick => self.autoscaler_tick(),
            Event::SchedulerPass => self.scheduler_pass(),
        }
    }

    fn apply_action(&mut self, index: usize) {
        let action = &self.scenario.actions[index];
        match action.kind {
            ActionKind::AddVSwitch(vswitch) => self.vswitches[vswitch].exists = true,
            ActionKind::SetTerway(config) => self.current_config = config,
            ActionKind::RestartTerway => self.restart_terway(),
            ActionKind::ScaleNodePool {
                nodepool,
                nodes,
                min_nodes,
                max_nodes,
            } => self.scale_nodepool(nodepool, nodes, min_nodes, max_nodes),
        }
    }

    fn finish(mut self, counts: LoopCounts) -> RunResult {
        let horizon_ms = self.scenario.horizon_ms;
        // The last sample lands on the horizon unless the interval already put one there.
        if self.metrics.last_sample_ms() != Some(horizon_ms) {
            self.queue.advance_to(horizon_ms);
            self.record_sample(horizon_ms);
        }
        self.censor_waits_at_horizon();
        let node_launch_failures = self.node_launch_failures();
        let pods_created = self.pod_seq;
        self.metrics.into_result(
            &self.vswitches,
            counts.events,
            pods_created,
            node_launch_failures,
            counts.pending_mean(),
        )
    }
}

/// A world as the engine drives it: each event handled, and checked as the checker's mode says.
struct Stepper<'w, 's> {
    world: &'w mut World<'s>,
    checker: invariants::Checker,
}

impl Simulation for Stepper<'_, '_> {
    type Event = Event;
    type Error = InvariantViolation;

    #[inline]
    fn queue(&self) -> &EventQueue<Event> {
        &self.world.queue
    }

    #[inline]
    fn queue_mut(&mut self) -> &mut EventQueue<Event> {
        &mut self.world.queue
    }

    #[inline]
    fn handle(&mut self, at_ms: Millis, event: Event) -> Result<(), InvariantViolation> {
        if self.checker.is_off() {
            self.world.handle(event);
            Ok(())
        } else {
            self.world.handle_checked(event, at_ms, &mut self.checker)
        }
    }

    #[inline]
    fn prefetch(&self, next: Event) {
        self.world.prefetch_record(next);
    }
}

#[cfg(test)]
mod tests;
