//! The pending-event set: a radix heap keyed by time, first-in first-out within a millisecond.
//!
//! Simulated time only moves forward, so the queue can be *monotone*: every key is at least the
//! last one popped (`now`). A radix heap exploits that. Times are read as 16 hex digits; an
//! event waits in the bucket named by the highest digit in which its time differs from `now`
//! (its *level*) and by its own value of that digit; events due exactly now wait in `due`.
//! Pushing is O(1). When `due` runs dry, the lowest non-empty bucket is emptied: its earliest
//! time becomes `now` and its events drop to lower levels. An event moves at most once per
//! level, so about log16 of its delay times (six for a two-hour job), while a binary heap pays
//! ~log2(n) sift steps with unpredictable branches on every pop. With the many far-future
//! events of a run (pool loops, job ends, scale-down checks) that is several times cheaper; see
//! `planner bench`, which measures both.
//!
//! Order is a pure function of the schedule calls: events due at the same millisecond come out
//! in the order they were scheduled, with no sequence number stored. Events of equal time always
//! share a bucket (same level, same digit); a push appends the newest at the end, and emptying a
//! bucket moves each equal-time group, in order, into a bucket that held none of that time. So
//! every group stays in scheduling order, and `due` with it.

use std::collections::VecDeque;

use crate::scenario::Millis;

/// Bits per digit, and digits per time.
const DIGIT_BITS: u32 = 6;
const DIGITS: usize = 1 << DIGIT_BITS;
const LEVELS: usize = Millis::BITS.div_ceil(DIGIT_BITS) as usize;

