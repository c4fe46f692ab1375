//! Eval expressions over rows, with SPL's types: a value is text, a number, a boolean, null or
//! a multivalue; comparisons are numeric when both sides are numbers, else case-sensitive text.

use crate::row::{Row, multivalue, number_of, number_value, text_of, values_of};
use harrier_event::Value;
use harrier_ir::pipeline::{BinaryOp, Eval, UnaryOp};
use regex::Regex;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Evaluates expressions; keeps the regexes it has compiled.
#[derive(Default)]
pub struct Evaluator {
    /// Behind `Arc`s: cloning a `Regex` itself would give it a new, empty match cache.
    regexes: Mutex<HashMap<String, Option<Arc<Regex>>>>,
}

/// The functions Harrier's eval knows, for checking queries before they run.
pub const FUNCTIONS: [&str; 57] = [
    "abs",
    "case",
    "ceil",
    "ceiling",
    "cidrmatch",
    "coalesce",
    "exact",
    "false",
    "floor",
    "if",
    "in",
    "isbool",
    "isint",
    "isnotnull",
    "isnull",
    "isnum",
    "isstr",
    "len",
    "like",
    "lower",
    "ltrim",
    "match",
    "max",
    "min",
    "mvappend",
    "mvcount",
    "mvdedup",
    "mvfilter",
    "mvfind",
    "mvindex",
    "mvjoin",
    "mvsort",
    "mvzip",
    "now",
    "null",
    "nullif",
    "pow",
    "relative_time",
    "replace",
    "round",
    "rtrim",
    "searchmatch",
    "split",
    "sqrt",
    "strftime",
    "strptime",
    "substr",
    "time",
    "tonumber",
    "tostring",
    "trim",
    "true",
    "typeof",
    "upper",
    "urldecode",
    "validate",
    "mvmap",
];

impl Evaluator {
    /// A regex compiled once; `None` when it cannot run here (lookaround, backreferences).
    pub fn regex(&self, pattern: &str) -> Option<Arc<Regex>> {
        let mut regexes = self.regexes.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(known) = regexes.get(pattern) {
            return known.clone();
        }
        let compiled = compile_pcre(pattern).ok().map(Arc::new);
        regexes.insert(pattern.to_owned(), compiled.clone());
        compiled
    }

    /// `like`: `%` any run, `_` one character, the rest literal, whole value.
    fn like(&self, value: &Value, pattern: &Value) -> Value {
        let (false, Some(pattern)) = (value.is_null(), text_of(pattern)) else { return Value::Null };
        let Some(regex) = self.regex(&like_regex(&pattern)) else { return Value::Null };
        Value::Bool(values_of(value).iter().any(|item| text_of(item).is_some_and(|text| regex.is_match(&text))))
    }

    /// Whether an expression is true for a row (`where`): null and false are not.
    pub fn holds(&self, expr: &Eval, row: &Row) -> bool {
        truth(&self.eval(expr, row))
    }

    pub fn eval(&self, expr: &Eval, row: &Row) -> Value {
        match expr {
            Eval::Field(name) => row.get(name).cloned().unwrap_or(Value::Null),
            Eval::Str(text) => Value::Str(text.clone()),
            Eval::Num(number) => number_value(*number),
            Eval::Bool(flag) => Value::Bool(*flag),
            Eval::Null => Value::Null,
            Eval::Unary(UnaryOp::Not, inner) => match self.eval(inner, row) {
                Value::Null => Value::Null,
                value => Value::Bool(!truth(&value)),
            },
            Eval::Unary(UnaryOp::Negate, inner) => {
                number_of(&self.eval(inner, row)).map_or(Value::Null, |number| number_value(-number))
            }
            Eval::Binary(op, left, right) => self.binary(*op, left, right, row),
            Eval::Call(name, arguments) => self.call(name, arguments, row),
        }
    }

