//! Events built from XML elements given one at a time, for readers that walk an event's
//! elements themselves (EVTX binary XML) instead of handing over a JSON document.

use crate::builder::{FieldBuilder, TYPICAL_FIELDS};
use harrier_event::{Event, FieldName, Provenance, Timestamp, Value};
use std::sync::Arc;

/// One event's fields, pushed element by element with the names and canonical forms the
/// JSON path gives the same elements: `Element_Attribute` for attributes, names without
/// spaces, GUIDs braced and lower-cased, `TimeCreated` and integer fields canonical.
pub struct ElementFields(FieldBuilder);

impl Default for ElementFields {
    fn default() -> ElementFields {
        ElementFields(FieldBuilder::with_room_for(TYPICAL_FIELDS))
    }
}

impl ElementFields {
    /// Fields with these names, in this order, for a reader that knows an event's names
    /// before its values: [`ElementFields::fill`] writes each value (null until then).
    pub fn named<'n>(names: impl IntoIterator<Item = &'n FieldName>) -> ElementFields {
        ElementFields(FieldBuilder::named(names.into_iter().cloned()))
    }

    /// The dotted path of `element` under the element at `parent` (`""` for the root), for
    /// the names of its fields and its children's. Paths are shared: a reader that meets the
    /// same element at the same place again can keep them.
    pub fn child_path(&mut self, parent: &str, element: &str) -> Arc<str> {
        self.0.child_path(parent, element)
    }

    /// The field name the text of `element`, at `path`, gets.
    pub fn text_name(&mut self, path: &str, element: &str) -> FieldName {
        self.0.field_name(element, Some(path))
    }

    /// The field name an attribute of `element`, at `path`, gets; `None` for a namespace
    /// declaration.
    pub fn attribute_name(&mut self, path: &str, element: &str, attribute: &str) -> Option<FieldName> {
        self.0.attribute_name_at(path, element, attribute)
    }

    /// Writes the value of field `index` (see [`ElementFields::named`]) in place with `fill`,
    /// made canonical as the JSON path makes it: when the field is `integer` (see
    /// [`ElementFields::is_integer`]), a numeric text becomes an integer. False when `fill`
    /// is, or there is no such field.
    pub fn fill(&mut self, index: usize, integer: bool, fill: impl FnOnce(&mut Value) -> bool) -> bool {
        self.0.fill(index, integer, fill)
    }

    /// Whether a field of this name holds an integer in every export (`EventID`,
    /// `ProcessID`, ...), which [`ElementFields::fill`] makes of a numeric text: a reader that
    /// fills the fields of one shape again and again tells it once.
    pub fn is_integer(name: &FieldName) -> bool {
        crate::builder::is_integer_field(name.name())
    }

    /// Field `index` is the `TimeCreated` field (the first the event has), its text
    /// canonical already, as [`harrier_event::filetime_instant`] gives it, and `time` its
    /// instant.
    pub fn fill_created(&mut self, index: usize, time: Timestamp, text: String) {
        self.0.fill_created(index, time, text);
    }

    /// The event, its timestamp taken from `TimeCreated` when `provenance` has none.
    pub fn finish(self, provenance: Provenance) -> Event {
        self.0.into_event(provenance)
    }
}

#[cfg(test)]
mod tests {
    use super::ElementFields;
    use harrier_event::{FieldName, Provenance, SourceFile, Value};
    use std::sync::Arc;

    /// Values are made canonical as they are filled: a numeric text becomes an integer in the
    /// fields that hold integers in every export, and only there; a GUID is braced and
    /// lower-cased.
    #[test]
    fn fields_are_filled_canonical_integers_included() {
        let event_id = FieldName::new("EventID", Some("Event.System.EventID"));
        let image = FieldName::new("Image", Some("Event.EventData.Image"));
        let guid = FieldName::new("ProcessGuid", Some("Event.EventData.ProcessGuid"));
        assert!(ElementFields::is_integer(&event_id) && !ElementFields::is_integer(&image));
        let mut fields = ElementFields::named([&event_id, &image, &guid]);
        let text = |text: &str| {
            let value = Value::Str(text.to_owned());
            move |into: &mut Value| {
                *into = value;
                true
            }
        };
        assert!(fields.fill(0, true, text("4688")));
        assert!(fields.fill(1, false, text("42")));
        assert!(fields.fill(2, false, text("5770385F-C22A-43E0-BF4C-06F5698FFBD9")));
        assert!(!fields.fill(3, false, text("no such field")));
        let provenance =
            Provenance { source: Arc::new(SourceFile { path: "a.evtx".into() }), record_id: 1, timestamp: None };
        let event = fields.finish(provenance);
        let values: Vec<&Value> = event.fields().iter().map(|field| &field.value).collect();
        let guid = Value::Str("{5770385f-c22a-43e0-bf4c-06f5698ffbd9}".into());
        assert_eq!(values, [&Value::Int(4688), &Value::Str("42".into()), &guid]);
    }
}
