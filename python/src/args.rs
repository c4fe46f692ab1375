//! Python arguments as the library's types, and the library's errors as Python exceptions.

use crate::{HarrierError, HarrierWarning, InputError, RuleError};
use harrier::{Input, Timestamp};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{IntoPyDict, PyString, PyTzInfo};
use std::ffi::CString;
use std::path::Path;

/// One path (`str` or `os.PathLike`) or a sequence of them, as text.
pub(crate) fn paths(value: &Bound<'_, PyAny>) -> PyResult<Vec<String>> {
    if let Some(path) = one_path(value)? {
        return Ok(vec![path]);
    }
    let mut paths = Vec::new();
    for item in value.try_iter().map_err(|_| not_a_path(value))? {
        let item = item?;
        paths.push(one_path(&item)?.ok_or_else(|| not_a_path(&item))?);
    }
    Ok(paths)
}

fn one_path(value: &Bound<'_, PyAny>) -> PyResult<Option<String>> {
    if value.is_instance_of::<PyString>() || value.hasattr("__fspath__")? {
        let os = value.py().import("os")?;
        return Ok(Some(os.call_method1("fspath", (value,))?.extract()?));
    }
    Ok(None)
}

fn not_a_path(value: &Bound<'_, PyAny>) -> PyErr {
    let kind = value.get_type().name().map(|name| name.to_string()).unwrap_or_default();
    pyo3::exceptions::PyTypeError::new_err(format!(
        "expected a path (str or os.PathLike) or a list of paths, got {kind}"
    ))
}

/// Log paths to read: each must exist (`-` is standard input).
pub(crate) fn log_inputs(value: &Bound<'_, PyAny>) -> PyResult<Vec<Input>> {
    let paths = paths(value)?;
    if let Some(missing) = paths.iter().find(|path| *path != "-" && !Path::new(path).exists()) {
        return Err(input_error(missing, format!("{missing}: no such file or directory")));
    }
    Ok(paths.iter().map(|path| Input::from_arg(path)).collect())
}

/// A time window bound: a `datetime` (naive ones are UTC) or text as `--since` takes it.
pub(crate) fn time_bound(value: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Timestamp>> {
    let Some(value) = value else { return Ok(None) };
    let text: String = if let Ok(text) = value.extract::<String>() {
        text
    } else if value.hasattr("isoformat")? {
        let aware = if value.hasattr("tzinfo")? && value.getattr("tzinfo")?.is_none() {
            value.call_method(
                "replace",
                (),
                Some(&[("tzinfo", PyTzInfo::utc(value.py())?)].into_py_dict(value.py())?),
            )?
        } else {
            value.clone()
        };
        aware.call_method0("isoformat")?.extract()?
    } else {
        return Err(pyo3::exceptions::PyTypeError::new_err("a time is a datetime or a str such as '2024-05-01'"));
    };
    Timestamp::parse_bound(&text).map(Some).map_err(PyValueError::new_err)
}

/// `InputError` with its `path`.
pub(crate) fn input_error(path: &str, message: String) -> PyErr {
    Python::attach(|py| {
        let error = InputError::new_err(message);
        let _ = error.value(py).setattr("path", path);
        error
    })
}

/// `RuleError` with the `file`, `line` and `id` of the rule it is about, when there is one.
pub(crate) fn rule_error(message: String, file: Option<&str>, line: Option<usize>, id: Option<&str>) -> PyErr {
    Python::attach(|py| {
        let error = RuleError::new_err(message);
        let value = error.value(py);
        let _ = value.setattr("file", file);
        let _ = value.setattr("line", line);
        let _ = value.setattr("id", id);
        error
    })
}

/// The library's error as the exception a Python caller expects.
pub(crate) fn library_error(error: harrier::Error) -> PyErr {
    match error {
        harrier::Error::Options(message) | harrier::Error::Search(message) => PyValueError::new_err(message),
        harrier::Error::Cancelled => pyo3::exceptions::PyKeyboardInterrupt::new_err("the hunt was cancelled"),
        other => HarrierError::new_err(other.to_string()),
    }
}

/// Warns with `HarrierWarning`, pointing at the caller's line.
pub(crate) fn warn(py: Python<'_>, message: &str) -> PyResult<()> {
    let message = CString::new(message.replace('\0', " ")).unwrap_or_default();
    PyErr::warn(py, &py.get_type::<HarrierWarning>(), &message, 2)
}

/// Every problem met reading logs, as text; warns of them (how many, and the first).
pub(crate) fn read_problems(py: Python<'_>, read: &harrier::ReadSummary) -> PyResult<Vec<String>> {
    let problems: Vec<String> = read
        .problems
        .iter()
        .chain(read.files.iter().flat_map(|file| &file.problems))
        .map(ToString::to_string)
        .collect();
    if let Some(first) = problems.first() {
        warn(py, &format!("{} problems reading the logs (a summary lists them); the first: {first}", problems.len()))?;
    }
    Ok(problems)
}
