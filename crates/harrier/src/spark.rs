//! Hunting on Spark (feature `spark`): the rule set as Spark SQL on a Spark Connect cluster,
//! over a Parquet lake; the results come back to the hunt's sink as the embedded engine's do.
//!
//! Sigma rules: all of them tested in one scan of the lake (or one per `--rules-per-scan`
//! rules), each event the scan returns flagged with the rules it matched. ESCU detections:
//! one aggregate query each (`stats` as GROUP BY) over the Splunk-view lake. A rule Spark SQL
//! cannot express is named; with `--fallback local` its candidate rows (the rule with the
//! tests SQL lacks taken as passing) come back and the embedded engine decides.

use crate::Error;
use crate::hunt::{Hunt, Matcher, Progress, Run, SplRow};
use crate::packed::unpack_rule;
use crate::results::Summary;
use crate::rules::RuleSet;
use crate::sink::Sink;
use harrier_convert::{Dialect, Options, Profile, Target};
use harrier_event::{Event, SourceFile, TimeWindow, Timestamp};
use harrier_pipeline::Row;
use harrier_spark::{Cluster, Names, RuleCondition, Source, Storage};
use harrier_spl::escu::Outcome;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

/// Where and how a hunt runs on Spark.
#[derive(Debug, Clone)]
pub struct SparkOptions {
    /// The Spark Connect server (`sc://host:15002`).
    pub connect: String,
    /// The events Sigma rules read: a lake directory `harrier ingest` wrote (a path the
    /// cluster sees) or a table name.
    pub table: String,
    /// The events ESCU detections read: a lake `harrier ingest --view splunk` wrote (default:
    /// `table`).
    pub splunk_table: Option<String>,
    /// What happens to rules Spark SQL cannot express.
    pub fallback: Fallback,
    /// Sigma rules tested per scan of the lake: Spark plans and compiles a query as a whole,
    /// and one with thousands of rules outgrows code generation and executor memory.
    pub rules_per_scan: usize,
    /// Longest any call to the server may wait for its answer (a query included); a server
    /// that stops listening ends the hunt at once.
    pub timeout: std::time::Duration,
}

impl SparkOptions {
    pub fn new(connect: impl Into<String>, table: impl Into<String>) -> SparkOptions {
        SparkOptions {
            connect: connect.into(),
            table: table.into(),
            splunk_table: None,
            fallback: Fallback::Skip,
            rules_per_scan: 100,
            timeout: std::time::Duration::from_secs(1800),
        }
    }
}

/// Rules Spark SQL cannot express.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fallback {
    /// Not run; each is named.
    Skip,
    /// Run here on the candidate rows the cluster sends back (the events the rule could
    /// match, with the tests SQL lacks taken as passing).
    Local,
}

impl Hunt<'_> {
    /// Hunts a lake on a Spark cluster: the rules run there as Spark SQL, and what they find
    /// comes back to the sink in the order the embedded engine gives.
    pub fn run_on_spark(&self, options: &SparkOptions, sink: &mut dyn Sink) -> Result<Summary, Error> {
        self.check()?;
        let note = |text: &str| self.progress_callback(Progress::Note(text));
        let found = hunt(self.rules, options, time_filter(self.window), &note).map_err(Error::Spark)?;
        let mut run = Run::new(self, sink);
        found.feed(self.rules, &mut |events, matches| {
            let matched = self.match_events(events, matches);
            run.accept(events, matched);
        });
        run.summary.events = found.table_events;
        run.finish(Some(found.spl_rows))
    }
}

/// What a hunt on Spark found.
struct SparkRun {
    /// The events the cluster sent back, in (source file, record) order.
    events: Vec<Event>,
    /// For each event: the Sigma rules (engine numbers) it matched there, and whether rules
    /// that run here must look at it.
    verdicts: Vec<(Vec<usize>, bool)>,
    /// The Sigma rules that run here, on candidate rows (`Fallback::Local`).
    local_rules: Vec<bool>,
    /// Rows per SPL runner.
    spl_rows: Vec<Vec<Row>>,
    /// Events in the table the Sigma rules read.
    table_events: u64,
}

