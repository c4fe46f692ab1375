//! Execution proves conversion: every SigmaHQ rule that converts to SQLite, run in SQLite over
//! the shared events (one column per field, as `harrier events` gives them), finds exactly the
//! events `harrier hunt` finds with the same rule; every ESCU detection that converts, run over
//! the same events as Splunk sees them (`harrier events --view splunk`), gives exactly the
//! rows `harrier hunt` gives.

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
fn load(connection: &Connection, events: &[serde_json::Value]) -> (usize, BTreeSet<String>) {
    let mut columns: Vec<String> = Vec::new();
    let mut position: HashMap<String, usize> = HashMap::new();
    let mut collided = BTreeSet::new();
    for event in events {
        for name in event["event"].as_object().unwrap().keys() {
            match position.entry(name.to_lowercase()) {
                std::collections::hash_map::Entry::Vacant(slot) => {
                    slot.insert(columns.len());
                    columns.push(name.clone());
                }
                std::collections::hash_map::Entry::Occupied(slot) if columns[*slot.get()] != *name => {
                    collided.insert(name.to_lowercase());
                }
                std::collections::hash_map::Entry::Occupied(_) => {}
            }
        }
    }
    collided.extend(columns.iter().map(|name| format!("={name}")));
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
    (columns.len(), collided)
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

/// Runs a query; a column no event has is added (all NULL: absent).
fn run<T>(
    connection: &Connection,
    query: &str,
    read: &dyn Fn(&mut rusqlite::Statement) -> rusqlite::Result<T>,
) -> Result<T, String> {
    loop {
        match connection.prepare(query).and_then(|mut statement| read(&mut statement)) {
            Ok(found) => return Ok(found),
            Err(error) => {
                let text = error.to_string();
                let Some(rest) = text.strip_prefix("no such column: ") else { return Err(text) };
                // `name`, or `"name" - should this be a string literal ...?`
                let column = match rest.strip_prefix('"') {
                    Some(quoted) => quoted.split('"').next().unwrap_or_default(),
                    None => rest.split(" - ").next().unwrap_or_default(),
                };
                connection
                    .execute_batch(&format!("ALTER TABLE logs ADD COLUMN \"{}\" TEXT", column.replace('"', "\"\"")))
                    .map_err(|error| error.to_string())?;
            }
        }
    }
}

/// The events a detection query finds.
fn hits(connection: &Connection, query: &str) -> Result<Hits, String> {
    let query = query.replacen("SELECT * FROM", "SELECT _source, _record FROM", 1);
    run(connection, &query, &|statement| {
        let rows = statement.query_map([], |row| Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)? as u64)))?;
        rows.collect::<Result<Hits, _>>()
    })
}

/// A table of the shared events (native or as Splunk sees them), with REGEXP; with the field
/// names that differ only by case (SQLite's column names ignore case: one column holds both),
/// and each column's own spelling as `=Name`.
fn database(paths: &[&str], view: &str) -> (Connection, usize, usize, BTreeSet<String>) {
    let mut args = vec!["events"];
    args.extend(paths);
    args.extend(["--view", view, "--format", "jsonl", "-q"]);
    let mut events = harrier_lines(&args);
    if view == "native" {
        // Correlation windows need the time in epoch seconds (the Splunk view has `_time`).
        for event in &mut events {
            let time = event["timestamp"].as_str().and_then(harrier_event::Timestamp::parse);
            let seconds = time.map(|time| serde_json::json!(time.unix_micros() as f64 / 1e6));
            event["event"]["_time"] = seconds.unwrap_or(serde_json::Value::Null);
        }
    }
    let connection = Connection::open_in_memory().unwrap();
    // A double-quoted name that is no column must be an error, not SQLite's string literal.
    connection.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_DQS_DML, false).unwrap();
    let (columns, collided) = load(&connection, &events);
    add_regexp(&connection);
    (connection, events.len(), columns, collided)
}