    fn binary(&self, op: BinaryOp, left: &Eval, right: &Eval, row: &Row) -> Value {
        match op {
            BinaryOp::And => Value::Bool(self.holds(left, row) && self.holds(right, row)),
            BinaryOp::Or => Value::Bool(self.holds(left, row) || self.holds(right, row)),
            BinaryOp::Xor => Value::Bool(self.holds(left, row) != self.holds(right, row)),
            BinaryOp::Like => {
                let (left, right) = (self.eval(left, row), self.eval(right, row));
                self.like(&left, &right)
            }
            _ => {
                let (left, right) = (self.eval(left, row), self.eval(right, row));
                binary_values(op, &left, &right)
            }
        }
    }

    fn call(&self, name: &str, arguments: &[Eval], row: &Row) -> Value {
        let arg = |index: usize| arguments.get(index).map_or(Value::Null, |expr| self.eval(expr, row));
        let text = |index: usize| text_of(&arg(index)).map(|text| text.into_owned());
        let number = |index: usize| number_of(&arg(index));
        match name {
            "if" => {
                if self.holds(arguments.first().unwrap_or(&Eval::Null), row) {
                    arg(1)
                } else {
                    arg(2)
                }
            }
            "case" => arguments
                .chunks(2)
                .find(|pair| pair.len() == 2 && self.holds(&pair[0], row))
                .map_or(Value::Null, |pair| self.eval(&pair[1], row)),
            "coalesce" => {
                arguments.iter().map(|expr| self.eval(expr, row)).find(|value| !value.is_null()).unwrap_or(Value::Null)
            }
            "isnull" => Value::Bool(arg(0).is_null()),
            "isnotnull" => Value::Bool(!arg(0).is_null()),
            "isnum" | "isint" => Value::Bool(matches!(arg(0), Value::Int(_) | Value::Float(_))),
            "isstr" => Value::Bool(matches!(arg(0), Value::Str(_))),
            "isbool" => Value::Bool(matches!(arg(0), Value::Bool(_))),
            "typeof" => Value::Str(type_name(&arg(0)).into()),
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            "null" => Value::Null,
            "nullif" => {
                let (left, right) = (arg(0), arg(1));
                if text_of(&left) == text_of(&right) { Value::Null } else { left }
            }
            "in" => {
                let value = arg(0);
                let candidates: Vec<Value> = arguments[1..].iter().map(|expr| self.eval(expr, row)).collect();
                Value::Bool(values_of(&value).iter().any(|item| candidates.iter().any(|c| equal(item, c))))
            }
            "like" => self.like(&arg(0), &arg(1)),
            "match" | "searchmatch" => {
                let Some(pattern) = text(1) else { return Value::Null };
                let Some(regex) = self.regex(&pattern) else { return Value::Null };
                let value = arg(0);
                if value.is_null() {
                    return Value::Null;
                }
                Value::Bool(values_of(&value).iter().any(|item| text_of(item).is_some_and(|t| regex.is_match(&t))))
            }
            "replace" => {
                let (Some(pattern), Some(replacement)) = (text(1), text(2)) else { return Value::Null };
                let Some(regex) = self.regex(&pattern) else { return Value::Null };
                let replacement = sed_replacement(&replacement);
                map_texts(&arg(0), &|text| regex.replace_all(text, replacement.as_str()).into_owned())
            }
            "lower" => map_texts(&arg(0), &str::to_lowercase),
            "upper" => map_texts(&arg(0), &str::to_uppercase),
            "trim" | "ltrim" | "rtrim" => {
                let characters: Vec<char> = text(1).map_or(vec![' ', '\t', '\n', '\r'], |set| set.chars().collect());
                let trim = |text: &str| -> String {
                    match name {
                        "ltrim" => text.trim_start_matches(characters.as_slice()).to_owned(),
                        "rtrim" => text.trim_end_matches(characters.as_slice()).to_owned(),
                        _ => text.trim_matches(characters.as_slice()).to_owned(),
                    }
                };
                map_texts(&arg(0), &trim)
            }
            "len" => text(0).map_or(Value::Null, |text| Value::Int(text.chars().count() as i64)),
            "substr" => {
                let (Some(text), Some(start)) = (text(0), number(1)) else { return Value::Null };
                let chars: Vec<char> = text.chars().collect();
                let start = if start > 0.0 { start as i64 - 1 } else { chars.len() as i64 + start as i64 };
                let start = start.clamp(0, chars.len() as i64) as usize;
                let length =
                    number(2).map_or(chars.len() - start, |length| (length.max(0.0) as usize).min(chars.len() - start));
                Value::Str(chars[start..start + length].iter().collect())
            }
            "tostring" => arg(0).pipe_text(),
            "tonumber" => text(0)
                .and_then(|text| parse_number(&text, number(1).unwrap_or(10.0) as u32))
                .map_or(Value::Null, number_value),
            "urldecode" => text(0).map_or(Value::Null, |text| Value::Str(url_decode(&text))),
            "abs" => numeric(number(0), f64::abs),
            "floor" => numeric(number(0), f64::floor),
            "ceil" | "ceiling" => numeric(number(0), f64::ceil),
            "sqrt" => numeric(number(0), f64::sqrt),
            "round" => {
                let digits = number(1).unwrap_or(0.0) as i32;
                numeric(number(0), |value| (value * 10f64.powi(digits)).round() / 10f64.powi(digits))
            }
            "pow" => match (number(0), number(1)) {
                (Some(base), Some(exponent)) => number_value(base.powf(exponent)),
                _ => Value::Null,
            },
            "min" | "max" => {
                let values: Vec<Value> =
                    arguments.iter().map(|expr| self.eval(expr, row)).filter(|v| !v.is_null()).collect();
                let numbers: Option<Vec<f64>> = values.iter().map(number_of).collect();
                match numbers {
                    Some(numbers) if !numbers.is_empty() => number_value(if name == "min" {
                        numbers.into_iter().fold(f64::INFINITY, f64::min)
                    } else {
                        numbers.into_iter().fold(f64::NEG_INFINITY, f64::max)
                    }),
                    _ => {
                        let mut texts: Vec<String> =
                            values.iter().filter_map(|v| text_of(v).map(|t| t.into_owned())).collect();
                        texts.sort();
                        let chosen = if name == "min" { texts.first() } else { texts.last() };
                        chosen.map_or(Value::Null, |text| Value::Str(text.clone()))
                    }
                }
            }
            "now" | "time" => {
                let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
                Value::Float(since.as_micros() as f64 / 1e6)
            }
            "relative_time" => match (number(0), text(1)) {
                (Some(time), Some(offset)) => relative_time(time, &offset).map_or(Value::Null, Value::Float),
                _ => Value::Null,
            },
            "strftime" => match (number(0), text(1)) {
                (Some(time), Some(format)) => crate::time::format_epoch(time, &format).map_or(Value::Null, Value::Str),
                _ => Value::Null,
            },
            "strptime" => match (text(0), text(1)) {
                (Some(text), Some(format)) => crate::time::parse_time(&text, &format).map_or(Value::Null, Value::Float),
                _ => Value::Null,
            },
            "cidrmatch" => match (text(0), text(1)) {
                (Some(cidr), Some(ip)) => Value::Bool(cidr_match(&cidr, &ip)),
                _ => Value::Null,
            },
            "split" => match (text(0), text(1)) {
                (Some(text), Some(separator)) if !separator.is_empty() => {
                    Value::List(text.split(separator.as_str()).map(|part| Value::Str(part.to_owned())).collect())
                }
                (Some(text), Some(_)) => Value::List(text.chars().map(|c| Value::Str(c.to_string())).collect()),
                _ => Value::Null,
            },
            "mvcount" => {
                let value = arg(0);
                if value.is_null() { Value::Null } else { Value::Int(values_of(&value).len() as i64) }
            }
            "mvindex" => mv_index(&arg(0), number(1), number(2)),
            "mvjoin" => {
                let value = arg(0);
                let separator = text(1).unwrap_or_default();
                if value.is_null() {
                    return Value::Null;
                }
                Value::Str(
                    values_of(&value).iter().filter_map(|item| text_of(item)).collect::<Vec<_>>().join(&separator),
                )
            }
            "mvappend" => {
                let mut items = Vec::new();
                for expr in arguments {
                    let value = self.eval(expr, row);
                    items.extend(values_of(&value).into_iter().filter(|item| !item.is_null()).cloned());
                }
                multivalue(items)
            }
            "mvdedup" => {
                let mut items: Vec<Value> = Vec::new();
                for item in values_of(&arg(0)) {
                    if !item.is_null() && !items.contains(item) {
                        items.push(item.clone());
                    }
                }
                multivalue(items)
            }
            "mvsort" => {
                let mut texts: Vec<String> =
                    values_of(&arg(0)).iter().filter_map(|item| text_of(item).map(|t| t.into_owned())).collect();
                texts.sort();
                multivalue(texts.into_iter().map(Value::Str).collect())
            }
            "mvfind" => {
                let (value, Some(pattern)) = (arg(0), text(1)) else { return Value::Null };
                let Some(regex) = self.regex(&pattern) else { return Value::Null };
                values_of(&value)
                    .iter()
                    .position(|item| text_of(item).is_some_and(|text| regex.is_match(&text)))
                    .map_or(Value::Null, |index| Value::Int(index as i64))
            }
            "mvfilter" | "mvmap" => self.mv_each(name, arguments, row),
            "mvzip" => {
                let (left, right) = (arg(0), arg(1));
                let separator = text(2).unwrap_or_else(|| ",".to_owned());
                let items = values_of(&left)
                    .iter()
                    .zip(values_of(&right))
                    .filter_map(|(a, b)| Some(Value::Str(format!("{}{separator}{}", text_of(a)?, text_of(b)?))))
                    .collect();
                multivalue(items)
            }
            "exact" | "validate" => arg(0),
            _ => Value::Null,
        }
    }

