//! Correlation rules (meta rules): `correlation: {type, rules, group-by, timespan,
//! condition, aliases, generate}`.

use harrier_ir::{Alias, CompareOp, Correlation, CorrelationKind, RuleMeta};
use yaml_serde::{Mapping, Value as Yaml};

pub(crate) fn parse(document: &Mapping, meta: RuleMeta) -> Result<Correlation, String> {
    let Some(Yaml::Mapping(body)) = document.get("correlation") else {
        return Err("`correlation` must be a map".into());
    };
    let condition_map = match body.get("condition") {
        Some(Yaml::Mapping(map)) => Some(map),
        None => None,
        Some(_) => return Err("`correlation.condition` must be a map (`gte: 10`)".into()),
    };
    let kind = kind(body, condition_map)?;
    let rules = strings(body.get("rules")).ok_or("`correlation.rules` must name the rules correlated")?;
    if rules.is_empty() {
        return Err("`correlation.rules` is empty".into());
    }
    let group_by = strings(body.get("group-by")).unwrap_or_default();
    let timespan = body.get("timespan").and_then(scalar).ok_or("`correlation.timespan` is missing")?;
    let timespan_seconds = timespan_seconds(&timespan)?;
    let mut condition = Vec::new();
    let mut field = None;
    for (key, value) in condition_map.into_iter().flatten() {
        let key = key.as_str().unwrap_or_default();
        let op = match key {
            "gt" => CompareOp::Gt,
            "gte" => CompareOp::Gte,
            "lt" => CompareOp::Lt,
            "lte" => CompareOp::Lte,
            "eq" => CompareOp::Eq,
            "neq" => CompareOp::Neq,
            "field" => {
                field = scalar(value);
                continue;
            }
            "percentile" => continue,
            other => return Err(format!("unknown condition operator `{other}`")),
        };
        let number =
            scalar(value).and_then(|text| text.parse::<f64>().ok()).ok_or(format!("`{key}` needs a number"))?;
        condition.push((op, number));
    }
    if condition.is_empty() {
        match kind {
            // The spec's default for temporal kinds: every rule matched.
            CorrelationKind::Temporal | CorrelationKind::TemporalOrdered => {
                condition.push((CompareOp::Gte, rules.len() as f64))
            }
            _ => return Err("`correlation.condition` is missing".into()),
        }
    }
    if kind.needs_field() && field.is_none() {
        return Err(format!("a {} correlation needs `condition.field`", kind.name()));
    }
    let aliases = aliases(body.get("aliases"))?;
    let generate = matches!(body.get("generate").or_else(|| document.get("generate")), Some(Yaml::Bool(true)));
    Ok(Correlation { meta, kind, rules, group_by, timespan_seconds, condition, field, aliases, generate })
}

fn kind(body: &Mapping, condition: Option<&Mapping>) -> Result<CorrelationKind, String> {
    let name = body.get("type").and_then(Yaml::as_str).ok_or("`correlation.type` is missing")?;
    Ok(match name {
        "event_count" => CorrelationKind::EventCount,
        "value_count" => CorrelationKind::ValueCount,
        "temporal" => CorrelationKind::Temporal,
        "temporal_ordered" => CorrelationKind::TemporalOrdered,
        "value_sum" => CorrelationKind::ValueSum,
        "value_avg" => CorrelationKind::ValueAvg,
        "value_median" => CorrelationKind::ValueMedian,
        "value_percentile" => {
            let percentile = body
                .get("percentile")
                .or_else(|| condition.and_then(|map| map.get("percentile")))
                .and_then(scalar)
                .and_then(|text| text.parse::<f64>().ok())
                .filter(|value| (0.0..=100.0).contains(value))
                .ok_or("a value_percentile correlation needs `percentile` (0 to 100)")?;
            CorrelationKind::ValuePercentile(percentile)
        }
        other => return Err(format!("unknown correlation type `{other}`")),
    })
}

