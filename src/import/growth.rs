//! The growth given on the command line as replica points per workload: linear shares of a
//! cluster-wide count, or daily compounding.

use super::{Builder, Curves, Growth, ImportError, Kind, Workload};
use crate::scenario::{DAY_MS, Millis};

/// Most replicas the scenario accepts for one workload.
const MAX_REPLICAS: f64 = 10_000_000.0;

impl Builder<'_, '_> {
    /// The replica points of every workload, and those of a `growth` workload when there is
    /// growth but no pod to give it to.
    pub(super) fn curves(&self, workloads: &[Workload]) -> Result<Curves, ImportError> {
        let horizon = self.options.horizon_ms;
        let days = horizon as f64 / DAY_MS as f64;
        let growable: f64 = workloads
            .iter()
            .filter(|w| w.kind != Kind::DaemonSet)
            .map(|w| w.pods as f64)
            .sum();
        let constant = |w: &Workload| vec![(0, w.pods as f64)];
        let mut extra = None;
        let curves: Vec<Vec<(Millis, f64)>> = match self.options.growth {
            Growth::None => workloads.iter().map(constant).collect(),
            Growth::PerDay(per_day) => {
                let total = (per_day * days).round();
                let shares = if growable > 0.0 {
                    largest_remainder(
                        total,
                        &workloads
                            .iter()
                            .map(|w| {
                                if w.kind == Kind::DaemonSet {
                                    0.0
                                } else {
                                    w.pods as f64
                                }
                            })
                            .collect::<Vec<_>>(),
                    )
                } else {
                    if total > 0.0 {
                        extra = Some(vec![(0, 0.0), (horizon, total)]);
                    }
                    vec![0.0; workloads.len()]
                };
                workloads
                    .iter()
                    .zip(shares)
                    .map(|(w, share)| {
                        if w.kind == Kind::DaemonSet || share == 0.0 {
                            constant(w)
                        } else {
                            vec![(0, w.pods as f64), (horizon, w.pods as f64 + share)]
                        }
                    })
                    .collect()
            }
            Growth::PercentPerDay(percent) => {
                let times = compound_times(horizon);
                workloads
                    .iter()
                    .map(|w| {
                        if w.kind == Kind::DaemonSet || w.pods == 0 || percent == 0.0 {
                            return constant(w);
                        }
                        times
                            .iter()
                            .map(|&t| {
                                let factor = (1.0 + percent / 100.0).powf(t as f64 / DAY_MS as f64);
                                (t, (w.pods as f64 * factor).round())
                            })
                            .collect()
                    })
                    .collect()
            }
        };
        for (w, curve) in workloads.iter().zip(&curves) {
            if let Some(&(_, last)) = curve.last()
                && (last.is_nan() || last > MAX_REPLICAS)
            {
                return Err(ImportError::new(
                    self.sources
                        .pods
                        .map_or(self.sources.vswitches.path, |p| p.path),
                    format!(
                        "at the given growth `{}` reaches {last:.0} pods by the horizon, more than the {MAX_REPLICAS:.0} a scenario allows; give a smaller growth or a shorter --horizon",
                        w.name
                    ),
                ));
            }
        }
        if let Some(curve) = &extra
            && (curve[1].1.is_nan() || curve[1].1 > MAX_REPLICAS)
        {
            return Err(ImportError::new(
                self.sources.vswitches.path,
                format!(
                    "at the given growth the cluster adds {:.0} pods by the horizon, more than the {MAX_REPLICAS:.0} a scenario allows",
                    curve[1].1
                ),
            ));
        }
        Ok((curves, extra))
    }
}

/// Splits `total` in proportion to `weights` into whole numbers that add up to it.
pub(super) fn largest_remainder(total: f64, weights: &[f64]) -> Vec<f64> {
    let sum: f64 = weights.iter().sum();
    if sum <= 0.0 || total <= 0.0 {
        return vec![0.0; weights.len()];
    }
    let exact: Vec<f64> = weights.iter().map(|w| total * w / sum).collect();
    let mut shares: Vec<f64> = exact.iter().map(|e| e.floor()).collect();
    let mut left = (total - shares.iter().sum::<f64>()).round() as usize;
    let mut order: Vec<usize> = (0..weights.len()).collect();
    // Largest remainder first; ties to the earlier workload, so the split is stable.
    order.sort_by(|&a, &b| {
        (exact[b] - shares[b])
            .partial_cmp(&(exact[a] - shares[a]))
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(a.cmp(&b))
    });
    for &i in order.iter().filter(|&&i| weights[i] > 0.0) {
        if left == 0 {
            break;
        }
        shares[i] += 1.0;
        left -= 1;
    }
    shares
}

/// Points of a compounding curve: whole days, at most about 30 of them, and the horizon.
pub(super) fn compound_step(horizon: Millis) -> Millis {
    let days = horizon.div_ceil(DAY_MS).max(1);
    days.div_ceil(30).max(1) * DAY_MS
}

fn compound_times(horizon: Millis) -> Vec<Millis> {
    let step = compound_step(horizon);
    let mut times: Vec<Millis> = (0..)
        .map(|i| i * step)
        .take_while(|&t| t < horizon)
        .collect();
    times.push(horizon);
    times
}
