//! One detection item, `Field|mod1|mod2: value(s)`, to an IR expression.
//!
//! Modifiers apply left to right, value by value, as the Sigma specification and pySigma have
//! it. Transformations (`contains`, `windash`, `base64offset`, ...) turn each value into one
//! or more alternatives; type modifiers (`re`, `cidr`, `lt`, `exists`, `fieldref`, ...) decide
//! the test; `all` and `neq` act on the whole list.

use crate::strings;
use base64::Engine as _;
use harrier_ir::{CompareOp, Expr, FieldRefMode, Pattern, Predicate, Test, TimePart, Token};
use std::collections::HashMap;
use yaml_serde::Value as Yaml;

/// What an item needs from its rule's surroundings.
pub(crate) struct ItemContext<'a> {
    /// Values for `expand` placeholders (`%DomainControllers%`), by name without `%`.
    pub placeholders: &'a HashMap<String, Vec<String>>,
    /// Things the rule can run with, but which the user should know.
    pub warnings: &'a mut Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Modifier {
    Contains,
    StartsWith,
    EndsWith,
    All,
    Base64,
    Base64Offset,
    Utf16Le,
    Utf16Be,
    Utf16,
    Windash,
    Re,
    IgnoreCase,
    MultiLine,
    DotAll,
    Cidr,
    Compare(CompareOp),
    Exists,
    FieldRef,
    Expand,
    Cased,
    Neq,
    Part(TimePart),
}

fn modifier(name: &str) -> Result<Modifier, String> {
    Ok(match name {
        "contains" => Modifier::Contains,
        "startswith" => Modifier::StartsWith,
        "endswith" => Modifier::EndsWith,
        "all" => Modifier::All,
        "base64" => Modifier::Base64,
        "base64offset" => Modifier::Base64Offset,
        "wide" | "utf16le" => Modifier::Utf16Le,
        "utf16be" => Modifier::Utf16Be,
        "utf16" => Modifier::Utf16,
        "windash" => Modifier::Windash,
        "re" => Modifier::Re,
        "i" | "ignorecase" => Modifier::IgnoreCase,
        "m" | "multiline" => Modifier::MultiLine,
        "s" | "dotall" => Modifier::DotAll,
        "cidr" => Modifier::Cidr,
        "lt" => Modifier::Compare(CompareOp::Lt),
        "lte" => Modifier::Compare(CompareOp::Lte),
        "gt" => Modifier::Compare(CompareOp::Gt),
        "gte" => Modifier::Compare(CompareOp::Gte),
        "exists" => Modifier::Exists,
        "fieldref" => Modifier::FieldRef,
        "expand" => Modifier::Expand,
        "cased" => Modifier::Cased,
        "neq" => Modifier::Neq,
        "minute" => Modifier::Part(TimePart::Minute),
        "hour" => Modifier::Part(TimePart::Hour),
        "day" => Modifier::Part(TimePart::Day),
        "week" => Modifier::Part(TimePart::Week),
        "month" => Modifier::Part(TimePart::Month),
        "year" => Modifier::Part(TimePart::Year),
        other => return Err(format!("unknown modifier `{other}`")),
    })
}

/// `Field|mods: value or list` (a map entry of a search identifier) as one expression.
/// An empty field name (`'|all': [...]`) is a keyword search.
pub(crate) fn item(key: &str, value: &Yaml, context: &mut ItemContext<'_>) -> Result<Expr, String> {
    let mut parts = key.split('|');
    let field = parts.next().unwrap_or_default().trim();
    let field = (!field.is_empty()).then(|| field.to_owned());
    let modifiers = parts.map(|name| modifier(&name.to_ascii_lowercase())).collect::<Result<Vec<_>, _>>()?;
    validate_chain(&modifiers)?;
    let values: Vec<&Yaml> = match value {
        Yaml::Sequence(items) => items.iter().collect(),
        single => vec![single],
    };
    if values.is_empty() {
        // pySigma reads `field: []` as "field is null".
        return Ok(Expr::Pred(Predicate { field, test: Test::IsNull }));
    }
    if modifiers.contains(&Modifier::All) && values.len() == 1 && !matches!(value, Yaml::Sequence(_)) {
        return Err("`all` needs a list of values".into());
    }
    let mut alternatives = Vec::with_capacity(values.len());
    for value in values {
        let tests = value_tests(value, &modifiers, field.is_none(), context)?;
        let exprs = tests.into_iter().map(|test| Expr::Pred(Predicate { field: field.clone(), test })).collect();
        alternatives.push(Expr::or(exprs));
    }
    let combined = if modifiers.contains(&Modifier::All) { Expr::and(alternatives) } else { Expr::or(alternatives) };
    Ok(if modifiers.contains(&Modifier::Neq) { Expr::not(combined) } else { combined })
}

