//! EVTX: the file is cut into its 64 KiB chunks by one thread; each chunk's records are read
//! from their binary XML (or, for the shapes that reader leaves, rendered to JSON) and
//! normalized on any core.

use crate::evtx_template::{RecordFields, Templates};
use crate::pipeline::{Outcome, Step};
use crate::report::{Place, Problem};
use evtx::err::EvtxError;
use evtx::{
    EvtxChunkData, EvtxChunkHeader, EvtxParser, EvtxRecord, EvtxRecordHeader, ParserSettings, Timestamp as RecordTime,
};
use harrier_event::{Event, Provenance, SourceFile, Timestamp};
use std::io::{Read, Seek, SeekFrom};
use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

pub(crate) const CHUNK_BYTES: u64 = 65_536;
/// The chunk header; records follow it.
const CHUNK_HEADER_BYTES: usize = 512;
/// A record's header: magic, size, id, time; its binary XML follows.
const RECORD_HEADER_BYTES: usize = 24;
const FILE_HEADER_BYTES: u64 = 4096;
/// Where the file header says how many chunks are in use (a 16-bit count).
#[cfg(test)]
const DECLARED_CHUNKS_AT: usize = 42;

/// One chunk, ready to parse on any thread.
pub(crate) struct ChunkWork {
    pub source: Arc<SourceFile>,
    pub number: u64,
    pub data: EvtxChunkData,
    /// For the last chunk of a file cut short: the bytes the file still holds of it.
    pub cut_at: Option<u64>,
}

/// Sends the chunks of one EVTX file in record order (the order Windows reads a log that has
/// wrapped around), and a problem for each chunk that cannot be read. Reading ends early once
/// `stop` is set.
pub(crate) fn produce(
    input: impl ReadAt,
    source: &Arc<SourceFile>,
    stop: Option<&AtomicBool>,
    send: &mut dyn FnMut(Step),
) {
    let mut reader = match Positioned::new(input) {
        Ok(reader) => reader,
        Err(error) => {
            send(Step::Problem(Problem::new(&source.path, Place::File, format!("read error: {error}"))));
            return;
        }
    };
    let layout = match Layout::read(&mut reader) {
        Ok(layout) => layout,
        Err(message) => {
            send(Step::Problem(Problem::new(&source.path, Place::File, message)));
            return;
        }
    };
    for number in layout.record_order(&mut reader) {
        if stop.is_some_and(|stop| stop.load(Ordering::Relaxed)) {
            return;
        }
        match read_chunk(&mut reader, number) {
            Ok(Some(data)) => {
                let work = ChunkWork { source: source.clone(), number, data, cut_at: None };
                send(Step::Work(crate::pipeline::Work::Evtx(Box::new(work))));
            }
            // Windows preallocates log files: an empty chunk slot holds no records.
            Ok(None) => {}
            // Past the chunks the file header declares lies preallocated space, which
            // Windows leaves with stale bytes: no records are lost there.
            Err(_) if number >= layout.declared_chunks => send(Step::UnusedChunk),
            Err(message) => send(Step::Problem(Problem::new(&source.path, Place::Chunk(number), message))),
        }
        send(Step::Progress(CHUNK_BYTES));
    }
    if let Some((number, tail)) = layout.tail {
        send_truncated_chunk(tail, number, source, send);
    }
}

/// An input whose bytes are read by their position, with no cursor to move: a file on disk
/// takes one system call a read (`pread`), where seeking and then reading took two, and
/// seeking was more than half of the system calls of reading the shared EVTX files.
pub(crate) trait ReadAt {
    /// Reads the bytes from `offset` on into `buffer`; how many (0 past the end).
    fn read_at(&self, buffer: &mut [u8], offset: u64) -> std::io::Result<usize>;

    fn length(&self) -> std::io::Result<u64>;
}

impl ReadAt for std::fs::File {
    fn read_at(&self, buffer: &mut [u8], offset: u64) -> std::io::Result<usize> {
        #[cfg(unix)]
        return std::os::unix::fs::FileExt::read_at(self, buffer, offset);
        #[cfg(windows)]
        return std::os::windows::fs::FileExt::seek_read(self, buffer, offset);
    }

    fn length(&self) -> std::io::Result<u64> {
        Ok(self.metadata()?.len())
    }
}

