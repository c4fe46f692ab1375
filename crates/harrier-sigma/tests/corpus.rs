//! Every SigmaHQ rule loads; deprecated and unsupported ones load or say why not.

use harrier_sigma::{LoadOptions, Outcome, load};
use std::path::PathBuf;

fn sigma_dir() -> Option<PathBuf> {
    harrier_testdata::shared("sigma")
}

#[test]
fn every_sigmahq_rule_loads() {
    let Some(sigma) = sigma_dir() else { return };
    let folders = ["rules", "rules-threat-hunting", "rules-emerging-threats", "rules-placeholder"];
    let paths: Vec<PathBuf> = folders.iter().map(|folder| sigma.join(folder)).collect();
    let entries = load(&paths, &LoadOptions::default());
    let failures: Vec<String> =
        entries.iter().filter(|entry| matches!(entry.outcome, Outcome::Failed(_))).map(ToString::to_string).collect();
    assert!(failures.is_empty(), "{} rules failed:\n{}", failures.len(), failures.join("\n"));
    assert_eq!(entries.len(), 3_141 + 140 + 473 + 23);
    let active = entries.iter().filter(|entry| matches!(entry.outcome, Outcome::Active(_))).count();
    eprintln!("{} rules, {active} active on Windows logs", entries.len());
    assert!(active > 2_500, "{active}");
}

#[test]
fn deprecated_and_unsupported_rules_load_or_say_why() {
    let Some(sigma) = sigma_dir() else { return };
    let entries = load(&[sigma.join("deprecated"), sigma.join("unsupported")], &LoadOptions::default());
    assert!(entries.len() > 250);
    for entry in &entries {
        if let Outcome::Failed(reason) = &entry.outcome {
            assert!(!reason.is_empty() && entry.place.line >= 1, "{entry}");
        }
    }
    let failed = entries.iter().filter(|entry| matches!(entry.outcome, Outcome::Failed(_))).count();
    eprintln!("deprecated + unsupported: {} documents, {failed} refused with a reason", entries.len());
}

const COLLECTION: &str = "title: Global part
action: global
logsource:
    product: windows
    category: process_creation
level: high
---
title: First
id: first
detection:
    sel:
        Image|endswith: '\\a.exe'
    condition: sel
---
title: Second
id: second
level: low
detection:
    sel:
        Image|endswith: '\\b.exe'
    condition: sel
---
title: Broken
id: third
detection:
    sel:
        Image|nonsense: x
    condition: sel
";

#[test]
fn action_global_collections_merge_and_each_document_keeps_its_line() {
    let entries = harrier_sigma::load_text(COLLECTION, "collection.yml", &LoadOptions::default());
    assert_eq!(entries.len(), 3, "the global document is not a rule");
    let first = entries[0].rule().expect("loaded");
    assert_eq!(first.meta.logsource.category.as_deref(), Some("process_creation"));
    assert_eq!(first.meta.level, harrier_ir::Level::High, "from the global part");
    assert_eq!(entries[1].rule().expect("loaded").meta.level, harrier_ir::Level::Low, "the document wins");
    assert_eq!((entries[0].place.line, entries[1].place.line, entries[2].place.line), (8, 15, 23));
    let broken = entries[2].to_string();
    assert!(broken.starts_with("collection.yml:23: rule third: "), "{broken}");
    assert!(broken.contains("unknown modifier `nonsense`"), "{broken}");
}
