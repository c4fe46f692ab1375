//! A whole search: the pipeline split at `|`, each command parsed into IR.

use crate::eval;
use crate::search::{self, Until};
use crate::text::{Cursor, Result, SplError, split_top_level, unescape_literal};
use harrier_ir::pipeline::{
    Command, Eval, JoinKind, LookupCall, Query, QuerySource, SedReplace, SortKey, Stats, StatsCall, StatsFunction,
    span_seconds,
};
use harrier_ir::{Expr, Pattern, Predicate, Test};

/// Commands Harrier knows of but does not run, with why.
const UNSUPPORTED: [(&str, &str); 12] = [
    ("apply", "runs a Machine Learning Toolkit model"),
    ("map", "runs a search per row"),
    ("transaction", "groups events into transactions"),
    ("appendpipe", "appends a sub-pipeline's rows"),
    ("append", "appends a subsearch's rows"),
    ("xmlkv", "extracts XML key-values from _raw"),
    ("spath", "extracts from structured _raw"),
    ("foreach", "runs a template per field"),
    ("iplocation", "needs a GeoIP database"),
    ("mstats", "reads metric indexes"),
    ("streamstats", "computes running statistics"),
    ("addtotals", "sums fields per row"),
];

/// Parses an expanded search (macros already replaced) into a query.
pub fn parse_query(search: &str) -> Result<Query> {
    parse_at(search, 0, 0)
}

/// A query at `base` in the whole search, inside `depth` subsearches.
fn parse_at(search: &str, base: usize, depth: usize) -> Result<Query> {
    if depth > harrier_ir::MAX_NESTING {
        let message = format!("subsearches nested more than {} levels deep", harrier_ir::MAX_NESTING);
        return Err(SplError { message, offset: base });
    }
    let pieces = split_top_level(search, '|');
    let mut pieces = pieces.into_iter().map(|(offset, text)| (base + offset, text));
    let (first_offset, first) = pieces.next().expect("split gives at least one piece");
    let (source, mut commands) = if first.trim().is_empty() {
        let (offset, text) = pieces.next().ok_or_else(|| SplError { message: "empty search".into(), offset: base })?;
        generating(text, offset)?
    } else {
        let mut cursor = Cursor::new(first, first_offset);
        skip_search_word(&mut cursor);
        (QuerySource::Events(search::parse(&mut cursor, Until::End)?), Vec::new())
    };
    for (offset, text) in pieces {
        commands.push(command(text, offset, depth)?);
    }
    Ok(Query { source, commands })
}

/// The base search may start with the word `search`.
fn skip_search_word(cursor: &mut Cursor) {
    cursor.skip_ws();
    let mark = cursor.pos;
    if !cursor.eat_word("search", false) {
        cursor.pos = mark;
    }
}

/// A search starting with `|`: its first command makes the rows.
fn generating(text: &str, offset: usize) -> Result<(QuerySource, Vec<Command>)> {
    let mut cursor = Cursor::new(text, offset);
    cursor.skip_ws();
    let name = cursor.name().to_ascii_lowercase();
    match name.as_str() {
        "tstats" => tstats(&mut cursor),
        "search" => Ok((QuerySource::Events(search::parse(&mut cursor, Until::End)?), Vec::new())),
        "inputlookup" => {
            let mut table = String::new();
            while !cursor.at_end() {
                let word = cursor.name_or_quoted()?;
                if cursor.eat("=") {
                    cursor.name_or_quoted()?;
                } else if word.eq_ignore_ascii_case("where") {
                    let condition = search::parse(&mut cursor, Until::End)?;
                    return Ok((QuerySource::Lookup(table), vec![Command::Search(condition)]));
                } else {
                    table = word;
                }
            }
            Ok((QuerySource::Lookup(table), Vec::new()))
        }
        _ => Err(unsupported(&cursor, &name, "cannot start a search")),
    }
}

fn unsupported(cursor: &Cursor, name: &str, why: &str) -> SplError {
    let mut error = cursor.error(format!("command `{name}` is not supported ({why})"));
    error.offset = error.offset.saturating_sub(name.len());
    error
}

