//! Evaluating events against compiled rules.

use crate::compile::{self, CompileError, Compiler, FieldTable, Matcher, Node, Regexes, Target};
use crate::prefilter::{Place, Prefilter, PrefilterBuilder, Scanner, may_hold_text};
use crate::routing::{self, Routes};
use chrono::{Datelike, Timelike};
use harrier_event::{Event, Field, FieldName, ShapeId, Timestamp, Value, names};
use harrier_ir::{Expr, FieldRefMode};
use std::borrow::Borrow;
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Compiled rules, ready to test events on any thread.
pub struct Engine {
    /// Tells this engine's entries in a thread's [`Scratch::known_names`] from another's.
    id: u64,
    rules: Vec<Option<Node>>,
    fields: FieldTable,
    routes: Routes,
    prefilter: Prefilter,
    /// Kept so that an engine compiled beside this one shares them (see [`Engine::beside`]).
    regexes: Regexes,
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
    /// The slots the current event's fields fill.
    shape: Rc<Shape>,
    /// Where the lower-cased text of each event field is in [`Scratch::texts`], found when
    /// first needed.
    lowered: Vec<Lowered>,
    /// The lower-cased texts of the current event's fields, one after another.
    texts: String,
    /// The rules to evaluate on the current event, in rule order.
    to_run: Vec<u32>,
    /// The gated rules whose witness the current event holds, as found.
    witnessed: Vec<u32>,
    /// The groups of literals of each gated rule not yet seen in the current event, valid when its
    /// generation is the current one.
    marks: Vec<Mark>,
    /// Where the values of the current event the keyword scanners read are in
    /// [`Scratch::texts`], lower-cased and each followed by a NUL (see
    /// [`View::lower_all_values`]).
    values: std::ops::Range<usize>,
    /// The text of one integer value, for the keyword scanners that look for digits.
    integer: String,
    generation: u32,
    /// The witnesses field scanners found in texts lately (see [`scan_remembered`]).
    known_scans: Vec<Option<KnownScan>>,
    /// The shapes of events met lately, each engine's apart (see [`Engine::prepare`]).
    known_shapes: Vec<Option<Rc<Shape>>>,
    /// The slots of names met lately, each engine's apart (see [`Engine::slot_of`]).
    known_names: Vec<KnownName>,
    /// The plans of channels and event ids met lately, each engine's apart (see
    /// [`Engine::plan_of`]).
    known_plans: Vec<Option<KnownPlan>>,
}

const NONE: u32 = u32::MAX;

/// The groups of a rule's witnesses not yet seen in the event of `generation`, a bit each.
#[derive(Default, Clone, Copy)]
struct Mark {
    generation: u32,
    missing: u8,
}

/// The fields of events of one shape (the same field names in the same order) that fill the
/// slots of one engine.
#[derive(Default)]
struct Shape {
    engine: u64,
    /// The number its events carry, when they were marked (see [`Event::with_shape`]).
    id: Option<ShapeId>,
    names: Box<[FieldName]>,
    /// For each field slot, the index of the event field it names (`NONE` if absent).
    slots: Box<[u32]>,
    /// Where the channel and the event id are among the fields (see [`Event::position`]).
    channel: Option<usize>,
    event_id: Option<usize>,
}

impl Shape {
    fn channel<'e>(&self, event: &'e Event) -> Option<&'e str> {
        self.channel.and_then(|index| event.fields()[index].value.as_str())
    }

    fn event_id(&self, event: &Event) -> Option<i64> {
        self.event_id.and_then(|index| event.fields()[index].value.as_i64())
    }

    /// Whether it is the event's shape in `engine`: told by the event's mark when it has one
    /// (the reader that marked it gave that mark to these names alone), else name by name.
    fn fits(&self, engine: u64, event: &Event) -> bool {
        let fields = event.fields();
        self.engine == engine
            && match event.shape() {
                Some(id) => self.id == Some(id),
                None => {
                    self.names.len() == fields.len()
                        && self.names.iter().zip(fields).all(|(names, field)| names.same(field.names()))
                }
            }
    }
}

/// Hashes the names of an event's fields by their addresses (see [`FieldName::address`]).
struct NamesOf<'e>(&'e [Field]);

impl std::hash::Hash for NamesOf<'_> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        for field in self.0 {
            state.write_usize(field.names().address());
        }
    }
}

/// One entry of [`Scratch::known_scans`]: the literals (by number) a field scanner found in a
/// text.
struct KnownScan {
    engine: u64,
    scanner: u32,
    text: Box<str>,
    literals: Box<[u32]>,
}

/// Entries of [`Scratch::known_scans`] for texts of [`MAX_REMEMBERED_SCAN_BYTES`] at most.
const KNOWN_SCANS: usize = 4096;

/// Longest text remembered in the first [`KNOWN_SCANS`] entries.
const MAX_REMEMBERED_SCAN_BYTES: usize = 512;

