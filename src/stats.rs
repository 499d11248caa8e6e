//! Statistics over seeded runs: nearest-rank percentiles, and the reductions of runs that both
//! the reports and the plan read. Below both, so that neither imports the other for them.
//!
//! Every reduction takes runs in run order and is sequential, so a figure does not depend on
//! how many threads ran the runs.

use statrs::distribution::{Beta, Binomial, ContinuousCDF, DiscreteCDF};

use crate::model::{RunResult, bucket_floor};
use crate::scenario::{Millis, Scenario, human_duration};

/// The confidence of the intervals the reports give around percentiles over runs.
pub const CONFIDENCE: f64 = 0.95;

/// Ranks (1-based, into `n` values sorted ascending) of a distribution-free confidence interval
/// for the `percentile`: the true percentile lies between the values of these ranks with
/// probability at least `confidence`, whatever the distribution. The number of runs at or below
/// the true percentile is binomial (`n`, `percentile / 100`), so the lowest rank is the largest
/// `l` with `P(B <= l - 1) <= (1 - confidence) / 2` and the highest the smallest `u` with
/// `P(B >= u) <= (1 - confidence) / 2` (equal tails). `0` and `n + 1` mean that side cannot be
/// bounded with `n` runs.
pub fn interval_ranks(n: usize, percentile: f64, confidence: f64) -> (usize, usize) {
    assert!(n > 0, "an interval over no runs");
    let tail = (1.0 - confidence) / 2.0;
    let binomial =
        Binomial::new((percentile / 100.0).clamp(0.0, 1.0), n as u64).expect("a probability");
    // Cumulative probabilities only grow with the rank, so both ends are the edge of a run of
    // ranks that qualify.
    let lo = (1..=n)
        .take_while(|&l| binomial.cdf(l as u64 - 1) <= tail)
        .last()
        .unwrap_or(0);
    let hi = (1..=n)
        .find(|&u| binomial.sf(u as u64 - 1) <= tail)
        .unwrap_or(n + 1);
    (lo, hi)
}

/// A confidence interval of a percentile of times over runs. `None` is "never" (a run without
/// the event), as in [`time_percentile`]; a side that cannot be bounded with the runs there are
/// is 0 below and never above.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeInterval {
    /// Lower end.
    pub lo: Option<Millis>,
    /// Upper end.
    pub hi: Option<Millis>,
}

/// A confidence interval of a percentile of counts over runs. Below, a side that cannot be
/// bounded is 0; above, it is `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CountInterval {
    /// Lower end.
    pub lo: u32,
    /// Upper end (`None`: too few runs to bound it).
    pub hi: Option<u32>,
}

/// The [`CONFIDENCE`] interval of [`time_percentile`].
pub fn time_interval(times: &[Option<Millis>], percentile: f64) -> TimeInterval {
    time_interval_at(times, percentile, CONFIDENCE)
}

/// The interval of [`time_percentile`] at any confidence.
pub fn time_interval_at(
    times: &[Option<Millis>],
    percentile: f64,
    confidence: f64,
) -> TimeInterval {
    let mut sorted: Vec<Millis> = times.iter().map(|t| t.unwrap_or(Millis::MAX)).collect();
    sorted.sort_unstable();
    let (lo, hi) = interval_ranks(sorted.len(), percentile, confidence);
    let at = |rank: usize| Some(sorted[rank - 1]).filter(|&t| t != Millis::MAX);
    TimeInterval {
        lo: if lo == 0 { Some(0) } else { at(lo) },
        hi: if hi > sorted.len() { None } else { at(hi) },
    }
}

/// The [`CONFIDENCE`] interval of [`value_percentile`].
pub fn value_interval(values: impl Iterator<Item = u32>, percentile: f64) -> CountInterval {
    value_interval_at(values, percentile, CONFIDENCE)
}

