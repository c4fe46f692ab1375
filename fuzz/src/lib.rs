//! What each fuzz target does with its input: the parsers that read what an attacker may
//! write (logs from a compromised host, rules from a pull request), each through to the engine
//! that runs what it parsed. A target must never panic, hang or take unbounded memory; every
//! bad input is an error or a counted problem.
//!
//! The targets are in `fuzz_targets/` (`cargo +nightly fuzz run <target>`); `replay` runs the
//! same functions on stable over a corpus and mutations of it.

use harrier_event::{Event, Field, Provenance, SourceFile, Value};
use harrier_read::{Input, ReadOptions};
use std::sync::Arc;

/// The targets by name, for the stable harness.
pub const TARGETS: [(&str, fn(&[u8])); 6] = [
    ("evtx", evtx),
    ("json_event", json_event),
    ("log_stream", log_stream),
    ("sigma_rule", sigma_rule),
    ("sigma_condition", sigma_condition),
    ("spl", spl),
];

/// Reads bytes as one input file, every event through the engine of a small rule set.
fn read(name: &str, data: &[u8]) {
    let options = ReadOptions { max_record_bytes: 1 << 20, window: 2, ..ReadOptions::default() };
    let inputs = [Input::bytes(name, data.to_vec())];
    harrier_read::read(&inputs, &options, |batch| batch.events.len(), |_| {}, &mut ());
}

/// An EVTX file: the file header, chunks, records, binary XML, and normalizing its events.
pub fn evtx(data: &[u8]) {
    let mut file = b"ElfFile\0".to_vec();
    file.extend_from_slice(data);
    read("fuzz.evtx", &file);
}

/// One JSON document as an event: every layout (evtx_dump, Winlogbeat 6 and 7+/ECS, NXLog,
/// Azure Log Analytics with its EventData string) is told and mapped.
pub fn json_event(data: &[u8]) {
    let provenance = Provenance { source: Arc::new(SourceFile { path: "fuzz.json".into() }), record_id: 1, timestamp: None };
    let _ = harrier_normalize::normalize_json(data, provenance);
}

/// A log stream told by its content: JSON Lines, concatenated or array documents, rendered XML
/// events, gzip of these.
pub fn log_stream(data: &[u8]) {
    read("fuzz.log", data);
}

/// A Sigma rule file (any number of documents), loaded, compiled and run on an event.
pub fn sigma_rule(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    run_sigma(text);
}

/// A Sigma condition over three search identifiers.
pub fn sigma_condition(data: &[u8]) {
    let Ok(condition) = std::str::from_utf8(data) else { return };
    let quoted = serde_json::to_string(condition).expect("a string serializes");
    let rule = format!(
        "title: fuzz\nlogsource:\n  product: windows\n  category: process_creation\ndetection:\n  sel1:\n    Image|endswith: \
         '\\\\cmd.exe'\n  sel2:\n    CommandLine|contains: whoami\n  filter_main:\n    User: SYSTEM\n  condition: {quoted}\n"
    );
    run_sigma(&rule);
}

fn run_sigma(text: &str) {
    let entries = harrier_sigma::load_text(text, "fuzz.yml", &harrier_sigma::LoadOptions::default());
    let conditions: Vec<&harrier_ir::Expr> = entries.iter().filter_map(|entry| entry.rule()).map(|rule| &rule.condition).collect();
    let (engine, _) = harrier_engine::Engine::new(conditions);
    let mut hits = Vec::new();
    engine.matches(&sample_event(), &mut hits);
}

/// An SPL search (macros expanded from a small library), parsed, compiled and run over an
/// event as Splunk sees it.
pub fn spl(data: &[u8]) {
    let Ok(search) = std::str::from_utf8(data) else { return };
    let mut macros = harrier_spl::macros::Macros::builtin();
    macros.define("sysmon", &[], "source=XmlWinEventLog:Microsoft-Windows-Sysmon/Operational");
    macros.define("twice", &["x"], "`sysmon` $x$ OR $x$");
    let Ok(expanded) = macros.expand(search) else { return };
    let Ok(query) = harrier_spl::parse_query(&expanded) else { return };
    let Ok(runner) = harrier_pipeline::Runner::new(&query, &std::collections::HashMap::new()) else { return };
    let view = harrier_cim::FieldLayer::builtin().view(&sample_event());
    let mut state = runner.start();
    let row = harrier_pipeline::Row::from_event(&view);
    for (feed, condition) in runner.conditions().into_iter().enumerate() {
        if condition.is_some() {
            runner.accept(&mut state, feed, row.clone());
        }
    }
    runner.finish(state);
}

/// A Sysmon process creation, for rules to run on.
fn sample_event() -> Event {
    let provenance = Provenance { source: Arc::new(SourceFile { path: "sample".into() }), record_id: 1, timestamp: None };
    let fields = [
        ("EventID", Value::Int(1)),
        ("Channel", Value::Str("Microsoft-Windows-Sysmon/Operational".into())),
        ("Computer", Value::Str("WKS-1".into())),
        ("Image", Value::Str(r"C:\Windows\System32\cmd.exe".into())),
        ("CommandLine", Value::Str("cmd.exe /c whoami /all".into())),
        ("ParentImage", Value::Str(r"C:\Windows\explorer.exe".into())),
        ("User", Value::Str(r"CORP\alice".into())),
    ];
    Event::new(provenance, fields.into_iter().map(|(name, value)| Field::new(name, value)).collect())
}
