//! ESCU detection files (both the 2024 and the 2025+ YAML generations) into rules with queries.

use crate::commands::parse_query;
use crate::macros::Macros;
use harrier_ir::pipeline::{Command, LookupTable, Query, QuerySource};
use harrier_ir::{Annotation, Level, RuleMeta, SourcePlace, Status};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use yaml_serde::Value as Yaml;

/// One detection file and what became of it.
#[derive(Debug, Clone)]
pub struct Detection {
    pub meta: RuleMeta,
    /// The search as written, and after macro expansion (when that worked).
    pub search: String,
    pub expanded: Option<String>,
    pub outcome: Outcome,
}

#[derive(Debug, Clone)]
pub enum Outcome {
    Runnable(Query),
    /// `status: deprecated`: loaded, not run.
    Deprecated(Query),
    /// Cannot run: why, with the place in the expanded search.
    Failed(String),
}

/// Macros and lookups the detections of a run use.
#[derive(Debug, Clone, Default)]
pub struct Library {
    pub macros: Macros,
    pub lookups: HashMap<String, LookupTable>,
    /// Files of the macro and lookup folders that could not be read: (file, why).
    pub problems: Vec<(String, String)>,
}

impl Library {
    /// The built-in macros plus the given macro and lookup folders.
    pub fn load(macro_dirs: &[PathBuf], lookup_dirs: &[PathBuf]) -> Library {
        let mut library = Library { macros: Macros::builtin(), ..Library::default() };
        for dir in macro_dirs {
            let problems = library.macros.load_dir(dir);
            library.problems.extend(problems);
        }
        for dir in lookup_dirs {
            let (tables, problems) = crate::lookups::load_dir(dir);
            library.lookups.extend(tables);
            library.problems.extend(problems);
        }
        library
    }
}

/// The `macros/` and `lookups/` folders beside or above a rules path (ESCU's layout:
/// `detections/endpoint/x.yml` with `macros/` beside `detections/`).
pub fn support_dirs(rules_path: &Path) -> (Option<PathBuf>, Option<PathBuf>) {
    let start = if rules_path.is_dir() { Some(rules_path) } else { rules_path.parent() };
    let mut macros = None;
    let mut lookups = None;
    for dir in start.into_iter().flat_map(Path::ancestors) {
        if macros.is_none() && dir.join("macros").is_dir() {
            macros = Some(dir.join("macros"));
        }
        if lookups.is_none() && dir.join("lookups").is_dir() {
            lookups = Some(dir.join("lookups"));
        }
        if macros.is_some() && lookups.is_some() {
            break;
        }
    }
    (macros, lookups)
}

/// Whether a YAML text is an ESCU detection (a `search:` and a `name:`, no Sigma `detection:`).
pub fn is_detection(text: &str) -> bool {
    let top = |key: &str| text.lines().any(|line| line.starts_with(key));
    top("search:") && top("name:") && !top("detection:")
}

/// Loads one detection file.
pub fn load_file(path: &Path, library: &Library) -> Detection {
    let place = SourcePlace { file: path.display().to_string(), line: 1 };
    match std::fs::read_to_string(path) {
        Ok(text) => load_text(&text, place, library),
        Err(error) => failed(place, format!("cannot read: {error}")),
    }
}

fn failed(place: SourcePlace, why: String) -> Detection {
    let meta = RuleMeta { title: place.file.clone(), source: place, ..RuleMeta::default() };
    Detection { meta, search: String::new(), expanded: None, outcome: Outcome::Failed(why) }
}

/// Loads one detection from its YAML text.
pub fn load_text(text: &str, place: SourcePlace, library: &Library) -> Detection {
    let document: Yaml = match yaml_serde::from_str(text) {
        Ok(document) => document,
        Err(error) => return failed(place, format!("not YAML: {error}")),
    };
    let Some(search) = document.get("search").and_then(Yaml::as_str).map(str::to_owned) else {
        return failed(place, "no `search`".into());
    };
    let meta = metadata(&document, place);
    let (expanded, outcome) = match library.macros.expand(&search) {
        Err(error) => (None, Outcome::Failed(error.render(&search))),
        Ok(expanded) => {
            let outcome = match parse_query(&expanded) {
                Err(error) => Outcome::Failed(error.render(&expanded)),
                Ok(query) => match missing_lookup(&query, &library.lookups) {
                    Some(name) => Outcome::Failed(format!("lookup `{name}` is not available (no CSV definition)")),
                    None if meta.status == Some(Status::Deprecated) => Outcome::Deprecated(query),
                    None => Outcome::Runnable(query),
                },
            };
            (Some(expanded), outcome)
        }
    };
    Detection { meta, search, expanded, outcome }
}

/// The first lookup a query uses that the library lacks.
fn missing_lookup(query: &Query, lookups: &HashMap<String, LookupTable>) -> Option<String> {
    if let QuerySource::Lookup(name) = &query.source
        && !lookups.contains_key(name)
    {
        return Some(name.clone());
    }
    query.commands.iter().find_map(|command| match command {
        Command::Lookup(call) if !lookups.contains_key(&call.table) => Some(call.table.clone()),
        Command::Join { query, .. } => missing_lookup(query, lookups),
        _ => None,
    })
}

