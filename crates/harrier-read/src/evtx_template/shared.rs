//! Templates compiled once per thread, not once per chunk.
//!
//! Every chunk holds its own copy of the templates its records use, so a file of a thousand
//! chunks defines the same dozen templates a thousand times; compiling each copy (reading
//! its tokens and names, naming its fields) cost a tenth of reading the shared EVTX files.
//! A copy is the same template when its identity (GUID, size) and its body's bytes are the
//! same, but for what names its elements: a body names them by chunk offset, each a name
//! defined in the body itself (at an offset that moves with the body, after a link to the
//! next name that differs from chunk to chunk) or before it (wherever the chunk put it). So
//! those offsets and links are not compared as bytes: each offset must name, in the copy,
//! the name it named where the template was compiled (the same text before the body, or
//! the same place in it). Everything else is compared byte for byte: a crafted chunk that
//! reuses a GUID with another body, or other names, gets a template of its own.

use super::{Element, NAME_LINK_BYTES, NAME_OFFSET_BYTES, NameRead, Reader, TEMPLATE_HEADER_BYTES, compile_body};
use rustc_hash::FxHashMap;
use std::cell::RefCell;
use std::ops::Range;
use std::rc::Rc;

/// The memory a thread's templates may take (their bytes, their compiled elements) before
/// it starts over, so that it stays bounded whatever the input. Over every shared EVTX file
/// (1,243 templates) a thread keeps some 4.5 MB.
const KEPT_BYTES: usize = 8 << 20;

/// Copies kept under one identity: only crafted files hold more than one.
const COPIES_PER_KEY: usize = 4;

thread_local! {
    static COMPILED: RefCell<Compiled> = RefCell::default();
}

/// A thread's compiled templates, by GUID and size.
#[derive(Default)]
struct Compiled {
    templates: FxHashMap<([u8; 16], u32), Vec<CompiledCopy>>,
    kept_bytes: usize,
}

/// One template as compiled from one chunk, with what its compilation read.
struct CompiledCopy {
    body: Box<[u8]>,
    /// Where the body started, when its names cannot be told apart from its other bytes
    /// (a crafted name read across an offset or a link): it is then the same only there.
    pinned_at: Option<usize>,
    /// The names its elements read, by where their offset is in the body.
    names: Vec<(usize, Named)>,
    /// The bytes of the body not compared: the names' offsets, the links of the names it
    /// defines; in order.
    unread: Vec<Range<usize>>,
    element: Option<Rc<Element>>,
}

/// What one offset in a template's body names.
enum Named {
    /// A name defined before the body: the bytes read there (length and text).
    Before(Box<[u8]>),
    /// A name in the body, so many bytes into it.
    Within(usize),
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
    // A body past the chunk's end is no template (copies compare it by indexing).
    chunk.get(body.clone())?;
    let key = (guid, size);
    COMPILED.with(|compiled| {
        let mut compiled = compiled.borrow_mut();
        if let Some(copy) = compiled.find(key, chunk, body.clone()) {
            return copy.element.clone();
        }
        let (element, names) = compile_body(chunk, body.clone());
        let element = element.map(Rc::new);
        compiled.keep(key, CompiledCopy::new(chunk, body, &names, element.clone()));
        element
    })
}

/// Drops the templates this thread compiled.
pub(crate) fn forget() {
    COMPILED.with(|compiled| compiled.take());
}

impl Compiled {
    fn find(&self, key: ([u8; 16], u32), chunk: &[u8], body: Range<usize>) -> Option<&CompiledCopy> {
        self.templates.get(&key)?.iter().find(|copy| copy.reads_the_same(chunk, body.clone()))
    }

    fn keep(&mut self, key: ([u8; 16], u32), copy: CompiledCopy) {
        let bytes = copy.footprint();
        if self.kept_bytes + bytes > KEPT_BYTES {
            *self = Compiled::default();
        }
        let copies = self.templates.entry(key).or_default();
        if copies.len() < COPIES_PER_KEY {
            self.kept_bytes += bytes;
            copies.push(copy);
        }
    }
}