/// The chaining rules pySigma enforces.
fn validate_chain(modifiers: &[Modifier]) -> Result<(), String> {
    for (index, modifier) in modifiers.iter().enumerate() {
        let must_be_first = matches!(modifier, Modifier::Re | Modifier::Cidr | Modifier::Exists);
        if must_be_first && index > 0 {
            return Err(format!("`{}` must be the first modifier", name_of(*modifier)));
        }
        if matches!(modifier, Modifier::IgnoreCase | Modifier::MultiLine | Modifier::DotAll)
            && !modifiers.contains(&Modifier::Re)
        {
            return Err("regular expression flags (i, m, s) need `re`".into());
        }
    }
    if modifiers.contains(&Modifier::Exists) && modifiers.len() > 1 {
        return Err("`exists` takes no other modifiers".into());
    }
    Ok(())
}

fn name_of(modifier: Modifier) -> &'static str {
    match modifier {
        Modifier::Re => "re",
        Modifier::Cidr => "cidr",
        _ => "exists",
    }
}

/// What a value is while modifiers transform it.
enum Stage {
    /// Alternatives, each a pattern (wildcards parsed).
    Text(Vec<Pattern>),
    /// Encoded bytes (after `wide`/`utf16*`), waiting for `base64`.
    Bytes(Vec<Vec<u8>>),
    /// Regular expressions, as written.
    Regex(Vec<String>),
}

fn value_tests(
    value: &Yaml,
    modifiers: &[Modifier],
    keyword: bool,
    context: &mut ItemContext<'_>,
) -> Result<Vec<Test>, String> {
    if let Some(test) = typed_test(value, modifiers)? {
        return Ok(vec![test]);
    }
    let text = scalar_text(value)?;
    let Some(text) = text else {
        return if modifiers.is_empty() { Ok(vec![Test::IsNull]) } else { Err("null cannot take modifiers".into()) };
    };
    let mut stage = if modifiers.first() == Some(&Modifier::Re) {
        Stage::Regex(vec![text.clone()])
    } else if matches!(value, Yaml::String(_)) {
        Stage::Text(vec![strings::parse(&text)])
    } else {
        Stage::Text(vec![Pattern::literal(text.clone())])
    };
    let mut flags = RegexFlags::default();
    let mut cased = false;
    for modifier in modifiers {
        stage = match (*modifier, stage) {
            (Modifier::Contains, Stage::Text(patterns)) => {
                Stage::Text(patterns.into_iter().map(Pattern::contained).collect())
            }
            (Modifier::StartsWith, Stage::Text(patterns)) => {
                Stage::Text(patterns.into_iter().map(Pattern::prefixed).collect())
            }
            (Modifier::EndsWith, Stage::Text(patterns)) => {
                Stage::Text(patterns.into_iter().map(Pattern::suffixed).collect())
            }
            (Modifier::Contains | Modifier::StartsWith | Modifier::EndsWith, Stage::Regex(regexes)) => {
                Stage::Regex(regexes.into_iter().map(|regex| unanchor(regex, *modifier)).collect())
            }
            (Modifier::Utf16Le | Modifier::Utf16Be | Modifier::Utf16, Stage::Text(patterns)) => {
                Stage::Bytes(patterns.iter().map(|pattern| encode_utf16(pattern, *modifier)).collect::<Result<_, _>>()?)
            }
            (Modifier::Base64 | Modifier::Base64Offset, stage) => Stage::Text(base64_alternatives(stage, *modifier)?),
            (Modifier::Windash, Stage::Text(patterns)) => {
                let variants = patterns.iter().map(windash).collect::<Result<Vec<_>, _>>()?;
                Stage::Text(variants.into_iter().flatten().collect())
            }
            (Modifier::Expand, Stage::Text(patterns)) => {
                Stage::Text(patterns.iter().flat_map(|pattern| expand(pattern, context)).collect())
            }
            (Modifier::Re, stage) => stage,
            (Modifier::IgnoreCase, stage) => {
                flags.ignore_case = true;
                stage
            }
            (Modifier::MultiLine, stage) => {
                flags.multi_line = true;
                stage
            }
            (Modifier::DotAll, stage) => {
                flags.dot_all = true;
                stage
            }
            (Modifier::Cased, stage) => {
                cased = true;
                stage
            }
            (Modifier::All | Modifier::Neq, stage) => stage,
            (other, _) => {
                return Err(format!("modifier `{other:?}` cannot apply here").to_lowercase());
            }
        };
    }
    Ok(match stage {
        Stage::Text(patterns) => patterns
            .into_iter()
            .map(|pattern| Test::Matches { pattern: keyword_contains(pattern, keyword), cased })
            .collect(),
        Stage::Regex(regexes) => regexes
            .into_iter()
            .map(|pattern| Test::Regex {
                pattern,
                ignore_case: flags.ignore_case,
                multi_line: flags.multi_line,
                dot_all: flags.dot_all,
            })
            .collect(),
        Stage::Bytes(_) => {
            return Err("`wide`/`utf16` must be followed by `base64` or `base64offset`".into());
        }
    })
}

