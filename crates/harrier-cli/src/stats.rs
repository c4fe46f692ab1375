//! `harrier stats`: what is in the logs, counted per file, channel, provider and event id.

use crate::output::OutputArgs;
use crate::progress::{self, Console, Ui};
use clap::{Args, ValueEnum};
use harrier_read::{FileReport, Summary};
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::Write;
use std::process::ExitCode;

/// Count events per file, channel, provider and event id, with every problem met.
///
/// The table gives the counts and each problem with its file and place; the JSON form lists
/// each file with its format, size, events, skipped records and chunks and the problems
/// (place and message), then the counts over all files.
///
/// Example: harrier stats logs/ --format json -o stats.json
#[derive(Args)]
#[command(verbatim_doc_comment)]
pub struct StatsArgs {
    /// Files, directories or - for standard input.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<String>,

    /// Output format: table or json.
    #[arg(long, value_enum, default_value_t = StatsFormat::Table)]
    format: StatsFormat,

    #[command(flatten)]
    output: OutputArgs,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum StatsFormat {
    Table,
    Json,
}

/// Counts from one batch or from the whole read.
#[derive(Default)]
struct Counts {
    per_file: BTreeMap<String, BTreeMap<String, u64>>,
    channels: BTreeMap<String, u64>,
    providers: BTreeMap<String, u64>,
    event_ids: BTreeMap<(String, i64), u64>,
}

impl Counts {
    fn of_batch(batch: harrier_read::Batch) -> Counts {
        let mut counts = Counts::default();
        let file_channels = counts.per_file.entry(batch.source.path.clone()).or_default();
        for event in &batch.events {
            let channel = event.channel().unwrap_or("").to_owned();
            *file_channels.entry(channel.clone()).or_default() += 1;
            *counts.channels.entry(channel.clone()).or_default() += 1;
            *counts.providers.entry(event.provider().unwrap_or("").to_owned()).or_default() += 1;
            if let Some(id) = event.event_id() {
                *counts.event_ids.entry((channel, id)).or_default() += 1;
            }
        }
        counts
    }

    fn add(&mut self, other: Counts) {
        for (file, channels) in other.per_file {
            merge(self.per_file.entry(file).or_default(), channels);
        }
        merge(&mut self.channels, other.channels);
        merge(&mut self.providers, other.providers);
        merge(&mut self.event_ids, other.event_ids);
    }
}

fn merge<K: Ord>(into: &mut BTreeMap<K, u64>, from: BTreeMap<K, u64>) {
    for (key, count) in from {
        *into.entry(key).or_default() += count;
    }
}

#[derive(Serialize)]
struct Report<'a> {
    totals: Totals,
    files: Vec<FileEntry<'a>>,
    channels: &'a BTreeMap<String, u64>,
    providers: &'a BTreeMap<String, u64>,
    event_ids: Vec<EventIdEntry<'a>>,
    ignored: &'a [String],
    problems: Vec<ProblemEntry<'a>>,
}

#[derive(Serialize)]
struct Totals {
    files: usize,
    failed_files: usize,
    ignored_files: usize,
    events: u64,
    bytes: u64,
    skipped_records: u64,
    skipped_chunks: u64,
}

#[derive(Serialize)]
struct FileEntry<'a> {
    path: &'a str,
    format: Option<&'static str>,
    bytes: u64,
    events: u64,
    skipped_records: u64,
    skipped_chunks: u64,
    unused_chunks: u64,
    channels: Option<&'a BTreeMap<String, u64>>,
    problems: Vec<ProblemEntry<'a>>,
}

#[derive(Serialize)]
struct EventIdEntry<'a> {
    channel: &'a str,
    event_id: i64,
    count: u64,
}

#[derive(Serialize)]
struct ProblemEntry<'a> {
    path: &'a str,
    place: String,
    /// `skipped`, or `flagged`: read all the same.
    verb: &'static str,
    /// What it is about: a record or line, a chunk, or the file.
    skipped: &'static str,
    message: &'a str,
}

