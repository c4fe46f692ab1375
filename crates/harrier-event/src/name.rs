//! Field names, kept once and shared by pointer.
//!
//! Every event repeats the same few hundred names (`Image` at `Event.EventData.Image`), so a
//! field does not own its names: the names a process meets are kept for its whole life, once,
//! and a field holds a pointer to them that is copied and dropped without counting
//! references (an atomic count on each copy and drop was a twentieth of reading a log). The
//! kept names are bounded ([`KEPT_BYTES`]): past the bound (logs with generated names), a
//! field shares its names by reference count, and memory stays bounded whatever the input.

use rustc_hash::FxHashMap;
use std::cell::RefCell;
use std::sync::{Arc, Mutex};

/// A field's short name as Sigma rules write it (`Image`, `EventID`, `Provider_Name`) and,
/// when it differs, its dotted full path in the document (`Event.System.EventID`).
#[derive(Clone)]
pub struct FieldName(Repr);

#[derive(Clone)]
enum Repr {
    Kept(&'static Names),
    Shared(Arc<Names>),
}

#[derive(Debug)]
struct Names {
    name: Box<str>,
    path: Option<Box<str>>,
}

impl Names {
    fn new(name: &str, path: Option<&str>) -> Names {
        Names { name: name.into(), path: path.map(Into::into) }
    }
}

/// Bytes of names the process keeps for its life at most.
const KEPT_BYTES: usize = 8 << 20;

/// Longest name and path a thread looks up in its table: a longer one (a generated or
/// crafted key) gets names of its own.
const MAX_LOOKED_UP_BYTES: usize = 512;

/// Distinct names a thread's table holds before it starts over.
const THREAD_NAMES: usize = 50_000;

/// The names kept for the process's life, by key (see [`key`]), and their bytes.
static KEPT: Mutex<Kept> = Mutex::new(Kept { names: None, bytes: 0 });

struct Kept {
    names: Option<FxHashMap<Box<[u8]>, &'static Names>>,
    bytes: usize,
}

thread_local! {
    /// Each thread's names by key, in front of [`KEPT`] and its lock.
    static THREAD: RefCell<ThreadNames> = RefCell::new(ThreadNames::default());
}

/// A thread's names: a map by key, and before it a small direct-mapped table indexed by a
/// few bytes of the name and path, which answers most lookups without building and hashing
/// a key (a JSON reader asks for the names of each field of each event).
struct ThreadNames {
    names: FxHashMap<Box<[u8]>, FieldName>,
    recent: Vec<Option<FieldName>>,
    key: Vec<u8>,
}

const RECENT_SLOTS: usize = 1024;

impl Default for ThreadNames {
    fn default() -> ThreadNames {
        ThreadNames { names: FxHashMap::default(), recent: vec![None; RECENT_SLOTS], key: Vec::new() }
    }
}

impl FieldName {
    /// The names of a field called `name` at `path` (no path when it is the name itself).
    pub fn new(name: &str, path: Option<&str>) -> FieldName {
        let path = path.filter(|path| *path != name);
        if name.len() + path.map_or(0, str::len) > MAX_LOOKED_UP_BYTES {
            return FieldName::shared(name, path);
        }
        THREAD.with(|thread| thread.borrow_mut().get(name, path))
    }

    fn shared(name: &str, path: Option<&str>) -> FieldName {
        FieldName(Repr::Shared(Arc::new(Names::new(name, path))))
    }

    fn names(&self) -> &Names {
        match &self.0 {
            Repr::Kept(names) => names,
            Repr::Shared(names) => names,
        }
    }

    /// The short name: `Image`.
    pub fn name(&self) -> &str {
        &self.names().name
    }

    /// The dotted path, when it differs from the name: `Event.EventData.Image`.
    pub fn path(&self) -> Option<&str> {
        self.names().path.as_deref()
    }

    /// Whether `key` names the field, as [`crate::Event::get`] looks fields up: its short
    /// name or its path, ignoring ASCII case.
    #[inline]
    pub fn answers_to(&self, key: &str) -> bool {
        self.name().eq_ignore_ascii_case(key) || self.path().is_some_and(|path| path.eq_ignore_ascii_case(key))
    }

    /// Whether these are the very names `other` holds (equal names kept once always are),
    /// told without comparing texts.
    pub fn same(&self, other: &FieldName) -> bool {
        std::ptr::eq(self.names(), other.names())
    }

