//! EVTX: the file is cut into its 64 KiB chunks by one thread; each chunk's records are read
//! from their binary XML (or, for the shapes that reader leaves, rendered to JSON) and
//! normalized on any core.

use crate::evtx_template::Templates;
use crate::pipeline::{Outcome, Step};
use crate::report::{Place, Problem};
use evtx::err::EvtxError;
use evtx::{EvtxChunkData, EvtxChunkHeader, EvtxParser, EvtxRecord, EvtxRecordHeader, ParserSettings};
use harrier_event::{Event, Provenance, SourceFile, Timestamp};
use std::io::{Read, Seek, SeekFrom};
use std::ops::Range;
use std::sync::Arc;

pub(crate) const CHUNK_BYTES: u64 = 65_536;
/// The chunk header; records follow it.
const CHUNK_HEADER_BYTES: usize = 512;
/// A record's header: magic, size, id, time; its binary XML follows.
const RECORD_HEADER_BYTES: usize = 24;
const FILE_HEADER_BYTES: u64 = 4096;

/// One chunk, ready to parse on any thread.
pub(crate) struct ChunkWork {
    pub source: Arc<SourceFile>,
    pub number: u64,
    pub data: EvtxChunkData,
    /// For the last chunk of a file cut short: the bytes the file still holds of it.
    pub cut_at: Option<u64>,
}

/// Sends the chunks of one EVTX file in record order (the order Windows reads a log that has
/// wrapped around), and a problem for each chunk that cannot be read.
pub(crate) fn produce<R: Read + Seek>(mut reader: R, source: &Arc<SourceFile>, send: &mut dyn FnMut(Step)) {
    let prepared = truncated_tail(&mut reader).and_then(|tail| Ok((tail, WithoutEmptyTail::new(reader)?)));
    let (tail, reader) = match prepared {
        Ok(prepared) => prepared,
        Err(error) => {
            let message = format!("read error: {error}");
            send(Step::Problem(Problem::new(&source.path, Place::File, message)));
            return;
        }
    };
    let mut parser = match EvtxParser::from_read_seek(reader) {
        Ok(parser) => parser,
        Err(error) => {
            send(Step::Problem(Problem::new(&source.path, Place::File, error_chain(&error))));
            return;
        }
    };
    let declared_chunks = u64::from(parser.header().chunk_count);
    let mut next_number = 0;
    for chunk in parser.chunks() {
        match chunk {
            Ok(data) => {
                let number = data.number.unwrap_or(next_number);
                next_number = number + 1;
                send(Step::Work(crate::pipeline::Work::Evtx(Box::new(ChunkWork {
                    source: source.clone(),
                    number,
                    data,
                    cut_at: None,
                }))));
            }
            Err(error) => {
                let number = match &error {
                    EvtxError::FailedToParseChunk { chunk_id, .. } => *chunk_id,
                    _ => next_number,
                };
                next_number = number + 1;
                // Past the chunks the file header declares lies preallocated space, which
                // Windows leaves with stale bytes: no records are lost there.
                if number >= declared_chunks {
                    send(Step::UnusedChunk);
                } else {
                    send(Step::Problem(Problem::new(&source.path, Place::Chunk(number), error_chain(&error))));
                }
            }
        }
        send(Step::Progress(CHUNK_BYTES));
    }
    if let Some((number, tail)) = tail {
        send_truncated_chunk(tail, number, source, send);
    }
}

/// The bytes of a last chunk that the file ends inside of, when it was cut short (a copy
/// interrupted, a carved file). Rewinds the reader.
fn truncated_tail<R: Read + Seek>(reader: &mut R) -> std::io::Result<Option<(u64, Vec<u8>)>> {
    let length = reader.seek(SeekFrom::End(0))?;
    let partial = length.saturating_sub(FILE_HEADER_BYTES) % CHUNK_BYTES;
    let tail = if length > FILE_HEADER_BYTES && partial > 0 {
        reader.seek(SeekFrom::Start(length - partial))?;
        let mut tail = Vec::with_capacity(CHUNK_BYTES as usize);
        reader.take(partial).read_to_end(&mut tail)?;
        Some(((length - FILE_HEADER_BYTES) / CHUNK_BYTES, tail))
    } else {
        None
    };
    reader.seek(SeekFrom::Start(0))?;
    Ok(tail)
}

/// The file as the `evtx` crate is given it: without the empty chunks at its end. Windows
/// preallocates log files, and the crate reads every chunk the file holds and checks it byte by
/// byte for zeros before it skips it (a third of the chunk slots of the shared samples are
/// empty); this checks them a word at a time. The crate skips an empty chunk wherever it is,
/// so leaving those at the end out changes nothing it yields. A file that ends inside a chunk
/// is left whole.
struct WithoutEmptyTail<R> {
    inner: R,
    length: u64,
    position: u64,
}

