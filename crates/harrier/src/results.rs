//! What a hunt gives: hits, correlation results and SPL rows, as the sink receives them, and
//! the run's summary.

use crate::rules::RuleKey;
use harrier_correlate::CorrelationHit;
use harrier_event::{Event, Timestamp};
use harrier_ir::RuleMeta;
use harrier_pipeline::Row;

/// A Sigma detection rule matched one event.
#[derive(Debug, Clone, Copy)]
pub struct Hit<'a> {
    pub key: RuleKey,
    pub rule: &'a RuleMeta,
    pub event: &'a Event,
}

/// A Sigma correlation's condition held for a group of events.
#[derive(Debug, Clone, Copy)]
pub struct CorrelationResult<'a> {
    pub key: RuleKey,
    pub rule: &'a RuleMeta,
    /// The correlation type (`event_count`, `value_count`, `temporal`, ...).
    pub kind: &'static str,
    /// The group-by values, the aggregate, the window's first and last times and its events.
    pub result: &'a CorrelationHit,
}

/// A result row of an SPL detection (an ESCU detection or an ad-hoc search).
#[derive(Debug, Clone, Copy)]
pub struct RowResult<'a> {
    pub key: RuleKey,
    pub rule: &'a RuleMeta,
    pub row: &'a Row,
    /// Whether the detection's results are rows (it aggregates, ends in `table`, or reads a
    /// lookup) rather than events: a detection that keeps events gives each as a row with its
    /// `origin`, the event's fields as Splunk sees them.
    pub aggregates: bool,
}

/// How many events a rule could not decide: its condition tests a field their source cannot
/// carry (Security 4688 before version 2 has no `ParentProcessName`), and is neither certainly
/// true nor certainly false on them.
#[derive(Debug, Clone, Copy)]
pub struct Undecided<'a> {
    pub key: RuleKey,
    pub rule: &'a RuleMeta,
    pub events: u64,
}

/// What one rule gave over the run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RuleCount {
    /// Hits of a detection rule, results of a correlation, rows of an SPL detection.
    pub results: u64,
    pub first: Option<Timestamp>,
    pub last: Option<Timestamp>,
}

impl RuleCount {
    pub(crate) fn add(&mut self, time: Option<Timestamp>) {
        self.results += 1;
        self.first = match (self.first, time) {
            (Some(first), Some(time)) => Some(first.min(time)),
            (first, time) => first.or(time),
        };
        self.last = self.last.max(time);
    }
}

/// What a hunt read, found and skipped.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// The files read, with what was skipped in each and why (empty when the events came from
    /// the caller or from Spark).
    pub read: harrier_read::Summary,
    /// Events read (from files, from the caller, or in the Spark table).
    pub events: u64,
    /// Rules run: Sigma detection rules and SPL detections.
    pub rules_run: usize,
    /// Hits: events a Sigma rule matched, and events an SPL detection that does not
    /// aggregate kept.
    pub hits: u64,
    /// Results of correlations.
    pub correlations: u64,
    /// Result rows of SPL detections that aggregate (or end in `table`).
    pub rows: u64,
    /// Per rule that gave anything, in result order.
    pub per_rule: Vec<(RuleKey, RuleCount)>,
    /// How many hits or rows each exclusion took out, in file order: (name, count).
    pub excluded: Vec<(String, u64)>,
    /// Matches correlations would keep but cannot, having no timestamp.
    pub untimed: u64,
    /// Events left out because a time window was set and they have no time to place them by.
    pub unplaced: u64,
    /// Per rule, the events it could not decide (a field their source cannot carry).
    pub undecided: Vec<(RuleKey, u64)>,
    /// The sink asked to stop before the input ended.
    pub stopped: bool,
    /// The events came from files (not from the caller, nor from Spark).
    pub(crate) from_files: bool,
}

impl Summary {
    /// Whether the events came from files the hunt read (not from the caller or Spark).
    pub fn from_files(&self) -> bool {
        self.from_files
    }

    /// Files were to be read and none could be (an empty input list reads nothing either).
    pub fn nothing_read(&self) -> bool {
        self.from_files && self.read.nothing_read()
    }
}
