//! Rule IR to matchers.

use harrier_ir::{CompareOp, Expr, FieldRefMode, Pattern, Predicate, Test, TimePart, Token};
use memchr::memmem;
use regex_automata::hybrid::dfa::{self as lazy_dfa, DFA};
use regex_automata::nfa::thompson::{self, WhichCaptures, pikevm::PikeVM};
use regex_automata::util::{pool::Pool, prefilter::Prefilter};
use regex_automata::{Input, MatchKind};
use rustc_hash::FxHashMap;
use std::collections::hash_map::Entry;
use std::fmt;
use std::sync::{Arc, OnceLock};

/// Why a rule cannot run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileError(pub String);

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CompileError {}

/// The field names rules test, each given a slot number; names are kept lower-cased since
/// Sigma field names ignore case.
#[derive(Default)]
pub(crate) struct FieldTable {
    /// By name, as bytes: see [`FieldTable::key`].
    ids: FxHashMap<Box<[u8]>, u32>,
    /// Field names as written (SPL) rather than ignoring case (Sigma).
    pub(crate) exact_names: bool,
    /// Whether a rule names a field by a dotted path (`Event.System.EventID`): only then are
    /// events' paths worth looking up, since a path always has a dot.
    pub(crate) has_dotted: bool,
}

/// Longest field name lower-cased without an allocation (see [`FieldTable::key`]).
const SHORT_NAME_BYTES: usize = 64;

impl FieldTable {
    fn id(&mut self, name: &str) -> u32 {
        self.has_dotted |= name.contains('.');
        let mut room = [0; SHORT_NAME_BYTES];
        let key = self.key(name, &mut room);
        if let Some(&id) = self.ids.get(&*key) {
            return id;
        }
        let next = self.ids.len() as u32;
        self.ids.insert(key.into(), next);
        next
    }

    /// The slot of a field name as a rule writes it, if a rule compiled so far tests it.
    pub(crate) fn slot(&self, name: &str) -> Option<u32> {
        self.ids.get(&*self.key(name, &mut [0; SHORT_NAME_BYTES])).copied()
    }

    /// The name as the table keeps it: lower-cased unless names are exact, in `room` when it is
    /// short and ASCII (as field names nearly all are), as bytes that need no check that they
    /// are UTF-8: SigmaHQ names fields some 175,000 times, each compiled and then looked up
    /// for its witnesses, and a new `String` for each was half of compiling its conditions.
    fn key<'k>(&self, name: &'k str, room: &'k mut [u8; SHORT_NAME_BYTES]) -> std::borrow::Cow<'k, [u8]> {
        use std::borrow::Cow;
        if self.exact_names {
            return Cow::Borrowed(name.as_bytes());
        }
        match room.get_mut(..name.len()) {
            Some(short) if name.is_ascii() => {
                short.copy_from_slice(name.as_bytes());
                short.make_ascii_lowercase();
                Cow::Borrowed(short)
            }
            _ => Cow::Owned(name.to_lowercase().into_bytes()),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.ids.len()
    }
}

pub(crate) enum Node {
    // Boxed slices, not vectors: no spare capacity, and a smaller node.
    And(Box<[Node]>),
    Or(Box<[Node]>),
    Not(Box<Node>),
    Const(bool),
    Test { target: Target, matcher: Matcher },
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Target {
    Field(u32),
    /// Every value of the event (keyword search).
    AnyValue,
}

pub(crate) enum Matcher {
    /// True when any of the patterns matches.
    Text {
        texts: Box<[TextMatcher]>,
        cased: bool,
    },
    Regex(Arc<LazyRegex>),
    Cidr(ipnet::IpNet),
    Compare(CompareOp, f64),
    Exists(bool),
    IsNull,
    FieldRef {
        other: u32,
        mode: FieldRefMode,
    },
    TimePart {
        part: TimePart,
        op: CompareOp,
        value: i64,
    },
}

/// A string pattern in the cheapest form that tests it.
pub(crate) enum TextMatcher {
    Any,
    Exact(Box<str>),
    Prefix(Box<str>),
    Suffix(Box<str>),
    Contains(Box<LazyFinder>),
    /// `*` between literals: the literals in order, the first and last anchored.
    Glob(Box<Glob>),
    /// A pattern with `?`.
    Wildcard(Arc<LazyRegex>),
}

/// A substring searcher built when a rule first tests a value with it: a searcher takes
/// some 300 bytes, SigmaHQ has some 50,000 `contains` values, and a hunt reaches few of them.
pub(crate) struct LazyFinder {
    needle: Box<str>,
    finder: OnceLock<Box<memmem::Finder<'static>>>,
}

impl LazyFinder {
    fn new(needle: String) -> LazyFinder {
        LazyFinder { needle: needle.into_boxed_str(), finder: OnceLock::new() }
    }