impl<R: Read + Seek> WithoutEmptyTail<R> {
    fn new(mut inner: R) -> std::io::Result<WithoutEmptyTail<R>> {
        let mut length = inner.seek(SeekFrom::End(0))?;
        let whole_chunks = length > FILE_HEADER_BYTES && (length - FILE_HEADER_BYTES).is_multiple_of(CHUNK_BYTES);
        let mut rest = Vec::new();
        while whole_chunks && length > FILE_HEADER_BYTES && is_empty_chunk(&mut inner, length - CHUNK_BYTES, &mut rest)?
        {
            length -= CHUNK_BYTES;
        }
        inner.seek(SeekFrom::Start(0))?;
        Ok(WithoutEmptyTail { inner, length, position: 0 })
    }
}

/// The bytes of a chunk read first to tell whether it is empty: a chunk in use has its header
/// there, so the last chunk of a file that is not preallocated (most exported logs) is not
/// read whole before the `evtx` crate reads it.
const CHUNK_HEAD_BYTES: usize = 4096;

/// Whether the chunk at `offset` is all zeros; `rest` holds the bytes after its head, once a
/// chunk's head is.
fn is_empty_chunk<R: Read + Seek>(reader: &mut R, offset: u64, rest: &mut Vec<u8>) -> std::io::Result<bool> {
    reader.seek(SeekFrom::Start(offset))?;
    let mut head = [0; CHUNK_HEAD_BYTES];
    reader.read_exact(&mut head)?;
    if !is_zero(&head) {
        return Ok(false);
    }
    rest.resize(CHUNK_BYTES as usize - CHUNK_HEAD_BYTES, 0);
    reader.read_exact(rest)?;
    Ok(is_zero(rest))
}

/// Whether all bytes are zero, in blocks whose OR the compiler vectorizes.
fn is_zero(bytes: &[u8]) -> bool {
    bytes.chunks(4096).all(|block| block.iter().fold(0, |any, &byte| any | byte) == 0)
}

impl<R: Read> Read for WithoutEmptyTail<R> {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        let left = usize::try_from(self.length.saturating_sub(self.position)).unwrap_or(usize::MAX);
        let wanted = buffer.len().min(left);
        let read = self.inner.read(&mut buffer[..wanted])?;
        self.position += read as u64;
        Ok(read)
    }
}

impl<R: Seek> Seek for WithoutEmptyTail<R> {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        let target = match to {
            SeekFrom::Start(offset) => Some(offset),
            SeekFrom::End(offset) => self.length.checked_add_signed(offset),
            SeekFrom::Current(offset) => self.position.checked_add_signed(offset),
        };
        let target =
            target.ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "seek out of range"))?;
        self.position = self.inner.seek(SeekFrom::Start(target))?;
        Ok(self.position)
    }
}

/// Reads what a cut chunk still holds: padded to its full size, its records up to the cut
/// parse, and the cut itself is reported.
fn send_truncated_chunk(mut tail: Vec<u8>, number: u64, source: &Arc<SourceFile>, send: &mut dyn FnMut(Step)) {
    let kept = tail.len();
    send(Step::Problem(Problem::new(
        &source.path,
        Place::Chunk(number),
        format!("the file ends {kept} bytes into this chunk of {CHUNK_BYTES}: records past the cut are lost"),
    )));
    tail.resize(CHUNK_BYTES as usize, 0);
    if let Ok(mut data) = EvtxChunkData::new(tail, false) {
        data.number = Some(number);
        let cut_at = Some(kept as u64);
        let work = ChunkWork { source: source.clone(), number, data, cut_at };
        send(Step::Work(crate::pipeline::Work::Evtx(Box::new(work))));
    }
}

impl ChunkWork {
    pub(crate) fn process(mut self: Box<Self>, settings: &Arc<ParserSettings>) -> Outcome {
        let mut outcome = Outcome::default();
        let path = self.source.path.clone();
        let number = self.number;
        if let Some(why) = self.checksum_mismatch() {
            outcome.problems.push(Problem::kept(&path, Place::Chunk(number), why));
        }
        // A chunk read in one walk needs nothing the crate prepares for its own reading (the
        // string table it decodes, its template cache): that is done only when a record asks.
        let mut templates = Templates::default();
        if self.cut_at.is_none()
            && let Some(events) = read_whole_chunk(&self.data.data, &self.data.header, &self.source, &mut templates)
        {
            outcome.events = events;
            return outcome;
        }
        let mut chunk = match self.data.parse(settings.clone()) {
            Ok(chunk) => chunk,
            Err(error) => {
                outcome.problems.push(Problem::new(&path, Place::Chunk(number), error_chain(&error)));
                return outcome;
            }
        };
        for record in chunk.iter() {
            if let Ok(record) = &record
                && self.cut_at.is_some_and(|cut| record.binxml_offset + u64::from(record.binxml_size) > cut)
            {
                let place = Place::Record { chunk: Some(number), record: record.event_record_id };
                outcome.problems.push(Problem::new(&path, place, "cut by the end of the file"));
                continue;
            }
            match record
                .map_err(Unread::from)
                .and_then(|record| normalize(record, &self.source, number, &mut templates))
            {
                Ok(event) => outcome.events.push(event),
                Err(Unread::Record(place, message)) => outcome.problems.push(Problem::new(&path, place, message)),
                Err(Unread::Evtx(error)) => {
                    outcome.problems.push(Problem::new(&path, record_place(&error, number), error_chain(&error)))
                }
            }
        }
        outcome
    }
}

