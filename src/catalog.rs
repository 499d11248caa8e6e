//! The built-in catalog of ECS instance types and their network limits.
//!
//! The figures are Alibaba Cloud's ECS instance-family tables (general purpose, compute optimized,
//! memory optimized), kept in `src/catalog/instance-types.csv`: one row per type, grouped by
//! family, each row naming the documentation page it was copied from ([`source`]). The file is
//! embedded in the binary and parsed once. `eni_quantity` counts the primary ENI (eth0). A
//! scenario can add types or override these with `[instance_type."NAME"]`.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;

/// The limits of one ECS instance type that matter for pod addresses and scheduling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceType {
    /// The ECS name, e.g. `ecs.g7.xlarge`.
    pub name: String,
    /// Virtual CPUs.
    pub vcpu: u32,
    /// Memory in MiB.
    pub memory_mib: u64,
    /// ENIs the instance can attach, the primary ENI (eth0) included.
    pub eni_quantity: u32,
    /// IPv4 addresses per ENI, the ENI's own primary address included.
    pub ipv4_per_eni: u32,
}

/// ACK refuses a node whose shared-ENI pod capacity is not greater than this.
pub const ACK_MIN_POD_CAPACITY: u32 = 11;

impl InstanceType {
    /// Secondary ENIs Terway may use for pods: every ENI but eth0.
    pub fn secondary_enis(&self) -> u32 {
        self.eni_quantity.saturating_sub(1)
    }

    /// Terway's shared-ENI pod capacity: `(ENIs - 1) x IPv4 per ENI`.
    pub fn pod_capacity(&self) -> u32 {
        self.secondary_enis() * self.ipv4_per_eni
    }

    /// Whether ACK would accept a node of this type in ENI multi-IP mode.
    pub fn ack_accepts(&self) -> bool {
        self.pod_capacity() > ACK_MIN_POD_CAPACITY
    }
}

/// The catalog's data, embedded so that the binary needs no file at run time.
const BUILTIN_CSV: &str = include_str!("catalog/instance-types.csv");

/// One row of the data file, as written there.
#[derive(Deserialize)]
struct Row {
    name: String,
    vcpu: u32,
    memory_gib: u64,
    enis: u32,
    ipv4_per_eni: u32,
    source: String,
    #[serde(default)]
    eni_total_quantity: Option<u32>,
    #[serde(default)]
    eni_total_source: Option<String>,
}

/// A built-in type and the page its figures were copied from.
#[derive(Debug)]
struct Entry {
    instance_type: InstanceType,
    source: String,
    /// `EniTotalQuantity` and where it was published, for the few types with a public figure.
    eni_total: Option<(u32, String)>,
}

/// Reads the data file: `#` lines are comments; every value must be positive, every name new,
/// every row must name its source.
fn parse(text: &str) -> Result<Vec<Entry>, String> {
    let mut reader = csv::ReaderBuilder::new()
        .comment(Some(b'#'))
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut entries: Vec<Entry> = Vec::new();
    for record in reader.deserialize::<Row>() {
        let row = record.map_err(|e| e.to_string())?;
        let fault = if [row.vcpu, row.enis, row.ipv4_per_eni].contains(&0) || row.memory_gib == 0 {
            Some("a zero figure")
        } else if row.source.trim().is_empty() {
            Some("no source")
        } else if entries.iter().any(|e| e.instance_type.name == row.name) {
            Some("a second row")
        } else if row.eni_total_quantity.is_some_and(|n| {
            n < row.enis
                || row
                    .eni_total_source
                    .as_deref()
                    .is_none_or(|s| s.trim().is_empty())
        }) {
            Some("an eni_total_quantity below its ENIs or without its source")
        } else {
            None
        };
        if let Some(fault) = fault {
            return Err(format!("`{}` has {fault}", row.name));
        }
        entries.push(Entry {
            instance_type: InstanceType {
                name: row.name,
                vcpu: row.vcpu,
                memory_mib: row.memory_gib * 1024,
                eni_quantity: row.enis,
                ipv4_per_eni: row.ipv4_per_eni,
            },
            source: row.source,
            eni_total: row.eni_total_quantity.zip(row.eni_total_source),
        });
    }
    Ok(entries)
}

fn entries() -> &'static [Entry] {
    static ENTRIES: OnceLock<Vec<Entry>> = OnceLock::new();
    ENTRIES.get_or_init(|| match parse(BUILTIN_CSV) {
        Ok(entries) => entries,
        // The file is part of the source and a unit test parses it: a failure here is a bug.
        Err(e) => panic!("built-in catalog src/catalog/instance-types.csv: {e}"),
    })
}

