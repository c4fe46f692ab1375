//! The search language (`search`, the base search, `tstats ... where`) into IR conditions.
//!
//! Splunk's rules, which differ from Sigma's and from `where`:
//! - precedence `()` > `NOT` > `OR` > `AND`, the `AND` implied between terms; operators are
//!   upper case (`or` is a keyword);
//! - values match ignoring case, `*` is the only wildcard and matches are anchored to the
//!   whole value; `field=*` needs the field;
//! - `x!=v` needs `x` and a different value, while `NOT x=v` also passes events without `x`;
//! - a bare word or quoted phrase is searched for in the whole event.

use crate::text::{Cursor, Result, unescape_literal};
use harrier_ir::{CompareOp, Expr, Pattern, Predicate, Test, Token};

/// Where a condition stops, besides the end of its text and an unmatched `)`.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Until {
    End,
    /// `tstats ... where <condition> by ...`: the word `by` (any case) ends it.
    ByClause,
}

/// Parses a whole search-language condition.
pub(crate) fn parse(cursor: &mut Cursor, until: Until) -> Result<Expr> {
    let expr = conjunction(cursor, until)?;
    cursor.skip_ws();
    if cursor.peek() == Some(')') {
        return Err(cursor.error("unmatched `)`"));
    }
    Ok(expr)
}

fn stops(cursor: &mut Cursor, until: Until) -> bool {
    cursor.skip_ws();
    match cursor.peek() {
        None | Some(')') => true,
        _ => until == Until::ByClause && cursor.clone().eat_word("by", false),
    }
}

fn conjunction(cursor: &mut Cursor, until: Until) -> Result<Expr> {
    let mut items = Vec::new();
    while !stops(cursor, until) {
        if cursor.eat_word("AND", true) {
            continue;
        }
        items.push(disjunction(cursor, until)?);
    }
    Ok(Expr::and(items))
}

fn disjunction(cursor: &mut Cursor, until: Until) -> Result<Expr> {
    let mut items = vec![negation(cursor, until)?];
    loop {
        cursor.skip_ws();
        if !cursor.eat_word("OR", true) {
            break;
        }
        items.push(negation(cursor, until)?);
    }
    Ok(Expr::or(items))
}

fn negation(cursor: &mut Cursor, until: Until) -> Result<Expr> {
    cursor.skip_ws();
    if cursor.eat_word("NOT", true) {
        cursor.enter()?;
        let inner = negation(cursor, until)?;
        cursor.leave();
        return Ok(Expr::not(inner));
    }
    primary(cursor, until)
}

fn primary(cursor: &mut Cursor, until: Until) -> Result<Expr> {
    cursor.skip_ws();
    match cursor.peek() {
        Some('(') => {
            cursor.bump();
            cursor.enter()?;
            let inner = conjunction(cursor, until)?;
            cursor.leave();
            cursor.expect(")")?;
            Ok(inner)
        }
        Some('[') => Err(cursor.error("a subsearch inside a search condition is not supported")),
        None => Err(cursor.error("expected a search term")),
        _ => term(cursor),
    }
}

/// The operators a term can have after its field name.
const OPERATORS: [(&str, Op); 8] = [
    ("!=", Op::Neq),
    ("<=", Op::Compare(CompareOp::Lte)),
    (">=", Op::Compare(CompareOp::Gte)),
    ("==", Op::Eq),
    ("=", Op::Eq),
    ("<", Op::Compare(CompareOp::Lt)),
    (">", Op::Compare(CompareOp::Gt)),
    ("::", Op::Eq),
];

#[derive(Clone, Copy)]
enum Op {
    Eq,
    Neq,
    Compare(CompareOp),
}

fn term(cursor: &mut Cursor) -> Result<Expr> {
    let start = cursor.pos;
    let quoted = cursor.peek() == Some('"');
    let head = if quoted { unescape_literal(cursor.quoted_raw()?) } else { field_word(cursor).to_owned() };
    if !quoted && cursor.peek() == Some('(') {
        match head.to_ascii_uppercase().as_str() {
            "TERM" => return Ok(keyword(&bracketed(cursor)?, false)),
            "CASE" => return Ok(keyword(&bracketed(cursor)?, true)),
            _ => {}
        }
    }
    let after_head = cursor.pos;
    cursor.skip_ws();
    for (symbol, op) in OPERATORS {
        if cursor.eat(symbol) {
            return comparison(cursor, &head, op);
        }
    }
    if !quoted && !head.is_empty() && cursor.eat_word("IN", true) {
        cursor.skip_ws();
        if cursor.peek() == Some('(') {
            return in_list(cursor, &head);
        }
        return Err(cursor.error("expected `(` after IN"));
    }
    cursor.pos = after_head;
    if head.is_empty() && !quoted {
        cursor.pos = start;
        return Err(cursor.error("expected a search term"));
    }
    if quoted {
        return Ok(keyword(&head, false));
    }
    // A bare keyword: its escapes follow the value rules.
    Ok(keyword_pattern(value_pattern(&head)))
}

