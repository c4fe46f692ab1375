//! Collects fields in document order and applies the rules every layout shares.
//!
//! Field names and paths repeat from event to event (`Image`, `Event.EventData.Image`): a
//! field's names are a [`FieldName`], kept once per process, and the paths of the elements a
//! reader walks are interned per thread. Building an event allocates for its values only.

use harrier_event::{Event, Field, FieldName, Provenance, Timestamp, Value, names};
use rustc_hash::FxHashSet;
use serde_json::Value as Json;
use std::cell::RefCell;
use std::sync::Arc;

/// Fields whose type is an integer in EVTX, which some exporters write as text.
const INTEGER_FIELDS: [&str; 5] =
    [names::EVENT_ID, names::EVENT_RECORD_ID, names::VERSION, names::PROCESS_ID, names::THREAD_ID];

/// Distinct paths a thread keeps before it starts over, so memory stays bounded whatever
/// the input (logs with generated element names).
const INTERNED_LIMIT: usize = 50_000;

/// Longest path interned: a longer one (generated or crafted names) is not kept, so that the
/// paths a thread keeps take some megabytes at most, whatever the input.
const MAX_INTERNED_BYTES: usize = 256;

thread_local! {
    static INTERNED: RefCell<Interner> = RefCell::new(Interner::default());
}

/// A thread's interned paths. A reader asks for one once per element of each template it
/// compiles (the elements keep their paths), so a set is all it takes.
#[derive(Default)]
struct Interner {
    paths: FxHashSet<Arc<str>>,
}

impl Interner {
    fn intern(&mut self, text: &str) -> Arc<str> {
        if text.len() > MAX_INTERNED_BYTES {
            return Arc::from(text);
        }
        if let Some(shared) = self.paths.get(text) {
            return shared.clone();
        }
        if self.paths.len() >= INTERNED_LIMIT {
            self.paths.clear();
        }
        let shared: Arc<str> = Arc::from(text);
        self.paths.insert(shared.clone());
        shared
    }
}

fn intern(text: &str) -> Arc<str> {
    INTERNED.with(|interned| interned.borrow_mut().intern(text))
}

/// Builds one event's fields. It keeps the dotted path of the element being read, so that
/// nested elements push fields without formatting strings.
pub(crate) struct FieldBuilder {
    fields: Vec<Field>,
    path: String,
    scratch: String,
    /// The path set aside while a `System` field is pushed at its canonical path, or an
    /// attribute is named at another path (kept, with its buffer, from field to field).
    set_aside: String,
    /// The instant of the `TimeCreated` field, when a reader pushed it canonical.
    created: Option<Timestamp>,
}

/// Fields an EVTX record holds, System and EventData together, give or take: room for them
/// from the start spares the copies of a growing vector.
pub(crate) const TYPICAL_FIELDS: usize = 48;

impl FieldBuilder {
    /// A builder with room for `fields` fields, and for the paths of the elements it reads.
    pub(crate) fn with_capacity(fields: usize) -> FieldBuilder {
        FieldBuilder {
            path: String::with_capacity(64),
            scratch: String::with_capacity(64),
            set_aside: String::with_capacity(64),
            ..FieldBuilder::with_room_for(fields)
        }
    }

    /// A builder with room for `fields` fields only, for a reader that names fields itself
    /// and rarely asks for a name (paths are then built in buffers that grow when needed).
    pub(crate) fn with_room_for(fields: usize) -> FieldBuilder {
        FieldBuilder {
            fields: Vec::with_capacity(fields),
            path: String::new(),
            scratch: String::new(),
            set_aside: String::new(),
            created: None,
        }
    }

    /// Descends into a child element; returns the mark to [`FieldBuilder::leave`] with.
    pub(crate) fn enter(&mut self, segment: &str) -> usize {
        let mark = self.path.len();
        append_segment(&mut self.path, segment);
        mark
    }

    pub(crate) fn leave(&mut self, mark: usize) {
        self.path.truncate(mark);
    }