fn command(text: &str, offset: usize, depth: usize) -> Result<Command> {
    let mut cursor = Cursor::new(text, offset);
    cursor.skip_ws();
    let name = cursor.name().to_ascii_lowercase();
    Ok(match name.as_str() {
        "search" => Command::Search(search::parse(&mut cursor, Until::End)?),
        "where" => Command::Where(whole_eval(&mut cursor)?),
        "eval" => Command::Eval(assignments(&mut cursor)?),
        "stats" | "eventstats" => Command::Stats(stats(&mut cursor, name == "eventstats")?),
        "rename" => Command::Rename(renames(&mut cursor)?),
        "table" => Command::Table(names(&mut cursor)?),
        "fields" => {
            cursor.skip_ws();
            let remove = cursor.eat("-");
            cursor.eat("+");
            Command::Fields { remove, names: names(&mut cursor)? }
        }
        "rex" => rex(&mut cursor)?,
        "regex" => regex(&mut cursor)?,
        "dedup" => dedup(&mut cursor)?,
        "sort" => sort(&mut cursor)?,
        "head" => head(&mut cursor)?,
        "bin" | "bucket" => bin(&mut cursor)?,
        "convert" => convert(&mut cursor)?,
        "fillnull" => fillnull(&mut cursor)?,
        "lookup" => Command::Lookup(lookup(&mut cursor)?),
        "join" => join(&mut cursor, depth)?,
        "mvexpand" => Command::Mvexpand(cursor.name_or_quoted()?),
        "makemv" => makemv(&mut cursor)?,
        "replace" => replace(&mut cursor)?,
        "" => return Err(cursor.error("expected a command after `|`")),
        other => {
            let why = UNSUPPORTED.iter().find(|(known, _)| *known == other).map_or("unknown command", |(_, why)| why);
            return Err(unsupported(&cursor, other, why));
        }
    })
}

fn whole_eval(cursor: &mut Cursor) -> Result<Eval> {
    let expr = eval::parse(cursor)?;
    if !cursor.at_end() {
        return Err(cursor.error("unexpected text after the expression"));
    }
    Ok(expr)
}

fn assignments(cursor: &mut Cursor) -> Result<Vec<(String, Eval)>> {
    let mut list = Vec::new();
    loop {
        let field = cursor.name_or_quoted()?;
        cursor.expect("=")?;
        list.push((field, eval::parse(cursor)?));
        cursor.skip_ws();
        if !cursor.eat(",") {
            break;
        }
    }
    if !cursor.at_end() {
        return Err(cursor.error("unexpected text after the assignments"));
    }
    Ok(list)
}

/// Options of the form `name=value` at the start of a command's arguments.
fn options(cursor: &mut Cursor, known: &[&str]) -> Result<Vec<(String, String)>> {
    let mut found = Vec::new();
    loop {
        cursor.skip_ws();
        let mark = cursor.pos;
        let name = cursor.name().to_ascii_lowercase();
        cursor.skip_ws();
        if known.contains(&name.as_str()) && cursor.eat("=") {
            found.push((name, cursor.name_or_quoted()?));
        } else {
            cursor.pos = mark;
            return Ok(found);
        }
    }
}

fn stats(cursor: &mut Cursor, keep_rows: bool) -> Result<Stats> {
    options(cursor, &["allnum", "delim", "partitions", "dedup_splitvals"])?;
    let calls = stats_calls(cursor, &["by"])?;
    let (by, time_span) = by_clause(cursor)?;
    Ok(Stats { calls, by, keep_rows, fill_missing_by: None, time_span })
}

/// Aggregates up to one of the `stop` words (or the end).
fn stats_calls(cursor: &mut Cursor, stop: &[&str]) -> Result<Vec<StatsCall>> {
    let mut calls = Vec::new();
    loop {
        cursor.skip_ws();
        cursor.eat(",");
        cursor.skip_ws();
        if cursor.at_end() || stop.iter().any(|word| cursor.clone().eat_word(word, false)) {
            return Ok(calls);
        }
        calls.push(stats_call(cursor)?);
    }
}

