//! Turning the paths a user gives into the files to read, in a deterministic order.

use crate::detect::{self, Sniffed};
use crate::report::{Place, Problem};
use std::fs::File;
use std::io::{self, BufRead, BufReader, Cursor, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Bytes read ahead to tell a format.
pub(crate) const SNIFF_BYTES: usize = 4096;

/// One path argument: a file, a directory (walked recursively), or `-` for standard input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Path(PathBuf),
    Stdin,
}

impl Input {
    pub fn from_arg(arg: &str) -> Input {
        if arg == "-" { Input::Stdin } else { Input::Path(PathBuf::from(arg)) }
    }
}

/// A file to read, found from an [`Input`].
pub(crate) struct InputFile {
    pub display: String,
    pub path: Option<PathBuf>,
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
            Input::Stdin => files.push(InputFile { display: "-".into(), path: None, from_directory: false, bytes: 0 }),
            Input::Path(path) if path.is_dir() => walk(path, &mut files, problems),
            Input::Path(path) => files.push(InputFile {
                display: path.display().to_string(),
                path: Some(path.clone()),
                from_directory: false,
                bytes: std::fs::metadata(path).map(|meta| meta.len()).unwrap_or(0),
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
                path: Some(entry.path().to_owned()),
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
    pub reader: Box<dyn Read + Send>,
}

impl Opened {
    /// The whole stream again, prefix included.
    pub fn into_reader(self) -> impl BufRead + Send {
        BufReader::with_capacity(1 << 16, Cursor::new(self.prefix).chain(self.reader))
    }
}

pub(crate) fn open(file: &InputFile, stop: Option<Arc<AtomicBool>>) -> io::Result<Opened> {
    let reader: Box<dyn Read + Send> = match &file.path {
        Some(path) => Box::new(Stoppable::new(File::open(path)?, stop)),
        None => Box::new(Stoppable::new(io::stdin(), stop)),
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

impl<R: io::Seek> io::Seek for Stoppable<R> {
    fn seek(&mut self, position: io::SeekFrom) -> io::Result<u64> {
        self.check()?;
        self.inner.seek(position)
    }
}

/// Reads the first bytes of a stream and tells what it is.
pub(crate) fn sniffed(mut reader: Box<dyn Read + Send>) -> io::Result<Opened> {
    let mut prefix = Vec::with_capacity(SNIFF_BYTES);
    (&mut reader).take(SNIFF_BYTES as u64).read_to_end(&mut prefix)?;
    Ok(Opened { sniffed: detect::sniff(&prefix), prefix, reader })
}
