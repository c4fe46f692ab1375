//! Differential test of `hunt --engine spark` (feature `spark`): the shared logs ingested to
//! Parquet and hunted on a Spark Connect server give exactly the hits and rows of the
//! embedded engine on the same files, for the SigmaHQ rules and the ESCU detections Spark SQL
//! expresses; the rules it cannot express are named, and with `--fallback local` run here.
//!
//! The servers: `HARRIER_SPARK_CONNECT` (e.g. `sc://127.0.0.1:15002`, what
//! `tests/spark/local-cluster.sh start` prints) and, for the SigmaHQ rules, one as Spark's
//! defaults make it, `HARRIER_SPARK_LOCAL_CONNECT` (`start-local`). Without them the tests
//! skip, saying so, unless `HARRIER_REQUIRE_SPARK=1` (set in `.ci/run`).
#![cfg(feature = "spark")]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;
use std::time::Instant;

fn connect_url() -> Option<String> {
    server_url("HARRIER_SPARK_CONNECT", "sc://HOST:PORT to run the Spark differential tests")
}

/// The Connect URL the environment variable `variable` names; without it the test skips,
/// saying how to set it (`how`), unless `HARRIER_REQUIRE_SPARK=1`.
fn server_url(variable: &str, how: &str) -> Option<String> {
    match std::env::var(variable) {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("HARRIER_REQUIRE_SPARK").as_deref() == Ok("1") => {
            panic!("HARRIER_REQUIRE_SPARK=1 but {variable} names no Spark Connect server")
        }
        _ => {
            eprintln!("SKIPPED: set {variable}={how}");
            None
        }
    }
}

/// Runs harrier; gives its standard output lines as JSON and its standard error.
fn harrier(args: &[&str]) -> (Vec<serde_json::Value>, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_harrier")).args(args).output().expect("harrier runs");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "harrier {args:?} failed:\n{stderr:.3000}");
    let lines = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect();
    (lines, stderr)
}

fn timed<T>(what: &str, run: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let result = run();
    eprintln!("{what}: {:.1} s", start.elapsed().as_secs_f64());
    result
}

fn ingest(logs: &[&str], out: &Path, view: &str) {
    let out = out.to_str().unwrap();
    let mut args = vec!["ingest"];
    args.extend(logs);
    args.extend(["--out", out, "--view", view, "-q"]);
    timed(&format!("ingest ({view})"), || harrier(&args));
}