/// The interval of [`value_percentile`] at any confidence.
pub fn value_interval_at(
    values: impl Iterator<Item = u32>,
    percentile: f64,
    confidence: f64,
) -> CountInterval {
    let mut sorted: Vec<u32> = values.collect();
    sorted.sort_unstable();
    let (lo, hi) = interval_ranks(sorted.len(), percentile, confidence);
    CountInterval {
        lo: if lo == 0 { 0 } else { sorted[lo - 1] },
        hi: (hi <= sorted.len()).then(|| sorted[hi - 1]),
    }
}

/// Percentile by nearest rank over values sorted ascending: the smallest value with at least
/// `p`% of the values at or below it.
pub fn nearest_rank<T: Copy>(sorted: &[T], percentile: f64) -> T {
    assert!(!sorted.is_empty(), "a percentile of nothing");
    let rank = (percentile / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// How well `runs = "auto"` wants each zone's share of runs short known: its
/// [`CONFIDENCE`] interval at most twice this wide (plus or minus 5 points).
pub const SHARE_MARGIN: f64 = 0.05;

/// The exact (Clopper-Pearson) [`CONFIDENCE`] interval of a share: `k` of `n` runs.
pub fn share_interval(k: usize, n: usize) -> (f64, f64) {
    assert!(k <= n && n > 0, "a share of runs");
    let tail = (1.0 - CONFIDENCE) / 2.0;
    let (k, n) = (k as f64, n as f64);
    // At the edges the beta quantiles have closed forms; statrs needs both shapes above 0.
    let lo = if k == 0.0 {
        0.0
    } else if k == n {
        tail.powf(1.0 / n)
    } else {
        Beta::new(k, n - k + 1.0)
            .expect("positive shapes")
            .inverse_cdf(tail)
    };
    let hi = if k == n {
        1.0
    } else if k == 0.0 {
        1.0 - tail.powf(1.0 / n)
    } else {
        Beta::new(k + 1.0, n - k)
            .expect("positive shapes")
            .inverse_cdf(1.0 - tail)
    };
    (lo, hi)
}

/// What these runs do not yet make sure of, for `runs = "auto"`; `None` when they are enough:
/// in every zone that ran short the [`CONFIDENCE`] interval of the first shortage at the
/// planning percentile (read on the earlier side, as the plan reads it) is at most
/// `precision_ms` wide, and every zone's share of runs short is known within [`SHARE_MARGIN`].
pub fn not_yet_sure(
    scenario: &Scenario,
    runs: &[RunResult],
    precision_ms: Millis,
) -> Option<String> {
    let percentile = 100.0 - scenario.planning.percentile;
    for (zone, name) in scenario.zones.iter().enumerate() {
        let times: Vec<Option<Millis>> = runs
            .iter()
            .map(|r| r.zones[zone].first_shortage_ms)
            .collect();
        let short = times.iter().filter(|t| t.is_some()).count();
        if short == 0 {
            continue;
        }
        let ci = time_interval(&times, percentile);
        let sure = match (ci.lo, ci.hi) {
            (Some(lo), Some(hi)) => hi - lo <= precision_ms,
            (None, None) => true,
            _ => false,
        };
        if !sure {
            let when = |t: Option<Millis>| t.map_or_else(|| "never".to_string(), human_duration);
            let width = match (ci.lo, ci.hi) {
                (Some(lo), Some(hi)) => format!("{} wide", human_duration(hi - lo)),
                _ => "open at one end".to_string(),
            };
            return Some(format!(
                "zone {name}: the {:.0}% interval of its p{percentile} first shortage ({} .. {}) is {width}, more than {}",
                CONFIDENCE * 100.0,
                when(ci.lo),
                when(ci.hi),
                human_duration(precision_ms)
            ));
        }
    }
    for (zone, name) in scenario.zones.iter().enumerate() {
        let short = runs
            .iter()
            .filter(|r| r.zones[zone].first_shortage_ms.is_some())
            .count();
        let (lo, hi) = share_interval(short, runs.len());
        if hi - lo > 2.0 * SHARE_MARGIN {
            return Some(format!(
                "zone {name}: its share of runs short, {:.0}% ({:.0}%: {:.1}% .. {:.1}%), is not yet known to within {:.0} percentage points",
                short as f64 / runs.len() as f64 * 100.0,
                CONFIDENCE * 100.0,
                lo * 100.0,
                hi * 100.0,
                SHARE_MARGIN * 100.0
            ));
        }
    }
    None
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

/// Sums histograms bucket by bucket.
fn merge<'a>(histograms: impl Iterator<Item = &'a Vec<u64>>) -> Vec<u64> {
    let mut merged: Vec<u64> = Vec::new();
    for histogram in histograms {
        if merged.len() < histogram.len() {
            merged.resize(histogram.len(), 0);
        }
        for (total, count) in merged.iter_mut().zip(histogram) {
            *total += count;
        }
    }
    merged
}

/// p50 and p99 of the address wait of the pods that got one, over all pods of all runs, from
/// the merged histograms.
pub fn ip_wait_percentiles(runs: &[RunResult]) -> (Option<Millis>, Option<Millis>) {
    let served = merge(
        runs.iter()
            .flat_map(|r| r.zone_ip_waits.iter().map(|w| &w.served)),
    );
    let at = |percentile: f64| wait_at(&served, &[], percentile).map(|w| w.ms);
    (at(50.0), at(99.0))
}

/// A percentile of pod address waits. `censored` when it falls on a pod that never got an
/// address (still waiting at the horizon, or deleted while waiting): that pod waited at least
/// `ms`, so the percentile is at least `ms`, a lower bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wait {
    /// The wait, at the floor of its histogram bucket (<1.6% below the exact value).
    pub ms: Millis,
    /// Whether it is only a lower bound.
    pub censored: bool,
}

/// Address waits over all pods of all runs, counting the pods that never got an address at the
/// wait observed so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WaitPercentiles {
    /// Median (`None`: no pod asked for an address).
    pub p50: Option<Wait>,
    /// 99th percentile.
    pub p99: Option<Wait>,
    /// Pods that asked for an address, over all runs.
    pub pods: u64,
    /// Of those, pods that never got one.
    pub censored: u64,
}