/// Entries of [`Scratch::known_scans`], after the others, for longer texts up to
/// [`MAX_REMEMBERED_LONG_SCAN_BYTES`]: a call stack (`CallTrace`), a script block. In
/// `../shared/data/json`, 45 % of the bytes of such texts the field scanners searched were
/// in a text searched before, and their overlapping search costs several times what hashing
/// and comparing the text does: matching took 10 % fewer instructions (11 % with texts up to
/// 16 KB, whose table took 10 MB more of the bench's peak memory). Longer texts are searched
/// each time, not even hashed, so that the table takes a megabyte at most.
const KNOWN_LONG_SCANS: usize = 256;
const MAX_REMEMBERED_LONG_SCAN_BYTES: usize = 4 * 1024;

/// Entries of [`Scratch::known_shapes`]: more than the shapes of the events of most logs
/// (an EVTX template, a JSON layout), few enough that their slots take a few megabytes.
const KNOWN_SHAPES: usize = 256;

/// Most fields of a shape remembered: events of a longer one (crafted) find their slots each
/// time, so that a remembered shape takes little memory.
const MAX_SHAPE_FIELDS: usize = 1024;

/// One entry of [`Scratch::known_names`]: a field's names and the slots its name and path
/// fill in one engine.
#[derive(Default, Clone)]
struct KnownName {
    engine: u64,
    names: Option<FieldName>,
    slots: [u32; 2],
}

/// Entries of [`Scratch::known_names`]: several times the distinct names of a log.
const KNOWN_NAMES: usize = 4096;

/// Longest name or channel remembered in [`Scratch::known_names`] and
/// [`Scratch::known_plans`]: a longer one (crafted, up to a record's size) is worked out
/// again each time rather than kept, so that the tables take little memory whatever the input.
const MAX_REMEMBERED_BYTES: usize = 256;

/// One entry of [`Scratch::known_plans`]: the plan of a channel and event id in one engine.
struct KnownPlan {
    engine: u64,
    channel: Box<str>,
    event_id: Option<i64>,
    plan: Rc<Plan>,
}

/// Entries of [`Scratch::known_plans`]: several times the channels and event ids a hunt meets,
/// since an entry is found by its key's hash alone (the shared EVTX files meet some 700 in
/// the two engines of SigmaHQ; with 512 entries, a second pass made 480 plans again), and
/// few enough that a log of made-up event ids cannot make them take much memory.
const KNOWN_PLANS: usize = 2048;

/// What an event of one channel and event id needs, worked out once: SigmaHQ routes some 125
/// rules to a Sysmon or Security event and nearly all are gated, so gathering them, their
/// scanners and their marks event by event cost more than their evaluation.
struct Plan {
    /// The rules routed to the event that run whatever the prefilter finds, in rule order.
    ungated: Vec<u32>,
    /// The scanners holding a witness of a gated rule routed to the event, in order.
    scanners: Vec<u32>,
    /// Bit `rule` is set when the gated rule is routed to the event: a scanner also holds
    /// the witnesses of rules of other channels.
    gated: Vec<u64>,
    /// The shortest literal of its keyword scanners, when it has any: a shorter value holds
    /// none of their literals, and is left out of the text they read.
    shortest_keyword: Option<usize>,
}

impl Plan {
    fn routes_gated(&self, rule: u32) -> bool {
        self.gated[rule as usize / 64] >> (rule % 64) & 1 == 1
    }
}

/// The entry of a table of `entries` (a power of two) for a key.
fn entry_of(key: impl std::hash::Hash, entries: usize) -> usize {
    use std::hash::Hasher;
    let mut hasher = rustc_hash::FxHasher::default();
    key.hash(&mut hasher);
    (hasher.finish() >> (64 - entries.trailing_zeros())) as usize
}

/// The next [`Engine::id`].
static ENGINES: AtomicU64 = AtomicU64::new(0);

