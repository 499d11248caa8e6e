//! Lints: the Terway configuration mistakes an operator wants to hear about before the outage,
//! each as a [`Finding`] with a stable code and a one-line fix.
//!
//! Most rules that concern one key are already found while a scenario is validated and come
//! back as [`Warning`]s; [`check`] turns those into findings (classified by what they say) and
//! adds the rules that need the whole scenario: whether a zone's vSwitches can hold its node
//! pools at full size, and for how many days at the scenario's growth; a single vSwitch per
//! zone; random vSwitch selection; idle pools that hoard a zone's addresses; vSwitches no entry
//! of the scenario's SNAT table covers. Import adds lints of its own about the files it read
//! (see [`crate::import`]); they use the same type.
//!
//! Codes are listed in [`LINTS`] and in the README; they never change meaning.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::de::{DeTable, DeValue};

mod rules;

pub use rules::region_of;

use crate::scenario::key_segment;
use crate::scenario::{
    ActionKind, DAY_MS, JobDuration, Millis, Scenario, TerwayConfig, VSwitchSelection, Warning,
    WorkloadKind, format_duration, usable_addresses,
};

/// How bad a finding is: `planner check` exits 2 when any finding is an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Allowed, and modelled as Terway does it, but probably not meant.
    Warning,
    /// The configuration cannot do what it says (a listed vSwitch Terway skips, nodes ACK
    /// refuses).
    Error,
}

impl Severity {
    /// `warning` or `error`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One lint's identity, for listings and documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lint {
    /// Stable kebab-case code, e.g. `vswitch-wrong-zone`.
    pub code: &'static str,
    /// The severity its findings have.
    pub severity: Severity,
    /// Where it runs: `check` (every scenario) or `import` (the files import reads).
    pub stage: &'static str,
    /// What it finds, in one line.
    pub summary: &'static str,
}

