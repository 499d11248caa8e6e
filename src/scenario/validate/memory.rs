//! The memory a scenario's runs would need, and the check that refuses a scenario above
//! `MEMORY_LIMIT_BYTES` before anything runs.

use crate::scenario::{
    ActionKind, Amount, HOUR_MS, JobDuration, Scenario, ScenarioError, WorkloadKind,
};

/// The most memory a scenario's runs may need: above it, `planner` refuses the scenario rather
/// than run out of memory part way.
pub const MEMORY_LIMIT_BYTES: u64 = 8 << 30;
/// Runs assumed to be alive at once (whatever the machine, so that a scenario is accepted or
/// refused the same everywhere).
const CONCURRENT_RUNS: u64 = 16;
/// Rough bytes per pod table entry, with its place in its workload's sets and its events.
const BYTES_PER_POD: u64 = 150;
/// Rough bytes per node, per ENI slot and per vSwitch cache entry of a node.
const BYTES_PER_NODE: u64 = 300;
const BYTES_PER_SLOT: u64 = 130;
const BYTES_PER_CACHE_ENTRY: u64 = 24;

/// What a scenario's runs would hold in memory (estimates, on the high side).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryEstimate {
    /// Samples per run: `horizon / sample_interval + 2`.
    pub samples: u64,
    /// 4-byte values per sample: `2 x vSwitches + 2 x zones + 6` (the time takes two).
    pub values_per_sample: u64,
    /// The time series of every run, four times over (growing vectors keep up to twice what
    /// they hold, and a set of planning re-runs is held beside the runs): `4 x runs x samples x
    /// values x 4 bytes`.
    pub results_bytes: u64,
    /// The peak pods of one run and what their table takes.
    pub peak_pods: u64,
    /// The peak nodes of one run (every pool at its largest) and what they take.
    pub peak_nodes: u64,
    /// One run's live state, pods and nodes.
    pub run_state_bytes: u64,
    /// Runs counted as alive at once: `min(runs, 16)`.
    pub concurrent_runs: u64,
}

impl MemoryEstimate {
    /// Results plus the live state of the runs alive at once.
    pub fn total_bytes(&self) -> u64 {
        self.results_bytes
            .saturating_add(self.run_state_bytes.saturating_mul(self.concurrent_runs))
    }
}

fn gib(bytes: u64) -> String {
    format!("{:.1} GiB", bytes as f64 / (1u64 << 30) as f64)
}

impl Scenario {
    /// Estimates the memory the scenario's runs need: the sampled series of every run, and the
    /// pods and nodes of the runs alive at once. Deployments and StatefulSets count their
    /// largest target with the daily swing, doubled for rollouts and terminating pods; jobs
    /// count the most arrivals per hour times the longest of their typical run time and an
    /// hour, doubled (a cluster that cannot keep up piles up more, over the horizon).
    pub fn memory_estimate(&self) -> MemoryEstimate {
        let samples = self.horizon_ms / self.sample_interval_ms.max(1) + 2;
        let values_per_sample = 2 * self.vswitches.len() as u64 + 2 * self.zones.len() as u64 + 6;
        let runs = u64::from(self.runs);
        let results_bytes = 4u64
            .saturating_mul(runs)
            .saturating_mul(samples)
            .saturating_mul(values_per_sample)
            .saturating_mul(4);
        let peak_pods = (0..self.workloads.len())
            .map(|w| self.workload_peak_pods(w))
            .fold(0u64, u64::saturating_add);
        let peak_nodes: u64 = (0..self.nodepools.len())
            .map(|p| self.nodepool_peak_nodes(p))
            .sum();
        let node_bytes = (0..self.nodepools.len())
            .map(|p| {
                self.nodepool_peak_nodes(p)
                    .saturating_mul(self.bytes_per_node(p))
            })
            .fold(0u64, u64::saturating_add);
        MemoryEstimate {
            samples,
            values_per_sample,
            results_bytes,
            peak_pods,
            peak_nodes,
            run_state_bytes: peak_pods
                .saturating_mul(BYTES_PER_POD)
                .saturating_add(node_bytes),
            concurrent_runs: runs.clamp(1, CONCURRENT_RUNS),
        }
    }

    fn workload_peak_pods(&self, workload: usize) -> u64 {
        let spec = &self.workloads[workload];
        let pods = match &spec.kind {
            WorkloadKind::Deployment(r) | WorkloadKind::StatefulSet(r) => {
                let top = r.replicas.max().max(0.0) * (1.0 + r.daily_swing.abs());
                let surge = match r.max_surge {
                    Amount::Count(count) => f64::from(count),
                    Amount::Percent(percent) => top * percent / 100.0,
                };
                2.0 * top + surge + 1.0
            }
            WorkloadKind::Job(job) => {
                let typical_ms = match job.duration {
                    JobDuration::Exponential { mean_ms } => mean_ms,
                    JobDuration::LogNormal { p99_ms, .. } => p99_ms,
                };
                let hours = typical_ms.max(HOUR_MS) as f64 / HOUR_MS as f64;
                2.0 * job.arrivals_per_hour.max().max(0.0) * hours + 1.0
            }
        };
        if pods.is_finite() {
            pods as u64
        } else {
            u64::MAX
        }
    }

