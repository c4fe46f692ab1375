use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, Utc};
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
        if let Some(time) = parse_plain_utc(text.as_bytes()) {
            return Some(time);
        }
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

    /// The instant `text` names, as [`Timestamp::parse`] reads it, and the canonical text
    /// to write in its place, `None` when `text` already is that.
    pub fn parse_to_canonical(text: &str) -> Option<(Timestamp, Option<String>)> {
        // Every EVTX record's `SystemTime` has a seventh fraction digit, which the canonical
        // text (microseconds) drops: cut, it is the canonical text, with no formatting.
        let plain = parse_plain_utc(text.as_bytes());
        if let Some(time) = plain
            && text.len() == CANONICAL_LENGTH + 1
            && text.as_bytes()[10] == b'T'
            && text.ends_with('Z')
        {
            let mut canonical = String::with_capacity(CANONICAL_LENGTH);
            canonical.push_str(&text[..CANONICAL_LENGTH - 1]);
            canonical.push('Z');
            return Some((time, Some(canonical)));
        }
        let time = plain.or_else(|| Timestamp::parse(text))?;
        Some((time, (!time.is_canonical_text(text)).then(|| time.to_canonical_string())))
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
        match self.canonical_bytes() {
            Some(bytes) => ascii_text(&bytes),
            None => self.0.to_rfc3339_opts(SecondsFormat::Micros, true),
        }
    }

    /// Whether `text` is this instant's canonical text, without allocating.
    pub fn is_canonical_text(&self, text: &str) -> bool {
        match self.canonical_bytes() {
            Some(bytes) => text.as_bytes() == bytes,
            None => text == self.to_canonical_string(),
        }
    }

    /// The canonical text written digit by digit (every event carries one, and the general
    /// formatter costs more than the rest of a field): `None` for years past four digits.
    fn canonical_bytes(&self) -> Option<[u8; CANONICAL_LENGTH]> {
        canonical_bytes_of_micros(self.unix_micros())
    }
}

const CANONICAL_LENGTH: usize = 27;

/// A FILETIME (100 ns ticks since 1601) as EVTX renders it, `2025-11-27T07:40:10.1653240Z`
/// (the `evtx` crate's JSON, which the EVTX reader's fields must equal): `None` past the year
/// 9999, which that rendering writes its own way.
pub fn filetime_text(ticks: u64) -> Option<String> {
    const TICKS_PER_SECOND: u64 = 10_000_000;
    const SECONDS_FROM_1601_TO_1970: i64 = 11_644_473_600;
    let seconds = i64::try_from(ticks / TICKS_PER_SECOND).ok()? - SECONDS_FROM_1601_TO_1970;
    let bytes: [u8; 28] = utc_text(seconds, (ticks % TICKS_PER_SECOND) as u32)?;
    Some(ascii_text(&bytes))
}

/// The instant of a FILETIME and its canonical text: what reading [`filetime_text`] back with
/// [`Timestamp::parse_to_canonical`] gives, without writing and reading the longer text
/// (every EVTX record's `TimeCreated`); `None` where [`filetime_text`] gives none.
pub fn filetime_instant(ticks: u64) -> Option<(Timestamp, String)> {
    const MICROS_FROM_1601_TO_1970: i64 = 11_644_473_600_000_000;
    let micros = i64::try_from(ticks / 10).ok()? - MICROS_FROM_1601_TO_1970;
    let text = ascii_text(&canonical_bytes_of_micros(micros)?);
    Some((Timestamp::from_unix_micros(micros)?, text))
}

/// The canonical text of the instant `micros` after the Unix epoch (see
/// [`Timestamp::to_canonical_string`]).
fn canonical_bytes_of_micros(micros: i64) -> Option<[u8; CANONICAL_LENGTH]> {
    const MICROS_PER_SECOND: i64 = 1_000_000;
    utc_text(micros.div_euclid(MICROS_PER_SECOND), micros.rem_euclid(MICROS_PER_SECOND) as u32)
}

/// The text of the bytes [`utc_text`] wrote, not checked for UTF-8 again (every event's time
/// is made a text, and the check cost a third of making it).
fn ascii_text(bytes: &[u8]) -> String {
    debug_assert!(bytes.is_ascii());
    // SAFETY: `utc_text` writes ASCII digits and separators only, so the bytes are UTF-8.
    unsafe { String::from_utf8_unchecked(bytes.to_vec()) }
}

