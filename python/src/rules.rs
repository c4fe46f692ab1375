//! `harrier.RuleSet`: Sigma rules and ESCU detections loaded and compiled once, for any
//! number of hunts.

use crate::args::{library_error, paths, rule_error, warn};
use crate::tables;
use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use harrier::{Level, LoadStatus, Selection};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use std::sync::Arc;

/// Rules compiled once and reused by many hunts.
///
/// ``rules`` is a path or a list of paths: Sigma rule files and folders, ESCU detection files
/// and folders, told apart by content. ``macros`` and ``lookups`` are ESCU's folders (found
/// beside the detections when not given). ``vars`` gives Sigma placeholder values, a dict of
/// name to value(s) or a YAML file. ``exclude`` is an exclusions file (as ``harrier hunt
/// --exclude``). ``min_level`` and ``tags`` select the rules that run (``tags`` takes ATT&CK
/// ids too: ``["T1059"]``).
///
/// A rule that does not load does not stop the others: it is in ``failed``, with its reason,
/// and a ``HarrierWarning`` says how many. Loading is cached between runs (``cache=False``
/// skips the cache).
#[pyclass(module = "harrier", frozen)]
pub struct RuleSet {
    pub(crate) inner: Arc<harrier::RuleSet>,
}

#[pymethods]
impl RuleSet {
    #[new]
    #[pyo3(signature = (rules, *, macros=None, lookups=None, vars=None, exclude=None, min_level=None, tags=None, cache=true))]
    #[allow(clippy::too_many_arguments)] // Python keyword arguments, one per option
    fn new(
        py: Python<'_>,
        rules: &Bound<'_, PyAny>,
        macros: Option<&Bound<'_, PyAny>>,
        lookups: Option<&Bound<'_, PyAny>>,
        vars: Option<&Bound<'_, PyAny>>,
        exclude: Option<&Bound<'_, PyAny>>,
        min_level: Option<&str>,
        tags: Option<Vec<String>>,
        cache: bool,
    ) -> PyResult<RuleSet> {
        let mut builder = with_vars(source_builder(rules, macros, lookups)?, vars)?;
        if let Some(path) = exclude.map(paths).transpose()?.unwrap_or_default().first() {
            builder = builder.exclusions(path);
        }
        let min_level = min_level.map(|level| level.parse::<Level>().map_err(PyValueError::new_err)).transpose()?;
        builder = builder.select(Selection { min_level, tags: tags.unwrap_or_default(), ..Selection::default() });
        if let Some(dir) = harrier::default_cache_dir().filter(|_| cache) {
            builder = builder.cache_dir(dir);
        }
        let set = py.detach(|| builder.build()).map_err(|error| match error {
            harrier::Error::Options(message) => rule_error(message, None, None, None),
            other => library_error(other),
        })?;
        let set = RuleSet { inner: Arc::new(set) };
        set.check_loaded(py)?;
        Ok(set)
    }

    /// Every rule document with what became of it: one row per document, with ``id``,
    /// ``title``, ``language`` (``sigma``, ``spl``), ``level``, ``status``, ``techniques``,
    /// ``tactics``, ``false_positives``, ``file``, ``line``, ``outcome`` (``loaded``,
    /// ``not selected``, ``filter``, ``correlation``, ``inactive``, ``failed``) and ``reason``.
    #[getter]
    fn rules(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let (batch, schema) = rules_table(&self.inner);
        tables::to_pyarrow(py, vec![batch], schema)
    }

    /// The documents that did not load, each a dict of ``file``, ``line``, ``id``, ``title``
    /// and ``reason``.
    #[getter]
    fn failed<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let failed = PyList::empty(py);
        for outcome in self.inner.outcomes().filter(|outcome| outcome.status == LoadStatus::Failed) {
            let entry = PyDict::new(py);
            entry.set_item("file", outcome.file)?;
            entry.set_item("line", outcome.line)?;
            entry.set_item("id", outcome.id)?;
            entry.set_item("title", outcome.title)?;
            entry.set_item("reason", outcome.reason)?;
            failed.append(entry)?;
        }
        Ok(failed)
    }

    /// The number of rules that run (Sigma detection rules and SPL detections).
    fn __len__(&self) -> usize {
        self.inner.rules_run()
    }

    fn __repr__(&self) -> String {
        let failed = self.inner.count(LoadStatus::Failed);
        format!(
            "<harrier.RuleSet: {} rules run, {} documents, {failed} failed>",
            self.inner.rules_run(),
            self.inner.len()
        )
    }
}

