//! The condition grammar: `or` < `and` < `not` < `x of` < parentheses, lowercase operators
//! (as pySigma), `1 of`/`any of`/`all of` a pattern or `them`.

use harrier_ir::Expr;

/// A search identifier and what it means.
pub(crate) struct Identifier<'a> {
    pub name: &'a str,
    pub expr: &'a Expr,
}

pub(crate) fn parse(condition: &str, identifiers: &[Identifier<'_>]) -> Result<Expr, String> {
    if let Some((_, aggregation)) = condition.split_once('|') {
        return Err(format!(
            "the deprecated aggregation `|{aggregation}` is not supported: write it as a correlation rule"
        ));
    }
    let tokens = tokenize(condition);
    let mut parser = Parser { tokens: &tokens, at: 0, identifiers, depth: 0 };
    let expr = parser.or_expr()?;
    match parser.peek() {
        None => Ok(expr),
        Some(token @ ("AND" | "OR" | "NOT")) => {
            Err(format!("operators are lowercase: write `{}`", token.to_lowercase()))
        }
        Some(token) => Err(format!("unexpected `{token}` in condition `{condition}`")),
    }
}

fn tokenize(condition: &str) -> Vec<String> {
    condition.replace('(', " ( ").replace(')', " ) ").split_whitespace().map(str::to_owned).collect()
}

struct Parser<'t, 'i> {
    tokens: &'t [String],
    at: usize,
    identifiers: &'i [Identifier<'i>],
    /// Parentheses and `not`s open here.
    depth: usize,
}

impl Parser<'_, '_> {
    fn peek(&self) -> Option<&str> {
        self.tokens.get(self.at).map(String::as_str)
    }

    fn next(&mut self) -> Option<&str> {
        let token = self.tokens.get(self.at).map(String::as_str);
        self.at += 1;
        token
    }

    fn or_expr(&mut self) -> Result<Expr, String> {
        let mut items = vec![self.and_expr()?];
        while self.peek() == Some("or") {
            self.at += 1;
            items.push(self.and_expr()?);
        }
        Ok(Expr::or(items))
    }

    fn and_expr(&mut self) -> Result<Expr, String> {
        let mut items = vec![self.not_expr()?];
        while self.peek() == Some("and") {
            self.at += 1;
            items.push(self.not_expr()?);
        }
        Ok(Expr::and(items))
    }

    fn not_expr(&mut self) -> Result<Expr, String> {
        if self.peek() == Some("not") {
            self.at += 1;
            self.enter()?;
            let inner = self.not_expr()?;
            self.depth -= 1;
            return Ok(Expr::not(inner));
        }
        self.primary()
    }

    /// One level deeper; too deep is an error (a crafted rule must not exhaust the stack).
    fn enter(&mut self) -> Result<(), String> {
        self.depth += 1;
        if self.depth > harrier_ir::MAX_NESTING {
            return Err(format!(
                "the condition nests parentheses and `not` more than {} levels deep (at token {})",
                harrier_ir::MAX_NESTING,
                self.at
            ));
        }
        Ok(())
    }

    fn primary(&mut self) -> Result<Expr, String> {
        let token = self.next().ok_or("the condition ends too early")?.to_owned();
        match token.as_str() {
            "(" => {
                self.enter()?;
                let inner = self.or_expr()?;
                self.depth -= 1;
                match self.next() {
                    Some(")") => Ok(inner),
                    _ => Err("a `(` is not closed".into()),
                }
            }
            "1" | "any" | "all" if self.peek() == Some("of") => {
                self.at += 1;
                let target = self.next().ok_or("`of` needs a pattern or `them`")?.to_owned();
                self.selection(&token, &target)
            }
            ")" | "and" | "or" | "of" | "them" => Err(format!("unexpected `{token}`")),
            "AND" | "OR" | "NOT" => Err(format!("operators are lowercase: write `{}`", token.to_lowercase())),
            name => self
                .identifiers
                .iter()
                .find(|identifier| identifier.name == name)
                .map(|identifier| identifier.expr.clone())
                .ok_or_else(|| format!("the condition names `{name}`, which the detection does not define")),
        }
    }

