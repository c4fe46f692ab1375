//! JSON: JSON Lines are cut into batches of lines; concatenated, pretty-printed and array
//! documents are cut into their top-level objects by a small streaming scanner. Batches are
//! parsed and normalized on any core.

use crate::pipeline::{Outcome, Step, Work};
use crate::report::{Place, Problem};
use harrier_event::{Provenance, SourceFile};
use std::io::{BufRead, Read};
use std::ops::Range;
use std::sync::Arc;

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

impl JsonWork {
    fn new(source: &Arc<SourceFile>) -> JsonWork {
        JsonWork { source: source.clone(), text: Vec::new(), pieces: Vec::new() }
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
                Ok(event) => outcome.events.push(event),
                Err(message) => outcome.problems.push(Problem::new(&self.source.path, place, message.0)),
            }
        }
        outcome
    }
}

/// Batches documents until a batch holds about `batch_bytes`.
struct Batcher<'a> {
    source: &'a Arc<SourceFile>,
    batch_bytes: usize,
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
        if self.current.text.len() >= self.batch_bytes {
            self.flush();
        }
    }

    fn flush(&mut self) {
        let full = std::mem::replace(&mut self.current, JsonWork::new(self.source));
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

/// Reads one JSON stream. JSON Lines (the first document ends on its first line) are split on
/// newlines, so a broken line costs only itself; anything else is split into top-level
/// values, and a broken document costs only itself unless its braces never balance.
pub(crate) fn produce(
    mut reader: impl BufRead,
    source: &Arc<SourceFile>,
    batch_bytes: usize,
    send: &mut dyn FnMut(Step),
) {
    let mut batcher = Batcher { source, batch_bytes, current: JsonWork::new(source), send };
    let mut first_line = Vec::new();
    let read = reader.read_until(b'\n', &mut first_line);
    let result = match read {
        Ok(_) if is_one_document(&first_line) => read_lines(first_line, reader, &mut batcher),
        Ok(_) => scan_documents(std::io::Cursor::new(first_line).chain(reader), &mut batcher),
        Err(error) => Err(error),
    };
    if let Err(error) = result {
        let line = batcher.current.pieces.last().map_or(1, |piece| piece.line);
        (batcher.send)(Step::Problem(Problem::new(&source.path, Place::Line(line), format!("read error: {error}"))));
    }
    batcher.flush();
}

/// Reads rendered XML events, one `<Event>...</Event>` after another (one per line in
/// Splunk's exports, but any layout will do). Each is turned into evtx_dump's JSON shape and
/// normalized like JSON; its record id is the line it starts on.
pub(crate) fn produce_xml(
    mut reader: impl BufRead,
    source: &Arc<SourceFile>,
    batch_bytes: usize,
    send: &mut dyn FnMut(Step),
) {
    let mut text = String::new();
    if let Err(error) = reader.read_to_string(&mut text) {
        send(Step::Problem(Problem::new(&source.path, Place::File, format!("read error: {error}"))));
        return;
    }
    let mut batcher = Batcher { source, batch_bytes, current: JsonWork::new(source), send };
    let mut offset = 0;
    let mut line = 1u64;
    while let Some(start) = text[offset..].find("<Event").map(|found| offset + found) {
        line += memchr::memchr_iter(b'\n', &text.as_bytes()[offset..start]).count() as u64;
        let end = text[start..].find("</Event>").map_or(text.len(), |found| start + found + "</Event>".len());
        match harrier_normalize::event_xml_to_json(&text[start..end]) {
            Ok(json) => {
                let piece = batcher.start_piece();
                serde_json::to_writer(&mut batcher.current.text, &json).expect("JSON values serialize");
                batcher.finish_piece(line, piece);
            }
            Err(error) => (batcher.send)(Step::Problem(Problem::new(&source.path, Place::Line(line), error))),
        }
        offset = end;
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
        if reader.read_until(b'\n', &mut batcher.current.text)? == 0 {
            return Ok(());
        }
        batcher.finish_piece(line_number, start);
    }
}

/// Where the scanner is between bytes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Scan {
    /// Between documents (skipping white space, and `[`, `,` and `]` of a top-level array).
    Between,
    /// Inside a document, `depth` brackets deep.
    Inside { depth: u32, in_string: bool, escaped: bool },
    /// Inside text that cannot start a document, up to the end of its line.
    Junk,
}

fn scan_documents(mut reader: impl BufRead, batcher: &mut Batcher<'_>) -> std::io::Result<()> {
    let mut state = Scan::Between;
    let mut line = 1u64;
    let mut start = (line, 0usize);
    loop {
        let buffer = reader.fill_buf()?;
        if buffer.is_empty() {
            break;
        }
        let length = buffer.len();
        for &byte in buffer {
            let starts_here = state == Scan::Between && !is_separator(byte);
            if starts_here {
                start = (line, batcher.start_piece());
                state =
                    if byte == b'{' { Scan::Inside { depth: 0, in_string: false, escaped: false } } else { Scan::Junk };
            }
            if state != Scan::Between {
                batcher.current.text.push(byte);
            }
            let finished = step(&mut state, byte);
            if finished {
                batcher.finish_piece(start.0, start.1);
                state = Scan::Between;
            }
            if byte == b'\n' {
                line += 1;
            }
        }
        reader.consume(length);
    }
    if state != Scan::Between {
        batcher.finish_piece(start.0, start.1);
    }
    Ok(())
}

/// White space, the punctuation of top-level arrays (an array of events is read as those
/// events), and a UTF-8 byte order mark.
fn is_separator(byte: u8) -> bool {
    byte.is_ascii_whitespace() || matches!(byte, b'[' | b',' | b']' | 0xEF | 0xBB | 0xBF)
}

/// Advances the scanner over one byte; true when the byte ends a document or a junk line.
fn step(state: &mut Scan, byte: u8) -> bool {
    match state {
        Scan::Between => false,
        Scan::Junk => byte == b'\n',
        Scan::Inside { depth, in_string, escaped } => {
            if *in_string {
                if *escaped {
                    *escaped = false;
                } else if byte == b'\\' {
                    *escaped = true;
                } else if byte == b'"' {
                    *in_string = false;
                }
                return false;
            }
            match byte {
                b'"' => *in_string = true,
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
