//! Pods on ENIs of their own: `[terway] enable_eni_trunking`, `[[podnetworking]]`, the
//! workloads they select, exclusive-ENI pools and the instance types' `eni_total_quantity`.
//! Runs last, over the scenario the other parts resolved, and fills [`PodEnis`].

use std::collections::BTreeMap;

use super::Checker;
use crate::scenario::file::{ScenarioFile, key_segment};
use crate::scenario::{
    IpamType, PodEnis, PodNetworkingSelection, PodNetworkingSpec, Scenario, ScenarioError,
    WorkloadKind,
};

/// The most ENIs, trunk members included, an instance type may name.
const MAX_ENI_TOTAL: i64 = 1_000;

impl Checker<'_> {
    pub(super) fn pod_enis(
        &mut self,
        raw: &ScenarioFile,
        mut scenario: Scenario,
    ) -> Result<Scenario, ScenarioError> {
        let trunking = raw
            .terway
            .as_ref()
            .and_then(|terway| terway.enable_eni_trunking)
            .unwrap_or(false);
        for (i, pool) in raw.nodepool.iter().enumerate() {
            if pool
                .terway
                .as_ref()
                .is_some_and(|t| t.enable_eni_trunking.is_some())
            {
                return Err(self.err(
                    format!("nodepool[{i}].terway.enable_eni_trunking"),
                    "trunking is a cluster setting: set it under [terway] only",
                ));
            }
        }
        for (i, action) in raw.action.iter().enumerate() {
            if action
                .set_terway
                .as_ref()
                .is_some_and(|t| t.enable_eni_trunking.is_some())
            {
                return Err(self.err(
                    format!("action[{i}].set_terway.enable_eni_trunking"),
                    "trunking cannot be switched on a live cluster here: set it under [terway]",
                ));
            }
        }
        let totals = self.eni_totals(raw, &scenario)?;
        let exclusive: Vec<bool> = raw
            .nodepool
            .iter()
            .map(|pool| pool.exclusive_eni.unwrap_or(false))
            .collect();
        let podnetworkings = self.podnetworkings(raw, &scenario)?;
        let used = trunking || exclusive.contains(&true) || !podnetworkings.is_empty();
        if !used && raw.workload.iter().all(|w| w.podnetworking.is_none()) {
            return Ok(scenario);
        }

        let first_config = &scenario.terway_configs[0];
        let mut member_eni_limit = vec![0; scenario.nodepools.len()];
        for (i, pool) in scenario.nodepools.iter_mut().enumerate() {
            let prefix = format!("nodepool[{i}]");
            let config = pool.terway.applied_to(first_config);
            let instance = &scenario.instance_types[&pool.instance_type];
            if exclusive[i] {
                if config.enable_ip_prefix {
                    return Err(self.err(
                        format!("{prefix}.exclusive_eni"),
                        "an exclusive-ENI pool gives every pod an ENI of its own; it cannot run IP prefix mode (remove enable_ip_prefix for this pool)",
                    ));
                }
                // `aliyun/eni`: one pod per secondary ENI.
                let capacity = instance.secondary_enis();
                if pool.max_pods > capacity {
                    self.warn(
                        format!("{prefix}.max_pods"),
                        format!(
                            "an exclusive-ENI node of type `{}` runs at most {capacity} pods (its ENIs less eth0); max_pods {} is lowered to {capacity}",
                            instance.name, pool.max_pods
                        ),
                    );
                }
                pool.max_pods = if pool.max_pods == 0 {
                    capacity
                } else {
                    pool.max_pods.min(capacity)
                };
                continue;
            }
            if !trunking {
                continue;
            }
            if config.ipam != IpamType::Centralized {
                return Err(self.err(
                    "terway.enable_eni_trunking",
                    format!(
                        "trunk ENIs are modelled under centralized IPAM only, as ACK runs them; node pool `{}` has ipam_type = \"\" (set ipam_type = \"crd\")",
                        pool.name
                    ),
                ));
            }
            if config.enable_ip_prefix {
                return Err(self.err(
                    "terway.enable_eni_trunking",
                    format!(
                        "trunk ENIs are not modelled with IP prefix mode; node pool `{}` runs prefix mode",
                        pool.name
                    ),
                ));
            }
            let total = totals.get(&pool.instance_type).copied().unwrap_or(0);
            if total <= instance.eni_quantity {
                return Err(self.err(
                    format!("{prefix}.instance_type"),
                    format!(
                        "enable_eni_trunking is on but instance type `{}` has no trunk support known (no eni_total_quantity above its eni_quantity {}); set [instance_type.\"{}\"] eni_total_quantity (EniTotalQuantity of DescribeInstanceTypes) or use another type",
                        instance.name, instance.eni_quantity, instance.name
                    ),
                ));
            }
            member_eni_limit[i] = total - instance.eni_quantity;
        }

        let names: BTreeMap<&str, usize> = podnetworkings
            .iter()
            .enumerate()
            .map(|(index, pn)| (pn.name.as_str(), index))
            .collect();
        let mut workload_podnetworking = vec![None; raw.workload.len()];
        for (i, workload) in raw.workload.iter().enumerate() {
            let Some(name) = &workload.podnetworking else {
                continue;
            };
            let key = format!("workload[{i}].podnetworking");
            let Some(&index) = names.get(name.as_str()) else {
                return Err(self.unknown(&key, "PodNetworking", name, names.keys().copied()));
            };
            let pool = scenario.workloads[i].nodepool;
            let only_exclusive = match pool {
                Some(pool) => exclusive[pool],
                None => !exclusive.is_empty() && exclusive.iter().all(|&e| e),
            };
            if !trunking && !only_exclusive {
                return Err(self.err(
                    key,
                    format!(
                        "PodNetworking `{name}` gives pods member ENIs on a trunk: set [terway] enable_eni_trunking = true, or put the workload on an exclusive_eni node pool"
                    ),
                ));
            }
            let stateful = matches!(scenario.workloads[i].kind, WorkloadKind::StatefulSet(_));
            if podnetworkings[index].fixed_release_after_ms.is_some() && !stateful {
                self.warn(
                    key,
                    format!(
                        "PodNetworking `{name}` has fixed addresses, which only a StatefulSet's pods (stable names) get back; this {}'s addresses are held until release_after and never reused",
                        workload.kind
                    ),
                );
            }
            workload_podnetworking[i] = Some(index);
        }
        scenario.pod_enis = PodEnis {
            enable_eni_trunking: trunking,
            podnetworkings,
            workload_podnetworking,
            exclusive_eni: exclusive,
            member_eni_limit,
        };
        Ok(scenario)
    }

    /// `[instance_type."NAME"] eni_total_quantity`, by type name.
    fn eni_totals(
        &self,
        raw: &ScenarioFile,
        scenario: &Scenario,
    ) -> Result<BTreeMap<String, u32>, ScenarioError> {
        let mut totals = BTreeMap::new();
        for (name, entry) in &raw.instance_type {
            let Some(total) = entry.eni_total_quantity else {
                continue;
            };
            let key = format!("instance_type.{}.eni_total_quantity", key_segment(name));
            let total = self.int(&key, total, 0..=MAX_ENI_TOTAL)?;
            let eni_quantity = scenario.instance_types[name].eni_quantity;
            if total != 0 && total < eni_quantity {
                return Err(self.err(
                    key,
                    format!(
                        "must be 0 (no trunking) or at least eni_quantity {eni_quantity}, got {total}"
                    ),
                ));
            }
            totals.insert(name.clone(), total);
        }
        // The catalog's published figures stand in where the file gives none.
        for (name, instance) in &scenario.instance_types {
            if totals.contains_key(name) {
                continue;
            }
            if let Some((total, _)) = crate::catalog::eni_total_quantity(name)
                && total >= instance.eni_quantity
            {
                totals.insert(name.clone(), total);
            }
        }
        Ok(totals)
    }

    fn podnetworkings(
        &self,
        raw: &ScenarioFile,
        scenario: &Scenario,
    ) -> Result<Vec<PodNetworkingSpec>, ScenarioError> {
        let by_id: BTreeMap<&str, usize> = scenario
            .vswitches
            .iter()
            .enumerate()
            .map(|(index, v)| (v.id.as_str(), index))
            .collect();
        let mut names: BTreeMap<&str, usize> = BTreeMap::new();
        let mut specs = Vec::with_capacity(raw.podnetworking.len());
        for (i, entry) in raw.podnetworking.iter().enumerate() {
            let prefix = format!("podnetworking[{i}]");
            let name_key = format!("{prefix}.name");
            self.not_empty(&name_key, &entry.name, "a PodNetworking name")?;
            if let Some(other) = names.insert(&entry.name, i) {
                return Err(self.err(
                    name_key,
                    format!(
                        "duplicate PodNetworking name `{}` (also podnetworking[{other}])",
                        entry.name
                    ),
                ));
            }
            let mut vswitches = vec![Vec::new(); scenario.zones.len()];
            if entry.vswitches.values().all(Vec::is_empty) {
                return Err(self.err(
                    format!("{prefix}.vswitches"),
                    "a PodNetworking needs at least one vSwitch (vswitches = { \"zone\" = [\"vsw-...\"] })",
                ));
            }
            for (zone, ids) in &entry.vswitches {
                let zone_key = format!("{prefix}.vswitches.{}", key_segment(zone));
                let Some(zone_index) = scenario.zones.iter().position(|z| z == zone) else {
                    return Err(self.unknown(
                        &zone_key,
                        "zone",
                        zone,
                        scenario.zones.iter().map(String::as_str),
                    ));
                };
                for (j, id) in ids.iter().enumerate() {
                    let key = format!("{zone_key}[{j}]");
                    let Some(&index) = by_id.get(id.as_str()) else {
                        return Err(self.unknown(&key, "vSwitch", id, by_id.keys().copied()));
                    };
                    let in_zone = &scenario.zones[scenario.vswitches[index].zone];
                    if in_zone != zone {
                        return Err(self.err(
                            key,
                            format!("vSwitch `{id}` is in zone `{in_zone}`, not `{zone}`"),
                        ));
                    }
                    if vswitches[zone_index].contains(&index) {
                        return Err(self.err(key, format!("vSwitch `{id}` is listed twice")));
                    }
                    vswitches[zone_index].push(index);
                }
            }
            let selection = match entry.selection_policy.as_deref() {
                None | Some("ordered") => PodNetworkingSelection::Ordered,
                Some("random") => PodNetworkingSelection::Random,
                Some("most") => PodNetworkingSelection::Most,
                Some(other) => {
                    return Err(self.err(
                        format!("{prefix}.selection_policy"),
                        format!(
                            "unknown selection_policy `{other}`; PodNetworking's are `ordered` (first-fit in list order), `random` and `most`"
                        ),
                    ));
                }
            };
            let fixed = match entry.allocation.as_deref() {
                None | Some("elastic") => false,
                Some("fixed") => true,
                Some(other) => {
                    return Err(self.err(
                        format!("{prefix}.allocation"),
                        format!("unknown allocation `{other}`; use `elastic` or `fixed`"),
                    ));
                }
            };
            let fixed_release_after_ms = match (fixed, entry.release_after) {
                (true, Some(after)) => Some(after.0),
                (true, None) => {
                    return Err(self.err(
                        format!("{prefix}.allocation"),
                        "allocation = \"fixed\" needs release_after (releaseStrategy TTL), e.g. release_after = \"1h\"",
                    ));
                }
                (false, Some(_)) => {
                    return Err(self.err(
                        format!("{prefix}.release_after"),
                        "release_after applies only to allocation = \"fixed\"",
                    ));
                }
                (false, None) => None,
            };
            specs.push(PodNetworkingSpec {
                name: entry.name.clone(),
                vswitches,
                selection,
                fixed_release_after_ms,
            });
        }
        Ok(specs)
    }
}
