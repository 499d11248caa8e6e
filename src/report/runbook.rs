//! `runbook.md`: each recommendation as the commands an operator runs, in the order they run
//! them, with the scenario's values filled in: create the vSwitch (`aliyun vpc
//! CreateVSwitch`), give it a SNAT entry, list it in `eni-config` (one `kubectl patch` whose
//! `eni_conf` is the user's own with the vSwitch appended to its zone), restart Terway and
//! check, the same vSwitch and SNAT entry as Terraform, and when: the expansion point and a
//! Prometheus alert on the zone's used fraction.
//!
//! The id of a vSwitch is known only once it is created, so the commands keep it in a shell
//! variable (`VSW_1`, ...) that the first step sets and the later ones use. What the scenario
//! does not know (the VPC, the SNAT table, a free block) is written as a `<placeholder>` with
//! a line saying so. Pure: scenario and recommendations in, bytes out.

use std::fmt::Write as _;

use serde_json::{Map, Value};

use crate::lint::region_of;
use crate::plan::{Recommendation, pod_vswitches, zone_usable};
use crate::scenario::{ActionKind, EniSelection, Millis, usable_addresses};
use crate::scenario::{
    IdleReclaim, MIN_VSWITCH_PREFIX, Scenario, TerwayConfig, VSwitchSelection, human_duration,
};

/// The prefix of the shell variables that hold the new vSwitches' ids.
const VARIABLE: &str = "VSW_";

/// `runbook.md`, or `None` when there is nothing to add.
pub fn runbook_md(scenario: &Scenario, recommendations: &[Recommendation]) -> Option<Vec<u8>> {
    if recommendations.is_empty() {
        return None;
    }
    Some(
        Runbook::new(scenario, recommendations)
            .markdown()
            .into_bytes(),
    )
}

/// One vSwitch to create.
#[derive(Debug, Clone, PartialEq)]
pub struct NewVSwitch {
    /// 1, 2, ...: its shell variable is `VSW_1`.
    pub number: usize,
    /// Index into `scenario.zones`.
    pub zone: usize,
    /// Its block, or a placeholder.
    pub cidr: String,
    /// `VSwitchName`.
    pub name: String,
}

impl NewVSwitch {
    /// `VSW_1`.
    pub fn variable(&self) -> String {
        format!("{VARIABLE}{}", self.number)
    }

    /// What stands for its id in the texts built here, replaced when they are written.
    fn token(&self) -> String {
        format!("@@{}@@", self.variable())
    }
}

/// The recommendations in the order to carry them out, with their new vSwitches.
pub struct Runbook<'a> {
    scenario: &'a Scenario,
    /// (recommendation, its new vSwitches), earliest expansion first.
    steps: Vec<(&'a Recommendation, Vec<NewVSwitch>)>,
}

impl<'a> Runbook<'a> {
    /// Orders the recommendations by when they are due and numbers their vSwitches.
    pub fn new(scenario: &'a Scenario, recommendations: &'a [Recommendation]) -> Self {
        let mut order: Vec<&Recommendation> = recommendations.iter().collect();
        order.sort_by_key(|r| (r.expand_by_ms, r.zone));
        let mut number = 0;
        let mut per_zone: Vec<usize> = (0..scenario.zones.len())
            .map(|zone| scenario.vswitches.iter().filter(|v| v.zone == zone).count())
            .collect();
        let steps = order
            .into_iter()
            .map(|rec| {
                let prefix = rec.add_prefix_len.unwrap_or(MIN_VSWITCH_PREFIX);
                let news = (0..rec.add_count.max(1))
                    .map(|copy| {
                        number += 1;
                        per_zone[rec.zone] += 1;
                        let cidr = match rec.add_cidr.filter(|_| copy == 0) {
                            Some(block) => block.to_string(),
                            None => format!("<free /{prefix} block of the VPC>"),
                        };
                        NewVSwitch {
                            number,
                            zone: rec.zone,
                            cidr,
                            name: format!("terway-pods-{}-{}", rec.zone_name, per_zone[rec.zone]),
                        }
                    })
                    .collect();
                (rec, news)
            })
            .collect();
        Runbook { scenario, steps }
    }

    /// The new vSwitches of every step, in order.
    pub fn vswitches(&self) -> impl Iterator<Item = &NewVSwitch> {
        self.steps.iter().flat_map(|(_, news)| news.iter())
    }

    /// The region of a zone, from its name.
    fn region(&self, zone: usize) -> String {
        let region = region_of(&self.scenario.zones[zone]);
        if region.starts_with('<') {
            "<region-id>".to_string()
        } else {
            region
        }
    }

    /// The VPC of the zone's vSwitches (or of any vSwitch), or a placeholder.
    fn vpc(&self, zone: usize) -> Option<&str> {
        let ids = &self.scenario.live.vpc_ids;
        let in_zone = self
            .scenario
            .vswitches
            .iter()
            .enumerate()
            .filter(|(_, v)| v.zone == zone)
            .find_map(|(i, _)| ids.get(i)?.as_deref());
        in_zone.or_else(|| ids.iter().flatten().next().map(String::as_str))
    }