impl SparkRun {
    /// Feeds the events back in batches, each with what decides the rules they match.
    fn feed(&self, set: &RuleSet, feed: &mut dyn FnMut(&[Event], &Matcher)) {
        const BATCH: usize = 4096;
        for (events, verdicts) in self.events.chunks(BATCH).zip(self.verdicts.chunks(BATCH)) {
            let matches = |at: usize, event: &Event, matched: &mut Vec<usize>, _: &mut Vec<SplRow>| {
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

/// ESCU detections per query (a UNION ALL of their aggregates, each row as JSON).
const DETECTIONS_PER_QUERY: usize = 50;

/// The temporary views a hunt defines over its tables.
const SIGMA_VIEW: &str = "harrier_sigma_events";
const SPLUNK_VIEW: &str = "harrier_splunk_events";

/// What the cluster found of an event: the Sigma rules it matched there, and whether rules
/// that run here must look at it.
#[derive(Default)]
struct Verdict {
    rules: Vec<usize>,
    check_locally: bool,
}

/// Events by file and record.
type Keyed<T> = BTreeMap<(String, u64), T>;

/// A rule as the cluster runs it, or why it cannot.
enum Plan {
    Spark(String),
    Local { why: String, candidates: String },
    Skipped(String),
}

fn plan(converted: Result<String, String>, candidates: impl FnOnce() -> String, fallback: Fallback) -> Plan {
    match (converted, fallback) {
        (Ok(sql), _) => Plan::Spark(sql),
        (Err(why), Fallback::Local) => Plan::Local { why, candidates: candidates() },
        (Err(why), Fallback::Skip) => Plan::Skipped(why),
    }
}

fn hunt(
    set: &RuleSet,
    engine: &SparkOptions,
    time_filter: Option<String>,
    note: &dyn Fn(&str),
) -> Result<SparkRun, String> {
    let mut cluster =
        Cluster::connect(&engine.connect, engine.timeout).map_err(|why| format!("{}: {why}", engine.connect))?;
    note(&format!("Spark {} at {}", cluster.version().unwrap_or_default(), engine.connect));
    let sigma_source = Source::parse(&engine.table);
    let splunk_source = engine.splunk_table.as_deref().map(Source::parse).unwrap_or_else(|| sigma_source.clone());
    let mut verdicts: Keyed<Verdict> = BTreeMap::new();
    let mut files = HashMap::new();

    let profile = Profile::load("sysmon").map_err(|why| format!("the sysmon mapping: {why}"))?;
    let sigma_plans: Vec<(usize, Plan)> = (0..set.active.len())
        .filter(|&rule| !set.failed_to_compile(rule))
        .map(|rule| match unpack_rule(set.rule(rule)) {
            Ok(unpacked) => {
                let converted = harrier_convert::sql_condition(&unpacked, Dialect::Spark, &profile, true);
                let candidates = || harrier_convert::sql_candidates(&unpacked, Dialect::Spark, &profile);
                (rule, plan(converted.map_err(|why| why.feature), candidates, engine.fallback))
            }
            Err(why) => (rule, Plan::Skipped(why)),
        })
        .collect();
    let name = |rule: usize| {
        let meta = &set.rule(rule).meta;
        format!("{} ({})", meta.id.as_deref().unwrap_or("-"), meta.source)
    };
    let (spark_rules, local_rules) = split(&sigma_plans, &|rule| name(rule), note);
    let (mut events_in_table, mut scans) = (0, 0);
    if !spark_rules.is_empty() || !local_rules.is_empty() {
        let rules = spark_rules.iter().chain(&local_rules);
        let storage = Storage::Source;
        let columns =
            bind(&mut cluster, SIGMA_VIEW, &sigma_source, rules, Names::IgnoreCase, time_filter.as_deref(), storage)?;
        events_in_table = count(&mut cluster, SIGMA_VIEW)?;
        let routed = ROUTING_COLUMNS.iter().all(|needed| columns.iter().any(|column| column == needed));
        let families = families(set, spark_rules.clone(), engine.rules_per_scan, routed);
        for family in families.iter().chain(&[Family::of(local_rules.clone(), None, true)]) {
            let chunks = scan_chunks(&family.rules, engine.rules_per_scan);
            // One scan reads the events once, as a view of them would.
            let cached = chunks.len() > 1 && family.cacheable;
            if cached {
                cluster.cache_rows(FAMILY_VIEW, SIGMA_VIEW, &family.columns, family.rows.as_deref())?;
            }
            let (view, rows) = if cached { (FAMILY_VIEW, None) } else { (SIGMA_VIEW, family.rows.as_deref()) };
            for chunk in chunks {
                merge(&mut verdicts, scan(&mut cluster, view, rows, chunk)?, family.candidates);
                scans += usize::from(!family.candidates);
            }
            if cached {
                cluster.release(FAMILY_VIEW)?;
            }
        }
    }
    let events = fetch(&mut cluster, &sigma_source, time_filter.as_deref(), &verdicts, &mut files)?;
    let mut local = vec![false; set.active.len()];
    for rule in &local_rules {
        local[rule.rule] = true;
    }

    let spl = spl(set, engine, &mut cluster, &splunk_source, time_filter.as_deref(), &mut files, note)?;
    note(&format!(
        "Spark ran {} queries: {} Sigma rules in {} scans of {events_in_table} events, {} ESCU detections{}",
        cluster.queries,
        spark_rules.len(),
        scans,
        spl.on_spark,
        match (local_rules.len(), spl.here) {
            (0, 0) => String::new(),
            (sigma, escu) => format!("; here, on candidate rows: {sigma} Sigma rules, {escu} ESCU detections"),
        }
    ));
    let verdicts = verdicts.into_values().map(|verdict| (verdict.rules, verdict.check_locally)).collect();
    Ok(SparkRun {
        events,
        verdicts,
        local_rules: local,
        spl_rows: spl.rows.into_iter().map(Option::unwrap_or_default).collect(),
        table_events: events_in_table,
    })
}

/// The rules for Spark and those whose candidates come back, naming the others.
fn split(
    plans: &[(usize, Plan)],
    name: &dyn Fn(usize) -> String,
    note: &dyn Fn(&str),
) -> (Vec<RuleCondition>, Vec<RuleCondition>) {
    let (mut spark, mut local) = (Vec::new(), Vec::new());
    for (rule, plan) in plans {
        match plan {
            Plan::Spark(condition) => spark.push(RuleCondition { rule: *rule, condition: condition.clone() }),
            Plan::Local { why, candidates } => {
                note(&format!("{} runs locally on its candidate rows: Spark SQL lacks {why}", name(*rule)));
                local.push(RuleCondition { rule: *rule, condition: candidates.clone() });
            }
            Plan::Skipped(why) => {
                note(&format!("{} not run (Spark SQL lacks {why}; --fallback local runs it here)", name(*rule)))
            }
        }
    }
    (spark, local)
}

/// SQL text of conditions per scan: Spark compiles a scan's conditions into one Java class, and
/// past about this much a method outgrows the JVM's 64 KB and Spark falls back to interpreting
/// the whole scan (its log says "Whole-stage codegen disabled").
const SCAN_SQL_BYTES: usize = 24 * 1024;

/// Rules in scans of at most `most` rules and [`SCAN_SQL_BYTES`] of conditions (a larger rule
/// alone).
fn scan_chunks(rules: &[RuleCondition], most: usize) -> Vec<&[RuleCondition]> {
    let mut chunks = Vec::new();
    let (mut start, mut size) = (0, 0);
    for (at, rule) in rules.iter().enumerate() {
        if at > start && (at - start >= most.max(1) || size + rule.condition.len() > SCAN_SQL_BYTES) {
            chunks.push(&rules[start..at]);
            (start, size) = (at, 0);
        }
        size += rule.condition.len();
    }
    if start < rules.len() {
        chunks.push(&rules[start..]);
    }
    chunks
}

/// The core columns the embedded engine's routing reads (see [`harrier_spark::routed_rows`]).
const ROUTING_COLUMNS: [&str; 2] = ["_channel", "_event_id"];

/// The view of a family's rows, cached while its scans run.
const FAMILY_VIEW: &str = "harrier_sigma_family";

/// Rules that can only match the same rows (by the embedded engine's routing: the
/// process-creation rules, Sysmon 1 and Security 4688; then the rules of one channel), with
/// those rows and the columns the rules read: their scans read a view of that alone, cached,
/// instead of the source.
struct Family {
    /// Which rows (SQL over the core columns), or all.
    rows: Option<String>,
    columns: Vec<String>,
    rules: Vec<RuleCondition>,
    /// The rules' conditions take candidate rows, to check here.
    candidates: bool,
    /// Whether its scans may read a cached view: not when they read the events' text (for
    /// keyword searches), which costs more to write to the cluster's disks and read back
    /// than to read from the lake again.
    cacheable: bool,
}

impl Family {
    fn of(rules: Vec<RuleCondition>, rows: Option<String>, candidates: bool) -> Family {
        let columns: BTreeSet<String> = rules.iter().flat_map(condition_columns).collect();
        let cacheable = !columns.contains(harrier_convert::EVENT_FIELD);
        Family { rows, columns: columns.into_iter().collect(), rules, candidates, cacheable }
    }
}

/// The columns (and views) a rule's condition names.
fn condition_columns(rule: &RuleCondition) -> BTreeSet<String> {
    harrier_spark::identifiers(&rule.condition)
}

/// The rules in families: keyword searches apart (they read the events' text: a view holding
/// it for the rules that share their rows would cost more than it saves); then by their
/// routing keys (`routed`: the source has the columns the keys are tested on), then by their
/// channels, when a family takes two scans or more (a view costs a pass over the events),
/// each family over the rows that meet one of its rules' keys; the rules of no such family
/// last (see [`remainder`]).
fn families(set: &RuleSet, rules: Vec<RuleCondition>, most: usize, routed: bool) -> Vec<Family> {
    let (keyword_searches, rules): (Vec<RuleCondition>, Vec<RuleCondition>) =
        rules.into_iter().partition(|rule| condition_columns(rule).contains(harrier_convert::EVENT_FIELD));
    // Each rule's keys, decoded once: the grouping below asks for them several times.
    let keys_by_rule: HashMap<usize, Option<Vec<harrier_engine::Key>>> = rules
        .iter()
        .chain(&keyword_searches)
        .map(|rule| {
            let condition = set.rule(rule.rule).condition.unpack().ok();
            (rule.rule, condition.and_then(|condition| harrier_engine::keys(&condition)).filter(|_| routed))
        })
        .collect();
    let keys = |rule: &RuleCondition| keys_by_rule.get(&rule.rule).cloned().flatten();
    let (mut families, rest) = group(rules, most, &keys, &keys);
    // A rule some of whose keys name no channel is not one channel's.
    let channels = |rule: &RuleCondition| -> Option<Vec<harrier_engine::Key>> {
        let channel_only =
            |key: harrier_engine::Key| key.channel.is_some().then_some(harrier_engine::Key { event_id: None, ..key });
        keys(rule)?.into_iter().map(channel_only).collect()
    };
    let (by_channel, rest) = group(rest, most, &channels, &keys);
    families.extend(by_channel);
    families.extend(remainder(rest, &keys));
    families.extend(remainder(keyword_searches, &keys));
    families
}

/// The rules of no family: those with routing keys (of channels too rare to fill a scan of
/// their own) over the rows that meet one of their keys, then the others over all rows.
fn remainder(rules: Vec<RuleCondition>, keys_of: &KeysOf) -> [Family; 2] {
    let (mut keyed, mut open): (Vec<RuleCondition>, Vec<RuleCondition>) =
        rules.into_iter().partition(|rule| keys_of(rule).is_some_and(|keys| !keys.is_empty()));
    keyed.sort_by_key(|rule| rule.rule);
    open.sort_by_key(|rule| rule.rule);
    let rows = union_of_keys(&keyed, keys_of).and_then(|keys| rows_meeting(&keys));
    [Family::of(keyed, rows, false), Family::of(open, None, false)]
}

/// The routing keys a rule's events meet one of, or none (see [`harrier_engine::keys`]).
type KeysOf<'a> = dyn Fn(&RuleCondition) -> Option<Vec<harrier_engine::Key>> + 'a;

/// Every key of the rules, or none when a rule has none.
fn union_of_keys(rules: &[RuleCondition], keys_of: &KeysOf) -> Option<Vec<harrier_engine::Key>> {
    let mut keys = Vec::new();
    for rule in rules {
        keys.extend(keys_of(rule).filter(|found| !found.is_empty())?);
    }
    keys.sort();
    keys.dedup();
    Some(keys)
}

/// SQL taking the rows that meet one of `keys` (see [`harrier_spark::routed_rows`]).
fn rows_meeting(keys: &[harrier_engine::Key]) -> Option<String> {
    let keys: Vec<harrier_spark::RouteKey> = keys.iter().map(|key| (key.channel.as_deref(), key.event_id)).collect();
    harrier_spark::routed_rows(&keys)
}

/// Rules grouped by the routing keys `by` gives them: the groups worth a view, each of the rows
/// that meet one of its rules' keys (`keys_of`), and the rules of the others.
fn group(rules: Vec<RuleCondition>, most: usize, by: &KeysOf, keys_of: &KeysOf) -> (Vec<Family>, Vec<RuleCondition>) {
    let mut by_keys: BTreeMap<Vec<harrier_engine::Key>, Vec<RuleCondition>> = BTreeMap::new();
    let mut rest = Vec::new();
    for rule in rules {
        match by(&rule) {
            Some(mut keys) if !keys.is_empty() => {
                keys.sort();
                keys.dedup();
                by_keys.entry(keys).or_default().push(rule);
            }
            _ => rest.push(rule),
        }
    }
    let mut families = Vec::new();
    for rules in by_keys.into_values() {
        match union_of_keys(&rules, keys_of).and_then(|keys| rows_meeting(&keys)) {
            Some(rows) if scan_chunks(&rules, most).len() > 1 => families.push(Family::of(rules, Some(rows), false)),
            _ => rest.extend(rules),
        }
    }
    (families, rest)
}

/// Defines a view over a source with the fields the queries name; gives the source's columns.
fn bind<'a>(
    cluster: &mut Cluster,
    view: &str,
    source: &Source,
    conditions: impl Iterator<Item = &'a RuleCondition>,
    names: Names,
    filter: Option<&str>,
    storage: Storage,
) -> Result<Vec<String>, String> {
    let mut fields = BTreeSet::new();
    for condition in conditions {
        fields.extend(harrier_spark::identifiers(&condition.condition));
    }
    fields.remove(SIGMA_VIEW);
    fields.remove(SPLUNK_VIEW);
    cluster.bind(view, source, &fields, names, filter, storage)
}

fn count(cluster: &mut Cluster, view: &str) -> Result<u64, String> {
    let batches = cluster.query(&format!("SELECT count(*) AS events FROM {}", harrier_spark::quoted(view)))?;
    let rows = harrier_spark::rows(&batches);
    Ok(rows.first().and_then(|row| row.first()).and_then(|(_, value)| value.as_i64()).unwrap_or(0) as u64)
}

/// The matches of one scan of `view` (its `rows`, or all) testing `rules`.
fn scan(
    cluster: &mut Cluster,
    view: &str,
    rows: Option<&str>,
    rules: &[RuleCondition],
) -> Result<Vec<harrier_spark::Match>, String> {
    harrier_spark::matches(&cluster.query(&harrier_spark::scan_sql(view, rows, rules))?)
}

/// Adds a scan's matches: matched rules (`candidates` false) or rows to check here.
fn merge(verdicts: &mut Keyed<Verdict>, found: Vec<harrier_spark::Match>, candidates: bool) {
    for found in found {
        let verdict = verdicts.entry((found.source, found.record)).or_default();
        if candidates {
            verdict.check_locally = true;
        } else if let Err(at) = verdict.rules.binary_search(&found.rule) {
            verdict.rules.insert(at, found.rule);
        }
    }
}

/// The events of `keyed` from `source`, in file-then-record order; each must be there.
fn fetch<T>(
    cluster: &mut Cluster,
    source: &Source,
    filter: Option<&str>,
    keyed: &Keyed<T>,
    files: &mut HashMap<String, Arc<SourceFile>>,
) -> Result<Vec<Event>, String> {
    let mut keys: BTreeMap<String, BTreeSet<u64>> = BTreeMap::new();
    for (file, record) in keyed.keys() {
        keys.entry(file.clone()).or_default().insert(*record);
    }
    let mut events: Keyed<Event> =
        cluster.events(source, filter, &keys, files)?.into_iter().map(|event| (event_key(&event), event)).collect();
    keyed
        .keys()
        .map(|key| {
            events.remove(key).ok_or_else(|| {
                format!(
                    "record {} of {} was matched but is no longer in the table (did the lake change?)",
                    key.1, key.0
                )
            })
        })
        .collect()
}

/// What tells events apart across a hunt's queries: their file and record.
fn event_key(event: &Event) -> (String, u64) {
    (event.source().path.clone(), event.record_id())
}

/// What the ESCU detections gave: rows per detection (`None` for one that did not run), and
/// how many ran on the cluster and here.
struct SplRun {
    rows: Vec<Option<Vec<Row>>>,
    on_spark: usize,
    here: usize,
}

/// The ESCU detections: each converted one as an aggregate query, the others (with
/// `--fallback local`) by their runners here over their candidate events.
fn spl(
    set: &RuleSet,
    engine: &SparkOptions,
    cluster: &mut Cluster,
    source: &Source,
    time_filter: Option<&str>,
    files: &mut HashMap<String, Arc<SourceFile>>,
    note: &dyn Fn(&str),
) -> Result<SplRun, String> {
    let runners = &set.spl.runners;
    let options = Options { table: SPLUNK_VIEW.into(), tumbling_windows: false };
    let plans: Vec<(usize, Plan)> = (0..runners.len())
        .map(|runner| {
            let detection = set.spl.detection(runner);
            let Outcome::Runnable(query) = &detection.outcome else {
                return (runner, Plan::Skipped("a runnable search".into()));
            };
            let converted = harrier_convert::convert_query(query, Target::Sql(Dialect::Spark), &options)
                .map(|conversion| conversion.query)
                .map_err(|why| why.feature);
            let candidates = || harrier_convert::sql_query_candidates(query, Dialect::Spark);
            (runner, plan(converted, candidates, engine.fallback))
        })
        .collect();
    let name = |runner: usize| {
        let meta = &set.spl.detection(runner).meta;
        format!("{} ({})", meta.id.as_deref().unwrap_or("-"), meta.source)
    };
    let (queries, local) = split(&plans, &|runner| name(runner), note);
    let mut results: Vec<Option<Vec<Row>>> = vec![None; runners.len()];
    let (on_spark, here) = (queries.len(), local.len());
    if queries.is_empty() && local.is_empty() {
        return Ok(SplRun { rows: results, on_spark, here });
    }
    bind(cluster, SPLUNK_VIEW, source, queries.iter().chain(&local), Names::Exact, time_filter, Storage::Cached)?;
    for batch in queries.chunks(DETECTIONS_PER_QUERY) {
        for query in batch {
            results[query.rule] = Some(Vec::new());
        }
        let union: Vec<String> = batch
            .iter()
            .map(|query| {
                format!(
                    "SELECT {} AS _detection, to_json(struct(*)) AS _row FROM ({})",
                    query.rule,
                    with_sources(&query.condition)
                )
            })
            .collect();
        for (runner, fields) in harrier_spark::tagged_rows(&cluster.query(&union.join(" UNION ALL "))?)? {
            if let Some(Some(rows)) = results.get_mut(runner) {
                rows.push(row(fields, files));
            }
        }
    }
    for rows in results.iter_mut().flatten() {
        sort_rows(rows);
    }
    if !local.is_empty() {
        // An event comes once per detection it is a candidate for; it is fed once.
        let candidates: Keyed<()> = scan(cluster, SPLUNK_VIEW, None, &local)?
            .into_iter()
            .map(|found| ((found.source, found.record), ()))
            .collect();
        let candidates = fetch(cluster, source, time_filter, &candidates, files)?;
        let wanted: BTreeSet<usize> = local.iter().map(|rule| rule.rule).collect();
        let mut states: BTreeMap<usize, _> = wanted.iter().map(|&runner| (runner, runners[runner].start())).collect();
        let (mut matched, mut rows) = (Vec::new(), Vec::new());
        for event in &candidates {
            set.spl.rows(event, &mut matched, &mut rows);
            for (runner, feed, row) in rows.drain(..) {
                if let Some(state) = states.get_mut(&runner) {
                    runners[runner].accept(state, feed, row);
                }
            }
        }
        for (runner, state) in states {
            results[runner] = Some(runners[runner].finish(state));
        }
    }
    Ok(SplRun { rows: results, on_spark, here })
}

/// A detection's aggregate query also giving the files behind each row (`_sources`).
fn with_sources(sql: &str) -> String {
    sql.replacen("SELECT ", "SELECT array_sort(collect_set(`_source`)) AS `_sources`, ", 1)
}

/// A result row as the pipeline's row; `_sources` names its files.
fn row(fields: Vec<(String, harrier_event::Value)>, files: &mut HashMap<String, Arc<SourceFile>>) -> Row {
    let mut row = Row::empty();
    for (name, value) in fields {
        match (name.as_str(), value) {
            ("_sources", harrier_event::Value::List(paths)) => {
                row.sources = paths
                    .iter()
                    .filter_map(|path| path.as_str())
                    .map(|path| {
                        files
                            .entry(path.to_owned())
                            .or_insert_with(|| Arc::new(SourceFile { path: path.to_owned() }))
                            .clone()
                    })
                    .collect();
            }
            // A list from `collect_set` is a multivalue: one value is that value, none absent.
            (_, harrier_event::Value::List(items)) => row.set(&name, harrier_pipeline::multivalue(items)),
            (_, value) => row.fields.push((harrier_event::FieldName::from(name.as_str()), value)),
        }
    }
    row
}

/// Rows in the order of their values (as `stats` sorts by its `by` fields).
fn sort_rows(rows: &mut [Row]) {
    rows.sort_by_cached_key(|row| row.fields.iter().map(|(_, value)| value.to_string()).collect::<Vec<_>>());
}

/// The SQL of the hunt's time window on `_timestamp`.
fn time_filter(window: TimeWindow) -> Option<String> {
    let bound =
        |time: Timestamp, operator: &str| format!("_timestamp {operator} timestamp_micros({})", time.unix_micros());
    let parts: Vec<String> = window
        .since
        .map(|time| bound(time, ">="))
        .into_iter()
        .chain(window.until.map(|time| bound(time, "<=")))
        .collect();
    (!parts.is_empty()).then(|| parts.join(" AND "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use harrier_engine::Key;

    #[test]
    fn rules_of_no_family_read_the_rows_of_their_keys_and_the_others_every_row() {
        let rule = |rule| RuleCondition { rule, condition: format!("`f{rule}` = 'x'") };
        let keys_of = |rule: &RuleCondition| match rule.rule {
            1 => Some(vec![Key { channel: Some("application".into()), event_id: None }]),
            2 => Some(vec![Key { channel: Some("system".into()), event_id: Some(7045) }]),
            _ => None,
        };
        let [keyed, open] = remainder(vec![rule(3), rule(2), rule(1)], &keys_of);
        let numbers = |family: &Family| family.rules.iter().map(|rule| rule.rule).collect::<Vec<_>>();
        assert_eq!(numbers(&keyed), [1, 2]);
        let rows = keyed.rows.unwrap_or_default();
        assert!(rows.contains("= 'application' OR"), "{rows}");
        assert!(rows.contains("= 'system' AND `_event_id` = 7045)"), "{rows}");
        assert_eq!(numbers(&open), [3]);
        assert_eq!(open.rows, None);
    }
}
