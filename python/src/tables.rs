//! Results as Arrow columns, built as a hunt goes: hits, correlation results, SPL rows, and
//! tables of named values (search results, one detection's rows).

use arrow_array::builder::{
    Float64Builder, Int64Builder, ListBuilder, StringBuilder, TimestampMicrosecondBuilder, UInt64Builder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use harrier::{CorrelationResult, Event, FieldName, RuleMeta, Timestamp, Value};
use harrier_print::{RowMap, technique_names};
use pyo3::prelude::*;
use std::sync::Arc;

fn text_field(name: &str) -> Field {
    Field::new(name, DataType::Utf8, true)
}

fn list_field(name: &str) -> Field {
    Field::new(name, DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, true))), true)
}

fn time_field(name: &str) -> Field {
    Field::new(name, DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())), true)
}

fn times() -> TimestampMicrosecondBuilder {
    TimestampMicrosecondBuilder::new().with_timezone("UTC")
}

fn texts() -> ListBuilder<StringBuilder> {
    ListBuilder::new(StringBuilder::new())
}

fn push_texts<'a>(builder: &mut ListBuilder<StringBuilder>, items: impl IntoIterator<Item = Option<&'a str>>) {
    for item in items {
        builder.values().append_option(item);
    }
    builder.append(true);
}

/// A table of rule documents, one row each: named text columns, then named lists of text,
/// then the document's `line` in its file.
pub(crate) struct DocumentColumns {
    texts: Vec<(&'static str, StringBuilder)>,
    lists: Vec<(&'static str, ListBuilder<StringBuilder>)>,
    lines: UInt64Builder,
}

impl DocumentColumns {
    pub(crate) fn new(texts: &[&'static str], lists: &[&'static str]) -> DocumentColumns {
        DocumentColumns {
            texts: texts.iter().map(|name| (*name, StringBuilder::new())).collect(),
            lists: lists.iter().map(|name| (*name, self::texts())).collect(),
            lines: UInt64Builder::new(),
        }
    }

    /// Appends a document: its texts and lists in the order the columns were named.
    pub(crate) fn push<'a>(
        &mut self,
        texts: impl IntoIterator<Item = Option<String>>,
        lists: impl IntoIterator<Item = &'a [String]>,
        line: usize,
    ) {
        for ((_, column), value) in self.texts.iter_mut().zip(texts) {
            column.append_option(value);
        }
        for ((_, column), items) in self.lists.iter_mut().zip(lists) {
            push_texts(column, items.iter().map(|item| Some(item.as_str())));
        }
        self.lines.append_value(line as u64);
    }

    pub(crate) fn finish(mut self) -> (RecordBatch, SchemaRef) {
        let mut fields: Vec<Field> = self.texts.iter().map(|(name, _)| text_field(name)).collect();
        fields.extend(self.lists.iter().map(|(name, _)| list_field(name)));
        fields.push(Field::new("line", DataType::UInt64, false));
        let mut columns: Vec<ArrayRef> =
            self.texts.iter_mut().map(|(_, column)| Arc::new(column.finish()) as ArrayRef).collect();
        columns.extend(self.lists.iter_mut().map(|(_, column)| Arc::new(column.finish()) as ArrayRef));
        columns.push(Arc::new(self.lines.finish()));
        let schema = Arc::new(Schema::new(fields));
        (RecordBatch::try_new(schema.clone(), columns).expect("columns built to the schema"), schema)
    }
}

/// A table for Python: a `pyarrow.Table` of the batches.
pub(crate) fn to_pyarrow(py: Python<'_>, batches: Vec<RecordBatch>, schema: SchemaRef) -> PyResult<Py<PyAny>> {
    Ok(pyo3_arrow::PyTable::try_new(batches, schema)?.into_pyarrow(py)?.unbind())
}

/// What every result table says of its rule.
pub(crate) struct RuleColumns {
    id: StringBuilder,
    title: StringBuilder,
    level: StringBuilder,
    techniques: ListBuilder<StringBuilder>,
    technique_names: ListBuilder<StringBuilder>,
    tactics: ListBuilder<StringBuilder>,
    false_positives: ListBuilder<StringBuilder>,
    file: StringBuilder,
}

impl RuleColumns {
    fn new() -> RuleColumns {
        RuleColumns {
            id: StringBuilder::new(),
            title: StringBuilder::new(),
            level: StringBuilder::new(),
            techniques: texts(),
            technique_names: texts(),
            tactics: texts(),
            false_positives: texts(),
            file: StringBuilder::new(),
        }
    }

