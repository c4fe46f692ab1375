//! Running row pipelines: what a rule does with the events its condition matched.
//!
//! This crate owns the executor of [`harrier_ir::pipeline`] queries: rows (field → value,
//! multivalues included), eval expressions with SPL's typing, `stats`/`eventstats`
//! aggregation, `rex`, `lookup` over loaded tables, `join` with subsearches, and the rest of
//! the commands. The caller matches events (with `harrier-engine`, on events as
//! `harrier-cim` presents them) and hands each match to [`Runner::accept`]; `stats` groups
//! are kept as rows arrive, so memory grows with the groups, not the events.

mod eval;
mod row;
mod runner;
mod stats;
mod time;

pub use eval::Evaluator;
pub use row::{Row, format_number, multivalue, text_of};
pub use runner::{RunState, Runner, display};
pub use time::{format_epoch, parse_time};

use harrier_ir::{Pattern, Token};

/// A whole-value regex for a `*` pattern (used for field names and lookup cells).
fn glob_regex(pattern: &Pattern) -> regex::Regex {
    let mut text = String::from("(?s)^");
    for token in pattern.tokens() {
        match token {
            Token::Literal(literal) => text.push_str(&regex::escape(literal)),
            Token::AnyRun => text.push_str(".*"),
            Token::AnyChar => text.push('.'),
        }
    }
    text.push('$');
    regex::Regex::new(&text).expect("escaped text is a valid regex")
}
