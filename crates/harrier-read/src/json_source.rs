//! JSON: JSON Lines are cut into batches of lines; concatenated, pretty-printed and array
//! documents are cut into their top-level objects by a small streaming scanner; rendered XML
//! events are cut into their `<Event>` elements. Batches are parsed and normalized on any
//! core.
//!
//! No record is held whole past the record limit: a longer line, document or element is
//! skipped (and named as a problem) while it is still being read, so memory stays bounded
//! whatever the input.

use crate::pipeline::{Outcome, Step, Work};
use crate::report::{Place, Problem};
use harrier_event::{Provenance, SourceFile};
use std::io::{BufRead, Read};
use std::ops::Range;
use std::sync::Arc;

/// How JSON is cut: batch size, and the largest record kept.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub batch_bytes: usize,
    pub max_record: usize,
}

/// One document inside a batch: the 1-based line it starts on and its bytes.
struct Piece {
    line: u64,
    range: Range<usize>,
}

/// A batch of documents sharing one buffer.
pub(crate) struct JsonWork {
    source: Arc<SourceFile>,
    text: Vec<u8>,
    pieces: Vec<Piece>,
}

/// Room a batch is given beyond its size for the record that takes it past it.
const BATCH_SLACK: usize = 16 << 10;

impl JsonWork {
    /// An empty batch with room for `limits.batch_bytes`: a batch that grew by doubling would
    /// copy its bytes once more on the reading thread.
    fn new(source: &Arc<SourceFile>, limits: Limits) -> JsonWork {
        let text = Vec::with_capacity(limits.batch_bytes + BATCH_SLACK);
        JsonWork { source: source.clone(), text, pieces: Vec::new() }
    }

    pub(crate) fn source(&self) -> Arc<SourceFile> {
        self.source.clone()
    }

    pub(crate) fn process(self) -> Outcome {
        let mut outcome = Outcome::default();
        for piece in &self.pieces {
            let place = Place::Line(piece.line);
            let provenance = Provenance { source: self.source.clone(), record_id: piece.line, timestamp: None };
            let parsed = harrier_normalize::normalize_json(&self.text[piece.range.clone()], provenance);
            match parsed {
                Ok(event) => {
                    if let Some(why) = crate::report::unreadable_time(&event) {
                        outcome.problems.push(Problem::kept(&self.source.path, place, why));
                    }
                    outcome.events.push(event);
                }
                Err(message) => outcome.problems.push(Problem::new(&self.source.path, place, message.0)),
            }
        }
        outcome
    }
}

/// Batches documents until a batch holds about `batch_bytes`.
struct Batcher<'a> {
    source: &'a Arc<SourceFile>,
    limits: Limits,
    current: JsonWork,
    send: &'a mut dyn FnMut(Step),
}

impl Batcher<'_> {
    fn start_piece(&self) -> usize {
        self.current.text.len()
    }

    fn finish_piece(&mut self, line: u64, start: usize) {
        let end = trim_end(&self.current.text, start);
        if end > start {
            self.current.pieces.push(Piece { line, range: start..end });
        }
        if self.current.text.len() >= self.limits.batch_bytes {
            self.flush();
        }
    }

    /// Drops what a piece stored from `start` on, and names the problem instead.
    fn reject_piece(&mut self, line: u64, start: usize, why: String) {
        self.current.text.truncate(start);
        self.problem(line, why);
    }

    fn problem(&mut self, line: u64, why: String) {
        (self.send)(Step::Problem(Problem::new(&self.source.path, Place::Line(line), why)));
    }

    fn too_large(&self) -> String {
        format!(
            "a record larger than {} MiB: skipped (the record limit; --max-record-size raises it)",
            self.limits.max_record >> 20
        )
    }

    fn flush(&mut self) {
        let full = std::mem::replace(&mut self.current, JsonWork::new(self.source, self.limits));
        let bytes = full.text.len() as u64;
        if !full.pieces.is_empty() {
            (self.send)(Step::Work(Work::Json(full)));
        }
        (self.send)(Step::Progress(bytes));
    }
}

fn trim_end(text: &[u8], start: usize) -> usize {
    let mut end = text.len();
    while end > start && text[end - 1].is_ascii_whitespace() {
        end -= 1;
    }
    end
}

/// What reading one line up to the record limit gave.
#[derive(Debug, PartialEq, Eq)]
enum Line {
    /// The line, with its newline unless the input ended.
    Read,
    /// Nothing left.
    End,
    /// The line goes on past the limit: what was read up to it is in the buffer.
    TooLong,
}

