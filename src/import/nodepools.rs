//! Today's nodes into the scenario's node pools: zone and instance type from the labels (or the
//! vSwitch holding the InternalIP), ENI limits from the catalog or DescribeInstanceTypes, one
//! pool per ACK node pool and type, split by zone when the zones are uneven.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::vswitches::vswitch_of;
use super::{Builder, Cluster, ImportError, Pool, Workload, aliyun, kube};
use crate::catalog::InstanceType;
use crate::lint::Finding;
use crate::scenario::Millis;

/// Instance type of the placeholder pool when no nodes are given.
const DEFAULT_INSTANCE_TYPE: &str = "ecs.g7.xlarge";

impl Builder<'_, '_> {
    pub(super) fn cluster(
        &mut self,
        nodes: Option<&(&Path, Vec<kube::Node>)>,
        types: Option<&(&Path, Vec<aliyun::InstanceTypeRow>)>,
    ) -> Result<Cluster, ImportError> {
        let mut cluster = Cluster {
            pools: Vec::new(),
            instance_tables: Vec::new(),
            skipped_nodes: BTreeSet::new(),
            node_index: BTreeMap::new(),
            eth0_held: vec![0; self.described.len()],
            node_count: 0,
            eni_totals: BTreeMap::new(),
        };
        let Some((nodes_path, nodes)) = nodes else {
            cluster.pools.push(self.placeholder_pool());
            return Ok(cluster);
        };
        // (pool label, type) -> zone -> nodes.
        struct Kept<'n> {
            node: &'n kube::Node,
            zone: String,
            zone_source: String,
            instance_type: String,
            vswitch: Option<usize>,
        }
        let mut kept: Vec<Kept> = Vec::new();
        let mut skipped: Vec<String> = Vec::new();
        for node in nodes {
            let vswitch = node
                .internal_ip
                .and_then(|ip| vswitch_of(self.described, ip));
            let zone = match (&node.zone, vswitch) {
                (Some(zone), _) => Some((zone.clone(), format!("label {}", node.zone_label))),
                (None, Some(v)) => Some((
                    self.described[v].zone.clone(),
                    format!(
                        "no zone label; the zone of `{}`, which holds its InternalIP",
                        self.described[v].id
                    ),
                )),
                (None, None) => None,
            };
            let reason = if node.is_virtual {
                Some("a virtual node (ECI): its pods do not take addresses through Terway")
            } else if zone.is_none() {
                Some("no zone label and no InternalIP in a described vSwitch")
            } else if node.instance_type.is_none() {
                Some("no instance-type label")
            } else {
                None
            };
            if let Some(reason) = reason {
                skipped.push(format!("`{}` ({reason})", node.name));
                cluster.skipped_nodes.insert(node.name.clone());
                continue;
            }
            let (zone, zone_source) = zone.unwrap_or_default();
            kept.push(Kept {
                node,
                zone,
                zone_source,
                instance_type: node.instance_type.clone().unwrap_or_default(),
                vswitch,
            });
        }
        if !skipped.is_empty() {
            let shown: Vec<&str> = skipped.iter().take(5).map(String::as_str).collect();
            let more = if skipped.len() > 5 {
                format!(" and {} more", skipped.len() - 5)
            } else {
                String::new()
            };
            self.findings.push(
                Finding::new(
                    "import-node-skipped",
                    "items",
                    format!(
                        "{} node{} left out, with their pods: {}{more}",
                        skipped.len(),
                        if skipped.len() == 1 { "" } else { "s" },
                        shown.join(", ")
                    ),
                    "nothing to do for virtual nodes; label other nodes with topology.kubernetes.io/zone and node.kubernetes.io/instance-type",
                )
                .in_file(nodes_path),
            );
        }

