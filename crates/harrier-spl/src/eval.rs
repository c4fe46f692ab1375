//! Eval expressions (`where`, `eval`, `stats count(eval(...))`) into IR.
//!
//! Unlike the search language: `AND` binds tighter than `OR`; strings need double quotes
//! and compare case-sensitively; a bare word or a 'single-quoted' name is a field.

use crate::text::{Cursor, Result, unescape_literal};
use harrier_ir::pipeline::{BinaryOp, Eval, UnaryOp};

/// Parses one expression; stops before a top-level `,` or `)` it did not open.
pub(crate) fn parse(cursor: &mut Cursor) -> Result<Eval> {
    or(cursor)
}

fn binary_level(
    cursor: &mut Cursor,
    operators: &[(&str, BinaryOp)],
    words: bool,
    next: fn(&mut Cursor) -> Result<Eval>,
) -> Result<Eval> {
    let mut left = next(cursor)?;
    'outer: loop {
        cursor.skip_ws();
        for (symbol, op) in operators {
            let taken = if words { cursor.eat_word(symbol, false) } else { eat_operator(cursor, symbol) };
            if taken {
                cursor.operation()?;
                let right = next(cursor)?;
                left = Eval::Binary(*op, Box::new(left), Box::new(right));
                continue 'outer;
            }
        }
        return Ok(left);
    }
}

/// Takes an operator symbol, but not the start of a longer one (`=` of `==`, `.` of a number).
fn eat_operator(cursor: &mut Cursor, symbol: &str) -> bool {
    let rest = cursor.rest();
    if !rest.starts_with(symbol) {
        return false;
    }
    let next = rest[symbol.len()..].chars().next();
    let longer = match symbol {
        "=" | "<" | ">" | "!" => next == Some('='),
        "." => next.is_some_and(|c| c.is_ascii_digit()),
        _ => false,
    };
    !longer && cursor.eat(symbol)
}

fn or(cursor: &mut Cursor) -> Result<Eval> {
    binary_level(cursor, &[("OR", BinaryOp::Or), ("XOR", BinaryOp::Xor)], true, and)
}

fn and(cursor: &mut Cursor) -> Result<Eval> {
    binary_level(cursor, &[("AND", BinaryOp::And)], true, not)
}

fn not(cursor: &mut Cursor) -> Result<Eval> {
    cursor.skip_ws();
    if cursor.eat_word("NOT", false) || eat_operator(cursor, "!") {
        let inner = nested(cursor, not)?;
        return Ok(Eval::Unary(UnaryOp::Not, Box::new(inner)));
    }
    comparison(cursor)
}

fn comparison(cursor: &mut Cursor) -> Result<Eval> {
    let left = additive(cursor)?;
    cursor.skip_ws();
    if cursor.eat_word("IN", false) {
        cursor.expect("(")?;
        let mut arguments = vec![left];
        arguments.extend(arguments_until_close(cursor)?);
        return Ok(Eval::Call("in".into(), arguments));
    }
    if cursor.eat_word("LIKE", false) {
        return Ok(Eval::Binary(BinaryOp::Like, Box::new(left), Box::new(additive(cursor)?)));
    }
    const OPERATORS: [(&str, BinaryOp); 7] = [
        ("==", BinaryOp::Eq),
        ("!=", BinaryOp::Neq),
        ("<=", BinaryOp::Lte),
        (">=", BinaryOp::Gte),
        ("=", BinaryOp::Eq),
        ("<", BinaryOp::Lt),
        (">", BinaryOp::Gt),
    ];
    for (symbol, op) in OPERATORS {
        if eat_operator(cursor, symbol) {
            return Ok(Eval::Binary(op, Box::new(left), Box::new(additive(cursor)?)));
        }
    }
    Ok(left)
}

fn additive(cursor: &mut Cursor) -> Result<Eval> {
    binary_level(cursor, &[("+", BinaryOp::Add), ("-", BinaryOp::Sub), (".", BinaryOp::Concat)], false, multiplicative)
}

fn multiplicative(cursor: &mut Cursor) -> Result<Eval> {
    binary_level(cursor, &[("*", BinaryOp::Mul), ("/", BinaryOp::Div), ("%", BinaryOp::Rem)], false, unary)
}

fn unary(cursor: &mut Cursor) -> Result<Eval> {
    cursor.skip_ws();
    if eat_operator(cursor, "-") {
        let inner = nested(cursor, unary)?;
        return Ok(Eval::Unary(UnaryOp::Negate, Box::new(inner)));
    }
    primary(cursor)
}

/// Parses what an operator, a parenthesis or a call opens, one level deeper.
fn nested<T>(cursor: &mut Cursor, inner: fn(&mut Cursor) -> Result<T>) -> Result<T> {
    cursor.enter()?;
    cursor.operation()?;
    let parsed = inner(cursor)?;
    cursor.leave();
    Ok(parsed)
}

