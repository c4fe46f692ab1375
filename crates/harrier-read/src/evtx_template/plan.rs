//! Plans: the fields a walk of a record's elements gives, kept for every record of its shape.
//!
//! Walking a template's elements for each record (which are left out, which hold text, what
//! their fields are named) cost more than converting the record's values. What the walk
//! does depends only on the record's shape: its template and its fragments' templates, and
//! for each value its type and whether it is empty. So the walk records, for a shape, which
//! field takes which value, literal or converted (a plan); a record of a shape met before
//! only has its values converted into the plan's fields.

use super::{Element, Instance, RawValue, RecordFields, kind, string_array_items};
use harrier_event::{FieldName, ShapeId, Timestamp, Value, names};
use harrier_normalize::ElementFields;
use rustc_hash::FxHashMap;
use smallvec::SmallVec;
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

/// Shapes whose plans a thread keeps before it starts over, so that memory stays bounded
/// whatever the input (a plan is some tens of fields).
const MAX_PLANS: usize = 4096;

thread_local! {
    static PLANS: RefCell<Plans> = RefCell::default();
}

#[derive(Default)]
struct Plans {
    by_shape: FxHashMap<Box<[u64]>, Rc<Plan>>,
    /// The shape of the record being read, kept to spare an allocation per record.
    shape: Vec<u64>,
}

/// Where a field's value comes from.
pub(super) enum Source {
    /// A value the template holds: a literal text, `""` or null.
    Literal(Value),
    /// The value `index` of the record's `instance`-th instance (its own first, then its
    /// fragments', depth first).
    Value { instance: u16, index: u16 },
    /// The items of an array of strings: one alone, several as a list.
    StringArray { instance: u16, index: u16 },
    /// The values of unnamed `Data` elements, as a list.
    List(Vec<Source>),
}

impl Source {
    pub(super) fn literal(text: &str) -> Source {
        Source::Literal(Value::Str(text.to_owned()))
    }
}

/// One field of a plan.
struct Op {
    name: FieldName,
    source: Source,
    /// Whether it is the event's `TimeCreated` (its first field of that name).
    created: bool,
    /// Whether a numeric text in it becomes an integer (see [`ElementFields::is_integer`]).
    integer: bool,
}

/// The fields of one shape; `None` when its records take the JSON path.
struct Plan {
    ops: Option<Vec<Op>>,
    /// Which of them is the event's own `EventRecordID`, as `Event::get` finds it.
    record_id_at: Option<usize>,
    /// The shape of its events: the names of its fields, in order.
    shape: ShapeId,
    /// The templates the shape names by address: kept, so that no other template is given
    /// one of their addresses while the plan is kept.
    _roots: Vec<Rc<Element>>,
}

/// Records the fields a walk gives, and names them.
pub(super) struct Recorder<'f> {
    pub(super) fields: &'f mut ElementFields,
    /// The record's instances by address, in the order sources number them.
    instances: Vec<usize>,
    ops: Vec<Op>,
}

impl Recorder<'_> {
    pub(super) fn value(&self, instance: &Instance<'_>, index: u16) -> Source {
        Source::Value { instance: self.number(instance), index }
    }

    pub(super) fn string_array(&self, instance: &Instance<'_>, index: u16) -> Source {
        Source::StringArray { instance: self.number(instance), index }
    }

    /// The instance's number; every instance the walk meets was numbered (an instance past
    /// the numbers would give no value: its record would take the JSON path).
    fn number(&self, instance: &Instance<'_>) -> u16 {
        let address = std::ptr::from_ref(instance) as usize;
        let number = self.instances.iter().position(|&known| known == address);
        number.and_then(|number| u16::try_from(number).ok()).unwrap_or(u16::MAX)
    }

    pub(super) fn push(&mut self, name: &FieldName, source: Source) {
        let is_created = |name: &FieldName| name.name().eq_ignore_ascii_case(names::TIME_CREATED);
        let created = is_created(name) && !self.ops.iter().any(|op| is_created(&op.name));
        let integer = ElementFields::is_integer(name);
        self.ops.push(Op { name: name.clone(), source, created, integer });
    }
}

