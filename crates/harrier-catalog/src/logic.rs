//! A rule's detection logic as written: the Sigma `detection` (or `correlation`, `filter`)
//! block cut from its file, the ESCU `search` with its macros expanded beside it.

use serde::Serialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use yaml_serde::Value as Yaml;

/// The logic of one rule.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "language", rename_all = "lowercase")]
pub enum Logic {
    /// The block as written in the file (comments and layout kept), and its key.
    Sigma { key: &'static str, text: String },
    /// The search as written (macros in backquotes) and with the macros expanded.
    Spl { search: String, macros: Vec<String>, expanded: Option<String> },
}

/// The top-level keys that hold a Sigma document's logic, by kind of document.
const SIGMA_LOGIC_KEYS: [&str; 3] = ["detection", "correlation", "filter"];

impl Logic {
    pub(crate) fn spl(search: &str, expanded: Option<&str>) -> Logic {
        Logic::Spl { search: search.to_owned(), macros: macro_names(search), expanded: expanded.map(str::to_owned) }
    }

    /// The field names a Sigma detection tests (`Image` of `Image|endswith`), in order.
    pub(crate) fn fields(&self) -> Vec<String> {
        let Logic::Sigma { text, .. } = self else { return Vec::new() };
        let Ok(Yaml::Mapping(document)) = yaml_serde::from_str::<Yaml>(text) else { return Vec::new() };
        let mut fields = Vec::new();
        for block in document.values().filter_map(Yaml::as_mapping) {
            for (name, value) in block {
                if matches!(name.as_str(), Some("condition" | "timeframe")) {
                    continue;
                }
                let maps: Vec<&yaml_serde::Mapping> = match value {
                    Yaml::Mapping(map) => vec![map],
                    Yaml::Sequence(items) => items.iter().filter_map(Yaml::as_mapping).collect(),
                    _ => Vec::new(),
                };
                for key in maps.iter().flat_map(|map| map.keys()).filter_map(Yaml::as_str) {
                    let field = key.split('|').next().unwrap_or(key);
                    if !field.is_empty() && !fields.iter().any(|known| known == field) {
                        fields.push(field.to_owned());
                    }
                }
            }
        }
        fields
    }
}

/// The macros a search calls: `` `sysmon` ``, `` `security_content_ctime(firstTime)` ``.
fn macro_names(search: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for (position, call) in search.split('`').enumerate() {
        // Odd pieces are between backquotes.
        let name = call.split('(').next().unwrap_or(call).trim();
        if position % 2 == 1 && !name.is_empty() && !names.iter().any(|known| known == name) {
            names.push(name.to_owned());
        }
    }
    names
}

/// Rule files read once each, shared by the threads that build the catalog.
#[derive(Default)]
pub(crate) struct Files {
    texts: Mutex<HashMap<String, Option<Arc<str>>>>,
}

impl Files {
    fn text(&self, file: &str) -> Option<Arc<str>> {
        if let Some(text) = self.texts.lock().expect("not poisoned").get(file) {
            return text.clone();
        }
        let text: Option<Arc<str>> = std::fs::read_to_string(file).ok().map(Into::into);
        self.texts.lock().expect("not poisoned").insert(file.to_owned(), text.clone());
        text
    }

    /// The logic block of the Sigma document that starts at `line` (1-based) of `file`.
    pub(crate) fn sigma(&self, file: &str, line: usize) -> Option<Logic> {
        let text = self.text(file)?;
        SIGMA_LOGIC_KEYS.iter().find_map(|key| {
            let block = top_level_block(&text, line, key)?;
            Some(Logic::Sigma { key, text: block })
        })
    }
}

/// The block of a top-level `key:` of the YAML document that starts at `line` (1-based):
/// the key's line and every line after it up to the next top-level key or the document's
/// end, as written, without trailing blank lines.
pub(crate) fn top_level_block(text: &str, line: usize, key: &str) -> Option<String> {
    let mut lines = text.lines().skip(line.saturating_sub(1)).peekable();
    if lines.peek().is_some_and(|first| is_document_start(first)) {
        lines.next();
    }
    let mut document = lines.take_while(|line| !is_document_start(line));
    let opening = format!("{key}:");
    document
        .find(|line| line.strip_prefix(&opening).is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '#'])))?;
    let mut block = vec![opening];
    block.extend(document.take_while(|line| !starts_top_level_key(line)).map(str::to_owned));
    while block.last().is_some_and(|line| line.trim().is_empty()) {
        block.pop();
    }
    Some(block.join("\n"))
}

fn is_document_start(line: &str) -> bool {
    line.trim_end() == "---"
}

/// A line at column 0 that is neither blank nor a comment: the next key of the document.
fn starts_top_level_key(line: &str) -> bool {
    line.starts_with(|c: char| !c.is_whitespace() && c != '#')
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: &str = "title: one
detection:
    selection:
        Image|endswith: '\\\\cmd.exe'   # a comment stays
        CommandLine|contains:
            - ' /c '
    condition: selection
falsepositives:
    - Unknown
---
title: two
correlation:
    type: event_count
    rules: [one]
";

    #[test]
    fn the_block_is_cut_as_written_from_its_document() {
        let block = top_level_block(RULES, 1, "detection").unwrap();
        assert!(block.starts_with("detection:\n    selection:\n"));
        assert!(block.ends_with("    condition: selection"), "{block}");
        assert!(block.contains("# a comment stays"));
        assert_eq!(top_level_block(RULES, 1, "correlation"), None, "the next document is not this one");
        let second = top_level_block(RULES, 10, "correlation").unwrap();
        assert_eq!(second, "correlation:\n    type: event_count\n    rules: [one]");
        let logic = Logic::Sigma { key: "detection", text: block };
        assert_eq!(logic.fields(), ["Image", "CommandLine"]);
    }

    #[test]
    fn macros_are_named_once_each() {
        let search = "`sysmon` EventID=3 | `security_content_ctime(firstTime)` | `sysmon` | `x_filter`";
        assert_eq!(macro_names(search), ["sysmon", "security_content_ctime", "x_filter"]);
    }
}
