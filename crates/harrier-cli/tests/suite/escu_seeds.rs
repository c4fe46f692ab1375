//! The two seed ESCU detections (SMTP and FTP from a non-common process path), both YAML
//! generations, over Sysmon event 3: the real AgentTesla FTP event of ESCU's
//! `data_sources/sysmon_eventid_3.yml` and variants of it (SMTP, a second connection, a
//! process under Program Files).

use std::path::Path;
use std::process::Command;

/// The AgentTesla event with some values replaced, as one XML line.
fn variant(original: &str, replacements: &[(&str, &str)]) -> String {
    let mut xml = original.replace('\n', " ");
    for (from, to) in replacements {
        assert!(xml.contains(from), "the example event has {from}");
        xml = xml.replace(from, to);
    }
    xml
}

fn example_event(escu: &Path) -> String {
    let text = std::fs::read_to_string(escu.join("data_sources/sysmon_eventid_3.yml")).expect("data source file");
    let document: yaml_serde::Value = yaml_serde::from_str(&text).expect("YAML");
    document["example_log"].as_str().expect("example_log").to_owned()
}

/// Writes the events: FTP (the original), SMTP on 587 twice (two times), SMTP on 25 by
/// another process, and SMTP and FTP from under Program Files.
fn write_events(escu: &Path, dir: &Path) {
    let original = example_event(escu);
    let smtp = [
        ("<Data Name='DestinationPort'>21</Data>", "<Data Name='DestinationPort'>587</Data>"),
        ("ftp</Data>", "smtp</Data>"),
    ];
    let later = [
        ("2022-09-15T12:56:22.958249300Z", "2022-09-15T13:10:05.000000000Z"),
        ("<EventRecordID>156837<", "<EventRecordID>156900<"),
    ];
    let port_25 = [
        ("<Data Name='DestinationPort'>21</Data>", "<Data Name='DestinationPort'>25</Data>"),
        ("ftp</Data>", "-</Data>"),
        (r"C:\Temp\agent_tesla-deob.exe", r"C:\Users\Public\mailer.exe"),
    ];
    let program_files = [(r"C:\Temp\agent_tesla-deob.exe", r"C:\Program Files\Mozilla Thunderbird\thunderbird.exe")];
    let mut lines = vec![original.replace('\n', " "), variant(&original, &smtp)];
    lines.push(variant(&variant(&original, &smtp), &later));
    lines.push(variant(&original, &port_25));
    lines.push(variant(&variant(&original, &smtp), &program_files));
    lines.push(variant(&original, &program_files));
    std::fs::write(dir.join("sysmon-eid3.xml"), lines.join("\n") + "\n").expect("events written");
}