    /// The whole file.
    pub fn markdown(&self) -> String {
        let s = self.scenario;
        let mut out = String::new();
        let _ = writeln!(out, "# Runbook: more pod addresses for `{}`", s.name);
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "`planner run` of `{}` ({} runs, seed {}) found {} whose vSwitches will not hold the pods' addresses. Below, for each, in the order to carry them out: create the vSwitch, give it a SNAT entry, list it in `eni-config`, restart Terway and check, the same as Terraform, and when to do it. Times are from the scenario's start (the day it was imported).",
            s.source.display(),
            s.runs,
            s.seed,
            match self.steps.len() {
                1 => "one zone".to_string(),
                n => format!("{n} zones"),
            }
        );
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "| zone | new vSwitch | block | addresses | expand by | alert above | verified |"
        );
        let _ = writeln!(out, "|---|---|---|---|---|---|---|");
        for (rec, news) in &self.steps {
            for new in news {
                let _ = writeln!(
                    out,
                    "| {} | `${}` ({}) | {} | {} | {} | {:.0}% used | {} |",
                    rec.zone_name,
                    new.variable(),
                    new.name,
                    new.cidr,
                    usable_addresses(rec.add_prefix_len.unwrap_or(MIN_VSWITCH_PREFIX)),
                    when(rec),
                    rec.trigger_used_fraction * 100.0,
                    match rec.verified {
                        Some(true) => "yes: no shortage in the re-run",
                        Some(false) => "no: not enough alone",
                        None => "not checked",
                    }
                );
            }
        }
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "The commands need the `aliyun` CLI (configured for the account), `kubectl` (for the cluster) and `jq`. Each new vSwitch's id is kept in a shell variable (`$VSW_1`, ...) set by step 1: run a section's steps in one shell, or set the variable by hand (`VSW_1=vsw-...`)."
        );
        for (index, (rec, news)) in self.steps.iter().enumerate() {
            let _ = writeln!(out);
            self.section(&mut out, index, rec, news);
        }
        out
    }

    fn section(&self, out: &mut String, index: usize, rec: &Recommendation, news: &[NewVSwitch]) {
        let zone = &rec.zone_name;
        let _ = writeln!(
            out,
            "## {}. {zone}: {}",
            index + 1,
            crate::plan::describe(rec)
        );
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "At {} the zone needs {} addresses with headroom and its pod vSwitches give {}.",
            human_duration(rec.shortfall_at_ms),
            rec.needed_ips,
            rec.needed_ips - rec.shortfall_ips
        );
        if let Some(note) = &rec.cidr_note {
            let _ = writeln!(out);
            let _ = writeln!(
                out,
                "**Placeholder:** no block was chosen ({note}); replace `<free /{} block of the VPC>` with one, or give the scenario the VPC's blocks (`[vpc] cidr` and `secondary_cidrs`, which `aliyun vpc DescribeVpcAttribute --RegionId {} --VpcId {}` lists) and run it again to have one chosen.",
                rec.add_prefix_len.unwrap_or(MIN_VSWITCH_PREFIX),
                self.region(rec.zone),
                self.vpc(rec.zone).unwrap_or("<vpc-id>")
            );
        } else if news.len() > 1 {
            let _ = writeln!(
                out,
                "\n**Placeholder:** only the first block was chosen; give the others free blocks of the VPC."
            );
        }

        // 1. CreateVSwitch
        let _ = writeln!(out);
        let _ = writeln!(out, "### Step 1. Create the vSwitch");
        let _ = writeln!(out);
        let _ = writeln!(out, "```sh");
        for new in news {
            let _ = writeln!(out, "{}", self.create_vswitch(new));
            let _ = writeln!(out, "echo \"{zone}: ${}\"", new.variable());
        }
        let _ = writeln!(out, "```");
        let placeholders = self.placeholders(rec.zone);
        if !placeholders.is_empty() {
            let _ = writeln!(out);
            for line in placeholders {
                let _ = writeln!(out, "**Placeholder:** {line}");
            }
        }

        // 2. SNAT
        let _ = writeln!(out);
        let _ = writeln!(out, "### Step 2. Give it a SNAT entry");
        let _ = writeln!(out);
        self.snat_step(out, news);

        if let Some(pn) = rec.podnetworking {
            self.podnetworking_steps(out, pn, news);
        } else {
            self.eni_config_steps(out, index, news);
        }

        // 5. Terraform
        let _ = writeln!(out);
        let _ = writeln!(out, "### Step 5. The same in Terraform");
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "For a VPC kept in code: the vSwitch and its SNAT entry as `alicloud` provider resources (instead of steps 1 and 2; then set `$VSW_n` from `terraform output` or the console for step 3)."
        );
        let _ = writeln!(out);
        let _ = writeln!(out, "```hcl");
        out.push_str(&self.terraform(news));
        let _ = writeln!(out, "```");

        // 6. When
        let _ = writeln!(out);
        let _ = writeln!(out, "### Step 6. When");
        let _ = writeln!(out);
        self.when_step(out, rec);
    }

    /// Steps 3 and 4 for a PodNetworking's own vSwitches: the PodNetworking lists the new one
    /// (a cluster-scoped resource Terway's controller reads as it changes: no restart).
    fn podnetworking_steps(&self, out: &mut String, pn: usize, news: &[NewVSwitch]) {
        let name = &self.scenario.pod_enis.podnetworkings[pn].name;
        let _ = writeln!(out);
        let _ = writeln!(out, "### Step 3. List it in PodNetworking `{name}`");
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "The pods this PodNetworking selects take their ENIs from its `spec.vSwitchOptions`, in order (`ordered`: the first with addresses), not from `eni-config`. Append the new vSwitch:"
        );
        let _ = writeln!(out);
        let _ = writeln!(out, "```sh");
        let _ = writeln!(
            out,
            "kubectl get podnetworking {name} -o yaml > podnetworking-{name}.before.yaml"
        );
        for new in news {
            let _ = writeln!(
                out,
                "kubectl patch podnetworking {name} --type json -p '[{{\"op\": \"add\", \"path\": \"/spec/vSwitchOptions/-\", \"value\": \"'\"${}\"'\"}}]'",
                new.variable()
            );
        }
        let _ = writeln!(out, "```");
        let _ = writeln!(out);
        let _ = writeln!(out, "### Step 4. Check");
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "Terway's controller reads PodNetworking as it changes, so no restart is needed; new member ENIs open in the new vSwitch once the ones before it in the list are full."
        );
        let _ = writeln!(out);
        let _ = writeln!(out, "```sh");
        let _ = writeln!(
            out,
            "kubectl get podnetworking {name} -o jsonpath='{{.spec.vSwitchOptions}}{{\"\\n\"}}{{.status.status}}{{\"\\n\"}}'"
        );
        let _ = writeln!(
            out,
            "kubectl get pods -A --field-selector=status.phase=Pending -o wide | grep ContainerCreating"
        );
        let _ = writeln!(out, "```");
    }

    /// Steps 3 and 4 for the shared ENIs' vSwitches: eni-config lists the new one, and Terway
    /// restarts to read it.
    fn eni_config_steps(&self, out: &mut String, index: usize, news: &[NewVSwitch]) {
        // 3. eni-config
        let _ = writeln!(out);
        let _ = writeln!(out, "### Step 3. List it in eni-config");
        let _ = writeln!(out);
        self.eni_config_step(out, index);

        // 4. restart
        let _ = writeln!(out);
        let _ = writeln!(out, "### Step 4. Restart Terway and check");
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "Terway reads `eni-config` only when its daemon starts, so nothing changes until it restarts. The restart is rolling; pods that are running keep their addresses."
        );
        let _ = writeln!(out);
        let _ = writeln!(out, "```sh");
        let _ = writeln!(
            out,
            "kubectl -n kube-system rollout restart daemonset/terway-eniip"
        );
        let _ = writeln!(
            out,
            "kubectl -n kube-system rollout status daemonset/terway-eniip --timeout=15m"
        );
        let _ = writeln!(
            out,
            "# the daemon's config lists the new vSwitch (the ConfigMap is mounted at /etc/eni):"
        );
        for new in news {
            let _ = writeln!(
                out,
                "kubectl -n kube-system exec daemonset/terway-eniip -c terway -- cat /etc/eni/eni_conf | grep -c \"${}\"",
                new.variable()
            );
        }
        let _ = writeln!(
            out,
            "# no pod left waiting for an address, and no new IpNotEnough from Terway:"
        );
        let _ = writeln!(
            out,
            "kubectl get pods -A --field-selector=status.phase=Pending -o wide | grep ContainerCreating"
        );
        let _ = writeln!(
            out,
            "kubectl get events -A --field-selector=reason=FailedCreatePodSandBox | grep -i IpNotEnough"
        );
        let _ = writeln!(
            out,
            "kubectl -n kube-system logs daemonset/terway-eniip -c terway --since=15m | grep -c IpNotEnough"
        );
        let _ = writeln!(out, "```");
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "The greps print nothing (or 0) once pods leave ContainerCreating. New ENIs open in the new vSwitch; nodes whose ENI slots are all in use keep drawing on their old vSwitches only (an ENI never changes vSwitch)."
        );
    }

    fn create_vswitch(&self, new: &NewVSwitch) -> String {
        let zone = &self.scenario.zones[new.zone];
        format!(
            "{}=$(aliyun vpc CreateVSwitch --RegionId {} --ZoneId {zone} --VpcId {} --CidrBlock {} --VSwitchName {} | jq -r .VSwitchId)",
            new.variable(),
            self.region(new.zone),
            self.vpc(new.zone).unwrap_or("<vpc-id>"),
            shell_word(&new.cidr),
            new.name
        )
    }

    /// What the commands of a zone leave as placeholders, each with what to put there.
    fn placeholders(&self, zone: usize) -> Vec<String> {
        let mut out = Vec::new();
        if self.vpc(zone).is_none() {
            out.push("the scenario names no VPC (`vpc_id` of its `[[vswitch]]` entries, which `planner import` writes from DescribeVSwitches): replace `<vpc-id>` with the cluster's VPC (`aliyun cs DescribeClusterDetail --ClusterId c-...` shows it as `vpc_id`).".to_string());
        }
        if self.region(zone).starts_with('<') {
            out.push(format!(
                "the zone `{}` does not name a region: replace `<region-id>` with the cluster's region.",
                self.scenario.zones[zone]
            ));
        }
        out
    }

    fn snat_step(&self, out: &mut String, news: &[NewVSwitch]) {
        let s = self.scenario;
        let Some(snat) = &s.snat else {
            let _ = writeln!(
                out,
                "The scenario carries no SNAT table (`planner import --snat-entries` adds it), so it cannot say whether the new vSwitch needs an entry. Without one, pods given its addresses cannot reach the internet through the NAT gateway. To add one (the table is `SnatTableIds` in `aliyun vpc DescribeNatGateways --VpcId ...`, the address an EIP of the gateway):"
            );
            let _ = writeln!(out);
            let _ = writeln!(out, "```sh");
            for new in news {
                let _ = writeln!(
                    out,
                    "{}",
                    self.create_snat_entry(new, "<snat-table-id>", "<EIP of the NAT gateway>")
                );
            }
            let _ = writeln!(out, "```");
            return;
        };
        let table = snat.table_id.as_deref().unwrap_or("<snat-table-id>");
        let ip = self.snat_ip();
        let mut commands = Vec::new();
        for new in news {
            let covering = new.cidr.parse().ok().and_then(|block: ipnet::Ipv4Net| {
                snat.entries
                    .iter()
                    .find(|e| e.source_cidr.is_some_and(|c| c.contains(&block)))
            });
            match covering {
                Some(entry) => {
                    let _ = writeln!(
                        out,
                        "`{}` lies in the SourceCIDR {} of SNAT entry `{}`: its pods already reach the internet, nothing to add.",
                        new.cidr,
                        entry.source_cidr.map(|c| c.to_string()).unwrap_or_default(),
                        entry.id.as_deref().unwrap_or("?")
                    );
                }
                None => commands.push(self.create_snat_entry(
                    new,
                    table,
                    ip.as_deref().unwrap_or("<EIP of the NAT gateway>"),
                )),
            }
        }
        if commands.is_empty() {
            return;
        }
        let _ = writeln!(
            out,
            "Without an entry, pods given the new vSwitch's addresses cannot reach the internet (`vswitch-without-snat`). The SNAT address is the one the zone's pod vSwitches use today."
        );
        let _ = writeln!(out);
        let _ = writeln!(out, "```sh");
        for command in &commands {
            let _ = writeln!(out, "{command}");
        }
        let _ = writeln!(out, "```");
        if snat.table_id.is_none() {
            let _ = writeln!(out);
            let _ = writeln!(
                out,
                "**Placeholder:** the scenario's SNAT entries name no table (`[vpc] snat_table_id`): replace `<snat-table-id>`."
            );
        }
        if ip.is_none() {
            let _ = writeln!(out);
            let _ = writeln!(
                out,
                "**Placeholder:** no entry of the table gives a SNAT address: replace `<EIP of the NAT gateway>`."
            );
        }
    }

    fn create_snat_entry(&self, new: &NewVSwitch, table: &str, ip: &str) -> String {
        format!(
            "aliyun vpc CreateSnatEntry --RegionId {} --SnatTableId {} --SourceVSwitchId \"${}\" --SnatIp {} --SnatEntryName {}",
            self.region(new.zone),
            shell_word(table),
            new.variable(),
            shell_word(ip),
            new.name
        )
    }

    /// The SNAT address of the entries covering the zone's pod vSwitches, else the table's
    /// first.
    fn snat_ip(&self) -> Option<String> {
        let s = self.scenario;
        let snat = s.snat.as_ref()?;
        let zones: Vec<usize> = self.steps.iter().map(|(r, _)| r.zone).collect();
        let covering = zones
            .iter()
            .flat_map(|&zone| pod_vswitches(s, zone))
            .filter_map(|v| snat.covering(&s.vswitches[v]))
            .find_map(|e| e.snat_ip.clone());
        covering.or_else(|| snat.entries.iter().find_map(|e| e.snat_ip.clone()))
    }

    /// `eni_conf` after the first `through + 1` sections: the scenario's own (or one built from
    /// its Terway settings) with their vSwitches appended to their zones, the ids as tokens.
    pub fn patched_eni_conf(&self, through: usize) -> Result<String, String> {
        let mut text = match &self.scenario.live.eni_conf {
            Some(text) => text.clone(),
            None => self.built_eni_conf(),
        };
        // A PodNetworking's vSwitches are listed in the PodNetworking, not in eni-config.
        for (rec, news) in self.steps[..=through]
            .iter()
            .filter(|(rec, _)| rec.podnetworking.is_none())
        {
            for new in news {
                text = append_vswitch(&text, &rec.zone_name, &new.token())?;
            }
        }
        Ok(text)
    }

    /// eni_conf from the scenario's Terway settings in force at the first expansion: only
    /// the keys the scenario has.
    fn built_eni_conf(&self) -> String {
        let s = self.scenario;
        let at = self.steps.first().map_or(0, |(r, _)| r.expand_by_ms);
        let config = config_at(s, at);
        let mut object = Map::new();
        let vswitches: Map<String, Value> = config
            .vswitches
            .iter()
            .map(|(zone, list)| {
                let ids = list
                    .iter()
                    .map(|&v| Value::String(s.vswitches[v].id.clone()))
                    .collect();
                (zone.clone(), Value::Array(ids))
            })
            .collect();
        object.insert("vswitches".into(), Value::Object(vswitches));
        let policy = match config.vswitch_selection {
            VSwitchSelection::Ordered => "ordered",
            VSwitchSelection::Random => "random",
        };
        object.insert("vswitch_selection_policy".into(), policy.into());
        let eni = match config.eni_selection {
            EniSelection::MostIps => "most_ips",
            EniSelection::LeastIps => "least_ips",
        };
        object.insert("eni_selection_policy".into(), eni.into());
        object.insert("max_pool_size".into(), config.max_pool_size.into());
        object.insert("min_pool_size".into(), config.min_pool_size.into());
        if config.min_eni > 0 {
            object.insert("min_eni".into(), config.min_eni.into());
        }
        if config.max_eni > 0 {
            object.insert("max_eni".into(), config.max_eni.into());
        }
        object.insert(
            "ip_pool_sync_period".into(),
            go_duration(config.ip_pool_sync_period_ms).into(),
        );
        if let Some(IdleReclaim {
            after_ms,
            interval_ms,
            batch_size,
            jitter_factor,
        }) = config.idle_ip_reclaim
        {
            object.insert("idle_ip_reclaim_after".into(), go_duration(after_ms).into());
            object.insert(
                "idle_ip_reclaim_interval".into(),
                go_duration(interval_ms).into(),
            );
            object.insert("idle_ip_reclaim_batch_size".into(), batch_size.into());
            object.insert("idle_ip_reclaim_jitter_factor".into(), jitter_factor.into());
        }
        serde_json::to_string_pretty(&Value::Object(object)).unwrap_or_default()
    }

    /// The `kubectl patch` of section `index`: its `-p` argument in single quotes, the ids
    /// spliced in from their shell variables.
    pub fn patch_command(&self, index: usize) -> Result<String, String> {
        let text = self.patched_eni_conf(index)?;
        let body = serde_json::json!({ "data": { "eni_conf": text } }).to_string();
        let mut quoted = format!("'{}'", body.replace('\'', "'\\''"));
        for new in self.vswitches() {
            quoted = quoted.replace(&new.token(), &format!("'\"${}\"'", new.variable()));
        }
        Ok(format!(
            "kubectl -n kube-system patch configmap eni-config --type merge -p {quoted}"
        ))
    }

    fn eni_config_step(&self, out: &mut String, index: usize) {
        let (rec, news) = &self.steps[index];
        let s = self.scenario;
        let names: Vec<String> = news
            .iter()
            .map(|n| format!("`${}`", n.variable()))
            .collect();
        match &s.live.eni_conf {
            Some(_) => {
                let _ = writeln!(
                    out,
                    "One patch of `data.eni_conf`: the scenario's own (`[source] eni_conf`, as `planner import` read it), with {} appended to `vswitches[\"{}\"]` and nothing else changed.",
                    names.join(" and "),
                    rec.zone_name
                );
            }
            None => {
                let _ = writeln!(
                    out,
                    "**Built from the scenario's `[terway]` settings:** the scenario carries no `[source] eni_conf` (`planner import` writes it), so the `eni_conf` below holds only the keys the scenario knows, with {} appended to `vswitches[\"{}\"]`. Your ConfigMap has more (security groups, service CIDR, credentials): compare it with `kubectl -n kube-system get configmap eni-config -o jsonpath='{{.data.eni_conf}}'` and add what it lacks before applying.",
                    names.join(" and "),
                    rec.zone_name
                );
            }
        }
        if config_at(s, rec.expand_by_ms)
            .vswitches
            .get(&rec.zone_name)
            .is_none_or(Vec::is_empty)
        {
            let _ = writeln!(out);
            let _ = writeln!(
                out,
                "`eni_conf` lists no vSwitch for `{}` today, so Terway gives its pods addresses from each node's own vSwitch; once it lists the new one, new ENIs open only there (as the verification re-run had it).",
                rec.zone_name
            );
        }
        if index > 0 {
            let _ = writeln!(out);
            let _ = writeln!(
                out,
                "It also lists the vSwitches of the sections above, as it assumes they are done: set their variables too."
            );
        }
        let _ = writeln!(out);
        match self.patch_command(index) {
            Ok(command) => {
                let _ = writeln!(out, "```sh");
                let _ = writeln!(
                    out,
                    "kubectl -n kube-system get configmap eni-config -o yaml > eni-config.before.yaml"
                );
                let _ = writeln!(out, "{command}");
                let _ = writeln!(out, "```");
                if let Ok(text) = self.patched_eni_conf(index) {
                    let mut shown = text;
                    for new in self.vswitches() {
                        shown = shown.replace(&new.token(), &format!("${}", new.variable()));
                    }
                    let _ = writeln!(out);
                    let _ = writeln!(out, "The new `eni_conf`:");
                    let _ = writeln!(out);
                    let _ = writeln!(out, "```json");
                    let _ = writeln!(out, "{}", shown.trim_end());
                    let _ = writeln!(out, "```");
                }
            }
            Err(problem) => {
                let _ = writeln!(
                    out,
                    "The scenario's `eni_conf` cannot take the new vSwitch: {problem}. Edit it by hand (`kubectl -n kube-system edit configmap eni-config`): add {} to `vswitches[\"{}\"]`.",
                    names.join(" and "),
                    rec.zone_name
                );
            }
        }
    }

    /// `alicloud_vswitch` and `alicloud_snat_entry` resources.
    pub fn terraform(&self, news: &[NewVSwitch]) -> String {
        let s = self.scenario;
        let mut out = String::new();
        let ip = self.snat_ip();
        for new in news {
            let resource = new.name.replace('-', "_");
            let zone = &s.zones[new.zone];
            let _ = writeln!(out, "resource \"alicloud_vswitch\" \"{resource}\" {{");
            let _ = writeln!(
                out,
                "  vpc_id       = \"{}\"",
                self.vpc(new.zone).unwrap_or("<vpc-id>")
            );
            let _ = writeln!(out, "  cidr_block   = \"{}\"", new.cidr);
            let _ = writeln!(out, "  zone_id      = \"{zone}\"");
            let _ = writeln!(out, "  vswitch_name = \"{}\"", new.name);
            let _ = writeln!(out, "}}");
            let _ = writeln!(out);
            let table = s
                .snat
                .as_ref()
                .and_then(|t| t.table_id.as_deref())
                .unwrap_or("<snat-table-id>");
            if s.snat.is_none() {
                let _ = writeln!(
                    out,
                    "# The scenario carries no SNAT table: keep this entry if pods reach the internet through a NAT gateway."
                );
            }
            let _ = writeln!(out, "resource \"alicloud_snat_entry\" \"{resource}\" {{");
            let _ = writeln!(out, "  snat_table_id     = \"{table}\"");
            let _ = writeln!(out, "  source_vswitch_id = alicloud_vswitch.{resource}.id");
            let _ = writeln!(
                out,
                "  snat_ip           = \"{}\"",
                ip.as_deref().unwrap_or("<EIP of the NAT gateway>")
            );
            let _ = writeln!(out, "  snat_entry_name   = \"{}\"", new.name);
            let _ = writeln!(out, "}}");
        }
        out
    }

    fn when_step(&self, out: &mut String, rec: &Recommendation) {
        let s = self.scenario;
        let pods = pod_vswitches(s, rec.zone);
        let existing: Vec<usize> = pods
            .iter()
            .copied()
            .filter(|&v| s.vswitches[v].created_at_ms.is_none())
            .collect();
        let usable = zone_usable(s, &existing, rec.expand_by_ms).max(1);
        let trigger = rec.trigger_used_fraction;
        let _ = writeln!(
            out,
            "{} At that point, at the planning percentile ({}), the zone's pod vSwitches are {:.0}% used: alert when they pass it.",
            match rec.late {
                true => "Now: the shortage comes sooner than the lead time (`[planning] lead_time`) allows, so the rule below fires at once; keep it for the next expansion.".to_string(),
                false => format!(
                    "By {} into the scenario (the first shortage, less the lead time `[planning] lead_time`).",
                    human_duration(rec.expand_by_ms)
                ),
            },
            s.planning.percentile,
            trigger * 100.0
        );
        let _ = writeln!(out);
        let ids: Vec<&str> = existing
            .iter()
            .map(|&v| s.vswitches[v].id.as_str())
            .collect();
        let _ = writeln!(
            out,
            "No standard exporter gives a vSwitch's free addresses (CloudMonitor has no such metric, and Terway's own metrics count its pools), so the rule reads `alicloud_vswitch_available_ip_count`, fed from `AvailableIpAddressCount` of DescribeVSwitches, for example every 5 minutes into node_exporter's textfile collector:"
        );
        let _ = writeln!(out);
        let _ = writeln!(out, "```sh");
        let _ = writeln!(
            out,
            "aliyun vpc DescribeVSwitches --RegionId {} --VpcId {} --PageSize 50 --pager \\",
            self.region(rec.zone),
            self.vpc(rec.zone).unwrap_or("<vpc-id>")
        );
        let _ = writeln!(
            out,
            "  | jq -r '.VSwitches.VSwitch[] | \"alicloud_vswitch_available_ip_count{{vswitch_id=\\\"\\(.VSwitchId)\\\",zone_id=\\\"\\(.ZoneId)\\\"}} \\(.AvailableIpAddressCount)\"' \\"
        );
        let _ = writeln!(
            out,
            "  > /var/lib/node_exporter/textfile/vswitch.prom.tmp && mv /var/lib/node_exporter/textfile/vswitch.prom.tmp /var/lib/node_exporter/textfile/vswitch.prom"
        );
        let _ = writeln!(out, "```");
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "The used fraction is the cluster's share of what the pod vSwitches give it: 1 - free / {usable} ({} less what others hold in them, `used_by_others`).",
            ids.join(" + ")
        );
        let _ = writeln!(out);
        let _ = writeln!(out, "```yaml");
        let _ = writeln!(out, "groups:");
        let _ = writeln!(out, "  - name: pod-addresses");
        let _ = writeln!(out, "    rules:");
        let _ = writeln!(out, "      - alert: PodVSwitchesFilling");
        let _ = writeln!(out, "        expr: |");
        let _ = writeln!(
            out,
            "          1 - sum(alicloud_vswitch_available_ip_count{{vswitch_id=~\"{}\"}}) / {usable} > {}",
            ids.join("|"),
            round3(trigger)
        );
        let _ = writeln!(out, "        for: 30m");
        let _ = writeln!(out, "        labels:");
        let _ = writeln!(out, "          severity: warning");
        let _ = writeln!(out, "          zone: {}", rec.zone_name);
        let _ = writeln!(out, "        annotations:");
        let _ = writeln!(
            out,
            "          summary: \"Pod vSwitches of {} are over {:.0}% used: carry out section {} of runbook.md ({})\"",
            rec.zone_name,
            trigger * 100.0,
            self.steps
                .iter()
                .position(|(r, _)| r.zone == rec.zone)
                .map_or(1, |i| i + 1),
            crate::plan::describe(rec).replace('"', "'")
        );
        let _ = writeln!(out, "```");
    }
}