#[test]
fn sqlite_runs_of_converted_sigmahq_rules_find_harriers_hits() {
    let (Some(rules), Some(evtx), Some(json)) =
        (harrier_testdata::shared("sigma/rules"), harrier_testdata::shared("evtx"), harrier_testdata::shared("json"))
    else {
        return;
    };
    let (rules, evtx, json) = (rules.to_str().unwrap(), evtx.to_str().unwrap(), json.to_str().unwrap());
    let (connection, events, columns, _) = database(&[evtx, json], "native");

    let mut expected: BTreeMap<String, Hits> = BTreeMap::new();
    for hit in harrier_lines(&["hunt", evtx, json, "-r", rules, "--format", "jsonl", "-q"]) {
        let Some(id) = hit["rule_id"].as_str().filter(|_| hit.get("type").is_none()) else { continue };
        let place = (hit["source_file"].as_str().unwrap().to_owned(), hit["record_id"].as_u64().unwrap());
        expected.entry(id.to_owned()).or_default().insert(place);
    }
    let conversions =
        harrier_lines(&["convert", "-r", rules, "--to", "sql", "--skip-unsupported", "--format", "jsonl"]);
    let (mut compared, mut with_hits, mut differing) = (0, 0, Vec::new());
    // Rules of other products (macOS, Zeek ...) convert without a logsource condition: they
    // are not meant for this table, and Harrier does not run them on Windows logs.
    let windows = |line: &&serde_json::Value| line["query"].is_string() && line["unmapped_logsource"].is_null();
    for conversion in conversions.iter().filter(windows) {
        let id = conversion["rule_id"].as_str().expect("SigmaHQ rules have ids");
        let found = hits(&connection, conversion["query"].as_str().unwrap())
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
        "{events} events, {columns} columns; {compared} converted rules run in SQLite, {with_hits} with hits, {} differ",
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

/// A result value as text: numbers as Splunk writes them, multivalues (a JSON array from SQL's
/// `values()`, a list from Harrier) as their sorted items, a single item as itself.
fn cell(value: &serde_json::Value) -> serde_json::Value {
    let items = match value {
        serde_json::Value::Array(items) => items.clone(),
        serde_json::Value::String(text) if text.starts_with('[') => {
            serde_json::from_str::<Vec<serde_json::Value>>(text).unwrap_or_else(|_| vec![value.clone()])
        }
        other => vec![other.clone()],
    };
    let mut texts: Vec<String> = items
        .iter()
        .filter(|item| !item.is_null())
        .map(|item| match item {
            serde_json::Value::String(text) => text.clone(),
            serde_json::Value::Number(number) => match number.as_f64() {
                Some(value) if value.fract() == 0.0 => format!("{}", value as i64),
                _ => number.to_string(),
            },
            other => other.to_string(),
        })
        .collect();
    texts.sort();
    match texts.len() {
        0 => serde_json::Value::Null,
        1 => serde_json::Value::String(texts.remove(0)),
        _ => serde_json::json!(texts),
    }
}

type Rows = Vec<String>;

fn normalized(row: &serde_json::Map<String, serde_json::Value>) -> String {
    let fields: BTreeMap<&str, serde_json::Value> =
        row.iter().map(|(name, value)| (name.as_str(), cell(value))).filter(|(_, value)| !value.is_null()).collect();
    serde_json::to_string(&fields).unwrap()
}

/// The rows a pipeline query gives, each as a sorted JSON object.
fn rows(connection: &Connection, query: &str) -> Result<Rows, String> {
    let mut found = run(connection, query, &|statement| {
        let names: Vec<String> = statement.column_names().iter().map(|name| name.to_string()).collect();
        let rows = statement.query_map([], |row| {
            let mut map = serde_json::Map::new();
            for (at, name) in names.iter().enumerate() {
                let value = match row.get_ref(at)? {
                    rusqlite::types::ValueRef::Null => serde_json::Value::Null,
                    rusqlite::types::ValueRef::Integer(number) => serde_json::json!(number),
                    rusqlite::types::ValueRef::Real(number) => serde_json::json!(number),
                    rusqlite::types::ValueRef::Text(text) => serde_json::json!(String::from_utf8_lossy(text)),
                    rusqlite::types::ValueRef::Blob(_) => serde_json::Value::Null,
                };
                map.insert(name.clone(), value);
            }
            Ok(normalized(&map))
        })?;
        rows.collect::<rusqlite::Result<Rows>>()
    })?;
    found.sort();
    Ok(found)
}

#[test]
fn sqlite_runs_of_converted_escu_detections_give_harriers_rows() {
    let (Some(detections), Some(evtx), Some(json)) =
        (harrier_testdata::escu("detections"), harrier_testdata::shared("evtx"), harrier_testdata::shared("json"))
    else {
        return;
    };
    let (detections, evtx, json) = (detections.to_str().unwrap(), evtx.to_str().unwrap(), json.to_str().unwrap());
    let (connection, events, columns, collided) = database(&[evtx, json], "splunk");
    let mut expected: BTreeMap<String, Rows> = BTreeMap::new();
    for line in harrier_lines(&["hunt", evtx, json, "-r", detections, "--format", "jsonl", "-q"]) {
        if line["type"] == "row" {
            let id = line["rule_id"].as_str().unwrap().to_owned();
            expected.entry(id).or_default().push(normalized(line["row"].as_object().unwrap()));
        }
    }
    let conversions =
        harrier_lines(&["convert", "-r", detections, "--to", "sql", "--skip-unsupported", "--format", "jsonl"]);
    let (mut compared, mut with_rows, mut differing, mut case_collisions) = (0, 0, Vec::new(), Vec::new());
    for conversion in conversions.iter().filter(|line| line["query"].is_string()) {
        let id = conversion["rule_id"].as_str().expect("ESCU detections have ids");
        // Splunk's field names are case-sensitive and the Splunk view has fields that differ
        // only by case (`ProcessId` from Sysmon, `ProcessID` from the XML System element);
        // a SQLite table cannot hold both, so such detections cannot be compared exactly.
        let query = conversion["query"].as_str().unwrap();
        let names = query.split('"').skip(1).step_by(2);
        let collides = names.into_iter().any(|name| {
            let lower = name.to_lowercase();
            collided.contains(&lower)
                || (!collided.contains(&format!("={name}"))
                    && collided.iter().any(|known| known.to_lowercase() == format!("={lower}")))
        });
        let query = conversion["query"].as_str().unwrap();
        let found = rows(&connection, query).unwrap_or_else(|error| panic!("{id}: {error}\n{query:.300}"));
        let mut wanted = expected.remove(id).unwrap_or_default();
        wanted.sort();
        compared += 1;
        if !found.is_empty() || !wanted.is_empty() {
            with_rows += 1;
        }
        if found != wanted {
            let only_sql: Vec<_> = found.iter().filter(|row| !wanted.contains(row)).take(2).collect();
            let only_harrier: Vec<_> = wanted.iter().filter(|row| !found.contains(row)).take(2).collect();
            let line = format!(
                "{id} {}: SQL {} rows, Harrier {}; only SQL {only_sql:?}; only Harrier {only_harrier:?}",
                conversion["rule_title"],
                found.len(),
                wanted.len()
            );
            if collides { case_collisions.push(line) } else { differing.push(line) }
        }
    }
    eprintln!(
        "{events} events as Splunk sees them, {columns} columns; {compared} converted detections run in SQLite, {with_rows} with rows, {} differ, {} more differ on field names SQLite cannot tell apart (a name only in another case, or in two cases)",
        differing.len(),
        case_collisions.len()
    );
    for line in case_collisions.iter().chain(&differing) {
        eprintln!("  {line:.1500}");
    }
    let skipped: BTreeSet<&str> = conversions
        .iter()
        .filter(|line| line["skipped"].is_string())
        .filter_map(|line| line["rule_id"].as_str())
        .collect();
    eprintln!("detections with rows that SQL cannot express (named by convert): {}", expected.len());
    assert!(expected.keys().all(|id| skipped.contains(id.as_str())), "{:?}", expected.keys().collect::<Vec<_>>());
    assert!(compared > 500, "{compared}");
    assert!(differing.is_empty(), "{} detections differ", differing.len());
}

/// A Sigma correlation (event_count over failed logons, the example) run in SQLite fires for
/// the groups Harrier's correlation engine reports.
#[test]
fn sqlite_runs_of_a_converted_correlation_fire_for_harriers_groups() {
    let (logs, rules) = (examples_path("logs"), examples_path("rules"));
    let (connection, _, _, _) = database(&[&logs], "native");
    let hunt = harrier_lines(&["hunt", &logs, "-r", &rules, "--format", "jsonl", "-q"]);
    let correlation_id = "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c07";
    let harrier_groups: BTreeSet<String> = hunt
        .iter()
        .filter(|line| line["type"] == "correlation" && line["rule_id"] == correlation_id)
        .map(|line| line["group"]["TargetUserName"].as_str().unwrap().to_lowercase())
        .collect();
    assert!(!harrier_groups.is_empty(), "the example fires");
    let conversions =
        harrier_lines(&["convert", "-r", &rules, "--to", "sql", "--skip-unsupported", "--format", "jsonl"]);
    let query = conversions.iter().find(|line| line["rule_id"] == correlation_id).unwrap()["query"]
        .as_str()
        .unwrap()
        .to_owned();
    let sql_groups: BTreeSet<String> = run(&connection, &query, &|statement| {
        let rows = statement.query_map([], |row| row.get::<_, String>(0))?;
        rows.collect::<rusqlite::Result<BTreeSet<String>>>()
    })
    .unwrap();
    assert_eq!(sql_groups, harrier_groups, "{query}");
}

fn examples_path(part: &str) -> String {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples").join(part).display().to_string()
}