        // Instance types: the catalog, unless DescribeInstanceTypes says otherwise.
        let catalog = crate::catalog::builtin();
        let used_types: BTreeSet<&str> = kept.iter().map(|k| k.instance_type.as_str()).collect();
        let mut resolved: BTreeMap<String, InstanceType> = BTreeMap::new();
        for &name in &used_types {
            let row = types.and_then(|(_, rows)| rows.iter().find(|r| r.id == name));
            let total = match (row.and_then(|r| r.eni_total), types) {
                (Some(n), Some((path, _))) => {
                    Some((n, format!("EniTotalQuantity in {}", path.display())))
                }
                _ => crate::catalog::eni_total_quantity(name)
                    .map(|(n, source)| (u64::from(n), format!("the built-in catalog ({source})"))),
            };
            if let Some((n, source)) = total.filter(|(n, _)| (1..=1000).contains(n)) {
                cluster
                    .eni_totals
                    .insert(name.to_string(), (n as u32, source));
            }
            let from_catalog = catalog.get(name);
            match (row, from_catalog) {
                (Some(row), builtin) if row.problem.is_some() => {
                    let problem = row.problem.as_deref().unwrap_or_default();
                    let path = types.map(|(p, _)| *p).unwrap_or(Path::new(""));
                    let Some(builtin) = builtin else {
                        return Err(ImportError::new(
                            path,
                            format!(
                                "DescribeInstanceTypes entry `{name}`, the type of the nodes, has {problem}, so its Terway pod capacity is unknown (old API responses lack EniPrivateIpAddressQuantity); expected a current listing: `aliyun ecs DescribeInstanceTypes --InstanceTypes '[\"{name}\"]' > types.json`"
                            ),
                        ));
                    };
                    self.findings.push(
                        Finding::new(
                            "import-instance-type-incomplete",
                            format!("InstanceTypes.InstanceType `{name}`"),
                            format!(
                                "the entry of `{name}` has {problem}; the built-in catalog's limits are used instead"
                            ),
                            format!(
                                "nothing, if the catalog is right; else pass a current `aliyun ecs DescribeInstanceTypes --InstanceTypes '[\"{name}\"]'`"
                            ),
                        )
                        .in_file(path),
                    );
                    resolved.insert(name.to_string(), builtin.clone());
                }
                (Some(row), builtin) => {
                    let path = types.map(|(p, _)| *p).unwrap_or(Path::new(""));
                    let t = instance_type_from(row, path)?;
                    let same = builtin.is_some_and(|b| {
                        b.vcpu == t.vcpu
                            && b.eni_quantity == t.eni_quantity
                            && b.ipv4_per_eni == t.ipv4_per_eni
                            && b.memory_mib == t.memory_mib
                    });
                    if !same {
                        let why = if builtin.is_some() {
                            format!(
                                "from {}: DescribeInstanceTypes differs from the built-in catalog, and Terway reads the API",
                                path.display()
                            )
                        } else {
                            format!("from {}: not in the built-in catalog", path.display())
                        };
                        cluster.instance_tables.push((t.clone(), why));
                    }
                    resolved.insert(name.to_string(), t);
                }
                (None, Some(builtin)) => {
                    resolved.insert(name.to_string(), builtin.clone());
                }
                (None, None) => {
                    // A k3s, EKS or GKE node has a provider scheme; an ACK node's providerID is
                    // `region.instance-id`.
                    let foreign = kept
                        .iter()
                        .filter(|k| k.instance_type == name)
                        .find_map(|k| k.node.provider_id.as_deref().filter(|p| p.contains("://")));
                    if let Some(provider) = foreign {
                        return Err(ImportError::new(
                            nodes_path,
                            format!(
                                "lists nodes of type `{name}` that are not Alibaba Cloud ECS instances (providerID `{provider}`); Terway runs on ACK: expected `kubectl get nodes -o json` of an ACK cluster, or leave out --nodes"
                            ),
                        ));
                    }
                    let file = types.map_or(*nodes_path, |(p, _)| *p);
                    let hint = if types.is_some() {
                        "it is not in that DescribeInstanceTypes listing either; add it"
                    } else {
                        "pass --instance-types with its ENI limits"
                    };
                    return Err(ImportError::new(
                        file,
                        format!(
                            "instance type `{name}` of the nodes is not in the built-in catalog; {hint}: `aliyun ecs DescribeInstanceTypes --InstanceTypes '[\"{name}\"]' > types.json`"
                        ),
                    ));
                }
            }
        }

