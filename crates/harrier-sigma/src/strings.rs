//! Sigma string values: `*` and `?` are wildcards, and a backslash escapes `*`, `?` and
//! itself. A backslash before anything else is an ordinary character (so `C:\Windows\` stays
//! as written). This is pySigma's `SigmaString` behaviour.

use harrier_ir::{Pattern, Token};

pub(crate) fn parse(text: &str) -> Pattern {
    let mut pattern = Pattern::default();
    let mut literal = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.peek() {
                Some(&next @ ('*' | '?' | '\\')) => {
                    literal.push(next);
                    chars.next();
                }
                _ => literal.push('\\'),
            },
            '*' | '?' => {
                pattern.push(Token::Literal(std::mem::take(&mut literal)));
                pattern.push(if c == '*' { Token::AnyRun } else { Token::AnyChar });
            }
            other => literal.push(other),
        }
    }
    pattern.push(Token::Literal(literal));
    pattern
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The escape table of the Sigma notes, verified against pySigma.
    #[test]
    fn escapes_follow_pysigma() {
        let cases = [
            (r"C:\Windows\*", vec![Token::Literal(r"C:\Windows*".into())]),
            (r"C:\Windows\\*", vec![Token::Literal(r"C:\Windows\".into()), Token::AnyRun]),
            (r"C:\Windows\\\*", vec![Token::Literal(r"C:\Windows\*".into())]),
            (r"a\\\\b", vec![Token::Literal(r"a\\b".into())]),
            (r"a\\\b", vec![Token::Literal(r"a\\b".into())]),
            (r"what\?", vec![Token::Literal("what?".into())]),
            (r"C:\", vec![Token::Literal(r"C:\".into())]),
            (r"\\\*\IPC$", vec![Token::Literal(r"\*\IPC$".into())]),
            (r"\\\\\?\\GLOBALROOT\\Device", vec![Token::Literal(r"\\?\GLOBALROOT\Device".into())]),
            ("index.php?id=", vec![Token::Literal("index.php".into()), Token::AnyChar, Token::Literal("id=".into())]),
        ];
        for (text, tokens) in cases {
            assert_eq!(parse(text).tokens(), tokens.as_slice(), "{text}");
        }
    }

    #[test]
    fn a_trailing_backslash_stays_literal_when_contains_adds_a_wildcard() {
        let pattern = parse(r"\Users\Public\").contained();
        assert_eq!(pattern.tokens(), [Token::AnyRun, Token::Literal(r"\Users\Public\".into()), Token::AnyRun]);
    }
}