/// A keyword without wildcards is searched for inside values, as SigmaHQ writes keywords
/// (`'sekurlsa::'`) and as full-text backends treat them.
fn keyword_contains(pattern: Pattern, keyword: bool) -> Pattern {
    if keyword && !pattern.has_wildcards() { pattern.contained() } else { pattern }
}

#[derive(Default)]
struct RegexFlags {
    ignore_case: bool,
    multi_line: bool,
    dot_all: bool,
}

/// Modifiers that make the whole test: `exists`, `cidr`, comparisons, time parts, `fieldref`.
fn typed_test(value: &Yaml, modifiers: &[Modifier]) -> Result<Option<Test>, String> {
    let part = modifiers.iter().find_map(|modifier| match modifier {
        Modifier::Part(part) => Some(*part),
        _ => None,
    });
    let compare = modifiers.iter().find_map(|modifier| match modifier {
        Modifier::Compare(op) => Some(*op),
        _ => None,
    });
    Ok(Some(match (modifiers.first(), part, compare) {
        (Some(Modifier::Exists), _, _) => match value {
            Yaml::Bool(present) => Test::Exists(*present),
            _ => return Err("`exists` needs true or false".into()),
        },
        (Some(Modifier::Cidr), _, _) => {
            let text = scalar_text(value)?.unwrap_or_default();
            Test::Cidr(text.parse().map_err(|_| format!("`{text}` is not a network (CIDR)"))?)
        }
        (_, Some(part), op) => {
            if modifiers.iter().position(|m| matches!(m, Modifier::Compare(_)))
                < modifiers.iter().position(|m| matches!(m, Modifier::Part(_)))
                && op.is_some()
            {
                return Err("a time part (hour, day, ...) must come before the comparison".into());
            }
            Test::TimePart { part, op: op.unwrap_or(CompareOp::Eq), value: number(value)? as i64 }
        }
        (_, None, Some(op)) => Test::Compare { op, value: number(value)? },
        _ if modifiers.contains(&Modifier::FieldRef) => {
            let other = scalar_text(value)?.ok_or("`fieldref` needs a field name")?;
            if other.contains(['*', '?']) {
                return Err("`fieldref` takes no wildcards".into());
            }
            let mode = modifiers.iter().find_map(|modifier| match modifier {
                Modifier::Contains => Some(FieldRefMode::Contains),
                Modifier::StartsWith => Some(FieldRefMode::StartsWith),
                Modifier::EndsWith => Some(FieldRefMode::EndsWith),
                _ => None,
            });
            Test::FieldRef { other, mode: mode.unwrap_or(FieldRefMode::Equals) }
        }
        _ => return Ok(None),
    }))
}

