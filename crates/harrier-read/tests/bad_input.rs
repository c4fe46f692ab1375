//! Bad input never panics, is named by file and place, and costs only itself.

mod common;

use common::{read_all, read_with, shared_data, texts};
use harrier_read::{Place, ReadOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("temp file is writable");
    path
}

/// A small deterministic generator, so every run corrupts the same bytes.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn garbage(length: usize, seed: u64) -> Vec<u8> {
    let mut random = XorShift(seed);
    (0..length).map(|_| random.next() as u8).collect()
}

#[test]
fn a_json_line_that_is_not_json_costs_only_itself() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "log.jsonl",
        b"{\"EventID\": 1, \"Image\": \"a.exe\"}\nthis is not json\n{\"EventID\": 2, \"Ima\n\n{\"EventID\": 3}\n",
    );
    let (events, summary) = read_all(&[&path]);
    let ids: Vec<(Option<i64>, u64)> = events.iter().map(|event| (event.event_id(), event.record_id())).collect();
    assert_eq!(ids, [(Some(1), 1), (Some(3), 5)]);
    let places: Vec<&Place> = summary.files[0].problems.iter().map(|problem| &problem.place).collect();
    assert_eq!(places, [&Place::Line(2), &Place::Line(3)]);
    assert_eq!(summary.files[0].skipped_records(), 2);
    assert!(
        summary.files[0].problems[0].to_string().starts_with(&format!("{}: line 2: not valid JSON", path.display()))
    );
}

#[test]
fn a_broken_pretty_printed_document_costs_only_itself() {
    let dir = tempfile::tempdir().unwrap();
    let text = "{\n  \"EventID\": 1\n}\n{\n  \"EventID\": 2,\n  \"Oops\" 7\n}\n{\n  \"EventID\": \"3\"\n}\n";
    let path = write(dir.path(), "pretty.json", text.as_bytes());
    let (events, summary) = read_all(&[&path]);
    let ids: Vec<(Option<i64>, u64)> = events.iter().map(|event| (event.event_id(), event.record_id())).collect();
    assert_eq!(ids, [(Some(1), 1), (Some(3), 8)]);
    assert_eq!(summary.files[0].problems[0].place, Place::Line(4));
}

#[test]
fn arrays_concatenations_byte_order_marks_and_gzip_all_read_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let objects = [r#"{"EventID":1,"Channel":"Security"}"#, r#"{"EventID":2,"Channel":"System"}"#];
    let array = write(dir.path(), "array.json", format!("[\n{},\n{}\n]", objects[0], objects[1]).as_bytes());
    let concatenated = write(dir.path(), "concat.json", format!("\u{feff}{}{}", objects[0], objects[1]).as_bytes());
    let lines = write(dir.path(), "lines.jsonl", format!("\u{feff}{}\r\n{}\r\n", objects[0], objects[1]).as_bytes());
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(format!("{}\n{}\n", objects[0], objects[1]).as_bytes()).unwrap();
    let gzip = write(dir.path(), "lines.log.gz", &encoder.finish().unwrap());
    for path in [&array, &concatenated, &lines, &gzip] {
        let (events, summary) = read_all(&[path]);
        assert_eq!(summary.all_problems().count(), 0, "{}", path.display());
        let seen: Vec<(Option<i64>, Option<&str>)> =
            events.iter().map(|event| (event.event_id(), event.channel())).collect();
        assert_eq!(seen, [(Some(1), Some("Security")), (Some(2), Some("System"))], "{}", path.display());
    }
}

#[test]
fn empty_garbage_and_scalar_files_are_named_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let empty = write(dir.path(), "empty.evtx", b"");
    let binary = write(dir.path(), "binary.evtx", &garbage(50_000, 7));
    let scalar = write(dir.path(), "scalar.json", b"[1, \"two\"]");
    let (events, summary) = read_all(&[&empty, &binary, &scalar]);
    assert!(events.is_empty());
    assert!(summary.files[0].problems[0].message.contains("empty file"));
    assert!(summary.files[1].problems[0].message.starts_with("not an EVTX, JSON, XML or gzip file"));
    assert_eq!(summary.files[2].problems[0].place, Place::Line(1), "non-objects are named");
    assert!(summary.nothing_read());
}

#[test]
fn garbage_behind_an_evtx_signature_does_not_panic() {
    let dir = tempfile::tempdir().unwrap();
    for seed in 1..=8 {
        let mut bytes = b"ElfFile\0".to_vec();
        bytes.extend(garbage(4096 + 65_536 * 2, seed));
        let path = write(dir.path(), &format!("fake{seed}.evtx"), &bytes);
        let (_, summary) = read_all(&[&path]);
        assert!(summary.all_problems().count() + summary.files[0].unused_chunks as usize > 0, "seed {seed}");
    }
}

