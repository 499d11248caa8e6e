//! The discrete-event engine: integer simulated time, a (time, sequence)-ordered queue and
//! seeded random streams. [`run_once`] drives one run of the model to the horizon.
//!
//! The engine owns no domain knowledge; the model's handlers decide what each event does. It
//! reads no clock and no environment, so a run is a pure function of (scenario, seed, run).

pub mod queue;
pub mod rng;

use crate::model::{InvariantViolation, RunResult, World};
use crate::scenario::{Millis, Scenario};

/// Runs run `run_index` of the scenario to its horizon.
pub fn run_once(scenario: &Scenario, run_index: u32) -> RunResult {
    World::new(scenario, run_index).run()
}

/// Like [`run_once`], calling `progress` with the simulated time reached now and then.
pub fn run_once_with_progress(
    scenario: &Scenario,
    run_index: u32,
    progress: &mut dyn FnMut(Millis),
) -> RunResult {
    World::new(scenario, run_index).run_with_progress(progress)
}

/// Like [`run_once_with_progress`], checking the model's invariants after every event
/// (`planner run --check-invariants`): the same result, or the first violation.
pub fn run_once_checked(
    scenario: &Scenario,
    run_index: u32,
    progress: &mut dyn FnMut(Millis),
) -> Result<RunResult, InvariantViolation> {
    World::new(scenario, run_index)
        .run_checked(progress)
        .map(|(result, _)| result)
}
