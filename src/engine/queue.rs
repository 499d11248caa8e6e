//! The pending-event set: a radix heap keyed by time, first-in first-out within a millisecond.
//!
//! Simulated time only moves forward, so the queue can be *monotone*: every key is at least the
//! last one popped (`now`). A radix heap exploits that. An event due within the same 4 096 ms
//! block as `now` goes straight into the *wheel*, one bucket per millisecond. A later one waits
//! in an upper bucket named by the highest 6-bit digit in which its time differs from `now`
//! (its level) and by its own value of that digit. Events due exactly now wait in `due`.
//! Pushing is O(1). When `due` runs dry, the earliest wheel bucket simply becomes `due`; if the
//! wheel is empty, the lowest upper bucket is emptied: its earliest time becomes `now` and its
//! events drop to the wheel or lower levels. So an event is moved once per level it starts
//! above the wheel: none for the gather delays and API calls of a few seconds, one for a pool
//! loop's two to four minutes, two for a job's hour. A binary heap instead pays ~log2(n) sift
//! steps with unpredictable branches on every pop; `planner bench` measures both.
//!
//! Order is a pure function of the schedule calls: events due at the same millisecond come out
//! in the order they were scheduled, with no sequence number stored. Events of equal time always
//! share a bucket (same level, same digit); a push appends the newest at the end, and emptying a
//! bucket moves each equal-time group, in order, into a bucket that held none of that time. So
//! every group stays in scheduling order, and `due` with it.

use std::num::NonZeroU64;

use super::Millis;

/// The wheel: one bucket per millisecond of the current 4 096 ms block.
const WHEEL_BITS: u32 = 12;
const WHEEL: usize = 1 << WHEEL_BITS;
const WHEEL_WORDS: usize = WHEEL / 64;
/// Upper levels: 6-bit digits above the wheel.
const DIGIT_BITS: u32 = 6;
const DIGITS: usize = 1 << DIGIT_BITS;
const LEVELS: usize = (Millis::BITS - WHEEL_BITS).div_ceil(DIGIT_BITS) as usize;
const BUCKETS: usize = LEVELS * DIGITS;

/// A wheel bucket (or `due`) holds events of one time, so it stores them without it: 16
/// bytes an event rather than 24, fewer cache lines written and read. An upper bucket spans
/// many times and keeps each event's.
type Bucket<E> = Vec<E>;
type UpperBucket<E> = Vec<(Millis, E)>;

/// An emptied bucket keeps its vector for reuse up to this many events; a larger one (a burst)
/// is freed, so that thousands of buckets never each hold the memory of the largest burst.
const KEPT_CAPACITY: usize = 256;

/// A monotone min-queue of events keyed by time, FIFO among equal times.
#[derive(Debug)]
pub struct EventQueue<E> {
    /// Events due at `now_ms`, in scheduling order, from `due_head` on.
    due: Bucket<E>,
    due_head: usize,
    /// Wheel bucket `t % WHEEL` holds the events due at `t`, for `t` in now's block; bit `i` of
    /// `wheel_words[w]` is set when bucket `64 w + i` holds events, bit `w` of `wheel_summary`
    /// when any of word `w` does.
    wheel: Box<[Bucket<E>; WHEEL]>,
    wheel_words: [u64; WHEEL_WORDS],
    wheel_summary: u64,
    /// Upper bucket `level * DIGITS + digit`, with the earliest time in each (`Millis::MAX`
    /// when empty). Per level, bit `digit` is set when that bucket holds events; bit `level` of
    /// `occupied_levels` when any bucket of the level does.
    upper: Box<[UpperBucket<E>; BUCKETS]>,
    earliest: Box<[Millis; BUCKETS]>,
    occupied_digits: [u64; LEVELS],
    occupied_levels: u64,
    len: usize,
    now_ms: Millis,
}

