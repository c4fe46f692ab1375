//! Helpers shared by the reader's integration tests.
#![allow(dead_code)] // each test binary uses its own subset

use harrier_event::Event;
use harrier_read::{Input, ReadOptions, Summary};
use std::path::{Path, PathBuf};

/// Reads inputs into memory, in order.
pub fn read_all(paths: &[&Path]) -> (Vec<Event>, Summary) {
    read_with(paths, &ReadOptions::default())
}

pub fn read_with(paths: &[&Path], options: &ReadOptions) -> (Vec<Event>, Summary) {
    let inputs: Vec<Input> = paths.iter().map(|path| Input::Path(path.to_path_buf())).collect();
    let mut events = Vec::new();
    let summary = harrier_read::read(&inputs, options, |batch| batch.events, |batch| events.extend(batch), &mut ());
    (events, summary)
}

pub fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/logs")
}

/// `../shared/data`, or `None` (skipped) without it.
pub fn shared_data() -> Option<PathBuf> {
    harrier_testdata::shared("")
}

/// An event's fields as sorted (name, canonical text) pairs, for comparing exports.
pub fn texts(event: &Event) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> =
        event.fields().iter().map(|field| (field.name().to_owned(), field.value.to_string())).collect();
    pairs.sort();
    pairs
}
