//! Turning the paths a user gives into the files to read, in a deterministic order.

use crate::detect::{self, Sniffed};
use crate::report::{Place, Problem};
use std::fs::File;
use std::io::{self, BufRead, BufReader, Cursor, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Bytes read ahead to tell a format.
pub(crate) const SNIFF_BYTES: usize = 4096;

/// What to read: a file, a directory (walked recursively), standard input, bytes in memory,
/// or a reader the caller has (a socket, a decompressor, an archive member).
#[derive(Debug, Clone)]
pub enum Input {
    Path(PathBuf),
    Stdin,
    /// Bytes already in memory, named as problems and results should name them.
    Bytes {
        name: String,
        bytes: Arc<Vec<u8>>,
    },
    /// A stream, read once (a second read of the same input finds it empty).
    Reader {
        name: String,
        reader: SharedReader,
    },
}

/// A reader an [`Input`] can hold: taken by the first read.
#[derive(Clone)]
pub struct SharedReader(Arc<Mutex<Option<Box<dyn Read + Send>>>>);

impl std::fmt::Debug for SharedReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedReader")
    }
}

impl Input {
    /// A command-line argument: `-` is standard input, anything else a path.
    pub fn from_arg(arg: &str) -> Input {
        if arg == "-" { Input::Stdin } else { Input::Path(PathBuf::from(arg)) }
    }

    /// Bytes in memory (an upload, a fuzzer's input), named `name`.
    pub fn bytes(name: impl Into<String>, bytes: Vec<u8>) -> Input {
        Input::Bytes { name: name.into(), bytes: Arc::new(bytes) }
    }

    /// A stream, named `name`. EVTX needs seeking: a stream of EVTX is first copied to a
    /// temporary file.
    pub fn reader(name: impl Into<String>, reader: impl Read + Send + 'static) -> Input {
        Input::Reader { name: name.into(), reader: SharedReader(Arc::new(Mutex::new(Some(Box::new(reader))))) }
    }
}

/// Where an input file's bytes come from.
#[derive(Clone)]
pub(crate) enum Origin {
    Path(PathBuf),
    Stdin,
    Bytes(Arc<Vec<u8>>),
    Reader(SharedReader),
}

/// A file to read, found from an [`Input`].
pub(crate) struct InputFile {
    pub display: String,
    pub origin: Origin,
    /// Found by walking a directory: a file that is not a log is passed over, not an error.
    pub from_directory: bool,
    pub bytes: u64,
}

/// Expands directories (sorted by name, so the order is the same on every run) and reports
/// the entries that cannot be listed.
pub(crate) fn expand(inputs: &[Input], problems: &mut Vec<Problem>) -> Vec<InputFile> {
    let mut files = Vec::new();
    for input in inputs {
        match input {
            Input::Stdin => {
                files.push(InputFile { display: "-".into(), origin: Origin::Stdin, from_directory: false, bytes: 0 })
            }
            Input::Path(path) if path.is_dir() => walk(path, &mut files, problems),
            Input::Path(path) => files.push(InputFile {
                display: path.display().to_string(),
                origin: Origin::Path(path.clone()),
                from_directory: false,
                bytes: std::fs::metadata(path).map(|meta| meta.len()).unwrap_or(0),
            }),
            Input::Bytes { name, bytes } => files.push(InputFile {
                display: name.clone(),
                origin: Origin::Bytes(bytes.clone()),
                from_directory: false,
                bytes: bytes.len() as u64,
            }),
            Input::Reader { name, reader } => files.push(InputFile {
                display: name.clone(),
                origin: Origin::Reader(reader.clone()),
                from_directory: false,
                bytes: 0,
            }),
        }
    }
    files
}

fn walk(root: &Path, files: &mut Vec<InputFile>, problems: &mut Vec<Problem>) {
    for entry in walkdir::WalkDir::new(root).follow_links(true).sort_by_file_name() {
        match entry {
            Ok(entry) if entry.file_type().is_file() => files.push(InputFile {
                display: entry.path().display().to_string(),
                origin: Origin::Path(entry.path().to_owned()),
                from_directory: true,
                bytes: entry.metadata().map(|meta| meta.len()).unwrap_or(0),
            }),
            Ok(_) => {}
            Err(error) => {
                let path = error.path().unwrap_or(root).display().to_string();
                problems.push(Problem::new(&path, Place::File, format!("cannot list: {}", io_reason(&error))));
            }
        }
    }
}

