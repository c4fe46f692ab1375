//! Rows: what flows between pipeline commands.

use harrier_event::{Event, Field, FieldName, Provenance, SourceFile, Value};
use std::borrow::Cow;
use std::sync::Arc;

/// Fields by exact name, in order, the event the row came from (none for aggregates) and
/// the logs whose events made it (sorted by path, for aggregates too).
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// By short name: a row's fields have no paths.
    pub fields: Vec<(FieldName, Value)>,
    pub origin: Option<Provenance>,
    pub sources: Vec<Arc<SourceFile>>,
}

impl Row {
    pub fn from_event(event: &Event) -> Row {
        Row {
            fields: event.fields().iter().map(|field| (FieldName::from(field.name()), field.value.clone())).collect(),
            origin: Some(event.provenance.clone()),
            sources: vec![event.provenance.source.clone()],
        }
    }

    pub fn empty() -> Row {
        Row { fields: Vec::new(), origin: None, sources: Vec::new() }
    }

    /// Adds the sources of another row to this one's.
    pub fn add_sources(&mut self, other: &[Arc<SourceFile>]) {
        for source in other {
            if let Err(at) = self.sources.binary_search_by(|known| known.path.cmp(&source.path)) {
                self.sources.insert(at, source.clone());
            }
        }
    }

    /// The value of a field (first occurrence), nulls counting as absent.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.fields
            .iter()
            .find(|(field, _)| field.name() == name)
            .map(|(_, value)| value)
            .filter(|value| !value.is_null())
    }

    pub fn text(&self, name: &str) -> Option<Cow<'_, str>> {
        self.get(name).and_then(text_of)
    }

    /// Sets a field, replacing every earlier occurrence; a null removes it.
    pub fn set(&mut self, name: &str, value: Value) {
        if value.is_null() {
            self.remove(name);
            return;
        }
        match self.fields.iter().position(|(field, _)| field.name() == name) {
            Some(at) => {
                self.fields[at].1 = value;
                let mut index = at + 1;
                while index < self.fields.len() {
                    if self.fields[index].0.name() == name {
                        self.fields.remove(index);
                    } else {
                        index += 1;
                    }
                }
            }
            None => self.fields.push((FieldName::from(name), value)),
        }
    }

    pub fn remove(&mut self, name: &str) {
        self.fields.retain(|(field, _)| field.name() != name);
    }

    /// The row as an event, for the search-language engine.
    pub fn to_event(&self) -> Event {
        let provenance = self.origin.clone().unwrap_or_else(|| Provenance {
            source: Arc::new(harrier_event::SourceFile { path: String::new() }),
            record_id: 0,
            timestamp: None,
        });
        let fields = self.fields.iter().map(|(name, value)| Field::named(name.clone(), value.clone()));
        Event::new(provenance, fields.collect())
    }
}

/// The text of a scalar; a multivalue's values joined by newlines (as Splunk shows them).
pub fn text_of(value: &Value) -> Option<Cow<'_, str>> {
    match value {
        Value::List(items) => Some(Cow::Owned(
            items.iter().filter_map(|item| text_of(item).map(Cow::into_owned)).collect::<Vec<_>>().join("\n"),
        )),
        Value::Float(number) => Some(Cow::Owned(format_number(*number))),
        other => other.as_text(),
    }
}

/// A number as Splunk writes it: no fraction when whole.
pub fn format_number(number: f64) -> String {
    if number.fract() == 0.0 && number.abs() < 1e15 { format!("{}", number as i64) } else { number.to_string() }
}

/// Values as one field value, as Splunk keeps a multivalue: one value is that value, none
/// is null (the field absent).
pub fn multivalue(mut items: Vec<Value>) -> Value {
    match items.len() {
        0 => Value::Null,
        1 => items.pop().expect("one item"),
        _ => Value::List(items),
    }
}

/// Each value of a field: the items of a multivalue, or the one scalar.
pub fn values_of(value: &Value) -> Vec<&Value> {
    match value {
        Value::List(items) => items.iter().filter(|item| !item.is_null()).collect(),
        other => vec![other],
    }
}

/// A number, from a number or a text that reads as one (Splunk types values when it needs to).
pub fn number_of(value: &Value) -> Option<f64> {
    match value {
        Value::Int(number) => Some(*number as f64),
        Value::Float(number) => Some(*number),
        Value::Str(text) => text.trim().parse::<f64>().ok().filter(|number| number.is_finite()),
        Value::Bool(_) | Value::Null | Value::List(_) => None,
    }
}

/// A whole number as `Int`, otherwise `Float`.
pub fn number_value(number: f64) -> Value {
    if number.fract() == 0.0 && number.abs() < 9e15 { Value::Int(number as i64) } else { Value::Float(number) }
}
