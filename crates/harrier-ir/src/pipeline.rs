//! Row-producing pipelines: what a rule does with its matching events after the condition.
//!
//! A Sigma rule ends at its condition; an SPL search goes on (`| stats ... by ...`,
//! `| where ...`, `| rename ...`). A [`Query`] is a condition over events plus a list of
//! [`Command`]s over rows (field name → value). The commands say what to compute, not how:
//! the SPL parser builds them, an executor runs them, a converter can print them.

use crate::Expr;

/// A search: the events it starts from and the commands its rows go through.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub source: QuerySource,
    pub commands: Vec<Command>,
}

/// Where a query's rows come from.
#[derive(Debug, Clone, PartialEq)]
pub enum QuerySource {
    /// Events matching a condition (a search's base search, a `tstats` `where` clause).
    Events(Expr),
    /// The rows of a lookup table (`| inputlookup name`).
    Lookup(String),
}

/// One command of a pipeline.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Keeps rows matching a search-language condition (`| search`).
    Search(Expr),
    /// Keeps rows where an expression is true (`| where`).
    Where(Eval),
    /// Sets fields to expressions, in order (`| eval a=..., b=...`).
    Eval(Vec<(String, Eval)>),
    /// Aggregates rows into one row per group (`stats`), or adds the group's aggregates to
    /// every row (`eventstats`).
    Stats(Stats),
    /// Renames fields; `*` in a name stands for any run of characters (`Processes.* AS *`).
    Rename(Vec<(String, String)>),
    /// Keeps these fields, in this order (`table`); names may hold `*`.
    Table(Vec<String>),
    /// Keeps (`fields a b`) or removes (`fields - a b`) fields; names may hold `*`.
    Fields { remove: bool, names: Vec<String> },
    /// Extracts named groups of a regex from a field into fields (`rex`), or edits the field
    /// (`rex mode=sed`).
    Rex { field: String, regex: String, max_match: usize, sed: Option<SedReplace> },
    /// Keeps rows whose field matches (or, negated, does not match) a regex (`regex`).
    Regex { field: String, regex: String, negate: bool },
    /// Keeps the first `keep` rows of each combination of values of the fields (`dedup`).
    Dedup { fields: Vec<String>, keep: usize },
    /// Sorts rows (`sort`); `limit` 0 means all.
    Sort { keys: Vec<SortKey>, limit: usize },
    /// Keeps the first rows (`head`).
    Head(usize),
    /// Rounds a numeric field down to a multiple of a span (`bin _time span=1h`).
    Bin { field: String, span: f64, alias: Option<String> },
    /// Turns epoch times into text (`convert ctime(field)`).
    ConvertCtime { format: String, fields: Vec<(String, Option<String>)> },
    /// Gives missing fields a value (`fillnull`); no fields means every field of the rows.
    Fillnull { value: String, fields: Vec<String> },
    /// Adds fields from a lookup table's matching rows (`lookup`).
    Lookup(LookupCall),
    /// Joins with the rows of another query on equal fields (`join`).
    Join { kind: JoinKind, fields: Vec<String>, query: Box<Query> },
    /// One row per value of a multivalue field (`mvexpand`).
    Mvexpand(String),
    /// Splits a field's text into a multivalue (`makemv delim=...`).
    Makemv { field: String, delimiter: String },
    /// Replaces whole values (`replace "a*" WITH "b*" IN f`): `*` in the old value captures
    /// what the `*` of the new one puts back. No fields means every field.
    Replace { pairs: Vec<(String, String)>, fields: Vec<String> },
}

/// `stats`, `eventstats` and the aggregation half of `tstats`.
#[derive(Debug, Clone, PartialEq)]
pub struct Stats {
    pub calls: Vec<StatsCall>,
    pub by: Vec<String>,
    /// `eventstats`: keep every row and add the group's aggregates to it.
    pub keep_rows: bool,
    /// What a missing `by` field becomes; `None` drops the row (`stats`), tstats'
    /// `fillnull_value` keeps it.
    pub fill_missing_by: Option<String>,
    /// `by _time span=1h`: `_time` is rounded down to this many seconds first.
    pub time_span: Option<f64>,
}

