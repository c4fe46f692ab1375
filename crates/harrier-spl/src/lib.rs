//! Splunk SPL and ESCU detections to Harrier's rule IR.
//!
//! This crate owns reading SPL, not running it:
//! - [`macros`]: macro files, `` `name(args)` `` expansion, the built-in `*_filter` hooks and
//!   `drop_dm_object_name`;
//! - the search language into [`Expr`](harrier_ir::Expr) conditions, with Splunk's
//!   precedence, wildcards, escapes and `!=`/`NOT` rules;
//! - pipeline commands and eval expressions into [`harrier_ir::pipeline`] commands;
//! - [`escu`]: detection YAML files (2024 and 2025+ generations) with their metadata, and
//!   [`lookups`]: lookup definitions with their CSV files.
//!
//! Every error names its place in the expanded search. Running queries is
//! `harrier-pipeline`'s job; the fields Splunk's add-ons derive are `harrier-cim`'s.

mod commands;
pub mod escu;
mod eval;
pub mod lookups;
pub mod macros;
mod search;
mod text;

pub use commands::{DATAMODEL_FIELD, parse_query};
pub use text::SplError;

/// Parses an SPL search-language condition alone (what follows `search`).
pub fn parse_condition(text: &str) -> Result<harrier_ir::Expr, SplError> {
    search::parse(&mut text::Cursor::new(text, 0), search::Until::End)
}
