//! The SQL of a hunt: the binding of fields to columns, and one scan testing many rules.

use crate::{CORE_COLUMNS, literal, quoted};
use harrier_convert::{EVENT_FIELD, LOWERED_SUFFIX};
use std::collections::BTreeSet;

/// How a field a rule names finds its column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Names {
    /// Sigma: ignoring case. A native lake keeps one spelling per event, so the column of
    /// the exact name and those of its other spellings are merged with `coalesce`.
    IgnoreCase,
    /// SPL: the exact name.
    Exact,
}

/// One rule in a scan: its number in the caller's numbering and its condition in Spark SQL.
#[derive(Debug, Clone)]
pub struct RuleCondition {
    pub rule: usize,
    pub condition: String,
}

/// The select list of the binding view: core columns the source has but `_event` (the events
/// a scan matches are fetched from the source), then each field: `::event`, the event's text,
/// only when keyword searches read it.
pub(crate) fn bound_columns(columns: &[String], fields: &BTreeSet<String>, names: Names) -> Vec<String> {
    let mut select: Vec<String> = CORE_COLUMNS
        .iter()
        .filter(|core| **core != "_event" && columns.iter().any(|column| column == *core))
        .map(|core| quoted(core))
        .collect();
    for field in fields.iter().filter(|field| !CORE_COLUMNS.contains(&field.as_str())) {
        select.push(format!("{} AS {}", value(columns, field, names), quoted(field)));
    }
    select
}

/// What a field reads: its column(s); for `<field>::lower`, the field lower-cased; for
/// [`EVENT_FIELD`], the event's JSON text (`_event`), which keyword searches read.
fn value(columns: &[String], field: &str, names: Names) -> String {
    if field == EVENT_FIELD {
        return quoted("_event");
    }
    if let Some(base) = field.strip_suffix(LOWERED_SUFFIX) {
        return format!("lower({})", value(columns, base, names));
    }
    let exact = columns.iter().filter(|column| *column == field);
    let spellings: Vec<&String> = match names {
        Names::Exact => exact.collect(),
        Names::IgnoreCase => exact
            .chain(columns.iter().filter(|column| *column != field && column.eq_ignore_ascii_case(field)))
            .collect(),
    };
    match spellings.as_slice() {
        [] => "CAST(NULL AS STRING)".to_owned(),
        [column] => quoted(column),
        several => format!("coalesce({})", several.iter().map(|column| quoted(column)).collect::<Vec<_>>().join(", ")),
    }
}

/// The names a Spark SQL text quotes with backticks (columns, aliases, the table), string
/// literals skipped.
pub fn identifiers(sql: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                // A literal: backslash escapes a character, '' is a quote.
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => {
                            chars.next();
                        }
                        '\'' if chars.peek() == Some(&'\'') => {
                            chars.next();
                        }
                        '\'' => break,
                        _ => {}
                    }
                }
            }
            '`' => {
                let mut name = String::new();
                while let Some(c) = chars.next() {
                    match c {
                        '`' if chars.peek() == Some(&'`') => {
                            chars.next();
                            name.push('`');
                        }
                        '`' => break,
                        other => name.push(other),
                    }
                }
                found.insert(name);
            }
            _ => {}
        }
    }
    found
}

/// One scan of `view` (the rows SQL `rows` takes, or all) testing every rule: a row per event
/// and rule that matches it (its file and record, and `_rule`, the rule's number). The array
/// of flags is exploded and its NULLs dropped after: a `filter` with a lambda would run the
/// whole scan interpreted (Spark does not generate code for higher-order functions, nor for
/// what they evaluate).
pub fn scan_sql(view: &str, rows: Option<&str>, rules: &[RuleCondition]) -> String {
    let flags: Vec<String> =
        rules.iter().map(|rule| format!("IF(({}), {}, NULL)", rule.condition, rule.rule)).collect();
    let source = match rows {
        Some(rows) => format!("(SELECT * FROM {} WHERE {rows})", quoted(view)),
        None => quoted(view),
    };
    format!(
        "SELECT _source, _record, _rule FROM {source} \
         LATERAL VIEW explode(array({})) matched AS _rule WHERE _rule IS NOT NULL",
        flags.join(", ")
    )
}

/// A routing key of the embedded engine: a channel (lower-cased by Rust) and an event id, either
/// of which may be open.
pub type RouteKey<'a> = (Option<&'a str>, Option<i64>);

