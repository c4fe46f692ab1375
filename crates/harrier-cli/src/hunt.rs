//! `harrier hunt`: rules over logs, hits out.

use crate::exclude::Exclusions;
use crate::html;
use crate::progress::{self, Console, Ui};
use crate::rules::{RuleArgs, RuleSet};
use crate::timeline;
use clap::{Args, ValueEnum};
use harrier_correlate::{CorrelationHit, Observation};
use harrier_event::{Event, Timestamp};
use harrier_ir::{Annotation, Level, Rule, RuleMeta};
use harrier_pipeline::Row;
use harrier_read::ReadOptions;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
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
    #[arg(required_unless_present = "table", value_name = "PATH")]
    pub(crate) paths: Vec<String>,

    #[command(flatten)]
    rules: RuleArgs,

    /// Output format (default: table on a terminal, jsonl otherwise).
    #[arg(long, value_enum)]
    pub(crate) format: Option<HuntFormat>,

    /// Only rules of this level or above (informational, low, medium, high, critical).
    #[arg(long, value_name = "LEVEL", value_parser = parse_level)]
    min_level: Option<Level>,

    /// Only rules of these statuses (stable, test, experimental, ...); repeatable.
    #[arg(long, value_name = "STATUS")]
    status: Vec<String>,

    /// Only rules with this tag or a tag under it (`attack.t1059` takes `attack.t1059.001`);
    /// repeatable.
    #[arg(long, value_name = "TAG")]
    tag: Vec<String>,

    /// Only events at or after this time (RFC 3339, or `YYYY-MM-DD HH:MM:SS` in UTC).
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub(crate) from: Option<Timestamp>,

    /// Only events at or before this time.
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub(crate) to: Option<Timestamp>,

    /// Ignore white space around values when matching (Sigma compares values as they are).
    #[arg(long)]
    trim_values: bool,

    /// Take out known-benign hits: a YAML file of exclusions, each a rule id (`rule:`) and
    /// optionally field conditions in Sigma detection syntax (`detection:`), for Sigma and
    /// ESCU rules alike. The summary says how many hits each removed.
    #[arg(long, value_name = "FILE")]
    exclude: Option<std::path::PathBuf>,

    /// Also write an HTML report to FILE: one self-contained page with totals by level, the
    /// ATT&CK matrix as a heat map, a timeline, top rules/hosts/users/processes and a
    /// sortable, filterable table of every hit with its event and false-positive notes.
    #[arg(long, value_name = "FILE")]
    html: Option<std::path::PathBuf>,

    #[command(flatten)]
    pub(crate) engine: EngineArgs,
}

/// Where the rules run.
#[derive(Args, Clone)]
#[command(next_help_heading = "Running on Apache Spark (build with --features spark)")]
pub(crate) struct EngineArgs {
    /// local: this process reads the logs; spark: a Spark cluster runs the rules as Spark
    /// SQL over a Parquet lake (`harrier ingest`) and sends back the hits and rows.
    #[arg(long = "engine", value_enum, default_value_t = EngineKind::Local)]
    pub kind: EngineKind,

    /// The Spark Connect server.
    #[arg(long, value_name = "URL", default_value = "sc://127.0.0.1:15002")]
    pub connect: String,

    /// The events Sigma rules read on Spark: a lake directory `harrier ingest` wrote (a path
    /// the cluster sees: local, hdfs://, s3a://) or a table name.
    #[arg(long, value_name = "PATH_OR_TABLE")]
    pub table: Option<String>,

    /// The events ESCU detections read on Spark: a lake `harrier ingest --view splunk` wrote
    /// (default: --table).
    #[arg(long, value_name = "PATH_OR_TABLE")]
    pub splunk_table: Option<String>,

    /// Rules Spark SQL cannot express: skip them (each is named), or run them here on the
    /// candidate rows the cluster sends back (`local`).
    #[arg(long, value_enum, default_value_t = Fallback::Skip)]
    pub fallback: Fallback,

    /// Sigma rules tested per scan of the lake. Spark plans and compiles a query as a whole:
    /// one with thousands of rules outgrows code generation and executor memory.
    #[arg(long, default_value_t = 100, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub rules_per_scan: u16,
}