/// Every lint code, in the order the README lists them.
pub const LINTS: &[Lint] = &[
    Lint {
        code: "eni-conf-unparsable",
        severity: Severity::Warning,
        stage: "import",
        summary: "eni_conf that Terway itself would fail to parse (e.g. `#` comments after values, a number written as a string); import reads it anyway",
    },
    Lint {
        code: "eni-conf-unmodelled",
        severity: Severity::Warning,
        stage: "import",
        summary: "an eni_conf setting the model does not simulate (an unknown ipam_type, eRDMA, dual stack, prefixes, eni_cap_ratio)",
    },
    Lint {
        code: "import-vswitch-missing",
        severity: Severity::Warning,
        stage: "import",
        summary: "eni_conf lists a vSwitch the DescribeVSwitches dump does not have; it is left out of the scenario",
    },
    Lint {
        code: "import-partial-listing",
        severity: Severity::Warning,
        stage: "import",
        summary: "DescribeVSwitches or DescribeSnatTableEntries printed one page of several (TotalCount is larger than the list)",
    },
    Lint {
        code: "import-node-skipped",
        severity: Severity::Warning,
        stage: "import",
        summary: "a node without zone or instance type (e.g. a virtual node) is left out, with its pods",
    },
    Lint {
        code: "import-usage-mismatch",
        severity: Severity::Warning,
        stage: "import",
        summary: "the cluster's nodes and pods hold more addresses in a vSwitch than it reports in use (dumps taken at different times)",
    },
    Lint {
        code: "import-empty-list",
        severity: Severity::Warning,
        stage: "import",
        summary: "a nodes or pods list printed with `\"items\": null`: read as an empty list",
    },
    Lint {
        code: "import-terway-config-missing",
        severity: Severity::Warning,
        stage: "import",
        summary: "nodes name a Terway ConfigMap with their `terway-config` label that no --eni-config file holds: their pool gets eni-config's settings",
    },
    Lint {
        code: "import-terway-config-mixed",
        severity: Severity::Warning,
        stage: "import",
        summary: "the nodes of one pool name different Terway ConfigMaps (`terway-config`): the pool gets the most common",
    },
    Lint {
        code: "import-reservation-skipped",
        severity: Severity::Warning,
        stage: "import",
        summary: "a reserved CIDR block being released (ListVSwitchCidrReservations): left out",
    },
    Lint {
        code: "import-instance-type-incomplete",
        severity: Severity::Warning,
        stage: "import",
        summary: "a DescribeInstanceTypes entry without EniPrivateIpAddressQuantity (or with a fractional count) for a type the catalog knows: the catalog's limits are used (a type it does not know is an error)",
    },
    Lint {
        code: "import-podnetworking-skipped",
        severity: Severity::Warning,
        stage: "import",
        summary: "a PodNetworking with no vSwitch in the DescribeVSwitches listing, or given twice: left out (its pods use the shared ENIs)",
    },
    Lint {
        code: "import-podnetworking-vswitch-unknown",
        severity: Severity::Warning,
        stage: "import",
        summary: "a PodNetworking lists a vSwitch the DescribeVSwitches listing does not have: left out of its vswitches",
    },
    Lint {
        code: "import-podnetworking-namespace-labels",
        severity: Severity::Warning,
        stage: "import",
        summary: "a PodNetworking's namespaceSelector needs namespace labels other than kubernetes.io/metadata.name and no --namespaces was given: only annotated pods are bound to it",
    },
    Lint {
        code: "import-podnetworking-mixed",
        severity: Severity::Warning,
        stage: "import",
        summary: "the pods of one workload match different PodNetworkings (or some none): the workload gets the most common",
    },
    Lint {
        code: "import-podnetworking-unbound",
        severity: Severity::Warning,
        stage: "import",
        summary: "a workload's pods use a PodNetworking but the scenario has neither trunking nor an exclusive-ENI pool for them: written without podnetworking",
    },
    Lint {
        code: "import-trunking-off",
        severity: Severity::Warning,
        stage: "import",
        summary: "eni_conf turns enable_eni_trunking on but the scenario cannot (no EniTotalQuantity for a node type, ipam_type not crd, prefix mode): written as false",
    },
    Lint {
        code: "import-exclusive-eni-mixed",
        severity: Severity::Warning,
        stage: "import",
        summary: "only some nodes of a pool carry the exclusive-ENI label: the pool is not exclusive-ENI",
    },
    Lint {
        code: "import-exclusive-eni-prefix",
        severity: Severity::Warning,
        stage: "import",
        summary: "nodes with the exclusive-ENI label in a pool whose Terway config runs IP prefix mode: the pool is not exclusive-ENI",
    },
    Lint {
        code: "vswitch-wrong-zone",
        severity: Severity::Error,
        stage: "check",
        summary: "a vSwitch listed under a zone it is not in: Terway skips it, so the expansion does nothing",
    },
    Lint {
        code: "vswitch-keyed-by-region",
        severity: Severity::Error,
        stage: "check",
        summary: "a terway.vswitches key that is a region (`cn-hangzhou`), not a zone: Terway looks up the node's zone, so its vSwitches are never used",
    },
    Lint {
        code: "vswitch-listed-twice",
        severity: Severity::Warning,
        stage: "check",
        summary: "one vSwitch listed under two or more zones: a vSwitch is in one zone, and Terway skips it for nodes of the others",
    },
    Lint {
        code: "zone-without-vswitch",
        severity: Severity::Warning,
        stage: "check",
        summary: "a zone with node pools but no Terway vSwitch: pods take the nodes' primary vSwitch",
    },
    Lint {
        code: "vswitch-zone-without-nodes",
        severity: Severity::Warning,
        stage: "check",
        summary: "a vSwitch in a zone where no node pool runs: its addresses are never used",
    },
    Lint {
        code: "terway-zone-unused",
        severity: Severity::Warning,
        stage: "check",
        summary: "a terway.vswitches key naming a zone with no vSwitch and no node pool (often a typo)",
    },
    Lint {
        code: "min-pool-above-max",
        severity: Severity::Warning,
        stage: "check",
        summary: "min_pool_size above max_pool_size: Terway caps it",
    },
    Lint {
        code: "max-pool-above-capacity",
        severity: Severity::Warning,
        stage: "check",
        summary: "max_pool_size above what a node can hold: Terway caps it",
    },
    Lint {
        code: "selection-policy-unknown",
        severity: Severity::Warning,
        stage: "check",
        summary: "a vswitch_selection_policy other than `ordered` or `random`: Terway treats it as random",
    },
    Lint {
        code: "instance-type-too-small",
        severity: Severity::Error,
        stage: "check",
        summary: "an instance type with a Terway pod capacity of 11 or less: ACK will not add such nodes",
    },
    Lint {
        code: "vswitch-too-small",
        severity: Severity::Warning,
        stage: "check",
        summary: "a zone's vSwitches hold fewer addresses than its node pools at max_nodes could need, with the days of headroom at the scenario's growth",
    },
    Lint {
        code: "single-vswitch",
        severity: Severity::Warning,
        stage: "check",
        summary: "a zone with one Terway vSwitch: when it fills, nodes have nowhere else to open an ENI",
    },
    Lint {
        code: "random-vswitch-selection",
        severity: Severity::Warning,
        stage: "check",
        summary: "a zone lists several vSwitches but vswitch_selection_policy is not `ordered`: new ENIs may land on the fullest one",
    },
    Lint {
        code: "idle-pool-fraction",
        severity: Severity::Warning,
        stage: "check",
        summary: "the nodes' idle pools (max_pool_size each) could hold more than the allowed fraction (--idle-fraction, default 20%) of a zone's addresses",
    },
    Lint {
        code: "set-terway-without-restart",
        severity: Severity::Warning,
        stage: "check",
        summary: "a set_terway action with no restart_terway after it: running daemons keep the old config",
    },
    Lint {
        code: "added-vswitch-unlisted",
        severity: Severity::Warning,
        stage: "check",
        summary: "an add_vswitch that no Terway config ever lists: Terway never uses it",
    },
    Lint {
        code: "vswitch-without-snat",
        severity: Severity::Warning,
        stage: "check",
        summary: "a vSwitch Terway lists (or an add_vswitch) that no entry of the scenario's SNAT table covers: its pods cannot reach the internet (only when the scenario carries the table)",
    },
    Lint {
        code: "scenario-warning",
        severity: Severity::Warning,
        stage: "check",
        summary: "any other warning of the scenario validator",
    },
    Lint {
        code: "invalid-scenario",
        severity: Severity::Error,
        stage: "check",
        summary: "the scenario does not parse or validate (the message says where)",
    },
];

