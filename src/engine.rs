//! The discrete-event engine: integer simulated time, a time-ordered queue (first in, first
//! out within a millisecond), seeded random streams, and [`run_until`], the loop that pops
//! events and hands them to a [`Simulation`].
//!
//! The engine knows nothing of Terway, Kubernetes or scenarios: a model implements
//! [`Simulation`] and decides what each event does. The engine reads no clock and no
//! environment, so a run is a pure function of the model's initial state and its seeds.

pub mod queue;
pub mod rng;

use queue::EventQueue;

/// Simulated milliseconds since the run started.
pub type Millis = u64;

/// A model the engine can drive. The model owns its queue because its handlers schedule the
/// events that follow; the engine only pops them in order.
pub trait Simulation {
    /// The closed set of things that can happen; small and `Copy`, since the queue moves each
    /// event a few times.
    type Event: Copy;
    /// Why a run stopped early (a broken invariant, say).
    type Error;

    /// The pending events.
    fn queue(&self) -> &EventQueue<Self::Event>;
    /// The pending events, to pop from.
    fn queue_mut(&mut self) -> &mut EventQueue<Self::Event>;
    /// Handles one event due at `at_ms` (the queue's time is already `at_ms`).
    fn handle(&mut self, at_ms: Millis, event: Self::Event) -> Result<(), Self::Error>;
    /// A hint that `next` will be handled soon: a model may start fetching the record it
    /// names (see [`prefetch`]). Doing nothing is always correct.
    #[inline]
    fn prefetch(&self, next: Self::Event) {
        let _ = next;
    }
}

/// What the loop counted over one run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoopCounts {
    /// Events handled.
    pub events: u64,
    /// Sum over events of the events still pending when each was popped (its mean is the
    /// pending-set size `planner bench` gives its baseline).
    pub pending_sum: u64,
}

impl LoopCounts {
    /// Mean number of events pending in the queue.
    pub fn pending_mean(&self) -> f64 {
        self.pending_sum as f64 / self.events.max(1) as f64
    }
}

/// Progress is reported every so many events: often enough for a smooth bar, rarely enough
/// to cost nothing.
const EVENTS_PER_PROGRESS: u64 = 1 << 16;

/// Handles every event due at or before `horizon_ms`, in time order (first in, first out
/// within a millisecond), telling `progress` the simulated time reached every so many events
/// and the horizon at the end. The first error from a handler stops the run.
pub fn run_until<S: Simulation>(
    simulation: &mut S,
    horizon_ms: Millis,
    progress: &mut dyn FnMut(Millis),
) -> Result<LoopCounts, S::Error> {
    let mut counts = LoopCounts::default();
    while let Some((at_ms, event)) = simulation.queue_mut().pop_through(horizon_ms) {
        counts.events += 1;
        counts.pending_sum += simulation.queue().len() as u64;
        if let Some(&next) = simulation.queue().peek_soon() {
            simulation.prefetch(next);
        }
        simulation.handle(at_ms, event)?;
        if counts.events.is_multiple_of(EVENTS_PER_PROGRESS) {
            progress(at_ms);
        }
    }
    progress(horizon_ms);
    Ok(counts)
}

/// Asks the CPU to bring the cache line at `address` in, without waiting for it. The engine
/// calls it for the next event's bucket and a model for the next event's record: most
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts down: each event schedules the next one `step` later until `left` is 0, and
    /// fails on the event numbered `fail_at`.
    struct Countdown {
        queue: EventQueue<u32>,
        seen: Vec<(Millis, u32)>,
        fail_at: Option<u32>,
    }

    impl Simulation for Countdown {
        type Event = u32;
        type Error = Millis;
        fn queue(&self) -> &EventQueue<u32> {
            &self.queue
        }
        fn queue_mut(&mut self) -> &mut EventQueue<u32> {
            &mut self.queue
        }
        fn handle(&mut self, at_ms: Millis, left: u32) -> Result<(), Millis> {
            self.seen.push((at_ms, left));
            if Some(left) == self.fail_at {
                return Err(at_ms);
            }
            if left > 0 {
                self.queue.schedule_in(10, left - 1);
            }
            Ok(())
        }
    }

    fn countdown(fail_at: Option<u32>) -> Countdown {
        let mut queue = EventQueue::new();
        queue.schedule(5, 3);
        queue.schedule(5, 100);
        Countdown {
            queue,
            seen: Vec::new(),
            fail_at,
        }
    }

    #[test]
    fn the_loop_handles_events_in_time_order_through_the_horizon() {
        let mut sim = countdown(None);
        let mut reported = Vec::new();
        let counts = run_until(&mut sim, 25, &mut |t| reported.push(t)).unwrap();
        // 3 at 5, 100 at 5 (scheduled second), then 2 and 99 at 15, 1 and 98 at 25; 0 and
        // 97 at 35 are past the horizon and stay queued.
        assert_eq!(
            sim.seen,
            vec![(5, 3), (5, 100), (15, 2), (15, 99), (25, 1), (25, 98)]
        );
        assert_eq!(counts.events, 6);
        // Pending when each was popped: 1, 1 (100's successor queued), 1, 1, 1, 1.
        assert_eq!(counts.pending_sum, 6);
        assert_eq!(reported, vec![25]);
        assert_eq!(sim.queue.len(), 2);
    }

    #[test]
    fn a_handler_error_stops_the_loop() {
        let mut sim = countdown(Some(99));
        assert_eq!(run_until(&mut sim, 1_000, &mut |_| {}), Err(15));
        assert_eq!(sim.seen.last(), Some(&(15, 99)));
        assert_eq!(sim.seen.len(), 4);
    }
}
