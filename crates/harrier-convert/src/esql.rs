//! ES|QL: `FROM index | WHERE ...`. Strings compare through `TO_LOWER` unless the field
//! ignores case already; `NOT` is guarded with `COALESCE` so an absent field makes it true.

use crate::{Profile, Unsupported, has_letters, lowered, number, operator, regex, render_pattern, unsupported};
use harrier_ir::{Expr, FieldRefMode, Predicate, Test};

pub fn query(condition: &Expr, profile: &Profile, source: &str) -> Result<String, Unsupported> {
    Ok(format!("FROM {source} | WHERE {}", expr(condition, profile)?))
}

pub(crate) fn expr(condition: &Expr, profile: &Profile) -> Result<String, Unsupported> {
    let join = |items: &[Expr], operator: &str| -> Result<String, Unsupported> {
        let parts: Result<Vec<String>, Unsupported> =
            items.iter().map(|item| expr(item, profile).map(|text| format!("({text})"))).collect();
        Ok(parts?.join(operator))
    };
    Ok(match condition {
        Expr::And(items) => join(items, " AND ")?,
        Expr::Or(items) => join(items, " OR ")?,
        Expr::Not(item) => format!("NOT COALESCE(({}), FALSE)", expr(item, profile)?),
        Expr::Pred(predicate) => predicate_text(predicate, profile)?,
        Expr::Const(value) => value.to_string().to_uppercase(),
    })
}

pub(crate) fn field(name: &str) -> String {
    if name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '@')) {
        name.to_owned()
    } else {
        format!("`{}`", name.replace('`', "``"))
    }
}

/// A string in triple quotes, where backslashes are taken as written.
pub(crate) fn string(text: &str) -> Result<String, Unsupported> {
    if text.contains("\"\"\"") || text.ends_with('"') {
        return unsupported("a value ES|QL cannot quote (it holds or ends in `\"`)");
    }
    Ok(format!("\"\"\"{text}\"\"\""))
}

fn predicate_text(predicate: &Predicate, profile: &Profile) -> Result<String, Unsupported> {
    let Some(name) = predicate.field.as_deref() else {
        return unsupported("keyword search (no field) in ES|QL");
    };
    if name == "_datamodel" {
        return unsupported("data model membership (`tstats`) in ES|QL: a test on a multivalue field");
    }
    let column = field(name);
    Ok(match &predicate.test {
        Test::Matches { pattern, cased } => {
            let as_written =
                *cased || profile.ignores_case(name) || profile.is_canonical(name) || !has_letters(pattern);
            let (subject, pattern) =
                if as_written { (column, pattern.clone()) } else { (format!("TO_LOWER({column})"), lowered(pattern)) };
            match pattern.as_literal() {
                Some(text) => format!("{subject} == {}", string(text)?),
                None => {
                    let like = render_pattern(&pattern, "*", "?", &|text| {
                        text.replace('\\', "\\\\").replace('*', "\\*").replace('?', "\\?")
                    });
                    format!("{subject} LIKE {}", string(&like)?)
                }
            }
        }
        Test::Regex { pattern, ignore_case, .. } => {
            format!("{column} RLIKE {}", string(&regex::to_lucene(pattern, *ignore_case)?)?)
        }
        Test::Cidr(network) => format!("CIDR_MATCH(TO_IP({column}), \"{network}\")"),
        Test::Compare { op, value } => {
            let operator = operator(*op, "==", "!=");
            format!("TO_DOUBLE({column}) {operator} {}", number(*value))
        }
        Test::Exists(true) => format!("{column} IS NOT NULL"),
        Test::Exists(false) | Test::IsNull => format!("{column} IS NULL"),
        Test::FieldRef { other, mode: FieldRefMode::Equals } => {
            format!("TO_LOWER({column}) == TO_LOWER({})", field(other))
        }
        Test::FieldRef { .. } => return unsupported("field reference with contains/startswith/endswith in ES|QL"),
        Test::TimePart { .. } => return unsupported("time-part modifier (`hour`, `day` ...)"),
    })
}
