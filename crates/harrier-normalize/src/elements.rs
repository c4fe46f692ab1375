//! Events built from XML elements given one at a time, for readers that walk an event's
//! elements themselves (EVTX binary XML) instead of handing over a JSON document.

use crate::builder::{FieldBuilder, TYPICAL_FIELDS};
use harrier_event::{Event, Provenance, Value};
use std::sync::Arc;

/// One event's fields, pushed element by element with the names and canonical forms the
/// JSON path gives the same elements: `Element_Attribute` for attributes, names without
/// spaces, GUIDs braced and lower-cased, `TimeCreated` and integer fields canonical.
pub struct ElementFields(FieldBuilder);

impl Default for ElementFields {
    fn default() -> ElementFields {
        ElementFields(FieldBuilder::with_capacity(TYPICAL_FIELDS))
    }
}

impl ElementFields {
    /// Descends into a child element; returns the mark to [`ElementFields::leave`] with.
    pub fn enter(&mut self, element: &str) -> usize {
        self.0.enter(element)
    }

    pub fn leave(&mut self, mark: usize) {
        self.0.leave(mark);
    }

    /// The dotted path of the element last entered.
    pub fn path(&self) -> &str {
        self.0.path()
    }

    /// The field name the text of `element` (the element last entered) gets, for
    /// [`ElementFields::push_named`]: a reader that meets the same element at the same path
    /// again can reuse it.
    pub fn text_name(&mut self, element: &str) -> FieldName {
        let path = self.0.path().to_owned();
        let (name, path) = self.0.field_name(element, Some(&path));
        FieldName { name, path }
    }

    /// The field name an attribute of `element` (the element last entered) gets; `None` for
    /// a namespace declaration.
    pub fn attribute_name(&mut self, element: &str, attribute: &str) -> Option<FieldName> {
        let (name, path) = self.0.attribute_name(element, attribute)?;
        Some(FieldName { name, path })
    }

    /// A field under a name from [`ElementFields::text_name`] or
    /// [`ElementFields::attribute_name`].
    pub fn push_named(&mut self, name: &FieldName, value: Value) {
        self.0.push_named(name.name.clone(), name.path.clone(), value);
    }

    /// The event, its timestamp taken from `TimeCreated` when `provenance` has none.
    pub fn finish(self, provenance: Provenance) -> Event {
        self.0.finish(provenance)
    }
}

/// A field's name and dotted path, resolved once (see [`ElementFields::text_name`]).
#[derive(Debug, Clone)]
pub struct FieldName {
    name: Arc<str>,
    path: Option<Arc<str>>,
}