/// Detection hits as (rule id, file, record).
fn hits(lines: &[serde_json::Value]) -> BTreeSet<(String, String, u64)> {
    lines
        .iter()
        .filter(|line| line.get("type").is_none())
        .map(|line| {
            (
                line["rule_id"].as_str().unwrap_or("-").to_owned(),
                line["source_file"].as_str().unwrap().to_owned(),
                line["record_id"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// Rule ids `hunt --engine spark` named as not run on the cluster.
fn not_run(stderr: &str) -> BTreeSet<String> {
    stderr
        .lines()
        .filter(|line| line.contains(" not run (Spark SQL lacks"))
        .filter_map(|line| line.strip_prefix("harrier: ")?.split(' ').next().map(str::to_owned))
        .collect()
}

fn report<T: std::fmt::Debug>(what: &str, only_embedded: &[T], only_spark: &[T]) {
    eprintln!("{what}: {} only embedded, {} only Spark", only_embedded.len(), only_spark.len());
    for item in only_embedded.iter().take(20) {
        eprintln!("  only embedded: {item:?}");
    }
    for item in only_spark.iter().take(20) {
        eprintln!("  only Spark: {item:?}");
    }
}

/// The shared logs (EVTX and JSON), as paths.
fn shared_logs() -> Option<[String; 2]> {
    let (evtx, json) = (harrier_testdata::shared("evtx")?, harrier_testdata::shared("json")?);
    Some([evtx.display().to_string(), json.display().to_string()])
}

/// Hunts `logs` with `rules` here and on Spark, the logs ingested to a lake per `(view, option
/// naming it)`, `spark_options` added: the embedded output, Spark's, and its standard error.
struct Hunts {
    embedded: Vec<serde_json::Value>,
    on_spark: Vec<serde_json::Value>,
    stderr: String,
}

struct Hunt<'a> {
    url: &'a str,
    logs: &'a [&'a str],
    rules: &'a Path,
    lakes: &'a [(&'a str, &'a str)],
    spark_options: &'a [&'a str],
    what: &'a str,
}

impl Hunt<'_> {
    fn both_ways(&self) -> Hunts {
        let rules = self.rules.to_str().unwrap();
        let embedded_args = [&["hunt"][..], self.logs, &["-r", rules, "--format", "jsonl", "-q"]].concat();
        let (embedded, _) = timed(&format!("embedded hunt, {}", self.what), || harrier(&embedded_args));
        let dir = tempfile::tempdir().unwrap();
        let mut spark_args: Vec<String> =
            ["hunt", "--engine", "spark", "--connect", self.url, "-r", rules, "--format", "jsonl"]
                .map(String::from)
                .into();
        for (view, option) in self.lakes {
            let lake = dir.path().join(view);
            ingest(self.logs, &lake, view);
            spark_args.extend([option.to_string(), lake.display().to_string()]);
        }
        spark_args.extend(self.spark_options.iter().map(|option| option.to_string()));
        let spark_args: Vec<&str> = spark_args.iter().map(String::as_str).collect();
        let (on_spark, stderr) = timed(&format!("Spark hunt, {}", self.what), || harrier(&spark_args));
        eprintln!("{}", stderr.lines().filter(|line| line.contains("Spark ran")).collect::<Vec<_>>().join("\n"));
        Hunts { embedded, on_spark, stderr }
    }
}

/// Every ESCU detection, row for row: those Spark SQL expresses on the cluster (about 850
/// aggregate queries, 50 per query), the others here on the candidate rows it sends.
#[test]
fn spark_hunts_with_escu_detections_give_the_embedded_rows() {
    let Some(url) = connect_url() else { return };
    let (Some(detections), Some(logs)) = (harrier_testdata::escu("detections"), shared_logs()) else { return };
    let logs = [logs[0].as_str(), logs[1].as_str()];
    let lakes = [("splunk", "--table")];
    let spark_options = ["--fallback", "local"];
    let hunt =
        Hunt { url: &url, logs: &logs, rules: &detections, lakes: &lakes, spark_options: &spark_options, what: "ESCU" };
    let hunts = hunt.both_ways();
    let skipped = &not_run(&hunts.stderr);
    let run_locally = hunts.stderr.lines().filter(|line| line.contains("runs locally on its candidate rows")).count();
    let rows = |lines: &[serde_json::Value]| -> BTreeMap<String, Vec<String>> {
        let mut rows: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for line in lines.iter().filter(|line| line["type"] == "row") {
            let id = line["rule_id"].as_str().unwrap().to_owned();
            if !skipped.contains(&id) {
                let mut row = line["row"].clone();
                row.as_object_mut().unwrap().insert("source_files".into(), line["source_files"].clone());
                rows.entry(id).or_default().push(serde_json::to_string(&normalized(&row)).unwrap());
            }
        }
        rows.values_mut().for_each(|rows| rows.sort());
        rows
    };
    let (expected, found) = (rows(&hunts.embedded), rows(&hunts.on_spark));
    let differing: Vec<&String> =
        expected.keys().chain(found.keys()).filter(|id| expected.get(*id) != found.get(*id)).collect();
    for id in differing.iter().take(10) {
        eprintln!("  {id}: embedded {:?}\n      Spark {:?}", expected.get(*id), found.get(*id));
    }
    eprintln!(
        "ESCU: {} detections with rows compared ({} rows), {} differ; {run_locally} run here on candidate \
         rows, {} not run",
        expected.len(),
        expected.values().map(Vec::len).sum::<usize>(),
        differing.len(),
        skipped.len()
    );
    assert!(expected.len() > 100, "{}", expected.len());
    assert!(skipped.is_empty() && run_locally > 0, "{skipped:?}");
    assert!(differing.is_empty(), "{} detections differ", differing.len());
}

/// Values as text, numbers without a needless `.0`, lists sorted: how a row reads whatever
/// the engine's types.
fn normalized(value: &serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::Object(map) => {
            let sorted: BTreeMap<&String, serde_json::Value> = map.iter().map(|(k, v)| (k, normalized(v))).collect();
            serde_json::json!(sorted)
        }
        serde_json::Value::Array(items) => {
            let mut items: Vec<String> = items.iter().map(|item| normalized(item).to_string()).collect();
            items.sort();
            serde_json::json!(items)
        }
        serde_json::Value::Number(number) => match number.as_f64() {
            Some(value) if value.fract() == 0.0 => serde_json::json!(format!("{}", value as i64)),
            _ => serde_json::json!(number.to_string()),
        },
        other => serde_json::json!(other.to_string().trim_matches('"')),
    }
}