        // Pools: ACK node pool (or instance type) x instance type, split by zone only when the
        // zones are uneven (the model spreads a pool's nodes evenly).
        let mut types_per_label: BTreeMap<Option<&str>, BTreeSet<&str>> = BTreeMap::new();
        for k in &kept {
            types_per_label
                .entry(k.node.nodepool.as_deref())
                .or_default()
                .insert(&k.instance_type);
        }
        let mut groups: BTreeMap<(Option<&str>, &str), Vec<&Kept>> = BTreeMap::new();
        for k in &kept {
            groups
                .entry((k.node.nodepool.as_deref(), k.instance_type.as_str()))
                .or_default()
                .push(k);
        }
        let mut zone_sources: BTreeSet<String> = BTreeSet::new();
        for ((label, instance_type), members) in &groups {
            let t = &resolved[*instance_type];
            let (base, name_source) = match label {
                Some(label) if types_per_label[&Some(*label)].len() > 1 => (
                    format!("{label}/{instance_type}"),
                    format!(
                        "label alibabacloud.com/nodepool-id `{label}`, nodes of type {instance_type}"
                    ),
                ),
                Some(label) => (
                    label.to_string(),
                    "label alibabacloud.com/nodepool-id".to_string(),
                ),
                None => (
                    instance_type.to_string(),
                    "no alibabacloud.com/nodepool-id label: named after the instance type"
                        .to_string(),
                ),
            };
            let type_source = members
                .first()
                .map(|k| format!("label {}", k.node.type_label))
                .unwrap_or_default();
            // The pool's dynamic config: what its nodes' `terway-config` label names (the most
            // common name when they disagree, with a finding).
            let mut labelled: BTreeMap<Option<&str>, usize> = BTreeMap::new();
            for k in members {
                *labelled.entry(k.node.terway_config.as_deref()).or_default() += 1;
            }
            let pool_terway_config = labelled
                .iter()
                .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
                .and_then(|(name, _)| name.map(str::to_string));
            if labelled.len() > 1 {
                let names: Vec<String> = labelled
                    .keys()
                    .map(|n| n.map_or("no label".to_string(), |n| format!("`{n}`")))
                    .collect();
                self.findings.push(
                    Finding::new(
                        "import-terway-config-mixed",
                        "metadata.labels.terway-config",
                        format!(
                            "the nodes of pool `{base}` name different Terway configs ({}); the scenario gives the pool the most common one",
                            names.join(", ")
                        ),
                        "label every node of a node pool with the same terway-config (ACK sets it per node pool)",
                    )
                    .in_file(self.sources.nodes.as_ref().map_or(self.sources.eni_config.path, |n| n.path)),
                );
            }
            let mut per_zone: BTreeMap<&str, Vec<&Kept>> = BTreeMap::new();
            for k in members {
                per_zone.entry(k.zone.as_str()).or_default().push(k);
                zone_sources.insert(k.zone_source.clone());
            }
            let counts: Vec<u64> = per_zone.values().map(|v| v.len() as u64).collect();
            let even = counts.iter().max().unwrap_or(&0) - counts.iter().min().unwrap_or(&0) <= 1;
            let mut zone_groups: Vec<Vec<(&str, &Vec<&Kept>)>> = if even {
                vec![per_zone.iter().map(|(z, v)| (*z, v)).collect()]
            } else {
                per_zone.iter().map(|(z, v)| vec![(*z, v)]).collect()
            };
            let split = !even && per_zone.len() > 1;
            for zones in &mut zone_groups {
                // More nodes first: the model launches into the zone with the fewest, earlier
                // zones first, so this order gives back today's counts exactly.
                zones.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(b.0)));
                let name = if split {
                    format!("{base}/{}", zones[0].0)
                } else {
                    base.clone()
                };
                let mut node_vswitch = BTreeMap::new();
                let mut max_pods: Option<u32> = None;
                let pool_index = cluster.pools.len();
                let exclusive: BTreeSet<bool> = zones
                    .iter()
                    .flat_map(|(_, m)| m.iter().map(|k| k.node.exclusive_eni))
                    .collect();
                if exclusive.len() > 1 {
                    self.findings.push(
                        Finding::new(
                            "import-exclusive-eni-mixed",
                            "metadata.labels.k8s.aliyun.com/exclusive-mode-eni-type",
                            format!(
                                "only some nodes of pool `{name}` carry k8s.aliyun.com/exclusive-mode-eni-type: eniOnly; the scenario's pool is not exclusive-ENI"
                            ),
                            "label every node of an exclusive-ENI node pool (ACK sets it per node pool), or split the pool",
                        )
                        .in_file(nodes_path),
                    );
                }
                for (zone, zone_members) in zones.iter() {
                    let mut votes: BTreeMap<usize, u64> = BTreeMap::new();
                    for k in zone_members.iter() {
                        if let Some(v) = k.vswitch {
                            cluster.eth0_held[v] += 1;
                            if self.described[v].zone == *zone {
                                *votes.entry(v).or_default() += 1;
                            }
                        }
                        if let Some(pods) = k.node.max_pods {
                            max_pods = Some(max_pods.map_or(pods, |m: u32| m.min(pods)));
                        }
                        cluster.node_index.insert(k.node.name.clone(), pool_index);
                    }
                    if let Some((&v, _)) =
                        votes.iter().max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
                    {
                        node_vswitch.insert(zone.to_string(), v);
                    }
                }
                let nodes: u64 = zones.iter().map(|(_, m)| m.len() as u64).sum();
                cluster.node_count += nodes;
                let capacity = t.pod_capacity();
                let max_pods = max_pods.filter(|&m| m != capacity && m > 0);
                cluster.pools.push(Pool {
                    name,
                    name_source: name_source.clone(),
                    instance_type: instance_type.to_string(),
                    type_source: type_source.clone(),
                    zones: zones
                        .iter()
                        .map(|(z, m)| (z.to_string(), m.len() as u64))
                        .collect(),
                    node_vswitch,
                    nodes,
                    max_pods,
                    capacity,
                    vcpu: t.vcpu,
                    memory_mib: t.memory_mib,
                    placeholder: false,
                    terway_config: pool_terway_config.clone(),
                    exclusive_eni: exclusive == BTreeSet::from([true]),
                });
            }
        }
        if cluster.pools.is_empty() {
            cluster.pools.push(self.placeholder_pool());
        }
        Ok(cluster)
    }

    /// One node per zone of the Terway vSwitches, when no nodes are given.
    fn placeholder_pool(&self) -> Pool {
        let mut zones: Vec<String> = self
            .conf
            .vswitches
            .iter()
            .flatten()
            .filter(|(zone, ids)| {
                ids.iter().any(|id| {
                    self.described
                        .iter()
                        .any(|v| &v.id == id && &v.zone == *zone)
                })
            })
            .map(|(zone, _)| zone.clone())
            .collect();
        if zones.is_empty() {
            zones = self.described.iter().map(|v| v.zone.clone()).collect();
        }
        zones.sort();
        zones.dedup();
        let catalog = crate::catalog::builtin();
        let t = catalog.get(DEFAULT_INSTANCE_TYPE);
        Pool {
            name: "default".to_string(),
            name_source: "defaulted: no --nodes given; replace with your node pools".to_string(),
            instance_type: DEFAULT_INSTANCE_TYPE.to_string(),
            type_source: "defaulted: no --nodes given".to_string(),
            zones: zones.iter().map(|z| (z.clone(), 1)).collect(),
            node_vswitch: BTreeMap::new(),
            nodes: zones.len() as u64,
            max_pods: None,
            capacity: t.map_or(45, InstanceType::pod_capacity),
            vcpu: t.map_or(4, |t| t.vcpu),
            memory_mib: t.map_or(16 * 1024, |t| t.memory_mib),
            placeholder: true,
            terway_config: None,
            exclusive_eni: false,
        }
    }
}

