//! SPL detections as SQL: the search becomes the WHERE clause, `stats ... by` a GROUP BY, and
//! the commands after it (`rename`, `convert ctime`, `table`, `fields`, `where`) the select
//! list and HAVING. The table holds events as Splunk sees them (`harrier events --view splunk`:
//! derived CIM fields, `_time` in epoch seconds, multivalues one per line; `values()` gives a
//! JSON array).
//!
//! What does not fit that shape (commands before `stats` other than `search`/`where`, `eval`,
//! lookups, joins, `first`/`last`/`list` ...) is an [`Unsupported`] error naming it.

use crate::sql::Sql;
use crate::{Dialect, Unsupported, number, unsupported};
use harrier_ir::Expr;
use harrier_ir::pipeline::{BinaryOp, Command, Eval, Query, QuerySource, Stats, StatsFunction, UnaryOp};

/// One output column: its name and the expression that computes it over a group.
pub(crate) struct Column {
    pub(crate) name: String,
    pub(crate) sql: String,
}

/// The shape a convertible SPL pipeline has: events matching a condition, filtered by
/// `search`/`where`, aggregated by one `stats`, then reshaped.
pub(crate) struct Shape<'a> {
    pub(crate) condition: &'a Expr,
    /// `search` and `where` commands before `stats`.
    pub(crate) before: Vec<&'a Command>,
    pub(crate) stats: &'a Stats,
    pub(crate) after: Vec<&'a Command>,
}

