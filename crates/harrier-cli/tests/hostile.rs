//! Rules and logs crafted to break Harrier: each is named with its place and a limit, the good
//! rules' hits are still found, nothing panics, aborts or hangs, and memory stays bounded.
//! One test per row of the table in issue 16 (rows 8 and 11 are also in `terminal.rs`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn examples(part: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples").join(part)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// What a run gave, with its time and peak memory.
struct Run {
    output: Output,
    seconds: f64,
    peak_mib: f64,
}

/// Runs harrier and measures it (peak resident memory from `wait4`).
#[allow(clippy::zombie_processes)] // `wait` reaps the child with `wait4`, which std cannot see.
fn measured(args: &[&str]) -> Run {
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_harrier"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("harrier runs");
    let (mut stdout, mut stderr) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let out = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut stdout, &mut bytes).unwrap();
        bytes
    });
    let err = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut stderr, &mut bytes).unwrap();
        bytes
    });
    let (status, peak_kib) = wait(child.id());
    let output = Output { status, stdout: out.join().unwrap(), stderr: err.join().unwrap() };
    Run { output, seconds: started.elapsed().as_secs_f64(), peak_mib: peak_kib as f64 / 1024.0 }
}

/// Waits for a child; its exit status and peak resident memory in KiB.
fn wait(pid: u32) -> (std::process::ExitStatus, i64) {
    use std::os::unix::process::ExitStatusExt;
    let mut status = 0;
    // SAFETY: wait4 writes the status and the usage of our own child into what we pass.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::wait4(pid as libc::pid_t, &mut status, 0, &mut usage);
        usage
    };
    (std::process::ExitStatus::from_raw(status), usage.ru_maxrss)
}

fn sigma(dir: &Path, name: &str, id: u32, detection: &str) -> PathBuf {
    let path = dir.join(format!("{name}.yml"));
    let rule = format!(
        "title: crafted {name}\nid: 0000dead-0000-4000-8000-{id:012}\nlogsource:\n  product: windows\n  category: process_creation\n\
         detection:\n{detection}\nlevel: high\n"
    );
    std::fs::write(&path, rule).unwrap();
    path
}

fn escu(dir: &Path, name: &str, id: u32, search: &str) -> PathBuf {
    let path = dir.join(format!("{name}.yml"));
    let quoted = serde_json::to_string(search).unwrap();
    let detection = format!(
        "name: crafted {name}\nid: 0000beef-0000-4000-8000-{id:012}\ntype: TTP\nstatus: production\nsearch: {quoted}\n"
    );
    std::fs::write(&path, detection).unwrap();
    path
}

/// The crafted rules of rows 1 to 5 and 13, each with what its failure must say.
fn crafted(dir: &Path) -> Vec<(PathBuf, &'static str)> {
    let deep = format!("{}sel{}", "(".repeat(10_000), ")".repeat(10_000));
    let nots = format!("{}sel{}", "not (".repeat(7_000), ")".repeat(7_000));
    let selection = |condition: &str| format!("  sel:\n    CommandLine: x\n  condition: {condition}");
    let dashes: String = (0..30).map(|n| format!(" -o{n}")).collect();
    vec![
        (sigma(dir, "nested_parentheses", 1, &selection(&deep)), "more than 64 levels deep"),
        (sigma(dir, "nested_not", 2, &selection(&nots)), "more than 64 levels deep"),
        (
            sigma(
                dir,
                "windash",
                3,
                &format!("  sel:\n    CommandLine|windash|contains: '{dashes}'\n  condition: sel"),
            ),
            "at most 5 option dashes",
        ),
        (
            escu(
                dir,
                "eval_parentheses",
                4,
                &format!("EventCode=1 | eval x={}1{}", "(".repeat(5000), ")".repeat(5000)),
            ),
            "nested more than 64",
        ),
        (
            escu(
                dir,
                "nested_if",
                5,
                &format!("EventCode=1 | eval x={}1{}", "if(a=1, ".repeat(3000), ", 0)".repeat(3000)),
            ),
            "nested more than 64",
        ),
        (
            escu(dir, "search_parentheses", 6, &format!("{}EventCode=1{}", "(".repeat(3000), ")".repeat(3000))),
            "nested more than 64",
        ),
        (
            escu(dir, "plus_terms", 7, &format!("EventCode=1 | eval x={}", vec!["1"; 50_000].join("+"))),
            "more than 1000 operations",
        ),
        (escu(dir, "span_zero", 8, "EventCode=1 | bin _time span=0s | stats count by _time"), "is not a span"),
        (
            escu(dir, "unknown_datamodel", 9, "| tstats count from datamodel=Nope.Nope by Nope.dest"),
            "no CIM data model `Nope.Nope`",
        ),
    ]
}

