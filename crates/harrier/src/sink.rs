//! Where results go: the caller's [`Sink`].

use crate::results::{CorrelationResult, Hit, RowResult, Summary, Undecided};
use std::io;

/// Whether a hunt goes on after a result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Continue,
    /// End the hunt: no more input is read, and no correlation or SPL results follow.
    Stop,
}

/// Receives a hunt's results on the calling thread, in a deterministic order whatever the
/// thread count: the hits of Sigma detection rules in input order (events of one file in file
/// order, files in the order given, directories sorted), then correlation results in time
/// order, then the rows of each SPL detection, detection by detection; last, the summary.
///
/// Only [`hit`](Sink::hit) must be written; the others do nothing unless a sink wants them. A
/// closure `FnMut(&Hit) -> io::Result<Flow>` is a sink of hits. An error ends the hunt and is
/// returned by it.
pub trait Sink {
    fn hit(&mut self, hit: &Hit<'_>) -> io::Result<Flow>;

    fn correlation(&mut self, _result: &CorrelationResult<'_>) -> io::Result<Flow> {
        Ok(Flow::Continue)
    }

    fn row(&mut self, _row: &RowResult<'_>) -> io::Result<Flow> {
        Ok(Flow::Continue)
    }

    /// After the results: for each rule that could not decide some events (a field their
    /// source cannot carry), how many.
    fn undecided(&mut self, _undecided: &Undecided<'_>) -> io::Result<Flow> {
        Ok(Flow::Continue)
    }

    /// The hunt is over: what it read, found and skipped.
    fn finish(&mut self, _summary: &Summary) -> io::Result<()> {
        Ok(())
    }
}

impl<F> Sink for F
where
    F: FnMut(&Hit<'_>) -> io::Result<Flow>,
{
    fn hit(&mut self, hit: &Hit<'_>) -> io::Result<Flow> {
        self(hit)
    }
}

impl Sink for &mut (dyn Sink + '_) {
    fn hit(&mut self, hit: &Hit<'_>) -> io::Result<Flow> {
        (**self).hit(hit)
    }

    fn correlation(&mut self, result: &CorrelationResult<'_>) -> io::Result<Flow> {
        (**self).correlation(result)
    }

    fn row(&mut self, row: &RowResult<'_>) -> io::Result<Flow> {
        (**self).row(row)
    }

    fn undecided(&mut self, undecided: &Undecided<'_>) -> io::Result<Flow> {
        (**self).undecided(undecided)
    }

    fn finish(&mut self, summary: &Summary) -> io::Result<()> {
        (**self).finish(summary)
    }
}

/// Two sinks fed the same results, the first first; the hunt stops when either asks.
pub struct Tee<A, B>(pub A, pub B);

impl<A: Sink, B: Sink> Sink for Tee<A, B> {
    fn hit(&mut self, hit: &Hit<'_>) -> io::Result<Flow> {
        Ok(both(self.0.hit(hit)?, self.1.hit(hit)?))
    }

    fn correlation(&mut self, result: &CorrelationResult<'_>) -> io::Result<Flow> {
        Ok(both(self.0.correlation(result)?, self.1.correlation(result)?))
    }

    fn row(&mut self, row: &RowResult<'_>) -> io::Result<Flow> {
        Ok(both(self.0.row(row)?, self.1.row(row)?))
    }

    fn undecided(&mut self, undecided: &Undecided<'_>) -> io::Result<Flow> {
        Ok(both(self.0.undecided(undecided)?, self.1.undecided(undecided)?))
    }

    fn finish(&mut self, summary: &Summary) -> io::Result<()> {
        self.0.finish(summary)?;
        self.1.finish(summary)
    }
}

fn both(first: Flow, second: Flow) -> Flow {
    if first == Flow::Stop || second == Flow::Stop { Flow::Stop } else { Flow::Continue }
}
