//! `[terway]` and the `set_terway` patches merged over it, and what Terway accepts but does
//! differently from what was written (warnings).

use std::collections::BTreeMap;

use super::Checker;
use super::network::VSwitches;
use crate::scenario::file::{TerwayEntry, key_segment, nearest};
use crate::scenario::{
    EniSelection, IdleReclaim, InstanceType, IpamType, MINUTE_MS, Millis, NodePoolSpec, SECOND_MS,
    ScenarioError, TerwayConfig, TerwayOverride, VSwitchSelection,
};

/// Terway's and ACK's defaults for `[terway]`.
const DEFAULT_MAX_POOL_SIZE: u32 = 5;
const DEFAULT_IP_POOL_SYNC_PERIOD_MS: Millis = 120 * SECOND_MS;
const DEFAULT_RECLAIM_INTERVAL_MS: Millis = 10 * MINUTE_MS;
const DEFAULT_RECLAIM_BATCH_SIZE: u32 = 5;
const DEFAULT_RECLAIM_JITTER: f64 = 0.1;
/// Secondary ENIs an ECS instance can have at most; `min_eni`/`max_eni` beyond are typos.
const MAX_ENIS: i64 = 64;
/// The most prefixes a node can hold: 63 secondary ENIs x 49 (a type's IPv4 per ENI less the
/// primary); the pool's instance type bounds it further.
const MAX_PREFIXES: i64 = 63 * 49;
/// The most addresses `min_pool_size`, `max_pool_size` and a reclaim batch may name.
const MAX_POOL: i64 = 10_000;

/// Terway's config as it stands, including reclaim settings kept while reclaim is off (a later
/// `set_terway` may turn it on and inherit them).
#[derive(Clone)]
pub(super) struct TerwayState {
    config: TerwayConfig,
    reclaim_after_ms: Option<Millis>,
    reclaim_interval_ms: Millis,
    reclaim_batch_size: u32,
    reclaim_jitter_factor: f64,
}

impl TerwayState {
    pub(super) fn new() -> Self {
        TerwayState {
            config: TerwayConfig {
                vswitches: BTreeMap::new(),
                vswitch_selection: VSwitchSelection::Random,
                eni_selection: EniSelection::MostIps,
                max_pool_size: DEFAULT_MAX_POOL_SIZE,
                min_pool_size: 0,
                min_eni: 0,
                max_eni: 0,
                ip_pool_sync_period_ms: DEFAULT_IP_POOL_SYNC_PERIOD_MS,
                idle_ip_reclaim: None,
                ipam: IpamType::Daemon,
                enable_ip_prefix: false,
                ipv4_prefix_count: 0,
            },
            reclaim_after_ms: None,
            reclaim_interval_ms: DEFAULT_RECLAIM_INTERVAL_MS,
            reclaim_batch_size: DEFAULT_RECLAIM_BATCH_SIZE,
            reclaim_jitter_factor: DEFAULT_RECLAIM_JITTER,
        }
    }

    pub(super) fn resolved(&self) -> TerwayConfig {
        let mut config = self.config.clone();
        config.idle_ip_reclaim = self.reclaim_after_ms.map(|after_ms| IdleReclaim {
            after_ms,
            interval_ms: self.reclaim_interval_ms,
            batch_size: self.reclaim_batch_size,
            jitter_factor: self.reclaim_jitter_factor,
        });
        config
    }
}

