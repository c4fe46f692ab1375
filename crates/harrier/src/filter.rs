//! Event filters as people type them (`Image=*\cmd.exe`, `EventID!=4624`, `LogonType>=3`,
//! `CommandLine|contains=-enc`), compiled as the Sigma detection they mean.

use crate::Error;
use crate::exclude::condition_of;
use harrier_engine::Engine;
use harrier_event::Event;

/// Conditions every event must meet: `FIELD=VALUE` (Sigma's matching: case-insensitive, `*`
/// and `?` wildcards, numbers compared as text), `FIELD!=VALUE`, `FIELD<N`, `<=`, `>`, `>=`,
/// and Sigma modifiers on the field (`FIELD|contains=VALUE`, `|endswith`, `|re` ...).
pub struct EventFilter {
    engine: Engine,
    clauses: Vec<String>,
}

/// The comparison of one clause.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operator {
    Equal,
    NotEqual,
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
}

impl Operator {
    /// Longest first, so that `<=` is not read as `<`.
    const ALL: [(&'static str, Operator); 6] = [
        ("!=", Operator::NotEqual),
        ("<=", Operator::LessOrEqual),
        (">=", Operator::GreaterOrEqual),
        ("=", Operator::Equal),
        ("<", Operator::Less),
        (">", Operator::Greater),
    ];

    /// The Sigma modifier of a numeric comparison.
    fn modifier(self) -> Option<&'static str> {
        match self {
            Operator::Less => Some("lt"),
            Operator::LessOrEqual => Some("lte"),
            Operator::Greater => Some("gt"),
            Operator::GreaterOrEqual => Some("gte"),
            Operator::Equal | Operator::NotEqual => None,
        }
    }
}

impl EventFilter {
    /// Compiles the clauses; an error names the clause that cannot be read.
    pub fn parse<S: AsRef<str>>(clauses: &[S]) -> Result<EventFilter, Error> {
        let mut detection = yaml_serde::Mapping::new();
        let mut condition = Vec::new();
        for (index, clause) in clauses.iter().enumerate() {
            let clause = clause.as_ref();
            let (field, operator, value) = split(clause)?;
            let name = format!("clause{index}");
            let key = match operator.modifier() {
                Some(modifier) => format!("{field}|{modifier}"),
                None => field.to_owned(),
            };
            let value = match operator.modifier() {
                Some(_) => number(value)
                    .ok_or_else(|| Error::Options(format!("`{clause}`: `{value}` is not a number to compare with")))?,
                None => yaml_serde::Value::String(value.to_owned()),
            };
            let mut selection = yaml_serde::Mapping::new();
            selection.insert(key.into(), value);
            detection.insert(name.clone().into(), yaml_serde::Value::Mapping(selection));
            condition.push(if operator == Operator::NotEqual { format!("not {name}") } else { name });
        }
        let condition = if condition.is_empty() { "true".to_owned() } else { condition.join(" and ") };
        let clauses: Vec<String> = clauses.iter().map(|clause| clause.as_ref().to_owned()).collect();
        let expr = if clauses.is_empty() {
            harrier_ir::Expr::Const(true)
        } else {
            detection.insert("condition".into(), condition.into());
            condition_of(&yaml_serde::Value::Mapping(detection))
                .map_err(|why| Error::Options(format!("`{}`: {why}", clauses.join("` `"))))?
        };
        let (engine, errors) = Engine::new([&expr]);
        if let Some((_, error)) = errors.first() {
            return Err(Error::Options(format!("`{}`: {error}", clauses.join("` `"))));
        }
        Ok(EventFilter { engine, clauses })
    }

    /// Whether an event meets every clause.
    pub fn matches(&self, event: &Event) -> bool {
        if self.clauses.is_empty() {
            return true;
        }
        let mut hits = Vec::new();
        self.engine.matches(event, &mut hits);
        !hits.is_empty()
    }

    /// The clauses as given.
    pub fn clauses(&self) -> &[String] {
        &self.clauses
    }
}

/// `FIELD`, the operator and `VALUE` of a clause.
fn split(clause: &str) -> Result<(&str, Operator, &str), Error> {
    let at = clause.find(['=', '!', '<', '>']).filter(|&at| at > 0);
    let parsed = at.and_then(|at| {
        let (field, rest) = clause.split_at(at);
        let (symbol, operator) = Operator::ALL.iter().find(|(symbol, _)| rest.starts_with(symbol))?;
        Some((field.trim(), *operator, &rest[symbol.len()..]))
    });
    match parsed {
        Some((field, operator, value)) if !field.is_empty() => Ok((field, operator, value)),
        _ => Err(Error::Options(format!(
            "`{clause}` is not a condition: write FIELD=VALUE (wildcards * and ?), FIELD!=VALUE, FIELD>N, \
             FIELD<=N, or FIELD|contains=VALUE"
        ))),
    }
}

fn number(text: &str) -> Option<yaml_serde::Value> {
    let text = text.trim();
    if let Ok(integer) = text.parse::<i64>() {
        return Some(yaml_serde::Value::Number(integer.into()));
    }
    text.parse::<f64>().ok().filter(|number| number.is_finite()).map(|number| yaml_serde::Value::Number(number.into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use harrier_event::{Field, Provenance, SourceFile, Value};
    use std::sync::Arc;

    fn event(fields: &[(&str, Value)]) -> Event {
        let provenance =
            Provenance { source: Arc::new(SourceFile { path: "t".into() }), record_id: 1, timestamp: None };
        let fields = fields.iter().map(|(name, value)| Field::new(name, value.clone()));
        Event::new(provenance, fields.collect())
    }

    #[test]
    fn clauses_mean_what_sigma_means() {
        let cmd = event(&[
            ("EventID", Value::Int(1)),
            ("Image", Value::Str(r"C:\Windows\System32\CMD.EXE".into())),
            ("LogonType", Value::Str("3".into())),
        ]);
        let holds = |clauses: &[&str]| EventFilter::parse(clauses).unwrap().matches(&cmd);
        assert!(holds(&[r"Image=*\cmd.exe"]), "wildcards, case ignored");
        assert!(holds(&["EventID=1", "LogonType>=3"]), "every clause, numbers compared as numbers");
        assert!(!holds(&["EventID!=1"]));
        assert!(holds(&["EventID!=4624", "Image|contains=system32"]));
        assert!(!holds(&["LogonType<3"]));
        assert!(!holds(&["ParentImage=*"]), "an absent field does not match");
        assert!(holds(&[]), "no clause takes every event");
    }

    #[test]
    fn a_clause_that_cannot_be_read_is_named() {
        for bad in ["Image", "=x", "EventID>four"] {
            let error = EventFilter::parse(&[bad]).err().unwrap().to_string();
            assert!(error.contains(bad), "{error}");
        }
    }
}
