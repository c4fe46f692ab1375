//! Correlations over events written here: sliding windows, group-by, temporal order, one
//! rule feeding two correlations, chaining, aliases, generate.

use harrier_correlate::{CorrelationHit, Correlator};
use harrier_engine::Engine;
use harrier_event::{Event, Field, Provenance, SourceFile, Timestamp, Value};
use harrier_sigma::{LoadOptions, Outcome};
use std::sync::Arc;

const RULES: &str = r"title: Failed logon
id: 00000000-0000-4000-8000-000000000001
name: failed_logon
detection:
    sel:
        EventID: 4625
    condition: sel
---
title: Successful logon
id: 00000000-0000-4000-8000-000000000002
name: successful_logon
detection:
    sel:
        EventID: 4624
    condition: sel
---
title: Many failed logons for one user
id: 00000000-0000-4000-8000-000000000010
name: many_failed
correlation:
    type: event_count
    rules: [failed_logon]
    group-by: [TargetUserName]
    timespan: 1m
    condition: {gte: 3}
level: medium
---
title: Password spraying from one address
id: 00000000-0000-4000-8000-000000000011
correlation:
    type: value_count
    rules: [00000000-0000-4000-8000-000000000001]
    group-by: [IpAddress]
    timespan: 5m
    condition: {field: TargetUserName, gte: 3}
level: high
---
title: Brute force then success
id: 00000000-0000-4000-8000-000000000012
correlation:
    type: temporal_ordered
    rules: [many_failed, successful_logon]
    group-by: [TargetUserName]
    timespan: 10m
level: critical
";

/// (seconds after 10:00, EventID, user, address)
type Spec = (i64, i64, &'static str, &'static str);

fn events(specs: &[Spec]) -> Vec<Event> {
    let base = Timestamp::parse("2026-03-14T10:00:00Z").unwrap().unix_micros();
    specs
        .iter()
        .enumerate()
        .map(|(index, (seconds, id, user, address))| {
            let time = Timestamp::from_unix_micros(base + seconds * 1_000_000).unwrap();
            let provenance = Provenance {
                source: Arc::new(SourceFile { path: "t.jsonl".into() }),
                record_id: index as u64 + 1,
                timestamp: Some(time),
            };
            let field = |name: &str, value: Value| Field::new(name, value);
            Event::new(
                provenance,
                vec![
                    field("EventID", Value::Int(*id)),
                    field("TargetUserName", Value::Str((*user).into())),
                    field("IpAddress", Value::Str((*address).into())),
                ],
            )
        })
        .collect()
}

/// Loads the rules, runs the events (in the order given), returns the correlation results.
fn run(rules: &str, events: &[Event]) -> (Correlator, Vec<CorrelationHit>) {
    let entries = harrier_sigma::load_text(rules, "c.yml", &LoadOptions::default());
    let detections: Vec<(Option<String>, Option<String>, &harrier_ir::Expr)> = entries
        .iter()
        .filter_map(|entry| match &entry.outcome {
            Outcome::Active(rule) => Some((rule.meta.id.clone(), rule.meta.name.clone(), &rule.condition)),
            _ => None,
        })
        .collect();
    let correlations = entries.iter().filter_map(|entry| entry.correlation().cloned()).collect();
    let resolve = |reference: &str| {
        detections
            .iter()
            .position(|(id, name, _)| id.as_deref() == Some(reference) || name.as_deref() == Some(reference))
    };
    let correlator = Correlator::new(correlations, &resolve).unwrap();
    let mut windows = correlator.start();
    let (engine, _) = Engine::new(detections.iter().map(|(_, _, condition)| *condition));
    let mut hits = Vec::new();
    for event in events {
        hits.clear();
        engine.matches(event, &mut hits);
        for &rule in &hits {
            for (correlation, observation) in correlator.observe(rule, event).unwrap() {
                windows.add(correlation, observation);
            }
        }
    }
    let found = correlator.finish(windows);
    (correlator, found)
}

fn titled<'a>(correlator: &Correlator, hits: &'a [CorrelationHit], title: &str) -> Vec<&'a CorrelationHit> {
    hits.iter().filter(|hit| correlator.correlation(hit.correlation).meta.title == title).collect()
}

