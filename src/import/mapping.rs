//! What `terway-cli mapping` prints inside a node's Terway pod: the addresses its pools hold,
//! and which of them no pod uses (idle). Two shapes, both read:
//!
//! - Terway v1.7 and later print a tree per ENI (`cmd/terway-cli/cmd.go`, `runMapping`): an
//!   `ENI: eni-...` root with `MAC`, `Status`, `Type` and `IPs`, one line per address
//!   (`ADDRESS  POD  STATUS`, the pod empty when the address is idle, so the line has two
//!   words), then a `Resource DB (N entries)` tree.
//! - Terway before v1.7 prints a table, `Status | Pod Name | Res ID | Factory Res ID`, one row
//!   per address: `Normal` (a pod uses it), `Idle`, or `ERROR` (the daemon's three views
//!   disagree). A Res ID is `MAC.ADDRESS` (`MAC.IPV4-IPV6` in dual stack); the factory's is
//!   what ECS holds, so it is the one read.
//!
//! A file is one node's output, named after the node, or several nodes' outputs each after a
//! header line `### node NAME` (what the README's loop writes). Colour codes are removed
//! first; any line that is neither a header nor a line of either shape is refused with its
//! number, so that another command's output is never read as an empty mapping.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

use super::aliyun::VSwitch;
use super::vswitches::vswitch_of;
use super::{Builder, Cluster, ImportError, Input, describe};
use crate::lint::Finding;

const EXPECTED: &str = "expected what `terway-cli mapping` prints in a node's Terway pod (`kubectl -n kube-system exec POD -c terway -- terway-cli mapping`), one file per node or several after `### node NAME` lines";

/// The table header of Terway before v1.7.
const TABLE_HEADER: [&str; 4] = ["Status", "Pod Name", "Res ID", "Factory Res ID"];

/// One node's mapping.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeMapping {
    /// From its `### node NAME` header, or the file's name (less `.txt`, `.log` or `.out`).
    pub node: String,
    /// The 1-based line where it starts (its header, or 1).
    pub line: usize,
    /// Idle IPv4 addresses: held by the node's ENIs, used by no pod.
    pub idle: Vec<Ipv4Addr>,
    /// Addresses pods use.
    pub in_use: u64,
    /// Addresses neither idle nor in use: being assigned or released, or `ERROR` rows.
    pub other: u64,
    /// Idle rows without an address (exclusive ENI mode, whose resource is a whole ENI).
    pub without_address: u64,
}

/// Every node's mapping, and its idle addresses per described vSwitch.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapping {
    /// The nodes, in file order, each with the file it came from.
    pub nodes: Vec<(PathBuf, NodeMapping)>,
    /// Idle addresses per described vSwitch (indexed like the DescribeVSwitches listing),
    /// found by the vSwitch whose block holds the address.
    pub idle_held: Vec<u64>,
    /// Idle addresses in none of the described vSwitches.
    pub unmatched: u64,
    /// Idle rows without an address (exclusive ENIs), over all nodes.
    pub without_address: u64,
}

impl Mapping {
    /// Reads every file; a node named twice is refused, since its idle addresses would count
    /// twice.
    pub fn read(inputs: &[Input], described: &[VSwitch]) -> Result<Mapping, ImportError> {
        let mut nodes: Vec<(PathBuf, NodeMapping)> = Vec::new();
        let mut seen: BTreeMap<String, (PathBuf, usize)> = BTreeMap::new();
        for input in inputs {
            for node in read(input)? {
                if let Some((file, line)) = seen.get(&node.node) {
                    return Err(ImportError::new(
                        input.path,
                        format!(
                            "node `{}` (line {}) is also at {}:{line}; pass each node's `terway-cli mapping` once",
                            node.node,
                            node.line,
                            file.display()
                        ),
                    ));
                }
                seen.insert(node.node.clone(), (input.path.to_path_buf(), node.line));
                nodes.push((input.path.to_path_buf(), node));
            }
        }
        let mut idle_held = vec![0; described.len()];
        let mut unmatched = 0;
        for (_, node) in &nodes {
            for &address in &node.idle {
                match vswitch_of(described, address) {
                    Some(index) => idle_held[index] += 1,
                    None => unmatched += 1,
                }
            }
        }
        let without_address = nodes.iter().map(|(_, n)| n.without_address).sum();
        Ok(Mapping {
            nodes,
            idle_held,
            unmatched,
            without_address,
        })
    }

    /// Idle addresses over all nodes.
    pub fn idle(&self) -> u64 {
        self.nodes.iter().map(|(_, n)| n.idle.len() as u64).sum()
    }
}

