//! Search macros: `` `name` `` and `` `name(a,b)` `` replaced by their definitions.
//!
//! ESCU's macros come as YAML files (`name`, `definition`, `arguments`). Two kinds are not
//! among them and are built in: each detection's `<name>_filter` (ESCU's build tool makes it
//! as `search *`, a hook for local exclusions), and `drop_dm_object_name(object)` from the CIM
//! add-on (`rename object.* AS *`).

use crate::text::SplError;
use std::collections::HashMap;
use std::path::Path;

#[derive(Debug, Clone, PartialEq)]
pub struct Macro {
    pub arguments: Vec<String>,
    pub definition: String,
}

/// Macros by name and number of arguments (`name(2)`).
#[derive(Debug, Clone, Default)]
pub struct Macros {
    table: HashMap<(String, usize), Macro>,
}

/// How deep macros may call macros before expansion is taken for a loop.
const MAX_DEPTH: usize = 32;

/// Largest a search may grow by expanding its macros (ESCU's largest are a few KiB).
const MAX_EXPANDED_BYTES: usize = 1 << 20;

impl Macros {
    /// The macros every search can use, before any file is read.
    pub fn builtin() -> Macros {
        let mut macros = Macros::default();
        macros.define("drop_dm_object_name", &["object"], "rename $object$.* AS *");
        macros
    }

    pub fn define(&mut self, name: &str, arguments: &[&str], definition: &str) {
        let arguments = arguments.iter().map(|argument| argument.to_string()).collect::<Vec<_>>();
        self.table.insert((name.to_owned(), arguments.len()), Macro { arguments, definition: definition.to_owned() });
    }

    pub fn len(&self) -> usize {
        self.table.len()
    }

    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// Reads every `*.yml` macro file of a folder; gives the files that could not be read.
    pub fn load_dir(&mut self, dir: &Path) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        let mut files: Vec<_> = match std::fs::read_dir(dir) {
            Ok(entries) => entries.filter_map(|entry| entry.ok().map(|entry| entry.path())).collect(),
            Err(error) => return vec![(dir.display().to_string(), error.to_string())],
        };
        files.sort();
        for path in files.iter().filter(|path| path.extension().is_some_and(|ext| ext == "yml" || ext == "yaml")) {
            if let Err(error) = self.load_file(path) {
                problems.push((path.display().to_string(), error));
            }
        }
        problems
    }

    fn load_file(&mut self, path: &Path) -> Result<(), String> {
        let text = std::fs::read_to_string(path).map_err(|error| error.to_string())?;
        let document: yaml_serde::Value = yaml_serde::from_str(&text).map_err(|error| error.to_string())?;
        let name = document.get("name").and_then(|name| name.as_str()).ok_or("no `name`")?;
        // The 2026 log-source macros have no definition: they are left to the engine's binding.
        let Some(definition) = document.get("definition").and_then(|definition| definition.as_str()) else {
            return Ok(());
        };
        let arguments: Vec<&str> = document
            .get("arguments")
            .and_then(|arguments| arguments.as_sequence())
            .map(|list| list.iter().filter_map(|argument| argument.as_str()).collect())
            .unwrap_or_default();
        self.define(name, &arguments, definition);
        Ok(())
    }

    /// The search with comments removed and every macro call expanded, recursively.
    /// `*_filter` macros that are not defined expand to `search *`.
    pub fn expand(&self, search: &str) -> Result<String, SplError> {
        let mut out = String::with_capacity(search.len());
        self.expand_into(&strip_comments(search), 0, &mut out)?;
        Ok(out)
    }

    /// Appends `search` with its macros expanded to `out`, which may not outgrow
    /// [`MAX_EXPANDED_BYTES`] (macros that double at each level would take any memory).
    fn expand_into(&self, search: &str, depth: usize, out: &mut String) -> Result<(), SplError> {
        let too_large = |offset| SplError {
            message: format!(
                "the search expands to more than {} KiB (macros that multiply?)",
                MAX_EXPANDED_BYTES >> 10
            ),
            offset,
        };
        let mut rest = search;
        let mut consumed = 0;
        while let Some(start) = next_backtick(rest) {
            out.push_str(&rest[..start]);
            let after = &rest[start + 1..];
            let end = after.find('`').ok_or(SplError {
                message: "unterminated macro call (a ` without its closing `)".into(),
                offset: consumed + start,
            })?;
            let call = &after[..end];
            let expansion = self.call(call).map_err(|message| SplError { message, offset: consumed + start })?;
            if depth >= MAX_DEPTH {
                return Err(SplError { message: format!("macro `{call}` expands too deep (a loop?)"), offset: 0 });
            }
            if out.len() + expansion.len() > MAX_EXPANDED_BYTES {
                return Err(too_large(consumed + start));
            }
            self.expand_into(&expansion, depth + 1, out)?;
            consumed += start + end + 2;
            rest = &after[end + 1..];
        }
        if out.len() + rest.len() > MAX_EXPANDED_BYTES {
            return Err(too_large(consumed));
        }
        out.push_str(rest);
        Ok(())
    }

    /// The definition of one call, `name` or `name(a, b)`, arguments put in.
    fn call(&self, call: &str) -> Result<String, String> {
        let call = call.trim();
        let (name, arguments) = match call.find('(') {
            Some(open) if call.ends_with(')') => {
                let inner = &call[open + 1..call.len() - 1];
                let arguments: Vec<String> = crate::text::split_top_level(inner, ',')
                    .into_iter()
                    .map(|(_, argument)| argument.trim().to_owned())
                    .collect();
                (&call[..open], arguments)
            }
            _ => (call, Vec::new()),
        };
        match self.table.get(&(name.to_owned(), arguments.len())) {
            Some(found) => {
                let mut text = found.definition.clone();
                for (parameter, argument) in found.arguments.iter().zip(&arguments) {
                    // A quoted argument (`drop_dm_object_name("Processes")`) stands for its text.
                    let argument = argument.strip_prefix('"').and_then(|a| a.strip_suffix('"')).unwrap_or(argument);
                    let placeholder = format!("${parameter}$");
                    let grown = text.matches(&placeholder).count() * argument.len();
                    if text.len() + grown > MAX_EXPANDED_BYTES {
                        return Err(format!("macro `{name}` with its arguments is larger than the search may grow"));
                    }
                    text = text.replace(&placeholder, argument);
                }
                Ok(text)
            }
            None if name.ends_with("_filter") && arguments.is_empty() => Ok("search *".to_owned()),
            None => Err(format!("macro `{name}({})` is not defined", arguments.len())),
        }
    }
}