    /// `mvfilter(expr)` keeps the values of the one field `expr` names for which it holds;
    /// `mvmap(field, expr)` maps each value.
    fn mv_each(&self, name: &str, arguments: &[Eval], row: &Row) -> Value {
        let (field, expr) = match (name, arguments) {
            ("mvfilter", [expr]) => match first_field(expr) {
                Some(field) => (field, expr),
                None => return Value::Null,
            },
            ("mvmap", [Eval::Field(field), expr]) => (field.as_str(), expr),
            _ => return Value::Null,
        };
        let Some(value) = row.get(field) else { return Value::Null };
        let mut scratch = Row { fields: row.fields.clone(), origin: None, sources: Vec::new() };
        let mut items = Vec::new();
        for item in values_of(value) {
            scratch.set(field, item.clone());
            if name == "mvfilter" {
                if self.holds(expr, &scratch) {
                    items.push(item.clone());
                }
            } else {
                let mapped = self.eval(expr, &scratch);
                if !mapped.is_null() {
                    items.push(mapped);
                }
            }
        }
        multivalue(items)
    }
}

trait PipeText {
    fn pipe_text(&self) -> Value;
}

impl PipeText for Value {
    fn pipe_text(&self) -> Value {
        text_of(self).map_or(Value::Null, |text| Value::Str(text.into_owned()))
    }
}

