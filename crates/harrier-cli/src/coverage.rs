//! `harrier rules list`, `harrier coverage` and `harrier noise`: a rule set by ATT&CK
//! technique, and what it finds on logs.

use crate::hunt;
use crate::output::{OutputArgs, create};
use crate::progress::{self, Ui};
use crate::rules::{Purpose, RuleArgs};
use clap::{Args, ValueEnum};
use harrier::{Hunt, Language, LoadStatus, RuleMeta, RuleSet};
use harrier_attack::{Attack, Coverage};
use harrier_print::{Align, Grid, Tallies, Tally};
use serde::Serialize;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// A rule of either language with what a listing shows of it.
struct Listed<'a> {
    language: Language,
    status: LoadStatus,
    meta: &'a RuleMeta,
}

/// Every rule that loaded and the selection takes (Sigma rules, correlations, ESCU
/// detections; inactive ones included), failed ones and filters left out.
fn listed<'a>(set: &'a RuleSet, args: &RuleArgs) -> Vec<Listed<'a>> {
    let selection = args.select.selection();
    set.outcomes()
        .filter(|outcome| outcome.status.is_selected_rule())
        .filter_map(|outcome| Some(Listed { language: outcome.language, status: outcome.status, meta: outcome.meta? }))
        .filter(|rule| selection.takes(rule.meta))
        .collect()
}

/// List rules of both languages with their ATT&CK techniques, tactics and false positives.
///
/// Select with the rule options (--technique T1071 takes T1071.003; --tactic, --tag,
/// --min-level, --status, --rule-id).
///
/// Example: harrier rules list -r sigma/rules -r escu/detections --technique T1071 --format json
#[derive(Args)]
#[command(verbatim_doc_comment)]
pub struct ListArgs {
    #[command(flatten)]
    rules: RuleArgs,

    /// Output format: table or json.
    #[arg(long, value_enum, default_value_t = ListFormat::Table)]
    format: ListFormat,

    #[command(flatten)]
    output: OutputArgs,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ListFormat {
    Table,
    Json,
}

#[derive(Serialize)]
struct ListLine<'a> {
    language: Language,
    id: Option<&'a str>,
    title: &'a str,
    level: &'static str,
    /// ESCU's detection type (TTP, Anomaly, Hunting); absent for Sigma.
    r#type: Option<&'a str>,
    status: Option<&'static str>,
    /// `loaded`, `inactive` (not for Windows logs, or deprecated) or `correlation`.
    load_status: LoadStatus,
    techniques: &'a [String],
    technique_names: Vec<Option<&'static str>>,
    tactics: &'a [String],
    logsource: String,
    false_positives: &'a [String],
    file: String,
}

fn list_line<'a>(rule: &Listed<'a>) -> ListLine<'a> {
    let meta = rule.meta;
    ListLine {
        language: rule.language,
        id: meta.id.as_deref(),
        title: &meta.title,
        level: meta.level.name(),
        r#type: meta.annotation_text("type"),
        status: meta.status.map(|status| status.name()),
        load_status: rule.status,
        techniques: &meta.techniques,
        technique_names: harrier_print::technique_names(meta),
        tactics: &meta.tactics,
        logsource: meta.logsource.to_string(),
        false_positives: &meta.false_positives,
        file: meta.source.to_string(),
    }
}

