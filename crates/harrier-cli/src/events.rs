//! `harrier events`: the normalized events themselves.

use crate::progress::{self, Console, Ui};
use clap::{Args, ValueEnum};
use harrier_event::Event;
use harrier_print::events::{table_header, table_row, write_json_line};
use harrier_read::ReadOptions;
use std::io::Write;
use std::process::ExitCode;

/// Print normalized events: JSON Lines when piped, a table on a terminal.
///
/// Each JSON line holds `timestamp` (UTC), `source_file`, `record_id` (EVTX EventRecordID,
/// or the 1-based line a JSON event starts on) and `event`, the fields under the names Sigma
/// rules use (`EventID`, `Channel`, `Provider_Name`, `Image`, ...).
///
/// Examples:
///   harrier events logs/ --where EventID=1 --where Image=C:\Windows\System32\cmd.exe
///   harrier events Security.evtx | jq .event.TargetUserName
#[derive(Args)]
#[command(verbatim_doc_comment)]
pub struct EventsArgs {
    /// Files, directories or - for standard input.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<String>,

    /// Output format (default: table on a terminal, jsonl otherwise).
    #[arg(long, value_enum)]
    format: Option<EventFormat>,

    /// Keep events whose field equals the value (case-insensitive, numbers compare as text).
    /// Repeat to require several.
    #[arg(long = "where", value_name = "FIELD=VALUE", value_parser = parse_condition)]
    conditions: Vec<Condition>,

    /// `splunk`: events as Splunk's add-ons present them (derived CIM fields such as `dest`
    /// and `process_name`, `Processes.*`, `_datamodel`, `_time` in epoch seconds), the table
    /// SQL conversions of ESCU detections run on.
    #[arg(long, value_enum, default_value_t = View::Native)]
    view: View,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum View {
    Native,
    Splunk,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum EventFormat {
    Jsonl,
    Table,
}

#[derive(Clone)]
struct Condition {
    field: String,
    value: String,
}

fn parse_condition(text: &str) -> Result<Condition, String> {
    match text.split_once('=') {
        Some((field, value)) if !field.trim().is_empty() => {
            Ok(Condition { field: field.trim().to_owned(), value: value.to_owned() })
        }
        _ => Err(format!("expected FIELD=VALUE, got `{text}`")),
    }
}

impl Condition {
    fn holds(&self, event: &Event) -> bool {
        event.text(&self.field).is_some_and(|text| text.eq_ignore_ascii_case(&self.value))
    }
}

pub fn run(args: &EventsArgs, ui: &Ui) -> std::io::Result<ExitCode> {
    let format = progress::default_format(args.format, EventFormat::Table, EventFormat::Jsonl);
    let inputs = progress::inputs(&args.paths);
    let mut console = Console::new(ui);
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if format == EventFormat::Table {
        writeln!(out, "{}", table_header())?;
    }
    let mut written: std::io::Result<()> = Ok(());
    let render = |batch: harrier_read::Batch| -> Vec<u8> {
        let mut text = Vec::new();
        for event in batch.events.iter().filter(|event| args.conditions.iter().all(|condition| condition.holds(event)))
        {
            let splunk_view;
            let event = match args.view {
                View::Native => event,
                View::Splunk => {
                    splunk_view = harrier_cim::FieldLayer::builtin().view(event);
                    &splunk_view
                }
            };
            match format {
                EventFormat::Jsonl => write_json_line(&mut text, event),
                EventFormat::Table => text.extend_from_slice(table_row(event).as_bytes()),
            }
        }
        text
    };
    let sink = |text: Vec<u8>| {
        if written.is_ok() {
            written = out.write_all(&text);
        }
    };
    let summary = harrier_read::read(&inputs, &ReadOptions::default(), render, sink, &mut console);
    written?;
    out.flush()?;
    console.finish(&summary);
    Ok(if summary.nothing_read() { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}
