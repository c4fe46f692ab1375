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
fn events_are_json_lines_with_provenance() {
    let examples = examples();
    let output = harrier(&["events", examples.to_str().unwrap(), "--format", "jsonl"], None);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let lines = json_lines(&output);
    assert_eq!(lines.len(), 12);
    for line in &lines {
        for key in ["timestamp", "source_file", "record_id", "event"] {
            assert!(line.get(key).is_some(), "{key} missing in {line}");
        }
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("read 6 files, 12 events"), "{stderr}");
}

#[test]
fn where_filters_on_normalized_fields_case_insensitively() {
    let examples = examples();
    let output = harrier(
        &[
            "events",
            examples.to_str().unwrap(),
            "--where",
            "eventid=3",
            "--where",
            "Initiated=TRUE",
            "--format",
            "jsonl",
        ],
        None,
    );
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
    assert_eq!(report["totals"]["events"], 12);
    assert_eq!(report["totals"]["files"], 6);
    assert_eq!(report["channels"]["Microsoft-Windows-Sysmon/Operational"], 6);
    assert_eq!(report["providers"]["Microsoft-Windows-Security-Auditing"], 6);
    let network = report["event_ids"].as_array().unwrap().iter().find(|entry| entry["event_id"] == 3).unwrap();
    assert_eq!(network["count"], 5);
}

#[test]
fn exit_codes_say_whether_anything_was_read() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.bin");
    std::fs::write(&garbage, b"\x00\x01 definitely not a log").unwrap();
    let output = harrier(&["stats", garbage.to_str().unwrap(), "-v"], None);
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("garbage.bin: not an EVTX, JSON, XML or gzip file"));
    let quiet = harrier(&["stats", garbage.to_str().unwrap(), "-q"], None);
    assert!(quiet.stderr.is_empty() && quiet.status.code() == Some(1), "-q: the exit code alone says it");

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

fn example_rules() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/rules")
}

#[test]
fn hunt_writes_the_stable_jsonl_contract_and_correlation_results() {
    let (logs, rules) = (examples(), example_rules());
    let output =
        harrier(&["hunt", logs.to_str().unwrap(), "--rules", rules.to_str().unwrap(), "--format", "jsonl"], None);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let lines = json_lines(&output);
    let (hits, aggregates): (Vec<_>, Vec<_>) = lines.iter().partition(|line| line.get("type").is_none());
    let (correlations, rows): (Vec<_>, Vec<_>) = aggregates.into_iter().partition(|line| line["type"] == "correlation");
    assert_eq!(rows.len(), 1, "the ESCU example gives one stats row");
    assert_eq!(rows[0]["rule_title"], "SMTP Submission From A User-Writable Folder");
    assert_eq!(rows[0]["row"]["count"], 5, "the SMTP connection in five layouts");
    assert_eq!(rows[0]["row"]["dest_port"], "587");
    assert_eq!(rows[0]["annotations"]["risk_score"], 42.0);
    assert_eq!(hits.len(), 7, "the SMTP connection in five layouts, discovery, 4688 enumeration");
    for hit in &hits {
        for key in [
            "timestamp",
            "rule_id",
            "rule_title",
            "level",
            "techniques",
            "tactics",
            "false_positives",
            "source_file",
            "record_id",
            "event",
        ] {
            assert!(hit.get(key).is_some(), "{key} missing in {hit}");
        }
    }
    assert!(hits.iter().all(|hit| hit["rule_title"] != "Failed Network Logon"), "correlated rules do not report alone");
    let titles: Vec<&str> = correlations.iter().map(|line| line["rule_title"].as_str().unwrap()).collect();
    assert_eq!(titles, ["Repeated Failed Logons for One Account", "Brute Force Followed by a Successful Logon"]);
    assert_eq!(correlations[0]["group"]["TargetUserName"], "svc_backup");
    let smtp = hits.iter().find(|hit| hit["techniques"][0] == "T1071.003").expect("the SMTP rule hit");
    assert_eq!(smtp["technique_names"][0], "Mail Protocols");
    assert_eq!(correlations[0]["events"].as_array().unwrap().len(), 3);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("7 hits, 2 correlation results, 1 result row of SPL detections"), "{stderr}");
}

#[test]
fn hunt_filters_rules_by_level_and_tag() {
    let (logs, rules) = (examples(), example_rules());
    let high = harrier(
        &["hunt", logs.to_str().unwrap(), "-r", rules.to_str().unwrap(), "--format", "jsonl", "--min-level", "high"],
        None,
    );
    let lines = json_lines(&high);
    assert!(lines.iter().all(|line| line["level"] == "high" || line["level"] == "critical"), "{lines:?}");
    let tagged = harrier(
        &["hunt", logs.to_str().unwrap(), "-r", rules.to_str().unwrap(), "--format", "jsonl", "--tag", "attack.t1069"],
        None,
    );
    let titles: Vec<String> =
        json_lines(&tagged).iter().map(|line| line["rule_title"].as_str().unwrap().to_owned()).collect();
    assert_eq!(
        titles,
        ["Domain Admins Group Enumeration", "Discovery Command Spawned by a Program in the Public Folder"]
    );
}

