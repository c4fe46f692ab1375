//! Timeline outputs of a hunt: CSV for Eric Zimmerman's Timeline Explorer, and JSON lines
//! that Timesketch imports (`message`, `datetime`, `timestamp_desc`).

use harrier_event::{Event, Value, names};
use harrier_ir::Rule;
use serde::Serialize;

pub const TIMELINE_COLUMNS: [&str; 13] = [
    "Timestamp",
    "Computer",
    "Channel",
    "EventID",
    "Level",
    "RuleTitle",
    "RuleID",
    "Techniques",
    "Tactics",
    "FalsePositives",
    "Details",
    "SourceFile",
    "RecordID",
];

/// The fields of `<System>` (and export metadata) that every event has; details leave them out.
fn is_system(name: &str) -> bool {
    [
        names::EVENT_ID,
        names::CHANNEL,
        names::COMPUTER,
        names::PROVIDER_NAME,
        "Provider_Guid",
        "Version",
        "Level",
        "Task",
        "Opcode",
        "Keywords",
        "TimeCreated_SystemTime",
        "EventRecordID",
        "Correlation",
        "Correlation_ActivityID",
        "Execution_ProcessID",
        "Execution_ThreadID",
        "Security_UserID",
    ]
    .iter()
    .any(|system| system.eq_ignore_ascii_case(name))
        || name.starts_with('@')
}

/// `Image: C:\x.exe ¦ CommandLine: ...`: the event's own fields, as a responder reads them.
pub fn details(event: &Event) -> String {
    let mut parts = Vec::new();
    for field in event.fields().iter().filter(|field| !is_system(&field.name)) {
        let text = match &field.value {
            Value::Null => continue,
            Value::List(items) => {
                items.iter().filter_map(|item| item.as_text().map(|t| t.into_owned())).collect::<Vec<_>>().join(", ")
            }
            other => other.as_text().map(|text| text.into_owned()).unwrap_or_default(),
        };
        if !text.is_empty() && text != "-" {
            parts.push(format!("{}: {text}", field.name));
        }
    }
    parts.join(" ¦ ")
}

pub fn timeline_header() -> Vec<u8> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(TIMELINE_COLUMNS).expect("in memory");
    writer.into_inner().expect("in memory")
}

pub fn write_timeline_row(text: &mut Vec<u8>, rule: &Rule, event: &Event) {
    let meta = &rule.meta;
    let time = event.timestamp().map(|time| time.as_datetime().format("%Y-%m-%d %H:%M:%S%.6f").to_string());
    let row = [
        time.unwrap_or_default(),
        event.computer().unwrap_or_default().to_owned(),
        event.channel().unwrap_or_default().to_owned(),
        event.event_id().map(|id| id.to_string()).unwrap_or_default(),
        meta.level.name().to_owned(),
        meta.title.clone(),
        meta.id.clone().unwrap_or_default(),
        meta.techniques.join(";"),
        meta.tactics.join(";"),
        meta.false_positives.join("; "),
        details(event),
        event.source().path.clone(),
        event.record_id().to_string(),
    ];
    let mut writer = csv::Writer::from_writer(std::mem::take(text));
    writer.write_record(&row).expect("in memory");
    *text = writer.into_inner().expect("in memory");
}

/// One hit as Timesketch imports it.
#[derive(Serialize)]
struct SketchLine<'a> {
    message: String,
    datetime: String,
    timestamp: i64,
    timestamp_desc: &'static str,
    rule_title: &'a str,
    rule_id: Option<&'a str>,
    level: &'static str,
    techniques: String,
    tactics: String,
    false_positives: String,
    computer: Option<&'a str>,
    channel: Option<&'a str>,
    event_id: Option<i64>,
    source_file: &'a str,
    record_id: u64,
}

/// A Timesketch line; `false` when the event has no time (Timesketch needs one).
pub fn write_timesketch_line(text: &mut Vec<u8>, rule: &Rule, event: &Event) -> bool {
    let Some(time) = event.timestamp() else { return false };
    let meta = &rule.meta;
    let line = SketchLine {
        message: format!("{} [{}] {}", meta.title, meta.level.name(), details(event)),
        datetime: time.to_string(),
        timestamp: time.unix_micros(),
        timestamp_desc: "Event Time",
        rule_title: &meta.title,
        rule_id: meta.id.as_deref(),
        level: meta.level.name(),
        techniques: meta.techniques.join(", "),
        tactics: meta.tactics.join(", "),
        false_positives: meta.false_positives.join("; "),
        computer: event.computer(),
        channel: event.channel(),
        event_id: event.event_id(),
        source_file: &event.source().path,
        record_id: event.record_id(),
    };
    serde_json::to_writer(&mut *text, &line).expect("a line serializes");
    text.push(b'\n');
    true
}
