//! A hunt: a rule set over inputs, results to a sink.
//!
//! The matching runs on every core, inside the reading pipeline's parallel stage: each event
//! is matched there, and what correlations and SPL pipelines keep of it is taken there. The
//! sink stage (the calling thread, input order) gives hits to the sink and feeds correlation
//! windows and SPL pipelines; at the end the correlations slide their windows and the SPL
//! pipelines finish, so results do not depend on the thread count.

use crate::Error;
use crate::results::{CorrelationResult, Hit, RowResult, RuleCount, Summary, Undecided};
use crate::rules::{RuleKey, RuleSet};
use crate::sink::{Flow, Sink};
use harrier_correlate::{Observation, Windows};
use harrier_event::{Event, TimeWindow, Timestamp};
use harrier_pipeline::{Row, RunState};
use harrier_read::{Input, Observer, Problem, ReadOptions};
use rayon::prelude::*;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Stops a running hunt from another thread.
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    pub fn new() -> CancelToken {
        CancelToken::default()
    }

    /// The hunt stops reading at once and returns [`Error::Cancelled`].
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// How reading goes, told to the progress callback on the calling thread.
#[derive(Debug, Clone, Copy)]
pub enum Progress<'a> {
    /// The inputs are found: their size on disk.
    Planned { total_bytes: u64 },
    /// This many more bytes of the inputs are read.
    Read { bytes: u64 },
    /// A record, chunk, line or file was skipped (it is also in the summary).
    Problem(&'a Problem),
    /// Something the user should know about how the hunt runs (on Spark: which rules run
    /// where, and the queries sent).
    Note(&'a str),
}

type ProgressFn<'r> = dyn Fn(Progress<'_>) + Send + Sync + 'r;

/// A rule set over inputs. Cheap to make; options are set by its methods.
///
/// ```
/// # std::env::set_current_dir("../..")?;
/// let rules = harrier::RuleSet::builder().rules("examples/rules").build()?;
/// let since = harrier::Timestamp::parse("2020-01-01T00:00:00Z");
/// let mut count = 0;
/// let summary = harrier::Hunt::new(&rules).since(since).threads(2).run(
///     &[harrier::Input::from_arg("examples/logs")],
///     &mut |_: &harrier::Hit| { count += 1; Ok(harrier::Flow::Continue) },
/// )?;
/// assert_eq!(summary.hits, count);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Hunt<'r> {
    pub(crate) rules: &'r RuleSet,
    pub(crate) window: TimeWindow,
    threads: Option<usize>,
    max_record_bytes: usize,
    cancel: Option<CancelToken>,
    progress: Option<Box<ProgressFn<'r>>>,
}

/// A row an event gives an SPL detection: (runner, feed, row).
pub(crate) type SplRow = (usize, usize, Row);

/// Sets the Sigma rules an event (its number in the batch) matches and adds the SPL rows it
/// gives.
pub(crate) type Matcher<'a> = dyn Fn(usize, &Event, &mut Vec<usize>, &mut Vec<SplRow>) + Sync + 'a;

/// What the parallel stage found in a batch of events.
#[derive(Default)]
pub(crate) struct Matched {
    /// (event in the batch, engine rule) of each hit to report, in order.
    hits: Vec<(usize, usize)>,
    observations: Vec<(usize, Observation)>,
    untimed: u64,
    rows: Vec<SplRow>,
    /// The exclusion behind each hit taken out.
    excluded: Vec<usize>,
    /// Events the time window could not place (they have no time).
    unplaced: u64,
    /// The engine rule of each event a rule could not decide (a field its source cannot carry).
    undecided: Vec<usize>,
}

impl Matched {
    /// The events hits name, the others dropped (the sink stage needs no more, and memory
    /// stays that of the hits); the hits renumbered to match.
    fn keep_hit_events(&mut self, events: Vec<Event>) -> Vec<Event> {
        let mut kept = Vec::new();
        let mut next = 0;
        for (at, event) in events.into_iter().enumerate() {
            if self.hits.get(next).is_some_and(|&(hit, _)| hit == at) {
                while let Some(hit) = self.hits.get_mut(next).filter(|(hit, _)| *hit == at) {
                    hit.0 = kept.len();
                    next += 1;
                }
                kept.push(event);
            }
        }
        kept
    }
}

