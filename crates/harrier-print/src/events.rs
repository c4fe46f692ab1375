//! Normalized events as `harrier events` writes them: a JSON line or a table row each.

use harrier_event::Event;
use serde::Serialize;

/// One event as a JSON line.
#[derive(Serialize)]
struct EventLine<'a> {
    timestamp: Option<harrier_event::Timestamp>,
    source_file: &'a str,
    record_id: u64,
    event: harrier_event::FieldsMap<'a>,
}

/// Appends the event as a JSON line: its time, file, record and fields.
pub fn write_json_line(text: &mut Vec<u8>, event: &Event) {
    let line = EventLine {
        timestamp: event.timestamp(),
        source_file: &event.source().path,
        record_id: event.record_id(),
        event: event.fields_map(),
    };
    // Serializing plain strings, numbers and maps into memory cannot fail.
    serde_json::to_writer(&mut *text, &line).expect("an event serializes to JSON");
    text.push(b'\n');
}

/// The header of the event table.
pub fn table_header() -> String {
    format!("{:<27} {:>6} {:<40} {:<20} DETAILS", "TIMESTAMP", "ID", "CHANNEL", "COMPUTER")
}

/// System fields in columns, then the event's own fields as `Name=Value`, on one line.
pub fn table_row(event: &Event) -> String {
    let timestamp = event.timestamp().map(|time| time.to_string()).unwrap_or_default();
    let event_id = event.event_id().map(|id| id.to_string()).unwrap_or_default();
    let details: Vec<String> = event
        .fields()
        .iter()
        .filter(|field| field.path().is_some_and(|path| !path.starts_with("Event.System.")))
        .map(|field| format!("{}={}", field.name(), field.value))
        .collect();
    let details = details.join(" ").replace(['\r', '\n', '\t'], " ");
    format!(
        "{:<27} {:>6} {:<40} {:<20} {}",
        timestamp,
        event_id,
        event.channel().unwrap_or("-"),
        event.computer().unwrap_or("-"),
        details
    )
}
