//! Running a query: rows in from matched events (or a lookup), commands applied, rows out.

use crate::eval::{Evaluator, sed_replacement};
use crate::row::{Row, format_number, number_of, text_of, values_of};
use crate::stats::Aggregator;
use harrier_engine::{Engine, FieldNames};
use harrier_event::{FieldName, Value};
use harrier_ir::pipeline::{Command, Eval, JoinKind, LookupCall, LookupTable, Query, QuerySource, SortKey, Stats};
use harrier_ir::{Expr, Pattern, Token};
use regex::Regex;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// A compiled query with its subsearches. Node 0 is the query; each `join` adds a node.
/// Events matched by a node's condition are given to [`Runner::accept`] under that node's
/// number (its "feed"). A runner is immutable and shared: what one run gathers is its
/// [`RunState`].
pub struct Runner {
    nodes: Vec<Node>,
    evaluator: Evaluator,
}

struct Node {
    condition: Option<Expr>,
    lookup_rows: Option<Arc<LookupTable>>,
    stages: Vec<Stage>,
    /// How many leading stages work row by row as events arrive.
    streaming: usize,
}

/// What one run of a [`Runner`] has gathered, node by node.
pub struct RunState {
    collected: Vec<Collected>,
}

enum Collected {
    Rows(Vec<Row>),
    /// The first blocking stage is a `stats`: rows are aggregated as they come.
    Groups(Aggregator),
}

enum Stage {
    Command(Command),
    /// `search` with its compiled condition.
    Search(Engine),
    Rex {
        field: String,
        regex: Regex,
        names: Vec<String>,
        max_match: usize,
        replacement: Option<(String, bool)>,
    },
    Regex {
        field: String,
        regex: Regex,
        negate: bool,
    },
    Lookup(LookupCall, Arc<LookupTable>, Arc<CellPatterns>),
    /// `join` with the node of its subsearch.
    Join {
        kind: JoinKind,
        fields: Vec<String>,
        node: usize,
    },
}

impl Stage {
    fn streams(&self) -> bool {
        match self {
            Stage::Search(_) | Stage::Rex { .. } | Stage::Regex { .. } | Stage::Lookup(..) => true,
            Stage::Join { .. } => false,
            Stage::Command(command) => {
                matches!(
                    command,
                    Command::Where(_)
                        | Command::Eval(_)
                        | Command::Rename(_)
                        | Command::Table(_)
                        | Command::Fields { .. }
                        | Command::Bin { .. }
                        | Command::ConvertCtime { .. }
                        | Command::Mvexpand(_)
                        | Command::Makemv { .. }
                ) || matches!(command, Command::Fillnull { fields, .. } if !fields.is_empty())
            }
        }
    }
}

impl Runner {
    /// Compiles a query; fails on what cannot run here (a regex with lookaround, an unknown
    /// eval function, a missing lookup), naming it.
    pub fn new(query: &Query, lookups: &HashMap<String, LookupTable>) -> Result<Runner, String> {
        let mut runner = Runner { nodes: Vec::new(), evaluator: Evaluator::default() };
        runner.add_node(query, lookups)?;
        Ok(runner)
    }

    fn add_node(&mut self, query: &Query, lookups: &HashMap<String, LookupTable>) -> Result<usize, String> {
        let index = self.nodes.len();
        let (condition, lookup_rows) = match &query.source {
            QuerySource::Events(condition) => (Some(condition.clone()), None),
            QuerySource::Lookup(name) => (None, Some(Arc::new(table(lookups, name)?.clone()))),
        };
        self.nodes.push(Node { condition, lookup_rows, stages: Vec::new(), streaming: 0 });
        let mut stages = Vec::new();
        for command in &query.commands {
            check_functions(command)?;
            stages.push(self.stage(command, lookups)?);
        }
        let streaming = stages.iter().take_while(|stage| stage.streams()).count();
        let node = &mut self.nodes[index];
        (node.stages, node.streaming) = (stages, streaming);
        Ok(index)
    }

