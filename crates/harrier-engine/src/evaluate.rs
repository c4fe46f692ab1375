//! Evaluating events against compiled rules.

use crate::compile::{self, CompileError, Compiler, FieldTable, Matcher, Node, Target};
use crate::prefilter::{Place, Prefilter, PrefilterBuilder};
use crate::routing::{self, Routes};
use chrono::{Datelike, Timelike};
use harrier_event::{Event, Timestamp, Value};
use harrier_ir::{Expr, FieldRefMode};
use std::borrow::Borrow;
use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Compiled rules, ready to test events on any thread.
pub struct Engine {
    /// Tells this engine's entries in a thread's [`Scratch::known_names`] from another's.
    id: u64,
    rules: Vec<Option<Node>>,
    fields: FieldTable,
    routes: Routes,
    prefilter: Prefilter,
    use_prefilter: bool,
    trim_values: bool,
}

/// How rule field names find event fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldNames {
    /// `image` finds `Image`, as Sigma wants.
    IgnoreCase,
    /// `user` does not find `User`, as Splunk wants (its add-ons derive both, with different values).
    Exact,
}

/// Per-thread buffers reused from event to event.
#[derive(Default)]
struct Scratch {
    /// For each field slot, the index of the event field it names (`NONE` if absent).
    slots: Vec<u32>,
    /// Lower-cased text of each event field, computed when first needed; kept from event to
    /// event so that their buffers are reused.
    lowered: Vec<Lowered>,
    candidates: Vec<u32>,
    name: String,
    /// `marks[rule] == generation` when the rule's witness was seen in the current event.
    marks: Vec<u32>,
    /// `needed[scanner] == generation` when a rule the event is routed to has a witness there.
    needed: Vec<u32>,
    generation: u32,
    /// The slots of names met lately, each engine's apart (see [`Engine::slot_of`]).
    known_names: Vec<KnownName>,
}

const NONE: u32 = u32::MAX;

/// One entry of [`Scratch::known_names`]: a name and the slot it fills in one engine.
#[derive(Default, Clone)]
struct KnownName {
    engine: u64,
    name: Option<Arc<str>>,
    slot: u32,
}

/// Entries of [`Scratch::known_names`]: several times the distinct names of a log.
const KNOWN_NAMES: usize = 4096;

/// The entry of [`Scratch::known_names`] for a name and an engine (the engines a hunt runs on
/// each event keep apart).
fn known_name_entry(name: &str, engine: u64) -> usize {
    use std::hash::{Hash, Hasher};
    let mut hasher = rustc_hash::FxHasher::default();
    engine.hash(&mut hasher);
    name.hash(&mut hasher);
    (hasher.finish() >> (64 - KNOWN_NAMES.trailing_zeros())) as usize
}

/// The next [`Engine::id`].
static ENGINES: AtomicU64 = AtomicU64::new(0);

/// The lower-cased text of one event field, valid for the event of `generation`.
#[derive(Default, Clone)]
struct Lowered {
    generation: u32,
    /// Whether the field has a text (lists and nulls have none).
    has_text: bool,
    text: String,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

impl Engine {
    /// Compiles rule conditions (index = rule number). Rules that cannot compile are
    /// returned with why, and never match.
    pub fn new(conditions: impl IntoIterator<Item = impl Borrow<Expr>>) -> (Engine, Vec<(usize, CompileError)>) {
        Engine::with_names(conditions, FieldNames::IgnoreCase)
    }