impl Builder<'_, '_> {
    /// Findings about the mapping: idle addresses in no described vSwitch, and imported nodes
    /// it leaves out (their idle addresses stay in used_by_others).
    pub(super) fn mapping_findings(&mut self, cluster: &Cluster) {
        let Some(mapping) = self.mapping else {
            return;
        };
        let first = self.sources.terway_mapping[0].path;
        if mapping.unmatched > 0 {
            self.findings.push(
                Finding::new(
                    "import-mapping-unmatched",
                    "terway-cli mapping",
                    format!(
                        "{} idle addresses lie in none of the vSwitches {} describes; they are left out",
                        mapping.unmatched,
                        self.sources.vswitches.path.display()
                    ),
                    "describe every vSwitch of eni_conf (`aliyun vpc DescribeVSwitches --VpcId vpc-...`), or take the mappings of this cluster's nodes only",
                )
                .in_file(first),
            );
        }
        if self.sources.nodes.is_none() {
            return;
        }
        let mapped: Vec<&str> = mapping.nodes.iter().map(|(_, n)| n.node.as_str()).collect();
        let missing: Vec<&str> = cluster
            .node_index
            .keys()
            .map(String::as_str)
            .filter(|name| !mapped.contains(name))
            .collect();
        if !missing.is_empty() {
            let shown: Vec<&str> = missing.iter().take(3).copied().collect();
            self.findings.push(
                Finding::new(
                    "import-mapping-partial",
                    "terway-cli mapping",
                    format!(
                        "the mapping has no node named {}{} ({} of {} imported nodes); their idle addresses stay counted in used_by_others",
                        shown.join(", "),
                        if missing.len() > shown.len() { ", ..." } else { "" },
                        missing.len(),
                        cluster.node_index.len()
                    ),
                    "take every node's mapping, each after a `### node NAME` line with the node's name as kubectl shows it (the README's loop), or one file per node named NAME.txt",
                )
                .in_file(first),
            );
        }
    }
}

/// What a section of the file is being read as.
#[derive(Clone, Copy, PartialEq)]
enum Shape {
    /// Nothing read yet.
    Unknown,
    /// The table, after its header.
    Table,
    /// An ENI tree: in `IPs`, in a prefix list, elsewhere in the ENI, or in `Resource DB`.
    Tree(TreeSection),
}

#[derive(Clone, Copy, PartialEq)]
enum TreeSection {
    Eni,
    Ips,
    Prefixes,
    ResourceDb,
}

/// Reads one file.
pub fn read(input: &Input) -> Result<Vec<NodeMapping>, ImportError> {
    let text = input.text.trim_start_matches('\u{feff}');
    let fail = |message: String| ImportError::new(input.path, format!("{message}; {EXPECTED}"));
    if text.trim().is_empty() {
        return Err(fail("is empty".to_string()));
    }
    // Node names hold dots (`cn-hangzhou.10.0.0.5`), so only a known extension is removed.
    let file_name = input
        .path
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "node".to_string());
    let stem = [".txt", ".log", ".out"]
        .iter()
        .find_map(|ext| file_name.strip_suffix(ext))
        .unwrap_or(&file_name)
        .to_string();
    let mut nodes: Vec<NodeMapping> = Vec::new();
    let mut shape = Shape::Unknown;
    let mut recognised = false;
    let mut headers = false;
    for (index, raw) in text.lines().enumerate() {
        let number = index + 1;
        let line = strip_colours(raw);
        let line = line.trim_end();
        if line.trim().is_empty() {
            continue;
        }
        if let Some(name) = node_header(line) {
            if name.is_empty() {
                return Err(fail(format!(
                    "line {number} is a node header without a name (write `### node NAME`)"
                )));
            }
            nodes.push(NodeMapping::new(name.to_string(), number));
            shape = Shape::Unknown;
            headers = true;
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        // What kubectl or terway-cli add when stderr is captured too.
        if line.starts_with("Defaulted container ")
            || line.trim() == "Error: error exists in mapping"
        {
            continue;
        }
        if nodes.is_empty() {
            nodes.push(NodeMapping::new(stem.clone(), 1));
        }
        let node = nodes.last_mut().expect("a node was pushed");
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells == TABLE_HEADER {
            shape = Shape::Table;
            recognised = true;
            continue;
        }
        if cells.len() == 4 && ["Normal", "Idle", "ERROR"].contains(&cells[0]) {
            if shape != Shape::Table {
                return Err(fail(format!(
                    "line {number} is a mapping row before the table's header `{}`",
                    TABLE_HEADER.join(" | ")
                )));
            }
            node.table_row(&cells)
                .map_err(|message| fail(format!("line {number}: {message}")))?;
            continue;
        }
        let item = line.trim_start_matches(|c: char| "│├└─┬ \t".contains(c));
        let in_tree = item.len() < line.len();
        if item.starts_with("ENI: ") || item == "ENI:" {
            shape = Shape::Tree(TreeSection::Eni);
            recognised = true;
            continue;
        }
        if item.starts_with("Resource DB (") {
            shape = Shape::Tree(TreeSection::ResourceDb);
            recognised = true;
            continue;
        }
        if let (true, Shape::Tree(section)) = (in_tree, shape) {
            shape = Shape::Tree(node.tree_item(item, section));
            continue;
        }
        let what = describe(text)
            .map(|d| format!("; the file {d}"))
            .unwrap_or_default();
        return Err(fail(format!(
            "line {number} (`{}`) is not a line `terway-cli mapping` prints{what}",
            shorten(line.trim())
        )));
    }
    // A node without ENIs prints nothing in the tree shape, so headers alone are a mapping.
    if !recognised && !headers {
        return Err(fail(format!(
            "has neither the mapping table (`{}`) nor an ENI tree (`ENI: eni-...`)",
            TABLE_HEADER.join(" | ")
        )));
    }
    Ok(nodes)
}

