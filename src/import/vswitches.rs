//! Which described vSwitches the scenario keeps, and the address arithmetic of each: in use
//! (usable less available) less what this cluster's nodes and pods hold is `used_by_others`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::net::Ipv4Addr;

use super::aliyun::VSwitch;
use super::emit::{kv, q};
use super::{Builder, Cluster, Workloads};
use crate::lint::Finding;
use crate::scenario::usable_addresses;

/// The vSwitches the scenario needs.
pub(super) struct Selection {
    /// Indices into the described vSwitches.
    pub(super) included: BTreeSet<usize>,
    /// (zone, id) that eni_conf lists but the listing does not describe.
    pub(super) missing: Vec<(String, String)>,
    /// eni_conf's vSwitches per zone, less the missing ones.
    pub(super) listed: BTreeMap<String, Vec<String>>,
}

/// The described vSwitch whose CIDR holds the address.
pub(super) fn vswitch_of(described: &[VSwitch], ip: Ipv4Addr) -> Option<usize> {
    described.iter().position(|v| v.cidr.contains(&ip))
}

impl Builder<'_, '_> {
    /// Those Terway lists and those the nodes' eth0 use; a finding for each listed one the
    /// listing lacks.
    pub(super) fn select_vswitches(&mut self, cluster: &Cluster) -> Selection {
        let src = self.sources;
        let mut included: BTreeSet<usize> = BTreeSet::new();
        let mut missing: Vec<(String, String)> = Vec::new();
        let mut listed: BTreeMap<String, Vec<String>> = BTreeMap::new();
        if let Some(vswitches) = &self.conf.vswitches {
            for (zone, ids) in vswitches {
                let mut kept = Vec::new();
                for id in ids {
                    match self.described.iter().position(|v| &v.id == id) {
                        Some(index) => {
                            included.insert(index);
                            if !kept.contains(id) {
                                kept.push(id.clone());
                            }
                        }
                        None => missing.push((zone.clone(), id.clone())),
                    }
                }
                listed.insert(zone.clone(), kept);
            }
        }
        for (index, &held) in cluster.eth0_held.iter().enumerate() {
            if held > 0 {
                included.insert(index);
            }
        }
        for pool in &cluster.pools {
            included.extend(pool.node_vswitch.values().copied());
        }
        let pool_zones: BTreeSet<&str> = cluster
            .pools
            .iter()
            .flat_map(|p| p.zones.iter().map(|(z, _)| z.as_str()))
            .collect();
        // A zone with nodes needs some vSwitch for eth0; without a listed or eth0 one, take
        // the zone's described vSwitches.
        for zone in &pool_zones {
            if !included.iter().any(|&i| self.described[i].zone == *zone) {
                for (i, v) in self.described.iter().enumerate() {
                    if v.zone == *zone {
                        included.insert(i);
                    }
                }
            }
        }
        if included.is_empty() {
            included.extend(0..self.described.len());
        }
        for (zone, id) in &missing {
            self.findings.push(
                Finding::new(
                    "import-vswitch-missing",
                    "data.eni_conf",
                    format!(
                        "eni_conf lists `{id}` under `{zone}`, but {} does not describe it; the scenario leaves it out",
                        src.vswitches.path.display()
                    ),
                    "describe it too (`aliyun vpc DescribeVSwitches --VSwitchId vsw-...`), or remove it from eni_conf if it no longer exists (Terway cannot use it)",
                )
                .in_file(src.eni_config.path),
            );
        }
        Selection {
            included,
            missing,
            listed,
        }
    }

