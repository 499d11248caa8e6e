//! Pods with ENIs of their own, under centralized IPAM: trunk member ENIs for the pods of a
//! `PodNetworking`, and one ENI per pod on exclusive-ENI nodes.
//!
//! Sources: Terway's `pkg/controller/pod/pod_controller.go` (`podCreate`, `createENI`,
//! `reConfig`), `pod_controller_default.go` (vSwitch choice), `pkg/controller/pod-eni/
//! eni_controller.go` (the fixed-IP GC), `pkg/aliyun/client/limit.go` (`MemberAdapterLimit`) and
//! the domain note on modes (section 5) at HEAD `89aadf8`. What the model does, and where it
//! simplifies:
//!
//! - the pod controller acts when the pod is bound and makes one `CreateNetworkInterface` with
//!   one address (`IPCount: 1`) on the cluster-wide create rate limit; the ENI is usable after
//!   `[cloud] create_eni` (create plus attach). A fixed address held for the pod's name is
//!   attached again instead (the attach alone, 3 s), with no new address;
//! - the vSwitch is the PodNetworking's for the node's zone, or, with none, the node's
//!   `vswitches[zone]` (exclusive-ENI nodes); `ordered` and the no-policy fallback walk the list
//!   in order and take the first whose count in the controller's shared 20-minute cache is not
//!   0; `random` shuffles; `most` takes the largest count. `IpNotEnough` blocks the vSwitch in
//!   that cache for every node, as the multi-IP controller's own calls do;
//! - a failed pod is retried with the workqueue's per-item backoff, 5 ms doubling to 1000 s;
//! - a trunk node attaches at most `EniTotalQuantity - EniQuantity` member ENIs, offered as the
//!   extended resource `aliyun/member-eni` that PodNetworking pods request: the scheduler keeps
//!   a pod off a full node (the pod stays unschedulable and the autoscaler sees it), so a pod
//!   waits on its node for a member ENI only as a safeguard. Exclusive-ENI nodes run
//!   `Adapters - 1` pods (`max_pods`), so they never wait for an ENI slot;
//! - an elastic ENI and its address go when the pod goes (the delete call is not timed); a
//!   fixed one is kept, reused by the same-name StatefulSet pod, and freed by the GC (every
//!   minute, jitter not modelled) once `release_after` has passed since the pod was last seen.

use std::collections::BTreeMap;

use rand::seq::SliceRandom;

use super::centralized::NO_SLOT;
use crate::model::metrics::ShortageCause;
use crate::model::workload::{CniFailure, PodState};
use crate::model::{Event, NodeId, PodId, PodRef, World};
use crate::scenario::{MINUTE_MS, Millis, PodNetworkingSelection, SECOND_MS, WorkloadKind};

/// A pod's address is on an ENI of its own.
pub(in crate::model) const POD_ENI_SLOT: u8 = u8::MAX - 2;
/// The attach of an existing ENI (`reConfig` of a fixed-IP PodENI).
const ATTACH_MS: Millis = 3 * SECOND_MS;
/// The controller-runtime workqueue's per-item backoff: 5 ms doubling to 1000 s.
const RETRY_MIN_MS: Millis = 5;
const RETRY_MAX_MS: Millis = 1000 * SECOND_MS;
/// `podENICheckPeriod`: the fixed-IP GC.
pub(in crate::model) const GC_PERIOD_MS: Millis = MINUTE_MS;

/// Where a pod's own ENI is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::model) enum PodEniPhase {
    /// `CreateNetworkInterface` (and its attach) is out; the address is taken.
    Creating,
    /// The create was refused (`IpNotEnough`); nothing is taken.
    Refused,
    /// A held fixed ENI is attaching to the pod's node.
    Attaching,
    /// In use by the pod.
    Attached,
}

/// The ENI of one pod (a `PodENI` resource).
#[derive(Debug, Clone, Copy)]
pub(in crate::model) struct PodEni {
    pub node: NodeId,
    pub vswitch: usize,
    pub phase: PodEniPhase,
    /// When ECS received the call (after any wait for a rate-limit token).
    pub started_ms: Millis,
    /// Its address outlives the pod (`allocationType: Fixed`).
    pub fixed: bool,
}

