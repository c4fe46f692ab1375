//! Conversion backends: a rule of Harrier's IR (Sigma or SPL, after logsource routing) as a
//! query for the engines where logs already live: Elasticsearch/OpenSearch `query_string`
//! (`lucene`), the query DSL (`es-dsl`), ES|QL (`esql`), Splunk SPL (`splunk`) and SQL
//! (`sql`, dialects sqlite, duckdb, postgres, spark).
//!
//! Semantics are Sigma's: values match ignoring case, a test on an absent field is false and
//! its negation true. Each target gets the case-insensitive form it has (see [`Target`]); a
//! feature a target cannot express is an [`Unsupported`] error naming it, never a weaker query.

mod alternation;
mod correlation;
mod dsl;
mod esql;
mod esql_pipeline;
mod ipv6;
mod lucene;
pub mod profile;
mod regex;
mod splunk;
mod sql;
mod sql_pipeline;

pub use profile::Profile;

use harrier_ir::{Expr, Pattern, Predicate, Rule, Test, Token};

/// Where a conversion runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Elasticsearch/OpenSearch `query_string`. Case: values on fields the profile says are
    /// case-sensitive (ES `keyword`) become regular expressions with both cases of each letter.
    Lucene,
    /// Elasticsearch query DSL: `term`/`wildcard`/`regexp` with `case_insensitive: true`.
    EsDsl,
    /// ES|QL: `TO_LOWER(field)` compared with the lower-cased value.
    Esql,
    /// Splunk SPL, whose search compares values ignoring case.
    Splunk,
    /// SQL: `LIKE` (SQLite, ASCII case-insensitive) or `ILIKE` (DuckDB, PostgreSQL, Spark).
    Sql(Dialect),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Duckdb,
    Postgres,
    Spark,
}

impl Target {
    pub fn parse(target: &str, dialect: Option<&str>) -> Result<Target, String> {
        let dialect = match dialect.unwrap_or("sqlite").to_ascii_lowercase().as_str() {
            "sqlite" => Dialect::Sqlite,
            "duckdb" => Dialect::Duckdb,
            "postgres" | "postgresql" => Dialect::Postgres,
            "spark" => Dialect::Spark,
            other => return Err(format!("unknown SQL dialect `{other}` (sqlite, duckdb, postgres, spark)")),
        };
        Ok(match target.to_ascii_lowercase().as_str() {
            "lucene" | "query_string" => Target::Lucene,
            "es-dsl" | "dsl" => Target::EsDsl,
            "esql" | "es|ql" => Target::Esql,
            "splunk" | "spl" => Target::Splunk,
            "sql" => Target::Sql(dialect),
            "sqlite" => Target::Sql(Dialect::Sqlite),
            "duckdb" => Target::Sql(Dialect::Duckdb),
            "postgres" => Target::Sql(Dialect::Postgres),
            "spark" => Target::Sql(Dialect::Spark),
            other => return Err(format!("unknown target `{other}` (lucene, es-dsl, esql, splunk, sql)")),
        })
    }

    /// The profile a target uses when none is given.
    pub fn default_profile(self) -> &'static str {
        match self {
            Target::Lucene | Target::EsDsl | Target::Esql => "ecs",
            Target::Splunk => "splunk-windows",
            Target::Sql(_) => "sysmon",
        }
    }
}

/// A feature of a rule the target cannot express.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported {
    pub feature: String,
}

impl std::fmt::Display for Unsupported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.feature)
    }
}

pub(crate) fn unsupported<T>(feature: impl Into<String>) -> Result<T, Unsupported> {
    Err(Unsupported { feature: feature.into() })
}

/// A converted rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Conversion {
    pub query: String,
    /// The index pattern the query runs on, when the profile maps the rule's channel to one.
    pub index: Option<String>,
}

/// Options of a conversion.
#[derive(Debug, Clone)]
pub struct Options {
    /// SQL table (and ES|QL source when no index is known).
    pub table: String,
    /// Accept fixed time buckets for correlations in ES|QL (which has no sliding windows).
    pub tumbling_windows: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options { table: "logs".into(), tumbling_windows: false }
    }
}

/// Converts a loaded, routed rule (its condition already restricted to its logsource).
pub fn convert(rule: &Rule, target: Target, profile: &Profile, options: &Options) -> Result<Conversion, Unsupported> {
    let (condition, index) = prepared(rule, profile);
    let query = match target {
        Target::Lucene => lucene::query(&condition, profile)?,
        Target::EsDsl => dsl::query(&condition, profile)?,
        Target::Esql => esql::query(&condition, profile, index.as_deref().unwrap_or(&options.table))?,
        Target::Splunk => splunk::query(&condition)?,
        Target::Sql(dialect) => sql::query(&condition, dialect, &options.table)?,
    };
    Ok(Conversion { query, index })
}

