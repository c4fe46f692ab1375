//! Arrow results as the matches of scans and as rows (aggregates).

use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::DataType;
use harrier_event::Value;

/// An event a scan found a rule to match: its file and record, and the caller's number of
/// the rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    pub source: String,
    pub record: u64,
    pub rule: usize,
}

fn column<'a>(batch: &'a RecordBatch, name: &str) -> Result<&'a ArrayRef, String> {
    batch.column_by_name(name).ok_or_else(|| format!("the result has no column `{name}`"))
}

/// The matches of a scan ([`crate::scan_sql`]).
pub fn matches(batches: &[RecordBatch]) -> Result<Vec<Match>, String> {
    let mut matches = Vec::new();
    for batch in batches {
        let (sources, records, rules) = (column(batch, "_source")?, column(batch, "_record")?, column(batch, "_rule")?);
        for row in 0..batch.num_rows() {
            let number =
                |array: &ArrayRef, what: &str| integer(array, row).ok_or_else(|| format!("a match without its {what}"));
            matches.push(Match {
                source: text(sources, row).ok_or("a match without its file")?,
                record: u64::try_from(number(records, "record")?).map_err(|_| "a negative record number")?,
                rule: usize::try_from(number(rules, "rule")?).map_err(|_| "a negative rule number")?,
            });
        }
    }
    Ok(matches)
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
    use arrow_array::{Int32Array, Int64Array, StringArray};
    use arrow_schema::{Field as ArrowField, Schema};
    use std::sync::Arc;

    #[test]
    fn a_scan_row_is_the_file_record_and_rule_it_names() {
        let schema = Schema::new(vec![
            ArrowField::new("_source", DataType::Utf8, false),
            ArrowField::new("_record", DataType::Int64, false),
            ArrowField::new("_rule", DataType::Int32, true),
        ]);
        let batch = RecordBatch::try_new(
            Arc::new(schema),
            vec![
                Arc::new(StringArray::from(vec!["logs/a.evtx", "logs/b.json"])),
                Arc::new(Int64Array::from(vec![42, 7])),
                Arc::new(Int32Array::from(vec![Some(7), None])),
            ],
        )
        .unwrap();
        assert_eq!(
            matches(&[batch.slice(0, 1)]).unwrap(),
            [Match { source: "logs/a.evtx".into(), record: 42, rule: 7 }]
        );
        assert_eq!(matches(&[batch]).unwrap_err(), "a match without its rule");
    }
}
