//! Lookup tables: ESCU lookup definitions (`name`, `filename`, `match_type`,
//! `case_sensitive_match`, `max_matches`, `default_match`) with their CSV files.

use harrier_ir::pipeline::LookupTable;
use std::collections::HashMap;
use std::path::Path;

/// Splunk's default `max_matches`.
const DEFAULT_MAX_MATCHES: usize = 100;

/// Reads every definition in a folder with its CSV; gives the tables by name (also by CSV
/// file name, as `inputlookup x.csv` names them) and the files that could not be read.
pub fn load_dir(dir: &Path) -> (HashMap<String, LookupTable>, Vec<(String, String)>) {
    let mut tables = HashMap::new();
    let mut problems = Vec::new();
    let mut files: Vec<_> = match std::fs::read_dir(dir) {
        Ok(entries) => entries.filter_map(|entry| entry.ok().map(|entry| entry.path())).collect(),
        Err(error) => return (tables, vec![(dir.display().to_string(), error.to_string())]),
    };
    files.sort();
    for path in files.iter().filter(|path| path.extension().is_some_and(|ext| ext == "yml" || ext == "yaml")) {
        match load_definition(path) {
            Ok(Some((table, file_name))) => {
                tables.insert(file_name, table.clone());
                tables.insert(table.name.clone(), table);
            }
            Ok(None) => {}
            Err(error) => problems.push((path.display().to_string(), error)),
        }
    }
    (tables, problems)
}

/// One definition; `None` for a lookup without a CSV (a KV store collection).
fn load_definition(path: &Path) -> Result<Option<(LookupTable, String)>, String> {
    let text = std::fs::read_to_string(path).map_err(|error| error.to_string())?;
    let document: yaml_serde::Value = yaml_serde::from_str(&text).map_err(|error| error.to_string())?;
    let text_of = |key: &str| match document.get(key) {
        Some(yaml_serde::Value::String(text)) => Some(text.clone()),
        Some(yaml_serde::Value::Number(number)) => Some(number.to_string()),
        Some(yaml_serde::Value::Bool(flag)) => Some(flag.to_string()),
        _ => None,
    };
    let name = text_of("name").ok_or("no `name`")?;
    let Some(file_name) = text_of("filename") else {
        return Ok(None);
    };
    let csv_path = path.with_file_name(&file_name);
    let (columns, rows) = read_csv(&csv_path).map_err(|error| format!("{}: {error}", csv_path.display()))?;
    let wildcard_columns = text_of("match_type")
        .map(|types| {
            types
                .split(',')
                .filter_map(|item| item.trim().strip_prefix("WILDCARD(")?.strip_suffix(')').map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let table = LookupTable {
        name,
        columns,
        rows,
        wildcard_columns,
        case_sensitive: text_of("case_sensitive_match").is_none_or(|flag| flag != "false"),
        max_matches: text_of("max_matches").and_then(|max| max.parse().ok()).unwrap_or(DEFAULT_MAX_MATCHES),
        default_match: text_of("default_match"),
    };
    Ok(Some((table, file_name)))
}

fn read_csv(path: &Path) -> Result<(Vec<String>, Vec<Vec<String>>), String> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_path(path).map_err(|error| error.to_string())?;
    let columns = reader.headers().map_err(|error| error.to_string())?.iter().map(str::to_owned).collect();
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|error| error.to_string())?;
        rows.push(record.iter().map(str::to_owned).collect());
    }
    Ok((columns, rows))
}