/// `YYYY-MM-DDTHH:MM:SS.fffZ` for the second `unix_seconds` after the Unix epoch, with as many
/// fraction digits as `N` leaves room for, `fraction` in them; `None` for years before 0 or
/// past four digits. Written from the day number by arithmetic: every event's time is written
/// this way, and the calendar types cost several times more.
fn utc_text<const N: usize>(unix_seconds: i64, fraction: u32) -> Option<[u8; N]> {
    const SECONDS_PER_DAY: i64 = 86_400;
    let (year, month, day) = civil_from_days(unix_seconds.div_euclid(SECONDS_PER_DAY));
    let year = u32::try_from(year).ok().filter(|&year| year <= 9999)?;
    let second_of_day = unix_seconds.rem_euclid(SECONDS_PER_DAY) as u32;
    let mut bytes = [b'0'; N];
    for (at, separator) in [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':'), (19, b'.'), (N - 1, b'Z')] {
        bytes[at] = separator;
    }
    put_digits(&mut bytes[0..4], year);
    put_digits(&mut bytes[5..7], month);
    put_digits(&mut bytes[8..10], day);
    put_digits(&mut bytes[11..13], second_of_day / 3600);
    put_digits(&mut bytes[14..16], second_of_day / 60 % 60);
    put_digits(&mut bytes[17..19], second_of_day % 60);
    put_digits(&mut bytes[20..N - 1], fraction);
    Some(bytes)
}

/// The proleptic Gregorian year, month and day of the day `days` after 1970-01-01, by the
/// arithmetic of Howard Hinnant's `civil_from_days`: in 400-year eras of 146,097 days, each
/// year counted from March so that the leap day ends it.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    const DAYS_PER_ERA: i64 = 146_097;
    // 0000-03-01, the start of an era, is 719,468 days before 1970-01-01.
    let days = days + 719_468;
    let era = days.div_euclid(DAYS_PER_ERA);
    let day_of_era = days.rem_euclid(DAYS_PER_ERA);
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_from_march + 2) / 5 + 1) as u32;
    let month = if month_from_march < 10 { month_from_march + 3 } else { month_from_march - 9 } as u32;
    (year_of_era + era * 400 + i64::from(month <= 2), month, day)
}

/// Writes `value`'s last decimal digits into `into`, zero-padded.
fn put_digits(into: &mut [u8], mut value: u32) {
    // Two digits at a time: half the divisions.
    let mut end = into.len();
    while end >= 2 {
        into[end - 2..end].copy_from_slice(&DIGIT_PAIRS[(value % 100) as usize]);
        value /= 100;
        end -= 2;
    }
    if end == 1 {
        into[0] = b'0' + (value % 10) as u8;
    }
}

/// `00` to `99`.
const DIGIT_PAIRS: [[u8; 2]; 100] = {
    let mut pairs = [[0; 2]; 100];
    let mut number = 0;
    while number < 100 {
        pairs[number] = [b'0' + (number / 10) as u8, b'0' + (number % 10) as u8];
        number += 1;
    }
    pairs
};

/// The commonest forms, `2025-11-27T07:40:10.1653240Z` and `2025-11-27 07:40:10.165`, read
/// without the general parsers: the same instant they give, or `None` for anything else (a
/// time they may still read, or reject).
fn parse_plain_utc(text: &[u8]) -> Option<Timestamp> {
    let (date_time, fraction) = text.split_at_checked(19)?;
    let number = |range: std::ops::Range<usize>| decimal(&date_time[range]);
    let separators = [(4, b'-'), (7, b'-'), (13, b':'), (16, b':')];
    if !separators.iter().all(|&(at, byte)| date_time[at] == byte) || !matches!(date_time[10], b'T' | b' ') {
        return None;
    }
    let fraction = fraction.strip_suffix(b"Z").unwrap_or(fraction);
    let nanos = match fraction {
        [] => 0,
        [b'.', digits @ ..] if (1..=9).contains(&digits.len()) => decimal(digits)? * 10u32.pow(9 - digits.len() as u32),
        _ => return None,
    };
    let date = NaiveDate::from_ymd_opt(i32::try_from(number(0..4)?).ok()?, number(5..7)?, number(8..10)?)?;
    // A leap second (`:60`) is left to the general parsers, which have their own rule for it.
    let time = date.and_hms_nano_opt(number(11..13)?, number(14..16)?, number(17..19)?, nanos)?;
    Timestamp::from_unix_micros(time.and_utc().timestamp_micros())
}

