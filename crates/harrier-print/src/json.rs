//! JSON Lines: the stable output contract of `hunt --format jsonl`.

use harrier::{CorrelationResult, Flow, Hit, RowResult, Sink, Undecided};
use harrier_event::Timestamp;
use harrier_ir::{Annotation, RuleMeta};
use harrier_pipeline::Row;
use serde::Serialize;
use std::io::{self, Write};

/// What every output line says of its rule.
#[derive(Serialize)]
pub struct RuleFields<'a> {
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
    pub fn of(meta: &'a RuleMeta) -> RuleFields<'a> {
        RuleFields {
            rule_id: meta.id.as_deref(),
            rule_title: &meta.title,
            level: meta.level.name(),
            status: meta.status.map(|status| status.name()),
            techniques: &meta.techniques,
            technique_names: technique_names(meta),
            tactics: &meta.tactics,
            false_positives: &meta.false_positives,
            rule_file: meta.source.to_string(),
            annotations: meta.annotations.iter().map(|(key, value)| (key.clone(), annotation(value))).collect(),
        }
    }
}

/// The ATT&CK names of a rule's techniques, in order (`None` for an id ATT&CK lacks).
pub fn technique_names(meta: &RuleMeta) -> Vec<Option<&'static str>> {
    let attack = harrier_attack::Attack::get();
    meta.techniques.iter().map(|id| attack.technique(id).map(|technique| technique.name.as_str())).collect()
}

fn annotation(value: &Annotation) -> serde_json::Value {
    match value {
        Annotation::Text(text) => serde_json::json!(text),
        Annotation::Number(number) => serde_json::json!(number),
        Annotation::List(items) => serde_json::json!(items),
    }
}

/// One hit as a JSON line.
#[derive(Serialize)]
struct HitLine<'a> {
    timestamp: Option<Timestamp>,
    #[serde(flatten)]
    rule: RuleFields<'a>,
    source_file: &'a str,
    record_id: u64,
    event: harrier_event::FieldsMap<'a>,
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

/// How many events a rule could not decide, as a JSON line.
#[derive(Serialize)]
struct UndecidedLine<'a> {
    r#type: &'static str,
    #[serde(flatten)]
    rule: RuleFields<'a>,
    events: u64,
    why: &'static str,
}

/// Why a rule cannot decide an event.
pub const UNDECIDED_WHY: &str = "the rule tests a field these events' source cannot carry (a Sysmon field on \
     Security 4688, or ParentProcessName on a 4688 before version 2): unknown, so neither hit nor miss";

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

/// A row's fields as a JSON object, in order (the internal data model list left out).
pub struct RowMap<'a>(pub &'a Row);

impl Serialize for RowMap<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        for (name, value) in &self.0.fields {
            if name.name() != harrier_cim::DATAMODEL_FIELD {
                map.serialize_entry(name.name(), value)?;
            }
        }
        map.end()
    }
}

/// Writes each result as one JSON object on its own line.
pub struct JsonLines<W: Write> {
    out: W,
    /// Whether each line names its rule (not for the results of one ad-hoc search).
    with_rule: bool,
}

/// An SPL result row of an ad-hoc search: the row alone.
#[derive(Serialize)]
struct SearchRowLine<'a> {
    r#type: &'static str,
    source_files: Vec<&'a str>,
    row: RowMap<'a>,
}

/// An event an ad-hoc search kept: the event as `harrier events` writes one.
#[derive(Serialize)]
struct SearchEventLine<'a> {
    timestamp: Option<Timestamp>,
    source_file: &'a str,
    record_id: u64,
    event: RowMap<'a>,
}

impl<W: Write> JsonLines<W> {
    pub fn new(out: W) -> JsonLines<W> {
        JsonLines { out, with_rule: true }
    }

    /// Lines without the rule's fields: the results of one ad-hoc search, which is no rule.
    pub fn without_rule(mut self) -> Self {
        self.with_rule = false;
        self
    }

    /// The writer back, once the hunt is over.
    pub fn into_inner(self) -> W {
        self.out
    }

    fn line(&mut self, value: &impl Serialize) -> io::Result<Flow> {
        serde_json::to_writer(&mut self.out, value)?;
        self.out.write_all(b"\n")?;
        Ok(Flow::Continue)
    }
}

impl<W: Write> Sink for JsonLines<W> {
    fn hit(&mut self, hit: &Hit<'_>) -> io::Result<Flow> {
        let event = hit.event;
        self.line(&HitLine {
            timestamp: event.timestamp(),
            rule: RuleFields::of(hit.rule),
            source_file: &event.source().path,
            record_id: event.record_id(),
            event: event.fields_map(),
        })
    }

    fn correlation(&mut self, correlation: &CorrelationResult<'_>) -> io::Result<Flow> {
        let result = correlation.result;
        let group = result.group.iter().map(|(field, value)| (field.clone(), serde_json::json!(value))).collect();
        let events = result
            .events
            .iter()
            .map(|event| serde_json::json!({"source_file": event.source_file, "record_id": event.record_id, "rule": event.rule}))
            .collect();
        self.line(&CorrelationLine {
            r#type: "correlation",
            timestamp: result.last,
            rule: RuleFields::of(correlation.rule),
            correlation_type: correlation.kind,
            group,
            value: result.value,
            first: result.first,
            last: result.last,
            events,
        })
    }

    fn row(&mut self, result: &RowResult<'_>) -> io::Result<Flow> {
        let row = result.row;
        if !self.with_rule {
            return match &row.origin {
                Some(origin) if !result.aggregates => self.line(&SearchEventLine {
                    timestamp: origin.timestamp,
                    source_file: &origin.source.path,
                    record_id: origin.record_id,
                    event: RowMap(row),
                }),
                _ => {
                    let source_files = row.sources.iter().map(|source| source.path.as_str()).collect();
                    self.line(&SearchRowLine { r#type: "row", source_files, row: RowMap(row) })
                }
            };
        }
        match &row.origin {
            Some(origin) if !result.aggregates => self.line(&EventRowLine {
                timestamp: origin.timestamp,
                rule: RuleFields::of(result.rule),
                source_file: &origin.source.path,
                record_id: origin.record_id,
                event: RowMap(row),
            }),
            _ => {
                let source_files = row.sources.iter().map(|source| source.path.as_str()).collect();
                self.line(&RowLine { r#type: "row", rule: RuleFields::of(result.rule), source_files, row: RowMap(row) })
            }
        }
    }

    fn undecided(&mut self, undecided: &Undecided<'_>) -> io::Result<Flow> {
        let line = UndecidedLine {
            r#type: "undecided",
            rule: RuleFields::of(undecided.rule),
            events: undecided.events,
            why: UNDECIDED_WHY,
        };
        self.line(&line)
    }

    fn finish(&mut self, _: &harrier::Summary) -> io::Result<()> {
        self.out.flush()
    }
}
