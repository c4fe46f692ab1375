//! Sigma semantics, end to end: a rule's YAML, an event's fields, match or not.

use harrier_engine::Engine;
use harrier_event::{Event, Field, FieldName, Provenance, SourceFile, Value};
use harrier_sigma::{LoadOptions, Outcome};
use std::sync::Arc;

fn event(fields: &[(&str, Value)]) -> Event {
    let provenance = Provenance { source: Arc::new(SourceFile { path: "test".into() }), record_id: 1, timestamp: None };
    Event::new(provenance, fields.iter().map(|(name, value)| Field::new(name, value.clone())).collect())
}

fn text(value: &str) -> Value {
    Value::Str(value.into())
}

/// The condition of a rule from its `detection` block (no logsource, so no routing).
fn condition(detection: &str) -> Result<harrier_ir::Expr, String> {
    let yaml =
        format!("title: t\ndetection:\n{}", detection.lines().map(|line| format!("    {line}\n")).collect::<String>());
    match &harrier_sigma::load_text(&yaml, "test.yml", &LoadOptions::default())[0].outcome {
        Outcome::Active(rule) => Ok(rule.condition.clone()),
        other => Err(format!("{other:?}")),
    }
}

/// Compiles a rule from its `detection` block.
fn engine(detection: &str) -> Result<Engine, String> {
    let (engine, errors) = Engine::new([condition(detection)?]);
    match errors.first() {
        Some((_, error)) => Err(error.to_string()),
        None => Ok(engine),
    }
}

fn matches(detection: &str, fields: &[(&str, Value)]) -> bool {
    let mut hits = Vec::new();
    engine(detection).expect("rule compiles").matches(&event(fields), &mut hits);
    !hits.is_empty()
}

#[test]
fn strings_ignore_case_unless_cased() {
    let rule = "sel:\n    Image|endswith: '\\CMD.exe'\ncondition: sel";
    assert!(matches(rule, &[("image", text("C:\\Windows\\System32\\cmd.EXE"))]));
    let cased = "sel:\n    Image|endswith|cased: '\\CMD.exe'\ncondition: sel";
    assert!(!matches(cased, &[("Image", text("C:\\cmd.exe"))]));
    assert!(matches(cased, &[("Image", text("C:\\CMD.exe"))]));
}

#[test]
fn field_names_ignore_case_in_any_script() {
    // A capital sigma lower-cases to a final sigma at the end of a word, so a rule's name and an
    // event's must be lower-cased as whole words, not letter by letter.
    let rule = "sel:\n    ΟΔΟΣ: 'a'\ncondition: sel";
    for name in ["ΟΔΟΣ", "οδος", "Οδος"] {
        assert!(matches(rule, &[(name, text("a"))]), "{name}");
    }
    assert!(!matches(rule, &[("ΟΔΟ", text("a"))]));
}

#[test]
fn numbers_and_strings_compare_by_text() {
    for value in [Value::Int(4624), text("4624")] {
        assert!(matches("sel:\n    EventID: 4624\ncondition: sel", &[("EventID", value.clone())]));
        assert!(matches("sel:\n    EventID: '4624'\ncondition: sel", &[("EventID", value)]));
    }
    assert!(matches("sel:\n    Initiated: 'true'\ncondition: sel", &[("Initiated", Value::Bool(true))]));
}

#[test]
fn not_over_an_absent_field_is_true_and_null_means_absent_or_null() {
    let not_admin = "sel:\n    User: admin\ncondition: not sel";
    assert!(matches(not_admin, &[("Image", text("x"))]));
    let null = "sel:\n    User: null\ncondition: sel";
    assert!(matches(null, &[]));
    assert!(matches(null, &[("User", Value::Null)]));
    assert!(!matches(null, &[("User", text(""))]));
    let empty = "sel:\n    User: ''\ncondition: sel";
    assert!(matches(empty, &[("User", text(""))]));
    assert!(!matches(empty, &[]));
    let exists = "sel:\n    User|exists: true\ncondition: sel";
    assert!(matches(exists, &[("User", text(""))]));
    assert!(!matches(exists, &[]));
    assert!(matches("sel:\n    User|exists: false\ncondition: sel", &[]));
    let neq = "sel:\n    User|neq: [a, b]\ncondition: sel";
    assert!(matches(neq, &[]));
    assert!(matches(neq, &[("User", text("c"))]));
    assert!(!matches(neq, &[("User", text("B"))]));
}

