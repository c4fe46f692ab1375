//! The command line's tests, one binary: each module was a test binary of its own, and
//! linking each against everything cost minutes of every CI run. The hostile-input tests
//! stay a binary of their own: they measure their children's peak memory, which counts the
//! parent's at the fork, and this one holds whole rule sets.

mod catalog;
mod catalog_site;
mod cli;
mod convert;
mod convert_sqlite;
mod escu_corpus;
mod escu_seeds;
mod examples;
mod exclusions;
mod html_report;
mod library;
mod spl_semantics;
mod terminal;
mod threads;
mod timeline;
mod unknown_fields;
