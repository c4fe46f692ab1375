//! Splunk SPL. Search compares values ignoring case and `*` is its only wildcard; regular
//! expressions and field references become `| regex` and `| where` after the search, which is
//! only possible for tests every hit must pass (not under OR or NOT).

use crate::{Unsupported, inline_flags, number, operator, render_pattern, unsupported};
use harrier_ir::{Expr, FieldRefMode, Predicate, Test, Token};

pub fn query(condition: &Expr) -> Result<String, Unsupported> {
    let conjuncts = match condition {
        Expr::And(items) => items.clone(),
        other => vec![other.clone()],
    };
    let (after, search): (Vec<Expr>, Vec<Expr>) = conjuncts.into_iter().partition(needs_command);
    let mut text = match Expr::and(search) {
        Expr::Const(true) => "*".to_owned(),
        rest => expr(&rest)?,
    };
    for item in &after {
        let Expr::Pred(predicate) = item else { unreachable!("only predicates need a command") };
        text.push_str(" | ");
        text.push_str(&command(predicate)?);
    }
    Ok(text)
}

fn needs_command(item: &Expr) -> bool {
    matches!(item, Expr::Pred(Predicate { field: Some(_), test: Test::Regex { .. } | Test::FieldRef { .. } }))
}

fn expr(condition: &Expr) -> Result<String, Unsupported> {
    let wrapped = |item: &Expr| -> Result<String, Unsupported> {
        let text = expr(item)?;
        let compound = match item {
            Expr::And(_) => true,
            Expr::Or(items) => in_list(items)?.is_none(),
            _ => false,
        };
        Ok(if compound { format!("({text})") } else { text })
    };
    Ok(match condition {
        Expr::And(items) => items.iter().map(wrapped).collect::<Result<Vec<_>, _>>()?.join(" "),
        Expr::Or(items) => match in_list(items)? {
            Some(list) => list,
            None => items.iter().map(wrapped).collect::<Result<Vec<_>, _>>()?.join(" OR "),
        },
        Expr::Not(item) => format!("NOT {}", wrapped(item)?),
        Expr::Pred(predicate) => predicate_text(predicate)?,
        Expr::Const(true) => "*".into(),
        Expr::Const(false) => "NOT *".into(),
    })
}

/// `F IN ("a", "b")` for an OR of case-insensitive value tests on one field.
fn in_list(items: &[Expr]) -> Result<Option<String>, Unsupported> {
    let mut field = None;
    let mut values = Vec::new();
    for item in items {
        let Expr::Pred(Predicate { field: Some(name), test: Test::Matches { pattern, cased: false } }) = item else {
            return Ok(None);
        };
        if field.get_or_insert(name) != &name {
            return Ok(None);
        }
        values.push(value(pattern)?);
    }
    Ok(field.map(|field| format!("{} IN ({})", name(field), values.join(", "))))
}

fn name(field: &str) -> String {
    if field.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | ':')) {
        field.to_owned()
    } else {
        format!("\"{}\"", field.replace('"', "\\\""))
    }
}

/// A quoted search value: backslashes and quotes escaped, `*` the only wildcard.
fn value(pattern: &harrier_ir::Pattern) -> Result<String, Unsupported> {
    for token in pattern.tokens() {
        match token {
            Token::AnyChar => return unsupported("single-character wildcard `?` (Splunk search has only `*`)"),
            Token::Literal(text) if text.contains('*') => {
                return unsupported("a literal `*` in a value (Splunk search cannot escape it)");
            }
            _ => {}
        }
    }
    let text = render_pattern(pattern, "*", "?", &|text| text.replace('\\', "\\\\").replace('"', "\\\""));
    Ok(format!("\"{text}\""))
}

fn predicate_text(predicate: &Predicate) -> Result<String, Unsupported> {
    let Some(field) = predicate.field.as_deref() else {
        return match &predicate.test {
            Test::Matches { pattern, cased: false } => value(pattern),
            _ => unsupported("keyword search other than a value"),
        };
    };
    let field = name(field);
    Ok(match &predicate.test {
        Test::Matches { pattern, cased: false } => format!("{field}={}", value(pattern)?),
        Test::Matches { pattern, cased: true } => format!("{field}=CASE({})", value(pattern)?),
        Test::Cidr(network) => format!("{field}=\"{network}\""),
        Test::Compare { op, value } => {
            let operator = operator(*op, "=", "!=");
            format!("{field}{operator}{}", number(*value))
        }
        Test::Exists(true) => format!("{field}=*"),
        Test::Exists(false) | Test::IsNull => format!("NOT {field}=*"),
        Test::Regex { .. } => {
            return unsupported("regular expression under OR or NOT (Splunk tests it only as `| regex`)");
        }
        Test::FieldRef { .. } => {
            return unsupported("field reference under OR or NOT (Splunk compares fields only in `| where`)");
        }
        Test::TimePart { .. } => return unsupported("time-part modifier (`hour`, `day` ...)"),
    })
}

/// A test after the search: `| regex` or `| where`.
fn command(predicate: &Predicate) -> Result<String, Unsupported> {
    let field = name(predicate.field.as_deref().expect("a field"));
    Ok(match &predicate.test {
        Test::Regex { pattern, ignore_case, multi_line, dot_all } => {
            let pattern = inline_flags(pattern, *ignore_case, *multi_line, *dot_all);
            format!("regex {field}=\"{}\"", pattern.replace('\\', "\\\\").replace('"', "\\\""))
        }
        Test::FieldRef { other, mode: FieldRefMode::Equals } => format!("where lower({field})==lower({})", name(other)),
        Test::FieldRef { .. } => {
            // `like()` would read `%` and `_` in the other field's value as wildcards.
            return unsupported(
                "field reference with contains/startswith/endswith (Splunk's eval has no exact substring test)",
            );
        }
        _ => unreachable!("only regex and field references need a command"),
    })
}
