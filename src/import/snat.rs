//! What `aliyun vpc DescribeSnatTableEntries` prints, and the `[vpc]` table it becomes.

use std::fmt::Write as _;

use ipnet::Ipv4Net;
use serde_json::Value;

use super::aliyun::parse_described_json;
use super::aliyun::what_it_is;
use super::emit::{kv, q};
use super::{Builder, ImportError, Input};
use crate::lint::Finding;

const EXPECTED: &str = "expected the JSON of `aliyun vpc DescribeSnatTableEntries --SnatTableId stb-... --PageSize 50 --pager`";

/// One entry of the SNAT table.
#[derive(Debug, Clone, PartialEq)]
pub struct SnatRow {
    /// Its index in `SnatTableEntries.SnatTableEntry`, for the comment.
    pub index: usize,
    /// `SnatEntryId`.
    pub id: Option<String>,
    /// `SnatTableId`.
    pub table_id: Option<String>,
    /// `SourceVSwitchId`.
    pub source_vswitch_id: Option<String>,
    /// `SourceCIDR`.
    pub source_cidr: Option<Ipv4Net>,
    /// `SnatIp`.
    pub snat_ip: Option<String>,
    /// `Status`.
    pub status: Option<String>,
}

/// The SNAT table as listed.
#[derive(Debug, Clone, PartialEq)]
pub struct SnatListing {
    /// The entries that are there or on their way (`Deleting` ones are left out).
    pub rows: Vec<SnatRow>,
    /// Entries left out because they are being deleted.
    pub deleting: usize,
}

/// `{"SnatTableEntries": {"SnatTableEntry": [...]}, "TotalCount": n, ...}`.
pub fn entries(input: &Input, findings: &mut Vec<Finding>) -> Result<SnatListing, ImportError> {
    let value = parse_described_json(input, EXPECTED)?;
    let Some(list) = value
        .get("SnatTableEntries")
        .and_then(|v| v.get("SnatTableEntry"))
        .and_then(Value::as_array)
    else {
        let hint = if value.get("NatGateways").is_some() {
            ": take a SnatTableIds value from it and list that table's entries"
        } else {
            ""
        };
        return Err(ImportError::new(
            input.path,
            format!(
                "{}, not SnatTableEntries.SnatTableEntry{hint}; {EXPECTED}",
                what_it_is(&value)
            ),
        ));
    };
    let mut rows = Vec::with_capacity(list.len());
    let mut deleting = 0;
    for (index, entry) in list.iter().enumerate() {
        let at = |message: String| {
            ImportError::new(
                input.path,
                format!("SnatTableEntries.SnatTableEntry[{index}] {message}; {EXPECTED}"),
            )
        };
        if !entry.is_object() {
            return Err(at("is not an object".to_string()));
        }
        let text = |key: &str| {
            entry
                .get(key)
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let source_cidr = match text("SourceCIDR") {
            Some(cidr) => Some(
                cidr.parse::<Ipv4Net>()
                    .map_err(|_| at(format!("has SourceCIDR `{cidr}`, not an IPv4 block")))?,
            ),
            None => None,
        };
        let source_vswitch_id = text("SourceVSwitchId");
        if source_vswitch_id.is_none() && source_cidr.is_none() {
            return Err(at("has neither SourceVSwitchId nor SourceCIDR".to_string()));
        }
        let status = text("Status");
        if status.as_deref() == Some("Deleting") {
            deleting += 1;
            continue;
        }
        rows.push(SnatRow {
            index,
            id: text("SnatEntryId"),
            table_id: text("SnatTableId"),
            source_vswitch_id,
            source_cidr,
            snat_ip: text("SnatIp"),
            status,
        });
    }
    let total = value.get("TotalCount").and_then(|v| {
        v.as_u64()
            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
    });
    if let Some(total) = total
        && total > list.len() as u64
    {
        findings.push(
            Finding::new(
                "import-partial-listing",
                "TotalCount",
                format!(
                    "the listing has {} of {total} SNAT entries (one page); vSwitches covered by entries on other pages look uncovered",
                    list.len()
                ),
                "list them all: `aliyun vpc DescribeSnatTableEntries --SnatTableId stb-... --PageSize 50 --pager`",
            )
            .in_file(input.path),
        );
    }
    Ok(SnatListing { rows, deleting })
}

impl Builder<'_, '_> {
    /// `[vpc]` with the SNAT table, when one was given.
    pub(super) fn emit_snat(&self, out: &mut String) -> std::fmt::Result {
        let (Some(input), Some(listing)) = (&self.sources.snat_entries, self.snat) else {
            return Ok(());
        };
        writeln!(out, "[vpc]")?;
        writeln!(
            out,
            "# SNAT table: {} (DescribeSnatTableEntries)",
            input.path.display()
        )?;
        let mut tables: Vec<&str> = Vec::new();
        for row in &listing.rows {
            if let Some(table) = row.table_id.as_deref()
                && !tables.contains(&table)
            {
                tables.push(table);
            }
        }
        if let Some(first) = tables.first() {
            let comment = if tables.len() == 1 {
                "the entries' SnatTableId".to_string()
            } else {
                format!(
                    "the first entry's SnatTableId (the listing also has {})",
                    tables[1..].join(", ")
                )
            };
            kv(out, "snat_table_id", &q(first), &comment)?;
        }
        let left_out = if listing.deleting > 0 {
            format!("; {} being deleted left out", listing.deleting)
        } else {
            String::new()
        };
        if listing.rows.is_empty() {
            kv(
                out,
                "snat_entries",
                "[]",
                &format!(
                    "the listing has no entry{left_out}: no vSwitch's pods reach the internet through it"
                ),
            )?;
            writeln!(out)?;
            return Ok(());
        }
        writeln!(
            out,
            "snat_entries = [  # SnatTableEntries.SnatTableEntry{left_out}"
        )?;
        for row in &listing.rows {
            let mut fields = Vec::new();
            let mut from = Vec::new();
            if let Some(id) = &row.id {
                fields.push(format!("id = {}", q(id)));
                from.push("SnatEntryId");
            }
            if let Some(vswitch) = &row.source_vswitch_id {
                fields.push(format!("source_vswitch_id = {}", q(vswitch)));
                from.push("SourceVSwitchId");
            }
            if let Some(cidr) = &row.source_cidr {
                fields.push(format!("source_cidr = {}", q(&cidr.to_string())));
                from.push("SourceCIDR");
            }
            if let Some(ip) = &row.snat_ip {
                fields.push(format!("snat_ip = {}", q(ip)));
                from.push("SnatIp");
            }
            let status = row
                .status
                .as_deref()
                .map(|s| format!(", Status {s}"))
                .unwrap_or_default();
            writeln!(out, "  # [{}]: {}{status}", row.index, from.join(", "))?;
            writeln!(out, "  {{ {} }},", fields.join(", "))?;
        }
        writeln!(out, "]")?;
        writeln!(out)?;
        Ok(())
    }
}
