//! `harrier catalog`: its data against the rule files, `harrier coverage` and bad input. The
//! page itself is checked in a browser (tests/browser/catalog.mjs).

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

fn harrier(args: &[&str]) -> std::process::Output {
    let output = Command::new(env!("CARGO_BIN_EXE_harrier")).args(args).output().expect("harrier runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    output
}

fn catalog_json(rule_paths: &[&Path]) -> Value {
    let mut args = vec!["catalog", "-q", "--format", "json"];
    for path in rule_paths {
        args.extend(["-r", path.to_str().unwrap()]);
    }
    serde_json::from_slice(&harrier(&args).stdout).expect("the catalog is one JSON document")
}

/// Every technique entry of a catalog: the matrix's (sub-techniques too) and those apart.
fn technique_entries(catalog: &Value) -> Vec<&Value> {
    let mut entries = Vec::new();
    for tactic in catalog["tactics"].as_array().unwrap() {
        for technique in tactic["techniques"].as_array().unwrap() {
            entries.push(technique);
            entries.extend(technique["subtechniques"].as_array().unwrap());
        }
    }
    entries.extend(catalog["outside_matrix"].as_array().unwrap());
    entries.extend(catalog["unknown_techniques"].as_array().unwrap());
    entries
}

fn indexes(list: &Value) -> Vec<usize> {
    list.as_array().unwrap().iter().map(|index| index.as_u64().unwrap() as usize).collect()
}

/// The ESCU detection file whose `name` is this title, parsed.
fn escu_file(detections: &Path, name: &str) -> (String, yaml_serde::Value) {
    for entry in walkdir::WalkDir::new(detections).sort_by_file_name() {
        let path = entry.unwrap().into_path();
        if path.extension().is_none_or(|extension| extension != "yml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        if !text.contains(name) {
            continue;
        }
        let document: yaml_serde::Value = yaml_serde::from_str(&text).unwrap();
        if document["name"].as_str() == Some(name) {
            return (path.display().to_string(), document);
        }
    }
    panic!("no ESCU file names {name}");
}

#[test]
fn the_t1071_003_page_shows_both_escu_protocol_analytics_as_their_files_write_them() {
    let Some(detections) = harrier_testdata::escu("detections") else { return };
    let catalog = catalog_json(&[&detections]);
    let rules = catalog["rules"].as_array().unwrap();
    let command_and_control =
        catalog["tactics"].as_array().unwrap().iter().find(|tactic| tactic["id"] == "TA0011").unwrap();
    let application_layer =
        command_and_control["techniques"].as_array().unwrap().iter().find(|entry| entry["id"] == "T1071").unwrap();
    let mail = application_layer["subtechniques"].as_array().unwrap().iter().find(|entry| entry["id"] == "T1071.003");
    let mail = mail.expect("T1071.003 is under T1071 under Command and Control");
    assert_eq!(mail["name"], "Mail Protocols");
    let listed: Vec<&Value> = indexes(&mail["rules"]).into_iter().map(|index| &rules[index]).collect();
    for name in [
        "Windows Mail Protocol In Non-Common Process Path",
        "Windows File Transfer Protocol In Non-Common Process Path",
    ] {
        let rule = listed.iter().find(|rule| rule["title"] == name).unwrap_or_else(|| panic!("{name} on the page"));
        let (file, document) = escu_file(&detections, name);
        assert_eq!(rule["source"], "splunk");
        assert_eq!(rule["techniques"], serde_json::json!(["T1071.003", "T1071"]));
        assert_eq!(rule["description"].as_str(), document["description"].as_str(), "{name}: description as in {file}");
        assert_eq!(rule["logic"]["search"].as_str(), document["search"].as_str(), "{name}: search as in {file}");
        assert!(rule["logic"]["expanded"].as_str().is_some_and(|expanded| !expanded.contains('`')), "macros expanded");
        assert_eq!(rule["file"].as_str(), Some(file.as_str()));
        let known: Vec<&str> = document["known_false_positives"].as_str().into_iter().collect();
        assert_eq!(rule["false_positives"], serde_json::json!(known));
        let converted = rule["conversions"].as_array().unwrap();
        assert!(converted.iter().any(|conversion| conversion["target"] == "Splunk" && conversion["query"].is_string()));
    }
}

#[test]
fn every_rule_is_under_each_of_its_techniques_as_coverage_counts_them() {
    let (Some(sigma), Some(detections)) = (harrier_testdata::shared("sigma"), harrier_testdata::escu("detections"))
    else {
        return;
    };
    let folders =
        ["rules", "rules-emerging-threats", "rules-threat-hunting", "rules-placeholder"].map(|f| sigma.join(f));
    let mut paths: Vec<&Path> = folders.iter().map(|path| path.as_path()).collect();
    paths.push(&detections);
    let catalog = catalog_json(&paths);
    let rules = catalog["rules"].as_array().unwrap();

    let entries = technique_entries(&catalog);
    // A technique of several tactics is under each of them, with the same rules.
    let mut filed: BTreeMap<&str, BTreeSet<usize>> = BTreeMap::new();
    for entry in &entries {
        filed.entry(entry["id"].as_str().unwrap()).or_default().extend(indexes(&entry["rules"]));
    }
    let no_technique = indexes(&catalog["no_technique"]);
    for (index, rule) in rules.iter().enumerate() {
        let techniques = rule["techniques"].as_array().unwrap();
        if matches!(rule["outcome"].as_str(), Some("failed" | "filter")) {
            assert!(rule["reason"].is_string(), "{rule}");
            continue;
        }
        for id in techniques {
            let id = id.as_str().unwrap().to_ascii_uppercase();
            assert!(filed.get(id.as_str()).is_some_and(|rules| rules.contains(&index)), "{} under {id}", rule["title"]);
        }
        assert_eq!(techniques.is_empty(), no_technique.contains(&index), "{} under no technique", rule["title"]);
    }

    let mut args = vec!["coverage", "-q", "--format", "navigator"];
    for path in &paths {
        args.extend(["-r", path.to_str().unwrap()]);
    }
    let layer: Value = serde_json::from_slice(&harrier(&args).stdout).unwrap();
    let coverage: BTreeMap<&str, u64> = layer["techniques"]
        .as_array()
        .unwrap()
        .iter()
        .map(|technique| (technique["techniqueID"].as_str().unwrap(), technique["score"].as_u64().unwrap()))
        .collect();
    let counts: BTreeMap<&str, u64> =
        filed.iter().filter(|(_, rules)| !rules.is_empty()).map(|(id, rules)| (*id, rules.len() as u64)).collect();
    assert!(counts.len() > 400, "{} techniques", counts.len());
    assert_eq!(counts, coverage, "rules per technique: the catalog and `harrier coverage`");
}

#[test]
fn a_rule_that_fails_is_listed_with_its_reason_and_an_unknown_technique_under_its_id() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
    write("broken.yml", "title: Broken\ndetection: [unclosed\n");
    write(
        "unknown.yml",
        "title: Future technique\nid: 7d1c6a3e-1f0e-4c55-9a56-3b3a4d1e0001\nstatus: test\ntags:\n  - attack.t9999\n\
         logsource:\n  product: windows\n  category: process_creation\ndetection:\n  selection:\n    Image|endswith: \\x.exe\n\
         \x20 condition: selection\nfalsepositives:\n  - Unknown\nlevel: low\n",
    );
    write(
        "plain.yml",
        "title: No technique\nid: 7d1c6a3e-1f0e-4c55-9a56-3b3a4d1e0002\nlogsource:\n  product: windows\n  category: process_creation\n\
         detection:\n  selection:\n    CommandLine|contains: whoami\n  condition: selection\nfalsepositives:\n  - Admins.\n  - admins\nlevel: low\n",
    );
    let catalog = catalog_json(&[dir.path()]);
    let rules = catalog["rules"].as_array().unwrap();
    let by_title = |title: &str| rules.iter().position(|rule| rule["title"] == title);

    let broken =
        &rules[by_title(&dir.path().join("broken.yml").display().to_string()).expect("the broken file is listed")];
    assert_eq!(broken["outcome"], "failed");
    assert!(broken["reason"].as_str().is_some_and(|reason| !reason.is_empty()), "{broken}");
    assert!(broken["conversions"][0]["refusal"].as_str().unwrap().contains("not loaded"));

    let unknown = by_title("Future technique").unwrap();
    let apart = catalog["unknown_techniques"].as_array().unwrap();
    assert_eq!(apart.len(), 1);
    assert_eq!((apart[0]["id"].as_str(), indexes(&apart[0]["rules"])), (Some("T9999"), vec![unknown]));
    assert!(apart[0]["note"].as_str().unwrap().contains("not an ATT&CK"));
    assert!(rules[unknown]["warnings"].to_string().contains("t9999"), "{}", rules[unknown]["warnings"]);
    assert!(rules[unknown]["fields"] == serde_json::json!(["Image"]));

    let plain = by_title("No technique").unwrap();
    assert_eq!(indexes(&catalog["no_technique"]), vec![plain]);
    let false_positives = catalog["false_positives"].as_array().unwrap();
    assert_eq!(false_positives.len(), 1, "`Admins.` and `admins` are one: {false_positives:?}");
    assert_eq!(false_positives[0]["key"], "admins");
    assert_eq!(indexes(&catalog["false_positives_unknown"]), vec![unknown], "`Unknown` is grouped apart");

    let out = dir.path().join("site");
    let status = Command::new(env!("CARGO_BIN_EXE_harrier"))
        .args(["catalog", "-q", "-r", dir.path().to_str().unwrap(), "--out", out.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(status.success());
    let page = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(page.contains("Content-Security-Policy\" content=\"default-src 'none'"), "the page may fetch nothing");
    for slot in ["catalog-data", "catalog-conversions"] {
        let start = page.find(&format!("id=\"{slot}\">")).unwrap_or_else(|| panic!("{slot} in the page"));
        let data = page[start..].split_once('>').unwrap().1.split_once("</script>").unwrap().0;
        let base64 = |c: char| c.is_ascii_alphanumeric() || "+/=".contains(c);
        assert!(!data.is_empty() && data.chars().all(base64), "{slot}: data that cannot close its element");
    }
}

#[test]
fn catalog_evidence_counts_the_hits_on_logs_and_on_benign_logs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let (rules, logs) = (root.join("examples/rules"), root.join("examples/logs"));
    let args = ["catalog", "-q", "--format", "json", "-r", rules.to_str().unwrap()];
    let with_logs = [&args[..], &["--logs", logs.to_str().unwrap(), "--benign", logs.to_str().unwrap()]].concat();
    let catalog: Value = serde_json::from_slice(&harrier(&with_logs).stdout).unwrap();
    let hunt = harrier(&["hunt", "-q", logs.to_str().unwrap(), "-r", rules.to_str().unwrap(), "--format", "jsonl"]);
    let mut hits: BTreeMap<String, u64> = BTreeMap::new();
    for line in String::from_utf8(hunt.stdout).unwrap().lines() {
        let hit: Value = serde_json::from_str(line).unwrap();
        if hit.get("row").is_none() && hit.get("type").is_none_or(|kind| kind == "event") {
            *hits.entry(hit["rule_id"].as_str().unwrap().to_owned()).or_default() += 1;
        }
    }
    assert!(!hits.is_empty());
    for (id, count) in &hits {
        let rule = catalog["rules"].as_array().unwrap().iter().find(|rule| rule["id"] == id.as_str()).unwrap();
        assert_eq!(rule["evidence"]["hits"].as_u64(), Some(*count), "{id}");
        assert_eq!(rule["noise"]["hits"].as_u64(), Some(*count), "{id}: the same logs as benign");
        assert!(rule["evidence"]["first"].as_str().unwrap() <= rule["evidence"]["last"].as_str().unwrap());
    }
}
