//! `planner catalog`: the built-in ECS instance types and their Terway pod capacity.

use std::fmt::Write as _;

use planner::catalog;
use planner::scenario;

use super::{Failure, print};

pub fn catalog_command(instance_type: Option<&str>) -> Result<(), Failure> {
    let catalog = catalog::builtin();
    let mut types: Vec<&catalog::InstanceType> = match instance_type {
        Some(name) => match catalog.get(name) {
            Some(found) => vec![found],
            // A family name (`ecs.g8i`) lists the family's sizes.
            None if catalog.keys().any(|n| catalog::family(n) == name) => catalog
                .values()
                .filter(|t| catalog::family(&t.name) == name)
                .collect(),
            None => {
                let near = scenario::nearest_name(name, catalog.keys().map(String::as_str));
                let hint = near
                    .map(|n| format!("; did you mean `{n}`?"))
                    .unwrap_or_default();
                return Err(Failure::input(format!(
                    "unknown instance type `{name}`{hint} (run `planner catalog` for the list)"
                )));
            }
        },
        None => catalog.values().collect(),
    };
    // By family, then smallest first: `large`, `xlarge`, `2xlarge`, ..., as the family pages
    // list them (name order would put 12xlarge before 2xlarge).
    types.sort_by(|a, b| {
        (catalog::family(&a.name), a.vcpu, a.memory_mib, &a.name).cmp(&(
            catalog::family(&b.name),
            b.vcpu,
            b.memory_mib,
            &b.name,
        ))
    });
    let mut text = String::new();
    let _ = writeln!(
        text,
        "{:<18} {:>5} {:>8} {:>5} {:>9} {:>8}",
        "instance type", "vCPU", "mem GiB", "ENIs", "IPv4/ENI", "max pods"
    );
    for t in &types {
        let flag = if t.ack_accepts() { "" } else { "  (!)" };
        let _ = writeln!(
            text,
            "{:<18} {:>5} {:>8} {:>5} {:>9} {:>8}{flag}",
            t.name,
            t.vcpu,
            t.memory_mib / 1024,
            t.eni_quantity,
            t.ipv4_per_eni,
            t.pod_capacity()
        );
    }
    print(text)?;
    let refused: Vec<&str> = types
        .iter()
        .filter(|t| !t.ack_accepts())
        .map(|t| t.name.as_str())
        .collect();
    if !refused.is_empty() {
        eprintln!(
            "warning: (!) pod capacity of {} or less: ACK does not add such nodes in ENI multi-IP mode ({})",
            catalog::ACK_MIN_POD_CAPACITY,
            refused.join(", ")
        );
    }
    if instance_type.is_some() {
        let mut sources: Vec<&str> = types
            .iter()
            .filter_map(|t| catalog::source(&t.name))
            .collect();
        sources.dedup();
        for source in sources {
            print(format!("source: {source}\n"))?;
        }
    }
    print(
        "max pods = (ENIs - 1) x IPv4 per ENI: eth0 takes no pods; every address on a secondary ENI, its primary included, can\n",
    )
}