fn stats_call(cursor: &mut Cursor) -> Result<StatsCall> {
    let start = cursor.pos;
    let name = cursor.name();
    let function = stats_function(name).ok_or_else(|| {
        let mut error = cursor.error(format!("unknown or unsupported stats function `{name}`"));
        error.offset -= name.len();
        error
    })?;
    let argument = if cursor.eat("(") {
        cursor.skip_ws();
        let argument = if cursor.eat_word("eval", false) {
            cursor.expect("(")?;
            let inner = eval::parse(cursor)?;
            cursor.expect(")")?;
            inner
        } else {
            let rest = cursor.rest();
            let end = rest.find(')').ok_or_else(|| cursor.error("expected `)`"))?;
            cursor.pos += end;
            Eval::Field(rest[..end].trim().trim_matches('"').to_owned())
        };
        cursor.expect(")")?;
        Some(argument)
    } else {
        None
    };
    let written = cursor_text(cursor, start);
    cursor.skip_ws();
    let alias = if cursor.eat_word("as", false) { alias(cursor)? } else { written };
    Ok(StatsCall { function, argument, alias })
}

fn cursor_text(cursor: &Cursor, start: usize) -> String {
    let mut copy = cursor.clone();
    let end = copy.pos;
    copy.pos = start;
    copy.rest()[..end - start].to_owned()
}

/// An `as` name: quoted, or a word that may hold parentheses (`aceFlags(inheritance)`).
fn alias(cursor: &mut Cursor) -> Result<String> {
    cursor.skip_ws();
    if cursor.peek() == Some('"') {
        return Ok(unescape_literal(cursor.quoted_raw()?));
    }
    let rest = cursor.rest();
    let end = rest.find(|c: char| c.is_whitespace() || c == ',').unwrap_or(rest.len());
    if end == 0 {
        return Err(cursor.error("expected a name after `as`"));
    }
    cursor.pos += end;
    Ok(rest[..end].to_owned())
}

fn stats_function(name: &str) -> Option<StatsFunction> {
    Some(match name.to_ascii_lowercase().as_str() {
        "count" | "c" => StatsFunction::Count,
        "dc" | "distinct_count" => StatsFunction::DistinctCount,
        "values" => StatsFunction::Values,
        "list" => StatsFunction::List,
        "min" => StatsFunction::Min,
        "max" => StatsFunction::Max,
        "earliest" => StatsFunction::Earliest,
        "latest" => StatsFunction::Latest,
        "first" => StatsFunction::First,
        "last" => StatsFunction::Last,
        "sum" => StatsFunction::Sum,
        "avg" | "mean" => StatsFunction::Avg,
        "stdev" => StatsFunction::Stdev,
        "range" => StatsFunction::Range,
        "median" | "p50" => StatsFunction::Median,
        _ => return None,
    })
}

/// `by a b, c [span=1h]`, or nothing.
fn by_clause(cursor: &mut Cursor) -> Result<(Vec<String>, Option<f64>)> {
    let mut by = Vec::new();
    let mut span = None;
    if cursor.at_end() {
        return Ok((by, span));
    }
    if !cursor.eat_word("by", false) {
        return Err(cursor.error("expected `by` or the end of the command"));
    }
    while !cursor.at_end() {
        if cursor.eat(",") {
            continue;
        }
        let mark = cursor.pos;
        let word = cursor.name_or_quoted()?;
        cursor.skip_ws();
        if word.eq_ignore_ascii_case("span") && cursor.eat("=") {
            let text = cursor.name_or_quoted()?;
            span = Some(span_seconds(&text).ok_or_else(|| cursor.error(format!("`{text}` is not a time span")))?);
        } else {
            if word.contains('=') {
                cursor.pos = mark;
                return Err(cursor.error("unexpected option"));
            }
            by.push(word);
        }
    }
    Ok((by, span))
}

