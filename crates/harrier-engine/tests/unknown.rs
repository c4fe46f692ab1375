//! A hunt counts an event as undecided by a rule when plain Sigma hits it (a field the source
//! cannot carry taken as absent) and the rule's condition, "certainly true", does not. That
//! leaves out "and not certainly false", which holds only if what plain Sigma hits is never
//! certainly false. Checked here for every SigmaHQ process-creation rule on Security 4688
//! events made from the shared Sysmon process creations, as 4688 versions 1 and 2 record
//! them.

use harrier_engine::Engine;
use harrier_event::{Event, Field, Value};
use harrier_ir::Expr;
use harrier_read::{Input, ReadOptions};
use harrier_sigma::logsource::Source;
use harrier_sigma::{LoadOptions, LogsourceMap, Outcome};

/// The Security 4688 source of process creations, routed to every event: a rule's condition
/// is then `T(C)` and its plain condition `C` itself, with 4688's field names.
fn security_source_everywhere() -> (LoadOptions, Source) {
    let mut logsources = LogsourceMap::builtin();
    let sources = logsources.categories.get_mut("process_creation").expect("process_creation is mapped");
    let mut security =
        sources.iter().find(|source| source.channel.as_deref() == Some("Security")).expect("4688 source").clone();
    security.channel = None;
    security.event_ids.clear();
    *sources = vec![security.clone()];
    (LoadOptions { logsources, ..LoadOptions::default() }, security)
}

/// A Sysmon process creation as Security 4688 of `version` records it: fields renamed, those
/// the version cannot carry left out.
fn as_4688(sysmon: &Event, source: &Source, version: u32) -> Event {
    let carried = |name: &str| {
        let never = source.uncarried.always.iter().any(|field| field.eq_ignore_ascii_case(name));
        let later = source
            .uncarried
            .since_version
            .iter()
            .any(|(since, fields)| *since > version && fields.iter().any(|field| field.eq_ignore_ascii_case(name)));
        !never && !later
    };
    let mut fields = Vec::new();
    for field in sysmon.fields() {
        let value = match field.name() {
            "Channel" => Value::Str("Security".into()),
            "EventID" => Value::Int(4688),
            "Version" => Value::Int(i64::from(version)),
            _ => field.value.clone(),
        };
        let name = source.fields.get(field.name()).map_or(field.name(), String::as_str);
        if carried(name) {
            fields.push(Field::new(name, value));
        }
    }
    Event::new(sysmon.provenance.clone(), fields)
}

#[test]
fn what_plain_sigma_hits_is_never_certainly_false() {
    let Some(data) = harrier_testdata::shared("") else { return };
    let (options, source) = security_source_everywhere();
    let folders =
        ["rules", "rules-threat-hunting", "rules-emerging-threats"].map(|folder| data.join("sigma").join(folder));
    let entries = harrier_sigma::load(&folders, &options);
    let rules: Vec<(&str, &Expr, &Expr)> = entries
        .iter()
        .filter_map(|entry| match &entry.outcome {
            Outcome::Active(rule) if rule.meta.logsource.category.as_deref() == Some("process_creation") => {
                Some((rule.meta.title.as_str(), &rule.condition, rule.plain.as_ref()?))
            }
            _ => None,
        })
        .collect();
    assert!(rules.len() > 500, "{} process-creation rules test a field 4688 may lack", rules.len());
    let certainly_false: Vec<Expr> =
        rules.iter().map(|(_, _, plain)| source.uncarried.certainly(plain, false)).collect();
    let (certain, _) = Engine::new(rules.iter().map(|(_, condition, _)| *condition));
    let (plain, _) = Engine::new(rules.iter().map(|(_, _, plain)| *plain));
    let (false_engine, _) = Engine::new(&certainly_false);
    let inputs = [Input::Path(data.join("evtx")), Input::Path(data.join("json"))];
    let mut seen = [0usize; 3];
    harrier_read::read(
        &inputs,
        &ReadOptions::default(),
        |batch| {
            let mut counts = [0usize; 3];
            let (mut certain_hits, mut plain_hits, mut false_hits) = (Vec::new(), Vec::new(), Vec::new());
            let sysmon_creations = batch.events.iter().filter(|event| {
                event.event_id() == Some(1) && event.channel().is_some_and(|channel| channel.contains("Sysmon"))
            });
            for sysmon in sysmon_creations {
                for version in [1, 2] {
                    let event = as_4688(sysmon, &source, version);
                    for (engine, hits) in
                        [(&certain, &mut certain_hits), (&plain, &mut plain_hits), (&false_engine, &mut false_hits)]
                    {
                        hits.clear();
                        engine.matches(&event, hits);
                    }
                    let both: Vec<&str> =
                        plain_hits.iter().filter(|rule| false_hits.contains(rule)).map(|&rule| rules[rule].0).collect();
                    assert!(both.is_empty(), "plain Sigma hits what is certainly false: {both:?}");
                    counts[0] += 1;
                    counts[1] += certain_hits.len();
                    counts[2] += plain_hits.iter().filter(|rule| !certain_hits.contains(rule)).count();
                }
            }
            counts
        },
        |counts| (0..3).for_each(|at| seen[at] += counts[at]),
        &mut (),
    );
    let [events, certain_hits, undecided] = seen;
    assert!(
        events > 1_000 && certain_hits > 100 && undecided > 100,
        "{events} events, {certain_hits} certain hits, {undecided} undecided"
    );
}
