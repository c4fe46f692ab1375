//! The literal prefilter: most rules can only match when some literal text occurs in some
//! field (`\\mimikatz.exe` in `Image`). Those "witness" literals are gathered per field into
//! one Aho-Corasick automaton, each event's fields are scanned once, and only the rules whose
//! witness was seen (plus those without one) are evaluated.

use crate::compile::Compiler;
use crate::routing::Key;
use crate::sieve::Sieve;
use aho_corasick::{AhoCorasick, packed};
use harrier_event::Value;
use harrier_ir::{Expr, Predicate, Test, Token};
use rustc_hash::FxHashMap;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Where a witness literal must occur.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Place {
    Slot(u32),
    /// Any value of the event (keyword rules), for the rules of one group (see
    /// [`PrefilterBuilder::keyword_group`]).
    AnyValue(u32),
}

/// What an expression says about the literals an event must hold for it to be true.
enum Witness {
    /// It can be true whatever the text (a `not`, a regex, a number test).
    Unknown,
    /// A routing condition (Channel, EventID), already met by every event the rule sees.
    Routing,
    /// It is true only if, for each of these groups, one of its (lower-cased) literals occurs
    /// in its place. A group without literals is never met: the expression is false.
    AllOf(Vec<Group>),
}

/// Literals one of which must occur, each in its place.
type Group = Vec<(Place, String)>;

fn witness(expr: &Expr, compiler: &Compiler) -> Witness {
    match expr {
        Expr::Pred(predicate) => predicate_witness(predicate, compiler),
        Expr::Or(items) => {
            let mut branches = Vec::new();
            for item in items {
                match witness(item, compiler) {
                    Witness::AllOf(groups) => branches.push(groups_to_wait_for(groups)),
                    _ => return Witness::Unknown,
                }
            }
            Witness::AllOf(either(branches))
        }
        Expr::And(items) => {
            let mut all = Vec::new();
            let mut all_routing = true;
            for item in items {
                match witness(item, compiler) {
                    Witness::AllOf(groups) => all.extend(groups),
                    Witness::Unknown => {}
                    Witness::Routing => continue,
                }
                all_routing = false;
            }
            match all.is_empty() {
                false => Witness::AllOf(all),
                true if all_routing => Witness::Routing,
                true => Witness::Unknown,
            }
        }
        Expr::Const(false) => Witness::AllOf(vec![Vec::new()]),
        Expr::Not(_) | Expr::Const(true) => Witness::Unknown,
    }
}

/// The groups met when one of the branches is: the `n`th is the union of each branch's `n`th
/// strongest group (or its last), met whichever branch is. SigmaHQ's rules for processes
/// are one branch per source of such events (Sysmon's `Image`, Security's `NewProcessName`)
/// with the same literals in each, whose groups thus pair up.
fn either(branches: Vec<Vec<Group>>) -> Vec<Group> {
    let count = branches.iter().map(Vec::len).max().unwrap_or(0);
    let mut merged = vec![Vec::new(); count];
    for groups in branches {
        // Moved, not copied: copying every literal at every `or` was a seventh of the
        // instructions of finding SigmaHQ's witnesses.
        if let Some(last) = groups.last() {
            merged[groups.len()..].iter_mut().for_each(|into: &mut Group| into.extend_from_slice(last));
        }
        merged.iter_mut().zip(groups).for_each(|(into, group)| into.extend(group));
    }
    merged
}

/// How selective a group is: its shortest literal, then fewer alternatives.
fn strength(alternatives: &[(Place, String)]) -> (usize, std::cmp::Reverse<usize>) {
    let shortest = alternatives.iter().map(|(_, literal)| literal.len()).min().unwrap_or(usize::MAX);
    (shortest, std::cmp::Reverse(alternatives.len()))
}

