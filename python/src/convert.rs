//! `harrier.convert`: rules as queries for the engines where logs already live.

use crate::rules::RuleSet;
use crate::tables;
use arrow_array::builder::{StringBuilder, UInt64Builder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use harrier::{ConvertOptions, Profile, Target};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use std::sync::Arc;

/// Converts every rule document to a query: ``to`` is ``lucene`` (Elasticsearch
/// ``query_string``), ``es-dsl``, ``esql``, ``splunk`` or ``sql`` (``dialect``: ``sqlite``,
/// ``duckdb``, ``postgres``, ``spark``). ``mapping`` names fields as the target's logs do:
/// ``sysmon``, ``ecs``, ``helk``, ``cim``, ``splunk-windows`` or a YAML file (default: ``ecs``
/// for Elasticsearch, ``splunk-windows`` for Splunk, ``sysmon`` for SQL).
///
/// One row per document: ``id``, ``title``, ``language``, ``file``, ``line``, ``query`` and
/// ``index`` (the index pattern, when the mapping knows one), or ``refusal``: why it cannot
/// be converted (a feature the target lacks, or what kept the rule from loading).
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
    let names = ["id", "title", "language", "file", "query", "index", "refusal"];
    let mut columns: Vec<StringBuilder> = names.iter().map(|_| StringBuilder::new()).collect();
    let mut lines = UInt64Builder::new();
    for (index, outcome) in set.outcomes().enumerate() {
        let converted = set.convert(index, target, &profile, &options);
        let (query, index, refusal) = match converted {
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
        for (column, value) in columns.iter_mut().zip(values) {
            column.append_option(value);
        }
        lines.append_value(outcome.line as u64);
    }
    let mut fields: Vec<Field> = names.iter().map(|name| Field::new(*name, DataType::Utf8, true)).collect();
    fields.insert(4, Field::new("line", DataType::UInt64, false));
    let mut arrays: Vec<ArrayRef> = columns.iter_mut().map(|column| Arc::new(column.finish()) as ArrayRef).collect();
    arrays.insert(4, Arc::new(lines.finish()));
    let schema = Arc::new(Schema::new(fields));
    let batch = RecordBatch::try_new(schema.clone(), arrays).expect("columns built to the schema");
    tables::to_pyarrow(py, vec![batch], schema)
}
