//! `harrier bench`: parse-only throughput, beside the `evtx` crate's own JSON rendering.

use crate::output::OutputArgs;
use crate::progress::Ui;
use clap::{Args, ValueEnum};
use harrier::{Flow, Hunt, RuleSet};
use harrier_read::{Input, ReadOptions};
use serde::Serialize;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

/// Measure throughput: events/s, MB/s, events per CPU-second and peak memory.
///
/// `harrier` reads, parses and normalizes every event, counting them (no output). With
/// `--rules`, a full hunt is timed too (parse, normalize, match every rule; no output), with
/// the time and memory loading the rules takes and the ratio hunt / parse-only. When the
/// inputs hold EVTX files and others (JSON, XML), each kind is also timed alone: different
/// parsers read them. With `--baseline`, the EVTX files are then also rendered to JSON by
/// the `evtx` crate alone, the way `evtx_dump -o jsonl` does, on the same threads, so the two
/// can be compared on one machine. Peak memory is measured after the Harrier passes, before
/// the baseline.
///
/// Example: harrier bench logs/ --baseline -r sigma/rules
#[derive(Args)]
#[command(verbatim_doc_comment)]
pub struct BenchArgs {
    /// Files or directories to read.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<String>,

    /// Also time the `evtx` crate's JSON rendering of the EVTX files.
    #[arg(long)]
    baseline: bool,

    /// Passes over the inputs; the fastest is reported (the first warms the page cache).
    #[arg(long, default_value_t = 3, value_name = "N")]
    repeat: usize,

    /// Also time a full hunt with these Sigma rules (files or directories), and loading them.
    #[arg(long = "rules", short = 'r', value_name = "PATH")]
    rules: Vec<PathBuf>,

    /// Output format: table or json.
    #[arg(long, value_enum, default_value_t = BenchFormat::Table)]
    format: BenchFormat,

