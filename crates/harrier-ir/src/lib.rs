//! The rule intermediate representation (IR): what a detection rule means, independent of the
//! language it was written in.
//!
//! This crate owns the data model only:
//! - [`RuleMeta`]: id, title, level, status, tags with their ATT&CK techniques and tactics,
//!   false positives, where the rule came from;
//! - [`Expr`]: a boolean expression over [`Predicate`]s, each a [`Test`] on one field (or on
//!   any value, for keyword searches);
//! - [`Pattern`]: a string pattern as tokens (literal text, `*`, `?`), so that escapes are
//!   resolved once, by the parser, and never re-interpreted.
//!
//! - [`pipeline`]: what a rule does with its matching events after the condition (SPL's
//!   `stats`, `where`, `eval`, ...), as commands over rows.
//!
//! Parsers (Sigma, SPL) build it; the engine compiles it into matchers; conversion backends
//! print it. Nothing here is specific to one rule language.

mod correlation;
mod expr;
mod meta;
mod pattern;
pub mod pipeline;
pub mod required;

/// Deepest nesting (parentheses, `not`, function calls, subsearches) a rule's condition or an
/// SPL expression may have: far past any real rule (SigmaHQ and ESCU nest a few levels), and
/// well within the stack of the threads that parse, evaluate and drop the trees. Parsers
/// refuse a deeper rule with an error naming its place.
pub const MAX_NESTING: usize = 64;

/// Most operations one SPL eval expression may hold: a chain of `+` or `.` is a tree as deep
/// as it is long, evaluated by recursion.
pub const MAX_EVAL_OPERATIONS: usize = 1000;

pub use correlation::{Alias, Correlation, CorrelationKind};
pub use expr::{CompareOp, Expr, FieldRefMode, Predicate, Test, TimePart};
pub use meta::{Annotation, Level, LogSource, RuleMeta, SourcePlace, Status, attack_ids};
pub use pattern::{Pattern, Token};

/// A detection rule: metadata and the condition an event must satisfy. The conditions are
/// [`Expr`] trees unless a holder keeps them in another form (a rule set keeps them encoded,
/// about a fifth of the size, until a conversion asks for them).
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq)]
pub struct Rule<C = Expr> {
    pub meta: RuleMeta,
    pub condition: C,
    /// On the sources whose events may not carry a field the rule tests: the condition as plain
    /// Sigma reads it (such a field absent, its tests false). An event it matches and
    /// `condition` does not is one the rule cannot decide: what plain Sigma hits is never
    /// certainly false, so it is undecided unless certainly true. `None` for rules that test no
    /// such field.
    pub plain: Option<C>,
}

impl<C> Rule<C> {
    /// The same rule with both conditions turned into another form, or the first error.
    pub fn map_conditions<D, E>(self, mut convert: impl FnMut(C) -> Result<D, E>) -> Result<Rule<D>, E> {
        let plain = self.plain.map(&mut convert).transpose()?;
        Ok(Rule { meta: self.meta, condition: convert(self.condition)?, plain })
    }
}