/// The groups a gated rule waits for: its strongest, and the next strongest whose shortest
/// literal has [`MIN_EXTRA_GROUP_BYTES`], up to [`MAX_GROUPS`]. SigmaHQ's rules pair a common
/// program (`\\rundll32.exe` in `Image`) with what is odd about its use (a word of its
/// `CommandLine`). Hunting the shared EVTX files with all SigmaHQ, 97 % of the rules run
/// for their strongest group alone did not match; waiting for each group (see [`either`]
/// too), a fifth as many rules run, and matching takes 17 % fewer instructions.
fn groups_to_wait_for(mut groups: Vec<Group>) -> Vec<Group> {
    groups.sort_by_cached_key(|group| std::cmp::Reverse(strength(group)));
    groups.dedup();
    let extra = |group: &Group| strength(group).0 >= MIN_EXTRA_GROUP_BYTES;
    let mut groups = groups.into_iter();
    groups.next().into_iter().chain(groups.filter(extra).take(MAX_GROUPS - 1)).collect()
}

/// Most groups a rule waits for: the bits of a rule's code in a scanner (see [`code`]).
const MAX_GROUPS: usize = 4;
const GROUP_BITS: u32 = MAX_GROUPS.trailing_zeros();

/// Shortest literal of a group a rule waits for beside its strongest: shorter ones (` -`,
/// `/c`) occur in most values of their field and would make its scanner find them
/// in nearly every event.
const MIN_EXTRA_GROUP_BYTES: usize = 4;

/// How a scanner names a group of a rule: the rule's number and the group's.
fn code(rule: u32, group: usize) -> u32 {
    rule << GROUP_BITS | group as u32
}

/// The rule and the bit of the group a scanner's code names.
pub(crate) fn decode(code: u32) -> (u32, u8) {
    (code >> GROUP_BITS, 1 << (code & (MAX_GROUPS as u32 - 1)))
}

fn predicate_witness(predicate: &Predicate, compiler: &Compiler) -> Witness {
    let literals: Vec<String> = match &predicate.test {
        Test::Matches { pattern, .. } => longest_literal(pattern).into_iter().collect(),
        regex @ Test::Regex { .. } => match compiler.regexes.literals(regex) {
            Some(literals) if literals.iter().all(|literal| literal.len() >= MIN_REGEX_WITNESS_BYTES) => {
                literals.to_vec()
            }
            _ => return Witness::Unknown,
        },
        _ => return Witness::Unknown,
    };
    let place = match predicate.field.as_deref() {
        Some(field) if field.eq_ignore_ascii_case("Channel") || field.eq_ignore_ascii_case("EventID") => {
            return Witness::Routing;
        }
        Some(field) => match compiler.fields.slot(field) {
            Some(slot) => Place::Slot(slot),
            None => return Witness::Unknown,
        },
        // The group is the rule's, set by `PrefilterBuilder::add`.
        None => Place::AnyValue(0),
    };
    if literals.is_empty() {
        return Witness::Unknown;
    }
    Witness::AllOf(vec![literals.into_iter().map(|literal| (place, head(literal, MAX_WITNESS_BYTES))).collect()])
}

/// The longest literal of a string pattern, lower-cased (a cased test's text holds it too).
fn longest_literal(pattern: &harrier_ir::Pattern) -> Option<String> {
    pattern
        .tokens()
        .iter()
        .filter_map(|token| match token {
            Token::Literal(text) => Some(text.to_lowercase()),
            _ => None,
        })
        .max_by_key(String::len)
        .filter(|literal| !literal.is_empty())
}

/// Shortest regex literal worth a witness: shorter ones (`/c`, a drive's `c:`) occur in most
/// values, and the rule is cheaper evaluated than scanned for.
const MIN_REGEX_WITNESS_BYTES: usize = 3;

/// Longest witness kept: any part of a literal a match must contain is a witness too, and
/// past a few dozen bytes a literal is as selective as it gets, while the automaton's
/// construction grows with the square of a long repetitive literal (40 KB of `A`: seconds)
/// and with its states. At 32 bytes rather than 64, the automata a hunt of all SigmaHQ over
/// the shared EVTX builds cost 19 % fewer instructions (3 % of the hunt), while the rules
/// evaluated for a witness that was not the whole literal add 0.5 % to the matching.
const MAX_WITNESS_BYTES: usize = 32;