/// Where the lower-cased text of one event field is in [`Scratch::texts`], valid for the
/// event of `generation`.
#[derive(Default, Clone)]
struct Lowered {
    generation: u32,
    /// Whether the field has a text (lists and nulls have none).
    has_text: bool,
    text: std::ops::Range<usize>,
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
        Engine::compile(conditions, names, Regexes::default())
    }

    /// Compiles conditions as [`Engine::new`] does, sharing the regular expressions this
    /// engine holds: each is built once (when an event first needs it), whichever engine
    /// needs it. A rule set's conditions for Security 4688 repeat its rules' patterns, and
    /// building SigmaHQ's twice was 4 % of the instructions of hunting `../shared/data/evtx`.
    pub fn beside(
        &self,
        conditions: impl IntoIterator<Item = impl Borrow<Expr>>,
    ) -> (Engine, Vec<(usize, CompileError)>) {
        let names = if self.fields.exact_names { FieldNames::Exact } else { FieldNames::IgnoreCase };
        Engine::compile(conditions, names, self.regexes.clone())
    }

    fn compile(
        conditions: impl IntoIterator<Item = impl Borrow<Expr>>,
        names: FieldNames,
        regexes: Regexes,
    ) -> (Engine, Vec<(usize, CompileError)>) {
        let mut compiler = Compiler { regexes, ..Compiler::default() };
        compiler.fields.exact_names = names == FieldNames::Exact;
        let mut routes = Routes::default();
        let mut prefilter = PrefilterBuilder::default();
        let mut rules = Vec::new();
        let mut errors = Vec::new();
        for (index, condition) in conditions.into_iter().enumerate() {
            let condition = condition.borrow();
            let keys = routing::keys(condition);
            // Compiled first, so that the witnesses find the rule's fields and regexes.
            let compiled = compile::compile(condition, &mut compiler);
            prefilter.add(condition, &compiler, keys.as_deref());
            match compiled {
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
        let Compiler { fields, regexes } = compiler;
        let engine = Engine { id, rules, fields, routes, prefilter, regexes, use_prefilter: true, trim_values: false };
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
            // The shape first: it tells where the channel and event id are.
            self.prepare(event, scratch);
            let plan = self.use_prefilter.then(|| self.plan_of(event, scratch));
            // An event no rule is routed to (most of a channel the rules do not read) needs
            // no more.
            if plan.as_ref().is_some_and(|plan| plan.ungated.is_empty() && plan.scanners.is_empty()) {
                return;
            }
            let mut to_run = std::mem::take(&mut scratch.to_run);
            let mut view = View { engine: self.id, event, scratch, trim: self.trim_values };
            let generation = view.next_generation(self.rules.len());
            match &plan {
                Some(plan) => {
                    view.scan_witnesses(&self.prefilter, plan, generation);
                    let witnessed = &mut view.scratch.witnessed;
                    witnessed.sort_unstable();
                    merge_sorted(&plan.ungated, witnessed, &mut to_run);
                }
                None => {
                    let channel = event.channel().unwrap_or("").to_lowercase();
                    self.routes.candidates(&channel, event.event_id(), &mut to_run);
                }
            }
            for &rule in &to_run {
                if let Some(node) = &self.rules[rule as usize]
                    && view.eval(node)
                {
                    hits.push(rule as usize);
                }
            }
            view.scratch.to_run = to_run;
        });
    }

    /// The event's channel, as [`Event::channel`] gives it. For an event marked with its
    /// shape, found where the shape says, without a look at its field names; the shape of an
    /// unmarked one costs more to find than that look.
    pub fn channel<'e>(&self, event: &'e Event) -> Option<&'e str> {
        if event.shape().is_none() {
            return event.channel();
        }
        SCRATCH.with(|scratch| {
            let scratch = &mut *scratch.borrow_mut();
            self.prepare(event, scratch);
            scratch.shape.channel(event)
        })
    }

    /// The plan of the event's channel and event id, remembered per thread.
    fn plan_of(&self, event: &Event, scratch: &mut Scratch) -> Rc<Plan> {
        let shape = &scratch.shape;
        let (channel, event_id) = (shape.channel(event).unwrap_or(""), shape.event_id(event));
        if scratch.known_plans.is_empty() {
            scratch.known_plans.resize_with(KNOWN_PLANS, || None);
        }
        let at = entry_of((self.id, channel, event_id), KNOWN_PLANS);
        if let Some(known) = &scratch.known_plans[at]
            && known.engine == self.id
            && known.event_id == event_id
            && *known.channel == *channel
        {
            return known.plan.clone();
        }
        let plan = Rc::new(self.plan(channel, event_id));
        if channel.len() <= MAX_REMEMBERED_BYTES {
            let known = KnownPlan { engine: self.id, channel: channel.into(), event_id, plan: plan.clone() };
            scratch.known_plans[at] = Some(known);
        }
        plan
    }

    fn plan(&self, channel: &str, event_id: Option<i64>) -> Plan {
        let mut candidates = Vec::new();
        self.routes.candidates(&channel.to_lowercase(), event_id, &mut candidates);
        let mut plan = Plan {
            ungated: Vec::new(),
            scanners: Vec::new(),
            gated: vec![0; self.rules.len().div_ceil(64)],
            shortest_keyword: None,
        };
        for rule in candidates {
            if self.prefilter.is_gated(rule) {
                plan.gated[rule as usize / 64] |= 1 << (rule % 64);
                plan.scanners.extend_from_slice(self.prefilter.scanners_of(rule));
            } else {
                plan.ungated.push(rule);
            }
        }
        plan.scanners.sort_unstable();
        plan.scanners.dedup();
        let scanners = plan.scanners.iter().map(|&number| &self.prefilter.scanners[number as usize]);
        plan.shortest_keyword =
            scanners.filter(|scanner| matches!(scanner.place, Place::AnyValue(_))).map(Scanner::shortest).min();
        plan
    }

    /// Resolves the event's fields to slots (first occurrence of a name wins, as in
    /// [`Event::get`]). Events of one shape (a template, a layout) fill the same slots, so
    /// the slots are remembered per shape, found by the names' addresses: resolving forty
    /// names an event was a twelfth of matching.
    fn prepare(&self, event: &Event, scratch: &mut Scratch) {
        let fields = event.fields();
        if scratch.lowered.len() < fields.len() {
            scratch.lowered.resize(fields.len(), Lowered::default());
        }
        if scratch.known_shapes.is_empty() {
            scratch.known_shapes.resize_with(KNOWN_SHAPES, || None);
        }
        let at = match event.shape() {
            Some(id) => entry_of((self.id, id), KNOWN_SHAPES),
            None => entry_of((self.id, NamesOf(fields)), KNOWN_SHAPES),
        };
        if let Some(known) = &scratch.known_shapes[at]
            && known.fits(self.id, event)
        {
            scratch.shape = known.clone();
            return;
        }
        let shape = Rc::new(self.shape(event, scratch));
        let short =
            |names: &FieldName| names.name().len().max(names.path().map_or(0, str::len)) <= MAX_REMEMBERED_BYTES;
        if fields.len() <= MAX_SHAPE_FIELDS && shape.names.iter().all(short) {
            scratch.known_shapes[at] = Some(shape.clone());
        }
        scratch.shape = shape;
    }

    fn shape(&self, event: &Event, scratch: &mut Scratch) -> Shape {
        let fields = event.fields();
        if scratch.known_names.is_empty() {
            scratch.known_names.resize(KNOWN_NAMES, KnownName::default());
        }
        let mut slots = vec![NONE; self.fields.len()];
        for (index, field) in fields.iter().enumerate() {
            for slot in self.slots_of(field.names(), scratch) {
                if slot != NONE && slots[slot as usize] == NONE {
                    slots[slot as usize] = index as u32;
                }
            }
        }
        Shape {
            engine: self.id,
            id: event.shape(),
            names: fields.iter().map(|field| field.names().clone()).collect(),
            slots: slots.into(),
            channel: event.position(names::CHANNEL),
            event_id: event.position(names::EVENT_ID),
        }
    }

    /// The slots a field's name and path fill (`NONE` where no rule names them). Names repeat
    /// from event to event, shared (see [`FieldName`]), so the slots are remembered:
    /// lower-casing each of forty names an event and looking it up in the engine's table cost
    /// twice as much (6 % of a SigmaHQ hunt against 3 %). The entry is found by the names'
    /// address rather than their text, which would be hashed byte by byte for each field of
    /// each event; an entry holds its names, so their address names no others while it is kept.
    fn slots_of(&self, names: &FieldName, scratch: &mut Scratch) -> [u32; 2] {
        let at = entry_of((self.id, names.address()), KNOWN_NAMES);
        let known = &scratch.known_names[at];
        if known.engine == self.id && known.names.as_ref().is_some_and(|known| known.same(names) || known == names) {
            return known.slots;
        }
        let path = names.path().filter(|_| self.fields.has_dotted);
        let slots = [self.slot_of(names.name()), path.map_or(NONE, |path| self.slot_of(path))];
        if names.name().len().max(path.map_or(0, str::len)) <= MAX_REMEMBERED_BYTES {
            scratch.known_names[at] = KnownName { engine: self.id, names: Some(names.clone()), slots };
        }
        slots
    }

    /// The slot a name fills in this engine (`NONE` if no rule names it), lower-cased as rules'
    /// names are so that an event's field and a rule's are found alike.
    fn slot_of(&self, name: &str) -> u32 {
        self.fields.slot(name).unwrap_or(NONE)
    }
}

