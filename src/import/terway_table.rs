//! The `[terway]` table: eni_conf's values, or Terway's code defaults with a note saying so.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::Builder;
use super::configmap::strip_comments;
use super::emit::{kv, number, q};
use crate::scenario::{Millis, SECOND_MS, format_duration};

/// Terway's own default when `ip_pool_sync_period` is unset or unreadable.
const TERWAY_SYNC_PERIOD_MS: Millis = 120 * SECOND_MS;

impl Builder<'_, '_> {
    pub(super) fn emit_terway(
        &self,
        out: &mut String,
        listed: &BTreeMap<String, Vec<String>>,
        missing: &[(String, String)],
    ) -> std::fmt::Result {
        let conf = self.conf;
        let file = self.sources.eni_config.path.display().to_string();
        writeln!(out, "[terway]")?;
        writeln!(
            out,
            "# From data.eni_conf in {file}; a key eni_conf lacks has Terway's code default."
        )?;
        let given = "eni_conf";
        let (policy, comment) = match &conf.vswitch_selection_policy {
            Some(p) => (p.clone(), given.to_string()),
            None => (
                "random".to_string(),
                "defaulted: not in eni_conf; Terway's default is random".to_string(),
            ),
        };
        match conf.ipam_type.as_deref() {
            Some("crd") => kv(
                out,
                "ipam_type",
                &q("crd"),
                "eni_conf: centralized IPAM, terway-controlplane allocates for every node",
            )?,
            _ => kv(
                out,
                "ipam_type",
                &q(""),
                "eni_conf has none: the daemon on each node allocates (Terway's code default; new ACK clusters run \"crd\")",
            )?,
        }
        kv(out, "vswitch_selection_policy", &q(&policy), &comment)?;
        let (policy, comment) = match &conf.eni_selection_policy {
            Some(p) => (p.clone(), given.to_string()),
            None => (
                "most_ips".to_string(),
                "defaulted: Terway's default".to_string(),
            ),
        };
        kv(out, "eni_selection_policy", &q(&policy), &comment)?;
        let count = |out: &mut String, key: &str, value: Option<i64>, default_note: &str| {
            let (v, note) = match value {
                Some(v) if v < 0 => (0, format!("eni_conf has {v}; read as 0")),
                Some(v) => (v, given.to_string()),
                None => (0, default_note.to_string()),
            };
            kv(out, key, &v.to_string(), &note)
        };
        count(
            out,
            "max_pool_size",
            conf.max_pool_size,
            "defaulted: not in eni_conf, so Terway keeps no idle addresses (its code default is 0; ACK ships 5)",
        )?;
        count(
            out,
            "min_pool_size",
            conf.min_pool_size,
            "defaulted: Terway's default",
        )?;
        count(
            out,
            "min_eni",
            conf.min_eni,
            "defaulted: Terway's default (off)",
        )?;
        count(
            out,
            "max_eni",
            conf.max_eni,
            "defaulted: Terway's default (no cap)",
        )?;
        let (period, note) = match &conf.ip_pool_sync_period {
            Some((_, Some(ms))) if *ms >= SECOND_MS => (*ms, given.to_string()),
            Some((text, Some(_))) => (
                SECOND_MS,
                format!("eni_conf has \"{text}\"; the scenario's shortest is 1s"),
            ),
            Some((text, None)) => (
                TERWAY_SYNC_PERIOD_MS,
                format!("eni_conf has \"{text}\", which Terway cannot read, so it uses 120s"),
            ),
            None => (
                TERWAY_SYNC_PERIOD_MS,
                "defaulted: Terway's default".to_string(),
            ),
        };
        kv(
            out,
            "ip_pool_sync_period",
            &q(&format_duration(period)),
            &note,
        )?;
        match conf.idle_ip_reclaim_after.filter(|&ms| ms > 0) {
            Some(after) => {
                kv(
                    out,
                    "idle_ip_reclaim_after",
                    &q(&format_duration(after.max(SECOND_MS))),
                    given,
                )?;
                if let Some(interval) = conf.idle_ip_reclaim_interval {
                    kv(
                        out,
                        "idle_ip_reclaim_interval",
                        &q(&format_duration(interval.max(SECOND_MS))),
                        given,
                    )?;
                }
                if let Some(batch) = conf.idle_ip_reclaim_batch_size.filter(|&b| b > 0) {
                    kv(out, "idle_ip_reclaim_batch_size", &batch.to_string(), given)?;
                }
                if let Some(jitter) = conf
                    .idle_ip_reclaim_jitter_factor
                    .filter(|j| (0.0..=10.0).contains(j))
                {
                    kv(out, "idle_ip_reclaim_jitter_factor", &number(jitter), given)?;
                }
            }
            None => writeln!(
                out,
                "# idle_ip_reclaim_after: not in eni_conf, so idle reclaim is off (Terway's default)"
            )?,
        }
        if let Some((on, comment)) = &self.pod_enis.trunking {
            kv(out, "enable_eni_trunking", &on.to_string(), comment)?;
        }
        writeln!(out)?;
        writeln!(out, "[terway.vswitches]")?;
        if conf.vswitches.is_none() {
            writeln!(
                out,
                "# eni_conf lists no vswitches: Terway gives pods addresses from each node's primary vSwitch"
            )?;
        }
        for (zone, ids) in listed {
            let list: Vec<String> = ids.iter().map(|id| q(id)).collect();
            let dropped: Vec<&str> = missing
                .iter()
                .filter(|(z, _)| z == zone)
                .map(|(_, id)| id.as_str())
                .collect();
            let note = if dropped.is_empty() {
                "eni_conf vswitches".to_string()
            } else {
                format!(
                    "eni_conf vswitches, less {} (not described in the vSwitch listing)",
                    dropped.join(", ")
                )
            };
            kv(out, &q(zone), &format!("[{}]", list.join(", ")), &note)?;
        }
        writeln!(out)
    }
}

