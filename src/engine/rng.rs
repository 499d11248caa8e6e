//! Seeded random streams: one ChaCha8 stream per (run, concern).
//!
//! A run's draws depend only on the seed and the run index, never on which thread runs it or
//! how many runs there are. A model gives each of its concerns (what the draws are for) its
//! own stream, so that, say, a change in how often jobs arrive does not shift the draws that
//! pick vSwitches.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Concerns a run can have, at most: streams are numbered `run x CONCERNS + concern`, so this
/// fixes every stream's number (changing it would change every run's draws).
pub const CONCERNS: u64 = 8;

/// The stream for `concern` (below [`CONCERNS`]) in run `run_index` of a model seeded with
/// `seed`.
pub fn stream(seed: u64, run_index: u32, concern: u64) -> ChaCha8Rng {
    assert!(concern < CONCERNS, "concern {concern} out of range");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(u64::from(run_index) * CONCERNS + concern);
    rng
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngExt;

    #[test]
    fn streams_repeat_for_the_same_key_and_differ_across_keys() {
        let draw = |seed, run, concern| {
            let mut rng = stream(seed, run, concern);
            (0..4).map(|_| rng.random::<u64>()).collect::<Vec<_>>()
        };
        assert_eq!(draw(1, 0, 1), draw(1, 0, 1));
        assert_ne!(draw(1, 0, 1), draw(1, 1, 1));
        assert_ne!(draw(1, 0, 1), draw(1, 0, 0));
        assert_ne!(draw(1, 0, 1), draw(2, 0, 1));
        // Concern 7 of run 0 and concern 0 of run 1 are neighbouring streams, not the same.
        assert_ne!(draw(1, 0, 7), draw(1, 1, 0));
    }
}
