//! Arbitrary bytes, read as UTF-8 (lossily), through scenario parsing and validation: every
//! input is either a scenario or a `ScenarioError`, never a panic, an overflow or a hang.
//! Accepted scenarios also go through the memory estimate that refuses hostile sizes.

#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok((scenario, _warnings)) = planner::scenario::parse(Path::new("fuzz.toml"), &text) {
        let estimate = scenario.memory_estimate();
        assert!(estimate.samples >= 2);
        let _ = scenario.check_memory();
    }
});