fn tstats(cursor: &mut Cursor) -> Result<(QuerySource, Vec<Command>)> {
    let settings = options(
        cursor,
        &["summariesonly", "allow_old_summaries", "fillnull_value", "prestats", "local", "append", "chunk_size"],
    )?;
    let fill = settings.iter().find(|(name, _)| name == "fillnull_value").map(|(_, value)| value.clone());
    let calls = stats_calls(cursor, &["from"])?;
    if !cursor.eat_word("from", false) {
        return Err(cursor.error("expected `from datamodel=...`"));
    }
    cursor.skip_ws();
    let model = if cursor.eat_word("datamodel", false) {
        cursor.skip_ws();
        if !cursor.eat("=") && !cursor.eat(":") {
            cursor.skip_ws();
        }
        cursor.name_or_quoted()?
    } else {
        return Err(cursor.error("only `from datamodel=...` is supported"));
    };
    let dataset = datamodel_dataset(&model).ok_or_else(|| {
        cursor.error(format!("no CIM data model `{model}` (Endpoint.Processes, Network_Traffic, ...)"))
    })?;
    options(cursor, &["nodename"])?;
    cursor.skip_ws();
    let condition =
        if cursor.eat_word("where", false) { search::parse(cursor, Until::ByClause)? } else { Expr::Const(true) };
    let (by, time_span) = by_clause(cursor)?;
    let membership = Expr::Pred(Predicate {
        field: Some(DATAMODEL_FIELD.to_owned()),
        test: Test::Matches { pattern: Pattern::literal(dataset), cased: true },
    });
    let stats = Stats {
        calls,
        by,
        keep_rows: false,
        // Without `fillnull_value`, tstats drops rows missing a by field, as stats does.
        fill_missing_by: fill,
        time_span,
    };
    Ok((QuerySource::Events(Expr::and(vec![membership, condition])), vec![Command::Stats(stats)]))
}

/// The field of an event that lists the data model datasets it belongs to (`Endpoint.Processes`).
pub const DATAMODEL_FIELD: &str = "_datamodel";

/// The data models of Splunk's Common Information Model (CIM 5): a `from datamodel=` naming
/// another can never match, and is an error rather than a silent empty result.
const CIM_MODELS: [&str; 26] = [
    "Alerts",
    "Application_State",
    "Authentication",
    "Certificates",
    "Change",
    "Change_Analysis",
    "Compute_Inventory",
    "Data_Access",
    "Data_Loss_Prevention",
    "Databases",
    "DLP",
    "Email",
    "Endpoint",
    "Event_Signatures",
    "Interprocess_Messaging",
    "Intrusion_Detection",
    "Inventory",
    "JVM",
    "Malware",
    "Network_Resolution",
    "Network_Sessions",
    "Network_Traffic",
    "Performance",
    "Risk",
    "Updates",
    "Web",
];

/// `Endpoint.Processes`, `Endpoint` + nodename, `Network_Traffic` (→ `All_Traffic`): the
/// dataset a `from datamodel=` names, as `Model.Dataset`.
fn datamodel_dataset(model: &str) -> Option<String> {
    let mut parts = model.split('.');
    let model = parts.next()?;
    if !CIM_MODELS.contains(&model) {
        return None;
    }
    let dataset = match (parts.next_back(), model) {
        (Some(dataset), _) => dataset,
        (None, "Network_Traffic") => "All_Traffic",
        (None, "Network_Resolution") => "DNS",
        (None, "Change") => "All_Changes",
        (None, "Authentication") => "Authentication",
        (None, _) => return None,
    };
    Some(format!("{model}.{dataset}"))
}

fn renames(cursor: &mut Cursor) -> Result<Vec<(String, String)>> {
    let mut pairs = Vec::new();
    while !cursor.at_end() {
        if cursor.eat(",") {
            continue;
        }
        let from = cursor.name_or_quoted()?;
        cursor.skip_ws();
        if !cursor.eat_word("as", false) {
            return Err(cursor.error("expected `AS`"));
        }
        pairs.push((from, cursor.name_or_quoted()?));
    }
    Ok(pairs)
}

fn names(cursor: &mut Cursor) -> Result<Vec<String>> {
    let mut list = Vec::new();
    while !cursor.at_end() {
        if cursor.eat(",") {
            continue;
        }
        list.push(cursor.name_or_quoted()?);
    }
    Ok(list)
}

