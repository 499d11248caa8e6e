//! `planner`: a discrete-event simulator and capacity planner for pod addresses in Kubernetes
//! clusters on Alibaba Cloud that use the Terway CNI in ENI multi-IP mode.
//!
//! Data flows one way (see ARCHITECTURE.md):
//!
//! - [`scenario`] reads TOML and yields a validated [`scenario::Scenario`];
//! - [`engine`] runs one seeded run of the [`model`] to the horizon;
//! - [`sweep`] runs many seeded runs in parallel, in a fixed order;
//! - [`stats`] reduces runs to percentiles, below both [`report`] and [`plan`];
//! - [`report`] turns the runs into summary tables, CSV files and charts;
//! - [`plan`] recommends vSwitches and expansion points, checks them by re-running, and judges
//!   the capacity gates;
//! - [`import`] turns what kubectl and the aliyun CLI print into a scenario of today's cluster;
//! - [`lint`] finds the Terway configuration mistakes that cause outages (`planner check`);
//! - [`partial`] writes and reads the partial results of sharded runs (`planner merge`).
#![warn(missing_docs)]

pub mod bench;
pub mod catalog;
pub mod engine;
pub mod import;
pub mod lint;
pub mod model;
pub mod partial;
pub mod plan;
pub mod report;
pub mod scenario;
pub mod stats;
pub mod sweep;