/// The built-in catalog, keyed by type name (ordered, so listings are stable).
pub fn builtin() -> BTreeMap<String, InstanceType> {
    entries()
        .iter()
        .map(|e| (e.instance_type.name.clone(), e.instance_type.clone()))
        .collect()
}

/// The documentation page a built-in type's figures were copied from.
pub fn source(name: &str) -> Option<&'static str> {
    entries()
        .iter()
        .find(|e| e.instance_type.name == name)
        .map(|e| e.source.as_str())
}

/// `EniTotalQuantity` of a built-in type, where a public source gives it, and that source.
pub fn eni_total_quantity(name: &str) -> Option<(u32, &'static str)> {
    entries()
        .iter()
        .find(|e| e.instance_type.name == name)
        .and_then(|e| e.eni_total.as_ref())
        .map(|(n, source)| (*n, source.as_str()))
}

/// The family of an instance type, its name without the size: `ecs.g8i` for `ecs.g8i.2xlarge`.
/// A name with no size is returned whole.
pub fn family(name: &str) -> &str {
    match name.rsplit_once('.') {
        Some((family, _)) if family.contains('.') => family,
        _ => name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The one EniTotalQuantity the catalog holds is a published API response's; no other type
    // gets a figure, and a row with one below its ENIs or without its source is refused.
    #[test]
    fn eni_total_quantity_only_where_published() {
        assert_eq!(eni_total_quantity("ecs.g7.xlarge").map(|t| t.0), Some(20));
        assert!(
            eni_total_quantity("ecs.g7.xlarge")
                .is_some_and(|t| t.1.contains("DescribeInstanceTypes"))
        );
        assert_eq!(eni_total_quantity("ecs.g7.2xlarge"), None);
        let header =
            "name,vcpu,memory_gib,enis,ipv4_per_eni,source,eni_total_quantity,eni_total_source\n";
        assert!(parse(&format!("{header}ecs.x.large,2,8,3,6,page,2,api\n")).is_err());
        assert!(parse(&format!("{header}ecs.x.large,2,8,3,6,page,8,\n")).is_err());
        assert!(parse(&format!("{header}ecs.x.large,2,8,3,6,page,8,api\n")).is_ok());
        assert!(parse(&format!("{header}ecs.x.large,2,8,3,6,page\n")).is_ok());
    }

    // Capacities worked out by hand from the domain notes' table: (ENIs - 1) x IPv4 per ENI.
    #[test]
    fn pod_capacity_matches_the_ack_formula() {
        let catalog = builtin();
        let capacity = |name: &str| catalog[name].pod_capacity();
        assert_eq!(capacity("ecs.g7.4xlarge"), 210); // (8 - 1) x 30, ACK's own example
        assert_eq!(capacity("ecs.g7.xlarge"), 45); // (4 - 1) x 15
        assert_eq!(capacity("ecs.g6.13xlarge"), 120); // (7 - 1) x 20
        assert_eq!(capacity("ecs.g7.32xlarge"), 420); // (15 - 1) x 30
        assert_eq!(capacity("ecs.g6.large"), 6); // (2 - 1) x 6
        assert_eq!(capacity("ecs.g7.large"), 12); // (3 - 1) x 6
    }

    #[test]
    fn ack_refuses_capacity_of_eleven_or_less() {
        let catalog = builtin();
        assert!(!catalog["ecs.g6.large"].ack_accepts());
        assert!(catalog["ecs.g7.large"].ack_accepts()); // 12 is just above the limit
        let eleven = InstanceType {
            name: "x".into(),
            vcpu: 1,
            memory_mib: 1024,
            eni_quantity: 2,
            ipv4_per_eni: 11,
        };
        assert!(!eleven.ack_accepts());
    }

    const GENERAL: &str =
        "https://help.aliyun.com/zh/ecs/user-guide/general-purpose-instance-families";
    const COMPUTE: &str =
        "https://help.aliyun.com/zh/ecs/user-guide/compute-optimized-instance-families";
    const MEMORY: &str =
        "https://help.aliyun.com/zh/ecs/user-guide/memory-optimized-instance-families-1";

    /// (vCPU, memory GiB, ENIs, IPv4 per ENI) of a built-in type.
    fn figures(name: &str) -> (u32, u64, u32, u32) {
        let t = &builtin()[name];
        (t.vcpu, t.memory_mib / 1024, t.eni_quantity, t.ipv4_per_eni)
    }

    #[test]
    fn every_row_parses_with_positive_values_and_a_source() {
        let entries = parse(BUILTIN_CSV).expect("the data file parses");
        let data_lines = BUILTIN_CSV
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .count();
        assert_eq!(entries.len(), data_lines - 1); // the header line
        assert_eq!(builtin().len(), entries.len());
        for e in &entries {
            let t = &e.instance_type;
            assert!(t.vcpu > 0 && t.memory_mib > 0 && t.eni_quantity > 0 && t.ipv4_per_eni > 0);
            assert!(t.name.starts_with("ecs."), "{}", t.name);
            assert!(e.source.starts_with("https://"), "{}: {}", t.name, e.source);
            assert_eq!(source(&t.name), Some(e.source.as_str()));
        }
        assert_eq!(builtin()["ecs.r7.8xlarge"].memory_mib, 256 * 1024);
    }

    #[test]
    fn a_bad_row_is_refused_by_name() {
        let header = "name,vcpu,memory_gib,enis,ipv4_per_eni,source\n";
        let bad = [
            (
                "ecs.x.large,2,8,0,6,https://a\n",
                "`ecs.x.large` has a zero figure",
            ),
            ("ecs.x.large,2,8,3,6, \n", "`ecs.x.large` has no source"),
            (
                "ecs.x.large,2,8,3,6,https://a\necs.x.large,2,8,3,6,https://a\n",
                "`ecs.x.large` has a second row",
            ),
        ];
        for (rows, message) in bad {
            assert_eq!(parse(&format!("{header}{rows}")).unwrap_err(), message);
        }
        assert!(parse(&format!("{header}ecs.x.large,2,8,-3,6,https://a\n")).is_err());
    }

    // The figures below are copied by hand from the pages' tables (vCPU, 内存（GiB）, 弹性网卡,
    // 单网卡私有IPv4地址数), each page cited above its family's rows.
    #[test]
    fn general_purpose_rows_match_the_page() {
        // https://help.aliyun.com/zh/ecs/user-guide/general-purpose-instance-families#g8i
        assert_eq!(figures("ecs.g8i.large"), (2, 8, 3, 6));
        assert_eq!(figures("ecs.g8i.2xlarge"), (8, 32, 4, 15));
        assert_eq!(figures("ecs.g8i.4xlarge"), (16, 64, 8, 30));
        assert_eq!(figures("ecs.g8i.48xlarge"), (192, 1024, 15, 50));
        // https://help.aliyun.com/zh/ecs/user-guide/general-purpose-instance-families#g8a
        assert_eq!(figures("ecs.g8a.xlarge"), (4, 16, 4, 15));
        assert_eq!(figures("ecs.g8a.24xlarge"), (96, 384, 15, 30));
        // https://help.aliyun.com/zh/ecs/user-guide/general-purpose-instance-families#g8y
        assert_eq!(figures("ecs.g8y.small"), (1, 4, 2, 3));
        assert_eq!(figures("ecs.g8y.32xlarge"), (128, 512, 15, 30));
        // https://help.aliyun.com/zh/ecs/user-guide/general-purpose-instance-families#g9i
        assert_eq!(figures("ecs.g9i.3xlarge"), (12, 48, 8, 15));
        assert_eq!(figures("ecs.g9i.48xlarge"), (192, 768, 15, 50));
        // https://help.aliyun.com/zh/ecs/user-guide/general-purpose-instance-families#g7
        assert_eq!(figures("ecs.g7.6xlarge"), (24, 96, 8, 30));
        for name in [
            "ecs.g8i.large",
            "ecs.g8a.large",
            "ecs.g8y.large",
            "ecs.g9i.large",
        ] {
            assert_eq!(source(name), Some(GENERAL), "{name}");
        }
    }

    #[test]
    fn compute_optimized_rows_match_the_page() {
        // https://help.aliyun.com/zh/ecs/user-guide/compute-optimized-instance-families#c8i
        assert_eq!(figures("ecs.c8i.large"), (2, 4, 3, 6));
        assert_eq!(figures("ecs.c8i.3xlarge"), (12, 24, 8, 15));
        assert_eq!(figures("ecs.c8i.48xlarge"), (192, 512, 15, 50));
        // https://help.aliyun.com/zh/ecs/user-guide/compute-optimized-instance-families#c8a
        assert_eq!(figures("ecs.c8a.8xlarge"), (32, 64, 8, 30));
        assert_eq!(figures("ecs.c8a.48xlarge"), (192, 384, 15, 50));
        // https://help.aliyun.com/zh/ecs/user-guide/compute-optimized-instance-families#c8y
        assert_eq!(figures("ecs.c8y.small"), (1, 2, 2, 3));
        assert_eq!(figures("ecs.c8y.2xlarge"), (8, 16, 4, 15));
        // https://help.aliyun.com/zh/ecs/user-guide/compute-optimized-instance-families#c9i
        assert_eq!(figures("ecs.c9i.24xlarge"), (96, 192, 15, 30));
        // https://help.aliyun.com/zh/ecs/user-guide/compute-optimized-instance-families#c7
        assert_eq!(figures("ecs.c7.large"), (2, 4, 3, 6));
        assert_eq!(figures("ecs.c7.32xlarge"), (128, 256, 15, 30));
        for name in [
            "ecs.c8i.large",
            "ecs.c8a.large",
            "ecs.c8y.large",
            "ecs.c7.large",
        ] {
            assert_eq!(source(name), Some(COMPUTE), "{name}");
        }
    }

    #[test]
    fn memory_optimized_rows_match_the_page() {
        // https://help.aliyun.com/zh/ecs/user-guide/memory-optimized-instance-families-1#r8i
        assert_eq!(figures("ecs.r8i.xlarge"), (4, 32, 4, 15));
        assert_eq!(figures("ecs.r8i.32xlarge"), (128, 1024, 15, 30));
        // https://help.aliyun.com/zh/ecs/user-guide/memory-optimized-instance-families-1#r8a
        assert_eq!(figures("ecs.r8a.large"), (2, 16, 3, 6));
        assert_eq!(figures("ecs.r8a.48xlarge"), (192, 1536, 15, 50));
        // https://help.aliyun.com/zh/ecs/user-guide/memory-optimized-instance-families-1#r8y
        assert_eq!(figures("ecs.r8y.small"), (1, 8, 2, 3));
        assert_eq!(figures("ecs.r8y.4xlarge"), (16, 128, 8, 30));
        // https://help.aliyun.com/zh/ecs/user-guide/memory-optimized-instance-families-1#r9i
        assert_eq!(figures("ecs.r9i.6xlarge"), (24, 192, 8, 30));
        // https://help.aliyun.com/zh/ecs/user-guide/memory-optimized-instance-families-1#r7
        assert_eq!(figures("ecs.r7.3xlarge"), (12, 96, 8, 15));
        for name in [
            "ecs.r8i.large",
            "ecs.r8a.large",
            "ecs.r8y.large",
            "ecs.r7.large",
        ] {
            assert_eq!(source(name), Some(MEMORY), "{name}");
        }
    }

    // (ENIs - 1) x IPv4 per ENI, worked out by hand from the figures above.
    #[test]
    fn pod_capacity_of_todays_families() {
        let catalog = builtin();
        let capacity = |name: &str| catalog[name].pod_capacity();
        assert_eq!(capacity("ecs.g8i.large"), 12); // (3 - 1) x 6
        assert_eq!(capacity("ecs.g8i.2xlarge"), 45); // (4 - 1) x 15
        assert_eq!(capacity("ecs.c8a.8xlarge"), 210); // (8 - 1) x 30
        assert_eq!(capacity("ecs.r8y.32xlarge"), 420); // (15 - 1) x 30
        assert_eq!(capacity("ecs.g9i.48xlarge"), 700); // (15 - 1) x 50
        assert_eq!(capacity("ecs.c9i.3xlarge"), 105); // (8 - 1) x 15
        assert_eq!(capacity("ecs.g8y.small"), 3); // (2 - 1) x 3
        assert!(!catalog["ecs.g8y.small"].ack_accepts());
        assert!(catalog["ecs.r8a.large"].ack_accepts());
    }

    #[test]
    fn family_is_the_name_without_the_size() {
        assert_eq!(family("ecs.g8i.2xlarge"), "ecs.g8i");
        assert_eq!(family("ecs.g8i"), "ecs.g8i");
        assert_eq!(family("g8i"), "g8i");
        let g8i: Vec<String> = builtin()
            .into_keys()
            .filter(|n| family(n) == "ecs.g8i")
            .collect();
        assert_eq!(g8i.len(), 11);
    }
}