fn rex(cursor: &mut Cursor) -> Result<Command> {
    let settings = options(cursor, &["field", "max_match", "mode", "offset_field"])?;
    let setting = |name: &str| settings.iter().find(|(key, _)| key == name).map(|(_, value)| value.clone());
    cursor.skip_ws();
    let regex = unescape_literal(cursor.quoted_raw()?);
    let field = setting("field").unwrap_or_else(|| "_raw".into());
    let max_match = match setting("max_match") {
        Some(text) => text.parse().map_err(|_| cursor.error("max_match must be a number"))?,
        None => 1,
    };
    if setting("mode").is_some_and(|mode| mode == "sed") {
        let (regex, sed) = sed_expression(&regex).ok_or_else(|| cursor.error("expected s/regex/replacement/"))?;
        return Ok(Command::Rex { field, regex, max_match, sed: Some(sed) });
    }
    Ok(Command::Rex { field, regex, max_match, sed: None })
}

/// `s/regex/replacement/g` split into its parts.
fn sed_expression(text: &str) -> Option<(String, SedReplace)> {
    let body = text.strip_prefix("s/")?;
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let next = chars.next()?;
                if next != '/' {
                    current.push('\\');
                }
                current.push(next);
            }
            '/' => parts.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }
    parts.push(current);
    let [regex, replacement, flags] = <[String; 3]>::try_from(parts).ok()?;
    Some((regex, SedReplace { replacement, global: flags.contains('g') }))
}

fn regex(cursor: &mut Cursor) -> Result<Command> {
    cursor.skip_ws();
    let mark = cursor.pos;
    let name = cursor.name().to_owned();
    cursor.skip_ws();
    let (field, negate) = if !name.is_empty() && cursor.eat("!=") {
        (name, true)
    } else if !name.is_empty() && cursor.eat("=") {
        (name, false)
    } else {
        cursor.pos = mark;
        ("_raw".to_owned(), false)
    };
    cursor.skip_ws();
    let regex = unescape_literal(cursor.quoted_raw()?);
    Ok(Command::Regex { field, regex, negate })
}

fn dedup(cursor: &mut Cursor) -> Result<Command> {
    cursor.skip_ws();
    let mut keep = 1;
    if cursor.peek().is_some_and(|c| c.is_ascii_digit()) {
        keep = cursor.name().parse().map_err(|_| cursor.error("expected a count"))?;
    }
    options(cursor, &["keepevents", "keepempty", "consecutive"])?;
    let mut fields = Vec::new();
    while !cursor.at_end() {
        if cursor.eat(",") {
            continue;
        }
        if cursor.clone().eat_word("sortby", false) {
            return Err(cursor.error("`dedup ... sortby` is not supported"));
        }
        fields.push(cursor.name_or_quoted()?);
    }
    Ok(Command::Dedup { fields, keep })
}

fn sort(cursor: &mut Cursor) -> Result<Command> {
    cursor.skip_ws();
    let mut limit = 0;
    if cursor.peek().is_some_and(|c| c.is_ascii_digit()) {
        limit = cursor.name().parse().map_err(|_| cursor.error("expected a count"))?;
    }
    let mut keys = Vec::new();
    let mut descending = false;
    while !cursor.at_end() {
        if cursor.eat(",") {
            continue;
        }
        if cursor.eat("-") {
            descending = true;
            continue;
        }
        if cursor.eat("+") {
            descending = false;
            continue;
        }
        let mut field = cursor.name_or_quoted()?;
        for wrapper in ["num", "str", "auto", "ip"] {
            if field.eq_ignore_ascii_case(wrapper) && cursor.eat("(") {
                field = cursor.name_or_quoted()?;
                cursor.expect(")")?;
            }
        }
        keys.push(SortKey { field, descending });
    }
    Ok(Command::Sort { keys, limit })
}

fn head(cursor: &mut Cursor) -> Result<Command> {
    let settings = options(cursor, &["limit"])?;
    let text = match settings.first() {
        Some((_, value)) => value.clone(),
        None if cursor.at_end() => "10".to_owned(),
        None => cursor.name().to_owned(),
    };
    Ok(Command::Head(text.parse().map_err(|_| cursor.error("expected a count"))?))
}

