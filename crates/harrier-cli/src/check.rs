//! `harrier rules check`: every rule document, loaded or why not.

use crate::progress;
use crate::rules::RuleArgs;
use clap::{Args, ValueEnum};
use harrier::LoadStatus;
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
    let set = args.rules.load()?;
    let totals = Totals {
        documents: set.len(),
        loaded: set.count(LoadStatus::Loaded),
        inactive: set.count(LoadStatus::Inactive),
        failed: set.count(LoadStatus::Failed),
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match progress::default_format(args.format, CheckFormat::Table, CheckFormat::Json) {
        CheckFormat::Json => {
            let rules: Vec<_> = set.outcomes().collect();
            let problems: Vec<_> = set
                .support_file_problems()
                .iter()
                .map(|(file, why)| serde_json::json!({"file": file, "problem": why}))
                .collect();
            let report = serde_json::json!({ "totals": totals, "rules": rules, "support_file_problems": problems });
            serde_json::to_writer_pretty(&mut out, &report)?;
            writeln!(out)?;
        }
        CheckFormat::Table => {
            for (file, why) in set.support_file_problems() {
                writeln!(out, "problem  {file}: {why}")?;
            }
            for outcome in set.outcomes() {
                if outcome.status != LoadStatus::Loaded || !outcome.warnings.is_empty() {
                    let what = outcome.reason.clone().unwrap_or_else(|| outcome.warnings.join("; "));
                    writeln!(
                        out,
                        "{:<8} {}:{} {} {what}",
                        outcome.status.name(),
                        outcome.file,
                        outcome.line,
                        outcome.id.unwrap_or("-")
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
