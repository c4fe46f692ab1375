//! The HTML report as a sink: what a hunt found, gathered for `harrier-report`'s page and
//! written when the hunt ends.

use harrier::{CorrelationResult, Flow, Hit, RowResult, RuleKey, RuleSet, Sink, Summary};
use harrier_event::{Event, Timestamp, Value};
use harrier_report::{HitKind, Report, RuleInfo, RunFacts};
use std::collections::HashMap;
use std::io::{self, Write};

/// Gathers hits, correlation results and SPL rows, and writes the report when the hunt ends.
pub struct HtmlReport<W: Write> {
    report: Report,
    /// The report's rule number of each correlation and SPL detection with results.
    rule_numbers: HashMap<RuleKey, usize>,
    out: W,
    /// What was hunted, as the page's title says it.
    title: String,
    generated: String,
}

impl<W: Write> HtmlReport<W> {
    /// A report to be written to `out` (open it before the hunt, so that a path that cannot
    /// be written fails first); its first rules are the set's Sigma rules, in engine order.
    pub fn new(out: W, rules: &RuleSet, title: &str) -> HtmlReport<W> {
        let sigma = rules.running().filter(|(key, _)| matches!(key, RuleKey::Sigma(_)));
        HtmlReport {
            report: Report::new(sigma.map(|(_, meta)| RuleInfo::of(meta, HitKind::Event)).collect()),
            rule_numbers: HashMap::new(),
            out,
            title: title.to_owned(),
            generated: now(),
        }
    }

    /// Hits, correlation results and rows in the report.
    pub fn len(&self) -> usize {
        self.report.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The report's number of a correlation or SPL detection, added at its first result.
    fn rule_number(&mut self, key: RuleKey, meta: &harrier_ir::RuleMeta, kind: HitKind) -> usize {
        let report = &mut self.report;
        *self.rule_numbers.entry(key).or_insert_with(|| report.add_rule(RuleInfo::of(meta, kind)))
    }
}

impl<W: Write> Sink for HtmlReport<W> {
    fn hit(&mut self, hit: &Hit<'_>) -> io::Result<Flow> {
        let RuleKey::Sigma(rule) = hit.key else { return Ok(Flow::Continue) };
        self.report.add(event_hit(rule, hit.event));
        Ok(Flow::Continue)
    }

    /// A correlation result: its group, aggregate and the events behind it.
    fn correlation(&mut self, correlation: &CorrelationResult<'_>) -> io::Result<Flow> {
        let rule = self.rule_number(correlation.key, correlation.rule, HitKind::Correlation);
        let hit = correlation.result;
        let mut fields: Vec<(String, String)> =
            hit.group.iter().map(|(name, value)| (name.clone(), value.clone().unwrap_or_default())).collect();
        fields.push(("value".into(), harrier_pipeline::format_number(hit.value)));
        fields.push(("first".into(), hit.first.to_string()));
        fields.push(("last".into(), hit.last.to_string()));
        for (number, event) in hit.events.iter().enumerate() {
            fields.push((format!("event {}", number + 1), format!("{} record {}", event.source_file, event.record_id)));
        }
        let source = hit.events.first().map(|event| event.source_file.clone()).unwrap_or_default();
        self.report.add(harrier_report::Hit { rule, time_ms: Some(millis(hit.last)), source, record: None, fields });
        Ok(Flow::Continue)
    }

    /// An SPL result row under its detection, timed by its `_time` or `lastTime`.
    fn row(&mut self, result: &RowResult<'_>) -> io::Result<Flow> {
        let rule = self.rule_number(result.key, result.rule, HitKind::Row);
        let row = result.row;
        let fields: Vec<(String, String)> = row
            .fields
            .iter()
            .filter(|(name, _)| name.name() != harrier_cim::DATAMODEL_FIELD)
            .map(|(name, value)| (name.name().to_owned(), text(value)))
            .collect();
        let time = ["_time", "lastTime"].iter().find_map(|name| row.get(name).and_then(epoch_seconds));
        let source = row.sources.iter().map(|source| source.path.as_str()).collect::<Vec<_>>().join(", ");
        let time_ms = time.map(|seconds| (seconds * 1000.0) as i64);
        self.report.add(harrier_report::Hit { rule, time_ms, source, record: None, fields });
        Ok(Flow::Continue)
    }

    fn finish(&mut self, summary: &Summary) -> io::Result<()> {
        let facts = RunFacts {
            generated: self.generated.clone(),
            files: summary.read.files.len() as u64,
            events: summary.events,
            rules: summary.rules_run,
            skipped: skipped_text(&summary.read),
        };
        self.report.write_html(&self.title, &facts, &mut self.out)?;
        self.out.flush()
    }
}

/// The report's hit for a detection rule matching an event.
fn event_hit(rule: usize, event: &Event) -> harrier_report::Hit {
    let mut fields: Vec<(String, String)> = Vec::with_capacity(event.fields().len());
    for field in event.fields() {
        if !fields.iter().any(|(name, _)| name.eq_ignore_ascii_case(field.name())) {
            fields.push((field.name().to_owned(), text(&field.value)));
        }
    }
    harrier_report::Hit {
        rule,
        time_ms: event.timestamp().map(millis),
        source: event.source().path.clone(),
        record: Some(event.record_id()),
        fields,
    }
}

fn text(value: &Value) -> String {
    if value.is_null() {
        return String::new();
    }
    match harrier_pipeline::text_of(value) {
        Some(text) => text.into_owned(),
        None => serde_json::to_string(value).unwrap_or_default(),
    }
}

fn millis(time: Timestamp) -> i64 {
    time.unix_micros().div_euclid(1000)
}

/// A row's time in epoch seconds: as kept, or as `security_content_ctime` (or `convert
/// ctime`'s default) formatted it.
fn epoch_seconds(value: &Value) -> Option<f64> {
    match value {
        Value::Int(seconds) => Some(*seconds as f64),
        Value::Float(seconds) => Some(*seconds),
        Value::Str(text) => ["%Y-%m-%dT%H:%M:%S", "%m/%d/%Y %H:%M:%S"]
            .iter()
            .find_map(|format| harrier_pipeline::parse_time(text, format)),
        _ => None,
    }
}

/// When the hunt ran, in UTC.
fn now() -> String {
    let micros = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|since| i64::try_from(since.as_micros()).unwrap_or(i64::MAX))
        .unwrap_or_default();
    Timestamp::from_unix_micros(micros)
        .map(|time| time.to_string()[..19].replace('T', " ") + " UTC")
        .unwrap_or_default()
}

/// What reading skipped, for the report's header; none when nothing was.
fn skipped_text(summary: &harrier::ReadSummary) -> Option<String> {
    let parts = [
        (summary.skipped_records(), "records"),
        (summary.skipped_chunks(), "chunks"),
        (summary.failed_files() as u64, "unreadable files"),
    ];
    let parts: Vec<String> =
        parts.iter().filter(|(count, _)| *count > 0).map(|(count, what)| format!("{count} {what}")).collect();
    (!parts.is_empty()).then(|| parts.join(", "))
}