fn bin(cursor: &mut Cursor) -> Result<Command> {
    let mut field = None;
    let mut span = None;
    let mut alias = None;
    while !cursor.at_end() {
        let word = cursor.name_or_quoted()?;
        cursor.skip_ws();
        if cursor.eat("=") {
            let value = cursor.name_or_quoted()?;
            if word.eq_ignore_ascii_case("span") {
                span = Some(span_seconds(&value).ok_or_else(|| cursor.error(format!("`{value}` is not a span")))?);
            } else {
                return Err(cursor.error(format!("`bin {word}=` is not supported")));
            }
        } else if word.eq_ignore_ascii_case("as") {
            alias = Some(cursor.name_or_quoted()?);
        } else {
            field = Some(word);
        }
    }
    let field = field.ok_or_else(|| cursor.error("`bin` needs a field"))?;
    let span = span.ok_or_else(|| cursor.error("`bin` without `span=` is not supported"))?;
    Ok(Command::Bin { field, span, alias })
}

fn convert(cursor: &mut Cursor) -> Result<Command> {
    let settings = options(cursor, &["timeformat"])?;
    let format = settings.into_iter().next().map_or_else(|| "%m/%d/%Y %H:%M:%S".to_owned(), |(_, format)| format);
    let mut fields = Vec::new();
    while !cursor.at_end() {
        if cursor.eat(",") {
            continue;
        }
        let function = cursor.name().to_ascii_lowercase();
        if function != "ctime" {
            return Err(cursor.error(format!("`convert {function}()` is not supported (only ctime)")));
        }
        cursor.expect("(")?;
        let field = cursor.name_or_quoted()?;
        cursor.expect(")")?;
        cursor.skip_ws();
        let alias = if cursor.eat_word("as", false) { Some(cursor.name_or_quoted()?) } else { None };
        fields.push((field, alias));
    }
    Ok(Command::ConvertCtime { format, fields })
}

fn fillnull(cursor: &mut Cursor) -> Result<Command> {
    let settings = options(cursor, &["value"])?;
    let value = settings.into_iter().next().map_or_else(|| "0".to_owned(), |(_, value)| value);
    Ok(Command::Fillnull { value, fields: names(cursor)? })
}

fn lookup(cursor: &mut Cursor) -> Result<LookupCall> {
    options(cursor, &["local", "update", "event_time_field"])?;
    let table = cursor.name_or_quoted()?;
    let mut inputs = Vec::new();
    let mut outputs = Vec::new();
    let mut only_new = false;
    let mut in_outputs = false;
    while !cursor.at_end() {
        if cursor.eat(",") {
            continue;
        }
        if cursor.eat_word("OUTPUTNEW", false) {
            (in_outputs, only_new) = (true, true);
            continue;
        }
        if cursor.eat_word("OUTPUT", false) {
            in_outputs = true;
            continue;
        }
        let column = cursor.name_or_quoted()?;
        cursor.skip_ws();
        let field = if cursor.eat_word("as", false) { cursor.name_or_quoted()? } else { column.clone() };
        if in_outputs { &mut outputs } else { &mut inputs }.push((column, field));
    }
    if inputs.is_empty() {
        return Err(cursor.error("`lookup` needs an input field"));
    }
    Ok(LookupCall { table, inputs, outputs, only_new })
}

fn join(cursor: &mut Cursor, depth: usize) -> Result<Command> {
    const OPTIONS: [&str; 7] = ["type", "max", "usetime", "earlier", "overwrite", "left", "right"];
    let mut settings = options(cursor, &OPTIONS)?;
    let mut fields = Vec::new();
    loop {
        cursor.skip_ws();
        if cursor.eat(",") {
            continue;
        }
        if cursor.peek() == Some('[') || cursor.peek().is_none() {
            break;
        }
        fields.push(cursor.name_or_quoted()?);
        settings.extend(options(cursor, &OPTIONS)?);
    }
    let kind = match settings.iter().find(|(name, _)| name == "type").map(|(_, value)| value.to_ascii_lowercase()) {
        None => JoinKind::Inner,
        Some(kind) if kind == "inner" => JoinKind::Inner,
        Some(kind) if kind == "left" || kind == "outer" => JoinKind::Left,
        Some(other) => return Err(cursor.error(format!("join type `{other}` is not supported"))),
    };
    cursor.expect("[")?;
    let inner_start = cursor.pos;
    let rest = cursor.rest();
    let end = rest.rfind(']').ok_or_else(|| cursor.error("expected `]` to close the subsearch"))?;
    let query = parse_at(&rest[..end], cursor_offset(cursor, inner_start), depth + 1)?;
    if fields.is_empty() {
        return Err(cursor.error("`join` without fields is not supported"));
    }
    Ok(Command::Join { kind, fields, query: Box::new(query) })
}

