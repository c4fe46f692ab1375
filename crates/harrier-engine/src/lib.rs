//! Matching: rule IR in, hits out.
//!
//! This crate owns:
//! - compiling each rule's [`Expr`](harrier_ir::Expr) into a tree of matchers (string
//!   patterns as exact/prefix/suffix/substring tests where they can be, regexes, CIDR, numbers);
//! - the literal prefilter: the literals a rule's match must hold (its strings', its regular
//!   expressions'), searched for in each event at once, so that only rules witnessed run
//!   (by Aho-Corasick automata, or a sieve of four-byte anchors for thousands of literals);
//! - routing: rules are indexed by the (Channel, EventID) their logsource restricts them to,
//!   so an event is only tested against the rules that can match it;
//! - evaluating an event: field names are resolved to slots once per event shape (the same
//!   names in the same order), and lower-cased values are computed once per field, whatever
//!   the number of rules that test them.
//!
//! Semantics (Sigma's): strings compare ignoring case unless cased; numbers and strings compare
//! by their text; a test on an absent field is false, so `not` over it is true; a list value
//! matches when any item does.

mod compile;
mod evaluate;
mod prefilter;
mod routing;
mod sieve;

pub use compile::CompileError;
pub use evaluate::{Engine, FieldNames};
pub use routing::{Key, channels, keys};
