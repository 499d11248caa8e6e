//! Deployments, StatefulSets and Jobs: kinds, the keys of each kind, replica and arrival curves,
//! rollouts and run times.

use std::collections::BTreeMap;

use super::{Checker, MAX_COUNT};
use crate::scenario::file::{AmountEntry, CurveEntry, WorkloadEntry, nearest};
use crate::scenario::{
    Amount, Curve, HOUR_MS, JobDuration, JobSpec, Millis, NodePoolSpec, PodManagement, Replicated,
    SECOND_MS, ScenarioError, WorkloadKind, WorkloadSpec, format_duration,
};

/// A deleted pod usually stops within seconds of SIGTERM; its address goes at CNI DEL.
const DEFAULT_TERMINATION_GRACE_MS: Millis = 10 * SECOND_MS;
const MAX_TERMINATION_GRACE_MS: Millis = HOUR_MS;
const DEFAULT_ROLLOUT_AMOUNT: Amount = Amount::Percent(25.0);

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Deployment,
    StatefulSet,
    Job,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Deployment => "deployment",
            Kind::StatefulSet => "statefulset",
            Kind::Job => "job",
        }
    }
}

impl Checker<'_> {
    pub(super) fn workloads(
        &self,
        workloads: &[WorkloadEntry],
        pools: &[NodePoolSpec],
    ) -> Result<Vec<WorkloadSpec>, ScenarioError> {
        let mut names: BTreeMap<&str, usize> = BTreeMap::new();
        let mut specs = Vec::with_capacity(workloads.len());
        for (i, workload) in workloads.iter().enumerate() {
            let prefix = format!("workload[{i}]");
            let name_key = format!("{prefix}.name");
            self.not_empty(&name_key, &workload.name, "a workload name")?;
            if let Some(other) = names.insert(&workload.name, i) {
                return Err(self.err(
                    name_key,
                    format!(
                        "duplicate workload name `{}` (also workload[{other}])",
                        workload.name
                    ),
                ));
            }
            let kind = match workload.kind.as_str() {
                "deployment" => Kind::Deployment,
                "statefulset" => Kind::StatefulSet,
                "job" => Kind::Job,
                other => {
                    let hint = nearest(other, ["deployment", "statefulset", "job"])
                        .map(|near| format!(", did you mean `{near}`?"))
                        .unwrap_or_else(|| ", expected deployment, statefulset or job".to_string());
                    return Err(self.err(
                        format!("{prefix}.kind"),
                        format!("unknown kind `{other}`{hint}"),
                    ));
                }
            };
            let nodepool = match &workload.nodepool {
                Some(name) => Some(
                    pools
                        .iter()
                        .position(|pool| pool.name == *name)
                        .ok_or_else(|| {
                            self.unknown(
                                &format!("{prefix}.nodepool"),
                                "node pool",
                                name,
                                pools.iter().map(|pool| pool.name.as_str()),
                            )
                        })?,
                ),
                None => None,
            };
            let kind = match kind {
                Kind::Deployment | Kind::StatefulSet => self.replicated(&prefix, workload, kind)?,
                Kind::Job => self.job(&prefix, workload)?,
            };
            let termination_grace_ms = match workload.termination_grace {
                None => DEFAULT_TERMINATION_GRACE_MS,
                Some(grace) if grace.0 <= MAX_TERMINATION_GRACE_MS => grace.0,
                Some(grace) => {
                    return Err(self.err(
                        format!("{prefix}.termination_grace"),
                        format!(
                            "{} is longer than the {} a pod may take to stop here",
                            format_duration(grace.0),
                            format_duration(MAX_TERMINATION_GRACE_MS)
                        ),
                    ));
                }
            };
            specs.push(WorkloadSpec {
                name: workload.name.clone(),
                kind,
                nodepool,
                cpu_millis: workload.cpu.map_or(0, |cpu| cpu.0),
                memory_mib: workload.memory.map_or(0, |memory| memory.0),
                termination_grace_ms,
            });
        }
        Ok(specs)
    }

    fn wrong_kind(
        &self,
        prefix: &str,
        kind: Kind,
        given: &[(&str, bool)],
    ) -> Result<(), ScenarioError> {
        if let Some((field, _)) = given.iter().find(|(_, given)| *given) {
            let (owner, instead) = match kind {
                Kind::Job => (
                    "deployments and statefulsets",
                    "a job has `arrivals_per_hour` and `duration`",
                ),
                Kind::Deployment if *field == "pod_management" => (
                    "statefulsets",
                    "a deployment has `max_surge` and `max_unavailable`",
                ),
                Kind::StatefulSet if *field == "max_surge" || *field == "max_unavailable" => (
                    "deployments",
                    "a statefulset rolls one pod at a time (see `pod_management`)",
                ),
                _ => ("jobs", "a deployment or statefulset has `replicas`"),
            };
            return Err(self.err(
                format!("{prefix}.{field}"),
                format!("`{field}` is for {owner}; {instead}"),
            ));
        }
        Ok(())
    }

    fn replicated(
        &self,
        prefix: &str,
        workload: &WorkloadEntry,
        kind: Kind,
    ) -> Result<WorkloadKind, ScenarioError> {
        self.wrong_kind(
            prefix,
            kind,
            &[
                ("arrivals_per_hour", workload.arrivals_per_hour.is_some()),
                ("duration", workload.duration.is_some()),
                ("duration_p50", workload.duration_p50.is_some()),
                ("duration_p99", workload.duration_p99.is_some()),
            ],
        )?;
        let statefulset = kind == Kind::StatefulSet;
        self.wrong_kind(
            prefix,
            kind,
            &[
                (
                    "pod_management",
                    !statefulset && workload.pod_management.is_some(),
                ),
                ("max_surge", statefulset && workload.max_surge.is_some()),
                (
                    "max_unavailable",
                    statefulset && workload.max_unavailable.is_some(),
                ),
            ],
        )?;
        let replicas_key = format!("{prefix}.replicas");
        let Some(replicas) = &workload.replicas else {
            return Err(self.err(
                replicas_key,
                format!(
                    "a {} needs `replicas` (a number or [[duration, number], ...] points)",
                    kind.name()
                ),
            ));
        };
        let replicas = self.curve(&replicas_key, replicas, true)?;
        let daily_swing = match workload.daily_swing {
            Some(swing) => self.number(&format!("{prefix}.daily_swing"), swing, 0.0..=1.0)?,
            None => 0.0,
        };
        let rollout_every_ms = workload
            .rollout_every
            .map(|every| self.at_least(&format!("{prefix}.rollout_every"), every.0, SECOND_MS))
            .transpose()?;
        let amount = |entry: Option<AmountEntry>| match entry {
            Some(AmountEntry::Count(count)) => Amount::Count(count),
            Some(AmountEntry::Percent(percent)) => Amount::Percent(percent),
            None => DEFAULT_ROLLOUT_AMOUNT,
        };
        let max_surge = amount(workload.max_surge);
        let max_unavailable = amount(workload.max_unavailable);
        if let Amount::Percent(percent) = max_unavailable
            && percent > 100.0
        {
            return Err(self.err(
                format!("{prefix}.max_unavailable"),
                format!("{percent}% is above 100%"),
            ));
        }
        let is_zero =
            |amount: Amount| matches!(amount, Amount::Count(0)) || amount == Amount::Percent(0.0);
        if !statefulset && is_zero(max_surge) && is_zero(max_unavailable) {
            let field = if workload.max_unavailable.is_some() {
                "max_unavailable"
            } else {
                "max_surge"
            };
            return Err(self.err(
                format!("{prefix}.{field}"),
                "max_surge and max_unavailable cannot both be zero (Kubernetes rejects that: the rollout could never proceed)",
            ));
        }
        let pod_management = match workload.pod_management.as_deref() {
            None | Some("ordered_ready") => PodManagement::OrderedReady,
            Some("parallel") => PodManagement::Parallel,
            Some(other) => {
                let hint = nearest(other, ["ordered_ready", "parallel"])
                    .map(|near| format!(", did you mean `{near}`?"))
                    .unwrap_or_else(|| ", expected ordered_ready or parallel".to_string());
                return Err(self.err(
                    format!("{prefix}.pod_management"),
                    format!("unknown pod_management `{other}`{hint}"),
                ));
            }
        };
        let replicated = Replicated {
            replicas,
            daily_swing,
            rollout_every_ms,
            max_surge,
            max_unavailable,
            pod_management,
        };
        Ok(if statefulset {
            WorkloadKind::StatefulSet(replicated)
        } else {
            WorkloadKind::Deployment(replicated)
        })
    }

    fn job(&self, prefix: &str, workload: &WorkloadEntry) -> Result<WorkloadKind, ScenarioError> {
        self.wrong_kind(
            prefix,
            Kind::Job,
            &[
                ("replicas", workload.replicas.is_some()),
                ("daily_swing", workload.daily_swing.is_some()),
                ("rollout_every", workload.rollout_every.is_some()),
                ("max_surge", workload.max_surge.is_some()),
                ("max_unavailable", workload.max_unavailable.is_some()),
                ("pod_management", workload.pod_management.is_some()),
            ],
        )?;
        let arrivals_key = format!("{prefix}.arrivals_per_hour");
        let Some(arrivals) = &workload.arrivals_per_hour else {
            return Err(self.err(
                arrivals_key,
                "a job needs `arrivals_per_hour` (a number or [[duration, rate], ...] points)",
            ));
        };
        let arrivals_per_hour = self.curve(&arrivals_key, arrivals, false)?;
        let positive = |field: &str, ms: Millis| self.at_least(&format!("{prefix}.{field}"), ms, 1);
        let duration = match (
            workload.duration,
            workload.duration_p50,
            workload.duration_p99,
        ) {
            (Some(mean), None, None) => JobDuration::Exponential {
                mean_ms: positive("duration", mean.0)?,
            },
            (None, Some(p50), Some(p99)) => {
                let p50_ms = positive("duration_p50", p50.0)?;
                if p99.0 <= p50_ms {
                    return Err(self.err(
                        format!("{prefix}.duration_p99"),
                        format!(
                            "{} must be longer than duration_p50 {}",
                            format_duration(p99.0),
                            format_duration(p50_ms)
                        ),
                    ));
                }
                JobDuration::LogNormal {
                    p50_ms,
                    p99_ms: p99.0,
                }
            }
            (Some(_), _, _) => {
                return Err(self.err(
                    format!("{prefix}.duration"),
                    "give either `duration` (exponential mean) or `duration_p50` and `duration_p99` (log-normal), not both",
                ));
            }
            (None, Some(_), None) => {
                return Err(self.err(
                    format!("{prefix}.duration_p99"),
                    "`duration_p50` needs `duration_p99` for a log-normal run time",
                ));
            }
            (None, None, Some(_)) => {
                return Err(self.err(
                    format!("{prefix}.duration_p50"),
                    "`duration_p99` needs `duration_p50` for a log-normal run time",
                ));
            }
            (None, None, None) => {
                return Err(self.err(
                    format!("{prefix}.duration"),
                    "a job needs `duration` (exponential mean) or `duration_p50` and `duration_p99` (log-normal)",
                ));
            }
        };
        Ok(WorkloadKind::Job(JobSpec {
            arrivals_per_hour,
            duration,
        }))
    }

    /// A replica target or arrival rate; `whole` asks for whole numbers (replica counts).
    fn curve(&self, key: &str, entry: &CurveEntry, whole: bool) -> Result<Curve, ScenarioError> {
        let value = |key: &str, value: f64| -> Result<f64, ScenarioError> {
            let value = self.number(key, value, 0.0..=MAX_COUNT)?;
            if whole && value.fract() != 0.0 {
                return Err(self.err(
                    key,
                    format!("a replica count is a whole number, got {value}"),
                ));
            }
            Ok(value)
        };
        match entry {
            CurveEntry::Constant(constant) => Ok(Curve::constant(value(key, *constant)?)),
            CurveEntry::Points(points) => {
                if points.is_empty() {
                    return Err(self.err(key, "needs at least one [duration, number] point"));
                }
                let mut checked: Vec<(Millis, f64)> = Vec::with_capacity(points.len());
                for (j, &(at, v)) in points.iter().enumerate() {
                    if let Some(&(before, _)) = checked.last()
                        && at <= before
                    {
                        return Err(self.err(
                            format!("{key}[{j}][0]"),
                            format!(
                                "{} is not after the previous point's {}; times must increase",
                                format_duration(at),
                                format_duration(before)
                            ),
                        ));
                    }
                    checked.push((at, value(&format!("{key}[{j}][1]"), v)?));
                }
                Ok(Curve { points: checked })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;

    #[test]
    fn kind_specific_keys_stay_with_their_kind() {
        let workload = |body: &str| with(&format!("[[workload]]\nname = \"w\"\n{body}"));
        expect(
            &workload("kind = \"job\"\nreplicas = 3\narrivals_per_hour = 1\nduration = \"1m\"\n"),
            "workload[0].replicas",
            20,
            "`replicas` is for deployments and statefulsets",
        );
        expect(
            &workload("kind = \"deployment\"\nreplicas = 3\narrivals_per_hour = 1\n"),
            "workload[0].arrivals_per_hour",
            21,
            "`arrivals_per_hour` is for jobs",
        );
        expect(
            &workload("kind = \"deployment\"\nreplicas = 3\npod_management = \"parallel\"\n"),
            "workload[0].pod_management",
            21,
            "is for statefulsets",
        );
        expect(
            &workload("kind = \"statefulset\"\nreplicas = 3\nmax_surge = 1\n"),
            "workload[0].max_surge",
            21,
            "is for deployments",
        );
        expect(
            &workload("kind = \"deployment\"\n"),
            "workload[0].replicas",
            17,
            "a deployment needs `replicas`",
        );
        expect(
            &workload("kind = \"job\"\nduration = \"1m\"\n"),
            "workload[0].arrivals_per_hour",
            17,
            "a job needs `arrivals_per_hour`",
        );
        expect(
            &workload("kind = \"job\"\narrivals_per_hour = 5\n"),
            "workload[0].duration",
            17,
            "a job needs `duration`",
        );
        expect(
            &workload(
                "kind = \"job\"\narrivals_per_hour = 5\nduration = \"1m\"\nduration_p50 = \"1m\"\n",
            ),
            "workload[0].duration",
            21,
            "not both",
        );
        expect(
            &workload(
                "kind = \"job\"\narrivals_per_hour = 5\nduration_p50 = \"5m\"\nduration_p99 = \"5m\"\n",
            ),
            "workload[0].duration_p99",
            22,
            "5m must be longer than duration_p50 5m",
        );
        expect(
            &workload(
                "kind = \"deployment\"\nreplicas = 3\nmax_surge = 0\nmax_unavailable = \"0%\"\n",
            ),
            "workload[0].max_unavailable",
            22,
            "cannot both be zero",
        );
        expect(
            &workload("kind = \"statefulset\"\nreplicas = 3\npod_management = \"Paralel\"\n"),
            "workload[0].pod_management",
            21,
            "did you mean `parallel`?",
        );
        let (s, _) = ok(&workload(
            "kind = \"job\"\narrivals_per_hour = [[\"0s\", 0.5], [\"6h\", 20]]\nduration_p50 = \"5m\"\nduration_p99 = \"1h\"\n",
        ));
        assert_eq!(
            s.workloads[0].kind,
            WorkloadKind::Job(JobSpec {
                arrivals_per_hour: Curve {
                    points: vec![(0, 0.5), (6 * HOUR_MS, 20.0)]
                },
                duration: JobDuration::LogNormal {
                    p50_ms: 300_000,
                    p99_ms: 3_600_000
                },
            })
        );
    }
}