fn io_reason(error: &walkdir::Error) -> String {
    error.io_error().map_or_else(|| error.to_string(), ToString::to_string)
}

/// An opened input with the bytes it starts with already read.
pub(crate) struct Opened {
    pub sniffed: Sniffed,
    pub prefix: Vec<u8>,
    rest: Rest,
}

/// What follows an opened input's prefix.
enum Rest {
    /// A file on disk, kept as such so that a reader that reads by position (EVTX) reads it
    /// in place rather than opening it again.
    File(Stoppable<File>),
    Stream(Box<dyn Read + Send>),
}

impl Opened {
    /// The whole stream again, prefix included.
    pub fn into_reader(self) -> impl BufRead + Send {
        let rest: Box<dyn Read + Send> = match self.rest {
            Rest::File(file) => Box::new(file),
            Rest::Stream(stream) => stream,
        };
        BufReader::with_capacity(1 << 16, Cursor::new(self.prefix).chain(rest))
    }

    /// The file on disk the input was opened from, for a reader that reads it by position
    /// (its cursor is past the prefix); the input itself when it is not a file on disk.
    pub fn into_file(self) -> Result<File, Opened> {
        match self.rest {
            Rest::File(file) => Ok(file.inner),
            Rest::Stream(_) => Err(self),
        }
    }
}

pub(crate) fn open(file: &InputFile, stop: Option<Arc<AtomicBool>>) -> io::Result<Opened> {
    let reader: Box<dyn Read + Send> = match &file.origin {
        Origin::Path(path) => {
            let mut file = Stoppable::new(File::open(path)?, stop);
            let prefix = prefix_of(&mut file)?;
            return Ok(Opened { sniffed: detect::sniff(&prefix), prefix, rest: Rest::File(file) });
        }
        Origin::Stdin => Box::new(Stoppable::new(io::stdin(), stop)),
        Origin::Bytes(bytes) => Box::new(Stoppable::new(Cursor::new(ArcBytes(bytes.clone())), stop)),
        Origin::Reader(shared) => {
            let taken = shared.0.lock().map_err(|_| io::Error::other("the reader's lock is poisoned"))?.take();
            let reader = taken.ok_or_else(|| io::Error::other("this reader was read before"))?;
            Box::new(Stoppable::new(reader, stop))
        }
    };
    sniffed(reader)
}

/// A reader that ends (an error) once the read is stopped, so that a large file is not read
/// to its end for nothing.
pub(crate) struct Stoppable<R> {
    inner: R,
    stop: Option<Arc<AtomicBool>>,
}

impl<R> Stoppable<R> {
    pub fn new(inner: R, stop: Option<Arc<AtomicBool>>) -> Stoppable<R> {
        Stoppable { inner, stop }
    }

    fn check(&self) -> io::Result<()> {
        match &self.stop {
            Some(stop) if stop.load(Ordering::Relaxed) => Err(io::Error::other("the read was stopped")),
            _ => Ok(()),
        }
    }
}

impl<R: Read> Read for Stoppable<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.check()?;
        self.inner.read(buf)
    }
}

/// Reads the first bytes of a stream and tells what it is.
pub(crate) fn sniffed(mut reader: Box<dyn Read + Send>) -> io::Result<Opened> {
    let prefix = prefix_of(&mut reader)?;
    Ok(Opened { sniffed: detect::sniff(&prefix), prefix, rest: Rest::Stream(reader) })
}

/// The first bytes of a stream, as many as telling its format takes.
fn prefix_of(reader: &mut impl Read) -> io::Result<Vec<u8>> {
    let mut prefix = Vec::with_capacity(SNIFF_BYTES);
    reader.take(SNIFF_BYTES as u64).read_to_end(&mut prefix)?;
    Ok(prefix)
}

/// Shared bytes as a reader's buffer.
pub(crate) struct ArcBytes(pub Arc<Vec<u8>>);

impl AsRef<[u8]> for ArcBytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}
