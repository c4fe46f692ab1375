//! The `harrier` binary as a user runs it: outputs, filters, stdin, exit codes.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn examples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/logs")
}

fn harrier(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_harrier"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("harrier runs");
    let mut input = child.stdin.take().expect("stdin is piped");
    input.write_all(stdin.unwrap_or_default()).expect("stdin is writable");
    drop(input);
    child.wait_with_output().expect("harrier finishes")
}

fn json_lines(output: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect()
}

#[test]
fn events_are_json_lines_with_provenance_when_piped() {
    let examples = examples();
    let output = harrier(&["events", examples.to_str().unwrap()], None);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let lines = json_lines(&output);
    assert_eq!(lines.len(), 7);
    for line in &lines {
        for key in ["timestamp", "source_file", "record_id", "event"] {
            assert!(line.get(key).is_some(), "{key} missing in {line}");
        }
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("read 5 files, 7 events"), "{stderr}");
}

#[test]
fn where_filters_on_normalized_fields_case_insensitively() {
    let examples = examples();
    let output =
        harrier(&["events", examples.to_str().unwrap(), "--where", "eventid=3", "--where", "Initiated=TRUE"], None);
    let lines = json_lines(&output);
    assert_eq!(lines.len(), 5, "the network event in each of the five layouts");
    assert!(lines.iter().all(|line| line["event"]["DestinationPort"].to_string().contains("587")));
}

#[test]
fn standard_input_is_read_with_dash() {
    let output =
        harrier(&["events", "-", "--format", "jsonl"], Some(b"{\"EventID\": 4624, \"Channel\": \"Security\"}\n"));
    assert!(output.status.success());
    let lines = json_lines(&output);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["source_file"], "-");
    assert_eq!(lines[0]["record_id"], 1);
    assert_eq!(lines[0]["event"]["EventID"], 4624);
}

#[test]
fn stats_counts_files_channels_providers_and_event_ids() {
    let examples = examples();
    let output = harrier(&["stats", examples.to_str().unwrap(), "--format", "json"], None);
    assert!(output.status.success());
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("one JSON report");
    assert_eq!(report["totals"]["events"], 7);
    assert_eq!(report["totals"]["files"], 5);
    assert_eq!(report["channels"]["Microsoft-Windows-Sysmon/Operational"], 6);
    assert_eq!(report["providers"]["Microsoft-Windows-Security-Auditing"], 1);
    let network = report["event_ids"].as_array().unwrap().iter().find(|entry| entry["event_id"] == 3).unwrap();
    assert_eq!(network["count"], 5);
}

#[test]
fn exit_codes_say_whether_anything_was_read() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.bin");
    std::fs::write(&garbage, b"\x00\x01 definitely not a log").unwrap();
    let output = harrier(&["stats", garbage.to_str().unwrap()], None);
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("garbage.bin: not an EVTX, JSON or gzip file"));

    let examples = examples();
    let mixed = harrier(&["stats", garbage.to_str().unwrap(), examples.to_str().unwrap()], None);
    assert_eq!(mixed.status.code(), Some(0), "something was read");

    let wrong = harrier(&["events", "x.evtx", "--where", "no-equals-sign"], None);
    assert_eq!(wrong.status.code(), Some(2));
}

#[test]
fn a_table_is_printed_on_request() {
    let examples = examples();
    let output =
        harrier(&["events", examples.join("sysmon-network-azure.jsonl").to_str().unwrap(), "--format", "table"], None);
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.starts_with("TIMESTAMP"), "{text}");
    assert!(text.contains("NewProcessName=C:\\Windows\\System32\\net.exe"), "{text}");
}