impl Builder<'_, '_> {
    /// `[source] eni_conf`: the ConfigMap's JSON as written, so that the runbook's patch keeps
    /// every key of it, those the model ignores included (comments, which Terway cannot read,
    /// removed). One escaped line, so the text is kept to the byte.
    pub(super) fn emit_source(&self, out: &mut String) -> std::fmt::Result {
        let Some(text) = self.map.data.get("eni_conf") else {
            return Ok(());
        };
        let (text, note) = if serde_json::from_str::<serde_json::Value>(text).is_ok() {
            (text.clone(), "")
        } else {
            let (stripped, _) = strip_comments(text);
            if serde_json::from_str::<serde_json::Value>(&stripped).is_err() {
                return Ok(());
            }
            (stripped, ", its comments removed")
        };
        writeln!(out, "[source]")?;
        kv(
            out,
            "eni_conf",
            &q(&text),
            &format!(
                "data.eni_conf as the ConfigMap holds it{note}: the runbook's eni-config patch keeps every key of it"
            ),
        )?;
        writeln!(out)
    }
}

impl Builder<'_, '_> {
    /// A node pool's `terway = { ... }`: the keys its dynamic config (`terway-config`) gives, in
    /// the scenario's names. vSwitches the describe output lacks are left out (with a finding,
    /// as for eni-config); prefix keys only under centralized IPAM, where Terway reads them.
    pub(super) fn pool_terway(&mut self, pool: &str, config: &str) -> Option<(String, String)> {
        let Some((path, conf)) = self.dynamic_configs.get(config) else {
            let file = self
                .sources
                .nodes
                .as_ref()
                .map_or(self.sources.eni_config.path, |n| n.path);
            self.findings.push(
                crate::lint::Finding::new(
                    "import-terway-config-missing",
                    "metadata.labels.terway-config",
                    format!(
                        "the nodes of pool `{pool}` run Terway config `{config}` (their terway-config label), which no --eni-config file holds; the pool gets eni-config's settings"
                    ),
                    format!(
                        "add --eni-config with `kubectl -n kube-system get cm {config} -o yaml` (or all of kube-system's ConfigMaps: `kubectl -n kube-system get cm -o yaml`)"
                    ),
                )
                .in_file(file),
            );
            return None;
        };
        let mut entries: Vec<String> = Vec::new();
        if let Some(map) = &conf.vswitches {
            let known = |id: &String| self.described.iter().any(|v| &v.id == id);
            let zones: Vec<String> = map
                .iter()
                .map(|(zone, ids)| {
                    let ids: Vec<String> =
                        ids.iter().filter(|id| known(id)).map(|id| q(id)).collect();
                    format!("{} = [{}]", q(zone), ids.join(", "))
                })
                .collect();
            entries.push(format!("vswitches = {{ {} }}", zones.join(", ")));
        }
        let text = |entries: &mut Vec<String>, key: &str, value: &Option<String>| {
            if let Some(value) = value {
                entries.push(format!("{key} = {}", q(value)));
            }
        };
        let int = |entries: &mut Vec<String>, key: &str, value: Option<i64>| {
            if let Some(value) = value {
                entries.push(format!("{key} = {}", value.max(0)));
            }
        };
        text(
            &mut entries,
            "vswitch_selection_policy",
            &conf.vswitch_selection_policy,
        );
        text(
            &mut entries,
            "eni_selection_policy",
            &conf.eni_selection_policy,
        );
        int(&mut entries, "max_pool_size", conf.max_pool_size);
        int(&mut entries, "min_pool_size", conf.min_pool_size);
        int(&mut entries, "min_eni", conf.min_eni);
        int(&mut entries, "max_eni", conf.max_eni);
        if let Some((_, Some(ms))) = &conf.ip_pool_sync_period {
            entries.push(format!(
                "ip_pool_sync_period = {}",
                q(&format_duration(*ms))
            ));
        }
        if let Some(ms) = conf.idle_ip_reclaim_after {
            entries.push(format!(
                "idle_ip_reclaim_after = {}",
                q(&format_duration(ms))
            ));
        }
        if let Some(ipam) = &conf.ipam_type {
            entries.push(format!("ipam_type = {}", q(ipam)));
        }
        let centralized =
            conf.ipam_type.as_deref().or(self.conf.ipam_type.as_deref()) == Some("crd");
        if conf.enable_ip_prefix == Some(true) {
            if centralized {
                entries.push("enable_ip_prefix = true".to_string());
                int(&mut entries, "ipv4_prefix_count", conf.ipv4_prefix_count);
            } else {
                self.findings.push(
                    crate::lint::Finding::new(
                        "eni-conf-unmodelled",
                        "data.eni_conf",
                        format!(
                            "Terway config `{config}` turns on enable_ip_prefix, which works only with ipam_type \"crd\"; Terway ignores it here, and so does the scenario"
                        ),
                        "set ipam_type to \"crd\" (Terway v1.17.1+) for prefix mode, or remove enable_ip_prefix",
                    )
                    .in_file(path),
                );
            }
        }
        Some((
            format!("{{ {} }}", entries.join(", ")),
            format!(
                "ConfigMap kube-system/{config} (the nodes' terway-config label), merged over eni-config"
            ),
        ))
    }
}