impl<'a> Shape<'a> {
    pub(crate) fn of(query: &'a Query, target: &str) -> Result<Shape<'a>, Unsupported> {
        let QuerySource::Events(condition) = &query.source else {
            return unsupported("`inputlookup` as a query source");
        };
        let mut commands = query.commands.iter();
        let mut before = Vec::new();
        let stats = loop {
            match commands.next() {
                Some(Command::Search(Expr::Const(true))) => {}
                Some(filter @ (Command::Search(_) | Command::Where(_))) => before.push(filter),
                Some(Command::Stats(stats)) if !stats.keep_rows => break stats,
                Some(other) => return unsupported(format!("`{}` before `stats` in {target}", command_name(other))),
                None => return unsupported("an SPL detection without `stats` (its rows are events)"),
            }
        };
        let after = commands.filter(|command| !matches!(command, Command::Search(Expr::Const(true)))).collect();
        Ok(Shape { condition, before, stats, after })
    }

    /// Applies the commands after `stats` to its output columns (`rename`, `convert ctime`,
    /// `table`, `fields`); gives the `where` conditions on them, in the target's words.
    pub(crate) fn reshape(
        &self,
        columns: &mut Vec<Column>,
        target: &str,
        ctime: &dyn Fn(&str, &str) -> Result<String, Unsupported>,
        condition: &dyn Fn(&Eval) -> Result<String, Unsupported>,
    ) -> Result<Vec<String>, Unsupported> {
        let mut conditions = Vec::new();
        for command in &self.after {
            match command {
                Command::Rename(pairs) => rename(columns, pairs),
                Command::ConvertCtime { format, fields } => {
                    for (field, alias) in fields {
                        let Some(at) = columns.iter().position(|column| column.name == *field) else { continue };
                        let text = ctime(&columns[at].sql, format)?;
                        match alias {
                            Some(alias) => columns.push(Column { name: alias.clone(), sql: text }),
                            None => columns[at].sql = text,
                        }
                    }
                }
                Command::Table(names) | Command::Fields { remove: false, names } => {
                    *columns = selected(std::mem::take(columns), names)
                }
                Command::Fields { remove: true, names } => {
                    columns.retain(|column| !names.iter().any(|name| wildcard_match(name, &column.name).is_some()))
                }
                Command::Where(eval) => conditions.push(condition(&inline(eval, columns))?),
                other => return unsupported(format!("`{}` after `stats` in {target}", command_name(other))),
            }
        }
        Ok(conditions)
    }
}

pub fn query(query: &Query, dialect: Dialect, table: &str) -> Result<String, Unsupported> {
    if dialect == Dialect::Postgres {
        return unsupported("SPL pipelines to SQL: the sqlite, duckdb and spark dialects so far");
    }
    let sql = Sql::new(dialect);
    let shape = Shape::of(query, "SQL")?;
    let mut filters = vec![sql.expr(shape.condition)?];
    for filter in &shape.before {
        filters.push(match filter {
            Command::Search(expr) => sql.expr(expr)?,
            Command::Where(eval) => eval_sql(&sql, eval)?,
            _ => unreachable!("only filters come before stats"),
        });
    }
    let (mut columns, group_by) = aggregate(&sql, shape.stats, &mut filters)?;
    let having =
        shape.reshape(&mut columns, "SQL", &|expression, format| ctime(&sql, expression, format), &|eval| {
            eval_sql(&sql, eval)
        })?;
    let select: Vec<String> =
        columns.iter().map(|column| format!("{} AS {}", column.sql, sql.identifier(&column.name))).collect();
    let mut text = format!("SELECT {} FROM {} WHERE {}", select.join(", "), sql.identifier(table), join_and(&filters));
    if !group_by.is_empty() {
        text.push_str(&format!(" GROUP BY {}", group_by.join(", ")));
    }
    if !having.is_empty() {
        text.push_str(&format!(" HAVING {}", join_and(&having)));
    }
    Ok(text)
}

fn join_and(parts: &[String]) -> String {
    parts.iter().map(|part| format!("({part})")).collect::<Vec<_>>().join(" AND ")
}

/// The columns of `stats`: its `by` fields, then its aggregates; with the GROUP BY list.
fn aggregate(sql: &Sql, stats: &Stats, filters: &mut Vec<String>) -> Result<(Vec<Column>, Vec<String>), Unsupported> {
    let mut columns = Vec::new();
    let mut group_by = Vec::new();
    for field in &stats.by {
        let column = sql.identifier(field);
        let mut expression = match (&stats.time_span, field.as_str()) {
            (Some(span), "_time") => {
                let span = number(*span);
                format!("({} * {span})", sql.integer(&format!("{} / {span}", sql.real(&column))))
            }
            _ => column.clone(),
        };
        match &stats.fill_missing_by {
            None => filters.push(format!("{column} IS NOT NULL")),
            Some(value) => expression = format!("COALESCE({expression}, {})", sql.string(value)),
        }
        group_by.push(expression.clone());
        columns.push(Column { name: field.clone(), sql: expression });
    }
    for call in &stats.calls {
        let argument = match &call.argument {
            None => None,
            Some(Eval::Field(field)) => Some(field_value(sql, field)),
            Some(other) => return unsupported(format!("a stats function over an expression ({other:?})")),
        };
        let expression = match (call.function, argument) {
            (StatsFunction::Count, None) => "count(*)".to_owned(),
            (StatsFunction::Count, Some(field)) => format!("count({field})"),
            (StatsFunction::DistinctCount, Some(field)) => format!("count(DISTINCT {field})"),
            (StatsFunction::Min, Some(field)) => format!("min({field})"),
            (StatsFunction::Max, Some(field)) => format!("max({field})"),
            (StatsFunction::Sum, Some(field)) => format!("sum({})", sql.real(&field)),
            (StatsFunction::Avg, Some(field)) => format!("avg({})", sql.real(&field)),
            (StatsFunction::Values, Some(field)) => values(sql, &field),
            (function, _) => return unsupported(format!("stats function `{function:?}` in SQL")),
        };
        columns.push(Column { name: call.alias.clone(), sql: expression });
    }
    Ok((columns, group_by))
}

/// A field as a value to aggregate: `_time` is a number, the rest text.
fn field_value(sql: &Sql, field: &str) -> String {
    let column = sql.identifier(field);
    if field == "_time" { sql.real(&column) } else { column }
}

/// `values(f)`: the distinct values, sorted: a JSON array of text (an array in Spark).
fn values(sql: &Sql, field: &str) -> String {
    match sql.dialect {
        Dialect::Duckdb => format!("to_json(list(DISTINCT {field} ORDER BY {field}))"),
        Dialect::Spark => format!("array_sort(collect_set({field}))"),
        _ => format!("json_group_array(DISTINCT {field})"),
    }
}

fn ctime(sql: &Sql, expression: &str, format: &str) -> Result<String, Unsupported> {
    if format.contains("%N") || format.contains("%Q") || format.contains("%z") {
        return unsupported(format!("`convert ctime` format `{format}` in SQL"));
    }
    Ok(match sql.dialect {
        Dialect::Duckdb => format!("strftime(to_timestamp(CAST({expression} AS DOUBLE)), {})", sql.string(format)),
        // In the session's time zone, which harrier-spark sets to UTC.
        Dialect::Spark => format!(
            "date_format(timestamp_seconds({}), {})",
            sql.integer(expression),
            sql.string(&java_time_pattern(format)?)
        ),
        _ => format!("strftime({}, CAST({expression} AS INTEGER), 'unixepoch')", sql.string(format)),
    })
}

/// A strftime format (as `convert ctime` takes it) as a Java date-time pattern (Spark's
/// `date_format`): directives mapped, other text quoted.
fn java_time_pattern(format: &str) -> Result<String, Unsupported> {
    let mut pattern = String::new();
    let mut literal = String::new();
    let flush = |pattern: &mut String, literal: &mut String| {
        if !literal.is_empty() {
            pattern.push_str(&format!("'{}'", literal.replace('\'', "''")));
            literal.clear();
        }
    };
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            literal.push(c);
            continue;
        }
        let directive = chars.next();
        let java = match directive {
            Some('Y') => "yyyy",
            Some('y') => "yy",
            Some('m') => "MM",
            Some('d') => "dd",
            Some('e') => "d",
            Some('H') => "HH",
            Some('I') => "hh",
            Some('M') => "mm",
            Some('S') => "ss",
            Some('p') => "a",
            Some('b') => "MMM",
            Some('B') => "MMMM",
            Some('a') => "EEE",
            Some('A') => "EEEE",
            Some('j') => "DDD",
            Some('T') => "HH:mm:ss",
            Some('F') => "yyyy-MM-dd",
            Some('%') => {
                literal.push('%');
                continue;
            }
            other => return unsupported(format!("`convert ctime` directive %{} in Spark SQL", other.unwrap_or(' '))),
        };
        flush(&mut pattern, &mut literal);
        pattern.push_str(java);
    }
    flush(&mut pattern, &mut literal);
    Ok(pattern)
}

