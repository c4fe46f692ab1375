//! Reading Sigma YAML: files and directories, multi-document files and `action: global`
//! collections, each document turned into a rule or a named reason why not.

use crate::correlation;
use crate::detection;
use crate::filter::{self, Filter};
use crate::logsource::{LogsourceMap, Routed};
use crate::modifiers::ItemContext;
use harrier_ir::{Correlation, Expr, LogSource, Rule, RuleMeta, SourcePlace, attack_ids};
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use yaml_serde::{Mapping, Value as Yaml};

/// What loading needs besides the rules.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    pub logsources: LogsourceMap,
    /// Values for `expand` placeholders, by name without `%`.
    pub placeholders: HashMap<String, Vec<String>>,
    /// A test on a field the routed source cannot carry is unknown (three-valued logic),
    /// rather than false as for an absent field (see [`crate::unknown`]).
    pub unknown_fields: bool,
}

impl Default for LoadOptions {
    fn default() -> LoadOptions {
        LoadOptions { logsources: LogsourceMap::builtin(), placeholders: HashMap::new(), unknown_fields: true }
    }
}

/// One YAML document of a rule file and what became of it (its rule's conditions as
/// [`Expr`](harrier_ir::Expr) trees, unless a holder keeps them in another form: see
/// [`Rule`]).
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone)]
pub struct Entry<C = harrier_ir::Expr> {
    pub place: SourcePlace,
    pub id: Option<String>,
    pub title: Option<String>,
    pub outcome: Outcome<C>,
    /// What the rule runs with that the user should know (undefined placeholders, ...).
    pub warnings: Vec<String>,
}

#[derive(serde::Serialize, serde::Deserialize, Debug, Clone)]
pub enum Outcome<C = harrier_ir::Expr> {
    /// Loaded and able to match these logs.
    Active(Rule<C>),
    /// Loaded, but its logsource is not in these logs (a Linux rule on Windows events).
    Inactive { rule: Rule<C>, reason: String },
    /// A meta filter, added to the conditions of this many rules.
    Filter { applied_to: usize },
    /// A correlation over rules loaded in the same run.
    Correlation(Box<Correlation>),
    /// Not loaded.
    Failed(String),
}

impl<C> Entry<C> {
    pub fn rule(&self) -> Option<&Rule<C>> {
        match &self.outcome {
            Outcome::Active(rule) | Outcome::Inactive { rule, .. } => Some(rule),
            Outcome::Filter { .. } | Outcome::Correlation(_) | Outcome::Failed(_) => None,
        }
    }

    pub fn correlation(&self) -> Option<&Correlation> {
        match &self.outcome {
            Outcome::Correlation(correlation) => Some(correlation),
            _ => None,
        }
    }
}

impl<C> Outcome<C> {
    /// The same outcome with its rule's conditions turned into another form; a rule whose
    /// conditions cannot be is failed, with why.
    pub fn map_conditions<D, E: fmt::Display>(self, convert: impl FnMut(C) -> Result<D, E>) -> Outcome<D> {
        let failed = |error: E| Outcome::Failed(format!("its conditions cannot be kept: {error}"));
        match self {
            Outcome::Active(rule) => rule.map_conditions(convert).map_or_else(failed, Outcome::Active),
            Outcome::Inactive { rule, reason } => {
                rule.map_conditions(convert).map_or_else(failed, |rule| Outcome::Inactive { rule, reason })
            }
            Outcome::Filter { applied_to } => Outcome::Filter { applied_to },
            Outcome::Correlation(correlation) => Outcome::Correlation(correlation),
            Outcome::Failed(reason) => Outcome::Failed(reason),
        }
    }
}

/// `file:line: rule <id>: message`, for a rule that failed.
impl<C> fmt::Display for Entry<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.place)?;
        if let Some(id) = &self.id {
            write!(f, ": rule {id}")?;
        }
        match &self.outcome {
            Outcome::Failed(reason) => write!(f, ": {reason}"),
            Outcome::Inactive { reason, .. } => write!(f, ": inactive: {reason}"),
            Outcome::Active(_) => write!(f, ": loaded"),
            Outcome::Filter { applied_to } => write!(f, ": filter applied to {applied_to} rules"),
            Outcome::Correlation(correlation) => write!(f, ": {} correlation", correlation.kind.name()),
        }
    }
}

