//! Scenario text and checks shared by the tests of every part of validation.

use std::path::Path;

use crate::scenario::{Scenario, ScenarioError, Warning, parse};

/// A small valid scenario; tests append to it (line 17 on) or edit it. Line numbers in the
/// tests count from here.
pub const BASE: &str = r#"[scenario]
horizon = "30d"

[[vswitch]]
id = "vsw-a"
zone = "z1"
cidr = "10.0.0.0/24"

[terway]
vswitches = { z1 = ["vsw-a"] }

[[nodepool]]
name = "pool"
instance_type = "ecs.g7.xlarge"
zones = ["z1"]
nodes = 2
"#;

pub fn ok(text: &str) -> (Scenario, Vec<Warning>) {
    match parse(Path::new("dir/example.toml"), text) {
        Ok(result) => result,
        Err(err) => panic!("expected a valid scenario, got: {err}"),
    }
}

pub fn fail(text: &str) -> ScenarioError {
    match parse(Path::new("dir/example.toml"), text) {
        Ok(_) => panic!("expected an error"),
        Err(err) => {
            assert_eq!(err.file, Path::new("dir/example.toml"));
            assert!(!err.message.ends_with('.'), "{}", err.message);
            err
        }
    }
}

pub fn with(extra: &str) -> String {
    format!("{BASE}{extra}")
}

pub fn edit(from: &str, to: &str) -> String {
    assert!(BASE.contains(from), "{from}");
    BASE.replacen(from, to, 1)
}

/// Asserts the error's key and line and that its message contains `needle`.
#[track_caller]
pub fn expect(text: &str, key: &str, line: usize, needle: &str) {
    let err = fail(text);
    assert_eq!(err.key, key, "{err}");
    assert_eq!(err.line, Some(line), "{err}");
    assert!(err.message.contains(needle), "{err}");
}

pub fn warning<'w>(warnings: &'w [Warning], key: &str) -> &'w Warning {
    warnings
        .iter()
        .find(|w| w.key == key)
        .unwrap_or_else(|| panic!("no warning at {key}: {warnings:?}"))
}