/// Renames columns; a column renamed to a name another column has replaces it (as Splunk's
/// `rename` overwrites a field of the new name), where that one was.
fn rename(columns: &mut Vec<Column>, pairs: &[(String, String)]) {
    for (from, to) in pairs {
        let mut renamed = Vec::new();
        columns.retain(|column| match wildcard_match(from, &column.name) {
            Some(star) => {
                renamed.push(Column { name: to.replacen('*', &star, 1), sql: column.sql.clone() });
                false
            }
            None => true,
        });
        for column in renamed {
            match columns.iter_mut().find(|existing| existing.name == column.name) {
                Some(existing) => existing.sql = column.sql,
                None => columns.push(column),
            }
        }
    }
}

/// Whether a name matches a pattern with at most one `*`; what the `*` stood for.
fn wildcard_match(pattern: &str, name: &str) -> Option<String> {
    match pattern.split_once('*') {
        None => (pattern == name).then(String::new),
        Some((prefix, suffix)) => {
            (name.len() >= prefix.len() + suffix.len() && name.starts_with(prefix) && name.ends_with(suffix))
                .then(|| name[prefix.len()..name.len() - suffix.len()].to_owned())
        }
    }
}

fn selected(columns: Vec<Column>, names: &[String]) -> Vec<Column> {
    let mut kept: Vec<Column> = Vec::new();
    let mut rest = columns;
    for name in names {
        let (matching, others): (Vec<Column>, Vec<Column>) =
            rest.into_iter().partition(|column| wildcard_match(name, &column.name).is_some());
        kept.extend(matching);
        rest = others;
    }
    kept
}

/// An eval over result fields, the fields replaced by the SQL that computes them.
fn inline(eval: &Eval, columns: &[Column]) -> Eval {
    match eval {
        Eval::Field(name) => match columns.iter().find(|column| column.name == *name) {
            Some(column) => Eval::Call("\u{0}sql".into(), vec![Eval::Str(column.sql.clone())]),
            None => Eval::Null,
        },
        Eval::Call(name, arguments) => {
            Eval::Call(name.clone(), arguments.iter().map(|argument| inline(argument, columns)).collect())
        }
        Eval::Unary(op, inner) => Eval::Unary(*op, Box::new(inline(inner, columns))),
        Eval::Binary(op, left, right) => {
            Eval::Binary(*op, Box::new(inline(left, columns)), Box::new(inline(right, columns)))
        }
        other => other.clone(),
    }
}

/// An eval expression (as `where` uses it) in SQL: comparisons are case-sensitive, as in SPL.
fn eval_sql(sql: &Sql, eval: &Eval) -> Result<String, Unsupported> {
    Ok(match eval {
        Eval::Field(name) => sql.identifier(name),
        Eval::Str(text) => sql.string(text),
        Eval::Num(value) => number(*value),
        Eval::Bool(value) => if *value { "1=1" } else { "1=0" }.to_owned(),
        Eval::Null => "NULL".to_owned(),
        Eval::Unary(UnaryOp::Not, inner) => format!("NOT COALESCE(({}), FALSE)", eval_sql(sql, inner)?),
        Eval::Unary(UnaryOp::Negate, inner) => format!("-({})", eval_sql(sql, inner)?),
        Eval::Binary(op, left, right) => binary(sql, *op, left, right)?,
        Eval::Call(name, arguments) => call(sql, name, arguments)?,
    })
}