impl ReadAt for [u8] {
    fn read_at(&self, buffer: &mut [u8], offset: u64) -> std::io::Result<usize> {
        let rest = usize::try_from(offset).ok().and_then(|offset| self.get(offset..)).unwrap_or_default();
        let read = rest.len().min(buffer.len());
        buffer[..read].copy_from_slice(&rest[..read]);
        Ok(read)
    }

    fn length(&self) -> std::io::Result<u64> {
        Ok(self.len() as u64)
    }
}

impl ReadAt for crate::inputs::ArcBytes {
    fn read_at(&self, buffer: &mut [u8], offset: u64) -> std::io::Result<usize> {
        self.0.as_slice().read_at(buffer, offset)
    }

    fn length(&self) -> std::io::Result<u64> {
        self.0.as_slice().length()
    }
}

/// An input read by position, as the reader and seeker the `evtx` crate's parser takes:
/// seeking moves a number, reading reads at it. Its length is the input's when it was opened.
struct Positioned<R> {
    input: R,
    position: u64,
    length: u64,
}

impl<R: ReadAt> Positioned<R> {
    fn new(input: R) -> std::io::Result<Positioned<R>> {
        let length = input.length()?;
        Ok(Positioned { input, position: 0, length })
    }
}

impl<R: ReadAt> Read for Positioned<R> {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        let read = self.input.read_at(buffer, self.position)?;
        self.position += read as u64;
        Ok(read)
    }
}

impl<R> Seek for Positioned<R> {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        let position = match to {
            SeekFrom::Start(position) => Some(position),
            SeekFrom::End(delta) => self.length.checked_add_signed(delta),
            SeekFrom::Current(delta) => self.position.checked_add_signed(delta),
        };
        let position = position.ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "seek before the start of the input")
        })?;
        self.position = position;
        Ok(position)
    }
}

/// Where an EVTX file's chunks are: the whole 64 KiB slots after its header, and the bytes of
/// a last chunk the file ends inside of.
struct Layout {
    /// The chunks the file header declares.
    declared_chunks: u64,
    /// The whole chunk slots the file holds, in use or not.
    slots: u64,
    /// The number and the bytes of a last chunk cut short (a copy interrupted, a carved file).
    tail: Option<(u64, Vec<u8>)>,
}

impl Layout {
    fn read<R: Read + Seek>(reader: &mut R) -> Result<Layout, String> {
        let declared_chunks = match EvtxParser::from_read_seek(&mut *reader) {
            Ok(parser) => u64::from(parser.header().chunk_count),
            Err(error) => return Err(error_chain(&error)),
        };
        let tail = truncated_tail(reader).map_err(|error| format!("read error: {error}"))?;
        let length = reader.seek(SeekFrom::End(0)).map_err(|error| format!("read error: {error}"))?;
        let slots = length.saturating_sub(FILE_HEADER_BYTES) / CHUNK_BYTES;
        Ok(Layout { declared_chunks, slots, tail })
    }

    /// The chunk numbers in the order the `evtx` crate walks them: from the chunk that holds
    /// the oldest records to the end of the file, then from the start of the file. Slots past
    /// the chunks the file header declares whose header is blank are left out: Windows
    /// preallocates log files, and a third of the shared files' slots are such space, which
    /// no record can be read from (a chunk starts with its header), so it is not read.
    fn record_order<R: Read + Seek>(&self, reader: &mut R) -> impl Iterator<Item = u64> + use<R> {
        let Headers { oldest, blank } = self.headers(reader);
        let declared = self.declared_chunks;
        let unused = move |number: u64| number >= declared && blank.get(number as usize) == Some(&true);
        (oldest..self.slots).chain(0..oldest).filter(move |&number| !unused(number))
    }

    /// What the chunk headers tell: the chunk whose header names the lowest record id (a full
    /// log writes each new chunk over its oldest one, so once it has wrapped around, its
    /// oldest chunk can be anywhere), and which slots' headers are blank.
    fn headers<R: Read + Seek>(&self, reader: &mut R) -> Headers {
        let mut oldest = (u64::MAX, 0);
        let mut blank = Vec::new();
        let mut header = [0; CHUNK_HEADER_BYTES];
        for number in 0..self.slots {
            if reader.seek(SeekFrom::Start(chunk_offset(number))).is_err() || reader.read_exact(&mut header).is_err() {
                break;
            }
            blank.push(is_zero(&header));
            // A header whose range is reversed says nothing about where its records belong.
            if let Ok(chunk) = EvtxChunkHeader::from_bytes(&header)
                && chunk.first_event_record_id <= chunk.last_event_record_id
                && chunk.first_event_record_id < oldest.0
            {
                oldest = (chunk.first_event_record_id, number);
            }
        }
        Headers { oldest: oldest.1, blank }
    }
}

