//! `harrier hunt`: rules over logs, hits out.

use crate::progress::{self, Console, Ui};
use crate::rules::{RuleArgs, report_loading};
use clap::{Args, ValueEnum};
use harrier::{Flow, Hunt, Level, RuleSet, Selection, Sink, Status, Summary, Tee, Timestamp};
use harrier_print::{Csv, HitsOnly, HtmlReport, JsonLines, RuleTable, Timeline, Timesketch, Unwritten};
use std::io::{self, BufWriter, StdoutLock};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Run Sigma rules and Splunk ESCU detections over event logs.
///
/// Each Sigma rule only sees the events of its logsource (a process_creation rule sees Sysmon
/// event 1 and Security 4688). Hits come out in input order, whatever the thread count.
///
/// ESCU detections run natively: macros and lookups come from `macros/` and `lookups/`
/// folders beside or above the rules (or `--macros`/`--lookups`); events gain the fields
/// Splunk's add-ons derive (`dest`, `process_name`, `Processes.*` for tstats ...). A
/// detection ending in `stats` or `table` gives rows, printed after the hits: one object per
/// row with `"type":"row"`, the detection's metadata and `row`, its fields in order.
///
/// Formats: `table` (default on a terminal) prints hits per rule with level, ATT&CK
/// techniques and tactics, first and last time; `jsonl` (default when piped) prints one object
/// per hit with `timestamp`, `rule_id`, `rule_title`, `level`, `techniques`, `tactics`,
/// `false_positives`, `source_file`, `record_id` and `event`; `csv` prints one row per hit;
/// `timeline` is CSV for Timeline Explorer; `timesketch` is JSON lines for Timesketch.
///
/// Example: harrier hunt logs/ --rules sigma/rules --min-level high
#[derive(Args)]
#[command(verbatim_doc_comment)]
pub struct HuntArgs {
    /// Files, directories or - for standard input (with --engine spark: none, see --table).
    #[cfg_attr(feature = "spark", arg(required_unless_present = "table", value_name = "PATH"))]
    #[cfg_attr(not(feature = "spark"), arg(required = true, value_name = "PATH"))]
    pub(crate) paths: Vec<String>,

    #[command(flatten)]
    rules: RuleArgs,

    /// Output format (default: table on a terminal, jsonl otherwise).
    #[arg(long, value_enum)]
    pub(crate) format: Option<HuntFormat>,

    /// Only rules of this level or above (informational, low, medium, high, critical).
    #[arg(long, value_name = "LEVEL", value_parser = |text: &str| text.parse::<Level>())]
    min_level: Option<Level>,

    /// Only rules of these statuses (stable, test, experimental, ...); repeatable.
    #[arg(long, value_name = "STATUS", value_parser = |text: &str| text.parse::<Status>())]
    status: Vec<Status>,

    /// Only rules with this tag or a tag under it (`attack.t1059` takes `attack.t1059.001`);
    /// repeatable.
    #[arg(long, value_name = "TAG")]
    tag: Vec<String>,

    /// Only events at or after this time (RFC 3339, or `YYYY-MM-DD HH:MM:SS` in UTC).
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    from: Option<Timestamp>,

    /// Only events at or before this time.
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    to: Option<Timestamp>,

    /// Ignore white space around values when matching (Sigma compares values as they are).
    #[arg(long)]
    trim_values: bool,

    /// Take out known-benign hits: a YAML file of exclusions, each a rule id (`rule:`) and
    /// optionally field conditions in Sigma detection syntax (`detection:`), for Sigma and
    /// ESCU rules alike. The summary says how many hits each removed.
    #[arg(long, value_name = "FILE")]
    exclude: Option<PathBuf>,

    /// Also write an HTML report to FILE: one self-contained page with totals by level, the
    /// ATT&CK matrix as a heat map, a timeline, top rules/hosts/users/processes and a
    /// sortable, filterable table of every hit with its event and false-positive notes.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,

