//! Timeline outputs of a hunt: CSV for Eric Zimmerman's Timeline Explorer, and JSON lines
//! that Timesketch imports (`message`, `datetime`, `timestamp_desc`).

use crate::details::details;
use crate::{HitWriter, HitsOnly};
use harrier::Hit;
use serde::Serialize;
use std::io::{self, Write};

const TIMELINE_COLUMNS: [&str; 13] = [
    "Timestamp",
    "Computer",
    "Channel",
    "EventID",
    "Level",
    "RuleTitle",
    "RuleID",
    "Techniques",
    "Tactics",
    "FalsePositives",
    "Details",
    "SourceFile",
    "RecordID",
];

/// Hits as CSV for Timeline Explorer: time, host, channel, event id, rule, ATT&CK, details.
pub struct Timeline<W: Write> {
    out: csv::Writer<W>,
}

impl<W: Write> Timeline<W> {
    /// Writes the header at once, so that a hunt without hits still gives a valid file.
    pub fn new(out: W) -> io::Result<HitsOnly<Timeline<W>>> {
        let mut out = csv::Writer::from_writer(out);
        out.write_record(TIMELINE_COLUMNS)?;
        Ok(HitsOnly::new(Timeline { out }))
    }
}

impl<W: Write> HitWriter for Timeline<W> {
    fn write_hit(&mut self, hit: &Hit<'_>) -> io::Result<bool> {
        let (meta, event) = (hit.rule, hit.event);
        let time = event.timestamp().map(|time| time.as_datetime().format("%Y-%m-%d %H:%M:%S%.6f").to_string());
        self.out.write_record([
            time.unwrap_or_default(),
            event.computer().unwrap_or_default().to_owned(),
            event.channel().unwrap_or_default().to_owned(),
            event.event_id().map(|id| id.to_string()).unwrap_or_default(),
            meta.level.name().to_owned(),
            meta.title.clone(),
            meta.id.clone().unwrap_or_default(),
            meta.techniques.join(";"),
            meta.tactics.join(";"),
            meta.false_positives.join("; "),
            details(event),
            event.source().path.clone(),
            event.record_id().to_string(),
        ])?;
        Ok(true)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// One hit as Timesketch imports it.
#[derive(Serialize)]
struct SketchLine<'a> {
    message: String,
    datetime: String,
    timestamp: i64,
    timestamp_desc: &'static str,
    rule_title: &'a str,
    rule_id: Option<&'a str>,
    level: &'static str,
    techniques: String,
    tactics: String,
    false_positives: String,
    computer: Option<&'a str>,
    channel: Option<&'a str>,
    event_id: Option<i64>,
    source_file: &'a str,
    record_id: u64,
}

/// Hits as JSON lines Timesketch imports; a hit without a time cannot be one (Timesketch
/// needs it) and is counted instead.
pub struct Timesketch<W: Write> {
    out: W,
}

impl<W: Write> Timesketch<W> {
    pub fn new(out: W) -> HitsOnly<Timesketch<W>> {
        HitsOnly::new(Timesketch { out })
    }
}

impl<W: Write> HitWriter for Timesketch<W> {
    fn write_hit(&mut self, hit: &Hit<'_>) -> io::Result<bool> {
        let (meta, event) = (hit.rule, hit.event);
        let Some(time) = event.timestamp() else { return Ok(false) };
        let line = SketchLine {
            message: format!("{} [{}] {}", meta.title, meta.level.name(), details(event)),
            datetime: time.to_string(),
            timestamp: time.unix_micros(),
            timestamp_desc: "Event Time",
            rule_title: &meta.title,
            rule_id: meta.id.as_deref(),
            level: meta.level.name(),
            techniques: meta.techniques.join(", "),
            tactics: meta.tactics.join(", "),
            false_positives: meta.false_positives.join("; "),
            computer: event.computer(),
            channel: event.channel(),
            event_id: event.event_id(),
            source_file: &event.source().path,
            record_id: event.record_id(),
        };
        serde_json::to_writer(&mut self.out, &line)?;
        self.out.write_all(b"\n")?;
        Ok(true)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}
