//! Counts and equivalences on the public data in `../shared/data`.

mod common;

use common::{read_all, shared_data, texts};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// (path relative to the manifest, events, parse_error) for each row of a MANIFEST.tsv.
fn manifest(path: &Path) -> Vec<(String, u64, bool)> {
    let text = std::fs::read_to_string(path).expect("manifest is readable");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("manifest has a header").split('\t').collect();
    let column = |name: &str| header.iter().position(|h| *h == name).unwrap_or_else(|| panic!("no {name} column"));
    let (path_at, events_at, error_at) =
        (column("path"), column("events"), header.iter().position(|h| *h == "parse_error"));
    lines
        .map(|line| {
            let cells: Vec<&str> = line.split('\t').collect();
            let parse_error = error_at.is_some_and(|at| cells[at] != "no");
            (cells[path_at].to_owned(), cells[events_at].parse().expect("events is a number"), parse_error)
        })
        .collect()
}

#[test]
fn evtx_event_counts_match_the_manifest() {
    let Some(data) = shared_data() else { return };
    let root = data.join("evtx");
    let (_, summary) = read_all(&[&root]);
    let by_path: HashMap<PathBuf, &harrier_read::FileReport> =
        summary.files.iter().map(|file| (PathBuf::from(&file.path), file)).collect();
    let rows = manifest(&root.join("MANIFEST.tsv"));
    assert_eq!(rows.len(), 301);
    let (mut clean, mut malformed) = (0, 0);
    for (path, expected, parse_error) in rows {
        let file = by_path.get(&root.join(&path)).unwrap_or_else(|| panic!("{path} was not read"));
        if parse_error {
            malformed += 1;
            // evtx 0.15 resyncs past a bad record where the manifest's parser stopped, so it
            // keeps at least as many records, and names each problem.
            assert!(file.events >= expected, "{path}: {} < {expected}", file.events);
            assert!(file.unused_chunks + file.problems.len() as u64 > 0, "{path}: its problems are not reported");
        } else {
            clean += 1;
            assert_eq!(file.events, expected, "{path}");
        }
    }
    assert_eq!((clean, malformed), (296, 5));
    for problem in summary.all_problems() {
        assert!(problem.path.ends_with(".evtx") && !problem.message.is_empty(), "{problem}");
    }
}

#[test]
fn security_datasets_hold_14436_events_as_the_manifest_says() {
    let Some(data) = shared_data() else { return };
    let root = data.join("json/security-datasets");
    let (events, summary) = read_all(&[&root]);
    assert_eq!(summary.events(), 14_436);
    assert_eq!(summary.all_problems().count(), 0);
    for (path, expected, _) in manifest(&root.join("MANIFEST.tsv")) {
        let file = summary.files.iter().find(|file| Path::new(&file.path) == root.join(&path)).expect("read");
        assert_eq!(file.events, expected, "{path}");
    }
    // Every layout yields the canonical system fields.
    let sysmon = events.iter().filter(|event| event.channel() == Some("Microsoft-Windows-Sysmon/Operational")).count();
    // 10,204 carry `Channel`; one more Log Analytics `Event` row names it in `EventLog`.
    assert_eq!(sysmon, 10_205);
    let network = events
        .iter()
        .filter(|event| event.event_id() == Some(3) && event.provider() == Some("Microsoft-Windows-Sysmon"))
        .count();
    assert_eq!(network, 249);
    assert!(events.iter().all(|event| event.timestamp().is_some()));
}

/// `<id>.evtx` paths in regression_data that have a `<id>.json` twin.
fn twin_pairs(root: &Path) -> Vec<(PathBuf, PathBuf)> {
    let mut pairs: Vec<(PathBuf, PathBuf)> = walk(root)
        .into_iter()
        .filter(|path| path.extension().is_some_and(|ext| ext == "evtx"))
        .map(|evtx| (evtx.clone(), evtx.with_extension("json")))
        .filter(|(_, json)| json.is_file())
        .collect();
    pairs.sort();
    pairs
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).expect("readable").flatten() {
        let path = entry.path();
        if path.is_dir() { found.extend(walk(&path)) } else { found.push(path) }
    }
    found
}

#[test]
fn regression_twins_give_238_identical_events_from_evtx_and_json() {
    let Some(data) = shared_data() else { return };
    let pairs = twin_pairs(&data.join("sigma/regression_data"));
    assert_eq!(pairs.len(), 202);
    let (mut from_evtx, mut from_json, mut differences) = (0, 0, Differences::default());
    for (evtx, json) in &pairs {
        let (evtx_events, evtx_summary) = read_all(&[evtx]);
        let (json_events, json_summary) = read_all(&[json]);
        assert_eq!(evtx_summary.all_problems().count() + json_summary.all_problems().count(), 0, "{}", evtx.display());
        assert_eq!(evtx_events.len(), json_events.len(), "{}", evtx.display());
        for (a, b) in evtx_events.iter().zip(&json_events) {
            count_differences(&texts(a), &texts(b), evtx, &mut differences);
            assert_eq!(a.timestamp(), b.timestamp(), "{}", evtx.display());
        }
        from_evtx += evtx_events.len();
        from_json += json_events.len();
    }
    assert_eq!((from_evtx, from_json), (238, 238));
    // The JSON twins are not a faithful export of the EVTX: the tool that wrote them cut white
    // space at the end of 91 values (`cmd.exe" ` became `cmd.exe"`), and one value differs in
    // case (`Explorer.EXE` in ad691d92.evtx, `Explorer.exe` in its JSON). Harrier keeps values
    // as each file holds them; these are the only differences, field names all agree.
    assert_eq!(differences, Differences { trailing_space: 91, letter_case: 1 });
}

#[derive(Debug, Default, PartialEq, Eq)]
struct Differences {
    trailing_space: usize,
    letter_case: usize,
}

/// Checks that two events have the same field names and that their values differ at most in
/// trailing white space or letter case, and counts those values.
fn count_differences(evtx: &[(String, String)], json: &[(String, String)], file: &Path, counts: &mut Differences) {
    let names = |pairs: &[(String, String)]| pairs.iter().map(|(name, _)| name.clone()).collect::<Vec<_>>();
    assert_eq!(names(evtx), names(json), "{}", file.display());
    for ((name, evtx_value), (_, json_value)) in evtx.iter().zip(json) {
        if evtx_value == json_value {
            continue;
        }
        if evtx_value.trim_end() == json_value.trim_end() {
            counts.trailing_space += 1;
        } else if evtx_value.eq_ignore_ascii_case(json_value) {
            counts.letter_case += 1;
        } else {
            panic!("{}: {name}: {evtx_value:?} != {json_value:?}", file.display());
        }
    }
}