/// Nearest rank over the merged order of two histograms, a served wait sorting before a
/// censored one in the same bucket (a censored wait only says "at least this").
fn wait_at(served: &[u64], censored: &[u64], percentile: f64) -> Option<Wait> {
    let pods: u64 = served.iter().chain(censored).sum();
    if pods == 0 {
        return None;
    }
    let rank = ((percentile / 100.0 * pods as f64).ceil() as u64).max(1);
    let mut seen = 0;
    for bucket in 0..served.len().max(censored.len()) {
        let here = |h: &[u64]| h.get(bucket).copied().unwrap_or(0);
        seen += here(served);
        if seen >= rank {
            return Some(Wait {
                ms: bucket_floor(bucket),
                censored: false,
            });
        }
        seen += here(censored);
        if seen >= rank {
            return Some(Wait {
                ms: bucket_floor(bucket),
                censored: true,
            });
        }
    }
    unreachable!("the rank is within the pods counted")
}

/// p50 and p99 of the address wait over all pods of all runs in one zone (or all zones with
/// `None`), pods that never got an address counted at the wait observed so far.
pub fn wait_percentiles(runs: &[RunResult], zone: Option<usize>) -> WaitPercentiles {
    let waits = || {
        runs.iter().flat_map(move |r| {
            r.zone_ip_waits
                .iter()
                .enumerate()
                .filter(move |&(z, _)| zone.is_none_or(|zone| zone == z))
                .map(|(_, w)| w)
        })
    };
    let served = merge(waits().map(|w| &w.served));
    let censored = merge(waits().map(|w| &w.censored));
    WaitPercentiles {
        p50: wait_at(&served, &censored, 50.0),
        p99: wait_at(&served, &censored, 99.0),
        pods: served.iter().chain(&censored).sum(),
        censored: censored.iter().sum(),
    }
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

    /// `P(B <= k)` for `B` binomial (`n`, 1/2), exactly: the sum of `C(n, i)` for `i <= k`, over
    /// `2^n`, in integers.
    fn half_cdf_times_2n(n: u64, k: u64) -> u64 {
        let mut c = 1u64; // C(n, 0)
        let mut sum = 0;
        for i in 0..=k {
            sum += c;
            c = c * (n - i) / (i + 1);
        }
        sum
    }

    #[test]
    fn median_intervals_match_the_exact_binomial_for_small_n() {
        for n in 1..=30u64 {
            let total = 1u64 << n;
            // Equal tails of 2.5%: the largest l with 40 x P(B <= l - 1) <= 1, the smallest u
            // with 40 x P(B >= u) <= 1, in integers.
            let lo = (1..=n)
                .take_while(|&l| 40 * half_cdf_times_2n(n, l - 1) <= total)
                .last()
                .unwrap_or(0);
            let hi = (1..=n)
                .find(|&u| 40 * (total - half_cdf_times_2n(n, u - 1)) <= total)
                .unwrap_or(n + 1);
            assert_eq!(
                interval_ranks(n as usize, 50.0, 0.95),
                (lo as usize, hi as usize),
                "n = {n}"
            );
        }
        // By hand: with 10 runs P(B <= 1) = 11/1024 <= 2.5% < P(B <= 2) = 56/1024, so the
        // interval of the median is the 2nd to the 9th value (coverage 1 - 22/1024 = 97.9%);
        // with 5 runs P(B = 0) = 1/32 > 2.5%: neither side can be bounded.
        assert_eq!(interval_ranks(10, 50.0, 0.95), (2, 9));
        assert_eq!(interval_ranks(5, 50.0, 0.95), (0, 6));
    }

    #[test]
    fn a_p90_interval_needs_enough_runs_above_it() {
        // P(B >= 10) = 0.9^10 = 34.9% for 10 runs: no upper end. The lower end is the largest
        // l with P(B <= l - 1) <= 2.5%: P(B <= 6) = 1.28%, P(B <= 7) = 7.0%, so l = 7.
        assert_eq!(interval_ranks(10, 90.0, 0.95), (7, 11));
        let times: Vec<Option<Millis>> = (1..=10).map(|t| Some(t * 1000)).collect();
        assert_eq!(
            time_interval(&times, 90.0),
            TimeInterval {
                lo: Some(7000),
                hi: None
            }
        );
        assert_eq!(
            value_interval(1..=10u32, 90.0),
            CountInterval { lo: 7, hi: None }
        );
    }

    #[test]
    fn share_intervals_are_exact_at_the_edges_and_agree_with_the_beta_inside() {
        // All of 36 runs short: 0.025^(1/36) = 0.9027, a width of 0.0973 <= 0.1; with 35 runs
        // 0.025^(1/35) = 0.8999, too wide.
        let (lo, hi) = share_interval(36, 36);
        assert!((lo - 0.9027).abs() < 1e-4 && hi == 1.0, "{lo} {hi}");
        assert!(1.0 - share_interval(35, 35).0 > 0.1);
        assert_eq!(share_interval(0, 36).0, 0.0);
        // The textbook case: 5 of 10, (0.1871, 0.8129).
        let (lo, hi) = share_interval(5, 10);
        assert!(
            (lo - 0.1871).abs() < 1e-4 && (hi - 0.8129).abs() < 1e-4,
            "{lo} {hi}"
        );
    }

    #[test]
    fn a_percentile_on_a_censored_wait_is_a_lower_bound() {
        // Served: 1, 2, 2; censored: 2, 5. Sorted, served first within a value:
        // 1, 2, 2, 2*, 5*. Rank of p50 is 3 (2, served); p80 is rank 4 (2, censored).
        let mut served = vec![0u64; 6];
        served[1] = 1;
        served[2] = 2;
        let mut censored = vec![0u64; 6];
        censored[2] = 1;
        censored[5] = 1;
        let at = |p| wait_at(&served, &censored, p).expect("pods");
        assert_eq!(
            at(50.0),
            Wait {
                ms: 2,
                censored: false
            }
        );
        assert_eq!(
            at(80.0),
            Wait {
                ms: 2,
                censored: true
            }
        );
        assert_eq!(
            at(99.0),
            Wait {
                ms: 5,
                censored: true
            }
        );
        assert_eq!(wait_at(&[], &[], 50.0), None);
    }
}