/// When a recommendation is due, for the table.
fn when(rec: &Recommendation) -> String {
    if rec.late {
        "now".to_string()
    } else {
        human_duration(rec.expand_by_ms)
    }
}

/// A fraction with at most three decimals, as PromQL reads it.
fn round3(value: f64) -> String {
    let text = format!("{value:.3}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text.is_empty() {
        "0".to_string()
    } else {
        text.to_string()
    }
}

/// The config in force at `at_ms` (the last `set_terway` at or before it, else `[terway]`).
fn config_at(scenario: &Scenario, at_ms: Millis) -> &TerwayConfig {
    let index = scenario
        .actions
        .iter()
        .filter(|a| a.at_ms <= at_ms)
        .filter_map(|a| match a.kind {
            ActionKind::SetTerway(c) => Some(c),
            _ => None,
        })
        .next_back()
        .unwrap_or(0);
    &scenario.terway_configs[index]
}

/// A Go duration as Terway's config reads it (`120s`, `30m`, `1500ms`).
fn go_duration(ms: Millis) -> String {
    if ms.is_multiple_of(60_000) && ms >= 60_000 {
        format!("{}m", ms / 60_000)
    } else if ms.is_multiple_of(1_000) {
        format!("{}s", ms / 1_000)
    } else {
        format!("{ms}ms")
    }
}

