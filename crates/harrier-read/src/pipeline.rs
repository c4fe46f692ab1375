//! The ordered parallel pipeline: one thread reads and cuts the inputs into units of work,
//! all cores parse them, and results come back in input order.
//!
//! Units travel in windows of a fixed size through a bounded channel, so memory is bounded by
//! the window, not by the input; within a window rayon keeps the order of the units.

use crate::detect::{Format, Inner, Sniffed, describe};
use crate::evtx_source::{self, ChunkWork};
use crate::evtx_template;
use crate::inputs::{self, Input, InputFile, Opened};
use crate::json_source::{self, JsonWork};
use crate::report::{FileReport, Place, Problem, Summary};
use evtx::ParserSettings;
use harrier_event::{Event, SourceFile};
use rayon::prelude::*;
use std::io::Cursor;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{SyncSender, sync_channel};

/// How to cut the work.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// Bytes of JSON text per unit of work: small enough (256 KiB by default) for a batch's
    /// events to be still in the cache when they are matched (1 MiB made a JSON hunt 9 %
    /// slower).
    pub json_batch_bytes: usize,
    /// The largest JSON line, document or XML event kept: a longer one is skipped (and named)
    /// while it is read, so that memory stays bounded whatever the input.
    pub max_record_bytes: usize,
    /// Units of work parsed at once; the reading thread reads the next window meanwhile, so
    /// some five windows of input may be in memory at once.
    pub window: usize,
    /// Set from any thread to end the read early: no more input is read or mapped, and the
    /// summary covers what was read so far.
    pub stop: Option<Arc<AtomicBool>>,
    /// The threads that parse and map (default: rayon's global pool).
    pub pool: Option<Arc<rayon::ThreadPool>>,
}

/// The default record limit: far past any Windows event (EVTX keeps a record within a 64 KiB
/// chunk; exports split long script blocks), small enough that a hostile input cannot make
/// one record take much memory.
pub const DEFAULT_MAX_RECORD_BYTES: usize = 16 << 20;

impl Default for ReadOptions {
    fn default() -> ReadOptions {
        ReadOptions::on(None)
    }
}

impl ReadOptions {
    /// The default options on a pool of threads (rayon's global pool if none).
    pub fn on(pool: Option<Arc<rayon::ThreadPool>>) -> ReadOptions {
        let threads = pool.as_ref().map_or_else(rayon::current_num_threads, |pool| pool.current_num_threads());
        ReadOptions {
            json_batch_bytes: 1 << 18,
            max_record_bytes: DEFAULT_MAX_RECORD_BYTES,
            window: 8 * threads,
            stop: None,
            pool,
        }
    }

    fn limits(&self) -> json_source::Limits {
        json_source::Limits { batch_bytes: self.json_batch_bytes, max_record: self.max_record_bytes.max(1) }
    }

    fn stopped(&self) -> bool {
        self.stop.as_ref().is_some_and(|stop| stop.load(Ordering::Relaxed))
    }
}

/// The events of one unit of work (an EVTX chunk, a batch of JSON documents), in file order.
pub struct Batch {
    pub source: Arc<SourceFile>,
    pub events: Vec<Event>,
}

/// Told about problems and progress as the read goes, in input order.
pub trait Observer {
    /// The inputs are found: `total_bytes` is their size on disk.
    fn planned(&mut self, _total_bytes: u64) {}
    fn problem(&mut self, _problem: &Problem) {}
    /// `bytes` more of the inputs (as sized on disk) have been read.
    fn progress(&mut self, _bytes: u64) {}
}

/// An observer that wants to know nothing.
impl Observer for () {}

/// Windows of steps the channel holds. The reading thread fills the next window meanwhile,
/// so it reads up to two windows ahead of the one being parsed: with less, it waited while
/// the workers parsed, and the workers while it read (reading six copies of the shared EVTX
/// files, 1,806 files, on 2 threads took 15 % more time and 7 % more CPU); a window more in
/// the channel gained nothing and took 8 MiB more memory.
const WINDOWS_READ_AHEAD: usize = 1;

/// What the reading thread sends, in input order.
pub(crate) enum Step {
    Start {
        path: String,
        format: Option<Format>,
        bytes: u64,
    },
    Work(Work),
    Problem(Problem),
    Progress(u64),
    Ignored(String),
    /// An EVTX chunk slot past the chunks the file header declares, holding no chunk.
    UnusedChunk,
}