impl NodeMapping {
    fn new(node: String, line: usize) -> Self {
        NodeMapping {
            node,
            line,
            idle: Vec::new(),
            in_use: 0,
            other: 0,
            without_address: 0,
        }
    }

    /// A row of the table: `Status | Pod Name | Res ID | Factory Res ID`.
    fn table_row(&mut self, cells: &[&str]) -> Result<(), String> {
        match cells[0] {
            "Normal" => self.in_use += 1,
            "ERROR" => self.other += 1,
            _ => {
                let id = if cells[3].is_empty() {
                    cells[2]
                } else {
                    cells[3]
                };
                match resource_address(id)? {
                    Some(address) => self.idle.push(address),
                    None => self.without_address += 1,
                }
            }
        }
        Ok(())
    }

    /// A line of an ENI tree, its drawing removed; returns the section it leaves the reader in.
    fn tree_item(&mut self, item: &str, section: TreeSection) -> TreeSection {
        match item {
            "IPs" if section != TreeSection::ResourceDb => return TreeSection::Ips,
            "IPv4 Prefixes" | "IPv6 Prefixes" if section != TreeSection::ResourceDb => {
                return TreeSection::Prefixes;
            }
            _ => {}
        }
        if section != TreeSection::Ips {
            return section;
        }
        // `ADDRESS  POD  STATUS`: the pod is empty for an idle address, leaving two words.
        let words: Vec<&str> = item.split_whitespace().collect();
        match words.first().and_then(|w| w.parse::<IpAddr>().ok()) {
            Some(IpAddr::V4(address)) => match words.len() {
                2 if words[1] == "Valid" => self.idle.push(address),
                2 => self.other += 1,
                _ => self.in_use += 1,
            },
            // IPv6 addresses of dual stack: the model counts IPv4 only.
            Some(IpAddr::V6(_)) => {}
            None => return TreeSection::Eni,
        }
        TreeSection::Ips
    }
}

/// `### node NAME` (any number of `#`): the name, or `None` when the line is no node header.
fn node_header(line: &str) -> Option<&str> {
    let rest = line.trim_start().strip_prefix('#')?;
    let rest = rest.trim_start_matches('#').trim_start();
    let name = rest.strip_prefix("node")?;
    if !(name.is_empty() || name.starts_with([' ', '\t', ':'])) {
        return None;
    }
    Some(name.trim_start_matches(':').trim())
}

/// The IPv4 address of a resource id `MAC.ADDRESS` (or `MAC.IPV4-IPV6`); `None` for an id that
/// is a MAC alone (a whole ENI).
fn resource_address(id: &str) -> Result<Option<Ipv4Addr>, String> {
    let is_mac = |s: &str| {
        s.len() == 17
            && s.split(':').count() == 6
            && s.split(':')
                .all(|b| b.len() == 2 && b.bytes().all(|c| c.is_ascii_hexdigit()))
    };
    if is_mac(id) {
        return Ok(None);
    }
    let Some((mac, address)) = id.split_at_checked(17).filter(|(mac, _)| is_mac(mac)) else {
        return Err(format!(
            "resource `{id}` is not MAC.ADDRESS, the id Terway gives an address"
        ));
    };
    let _ = mac;
    let ipv4 = address
        .strip_prefix('.')
        .map(|a| a.split('-').next().unwrap_or(a));
    match ipv4.and_then(|a| a.parse::<Ipv4Addr>().ok()) {
        Some(address) => Ok(Some(address)),
        None => Err(format!(
            "resource `{id}` is not MAC.ADDRESS, the id Terway gives an address"
        )),
    }
}