#[test]
fn escaped_and_single_character_wildcards() {
    let literal_star = "sel:\n    Path: 'C:\\Windows\\*'\ncondition: sel";
    assert!(!matches(literal_star, &[("Path", text("C:\\Windows\\x"))]));
    assert!(matches(literal_star, &[("Path", text("C:\\Windows*"))]));
    let wildcard = "sel:\n    Path: 'C:\\Windows\\\\*'\ncondition: sel";
    assert!(matches(wildcard, &[("Path", text("C:\\Windows\\x"))]));
    let question = "sel:\n    Url: 'index.php?id='\ncondition: sel";
    assert!(matches(question, &[("Url", text("index.phpXid="))]));
    assert!(!matches(question, &[("Url", text("index.phpid="))]));
    let escaped_question = "sel:\n    Url: 'what\\?'\ncondition: sel";
    assert!(matches(escaped_question, &[("Url", text("what?"))]));
    assert!(!matches(escaped_question, &[("Url", text("whatX"))]));
}

#[test]
fn windash_and_base64_forms() {
    let windash = "sel:\n    CommandLine|windash|contains: ' -enc '\ncondition: sel";
    for dash in ["-", "/", "\u{2013}", "\u{2014}", "\u{2015}"] {
        assert!(matches(windash, &[("CommandLine", text(&format!("powershell {dash}enc AAA")))]), "{dash}");
    }
    assert!(!matches(windash, &[("CommandLine", text("powershell enc AAA"))]));
    // "http" at each byte offset of a base64 text.
    let offset = "sel:\n    CommandLine|base64offset|contains: 'http'\ncondition: sel";
    for encoded in ["aHR0cDovL2V2aWw=", "IGh0dHA6Ly9ldmls", "ICBodHRwOi8vZXZpbA=="] {
        assert!(matches(offset, &[("CommandLine", text(&format!("powershell -e {encoded}")))]), "{encoded}");
    }
    // UTF-16 with the byte order mark the spec gives: FF FE.
    let utf16 = "sel:\n    Data|utf16|base64: 'ping'\ncondition: sel";
    assert!(matches(utf16, &[("Data", text("//5wAGkAbgBnAA=="))]));
    let wide = "sel:\n    Data|wide|base64offset|contains: 'ping'\ncondition: sel";
    assert!(matches(wide, &[("Data", text("xxcABpAG4AZwAyy"))]));
}

#[test]
fn cidr_for_ipv4_and_ipv6() {
    let rule = "sel:\n    DestinationIp|cidr:\n        - '10.0.0.0/8'\n        - 'fe80::/10'\ncondition: sel";
    assert!(matches(rule, &[("DestinationIp", text("10.20.4.57"))]));
    assert!(matches(rule, &[("DestinationIp", text("fe80::a405:857d:204:efa5"))]));
    assert!(!matches(rule, &[("DestinationIp", text("198.51.100.23"))]));
    assert!(!matches(rule, &[("DestinationIp", text("not an address"))]));
}

#[test]
fn fieldref_with_present_and_absent_fields() {
    let rule = "sel:\n    ParentUser|fieldref: User\ncondition: sel";
    assert!(matches(rule, &[("User", text("CORP\\j.doe")), ("ParentUser", text("corp\\J.DOE"))]));
    assert!(!matches(rule, &[("ParentUser", text("x"))]));
    assert!(matches("sel:\n    ParentUser|fieldref: User\ncondition: not sel", &[("ParentUser", text("x"))]));
    let ends = "sel:\n    TargetFilename|fieldref|endswith: Name\ncondition: sel";
    assert!(matches(ends, &[("TargetFilename", text("C:\\x\\evil.dll")), ("Name", text("EVIL.dll"))]));
}

