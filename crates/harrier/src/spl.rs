//! SPL detections in a run: ESCU files or an ad-hoc search, compiled into one engine over
//! events as Splunk sees them (`harrier-cim`), each with its pipeline runner.

use harrier_cim::FieldLayer;
use harrier_engine::{Engine, FieldNames};
use harrier_event::Event;
use harrier_ir::{RuleMeta, SourcePlace};
use harrier_pipeline::{Row, Runner};
use harrier_spl::escu::{self, Detection, Library, Outcome};
use std::collections::HashMap;

/// The SPL side of a rule set.
#[derive(Default)]
pub(crate) struct SplSet {
    pub detections: Vec<Detection>,
    /// Whether the selection takes each detection.
    pub selected: Vec<bool>,
    /// Warnings per detection (an ATT&CK id Harrier does not know).
    pub warnings: Vec<Vec<String>>,
    /// Why a detection that parsed cannot run after all, by detection index.
    pub compile_errors: HashMap<usize, String>,
    /// Detection index of each runner, and the runners (immutable; each hunt keeps its own
    /// state of them).
    pub active: Vec<usize>,
    pub runners: Vec<Runner>,
    engine: Option<Engine>,
    /// For each engine rule: (runner, feed of that runner).
    feeds: Vec<(usize, usize)>,
}

impl SplSet {
    /// One ad-hoc search, as `harrier search` gives it.
    pub fn from_search(search: &str, library: &Library) -> Result<SplSet, String> {
        let text = format!("name: search\nsearch: {}\n", serde_json::to_string(search).expect("a string serializes"));
        let place = SourcePlace { file: "<search>".into(), line: 1 };
        let detection = escu::load_text(&text, place, library);
        if let Outcome::Failed(why) = &detection.outcome {
            return Err(why.clone());
        }
        let set = SplSet::compile(vec![detection], library, &|_| true);
        match set.compile_errors.get(&0) {
            Some(why) => Err(why.clone()),
            None => Ok(set),
        }
    }

    /// Compiles loaded detections (those the selection takes) with a library of macros and
    /// lookups.
    pub fn compile(detections: Vec<Detection>, library: &Library, select: &dyn Fn(&RuleMeta) -> bool) -> SplSet {
        let mut set = SplSet { selected: detections.iter().map(|d| select(&d.meta)).collect(), ..SplSet::default() };
        let mut conditions = Vec::new();
        for (index, detection) in detections.iter().enumerate() {
            let Outcome::Runnable(query) = &detection.outcome else { continue };
            if !set.selected[index] {
                continue;
            }
            match Runner::new(query, &library.lookups) {
                Ok(runner) => {
                    for (feed, condition) in runner.conditions().into_iter().enumerate() {
                        if let Some(condition) = condition {
                            set.feeds.push((set.runners.len(), feed));
                            conditions.push(condition.clone());
                        }
                    }
                    set.active.push(index);
                    set.runners.push(runner);
                }
                Err(why) => {
                    set.compile_errors.insert(index, why);
                }
            }
        }
        let (engine, errors) = Engine::with_names(&conditions, FieldNames::Exact);
        for (rule, error) in errors {
            let detection = set.active[set.feeds[rule].0];
            set.compile_errors.insert(detection, error.to_string());
        }
        set.engine = Some(engine);
        let attack = harrier_attack::Attack::get();
        set.warnings = detections
            .iter()
            .map(|detection| {
                let unknown = detection.meta.techniques.iter().filter(|id| attack.technique(id).is_none());
                unknown.map(|id| format!("unknown ATT&CK technique `{id}` in mitre_attack_id")).collect()
            })
            .collect();
        set.detections = detections;
        set
    }

    pub fn is_empty(&self) -> bool {
        self.feeds.is_empty()
    }

    /// The rows an event gives: (runner, feed, row as Splunk sees the event).
    pub fn rows(&self, event: &Event, hits: &mut Vec<usize>, out: &mut Vec<(usize, usize, Row)>) {
        let Some(engine) = &self.engine else { return };
        let view = FieldLayer::builtin().view(event);
        hits.clear();
        engine.matches(&view, hits);
        if hits.is_empty() {
            return;
        }
        let row = Row::from_event(&view);
        for &rule in hits.iter() {
            let (runner, feed) = self.feeds[rule];
            if !self.compile_errors.contains_key(&self.active[runner]) {
                out.push((runner, feed, row.clone()));
            }
        }
    }

    /// The detection behind a runner.
    pub fn detection(&self, runner: usize) -> &Detection {
        &self.detections[self.active[runner]]
    }
}
