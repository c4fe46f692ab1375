//! Sorting more items than memory should hold: sorted runs spilled to temporary files, merged
//! at the end. Memory stays that of one run whatever the number of items.

use serde::Serialize;
use serde::de::DeserializeOwned;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Seek, Write};

/// Items kept in memory before a sorted run goes to disk.
const RUN: usize = 100_000;

/// Items to be given back in order.
pub struct Sorter<T> {
    memory: Vec<T>,
    runs: Vec<File>,
    run_length: usize,
}

impl<T: Ord + Serialize + DeserializeOwned + 'static> Sorter<T> {
    pub fn new() -> Sorter<T> {
        Sorter::with_run_length(RUN)
    }

    fn with_run_length(run_length: usize) -> Sorter<T> {
        Sorter { memory: Vec::new(), runs: Vec::new(), run_length: run_length.max(1) }
    }

    pub fn push(&mut self, item: T) -> io::Result<()> {
        self.memory.push(item);
        if self.memory.len() >= self.run_length {
            self.spill()?;
        }
        Ok(())
    }

    /// Writes the items in memory, sorted, as one run (JSON lines in an anonymous file).
    fn spill(&mut self) -> io::Result<()> {
        self.memory.sort();
        let mut run = BufWriter::new(tempfile::tempfile()?);
        for item in self.memory.drain(..) {
            serde_json::to_writer(&mut run, &item)?;
            run.write_all(b"\n")?;
        }
        let mut file = run.into_inner().map_err(|error| error.into_error())?;
        file.rewind()?;
        self.runs.push(file);
        Ok(())
    }

    /// Every item, in order (equal items in no particular order: make them unequal).
    pub fn into_sorted(mut self) -> io::Result<impl Iterator<Item = io::Result<T>>> {
        self.memory.sort();
        let mut sources: Vec<Box<dyn Iterator<Item = io::Result<T>>>> = Vec::new();
        for run in self.runs {
            let lines = BufReader::new(run).lines();
            sources.push(Box::new(lines.map(|line| Ok(serde_json::from_str(&line?)?))));
        }
        sources.push(Box::new(self.memory.into_iter().map(Ok)));
        Merge::new(sources)
    }
}

impl<T: Ord + Serialize + DeserializeOwned + 'static> Default for Sorter<T> {
    fn default() -> Self {
        Sorter::new()
    }
}

/// The k-way merge of sorted sources.
struct Merge<T> {
    sources: Vec<Box<dyn Iterator<Item = io::Result<T>>>>,
    heads: BinaryHeap<Reverse<(T, usize)>>,
}

impl<T: Ord> Merge<T> {
    fn new(mut sources: Vec<Box<dyn Iterator<Item = io::Result<T>>>>) -> io::Result<Merge<T>> {
        let mut heads = BinaryHeap::new();
        for (index, source) in sources.iter_mut().enumerate() {
            if let Some(item) = source.next() {
                heads.push(Reverse((item?, index)));
            }
        }
        Ok(Merge { sources, heads })
    }
}

impl<T: Ord> Iterator for Merge<T> {
    type Item = io::Result<T>;

    fn next(&mut self) -> Option<io::Result<T>> {
        let Reverse((item, index)) = self.heads.pop()?;
        match self.sources[index].next() {
            Some(Ok(next)) => self.heads.push(Reverse((next, index))),
            Some(Err(error)) => return Some(Err(error)),
            None => {}
        }
        Some(Ok(item))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_come_back_in_order_across_spilled_runs() {
        let mut sorter = Sorter::with_run_length(7);
        let items: Vec<(i64, String)> = (0..100).map(|n| ((n * 37) % 101, format!("item {n}"))).collect();
        for item in &items {
            sorter.push(item.clone()).unwrap();
        }
        assert_eq!(sorter.runs.len(), 14, "runs went to disk");
        let sorted: Vec<(i64, String)> = sorter.into_sorted().unwrap().map(Result::unwrap).collect();
        let mut expected = items;
        expected.sort();
        assert_eq!(sorted, expected);
    }
}