/// The example rules (Sigma rules, a correlation chain over them, ESCU detections) over the
/// example logs: the whole output, hits, correlation results and rows, is the embedded one.
/// Correlation windows are computed here over the matches the cluster returns.
#[test]
fn spark_hunts_of_the_examples_give_the_embedded_output() {
    let Some(url) = connect_url() else { return };
    examples_on_spark(&url, &["--fallback", "local"], "examples");
}

/// `--native`: Harrier's engine in the executors (through the Python package, which `.ci/run`
/// installs here and for the cluster's workers), the whole output the embedded one.
#[test]
fn native_hunts_of_the_examples_give_the_embedded_output() {
    let Some(url) = connect_url() else { return };
    examples_on_spark(&url, &["--native"], "examples, --native");
}

fn examples_on_spark(url: &str, spark_options: &[&str], what: &str) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let (logs, rules) = (root.join("examples/logs"), root.join("examples/rules"));
    let logs = [logs.to_str().unwrap()];
    let lakes = [("native", "--table"), ("splunk", "--splunk-table")];
    let hunt = Hunt { url, logs: &logs, rules: &rules, lakes: &lakes, spark_options, what };
    let hunts = hunt.both_ways();
    let sorted = |lines: &[serde_json::Value]| {
        let mut lines: Vec<String> = lines.iter().map(|line| normalized(line).to_string()).collect();
        lines.sort();
        lines
    };
    let kinds = |lines: &[serde_json::Value]| {
        let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
        for line in lines {
            *kinds.entry(line["type"].as_str().unwrap_or("hit").to_owned()).or_default() += 1;
        }
        kinds
    };
    eprintln!("{what}: embedded {:?}, Spark {:?}", kinds(&hunts.embedded), kinds(&hunts.on_spark));
    assert!(kinds(&hunts.embedded).get("correlation").is_some_and(|count| *count > 0));
    assert_eq!(sorted(&hunts.on_spark), sorted(&hunts.embedded));
}

/// A keyword search and an IPv6 network run on Spark with the embedded hits; a rule Spark SQL
/// cannot express (a time-part modifier) is named, and runs here with `--fallback local` on
/// the candidate rows the cluster sends, with the embedded hits.
#[test]
fn keywords_and_ipv6_run_on_spark_and_what_it_cannot_express_runs_locally() {
    let Some(url) = connect_url() else { return };
    let Some(evtx) = harrier_testdata::shared("evtx/EVTX-ATTACK-SAMPLES") else { return };
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    let rule = |name: &str, id: u8, title: &str, logsource: &str, detection: &str| {
        let text = format!(
            "title: {title}\nid: 6f1e3a5c-0000-4000-8000-00000000000{id}\nlogsource:\n  product: windows\n  {logsource}\ndetection:\n{detection}level: low\n"
        );
        std::fs::write(rules.join(name), text).unwrap();
    };
    rule(
        "keyword.yml",
        1,
        "Keyword mimikatz",
        "service: security",
        "  keywords:\n    - 'mimikatz'\n    - 'lsass'\n  condition: keywords\n",
    );
    rule(
        "ipv6.yml",
        2,
        "Sysmon network connection outside an IPv6 range",
        "category: network_connection",
        "  selection:\n    Initiated: 'true'\n  filter:\n    DestinationIp|cidr: 'fe80::/10'\n  condition: selection and not filter\n",
    );
    rule(
        "hour.yml",
        3,
        "Process started in the evening",
        "category: process_creation",
        "  selection:\n    UtcTime|hour|gte: 18\n  condition: selection\n",
    );
    let lake = dir.path().join("lake");
    let evtx = evtx.to_str().unwrap();
    ingest(&[evtx], &lake, "native");
    let rules = rules.to_str().unwrap();
    let (embedded, _) = harrier(&["hunt", evtx, "-r", rules, "--format", "jsonl", "-q"]);
    let per_rule = |lines: &[serde_json::Value]| {
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for (rule, _, _) in hits(lines) {
            *counts.entry(rule).or_default() += 1;
        }
        counts
    };
    assert_eq!(per_rule(&embedded).len(), 3, "the three rules hit on the attack samples: {:?}", per_rule(&embedded));
    let lake = lake.to_str().unwrap();
    let spark = ["hunt", "--engine", "spark", "--connect", &url, "--table", lake, "-r", rules, "--format", "jsonl"];
    let (on_spark, stderr) = harrier(&spark);
    let skipped = not_run(&stderr);
    assert_eq!(skipped, BTreeSet::from(["6f1e3a5c-0000-4000-8000-000000000003".to_owned()]), "{stderr}");
    let expected: BTreeSet<_> = hits(&embedded).into_iter().filter(|(rule, _, _)| !skipped.contains(rule)).collect();
    assert_eq!(hits(&on_spark), expected, "the keyword search and the IPv6 network on Spark");
    let (local, stderr) = harrier(&[&spark[..], &["--fallback", "local"]].concat());
    assert!(stderr.contains("runs locally on its candidate rows"), "{stderr}");
    eprintln!("embedded {:?}, Spark with local fallback {:?}", per_rule(&embedded), per_rule(&local));
    assert_eq!(hits(&local), hits(&embedded));
}