/// Most threads a hunt takes: more gain nothing and only cost memory and start-up.
pub const MAX_THREADS: usize = 1024;

/// Events a caller gives are matched this many at a time.
const CALLER_BATCH: usize = 1024;

impl<'r> Hunt<'r> {
    pub fn new(rules: &'r RuleSet) -> Hunt<'r> {
        Hunt {
            rules,
            window: TimeWindow::default(),
            threads: None,
            max_record_bytes: harrier_read::DEFAULT_MAX_RECORD_BYTES,
            cancel: None,
            progress: None,
        }
    }

    /// Only events at or after this time (events without one are left out when a window is
    /// set).
    pub fn since(mut self, time: Option<Timestamp>) -> Self {
        self.window.since = time;
        self
    }

    /// Only events at or before this time.
    pub fn until(mut self, time: Option<Timestamp>) -> Self {
        self.window.until = time;
        self
    }

    /// Worker threads (default: rayon's, one per core); 1 to [`MAX_THREADS`].
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = Some(threads);
        self
    }

    /// The largest JSON line, document or XML event read (default 16 MiB): a longer one is
    /// skipped and named as a problem, so that memory stays bounded whatever the input.
    pub fn max_record_bytes(mut self, bytes: usize) -> Self {
        self.max_record_bytes = bytes;
        self
    }

    /// A token another thread can cancel the hunt with.
    pub fn cancel_with(mut self, token: CancelToken) -> Self {
        self.cancel = Some(token);
        self
    }

