use std::borrow::Cow;
use std::fmt;

/// The value of one event field, with the type the log gave it.
///
/// Sigma compares values as text ("numbers and strings compare by text"), so [`Value::as_text`]
/// gives every scalar one canonical text form; the type is kept for output and for numeric
/// comparisons.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    List(Vec<Value>),
}

impl Value {
    /// The canonical text of a scalar (`Int(4624)` and `Str("4624")` both give `"4624"`).
    /// `None` for null and lists, which have no single text.
    pub fn as_text(&self) -> Option<Cow<'_, str>> {
        match self {
            Value::Str(s) => Some(Cow::Borrowed(s)),
            Value::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
            Value::Null | Value::List(_) => None,
            Value::Int(_) | Value::Float(_) => {
                let mut text = String::new();
                self.write_text(&mut text);
                Some(Cow::Owned(text))
            }
        }
    }

    /// Appends the text [`Value::as_text`] gives to `into`, without allocating once `into`
    /// has grown; false (and nothing appended) for null and lists.
    pub fn write_text(&self, into: &mut String) -> bool {
        use std::fmt::Write;
        // Writing to a `String` cannot fail.
        match self {
            Value::Str(s) => into.push_str(s),
            // Matching writes integers by the million (scanned fields): `itoa` is several
            // times faster than the formatting machinery.
            Value::Int(i) => into.push_str(itoa::Buffer::new().format(*i)),
            Value::Float(f) => write!(into, "{f}").expect("a String takes any text"),
            Value::Bool(b) => into.push_str(if *b { "true" } else { "false" }),
            Value::Null | Value::List(_) => return false,
        }
        true
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// An integer, from an integer value or a string holding a decimal or `0x` hex integer.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Str(s) => parse_int(s.trim()),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// This value with a numeric string turned into an integer, for fields whose type is an
    /// integer in every export (event ids, record ids) but which some exporters write as text.
    pub fn into_integer_if_numeric(self) -> Value {
        match &self {
            Value::Str(s) => match parse_int(s.trim()) {
                Some(i) => Value::Int(i),
                None => self,
            },
            _ => self,
        }
    }
}

fn parse_int(s: &str) -> Option<i64> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => i64::from_str_radix(hex, 16).ok(),
        None => s.parse().ok(),
    }
}

impl From<serde_json::Value> for Value {
    fn from(value: serde_json::Value) -> Self {
        match value {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(b),
            serde_json::Value::Number(n) => number_value(&n),
            serde_json::Value::String(s) => Value::Str(s),
            serde_json::Value::Array(items) => Value::List(items.into_iter().map(Value::from).collect()),
            // Objects are flattened by the normalizers before they get here; an object that
            // still reaches this point is kept as its JSON text rather than dropped.
            serde_json::Value::Object(map) => Value::Str(serde_json::Value::Object(map).to_string()),
        }
    }
}

fn number_value(n: &serde_json::Number) -> Value {
    if let Some(i) = n.as_i64() {
        Value::Int(i)
    } else if n.is_u64() {
        // Above i64::MAX (e.g. keyword masks): keep the exact digits as text.
        Value::Str(n.to_string())
    } else {
        Value::Float(n.as_f64().unwrap_or(f64::NAN))
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::List(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
            scalar => f.write_str(&scalar.as_text().unwrap_or_default()),
        }
    }
}

impl serde::Serialize for Value {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Null => serializer.serialize_unit(),
            Value::Bool(b) => serializer.serialize_bool(*b),
            Value::Int(i) => serializer.serialize_i64(*i),
            Value::Float(x) => serializer.serialize_f64(*x),
            Value::Str(s) => serializer.serialize_str(s),
            Value::List(items) => serializer.collect_seq(items),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_strings_share_their_text() {
        assert_eq!(Value::Int(4624).as_text(), Value::Str("4624".into()).as_text());
        assert_eq!(Value::Bool(true).as_text().as_deref(), Some("true"));
        assert_eq!(Value::Null.as_text(), None);
    }

    #[test]
    fn numeric_strings_become_integers_only_when_they_are_integers() {
        assert_eq!(Value::Str("4688".into()).into_integer_if_numeric(), Value::Int(4688));
        assert_eq!(Value::Str("0x10".into()).into_integer_if_numeric(), Value::Int(16));
        assert_eq!(Value::Str("Information".into()).into_integer_if_numeric(), Value::Str("Information".into()));
    }

    #[test]
    fn json_numbers_above_i64_keep_their_digits() {
        let big: serde_json::Value = serde_json::from_str("18446744073709551615").unwrap();
        assert_eq!(Value::from(big), Value::Str("18446744073709551615".into()));
    }
}
