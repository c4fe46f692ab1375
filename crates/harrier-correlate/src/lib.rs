//! Correlation: what happens after single events match.
//!
//! This crate owns the windows. For each correlation it keeps the matches of its rules (only
//! those, never all events: memory grows with matches, not with input), grouped by the
//! group-by values (compared ignoring case), and at the end of the input slides a window of the
//! correlation's timespan over each group in time order, so results do not depend on the
//! order files were read in.
//!
//! Window semantics: every match anchors the window `[t - timespan, t]` (pySigma's SQLite
//! backend does the same). When the condition holds, one result is reported for that window
//! and the window starts afresh after it, so one burst gives one result rather than one per
//! event. Results of a correlation feed the correlations that name it (chaining).

use harrier_event::{Event, Timestamp};
use harrier_ir::{Correlation, CorrelationKind};
use std::collections::BTreeMap;

/// Where a correlated match came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRef {
    pub source_file: String,
    pub record_id: u64,
    /// Id or name of the rule that matched, as the correlation names it.
    pub rule: String,
}

/// One match as a correlation keeps it.
#[derive(Debug, Clone)]
pub struct Observation {
    member: usize,
    time: Timestamp,
    group: Vec<String>,
    shown_group: Vec<Option<String>>,
    value: Option<String>,
    origin: Vec<EventRef>,
}

/// A correlation whose condition held.
#[derive(Debug, Clone, PartialEq)]
pub struct CorrelationHit {
    /// Index of the correlation, in the order given to [`Correlator::new`].
    pub correlation: usize,
    /// The group-by fields and their values.
    pub group: Vec<(String, Option<String>)>,
    pub first: Timestamp,
    pub last: Timestamp,
    /// The aggregate the condition held for (count, distinct values, sum, ...).
    pub value: f64,
    pub events: Vec<EventRef>,
}

/// What a correlation correlates: a detection rule (by its engine number) or another
/// correlation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Rule(usize),
    Correlation(usize),
}

struct Member {
    source: Source,
    reference: String,
    /// The field holding each group-by value in this member's events (aliases applied).
    group_fields: Vec<String>,
}

struct Spec {
    correlation: Correlation,
    members: Vec<Member>,
}

/// The correlations of a rule set, compiled once: immutable, shared by every run (and thread).
/// What one run keeps is its [`Windows`].
pub struct Correlator {
    specs: Vec<Spec>,
    /// Correlations in an order where each comes after those it names.
    order: Vec<usize>,
}

impl Correlator {
    /// `resolve` finds the engine number of a detection rule by id or name.
    pub fn new(correlations: Vec<Correlation>, resolve: &dyn Fn(&str) -> Option<usize>) -> Result<Correlator, String> {
        let names: Vec<(Option<String>, Option<String>)> =
            correlations.iter().map(|c| (c.meta.id.clone(), c.meta.name.clone())).collect();
        let mut specs = Vec::with_capacity(correlations.len());
        for correlation in correlations {
            let mut members = Vec::new();
            for reference in &correlation.rules {
                let inner = names.iter().position(|(id, name)| {
                    id.as_deref() == Some(reference.as_str()) || name.as_deref() == Some(reference.as_str())
                });
                let source = match (inner, resolve(reference)) {
                    (Some(index), _) => Source::Correlation(index),
                    (None, Some(rule)) => Source::Rule(rule),
                    (None, None) => {
                        return Err(format!("`{}` names `{reference}`, which is not loaded", correlation.meta.title));
                    }
                };
                let group_fields =
                    correlation.group_by.iter().map(|group| aliased(&correlation, group, reference)).collect();
                members.push(Member { source, reference: reference.clone(), group_fields });
            }
            specs.push(Spec { correlation, members });
        }
        let order = dependency_order(&specs)?;
        Ok(Correlator { specs, order })
    }

    pub fn is_empty(&self) -> bool {
        self.specs.is_empty()
    }

    pub fn len(&self) -> usize {
        self.specs.len()
    }

    pub fn correlation(&self, index: usize) -> &Correlation {
        &self.specs[index].correlation
    }

