//! The literal prefilter changes nothing but speed: the same hits with and without it, over
//! every SigmaHQ Windows rule and the attack samples.

use harrier_engine::Engine;
use harrier_event::{Event, Field, Provenance, SourceFile, Value};
use harrier_read::{Input, ReadOptions};
use harrier_sigma::{LoadOptions, Outcome};
use std::sync::Arc;

/// The condition of one rule's YAML.
fn condition(yaml: &str) -> harrier_ir::Expr {
    match &harrier_sigma::load_text(yaml, "t.yml", &LoadOptions::default())[0].outcome {
        Outcome::Active(rule) => rule.condition.clone(),
        other => panic!("{other:?}"),
    }
}

/// Engines with and without the prefilter over the same conditions.
fn with_and_without_prefilter(conditions: &[harrier_ir::Expr]) -> (Engine, Engine) {
    let (filtered, errors) = Engine::new(conditions);
    assert!(errors.is_empty(), "{errors:?}");
    let (mut exhaustive, _) = Engine::new(conditions);
    exhaustive.set_prefilter(false);
    (filtered, exhaustive)
}

fn event(fields: &[(&str, Value)]) -> Event {
    let provenance = Provenance { source: Arc::new(SourceFile { path: "t".into() }), record_id: 1, timestamp: None };
    let fields = fields.iter().map(|(name, value)| Field::new(name, value.clone()));
    Event::new(provenance, fields.collect())
}

/// The hits of both engines, which must be the same.
fn same_hits(engines: &(Engine, Engine), event: &Event) -> Vec<usize> {
    let (mut with, mut without) = (Vec::new(), Vec::new());
    engines.0.matches(event, &mut with);
    engines.1.matches(event, &mut without);
    assert_eq!(with, without, "{:?}", event.fields());
    with
}

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
            condition(&format!(
                "title: k{n}\nlogsource:\n    product: windows{service}\ndetection:\n    keywords:\n        - '{keyword}'\n    condition: keywords"
            ))
        })
        .collect();
    let engines = with_and_without_prefilter(&conditions);
    let hits = |text: String| {
        same_hits(&engines, &event(&[("Channel", Value::Str("Security".into())), ("Message", Value::Str(text))]))
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
    let rules = [
        "keywords:\n        - 'İx'",
        "keywords:\n        - 4688",
        "sel:\n        Image|contains: 'İx'",
        "sel:\n        Image|contains: '-12'",
    ];
    let conditions: Vec<harrier_ir::Expr> = rules
        .iter()
        .map(|detection| {
            let selection = detection.split(':').next().unwrap();
            condition(&format!("title: t\ndetection:\n    {detection}\n    condition: {selection}"))
        })
        .collect();
    let engines = with_and_without_prefilter(&conditions);
    let hits = |value: Value| same_hits(&engines, &event(&[("Image", value)]));
    assert_eq!(hits(Value::Str("İX".into())), [0, 2]);
    assert_eq!(hits(Value::Int(4688)), [1]);
    assert!(hits(Value::Int(468)).is_empty());
    assert_eq!(hits(Value::Int(-123)), [3], "a literal of digits and `-` is looked for in integers");
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
        .map(|detection| condition(&format!("title: t\ndetection:\n    sel:\n        {detection}\n    condition: sel")))
        .collect();
    let engines = with_and_without_prefilter(&conditions);
    let hits = |command_line: &str| same_hits(&engines, &event(&[("CommandLine", Value::Str(command_line.into()))]));
    assert_eq!(hits("cmd.exe /c start POWERSHELL -nop"), [0]);
    assert!(hits("cmd.exe /c start powershell -nop").is_empty(), "the regex is cased");
    assert_eq!(hits("powershell Invoke-WebRequest http://x"), [1]);
    assert_eq!(hits("powershell INVOKE-EXPRESSION $x"), [1]);
    assert_eq!(hits("powershell IEX (New-Object Net.WebClient)"), [2]);
    assert!(hits("powershell iex (x); IEXPLORE").is_empty());
}

/// Keywords are looked for in every value of each event at once: a list's items and a value
/// past others are found, and what one event held is not found in the next.
#[test]
fn keywords_are_found_in_every_value_of_each_event() {
    let engines = with_and_without_prefilter(&[condition(
        "title: t\ndetection:\n    keywords:\n        - 'mimikatz'\n    condition: keywords",
    )]);
    let list = |items: &[&str]| Value::List(items.iter().map(|item| Value::Str((*item).into())).collect());
    let with_keyword = event(&[("Image", Value::Int(4)), ("CommandLine", list(&["x", "run MimiKatz"]))]);
    let without = event(&[("Image", Value::Str("a.exe".into())), ("CommandLine", list(&["mimi", "katz"]))]);
    for _ in 0..2 {
        assert!(same_hits(&engines, &without).is_empty());
        assert_eq!(same_hits(&engines, &with_keyword), [0]);
    }
}