/// See [`Layout::headers`].
struct Headers {
    oldest: u64,
    /// By slot number, whether its header is all zeros (slots past a read error are missing).
    blank: Vec<bool>,
}

fn chunk_offset(number: u64) -> u64 {
    FILE_HEADER_BYTES + number * CHUNK_BYTES
}

/// One chunk's bytes, `None` when they are all zeros. Read whole at once: read to the end of
/// a `take`, a chunk took four reads (8, 16 and 32 KiB, then the rest), a third of the system
/// calls of reading EVTX.
fn read_chunk<R: Read + Seek>(reader: &mut R, number: u64) -> Result<Option<EvtxChunkData>, String> {
    let mut data = chunk_buffer();
    let read = reader
        .seek(SeekFrom::Start(chunk_offset(number)))
        .and_then(|_| read_up_to(reader, &mut data))
        .map_err(|error| format!("read error: {error}"))?;
    if read != data.len() {
        return Err(format!("the chunk ends {read} bytes in, before its end"));
    }
    if is_zero(&data) {
        give_back(data);
        return Ok(None);
    }
    let mut chunk = EvtxChunkData::new(data, false)
        .map_err(|error| error_chain(&EvtxError::FailedToParseChunk { chunk_id: number, source: Box::new(error) }))?;
    chunk.number = Some(number);
    Ok(Some(chunk))
}

/// Buffers of chunks whose records have been read, kept for the next chunks: a new buffer is
/// zeroed first, and that zeroing was 8 % of the instructions of reading EVTX. At most
/// [`MOST_SPARE_CHUNKS`] are kept (2 MiB), whatever the input.
static SPARE_CHUNKS: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());
const MOST_SPARE_CHUNKS: usize = 32;

/// A buffer of a chunk's size, whose bytes are to be overwritten whole.
fn chunk_buffer() -> Vec<u8> {
    let spare = SPARE_CHUNKS.lock().ok().and_then(|mut spare| spare.pop());
    spare.unwrap_or_else(|| vec![0; CHUNK_BYTES as usize])
}

/// Keeps a chunk's buffer for a later chunk, unless enough are kept.
fn give_back(buffer: Vec<u8>) {
    if buffer.len() == CHUNK_BYTES as usize
        && let Ok(mut spare) = SPARE_CHUNKS.lock()
        && spare.len() < MOST_SPARE_CHUNKS
    {
        spare.push(buffer);
    }
}

/// The bytes of a last chunk that the file ends inside of, when it was cut short (a copy
/// interrupted, a carved file).
fn truncated_tail<R: Read + Seek>(reader: &mut R) -> std::io::Result<Option<(u64, Vec<u8>)>> {
    let length = reader.seek(SeekFrom::End(0))?;
    let partial = length.saturating_sub(FILE_HEADER_BYTES) % CHUNK_BYTES;
    if length <= FILE_HEADER_BYTES || partial == 0 {
        return Ok(None);
    }
    reader.seek(SeekFrom::Start(length - partial))?;
    // Room for the whole chunk it is sent as (see `send_truncated_chunk`).
    let mut tail = Vec::with_capacity(CHUNK_BYTES as usize);
    tail.resize(partial as usize, 0);
    let read = read_up_to(reader, &mut tail)?;
    tail.truncate(read);
    Ok(Some(((length - FILE_HEADER_BYTES) / CHUNK_BYTES, tail)))
}