fn first_field(expr: &Eval) -> Option<&str> {
    match expr {
        Eval::Field(name) => Some(name),
        Eval::Call(_, arguments) => arguments.iter().find_map(first_field),
        Eval::Unary(_, inner) => first_field(inner),
        Eval::Binary(_, left, right) => first_field(left).or_else(|| first_field(right)),
        _ => None,
    }
}

fn mv_index(value: &Value, start: Option<f64>, end: Option<f64>) -> Value {
    let items = values_of(value);
    let Some(start) = start else { return Value::Null };
    let resolve = |index: f64| if index < 0.0 { items.len() as i64 + index as i64 } else { index as i64 };
    let (first, last) = (resolve(start), end.map_or(resolve(start), resolve));
    if first < 0 || first as usize >= items.len() || last < first {
        return Value::Null;
    }
    let last = (last as usize).min(items.len() - 1);
    multivalue(items[first as usize..=last].iter().map(|item| (*item).clone()).collect())
}

pub(crate) fn truth(value: &Value) -> bool {
    match value {
        Value::Bool(flag) => *flag,
        Value::Null => false,
        Value::List(items) => !items.is_empty(),
        Value::Int(number) => *number != 0,
        Value::Float(number) => *number != 0.0,
        Value::Str(text) => !text.is_empty(),
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Int(_) | Value::Float(_) => "Number",
        Value::Str(_) => "String",
        Value::Bool(_) => "Boolean",
        Value::List(_) => "Multivalue",
        Value::Null => "Invalid",
    }
}