fn number(value: &Yaml) -> Result<f64, String> {
    match value {
        Yaml::Number(number) => number.as_f64().ok_or_else(|| "not a number".to_owned()),
        Yaml::String(text) => text.trim().parse().map_err(|_| format!("`{text}` is not a number")),
        _ => Err("a comparison needs a number".into()),
    }
}

/// The text of a scalar; `None` for null.
fn scalar_text(value: &Yaml) -> Result<Option<String>, String> {
    Ok(Some(match value {
        Yaml::Null => return Ok(None),
        Yaml::Bool(flag) => flag.to_string(),
        Yaml::Number(number) => number.to_string(),
        Yaml::String(text) => text.clone(),
        Yaml::Sequence(_) => return Err("a list inside a list of values".into()),
        Yaml::Mapping(_) => return Err("a map where a value belongs".into()),
        Yaml::Tagged(tagged) => return scalar_text(&tagged.value),
    }))
}

/// `re|contains`: a regex is searched anywhere in the value anyway (unless anchored), so the
/// modifier drops the anchor on its side, as pySigma's `.*` prefix does.
fn unanchor(regex: String, modifier: Modifier) -> String {
    match modifier {
        Modifier::Contains => unanchor(unanchor(regex, Modifier::StartsWith), Modifier::EndsWith),
        Modifier::StartsWith => match regex.strip_suffix('$') {
            Some(rest) if !rest.ends_with('\\') => rest.to_owned(),
            _ => regex,
        },
        _ => regex.strip_prefix('^').map(str::to_owned).unwrap_or(regex),
    }
}

fn encode_utf16(pattern: &Pattern, modifier: Modifier) -> Result<Vec<u8>, String> {
    let text = pattern.as_literal().ok_or("`wide`/`utf16` cannot encode wildcards")?;
    let units = text.encode_utf16();
    Ok(match modifier {
        Modifier::Utf16Be => units.flat_map(u16::to_be_bytes).collect(),
        Modifier::Utf16 => [0xFF, 0xFE].into_iter().chain(units.flat_map(u16::to_le_bytes)).collect(),
        _ => units.flat_map(u16::to_le_bytes).collect(),
    })
}

fn base64_alternatives(stage: Stage, modifier: Modifier) -> Result<Vec<Pattern>, String> {
    let inputs: Vec<Vec<u8>> = match stage {
        Stage::Bytes(bytes) => bytes,
        Stage::Text(patterns) => patterns
            .iter()
            .map(|pattern| pattern.as_literal().map(|text| text.as_bytes().to_vec()))
            .collect::<Option<_>>()
            .ok_or("base64 cannot encode wildcards (put `contains` after `base64`)")?,
        Stage::Regex(_) => return Err("base64 cannot encode a regular expression".into()),
    };
    let engine = base64::engine::general_purpose::STANDARD;
    Ok(inputs
        .iter()
        .flat_map(|bytes| match modifier {
            Modifier::Base64 => vec![engine.encode(bytes)],
            _ => base64_offsets(bytes),
        })
        .map(Pattern::literal)
        .collect())
}

/// The three base64 forms of `value` at byte offsets 0, 1 and 2 of a longer text, cut to the
/// characters that do not depend on the neighbouring bytes (pySigma's `base64offset`).
fn base64_offsets(value: &[u8]) -> Vec<String> {
    let engine = base64::engine::general_purpose::STANDARD;
    let starts = [0usize, 2, 3];
    let ends: [Option<usize>; 3] = [None, Some(3), Some(2)];
    (0..3)
        .map(|shift| {
            let mut padded = vec![b' '; shift];
            padded.extend_from_slice(value);
            let encoded = engine.encode(&padded);
            let end = match ends[(value.len() + shift) % 3] {
                Some(cut) => encoded.len().saturating_sub(cut),
                None => encoded.len(),
            };
            encoded.get(starts[shift]..end).unwrap_or_default().to_owned()
        })
        .collect()
}

