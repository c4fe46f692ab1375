//! `stats`, `eventstats` and the aggregation of `tstats`: groups and their aggregates.

use crate::eval::Evaluator;
use crate::row::{Row, multivalue, number_of, number_value, text_of, values_of};
use harrier_event::Value;
use harrier_ir::pipeline::{Eval, Stats, StatsCall, StatsFunction};
use std::collections::{BTreeMap, BTreeSet};

/// Groups by their `by` values (as text, so they sort as Splunk sorts them).
pub struct Aggregator {
    stats: Stats,
    groups: BTreeMap<Vec<String>, Group>,
}

/// One group: its aggregates and the logs its rows came from.
struct Group {
    states: Vec<State>,
    sources: Row,
}

/// What one aggregate keeps of its group.
#[derive(Default, Clone)]
struct State {
    count: u64,
    distinct: BTreeSet<String>,
    list: Vec<Value>,
    numbers: Vec<f64>,
    min: Option<Value>,
    max: Option<Value>,
    /// (time, value) of the earliest and latest row.
    earliest: Option<(f64, Value)>,
    latest: Option<(f64, Value)>,
    first: Option<Value>,
    last: Option<Value>,
}

/// Splunk keeps at most this many values in `list()`.
const LIST_LIMIT: usize = 100;

impl Aggregator {
    pub fn new(stats: &Stats) -> Aggregator {
        Aggregator { stats: stats.clone(), groups: BTreeMap::new() }
    }

    /// The group keys of a row: none when a `by` field is missing and not filled, several
    /// when a `by` field has several values.
    pub fn keys(&self, row: &Row) -> Vec<Vec<String>> {
        let mut keys = vec![Vec::new()];
        for field in &self.stats.by {
            let values: Vec<String> = match row.get(field) {
                Some(value) if field == "_time" && self.stats.time_span.is_some() => {
                    let span = self.stats.time_span.expect("checked");
                    number_of(value)
                        .map(|time| crate::row::format_number((time / span).floor() * span))
                        .into_iter()
                        .collect()
                }
                Some(value) => {
                    values_of(value).iter().filter_map(|item| text_of(item).map(|t| t.into_owned())).collect()
                }
                None => self.stats.fill_missing_by.clone().into_iter().collect(),
            };
            if values.is_empty() {
                return Vec::new();
            }
            keys = keys
                .into_iter()
                .flat_map(|key| {
                    values.iter().map(move |value| {
                        let mut key = key.clone();
                        key.push(value.clone());
                        key
                    })
                })
                .collect();
        }
        keys
    }

    pub fn add(&mut self, row: &Row, evaluator: &Evaluator) {
        let keys = self.keys(row);
        if keys.is_empty() {
            return;
        }
        let time = row.get("_time").and_then(number_of);
        let arguments: Vec<Option<Value>> =
            self.stats.calls.iter().map(|call| argument(call, row, evaluator)).collect();
        for key in keys {
            let calls = self.stats.calls.len();
            let group = self
                .groups
                .entry(key)
                .or_insert_with(|| Group { states: vec![State::default(); calls], sources: Row::empty() });
            group.sources.add_sources(&row.sources);
            for ((call, state), value) in self.stats.calls.iter().zip(group.states.iter_mut()).zip(&arguments) {
                state.add(call, value.as_ref(), time);
            }
        }
    }

    /// One row per group, in group order; with no `by`, one row even for no input (`count` 0).
    pub fn rows(self) -> Vec<Row> {
        let mut groups = self.groups;
        if self.stats.by.is_empty() && groups.is_empty() {
            groups.insert(
                Vec::new(),
                Group { states: vec![State::default(); self.stats.calls.len()], sources: Row::empty() },
            );
        }
        groups
            .into_iter()
            .map(|(key, group)| {
                let mut row = Row::empty();
                row.sources = group.sources.sources;
                for (field, value) in self.stats.by.iter().zip(key) {
                    row.set(field, Value::Str(value));
                }
                for (call, state) in self.stats.calls.iter().zip(group.states) {
                    row.set(&call.alias, state.result(call.function));
                }
                row
            })
            .collect()
    }

    /// `eventstats`: every row with its group's aggregates added.
    pub fn annotate(stats: &Stats, rows: Vec<Row>, evaluator: &Evaluator) -> Vec<Row> {
        let mut aggregator = Aggregator::new(stats);
        for row in &rows {
            aggregator.add(row, evaluator);
        }
        let results: BTreeMap<Vec<String>, Vec<Value>> = aggregator
            .groups
            .into_iter()
            .map(|(key, group)| {
                (key, stats.calls.iter().zip(group.states).map(|(call, state)| state.result(call.function)).collect())
            })
            .collect();
        let keyer = Aggregator::new(stats);
        rows.into_iter()
            .map(|mut row| {
                if let Some(values) = keyer.keys(&row).first().and_then(|key| results.get(key)) {
                    for (call, value) in stats.calls.iter().zip(values) {
                        row.set(&call.alias, value.clone());
                    }
                }
                row
            })
            .collect()
    }
}