/// A field name or bare keyword: stops at white space, operators, parentheses and quotes.
fn field_word<'a>(cursor: &mut Cursor<'a>) -> &'a str {
    let rest = cursor.rest();
    let mut end = rest.len();
    let mut chars = rest.char_indices().peekable();
    while let Some((index, c)) = chars.next() {
        let operator_start = matches!(c, '=' | '<' | '>') || (c == '!' && chars.peek().is_some_and(|(_, n)| *n == '='));
        if c.is_whitespace() || operator_start || matches!(c, '(' | ')' | '"' | ',') {
            end = index;
            break;
        }
        if c == '\\' {
            chars.next();
        }
    }
    cursor.pos += end;
    &rest[..end]
}

/// The text inside `( ... )` of `TERM(...)`/`CASE(...)`.
fn bracketed(cursor: &mut Cursor) -> Result<String> {
    cursor.expect("(")?;
    let rest = cursor.rest();
    let end = rest.find(')').ok_or_else(|| cursor.error("expected `)`"))?;
    cursor.pos += end + 1;
    Ok(rest[..end].trim().trim_matches('"').to_owned())
}

fn comparison(cursor: &mut Cursor, field: &str, op: Op) -> Result<Expr> {
    if field.is_empty() {
        return Err(cursor.error("a comparison needs a field name"));
    }
    let value = value(cursor)?;
    Ok(match op {
        Op::Eq => equals(field, &value),
        Op::Neq => Expr::and(vec![exists(field), Expr::not(equals(field, &value))]),
        Op::Compare(op) => {
            let literal = value.as_literal().unwrap_or_default();
            let number = literal.trim().parse::<f64>().map_err(|_| {
                cursor.error(format!("`{field}` compared with `{literal}`: only numbers can be compared with < and >"))
            })?;
            predicate(field, Test::Compare { op, value: number })
        }
    })
}

fn in_list(cursor: &mut Cursor, field: &str) -> Result<Expr> {
    cursor.expect("(")?;
    let mut items = Vec::new();
    loop {
        cursor.skip_ws();
        if cursor.eat(")") {
            break;
        }
        if cursor.eat(",") {
            continue;
        }
        if cursor.peek().is_none() {
            return Err(cursor.error("expected `)` to close IN"));
        }
        items.push(equals(field, &value(cursor)?));
    }
    Ok(Expr::or(items))
}

/// A value: quoted or not, pieces written together (`""*textbin*""`) joined; an unquoted
/// value ends at white space, a comma, or a `)` it did not open.
fn value(cursor: &mut Cursor) -> Result<Pattern> {
    cursor.skip_ws();
    let mut pattern = Pattern::default();
    let mut any = false;
    loop {
        match cursor.peek() {
            Some('"') => {
                for token in value_pattern(cursor.quoted_raw()?).tokens() {
                    pattern.push(token.clone());
                }
            }
            Some(c) if !c.is_whitespace() && c != ',' && c != ')' => {
                for token in value_pattern(unquoted(cursor)).tokens() {
                    pattern.push(token.clone());
                }
            }
            _ => break,
        }
        any = true;
    }
    if !any {
        return Err(cursor.error("expected a value"));
    }
    Ok(pattern)
}

fn unquoted<'a>(cursor: &mut Cursor<'a>) -> &'a str {
    let rest = cursor.rest();
    let mut depth = 0;
    let mut end = rest.len();
    let mut chars = rest.char_indices();
    while let Some((index, c)) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            '(' => depth += 1,
            ')' if depth == 0 => {
                end = index;
                break;
            }
            ')' => depth -= 1,
            '"' | ',' if depth == 0 => {
                end = index;
                break;
            }
            c if c.is_whitespace() => {
                end = index;
                break;
            }
            _ => {}
        }
    }
    cursor.pos += end;
    &rest[..end]
}

