//! Many seeded runs at once: runs go to rayon's threads, results come back in run order, and
//! everything after that is sequential, so the output does not depend on the thread count.

use rayon::prelude::*;

use crate::model::{InvariantViolation, RunResult, World};
use crate::scenario::{Millis, Scenario};

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
    (0..scenario.runs)
        .into_par_iter()
        .map(|run_index| {
            let mut reached: Millis = 0;
            World::new(scenario, run_index)
                .run_checked(&mut |now| {
                    on_progress(now - reached);
                    reached = now;
                })
                .map(|(result, _)| result)
        })
        .collect()
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
    let mut results: Vec<(usize, RunResult)> = tasks
        .into_par_iter()
        .map(|(point, run_index)| {
            let mut reached: Millis = 0;
            let result = World::new(&scenarios[point], run_index).run_with_progress(&mut |now| {
                on_progress(now - reached);
                reached = now;
            });
            (point, result)
        })
        .collect();
    let mut grouped: Vec<Vec<RunResult>> = scenarios.iter().map(|_| Vec::new()).collect();
    for (point, result) in results.drain(..) {
        grouped[point].push(result);
    }
    grouped
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