pub(crate) enum Work {
    Evtx(Box<ChunkWork>),
    Json(JsonWork),
}

/// What a unit of work gave.
#[derive(Default)]
pub(crate) struct Outcome {
    pub events: Vec<Event>,
    pub problems: Vec<Problem>,
}

/// A step after the parallel stage.
enum Done<R> {
    Step(Step),
    Work { result: R, events: u64, problems: Vec<Problem> },
}

/// Reads every input, calls `map` on each batch of events on any core, then `sink` on each
/// result in input order. Returns what was read and skipped.
pub fn read<R, M, S>(inputs: &[Input], options: &ReadOptions, map: M, sink: S, observer: &mut dyn Observer) -> Summary
where
    R: Send,
    M: Fn(Batch) -> R + Sync,
    S: FnMut(R),
{
    let mut summary = Summary::default();
    let files = inputs::expand(inputs, &mut summary.problems);
    observer.planned(files.iter().map(|file| file.bytes).sum());
    for problem in &summary.problems {
        observer.problem(problem);
    }
    let window = options.window.max(1);
    let mut consumer = Consumer { settings: Arc::new(ParserSettings::new()), map, sink, summary, observer, options };
    std::thread::scope(|scope| {
        let (sender, receiver) = sync_channel(WINDOWS_READ_AHEAD);
        scope.spawn(move || produce(&files, options, Outbox::new(sender, window)));
        let mut pending = Vec::with_capacity(window * 2);
        let mut works = 0;
        for step in receiver.into_iter().flatten() {
            works += usize::from(matches!(step, Step::Work(_)));
            pending.push(step);
            if works >= window {
                consumer.drain(&mut pending);
                works = 0;
            }
        }
        consumer.drain(&mut pending);
    });
    // The workers keep the EVTX templates they compiled while a read lasts, not after it: a
    // process that reads again later (a notebook, each pass of `bench`) starts afresh.
    match &options.pool {
        Some(pool) => pool.broadcast(|_| evtx_template::forget_compiled()),
        None => rayon::broadcast(|_| evtx_template::forget_compiled()),
    };
    consumer.summary
}

/// The caller's side of the pipeline: what it does with each batch, in parallel and in order.
struct Consumer<'o, M, S> {
    settings: Arc<ParserSettings>,
    map: M,
    sink: S,
    summary: Summary,
    observer: &'o mut dyn Observer,
    options: &'o ReadOptions,
}

impl<R, M, S> Consumer<'_, M, S>
where
    R: Send,
    M: Fn(Batch) -> R + Sync,
    S: FnMut(R),
{
    /// Processes the pending steps: units of work in parallel, then everything in order.
    fn drain(&mut self, pending: &mut Vec<Step>) {
        if self.options.stopped() {
            pending.clear();
            return;
        }
        let (settings, map) = (&self.settings, &self.map);
        let steps = std::mem::take(pending);
        let work = || -> Vec<Done<R>> {
            steps
                .into_par_iter()
                .map(|step| match step {
                    Step::Work(work) => {
                        let (source, outcome) = match work {
                            Work::Evtx(chunk) => (chunk.source.clone(), chunk.process(settings)),
                            Work::Json(batch) => (batch.source(), batch.process()),
                        };
                        let events = outcome.events.len() as u64;
                        let result = map(Batch { source, events: outcome.events });
                        Done::Work { result, events, problems: outcome.problems }
                    }
                    other => Done::Step(other),
                })
                .collect()
        };
        let done = match &self.options.pool {
            Some(pool) => pool.install(work),
            None => work(),
        };
        for item in done {
            self.account(item);
        }
    }

    fn account(&mut self, item: Done<R>) {
        let (summary, observer) = (&mut self.summary, &mut *self.observer);
        match item {
            Done::Work { result, events, problems } => {
                let file = current_file(summary);
                file.events += events;
                for problem in problems {
                    observer.problem(&problem);
                    file.problems.push(problem);
                }
                (self.sink)(result);
            }
            Done::Step(Step::Start { path, format, bytes }) => {
                summary.files.push(FileReport {
                    path,
                    format,
                    bytes,
                    events: 0,
                    unused_chunks: 0,
                    problems: Vec::new(),
                });
            }
            Done::Step(Step::Problem(problem)) => {
                observer.problem(&problem);
                current_file(summary).problems.push(problem);
            }
            Done::Step(Step::Progress(bytes)) => observer.progress(bytes),
            Done::Step(Step::Ignored(path)) => summary.ignored.push(path),
            Done::Step(Step::UnusedChunk) => current_file(summary).unused_chunks += 1,
            Done::Step(Step::Work(_)) => unreachable!("work is done in the parallel stage"),
        }
    }
}

