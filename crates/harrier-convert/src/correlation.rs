//! Sigma correlations as SQL and ES|QL.
//!
//! SQL keeps Sigma's sliding windows: every match of the correlated rules anchors the window
//! `[t - timespan, t]` of its group (pySigma's SQLite backend does the same), joined to the
//! matches inside it; a row per anchor where the condition holds. Harrier reports one result
//! per burst from the same windows, so the groups that fire are the same. ES|QL has no sliding
//! window: with [`Options::tumbling_windows`] it counts per fixed `BUCKET` of the timespan
//! (a burst across a bucket edge can be missed), without it the conversion is refused.
//!
//! The table needs `_time` in epoch seconds (as `harrier events --view splunk` writes it).

use crate::sql::Sql;
use crate::{Dialect, Options, Profile, Target, Unsupported, esql, number, operator, unsupported};
use harrier_ir::{Correlation, CorrelationKind, Rule};

/// A correlation over loaded, routed rules (`rules`: each correlated rule as the correlation
/// names it, with the rule).
pub fn convert(
    correlation: &Correlation,
    rules: &[(&str, &Rule)],
    target: Target,
    profile: &Profile,
    options: &Options,
) -> Result<String, Unsupported> {
    if rules.len() != correlation.rules.len() {
        return unsupported("a correlation over correlations (chaining) or over rules that did not load");
    }
    match target {
        Target::Sql(dialect) => sql(correlation, rules, dialect, profile, options),
        Target::Esql if options.tumbling_windows => esql_query(correlation, rules, profile, options),
        Target::Esql => {
            unsupported("correlation windows in ES|QL (no sliding windows; --tumbling-windows accepts fixed ones)")
        }
        _ => unsupported(format!("`{}` correlations in this target", correlation.kind.name())),
    }
}

/// The field a rule's matches are grouped by for a group-by name (aliases differ per rule).
fn group_field<'a>(correlation: &'a Correlation, rule: &str, name: &'a str) -> &'a str {
    correlation
        .aliases
        .iter()
        .find(|alias| alias.name == name)
        .and_then(|alias| alias.fields.iter().find(|(member, _)| member == rule).map(|(_, field)| field.as_str()))
        .unwrap_or(name)
}

fn condition_text(correlation: &Correlation, aggregate: &str) -> String {
    let parts: Vec<String> = correlation
        .condition
        .iter()
        .map(|(op, value)| {
            let operator = operator(*op, "=", "<>");
            format!("{aggregate} {operator} {}", number(*value))
        })
        .collect();
    if parts.is_empty() { "1=1".into() } else { parts.join(" AND ") }
}