    #[command(flatten)]
    output: OutputArgs,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum BenchFormat {
    Table,
    Json,
}

/// One timed pass.
#[derive(Serialize, Clone)]
struct Measure {
    name: &'static str,
    events: u64,
    bytes: u64,
    seconds: f64,
    cpu_seconds: f64,
    events_per_second: f64,
    megabytes_per_second: f64,
    events_per_cpu_second: f64,
}

impl Measure {
    fn new(name: &'static str, events: u64, bytes: u64, seconds: f64, cpu_seconds: f64) -> Measure {
        Measure {
            name,
            events,
            bytes,
            seconds,
            cpu_seconds,
            events_per_second: events as f64 / seconds,
            megabytes_per_second: bytes as f64 / 1e6 / seconds,
            events_per_cpu_second: events as f64 / cpu_seconds.max(1e-9),
        }
    }
}

/// Loading the rules of a hunt.
#[derive(Serialize)]
struct RuleLoading {
    rules_run: usize,
    seconds: f64,
    /// Resident memory the loaded and compiled rules take.
    memory_mib: f64,
    /// Loading them in a process of its own, from the YAML (no cache).
    cold: Option<LoadRun>,
    /// Loading them in a process of its own, from the rule cache.
    cached: Option<LoadRun>,
}

/// One `harrier hunt` process over one empty event: what loading and compiling the rules
/// costs alone.
#[derive(Serialize)]
struct LoadRun {
    seconds: f64,
    cpu_seconds: f64,
    peak_memory_mib: f64,
}

#[derive(Serialize)]
struct HuntOverParse {
    /// The parse-only pass the hunt is compared with.
    inputs: &'static str,
    /// In events per second (wall clock).
    ratio: f64,
    /// In events per CPU-second: what the hunt costs over reading, whatever the cores do.
    ratio_per_cpu_second: f64,
}

#[derive(Serialize)]
struct Report {
    threads: usize,
    measures: Vec<Measure>,
    rule_loading: Option<RuleLoading>,
    /// Full hunt over parse-only, in events per second and in events per CPU-second, for all
    /// the inputs and (when they hold two formats) for each format.
    hunt_over_parse: Vec<HuntOverParse>,
    /// Peak resident memory of the Harrier passes (rules included, baseline excluded).
    peak_memory_mib: f64,
    /// Harrier parse-only events per CPU-second over the baseline's.
    ratio_to_baseline: Option<f64>,
}

/// The inputs of one pass: all of them, or the files of one format when there are two.
struct Part {
    parse_name: &'static str,
    hunt_name: &'static str,
    inputs: Vec<Input>,
}

/// All the inputs, then (when the inputs hold EVTX files and others) the EVTX files alone and
/// the others alone, which are read by different parsers and so measured apart.
fn parts(paths: &[String]) -> Vec<Part> {
    let all = Part {
        parse_name: "harrier parse+normalize",
        hunt_name: "harrier hunt (parse+normalize+match)",
        inputs: paths.iter().map(|path| Input::from_arg(path)).collect(),
    };
    let (evtx, other): (Vec<PathBuf>, Vec<PathBuf>) = files(paths).into_iter().partition(|file| is_evtx(file));
    if evtx.is_empty() || other.is_empty() {
        return vec![all];
    }
    let of = |files: Vec<PathBuf>| files.into_iter().map(Input::Path).collect();
    vec![
        all,
        Part { parse_name: EVTX_PARSE, hunt_name: "harrier hunt, EVTX only", inputs: of(evtx) },
        Part {
            parse_name: "harrier parse+normalize, JSON/XML only",
            hunt_name: "harrier hunt, JSON/XML only",
            inputs: of(other),
        },
    ]
}

const EVTX_PARSE: &str = "harrier parse+normalize, EVTX only";

pub fn run(args: &BenchArgs, ui: &Ui) -> std::io::Result<ExitCode> {
    let mut out = args.output.open(ui)?;
    // First, while this process is small: a child's peak memory counts its parent's at the fork.
    let (cold, cached) = if args.rules.is_empty() { (None, None) } else { load_runs(&args.rules, args.repeat)? };
    let mut parts = parts(&args.paths);
    let parse = |part: &Part| best_of(args.repeat, || parse_only(part.parse_name, &part.inputs));
    let mut parses = vec![parse(&parts[0])];
    if let [_, evtx, other] = parts.as_slice() {
        // Files of the other format that hold no events (a README beside EVTX files): one
        // part, and the EVTX files are not read again alone.
        let other = parse(other);
        if other.events == 0 {
            parts.truncate(1);
        } else {
            parses.extend([parse(evtx), other]);
        }
    }
    let mut measures = parses.clone();
    let mut ratio_to_baseline = None;
    let (mut rule_loading, mut hunt_over_parse) = (None, Vec::new());
    if !args.rules.is_empty() {
        let memory_before = current_memory_kib();
        let started = Instant::now();
        let builder = args.rules.iter().fold(RuleSet::builder(), |builder, path| builder.rules(path));
        let set = builder.build().map_err(std::io::Error::other)?;
        let (seconds, memory_mib) =
            (started.elapsed().as_secs_f64(), (current_memory_kib() - memory_before) as f64 / 1024.0);
        rule_loading = Some(RuleLoading { rules_run: set.rules_run(), seconds, memory_mib, cold, cached });
        for (part, parse) in parts.iter().zip(&parses) {
            let hunt = best_of_fallible(args.repeat, || hunt_pass(part.hunt_name, &part.inputs, &set))?;
            hunt_over_parse.push(HuntOverParse {
                inputs: part.parse_name,
                ratio: hunt.events_per_second / parse.events_per_second,
                ratio_per_cpu_second: hunt.events_per_cpu_second / parse.events_per_cpu_second,
            });
            measures.push(hunt);
        }
    }
    // Before the baseline, which is not Harrier's.
    let peak_memory_mib = peak_memory_kib() as f64 / 1024.0;
    if args.baseline {
        // The same EVTX files through both, so that the ratio compares like with like.
        let files: Vec<PathBuf> = files(&args.paths).into_iter().filter(|file| is_evtx(file)).collect();
        let harrier = match parses.iter().find(|parse| parse.name == EVTX_PARSE) {
            Some(measured) => measured.clone(),
            // One part, with EVTX files: their events are its events (other files hold none).
            None if parts.len() == 1 && !files.is_empty() => parses[0].clone(),
            None => {
                let evtx_inputs: Vec<Input> = files.iter().map(|file| Input::Path(file.clone())).collect();
                let harrier = best_of(args.repeat, || parse_only(EVTX_PARSE, &evtx_inputs));
                measures.push(harrier.clone());
                harrier
            }
        };
        let baseline = best_of(args.repeat, || evtx_crate_json(&files));
        ratio_to_baseline = Some(harrier.events_per_cpu_second / baseline.events_per_cpu_second);
        measures.push(baseline);
    }
    let report = Report {
        threads: rayon::current_num_threads(),
        measures,
        rule_loading,
        hunt_over_parse,
        peak_memory_mib,
        ratio_to_baseline,
    };
    match args.format {
        BenchFormat::Json => writeln!(out.writer, "{}", serde_json::to_string_pretty(&report)?)?,
        BenchFormat::Table => print_table(&mut out.writer, &report)?,
    }
    out.writer.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn best_of(repeat: usize, mut pass: impl FnMut() -> Measure) -> Measure {
    best_of_fallible(repeat, || Ok(pass())).expect("a pass that cannot fail")
}

fn best_of_fallible(repeat: usize, mut pass: impl FnMut() -> std::io::Result<Measure>) -> std::io::Result<Measure> {
    let passes = (0..repeat.max(1)).map(|_| pass()).collect::<std::io::Result<Vec<Measure>>>()?;
    Ok(passes.into_iter().min_by(|a, b| a.seconds.total_cmp(&b.seconds)).expect("at least one pass"))
}

/// Times `work`, which returns (events, bytes).
fn timed(name: &'static str, work: impl FnOnce() -> (u64, u64)) -> Measure {
    let (cpu_before, started) = (cpu_seconds(), Instant::now());
    let (events, bytes) = work();
    Measure::new(name, events, bytes, started.elapsed().as_secs_f64(), cpu_seconds() - cpu_before)
}

fn parse_only(name: &'static str, inputs: &[Input]) -> Measure {
    timed(name, || {
        let summary = harrier_read::read(inputs, &ReadOptions::default(), |batch| batch.events.len(), |_| {}, &mut ());
        (summary.events(), summary.bytes())
    })
}

/// A hunt as `harrier hunt` runs it (reading, normalizing, matching every rule), its hits
/// counted rather than written.
fn hunt_pass(name: &'static str, inputs: &[Input], set: &RuleSet) -> std::io::Result<Measure> {
    let mut measured = Ok(());
    let measure = timed(name, || {
        let mut hits = 0u64;
        let mut count = |_: &harrier::Hit| {
            hits += 1;
            Ok(Flow::Continue)
        };
        match Hunt::new(set).run(inputs, &mut count) {
            Ok(summary) => (summary.events, summary.read.bytes()),
            Err(error) => {
                measured = Err(crate::hunt::into_io(error));
                (0, 0)
            }
        }
    });
    measured.map(|()| measure)
}

/// The best of `repeat` rule loads in processes of their own, without the cache and from a
/// fresh one; `None` where this program cannot run itself.
fn load_runs(rules: &[PathBuf], repeat: usize) -> std::io::Result<(Option<LoadRun>, Option<LoadRun>)> {
    let Ok(harrier) = std::env::current_exe() else { return Ok((None, None)) };
    let cache = tempfile::tempdir()?;
    // A hunt over one empty event: the rules loaded, compiled and run once.
    let event = cache.path().join("event.json");
    std::fs::write(&event, "{}")?;
    let run = |cached: bool| -> std::io::Result<LoadRun> {
        let mut command = std::process::Command::new(&harrier);
        command.arg("hunt").arg(&event).args(["-q", "-j1", "-o", "/dev/null"]).env("HARRIER_CACHE_DIR", cache.path());
        for path in rules {
            command.arg("-r").arg(path);
        }
        if !cached {
            command.arg("--no-cache");
        }
        measured_child(command)
    };
    let best = |runs: Vec<LoadRun>| runs.into_iter().min_by(|a, b| a.cpu_seconds.total_cmp(&b.cpu_seconds));
    let cold = best((0..repeat.max(1)).map(|_| run(false)).collect::<std::io::Result<_>>()?);
    run(true)?; // writes the cache
    let cached = best((0..repeat.max(1)).map(|_| run(true)).collect::<std::io::Result<_>>()?);
    Ok((cold, cached))
}

/// Runs a child to its end: its wall time, CPU time and peak resident memory (from `wait4`,
/// which reaps it).
#[allow(clippy::zombie_processes)]
fn measured_child(mut command: std::process::Command) -> std::io::Result<LoadRun> {
    let started = Instant::now();
    let child = command.stdin(std::process::Stdio::null()).spawn()?;
    let mut status = 0;
    // SAFETY: wait4 writes the status and the usage of our own child into what we pass.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        if libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) < 0 {
            return Err(std::io::Error::last_os_error());
        }
        usage
    };
    Ok(LoadRun {
        seconds: started.elapsed().as_secs_f64(),
        cpu_seconds: timeval_seconds(usage.ru_utime) + timeval_seconds(usage.ru_stime),
        peak_memory_mib: usage.ru_maxrss as f64 / 1024.0,
    })
}

