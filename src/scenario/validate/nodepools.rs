//! Instance types (built-in and `[instance_type.*]`) and node pools: names, zones, primary
//! vSwitches, sizes.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;

use super::Checker;
use super::network::VSwitches;
use crate::catalog::{self, ACK_MIN_POD_CAPACITY};
use crate::scenario::file::{NodePoolEntry, ScenarioFile, key_segment};
use crate::scenario::{
    InstanceType, IpamType, MINUTE_MS, Millis, NodePoolSpec, PREFIX_ADDRESSES, ScenarioError,
    TerwayConfig, TerwayOverride, format_duration,
};

/// The most nodes a pool may have, at the start or after a `scale_nodepool`.
const MAX_NODES: i64 = 100_000;
const MAX_PODS: i64 = 10_000;
const DEFAULT_BOOT_TIME_MS: Millis = 2 * MINUTE_MS;

impl Checker<'_> {
    pub(super) fn instance_types(
        &self,
        raw: &ScenarioFile,
    ) -> Result<BTreeMap<String, InstanceType>, ScenarioError> {
        let mut types = catalog::builtin();
        for (name, entry) in &raw.instance_type {
            let prefix = format!("instance_type.{}", key_segment(name));
            self.not_empty(&prefix, name, "an instance type name")?;
            let existing = types.get(name).cloned();
            let required = |field: &str| {
                self.err(
                    format!("{prefix}.{field}"),
                    format!("missing required key `{field}`; a new instance type needs vcpu, memory_gib, eni_quantity and ipv4_per_eni"),
                )
            };
            let int_or = |field: &str,
                          value: Option<i64>,
                          old: Option<u32>,
                          range: RangeInclusive<i64>|
             -> Result<u32, ScenarioError> {
                match value {
                    Some(value) => self.int(&format!("{prefix}.{field}"), value, range),
                    None => old.ok_or_else(|| required(field)),
                }
            };
            let vcpu = int_or(
                "vcpu",
                entry.vcpu,
                existing.as_ref().map(|t| t.vcpu),
                1..=1024,
            )?;
            let eni_quantity = int_or(
                "eni_quantity",
                entry.eni_quantity,
                existing.as_ref().map(|t| t.eni_quantity),
                2..=64,
            )?;
            let ipv4_per_eni = int_or(
                "ipv4_per_eni",
                entry.ipv4_per_eni,
                existing.as_ref().map(|t| t.ipv4_per_eni),
                1..=100,
            )?;
            let memory_mib = match entry.memory_gib {
                Some(gib) => {
                    let key = format!("{prefix}.memory_gib");
                    let gib = self.number(&key, gib, 0.0..=65536.0)?;
                    if gib == 0.0 {
                        return Err(self.err(key, "must be above 0"));
                    }
                    // At most 2^26 MiB, so the float holds it exactly.
                    (gib * 1024.0).ceil() as u64
                }
                None => existing
                    .as_ref()
                    .map(|t| t.memory_mib)
                    .ok_or_else(|| required("memory_gib"))?,
            };
            types.insert(
                name.clone(),
                InstanceType {
                    name: name.clone(),
                    vcpu,
                    memory_mib,
                    eni_quantity,
                    ipv4_per_eni,
                },
            );
        }
        Ok(types)
    }

    /// Zone lists of node pools, checked before zones are collected from them.
    pub(super) fn nodepool_zones(&self, pools: &[NodePoolEntry]) -> Result<(), ScenarioError> {
        for (i, pool) in pools.iter().enumerate() {
            let key = format!("nodepool[{i}].zones");
            if pool.zones.is_empty() {
                return Err(self.err(key, "a node pool needs at least one zone"));
            }
            for (j, zone) in pool.zones.iter().enumerate() {
                let zone_key = format!("{key}[{j}]");
                self.not_empty(&zone_key, zone, "a zone name")?;
                if let Some(first) = pool.zones[..j].iter().position(|z| z == zone) {
                    return Err(self.err(
                        zone_key,
                        format!("zone `{zone}` is listed twice (also {key}[{first}])"),
                    ));
                }
            }
        }
        Ok(())
    }

    pub(super) fn nodepools(
        &mut self,
        pools: &[NodePoolEntry],
        instance_types: &BTreeMap<String, InstanceType>,
        vswitches: &VSwitches,
        zones: &[String],
        terway: &TerwayConfig,
    ) -> Result<Vec<NodePoolSpec>, ScenarioError> {
        let mut names: BTreeMap<&str, usize> = BTreeMap::new();
        let mut specs = Vec::with_capacity(pools.len());
        for (i, pool) in pools.iter().enumerate() {
            let prefix = format!("nodepool[{i}]");
            let name_key = format!("{prefix}.name");
            self.not_empty(&name_key, &pool.name, "a node pool name")?;
            if let Some(other) = names.insert(&pool.name, i) {
                return Err(self.err(
                    name_key,
                    format!(
                        "duplicate node pool name `{}` (also nodepool[{other}])",
                        pool.name
                    ),
                ));
            }

            let type_key = format!("{prefix}.instance_type");
            let Some(instance_type) = instance_types.get(&pool.instance_type) else {
                let mut error = self.unknown(
                    &type_key,
                    "instance type",
                    &pool.instance_type,
                    instance_types.keys().map(String::as_str),
                );
                if !error.message.contains("did you mean") {
                    error.message = format!(
                        "unknown instance type `{}`; define it under [instance_type.\"{}\"] or use a built-in one such as `ecs.g7.xlarge`",
                        pool.instance_type, pool.instance_type
                    );
                }
                return Err(error);
            };
            if !instance_type.ack_accepts() {
                self.warn(
                    type_key,
                    format!(
                        "a `{}` node holds ({} - 1) x {} = {} pods; ACK refuses nodes of {ACK_MIN_POD_CAPACITY} or fewer in ENI multi-IP mode (simulated anyway)",
                        instance_type.name,
                        instance_type.eni_quantity,
                        instance_type.ipv4_per_eni,
                        instance_type.pod_capacity()
                    ),
                );
            }

            let zone_indices: Vec<usize> = pool
                .zones
                .iter()
                .filter_map(|zone| zones.iter().position(|z| z == zone))
                .collect();

            let explicit = pool.node_vswitch.clone().unwrap_or_default();
            for (zone, id) in &explicit {
                let key = format!("{prefix}.node_vswitch.{}", key_segment(zone));
                if !pool.zones.contains(zone) {
                    return Err(self.err(
                        key,
                        format!(
                            "zone `{zone}` is not one of the pool's zones ({})",
                            pool.zones.join(", ")
                        ),
                    ));
                }
                let Some(&index) = vswitches.by_id.get(id.as_str()) else {
                    return Err(self.unknown(&key, "vSwitch", id, vswitches.ids.iter().copied()));
                };
                let spec = &vswitches.specs[index];
                if zones[spec.zone] != *zone {
                    return Err(self.err(
                        key,
                        format!(
                            "vSwitch `{id}` is in zone `{}`, not `{zone}`",
                            zones[spec.zone]
                        ),
                    ));
                }
                if let Some(at) = spec.created_at_ms {
                    return Err(self.err(
                        key,
                        format!(
                            "vSwitch `{id}` only exists from {} ({}); a node's primary vSwitch must exist from the start",
                            format_duration(at),
                            vswitches.keys[index]
                        ),
                    ));
                }
            }

            let mut node_vswitch = Vec::with_capacity(zone_indices.len());
            for (j, (zone, &zone_index)) in pool.zones.iter().zip(&zone_indices).enumerate() {
                let from_start_in_zone = |&index: &usize| {
                    let spec = &vswitches.specs[index];
                    spec.zone == zone_index && spec.created_at_ms.is_none()
                };
                let listed = terway.vswitches.get(zone);
                let chosen = explicit
                    .get(zone)
                    .and_then(|id| vswitches.by_id.get(id.as_str()).copied())
                    .or_else(|| {
                        listed.and_then(|list| list.iter().copied().find(from_start_in_zone))
                    })
                    .or_else(|| (0..vswitches.specs.len()).find(from_start_in_zone));
                let Some(chosen) = chosen else {
                    return Err(self.err(
                        format!("{prefix}.zones[{j}]"),
                        format!("no vSwitch in zone `{zone}` for the nodes' primary ENI; add a [[vswitch]] in that zone or set node_vswitch"),
                    ));
                };
                let terway_has_zone = listed.is_some_and(|list| {
                    list.iter()
                        .any(|&index| vswitches.specs[index].zone == zone_index)
                });
                if !terway_has_zone {
                    self.warn(
                        format!("{prefix}.zones[{j}]"),
                        format!(
                            "terway.vswitches lists no vSwitch in zone `{zone}`; Terway falls back to the node's primary vSwitch `{}` for pods",
                            vswitches.specs[chosen].id
                        ),
                    );
                }
                node_vswitch.push(chosen);
            }

            let count = |field: &str, value: Option<i64>| self.node_count(&prefix, field, value);
            let nodes = count("nodes", pool.nodes)?.unwrap_or(0);
            let min_nodes = count("min_nodes", pool.min_nodes)?.unwrap_or(nodes);
            let max_nodes = count("max_nodes", pool.max_nodes)?.unwrap_or(nodes.max(min_nodes));
            if min_nodes > nodes {
                return Err(self.err(
                    format!("{prefix}.min_nodes"),
                    format!("min_nodes {min_nodes} is above nodes {nodes}"),
                ));
            }
            if nodes > max_nodes {
                return Err(self.err(
                    format!("{prefix}.max_nodes"),
                    format!("max_nodes {max_nodes} is below nodes {nodes}"),
                ));
            }
            let max_pods = match pool.max_pods {
                Some(max) => self.int(&format!("{prefix}.max_pods"), max, 0..=MAX_PODS)?,
                None => 0,
            };
            let terway_override = match &pool.terway {
                Some(patch) => {
                    self.terway_override(&format!("{prefix}.terway"), patch, vswitches, zones)?
                }
                None => TerwayOverride::default(),
            };
            self.prefix_mode(&prefix, &terway_override, terway, instance_type, max_pods)?;
            specs.push(NodePoolSpec {
                terway: terway_override,
                name: pool.name.clone(),
                instance_type: pool.instance_type.clone(),
                zones: zone_indices,
                node_vswitch,
                nodes,
                min_nodes,
                max_nodes,
                boot_time_ms: pool.boot_time.map_or(DEFAULT_BOOT_TIME_MS, |d| d.0),
                max_pods,
            });
        }
        Ok(specs)
    }

    /// IP prefix mode for a pool's nodes: only under centralized IPAM, with a prefix count the
    /// instance type can hold.
    fn prefix_mode(
        &mut self,
        prefix: &str,
        own: &TerwayOverride,
        global: &TerwayConfig,
        instance_type: &InstanceType,
        max_pods: u32,
    ) -> Result<(), ScenarioError> {
        let config = own.applied_to(global);
        if !config.enable_ip_prefix {
            return Ok(());
        }
        let key = |field: &str, given: bool| {
            if given {
                format!("{prefix}.terway.{field}")
            } else {
                format!("terway.{field}")
            }
        };
        if config.ipam != IpamType::Centralized {
            return Err(self.err(
                key("enable_ip_prefix", own.enable_ip_prefix.is_some()),
                "IP prefix mode works only with centralized IPAM: set ipam_type = \"crd\" (Terway v1.17.1+)",
            ));
        }
        let count_key = key("ipv4_prefix_count", own.ipv4_prefix_count.is_some());
        let ceiling = instance_type.secondary_enis() * instance_type.ipv4_per_eni.saturating_sub(1);
        if config.ipv4_prefix_count == 0 || config.ipv4_prefix_count > ceiling {
            return Err(self.err(
                count_key,
                format!(
                    "ipv4_prefix_count {} is out of range: a node of type `{}` holds 1 to {ceiling} prefixes ({} secondary ENIs x {} per ENI less its primary)",
                    config.ipv4_prefix_count,
                    instance_type.name,
                    instance_type.secondary_enis(),
                    instance_type.ipv4_per_eni.saturating_sub(1)
                ),
            ));
        }
        let addresses = config.ipv4_prefix_count * PREFIX_ADDRESSES;
        let pods = if max_pods == 0 {
            instance_type.pod_capacity()
        } else {
            max_pods
        };
        if pods > addresses {
            self.warn(
                count_key,
                format!(
                    "{} prefixes give a node {addresses} pod addresses but it may run {pods} pods; the rest wait and time out (set max_pods to {addresses} or fewer)",
                    config.ipv4_prefix_count
                ),
            );
        }
        Ok(())
    }

    /// A node count of a pool (`nodes`, `min_nodes`, `max_nodes`) under `prefix`, when given.
    pub(super) fn node_count(
        &self,
        prefix: &str,
        field: &str,
        value: Option<i64>,
    ) -> Result<Option<u32>, ScenarioError> {
        value
            .map(|value| self.int(&format!("{prefix}.{field}"), value, 0..=MAX_NODES))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;

    #[test]
    fn node_vswitch_defaults_to_the_first_terway_vswitch_in_the_zone() {
        // vsw-b is listed first under z1 but is in z2, so Terway (and the default) skips it.
        let text = r#"[scenario]
horizon = "1d"

[[vswitch]]
id = "vsw-a"
zone = "z1"
cidr = "10.0.0.0/24"

[[vswitch]]
id = "vsw-b"
zone = "z2"
cidr = "10.0.1.0/24"

[[vswitch]]
id = "vsw-c"
zone = "z1"
cidr = "10.0.2.0/24"

[terway]
vswitches = { z1 = ["vsw-b", "vsw-c", "vsw-a"], z2 = ["vsw-b"] }

[[nodepool]]
name = "pool"
instance_type = "ecs.g7.xlarge"
zones = ["z2", "z1"]

[[nodepool]]
name = "pinned"
instance_type = "ecs.g7.xlarge"
zones = ["z1"]
node_vswitch = { z1 = "vsw-a" }
"#;
        let (s, warnings) = ok(text);
        assert_eq!(s.zones, vec!["z1".to_string(), "z2".to_string()]);
        assert_eq!(s.nodepools[0].zones, vec![1, 0]);
        assert_eq!(s.nodepools[0].node_vswitch, vec![1, 2]);
        assert_eq!(s.nodepools[1].node_vswitch, vec![0]);
        let w = warning(&warnings, "terway.vswitches.z1[0]");
        assert_eq!(w.line, Some(20));
        assert!(w.message.contains("Terway skips it"), "{}", w.message);
        assert_eq!(warnings.len(), 1, "{warnings:?}");

        // Without Terway listing, the first [[vswitch]] of the zone is eth0's.
        let (s, _) = ok(&text.replace(
            "vswitches = { z1 = [\"vsw-b\", \"vsw-c\", \"vsw-a\"], z2 = [\"vsw-b\"] }",
            "",
        ));
        assert_eq!(s.nodepools[0].node_vswitch, vec![1, 0]);
    }

    #[test]
    fn node_vswitch_must_be_in_its_zone_and_exist_from_the_start() {
        let z2 = "[[vswitch]]\nid = \"vsw-b\"\nzone = \"z2\"\ncidr = \"10.0.1.0/24\"\n";
        let text = format!(
            "{}{z2}",
            edit(
                "zones = [\"z1\"]",
                "zones = [\"z1\"]\nnode_vswitch = { z1 = \"vsw-b\" }"
            )
        );
        expect(
            &text,
            "nodepool[0].node_vswitch.z1",
            16,
            "vSwitch `vsw-b` is in zone `z2`, not `z1`",
        );
        let text = with(
            "node_vswitch = { z1 = \"vsw-n\" }\n[[action]]\nat = \"1d\"\nadd_vswitch = { id = \"vsw-n\", zone = \"z1\", cidr = \"10.0.1.0/24\" }\n",
        );
        expect(
            &text,
            "nodepool[0].node_vswitch.z1",
            17,
            "only exists from 1d",
        );
        expect(
            &edit("zones = [\"z1\"]", "zones = [\"z1\", \"z3\"]"),
            "nodepool[0].zones[1]",
            15,
            "no vSwitch in zone `z3`",
        );
    }

    #[test]
    fn instance_type_limits_and_required_keys() {
        let custom = |body: &str| with(&format!("[instance_type.\"ecs.x.large\"]\n{body}"));
        let full = "vcpu = 4\nmemory_gib = 16\neni_quantity = 3\nipv4_per_eni = 10\n";
        ok(&custom(full));
        expect(
            &custom("vcpu = 4\nmemory_gib = 16\neni_quantity = 3\n"),
            "instance_type.\"ecs.x.large\".ipv4_per_eni",
            17,
            "missing required key `ipv4_per_eni`",
        );
        expect(
            &custom(&full.replace("eni_quantity = 3", "eni_quantity = 1")),
            "instance_type.\"ecs.x.large\".eni_quantity",
            20,
            "between 2 and 64, got 1",
        );
        expect(
            &custom(&full.replace("ipv4_per_eni = 10", "ipv4_per_eni = 0")),
            "instance_type.\"ecs.x.large\".ipv4_per_eni",
            21,
            "between 1 and 100",
        );
        expect(
            &custom(&full.replace("vcpu = 4", "vcpu = 2000")),
            "instance_type.\"ecs.x.large\".vcpu",
            18,
            "between 1 and 1024",
        );
        expect(
            &custom(&full.replace("memory_gib = 16", "memory_gib = 0")),
            "instance_type.\"ecs.x.large\".memory_gib",
            19,
            "above 0",
        );
        // Overriding a built-in needs only the keys that change.
        let (s, _) = ok(&with(
            "[instance_type.\"ecs.g7.xlarge\"]\nipv4_per_eni = 20\n",
        ));
        let t = &s.instance_types["ecs.g7.xlarge"];
        assert_eq!((t.vcpu, t.eni_quantity, t.ipv4_per_eni), (4, 4, 20));
    }

    #[test]
    fn pools_and_workloads_need_unique_names_and_zones() {
        expect(
            &edit("zones = [\"z1\"]", "zones = []"),
            "nodepool[0].zones",
            15,
            "at least one zone",
        );
        expect(
            &edit("zones = [\"z1\"]", "zones = [\"z1\", \"z1\"]"),
            "nodepool[0].zones[1]",
            15,
            "listed twice",
        );
        expect(
            &with(
                "[[nodepool]]\nname = \"pool\"\ninstance_type = \"ecs.g7.xlarge\"\nzones = [\"z1\"]\n",
            ),
            "nodepool[1].name",
            18,
            "duplicate node pool name `pool` (also nodepool[0])",
        );
        expect(
            &with(
                "[[workload]]\nname = \"w\"\nkind = \"deployment\"\nreplicas = 1\n[[workload]]\nname = \"w\"\nkind = \"deployment\"\nreplicas = 1\n",
            ),
            "workload[1].name",
            22,
            "duplicate workload name `w` (also workload[0])",
        );
    }
}
