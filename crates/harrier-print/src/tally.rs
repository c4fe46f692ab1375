//! What each rule found, with the hosts and processes of its hits: the figures of
//! `coverage --logs` and `noise`.

use harrier::{CorrelationResult, Flow, Hit, RowResult, RuleKey, RuleSet, Sink, Timestamp};
use harrier_report::actors::{HOST_FIELDS, PROCESS_FIELDS, first_of};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io;

/// What one rule found over a hunt.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    pub title: String,
    pub id: Option<String>,
    pub techniques: Vec<String>,
    /// Hits; a correlation result counts once, an SPL `stats` row as the events it counted.
    pub hits: u64,
    pub hosts: BTreeSet<String>,
    /// Hits per (field, process): the field is where the process was found.
    pub processes: BTreeMap<(&'static str, String), u64>,
    /// The times of the first and last hit with a time.
    pub first: Option<Timestamp>,
    pub last: Option<Timestamp>,
}

impl Tally {
    /// The process with the most hits (ties: the first by name), with the field it was in.
    pub fn top_process(&self) -> Option<(&'static str, &str, u64)> {
        let most = self.processes.iter().max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))?;
        let ((field, process), count) = most;
        Some((field, process.as_str(), *count))
    }

    fn add(&mut self, weight: u64, time: Option<Timestamp>, get: &dyn Fn(&str) -> Option<String>) {
        self.hits += weight;
        if let Some(time) = time {
            self.first = Some(self.first.map_or(time, |first| first.min(time)));
            self.last = Some(self.last.map_or(time, |last| last.max(time)));
        }
        self.hosts.extend(first_of(HOST_FIELDS, get).map(|(_, host)| host));
        if let Some(process) = first_of(PROCESS_FIELDS, get) {
            *self.processes.entry(process).or_default() += weight;
        }
    }
}

/// Tallies every rule of a set over a hunt.
pub struct Tallies<'r> {
    rules: &'r RuleSet,
    found: HashMap<RuleKey, Tally>,
}

impl<'r> Tallies<'r> {
    pub fn new(rules: &'r RuleSet) -> Tallies<'r> {
        Tallies { rules, found: HashMap::new() }
    }

    fn tally(&mut self, key: RuleKey) -> &mut Tally {
        self.found.entry(key).or_default()
    }

    /// A tally per rule in result order: every Sigma rule and SPL detection, and the
    /// correlations that gave results.
    pub fn into_tallies(mut self) -> Vec<Tally> {
        let rules = self.rules;
        rules
            .running()
            .filter_map(|(key, meta)| {
                let found = self.found.remove(&key);
                if found.is_none() && matches!(key, RuleKey::Correlation(_)) {
                    return None;
                }
                let found = found.unwrap_or_default();
                Some(Tally {
                    title: meta.title.clone(),
                    id: meta.id.clone(),
                    techniques: meta.techniques.clone(),
                    ..found
                })
            })
            .collect()
    }
}

impl Sink for Tallies<'_> {
    fn hit(&mut self, hit: &Hit<'_>) -> io::Result<Flow> {
        let event = hit.event;
        self.tally(hit.key).add(1, event.timestamp(), &|field| event.text(field).map(|text| text.into_owned()));
        Ok(Flow::Continue)
    }

    fn correlation(&mut self, correlation: &CorrelationResult<'_>) -> io::Result<Flow> {
        let group = &correlation.result.group;
        let get = |field: &str| group.iter().find(|(name, _)| name == field).and_then(|(_, value)| value.clone());
        self.tally(correlation.key).add(1, None, &get);
        Ok(Flow::Continue)
    }

    fn row(&mut self, result: &RowResult<'_>) -> io::Result<Flow> {
        let row = result.row;
        let count = row.get("count").and_then(|count| count.as_i64()).filter(|_| result.aggregates);
        let weight = count.unwrap_or(1).max(1) as u64;
        self.tally(result.key).add(weight, None, &|field| row.text(field).map(|text| text.into_owned()));
        Ok(Flow::Continue)
    }
}

/// An exclusions file silencing each rule's most frequent process (by file name, so a path
/// that differs between hosts still matches). Rules whose hits name no process are listed as
/// comments: only a person can say whether the whole rule is noise.
pub fn proposed_exclusions(tallies: &[Tally]) -> String {
    let mut items = Vec::new();
    let mut without_process = String::new();
    for tally in tallies {
        let Some(id) = &tally.id else { continue };
        let Some((field, process, count)) = tally.top_process() else {
            let hosts = tally.hosts.len();
            without_process += &format!("#   {id}  {} ({} hits on {hosts} hosts)\n", tally.title, tally.hits);
            continue;
        };
        let name = process.rsplit(['\\', '/']).next().unwrap_or(process).to_owned();
        let mut selection = yaml_serde::Mapping::new();
        if field == "process_name" {
            selection.insert(field.into(), name.clone().into());
        } else {
            selection.insert(format!("{field}|endswith").into(), format!("\\{name}").into());
        }
        let mut detection = yaml_serde::Mapping::new();
        detection.insert("noisy_process".into(), yaml_serde::Value::Mapping(selection));
        detection.insert("condition".into(), "noisy_process".into());
        let mut item = yaml_serde::Mapping::new();
        let hosts = tally.hosts.len();
        item.insert(
            "name".into(),
            format!("{} from {name} ({count} of {} hits on {hosts} hosts)", tally.title, tally.hits).into(),
        );
        item.insert("rule".into(), id.clone().into());
        item.insert("detection".into(), yaml_serde::Value::Mapping(detection));
        items.push(yaml_serde::Value::Mapping(item));
    }
    let mut document = yaml_serde::Mapping::new();
    document.insert("exclusions".into(), yaml_serde::Value::Sequence(items));
    let body = yaml_serde::to_string(&document).expect("a mapping serializes");
    let mut text = format!("# Proposed by `harrier noise`: review each before using it with `hunt --exclude`.\n{body}");
    if !without_process.is_empty() {
        text += "# Noisy rules whose hits name no process (exclude by rule id if the rule is noise here):\n";
        text += &without_process;
    }
    text
}
