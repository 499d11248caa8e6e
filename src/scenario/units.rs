//! Durations, quantities and percentages as users write them.
//!
//! All arithmetic is on integers (decimals are read as mantissa and scale), so "0.3" cores or
//! "1.5Gi" give the same value everywhere, and an input near `u64::MAX` is refused instead of
//! wrapping.
//!
//! Why these parsers are our own rather than a crate's: a scenario that reads today must read
//! the same tomorrow, and a typo must stay an error that names the accepted forms.
//! - `humantime::parse_duration` (2.x) accepts more: "5 s", "5sec", "1w", "2y", "1.5h", and
//!   "M" as months, so "10M" (minutes meant) would silently become 304 days where it is refused
//!   here; its messages do not show our forms. Its `format_duration` writes "1day 6h", not the
//!   "1d 6h" that messages, lints, reports and `import` print and that reads back here.
//! - jiff's "friendly" format accepts fractions, signs ("-5s"), "5 s", spelled-out units and
//!   ISO 8601 ("PT5S"); its `SignedDuration` refuses days ("1d 6h") and its `Span` needs to be
//!   told a day is 24 hours. A date-time library for some 60 lines of parsing.
//! - Kubernetes quantities: `k8s-openapi`'s `Quantity` is an unparsed string; the crates that
//!   parse it (`k8s_quantity_parser`, `kube_quantity`) bring `k8s-openapi` and regex or nom,
//!   aim at Kubernetes' wider grammar (exponents such as "1e3", signs, P/E/n/u suffixes) and
//!   round their own way, where here CPU rounds up to a millicore and memory up to a MiB.
//!
//! Narrowing any of them back to this syntax would take a check as long as the parser.

use super::{DAY_MS, HOUR_MS, MINUTE_MS, Millis, SECOND_MS};

/// The accepted duration forms, appended to every duration error.
pub const DURATION_FORMS: &str = "write whole numbers with a unit (ms, s, m, h, d), e.g. \"300ms\", \"45s\", \"10m\", \"6h\", \"30d\" or \"1d 6h\"";

/// The largest CPU request a pod can make: the largest instance type in the limits (1024 vCPU).
pub const MAX_CPU_MILLIS: u32 = 1024 * 1000;

/// The largest memory request a pod can make: 65536 GiB, the instance-type limit.
pub const MAX_MEMORY_MIB: u64 = 65536 * 1024;

const MIB: u128 = 1 << 20;

/// Parses "300ms", "45s", "10m", "6h", "30d" or combinations such as "1d 6h" or "1d6h".
///
/// Amounts are whole numbers; the parts are added up. The error says what is wrong and shows
/// the accepted forms.
pub fn parse_duration_ms(text: &str) -> Result<Millis, String> {
    let fail = |why: String| format!("invalid duration \"{text}\": {why}; {DURATION_FORMS}");
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(fail("it is empty".to_string()));
    }
    let mut total: Millis = 0;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            let why = if rest.starts_with('-') {
                "a duration cannot be negative".to_string()
            } else {
                format!("expected a number at \"{rest}\"")
            };
            return Err(fail(why));
        }
        let (number, tail) = rest.split_at(digits);
        if tail.starts_with('.') || tail.starts_with(',') {
            return Err(fail(
                "amounts are whole numbers (\"90m\" rather than \"1.5h\")".to_string(),
            ));
        }
        let unit_len = tail
            .find(|c: char| !c.is_alphabetic())
            .unwrap_or(tail.len());
        let (unit, after) = tail.split_at(unit_len);
        let factor = match unit {
            "ms" => 1,
            "s" => SECOND_MS,
            "m" => MINUTE_MS,
            "h" => HOUR_MS,
            "d" => DAY_MS,
            "" => return Err(fail(format!("\"{number}\" has no unit"))),
            other => return Err(fail(format!("unknown unit \"{other}\""))),
        };
        let too_long = || fail("it is too long".to_string());
        let amount: u64 = number.parse().map_err(|_| too_long())?;
        total = amount
            .checked_mul(factor)
            .and_then(|part| total.checked_add(part))
            .ok_or_else(too_long)?;
        rest = after.trim_start();
    }
    Ok(total)
}

