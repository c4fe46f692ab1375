//! Collects fields in document order and applies the rules every layout shares.

use harrier_event::{Event, Field, Provenance, Timestamp, Value, names};
use serde_json::Value as Json;

/// Fields whose type is an integer in EVTX, which some exporters write as text.
const INTEGER_FIELDS: [&str; 5] = [
    names::EVENT_ID,
    names::EVENT_RECORD_ID,
    names::VERSION,
    names::PROCESS_ID,
    names::THREAD_ID,
];

#[derive(Default)]
pub(crate) struct FieldBuilder {
    fields: Vec<Field>,
}

impl FieldBuilder {
    pub(crate) fn push(&mut self, name: &str, path: Option<String>, value: Value) {
        let name = without_spaces(name);
        let value = match value {
            Value::Str(text) => Value::Str(canonical_guid(&text).unwrap_or(text)),
            other => other,
        };
        let path = path.filter(|path| *path != *name);
        self.fields.push(Field {
            name: name.into(),
            path: path.map(Into::into),
            value,
        });
    }

    /// A field under a canonical `System` name, with its canonical EVTX path.
    pub(crate) fn push_system(&mut self, canonical: &str, value: Json) {
        self.push(canonical, Some(system_path(canonical)), Value::from(value));
    }

    /// One XML element rendered as JSON (`{"#attributes": {..}, "#text": ..}` or children):
    /// attributes become `Element_Attribute`, text becomes `Element`, child elements are
    /// flattened under their own names.
    pub(crate) fn push_element(&mut self, name: &str, path: &str, value: Json) {
        let Json::Object(mut map) = value else {
            self.push(name, Some(path.to_owned()), Value::from(value));
            return;
        };
        if let Some(Json::Object(attributes)) = map.remove("#attributes") {
            for (attribute, value) in attributes {
                if !is_namespace_declaration(&attribute) {
                    let attribute = without_spaces(&attribute);
                    self.push(
                        &format!("{name}_{attribute}"),
                        Some(format!("{path}.{attribute}")),
                        Value::from(value),
                    );
                }
            }
        }
        if let Some(text) = map.remove("#text") {
            self.push(name, Some(path.to_owned()), Value::from(text));
        }
        self.push_children(path, map);
    }

    /// The children of a container element (EventData, the inner element of UserData).
    pub(crate) fn push_children(&mut self, path: &str, children: serde_json::Map<String, Json>) {
        for (child, value) in children {
            if is_namespace_declaration(&child) || child == "#attributes" {
                continue;
            }
            let child = without_spaces(&child);
            self.push_element(&child, &format!("{path}.{child}"), value);
        }
    }

    /// Applies the shared canonical forms and builds the event.
    pub(crate) fn finish(mut self, mut provenance: Provenance) -> Event {
        for field in &mut self.fields {
            if INTEGER_FIELDS
                .iter()
                .any(|name| field.name.eq_ignore_ascii_case(name))
            {
                field.value =
                    std::mem::replace(&mut field.value, Value::Null).into_integer_if_numeric();
            }
        }
        let time_field = self
            .fields
            .iter_mut()
            .find(|field| field.name.eq_ignore_ascii_case(names::TIME_CREATED));
        if let Some(field) = time_field
            && let Some(time) = field.value.as_str().and_then(Timestamp::parse)
        {
            field.value = Value::Str(time.to_canonical_string());
            provenance.timestamp.get_or_insert(time);
        }
        Event::new(provenance, self.fields)
    }
}

/// `Event.System.Provider.Name` for `Provider_Name`, `Event.System.EventID` for `EventID`.
pub(crate) fn system_path(canonical: &str) -> String {
    match canonical.split_once('_') {
        Some((element, attribute)) => format!("Event.System.{element}.{attribute}"),
        None => format!("Event.System.{canonical}"),
    }
}

/// GUIDs as Windows renders them, `{5770385f-c22a-43e0-bf4c-06f5698ffbd9}`: exporters differ
/// in case and braces, and the same event must read the same however it was exported.
fn canonical_guid(text: &str) -> Option<String> {
    let bare = match text.len() {
        36 => text,
        38 => text.strip_prefix('{')?.strip_suffix('}')?,
        _ => return None,
    };
    let is_guid = bare.bytes().enumerate().all(|(index, byte)| match index {
        8 | 13 | 18 | 23 => byte == b'-',
        _ => byte.is_ascii_hexdigit(),
    });
    is_guid.then(|| format!("{{{}}}", bare.to_ascii_lowercase()))
}

/// Sigma names fields as the details view shows them, with spaces removed (`Source Name`
/// becomes `SourceName`).
fn without_spaces(name: &str) -> std::borrow::Cow<'_, str> {
    if name.contains(' ') {
        std::borrow::Cow::Owned(name.replace(' ', ""))
    } else {
        std::borrow::Cow::Borrowed(name)
    }
}

fn is_namespace_declaration(attribute: &str) -> bool {
    attribute == "xmlns" || attribute.starts_with("xmlns:")
}

#[cfg(test)]
mod tests {
    use super::canonical_guid;

    #[test]
    fn guids_get_braces_and_lower_case_and_nothing_else_changes() {
        let expected = Some("{5770385f-c22a-43e0-bf4c-06f5698ffbd9}".to_owned());
        assert_eq!(
            canonical_guid("5770385F-C22A-43E0-BF4C-06F5698FFBD9"),
            expected
        );
        assert_eq!(
            canonical_guid("{5770385F-C22A-43E0-BF4C-06F5698FFBD9}"),
            expected
        );
        assert_eq!(
            canonical_guid("{5770385f-c22a-43e0-bf4c-06f5698ffbd9}"),
            expected
        );
        assert_eq!(canonical_guid("5770385F-C22A-43E0-BF4C-06F5698FFBDX"), None);
        assert_eq!(
            canonical_guid("C:\\Windows\\System32\\svchost.exe-1234567"),
            None
        );
    }
}