impl<E: Copy> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E: Copy> EventQueue<E> {
    /// An empty queue at time 0.
    pub fn new() -> Self {
        EventQueue {
            due: Vec::new(),
            due_head: 0,
            wheel: Box::new(std::array::from_fn(|_| Vec::new())),
            wheel_words: [0; WHEEL_WORDS],
            wheel_summary: 0,
            upper: Box::new(std::array::from_fn(|_| Vec::new())),
            earliest: Box::new([Millis::MAX; BUCKETS]),
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

    #[inline]
    fn place(&mut self, at_ms: Millis, event: E) {
        let Some(differing) = NonZeroU64::new(at_ms ^ self.now_ms) else {
            self.due.push(event);
            return;
        };
        let highest = Millis::BITS - 1 - differing.leading_zeros();
        if highest < WHEEL_BITS {
            let slot = at_ms as usize % WHEEL;
            self.wheel[slot].push(event);
            self.wheel_words[slot / 64] |= 1 << (slot % 64);
            self.wheel_summary |= 1 << (slot / 64);
            return;
        }
        let level = (highest - WHEEL_BITS) / DIGIT_BITS;
        let shift = WHEEL_BITS + level * DIGIT_BITS;
        let digit = (at_ms >> shift) as usize % DIGITS;
        let bucket = level as usize * DIGITS + digit;
        self.upper[bucket].push((at_ms, event));
        self.earliest[bucket] = self.earliest[bucket].min(at_ms);
        self.occupied_digits[level as usize] |= 1 << digit;
        self.occupied_levels |= 1 << level;
    }

    /// The earliest wheel bucket, if any.
    fn first_wheel_slot(&self) -> Option<usize> {
        if self.wheel_summary == 0 {
            return None;
        }
        let word = self.wheel_summary.trailing_zeros() as usize;
        Some(word * 64 + self.wheel_words[word].trailing_zeros() as usize)
    }

    /// The earliest wheel bucket after `slot`, if any.
    fn wheel_slot_after(&self, slot: usize) -> Option<usize> {
        let (word, bit) = (slot / 64, slot % 64);
        let rest = self.wheel_words[word] & (u64::MAX << bit << 1);
        if rest != 0 {
            return Some(word * 64 + rest.trailing_zeros() as usize);
        }
        let words = self.wheel_summary & (u64::MAX << word << 1);
        if words == 0 {
            return None;
        }
        let word = words.trailing_zeros() as usize;
        Some(word * 64 + self.wheel_words[word].trailing_zeros() as usize)
    }

    /// The next event if it is already in `due` or the next wheel bucket, without popping it:
    /// a hint for prefetching, so it gives up rather than search the upper levels.
    pub fn peek_soon(&self) -> Option<&E> {
        if !self.due_is_empty() {
            return Some(&self.due[self.due_head]);
        }
        let slot = self.first_wheel_slot()?;
        self.wheel[slot].first()
    }

    /// The time a wheel bucket stands for.
    fn wheel_time(&self, slot: usize) -> Millis {
        (self.now_ms & !(WHEEL as Millis - 1)) | slot as Millis
    }

    /// The lowest non-empty upper bucket: it holds the earliest time above the wheel.
    fn lowest_upper(&self) -> Option<usize> {
        if self.occupied_levels == 0 {
            return None;
        }
        let level = self.occupied_levels.trailing_zeros() as usize;
        let digit = self.occupied_digits[level].trailing_zeros() as usize;
        Some(level * DIGITS + digit)
    }

    fn due_is_empty(&self) -> bool {
        self.due_head == self.due.len()
    }

    /// Removes the earliest event and advances the clock to it.
    pub fn pop(&mut self) -> Option<(Millis, E)> {
        self.pop_through(Millis::MAX)
    }

    /// Removes the earliest event if it is due no later than `limit_ms`, advancing the clock to
    /// it; otherwise leaves the queue and the clock as they are.
    pub fn pop_through(&mut self, limit_ms: Millis) -> Option<(Millis, E)> {
        if self.due_is_empty() {
            if let Some(slot) = self.first_wheel_slot() {
                let at_ms = self.wheel_time(slot);
                if at_ms > limit_ms {
                    return None;
                }
                self.now_ms = at_ms;
                self.due.clear();
                self.due_head = 0;
                // One time only, now's: the bucket is `due` as it stands, and the spent `due`
                // vector is parked in its place unless a burst made it large.
                std::mem::swap(&mut self.due, &mut self.wheel[slot]);
                if self.wheel[slot].capacity() > KEPT_CAPACITY {
                    self.wheel[slot] = Vec::new();
                }
                self.wheel_words[slot / 64] &= !(1 << (slot % 64));
                if self.wheel_words[slot / 64] == 0 {
                    self.wheel_summary &= !(1 << (slot / 64));
                }
                // The next two buckets were written long ago and are likely out of cache: fetch
                // them while this one's events are handled (`peek_soon` reads the first).
                if let Some(next) = self.first_wheel_slot() {
                    super::prefetch(self.wheel[next].as_ptr());
                    if let Some(after) = self.wheel_slot_after(next) {
                        super::prefetch(self.wheel[after].as_ptr());
                    }
                }
            } else {
                let bucket = self.lowest_upper()?;
                let earliest = self.earliest[bucket];
                if earliest > limit_ms {
                    return None;
                }
                self.now_ms = earliest;
                self.due.clear();
                self.due_head = 0;
                self.take_upper(bucket);
            }
        } else if self.now_ms > limit_ms {
            return None;
        }
        let event = self.due[self.due_head];
        self.due_head += 1;
        self.len -= 1;
        Some((self.now_ms, event))
    }

    /// Empties an upper bucket into `due`, the wheel and lower levels, relative to the clock.
    fn take_upper(&mut self, bucket: usize) {
        let (level, digit) = (bucket / DIGITS, bucket % DIGITS);
        self.earliest[bucket] = Millis::MAX;
        self.occupied_digits[level] &= !(1 << digit);
        if self.occupied_digits[level] == 0 {
            self.occupied_levels &= !(1 << level);
        }
        let mut events = std::mem::take(&mut self.upper[bucket]);
        for &(at_ms, event) in &events {
            self.place(at_ms, event);
        }
        events.clear();
        if self.upper[bucket].is_empty() && events.capacity() <= KEPT_CAPACITY {
            self.upper[bucket] = events;
        }
    }

    /// Moves the clock to `at_ms` with nothing popped; every pending event must be later.
    pub fn advance_to(&mut self, at_ms: Millis) {
        assert!(at_ms >= self.now_ms, "time goes backwards");
        assert!(
            self.peek_time().is_none_or(|next| next > at_ms),
            "an event before {at_ms} ms is pending"
        );
        // Buckets are relative to the clock: lay every event out again. Equal-time groups
        // share a bucket and move whole, in order, as when a bucket is emptied.
        let mut pending: UpperBucket<E> = Vec::with_capacity(self.len);
        for slot in 0..WHEEL {
            let at = self.wheel_time(slot);
            pending.extend(self.wheel[slot].drain(..).map(|event| (at, event)));
        }
        for bucket in self.upper.iter_mut() {
            pending.append(bucket);
        }
        self.wheel_words = [0; WHEEL_WORDS];
        self.wheel_summary = 0;
        self.earliest.fill(Millis::MAX);
        self.occupied_digits = [0; LEVELS];
        self.occupied_levels = 0;
        self.now_ms = at_ms;
        for &(at, event) in &pending {
            self.place(at, event);
        }
    }

    /// The time of the earliest pending event.
    pub fn peek_time(&self) -> Option<Millis> {
        if !self.due_is_empty() {
            return Some(self.now_ms);
        }
        if let Some(slot) = self.first_wheel_slot() {
            return Some(self.wheel_time(slot));
        }
        self.lowest_upper().map(|bucket| self.earliest[bucket])
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
    use proptest::prelude::*;
    use proptest::test_runner::RngSeed;
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

    /// One step of a random workload, as the run loop and the end of a run use the queue.
    #[derive(Debug, Clone)]
    enum Step {
        /// Schedule an event `ahead` ms from now; `shared` rounds the time to a multiple of 7
        /// ms, so that many events share a time and the FIFO rule is what is tested.
        Schedule {
            ahead: Millis,
            shared: bool,
        },
        Pop,
        /// `pop_through(now + ahead)`.
        PopThrough {
            ahead: Millis,
        },
        /// `peek_time`, then `advance_to` halfway to the next event.
        PeekAndAdvance,
    }

    fn step() -> impl Strategy<Value = Step> {
        // Spreads from the same millisecond to days reach every level of the radix heap.
        let spread = prop::sample::select(vec![1, 50, 300, 120_000, 86_400_000]);
        prop_oneof![
            4 => (spread, any::<Millis>(), any::<bool>()).prop_map(|(spread, ahead, shared)| {
                Step::Schedule { ahead: ahead % spread, shared }
            }),
            2 => Just(Step::Pop),
            2 => (0..200_000 as Millis).prop_map(|ahead| Step::PopThrough { ahead }),
            1 => Just(Step::PeekAndAdvance),
        ]
    }

    proptest! {
        // A fixed seed, so every run checks the same cases; a failure shrinks to the shortest
        // list of steps that breaks, saved in proptest-regressions/ for replay.
        #![proptest_config(ProptestConfig {
            cases: 64,
            rng_seed: RngSeed::Fixed(0x9E37_79B9_7F4A_7C15),
            ..ProptestConfig::default()
        })]

        // The naive model: a BTreeMap keyed by (time, scheduling sequence).
        #[test]
        fn matches_an_ordered_map(steps in prop::collection::vec(step(), 1..2_000)) {
            let mut queue = EventQueue::new();
            let mut shadow: BTreeMap<(Millis, u64), u64> = BTreeMap::new();
            let mut seq = 0u64;
            for step in steps {
                match step {
                    Step::Schedule { ahead, shared } => {
                        let ahead = if shared { ahead / 7 * 7 } else { ahead };
                        let at = queue.now_ms() + ahead;
                        queue.schedule(at, seq);
                        shadow.insert((at, seq), seq);
                        seq += 1;
                    }
                    Step::Pop => {
                        let expected = shadow.pop_first().map(|(key, value)| (key.0, value));
                        prop_assert_eq!(queue.pop(), expected);
                    }
                    Step::PopThrough { ahead } => {
                        let limit = queue.now_ms() + ahead;
                        let expected = shadow
                            .first_key_value()
                            .filter(|(key, _)| key.0 <= limit)
                            .map(|(key, value)| (key.0, *value));
                        if expected.is_some() {
                            shadow.pop_first();
                        }
                        let now = queue.now_ms();
                        prop_assert_eq!(queue.pop_through(limit), expected);
                        if expected.is_none() {
                            prop_assert_eq!(queue.now_ms(), now, "a refused pop leaves the clock");
                        }
                    }
                    Step::PeekAndAdvance => {
                        let next_at = shadow.first_key_value().map(|(key, _)| key.0);
                        prop_assert_eq!(queue.peek_time(), next_at);
                        if let Some(next_at) = next_at
                            && next_at > queue.now_ms() + 1
                        {
                            let to = queue.now_ms() + (next_at - queue.now_ms()) / 2;
                            queue.advance_to(to);
                            prop_assert_eq!(queue.now_ms(), to);
                        }
                    }
                }
                prop_assert_eq!(queue.len(), shadow.len());
            }
            while let Some((key, value)) = shadow.pop_first() {
                prop_assert_eq!(queue.pop(), Some((key.0, value)));
            }
            prop_assert!(queue.is_empty());
        }
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