/// The value of ASCII decimal digits (at most nine); `None` if any byte is not one.
fn decimal(digits: &[u8]) -> Option<u32> {
    digits.iter().try_fold(0, |value, &byte| byte.is_ascii_digit().then(|| value * 10 + u32::from(byte - b'0')))
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

    /// The hand-written reader and writer give what the general parser and formatter give.
    #[test]
    fn the_plain_forms_read_and_write_as_the_general_parsers_do() {
        let general = |text: &str| {
            let instant = DateTime::parse_from_rfc3339(text).map(|t| t.with_timezone(&Utc)).ok().or_else(|| {
                NaiveDateTime::parse_from_str(text.trim_end_matches('Z'), "%Y-%m-%d %H:%M:%S%.f")
                    .ok()
                    .map(|t| t.and_utc())
            })?;
            Timestamp::from_unix_micros(instant.timestamp_micros())
        };
        for text in [
            "2019-05-18T20:36:46.254000Z",
            "2019-05-18T20:36:46.2540004Z",
            "2019-05-18T20:36:46.123456789Z",
            "2019-05-18T20:36:46Z",
            "2019-05-18 20:36:46.254",
            "2019-05-18 20:36:46",
            "1601-01-01T00:00:00.0000000Z",
            "1969-12-31T23:59:59.9999999Z",
            "9999-12-31T23:59:59.9999999Z",
            "2024-02-29T12:00:00.5Z",
        ] {
            let fast = parse_plain_utc(text.as_bytes());
            assert!(fast.is_some(), "{text} takes the fast path");
            assert_eq!(fast, general(text), "{text}");
            let time = fast.unwrap();
            assert_eq!(time.to_canonical_string(), time.0.to_rfc3339_opts(SecondsFormat::Micros, true));
            assert!(time.is_canonical_text(&time.to_canonical_string()));
            let (parsed, canonical) = Timestamp::parse_to_canonical(text).unwrap();
            assert_eq!(parsed, time, "{text}");
            assert_eq!(canonical.as_deref().unwrap_or(text), time.to_canonical_string(), "{text}");
        }
        for text in ["2023-02-29T00:00:00Z", "2019-05-18T20:36:60Z", "2019-05-18T20:36:46.Z", "2019-05-18t20:36:46Z"] {
            assert_eq!(parse_plain_utc(text.as_bytes()), None, "{text} is left to the general parsers");
        }
        assert_eq!(Timestamp::parse("2019-05-18T20:36:46+02:00"), general("2019-05-18T20:36:46+02:00"));
    }

    /// The arithmetic calendar writes what chrono's does, on a day of every week from 1601
    /// (the first FILETIME) to 9999, each at another time of day, and stops where it should.
    #[test]
    fn times_are_written_as_the_calendar_writes_them() {
        const FIRST_FILETIME_DAY: i64 = -134_774;
        const LAST_DAY_OF_9999: i64 = 2_932_896;
        let mut second_of_day = 0;
        for day in (FIRST_FILETIME_DAY..=LAST_DAY_OF_9999).step_by(7).chain([-719_528, 0, 11_016, LAST_DAY_OF_9999]) {
            second_of_day = (second_of_day + 7_919) % 86_400;
            let seconds = day * 86_400 + second_of_day;
            let micros = seconds * 1_000_000 + (day.rem_euclid(1_000_000));
            let general = DateTime::from_timestamp_micros(micros).unwrap();
            let canonical = canonical_bytes_of_micros(micros).map(|bytes| String::from_utf8(bytes.to_vec()).unwrap());
            assert_eq!(canonical.unwrap(), general.to_rfc3339_opts(SecondsFormat::Micros, true), "day {day}");
            let ticks = 1_234_567;
            let with_ticks: [u8; 28] = utc_text(seconds, ticks).unwrap();
            let expected = format!("{}Z", general.format("%Y-%m-%dT%H:%M:%S.1234567"));
            assert_eq!(String::from_utf8(with_ticks.to_vec()).unwrap(), expected, "day {day}");
        }
        assert_eq!(utc_text::<27>((LAST_DAY_OF_9999 + 1) * 86_400, 0), None, "the year 10000");
        assert_eq!(utc_text::<27>(-719_528 * 86_400 - 1, 0), None, "the year -1");
    }

    #[test]
    fn garbage_is_not_a_time() {
        assert_eq!(Timestamp::parse("yesterday"), None);
        assert_eq!(Timestamp::parse(""), None);
    }
}