/// Formats a duration the way users write it: the non-zero parts from days down to
/// milliseconds, e.g. "1d 6h", "1s 500ms"; zero is "0s".
pub fn format_duration(ms: Millis) -> String {
    if ms == 0 {
        return "0s".to_string();
    }
    let units = [
        (DAY_MS, "d"),
        (HOUR_MS, "h"),
        (MINUTE_MS, "m"),
        (SECOND_MS, "s"),
        (1, "ms"),
    ];
    let mut rest = ms;
    let mut parts = Vec::new();
    for (size, name) in units {
        let amount = rest / size;
        rest %= size;
        if amount > 0 {
            parts.push(format!("{amount}{name}"));
        }
    }
    parts.join(" ")
}

/// A duration for people: the two largest nonzero units, rounded down (`2d 10h`, `10m 29s`,
/// `4.5s`), so columns stay readable; the CSV files keep milliseconds.
pub fn human_duration(ms: Millis) -> String {
    if ms < 60_000 {
        return match ms {
            0 => "0s".into(),
            1..1_000 => format!("{ms}ms"),
            _ => format!("{:.1}s", ms as f64 / 1000.0),
        };
    }
    let units = [
        (86_400_000, "d"),
        (3_600_000, "h"),
        (60_000, "m"),
        (1_000, "s"),
    ];
    let parts: Vec<String> = units
        .iter()
        .scan(ms, |rest, &(unit, name)| {
            let count = *rest / unit;
            *rest %= unit;
            Some((count, name))
        })
        .filter(|&(count, _)| count > 0)
        .take(2)
        .map(|(count, name)| format!("{count}{name}"))
        .collect();
    parts.join(" ")
}

/// A non-negative decimal read exactly: `mantissa / 10^scale`.
struct Decimal {
    mantissa: u128,
    scale: u32,
}

/// Reads "12", "0.5", ".5" or "3."; no sign, no exponent. `None` when it is not such a number.
fn parse_decimal(text: &str) -> Option<Decimal> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && fraction.is_empty()) || !all_digits(whole) || !all_digits(fraction) {
        return None;
    }
    // 10^30 x 2^40 still fits in a u128; longer inputs are not quantities anyone means.
    if whole.len() + fraction.len() > 30 {
        return None;
    }
    let digits = format!("{whole}{fraction}");
    Some(Decimal {
        mantissa: digits.parse().ok()?,
        scale: u32::try_from(fraction.len()).ok()?,
    })
}

/// `ceil(mantissa x multiplier / (10^scale x divisor))`, `None` on overflow.
fn scaled_ceil(decimal: &Decimal, multiplier: u128, divisor: u128) -> Option<u128> {
    let numerator = decimal.mantissa.checked_mul(multiplier)?;
    let denominator = 10u128.checked_pow(decimal.scale)?.checked_mul(divisor)?;
    Some(numerator.div_ceil(denominator))
}

/// Parses a CPU request: "250m" (millicores), "2" or "0.5" (cores). Finer than a millicore
/// rounds up, as Kubernetes does.
pub fn parse_cpu_millis(text: &str) -> Result<u32, String> {
    let forms = "write millicores such as \"250m\" or cores such as \"2\" or \"0.5\"";
    let trimmed = text.trim();
    if trimmed.starts_with('-') {
        return Err(format!("cpu \"{text}\" cannot be negative"));
    }
    let (number, multiplier) = match trimmed.strip_suffix('m') {
        Some(millis) => (millis, 1),
        None => (trimmed, 1000),
    };
    let decimal =
        parse_decimal(number).ok_or_else(|| format!("invalid cpu \"{text}\"; {forms}"))?;
    let millis = scaled_ceil(&decimal, multiplier, 1)
        .filter(|&m| m <= u128::from(MAX_CPU_MILLIS))
        .ok_or_else(|| format!("cpu \"{text}\" is more than the 1024 cores of any node"))?;
    u32::try_from(millis).map_err(|_| format!("cpu \"{text}\" is too large"))
}

/// CPU given as a TOML number of cores (2 or 0.5).
pub fn cpu_millis_from_cores(cores: f64) -> Result<u32, String> {
    if !cores.is_finite() {
        return Err(format!("cpu {cores} is not a number of cores"));
    }
    if cores < 0.0 {
        return Err(format!("cpu {cores} cannot be negative"));
    }
    // Rust prints the shortest text that reads back as the same float ("0.3", not
    // "0.29999999999999998"), so going through text avoids binary rounding.
    parse_cpu_millis(&format!("{cores}"))
}