/// Appends one line to `buffer`, but not more than `max` bytes of it.
fn read_line(reader: &mut impl BufRead, buffer: &mut Vec<u8>, max: usize) -> std::io::Result<Line> {
    let start = buffer.len();
    loop {
        let available = reader.fill_buf()?;
        if available.is_empty() {
            return Ok(if buffer.len() == start { Line::End } else { Line::Read });
        }
        let (take, ends) = match memchr::memchr(b'\n', available) {
            Some(newline) => (newline + 1, true),
            None => (available.len(), false),
        };
        let room = max - (buffer.len() - start);
        if take > room {
            buffer.extend_from_slice(&available[..room]);
            reader.consume(room);
            return Ok(Line::TooLong);
        }
        buffer.extend_from_slice(&available[..take]);
        reader.consume(take);
        if ends {
            return Ok(Line::Read);
        }
    }
}

/// Consumes the rest of a line without keeping it.
fn skip_line(reader: &mut impl BufRead) -> std::io::Result<()> {
    loop {
        let available = reader.fill_buf()?;
        if available.is_empty() {
            return Ok(());
        }
        match memchr::memchr(b'\n', available) {
            Some(newline) => {
                reader.consume(newline + 1);
                return Ok(());
            }
            None => {
                let length = available.len();
                reader.consume(length);
            }
        }
    }
}

/// Reads one JSON stream. JSON Lines (the first document ends on its first line) are split on
/// newlines, so a broken line costs only itself; anything else is split into top-level
/// values, and a broken document costs only itself unless its braces never balance.
pub(crate) fn produce(mut reader: impl BufRead, source: &Arc<SourceFile>, limits: Limits, send: &mut dyn FnMut(Step)) {
    let mut batcher = Batcher { source, limits, current: JsonWork::new(source, limits), send };
    let mut first_line = Vec::new();
    let result = match read_line(&mut reader, &mut first_line, limits.max_record) {
        Ok(Line::Read) if is_one_document(&first_line) => read_lines(first_line, reader, &mut batcher),
        Ok(_) => scan_documents(std::io::Cursor::new(first_line).chain(reader), &mut batcher),
        Err(error) => Err(error),
    };
    if let Err(error) = result {
        let line = batcher.current.pieces.last().map_or(1, |piece| piece.line);
        batcher.problem(line, format!("read error: {error}"));
    }
    batcher.flush();
}

fn is_one_document(line: &[u8]) -> bool {
    let text = line.strip_prefix(b"\xef\xbb\xbf").unwrap_or(line);
    text.trim_ascii_start().starts_with(b"{") && serde_json::from_slice::<serde::de::IgnoredAny>(text).is_ok()
}

fn read_lines(first_line: Vec<u8>, mut reader: impl BufRead, batcher: &mut Batcher<'_>) -> std::io::Result<()> {
    let mut line_number = 1;
    let start = batcher.start_piece();
    let skip_bom = if first_line.starts_with(b"\xef\xbb\xbf") { 3 } else { 0 };
    batcher.current.text.extend_from_slice(&first_line[skip_bom..]);
    batcher.finish_piece(line_number, start);
    loop {
        line_number += 1;
        let start = batcher.start_piece();
        match read_line(&mut reader, &mut batcher.current.text, batcher.limits.max_record)? {
            Line::End => return Ok(()),
            Line::Read => batcher.finish_piece(line_number, start),
            Line::TooLong => {
                let why = batcher.too_large();
                batcher.reject_piece(line_number, start, why);
                skip_line(&mut reader)?;
            }
        }
    }
}

/// Where the scanner is between bytes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Scan {
    /// Between values: at the top level, or between the elements of a top-level array.
    Between,
    /// Inside an object or array, `depth` brackets deep.
    Value { depth: u32, in_string: bool, escaped: bool },
    /// A scalar element of a top-level array (a number, a string, `true` ...), up to the `,`
    /// or `]` after it.
    Scalar { in_string: bool, escaped: bool },
    /// Text that cannot start a JSON value, up to the end of its line.
    Junk,
}

/// What kind of value a piece is, for what becomes of it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// An object: an event.
    Object,
    /// An array or a scalar where an event should be.
    NotAnEvent,
    Junk,
}

/// The piece being scanned.
struct Current {
    line: u64,
    start: usize,
    kind: Kind,
    /// It outgrew the record limit: its bytes are no longer kept.
    oversized: bool,
}

/// The scanner over a whole stream of concatenated, pretty-printed or array documents.
struct Scanner<'b, 'a> {
    batcher: &'b mut Batcher<'a>,
    state: Scan,
    line: u64,
    /// The line a top-level array opened on, while it is open.
    array: Option<u64>,
    current: Current,
}

