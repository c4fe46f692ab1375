//! Hunting lake rows (Arrow batches of `_source`, `_record`, `_timestamp`, `_event`): what
//! `harrier.spark` runs inside Spark's executors and, over what they kept, on the driver.
//!
//! The executors sort out the rows that can change a hunt's results (`_concerned_rows`) or
//! give the hits of their rows (`_hits_of_rows`); the driver hunts the rows kept, in the
//! embedded engine's order, into the same `HuntResult` as `harrier.hunt` (`_hunt_rows`), so
//! correlations and SPL `stats` are computed exactly as the embedded engine computes them.

use crate::args::{library_error, time_bound};
use crate::hunt::{Collect, HuntResult, summary_dict};
use crate::rules::RuleSet;
use crate::run::interruptible;
use harrier::{CancelToken, Event, Hunt, RuleSet as Rules};
use pyo3::prelude::*;
use pyo3_arrow::PyRecordBatch;

/// The events of lake rows.
fn events(batches: impl IntoIterator<Item = arrow_array::RecordBatch>) -> PyResult<Vec<Event>> {
    harrier::lake_events(batches).map_err(library_error)
}

/// A hunt of `rules` in a window, on one thread (an executor's task has one core; Spark runs
/// many tasks).
fn windowed<'r>(
    rules: &'r Rules,
    since: Option<&Bound<'_, PyAny>>,
    until: Option<&Bound<'_, PyAny>>,
) -> PyResult<Hunt<'r>> {
    Ok(Hunt::new(rules).since(time_bound(since)?).until(time_bound(until)?))
}

/// The rows of `batch` that can change what `rules` find (see `Hunt::concerned`), as a batch
/// of the same columns.
#[pyfunction]
#[pyo3(signature = (rules, batch, *, since=None, until=None))]
pub(crate) fn _concerned_rows(
    py: Python<'_>,
    rules: &RuleSet,
    batch: PyRecordBatch,
    since: Option<&Bound<'_, PyAny>>,
    until: Option<&Bound<'_, PyAny>>,
) -> PyResult<Py<PyAny>> {
    let batch = batch.into_inner();
    let hunt = windowed(&rules.inner, since, until)?.threads(1);
    let kept = py.detach(|| -> PyResult<arrow_array::RecordBatch> {
        let concerned = hunt.concerned(&events([batch.clone()])?);
        arrow_select::filter::filter_record_batch(&batch, &concerned.into())
            .map_err(|error| crate::HarrierError::new_err(error.to_string()))
    })?;
    Ok(PyRecordBatch::new(kept).into_pyarrow(py)?.unbind())
}

/// The hits of `batch`'s rows (the columns of `HuntResult.hits`): Sigma hits and the events
/// SPL detections keep without aggregating. Correlations and aggregates need every row
/// (`_hunt_rows`).
#[pyfunction]
#[pyo3(signature = (rules, batch, *, fields=None, since=None, until=None))]
pub(crate) fn _hits_of_rows(
    py: Python<'_>,
    rules: &RuleSet,
    batch: PyRecordBatch,
    fields: Option<Vec<String>>,
    since: Option<&Bound<'_, PyAny>>,
    until: Option<&Bound<'_, PyAny>>,
) -> PyResult<Py<PyAny>> {
    let fields = fields.unwrap_or_default();
    let hunt = windowed(&rules.inner, since, until)?.threads(1);
    let hits = py.detach(|| -> PyResult<arrow_array::RecordBatch> {
        let mut sink = Collect::new(&fields);
        hunt.run_events(events([batch.into_inner()])?, &mut sink).map_err(library_error)?;
        sink.into_hits().map_err(|error| crate::HarrierError::new_err(error.to_string()))
    })?;
    Ok(PyRecordBatch::new(hits).into_pyarrow(py)?.unbind())
}

/// Hunts lake rows, in the embedded engine's order (file, then record), into a `HuntResult`
/// whose summary counts `events` (the rows of the whole table, kept or not).
#[pyfunction]
#[pyo3(signature = (rules, batches, events, *, fields=None, since=None, until=None))]
pub(crate) fn _hunt_rows(
    py: Python<'_>,
    rules: &RuleSet,
    batches: Vec<PyRecordBatch>,
    events: u64,
    fields: Option<Vec<String>>,
    since: Option<&Bound<'_, PyAny>>,
    until: Option<&Bound<'_, PyAny>>,
) -> PyResult<HuntResult> {
    let fields = fields.unwrap_or_default();
    let cancel = CancelToken::new();
    let hunt = windowed(&rules.inner, since, until)?.cancel_with(cancel.clone());
    let batches: Vec<_> = batches.into_iter().map(PyRecordBatch::into_inner).collect();
    let (summary, collected) = interruptible(
        py,
        || cancel.cancel(),
        || {
            let mut sink = Collect::new(&fields);
            (hunt.run_lake_rows(batches, events, &mut sink), sink)
        },
    )?;
    let summary = summary.map_err(library_error)?;
    let summary = summary_dict(py, &summary, &rules.inner, Vec::new())?;
    collected.into_result(py, summary)
}

/// The files and folders a rule set of these arguments reads: `(rules, macros, lookups)`.
#[pyfunction]
#[pyo3(signature = (rules, *, macros=None, lookups=None))]
pub(crate) fn _rule_sources(
    rules: &Bound<'_, PyAny>,
    macros: Option<&Bound<'_, PyAny>>,
    lookups: Option<&Bound<'_, PyAny>>,
) -> PyResult<(Vec<String>, Vec<String>, Vec<String>)> {
    let builder = crate::rules::source_builder(rules, macros, lookups)?;
    let text = |paths: Vec<std::path::PathBuf>| paths.iter().map(|path| path.display().to_string()).collect();
    let (rules, macros, lookups) = builder.source_paths();
    Ok((text(rules), text(macros), text(lookups)))
}