impl EngineArgs {
    /// The options as a command line without them gives them (the embedded engine).
    fn local() -> EngineArgs {
        #[derive(clap::Parser)]
        struct Defaults {
            #[command(flatten)]
            engine: EngineArgs,
        }
        <Defaults as clap::Parser>::parse_from(["harrier"]).engine
    }
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum EngineKind {
    Local,
    Spark,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Fallback {
    Skip,
    Local,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum HuntFormat {
    /// Nothing on standard output (for commands that only want the tallies).
    #[value(skip)]
    Silent,
    Table,
    Jsonl,
    Csv,
    /// CSV for Timeline Explorer: time, host, channel, event id, rule, ATT&CK, details.
    Timeline,
    /// JSON lines Timesketch imports (`message`, `datetime`, `timestamp_desc`).
    Timesketch,
}

fn parse_level(text: &str) -> Result<Level, String> {
    text.parse()
}

fn parse_time(text: &str) -> Result<Timestamp, String> {
    Timestamp::parse(text).ok_or_else(|| format!("`{text}` is not a time (use 2024-05-01T13:00:00Z)"))
}

impl HuntArgs {
    /// The options of a hunt that runs one ad-hoc search.
    pub(crate) fn for_search(paths: Vec<String>, format: Option<HuntFormat>) -> HuntArgs {
        HuntArgs {
            paths,
            rules: RuleArgs {
                rules: Vec::new(),
                macros: Vec::new(),
                lookups: Vec::new(),
                vars: None,
                logsource_map: None,
            },
            format,
            min_level: None,
            status: Vec::new(),
            tag: Vec::new(),
            from: None,
            to: None,
            trim_values: false,
            exclude: None,
            html: None,
            engine: EngineArgs::local(),
        }
    }

    fn selects(&self, meta: &RuleMeta) -> bool {
        let level = self.min_level.is_none_or(|min| meta.level >= min);
        let status = self.status.is_empty()
            || meta
                .status
                .is_some_and(|status| self.status.iter().any(|wanted| wanted.eq_ignore_ascii_case(status.name())));
        let tag = self.tag.is_empty()
            || self.tag.iter().any(|wanted| {
                let wanted = wanted.to_ascii_lowercase();
                meta.tags.iter().any(|tag| {
                    let tag = tag.to_ascii_lowercase();
                    tag == wanted || tag.starts_with(&format!("{wanted}."))
                })
            });
        level && status && tag
    }

    fn in_time(&self, event: &Event) -> bool {
        if self.from.is_none() && self.to.is_none() {
            return true;
        }
        event
            .timestamp()
            .is_some_and(|time| self.from.is_none_or(|from| time >= from) && self.to.is_none_or(|to| time <= to))
    }
}

/// What every output line says of its rule.
#[derive(Serialize)]
struct RuleFields<'a> {
    rule_id: Option<&'a str>,
    rule_title: &'a str,
    level: &'a str,
    status: Option<&'a str>,
    techniques: &'a [String],
    /// ATT&CK names of the techniques, in the same order (`null` for an id ATT&CK lacks).
    technique_names: Vec<Option<&'static str>>,
    tactics: &'a [String],
    false_positives: &'a [String],
    rule_file: String,
    /// The rule language's own metadata (ESCU: type, analytic_story, confidence, impact,
    /// risk_score); absent for Sigma rules.
    #[serde(skip_serializing_if = "serde_json::Map::is_empty")]
    annotations: serde_json::Map<String, serde_json::Value>,
}

impl<'a> RuleFields<'a> {
    fn of(meta: &'a RuleMeta) -> RuleFields<'a> {
        RuleFields {
            rule_id: meta.id.as_deref(),
            rule_title: &meta.title,
            level: meta.level.name(),
            status: meta.status.map(|status| status.name()),
            techniques: &meta.techniques,
            technique_names: meta
                .techniques
                .iter()
                .map(|id| harrier_attack::Attack::get().technique(id).map(|technique| technique.name.as_str()))
                .collect(),
            tactics: &meta.tactics,
            false_positives: &meta.false_positives,
            rule_file: meta.source.to_string(),
            annotations: meta
                .annotations
                .iter()
                .map(|(key, value)| {
                    let value = match value {
                        Annotation::Text(text) => serde_json::json!(text),
                        Annotation::Number(number) => serde_json::json!(number),
                        Annotation::List(items) => serde_json::json!(items),
                    };
                    (key.clone(), value)
                })
                .collect(),
        }
    }
}

/// One hit as a JSON line: the stable output contract.
#[derive(Serialize)]
struct HitLine<'a> {
    timestamp: Option<Timestamp>,
    #[serde(flatten)]
    rule: RuleFields<'a>,
    source_file: &'a str,
    record_id: u64,
    event: harrier_event::FieldsMap<'a>,
}

/// What one batch of events gave: output text, the hits for the summary, and what the
/// correlations keep.
struct BatchHits {
    text: Vec<u8>,
    hits: Vec<(usize, Option<Timestamp>, Seen)>,
    observations: Vec<(usize, Observation)>,
    /// Matches correlations would keep but cannot, having no timestamp.
    untimed: u64,
    /// SPL rows: (runner, feed, row).
    rows: Vec<(usize, usize, Row)>,
    /// The exclusion behind each hit taken out.
    excluded: Vec<usize>,
    /// Hits for the HTML report (with `--html`).
    report: Vec<harrier_report::Hit>,
}

/// An SPL result row as a JSON line.
#[derive(Serialize)]
struct RowLine<'a> {
    r#type: &'static str,
    #[serde(flatten)]
    rule: RuleFields<'a>,
    /// The logs whose events made the row.
    source_files: Vec<&'a str>,
    row: RowMap<'a>,
}

/// A row's fields as a JSON object, in order (the internal data model list left out).
struct RowMap<'a>(&'a Row);

