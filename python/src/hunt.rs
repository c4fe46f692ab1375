//! `harrier.hunt` and `harrier.hunt_batches`: rules over logs, results as Arrow tables.

use crate::args::{input_error, library_error, log_inputs, read_problems, time_bound};
use crate::rules::RuleSet;
use crate::run::{interruptible, wait};
use crate::tables::{self, CorrelationColumns, HitColumns, HitEvent, RowColumns, row_value};
use arrow_array::RecordBatch;
use harrier::{CancelToken, CorrelationResult, Flow, Hit, Hunt, Input, Row, RowResult, Sink, Summary, Timestamp};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::io;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// Hits per batch of `hunt_batches`.
const BATCH_ROWS: usize = 16_384;
/// Batches waiting for the consumer at most: the hunt waits beyond that, so memory stays
/// bounded however large the input.
const BATCHES_IN_FLIGHT: usize = 2;

/// What a hunt reads and how.
struct HuntOptions {
    inputs: Vec<Input>,
    since: Option<Timestamp>,
    until: Option<Timestamp>,
    fields: Vec<String>,
    threads: Option<usize>,
}

impl HuntOptions {
    fn new(
        paths: &Bound<'_, PyAny>,
        since: Option<&Bound<'_, PyAny>>,
        until: Option<&Bound<'_, PyAny>>,
        fields: Option<Vec<String>>,
        threads: Option<usize>,
    ) -> PyResult<HuntOptions> {
        if threads.is_some_and(|threads| threads == 0 || threads > harrier::MAX_THREADS) {
            return Err(PyValueError::new_err(format!("threads is from 1 to {}", harrier::MAX_THREADS)));
        }
        Ok(HuntOptions {
            inputs: log_inputs(paths)?,
            since: time_bound(since)?,
            until: time_bound(until)?,
            fields: fields.unwrap_or_default(),
            threads,
        })
    }

    fn hunt<'r>(&self, rules: &'r harrier::RuleSet, cancel: &CancelToken) -> Hunt<'r> {
        let hunt = Hunt::new(rules).since(self.since).until(self.until).cancel_with(cancel.clone());
        match self.threads {
            Some(threads) => hunt.threads(threads),
            None => hunt,
        }
    }
}

/// Runs rules over logs: Sigma hits, correlation results and SPL rows, as Arrow tables.
///
/// ``paths``: EVTX and JSON log files and folders (a path or a list). ``rules``: a
/// ``RuleSet``, or rule paths to load. ``since``/``until``: a time window (``datetime``, or
/// text such as ``"2024-05-01"``). ``fields``: event fields to give their own column in
/// ``hits``. ``threads``: worker threads (default: one per core). ``engine="spark"`` runs the
/// rules on a Spark Connect server (``connect="sc://host:15002"``) over a lake table
/// (``table``), when this build of Harrier has the Spark engine.
///
/// Records that cannot be read are skipped and counted in ``summary["problems"]``, with a
/// ``HarrierWarning``; a path that does not exist raises ``InputError``. The work runs
/// without the GIL, and Ctrl-C stops it.
#[pyfunction]
#[pyo3(signature = (paths, rules, *, since=None, until=None, fields=None, threads=None, engine="embedded", connect=None, table=None))]
#[allow(clippy::too_many_arguments)] // Python keyword arguments, one per option
pub(crate) fn hunt(
    py: Python<'_>,
    paths: &Bound<'_, PyAny>,
    rules: &Bound<'_, PyAny>,
    since: Option<&Bound<'_, PyAny>>,
    until: Option<&Bound<'_, PyAny>>,
    fields: Option<Vec<String>>,
    threads: Option<usize>,
    engine: &str,
    connect: Option<String>,
    table: Option<String>,
) -> PyResult<HuntResult> {
    let spark = spark_options(engine, connect, table)?;
    let options = HuntOptions::new(paths, since, until, fields, threads)?;
    if spark.is_some() && !options.inputs.is_empty() {
        return Err(PyValueError::new_err(
            "with engine=\"spark\" the events come from table=, not from paths: pass []",
        ));
    }
    let set = RuleSet::from_arg(py, rules)?;
    let cancel = CancelToken::new();
    let (summary, collected) = interruptible(
        py,
        || cancel.cancel(),
        || {
            let hunt = options.hunt(&set, &cancel);
            let mut sink = Collect::new(&options.fields);
            let summary = match &spark {
                Some(spark) => run_on_spark(&hunt, spark, &mut sink),
                None => hunt.run(&options.inputs, &mut sink),
            };
            (summary, sink)
        },
    )?;
    let summary = summary.map_err(library_error)?;
    let summary = check_read(py, &summary, &set)?;
    collected.into_result(py, summary)
}

