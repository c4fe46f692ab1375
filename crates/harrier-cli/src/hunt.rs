//! `harrier hunt`: rules over logs, hits out.

use crate::output::{Out, OutputArgs, create};
use crate::progress::{self, Console, Ui, plural};
use crate::rules::{Purpose, RuleArgs, wrong};
use clap::{Args, ValueEnum};
use harrier::{Flow, Hunt, RuleKey, RuleSet, Sink, Summary, Tee, Timestamp};
use harrier_print::{
    Csv, HitsOnly, HtmlReport, JsonLines, RuleTable, Text, TextOptions, Timeline, Timesketch, Unwritten,
};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Run Sigma rules and Splunk ESCU detections over event logs.
///
/// Each Sigma rule only sees the events of its logsource (a process_creation rule sees Sysmon
/// event 1 and Security 4688). ESCU detections run natively: macros and lookups come from
/// `macros/` and `lookups/` folders beside or above the rules (or --macros, --lookups).
///
/// Formats (the same on a terminal or in a pipe):
///   text        one line per hit in time order: time, computer, level, rule and the fields
///               that explain the event; correlation results among them; then each ESCU
///               detection's result rows as a table; then hits by level, top hosts, top rules.
///               Lines are cut to the terminal's width, levels in colour (--color).
///   summary     hits per rule (level, ATT&CK, first and last time), correlation results,
///               result rows as tables.
///   jsonl       one JSON object per hit (`timestamp`, `rule_id`, `rule_title`, `level`,
///               `techniques`, `tactics`, `false_positives`, `source_file`, `record_id`,
///               `event`), per correlation result (`"type": "correlation"`) and per ESCU
///               result row (`"type": "row"`). `json` is the same.
///   csv         one row per hit.
///   timeline    CSV for Timeline Explorer.
///   timesketch  JSON lines Timesketch imports.
///
/// Examples:
///   harrier hunt logs/ -r sigma/rules
///   harrier hunt logs/ -r sigma/rules --min-level high --since 2024-05-01 --format summary
///   harrier hunt logs/ -r sigma/rules -r escu/detections --format jsonl -o hits.jsonl
#[derive(Args)]
#[command(verbatim_doc_comment)]
pub struct HuntArgs {
    /// Files, directories or - for standard input (with --engine spark: none, see --table).
    #[cfg_attr(feature = "spark", arg(required_unless_present = "table", value_name = "PATH"))]
    #[cfg_attr(not(feature = "spark"), arg(required = true, value_name = "PATH"))]
    paths: Vec<String>,

    #[command(flatten)]
    rules: RuleArgs,

    /// Output format: text, summary, jsonl (or json), csv, timeline, timesketch.
    #[arg(long, value_enum, default_value_t = HuntFormat::Text, value_name = "FORMAT", hide_possible_values = true)]
    format: HuntFormat,

    #[command(flatten)]
    output: OutputArgs,

    #[command(flatten)]
    window: Window,

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

/// `--since`/`--until`: the time window, the same on every command that reads events.
#[derive(Args, Clone, Default)]
pub(crate) struct Window {
    /// Only events at or after this time (RFC 3339 `2024-05-01T13:00:00Z`, `2024-05-01
    /// 13:00:00` or `2024-05-01`, in UTC).
    #[arg(long, alias = "from", value_name = "TIME", value_parser = Timestamp::parse_bound)]
    pub since: Option<Timestamp>,

    /// Only events at or before this time.
    #[arg(long, alias = "to", value_name = "TIME", value_parser = Timestamp::parse_bound)]
    pub until: Option<Timestamp>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum HuntFormat {
    Text,
    #[value(alias = "table")]
    Summary,
    #[value(alias = "json")]
    Jsonl,
    Csv,
    Timeline,
    Timesketch,
}

impl Window {
    pub(crate) fn time_window(&self) -> harrier::TimeWindow {
        harrier::TimeWindow { since: self.since, until: self.until }
    }

