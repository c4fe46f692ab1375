//! Sigma regular expressions (PCRE-like, found anywhere in the value) as Lucene regular
//! expressions (a smaller syntax, always matching the whole value), used by query_string,
//! the query DSL's `regexp` and ES|QL's `RLIKE`. What Lucene lacks is refused by name.

use crate::{Unsupported, unsupported};

/// Characters Lucene's regex syntax (with all optional operators) reserves.
pub(crate) const LUCENE_RESERVED: &str = ".?+*|{}[]()\"\\#@&<>~/";

/// Translates; with `ignore_case`, each letter stands for both its cases.
pub fn to_lucene(pattern: &str, ignore_case: bool) -> Result<String, Unsupported> {
    // A leading `(?i)` is the flag Lucene lacks: the letters carry it instead.
    if let Some(rest) = pattern.strip_prefix("(?i)") {
        return to_lucene(rest, true);
    }
    let chars: Vec<char> = pattern.chars().collect();
    let (start, anchored_start) = if chars.first() == Some(&'^') { (1, true) } else { (0, false) };
    let mut end = chars.len();
    let anchored_end = end > start && chars[end - 1] == '$' && !escaped(&chars, end - 1);
    if anchored_end {
        end -= 1;
    }
    let mut out = String::new();
    let mut at = start;
    let mut in_class = false;
    while at < end {
        let c = chars[at];
        match c {
            '\\' => {
                let Some(&next) = chars.get(at + 1) else { return unsupported("regex ending in a backslash") };
                out.push_str(&escape_class(next, in_class)?);
                at += 2;
                continue;
            }
            '[' if !in_class => {
                in_class = true;
                out.push('[');
                if chars.get(at + 1) == Some(&'^') {
                    out.push('^');
                    at += 1;
                }
            }
            ']' if in_class => {
                in_class = false;
                out.push(']');
            }
            '(' if !in_class => {
                if chars.get(at + 1) == Some(&'?') {
                    if chars.get(at + 2) == Some(&':') {
                        at += 2;
                    } else {
                        return unsupported("regex group with `(?` (lookaround, flags or named groups)");
                    }
                }
                out.push('(');
            }
            '^' | '$' if !in_class => return unsupported("regex anchor inside the expression"),
            '*' | '+' | '?' | '}' if !in_class => {
                out.push(c);
                match chars.get(at + 1) {
                    // A lazy quantifier matches the same values when the whole value must match.
                    Some('?') => at += 1,
                    Some('+') => return unsupported("possessive regex quantifier"),
                    _ => {}
                }
            }
            '.' | '|' | '{' | ')' if !in_class => out.push(c),
            '-' if in_class => out.push('-'),
            letter if ignore_case && letter.is_alphabetic() => out.push_str(&both_cases(letter, in_class, &chars, at)),
            other if LUCENE_RESERVED.contains(other) => {
                out.push('\\');
                out.push(other);
            }
            other => out.push(other),
        }
        at += 1;
    }
    if in_class {
        return unsupported("unclosed regex character class");
    }
    let lead = if anchored_start { "" } else { ".*" };
    let trail = if anchored_end { "" } else { ".*" };
    Ok(if lead.is_empty() && trail.is_empty() { out } else { format!("{lead}({out}){trail}") })
}

fn escaped(chars: &[char], at: usize) -> bool {
    chars[..at].iter().rev().take_while(|c| **c == '\\').count() % 2 == 1
}

/// An escape sequence: shorthand classes spelled out, escaped punctuation kept escaped.
fn escape_class(next: char, in_class: bool) -> Result<String, Unsupported> {
    let (inside, outside) = match next {
        'd' => ("0-9", "[0-9]"),
        'w' => ("A-Za-z0-9_", "[A-Za-z0-9_]"),
        's' => (" \t\n\r\x0c", "[ \t\n\r\x0c]"),
        'D' if !in_class => ("", "[^0-9]"),
        'W' if !in_class => ("", "[^A-Za-z0-9_]"),
        'S' if !in_class => ("", "[^ \t\n\r\x0c]"),
        't' => ("\t", "\t"),
        'n' => ("\n", "\n"),
        'r' => ("\r", "\r"),
        c if c.is_ascii_punctuation() || c == ' ' => return Ok(format!("\\{c}")),
        other => return unsupported(format!("regex escape `\\{other}`")),
    };
    Ok(if in_class { inside } else { outside }.to_owned())
}

/// A letter as both its cases: `[aA]` outside a class, `aA` inside (a range `a-z` also
/// gets `A-Z`).
fn both_cases(letter: char, in_class: bool, chars: &[char], at: usize) -> String {
    let other: String =
        if letter.is_lowercase() { letter.to_uppercase().collect() } else { letter.to_lowercase().collect() };
    if !in_class {
        return if other.chars().eq([letter]) { letter.to_string() } else { format!("[{letter}{other}]") };
    }
    // Inside a class: a range end is handled with its start.
    let range_end = at >= 2 && chars[at - 1] == '-' && chars[at - 2].is_alphabetic();
    let range_start = chars.get(at + 1) == Some(&'-') && chars.get(at + 2).is_some_and(|c| c.is_alphabetic());
    if range_end {
        let start = chars[at - 2];
        let flip = |c: char| if c.is_lowercase() { c.to_ascii_uppercase() } else { c.to_ascii_lowercase() };
        return format!("{letter}{}-{}", flip(start), flip(letter));
    }
    if range_start {
        return letter.to_string();
    }
    format!("{letter}{other}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unanchored_regexes_are_wrapped_and_shorthands_spelled_out() {
        assert_eq!(to_lucene(r"\d+\.exe", false).unwrap(), r".*([0-9]+\.exe).*");
        assert_eq!(to_lucene(r"^a|b$", false).unwrap(), "a|b");
        assert_eq!(to_lucene("a\"#b", false).unwrap(), ".*(a\\\"\\#b).*");
        assert_eq!(to_lucene(r"(?:ab)+?", false).unwrap(), ".*((ab)+).*");
    }

    #[test]
    fn ignore_case_gives_both_cases_in_and_out_of_classes() {
        assert_eq!(to_lucene("^ab[c-e1]$", true).unwrap(), "[aA][bB][c-eC-E1]");
        assert_eq!(to_lucene("(?i)^ab$", false).unwrap(), "[aA][bB]");
    }

    #[test]
    fn what_lucene_lacks_is_refused() {
        for pattern in [r"a(?=b)", r"\bword", r"(a)\1", "a^b"] {
            assert!(to_lucene(pattern, false).is_err(), "{pattern}");
        }
    }
}