#[cfg(feature = "spark")]
type SparkRun = harrier::SparkOptions;
#[cfg(not(feature = "spark"))]
type SparkRun = std::convert::Infallible;

fn spark_options(engine: &str, connect: Option<String>, table: Option<String>) -> PyResult<Option<SparkRun>> {
    match engine {
        "embedded" => Ok(None),
        #[cfg(feature = "spark")]
        "spark" => {
            let connect =
                connect.ok_or_else(|| PyValueError::new_err("engine=\"spark\" needs connect=\"sc://host:port\""))?;
            let table =
                table.ok_or_else(|| PyValueError::new_err("engine=\"spark\" needs table=, the lake's table"))?;
            Ok(Some(harrier::SparkOptions::new(connect, table)))
        }
        #[cfg(not(feature = "spark"))]
        "spark" => {
            let _ = (connect, table);
            Err(crate::HarrierError::new_err(
                "this build of harrier has no Spark engine: build the package with the `spark` feature \
                 (maturin build --features spark)",
            ))
        }
        other => Err(PyValueError::new_err(format!("engine is \"embedded\" or \"spark\", not {other:?}"))),
    }
}

#[cfg(feature = "spark")]
fn run_on_spark(hunt: &Hunt<'_>, spark: &SparkRun, sink: &mut dyn Sink) -> Result<Summary, harrier::Error> {
    hunt.run_on_spark(spark, sink)
}

#[cfg(not(feature = "spark"))]
fn run_on_spark(_: &Hunt<'_>, spark: &SparkRun, _: &mut dyn Sink) -> Result<Summary, harrier::Error> {
    match *spark {}
}

/// Raises `InputError` when nothing could be read, warns of what was skipped, and gives the
/// summary as a dict.
pub(crate) fn check_read(py: Python<'_>, summary: &Summary, set: &harrier::RuleSet) -> PyResult<Py<PyDict>> {
    if summary.nothing_read() {
        let first = summary.read.files.iter().flat_map(|file| &file.problems).chain(&summary.read.problems).next();
        let path = first.map_or(String::new(), |problem| problem.path.clone());
        let why = first.map_or_else(|| "no log file found".to_owned(), ToString::to_string);
        return Err(input_error(&path, format!("nothing could be read: {why}")));
    }
    let problems = read_problems(py, &summary.read)?;
    summary_dict(py, summary, set, problems)
}

/// The summary as a dict: what was read, found and skipped.
pub(crate) fn summary_dict(
    py: Python<'_>,
    summary: &Summary,
    set: &harrier::RuleSet,
    problems: Vec<String>,
) -> PyResult<Py<PyDict>> {
    let read = &summary.read;
    let dict = PyDict::new(py);
    dict.set_item("files", read.files.len())?;
    dict.set_item("bytes", read.bytes())?;
    dict.set_item("events", summary.events)?;
    dict.set_item("rules_run", summary.rules_run)?;
    dict.set_item("hits", summary.hits)?;
    dict.set_item("correlations", summary.correlations)?;
    dict.set_item("rows", summary.rows)?;
    dict.set_item("skipped_records", read.skipped_records())?;
    dict.set_item("skipped_chunks", read.skipped_chunks())?;
    dict.set_item("failed_files", read.failed_files())?;
    dict.set_item("problems", problems)?;
    let rule_id = |key| set.meta(key).id.clone().unwrap_or_else(|| set.meta(key).title.clone());
    let undecided = PyDict::new(py);
    for (key, events) in &summary.undecided {
        undecided.set_item(rule_id(*key), events)?;
    }
    dict.set_item("undecided", undecided)?;
    dict.set_item("excluded", summary.excluded.to_vec())?;
    dict.set_item("unplaced", summary.unplaced)?;
    Ok(dict.unbind())
}

/// A hit's event, or an event an SPL detection kept, with the requested fields' values.
fn push_hit(hits: &mut HitColumns, hit: &Hit<'_>) {
    let event = hit.event;
    let field = |name: &str| event.get(name).map(harrier_lake::text);
    hits.push(hit.rule, HitEvent::of_event(event, &field));
}

