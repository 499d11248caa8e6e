//! `[vpc]` blocks and vSwitches, those of `[[vswitch]]` and those added by actions: ids, blocks,
//! overlaps, zones.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;

use ipnet::Ipv4Net;

use super::Checker;
use crate::scenario::file::{ScenarioFile, VSwitchEntry};
use crate::scenario::{
    MAX_VSWITCH_PREFIX, MIN_VSWITCH_PREFIX, Millis, NodePoolSpec, ScenarioError, SnatEntry,
    SnatTable, VSwitchSpec, usable_addresses,
};

const VPC_PREFIXES: RangeInclusive<u8> = 8..=28;
const VSWITCH_PREFIXES: RangeInclusive<u8> = MIN_VSWITCH_PREFIX..=MAX_VSWITCH_PREFIX;
/// `CreateVSwitchCidrReservation`: at most this many IPv4 reservations per vSwitch.
const MAX_RESERVATIONS: usize = 10;

/// A vSwitch as written, with where it was written.
pub(super) struct VSwitchSource<'a> {
    /// `vswitch[0]` or `action[3].add_vswitch`.
    pub(super) key: String,
    pub(super) entry: &'a VSwitchEntry,
    pub(super) created_at_ms: Option<Millis>,
}

/// The vSwitches once resolved, for name look-ups.
pub(super) struct VSwitches<'a> {
    pub(super) specs: Vec<VSwitchSpec>,
    pub(super) keys: Vec<String>,
    pub(super) by_id: BTreeMap<&'a str, usize>,
    pub(super) ids: Vec<&'a str>,
}

/// Every vSwitch as written, `[[vswitch]]` first, then those of `add_vswitch` actions in file
/// order; and, by action index, where each action's vSwitch is in that list.
pub(super) fn vswitch_sources(
    raw: &ScenarioFile,
) -> (Vec<VSwitchSource<'_>>, BTreeMap<usize, usize>) {
    let mut sources: Vec<VSwitchSource> = raw
        .vswitch
        .iter()
        .enumerate()
        .map(|(i, entry)| VSwitchSource {
            key: format!("vswitch[{i}]"),
            entry,
            created_at_ms: None,
        })
        .collect();
    let mut added_vswitch = BTreeMap::new();
    for (i, action) in raw.action.iter().enumerate() {
        if let Some(entry) = &action.add_vswitch {
            added_vswitch.insert(i, sources.len());
            sources.push(VSwitchSource {
                key: format!("action[{i}].add_vswitch"),
                entry,
                created_at_ms: Some(action.at.0),
            });
        }
    }
    (sources, added_vswitch)
}

