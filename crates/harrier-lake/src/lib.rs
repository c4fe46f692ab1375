//! Normalized events as Parquet files for a data lake (what `harrier ingest` writes and a
//! distributed engine reads).
//!
//! Layout: `DIR/log=<channel>/date=<YYYY-MM-DD>/part-<n>.parquet` (Hive-style partitions; the
//! channel with characters other than letters, digits, `-`, `_` and `.` replaced by `_`; the
//! UTC day of the event, `unknown` without a time).
//!
//! Schema of every file: core columns first, then one text column per event field in that
//! file (names as the event has them; values as their canonical text, a list's items one per line).
//! Field names are compared ignoring case, as Harrier's lookups do (the first of `ProcessId`
//! and `ProcessID` is kept), except for a lake of events as Splunk sees them
//! ([`LakeWriter::with_case_sensitive_names`], `harrier ingest --view splunk`), where they are distinct:
//!
//! | column | type | |
//! |---|---|---|
//! | `_time` | double | epoch seconds, UTC (what correlation SQL windows on) |
//! | `_timestamp` | timestamp (µs, UTC) | the same time, typed |
//! | `_channel`, `_provider`, `_computer` | string | |
//! | `_event_id` | int64 | |
//! | `_source` | string | the file the event came from |
//! | `_record` | int64 | EVTX EventRecordID or 1-based JSON line |
//! | `_event` | string | the whole event as JSON (field order and types kept; the event as read, also in a Splunk-view lake) |
//!
//! Memory stays bounded: rows wait per partition and a partition is written as a file when it
//! holds `rows_per_file` rows, or, when all partitions together hold `max_buffered_rows`, the
//! largest one is.

use arrow_array::builder::{Float64Builder, Int64Builder, StringBuilder, TimestampMicrosecondBuilder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use harrier_event::{Event, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

mod read;
pub use read::{EVENT_SOURCE_COLUMNS, json_fields, read_events};

/// The core columns, in order.
pub const CORE_COLUMNS: [&str; 8] =
    ["_time", "_timestamp", "_channel", "_provider", "_computer", "_event_id", "_source", "_record"];
/// The column holding the whole event as JSON.
pub const EVENT_COLUMN: &str = "_event";

/// One event as it waits for its file.
struct Row {
    time: Option<i64>,
    channel: Option<String>,
    provider: Option<String>,
    computer: Option<String>,
    event_id: Option<i64>,
    source: String,
    record: i64,
    json: String,
    fields: Vec<(String, String)>,
}

/// Writes events into partitioned Parquet files.
pub struct LakeWriter {
    root: PathBuf,
    rows_per_file: usize,
    max_buffered_rows: usize,
    pending: BTreeMap<(String, String), Vec<Row>>,
    /// Whether field names that differ only by case are different columns.
    case_sensitive_names: bool,
    buffered: usize,
    files: usize,
    rows_written: u64,
}

impl LakeWriter {
    pub fn new(root: &Path) -> LakeWriter {
        LakeWriter {
            root: root.to_owned(),
            rows_per_file: 100_000,
            max_buffered_rows: 400_000,
            pending: BTreeMap::new(),
            case_sensitive_names: false,
            buffered: 0,
            files: 0,
            rows_written: 0,
        }
    }

    pub fn with_limits(mut self, rows_per_file: usize, max_buffered_rows: usize) -> LakeWriter {
        self.rows_per_file = rows_per_file.max(1);
        self.max_buffered_rows = max_buffered_rows.max(1);
        self
    }

    /// Field names that differ only by case become different columns (for events as Splunk
    /// sees them, whose names are case-sensitive).
    pub fn with_case_sensitive_names(mut self) -> LakeWriter {
        self.case_sensitive_names = true;
        self
    }

    pub fn write(&mut self, event: &Event) -> std::io::Result<()> {
        self.write_row(event, event)
    }

    /// Writes an event's columns from another view of it (`view`: the event as Splunk sees
    /// it, whose field names are case-sensitive); `_event` and the core columns come from
    /// `event`.
    pub fn write_view(&mut self, event: &Event, view: &Event) -> std::io::Result<()> {
        self.write_row(event, view)
    }

    fn write_row(&mut self, event: &Event, view: &Event) -> std::io::Result<()> {
        let day = event.timestamp().map(|time| time.to_string()[..10].to_owned()).unwrap_or_else(|| "unknown".into());
        let log = event.channel().map(sanitized).unwrap_or_else(|| "unknown".into());
        let row = Row::of(event, view, self.case_sensitive_names).map_err(std::io::Error::other)?;
        let key = (log, day);
        let rows = self.pending.entry(key.clone()).or_default();
        rows.push(row);
        self.buffered += 1;
        if rows.len() >= self.rows_per_file {
            self.flush(&key)?;
        } else if self.buffered >= self.max_buffered_rows {
            let largest = self.pending.iter().max_by_key(|(_, rows)| rows.len()).map(|(key, _)| key.clone());
            if let Some(key) = largest {
                self.flush(&key)?;
            }
        }
        Ok(())
    }

    /// Writes what is left; gives (files written, rows written).
    pub fn finish(mut self) -> std::io::Result<(usize, u64)> {
        let keys: Vec<(String, String)> = self.pending.keys().cloned().collect();
        for key in keys {
            self.flush(&key)?;
        }
        Ok((self.files, self.rows_written))
    }

    fn flush(&mut self, key: &(String, String)) -> std::io::Result<()> {
        let Some(rows) = self.pending.remove(key) else { return Ok(()) };
        if rows.is_empty() {
            return Ok(());
        }
        self.buffered -= rows.len();
        let directory = self.root.join(format!("log={}", key.0)).join(format!("date={}", key.1));
        std::fs::create_dir_all(&directory)?;
        let path = directory.join(format!("part-{:05}.parquet", self.files));
        let batch = record_batch(&rows).map_err(std::io::Error::other)?;
        let file = std::fs::File::create(&path)?;
        let properties = parquet::file::properties::WriterProperties::builder()
            .set_compression(parquet::basic::Compression::SNAPPY)
            .build();
        let mut writer = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), Some(properties))
            .map_err(std::io::Error::other)?;
        writer.write(&batch).map_err(std::io::Error::other)?;
        writer.close().map_err(std::io::Error::other)?;
        self.files += 1;
        self.rows_written += rows.len() as u64;
        Ok(())
    }
}

