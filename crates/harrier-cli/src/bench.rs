//! `harrier bench`: parse-only throughput, against the `evtx` crate's own JSON rendering.

use crate::progress::Ui;
use clap::Args;
use std::process::ExitCode;

/// Measure parse-only throughput (events/s, MB/s, per CPU-second, peak memory).
#[derive(Args)]
pub struct BenchArgs {
    /// Files or directories to read.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<String>,
}

pub fn run(_args: &BenchArgs, _ui: &Ui) -> std::io::Result<ExitCode> {
    Ok(ExitCode::SUCCESS)
}