impl Serialize for RowMap<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        for (name, value) in &self.0.fields {
            if &**name != harrier_cim::DATAMODEL_FIELD {
                map.serialize_entry(&**name, value)?;
            }
        }
        map.end()
    }
}

/// The result of one SPL detection.
struct SplResult {
    runner: usize,
    aggregates: bool,
    rows: Vec<Row>,
}

/// A correlation result as a JSON line.
#[derive(Serialize)]
struct CorrelationLine<'a> {
    r#type: &'static str,
    timestamp: Timestamp,
    #[serde(flatten)]
    rule: RuleFields<'a>,
    correlation_type: &'static str,
    group: serde_json::Map<String, serde_json::Value>,
    value: f64,
    first: Timestamp,
    last: Timestamp,
    events: Vec<serde_json::Value>,
}

/// Hits of one rule over the whole run.
#[derive(Default, Clone)]
struct RuleHits {
    count: u64,
    first: Option<Timestamp>,
    last: Option<Timestamp>,
    hosts: BTreeSet<String>,
    processes: BTreeMap<(&'static str, String), u64>,
}

/// The host and process of one hit, for the noise ranking.
type Seen = (Option<String>, Option<(&'static str, String)>);

fn seen(get: &dyn Fn(&str) -> Option<String>) -> Seen {
    use harrier_report::actors::{HOST_FIELDS, PROCESS_FIELDS, first_of};
    (first_of(HOST_FIELDS, get).map(|(_, host)| host), first_of(PROCESS_FIELDS, get))
}

/// What a hunt found per rule (both languages): for `coverage --logs` and `noise`.
pub(crate) struct Tally {
    pub title: String,
    pub id: Option<String>,
    pub techniques: Vec<String>,
    pub hits: u64,
    pub hosts: BTreeSet<String>,
    /// Hits per (field, process): the field is where the process was found.
    pub processes: BTreeMap<(&'static str, String), u64>,
}

impl Tally {
    /// The process with the most hits (ties: the first by name), with the field it was in.
    pub fn top_process(&self) -> Option<(&'static str, &str, u64)> {
        let most = self.processes.iter().max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))?;
        let ((field, process), count) = most;
        Some((field, process.as_str(), *count))
    }
}

impl RuleHits {
    fn add(&mut self, time: Option<Timestamp>, (host, process): Seen) {
        self.count += 1;
        self.first = earliest(self.first, time);
        self.last = self.last.max(time);
        self.hosts.extend(host);
        if let Some(process) = process {
            *self.processes.entry(process).or_default() += 1;
        }
    }
}

pub fn run(args: &HuntArgs, ui: &Ui) -> std::io::Result<ExitCode> {
    let mut set = RuleSet::load_selected(&args.rules, &|meta| args.selects(meta)).map_err(std::io::Error::other)?;
    set.engine.set_trim_values(args.trim_values);
    report_rules(&set);
    execute(set, args, ui)
}

/// Hunts with loaded rules (also `harrier search`'s one query).
pub(crate) fn execute(set: RuleSet, args: &HuntArgs, ui: &Ui) -> std::io::Result<ExitCode> {
    hunt(set, args, ui).map(|(code, _)| code)
}

/// Hunts and gives what each rule found.
pub(crate) fn hunt(mut set: RuleSet, args: &HuntArgs, ui: &Ui) -> std::io::Result<(ExitCode, Vec<Tally>)> {
    let exclusions = match &args.exclude {
        Some(path) => Exclusions::load(path).map_err(std::io::Error::other)?,
        None => Exclusions::none(),
    };
    let mut excluded = vec![0u64; exclusions.names.len()];
    let mut runners = std::mem::take(&mut set.spl.runners);
    let format = progress::default_format(args.format, HuntFormat::Table, HuntFormat::Jsonl);
    let inputs = progress::inputs(&args.paths);
    let mut console = Console::new(ui);
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match format {
        HuntFormat::Csv => out.write_all(&csv_header())?,
        HuntFormat::Timeline => out.write_all(&timeline::timeline_header())?,
        _ => {}
    }
    let mut per_rule = vec![RuleHits::default(); set.active.len()];
    let mut report = html::new_report(&set);
    let suppressed: Vec<bool> = (0..set.active.len()).map(|rule| set.correlator.suppresses(rule)).collect();
    let mut correlator_input = Vec::new();
    let mut untimed = 0;
    let mut written: std::io::Result<()> = Ok(());
    let spark = match args.engine.kind {
        EngineKind::Local => None,
        EngineKind::Spark => Some(on_spark(&set, &mut runners, args)?),
    };
    let mut sink = |batch: BatchHits| {
        if written.is_ok() {
            written = out.write_all(&batch.text);
        }
        correlator_input.extend(batch.observations);
        untimed += batch.untimed;
        for exclusion in batch.excluded {
            excluded[exclusion] += 1;
        }
        for (runner, feed, row) in batch.rows {
            runners[runner].accept(feed, row);
        }
        for (rule, time, seen) in batch.hits {
            per_rule[rule].add(time, seen);
        }
        for hit in batch.report {
            report.add(hit);
        }
    };
    let summary = match &spark {
        None => {
            let local = |_: usize, event: &Event, matched: &mut Vec<usize>, rows: &mut Vec<(usize, usize, Row)>| {
                if !set.spl.is_empty() {
                    set.spl.rows(event, matched, rows);
                }
                matched.clear();
                set.engine.matches(event, matched);
            };
            let map = |batch: harrier_read::Batch| {
                hits_of(&batch.events, &local, &set, &suppressed, args, format, &exclusions)
            };
            Some(harrier_read::read(&inputs, &ReadOptions::default(), map, &mut sink, &mut console))
        }
        Some(run) => {
            run.feed(&set, &mut |events, matches| {
                sink(hits_of(events, matches, &set, &suppressed, args, format, &exclusions))
            });
            None
        }
    };
    written?;
    for (correlation, observation) in correlator_input {
        set.correlator.add(correlation, observation);
    }
    let correlation_hits = set.correlator.finish();
    let spark_events = spark.as_ref().map_or(0, |run| run.table_events);
    let spl_results: Vec<SplResult> = match spark {
        None => runners
            .iter_mut()
            .enumerate()
            .map(|(runner, pipeline)| SplResult { runner, aggregates: pipeline.aggregates(), rows: pipeline.finish() })
            .collect(),
        Some(run) => run
            .spl_rows
            .into_iter()
            .enumerate()
            .map(|(runner, rows)| SplResult { runner, aggregates: runners[runner].aggregates(), rows })
            .collect(),
    };
    let spl_results = exclude_rows(spl_results, &set, &exclusions, &mut excluded);
    for (name, count) in exclusions.names.iter().zip(&excluded) {
        eprintln!("harrier: exclusion `{name}` removed {count} hits");
    }
    if untimed > 0 {
        eprintln!("harrier: {untimed} matches have no timestamp and are left out of correlations");
    }
    match format {
        HuntFormat::Table => {
            if !set.active.is_empty() {
                write_summary(&mut out, &set, &per_rule, &correlation_hits)?;
            }
            write_spl_tables(&mut out, &set, &spl_results)?;
        }
        HuntFormat::Jsonl => {
            for hit in &correlation_hits {
                serde_json::to_writer(&mut out, &correlation_line(&set, hit))?;
                writeln!(out)?;
            }
            write_spl_lines(&mut out, &set, &spl_results)?;
        }
        HuntFormat::Silent => {}
        HuntFormat::Csv | HuntFormat::Timeline | HuntFormat::Timesketch => {
            if spl_results.iter().any(|result| !result.rows.is_empty()) {
                eprintln!("harrier: SPL result rows are not written in this format; use --format jsonl or table");
            }
        }
    }
    out.flush()?;
    if let Some(summary) = &summary {
        console.finish(summary);
    }
    let total: u64 = per_rule.iter().map(|hits| hits.count).sum();
    let rules_hit = per_rule.iter().filter(|hits| hits.count > 0).count();
    if !ui.quiet {
        let spl_rows: usize = spl_results.iter().map(|result| result.rows.len()).sum();
        let spl_hit = spl_results.iter().filter(|result| !result.rows.is_empty()).count();
        eprintln!(
            "harrier: {total} hits from {rules_hit} rules, {} correlation results, {spl_rows} SPL results from {spl_hit} detections",
            correlation_hits.len()
        );
    }
    if let Some(path) = &args.html {
        html::add_correlations(&mut report, &set, &correlation_hits);
        html::add_rows(&mut report, &set, spl_results.iter().map(|result| (result.runner, result.rows.as_slice())));
        let facts = harrier_report::RunFacts {
            generated: html::now(),
            files: summary.as_ref().map_or(0, |summary| summary.files.len() as u64),
            events: summary.as_ref().map_or(spark_events, |summary| summary.events()),
            rules: set.active.len() + runners.len(),
            skipped: summary.as_ref().and_then(skipped_text),
        };
        html::write(&report, path, &args.paths, &facts)?;
    }
    let code =
        if summary.is_some_and(|summary| summary.nothing_read()) { ExitCode::FAILURE } else { ExitCode::SUCCESS };
    Ok((code, tallies(&set, per_rule, &correlation_hits, &spl_results)))
}

/// Per rule of each kind: detection hits, one per correlation result, and SPL rows (a stats
/// row counts as the events it counted).
fn tallies(
    set: &RuleSet,
    per_rule: Vec<RuleHits>,
    correlation_hits: &[CorrelationHit],
    spl_results: &[SplResult],
) -> Vec<Tally> {
    let tally = |meta: &RuleMeta, hits: RuleHits| Tally {
        title: meta.title.clone(),
        id: meta.id.clone(),
        techniques: meta.techniques.clone(),
        hits: hits.count,
        hosts: hits.hosts,
        processes: hits.processes,
    };
    let mut tallies: Vec<Tally> =
        per_rule.into_iter().enumerate().map(|(rule, hits)| tally(&set.rule(rule).meta, hits)).collect();
    let mut per_correlation: BTreeMap<usize, RuleHits> = BTreeMap::new();
    for hit in correlation_hits {
        let group = |field: &str| hit.group.iter().find(|(name, _)| name == field).and_then(|(_, value)| value.clone());
        per_correlation.entry(hit.correlation).or_default().add(Some(hit.last), seen(&group));
    }
    for (correlation, hits) in per_correlation {
        tallies.push(tally(&set.correlator.correlation(correlation).meta, hits));
    }
    for result in spl_results {
        let mut hits = RuleHits::default();
        for row in &result.rows {
            let text = |field: &str| row.text(field).map(|text| text.into_owned());
            let weight = row.get("count").and_then(|count| count.as_i64()).filter(|_| result.aggregates).unwrap_or(1);
            for _ in 0..weight.max(1) {
                hits.add(None, seen(&text));
            }
        }
        tallies.push(tally(&set.spl.detection(result.runner).meta, hits));
    }
    tallies
}

/// What reading skipped, for the report's header; none when nothing was.
fn skipped_text(summary: &harrier_read::Summary) -> Option<String> {
    let parts = [
        (summary.skipped_records(), "records"),
        (summary.skipped_chunks(), "chunks"),
        (summary.failed_files() as u64, "unreadable files"),
    ];
    let parts: Vec<String> =
        parts.iter().filter(|(count, _)| *count > 0).map(|(count, what)| format!("{count} {what}")).collect();
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// Says on stderr how many rules run, and names each one that cannot.
fn report_rules(set: &RuleSet) {
    if let Some(error) = &set.correlation_error {
        eprintln!("harrier: correlations not run: {error}");
    }
    for (file, why) in &set.library_problems {
        eprintln!("harrier: cannot read {file}: {why}");
    }
    for index in 0..set.len() {
        let status = set.status(index);
        if status.status == "failed" {
            eprintln!(
                "harrier: rule not loaded: {}:{} {}: {}",
                status.file,
                status.line,
                status.id.unwrap_or("-"),
                status.reason.as_deref().unwrap_or("")
            );
        }
    }
    eprintln!(
        "harrier: {} rules run ({} inactive for Windows logs or deprecated, {} not selected, {} failed to load)",
        set.active.len() + set.spl.runners.len(),
        set.count("inactive"),
        set.count("not selected"),
        set.count("failed")
    );
}

/// The earlier of two times, either of which may be unknown.
fn earliest(a: Option<Timestamp>, b: Option<Timestamp>) -> Option<Timestamp> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// What a hunt on Spark found (`crate::spark`).
pub(crate) struct SparkRun {
    /// The events the cluster sent back, in (source file, record) order.
    pub events: Vec<Event>,
    /// For each event: the Sigma rules (engine numbers) it matched there, and whether rules
    /// that run here must look at it.
    pub verdicts: Vec<(Vec<usize>, bool)>,
    /// The Sigma rules that run here, on candidate rows (`--fallback local`).
    pub local_rules: Vec<bool>,
    /// Rows per SPL runner.
    pub spl_rows: Vec<Vec<Row>>,
    /// Events in the table the Sigma rules read.
    pub table_events: u64,
}

impl SparkRun {
    /// Feeds the events back in batches, each with what decides the rules they match.
    fn feed(&self, set: &RuleSet, feed: &mut dyn FnMut(&[Event], &Matcher)) {
        const BATCH: usize = 4096;
        for (events, verdicts) in self.events.chunks(BATCH).zip(self.verdicts.chunks(BATCH)) {
            let matches = |at: usize, event: &Event, matched: &mut Vec<usize>, _: &mut Vec<(usize, usize, Row)>| {
                let (rules, check_locally) = &verdicts[at];
                matched.clear();
                matched.extend(rules);
                if *check_locally {
                    let mut here = Vec::new();
                    set.engine.matches(event, &mut here);
                    matched.extend(here.into_iter().filter(|rule| self.local_rules[*rule]));
                    matched.sort_unstable();
                    matched.dedup();
                }
            };
            feed(events, &matches);
        }
    }
}

#[cfg(feature = "spark")]
fn on_spark(set: &RuleSet, runners: &mut [harrier_pipeline::Runner], args: &HuntArgs) -> std::io::Result<SparkRun> {
    if !args.paths.is_empty() {
        return Err(std::io::Error::other("with --engine spark the events come from --table, not from paths"));
    }
    let time_filter = crate::spark::time_filter(args.from, args.to);
    crate::spark::hunt(set, runners, &args.engine, time_filter).map_err(std::io::Error::other)
}

#[cfg(not(feature = "spark"))]
fn on_spark(_: &RuleSet, _: &mut [harrier_pipeline::Runner], _: &HuntArgs) -> std::io::Result<SparkRun> {
    Err(std::io::Error::other(
        "this harrier was built without Spark: cargo build --release -p harrier-cli --features spark",
    ))
}

/// Sets the rules an event (its number in the batch) matches and adds the SPL rows it gives.
type Matcher<'a> = dyn Fn(usize, &Event, &mut Vec<usize>, &mut Vec<(usize, usize, Row)>) + Sync + 'a;

fn hits_of(
    events: &[Event],
    matches: &Matcher,
    set: &RuleSet,
    suppressed: &[bool],
    args: &HuntArgs,
    format: HuntFormat,
    exclusions: &Exclusions,
) -> BatchHits {
    let mut batch = BatchHits {
        text: Vec::new(),
        hits: Vec::new(),
        observations: Vec::new(),
        untimed: 0,
        rows: Vec::new(),
        excluded: Vec::new(),
        report: Vec::new(),
    };
    let mut matched = Vec::new();
    for (at, event) in events.iter().enumerate().filter(|(_, event)| args.in_time(event)) {
        matches(at, event, &mut matched, &mut batch.rows);
        for &rule in &matched {
            if !exclusions.is_empty()
                && let Some(exclusion) = exclusions.excluding(set.rule(rule).meta.id.as_deref(), event)
            {
                batch.excluded.push(exclusion);
                continue;
            }
            if !set.correlator.is_empty() {
                match set.correlator.observe(rule, event) {
                    Some(kept) => batch.observations.extend(kept),
                    None => batch.untimed += 1,
                }
            }
            if suppressed[rule] {
                continue;
            }
            batch.hits.push((rule, event.timestamp(), seen(&|field| event.text(field).map(|text| text.into_owned()))));
            if args.html.is_some() {
                batch.report.push(html::event_hit(rule, event));
            }
            match format {
                HuntFormat::Jsonl => write_json_line(&mut batch.text, set.rule(rule), event),
                HuntFormat::Csv => write_csv_row(&mut batch.text, set.rule(rule), event),
                HuntFormat::Timeline => timeline::write_timeline_row(&mut batch.text, set.rule(rule), event),
                HuntFormat::Timesketch => {
                    if !timeline::write_timesketch_line(&mut batch.text, set.rule(rule), event) {
                        batch.untimed += 1;
                    }
                }
                HuntFormat::Table | HuntFormat::Silent => {}
            }
        }
    }
    batch
}

fn write_json_line(text: &mut Vec<u8>, rule: &Rule, event: &Event) {
    let meta = &rule.meta;
    let line = HitLine {
        timestamp: event.timestamp(),
        rule: RuleFields::of(meta),
        source_file: &event.source().path,
        record_id: event.record_id(),
        event: event.fields_map(),
    };
    serde_json::to_writer(&mut *text, &line).expect("a hit serializes to JSON");
    text.push(b'\n');
}

const CSV_COLUMNS: [&str; 11] = [
    "timestamp",
    "rule_id",
    "rule_title",
    "level",
    "techniques",
    "tactics",
    "computer",
    "channel",
    "event_id",
    "source_file",
    "record_id",
];

fn csv_header() -> Vec<u8> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    // Writing to memory cannot fail.
    writer.write_record(CSV_COLUMNS).expect("in memory");
    writer.into_inner().expect("in memory")
}

fn write_csv_row(text: &mut Vec<u8>, rule: &Rule, event: &Event) {
    let meta = &rule.meta;
    let row = [
        event.timestamp().map(|time| time.to_string()).unwrap_or_default(),
        meta.id.clone().unwrap_or_default(),
        meta.title.clone(),
        meta.level.name().to_owned(),
        meta.techniques.join(";"),
        meta.tactics.join(";"),
        event.computer().unwrap_or_default().to_owned(),
        event.channel().unwrap_or_default().to_owned(),
        event.event_id().map(|id| id.to_string()).unwrap_or_default(),
        event.source().path.clone(),
        event.record_id().to_string(),
    ];
    let mut writer = csv::Writer::from_writer(std::mem::take(text));
    writer.write_record(&row).expect("in memory");
    *text = writer.into_inner().expect("in memory");
}

fn correlation_line<'a>(set: &'a RuleSet, hit: &CorrelationHit) -> CorrelationLine<'a> {
    let correlation = set.correlator.correlation(hit.correlation);
    let meta = &correlation.meta;
    let group = hit.group.iter().map(|(field, value)| (field.clone(), serde_json::json!(value))).collect();
    let events = hit
        .events
        .iter()
        .map(|event| serde_json::json!({"source_file": event.source_file, "record_id": event.record_id, "rule": event.rule}))
        .collect();
    CorrelationLine {
        r#type: "correlation",
        timestamp: hit.last,
        rule: RuleFields::of(meta),
        correlation_type: correlation.kind.name(),
        group,
        value: hit.value,
        first: hit.first,
        last: hit.last,
        events,
    }
}

