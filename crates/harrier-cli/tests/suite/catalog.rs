//! `harrier rules list` and `harrier coverage` over both rule languages.

use std::path::PathBuf;
use std::process::Command;

fn harrier(args: &[&str]) -> std::process::Output {
    let output = Command::new(env!("CARGO_BIN_EXE_harrier")).args(args).output().expect("harrier runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    output
}

fn examples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/rules")
}

#[test]
fn rules_list_filters_both_languages_by_technique_and_tactic() {
    let rules = examples();
    let output = harrier(&["rules", "list", "-r", rules.to_str().unwrap(), "--technique", "T1071", "--format", "json"]);
    let lines: Vec<serde_json::Value> = serde_json::from_slice(&output.stdout).unwrap();
    let languages: Vec<&str> = lines.iter().map(|line| line["language"].as_str().unwrap()).collect();
    assert_eq!(languages, ["sigma", "spl"]);
    for line in &lines {
        assert!(line["techniques"].as_array().unwrap().iter().any(|id| id.as_str().unwrap().starts_with("T1071")));
        assert!(line["tactics"][0].as_str().is_some());
        assert!(!line["false_positives"].as_array().unwrap().is_empty(), "{line}");
    }
    assert_eq!(lines[1]["type"], "TTP");
    let output = harrier(&["rules", "list", "-r", rules.to_str().unwrap(), "--tactic", "TA0007", "--format", "json"]);
    let lines: Vec<serde_json::Value> = serde_json::from_slice(&output.stdout).unwrap();
    assert!(!lines.is_empty());
    assert!(lines.iter().all(|line| line["tactics"].as_array().unwrap().iter().any(|t| t == "discovery")));
}

/// The layer's fields as the Navigator's layer format 4.5 documents them
/// (github.com/mitre-attack/attack-navigator, layers/LAYERFORMATv4_5.md).
fn check_layer(layer: &serde_json::Value) {
    assert!(layer["name"].is_string());
    assert_eq!(layer["versions"]["layer"], "4.5");
    assert!(layer["versions"]["attack"].is_string() && layer["versions"]["navigator"].is_string());
    assert_eq!(layer["domain"], "enterprise-attack");
    assert!(layer["description"].is_string());
    let is_color = |value: &serde_json::Value| {
        value.as_str().is_some_and(|text| {
            text.starts_with('#') && matches!(text.len(), 7 | 9) && text[1..].chars().all(|c| c.is_ascii_hexdigit())
        })
    };
    let gradient = &layer["gradient"];
    assert!(
        gradient["colors"].as_array().unwrap().len() >= 2
            && gradient["colors"].as_array().unwrap().iter().all(is_color)
    );
    assert!(gradient["minValue"].as_f64().unwrap() < gradient["maxValue"].as_f64().unwrap());
    for key in ["hideDisabled", "selectTechniquesAcrossTactics", "selectSubtechniquesWithParent"] {
        assert!(layer[key].is_boolean(), "{key}");
    }
    assert!(layer["legendItems"].is_array() && layer["metadata"].is_array());
    for technique in layer["techniques"].as_array().unwrap() {
        let id = technique["techniqueID"].as_str().unwrap();
        let (base, sub) = id.split_once('.').unwrap_or((id, "000"));
        assert!(base.len() == 5 && base.starts_with('T') && base[1..].chars().all(|c| c.is_ascii_digit()), "{id}");
        assert!(sub.len() == 3 && sub.chars().all(|c| c.is_ascii_digit()), "{id}");
        assert!(technique["score"].as_u64().unwrap() > 0);
        assert!(technique["comment"].is_string() && technique["enabled"].is_boolean());
        assert!(technique.get("tactic").is_none_or(|tactic| tactic.is_string()));
    }
}