/// The `evtx` crate rendering every record of every file to JSON, as `evtx_dump -o jsonl`
/// does (its chunk pipeline on all threads), without writing the text anywhere.
fn evtx_crate_json(files: &[PathBuf]) -> Measure {
    timed("evtx crate JSON rendering (evtx_dump -o jsonl)", || {
        let settings = evtx::ParserSettings::new().num_threads(rayon::current_num_threads());
        let (mut events, mut bytes) = (0, 0);
        for file in files {
            let Ok(parser) = evtx::EvtxParser::from_path(file) else {
                continue;
            };
            let mut parser = parser.with_configuration(settings.clone());
            for chunk in parser.chunks_json_bytes(false) {
                events += chunk.records().count() as u64;
            }
            bytes += std::fs::metadata(file).map(|meta| meta.len()).unwrap_or(0);
        }
        (events, bytes)
    })
}

/// The files under `paths`, in the order the reader takes them.
fn files(paths: &[String]) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = paths
        .iter()
        .flat_map(|path| walkdir::WalkDir::new(path).sort_by_file_name())
        .filter_map(Result::ok)
        .filter(|entry| entry.file_type().is_file())
        .map(|entry| entry.into_path())
        .collect();
    files.dedup();
    files
}

fn is_evtx(file: &std::path::Path) -> bool {
    file.extension().is_some_and(|ext| ext == "evtx")
}

