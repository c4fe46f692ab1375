//! `harrier rules check`: every rule document, loaded or why not.

use crate::progress;
use crate::rules::{RuleArgs, RuleSet};
use clap::{Args, ValueEnum};
use serde::Serialize;
use std::io::Write;
use std::process::ExitCode;

/// List every rule with whether it loaded, and why not.
///
/// Sigma rules and Splunk ESCU detections alike (`language`: `sigma` or `spl`).
/// `loaded`: parsed and compiled; `inactive`: loaded, but its logsource is not in Windows
/// event logs (a Linux or proxy rule) or it is a deprecated ESCU detection, so a hunt never
/// tests it; an SPL detection that needs what Harrier cannot run (`transaction`, MLTK `apply`,
/// a regex with lookaround, a KV-store lookup) fails with the command and its place; `failed`: not loaded, with the
/// reason. Exit code 1 when any rule failed.
#[derive(Args)]
pub struct CheckArgs {
    #[command(flatten)]
    rules: RuleArgs,

    /// Output format (default: table on a terminal, json otherwise).
    #[arg(long, value_enum)]
    format: Option<CheckFormat>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum CheckFormat {
    Json,
    Table,
}

#[derive(Serialize)]
struct Totals {
    documents: usize,
    loaded: usize,
    inactive: usize,
    failed: usize,
}

pub fn run(args: &CheckArgs) -> std::io::Result<ExitCode> {
    let set = RuleSet::load(&args.rules).map_err(std::io::Error::other)?;
    let totals = Totals {
        documents: set.len(),
        loaded: set.count("loaded"),
        inactive: set.count("inactive"),
        failed: set.count("failed"),
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match progress::default_format(args.format, CheckFormat::Table, CheckFormat::Json) {
        CheckFormat::Json => {
            let rules: Vec<_> = (0..set.len()).map(|index| set.status(index)).collect();
            let problems: Vec<_> = set
                .library_problems
                .iter()
                .map(|(file, why)| serde_json::json!({"file": file, "problem": why}))
                .collect();
            let report = serde_json::json!({ "totals": totals, "rules": rules, "support_file_problems": problems });
            serde_json::to_writer_pretty(&mut out, &report)?;
            writeln!(out)?;
        }
        CheckFormat::Table => {
            for (file, why) in &set.library_problems {
                writeln!(out, "problem  {file}: {why}")?;
            }
            for index in 0..set.len() {
                let status = set.status(index);
                if status.status != "loaded" || !status.warnings.is_empty() {
                    let what = status.reason.clone().unwrap_or_else(|| status.warnings.join("; "));
                    writeln!(
                        out,
                        "{:<8} {}:{} {} {what}",
                        status.status,
                        status.file,
                        status.line,
                        status.id.unwrap_or("-")
                    )?;
                }
            }
            writeln!(
                out,
                "{} documents: {} loaded, {} inactive (not for Windows logs), {} failed",
                totals.documents, totals.loaded, totals.inactive, totals.failed
            )?;
        }
    }
    out.flush()?;
    Ok(if totals.failed > 0 { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}