fn numeric(number: Option<f64>, function: impl Fn(f64) -> f64) -> Value {
    number.map_or(Value::Null, |number| number_value(function(number)))
}

fn map_texts(value: &Value, function: &dyn Fn(&str) -> String) -> Value {
    match value {
        Value::Null => Value::Null,
        Value::List(items) => Value::List(items.iter().map(|item| map_texts(item, function)).collect()),
        other => text_of(other).map_or(Value::Null, |text| Value::Str(function(&text))),
    }
}

/// Two values equal in SPL's sense: as numbers when both are, else as exact text.
fn equal(left: &Value, right: &Value) -> bool {
    match (number_of(left), number_of(right)) {
        (Some(a), Some(b)) => a == b,
        _ => text_of(left).is_some_and(|a| text_of(right).is_some_and(|b| a == b)),
    }
}

fn binary_values(op: BinaryOp, left: &Value, right: &Value) -> Value {
    if left.is_null() || right.is_null() {
        return Value::Null;
    }
    match op {
        BinaryOp::Eq | BinaryOp::Neq => {
            let any = values_of(left).iter().any(|item| equal(item, right));
            Value::Bool(if op == BinaryOp::Eq { any } else { !any })
        }
        BinaryOp::Lt | BinaryOp::Lte | BinaryOp::Gt | BinaryOp::Gte => {
            let ordering = match (number_of(left), number_of(right)) {
                (Some(a), Some(b)) => a.partial_cmp(&b),
                _ => text_of(left).zip(text_of(right)).map(|(a, b)| a.cmp(&b)),
            };
            let Some(ordering) = ordering else { return Value::Null };
            Value::Bool(match op {
                BinaryOp::Lt => ordering.is_lt(),
                BinaryOp::Lte => ordering.is_le(),
                BinaryOp::Gt => ordering.is_gt(),
                _ => ordering.is_ge(),
            })
        }
        BinaryOp::Concat => match (text_of(left), text_of(right)) {
            (Some(a), Some(b)) => Value::Str(format!("{a}{b}")),
            _ => Value::Null,
        },
        BinaryOp::Add if number_of(left).is_none() || number_of(right).is_none() => {
            binary_values(BinaryOp::Concat, left, right)
        }
        BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div | BinaryOp::Rem => {
            let (Some(a), Some(b)) = (number_of(left), number_of(right)) else { return Value::Null };
            let result = match op {
                BinaryOp::Add => a + b,
                BinaryOp::Sub => a - b,
                BinaryOp::Mul => a * b,
                BinaryOp::Div if b == 0.0 => return Value::Null,
                BinaryOp::Div => a / b,
                _ if b == 0.0 => return Value::Null,
                _ => a % b,
            };
            number_value(result)
        }
        BinaryOp::And | BinaryOp::Or | BinaryOp::Xor | BinaryOp::Like => {
            unreachable!("evaluated by the evaluator, which keeps state for them")
        }
    }
}