/// SQL over the core columns `_channel` and `_event_id` (what the embedded engine routes
/// events by) taking every row that meets one of `keys`, or `None` when a key is open on both
/// sides (every row meets it). Rows whose channel is not ASCII are always taken: Spark's
/// `lower` and Rust's may differ on them, and a superset of the rows is never wrong.
pub fn routed_rows(keys: &[RouteKey]) -> Option<String> {
    let mut alternatives = vec![format!("NOT (coalesce(`_channel`, '') RLIKE {})", literal(r"^[\x00-\x7F]*$"))];
    for key in keys {
        let channel = key.0.map(|channel| format!("lower(coalesce(`_channel`, '')) = {}", literal(channel)));
        let event_id = key.1.map(|id| format!("`_event_id` = {id}"));
        match (channel, event_id) {
            (None, None) => return None,
            (Some(test), None) | (None, Some(test)) => alternatives.push(test),
            (Some(channel), Some(event_id)) => alternatives.push(format!("({channel} AND {event_id})")),
        }
    }
    Some(alternatives.join(" OR "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_the_backquoted_names_outside_literals() {
        let sql = r"SELECT `a`, `b``c` FROM `t` WHERE `Image` ILIKE '%\\`x`%' ESCAPE '\\' AND `d` = 'it''s `e`'";
        let names: Vec<String> = identifiers(sql).into_iter().collect();
        assert_eq!(names, ["Image", "a", "b`c", "d", "t"]);
    }

    #[test]
    fn fields_bind_to_every_spelling_for_sigma_and_the_exact_one_for_spl() {
        let columns: Vec<String> =
            ["_source", "_record", "_event", "ProcessId", "ProcessID", "Image"].iter().map(|c| c.to_string()).collect();
        let fields: BTreeSet<String> =
            ["ProcessId", "image", "Missing", "_record", "image::lower", EVENT_FIELD, "::event::lower"]
                .iter()
                .map(|f| f.to_string())
                .collect();
        assert_eq!(
            bound_columns(&columns, &fields, Names::IgnoreCase),
            [
                "`_source`",
                "`_record`",
                "`_event` AS `::event`",
                "lower(`_event`) AS `::event::lower`",
                "CAST(NULL AS STRING) AS `Missing`",
                "coalesce(`ProcessId`, `ProcessID`) AS `ProcessId`",
                "`Image` AS `image`",
                "lower(`Image`) AS `image::lower`"
            ]
        );
        let exact = bound_columns(&columns, &fields, Names::Exact);
        assert!(exact.contains(&"`ProcessId` AS `ProcessId`".to_owned()), "{exact:?}");
        assert!(exact.contains(&"CAST(NULL AS STRING) AS `image`".to_owned()), "{exact:?}");
    }

    #[test]
    fn a_scan_flags_each_rule_that_holds() {
        let rules = [
            RuleCondition { rule: 3, condition: "`a` = 'x'".into() },
            RuleCondition { rule: 9, condition: "`b` = 'y'".into() },
        ];
        let sql = scan_sql("events", None, &rules);
        assert!(
            sql.contains(
                "FROM `events` LATERAL VIEW explode(array(IF((`a` = 'x'), 3, NULL), IF((`b` = 'y'), 9, NULL))) \
                 matched AS _rule WHERE _rule IS NOT NULL"
            ),
            "{sql}"
        );
        let routed = scan_sql("events", Some("`_event_id` = 1"), &rules);
        assert!(
            routed.starts_with(
                "SELECT _source, _record, _rule FROM (SELECT * FROM `events` WHERE `_event_id` = 1) LATERAL VIEW"
            ),
            "{routed}"
        );
    }

    #[test]
    fn routed_rows_take_each_key_and_every_channel_spark_may_lower_otherwise() {
        let keys =
            [(Some("security"), Some(4688)), (Some("microsoft-windows-sysmon/operational"), None), (None, Some(1))];
        assert_eq!(
            routed_rows(&keys).unwrap(),
            "NOT (coalesce(`_channel`, '') RLIKE '^[\\\\x00-\\\\x7F]*$') \
             OR (lower(coalesce(`_channel`, '')) = 'security' AND `_event_id` = 4688) \
             OR lower(coalesce(`_channel`, '')) = 'microsoft-windows-sysmon/operational' OR `_event_id` = 1"
        );
        assert_eq!(
            routed_rows(&[(Some("security"), None), (None, None)]),
            None,
            "a key open on both sides takes every row"
        );
    }
}