    fn fields() -> Vec<Field> {
        vec![
            text_field("rule_id"),
            text_field("rule_title"),
            text_field("level"),
            list_field("techniques"),
            list_field("technique_names"),
            list_field("tactics"),
            list_field("false_positives"),
            text_field("rule_file"),
        ]
    }

    fn push(&mut self, meta: &RuleMeta) {
        self.id.append_option(meta.id.as_deref());
        self.title.append_value(&meta.title);
        self.level.append_value(meta.level.name());
        push_texts(&mut self.techniques, meta.techniques.iter().map(|id| Some(id.as_str())));
        push_texts(&mut self.technique_names, technique_names(meta));
        push_texts(&mut self.tactics, meta.tactics.iter().map(|tactic| Some(tactic.as_str())));
        push_texts(&mut self.false_positives, meta.false_positives.iter().map(|text| Some(text.as_str())));
        self.file.append_value(meta.source.to_string());
    }

    fn finish(&mut self, columns: &mut Vec<ArrayRef>) {
        columns.push(Arc::new(self.id.finish()));
        columns.push(Arc::new(self.title.finish()));
        columns.push(Arc::new(self.level.finish()));
        columns.push(Arc::new(self.techniques.finish()));
        columns.push(Arc::new(self.technique_names.finish()));
        columns.push(Arc::new(self.tactics.finish()));
        columns.push(Arc::new(self.false_positives.finish()));
        columns.push(Arc::new(self.file.finish()));
    }
}

/// Where a hit's event came from and what it is: a Sigma hit's event, or an event an SPL
/// detection kept (its fields as Splunk sees them).
pub(crate) struct HitEvent<'a> {
    pub time: Option<Timestamp>,
    pub source_file: &'a str,
    pub record_id: u64,
    pub computer: Option<&'a str>,
    pub channel: Option<&'a str>,
    pub event_id: Option<i64>,
    /// The event as JSON text.
    pub json: String,
    /// A field's value as text, by name.
    pub field: &'a dyn Fn(&str) -> Option<String>,
}

impl<'a> HitEvent<'a> {
    pub(crate) fn of_event(event: &'a Event, field: &'a dyn Fn(&str) -> Option<String>) -> HitEvent<'a> {
        HitEvent {
            time: event.timestamp(),
            source_file: &event.source().path,
            record_id: event.record_id(),
            computer: event.computer(),
            channel: event.channel(),
            event_id: event.event_id(),
            json: serde_json::to_string(&event.fields_map()).unwrap_or_default(),
            field,
        }
    }

    pub(crate) fn of_row(
        row: &'a harrier::Row,
        origin: &'a harrier_event::Provenance,
        field: &'a dyn Fn(&str) -> Option<String>,
    ) -> HitEvent<'a> {
        let named = |name: &str| row_value(row, name);
        HitEvent {
            time: origin.timestamp,
            source_file: &origin.source.path,
            record_id: origin.record_id,
            computer: named("Computer").and_then(Value::as_str),
            channel: named("Channel").and_then(Value::as_str),
            event_id: named("EventCode").or_else(|| named("EventID")).and_then(Value::as_i64),
            json: serde_json::to_string(&RowMap(row)).unwrap_or_default(),
            field,
        }
    }
}

/// A row's value by name, ignoring case as Harrier's lookups do.
pub(crate) fn row_value<'r>(row: &'r harrier::Row, name: &str) -> Option<&'r Value> {
    row.fields.iter().find(|(field, _)| field.name().eq_ignore_ascii_case(name)).map(|(_, value)| value)
}

/// The hits table: one row per event a rule matched.
pub(crate) struct HitColumns {
    time: TimestampMicrosecondBuilder,
    rule: RuleColumns,
    source_file: StringBuilder,
    record_id: Int64Builder,
    computer: StringBuilder,
    channel: StringBuilder,
    event_id: Int64Builder,
    event: StringBuilder,
    /// The fields the caller asked for, each a column.
    fields: Vec<(String, StringBuilder)>,
    pub len: usize,
}

