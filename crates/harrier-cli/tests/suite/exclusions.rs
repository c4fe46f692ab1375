//! `hunt --exclude`: exclusions by rule id and by rule id plus Sigma-syntax field conditions
//! remove exactly the hits they should, for Sigma rules and ESCU detections.

use std::path::PathBuf;
use std::process::Command;

fn examples(part: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples").join(part).display().to_string()
}

/// Runs the example hunt with an exclusions file; gives (hits per rule title, SPL rows, stderr).
fn hunt(exclusions: &str) -> (Vec<String>, usize, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("exclusions.yml");
    std::fs::write(&path, exclusions).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_harrier"))
        .args(["hunt", &examples("logs"), "--rules", &examples("rules"), "--format", "jsonl"])
        .args(["--exclude", path.to_str().unwrap()])
        .output()
        .expect("harrier runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let lines: Vec<serde_json::Value> =
        String::from_utf8_lossy(&output.stdout).lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    let hits = lines
        .iter()
        .filter(|line| line.get("type").is_none())
        .map(|line| line["rule_title"].as_str().unwrap().to_owned());
    let rows = lines.iter().filter(|line| line["type"] == "row").count();
    (hits.collect(), rows, String::from_utf8_lossy(&output.stderr).into_owned())
}

const SIGMA_SMTP: &str = "8d0f7a52-3c1e-4a6b-9f2d-5e4c3b2a1f01";
const SIGMA_DISCOVERY: &str = "2b7e9c41-6d3a-4f58-8e1b-7a9c0d4e6f02";
const ESCU_SMTP: &str = "3f0c5a8e-9d47-4c1e-8a55-2b7e1f4c9d10";

fn count(hits: &[String], title: &str) -> usize {
    hits.iter().filter(|hit| hit.as_str() == title).count()
}

#[test]
fn without_exclusions_every_hit_is_there() {
    let (hits, rows, _) = hunt("exclusions: []\n");
    assert_eq!(count(&hits, "SMTP Connection From a Process in a User-Writable Folder"), 5);
    assert_eq!(count(&hits, "Discovery Command Spawned by a Program in the Public Folder"), 1);
    assert_eq!(rows, 1);
}

#[test]
fn an_exclusion_by_rule_id_removes_that_rule_only() {
    let (hits, rows, stderr) = hunt(&format!(
        "exclusions:\n  - name: discovery is expected here\n    rule: {SIGMA_DISCOVERY}\n  - name: no mail alerts\n    rule: {ESCU_SMTP}\n"
    ));
    assert_eq!(count(&hits, "Discovery Command Spawned by a Program in the Public Folder"), 0);
    assert_eq!(count(&hits, "SMTP Connection From a Process in a User-Writable Folder"), 5);
    assert_eq!(rows, 0);
    assert!(stderr.contains("exclusion `discovery is expected here` removed 1 hit"), "{stderr}");
    assert!(stderr.contains("exclusion `no mail alerts` removed 1 hit"), "{stderr}");
}

#[test]
fn an_exclusion_by_field_condition_removes_matching_hits_only() {
    let exclusions = format!(
        r"exclusions:
  - name: the invoice viewer (Sigma)
    rule: {SIGMA_SMTP}
    detection:
      viewer:
        Image|endswith: '\invoice-viewer.exe'
      condition: viewer
  - name: another program (Sigma)
    rule: {SIGMA_DISCOVERY}
    detection:
      other:
        Image|endswith: '\not-this.exe'
      condition: other
  - name: the invoice viewer (ESCU row)
    rule: {ESCU_SMTP}
    detection:
      viewer:
        process_name: invoice-viewer.exe
        dest_port: 587
      condition: viewer
"
    );
    let (hits, rows, stderr) = hunt(&exclusions);
    assert_eq!(count(&hits, "SMTP Connection From a Process in a User-Writable Folder"), 0);
    assert_eq!(count(&hits, "Discovery Command Spawned by a Program in the Public Folder"), 1);
    assert_eq!(rows, 0);
    assert!(stderr.contains("`the invoice viewer (Sigma)` removed 5 hits"), "{stderr}");
    assert!(stderr.contains("`another program (Sigma)` removed 0 hits"), "{stderr}");
    assert!(stderr.contains("`the invoice viewer (ESCU row)` removed 1 hit"), "{stderr}");
}

#[test]
fn a_broken_exclusions_file_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.yml");
    std::fs::write(&path, "exclusions:\n  - name: no rule id\n").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_harrier"))
        .args(["hunt", &examples("logs"), "--rules", &examples("rules"), "--exclude", path.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("bad.yml") && stderr.contains("needs the `rule` id"), "{stderr}");
}
