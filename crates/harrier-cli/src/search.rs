//! `harrier search`: one SPL search over files.

use crate::hunt::{self, HuntFormat, HuntOutput, Window};
use crate::output::OutputArgs;
use crate::progress::{self, Ui};
use crate::rules::wrong;
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
/// Results are a table (cut to the terminal, whole in a pipe or a file) or, with --format
/// jsonl, one JSON object per row (`"type": "row"`, `row`) or per event kept (`timestamp`,
/// `source_file`, `record_id`, `event`).
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

    /// Output format: table, or jsonl (json).
    #[arg(long, value_enum, default_value_t = SearchFormat::Table)]
    format: SearchFormat,

    #[command(flatten)]
    output: OutputArgs,

    #[command(flatten)]
    window: Window,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum SearchFormat {
    Table,
    #[value(alias = "json")]
    Jsonl,
}

pub fn run(args: &SearchArgs, ui: &Ui) -> std::io::Result<ExitCode> {
    let set = RuleSet::search(&args.search, &args.macros, &args.lookups)
        .map_err(|why| wrong(format!("cannot run the search: {why}")))?;
    let format = match args.format {
        SearchFormat::Table => HuntFormat::Summary,
        SearchFormat::Jsonl => HuntFormat::Jsonl,
    };
    let output = HuntOutput { format, output: &args.output, html: None, search: true };
    let inputs = progress::inputs(&args.paths);
    let search = Hunt::new(&set).since(args.window.since).until(args.window.until);
    hunt::execute(&set, search, &output, &args.paths.join(" "), ui, |hunt, sink| hunt.run(&inputs, sink))
}