struct View<'e, 's> {
    /// The [`Engine::id`] of the engine evaluating.
    engine: u64,
    event: &'e Event,
    scratch: &'s mut Scratch,
    trim: bool,
}

impl View<'_, '_> {
    /// A new mark for this event, in buffers large enough for `rules`.
    fn next_generation(&mut self, rules: usize) -> u32 {
        let scratch = &mut *self.scratch;
        scratch.generation = scratch.generation.wrapping_add(1);
        scratch.texts.clear();
        // Marks of other engines on this thread are from older generations, so the buffers
        // are shared as they are; only a wrapped generation needs a clean slate.
        if scratch.generation == 0 {
            scratch.marks.iter_mut().for_each(|mark| mark.generation = 0);
            scratch.lowered.iter_mut().for_each(|lowered| lowered.generation = 0);
            scratch.generation = 1;
        }
        if scratch.marks.len() < rules {
            scratch.marks.resize(rules, Mark::default());
        }
        scratch.generation
    }

    /// Runs the plan's scanners over the event's fields, and gathers the rules routed to the
    /// event whose witness occurs in [`Scratch::witnessed`].
    fn scan_witnesses(&mut self, prefilter: &Prefilter, plan: &Plan, generation: u32) {
        self.scratch.witnessed.clear();
        // Keyword scanners read every value: lower-cased first, the fields' texts the field
        // scanners and the rules read are all lower-cased at once.
        if let Some(shortest) = plan.shortest_keyword {
            self.lower_all_values(generation, shortest);
        }
        for &number in &plan.scanners {
            let scanner = &prefilter.scanners[number as usize];
            match scanner.place {
                Place::Slot(slot) => {
                    if let Some(index) = self.field_index(slot) {
                        self.scan_field((prefilter, number), index, plan, generation);
                    }
                }
                Place::AnyValue(_) => self.scan_all_values((prefilter, number), plan, generation),
            }
        }
    }