fn print_table(out: &mut dyn Write, report: &Report) -> std::io::Result<()> {
    writeln!(out, "threads: {}", report.threads)?;
    writeln!(
        out,
        "{:<48} {:>9} {:>8} {:>7} {:>7} {:>11} {:>8} {:>13}",
        "PASS", "EVENTS", "MB", "WALL s", "CPU s", "EVENTS/s", "MB/s", "EVENTS/CPU-s"
    )?;
    for m in &report.measures {
        writeln!(
            out,
            "{:<48} {:>9} {:>8.1} {:>7.2} {:>7.2} {:>11.0} {:>8.1} {:>13.0}",
            m.name,
            m.events,
            m.bytes as f64 / 1e6,
            m.seconds,
            m.cpu_seconds,
            m.events_per_second,
            m.megabytes_per_second,
            m.events_per_cpu_second
        )?;
    }
    if let Some(loading) = &report.rule_loading {
        writeln!(
            out,
            "rules: {} run, loaded in {:.2} s, {:.1} MiB",
            loading.rules_run, loading.seconds, loading.memory_mib
        )?;
        let runs = [("cold (no cache)", &loading.cold), ("from the cache", &loading.cached)];
        for (name, run) in runs.iter().filter_map(|(name, run)| Some((name, run.as_ref()?))) {
            writeln!(
                out,
                "rule load alone, {name}: {:.2} s, {:.2} CPU-s, peak {:.1} MiB",
                run.seconds, run.cpu_seconds, run.peak_memory_mib
            )?;
        }
    }
    for HuntOverParse { inputs, ratio, ratio_per_cpu_second } in &report.hunt_over_parse {
        writeln!(
            out,
            "hunt / parse-only ({inputs}): {ratio:.2} in events per second, {ratio_per_cpu_second:.2} in events per CPU-second"
        )?;
    }
    writeln!(out, "peak memory: {:.1} MiB", report.peak_memory_mib)?;
    if let Some(ratio) = report.ratio_to_baseline {
        writeln!(out, "harrier / evtx crate on the EVTX files, events per CPU-second: {ratio:.2}")?;
    }
    Ok(())
}

fn usage() -> libc::rusage {
    // SAFETY: getrusage writes into the struct we pass and reads nothing else.
    unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    }
}

fn cpu_seconds() -> f64 {
    let usage = usage();
    timeval_seconds(usage.ru_utime) + timeval_seconds(usage.ru_stime)
}

fn timeval_seconds(time: libc::timeval) -> f64 {
    time.tv_sec as f64 + time.tv_usec as f64 / 1e6
}

/// Resident memory of this process now, in KiB (from /proc; 0 where there is none).
fn current_memory_kib() -> i64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|statm| statm.split_whitespace().nth(1)?.parse::<i64>().ok())
        .map_or(0, |pages| pages * 4)
}

/// Peak resident memory of this process so far, in KiB (Linux reports `ru_maxrss` in KiB).
fn peak_memory_kib() -> i64 {
    usage().ru_maxrss
}