/// One aggregate, `max(_time) as lastTime`.
#[derive(Debug, Clone, PartialEq)]
pub struct StatsCall {
    pub function: StatsFunction,
    /// The field or expression aggregated; `None` for a bare `count`.
    pub argument: Option<Eval>,
    pub alias: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatsFunction {
    Count,
    DistinctCount,
    Values,
    List,
    Min,
    Max,
    Earliest,
    Latest,
    First,
    Last,
    Sum,
    Avg,
    Stdev,
    Range,
    Median,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SortKey {
    pub field: String,
    pub descending: bool,
}

/// `rex mode=sed "s/regex/replacement/flags"`.
#[derive(Debug, Clone, PartialEq)]
pub struct SedReplace {
    pub replacement: String,
    pub global: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinKind {
    Inner,
    Left,
}

/// `lookup name input AS field OUTPUT column AS field`.
#[derive(Debug, Clone, PartialEq)]
pub struct LookupCall {
    pub table: String,
    /// (lookup column, row field) pairs that must match.
    pub inputs: Vec<(String, String)>,
    /// (lookup column, row field) pairs to copy; none means every other column.
    pub outputs: Vec<(String, String)>,
    /// `OUTPUTNEW`: only fill fields the row lacks.
    pub only_new: bool,
}

/// An eval expression (`where`, `eval`, `stats ... eval(...)`), typed as SPL types it:
/// strings are quoted, bare words are fields.
#[derive(Debug, Clone, PartialEq)]
pub enum Eval {
    Field(String),
    Str(String),
    Num(f64),
    Bool(bool),
    Null,
    Call(String, Vec<Eval>),
    Unary(UnaryOp, Box<Eval>),
    Binary(BinaryOp, Box<Eval>, Box<Eval>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    Not,
    Negate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    Or,
    Xor,
    And,
    Eq,
    Neq,
    Lt,
    Lte,
    Gt,
    Gte,
    Like,
    Add,
    Sub,
    Concat,
    Mul,
    Div,
    Rem,
}

/// A lookup table: columns and rows of text, with how its columns match.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LookupTable {
    pub name: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// Columns whose values are patterns with `*` (`match_type: WILDCARD(col)`).
    pub wildcard_columns: Vec<String>,
    pub case_sensitive: bool,
    /// How many matching rows are used at most (Splunk's default is 100).
    pub max_matches: usize,
    /// The output value when no row matches.
    pub default_match: Option<String>,
}

/// A time span (`30s`, `5m`, `1h`, `1d`, `1w`; a bare number is seconds) in seconds.
pub fn span_seconds(text: &str) -> Option<f64> {
    let text = text.trim();
    let digits = text.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(text.len());
    let count: f64 = text[..digits].parse().ok()?;
    let unit = match text[digits..].to_ascii_lowercase().as_str() {
        "" | "s" | "sec" | "secs" | "second" | "seconds" => 1.0,
        "m" | "min" | "mins" | "minute" | "minutes" => 60.0,
        "h" | "hr" | "hrs" | "hour" | "hours" => 3600.0,
        "d" | "day" | "days" => 86_400.0,
        "w" | "week" | "weeks" => 604_800.0,
        _ => return None,
    };
    // A span of nothing (or of more than a century) buckets nothing: `bin span=0s` would
    // divide by zero.
    let seconds = count * unit;
    (seconds > 0.0 && seconds < 3.2e9).then_some(seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans() {
        assert_eq!(span_seconds("1h"), Some(3600.0));
        assert_eq!(span_seconds("5m"), Some(300.0));
        assert_eq!(span_seconds("x"), None);
    }
}
