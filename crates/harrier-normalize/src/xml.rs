//! The `<EventData><Data Name="..">..</Data></EventData>` XML that Azure Log Analytics keeps
//! as a string in its `SecurityEvent` rows.

use harrier_event::Value;
use quick_xml::Reader;
use quick_xml::events::Event as XmlEvent;

/// The named `<Data>` values in document order; unnamed ones are gathered under `Data`.
/// `None` when the text is not well-formed XML.
pub(crate) fn event_data_fields(xml: &str) -> Option<Vec<(String, Value)>> {
    let mut reader = Reader::from_str(xml);
    let mut fields = Vec::new();
    let mut unnamed = Vec::new();
    let mut open: Option<(Option<String>, String)> = None;
    loop {
        match reader.read_event().ok()? {
            XmlEvent::Start(element) if element.local_name().as_ref() == b"Data" => {
                open = Some((data_name(&element)?, String::new()));
            }
            XmlEvent::Empty(element) if element.local_name().as_ref() == b"Data" => {
                store(&mut fields, &mut unnamed, data_name(&element)?, String::new());
            }
            XmlEvent::Text(text) => {
                if let Some((_, value)) = open.as_mut() {
                    value.push_str(&text.xml_content().ok()?);
                }
            }
            XmlEvent::GeneralRef(reference) => {
                if let Some((_, value)) = open.as_mut() {
                    value.push_str(&resolve_reference(&reference.decode().ok()?)?);
                }
            }
            XmlEvent::End(element) if element.local_name().as_ref() == b"Data" => {
                let (name, value) = open.take()?;
                store(&mut fields, &mut unnamed, name, value);
            }
            XmlEvent::Eof => break,
            _ => {}
        }
    }
    if !unnamed.is_empty() {
        fields.push(("Data".to_owned(), Value::List(unnamed)));
    }
    Some(fields)
}

fn data_name(element: &quick_xml::events::BytesStart<'_>) -> Option<Option<String>> {
    for attribute in element.attributes() {
        let attribute = attribute.ok()?;
        if attribute.key.as_ref() == b"Name" {
            return Some(Some(attribute.unescape_value().ok()?.into_owned()));
        }
    }
    Some(None)
}

fn store(fields: &mut Vec<(String, Value)>, unnamed: &mut Vec<Value>, name: Option<String>, value: String) {
    match name {
        Some(name) => fields.push((name, Value::Str(value))),
        None => unnamed.push(Value::Str(value)),
    }
}

/// `&amp;` and friends, and numeric character references.
fn resolve_reference(name: &str) -> Option<String> {
    let character = match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        _ => {
            let code = match name.strip_prefix("#x").or_else(|| name.strip_prefix("#X")) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => name.strip_prefix('#')?.parse().ok()?,
            };
            char::from_u32(code)?
        }
    };
    Some(character.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_data_become_fields_and_entities_are_resolved() {
        let xml = "<EventData xmlns=\"http://schemas.microsoft.com/win/2004/08/events/event\">\r\n  \
                   <Data Name=\"ProcessID\">3936</Data>\r\n  <Data Name=\"Application\">a &amp; b</Data>\
                   <Data Name=\"Empty\"/><Data>loose</Data></EventData>";
        let fields = event_data_fields(xml).unwrap();
        assert_eq!(
            fields,
            vec![
                ("ProcessID".into(), Value::Str("3936".into())),
                ("Application".into(), Value::Str("a & b".into())),
                ("Empty".into(), Value::Str(String::new())),
                ("Data".into(), Value::List(vec![Value::Str("loose".into())])),
            ]
        );
    }

    #[test]
    fn broken_xml_is_refused() {
        assert_eq!(event_data_fields("<EventData><Data Name=\"a\">x</EventData>"), None);
    }
}
