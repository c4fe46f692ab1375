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
    /// made canonical as the JSON path makes it; false when `fill` is, or there is no such field.
    pub fn fill(&mut self, index: usize, fill: impl FnOnce(&mut Value) -> bool) -> bool {
        self.0.fill(index, fill)
    }

    /// Field `index` is the `TimeCreated` field (the first the event has), its text
    /// canonical already, as [`harrier_event::filetime_instant`] gives it, and `time` its
    /// instant.
    pub fn fill_created(&mut self, index: usize, time: Timestamp, text: String) {
        self.0.fill_created(index, time, text);
    }

    /// The event, its timestamp taken from `TimeCreated` when `provenance` has none.
    pub fn finish(self, provenance: Provenance) -> Event {
        self.0.finish(provenance)
    }
}
