//! Every `attack.*` tag in the SigmaHQ rule folders resolves.

use harrier_attack::{Attack, TagMeaning};
use harrier_sigma::LoadOptions;

#[test]
fn every_attack_tag_in_the_sigmahq_rules_resolves() {
    let Some(sigma) = harrier_testdata::shared("sigma") else { return };
    let folders =
        ["rules", "rules-threat-hunting", "rules-emerging-threats", "rules-placeholder"].map(|f| sigma.join(f));
    let attack = Attack::get();
    let (mut resolved, mut unknown) = (0, Vec::new());
    for entry in harrier_sigma::load(&folders, &LoadOptions::default()) {
        let rule = entry.rule().unwrap_or_else(|| panic!("{entry}"));
        for tag in rule.meta.tags.iter().filter(|tag| tag.starts_with("attack.")) {
            match attack.resolve_tag(tag) {
                TagMeaning::Unknown => unknown.push(format!("{}: {tag}", entry.place)),
                _ => resolved += 1,
            }
        }
    }
    assert!(unknown.is_empty(), "{} unknown:\n{}", unknown.len(), unknown.join("\n"));
    assert!(resolved > 10_000, "{resolved}");
}
