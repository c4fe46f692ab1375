//! Fields a routed source cannot carry are unknown, not absent.
//!
//! Sysmon-style rules routed to Security 4688 test fields 4688 has no counterpart for
//! (`Hashes`, `OriginalFileName`), or that only later versions of the event carry
//! (`ParentProcessName` from version 2, Windows 10 / Server 2016). Under Sigma's absent-field
//! semantics a test on such a field is false and `not` over it true: `selection and not
//! filter` fires on every old 4688 event, whatever its parent. Here a test on a field the
//! event's source and version cannot carry is *unknown* (Kleene's three-valued logic: `not
//! unknown` is unknown, `unknown and false` false, `unknown or true` true), and a rule hits only
//! where its condition is true.
//!
//! Two-valued engines run it unchanged: a condition `C` becomes `T(C)`, "C is certainly true",
//! built from the predicates and a guard per field saying when the event can carry it. The
//! hits this holds back are counted rather than dropped silently: an event plain Sigma hits
//! (`C`, the field taken as absent) that is neither certainly true nor certainly false. Plain
//! Sigma's reading is one way of filling in the unknown tests, and Kleene's logic is sound
//! (`F(C)`, "certainly false", is false whichever way they are filled in), so what `C` hits is
//! never certainly false: the undecided events are `C and not T(C)`, and the rule keeps `C`
//! beside `T(C)` rather than a third expression.

use harrier_ir::{CompareOp, Expr, FieldRefMode, Predicate, Test};
use serde::Deserialize;
use std::collections::BTreeMap;

/// What a source cannot carry (after its field mapping).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Uncarried {
    /// Fields no version of the event has.
    #[serde(default)]
    pub always: Vec<String>,
    /// Fields the event has from a version on (`Version` in its System element).
    #[serde(default)]
    pub since_version: BTreeMap<u32, Vec<String>>,
}

/// Whether an event of the source can carry a field.
enum Carried {
    Always,
    Never,
    /// When this condition holds on the event.
    When(Expr),
}

impl Uncarried {
    pub fn is_empty(&self) -> bool {
        self.always.is_empty() && self.since_version.is_empty()
    }

    fn carried(&self, field: &str) -> Carried {
        if self.always.iter().any(|name| name.eq_ignore_ascii_case(field)) {
            return Carried::Never;
        }
        let since =
            self.since_version.iter().find(|(_, fields)| fields.iter().any(|name| name.eq_ignore_ascii_case(field)));
        match since {
            // An event without a `Version` is taken as the latest form: its fields are there or
            // absent, as Sigma says.
            Some((version, _)) => Carried::When(Expr::not(Expr::Pred(Predicate {
                field: Some("Version".to_owned()),
                test: Test::Compare { op: CompareOp::Lt, value: f64::from(*version) },
            }))),
            None => Carried::Always,
        }
    }

    /// Whether a predicate's fields can be carried.
    fn predicate(&self, predicate: &Predicate) -> Carried {
        let mut fields = predicate.field.iter().map(String::as_str).collect::<Vec<_>>();
        if let Test::FieldRef {
            other,
            mode: FieldRefMode::Equals | FieldRefMode::Contains | FieldRefMode::StartsWith | FieldRefMode::EndsWith,
        } = &predicate.test
        {
            fields.push(other);
        }
        let mut guards = Vec::new();
        for field in fields {
            match self.carried(field) {
                Carried::Never => return Carried::Never,
                Carried::When(guard) => guards.push(guard),
                Carried::Always => {}
            }
        }
        if guards.is_empty() { Carried::Always } else { Carried::When(Expr::and(guards)) }
    }

    /// Whether a condition tests a field this source may not carry.
    pub fn touches(&self, condition: &Expr) -> bool {
        condition.predicates().iter().any(|predicate| !matches!(self.predicate(predicate), Carried::Always))
    }

