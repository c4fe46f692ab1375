//! Epoch times as text and back, with strftime formats (`convert ctime`, `strftime`,
//! `strptime`). Times are UTC: logs carry UTC, and Harrier has no user time zone.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use std::fmt::Write;

/// `ctime(1663246579.679)` with `%Y-%m-%dT%H:%M:%S` → `2022-09-15T12:56:19`.
pub fn format_epoch(time: f64, format: &str) -> Option<String> {
    let micros = (time * 1e6).round() as i64;
    let moment: DateTime<Utc> = DateTime::from_timestamp_micros(micros)?;
    let mut out = String::new();
    // An unknown directive makes chrono's formatter fail rather than print it.
    write!(out, "{}", moment.format(format)).ok()?;
    Some(out)
}

/// `strptime("2022-09-15 12:56:19", "%Y-%m-%d %H:%M:%S")` → epoch seconds.
pub fn parse_time(text: &str, format: &str) -> Option<f64> {
    if let Ok(moment) = DateTime::parse_from_str(text, format) {
        return Some(moment.timestamp_micros() as f64 / 1e6);
    }
    if let Ok(moment) = NaiveDateTime::parse_from_str(text, format) {
        return Some(moment.and_utc().timestamp_micros() as f64 / 1e6);
    }
    let date = NaiveDate::parse_from_str(text, format).ok()?;
    Some(date.and_hms_opt(0, 0, 0)?.and_utc().timestamp() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ctime_as_security_content_ctime_does() {
        assert_eq!(format_epoch(1663246579.679, "%Y-%m-%dT%H:%M:%S").as_deref(), Some("2022-09-15T12:56:19"));
        assert_eq!(format_epoch(0.0, "%m/%d/%Y %H:%M:%S").as_deref(), Some("01/01/1970 00:00:00"));
        assert_eq!(parse_time("2022-09-15 12:56:19", "%Y-%m-%d %H:%M:%S"), Some(1663246579.0));
    }
}
