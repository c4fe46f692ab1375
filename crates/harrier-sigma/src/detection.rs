//! A rule's `detection` section: search identifiers and the condition over them.

use crate::condition::{self, Identifier};
use crate::modifiers::{self, ItemContext};
use harrier_ir::Expr;
use yaml_serde::Value as Yaml;

pub(crate) fn compile(detection: &Yaml, context: &mut ItemContext<'_>) -> Result<Expr, String> {
    let Yaml::Mapping(entries) = detection else {
        return Err("`detection` must be a map".into());
    };
    let mut names = Vec::new();
    let mut exprs = Vec::new();
    let mut conditions = Vec::new();
    for (key, value) in entries {
        let key = key.as_str().ok_or("a detection key is not a string")?;
        match key {
            "condition" => conditions = condition_texts(value)?,
            // v1 aggregation window; correlations carry their own timespan.
            "timeframe" => {}
            name => {
                let expr = search_identifier(value, context)
                    .map_err(|error| format!("search identifier `{name}`: {error}"))?;
                names.push(name.to_owned());
                exprs.push(expr);
            }
        }
    }
    if conditions.is_empty() {
        return Err("`detection` has no `condition`".into());
    }
    let identifiers: Vec<Identifier<'_>> =
        names.iter().zip(&exprs).map(|(name, expr)| Identifier { name, expr }).collect();
    let parsed = conditions.iter().map(|text| condition::parse(text, &identifiers)).collect::<Result<Vec<_>, _>>()?;
    Ok(Expr::or(parsed))
}

/// A condition is a string, or (rarely) a list of strings that are ORed.
fn condition_texts(value: &Yaml) -> Result<Vec<String>, String> {
    match value {
        Yaml::String(text) => Ok(vec![text.clone()]),
        Yaml::Sequence(items) => items
            .iter()
            .map(|item| {
                item.as_str().map(str::to_owned).ok_or_else(|| "a condition in the list is not a string".to_owned())
            })
            .collect(),
        _ => Err("`condition` must be a string or a list of strings".into()),
    }
}

/// A map (entries ANDed), a list of maps (ORed), or keywords (a list of values, ORed).
fn search_identifier(value: &Yaml, context: &mut ItemContext<'_>) -> Result<Expr, String> {
    match value {
        Yaml::Mapping(entries) => map_expr(entries, context),
        Yaml::Sequence(items) if items.iter().all(Yaml::is_mapping) => Ok(Expr::or(
            items
                .iter()
                .map(|item| map_expr(item.as_mapping().expect("checked to be a map"), context))
                .collect::<Result<_, _>>()?,
        )),
        Yaml::Sequence(items) if items.iter().any(Yaml::is_mapping) => Err("a list mixes maps and plain values".into()),
        Yaml::Null => Err("it is empty".into()),
        keywords => modifiers::item("", keywords, context),
    }
}

fn map_expr(entries: &yaml_serde::Mapping, context: &mut ItemContext<'_>) -> Result<Expr, String> {
    let mut items = Vec::with_capacity(entries.len());
    for (key, value) in entries {
        let key = match key {
            Yaml::String(text) => text.clone(),
            Yaml::Number(number) => number.to_string(),
            _ => return Err("a field name is not a string".into()),
        };
        items.push(modifiers::item(&key, value, context).map_err(|error| format!("`{key}`: {error}"))?);
    }
    Ok(Expr::and(items))
}
