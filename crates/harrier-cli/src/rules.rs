//! Loading rules for `hunt` and `rules check`: every rule file, with what became of each rule.

use crate::spl::SplSet;
use clap::Args;
use harrier_correlate::Correlator;
use harrier_engine::Engine;
use harrier_ir::{Correlation, Rule, RuleMeta};
use harrier_sigma::{Entry, LoadOptions, LogsourceMap, Outcome};
use harrier_spl::escu::{Library, Outcome as SplOutcome};
use serde::Serialize;
use std::collections::HashMap;
use std::path::PathBuf;

/// Where rules come from and what they need.
#[derive(Args, Clone)]
pub struct RuleArgs {
    /// Rule files or directories (read recursively; `.yml` and `.yaml`): Sigma rules and
    /// Splunk ESCU detections, told apart by content. Folders named `macros`, `lookups` and
    /// `data_sources` hold ESCU support files, not rules, and are skipped.
    #[arg(long = "rules", short = 'r', required = true, value_name = "PATH")]
    pub rules: Vec<PathBuf>,

    /// Folders of SPL macro files (ESCU `macros/`); default: a `macros` folder beside or above
    /// each rules path.
    #[arg(long, value_name = "DIR")]
    pub macros: Vec<PathBuf>,

    /// Folders of lookup definitions with their CSV files (ESCU `lookups/`); default: a
    /// `lookups` folder beside or above each rules path.
    #[arg(long, value_name = "DIR")]
    pub lookups: Vec<PathBuf>,

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
    /// The SPL detections, after the Sigma entries in numbering.
    pub spl: SplSet,
    /// Macro and lookup files that could not be read: (file, why).
    pub library_problems: Vec<(String, String)>,
}

impl RuleSet {
    pub fn load(args: &RuleArgs) -> Result<RuleSet, String> {
        RuleSet::load_selected(args, &|_| true)
    }

    /// Loads every rule, and compiles the active ones that `select` takes.
    pub fn load_selected(args: &RuleArgs, select: &dyn Fn(&RuleMeta) -> bool) -> Result<RuleSet, String> {
        let options = load_options(args)?;
        let (sigma_files, escu_files) = rule_files(&args.rules);
        let mut entries = harrier_sigma::load(&sigma_files, &options);
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
        let library = spl_library(args, !escu_files.is_empty());
        let spl = SplSet::load(&escu_files, &library, select);
        Ok(RuleSet {
            entries,
            selected,
            compile_errors,
            active,
            engine,
            correlator,
            correlation_error,
            spl,
            library_problems: library.problems,
        })
    }

    /// A run of one ad-hoc SPL search.
    pub fn from_search(search: &str, macros: &[PathBuf], lookups: &[PathBuf]) -> Result<RuleSet, String> {
        let library = Library::load(macros, lookups);
        let spl = SplSet::from_search(search, &library)?;
        let (engine, _) = Engine::new(std::iter::empty());
        let correlator = Correlator::new(Vec::new(), &|_| None).expect("no correlations");
        Ok(RuleSet {
            entries: Vec::new(),
            selected: Vec::new(),
            compile_errors: HashMap::new(),
            active: Vec::new(),
            engine,
            correlator,
            correlation_error: None,
            spl,
            library_problems: library.problems,
        })
    }

    /// Sigma entries and SPL detections together.
    pub fn len(&self) -> usize {
        self.entries.len() + self.spl.detections.len()
    }

    /// The rule behind an engine hit.
    pub fn rule(&self, hit: usize) -> &Rule {
        self.entries[self.active[hit]].rule().expect("active rules loaded")
    }

    pub fn status(&self, index: usize) -> RuleStatus<'_> {
        if index >= self.entries.len() {
            return self.spl_status(index - self.entries.len());
        }
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
            language: "sigma",
            loaded: status != "failed",
            status,
            reason,
            warnings: &entry.warnings,
        }
    }

    fn spl_status(&self, index: usize) -> RuleStatus<'_> {
        let detection = &self.spl.detections[index];
        let (status, reason) = match (&detection.outcome, self.spl.compile_errors.get(&index)) {
            (_, Some(error)) => ("failed", Some(error.clone())),
            (SplOutcome::Failed(why), None) => ("failed", Some(why.clone())),
            (SplOutcome::Deprecated(_), None) => ("inactive", Some("deprecated".to_owned())),
            (SplOutcome::Runnable(_), None) if !self.spl.selected[index] => ("not selected", None),
            (SplOutcome::Runnable(_), None) => ("loaded", None),
        };
        RuleStatus {
            file: &detection.meta.source.file,
            line: detection.meta.source.line,
            id: detection.meta.id.as_deref(),
            title: Some(&detection.meta.title),
            language: "spl",
            loaded: status != "failed",
            status,
            reason,
            warnings: &self.spl.warnings[index],
        }
    }

    pub fn count(&self, status: &str) -> usize {
        (0..self.len()).filter(|&index| self.status(index).status == status).count()
    }
}

/// One rule as `rules check` reports it.
#[derive(Serialize)]
pub struct RuleStatus<'a> {
    pub file: &'a str,
    pub line: usize,
    pub id: Option<&'a str>,
    pub title: Option<&'a str>,
    /// `sigma` or `spl`.
    pub language: &'static str,
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

/// Folders of ESCU support files, never rules.
const SUPPORT_FOLDERS: [&str; 3] = ["macros", "lookups", "data_sources"];

/// The rule files under the given paths, split into Sigma files and ESCU detections. A file
/// given by name is taken whatever its extension.
fn rule_files(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let mut sigma = Vec::new();
    let mut escu = Vec::new();
    for path in paths {
        if !path.is_dir() {
            classify(path.clone(), &mut sigma, &mut escu);
            continue;
        }
        let walk = walkdir::WalkDir::new(path)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|entry| entry.depth() == 0 || !SUPPORT_FOLDERS.iter().any(|name| entry.file_name() == *name));
        for entry in walk.filter_map(Result::ok) {
            let is_yaml = entry.path().extension().is_some_and(|ext| ext == "yml" || ext == "yaml");
            if entry.file_type().is_file() && is_yaml {
                classify(entry.into_path(), &mut sigma, &mut escu);
            }
        }
    }
    (sigma, escu)
}

fn classify(path: PathBuf, sigma: &mut Vec<PathBuf>, escu: &mut Vec<PathBuf>) {
    let is_escu = std::fs::read_to_string(&path).is_ok_and(|text| harrier_spl::escu::is_detection(&text));
    if is_escu { escu.push(path) } else { sigma.push(path) }
}

/// The macros and lookups for ESCU detections: the folders given, or those found beside or
/// above the rules paths.
fn spl_library(args: &RuleArgs, needed: bool) -> Library {
    let mut macros = args.macros.clone();
    let mut lookups = args.lookups.clone();
    if needed {
        for path in &args.rules {
            let (found_macros, found_lookups) = harrier_spl::escu::support_dirs(path);
            macros.extend(found_macros.filter(|_| args.macros.is_empty()).filter(|dir| !macros.contains(dir)));
            lookups.extend(found_lookups.filter(|_| args.lookups.is_empty()).filter(|dir| !lookups.contains(dir)));
        }
    }
    Library::load(&macros, &lookups)
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
