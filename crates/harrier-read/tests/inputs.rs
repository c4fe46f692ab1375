//! Inputs other than paths: bytes in memory and readers give what the same file gives.

mod common;

use harrier_read::{Input, ReadOptions};

fn read(inputs: &[Input]) -> Vec<harrier_event::Event> {
    let mut events = Vec::new();
    harrier_read::read(inputs, &ReadOptions::default(), |batch| batch.events, |batch| events.extend(batch), &mut ());
    events
}

#[test]
fn bytes_and_readers_read_as_their_file_does() {
    let file = common::examples().join("sysmon-network-ecs.jsonl");
    let from_file = common::read_all(&[&file]).0;
    let bytes = std::fs::read(&file).unwrap();
    let from_bytes = read(&[Input::bytes("upload.jsonl", bytes.clone())]);
    let from_reader = read(&[Input::reader("socket", std::io::Cursor::new(bytes))]);
    assert_eq!(from_file.len(), 1);
    for events in [&from_bytes, &from_reader] {
        assert_eq!(events.len(), from_file.len());
        assert_eq!(events[0].fields(), from_file[0].fields());
    }
    assert_eq!(from_bytes[0].source().path, "upload.jsonl");
    assert_eq!(from_reader[0].source().path, "socket");
}

#[test]
fn evtx_from_a_reader_is_read_through_a_temporary_file() {
    let Some(data) = common::shared_data() else { return };
    let file = data.join("evtx/EVTX-ATTACK-SAMPLES/Execution/Sysmon_Exec_CompiledHTML.evtx");
    let from_file = common::read_all(&[&file]).0;
    let from_reader = read(&[Input::reader("evtx stream", std::fs::File::open(&file).unwrap())]);
    assert!(!from_file.is_empty());
    assert_eq!(from_reader.len(), from_file.len());
    assert!(from_reader.iter().zip(&from_file).all(|(a, b)| a.fields() == b.fields()));
}