fn sql(
    correlation: &Correlation,
    rules: &[(&str, &Rule)],
    dialect: Dialect,
    profile: &Profile,
    options: &Options,
) -> Result<String, Unsupported> {
    let writer = Sql::new(dialect);
    let mut members = Vec::new();
    for (at, (name, rule)) in rules.iter().enumerate() {
        let condition = crate::prepared(rule, profile).0;
        let mut select: Vec<String> =
            vec![format!("{at} AS _member"), format!("{} AS _t", writer.real(&writer.identifier("_time")))];
        for (index, group) in correlation.group_by.iter().enumerate() {
            let field = profile.field(&rule.meta.logsource, group_field(correlation, name, group));
            // Harrier compares group values ignoring case.
            select.push(format!("lower({}) AS _g{index}", writer.identifier(&field)));
        }
        if let Some(field) = &correlation.field {
            select.push(format!("{} AS _v", writer.identifier(&profile.field(&rule.meta.logsource, field))));
        }
        let required: Vec<String> = correlation
            .group_by
            .iter()
            .map(|group| {
                format!(
                    "{} IS NOT NULL",
                    writer.identifier(&profile.field(&rule.meta.logsource, group_field(correlation, name, group)))
                )
            })
            .chain([format!("{} IS NOT NULL", writer.identifier("_time"))])
            .collect();
        members.push(format!(
            "SELECT {} FROM {} WHERE ({}) AND {}",
            select.join(", "),
            writer.identifier(&options.table),
            writer.expr(&condition)?,
            required.join(" AND ")
        ));
    }
    let aggregate = match correlation.kind {
        CorrelationKind::EventCount => "count(*)".to_owned(),
        CorrelationKind::ValueCount => "count(DISTINCT inwin._v)".to_owned(),
        CorrelationKind::ValueSum => format!("sum({})", writer.real("inwin._v")),
        CorrelationKind::ValueAvg => format!("avg({})", writer.real("inwin._v")),
        CorrelationKind::Temporal => "count(DISTINCT inwin._member)".to_owned(),
        other => return unsupported(format!("`{}` correlations in SQL", other.name())),
    };
    let condition = match correlation.kind {
        CorrelationKind::Temporal => format!("{aggregate} = {}", rules.len()),
        _ => condition_text(correlation, &aggregate),
    };
    let same_group: Vec<String> =
        (0..correlation.group_by.len()).map(|index| format!("inwin._g{index} = anchor._g{index}")).collect();
    let groups: Vec<String> = correlation
        .group_by
        .iter()
        .enumerate()
        .map(|(index, name)| format!("anchor._g{index} AS {}", writer.identifier(name)))
        .collect();
    let anchor_key: Vec<String> = ["anchor._id".to_owned(), "anchor._t".to_owned()]
        .into_iter()
        .chain((0..correlation.group_by.len()).map(|index| format!("anchor._g{index}")))
        .collect();
    let span = correlation.timespan_seconds;
    let join_on = [format!("inwin._t BETWEEN anchor._t - {span} AND anchor._t")].into_iter().chain(same_group);
    Ok(format!(
        "WITH raw AS ({}), matches AS (SELECT *, row_number() OVER () AS _id FROM raw) SELECT {}{}{aggregate} AS {}, min(inwin._t) AS first_time, anchor._t AS last_time FROM matches anchor JOIN matches inwin ON {} GROUP BY {} HAVING {condition}",
        members.join(" UNION ALL "),
        groups.join(", "),
        if groups.is_empty() { "" } else { ", " },
        writer.identifier(correlation.kind.name()),
        join_on.collect::<Vec<_>>().join(" AND "),
        anchor_key.join(", "),
    ))
}

fn esql_query(
    correlation: &Correlation,
    rules: &[(&str, &Rule)],
    profile: &Profile,
    options: &Options,
) -> Result<String, Unsupported> {
    if !correlation.aliases.is_empty() {
        return unsupported("correlation aliases in ES|QL");
    }
    let mut conditions = Vec::new();
    let mut member = Vec::new();
    for (at, (_, rule)) in rules.iter().enumerate() {
        let condition = esql::expr(&crate::prepared(rule, profile).0, profile)?;
        member.push(format!("({condition}), {at}"));
        conditions.push(format!("({condition})"));
    }
    let groups: Vec<String> = correlation
        .group_by
        .iter()
        .map(|group| esql::field(&profile.field(&rules[0].1.meta.logsource, group)))
        .collect();
    let aggregate = match (correlation.kind, &correlation.field) {
        (CorrelationKind::EventCount, _) => "COUNT(*)".to_owned(),
        (CorrelationKind::ValueCount, Some(field)) => format!("COUNT_DISTINCT({}, 40000)", esql::field(field)),
        (CorrelationKind::ValueSum, Some(field)) => format!("SUM(TO_DOUBLE({}))", esql::field(field)),
        (CorrelationKind::ValueAvg, Some(field)) => format!("AVG(TO_DOUBLE({}))", esql::field(field)),
        (CorrelationKind::Temporal, _) => "COUNT_DISTINCT(_member)".to_owned(),
        (other, _) => return unsupported(format!("`{}` correlations in ES|QL", other.name())),
    };
    let condition = match correlation.kind {
        CorrelationKind::Temporal => format!("value == {}", rules.len()),
        _ => condition_text(correlation, "value").replace(" = ", " == ").replace(" <> ", " != "),
    };
    let by: Vec<String> = ["window = BUCKET(TO_DATETIME(TO_LONG(_time * 1000)), ".to_owned()
        + &format!("{} seconds)", correlation.timespan_seconds)]
    .into_iter()
    .chain(groups)
    .collect();
    Ok(format!(
        "FROM {} | WHERE {} | EVAL _member = CASE({}) | STATS value = {aggregate} BY {} | WHERE {condition}",
        options.table,
        conditions.join(" OR "),
        member.join(", "),
        by.join(", ")
    ))
}