/// Hits per rule, most severe first, then most hits; then the correlation results.
fn write_summary(
    out: &mut impl Write,
    set: &RuleSet,
    per_rule: &[RuleHits],
    correlation_hits: &[CorrelationHit],
) -> std::io::Result<()> {
    let mut rows: Vec<(usize, &RuleHits)> = per_rule.iter().enumerate().filter(|(_, hits)| hits.count > 0).collect();
    rows.sort_by(|a, b| {
        set.rule(b.0).meta.level.cmp(&set.rule(a.0).meta.level).then(b.1.count.cmp(&a.1.count)).then(a.0.cmp(&b.0))
    });
    writeln!(
        out,
        "{:>7}  {:<13} {:<60} {:<24} {:<28} {:<20} {:<20}",
        "HITS", "LEVEL", "RULE", "TECHNIQUES", "TACTICS", "FIRST", "LAST"
    )?;
    let time = |time: Option<Timestamp>| time.map(|time| time.to_string()[..19].replace('T', " ")).unwrap_or_default();
    for (rule, hits) in rows {
        let meta = &set.rule(rule).meta;
        writeln!(
            out,
            "{:>7}  {:<13} {:<60} {:<24} {:<28} {:<20} {:<20}",
            hits.count,
            meta.level.name(),
            cut(&meta.title, 60),
            cut(&meta.techniques.join(","), 24),
            cut(&meta.tactics.join(","), 28),
            time(hits.first),
            time(hits.last)
        )?;
    }
    for hit in correlation_hits {
        let meta = &set.correlator.correlation(hit.correlation).meta;
        let group: Vec<String> =
            hit.group.iter().map(|(field, value)| format!("{field}={}", value.as_deref().unwrap_or(""))).collect();
        writeln!(
            out,
            "{:>7}  {:<13} {:<60} {:<24} {:<28} {:<20} {:<20}",
            format!("[{}]", hit.value),
            meta.level.name(),
            cut(&format!("{} ({})", meta.title, group.join(" ")), 60),
            cut(&meta.techniques.join(","), 24),
            cut(&meta.tactics.join(","), 28),
            time(Some(hit.first)),
            time(Some(hit.last))
        )?;
    }
    Ok(())
}