impl HitColumns {
    pub(crate) fn new(fields: &[String]) -> HitColumns {
        HitColumns {
            time: times(),
            rule: RuleColumns::new(),
            source_file: StringBuilder::new(),
            record_id: Int64Builder::new(),
            computer: StringBuilder::new(),
            channel: StringBuilder::new(),
            event_id: Int64Builder::new(),
            event: StringBuilder::new(),
            fields: fields.iter().map(|name| (name.clone(), StringBuilder::new())).collect(),
            len: 0,
        }
    }

    pub(crate) fn schema(&self) -> SchemaRef {
        let mut fields = vec![time_field("timestamp")];
        fields.extend(RuleColumns::fields());
        fields.extend([
            text_field("source_file"),
            Field::new("record_id", DataType::Int64, false),
            text_field("computer"),
            text_field("channel"),
            Field::new("event_id", DataType::Int64, true),
            text_field("event"),
        ]);
        fields.extend(self.fields.iter().map(|(name, _)| text_field(name)));
        Arc::new(Schema::new(fields))
    }

    pub(crate) fn push(&mut self, meta: &RuleMeta, hit: HitEvent<'_>) {
        self.time.append_option(hit.time.map(|time| time.unix_micros()));
        self.rule.push(meta);
        self.source_file.append_value(hit.source_file);
        self.record_id.append_value(i64::try_from(hit.record_id).unwrap_or(i64::MAX));
        self.computer.append_option(hit.computer);
        self.channel.append_option(hit.channel);
        self.event_id.append_option(hit.event_id);
        self.event.append_value(&hit.json);
        for (name, column) in &mut self.fields {
            column.append_option((hit.field)(name));
        }
        self.len += 1;
    }

    /// The rows so far as a batch; the columns start over empty.
    pub(crate) fn finish(&mut self) -> RecordBatch {
        let mut columns: Vec<ArrayRef> = vec![Arc::new(self.time.finish())];
        self.rule.finish(&mut columns);
        columns.push(Arc::new(self.source_file.finish()));
        columns.push(Arc::new(self.record_id.finish()));
        columns.push(Arc::new(self.computer.finish()));
        columns.push(Arc::new(self.channel.finish()));
        columns.push(Arc::new(self.event_id.finish()));
        columns.push(Arc::new(self.event.finish()));
        for (_, column) in &mut self.fields {
            columns.push(Arc::new(column.finish()));
        }
        self.len = 0;
        RecordBatch::try_new(self.schema(), columns).expect("columns built to the schema")
    }
}

/// The correlations table: one row per group of events a correlation's condition held for.
pub(crate) struct CorrelationColumns {
    rule: RuleColumns,
    kind: StringBuilder,
    group: StringBuilder,
    value: Float64Builder,
    first: TimestampMicrosecondBuilder,
    last: TimestampMicrosecondBuilder,
    events: StringBuilder,
}

impl CorrelationColumns {
    pub(crate) fn new() -> CorrelationColumns {
        CorrelationColumns {
            rule: RuleColumns::new(),
            kind: StringBuilder::new(),
            group: StringBuilder::new(),
            value: Float64Builder::new(),
            first: times(),
            last: times(),
            events: StringBuilder::new(),
        }
    }

    pub(crate) fn push(&mut self, correlation: &CorrelationResult<'_>) {
        let result = correlation.result;
        self.rule.push(correlation.rule);
        self.kind.append_value(correlation.kind);
        let group: serde_json::Map<String, serde_json::Value> =
            result.group.iter().map(|(field, value)| (field.clone(), serde_json::json!(value))).collect();
        self.group.append_value(serde_json::Value::Object(group).to_string());
        self.value.append_value(result.value);
        self.first.append_value(result.first.unix_micros());
        self.last.append_value(result.last.unix_micros());
        let events: Vec<serde_json::Value> = result
            .events
            .iter()
            .map(|event| serde_json::json!({"source_file": event.source_file, "record_id": event.record_id, "rule": event.rule}))
            .collect();
        self.events.append_value(serde_json::Value::Array(events).to_string());
    }

