//! `hunt --html`: what the report embeds.

/// `--html`: the report's embedded data holds every hit of the hunt: 7 events, 2 correlation
/// results and 1 SPL row on the examples (the browser check in `tests/browser` looks at the page).
#[test]
fn the_html_report_holds_every_hit_of_each_kind() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.html");
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_harrier"))
        .args(["hunt", root.join("logs").to_str().unwrap(), "-r", root.join("rules").to_str().unwrap()])
        .args(["--format", "jsonl", "--html", report.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let page = std::fs::read_to_string(&report).unwrap();
    let data = page.split(r#"<script type="application/json" id="harrier-data">"#).nth(1).unwrap();
    let data: serde_json::Value = serde_json::from_str(data.split("</script>").next().unwrap()).unwrap();
    let rules = data["rules"].as_array().unwrap();
    let kinds: Vec<&str> = data["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|hit| rules[hit[0].as_u64().unwrap() as usize]["kind"].as_str().unwrap())
        .collect();
    let count = |kind: &str| kinds.iter().filter(|found| **found == kind).count();
    assert_eq!((count("event"), count("correlation"), count("row")), (7, 2, 1));
    let smtp = data["matrix"].as_array().unwrap().iter().flat_map(|tactic| tactic["techniques"].as_array().unwrap());
    let mail: Vec<u64> =
        smtp.filter(|cell| cell["id"] == "T1071.003").map(|cell| cell["hits"].as_u64().unwrap()).collect();
    assert_eq!(mail, [6], "5 Sigma hits and the ESCU row");
}
