//! Harrier's output writers, ripgrep's `printer` to the `harrier` library's search: each
//! writer is a [`harrier::Sink`] over a hunt's typed results, and none of them hunts.
//!
//! - [`Text`]: the hunt as people read it, one line per hit in time order, cut to the
//!   terminal, levels in colour, with a closing summary.
//! - [`JsonLines`]: the stable output contract (one object per hit, correlation result and
//!   SPL row).
//! - [`Csv`], [`Timeline`] (Timeline Explorer), [`Timesketch`]: one row or line per hit.
//! - [`RuleTable`]: hits per rule, correlation results, and each SPL detection's rows as a
//!   table, fitted to the terminal ([`Grid`]).
//! - [`HtmlReport`]: the self-contained HTML report (`harrier-report`).
//! - [`Tallies`]: what each rule found, with hosts and processes (`coverage --logs`, `noise`),
//!   and the exclusions that would silence the noisiest ([`proposed_exclusions`]).
//! - [`events`]: one normalized event as a JSON line or a table row (`harrier events`).

mod csv;
mod details;
pub mod events;
mod grid;
mod html;
mod json;
mod rows;
mod spill;
mod table;
mod tally;
mod text;
mod timeline;

pub use crate::csv::Csv;
pub use details::{details, key_details};
pub use grid::{Align, Grid, one_line};
pub use html::HtmlReport;
pub use json::{JsonLines, RowMap, RuleFields, UNDECIDED_WHY, technique_names};
pub use table::RuleTable;
pub use tally::{Tallies, Tally, proposed_exclusions};
pub use text::{Text, TextOptions, level_style};
pub use timeline::{Timeline, Timesketch};

use harrier::{CorrelationResult, Flow, Hit, RowResult, Sink, Summary};
use std::io;

/// Results a format that holds only hits could not write, for the caller to say so.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Unwritten {
    pub correlations: u64,
    pub rows: u64,
    /// Hits the format needs a time for and that have none.
    pub untimed_hits: u64,
}

/// A format of one row or line per hit.
pub trait HitWriter {
    /// Writes a hit; `false` when the format cannot hold it.
    fn write_hit(&mut self, hit: &Hit<'_>) -> io::Result<bool>;
    fn flush(&mut self) -> io::Result<()>;
}

/// A sink writing hits in a format of hits only, counting what it cannot write.
pub struct HitsOnly<H> {
    writer: H,
    unwritten: Unwritten,
}

impl<H: HitWriter> HitsOnly<H> {
    pub fn new(writer: H) -> HitsOnly<H> {
        HitsOnly { writer, unwritten: Unwritten::default() }
    }

    pub fn unwritten(&self) -> Unwritten {
        self.unwritten
    }
}

impl<H: HitWriter> Sink for HitsOnly<H> {
    fn hit(&mut self, hit: &Hit<'_>) -> io::Result<Flow> {
        if !self.writer.write_hit(hit)? {
            self.unwritten.untimed_hits += 1;
        }
        Ok(Flow::Continue)
    }

    fn correlation(&mut self, _: &CorrelationResult<'_>) -> io::Result<Flow> {
        self.unwritten.correlations += 1;
        Ok(Flow::Continue)
    }

    fn row(&mut self, _: &RowResult<'_>) -> io::Result<Flow> {
        self.unwritten.rows += 1;
        Ok(Flow::Continue)
    }

    fn finish(&mut self, _: &Summary) -> io::Result<()> {
        self.writer.flush()
    }
}