const DASHES: [char; 5] = ['-', '/', '\u{2013}', '\u{2014}', '\u{2015}'];

/// Every `-` or `/` that starts an option (`\B[-/]\b`) in each of the five dash forms.
fn windash(pattern: &Pattern) -> Result<Vec<Pattern>, String> {
    let options = option_dashes(pattern);
    if options > MAX_WINDASH_OPTIONS {
        return Err(format!(
            "`windash` on a value with {options} option dashes would make {} variants; at most \
             {MAX_WINDASH_OPTIONS} option dashes ({} variants) per value",
            if options < 28 { (DASHES.len() as u128).pow(options as u32).to_string() } else { "too many".to_owned() },
            DASHES.len().pow(MAX_WINDASH_OPTIONS as u32)
        ));
    }
    let mut variants = vec![Pattern::default()];
    for token in pattern.tokens() {
        let Token::Literal(text) = token else {
            variants.iter_mut().for_each(|variant| variant.push(token.clone()));
            continue;
        };
        let chars: Vec<char> = text.chars().collect();
        let mut pieces: Vec<Vec<String>> = vec![vec![String::new()]];
        for (index, &c) in chars.iter().enumerate() {
            if option_start(&chars, index) {
                pieces.push(DASHES.iter().map(char::to_string).collect());
                pieces.push(vec![String::new()]);
            } else if let Some(last) = pieces.last_mut() {
                last[0].push(c);
            }
        }
        let mut expanded = Vec::new();
        for variant in &variants {
            for text in combinations(&pieces) {
                let mut next = variant.clone();
                next.push_literal(&text);
                expanded.push(next);
            }
        }
        variants = expanded;
    }
    Ok(variants)
}

/// Most option dashes `windash` expands in one value: each makes the variants five times as
/// many (SigmaHQ's values have at most three).
const MAX_WINDASH_OPTIONS: usize = 5;

/// Whether the character at `index` starts a command-line option: a `-` or `/` after a
/// non-word character (or at the start) and before a word character.
fn option_start(chars: &[char], index: usize) -> bool {
    matches!(chars[index], '-' | '/')
        && index.checked_sub(1).is_none_or(|before| !is_word(chars[before]))
        && chars.get(index + 1).is_some_and(|&after| is_word(after))
}

/// The option dashes of a pattern's literals.
fn option_dashes(pattern: &Pattern) -> usize {
    let literals = pattern.tokens().iter().filter_map(|token| match token {
        Token::Literal(text) => Some(text.chars().collect::<Vec<char>>()),
        _ => None,
    });
    literals.map(|chars| (0..chars.len()).filter(|&index| option_start(&chars, index)).count()).sum()
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Every string made by choosing one option from each piece, in order.
fn combinations(pieces: &[Vec<String>]) -> Vec<String> {
    pieces.iter().fold(vec![String::new()], |prefixes, options| {
        prefixes.iter().flat_map(|prefix| options.iter().map(move |option| format!("{prefix}{option}"))).collect()
    })
}

/// `%name%` placeholders replaced by their values; an undefined one matches anything (as
/// pySigma's `wildcard_placeholders`), with a warning.
fn expand(pattern: &Pattern, context: &mut ItemContext<'_>) -> Vec<Pattern> {
    let mut variants = vec![Pattern::default()];
    for token in pattern.tokens() {
        let Token::Literal(text) = token else {
            variants.iter_mut().for_each(|variant| variant.push(token.clone()));
            continue;
        };
        let mut rest = text.as_str();
        while let Some(start) = rest.find('%') {
            let before = &rest[..start];
            variants.iter_mut().for_each(|variant| variant.push_literal(before));
            let after = &rest[start + 1..];
            let name = after
                .find('%')
                .map(|end| &after[..end])
                .filter(|name| !name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '-'));
            match name {
                Some(name) => {
                    variants = substitute(variants, name, context);
                    rest = &after[name.len() + 1..];
                }
                None => {
                    variants.iter_mut().for_each(|variant| variant.push_literal("%"));
                    rest = after;
                }
            }
        }
        variants.iter_mut().for_each(|variant| variant.push_literal(rest));
    }
    variants
}

