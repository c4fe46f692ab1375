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

/// Keyword rules are scanned per route, at most 64 literals to a scanner, behind a SIMD search
/// for where the first of them starts: every keyword is still found wherever it is, after
/// another, overlapping another, at either end of a value, with more than 64 keywords on a
/// route.
#[test]
fn every_keyword_is_found_whatever_the_number_of_keyword_rules() {
    let keywords: Vec<String> =
        (0..150).map(|n| format!("kw{n:03}")).chain(["abcdef".into(), "cdefgh".into()]).collect();
    let conditions: Vec<harrier_ir::Expr> = keywords
        .iter()
        .enumerate()
        .map(|(n, keyword)| {
            let service = if n % 3 == 0 { "" } else { "\n    service: security" };
            let yaml = format!(
                "title: k{n}\nlogsource:\n    product: windows{service}\ndetection:\n    keywords:\n        - '{keyword}'\n    condition: keywords"
            );
            match &harrier_sigma::load_text(&yaml, "k.yml", &LoadOptions::default())[0].outcome {
                Outcome::Active(rule) => rule.condition.clone(),
                other => panic!("{other:?}"),
            }
        })
        .collect();
    let (filtered, errors) = Engine::new(&conditions);
    assert!(errors.is_empty());
    let (mut exhaustive, _) = Engine::new(&conditions);
    exhaustive.set_prefilter(false);
    let event = |text: String| {
        let field = |name: &str, value: &str| harrier_event::Field {
            name: name.into(),
            path: None,
            value: harrier_event::Value::Str(value.into()),
        };
        let source = std::sync::Arc::new(harrier_event::SourceFile { path: "k".into() });
        let provenance = harrier_event::Provenance { source, record_id: 1, timestamp: None };
        harrier_event::Event::new(provenance, vec![field("Channel", "Security"), field("Message", &text)])
    };
    let hits = |text: String| {
        let (mut with, mut without) = (Vec::new(), Vec::new());
        filtered.matches(&event(text.clone()), &mut with);
        exhaustive.matches(&event(text), &mut without);
        assert_eq!(with, without);
        with
    };
    for (n, keyword) in keywords.iter().enumerate().take(150) {
        assert_eq!(hits(format!("C:\\Windows\\{}", keyword.to_uppercase())), [n], "{keyword} at the end");
        assert_eq!(hits(format!("{keyword} first")), [n], "{keyword} at the start");
        assert_eq!(hits(keyword.clone()), [n], "{keyword} alone");
        assert_eq!(hits(format!("kw{:03} then {keyword}", (n + 1) % 150)).len(), 2, "{keyword} after another");
    }
    assert_eq!(hits("xxabcdefghxx".into()), [150, 151], "overlapping keywords");
    assert!(hits("kw15 kw1 w001 nothing here".into()).is_empty());
}

/// Values too short to hold a literal are not lower-cased nor scanned; the length is told
/// before lower-casing, which can lengthen a text (`İ`, two bytes, is `i̇`, three): a value
/// shorter than a literal it holds once lower-cased is still found, and so are integers.
#[test]
fn values_that_lower_casing_lengthens_and_integers_are_scanned() {
    let rules = ["keywords:\n        - 'İx'", "keywords:\n        - 4688", "sel:\n        Image|contains: 'İx'"];
    let conditions: Vec<harrier_ir::Expr> = rules
        .iter()
        .map(|detection| {
            let yaml = format!(
                "title: t\ndetection:\n    {detection}\n    condition: {}",
                detection.split(':').next().unwrap()
            );
            match &harrier_sigma::load_text(&yaml, "t.yml", &LoadOptions::default())[0].outcome {
                Outcome::Active(rule) => rule.condition.clone(),
                other => panic!("{other:?}"),
            }
        })
        .collect();
    let (engine, errors) = Engine::new(&conditions);
    assert!(errors.is_empty(), "{errors:?}");
    let event = |value: harrier_event::Value| {
        let field = harrier_event::Field { name: "Image".into(), path: None, value };
        let source = std::sync::Arc::new(harrier_event::SourceFile { path: "t".into() });
        let provenance = harrier_event::Provenance { source, record_id: 1, timestamp: None };
        harrier_event::Event::new(provenance, vec![field])
    };
    let hits = |value: harrier_event::Value| {
        let mut hits = Vec::new();
        engine.matches(&event(value), &mut hits);
        hits
    };
    assert_eq!(hits(harrier_event::Value::Str("İX".into())), [0, 2]);
    assert_eq!(hits(harrier_event::Value::Int(4688)), [1]);
    assert!(hits(harrier_event::Value::Int(468)).is_empty());
}

/// Regex rules are witnessed by the literals every match holds (lower-cased, as values are
/// scanned): cased or not, the hits are those of the rules evaluated on every event.
#[test]
fn regex_rules_are_witnessed_without_losing_a_match() {
    let rules = [
        "CommandLine|re: '.*cmd.{0,5}(?:/c|/r).+POWERSHELL'",
        "CommandLine|re|i: 'invoke-(?:expression|webrequest)'",
        "CommandLine|re: '\\bIEX\\b'",
    ];
    let conditions: Vec<harrier_ir::Expr> = rules
        .iter()
        .map(|detection| {
            let yaml = format!("title: t\ndetection:\n    sel:\n        {detection}\n    condition: sel");
            match &harrier_sigma::load_text(&yaml, "t.yml", &LoadOptions::default())[0].outcome {
                Outcome::Active(rule) => rule.condition.clone(),
                other => panic!("{other:?}"),
            }
        })
        .collect();
    let (filtered, errors) = Engine::new(&conditions);
    assert!(errors.is_empty(), "{errors:?}");
    let (mut exhaustive, _) = Engine::new(&conditions);
    exhaustive.set_prefilter(false);
    let hits = |command_line: &str| {
        let field = harrier_event::Field {
            name: "CommandLine".into(),
            path: None,
            value: harrier_event::Value::Str(command_line.into()),
        };
        let source = std::sync::Arc::new(harrier_event::SourceFile { path: "t".into() });
        let provenance = harrier_event::Provenance { source, record_id: 1, timestamp: None };
        let event = harrier_event::Event::new(provenance, vec![field]);
        let (mut with, mut without) = (Vec::new(), Vec::new());
        filtered.matches(&event, &mut with);
        exhaustive.matches(&event, &mut without);
        assert_eq!(with, without, "{command_line}");
        with
    };
    assert_eq!(hits("cmd.exe /c start POWERSHELL -nop"), [0]);
    assert!(hits("cmd.exe /c start powershell -nop").is_empty(), "the regex is cased");
    assert_eq!(hits("powershell Invoke-WebRequest http://x"), [1]);
    assert_eq!(hits("powershell INVOKE-EXPRESSION $x"), [1]);
    assert_eq!(hits("powershell IEX (New-Object Net.WebClient)"), [2]);
    assert!(hits("powershell iex (x); IEXPLORE").is_empty());
}