#[test]
fn crafted_rules_are_named_and_the_good_rules_still_hit() {
    let dir = tempfile::tempdir().unwrap();
    let crafted = crafted(dir.path());
    let good = examples("rules");
    let rules = dir.path().display().to_string();
    let run = measured(&["rules", "check", "-r", &rules, "--failed-only"]);
    let checked = text(&run.output.stdout);
    for (path, message) in &crafted {
        let line = checked.lines().find(|line| line.contains(&*path.display().to_string()));
        let line = line.unwrap_or_else(|| panic!("{} is named:\n{checked}", path.display()));
        assert!(line.starts_with("failed") && line.contains(message), "{line}");
    }
    assert!(run.seconds < 30.0, "checked in {:.1} s", run.seconds);
    let logs = examples("logs").display().to_string();
    let hunt = measured(&["hunt", &logs, "-r", good.to_str().unwrap(), "-r", &rules, "--format", "jsonl", "-v"]);
    assert!(hunt.output.status.success(), "{}", text(&hunt.output.stderr));
    let hits = text(&hunt.output.stdout).lines().filter(|line| !line.contains("\"type\"")).count();
    assert_eq!(hits, 7, "the good rules' hits are all there");
    let stderr = text(&hunt.output.stderr);
    assert_eq!(stderr.matches("rule not loaded: ").count(), crafted.len(), "each crafted rule named:\n{stderr}");
    // The same over all the shared logs: no panic, abort or hang.
    let Some(data) = harrier_testdata::shared("") else { return };
    let all = measured(&["hunt", data.to_str().unwrap(), "-r", good.to_str().unwrap(), "-r", &rules, "-q"]);
    assert!(all.output.status.success(), "{}", text(&all.output.stderr));
}

#[test]
fn long_literals_load_in_linear_time() {
    let dir = tempfile::tempdir().unwrap();
    let repeated = "A".repeat(1 << 20);
    let varied: String = (0..100_000).map(|n| char::from(b'a' + (n * 7 % 26) as u8)).collect();
    for (name, detection) in [
        ("contains", format!("  sel:\n    CommandLine|contains: '{repeated}'\n  condition: sel")),
        ("equals", format!("  sel:\n    CommandLine: '{repeated}'\n  condition: sel")),
        ("keyword", format!("  keywords:\n    - '{repeated}'\n  condition: keywords")),
        ("base64offset", format!("  sel:\n    CommandLine|base64offset|contains: '{varied}'\n  condition: sel")),
    ] {
        let path = sigma(dir.path(), name, 1, &detection);
        let run = measured(&["hunt", examples("logs").to_str().unwrap(), "-r", path.to_str().unwrap(), "-q"]);
        assert!(run.output.status.success(), "{name}: {}", text(&run.output.stderr));
        assert!(run.seconds < 10.0, "a 1 MB `{name}` literal loads and runs in {:.1} s", run.seconds);
    }
}