    fn stage(&mut self, command: &Command, lookups: &HashMap<String, LookupTable>) -> Result<Stage, String> {
        Ok(match command {
            Command::Search(Expr::Const(true)) => Stage::Command(Command::Fields { remove: true, names: Vec::new() }),
            Command::Search(condition) => {
                let (engine, errors) = Engine::with_names([condition], FieldNames::Exact);
                if let Some((_, error)) = errors.first() {
                    return Err(error.to_string());
                }
                Stage::Search(engine)
            }
            Command::Rex { field, regex, max_match, sed } => {
                let compiled = compile_regex(regex)?;
                let names = compiled.capture_names().flatten().map(str::to_owned).collect();
                let replacement = sed.as_ref().map(|sed| (sed_replacement(&sed.replacement), sed.global));
                Stage::Rex { field: field.clone(), regex: compiled, names, max_match: *max_match, replacement }
            }
            Command::Regex { field, regex, negate } => {
                Stage::Regex { field: field.clone(), regex: compile_regex(regex)?, negate: *negate }
            }
            Command::Lookup(call) => {
                let table = table(lookups, &call.table)?;
                Stage::Lookup(call.clone(), Arc::new(table.clone()), Arc::new(CellPatterns::new(table)))
            }
            Command::Join { kind, fields, query } => {
                Stage::Join { kind: *kind, fields: fields.clone(), node: self.add_node(query, lookups)? }
            }
            other => Stage::Command(other.clone()),
        })
    }

    /// The condition of each feed (`None` for a lookup-fed node, which takes no events).
    pub fn conditions(&self) -> Vec<Option<&Expr>> {
        self.nodes.iter().map(|node| node.condition.as_ref()).collect()
    }

    /// Whether the query's results are rows rather than events: it aggregates, ends in
    /// `table`, or reads a lookup.
    pub fn aggregates(&self) -> bool {
        let node = &self.nodes[0];
        node.stages.iter().any(|stage| matches!(stage, Stage::Command(Command::Stats(stats)) if !stats.keep_rows))
            || matches!(node.stages.last(), Some(Stage::Command(Command::Table(_))))
            || node.lookup_rows.is_some()
    }

    /// The empty state of one run: rows kept, or `stats` groups when the first blocking
    /// stage aggregates.
    pub fn start(&self) -> RunState {
        let collected = self
            .nodes
            .iter()
            .map(|node| match node.stages.get(node.streaming) {
                Some(Stage::Command(Command::Stats(stats))) if !stats.keep_rows => {
                    Collected::Groups(Aggregator::new(stats))
                }
                _ => Collected::Rows(Vec::new()),
            })
            .collect();
        RunState { collected }
    }

    /// Takes the row of an event matched by feed `feed`'s condition.
    pub fn accept(&self, state: &mut RunState, feed: usize, row: Row) {
        let node = &self.nodes[feed];
        let mut rows = vec![row];
        for stage in &node.stages[..node.streaming] {
            rows = apply(stage, rows, &self.evaluator, &[]);
            if rows.is_empty() {
                return;
            }
        }
        match &mut state.collected[feed] {
            Collected::Rows(kept) => kept.extend(rows),
            Collected::Groups(aggregator) => rows.iter().for_each(|row| aggregator.add(row, &self.evaluator)),
        }
    }

    /// Runs the rest of the pipeline over what a run gathered and gives the result rows.
    pub fn finish(&self, mut state: RunState) -> Vec<Row> {
        self.finish_node(0, &mut state)
    }

    fn finish_node(&self, index: usize, state: &mut RunState) -> Vec<Row> {
        let collected = std::mem::replace(&mut state.collected[index], Collected::Rows(Vec::new()));
        let node = &self.nodes[index];
        let streaming = node.streaming;
        let (mut rows, skip) = match collected {
            Collected::Groups(aggregator) => (aggregator.rows(), streaming + 1),
            Collected::Rows(rows) => (rows, streaming),
        };
        if let Some(table) = &node.lookup_rows {
            rows = table_rows(table);
            for stage in &node.stages[..streaming] {
                rows = apply(stage, rows, &self.evaluator, &[]);
            }
        }
        for stage in &node.stages[skip..] {
            let joined = match stage {
                Stage::Join { node, .. } => self.finish_node(*node, state),
                _ => Vec::new(),
            };
            rows = apply(stage, rows, &self.evaluator, &joined);
        }
        rows
    }
}

fn table<'a>(lookups: &'a HashMap<String, LookupTable>, name: &str) -> Result<&'a LookupTable, String> {
    lookups.get(name).ok_or_else(|| format!("lookup `{name}` is not available"))
}

