//! Every `mitre_attack_id` of ESCU's detections names an ATT&CK technique Harrier knows, so
//! ESCU and Sigma hits resolve to the same techniques and tactics.

use harrier_spl::escu::{self, Library};

#[test]
fn every_escu_technique_resolves() {
    let Some(root) = harrier_testdata::escu("detections") else { return };
    let library = Library::load(&[], &[]);
    let attack = harrier_attack::Attack::get();
    let (mut resolved, mut unknown) = (0, Vec::new());
    for entry in walkdir::WalkDir::new(&root).sort_by_file_name().into_iter().filter_map(Result::ok) {
        if !entry.file_type().is_file() {
            continue;
        }
        let detection = escu::load_file(entry.path(), &library);
        for id in &detection.meta.techniques {
            match attack.technique(id) {
                Some(_) => resolved += 1,
                None => unknown.push(format!("{}: {id}", entry.path().display())),
            }
        }
        if !detection.meta.techniques.is_empty() {
            assert!(!detection.meta.tactics.is_empty(), "{}: techniques without tactics", entry.path().display());
        }
    }
    assert!(unknown.is_empty(), "{} unknown:\n{}", unknown.len(), unknown.join("\n"));
    assert!(resolved > 1_500, "{resolved}");
}