/// `30s`, `10m`, `1h`, `2d`, `1w`; `M` (month) and `y` (year) as pySigma counts them.
fn timespan_seconds(text: &str) -> Result<i64, String> {
    let text = text.trim();
    let unit_at = text.find(|c: char| !c.is_ascii_digit()).ok_or(format!("timespan `{text}` has no unit"))?;
    let count: i64 = text[..unit_at].parse().map_err(|_| format!("timespan `{text}` is not a number and a unit"))?;
    let unit = match &text[unit_at..] {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        "w" => 604_800,
        "M" => 2_629_746,
        "y" => 31_556_952,
        other => return Err(format!("unknown timespan unit `{other}`")),
    };
    Ok(count * unit)
}

fn aliases(value: Option<&Yaml>) -> Result<Vec<Alias>, String> {
    let Some(value) = value else { return Ok(Vec::new()) };
    let Yaml::Mapping(map) = value else { return Err("`correlation.aliases` must be a map".into()) };
    map.iter()
        .map(|(name, per_rule)| {
            let name = name.as_str().ok_or("an alias name is not a string")?.to_owned();
            let Yaml::Mapping(per_rule) = per_rule else {
                return Err(format!("alias `{name}` must map rules to fields"));
            };
            let fields = per_rule
                .iter()
                .map(|(rule, field)| Some((rule.as_str()?.to_owned(), scalar(field)?)))
                .collect::<Option<Vec<_>>>()
                .ok_or(format!("alias `{name}` must map rule names to field names"))?;
            Ok(Alias { name, fields })
        })
        .collect()
}

fn scalar(value: &Yaml) -> Option<String> {
    match value {
        Yaml::String(text) => Some(text.clone()),
        Yaml::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

fn strings(value: Option<&Yaml>) -> Option<Vec<String>> {
    match value? {
        Yaml::Sequence(items) => items.iter().map(scalar).collect(),
        single => scalar(single).map(|text| vec![text]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn correlation(body: &str) -> Result<Correlation, String> {
        let document: Mapping = yaml_serde::from_str(&format!("title: c\ncorrelation:\n{body}")).unwrap();
        parse(&document, RuleMeta::default())
    }

    #[test]
    fn every_kind_and_its_requirements() {
        let count = correlation(
            "  type: event_count\n  rules: [a]\n  group-by: [User]\n  timespan: 10m\n  condition: {gte: 10}\n",
        )
        .unwrap();
        assert_eq!(
            (count.kind, count.timespan_seconds, count.condition.clone()),
            (CorrelationKind::EventCount, 600, vec![(CompareOp::Gte, 10.0)])
        );
        let temporal = correlation("  type: temporal_ordered\n  rules: [a, b]\n  timespan: 1h\n").unwrap();
        assert_eq!(temporal.condition, [(CompareOp::Gte, 2.0)]);
        let values = correlation(
            "  type: value_count\n  rules: a\n  timespan: 5m\n  condition: {field: User, gt: 3, lte: 10}\n",
        )
        .unwrap();
        assert_eq!((values.field.as_deref(), values.condition.len()), (Some("User"), 2));
        assert!(correlation("  type: value_count\n  rules: [a]\n  timespan: 5m\n  condition: {gt: 3}\n").is_err());
        let percentile = correlation("  type: value_percentile\n  rules: [a]\n  timespan: 1d\n  condition: {field: Size, percentile: 95, gt: 100}\n").unwrap();
        assert_eq!(percentile.kind, CorrelationKind::ValuePercentile(95.0));
        assert!(
            correlation("  type: event_count\n  rules: [a]\n  timespan: 10 minutes\n  condition: {gte: 1}\n").is_err()
        );
        assert!(correlation("  type: sometimes\n  rules: [a]\n  timespan: 1m\n  condition: {gte: 1}\n").is_err());
    }

    #[test]
    fn aliases_and_generate() {
        let body = "  type: temporal\n  rules: [internal_error, new_connection]\n  group-by: [ip]\n  timespan: 10s\n  generate: true\n  aliases:\n    ip:\n      internal_error: destination.ip\n      new_connection: source.ip\n";
        let parsed = correlation(body).unwrap();
        assert!(parsed.generate);
        assert_eq!(
            parsed.aliases[0].fields,
            [
                ("internal_error".to_owned(), "destination.ip".to_owned()),
                ("new_connection".to_owned(), "source.ip".to_owned())
            ]
        );
    }
}
