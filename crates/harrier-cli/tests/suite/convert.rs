//! `harrier convert` from the command line: the seeds of both languages, the output formats,
//! and refusals that name the rule and the feature.

use std::path::PathBuf;
use std::process::Command;

fn harrier(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_harrier")).args(args).output().expect("harrier runs")
}

fn examples(part: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples").join(part).display().to_string()
}

#[test]
fn the_escu_seed_becomes_a_grouped_query_in_sql_and_esql() {
    let Some(escu) = harrier_testdata::escu("detections/endpoint/windows_mail_protocol_in_non_common_process_path.yml")
    else {
        return;
    };
    let escu = escu.to_str().unwrap();
    let sql = String::from_utf8(harrier(&["convert", "-r", escu, "--to", "sql"]).stdout).unwrap();
    assert!(sql.contains(r#"count(*) AS "count""#) && sql.contains(r#"GROUP BY "Image", "DestinationPort""#), "{sql}");
    assert!(
        sql.contains(
            r#"strftime('%Y-%m-%dT%H:%M:%S', CAST(min(CAST("_time" AS REAL)) AS INTEGER), 'unixepoch') AS "firstTime""#
        ),
        "{sql}"
    );
    let esql =
        String::from_utf8(harrier(&["convert", "-r", escu, "--to", "esql", "--table", "logs-*"]).stdout).unwrap();
    assert!(esql.starts_with("FROM logs-* | WHERE "), "{esql}");
    assert!(
        esql.contains("| STATS _agg0 = COUNT(*), _agg1 = MIN(_time), _agg2 = MAX(_time) BY Image, DestinationPort"),
        "{esql}"
    );
    assert!(esql.contains("count = _agg0, firstTime = DATE_FORMAT(\"yyyy-MM-dd'T'HH:mm:ss\""), "{esql}");
    let splunk = String::from_utf8(harrier(&["convert", "-r", escu, "--to", "splunk"]).stdout).unwrap();
    assert!(
        splunk.contains("| stats count min(_time) as firstTime") && !splunk.contains('`'),
        "macros expanded: {splunk}"
    );
}

#[test]
fn jsonl_names_each_rule_and_what_was_skipped() {
    let output =
        harrier(&["convert", "-r", &examples("rules"), "--to", "lucene", "--skip-unsupported", "--format", "jsonl"]);
    assert!(output.status.success());
    let lines: Vec<serde_json::Value> =
        String::from_utf8_lossy(&output.stdout).lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    let converted = lines.iter().filter(|line| line["query"].is_string()).count();
    assert!(converted >= 3, "{lines:?}");
    let linux = lines.iter().find(|line| line["file"].as_str().unwrap().contains("unsupported_linux")).unwrap();
    assert!(linux["query"].is_string(), "a Linux rule converts too: {linux}");
    assert!(linux["unmapped_logsource"].as_str().unwrap().contains("linux"), "and says its logsource has no mapping");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("rules converted to lucene") && stderr.contains("skipped"), "{stderr}");
}

#[test]
fn without_skip_unsupported_the_first_refusal_stops_with_the_rule_and_feature() {
    let dir = tempfile::tempdir().unwrap();
    let rule = dir.path().join("fieldref.yml");
    std::fs::write(
        &rule,
        "title: Parent Is Child\nid: 5f2e6d1c-0a4b-4c3d-9e8f-7a6b5c4d3e2f\nlogsource: {product: windows, category: process_creation}\ndetection:\n  sel:\n    ParentImage|fieldref: Image\n  condition: sel\n",
    )
    .unwrap();
    let output = harrier(&["convert", "-r", rule.to_str().unwrap(), "--to", "lucene"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("5f2e6d1c-0a4b-4c3d-9e8f-7a6b5c4d3e2f") && stderr.contains("fieldref"), "{stderr}");
    let sql = harrier(&["convert", "-r", rule.to_str().unwrap(), "--to", "sql"]);
    assert!(
        String::from_utf8_lossy(&sql.stdout).contains(r#"lower("ParentImage") = lower("Image")"#),
        "SQL can compare fields"
    );
}
