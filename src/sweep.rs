//! Many seeded runs at once: runs go to rayon's threads, results come back in run order, and
//! everything after that is sequential, so the output does not depend on the thread count.

use rayon::prelude::*;

use crate::engine;
use crate::model::RunResult;
use crate::scenario::{Millis, Scenario};

/// Runs every seeded run of the scenario on the current rayon pool. `on_progress` receives
/// simulated milliseconds as they are covered, summed over runs up to `runs x horizon`, from
/// whichever thread makes them (for progress bars). Results come back in run order.
pub fn run_all(scenario: &Scenario, on_progress: &(dyn Fn(Millis) + Sync)) -> Vec<RunResult> {
    (0..scenario.runs)
        .into_par_iter()
        .map(|run_index| {
            let mut reached: Millis = 0;
            engine::run_once_with_progress(scenario, run_index, &mut |now| {
                on_progress(now - reached);
                reached = now;
            })
        })
        .collect()
}