    fn scan_field(&mut self, (prefilter, number): (&Prefilter, u32), index: usize, plan: &Plan, generation: u32) {
        let scanner = &prefilter.scanners[number as usize];
        let value = &self.event.fields()[index].value;
        if !scanner.may_hold(value) {
            return;
        }
        // Fill the cache (scalars), then read it beside the marks without copying it.
        let items = match value {
            Value::List(items) => Some(items),
            _ => {
                self.lowered(index);
                None
            }
        };
        let Scratch { lowered, texts, marks, witnessed, known_scans, .. } = &mut *self.scratch;
        let mut mark = marker(prefilter, plan, marks, witnessed, generation);
        match items {
            Some(items) => {
                for text in items.iter().filter_map(|item| lower(item, self.trim)) {
                    scanner.scan(&text, &mut mark);
                }
            }
            None if lowered[index].has_text => {
                let text = &texts[lowered[index].text.clone()];
                scan_remembered(known_scans, (self.engine, number, scanner), text, &mut mark);
            }
            None => {}
        }
    }

    /// Runs a keyword scanner over every value of the event at once: one search of a few
    /// kilobytes costs less than forty searches of a few bytes each (the SIMD search of a
    /// keyword scanner has a cost per call). Integers, which few keywords can occur in, are
    /// left out of it and scanned one by one by those scanners. A literal found across the
    /// NUL after a value (in values holding NULs) only has its rules evaluated, which decide.
    /// It reads the values [`View::lower_all_values`] gathered for the event.
    fn scan_all_values(&mut self, (prefilter, number): (&Prefilter, u32), plan: &Plan, generation: u32) {
        let scanner = &prefilter.scanners[number as usize];
        let (event, trim) = (self.event, self.trim);
        let Scratch { texts, values, integer, marks, witnessed, .. } = &mut *self.scratch;
        let mut mark = marker(prefilter, plan, marks, witnessed, generation);
        scanner.scan(&texts[values.clone()], &mut mark);
        if scanner.in_integers() {
            for value in values_of(event).filter(|value| matches!(value, Value::Int(_))) {
                lower_into(value, trim, integer);
                scanner.scan(integer, &mut mark);
            }
        }
    }

    /// Appends every value of the event but integers and texts shorter than `shortest` to
    /// [`Scratch::texts`], lower-cased and each followed by a NUL, and points
    /// each of their fields at its own text there. Values are copied as they are and
    /// lower-cased all at once when they are all ASCII, as nearly all events' are: lower-casing
    /// each of forty short values apart cost several times more, and so did asking each of
    /// them whether it is ASCII. An event with a value that is not (a fifth of the JSON
    /// events) has its values copied again, those lower-cased one by one, which ASCII
    /// lower-casing then leaves as they are.
    fn lower_all_values(&mut self, generation: u32, shortest: usize) {
        let (event, trim) = (self.event, self.trim);
        let Scratch { texts, lowered, values, .. } = &mut *self.scratch;
        let start = texts.len();
        append_values(event, (trim, shortest), texts, lowered, generation, append_as_is);
        if !texts[start..].is_ascii() {
            texts.truncate(start);
            append_values(event, (trim, shortest), texts, lowered, generation, append_ascii_or_lowered);
        }
        texts[start..].make_ascii_lowercase();
        *values = start..texts.len();
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
        let index = self.scratch.shape.slots[slot as usize];
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
        let Scratch { lowered, texts, .. } = &mut *self.scratch;
        let lowered = &mut lowered[index];
        if lowered.generation != generation {
            let start = texts.len();
            let has_text = append_lowered(&self.event.fields()[index].value, self.trim, texts);
            *lowered = Lowered { generation, has_text, text: start..texts.len() };
        }
        lowered.has_text.then(|| &texts[lowered.text.clone()])
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

/// The scalar values of an event, the items of its lists in their place.
fn values_of(event: &Event) -> impl Iterator<Item = &Value> {
    event.fields().iter().flat_map(|field| match &field.value {
        Value::List(items) => items.as_slice(),
        scalar => std::slice::from_ref(scalar),
    })
}

/// Appends the text of every value of `event` that may hold a keyword of `shortest` bytes or
/// more to `texts` as `append` writes it, each followed by a NUL, and points each such
/// scalar field's entry of `lowered` at its own.
fn append_values(
    event: &Event,
    (trim, shortest): (bool, usize),
    texts: &mut String,
    lowered: &mut [Lowered],
    generation: u32,
    append: impl Fn(&Value, bool, &mut String) -> bool,
) {
    for (field, lowered) in event.fields().iter().zip(lowered) {
        match &field.value {
            value if holds_no_keyword(value, shortest) => {}
            Value::List(items) => {
                for item in items.iter().filter(|item| !holds_no_keyword(item, shortest)) {
                    if append(item, trim, texts) {
                        texts.push('\0');
                    }
                }
            }
            value => {
                let start = texts.len();
                let has_text = append(value, trim, texts);
                *lowered = Lowered { generation, has_text, text: start..texts.len() };
                if has_text {
                    texts.push('\0');
                }
            }
        }
    }
}

/// Whether a value holds no keyword of `shortest` bytes or more: an integer (keywords in
/// integers are looked for apart, see [`Scanner::in_integers`]), or a text too short to
/// hold one once lower-cased (see [`may_hold_text`]).
fn holds_no_keyword(value: &Value, shortest: usize) -> bool {
    match value {
        Value::Int(_) => true,
        Value::Str(text) => !may_hold_text(text, shortest),
        _ => false,
    }
}

/// Appends the text of `value` as it is.
fn append_as_is(value: &Value, trim: bool, into: &mut String) -> bool {
    match value {
        Value::Str(text) => {
            into.push_str(if trim { text.trim() } else { text });
            true
        }
        other => other.write_text(into),
    }
}

/// Appends the text of `value` as it is when it is ASCII, to be lower-cased with others at
/// once, else lower-cased (see [`append_lowered`]); either way, ASCII lower-casing leaves
/// it as [`append_lowered`] writes it.
fn append_ascii_or_lowered(value: &Value, trim: bool, into: &mut String) -> bool {
    match value {
        Value::Str(text) if !text.is_ascii() => append_lowered(value, trim, into),
        ascii_or_other => append_as_is(ascii_or_other, trim, into),
    }
}

/// Calls `mark` for each group of a rule whose witness `scanner` (number `number` of engine
/// `engine`) finds in `text`, as [`Scanner::scan`] does, from what it found in the same text lately
/// when it did: most field values recur (an image path, a command line; four fifths of the
/// bytes of the shared EVTX files' texts are in a value its field held before), and looking
/// a text up costs a fraction of searching it.
fn scan_remembered(
    known_scans: &mut Vec<Option<KnownScan>>,
    (engine, number, scanner): (u64, u32, &Scanner),
    text: &str,
    mark: &mut impl FnMut(u32),
) {
    let key = (engine, number, text);
    let at = if text.len() <= MAX_REMEMBERED_SCAN_BYTES {
        entry_of(key, KNOWN_SCANS)
    } else if text.len() <= MAX_REMEMBERED_LONG_SCAN_BYTES {
        KNOWN_SCANS + entry_of(key, KNOWN_LONG_SCANS)
    } else {
        scanner.scan(text, mark);
        return;
    };
    if known_scans.is_empty() {
        known_scans.resize_with(KNOWN_SCANS + KNOWN_LONG_SCANS, || None);
    }
    let known = match &mut known_scans[at] {
        Some(known) if known.engine == engine && known.scanner == number && *known.text == *text => known,
        entry => {
            // Literals, not their codes, are kept: a literal common to many rules (`.exe`)
            // witnesses hundreds of groups, which sorting to drop repeats cost a twentieth of
            // matching.
            let mut literals = Vec::new();
            scanner.find_literals(text, &mut |literal| literals.push(literal));
            literals.sort_unstable();
            literals.dedup();
            entry.insert(KnownScan { engine, scanner: number, text: text.into(), literals: literals.into() })
        }
    };
    known.literals.iter().for_each(|&literal| scanner.codes_of(literal).iter().for_each(|&code| mark(code)));
}

/// Marks the group of a gated rule routed to the event a scanner found a witness of (see
/// [`crate::prefilter::decode`]); the rule is witnessed, once, when all its groups are.
fn marker<'m>(
    prefilter: &'m Prefilter,
    plan: &'m Plan,
    marks: &'m mut [Mark],
    witnessed: &'m mut Vec<u32>,
    generation: u32,
) -> impl FnMut(u32) + 'm {
    move |code| {
        let (rule, group) = crate::prefilter::decode(code);
        if !plan.routes_gated(rule) {
            return;
        }
        let mark = &mut marks[rule as usize];
        if mark.generation != generation {
            *mark = Mark { generation, missing: prefilter.groups_of(rule) };
        }
        if mark.missing & group != 0 {
            mark.missing &= !group;
            if mark.missing == 0 {
                witnessed.push(rule);
            }
        }
    }
}