/// A word for the shell: placeholders (`<...>`, with spaces) in double quotes, the rest as is.
fn shell_word(word: &str) -> String {
    if word
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_./:,".contains(c))
    {
        word.to_string()
    } else {
        format!("\"{}\"", word.replace('"', "\\\""))
    }
}

/// `text` (eni_conf's JSON object) with `"id"` appended to `vswitches[zone]`, the rest of the
/// text unchanged to the byte: keys in their order, the user's spacing, keys the model never
/// reads. The zone's list (or `vswitches` itself) is added when missing.
pub fn append_vswitch(text: &str, zone: &str, id: &str) -> Result<String, String> {
    let bytes = text.as_bytes();
    let root = skip_ws(bytes, 0);
    if bytes.get(root) != Some(&b'{') {
        return Err("it is not a JSON object".to_string());
    }
    let item = serde_json::to_string(id).map_err(|e| e.to_string())?;
    let zone_key = serde_json::to_string(zone).map_err(|e| e.to_string())?;
    let root_members = members(bytes, root)?;
    let vswitches = root_members
        .members
        .iter()
        .rev()
        .find(|m| m.key == "vswitches");
    let Some(vswitches) = vswitches else {
        let value = format!("{{{zone_key}: [{item}]}}");
        return Ok(insert_member(text, &root_members, "\"vswitches\"", &value));
    };
    match bytes[vswitches.value.0] {
        b'{' => {}
        b'n' => {
            let value = format!("{{{zone_key}: [{item}]}}");
            return Ok(splice(text, vswitches.value, &value));
        }
        _ => return Err("its `vswitches` is not an object of zone to vSwitch ids".to_string()),
    }
    let zones = members(bytes, vswitches.value.0)?;
    let Some(list) = zones.members.iter().rev().find(|m| m.key == zone) else {
        return Ok(insert_member(text, &zones, &zone_key, &format!("[{item}]")));
    };
    match bytes[list.value.0] {
        b'[' => {}
        b'n' => return Ok(splice(text, list.value, &format!("[{item}]"))),
        _ => {
            return Err(format!(
                "its `vswitches[\"{zone}\"]` is not a list (Terway cannot read it either)"
            ));
        }
    }
    let items = elements(bytes, list.value.0)?;
    let at = match items.items.last() {
        Some(&(_, end)) => end,
        None => items.open + 1,
    };
    let separator = separator(text, items.open, &items.items);
    let insert = if items.items.is_empty() {
        item
    } else {
        format!("{separator}{item}")
    };
    Ok(format!("{}{insert}{}", &text[..at], &text[at..]))
}

