//! Property tests through the library: generated valid scenarios, written as TOML and read back
//! with `planner::scenario::parse`, run short with the invariant checker on after every event;
//! properties the model holds by design; and parsing that never panics on broken files.
//!
//! The scenarios come from proptest strategies (`strategies`). Each property runs a fixed
//! number of cases from a fixed seed, so every run and CI check the same cases;
//! `PROPTEST_RNG_SEED=N cargo test --test integration properties` explores others. A failing
//! case shrinks to a minimal one, which the test prints as the scenario's text, and proptest
//! saves its seed in `tests/integration/regressions/<property>.txt`: commit that file, and
//! every later run replays the saved cases before the new ones.

use std::cell::Cell;
use std::path::Path;

use planner::model::{self, RunResult, World};
use planner::scenario::{self, Scenario};
use proptest::prelude::*;
use proptest::test_runner::{
    Config, FileFailurePersistence, RngSeed, TestCaseError, TestCaseResult, TestError, TestRunner,
};

mod strategies;

pub use strategies::{Family, random_scenario};
use strategies::{monotone_pairs, mutants, scenarios};

/// The file where proptest saves the failing cases of `property`, committed with the tests
/// (see the module docs). One file per property, since a saved seed means something only to
/// the strategy that drew it; an absolute path, so it does not depend on where the tests run.
macro_rules! regressions {
    ($property:literal) => {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/integration/regressions/",
            $property,
            ".txt"
        )
    };
}

/// Runs `test` on the cases saved in `regressions`, then on `cases` new values of `strategy`
/// drawn from `seed`. A failure shrinks to a minimal value, is saved, and fails the test with
/// that value shown by `show`.
fn check<S: Strategy>(
    seed: u64,
    cases: u32,
    regressions: &'static str,
    strategy: S,
    show: impl Fn(&S::Value) -> String,
    test: impl Fn(S::Value) -> TestCaseResult,
) {
    let mut config = Config::with_cases(cases);
    if config.rng_seed == RngSeed::Random {
        config.rng_seed = RngSeed::Fixed(seed);
    }
    // By default proptest stops shrinking after 4 steps per case, which can leave a scenario
    // several workloads and actions larger than the one that fails; a generous step count
    // with a time limit (5 min) shrinks to the end. PROPTEST_MAX_SHRINK_ITERS still rules.
    if config.max_shrink_iters == u32::MAX {
        config.max_shrink_iters = 100_000;
        config.max_shrink_time = 300_000;
    }
    // None when PROPTEST_DISABLE_FAILURE_PERSISTENCE is set.
    if config.failure_persistence.is_some() {
        config.failure_persistence = Some(Box::new(FileFailurePersistence::Direct(regressions)));
    }
    match TestRunner::new(config).run(&strategy, test) {
        Ok(()) => {}
        Err(TestError::Fail(reason, minimal)) => {
            panic!("{reason}\nminimal failing case:\n{}", show(&minimal))
        }
        Err(TestError::Abort(reason)) => panic!("{reason}"),
    }
}

/// Parses generated text; one that does not validate is a failure of the generator.
fn parse(text: &str) -> Result<Scenario, TestCaseError> {
    scenario::parse(Path::new("gen.toml"), text)
        .map(|(scenario, _warnings)| scenario)
        .map_err(|e| TestCaseError::fail(format!("the generator wrote an invalid scenario: {e}")))
}

/// Runs run 0 with the checker after every event; returns the result and the pool ticks that
/// trimmed a pool kept at zero.
fn run_checked(scenario: &Scenario) -> Result<(RunResult, u64), TestCaseError> {
    let (result, counts) = World::new(scenario, 0)
        .run_checked(&mut |_| {})
        .map_err(|violation| TestCaseError::fail(violation.to_string()))?;
    prop_assert_eq!(counts.checks, result.events + 1, "every event checked");
    Ok((result, counts.zero_pool_trims))
}

#[test]
fn the_generator_is_deterministic_and_varied() {
    assert_eq!(
        random_scenario(3, Family::Any),
        random_scenario(3, Family::Any)
    );
    assert_ne!(
        random_scenario(3, Family::Any),
        random_scenario(4, Family::Any)
    );
}

#[test]
fn random_scenarios_keep_every_invariant_after_every_event() {
    let events = Cell::new(0);
    check(
        0x5EED,
        48,
        regressions!("random_scenarios_keep_every_invariant_after_every_event"),
        // With a quarter of the scenarios, also run without the checker.
        (scenarios(Family::Any), prop::bool::weighted(0.25)),
        |(generated, compare)| format!("{generated}(and compared unchecked: {compare})"),
        |(generated, compare)| {
            let scenario = parse(&generated.to_string())?;
            let (checked, _) = run_checked(&scenario)?;
            events.set(events.get() + checked.events);
            // Checking changes nothing: the same run without it gives the same result.
            if compare {
                prop_assert_eq!(
                    checked,
                    model::run_once(&scenario, 0),
                    "checking changed the result"
                );
            }
            Ok(())
        },
    );
    let events = events.get();
    assert!(events > 100_000, "the runs did something: {events} events");
}