/// The suffix of a column holding another column lower-cased (see [`sql_condition`]).
pub const LOWERED_SUFFIX: &str = "::lower";

/// Text as a string literal of `dialect` (Spark's doubles backslashes, which it reads as escapes).
pub fn sql_literal(text: &str, dialect: Dialect) -> String {
    sql::Sql::new(dialect).string(text)
}

/// The column of an event as a JSON object's text, as `harrier ingest` writes it (serde_json:
/// only `"`, `\` and control characters escaped), which keyword searches read (see
/// [`sql_condition`]).
pub const EVENT_FIELD: &str = "::event";

/// A routed rule's condition as a SQL boolean expression, for engines that test many rules in
/// one scan (harrier-spark flags each rule). With `lowered`, a case-insensitive test reads
/// the column `<field>::lower` (the field lower-cased once per row, which the engine's table
/// must provide) with `LIKE` and a lower-cased pattern, rather than lower-casing the field
/// for every test. In Spark SQL, a keyword search (a test on any value) reads the column
/// [`EVENT_FIELD`]: it tests every value of the event, a list's items one by one, and with
/// `lowered` first searches `::event::lower` for a literal the test needs.
pub fn sql_condition(rule: &Rule, dialect: Dialect, profile: &Profile, lowered: bool) -> Result<String, Unsupported> {
    let values = dialect == Dialect::Spark;
    sql::Sql { dialect, lowered, values }.expr(&prepared(rule, profile).0)
}

/// A SQL condition that holds for every event a rule can match (tests SQL cannot express taken
/// as passing): the candidates to pull when the rule itself must run elsewhere.
pub fn sql_candidates(rule: &Rule, dialect: Dialect, profile: &Profile) -> String {
    sql::Sql::new(dialect).superset(&prepared(rule, profile).0)
}

/// [`sql_candidates`] for an SPL detection's search (fields as Splunk sees them): the events
/// its search reads, and those the searches it joins read.
pub fn sql_query_candidates(query: &harrier_ir::pipeline::Query, dialect: Dialect) -> String {
    fn add(query: &harrier_ir::pipeline::Query, sql: &sql::Sql, candidates: &mut Vec<String>) {
        if let harrier_ir::pipeline::QuerySource::Events(condition) = &query.source {
            candidates.push(format!("({})", sql.superset(condition)));
        }
        for command in &query.commands {
            if let harrier_ir::pipeline::Command::Join { query, .. } = command {
                add(query, sql, candidates);
            }
        }
    }
    let mut candidates = Vec::new();
    add(query, &sql::Sql::new(dialect), &mut candidates);
    if candidates.is_empty() { "1=0".into() } else { candidates.join(" OR ") }
}

/// A rule's condition with the profile applied (values, field names), and the index it names.
pub(crate) fn prepared(rule: &Rule, profile: &Profile) -> (Expr, Option<String>) {
    let (condition, index) = take_index(&rule.condition, profile);
    let condition = formatted_values(&condition, profile);
    (condition.map_fields(&|field| profile.field(&rule.meta.logsource, field)), index)
}

/// Converts a Sigma correlation over its rules (each as the correlation names it): SQL with
/// sliding windows, ES|QL with fixed ones when asked.
pub fn convert_correlation(
    correlation: &harrier_ir::Correlation,
    rules: &[(&str, &Rule)],
    target: Target,
    profile: &Profile,
    options: &Options,
) -> Result<Conversion, Unsupported> {
    Ok(Conversion { query: correlation::convert(correlation, rules, target, profile, options)?, index: None })
}

/// Converts an SPL query (an ESCU detection's search, macros expanded) whose fields are the
/// ones Splunk sees: to SQL and ES|QL.
pub fn convert_query(
    query: &harrier_ir::pipeline::Query,
    target: Target,
    options: &Options,
) -> Result<Conversion, Unsupported> {
    let query = match target {
        Target::Sql(dialect) => sql_pipeline::query(query, dialect, &options.table)?,
        Target::Esql => esql_pipeline::query(query, &options.table)?,
        _ => return unsupported("SPL pipelines convert to splunk (themselves), sql and esql"),
    };
    Ok(Conversion { query, index: None })
}

