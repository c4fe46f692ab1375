//! The little language of `data/splunk-fields.yml`: how one field is derived.

use harrier_event::{Event, Value};

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Derivation {
    Copy(String),
    Basename(String),
    Coalesce(Vec<String>),
    Const(String),
    /// Literal text and `{Field}` references, in order.
    Format(Vec<Piece>),
    Map {
        field: String,
        pairs: Vec<(String, String)>,
    },
    Time,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Piece {
    Text(String),
    Field(String),
}

impl Derivation {
    pub(crate) fn parse(text: &str) -> Result<Derivation, String> {
        let text = text.trim();
        let Some(open) = text.find('(') else {
            return Ok(Derivation::Copy(text.to_owned()));
        };
        let inner = text[open + 1..].strip_suffix(')').ok_or_else(|| format!("`{text}`: missing `)`"))?;
        let arguments = || inner.split(',').map(|argument| argument.trim().to_owned()).collect::<Vec<_>>();
        Ok(match &text[..open] {
            "basename" => Derivation::Basename(inner.trim().to_owned()),
            "coalesce" => Derivation::Coalesce(arguments()),
            "const" => Derivation::Const(inner.to_owned()),
            "format" => Derivation::Format(format_pieces(inner)?),
            "time" => Derivation::Time,
            "map" => {
                let mut items = arguments().into_iter();
                let field = items.next().ok_or("map needs a field")?;
                let pairs = items
                    .map(|pair| {
                        pair.split_once('=')
                            .map(|(from, to)| (from.to_owned(), to.to_owned()))
                            .ok_or_else(|| format!("`{pair}` is not from=to"))
                    })
                    .collect::<Result<_, _>>()?;
                Derivation::Map { field, pairs }
            }
            other => return Err(format!("unknown derivation `{other}`")),
        })
    }

    pub(crate) fn apply(&self, event: &Event) -> Option<Value> {
        match self {
            Derivation::Copy(field) => present(event, field).cloned(),
            Derivation::Basename(field) => {
                let text = present(event, field)?.as_text()?;
                Some(Value::Str(text.rsplit(['\\', '/']).next().unwrap_or_default().to_owned()))
            }
            Derivation::Coalesce(fields) => fields.iter().find_map(|field| present(event, field)).cloned(),
            Derivation::Const(text) => Some(Value::Str(text.clone())),
            Derivation::Format(pieces) => {
                let mut out = String::new();
                for piece in pieces {
                    match piece {
                        Piece::Text(text) => out.push_str(text),
                        Piece::Field(field) => out.push_str(&present(event, field)?.as_text()?),
                    }
                }
                Some(Value::Str(out))
            }
            Derivation::Map { field, pairs } => {
                let text = present(event, field)?.as_text()?;
                pairs.iter().find(|(from, _)| from.eq_ignore_ascii_case(&text)).map(|(_, to)| Value::Str(to.clone()))
            }
            Derivation::Time => event.timestamp().map(|time| Value::Float(time.unix_micros() as f64 / 1e6)),
        }
    }
}

/// A field with a non-empty value.
fn present<'e>(event: &'e Event, field: &str) -> Option<&'e Value> {
    event.get(field).filter(|value| !crate::is_empty(value))
}

fn format_pieces(text: &str) -> Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let close = rest[open..].find('}').ok_or_else(|| format!("`{text}`: missing `}}`"))? + open;
        pieces.push(Piece::Text(rest[..open].to_owned()));
        pieces.push(Piece::Field(rest[open + 1..close].to_owned()));
        rest = &rest[close + 1..];
    }
    pieces.push(Piece::Text(rest.to_owned()));
    Ok(pieces)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derivations_parse() {
        assert_eq!(Derivation::parse("Image"), Ok(Derivation::Copy("Image".into())));
        assert_eq!(
            Derivation::parse("map(Initiated, true=outbound)"),
            Ok(Derivation::Map { field: "Initiated".into(), pairs: vec![("true".into(), "outbound".into())] })
        );
        assert_eq!(
            Derivation::parse("format(a:{Channel})"),
            Ok(Derivation::Format(vec![
                Piece::Text("a:".into()),
                Piece::Field("Channel".into()),
                Piece::Text("".into())
            ]))
        );
        assert!(Derivation::parse("nope(x)").is_err());
    }
}