fn text(document: &Yaml, key: &str) -> Option<String> {
    match document.get(key)? {
        Yaml::String(text) => Some(text.clone()),
        Yaml::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

fn texts(value: Option<&Yaml>) -> Vec<String> {
    value.and_then(Yaml::as_sequence).map(|list| list.iter().filter_map(text_of).collect()).unwrap_or_default()
}

fn text_of(value: &Yaml) -> Option<String> {
    match value {
        Yaml::String(text) => Some(text.clone()),
        Yaml::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

/// ESCU metadata in Harrier's terms. ESCU has no level; it is taken from the detection
/// type: TTP and Correlation → high, Anomaly → medium, Hunting → low.
fn metadata(document: &Yaml, place: SourcePlace) -> RuleMeta {
    let tags = document.get("tags");
    let tag = |key: &str| tags.and_then(|tags| tags.get(key));
    let kind = text(document, "type");
    let level = match kind.as_deref().map(str::to_ascii_lowercase).as_deref() {
        Some("ttp" | "correlation") => Level::High,
        Some("hunting") => Level::Low,
        _ => Level::Medium,
    };
    let status = match text(document, "status").as_deref() {
        Some("production") => Some(Status::Stable),
        Some("experimental") => Some(Status::Experimental),
        Some("deprecated") => Some(Status::Deprecated),
        _ => None,
    };
    let techniques: Vec<String> = texts(tag("mitre_attack_id")).into_iter().map(|id| id.to_ascii_uppercase()).collect();
    let attack = harrier_attack::Attack::get();
    let mut tactics: Vec<String> = Vec::new();
    for technique in techniques.iter().filter_map(|id| attack.technique(id)) {
        for tactic in &technique.tactics {
            if !tactics.contains(tactic) {
                tactics.push(tactic.clone());
            }
        }
    }
    let mut annotations = Vec::new();
    if let Some(kind) = kind {
        annotations.push(("type".to_owned(), Annotation::Text(kind)));
    }
    let stories = texts(tag("analytic_story"));
    if !stories.is_empty() {
        annotations.push(("analytic_story".to_owned(), Annotation::List(stories)));
    }
    for key in ["confidence", "impact", "risk_score"] {
        if let Some(number) = tag(key).and_then(Yaml::as_f64) {
            annotations.push((key.to_owned(), Annotation::Number(number)));
        }
    }
    let rba_score = document
        .get("rba")
        .and_then(|rba| rba.get("risk_objects"))
        .and_then(Yaml::as_sequence)
        .and_then(|objects| objects.iter().filter_map(|object| object.get("score")?.as_f64()).reduce(f64::max));
    if let Some(score) = rba_score.filter(|_| !annotations.iter().any(|(key, _)| key == "risk_score")) {
        annotations.push(("risk_score".to_owned(), Annotation::Number(score)));
    }
    RuleMeta {
        id: text(document, "id"),
        name: text(document, "name"),
        title: text(document, "name").unwrap_or_else(|| place.file.clone()),
        description: text(document, "description"),
        status,
        level,
        author: text(document, "author"),
        references: texts(document.get("references")),
        tags: techniques.iter().map(|id| format!("attack.{}", id.to_ascii_lowercase())).collect(),
        techniques,
        tactics,
        false_positives: text(document, "known_false_positives").into_iter().collect(),
        logsource: Default::default(),
        source: place,
        annotations,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_detection_loads_with_its_metadata() {
        let mut library = Library::load(&[], &[]);
        library.macros.define("sysmon", &[], "source=XmlWinEventLog:Microsoft-Windows-Sysmon/Operational");
        library.macros.define("security_content_ctime", &["field"], r#"convert timeformat="%Y" ctime($field$)"#);
        let text = "name: Test Detection\nid: 1\ntype: TTP\nstatus: production\nsearch: '`sysmon` EventCode=3 | stats count min(_time) as firstTime by dest | `security_content_ctime(firstTime)` | `test_detection_filter`'\nknown_false_positives: admins\ntags:\n  analytic_story: [AgentTesla]\n  mitre_attack_id: [T1071.003]\n  risk_score: 9\n";
        let detection = load_text(text, SourcePlace { file: "t.yml".into(), line: 1 }, &library);
        assert!(matches!(detection.outcome, Outcome::Runnable(_)), "{:?}", detection.outcome);
        assert_eq!(detection.meta.level, Level::High);
        assert_eq!(detection.meta.techniques, ["T1071.003"]);
        assert_eq!(detection.meta.tactics, ["command-and-control"]);
        assert_eq!(detection.meta.false_positives, ["admins"]);
        assert!(detection.expanded.unwrap().ends_with("| search *"));
    }

    #[test]
    fn failures_show_the_place_in_the_expanded_search() {
        let library = Library::load(&[], &[]);
        let text = "name: T\nsearch: 'a=1 | transaction x'\n";
        let detection = load_text(text, SourcePlace::default(), &library);
        let Outcome::Failed(why) = detection.outcome else { panic!("failure expected") };
        assert!(why.contains("`transaction`") && why.contains("^"), "{why}");
    }
}