/// With a profile that maps channels to indexes, a rule on one such channel queries that index:
/// the channel test leaves the condition.
fn take_index(condition: &Expr, profile: &Profile) -> (Expr, Option<String>) {
    if profile.indexes.is_empty() {
        return (condition.clone(), None);
    }
    let channel_of = |item: &Expr| match item {
        Expr::Pred(Predicate { field: Some(field), test: Test::Matches { pattern, .. } })
            if field.eq_ignore_ascii_case("Channel") =>
        {
            pattern.as_literal().and_then(|channel| profile.indexes.get(channel)).cloned()
        }
        _ => None,
    };
    match condition {
        Expr::And(items) => match items.iter().position(|item| channel_of(item).is_some()) {
            Some(position) => {
                let index = channel_of(&items[position]);
                let rest = items.iter().enumerate().filter(|(at, _)| *at != position).map(|(_, item)| item.clone());
                (Expr::and(rest.collect()), index)
            }
            None => (condition.clone(), None),
        },
        single => match channel_of(single) {
            Some(index) => (Expr::Const(true), Some(index)),
            None => (condition.clone(), None),
        },
    }
}

/// Literal values of fields the profile writes differently (`WinEventLog:<channel>`,
/// `egress` for `Initiated: true`).
fn formatted_values(condition: &Expr, profile: &Profile) -> Expr {
    if profile.value_formats.is_empty() && profile.value_maps.is_empty() {
        return condition.clone();
    }
    let recurse = |items: &[Expr]| items.iter().map(|item| formatted_values(item, profile)).collect();
    match condition {
        Expr::And(items) => Expr::And(recurse(items)),
        Expr::Or(items) => Expr::Or(recurse(items)),
        Expr::Not(item) => Expr::Not(Box::new(formatted_values(item, profile))),
        Expr::Pred(Predicate { field: Some(field), test: Test::Matches { pattern, cased } }) => {
            match pattern.as_literal().and_then(|value| profile.value(field, value)) {
                Some(value) => Expr::Pred(Predicate {
                    field: Some(field.clone()),
                    test: Test::Matches { pattern: Pattern::literal(value), cased: *cased },
                }),
                None => condition.clone(),
            }
        }
        other => other.clone(),
    }
}

/// Whether a pattern's literal text has letters (so its case matters).
pub(crate) fn has_letters(pattern: &Pattern) -> bool {
    pattern.tokens().iter().any(
        |token| matches!(token, Token::Literal(text) if text.chars().any(|c| c.to_lowercase().ne(c.to_uppercase()))),
    )
}

/// A pattern with its literal text lower-cased.
pub(crate) fn lowered(pattern: &Pattern) -> Pattern {
    Pattern::from_tokens(pattern.tokens().iter().map(|token| match token {
        Token::Literal(text) => Token::Literal(text.to_lowercase()),
        other => other.clone(),
    }))
}

/// Writes a pattern: literal text through `literal`, wildcards as given.
pub(crate) fn render_pattern(
    pattern: &Pattern,
    any_run: &str,
    any_char: &str,
    literal: &dyn Fn(&str) -> String,
) -> String {
    pattern
        .tokens()
        .iter()
        .map(|token| match token {
            Token::Literal(text) => literal(text),
            Token::AnyRun => any_run.to_owned(),
            Token::AnyChar => any_char.to_owned(),
        })
        .collect()
}

/// A comparison's operator, with the target's spelling of equality and inequality.
pub(crate) fn operator(op: harrier_ir::CompareOp, equals: &'static str, differs: &'static str) -> &'static str {
    use harrier_ir::CompareOp;
    match op {
        CompareOp::Lt => "<",
        CompareOp::Lte => "<=",
        CompareOp::Gt => ">",
        CompareOp::Gte => ">=",
        CompareOp::Eq => equals,
        CompareOp::Neq => differs,
    }
}

/// A regex with its flags written inline (`(?is)...`), as PCRE-like engines read them.
pub(crate) fn inline_flags(pattern: &str, ignore_case: bool, multi_line: bool, dot_all: bool) -> String {
    let flags: String = [(ignore_case, 'i'), (multi_line, 'm'), (dot_all, 's')]
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, flag)| *flag)
        .collect();
    if flags.is_empty() { pattern.to_owned() } else { format!("(?{flags}){pattern}") }
}

/// A number as rule values write it (no `.0` for whole numbers).
pub(crate) fn number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 { format!("{}", value as i64) } else { value.to_string() }
}

#[cfg(test)]
mod tests;
