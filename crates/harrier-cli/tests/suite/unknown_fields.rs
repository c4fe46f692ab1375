//! Security 4688 events routed to Sysmon-style process_creation rules: a field the event's
//! version cannot carry is unknown, not absent, and the events a rule cannot decide are
//! counted; Sysmon events keep Sigma's absent-field semantics.

use std::collections::BTreeMap;
use std::process::Command;

const RULE: &str = r"title: Non Interactive PowerShell (test)
id: 11111111-2222-4333-8444-555555555555
logsource:
  product: windows
  category: process_creation
detection:
  selection:
    Image|endswith: '\powershell.exe'
  filter_main_explorer:
    ParentImage|endswith: '\explorer.exe'
  condition: selection and not 1 of filter_main_*
level: low
";

/// (label, event): 4688 of each version, with and without the parent; Sysmon 1 alike.
fn events() -> Vec<(&'static str, String)> {
    let security = |version: u32, parent: Option<&str>, record: u32| {
        let parent =
            parent.map(|parent| format!(r#", "ParentProcessName": "C:\\Windows\\{parent}""#)).unwrap_or_default();
        format!(
            r#"{{"EventID": 4688, "Channel": "Security", "Version": {version}, "EventRecordID": {record}, "Hostname": "OLD", "NewProcessName": "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe"{parent}}}"#
        )
    };
    let sysmon = |parent: Option<&str>, record: u32| {
        let parent = parent.map(|parent| format!(r#", "ParentImage": "C:\\Windows\\{parent}""#)).unwrap_or_default();
        format!(
            r#"{{"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational", "EventRecordID": {record}, "Hostname": "NEW", "Image": "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe"{parent}}}"#
        )
    };
    vec![
        ("4688 v0, no parent", security(0, None, 1)),
        ("4688 v1, no parent", security(1, None, 2)),
        ("4688 v2, parent cmd", security(2, Some("System32\\\\cmd.exe"), 3)),
        ("4688 v2, parent explorer", security(2, Some("explorer.exe"), 4)),
        ("sysmon 1, no parent", sysmon(None, 5)),
        ("sysmon 1, parent cmd", sysmon(Some("System32\\\\cmd.exe"), 6)),
        ("sysmon 1, parent explorer", sysmon(Some("explorer.exe"), 7)),
    ]
}

/// Hunts the events with the rule; the labels of the events hit, and the undecided counts.
fn hunt(extra: &[&str]) -> (Vec<&'static str>, BTreeMap<String, u64>, String) {
    let dir = tempfile::tempdir().unwrap();
    let rule = dir.path().join("rule.yml");
    std::fs::write(&rule, RULE).unwrap();
    let events = events();
    let logs = dir.path().join("events.jsonl");
    std::fs::write(&logs, events.iter().map(|(_, event)| event.clone()).collect::<Vec<_>>().join("\n") + "\n").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_harrier"))
        .args(["hunt", logs.to_str().unwrap(), "-r", rule.to_str().unwrap(), "--format", "jsonl"])
        .args(extra)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let (mut hit, mut undecided) = (Vec::new(), BTreeMap::new());
    for line in String::from_utf8(output.stdout).unwrap().lines() {
        let line: serde_json::Value = serde_json::from_str(line).unwrap();
        match line["type"].as_str() {
            None => hit.push(events[line["record_id"].as_u64().unwrap() as usize - 1].0),
            Some("undecided") => {
                undecided.insert(line["rule_id"].as_str().unwrap().to_owned(), line["events"].as_u64().unwrap());
            }
            Some(other) => panic!("unexpected {other}"),
        }
    }
    (hit, undecided, String::from_utf8_lossy(&output.stderr).into_owned())
}

#[test]
fn a_parent_filter_cannot_decide_an_old_4688_and_the_events_are_counted() {
    let (hit, undecided, stderr) = hunt(&[]);
    assert_eq!(hit, ["4688 v2, parent cmd", "sysmon 1, no parent", "sysmon 1, parent cmd"]);
    assert_eq!(undecided, BTreeMap::from([("11111111-2222-4333-8444-555555555555".to_owned(), 2)]));
    assert!(stderr.contains("2 events undecided by 1 rule"), "{stderr}");
}

#[test]
fn unknown_fields_absent_gives_every_possible_hit() {
    let (hit, undecided, _) = hunt(&["--unknown-fields", "absent"]);
    assert_eq!(
        hit,
        [
            "4688 v0, no parent",
            "4688 v1, no parent",
            "4688 v2, parent cmd",
            "sysmon 1, no parent",
            "sysmon 1, parent cmd"
        ]
    );
    assert!(undecided.is_empty());
}

#[test]
fn the_summary_format_lists_the_undecided_rules() {
    let dir = tempfile::tempdir().unwrap();
    let rule = dir.path().join("rule.yml");
    std::fs::write(&rule, RULE).unwrap();
    let logs = dir.path().join("events.jsonl");
    std::fs::write(&logs, events()[0].1.clone() + "\n").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_harrier"))
        .args(["hunt", logs.to_str().unwrap(), "-r", rule.to_str().unwrap(), "--format", "summary", "-q"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("undecided events:") && stdout.contains("Non Interactive PowerShell (test)"), "{stdout}");
}