/// Literals of a field scanner past which each is cut to its first
/// [`HUGE_SCANNER_WITNESS_BYTES`]. The automaton of such a scanner is built from lists of
/// hundreds of hashes (`Hashes`) or command names, distinct within their first bytes, and
/// its states grow with their bytes: with SigmaHQ's two scanners of over 5,000 literals cut
/// to 16 bytes, one hunt of `../shared/data/evtx` with the four folders takes 3 % fewer
/// instructions (its automata 24 % fewer), and a warm matching pass 0.4 % more. Cut to 12 bytes,
/// a hash's witness is four of its digits and matching took 2 % more; scanners of 1,000
/// paths (`Image`) cut to 16 bytes made matching 12 % dearer.
const HUGE_SCANNER_LITERALS: usize = 2_000;
const HUGE_SCANNER_WITNESS_BYTES: usize = 16;

/// The literal's first `bytes` (on a character boundary).
fn head(mut literal: String, bytes: usize) -> String {
    if literal.len() > bytes {
        let end = (0..=bytes).rev().find(|&end| literal.is_char_boundary(end)).unwrap_or(0);
        literal.truncate(end);
    }
    literal
}

/// One automaton over the witness literals of one place, built when an event first needs it:
/// most hunts meet a few channels, and building the automata of all SigmaHQ was a fifth of
/// loading the rules.
pub(crate) struct Scanner {
    pub place: Place,
    literals: Packed<u8>,
    automaton: OnceLock<Automaton>,
    /// A field scanner's DFA, built once it has searched enough text for it to pay (see
    /// [`Scanner::every_match`]).
    dfa: OnceLock<AhoCorasick>,
    /// Bytes of text searched with `automaton` so far (see [`Scanner::every_match`]).
    searched: AtomicUsize,
    /// For each literal, the groups of rules it witnesses (see [`code`]).
    codes: Packed<u32>,
    /// The length of the shortest literal: shorter texts (most numbers, flags, short names)
    /// hold none.
    shortest: usize,
    /// Whether some literal could occur in an integer's text (digits and `-` only): a
    /// keyword scanner meets a dozen integers an event (`EventID`, `ProcessId`), and its
    /// words never occur in them.
    in_integers: bool,
}

enum Automaton {
    /// A keyword scanner's: `first_match` finds where the first match starts, if any, faster
    /// than `every_match` reads the text (SIMD, many bytes at a time).
    Keywords { first_match: Option<packed::Searcher>, every_match: AhoCorasick },
    /// A field scanner's of up to [`DFA_LITERALS`] literals (see [`Scanner::every_match`]).
    Field(AhoCorasick),
    /// A field scanner's of more.
    Sieve(Sieve),
}

/// Literals of one keyword scanner at most: SIMD searchers (Teddy) take up to 64.
const KEYWORDS_PER_SCANNER: usize = 64;

/// Literals of one field scanner at most for it to search with a DFA (the `aho-corasick`
/// crate's own choice stops at 100). Over `../shared/data/json` with the four SigmaHQ folders,
/// overlapping searches were a third of matching, most of it in scanners of 100 to 300
/// literals: with DFAs up to 300, matching takes 12 % fewer instructions and a hunt's peak
/// memory stays within its noise; up to 1,000, 13 % fewer for 30 MB more; a DFA for every
/// scanner doubled the memory of a hunt. A scanner of more literals is a [`Sieve`].
const DFA_LITERALS: usize = 300;

/// Bytes a field scanner searches, per byte of its literals, before its DFA is built (see
/// [`Scanner::every_match`]).
const SEARCHED_BYTES_PER_LITERAL_BYTE: usize = 16;