impl Checker<'_> {
    /// An IPv4 block with its mask in `prefixes`; `what` names it in messages.
    fn cidr(
        &self,
        key: &str,
        text: &str,
        prefixes: RangeInclusive<u8>,
        what: &str,
    ) -> Result<Ipv4Net, ScenarioError> {
        let net: Ipv4Net = text.trim().parse().map_err(|_| {
            if text.contains('/') {
                self.err(
                    key,
                    format!("`{text}` is not an IPv4 CIDR block such as \"10.0.0.0/24\""),
                )
            } else {
                self.err(
                    key,
                    format!("`{text}` has no mask; write a block such as \"10.0.0.0/24\""),
                )
            }
        })?;
        if net.trunc() != net {
            return Err(self.err(
                key,
                format!("`{text}` has host bits set; the block is `{}`", net.trunc()),
            ));
        }
        if !prefixes.contains(&net.prefix_len()) {
            return Err(self.err(
                key,
                format!(
                    "mask /{} is outside /{}../{} that Alibaba Cloud allows for {what}",
                    net.prefix_len(),
                    prefixes.start(),
                    prefixes.end()
                ),
            ));
        }
        Ok(net)
    }

    pub(super) fn vpc(&self, raw: &ScenarioFile) -> Result<Vec<Ipv4Net>, ScenarioError> {
        let Some(vpc) = &raw.vpc else {
            return Ok(Vec::new());
        };
        let mut blocks = Vec::new();
        match &vpc.cidr {
            Some(cidr) => blocks.push(self.cidr("vpc.cidr", cidr, VPC_PREFIXES, "a VPC block")?),
            None if !vpc.secondary_cidrs.is_empty() => {
                return Err(self.err(
                    "vpc.cidr",
                    "secondary_cidrs need the primary `cidr` of the VPC",
                ));
            }
            None => {}
        }
        for (i, cidr) in vpc.secondary_cidrs.iter().enumerate() {
            let key = format!("vpc.secondary_cidrs[{i}]");
            let block = self.cidr(&key, cidr, VPC_PREFIXES, "a VPC block")?;
            if let Some(other) = blocks.iter().find(|other| overlaps(other, &block)) {
                return Err(self.err(&key, format!("{block} overlaps the VPC block {other}")));
            }
            blocks.push(block);
        }
        Ok(blocks)
    }

    /// `[vpc] snat_table_id` and `snat_entries`. An entry may name a vSwitch the scenario does
    /// not have: the table serves the whole VPC, and the cluster is often a part of it.
    pub(super) fn snat(&self, raw: &ScenarioFile) -> Result<Option<SnatTable>, ScenarioError> {
        let Some(vpc) = &raw.vpc else {
            return Ok(None);
        };
        if let Some(table) = &vpc.snat_table_id {
            self.not_empty("vpc.snat_table_id", table, "the SNAT table id")?;
        }
        let Some(rows) = &vpc.snat_entries else {
            if vpc.snat_table_id.is_some() {
                return Err(self.err(
                    "vpc.snat_table_id",
                    "the SNAT table needs its entries: add `snat_entries = [...]` (`[]` when it has none), from `planner import --snat-entries`",
                ));
            }
            return Ok(None);
        };
        let mut entries = Vec::with_capacity(rows.len());
        for (i, row) in rows.iter().enumerate() {
            let key = format!("vpc.snat_entries[{i}]");
            for (name, value) in [
                ("id", &row.id),
                ("source_vswitch_id", &row.source_vswitch_id),
                ("snat_ip", &row.snat_ip),
            ] {
                if let Some(value) = value {
                    self.not_empty(&format!("{key}.{name}"), value, name)?;
                }
            }
            let source_cidr = match &row.source_cidr {
                Some(text) => Some(self.cidr(
                    &format!("{key}.source_cidr"),
                    text,
                    0..=32,
                    "an SNAT source",
                )?),
                None => None,
            };
            if row.source_vswitch_id.is_none() && source_cidr.is_none() {
                return Err(self.err(
                    &key,
                    "an SNAT entry needs `source_vswitch_id` or `source_cidr` (SourceVSwitchId, SourceCIDR) to say what it covers",
                ));
            }
            entries.push(SnatEntry {
                id: row.id.clone(),
                source_vswitch_id: row.source_vswitch_id.clone(),
                source_cidr,
                snat_ip: row.snat_ip.clone(),
            });
        }
        Ok(Some(SnatTable {
            table_id: vpc.snat_table_id.clone(),
            entries,
        }))
    }

    /// Ids, zones, blocks and overlaps of every vSwitch, those added by actions included.
    pub(super) fn vswitch_entries(
        &self,
        sources: &[VSwitchSource],
        vpc: &[Ipv4Net],
    ) -> Result<(), ScenarioError> {
        let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
        let mut blocks: Vec<(Ipv4Net, &VSwitchSource)> = Vec::new();
        for source in sources {
            let entry = source.entry;
            let id_key = format!("{}.id", source.key);
            self.not_empty(&id_key, &entry.id, "a vSwitch id")?;
            if let Some(other) = seen.insert(&entry.id, &source.key) {
                return Err(self.err(
                    id_key,
                    format!("duplicate vSwitch id `{}` (also {other})", entry.id),
                ));
            }
            self.not_empty(&format!("{}.zone", source.key), &entry.zone, "a zone name")?;
            let cidr_key = format!("{}.cidr", source.key);
            let block = self.cidr(&cidr_key, &entry.cidr, VSWITCH_PREFIXES, "a vSwitch")?;
            if !vpc.is_empty() && !vpc.iter().any(|vpc_block| vpc_block.contains(&block)) {
                let list: Vec<String> = vpc.iter().map(Ipv4Net::to_string).collect();
                return Err(self.err(
                    cidr_key,
                    format!(
                        "{block} is outside the VPC blocks ({}); a vSwitch must lie inside one",
                        list.join(", ")
                    ),
                ));
            }
            blocks.push((block, source));
        }
        if let Some((later, earlier)) = first_overlap(&blocks) {
            let ((block, source), (other_block, other)) = (&blocks[later], &blocks[earlier]);
            return Err(self.err(
                format!("{}.cidr", source.key),
                format!(
                    "{block} of `{}` overlaps {other_block} of `{}` ({})",
                    source.entry.id, other.entry.id, other.key
                ),
            ));
        }
        Ok(())
    }

    /// The vSwitches in `sources` order, with their zones as indices into `zones`.
    pub(super) fn resolve_vswitches<'s>(
        &self,
        sources: &[VSwitchSource<'s>],
        zones: &[String],
    ) -> Result<VSwitches<'s>, ScenarioError> {
        let zone_index = |zone: &str| zones.binary_search_by(|z| z.as_str().cmp(zone)).ok();
        let mut vswitches = VSwitches {
            specs: Vec::with_capacity(sources.len()),
            keys: Vec::with_capacity(sources.len()),
            by_id: BTreeMap::new(),
            ids: Vec::new(),
        };
        for source in sources {
            let entry = source.entry;
            let cidr = self.cidr(
                &format!("{}.cidr", source.key),
                &entry.cidr,
                VSWITCH_PREFIXES,
                "a vSwitch",
            )?;
            let used_by_others = match entry.used_by_others {
                Some(used) => self.int(
                    &format!("{}.used_by_others", source.key),
                    used,
                    0..=i64::from(usable_addresses(cidr.prefix_len())),
                )?,
                None => 0,
            };
            let zone = zone_index(&entry.zone)
                .ok_or_else(|| self.err(format!("{}.zone", source.key), "unknown zone"))?;
            let cidr_reservations = self.cidr_reservations(&source.key, entry, cidr)?;
            vswitches
                .by_id
                .insert(entry.id.as_str(), vswitches.specs.len());
            vswitches.ids.push(entry.id.as_str());
            vswitches.keys.push(source.key.clone());
            vswitches.specs.push(VSwitchSpec {
                id: entry.id.clone(),
                zone,
                cidr,
                used_by_others,
                created_at_ms: source.created_at_ms,
                cidr_reservations,
            });
        }
        Ok(vswitches)
    }

    /// A vSwitch's reserved CIDR blocks, as the VPC accepts them (`CreateVSwitchCidrReservation`):
    /// at most 10, each inside the vSwitch, none overlapping another, none holding the vSwitch's
    /// first address or its last three.
    fn cidr_reservations(
        &self,
        key: &str,
        entry: &VSwitchEntry,
        vswitch: Ipv4Net,
    ) -> Result<Vec<Ipv4Net>, ScenarioError> {
        let Some(texts) = &entry.cidr_reservations else {
            return Ok(Vec::new());
        };
        let list_key = format!("{key}.cidr_reservations");
        if texts.len() > MAX_RESERVATIONS {
            return Err(self.err(
                format!("{list_key}[{MAX_RESERVATIONS}]"),
                format!(
                    "{} reserved blocks; a vSwitch holds at most {MAX_RESERVATIONS} IPv4 reservations",
                    texts.len()
                ),
            ));
        }
        let first = u32::from(vswitch.network());
        let last = u32::from(vswitch.broadcast());
        let mut blocks: Vec<Ipv4Net> = Vec::with_capacity(texts.len());
        for (i, text) in texts.iter().enumerate() {
            let block_key = format!("{list_key}[{i}]");
            let block = self.cidr(&block_key, text, 8..=28, "a reserved block of /28 prefixes")?;
            if !vswitch.contains(&block) {
                return Err(self.err(
                    block_key,
                    format!("`{block}` is not inside the vSwitch's block `{vswitch}`"),
                ));
            }
            let (start, end) = (u32::from(block.network()), u32::from(block.broadcast()));
            if start == first || end + 3 > last {
                return Err(self.err(
                    block_key,
                    format!(
                        "`{block}` holds the vSwitch's first address or one of its last three, which the VPC keeps for itself (first {}, last three from {})",
                        vswitch.network(),
                        std::net::Ipv4Addr::from(last - 2)
                    ),
                ));
            }
            if let Some((j, other)) = blocks
                .iter()
                .enumerate()
                .find(|(_, other)| other.contains(&block) || block.contains(*other))
            {
                return Err(self.err(
                    block_key,
                    format!("`{block}` overlaps `{other}` ({list_key}[{j}])"),
                ));
            }
            blocks.push(block);
        }
        Ok(blocks)
    }

    pub(super) fn idle_zone_warnings(
        &mut self,
        vswitches: &VSwitches,
        pools: &[NodePoolSpec],
        zones: &[String],
    ) {
        for (zone_index, zone) in zones.iter().enumerate() {
            let first = vswitches
                .specs
                .iter()
                .position(|spec| spec.zone == zone_index);
            let used = pools.iter().any(|pool| pool.zones.contains(&zone_index));
            if let (Some(first), false) = (first, used) {
                self.warn(
                    format!("{}.zone", vswitches.keys[first]),
                    format!("no node pool runs in zone `{zone}`; its vSwitches stay unused"),
                );
            }
        }
    }
}