    pub(crate) fn finish(&mut self) -> (RecordBatch, SchemaRef) {
        let mut fields = RuleColumns::fields();
        fields.extend([
            text_field("correlation_type"),
            text_field("group"),
            Field::new("value", DataType::Float64, true),
            time_field("first"),
            time_field("last"),
            text_field("events"),
        ]);
        let mut columns = Vec::new();
        self.rule.finish(&mut columns);
        columns.push(Arc::new(self.kind.finish()));
        columns.push(Arc::new(self.group.finish()));
        columns.push(Arc::new(self.value.finish()));
        columns.push(Arc::new(self.first.finish()));
        columns.push(Arc::new(self.last.finish()));
        columns.push(Arc::new(self.events.finish()));
        let schema = Arc::new(Schema::new(fields));
        (RecordBatch::try_new(schema.clone(), columns).expect("columns built to the schema"), schema)
    }
}

/// The rows table: the result rows of SPL detections that aggregate, each with its rule.
pub(crate) struct RowColumns {
    rule: RuleColumns,
    source_files: ListBuilder<StringBuilder>,
    row: StringBuilder,
}

impl RowColumns {
    pub(crate) fn new() -> RowColumns {
        RowColumns { rule: RuleColumns::new(), source_files: texts(), row: StringBuilder::new() }
    }

    pub(crate) fn push(&mut self, meta: &RuleMeta, row: &harrier::Row) {
        self.rule.push(meta);
        push_texts(&mut self.source_files, row.sources.iter().map(|source| Some(source.path.as_str())));
        self.row.append_value(serde_json::to_string(&RowMap(row)).unwrap_or_default());
    }

    pub(crate) fn finish(&mut self) -> (RecordBatch, SchemaRef) {
        let mut fields = RuleColumns::fields();
        fields.extend([list_field("source_files"), text_field("row")]);
        let mut columns = Vec::new();
        self.rule.finish(&mut columns);
        columns.push(Arc::new(self.source_files.finish()));
        columns.push(Arc::new(self.row.finish()));
        let schema = Arc::new(Schema::new(fields));
        (RecordBatch::try_new(schema.clone(), columns).expect("columns built to the schema"), schema)
    }
}

/// Rows of named values as a table: one column per name in first-seen order, typed `int64`
/// when every value in it is an integer, `double` when every one is a number, text otherwise
/// (a list's items one per line, as in the lake).
pub(crate) fn values_table(rows: &[&[(FieldName, Value)]]) -> (RecordBatch, SchemaRef) {
    let mut names: Vec<&str> = Vec::new();
    for row in rows {
        for (name, _) in row.iter() {
            if !names.contains(&name.name()) && name.name() != harrier_cim::DATAMODEL_FIELD {
                names.push(name.name());
            }
        }
    }
    let mut fields = Vec::new();
    let mut columns: Vec<ArrayRef> = Vec::new();
    for name in names {
        let values: Vec<Option<&Value>> = rows.iter().map(|row| value_of(row, name)).collect();
        let present = || values.iter().flatten();
        if present().all(|value| matches!(value, Value::Int(_))) {
            let mut column = Int64Builder::new();
            values.iter().for_each(|value| column.append_option(value.and_then(Value::as_i64)));
            fields.push(Field::new(name, DataType::Int64, true));
            columns.push(Arc::new(column.finish()));
        } else if present().all(|value| matches!(value, Value::Int(_) | Value::Float(_))) {
            let mut column = Float64Builder::new();
            values.iter().for_each(|value| column.append_option(value.and_then(number)));
            fields.push(Field::new(name, DataType::Float64, true));
            columns.push(Arc::new(column.finish()));
        } else {
            let mut column = StringBuilder::new();
            values.iter().for_each(|value| column.append_option(value.map(harrier_lake::text)));
            fields.push(text_field(name));
            columns.push(Arc::new(column.finish()));
        }
    }
    let schema = Arc::new(Schema::new(fields));
    let options = arrow_array::RecordBatchOptions::new().with_row_count(Some(rows.len()));
    let batch =
        RecordBatch::try_new_with_options(schema.clone(), columns, &options).expect("columns built to the schema");
    (batch, schema)
}

fn value_of<'r>(row: &'r [(FieldName, Value)], name: &str) -> Option<&'r Value> {
    row.iter().find(|(field, _)| field.name() == name).map(|(_, value)| value).filter(|value| !value.is_null())
}

fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Int(number) => Some(*number as f64),
        Value::Float(number) => Some(*number),
        _ => None,
    }
}
