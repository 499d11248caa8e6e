//! Today's pods into workloads: grouped by owner (a ReplicaSet's Deployment, a Job's CronJob),
//! with the largest request, and the addresses they hold per vSwitch; pods that take no
//! Terway address are counted and left out.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::vswitches::vswitch_of;
use super::{Builder, Cluster, ImportError, Kind, Workload, Workloads, kube};

impl Builder<'_, '_> {
    pub(super) fn workloads(
        &mut self,
        pods: Option<&(&Path, Vec<kube::Pod>)>,
        cluster: &Cluster,
    ) -> Result<Workloads, ImportError> {
        let mut out = Workloads {
            list: Vec::new(),
            pod_held: vec![0; self.described.len()],
            host_network: 0,
            finished: 0,
            on_skipped_nodes: 0,
            terminating: 0,
            taking: 0,
        };
        let Some((_, pods)) = pods else {
            return Ok(out);
        };
        let mut groups: BTreeMap<(String, Kind, String), Workload> = BTreeMap::new();
        for pod in pods {
            if pod
                .node
                .as_ref()
                .is_some_and(|n| cluster.skipped_nodes.contains(n))
            {
                out.on_skipped_nodes += 1;
                continue;
            }
            if pod.host_network {
                out.host_network += 1;
                continue;
            }
            if !pod.takes_address() {
                out.finished += 1;
                continue;
            }
            for ip in &pod.ips {
                if let Some(v) = vswitch_of(self.described, *ip) {
                    out.pod_held[v] += 1;
                }
            }
            if pod.deleting {
                out.terminating += 1;
                continue;
            }
            out.taking += 1;
            let (kind, name, source) = self.owner(pod);
            let key = (pod.namespace.clone(), kind, name.clone());
            let entry = groups.entry(key).or_insert_with(|| Workload {
                name: format!("{}/{name}", pod.namespace),
                kind,
                source,
                pods: 0,
                cpu_millis: 0,
                memory_bytes: 0,
                nodepool: pod.nodepool_selector.clone(),
                podnetworking_votes: BTreeMap::new(),
                podnetworking_how: BTreeSet::new(),
            });
            let matched = self.podnetworking_of(pod, kind);
            *entry
                .podnetworking_votes
                .entry(matched.map(|(i, _)| i))
                .or_default() += 1;
            entry.podnetworking_how.extend(matched.map(|(_, how)| how));
            entry.pods += 1;
            entry.cpu_millis = entry.cpu_millis.max(pod.cpu_millis);
            entry.memory_bytes = entry.memory_bytes.max(pod.memory_bytes);
            if entry.nodepool != pod.nodepool_selector {
                entry.nodepool = None;
            }
        }
        let mut names: BTreeMap<String, usize> = BTreeMap::new();
        for workload in groups.values() {
            *names.entry(workload.name.clone()).or_default() += 1;
        }
        for (_, mut workload) in groups {
            if names[&workload.name] > 1 {
                workload.name = format!("{} ({})", workload.name, kind_name(workload.kind));
            }
            // Only a selector on a node pool that import kept whole can pin the workload.
            if let Some(label) = &workload.nodepool
                && !cluster.pools.iter().any(|p| &p.name == label)
            {
                workload.nodepool = None;
            }
            out.list.push(workload);
        }
        Ok(out)
    }

    /// The workload a pod belongs to: (kind, name, where the name came from).
    fn owner(&self, pod: &kube::Pod) -> (Kind, String, String) {
        let Some((kind, name)) = &pod.owner else {
            return (
                Kind::Deployment,
                "pods-without-owner".to_string(),
                "pods with no ownerReferences, as one Deployment".to_string(),
            );
        };
        match kind.as_str() {
            "ReplicaSet" => match kube::deployment_of(name, pod.template_hash.as_deref()) {
                Some(deployment) => (
                    Kind::Deployment,
                    deployment.clone(),
                    format!(
                        "Deployment `{deployment}`: ReplicaSet `{name}` less its pod-template-hash"
                    ),
                ),
                None => (
                    Kind::Deployment,
                    name.clone(),
                    format!("ReplicaSet `{name}`"),
                ),
            },
            "StatefulSet" => (
                Kind::StatefulSet,
                name.clone(),
                format!("StatefulSet `{name}`"),
            ),
            "DaemonSet" => (
                Kind::DaemonSet,
                name.clone(),
                format!(
                    "DaemonSet `{name}`: one pod per node today; the scenario has no DaemonSet kind, so nodes added later get none"
                ),
            ),
            "Job" => match kube::cronjob_of(name) {
                Some(cronjob) => (
                    Kind::Job,
                    cronjob.clone(),
                    format!("CronJob `{cronjob}` (Job `{name}`)"),
                ),
                None => (Kind::Job, name.clone(), format!("Job `{name}`")),
            },
            other if self.conf.stateful_kinds.contains(&other.to_lowercase()) => (
                Kind::StatefulSet,
                name.clone(),
                format!("{other} `{name}`, stateful by eni_conf custom_stateful_workload_kinds"),
            ),
            other => (
                Kind::Deployment,
                name.clone(),
                format!("{other} `{name}`, as a Deployment"),
            ),
        }
    }
}

pub(super) fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Deployment | Kind::DaemonSet => "deployment",
        Kind::StatefulSet => "statefulset",
        Kind::Job => "job",
    }
}
