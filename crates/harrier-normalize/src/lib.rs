//! Normalization: one Windows event, however it was exported, becomes one [`Event`] with the
//! field names Sigma rules use.
//!
//! This crate owns the knowledge of export layouts ([`Layout`]) and the mapping of each
//! layout's keys to the canonical names: `System` elements by name (`EventID`, `Channel`,
//! `Computer`), XML attributes as `Element_Attribute` (`Provider_Name`), EventData `<Data>`
//! by their `Name` with spaces removed, the inner element of `UserData` flattened. Keys a
//! layout adds of its own (ECS `host.name`, NXLog `Message`) are kept under their dotted path.
//! It reads no files: `harrier-read` hands it parsed JSON documents.

mod builder;
mod evtx_json;
mod layout;
mod xml;

pub use layout::Layout;
pub use xml::event_xml_to_json;

use harrier_event::{Event, Provenance};
use serde_json::Value as Json;

/// Why a JSON document is not an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotAnEvent(pub String);

impl std::fmt::Display for NotAnEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NotAnEvent {}

/// Normalizes one exported event, detecting its layout from its keys.
///
/// `provenance` carries the source and record id the reader knows; its timestamp is filled
/// from the event's own time when it has one.
pub fn normalize(document: Json, provenance: Provenance) -> Result<Event, NotAnEvent> {
    let Json::Object(map) = document else {
        return Err(NotAnEvent(format!("expected a JSON object, found {}", json_kind(&document))));
    };
    let layout = Layout::detect(&map);
    Ok(layout.normalize(map, provenance))
}

/// Normalizes one exported event from its JSON text. `evtx_dump`-shaped documents (every
/// EVTX record) are read straight into fields; other layouts go through a JSON tree first,
/// since telling them apart needs all their keys.
pub fn normalize_json(json: &[u8], provenance: Provenance) -> Result<Event, NotAnEvent> {
    if starts_with_event_key(json) {
        let mut builder = builder::FieldBuilder::default();
        let mut deserializer = serde_json::Deserializer::from_slice(json);
        serde::de::DeserializeSeed::deserialize(evtx_json::Document(&mut builder), &mut deserializer)
            .and_then(|()| deserializer.end())
            .map_err(|error| NotAnEvent(format!("not valid JSON: {error}")))?;
        return Ok(builder.finish(provenance));
    }
    let document: Json =
        serde_json::from_slice(json).map_err(|error| NotAnEvent(format!("not valid JSON: {error}")))?;
    normalize(document, provenance)
}

/// `{"Event":` at the start, white space aside: the `evtx_dump` shape.
fn starts_with_event_key(json: &[u8]) -> bool {
    let mut rest = json.trim_ascii_start();
    let Some(after_brace) = rest.strip_prefix(b"{") else {
        return false;
    };
    rest = after_brace.trim_ascii_start();
    rest.starts_with(b"\"Event\"")
}

fn json_kind(value: &Json) -> &'static str {
    match value {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use harrier_event::SourceFile;
    use std::sync::Arc;

    fn provenance() -> Provenance {
        Provenance { source: Arc::new(SourceFile { path: "t.json".into() }), record_id: 1, timestamp: None }
    }

    /// An evtx_dump document with every shape: attributes, `#text`, nulls, lists, UserData,
    /// a field name with a space, namespace declarations, a key beside `Event`.
    const SHAPES: &str = r##"{"Event": {"#attributes": {"xmlns": "http://schemas.microsoft.com/win/2004/08/events/event"},
        "System": {"Provider": {"#attributes": {"Name": "Microsoft-Windows-WMI-Activity", "Guid": "1418EF04-B0B4-4623-BF7E-D74AB47BBDAA"}},
                   "EventID": {"#attributes": {"Qualifiers": 16384}, "#text": 5858}, "Correlation": null,
                   "TimeCreated": {"#attributes": {"SystemTime": "2025-01-02T03:04:05.1234567Z"}}, "Channel": "Microsoft-Windows-WMI-Activity/Operational"},
        "EventData": {"Source Name": "Defender", "Data": {"#text": ["a", "b"]}, "Binary": null, "Big": 18446744073709551615},
        "UserData": {"Operation_ClientFailure": {"#attributes": {"xmlns": "Event_NS"}, "Id": "{00000000-0000-0000-0000-000000000000}", "Operation": "Start IWbemServices::ExecQuery", "Nested": {"Deep": 1}}}},
      "extra": {"key": true}}"##;

    #[test]
    fn the_streaming_path_gives_exactly_what_the_tree_path_gives() {
        let streamed = normalize_json(SHAPES.as_bytes(), provenance()).unwrap();
        let tree = normalize(serde_json::from_str(SHAPES).unwrap(), provenance()).unwrap();
        assert_eq!(streamed, tree);
        let names: Vec<&str> = streamed.fields().iter().map(|field| &*field.name).collect();
        assert_eq!(
            names,
            [
                "Provider_Name",
                "Provider_Guid",
                "EventID_Qualifiers",
                "EventID",
                "Correlation",
                "TimeCreated_SystemTime",
                "Channel",
                "SourceName",
                "Data",
                "Binary",
                "Big",
                "Id",
                "Operation",
                "Deep",
                "extra.key"
            ]
        );
        assert_eq!(streamed.get("Event.UserData.Operation_ClientFailure.Operation"), streamed.get("Operation"));
        assert_eq!(streamed.get("Event.EventData.SourceName"), Some(&harrier_event::Value::Str("Defender".into())));
        assert_eq!(streamed.get("Event.System.EventID.Qualifiers"), Some(&harrier_event::Value::Int(16384)));
        assert_eq!(streamed.text("Provider_Guid").as_deref(), Some("{1418ef04-b0b4-4623-bf7e-d74ab47bbdaa}"));
        assert_eq!(streamed.timestamp().map(|time| time.to_string()).as_deref(), Some("2025-01-02T03:04:05.123456Z"));
    }

    #[test]
    fn invalid_json_and_non_objects_are_not_events() {
        assert!(
            normalize_json(b"{\"Event\": {\"System\": ", provenance()).unwrap_err().0.starts_with("not valid JSON")
        );
        assert!(normalize_json(b"[1]", provenance()).unwrap_err().0.contains("expected a JSON object"));
    }
}
