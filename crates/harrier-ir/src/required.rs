//! What every match of a regular expression contains: literals, one of which occurs in any
//! text the expression matches, lower-cased. SigmaHQ's `|re` rules (Invoke-Obfuscation and
//! the like) test every process creation or script block otherwise: the engine's prefilter
//! witnesses them by these literals, and the Spark SQL of a rule tests them before the
//! regular expression (a substring search costs a fraction of Java's backtracking matcher).

use regex_syntax::hir::{Class, Hir, HirKind};

/// Alternatives kept for one part of an expression: past this a set is too wide to witness
/// anything (and the cross products of a concatenation would grow fast).
const MAX_ALTERNATIVES: usize = 16;

/// Characters a class may hold and still be a literal's character (`[Kk]`, which a
/// case-insensitive `k` is, with the Kelvin sign).
const MAX_CLASS_CHARS: usize = 4;

/// The literals one of which every match of `hir` contains, lower-cased, or `None` when no
/// such set is known (a match may be empty, or made of wide classes only).
pub fn literals(hir: &Hir) -> Option<Vec<String>> {
    let known = analyze(hir);
    best([known.exact, known.required])
}

/// What is known of one part of an expression.
struct Known {
    /// It matches exactly one of these texts (lower-cased), when it is a finite set.
    exact: Option<Vec<String>>,
    /// Every match contains one of these texts, when more is known than `exact` says (whose
    /// texts a match also contains: callers weigh both with [`best`]).
    required: Option<Vec<String>>,
}

const UNKNOWN: Known = Known { exact: None, required: None };

fn analyze(hir: &Hir) -> Known {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => exact(vec![String::new()]),
        HirKind::Literal(literal) => {
            std::str::from_utf8(&literal.0).ok().and_then(lowered).map_or(UNKNOWN, |text| exact(vec![text]))
        }
        HirKind::Class(class) => class_chars(class).map_or(UNKNOWN, exact),
        HirKind::Capture(capture) => analyze(&capture.sub),
        HirKind::Repetition(repetition) if repetition.min == 0 => UNKNOWN,
        HirKind::Repetition(repetition) => {
            let sub = analyze(&repetition.sub);
            let once = repetition.max == Some(1);
            Known { required: best([sub.exact.clone(), sub.required]), exact: sub.exact.filter(|_| once) }
        }
        HirKind::Concat(items) => concat(items),
        HirKind::Alternation(items) => alternation(items),
    }
}

fn exact(texts: Vec<String>) -> Known {
    Known { exact: Some(texts), required: None }
}

/// Adjacent parts of known texts join into longer texts; any part's literals are required.
fn concat(items: &[Hir]) -> Known {
    let mut run = vec![String::new()];
    let mut whole = true;
    let mut candidates = Vec::new();
    for item in items {
        let known = analyze(item);
        match known.exact {
            Some(texts) if run.len() * texts.len() <= MAX_ALTERNATIVES => {
                run = run.iter().flat_map(|head| texts.iter().map(move |tail| format!("{head}{tail}"))).collect();
            }
            Some(texts) => {
                whole = false;
                candidates.push(std::mem::replace(&mut run, texts));
            }
            None => {
                whole = false;
                candidates.push(std::mem::replace(&mut run, vec![String::new()]));
                candidates.extend(known.required);
            }
        }
    }
    candidates.push(run.clone());
    Known { exact: whole.then_some(run), required: best(candidates.into_iter().map(Some)) }
}

/// A match of an alternation is a match of one branch: the branches' sets together.
fn alternation(items: &[Hir]) -> Known {
    let branches: Vec<Known> = items.iter().map(analyze).collect();
    let union = |sets: Option<Vec<Vec<String>>>| {
        let mut all: Vec<String> = sets?.concat();
        all.sort_unstable();
        all.dedup();
        (all.len() <= MAX_ALTERNATIVES).then_some(all)
    };
    let exact = union(branches.iter().map(|branch| branch.exact.clone()).collect());
    let required = union(branches.into_iter().map(|branch| best([branch.exact, branch.required])).collect());
    Known { exact, required }
}

/// The most selective of several sets that each witness a match: longest shortest literal,
/// then fewest alternatives. A set holding the empty text witnesses nothing.
fn best(sets: impl IntoIterator<Item = Option<Vec<String>>>) -> Option<Vec<String>> {
    sets.into_iter().flatten().filter(|set| !set.is_empty() && set.iter().all(|text| !text.is_empty())).max_by_key(
        |set| {
            let shortest = set.iter().map(String::len).min().unwrap_or(0);
            (shortest, std::cmp::Reverse(set.len()))
        },
    )
}

/// A text as the prefilter lower-cases values, character by character. A capital sigma's
/// lower case depends on what follows it, so a text holding one is not used.
fn lowered(text: &str) -> Option<String> {
    (!text.contains('Σ')).then(|| text.chars().flat_map(char::to_lowercase).collect())
}

/// The lower-cased characters of a narrow class (a case-insensitive letter, `[/-]`).
fn class_chars(class: &Class) -> Option<Vec<String>> {
    let chars: Vec<char> = match class {
        Class::Unicode(class) => {
            let count: u32 =
                class.ranges().iter().map(|range| u32::from(range.end()) - u32::from(range.start()) + 1).sum();
            if count as usize > MAX_CLASS_CHARS {
                return None;
            }
            class.ranges().iter().flat_map(|range| range.start()..=range.end()).collect()
        }
        Class::Bytes(class) => {
            let count: usize = class.ranges().iter().map(|range| usize::from(range.end() - range.start()) + 1).sum();
            if count > MAX_CLASS_CHARS || class.ranges().iter().any(|range| !range.end().is_ascii()) {
                return None;
            }
            class.ranges().iter().flat_map(|range| range.start()..=range.end()).map(char::from).collect()
        }
    };
    let mut texts: Vec<String> = chars.iter().map(|c| lowered(&c.to_string())).collect::<Option<_>>()?;
    texts.sort_unstable();
    texts.dedup();
    Some(texts)
}

#[cfg(test)]
mod tests {
    use super::literals;

    fn of(pattern: &str, ignore_case: bool) -> Option<Vec<String>> {
        let hir = regex_syntax::ParserBuilder::new().case_insensitive(ignore_case).build().parse(pattern).unwrap();
        literals(&hir)
    }

    #[test]
    fn a_match_holds_one_of_the_literals() {
        assert_eq!(of("abc", false).unwrap(), ["abc"]);
        assert_eq!(of("ABC", false).unwrap(), ["abc"], "values are read lower-cased");
        assert_eq!(of(".*cmd.{0,5}(?:/c|/r).+powershell", false).unwrap(), ["powershell"]);
        assert_eq!(of("(?:iex|invoke-expression)\\(", false).unwrap(), ["iex(", "invoke-expression("]);
        assert_eq!(of("^a\\b(?:bc)+\\$", false).unwrap(), ["bc"], "anchors join, a repetition is required");
        assert_eq!(of("x[/-]e\\s+", false).unwrap(), ["x-e", "x/e"]);
        // A case-insensitive `k` is `[Kk\u{212A}]`, all `k` once lower-cased.
        assert_eq!(of("kerberos", true).unwrap(), ["kerberos", "kerberoſ"]);
    }

    #[test]
    fn a_match_that_may_hold_no_literal_has_none() {
        for pattern in ["a?", "\\w+", "(?:abc)*", "abc|.", "", "^$", "[a-z]{3}", "ΣA"] {
            assert_eq!(of(pattern, false), None, "{pattern}");
        }
    }
}