#[test]
fn a_directory_with_unreadable_entries_reads_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "good.jsonl", b"{\"EventID\": 4624}\n");
    write(dir.path(), "README.md", b"# not a log\n");
    std::os::unix::fs::symlink(dir.path().join("gone.evtx"), dir.path().join("dangling.evtx")).unwrap();
    let locked = write(dir.path(), "locked.jsonl", b"{\"EventID\": 1}\n");
    let locked_dir = dir.path().join("locked-dir");
    std::fs::create_dir(&locked_dir).unwrap();
    write(&locked_dir, "inner.jsonl", b"{\"EventID\": 2}\n");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    std::fs::set_permissions(&locked_dir, std::fs::Permissions::from_mode(0o000)).unwrap();
    // Root reads anything, so the locked entries only fail for other users.
    let root = std::fs::read(&locked).is_ok();

    let (events, summary) = read_all(&[dir.path()]);
    std::fs::set_permissions(&locked_dir, std::fs::Permissions::from_mode(0o755)).unwrap();

    assert!(events.iter().any(|event| event.event_id() == Some(4624)));
    assert_eq!(summary.ignored.len(), 1, "README.md is passed over: {:?}", summary.ignored);
    let messages: Vec<String> = summary.all_problems().map(ToString::to_string).collect();
    assert!(messages.iter().any(|message| message.contains("dangling.evtx")), "{messages:?}");
    if !root {
        assert!(messages.iter().any(|message| message.contains("locked.jsonl")), "{messages:?}");
        assert!(messages.iter().any(|message| message.contains("locked-dir")), "{messages:?}");
    }
    assert!(!summary.nothing_read());
}

/// A real EVTX file from the shared data, or `None` (skipped) without it.
fn shared_evtx() -> Option<Vec<u8>> {
    let data = shared_data()?;
    Some(std::fs::read(data.join("evtx/benign/omerbenamram-evtx/security.evtx")).expect("shared EVTX is readable"))
}

#[test]
fn a_truncated_evtx_file_keeps_its_whole_chunks() {
    let Some(bytes) = shared_evtx() else { return };
    let dir = tempfile::tempdir().unwrap();
    let whole = write(dir.path(), "whole.evtx", &bytes);
    let cut = write(dir.path(), "cut.evtx", &bytes[..4096 + 65_536 * 3 + 20_000]);
    let header_only = write(dir.path(), "header.evtx", &bytes[..100]);
    let (all_events, _) = read_all(&[&whole]);
    let (events, summary) = read_all(&[&cut, &header_only]);
    assert!(events.len() >= 3 * 50, "{} events from three whole chunks", events.len());
    let kept: Vec<_> = events.iter().map(|event| (event.record_id(), texts(event))).collect();
    let whole: Vec<_> = all_events[..events.len()].iter().map(|event| (event.record_id(), texts(event))).collect();
    assert!(kept == whole, "what is kept is what the whole file holds");
    assert!(summary.files[0].problems.len() + summary.files[0].unused_chunks as usize >= 1);
    assert!(summary.files[1].failed(), "{:?}", summary.files[1]);
}

#[test]
fn corrupted_evtx_bytes_never_panic() {
    let Some(bytes) = shared_evtx() else { return };
    let dir = tempfile::tempdir().unwrap();
    let mut random = XorShift(0x5eed);
    let paths: Vec<PathBuf> = (0..48)
        .map(|variant| {
            let mut corrupt = bytes[..4096 + 65_536 * 2].to_vec();
            for _ in 0..(1 << (variant % 8)) {
                let at = (random.next() as usize) % corrupt.len();
                corrupt[at] = random.next() as u8;
            }
            write(dir.path(), &format!("corrupt{variant}.evtx"), &corrupt)
        })
        .collect();
    let inputs: Vec<&Path> = paths.iter().map(PathBuf::as_path).collect();
    let (_, summary) = read_all(&inputs);
    assert_eq!(summary.files.len(), 48);
}

#[test]
fn gzip_evtx_reads_like_the_file() {
    let Some(bytes) = shared_evtx() else { return };
    let dir = tempfile::tempdir().unwrap();
    let plain = write(dir.path(), "security.evtx", &bytes);
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(&bytes).unwrap();
    let gzip = write(dir.path(), "security.evtx.gz", &encoder.finish().unwrap());
    let (plain_events, _) = read_all(&[&plain]);
    let (gzip_events, summary) = read_all(&[&gzip]);
    assert_eq!(summary.files[0].format.map(|format| format.name()), Some("evtx+gzip"));
    let ids = |events: &[harrier_event::Event]| events.iter().map(|event| event.record_id()).collect::<Vec<_>>();
    assert_eq!(ids(&plain_events), ids(&gzip_events));
    assert_eq!(plain_events.len(), 2261);
}

#[test]
fn output_order_does_not_depend_on_threads_or_window() {
    let Some(data) = shared_data() else { return };
    let input = data.join("evtx/EVTX-ATTACK-SAMPLES/Lateral Movement");
    let order = |threads: usize, window: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| {
            let options = ReadOptions { window, json_batch_bytes: 4096, ..ReadOptions::default() };
            let (events, _) = read_with(&[&input], &options);
            events.iter().map(|event| (event.source().path.clone(), event.record_id())).collect::<Vec<_>>()
        })
    };
    let reference = order(1, 1);
    assert!(reference.len() > 1000);
    assert_eq!(order(2, 3), reference);
    assert_eq!(order(4, 64), reference);
}

#[test]
fn corrupted_json_of_every_layout_never_panics() {
    let dir = tempfile::tempdir().unwrap();
    let mut random = XorShift(0xfeed);
    let mut documents = 0;
    for entry in std::fs::read_dir(common::examples()).unwrap().flatten() {
        let original = std::fs::read(entry.path()).unwrap();
        for variant in 0..24 {
            let mut corrupt = original.clone();
            for _ in 0..(1 + variant % 6) {
                let at = (random.next() as usize) % corrupt.len();
                corrupt[at] = match random.next() % 4 {
                    0 => b'{',
                    1 => b'"',
                    2 => b'\n',
                    _ => random.next() as u8,
                };
            }
            let path = write(dir.path(), &format!("corrupt{variant}.json"), &corrupt);
            let (events, summary) = read_all(&[&path]);
            documents += events.len() + summary.all_problems().count();
        }
    }
    assert!(documents > 100, "{documents}");
}