impl Scanner {
    /// A keyword scanner reads all the text of every event it meets, several times what the
    /// field scanners read, and nearly always finds nothing: a SIMD searcher finds where its
    /// first literal starts, if any, and its DFA (a third faster per byte than the default
    /// NFA) reads on from there. Left to itself, the automaton of the twenty keywords a
    /// Sysmon or Security event meets searched no faster than byte by byte (grouping the
    /// keywords without this search gained nothing). A field scanner starts as a contiguous
    /// NFA (see [`Scanner::every_match`]), one of more than [`DFA_LITERALS`] literals is a
    /// [`Sieve`].
    fn build(&self) -> Automaton {
        use aho_corasick::AhoCorasickKind::{ContiguousNFA, DFA};
        match self.place {
            Place::AnyValue(_) => Automaton::Keywords {
                first_match: packed::Config::new().only_teddy(true).builder().extend(self.literals.iter()).build(),
                every_match: self.build_kind(DFA),
            },
            Place::Slot(_) if self.literals.len() > DFA_LITERALS => {
                Automaton::Sieve(Sieve::new(&self.literals.iter().collect::<Vec<_>>()))
            }
            Place::Slot(_) => Automaton::Field(self.build_kind(ContiguousNFA)),
        }
    }

    fn build_kind(&self, kind: aho_corasick::AhoCorasickKind) -> AhoCorasick {
        let built = aho_corasick::AhoCorasickBuilder::new().kind(Some(kind)).build(self.literals.iter());
        built.expect("literal patterns build an automaton")
    }

    /// The automaton to search `bytes` of text with. A field scanner of up to
    /// [`DFA_LITERALS`] searches with its contiguous NFA until it has searched
    /// [`SEARCHED_BYTES_PER_LITERAL_BYTE`] times the bytes of its literals, then with a DFA.
    /// Building their DFAs up front was a fifth of the instructions of a hunt of the shared
    /// EVTX files with all SigmaHQ, more than the DFAs saved it; over many events they pay
    /// (the values of the shared JSON files are searched with a fifth fewer instructions). A
    /// noncontiguous NFA, cheaper still to build, made warm hunts some 7 % slower.
    fn every_match<'a>(&'a self, nfa: &'a AhoCorasick, bytes: usize) -> &'a AhoCorasick {
        if let Some(dfa) = self.dfa.get() {
            return dfa;
        }
        let searched = self.searched.fetch_add(bytes, Ordering::Relaxed) + bytes;
        if searched < self.literals.items.len() * SEARCHED_BYTES_PER_LITERAL_BYTE {
            return nfa;
        }
        self.dfa.get_or_init(|| self.build_kind(aho_corasick::AhoCorasickKind::DFA))
    }

    /// Whether the lower-cased text of a value may hold a literal, told before it is
    /// lower-cased (see [`may_hold_text`]); an integer's text holds digits and `-` only.
    pub(crate) fn may_hold(&self, value: &Value) -> bool {
        match value {
            Value::Str(text) => may_hold_text(text, self.shortest),
            Value::Int(_) => self.in_integers,
            _ => true,
        }
    }

    /// The length of its shortest literal.
    pub(crate) fn shortest(&self) -> usize {
        self.shortest
    }

    /// Whether a literal could occur in an integer's text (see [`Scanner::may_hold`]).
    pub(crate) fn in_integers(&self) -> bool {
        self.in_integers
    }

    /// Calls `mark` with the [`code`] of each group of a rule whose witness occurs in `text`
    /// (lower-cased).
    pub(crate) fn scan(&self, text: &str, mark: &mut impl FnMut(u32)) {
        self.find_literals(text, &mut |literal| self.codes_of(literal).iter().for_each(|&code| mark(code)));
    }

    /// The [`code`]s of the groups literal number `literal` witnesses.
    pub(crate) fn codes_of(&self, literal: u32) -> &[u32] {
        self.codes.get(literal as usize)
    }

    /// Calls `found` with the number of each literal that occurs in `text` (lower-cased), as
    /// often as it occurs.
    pub(crate) fn find_literals(&self, text: &str, found: &mut impl FnMut(u32)) {
        if text.len() < self.shortest {
            return;
        }
        let (every_match, start) = match self.automaton.get_or_init(|| self.build()) {
            Automaton::Sieve(sieve) => {
                return sieve.find(text.as_bytes(), |number| self.literals.get(number as usize), found);
            }
            Automaton::Field(nfa) => (self.every_match(nfa, text.len()), 0),
            Automaton::Keywords { first_match: Some(first_match), every_match } => match first_match.find(text) {
                Some(first) => (every_match, first.start()),
                None => return,
            },
            Automaton::Keywords { first_match: None, every_match } => (every_match, 0),
        };
        let rest = aho_corasick::Input::new(text).span(start..text.len());
        for literal in every_match.find_overlapping_iter(rest) {
            found(literal.pattern().as_u32());
        }
    }
}