    /// The engine rules some correlation observes.
    pub fn observed_rules(&self) -> impl Iterator<Item = usize> + '_ {
        self.specs.iter().flat_map(|spec| spec.members.iter()).filter_map(|member| match member.source {
            Source::Rule(rule) => Some(rule),
            Source::Correlation(_) => None,
        })
    }

    /// Whether a rule's own matches are reported: not when every correlation that names it
    /// says `generate: false` (the default).
    pub fn suppresses(&self, rule: usize) -> bool {
        let naming: Vec<&Spec> =
            self.specs.iter().filter(|spec| spec.members.iter().any(|m| m.source == Source::Rule(rule))).collect();
        !naming.is_empty() && naming.iter().all(|spec| !spec.correlation.generate)
    }

    /// What the correlations keep of a match of `rule` in `event`; safe to call from any
    /// thread. Give the result to [`Windows::add`] in input order. `None` when the event
    /// has no timestamp, so that no window can hold it.
    pub fn observe(&self, rule: usize, event: &Event) -> Option<Vec<(usize, Observation)>> {
        let time = event.timestamp()?;
        let mut kept = Vec::new();
        for (index, spec) in self.specs.iter().enumerate() {
            for (member_index, member) in spec.members.iter().enumerate() {
                if member.source != Source::Rule(rule) {
                    continue;
                }
                let shown_group: Vec<Option<String>> =
                    member.group_fields.iter().map(|field| event.text(field).map(|text| text.into_owned())).collect();
                let value =
                    spec.correlation.field.as_deref().and_then(|field| event.text(field)).map(|text| text.into_owned());
                let origin = vec![EventRef {
                    source_file: event.source().path.clone(),
                    record_id: event.record_id(),
                    rule: member.reference.clone(),
                }];
                let group = shown_group.iter().map(|value| value.as_deref().unwrap_or("").to_lowercase()).collect();
                kept.push((index, Observation { member: member_index, time, group, shown_group, value, origin }));
            }
        }
        Some(kept)
    }

    /// The empty state of one run over these correlations.
    pub fn start(&self) -> Windows {
        Windows { observations: vec![Vec::new(); self.specs.len()] }
    }

    /// Evaluates every correlation over what the run kept, inner ones first.
    pub fn finish(&self, mut windows: Windows) -> Vec<CorrelationHit> {
        let mut all = Vec::new();
        for &index in &self.order {
            let observations = std::mem::take(&mut windows.observations[index]);
            let hits = evaluate(index, &self.specs[index], observations);
            for hit in &hits {
                self.feed_dependents(index, hit, &mut windows);
            }
            all.extend(hits);
        }
        all.sort_by(|a, b| a.last.cmp(&b.last).then(a.correlation.cmp(&b.correlation)));
        all
    }

    /// A result of correlation `inner` becomes a match for the correlations that name it.
    fn feed_dependents(&self, inner: usize, hit: &CorrelationHit, windows: &mut Windows) {
        for (index, spec) in self.specs.iter().enumerate() {
            for (member_index, member) in spec.members.iter().enumerate() {
                if member.source != Source::Correlation(inner) {
                    continue;
                }
                let shown_group: Vec<Option<String>> = member
                    .group_fields
                    .iter()
                    .map(|field| {
                        hit.group.iter().find(|(name, _)| name.eq_ignore_ascii_case(field)).and_then(|(_, v)| v.clone())
                    })
                    .collect();
                let group = shown_group.iter().map(|value| value.as_deref().unwrap_or("").to_lowercase()).collect();
                windows.observations[index].push(Observation {
                    member: member_index,
                    time: hit.last,
                    group,
                    shown_group,
                    value: Some(hit.value.to_string()),
                    origin: hit.events.clone(),
                });
            }
        }
    }
}

/// What one run keeps for its correlations: the matches of their rules, by correlation.
#[derive(Debug, Clone, Default)]
pub struct Windows {
    observations: Vec<Vec<Observation>>,
}

impl Windows {
    /// Keeps an observation from [`Correlator::observe`]; give them in input order.
    pub fn add(&mut self, correlation: usize, observation: Observation) {
        self.observations[correlation].push(observation);
    }
}

/// The field a group-by name stands for in one rule: its alias there, or itself.
fn aliased(correlation: &Correlation, group: &str, reference: &str) -> String {
    correlation
        .aliases
        .iter()
        .find(|alias| alias.name == group)
        .and_then(|alias| alias.fields.iter().find(|(rule, _)| rule == reference))
        .map_or_else(|| group.to_owned(), |(_, field)| field.clone())
}

