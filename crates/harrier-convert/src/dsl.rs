//! Elasticsearch query DSL: `bool` over `term`, `wildcard`, `regexp`, `range` and `exists`,
//! string tests with `case_insensitive: true` (Elasticsearch 7.10 and later).

use crate::{Profile, Unsupported, number, regex, render_pattern, unsupported};
use harrier_ir::{CompareOp, Expr, Predicate, Test};
use serde_json::{Value, json};

pub fn query(condition: &Expr, profile: &Profile) -> Result<String, Unsupported> {
    Ok(json!({ "query": node(condition, profile)? }).to_string())
}

fn node(condition: &Expr, profile: &Profile) -> Result<Value, Unsupported> {
    let all = |items: &[Expr]| items.iter().map(|item| node(item, profile)).collect::<Result<Vec<Value>, _>>();
    Ok(match condition {
        Expr::And(items) => json!({"bool": {"filter": all(items)?}}),
        Expr::Or(items) => json!({"bool": {"should": all(items)?, "minimum_should_match": 1}}),
        Expr::Not(item) => json!({"bool": {"must_not": [node(item, profile)?]}}),
        Expr::Pred(predicate) => predicate_node(predicate, profile)?,
        Expr::Const(true) => json!({"match_all": {}}),
        Expr::Const(false) => json!({"bool": {"must_not": [{"match_all": {}}]}}),
    })
}

fn predicate_node(predicate: &Predicate, profile: &Profile) -> Result<Value, Unsupported> {
    let Some(field) = predicate.field.as_deref() else {
        return unsupported("keyword search (no field) in the query DSL");
    };
    let keyword = match &profile.wildcard_suffix {
        Some(suffix) => format!("{field}{suffix}"),
        None => field.to_owned(),
    };
    Ok(match &predicate.test {
        Test::Matches { pattern, cased } => match pattern.as_literal() {
            Some(text) => json!({"term": {keyword: {"value": text, "case_insensitive": !cased}}}),
            None => {
                let value = render_pattern(pattern, "*", "?", &|text| {
                    text.replace('\\', "\\\\").replace('*', "\\*").replace('?', "\\?")
                });
                json!({"wildcard": {keyword: {"value": value, "case_insensitive": !cased}}})
            }
        },
        Test::Regex { pattern, ignore_case, .. } => {
            json!({"regexp": {keyword: {"value": regex::to_lucene(pattern, false)?, "case_insensitive": ignore_case}}})
        }
        Test::Cidr(network) => json!({"term": {field: network.to_string()}}),
        Test::Compare { op, value } => {
            let value: Value = serde_json::from_str(&number(*value)).unwrap_or(json!(value));
            let range = |bound: &str| json!({"range": {field: {bound: value.clone()}}});
            match op {
                CompareOp::Lt => range("lt"),
                CompareOp::Lte => range("lte"),
                CompareOp::Gt => range("gt"),
                CompareOp::Gte => range("gte"),
                CompareOp::Eq => json!({"term": {field: value}}),
                CompareOp::Neq => {
                    json!({"bool": {"filter": [{"exists": {"field": field}}], "must_not": [{"term": {field: value}}]}})
                }
            }
        }
        Test::Exists(true) => json!({"exists": {"field": field}}),
        Test::Exists(false) | Test::IsNull => json!({"bool": {"must_not": [{"exists": {"field": field}}]}}),
        Test::FieldRef { .. } => {
            return unsupported("field reference (`fieldref`): the query DSL compares no two fields without a script");
        }
        Test::TimePart { .. } => return unsupported("time-part modifier (`hour`, `day` ...)"),
    })
}