/// Merges two sorted lists without common items into `into`.
fn merge_sorted(left: &[u32], right: &[u32], into: &mut Vec<u32>) {
    into.clear();
    let (mut left, mut right) = (left.iter().peekable(), right.iter().peekable());
    while let (Some(&&a), Some(&&b)) = (left.peek(), right.peek()) {
        if a < b {
            into.push(a);
            left.next();
        } else {
            into.push(b);
            right.next();
        }
    }
    into.extend(left.chain(right));
}

fn lower(value: &Value, trim: bool) -> Option<String> {
    let mut text = String::new();
    lower_into(value, trim, &mut text).then_some(text)
}

/// Writes the lower-cased text of `value` into `into` (ASCII in place, without allocating once
/// `into` has grown); false when the value has no text.
fn lower_into(value: &Value, trim: bool, into: &mut String) -> bool {
    into.clear();
    append_lowered(value, trim, into)
}

/// Appends the lower-cased text of `value` to `into`; false (and nothing appended) when the
/// value has no text.
fn append_lowered(value: &Value, trim: bool, into: &mut String) -> bool {
    let start = into.len();
    let text = match value {
        Value::Str(text) if trim => text.trim(),
        Value::Str(text) => text,
        // Numbers and booleans, written without a text of their own (`NaN` has capitals).
        other => {
            let has_text = other.write_text(into);
            into[start..].make_ascii_lowercase();
            return has_text;
        }
    };
    push_lowercase(text, into);
    true
}