    #[cfg(feature = "spark")]
    #[command(flatten)]
    engine: crate::spark::EngineArgs,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum HuntFormat {
    Table,
    Jsonl,
    Csv,
    /// CSV for Timeline Explorer: time, host, channel, event id, rule, ATT&CK, details.
    Timeline,
    /// JSON lines Timesketch imports (`message`, `datetime`, `timestamp_desc`).
    Timesketch,
}

fn parse_time(text: &str) -> Result<Timestamp, String> {
    Timestamp::parse(text).ok_or_else(|| format!("`{text}` is not a time (use 2024-05-01T13:00:00Z)"))
}

pub fn run(args: &HuntArgs, ui: &Ui) -> io::Result<ExitCode> {
    let selection = Selection {
        min_level: args.min_level,
        statuses: args.status.clone(),
        tags: args.tag.clone(),
        ..Selection::default()
    };
    let mut builder = args.rules.builder().select(selection).trim_values(args.trim_values);
    if let Some(path) = &args.exclude {
        builder = builder.exclusions(path);
    }
    let set = builder.build().map_err(io::Error::other)?;
    report_loading(&set);
    let format = progress::default_format(args.format, HuntFormat::Table, HuntFormat::Jsonl);
    let hunt = Hunt::new(&set).since(args.from).until(args.to);
    let output = Output { format, html: args.html.as_deref(), title: args.paths.join(" ") };
    #[cfg(feature = "spark")]
    if let Some(spark) = args.engine.options()? {
        if !args.paths.is_empty() {
            return Err(io::Error::other("with --engine spark the events come from --table, not from paths"));
        }
        return execute(&set, hunt, &output, ui, |hunt, sink| hunt.run_on_spark(&spark, sink));
    }
    let inputs = progress::inputs(&args.paths);
    execute(&set, hunt, &output, ui, |hunt, sink| hunt.run(&inputs, sink))
}

/// How a hunt's results are written.
pub(crate) struct Output<'a> {
    pub format: HuntFormat,
    /// Also an HTML report to this file.
    pub html: Option<&'a Path>,
    /// What was hunted, for the report's title.
    pub title: String,
}

