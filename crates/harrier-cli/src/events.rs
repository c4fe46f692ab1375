//! `harrier events`: the normalized events themselves.

use crate::hunt::Window;
use crate::output::OutputArgs;
use crate::progress::{self, Console, Ui, plural};
use crate::rules::wrong;
use clap::{Args, ValueEnum};
use harrier::EventFilter;
use harrier_print::events::{table_header, table_row, write_json_line};
use std::io::Write;
use std::process::ExitCode;

/// Print normalized events: a table, or JSON Lines with --format jsonl.
///
/// Each JSON line holds `timestamp` (UTC), `source_file`, `record_id` (EVTX EventRecordID,
/// or the 1-based line a JSON event starts on) and `event`, the fields under the names Sigma
/// rules use (`EventID`, `Channel`, `Provider_Name`, `Image`, ...). The table is cut to the
/// terminal's width, whole in a pipe or a file.
///
/// --where keeps the events that meet every condition, as Sigma compares (ignoring case,
/// wildcards `*` and `?`, numbers as text): FIELD=VALUE, FIELD!=VALUE, FIELD>N, FIELD>=N,
/// FIELD<N, FIELD<=N, and Sigma modifiers on the field (FIELD|contains=VALUE, |startswith,
/// |endswith, |re). Quote them in the shell: backslashes and `*` are the shell's too.
///
/// Examples:
///   harrier events logs/ --where EventID=1 --where 'Image=*\cmd.exe'
///   harrier events logs/ --where 'CommandLine|contains=-enc' --format jsonl | jq .event.CommandLine
#[derive(Args)]
#[command(verbatim_doc_comment)]
pub struct EventsArgs {
    /// Files, directories or - for standard input.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<String>,

    /// Output format: table, or jsonl (json).
    #[arg(long, value_enum, default_value_t = EventFormat::Table)]
    format: EventFormat,

    #[command(flatten)]
    output: OutputArgs,

    /// Keep events that meet this condition (FIELD=VALUE, FIELD!=VALUE, FIELD>N, ...,
    /// FIELD|contains=VALUE); repeat to require several.
    #[arg(long = "where", value_name = "CONDITION")]
    conditions: Vec<String>,

    #[command(flatten)]
    window: Window,

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
    Table,
    #[value(alias = "json")]
    Jsonl,
}

pub fn run(args: &EventsArgs, ui: &Ui) -> std::io::Result<ExitCode> {
    let filter = EventFilter::parse(&args.conditions).map_err(|error| wrong(error.to_string()))?;
    let inputs = progress::inputs(&args.paths);
    let mut out = args.output.open(ui)?;
    let console = Console::new(ui);
    let width = out.width;
    if args.format == EventFormat::Table {
        writeln!(out.writer, "{}", cut(table_header(), width))?;
    }
    let window = args.window.time_window();
    let render = |batch: harrier_read::Batch| -> (Vec<u8>, u64, u64) {
        let (mut text, mut kept, mut unplaced) = (Vec::new(), 0, 0);
        for event in &batch.events {
            match window.place(event) {
                None => {
                    unplaced += 1;
                    continue;
                }
                Some(true) if filter.matches(event) => {}
                Some(_) => continue,
            }
            kept += 1;
            let splunk_view;
            let event = match args.view {
                View::Native => event,
                View::Splunk => {
                    splunk_view = harrier_cim::FieldLayer::builtin().view(event);
                    &splunk_view
                }
            };
            match args.format {
                EventFormat::Jsonl => write_json_line(&mut text, event),
                EventFormat::Table => text.extend_from_slice(format!("{}\n", cut(table_row(event), width)).as_bytes()),
            }
        }
        (text, kept, unplaced)
    };
    let (mut written, mut kept, mut unplaced): (std::io::Result<()>, u64, u64) = (Ok(()), 0, 0);
    let sink = |(text, count, outside): (Vec<u8>, u64, u64)| {
        kept += count;
        unplaced += outside;
        if written.is_ok() {
            console.clear();
            written = out.writer.write_all(&text);
        }
    };
    let summary = harrier_read::read(&inputs, &ui.read_options(), render, sink, &mut &console);
    written?;
    out.writer.flush()?;
    console.finish(&summary);
    if unplaced > 0 && !ui.quiet {
        eprintln!("harrier: left out {} without a time (--since/--until cannot place them)", plural(unplaced, "event"));
    }
    let selective = !args.conditions.is_empty() || !window.is_open();
    if selective && !ui.quiet {
        match kept {
            0 => eprintln!("harrier: no event of {} met {}", plural(summary.events(), "event"), conditions(args)),
            kept => eprintln!("harrier: {} of {} met {}", kept, plural(summary.events(), "event"), conditions(args)),
        }
    }
    Ok(if summary.nothing_read() { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// The conditions as given, for messages.
fn conditions(args: &EventsArgs) -> String {
    let mut given: Vec<String> = args.conditions.iter().map(|condition| format!("--where '{condition}'")).collect();
    given.extend(args.window.since.map(|time| format!("--since {time}")));
    given.extend(args.window.until.map(|time| format!("--until {time}")));
    given.join(" ")
}

/// A line cut to the terminal's width, or whole.
fn cut(line: String, width: Option<usize>) -> String {
    match width {
        Some(width) => console::truncate_str(&line, width, "…").into_owned(),
        None => line,
    }
}
