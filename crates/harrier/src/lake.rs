//! Hunting rows of a Parquet lake (feature `lake`): Arrow batches of `_source`, `_record`,
//! `_timestamp` and `_event` (what `harrier ingest` writes), hunted as the files they came
//! from would be. What Harrier's engine inside Spark's executors sends back to the driver.

use crate::Error;
use crate::hunt::Hunt;
use crate::results::Summary;
use crate::sink::Sink;
use arrow_array::RecordBatch;
use harrier_event::{Event, SourceFile};
use std::collections::HashMap;
use std::sync::Arc;

/// The events of lake rows (Arrow batches of `_source`, `_record`, `_timestamp`, `_event`), one
/// [`SourceFile`] shared per path.
pub fn lake_events(batches: impl IntoIterator<Item = RecordBatch>) -> Result<Vec<Event>, Error> {
    let mut files: HashMap<String, Arc<SourceFile>> = HashMap::new();
    let mut events = Vec::new();
    for batch in batches {
        events.extend(harrier_lake::read_events(&batch, &mut files).map_err(Error::Lake)?);
    }
    Ok(events)
}

impl Hunt<'_> {
    /// Hunts lake rows in the order a hunt of their files takes (file, then record), so that
    /// correlations and SPL results are those of the files. `table_events` is what the
    /// summary counts as events: the rows of the whole table, when the batches hold only those
    /// that concern the hunt (see [`Hunt::concerned`]).
    pub fn run_lake_rows(
        &self,
        batches: impl IntoIterator<Item = RecordBatch>,
        table_events: u64,
        sink: &mut dyn Sink,
    ) -> Result<Summary, Error> {
        let mut events = lake_events(batches)?;
        events
            .sort_by(|a, b| (a.source().path.as_str(), a.record_id()).cmp(&(b.source().path.as_str(), b.record_id())));
        let mut summary = self.run_events(events, sink)?;
        summary.events = table_events;
        Ok(summary)
    }
}
