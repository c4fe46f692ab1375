//! The documents of a rule set as queries for other engines (`harrier-convert` over the IR).

use crate::packed::unpack_rule;
use crate::rules::RuleSet;
use harrier_convert::{Conversion, Options, Profile, Target};
use harrier_ir::{Correlation, Rule};
use harrier_sigma::Outcome;
use harrier_spl::escu::Outcome as SplOutcome;

/// The profile that keeps field names as rules write them.
const NATIVE_PROFILE: &str = "sysmon";

impl RuleSet {
    /// Document `index` (as in [`RuleSet::outcome`]) as a query for `target`, or why it
    /// cannot be: a feature the target lacks, or what kept the rule from loading. A Sigma rule
    /// of another product than Windows (Linux, cloud, proxy) converts with its own field names
    /// and without a logsource condition, as a backend without a processing pipeline does.
    pub fn convert(
        &self,
        index: usize,
        target: Target,
        profile: &Profile,
        options: &Options,
    ) -> Result<Conversion, String> {
        let Some(entry) = self.entries.get(index) else {
            return self.convert_spl(index - self.entries.len(), target, options);
        };
        match &entry.outcome {
            Outcome::Active(rule) => {
                harrier_convert::convert(&unpack_rule(rule)?, target, profile, options).map_err(|error| error.feature)
            }
            // A rule for other logs than Windows (Linux, cloud, proxy): its detection with its
            // own field names, and no logsource condition (the Windows mappings know none).
            Outcome::Inactive { rule, .. } => {
                let native = Profile::load(NATIVE_PROFILE).expect("a built-in profile");
                harrier_convert::convert(&unpack_rule(rule)?, target, &native, options).map_err(|error| error.feature)
            }
            Outcome::Filter { .. } => Err("a meta filter (converted into the rules it applies to)".into()),
            Outcome::Correlation(correlation) => {
                let rules = self.correlated_rules(correlation)?;
                let rules: Vec<(&str, &Rule)> = rules.iter().map(|(name, rule)| (*name, rule)).collect();
                harrier_convert::convert_correlation(correlation, &rules, target, profile, options)
                    .map_err(|error| error.feature)
            }
            Outcome::Failed(reason) => Err(format!("not loaded: {reason}")),
        }
    }

    /// The loaded rules a correlation names (by id or name), each with the name used, their
    /// conditions decoded.
    fn correlated_rules<'a>(&'a self, correlation: &'a Correlation) -> Result<Vec<(&'a str, Rule)>, String> {
        correlation
            .rules
            .iter()
            .filter_map(|reference| {
                let rule = self.entries.iter().find_map(|entry| match &entry.outcome {
                    Outcome::Active(rule)
                        if rule.meta.id.as_deref() == Some(reference)
                            || rule.meta.name.as_deref() == Some(reference) =>
                    {
                        Some(rule)
                    }
                    _ => None,
                })?;
                Some(unpack_rule(rule).map(|rule| (reference.as_str(), rule)))
            })
            .collect()
    }

    /// An ESCU detection: to Splunk, its search with macros expanded; to SQL and ES|QL, its
    /// pipeline over a table of events as Splunk sees them (`harrier events --view splunk`).
    fn convert_spl(&self, index: usize, target: Target, options: &Options) -> Result<Conversion, String> {
        let detection = &self.spl.detections[index];
        match (target, &detection.expanded, &detection.outcome) {
            (Target::Splunk, Some(expanded), _) => Ok(Conversion { query: expanded.clone(), index: None }),
            (Target::Splunk, None, _) => Err("its macros do not expand".into()),
            (_, _, SplOutcome::Runnable(query)) => {
                harrier_convert::convert_query(query, target, options).map_err(|error| error.feature)
            }
            (_, _, SplOutcome::Deprecated(_)) => Err("inactive: deprecated".into()),
            (_, _, SplOutcome::Failed(why)) => Err(format!("not loaded: {why}")),
        }
    }
}
