//! Pods and the controllers that create and delete them: Deployments (with rolling updates),
//! StatefulSets (stable names, ordered or parallel) and Jobs (Poisson arrivals).

use std::collections::BTreeSet;
use std::f64::consts::PI;

use rand::RngExt;

use super::metrics::ShortageCause;
use super::{Event, NodeId, PodId, PodRef, World};
use crate::scenario::{
    Amount, DAY_MS, IpamType, JobDuration, Millis, PodManagement, Replicated, SECOND_MS,
    WorkloadKind,
};

/// The CNI plugin gives up on ADD after 120 s.
pub(super) const CNI_TIMEOUT_MS: Millis = 120 * SECOND_MS;
/// The kubelet retries a failed sandbox after 10 s, doubling to 5 minutes; its pod workers
/// requeue with a jitter of up to half the period, so pods that failed together do not all
/// retry in the same instant.
const BACKOFF_INITIAL_MS: Millis = 10 * SECOND_MS;
const BACKOFF_MAX_MS: Millis = 300 * SECOND_MS;
const BACKOFF_JITTER: f64 = 0.5;
/// How often a moving replica target is re-read (about an HPA's sync period).
const TARGET_RESOLUTION_MS: Millis = 15 * SECOND_MS;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PodState {
    /// No node fits it.
    Unscheduled,
    /// Bound to a node; its CNI ADD is out (queued on a slot, or about to be made).
    Attaching,
    /// Bound to a node; the last CNI ADD failed and the kubelet waits to retry.
    Backoff,
    /// Has an address.
    Running,
    /// Deleted by its controller but still stopping: it keeps its node resources and address.
    Terminating,
    /// Deleted; the table entry is free.
    Gone,
}

/// A pod.
///
/// `repr(C, align(16))`: 48 bytes, with the generation, state and node (what most events
/// check first) in the first 16, which never straddle a cache line.
#[derive(Debug, Clone)]
#[repr(C, align(16))]
pub(super) struct Pod {
    pub generation: u32,
    pub state: PodState,
    /// The slot holding the pod's address; while it waits for one, the slot its request is
    /// queued on.
    pub slot: u8,
    pub holds_primary: bool,
    /// Whether the pod is counted as waiting for an address (`pods_pending_ip`).
    pub pending_ip: bool,
    pub node: NodeId,
    /// StatefulSet ordinal (its name); 0 for others.
    pub ordinal: u32,
    /// Index into the scenario's workloads.
    pub workload: u32,
    pub revision: u32,
    /// CNI ADD attempts so far, and failed ones.
    pub attempt: u32,
    pub failures: u32,
    pub seq: u64,
    pub first_attempt_ms: Millis,
}

impl Pod {
    pub fn is_waiting_for_address(&self) -> bool {
        self.state == PodState::Attaching
    }
}

/// Why a CNI ADD failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CniFailure {
    /// The Terway daemon restarted under the call.
    DaemonRestart,
    /// No address came: refused, or timed out. `Some` when the zone's vSwitches are the cause.
    NoAddress(Option<ShortageCause>),
}

/// Pods of one workload by creation, i.e. oldest first. A pod's revision is the workload's
/// revision when it was created, which only grows, so creation order is also revision order.
type PodKey = (u64, PodId);

/// A workload's pods in one state: ordered where its controller picks by age (a Deployment's
/// rollouts and scale-downs, the scheduler's queue), otherwise only counted. Jobs and
/// StatefulSets never ask which of their starting or running pods is oldest, and most pods
/// of a run are jobs, so counting saves two tree updates per pod on the hot path.
#[derive(Debug, Clone)]
enum PodSet {
    Ordered(BTreeSet<PodKey>),
    Counted(u32),
}

impl PodSet {
    fn insert(&mut self, key: PodKey) {
        match self {
            PodSet::Ordered(set) => {
                let inserted = set.insert(key);
                debug_assert!(inserted, "pod already in its workload's set");
            }
            PodSet::Counted(count) => *count += 1,
        }
    }