/// The [`Lint`] of a code; `None` for a code not in [`LINTS`].
pub fn lint(code: &str) -> Option<&'static Lint> {
    LINTS.iter().find(|lint| lint.code == code)
}

/// One thing found, with where and how to fix it.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// Warning or error.
    pub severity: Severity,
    /// One of the codes in [`LINTS`].
    pub code: &'static str,
    /// The key path in the scenario (`terway.max_pool_size`, `vswitch[0].cidr`) or in the
    /// imported file (`data.eni_conf`).
    pub key: String,
    /// 1-based line in the file, where known.
    pub line: Option<usize>,
    /// What is wrong and what Terway does with it.
    pub message: String,
    /// One line saying what to change.
    pub fix: String,
    /// The file the finding is about when it is not the scenario being checked (import's
    /// findings about its input files).
    pub file: Option<PathBuf>,
}

impl Finding {
    /// A finding of `code` with the severity [`LINTS`] gives it.
    pub fn new(
        code: &'static str,
        key: impl Into<String>,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Finding {
            severity: lint(code).map_or(Severity::Warning, |lint| lint.severity),
            code,
            key: key.into(),
            line: None,
            message: message.into(),
            fix: fix.into(),
            file: None,
        }
    }

    /// The same finding about `file`.
    pub fn in_file(mut self, file: &Path) -> Self {
        self.file = Some(file.to_path_buf());
        self
    }

    /// The same finding at `line`.
    pub fn at_line(mut self, line: Option<usize>) -> Self {
        self.line = line;
        self
    }

    /// One line naming `file` (or the finding's own file): `warning[code]: FILE:LINE: key:
    /// message; fix: ...`.
    pub fn display_in(&self, file: &Path) -> String {
        let file = self.file.as_deref().unwrap_or(file);
        let line = self.line.map(|l| format!(":{l}")).unwrap_or_default();
        format!(
            "{}[{}]: {}{line}: {}",
            self.severity,
            self.code,
            file.display(),
            self.body()
        )
    }

    fn body(&self) -> String {
        let key = if self.key.is_empty() {
            String::new()
        } else {
            format!("{}: ", self.key)
        };
        format!("{key}{}; fix: {}", self.message, self.fix)
    }
}

