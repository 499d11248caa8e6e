//! Many seeded runs at once: runs go to rayon's threads, results come back in run order, and
//! everything after that is sequential, so the output does not depend on the thread count.

use rayon::prelude::*;

use std::ops::Range;

use crate::model::{InvariantViolation, RunResult, World};
use crate::scenario::{AutoRuns, Millis, Scenario};
use crate::stats::{SHARE_MARGIN, not_yet_sure};

/// Runs added per batch with `runs = "auto"`: fixed, so where it stops does not depend on the
/// machine.
pub const AUTO_BATCH: u32 = 20;

/// How `runs = "auto"` ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutoOutcome {
    /// The settings it ran with.
    pub settings: AutoRuns,
    /// Runs it took.
    pub runs: u32,
    /// Whether it stopped because the answer was sure (else it reached `max_runs`).
    pub sure: bool,
    /// Why it stopped, for people.
    pub reason: String,
}

/// Runs every seeded run of the scenario on the current rayon pool. `on_progress` receives
/// simulated milliseconds as they are covered, summed over runs up to `runs x horizon`, from
/// whichever thread makes them (for progress bars). Results come back in run order.
pub fn run_all(scenario: &Scenario, on_progress: &(dyn Fn(Millis) + Sync)) -> Vec<RunResult> {
    run_points(std::slice::from_ref(scenario), on_progress)
        .pop()
        .expect("one scenario, one group")
}

/// Like [`run_all`], checking the model's invariants after every event of every run. The first
/// violation found stops the runs not yet started and is returned.
pub fn run_all_checked(
    scenario: &Scenario,
    on_progress: &(dyn Fn(Millis) + Sync),
) -> Result<Vec<RunResult>, InvariantViolation> {
    run_range(scenario, 0..scenario.runs, true, on_progress)
}

/// The runs with these indices, in order, optionally checked after every event.
fn run_range(
    scenario: &Scenario,
    indices: Range<u32>,
    checked: bool,
    on_progress: &(dyn Fn(Millis) + Sync),
) -> Result<Vec<RunResult>, InvariantViolation> {
    run_indices(
        scenario,
        &indices.collect::<Vec<u32>>(),
        checked,
        on_progress,
    )
}

/// The runs with these indices (any set, as a shard holds), in the order given, optionally
/// checked after every event. A run depends only on (scenario, seed, index), so each is the
/// same run an unsharded set would make.
pub fn run_indices(
    scenario: &Scenario,
    indices: &[u32],
    checked: bool,
    on_progress: &(dyn Fn(Millis) + Sync),
) -> Result<Vec<RunResult>, InvariantViolation> {
    indices
        .par_iter()
        .copied()
        .map(|run_index| {
            let mut reached: Millis = 0;
            let mut progress = |now: Millis| {
                on_progress(now - reached);
                reached = now;
            };
            let world = World::new(scenario, run_index);
            if checked {
                world.run_checked(&mut progress).map(|(result, _)| result)
            } else {
                Ok(world.run_with_progress(&mut progress))
            }
        })
        .collect()
}

/// `runs = "auto"`: runs in batches of [`AUTO_BATCH`] (runs 0 to 19, then 20 to 39, ...) until
/// the runs so far make the answer sure (see [`not_yet_sure`]) or `max_runs` is reached. A run
/// depends only on (scenario, seed, run index) and the check reads the runs in order, so the
/// result is that of a fixed run count equal to the runs taken, at any thread count.
pub fn run_until_sure(
    scenario: &Scenario,
    settings: AutoRuns,
    checked: bool,
    on_progress: &(dyn Fn(Millis) + Sync),
) -> Result<(Vec<RunResult>, AutoOutcome), InvariantViolation> {
    let mut runs: Vec<RunResult> = Vec::new();
    let mut unsure = String::new();
    while (runs.len() as u32) < settings.max_runs {
        let start = runs.len() as u32;
        let end = (start + AUTO_BATCH).min(settings.max_runs);
        runs.extend(run_range(scenario, start..end, checked, on_progress)?);
        match not_yet_sure(scenario, &runs, settings.precision_ms) {
            None => {
                let outcome = AutoOutcome {
                    settings,
                    runs: runs.len() as u32,
                    sure: true,
                    reason: format!(
                        "sure: every zone that runs short knows its p{} first shortage to within {}, and every zone its share of runs short to within {} percentage points",
                        100.0 - scenario.planning.percentile,
                        crate::scenario::human_duration(settings.precision_ms),
                        SHARE_MARGIN * 100.0
                    ),
                };
                return Ok((runs, outcome));
            }
            Some(reason) => unsure = reason,
        }
    }
    let outcome = AutoOutcome {
        settings,
        runs: runs.len() as u32,
        sure: false,
        reason: format!(
            "max_runs = {} reached, still unsure: {unsure}",
            settings.max_runs
        ),
    };
    Ok((runs, outcome))
}

/// Every combination of one value per axis, the first axis varying slowest.
pub fn combinations<T: Clone>(axes: &[Vec<T>]) -> Vec<Vec<T>> {
    let mut out: Vec<Vec<T>> = vec![Vec::new()];
    for axis in axes {
        out = out
            .iter()
            .flat_map(|prefix| {
                axis.iter().map(move |value| {
                    let mut next = prefix.clone();
                    next.push(value.clone());
                    next
                })
            })
            .collect();
    }
    out
}

/// Runs every seeded run of every scenario (the points of a sweep) as one parallel batch, and
/// returns the runs grouped by scenario, in order.
pub fn run_points(
    scenarios: &[Scenario],
    on_progress: &(dyn Fn(Millis) + Sync),
) -> Vec<Vec<RunResult>> {
    let tasks: Vec<(usize, u32)> = scenarios
        .iter()
        .enumerate()
        .flat_map(|(point, s)| (0..s.runs).map(move |run| (point, run)))
        .collect();
    let results = run_tasks(scenarios, &tasks, on_progress);
    let mut grouped: Vec<Vec<RunResult>> = scenarios.iter().map(|_| Vec::new()).collect();
    for (&(point, _), result) in tasks.iter().zip(results) {
        grouped[point].push(result);
    }
    grouped
}

/// Runs (point, run index) tasks of several scenarios as one parallel batch (a shard's share of
/// a sweep, or of the follow-up re-runs), returning the results in the order given.
pub fn run_tasks(
    scenarios: &[Scenario],
    tasks: &[(usize, u32)],
    on_progress: &(dyn Fn(Millis) + Sync),
) -> Vec<RunResult> {
    tasks
        .par_iter()
        .map(|&(point, run_index)| {
            let mut reached: Millis = 0;
            World::new(&scenarios[point], run_index).run_with_progress(&mut |now| {
                on_progress(now - reached);
                reached = now;
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combinations_cover_the_product_in_order() {
        let axes = vec![vec![1, 2], vec![10, 20, 30]];
        assert_eq!(
            combinations(&axes),
            vec![
                vec![1, 10],
                vec![1, 20],
                vec![1, 30],
                vec![2, 10],
                vec![2, 20],
                vec![2, 30]
            ]
        );
        assert_eq!(combinations::<u8>(&[]), vec![Vec::<u8>::new()]);
    }
}
