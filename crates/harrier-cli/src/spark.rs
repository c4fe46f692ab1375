//! `hunt --engine spark` (feature `spark`): the options of a hunt on a Spark cluster.

use clap::{Args, ValueEnum};
use harrier::{Fallback, SparkOptions};

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