/// A PCRE regex (what SPL's `rex`, `regex`, `match` use) for the regex crate: a `{` that
/// starts no `{n}`/`{n,m}` quantifier is a literal in PCRE, so it is escaped. Lookaround and
/// backreferences stay errors.
pub(crate) fn compile_pcre(pattern: &str) -> Result<Regex, regex::Error> {
    let mut out = String::with_capacity(pattern.len());
    let mut chars = pattern.char_indices().peekable();
    let mut in_class = false;
    while let Some((index, c)) = chars.next() {
        match c {
            '\\' => {
                out.push(c);
                if let Some((next_index, next)) = chars.next() {
                    out.push(next);
                    // `\x{202E}`, `\p{L}`: the braces belong to the escape.
                    let braced = pattern[next_index + next.len_utf8()..].starts_with('{');
                    if matches!(next, 'x' | 'p' | 'P') && braced {
                        for (_, inner) in chars.by_ref() {
                            out.push(inner);
                            if inner == '}' {
                                break;
                            }
                        }
                    }
                }
            }
            '[' if !in_class => {
                in_class = true;
                out.push(c);
            }
            ']' if in_class => {
                in_class = false;
                out.push(c);
            }
            '{' if !in_class && !starts_quantifier(&pattern[index + 1..]) => out.push_str("\\{"),
            c => out.push(c),
        }
    }
    Regex::new(&out)
}

fn starts_quantifier(rest: &str) -> bool {
    let Some(end) = rest.find('}') else { return false };
    let inside = &rest[..end];
    let (low, high) = inside.split_once(',').unwrap_or((inside, "0"));
    !low.is_empty() && low.chars().all(|c| c.is_ascii_digit()) && high.chars().all(|c| c.is_ascii_digit())
}

/// `like`'s pattern as a regex.
fn like_regex(pattern: &str) -> String {
    let mut regex = String::from("(?s)^");
    for c in pattern.chars() {
        match c {
            '%' => regex.push_str(".*"),
            '_' => regex.push('.'),
            c => regex.push_str(&regex::escape(&c.to_string())),
        }
    }
    regex.push('$');
    regex
}

/// A PCRE/sed replacement (`\1`) in the regex crate's syntax (`${1}`).
pub(crate) fn sed_replacement(replacement: &str) -> String {
    let mut out = String::new();
    let mut chars = replacement.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek().is_some_and(char::is_ascii_digit) => {
                out.push_str(&format!("${{{}}}", chars.next().expect("peeked")));
            }
            '$' => out.push_str("$$"),
            c => out.push(c),
        }
    }
    out
}

fn parse_number(text: &str, base: u32) -> Option<f64> {
    let text = text.trim();
    if base == 10 {
        return text.parse().ok();
    }
    let digits = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")).unwrap_or(text);
    i64::from_str_radix(digits, base).ok().map(|number| number as f64)
}