fn compile_regex(pattern: &str) -> Result<Regex, String> {
    crate::eval::compile_pcre(pattern).map_err(|error| {
        let first = error.to_string().lines().last().unwrap_or_default().to_owned();
        format!("regex `{pattern}` cannot run here ({first})")
    })
}

/// Every eval function a command calls must be one Harrier has.
fn check_functions(command: &Command) -> Result<(), String> {
    let mut exprs: Vec<&Eval> = Vec::new();
    match command {
        Command::Where(expr) => exprs.push(expr),
        Command::Eval(assignments) => exprs.extend(assignments.iter().map(|(_, expr)| expr)),
        Command::Stats(stats) => exprs.extend(stats.calls.iter().filter_map(|call| call.argument.as_ref())),
        _ => {}
    }
    while let Some(expr) = exprs.pop() {
        match expr {
            Eval::Call(name, arguments) => {
                if !crate::eval::FUNCTIONS.contains(&name.as_str()) {
                    return Err(format!("eval function `{name}()` is not supported"));
                }
                if matches!(name.as_str(), "match" | "replace" | "mvfind")
                    && let Some(Eval::Str(pattern)) = arguments.get(1)
                {
                    compile_regex(pattern)?;
                }
                exprs.extend(arguments);
            }
            Eval::Unary(_, inner) => exprs.push(inner),
            Eval::Binary(_, left, right) => exprs.extend([&**left, &**right]),
            _ => {}
        }
    }
    Ok(())
}

fn table_rows(table: &LookupTable) -> Vec<Row> {
    table
        .rows
        .iter()
        .map(|cells| {
            let mut row = Row::empty();
            for (column, cell) in table.columns.iter().zip(cells) {
                if !cell.is_empty() {
                    row.set(column, Value::Str(cell.clone()));
                }
            }
            row
        })
        .collect()
}

/// One stage over a batch of rows; `joined` holds a join's subsearch rows.
fn apply(stage: &Stage, rows: Vec<Row>, evaluator: &Evaluator, joined: &[Row]) -> Vec<Row> {
    match stage {
        Stage::Search(engine) => rows
            .into_iter()
            .filter(|row| {
                let mut hits = Vec::new();
                engine.matches(&row.to_event(), &mut hits);
                !hits.is_empty()
            })
            .collect(),
        Stage::Rex { field, regex, names, max_match, replacement } => {
            rows.into_iter().map(|row| rex(row, field, regex, names, *max_match, replacement.as_ref())).collect()
        }
        Stage::Regex { field, regex, negate } => rows
            .into_iter()
            .filter(|row| {
                let found = row.get(field).is_some_and(|value| {
                    values_of(value).iter().any(|item| text_of(item).is_some_and(|text| regex.is_match(&text)))
                });
                found != *negate
            })
            .collect(),
        Stage::Lookup(call, table, patterns) => {
            rows.into_iter().map(|row| lookup(row, call, table, patterns)).collect()
        }
        Stage::Join { kind, fields, .. } => join(rows, *kind, fields, joined),
        Stage::Command(command) => apply_command(command, rows, evaluator),
    }
}

