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

/// One rendered Windows event (`<Event xmlns=...><System>...</System><EventData>...`), as
/// Splunk's XmlWinEventLog and `wevtutil qe /f:xml` write it, in evtx_dump's JSON shape:
/// attributes under `#attributes`, `<Data Name="X">v</Data>` as `"X": "v"`, text elements as
/// their text. Gives why when the XML is broken.
pub fn event_xml_to_json(xml: &str) -> Result<serde_json::Value, String> {
    let mut reader = Reader::from_str(xml);
    // Open elements: (name, object being built, text seen).
    let mut stack: Vec<(String, serde_json::Map<String, serde_json::Value>, String)> = Vec::new();
    let mut root = None;
    loop {
        let event =
            reader.read_event().map_err(|error| format!("XML error at byte {}: {error}", reader.buffer_position()))?;
        match event {
            XmlEvent::Start(element) => {
                let (name, attributes) = element_parts(&element)?;
                stack.push((name, attributes, String::new()));
            }
            XmlEvent::Empty(element) => {
                let (name, attributes) = element_parts(&element)?;
                let (key, value) = close(name, attributes, String::new());
                attach(&mut stack, &mut root, key, value);
            }
            XmlEvent::Text(text) => {
                if let Some((_, _, content)) = stack.last_mut() {
                    content.push_str(&text.xml_content().map_err(|error| error.to_string())?);
                }
            }
            XmlEvent::GeneralRef(reference) => {
                let name = reference.decode().map_err(|error| error.to_string())?;
                let resolved = resolve_reference(&name).ok_or_else(|| format!("unknown entity `&{name};`"))?;
                if let Some((_, _, content)) = stack.last_mut() {
                    content.push_str(&resolved);
                }
            }
            XmlEvent::End(_) => {
                let (name, attributes, content) = stack.pop().ok_or("unbalanced end tag")?;
                let (key, value) = close(name, attributes, content);
                attach(&mut stack, &mut root, key, value);
            }
            XmlEvent::Eof => break,
            _ => {}
        }
    }
    if !stack.is_empty() {
        return Err("the event ends before its elements close".into());
    }
    match root {
        Some((name, value)) if name == "Event" => Ok(serde_json::json!({ "Event": value })),
        _ => Err("no <Event> element".into()),
    }
}

fn element_parts(
    element: &quick_xml::events::BytesStart,
) -> Result<(String, serde_json::Map<String, serde_json::Value>), String> {
    let name = String::from_utf8_lossy(element.local_name().as_ref()).into_owned();
    let mut attributes = serde_json::Map::new();
    for attribute in element.attributes() {
        let attribute = attribute.map_err(|error| error.to_string())?;
        let key = String::from_utf8_lossy(attribute.key.local_name().as_ref()).into_owned();
        let value = attribute.unescape_value().map_err(|error| error.to_string())?.into_owned();
        attributes.insert(key, serde_json::Value::String(value));
    }
    Ok((name, attributes))
}

/// An element's key and value: `<Data Name="X">v</Data>` is `X: v`; an element with only
/// text is its text; else an object of its children, with its attributes under `#attributes`.
fn close(
    name: String,
    mut attributes: serde_json::Map<String, serde_json::Value>,
    text: String,
) -> (String, serde_json::Value) {
    let children = match attributes.remove(CHILDREN) {
        Some(serde_json::Value::Object(children)) => children,
        _ => serde_json::Map::new(),
    };
    if name == "Data"
        && let Some(serde_json::Value::String(key)) = attributes.get("Name")
    {
        return (key.clone(), serde_json::Value::String(text));
    }
    if attributes.is_empty() && children.is_empty() {
        return (name, serde_json::Value::String(text));
    }
    let mut value = children;
    if !attributes.is_empty() {
        value.insert("#attributes".into(), serde_json::Value::Object(attributes));
    }
    if !text.trim().is_empty() {
        value.insert("#text".into(), serde_json::Value::String(text));
    }
    (name, serde_json::Value::Object(value))
}

/// Where an open element keeps its closed children until it closes.
const CHILDREN: &str = "\u{0}children";

/// Puts a closed element into its parent: `<Data Name="X">` under `X`, others under their name.
fn attach(
    stack: &mut [(String, serde_json::Map<String, serde_json::Value>, String)],
    root: &mut Option<(String, serde_json::Value)>,
    name: String,
    value: serde_json::Value,
) {
    let Some((_, parent, _)) = stack.last_mut() else {
        *root = Some((name, value));
        return;
    };
    let children = parent.entry(CHILDREN).or_insert_with(|| serde_json::Value::Object(Default::default()));
    if let serde_json::Value::Object(children) = children {
        children.insert(name, value);
    }
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
    fn rendered_events_take_evtx_dump_shape() {
        let xml = "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='Microsoft-Windows-Sysmon' Guid='{5770385F-C22A-43E0-BF4C-06F5698FFBD9}'/><EventID>3</EventID><TimeCreated SystemTime='2022-09-15T12:56:22.958249300Z'/><Channel>Microsoft-Windows-Sysmon/Operational</Channel></System><EventData><Data Name='Image'>C:\\Temp\\a.exe</Data><Data Name='User'/></EventData></Event>";
        let json = event_xml_to_json(xml).unwrap();
        assert_eq!(json["Event"]["System"]["EventID"], "3");
        assert_eq!(json["Event"]["System"]["Provider"]["#attributes"]["Name"], "Microsoft-Windows-Sysmon");
        assert_eq!(
            json["Event"]["System"]["TimeCreated"]["#attributes"]["SystemTime"],
            "2022-09-15T12:56:22.958249300Z"
        );
        assert_eq!(json["Event"]["EventData"]["Image"], "C:\\Temp\\a.exe");
        assert_eq!(json["Event"]["EventData"]["User"], "");
        assert!(event_xml_to_json("<Event><System>").is_err());
    }

    #[test]
    fn broken_xml_is_refused() {
        assert_eq!(event_data_fields("<EventData><Data Name=\"a\">x</EventData>"), None);
    }
}