/// Correlations ordered so that each comes after those it names; a cycle is an error.
fn dependency_order(specs: &[Spec]) -> Result<Vec<usize>, String> {
    let mut order = Vec::with_capacity(specs.len());
    let mut state = vec![0u8; specs.len()];
    fn visit(index: usize, specs: &[Spec], state: &mut [u8], order: &mut Vec<usize>) -> Result<(), String> {
        match state[index] {
            2 => return Ok(()),
            1 => {
                return Err(format!(
                    "correlation `{}` names itself through a cycle",
                    specs[index].correlation.meta.title
                ));
            }
            _ => {}
        }
        state[index] = 1;
        for member in &specs[index].members {
            if let Source::Correlation(inner) = member.source {
                visit(inner, specs, state, order)?;
            }
        }
        state[index] = 2;
        order.push(index);
        Ok(())
    }
    for index in 0..specs.len() {
        visit(index, specs, &mut state, &mut order)?;
    }
    Ok(order)
}

/// Slides the window over each group of one correlation's observations.
fn evaluate(index: usize, spec: &Spec, observations: Vec<Observation>) -> Vec<CorrelationHit> {
    let correlation = &spec.correlation;
    let span = correlation.timespan_seconds * 1_000_000;
    let mut groups: BTreeMap<Vec<String>, Vec<Observation>> = BTreeMap::new();
    for observation in observations {
        groups.entry(observation.group.clone()).or_default().push(observation);
    }
    let mut hits = Vec::new();
    for observations in groups.values_mut() {
        observations.sort_by_key(|observation| observation.time);
        let (mut start, mut fresh_from) = (0, 0);
        for anchor in 0..observations.len() {
            let anchor_time = observations[anchor].time.unix_micros();
            while observations[start].time.unix_micros() < anchor_time - span {
                start += 1;
            }
            let window = &observations[start.max(fresh_from)..=anchor];
            let Some(value) = aggregate(correlation.kind, window, spec.members.len()) else { continue };
            if correlation.condition.iter().all(|(op, expected)| op.holds(value, *expected)) {
                hits.push(hit(index, correlation, window, value));
                fresh_from = anchor + 1;
            }
        }
    }
    hits
}

fn hit(index: usize, correlation: &Correlation, window: &[Observation], value: f64) -> CorrelationHit {
    let first = &window[0];
    CorrelationHit {
        correlation: index,
        group: correlation.group_by.iter().cloned().zip(first.shown_group.iter().cloned()).collect(),
        first: first.time,
        last: window[window.len() - 1].time,
        value,
        events: window.iter().flat_map(|observation| observation.origin.iter().cloned()).collect(),
    }
}

/// The aggregate of a window, or `None` when it has none (no numeric values to sum).
fn aggregate(kind: CorrelationKind, window: &[Observation], members: usize) -> Option<f64> {
    let numbers = || -> Vec<f64> { window.iter().filter_map(|o| o.value.as_deref()?.trim().parse().ok()).collect() };
    Some(match kind {
        CorrelationKind::EventCount => window.len() as f64,
        CorrelationKind::ValueCount => {
            let mut values: Vec<String> =
                window.iter().filter_map(|o| o.value.as_deref().map(str::to_lowercase)).collect();
            values.sort();
            values.dedup();
            values.len() as f64
        }
        CorrelationKind::Temporal => {
            let mut seen = vec![false; members];
            window.iter().for_each(|observation| seen[observation.member] = true);
            seen.iter().filter(|seen| **seen).count() as f64
        }
        CorrelationKind::TemporalOrdered => {
            let mut next = 0;
            for observation in window {
                if next < members && observation.member == next {
                    next += 1;
                }
            }
            next as f64
        }
        CorrelationKind::ValueSum => numbers().iter().sum(),
        CorrelationKind::ValueAvg => {
            let numbers = numbers();
            if numbers.is_empty() {
                return None;
            }
            numbers.iter().sum::<f64>() / numbers.len() as f64
        }
        CorrelationKind::ValueMedian => percentile(numbers(), 50.0)?,
        CorrelationKind::ValuePercentile(rank) => percentile(numbers(), rank)?,
    })
}

/// The nearest-rank percentile.
fn percentile(mut numbers: Vec<f64>, rank: f64) -> Option<f64> {
    if numbers.is_empty() {
        return None;
    }
    numbers.sort_by(f64::total_cmp);
    let position = ((rank / 100.0) * numbers.len() as f64).ceil().max(1.0) as usize - 1;
    numbers.get(position.min(numbers.len() - 1)).copied()
}