    /// `T(C)` (`certainly == true`) or `F(C)` (`false`): when the condition is certainly true,
    /// or certainly false, on an event of this source.
    pub fn certainly(&self, condition: &Expr, truth: bool) -> Expr {
        match condition {
            Expr::Pred(predicate) => {
                let test = if truth { condition.clone() } else { Expr::not(condition.clone()) };
                match self.predicate(predicate) {
                    Carried::Always => test,
                    Carried::Never => Expr::Const(false),
                    Carried::When(guard) => Expr::and(vec![guard, test]),
                }
            }
            Expr::And(items) if truth => Expr::and(items.iter().map(|item| self.certainly(item, true)).collect()),
            Expr::And(items) => Expr::or(items.iter().map(|item| self.certainly(item, false)).collect()),
            Expr::Or(items) if truth => Expr::or(items.iter().map(|item| self.certainly(item, true)).collect()),
            Expr::Or(items) => Expr::and(items.iter().map(|item| self.certainly(item, false)).collect()),
            Expr::Not(inner) => self.certainly(inner, !truth),
            Expr::Const(value) => Expr::Const(*value == truth),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use harrier_event::{Event, Field, Provenance, SourceFile, Value};
    use harrier_ir::Pattern;
    use std::sync::Arc;

    fn equals(field: &str, value: &str) -> Expr {
        Expr::Pred(Predicate {
            field: Some(field.into()),
            test: Test::Matches { pattern: Pattern::literal(value), cased: false },
        })
    }

    fn event(version: Option<i64>, parent: Option<&str>) -> Event {
        let provenance =
            Provenance { source: Arc::new(SourceFile { path: "t".into() }), record_id: 1, timestamp: None };
        let mut fields = vec![("NewProcessName", Value::Str("powershell.exe".into()))];
        fields.extend(version.map(|version| ("Version", Value::Int(version))));
        fields.extend(parent.map(|parent| ("ParentProcessName", Value::Str(parent.into()))));
        Event::new(provenance, fields.into_iter().map(|(name, value)| Field::new(name, value)).collect())
    }

    /// (certainly true, certainly false, undecided) of a condition on an event, undecided as
    /// the hunt counts it: plain Sigma hits and it is not certainly true. Checks on the way
    /// that what plain Sigma hits is never certainly false, which that count relies on.
    fn truth(uncarried: &Uncarried, condition: &Expr, event: &Event) -> (bool, bool, bool) {
        let holds = |expr: &Expr| {
            let (engine, errors) = harrier_engine::Engine::new([expr]);
            assert!(errors.is_empty());
            let mut hits = Vec::new();
            engine.matches(event, &mut hits);
            !hits.is_empty()
        };
        let (certainly_true, certainly_false, plain) = (
            holds(&uncarried.certainly(condition, true)),
            holds(&uncarried.certainly(condition, false)),
            holds(condition),
        );
        assert!(!(plain && certainly_false), "plain Sigma hits what is certainly false: {condition:?}");
        (certainly_true, certainly_false, plain && !certainly_true)
    }

    #[test]
    fn tests_on_fields_a_version_cannot_carry_are_unknown_in_kleene_logic() {
        let uncarried = Uncarried {
            always: vec!["Hashes".into()],
            since_version: BTreeMap::from([(2, vec!["ParentProcessName".into()])]),
        };
        let selection = equals("NewProcessName", "powershell.exe");
        let filter = equals("ParentProcessName", "explorer.exe");
        let rule = Expr::and(vec![selection.clone(), Expr::not(filter.clone())]);
        let (old, new, explorer) =
            (event(Some(1), None), event(Some(2), Some("cmd.exe")), event(Some(2), Some("explorer.exe")));
        assert_eq!(truth(&uncarried, &rule, &old), (false, false, true), "not unknown is unknown: undecided");
        assert_eq!(truth(&uncarried, &rule, &new), (true, false, false), "version 2 carries it: decided");
        assert_eq!(truth(&uncarried, &rule, &explorer), (false, true, false));
        assert_eq!(
            truth(&uncarried, &rule, &event(None, None)),
            (true, false, false),
            "no Version: absent, as Sigma says"
        );
        let or_true = Expr::or(vec![filter.clone(), selection.clone()]);
        assert_eq!(truth(&uncarried, &or_true, &old), (true, false, false), "unknown or true is true");
        let and_false = Expr::and(vec![filter, equals("NewProcessName", "cmd.exe")]);
        assert_eq!(truth(&uncarried, &and_false, &old), (false, true, false), "unknown and false is false");
        let never = Expr::not(equals("Hashes", "x"));
        assert_eq!(truth(&uncarried, &never, &new), (false, false, true), "a field no version carries");
        assert!(!uncarried.touches(&selection) && uncarried.touches(&rule));
    }
}
