//! `harrier search`: one SPL search over files.

use crate::hunt::{self, HuntFormat, Output};
use crate::progress::{self, Ui};
use clap::{Args, ValueEnum};
use harrier::{Hunt, RuleSet};
use std::path::PathBuf;
use std::process::ExitCode;

/// Run one SPL search (Splunk's search language and pipeline) over event logs.
///
/// Events are seen as Splunk sees them: raw fields (`Image`, `EventCode`) and the fields
/// Splunk's add-ons derive (`dest`, `process_name`, `dest_port`; `Processes.*` for
/// `| tstats ... from datamodel=Endpoint.Processes`). Values match ignoring case, `*` is a
/// wildcard, `OR` binds tighter than the implied `AND`; `where`/`eval` compare exactly.
///
/// Example: harrier search 'EventCode=3 DestinationPort IN (25,587) | stats count by Image' logs/
#[derive(Args)]
#[command(verbatim_doc_comment)]
pub struct SearchArgs {
    /// The search; it may use macros from `--macros` folders.
    #[arg(value_name = "SPL")]
    search: String,

    /// Files, directories or - for standard input.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<String>,

    /// Folders of SPL macro files (ESCU `macros/`).
    #[arg(long, value_name = "DIR")]
    macros: Vec<PathBuf>,

    /// Folders of lookup definitions with their CSV files (ESCU `lookups/`).
    #[arg(long, value_name = "DIR")]
    lookups: Vec<PathBuf>,

    /// Output format (default: table on a terminal, jsonl otherwise).
    #[arg(long, value_enum)]
    format: Option<SearchFormat>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum SearchFormat {
    Table,
    Jsonl,
}

pub fn run(args: &SearchArgs, ui: &Ui) -> std::io::Result<ExitCode> {
    let set = match RuleSet::search(&args.search, &args.macros, &args.lookups) {
        Ok(set) => set,
        Err(why) => {
            eprintln!("harrier: cannot run the search: {why}");
            return Ok(ExitCode::from(2));
        }
    };
    let format = args.format.map(|format| match format {
        SearchFormat::Table => HuntFormat::Table,
        SearchFormat::Jsonl => HuntFormat::Jsonl,
    });
    let format = progress::default_format(format, HuntFormat::Table, HuntFormat::Jsonl);
    let output = Output { format, html: None, title: args.paths.join(" ") };
    let inputs = progress::inputs(&args.paths);
    hunt::execute(&set, Hunt::new(&set), &output, ui, |hunt, sink| hunt.run(&inputs, sink))
}
