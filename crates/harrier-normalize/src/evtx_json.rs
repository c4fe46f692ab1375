//! The hot path: `evtx_dump`-shaped JSON straight from bytes to fields, with no JSON tree in
//! between. Every EVTX record takes this path; the shapes it walks are those of
//! [`FieldBuilder::push_element`](crate::builder::FieldBuilder), one key at a time.

use crate::builder::{FieldBuilder, is_namespace_declaration};
use harrier_event::Value;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::fmt;

/// Reads `{"Event": {...}}` into the builder. Keys beside `Event` are kept under their own
/// names, as the tree path does.
pub(crate) struct Document<'b>(pub &'b mut FieldBuilder);

impl<'de> DeserializeSeed<'de> for Document<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Document<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an evtx_dump JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = crate::key::next_key(&mut map)? {
            if key == "Event" {
                map.next_value_seed(Sections(&mut *self.0))?;
            } else {
                let value: serde_json::Value = map.next_value()?;
                crate::layout::push_leftover(self.0, &key, value);
            }
        }
        Ok(())
    }
}

/// The sections of `Event`: `System`, `EventData`, `UserData`, and any other.
struct Sections<'b>(&'b mut FieldBuilder);

impl<'de> DeserializeSeed<'de> for Sections<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Sections<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("the sections of an event")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let builder = self.0;
        while let Some(section) = crate::key::next_key(&mut map)? {
            if section == "#attributes" {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            let mark = builder.enter("Event");
            builder.enter(&section);
            let wraps_inner_element = section == "UserData";
            map.next_value_seed(Container { builder: &mut *builder, name: &section, wraps_inner_element })?;
            builder.leave(mark);
        }
        Ok(())
    }
}

/// An element whose children are the fields (`System`, `EventData`, UserData's inner
/// element). A scalar in its place becomes a field of its own name; null is nothing.
struct Container<'b, 'n> {
    builder: &'b mut FieldBuilder,
    name: &'n str,
    /// `UserData`: one more element wraps the fields.
    wraps_inner_element: bool,
}

impl<'de> DeserializeSeed<'de> for Container<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Container<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an element holding fields")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let builder = self.builder;
        while let Some(child) = crate::key::next_key(&mut map)? {
            if child == "#attributes" || is_namespace_declaration(&child) {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            let mark = builder.enter(&child);
            if self.wraps_inner_element {
                map.next_value_seed(Container { builder: &mut *builder, name: &child, wraps_inner_element: false })?;
            } else {
                map.next_value_seed(Element { builder: &mut *builder, name: &child })?;
            }
            builder.leave(mark);
        }
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_none<E>(self) -> Result<(), E> {
        Ok(())
    }
    forward_scalars_to_field!();
}

/// One element: attributes, text, child elements, or a plain value.
struct Element<'b, 'n> {
    builder: &'b mut FieldBuilder,
    name: &'n str,
}

impl<'de> DeserializeSeed<'de> for Element<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Element<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an element")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let builder = self.builder;
        while let Some(key) = crate::key::next_key(&mut map)? {
            match &*key {
                "#attributes" => map.next_value_seed(Attributes { builder: &mut *builder, element: self.name })?,
                "#text" => {
                    let value = map.next_value_seed(AnyValue)?;
                    builder.push_here(self.name, value);
                }
                child if is_namespace_declaration(child) => {
                    map.next_value::<IgnoredAny>()?;
                }
                child => {
                    let mark = builder.enter(child);
                    map.next_value_seed(Element { builder: &mut *builder, name: child })?;
                    builder.leave(mark);
                }
            }
        }
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        self.builder.push_here(self.name, Value::Null);
        Ok(())
    }
    fn visit_none<E>(self) -> Result<(), E> {
        self.builder.push_here(self.name, Value::Null);
        Ok(())
    }
    forward_scalars_to_field!();
}

/// `#attributes`: each becomes `Element_Attribute`.
struct Attributes<'b, 'n> {
    builder: &'b mut FieldBuilder,
    element: &'n str,
}

impl<'de> DeserializeSeed<'de> for Attributes<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Attributes<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("attributes")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(attribute) = crate::key::next_key(&mut map)? {
            let value = map.next_value_seed(AnyValue)?;
            self.builder.push_attribute(self.element, &attribute, value);
        }
        Ok(())
    }
}

/// Scalars and lists of a field, pushed at the current path under the visitor's name.
macro_rules! forward_scalars_to_field {
    () => {
        fn visit_bool<E>(self, value: bool) -> Result<(), E> {
            self.builder.push_here(self.name, Value::Bool(value));
            Ok(())
        }
        fn visit_i64<E>(self, value: i64) -> Result<(), E> {
            self.builder.push_here(self.name, Value::Int(value));
            Ok(())
        }
        fn visit_u64<E>(self, value: u64) -> Result<(), E> {
            self.builder.push_here(self.name, unsigned(value));
            Ok(())
        }
        fn visit_f64<E>(self, value: f64) -> Result<(), E> {
            self.builder.push_here(self.name, Value::Float(value));
            Ok(())
        }
        fn visit_str<E>(self, value: &str) -> Result<(), E> {
            self.builder.push_here(self.name, Value::Str(value.to_owned()));
            Ok(())
        }
        fn visit_string<E>(self, value: String) -> Result<(), E> {
            self.builder.push_here(self.name, Value::Str(value));
            Ok(())
        }
        fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
            let list = AnyValue.visit_seq(seq)?;
            self.builder.push_here(self.name, list);
            Ok(())
        }
    };
}
use forward_scalars_to_field;

/// Any JSON value as a field value; an object (rare inside a field) is kept as its JSON text.
struct AnyValue;

impl<'de> DeserializeSeed<'de> for AnyValue {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for AnyValue {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, value: bool) -> Result<Value, E> {
        Ok(Value::Bool(value))
    }
    fn visit_i64<E>(self, value: i64) -> Result<Value, E> {
        Ok(Value::Int(value))
    }
    fn visit_u64<E>(self, value: u64) -> Result<Value, E> {
        Ok(unsigned(value))
    }
    fn visit_f64<E>(self, value: f64) -> Result<Value, E> {
        Ok(Value::Float(value))
    }
    fn visit_str<E>(self, value: &str) -> Result<Value, E> {
        Ok(Value::Str(value.to_owned()))
    }
    fn visit_string<E>(self, value: String) -> Result<Value, E> {
        Ok(Value::Str(value))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element_seed(AnyValue)? {
            items.push(item);
        }
        Ok(Value::List(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Value, A::Error> {
        let object: serde_json::Value =
            serde::Deserialize::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
        Ok(Value::from(object))
    }
}

/// Integers above i64::MAX keep their exact digits as text, as [`Value::from`] does.
fn unsigned(value: u64) -> Value {
    i64::try_from(value).map_or_else(|_| Value::Str(value.to_string()), Value::Int)
}
