//! Templates compiled once per thread, not once per chunk.
//!
//! Every chunk holds its own copy of the templates its records use, so a file of a thousand
//! chunks defines the same dozen templates a thousand times; compiling each copy (reading
//! its tokens and names, naming its fields) cost a tenth of reading the shared EVTX files.
//! A copy is the same template when its identity (GUID, size), its body's bytes and the
//! names it reads from outside its body are the same, and the names inside its body sit at
//! the same offsets (a body names elements by chunk offset, so the same bytes elsewhere
//! would read other names). All of that is compared byte for byte: a crafted chunk that
//! reuses a GUID with another body, or other names, gets a template of its own.

use super::{Element, NAME_LINK_BYTES, Reader, TEMPLATE_HEADER_BYTES, compile_body};
use rustc_hash::FxHashMap;
use std::cell::RefCell;
use std::hash::BuildHasher;
use std::ops::Range;
use std::rc::Rc;

/// The memory a thread's templates may take (their bytes, their compiled elements) before
/// it starts over, so that it stays bounded whatever the input. Over every shared EVTX file
/// (1,243 templates) a thread keeps some 4.5 MB.
const KEPT_BYTES: usize = 8 << 20;

/// Copies kept under one identity and body hash: only crafted files hold more than one.
const COPIES_PER_KEY: usize = 4;

thread_local! {
    static COMPILED: RefCell<Compiled> = RefCell::default();
}

/// A thread's compiled templates, by GUID, size and a hash of the body.
#[derive(Default)]
struct Compiled {
    templates: FxHashMap<([u8; 16], u32, u64), Vec<CompiledCopy>>,
    kept_bytes: usize,
}

/// One template as compiled from one chunk, with what its compilation read.
struct CompiledCopy {
    body: Box<[u8]>,
    /// Where the body started, when a name it read lies in it.
    body_start: Option<usize>,
    /// The names read from before the body: the chunk offset of each one's entry, and the
    /// bytes read there (length and text, after the link and hash the chunk's table keeps).
    outside: Vec<(usize, Box<[u8]>)>,
    element: Option<Rc<Element>>,
}

/// The template defined at `offset` in `chunk` (`None` for one left to the JSON path), from
/// the thread's templates when an equal copy was compiled before. `budget` is charged the
/// template's size either way.
pub(super) fn template(chunk: &[u8], offset: u32, budget: &mut usize) -> Option<Rc<Element>> {
    let start = usize::try_from(offset).ok()?;
    let mut header = Reader::new(chunk, start.checked_add(4)?);
    let guid: [u8; 16] = header.bytes()?;
    let size = header.u32()?;
    let body_bytes = usize::try_from(size).ok()?;
    *budget = budget.checked_sub(body_bytes)?;
    let body_start = start + TEMPLATE_HEADER_BYTES;
    let body = body_start..body_start.checked_add(body_bytes)?;
    let key = (guid, size, rustc_hash::FxBuildHasher.hash_one(chunk.get(body.clone())?));
    COMPILED.with(|compiled| {
        let mut compiled = compiled.borrow_mut();
        if let Some(copy) = compiled.find(key, chunk, body.clone()) {
            return copy.element.clone();
        }
        let (element, names) = compile_body(chunk, body.clone());
        let element = element.map(Rc::new);
        compiled.keep(key, chunk, body, names, element.clone());
        element
    })
}

/// Drops the templates this thread compiled.
pub(crate) fn forget() {
    COMPILED.with(|compiled| compiled.take());
}

impl Compiled {
    fn find(&self, key: ([u8; 16], u32, u64), chunk: &[u8], body: Range<usize>) -> Option<&CompiledCopy> {
        self.templates.get(&key)?.iter().find(|copy| copy.reads_the_same(chunk, body.clone()))
    }

    fn keep(
        &mut self,
        key: ([u8; 16], u32, u64),
        chunk: &[u8],
        body: Range<usize>,
        names: Vec<Range<usize>>,
        element: Option<Rc<Element>>,
    ) {
        // Names are read up to the body's end: those not in it are before it.
        let inside = names.iter().any(|name| name.end > body.start);
        let outside: Vec<(usize, Box<[u8]>)> = names
            .into_iter()
            .filter(|name| name.end <= body.start)
            .map(|name| (name.start, chunk[name.start + NAME_LINK_BYTES..name.end].into()))
            .collect();
        let names = outside.iter().map(|(_, name)| name.len()).sum::<usize>();
        let bytes = body.len() + names + element.as_ref().map_or(0, |element| element.footprint());
        if self.kept_bytes + bytes > KEPT_BYTES {
            *self = Compiled::default();
        }
        let copies = self.templates.entry(key).or_default();
        if copies.len() < COPIES_PER_KEY {
            self.kept_bytes += bytes;
            let body_start = inside.then_some(body.start);
            copies.push(CompiledCopy { body: chunk[body].into(), body_start, outside, element });
        }
    }
}

