//! SPL detections as ES|QL: `FROM index | WHERE <search> | STATS ... BY ... | EVAL ... | KEEP`,
//! over an index of events as Splunk sees them (the fields of `harrier events --view splunk`,
//! `_time` in epoch seconds). The shape is the one SQL takes ([`crate::sql_pipeline`]).

use crate::sql_pipeline::{Column, Shape};
use crate::{Profile, Unsupported, esql, number, regex, unsupported};
use harrier_ir::pipeline::{BinaryOp, Command, Eval, Query, Stats, StatsFunction, UnaryOp};

pub fn query(query: &Query, source: &str) -> Result<String, Unsupported> {
    let shape = Shape::of(query, "ES|QL")?;
    // Splunk's view names fields as they come; its search ignores case, `where` does not.
    let profile = Profile::load("sysmon").expect("a built-in profile");
    let mut filters = vec![esql::expr(shape.condition, &profile)?];
    for filter in &shape.before {
        filters.push(match filter {
            Command::Search(expr) => esql::expr(expr, &profile)?,
            Command::Where(eval) => eval_esql(eval)?,
            _ => unreachable!("only filters come before stats"),
        });
    }
    let (aggregates, mut columns) = aggregate(shape.stats, &mut filters)?;
    let conditions = shape.reshape(&mut columns, "ES|QL", &ctime, &eval_esql)?;
    let filters: Vec<String> = filters.iter().map(|filter| format!("({filter})")).collect();
    let mut text = format!("FROM {source} | WHERE {} | STATS {}", filters.join(" AND "), aggregates);
    for condition in conditions {
        text.push_str(&format!(" | WHERE {condition}"));
    }
    let outputs: Vec<String> = columns
        .iter()
        .filter(|column| esql::field(&column.name) != column.sql)
        .map(|column| format!("{} = {}", esql::field(&column.name), column.sql))
        .collect();
    let kept: Vec<String> = columns.iter().map(|column| esql::field(&column.name)).collect();
    if !outputs.is_empty() {
        text.push_str(&format!(" | EVAL {}", outputs.join(", ")));
    }
    text.push_str(&format!(" | KEEP {}", kept.join(", ")));
    Ok(text)
}

/// `STATS a = F(x), ... BY f, g`, the aggregates under internal names the output columns
/// then read (so renames and formats can follow as EVAL).
fn aggregate(stats: &Stats, filters: &mut Vec<String>) -> Result<(String, Vec<Column>), Unsupported> {
    if stats.time_span.is_some() {
        return unsupported("`by _time span=` in ES|QL");
    }
    let mut calls = Vec::new();
    let mut columns = Vec::new();
    for (at, call) in stats.calls.iter().enumerate() {
        let argument = match &call.argument {
            None => None,
            Some(Eval::Field(field)) => Some(esql::field(field)),
            Some(other) => return unsupported(format!("a stats function over an expression ({other:?})")),
        };
        let function = match (call.function, argument) {
            (StatsFunction::Count, None) => "COUNT(*)".to_owned(),
            (StatsFunction::Count, Some(field)) => format!("COUNT({field})"),
            // Exact up to 40,000 distinct values, ES|QL's largest precision.
            (StatsFunction::DistinctCount, Some(field)) => format!("COUNT_DISTINCT({field}, 40000)"),
            (StatsFunction::Min, Some(field)) => format!("MIN({field})"),
            (StatsFunction::Max, Some(field)) => format!("MAX({field})"),
            (StatsFunction::Sum, Some(field)) => format!("SUM(TO_DOUBLE({field}))"),
            (StatsFunction::Avg, Some(field)) => format!("AVG(TO_DOUBLE({field}))"),
            (StatsFunction::Values, Some(field)) => format!("MV_SORT(VALUES({field}))"),
            (function, _) => return unsupported(format!("stats function `{function:?}` in ES|QL")),
        };
        let internal = format!("_agg{at}");
        calls.push(format!("{internal} = {function}"));
        columns.push(Column { name: call.alias.clone(), sql: internal });
    }
    let mut by = Vec::new();
    for (at, field) in stats.by.iter().enumerate() {
        let column = esql::field(field);
        match &stats.fill_missing_by {
            None => filters.push(format!("{column} IS NOT NULL")),
            Some(value) => {
                if value.contains('"') {
                    return unsupported("a fillnull_value with `\"`");
                }
                // The filled value is set before STATS through an EVAL-free COALESCE in BY.
                by.push(format!("_by{at} = COALESCE({column}, \"{value}\")"));
                columns.insert(at, Column { name: field.clone(), sql: format!("_by{at}") });
                continue;
            }
        }
        by.push(column.clone());
        columns.insert(at, Column { name: field.clone(), sql: column });
    }
    let by = if by.is_empty() { String::new() } else { format!(" BY {}", by.join(", ")) };
    Ok((format!("{}{by}", calls.join(", ")), columns))
}