/// Work and problems always follow the `Start` of their file.
fn current_file(summary: &mut Summary) -> &mut FileReport {
    summary.files.last_mut().expect("a file starts before its work")
}

/// The reading thread: opens each file, tells its format and cuts it into units of work.
fn produce(files: &[InputFile], options: &ReadOptions, mut outbox: Outbox) {
    let mut send = |step: Step| {
        if !options.stopped() {
            outbox.send(step);
        }
    };
    for file in files {
        if options.stopped() {
            break;
        }
        let opened = match inputs::open(file, options.stop.clone()) {
            Ok(opened) => opened,
            Err(error) => {
                start_failed(file, &format!("cannot open: {error}"), &mut send);
                continue;
            }
        };
        let Some(format) = format_of(&opened) else {
            report_unreadable(file, &opened, &mut send);
            continue;
        };
        send(Step::Start { path: file.display.clone(), format: Some(format), bytes: file.bytes });
        let source = Arc::new(SourceFile { path: file.display.clone() });
        let mut progress = ProgressCap { total: file.bytes, sent: 0, compressed: matches!(format, Format::Gzip(_)) };
        let mut send_capped = |step: Step| match step {
            Step::Progress(bytes) => {
                if let Some(bytes) = progress.take(bytes) {
                    send(Step::Progress(bytes));
                }
            }
            other => send(other),
        };
        read_file(file, format, opened, &source, options, &mut send_capped);
        let rest = progress.rest();
        send(Step::Progress(rest));
    }
    outbox.flush();
}

/// The reading thread's steps, sent a window of work at a time: the consumer parses nothing
/// before it has a window, and a step sent alone woke it for nothing (a reading pass over the
/// shared EVTX files made some 6,500 futex calls, now some 500, and takes less wall clock).
struct Outbox {
    sender: SyncSender<Vec<Step>>,
    window: usize,
    steps: Vec<Step>,
    works: usize,
}

impl Outbox {
    fn new(sender: SyncSender<Vec<Step>>, window: usize) -> Outbox {
        Outbox { sender, window, steps: Vec::new(), works: 0 }
    }

    fn send(&mut self, step: Step) {
        self.works += usize::from(matches!(step, Step::Work(_)));
        self.steps.push(step);
        if self.works >= self.window {
            self.flush();
        }
    }

    fn flush(&mut self) {
        self.works = 0;
        let steps = std::mem::take(&mut self.steps);
        // The receiver only hangs up when the caller panicked; nothing is left to do then.
        let _ = self.sender.send(steps);
    }
}

fn read_file(
    file: &InputFile,
    format: Format,
    opened: Opened,
    source: &Arc<SourceFile>,
    options: &ReadOptions,
    send: &mut dyn FnMut(Step),
) {
    match format {
        // A file on disk is read in place, unbuffered: chunks are read whole, straight into
        // their buffers.
        Format::Evtx => match opened.into_file() {
            Ok(handle) => evtx_source::produce(handle, source, options.stop.as_deref(), send),
            // Bytes in memory are read where they are.
            Err(opened) => match &file.origin {
                inputs::Origin::Bytes(bytes) => {
                    evtx_source::produce(inputs::ArcBytes(bytes.clone()), source, options.stop.as_deref(), send)
                }
                _ => read_evtx_spooled(opened, source, send),
            },
        },
        Format::Json => json_source::produce(opened.into_reader(), source, options.limits(), send),
        Format::Xml => json_source::produce_xml(opened.into_reader(), source, options.limits(), send),
        Format::Gzip(inner) => {
            let decoder = flate2::read::MultiGzDecoder::new(opened.into_reader());
            let decoded: Box<dyn std::io::Read + Send> = match inner {
                Inner::TarJson => Box::new(crate::tar::Contents::new(decoder)),
                _ => Box::new(decoder),
            };
            match inputs::sniffed(decoded) {
                Ok(inner_opened) if inner == Inner::Evtx => read_evtx_spooled(inner_opened, source, send),
                Ok(inner_opened) if inner == Inner::Xml => {
                    json_source::produce_xml(inner_opened.into_reader(), source, options.limits(), send)
                }
                Ok(inner_opened) => json_source::produce(inner_opened.into_reader(), source, options.limits(), send),
                Err(error) => {
                    send(Step::Problem(Problem::new(&source.path, Place::File, format!("cannot decompress: {error}"))))
                }
            }
        }
    }
}

