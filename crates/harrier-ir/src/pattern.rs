use std::fmt;

/// One piece of a string pattern.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq, Eq, Hash)]
pub enum Token {
    Literal(String),
    /// Any run of characters, including none.
    AnyRun,
    /// Exactly one character.
    AnyChar,
}

/// A string pattern: tokens matched against the whole value.
///
/// `contains`, `startswith` and `endswith` are patterns with [`Token::AnyRun`] at their ends;
/// an exact match is a single literal.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Pattern {
    tokens: Vec<Token>,
}

impl Pattern {
    pub fn literal(text: impl Into<String>) -> Pattern {
        let mut pattern = Pattern::default();
        pattern.push_literal(&text.into());
        pattern
    }

    pub fn from_tokens(tokens: impl IntoIterator<Item = Token>) -> Pattern {
        let mut pattern = Pattern::default();
        for token in tokens {
            pattern.push(token);
        }
        pattern
    }

    /// Appends a token, merging adjacent literals and adjacent `*`.
    pub fn push(&mut self, token: Token) {
        match (self.tokens.last_mut(), token) {
            (Some(Token::Literal(last)), Token::Literal(text)) => last.push_str(&text),
            (Some(Token::AnyRun), Token::AnyRun) => {}
            (_, Token::Literal(text)) if text.is_empty() => {}
            (_, token) => self.tokens.push(token),
        }
    }

    pub fn push_literal(&mut self, text: &str) {
        self.push(Token::Literal(text.to_owned()));
    }

    pub fn tokens(&self) -> &[Token] {
        &self.tokens
    }

    /// The text when the pattern has no wildcard.
    pub fn as_literal(&self) -> Option<&str> {
        match self.tokens.as_slice() {
            [] => Some(""),
            [Token::Literal(text)] => Some(text),
            _ => None,
        }
    }

    pub fn has_wildcards(&self) -> bool {
        self.tokens.iter().any(|token| !matches!(token, Token::Literal(_)))
    }

    pub fn starts_with_any_run(&self) -> bool {
        matches!(self.tokens.first(), Some(Token::AnyRun))
    }

    pub fn ends_with_any_run(&self) -> bool {
        matches!(self.tokens.last(), Some(Token::AnyRun))
    }

    /// `*pattern*`, without doubling a `*` already there.
    pub fn contained(mut self) -> Pattern {
        if !self.starts_with_any_run() {
            self.tokens.insert(0, Token::AnyRun);
        }
        self.push(Token::AnyRun);
        self
    }

    /// `pattern*`.
    pub fn prefixed(mut self) -> Pattern {
        self.push(Token::AnyRun);
        self
    }

    /// `*pattern`.
    pub fn suffixed(mut self) -> Pattern {
        if !self.starts_with_any_run() {
            self.tokens.insert(0, Token::AnyRun);
        }
        self
    }

    /// The literal pieces, in order.
    pub fn literals(&self) -> impl Iterator<Item = &str> {
        self.tokens.iter().filter_map(|token| match token {
            Token::Literal(text) => Some(text.as_str()),
            _ => None,
        })
    }
}

/// Sigma-style text: `*` and `?` for wildcards, `\` escaping them and itself.
impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for token in &self.tokens {
            match token {
                Token::AnyRun => f.write_str("*")?,
                Token::AnyChar => f.write_str("?")?,
                Token::Literal(text) => {
                    for c in text.chars() {
                        if matches!(c, '*' | '?' | '\\') {
                            f.write_str("\\")?;
                        }
                        write!(f, "{c}")?;
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modifiers_wrap_without_doubling_wildcards() {
        let pattern = Pattern::literal("\\Users\\Public\\").contained();
        assert_eq!(pattern.tokens(), [Token::AnyRun, Token::Literal("\\Users\\Public\\".into()), Token::AnyRun]);
        let already = Pattern::from_tokens([Token::AnyRun, Token::Literal("x".into())]).contained();
        assert_eq!(already.tokens().len(), 3);
        assert_eq!(Pattern::literal("a").prefixed().to_string(), "a*");
        assert_eq!(Pattern::literal("a*b").suffixed().to_string(), "*a\\*b");
    }

    #[test]
    fn literals_merge() {
        let pattern = Pattern::from_tokens([
            Token::Literal("a".into()),
            Token::Literal("b".into()),
            Token::AnyRun,
            Token::AnyRun,
        ]);
        assert_eq!(pattern.tokens(), [Token::Literal("ab".into()), Token::AnyRun]);
        assert_eq!(Pattern::literal("ab").as_literal(), Some("ab"));
    }
}