/// A member of a JSON object: its key and the span of its value.
struct Member {
    key: String,
    key_start: usize,
    value: (usize, usize),
}

struct Members {
    open: usize,
    members: Vec<Member>,
}

struct Elements {
    open: usize,
    items: Vec<(usize, usize)>,
}

/// The text with `member` added after the object's last member, written as the others are.
fn insert_member(text: &str, object: &Members, key: &str, value: &str) -> String {
    let starts: Vec<(usize, usize)> = object
        .members
        .iter()
        .map(|m| (m.key_start, m.value.1))
        .collect();
    let colon = object
        .members
        .last()
        .map(|m| {
            let after_key = key_end(text.as_bytes(), m.key_start);
            text[after_key..m.value.0].to_string()
        })
        .unwrap_or_else(|| ": ".to_string());
    let (at, insert) = match object.members.last() {
        Some(last) => (
            last.value.1,
            format!(
                "{}{key}{colon}{value}",
                separator(text, object.open, &starts)
            ),
        ),
        None => (object.open + 1, format!("{key}{colon}{value}")),
    };
    format!("{}{insert}{}", &text[..at], &text[at..])
}

/// What goes between two entries of a list or object: what its last two have between them,
/// or, with one, a comma and the line break and indentation before it (or a space).
fn separator(text: &str, open: usize, spans: &[(usize, usize)]) -> String {
    match spans {
        [.., (_, end), (start, _)] => text[*end..*start].to_string(),
        [(start, _)] => {
            let before = &text[open + 1..*start];
            match before.rfind('\n') {
                Some(line) => format!(",{}", &before[line..]),
                None => ", ".to_string(),
            }
        }
        [] => String::new(),
    }
}