/// Whether `text` may hold a literal of `shortest` bytes once lower-cased, told before it is
/// lower-cased: an ASCII text keeps its length, and lower-casing makes another at most half
/// as long again (`İ`, two bytes, is `i̇`, three).
pub(crate) fn may_hold_text(text: &str, shortest: usize) -> bool {
    text.len() >= shortest || (text.len() + text.len() / 2 >= shortest && !text.is_ascii())
}

pub(crate) struct Prefilter {
    pub scanners: Vec<Scanner>,
    /// For each rule, a bit for each group it waits for: it runs only when a witness of each
    /// was seen; none for a rule that always runs.
    groups: Vec<u8>,
    /// For each rule, the scanners its witnesses are in: an event is scanned only by the
    /// scanners of the rules it is routed to.
    scanners_of: Vec<Vec<u32>>,
}

/// The witnesses of rules added one at a time, in rule order (so that a rule's condition need
/// not be kept once it is compiled).
#[derive(Default)]
pub(crate) struct PrefilterBuilder {
    /// The codes of the groups each literal witnesses, per place. Boxes, not a `String` and
    /// a `Vec`: most literals witness one group, and with SigmaHQ's 25,000 literals the spare
    /// capacity was a megabyte of the peak memory of loading rules.
    literals: FxHashMap<Place, PlaceLiterals>,
    groups: Vec<u8>,
    /// The group number of each set of channels keyword rules are routed to.
    keyword_groups: FxHashMap<Option<Vec<Option<String>>>, u32>,
}

impl PrefilterBuilder {
    /// Adds the next rule, whose condition is compiled by `compiler` and which is routed by
    /// `routes` (see [`crate::routing::keys`]).
    pub(crate) fn add(&mut self, condition: &Expr, compiler: &Compiler, routes: Option<&[Key]>) {
        let rule = self.groups.len() as u32;
        let Witness::AllOf(groups) = witness(condition, compiler) else {
            self.groups.push(0);
            return;
        };
        let groups = groups_to_wait_for(groups);
        self.groups.push((1 << groups.len()) - 1);
        let has_keywords = groups.iter().flatten().any(|(place, _)| matches!(place, Place::AnyValue(_)));
        let keyword_group = if has_keywords { self.keyword_group(routes) } else { 0 };
        for (number, group) in groups.into_iter().enumerate() {
            let code = code(rule, number);
            for (place, literal) in group {
                let place = match place {
                    Place::AnyValue(_) => Place::AnyValue(keyword_group),
                    slot => slot,
                };
                self.literals.entry(place).or_default().add(place, literal, code);
            }
        }
    }

    /// Keyword rules are grouped by the channels they are routed to, each group scanned apart
    /// (in scanners of [`KEYWORDS_PER_SCANNER`] literals at most): an event is then scanned
    /// for the keywords of the rules it meets only. SigmaHQ's keywords all together are over
    /// a hundred; those a Sysmon or Security event meets, twenty.
    fn keyword_group(&mut self, routes: Option<&[Key]>) -> u32 {
        let channels = routes.map(|keys| {
            let mut channels: Vec<Option<String>> = keys.iter().map(|key| key.channel.clone()).collect();
            channels.sort_unstable();
            channels.dedup();
            channels
        });
        let next = self.keyword_groups.len() as u32;
        *self.keyword_groups.entry(channels).or_insert(next)
    }