    /// A field named `name` at the current path.
    pub(crate) fn push_here(&mut self, name: &str, value: Value) {
        let path = std::mem::take(&mut self.path);
        self.push(name, Some(&path), value);
        self.path = path;
    }

    /// An XML attribute of the current element: `Element_Attribute` at `path.Attribute`.
    pub(crate) fn push_attribute(&mut self, element: &str, attribute: &str, value: Value) {
        if let Some(name) = self.attribute_name(element, attribute) {
            self.push_named(name, value);
        }
    }

    pub(crate) fn push(&mut self, name: &str, path: Option<&str>, value: Value) {
        let name = self.field_name(name, path);
        self.push_named(name, value);
    }

    /// The names of a field `name` at `path`, as [`FieldBuilder::push`] gives them.
    pub(crate) fn field_name(&mut self, name: &str, path: Option<&str>) -> FieldName {
        self.scratch_name(name);
        FieldName::new(&self.scratch, path)
    }

    /// A field under names from [`FieldBuilder::field_name`].
    pub(crate) fn push_named(&mut self, name: FieldName, mut value: Value) {
        make_canonical(&mut value);
        self.fields.push(Field::named(name, value));
    }

    /// Fields with these names, null until [`FieldBuilder::fill`] writes their values. Named
    /// all at once, the fields are made where they stay: pushed one at a time, each was
    /// made on the stack and copied, and the copies stalled (a fifth of reading EVTX records).
    pub(crate) fn named(names: impl IntoIterator<Item = FieldName>) -> FieldBuilder {
        let mut builder = FieldBuilder::with_room_for(0);
        builder.fields.extend(names.into_iter().map(|name| Field::named(name, Value::Null)));
        builder
    }

    /// Writes the value of field `index` in place with `fill`, canonical, a numeric text an
    /// integer when the field is `integer` (see [`is_integer_field`]); false when `fill` is,
    /// or there is no such field.
    pub(crate) fn fill(&mut self, index: usize, integer: bool, fill: impl FnOnce(&mut Value) -> bool) -> bool {
        let Some(field) = self.fields.get_mut(index) else {
            return false;
        };
        let filled = fill(&mut field.value);
        make_canonical(&mut field.value);
        if integer && matches!(field.value, Value::Str(_)) {
            make_integer(&mut field.value);
        }
        filled
    }

    /// Field `index` is `TimeCreated`: its text canonical already and `time` its instant.
    pub(crate) fn fill_created(&mut self, index: usize, time: Timestamp, text: String) {
        if let Some(field) = self.fields.get_mut(index) {
            self.created = Some(time);
            field.value = Value::Str(text);
        }
    }

    /// The name an attribute of the current element gets: `Element_Attribute` at
    /// `path.Attribute`; `None` for a namespace declaration, which is no field.
    pub(crate) fn attribute_name(&mut self, element: &str, attribute: &str) -> Option<FieldName> {
        if is_namespace_declaration(attribute) {
            return None;
        }
        self.scratch.clear();
        push_without_spaces(&mut self.scratch, element);
        self.scratch.push('_');
        push_without_spaces(&mut self.scratch, attribute);
        let mark = self.enter(attribute);
        let field_name = FieldName::new(&self.scratch, Some(&self.path));
        self.leave(mark);
        Some(field_name)
    }

    /// The name an attribute of the element at `path` gets (see
    /// [`FieldBuilder::attribute_name`]). The current path is set aside meanwhile, in the
    /// buffer kept for it: a reader names every attribute of every template it compiles.
    pub(crate) fn attribute_name_at(&mut self, path: &str, element: &str, attribute: &str) -> Option<FieldName> {
        std::mem::swap(&mut self.path, &mut self.set_aside);
        self.path.clear();
        self.path.push_str(path);
        let field_name = self.attribute_name(element, attribute);
        std::mem::swap(&mut self.path, &mut self.set_aside);
        field_name
    }

