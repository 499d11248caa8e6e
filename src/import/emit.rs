//! The scenario as commented TOML: a header naming the inputs, then each table with a comment
//! on every value saying where it came from, or that it was defaulted and why.

use std::fmt::Write as _;

use super::growth::compound_step;
use super::nodepools::node_scale;
use super::vswitches::Selection;
use super::workloads::kind_name;
use super::{Builder, Cluster, Curves, Growth, Kind, Workload, Workloads};
use crate::scenario::{Millis, format_duration};

/// Most nodes the scenario accepts for one pool.
const MAX_NODES: u64 = 100_000;
/// How full the autoscaler ceiling lets the nodes get at the horizon: requests never pack
/// nodes perfectly.
const TARGET_FILL: f64 = 0.8;
/// Job pods are imported as arrivals of this mean run time (Little's law keeps today's count).
const JOB_DURATION_MS: Millis = 3_600_000;

impl Builder<'_, '_> {
    /// The scenario as TOML text.
    pub(super) fn emit(
        &mut self,
        cluster: &Cluster,
        workloads: &Workloads,
        curves: &Curves,
    ) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = self.emit_into(&mut out, cluster, workloads, curves);
        out
    }

    fn emit_into(
        &mut self,
        out: &mut String,
        cluster: &Cluster,
        workloads: &Workloads,
        (curves, extra): &Curves,
    ) -> std::fmt::Result {
        let mut selection = self.select_vswitches(cluster);
        self.include_podnetworking_vswitches(&mut selection);
        self.emit_header(out, cluster, workloads, &selection)?;
        self.emit_snat(out)?;
        self.emit_vswitches(out, cluster, workloads, &selection)?;
        self.emit_terway(out, &selection.listed, &selection.missing)?;
        self.emit_instance_types(out, cluster)?;
        self.emit_eni_total_tables(out, cluster)?;
        self.emit_podnetworkings(out)?;
        self.emit_nodepools(out, cluster, &workloads.list, curves, extra.as_ref())?;
        self.emit_workloads(out, &workloads.list, curves, extra.as_ref())?;
        self.emit_source(out)
    }

    /// The comment naming the inputs, and `[scenario]`.
    fn emit_header(
        &self,
        out: &mut String,
        cluster: &Cluster,
        workloads: &Workloads,
        selection: &Selection,
    ) -> std::fmt::Result {
        let opts = self.options;
        let src = self.sources;
        let horizon = format_duration(opts.horizon_ms);
        let name = opts
            .output
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .filter(|s| !s.trim().is_empty() && s != "-")
            .unwrap_or_else(|| "imported".to_string());
        let included = &selection.included;

        writeln!(
            out,
            "# Imported by `planner import`: today's cluster, then the growth below."
        )?;
        writeln!(out, "#")?;
        writeln!(
            out,
            "#   Terway config:  {} (ConfigMap {}/{}, data.eni_conf)",
            src.eni_config.path.display(),
            or(&self.map.namespace, "?"),
            or(&self.map.name, "?")
        )?;
        writeln!(
            out,
            "#   vSwitches:      {} (DescribeVSwitches: {} listed, {} used here)",
            src.vswitches.path.display(),
            self.described.len(),
            included.len()
        )?;
        match &src.nodes {
            Some(nodes) => writeln!(
                out,
                "#   nodes:          {} ({} nodes in {} pools{})",
                nodes.path.display(),
                cluster.node_count,
                cluster.pools.len(),
                if cluster.skipped_nodes.is_empty() {
                    String::new()
                } else {
                    format!(", {} left out", cluster.skipped_nodes.len())
                }
            )?,
            None => writeln!(
                out,
                "#   nodes:          none given (--nodes): a placeholder pool of one node per zone"
            )?,
        }
        match &src.pods {
            Some(input) => writeln!(
                out,
                "#   pods:           {} ({} pods take a Terway address; left out: {} host-network, {} finished, {} terminating, {} on left-out nodes)",
                input.path.display(),
                workloads.taking,
                workloads.host_network,
                workloads.finished,
                workloads.terminating,
                workloads.on_skipped_nodes
            )?,
            None => writeln!(
                out,
                "#   pods:           none given (--pods): no workloads from today's pods"
            )?,
        }
        match &src.instance_types {
            Some(types) => writeln!(
                out,
                "#   instance types: {} (DescribeInstanceTypes) and the built-in catalog",
                types.path.display()
            )?,
            None => writeln!(
                out,
                "#   instance types: the built-in catalog (`planner catalog`)"
            )?,
        }
        if let (Some(input), Some(listing)) = (&src.snat_entries, self.snat) {
            writeln!(
                out,
                "#   SNAT table:     {} (DescribeSnatTableEntries: {} entries{})",
                input.path.display(),
                listing.rows.len(),
                if listing.deleting > 0 {
                    format!(", {} being deleted left out", listing.deleting)
                } else {
                    String::new()
                }
            )?;
        }
        if let Some(mapping) = self.mapping {
            let files: Vec<String> = src
                .terway_mapping
                .iter()
                .map(|input| input.path.display().to_string())
                .collect();
            writeln!(
                out,
                "#   Terway pools:   {} (terway-cli mapping: {} nodes, {} idle addresses)",
                files.join(", "),
                mapping.nodes.len(),
                mapping.idle()
            )?;
        }
        self.podnetworking_header(out)?;
        let growth_line = match opts.growth {
            Growth::None => "none given: every workload keeps today's pods (give --growth-per-day or --growth-percent-per-day)".to_string(),
            Growth::PerDay(n) => format!(
                "{} pods/day cluster-wide (--growth-per-day), linear, shared among the workloads in proportion to their pods today (DaemonSets excluded)",
                number(n)
            ),
            Growth::PercentPerDay(p) => format!(
                "{}% per day per workload (--growth-percent-per-day), compounded daily; points every {} with straight lines between (slightly above the curve)",
                number(p),
                format_duration(compound_step(opts.horizon_ms))
            ),
        };
        let growth_line = match self.history {
            Some((fits, _)) => format!("{}\n{}", fits.header_line(), fits.fit_lines()),
            None => growth_line,
        };
        writeln!(out, "#   growth:         {}", growth_line.trim_end())?;
        writeln!(out, "#")?;
        writeln!(
            out,
            "# Check it with `planner check`, then `planner run` it."
        )?;
        writeln!(out)?;

        writeln!(out, "[scenario]")?;
        kv(out, "name", &q(&name), "the output file's name")?;
        kv(out, "horizon", &q(&horizon), "--horizon (default 90d)")?;
        kv(
            out,
            "runs",
            "10",
            "defaulted: 10 seeded runs (`planner run --runs N` overrides)",
        )?;
        kv(out, "seed", "1", "defaulted")?;
        if self.history.is_some() {
            kv(
                out,
                "history",
                &q(&super::history_file_name(&opts.output)),
                "the points the growth was fitted to (time,series,value), drawn in pods.png",
            )?;
        }
        writeln!(out)?;
        Ok(())
    }

    /// `[instance_type."..."]` for the types the catalog lacks or gets wrong.
    fn emit_instance_types(&self, out: &mut String, cluster: &Cluster) -> std::fmt::Result {
        for (t, why) in &cluster.instance_tables {
            writeln!(out, "[instance_type.{}]", q(&t.name))?;
            writeln!(out, "# {why}")?;
            kv(out, "vcpu", &t.vcpu.to_string(), "CpuCoreCount")?;
            kv(
                out,
                "memory_gib",
                &number(t.memory_mib as f64 / 1024.0),
                "MemorySize",
            )?;
            kv(
                out,
                "eni_quantity",
                &t.eni_quantity.to_string(),
                "EniQuantity (eth0 included)",
            )?;
            kv(
                out,
                "ipv4_per_eni",
                &t.ipv4_per_eni.to_string(),
                &format!(
                    "EniPrivateIpAddressQuantity; pods per node (ENIs - 1) x {} = {}",
                    t.ipv4_per_eni,
                    t.pod_capacity()
                ),
            )?;
            self.emit_eni_total(out, &t.name)?;
            writeln!(out)?;
        }
        Ok(())
    }

    /// `[[nodepool]]`; the autoscaler's ceiling follows the growth.
    fn emit_nodepools(
        &mut self,
        out: &mut String,
        cluster: &Cluster,
        workloads: &[Workload],
        curves: &[Vec<(Millis, f64)>],
        extra: Option<&Vec<(Millis, f64)>>,
    ) -> std::fmt::Result {
        let opts = self.options;
        let scale = node_scale(cluster, workloads, curves, extra);
        for pool in &cluster.pools {
            writeln!(out, "[[nodepool]]")?;
            kv(out, "name", &q(&pool.name), &pool.name_source)?;
            kv(
                out,
                "instance_type",
                &q(&pool.instance_type),
                &pool.type_source,
            )?;
            let zone_list: Vec<String> = pool.zones.iter().map(|(z, _)| q(z)).collect();
            let counts: Vec<String> = pool
                .zones
                .iter()
                .map(|(z, n)| format!("{n} in {z}"))
                .collect();
            let zones_comment = if pool.placeholder {
                "defaulted: the zones of eni_conf's vSwitches".to_string()
            } else {
                format!("nodes' zone labels: {}", counts.join(", "))
            };
            kv(
                out,
                "zones",
                &format!("[{}]", zone_list.join(", ")),
                &zones_comment,
            )?;
            if !pool.node_vswitch.is_empty() {
                let entries: Vec<String> = pool
                    .node_vswitch
                    .iter()
                    .map(|(z, &v)| format!("{} = {}", q(z), q(&self.described[v].id)))
                    .collect();
                kv(
                    out,
                    "node_vswitch",
                    &format!("{{ {} }}", entries.join(", ")),
                    "the vSwitch holding most of the nodes' InternalIP",
                )?;
            }
            let nodes_comment = if pool.placeholder {
                "defaulted: one per zone"
            } else {
                "today's nodes"
            };
            kv(out, "nodes", &pool.nodes.to_string(), nodes_comment)?;
            kv(
                out,
                "min_nodes",
                &pool.nodes.to_string(),
                "defaulted: today's nodes (kubectl does not show the autoscaler's limits)",
            )?;
            let grows = !matches!(opts.growth, Growth::None) || self.history.is_some();
            let max_nodes = if grows {
                ((pool.nodes as f64) * scale / TARGET_FILL)
                    .ceil()
                    .min(MAX_NODES as f64) as u64
            } else {
                pool.nodes
            };
            let max_nodes = max_nodes.max(pool.nodes);
            let max_comment = if grows {
                format!(
                    "defaulted: kubectl does not show the autoscaler's limits; enough nodes for the pods' requests at the horizon ({:.1}x today's load) at {:.0}% full; set your pool's real maximum",
                    scale,
                    TARGET_FILL * 100.0
                )
            } else {
                "defaulted: today's nodes, as the pods do not grow; set your pool's real maximum"
                    .to_string()
            };
            kv(out, "max_nodes", &max_nodes.to_string(), &max_comment)?;
            kv(
                out,
                "boot_time",
                &q("2m"),
                "defaulted: ACK node pools take about 2 minutes to a Ready node",
            )?;
            if let Some(max_pods) = pool.max_pods {
                kv(
                    out,
                    "max_pods",
                    &max_pods.to_string(),
                    &format!(
                        "nodes' status.capacity.pods (the type's Terway capacity is {})",
                        pool.capacity
                    ),
                )?;
            }
            if let Some(config) = &pool.terway_config
                && let Some((table, comment)) = self.pool_terway(&pool.name, config)
            {
                kv(out, "terway", &table, &comment)?;
            }
            if pool.exclusive_eni && !self.pod_enis.not_exclusive.contains(&pool.name) {
                kv(
                    out,
                    "exclusive_eni",
                    "true",
                    "nodes' label k8s.aliyun.com/exclusive-mode-eni-type: eniOnly (an ENI per pod)",
                )?;
            }
            writeln!(out)?;
        }
        Ok(())
    }

    /// `[[workload]]`, and a `growth` workload when no pod takes a share of the growth.
    fn emit_workloads(
        &self,
        out: &mut String,
        workloads: &[Workload],
        curves: &[Vec<(Millis, f64)>],
        extra: Option<&Vec<(Millis, f64)>>,
    ) -> std::fmt::Result {
        let opts = self.options;
        let horizon = format_duration(opts.horizon_ms);
        for (i, (w, curve)) in workloads.iter().zip(curves.iter()).enumerate() {
            let fitted = self.history.and_then(|(_, grown)| grown[i].as_ref());
            writeln!(out, "[[workload]]")?;
            kv(out, "name", &q(&w.name), &w.source)?;
            kv(out, "kind", &q(kind_name(w.kind)), "from the pods' owner")?;
            if let Some(pool) = &w.nodepool {
                kv(
                    out,
                    "nodepool",
                    &q(pool),
                    "the pods' nodeSelector alibabacloud.com/nodepool-id",
                )?;
            }
            kv(
                out,
                "cpu",
                &q(&format!("{}m", w.cpu_millis.min(1_024_000))),
                "largest pod request: containers summed (or the largest init container)",
            )?;
            let mib = w.memory_bytes.div_ceil(1 << 20).min(65536 * 1024);
            kv(
                out,
                "memory",
                &q(&format!("{mib}Mi")),
                "the same for memory",
            )?;
            let today = format!("{} pod{} today", w.pods, if w.pods == 1 { "" } else { "s" });
            let growth = match (opts.growth, curve.len()) {
                (_, 1) if w.kind == Kind::DaemonSet => {
                    format!("{today}; a DaemonSet does not follow the growth")
                }
                (Growth::None, _) => format!("{today}; no growth given"),
                (_, 1) => format!("{today}; no share of the growth"),
                (Growth::PerDay(_), _) => {
                    format!("{today}, plus its share of the growth by {horizon}")
                }
                (Growth::PercentPerDay(p), _) => format!("{today}, x (1 + {}%)^days", number(p)),
            };
            let growth = fitted.map_or(growth, |f| f.comment.clone());
            if w.kind == Kind::Job {
                kv(
                    out,
                    "arrivals_per_hour",
                    &points(curve),
                    &format!(
                        "{today}: with a mean run of 1h, as many arrivals per hour keep that many running; {}",
                        growth
                            .trim_start_matches(&format!("{today}; "))
                            .trim_start_matches(&format!("{today}, "))
                    ),
                )?;
                kv(
                    out,
                    "duration",
                    &q(&format_duration(JOB_DURATION_MS)),
                    "defaulted: a snapshot shows no run times",
                )?;
            } else {
                kv(out, "replicas", &points(curve), &growth)?;
            }
            if let Some((swing, comment)) = fitted.and_then(|f| f.swing.as_ref()) {
                kv(out, "daily_swing", &number(*swing), comment)?;
            }
            if let Some((name, comment)) = self.pod_enis.workloads.get(&i) {
                kv(out, "podnetworking", &q(name), comment)?;
            }
            writeln!(out)?;
        }
        if let Some(curve) = &extra {
            writeln!(out, "[[workload]]")?;
            kv(
                out,
                "name",
                &q("growth"),
                "no pods today to share the growth: new pods with no requests",
            )?;
            kv(out, "kind", &q("deployment"), "defaulted")?;
            kv(out, "replicas", &points(curve), "the growth given")?;
            writeln!(out)?;
        }
        if workloads.is_empty() && extra.is_none() {
            writeln!(
                out,
                "# No workloads: give --pods (kubectl get pods -A -o json) or a growth, or add [[workload]] entries."
            )?;
        }
        Ok(())
    }
}

pub(super) fn points(curve: &[(Millis, f64)]) -> String {
    if curve.len() == 1 {
        return number(curve[0].1);
    }
    let parts: Vec<String> = curve
        .iter()
        .map(|&(t, v)| {
            let at = if t == 0 {
                "0d".to_string()
            } else {
                format_duration(t)
            };
            format!("[{}, {}]", q(&at), number(v))
        })
        .collect();
    format!("[{}]", parts.join(", "))
}

/// A number as TOML: integers without a fraction.
pub(super) fn number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else {
        format!("{value}")
    }
}

pub(super) fn or<'s>(value: &'s str, fallback: &'s str) -> &'s str {
    if value.is_empty() { fallback } else { value }
}

/// A TOML basic string.
pub(super) fn q(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `key = value  # comment`, the comments aligned.
pub(super) fn kv(out: &mut String, key: &str, value: &str, comment: &str) -> std::fmt::Result {
    let assignment = format!("{key} = {value}");
    let comment: String = comment
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if comment.is_empty() {
        writeln!(out, "{assignment}")
    } else {
        writeln!(out, "{assignment:<30} # {comment}")
    }
}