/// A monotone min-queue of events keyed by time, FIFO among equal times.
#[derive(Debug)]
pub struct EventQueue<E> {
    /// Events due at `now_ms`, in scheduling order.
    due: VecDeque<E>,
    /// Bucket `level * DIGITS + digit`.
    buckets: Vec<Vec<(Millis, E)>>,
    /// The earliest time in each bucket (`Millis::MAX` when empty).
    earliest: Vec<Millis>,
    /// Per level, bit `digit` is set when that bucket holds events; bit `level` of
    /// `occupied_levels` when any bucket of the level does.
    occupied_digits: [u64; LEVELS],
    occupied_levels: u64,
    len: usize,
    now_ms: Millis,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> EventQueue<E> {
    /// An empty queue at time 0.
    pub fn new() -> Self {
        EventQueue {
            due: VecDeque::new(),
            buckets: (0..LEVELS * DIGITS).map(|_| Vec::new()).collect(),
            earliest: vec![Millis::MAX; LEVELS * DIGITS],
            occupied_digits: [0; LEVELS],
            occupied_levels: 0,
            len: 0,
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
        self.len += 1;
        self.place(at_ms, event);
    }

    /// Schedules `event` `delay_ms` from now.
    pub fn schedule_in(&mut self, delay_ms: Millis, event: E) {
        self.schedule(self.now_ms.saturating_add(delay_ms), event);
    }

    fn place(&mut self, at_ms: Millis, event: E) {
        let differing = at_ms ^ self.now_ms;
        if differing == 0 {
            self.due.push_back(event);
            return;
        }
        let level = (Millis::BITS - 1 - differing.leading_zeros()) / DIGIT_BITS;
        let digit = (at_ms >> (level * DIGIT_BITS)) as usize & (DIGITS - 1);
        let bucket = level as usize * DIGITS + digit;
        self.buckets[bucket].push((at_ms, event));
        self.earliest[bucket] = self.earliest[bucket].min(at_ms);
        self.occupied_digits[level as usize] |= 1 << digit;
        self.occupied_levels |= 1 << level;
    }

    /// The lowest non-empty bucket: it holds the earliest pending time.
    fn lowest_bucket(&self) -> Option<usize> {
        if self.occupied_levels == 0 {
            return None;
        }
        let level = self.occupied_levels.trailing_zeros() as usize;
        let digit = self.occupied_digits[level].trailing_zeros() as usize;
        Some(level * DIGITS + digit)
    }

    /// Removes the earliest event and advances the clock to it.
    pub fn pop(&mut self) -> Option<(Millis, E)> {
        self.pop_through(Millis::MAX)
    }

    /// Removes the earliest event if it is due no later than `limit_ms`, advancing the clock to
    /// it; otherwise leaves the queue and the clock as they are.
    pub fn pop_through(&mut self, limit_ms: Millis) -> Option<(Millis, E)> {
        if self.due.is_empty() {
            let bucket = self.lowest_bucket()?;
            let earliest = self.earliest[bucket];
            if earliest > limit_ms {
                return None;
            }
            self.now_ms = earliest;
            self.take(bucket);
        } else if self.now_ms > limit_ms {
            return None;
        }
        let event = self.due.pop_front().expect("refilled above");
        self.len -= 1;
        Some((self.now_ms, event))
    }

    /// Empties a bucket and places its events again, relative to the current clock.
    fn take(&mut self, bucket: usize) {
        let (level, digit) = (bucket / DIGITS, bucket % DIGITS);
        self.earliest[bucket] = Millis::MAX;
        self.occupied_digits[level] &= !(1 << digit);
        if self.occupied_digits[level] == 0 {
            self.occupied_levels &= !(1 << level);
        }
        let mut events = std::mem::take(&mut self.buckets[bucket]);
        for (at_ms, event) in events.drain(..) {
            self.place(at_ms, event);
        }
        // Hand the emptied vector back so that its capacity is reused, unless it is far larger
        // than what is pending (a burst long past): memory follows the pending set.
        if self.buckets[bucket].is_empty() && events.capacity() <= 2 * self.len + 1024 {
            self.buckets[bucket] = events;
        }
    }

    /// Moves the clock to `at_ms` with nothing popped; every pending event must be later.
    pub fn advance_to(&mut self, at_ms: Millis) {
        assert!(at_ms >= self.now_ms, "time goes backwards");
        assert!(
            self.peek_time().is_none_or(|next| next > at_ms),
            "an event before {at_ms} ms is pending"
        );
        // Buckets are relative to the clock: lay every event out again. Equal-time groups move
        // together and in order, as when a bucket is emptied; a bucket refilled before its own
        // turn only gets events that belong there, which its turn puts back.
        self.now_ms = at_ms;
        for bucket in 0..LEVELS * DIGITS {
            if !self.buckets[bucket].is_empty() {
                self.take(bucket);
            }
        }
    }

    /// The time of the earliest pending event.
    pub fn peek_time(&self) -> Option<Millis> {
        if !self.due.is_empty() {
            return Some(self.now_ms);
        }
        self.lowest_bucket().map(|bucket| self.earliest[bucket])
    }

    /// Pending events.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.len == 0
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

    // Far-apart times (up to days) exercise the high buckets; `pop_through` and `advance_to`
    // are mixed in, as the run loop and the end of a run use them.
    #[test]
    fn matches_an_ordered_map_with_far_times_limits_and_advances() {
        let mut state: u64 = 0x2545_F491_4F6C_DD1D;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut queue = EventQueue::new();
        let mut shadow: BTreeMap<(Millis, u64), u64> = BTreeMap::new();
        let mut seq = 0u64;
        for _ in 0..50_000 {
            match next() % 8 {
                0..=3 => {
                    let spread = [1, 300, 120_000, 86_400_000][(next() % 4) as usize];
                    // Many events share a time: the FIFO rule is what is tested.
                    let at = queue.now_ms() + (next() % spread) / 7 * 7;
                    queue.schedule(at, seq);
                    shadow.insert((at, seq), seq);
                    seq += 1;
                }
                4..=6 => {
                    let limit = queue.now_ms() + next() % 200_000;
                    let expected = shadow
                        .first_key_value()
                        .filter(|(key, _)| key.0 <= limit)
                        .map(|(key, value)| (key.0, *value));
                    if expected.is_some() {
                        shadow.pop_first();
                    }
                    let now = queue.now_ms();
                    assert_eq!(queue.pop_through(limit), expected);
                    if expected.is_none() {
                        assert_eq!(queue.now_ms(), now, "a refused pop leaves the clock");
                    }
                }
                _ => {
                    let next_at = shadow.first_key_value().map(|(key, _)| key.0);
                    assert_eq!(queue.peek_time(), next_at);
                    if let Some(next_at) = next_at
                        && next_at > queue.now_ms() + 1
                    {
                        let to = queue.now_ms() + (next_at - queue.now_ms()) / 2;
                        queue.advance_to(to);
                        assert_eq!(queue.now_ms(), to);
                    }
                }
            }
            assert_eq!(queue.len(), shadow.len());
        }
        while let Some((key, value)) = shadow.pop_first() {
            assert_eq!(queue.pop(), Some((key.0, value)));
        }
        assert!(queue.is_empty());
    }

    #[test]
    fn advancing_past_a_pending_event_is_refused() {
        let result = std::panic::catch_unwind(|| {
            let mut queue = EventQueue::new();
            queue.schedule(10, ());
            queue.advance_to(10);
        });
        assert!(result.is_err());
    }
}