    /// Where the needle first occurs in `text`.
    fn find(&self, text: &[u8]) -> Option<usize> {
        let finder = self.finder.get_or_init(|| Box::new(memmem::Finder::new(self.needle.as_bytes()).into_owned()));
        finder.find(text)
    }
}

/// A wildcard pattern without `?`: `head*middle*...*tail`. Taking each middle literal at its
/// leftmost place after the one before is exact for `*` alone, and needs no regex.
pub(crate) struct Glob {
    head: String,
    middles: Vec<LazyFinder>,
    tail: String,
}

impl Glob {
    /// `None` unless the tokens are literals and runs only, with a run somewhere.
    fn new(tokens: &[Token], fold: impl Fn(&str) -> String) -> Option<Glob> {
        let literal = |token: Option<&Token>| match token {
            Some(Token::Literal(text)) => Some(fold(text)),
            _ => None,
        };
        if tokens.iter().any(|token| matches!(token, Token::AnyChar)) || !tokens.contains(&Token::AnyRun) {
            return None;
        }
        let head = literal(tokens.first()).unwrap_or_default();
        let tail = literal(tokens.last()).unwrap_or_default();
        let inner = &tokens[usize::from(!head.is_empty())..tokens.len() - usize::from(!tail.is_empty())];
        let middles = inner.iter().filter_map(|token| literal(Some(token))).map(LazyFinder::new).collect();
        Some(Glob { head, middles, tail })
    }

    fn is_match(&self, text: &str) -> bool {
        // The tail is taken from what follows the head, so the two never overlap.
        let Some(rest) = text.strip_prefix(self.head.as_str()) else { return false };
        let Some(mut rest) = rest.strip_suffix(self.tail.as_str()).map(str::as_bytes) else { return false };
        for finder in &self.middles {
            match finder.find(rest) {
                Some(at) => rest = &rest[at + finder.needle.len()..],
                None => return false,
            }
        }
        true
    }
}

/// A regular expression checked when the rule compiles and built when an event first needs
/// it: building the automata of SigmaHQ's patterns costs more than reading the rules, and a
/// hunt reaches few of them. A pattern whose estimated size could come near the size limit
/// is built at once, so that a rule that cannot run says so when it loads.
///
/// ASCII texts, nearly all of a log's, are searched by the pattern built with ASCII classes
/// (see [`RegexFlags::parse_ascii`]): on ASCII text it matches where the Unicode one does, and
/// its automaton is a fraction of the size. The lazy DFA of a Unicode `\w{1,64}` fills its
/// cache and gives up for the Pike VM on every command line: SigmaHQ's `-k\s\w{1,64}` took
/// 44,000 cycles a test on a `svchost.exe` command line. (`.{1000,}` is as slow either way
/// on a text of 1,000 bytes or more, its states being the run's lengths; a shorter text is
/// told no by its length, see [`Searcher`].)
pub(crate) struct LazyRegex {
    pattern: String,
    flags: RegexFlags,
    /// The pattern as written, for texts past ASCII (and for all texts if `ascii` is `None`).
    built: OnceLock<Option<Searcher>>,
    /// The pattern with ASCII classes, `None` when it has none (`\pL`, a character past ASCII).
    ascii: OnceLock<Option<Searcher>>,
    /// Literals one of which every match holds (see [`harrier_ir::required`]).
    literals: Option<Vec<String>>,
    /// The same literals when none holds a letter, so that they are in a text as they are in
    /// its lower-cased form: a text holding none of them (one `memchr` pass) is not searched.
    /// SigmaHQ's regexes of obfuscated commands (a backquote, `"{`, `${`) test every
    /// command line, and few hold those.
    caseless_literals: Option<Box<[LazyFinder]>>,
}

/// The regex crate's limit on a compiled pattern's size (its default, kept).
const REGEX_SIZE_LIMIT: usize = 10 << 20;

/// The estimated size (see [`estimated_size`]) past which a pattern is built at once: a
/// quarter of [`REGEX_SIZE_LIMIT`].
const LAZY_SIZE_LIMIT: u64 = REGEX_SIZE_LIMIT as u64 >> 2;

impl LazyRegex {
    fn new(pattern: &str, flags: RegexFlags) -> Result<LazyRegex, String> {
        let hir = flags.parse(pattern)?;
        let built = OnceLock::new();
        if estimated_size(&hir) > LAZY_SIZE_LIMIT {
            let _ = built.set(Some(Searcher::build(&hir)?));
        }
        let literals = harrier_ir::required::literals(&hir);
        let caseless = |literal: &String| literal.bytes().all(|byte| byte.is_ascii() && !byte.is_ascii_alphabetic());
        let caseless_literals = literals
            .as_ref()
            .filter(|literals| literals.iter().all(caseless))
            .map(|literals| literals.iter().cloned().map(LazyFinder::new).collect());
        Ok(LazyRegex { pattern: pattern.to_owned(), flags, built, ascii: OnceLock::new(), literals, caseless_literals })
    }