#[test]
fn rules_check_lists_every_rule_with_why_it_did_not_load() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.yml"),
        "title: Broken\nid: x-1\ndetection:\n    sel:\n        Image|bogus: a\n    condition: sel\n",
    )
    .unwrap();
    let rules = example_rules();
    let output = harrier(
        &["rules", "check", "-r", rules.to_str().unwrap(), "-r", dir.path().to_str().unwrap(), "--format", "json"],
        None,
    );
    assert_eq!(output.status.code(), Some(1), "a rule failed");
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["totals"]["failed"], 1);
    assert_eq!(report["totals"]["inactive"], 1);
    let failed = report["rules"].as_array().unwrap().iter().find(|rule| rule["status"] == "failed").unwrap();
    assert_eq!(failed["loaded"], false);
    assert_eq!(failed["id"], "x-1");
    assert!(failed["reason"].as_str().unwrap().contains("unknown modifier `bogus`"), "{failed}");
    assert!(failed["file"].as_str().unwrap().ends_with("bad.yml"));
}

#[test]
fn rules_check_warns_about_unknown_attack_tags() {
    let dir = tempfile::tempdir().unwrap();
    let rule = "title: Typo\nid: typo-1\ntags:\n    - attack.t10599\n    - attack.execution\ndetection:\n    sel:\n        Image: a\n    condition: sel\n";
    std::fs::write(dir.path().join("typo.yml"), rule).unwrap();
    let output = harrier(&["rules", "check", "-r", dir.path().to_str().unwrap(), "--format", "json"], None);
    assert_eq!(output.status.code(), Some(0), "a warning is not a failure");
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["rules"][0]["warnings"], serde_json::json!(["unknown ATT&CK tag `attack.t10599`"]));
}

/// A README beside EVTX files holds no events and is no second format to time apart: the
/// bench reports one part, whose pass the `evtx` crate's is compared with (the EVTX files
/// are not read again alone), and every rate is a number.
#[test]
fn bench_counts_a_readme_beside_evtx_files_as_no_second_format() {
    let Some(folder) = folder_with_a_sample_evtx() else {
        return;
    };
    std::fs::write(folder.path().join("README.md"), "Where these logs come from.\n").unwrap();
    let folder_path = folder.path().to_str().unwrap();
    let output = harrier(&["bench", folder_path, "--repeat", "1", "--baseline", "--format", "json"], None);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let passes: Vec<&str> =
        report["measures"].as_array().unwrap().iter().map(|m| m["name"].as_str().unwrap()).collect();
    assert_eq!(passes, ["harrier parse+normalize", "evtx crate JSON rendering (evtx_dump -o jsonl)"]);
    assert!(report["measures"][0]["events_per_cpu_second"].as_f64().is_some_and(|rate| rate > 0.0), "{report}");
}

/// With rules, the bench compares the hunt with parsing both ways: wall-clock rates, and
/// CPU-second rates, which tell what matching costs whatever the cores do meanwhile.
#[test]
fn bench_compares_the_hunt_with_parsing_in_wall_and_cpu_time() {
    let Some(folder) = folder_with_a_sample_evtx() else {
        return;
    };
    let rule = folder.path().join("rule.yml");
    std::fs::write(
        &rule,
        "title: Any process\nid: 5b7f3e2a-1c44-4f6e-9d0a-3e8b9c2d1f00\nlogsource: {product: windows, category: process_creation}\n\
         detection: {selection: {Image|endswith: '.exe'}, condition: selection}\nlevel: low\n",
    )
    .unwrap();
    let (logs, rules) = (folder.path().join("sample.evtx"), rule.to_str().unwrap().to_owned());
    let output = harrier(&["bench", logs.to_str().unwrap(), "-r", &rules, "--repeat", "1", "--format", "json"], None);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let comparison = &report["hunt_over_parse"][0];
    assert_eq!(comparison["inputs"], "harrier parse+normalize", "{report}");
    for ratio in ["ratio", "ratio_per_cpu_second"] {
        assert!(comparison[ratio].as_f64().is_some_and(|ratio| ratio > 0.0), "{ratio}: {report}");
    }
}

/// A folder holding `sample.evtx`, a small Sysmon log; `None` without `../shared`.
fn folder_with_a_sample_evtx() -> Option<tempfile::TempDir> {
    let evtx = harrier_testdata::shared("evtx/EVTX-ATTACK-SAMPLES/Execution/Sysmon_Exec_CompiledHTML.evtx")?;
    let folder = tempfile::tempdir().unwrap();
    std::fs::copy(&evtx, folder.path().join("sample.evtx")).unwrap();
    Some(folder)
}