fn cut(text: &str, width: usize) -> String {
    match text.char_indices().nth(width) {
        Some((end, _)) => format!("{}…", &text[..end - text[..end].chars().last().map_or(0, char::len_utf8)]),
        None => text.to_owned(),
    }
}

/// SPL results without the rows exclusions take out (a row is tested with its fields).
fn exclude_rows(
    results: Vec<SplResult>,
    set: &RuleSet,
    exclusions: &Exclusions,
    excluded: &mut [u64],
) -> Vec<SplResult> {
    if exclusions.is_empty() {
        return results;
    }
    results
        .into_iter()
        .map(|mut result| {
            let id = set.spl.detection(result.runner).meta.id.as_deref();
            result.rows.retain(|row| match exclusions.excluding(id, &row.to_event()) {
                Some(exclusion) => {
                    excluded[exclusion] += 1;
                    false
                }
                None => true,
            });
            result
        })
        .collect()
}

/// SPL results as JSON lines: rows of aggregating detections, events of the others.
fn write_spl_lines(out: &mut impl Write, set: &RuleSet, results: &[SplResult]) -> std::io::Result<()> {
    for result in results {
        let meta = &set.spl.detection(result.runner).meta;
        for row in &result.rows {
            match &row.origin {
                Some(origin) if !result.aggregates => {
                    let line = EventRowLine {
                        timestamp: origin.timestamp,
                        rule: RuleFields::of(meta),
                        source_file: &origin.source.path,
                        record_id: origin.record_id,
                        event: RowMap(row),
                    };
                    serde_json::to_writer(&mut *out, &line)?;
                }
                _ => {
                    let sources = row.sources.iter().map(|source| source.path.as_str()).collect();
                    let line =
                        RowLine { r#type: "row", rule: RuleFields::of(meta), source_files: sources, row: RowMap(row) };
                    serde_json::to_writer(&mut *out, &line)?;
                }
            }
            writeln!(out)?;
        }
    }
    Ok(())
}

/// An event an SPL detection without aggregation kept: the hit contract, with the event's
/// fields as SPL sees them.
#[derive(Serialize)]
struct EventRowLine<'a> {
    timestamp: Option<Timestamp>,
    #[serde(flatten)]
    rule: RuleFields<'a>,
    source_file: &'a str,
    record_id: u64,
    event: RowMap<'a>,
}