/// Loads every `.yml`/`.yaml` file under the paths (directories in sorted order).
pub fn load(paths: &[PathBuf], options: &LoadOptions) -> Vec<Entry> {
    let files: Vec<RuleText> = paths.iter().flat_map(|path| rule_files(path)).collect();
    load_texts(&files, options)
}

/// One rule file's text as read, or why it could not be.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RuleText {
    /// The path as places and errors name it.
    pub file: String,
    pub text: Result<String, String>,
}

impl RuleText {
    pub fn read(path: &Path) -> RuleText {
        let text = std::fs::read_to_string(path).map_err(|error| format!("cannot read: {error}"));
        RuleText { file: path.display().to_string(), text }
    }
}

/// Loads the rules of files already read, in their order.
pub fn load_texts(files: &[RuleText], options: &LoadOptions) -> Vec<Entry> {
    load_texts_kept(files, options, as_trees)
}

/// [`load_texts`], each rule's conditions turned into the form they are kept in (encoded,
/// say) as soon as the rule is routed, so that the trees of all rules are never held at once.
pub fn load_texts_kept<C, E: fmt::Display>(
    files: &[RuleText],
    options: &LoadOptions,
    keep: impl FnMut(Expr) -> Result<C, E>,
) -> Vec<Entry<C>> {
    let mut pending = Vec::new();
    for file in files {
        match &file.text {
            Ok(text) => read_documents(text, &file.file, options, &mut pending),
            Err(error) => pending.push(failed(&file.file, 1, error.clone())),
        }
    }
    finish(pending, options, keep)
}

/// A document read, before filters and routing, which need every document.
struct Pending {
    place: SourcePlace,
    id: Option<String>,
    title: Option<String>,
    warnings: Vec<String>,
    kind: Kind,
}

enum Kind {
    Detection { meta: Box<RuleMeta>, detection: Expr },
    Filter(Filter),
    Correlation(Box<Correlation>),
    Failed(String),
}

/// Applies the filters to the rules they name, then routes each rule to its logsource.
fn finish<C, E: fmt::Display>(
    pending: Vec<Pending>,
    options: &LoadOptions,
    mut keep: impl FnMut(Expr) -> Result<C, E>,
) -> Vec<Entry<C>> {
    let filters: Vec<&Filter> = pending
        .iter()
        .filter_map(|item| match &item.kind {
            Kind::Filter(filter) => Some(filter),
            _ => None,
        })
        .collect();
    let mut applied = vec![0; filters.len()];
    let mut outcomes = Vec::with_capacity(pending.len());
    for item in &pending {
        let outcome = match &item.kind {
            Kind::Detection { meta, detection } => {
                let mut condition = detection.clone();
                for (index, filter) in filters.iter().enumerate() {
                    if filter.applies_to(meta) {
                        condition = Expr::and(vec![condition, filter.condition.clone()]);
                        applied[index] += 1;
                    }
                }
                match options.logsources.route(&meta.logsource, condition.clone(), options.unknown_fields) {
                    Routed::Active { condition, plain } => {
                        Outcome::Active(Rule { meta: (**meta).clone(), condition, plain })
                    }
                    Routed::Inactive(reason) => {
                        Outcome::Inactive { rule: Rule { meta: (**meta).clone(), condition, plain: None }, reason }
                    }
                }
            }
            Kind::Filter(_) => Outcome::Filter { applied_to: 0 },
            Kind::Correlation(correlation) => match unknown_reference(correlation, &pending) {
                Some(missing) => Outcome::Failed(format!(
                    "the correlation names `{missing}`, which no loaded rule has as id or name"
                )),
                None => Outcome::Correlation(correlation.clone()),
            },
            Kind::Failed(reason) => Outcome::Failed(reason.clone()),
        };
        outcomes.push(outcome.map_conditions(&mut keep));
    }
    let mut filter_counts = applied.into_iter();
    pending
        .into_iter()
        .zip(outcomes)
        .map(|(item, outcome)| {
            let outcome = match outcome {
                Outcome::Filter { .. } => Outcome::Filter { applied_to: filter_counts.next().unwrap_or(0) },
                other => other,
            };
            Entry { place: item.place, id: item.id, title: item.title, outcome, warnings: item.warnings }
        })
        .collect()
}