/// An overlapping pair of blocks as (later, earlier) positions, the later one first in list
/// order. CIDR blocks are nested or disjoint, so a sweep in address order that keeps the block
/// reaching farthest finds every block that starts inside another: O(n log n), not O(n^2).
fn first_overlap<T>(blocks: &[(Ipv4Net, T)]) -> Option<(usize, usize)> {
    let mut sorted: Vec<usize> = (0..blocks.len()).collect();
    sorted.sort_by_key(|&i| {
        (
            u32::from(blocks[i].0.network()),
            blocks[i].0.prefix_len(),
            i,
        )
    });
    let mut reach: Option<usize> = None;
    let mut found: Option<(usize, usize)> = None;
    for i in sorted {
        let Some(holder) = reach else {
            reach = Some(i);
            continue;
        };
        let (block, held) = (&blocks[i].0, &blocks[holder].0);
        if block.network() <= held.broadcast() {
            let pair = (i.max(holder), i.min(holder));
            if found.is_none_or(|best| pair < best) {
                found = Some(pair);
            }
        }
        if block.broadcast() > held.broadcast() {
            reach = Some(i);
        }
    }
    found
}

fn overlaps(a: &Ipv4Net, b: &Ipv4Net) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;

    #[test]
    fn overlap_sweep_finds_nested_and_equal_blocks() {
        let nets = |list: &[&str]| -> Vec<(Ipv4Net, ())> {
            list.iter().map(|n| (n.parse().unwrap(), ())).collect()
        };
        assert_eq!(
            first_overlap(&nets(&["10.0.0.0/24", "10.0.1.0/24", "10.0.2.0/23"])),
            None
        );
        assert_eq!(
            first_overlap(&nets(&["10.0.1.0/24", "10.0.0.0/16"])),
            Some((1, 0))
        );
        assert_eq!(
            first_overlap(&nets(&["10.0.0.0/24", "10.0.0.0/24"])),
            Some((1, 0))
        );
        // 10.0.0.0/16 holds the sweep while 10.0.5.0/24 and 10.0.9.0/24 pass; both overlap it.
        assert_eq!(
            first_overlap(&nets(&[
                "10.1.0.0/24",
                "10.0.9.0/24",
                "10.0.0.0/16",
                "10.0.5.0/24"
            ])),
            Some((2, 1))
        );
        assert_eq!(
            first_overlap(&nets(&[
                "192.168.0.0/29",
                "192.168.0.8/29",
                "192.168.0.4/30"
            ])),
            Some((2, 0))
        );
    }

    #[test]
    fn cidr_errors_name_the_block() {
        expect(
            &edit("10.0.0.0/24", "10.0.0.300/24"),
            "vswitch[0].cidr",
            7,
            "`10.0.0.300/24` is not an IPv4 CIDR block",
        );
        expect(
            &edit("10.0.0.0/24", "10.0.0.0"),
            "vswitch[0].cidr",
            7,
            "has no mask",
        );
        expect(
            &edit("10.0.0.0/24", "10.0.0.5/24"),
            "vswitch[0].cidr",
            7,
            "host bits set; the block is `10.0.0.0/24`",
        );
        let err = fail(&edit("10.0.0.0/24", "10.0.0.0/30"));
        assert_eq!(
            err.to_string(),
            "dir/example.toml:7: vswitch[0].cidr: mask /30 is outside /16../29 that Alibaba Cloud allows for a vSwitch"
        );
        expect(
            &edit("10.0.0.0/24", "10.0.0.0/15"),
            "vswitch[0].cidr",
            7,
            "mask /15",
        );
        expect(
            &with("[vpc]\ncidr = \"10.0.0.0/30\"\n"),
            "vpc.cidr",
            18,
            "mask /30 is outside /8../28 that Alibaba Cloud allows for a VPC block",
        );
        expect(
            &with("[vpc]\ncidr = \"192.168.0.0/16\"\n"),
            "vswitch[0].cidr",
            7,
            "10.0.0.0/24 is outside the VPC blocks (192.168.0.0/16)",
        );
        // Inside a secondary block is fine.
        ok(&with(
            "[vpc]\ncidr = \"192.168.0.0/16\"\nsecondary_cidrs = [\"10.0.0.0/16\"]\n",
        ));
        expect(
            &with("[vpc]\ncidr = \"10.0.0.0/8\"\nsecondary_cidrs = [\"10.1.0.0/16\"]\n"),
            "vpc.secondary_cidrs[0]",
            19,
            "overlaps the VPC block 10.0.0.0/8",
        );
    }

    #[test]
    fn overlapping_and_duplicate_vswitches_are_refused() {
        let second = "[[vswitch]]\nid = \"vsw-b\"\nzone = \"z1\"\ncidr = \"10.0.0.128/25\"\n";
        let err = fail(&with(second));
        assert_eq!((err.key.as_str(), err.line), ("vswitch[1].cidr", Some(20)));
        assert!(
            err.message.contains("`vsw-b`") && err.message.contains("`vsw-a`"),
            "{err}"
        );

        expect(
            &with("[[vswitch]]\nid = \"vsw-a\"\nzone = \"z1\"\ncidr = \"10.0.1.0/24\"\n"),
            "vswitch[1].id",
            18,
            "duplicate vSwitch id `vsw-a` (also vswitch[0])",
        );
        // An added vSwitch overlapping a [[vswitch]] is caught too.
        let err = fail(&with(
            "[[action]]\nat = \"1d\"\nadd_vswitch = { id = \"vsw-n\", zone = \"z1\", cidr = \"10.0.0.0/16\" }\n",
        ));
        assert_eq!(
            (err.key.as_str(), err.line),
            ("action[0].add_vswitch.cidr", Some(19))
        );
        assert!(
            err.message.contains("overlaps 10.0.0.0/24 of `vsw-a`"),
            "{err}"
        );
        expect(
            &with(
                "[[vswitch]]\nid = \"vsw-b\"\nzone = \"z1\"\ncidr = \"10.0.1.0/24\"\nused_by_others = 253\n",
            ),
            "vswitch[1].used_by_others",
            21,
            "must be at most 252, got 253",
        );
        expect(
            &edit("zone = \"z1\"", "zone = \"\""),
            "vswitch[0].zone",
            6,
            "must not be empty",
        );
    }
}