    fn check(&self) -> io::Result<()> {
        match (self.since, self.until) {
            (Some(since), Some(until)) if since > until => {
                Err(wrong(format!("--since {since} is after --until {until}: no event can be in that window")))
            }
            _ => Ok(()),
        }
    }
}

pub fn run(args: &HuntArgs, ui: &Ui) -> io::Result<ExitCode> {
    args.window.check()?;
    let mut builder = args.rules.builder().trim_values(args.trim_values);
    if let Some(path) = &args.exclude {
        builder = builder.exclusions(path);
    }
    let set = args.rules.load_with(builder, Purpose::Run, ui)?;
    let hunt = Hunt::new(set).since(args.window.since).until(args.window.until);
    let output = HuntOutput { format: args.format, output: &args.output, html: args.html.as_deref(), search: false };
    #[cfg(feature = "spark")]
    if let Some(spark) = args.engine.options()? {
        if !args.paths.is_empty() {
            return Err(wrong("with --engine spark the events come from --table, not from paths".into()));
        }
        if args.engine.native() {
            if args.trim_values {
                return Err(wrong(
                    "--native does not take --trim-values: the executors match values as they are".into(),
                ));
            }
            let rows = args.engine.native_rows(&spark, &args.rules, args.window.time_window())?;
            let run = |hunt: &Hunt<'_>, sink: &mut dyn Sink| hunt.run_lake_rows(rows.batches, rows.events, sink);
            return execute(set, hunt, &output, &spark.table, ui, run);
        }
        return execute(set, hunt, &output, &spark.table, ui, |hunt, sink| hunt.run_on_spark(&spark, sink));
    }
    let inputs = progress::inputs(&args.paths);
    execute(set, hunt, &output, &args.paths.join(" "), ui, |hunt, sink| hunt.run(&inputs, sink))
}

/// How a hunt's results are written.
pub(crate) struct HuntOutput<'a> {
    pub format: HuntFormat,
    pub output: &'a OutputArgs,
    /// Also an HTML report to this file.
    pub html: Option<&'a Path>,
    /// The results of an ad-hoc search: rows without a rule's name.
    pub search: bool,
}

/// The writer of a format.
enum Printer<'r> {
    Text(Text<Box<dyn Write>>),
    Summary(RuleTable<'r, Box<dyn Write>>),
    Jsonl(JsonLines<Box<dyn Write>>),
    Csv(HitsOnly<Csv<Box<dyn Write>>>),
    Timeline(HitsOnly<Timeline<Box<dyn Write>>>),
    Timesketch(HitsOnly<Timesketch<Box<dyn Write>>>),
}

impl<'r> Printer<'r> {
    fn new(output: &HuntOutput, out: Out, set: &'r RuleSet) -> io::Result<Printer<'r>> {
        let (width, color) = (out.width, out.color);
        let out: Box<dyn Write> = Box::new(out.writer);
        Ok(match output.format {
            HuntFormat::Text => Printer::Text(Text::new(out, TextOptions { width, color })),
            HuntFormat::Summary => {
                let table = RuleTable::new(out, set, width);
                Printer::Summary(if output.search { table.untitled() } else { table })
            }
            HuntFormat::Jsonl => {
                let lines = JsonLines::new(out);
                Printer::Jsonl(if output.search { lines.without_rule() } else { lines })
            }
            HuntFormat::Csv => Printer::Csv(Csv::new(out)?),
            HuntFormat::Timeline => Printer::Timeline(Timeline::new(out)?),
            HuntFormat::Timesketch => Printer::Timesketch(Timesketch::new(out)),
        })
    }

    fn sink(&mut self) -> &mut dyn Sink {
        match self {
            Printer::Text(sink) => sink,
            Printer::Summary(sink) => sink,
            Printer::Jsonl(sink) => sink,
            Printer::Csv(sink) => sink,
            Printer::Timeline(sink) => sink,
            Printer::Timesketch(sink) => sink,
        }
    }

    /// What the format could not hold.
    fn unwritten(&self) -> Unwritten {
        match self {
            Printer::Text(_) | Printer::Summary(_) | Printer::Jsonl(_) => Unwritten::default(),
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
/// `output` says. Every output file is created first, so a path that cannot be written fails
/// before the hunt; `title` names what was hunted in the report.
pub(crate) fn execute<'r>(
    set: &'r RuleSet,
    hunt: Hunt<'r>,
    output: &HuntOutput,
    title: &str,
    ui: &Ui,
    run: impl FnOnce(&Hunt<'_>, &mut dyn Sink) -> Result<Summary, harrier::Error>,
) -> io::Result<ExitCode> {
    let mut report = match output.html {
        Some(path) => Some((HtmlReport::new(io::BufWriter::new(create(path)?), set, title), path)),
        None => None,
    };
    let mut printer = Printer::new(output, output.output.open(ui)?, set)?;
    let mut nowhere = Nowhere;
    let reported: &mut dyn Sink = match &mut report {
        Some((report, _)) => report,
        None => &mut nowhere,
    };
    let summary = hunt_with_progress(hunt, &mut Tee(printer.sink(), reported), ui, run)?;
    say_unwritten(printer.unwritten(), ui);
    if let (Some((report, path)), false) = (&report, ui.quiet) {
        eprintln!("harrier: report of {} written to {}", plural(report.len() as u64, "result"), path.display());
    }
    Ok(exit_code(&summary))
}

/// A sink whose first result clears the progress bar, so that results are not drawn over.
struct Clearing<'a, 's> {
    console: &'a Console,
    inner: &'s mut dyn Sink,
}

impl Sink for Clearing<'_, '_> {
    fn hit(&mut self, hit: &harrier::Hit<'_>) -> io::Result<Flow> {
        self.console.clear();
        self.inner.hit(hit)
    }

    fn correlation(&mut self, result: &harrier::CorrelationResult<'_>) -> io::Result<Flow> {
        self.console.clear();
        self.inner.correlation(result)
    }

    fn row(&mut self, row: &harrier::RowResult<'_>) -> io::Result<Flow> {
        self.console.clear();
        self.inner.row(row)
    }

    fn undecided(&mut self, undecided: &harrier::Undecided<'_>) -> io::Result<Flow> {
        self.inner.undecided(undecided)
    }

    fn finish(&mut self, summary: &Summary) -> io::Result<()> {
        self.console.clear();
        self.inner.finish(summary)
    }
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
    let set = hunt.rules();
    let hunt = hunt.max_record_bytes(ui.max_record_bytes).on_progress(|progress| console.on(progress));
    let summary = run(&hunt, &mut Clearing { console: &console, inner: sink }).map_err(into_io)?;
    if summary.from_files() {
        console.finish(&summary.read);
    } else {
        console.clear();
    }
    if !ui.quiet {
        say_found(&summary, set, ui);
    }
    Ok(summary)
}

/// The events rules could not decide (fields their source cannot carry): counted in one line,
/// named per rule with `-v`.
fn say_undecided(summary: &Summary, set: &RuleSet, ui: &Ui) {
    let events: u64 = summary.undecided.iter().map(|(_, events)| events).sum();
    if events == 0 {
        return;
    }
    eprintln!(
        "harrier: {} undecided by {}: they lack fields their source cannot carry (Security 4688 before \
         version 2 has no parent process), so neither hit nor miss{}; --unknown-fields absent gives every possible hit",
        plural(events, "event"),
        plural(summary.undecided.len() as u64, "rule"),
        if ui.verbose { "" } else { "; -v names the rules" }
    );
    if ui.verbose {
        for (key, events) in &summary.undecided {
            let meta = set.meta(*key);
            let id = meta.id.as_deref().unwrap_or("-");
            eprintln!("harrier: undecided: {} of {} ({id}, {})", plural(*events, "event"), meta.title, meta.source);
        }
    }
}

/// 1 when nothing could be read.
pub(crate) fn exit_code(summary: &Summary) -> ExitCode {
    if summary.nothing_read() { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}

/// Names what the chosen format left out.
fn say_unwritten(unwritten: Unwritten, ui: &Ui) {
    if ui.quiet {
        return;
    }
    if unwritten.untimed_hits > 0 {
        eprintln!(
            "harrier: {} have no timestamp and are not written (the format needs one)",
            plural(unwritten.untimed_hits, "hit")
        );
    }
    let left_out = [(unwritten.correlations, "correlation result"), (unwritten.rows, "SPL result row")];
    for (count, what) in left_out.into_iter().filter(|(count, _)| *count > 0) {
        eprintln!(
            "harrier: {} not written: this format holds hits only (--format jsonl or text has them)",
            plural(count, what)
        );
    }
}

/// `harrier: 12 hits from 3 rules, 1 correlation result, 4 SPL rows from 2 detections`;
/// exclusions and matches correlations could not place.
fn say_found(summary: &Summary, set: &RuleSet, ui: &Ui) {
    for (name, count) in &summary.excluded {
        eprintln!("harrier: exclusion `{name}` removed {}", plural(*count, "hit"));
    }
    if summary.untimed > 0 {
        eprintln!("harrier: {} have no timestamp and are left out of correlations", plural(summary.untimed, "match"));
    }
    if summary.unplaced > 0 {
        let events = plural(summary.unplaced, "event");
        eprintln!("harrier: left out {events} without a time (--since/--until cannot place them)");
    }
    say_undecided(summary, set, ui);
    let mut found = format!("harrier: {}", plural(summary.hits, "hit"));
    if summary.correlations > 0 {
        found += &format!(", {}", plural(summary.correlations, "correlation result"));
    }
    if summary.rows > 0 {
        found += &format!(", {} of SPL detections", plural(summary.rows, "result row"));
    }
    let rules = summary.per_rule.iter().filter(|(key, _)| !matches!(key, RuleKey::Correlation(_))).count();
    eprintln!("{found}; {} gave results", plural(rules as u64, "rule"));
}

/// A library error as the CLI reports it (a closed pipe stays one, so `| head` is quiet).
pub(crate) fn into_io(error: harrier::Error) -> io::Error {
    match error {
        harrier::Error::Sink(error) => error,
        harrier::Error::Options(why) => wrong(why),
        other => io::Error::other(other.to_string()),
    }
}