    /// `1 of sel_*`, `all of them`: the identifiers the pattern names, ORed or ANDed. Those
    /// starting with `_` are left out unless the pattern starts with `_` too.
    fn selection(&self, quantifier: &str, target: &str) -> Result<Expr, String> {
        let chosen: Vec<Expr> = self
            .identifiers
            .iter()
            .filter(|identifier| {
                let hidden = identifier.name.starts_with('_');
                if target == "them" {
                    !hidden
                } else {
                    wildcard_match(target, identifier.name) && (!hidden || target.starts_with('_'))
                }
            })
            .map(|identifier| identifier.expr.clone())
            .collect();
        if chosen.is_empty() {
            return Err(format!("`{quantifier} of {target}` matches no search identifier"));
        }
        Ok(if quantifier == "all" { Expr::and(chosen) } else { Expr::or(chosen) })
    }
}

/// `*` as any run of characters, matched against the whole name.
fn wildcard_match(pattern: &str, name: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == name,
        Some((head, rest)) => {
            let Some(mut remainder) = name.strip_prefix(head) else {
                return false;
            };
            let mut parts = rest.split('*').peekable();
            while let Some(part) = parts.next() {
                if parts.peek().is_none() {
                    return remainder.ends_with(part) && remainder.len() >= part.len();
                }
                match remainder.find(part) {
                    Some(found) => remainder = &remainder[found + part.len()..],
                    None => return false,
                }
            }
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use harrier_ir::{Predicate, Test};

    fn leaf(name: &str) -> Expr {
        Expr::Pred(Predicate { field: Some(name.into()), test: Test::Exists(true) })
    }

    fn parse_with(condition: &str, names: &[&str]) -> Result<Expr, String> {
        let exprs: Vec<Expr> = names.iter().map(|name| leaf(name)).collect();
        let identifiers: Vec<Identifier<'_>> =
            names.iter().zip(&exprs).map(|(name, expr)| Identifier { name, expr }).collect();
        parse(condition, &identifiers)
    }

    #[test]
    fn precedence_is_or_and_not_of() {
        let names = ["sel_a", "sel_b", "keyword1", "keyword2", "kw_all"];
        let expr = parse_with("1 of sel_* or all of keyword* and not kw_all", &names).unwrap();
        let expected = Expr::or(vec![
            Expr::or(vec![leaf("sel_a"), leaf("sel_b")]),
            Expr::and(vec![Expr::and(vec![leaf("keyword1"), leaf("keyword2")]), Expr::not(leaf("kw_all"))]),
        ]);
        assert_eq!(expr, expected);
    }

    #[test]
    fn parentheses_not_not_and_any_of() {
        assert_eq!(parse_with("not not a", &["a"]).unwrap(), leaf("a"));
        assert_eq!(
            parse_with("(a or b) and c", &["a", "b", "c"]).unwrap(),
            Expr::and(vec![Expr::or(vec![leaf("a"), leaf("b")]), leaf("c")])
        );
        assert_eq!(parse_with("any of sel*", &["sel-x", "other"]).unwrap(), leaf("sel-x"));
    }

    #[test]
    fn them_and_patterns_skip_underscore_identifiers_but_names_reach_them() {
        assert_eq!(parse_with("all of them", &["a", "_hidden"]).unwrap(), leaf("a"));
        assert_eq!(parse_with("1 of *", &["a", "_hidden"]).unwrap(), leaf("a"));
        assert_eq!(
            parse_with("a and _hidden", &["a", "_hidden"]).unwrap(),
            Expr::and(vec![leaf("a"), leaf("_hidden")])
        );
    }

    #[test]
    fn errors_are_named() {
        assert!(parse_with("all of filter_*", &["selection"]).unwrap_err().contains("matches no search identifier"));
        assert!(parse_with("a AND b", &["a", "b"]).unwrap_err().contains("lowercase"));
        assert!(parse_with("missing", &["a"]).unwrap_err().contains("does not define"));
        assert!(parse_with("(a", &["a"]).is_err());
        assert!(parse_with("a b", &["a", "b"]).is_err());
        assert!(
            parse_with("selection | count() by User > 5", &["selection"]).unwrap_err().contains("correlation rule")
        );
    }
}
