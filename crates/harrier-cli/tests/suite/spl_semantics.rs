//! SPL semantics from the Splunk documentation, checked with `harrier search` over small
//! logs: each test names the page it follows.

use std::process::Command;

/// Writes events (flat JSON, one per line) and runs a search over them; gives the JSON lines.
fn search(events: &[serde_json::Value], spl: &str) -> Vec<serde_json::Value> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.jsonl");
    let lines: Vec<String> = events.iter().map(|event| event.to_string()).collect();
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_harrier"))
        .args(["search", spl, path.to_str().unwrap(), "--format", "jsonl", "-q"])
        .output()
        .expect("harrier runs");
    assert!(output.status.success(), "{spl}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).lines().map(|line| serde_json::from_str(line).expect("JSON")).collect()
}

fn sysmon(fields: serde_json::Value) -> serde_json::Value {
    let mut event = serde_json::json!({
        "EventID": 1,
        "Channel": "Microsoft-Windows-Sysmon/Operational",
        "Computer": "host1",
        "@timestamp": "2024-01-01T10:00:00Z",
    });
    for (key, value) in fields.as_object().unwrap() {
        event[key] = value.clone();
    }
    event
}

fn count(events: &[serde_json::Value], spl: &str) -> usize {
    search(events, spl).len()
}

/// Search Manual, "Difference between != and NOT": `x!=1` needs the field; `NOT x=1` also
/// returns events without it.
#[test]
fn not_equal_needs_the_field_but_not_does_not() {
    let events =
        [sysmon(serde_json::json!({"x": "1"})), sysmon(serde_json::json!({"x": "2"})), sysmon(serde_json::json!({}))];
    assert_eq!(count(&events, "NOT x=1"), 2);
    assert_eq!(count(&events, "x!=1"), 1);
}

/// Search Manual, "Boolean expressions": the search command evaluates OR before AND; eval
/// and where evaluate AND before OR.
#[test]
fn search_and_where_differ_in_precedence() {
    let events = [sysmon(serde_json::json!({"a": "0", "b": "0", "c": "3"}))];
    assert_eq!(count(&events, "a=1 b=2 OR c=3"), 0, "search: a=1 AND (b=2 OR c=3)");
    assert_eq!(count(&events, r#"EventCode=1 | where a="1" AND b="2" OR c="3""#), 1, "where: (a=1 AND b=2) OR c=3");
}

/// Search Manual, "Use CASE() and TERM()": search values ignore case; Search Reference
/// `where`: the eval expression is case-sensitive.
#[test]
fn search_ignores_case_and_where_does_not() {
    let events = [sysmon(serde_json::json!({"Image": "C:\\Windows\\cmd.exe"}))];
    assert_eq!(count(&events, r#"Image="*\\CMD.EXE""#), 1);
    assert_eq!(count(&events, r#"EventCode=1 | where Image="C:\\Windows\\CMD.EXE""#), 0);
    assert_eq!(count(&events, r#"EventCode=1 | where lower(Image)="c:\\windows\\cmd.exe""#), 1);
    assert_eq!(count(&events, r#"CASE("CMD.EXE")"#), 0);
    assert_eq!(count(&events, r#"CASE("cmd.exe")"#), 1);
}

/// Search Manual, "Wildcards": `*` matches any run, and the value is matched whole.
#[test]
fn wildcards_are_anchored_to_the_whole_value() {
    let events = [sysmon(serde_json::json!({"Image": "C:\\Windows\\cmd.exe"}))];
    assert_eq!(count(&events, "Image=cmd.exe"), 0);
    assert_eq!(count(&events, r#"Image="*\\cmd.exe""#), 1);
    assert_eq!(count(&events, "Image=*cmd"), 0);
    assert_eq!(count(&events, "Image=C:*"), 1);
    assert_eq!(count(&events, "Image=*"), 1);
    assert_eq!(count(&events, "Missing=*"), 0);
}

/// Search Reference `stats`: an event whose by field is missing is in no group.
#[test]
fn stats_by_drops_events_missing_a_by_field() {
    let events =
        [sysmon(serde_json::json!({"x": "1"})), sysmon(serde_json::json!({"x": "1"})), sysmon(serde_json::json!({}))];
    let rows = search(&events, "EventCode=1 | stats count by x");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["row"], serde_json::json!({"x": "1", "count": 2}));
    let rows = search(&events, "EventCode=1 | stats count");
    assert_eq!(rows[0]["row"], serde_json::json!({"count": 3}));
}

/// Search Reference `tstats`: `fillnull_value` keeps rows whose by fields are missing, with
/// that value; without it they are dropped as by `stats`.
#[test]
fn tstats_fillnull_value_keeps_rows_with_missing_by_fields() {
    let events = [sysmon(serde_json::json!({"Image": "C:\\Windows\\certutil.exe"}))];
    let by = "from datamodel=Endpoint.Processes by Processes.process_name Processes.original_file_name";
    let rows = search(&events, &format!("| tstats fillnull_value=null count {by}"));
    assert_eq!(
        rows[0]["row"],
        serde_json::json!({"Processes.process_name": "certutil.exe", "Processes.original_file_name": "null", "count": 1})
    );
    assert!(search(&events, &format!("| tstats count {by}")).is_empty());
}