#[test]
fn macros_that_double_at_each_level_are_refused_without_taking_the_memory() {
    let dir = tempfile::tempdir().unwrap();
    let macros = dir.path().join("macros");
    std::fs::create_dir(&macros).unwrap();
    for level in 0..30 {
        let definition =
            if level == 29 { "EventCode=1".to_owned() } else { format!("`m{}` `m{}`", level + 1, level + 1) };
        let text = format!("name: m{level}\ndefinition: {}\n", serde_json::to_string(&definition).unwrap());
        std::fs::write(macros.join(format!("m{level}.yml")), text).unwrap();
    }
    let rules = dir.path().join("detections");
    std::fs::create_dir(&rules).unwrap();
    escu(&rules, "doubling", 1, "`m0` | stats count");
    let run = measured(&["rules", "check", "-r", rules.to_str().unwrap(), "--macros", macros.to_str().unwrap()]);
    let stdout = text(&run.output.stdout);
    assert!(stdout.contains("expands to more than 1024 KiB"), "{stdout}");
    assert!(run.peak_mib < 200.0 && run.seconds < 10.0, "{:.0} MiB, {:.1} s", run.peak_mib, run.seconds);
}

/// A gzip file of `parts` written in order.
fn gzip(path: &Path, parts: &mut dyn FnMut(&mut dyn Write)) {
    let file = std::fs::File::create(path).unwrap();
    let mut encoder = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
    parts(&mut encoder);
    encoder.finish().unwrap();
}

#[test]
fn an_enormous_json_line_is_skipped_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let line = dir.path().join("line.json.gz");
    let event = |id: u32| format!("{{\"EventID\": {id}, \"Channel\": \"Security\"}}\n");
    gzip(&line, &mut |out| {
        out.write_all(event(1).as_bytes()).unwrap();
        out.write_all(b"{!").unwrap();
        let block = vec![b'x'; 1 << 20];
        for _ in 0..1024 {
            out.write_all(&block).unwrap();
        }
        out.write_all(b"\n").unwrap();
        out.write_all(event(2).as_bytes()).unwrap();
    });
    let run = measured(&["stats", line.to_str().unwrap(), "--format", "json"]);
    let report: serde_json::Value = serde_json::from_slice(&run.output.stdout).unwrap();
    assert_eq!(report["totals"]["events"], 2, "the lines around it are read");
    let problem = &report["files"][0]["problems"][0];
    assert_eq!(problem["place"], "line 2");
    assert!(problem["message"].as_str().unwrap().contains("larger than 16 MiB"), "{problem}");
    assert!(run.peak_mib < 200.0, "a 1 GiB line read in {:.0} MiB", run.peak_mib);

    let array = dir.path().join("array.json.gz");
    let element =
        format!("{{\"EventID\": 4624, \"Channel\": \"Security\", \"TargetUserName\": \"{}\"}},", "a".repeat(1000));
    gzip(&array, &mut |out| {
        out.write_all(b"[").unwrap();
        for _ in 0..(256 << 20) / element.len() {
            out.write_all(element.as_bytes()).unwrap();
        }
        out.write_all(event(1).trim_end().as_bytes()).unwrap();
        out.write_all(b"]").unwrap();
    });
    let run = measured(&["stats", array.to_str().unwrap(), "--format", "json", "-q"]);
    let report: serde_json::Value = serde_json::from_slice(&run.output.stdout).unwrap();
    assert!(report["totals"]["events"].as_u64().unwrap() > 250_000);
    assert!(run.peak_mib < 200.0, "a 256 MiB single-line array read in {:.0} MiB", run.peak_mib);
}

#[test]
fn thread_counts_are_checked() {
    for threads in ["0", "100000"] {
        let started = Instant::now();
        let output = Command::new(env!("CARGO_BIN_EXE_harrier"))
            .args(["-j", threads, "stats", examples("logs").to_str().unwrap()])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "-j {threads}");
        assert!(text(&output.stderr).contains("1..=1024"), "{}", text(&output.stderr));
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}