fn splice(text: &str, span: (usize, usize), with: &str) -> String {
    format!("{}{with}{}", &text[..span.0], &text[span.1..])
}

fn skip_ws(bytes: &[u8], mut at: usize) -> usize {
    while at < bytes.len() && matches!(bytes[at], b' ' | b'\t' | b'\n' | b'\r') {
        at += 1;
    }
    at
}

/// The end (exclusive) of the string starting at `at` (its opening quote).
fn key_end(bytes: &[u8], at: usize) -> usize {
    let mut i = at + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// The end (exclusive) of the value starting at `at`.
fn value_end(bytes: &[u8], at: usize) -> Result<usize, String> {
    match bytes.get(at) {
        Some(b'"') => Ok(key_end(bytes, at)),
        Some(b'{') => {
            let object = members(bytes, at)?;
            Ok(close_of(
                bytes,
                object.members.last().map_or(at + 1, |m| m.value.1),
            ))
        }
        Some(b'[') => {
            let list = elements(bytes, at)?;
            Ok(close_of(
                bytes,
                list.items.last().map_or(at + 1, |&(_, e)| e),
            ))
        }
        Some(_) => {
            let mut i = at;
            while i < bytes.len()
                && !matches!(bytes[i], b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r')
            {
                i += 1;
            }
            Ok(i)
        }
        None => Err("the JSON ends early".to_string()),
    }
}

/// Past the closing bracket that follows `from` (whitespace between).
fn close_of(bytes: &[u8], from: usize) -> usize {
    skip_ws(bytes, from) + 1
}

fn members(bytes: &[u8], open: usize) -> Result<Members, String> {
    let mut out = Members {
        open,
        members: Vec::new(),
    };
    let mut at = skip_ws(bytes, open + 1);
    while bytes.get(at) == Some(&b'"') {
        let end = key_end(bytes, at);
        let key: String = serde_json::from_slice(&bytes[at..end]).map_err(|e| e.to_string())?;
        let colon = skip_ws(bytes, end);
        if bytes.get(colon) != Some(&b':') {
            return Err("a key without a value".to_string());
        }
        let value_start = skip_ws(bytes, colon + 1);
        let value_stop = value_end(bytes, value_start)?;
        out.members.push(Member {
            key,
            key_start: at,
            value: (value_start, value_stop),
        });
        at = skip_ws(bytes, value_stop);
        if bytes.get(at) == Some(&b',') {
            at = skip_ws(bytes, at + 1);
        }
    }
    Ok(out)
}

fn elements(bytes: &[u8], open: usize) -> Result<Elements, String> {
    let mut out = Elements {
        open,
        items: Vec::new(),
    };
    let mut at = skip_ws(bytes, open + 1);
    while at < bytes.len() && bytes[at] != b']' {
        let end = value_end(bytes, at)?;
        out.items.push((at, end));
        at = skip_ws(bytes, end);
        if bytes.get(at) == Some(&b',') {
            at = skip_ws(bytes, at + 1);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> Value {
        serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
    }

    #[test]
    fn a_vswitch_is_appended_to_its_zone_and_nothing_else_changes() {
        let original = "{\n  \"version\": \"1\",\n  \"vswitches\": {\"z-h\":[\"vsw-a\"], \"z-i\":[\"vsw-b\", \"vsw-c\"]},\n  \"security_group\": \"sg-1\"\n}";
        let patched = append_vswitch(original, "z-i", "vsw-new").unwrap();
        assert_eq!(
            patched,
            "{\n  \"version\": \"1\",\n  \"vswitches\": {\"z-h\":[\"vsw-a\"], \"z-i\":[\"vsw-b\", \"vsw-c\", \"vsw-new\"]},\n  \"security_group\": \"sg-1\"\n}"
        );
        let patched = append_vswitch(original, "z-h", "vsw-new").unwrap();
        assert!(
            patched.contains("\"z-h\":[\"vsw-a\", \"vsw-new\"]"),
            "{patched}"
        );
    }

    #[test]
    fn lists_on_their_own_lines_keep_their_layout() {
        let original = "{\n  \"vswitches\": {\n    \"z\": [\n      \"vsw-a\"\n    ]\n  }\n}";
        let patched = append_vswitch(original, "z", "vsw-b").unwrap();
        assert_eq!(
            patched,
            "{\n  \"vswitches\": {\n    \"z\": [\n      \"vsw-a\",\n      \"vsw-b\"\n    ]\n  }\n}"
        );
    }

    #[test]
    fn a_missing_zone_or_vswitches_is_added() {
        let patched = append_vswitch("{\"vswitches\": {\"a\": [\"x\"]}}", "b", "y").unwrap();
        assert_eq!(patched, "{\"vswitches\": {\"a\": [\"x\"], \"b\": [\"y\"]}}");
        let patched = append_vswitch("{\"max_pool_size\": 5}", "b", "y").unwrap();
        assert_eq!(
            parsed(&patched),
            serde_json::json!({"max_pool_size": 5, "vswitches": {"b": ["y"]}})
        );
        assert_eq!(
            append_vswitch("{}", "b", "y").unwrap(),
            "{\"vswitches\": {\"b\": [\"y\"]}}"
        );
        assert_eq!(
            append_vswitch("{\"vswitches\": {\"b\": []}}", "b", "y").unwrap(),
            "{\"vswitches\": {\"b\": [\"y\"]}}"
        );
        assert_eq!(
            append_vswitch("{\"vswitches\": null}", "b", "y").unwrap(),
            "{\"vswitches\": {\"b\": [\"y\"]}}"
        );
    }

    #[test]
    fn nested_values_and_escapes_are_skipped_whole() {
        let original = r#"{"eni_tags": {"k": "a \"}\" b", "l": [1, {"m": "]"}]}, "vswitches": {"z": ["v1"]}, "n": -1.5e3}"#;
        let patched = append_vswitch(original, "z", "v2").unwrap();
        let mut expected = parsed(original);
        expected["vswitches"]["z"]
            .as_array_mut()
            .unwrap()
            .push("v2".into());
        assert_eq!(parsed(&patched), expected);
    }

    #[test]
    fn a_zone_written_as_a_string_is_refused() {
        assert!(append_vswitch("{\"vswitches\": {\"z\": \"v1\"}}", "z", "v2").is_err());
        assert!(append_vswitch("[1]", "z", "v2").is_err());
    }

    const TWO_ZONES: &str = r#"
[scenario]
horizon = "10d"

[vpc]
cidr = "10.0.0.0/16"
snat_table_id = "stb-1"
snat_entries = [
  { id = "snat-a", source_vswitch_id = "vsw-a", snat_ip = "47.0.0.1" },
  { id = "snat-wide", source_cidr = "10.0.128.0/17", snat_ip = "47.0.0.2" },
]

[[vswitch]]
id = "vsw-a"
zone = "cn-hangzhou-h"
cidr = "10.0.0.0/24"
vpc_id = "vpc-1"

[[vswitch]]
id = "vsw-b"
zone = "cn-hangzhou-i"
cidr = "10.0.1.0/24"

[terway]
vswitches = { "cn-hangzhou-h" = ["vsw-a"], "cn-hangzhou-i" = ["vsw-b"] }

[[nodepool]]
name = "p"
instance_type = "ecs.g7.xlarge"
zones = ["cn-hangzhou-h", "cn-hangzhou-i"]
nodes = 2

[source]
eni_conf = '{"vswitches": {"cn-hangzhou-h": ["vsw-a"], "cn-hangzhou-i": ["vsw-b"]}, "security_group": "sg-1"}'
"#;

    fn recommendation(zone: usize, name: &str, cidr: &str, expand_by_ms: Millis) -> Recommendation {
        Recommendation {
            zone,
            zone_name: name.to_string(),
            peak_demand: 300,
            needed_ips: 360,
            usable_ips_now: 252,
            shortfall_ips: 108,
            shortfall_at_ms: expand_by_ms,
            add_prefix_len: Some(25),
            add_count: 1,
            add_cidr: Some(cidr.parse().unwrap()),
            cidr_note: None,
            expand_by_ms,
            late: false,
            trigger_used_fraction: 0.5,
            verified: Some(true),
            verified_shortage_runs: Some(0.0),
            podnetworking: None,
        }
    }

    // Zone i is due first, so it is section 1 and `VSW_1`; section 2's patch lists both, as it
    // assumes section 1 is done. Zone i's new block lies in the SNAT entry 10.0.128.0/17, so it
    // needs no entry; zone h's does, with the address of the entry covering vsw-a.
    #[test]
    fn sections_run_earliest_first_and_later_patches_keep_earlier_vswitches() {
        let (scenario, _) = crate::scenario::parse(std::path::Path::new("two.toml"), TWO_ZONES)
            .unwrap_or_else(|e| panic!("{e}"));
        let recs = vec![
            recommendation(0, "cn-hangzhou-h", "10.0.2.0/25", 5 * 86_400_000),
            recommendation(1, "cn-hangzhou-i", "10.0.128.0/25", 2 * 86_400_000),
        ];
        let runbook = Runbook::new(&scenario, &recs);
        let names: Vec<(usize, usize)> = runbook.vswitches().map(|n| (n.number, n.zone)).collect();
        assert_eq!(names, vec![(1, 1), (2, 0)]);
        let first = parsed(
            &runbook
                .patched_eni_conf(0)
                .unwrap()
                .replace("@@VSW_1@@", "vsw-new1"),
        );
        assert_eq!(
            first,
            serde_json::json!({"vswitches": {"cn-hangzhou-h": ["vsw-a"], "cn-hangzhou-i": ["vsw-b", "vsw-new1"]}, "security_group": "sg-1"})
        );
        let second = runbook.patched_eni_conf(1).unwrap();
        assert!(second.contains("[\"vsw-a\", \"@@VSW_2@@\"]"), "{second}");
        assert!(second.contains("[\"vsw-b\", \"@@VSW_1@@\"]"), "{second}");
        let command = runbook.patch_command(1).unwrap();
        assert!(
            command.contains("'\"$VSW_1\"'") && command.contains("'\"$VSW_2\"'"),
            "{command}"
        );

        let text = runbook.markdown();
        assert!(
            text.contains(
                "`10.0.128.0/25` lies in the SourceCIDR 10.0.128.0/17 of SNAT entry `snat-wide`"
            ),
            "{text}"
        );
        assert!(
            text.contains("aliyun vpc CreateSnatEntry --RegionId cn-hangzhou --SnatTableId stb-1 --SourceVSwitchId \"$VSW_2\" --SnatIp 47.0.0.1 --SnatEntryName terway-pods-cn-hangzhou-h-2"),
            "{text}"
        );
        // Zone i's vSwitch names no VPC, so the VPC of another zone's vSwitch is taken.
        assert!(
            text.contains("--ZoneId cn-hangzhou-i --VpcId vpc-1 --CidrBlock 10.0.128.0/25"),
            "{text}"
        );
        assert!(
            text.find("## 1. cn-hangzhou-i").unwrap() < text.find("## 2. cn-hangzhou-h").unwrap()
        );
        assert!(runbook_md(&scenario, &[]).is_none());
    }

    // Zone i has no list in eni_conf: the patch adds one holding the new vSwitch only, and the
    // runbook says that pods there stop drawing on the nodes' own vSwitch for new ENIs.
    #[test]
    fn a_zone_without_a_list_gets_one_and_a_line_saying_what_changes() {
        let text = TWO_ZONES
            .replace(
                r#"vswitches = { "cn-hangzhou-h" = ["vsw-a"], "cn-hangzhou-i" = ["vsw-b"] }"#,
                r#"vswitches = { "cn-hangzhou-h" = ["vsw-a"] }"#,
            )
            .replace(r#", "cn-hangzhou-i": ["vsw-b"]"#, "");
        let (scenario, _) = crate::scenario::parse(std::path::Path::new("one.toml"), &text)
            .unwrap_or_else(|e| panic!("{e}"));
        let recs = vec![recommendation(
            1,
            "cn-hangzhou-i",
            "10.0.2.0/25",
            86_400_000,
        )];
        let runbook = Runbook::new(&scenario, &recs);
        assert_eq!(
            parsed(&runbook.patched_eni_conf(0).unwrap()),
            serde_json::json!({"vswitches": {"cn-hangzhou-h": ["vsw-a"], "cn-hangzhou-i": ["@@VSW_1@@"]}, "security_group": "sg-1"})
        );
        let markdown = runbook.markdown();
        assert!(
            markdown.contains("`eni_conf` lists no vSwitch for `cn-hangzhou-i` today"),
            "{markdown}"
        );
    }

    #[test]
    fn durations_as_go_writes_them() {
        assert_eq!(go_duration(120_000), "2m");
        assert_eq!(go_duration(90_000), "90s");
        assert_eq!(go_duration(1_500), "1500ms");
        assert_eq!(round3(0.78125), "0.781");
        assert_eq!(round3(0.5), "0.5");
    }
}