/// A rule a correlation names that no document of the load has as its id or name.
fn unknown_reference<'a>(correlation: &'a Correlation, pending: &[Pending]) -> Option<&'a str> {
    let known = |reference: &str| {
        pending.iter().any(|item| {
            let name = match &item.kind {
                Kind::Detection { meta, .. } => meta.name.as_deref(),
                Kind::Correlation(other) => other.meta.name.as_deref(),
                _ => return false,
            };
            item.id.as_deref() == Some(reference) || name == Some(reference)
        })
    };
    correlation.rules.iter().map(String::as_str).find(|reference| !known(reference))
}

/// The rule files under a path, read, in sorted order; a directory that cannot be listed
/// is one entry with why.
fn rule_files(path: &Path) -> Vec<RuleText> {
    if !path.is_dir() {
        return vec![RuleText::read(path)];
    }
    let mut files = Vec::new();
    for entry in walkdir::WalkDir::new(path).follow_links(true).sort_by_file_name() {
        match entry {
            Ok(entry) if entry.file_type().is_file() && is_yaml(entry.path()) => {
                files.push(RuleText::read(entry.path()))
            }
            Ok(_) => {}
            Err(error) => files.push(RuleText {
                file: error.path().unwrap_or(path).display().to_string(),
                text: Err(format!("cannot list: {error}")),
            }),
        }
    }
    files
}

fn is_yaml(path: &Path) -> bool {
    path.extension().is_some_and(|ext| ext.eq_ignore_ascii_case("yml") || ext.eq_ignore_ascii_case("yaml"))
}

fn failed(file: &str, line: usize, reason: String) -> Pending {
    let place = SourcePlace { file: file.to_owned(), line };
    Pending { place, id: None, title: None, warnings: Vec::new(), kind: Kind::Failed(reason) }
}

/// Loads the rules of one file's text; `file` names it in places and errors.
pub fn load_text(text: &str, file: &str, options: &LoadOptions) -> Vec<Entry> {
    let mut pending = Vec::new();
    read_documents(text, file, options, &mut pending);
    finish(pending, options, as_trees)
}

/// Conditions kept as they are loaded.
fn as_trees(condition: Expr) -> Result<Expr, std::convert::Infallible> {
    Ok(condition)
}

fn read_documents(text: &str, file: &str, options: &LoadOptions, entries: &mut Vec<Pending>) {
    let starts = document_lines(text);
    let mut global: Option<Mapping> = None;
    let mut previous: Option<Mapping> = None;
    for (index, document) in yaml_serde::Deserializer::from_str(text).enumerate() {
        let line = starts.get(index).copied().unwrap_or(1);
        let value = match <Yaml as serde::Deserialize>::deserialize(document) {
            Ok(value) => value,
            Err(error) => {
                let line = error.location().map_or(line, |location| location.line());
                entries.push(failed(file, line, format!("invalid YAML: {error}")));
                break;
            }
        };
        let Yaml::Mapping(mut map) = value else {
            if !value.is_null() {
                entries.push(failed(file, line, "a rule document must be a map".into()));
            }
            continue;
        };
        match map.remove("action").as_ref().and_then(Yaml::as_str) {
            Some("global") => {
                global = Some(map);
                continue;
            }
            Some("reset") => {
                global = None;
                continue;
            }
            Some("repeat") => map = merged(previous.clone().unwrap_or_default(), map),
            _ => {}
        }
        previous = Some(map.clone());
        let document = match &global {
            Some(global) => merged(global.clone(), map),
            None => map,
        };
        entries.push(parse_document(&document, SourcePlace { file: file.to_owned(), line }, options));
    }
}

