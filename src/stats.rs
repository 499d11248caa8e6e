//! Statistics over seeded runs: nearest-rank percentiles, and the reductions of runs that both
//! the reports and the plan read. Below both, so that neither imports the other for them.
//!
//! Every reduction takes runs in run order and is sequential, so a figure does not depend on
//! how many threads ran the runs.

use crate::model::{RunResult, bucket_floor};
use crate::scenario::{Millis, Scenario};

/// Percentile by nearest rank over values sorted ascending: the smallest value with at least
/// `p`% of the values at or below it.
pub fn nearest_rank<T: Copy>(sorted: &[T], percentile: f64) -> T {
    assert!(!sorted.is_empty(), "a percentile of nothing");
    let rank = (percentile / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Percentile of event times where a run without the event counts as never (`None`, later
/// than any time). `None` when the percentile falls on a run that never saw it.
pub fn time_percentile(times: &[Option<Millis>], percentile: f64) -> Option<Millis> {
    let mut sorted: Vec<Millis> = times.iter().map(|t| t.unwrap_or(Millis::MAX)).collect();
    sorted.sort_unstable();
    Some(nearest_rank(&sorted, percentile)).filter(|&t| t != Millis::MAX)
}

/// Percentile (nearest rank) of counts over runs.
pub fn value_percentile(values: impl Iterator<Item = u32>, percentile: f64) -> u32 {
    let mut sorted: Vec<u32> = values.collect();
    sorted.sort_unstable();
    nearest_rank(&sorted, percentile)
}

/// Fraction of runs where something happened.
pub fn fraction(times: &[Option<Millis>]) -> f64 {
    times.iter().filter(|t| t.is_some()).count() as f64 / times.len() as f64
}

/// Percentiles of a sampled series at one sample time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spread {
    /// 10th percentile over runs.
    pub p10: u32,
    /// Median.
    pub p50: u32,
    /// 90th percentile.
    pub p90: u32,
}

/// The 10th, 50th and 90th percentiles of values over runs.
pub fn spread(values: impl Iterator<Item = u32>) -> Spread {
    let mut sorted: Vec<u32> = values.collect();
    sorted.sort_unstable();
    Spread {
        p10: nearest_rank(&sorted, 10.0),
        p50: nearest_rank(&sorted, 50.0),
        p90: nearest_rank(&sorted, 90.0),
    }
}

/// p50 and p99 of the address wait over all pods of all runs, from the merged histograms.
pub fn ip_wait_percentiles(runs: &[RunResult]) -> (Option<Millis>, Option<Millis>) {
    let buckets = runs
        .iter()
        .map(|r| r.ip_wait_histogram.len())
        .max()
        .unwrap_or(0);
    let mut merged = vec![0u64; buckets];
    for run in runs {
        for (total, count) in merged.iter_mut().zip(&run.ip_wait_histogram) {
            *total += count;
        }
    }
    let pods: u64 = merged.iter().sum();
    if pods == 0 {
        return (None, None);
    }
    let at = |percentile: f64| {
        let rank = ((percentile / 100.0 * pods as f64).ceil() as u64).max(1);
        let mut seen = 0;
        merged
            .iter()
            .position(|&count| {
                seen += count;
                seen >= rank
            })
            .map(bucket_floor)
    };
    (at(50.0), at(99.0))
}

/// Idle addresses in node pools at the sample where the run held the most addresses: in one
/// zone (its vSwitches and its pools), or over the whole cluster with `None`.
pub fn idle_at_peak(scenario: &Scenario, run: &RunResult, zone: Option<usize>) -> u32 {
    let (n_vswitches, n_zones) = (scenario.vswitches.len(), scenario.zones.len());
    let in_zone = |z: usize| zone.is_none_or(|zone| zone == z);
    let used_at = |sample: usize| -> u32 {
        (0..n_vswitches)
            .filter(|&v| in_zone(scenario.vswitches[v].zone))
            .map(|v| run.samples.vswitch_used[sample * n_vswitches + v])
            .sum()
    };
    let peak = (0..run.samples.times_ms.len())
        .max_by_key(|&s| (used_at(s), std::cmp::Reverse(s)))
        .unwrap_or(0);
    (0..n_zones)
        .filter(|&z| in_zone(z))
        .map(|z| run.samples.zone_idle[peak * n_zones + z])
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let values = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
        assert_eq!(nearest_rank(&values, 10.0), 1);
        assert_eq!(nearest_rank(&values, 50.0), 5);
        assert_eq!(nearest_rank(&values, 90.0), 9);
        assert_eq!(nearest_rank(&values, 100.0), 10);
        assert_eq!(nearest_rank(&[7], 10.0), 7);
    }

    #[test]
    fn never_counts_as_later_than_any_time() {
        let times = [Some(5), None, Some(1), None, None];
        assert_eq!(time_percentile(&times, 10.0), Some(1));
        assert_eq!(time_percentile(&times, 40.0), Some(5));
        // Most runs never see it: the median is empty.
        assert_eq!(time_percentile(&times, 50.0), None);
        assert_eq!(fraction(&times), 0.4);
    }
}