/// The text without ANSI colour codes (`ESC [ ... m`), which pterm adds on a terminal.
fn strip_colours(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.peek() == Some(&'[') {
                chars.next();
                for next in chars.by_ref() {
                    if next.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
            continue;
        }
        out.push(c);
    }
    out
}

fn shorten(text: &str) -> String {
    const MAX: usize = 80;
    if text.chars().count() <= MAX {
        return text.to_string();
    }
    let cut: String = text.chars().take(MAX).collect();
    format!("{cut}...")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn read_text(name: &str, text: &str) -> Result<Vec<NodeMapping>, ImportError> {
        read(&Input {
            path: Path::new(name),
            text,
        })
    }

    #[test]
    fn the_table_counts_idle_rows_by_their_factory_address() {
        let text = "\
Status | Pod Name               | Res ID                           | Factory Res ID                  
Normal | nginx-6799fc88d8-8lq5v | 00:16:3e:0c:7b:1a.192.168.2.15   | 00:16:3e:0c:7b:1a.192.168.2.15  
Idle   |                        | 00:16:3e:0c:7b:1a.192.168.2.16   | 00:16:3e:0c:7b:1a.192.168.2.16  
Idle   |                        | 00:16:3e:0c:7b:1a.192.168.2.17-fd00::5 | 00:16:3e:0c:7b:1a.192.168.2.17-fd00::5
ERROR  | web-0                  | 00:16:3e:0c:7b:1a.192.168.2.18   |                                 
";
        let nodes = read_text("dir/node-a.txt", text).unwrap();
        assert_eq!(nodes.len(), 1);
        assert_eq!(nodes[0].node, "node-a");
        let nodes = read_text("dir/cn-hangzhou.10.0.0.5", text).unwrap();
        assert_eq!(nodes[0].node, "cn-hangzhou.10.0.0.5");
        assert_eq!(
            nodes[0].idle,
            vec![
                Ipv4Addr::new(192, 168, 2, 16),
                Ipv4Addr::new(192, 168, 2, 17)
            ]
        );
        assert_eq!((nodes[0].in_use, nodes[0].other), (1, 1));
    }

    #[test]
    fn the_tree_counts_addresses_without_a_pod() {
        let text = "\
### node cn-hangzhou.10.0.0.5
└┬ENI: eni-bp1
 ├─MAC: 00:16:3e:0c:7b:1a
 ├─Status: InUse
 ├─Type: Secondary
 ├─InhibitExpireAt: 0001-01-01 00:00:00 +0000 UTC
 └┬IPs
  ├─10.0.1.9  default/web-1  Valid
  ├─10.0.1.8    Valid
  ├─10.0.1.7    Deleting
  └─fd00::8    Valid
### node cn-hangzhou.10.0.0.6
Resource DB (1 entries)
└─default/web-1 -> eni-bp1 10.0.1.9
";
        let nodes = read_text("all.txt", text).unwrap();
        assert_eq!(nodes.len(), 2);
        assert_eq!(nodes[0].node, "cn-hangzhou.10.0.0.5");
        assert_eq!(nodes[0].idle, vec![Ipv4Addr::new(10, 0, 1, 8)]);
        assert_eq!((nodes[0].in_use, nodes[0].other), (1, 1));
        assert_eq!(nodes[1].line, 12);
        assert!(nodes[1].idle.is_empty());
    }

    #[test]
    fn colour_codes_are_removed() {
        let text = "\u{1b}[1mStatus\u{1b}[0m | Pod Name | Res ID | Factory Res ID\n\u{1b}[96mIdle\u{1b}[0m |  | 00:16:3e:00:00:01.10.0.0.9 | 00:16:3e:00:00:01.10.0.0.9\n";
        let nodes = read_text("n.txt", text).unwrap();
        assert_eq!(nodes[0].idle, vec![Ipv4Addr::new(10, 0, 0, 9)]);
    }

    #[test]
    fn other_text_is_refused_with_its_line() {
        for (text, expected) in [
            ("", "is empty"),
            ("{\"kind\": \"List\"}\n", "line 1 (`{\"kind\": \"List\"}`)"),
            (
                "Status | Pod Name | Res ID | Factory Res ID\nIdle | | nonsense | nonsense\n",
                "line 2: resource `nonsense`",
            ),
            (
                "Idle | | 00:16:3e:00:00:01.10.0.0.9 | 00:16:3e:00:00:01.10.0.0.9\n",
                "line 1 is a mapping row before",
            ),
            ("### node a\nNAME READY STATUS\n", "line 2"),
            ("### node\n", "without a name"),
            ("# just a comment\n", "has neither"),
        ] {
            let e = read_text("m.txt", text).unwrap_err();
            assert!(e.message.contains(expected), "{text:?}: {}", e.message);
            assert_eq!(e.file, Path::new("m.txt"));
        }
    }
}
