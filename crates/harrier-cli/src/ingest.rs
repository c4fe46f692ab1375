//! `harrier ingest` (feature `lake`): normalized events into partitioned Parquet.

use crate::events::View;
use crate::progress::{self, Console, Ui};
use clap::Args;
use harrier_event::Event;
use std::path::PathBuf;
use std::process::ExitCode;

/// Write normalized events as Parquet files for a data lake.
///
/// Layout: OUT/log=<channel>/date=<YYYY-MM-DD>/part-<n>.parquet. Every file has the core
/// columns `_time` (epoch seconds), `_timestamp`, `_channel`, `_provider`, `_computer`,
/// `_event_id`, `_source`, `_record` and `_event` (the whole event as JSON), then one text
/// column per field of its events. Memory stays bounded whatever the input size.
///
/// `--view splunk` writes the columns of events as Splunk sees them (derived CIM fields,
/// `_datamodel`; names case-sensitive): the table ESCU detections run on with
/// `hunt --engine spark --splunk-table`. `_event` stays the event as read.
///
/// Example: harrier ingest logs/ --out lake/
///          harrier ingest logs/ --out lake-splunk/ --view splunk
#[derive(Args)]
#[command(verbatim_doc_comment)]
pub struct IngestArgs {
    /// Files, directories or - for standard input.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<String>,

    /// The lake directory (created if missing).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,

    /// Rows per Parquet file.
    #[arg(long, default_value_t = 100_000, value_name = "N")]
    rows_per_file: usize,

    /// native: fields as the logs have them (what Sigma rules read); splunk: as Splunk's
    /// add-ons present them (what ESCU detections read).
    #[arg(long, value_enum, default_value_t = View::Native)]
    view: View,
}

pub fn run(args: &IngestArgs, ui: &Ui) -> std::io::Result<ExitCode> {
    let inputs = progress::inputs(&args.paths);
    let console = Console::new(ui);
    let mut writer = harrier_lake::LakeWriter::new(&args.out).with_limits(args.rows_per_file, args.rows_per_file * 4);
    if args.view == View::Splunk {
        writer = writer.with_case_sensitive_names();
    }
    let mut written: std::io::Result<()> = Ok(());
    let views = |batch: harrier_read::Batch| -> Vec<(Event, Option<Event>)> {
        let layer = (args.view == View::Splunk).then(harrier_cim::FieldLayer::builtin);
        batch
            .events
            .into_iter()
            .map(|event| {
                let view = layer.map(|layer| layer.view(&event));
                (event, view)
            })
            .collect()
    };
    let sink = |events: Vec<(Event, Option<Event>)>| {
        for (event, view) in &events {
            if written.is_ok() {
                written = match view {
                    Some(view) => writer.write_view(event, view),
                    None => writer.write(event),
                };
            }
        }
    };
    let summary = harrier_read::read(&inputs, &ui.read_options(), views, sink, &mut &console);
    written?;
    let (files, rows) = writer.finish()?;
    console.finish(&summary);
    eprintln!("harrier: {rows} events written to {files} Parquet files under {}", args.out.display());
    Ok(if summary.nothing_read() { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}