fn scan_documents(mut reader: impl BufRead, batcher: &mut Batcher<'_>) -> std::io::Result<()> {
    let current = Current { line: 1, start: 0, kind: Kind::Junk, oversized: false };
    let mut scanner = Scanner { batcher, state: Scan::Between, line: 1, array: None, current };
    loop {
        let buffer = reader.fill_buf()?;
        if buffer.is_empty() {
            break;
        }
        let length = buffer.len();
        for &byte in buffer {
            scanner.byte(byte);
        }
        reader.consume(length);
    }
    scanner.end();
    Ok(())
}

impl Scanner<'_, '_> {
    fn byte(&mut self, byte: u8) {
        if self.state == Scan::Between {
            self.between(byte);
        } else {
            self.keep(byte);
            if step(&mut self.state, byte) {
                self.finish(byte);
            }
        }
        if byte == b'\n' {
            self.line += 1;
        }
    }

    /// A byte between values: separators, the brackets of a top-level array, or the start
    /// of a value.
    fn between(&mut self, byte: u8) {
        let (state, kind) = match byte {
            _ if byte.is_ascii_whitespace() || matches!(byte, 0xEF | 0xBB | 0xBF) => return,
            b'[' if self.array.is_none() => {
                self.array = Some(self.line);
                return;
            }
            b',' if self.array.is_some() => return,
            b']' if self.array.is_some() => {
                self.array = None;
                return;
            }
            b'{' => (Scan::Value { depth: 0, in_string: false, escaped: false }, Kind::Object),
            b'[' => (Scan::Value { depth: 0, in_string: false, escaped: false }, Kind::NotAnEvent),
            _ if self.array.is_some() => (Scan::Scalar { in_string: false, escaped: false }, Kind::NotAnEvent),
            _ => (Scan::Junk, Kind::Junk),
        };
        self.current = Current { line: self.line, start: self.batcher.start_piece(), kind, oversized: false };
        self.state = state;
        self.keep(byte);
        if step(&mut self.state, byte) {
            self.finish(byte);
        }
    }

    /// Stores a byte of the current piece, up to the record limit.
    fn keep(&mut self, byte: u8) {
        if self.current.oversized {
            return;
        }
        if self.batcher.current.text.len() - self.current.start >= self.batcher.limits.max_record {
            self.current.oversized = true;
            self.batcher.current.text.truncate(self.current.start);
            return;
        }
        self.batcher.current.text.push(byte);
    }

    /// The current piece ended on `byte`.
    fn finish(&mut self, byte: u8) {
        let Current { line, start, kind, oversized } = self.current;
        let scalar = matches!(self.state, Scan::Scalar { .. });
        self.state = Scan::Between;
        if scalar && matches!(byte, b',' | b']') {
            // A scalar element ends on the separator after it, which belongs to the array.
            if !oversized {
                self.batcher.current.text.pop();
            }
            if byte == b']' {
                self.array = None;
            }
        }
        if oversized {
            let why = self.batcher.too_large();
            self.batcher.reject_piece(line, start, why);
            return;
        }
        match kind {
            Kind::Object | Kind::Junk => self.batcher.finish_piece(line, start),
            Kind::NotAnEvent => {
                let value =
                    String::from_utf8_lossy(&self.batcher.current.text[start..]).chars().take(40).collect::<String>();
                let why = format!("a JSON array element that is not an object (an event): `{}`", value.trim());
                self.batcher.reject_piece(line, start, why);
            }
        }
    }

    /// The input ended: a value or an array still open is named.
    fn end(&mut self) {
        match self.state {
            Scan::Between => {}
            Scan::Value { .. } if !self.current.oversized => {
                let Current { line, start, .. } = self.current;
                let why = "the input ends inside the JSON document that starts here (cut short?)".to_owned();
                self.batcher.reject_piece(line, start, why);
            }
            _ => self.finish(b'\n'),
        }
        if let Some(line) = self.array {
            self.batcher.problem(line, "the JSON array that opens here is not closed (the input is cut short?)".into());
        }
    }
}

/// Advances the scanner over one byte; true when the byte ends a value or a junk line.
fn step(state: &mut Scan, byte: u8) -> bool {
    match state {
        Scan::Between => false,
        Scan::Junk => byte == b'\n',
        Scan::Scalar { in_string, escaped } => {
            if string_byte(in_string, escaped, byte) {
                return false;
            }
            matches!(byte, b',' | b']')
        }
        Scan::Value { depth, in_string, escaped } => {
            if string_byte(in_string, escaped, byte) {
                return false;
            }
            match byte {
                b'{' | b'[' => *depth += 1,
                b'}' | b']' => {
                    *depth = depth.saturating_sub(1);
                    return *depth == 0;
                }
                _ => {}
            }
            false
        }
    }
}

