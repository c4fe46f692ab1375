use crate::Pattern;

/// A boolean expression over predicates.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq)]
pub enum Expr {
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
    Pred(Predicate),
    Const(bool),
}

impl Expr {
    pub fn and(items: Vec<Expr>) -> Expr {
        flatten(items, true)
    }

    pub fn or(items: Vec<Expr>) -> Expr {
        flatten(items, false)
    }

    #[allow(clippy::should_implement_trait)] // builds a node; `!` would read worse here
    pub fn not(item: Expr) -> Expr {
        match item {
            Expr::Not(inner) => *inner,
            Expr::Const(value) => Expr::Const(!value),
            other => Expr::Not(Box::new(other)),
        }
    }

    /// Every predicate in the expression, depth first.
    pub fn predicates(&self) -> Vec<&Predicate> {
        let mut found = Vec::new();
        self.collect_predicates(&mut found);
        found
    }

    fn collect_predicates<'a>(&'a self, found: &mut Vec<&'a Predicate>) {
        match self {
            Expr::And(items) | Expr::Or(items) => items.iter().for_each(|item| item.collect_predicates(found)),
            Expr::Not(item) => item.collect_predicates(found),
            Expr::Pred(predicate) => found.push(predicate),
            Expr::Const(_) => {}
        }
    }

    /// The expression with every field name passed through `rename` (field mappings).
    pub fn map_fields(&self, rename: &dyn Fn(&str) -> String) -> Expr {
        match self {
            Expr::And(items) => Expr::And(items.iter().map(|item| item.map_fields(rename)).collect()),
            Expr::Or(items) => Expr::Or(items.iter().map(|item| item.map_fields(rename)).collect()),
            Expr::Not(item) => Expr::Not(Box::new(item.map_fields(rename))),
            Expr::Pred(predicate) => Expr::Pred(Predicate {
                field: predicate.field.as_deref().map(rename),
                test: match &predicate.test {
                    Test::FieldRef { other, mode } => Test::FieldRef { other: rename(other), mode: *mode },
                    test => test.clone(),
                },
            }),
            Expr::Const(value) => Expr::Const(*value),
        }
    }
}

/// Builds an AND (`conjunction`) or OR, flattening nested ones of the same kind and folding
/// constants: `and([])` is true, `or([])` is false.
fn flatten(items: Vec<Expr>, conjunction: bool) -> Expr {
    let mut flat = Vec::with_capacity(items.len());
    for item in items {
        match item {
            Expr::And(inner) if conjunction => flat.extend(inner),
            Expr::Or(inner) if !conjunction => flat.extend(inner),
            Expr::Const(value) if value == conjunction => {}
            Expr::Const(value) => return Expr::Const(value),
            other => flat.push(other),
        }
    }
    match flat.len() {
        0 => Expr::Const(conjunction),
        1 => flat.pop().expect("one item"),
        _ if conjunction => Expr::And(flat),
        _ => Expr::Or(flat),
    }
}

/// A test on one field, or on every value of the event when `field` is `None` (keywords).
///
/// A test on a field the event does not have is false (so `not` over it is true), except
/// [`Test::Exists`]`(false)` and [`Test::IsNull`], which are about absence.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq)]
pub struct Predicate {
    pub field: Option<String>,
    pub test: Test,
}

#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq)]
pub enum Test {
    /// The value's text matches the pattern, ignoring case unless `cased`.
    Matches { pattern: Pattern, cased: bool },
    /// A regular expression, found anywhere in the value unless anchored.
    Regex { pattern: String, ignore_case: bool, multi_line: bool, dot_all: bool },
    /// The value is an IP address inside the network.
    Cidr(ipnet::IpNet),
    /// The value is a number that compares so with `value`.
    Compare { op: CompareOp, value: f64 },
    /// The field is present (even if empty or null), or absent.
    Exists(bool),
    /// The field is absent or null.
    IsNull,
    /// The value equals (or contains, starts, ends with) the value of another field.
    FieldRef { other: String, mode: FieldRefMode },
    /// A part of the value read as a timestamp compares so with `value`.
    TimePart { part: TimePart, op: CompareOp, value: i64 },
}

#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Lt,
    Lte,
    Gt,
    Gte,
    Eq,
    Neq,
}

impl CompareOp {
    pub fn holds<T: PartialOrd>(self, left: T, right: T) -> bool {
        match self {
            CompareOp::Lt => left < right,
            CompareOp::Lte => left <= right,
            CompareOp::Gt => left > right,
            CompareOp::Gte => left >= right,
            CompareOp::Eq => left == right,
            CompareOp::Neq => left != right,
        }
    }
}

#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldRefMode {
    Equals,
    Contains,
    StartsWith,
    EndsWith,
}

#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimePart {
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Year,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn predicate(field: &str) -> Expr {
        Expr::Pred(Predicate { field: Some(field.into()), test: Test::Exists(true) })
    }

    #[test]
    fn nested_operators_flatten_and_constants_fold() {
        let expr = Expr::and(vec![predicate("a"), Expr::and(vec![predicate("b"), Expr::Const(true)])]);
        assert_eq!(expr, Expr::And(vec![predicate("a"), predicate("b")]));
        assert_eq!(Expr::or(vec![]), Expr::Const(false));
        assert_eq!(Expr::and(vec![predicate("a"), Expr::Const(false)]), Expr::Const(false));
        assert_eq!(Expr::not(Expr::not(predicate("a"))), predicate("a"));
    }
}