impl Row {
    fn of(event: &Event, view: &Event, case_sensitive_names: bool) -> serde_json::Result<Row> {
        // A null value is no value: the column stays NULL.
        let fields = unique_fields(view, case_sensitive_names)
            .into_iter()
            .filter(|(_, value)| !value.is_null())
            .map(|(name, value)| (name, text(value)))
            .collect();
        Ok(Row {
            time: event.timestamp().map(|time| time.unix_micros()),
            channel: event.channel().map(str::to_owned),
            provider: event.provider().map(str::to_owned),
            computer: event.computer().map(str::to_owned),
            event_id: event.event_id(),
            source: event.source().path.clone(),
            record: i64::try_from(event.record_id()).unwrap_or(i64::MAX),
            json: serde_json::to_string(&event.fields_map())?,
            fields,
        })
    }
}

/// Events as one Arrow batch with the schema of a lake file (core columns, then one text
/// column per field name, in first-seen order): what a notebook gets as a table of events.
pub fn events_batch<'e>(events: impl IntoIterator<Item = &'e Event>) -> Result<RecordBatch, arrow_schema::ArrowError> {
    let rows = events
        .into_iter()
        .map(|event| Row::of(event, event, false))
        .collect::<serde_json::Result<Vec<Row>>>()
        .map_err(|error| arrow_schema::ArrowError::ExternalError(Box::new(error)))?;
    record_batch(&rows)
}

/// The fields of an event, first occurrence of a name kept (of a name ignoring case, as
/// Harrier's lookups do, unless `case_sensitive`).
fn unique_fields(event: &Event, case_sensitive: bool) -> Vec<(String, &Value)> {
    let mut seen = BTreeSet::new();
    let key = |name: &str| if case_sensitive { name.to_owned() } else { name.to_ascii_lowercase() };
    event
        .fields()
        .iter()
        .filter(|field| seen.insert(key(field.name())))
        .map(|field| (field.name().to_owned(), &field.value))
        .collect()
}

/// A value's text: scalars canonical, a list its items' texts one per line (as SPL sees a
/// multivalue field, and as SQL's membership test for `_datamodel` reads it).
pub fn text(value: &Value) -> String {
    match value {
        Value::List(items) => items.iter().map(text).collect::<Vec<_>>().join("\n"),
        scalar => scalar.as_text().map(|text| text.into_owned()).unwrap_or_default(),
    }
}

fn sanitized(channel: &str) -> String {
    channel.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '_' }).collect()
}

fn record_batch(rows: &[Row]) -> Result<RecordBatch, arrow_schema::ArrowError> {
    // The file's field columns: every field name of its rows, in first-seen order, without the
    // names the core columns take.
    let mut names: Vec<&str> = Vec::new();
    let mut known = BTreeSet::new();
    for row in rows {
        for (name, _) in &row.fields {
            if !CORE_COLUMNS.contains(&name.as_str()) && name != EVENT_COLUMN && known.insert(name.as_str()) {
                names.push(name);
            }
        }
    }
    let mut schema = vec![
        Field::new("_time", DataType::Float64, true),
        Field::new("_timestamp", DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())), true),
        Field::new("_channel", DataType::Utf8, true),
        Field::new("_provider", DataType::Utf8, true),
        Field::new("_computer", DataType::Utf8, true),
        Field::new("_event_id", DataType::Int64, true),
        Field::new("_source", DataType::Utf8, false),
        Field::new("_record", DataType::Int64, false),
        Field::new(EVENT_COLUMN, DataType::Utf8, false),
    ];
    let strings = |get: &dyn Fn(&Row) -> Option<&str>| -> ArrayRef {
        let mut builder = StringBuilder::new();
        for row in rows {
            builder.append_option(get(row));
        }
        Arc::new(builder.finish())
    };
    let mut seconds = Float64Builder::new();
    let mut timestamps = TimestampMicrosecondBuilder::new().with_timezone("UTC");
    let mut event_ids = Int64Builder::new();
    let mut records = Int64Builder::new();
    for row in rows {
        seconds.append_option(row.time.map(|micros| micros as f64 / 1e6));
        timestamps.append_option(row.time);
        event_ids.append_option(row.event_id);
        records.append_value(row.record);
    }
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(seconds.finish()),
        Arc::new(timestamps.finish()),
        strings(&|row| row.channel.as_deref()),
        strings(&|row| row.provider.as_deref()),
        strings(&|row| row.computer.as_deref()),
        Arc::new(event_ids.finish()),
        strings(&|row| Some(&row.source)),
        Arc::new(records.finish()),
        strings(&|row| Some(&row.json)),
    ];
    for name in names {
        schema.push(Field::new(name, DataType::Utf8, true));
        columns
            .push(strings(&|row| row.fields.iter().find(|(field, _)| field == name).map(|(_, value)| value.as_str())));
    }
    RecordBatch::try_new(Arc::new(Schema::new(schema)), columns)
}