/// Reads into `buffer` until it is full or the input ends; how many bytes were read.
fn read_up_to(reader: &mut impl Read, buffer: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match reader.read(&mut buffer[filled..]) {
            Ok(0) => break,
            Ok(read) => filled += read,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(filled)
}

/// Whether all bytes are zero, in blocks whose OR the compiler vectorizes.
fn is_zero(bytes: &[u8]) -> bool {
    bytes.chunks(4096).all(|block| block.iter().fold(0, |any, &byte| any | byte) == 0)
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
        let outcome = self.read_records(settings);
        give_back(std::mem::take(&mut self.data.data));
        outcome
    }

    fn read_records(&mut self, settings: &Arc<ParserSettings>) -> Outcome {
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
            && let Some(walked) = read_whole_chunk(&self.data.data, &self.data.header, &self.source, &mut templates)
            && let Some((events, problems)) = self.with_records_left_rendered(walked, settings)
        {
            outcome.events = events;
            outcome.problems.extend(problems);
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
                Err(unread) => outcome.problems.push(unread.problem(&path, number)),
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

impl Unread {
    /// The problem it makes, for a record of chunk `chunk` of the file at `path`.
    fn problem(self, path: &str, chunk: u64) -> Problem {
        match self {
            Unread::Record(place, message) => Problem::new(path, place, message),
            Unread::Evtx(error) => Problem::new(path, record_place(&error, chunk), error_chain(&error)),
        }
    }
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
    match templates.read(record.chunk.data, binxml(&record)) {
        Some(fields) => Ok(read_event(fields, source, record.event_record_id, record.timestamp)),
        None => rendered_event(record, source, chunk),
    }
}

/// The event of a record read from its binary XML, whose header gave `record_id` and
/// `header_time`.
fn read_event(fields: RecordFields, source: &Arc<SourceFile>, record_id: u64, header_time: RecordTime) -> Event {
    let provenance = Provenance { source: source.clone(), record_id, timestamp: None };
    let (event, record_id_at) = fields.finish(provenance);
    let own_id = event_record_id(&event, record_id_at);
    with_record_time_and_id(event, header_time, own_id.unwrap_or(record_id))
}

/// One record's event, read from the `evtx` crate's JSON rendering of it.
fn rendered_event(record: EvtxRecord<'_>, source: &Arc<SourceFile>, chunk: u64) -> Result<Event, Unread> {
    let record_id = record.event_record_id;
    let header_time = record.timestamp;
    let provenance = Provenance { source: source.clone(), record_id, timestamp: None };
    let json = record.into_json_bytes()?.data;
    let event = harrier_normalize::normalize_json(&json, provenance)
        .map_err(|error| Unread::Record(Place::Record { chunk: Some(chunk), record: record_id }, error.to_string()))?;
    let own_id = event_record_id(&event, event.position(harrier_event::names::EVENT_RECORD_ID));
    Ok(with_record_time_and_id(event, header_time, own_id.unwrap_or(record_id)))
}

/// The record's binary XML in its chunk.
pub(crate) fn binxml(record: &EvtxRecord<'_>) -> Range<usize> {
    let start = usize::try_from(record.binxml_offset).unwrap_or(usize::MAX);
    start..start.saturating_add(record.binxml_size as usize)
}

/// The event with the record header's time when it has none of its own (told first: nearly
/// every event has, and making the instant costs a calendar computation), and `record_id`:
/// its own `EventRecordID` when it has one, else the record header's.
fn with_record_time_and_id(mut event: Event, header_time: RecordTime, record_id: u64) -> Event {
    if event.provenance.timestamp.is_none() {
        event.provenance.timestamp = Timestamp::from_unix_micros(header_time.as_microsecond());
    }
    event.provenance.record_id = record_id;
    event
}

/// A record as the one walk of a chunk left it.
enum Walked {
    Read(Event),
    /// A record whose shape the binary XML reader leaves to the JSON path: where its binary
    /// XML starts in the chunk.
    Left(usize),
}

/// Every record of a chunk, read from binary XML in one walk of its record headers (as the
/// `evtx` crate walks them: from the chunk header to the free space or the chunk's last
/// record), but those left to the JSON path. `None` when a record is not where the walk
/// expects it: the chunk is then read record by record through the crate, which says what
/// went wrong.
fn read_whole_chunk(
    data: &[u8],
    header: &EvtxChunkHeader,
    source: &Arc<SourceFile>,
    templates: &mut Templates,
) -> Option<Vec<Walked>> {
    let live_end = (header.free_space_offset as usize).min(data.len());
    let mut records = Vec::with_capacity(
        (header.last_event_record_id.saturating_sub(header.first_event_record_id) + 1).min(1024) as usize,
    );
    let mut offset = CHUNK_HEADER_BYTES;
    while offset < live_end {
        let record = EvtxRecordHeader::from_bytes_at(data, offset).ok()?;
        let start = offset + RECORD_HEADER_BYTES;
        let end = start.checked_add(record.record_data_size().ok()? as usize).filter(|&end| end <= data.len())?;
        let record_id = record.event_record_id;
        records.push(match templates.read(data, start..end) {
            Some(fields) => Walked::Read(read_event(fields, source, record_id, record.timestamp)),
            None => Walked::Left(start),
        });
        if record_id == header.last_event_record_id {
            break;
        }
        offset += record.data_size as usize;
    }
    Some(records)
}

impl ChunkWork {
    /// The events of the records of one walk, and a problem for each record left to the JSON
    /// path that does not read there: those records are rendered by the `evtx` crate, whose
    /// walk of the chunk stops past the last of them. `None` when that walk does not meet one
    /// of them where the first walk did: the chunk is then read record by record.
    fn with_records_left_rendered(
        &mut self,
        walked: Vec<Walked>,
        settings: &Arc<ParserSettings>,
    ) -> Option<(Vec<Event>, Vec<Problem>)> {
        let left: Vec<usize> = walked
            .iter()
            .filter_map(|record| match record {
                Walked::Left(start) => Some(*start),
                Walked::Read(_) => None,
            })
            .collect();
        let mut rendered = Vec::with_capacity(left.len());
        if !left.is_empty() {
            let mut chunk = self.data.parse(settings.clone()).ok()?;
            let mut records = chunk.iter();
            for start in left {
                let record = loop {
                    match records.next()? {
                        Ok(record) if binxml(&record).start == start => break record,
                        Ok(record) if binxml(&record).start > start => return None,
                        _ => continue,
                    }
                };
                rendered.push(rendered_event(record, &self.source, self.number));
            }
        }
        let mut rendered = rendered.into_iter();
        let (mut events, mut problems) = (Vec::with_capacity(walked.len()), Vec::new());
        for record in walked {
            match record {
                Walked::Read(event) => events.push(event),
                Walked::Left(_) => match rendered.next()? {
                    Ok(event) => events.push(event),
                    Err(unread) => problems.push(unread.problem(&self.source.path, self.number)),
                },
            }
        }
        Some((events, problems))
    }
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
/// renumbers the headers and keeps the events' ids. `at` is where the field is among the
/// event's fields.
fn event_record_id(event: &Event, at: Option<usize>) -> Option<u64> {
    event.fields().get(at?)?.value.as_i64().and_then(|id| u64::try_from(id).ok())
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
    use std::cell::Cell;

    /// Every chunk of every shared EVTX file gives the events the record-by-record path (the
    /// `evtx` crate's iterator) gives, in the same order, and a problem for each record that
    /// gives none; and the one-walk path reads most chunks, with their records that take the
    /// JSON path.
    #[test]
    fn chunks_read_in_one_walk_give_the_events_read_record_by_record() {
        let Some(root) = harrier_testdata::shared("evtx") else { return };
        let settings = Arc::new(ParserSettings::new());
        let (mut whole, mut with_records_left, mut chunks) = (0, 0, 0);
        for entry in walkdir::WalkDir::new(&root).sort_by_file_name() {
            let path = entry.expect("the shared folder can be walked").into_path();
            if path.extension().is_none_or(|extension| extension != "evtx") {
                continue;
            }
            let Ok(mut parser) = EvtxParser::from_path(&path) else { continue };
            let source = Arc::new(SourceFile { path: path.display().to_string() });
            for (number, data) in parser.chunks().enumerate() {
                let number = number as u64;
                let Ok(mut data) = data else { continue };
                let Ok(mut chunk) = data.parse(settings.clone()) else { continue };
                chunks += 1;
                let walked = read_whole_chunk(chunk.data, chunk.header, &source, &mut Templates::default());
                let Some(walked) = walked else { continue };
                whole += 1;
                with_records_left += usize::from(walked.iter().any(|record| matches!(record, Walked::Left(_))));
                let mut templates = Templates::default();
                let (one_by_one, unread): (Vec<_>, Vec<_>) = chunk
                    .iter()
                    .map(|record| {
                        normalize(
                            record.expect("a chunk read in one walk has no bad record"),
                            &source,
                            number,
                            &mut templates,
                        )
                    })
                    .partition(Result::is_ok);
                let one_by_one: Vec<Event> = one_by_one.into_iter().flatten().collect();
                let work = Box::new(ChunkWork { source: source.clone(), number, data, cut_at: None });
                let outcome = work.process(&settings);
                assert!(outcome.events == one_by_one, "{} chunk {number}: the two paths differ", path.display());
                for event in &outcome.events {
                    let own_id = event_record_id(event, event.position(harrier_event::names::EVENT_RECORD_ID));
                    assert!(own_id.is_none_or(|id| id == event.record_id()), "{} chunk {number}", path.display());
                }
                let record_problems = outcome.problems.iter().filter(|problem| !problem.kept).count();
                assert_eq!(record_problems, unread.len(), "{} chunk {number}", path.display());
            }
        }
        eprintln!("{whole} of {chunks} chunks read in one walk, {with_records_left} of them with records left to JSON");
        assert!(chunks > 500 && whole * 50 > chunks * 49, "only {whole} of {chunks} chunks read in one walk");
        assert!(with_records_left > 0, "no chunk tried the records left to the JSON path");
    }

    /// A shared EVTX file whose first two chunks are in use, or `None` (skipped) without the
    /// shared data.
    fn two_chunk_file() -> Option<Vec<u8>> {
        let root = harrier_testdata::shared("evtx")?;
        let found = walkdir::WalkDir::new(&root).sort_by_file_name().into_iter().find_map(|entry| {
            let bytes = std::fs::read(entry.ok()?.path()).ok()?;
            let chunk = |number: u64| &bytes[chunk_offset(number) as usize..chunk_offset(number + 1) as usize];
            let in_use =
                |number: u64| bytes.len() as u64 >= chunk_offset(number + 1) && chunk(number).starts_with(b"ElfChnk\0");
            (bytes.starts_with(b"ElfFile\0") && in_use(0) && in_use(1)).then(|| bytes.clone())
        });
        Some(found.expect("a shared EVTX file has two chunks in use"))
    }

    /// What `produce` does with `file`: the chunk numbers it sends, how many slots it counts
    /// unused, and how many bytes of `watched` it reads, in how many reads; a problem fails the
    /// test.
    fn produced(file: &[u8], stop: &AtomicBool, watched: Range<u64>) -> (Vec<u64>, usize, u64, usize) {
        /// An input that counts the bytes read of a range of it, and the reads.
        struct Watched<'c>(&'c [u8], Range<u64>, Cell<u64>, Cell<usize>);
        impl ReadAt for &Watched<'_> {
            fn read_at(&self, buffer: &mut [u8], offset: u64) -> std::io::Result<usize> {
                let read = self.0.read_at(buffer, offset)?;
                let end = offset + read as u64;
                let watched = end.min(self.1.end).saturating_sub(offset.max(self.1.start));
                self.2.set(self.2.get() + watched);
                self.3.set(self.3.get() + usize::from(watched > 0));
                Ok(read)
            }

            fn length(&self) -> std::io::Result<u64> {
                self.0.length()
            }
        }
        let (mut numbers, mut unused) = (Vec::new(), 0);
        let source = Arc::new(SourceFile { path: "made.evtx".into() });
        let input = Watched(file, watched, Cell::new(0), Cell::new(0));
        produce(&input, &source, Some(stop), &mut |step| match step {
            Step::Work(crate::pipeline::Work::Evtx(work)) => numbers.push(work.number),
            Step::UnusedChunk => unused += 1,
            Step::Problem(problem) => panic!("{problem:?}"),
            _ => {}
        });
        (numbers, unused, input.2.get(), input.3.get())
    }

    /// Chunks are sent from the one holding the oldest records, wrapping around to the start
    /// of the file; empty chunk slots are passed over; nothing is sent once reading is stopped.
    #[test]
    fn chunks_are_sent_in_record_order_without_the_empty_slots() {
        let Some(bytes) = two_chunk_file() else { return };
        let (header, chunk) = (FILE_HEADER_BYTES as usize, CHUNK_BYTES as usize);
        // The newer chunk first, an empty slot, then the older one: a log that wrapped around.
        let mut wrapped = bytes[..header].to_vec();
        wrapped.extend_from_slice(&bytes[header + chunk..header + 2 * chunk]);
        wrapped.extend(std::iter::repeat_n(0, chunk));
        wrapped.extend_from_slice(&bytes[header..header + chunk]);
        assert_eq!(produced(&wrapped, &AtomicBool::new(false), 0..0).0, [2, 0]);
        assert!(produced(&wrapped, &AtomicBool::new(true), 0..0).0.is_empty());
    }

    /// Read by position, an input seeks as a file does: from its start, its end or where it
    /// is, never before its start; and reads where it was sought.
    #[test]
    fn an_input_read_by_position_seeks_as_a_file_does() {
        let bytes = crate::inputs::ArcBytes(Arc::new(b"0123456789".to_vec()));
        let mut input = Positioned::new(bytes).expect("bytes have a length");
        let mut two = [0; 2];
        assert_eq!(input.seek(SeekFrom::End(-3)).ok(), Some(7));
        assert_eq!((input.read(&mut two).ok(), two), (Some(2), *b"78"));
        assert_eq!(input.seek(SeekFrom::Current(-5)).ok(), Some(4));
        assert_eq!((input.read(&mut two).ok(), two), (Some(2), *b"45"));
        assert!(input.seek(SeekFrom::Current(-7)).is_err());
        assert_eq!(input.seek(SeekFrom::Start(20)).ok(), Some(20));
        assert_eq!(input.read(&mut two).ok(), Some(0));
    }

    /// A chunk buffer kept from an earlier chunk is overwritten whole: what it held is never
    /// read as a later chunk's bytes, and only buffers of a chunk's size are kept.
    #[test]
    fn a_kept_chunk_buffer_holds_nothing_of_its_earlier_chunk() {
        let (header, chunk) = (FILE_HEADER_BYTES as usize, CHUNK_BYTES as usize);
        let read_after_a_kept_buffer = |file_bytes: usize| {
            give_back(vec![0xa5; chunk]);
            let input = crate::inputs::ArcBytes(Arc::new(vec![0; file_bytes]));
            read_chunk(&mut Positioned::new(input).expect("bytes have a length"), 0).map(|data| data.is_some())
        };
        assert_eq!(read_after_a_kept_buffer(header + chunk), Ok(false), "a blank slot");
        let cut = read_after_a_kept_buffer(header + chunk / 2);
        assert_eq!(cut, Err(format!("the chunk ends {} bytes in, before its end", chunk / 2)));
        give_back(vec![0xa5; 10]);
        assert_eq!(chunk_buffer().len(), chunk);
    }

    /// A chunk is read whole in one read, not in reads of growing sizes.
    #[test]
    fn a_chunk_is_read_in_one_read() {
        let Some(bytes) = two_chunk_file() else { return };
        let body = chunk_offset(0) + CHUNK_HEADER_BYTES as u64..chunk_offset(1);
        let (numbers, _, body_read, reads) = produced(&bytes, &AtomicBool::new(false), body.clone());
        assert!(numbers.contains(&0));
        assert_eq!((body_read, reads), (body.end - body.start, 1));
    }

    /// Past the chunks the file header declares, a slot whose header is blank is not read,
    /// whatever its body holds; one whose header holds stale bytes is read, and counted unused.
    #[test]
    fn preallocated_slots_with_a_blank_header_are_not_read() {
        let Some(bytes) = two_chunk_file() else { return };
        let (header, chunk) = (FILE_HEADER_BYTES as usize, CHUNK_BYTES as usize);
        let mut file = bytes[..header + 2 * chunk].to_vec();
        file[DECLARED_CHUNKS_AT..DECLARED_CHUNKS_AT + 2].copy_from_slice(&2u16.to_le_bytes());
        let mut blank_header = vec![0xa5; chunk];
        blank_header[..CHUNK_HEADER_BYTES].fill(0);
        let mut stale_header = vec![0; chunk];
        stale_header[..8].copy_from_slice(b"stale...");
        file.extend_from_slice(&blank_header);
        file.extend_from_slice(&stale_header);
        let body = chunk_offset(2) + CHUNK_HEADER_BYTES as u64..chunk_offset(3);
        let (numbers, unused, body_read, _) = produced(&file, &AtomicBool::new(false), body);
        assert_eq!((numbers.as_slice(), unused, body_read), ([0, 1].as_slice(), 1, 0));
    }
}