    /// The shared dotted path of `element` under `parent`.
    pub(crate) fn child_path(&mut self, parent: &str, element: &str) -> Arc<str> {
        self.scratch.clear();
        self.scratch.push_str(parent);
        append_segment(&mut self.scratch, element);
        intern(&self.scratch)
    }

    fn scratch_name(&mut self, name: &str) {
        self.scratch.clear();
        push_without_spaces(&mut self.scratch, name);
    }

    /// A field under a canonical `System` name, with its canonical EVTX path.
    pub(crate) fn push_system(&mut self, canonical: &str, value: Json) {
        std::mem::swap(&mut self.path, &mut self.set_aside);
        self.path.clear();
        let (element, attribute) = canonical.split_once('_').unwrap_or((canonical, ""));
        let mark = self.enter("Event.System");
        self.enter(element);
        if attribute.is_empty() {
            self.push_here(canonical, Value::from(value));
        } else {
            self.push_attribute(element, attribute, Value::from(value));
        }
        self.leave(mark);
        std::mem::swap(&mut self.path, &mut self.set_aside);
    }

    /// One XML element rendered as JSON (`{"#attributes": {..}, "#text": ..}` or children)
    /// at the current path: attributes become `Element_Attribute`, text becomes `Element`,
    /// child elements are flattened under their own names.
    pub(crate) fn push_element(&mut self, name: &str, value: Json) {
        let Json::Object(mut map) = value else {
            self.push_here(name, Value::from(value));
            return;
        };
        if let Some(Json::Object(attributes)) = map.remove("#attributes") {
            for (attribute, value) in attributes {
                self.push_attribute(name, &attribute, Value::from(value));
            }
        }
        if let Some(text) = map.remove("#text") {
            self.push_here(name, Value::from(text));
        }
        self.push_children(map);
    }

    /// The children of a container element (EventData, the inner element of UserData) at
    /// the current path.
    pub(crate) fn push_children(&mut self, children: serde_json::Map<String, Json>) {
        for (child, value) in children {
            if is_namespace_declaration(&child) || child == "#attributes" {
                continue;
            }
            let mark = self.enter(&child);
            self.scratch_name(&child);
            let name = std::mem::take(&mut self.scratch);
            self.push_element(&name, value);
            self.scratch = name;
            self.leave(mark);
        }
    }

    /// Applies the shared canonical forms and builds the event.
    pub(crate) fn finish(mut self, provenance: Provenance) -> Event {
        for field in &mut self.fields {
            // Only a text can become an integer: most values are neither, and need no look at
            // their names.
            if matches!(field.value, Value::Str(_)) && is_integer_field(field.name()) {
                make_integer(&mut field.value);
            }
        }
        self.into_event(provenance)
    }

    /// The event, its fields canonical already, integers included (see
    /// [`FieldBuilder::fill`]), and its timestamp taken from `TimeCreated` when `provenance`
    /// has none.
    pub(crate) fn into_event(mut self, mut provenance: Provenance) -> Event {
        if let Some(time) = self.created {
            provenance.timestamp.get_or_insert(time);
            return Event::new(provenance, self.fields);
        }
        let time_field = self.fields.iter_mut().find(|field| field.name().eq_ignore_ascii_case(names::TIME_CREATED));
        if let Some(field) = time_field
            && let Some(text) = field.value.as_str()
            && let Some((time, canonical)) = Timestamp::parse_to_canonical(text)
        {
            if let Some(canonical) = canonical {
                field.value = Value::Str(canonical);
            }
            provenance.timestamp.get_or_insert(time);
        }
        Event::new(provenance, self.fields)
    }
}

/// Whether a field of this name holds an integer in every export (see [`INTEGER_FIELDS`]).
pub(crate) fn is_integer_field(name: &str) -> bool {
    INTEGER_FIELDS.iter().any(|integer| name.eq_ignore_ascii_case(integer))
}

/// A numeric text made an integer (see [`Value::into_integer_if_numeric`]).
fn make_integer(value: &mut Value) {
    *value = std::mem::replace(value, Value::Null).into_integer_if_numeric();
}

