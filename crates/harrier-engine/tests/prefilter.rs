//! The literal prefilter changes nothing but speed: the same hits with and without it, over
//! every SigmaHQ Windows rule and the attack samples.

use harrier_engine::Engine;
use harrier_read::{Input, ReadOptions};
use harrier_sigma::{LoadOptions, Outcome};

#[test]
fn hits_are_the_same_with_and_without_the_prefilter() {
    let Some(data) = harrier_testdata::shared("") else { return };
    let folders =
        ["rules", "rules-threat-hunting", "rules-emerging-threats"].map(|folder| data.join("sigma").join(folder));
    let entries = harrier_sigma::load(&folders, &LoadOptions::default());
    let conditions: Vec<&harrier_ir::Expr> = entries
        .iter()
        .filter_map(|entry| match &entry.outcome {
            Outcome::Active(rule) => Some(&rule.condition),
            _ => None,
        })
        .collect();
    let (filtered, _) = Engine::new(conditions.iter().copied());
    let (mut exhaustive, _) = Engine::new(conditions.iter().copied());
    exhaustive.set_prefilter(false);
    let inputs =
        [Input::Path(data.join("evtx/EVTX-ATTACK-SAMPLES")), Input::Path(data.join("evtx/malware-detonation"))];
    let mut compared = (0usize, 0usize);
    harrier_read::read(
        &inputs,
        &ReadOptions::default(),
        |batch| {
            let (mut with, mut without) = (Vec::new(), Vec::new());
            let mut hits = 0;
            for event in &batch.events {
                with.clear();
                without.clear();
                filtered.matches(event, &mut with);
                exhaustive.matches(event, &mut without);
                assert_eq!(with, without, "{} record {}", event.source().path, event.record_id());
                hits += with.len();
            }
            (batch.events.len(), hits)
        },
        |(events, hits)| {
            compared.0 += events;
            compared.1 += hits;
        },
        &mut (),
    );
    let (events, hits) = compared;
    assert!(events > 9_000 && hits > 1_000, "{events} events, {hits} hits");
}
