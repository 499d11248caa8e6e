//! Many seeded runs at once: runs go to rayon's threads, results come back in run order, and
//! everything after that is sequential, so the output does not depend on the thread count.

use rayon::prelude::*;

use crate::engine;
use crate::model::RunResult;
use crate::scenario::Scenario;

/// Runs every seeded run of the scenario on the current rayon pool. `on_run_done` is called
/// once per finished run, from whichever thread ran it (for progress bars).
pub fn run_all(scenario: &Scenario, on_run_done: &(dyn Fn() + Sync)) -> Vec<RunResult> {
    (0..scenario.runs)
        .into_par_iter()
        .map(|run_index| {
            let result = engine::run_once(scenario, run_index);
            on_run_done();
            result
        })
        .collect()
}
