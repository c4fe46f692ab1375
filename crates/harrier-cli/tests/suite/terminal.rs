//! The command as a person meets it: the per-hit timeline, quiet and honest stderr, failing
//! early on what cannot work, one set of flags, tables and lines that fit the terminal.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn harrier(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_harrier")).args(args).output().expect("harrier runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn examples(part: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples").join(part).display().to_string()
}

/// The text before ANSI escapes were added: what a terminal shows.
fn visible(line: &str) -> String {
    let mut shown = String::new();
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for next in chars.by_ref() {
                if next.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            shown.push(c);
        }
    }
    shown
}

/// The 4 SigmaHQ folders and the ESCU detections.
fn all_rules(data: &Path, escu: &Path) -> Vec<String> {
    let sigma = ["rules", "rules-threat-hunting", "rules-emerging-threats", "rules-placeholder"];
    let mut args = Vec::new();
    for path in sigma.iter().map(|folder| data.join("sigma").join(folder)).chain([escu.to_owned()]) {
        args.extend(["-r".to_owned(), path.display().to_string()]);
    }
    args
}

#[test]
fn the_default_output_is_a_timeline_sorted_by_time_with_computer_and_details() {
    let Some(evtx) = harrier_testdata::shared("evtx/EVTX-ATTACK-SAMPLES") else { return };
    let rules = harrier_testdata::shared("sigma/rules").unwrap();
    let output = harrier(&["hunt", evtx.to_str().unwrap(), "-r", rules.to_str().unwrap()]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    let lines: Vec<&str> = stdout.lines().take_while(|line| !line.is_empty()).collect();
    assert!(lines.len() > 1000, "{} timeline lines", lines.len());
    let times: Vec<&str> = lines.iter().map(|line| &line[..19]).collect();
    assert!(times.windows(2).all(|pair| pair[0] <= pair[1] || pair[1].starts_with('-')), "lines in time order");
    let process = lines.iter().filter(|line| line.contains("CommandLine: ")).count();
    assert!(process > 100, "process hits explained by their command line: {process}");
    assert!(lines.iter().all(|line| line.split("  ").nth(1).is_some_and(|host| !host.trim().is_empty())), "a computer");
    assert!(lines.iter().any(|line| line.contains("  high  ")), "levels shown");
    let closing = &stdout[stdout.rfind("\n\n").unwrap()..];
    for part in ["hits (", "top hosts: ", "top rules: "] {
        assert!(closing.contains(part), "closing summary has {part}: {closing}");
    }
    assert!(!stdout.contains('\u{1b}'), "no colour when piped");
}

#[test]
fn quiet_prints_nothing_on_a_clean_run_and_default_stderr_is_short() {
    let (logs, rules) = (examples("logs"), examples("rules"));
    let quiet = harrier(&["hunt", &logs, "-r", &rules, "-q"]);
    assert!(quiet.status.success());
    assert_eq!(text(&quiet.stderr), "", "-q: nothing on stderr");
    let Some(data) = harrier_testdata::shared("") else { return };
    let escu = harrier_testdata::escu("detections").unwrap();
    let mut args = vec!["hunt".to_owned(), data.display().to_string(), "--format".into(), "jsonl".into()];
    args.extend(all_rules(&data, &escu));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let normal = harrier(&args);
    let stderr = text(&normal.stderr);
    assert!(stderr.lines().count() <= 6, "a line per kind, not one per problem:\n{stderr}");
    assert!(stderr.contains("harrier rules check --failed-only") && stderr.contains("-v"), "{stderr}");
    let verbose = harrier(&[&args[..], &["-v"]].concat());
    let detail = text(&verbose.stderr);
    assert!(detail.contains("rule not loaded: ") && detail.contains("harrier: skipped record: "), "-v names each");
}

#[test]
fn the_summary_counts_what_is_written() {
    let Some(data) = harrier_testdata::shared("") else { return };
    let escu = harrier_testdata::escu("detections").unwrap();
    let mut args = vec!["hunt".to_owned(), data.join("json").display().to_string(), "--format".into(), "json".into()];
    args.extend(all_rules(&data, &escu));
    let output = harrier(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(output.status.success());
    let lines: Vec<serde_json::Value> =
        text(&output.stdout).lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    let count = |kind: Option<&str>| lines.iter().filter(|line| line["type"].as_str() == kind).count();
    let (hits, rows) = (count(None), count(Some("row")));
    assert!(hits > 100 && rows > 100, "Sigma and ESCU both found something: {hits} hits, {rows} rows");
    let stderr = text(&output.stderr);
    let said = format!("harrier: {hits} hits, {rows} result rows of SPL detections");
    assert!(stderr.contains(&said), "`{said}` in\n{stderr}");
}

#[test]
fn record_id_is_the_events_event_record_id() {
    let Some(evtx) = harrier_testdata::shared("evtx/EVTX-ATTACK-SAMPLES") else { return };
    let rules = harrier_testdata::shared("sigma/rules").unwrap();
    let output = harrier(&["hunt", evtx.to_str().unwrap(), "-r", rules.to_str().unwrap(), "--format", "jsonl"]);
    let lines: Vec<serde_json::Value> =
        text(&output.stdout).lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    assert!(lines.len() > 1000);
    for line in &lines {
        assert_eq!(line["record_id"], line["event"]["EventRecordID"], "{}", line["source_file"]);
    }
}

#[test]
fn a_rule_set_that_cannot_run_stops_before_reading_logs() {
    let empty = tempfile::tempdir().unwrap();
    let no_logs = "/no/such/logs";
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec!["-r".into(), empty.path().display().to_string()], "found no rule files"),
        (vec!["-r".into(), "/no/such/rules".into()], "/no/such/rules: no such file"),
        (vec!["-r".into(), examples("rules"), "--tag".into(), "T9999".into()], "not selected by --tag T9999"),
        (vec!["-r".into(), examples("logs")], "looks like a log"),
        (vec![], "no rules given"),
    ];
    for (rules, message) in cases {
        let args = [vec!["hunt".to_owned(), no_logs.to_owned()], rules].concat();
        let output = harrier(&args.iter().map(String::as_str).collect::<Vec<_>>());
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: `{message}` in {stderr}");
        assert!(!stderr.contains("harrier: read "), "logs were not read: {stderr}");
    }
    let by_technique = harrier(&["hunt", &examples("logs"), "-r", &examples("rules"), "--tag", "T1071", "-q"]);
    assert!(by_technique.status.success(), "a bare technique id selects its attack. tag");
    assert!(!by_technique.stdout.is_empty());
}