fn rows(escu: &Path, rule: &str, logs: &Path) -> Vec<serde_json::Value> {
    let output = Command::new(env!("CARGO_BIN_EXE_harrier"))
        .args(["hunt", logs.to_str().unwrap(), "--rules", escu.join(rule).to_str().unwrap(), "--format", "jsonl"])
        .output()
        .expect("harrier runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("harrier: 1 rule run") && !stderr.contains("cannot run"), "{stderr}");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).expect("JSON"))
        .inspect(|line| assert_eq!(line["type"], "row"))
        .collect()
}

fn row_of(line: &serde_json::Value) -> Vec<(String, String)> {
    line["row"]
        .as_object()
        .expect("row object")
        .iter()
        .map(|(key, value)| (key.clone(), value.as_str().map_or_else(|| value.to_string(), str::to_owned)))
        .collect()
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items.iter().map(|(key, value)| (key.to_string(), value.to_string())).collect()
}

const HOST: &str = "win-dc-ctus-attack-range-403.attackrange.local";

#[test]
fn mail_seed_2024_gives_one_row_per_process_and_destination() {
    let Some(escu) = harrier_testdata::escu("") else { return };
    let logs = tempfile::tempdir().unwrap();
    write_events(&escu, logs.path());
    let lines = rows(&escu, "detections/endpoint/windows_mail_protocol_in_non_common_process_path.yml", logs.path());
    assert_eq!(lines.len(), 2, "{lines:#?}");
    assert_eq!(lines[0]["rule_title"], "Windows Mail Protocol In Non-Common Process Path");
    assert_eq!(lines[0]["techniques"], serde_json::json!(["T1071.003", "T1071"]));
    assert_eq!(lines[0]["annotations"]["analytic_story"], serde_json::json!(["AgentTesla"]));
    let common = |image: &str, port: &str, port_name: &str, count: &str, first: &str, last: &str| {
        pairs(&[
            ("Image", image),
            ("DestinationPort", port),
            ("DestinationPortName", port_name),
            ("DestinationHostname", "youssef5.genious.net"),
            ("SourceHostname", HOST),
            ("SourcePort", "61722"),
            ("SourcePortName", "-"),
            ("Protocol", "tcp"),
            ("DestinationIp", "41.77.117.236"),
            ("dest", "youssef5.genious.net"),
            ("user", r"ATTACKRANGE\Administrator"),
            ("count", count),
            ("firstTime", first),
            ("lastTime", last),
        ])
    };
    // Groups sort by their by-values, as Splunk's stats output does.
    assert_eq!(
        row_of(&lines[0]),
        common(r"C:\Temp\agent_tesla-deob.exe", "587", "smtp", "2", "2022-09-15T12:56:22", "2022-09-15T13:10:05")
    );
    assert_eq!(
        row_of(&lines[1]),
        common(r"C:\Users\Public\mailer.exe", "25", "-", "1", "2022-09-15T12:56:22", "2022-09-15T12:56:22")
    );
}

#[test]
fn mail_seed_2026_groups_by_cim_fields() {
    let Some(escu) = harrier_testdata::escu("") else { return };
    let logs = tempfile::tempdir().unwrap();
    write_events(&escu, logs.path());
    let lines = rows(&escu, "seeds_newer_format/windows_mail_protocol_in_non_common_process_path.yml", logs.path());
    assert_eq!(lines.len(), 2, "{lines:#?}");
    let expected = |process: &str, port: &str, count: &str, first: &str, last: &str| {
        pairs(&[
            ("action", "allowed"),
            ("app", process),
            ("dest", "youssef5.genious.net"),
            ("dest_ip", "41.77.117.236"),
            ("dest_port", port),
            ("direction", "outbound"),
            ("dvc", HOST),
            ("protocol", "ip"),
            ("protocol_version", "ipv4"),
            ("src", HOST),
            ("src_ip", "10.0.1.14"),
            ("src_port", "61722"),
            ("transport", "tcp"),
            ("user", r"ATTACKRANGE\Administrator"),
            ("vendor_product", "Microsoft Sysmon"),
            ("process_name", process),
            ("process_exec", process),
            ("process_guid", "{6820d070-1f1b-6323-e113-000000007402}"),
            ("process_id", "5728"),
            ("count", count),
            ("firstTime", first),
            ("lastTime", last),
        ])
    };
    assert_eq!(
        row_of(&lines[0]),
        expected("agent_tesla-deob.exe", "587", "2", "2022-09-15T12:56:22", "2022-09-15T13:10:05")
    );
    assert_eq!(row_of(&lines[1]), expected("mailer.exe", "25", "1", "2022-09-15T12:56:22", "2022-09-15T12:56:22"));
}

#[test]
fn ftp_seeds_fire_on_the_real_agent_tesla_event_only() {
    let Some(escu) = harrier_testdata::escu("") else { return };
    let logs = tempfile::tempdir().unwrap();
    write_events(&escu, logs.path());
    for rule in [
        "detections/endpoint/windows_file_transfer_protocol_in_non_common_process_path.yml",
        "seeds_newer_format/windows_file_transfer_protocol_in_non_common_process_path.yml",
    ] {
        let lines = rows(&escu, rule, logs.path());
        assert_eq!(lines.len(), 1, "{rule}: {lines:#?}");
        let row = row_of(&lines[0]);
        let field = |name: &str| row.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str());
        assert_eq!(field("count"), Some("1"), "{rule}");
        assert_eq!(field("firstTime"), Some("2022-09-15T12:56:22"), "{rule}");
        assert_eq!(field("lastTime"), Some("2022-09-15T12:56:22"), "{rule}");
        assert!(
            field("Image") == Some(r"C:\Temp\agent_tesla-deob.exe")
                || field("process_name") == Some("agent_tesla-deob.exe"),
            "{rule}: {row:?}"
        );
    }
}