#[test]
fn regular_expressions() {
    let sensitive = "sel:\n    Image|re: '\\\\evil[0-9]+\\.exe$'\ncondition: sel";
    assert!(matches(sensitive, &[("Image", text("C:\\evil42.exe"))]));
    assert!(!matches(sensitive, &[("Image", text("C:\\EVIL42.exe"))]));
    let insensitive = "sel:\n    Image|re|i: '\\\\evil[0-9]+\\.exe$'\ncondition: sel";
    assert!(matches(insensitive, &[("Image", text("C:\\EVIL42.EXE"))]));
    // A Unicode word boundary beside non-ASCII text is decided all the same.
    let word = "sel:\n    CommandLine|re: '\\bkatz\\b'\ncondition: sel";
    assert!(matches(word, &[("CommandLine", text("Ünïcode katz"))]));
    assert!(!matches(word, &[("CommandLine", text("Ünïcode mimikatz"))]));
    assert!(!matches(word, &[("CommandLine", text("Ünïcode katzé"))]));
    let lookaround = engine("sel:\n    Image|re: 'a(?=b)'\ncondition: sel").err().expect("refused");
    assert!(lookaround.contains("cannot run in linear time"), "{lookaround}");
    // Regexes are built on first use; one that would outgrow the size limit is refused as
    // the rule loads all the same.
    let huge = engine("sel:\n    Image|re: '(\\w{100}){100}'\ncondition: sel").err().expect("refused");
    assert!(huge.contains("size limit"), "{huge}");
    let long = format!("sel:\n    Image|re: '{}'\ncondition: sel", "\\w".repeat(4000));
    assert!(engine(&long).err().expect("refused").contains("size limit"));
}

#[test]
fn wildcards_between_literals_take_each_literal_in_order() {
    let rule = |pattern: &str| format!("sel:\n    CommandLine: '{pattern}'\ncondition: sel");
    let cases = [
        ("a*b*c", "aXbYc", true),
        ("a*b*c", "abc", true),
        ("a*b*c", "acb", false),
        ("*b*c", "xxbxxc", true),
        ("*b*c", "xxbxxcx", false),
        ("a*b*", "a-b-", true),
        ("ab*ba", "aba", false),
        ("ab*ba", "abba", true),
        ("*x*x*", "x", false),
        ("*x*x*", "xx", true),
        ("*AB*", "xxabxx", true),
    ];
    for (pattern, value, expected) in cases {
        assert_eq!(matches(&rule(pattern), &[("CommandLine", text(value))]), expected, "{pattern} on {value}");
    }
}

#[test]
fn numeric_and_time_part_comparisons() {
    let rule = "sel:\n    Count|gte: 10\ncondition: sel";
    assert!(matches(rule, &[("Count", Value::Int(10))]));
    assert!(matches(rule, &[("Count", text("12"))]));
    assert!(!matches(rule, &[("Count", text("9"))]));
    assert!(!matches(rule, &[("Count", text("many"))]));
    let night = "sel:\n    UtcTime|hour|gte: 20\ncondition: sel";
    assert!(matches(night, &[("UtcTime", text("2026-03-14 21:05:00.000"))]));
    assert!(!matches(night, &[("UtcTime", text("2026-03-14 09:05:00.000"))]));
}

#[test]
fn keywords_search_every_value() {
    let rule = "keywords:\n    - 'sekurlsa::'\n    - 'kerberos::golden'\ncondition: keywords";
    assert!(matches(rule, &[("A", text("x")), ("ScriptBlockText", text("Invoke-Mimikatz sekurlsa::logonpasswords"))]));
    assert!(!matches(rule, &[("A", text("nothing"))]));
    let all =
        "keywords:\n    '|all':\n        - 'OabVirtualDirectory'\n        - ' -ExternalUrl '\ncondition: keywords";
    assert!(matches(all, &[("Payload", text("Set-OabVirtualDirectory -ExternalUrl 'http://x'"))]));
    assert!(!matches(all, &[("Payload", text("Set-OabVirtualDirectory"))]));
}

