//! Every scenario in `malformed/` is refused with exit code 2 and a message that names the
//! file and the key given on its first line (`# expect: KEY`); none makes the binary panic.

use crate::util::*;

#[test]
fn malformed_scenarios_exit_2_naming_the_key() {
    let dir = root().join("tests/integration/malformed");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 10, "the corpus is there");
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let expect = text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("# expect: "))
            .unwrap_or_else(|| panic!("{}: first line is `# expect: KEY`", file.display()));
        let output = planner(&["run", file.to_str().unwrap(), "--quiet"]);
        let err = stderr(&output);
        assert_eq!(code(&output), 2, "{}: {err}", file.display());
        assert!(!err.contains("panicked"), "{}: {err}", file.display());
        let name = file.file_name().unwrap().to_str().unwrap();
        assert!(err.contains(name), "{name}: message names the file: {err}");
        assert!(
            err.contains(expect),
            "{name}: message names `{expect}`: {err}"
        );
        assert_eq!(err.lines().count(), 1, "{name}: one line: {err}");
    }
}

#[test]
fn a_misspelt_key_gets_a_suggestion_and_a_line() {
    let scratch = Scratch::new("typo");
    let file = scratch.write("typo.toml", "[scenario]\nname = \"x\"\nhorizn = \"1d\"\n");
    let output = planner(&["run", file.to_str().unwrap()]);
    assert_eq!(code(&output), 2);
    let err = stderr(&output);
    assert!(err.contains("typo.toml:3"), "{err}");
    assert!(err.contains("did you mean `horizon`"), "{err}");
}

#[test]
fn terway_leniency_is_a_warning_not_an_error() {
    let scratch = Scratch::new("lenient");
    let text = std::fs::read_to_string(scenario("burst.toml"))
        .unwrap()
        .replace("min_pool_size = 0", "min_pool_size = 9")
        .replace("runs = 20", "runs = 1");
    let file = scratch.write("lenient.toml", &text);
    let out = scratch.path("out");
    let output = planner(&[
        "run",
        file.to_str().unwrap(),
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let err = stderr(&output);
    assert!(
        err.contains("warning[min-pool-above-max]") && err.contains("min_pool_size"),
        "{err}"
    );
}