/// Pushes an SPL result: a kept event to the hits; gives back a row that aggregates.
fn push_event_row<'a>(hits: &mut HitColumns, result: &RowResult<'a>) -> Option<&'a Row> {
    let row = result.row;
    match &row.origin {
        Some(origin) if !result.aggregates => {
            let field = |name: &str| row_value(row, name).map(harrier_lake::text);
            hits.push(result.rule, HitEvent::of_row(row, origin, &field));
            None
        }
        _ => Some(row),
    }
}

/// Collects a whole hunt's results.
pub(crate) struct Collect {
    hits: HitColumns,
    batches: Vec<RecordBatch>,
    correlations: CorrelationColumns,
    rows: RowColumns,
    /// Each aggregating row with its detection's id, for `rows_of`.
    row_values: Vec<(Option<String>, Row)>,
}

impl Collect {
    pub(crate) fn new(fields: &[String]) -> Collect {
        Collect {
            hits: HitColumns::new(fields),
            batches: Vec::new(),
            correlations: CorrelationColumns::new(),
            rows: RowColumns::new(),
            row_values: Vec::new(),
        }
    }

    /// The hits alone, as one batch.
    pub(crate) fn into_hits(mut self) -> Result<RecordBatch, arrow_schema::ArrowError> {
        self.batches.push(self.hits.finish());
        arrow_select::concat::concat_batches(&self.hits.schema(), &self.batches)
    }

    pub(crate) fn into_result(mut self, py: Python<'_>, summary: Py<PyDict>) -> PyResult<HuntResult> {
        self.batches.push(self.hits.finish());
        let hits = tables::to_pyarrow(py, self.batches, self.hits.schema())?;
        let (correlations, schema) = self.correlations.finish();
        let correlations = tables::to_pyarrow(py, vec![correlations], schema)?;
        let (rows, schema) = self.rows.finish();
        let rows = tables::to_pyarrow(py, vec![rows], schema)?;
        Ok(HuntResult { hits, correlations, rows, summary, row_values: self.row_values })
    }
}

impl Sink for Collect {
    fn hit(&mut self, hit: &Hit<'_>) -> io::Result<Flow> {
        push_hit(&mut self.hits, hit);
        if self.hits.len >= BATCH_ROWS {
            self.batches.push(self.hits.finish());
        }
        Ok(Flow::Continue)
    }

    fn correlation(&mut self, result: &CorrelationResult<'_>) -> io::Result<Flow> {
        self.correlations.push(result);
        Ok(Flow::Continue)
    }

    fn row(&mut self, result: &RowResult<'_>) -> io::Result<Flow> {
        if let Some(row) = push_event_row(&mut self.hits, result) {
            self.rows.push(result.rule, row);
            self.row_values.push((result.rule.id.clone(), row.clone()));
        }
        Ok(Flow::Continue)
    }
}

/// What `harrier.hunt` found.
///
/// ``hits``: one row per event a rule matched (Sigma hits, then events SPL detections keep).
/// ``correlations``: Sigma correlation results. ``rows``: result rows of SPL detections that
/// aggregate, the row as JSON text in ``row`` (``rows_of(id)`` gives one detection's rows as
/// columns). ``summary``: files, events, rules run, and every problem met.
#[pyclass(module = "harrier", frozen)]
pub struct HuntResult {
    #[pyo3(get)]
    hits: Py<PyAny>,
    #[pyo3(get)]
    correlations: Py<PyAny>,
    #[pyo3(get)]
    rows: Py<PyAny>,
    #[pyo3(get)]
    summary: Py<PyDict>,
    row_values: Vec<(Option<String>, Row)>,
}

#[pymethods]
impl HuntResult {
    /// The hits as a pandas DataFrame.
    fn to_pandas(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        Ok(self.hits.bind(py).call_method0("to_pandas")?.unbind())
    }

    /// The result rows of one SPL detection (by id or title), one column per field of its
    /// rows (`int64` or `double` when every value is a number).
    fn rows_of(&self, py: Python<'_>, rule: &str) -> PyResult<Py<PyAny>> {
        let rows: Vec<&[(harrier::FieldName, harrier::Value)]> = self
            .row_values
            .iter()
            .filter(|(id, _)| id.as_deref().is_some_and(|id| id.eq_ignore_ascii_case(rule)))
            .map(|(_, row)| row.fields.as_slice())
            .collect();
        let (batch, schema) = tables::values_table(&rows);
        tables::to_pyarrow(py, vec![batch], schema)
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        let count = |table: &Py<PyAny>| table.bind(py).len().unwrap_or(0);
        format!(
            "<harrier.HuntResult: {} hits, {} correlations, {} rows>",
            count(&self.hits),
            count(&self.correlations),
            count(&self.rows)
        )
    }
}