impl CompiledCopy {
    /// Whether the template whose body is `chunk[body]` compiles as this one did: the same
    /// bytes, read at the same offset when it holds a name it reads, and the same names
    /// read before it (still wholly before it: one the body covered would be read as a
    /// definition, one past its end not at all).
    fn reads_the_same(&self, chunk: &[u8], body: Range<usize>) -> bool {
        *self.body == chunk[body.clone()]
            && self.body_start.is_none_or(|start| start == body.start)
            && self.outside.iter().all(|(at, name)| {
                let read = at + NAME_LINK_BYTES..at + NAME_LINK_BYTES + name.len();
                read.end <= body.start && chunk[read] == **name
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evtx_template::MAX_NAME_UNITS;

    /// A chunk holding the name `name` at offset 100 and, at `at`, a template whose root
    /// element is named by that offset; or by a name defined in its own body with `inline`.
    fn chunk_with(name: &str, at: usize, inline: bool) -> Vec<u8> {
        let mut chunk = vec![0; 1024];
        let entry = |name: &str| {
            let mut entry = vec![0; NAME_LINK_BYTES];
            entry.extend_from_slice(&(name.len() as u16).to_le_bytes());
            entry.extend(name.encode_utf16().flat_map(u16::to_le_bytes));
            entry.extend_from_slice(&[0, 0]);
            entry
        };
        chunk[100..][..entry(name).len()].copy_from_slice(&entry(name));
        let body_start = at + TEMPLATE_HEADER_BYTES;
        let name_at = body_start + 4 + 1 + 2 + 4 + 4;
        let mut body = vec![0x0f, 1, 1, 0, 0x01, 0xff, 0xff, 0, 0, 0, 0];
        body.extend_from_slice(&(if inline { name_at as u32 } else { 100 }).to_le_bytes());
        if inline {
            body.extend(entry(name));
        }
        body.extend_from_slice(&[0x03, 0x00]);
        chunk[at + 4..at + 20].copy_from_slice(&[7; 16]);
        chunk[at + 20..at + 24].copy_from_slice(&(body.len() as u32).to_le_bytes());
        chunk[body_start..][..body.len()].copy_from_slice(&body);
        chunk
    }

    fn root(chunk: &[u8], at: usize) -> Rc<Element> {
        let mut budget = usize::MAX;
        template(chunk, at as u32, &mut budget).expect("the template compiles")
    }

    #[test]
    fn a_template_is_compiled_once_for_equal_copies_and_again_for_other_names() {
        let first = root(&chunk_with("Event", 200, false), 200);
        assert_eq!(first.key, "Event");
        assert!(Rc::ptr_eq(&first, &root(&chunk_with("Event", 200, false), 200)), "the same copy again");
        assert!(Rc::ptr_eq(&first, &root(&chunk_with("Event", 300, false), 300)), "elsewhere, same names");
        let renamed = root(&chunk_with("Other", 200, false), 200);
        assert_eq!(renamed.key, "Other", "same GUID, size and body, another name before it");
    }

    #[test]
    fn a_name_longer_than_windows_writes_is_left_to_the_json_path() {
        let longest = "N".repeat(MAX_NAME_UNITS);
        assert_eq!(root(&chunk_with(&longest, 700, false), 700).key, longest);
        let longer = "M".repeat(MAX_NAME_UNITS + 1);
        let mut budget = usize::MAX;
        assert!(template(&chunk_with(&longer, 700, false), 700, &mut budget).is_none());
    }

    #[test]
    fn a_template_that_defines_its_names_is_the_same_only_where_it_was() {
        let inline = root(&chunk_with("Inner", 400, true), 400);
        assert_eq!(inline.key, "Inner");
        assert!(Rc::ptr_eq(&inline, &root(&chunk_with("Inner", 400, true), 400)));
        // The same header and body 200 bytes on: the name's offset now points before the
        // body, so the definition in it is no longer skipped as one, and read as tokens it
        // does not parse. The copy compiled at 400 must not stand in for it.
        let original = chunk_with("Inner", 400, true);
        let mut moved = original.clone();
        moved[600..700].copy_from_slice(&original[400..500]);
        let mut budget = usize::MAX;
        assert!(template(&moved, 600, &mut budget).is_none());
    }
}
