//! What the Alibaba Cloud CLI prints for `aliyun vpc DescribeVSwitches` and
//! `aliyun ecs DescribeInstanceTypes`.

use ipnet::Ipv4Net;
use serde_json::Value;

use super::{ImportError, Input, json_error};
use crate::lint::Finding;

/// One vSwitch of the DescribeVSwitches listing.
#[derive(Debug, Clone, PartialEq)]
pub struct VSwitch {
    /// `VSwitchId`.
    pub id: String,
    /// `ZoneId`.
    pub zone: String,
    /// `CidrBlock`.
    pub cidr: Ipv4Net,
    /// `AvailableIpAddressCount`.
    pub available: u64,
    /// `VpcId`, when given.
    pub vpc: Option<String>,
}

/// One instance type of a DescribeInstanceTypes listing.
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceTypeRow {
    /// `InstanceTypeId`.
    pub id: String,
    /// `CpuCoreCount`.
    pub vcpu: u64,
    /// `MemorySize` (GiB).
    pub memory_gib: f64,
    /// `EniQuantity` (eth0 included).
    pub eni_quantity: u64,
    /// `EniPrivateIpAddressQuantity` (the ENI's primary included).
    pub ipv4_per_eni: u64,
    /// `EniTotalQuantity`: ENIs trunk members included, when given as a whole number.
    pub eni_total: Option<u64>,
    /// Why the limits cannot be read (a field missing, or not a whole number), in which case
    /// the numbers above are 0 and must not be used.
    pub problem: Option<String>,
}

const VSWITCHES: &str =
    "expected the JSON of `aliyun vpc DescribeVSwitches --VpcId vpc-... --PageSize 50`";
const TYPES: &str =
    "expected the JSON of `aliyun ecs DescribeInstanceTypes --InstanceTypes '[\"ecs....\"]'`";

fn parse_json(input: &Input, expected: &str) -> Result<Value, ImportError> {
    let text = input.text.trim_start_matches('\u{feff}');
    if text.trim().is_empty() {
        return Err(ImportError::new(
            input.path,
            format!("is empty; {expected}"),
        ));
    }
    serde_json::from_str(text)
        .map_err(|e| ImportError::new(input.path, format!("{}; {expected}", json_error(&e))))
}

/// As [`parse_json`], naming what the text is (a terminal paste, a template, ...) when it is
/// not JSON, for the listings users paste most.
pub(super) fn parse_described_json(input: &Input, expected: &str) -> Result<Value, ImportError> {
    let text = input.text.trim_start_matches('\u{feff}');
    if text.trim().is_empty() {
        return Err(ImportError::new(
            input.path,
            format!("is empty; {expected}"),
        ));
    }
    serde_json::from_str(text).map_err(|e| {
        let what = super::describe(text).unwrap_or_else(|| json_error(&e));
        ImportError::new(input.path, format!("{what}; {expected}"))
    })
}

/// Names what a JSON document is when it is not the one expected.
pub(super) fn what_it_is(value: &Value) -> String {
    if let Some(kind) = value.get("kind").and_then(Value::as_str) {
        return format!("is kubectl output (kind {kind})");
    }
    if value.get("InstanceTypes").is_some() {
        return "is a DescribeInstanceTypes listing".to_string();
    }
    if value.get("VSwitches").is_some() {
        return "is a DescribeVSwitches listing".to_string();
    }
    if value.get("SnatTableEntries").is_some() {
        return "is a DescribeSnatTableEntries listing".to_string();
    }
    if value.get("NatGateways").is_some() {
        return "is a DescribeNatGateways listing".to_string();
    }
    if value.get("Code").is_some() && value.get("Message").is_some() {
        return format!(
            "is an API error ({}: {})",
            value["Code"].as_str().unwrap_or("?"),
            value["Message"].as_str().unwrap_or("?")
        );
    }
    if value.is_object() {
        let keys: Vec<&str> = value
            .as_object()
            .map(|o| o.keys().map(String::as_str).take(6).collect())
            .unwrap_or_default();
        return format!("has no such list (its keys: {})", keys.join(", "));
    }
    "is not a JSON object".to_string()
}