    pub(crate) fn finish(self) -> Prefilter {
        let PrefilterBuilder { literals, groups, .. } = self;
        let mut scanners: Vec<Scanner> =
            literals.into_iter().flat_map(|(place, literals)| scanners(place, literals.by_literal)).collect();
        scanners.sort_by_key(|scanner| match scanner.place {
            Place::Slot(slot) => (false, slot),
            Place::AnyValue(group) => (true, group),
        });
        let mut scanners_of = vec![Vec::new(); groups.len()];
        for (index, scanner) in scanners.iter().enumerate() {
            for &code in &scanner.codes.items {
                let (rule, _) = decode(code);
                let of_rule: &mut Vec<u32> = &mut scanners_of[rule as usize];
                if of_rule.last() != Some(&(index as u32)) {
                    of_rule.push(index as u32);
                }
            }
        }
        Prefilter { scanners, groups, scanners_of }
    }
}

/// The scanners of one place: one, or for keywords as many as their number takes.
fn scanners(place: Place, by_literal: FxHashMap<Box<str>, Box<[u32]>>) -> Vec<Scanner> {
    let per_scanner = match place {
        Place::AnyValue(_) => KEYWORDS_PER_SCANNER,
        Place::Slot(_) => by_literal.len().max(1),
    };
    let mut by_literal = by_literal.into_iter().peekable();
    let mut scanners = Vec::new();
    while by_literal.peek().is_some() {
        let (mut literals, mut codes) = (Packed::default(), Packed::default());
        for (literal, codes_of_literal) in by_literal.by_ref().take(per_scanner) {
            literals.push(literal.as_bytes());
            codes.push(&codes_of_literal);
        }
        literals.shrink_to_fit();
        codes.shrink_to_fit();
        let shortest = literals.iter().map(<[u8]>::len).min().unwrap_or(0);
        let in_integers = literals.iter().any(|literal| literal.iter().all(|&b| b.is_ascii_digit() || b == b'-'));
        let (automaton, dfa, searched) = (OnceLock::new(), OnceLock::new(), AtomicUsize::new(0));
        scanners.push(Scanner { place, literals, automaton, dfa, searched, codes, shortest, in_integers });
    }
    scanners
}

/// The literals of one place, and the codes of the groups each witnesses, in code order.
#[derive(Default)]
struct PlaceLiterals {
    by_literal: FxHashMap<Box<str>, Box<[u32]>>,
    /// Whether a field's literals outnumbered [`HUGE_SCANNER_LITERALS`]: they are cut then,
    /// and those added after, so that the long ones are never all kept.
    cut: bool,
}

impl PlaceLiterals {
    /// Adds a literal of the group `code` of a rule (rules are added in order).
    fn add(&mut self, place: Place, literal: String, code: u32) {
        let literal = if self.cut { head(literal, HUGE_SCANNER_WITNESS_BYTES) } else { literal };
        let codes = self.by_literal.entry(literal.into_boxed_str()).or_default();
        if codes.last() != Some(&code) {
            *codes = codes.iter().copied().chain([code]).collect();
        }
        if !self.cut && matches!(place, Place::Slot(_)) && self.by_literal.len() > HUGE_SCANNER_LITERALS {
            self.by_literal = cut(std::mem::take(&mut self.by_literal), HUGE_SCANNER_WITNESS_BYTES);
            self.cut = true;
        }
    }
}

/// The literals cut to their first `bytes`, each witnessing the groups of all the literals it
/// begins, in code order.
fn cut(by_literal: FxHashMap<Box<str>, Box<[u32]>>, bytes: usize) -> FxHashMap<Box<str>, Box<[u32]>> {
    let mut cut: FxHashMap<Box<str>, Vec<u32>> = FxHashMap::default();
    for (literal, codes) in by_literal {
        cut.entry(head(literal.into_string(), bytes).into_boxed_str()).or_default().extend_from_slice(&codes);
    }
    let sorted = |mut codes: Vec<u32>| {
        codes.sort_unstable();
        codes.dedup();
        codes.into_boxed_slice()
    };
    cut.into_iter().map(|(literal, codes)| (literal, sorted(codes))).collect()
}

/// Lists one after another in one allocation, where a vector each took two: SigmaHQ's
/// witnesses are some 25,000 literals, each witnessing a few rules.
#[derive(Default)]
struct Packed<T> {
    items: Vec<T>,
    /// Where each list ends in `items`.
    ends: Vec<u32>,
}