impl<'a> ProblemEntry<'a> {
    fn of(problem: &'a harrier_read::Problem) -> ProblemEntry<'a> {
        ProblemEntry {
            path: &problem.path,
            place: problem.place.to_string(),
            verb: problem.verb(),
            skipped: problem.skips(),
            message: &problem.message,
        }
    }
}

pub fn run(args: &StatsArgs, ui: &Ui) -> std::io::Result<ExitCode> {
    let inputs = progress::inputs(&args.paths);
    let mut out = args.output.open(ui)?;
    let console = Console::new(ui);
    let mut counts = Counts::default();
    let summary =
        harrier_read::read(&inputs, &ui.read_options(), Counts::of_batch, |batch| counts.add(batch), &mut &console);
    console.finish(&summary);
    let report = report(&summary, &counts);
    match args.format {
        StatsFormat::Json => {
            serde_json::to_writer_pretty(&mut out.writer, &report)?;
            writeln!(out.writer)?;
        }
        StatsFormat::Table => write_table(&mut out.writer, &report)?,
    }
    out.writer.flush()?;
    Ok(if summary.nothing_read() { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

fn report<'a>(summary: &'a Summary, counts: &'a Counts) -> Report<'a> {
    Report {
        totals: Totals {
            files: summary.files.len(),
            failed_files: summary.failed_files(),
            ignored_files: summary.ignored.len(),
            events: summary.events(),
            bytes: summary.bytes(),
            skipped_records: summary.skipped_records(),
            skipped_chunks: summary.skipped_chunks(),
        },
        files: summary.files.iter().map(|file| file_entry(file, counts)).collect(),
        channels: &counts.channels,
        providers: &counts.providers,
        event_ids: counts
            .event_ids
            .iter()
            .map(|((channel, event_id), count)| EventIdEntry { channel, event_id: *event_id, count: *count })
            .collect(),
        ignored: &summary.ignored,
        problems: summary.problems.iter().map(ProblemEntry::of).collect(),
    }
}

fn file_entry<'a>(file: &'a FileReport, counts: &'a Counts) -> FileEntry<'a> {
    FileEntry {
        path: &file.path,
        format: file.format.map(harrier_read::Format::name),
        bytes: file.bytes,
        events: file.events,
        skipped_records: file.skipped_records(),
        skipped_chunks: file.skipped_chunks(),
        unused_chunks: file.unused_chunks,
        channels: counts.per_file.get(&file.path),
        problems: file.problems.iter().map(ProblemEntry::of).collect(),
    }
}

fn write_table(out: &mut impl Write, report: &Report<'_>) -> std::io::Result<()> {
    writeln!(out, "{:>9} {:>8} {:>8}  FILE", "EVENTS", "SKIPPED", "FORMAT")?;
    for file in &report.files {
        let skipped = file.skipped_records + file.skipped_chunks;
        writeln!(out, "{:>9} {:>8} {:>8}  {}", file.events, skipped, file.format.unwrap_or("-"), file.path)?;
    }
    for (title, counts) in [("CHANNEL", report.channels), ("PROVIDER", report.providers)] {
        writeln!(out, "\n{:>9}  {title}", "EVENTS")?;
        for (name, count) in sorted_by_count(counts) {
            writeln!(out, "{count:>9}  {}", if name.is_empty() { "(none)" } else { name })?;
        }
    }
    writeln!(out, "\n{:>9} {:>8}  CHANNEL", "EVENTS", "EVENTID")?;
    for entry in &report.event_ids {
        writeln!(out, "{:>9} {:>8}  {}", entry.count, entry.event_id, entry.channel)?;
    }
    let problems = report.problems.iter().chain(report.files.iter().flat_map(|file| &file.problems));
    for (number, problem) in problems.enumerate() {
        if number == 0 {
            writeln!(out, "\nPROBLEMS (what was skipped, and where)")?;
        }
        writeln!(
            out,
            "{}: {}: {} {}: {}",
            problem.path, problem.place, problem.verb, problem.skipped, problem.message
        )?;
    }
    let totals = &report.totals;
    writeln!(
        out,
        "\n{} files ({} failed, {} ignored), {} events, {} skipped records, {} skipped chunks",
        totals.files,
        totals.failed_files,
        totals.ignored_files,
        totals.events,
        totals.skipped_records,
        totals.skipped_chunks
    )
}

fn sorted_by_count(counts: &BTreeMap<String, u64>) -> Vec<(&String, u64)> {
    let mut sorted: Vec<(&String, u64)> = counts.iter().map(|(name, count)| (name, *count)).collect();
    sorted.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    sorted
}