    fn remove(&mut self, key: &PodKey) {
        match self {
            PodSet::Ordered(set) => {
                let removed = set.remove(key);
                debug_assert!(removed, "pod missing from its workload's set");
            }
            PodSet::Counted(count) => *count -= 1,
        }
    }

    fn len(&self) -> usize {
        match self {
            PodSet::Ordered(set) => set.len(),
            PodSet::Counted(count) => *count as usize,
        }
    }

    fn ordered(&self) -> &BTreeSet<PodKey> {
        match self {
            PodSet::Ordered(set) => set,
            PodSet::Counted(_) => unreachable!("only ordered pod sets are asked for an order"),
        }
    }

    fn first(&self) -> Option<PodId> {
        self.ordered().first().map(|&(_, pod)| pod)
    }

    fn last(&self) -> Option<PodId> {
        self.ordered().last().map(|&(_, pod)| pod)
    }
}

/// A workload controller's view of its pods.
#[derive(Debug, Clone)]
pub(super) struct WorkloadState {
    pub revision: u32,
    unscheduled: PodSet,
    starting: PodSet,
    running: PodSet,
    /// Pods of the current revision, and of those the running ones.
    current_total: u32,
    current_running: u32,
    /// Scheduled pods per zone (index into `scenario.zones`), for spreading.
    pub zone_pods: Vec<u32>,
    /// StatefulSets: the pod holding each ordinal.
    ordinals: Vec<Option<PodId>>,
    reconcile_pending: bool,
    /// Jobs with a log-normal duration: its (mu, sigma), worked out once.
    log_normal: (f64, f64),
}

impl WorkloadState {
    fn new(kind: &WorkloadKind, zones: usize) -> Self {
        let by_age = matches!(kind, WorkloadKind::Deployment(_));
        let set = |ordered: bool| {
            if ordered {
                PodSet::Ordered(BTreeSet::new())
            } else {
                PodSet::Counted(0)
            }
        };
        WorkloadState {
            revision: 0,
            unscheduled: set(true),
            starting: set(by_age),
            running: set(by_age),
            current_total: 0,
            current_running: 0,
            zone_pods: vec![0; zones],
            ordinals: Vec::new(),
            reconcile_pending: false,
            log_normal: match kind {
                WorkloadKind::Job(job) => match job.duration {
                    JobDuration::LogNormal { p50_ms, p99_ms } => {
                        // z(0.99) of the standard normal.
                        let mu = (p50_ms as f64).ln();
                        (mu, ((p99_ms as f64).ln() - mu) / 2.326_347_874)
                    }
                    JobDuration::Exponential { .. } => (0.0, 0.0),
                },
                _ => (0.0, 0.0),
            },
        }
    }

    fn total(&self) -> u32 {
        (self.unscheduled.len() + self.starting.len() + self.running.len()) as u32
    }

    pub fn unscheduled_count(&self) -> usize {
        self.unscheduled.len()
    }

    pub fn first_unscheduled(&self) -> Option<PodId> {
        self.unscheduled.first()
    }

    fn set_of(&mut self, state: PodState) -> &mut PodSet {
        match state {
            PodState::Unscheduled => &mut self.unscheduled,
            PodState::Attaching | PodState::Backoff => &mut self.starting,
            PodState::Running => &mut self.running,
            PodState::Terminating | PodState::Gone => unreachable!("stopping pods are in no set"),
        }
    }
}

/// `Amount` of `replicas`, rounded up (surge) or down (unavailable) as Kubernetes does.
fn resolve(amount: Amount, replicas: u32, round_up: bool) -> u32 {
    match amount {
        Amount::Count(count) => count,
        Amount::Percent(percent) => {
            let exact = f64::from(replicas) * percent / 100.0;
            (if round_up {
                exact.ceil()
            } else {
                exact.floor()
            }) as u32
        }
    }
}

