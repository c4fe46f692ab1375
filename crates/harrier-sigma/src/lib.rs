//! Sigma to IR: this crate owns everything Sigma-specific and nothing past it.
//!
//! - [`load`]: files and directories of YAML, multi-document files, `action: global`
//!   collections, each document with its file and line;
//! - value strings with pySigma's escape rules and every value modifier;
//! - the condition grammar (`and`, `or`, `not`, `1 of`/`all of`/`any of`, `them`);
//! - logsource routing: product/category/service become Channel and EventID conditions, and
//!   process creation also matches Security 4688 through a field mapping ([`logsource`]).
//!
//! The output is an [`Entry`] per document: a [`harrier_ir::Rule`], a filter, a correlation, or
//! why the document failed, with its file, line and rule id.

mod condition;
mod correlation;
mod detection;
mod document;
mod filter;
pub mod logsource;
mod modifiers;
mod strings;
pub mod unknown;

pub use document::{Entry, LoadOptions, Outcome, RuleText, load, load_text, load_texts, load_texts_kept};
pub use logsource::LogsourceMap;
