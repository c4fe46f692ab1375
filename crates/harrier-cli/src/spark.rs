//! `hunt --engine spark` (feature `spark`): the options of a hunt on a Spark cluster, and the
//! native path: Harrier's engine inside the executors through the Python package.

use crate::rules::wrong;
use arrow_array::RecordBatch;
use clap::{Args, ValueEnum};
use harrier::{Fallback, SparkOptions, Timestamp};
use std::io::{self, Read};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Where the rules run.
#[derive(Args, Clone)]
#[command(next_help_heading = "Running on Apache Spark")]
pub(crate) struct EngineArgs {
    /// local: this process reads the logs; spark: a Spark cluster runs the rules as Spark
    /// SQL over a Parquet lake (`harrier ingest`) and sends back the hits and rows.
    #[arg(long = "engine", value_enum, default_value_t = EngineKind::Local)]
    kind: EngineKind,

    /// The Spark Connect server.
    #[arg(long, value_name = "URL", default_value = "sc://127.0.0.1:15002")]
    connect: String,

    /// The events Sigma rules read on Spark: a lake directory `harrier ingest` wrote (a path
    /// the cluster sees: local, hdfs://, s3a://) or a table name.
    #[arg(long, value_name = "PATH_OR_TABLE")]
    table: Option<String>,

    /// The events ESCU detections read on Spark: a lake `harrier ingest --view splunk` wrote
    /// (default: --table).
    #[arg(long, value_name = "PATH_OR_TABLE")]
    splunk_table: Option<String>,

    /// Rules Spark SQL cannot express: skip them (each is named), or run them here on the
    /// candidate rows the cluster sends back (`local`).
    #[arg(long, value_enum, default_value_t = FallbackArg::Skip)]
    fallback: FallbackArg,

    /// Sigma rules tested per scan of the lake. Spark plans and compiles a query as a whole:
    /// one with thousands of rules outgrows code generation and executor memory.
    #[arg(long, default_value_t = 100, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    rules_per_scan: u16,

    /// Longest a call to the Spark Connect server (a query included) may wait for its answer;
    /// a server that stops listening ends the hunt within seconds.
    #[arg(long, default_value_t = 1800, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
    spark_timeout: u64,

    /// Run Harrier's own engine inside the cluster's executors instead of Spark SQL: every
    /// rule runs, with exactly the embedded engine's results, at many times the speed. The
    /// executors keep the events that can change a result and the hunt ends here over those.
    /// Needs the `harrier` Python package in the cluster's Python (`PYSPARK_PYTHON`) and here,
    /// with `pyspark[connect]` (see --python).
    #[arg(long)]
    native: bool,

    /// The Python that drives the cluster with --native (it runs `python -m harrier.spark`).
    #[arg(long, value_name = "PATH", default_value = "python3", requires = "native")]
    python: PathBuf,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum EngineKind {
    Local,
    Spark,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum FallbackArg {
    Skip,
    Local,
}

impl EngineArgs {
    /// The Spark options, when the hunt runs on Spark.
    pub fn options(&self) -> std::io::Result<Option<SparkOptions>> {
        if self.kind == EngineKind::Local {
            return Ok(None);
        }
        let table = self.table.as_deref().ok_or_else(|| {
            std::io::Error::other("--engine spark needs --table (a lake from `harrier ingest`, or a table)")
        })?;
        let mut options = SparkOptions::new(&self.connect, table);
        options.splunk_table = self.splunk_table.clone();
        options.fallback = match self.fallback {
            FallbackArg::Skip => Fallback::Skip,
            FallbackArg::Local => Fallback::Local,
        };
        options.rules_per_scan = usize::from(self.rules_per_scan);
        options.timeout = std::time::Duration::from_secs(self.spark_timeout);
        Ok(Some(options))
    }
}

/// What the executors kept: the lake rows that can change the hunt's results, and how many
/// events the table holds.
pub(crate) struct NativeRows {
    pub batches: Vec<RecordBatch>,
    pub events: u64,
}

impl EngineArgs {
    /// Whether the hunt runs Harrier's engine in the executors (`--native`).
    pub fn native(&self) -> bool {
        self.native
    }

    /// Runs `python -m harrier.spark` over the table: the rows the executors kept. Options
    /// that change which events a rule matches and that the executors would not share are
    /// refused. The call has `--spark-timeout` as its deadline.
    pub fn native_rows(
        &self,
        options: &SparkOptions,
        rules: &crate::rules::RuleArgs,
        window: harrier::TimeWindow,
    ) -> io::Result<NativeRows> {
        if rules.logsource_map.is_some() {
            return Err(wrong(
                "--native does not take --logsource-map: the executors use the built-in mappings".into(),
            ));
        }
        let out = tempfile::NamedTempFile::new()?;
        let mut command = Command::new(&self.python);
        command.args(["-m", "harrier.spark", "--connect", &options.connect, "--source", &options.table]);
        command.arg("--out").arg(out.path());
        let paths = [("--rules", &rules.rules), ("--macros", &rules.macros), ("--lookups", &rules.lookups)];
        for (option, paths) in paths {
            for path in paths {
                command.arg(option).arg(path);
            }
        }
        let bounds = [("--since", window.since), ("--until", window.until)];
        for (option, time) in bounds.iter().filter_map(|(option, time)| Some((option, (*time)?))) {
            command.args([*option, &Timestamp::to_string(&time)]);
        }
        let stdout = run_within(command, Duration::from_secs(self.spark_timeout), &self.python)?;
        let events = serde_json::from_str::<serde_json::Value>(stdout.trim())
            .ok()
            .and_then(|reply| reply["events"].as_u64())
            .ok_or_else(|| io::Error::other(format!("python -m harrier.spark said {stdout:.200} (not its count)")))?;
        let reader = arrow_ipc::reader::StreamReader::try_new(io::BufReader::new(out.reopen()?), None)
            .map_err(|error| io::Error::other(format!("the rows the executors kept: {error}")))?;
        let batches = reader
            .collect::<Result<Vec<_>, _>>()
            .map_err(|error| io::Error::other(format!("the rows the executors kept: {error}")))?;
        Ok(NativeRows { batches, events })
    }
}

/// Runs a command to its end within `deadline` (killed after it): its standard output, or an
/// error with the end of its standard error.
fn run_within(mut command: Command, deadline: Duration, program: &std::path::Path) -> io::Result<String> {
    let name = format!("{} -m harrier.spark", program.display());
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|error| io::Error::other(format!("{name}: {error} (--native needs Python with harrier)")))?;
    let (mut stdout, mut stderr) = (child.stdout.take().expect("piped"), child.stderr.take().expect("piped"));
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let output = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if start.elapsed() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(io::Error::other(format!("{name} gave no answer within {} s", deadline.as_secs())));
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let (stdout, stderr) = (output.join().unwrap_or_default(), errors.join().unwrap_or_default());
    if !status.success() {
        let last: Vec<&str> = stderr.lines().rev().take(12).collect();
        let last: Vec<&str> = last.into_iter().rev().collect();
        return Err(io::Error::other(format!("{name} failed ({status}):\n{}", last.join("\n"))));
    }
    Ok(stdout)
}
