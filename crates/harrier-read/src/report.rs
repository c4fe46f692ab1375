//! What a read found: per-file counts and every problem, named by file and place.

use std::fmt;

/// Where in a file a problem is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// The file as a whole (cannot be opened, unknown format, empty).
    File,
    /// An EVTX chunk (0-based, as EVTX tools number them).
    Chunk(u64),
    /// An EVTX record by its chunk and EventRecordID.
    Record { chunk: Option<u64>, record: u64 },
    /// An EVTX record whose id could not be read, by its byte offset in its chunk.
    RecordAt { chunk: Option<u64>, offset: u64 },
    /// A 1-based line of a JSON file (where a document starts).
    Line(u64),
}

/// Something that could not be read, or read only in part; the rest of the work goes on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub path: String,
    pub place: Place,
    pub message: String,
    /// What it names was read all the same, flagged (a time that cannot be read, a chunk
    /// whose checksum does not match): nothing was skipped.
    pub kept: bool,
}

impl Problem {
    pub(crate) fn new(path: &str, place: Place, message: impl Into<String>) -> Problem {
        Problem { path: path.to_owned(), place, message: message.into(), kept: false }
    }

    /// A problem with what was read all the same.
    pub(crate) fn kept(path: &str, place: Place, message: impl Into<String>) -> Problem {
        Problem { kept: true, ..Problem::new(path, place, message) }
    }

    /// `skipped`, or `flagged` for what was read all the same.
    pub fn verb(&self) -> &'static str {
        if self.kept { "flagged" } else { "skipped" }
    }

    /// What the problem cost: a record or line, a chunk, or the whole file (for a kept
    /// problem, what it is about).
    pub fn skips(&self) -> &'static str {
        match self.place {
            Place::File => "file",
            Place::Chunk(_) => "chunk",
            Place::Record { .. } | Place::RecordAt { .. } => "record",
            Place::Line(_) => "line",
        }
    }
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Place::File => Ok(()),
            Place::Chunk(chunk) => write!(f, "chunk {chunk}"),
            Place::Record { chunk: Some(chunk), record } => write!(f, "chunk {chunk}, record {record}"),
            Place::Record { chunk: None, record } => write!(f, "record {record}"),
            Place::RecordAt { chunk: Some(chunk), offset } => write!(f, "chunk {chunk}, record at offset {offset:#x}"),
            Place::RecordAt { chunk: None, offset } => write!(f, "record at offset {offset:#x}"),
            Place::Line(line) => write!(f, "line {line}"),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.place {
            Place::File => write!(f, "{}: {}", self.path, self.message),
            _ => write!(f, "{}: {}: {}", self.path, self.place, self.message),
        }
    }
}

/// Why an event that has a time field has no time: its text cannot be read as one. The event
/// is kept; time windows and correlations cannot place it.
pub(crate) fn unreadable_time(event: &harrier_event::Event) -> Option<String> {
    if event.timestamp().is_some() {
        return None;
    }
    let text = event.text(harrier_event::names::TIME_CREATED)?;
    let text = text.trim();
    (!text.is_empty()).then(|| {
        let shown: String = text.chars().take(60).collect();
        format!("the time `{shown}` cannot be read: the event is kept without one (time windows and correlations cannot place it)")
    })
}

/// One input file: its format, how much was read, what was skipped.
#[derive(Debug, Clone, PartialEq)]
pub struct FileReport {
    pub path: String,
    /// `None` when the format could not be told.
    pub format: Option<crate::Format>,
    /// Size on disk (0 for stdin).
    pub bytes: u64,
    pub events: u64,
    /// EVTX chunk slots past the chunks the file header declares that hold stale bytes but no
    /// valid chunk (preallocated space): counted, not problems, since no record can be lost
    /// there. Such slots whose header is blank are passed over unread and not counted.
    pub unused_chunks: u64,
    pub problems: Vec<Problem>,
}

impl FileReport {
    /// Records or lines that could not be read.
    pub fn skipped_records(&self) -> u64 {
        self.count_skipping(&["record", "line"])
    }

    pub fn skipped_chunks(&self) -> u64 {
        self.count_skipping(&["chunk"])
    }

    /// True when the file could not be read at all.
    pub fn failed(&self) -> bool {
        self.problems.iter().any(|problem| problem.place == Place::File && !problem.kept)
    }

    fn count_skipping(&self, kinds: &[&str]) -> u64 {
        self.problems.iter().filter(|problem| !problem.kept && kinds.contains(&problem.skips())).count() as u64
    }

    /// Problems with what was read all the same.
    pub fn flagged(&self) -> u64 {
        self.problems.iter().filter(|problem| problem.kept).count() as u64
    }
}

/// Everything a [`read`](crate::read) did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    /// Every input file in input order, including the ones that failed.
    pub files: Vec<FileReport>,
    /// Files under a directory that are not event logs (README, YAML): passed over, counted.
    pub ignored: Vec<String>,
    /// Problems that belong to no file (a directory that cannot be listed).
    pub problems: Vec<Problem>,
}

impl Summary {
    pub fn events(&self) -> u64 {
        self.files.iter().map(|file| file.events).sum()
    }

    pub fn bytes(&self) -> u64 {
        self.files.iter().map(|file| file.bytes).sum()
    }

    pub fn skipped_records(&self) -> u64 {
        self.files.iter().map(FileReport::skipped_records).sum()
    }

    pub fn skipped_chunks(&self) -> u64 {
        self.files.iter().map(FileReport::skipped_chunks).sum()
    }

    pub fn failed_files(&self) -> usize {
        self.files.iter().filter(|file| file.failed()).count()
    }

    /// Problems with what was read all the same (flagged, not skipped).
    pub fn flagged(&self) -> u64 {
        self.files.iter().map(FileReport::flagged).sum()
    }

    pub fn all_problems(&self) -> impl Iterator<Item = &Problem> {
        self.problems.iter().chain(self.files.iter().flat_map(|file| &file.problems))
    }

    /// Nothing could be read: no file gave an event and at least one input failed.
    pub fn nothing_read(&self) -> bool {
        self.events() == 0 && (self.failed_files() > 0 || !self.problems.is_empty() || self.files.is_empty())
    }
}
