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
mod key;
mod layout;
mod xml;

pub use layout::Layout;
pub use xml::event_xml_to_json;

mod elements;
pub use elements::ElementFields;

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
    let entries: layout::Entries = map.into_iter().map(|(key, value)| (key.into(), value)).collect();
    Ok(Layout::detect_entries(&entries).normalize(entries, provenance))
}

/// Normalizes one exported event from its JSON text. `evtx_dump`-shaped documents (every
/// EVTX record) are read straight into fields; other layouts go through a JSON tree first,
/// since telling them apart needs all their keys.
pub fn normalize_json(json: &[u8], provenance: Provenance) -> Result<Event, NotAnEvent> {
    if starts_with_event_key(json) {
        let mut builder = builder::FieldBuilder::with_capacity(builder::TYPICAL_FIELDS);
        let mut deserializer = sonic_rs::Deserializer::from_slice(json);
        serde::de::DeserializeSeed::deserialize(evtx_json::Document(&mut builder), &mut deserializer)
            .and_then(|()| deserializer.end())
            .map_err(not_valid_json)?;
        return Ok(builder.finish(provenance));
    }
    if !json.trim_ascii_start().starts_with(b"{") {
        // Not an object: the tree path says what it is instead.
        let document: Json = serde_json::from_slice(json).map_err(not_valid_json)?;
        return normalize(document, provenance);
    }
    let mut deserializer = sonic_rs::Deserializer::from_slice(json);
    let entries = serde::Deserializer::deserialize_map(&mut deserializer, TopLevel)
        .and_then(|entries| deserializer.end().map(|()| entries))
        .map_err(not_valid_json)?;
    Ok(Layout::detect_entries(&entries).normalize(entries, provenance))
}

/// A document's top level as [`layout::Entries`], keys borrowed from the text when they hold
/// no escapes.
struct TopLevel;

impl<'de> serde::de::Visitor<'de> for TopLevel {
    type Value = layout::Entries<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut entries: layout::Entries = Vec::with_capacity(map.size_hint().unwrap_or(builder::TYPICAL_FIELDS));
        let mut seen = KeySketch::default();
        while let Some(key) = crate::key::next_key(&mut map)? {
            let value: Json = map.next_value()?;
            // A repeated key keeps its first place and its last value, as in a JSON map.
            // Keys are nearly always distinct: the sketch rules most of them out unscanned.
            let earlier = if seen.may_hold(&key) {
                entries.iter_mut().find(|(name, _)| layout::same_text(name, &key))
            } else {
                None
            };
            match earlier {
                Some(earlier) => earlier.1 = value,
                None => {
                    seen.add(&key);
                    entries.push((key, value));
                }
            }
        }
        Ok(entries)
    }
}

/// A 64-bit Bloom filter of the keys read so far, from each key's length and end bytes: a key
/// whose bit is clear was not seen, so only the rare key whose bit is set is looked for.
#[derive(Default)]
struct KeySketch(u64);

impl KeySketch {
    fn bit(key: &str) -> u64 {
        let bytes = key.as_bytes();
        let ends = bytes.first().map_or(0, |&b| b as usize) ^ bytes.last().map_or(0, |&b| (b as usize) << 2);
        1 << ((bytes.len().wrapping_mul(7) ^ ends) % 64)
    }

    fn may_hold(&self, key: &str) -> bool {
        self.0 & KeySketch::bit(key) != 0
    }

    fn add(&mut self, key: &str) {
        self.0 |= KeySketch::bit(key);
    }
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

/// The parser's message on one line: sonic-rs follows it with the text around the error, which
/// would break the one-line diagnostics and is of no use without the line it came from.
fn not_valid_json(error: impl std::fmt::Display) -> NotAnEvent {
    let message = error.to_string();
    let first_line = message.lines().next().unwrap_or_default().trim_end();
    NotAnEvent(format!("not valid JSON: {first_line}"))
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
        let names: Vec<&str> = streamed.fields().iter().map(|field| field.name()).collect();
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
        for (text, kind) in [("\"x\"", "a string"), ("7", "a number"), ("null", "null"), ("true", "a boolean")] {
            assert_eq!(
                normalize_json(text.as_bytes(), provenance()).unwrap_err().0,
                format!("expected a JSON object, found {kind}")
            );
        }
        assert!(normalize_json(b"{\"EventID\": 1} x", provenance()).unwrap_err().0.starts_with("not valid JSON"));
        for invalid_utf8 in
            [&b"{\"x\": \"\xff\"}"[..], b"{\"\xff\": 1}", b"{\"Event\": {\"EventData\": {\"x\": \"\xc3\"}}}"]
        {
            let message = normalize_json(invalid_utf8, provenance()).unwrap_err().0;
            assert!(message.starts_with("not valid JSON"), "{message}");
        }
        let deep = format!("{{\"x\": {}1{}}}", "[".repeat(100_000), "]".repeat(100_000));
        let message = normalize_json(deep.as_bytes(), provenance()).unwrap_err().0;
        assert!(message.starts_with("not valid JSON") && !message.contains('\n'), "one line: {message}");
    }

    #[test]
    fn the_flat_path_reads_as_the_tree_path_repeated_keys_included() {
        let flat = r#"{"EventID": 1, "Image": "a.exe", "Channel": "Microsoft-Windows-Sysmon/Operational", "Image": "b.exe", "winlog": 3, "N\u0061me": "x"}"#;
        let streamed = normalize_json(flat.as_bytes(), provenance()).unwrap();
        let tree = normalize(serde_json::from_str(flat).unwrap(), provenance()).unwrap();
        assert_eq!(streamed, tree);
        let names: Vec<&str> = streamed.fields().iter().map(|field| field.name()).collect();
        assert_eq!(names, ["EventID", "Image", "Channel", "winlog", "Name"], "first place, last value");
        assert_eq!(streamed.text("Image").as_deref(), Some("b.exe"));
    }
}
