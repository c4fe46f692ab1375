//! `hunt --html FILE`: what the hunt found, gathered for the HTML report of `harrier-report`.

use crate::rules::RuleSet;
use harrier_correlate::CorrelationHit;
use harrier_event::{Event, Timestamp, Value};
use harrier_report::{Hit, HitKind, Report, RuleInfo, RunFacts};
use std::collections::BTreeMap;
use std::path::Path;

/// A report whose first rules are the hunt's detection rules, in engine order.
pub(crate) fn new_report(set: &RuleSet) -> Report {
    Report::new((0..set.active.len()).map(|rule| RuleInfo::of(&set.rule(rule).meta, HitKind::Event)).collect())
}

/// The report's hit for a detection rule matching an event.
pub(crate) fn event_hit(rule: usize, event: &Event) -> Hit {
    let mut fields: Vec<(String, String)> = Vec::with_capacity(event.fields().len());
    for field in event.fields() {
        if !fields.iter().any(|(name, _)| name.eq_ignore_ascii_case(&field.name)) {
            fields.push((field.name.to_string(), text(&field.value)));
        }
    }
    Hit {
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

/// Adds each correlation result: its group, aggregate and the events behind it.
pub(crate) fn add_correlations(report: &mut Report, set: &RuleSet, hits: &[CorrelationHit]) {
    let mut rules = BTreeMap::new();
    for hit in hits {
        let rule = *rules.entry(hit.correlation).or_insert_with(|| {
            let correlation = set.correlator.correlation(hit.correlation);
            report.add_rule(RuleInfo::of(&correlation.meta, HitKind::Correlation))
        });
        let mut fields: Vec<(String, String)> =
            hit.group.iter().map(|(name, value)| (name.clone(), value.clone().unwrap_or_default())).collect();
        fields.push(("value".into(), harrier_pipeline::format_number(hit.value)));
        fields.push(("first".into(), hit.first.to_string()));
        fields.push(("last".into(), hit.last.to_string()));
        for (number, event) in hit.events.iter().enumerate() {
            fields.push((format!("event {}", number + 1), format!("{} record {}", event.source_file, event.record_id)));
        }
        let source = hit.events.first().map(|event| event.source_file.clone()).unwrap_or_default();
        report.add(Hit { rule, time_ms: Some(millis(hit.last)), source, record: None, fields });
    }
}

/// Adds each SPL result row under its detection, timed by its `_time` or `lastTime`.
pub(crate) fn add_rows<'a>(
    report: &mut Report,
    set: &RuleSet,
    results: impl Iterator<Item = (usize, &'a [harrier_pipeline::Row])>,
) {
    for (runner, rows) in results {
        if rows.is_empty() {
            continue;
        }
        let rule = report.add_rule(RuleInfo::of(&set.spl.detection(runner).meta, HitKind::Row));
        for row in rows {
            let fields: Vec<(String, String)> = row
                .fields
                .iter()
                .filter(|(name, _)| &**name != harrier_cim::DATAMODEL_FIELD)
                .map(|(name, value)| (name.to_string(), text(value)))
                .collect();
            let time = ["_time", "lastTime"].iter().find_map(|name| row.get(name).and_then(epoch_seconds));
            let source = row.sources.iter().map(|source| source.path.as_str()).collect::<Vec<_>>().join(", ");
            report.add(Hit {
                rule,
                time_ms: time.map(|seconds| (seconds * 1000.0) as i64),
                source,
                record: None,
                fields,
            });
        }
    }
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

/// Writes the report, naming it after the paths hunted.
pub(crate) fn write(report: &Report, path: &Path, paths: &[String], facts: &RunFacts) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    report.write_html(&paths.join(" "), facts, &mut out)?;
    std::io::Write::flush(&mut out)?;
    eprintln!("harrier: report of {} hits written to {}", report.len(), path.display());
    Ok(())
}

/// When the hunt ran, in UTC.
pub(crate) fn now() -> String {
    let micros = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|since| i64::try_from(since.as_micros()).unwrap_or(i64::MAX))
        .unwrap_or_default();
    Timestamp::from_unix_micros(micros)
        .map(|time| time.to_string()[..19].replace('T', " ") + " UTC")
        .unwrap_or_default()
}