/// EVTX needs seeking: what arrives through a pipe or gzip is first copied to an anonymous
/// temporary file (memory stays bounded whatever its size), then read from there.
fn read_evtx_spooled(opened: Opened, source: &Arc<SourceFile>, send: &mut dyn FnMut(Step)) {
    let spooled = tempfile::tempfile().and_then(|mut file| {
        std::io::copy(&mut opened.into_reader(), &mut file)?;
        Ok(file)
    });
    match spooled {
        Ok(file) => evtx_source::produce(file, source, None, send),
        Err(error) => send(Step::Problem(Problem::new(&source.path, Place::File, format!("read error: {error}")))),
    }
}

/// The format of an opened input; for gzip, the format inside is sniffed too.
fn format_of(opened: &Opened) -> Option<Format> {
    match opened.sniffed {
        Sniffed::Evtx => Some(Format::Evtx),
        Sniffed::Json => Some(Format::Json),
        Sniffed::Xml => Some(Format::Xml),
        Sniffed::Gzip => {
            let mut decoder = flate2::read::MultiGzDecoder::new(Cursor::new(&opened.prefix));
            let mut inner = Vec::new();
            // The prefix is cut mid-stream, so decompression stops with an error: what came
            // out before it is enough to tell the inner format.
            let _ = std::io::Read::read_to_end(&mut decoder, &mut inner);
            match crate::detect::sniff(&inner) {
                Sniffed::Evtx => Some(Format::Gzip(Inner::Evtx)),
                Sniffed::Json => Some(Format::Gzip(Inner::Json)),
                Sniffed::Xml => Some(Format::Gzip(Inner::Xml)),
                Sniffed::Tar
                    if inner.get(512..).is_some_and(|member| crate::detect::sniff(member) == Sniffed::Json) =>
                {
                    Some(Format::Gzip(Inner::TarJson))
                }
                _ => None,
            }
        }
        Sniffed::Tar | Sniffed::Empty | Sniffed::Unknown => None,
    }
}

/// A file whose format cannot be told: under a directory it is passed over and counted; named
/// by the user, it is a problem.
fn report_unreadable(file: &InputFile, opened: &Opened, send: &mut dyn FnMut(Step)) {
    if file.from_directory && opened.sniffed != Sniffed::Empty {
        send(Step::Ignored(file.display.clone()));
        send(Step::Progress(file.bytes));
        return;
    }
    let reason = match opened.sniffed {
        Sniffed::Empty => "empty file: no events".to_owned(),
        Sniffed::Gzip => "gzip file holding neither EVTX nor JSON".to_owned(),
        Sniffed::Tar => "tar archives are read only gzip-compressed and holding JSON".to_owned(),
        _ => describe(&opened.prefix),
    };
    start_failed(file, &reason, send);
}

fn start_failed(file: &InputFile, reason: &str, send: &mut dyn FnMut(Step)) {
    send(Step::Start { path: file.display.clone(), format: None, bytes: file.bytes });
    send(Step::Problem(Problem::new(&file.display, Place::File, reason)));
    send(Step::Progress(file.bytes));
}

/// Keeps progress within a file's size on disk; a compressed file reports at its end.
struct ProgressCap {
    total: u64,
    sent: u64,
    compressed: bool,
}

impl ProgressCap {
    fn take(&mut self, bytes: u64) -> Option<u64> {
        if self.compressed {
            return None;
        }
        let bytes = bytes.min(self.total - self.sent);
        self.sent += bytes;
        (bytes > 0).then_some(bytes)
    }

    fn rest(&self) -> u64 {
        self.total - self.sent
    }
}