/// Why a record gave no event.
enum Unread {
    Evtx(EvtxError),
    Record(Place, String),
}

impl From<EvtxError> for Unread {
    fn from(error: EvtxError) -> Unread {
        Unread::Evtx(error)
    }
}

/// One record's event: read from its binary XML when its template allows, else through its
/// JSON rendering.
fn normalize(
    record: EvtxRecord<'_>,
    source: &Arc<SourceFile>,
    chunk: u64,
    templates: &mut Templates,
) -> Result<Event, Unread> {
    let record_id = record.event_record_id;
    let header_time = Timestamp::from_unix_micros(record.timestamp.as_microsecond());
    let provenance = Provenance { source: source.clone(), record_id, timestamp: None };
    let fields = templates.read(record.chunk.data, binxml(&record));
    let event = match fields {
        Some(fields) => fields.finish(provenance),
        None => {
            let json = record.into_json_bytes()?.data;
            harrier_normalize::normalize_json(&json, provenance).map_err(|error| {
                Unread::Record(Place::Record { chunk: Some(chunk), record: record_id }, error.to_string())
            })?
        }
    };
    Ok(with_record_time_and_id(event, header_time, record_id))
}

/// The record's binary XML in its chunk.
pub(crate) fn binxml(record: &EvtxRecord<'_>) -> Range<usize> {
    let start = usize::try_from(record.binxml_offset).unwrap_or(usize::MAX);
    start..start.saturating_add(record.binxml_size as usize)
}

/// The event with the record header's time when it has none of its own, and its own
/// `EventRecordID` when it has one.
fn with_record_time_and_id(mut event: Event, header_time: Option<Timestamp>, record_id: u64) -> Event {
    event.provenance.timestamp = event.provenance.timestamp.or(header_time);
    event.provenance.record_id = event_record_id(&event).unwrap_or(record_id);
    event
}

/// Every record of a chunk, read from binary XML in one walk of its record headers (as the
/// `evtx` crate walks them: from the chunk header to the free space or the chunk's last
/// record). `None` when a record is not where the walk expects it or takes the JSON path:
/// the chunk is then read record by record through the crate, which says what went wrong.
fn read_whole_chunk(
    data: &[u8],
    header: &EvtxChunkHeader,
    source: &Arc<SourceFile>,
    templates: &mut Templates,
) -> Option<Vec<Event>> {
    let live_end = (header.free_space_offset as usize).min(data.len());
    let mut events = Vec::with_capacity(
        (header.last_event_record_id.saturating_sub(header.first_event_record_id) + 1).min(1024) as usize,
    );
    let mut offset = CHUNK_HEADER_BYTES;
    while offset < live_end {
        let record = EvtxRecordHeader::from_bytes_at(data, offset).ok()?;
        let start = offset + RECORD_HEADER_BYTES;
        let end = start.checked_add(record.record_data_size().ok()? as usize).filter(|&end| end <= data.len())?;
        let fields = templates.read(data, start..end)?;
        let record_id = record.event_record_id;
        let provenance = Provenance { source: source.clone(), record_id, timestamp: None };
        let header_time = Timestamp::from_unix_micros(record.timestamp.as_microsecond());
        events.push(with_record_time_and_id(fields.finish(provenance), header_time, record_id));
        if record_id == header.last_event_record_id {
            break;
        }
        offset += record.data_size as usize;
    }
    Some(events)
}

impl ChunkWork {
    /// What the chunk's CRC32 checksums say, when they do not match: its bytes changed since
    /// Windows wrote them (damage, or tampering). Its records are read all the same: a flipped
    /// bit costs one value, dropping the chunk would cost every record in it; the problem names
    /// the records it covers. A chunk cut by the end of the file is already reported as cut.
    fn checksum_mismatch(&self) -> Option<String> {
        if self.cut_at.is_some() {
            return None;
        }
        let header = &self.data.header;
        let part = if !self.data.validate_header_checksum() {
            "header"
        } else if !self.data.validate_data_checksum() {
            "event records"
        } else {
            return None;
        };
        Some(format!(
            "the chunk's {part} checksum does not match its bytes: records {} to {} are read all the same, \
             but a value among them may have been altered",
            header.first_event_record_id, header.last_event_record_id
        ))
    }
}