impl CompiledCopy {
    /// The copy of the template whose body is `chunk[body]`, which read `names`.
    fn new(chunk: &[u8], body: Range<usize>, names: &[NameRead], element: Option<Rc<Element>>) -> CompiledCopy {
        let start = body.start;
        let offset_at = |at: usize| at - start..at - start + NAME_OFFSET_BYTES;
        let mut unread = Vec::new();
        let mut named = Vec::new();
        for name in names {
            unread.push(offset_at(name.link));
            if name.entry.end <= start {
                named.push((
                    name.link - start,
                    Named::Before(chunk[name.entry.start + NAME_LINK_BYTES..name.entry.end].into()),
                ));
            } else {
                // Defined where it is read: its link to the next name is skipped, never read.
                if name.entry.start == name.link + NAME_OFFSET_BYTES {
                    unread.push(offset_at(name.entry.start));
                }
                named.push((name.link - start, Named::Within(name.entry.start.wrapping_sub(start))));
            }
        }
        unread.sort_unstable_by_key(|range| range.start);
        unread.dedup();
        // A name read across an unread byte, or one begun before the body and read into it:
        // what it reads may differ in a copy that compares equal, so the copy is the same only
        // where it was.
        let read_across = |name: &NameRead| {
            let read = name.entry.start + NAME_LINK_BYTES..name.entry.end;
            (read.start < start && read.end > start)
                || unread.iter().any(|skipped| read.start < start + skipped.end && start + skipped.start < read.end)
        };
        let overlapping = unread.windows(2).any(|pair| pair[0].end > pair[1].start);
        let pinned_at = (overlapping || names.iter().any(read_across)).then_some(start);
        CompiledCopy { body: chunk[body].into(), pinned_at, names: named, unread, element }
    }

    fn footprint(&self) -> usize {
        let names = self.names.iter().map(|(_, named)| match named {
            Named::Before(bytes) => bytes.len(),
            Named::Within(_) => 0,
        });
        self.body.len() + names.sum::<usize>() + self.element.as_ref().map_or(0, |element| element.footprint())
    }

    /// Whether the template whose body is `chunk[body]` compiles as this one did: the same
    /// bytes but for the names' offsets and links, each offset naming the same name (the
    /// same text, wholly before the body; or the same place in it); or, for a pinned copy,
    /// the same bytes at the same offset.
    fn reads_the_same(&self, chunk: &[u8], body: Range<usize>) -> bool {
        let bytes = &chunk[body.clone()];
        if let Some(start) = self.pinned_at {
            return start == body.start && *self.body == *bytes;
        }
        bytes.len() == self.body.len()
            && self.compared_bytes_equal(bytes)
            && self.names.iter().all(|(at, named)| {
                let offset = Reader::new(bytes, *at).u32().and_then(|offset| usize::try_from(offset).ok());
                let Some(offset) = offset else { return false };
                match named {
                    Named::Within(into) => offset == body.start.wrapping_add(*into),
                    Named::Before(name) => {
                        let read = offset + NAME_LINK_BYTES..offset + NAME_LINK_BYTES + name.len();
                        read.end <= body.start && chunk[read] == **name
                    }
                }
            })
    }

    /// Whether `bytes` equal the body but where it is unread.
    fn compared_bytes_equal(&self, bytes: &[u8]) -> bool {
        let mut from = 0;
        for skipped in &self.unread {
            if self.body[from..skipped.start] != bytes[from..skipped.start] {
                return false;
            }
            from = skipped.end;
        }
        self.body[from..] == bytes[from..]
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

    /// Where [`chunk_with`] writes the offset of the root element's name.
    fn name_offset_at(at: usize) -> usize {
        at + TEMPLATE_HEADER_BYTES + 11
    }

    #[test]
    fn a_template_is_the_same_wherever_its_names_are() {
        let first = root(&chunk_with("Named", 300, false), 300);
        // The name 50 bytes on, the body naming it there.
        let mut moved = chunk_with("Named", 300, false);
        moved.copy_within(100..120, 150);
        moved[100..120].fill(0);
        moved[name_offset_at(300)..][..4].copy_from_slice(&150u32.to_le_bytes());
        assert!(Rc::ptr_eq(&first, &root(&moved, 300)), "its name elsewhere before it");
        // Another name there: not the same.
        let mut other = moved.clone();
        other[150 + NAME_LINK_BYTES + 2..][..2].copy_from_slice(&u16::from(b'M').to_le_bytes());
        assert_eq!(root(&other, 300).key, "Mamed");
        // Named by an offset past the end of the chunk: compiled again, and left to the JSON path.
        let mut past = moved.clone();
        past[name_offset_at(300)..][..4].copy_from_slice(&u32::MAX.to_le_bytes());
        let mut budget = usize::MAX;
        assert!(template(&past, 300, &mut budget).is_none());
    }

    #[test]
    fn a_template_that_defines_its_names_is_the_same_wherever_it_is() {
        let first = root(&chunk_with("Defined", 420, true), 420);
        assert_eq!(first.key, "Defined");
        let elsewhere = chunk_with("Defined", 520, true);
        assert!(Rc::ptr_eq(&first, &root(&elsewhere, 520)), "moved with its name's offset");
        // The link to the next name differs from chunk to chunk, and is never read.
        let mut linked = elsewhere.clone();
        let entry = name_offset_at(520) + 4;
        linked[entry..entry + 4].copy_from_slice(&0x1234u32.to_le_bytes());
        assert!(Rc::ptr_eq(&first, &root(&linked, 520)));
        // Its text is read: another text is another template.
        let mut renamed = elsewhere.clone();
        renamed[entry + NAME_LINK_BYTES + 2] = b'P';
        assert_eq!(root(&renamed, 520).key, "Pefined");
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
