//! The pending-event set: a binary heap ordered by (time, sequence number).
//!
//! The sequence number is the insertion order, so events scheduled for the same millisecond
//! come out first-in first-out. That makes a run a pure function of its inputs: the heap's
//! internal layout never decides which of two simultaneous events goes first.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use crate::scenario::Millis;

/// A min-queue of events keyed by (time, insertion sequence).
#[derive(Debug)]
pub struct EventQueue<E> {
    heap: BinaryHeap<Entry<E>>,
    next_seq: u64,
    now_ms: Millis,
}

#[derive(Debug)]
struct Entry<E> {
    at_ms: Millis,
    seq: u64,
    event: E,
}

// Reversed so that std's max-heap pops the earliest (time, seq) first.
impl<E> Ord for Entry<E> {
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at_ms, other.seq).cmp(&(self.at_ms, self.seq))
    }
}

impl<E> PartialOrd for Entry<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, other: &Self) -> bool {
        (self.at_ms, self.seq) == (other.at_ms, other.seq)
    }
}

impl<E> Eq for Entry<E> {}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> EventQueue<E> {
    /// An empty queue at time 0.
    pub fn new() -> Self {
        EventQueue {
            heap: BinaryHeap::new(),
            next_seq: 0,
            now_ms: 0,
        }
    }

    /// The time of the last popped event.
    pub fn now_ms(&self) -> Millis {
        self.now_ms
    }

    /// Schedules `event` at `at_ms`, which must not be in the past.
    pub fn schedule(&mut self, at_ms: Millis, event: E) {
        assert!(
            at_ms >= self.now_ms,
            "event scheduled in the past: {at_ms} ms < now {} ms",
            self.now_ms
        );
        let seq = self.next_seq;
        self.next_seq += 1;
        self.heap.push(Entry { at_ms, seq, event });
    }

    /// Schedules `event` `delay_ms` from now.
    pub fn schedule_in(&mut self, delay_ms: Millis, event: E) {
        self.schedule(self.now_ms.saturating_add(delay_ms), event);
    }

    /// Removes the earliest event and advances the clock to it.
    pub fn pop(&mut self) -> Option<(Millis, E)> {
        let entry = self.heap.pop()?;
        debug_assert!(entry.at_ms >= self.now_ms, "time went backwards");
        self.now_ms = entry.at_ms;
        Some((entry.at_ms, entry.event))
    }

    /// The time of the earliest pending event.
    pub fn peek_time(&self) -> Option<Millis> {
        self.heap.peek().map(|entry| entry.at_ms)
    }

    /// Pending events.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Whether nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn simultaneous_events_pop_in_insertion_order() {
        let mut queue = EventQueue::new();
        queue.schedule(5, 'a');
        queue.schedule(3, 'b');
        queue.schedule(5, 'c');
        queue.schedule(3, 'd');
        let order: Vec<char> = std::iter::from_fn(|| queue.pop().map(|(_, e)| e)).collect();
        assert_eq!(order, vec!['b', 'd', 'a', 'c']);
    }

    #[test]
    fn scheduling_in_the_past_is_refused() {
        let result = std::panic::catch_unwind(|| {
            let mut queue = EventQueue::new();
            queue.schedule(10, ());
            queue.pop();
            queue.schedule(9, ());
        });
        assert!(result.is_err());
    }

    // A seeded random workload against a BTreeMap keyed by (time, seq): the naive model.
    #[test]
    fn matches_an_ordered_map_under_random_operations() {
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut queue = EventQueue::new();
        let mut shadow = BTreeMap::new();
        let mut seq = 0u64;
        for _ in 0..20_000 {
            if next() % 3 != 0 || shadow.is_empty() {
                let at = queue.now_ms() + next() % 50;
                queue.schedule(at, seq);
                shadow.insert((at, seq), seq);
                seq += 1;
            } else {
                let (key, value) = shadow.pop_first().expect("not empty");
                assert_eq!(queue.pop(), Some((key.0, value)));
            }
        }
        assert_eq!(queue.len(), shadow.len());
    }
}