/// With `max_pool_size = min_pool_size = 0` every pool tick marks every idle address of an ENI
/// in use for unassign, except the ENI's primary (Terway never unassigns it): `syncPool` asks
/// to dispose of all the node's idle addresses, and each slot's walk then visits all of its own.
/// The checker verifies this right after every such tick; here it must have had work to do.
#[test]
fn zero_pools_leave_only_eni_primaries_idle_after_every_pool_tick() {
    let trims = Cell::new(0);
    check(
        0x2E60,
        24,
        regressions!("zero_pools_leave_only_eni_primaries_idle_after_every_pool_tick"),
        scenarios(Family::ZeroPools),
        ToString::to_string,
        |generated| {
            let scenario = parse(&generated.to_string())?;
            prop_assert!(
                scenario
                    .terway_configs
                    .iter()
                    .all(|c| c.max_pool_size == 0 && c.min_pool_size == 0),
                "zero pools throughout"
            );
            trims.set(trims.get() + run_checked(&scenario)?.1);
            Ok(())
        },
    );
    let trims = trims.get();
    assert!(
        trims > 50,
        "pool ticks found idle addresses to trim only {trims} times"
    );
}

/// See [`strategies::MonotonePair`] for why this holds in that family and not outside it.
#[test]
fn more_addresses_never_bring_a_shortage_earlier() {
    let short = Cell::new(0);
    check(
        0xADD0,
        40,
        regressions!("more_addresses_never_bring_a_shortage_earlier"),
        monotone_pairs(),
        ToString::to_string,
        |pair| {
            let (small_text, large_text) = pair.to_toml();
            let small = parse(&small_text)?;
            let large = parse(&large_text)?;
            prop_assert!(
                large.vswitches[0].usable_ips() > small.vswitches[0].usable_ips(),
                "the large world has more addresses"
            );
            let (small_run, _) = run_checked(&small)?;
            let (large_run, _) = run_checked(&large)?;
            let never = u64::MAX;
            let first = |r: &RunResult| r.zones[0].first_shortage_ms.unwrap_or(never);
            prop_assert!(
                first(&large_run) >= first(&small_run),
                "{} more addresses brought the first shortage from {:?} to {:?} ms",
                large.vswitches[0].usable_ips() - small.vswitches[0].usable_ips(),
                small_run.zones[0].first_shortage_ms,
                large_run.zones[0].first_shortage_ms
            );
            short.set(short.get() + u32::from(small_run.zones[0].first_shortage_ms.is_some()));
            Ok(())
        },
    );
    let short = short.get();
    assert!(short >= 10, "only {short} of 40 small worlds ran short");
}

/// The files the fuzzer starts from (`fuzz/`): the shipped scenarios and the malformed corpus.
fn seed_files() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["scenarios", "tests/integration/malformed"] {
        let mut paths: Vec<_> = std::fs::read_dir(root.join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        paths.sort();
        for path in paths {
            let text = std::fs::read_to_string(&path).unwrap();
            files.push((path.display().to_string(), text));
        }
    }
    files
}

/// Parses `text` and, when it validates, estimates its memory: whether it validated, or `Err`
/// when either panicked.
fn parse_survives(text: &str) -> Result<bool, ()> {
    let outcome = std::panic::catch_unwind(|| {
        scenario::parse(Path::new("mutant.toml"), text).map(|(s, _)| {
            let _ = s.check_memory();
        })
    });
    outcome.map(|result| result.is_ok()).map_err(|_| ())
}

/// A deterministic, in-CI slice of what `cargo fuzz run scenario_parse` does: every line
/// prefix of the seed files, and random byte, line and number mutations of them (60 for each
/// file), parse to a scenario or an error, never a panic.
#[test]
fn parsing_never_panics_on_truncated_or_mutated_scenarios() {
    let seeds = seed_files();
    assert!(seeds.len() >= 20, "the shipped scenarios and the corpus");
    let (inputs, valid) = (Cell::new(0u32), Cell::new(0u32));
    for (name, text) in &seeds {
        let lines: Vec<&str> = text.lines().collect();
        for cut in 0..=lines.len() {
            let prefix = lines[..cut].join("\n");
            let survives = parse_survives(&prefix)
                .unwrap_or_else(|()| panic!("{name}: parsing panicked on\n{prefix}"));
            inputs.set(inputs.get() + 1);
            valid.set(valid.get() + u32::from(survives));
        }
    }
    check(
        0xF022,
        60 * seeds.len() as u32,
        regressions!("parsing_never_panics_on_truncated_or_mutated_scenarios"),
        mutants(seeds),
        ToString::to_string,
        |mutant| {
            let survives = parse_survives(&mutant.text)
                .map_err(|()| TestCaseError::fail("parsing panicked"))?;
            inputs.set(inputs.get() + 1);
            valid.set(valid.get() + u32::from(survives));
            Ok(())
        },
    );
    let (inputs, valid) = (inputs.get(), valid.get());
    assert!(inputs > 1_000, "{inputs} inputs");
    assert!(
        valid > 20,
        "some mutants still validate: {valid} of {inputs}"
    );
}
