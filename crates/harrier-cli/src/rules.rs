//! Loading rules for `hunt` and `rules check`: every rule file, with what became of each rule.

use clap::Args;
use harrier_correlate::Correlator;
use harrier_engine::Engine;
use harrier_ir::{Correlation, Rule, RuleMeta};
use harrier_sigma::{Entry, LoadOptions, LogsourceMap, Outcome};
use serde::Serialize;
use std::collections::HashMap;
use std::path::PathBuf;

/// Where rules come from and what they need.
#[derive(Args, Clone)]
pub struct RuleArgs {
    /// Sigma rule files or directories (read recursively; `.yml` and `.yaml`).
    #[arg(long = "rules", short = 'r', required = true, value_name = "PATH")]
    pub rules: Vec<PathBuf>,

    /// Values for `expand` placeholders: a YAML map of name to a value or list of values
    /// (`Administrators: [admin, 'adm_*']`). Undefined placeholders match any value.
    #[arg(long, value_name = "FILE")]
    pub vars: Option<PathBuf>,

    /// More logsource mappings (same format as the built-in windows-logsources.yml), added
    /// to and overriding the built-in ones.
    #[arg(long = "logsource-map", value_name = "FILE")]
    pub logsource_map: Option<PathBuf>,
}

/// The rules of a run: every document read, and the active rules compiled.
pub struct RuleSet {
    pub entries: Vec<Entry>,
    /// Whether the run's rule filters (level, status, tag) take each entry.
    selected: Vec<bool>,
    /// Why an entry that loaded cannot run after all (its regex, say), by entry index.
    pub compile_errors: HashMap<usize, String>,
    /// Entry index of each compiled rule, in engine order.
    pub active: Vec<usize>,
    pub engine: Engine,
    /// The correlations over the active rules.
    pub correlator: Correlator,
    /// Why the correlations could not be set up, if they could not.
    pub correlation_error: Option<String>,
}

impl RuleSet {
    pub fn load(args: &RuleArgs) -> Result<RuleSet, String> {
        RuleSet::load_selected(args, &|_| true)
    }

    /// Loads every rule, and compiles the active ones that `select` takes.
    pub fn load_selected(args: &RuleArgs, select: &dyn Fn(&RuleMeta) -> bool) -> Result<RuleSet, String> {
        let options = load_options(args)?;
        let mut entries = harrier_sigma::load(&args.rules, &options);
        warn_unknown_attack_tags(&mut entries);
        let selected: Vec<bool> =
            entries.iter().map(|entry| entry.rule().is_some_and(|rule| select(&rule.meta))).collect();
        let active: Vec<usize> = entries
            .iter()
            .enumerate()
            .filter(|(index, entry)| matches!(entry.outcome, Outcome::Active(_)) && selected[*index])
            .map(|(index, _)| index)
            .collect();
        let (engine, errors) =
            Engine::new(active.iter().map(|&index| &entries[index].rule().expect("active rules loaded").condition));
        let compile_errors =
            errors.into_iter().map(|(position, error)| (active[position], error.to_string())).collect();
        let correlations: Vec<Correlation> = entries.iter().filter_map(|entry| entry.correlation().cloned()).collect();
        let resolve = |reference: &str| {
            active.iter().position(|&index| {
                let meta = &entries[index].rule().expect("active rules loaded").meta;
                meta.id.as_deref() == Some(reference) || meta.name.as_deref() == Some(reference)
            })
        };
        let (correlator, correlation_error) = match Correlator::new(correlations, &resolve) {
            Ok(correlator) => (correlator, None),
            Err(error) => (Correlator::new(Vec::new(), &resolve).expect("no correlations"), Some(error)),
        };
        Ok(RuleSet { entries, selected, compile_errors, active, engine, correlator, correlation_error })
    }

    /// The rule behind an engine hit.
    pub fn rule(&self, hit: usize) -> &Rule {
        self.entries[self.active[hit]].rule().expect("active rules loaded")
    }