/// How many times today's node capacity the workloads need at the horizon: the largest of the
/// CPU, memory and pod-count ratios (each workload's requests x its pods at the horizon, over
/// today's nodes' capacity).
pub(super) fn node_scale(
    cluster: &Cluster,
    workloads: &[Workload],
    curves: &[Vec<(Millis, f64)>],
    extra: Option<&Vec<(Millis, f64)>>,
) -> f64 {
    let last = |curve: &[(Millis, f64)]| curve.last().map_or(0.0, |p| p.1);
    let mut cpu = 0.0;
    let mut memory = 0.0;
    let mut pods = extra.map_or(0.0, |c| last(c));
    for (w, curve) in workloads.iter().zip(curves) {
        let n = last(curve);
        cpu += n * w.cpu_millis as f64;
        memory += n * (w.memory_bytes as f64 / (1 << 20) as f64);
        pods += n;
    }
    let (mut cpu_cap, mut memory_cap, mut pods_cap) = (0.0, 0.0, 0.0);
    for pool in &cluster.pools {
        let nodes = pool.nodes as f64;
        cpu_cap += nodes * f64::from(pool.vcpu) * 1000.0;
        memory_cap += nodes * pool.memory_mib as f64;
        pods_cap += nodes * f64::from(pool.max_pods.unwrap_or(pool.capacity));
    }
    let ratio = |need: f64, have: f64| if have > 0.0 { need / have } else { 0.0 };
    ratio(cpu, cpu_cap)
        .max(ratio(memory, memory_cap))
        .max(ratio(pods, pods_cap))
}

fn instance_type_from(
    row: &aliyun::InstanceTypeRow,
    path: &Path,
) -> Result<InstanceType, ImportError> {
    let bad = |what: String| {
        ImportError::new(
            path,
            format!(
                "instance type `{}` has {what}; expected the limits DescribeInstanceTypes prints",
                row.id
            ),
        )
    };
    if !(2..=64).contains(&row.eni_quantity) {
        return Err(bad(format!(
            "EniQuantity {}; Terway needs at least 2 ENIs (eth0 carries no pods) and no type has more than 64",
            row.eni_quantity
        )));
    }
    if !(1..=100).contains(&row.ipv4_per_eni) {
        return Err(bad(format!(
            "EniPrivateIpAddressQuantity {}",
            row.ipv4_per_eni
        )));
    }
    if !(1..=1024).contains(&row.vcpu) {
        return Err(bad(format!("CpuCoreCount {}", row.vcpu)));
    }
    if !(row.memory_gib > 0.0 && row.memory_gib <= 65536.0) {
        return Err(bad(format!("MemorySize {}", row.memory_gib)));
    }
    Ok(InstanceType {
        name: row.id.clone(),
        vcpu: row.vcpu as u32,
        memory_mib: (row.memory_gib * 1024.0).round() as u64,
        eni_quantity: row.eni_quantity as u32,
        ipv4_per_eni: row.ipv4_per_eni as u32,
    })
}