    fn nodepool_peak_nodes(&self, pool: usize) -> u64 {
        let spec = &self.nodepools[pool];
        let scaled = self.actions.iter().filter_map(|action| match action.kind {
            ActionKind::ScaleNodePool {
                nodepool,
                nodes,
                min_nodes,
                max_nodes,
            } if nodepool == pool => Some(nodes.max(min_nodes).max(max_nodes).unwrap_or(0)),
            _ => None,
        });
        u64::from(
            scaled
                .chain([spec.nodes, spec.min_nodes, spec.max_nodes])
                .max()
                .unwrap_or(0),
        )
    }

    fn bytes_per_node(&self, pool: usize) -> u64 {
        let slots = self
            .instance_types
            .get(&self.nodepools[pool].instance_type)
            .map_or(0, |t| u64::from(t.secondary_enis()));
        BYTES_PER_NODE
            + slots * BYTES_PER_SLOT
            + self.vswitches.len() as u64 * BYTES_PER_CACHE_ENTRY
    }

    /// Refuses a scenario whose runs would need more than `MEMORY_LIMIT_BYTES`, naming what
    /// to lower: `scenario.runs` (or the sampling) when the results dominate, else the
    /// workload or node pool that takes the most. The error has no line; `validate` adds it.
    pub fn check_memory(&self) -> Result<(), ScenarioError> {
        let estimate = self.memory_estimate();
        let total = estimate.total_bytes();
        if total <= MEMORY_LIMIT_BYTES {
            return Ok(());
        }
        let error = |key: String, message: String| ScenarioError {
            file: self.source.clone(),
            line: None,
            key,
            message,
        };
        let limit = gib(MEMORY_LIMIT_BYTES);
        let state_bytes = estimate
            .run_state_bytes
            .saturating_mul(estimate.concurrent_runs);
        if estimate.results_bytes >= state_bytes {
            let per_run = estimate.results_bytes / u64::from(self.runs.max(1));
            let fits = (MEMORY_LIMIT_BYTES.saturating_sub(state_bytes) / per_run.max(1)).max(1);
            return Err(error(
                "scenario.runs".into(),
                format!(
                    "{} runs x {} samples x {} series would need about {} of memory for the results, above the {limit} planner allows; lower runs (--runs) to {fits} or fewer, raise scenario.sample_interval, or shorten the horizon",
                    self.runs,
                    estimate.samples,
                    estimate.values_per_sample,
                    gib(total)
                ),
            ));
        }
        let pods_bytes = estimate.peak_pods.saturating_mul(BYTES_PER_POD);
        let runs_at_once = estimate.concurrent_runs;
        if pods_bytes >= estimate.run_state_bytes.saturating_sub(pods_bytes) {
            let (index, peak) = (0..self.workloads.len())
                .map(|w| (w, self.workload_peak_pods(w)))
                .max_by_key(|&(w, peak)| (peak, std::cmp::Reverse(w)))
                .expect("pods come from workloads");
            let field = match self.workloads[index].kind {
                WorkloadKind::Job(_) => "arrivals_per_hour",
                _ => "replicas",
            };
            return Err(error(
                format!("workload[{index}].{field}"),
                format!(
                    "workload `{}` may have up to {peak} pods at once ({} in all workloads; an estimate that allows for rollouts and the daily swing), and with {runs_at_once} runs alive at once the pods and nodes would need about {} of memory, above the {limit} planner allows; lower it, or the runs",
                    self.workloads[index].name,
                    estimate.peak_pods,
                    gib(total)
                ),
            ));
        }
        let (index, peak) = (0..self.nodepools.len())
            .map(|p| {
                (
                    p,
                    self.nodepool_peak_nodes(p)
                        .saturating_mul(self.bytes_per_node(p)),
                )
            })
            .max_by_key(|&(p, bytes)| (bytes, std::cmp::Reverse(p)))
            .expect("nodes come from node pools");
        Err(error(
            format!("nodepool[{index}].max_nodes"),
            format!(
                "node pool `{}` may grow to {} nodes ({} in all pools; about {} per run for this pool), and with {runs_at_once} runs alive at once the pods and nodes would need about {} of memory, above the {limit} planner allows; lower max_nodes, or the runs",
                self.nodepools[index].name,
                self.nodepool_peak_nodes(index),
                estimate.peak_nodes,
                gib(peak),
                gib(total)
            ),
        ))
    }

    /// [`Scenario::check_memory`] for the points of a sweep, whose runs are all held at once.
    pub fn check_memory_of_sweep(points: &[Scenario]) -> Result<(), ScenarioError> {
        let mut results = 0u64;
        let mut state = 0u64;
        for point in points {
            point.check_memory()?;
            let estimate = point.memory_estimate();
            // A sweep makes no planning re-runs: half the run's estimate.
            results = results.saturating_add(estimate.results_bytes / 2);
            state = state.max(
                estimate
                    .run_state_bytes
                    .saturating_mul(estimate.concurrent_runs),
            );
        }
        let total = results.saturating_add(state);
        match points.first() {
            Some(first) if total > MEMORY_LIMIT_BYTES => Err(ScenarioError {
                file: first.source.clone(),
                line: None,
                key: "scenario.runs".into(),
                message: format!(
                    "{} sweep points x {} runs would need about {} of memory for the results, above the {} planner allows; lower runs (--runs), sweep fewer values, or raise scenario.sample_interval",
                    points.len(),
                    first.runs,
                    gib(total),
                    gib(MEMORY_LIMIT_BYTES)
                ),
            }),
            _ => Ok(()),
        }
    }
}
