//! Rule IR to matchers.

use harrier_ir::{CompareOp, Expr, FieldRefMode, Pattern, Test, TimePart, Token};
use memchr::memmem;
use regex::{Regex, RegexBuilder};
use rustc_hash::FxHashMap;
use std::fmt;

/// Why a rule cannot run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileError(pub String);

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CompileError {}

/// The field names rules test, each given a slot number; names are kept lower-cased since
/// Sigma field names ignore case.
#[derive(Default)]
pub(crate) struct FieldTable {
    ids: FxHashMap<String, u32>,
    /// Field names as written (SPL) rather than ignoring case (Sigma).
    pub(crate) exact_names: bool,
    /// Whether a rule names a field by a dotted path (`Event.System.EventID`): only then are
    /// events' paths worth looking up, since a path always has a dot.
    pub(crate) has_dotted: bool,
}

impl FieldTable {
    fn id(&mut self, name: &str) -> u32 {
        self.has_dotted |= name.contains('.');
        let key = if self.exact_names { name.to_owned() } else { name.to_lowercase() };
        let next = self.ids.len() as u32;
        *self.ids.entry(key).or_insert(next)
    }

    /// The slot of a name, given lower-cased unless names are exact.
    pub(crate) fn get(&self, key: &str) -> Option<u32> {
        self.ids.get(key).copied()
    }

    pub(crate) fn len(&self) -> usize {
        self.ids.len()
    }
}

pub(crate) enum Node {
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
    Const(bool),
    Test { target: Target, matcher: Matcher },
}

#[derive(Clone, Copy)]
pub(crate) enum Target {
    Field(u32),
    /// Every value of the event (keyword search).
    AnyValue,
}

pub(crate) enum Matcher {
    Text { text: TextMatcher, cased: bool },
    Regex(Regex),
    Cidr(ipnet::IpNet),
    Compare(CompareOp, f64),
    Exists(bool),
    IsNull,
    FieldRef { other: u32, mode: FieldRefMode },
    TimePart { part: TimePart, op: CompareOp, value: i64 },
}

/// A string pattern in the cheapest form that tests it.
pub(crate) enum TextMatcher {
    Any,
    Exact(String),
    Prefix(String),
    Suffix(String),
    Contains(Box<memmem::Finder<'static>>),
    Wildcard(Regex),
}

impl TextMatcher {
    pub(crate) fn is_match(&self, text: &str) -> bool {
        match self {
            TextMatcher::Any => true,
            TextMatcher::Exact(expected) => text == expected,
            TextMatcher::Prefix(prefix) => text.starts_with(prefix.as_str()),
            TextMatcher::Suffix(suffix) => text.ends_with(suffix.as_str()),
            TextMatcher::Contains(finder) => finder.find(text.as_bytes()).is_some(),
            TextMatcher::Wildcard(regex) => regex.is_match(text),
        }
    }
}

pub(crate) fn compile(expr: &Expr, fields: &mut FieldTable) -> Result<Node, CompileError> {
    Ok(match expr {
        Expr::And(items) => Node::And(items.iter().map(|item| compile(item, fields)).collect::<Result<_, _>>()?),
        Expr::Or(items) => Node::Or(items.iter().map(|item| compile(item, fields)).collect::<Result<_, _>>()?),
        Expr::Not(item) => Node::Not(Box::new(compile(item, fields)?)),
        Expr::Const(value) => Node::Const(*value),
        Expr::Pred(predicate) => Node::Test {
            target: predicate.field.as_deref().map_or(Target::AnyValue, |field| Target::Field(fields.id(field))),
            matcher: matcher(&predicate.test, fields)?,
        },
    })
}

fn matcher(test: &Test, fields: &mut FieldTable) -> Result<Matcher, CompileError> {
    Ok(match test {
        Test::Matches { pattern, cased } => Matcher::Text { text: text_matcher(pattern, *cased)?, cased: *cased },
        Test::Regex { pattern, ignore_case, multi_line, dot_all } => Matcher::Regex(
            RegexBuilder::new(pattern)
                .case_insensitive(*ignore_case)
                .multi_line(*multi_line)
                .dot_matches_new_line(*dot_all)
                .build()
                .map_err(|error| {
                    CompileError(format!(
                        "regular expression `{pattern}` cannot run in linear time or is invalid: {}",
                        first_line(&error.to_string())
                    ))
                })?,
        ),
        Test::Cidr(network) => Matcher::Cidr(*network),
        Test::Compare { op, value } => Matcher::Compare(*op, *value),
        Test::Exists(present) => Matcher::Exists(*present),
        Test::IsNull => Matcher::IsNull,
        Test::FieldRef { other, mode } => Matcher::FieldRef { other: fields.id(other), mode: *mode },
        Test::TimePart { part, op, value } => Matcher::TimePart { part: *part, op: *op, value: *value },
    })
}

fn first_line(text: &str) -> String {
    text.lines().rfind(|line| !line.trim().is_empty()).unwrap_or(text).trim().to_owned()
}

/// Patterns are lower-cased here, values once per event, unless the test is cased.
fn text_matcher(pattern: &Pattern, cased: bool) -> Result<TextMatcher, CompileError> {
    let fold = |text: &str| {
        if cased { text.to_owned() } else { text.to_lowercase() }
    };
    Ok(match pattern.tokens() {
        [] => TextMatcher::Exact(String::new()),
        [Token::AnyRun] => TextMatcher::Any,
        [Token::Literal(text)] => TextMatcher::Exact(fold(text)),
        [Token::Literal(text), Token::AnyRun] => TextMatcher::Prefix(fold(text)),
        [Token::AnyRun, Token::Literal(text)] => TextMatcher::Suffix(fold(text)),
        [Token::AnyRun, Token::Literal(text), Token::AnyRun] => {
            TextMatcher::Contains(Box::new(memmem::Finder::new(fold(text).as_bytes()).into_owned()))
        }
        tokens => {
            let mut regex = String::from("(?s)^");
            for token in tokens {
                match token {
                    Token::Literal(text) => regex.push_str(&regex::escape(&fold(text))),
                    Token::AnyRun => regex.push_str(".*"),
                    Token::AnyChar => regex.push('.'),
                }
            }
            regex.push('$');
            TextMatcher::Wildcard(
                Regex::new(&regex).map_err(|error| CompileError(format!("pattern `{pattern}`: {error}")))?,
            )
        }
    })
}