fn primary(cursor: &mut Cursor) -> Result<Eval> {
    cursor.skip_ws();
    match cursor.peek() {
        Some('(') => {
            cursor.bump();
            let inner = nested(cursor, parse)?;
            cursor.expect(")")?;
            Ok(inner)
        }
        Some('"') => Ok(Eval::Str(unescape_literal(cursor.quoted_raw()?))),
        Some('\'') => {
            cursor.bump();
            let rest = cursor.rest();
            let end = rest.find('\'').ok_or_else(|| cursor.error("unterminated 'field name'"))?;
            cursor.pos += end + 1;
            Ok(Eval::Field(rest[..end].to_owned()))
        }
        Some(c) if c.is_ascii_digit() => number(cursor),
        Some(c) if crate::text::is_name_char(c) && c != '*' && c != '-' => name_or_call(cursor),
        _ => Err(cursor.error("expected a value, a field or a function call")),
    }
}

fn number(cursor: &mut Cursor) -> Result<Eval> {
    let rest = cursor.rest();
    let end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
    let value = rest[..end].parse::<f64>().map_err(|_| cursor.error("not a number"))?;
    cursor.pos += end;
    Ok(Eval::Num(value))
}

fn name_or_call(cursor: &mut Cursor) -> Result<Eval> {
    let start = cursor.pos;
    let rest = cursor.rest();
    let end = rest
        .find(|c: char| !(c.is_alphanumeric() || matches!(c, '_' | '.' | ':' | '@' | '{' | '}')))
        .unwrap_or(rest.len());
    let name = rest[..end].trim_end_matches('.');
    cursor.pos += name.len();
    if cursor.peek() == Some('(') {
        cursor.bump();
        let arguments = nested(cursor, arguments_until_close)?;
        return Ok(Eval::Call(name.to_ascii_lowercase(), arguments));
    }
    match name {
        "" => {
            cursor.pos = start;
            Err(cursor.error("expected a value, a field or a function call"))
        }
        "true" | "TRUE" => Ok(Eval::Bool(true)),
        "false" | "FALSE" => Ok(Eval::Bool(false)),
        "null" | "NULL" => Ok(Eval::Null),
        field => Ok(Eval::Field(field.to_owned())),
    }
}

/// Comma-separated expressions up to and including the closing `)`.
fn arguments_until_close(cursor: &mut Cursor) -> Result<Vec<Eval>> {
    let mut arguments = Vec::new();
    cursor.skip_ws();
    if cursor.eat(")") {
        return Ok(arguments);
    }
    loop {
        arguments.push(parse(cursor)?);
        cursor.skip_ws();
        if cursor.eat(",") {
            continue;
        }
        cursor.expect(")")?;
        return Ok(arguments);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_text(text: &str) -> Eval {
        let mut cursor = Cursor::new(text, 0);
        let eval = parse(&mut cursor).unwrap_or_else(|error| panic!("{}", error.render(text)));
        assert!(cursor.at_end(), "left over: {}", cursor.rest());
        eval
    }

    fn field(name: &str) -> Box<Eval> {
        Box::new(Eval::Field(name.into()))
    }

    #[test]
    fn and_binds_tighter_than_or() {
        let eval = parse_text("a OR b AND c");
        let and = Eval::Binary(BinaryOp::And, field("b"), field("c"));
        assert_eq!(eval, Eval::Binary(BinaryOp::Or, field("a"), Box::new(and)));
    }

    #[test]
    fn a_bare_word_on_the_right_is_a_field() {
        let eval = parse_text("ImageFolderPath = ImageLoadedFolderPath");
        assert_eq!(eval, Eval::Binary(BinaryOp::Eq, field("ImageFolderPath"), field("ImageLoadedFolderPath")));
    }

    #[test]
    fn calls_strings_numbers_and_concatenation() {
        let eval = parse_text(r#"if(match(x, "(?i)\\d+"), 'a b' . "-" . 1.5, null())"#);
        let Eval::Call(name, arguments) = eval else { panic!("call expected") };
        assert_eq!(name, "if");
        assert_eq!(
            arguments[0],
            Eval::Call("match".into(), vec![Eval::Field("x".into()), Eval::Str(r"(?i)\d+".into())])
        );
        assert!(matches!(arguments[1], Eval::Binary(BinaryOp::Concat, _, _)));
    }

    #[test]
    fn in_like_and_comparisons() {
        assert!(matches!(parse_text(r#"x IN ("a", "b")"#), Eval::Call(name, _) if name == "in"));
        assert!(matches!(parse_text(r#"x LIKE "%a%""#), Eval::Binary(BinaryOp::Like, _, _)));
        assert!(matches!(parse_text("count >= 50"), Eval::Binary(BinaryOp::Gte, _, _)));
        assert!(matches!(parse_text("a != -1"), Eval::Binary(BinaryOp::Neq, _, _)));
    }
}