#[test]
fn list_values_match_when_any_item_does() {
    let rule = "sel:\n    Data: 'b'\ncondition: sel";
    assert!(matches(rule, &[("Data", Value::List(vec![text("a"), text("B")]))]));
    assert!(!matches(rule, &[("Data", Value::List(vec![text("a")]))]));
}

#[test]
fn conditions_with_quantifiers_and_parentheses() {
    let rule =
        "sel_a:\n    A: 1\nsel_b:\n    B: 1\nfilter_x:\n    X: 1\ncondition: (1 of sel_*) and not all of filter_*";
    assert!(matches(rule, &[("B", Value::Int(1))]));
    assert!(!matches(rule, &[("B", Value::Int(1)), ("X", Value::Int(1))]));
    assert!(!matches(rule, &[("X", Value::Int(1))]));
    let all = "sel_a:\n    A: 1\nsel_b:\n    B: 1\ncondition: all of them";
    assert!(matches(all, &[("A", Value::Int(1)), ("B", Value::Int(1))]));
    assert!(!matches(all, &[("A", Value::Int(1))]));
}

#[test]
fn trimming_values_is_an_option() {
    let rule = "sel:\n    ParentCommandLine|endswith: 'cmd.exe\"'\ncondition: sel";
    let fields = [("ParentCommandLine", text("\"C:\\Windows\\system32\\cmd.exe\" "))];
    assert!(!matches(rule, &fields), "spec-faithful: the trailing space counts");
    let mut trimmed = engine(rule).unwrap();
    trimmed.set_trim_values(true);
    let mut hits = Vec::new();
    trimmed.matches(&event(&fields), &mut hits);
    assert_eq!(hits, [0]);
}

const RULE_AND_FILTER: &str = r"title: Whoami
id: 0e3b5a3c-1111-4c1e-9d3a-2b0c4a5e6f70
logsource: {category: process_creation, product: windows}
detection:
    sel:
        Image|endswith: '\whoami.exe'
    condition: sel
---
title: Not our admins
logsource: {category: process_creation, product: windows}
filter:
    rules:
        - 0e3b5a3c-1111-4c1e-9d3a-2b0c4a5e6f70
    admins:
        User|startswith: 'adm_'
    condition: not admins
---
title: A filter for another logsource
logsource: {category: network_connection, product: windows}
filter:
    rules: any
    everything:
        Image|contains: ''
    condition: not everything
";

#[test]
fn a_filter_adds_its_condition_to_the_rules_it_names_before_routing() {
    // `User` is a field Security 4688 cannot carry; plain Sigma takes it as absent.
    let plain = LoadOptions { unknown_fields: false, ..LoadOptions::default() };
    let entries = harrier_sigma::load_text(RULE_AND_FILTER, "filters.yml", &plain);
    assert!(matches!(entries[1].outcome, Outcome::Filter { applied_to: 1 }), "{}", entries[1]);
    assert!(matches!(entries[2].outcome, Outcome::Filter { applied_to: 0 }), "{}", entries[2]);
    let Outcome::Active(rule) = &entries[0].outcome else { panic!("{}", entries[0]) };
    let (engine, _) = Engine::new([&rule.condition]);
    let hit = |fields: &[(&str, Value)]| {
        let mut hits = Vec::new();
        engine.matches(&event(fields), &mut hits);
        !hits.is_empty()
    };
    let sysmon = |user: &str| {
        vec![
            ("Channel", text("Microsoft-Windows-Sysmon/Operational")),
            ("EventID", Value::Int(1)),
            ("Image", text("C:\\Windows\\System32\\whoami.exe")),
            ("User", text(user)),
        ]
    };
    assert!(hit(&sysmon("CORP\\bob")));
    assert!(!hit(&sysmon("adm_alice")));
    // The Security 4688 source, with its own field names, is filtered too.
    let security = [
        ("Channel", text("Security")),
        ("EventID", Value::Int(4688)),
        ("NewProcessName", text("C:\\Windows\\System32\\whoami.exe")),
        ("User", text("adm_alice")),
    ];
    assert!(!hit(&security));
    assert!(hit(&security[..3]));
    // As unknown (the default), the filter cannot decide a 4688 event: no hit.
    let entries = harrier_sigma::load_text(RULE_AND_FILTER, "filters.yml", &LoadOptions::default());
    let Outcome::Active(rule) = &entries[0].outcome else { panic!("{}", entries[0]) };
    let (engine, _) = Engine::new([&rule.condition]);
    let mut hits = Vec::new();
    engine.matches(&event(&security[..3]), &mut hits);
    assert!(hits.is_empty(), "undecided");
    assert!(rule.plain.is_some());
}