/// The next backtick outside double quotes.
fn next_backtick(text: &str) -> Option<usize> {
    let mut quoted = false;
    let mut escaped = false;
    for (index, c) in text.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '`' if !quoted => return Some(index),
            _ => {}
        }
    }
    None
}

/// Removes ```` ```comments``` ````.
fn strip_comments(search: &str) -> String {
    let mut out = String::with_capacity(search.len());
    let mut rest = search;
    while let Some(start) = rest.find("```") {
        out.push_str(&rest[..start]);
        match rest[start + 3..].find("```") {
            Some(end) => rest = &rest[start + 3 + end + 3..],
            None => {
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// The filter macro ESCU's build tool gives a detection: its name lower-cased, with space,
/// `-`, `.` and `/` turned into `_`, then `_filter`.
pub fn filter_macro_name(detection: &str) -> String {
    let base: String =
        detection.to_lowercase().chars().map(|c| if matches!(c, ' ' | '-' | '.' | '/') { '_' } else { c }).collect();
    format!("{base}_filter")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_nesting_comments_and_filters_expand() {
        let mut macros = Macros::builtin();
        macros.define("ctime", &["field"], r#"convert timeformat="%Y" ctime($field$)"#);
        macros.define("outer", &[], "`ctime(firstTime)`");
        let expanded = macros
            .expand(r#"a="`not a macro`" ```note``` | `outer` | `drop_dm_object_name("Processes")` | `x_filter`"#)
            .unwrap();
        assert_eq!(
            expanded,
            r#"a="`not a macro`"  | convert timeformat="%Y" ctime(firstTime) | rename Processes.* AS * | search *"#
        );
    }

    #[test]
    fn unknown_macros_and_loops_are_errors() {
        let mut macros = Macros::default();
        assert!(macros.expand("`nope`").unwrap_err().message.contains("nope"));
        macros.define("self", &[], "`self`");
        assert!(macros.expand("`self`").is_err());
    }

    #[test]
    fn filter_names_follow_escu() {
        assert_eq!(
            filter_macro_name("Windows Mail Protocol In Non-Common Process Path"),
            "windows_mail_protocol_in_non_common_process_path_filter"
        );
    }
}
