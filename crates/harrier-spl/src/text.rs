//! Reading SPL text: a cursor with positions, quoted strings and SPL's backslash rules.

use std::fmt;

/// A parse error at a byte offset of the expanded search.
#[derive(Debug, Clone, PartialEq)]
pub struct SplError {
    pub message: String,
    pub offset: usize,
}

impl SplError {
    /// The message with the place in `search` shown under a caret.
    pub fn render(&self, search: &str) -> String {
        let offset = floor_boundary(search, self.offset.min(search.len()));
        let start = floor_boundary(search, offset.saturating_sub(40));
        let end = floor_boundary(search, (offset + 40).min(search.len()));
        let before = search[start..offset].replace(['\n', '\t'], " ");
        let after = search[offset..end].replace(['\n', '\t'], " ");
        format!(
            "{} at offset {} of the expanded search:\n    {}{}\n    {}^",
            self.message,
            self.offset,
            before,
            after,
            " ".repeat(before.chars().count())
        )
    }
}

fn floor_boundary(text: &str, mut index: usize) -> usize {
    while !text.is_char_boundary(index) {
        index -= 1;
    }
    index
}

impl fmt::Display for SplError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at offset {}", self.message, self.offset)
    }
}

pub type Result<T> = std::result::Result<T, SplError>;

/// A position in one piece of the search; `base` is the piece's offset in the whole search.
#[derive(Clone)]
pub(crate) struct Cursor<'a> {
    text: &'a str,
    pub(crate) pos: usize,
    base: usize,
    /// Parentheses, `NOT`s and calls open here.
    depth: usize,
    /// Eval operations built so far.
    operations: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(text: &'a str, base: usize) -> Cursor<'a> {
        Cursor { text, pos: 0, base, depth: 0, operations: 0 }
    }

    /// One level deeper (a parenthesis, `NOT`, a call): a crafted search must not exhaust the
    /// stack, so past [`harrier_ir::MAX_NESTING`] it is an error at this place.
    pub(crate) fn enter(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > harrier_ir::MAX_NESTING {
            return Err(self.error(format!("nested more than {} levels deep", harrier_ir::MAX_NESTING)));
        }
        Ok(())
    }

    pub(crate) fn leave(&mut self) {
        self.depth -= 1;
    }

    /// One more eval operation; past [`harrier_ir::MAX_EVAL_OPERATIONS`] an error.
    pub(crate) fn operation(&mut self) -> Result<()> {
        self.operations += 1;
        if self.operations > harrier_ir::MAX_EVAL_OPERATIONS {
            let most = harrier_ir::MAX_EVAL_OPERATIONS;
            return Err(self.error(format!("an expression of more than {most} operations")));
        }
        Ok(())
    }

    pub(crate) fn rest(&self) -> &'a str {
        &self.text[self.pos..]
    }

    pub(crate) fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    pub(crate) fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    pub(crate) fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.bump();
        }
    }

    pub(crate) fn at_end(&mut self) -> bool {
        self.skip_ws();
        self.pos >= self.text.len()
    }

    /// Takes `symbol` if the text continues with it.
    pub(crate) fn eat(&mut self, symbol: &str) -> bool {
        if self.rest().starts_with(symbol) {
            self.pos += symbol.len();
            true
        } else {
            false
        }
    }

    /// Takes the word `word` (ignoring ASCII case unless `exact`) if it stands alone: what
    /// follows is not part of a name.
    pub(crate) fn eat_word(&mut self, word: &str, exact: bool) -> bool {
        let rest = self.rest();
        let Some(head) = rest.get(..word.len()) else {
            return false;
        };
        let same = if exact { head == word } else { head.eq_ignore_ascii_case(word) };
        let ends = rest[word.len()..].chars().next().is_none_or(|c| !is_name_char(c));
        if same && ends {
            self.pos += word.len();
            true
        } else {
            false
        }
    }

    pub(crate) fn expect(&mut self, symbol: &str) -> Result<()> {
        self.skip_ws();
        if self.eat(symbol) { Ok(()) } else { Err(self.error(format!("expected `{symbol}`"))) }
    }

    pub(crate) fn error(&self, message: impl Into<String>) -> SplError {
        SplError { message: message.into(), offset: self.base + self.pos }
    }

    /// A name: letters, digits and `_ . : @ { } * -` (field names, command and function names).
    pub(crate) fn name(&mut self) -> &'a str {
        let start = self.pos;
        while self.peek().is_some_and(is_name_char) {
            self.bump();
        }
        &self.text[start..self.pos]
    }

    /// The inside of a double-quoted string starting here, escapes left as written.
    pub(crate) fn quoted_raw(&mut self) -> Result<&'a str> {
        let start = self.pos;
        if !self.eat("\"") {
            return Err(self.error("expected `\"`"));
        }
        loop {
            match self.bump() {
                None => {
                    self.pos = start;
                    return Err(self.error("unterminated quoted string"));
                }
                Some('\\') => {
                    self.bump();
                }
                Some('"') => return Ok(&self.text[start + 1..self.pos - 1]),
                Some(_) => {}
            }
        }
    }

    /// A field name or value, quoted or not, with `\\` and `\"` resolved.
    pub(crate) fn name_or_quoted(&mut self) -> Result<String> {
        self.skip_ws();
        if self.peek() == Some('"') {
            Ok(unescape_literal(self.quoted_raw()?))
        } else {
            let name = self.name();
            if name.is_empty() { Err(self.error("expected a name")) } else { Ok(name.to_owned()) }
        }
    }
}

pub(crate) fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '.' | ':' | '@' | '{' | '}' | '*' | '-' | '&')
}

/// SPL's string escapes outside the search language: `\\` is one backslash, `\"` a quote,
/// every other backslash stays (regexes keep their `\d`).
pub(crate) fn unescape_literal(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, chars.peek()) {
            ('\\', Some('\\')) | ('\\', Some('"')) => out.push(chars.next().expect("peeked")),
            _ => out.push(c),
        }
    }
    out
}

/// Splits `text` at top-level occurrences of `separator`: outside double quotes, brackets
/// and parentheses. Gives each piece with its byte offset.
pub(crate) fn split_top_level(text: &str, separator: char) -> Vec<(usize, &str)> {
    let mut pieces = Vec::new();
    let mut depth = 0i32;
    let mut quoted = false;
    let mut escaped = false;
    let mut start = 0;
    for (index, c) in text.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '[' | '(' if !quoted => depth += 1,
            ']' | ')' if !quoted => depth -= 1,
            c if c == separator && !quoted && depth <= 0 => {
                pieces.push((start, &text[start..index]));
                start = index + c.len_utf8();
            }
            _ => {}
        }
    }
    pieces.push((start, &text[start..]));
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_level_split_ignores_quotes_and_brackets() {
        let pieces: Vec<&str> =
            split_top_level(r#"a "x|y" | b [c | d] | e"#, '|').into_iter().map(|(_, piece)| piece).collect();
        assert_eq!(pieces, [r#"a "x|y" "#, " b [c | d] ", " e"]);
    }

    #[test]
    fn literal_escapes_keep_regex_backslashes() {
        assert_eq!(unescape_literal(r#"(.*\\\)"#), r"(.*\\)");
        assert_eq!(unescape_literal(r#"a\"b\d"#), r#"a"b\d"#);
    }

    #[test]
    fn errors_point_at_their_place() {
        let error = SplError { message: "expected `)`".into(), offset: 4 };
        assert!(error.render("a = (b").ends_with("a = (b\n        ^"));
    }
}