/// Each SPL detection's rows as a table under its title.
fn write_spl_tables(out: &mut impl Write, set: &RuleSet, results: &[SplResult]) -> std::io::Result<()> {
    const WIDTH: usize = 40;
    for result in results.iter().filter(|result| !result.rows.is_empty()) {
        let meta = &set.spl.detection(result.runner).meta;
        writeln!(out, "\n{} [{}] {} rows", meta.title, meta.level.name(), result.rows.len())?;
        let mut columns: Vec<&str> = Vec::new();
        for row in &result.rows {
            for (name, _) in &row.fields {
                if !columns.contains(&&**name) && &**name != harrier_cim::DATAMODEL_FIELD {
                    columns.push(name);
                }
            }
        }
        let cell = |row: &Row, column: &str| {
            cut(&row.get(column).map(harrier_pipeline::display).unwrap_or_default().replace('\n', " | "), WIDTH)
        };
        let widths: Vec<usize> = columns
            .iter()
            .map(|column| {
                result
                    .rows
                    .iter()
                    .map(|row| cell(row, column).chars().count())
                    .chain([column.len().min(WIDTH)])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let line = |cells: Vec<String>| {
            cells.iter().zip(&widths).map(|(text, width)| format!("{text:<width$}")).collect::<Vec<_>>().join("  ")
        };
        writeln!(out, "{}", line(columns.iter().map(|column| cut(column, WIDTH)).collect()).trim_end())?;
        for row in &result.rows {
            writeln!(out, "{}", line(columns.iter().map(|column| cell(row, column)).collect()).trim_end())?;
        }
    }
    Ok(())
}