/// The fields of the record whose instance is `event` (its root an `Event`), or `None` when
/// it takes the JSON path.
pub(super) fn read(event: &Instance<'_>, root_path: &Arc<str>) -> Option<RecordFields> {
    // On the stack: a record has one instance or two (its `EventData` a fragment), and this
    // was one allocation an event.
    let mut instances: SmallVec<[&Instance<'_>; 4]> = SmallVec::new();
    let plan = PLANS.with(|plans| {
        let mut plans = plans.borrow_mut();
        let Plans { by_shape, shape } = &mut *plans;
        shape.clear();
        let shared = describe(event, &mut instances, shape);
        if instances.len() > usize::from(u16::MAX) {
            return None;
        }
        if let Some(plan) = by_shape.get(shape.as_slice()).filter(|_| shared) {
            return Some(plan.clone());
        }
        let plan = Rc::new(walk(event, &instances, root_path, &mut ElementFields::default()));
        if shared {
            if by_shape.len() >= MAX_PLANS {
                by_shape.clear();
            }
            by_shape.insert(shape.as_slice().into(), plan.clone());
        }
        Some(plan)
    })?;
    let ops = plan.ops.as_ref()?;
    let instances = instances.as_slice();
    let mut fields = ElementFields::named(ops.iter().map(|op| &op.name));
    for (index, op) in ops.iter().enumerate() {
        match created_time(op, instances) {
            Some((time, text)) => fields.fill_created(index, time, text),
            None if fields.fill(index, op.integer, |into| fill(&op.source, instances, into)) => {}
            None => return None,
        }
    }
    Some(RecordFields { fields, record_id_at: plan.record_id_at, shape: plan.shape })
}

/// Drops the plans this thread keeps.
pub(super) fn forget() {
    PLANS.with(|plans| plans.take());
}

/// Numbers the instance and its fragments (depth first) into `instances`, and appends their
/// shape; false when an instance's elements are its own (a fragment with no template),
/// which another record's at the same address are not.
fn describe<'i, 'a>(
    instance: &'i Instance<'a>,
    instances: &mut SmallVec<[&'i Instance<'a>; 4]>,
    shape: &mut Vec<u64>,
) -> bool {
    instances.push(instance);
    shape.push(Rc::as_ptr(&instance.root) as usize as u64);
    shape.push(instance.values.len() as u64);
    shape.extend(instance.values.iter().map(|value| {
        u64::from(value.kind) | u64::from(value.is_empty()) << 8 | u64::from(value.bytes.is_empty()) << 9
    }));
    let mut shared = !instance.plain;
    for (_, fragment) in &instance.fragments {
        shared &= describe(fragment, instances, shape);
    }
    shared
}

/// The plan of the record's shape: its elements walked as the JSON rendering renders them.
fn walk(event: &Instance<'_>, instances: &[&Instance<'_>], root_path: &Arc<str>, fields: &mut ElementFields) -> Plan {
    let numbers = instances.iter().map(|instance| std::ptr::from_ref(*instance) as usize).collect();
    let mut out = Recorder { fields, instances: numbers, ops: Vec::new() };
    let walked = walk_sections(event, root_path, &mut out);
    let roots = instances.iter().map(|instance| instance.root.clone()).collect();
    let record_id_at = out.ops.iter().position(|op| op.name.answers_to(names::EVENT_RECORD_ID));
    Plan { ops: walked.map(|()| out.ops), record_id_at, shape: ShapeId::unique(), _roots: roots }
}

fn walk_sections(event: &Instance<'_>, root_path: &Arc<str>, out: &mut Recorder) -> Option<()> {
    let event_path = event.root.path(root_path, out.fields);
    for (section, instance) in event.sections(&event.root, out)? {
        let section_path = section.path(&event_path, out.fields);
        if section.key == "UserData" {
            // UserData wraps one more element, whose children are the fields.
            for (inner, instance) in instance.sections(section, out)? {
                let inner_path = inner.path(&section_path, out.fields);
                instance.children_as_fields(inner, &inner_path, out)?;
            }
        } else {
            instance.children_as_fields(section, &section_path, out)?;
        }
    }
    Some(())
}

/// The event's `TimeCreated` from its FILETIME, and its canonical text, when the op is that
/// field and has one.
fn created_time(op: &Op, instances: &[&Instance<'_>]) -> Option<(Timestamp, String)> {
    // Asked of every field: the one flag first, before looking up a value.
    if !op.created {
        return None;
    }
    let Source::Value { instance, index } = op.source else {
        return None;
    };
    let raw = instances.get(usize::from(instance))?.values.get(usize::from(index))?;
    let ticks = (raw.kind == kind::FILETIME).then(|| u64::from_le_bytes(super::array(raw.bytes)))?;
    harrier_event::filetime_instant(ticks)
}

/// Writes a field's value in this record into `into`; false when it cannot be read (a string
/// that is not valid UTF-16), which leaves the record to the JSON path.
fn fill(source: &Source, instances: &[&Instance<'_>], into: &mut Value) -> bool {
    let raw = |instance: u16, index: u16| -> Option<&RawValue<'_>> {
        instances.get(usize::from(instance))?.values.get(usize::from(index))
    };
    match source {
        Source::Literal(value) => *into = value.clone(),
        Source::Value { instance, index } => return raw(*instance, *index).is_some_and(|raw| raw.convert_into(into)),
        Source::StringArray { instance, index } => {
            let Some(items) = raw(*instance, *index).and_then(string_array_items) else {
                return false;
            };
            *into = match <[Value; 1]>::try_from(items) {
                Ok([only]) => only,
                Err(items) => Value::List(items),
            };
        }
        Source::List(sources) => {
            let mut items = Vec::with_capacity(sources.len());
            for source in sources {
                items.push(Value::Null);
                if !items.last_mut().is_some_and(|item| fill(source, instances, item)) {
                    return false;
                }
            }
            *into = Value::List(items);
        }
    }
    true
}