#[test]
fn event_count_uses_sliding_windows_per_group() {
    // alice: 3 failures within 35 s that straddle a minute boundary (10:00:50 to 10:01:25);
    // bob: 3 failures spread over 2 minutes.
    let log = events(&[
        (50, 4625, "alice", "10.0.0.5"),
        (65, 4625, "alice", "10.0.0.5"),
        (0, 4625, "bob", "10.0.0.9"),
        (85, 4625, "ALICE", "10.0.0.5"),
        (70, 4625, "bob", "10.0.0.9"),
        (140, 4625, "bob", "10.0.0.9"),
    ]);
    let (correlator, hits) = run(RULES, &log);
    let many = titled(&correlator, &hits, "Many failed logons for one user");
    assert_eq!(many.len(), 1, "{many:?}");
    assert_eq!(many[0].group, [("TargetUserName".to_owned(), Some("alice".to_owned()))]);
    assert_eq!(many[0].value, 3.0);
    assert_eq!(many[0].events.iter().map(|e| e.record_id).collect::<Vec<_>>(), [1, 2, 4], "in time order");
    assert_eq!(many[0].first.to_string(), "2026-03-14T10:00:50.000000Z");
}

#[test]
fn one_rule_feeds_two_correlations_and_value_count_counts_distinct_values() {
    let log = events(&[
        (0, 4625, "alice", "10.0.0.5"),
        (10, 4625, "bob", "10.0.0.5"),
        (20, 4625, "Bob", "10.0.0.5"),
        (30, 4625, "carol", "10.0.0.5"),
        (40, 4625, "dave", "10.0.0.7"),
    ]);
    let (correlator, hits) = run(RULES, &log);
    let spraying = titled(&correlator, &hits, "Password spraying from one address");
    assert_eq!(spraying.len(), 1);
    assert_eq!(spraying[0].group, [("IpAddress".to_owned(), Some("10.0.0.5".to_owned()))]);
    assert_eq!(spraying[0].value, 3.0, "bob and Bob are one user");
    assert!(titled(&correlator, &hits, "Many failed logons for one user").is_empty());
}

#[test]
fn temporal_ordered_chains_a_correlation_before_a_rule() {
    let burst = [(0, 4625, "alice", "a"), (5, 4625, "alice", "a"), (10, 4625, "alice", "a")];
    let mut in_order = burst.to_vec();
    in_order.push((60, 4624, "alice", "a"));
    let (correlator, hits) = run(RULES, &events(&in_order));
    let chained = titled(&correlator, &hits, "Brute force then success");
    assert_eq!(chained.len(), 1, "{hits:?}");
    assert_eq!(chained[0].events.len(), 4, "the three failures and the success");

    let mut success_first = vec![(-60, 4624, "alice", "a")];
    success_first.extend(burst);
    let (correlator, hits) = run(RULES, &events(&success_first));
    assert!(titled(&correlator, &hits, "Brute force then success").is_empty());
}

#[test]
fn aliases_map_one_group_to_different_fields_and_temporal_needs_every_rule() {
    let rules = r"title: Outbound
name: outbound
detection:
    sel:
        EventID: 3
    condition: sel
---
title: Inbound
name: inbound
detection:
    sel:
        EventID: 5156
    condition: sel
---
title: Same address both ways
correlation:
    type: temporal
    rules: [outbound, inbound]
    group-by: [ip]
    timespan: 30s
    aliases:
        ip:
            outbound: IpAddress
            inbound: TargetUserName
";
    // Here TargetUserName plays the inbound event's address field.
    let both = events(&[(0, 3, "x", "10.1.1.1"), (10, 5156, "10.1.1.1", "y")]);
    let (_, hits) = run(rules, &both);
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].group, [("ip".to_owned(), Some("10.1.1.1".to_owned()))]);
    let one_side = events(&[(0, 3, "x", "10.1.1.1"), (10, 3, "x", "10.1.1.1")]);
    assert!(run(rules, &one_side).1.is_empty());
}

#[test]
fn generate_false_suppresses_the_correlated_rules_own_hits() {
    let (correlator, _) = run(RULES, &[]);
    assert!(correlator.suppresses(0), "failed_logon is only correlated");
    assert!(correlator.suppresses(1), "successful_logon too");
    let generating = RULES.replace("    condition: {gte: 3}\n", "    condition: {gte: 3}\n    generate: true\n");
    let (correlator, _) = run(&generating, &[]);
    assert!(!correlator.suppresses(0), "one correlation naming failed_logon generates");
    assert!(correlator.suppresses(1));
}