/// Appends `text` lower-cased as [`str::to_lowercase`] gives it. Long texts (scripts, messages)
/// often hold a few non-ASCII characters among ASCII ones: each ASCII run is lower-cased
/// as bytes, many at a time, where `to_lowercase` goes character by character from the first
/// non-ASCII one on.
fn push_lowercase(mut text: &str, into: &mut String) {
    if text.is_ascii() {
        push_ascii_lowercase(text, into);
        return;
    }
    // A capital sigma lowers by its context (final or not): `to_lowercase` knows it.
    if text.contains('Σ') {
        into.push_str(&text.to_lowercase());
        return;
    }
    while !text.is_empty() {
        let ascii = text.bytes().position(|byte| !byte.is_ascii()).unwrap_or(text.len());
        push_ascii_lowercase(&text[..ascii], into);
        let mut rest = text[ascii..].chars();
        if let Some(other) = rest.next() {
            into.extend(other.to_lowercase());
        }
        text = rest.as_str();
    }
}

fn push_ascii_lowercase(ascii: &str, into: &mut String) {
    let start = into.len();
    into.push_str(ascii);
    into[start..].make_ascii_lowercase();
}

/// One scalar value against a matcher; `lowered` is its lower-cased text.
fn test_value(value: &Value, lowered: Option<&str>, matcher: &Matcher, trim: bool) -> bool {
    let raw = || value.as_text().map(|text| if trim { std::borrow::Cow::Owned(text.trim().to_owned()) } else { text });
    match matcher {
        Matcher::Text { texts, cased: false } => {
            lowered.is_some_and(|lowered| texts.iter().any(|text| text.is_match(lowered)))
        }
        Matcher::Text { texts, cased: true } => raw().is_some_and(|raw| texts.iter().any(|text| text.is_match(&raw))),
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

#[cfg(test)]
mod tests {
    use super::*;
    use harrier_event::{Field, Provenance, SourceFile};
    use harrier_ir::{Predicate, Test};
    use std::sync::Arc;

    fn command_line_matches(pattern: &str) -> Expr {
        let test = Test::Regex { pattern: pattern.into(), ignore_case: false, multi_line: false, dot_all: false };
        Expr::Pred(Predicate { field: Some("CommandLine".into()), test })
    }

    #[test]
    fn an_engine_beside_another_builds_their_regexes_once() {
        let (rules, _) = Engine::new([command_line_matches(r"-k \w+"), command_line_matches("x+y")]);
        let (plain, errors) = rules.beside([command_line_matches(r"-k \w+")]);
        assert!(errors.is_empty());
        assert!(!rules.regexes.is_built(r"-k \w+"));
        let provenance =
            Provenance { source: Arc::new(SourceFile { path: "test".into() }), record_id: 1, timestamp: None };
        let command_line = Value::Str("svchost.exe -k netsvcs".into());
        let event = Event::new(provenance, vec![Field::new("CommandLine", command_line)]);
        let mut hits = Vec::new();
        plain.matches(&event, &mut hits);
        assert_eq!(hits, [0]);
        assert!(rules.regexes.is_built(r"-k \w+"), "built by the engine beside, for both");
        assert!(!rules.regexes.is_built("x+y"));
    }

    fn contains(field: Option<&str>, text: &str) -> Expr {
        let pattern = harrier_ir::Pattern::from_tokens([
            harrier_ir::Token::AnyRun,
            harrier_ir::Token::Literal(text.into()),
            harrier_ir::Token::AnyRun,
        ]);
        Expr::Pred(Predicate { field: field.map(Into::into), test: Test::Matches { pattern, cased: false } })
    }

    fn hits(engine: &Engine, fields: &[(&str, Value)]) -> Vec<usize> {
        hits_of(engine, &event_of(fields))
    }

    fn hits_of(engine: &Engine, event: &Event) -> Vec<usize> {
        let mut hits = Vec::new();
        engine.matches(event, &mut hits);
        hits
    }

    fn event_of(fields: &[(&str, Value)]) -> Event {
        let provenance =
            Provenance { source: Arc::new(SourceFile { path: "test".into() }), record_id: 1, timestamp: None };
        Event::new(provenance, fields.iter().map(|(name, value)| Field::new(name, value.clone())).collect())
    }

    #[test]
    fn values_lower_cased_all_at_once_are_each_fields_text_too() {
        let rules = [
            contains(None, "été"),
            contains(Some("Image"), "\\cmd.exe"),
            contains(Some("Image"), "été"),
            contains(None, "whoami"),
            contains(Some("CommandLine"), "whoami"),
            contains(Some("Count"), "12"),
        ];
        let (engine, errors) = Engine::new(rules);
        assert!(errors.is_empty());
        let ascii = [
            ("Image", Value::Str("C:\\Windows\\CMD.EXE".into())),
            ("CommandLine", Value::Str("CMD /C WHOAMI".into())),
            ("Count", Value::Int(12)),
        ];
        assert_eq!(hits(&engine, &ascii), [1, 3, 4, 5]);
        // One value not ASCII: every value is lower-cased apart, as `to_lowercase` does.
        let mixed = [
            ("Image", Value::Str("C:\\ÉTÉ\\CMD.EXE".into())),
            ("CommandLine", Value::Str("CMD /C WHOAMI".into())),
            ("Count", Value::Int(12)),
        ];
        assert_eq!(hits(&engine, &mixed), [0, 1, 2, 3, 4, 5]);
    }

    #[test]
    fn an_or_of_one_fields_patterns_is_one_test_and_the_same_hits() {
        let any_of = |field: Option<&str>, texts: &[&str]| {
            let mut items: Vec<Expr> = texts.iter().map(|text| contains(field, text)).collect();
            items.push(command_line_matches("^x{3}$"));
            Expr::Or(items)
        };
        let (engine, _) = Engine::new([
            any_of(Some("Image"), &["\\a.exe", "\\b.exe"]),
            any_of(Some("Image"), &["\\c.exe"]),
            any_of(None, &["zzz", "b.exe"]),
        ]);
        let Some(Node::Or(nodes)) = &engine.rules[0] else { panic!("an or") };
        assert_eq!(nodes.len(), 2, "the patterns of Image gathered, the regex apart");
        let image = |path: &str| [("Image", Value::Str(path.into())), ("CommandLine", Value::Str("y".into()))];
        assert_eq!(hits(&engine, &image("C:\\B.EXE")), [0, 2]);
        assert_eq!(hits(&engine, &image("C:\\c.exe")), [1]);
        assert_eq!(hits(&engine, &[("CommandLine", Value::Str("xxx".into()))]), [0, 1, 2]);
    }

    #[test]
    fn events_of_one_shape_and_of_others_find_their_own_fields() {
        let (engine, _) = Engine::new([contains(Some("Image"), "a.exe"), contains(Some("CommandLine"), "a.exe")]);
        let image_first = |image: &str, command_line: &str| {
            [("Image", Value::Str(image.into())), ("CommandLine", Value::Str(command_line.into()))]
        };
        assert_eq!(hits(&engine, &image_first("a.exe", "b")), [0]);
        assert_eq!(hits(&engine, &image_first("b", "a.exe")), [1], "the same shape, other values");
        let command_line_first = [("CommandLine", Value::Str("a.exe".into())), ("Image", Value::Str("b".into()))];
        assert_eq!(hits(&engine, &command_line_first), [1], "the same names in another order");
        let twice = [("Image", Value::Str("b".into())), ("image", Value::Str("a.exe".into()))];
        assert_eq!(hits(&engine, &twice), Vec::<usize>::new(), "the first of two equal names");
    }

    /// Events marked with their shape are told apart by the mark alone, and find their fields
    /// as unmarked events of the same names do, whichever comes first.
    #[test]
    fn events_marked_with_their_shape_find_their_own_fields() {
        let (engine, _) = Engine::new([contains(Some("Image"), "a.exe"), contains(Some("CommandLine"), "a.exe")]);
        let (image_first, command_line_first) = (ShapeId::unique(), ShapeId::unique());
        let event = |[first, second]: [&str; 2], shape: Option<ShapeId>| {
            let event = event_of(&[(first, Value::Str("a.exe".into())), (second, Value::Str("b".into()))]);
            match shape {
                Some(shape) => event.with_shape(shape),
                None => event,
            }
        };
        for _ in 0..2 {
            assert_eq!(hits_of(&engine, &event(["CommandLine", "Image"], None)), [1]);
            assert_eq!(hits_of(&engine, &event(["Image", "CommandLine"], Some(image_first))), [0]);
            assert_eq!(hits_of(&engine, &event(["CommandLine", "Image"], Some(command_line_first))), [1]);
            assert_eq!(hits_of(&engine, &event(["Image", "CommandLine"], None)), [0]);
        }
        let security = event_of(&[("Image", Value::Str("a.exe".into())), ("Channel", Value::Str("Security".into()))]);
        let marked = security.clone().with_shape(ShapeId::unique());
        for event in [&security, &marked, &marked] {
            assert_eq!(engine.channel(event), Some("Security"));
        }
    }

    #[test]
    fn a_text_scanned_before_finds_the_same_witnesses_in_each_engine() {
        let (finds_nothing, _) = Engine::new([contains(Some("CommandLine"), "zzz")]);
        let (finds_it, _) = Engine::new([contains(Some("CommandLine"), "whoami")]);
        let event = |command_line: &str| [("CommandLine", Value::Str(command_line.into()))];
        for _ in 0..3 {
            assert_eq!(hits(&finds_nothing, &event("cmd /c WHOAMI")), Vec::<usize>::new());
            assert_eq!(hits(&finds_it, &event("cmd /c WHOAMI")), [0]);
            assert_eq!(hits(&finds_it, &event("cmd /c whoam")), Vec::<usize>::new());
        }
    }

    #[test]
    fn texts_lower_as_to_lowercase_lowers_them() {
        let texts = [
            "",
            "C:\\Windows\\System32\\CMD.EXE /C Whoami",
            "Invoke-Expression \u{2019}IEX\u{2019} ÉTÉ Straße",
            "İSTANBUL and KELVIN \u{212A}: lowering makes them longer or ASCII",
            "ΟΔΟΣ ΣΑΣ Σ.",
            "é",
            "ÀB",
            "\u{10400}DESERET\u{10400}",
        ];
        for text in texts {
            let mut lowered = String::from("kept|");
            push_lowercase(text, &mut lowered);
            assert_eq!(lowered, format!("kept|{}", text.to_lowercase()), "{text}");
        }
    }
}
