//! `harrier.convert`: rules as queries for the engines where logs already live.

use crate::rules::RuleSet;
use crate::tables;
use harrier::{ConvertOptions, Profile, Target};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

/// Converts every rule document to a query: ``to`` is ``lucene`` (Elasticsearch
/// ``query_string``), ``es-dsl``, ``esql``, ``splunk`` or ``sql`` (``dialect``: ``sqlite``,
/// ``duckdb``, ``postgres``, ``spark``). ``mapping`` names fields as the target's logs do:
/// ``sysmon``, ``ecs``, ``helk``, ``cim``, ``splunk-windows`` or a YAML file (default: ``ecs``
/// for Elasticsearch, ``splunk-windows`` for Splunk, ``sysmon`` for SQL).
///
/// One row per document: ``id``, ``title``, ``language``, ``file``, ``query`` and ``index``
/// (the index pattern, when the mapping knows one), or ``refusal``: why it cannot be
/// converted (a feature the target lacks, or what kept the rule from loading); and ``line``.
#[pyfunction]
#[pyo3(signature = (rules, to, *, mapping=None, dialect=None))]
pub(crate) fn convert(
    py: Python<'_>,
    rules: &Bound<'_, PyAny>,
    to: &str,
    mapping: Option<&str>,
    dialect: Option<&str>,
) -> PyResult<Py<PyAny>> {
    let target = Target::parse(to, dialect).map_err(PyValueError::new_err)?;
    let profile = Profile::load(mapping.unwrap_or(target.default_profile())).map_err(PyValueError::new_err)?;
    let set = RuleSet::from_arg(py, rules)?;
    let options = ConvertOptions::default();
    let mut table =
        tables::DocumentColumns::new(&["id", "title", "language", "file", "query", "index", "refusal"], &[]);
    for (index, outcome) in set.outcomes().enumerate() {
        let (query, index, refusal) = match set.convert(index, target, &profile, &options) {
            Ok(conversion) => (Some(conversion.query), conversion.index, None),
            Err(why) => (None, None, Some(why)),
        };
        let values = [
            outcome.id.map(str::to_owned),
            outcome.title.map(str::to_owned),
            Some(outcome.language.name().to_owned()),
            Some(outcome.file.to_owned()),
            query,
            index,
            refusal,
        ];
        table.push(values, [], outcome.line);
    }
    let (batch, schema) = table.finish();
    tables::to_pyarrow(py, vec![batch], schema)
}