    /// Called on the calling thread as reading goes: sizes read and problems met.
    pub fn on_progress<'p>(self, progress: impl Fn(Progress<'_>) + Send + Sync + 'p) -> Hunt<'p>
    where
        'r: 'p,
    {
        Hunt {
            rules: self.rules,
            window: self.window,
            threads: self.threads,
            max_record_bytes: self.max_record_bytes,
            cancel: self.cancel,
            progress: Some(Box::new(progress)),
        }
    }

    /// The rule set this hunt runs.
    pub fn rules(&self) -> &'r RuleSet {
        self.rules
    }

    pub(crate) fn progress_callback(&self, progress: Progress<'_>) {
        if let Some(callback) = &self.progress {
            callback(progress);
        }
    }

    /// Hunts files, directories (walked in sorted order) and standard input.
    pub fn run(&self, inputs: &[Input], sink: &mut dyn Sink) -> Result<Summary, Error> {
        self.check()?;
        let mut run = Run::new(self, sink);
        let options = ReadOptions {
            stop: Some(run.stop.clone()),
            max_record_bytes: self.max_record_bytes,
            ..ReadOptions::on(self.pool()?)
        };
        let local = self.local_matcher();
        let map = |batch: harrier_read::Batch| {
            let mut matched = self.match_events(&batch.events, &local);
            (matched.keep_hit_events(batch.events), matched)
        };
        let mut observer = ProgressObserver(self);
        let sink = |(events, matched): (Vec<Event>, Matched)| run.accept(&events, matched);
        let read = harrier_read::read(inputs, &options, map, sink, &mut observer);
        run.summary.events = read.events();
        run.summary.read = read;
        run.summary.from_files = true;
        run.finish(None)
    }

    /// Hunts events the caller built (from another store, a test, a stream).
    pub fn run_events(&self, events: impl IntoIterator<Item = Event>, sink: &mut dyn Sink) -> Result<Summary, Error> {
        self.check()?;
        let pool = self.pool()?;
        let threads = pool.as_ref().map_or_else(rayon::current_num_threads, |pool| pool.current_num_threads());
        let mut run = Run::new(self, sink);
        let local = self.local_matcher();
        let mut events = events.into_iter().peekable();
        while events.peek().is_some() && !run.stop.load(Ordering::Relaxed) {
            let batch: Vec<Event> = events.by_ref().take(CALLER_BATCH * threads * 4).collect();
            run.summary.events += batch.len() as u64;
            let work = || -> Vec<Matched> {
                batch.par_chunks(CALLER_BATCH).map(|part| self.match_events(part, &local)).collect()
            };
            let matched = match &pool {
                Some(pool) => pool.install(work),
                None => work(),
            };
            for (part, matched) in batch.chunks(CALLER_BATCH).zip(matched) {
                run.accept(part, matched);
            }
        }
        run.finish(None)
    }

    /// A pool of the hunt's threads, if it sets a number (rayon's global pool otherwise).
    fn pool(&self) -> Result<Option<Arc<rayon::ThreadPool>>, Error> {
        let Some(threads) = self.threads else { return Ok(None) };
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .map_err(|error| Error::Options(format!("cannot start {threads} threads: {error}")))?;
        Ok(Some(Arc::new(pool)))
    }

    pub(crate) fn check(&self) -> Result<(), Error> {
        if let Some(threads) = self.threads
            && !(1..=MAX_THREADS).contains(&threads)
        {
            return Err(Error::Options(format!("threads must be 1 to {MAX_THREADS}, not {threads}")));
        }
        if let (Some(since), Some(until)) = (self.window.since, self.window.until)
            && since > until
        {
            return Err(Error::Options(format!("the time window ends ({until}) before it starts ({since})")));
        }
        Ok(())
    }

    /// The embedded engine: SPL detections, then Sigma rules, on each event.
    fn local_matcher(&self) -> impl Fn(usize, &Event, &mut Vec<usize>, &mut Vec<SplRow>) + Sync + '_ {
        let set = self.rules;
        move |_: usize, event: &Event, matched: &mut Vec<usize>, rows: &mut Vec<SplRow>| {
            if !set.spl.is_empty() {
                set.spl.rows(event, matched, rows);
            }
            matched.clear();
            set.engine.matches(event, matched);
        }
    }

    /// For each event, whether it can change what this hunt finds: it matches a Sigma rule
    /// (a hit, an exclusion, a correlation's observation), gives an SPL detection a row, or a
    /// rule cannot decide it; or it has no time and a window is set (the summary counts it).
    /// A hunt of only the events marked gives every result a hunt of them all gives, which is
    /// how a cluster's executors (see the Python package's `harrier.spark`) spare the driver
    /// all the others.
    pub fn concerned(&self, events: &[Event]) -> Vec<bool> {
        let set = self.rules;
        let local = self.local_matcher();
        let (mut matched, mut rows, mut undecided) = (Vec::new(), Vec::new(), Vec::new());
        let mut concerned = |event: &Event| match self.window.place(event) {
            Some(false) => false,
            None => true,
            Some(true) => {
                rows.clear();
                local(0, event, &mut matched, &mut rows);
                if !matched.is_empty() || !rows.is_empty() {
                    return true;
                }
                set.undecided(event, &matched, &mut undecided);
                !undecided.is_empty()
            }
        };
        events.iter().map(&mut concerned).collect()
    }

    /// Matches a batch of events (on any core): hits, and what correlations and SPL
    /// pipelines keep.
    pub(crate) fn match_events(&self, events: &[Event], matches: &Matcher) -> Matched {
        let set = self.rules;
        let mut found = Matched::default();
        let (mut matched, mut undecided) = (Vec::new(), Vec::new());
        for (at, event) in events.iter().enumerate() {
            match self.window.place(event) {
                Some(true) => {}
                Some(false) => continue,
                None => {
                    found.unplaced += 1;
                    continue;
                }
            }
            matches(at, event, &mut matched, &mut found.rows);
            set.undecided(event, &matched, &mut undecided);
            found.undecided.extend_from_slice(&undecided);
            for &rule in &matched {
                if !set.exclusions.is_empty()
                    && let Some(exclusion) = set.exclusions.excluding(set.rule(rule).meta.id.as_deref(), event)
                {
                    found.excluded.push(exclusion);
                    continue;
                }
                if !set.correlator.is_empty() {
                    match set.correlator.observe(rule, event) {
                        Some(kept) => found.observations.extend(kept),
                        None => found.untimed += 1,
                    }
                }
                if !set.suppressed[rule] {
                    found.hits.push((at, rule));
                }
            }
        }
        found
    }
}

