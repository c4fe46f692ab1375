//! Reading logs: files, directories, gzip and stdin in; [`Batch`]es of normalized events out,
//! in a deterministic order, on all cores, in bounded memory.
//!
//! This crate owns:
//! - finding the inputs ([`Input`]: directories walked in sorted order, `-` for stdin);
//! - telling formats apart by content, not by extension ([`Format`]: EVTX, JSON, gzip);
//! - cutting each file into units of work (EVTX chunks, batches of JSON lines or documents),
//!   parsing them in parallel with rayon and handing results back in input order ([`read`]);
//! - reading EVTX records from their binary XML templates into fields, the `evtx` crate's JSON
//!   rendering kept for the shapes that reader leaves to it;
//! - accounting: what was read, skipped and why ([`Summary`], [`Problem`]).
//!
//! Normalizing each parsed document into an [`Event`](harrier_event::Event) is delegated to
//! `harrier-normalize`.

mod detect;
mod evtx_source;
mod evtx_template;
mod inputs;
mod json_source;
mod pipeline;
mod report;
mod tar;

pub use detect::Format;
pub use inputs::Input;
pub use pipeline::{Batch, DEFAULT_MAX_RECORD_BYTES, Observer, ReadOptions, read};
pub use report::{FileReport, Place, Problem, Summary};