/// Hits as an iterator of Arrow record batches, for inputs larger than memory.
///
/// The same hits as ``hunt(...).hits``, in the same order, at most 16,384 per batch; the hunt
/// runs ahead of the consumer by two batches at most. ``summary`` is set once the iterator is
/// exhausted. Correlations and SPL result rows that aggregate are not given (use ``hunt``).
#[pyclass(module = "harrier")]
pub struct HitBatches {
    batches: Mutex<Option<Receiver<RecordBatch>>>,
    worker: Mutex<Option<JoinHandle<Result<Summary, harrier::Error>>>>,
    cancel: CancelToken,
    set: Arc<harrier::RuleSet>,
    #[pyo3(get)]
    summary: Option<Py<PyDict>>,
}

#[pyfunction]
#[pyo3(signature = (paths, rules, *, since=None, until=None, fields=None, threads=None))]
pub(crate) fn hunt_batches(
    py: Python<'_>,
    paths: &Bound<'_, PyAny>,
    rules: &Bound<'_, PyAny>,
    since: Option<&Bound<'_, PyAny>>,
    until: Option<&Bound<'_, PyAny>>,
    fields: Option<Vec<String>>,
    threads: Option<usize>,
) -> PyResult<HitBatches> {
    let options = HuntOptions::new(paths, since, until, fields, threads)?;
    let set = RuleSet::from_arg(py, rules)?;
    let cancel = CancelToken::new();
    let (send, batches) = sync_channel(BATCHES_IN_FLIGHT);
    let worker = {
        let (set, cancel) = (set.clone(), cancel.clone());
        std::thread::spawn(move || {
            let hunt = options.hunt(&set, &cancel);
            let mut sink = SendBatches { hits: HitColumns::new(&options.fields), send };
            hunt.run(&options.inputs, &mut sink)
        })
    };
    Ok(HitBatches { batches: Mutex::new(Some(batches)), worker: Mutex::new(Some(worker)), cancel, set, summary: None })
}

#[pymethods]
impl HitBatches {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(mut slf: PyRefMut<'_, Self>, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        let mut batches = slf.batches.lock().expect("not poisoned").take();
        if batches.is_none() {
            return Ok(None);
        }
        loop {
            match wait(py, &mut batches, Duration::from_millis(50)) {
                Ok(batch) => {
                    *slf.batches.lock().expect("not poisoned") = batches;
                    return Ok(Some(pyo3_arrow::PyRecordBatch::new(batch).into_pyarrow(py)?.unbind()));
                }
                Err(RecvTimeoutError::Timeout) => {
                    if let Err(interrupt) = py.check_signals() {
                        *slf.batches.lock().expect("not poisoned") = batches;
                        slf.cancel.cancel();
                        return Err(interrupt);
                    }
                }
                Err(RecvTimeoutError::Disconnected) => break,
            }
        }
        let worker = slf.worker.lock().expect("not poisoned").take();
        let summary = match worker.map(|worker| py.detach(|| worker.join())) {
            Some(Ok(summary)) => summary.map_err(library_error)?,
            Some(Err(_)) => return Err(crate::HarrierError::new_err("internal error: the hunt panicked")),
            None => return Ok(None),
        };
        let summary = check_read(py, &summary, &slf.set)?;
        slf.summary = Some(summary);
        Ok(None)
    }
}

impl Drop for HitBatches {
    /// An iterator dropped before its end stops its hunt.
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// Sends hits in batches; stops the hunt when the consumer is gone.
struct SendBatches {
    hits: HitColumns,
    send: SyncSender<RecordBatch>,
}

impl SendBatches {
    fn send_batch(&mut self, only_when_full: bool) -> Flow {
        if self.hits.len == 0 || (only_when_full && self.hits.len < BATCH_ROWS) {
            return Flow::Continue;
        }
        match self.send.send(self.hits.finish()) {
            Ok(()) => Flow::Continue,
            Err(_) => Flow::Stop,
        }
    }
}

impl Sink for SendBatches {
    fn hit(&mut self, hit: &Hit<'_>) -> io::Result<Flow> {
        push_hit(&mut self.hits, hit);
        Ok(self.send_batch(true))
    }

    fn row(&mut self, result: &RowResult<'_>) -> io::Result<Flow> {
        push_event_row(&mut self.hits, result);
        Ok(self.send_batch(true))
    }

    fn finish(&mut self, _: &Summary) -> io::Result<()> {
        self.send_batch(false);
        Ok(())
    }
}