    pub fn status(&self, index: usize) -> RuleStatus<'_> {
        let entry = &self.entries[index];
        let (status, reason) = match (&entry.outcome, self.compile_errors.get(&index)) {
            (_, Some(error)) => ("failed", Some(error.clone())),
            (Outcome::Active(_), None) if !self.selected[index] => ("not selected", None),
            (Outcome::Active(_), None) => ("loaded", None),
            (Outcome::Filter { applied_to }, None) => ("filter", Some(format!("filter applied to {applied_to} rules"))),
            (Outcome::Correlation(correlation), None) => {
                ("correlation", Some(format!("{} correlation", correlation.kind.name())))
            }
            (Outcome::Inactive { reason, .. }, None) => ("inactive", Some(reason.clone())),
            (Outcome::Failed(reason), None) => ("failed", Some(reason.clone())),
        };
        RuleStatus {
            file: &entry.place.file,
            line: entry.place.line,
            id: entry.id.as_deref(),
            title: entry.title.as_deref(),
            loaded: status != "failed",
            status,
            reason,
            warnings: &entry.warnings,
        }
    }

    pub fn count(&self, status: &str) -> usize {
        (0..self.entries.len()).filter(|&index| self.status(index).status == status).count()
    }
}

/// One rule as `rules check` reports it.
#[derive(Serialize)]
pub struct RuleStatus<'a> {
    pub file: &'a str,
    pub line: usize,
    pub id: Option<&'a str>,
    pub title: Option<&'a str>,
    /// Parsed and compiled (it may still be inactive for these logs).
    pub loaded: bool,
    /// `loaded`, `filter`, `inactive` (its logsource is not in Windows logs), `not selected`
    /// (by the hunt's level, status or tag options) or `failed`.
    pub status: &'static str,
    pub reason: Option<String>,
    pub warnings: &'a [String],
}

/// An `attack.` tag that names no ATT&CK technique, tactic, group or software is a warning
/// on its rule (a typo, or a newer ATT&CK than Harrier carries).
fn warn_unknown_attack_tags(entries: &mut [Entry]) {
    let attack = harrier_attack::Attack::get();
    for entry in entries {
        let unknown: Vec<String> = entry
            .rule()
            .map(|rule| &rule.meta.tags)
            .into_iter()
            .flatten()
            .filter(|tag| attack.resolve_tag(tag) == harrier_attack::TagMeaning::Unknown)
            .map(|tag| format!("unknown ATT&CK tag `{tag}`"))
            .collect();
        entry.warnings.extend(unknown);
    }
}

fn load_options(args: &RuleArgs) -> Result<LoadOptions, String> {
    let mut options = LoadOptions::default();
    if let Some(path) = &args.logsource_map {
        let text = std::fs::read_to_string(path).map_err(|error| format!("{}: {error}", path.display()))?;
        options
            .logsources
            .extend(LogsourceMap::from_yaml(&text).map_err(|error| format!("{}: {error}", path.display()))?);
    }
    if let Some(path) = &args.vars {
        let text = std::fs::read_to_string(path).map_err(|error| format!("{}: {error}", path.display()))?;
        options.placeholders = placeholders(&text).map_err(|error| format!("{}: {error}", path.display()))?;
    }
    Ok(options)
}

fn placeholders(text: &str) -> Result<HashMap<String, Vec<String>>, String> {
    let map: HashMap<String, yaml_serde::Value> = yaml_serde::from_str(text).map_err(|error| error.to_string())?;
    let scalar = |value: &yaml_serde::Value| match value {
        yaml_serde::Value::String(text) => Some(text.clone()),
        yaml_serde::Value::Number(number) => Some(number.to_string()),
        _ => None,
    };
    map.into_iter()
        .map(|(name, value)| {
            let values = match &value {
                yaml_serde::Value::Sequence(items) => items.iter().map(scalar).collect::<Option<Vec<_>>>(),
                single => scalar(single).map(|value| vec![value]),
            };
            values
                .map(|values| (name.clone(), values))
                .ok_or(format!("placeholder `{name}` must be a value or a list of values"))
        })
        .collect()
}