fn apply_command(command: &Command, mut rows: Vec<Row>, evaluator: &Evaluator) -> Vec<Row> {
    match command {
        Command::Where(expr) => rows.retain(|row| evaluator.holds(expr, row)),
        Command::Eval(assignments) => {
            for row in &mut rows {
                for (field, expr) in assignments {
                    let value = evaluator.eval(expr, row);
                    row.set(field, value);
                }
            }
        }
        Command::Stats(stats) if stats.keep_rows => return Aggregator::annotate(stats, rows, evaluator),
        Command::Stats(stats) => return aggregate(stats, rows, evaluator),
        Command::Rename(pairs) => rows.iter_mut().for_each(|row| rename(row, pairs)),
        Command::Table(names) => rows.iter_mut().for_each(|row| keep_fields(row, names)),
        Command::Fields { remove: true, names } => {
            rows.iter_mut().for_each(|row| row.fields.retain(|(name, _)| !names.iter().any(|n| glob(n, name.name()))))
        }
        Command::Fields { remove: false, names } => rows.iter_mut().for_each(|row| keep_fields(row, names)),
        Command::Dedup { fields, keep } => return dedup(rows, fields, *keep),
        Command::Sort { keys, limit } => {
            rows.sort_by(|a, b| compare_rows(a, b, keys));
            if *limit > 0 {
                rows.truncate(*limit);
            }
        }
        Command::Head(count) => rows.truncate(*count),
        Command::Bin { field, span, alias } => {
            for row in &mut rows {
                if let Some(number) = row.get(field).and_then(number_of) {
                    let binned = crate::row::number_value((number / span).floor() * span);
                    row.set(alias.as_deref().unwrap_or(field), binned);
                }
            }
        }
        Command::ConvertCtime { format, fields } => {
            for row in &mut rows {
                for (field, alias) in fields {
                    let converted =
                        row.get(field).and_then(number_of).and_then(|time| crate::time::format_epoch(time, format));
                    if let Some(text) = converted {
                        row.set(alias.as_deref().unwrap_or(field), Value::Str(text));
                    }
                }
            }
        }
        Command::Fillnull { value, fields } => {
            let targets: Vec<String> = if fields.is_empty() {
                let mut seen = Vec::new();
                for row in &rows {
                    for (name, _) in &row.fields {
                        if !seen.iter().any(|known: &String| known == name.name()) {
                            seen.push(name.name().to_owned());
                        }
                    }
                }
                seen
            } else {
                fields.clone()
            };
            for row in &mut rows {
                for field in &targets {
                    if row.get(field).is_none() {
                        row.set(field, Value::Str(value.clone()));
                    }
                }
            }
        }
        Command::Mvexpand(field) => {
            return rows
                .into_iter()
                .flat_map(|row| match row.get(field) {
                    Some(Value::List(items)) => items
                        .clone()
                        .into_iter()
                        .map(|item| {
                            let mut copy = row.clone();
                            copy.set(field, item);
                            copy
                        })
                        .collect(),
                    _ => vec![row],
                })
                .collect();
        }
        Command::Makemv { field, delimiter } => {
            for row in &mut rows {
                if let Some(text) = row.text(field).map(|text| text.into_owned()) {
                    let items: Vec<Value> = text
                        .split(delimiter.as_str())
                        .filter(|part| !part.is_empty())
                        .map(|part| Value::Str(part.to_owned()))
                        .collect();
                    row.set(field, Value::List(items));
                }
            }
        }
        Command::Replace { pairs, fields } => {
            for row in &mut rows {
                for (name, value) in &mut row.fields {
                    if fields.is_empty() || fields.iter().any(|field| glob(field, name.name())) {
                        replace_value(value, pairs);
                    }
                }
            }
        }
        Command::Search(_)
        | Command::Rex { .. }
        | Command::Regex { .. }
        | Command::Lookup(_)
        | Command::Join { .. } => {
            unreachable!("compiled into their own stages")
        }
    }
    rows
}

fn aggregate(stats: &Stats, rows: Vec<Row>, evaluator: &Evaluator) -> Vec<Row> {
    let mut aggregator = Aggregator::new(stats);
    for row in &rows {
        aggregator.add(row, evaluator);
    }
    aggregator.rows()
}

/// Whether a name matches a field-name pattern with `*`.
fn glob(pattern: &str, name: &str) -> bool {
    glob_capture(pattern, name).is_some()
}

/// What the one `*` of a pattern stands for in a name (empty for a name without `*`).
fn glob_capture<'n>(pattern: &str, name: &'n str) -> Option<&'n str> {
    match pattern.split_once('*') {
        None => (pattern == name).then_some(""),
        Some((prefix, suffix)) if !suffix.contains('*') => {
            (name.len() >= prefix.len() + suffix.len() && name.starts_with(prefix) && name.ends_with(suffix))
                .then(|| &name[prefix.len()..name.len() - suffix.len()])
        }
        Some(_) => {
            let tokens = pattern.split('*').enumerate().flat_map(|(index, part)| {
                let star = (index > 0).then_some(Token::AnyRun);
                star.into_iter().chain(std::iter::once(Token::Literal(part.to_owned())))
            });
            let regex = crate::glob_regex(&Pattern::from_tokens(tokens));
            regex.is_match(name).then_some("")
        }
    }
}

/// `replace`: the first pair whose old value matches the whole value (case-sensitive, `*`
/// capturing) gives the new one.
fn replace_value(value: &mut Value, pairs: &[(String, String)]) {
    if let Value::List(items) = value {
        items.iter_mut().for_each(|item| replace_value(item, pairs));
        return;
    }
    let Some(text) = text_of(value).map(|text| text.into_owned()) else { return };
    for (old, new) in pairs {
        if let Some(captured) = glob_capture(old, &text) {
            *value = Value::Str(new.replacen('*', captured, 1));
            return;
        }
    }
}