/// Parses a memory request into MiB, rounded up: binary suffixes Ki, Mi, Gi, Ti, decimal
/// suffixes k, M, G, T, or a plain number of bytes.
pub fn parse_memory_mib(text: &str) -> Result<u64, String> {
    let forms = "write a number with Ki, Mi, Gi, Ti (binary), k, M, G, T (decimal) or no suffix for bytes, e.g. \"256Mi\" or \"1Gi\"";
    let trimmed = text.trim();
    if trimmed.starts_with('-') {
        return Err(format!("memory \"{text}\" cannot be negative"));
    }
    let split = trimmed
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(trimmed.len());
    let (number, suffix) = trimmed.split_at(split);
    let multiplier: u128 = match suffix {
        "" => 1,
        "Ki" => 1 << 10,
        "Mi" => 1 << 20,
        "Gi" => 1 << 30,
        "Ti" => 1 << 40,
        "k" => 1_000,
        "M" => 1_000_000,
        "G" => 1_000_000_000,
        "T" => 1_000_000_000_000,
        other => {
            return Err(format!(
                "invalid memory \"{text}\": unknown suffix \"{other}\"; {forms}"
            ));
        }
    };
    let decimal =
        parse_decimal(number).ok_or_else(|| format!("invalid memory \"{text}\"; {forms}"))?;
    scaled_ceil(&decimal, multiplier, MIB)
        .and_then(|mib| u64::try_from(mib).ok())
        .filter(|&mib| mib <= MAX_MEMORY_MIB)
        .ok_or_else(|| format!("memory \"{text}\" is more than the 65536 GiB of any node"))
}

/// Memory given as a TOML integer: bytes, rounded up to MiB.
pub fn memory_mib_from_bytes(bytes: i64) -> Result<u64, String> {
    if bytes < 0 {
        return Err(format!("memory {bytes} cannot be negative"));
    }
    parse_memory_mib(&bytes.to_string())
}