    /// Compiles rule conditions whose field names are matched as [`FieldNames`] says. Each
    /// condition is compiled, routed and given its witnesses in one pass, so that a caller
    /// may make them one at a time (decode them, say) and drop each when it is compiled.
    pub fn with_names(
        conditions: impl IntoIterator<Item = impl Borrow<Expr>>,
        names: FieldNames,
    ) -> (Engine, Vec<(usize, CompileError)>) {
        let mut compiler = Compiler::default();
        compiler.fields.exact_names = names == FieldNames::Exact;
        let mut routes = Routes::default();
        let mut prefilter = PrefilterBuilder::default();
        let mut rules = Vec::new();
        let mut errors = Vec::new();
        for (index, condition) in conditions.into_iter().enumerate() {
            let condition = condition.borrow();
            let keys = routing::keys(condition);
            prefilter.add(condition, &compiler.fields, keys.as_deref());
            match compile::compile(condition, &mut compiler) {
                Ok(node) => {
                    if !matches!(node, Node::Const(false)) {
                        routes.add(index as u32, keys);
                    }
                    rules.push(Some(node));
                }
                Err(error) => {
                    errors.push((index, error));
                    rules.push(None);
                }
            }
        }
        let prefilter = prefilter.finish();
        let id = ENGINES.fetch_add(1, Ordering::Relaxed);
        let engine =
            Engine { id, rules, fields: compiler.fields, routes, prefilter, use_prefilter: true, trim_values: false };
        (engine, errors)
    }

    /// Ignore white space around values when matching (`--trim-values`); Sigma compares
    /// values as they are, which is the default.
    pub fn set_trim_values(&mut self, trim: bool) {
        self.trim_values = trim;
    }

    /// Evaluate every routed rule on every event, without the literal prefilter. The hits
    /// are the same; this is for tests and measurements.
    pub fn set_prefilter(&mut self, on: bool) {
        self.use_prefilter = on;
    }

    pub fn rule_count(&self) -> usize {
        self.rules.len()
    }

    /// The numbers of the rules the event matches, in rule order, appended to `hits`.
    pub fn matches(&self, event: &Event, hits: &mut Vec<usize>) {
        SCRATCH.with(|scratch| {
            let scratch = &mut *scratch.borrow_mut();
            self.prepare(event, scratch);
            let channel = event.channel().unwrap_or("").to_lowercase();
            let mut candidates = std::mem::take(&mut scratch.candidates);
            self.routes.candidates(&channel, event.event_id(), &mut candidates);
            let mut view = View { event, scratch, trim: self.trim_values };
            let generation = view.next_generation(self.rules.len(), self.prefilter.scanners.len());
            if self.use_prefilter {
                view.scan_witnesses(&self.prefilter, &candidates, generation);
            }
            for &rule in &candidates {
                let witnessed = !self.use_prefilter
                    || !self.prefilter.is_gated(rule)
                    || view.scratch.marks[rule as usize] == generation;
                if witnessed
                    && let Some(node) = &self.rules[rule as usize]
                    && view.eval(node)
                {
                    hits.push(rule as usize);
                }
            }
            view.scratch.candidates = candidates;
        });
    }

    /// Resolves the event's fields to slots (first occurrence of a name wins, as in
    /// [`Event::get`]) and clears the lower-case cache.
    fn prepare(&self, event: &Event, scratch: &mut Scratch) {
        scratch.slots.clear();
        scratch.slots.resize(self.fields.len(), NONE);
        if scratch.lowered.len() < event.fields().len() {
            scratch.lowered.resize(event.fields().len(), Lowered::default());
        }
        if scratch.known_names.is_empty() {
            scratch.known_names.resize(KNOWN_NAMES, KnownName::default());
        }
        for (index, field) in event.fields().iter().enumerate() {
            let path = field.path.as_ref().filter(|_| self.fields.has_dotted);
            for name in std::iter::once(&field.name).chain(path) {
                let slot = self.slot_of(name, scratch);
                if slot != NONE && scratch.slots[slot as usize] == NONE {
                    scratch.slots[slot as usize] = index as u32;
                }
            }
        }
    }