    pub(crate) fn is_match(&self, text: &str) -> bool {
        if let Some(literals) = &self.caseless_literals
            && !literals.iter().any(|literal| literal.find(text.as_bytes()).is_some())
        {
            return false;
        }
        if text.is_ascii()
            && let Some(ascii) = self
                .ascii
                .get_or_init(|| self.flags.parse_ascii(&self.pattern).and_then(|hir| Searcher::build(&hir)).ok())
        {
            return ascii.is_match(text);
        }
        // A pattern that parsed and is well within the size limit builds; were it ever not
        // to, it matches nothing rather than stopping the hunt.
        let unicode = || self.flags.parse(&self.pattern).and_then(|hir| Searcher::build(&hir)).ok();
        self.built.get_or_init(unicode).as_ref().is_some_and(|searcher| searcher.is_match(text))
    }

    /// Whether a searcher of the pattern was built, for either kind of text.
    #[cfg(test)]
    fn is_built(&self) -> bool {
        self.built.get().is_some() || self.ascii.get().is_some_and(Option::is_some)
    }
}

/// Tells whether a pattern occurs in a text. That is all a test asks, and a forward search
/// answers it: the regex crate also builds a reverse automaton (to find where a match
/// starts) and capture states, three times the cost (SigmaHQ's `-k\s\w{1,64}`: 21 ms
/// against 7), and building the patterns a hunt of a few thousand events meets was a
/// tenth of it. The search is the regex crate's own: a lazy DFA led by a prefilter of the
/// pattern's prefixes, and the NFA simulation (the Pike VM) where the lazy DFA cannot go
/// (a Unicode word boundary beside a non-ASCII byte) or gives up.
struct Searcher {
    /// The fewest bytes a match spans: a shorter text holds none (`.{1000,}`, a 64-digit hash
    /// and more), told before any automaton runs.
    minimum_len: usize,
    /// `None` when the pattern is one the lazy DFA cannot take at all.
    dfa: Option<DFA>,
    pikevm: PikeVM,
    /// Each thread's scratch space for the two, made on first use.
    caches: Pool<Option<Caches>, fn() -> Option<Caches>>,
}

struct Caches {
    dfa: Option<lazy_dfa::Cache>,
    pikevm: thompson::pikevm::Cache,
}

impl Searcher {
    fn build(hir: &regex_syntax::hir::Hir) -> Result<Searcher, String> {
        let config = thompson::Config::new().which_captures(WhichCaptures::None).nfa_size_limit(Some(REGEX_SIZE_LIMIT));
        let nfa = thompson::Compiler::new().configure(config).build_from_hir(hir).map_err(|error| {
            match error.size_limit() {
                Some(limit) => format!("its compiled form exceeds the size limit of {limit} bytes"),
                None => error.to_string(),
            }
        })?;
        let prefilter = Prefilter::from_hir_prefix(MatchKind::LeftmostFirst, hir);
        // As the regex crate configures it: the lazy DFA gives up (for the Pike VM) when it
        // keeps clearing its cache for few bytes searched, as a crafted pattern and text can
        // make it do.
        let dfa_config = DFA::config()
            .prefilter(prefilter)
            .unicode_word_boundary(true)
            .minimum_cache_clear_count(Some(3))
            .minimum_bytes_per_state(Some(10));
        let dfa = DFA::builder().configure(dfa_config).build_from_nfa(nfa.clone()).ok();
        let pikevm = PikeVM::new_from_nfa(nfa).map_err(|error| error.to_string())?;
        let minimum_len = hir.properties().minimum_len().unwrap_or(usize::MAX);
        Ok(Searcher { minimum_len, dfa, pikevm, caches: Pool::new(|| None) })
    }