impl<'s> World<'s> {
    pub(super) fn pod_ref(&self, id: PodId) -> PodRef {
        PodRef {
            id,
            generation: self.pods[id.0 as usize].generation,
        }
    }

    /// The pod an event names, unless it is gone since.
    pub(super) fn live_pod(&self, pod: PodRef) -> Option<PodId> {
        let p = self.pods.get(pod.id.0 as usize)?;
        (p.generation == pod.generation && p.state != PodState::Gone).then_some(pod.id)
    }

    pub(super) fn init_workloads(&mut self) {
        let zones = self.scenario.zones.len();
        for (index, spec) in self.scenario.workloads.iter().enumerate() {
            self.workloads.push(WorkloadState::new(&spec.kind, zones));
            let w = index as u32;
            match &spec.kind {
                WorkloadKind::Deployment(replicated) | WorkloadKind::StatefulSet(replicated) => {
                    self.queue.schedule(0, Event::WorkloadTick(w));
                    if let Some(every) = replicated.rollout_every_ms {
                        self.queue.schedule(every, Event::RolloutStart(w));
                    }
                }
                WorkloadKind::Job(_) => self.schedule_job_arrival(index, 0),
            }
        }
    }

    fn replicated(&self, workload: usize) -> &'s Replicated {
        match &self.scenario.workloads[workload].kind {
            WorkloadKind::Deployment(r) | WorkloadKind::StatefulSet(r) => r,
            WorkloadKind::Job(_) => unreachable!("jobs have no replica target"),
        }
    }

    /// The replica target now: the curve, with the daily swing.
    fn target(&self, workload: usize) -> u32 {
        let replicated = self.replicated(workload);
        let now = self.now();
        let base = replicated.replicas.at(now);
        let phase = 2.0 * PI * (now % DAY_MS) as f64 / DAY_MS as f64;
        let swung = base * (1.0 + replicated.daily_swing * phase.sin());
        swung.round().max(0.0) as u32
    }

    pub(super) fn workload_tick(&mut self, workload: usize) {
        self.workload_reconcile(workload);
        let replicated = self.replicated(workload);
        let now = self.now();
        let next = if replicated.daily_swing != 0.0
            || replicated
                .replicas
                .changes_within(now, now + TARGET_RESOLUTION_MS)
        {
            Some(now + TARGET_RESOLUTION_MS)
        } else {
            // Flat until the next point where the curve starts moving again.
            replicated
                .replicas
                .points
                .iter()
                .map(|&(at, _)| at)
                .find(|&at| at > now)
        };
        if let Some(next) = next.filter(|&next| next <= self.scenario.horizon_ms) {
            self.queue
                .schedule(next, Event::WorkloadTick(workload as u32));
        }
    }

    fn request_reconcile(&mut self, workload: usize) {
        let state = &mut self.workloads[workload];
        if !state.reconcile_pending {
            state.reconcile_pending = true;
            self.queue
                .schedule_in(0, Event::WorkloadReconcile(workload as u32));
        }
    }

    pub(super) fn workload_reconcile(&mut self, workload: usize) {
        self.workloads[workload].reconcile_pending = false;
        match &self.scenario.workloads[workload].kind {
            WorkloadKind::Deployment(_) => self.reconcile_deployment(workload),
            WorkloadKind::StatefulSet(_) => self.reconcile_statefulset(workload),
            WorkloadKind::Job(_) => {}
        }
    }

    pub(super) fn rollout_start(&mut self, workload: usize) {
        let state = &mut self.workloads[workload];
        state.revision += 1;
        state.current_total = 0;
        state.current_running = 0;
        self.request_reconcile(workload);
        if let Some(every) = self.replicated(workload).rollout_every_ms {
            self.queue
                .schedule_in(every, Event::RolloutStart(workload as u32));
        }
    }

    /// The Deployment controller, reduced to what moves addresses: scale to the target; during a
    /// rollout create new pods up to `max_surge` above the target and delete old ones while at
    /// least target - `max_unavailable` are running.
    fn reconcile_deployment(&mut self, workload: usize) {
        let replicas = self.target(workload);
        let replicated = self.replicated(workload);
        let state = &self.workloads[workload];
        let total = state.total();
        let old = total - state.current_total;
        if old == 0 {
            if total < replicas {
                (total..replicas).for_each(|_| {
                    self.create_pod(workload, 0);
                });
            } else {
                for _ in replicas..total {
                    self.delete_newest(workload);
                }
            }
            return;
        }
        let surge = resolve(replicated.max_surge, replicas, true);
        let mut unavailable = resolve(replicated.max_unavailable, replicas, false);
        if surge == 0 && unavailable == 0 {
            unavailable = 1;
        }
        let new_target = replicas.min((replicas + surge).saturating_sub(old));
        let current = state.current_total;
        for _ in current..new_target {
            self.create_pod(workload, 0);
        }
        for _ in replicas..current {
            self.delete_newest(workload);
        }
        // Old pods that are not running cost no availability.
        while let Some(pod) = self.oldest_old(workload, false) {
            self.delete_pod(pod);
        }
        let min_available = replicas.saturating_sub(unavailable);
        while (self.workloads[workload].running.len() as u32) > min_available {
            let Some(pod) = self.oldest_old(workload, true) else {
                break;
            };
            self.delete_pod(pod);
        }
    }

    /// The oldest pod of an earlier revision that is (or is not) running.
    fn oldest_old(&self, workload: usize, running: bool) -> Option<PodId> {
        let state = &self.workloads[workload];
        let revision = state.revision;
        let pick = |set: &PodSet| {
            set.first()
                .filter(|pod| self.pods[pod.0 as usize].revision < revision)
        };
        if running {
            pick(&state.running)
        } else {
            pick(&state.unscheduled).or_else(|| pick(&state.starting))
        }
    }

    /// Scale-down victim: unscheduled first, then not yet running, then the newest running.
    fn delete_newest(&mut self, workload: usize) {
        let state = &self.workloads[workload];
        let victim = state
            .unscheduled
            .last()
            .or_else(|| state.starting.last())
            .or_else(|| state.running.last());
        if let Some(pod) = victim {
            self.delete_pod(pod);
        }
    }

    /// The StatefulSet controller: ordinals 0..target; scale-down removes the highest first;
    /// `ordered_ready` creates ordinal i only once every lower one runs; a rollout replaces the
    /// highest old ordinal once every pod runs.
    fn reconcile_statefulset(&mut self, workload: usize) {
        let replicas = self.target(workload) as usize;
        let ordered = self.replicated(workload).pod_management == PodManagement::OrderedReady;
        let state = &mut self.workloads[workload];
        if state.ordinals.len() < replicas {
            state.ordinals.resize(replicas, None);
        }
        for ordinal in (replicas..state.ordinals.len()).rev() {
            if let Some(pod) = self.workloads[workload].ordinals[ordinal] {
                self.delete_pod(pod);
            }
        }
        self.workloads[workload].ordinals.truncate(replicas);
        for ordinal in 0..replicas {
            match self.workloads[workload].ordinals[ordinal] {
                Some(pod) if self.pods[pod.0 as usize].state == PodState::Running => {}
                Some(_) if ordered => return,
                Some(_) => {}
                None => {
                    let pod = self.create_pod(workload, ordinal as u32);
                    self.workloads[workload].ordinals[ordinal] = Some(pod);
                    if ordered {
                        return;
                    }
                }
            }
        }
        let state = &self.workloads[workload];
        if state.current_total == state.total() || state.running.len() != replicas {
            return;
        }
        let revision = state.revision;
        let outdated = state
            .ordinals
            .iter()
            .rev()
            .find_map(|pod| pod.filter(|pod| self.pods[pod.0 as usize].revision < revision));
        if let Some(pod) = outdated {
            self.delete_pod(pod);
            self.request_reconcile(workload);
        }
    }

    fn schedule_job_arrival(&mut self, workload: usize, from_ms: Millis) {
        let WorkloadKind::Job(job) = &self.scenario.workloads[workload].kind else {
            unreachable!("only jobs arrive")
        };
        let peak_per_hour = job.arrivals_per_hour.max();
        if peak_per_hour <= 0.0 {
            return;
        }
        // Thinning: candidates at the peak rate, each kept with probability rate(t) / peak.
        let per_ms = peak_per_hour / 3_600_000.0;
        let mut at = from_ms as f64;
        loop {
            let uniform: f64 = self.rng_workload.random();
            at += -(1.0 - uniform).ln() / per_ms;
            if at > self.scenario.horizon_ms as f64 {
                return;
            }
            let keep: f64 = self.rng_workload.random();
            if keep * peak_per_hour < job.arrivals_per_hour.at(at as Millis) {
                break;
            }
        }
        self.queue
            .schedule(at as Millis, Event::JobArrival(workload as u32));
    }

    pub(super) fn job_arrival(&mut self, workload: usize) {
        self.create_pod(workload, 0);
        let now = self.now();
        self.schedule_job_arrival(workload, now);
    }

    fn job_duration(&mut self, workload: usize, duration: JobDuration) -> Millis {
        let uniform = |world: &mut Self| 1.0 - world.rng_workload.random::<f64>();
        match duration {
            JobDuration::Exponential { mean_ms } => {
                (-uniform(self).ln() * mean_ms as f64) as Millis
            }
            JobDuration::LogNormal { .. } => {
                let (mu, sigma) = self.workloads[workload].log_normal;
                let (u1, u2) = (uniform(self), uniform(self));
                let normal = (-2.0 * u1.ln()).sqrt() * (2.0 * PI * u2).cos();
                (mu + sigma * normal).exp() as Millis
            }
        }
    }

    /// A new pod of the workload's current revision; scheduled at once if a node fits.
    fn create_pod(&mut self, workload: usize, ordinal: u32) -> PodId {
        let revision = self.workloads[workload].revision;
        self.pod_seq += 1;
        let seq = self.pod_seq;
        let (id, generation) = match self.free_pods.pop() {
            Some(id) => (id, self.pods[id.0 as usize].generation + 1),
            None => (PodId(self.pods.len() as u32), 0),
        };
        // The scheduler looks at once; a pod it places never enters the unscheduled queue.
        let node = self.find_node(workload);
        let pod = Pod {
            generation,
            state: if node.is_some() {
                PodState::Attaching
            } else {
                PodState::Unscheduled
            },
            workload: workload as u32,
            ordinal,
            revision,
            seq,
            node: NodeId(u32::MAX),
            slot: 0,
            holds_primary: false,
            attempt: 0,
            failures: 0,
            first_attempt_ms: 0,
            pending_ip: false,
        };
        let initial = pod.state;
        if id.0 as usize == self.pods.len() {
            self.pods.push(pod);
        } else {
            self.pods[id.0 as usize] = pod;
        }
        let state = &mut self.workloads[workload];
        state.set_of(initial).insert((seq, id));
        state.current_total += 1;
        match node {
            Some(node) => self.bind_pod(id, node),
            None => {
                self.metrics.pods_unschedulable += 1;
                self.request_autoscaler();
            }
        }
        id
    }

    pub(super) fn move_pod(&mut self, pod: PodId, to: PodState) {
        let p = &mut self.pods[pod.0 as usize];
        let (from, key, workload, revision) =
            (p.state, (p.seq, pod), p.workload as usize, p.revision);
        p.state = to;
        let state = &mut self.workloads[workload];
        let counted = |s: PodState| !matches!(s, PodState::Terminating | PodState::Gone);
        let same_set = matches!(
            (from, to),
            (
                PodState::Attaching | PodState::Backoff,
                PodState::Attaching | PodState::Backoff
            )
        );
        if counted(from) && !same_set {
            state.set_of(from).remove(&key);
        }
        if counted(to) && !same_set {
            state.set_of(to).insert(key);
        }
        let current = revision == state.revision;
        if current && from == PodState::Running {
            state.current_running -= 1;
        }
        if current && to == PodState::Running {
            state.current_running += 1;
        }
        if current && counted(from) && !counted(to) {
            state.current_total -= 1;
        }
        if from == PodState::Running {
            self.metrics.pods_running -= 1;
        }
        if to == PodState::Running {
            self.metrics.pods_running += 1;
        }
        if from == PodState::Unscheduled {
            self.metrics.pods_unschedulable -= 1;
        }
    }

    /// Binds an unscheduled pod to a node.
    pub(super) fn schedule_pod(&mut self, pod: PodId, node: NodeId) {
        self.move_pod(pod, PodState::Attaching);
        self.bind_pod(pod, node);
    }

    /// The pod has an address on `slot` of its node: it runs.
    pub(super) fn pod_got_address(&mut self, pod: PodId, slot: usize, holds_primary: bool) {
        let now = self.now();
        let p = &mut self.pods[pod.0 as usize];
        p.slot = slot as u8;
        p.holds_primary = holds_primary;
        let (workload, waited) = (p.workload as usize, now - p.first_attempt_ms);
        let zone = self.nodes[p.node.0 as usize].zone;
        self.clear_pending_ip(pod);
        self.move_pod(pod, PodState::Running);
        self.metrics.record_ip_wait(zone, waited);
        match &self.scenario.workloads[workload].kind {
            WorkloadKind::Job(job) => {
                let run_ms = self.job_duration(workload, job.duration);
                let pod_ref = self.pod_ref(pod);
                self.queue.schedule_in(run_ms, Event::JobEnd(pod_ref));
            }
            _ => self.request_reconcile(workload),
        }
    }

    /// The CNI ADD failed; the kubelet retries with backoff.
    pub(super) fn cni_failed(&mut self, pod: PodId, why: CniFailure) {
        if let CniFailure::NoAddress(cause) = why {
            self.mark_pending_ip(pod, cause);
        }
        let p = &mut self.pods[pod.0 as usize];
        p.failures += 1;
        let doublings = (p.failures - 1).min(16);
        let period = (BACKOFF_INITIAL_MS << doublings).min(BACKOFF_MAX_MS);
        let jitter: f64 = self.rng_timers.random();
        let delay = period + (period as f64 * BACKOFF_JITTER * jitter) as Millis;
        self.move_pod(pod, PodState::Backoff);
        let pod_ref = self.pod_ref(pod);
        self.queue.schedule_in(delay, Event::CniAttempt(pod_ref));
    }

    /// The pod now counts as waiting for an address; with a cause, its zone has a shortage.
    pub(super) fn mark_pending_ip(&mut self, pod: PodId, cause: Option<ShortageCause>) {
        let reachable = match cause {
            Some(_) => self.reachable_free(self.pods[pod.0 as usize].node),
            None => 0,
        };
        self.mark_pending_ip_with(pod, cause, reachable);
    }

    /// As [`World::mark_pending_ip`], with the node's reachable free addresses already known.
    pub(super) fn mark_pending_ip_with(
        &mut self,
        pod: PodId,
        cause: Option<ShortageCause>,
        reachable: u32,
    ) {
        let now = self.now();
        let p = &mut self.pods[pod.0 as usize];
        let zone = self.nodes[p.node.0 as usize].zone;
        if !p.pending_ip {
            p.pending_ip = true;
            self.metrics.pending_ip_changed(zone, 1);
        }
        if let Some(cause) = cause {
            self.metrics.waiters_failed(zone, now, cause, reachable, 1);
        }
    }

    fn clear_pending_ip(&mut self, pod: PodId) {
        let p = &mut self.pods[pod.0 as usize];
        if p.pending_ip {
            p.pending_ip = false;
            let zone = self.nodes[p.node.0 as usize].zone;
            self.metrics.pending_ip_changed(zone, -1);
        }
    }

    /// Pods still waiting for an address when the run ends count at the wait observed so far:
    /// one pass over the pod table, at the end, so the handlers never scan for them.
    pub(super) fn censor_waits_at_horizon(&mut self) {
        let now = self.scenario.horizon_ms;
        for p in &self.pods {
            if p.attempt > 0 && matches!(p.state, PodState::Attaching | PodState::Backoff) {
                let zone = self.nodes[p.node.0 as usize].zone;
                self.metrics
                    .record_censored_wait(zone, now - p.first_attempt_ms);
            }
        }
    }

    /// A controller deletes a pod. A running pod first stops for its `termination_grace`,
    /// keeping its address; the controller no longer counts it.
    pub(super) fn delete_pod(&mut self, pod: PodId) {
        let p = &self.pods[pod.0 as usize];
        let grace_ms = self.scenario.workloads[p.workload as usize].termination_grace_ms;
        match p.state {
            PodState::Terminating => {}
            PodState::Running if grace_ms > 0 => {
                let workload = p.workload as usize;
                self.move_pod(pod, PodState::Terminating);
                let pod_ref = self.pod_ref(pod);
                self.queue
                    .schedule_in(grace_ms, Event::PodTerminated(pod_ref));
                self.request_reconcile(workload);
            }
            _ => self.remove_pod(pod),
        }
    }

    /// A stopping pod is gone.
    pub(super) fn pod_terminated(&mut self, pod: PodRef) {
        if let Some(id) = self.live_pod(pod)
            && self.pods[id.0 as usize].state == PodState::Terminating
        {
            self.remove_pod(id);
        }
    }

    /// The pod is gone: a CNI DEL releases its address (or Terway holds it, for StatefulSets),
    /// and its node resources are free.
    pub(super) fn remove_pod(&mut self, pod: PodId) {
        let p = &self.pods[pod.0 as usize];
        let (state, workload, node, slot) = (p.state, p.workload as usize, p.node, p.slot as usize);
        let (ordinal, holds_primary) = (p.ordinal, p.holds_primary);
        if p.attempt > 0 && matches!(state, PodState::Attaching | PodState::Backoff) {
            let (zone, waited) = (
                self.nodes[node.0 as usize].zone,
                self.now() - p.first_attempt_ms,
            );
            self.metrics.record_censored_wait(zone, waited);
        }
        let kind = &self.scenario.workloads[workload].kind;
        let centralized = state != PodState::Unscheduled
            && self.nodes[node.0 as usize].ipam == IpamType::Centralized;
        match state {
            _ if centralized => self.controller_remove_pod(pod),
            PodState::Unscheduled => {}
            PodState::Attaching => {
                // Its request, if still queued, waits on the slot it names.
                let pod_ref = self.pod_ref(pod);
                self.nodes[node.0 as usize].slots[slot]
                    .queue
                    .retain(|request| request.pod != Some(pod_ref));
            }
            PodState::Backoff => {}
            PodState::Running | PodState::Terminating => {
                if matches!(kind, WorkloadKind::StatefulSet(_)) {
                    self.hold_sticky_address(node, slot, workload, ordinal, holds_primary);
                } else {
                    self.release_address(node, slot, holds_primary);
                }
            }
            PodState::Gone => unreachable!("a gone pod is not deleted again"),
        }
        if state != PodState::Unscheduled {
            self.clear_pending_ip(pod);
            self.unbind_pod(pod);
        }
        self.move_pod(pod, PodState::Gone);
        let state = &mut self.workloads[workload];
        if let Some(entry) = state.ordinals.get_mut(ordinal as usize)
            && *entry == Some(pod)
        {
            *entry = None;
        }
        let p = &mut self.pods[pod.0 as usize];
        p.generation += 1;
        self.free_pods.push(pod);
        if !matches!(kind, WorkloadKind::Job(_)) {
            self.request_reconcile(workload);
        }
    }
}
