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