fn url_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'%' if index + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[index + 1..index + 3]).ok();
                match hex.and_then(|hex| u8::from_str_radix(hex, 16).ok()) {
                    Some(byte) => {
                        out.push(byte);
                        index += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            byte => out.push(byte),
        }
        index += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn cidr_match(cidr: &str, ip: &str) -> bool {
    match (cidr.parse::<ipnet::IpNet>(), ip.trim().parse::<std::net::IpAddr>()) {
        (Ok(net), Ok(address)) => net.contains(&address),
        _ => false,
    }
}

/// `relative_time(t, "-7d@d")`: an offset then an optional snap.
fn relative_time(time: f64, offset: &str) -> Option<f64> {
    let (shift, snap) = match offset.split_once('@') {
        Some((shift, snap)) => (shift, Some(snap)),
        None => (offset, None),
    };
    let mut result = time;
    if !shift.is_empty() && shift != "now" {
        let (sign, amount) = match shift.as_bytes()[0] {
            b'-' => (-1.0, &shift[1..]),
            b'+' => (1.0, &shift[1..]),
            _ => (1.0, shift),
        };
        let amount =
            if amount.starts_with(|c: char| c.is_ascii_digit()) { amount.to_owned() } else { format!("1{amount}") };
        result += sign * harrier_ir::pipeline::span_seconds(&amount)?;
    }
    if let Some(unit) = snap {
        let span = harrier_ir::pipeline::span_seconds(&format!("1{unit}"))?;
        result = (result / span).floor() * span;
    }
    Some(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row() -> Row {
        let mut row = Row::empty();
        row.set("result", Value::Str("Found".into()));
        row.set("count", Value::Str("60".into()));
        row.set("mv", Value::List(vec![Value::Str("a".into()), Value::Str("bb".into())]));
        row
    }

    fn eval(expr: Eval) -> Value {
        Evaluator::default().eval(&expr, &row())
    }

    fn call(name: &str, arguments: Vec<Eval>) -> Eval {
        Eval::Call(name.into(), arguments)
    }

    fn field(name: &str) -> Box<Eval> {
        Box::new(Eval::Field(name.into()))
    }

    #[test]
    fn where_compares_text_exactly_and_numbers_numerically() {
        let exact = Eval::Binary(BinaryOp::Eq, field("result"), Box::new(Eval::Str("found".into())));
        assert_eq!(eval(exact), Value::Bool(false));
        let numeric = Eval::Binary(BinaryOp::Gte, field("count"), Box::new(Eval::Num(50.0)));
        assert_eq!(eval(numeric), Value::Bool(true));
        let missing = Eval::Binary(BinaryOp::Eq, field("nope"), Box::new(Eval::Num(1.0)));
        assert_eq!(eval(missing), Value::Null);
    }

    #[test]
    fn functions() {
        assert_eq!(eval(call("lower", vec![Eval::Field("result".into())])), Value::Str("found".into()));
        assert_eq!(eval(call("mvcount", vec![Eval::Field("mv".into())])), Value::Int(2));
        assert_eq!(eval(call("mvindex", vec![Eval::Field("mv".into()), Eval::Num(-1.0)])), Value::Str("bb".into()));
        assert_eq!(
            eval(call(
                "replace",
                vec![Eval::Str("a.b".into()), Eval::Str(r"(\w)\.(\w)".into()), Eval::Str(r"\2-\1".into())]
            )),
            Value::Str("b-a".into())
        );
        assert_eq!(eval(call("like", vec![Eval::Str("abc".into()), Eval::Str("a%".into())])), Value::Bool(true));
        assert_eq!(
            eval(call("substr", vec![Eval::Str("abcdef".into()), Eval::Num(2.0), Eval::Num(3.0)])),
            Value::Str("bcd".into())
        );
        assert_eq!(eval(call("urldecode", vec![Eval::Str("a%20b".into())])), Value::Str("a b".into()));
        assert_eq!(
            eval(call("cidrmatch", vec![Eval::Str("10.0.0.0/8".into()), Eval::Str("10.1.2.3".into())])),
            Value::Bool(true)
        );
        assert_eq!(eval(call("round", vec![Eval::Num(2.567), Eval::Num(1.0)])), Value::Float(2.6));
        assert_eq!(
            eval(call("mvfilter", vec![Eval::Binary(BinaryOp::Eq, field("mv"), Box::new(Eval::Str("bb".into())))])),
            Value::Str("bb".into())
        );
        assert_eq!(
            eval(call("case", vec![Eval::Bool(false), Eval::Num(1.0), Eval::Bool(true), Eval::Num(2.0)])),
            Value::Int(2)
        );
        assert_eq!(
            eval(Eval::Binary(BinaryOp::Concat, field("result"), Box::new(Eval::Num(1.0)))),
            Value::Str("Found1".into())
        );
        assert_eq!(crate::row::format_number(2.0), "2");
        assert!(compile_pcre(r"(^%{|^)(?P<x>.*)").unwrap().is_match("%{abc"));
        assert!(compile_pcre(r"^\\{[0-9a-f]{8}").unwrap().is_match("\\{0123abcd"));
        assert!(compile_pcre(r"a{2,}").unwrap().is_match("aa"));
        assert!(compile_pcre(r"\x{202E}").unwrap().is_match("a\u{202E}b"));
    }
}
