//! The `harrier` Python package's native module (`harrier._harrier`): Harrier's library as
//! Python functions and classes, results as Arrow tables through the PyCapsule interface.
//!
//! It owns only the mapping to Python: argument conversion, exceptions and warnings, Arrow
//! columns, and running work off the GIL where Ctrl-C can still stop it. What a hunt finds
//! is the library's (`harrier`), so the package and the command line give the same results.

mod args;
mod convert;
mod events;
mod hunt;
mod lake;
mod rules;
mod run;
mod tables;

use pyo3::prelude::*;

pyo3::create_exception!(
    harrier,
    HarrierError,
    pyo3::exceptions::PyException,
    "Base class of the errors Harrier raises."
);
pyo3::create_exception!(
    harrier,
    RuleError,
    HarrierError,
    "Rules cannot be used: a rule path or support file that does not exist or does not parse, or no rule that \
     loads. Its `file`, `line` and `id` name the rule when there is one."
);
pyo3::create_exception!(
    harrier,
    InputError,
    HarrierError,
    "Logs cannot be read: a path that does not exist, or no file that could be read. Its `path` names it."
);
pyo3::create_exception!(
    harrier,
    HarrierWarning,
    pyo3::exceptions::PyUserWarning,
    "Something was skipped (a damaged record, chunk or file; a rule that did not load) and the work went on: \
     the result's `summary` (or the rule set's `failed`) lists each."
);

#[pymodule]
fn _harrier(module: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = module.py();
    module.add("__version__", env!("CARGO_PKG_VERSION"))?;
    module.add("HarrierError", py.get_type::<HarrierError>())?;
    module.add("RuleError", py.get_type::<RuleError>())?;
    module.add("InputError", py.get_type::<InputError>())?;
    module.add("HarrierWarning", py.get_type::<HarrierWarning>())?;
    module.add_class::<rules::RuleSet>()?;
    module.add_class::<hunt::HuntResult>()?;
    module.add_class::<hunt::HitBatches>()?;
    module.add_function(wrap_pyfunction!(hunt::hunt, module)?)?;
    module.add_function(wrap_pyfunction!(hunt::hunt_batches, module)?)?;
    module.add_function(wrap_pyfunction!(events::events, module)?)?;
    module.add_function(wrap_pyfunction!(events::search, module)?)?;
    module.add_function(wrap_pyfunction!(convert::convert, module)?)?;
    module.add_function(wrap_pyfunction!(lake::_concerned_rows, module)?)?;
    module.add_function(wrap_pyfunction!(lake::_hits_of_rows, module)?)?;
    module.add_function(wrap_pyfunction!(lake::_hunt_rows, module)?)?;
    module.add_function(wrap_pyfunction!(lake::_rule_sources, module)?)?;
    Ok(())
}
