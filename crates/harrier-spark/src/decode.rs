//! Arrow results as Harrier's events (scan hits) and rows (aggregates).

use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::DataType;
use harrier_event::{Event, SourceFile, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// An event a rule matched, rebuilt from its `_event` JSON and provenance.
pub struct Hit {
    pub event: Event,
    /// The caller's number of the rule.
    pub rule: usize,
}

fn column<'a>(batch: &'a RecordBatch, name: &str) -> Result<&'a ArrayRef, String> {
    batch.column_by_name(name).ok_or_else(|| format!("the result has no column `{name}`"))
}

/// The hits of a scan ([`crate::scan_sql`]); `files` shares one [`SourceFile`] per path.
pub fn hits(batches: &[RecordBatch], files: &mut HashMap<String, Arc<SourceFile>>) -> Result<Vec<Hit>, String> {
    let mut hits = Vec::new();
    for batch in batches {
        let rules = column(batch, "_rule")?;
        for (row, event) in harrier_lake::read_events(batch, files)?.into_iter().enumerate() {
            let rule =
                integer(rules, row).and_then(|rule| usize::try_from(rule).ok()).ok_or("a hit without its rule")?;
            hits.push(Hit { event, rule });
        }
    }
    Ok(hits)
}

/// A row's (column, value) pairs, in column order.
pub type Fields = Vec<(String, Value)>;

/// Every row of a result as (column, value) pairs in column order; NULL columns left out.
pub fn rows(batches: &[RecordBatch]) -> Vec<Fields> {
    let mut rows = Vec::new();
    for batch in batches {
        let schema = batch.schema();
        for row in 0..batch.num_rows() {
            let fields = schema
                .fields()
                .iter()
                .zip(batch.columns())
                .map(|(field, array)| (field.name().clone(), value(array, row)))
                .filter(|(_, value)| !value.is_null())
                .collect();
            rows.push(fields);
        }
    }
    rows
}

/// Rows of a UNION of queries, each row tagged with its query's number (`_detection`) and
/// carried as a JSON object (`_row`, from `to_json(struct(*))`): (number, fields in order).
pub fn tagged_rows(batches: &[RecordBatch]) -> Result<Vec<(usize, Fields)>, String> {
    let mut rows = Vec::new();
    for batch in batches {
        let (tags, documents) = (column(batch, "_detection")?, column(batch, "_row")?);
        for row in 0..batch.num_rows() {
            let tag = integer(tags, row).and_then(|tag| usize::try_from(tag).ok()).ok_or("a row without its query")?;
            let document = text(documents, row).unwrap_or_default();
            rows.push((tag, harrier_lake::json_fields(&document).map_err(|why| format!("a result row: {why}"))?));
        }
    }
    Ok(rows)
}

fn text(array: &ArrayRef, row: usize) -> Option<String> {
    match value(array, row) {
        Value::Null => None,
        Value::Str(text) => Some(text),
        other => Some(other.to_string()),
    }
}

fn integer(array: &ArrayRef, row: usize) -> Option<i64> {
    value(array, row).as_i64()
}

/// One cell as a Harrier value: text, integers, floats, booleans, lists; other types as their
/// Arrow display text.
pub(crate) fn value(array: &ArrayRef, row: usize) -> Value {
    if array.is_null(row) {
        return Value::Null;
    }
    match array.data_type() {
        DataType::Utf8 => Value::Str(array.as_string::<i32>().value(row).to_owned()),
        DataType::LargeUtf8 => Value::Str(array.as_string::<i64>().value(row).to_owned()),
        DataType::Utf8View => Value::Str(array.as_string_view().value(row).to_owned()),
        DataType::Int8 => Value::Int(array.as_primitive::<Int8Type>().value(row).into()),
        DataType::Int16 => Value::Int(array.as_primitive::<Int16Type>().value(row).into()),
        DataType::Int32 => Value::Int(array.as_primitive::<Int32Type>().value(row).into()),
        DataType::Int64 => Value::Int(array.as_primitive::<Int64Type>().value(row)),
        DataType::Float32 => Value::Float(array.as_primitive::<Float32Type>().value(row).into()),
        DataType::Float64 => Value::Float(array.as_primitive::<Float64Type>().value(row)),
        DataType::Boolean => Value::Bool(array.as_boolean().value(row)),
        DataType::List(_) => list(&array.as_list::<i32>().value(row)),
        DataType::LargeList(_) => list(&array.as_list::<i64>().value(row)),
        _ => match arrow_cast_text(array, row) {
            Some(text) => Value::Str(text),
            None => Value::Null,
        },
    }
}

fn list(items: &ArrayRef) -> Value {
    Value::List((0..items.len()).map(|item| value(items, item)).filter(|value| !value.is_null()).collect())
}

/// The display text of a cell of another type (dates, decimals ...).
fn arrow_cast_text(array: &ArrayRef, row: usize) -> Option<String> {
    let options = arrow_cast::display::FormatOptions::default();
    let formatter = arrow_cast::display::ArrayFormatter::try_new(array.as_ref(), &options).ok()?;
    Some(formatter.value(row).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Int32Array, Int64Array, StringArray, TimestampMicrosecondArray};
    use arrow_schema::{Field as ArrowField, Schema};

    #[test]
    fn a_scan_row_becomes_the_event_with_its_rule() {
        let schema = Schema::new(vec![
            ArrowField::new("_source", DataType::Utf8, false),
            ArrowField::new("_record", DataType::Int64, false),
            ArrowField::new(
                "_timestamp",
                DataType::Timestamp(arrow_schema::TimeUnit::Microsecond, Some("UTC".into())),
                true,
            ),
            ArrowField::new("_event", DataType::Utf8, false),
            ArrowField::new("_rule", DataType::Int32, true),
        ]);
        let batch = RecordBatch::try_new(
            Arc::new(schema),
            vec![
                Arc::new(StringArray::from(vec!["logs/a.evtx"])),
                Arc::new(Int64Array::from(vec![42])),
                Arc::new(TimestampMicrosecondArray::from(vec![1_600_000_000_000_000]).with_timezone("UTC")),
                Arc::new(StringArray::from(vec![r#"{"EventID":1,"Image":"C:\\x.exe","Tags":["a","b"]}"#])),
                Arc::new(Int32Array::from(vec![7])),
            ],
        )
        .unwrap();
        let hits = hits(&[batch], &mut HashMap::new()).unwrap();
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].rule, 7);
        let event = &hits[0].event;
        assert_eq!((event.source().path.as_str(), event.record_id()), ("logs/a.evtx", 42));
        assert_eq!(event.timestamp().unwrap().to_string(), "2020-09-13T12:26:40.000000Z");
        assert_eq!(event.event_id(), Some(1));
        assert_eq!(event.text("image").as_deref(), Some(r"C:\x.exe"));
        assert_eq!(event.get("Tags"), Some(&Value::List(vec![Value::Str("a".into()), Value::Str("b".into())])));
    }
}
