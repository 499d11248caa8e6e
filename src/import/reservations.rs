//! What `aliyun vpc ListVSwitchCidrReservations --RegionId ... --VSwitchId vsw-...` prints: the
//! reserved CIDR blocks of a vSwitch, from which only IP prefixes are given (prefix mode).

use std::collections::BTreeMap;

use ipnet::Ipv4Net;
use serde_json::Value;

use super::aliyun::parse_described_json;
use super::{ImportError, Input};
use crate::lint::Finding;

const EXPECTED: &str = "expected the JSON of `aliyun vpc ListVSwitchCidrReservations --RegionId ... --VSwitchId vsw-...`";

/// Reserved IPv4 blocks per vSwitch id, in the order listed. Blocks being released, IPv6
/// blocks and blocks of another type than `prefix` are left out.
pub fn read(
    inputs: &[Input],
    findings: &mut Vec<Finding>,
) -> Result<BTreeMap<String, Vec<Ipv4Net>>, ImportError> {
    let mut out: BTreeMap<String, Vec<Ipv4Net>> = BTreeMap::new();
    for input in inputs {
        let value = parse_described_json(input, EXPECTED)?;
        let Some(list) = value
            .get("VSwitchCidrReservations")
            .and_then(Value::as_array)
        else {
            return Err(ImportError::new(
                input.path,
                format!("has no `VSwitchCidrReservations` list; {EXPECTED}"),
            ));
        };
        for (index, entry) in list.iter().enumerate() {
            let field = |name: &str| entry.get(name).and_then(Value::as_str);
            let at = format!("VSwitchCidrReservations[{index}]");
            let (Some(vswitch), Some(cidr)) =
                (field("VSwitchId"), field("VSwitchCidrReservationCidr"))
            else {
                return Err(ImportError::new(
                    input.path,
                    format!("{at} has no VSwitchId or VSwitchCidrReservationCidr; {EXPECTED}"),
                ));
            };
            if field("IpVersion").is_some_and(|v| !v.eq_ignore_ascii_case("IPv4")) {
                continue;
            }
            if matches!(field("Status"), Some("Releasing" | "Released")) {
                findings.push(
                    Finding::new(
                        "import-reservation-skipped",
                        &at,
                        format!("reserved block {cidr} of `{vswitch}` is being released; left out"),
                        "nothing to do",
                    )
                    .in_file(input.path),
                );
                continue;
            }
            let kind = field("Type").or(field("VSwitchCidrReservationType"));
            if kind.is_some_and(|k| !k.eq_ignore_ascii_case("prefix")) {
                continue;
            }
            let block: Ipv4Net = cidr.trim().parse().map_err(|_| {
                ImportError::new(
                    input.path,
                    format!("{at}.VSwitchCidrReservationCidr `{cidr}` is not an IPv4 CIDR block"),
                )
            })?;
            let blocks = out.entry(vswitch.to_string()).or_default();
            if !blocks.contains(&block) {
                blocks.push(block);
            }
        }
    }
    Ok(out)
}