#[test]
fn fields_answer_to_their_dotted_paths_too() {
    let provenance = Provenance { source: Arc::new(SourceFile { path: "test".into() }), record_id: 1, timestamp: None };
    let image = Field::named(FieldName::new("Image", Some("Event.EventData.Image")), text("C:\\x\\evil.exe"));
    let event = Event::new(provenance, vec![image]);
    for rule in [
        "sel:\n    event.eventdata.image|endswith: 'evil.exe'\ncondition: sel",
        "sel:\n    IMAGE|endswith: 'evil.exe'\ncondition: sel",
    ] {
        let mut hits = Vec::new();
        engine(rule).unwrap().matches(&event, &mut hits);
        assert_eq!(hits, [0], "{rule}");
    }
}

/// Engines remember the slots of field names per thread, each engine apart: two engines whose
/// rules name different fields, run in turn on one thread, each find their own.
#[test]
fn engines_in_turn_on_one_thread_each_find_their_own_fields() {
    let image = engine("sel:\n    Image: 'a.exe'\ncondition: sel").unwrap();
    let command_line = engine("sel:\n    CommandLine: 'b'\ncondition: sel").unwrap();
    let event = event(&[("Image", text("a.exe")), ("CommandLine", text("b"))]);
    for _ in 0..3 {
        for engine in [&image, &command_line] {
            let mut hits = Vec::new();
            engine.matches(&event, &mut hits);
            assert_eq!(hits, [0]);
        }
    }
}

/// Engines remember per thread which rules and scanners each channel and event id needs, each
/// engine apart and in a bounded table: two engines routing rules to hundreds of event ids
/// (more than the table holds), run in turn on one thread, each find their own hits.
#[test]
fn engines_in_turn_on_one_thread_each_route_their_own_event_ids() {
    let routed = |event_ids: &mut dyn Iterator<Item = i64>| {
        let conditions: Vec<_> = event_ids
            .map(|id| {
                condition(&format!("sel:\n    EventID: {id}\n    Image|endswith: '\\x{id}.exe'\ncondition: sel"))
                    .unwrap()
            })
            .collect();
        let (engine, errors) = Engine::new(&conditions);
        assert!(errors.is_empty(), "{errors:?}");
        engine
    };
    let every_id = routed(&mut (1..=700));
    let even_ids = routed(&mut (1..=350).map(|half| half * 2));
    for round in 0..2 {
        for id in 1..=700 {
            let image = if round == 0 { format!("C:\\x{id}.exe") } else { format!("C:\\x{}.exe", id + 1) };
            let event = event(&[("EventID", Value::Int(id)), ("Image", text(&image))]);
            let (mut every, mut even) = (Vec::new(), Vec::new());
            every_id.matches(&event, &mut every);
            even_ids.matches(&event, &mut even);
            let hit = round == 0;
            assert_eq!(every, if hit { vec![id as usize - 1] } else { vec![] }, "event id {id}");
            assert_eq!(even, if hit && id % 2 == 0 { vec![id as usize / 2 - 1] } else { vec![] }, "event id {id}");
        }
    }
}

/// Names and channels too long to be remembered per thread (crafted logs) are looked up
/// again at each event, with the same result.
#[test]
fn a_field_name_too_long_to_remember_is_found_at_every_event() {
    let name = "F".repeat(300);
    let engine = engine(&format!("sel:\n    {name}: 'a'\ncondition: sel")).unwrap();
    let channel = "C".repeat(300);
    for value in ["a", "b", "a"] {
        let mut hits = Vec::new();
        engine.matches(&event(&[("Channel", text(&channel)), (name.as_str(), text(value))]), &mut hits);
        assert_eq!(hits.is_empty(), value != "a", "{value}");
    }
}
