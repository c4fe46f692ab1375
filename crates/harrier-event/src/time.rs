use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
use std::fmt;

/// A time window: from `since` to `until`, both inclusive; either end may be open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimeWindow {
    pub since: Option<Timestamp>,
    pub until: Option<Timestamp>,
}

impl TimeWindow {
    /// Whether the window lets every event through.
    pub fn is_open(&self) -> bool {
        self.since.is_none() && self.until.is_none()
    }

    /// Whether an event is in the window; `None` when the window has an end and the event
    /// has no time to place it by (callers count those rather than guess).
    pub fn place(&self, event: &crate::Event) -> Option<bool> {
        if self.is_open() {
            return Some(true);
        }
        let time = event.timestamp()?;
        Some(self.since.is_none_or(|since| time >= since) && self.until.is_none_or(|until| time <= until))
    }
}

/// A UTC instant with microsecond precision, the precision of EVTX `SystemTime`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(DateTime<Utc>);

impl Timestamp {
    /// Parses the forms Windows exporters write: RFC 3339 (`2025-11-27T07:40:10.165324Z`,
    /// with any offset or up to 9 fraction digits) and `YYYY-MM-DD HH:MM:SS[.fff]` without an
    /// offset, which is taken as UTC (Sysmon `UtcTime`, NXLog).
    pub fn parse(text: &str) -> Option<Timestamp> {
        let text = text.trim();
        let instant = match DateTime::parse_from_rfc3339(text) {
            Ok(t) => t.with_timezone(&Utc),
            Err(_) => {
                let naive = text.trim_end_matches('Z');
                ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"]
                    .iter()
                    .find_map(|format| NaiveDateTime::parse_from_str(naive, format).ok())?
                    .and_utc()
            }
        };
        // EVTX stores 100 ns ticks, which some exporters print and others cut to microseconds.
        Timestamp::from_unix_micros(instant.timestamp_micros())
    }

    /// A time window's bound as a person writes one: what [`Timestamp::parse`] reads, or a
    /// day alone (`2024-05-01`, its first instant, UTC). The error says which forms work.
    pub fn parse_bound(text: &str) -> Result<Timestamp, String> {
        let day = format!("{text} 00:00:00");
        let parsed = Timestamp::parse(text).or_else(|| (text.len() == 10).then(|| Timestamp::parse(&day)).flatten());
        parsed.ok_or_else(|| {
            format!("`{text}` is not a time (use 2024-05-01T13:00:00Z, 2024-05-01 13:00:00 or 2024-05-01)")
        })
    }

    pub fn from_unix_micros(micros: i64) -> Option<Timestamp> {
        DateTime::from_timestamp_micros(micros).map(Timestamp)
    }

    pub fn unix_micros(&self) -> i64 {
        self.0.timestamp_micros()
    }

    pub fn as_datetime(&self) -> &DateTime<Utc> {
        &self.0
    }

    /// The EVTX `SystemTime` form, `2025-11-27T07:40:10.165324Z`, used for every layout so
    /// that the same event exported two ways has the same text.
    pub fn to_canonical_string(&self) -> String {
        self.0.to_rfc3339_opts(SecondsFormat::Micros, true)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_canonical_string())
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_exporter_form_gives_the_same_instant() {
        let evtx = Timestamp::parse("2019-05-18T20:36:46.254000Z").unwrap();
        for text in [
            "2019-05-18T20:36:46.254Z",
            "2019-05-18 20:36:46.254",
            "2019-05-18T22:36:46.254+02:00",
            "2019-05-18T20:36:46.2540004Z",
        ] {
            assert_eq!(Timestamp::parse(text), Some(evtx), "{text}");
        }
        assert_eq!(evtx.to_canonical_string(), "2019-05-18T20:36:46.254000Z");
    }

    #[test]
    fn garbage_is_not_a_time() {
        assert_eq!(Timestamp::parse("yesterday"), None);
        assert_eq!(Timestamp::parse(""), None);
    }
}