/// `path.segment`, or `segment` at the root, the segment without spaces.
fn append_segment(path: &mut String, segment: &str) {
    if !path.is_empty() {
        path.push('.');
    }
    push_without_spaces(path, segment);
}

/// Sigma names fields as the details view shows them, with spaces removed (`Source Name`
/// becomes `SourceName`).
fn push_without_spaces(into: &mut String, name: &str) {
    // Names are short: a plain loop costs less than a call to a vectorized search.
    if name.bytes().any(|byte| byte == b' ') {
        into.extend(name.chars().filter(|&c| c != ' '));
    } else {
        into.push_str(name);
    }
}

/// A GUID braced and lower-cased, in place (see [`canonical_guid`]). Inlined, and only a text
/// of a GUID's length looked at closer: called for every value, this was 2 % of reading EVTX.
#[inline]
fn make_canonical(value: &mut Value) {
    if let Value::Str(text) = value
        && matches!(text.len(), GUID_BYTES | BRACED_GUID_BYTES)
        && let Some(guid) = canonical_guid(text)
    {
        *text = guid;
    }
}

const GUID_BYTES: usize = 36;
const BRACED_GUID_BYTES: usize = 38;

/// GUIDs as Windows renders them, `{5770385f-c22a-43e0-bf4c-06f5698ffbd9}`: exporters differ
/// in case and braces, and the same event must read the same however it was exported.
fn canonical_guid(text: &str) -> Option<String> {
    let bare = match text.len() {
        GUID_BYTES => text,
        BRACED_GUID_BYTES => text.strip_prefix('{')?.strip_suffix('}')?,
        _ => return None,
    };
    // Braced and without capitals, it is canonical if it is a GUID at all: most are (every
    // EVTX GUID value), and need no closer look. A fold without an early exit is vectorized.
    if bare.len() < text.len() && !bare.bytes().fold(false, |capital, byte| capital | byte.is_ascii_uppercase()) {
        return None;
    }
    let is_guid = bare.bytes().enumerate().all(|(index, byte)| match index {
        8 | 13 | 18 | 23 => byte == b'-',
        _ => byte.is_ascii_hexdigit(),
    });
    is_guid.then(|| format!("{{{}}}", bare.to_ascii_lowercase()))
}

pub(crate) fn is_namespace_declaration(attribute: &str) -> bool {
    attribute == "xmlns" || attribute.starts_with("xmlns:")
}

#[cfg(test)]
mod tests {
    use super::{Interner, MAX_INTERNED_BYTES, canonical_guid};
    use std::sync::Arc;

    #[test]
    fn paths_are_shared_but_long_ones_are_not_kept() {
        let mut interner = Interner::default();
        assert!(Arc::ptr_eq(&interner.intern("Event.EventData"), &interner.intern("Event.EventData")));
        let long = "k".repeat(MAX_INTERNED_BYTES + 1);
        assert_eq!(&*interner.intern(&long), long);
        assert_eq!(interner.paths.len(), 1, "only `Event.EventData` is kept");
    }

    #[test]
    fn guids_get_braces_and_lower_case_and_nothing_else_changes() {
        let expected = Some("{5770385f-c22a-43e0-bf4c-06f5698ffbd9}".to_owned());
        assert_eq!(canonical_guid("5770385F-C22A-43E0-BF4C-06F5698FFBD9"), expected);
        assert_eq!(canonical_guid("{5770385F-C22A-43E0-BF4C-06F5698FFBD9}"), expected);
        assert_eq!(canonical_guid("{5770385f-c22a-43e0-bf4c-06f5698ffbd9}"), None, "already canonical");
        assert_eq!(canonical_guid("5770385F-C22A-43E0-BF4C-06F5698FFBDX"), None);
        assert_eq!(canonical_guid("C:\\\\Windows\\\\System32\\\\svchost.exe-1234567"), None);
    }
}
