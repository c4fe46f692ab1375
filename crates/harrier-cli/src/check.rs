//! `harrier rules check`: every rule document, loaded or why not.

use crate::output::OutputArgs;
use crate::progress::Ui;
use crate::rules::{Purpose, RuleArgs};
use clap::{Args, ValueEnum};
use harrier::{LoadStatus, RuleOutcome};
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::Write;
use std::process::ExitCode;

/// Check that rules load: one line per rule document, with why it cannot run.
///
/// Sigma rules and Splunk ESCU detections alike. Each line: status, language, file:line, id,
/// and the title (or the reason it failed); grep-friendly. Statuses: `loaded` (parsed and
/// compiled), `inactive` (its logsource is not in Windows event logs, a Linux or proxy rule,
/// or a deprecated ESCU detection: a hunt never tests it), `filter`, `correlation`, `not
/// selected` (by --min-level, --tag ...), `failed` (with the reason: an SPL command Harrier
/// cannot run, a regex with look-around, a lookup without its CSV ...). Failures are then
/// counted by reason. Exit code 1 when any rule failed.
///
/// Examples:
///   harrier rules check -r sigma/rules --failed-only
///   harrier rules check -r escu/detections --format json -o check.json
#[derive(Args)]
#[command(verbatim_doc_comment)]
pub struct CheckArgs {
    #[command(flatten)]
    rules: RuleArgs,

    /// Only the rules that failed to load.
    #[arg(long)]
    failed_only: bool,

    /// Output format: text (a line per rule) or json.
    #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
    format: CheckFormat,

    #[command(flatten)]
    output: OutputArgs,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum CheckFormat {
    Text,
    Json,
}

#[derive(Serialize)]
struct Totals {
    documents: usize,
    loaded: usize,
    inactive: usize,
    failed: usize,
}

pub fn run(args: &CheckArgs, ui: &Ui) -> std::io::Result<ExitCode> {
    let mut out = args.output.open(ui)?;
    let set = args.rules.load(Purpose::Read, ui)?;
    let totals = Totals {
        documents: set.len(),
        loaded: set.count(LoadStatus::Loaded),
        inactive: set.count(LoadStatus::Inactive),
        failed: set.count(LoadStatus::Failed),
    };
    let shown = |outcome: &RuleOutcome| !args.failed_only || outcome.status == LoadStatus::Failed;
    let writer = &mut out.writer;
    match args.format {
        CheckFormat::Json => {
            let rules: Vec<_> = set.outcomes().filter(shown).collect();
            let problems: Vec<_> = set
                .support_file_problems()
                .iter()
                .map(|(file, why)| serde_json::json!({"file": file, "problem": why}))
                .collect();
            let report = serde_json::json!({ "totals": totals, "rules": rules, "support_file_problems": problems });
            serde_json::to_writer_pretty(&mut *writer, &report)?;
            writeln!(writer)?;
        }
        CheckFormat::Text => {
            for (file, why) in set.support_file_problems() {
                writeln!(writer, "problem      -      {file}: {why}")?;
            }
            for outcome in set.outcomes().filter(shown) {
                writeln!(writer, "{}", line(&outcome))?;
            }
            let reasons = by_reason(set.outcomes().filter(|outcome| outcome.status == LoadStatus::Failed));
            if !reasons.is_empty() {
                writeln!(writer, "\nfailed, by reason:")?;
                for (reason, count) in reasons {
                    writeln!(writer, "{count:>6}  {reason}")?;
                }
            }
            writeln!(
                writer,
                "\n{} documents: {} loaded, {} inactive (not for Windows logs, or deprecated), {} failed",
                totals.documents, totals.loaded, totals.inactive, totals.failed
            )?;
        }
    }
    writer.flush()?;
    Ok(if totals.failed > 0 { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// `failed  spl    file.yml:1  <id>  reason`: status, language and place first, for grep.
fn line(outcome: &RuleOutcome) -> String {
    let what = match (&outcome.reason, outcome.status) {
        (Some(reason), LoadStatus::Failed | LoadStatus::Inactive) => {
            reason.lines().next().unwrap_or_default().to_owned()
        }
        _ => outcome.title.unwrap_or("-").to_owned(),
    };
    let warnings = outcome.warnings.iter().map(|warning| format!(" (warning: {warning})")).collect::<String>();
    format!(
        "{:<12} {:<6} {}:{}  {}  {what}{warnings}",
        outcome.status.name(),
        outcome.language.name(),
        outcome.file,
        outcome.line,
        outcome.id.unwrap_or("-")
    )
}

/// Failures counted by the kind of reason, most first.
fn by_reason<'a>(failed: impl Iterator<Item = RuleOutcome<'a>>) -> Vec<(String, usize)> {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for outcome in failed {
        *counts.entry(reason_kind(outcome.reason.as_deref().unwrap_or(""))).or_default() += 1;
    }
    let mut counted: Vec<(String, usize)> = counts.into_iter().collect();
    counted.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    counted
}

/// A reason without what is particular to one rule: its place, and the quoted regex, lookup
/// or field (a command's name stays: it is the reason).
fn reason_kind(reason: &str) -> String {
    let first = reason.lines().next().unwrap_or_default();
    let mut rest = first.split(" at offset ").next().unwrap_or(first);
    let mut kind = String::new();
    while let Some(start) = rest.find('`') {
        let Some(length) = rest[start + 1..].find('`') else { break };
        let (before, quoted) = (&rest[..start], &rest[start + 1..start + 1 + length]);
        kind.push_str(before);
        kind.push_str(&if before.ends_with("command ") { format!("`{quoted}`") } else { "`…`".to_owned() });
        rest = &rest[start + 2 + length..];
    }
    kind.push_str(rest);
    kind.trim_end_matches(':').to_owned()
}

#[cfg(test)]
mod tests {
    use super::reason_kind;

    #[test]
    fn reasons_group_without_their_particulars() {
        assert_eq!(
            reason_kind(
                "command `transaction` is not supported (groups events) at offset 148 of the expanded search:\n  x"
            ),
            "command `transaction` is not supported (groups events)"
        );
        assert_eq!(
            reason_kind("lookup `admon_groups_def` is not available (no CSV definition)"),
            "lookup `…` is not available (no CSV definition)"
        );
    }
}