pub fn list(args: &ListArgs, ui: &Ui) -> std::io::Result<ExitCode> {
    let mut out = args.output.open(ui)?;
    let set = args.rules.load(Purpose::Read, ui)?;
    let lines: Vec<ListLine> = listed(set, &args.rules).iter().map(list_line).collect();
    match args.format {
        ListFormat::Json => {
            serde_json::to_writer_pretty(&mut out.writer, &lines)?;
            writeln!(out.writer)?;
        }
        ListFormat::Table => {
            let mut grid = Grid::new(&[
                ("LANG", Align::Left),
                ("LEVEL", Align::Left),
                ("TITLE", Align::Left),
                ("TECHNIQUES", Align::Left),
                ("TACTICS", Align::Left),
            ]);
            for line in &lines {
                let row =
                    [line.language.name(), line.level, line.title, &line.techniques.join(","), &line.tactics.join(",")];
                grid.push(row.map(str::to_owned).to_vec());
            }
            grid.write(&mut out.writer, out.width)?;
            writeln!(out.writer, "{} rules", lines.len())?;
        }
    }
    out.writer.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// The ATT&CK matrix of a rule set: how many rules (Sigma and ESCU together) cover each
/// technique, per tactic; with logs, how many hits.
///
/// `table` prints each tactic with its covered techniques, most-covered first; `json` gives
/// the matrix; `navigator` writes an ATT&CK Navigator layer (score = rules per technique,
/// comment = their titles) to open in <https://mitre-attack.github.io/attack-navigator/>.
///
/// Examples:
///   harrier coverage -r sigma/rules -r escu/detections --format navigator -o layer.json
///   harrier coverage logs/ -r sigma/rules     # techniques scored by hits: what fired
#[derive(Args)]
#[command(verbatim_doc_comment)]
pub struct CoverageArgs {
    /// Logs to hunt: techniques are then scored by hits instead of rules.
    #[arg(value_name = "LOGS")]
    logs: Vec<String>,

    #[command(flatten)]
    rules: RuleArgs,

    /// Output format: table, json or navigator.
    #[arg(long, value_enum, default_value_t = CoverageFormat::Table)]
    format: CoverageFormat,

    #[command(flatten)]
    output: OutputArgs,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum CoverageFormat {
    Table,
    Json,
    Navigator,
}

pub fn coverage(args: &CoverageArgs, ui: &Ui) -> std::io::Result<ExitCode> {
    let mut out = args.output.open(ui)?;
    let purpose = if args.logs.is_empty() { Purpose::Read } else { Purpose::Run };
    let set = args.rules.load(purpose, ui)?;
    let listed = listed(set, &args.rules);
    let mut coverage = Coverage::default();
    let scored_by = if args.logs.is_empty() {
        for rule in &listed {
            coverage.add(&rule.meta.title, &rule.meta.techniques, 1);
        }
        "rules per technique"
    } else {
        let (_, tallies) = tally(set, &args.logs, ui)?;
        for tally in tallies.iter().filter(|tally| tally.hits > 0) {
            coverage.add(&tally.title, &tally.techniques, tally.hits);
        }
        "hits per technique"
    };
    let attack = Attack::get();
    let rule_count = listed.len();
    let writer = &mut out.writer;
    match args.format {
        CoverageFormat::Navigator => {
            let description = format!("{rule_count} rules; score = {scored_by}");
            serde_json::to_writer_pretty(
                &mut *writer,
                &coverage.navigator_layer("Harrier rule coverage", &description),
            )?;
            writeln!(writer)?;
        }
        CoverageFormat::Json => {
            let matrix: Vec<serde_json::Value> = coverage
                .matrix(attack)
                .into_iter()
                .map(|(tactic, cells)| {
                    let techniques: Vec<serde_json::Value> = cells
                        .iter()
                        .map(|cell| serde_json::json!({"id": cell.id, "name": cell.name, "score": cell.covered.score, "rule_titles": cell.covered.rules}))
                        .collect();
                    serde_json::json!({"tactic": tactic.shortname, "tactic_id": tactic.id, "name": tactic.name, "techniques": techniques})
                })
                .collect();
            let total = coverage.covered().count();
            let report = serde_json::json!({"rules": rule_count, "score": scored_by, "techniques_covered": total, "matrix": matrix});
            serde_json::to_writer_pretty(&mut *writer, &report)?;
            writeln!(writer)?;
        }
        CoverageFormat::Table => {
            for (tactic, mut cells) in coverage.matrix(attack) {
                cells.sort_by(|a, b| b.covered.score.cmp(&a.covered.score).then(a.id.cmp(b.id)));
                writeln!(writer, "{} ({}): {} techniques", tactic.name, tactic.id, cells.len())?;
                for cell in cells {
                    writeln!(writer, "  {:>4}  {:<10} {}", cell.covered.score, cell.id, cell.name)?;
                }
            }
            writeln!(writer, "{rule_count} rules, {} techniques scored ({scored_by})", coverage.covered().count())?;
        }
    }
    writer.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// Rank rules by how much they fire on logs believed benign, to find what to tune first.
///
/// Hits, distinct hosts and distinct processes per rule, noisiest first. With
/// `--write-exclusions FILE`, writes an exclusions file (the format of `hunt --exclude`) that
/// would silence each noisy rule's most frequent process, for a person to review before use.
///
/// Example: harrier noise benign-logs/ -r sigma/rules --write-exclusions review.yml
#[derive(Args)]
#[command(verbatim_doc_comment)]
pub struct NoiseArgs {
    /// Logs believed benign: files, directories or -.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<String>,

    #[command(flatten)]
    rules: RuleArgs,

    /// How many rules to show (and to write exclusions for).
    #[arg(long, default_value_t = 20, value_name = "N")]
    top: usize,

    /// Write proposed exclusions for the noisy rules to this file.
    #[arg(long, value_name = "FILE")]
    write_exclusions: Option<PathBuf>,

    /// Output format: table or json.
    #[arg(long, value_enum, default_value_t = ListFormat::Table)]
    format: ListFormat,

    #[command(flatten)]
    output: OutputArgs,
}

/// Hunts logs with every rule of a set and tallies what each found.
pub(crate) fn tally(set: &RuleSet, paths: &[String], ui: &Ui) -> std::io::Result<(ExitCode, Vec<Tally>)> {
    let inputs = progress::inputs(paths);
    let mut tallies = Tallies::new(set);
    let summary = hunt::hunt_with_progress(Hunt::new(set), &mut tallies, ui, |hunt, sink| hunt.run(&inputs, sink))?;
    Ok((hunt::exit_code(&summary), tallies.into_tallies()))
}

pub fn noise(args: &NoiseArgs, ui: &Ui) -> std::io::Result<ExitCode> {
    let mut out = args.output.open(ui)?;
    let exclusions = args.write_exclusions.as_deref().map(create).transpose()?;
    let set = args.rules.load(Purpose::Run, ui)?;
    let (code, mut tallies) = tally(set, &args.paths, ui)?;
    tallies.retain(|tally| tally.hits > 0);
    tallies.sort_by(|a, b| b.hits.cmp(&a.hits).then(b.hosts.len().cmp(&a.hosts.len())).then(a.title.cmp(&b.title)));
    tallies.truncate(args.top);
    match args.format {
        ListFormat::Json => {
            let lines: Vec<serde_json::Value> = tallies
                .iter()
                .map(|tally| {
                    let top = tally.top_process().map(|(field, process, count)| serde_json::json!({"field": field, "process": process, "hits": count}));
                    serde_json::json!({
                        "rule_id": tally.id, "rule_title": tally.title, "hits": tally.hits,
                        "hosts": tally.hosts.len(), "processes": tally.processes.len(), "top_process": top,
                    })
                })
                .collect();
            serde_json::to_writer_pretty(&mut out.writer, &lines)?;
            writeln!(out.writer)?;
        }
        ListFormat::Table => {
            let mut grid = Grid::new(&[
                ("HITS", Align::Right),
                ("HOSTS", Align::Right),
                ("PROCS", Align::Right),
                ("RULE", Align::Left),
                ("TOP PROCESS", Align::Left),
            ]);
            for tally in &tallies {
                let top = tally.top_process().map(|(_, process, count)| format!("{process} ({count})"));
                let counts =
                    [tally.hits, tally.hosts.len() as u64, tally.processes.len() as u64].map(|n| n.to_string());
                grid.push([counts.to_vec(), vec![tally.title.clone(), top.unwrap_or_default()]].concat());
            }
            grid.write(&mut out.writer, out.width)?;
        }
    }
    out.writer.flush()?;
    if let (Some(mut file), Some(path)) = (exclusions, &args.write_exclusions) {
        file.write_all(harrier_print::proposed_exclusions(&tallies).as_bytes())?;
        if !ui.quiet {
            eprintln!("harrier: proposed exclusions written to {} (review them before use)", path.display());
        }
    }
    Ok(code)
}
