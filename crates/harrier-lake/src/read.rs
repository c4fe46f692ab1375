//! The lake read back: rows (`_source`, `_record`, `_timestamp`, `_event`) as Harrier's
//! events, whatever engine sends them (Spark Connect results, Arrow batches inside Spark's
//! executors).

use arrow_array::cast::AsArray;
use arrow_array::types::{Int32Type, Int64Type, TimestampMicrosecondType};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, TimeUnit};
use harrier_event::{Event, Field, Provenance, SourceFile, Timestamp, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// The columns an event is rebuilt from.
pub const EVENT_SOURCE_COLUMNS: [&str; 4] = ["_source", "_record", "_timestamp", crate::EVENT_COLUMN];

/// A batch's rows as events (their fields from `_event`, their file, record and time from the
/// core columns); `files` shares one [`SourceFile`] per path across batches.
pub fn read_events(batch: &RecordBatch, files: &mut HashMap<String, Arc<SourceFile>>) -> Result<Vec<Event>, String> {
    let [source, record, time, json] = EVENT_SOURCE_COLUMNS.map(|name| batch.column_by_name(name));
    let (Some(source), Some(record), Some(time), Some(json)) = (source, record, time, json) else {
        return Err(format!("rows without the columns {} (not a Harrier lake)", EVENT_SOURCE_COLUMNS.join(", ")));
    };
    (0..batch.num_rows())
        .map(|row| {
            let path = text(source, row).unwrap_or_default();
            let file = files.entry(path.to_owned()).or_insert_with(|| Arc::new(SourceFile { path: path.to_owned() }));
            let record_id = integer(record, row).unwrap_or(0);
            let provenance = Provenance {
                source: file.clone(),
                record_id: u64::try_from(record_id).unwrap_or(0),
                timestamp: micros(time, row).and_then(Timestamp::from_unix_micros),
            };
            let fields = json_fields(text(json, row).unwrap_or_default())
                .map_err(|why| format!("`_event` of record {record_id} of {path} in the lake: {why}"))?;
            let fields = fields.into_iter().map(|(name, value)| Field::new(&name, value));
            Ok(Event::new(provenance, fields.collect()))
        })
        .collect()
}

/// A JSON object's members, in order, as Harrier values (what `_event` holds).
pub fn json_fields(document: &str) -> Result<Vec<(String, Value)>, String> {
    match serde_json::from_str(document).map_err(|error| error.to_string())? {
        serde_json::Value::Object(map) => Ok(map.into_iter().map(|(name, value)| (name, Value::from(value))).collect()),
        _ => Err(format!("not a JSON object: {document:.200}")),
    }
}

fn text(array: &ArrayRef, row: usize) -> Option<&str> {
    if array.is_null(row) {
        return None;
    }
    match array.data_type() {
        DataType::Utf8 => Some(array.as_string::<i32>().value(row)),
        DataType::LargeUtf8 => Some(array.as_string::<i64>().value(row)),
        DataType::Utf8View => Some(array.as_string_view().value(row)),
        _ => None,
    }
}

fn integer(array: &ArrayRef, row: usize) -> Option<i64> {
    if array.is_null(row) {
        return None;
    }
    match array.data_type() {
        DataType::Int64 => Some(array.as_primitive::<Int64Type>().value(row)),
        DataType::Int32 => Some(array.as_primitive::<Int32Type>().value(row).into()),
        _ => None,
    }
}

fn micros(array: &ArrayRef, row: usize) -> Option<i64> {
    match array.data_type() {
        DataType::Timestamp(TimeUnit::Microsecond, _) if array.is_valid(row) => {
            Some(array.as_primitive::<TimestampMicrosecondType>().value(row))
        }
        _ => None,
    }
}
