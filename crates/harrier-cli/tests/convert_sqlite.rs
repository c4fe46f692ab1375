//! Execution proves conversion: every SigmaHQ rule that converts to SQLite, run in SQLite over
//! the shared events (one column per field, as `harrier events` gives them), finds exactly the
//! events `harrier hunt` finds with the same rule.

use rusqlite::Connection;
use rusqlite::functions::FunctionFlags;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::process::Command;

type Hits = BTreeSet<(String, u64)>;

fn harrier_lines(args: &[&str]) -> Vec<serde_json::Value> {
    let output = Command::new(env!("CARGO_BIN_EXE_harrier")).args(args).output().expect("harrier runs");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect()
}

/// A field's value as a column holds it; a list one item per line.
fn column_text(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::Null => None,
        serde_json::Value::String(text) => Some(text.clone()),
        serde_json::Value::Array(items) => {
            Some(items.iter().map(|item| column_text(item).unwrap_or_default()).collect::<Vec<_>>().join("\n"))
        }
        other => Some(other.to_string()),
    }
}

/// The events in a `logs` table: `_source`, `_record`, then one column per field name (SQLite
/// names ignore case, as Harrier's lookups do).
fn load(connection: &Connection, events: &[serde_json::Value]) -> usize {
    let mut columns: Vec<String> = Vec::new();
    let mut position: HashMap<String, usize> = HashMap::new();
    for event in events {
        for name in event["event"].as_object().unwrap().keys() {
            if let std::collections::hash_map::Entry::Vacant(slot) = position.entry(name.to_lowercase()) {
                slot.insert(columns.len());
                columns.push(name.clone());
            }
        }
    }
    let declared: Vec<String> = columns.iter().map(|name| format!("\"{}\" TEXT", name.replace('"', "\"\""))).collect();
    connection
        .execute_batch(&format!("CREATE TABLE logs (_source TEXT, _record INTEGER, {})", declared.join(", ")))
        .unwrap();
    let placeholders = vec!["?"; columns.len() + 2].join(", ");
    let transaction = connection.unchecked_transaction().unwrap();
    {
        let mut insert = transaction.prepare(&format!("INSERT INTO logs VALUES ({placeholders})")).unwrap();
        for event in events {
            let mut values: Vec<Option<String>> = vec![None; columns.len()];
            for (name, value) in event["event"].as_object().unwrap() {
                let slot = &mut values[position[&name.to_lowercase()]];
                if slot.is_none() {
                    *slot = column_text(value);
                }
            }
            let source = event["source_file"].as_str().unwrap().to_owned();
            let record = event["record_id"].as_u64().unwrap() as i64;
            let mut row: Vec<Box<dyn rusqlite::ToSql>> = vec![Box::new(source), Box::new(record)];
            row.extend(values.into_iter().map(|value| Box::new(value) as Box<dyn rusqlite::ToSql>));
            insert.execute(rusqlite::params_from_iter(row.iter().map(|value| value.as_ref()))).unwrap();
        }
    }
    transaction.commit().unwrap();
    columns.len()
}

/// REGEXP as Harrier's engine runs regexes (the same crate; flags inline).
fn add_regexp(connection: &Connection) {
    let cache: std::sync::Mutex<HashMap<String, Option<regex::Regex>>> = Default::default();
    connection
        .create_scalar_function(
            "regexp",
            2,
            FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
            move |context| {
                let pattern: String = context.get(0)?;
                let Some(value) = context.get::<Option<String>>(1)? else { return Ok(None) };
                let mut cache = cache.lock().unwrap();
                let regex = cache.entry(pattern.clone()).or_insert_with(|| regex::Regex::new(&pattern).ok());
                Ok(regex.as_ref().map(|regex| regex.is_match(&value)))
            },
        )
        .unwrap();
}

