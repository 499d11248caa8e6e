//! Integration tests through the real `planner` binary: what a user types and sees.
//!
//! One test binary with topic modules (see ripgrep's and nexosim's layout). Each test runs the
//! binary built by cargo in a fresh temporary folder and checks exit codes, messages and the
//! files written.

mod check;
mod cli;
mod determinism;
mod history;
mod import;
mod layering;
mod malformed;
mod plan;
mod podnetworking_import;
mod properties;
mod reliability;
mod runbook;
mod scenarios;
mod shard;
mod util;