fn rename(row: &mut Row, pairs: &[(String, String)]) {
    for (from, to) in pairs {
        let mut renamed = Vec::new();
        row.fields.retain(|(name, value)| match glob_capture(from, name.name()) {
            Some(captured) => {
                renamed.push((to.replacen('*', captured, 1), value.clone()));
                false
            }
            None => true,
        });
        for (name, value) in renamed {
            row.set(&name, value);
        }
    }
}

fn keep_fields(row: &mut Row, names: &[String]) {
    let mut kept = Vec::new();
    for pattern in names {
        for (name, value) in &row.fields {
            if glob(pattern, name.name()) && !kept.iter().any(|(known, _): &(FieldName, Value)| known == name) {
                kept.push((name.clone(), value.clone()));
            }
        }
    }
    row.fields = kept;
}

fn rex(
    mut row: Row,
    field: &str,
    regex: &Regex,
    names: &[String],
    max_match: usize,
    replacement: Option<&(String, bool)>,
) -> Row {
    let Some(text) = row.text(field).map(|text| text.into_owned()) else { return row };
    if let Some((replacement, global)) = replacement {
        let edited = if *global {
            regex.replace_all(&text, replacement.as_str())
        } else {
            regex.replace(&text, replacement.as_str())
        };
        row.set(field, Value::Str(edited.into_owned()));
        return row;
    }
    let limit = if max_match == 0 { usize::MAX } else { max_match };
    let mut found: Vec<Vec<Value>> = vec![Vec::new(); names.len()];
    for captures in regex.captures_iter(&text).take(limit) {
        for (index, name) in names.iter().enumerate() {
            if let Some(matched) = captures.name(name) {
                found[index].push(Value::Str(matched.as_str().to_owned()));
            }
        }
    }
    for (name, mut values) in names.iter().zip(found) {
        match values.len() {
            0 => {}
            1 => row.set(name, values.pop().expect("one")),
            _ => row.set(name, Value::List(values)),
        }
    }
    row
}

/// The wildcard cells of a lookup table compiled once: by (row, column), for `WILDCARD`
/// columns' cells holding `*`.
struct CellPatterns {
    compiled: HashMap<(usize, usize), Regex>,
}

impl CellPatterns {
    fn new(table: &LookupTable) -> CellPatterns {
        let mut compiled = HashMap::new();
        for (column_index, column) in table.columns.iter().enumerate() {
            if !table.wildcard_columns.contains(column) {
                continue;
            }
            for (row_index, cells) in table.rows.iter().enumerate() {
                let Some(cell) = cells.get(column_index).filter(|cell| cell.contains('*')) else { continue };
                let cell = if table.case_sensitive { cell.clone() } else { cell.to_lowercase() };
                compiled.insert((row_index, column_index), crate::glob_regex(&wildcard_pattern(&cell)));
            }
        }
        CellPatterns { compiled }
    }
}