    fn is_match(&self, text: &str) -> bool {
        if text.len() < self.minimum_len {
            return false;
        }
        let input = Input::new(text).earliest(true);
        let mut caches = self.caches.get();
        let caches = caches.get_or_insert_with(|| Caches {
            dfa: self.dfa.as_ref().map(DFA::create_cache),
            pikevm: self.pikevm.create_cache(),
        });
        if let (Some(dfa), Some(cache)) = (&self.dfa, &mut caches.dfa)
            && let Ok(found) = dfa.try_search_fwd(cache, &input)
            // An empty match inside a character is not one (the Pike VM knows the rule).
            && found.is_none_or(|end| text.is_char_boundary(end.offset()))
        {
            return found.is_some();
        }
        self.pikevm.is_match(&mut caches.pikevm, input)
    }
}

/// An upper estimate of the bytes a pattern's compiled automaton takes: some 40 bytes per
/// class range (a case-insensitive Unicode `\w`, some 770 ranges, builds to about 35 KB) and
/// 16 per literal byte, repetitions multiplying. Parsing bounds the nesting, hence the
/// recursion.
fn estimated_size(hir: &regex_syntax::hir::Hir) -> u64 {
    use regex_syntax::hir::{Class, HirKind};
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => 1,
        HirKind::Literal(literal) => 16 * literal.0.len() as u64,
        HirKind::Class(Class::Unicode(class)) => 40 * class.ranges().len() as u64,
        HirKind::Class(Class::Bytes(class)) => 40 * class.ranges().len() as u64,
        HirKind::Repetition(repetition) => {
            let count = repetition.max.unwrap_or(repetition.min).max(1);
            u64::from(count).saturating_mul(estimated_size(&repetition.sub))
        }
        HirKind::Capture(capture) => estimated_size(&capture.sub),
        HirKind::Concat(items) | HirKind::Alternation(items) => {
            items.iter().map(estimated_size).fold(0, u64::saturating_add)
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
struct RegexFlags {
    ignore_case: bool,
    multi_line: bool,
    dot_all: bool,
}

impl RegexFlags {
    /// The pattern's syntax tree under these flags, or why it is not a regular expression.
    fn parse(self, pattern: &str) -> Result<regex_syntax::hir::Hir, String> {
        self.parser().build().parse(pattern).map_err(|error| error.to_string())
    }

    /// The pattern's syntax tree with ASCII classes and case folding (`\w`, `\s`, `.`, `[^a]`
    /// and `(?i)k` each take or leave the same ASCII characters as in Unicode, and nothing
    /// else an ASCII text holds), for ASCII texts alone; an error when the pattern needs
    /// Unicode to parse (`\pL`, a class of characters past ASCII).
    fn parse_ascii(self, pattern: &str) -> Result<regex_syntax::hir::Hir, String> {
        self.parser().unicode(false).utf8(false).build().parse(pattern).map_err(|error| error.to_string())
    }

    fn parser(self) -> regex_syntax::ParserBuilder {
        let mut parser = regex_syntax::ParserBuilder::new();
        parser.case_insensitive(self.ignore_case).multi_line(self.multi_line).dot_matches_new_line(self.dot_all);
        parser
    }
}

/// The regular expressions of one engine by pattern and flags: SigmaHQ repeats many, and
/// each is built once.
#[derive(Default, Clone)]
pub(crate) struct Regexes(FxHashMap<(String, RegexFlags), Arc<LazyRegex>>);

impl Regexes {
    /// The literals one of which every match of a regex test holds, if the test compiled.
    pub(crate) fn literals(&self, test: &Test) -> Option<&[String]> {
        let Test::Regex { pattern, ignore_case, multi_line, dot_all } = test else { return None };
        let flags = RegexFlags { ignore_case: *ignore_case, multi_line: *multi_line, dot_all: *dot_all };
        self.0.get(&(pattern.clone(), flags))?.literals.as_deref()
    }

    /// Whether the regex of this pattern (no flags) was built.
    #[cfg(test)]
    pub(crate) fn is_built(&self, pattern: &str) -> bool {
        self.0.get(&(pattern.to_owned(), RegexFlags::default())).is_some_and(|regex| regex.is_built())
    }

    fn get(&mut self, pattern: &str, flags: RegexFlags) -> Result<Arc<LazyRegex>, String> {
        match self.0.entry((pattern.to_owned(), flags)) {
            Entry::Occupied(shared) => Ok(shared.get().clone()),
            Entry::Vacant(slot) => Ok(slot.insert(Arc::new(LazyRegex::new(pattern, flags)?)).clone()),
        }
    }
}

impl TextMatcher {
    pub(crate) fn is_match(&self, text: &str) -> bool {
        match self {
            TextMatcher::Any => true,
            TextMatcher::Exact(expected) => text == &**expected,
            TextMatcher::Prefix(prefix) => text.starts_with(&**prefix),
            TextMatcher::Suffix(suffix) => text.ends_with(&**suffix),
            TextMatcher::Contains(finder) => finder.find(text.as_bytes()).is_some(),
            TextMatcher::Glob(glob) => glob.is_match(text),
            TextMatcher::Wildcard(regex) => regex.is_match(text),
        }
    }
}

/// What compiling the rules of one engine shares: the field slots and the regexes.
#[derive(Default)]
pub(crate) struct Compiler {
    pub(crate) fields: FieldTable,
    pub(crate) regexes: Regexes,
}

pub(crate) fn compile(expr: &Expr, compiler: &mut Compiler) -> Result<Node, CompileError> {
    Ok(match expr {
        Expr::And(items) => Node::And(items.iter().map(|item| compile(item, compiler)).collect::<Result<_, _>>()?),
        Expr::Or(items) => Node::Or(compile_or(items, compiler)?),
        Expr::Not(item) => Node::Not(Box::new(compile(item, compiler)?)),
        Expr::Const(value) => Node::Const(*value),
        Expr::Pred(predicate) => {
            Node::Test { target: target(predicate, compiler), matcher: matcher(&predicate.test, compiler)? }
        }
    })
}

fn target(predicate: &Predicate, compiler: &mut Compiler) -> Target {
    predicate.field.as_deref().map_or(Target::AnyValue, |field| Target::Field(compiler.fields.id(field)))
}

/// The alternatives of an `or`, its string tests of one field (or of any value) gathered into
/// one test of all their patterns: SigmaHQ lists up to hundreds of values for a field
/// (`Image|endswith`), and one test finds the field and its lower-cased text once for all.
fn compile_or(items: &[Expr], compiler: &mut Compiler) -> Result<Box<[Node]>, CompileError> {
    let mut nodes = Vec::with_capacity(items.len());
    // The patterns of each field and casing, and where their test goes among the nodes.
    let mut gathered: FxHashMap<(Target, bool), (usize, Vec<TextMatcher>)> = FxHashMap::default();
    for item in items {
        match item {
            Expr::Pred(predicate @ Predicate { test: Test::Matches { pattern, cased }, .. }) => {
                let text = text_matcher(pattern, *cased, &mut compiler.regexes)?;
                let key = (target(predicate, compiler), *cased);
                let (_, texts) = gathered.entry(key).or_insert_with(|| {
                    nodes.push(Node::Const(false));
                    (nodes.len() - 1, Vec::new())
                });
                texts.push(text);
            }
            other => nodes.push(compile(other, compiler)?),
        }
    }
    for ((target, cased), (at, texts)) in gathered {
        nodes[at] = Node::Test { target, matcher: Matcher::Text { texts: texts.into(), cased } };
    }
    Ok(nodes.into())
}

fn matcher(test: &Test, compiler: &mut Compiler) -> Result<Matcher, CompileError> {
    Ok(match test {
        Test::Matches { pattern, cased } => {
            Matcher::Text { texts: Box::new([text_matcher(pattern, *cased, &mut compiler.regexes)?]), cased: *cased }
        }
        Test::Regex { pattern, ignore_case, multi_line, dot_all } => {
            let flags = RegexFlags { ignore_case: *ignore_case, multi_line: *multi_line, dot_all: *dot_all };
            Matcher::Regex(compiler.regexes.get(pattern, flags).map_err(|error| {
                CompileError(format!(
                    "regular expression `{pattern}` cannot run in linear time or is invalid: {}",
                    first_line(&error)
                ))
            })?)
        }
        Test::Cidr(network) => Matcher::Cidr(*network),
        Test::Compare { op, value } => Matcher::Compare(*op, *value),
        Test::Exists(present) => Matcher::Exists(*present),
        Test::IsNull => Matcher::IsNull,
        Test::FieldRef { other, mode } => Matcher::FieldRef { other: compiler.fields.id(other), mode: *mode },
        Test::TimePart { part, op, value } => Matcher::TimePart { part: *part, op: *op, value: *value },
    })
}

fn first_line(text: &str) -> String {
    text.lines().rfind(|line| !line.trim().is_empty()).unwrap_or(text).trim().to_owned()
}

/// Patterns are lower-cased here, values once per event, unless the test is cased.
fn text_matcher(pattern: &Pattern, cased: bool, regexes: &mut Regexes) -> Result<TextMatcher, CompileError> {
    let fold = |text: &str| {
        if cased { text.to_owned() } else { text.to_lowercase() }
    };
    Ok(match pattern.tokens() {
        [] => TextMatcher::Exact("".into()),
        [Token::AnyRun] => TextMatcher::Any,
        [Token::Literal(text)] => TextMatcher::Exact(fold(text).into()),
        [Token::Literal(text), Token::AnyRun] => TextMatcher::Prefix(fold(text).into()),
        [Token::AnyRun, Token::Literal(text)] => TextMatcher::Suffix(fold(text).into()),
        [Token::AnyRun, Token::Literal(text), Token::AnyRun] => {
            TextMatcher::Contains(Box::new(LazyFinder::new(fold(text))))
        }
        tokens => {
            if let Some(glob) = Glob::new(tokens, fold) {
                return Ok(TextMatcher::Glob(Box::new(glob)));
            }
            let mut regex = String::from("(?s)^");
            for token in tokens {
                match token {
                    Token::Literal(text) => regex.push_str(&regex_syntax::escape(&fold(text))),
                    Token::AnyRun => regex.push_str(".*"),
                    Token::AnyChar => regex.push('.'),
                }
            }
            regex.push('$');
            let flags = RegexFlags::default();
            TextMatcher::Wildcard(
                regexes.get(&regex, flags).map_err(|error| CompileError(format!("pattern `{pattern}`: {error}")))?,
            )
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn regex(pattern: &str, ignore_case: bool) -> LazyRegex {
        LazyRegex::new(pattern, RegexFlags { ignore_case, ..RegexFlags::default() }).expect("a valid pattern")
    }

    /// What the pattern as written finds in `text`, built apart from the [`LazyRegex`].
    fn unicode_match(regex: &LazyRegex, text: &str) -> bool {
        Searcher::build(&regex.flags.parse(&regex.pattern).expect("parses")).expect("builds").is_match(text)
    }

    #[test]
    fn ascii_texts_are_searched_with_ascii_classes_and_find_what_unicode_ones_do() {
        let patterns = [
            r"-k\s\w{1,64}(?:\s?(?:-p|-s))?",
            r"\w+`(?:\w+|-|.)`[\w+|\s]",
            r"[^a-z]{3}",
            r".{12,}",
            r"\bnet\b",
            r"^\d+\s*$",
            r"(?i)KELVIN",
        ];
        let texts = [
            r"C:\Windows\system32\svchost.exe -k netsvcs -p -s Schedule",
            "svchost.exe -k",
            "IN`V`o`Ke-eXp`ResSIOn",
            "net user",
            "network",
            "4624 ",
            "kelvin",
            "",
        ];
        for (pattern, ignore_case) in patterns.into_iter().map(|pattern| (pattern, false)).chain([("kelvin", true)]) {
            let regex = regex(pattern, ignore_case);
            for text in texts {
                assert_eq!(regex.is_match(text), unicode_match(&regex, text), "`{pattern}` on `{text}`");
            }
            assert!(regex.ascii.get().is_some_and(Option::is_some), "`{pattern}` has an ASCII searcher");
            assert!(regex.built.get().is_none(), "`{pattern}` was not built for Unicode texts");
        }
    }

    #[test]
    fn a_text_shorter_than_any_match_is_told_so_before_any_automaton_runs() {
        let long =
            |pattern: &str| Searcher::build(&RegexFlags::default().parse(pattern).expect("parses")).expect("builds");
        let lines = long(".{1000,}");
        assert!(!lines.is_match(&"a".repeat(999)));
        assert!(lines.caches.get().is_none(), "no automaton ran on a text of 999 bytes");
        assert!(lines.is_match(&"a".repeat(1000)));
        assert!(!lines.is_match(&"é".repeat(600)), "1,200 bytes, 600 characters");
        assert!(!lines.is_match(&format!("{0}\n{0}", "a".repeat(999))), "two lines of 999");
        let hashes = long(r"\s[a-fA-F0-9]{64}\s[a-fA-F0-9]{16}");
        assert!(!hashes.is_match(&format!(" {} {}", "a".repeat(64), "b".repeat(15))));
        assert!(hashes.is_match(&format!("x {} {}", "a".repeat(64), "b".repeat(16))));
        assert!(!long("[^\\x00-\\x{10FFFF}]").is_match("anything"), "a class that matches nothing");
    }

    #[test]
    fn a_text_without_a_regexs_caseless_literals_is_not_searched() {
        let backquotes = regex(r"\w+`(?:\w+|-|.)`[\w+|\s]", false);
        assert!(!backquotes.is_match("powershell -nop -c iex"));
        assert!(!backquotes.is_built(), "no searcher was built for a text without a backquote");
        assert!(backquotes.is_match("IN`V`o`Ke-eXp`ResSIOn"));
        let format = regex(r#""(?:\{\d\})+"\s*-f"#, false);
        assert!(!format.is_match("\"{0}{1}\" -x") && format.is_match("(\"{0}{1}\" -f 'a','b')"));
        // A literal with a letter may be in a text in another case: the text is searched.
        let cased = regex(r"(?i)abc\{", false);
        assert!(cased.caseless_literals.is_none());
        assert!(cased.is_match("xABC{"));
    }

    #[test]
    fn texts_past_ascii_and_patterns_that_need_unicode_are_searched_as_written() {
        let word = regex(r"^\w+$", false);
        assert!(word.is_match("café"), "a Unicode word");
        assert!(word.is_match("cafe") && !word.is_match("ca fe"));
        // The Kelvin sign folds to `k` in Unicode alone.
        assert!(regex("k", true).is_match("\u{212A}"));
        let letters = regex(r"^\pL+$", false);
        assert!(letters.is_match("abc") && !letters.is_match("a1"));
        assert!(letters.ascii.get().is_some_and(Option::is_none), "`\\pL` has no ASCII form");
    }
}