/// ASCII values are lower-cased together and the others one by one: a keyword is found in
/// either, beside the other kind, and so is a field's value the rules read after the scan.
#[test]
fn keywords_are_found_in_ascii_values_beside_others() {
    let engines = with_and_without_prefilter(&[
        condition("title: k\ndetection:\n    keywords:\n        - 'sekurlsa::'\n    condition: keywords"),
        condition("title: u\ndetection:\n    keywords:\n        - 'größe mimikatz'\n    condition: keywords"),
        condition("title: f\ndetection:\n    sel:\n        Image|endswith: 'KATZ.EXE'\n    condition: sel"),
    ]);
    let hits = |message: &str, command_line: &str| {
        let fields = [
            ("Message", Value::Str(message.into())),
            ("CommandLine", Value::Str(command_line.into())),
            ("Image", Value::Str("C:\\Tools\\MimiKatz.exe".into())),
        ];
        same_hits(&engines, &event(&fields))
    };
    assert_eq!(hits("GRÖßE MIMIKATZ", "run SEKURLSA::logonpasswords"), [0, 1, 2]);
    assert_eq!(hits("GRÖSSE MIMIKATZ", "run SEKURLSA::logonpasswords"), [0, 2], "ß is not SS");
    assert_eq!(hits("GRÖßE", "ÄÖÜ SEKURLSA::"), [0, 2]);
    assert_eq!(hits("plain", "nothing"), [2]);
}

/// A rule waits for a witness of each of its selections, in whichever source of its events
/// (Sysmon's `Image`, Security's `NewProcessName`): it matches when all are there, and an
/// event holding one of them is not enough.
#[test]
fn rules_with_several_selections_match_when_each_is_witnessed() {
    let rule = condition(
        "title: t\nlogsource: {category: process_creation, product: windows}\n\
         detection:\n  image: {Image|endswith: '\\rundll32.exe'}\n  cli: {CommandLine|contains: ['advpack', 'zipfldr']}\n  \
         condition: image and cli\n",
    );
    let engines = with_and_without_prefilter(&[rule]);
    let sysmon = |image: &str, command_line: &str| {
        let channel = ("Channel", Value::Str("Microsoft-Windows-Sysmon/Operational".into()));
        let fields = [channel, ("EventID", Value::Int(1)), ("Image", Value::Str(image.into()))];
        let command_line = ("CommandLine", Value::Str(command_line.into()));
        same_hits(&engines, &event(&[fields.as_slice(), &[command_line]].concat()))
    };
    assert_eq!(sysmon("C:\\Windows\\System32\\RUNDLL32.EXE", "rundll32 ZIPFLDR.dll,RouteTheCall x"), [0]);
    assert!(sysmon("C:\\Windows\\System32\\rundll32.exe", "rundll32 shell32.dll,Control_RunDLL").is_empty());
    assert!(sysmon("C:\\Tools\\x.exe", "x advpack.dll").is_empty());
    let security = [
        ("Channel", Value::Str("Security".into())),
        ("EventID", Value::Int(4688)),
        ("NewProcessName", Value::Str("C:\\Windows\\System32\\rundll32.exe".into())),
        ("CommandLine", Value::Str("rundll32 advpack.dll,LaunchINFSection x".into())),
    ];
    assert_eq!(same_hits(&engines, &event(&security)), [0]);
}

/// What a field scanner found in a text is remembered for texts of a few kilobytes too (a
/// script block, a call stack): the same text again gives the same hits, and another text
/// of the same length does not take its place's findings.
#[test]
fn long_texts_scanned_again_give_the_same_hits() {
    let rule =
        condition("title: t\ndetection:\n  sel: {ScriptBlockText|contains: 'Invoke-Mimikatz'}\n  condition: sel\n");
    let engines = with_and_without_prefilter(&[rule]);
    let padding = "Write-Output 'x'; ".repeat(100);
    let with_word = format!("{padding}Invoke-Mimikatz -DumpCreds");
    let without = format!("{padding}Invoke-Mimikitty -DumpCreds");
    let hits = |text: &str| same_hits(&engines, &event(&[("ScriptBlockText", Value::Str(text.into()))]));
    for _ in 0..2 {
        assert_eq!(hits(&with_word), [0]);
        assert!(hits(&without).is_empty());
    }
    assert!(hits(&"x".repeat(20_000)).is_empty(), "a text longer than any remembered is searched");
    assert_eq!(hits(&format!("{}Invoke-Mimikatz", "x".repeat(20_000))), [0]);
}

/// With exact field names (SPL), a witness is looked for in the field its rule names, not in
/// another rule's field whose name differs only in case (ESCU writes both `Processes.` and
/// `processes.`).
#[test]
fn witnesses_of_exact_names_are_looked_for_in_their_own_field() {
    let rules = [
        condition("title: t\ndetection:\n  sel: {image: 'a.exe'}\n  condition: sel\n"),
        condition(
            "title: t\ndetection:\n  sel: {Image|endswith: '\\b.exe', CommandLine|contains: 'whoami'}\n  condition: sel\n",
        ),
    ];
    let engine = |prefilter| {
        let (mut engine, errors) = Engine::with_names(&rules, harrier_engine::FieldNames::Exact);
        assert!(errors.is_empty(), "{errors:?}");
        engine.set_prefilter(prefilter);
        engine
    };
    let engines = (engine(true), engine(false));
    let event = event(&[
        ("Image", Value::Str("C:\\Tools\\b.exe".into())),
        ("CommandLine", Value::Str("b.exe /c whoami".into())),
    ]);
    assert_eq!(same_hits(&engines, &event), [1]);
}