/// Runs a query for its hits; a column no event has is added (all NULL: absent).
fn run(connection: &Connection, query: &str) -> Result<Hits, String> {
    let query = query.replacen("SELECT * FROM", "SELECT _source, _record FROM", 1);
    loop {
        let result = connection.prepare(&query).and_then(|mut statement| {
            let rows = statement.query_map([], |row| Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)? as u64)))?;
            rows.collect::<Result<Hits, _>>()
        });
        match result {
            Ok(hits) => return Ok(hits),
            Err(error) => {
                let text = error.to_string();
                let Some(column) = text.strip_prefix("no such column: ") else { return Err(text) };
                connection
                    .execute_batch(&format!("ALTER TABLE logs ADD COLUMN \"{column}\" TEXT"))
                    .map_err(|error| error.to_string())?;
            }
        }
    }
}

#[test]
fn sqlite_runs_of_converted_sigmahq_rules_find_harriers_hits() {
    let (Some(rules), Some(evtx), Some(json)) =
        (harrier_testdata::shared("sigma/rules"), harrier_testdata::shared("evtx"), harrier_testdata::shared("json"))
    else {
        return;
    };
    let (rules, evtx, json) = (rules.to_str().unwrap(), evtx.to_str().unwrap(), json.to_str().unwrap());
    let events = harrier_lines(&["events", evtx, json, "--format", "jsonl", "-q"]);
    let connection = Connection::open_in_memory().unwrap();
    let columns = load(&connection, &events);
    add_regexp(&connection);

    let mut expected: BTreeMap<String, Hits> = BTreeMap::new();
    for hit in harrier_lines(&["hunt", evtx, json, "-r", rules, "--format", "jsonl", "-q"]) {
        let Some(id) = hit["rule_id"].as_str() else { continue };
        let place = (hit["source_file"].as_str().unwrap().to_owned(), hit["record_id"].as_u64().unwrap());
        expected.entry(id.to_owned()).or_default().insert(place);
    }
    let conversions =
        harrier_lines(&["convert", "-r", rules, "--to", "sql", "--skip-unsupported", "--format", "jsonl"]);
    let (mut compared, mut with_hits, mut differing) = (0, 0, Vec::new());
    for conversion in conversions.iter().filter(|line| line["query"].is_string()) {
        let id = conversion["rule_id"].as_str().expect("SigmaHQ rules have ids");
        let found = run(&connection, conversion["query"].as_str().unwrap())
            .unwrap_or_else(|error| panic!("{id}: {error}\n{:.300}", conversion["query"]));
        let wanted = expected.remove(id).unwrap_or_default();
        compared += 1;
        if !found.is_empty() || !wanted.is_empty() {
            with_hits += 1;
        }
        if found != wanted {
            let only_sql: Vec<_> = found.difference(&wanted).take(3).collect();
            let only_harrier: Vec<_> = wanted.difference(&found).take(3).collect();
            differing.push(format!(
                "{id} {}: SQL {} hits, Harrier {}; only SQL {only_sql:?}; only Harrier {only_harrier:?}",
                conversion["rule_title"],
                found.len(),
                wanted.len()
            ));
        }
    }
    eprintln!(
        "{} events, {columns} columns; {compared} converted rules run in SQLite, {with_hits} with hits, {} differ",
        events.len(),
        differing.len()
    );
    for line in &differing {
        eprintln!("  {line}");
    }
    assert!(compared > 2000, "{compared}");
    // Rules with hits that did not convert are the ones `convert` named as skipped.
    let skipped: BTreeSet<&str> = conversions
        .iter()
        .filter(|line| line["skipped"].is_string())
        .filter_map(|line| line["rule_id"].as_str())
        .collect();
    eprintln!("rules with hits that SQL cannot express (named by convert): {:?}", expected.keys().collect::<Vec<_>>());
    assert!(expected.keys().all(|id| skipped.contains(id.as_str())), "{:?}", expected.keys().collect::<Vec<_>>());
    assert!(differing.is_empty(), "{} rules differ", differing.len());
}
