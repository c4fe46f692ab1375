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
mod layout;
mod xml;

pub use layout::Layout;

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
        return Err(NotAnEvent(format!(
            "expected a JSON object, found {}",
            json_kind(&document)
        )));
    };
    let layout = Layout::detect(&map);
    Ok(layout.normalize(map, provenance))
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