/// The Connect server as Spark's defaults make it (`local[2]`: the executors inside the 1 GB
/// heap of the driver), `HARRIER_SPARK_LOCAL_CONNECT`, from `tests/spark/local-cluster.sh
/// start-local`; under `HARRIER_REQUIRE_SPARK=1` it must be there.
fn local_connect_url() -> Option<String> {
    server_url(
        "HARRIER_SPARK_LOCAL_CONNECT",
        "sc://HOST:PORT (what tests/spark/local-cluster.sh start-local prints) to hunt on a default server",
    )
}

/// On a server with Spark's default memory, every SigmaHQ rule (the Windows ones and the rest)
/// over the whole shared lake: every rule runs (keyword searches and IPv6 `cidr` too), the
/// hits are the embedded ones, and the server compiles every scan (no plan falls back to
/// interpreted execution). Then the server is killed in the middle of a hunt: the hunt
/// fails within 30 s, naming the call it was waiting for. (The server is gone afterwards:
/// one test does both.)
#[test]
fn sigmahq_hunts_on_a_default_server_give_the_embedded_hits_and_its_death_ends_the_hunt() {
    let Some(url) = local_connect_url() else { return };
    let (Some(rules), Some(logs)) = (harrier_testdata::shared("sigma/rules"), shared_logs()) else { return };
    let logs = [logs[0].as_str(), logs[1].as_str()];
    let lakes = [("native", "--table")];
    let what = "SigmaHQ rules, default local-mode server";
    let hunt = Hunt { url: &url, logs: &logs, rules: &rules, lakes: &lakes, spark_options: &[], what };
    let fallbacks_before = codegen_fallbacks(&url);
    let hunts = hunt.both_ways();
    assert!(not_run(&hunts.stderr).is_empty(), "every rule runs on Spark: {}", hunts.stderr);
    if let (Some(before), Some(after)) = (fallbacks_before, codegen_fallbacks(&url)) {
        eprintln!("plans the server ran without generated code during the hunt: {}", after - before);
        assert_eq!(after, before, "a scan outgrew Spark's code generation (\"Whole-stage codegen disabled\")");
    }
    let (expected, found) = (hits(&hunts.embedded), hits(&hunts.on_spark));
    report(
        "Windows SigmaHQ hits",
        &expected.difference(&found).collect::<Vec<_>>(),
        &found.difference(&expected).collect::<Vec<_>>(),
    );
    assert!(expected.len() > 1000, "{}", expected.len());
    eprintln!("{} hits compared, every rule run on Spark", expected.len());
    assert_eq!(found, expected, "Spark and the embedded engine differ");

    let dir = tempfile::tempdir().unwrap();
    let (lake, statements) = (dir.path().join("lake"), dir.path().join("statements.sql"));
    ingest(&logs, &lake, "native");
    let running = Command::new(env!("CARGO_BIN_EXE_harrier"))
        .args(["hunt", "--engine", "spark", "--connect", &url, "--table", lake.to_str().unwrap()])
        .args(["-r", rules.to_str().unwrap(), "-q"])
        .env("HARRIER_SPARK_SQL_LOG", &statements)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Killed once the scans have begun.
    let started = Instant::now();
    while !std::fs::read_to_string(&statements).unwrap_or_default().contains("LATERAL VIEW") {
        assert!(started.elapsed().as_secs() < 120, "no scan within 120 s");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let killed = Command::new("tests/spark/local-cluster.sh")
        .arg("kill-local")
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .status()
        .unwrap();
    assert!(killed.success());
    let killed_at = Instant::now();
    let output = running.wait_with_output().unwrap();
    let (waited, stderr) = (killed_at.elapsed(), String::from_utf8_lossy(&output.stderr));
    eprintln!("the hunt ended {waited:?} after the server was killed: {}", stderr.trim());
    assert!(!output.status.success());
    // The call that failed is a scan's query, or a statement between two (a view dropped).
    let names_the_call = (stderr.contains("query ") && stderr.contains("(SELECT ")) || stderr.contains("statement `");
    assert!(stderr.contains("harrier: error: ") && names_the_call, "{stderr}");
    assert!(waited.as_secs() < 30, "the hunt ends within 30 s of the server's death: {waited:?}");
}

/// How many plans the Connect server at `url` ran interpreted because their generated code
/// did not compile (the JVM's 64 KB per method), from its log, when it is one that
/// `tests/spark/local-cluster.sh` started (its logs are in `target/spark-local/logs`);
/// under `HARRIER_REQUIRE_SPARK=1` the log must be there.
fn codegen_fallbacks(url: &str) -> Option<usize> {
    let port = url.rsplit(':').next().unwrap_or_default();
    let logs = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../target/spark-local/logs"));
    let log = std::fs::read_dir(logs).into_iter().flatten().flatten().find(|entry| {
        let name = entry.file_name().to_string_lossy().into_owned();
        name.contains(&format!("harrier-{port}-")) && name.ends_with(".out")
    });
    let Some(log) = log else {
        assert!(
            std::env::var("HARRIER_REQUIRE_SPARK").as_deref() != Ok("1"),
            "no log of the server at {url} in {}",
            logs.display()
        );
        eprintln!("SKIPPED: code generation not checked (no log of the server at {url} in {})", logs.display());
        return None;
    };
    let text = std::fs::read_to_string(log.path()).expect("the server's log reads");
    Some(text.matches("Whole-stage codegen disabled").count())
}

/// A Connect "server" that accepts connections and never answers, then dies after `life`:
/// what a hunt sees of a server whose driver hangs and is then killed.
fn dying_server(life: std::time::Duration) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        listener.set_nonblocking(true).unwrap();
        let started = Instant::now();
        let mut held = Vec::new();
        while started.elapsed() < life {
            if let Ok((stream, _)) = listener.accept() {
                held.push(stream);
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        // Dropping the listener and every connection: the server is gone.
    });
    format!("sc://{address}")
}