    /// The `[[vswitch]]` tables.
    pub(super) fn emit_vswitches(
        &mut self,
        out: &mut String,
        cluster: &Cluster,
        workloads: &Workloads,
        selection: &Selection,
    ) -> std::fmt::Result {
        let src = self.sources;
        let Selection {
            included, listed, ..
        } = selection;
        // vSwitches.
        let nodes_per_zone: BTreeMap<&str, u64> =
            cluster.pools.iter().fold(BTreeMap::new(), |mut m, p| {
                for (z, n) in &p.zones {
                    *m.entry(z.as_str()).or_default() += n;
                }
                m
            });
        let max_pool = self.conf.max_pool_size.unwrap_or(0).max(0);
        for &index in included {
            let v = &self.described[index];
            let usable = u64::from(usable_addresses(v.cidr.prefix_len()));
            let used = usable.saturating_sub(v.available);
            let eth0 = if src.nodes.is_some() {
                cluster.eth0_held[index]
            } else {
                0
            };
            let pod_ips = workloads.pod_held[index];
            let idle = self.mapping.map(|m| m.idle_held[index]);
            let held = eth0 + pod_ips + idle.unwrap_or(0);
            let others = used.saturating_sub(held);
            if held > used {
                self.findings.push(
                    Finding::new(
                        "import-usage-mismatch",
                        format!("VSwitches.VSwitch `{}`", v.id),
                        format!(
                            "the cluster's nodes and pods{} hold {held} addresses in `{}` but DescribeVSwitches reports only {used} in use ({usable} usable, {} available); used_by_others is 0",
                            if idle.is_some() { " and idle pools" } else { "" },
                            v.id,
                            v.available
                        ),
                        "take the listings at the same time and import again",
                    )
                    .in_file(src.vswitches.path),
                );
            }
            writeln!(out, "[[vswitch]]")?;
            let vpc = v
                .vpc
                .as_ref()
                .map(|vpc| format!(" (VPC {vpc})"))
                .unwrap_or_default();
            kv(out, "id", &q(&v.id), &format!("VSwitchId{vpc}"))?;
            kv(out, "zone", &q(&v.zone), "ZoneId")?;
            kv(out, "cidr", &q(&v.cidr.to_string()), "CidrBlock")?;
            if let Some(vpc) = &v.vpc {
                kv(
                    out,
                    "vpc_id",
                    &q(vpc),
                    "VpcId: where the runbook creates new vSwitches",
                )?;
            }
            let mut how = format!(
                "{usable} usable - {} AvailableIpAddressCount = {used} in use",
                v.available
            );
            if v.available > usable {
                how = format!(
                    "AvailableIpAddressCount {} is above the {usable} usable, so 0 in use",
                    v.available
                );
            }
            let mut parts = Vec::new();
            if src.nodes.is_some() {
                parts.push(format!("{eth0} node eth0"));
            }
            if src.pods.is_some() {
                parts.push(format!("{pod_ips} pod addresses"));
            }
            if let Some(idle) = idle {
                parts.push(format!("{idle} idle in Terway's pools"));
            }
            if parts.is_empty() {
                writeln!(
                    out,
                    "# {how}; no --nodes or --pods given, so all of it counts as used by others"
                )?;
            } else {
                writeln!(
                    out,
                    "# {how}; less this cluster's own {} = {others}",
                    parts.join(" and ")
                )?;
            }
            let zone_nodes = nodes_per_zone.get(v.zone.as_str()).copied().unwrap_or(0);
            // Terway pools draw from the listed vSwitches, or from eth0's when a zone lists none.
            let pools_draw_here = listed.values().flatten().any(|id| *id == v.id)
                || listed.get(&v.zone).is_none_or(|ids| ids.is_empty());
            if zone_nodes > 0
                && max_pool > 0
                && src.nodes.is_some()
                && pools_draw_here
                && idle.is_none()
            {
                writeln!(
                    out,
                    "# (idle addresses in the Terway pools, up to {zone_nodes} nodes x max_pool_size {max_pool} in this zone, are invisible to kubectl and stay counted here)"
                )?;
            }
            kv(
                out,
                "used_by_others",
                &others.to_string(),
                "addresses used outside the simulated cluster",
            )?;
            if let Some(blocks) = self.reserved.get(&v.id) {
                let list: Vec<String> = blocks.iter().map(|b| format!("\"{b}\"")).collect();
                kv(
                    out,
                    "cidr_reservations",
                    &format!("[{}]", list.join(", ")),
                    "ListVSwitchCidrReservations: only IP prefixes come from these",
                )?;
            }
            if let (Some(idle), Some(mapping)) = (idle, self.mapping) {
                kv(
                    out,
                    "idle_today",
                    &idle.to_string(),
                    &format!(
                        "idle in Terway's pools today (terway-cli mapping of {} nodes); the model's pools keep their own",
                        mapping.nodes.len()
                    ),
                )?;
            }
            writeln!(out)?;
        }
        Ok(())
    }
}
