//! The built-in catalog of ECS instance types and their network limits.
//!
//! Figures are the Alibaba Cloud ECS instance-family tables (2021 snapshot) as collected in the
//! domain notes, section 3.2. `eni_quantity` counts the primary ENI (eth0). A scenario can add
//! types or override these with `[instance_type."NAME"]`.

use std::collections::BTreeMap;

/// The limits of one ECS instance type that matter for pod addresses and scheduling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceType {
    /// The ECS name, e.g. `ecs.g7.xlarge`.
    pub name: String,
    /// Virtual CPUs.
    pub vcpu: u32,
    /// Memory in MiB.
    pub memory_mib: u64,
    /// ENIs the instance can attach, the primary ENI (eth0) included.
    pub eni_quantity: u32,
    /// IPv4 addresses per ENI, the ENI's own primary address included.
    pub ipv4_per_eni: u32,
}

/// ACK refuses a node whose shared-ENI pod capacity is not greater than this.
pub const ACK_MIN_POD_CAPACITY: u32 = 11;

impl InstanceType {
    /// Secondary ENIs Terway may use for pods: every ENI but eth0.
    pub fn secondary_enis(&self) -> u32 {
        self.eni_quantity.saturating_sub(1)
    }

    /// Terway's shared-ENI pod capacity: `(ENIs - 1) x IPv4 per ENI`.
    pub fn pod_capacity(&self) -> u32 {
        self.secondary_enis() * self.ipv4_per_eni
    }

    /// Whether ACK would accept a node of this type in ENI multi-IP mode.
    pub fn ack_accepts(&self) -> bool {
        self.pod_capacity() > ACK_MIN_POD_CAPACITY
    }
}

/// (name, vCPU, memory GiB, ENIs, IPv4 per ENI).
const BUILTIN: &[(&str, u32, u64, u32, u32)] = &[
    ("ecs.g5.large", 2, 8, 2, 6),
    ("ecs.g5.xlarge", 4, 16, 3, 10),
    ("ecs.g5.2xlarge", 8, 32, 4, 10),
    ("ecs.g5.4xlarge", 16, 64, 8, 20),
    ("ecs.g6.large", 2, 8, 2, 6),
    ("ecs.g6.xlarge", 4, 16, 3, 10),
    ("ecs.g6.2xlarge", 8, 32, 4, 10),
    ("ecs.g6.3xlarge", 12, 48, 6, 10),
    ("ecs.g6.4xlarge", 16, 64, 8, 20),
    ("ecs.g6.8xlarge", 32, 128, 8, 20),
    ("ecs.g6.13xlarge", 52, 192, 7, 20),
    ("ecs.g6.26xlarge", 104, 384, 15, 20),
    ("ecs.g6e.xlarge", 4, 16, 4, 15),
    ("ecs.g6e.4xlarge", 16, 64, 8, 30),
    ("ecs.g7.large", 2, 8, 3, 6),
    ("ecs.g7.xlarge", 4, 16, 4, 15),
    ("ecs.g7.2xlarge", 8, 32, 4, 15),
    ("ecs.g7.3xlarge", 12, 48, 8, 15),
    ("ecs.g7.4xlarge", 16, 64, 8, 30),
    ("ecs.g7.8xlarge", 32, 128, 8, 30),
    ("ecs.g7.16xlarge", 64, 256, 8, 30),
    ("ecs.g7.32xlarge", 128, 512, 15, 30),
    ("ecs.g7ne.xlarge", 4, 16, 4, 15),
    ("ecs.c6.large", 2, 4, 2, 6),
    ("ecs.c6.xlarge", 4, 8, 3, 10),
    ("ecs.c6.2xlarge", 8, 16, 4, 10),
    ("ecs.c6.4xlarge", 16, 32, 8, 20),
    ("ecs.c7.xlarge", 4, 8, 4, 15),
    ("ecs.c7.2xlarge", 8, 16, 4, 15),
    ("ecs.c7.4xlarge", 16, 32, 8, 30),
    ("ecs.r6.xlarge", 4, 32, 3, 10),
    ("ecs.r6.4xlarge", 16, 128, 8, 20),
    ("ecs.r7.2xlarge", 8, 64, 4, 15),
    ("ecs.r7.8xlarge", 32, 256, 8, 30),
];

/// The built-in catalog, keyed by type name (ordered, so listings are stable).
pub fn builtin() -> BTreeMap<String, InstanceType> {
    BUILTIN
        .iter()
        .map(|&(name, vcpu, memory_gib, eni_quantity, ipv4_per_eni)| {
            let instance_type = InstanceType {
                name: name.to_string(),
                vcpu,
                memory_mib: memory_gib * 1024,
                eni_quantity,
                ipv4_per_eni,
            };
            (name.to_string(), instance_type)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Capacities worked out by hand from the domain notes' table: (ENIs - 1) x IPv4 per ENI.
    #[test]
    fn pod_capacity_matches_the_ack_formula() {
        let catalog = builtin();
        let capacity = |name: &str| catalog[name].pod_capacity();
        assert_eq!(capacity("ecs.g7.4xlarge"), 210); // (8 - 1) x 30, ACK's own example
        assert_eq!(capacity("ecs.g7.xlarge"), 45); // (4 - 1) x 15
        assert_eq!(capacity("ecs.g6.13xlarge"), 120); // (7 - 1) x 20
        assert_eq!(capacity("ecs.g7.32xlarge"), 420); // (15 - 1) x 30
        assert_eq!(capacity("ecs.g6.large"), 6); // (2 - 1) x 6
        assert_eq!(capacity("ecs.g7.large"), 12); // (3 - 1) x 6
    }

    #[test]
    fn ack_refuses_capacity_of_eleven_or_less() {
        let catalog = builtin();
        assert!(!catalog["ecs.g6.large"].ack_accepts());
        assert!(catalog["ecs.g7.large"].ack_accepts()); // 12 is just above the limit
        let eleven = InstanceType {
            name: "x".into(),
            vcpu: 1,
            memory_mib: 1024,
            eni_quantity: 2,
            ipv4_per_eni: 11,
        };
        assert!(!eleven.ack_accepts());
    }

    #[test]
    fn catalog_has_every_row_once() {
        assert_eq!(builtin().len(), BUILTIN.len());
        assert_eq!(builtin()["ecs.r7.8xlarge"].memory_mib, 256 * 1024);
    }
}