/// A fixed address whose pod is gone.
#[derive(Debug, Clone, Copy)]
pub(in crate::model) struct HeldAddress {
    pub vswitch: usize,
    pub last_seen_ms: Millis,
    pub release_after_ms: Millis,
}

/// What the pod controller keeps across nodes.
#[derive(Debug, Clone, Default)]
pub(in crate::model) struct PodEnis {
    /// The ENIs of live pods (and their calls).
    pub by_pod: BTreeMap<PodId, PodEni>,
    /// Fixed addresses without a pod, by (workload, ordinal, serial).
    pub held: BTreeMap<(u32, u32, u32), HeldAddress>,
    /// Per pod waiting to be retried, its failures in a row.
    pub failures: BTreeMap<PodId, u32>,
    pub held_serial: u32,
    /// A GC tick is queued.
    pub gc_queued: bool,
}

impl World<'_> {
    /// Whether the pod's address comes from an ENI of its own: every pod of an exclusive-ENI
    /// node, and PodNetworking pods on a trunk node.
    pub(in crate::model) fn uses_own_eni(&self, pod: PodId) -> bool {
        let p = &self.pods[pod.0 as usize];
        let n = &self.nodes[p.node.0 as usize];
        let pod_enis = &self.scenario.pod_enis;
        pod_enis.is_exclusive(n.pool)
            || (pod_enis.member_limit(n.pool) > 0
                && pod_enis.podnetworking_of(p.workload as usize).is_some())
    }

    /// Whether the workload's pods request `aliyun/member-eni` (PodNetworking pods under
    /// trunking), which the scheduler counts against the nodes' member limit.
    pub(in crate::model) fn requests_member_eni(&self, workload: usize) -> bool {
        let pod_enis = &self.scenario.pod_enis;
        pod_enis.enable_eni_trunking && pod_enis.podnetworking_of(workload).is_some()
    }

    /// The `aliyun/member-eni` a node of the pool offers: `u32::MAX` (not counted) on
    /// exclusive-ENI nodes and without trunking.
    pub(in crate::model) fn member_limit_of(&self, pool: usize) -> u32 {
        let pod_enis = &self.scenario.pod_enis;
        if pod_enis.enable_eni_trunking && !pod_enis.is_exclusive(pool) {
            pod_enis.member_limit(pool)
        } else {
            u32::MAX
        }
    }

    /// Member ENIs a node may still attach (exclusive nodes: as many ENIs as secondary slots).
    fn eni_room(&self, node: NodeId) -> u32 {
        let n = &self.nodes[node.0 as usize];
        let limit = if self.scenario.pod_enis.is_exclusive(n.pool) {
            n.slots.len() as u32
        } else {
            self.scenario.pod_enis.member_limit(n.pool)
        };
        limit.saturating_sub(n.controller.pod_enis)
    }

    /// CNI ADD of a pod that gets an ENI of its own: the daemon waits (118 s) for the PodENI.
    pub(in crate::model) fn pod_eni_cni_add(&mut self, pod: PodId) {
        let now = self.now();
        let p = &self.pods[pod.0 as usize];
        let (node, attempt, seq) = (p.node, p.attempt, p.seq);
        if attempt > 1 && p.slot == POD_ENI_SLOT {
            // The ENI attached while the kubelet was backing off.
            self.pod_got_address(pod, POD_ENI_SLOT as usize, false);
            return;
        }
        if attempt == 1 {
            self.pods[pod.0 as usize].slot = NO_SLOT;
            self.nodes[node.0 as usize]
                .controller
                .eni_waiting
                .insert((seq, pod));
            self.pod_eni_try(pod);
        }
        if self.pods[pod.0 as usize].state == PodState::Attaching {
            let pod_ref = self.pod_ref(pod);
            self.queue.schedule(
                now + super::DAEMON_RPC_MS,
                Event::CniTimeout(pod_ref, attempt),
            );
        }
    }

    /// The vSwitches the pod's ENI may come from, in the order of the list.
    fn pod_eni_candidates(&self, pod: PodId) -> (Vec<usize>, PodNetworkingSelection) {
        let p = &self.pods[pod.0 as usize];
        let n = &self.nodes[p.node.0 as usize];
        match self.scenario.pod_enis.podnetworking_of(p.workload as usize) {
            Some(index) => {
                let pn = &self.scenario.pod_enis.podnetworkings[index];
                (pn.vswitches[n.zone].clone(), pn.selection)
            }
            None => (
                super::listed_or_eth0(
                    &self.listed_vswitches[n.daemon.config][n.zone],
                    &n.primary_vswitch,
                )
                .to_vec(),
                PodNetworkingSelection::Ordered,
            ),
        }
    }

    /// `GetOne` over the pod's candidates on the controller's shared cache.
    fn pod_eni_pick_vswitch(&mut self, pod: PodId) -> Option<usize> {
        let (candidates, selection) = self.pod_eni_candidates(pod);
        let zone = self.nodes[self.pods[pod.0 as usize].node.0 as usize].zone;
        let mut records = self.cached_records(&candidates, zone);
        match selection {
            PodNetworkingSelection::Ordered => records.first().map(|&(v, _)| v),
            PodNetworkingSelection::Random => {
                records.shuffle(&mut self.rng_terway);
                records.first().map(|&(v, _)| v)
            }
            PodNetworkingSelection::Most => records
                .iter()
                .copied()
                .reduce(|best, r| if r.1 > best.1 { r } else { best })
                .map(|(v, _)| v),
        }
    }

    /// Free addresses in the vSwitches the pod's ENI may come from.
    fn pod_eni_reachable(&self, pod: PodId) -> u32 {
        let (candidates, _) = self.pod_eni_candidates(pod);
        let zone = self.nodes[self.pods[pod.0 as usize].node.0 as usize].zone;
        candidates
            .iter()
            .map(|&v| &self.vswitches[v])
            .filter(|v| v.exists && v.zone == zone)
            .map(|v| v.free())
            .sum()
    }

    /// `podCreate` for a waiting pod: its held fixed ENI, or a new one, or a retry later.
    fn pod_eni_try(&mut self, pod: PodId) {
        let now = self.now();
        let p = &self.pods[pod.0 as usize];
        let (node, seq, workload, ordinal) = (p.node, p.seq, p.workload, p.ordinal);
        if self.pod_enis.by_pod.contains_key(&pod) {
            return;
        }
        if self.eni_room(node) == 0 {
            // `aliyun/member-eni` is used up: the pod waits for one of the node's to go.
            self.pod_enis.failures.remove(&pod);
            if !self.pods[pod.0 as usize].pending_ip {
                self.mark_pending_ip_with(pod, None, 0);
            }
            return;
        }
        let fixed = self
            .scenario
            .pod_enis
            .podnetworking_of(workload as usize)
            .and_then(|index| self.scenario.pod_enis.podnetworkings[index].fixed_release_after_ms)
            .is_some();
        let zone = self.nodes[node.0 as usize].zone;
        if fixed
            && matches!(
                self.scenario.workloads[workload as usize].kind,
                WorkloadKind::StatefulSet(_)
            )
            && let Some((&key, &held)) = self
                .pod_enis
                .held
                .range((workload, ordinal, 0)..=(workload, ordinal, u32::MAX))
                .next()
        {
            self.pod_enis.held.remove(&key);
            if self.vswitches[held.vswitch].zone == zone {
                self.nodes[node.0 as usize]
                    .controller
                    .eni_waiting
                    .remove(&(seq, pod));
                self.nodes[node.0 as usize].controller.pod_enis += 1;
                self.pod_enis.by_pod.insert(
                    pod,
                    PodEni {
                        node,
                        vswitch: held.vswitch,
                        phase: PodEniPhase::Attaching,
                        started_ms: now,
                        fixed: true,
                    },
                );
                let pod_ref = self.pod_ref(pod);
                self.queue
                    .schedule(now + ATTACH_MS, Event::PodEniDone(pod_ref));
                return;
            }
            // An ENI cannot move zones: the old address goes, a new one is made.
            self.return_addresses(held.vswitch, 1);
        }
        let Some(vswitch) = self.pod_eni_pick_vswitch(pod) else {
            self.pod_eni_failed(pod, ShortageCause::NoVSwitch);
            return;
        };
        let started = self.controller.create_limit.take(now);
        let (phase, done) = if self.vswitches[vswitch].free() >= 1 {
            self.metrics.api_calls.create_eni += 1;
            self.take_addresses(vswitch, 1);
            (
                PodEniPhase::Creating,
                started + self.scenario.cloud.create_eni_ms,
            )
        } else {
            self.metrics.api_calls.refused_ip_not_enough += 1;
            (
                PodEniPhase::Refused,
                started + self.scenario.cloud.api_error_ms,
            )
        };
        self.nodes[node.0 as usize]
            .controller
            .eni_waiting
            .remove(&(seq, pod));
        self.nodes[node.0 as usize].controller.pod_enis += 1;
        self.pod_enis.by_pod.insert(
            pod,
            PodEni {
                node,
                vswitch,
                phase,
                started_ms: started,
                fixed,
            },
        );
        let pod_ref = self.pod_ref(pod);
        self.queue.schedule(done, Event::PodEniDone(pod_ref));
    }

    /// The pod got no ENI this time: it waits (a shortage of the zone when none of its
    /// vSwitches has an address) and the controller retries it.
    fn pod_eni_failed(&mut self, pod: PodId, cause: ShortageCause) {
        let reachable = self.pod_eni_reachable(pod);
        let cause = if reachable == 0 {
            ShortageCause::VSwitchExhausted
        } else {
            cause
        };
        let (zone, now) = (
            self.nodes[self.pods[pod.0 as usize].node.0 as usize].zone,
            self.now(),
        );
        if self.pods[pod.0 as usize].pending_ip {
            if reachable == 0 {
                self.metrics.waiters_failed(zone, now, cause, 0, 1);
            }
        } else {
            self.mark_pending_ip_with(pod, Some(cause), reachable);
        }
        let failures = self.pod_enis.failures.entry(pod).or_insert(0);
        *failures += 1;
        let delay = (RETRY_MIN_MS << (*failures - 1).min(30)).min(RETRY_MAX_MS);
        let pod_ref = self.pod_ref(pod);
        self.queue.schedule_in(delay, Event::PodEniRetry(pod_ref));
    }

    /// The workqueue hands the pod to the controller again.
    pub(in crate::model) fn pod_eni_retry(&mut self, pod: PodRef) {
        let Some(id) = self.live_pod(pod) else {
            return;
        };
        let p = &self.pods[id.0 as usize];
        let waiting = self.nodes[p.node.0 as usize]
            .controller
            .eni_waiting
            .contains(&(p.seq, id));
        if waiting {
            self.pod_eni_try(id);
        }
    }

    /// The create (or the attach of a held ENI) returned.
    pub(in crate::model) fn pod_eni_done(&mut self, pod: PodRef) {
        let Some(id) = self.live_pod(pod) else {
            return;
        };
        let Some(eni) = self.pod_enis.by_pod.get_mut(&id) else {
            return;
        };
        match eni.phase {
            PodEniPhase::Refused => {
                let (node, vswitch) = (eni.node, eni.vswitch);
                self.pod_enis.by_pod.remove(&id);
                self.nodes[node.0 as usize].controller.pod_enis -= 1;
                // `swPool.Block`, in the same cluster-wide cache.
                self.block_vswitch(vswitch);
                let seq = self.pods[id.0 as usize].seq;
                self.nodes[node.0 as usize]
                    .controller
                    .eni_waiting
                    .insert((seq, id));
                self.pod_eni_failed(id, ShortageCause::VSwitchExhausted);
            }
            PodEniPhase::Creating | PodEniPhase::Attaching => {
                eni.phase = PodEniPhase::Attached;
                self.pod_enis.failures.remove(&id);
                if self.pods[id.0 as usize].state == PodState::Attaching {
                    self.pod_got_address(id, POD_ENI_SLOT as usize, false);
                } else {
                    // The kubelet is backing off; its next CNI ADD finds the address.
                    self.pods[id.0 as usize].slot = POD_ENI_SLOT;
                }
            }
            PodEniPhase::Attached => unreachable!("one call per PodENI"),
        }
    }

    /// The pod is gone: an elastic ENI goes with its address, a fixed one is held for its name;
    /// a pod still waiting leaves the queue. Returns whether the pod had an ENI of its own.
    pub(in crate::model) fn pod_eni_remove(&mut self, pod: PodId) -> bool {
        let p = &self.pods[pod.0 as usize];
        let (node, seq, workload, ordinal) = (p.node, p.seq, p.workload, p.ordinal);
        self.pod_enis.failures.remove(&pod);
        if self.nodes[node.0 as usize]
            .controller
            .eni_waiting
            .remove(&(seq, pod))
        {
            return true;
        }
        let Some(eni) = self.pod_enis.by_pod.remove(&pod) else {
            return false;
        };
        self.nodes[node.0 as usize].controller.pod_enis -= 1;
        if eni.phase != PodEniPhase::Refused {
            let release_after = self
                .scenario
                .pod_enis
                .podnetworking_of(workload as usize)
                .and_then(|index| {
                    self.scenario.pod_enis.podnetworkings[index].fixed_release_after_ms
                });
            match release_after {
                Some(release_after_ms) if eni.fixed => {
                    self.pod_enis.held_serial += 1;
                    let serial = self.pod_enis.held_serial;
                    self.pod_enis.held.insert(
                        (workload, ordinal, serial),
                        HeldAddress {
                            vswitch: eni.vswitch,
                            last_seen_ms: self.now(),
                            release_after_ms,
                        },
                    );
                    if !self.pod_enis.gc_queued {
                        self.pod_enis.gc_queued = true;
                        self.queue.schedule_in(GC_PERIOD_MS, Event::PodEniGc);
                    }
                }
                _ => self.return_addresses(eni.vswitch, 1),
            }
        }
        // A member ENI of the node is free: the first pod waiting for one tries again.
        let next = self.nodes[node.0 as usize]
            .controller
            .eni_waiting
            .iter()
            .map(|&(_, waiting)| waiting)
            .find(|waiting| !self.pod_enis.failures.contains_key(waiting));
        if let Some(waiting) = next {
            self.pod_eni_try(waiting);
        }
        true
    }

    /// The fixed-IP GC: addresses whose pod was last seen `release_after` ago are freed.
    pub(in crate::model) fn pod_eni_gc(&mut self) {
        let now = self.now();
        let expired: Vec<(u32, u32, u32)> = self
            .pod_enis
            .held
            .iter()
            .filter(|(_, held)| held.last_seen_ms + held.release_after_ms <= now)
            .map(|(&key, _)| key)
            .collect();
        for key in expired {
            let held = self.pod_enis.held.remove(&key).expect("listed above");
            self.return_addresses(held.vswitch, 1);
        }
        if self.pod_enis.held.is_empty() {
            self.pod_enis.gc_queued = false;
        } else {
            self.queue.schedule_in(GC_PERIOD_MS, Event::PodEniGc);
        }
    }

    /// A daemon restart fails the CNI calls of pods waiting for their ENI.
    pub(in crate::model) fn pod_eni_daemon_restart(&mut self, id: NodeId) {
        let waiting: Vec<PodId> = self.nodes[id.0 as usize]
            .controller
            .eni_waiting
            .iter()
            .map(|&(_, pod)| pod)
            .chain(
                self.pod_enis
                    .by_pod
                    .iter()
                    .filter(|(_, eni)| eni.node == id && eni.phase != PodEniPhase::Attached)
                    .map(|(&pod, _)| pod),
            )
            .filter(|pod| self.pods[pod.0 as usize].state == PodState::Attaching)
            .collect();
        for pod in waiting {
            self.cni_failed(pod, CniFailure::DaemonRestart);
        }
    }
}