impl Checker<'_> {
    /// A node pool's `terway = { ... }`: checked as `[terway]` is, keeping only the keys given.
    pub(super) fn terway_override(
        &mut self,
        prefix: &str,
        patch: &TerwayEntry,
        vswitches: &VSwitches,
        zones: &[String],
    ) -> Result<TerwayOverride, ScenarioError> {
        let mut state = TerwayState::new();
        self.apply_terway(prefix, patch, &mut state, vswitches, zones)?;
        let config = state.resolved();
        let reclaim_given = patch.idle_ip_reclaim_after.is_some()
            || patch.idle_ip_reclaim_interval.is_some()
            || patch.idle_ip_reclaim_batch_size.is_some()
            || patch.idle_ip_reclaim_jitter_factor.is_some();
        Ok(TerwayOverride {
            vswitches: patch.vswitches.as_ref().map(|_| config.vswitches.clone()),
            vswitch_selection: patch
                .vswitch_selection_policy
                .as_ref()
                .map(|_| config.vswitch_selection),
            eni_selection: patch
                .eni_selection_policy
                .as_ref()
                .map(|_| config.eni_selection),
            max_pool_size: patch.max_pool_size.map(|_| config.max_pool_size),
            min_pool_size: patch.min_pool_size.map(|_| config.min_pool_size),
            min_eni: patch.min_eni.map(|_| config.min_eni),
            max_eni: patch.max_eni.map(|_| config.max_eni),
            ip_pool_sync_period_ms: patch
                .ip_pool_sync_period
                .map(|_| config.ip_pool_sync_period_ms),
            idle_ip_reclaim: reclaim_given.then_some(config.idle_ip_reclaim),
            ipam: patch.ipam_type.as_ref().map(|_| config.ipam),
            enable_ip_prefix: patch.enable_ip_prefix,
            ipv4_prefix_count: patch.ipv4_prefix_count.map(|_| config.ipv4_prefix_count),
        })
    }

    /// Merges a `[terway]` table or a `set_terway` patch over `state`: every given key replaces
    /// the one before (a given `vswitches` replaces the whole map).
    pub(super) fn apply_terway(
        &mut self,
        prefix: &str,
        patch: &TerwayEntry,
        state: &mut TerwayState,
        vswitches: &VSwitches,
        zones: &[String],
    ) -> Result<(), ScenarioError> {
        let key = |field: &str| format!("{prefix}.{field}");
        if let Some(map) = &patch.vswitches {
            let mut resolved = BTreeMap::new();
            for (zone, ids) in map {
                let zone_key = format!("{prefix}.vswitches.{}", key_segment(zone));
                self.not_empty(&zone_key, zone, "a zone name")?;
                let zone_index = zones.iter().position(|z| z == zone);
                let mut list = Vec::with_capacity(ids.len());
                for (j, id) in ids.iter().enumerate() {
                    let id_key = format!("{zone_key}[{j}]");
                    let Some(&index) = vswitches.by_id.get(id.as_str()) else {
                        return Err(self.unknown(
                            &id_key,
                            "vSwitch",
                            id,
                            vswitches.ids.iter().copied(),
                        ));
                    };
                    let spec = &vswitches.specs[index];
                    if zone_index.is_some_and(|z| z != spec.zone) {
                        self.warn(
                            id_key,
                            format!(
                                "vSwitch `{id}` is in zone `{}`, not `{zone}`; Terway skips it for nodes in `{zone}`",
                                zones[spec.zone]
                            ),
                        );
                    }
                    list.push(index);
                }
                if zone_index.is_none() {
                    let hint = nearest(zone, zones.iter().map(String::as_str))
                        .map(|near| format!(" (did you mean `{near}`?)"))
                        .unwrap_or_default();
                    self.warn(
                        zone_key,
                        format!("no vSwitch or node pool is in zone `{zone}`; Terway never uses this entry{hint}"),
                    );
                }
                resolved.insert(zone.clone(), list);
            }
            state.config.vswitches = resolved;
        }
        if let Some(policy) = &patch.vswitch_selection_policy {
            state.config.vswitch_selection = if policy == "ordered" {
                VSwitchSelection::Ordered
            } else {
                VSwitchSelection::Random
            };
            if policy != "ordered" && policy != "random" {
                let hint = nearest(policy, ["ordered", "random"])
                    .map(|near| format!(" (did you mean `{near}`?)"))
                    .unwrap_or_default();
                self.warn(
                    key("vswitch_selection_policy"),
                    format!("`{policy}` is neither `ordered` nor `random`; Terway treats it as random{hint}"),
                );
            }
        }
        if let Some(policy) = &patch.eni_selection_policy {
            state.config.eni_selection = match policy.as_str() {
                "most_ips" => EniSelection::MostIps,
                "least_ips" => EniSelection::LeastIps,
                other => {
                    let near = nearest(other, ["most_ips", "least_ips"])
                        .map(|near| format!(", did you mean `{near}`?"))
                        .unwrap_or_else(|| ", expected `most_ips` or `least_ips`".to_string());
                    return Err(self.err(
                        key("eni_selection_policy"),
                        format!("unknown eni_selection_policy `{other}`{near}"),
                    ));
                }
            };
        }
        if let Some(size) = patch.max_pool_size {
            state.config.max_pool_size = self.int(&key("max_pool_size"), size, 0..=MAX_POOL)?;
        }
        if let Some(size) = patch.min_pool_size {
            state.config.min_pool_size = self.int(&key("min_pool_size"), size, 0..=MAX_POOL)?;
        }
        if let Some(period) = patch.ip_pool_sync_period {
            state.config.ip_pool_sync_period_ms =
                self.at_least(&key("ip_pool_sync_period"), period.0, SECOND_MS)?;
        }
        if let Some(count) = patch.min_eni {
            state.config.min_eni = self.int(&key("min_eni"), count, 0..=MAX_ENIS)?;
        }
        if let Some(count) = patch.max_eni {
            state.config.max_eni = self.int(&key("max_eni"), count, 0..=MAX_ENIS)?;
        }
        if let Some(after) = patch.idle_ip_reclaim_after {
            // "0s" is how a patch turns reclaim back off: TOML has no null to unset a key.
            state.reclaim_after_ms = (after.0 > 0).then_some(after.0);
        }
        if let Some(interval) = patch.idle_ip_reclaim_interval {
            state.reclaim_interval_ms =
                self.at_least(&key("idle_ip_reclaim_interval"), interval.0, SECOND_MS)?;
        }
        if let Some(batch) = patch.idle_ip_reclaim_batch_size {
            state.reclaim_batch_size =
                self.int(&key("idle_ip_reclaim_batch_size"), batch, 1..=MAX_POOL)?;
        }
        if let Some(jitter) = patch.idle_ip_reclaim_jitter_factor {
            state.reclaim_jitter_factor =
                self.number(&key("idle_ip_reclaim_jitter_factor"), jitter, 0.0..=10.0)?;
        }
        if let Some(ipam_type) = &patch.ipam_type {
            state.config.ipam = match ipam_type.as_str() {
                "" => IpamType::Daemon,
                "crd" => IpamType::Centralized,
                other => {
                    let near = nearest(other, ["crd"])
                        .map(|near| format!(", did you mean `{near}`?"))
                        .unwrap_or_default();
                    return Err(self.err(
                        key("ipam_type"),
                        format!(
                            "unknown ipam_type `{other}`{near} (Terway knows `\"\"`, the daemon on each node allocates, and `crd`, centralized IPAM)"
                        ),
                    ));
                }
            };
        }
        if let Some(enable) = patch.enable_ip_prefix {
            state.config.enable_ip_prefix = enable;
        }
        if let Some(count) = patch.ipv4_prefix_count {
            state.config.ipv4_prefix_count =
                self.int(&key("ipv4_prefix_count"), count, 0..=MAX_PREFIXES)?;
        }
        let (min, max) = (state.config.min_pool_size, state.config.max_pool_size);
        if (patch.min_pool_size.is_some() || patch.max_pool_size.is_some()) && min > max {
            let field = if patch.min_pool_size.is_some() {
                "min_pool_size"
            } else {
                "max_pool_size"
            };
            self.warn(
                key(field),
                format!("min_pool_size {min} is above max_pool_size {max}; Terway caps min_pool_size at {max}"),
            );
        }
        Ok(())
    }

    pub(super) fn pool_capacity_warnings(
        &mut self,
        key: &str,
        max_pool_size: u32,
        pools: &[NodePoolSpec],
        instance_types: &BTreeMap<String, InstanceType>,
    ) {
        for pool in pools {
            let Some(instance_type) = instance_types.get(&pool.instance_type) else {
                continue;
            };
            let capacity = instance_type.pod_capacity();
            if max_pool_size > capacity {
                self.warn(
                    key,
                    format!(
                        "max_pool_size {max_pool_size} is above the {capacity} addresses a node of pool `{}` ({}) can hold; Terway caps the pool there",
                        pool.name, instance_type.name
                    ),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;
    use crate::scenario::HOUR_MS;

    #[test]
    fn terway_value_errors() {
        let terway = |line: &str| {
            edit(
                "vswitches = { z1 = [\"vsw-a\"] }",
                &format!("vswitches = {{ z1 = [\"vsw-a\"] }}\n{line}"),
            )
        };
        expect(
            &terway("max_pool_size = -1"),
            "terway.max_pool_size",
            11,
            "negative",
        );
        expect(
            &terway("ip_pool_sync_period = \"0s\""),
            "terway.ip_pool_sync_period",
            11,
            "at least 1s",
        );
        expect(
            &terway("idle_ip_reclaim_batch_size = 0"),
            "terway.idle_ip_reclaim_batch_size",
            11,
            "between 1",
        );
        expect(
            &terway("idle_ip_reclaim_jitter_factor = 11.0"),
            "terway.idle_ip_reclaim_jitter_factor",
            11,
            "between 0 and 10",
        );
        expect(&terway("max_eni = 65"), "terway.max_eni", 11, "at most 64");
        // Reclaim settings given while reclaim is off apply once a patch turns it on.
        let (s, _) = ok(&format!(
            "{}[[action]]\nat = \"1d\"\nset_terway = {{ idle_ip_reclaim_after = \"1h\" }}\n[[action]]\nat = \"2d\"\nrestart_terway = true\n",
            terway("idle_ip_reclaim_interval = \"5m\"")
        ));
        assert_eq!(s.terway_configs[0].idle_ip_reclaim, None);
        assert_eq!(
            s.terway_configs[1].idle_ip_reclaim,
            Some(IdleReclaim {
                after_ms: HOUR_MS,
                interval_ms: 5 * MINUTE_MS,
                batch_size: 5,
                jitter_factor: 0.1
            })
        );
    }

    #[test]
    fn what_terway_accepts_is_a_warning() {
        let terway = |line: &str| {
            edit(
                "vswitches = { z1 = [\"vsw-a\"] }",
                &format!("vswitches = {{ z1 = [\"vsw-a\"] }}\n{line}"),
            )
        };
        let (_, warnings) = ok(&terway("min_pool_size = 8"));
        let w = warning(&warnings, "terway.min_pool_size");
        assert_eq!(w.line, Some(11));
        assert!(
            w.message.contains("caps min_pool_size at 5"),
            "{}",
            w.message
        );

        let (s, warnings) = ok(&terway("vswitch_selection_policy = \"most\""));
        assert_eq!(
            s.terway_configs[0].vswitch_selection,
            VSwitchSelection::Random
        );
        let w = warning(&warnings, "terway.vswitch_selection_policy");
        assert_eq!(w.line, Some(11));
        assert!(w.message.contains("treats it as random"), "{}", w.message);
        let (s, warnings) = ok(&terway("vswitch_selection_policy = \"random\""));
        assert_eq!(
            s.terway_configs[0].vswitch_selection,
            VSwitchSelection::Random
        );
        assert!(warnings.is_empty());

        let (_, warnings) = ok(&edit("ecs.g7.xlarge", "ecs.g7.large").replace(
            "vswitches = { z1 = [\"vsw-a\"] }",
            "vswitches = { z1 = [\"vsw-a\"] }\nmax_pool_size = 20",
        ));
        let w = warning(&warnings, "terway.max_pool_size");
        assert_eq!(w.line, Some(11));
        assert!(
            w.message.contains("above the 12 addresses"),
            "{}",
            w.message
        );
        assert_eq!(warnings.len(), 1, "{warnings:?}");

        let (_, warnings) = ok(&edit("ecs.g7.xlarge", "ecs.g6.large"));
        let w = warning(&warnings, "nodepool[0].instance_type");
        assert_eq!(w.line, Some(14));
        assert!(w.message.contains("(2 - 1) x 6 = 6 pods"), "{}", w.message);
        // max_pool_size 5 is below 6, so that is the only warning.
        assert_eq!(warnings.len(), 1, "{warnings:?}");

        let (s, warnings) = ok(&edit("vswitches = { z1 = [\"vsw-a\"] }", ""));
        assert!(s.terway_configs[0].vswitches.is_empty());
        let w = warning(&warnings, "nodepool[0].zones[0]");
        assert_eq!(w.line, Some(15));
        assert!(
            w.message
                .contains("falls back to the node's primary vSwitch `vsw-a`"),
            "{}",
            w.message
        );

        let (_, warnings) = ok(&with(
            "[[vswitch]]\nid = \"vsw-b\"\nzone = \"z2\"\ncidr = \"10.0.1.0/24\"\n",
        ));
        let w = warning(&warnings, "vswitch[1].zone");
        assert_eq!(w.line, Some(19));
        assert!(
            w.message.contains("no node pool runs in zone `z2`"),
            "{}",
            w.message
        );

        let (_, warnings) = ok(&format!(
            "{}[[vswitch]]\nid = \"vsw-b\"\nzone = \"z2\"\ncidr = \"10.0.1.0/24\"\n",
            edit("[\"vsw-a\"]", "[\"vsw-a\", \"vsw-b\"]")
        ));
        let w = warning(&warnings, "terway.vswitches.z1[1]");
        assert_eq!(w.line, Some(10));
        assert!(
            w.message
                .contains("vSwitch `vsw-b` is in zone `z2`, not `z1`"),
            "{}",
            w.message
        );

        let (_, warnings) = ok(&edit(
            "{ z1 = [\"vsw-a\"] }",
            "{ z1 = [\"vsw-a\"], z0 = [\"vsw-a\"] }",
        ));
        let w = warning(&warnings, "terway.vswitches.z0");
        assert!(w.message.contains("did you mean `z1`?"), "{}", w.message);

        let (_, warnings) = ok(&with(
            "[[action]]\nat = \"1d\"\nset_terway = { max_pool_size = 3 }\n[[action]]\nat = \"1d\"\nrestart_terway = true\n[[action]]\nat = \"2d\"\nset_terway = { max_pool_size = 4 }\n",
        ));
        let w = warning(&warnings, "action[2].set_terway");
        assert_eq!(w.line, Some(25));
        assert!(
            w.message.contains("no restart_terway follows"),
            "{}",
            w.message
        );
        assert_eq!(warnings.len(), 1, "{warnings:?}");
    }
}
