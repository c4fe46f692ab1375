//! `harrier.events` and `harrier.search`: normalized events, and any SPL search over them.

use crate::args::{library_error, log_inputs, paths, read_problems, time_bound};
use crate::run::interruptible;
use crate::tables;
use harrier::{CancelToken, Event, EventFilter, Flow, Hit, Hunt, Row, RowResult, Sink, TimeWindow};
use harrier_read::ReadOptions;
use pyo3::prelude::*;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Normalized events as a table, one row per event: the core columns of Harrier's lake
/// (``_time``, ``_timestamp``, ``_channel``, ``_provider``, ``_computer``, ``_event_id``,
/// ``_source``, ``_record``, ``_event`` as JSON text), then one text column per field.
///
/// ``where``: conditions every kept event meets, as ``harrier events --where`` takes them
/// (``"EventID=1"``, ``"Image=*\\cmd.exe"``, ``"CommandLine|contains=-enc"``). ``fields``:
/// the field columns to keep (default: every field). ``since``/``until``: a time window.
#[pyfunction]
#[pyo3(signature = (paths, *, r#where=None, fields=None, since=None, until=None))]
pub(crate) fn events(
    py: Python<'_>,
    paths: &Bound<'_, PyAny>,
    r#where: Option<Vec<String>>,
    fields: Option<Vec<String>>,
    since: Option<&Bound<'_, PyAny>>,
    until: Option<&Bound<'_, PyAny>>,
) -> PyResult<Py<PyAny>> {
    let inputs = log_inputs(paths)?;
    let filter = EventFilter::parse(&r#where.unwrap_or_default()).map_err(library_error)?;
    let window = TimeWindow { since: time_bound(since)?, until: time_bound(until)? };
    let stop = Arc::new(AtomicBool::new(false));
    let options = ReadOptions { stop: Some(stop.clone()), ..ReadOptions::default() };
    let (kept, summary) = interruptible(
        py,
        || stop.store(true, Ordering::Relaxed),
        || {
            let mut kept: Vec<Event> = Vec::new();
            let keep = |batch: harrier_read::Batch| -> Vec<Event> {
                batch
                    .events
                    .into_iter()
                    .filter(|event| window.place(event) == Some(true) && filter.matches(event))
                    .collect()
            };
            let summary = harrier_read::read(&inputs, &options, keep, |events| kept.extend(events), &mut ());
            (kept, summary)
        },
    )?;
    read_problems(py, &summary)?;
    let batch = harrier_lake::events_batch(&kept).map_err(|error| crate::HarrierError::new_err(error.to_string()))?;
    let batch = match fields {
        Some(fields) => keep_columns(batch, &fields)?,
        None => batch,
    };
    let schema = batch.schema();
    tables::to_pyarrow(py, vec![batch], schema)
}

/// The core columns and the named field columns that exist.
fn keep_columns(batch: arrow_array::RecordBatch, fields: &[String]) -> PyResult<arrow_array::RecordBatch> {
    let schema = batch.schema();
    let keep: Vec<usize> = schema
        .fields()
        .iter()
        .enumerate()
        .filter(|(_, field)| {
            let name = field.name();
            name.starts_with('_') || fields.iter().any(|wanted| wanted.eq_ignore_ascii_case(name))
        })
        .map(|(index, _)| index)
        .collect();
    batch.project(&keep).map_err(|error| crate::HarrierError::new_err(error.to_string()))
}

/// Any SPL search over logs (``index=* EventCode=4688 | stats count by host``): its result
/// rows as a table, one column per field (``int64`` or ``double`` when every value is a
/// number). ``macros`` and ``lookups``: ESCU's folders, for the macros and lookups it uses.
#[pyfunction]
#[pyo3(signature = (spl, paths, *, macros=None, lookups=None))]
pub(crate) fn search(
    py: Python<'_>,
    spl: &str,
    paths: &Bound<'_, PyAny>,
    macros: Option<&Bound<'_, PyAny>>,
    lookups: Option<&Bound<'_, PyAny>>,
) -> PyResult<Py<PyAny>> {
    let inputs = log_inputs(paths)?;
    let dirs = |value: Option<&Bound<'_, PyAny>>| -> PyResult<Vec<PathBuf>> {
        Ok(value.map(self::paths).transpose()?.unwrap_or_default().into_iter().map(PathBuf::from).collect())
    };
    let (macros, lookups) = (dirs(macros)?, dirs(lookups)?);
    let set = harrier::RuleSet::search(spl, &macros, &lookups).map_err(library_error)?;
    let cancel = CancelToken::new();
    let (summary, rows) = interruptible(
        py,
        || cancel.cancel(),
        || {
            let mut rows = Rows(Vec::new());
            let summary = Hunt::new(&set).cancel_with(cancel.clone()).run(&inputs, &mut rows);
            (summary, rows.0)
        },
    )?;
    crate::hunt::check_read(py, &summary.map_err(library_error)?, &set)?;
    let fields: Vec<&[(harrier::FieldName, harrier::Value)]> = rows.iter().map(|row| row.fields.as_slice()).collect();
    let (batch, schema) = tables::values_table(&fields);
    tables::to_pyarrow(py, vec![batch], schema)
}

/// The result rows of a search.
struct Rows(Vec<Row>);

impl Sink for Rows {
    fn hit(&mut self, _: &Hit<'_>) -> std::io::Result<Flow> {
        Ok(Flow::Continue)
    }

    fn row(&mut self, result: &RowResult<'_>) -> std::io::Result<Flow> {
        self.0.push(result.row.clone());
        Ok(Flow::Continue)
    }
}