fn lookup(mut row: Row, call: &LookupCall, table: &LookupTable, patterns: &CellPatterns) -> Row {
    let column = |name: &str| table.columns.iter().position(|column| column == name);
    let inputs: Vec<(usize, bool, Vec<String>)> = call
        .inputs
        .iter()
        .filter_map(|(name, field)| {
            let values = row
                .get(field)
                .map(|value| values_of(value).iter().filter_map(|v| text_of(v).map(|t| t.into_owned())).collect());
            Some((column(name)?, table.wildcard_columns.contains(name), values.unwrap_or_default()))
        })
        .collect();
    if inputs.len() != call.inputs.len() || inputs.iter().any(|(_, _, values)| values.is_empty()) {
        return row;
    }
    let inputs: Vec<(usize, bool, Vec<String>)> = if table.case_sensitive {
        inputs
    } else {
        let lower = |values: Vec<String>| values.iter().map(|value| value.to_lowercase()).collect();
        inputs.into_iter().map(|(index, wildcard, values)| (index, wildcard, lower(values))).collect()
    };
    let matches_cell = |row_index: usize, column: usize, cell: &str, wildcard: bool, value: &str| match patterns
        .compiled
        .get(&(row_index, column))
        .filter(|_| wildcard)
    {
        Some(regex) => regex.is_match(value),
        None if table.case_sensitive => cell == value,
        None => cell.to_lowercase() == value,
    };
    let matched: Vec<&Vec<String>> = table
        .rows
        .iter()
        .enumerate()
        .filter(|(row_index, cells)| {
            inputs.iter().all(|(index, wildcard, values)| {
                cells.get(*index).is_some_and(|cell| {
                    values.iter().any(|value| matches_cell(*row_index, *index, cell, *wildcard, value))
                })
            })
        })
        .map(|(_, cells)| cells)
        .take(table.max_matches.max(1))
        .collect();
    let outputs: Vec<(String, String)> = if call.outputs.is_empty() {
        let input_columns: HashSet<&str> = call.inputs.iter().map(|(name, _)| name.as_str()).collect();
        table
            .columns
            .iter()
            .filter(|name| !input_columns.contains(name.as_str()))
            .map(|name| (name.clone(), name.clone()))
            .collect()
    } else {
        call.outputs.clone()
    };
    for (name, field) in outputs {
        if call.only_new && row.get(&field).is_some() {
            continue;
        }
        let Some(index) = column(&name) else { continue };
        let mut values: Vec<Value> = matched
            .iter()
            .filter_map(|cells| cells.get(index).filter(|cell| !cell.is_empty()).map(|cell| Value::Str(cell.clone())))
            .collect();
        if matched.is_empty()
            && let Some(default) = &table.default_match
        {
            values.push(Value::Str(default.clone()));
        }
        match values.len() {
            0 => row.remove(&field),
            1 => row.set(&field, values.pop().expect("one")),
            _ => row.set(&field, Value::List(values)),
        }
    }
    row
}

fn wildcard_pattern(text: &str) -> Pattern {
    let mut pattern = Pattern::default();
    for (index, part) in text.split('*').enumerate() {
        if index > 0 {
            pattern.push(Token::AnyRun);
        }
        pattern.push_literal(part);
    }
    pattern
}

fn join(rows: Vec<Row>, kind: JoinKind, fields: &[String], joined: &[Row]) -> Vec<Row> {
    let key = |row: &Row| -> Option<Vec<String>> {
        fields.iter().map(|field| row.text(field).map(|text| text.into_owned())).collect()
    };
    let mut index: HashMap<Vec<String>, &Row> = HashMap::new();
    for row in joined {
        if let Some(key) = key(row) {
            // `max=1`, Splunk's default: the first subsearch row of a key joins.
            index.entry(key).or_insert(row);
        }
    }
    rows.into_iter()
        .filter_map(|mut row| match key(&row).and_then(|key| index.get(&key).copied()) {
            Some(other) => {
                for (name, value) in &other.fields {
                    row.set(name.name(), value.clone());
                }
                row.add_sources(&other.sources);
                Some(row)
            }
            None if kind == JoinKind::Left => Some(row),
            None => None,
        })
        .collect()
}

fn dedup(rows: Vec<Row>, fields: &[String], keep: usize) -> Vec<Row> {
    let mut seen: HashMap<Vec<String>, usize> = HashMap::new();
    rows.into_iter()
        .filter(|row| {
            let Some(key) =
                fields.iter().map(|field| row.text(field).map(|t| t.into_owned())).collect::<Option<Vec<_>>>()
            else {
                return false;
            };
            let count = seen.entry(key).or_insert(0);
            *count += 1;
            *count <= keep
        })
        .collect()
}

fn compare_rows(a: &Row, b: &Row, keys: &[SortKey]) -> std::cmp::Ordering {
    for key in keys {
        let (x, y) = (a.get(&key.field), b.get(&key.field));
        let ordering = match (x.and_then(number_of), y.and_then(number_of)) {
            (Some(x), Some(y)) => x.total_cmp(&y),
            _ => x.and_then(text_of).cmp(&y.and_then(text_of)),
        };
        let ordering = if key.descending { ordering.reverse() } else { ordering };
        if ordering.is_ne() {
            return ordering;
        }
    }
    std::cmp::Ordering::Equal
}

/// For display: a number in Splunk's text form.
pub fn display(value: &Value) -> String {
    match value {
        Value::Float(number) => format_number(*number),
        other => text_of(other).map(|text| text.into_owned()).unwrap_or_default(),
    }
}