/// The 1-based line each YAML document starts on.
fn document_lines(text: &str) -> Vec<usize> {
    let mut starts = vec![1];
    let mut seen_content = false;
    for (index, line) in text.lines().enumerate() {
        if line.trim_end() == "---" {
            if seen_content {
                starts.push(index + 2);
            } else {
                starts[0] = index + 2;
            }
            seen_content = true;
        } else if !line.trim().is_empty() && !line.trim_start().starts_with('#') {
            seen_content = true;
        }
    }
    starts
}

/// `base` with `over` laid on it, maps merged key by key.
fn merged(mut base: Mapping, over: Mapping) -> Mapping {
    for (key, value) in over {
        let combined = match (base.remove(&key), value) {
            (Some(Yaml::Mapping(inner)), Yaml::Mapping(over_inner)) => Yaml::Mapping(merged(inner, over_inner)),
            (_, value) => value,
        };
        base.insert(key, combined);
    }
    base
}

fn parse_document(document: &Mapping, place: SourcePlace, options: &LoadOptions) -> Pending {
    let id = text(document, "id");
    let title = text(document, "title");
    let mut warnings = Vec::new();
    let kind = match parse_kind(document, &place, options, &mut warnings) {
        Ok(kind) => kind,
        Err(reason) => Kind::Failed(reason),
    };
    Pending { place, id, title, warnings, kind }
}

fn parse_kind(
    document: &Mapping,
    place: &SourcePlace,
    options: &LoadOptions,
    warnings: &mut Vec<String>,
) -> Result<Kind, String> {
    let meta = metadata(document, place)?;
    if document.contains_key("correlation") {
        return Ok(Kind::Correlation(Box::new(correlation::parse(document, meta)?)));
    }
    let mut context = ItemContext { placeholders: &options.placeholders, warnings };
    if document.contains_key("filter") {
        return Ok(Kind::Filter(filter::parse(document, meta.logsource, &mut context)?));
    }
    let detection_yaml =
        document.get("detection").ok_or("no `detection` (nor `correlation` or `filter`): not a Sigma rule")?;
    let detection = detection::compile(detection_yaml, &mut context)?;
    Ok(Kind::Detection { meta: Box::new(meta), detection })
}

fn metadata(document: &Mapping, place: &SourcePlace) -> Result<RuleMeta, String> {
    let title = text(document, "title").ok_or("no `title`")?;
    let tags = texts(document, "tags");
    let (techniques, tactics) = attack_ids(&tags);
    let logsource = match document.get("logsource") {
        Some(Yaml::Mapping(logsource)) => LogSource {
            product: text(logsource, "product"),
            category: text(logsource, "category"),
            service: text(logsource, "service"),
        },
        Some(_) => return Err("`logsource` must be a map".into()),
        None => LogSource::default(),
    };
    Ok(RuleMeta {
        id: text(document, "id"),
        name: text(document, "name"),
        title,
        description: text(document, "description"),
        status: text(document, "status").map(|status| status.parse()).transpose()?,
        level: text(document, "level").map(|level| level.parse()).transpose()?.unwrap_or_default(),
        author: text(document, "author"),
        references: texts(document, "references"),
        tags,
        techniques,
        tactics,
        false_positives: texts(document, "falsepositives"),
        logsource,
        source: place.clone(),
        annotations: Vec::new(),
    })
}

/// A scalar as text (numbers and booleans too: an `id` can be unquoted).
fn text(map: &Mapping, key: &str) -> Option<String> {
    match map.get(key)? {
        Yaml::String(text) => Some(text.clone()),
        Yaml::Number(number) => Some(number.to_string()),
        Yaml::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

/// A list of scalars, or one scalar as a list of one.
fn texts(map: &Mapping, key: &str) -> Vec<String> {
    match map.get(key) {
        Some(Yaml::Sequence(items)) => items.iter().filter_map(|item| item.as_str().map(str::to_owned)).collect(),
        Some(Yaml::String(text)) => vec![text.clone()],
        _ => Vec::new(),
    }
}