#[test]
fn an_output_that_cannot_be_written_fails_before_the_hunt() {
    for flag in ["--html", "-o"] {
        let output = harrier(&["hunt", &examples("logs"), "-r", &examples("rules"), flag, "/no/such/dir/out"]);
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{flag}: {stderr}");
        assert!(stderr.contains("/no/such/dir/out"), "the path is named: {stderr}");
        assert!(!stderr.contains("harrier: read "), "the hunt did not run: {stderr}");
    }
}

#[test]
fn one_set_of_flags_across_commands() {
    let (logs, rules) = (examples("logs"), examples("rules"));
    let json_lines = |args: &[&str]| {
        let output = harrier(args);
        assert!(output.status.success(), "{args:?}: {}", text(&output.stderr));
        let stdout = text(&output.stdout);
        assert!(
            !stdout.is_empty() && stdout.lines().all(|line| serde_json::from_str::<serde_json::Value>(line).is_ok())
        );
    };
    json_lines(&["hunt", &logs, "-r", &rules, "--format", "json"]);
    json_lines(&["events", &logs, "--format", "json"]);
    json_lines(&["search", "EventCode=3 | stats count by Image", &logs, "--format", "json"]);
    let out = tempfile::tempdir().unwrap();
    let file = |name: &str| out.path().join(name).display().to_string();
    for args in [
        vec!["hunt", &logs, "-r", &rules, "-o"],
        vec!["events", &logs, "-o"],
        vec!["stats", &logs, "-o"],
        vec!["rules", "list", "-r", &rules, "-o"],
        vec!["coverage", &logs, "-r", &rules, "-o"],
        vec!["convert", &rules, "-t", "splunk", "--skip-unsupported", "-o"],
    ] {
        let target = file(&args.join("_").replace('/', "-"));
        let output = harrier(&[&args[..], &[target.as_str(), "-q"]].concat());
        assert!(output.status.success(), "{args:?}: {}", text(&output.stderr));
        assert!(std::fs::metadata(&target).is_ok_and(|meta| meta.len() > 0), "{args:?} wrote {target}");
    }
    let since =
        harrier(&["hunt", &logs, "-r", &rules, "--since", "2026-03-14 09:28:00", "--until", "2026-03-14", "-q"]);
    assert_eq!(since.status.code(), Some(2), "--since after --until is refused");
}

