//! What a scenario may say of the live cluster beside what the model runs, checked in one
//! place: `vpc_id` and `idle_today` of `[[vswitch]]`, and `[source] eni_conf`. The model never
//! reads them; the runbook and the report do.

use super::Checker;
use super::network::vswitch_sources;
use crate::scenario::file::ScenarioFile;
use crate::scenario::{Live, ScenarioError, VSwitchSpec};

impl Checker<'_> {
    /// The live facts, with `specs` the resolved vSwitches (in the order of
    /// `vswitch_sources`: `[[vswitch]]` first, then those added by actions).
    pub(super) fn live(
        &self,
        raw: &ScenarioFile,
        specs: &[VSwitchSpec],
    ) -> Result<Live, ScenarioError> {
        let (sources, _) = vswitch_sources(raw);
        let mut live = Live {
            vpc_ids: Vec::with_capacity(sources.len()),
            idle_today: Vec::with_capacity(sources.len()),
            eni_conf: None,
        };
        for (source, spec) in sources.iter().zip(specs) {
            let entry = source.entry;
            if let Some(vpc) = &entry.vpc_id {
                self.not_empty(&format!("{}.vpc_id", source.key), vpc, "the VPC id")?;
            }
            live.vpc_ids.push(entry.vpc_id.clone());
            let idle = match entry.idle_today {
                Some(_) if source.created_at_ms.is_some() => {
                    return Err(self.err(
                        format!("{}.idle_today", source.key),
                        "a vSwitch an action adds holds nothing today; idle_today belongs to [[vswitch]] entries",
                    ));
                }
                // Today's idle addresses are the cluster's, counted apart from used_by_others:
                // together they must fit in the block.
                Some(idle) => Some(self.int(
                    &format!("{}.idle_today", source.key),
                    idle,
                    0..=i64::from(spec.usable_ips()),
                )?),
                None => None,
            };
            live.idle_today.push(idle);
        }
        if let Some(text) = raw.source.as_ref().and_then(|s| s.eni_conf.as_ref()) {
            match serde_json::from_str::<serde_json::Value>(text) {
                Ok(value) if value.is_object() => live.eni_conf = Some(text.clone()),
                Ok(_) => {
                    return Err(self.err(
                        "source.eni_conf",
                        "must be eni_conf's JSON object, as the ConfigMap holds it",
                    ));
                }
                Err(e) => {
                    return Err(self.err(
                        "source.eni_conf",
                        format!("is not valid JSON ({e}); Terway could not read it either"),
                    ));
                }
            }
        }
        Ok(live)
    }
}
