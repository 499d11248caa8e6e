//! The same scenario and seed give byte-identical CSV files whatever the thread count.

use crate::util::*;

fn run_with_threads(scratch: &Scratch, name: &str, threads: &str, seed: &str) -> Vec<Vec<u8>> {
    let out = scratch.path(name);
    let output = planner(&[
        "run",
        scenario("burst.toml").to_str().unwrap(),
        "--runs",
        "6",
        "--seed",
        seed,
        "--threads",
        threads,
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let mut files: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x != "png"))
        .collect();
    files.sort();
    assert!(files.len() >= 9, "{files:?}");
    files.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

#[test]
fn one_and_two_threads_write_identical_bytes() {
    let scratch = Scratch::new("threads");
    let one = run_with_threads(&scratch, "one", "1", "3");
    let two = run_with_threads(&scratch, "two", "2", "3");
    assert_eq!(one, two);
}

#[test]
fn another_seed_gives_another_result() {
    let scratch = Scratch::new("seeds");
    let a = run_with_threads(&scratch, "a", "2", "3");
    let b = run_with_threads(&scratch, "b", "2", "4");
    assert_ne!(a, b);
}
