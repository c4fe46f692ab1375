//! SigmaHQ's regression data: each of the 202 tests hits its rule, at least `match_count`
//! times where given, from the EVTX files and from their JSON twins.

use harrier_engine::Engine;
use harrier_read::{Input, ReadOptions};
use harrier_sigma::{LoadOptions, Outcome};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

fn sigma_dir() -> Option<PathBuf> {
    harrier_testdata::shared("sigma")
}

struct Case {
    rule_id: String,
    log: PathBuf,
    match_count: Option<usize>,
}

fn cases(root: &Path) -> Vec<Case> {
    let mut cases = Vec::new();
    for entry in walk(&root.join("regression_data")) {
        if entry.file_name().is_none_or(|name| name != "info.yml") {
            continue;
        }
        let info: yaml_serde::Value = yaml_serde::from_str(&std::fs::read_to_string(&entry).unwrap()).unwrap();
        let rule_id = info["rule_metadata"][0]["id"].as_str().unwrap().to_owned();
        for test in info["regression_tests_info"].as_sequence().into_iter().flatten() {
            if test["type"].as_str() != Some("evtx") {
                continue;
            }
            let log = root.join(test["path"].as_str().unwrap());
            let match_count = test["match_count"].as_u64().map(|count| count as usize);
            cases.push(Case { rule_id: rule_id.clone(), log, match_count });
        }
    }
    cases.sort_by(|a, b| a.log.cmp(&b.log));
    cases
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() { found.extend(walk(&path)) } else { found.push(path) }
    }
    found
}

/// Hits per rule id over one log file.
fn hits(engine: &Engine, ids: &[Option<String>], log: &Path) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    let inputs = [Input::Path(log.to_owned())];
    let summary = harrier_read::read(
        &inputs,
        &ReadOptions::default(),
        |batch| {
            let mut found = Vec::new();
            for event in &batch.events {
                engine.matches(event, &mut found);
            }
            found
        },
        |found| {
            for rule in found {
                if let Some(id) = &ids[rule] {
                    *counts.entry(id.clone()).or_default() += 1;
                }
            }
        },
        &mut (),
    );
    assert_eq!(summary.all_problems().count(), 0, "{}", log.display());
    counts
}

#[test]
fn every_regression_test_hits_its_rule_from_evtx_and_from_json() {
    let Some(sigma) = sigma_dir() else { return };
    let folders = ["rules", "rules-threat-hunting", "rules-emerging-threats"];
    let entries = harrier_sigma::load(&folders.map(|folder| sigma.join(folder)), &LoadOptions::default());
    let rules: Vec<&harrier_ir::Rule> = entries
        .iter()
        .filter_map(|entry| match &entry.outcome {
            Outcome::Active(rule) => Some(rule),
            _ => None,
        })
        .collect();
    let (engine, errors) = Engine::new(rules.iter().map(|rule| &rule.condition));
    assert!(errors.is_empty(), "{errors:?}");
    let ids: Vec<Option<String>> = rules.iter().map(|rule| rule.meta.id.clone()).collect();

    let cases = cases(&sigma);
    assert_eq!(cases.len(), 202);
    let mut missed = Vec::new();
    let mut above = Vec::new();
    for case in &cases {
        for log in [case.log.clone(), case.log.with_extension("json")] {
            let count = hits(&engine, &ids, &log).get(&case.rule_id).copied().unwrap_or(0);
            let expected = case.match_count.unwrap_or(1);
            if count < expected {
                missed.push(format!("{} {}: {count} hits, expected {expected}", case.rule_id, log.display()));
            } else if case.match_count.is_some_and(|limit| count > limit) {
                above.push(format!("{} {}: {count} hits, match_count {expected}", case.rule_id, log.display()));
            }
        }
    }
    eprintln!("above match_count ({}):\n{}", above.len(), above.join("\n"));
    assert!(missed.is_empty(), "{} of {} runs missed:\n{}", missed.len(), cases.len() * 2, missed.join("\n"));
}
