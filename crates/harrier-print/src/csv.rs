//! Hits as CSV: one row per hit with the rule and the event's system fields.

use crate::{HitWriter, HitsOnly};
use harrier::Hit;
use std::io::{self, Write};

const COLUMNS: [&str; 11] = [
    "timestamp",
    "rule_id",
    "rule_title",
    "level",
    "techniques",
    "tactics",
    "computer",
    "channel",
    "event_id",
    "source_file",
    "record_id",
];

/// Hits as CSV rows under a header.
pub struct Csv<W: Write> {
    out: csv::Writer<W>,
}

impl<W: Write> Csv<W> {
    /// Writes the header at once, so that a hunt without hits still gives a valid file.
    pub fn new(out: W) -> io::Result<HitsOnly<Csv<W>>> {
        let mut out = csv::Writer::from_writer(out);
        out.write_record(COLUMNS)?;
        Ok(HitsOnly::new(Csv { out }))
    }
}

impl<W: Write> HitWriter for Csv<W> {
    fn write_hit(&mut self, hit: &Hit<'_>) -> io::Result<bool> {
        let (meta, event) = (hit.rule, hit.event);
        self.out.write_record([
            event.timestamp().map(|time| time.to_string()).unwrap_or_default(),
            meta.id.clone().unwrap_or_default(),
            meta.title.clone(),
            meta.level.name().to_owned(),
            meta.techniques.join(";"),
            meta.tactics.join(";"),
            event.computer().unwrap_or_default().to_owned(),
            event.channel().unwrap_or_default().to_owned(),
            event.event_id().map(|id| id.to_string()).unwrap_or_default(),
            event.source().path.clone(),
            event.record_id().to_string(),
        ])?;
        Ok(true)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}
