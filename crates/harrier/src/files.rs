//! The files a rule set is read from: rule files found and told apart by language, ESCU's
//! macros and lookups, placeholder values, logsource maps.

use harrier_sigma::{Entry, LogsourceMap, RuleText};
use harrier_spl::escu::Library;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Folders of ESCU support files, never rules.
const SUPPORT_FOLDERS: [&str; 3] = ["macros", "lookups", "data_sources"];

/// The rule files under some paths, by language.
pub(crate) struct RuleFiles {
    /// Read once here: telling the languages apart needs the text.
    pub sigma: Vec<RuleText>,
    pub escu: Vec<PathBuf>,
}

/// The rule files under the given paths, directories walked in sorted order, not yet read. A
/// file given by name is taken whatever its extension.
pub(crate) fn list_rule_files(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for path in paths {
        if !path.is_dir() {
            files.push(path.clone());
            continue;
        }
        let walk = walkdir::WalkDir::new(path)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|entry| entry.depth() == 0 || !SUPPORT_FOLDERS.iter().any(|name| entry.file_name() == *name));
        for entry in walk.filter_map(Result::ok) {
            let is_yaml = entry.path().extension().is_some_and(|ext| ext == "yml" || ext == "yaml");
            if entry.file_type().is_file() && is_yaml {
                files.push(entry.into_path());
            }
        }
    }
    files
}

impl RuleFiles {
    /// Reads the listed files and tells them apart by language.
    pub(crate) fn read(listed: &[PathBuf]) -> RuleFiles {
        let mut files = RuleFiles { sigma: Vec::new(), escu: Vec::new() };
        for path in listed {
            let file = RuleText::read(path);
            let is_escu = file.text.as_deref().is_ok_and(harrier_spl::escu::is_detection);
            if is_escu { files.escu.push(path.clone()) } else { files.sigma.push(file) }
        }
        files
    }
}

/// The macros and lookups for ESCU detections: the folders given, or those found beside or
/// above the rules paths.
pub(crate) fn spl_library(rules: &[PathBuf], macros: &[PathBuf], lookups: &[PathBuf], needed: bool) -> Library {
    if !needed {
        return Library::load(macros, lookups);
    }
    let (macro_dirs, lookup_dirs) = support_dirs(rules, macros, lookups);
    Library::load(&macro_dirs, &lookup_dirs)
}

/// The macro and lookup folders ESCU detections read: those given, else those found beside or
/// above the rules paths.
pub(crate) fn support_dirs(rules: &[PathBuf], macros: &[PathBuf], lookups: &[PathBuf]) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let mut macro_dirs = macros.to_vec();
    let mut lookup_dirs = lookups.to_vec();
    for path in rules {
        let (found_macros, found_lookups) = harrier_spl::escu::support_dirs(path);
        macro_dirs.extend(found_macros.filter(|_| macros.is_empty()).filter(|dir| !macro_dirs.contains(dir)));
        lookup_dirs.extend(found_lookups.filter(|_| lookups.is_empty()).filter(|dir| !lookup_dirs.contains(dir)));
    }
    (macro_dirs, lookup_dirs)
}

/// A file's text, or an error naming it.
fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|error| format!("{}: {error}", path.display()))
}

/// A logsource map file.
pub(crate) fn logsource_map(path: &Path) -> Result<LogsourceMap, String> {
    LogsourceMap::from_yaml(&read(path)?).map_err(|error| format!("{}: {error}", path.display()))
}

/// Placeholder values: a YAML map of name to a value or a list of values.
pub(crate) fn placeholders(path: &Path) -> Result<HashMap<String, Vec<String>>, String> {
    let text = read(path)?;
    let place = |error: String| format!("{}: {error}", path.display());
    let map: HashMap<String, yaml_serde::Value> =
        yaml_serde::from_str(&text).map_err(|error| place(error.to_string()))?;
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
                .ok_or_else(|| place(format!("placeholder `{name}` must be a value or a list of values")))
        })
        .collect()
}

/// An `attack.` tag that names no ATT&CK technique, tactic, group or software is a warning
/// on its rule (a typo, or a newer ATT&CK than Harrier carries).
pub(crate) fn warn_unknown_attack_tags<C>(entries: &mut [Entry<C>]) {
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