#[test]
fn flipped_bits_in_an_evtx_chunk_are_reported_and_its_records_still_read() {
    let Some(sample) = harrier_testdata::shared("evtx/EVTX-ATTACK-SAMPLES/Execution/Sysmon_Exec_CompiledHTML.evtx")
    else {
        return;
    };
    let mut bytes = std::fs::read(&sample).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let clean = dir.path().join("clean.evtx");
    std::fs::write(&clean, &bytes).unwrap();
    // A byte in the middle of the first chunk's records (the file header is 4 KiB, a chunk's
    // own header 512 bytes).
    bytes[4096 + 512 + 1000] ^= 0x20;
    let flipped = dir.path().join("flipped.evtx");
    std::fs::write(&flipped, &bytes).unwrap();
    let count = |path: &Path| {
        let output = Command::new(env!("CARGO_BIN_EXE_harrier"))
            .args(["stats", path.to_str().unwrap(), "--format", "json"])
            .output()
            .unwrap();
        serde_json::from_slice::<serde_json::Value>(&output.stdout).unwrap()
    };
    let (clean, flipped) = (count(&clean), count(&flipped));
    assert_eq!(clean["files"][0]["problems"].as_array().unwrap().len(), 0);
    let problem = &flipped["files"][0]["problems"][0];
    assert_eq!(problem["place"], "chunk 0");
    assert_eq!(problem["verb"], "flagged");
    assert!(problem["message"].as_str().unwrap().contains("checksum does not match"), "{problem}");
    assert!(problem["message"].as_str().unwrap().contains("records 1 to "), "{problem}");
    assert_eq!(flipped["totals"]["events"], clean["totals"]["events"], "the records are read all the same");
}

#[test]
fn a_duplicate_rule_id_is_named_and_the_first_rule_runs() {
    let dir = tempfile::tempdir().unwrap();
    let original = examples("rules/proc_creation_discovery_from_public_folder_parent.yml");
    std::fs::copy(&original, dir.path().join("a-original.yml")).unwrap();
    std::fs::copy(&original, dir.path().join("b-copy.yml")).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_harrier"))
        .args([
            "hunt",
            examples("logs").to_str().unwrap(),
            "-r",
            dir.path().to_str().unwrap(),
            "--format",
            "jsonl",
            "-v",
        ])
        .output()
        .unwrap();
    let stderr = text(&output.stderr);
    assert!(stderr.contains("b-copy.yml") && stderr.contains("a-original.yml:1, read first, which runs"), "{stderr}");
    assert_eq!(text(&output.stdout).lines().count(), 1, "the rule's hit, once");
}

#[test]
fn json_that_is_not_events_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("open.json", "[[[[[[[[", "the input ends inside the JSON document"),
        ("cut.json", "[{\"EventID\": 1, \"Channel\": \"Security\"},\n", "the JSON array that opens here is not closed"),
        ("numbers.json", "[1,2,3]\n", "a JSON array element that is not an object (an event): `1`"),
    ];
    for (name, content, message) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        let output =
            Command::new(env!("CARGO_BIN_EXE_harrier")).args(["stats", path.to_str().unwrap(), "-v"]).output().unwrap();
        let stderr = text(&output.stderr);
        assert!(stderr.contains(message), "{name}: `{message}` in {stderr}");
    }
}

#[test]
fn unreadable_times_are_counted_and_time_windows_say_what_they_could_not_place() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("times.jsonl");
    let lines = [
        r#"{"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational", "@timestamp": "2024-05-01T10:00:00Z", "Image": "C:\\a.exe"}"#,
        r#"{"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational", "@timestamp": "yesterday at noon", "Image": "C:\\b.exe"}"#,
    ];
    std::fs::write(&logs, lines.join("\n") + "\n").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_harrier"))
        .args(["events", logs.to_str().unwrap(), "--since", "2024-01-01", "--format", "jsonl", "-v"])
        .output()
        .unwrap();
    let stderr = text(&output.stderr);
    assert!(stderr.contains("line 2: the time `yesterday at noon` cannot be read"), "{stderr}");
    assert!(stderr.contains("left out 1 event without a time"), "{stderr}");
    assert_eq!(text(&output.stdout).lines().count(), 1);
    let backwards = Command::new(env!("CARGO_BIN_EXE_harrier"))
        .args([
            "hunt",
            logs.to_str().unwrap(),
            "-r",
            examples("rules").to_str().unwrap(),
            "--since",
            "2024-02-01",
            "--until",
            "2024-01-01",
        ])
        .output()
        .unwrap();
    assert_eq!(backwards.status.code(), Some(2), "--since after --until");
}