/// One line: `warning[code]: line 12: key: message; fix: ...` (with the file when the finding
/// names one).
impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}[{}]: ", self.severity, self.code)?;
        match (&self.file, self.line) {
            (Some(file), Some(line)) => write!(f, "{}:{line}: ", file.display())?,
            (Some(file), None) => write!(f, "{}: ", file.display())?,
            (None, Some(line)) => write!(f, "line {line}: ")?,
            (None, None) => {}
        }
        f.write_str(&self.body())
    }
}

/// Settings of the whole-scenario lints.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LintOptions {
    /// `idle-pool-fraction` fires when idle pools could hold more than this fraction of a
    /// zone's addresses (default 0.2).
    pub idle_fraction: f64,
}

impl Default for LintOptions {
    fn default() -> Self {
        LintOptions { idle_fraction: 0.2 }
    }
}

/// Whether any finding is an error.
pub fn has_errors(findings: &[Finding]) -> bool {
    findings.iter().any(|f| f.severity == Severity::Error)
}

/// Every finding for a validated scenario: its validation `warnings` as findings, then the
/// whole-scenario lints. Lines come from the warnings; call [`locate`] with the file's text to
/// fill in the lines of the others.
pub fn check(scenario: &Scenario, warnings: &[Warning], options: &LintOptions) -> Vec<Finding> {
    let mut findings: Vec<Finding> = warnings.iter().map(from_warning).collect();
    rules::add_whole_scenario(scenario, options, &mut findings);
    findings
}

/// A scenario that failed to load, as a finding (for `--format json`).
pub fn invalid_scenario(error: &crate::scenario::ScenarioError) -> Finding {
    Finding::new(
        "invalid-scenario",
        error.key.clone(),
        error.message.clone(),
        "correct the scenario at the line given; `planner run` refuses it as it is",
    )
    .at_line(error.line)
}

/// The names written between backticks in a message, in order.
fn quoted(message: &str) -> Vec<&str> {
    message.split('`').skip(1).step_by(2).collect()
}

/// A validation warning as a finding, classified by what it says; a warning no rule knows
/// becomes `scenario-warning`.
pub fn from_warning(warning: &Warning) -> Finding {
    let message = warning.message.as_str();
    let names = quoted(message);
    let name = |i: usize| names.get(i).copied().unwrap_or("?");
    let (code, fix) = if message.contains("; Terway skips it for nodes in") {
        (
            "vswitch-wrong-zone",
            format!(
                "list `{}` under \"{}\" in eni_conf vswitches, and list a vSwitch of zone `{}` under \"{}\"",
                name(0),
                name(1),
                name(2),
                name(2)
            ),
        )
    } else if message.contains("; Terway never uses this entry") {
        let fix = match names.get(1) {
            Some(near) => format!("rename the key `{}` to `{near}`", name(0)),
            None => format!(
                "remove the `{}` entry, or correct the zone name to one the cluster runs in",
                name(0)
            ),
        };
        ("terway-zone-unused", fix)
    } else if message.contains("is neither `ordered` nor `random`") {
        (
            "selection-policy-unknown",
            "set vswitch_selection_policy = \"ordered\" (most free addresses first)".to_string(),
        )
    } else if message.contains("Terway caps min_pool_size") {
        (
            "min-pool-above-max",
            "lower min_pool_size to at most max_pool_size, or raise max_pool_size".to_string(),
        )
    } else if message.contains("ACK refuses nodes of") {
        (
            "instance-type-too-small",
            "use an instance type with (ENIs - 1) x IPv4 per ENI above 11, e.g. ecs.g7.large (12) or ecs.g7.xlarge (45); see `planner catalog`".to_string(),
        )
    } else if message.contains("Terway falls back to the node's primary vSwitch") {
        (
            "zone-without-vswitch",
            format!(
                "list a vSwitch of zone `{}` under \"{}\" in eni_conf vswitches (and restart Terway)",
                name(0),
                name(0)
            ),
        )
    } else if message.contains("; Terway caps the pool there") {
        (
            "max-pool-above-capacity",
            "lower max_pool_size to at most the smallest node's capacity (Terway caps it anyway)"
                .to_string(),
        )
    } else if message.contains("its vSwitches stay unused") {
        (
            "vswitch-zone-without-nodes",
            format!(
                "add a node pool in zone `{}`, or drop its vSwitches from the scenario and eni_conf",
                name(0)
            ),
        )
    } else if message.contains("no restart_terway follows") {
        (
            "set-terway-without-restart",
            "add an [[action]] with restart_terway = true after it (kubectl -n kube-system rollout restart daemonset terway-eniip)".to_string(),
        )
    } else if message.contains("is never listed in terway.vswitches") {
        (
            "added-vswitch-unlisted",
            format!(
                "list `{}` under its zone with a set_terway action, then restart_terway",
                name(0)
            ),
        )
    } else {
        (
            "scenario-warning",
            "see the message; the scenario runs as Terway would".to_string(),
        )
    };
    Finding::new(code, warning.key.clone(), message, fix).at_line(warning.line)
}

