//! Which rules can match which events: the (Channel, EventID) conditions a rule's expression
//! requires, read off its top-level ANDs and ORs.

use harrier_ir::{Expr, Test};
use rustc_hash::FxHashMap;

/// A constraint a rule puts on an event: its channel (lower-cased) and/or event id, as the
/// event's [`Event::channel`](harrier_event::Event::channel) (lower-cased by Rust's
/// `to_lowercase`) and [`Event::event_id`](harrier_event::Event::event_id) give them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    pub channel: Option<String>,
    pub event_id: Option<i64>,
}

/// The keys an event must meet one of for the expression to hold, or `None` when the
/// expression does not restrict them. The engine tests a rule only on the events that meet
/// one of its keys.
pub fn keys(expr: &Expr) -> Option<Vec<Key>> {
    match expr {
        Expr::Pred(predicate) => {
            let Test::Matches { pattern, cased: false } = &predicate.test else {
                return None;
            };
            let literal = pattern.as_literal()?;
            match predicate.field.as_deref()? {
                field if field.eq_ignore_ascii_case("Channel") => {
                    Some(vec![Key { channel: Some(literal.to_lowercase()), event_id: None }])
                }
                // SPL's `EventCode` is the event id under Splunk's name.
                field if field.eq_ignore_ascii_case("EventID") || field.eq_ignore_ascii_case("EventCode") => {
                    Some(vec![Key { channel: None, event_id: Some(literal.trim().parse().ok()?) }])
                }
                _ => None,
            }
        }
        Expr::Or(items) => {
            let mut all = Vec::new();
            for item in items {
                all.extend(keys(item)?);
            }
            Some(all)
        }
        Expr::And(items) => items.iter().filter_map(keys).reduce(|left, right| intersect(&left, &right)),
        Expr::Not(_) | Expr::Const(_) => None,
    }
}

/// The channels (lower-cased) an event must be in for the expression to hold, or `None`
/// when it does not restrict the channel.
pub fn channels(expr: &Expr) -> Option<Vec<String>> {
    keys(expr)?.into_iter().map(|key| key.channel).collect()
}

/// Keys meeting one of `left` and one of `right`.
fn intersect(left: &[Key], right: &[Key]) -> Vec<Key> {
    let mut combined = Vec::new();
    for a in left {
        for b in right {
            let channel = match (&a.channel, &b.channel) {
                (Some(x), Some(y)) if x != y => continue,
                (x, y) => x.clone().or_else(|| y.clone()),
            };
            let event_id = match (a.event_id, b.event_id) {
                (Some(x), Some(y)) if x != y => continue,
                (x, y) => x.or(y),
            };
            combined.push(Key { channel, event_id });
        }
    }
    combined
}

/// Rules by the keys they need; rules without keys are tested on every event.
#[derive(Default)]
pub(crate) struct Routes {
    by_both: FxHashMap<String, FxHashMap<i64, Vec<u32>>>,
    by_channel: FxHashMap<String, Vec<u32>>,
    by_event_id: FxHashMap<i64, Vec<u32>>,
    everywhere: Vec<u32>,
}

impl Routes {
    pub(crate) fn add(&mut self, rule: u32, keys: Option<Vec<Key>>) {
        let Some(keys) = keys else {
            self.everywhere.push(rule);
            return;
        };
        for key in keys {
            let list = match (key.channel, key.event_id) {
                (Some(channel), Some(id)) => self.by_both.entry(channel).or_default().entry(id).or_default(),
                (Some(channel), None) => self.by_channel.entry(channel).or_default(),
                (None, Some(id)) => self.by_event_id.entry(id).or_default(),
                (None, None) => &mut self.everywhere,
            };
            if list.last() != Some(&rule) {
                list.push(rule);
            }
        }
    }

    /// The rules that can match an event of this channel (lower-cased) and event id, sorted,
    /// without repeats.
    pub(crate) fn candidates(&self, channel: &str, event_id: Option<i64>, into: &mut Vec<u32>) {
        into.clear();
        into.extend_from_slice(&self.everywhere);
        if let Some(rules) = self.by_channel.get(channel) {
            into.extend_from_slice(rules);
        }
        if let Some(id) = event_id {
            if let Some(rules) = self.by_event_id.get(&id) {
                into.extend_from_slice(rules);
            }
            if let Some(rules) = self.by_both.get(channel).and_then(|ids| ids.get(&id)) {
                into.extend_from_slice(rules);
            }
        }
        into.sort_unstable();
        into.dedup();
    }
}
