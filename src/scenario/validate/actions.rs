//! `[[action]]` entries: each alone (time, one kind), then all in time order (`set_terway`
//! patches merged, node pool sizes carried from one `scale_nodepool` to the next).

use std::collections::BTreeMap;

use super::Checker;
use super::network::VSwitches;
use super::terway::TerwayState;
use crate::scenario::file::ActionEntry;
use crate::scenario::{
    Action, ActionKind, InstanceType, Millis, NodePoolSpec, ScenarioError, TerwayConfig,
    format_duration,
};

impl Checker<'_> {
    /// The checks of each `[[action]]` that need nothing else: `at` and exactly one kind.
    pub(super) fn actions_alone(
        &self,
        actions: &[ActionEntry],
        horizon_ms: Millis,
    ) -> Result<(), ScenarioError> {
        for (i, action) in actions.iter().enumerate() {
            let prefix = format!("action[{i}]");
            if action.at.0 > horizon_ms {
                return Err(self.err(
                    format!("{prefix}.at"),
                    format!(
                        "{} is after the horizon {}",
                        format_duration(action.at.0),
                        format_duration(horizon_ms)
                    ),
                ));
            }
            let given: Vec<&str> = [
                ("add_vswitch", action.add_vswitch.is_some()),
                ("set_terway", action.set_terway.is_some()),
                ("restart_terway", action.restart_terway.is_some()),
                ("scale_nodepool", action.scale_nodepool.is_some()),
            ]
            .into_iter()
            .filter_map(|(name, given)| given.then_some(name))
            .collect();
            match given.as_slice() {
                [] => {
                    return Err(self.err(
                        prefix,
                        "an action needs one of add_vswitch, set_terway, restart_terway or scale_nodepool",
                    ));
                }
                [_] => {}
                [first, second, ..] => {
                    return Err(self.err(
                        format!("{prefix}.{second}"),
                        format!("an action does one thing; put `{first}` and `{second}` in separate [[action]] entries (same `at` is fine)"),
                    ));
                }
            }
            if action.restart_terway == Some(false) {
                return Err(self.err(
                    format!("{prefix}.restart_terway"),
                    "must be true; remove the action to not restart",
                ));
            }
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn actions(
        &mut self,
        entries: &[ActionEntry],
        added_vswitch: &BTreeMap<usize, usize>,
        pools: &[NodePoolSpec],
        instance_types: &BTreeMap<String, InstanceType>,
        vswitches: &VSwitches,
        zones: &[String],
        mut terway: TerwayState,
        terway_configs: &mut Vec<TerwayConfig>,
    ) -> Result<Vec<Action>, ScenarioError> {
        let mut order: Vec<usize> = (0..entries.len()).collect();
        order.sort_by_key(|&i| entries[i].at.0);
        let mut sizes: Vec<(u32, u32, u32)> = pools
            .iter()
            .map(|pool| (pool.nodes, pool.min_nodes, pool.max_nodes))
            .collect();
        let mut actions = Vec::with_capacity(entries.len());
        for (position, &i) in order.iter().enumerate() {
            let entry = &entries[i];
            let prefix = format!("action[{i}]");
            let kind = if entry.add_vswitch.is_some() {
                let index = added_vswitch.get(&i).copied().ok_or_else(|| {
                    self.err(
                        format!("{prefix}.add_vswitch"),
                        "internal error: vSwitch not indexed",
                    )
                })?;
                ActionKind::AddVSwitch(index)
            } else if let Some(patch) = &entry.set_terway {
                let set_prefix = format!("{prefix}.set_terway");
                let ipam_before = terway.resolved().ipam;
                self.apply_terway(&set_prefix, patch, &mut terway, vswitches, zones)?;
                let ipam_after = terway.resolved().ipam;
                if ipam_after != ipam_before {
                    self.warn(
                        format!("{set_prefix}.ipam_type"),
                        format!(
                            "ipam_type `{}` applies to nodes that join afterwards; Terway never changes the allocator of a running node (its Node resource keeps the mode it was created with)",
                            ipam_after.key()
                        ),
                    );
                }
                if let Some(size) = patch.max_pool_size {
                    let size = u32::try_from(size).unwrap_or(u32::MAX);
                    self.pool_capacity_warnings(
                        &format!("{set_prefix}.max_pool_size"),
                        size,
                        pools,
                        instance_types,
                    );
                }
                let restarted = order[position + 1..]
                    .iter()
                    .any(|&later| entries[later].restart_terway.is_some());
                if !restarted {
                    self.warn(
                        set_prefix,
                        "no restart_terway follows; running Terway daemons keep their config and only nodes started later get this one",
                    );
                }
                terway_configs.push(terway.resolved());
                ActionKind::SetTerway(terway_configs.len() - 1)
            } else if entry.restart_terway.is_some() {
                ActionKind::RestartTerway
            } else if let Some(scale) = &entry.scale_nodepool {
                let scale_prefix = format!("{prefix}.scale_nodepool");
                let Some(nodepool) = pools.iter().position(|pool| pool.name == scale.name) else {
                    return Err(self.unknown(
                        &format!("{scale_prefix}.name"),
                        "node pool",
                        &scale.name,
                        pools.iter().map(|pool| pool.name.as_str()),
                    ));
                };
                let count =
                    |field: &str, value: Option<i64>| self.node_count(&scale_prefix, field, value);
                let nodes = count("nodes", scale.nodes)?;
                let min_nodes = count("min_nodes", scale.min_nodes)?;
                let max_nodes = count("max_nodes", scale.max_nodes)?;
                if nodes.is_none() && min_nodes.is_none() && max_nodes.is_none() {
                    return Err(self.err(
                        scale_prefix,
                        "give at least one of nodes, min_nodes or max_nodes",
                    ));
                }
                let (current, old_min, old_max) = sizes[nodepool];
                let new_min = min_nodes.unwrap_or(old_min);
                let new_max = max_nodes.unwrap_or(old_max);
                if new_min > new_max {
                    let field = if min_nodes.is_some() {
                        "min_nodes"
                    } else {
                        "max_nodes"
                    };
                    return Err(self.err(
                        format!("{scale_prefix}.{field}"),
                        format!(
                            "min_nodes {new_min} would be above max_nodes {new_max} of pool `{}` at {}",
                            scale.name,
                            format_duration(entry.at.0)
                        ),
                    ));
                }
                if let Some(nodes) = nodes
                    && !(new_min..=new_max).contains(&nodes)
                {
                    return Err(self.err(
                        format!("{scale_prefix}.nodes"),
                        format!(
                            "nodes {nodes} is outside min_nodes..max_nodes ({new_min}..{new_max}) of pool `{}` at {}",
                            scale.name,
                            format_duration(entry.at.0)
                        ),
                    ));
                }
                sizes[nodepool] = (nodes.unwrap_or(current), new_min, new_max);
                ActionKind::ScaleNodePool {
                    nodepool,
                    nodes,
                    min_nodes,
                    max_nodes,
                }
            } else {
                return Err(self.err(prefix, "an action needs one of add_vswitch, set_terway, restart_terway or scale_nodepool"));
            };
            actions.push(Action {
                at_ms: entry.at.0,
                kind,
                file_index: i,
            });
        }
        Ok(actions)
    }

    pub(super) fn unlisted_vswitch_warnings(
        &mut self,
        entries: &[ActionEntry],
        added_vswitch: &BTreeMap<usize, usize>,
        vswitches: &VSwitches,
        configs: &[TerwayConfig],
    ) {
        for i in 0..entries.len() {
            let Some(&index) = added_vswitch.get(&i) else {
                continue;
            };
            let listed = configs
                .iter()
                .any(|config| config.vswitches.values().any(|list| list.contains(&index)));
            if !listed {
                self.warn(
                    format!("action[{i}].add_vswitch.id"),
                    format!(
                        "vSwitch `{}` is never listed in terway.vswitches, so Terway never takes addresses from it; add it with a set_terway action",
                        vswitches.specs[index].id
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

    #[test]
    fn action_rules() {
        expect(
            &with("[[action]]\nat = \"31d\"\nrestart_terway = true\n"),
            "action[0].at",
            18,
            "31d is after the horizon 30d",
        );
        expect(
            &with("[[action]]\nat = \"1d\"\n"),
            "action[0]",
            17,
            "needs one of",
        );
        expect(
            &with(
                "[[action]]\nat = \"1d\"\nrestart_terway = true\nscale_nodepool = { name = \"pool\", nodes = 3 }\n",
            ),
            "action[0].scale_nodepool",
            20,
            "separate [[action]] entries",
        );
        expect(
            &with("[[action]]\nat = \"1d\"\nrestart_terway = false\n"),
            "action[0].restart_terway",
            19,
            "must be true",
        );
        expect(
            &with("[[action]]\nat = \"1d\"\nscale_nodepool = { name = \"pool\" }\n"),
            "action[0].scale_nodepool",
            19,
            "at least one of",
        );
        expect(
            &with("[[action]]\nat = \"1d\"\nscale_nodepool = { name = \"pool\", min_nodes = 5 }\n"),
            "action[0].scale_nodepool.min_nodes",
            19,
            "min_nodes 5 would be above max_nodes 2",
        );
        // Sizes carry over from earlier scale actions, in time order.
        let text = with(
            "[[action]]\nat = \"2d\"\nscale_nodepool = { name = \"pool\", min_nodes = 5 }\n[[action]]\nat = \"1d\"\nscale_nodepool = { name = \"pool\", max_nodes = 10 }\n",
        );
        ok(&text);
        expect(
            &with(
                "[[action]]\nat = \"1d\"\nscale_nodepool = { name = \"pool\", max_nodes = 8, nodes = 9 }\n",
            ),
            "action[0].scale_nodepool.nodes",
            19,
            "nodes 9 is outside min_nodes..max_nodes (2..8)",
        );
        expect(
            &with("[[action]]\nat = \"1d\"\nscale_nodepool = { name = \"pool\", nodes = -3 }\n"),
            "action[0].scale_nodepool.nodes",
            19,
            "negative",
        );
    }

    #[test]
    fn actions_are_sorted_stably_and_patches_merge_in_time_order() {
        let (s, warnings) = ok(&with(
            r#"[[action]]
at = "5d"
restart_terway = true
[[action]]
at = "2d"
set_terway = { max_pool_size = 9 }
[[action]]
at = "1d"
add_vswitch = { id = "vsw-late", zone = "z1", cidr = "10.0.8.0/22" }
[[action]]
at = "1d"
set_terway = { vswitches = { z1 = ["vsw-a", "vsw-late"] }, min_pool_size = 2 }
[[action]]
at = "1d"
add_vswitch = { id = "vsw-early", zone = "z1", cidr = "10.0.4.0/22" }
"#,
        ));
        // Added vSwitches come after [[vswitch]] in file order, whatever their times.
        let ids: Vec<&str> = s.vswitches.iter().map(|v| v.id.as_str()).collect();
        assert_eq!(ids, vec!["vsw-a", "vsw-late", "vsw-early"]);
        let order: Vec<(usize, ActionKind)> = s
            .actions
            .iter()
            .map(|a| (a.file_index, a.kind.clone()))
            .collect();
        assert_eq!(
            order,
            vec![
                (2, ActionKind::AddVSwitch(1)),
                (3, ActionKind::SetTerway(1)),
                (4, ActionKind::AddVSwitch(2)),
                (1, ActionKind::SetTerway(2)),
                (0, ActionKind::RestartTerway),
            ]
        );
        let configs = &s.terway_configs;
        assert_eq!(configs[1].vswitches["z1"], vec![0, 1]);
        assert_eq!((configs[1].min_pool_size, configs[1].max_pool_size), (2, 5));
        assert_eq!(configs[2].vswitches["z1"], vec![0, 1]);
        assert_eq!((configs[2].min_pool_size, configs[2].max_pool_size), (2, 9));
        // vsw-early is in no config.
        let w = warning(&warnings, "action[4].add_vswitch.id");
        assert_eq!(w.line, Some(31));
        assert!(w.message.contains("vsw-early"));
        assert_eq!(warnings.len(), 1, "{warnings:?}");
    }
}