#[test]
fn the_navigator_layer_of_sigmahq_and_escu_covers_300_techniques() {
    let (Some(sigma), Some(escu)) = (harrier_testdata::shared("sigma/rules"), harrier_testdata::escu("detections"))
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let layer_path = dir.path().join("layer.json");
    let args = [
        "coverage",
        "-r",
        sigma.to_str().unwrap(),
        "-r",
        escu.to_str().unwrap(),
        "--format",
        "navigator",
        "-o",
        layer_path.to_str().unwrap(),
    ];
    harrier(&args);
    let layer: serde_json::Value = serde_json::from_slice(&std::fs::read(&layer_path).unwrap()).unwrap();
    check_layer(&layer);
    let techniques = layer["techniques"].as_array().unwrap();
    eprintln!("{} techniques covered", techniques.len());
    assert!(techniques.len() >= 300, "{}", techniques.len());
    let mail = techniques.iter().find(|technique| technique["techniqueID"] == "T1071.003").expect("T1071.003");
    let comment = mail["comment"].as_str().unwrap();
    assert!(comment.contains("Windows Mail Protocol In Non-Common Process Path"), "ESCU titles in comments");
}

fn example_logs() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/logs").display().to_string()
}

/// Scores in a coverage JSON matrix, by technique id.
fn scores(report: &serde_json::Value) -> std::collections::BTreeMap<String, u64> {
    let cells = report["matrix"].as_array().unwrap().iter().flat_map(|tactic| tactic["techniques"].as_array().unwrap());
    cells.map(|cell| (cell["id"].as_str().unwrap().to_owned(), cell["score"].as_u64().unwrap())).collect()
}

#[test]
fn coverage_with_logs_scores_techniques_by_hits_of_both_languages() {
    let rules = examples();
    let args = ["coverage", &example_logs(), "-r", rules.to_str().unwrap(), "--format", "json"];
    let report: serde_json::Value = serde_json::from_slice(&harrier(&args).stdout).unwrap();
    assert_eq!(report["score"], "hits per technique");
    let scores = scores(&report);
    // 5 Sigma hits plus the ESCU detection's stats row, which counted 5 events.
    assert_eq!(scores["T1071.003"], 10);
    // Two Sigma hits (two rules), and the correlations' one result each.
    assert_eq!(scores["T1069.002"], 2);
    assert_eq!(scores["T1110"], 1);
    assert_eq!(scores["T1110.001"], 1);
    // Rules that did not fire score nothing.
    let unfired = harrier(&["coverage", "-r", rules.to_str().unwrap(), "--format", "json"]);
    let by_rules = self::scores(&serde_json::from_slice(&unfired.stdout).unwrap());
    assert!(by_rules.len() >= scores.len());
    assert_eq!(by_rules["T1071.003"], 2, "one rule per language");
}

/// `noise` ranks rules and proposes exclusions; each proposal, used with `hunt --exclude`,
/// removes exactly the hits of the process it names.
#[test]
fn noise_proposals_remove_the_hits_they_announce() {
    let (Some(logs), Some(rules)) =
        (harrier_testdata::shared("evtx/EVTX-ATTACK-SAMPLES"), harrier_testdata::shared("sigma/rules/windows"))
    else {
        return;
    };
    let (logs, rules) = (logs.to_str().unwrap(), rules.to_str().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let proposals = dir.path().join("proposed.yml");
    let ranking = harrier(&[
        "noise",
        logs,
        "-r",
        rules,
        "--top",
        "5",
        "--format",
        "json",
        "--write-exclusions",
        proposals.to_str().unwrap(),
    ]);
    let ranking: Vec<serde_json::Value> = serde_json::from_slice(&ranking.stdout).unwrap();
    assert_eq!(ranking.len(), 5);
    assert!(ranking.windows(2).all(|pair| pair[0]["hits"].as_u64() >= pair[1]["hits"].as_u64()), "noisiest first");
    let text = std::fs::read_to_string(&proposals).unwrap();
    let announced: Vec<(String, u64)> = ranking
        .iter()
        .filter(|rule| !rule["top_process"].is_null())
        .map(|rule| (rule["rule_title"].as_str().unwrap().to_owned(), rule["top_process"]["hits"].as_u64().unwrap()))
        .collect();
    assert!(!announced.is_empty(), "{text}");
    let hunt = harrier(&["hunt", logs, "-r", rules, "--format", "jsonl", "--exclude", proposals.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&hunt.stderr);
    for (title, hits) in announced {
        let line = stderr
            .lines()
            .find(|line| line.contains(&format!("exclusion `{title} from")))
            .unwrap_or_else(|| panic!("{title}: {stderr}"));
        assert!(line.ends_with(&format!("removed {hits} hits")), "{line}");
    }
}