    /// An address that tells these names from any others while they live, to key a cache
    /// by (see [`FieldName::same`]).
    pub fn address(&self) -> usize {
        std::ptr::from_ref(self.names()) as usize
    }
}

impl ThreadNames {
    fn get(&mut self, name: &str, path: Option<&str>) -> FieldName {
        let slot = recent_slot(name, path);
        if let Some(recent) = &self.recent[slot]
            && recent.name() == name
            && recent.path() == path
        {
            return recent.clone();
        }
        key(&mut self.key, name, path);
        let found = match self.names.get(self.key.as_slice()) {
            Some(found) => found.clone(),
            None => {
                if self.names.len() >= THREAD_NAMES {
                    self.names.clear();
                }
                let found = kept(&self.key, name, path).unwrap_or_else(|| FieldName::shared(name, path));
                self.names.insert(self.key.as_slice().into(), found.clone());
                found
            }
        };
        self.recent[slot] = Some(found.clone());
        found
    }
}

/// The slot of [`ThreadNames::recent`] for a name and path: their lengths and a byte or two
/// of each, which tell apart the names a log repeats.
fn recent_slot(name: &str, path: Option<&str>) -> usize {
    let byte = |text: &str, at: usize| text.as_bytes().get(at).map_or(0, |&byte| usize::from(byte));
    let path = path.unwrap_or_default();
    (name.len().wrapping_mul(31)
        ^ (path.len() << 4)
        ^ byte(name, 0)
        ^ (byte(name, name.len().wrapping_sub(1)) << 3)
        ^ (byte(path, path.len().wrapping_sub(1)) << 6))
        % RECENT_SLOTS
}

/// The kept names under `key`, kept now if they fit in [`KEPT_BYTES`].
fn kept(key: &[u8], name: &str, path: Option<&str>) -> Option<FieldName> {
    // A thread that panicked holding the lock left the table whole: entries are inserted
    // in one step.
    let mut kept = KEPT.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    kept.get_or_keep(key, name, path, KEPT_BYTES).map(|names| FieldName(Repr::Kept(names)))
}

impl Kept {
    fn get_or_keep(&mut self, key: &[u8], name: &str, path: Option<&str>, limit: usize) -> Option<&'static Names> {
        let names = self.names.get_or_insert_with(FxHashMap::default);
        if let Some(found) = names.get(key) {
            return Some(found);
        }
        let cost = 2 * key.len() + std::mem::size_of::<Names>();
        if self.bytes + cost > limit {
            return None;
        }
        self.bytes += cost;
        let leaked: &'static Names = Box::leak(Box::new(Names::new(name, path)));
        names.insert(key.into(), leaked);
        Some(leaked)
    }
}

/// The lookup key of a name and path: the name's length first, so that no two pairs share
/// a key whatever bytes they hold.
fn key(into: &mut Vec<u8>, name: &str, path: Option<&str>) {
    into.clear();
    into.extend_from_slice(&(name.len() as u32).to_le_bytes());
    into.extend_from_slice(name.as_bytes());
    if let Some(path) = path {
        into.push(b'.');
        into.extend_from_slice(path.as_bytes());
    }
}

impl std::fmt::Debug for FieldName {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.path() {
            Some(path) => write!(formatter, "{:?} at {:?}", self.name(), path),
            None => write!(formatter, "{:?}", self.name()),
        }
    }
}

impl PartialEq for FieldName {
    fn eq(&self, other: &FieldName) -> bool {
        self.name() == other.name() && self.path() == other.path()
    }
}

impl Eq for FieldName {}

impl From<&str> for FieldName {
    fn from(name: &str) -> FieldName {
        FieldName::new(name, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_names_are_one_kept_copy_across_threads() {
        let here = FieldName::new("Image", Some("Event.EventData.Image"));
        let there = std::thread::spawn(|| FieldName::new("Image", Some("Event.EventData.Image"))).join().unwrap();
        assert!(matches!((&here.0, &there.0), (Repr::Kept(a), Repr::Kept(b)) if std::ptr::eq(*a, *b)));
        assert_eq!((here.name(), here.path()), ("Image", Some("Event.EventData.Image")));
    }

    #[test]
    fn a_path_equal_to_the_name_is_no_path_and_keys_do_not_collide() {
        assert_eq!(FieldName::new("EventID", Some("EventID")).path(), None);
        // The same bytes cut in two places are two names.
        let first = FieldName::new("a.b", Some("c"));
        let second = FieldName::new("a", Some("b.c"));
        assert_eq!((first.name(), first.path()), ("a.b", Some("c")));
        assert_eq!((second.name(), second.path()), ("a", Some("b.c")));
    }

    #[test]
    fn names_that_share_a_recent_slot_are_told_apart() {
        let (first, second) = (("Axxb", Some("P.Axxb")), ("Ayyb", Some("P.Ayyb")));
        assert_eq!(recent_slot(first.0, first.1), recent_slot(second.0, second.1));
        for _ in 0..2 {
            assert_eq!(FieldName::new(first.0, first.1).name(), "Axxb");
            assert_eq!(FieldName::new(second.0, second.1).name(), "Ayyb");
        }
    }

    #[test]
    fn long_names_are_shared_not_kept() {
        let long = "x".repeat(MAX_LOOKED_UP_BYTES + 1);
        let name = FieldName::new(&long, None);
        assert!(matches!(name.0, Repr::Shared(_)));
        assert_eq!(name.name(), long);
    }

    #[test]
    fn past_the_bound_new_names_are_not_kept_and_kept_ones_still_are() {
        let mut kept = Kept { names: None, bytes: 0 };
        let (mut first, mut second) = (Vec::new(), Vec::new());
        key(&mut first, "First", None);
        key(&mut second, "Second", None);
        let limit = 2 * first.len() + std::mem::size_of::<Names>();
        let kept_first = kept.get_or_keep(&first, "First", None, limit).expect("fits");
        assert_eq!(&*kept_first.name, "First");
        assert!(kept.get_or_keep(&second, "Second", None, limit).is_none());
        assert!(std::ptr::eq(kept.get_or_keep(&first, "First", None, limit).unwrap(), kept_first));
    }
}