/// Parses a percentage such as "25%" (whole percent, as Kubernetes requires).
pub fn parse_percent(text: &str) -> Result<f64, String> {
    let forms = "write a whole percentage such as \"25%\" or an integer count";
    let number = text
        .trim()
        .strip_suffix('%')
        .ok_or_else(|| format!("invalid amount \"{text}\"; {forms}"))?;
    if number.trim_start().starts_with('-') {
        return Err(format!("amount \"{text}\" cannot be negative"));
    }
    let percent: u32 = number
        .trim()
        .parse()
        .map_err(|_| format!("invalid amount \"{text}\"; {forms}"))?;
    Ok(f64::from(percent))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_durations_keep_two_units() {
        assert_eq!(human_duration(0), "0s");
        assert_eq!(human_duration(450), "450ms");
        assert_eq!(human_duration(4_544), "4.5s");
        assert_eq!(human_duration(629_100), "10m 29s");
        assert_eq!(human_duration(2 * 86_400_000 + 629_100), "2d 10m");
        assert_eq!(
            human_duration(2 * 86_400_000 + 3 * 3_600_000 + 629_100),
            "2d 3h"
        );
    }

    #[test]
    fn durations_parse_every_unit_and_combinations() {
        assert_eq!(parse_duration_ms("300ms"), Ok(300));
        assert_eq!(parse_duration_ms("45s"), Ok(45_000));
        assert_eq!(parse_duration_ms("10m"), Ok(600_000));
        assert_eq!(parse_duration_ms("6h"), Ok(21_600_000));
        assert_eq!(parse_duration_ms("30d"), Ok(2_592_000_000));
        assert_eq!(parse_duration_ms("1d 6h"), Ok(108_000_000));
        assert_eq!(parse_duration_ms("1d6h"), Ok(108_000_000));
        assert_eq!(parse_duration_ms("  12d 10m "), Ok(1_037_400_000));
        assert_eq!(parse_duration_ms("1m30s"), Ok(90_000));
        assert_eq!(parse_duration_ms("0s"), Ok(0));
        assert_eq!(parse_duration_ms("1s 500ms"), Ok(1_500));
    }

    #[test]
    fn bad_durations_say_why_and_show_the_forms() {
        for (input, why) in [
            ("", "it is empty"),
            ("  ", "it is empty"),
            ("10", "\"10\" has no unit"),
            ("1.5h", "whole numbers"),
            ("-5s", "cannot be negative"),
            ("5x", "unknown unit \"x\""),
            ("5 s", "\"5\" has no unit"),
            ("10M", "unknown unit \"M\""),
            ("5sec", "unknown unit \"sec\""),
            ("1d 6", "\"6\" has no unit"),
            ("abc", "expected a number at \"abc\""),
            ("99999999999999999999d", "too long"),
            ("213503982335d", "too long"),
        ] {
            let err = parse_duration_ms(input).expect_err(input);
            assert!(err.contains(why), "{input}: {err}");
            assert!(err.contains("\"1d 6h\""), "{input}: {err}");
            assert!(err.starts_with("invalid duration"), "{input}: {err}");
        }
    }

    #[test]
    fn durations_format_compactly_and_read_back() {
        assert_eq!(format_duration(0), "0s");
        assert_eq!(format_duration(1_500), "1s 500ms");
        assert_eq!(format_duration(90_000_000), "1d 1h");
        assert_eq!(format_duration(2_592_000_000), "30d");
        assert_eq!(format_duration(7), "7ms");
        assert_eq!(format_duration(3_723_004), "1h 2m 3s 4ms");
        for ms in [1, 999, 60_000, 86_399_999, 315_360_000_000] {
            assert_eq!(parse_duration_ms(&format_duration(ms)), Ok(ms));
        }
    }

    #[test]
    fn cpu_reads_millicores_and_cores() {
        assert_eq!(parse_cpu_millis("250m"), Ok(250));
        assert_eq!(parse_cpu_millis("2"), Ok(2000));
        assert_eq!(parse_cpu_millis("0.5"), Ok(500));
        assert_eq!(parse_cpu_millis("0.0001"), Ok(1));
        assert_eq!(cpu_millis_from_cores(0.5), Ok(500));
        assert_eq!(cpu_millis_from_cores(0.3), Ok(300));
        assert_eq!(cpu_millis_from_cores(2.0), Ok(2000));
        assert!(parse_cpu_millis("-1").unwrap_err().contains("negative"));
        assert!(
            parse_cpu_millis("2 cores")
                .unwrap_err()
                .contains("\"250m\"")
        );
        assert!(parse_cpu_millis("2000").unwrap_err().contains("1024 cores"));
        assert!(cpu_millis_from_cores(f64::NAN).is_err());
        assert!(cpu_millis_from_cores(-0.5).is_err());
    }

    #[test]
    fn memory_reads_binary_and_decimal_suffixes() {
        assert_eq!(parse_memory_mib("256Mi"), Ok(256));
        assert_eq!(parse_memory_mib("1Gi"), Ok(1024));
        assert_eq!(parse_memory_mib("1.5Gi"), Ok(1536));
        assert_eq!(parse_memory_mib("2Ti"), Ok(2 * 1024 * 1024));
        assert_eq!(parse_memory_mib("1024Ki"), Ok(1));
        // 512e6 / 2^20 = 488.28..., rounded up.
        assert_eq!(parse_memory_mib("512M"), Ok(489));
        assert_eq!(parse_memory_mib("1G"), Ok(954));
        assert_eq!(parse_memory_mib("1048576"), Ok(1));
        assert_eq!(parse_memory_mib("1048577"), Ok(2));
        assert_eq!(memory_mib_from_bytes(0), Ok(0));
        assert_eq!(memory_mib_from_bytes(1), Ok(1));
        assert!(
            parse_memory_mib("1Gb")
                .unwrap_err()
                .contains("unknown suffix \"Gb\"")
        );
        assert!(parse_memory_mib("lots").is_err());
        assert!(parse_memory_mib("-1Mi").unwrap_err().contains("negative"));
        assert!(parse_memory_mib("100Ti").unwrap_err().contains("65536 GiB"));
        assert!(memory_mib_from_bytes(-5).is_err());
    }

    #[test]
    fn percentages_are_whole() {
        assert_eq!(parse_percent("25%"), Ok(25.0));
        assert_eq!(parse_percent("0%"), Ok(0.0));
        assert!(parse_percent("25").is_err());
        assert!(parse_percent("12.5%").is_err());
        assert!(parse_percent("-5%").unwrap_err().contains("negative"));
    }
}
