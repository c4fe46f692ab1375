//! `hunt --format timeline` (Timeline Explorer CSV) and `--format timesketch` (JSON lines).

use std::path::PathBuf;
use std::process::Command;

fn hunt(format: &str) -> String {
    let examples = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let output = Command::new(env!("CARGO_BIN_EXE_harrier"))
        .args(["hunt", examples.join("logs").to_str().unwrap(), "-r", examples.join("rules").to_str().unwrap()])
        .args(["--format", format, "-q"])
        .output()
        .expect("harrier runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn timeline_csv_has_one_row_per_hit_with_details() {
    let text = hunt("timeline");
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_owned).collect();
    assert_eq!(header[..3], ["Timestamp", "Computer", "Channel"]);
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 7, "the example hunt's seven hits");
    let column = |name: &str| header.iter().position(|h| h == name).unwrap();
    let smtp = rows.iter().find(|row| &row[column("RuleID")] == "8d0f7a52-3c1e-4a6b-9f2d-5e4c3b2a1f01").unwrap();
    assert_eq!(&smtp[column("Timestamp")], "2026-03-14 09:26:53.589000");
    assert!(smtp[column("Details")].contains(r"Image: C:\Users\Public\Downloads\invoice-viewer.exe"));
    assert!(!smtp[column("Details")].contains("EventRecordID"), "system fields are not details");
    assert!(!smtp[column("FalsePositives")].is_empty());
}

#[test]
fn timesketch_lines_have_message_datetime_and_description() {
    let text = hunt("timesketch");
    let lines: Vec<serde_json::Value> = text.lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    assert_eq!(lines.len(), 7);
    for line in &lines {
        assert!(line["message"].as_str().unwrap().contains(line["rule_title"].as_str().unwrap()));
        assert!(line["datetime"].as_str().unwrap().ends_with('Z'));
        assert_eq!(line["timestamp_desc"], "Event Time");
        assert!(line["timestamp"].as_i64().unwrap() > 1_700_000_000_000_000);
    }
}