#[test]
fn convert_takes_rules_of_any_product_and_sigma_cli_flags() {
    let dir = tempfile::tempdir().unwrap();
    let rule = dir.path().join("linux.yml");
    std::fs::write(
        &rule,
        "title: Reverse shell with bash\nid: 5c2b5b8a-1b2c-4d3e-9f00-000000000001\nlogsource:\n  product: linux\n  category: process_creation\n\
         detection:\n  selection:\n    Image|endswith: '/bash'\n    CommandLine|contains: '/dev/tcp/'\n  condition: selection\n",
    )
    .unwrap();
    let output = harrier(&["convert", rule.to_str().unwrap(), "-t", "splunk"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let query = text(&output.stdout);
    assert!(query.contains("Image=\"*/bash\"") && query.contains("CommandLine=\"*/dev/tcp/*\""), "{query}");
    let help = text(&harrier(&["convert", "--help"]).stdout);
    for mapping in ["sysmon", "ecs", "helk", "cim", "splunk-windows"] {
        assert!(help.contains(mapping), "--mapping {mapping} listed in help");
    }
}

#[test]
fn events_where_takes_wildcards_and_comparisons_and_says_when_nothing_matched() {
    let logs = examples("logs");
    let matched =
        harrier(&["events", &logs, "--where", r"Image=*\cmd.exe", "--where", "EventID>=1", "--format", "jsonl"]);
    let lines: Vec<serde_json::Value> =
        text(&matched.stdout).lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    assert_eq!(lines.len(), 1, "{}", text(&matched.stderr));
    assert!(lines[0]["event"]["Image"].as_str().unwrap().ends_with("cmd.exe"));
    let none = harrier(&["events", &logs, "--where", "Image=*\\nothing.exe"]);
    assert!(text(&none.stderr).contains("no event of 12 events met --where"), "{}", text(&none.stderr));
    let bad = harrier(&["events", &logs, "--where", "Image"]);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn rules_check_gives_a_line_per_rule_that_greps_well() {
    let Some(escu) = harrier_testdata::escu("detections") else { return };
    let output = harrier(&["rules", "check", "-r", escu.to_str().unwrap(), "--failed-only"]);
    let stdout = text(&output.stdout);
    let failed: Vec<&str> = stdout.lines().filter(|line| line.starts_with("failed ")).collect();
    assert!(failed.len() > 5);
    assert!(failed.iter().all(|line| line.contains(".yml:")), "the file is on the failing line");
    assert!(stdout.lines().all(|line| !line.starts_with("loaded ")), "--failed-only");
    assert!(stdout.contains("failed, by reason:") && stdout.contains("command `transaction` is not supported"));
}

/// Runs a command under a pseudo-terminal of `columns` columns; its output as the terminal
/// received it.
fn on_terminal(columns: usize, command: &str) -> String {
    let script = format!("stty cols {columns} rows 50; {command}");
    let output = Command::new("script").args(["-q", "-e", "-c", &script, "/dev/null"]).output().expect("script runs");
    text(&output.stdout).replace('\r', "")
}

#[test]
fn on_a_terminal_lines_fit_and_levels_are_coloured_and_piped_output_has_no_colour() {
    let Some(evtx) = harrier_testdata::shared("evtx/EVTX-ATTACK-SAMPLES") else { return };
    let rules = harrier_testdata::shared("sigma/rules").unwrap();
    let binary = PathBuf::from(env!("CARGO_BIN_EXE_harrier"));
    let hunt = format!("{} hunt '{}' -r '{}' -q", binary.display(), evtx.display(), rules.display());
    for columns in [80, 200] {
        for command in [hunt.clone(), format!("{hunt} --format summary")] {
            let shown = on_terminal(columns, &command);
            assert!(shown.lines().count() > 20, "{command}: {shown}");
            let widest = shown.lines().map(|line| visible(line).chars().count()).max().unwrap();
            assert!(widest <= columns, "{command} at {columns} columns: a line of {widest}");
            if !command.contains("summary") {
                assert!(shown.contains("\u{1b}["), "levels in colour on a terminal");
            }
        }
    }
    let piped = harrier(&["hunt", evtx.to_str().unwrap(), "-r", rules.to_str().unwrap(), "-q", "--color", "auto"]);
    assert!(!text(&piped.stdout).contains('\u{1b}'), "no colour in a pipe");
    let forced = harrier(&["hunt", evtx.to_str().unwrap(), "-r", rules.to_str().unwrap(), "-q", "--color", "always"]);
    assert!(text(&forced.stdout).contains('\u{1b}'), "--color always");
}