/// The event's own `System/EventRecordID`, which Windows, Hayabusa and Chainsaw show. It is
/// the record header's number in a live log, but an exported or cleared-and-refilled log
/// renumbers the headers and keeps the events' ids.
fn event_record_id(event: &harrier_event::Event) -> Option<u64> {
    event.get(harrier_event::names::EVENT_RECORD_ID)?.as_i64().and_then(|id| u64::try_from(id).ok())
}

fn record_place(error: &EvtxError, chunk: u64) -> Place {
    match error {
        EvtxError::FailedToParseRecord { record_id, .. } => Place::Record { chunk: Some(chunk), record: *record_id },
        EvtxError::FailedToReadRecordAt { offset, .. } => Place::RecordAt { chunk: Some(chunk), offset: *offset },
        _ => Place::Chunk(chunk),
    }
}

/// An error with its causes, `a: b: c`, so the message names what went wrong, not only where.
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every chunk of every shared EVTX file that the one-walk path reads gives the events the
    /// record-by-record path (the `evtx` crate's iterator) gives, in the same order; and it
    /// reads most chunks.
    #[test]
    fn chunks_read_in_one_walk_give_the_events_read_record_by_record() {
        let Some(root) = harrier_testdata::shared("evtx") else { return };
        let settings = Arc::new(ParserSettings::new());
        let (mut whole, mut chunks) = (0, 0);
        for entry in walkdir::WalkDir::new(&root).sort_by_file_name() {
            let path = entry.expect("the shared folder can be walked").into_path();
            if path.extension().is_none_or(|extension| extension != "evtx") {
                continue;
            }
            let Ok(mut parser) = EvtxParser::from_path(&path) else { continue };
            let source = Arc::new(SourceFile { path: path.display().to_string() });
            for (number, data) in parser.chunks().enumerate() {
                let Ok(mut data) = data else { continue };
                let Ok(mut chunk) = data.parse(settings.clone()) else { continue };
                chunks += 1;
                let walked = read_whole_chunk(chunk.data, chunk.header, &source, &mut Templates::default());
                let Some(walked) = walked else { continue };
                whole += 1;
                let mut templates = Templates::default();
                let one_by_one: Vec<Event> = chunk
                    .iter()
                    .map(|record| {
                        let record = record.expect("a chunk read in one walk has no bad record");
                        normalize(record, &source, number as u64, &mut templates).ok().expect("every record reads")
                    })
                    .collect();
                assert!(walked == one_by_one, "{} chunk {number}: the two paths differ", path.display());
            }
        }
        eprintln!("{whole} of {chunks} chunks read in one walk");
        assert!(chunks > 500 && whole * 10 > chunks * 9, "only {whole} of {chunks} chunks read in one walk");
    }

    /// The chunks left out are the empty ones at the end, whatever byte of a chunk is not
    /// zero (in its head or after it); a file that ends inside a chunk is left whole.
    #[test]
    fn only_the_empty_chunks_at_the_end_are_left_out() {
        let chunk = CHUNK_BYTES as usize;
        let file_with = |chunks: &[Option<usize>]| {
            let mut bytes = vec![1; FILE_HEADER_BYTES as usize];
            for set_byte in chunks {
                let mut chunk = vec![0; chunk];
                if let Some(at) = set_byte {
                    chunk[*at] = 7;
                }
                bytes.extend(chunk);
            }
            bytes
        };
        let kept = |bytes: Vec<u8>| {
            let mut trimmed = WithoutEmptyTail::new(std::io::Cursor::new(bytes)).unwrap();
            let mut read = Vec::new();
            trimmed.read_to_end(&mut read).unwrap();
            assert_eq!(read.len() as u64, trimmed.length);
            (read.len() - FILE_HEADER_BYTES as usize) / chunk
        };
        assert_eq!(kept(file_with(&[Some(0), None, None])), 1);
        assert_eq!(kept(file_with(&[Some(0), None, Some(chunk - 1)])), 3);
        assert_eq!(kept(file_with(&[Some(0), Some(CHUNK_HEAD_BYTES), None])), 2);
        assert_eq!(kept(file_with(&[None, None])), 0);
        let mut cut = file_with(&[Some(0), None]);
        cut.push(0);
        assert_eq!(WithoutEmptyTail::new(std::io::Cursor::new(cut.clone())).unwrap().length, cut.len() as u64);
    }
}