/// Follows strings and their escapes; true when the byte is inside (or opens) a string.
fn string_byte(in_string: &mut bool, escaped: &mut bool, byte: u8) -> bool {
    if *in_string {
        if *escaped {
            *escaped = false;
        } else if byte == b'\\' {
            *escaped = true;
        } else if byte == b'"' {
            *in_string = false;
        }
        return true;
    }
    if byte == b'"' {
        *in_string = true;
        return true;
    }
    false
}

/// Reads rendered XML events, one `<Event>...</Event>` after another (one per line in
/// Splunk's exports, but any layout will do), a bounded window of the input at a time. Each
/// is turned into evtx_dump's JSON shape and normalized like JSON; its record id is the line
/// it starts on.
pub(crate) fn produce_xml(reader: impl BufRead, source: &Arc<SourceFile>, limits: Limits, send: &mut dyn FnMut(Step)) {
    let mut batcher = Batcher { source, limits, current: JsonWork::new(source, limits), send };
    let mut events = XmlEvents { buffer: Vec::new(), line: 1, skipping: None };
    if let Err(error) = events.read(reader, &mut batcher) {
        batcher.problem(events.line, format!("read error: {error}"));
    }
    batcher.flush();
}

const EVENT_OPEN: &[u8] = b"<Event";
const EVENT_CLOSE: &[u8] = b"</Event>";

/// The window of XML not yet cut into events.
struct XmlEvents {
    buffer: Vec<u8>,
    /// The line the buffer starts on.
    line: u64,
    /// The line of an event too large to keep, whose end is being looked for.
    skipping: Option<u64>,
}

impl XmlEvents {
    fn read(&mut self, mut reader: impl BufRead, batcher: &mut Batcher<'_>) -> std::io::Result<()> {
        loop {
            let available = reader.fill_buf()?;
            if available.is_empty() {
                break;
            }
            self.buffer.extend_from_slice(available);
            let length = available.len();
            reader.consume(length);
            self.cut(batcher, false);
        }
        self.cut(batcher, true);
        Ok(())
    }

    /// Takes the complete events out of the buffer; at the end, what is left too.
    fn cut(&mut self, batcher: &mut Batcher<'_>, at_end: bool) {
        loop {
            if let Some(line) = self.skipping {
                match memchr::memmem::find(&self.buffer, EVENT_CLOSE) {
                    Some(end) => {
                        self.drop_front(end + EVENT_CLOSE.len());
                        self.skipping = None;
                        let why = batcher.too_large();
                        batcher.problem(line, why);
                    }
                    None => return self.keep_tail(EVENT_CLOSE.len()),
                }
                continue;
            }
            let Some(start) = memchr::memmem::find(&self.buffer, EVENT_OPEN) else {
                return self.keep_tail(EVENT_OPEN.len());
            };
            self.drop_front(start);
            match memchr::memmem::find(&self.buffer, EVENT_CLOSE) {
                Some(end) => {
                    let end = end + EVENT_CLOSE.len();
                    let text = String::from_utf8_lossy(&self.buffer[..end]).into_owned();
                    self.event(&text, batcher);
                    self.drop_front(end);
                }
                None if self.buffer.len() > batcher.limits.max_record => self.skipping = Some(self.line),
                None if at_end => {
                    let why = "the input ends inside the `<Event>` that starts here (cut short?)".to_owned();
                    batcher.problem(self.line, why);
                    return self.buffer.clear();
                }
                None => return,
            }
        }
    }

    fn event(&self, text: &str, batcher: &mut Batcher<'_>) {
        match harrier_normalize::event_xml_to_json(text) {
            Ok(json) => {
                let piece = batcher.start_piece();
                serde_json::to_writer(&mut batcher.current.text, &json).expect("JSON values serialize");
                batcher.finish_piece(self.line, piece);
            }
            Err(error) => batcher.problem(self.line, error),
        }
    }

    /// Forgets the buffer's first `count` bytes, counting their lines.
    fn drop_front(&mut self, count: usize) {
        self.line += memchr::memchr_iter(b'\n', &self.buffer[..count]).count() as u64;
        self.buffer.drain(..count);
    }

    /// Keeps only what could be the start of a tag cut by the buffer's end.
    fn keep_tail(&mut self, tag: usize) {
        let keep = self.buffer.len().min(tag - 1);
        self.drop_front(self.buffer.len() - keep);
    }
}