fn cursor_offset(cursor: &Cursor, pos: usize) -> usize {
    let mut copy = cursor.clone();
    copy.pos = pos;
    copy.error("").offset
}

fn makemv(cursor: &mut Cursor) -> Result<Command> {
    let settings = options(cursor, &["delim", "tokenizer", "allowempty", "setsv"])?;
    let delimiter =
        settings.iter().find(|(name, _)| name == "delim").map_or(" ".to_owned(), |(_, value)| value.clone());
    Ok(Command::Makemv { field: cursor.name_or_quoted()?, delimiter })
}

fn replace(cursor: &mut Cursor) -> Result<Command> {
    let mut pairs = Vec::new();
    loop {
        let old = cursor.name_or_quoted()?;
        cursor.skip_ws();
        if !cursor.eat_word("with", false) {
            return Err(cursor.error("expected `WITH`"));
        }
        pairs.push((old, cursor.name_or_quoted()?));
        cursor.skip_ws();
        if !cursor.eat(",") {
            break;
        }
    }
    let fields = if cursor.at_end() {
        Vec::new()
    } else if cursor.eat_word("in", false) {
        names(cursor)?
    } else {
        return Err(cursor.error("expected `,`, `IN` or the end of the command"));
    };
    Ok(Command::Replace { pairs, fields })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Query {
        parse_query(text).unwrap_or_else(|error| panic!("{}", error.render(text)))
    }

    #[test]
    fn the_seed_search_parses() {
        let query = parse(
            r#"sourcetype=x OR source=y EventCode=3 NOT(Image IN("*\\program files*")) (DestinationPortName="smtp" OR DestinationPort=25) | stats count min(_time) as firstTime max(_time) as lastTime by Image dest user | convert timeformat="%Y-%m-%dT%H:%M:%S" ctime(firstTime) | search *"#,
        );
        assert_eq!(query.commands.len(), 3);
        let Command::Stats(stats) = &query.commands[0] else { panic!("stats expected") };
        assert_eq!(
            stats.calls.iter().map(|call| call.alias.as_str()).collect::<Vec<_>>(),
            ["count", "firstTime", "lastTime"]
        );
        assert_eq!(stats.by, ["Image", "dest", "user"]);
    }

    #[test]
    fn tstats_becomes_a_condition_and_stats() {
        let query = parse(
            "| tstats summariesonly=false allow_old_summaries=true fillnull_value=null count min(_time) as firstTime FROM datamodel=Endpoint.Processes WHERE Processes.process_name=certutil.exe BY Processes.dest _time span=1h | rename Processes.* AS *",
        );
        let QuerySource::Events(Expr::And(items)) = &query.source else { panic!("condition expected") };
        assert_eq!(items.len(), 2);
        let Command::Stats(stats) = &query.commands[0] else { panic!("stats expected") };
        assert_eq!(stats.fill_missing_by.as_deref(), Some("null"));
        assert_eq!(stats.time_span, Some(3600.0));
        assert_eq!(stats.by, ["Processes.dest", "_time"]);
    }

    #[test]
    fn commands_parse() {
        let query = parse(
            r#"a=1 | eval x=if(a>1, "y", "z"), n=len(x) | where x="y" | rex field=CommandLine "(?<flag>-\w+)" | regex Image!="\\temp\\" | table a, x | fields - n | dedup a | sort - count | head 5 | bin _time span=5m | fillnull value=NULL | lookup l col AS a OUTPUT other AS b | join type=left a [| tstats count from datamodel=Endpoint.Registry by Registry.dest] | replace "%%8448" with "Success removed", "a*" WITH "b*" IN x, y | eventstats avg(count) as m stdev(count) as s by a | stats count(eval(x="y")) as c values(aceFlags) as aceFlags(inheritance)"#,
        );
        assert_eq!(query.commands.len(), 16);
    }

    #[test]
    fn unsupported_commands_are_named() {
        let error = parse_query("a=1 | transaction x maxspan=1m").unwrap_err();
        assert!(error.message.contains("`transaction`"), "{}", error.message);
        assert_eq!(error.offset, 6);
    }
}