/// A search value's pattern. `*` is a wildcard that no backslash escapes; `\\` is a
/// backslash and `\"` a quote; a backslash before a letter, digit or `*` stays (ESCU writes
/// `"*\calc.exe"` and `"system32\*"` meaning one backslash); before other punctuation it
/// goes (`\(x86\)` is `(x86)`).
pub(crate) fn value_pattern(raw: &str) -> Pattern {
    let mut pattern = Pattern::default();
    let mut literal = String::new();
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' => {
                pattern.push(Token::Literal(std::mem::take(&mut literal)));
                pattern.push(Token::AnyRun);
            }
            '\\' => match chars.peek().copied() {
                Some(next @ ('\\' | '"')) => {
                    literal.push(next);
                    chars.next();
                }
                Some(next) if next.is_alphanumeric() || next == '*' || next.is_whitespace() => literal.push('\\'),
                Some(next) => {
                    literal.push(next);
                    chars.next();
                }
                None => literal.push('\\'),
            },
            c => literal.push(c),
        }
    }
    pattern.push(Token::Literal(literal));
    pattern
}

fn predicate(field: &str, test: Test) -> Expr {
    Expr::Pred(Predicate { field: Some(field.to_owned()), test })
}

/// The field has a value (Splunk reads an empty value as none).
pub(crate) fn exists(field: &str) -> Expr {
    predicate(field, Test::Exists(true))
}

/// `field=value`, ignoring case; `index` and `*` alone are always true.
pub(crate) fn equals(field: &str, value: &Pattern) -> Expr {
    if value.tokens() == [Token::AnyRun] {
        return if field == "index" { Expr::Const(true) } else { exists(field) };
    }
    if field == "index" {
        // Indexes are Splunk storage; Harrier searches the files it is given.
        return Expr::Const(true);
    }
    predicate(field, Test::Matches { pattern: value.clone(), cased: false })
}

fn keyword(text: &str, cased: bool) -> Expr {
    let mut pattern = Pattern::default();
    for token in value_pattern(text).tokens() {
        pattern.push(token.clone());
    }
    if cased {
        Expr::Pred(Predicate { field: None, test: Test::Matches { pattern: pattern.contained(), cased: true } })
    } else {
        keyword_pattern(pattern)
    }
}

/// A free-text term: true when any value of the event contains it; `*` alone is true.
fn keyword_pattern(pattern: Pattern) -> Expr {
    if pattern.tokens().iter().all(|token| *token == Token::AnyRun) {
        return Expr::Const(true);
    }
    Expr::Pred(Predicate { field: None, test: Test::Matches { pattern: pattern.contained(), cased: false } })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_text(text: &str) -> Expr {
        parse(&mut Cursor::new(text, 0), Until::End).unwrap_or_else(|error| panic!("{}", error.render(text)))
    }

    fn eq(field: &str, value: &str) -> Expr {
        equals(field, &value_pattern(value))
    }

    #[test]
    fn or_binds_tighter_than_the_implied_and() {
        let expr = parse_text("a=1 b=2 OR c=3");
        assert_eq!(expr, Expr::and(vec![eq("a", "1"), Expr::or(vec![eq("b", "2"), eq("c", "3")])]));
    }

    #[test]
    fn not_takes_one_term() {
        let expr = parse_text("NOT a=1 b=2");
        assert_eq!(expr, Expr::and(vec![Expr::not(eq("a", "1")), eq("b", "2")]));
    }

    #[test]
    fn not_equal_needs_the_field() {
        let expr = parse_text("a!=1");
        assert_eq!(expr, Expr::and(vec![exists("a"), Expr::not(eq("a", "1"))]));
    }

    #[test]
    fn escu_syntax_variants_parse() {
        let expr = parse_text(
            r#"EventCode = 1 NOT(Image IN("*\\program files*", "*\\x.exe")) (p=*GetCurrent()* OR q IN(""*textbin*"", "b"))"#,
        );
        let Expr::And(items) = expr else { panic!("conjunction expected") };
        assert_eq!(items.len(), 3);
        assert_eq!(items[0], eq("EventCode", "1"));
        let Expr::Or(inner) = &items[2] else { panic!("disjunction expected") };
        assert_eq!(inner[0], eq("p", "*GetCurrent()*"));
    }

    #[test]
    fn sloppy_escapes_follow_the_escu_rule() {
        let literal = |raw: &str| value_pattern(raw).literals().collect::<Vec<_>>().join("|");
        assert_eq!(literal(r"*\calc.exe"), r"\calc.exe");
        assert_eq!(literal(r"C:\\Program Files \(x86\)\\*"), r"C:\Program Files (x86)\");
        assert_eq!(literal(r"system32\*"), r"system32\");
    }

    #[test]
    fn lower_case_operators_are_keywords() {
        let expr = parse_text("a or b");
        assert_eq!(expr.predicates().len(), 3);
    }

    #[test]
    fn errors_have_places() {
        for bad in ["a IN b", "(a=1", "a<x", "a=\"b"] {
            assert!(parse(&mut Cursor::new(bad, 0), Until::End).is_err(), "{bad}");
        }
    }
}