impl RuleSet {
    /// A rule set from what a function was given: a `RuleSet`, or rule paths to load.
    pub(crate) fn from_arg(py: Python<'_>, rules: &Bound<'_, PyAny>) -> PyResult<Arc<harrier::RuleSet>> {
        if let Ok(set) = rules.cast::<RuleSet>() {
            return Ok(set.get().inner.clone());
        }
        Ok(RuleSet::new(py, rules, None, None, None, None, None, None, true)?.inner)
    }

    /// Warns of documents that did not load; raises `RuleError` when nothing runs because of it.
    fn check_loaded(&self, py: Python<'_>) -> PyResult<()> {
        let set = &self.inner;
        let mut failed = set.outcomes().filter(|outcome| outcome.status == LoadStatus::Failed);
        let Some(first) = failed.next() else { return Ok(()) };
        let count = 1 + failed.count();
        let place = format!("{}:{}", first.file, first.line);
        let reason = first.reason.as_deref().unwrap_or("unknown");
        if set.rules_run() == 0 && set.outcomes().all(|outcome| outcome.status == LoadStatus::Failed) {
            let message = format!("no rule loaded: {count} failed; the first, {place}: {reason}");
            return Err(rule_error(message, Some(first.file), Some(first.line), first.id));
        }
        warn(
            py,
            &format!("{count} rule documents did not load (RuleSet.failed lists them); the first, {place}: {reason}"),
        )
    }
}

/// Placeholder values: a dict of name to a value or list of values, or a YAML file.
fn with_vars(
    mut builder: harrier::RuleSetBuilder,
    vars: Option<&Bound<'_, PyAny>>,
) -> PyResult<harrier::RuleSetBuilder> {
    let Some(vars) = vars else { return Ok(builder) };
    let Ok(dict) = vars.cast::<PyDict>() else {
        let file = paths(vars)?;
        return Ok(builder.vars_file(file.first().cloned().unwrap_or_default()));
    };
    for (name, values) in dict.iter() {
        let values: Vec<String> = match values.extract::<String>() {
            Ok(value) => vec![value],
            Err(_) => values.extract()?,
        };
        builder = builder.var(name.extract::<String>()?, values);
    }
    Ok(builder)
}

fn rules_table(set: &harrier::RuleSet) -> (RecordBatch, SchemaRef) {
    let texts = ["id", "title", "language", "level", "status", "file", "outcome", "reason"];
    let mut table = tables::DocumentColumns::new(&texts, &["techniques", "tactics", "false_positives"]);
    for outcome in set.outcomes() {
        let meta = outcome.meta;
        let values = [
            outcome.id.map(str::to_owned),
            outcome.title.map(str::to_owned),
            Some(outcome.language.name().to_owned()),
            meta.map(|meta| meta.level.name().to_owned()),
            meta.and_then(|meta| meta.status).map(|status| status.name().to_owned()),
            Some(outcome.file.to_owned()),
            Some(outcome.status.name().to_owned()),
            outcome.reason.clone(),
        ];
        let lists: [&[String]; 3] = match meta {
            Some(meta) => [&meta.techniques, &meta.tactics, &meta.false_positives],
            None => [&[], &[], &[]],
        };
        table.push(values, lists, outcome.line);
    }
    table.finish()
}

/// A rule set's builder reading these rules, macros and lookups (Python arguments).
pub(crate) fn source_builder(
    rules: &Bound<'_, PyAny>,
    macros: Option<&Bound<'_, PyAny>>,
    lookups: Option<&Bound<'_, PyAny>>,
) -> PyResult<harrier::RuleSetBuilder> {
    let mut builder = harrier::RuleSet::builder();
    for path in paths(rules)? {
        builder = builder.rules(path);
    }
    for dir in macros.map(paths).transpose()?.unwrap_or_default() {
        builder = builder.macros(dir);
    }
    for dir in lookups.map(paths).transpose()?.unwrap_or_default() {
        builder = builder.lookups(dir);
    }
    Ok(builder)
}