/// The writer of a format.
enum Printer<'r> {
    Table(RuleTable<'r, BufWriter<StdoutLock<'static>>>),
    Jsonl(JsonLines<BufWriter<StdoutLock<'static>>>),
    Csv(HitsOnly<Csv<BufWriter<StdoutLock<'static>>>>),
    Timeline(HitsOnly<Timeline<BufWriter<StdoutLock<'static>>>>),
    Timesketch(HitsOnly<Timesketch<BufWriter<StdoutLock<'static>>>>),
}

impl<'r> Printer<'r> {
    fn new(format: HuntFormat, set: &'r RuleSet) -> io::Result<Printer<'r>> {
        let out = BufWriter::new(io::stdout().lock());
        Ok(match format {
            HuntFormat::Table => Printer::Table(RuleTable::new(out, set)),
            HuntFormat::Jsonl => Printer::Jsonl(JsonLines::new(out)),
            HuntFormat::Csv => Printer::Csv(Csv::new(out)?),
            HuntFormat::Timeline => Printer::Timeline(Timeline::new(out)?),
            HuntFormat::Timesketch => Printer::Timesketch(Timesketch::new(out)),
        })
    }

    fn sink(&mut self) -> &mut dyn Sink {
        match self {
            Printer::Table(sink) => sink,
            Printer::Jsonl(sink) => sink,
            Printer::Csv(sink) => sink,
            Printer::Timeline(sink) => sink,
            Printer::Timesketch(sink) => sink,
        }
    }

    /// What the format could not hold.
    fn unwritten(&self) -> Unwritten {
        match self {
            Printer::Table(_) | Printer::Jsonl(_) => Unwritten::default(),
            Printer::Csv(sink) => sink.unwritten(),
            Printer::Timeline(sink) => sink.unwritten(),
            Printer::Timesketch(sink) => sink.unwritten(),
        }
    }
}

/// A sink that keeps nothing (where no report is asked for).
struct Nowhere;

impl Sink for Nowhere {
    fn hit(&mut self, _: &harrier::Hit<'_>) -> io::Result<Flow> {
        Ok(Flow::Continue)
    }
}

/// Runs a hunt (`run` reads the logs or asks the cluster) with the results written as
/// `output` says.
pub(crate) fn execute<'r>(
    set: &'r RuleSet,
    hunt: Hunt<'r>,
    output: &Output,
    ui: &Ui,
    run: impl FnOnce(&Hunt<'_>, &mut dyn Sink) -> Result<Summary, harrier::Error>,
) -> io::Result<ExitCode> {
    let mut report = output.html.map(|path| HtmlReport::create(path, set, &output.title)).transpose()?;
    let mut printer = Printer::new(output.format, set)?;
    let mut nowhere = Nowhere;
    let reported: &mut dyn Sink = match &mut report {
        Some(report) => report,
        None => &mut nowhere,
    };
    let summary = hunt_with_progress(hunt, &mut Tee(printer.sink(), reported), ui, run)?;
    say_unwritten(printer.unwritten());
    if let Some(report) = &report {
        eprintln!("harrier: report of {} hits written to {}", report.len(), report.path().display());
    }
    Ok(exit_code(&summary))
}

/// Runs a hunt with progress and problems on stderr, results to `sink`; then says what it
/// found.
pub(crate) fn hunt_with_progress<'r>(
    hunt: Hunt<'r>,
    sink: &mut dyn Sink,
    ui: &Ui,
    run: impl FnOnce(&Hunt<'_>, &mut dyn Sink) -> Result<Summary, harrier::Error>,
) -> io::Result<Summary> {
    let console = Console::new(ui);
    let hunt = hunt.on_progress(|progress| console.on(progress));
    let summary = run(&hunt, sink).map_err(into_io)?;
    for (name, count) in &summary.excluded {
        eprintln!("harrier: exclusion `{name}` removed {count} hits");
    }
    if summary.untimed > 0 {
        eprintln!("harrier: {} matches have no timestamp and are left out of correlations", summary.untimed);
    }
    if summary.from_files() {
        console.finish(&summary.read);
    } else {
        console.clear();
    }
    if !ui.quiet {
        say_found(&summary);
    }
    Ok(summary)
}

/// 1 when nothing could be read.
pub(crate) fn exit_code(summary: &Summary) -> ExitCode {
    if summary.nothing_read() { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}

/// Names what the chosen format left out.
fn say_unwritten(unwritten: Unwritten) {
    if unwritten.untimed_hits > 0 {
        eprintln!(
            "harrier: {} hits have no timestamp and are not written (the format needs one)",
            unwritten.untimed_hits
        );
    }
    if unwritten.rows > 0 {
        eprintln!("harrier: SPL result rows are not written in this format; use --format jsonl or table");
    }
    if unwritten.correlations > 0 {
        eprintln!(
            "harrier: {} correlation results are not written in this format; use --format jsonl or table",
            unwritten.correlations
        );
    }
}

/// `harrier: 12 hits from 3 rules, 1 correlation results, 4 SPL results from 2 detections`
fn say_found(summary: &Summary) {
    let rules_hit = |kind: fn(&harrier::RuleKey) -> bool| summary.per_rule.iter().filter(|(key, _)| kind(key)).count();
    eprintln!(
        "harrier: {} hits from {} rules, {} correlation results, {} SPL results from {} detections",
        summary.hits,
        rules_hit(|key| matches!(key, harrier::RuleKey::Sigma(_))),
        summary.correlations,
        summary.rows,
        rules_hit(|key| matches!(key, harrier::RuleKey::Spl(_))),
    );
}

/// A library error as the CLI reports it (a closed pipe stays one, so `| head` is quiet).
pub(crate) fn into_io(error: harrier::Error) -> io::Error {
    match error {
        harrier::Error::Sink(error) => error,
        other => io::Error::other(other.to_string()),
    }
}