#[test]
fn a_server_that_dies_mid_hunt_ends_it_with_an_error_naming_the_call() {
    let Some(rules) = harrier_testdata::shared("sigma/rules") else { return };
    let lake = tempfile::tempdir().unwrap();
    let url = dying_server(std::time::Duration::from_secs(8));
    let started = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_harrier"))
        .args(["hunt", "--engine", "spark", "--connect", &url, "--table", lake.path().to_str().unwrap()])
        .args(["-r", rules.to_str().unwrap(), "-q"])
        .output()
        .unwrap();
    let waited = started.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    // The client notices the dropped connection (or the liveness check the silent server)
    // during its first call, which the error names.
    let named = ["connecting", "setting up the session"].iter().any(|call| stderr.contains(call));
    assert!(stderr.contains(&format!("harrier: error: {url}: ")) && named, "{stderr}");
    assert!(waited.as_secs() < 30, "noticed within 30 s of the server's death (8 s): {waited:?}");
    let nothing = Command::new(env!("CARGO_BIN_EXE_harrier"))
        .args([
            "hunt",
            "--engine",
            "spark",
            "--connect",
            "sc://127.0.0.1:1",
            "--table",
            "t",
            "-r",
            rules.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&nothing.stderr).contains("nothing listens at 127.0.0.1:1"));
}

/// `--native` against a server that hangs then dies: the Python driver is ended at the
/// deadline (`--spark-timeout`, 12 s; the server dies after 8) and the hunt fails naming it.
#[test]
fn a_native_hunt_on_a_dead_server_ends_at_its_deadline() {
    if connect_url().is_none() {
        return;
    }
    let lake = tempfile::tempdir().unwrap();
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/rules");
    let url = dying_server(std::time::Duration::from_secs(8));
    let started = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_harrier"))
        .args(["hunt", "--engine", "spark", "--native", "--spark-timeout", "12", "--connect", &url])
        .args(["--table", lake.path().to_str().unwrap(), "-r", rules.to_str().unwrap(), "-q"])
        .output()
        .unwrap();
    let waited = started.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("python3 -m harrier.spark"), "{stderr}");
    assert!(waited.as_secs() < 20, "ended by its 12 s deadline: {waited:?}\n{stderr}");
    eprintln!("a native hunt on a dead server: failed in {:.1} s: {}", waited.as_secs_f64(), stderr.trim());
}