impl<T> Packed<T> {
    fn len(&self) -> usize {
        self.ends.len()
    }

    fn get(&self, index: usize) -> &[T] {
        let start = index.checked_sub(1).map_or(0, |before| self.ends[before]);
        &self.items[start as usize..self.ends[index] as usize]
    }

    fn iter(&self) -> impl Iterator<Item = &[T]> {
        (0..self.len()).map(|index| self.get(index))
    }
}

impl<T: Copy> Packed<T> {
    fn push(&mut self, list: &[T]) {
        self.items.extend_from_slice(list);
        self.ends.push(self.items.len() as u32);
    }

    fn shrink_to_fit(&mut self) {
        self.items.shrink_to_fit();
        self.ends.shrink_to_fit();
    }
}

impl Prefilter {
    pub(crate) fn is_gated(&self, rule: u32) -> bool {
        self.groups[rule as usize] != 0
    }

    /// A bit for each group of literals the rule waits for (see [`Prefilter::groups`]).
    pub(crate) fn groups_of(&self, rule: u32) -> u8 {
        self.groups[rule as usize]
    }

    /// The scanners that hold a witness of the rule.
    pub(crate) fn scanners_of(&self, rule: u32) -> &[u32] {
        &self.scanners_of[rule as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use harrier_sigma::{LoadOptions, Outcome};

    /// The prefilter of one Sigma rule, and the slots of its fields by name.
    fn prefilter_of(yaml: &str) -> (Prefilter, Compiler) {
        prefilter_of_all(&[yaml])
    }

    /// The prefilter of Sigma rules (rule number = index), and the slots of their fields.
    fn prefilter_of_all(yamls: &[&str]) -> (Prefilter, Compiler) {
        let mut compiler = Compiler::default();
        let mut builder = PrefilterBuilder::default();
        for yaml in yamls {
            let entries = harrier_sigma::load_text(yaml, "t.yml", &LoadOptions::default());
            let Outcome::Active(rule) = &entries[0].outcome else { panic!("{:?}", entries[0].outcome) };
            crate::compile::compile(&rule.condition, &mut compiler).expect("the rule compiles");
            builder.add(&rule.condition, &compiler, None);
        }
        (builder.finish(), compiler)
    }

    /// A field scanner of more than [`HUGE_SCANNER_LITERALS`] literals holds their first
    /// bytes only, and finds every rule whose literal occurs, and those whose literals begin
    /// the same, which their evaluation then decides.
    #[test]
    fn a_huge_scanner_holds_the_heads_of_its_literals_and_finds_the_rules_they_witness() {
        let rule = |hashes: &[String]| {
            let hashes = hashes.iter().map(|hash| format!("'{hash}'")).collect::<Vec<_>>().join(", ");
            format!(
                "title: t\nlogsource: {{category: driver_load, product: windows}}\n\
                 detection:\n  selection: {{Hashes|contains: [{hashes}]}}\n  condition: selection\n"
            )
        };
        let many: Vec<String> = (0..=HUGE_SCANNER_LITERALS).map(|n| format!("md5={n:012x}{:020x}", n * 7)).collect();
        let same_head = format!("{}ffff", &many[5][..HUGE_SCANNER_WITNESS_BYTES]);
        let (prefilter, _) = prefilter_of_all(&[&rule(&many), &rule(&[same_head]), &rule(&["sha1=0123".into()])]);
        let [scanner] = &prefilter.scanners[..] else { panic!("one scanner, for Hashes") };
        assert_eq!(scanner.literals.len(), many.len() + 1, "a head each, and the short literal");
        assert!(scanner.literals.iter().all(|literal| literal.len() <= HUGE_SCANNER_WITNESS_BYTES));
        let rules_found = |text: &str| {
            let mut rules = Vec::new();
            scanner.scan(text, &mut |code| rules.push(decode(code).0));
            rules.sort_unstable();
            rules.dedup();
            rules
        };
        assert_eq!(rules_found(&format!("SHA1=AB,{},IMPHASH=CD", many[5]).to_lowercase()), [0, 1]);
        assert_eq!(rules_found(&many[HUGE_SCANNER_LITERALS]), [0]);
        assert_eq!(rules_found("sha1=0123,md5=99"), [2]);
        assert_eq!(rules_found(&many[7][..HUGE_SCANNER_WITNESS_BYTES - 1]), Vec::<u32>::new());
    }

    /// The literals of each group of rule 0, each with the field it is looked for in.
    fn groups(prefilter: &Prefilter, compiler: &Compiler) -> Vec<Vec<(String, String)>> {
        let mut groups = vec![Vec::new(); prefilter.groups_of(0).count_ones() as usize];
        let name_of = |slot| {
            ["image", "newprocessname", "commandline"].into_iter().find(|name| compiler.fields.slot(name) == Some(slot))
        };
        for scanner in &prefilter.scanners {
            let Place::Slot(slot) = scanner.place else { continue };
            for (literal, codes) in scanner.literals.iter().zip(scanner.codes.iter()) {
                for &code in codes {
                    let (_, group) = decode(code);
                    let field = name_of(slot).unwrap_or("other").to_owned();
                    let literal = String::from_utf8(literal.to_vec()).expect("literals are texts");
                    groups[group.trailing_zeros() as usize].push((field, literal));
                }
            }
        }
        groups.iter_mut().for_each(|group| group.sort());
        groups
    }

    /// A field scanner searches with its NFA, then with its DFA once it has searched enough
    /// text, and finds the same literals with both.
    #[test]
    fn a_field_scanner_searches_with_a_dfa_once_it_has_searched_enough() {
        let (prefilter, _) = prefilter_of(
            "title: t\nlogsource: {category: process_creation, product: windows}\n\
             detection:\n  cli: {CommandLine|contains: ['advpack', 'zipfldr']}\n  condition: cli\n",
        );
        let scanner = &prefilter.scanners[0];
        let text = "rundll32 advpack.dll,launchinfsection and zipfldr.dll";
        let found = || {
            let mut found = Vec::new();
            scanner.find_literals(text, &mut |literal| found.push(literal));
            found.sort_unstable();
            found
        };
        let first = found();
        assert_eq!(first.len(), 2);
        assert!(scanner.dfa.get().is_none(), "built before it searched enough");
        let enough = scanner.literals.items.len() * SEARCHED_BYTES_PER_LITERAL_BYTE;
        for _ in 0..enough.div_ceil(text.len()) {
            assert_eq!(found(), first);
        }
        assert!(scanner.dfa.get().is_some(), "not built once it searched enough");
        assert_eq!(found(), first);
    }

    #[test]
    fn a_rule_waits_for_a_witness_of_each_selection_in_each_source_of_its_events() {
        let (prefilter, compiler) = prefilter_of(
            "title: t\nlogsource: {category: process_creation, product: windows}\n\
             detection:\n  image: {Image|endswith: '\\rundll32.exe'}\n  \
             cli: {CommandLine|contains: ['advpack', 'zipfldr']}\n  filter: {CommandLine|contains: ' -'}\n  \
             condition: image and cli and not filter\n",
        );
        let pair = |field: &str, literal: &str| (field.to_owned(), literal.to_owned());
        assert_eq!(
            groups(&prefilter, &compiler),
            [
                vec![pair("image", "\\rundll32.exe"), pair("newprocessname", "\\rundll32.exe")],
                vec![pair("commandline", "advpack"), pair("commandline", "zipfldr")],
            ]
        );
    }

    #[test]
    fn short_literals_are_not_waited_for_beside_a_stronger_group() {
        let (prefilter, compiler) = prefilter_of(
            "title: t\nlogsource: {product: windows, service: sysmon}\n\
             detection:\n  image: {Image|endswith: '\\rundll32.exe'}\n  cli: {CommandLine|contains: ' /s'}\n  \
             condition: image and cli\n",
        );
        assert_eq!(groups(&prefilter, &compiler), [vec![("image".to_owned(), "\\rundll32.exe".to_owned())]]);
    }
}