    /// The slot a field name fills (`NONE` if no rule names it). Names repeat from event to
    /// event, and readers share one `Arc` for each on a thread, so the slot is remembered:
    /// lower-casing each of forty names an event and looking it up in the engine's table cost
    /// twice as much (6 % of a SigmaHQ hunt against 3 %).
    fn slot_of(&self, name: &Arc<str>, scratch: &mut Scratch) -> u32 {
        let at = known_name_entry(name, self.id);
        let known = &scratch.known_names[at];
        if known.engine == self.id
            && known.name.as_ref().is_some_and(|known| Arc::ptr_eq(known, name) || **known == **name)
        {
            return known.slot;
        }
        let key = &mut scratch.name;
        key.clear();
        if self.fields.exact_names {
            key.push_str(name);
        } else if name.is_ascii() {
            key.push_str(name);
            key.make_ascii_lowercase();
        } else {
            key.extend(name.chars().flat_map(char::to_lowercase));
        }
        let slot = self.fields.get(key).unwrap_or(NONE);
        scratch.known_names[at] = KnownName { engine: self.id, name: Some(name.clone()), slot };
        slot
    }
}

struct View<'e, 's> {
    event: &'e Event,
    scratch: &'s mut Scratch,
    trim: bool,
}

impl View<'_, '_> {
    /// A new mark for this event, in buffers large enough for `rules` and `scanners`.
    fn next_generation(&mut self, rules: usize, scanners: usize) -> u32 {
        let scratch = &mut *self.scratch;
        scratch.generation = scratch.generation.wrapping_add(1);
        // Marks of other engines on this thread are from older generations, so the buffers
        // are shared as they are; only a wrapped generation needs a clean slate.
        if scratch.generation == 0 {
            scratch.marks.iter_mut().for_each(|mark| *mark = 0);
            scratch.needed.iter_mut().for_each(|mark| *mark = 0);
            scratch.lowered.iter_mut().for_each(|lowered| lowered.generation = 0);
            scratch.generation = 1;
        }
        if scratch.marks.len() < rules {
            scratch.marks.resize(rules, 0);
        }
        if scratch.needed.len() < scanners {
            scratch.needed.resize(scanners, 0);
        }
        scratch.generation
    }

    /// Runs the automata the candidate rules need over the event's fields, and marks the
    /// rules whose witness occurs.
    fn scan_witnesses(&mut self, prefilter: &Prefilter, candidates: &[u32], generation: u32) {
        for &rule in candidates {
            for &scanner in prefilter.scanners_of(rule) {
                self.scratch.needed[scanner as usize] = generation;
            }
        }
        for (index, scanner) in prefilter.scanners.iter().enumerate() {
            if self.scratch.needed[index] != generation {
                continue;
            }
            let indices = match scanner.place {
                Place::Slot(slot) => self.field_index(slot).map_or(0..0, |index| index..index + 1),
                Place::AnyValue(_) => 0..self.event.fields().len(),
            };
            for index in indices {
                match &self.event.fields()[index].value {
                    Value::List(items) => {
                        for item in items {
                            if let Some(text) = lower(item, self.trim) {
                                scanner.scan(&text, &mut |rule| self.scratch.marks[rule as usize] = generation);
                            }
                        }
                    }
                    _ => {
                        // Fill the cache, then read it beside the marks without copying the text.
                        self.lowered(index);
                        let Scratch { lowered, marks, .. } = &mut *self.scratch;
                        if lowered[index].has_text {
                            scanner.scan(&lowered[index].text, &mut |rule| marks[rule as usize] = generation);
                        }
                    }
                }
            }
        }
    }

    fn eval(&mut self, node: &Node) -> bool {
        match node {
            Node::And(items) => items.iter().all(|item| self.eval(item)),
            Node::Or(items) => items.iter().any(|item| self.eval(item)),
            Node::Not(item) => !self.eval(item),
            Node::Const(value) => *value,
            Node::Test { target: Target::Field(slot), matcher } => self.test_field(*slot, matcher),
            Node::Test { target: Target::AnyValue, matcher } => {
                (0..self.event.fields().len()).any(|index| self.test_value_at(index, matcher))
            }
        }
    }

    fn field_index(&self, slot: u32) -> Option<usize> {
        let index = self.scratch.slots[slot as usize];
        (index != NONE).then_some(index as usize)
    }

    fn test_field(&mut self, slot: u32, matcher: &Matcher) -> bool {
        let index = self.field_index(slot);
        match matcher {
            Matcher::Exists(present) => index.is_some() == *present,
            Matcher::IsNull => index.is_none_or(|index| self.event.fields()[index].value.is_null()),
            Matcher::FieldRef { other, mode } => match (index, self.field_index(*other)) {
                (Some(left), Some(right)) => self.field_ref(left, right, *mode),
                _ => false,
            },
            _ => index.is_some_and(|index| self.test_value_at(index, matcher)),
        }
    }