fn ctime(expression: &str, format: &str) -> Result<String, Unsupported> {
    let pattern = match format {
        "%Y-%m-%dT%H:%M:%S" => "yyyy-MM-dd'T'HH:mm:ss",
        "%m/%d/%Y %H:%M:%S" => "MM/dd/yyyy HH:mm:ss",
        other => return unsupported(format!("`convert ctime` format `{other}` in ES|QL")),
    };
    Ok(format!("DATE_FORMAT(\"{pattern}\", TO_DATETIME(TO_LONG(TO_DOUBLE({expression}) * 1000)))"))
}

/// An eval expression (as `where` uses it) in ES|QL: comparisons are case-sensitive, as in SPL.
fn eval_esql(eval: &Eval) -> Result<String, Unsupported> {
    Ok(match eval {
        Eval::Field(name) => esql::field(name),
        Eval::Str(text) => esql::string(text)?,
        Eval::Num(value) => number(*value),
        Eval::Bool(value) => value.to_string().to_uppercase(),
        Eval::Null => "NULL".to_owned(),
        Eval::Unary(UnaryOp::Not, inner) => format!("NOT COALESCE(({}), FALSE)", eval_esql(inner)?),
        Eval::Unary(UnaryOp::Negate, inner) => format!("-({})", eval_esql(inner)?),
        Eval::Binary(op, left, right) => {
            let numeric = matches!(**left, Eval::Num(_)) || matches!(**right, Eval::Num(_));
            let side = |eval: &Eval| -> Result<String, Unsupported> {
                let text = eval_esql(eval)?;
                Ok(if numeric && !matches!(eval, Eval::Num(_)) { format!("TO_DOUBLE({text})") } else { text })
            };
            let (l, r) = (side(left)?, side(right)?);
            match op {
                BinaryOp::And => format!("({l}) AND ({r})"),
                BinaryOp::Or => format!("({l}) OR ({r})"),
                BinaryOp::Eq => format!("{l} == {r}"),
                BinaryOp::Neq => format!("{l} != {r}"),
                BinaryOp::Lt => format!("{l} < {r}"),
                BinaryOp::Lte => format!("{l} <= {r}"),
                BinaryOp::Gt => format!("{l} > {r}"),
                BinaryOp::Gte => format!("{l} >= {r}"),
                BinaryOp::Add => format!("({l} + {r})"),
                BinaryOp::Sub => format!("({l} - {r})"),
                BinaryOp::Mul => format!("({l} * {r})"),
                BinaryOp::Div => format!("({l} / {r})"),
                BinaryOp::Concat => format!("CONCAT({l}, {r})"),
                other => return unsupported(format!("eval operator `{other:?}` in ES|QL")),
            }
        }
        Eval::Call(name, arguments) => {
            let argument =
                |at: usize| arguments.get(at).map(eval_esql).unwrap_or_else(|| unsupported("a missing argument"));
            match (name.as_str(), arguments.len()) {
                ("\u{0}sql", 1) => match &arguments[0] {
                    Eval::Str(text) => text.clone(),
                    _ => unreachable!("inlined expressions are text"),
                },
                ("isnull", 1) => format!("{} IS NULL", argument(0)?),
                ("isnotnull", 1) => format!("{} IS NOT NULL", argument(0)?),
                ("lower", 1) => format!("TO_LOWER({})", argument(0)?),
                ("upper", 1) => format!("TO_UPPER({})", argument(0)?),
                ("len", 1) => format!("LENGTH({})", argument(0)?),
                ("match", 2) => match &arguments[1] {
                    Eval::Str(pattern) => {
                        format!("{} RLIKE {}", argument(0)?, esql::string(&regex::to_lucene(pattern, false)?)?)
                    }
                    _ => return unsupported("`match()` with a computed pattern in ES|QL"),
                },
                (other, _) => return unsupported(format!("eval function `{other}` in ES|QL")),
            }
        }
    })
}