/// The value a call aggregates for a row; `count(eval(...))` counts only where it holds.
fn argument(call: &StatsCall, row: &Row, evaluator: &Evaluator) -> Option<Value> {
    match &call.argument {
        None => Some(Value::Bool(true)),
        Some(Eval::Field(name)) => row.get(name).cloned(),
        Some(expr) => match evaluator.eval(expr, row) {
            Value::Null | Value::Bool(false) => None,
            value => Some(value),
        },
    }
}

impl State {
    fn add(&mut self, call: &StatsCall, value: Option<&Value>, time: Option<f64>) {
        let Some(value) = value else { return };
        if call.argument.is_none() {
            self.count += 1;
            return;
        }
        for item in values_of(value) {
            self.count += 1;
            if matches!(call.function, StatsFunction::DistinctCount | StatsFunction::Values)
                && let Some(text) = text_of(item)
            {
                self.distinct.insert(text.into_owned());
            }
            if call.function == StatsFunction::List && self.list.len() < LIST_LIMIT {
                self.list.push(item.clone());
            }
            if let Some(number) = number_of(item) {
                self.numbers.push(number);
            }
            if self.min.as_ref().is_none_or(|min| less(item, min)) {
                self.min = Some(item.clone());
            }
            if self.max.as_ref().is_none_or(|max| less(max, item)) {
                self.max = Some(item.clone());
            }
            if let Some(time) = time {
                if self.earliest.as_ref().is_none_or(|(earliest, _)| time < *earliest) {
                    self.earliest = Some((time, item.clone()));
                }
                if self.latest.as_ref().is_none_or(|(latest, _)| time >= *latest) {
                    self.latest = Some((time, item.clone()));
                }
            }
            if self.first.is_none() {
                self.first = Some(item.clone());
            }
            self.last = Some(item.clone());
        }
    }

    fn result(self, function: StatsFunction) -> Value {
        let numbers = &self.numbers;
        let mean = || numbers.iter().sum::<f64>() / numbers.len() as f64;
        match function {
            StatsFunction::Count => Value::Int(self.count as i64),
            StatsFunction::DistinctCount => Value::Int(self.distinct.len() as i64),
            StatsFunction::Values => multivalue(self.distinct.into_iter().map(Value::Str).collect()),
            StatsFunction::List => multivalue(self.list),
            StatsFunction::Min => self.min.map(as_number).unwrap_or(Value::Null),
            StatsFunction::Max => self.max.map(as_number).unwrap_or(Value::Null),
            StatsFunction::Earliest => self.earliest.map_or(Value::Null, |(_, value)| value),
            StatsFunction::Latest => self.latest.map_or(Value::Null, |(_, value)| value),
            StatsFunction::First => self.first.unwrap_or(Value::Null),
            StatsFunction::Last => self.last.unwrap_or(Value::Null),
            StatsFunction::Sum if numbers.is_empty() => Value::Null,
            StatsFunction::Sum => number_value(numbers.iter().sum()),
            StatsFunction::Avg if numbers.is_empty() => Value::Null,
            StatsFunction::Avg => number_value(mean()),
            StatsFunction::Stdev if numbers.len() < 2 => Value::Null,
            StatsFunction::Stdev => {
                let mean = mean();
                let variance = numbers.iter().map(|n| (n - mean).powi(2)).sum::<f64>() / (numbers.len() - 1) as f64;
                number_value(variance.sqrt())
            }
            StatsFunction::Range if numbers.is_empty() => Value::Null,
            StatsFunction::Range => {
                let (min, max) =
                    numbers.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), n| (lo.min(*n), hi.max(*n)));
                number_value(max - min)
            }
            StatsFunction::Median if numbers.is_empty() => Value::Null,
            StatsFunction::Median => {
                let mut sorted = numbers.clone();
                sorted.sort_by(f64::total_cmp);
                number_value(sorted[(sorted.len() - 1) / 2])
            }
        }
    }
}

/// Numeric order when both are numbers, else text order (Splunk's min/max).
fn less(a: &Value, b: &Value) -> bool {
    match (number_of(a), number_of(b)) {
        (Some(x), Some(y)) => x < y,
        (Some(_), None) => true,
        (None, Some(_)) => false,
        _ => text_of(a) < text_of(b),
    }
}

fn as_number(value: Value) -> Value {
    match number_of(&value) {
        Some(number) if !matches!(value, Value::Float(_)) => number_value(number),
        _ => value,
    }
}
