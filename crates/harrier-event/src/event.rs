use crate::names;
use crate::{FieldName, Timestamp, Value};
use serde::ser::SerializeMap;
use std::num::NonZeroU64;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// One field: its short Sigma name, an optional dotted full path, and its value.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    names: FieldName,
    pub value: Value,
}

impl Field {
    /// A field called `name`, with no path of its own.
    pub fn new(name: &str, value: Value) -> Field {
        Field { names: FieldName::new(name, None), value }
    }

    /// A field under names resolved before (see [`FieldName::new`]).
    pub fn named(names: FieldName, value: Value) -> Field {
        Field { names, value }
    }

    /// Short name as Sigma rules write it: `Image`, `EventID`, `Provider_Name`.
    pub fn name(&self) -> &str {
        self.names.name()
    }

    /// Dotted full path in the EVTX document (`Event.System.EventID`), when it differs from
    /// the name.
    pub fn path(&self) -> Option<&str> {
        self.names.path()
    }

    pub fn names(&self) -> &FieldName {
        &self.names
    }
}

/// The file an event came from, shared by all events of that file.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SourceFile {
    /// The path as the user gave it (or as found under a directory they gave); `-` for stdin.
    pub path: String,
}

/// Where an event came from and when it happened.
#[derive(Debug, Clone, PartialEq)]
pub struct Provenance {
    pub source: Arc<SourceFile>,
    /// EVTX `EventRecordID`, or the 1-based line on which a JSON event starts.
    pub record_id: u64,
    /// UTC time of the event, when the export carried one.
    pub timestamp: Option<Timestamp>,
}

/// A normalized event: fields in document order, looked up by name without allocating.
///
/// Lookups are case-insensitive, as Sigma field names are, and accept either the short name
/// or the dotted full path. A name that occurs twice (an EventData field shadowing nothing
/// but itself, in malformed exports) resolves to its first occurrence.
#[derive(Debug, Clone)]
pub struct Event {
    pub provenance: Provenance,
    fields: Vec<Field>,
    shape: Option<ShapeId>,
}

/// Events are equal when what they hold is: their [`ShapeId`] is how they were made.
impl PartialEq for Event {
    fn eq(&self, other: &Event) -> bool {
        self.provenance == other.provenance && self.fields == other.fields
    }
}

/// A number that the events of one shape (the same field names, in the same order) may
/// carry: a reader that makes many events of one shape gives them one, and a matcher that
/// has met it knows where their fields are without looking at their names. Each is new to
/// the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ShapeId(NonZeroU64);

impl ShapeId {
    /// A number no shape of this process had before.
    pub fn unique() -> ShapeId {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        ShapeId(NonZeroU64::MIN.saturating_add(NEXT.fetch_add(1, Ordering::Relaxed)))
    }
}

impl Event {
    pub fn new(provenance: Provenance, fields: Vec<Field>) -> Event {
        Event { provenance, fields, shape: None }
    }

    /// The event, marked as of `shape`: the caller gives that number only to events with
    /// these field names, in this order.
    pub fn with_shape(self, shape: ShapeId) -> Event {
        Event { shape: Some(shape), ..self }
    }

    /// The shape it was marked with (see [`Event::with_shape`]).
    pub fn shape(&self) -> Option<ShapeId> {
        self.shape
    }

    /// The value of a field by short name or dotted path, ignoring ASCII case.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.position(key).map(|index| &self.fields[index].value)
    }

    /// Where the field [`Event::get`] finds is among [`Event::fields`]: the same for all
    /// events with the same field names in the same order.
    pub fn position(&self, key: &str) -> Option<usize> {
        self.fields.iter().position(|field| field.names.answers_to(key))
    }

    /// The canonical text of a scalar field (see [`Value::as_text`]).
    pub fn text(&self, key: &str) -> Option<std::borrow::Cow<'_, str>> {
        self.get(key).and_then(Value::as_text)
    }

    pub fn fields(&self) -> &[Field] {
        &self.fields
    }

    pub fn event_id(&self) -> Option<i64> {
        self.get(names::EVENT_ID).and_then(Value::as_i64)
    }

    pub fn channel(&self) -> Option<&str> {
        self.get(names::CHANNEL).and_then(Value::as_str)
    }

    pub fn provider(&self) -> Option<&str> {
        self.get(names::PROVIDER_NAME).and_then(Value::as_str)
    }

    pub fn computer(&self) -> Option<&str> {
        self.get(names::COMPUTER).and_then(Value::as_str)
    }

    pub fn timestamp(&self) -> Option<Timestamp> {
        self.provenance.timestamp
    }

    pub fn record_id(&self) -> u64 {
        self.provenance.record_id
    }

    pub fn source(&self) -> &SourceFile {
        &self.provenance.source
    }

    /// The fields as a JSON-ready map of short name to value (first occurrence of a name wins,
    /// as in [`Event::get`]).
    pub fn fields_map(&self) -> FieldsMap<'_> {
        FieldsMap(self)
    }
}

/// Serializes an event's fields as one JSON object, `{"EventID": 1, "Image": "..."}`.
pub struct FieldsMap<'a>(&'a Event);

impl serde::Serialize for FieldsMap<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let fields = &self.0.fields;
        let mut map = serializer.serialize_map(None)?;
        for (index, field) in fields.iter().enumerate() {
            let shadowed = fields[..index].iter().any(|earlier| earlier.name().eq_ignore_ascii_case(field.name()));
            if !shadowed {
                map.serialize_entry(field.name(), &field.value)?;
            }
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Event {
        let provenance =
            Provenance { source: Arc::new(SourceFile { path: "x.evtx".into() }), record_id: 7, timestamp: None };
        let field = |name: &str, path: Option<&str>, value: Value| Field::named(FieldName::new(name, path), value);
        Event::new(
            provenance,
            vec![
                field("EventID", Some("Event.System.EventID"), Value::Int(1)),
                field(
                    "Channel",
                    Some("Event.System.Channel"),
                    Value::Str("Microsoft-Windows-Sysmon/Operational".into()),
                ),
                field("Image", Some("Event.EventData.Image"), Value::Str("C:\\a.exe".into())),
                field("image", None, Value::Str("shadowed".into())),
            ],
        )
    }

    #[test]
    fn lookups_ignore_case_and_accept_paths() {
        let event = sample();
        assert_eq!(event.get("eventid"), Some(&Value::Int(1)));
        assert_eq!(event.get("EVENT.SYSTEM.EVENTID"), Some(&Value::Int(1)));
        assert_eq!(event.event_id(), Some(1));
        assert_eq!(event.channel(), Some("Microsoft-Windows-Sysmon/Operational"));
        assert_eq!(event.get("Missing"), None);
    }

    #[test]
    fn the_first_of_two_equal_names_wins_everywhere() {
        let event = sample();
        assert_eq!(event.text("IMAGE").as_deref(), Some("C:\\a.exe"));
        let json = serde_json::to_value(event.fields_map()).unwrap();
        assert_eq!(json["Image"], "C:\\a.exe");
        assert!(json.get("image").is_none());
    }
}