/// Progress from the reading pipeline to the hunt's callback.
struct ProgressObserver<'a, 'r>(&'a Hunt<'r>);

impl Observer for ProgressObserver<'_, '_> {
    fn planned(&mut self, total_bytes: u64) {
        self.0.progress_callback(Progress::Planned { total_bytes });
    }

    fn problem(&mut self, problem: &Problem) {
        self.0.progress_callback(Progress::Problem(problem));
    }

    fn progress(&mut self, bytes: u64) {
        self.0.progress_callback(Progress::Read { bytes });
    }
}

/// One run's state, on the sink's thread.
pub(crate) struct Run<'h, 'r, 's> {
    hunt: &'h Hunt<'r>,
    sink: &'s mut dyn Sink,
    windows: Windows,
    spl: Vec<RunState>,
    sigma_counts: Vec<RuleCount>,
    /// Events each Sigma rule could not decide.
    undecided: Vec<u64>,
    excluded: Vec<u64>,
    pub(crate) summary: Summary,
    /// Set when the sink stops, fails, or the hunt is cancelled: reading ends.
    pub(crate) stop: Arc<AtomicBool>,
    error: Option<io::Error>,
}

impl<'h, 'r, 's> Run<'h, 'r, 's> {
    pub(crate) fn new(hunt: &'h Hunt<'r>, sink: &'s mut dyn Sink) -> Run<'h, 'r, 's> {
        let set = hunt.rules;
        let stop = hunt.cancel.as_ref().map_or_else(|| Arc::new(AtomicBool::new(false)), |token| token.0.clone());
        Run {
            hunt,
            sink,
            windows: set.correlator.start(),
            spl: set.spl.runners.iter().map(|runner| runner.start()).collect(),
            sigma_counts: vec![RuleCount::default(); set.active.len()],
            undecided: vec![0; set.active.len()],
            excluded: vec![0; set.exclusions.names.len()],
            summary: Summary { rules_run: set.rules_run(), ..Summary::default() },
            stop,
            error: None,
        }
    }

    /// Takes what the parallel stage found in a batch (in input order).
    pub(crate) fn accept(&mut self, events: &[Event], matched: Matched) {
        let set = self.hunt.rules;
        for (correlation, observation) in matched.observations {
            self.windows.add(correlation, observation);
        }
        self.summary.untimed += matched.untimed;
        self.summary.unplaced += matched.unplaced;
        for rule in matched.undecided {
            self.undecided[rule] += 1;
        }
        for exclusion in matched.excluded {
            self.excluded[exclusion] += 1;
        }
        for (runner, feed, row) in matched.rows {
            set.spl.runners[runner].accept(&mut self.spl[runner], feed, row);
        }
        for (at, rule) in matched.hits {
            let event = &events[at];
            self.sigma_counts[rule].add(event.timestamp());
            self.summary.hits += 1;
            if self.error.is_none() && !self.summary.stopped {
                let hit = Hit { key: RuleKey::Sigma(rule), rule: &set.rule(rule).meta, event };
                let flow = self.sink.hit(&hit);
                self.follow(flow);
            }
        }
    }

    /// Acts on what the sink said: stop reading on `Stop` or an error.
    fn follow(&mut self, flow: io::Result<Flow>) {
        match flow {
            Ok(Flow::Continue) => {}
            Ok(Flow::Stop) => self.summary.stopped = true,
            Err(error) => self.error = Some(error),
        }
        if self.summary.stopped || self.error.is_some() {
            self.stop.store(true, Ordering::Relaxed);
        }
    }

    fn going(&self) -> bool {
        self.error.is_none() && !self.summary.stopped
    }

    /// Ends the run: correlations, SPL results (those given, from Spark, or this run's),
    /// the summary to the sink.
    pub(crate) fn finish(mut self, spl_rows: Option<Vec<Vec<Row>>>) -> Result<Summary, Error> {
        if self.hunt.cancel.as_ref().is_some_and(CancelToken::is_cancelled) {
            return Err(Error::Cancelled);
        }
        let set = self.hunt.rules;
        let correlations = set.correlator.finish(std::mem::take(&mut self.windows));
        let mut per_rule: Vec<(RuleKey, RuleCount)> = (self.sigma_counts.iter().enumerate())
            .filter(|(_, count)| count.results > 0)
            .map(|(rule, count)| (RuleKey::Sigma(rule), *count))
            .collect();
        let mut correlation_counts = vec![RuleCount::default(); set.correlator.len()];
        for result in &correlations {
            correlation_counts[result.correlation].add(Some(result.last));
            self.summary.correlations += 1;
            if self.going() {
                let key = RuleKey::Correlation(result.correlation);
                let correlation = set.correlator.correlation(result.correlation);
                let result = CorrelationResult { key, rule: &correlation.meta, kind: correlation.kind.name(), result };
                let flow = self.sink.correlation(&result);
                self.follow(flow);
            }
        }
        per_rule.extend(counted(&correlation_counts, RuleKey::Correlation));
        let states = std::mem::take(&mut self.spl);
        let rows = match spl_rows {
            Some(rows) => rows,
            None => set.spl.runners.iter().zip(states).map(|(runner, state)| runner.finish(state)).collect(),
        };
        let mut row_counts = vec![RuleCount::default(); rows.len()];
        for (runner, rows) in rows.into_iter().enumerate() {
            let detection = &set.spl.detection(runner).meta;
            let aggregates = set.spl.runners[runner].aggregates();
            for row in &rows {
                if self.excluded_row(detection.id.as_deref(), row) {
                    continue;
                }
                row_counts[runner].add(row.origin.as_ref().and_then(|origin| origin.timestamp));
                match &row.origin {
                    Some(_) if !aggregates => self.summary.hits += 1,
                    _ => self.summary.rows += 1,
                }
                if self.going() {
                    let result = RowResult { key: RuleKey::Spl(runner), rule: detection, row, aggregates };
                    let flow = self.sink.row(&result);
                    self.follow(flow);
                }
            }
        }
        per_rule.extend(counted(&row_counts, RuleKey::Spl));
        self.summary.per_rule = per_rule;
        self.summary.undecided = (self.undecided.iter().enumerate())
            .filter(|(_, events)| **events > 0)
            .map(|(rule, events)| (RuleKey::Sigma(rule), *events))
            .collect();
        for (key, events) in self.summary.undecided.clone() {
            if self.going() {
                let flow = self.sink.undecided(&Undecided { key, rule: set.meta(key), events });
                self.follow(flow);
            }
        }
        self.summary.excluded = set.exclusions.names.iter().cloned().zip(self.excluded.iter().copied()).collect();
        if let Some(error) = self.error {
            return Err(Error::Sink(error));
        }
        self.sink.finish(&self.summary).map_err(Error::Sink)?;
        Ok(self.summary)
    }

    /// Whether an exclusion takes out an SPL row (tested with the row's fields), counting it.
    fn excluded_row(&mut self, rule_id: Option<&str>, row: &Row) -> bool {
        let exclusions = &self.hunt.rules.exclusions;
        if exclusions.is_empty() {
            return false;
        }
        match exclusions.excluding(rule_id, &row.to_event()) {
            Some(exclusion) => {
                self.excluded[exclusion] += 1;
                true
            }
            None => false,
        }
    }
}

/// The rules of one kind that gave anything, with their counts.
fn counted(counts: &[RuleCount], key: fn(usize) -> RuleKey) -> impl Iterator<Item = (RuleKey, RuleCount)> + '_ {
    counts.iter().enumerate().filter(|(_, count)| count.results > 0).map(move |(index, count)| (key(index), *count))
}
