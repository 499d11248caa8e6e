//! The discrete-event engine: integer simulated time, a time-ordered queue (first in, first
//! out within a millisecond) and seeded random streams. [`run_once`] drives one run of the
//! model to the horizon.
//!
//! The engine owns no domain knowledge; the model's handlers decide what each event does. It
//! reads no clock and no environment, so a run is a pure function of (scenario, seed, run).

pub mod queue;
pub mod rng;

use crate::model::{InvariantViolation, RunResult, World};
use crate::scenario::{Millis, Scenario};

/// Asks the CPU to bring the cache line at `address` in, without waiting for it. The engine
/// calls it for the next event's bucket and the model for the next event's record: most
/// events are due long after they were scheduled, so both are usually out of cache, and the
/// fetch then overlaps the current event's work instead of stalling the next one.
#[inline(always)]
pub fn prefetch<T>(address: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `prefetcht0` only hints the cache: it loads nothing into a register and never
    // faults, whatever the address, so no pointer validity is needed. SSE is in x86_64's
    // baseline, so the instruction always exists.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(address.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = address;
}

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