/// Each variant once per value of the placeholder (its values may hold wildcards).
fn substitute(variants: Vec<Pattern>, name: &str, context: &mut ItemContext<'_>) -> Vec<Pattern> {
    let Some(values) = context.placeholders.get(name) else {
        context.warnings.push(format!("placeholder %{name}% is not defined (--vars): it matches any value"));
        return variants.into_iter().map(|variant| variant.prefixed()).collect();
    };
    variants
        .iter()
        .flat_map(|variant| {
            values.iter().map(move |value| {
                let mut next = variant.clone();
                strings::parse(value).tokens().iter().for_each(|token| next.push(token.clone()));
                next
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(text: &str) -> Yaml {
        yaml_serde::from_str(text).unwrap()
    }

    fn compile(key: &str, value: &str) -> Result<Expr, String> {
        let placeholders = HashMap::from([("Admins".to_owned(), vec!["root".to_owned(), "adm_*".to_owned()])]);
        let mut warnings = Vec::new();
        item(key, &yaml(value), &mut ItemContext { placeholders: &placeholders, warnings: &mut warnings })
    }

    fn patterns(expr: &Expr) -> Vec<String> {
        expr.predicates()
            .iter()
            .map(|predicate| match &predicate.test {
                Test::Matches { pattern, .. } => pattern.to_string(),
                other => format!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn string_transformations() {
        assert_eq!(patterns(&compile("Image|endswith", "'\\cmd.exe'").unwrap()), ["*\\\\cmd.exe"]);
        assert_eq!(patterns(&compile("Image|startswith", "'C:\\Temp\\'").unwrap()), ["C:\\\\Temp\\\\*"]);
        assert_eq!(patterns(&compile("CommandLine|contains|all", "['a', 'b']").unwrap()), ["*a*", "*b*"]);
        assert!(matches!(compile("CommandLine|contains|all", "['a', 'b']").unwrap(), Expr::And(_)));
        assert!(matches!(compile("CommandLine|contains", "['a', 'b']").unwrap(), Expr::Or(_)));
    }

    #[test]
    fn base64_family_matches_pysigma() {
        assert_eq!(patterns(&compile("F|base64", "'abc'").unwrap()), ["YWJj"]);
        assert_eq!(patterns(&compile("F|base64offset|contains", "'http'").unwrap()), ["*aHR0c*", "*h0dH*", "*odHRw*"]);
        assert_eq!(
            patterns(&compile("F|wide|base64offset", "'ping'").unwrap()),
            ["cABpAG4AZw", "AAaQBuAGcA", "wAGkAbgBnA"]
        );
        // The spec's byte order mark (FF FE), not pySigma's UTF-8 one.
        assert_eq!(patterns(&compile("F|utf16|base64", "'ping'").unwrap()), ["//5wAGkAbgBnAA=="]);
        assert_eq!(patterns(&compile("F|utf16be|base64", "'a'").unwrap()), ["AGE="]);
        assert!(compile("F|contains|base64", "'abc'").unwrap_err().contains("wildcards"));
        assert!(compile("F|base64", "'a*'").is_err());
        assert!(compile("F|wide", "'a'").is_err());
    }

    #[test]
    fn windash_expands_option_dashes_only() {
        let variants = patterns(&compile("CommandLine|windash|contains", "' -enc '").unwrap());
        assert_eq!(variants.len(), 5);
        assert!(variants.contains(&"* \u{2015}enc *".to_owned()));
        assert_eq!(patterns(&compile("CommandLine|windash", "'-a /b --c'").unwrap()).len(), 125);
        let double = patterns(&compile("CommandLine|windash", "'--c'").unwrap());
        assert!(double.contains(&"-/c".to_owned()) && !double.contains(&"/-c".to_owned()));
        assert_eq!(patterns(&compile("CommandLine|windash", "'a-b'").unwrap()), ["a-b"]);
    }

    #[test]
    fn typed_modifiers() {
        let cidr = compile("DestinationIp|cidr", "['10.0.0.0/8', 'fe80::/10']").unwrap();
        assert_eq!(cidr.predicates().len(), 2);
        assert!(compile("DestinationIp|cidr", "'not-a-net'").is_err());
        assert!(matches!(
            compile("Count|gte", "5").unwrap(),
            Expr::Pred(Predicate { test: Test::Compare { op: CompareOp::Gte, .. }, .. })
        ));
        assert!(matches!(
            compile("T|hour|gte", "20").unwrap(),
            Expr::Pred(Predicate { test: Test::TimePart { part: TimePart::Hour, op: CompareOp::Gte, value: 20 }, .. })
        ));
        assert!(compile("T|gte|hour", "20").is_err());
        assert!(matches!(
            compile("F|exists", "false").unwrap(),
            Expr::Pred(Predicate { test: Test::Exists(false), .. })
        ));
        assert!(compile("F|exists", "'yes'").is_err());
        assert!(compile("F|contains|exists", "true").is_err());
        assert!(compile("F|contains|re", "'a'").is_err());
        assert!(compile("F|i", "'a'").is_err());
        assert!(compile("F|bogus", "'a'").unwrap_err().contains("unknown modifier"));
        let fieldref = compile("ParentUser|fieldref|endswith", "'User'").unwrap();
        assert!(matches!(
            fieldref,
            Expr::Pred(Predicate { test: Test::FieldRef { mode: FieldRefMode::EndsWith, .. }, .. })
        ));
        assert!(compile("A|fieldref", "'B*'").is_err());
    }

    #[test]
    fn regex_flags_and_unanchoring() {
        let Expr::Pred(Predicate { test: Test::Regex { pattern, ignore_case, .. }, .. }) =
            compile("F|re|i", "'^a.*b$'").unwrap()
        else {
            panic!()
        };
        assert!(ignore_case);
        assert_eq!(pattern, "^a.*b$");
        let Expr::Pred(Predicate { test: Test::Regex { pattern, .. }, .. }) =
            compile("F|re|contains", "'^a$'").unwrap()
        else {
            panic!()
        };
        assert_eq!(pattern, "a");
    }

    #[test]
    fn lists_nulls_neq_and_cased() {
        assert!(matches!(compile("F", "null").unwrap(), Expr::Pred(Predicate { test: Test::IsNull, .. })));
        assert!(matches!(compile("F", "[]").unwrap(), Expr::Pred(Predicate { test: Test::IsNull, .. })));
        assert!(matches!(compile("User|neq", "[x, y]").unwrap(), Expr::Not(_)));
        assert!(matches!(
            compile("F|cased", "'A'").unwrap(),
            Expr::Pred(Predicate { test: Test::Matches { cased: true, .. }, .. })
        ));
        assert_eq!(patterns(&compile("EventID", "4624").unwrap()), ["4624"]);
        assert!(compile("F|all", "'a'").is_err(), "all on one value");
    }

    #[test]
    fn keywords_are_contained_unless_wildcarded() {
        assert_eq!(patterns(&compile("", "'sekurlsa::'").unwrap()), ["*sekurlsa::*"]);
        assert_eq!(patterns(&compile("|all", "['a', 'b*']").unwrap()), ["*a*", "b*"]);
    }

    #[test]
    fn placeholders_expand_or_match_anything() {
        assert_eq!(patterns(&compile("User|expand", "'%Admins%'").unwrap()), ["root", "adm_*"]);
        assert_eq!(patterns(&compile("Computer|expand", "'%DomainControllers%'").unwrap()), ["*"]);
        assert_eq!(patterns(&compile("F|expand", "'100%'").unwrap()), ["100%"]);
    }
}