fn binary(sql: &Sql, op: BinaryOp, left: &Eval, right: &Eval) -> Result<String, Unsupported> {
    let numeric = matches!(left, Eval::Num(_)) || matches!(right, Eval::Num(_));
    let side = |eval: &Eval| -> Result<String, Unsupported> {
        let text = eval_sql(sql, eval)?;
        Ok(if numeric && !matches!(eval, Eval::Num(_)) { sql.real(&text) } else { text })
    };
    let (l, r) = (side(left)?, side(right)?);
    Ok(match op {
        BinaryOp::And => format!("({l}) AND ({r})"),
        BinaryOp::Or => format!("({l}) OR ({r})"),
        BinaryOp::Eq => format!("{l} = {r}"),
        BinaryOp::Neq => format!("{l} <> {r}"),
        BinaryOp::Lt => format!("{l} < {r}"),
        BinaryOp::Lte => format!("{l} <= {r}"),
        BinaryOp::Gt => format!("{l} > {r}"),
        BinaryOp::Gte => format!("{l} >= {r}"),
        BinaryOp::Add => format!("({l} + {r})"),
        BinaryOp::Sub => format!("({l} - {r})"),
        BinaryOp::Mul => format!("({l} * {r})"),
        BinaryOp::Div => format!("({l} / {r})"),
        BinaryOp::Concat => format!("({l} || {r})"),
        other => return unsupported(format!("eval operator `{other:?}` in SQL")),
    })
}

fn call(sql: &Sql, name: &str, arguments: &[Eval]) -> Result<String, Unsupported> {
    let argument = |at: usize| {
        arguments.get(at).map(|eval| eval_sql(sql, eval)).unwrap_or_else(|| unsupported("a missing argument"))
    };
    Ok(match (name, arguments.len()) {
        ("\u{0}sql", 1) => match &arguments[0] {
            Eval::Str(text) => text.clone(),
            _ => unreachable!("inlined SQL is text"),
        },
        ("isnull", 1) => format!("{} IS NULL", argument(0)?),
        ("isnotnull", 1) => format!("{} IS NOT NULL", argument(0)?),
        ("lower", 1) => format!("lower({})", argument(0)?),
        ("upper", 1) => format!("upper({})", argument(0)?),
        ("len", 1) => format!("length({})", argument(0)?),
        ("match", 2) if sql.dialect == Dialect::Sqlite => format!("{} REGEXP {}", argument(0)?, argument(1)?),
        ("match", 2) if sql.dialect == Dialect::Spark => format!("{} RLIKE {}", argument(0)?, argument(1)?),
        ("match", 2) => format!("regexp_matches({}, {})", argument(0)?, argument(1)?),
        (other, _) => return unsupported(format!("eval function `{other}` in SQL")),
    })
}

fn command_name(command: &Command) -> &'static str {
    match command {
        Command::Search(_) => "search",
        Command::Where(_) => "where",
        Command::Eval(_) => "eval",
        Command::Stats(stats) if stats.keep_rows => "eventstats",
        Command::Stats(_) => "stats",
        Command::Rename(_) => "rename",
        Command::Table(_) => "table",
        Command::Fields { .. } => "fields",
        Command::Rex { .. } => "rex",
        Command::Regex { .. } => "regex",
        Command::Dedup { .. } => "dedup",
        Command::Sort { .. } => "sort",
        Command::Head(_) => "head",
        Command::Bin { .. } => "bin",
        Command::ConvertCtime { .. } => "convert",
        Command::Fillnull { .. } => "fillnull",
        Command::Lookup(_) => "lookup",
        Command::Join { .. } => "join",
        Command::Mvexpand(_) => "mvexpand",
        Command::Makemv { .. } => "makemv",
        Command::Replace { .. } => "replace",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sql_of(search: &str) -> String {
        let query = harrier_spl::parse_query(search).expect("the search parses");
        super::query(&query, Dialect::Sqlite, "logs").expect("the search converts")
    }

    #[test]
    fn a_column_renamed_to_an_existing_name_replaces_that_column() {
        // `drop_dm_object_name` after `tstats ... values(parent_process_name) AS parent_process
        // by parent_process`: Splunk's rename overwrites the aggregate with the by-field.
        let sql = sql_of(
            "search EventCode=1 | stats values(ParentImage) AS parent_process count by Node.parent_process \
             | rename Node.* AS *",
        );
        let select = &sql[..sql.find(" FROM ").unwrap()];
        assert_eq!(select.matches("AS \"parent_process\"").count(), 1, "{select}");
        assert!(!select.contains("ParentImage"), "the aggregate is gone: {select}");
        assert!(select.contains("\"Node.parent_process\""), "the by-field stays: {select}");
    }
}
