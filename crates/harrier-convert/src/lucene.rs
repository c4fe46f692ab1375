//! Elasticsearch/OpenSearch `query_string` (Lucene syntax).

use crate::{Profile, Unsupported, has_letters, number, regex, render_pattern, unsupported};
use harrier_ir::{CompareOp, Expr, Pattern, Predicate, Test};

/// Characters query_string reserves in terms (escaped with `\`; a space too).
const RESERVED: &str = "+-=&|><!(){}[]^\"~*?:\\/ ";

pub fn query(condition: &Expr, profile: &Profile) -> Result<String, Unsupported> {
    expr(condition, profile)
}

fn expr(condition: &Expr, profile: &Profile) -> Result<String, Unsupported> {
    Ok(match condition {
        Expr::And(items) => join(items, " AND ", profile)?,
        Expr::Or(items) => match grouped(items, profile)? {
            Some(group) => group,
            None => join(items, " OR ", profile)?,
        },
        Expr::Not(item) => format!("NOT {}", wrapped(item, profile)?),
        Expr::Pred(predicate) => predicate_text(predicate, profile)?,
        Expr::Const(true) => "*:*".into(),
        Expr::Const(false) => "NOT *:*".into(),
    })
}

fn join(items: &[Expr], operator: &str, profile: &Profile) -> Result<String, Unsupported> {
    let parts: Result<Vec<String>, Unsupported> = items.iter().map(|item| wrapped(item, profile)).collect();
    Ok(parts?.join(operator))
}

/// An operand of AND/OR/NOT: compound expressions in parentheses.
fn wrapped(item: &Expr, profile: &Profile) -> Result<String, Unsupported> {
    let text = expr(item, profile)?;
    Ok(if matches!(item, Expr::And(_) | Expr::Or(_)) { format!("({text})") } else { text })
}

/// `field:(a OR b OR c)` for an OR of value tests on one field, as pySigma writes it.
fn grouped(items: &[Expr], profile: &Profile) -> Result<Option<String>, Unsupported> {
    let mut field = None;
    let mut values = Vec::new();
    for item in items {
        let Expr::Pred(Predicate { field: Some(name), test: test @ (Test::Matches { .. } | Test::Regex { .. }) }) =
            item
        else {
            return Ok(None);
        };
        let (target, value) = field_and_value(name, test, profile)?;
        if field.get_or_insert_with(|| target.clone()) != &target {
            return Ok(None);
        }
        values.push(value);
    }
    Ok(field.map(|field| format!("{field}:({})", values.join(" OR "))))
}

fn predicate_text(predicate: &Predicate, profile: &Profile) -> Result<String, Unsupported> {
    let Some(field) = &predicate.field else {
        return match &predicate.test {
            Test::Matches { pattern, cased: false } => Ok(plain(pattern, false)),
            _ => unsupported("keyword search other than a value"),
        };
    };
    let field_name = escape_field(field);
    Ok(match &predicate.test {
        test @ (Test::Matches { .. } | Test::Regex { .. }) => {
            let (target, value) = field_and_value(field, test, profile)?;
            format!("{target}:{value}")
        }
        Test::Cidr(network) => format!("{field_name}:{}", escape(&network.to_string())),
        Test::Compare { op, value } => {
            let value = number(*value);
            match op {
                CompareOp::Lt => format!("{field_name}:<{value}"),
                CompareOp::Lte => format!("{field_name}:<={value}"),
                CompareOp::Gt => format!("{field_name}:>{value}"),
                CompareOp::Gte => format!("{field_name}:>={value}"),
                CompareOp::Eq => format!("{field_name}:{value}"),
                CompareOp::Neq => format!("(_exists_:{field_name} AND NOT {field_name}:{value})"),
            }
        }
        Test::Exists(true) => format!("_exists_:{field_name}"),
        Test::Exists(false) | Test::IsNull => format!("NOT _exists_:{field_name}"),
        Test::FieldRef { .. } => {
            return unsupported("field reference (`fieldref`): query_string compares no two fields");
        }
        Test::TimePart { .. } => return unsupported("time-part modifier (`hour`, `day` ...)"),
    })
}

/// The field a value test queries and the value as written there.
fn field_and_value(field: &str, test: &Test, profile: &Profile) -> Result<(String, String), Unsupported> {
    let keyword = |field: &str| match &profile.wildcard_suffix {
        Some(suffix) => format!("{}{suffix}", escape_field(field)),
        None => escape_field(field),
    };
    match test {
        Test::Matches { pattern, cased } => {
            let ignores_case = profile.ignores_case(field);
            if *cased && ignores_case {
                return unsupported(format!("case-sensitive match (`cased`) on `{field}`, which ignores case"));
            }
            let exact_case_is_right = *cased || ignores_case || profile.is_canonical(field) || !has_letters(pattern);
            if exact_case_is_right {
                let on_keyword = pattern.has_wildcards() || (*cased && has_letters(pattern));
                let target = if on_keyword { keyword(field) } else { escape_field(field) };
                Ok((target, plain(pattern, profile.quote_values && !pattern.has_wildcards())))
            } else {
                Ok((keyword(field), format!("/{}/", both_cases_regex(pattern))))
            }
        }
        Test::Regex { pattern, ignore_case, .. } => {
            let ignore_case = *ignore_case && !profile.ignores_case(field);
            Ok((keyword(field), format!("/{}/", regex::to_lucene(pattern, ignore_case)?)))
        }
        _ => unreachable!("only value tests"),
    }
}

/// A value with Lucene's wildcards; quoted (and then without wildcards) when asked.
fn plain(pattern: &Pattern, quoted: bool) -> String {
    if quoted && let Some(text) = pattern.as_literal() {
        return format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""));
    }
    if pattern.as_literal() == Some("") {
        return "\"\"".into();
    }
    render_pattern(pattern, "*", "?", &escape)
}

/// A case-insensitive form of a pattern for a case-sensitive keyword field: a Lucene regular
/// expression in which each letter is a class of both its cases.
fn both_cases_regex(pattern: &Pattern) -> String {
    let letters = |text: &str| -> String {
        text.chars()
            .map(|c| {
                let (lower, upper): (String, String) = (c.to_lowercase().collect(), c.to_uppercase().collect());
                if lower != upper {
                    format!("[{lower}{upper}]")
                } else if regex::LUCENE_RESERVED.contains(c) {
                    format!("\\{c}")
                } else {
                    c.to_string()
                }
            })
            .collect()
    };
    render_pattern(pattern, ".*", ".", &letters)
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if RESERVED.contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Field names keep their dots; other reserved characters are escaped.
fn escape_field(field: &str) -> String {
    escape(field)
}