    fn test_value_at(&mut self, index: usize, matcher: &Matcher) -> bool {
        let event = self.event;
        match &event.fields()[index].value {
            Value::List(items) => {
                items.iter().any(|item| test_value(item, lower(item, self.trim).as_deref(), matcher, self.trim))
            }
            value => {
                let trim = self.trim;
                let lowered = self.lowered(index);
                test_value(value, lowered, matcher, trim)
            }
        }
    }

    fn lowered(&mut self, index: usize) -> Option<&str> {
        let generation = self.scratch.generation;
        let lowered = &mut self.scratch.lowered[index];
        if lowered.generation != generation {
            lowered.generation = generation;
            lowered.has_text = lower_into(&self.event.fields()[index].value, self.trim, &mut lowered.text);
        }
        lowered.has_text.then_some(lowered.text.as_str())
    }

    fn field_ref(&mut self, left: usize, right: usize, mode: FieldRefMode) -> bool {
        let Some(right_text) = self.lowered(right).map(str::to_owned) else {
            return false;
        };
        let Some(left_text) = self.lowered(left) else {
            return false;
        };
        match mode {
            FieldRefMode::Equals => left_text == right_text,
            FieldRefMode::Contains => left_text.contains(&right_text),
            FieldRefMode::StartsWith => left_text.starts_with(&right_text),
            FieldRefMode::EndsWith => left_text.ends_with(&right_text),
        }
    }
}

fn lower(value: &Value, trim: bool) -> Option<String> {
    let mut text = String::new();
    lower_into(value, trim, &mut text).then_some(text)
}

/// Writes the lower-cased text of `value` into `into` (ASCII in place, without allocating once
/// `into` has grown); false when the value has no text.
fn lower_into(value: &Value, trim: bool, into: &mut String) -> bool {
    into.clear();
    let Some(text) = value.as_text() else { return false };
    let text = if trim { text.trim() } else { &text };
    if text.is_ascii() {
        into.push_str(text);
        into.make_ascii_lowercase();
    } else {
        // `to_lowercase` knows the contexts (a final sigma) that char by char would not.
        into.push_str(&text.to_lowercase());
    }
    true
}

/// One scalar value against a matcher; `lowered` is its lower-cased text.
fn test_value(value: &Value, lowered: Option<&str>, matcher: &Matcher, trim: bool) -> bool {
    let raw = || value.as_text().map(|text| if trim { std::borrow::Cow::Owned(text.trim().to_owned()) } else { text });
    match matcher {
        Matcher::Text { text, cased: false } => lowered.is_some_and(|lowered| text.is_match(lowered)),
        Matcher::Text { text, cased: true } => raw().is_some_and(|raw| text.is_match(&raw)),
        Matcher::Regex(regex) => raw().is_some_and(|raw| regex.is_match(&raw)),
        Matcher::Cidr(network) => value
            .as_text()
            .and_then(|raw| raw.trim().parse::<std::net::IpAddr>().ok())
            .is_some_and(|ip| network.contains(&ip)),
        Matcher::Compare(op, expected) => number(value).is_some_and(|number| op.holds(number, *expected)),
        Matcher::TimePart { part, op, value: expected } => value
            .as_text()
            .and_then(|raw| Timestamp::parse(&raw))
            .is_some_and(|time| op.holds(time_part(&time, *part), *expected)),
        Matcher::Exists(_) | Matcher::IsNull | Matcher::FieldRef { .. } => false,
    }
}

fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Int(integer) => Some(*integer as f64),
        Value::Float(float) => Some(*float),
        Value::Str(text) => text.trim().parse().ok(),
        _ => None,
    }
}

fn time_part(time: &Timestamp, part: harrier_ir::TimePart) -> i64 {
    use harrier_ir::TimePart;
    let time = time.as_datetime();
    i64::from(match part {
        TimePart::Minute => time.minute(),
        TimePart::Hour => time.hour(),
        TimePart::Day => time.day(),
        TimePart::Week => time.iso_week().week(),
        TimePart::Month => time.month(),
        TimePart::Year => time.year() as u32,
    })
}