/// Fills the line of every finding that has none from the scenario text, at the key's line or
/// its nearest ancestor's. Findings about another file are left alone.
pub fn locate(findings: &mut [Finding], text: &str) {
    let lines = KeyLines::new(text);
    for finding in findings.iter_mut() {
        if finding.line.is_none() && finding.file.is_none() {
            finding.line = lines.line(&finding.key);
        }
    }
}

/// Findings as a JSON array of `{severity, code, key, line, message, fix}` (and `file` for
/// findings about an input file), pretty-printed.
pub fn to_json(findings: &[Finding]) -> String {
    let items: Vec<serde_json::Value> = findings
        .iter()
        .map(|f| {
            let mut item = serde_json::json!({
                "severity": f.severity.as_str(),
                "code": f.code,
                "key": f.key,
                "line": f.line,
                "message": f.message,
                "fix": f.fix,
            });
            if let (Some(file), Some(object)) = (&f.file, item.as_object_mut()) {
                object.insert(
                    "file".to_string(),
                    serde_json::Value::String(file.display().to_string()),
                );
            }
            item
        })
        .collect();
    serde_json::to_string_pretty(&items).unwrap_or_else(|_| "[]".to_string())
}

/// Key paths of a TOML text and the lines they start on (the same paths the validator uses:
/// `vswitch[0].cidr`, `terway.vswitches."a b"`).
struct KeyLines {
    by_path: BTreeMap<String, usize>,
    line_starts: Vec<usize>,
}

impl KeyLines {
    fn new(text: &str) -> Self {
        let mut lines = KeyLines {
            by_path: BTreeMap::new(),
            line_starts: std::iter::once(0)
                .chain(text.match_indices('\n').map(|(i, _)| i + 1))
                .collect(),
        };
        if let Ok(root) = DeTable::parse(text) {
            for (key, value) in root.get_ref().iter() {
                lines.add(key_segment(key.get_ref()), key.span(), value.get_ref());
            }
        }
        lines
    }

    fn add(&mut self, path: String, at: Range<usize>, value: &DeValue<'_>) {
        match value {
            DeValue::Table(table) => {
                for (key, child) in table.iter() {
                    let child_path = format!("{path}.{}", key_segment(key.get_ref()));
                    self.add(child_path, key.span(), child.get_ref());
                }
            }
            DeValue::Array(items) => {
                for (index, item) in items.iter().enumerate() {
                    self.add(format!("{path}[{index}]"), item.span(), item.get_ref());
                }
            }
            _ => {}
        }
        let line = self.line_starts.partition_point(|&start| start <= at.start);
        self.by_path.entry(path).or_insert(line);
    }

    fn line(&self, path: &str) -> Option<usize> {
        let mut path = path;
        loop {
            if let Some(&line) = self.by_path.get(path) {
                return Some(line);
            }
            path = parent(path)?;
        }
    }
}

/// `a.b[2]` -> `a.b` -> `a`; quoted segments may hold dots and brackets.
fn parent(path: &str) -> Option<&str> {
    let mut cut = None;
    let mut in_quotes = false;
    let mut escaped = false;
    for (i, c) in path.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_quotes => escaped = true,
            '"' => in_quotes = !in_quotes,
            '.' | '[' if !in_quotes => cut = Some(i),
            _ => {}
        }
    }
    cut.map(|i| &path[..i])
}

#[cfg(test)]
mod tests;
