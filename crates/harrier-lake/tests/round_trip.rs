//! Every event written to the lake reads back with the same fields and values: the `_event`
//! JSON equals the event's, every field column holds the field's text, the core columns hold
//! the event's provenance, and each file sits in its channel and day partition.

use arrow_array::Array;
use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type};
use harrier_event::Event;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One row as read: the `_event` JSON, the field columns, `_time`, the partition directory.
type ReadBack = (serde_json::Value, BTreeMap<String, Option<String>>, f64, String);

fn events(path: &Path) -> Vec<Event> {
    let mut events = Vec::new();
    let inputs = [harrier_read::Input::from_arg(path.to_str().unwrap())];
    harrier_read::read(
        &inputs,
        &harrier_read::ReadOptions::default(),
        |batch| batch.events,
        |batch| events.extend(batch),
        &mut (),
    );
    events
}

fn parquet_files(root: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(root).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(parquet_files(&path));
        } else if path.extension().is_some_and(|extension| extension == "parquet") {
            files.push(path);
        }
    }
    files
}

#[test]
fn every_event_reads_back_with_the_same_fields_and_values() {
    let Some(samples) = harrier_testdata::shared("evtx/EVTX-ATTACK-SAMPLES") else { return };
    let originals = events(&samples);
    assert!(originals.len() > 5_000, "{}", originals.len());
    let dir = tempfile::tempdir().unwrap();
    let mut writer = harrier_lake::LakeWriter::new(dir.path()).with_limits(2_000, 8_000);
    for event in &originals {
        writer.write(event).unwrap();
    }
    let (files, rows) = writer.finish().unwrap();
    assert_eq!(rows, originals.len() as u64);
    assert!(files > 3, "small limits split the output: {files} files");

    let mut read_back: BTreeMap<(String, i64), ReadBack> = BTreeMap::new();
    for file in parquet_files(dir.path()) {
        let partition = file.parent().unwrap().parent().unwrap().file_name().unwrap().to_string_lossy().into_owned();
        let reader =
            parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&file).unwrap())
                .unwrap()
                .build()
                .unwrap();
        for batch in reader {
            let batch = batch.unwrap();
            let schema = batch.schema();
            let column = |name: &str| batch.column(schema.index_of(name).unwrap()).clone();
            let (sources, records, json) = (column("_source"), column("_record"), column("_event"));
            let (times, channels) = (column("_time"), column("_channel"));
            for row in 0..batch.num_rows() {
                let mut fields = BTreeMap::new();
                for (at, field) in
                    schema.fields().iter().enumerate().filter(|(_, field)| !field.name().starts_with('_'))
                {
                    let values = batch.column(at).as_string::<i32>();
                    fields.insert(field.name().clone(), (!values.is_null(row)).then(|| values.value(row).to_owned()));
                }
                let channel = channels.as_string::<i32>();
                let expected_partition = format!(
                    "log={}",
                    if channel.is_null(row) { "unknown".into() } else { channel.value(row).replace(['/', ' '], "_") }
                );
                assert_eq!(partition, expected_partition);
                let key =
                    (sources.as_string::<i32>().value(row).to_owned(), records.as_primitive::<Int64Type>().value(row));
                let event: serde_json::Value = serde_json::from_str(json.as_string::<i32>().value(row)).unwrap();
                let time = times.as_primitive::<Float64Type>();
                let seconds = if time.is_null(row) { f64::NAN } else { time.value(row) };
                assert!(
                    read_back.insert(key, (event, fields, seconds, partition.clone())).is_none(),
                    "each event once"
                );
            }
        }
    }
    assert_eq!(read_back.len(), originals.len());
    for original in &originals {
        let key = (original.source().path.clone(), original.record_id() as i64);
        let (event, fields, seconds, _) = &read_back[&key];
        assert_eq!(event, &serde_json::to_value(original.fields_map()).unwrap(), "{key:?}");
        let mut names = std::collections::BTreeSet::new();
        for field in original.fields() {
            if names.insert(field.name().to_ascii_lowercase()) {
                let expected = (!field.value.is_null()).then(|| harrier_lake::text(&field.value));
                assert_eq!(fields.get(field.name()).cloned().flatten(), expected, "{key:?} {}", field.name());
            }
        }
        let expected = original.timestamp().map(|time| time.unix_micros() as f64 / 1e6);
        assert!(expected.is_none_or(|expected| (expected - seconds).abs() < 1e-6), "{key:?}");
    }
}