/// `{"VSwitches": {"VSwitch": [...]}, "TotalCount": n, ...}`.
pub fn vswitches(input: &Input, findings: &mut Vec<Finding>) -> Result<Vec<VSwitch>, ImportError> {
    let value = parse_json(input, VSWITCHES)?;
    let Some(list) = value
        .get("VSwitches")
        .and_then(|v| v.get("VSwitch"))
        .and_then(Value::as_array)
    else {
        return Err(ImportError::new(
            input.path,
            format!("{}, not VSwitches.VSwitch; {VSWITCHES}", what_it_is(&value)),
        ));
    };
    let mut out = Vec::with_capacity(list.len());
    for (i, entry) in list.iter().enumerate() {
        let at = |message: String| {
            ImportError::new(
                input.path,
                format!("VSwitches.VSwitch[{i}] {message}; {VSWITCHES}"),
            )
        };
        let text = |key: &str| -> Result<String, ImportError> {
            entry
                .get(key)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .ok_or_else(|| at(format!("has no {key}")))
        };
        let id = text("VSwitchId")?;
        let zone = text("ZoneId")?;
        let cidr_text = text("CidrBlock")?;
        let cidr: Ipv4Net = cidr_text
            .parse()
            .map_err(|_| at(format!("has CidrBlock `{cidr_text}`, not an IPv4 block")))?;
        let available = entry
            .get("AvailableIpAddressCount")
            .and_then(|v| {
                v.as_u64()
                    .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
            })
            .ok_or_else(|| at("has no AvailableIpAddressCount".to_string()))?;
        let vpc = entry
            .get("VpcId")
            .and_then(Value::as_str)
            .map(str::to_string);
        out.push(VSwitch {
            id,
            zone,
            cidr,
            available,
            vpc,
        });
    }
    if let Some(total) = value.get("TotalCount").and_then(Value::as_u64)
        && total > out.len() as u64
    {
        findings.push(
            Finding::new(
                "import-partial-listing",
                "TotalCount",
                format!(
                    "the listing has {} of {total} vSwitches (one page); vSwitches on other pages are missing",
                    out.len()
                ),
                "list them all: `aliyun vpc DescribeVSwitches --VpcId vpc-... --PageSize 50 --pager`",
            )
            .in_file(input.path),
        );
    }
    Ok(out)
}

/// `{"InstanceTypes": {"InstanceType": [...]}}`; an entry whose limits cannot be read says
/// why in [`InstanceTypeRow::problem`].
pub fn instance_types(input: &Input) -> Result<Vec<InstanceTypeRow>, ImportError> {
    let value = parse_json(input, TYPES)?;
    let Some(list) = value
        .get("InstanceTypes")
        .and_then(|v| v.get("InstanceType"))
        .and_then(Value::as_array)
    else {
        return Err(ImportError::new(
            input.path,
            format!(
                "{}, not InstanceTypes.InstanceType; {TYPES}",
                what_it_is(&value)
            ),
        ));
    };
    let mut out = Vec::new();
    for entry in list {
        let Some(id) = entry.get("InstanceTypeId").and_then(Value::as_str) else {
            continue;
        };
        let mut problems = Vec::new();
        // Old API responses lack EniPrivateIpAddressQuantity; a 0 there would mean pods
        // without addresses, so what is missing or fractional is named instead.
        let mut number = |key: &str, whole: bool| -> f64 {
            match entry.get(key) {
                None | Some(Value::Null) => {
                    problems.push(format!("no `{key}`"));
                    0.0
                }
                Some(Value::Number(n)) => match n.as_f64() {
                    Some(v) if v.is_finite() && v >= 0.0 && (!whole || v.fract() == 0.0) => v,
                    _ => {
                        problems.push(format!("`{key}` {n}, not a whole number"));
                        0.0
                    }
                },
                Some(other) => {
                    problems.push(format!("`{key}` {other}, not a number"));
                    0.0
                }
            }
        };
        let vcpu = number("CpuCoreCount", true);
        let memory = number("MemorySize", false);
        let enis = number("EniQuantity", true);
        let ips = number("EniPrivateIpAddressQuantity", true);
        let eni_total = entry.get("EniTotalQuantity").and_then(Value::as_u64);
        out.push(InstanceTypeRow {
            eni_total,
            id: id.to_string(),
            vcpu: vcpu as u64,
            memory_gib: memory,
            eni_quantity: enis as u64,
            ipv4_per_eni: ips as u64,
            problem: (!problems.is_empty()).then(|| problems.join(" and ")),
        });
    }
    Ok(out)
}
