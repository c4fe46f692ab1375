//! `harrier rules list` and `harrier coverage`: a rule set by ATT&CK technique.

use crate::hunt;
use crate::progress::{self, Ui};
use crate::rules::RuleArgs;
use clap::{Args, ValueEnum};
use harrier::{Annotation, Hunt, Language, Level, LoadStatus, RuleMeta, RuleSet};
use harrier_attack::{Attack, Coverage};
use harrier_print::{Tallies, Tally};
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

/// Every rule that loaded (Sigma rules, correlations, ESCU detections), failed ones left out.
fn listed(set: &RuleSet) -> Vec<Listed<'_>> {
    set.outcomes()
        .filter(|outcome| !matches!(outcome.status, LoadStatus::Failed | LoadStatus::Filter))
        .filter_map(|outcome| Some(Listed { language: outcome.language, status: outcome.status, meta: outcome.meta? }))
        .collect()
}

/// List rules of both languages with their ATT&CK techniques, tactics and false positives.
///
/// Example: harrier rules list -r sigma/rules -r escu/detections --technique T1071 --format json
#[derive(Args)]
#[command(verbatim_doc_comment)]
pub struct ListArgs {
    #[command(flatten)]
    rules: RuleArgs,

    /// Only rules with this technique or one of its sub-techniques (`T1071` takes `T1071.003`).
    #[arg(long, value_name = "ID")]
    technique: Vec<String>,

    /// Only rules with this tactic (`command-and-control`, `TA0011`).
    #[arg(long, value_name = "TACTIC")]
    tactic: Vec<String>,

    /// Only rules of this level or above.
    #[arg(long, value_name = "LEVEL", value_parser = |text: &str| text.parse::<Level>())]
    level: Option<Level>,

    /// Output format (default: table on a terminal, json otherwise).
    #[arg(long, value_enum)]
    format: Option<ListFormat>,
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
    /// `loaded`, `inactive` (not for Windows logs, or deprecated) or `not selected`.
    load_status: LoadStatus,
    techniques: &'a [String],
    technique_names: Vec<Option<&'static str>>,
    tactics: &'a [String],
    logsource: String,
    false_positives: &'a [String],
    file: String,
}

fn annotation_text<'a>(meta: &'a RuleMeta, key: &str) -> Option<&'a str> {
    meta.annotations.iter().find(|(name, _)| name == key).and_then(|(_, value)| match value {
        Annotation::Text(text) => Some(text.as_str()),
        _ => None,
    })
}

impl ListArgs {
    fn takes(&self, meta: &RuleMeta) -> bool {
        let attack = Attack::get();
        let technique = self.technique.is_empty()
            || self.technique.iter().any(|wanted| {
                let wanted = wanted.to_ascii_uppercase();
                meta.techniques.iter().any(|id| *id == wanted || id.starts_with(&format!("{wanted}.")))
            });
        let tactic = self.tactic.is_empty()
            || self.tactic.iter().any(|wanted| {
                let wanted = attack.tactic(wanted).map_or(wanted.to_ascii_lowercase(), |t| t.shortname.clone());
                meta.tactics.contains(&wanted)
            });
        technique && tactic && self.level.is_none_or(|level| meta.level >= level)
    }
}

pub fn list(args: &ListArgs) -> std::io::Result<ExitCode> {
    let set = args.rules.load()?;
    let lines: Vec<ListLine> = listed(&set)
        .into_iter()
        .filter(|rule| args.takes(rule.meta))
        .map(|rule| {
            let meta = rule.meta;
            let source = &meta.logsource;
            let logsource = [&source.product, &source.category, &source.service]
                .iter()
                .filter_map(|part| part.as_deref())
                .collect::<Vec<_>>()
                .join("/");
            ListLine {
                language: rule.language,
                id: meta.id.as_deref(),
                title: &meta.title,
                level: meta.level.name(),
                r#type: annotation_text(meta, "type"),
                status: meta.status.map(|status| status.name()),
                load_status: rule.status,
                techniques: &meta.techniques,
                technique_names: harrier_print::technique_names(meta),
                tactics: &meta.tactics,
                logsource,
                false_positives: &meta.false_positives,
                file: meta.source.to_string(),
            }
        })
        .collect();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match progress::default_format(args.format, ListFormat::Table, ListFormat::Json) {
        ListFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &lines)?;
            writeln!(out)?;
        }
        ListFormat::Table => {
            writeln!(out, "{:<6} {:<9} {:<60} {:<26} TACTICS", "LANG", "LEVEL", "TITLE", "TECHNIQUES")?;
            for line in &lines {
                let title: String = line.title.chars().take(60).collect();
                let techniques: String = line.techniques.join(",").chars().take(26).collect();
                writeln!(
                    out,
                    "{:<6} {:<9} {title:<60} {techniques:<26} {}",
                    line.language.name(),
                    line.level,
                    line.tactics.join(",")
                )?;
            }
            writeln!(out, "{} rules", lines.len())?;
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// The ATT&CK matrix of a rule set: how many rules (Sigma and ESCU together) cover each
/// technique, per tactic.
///
/// `table` prints each tactic with its covered techniques, most-covered first; `json` gives
/// the matrix; `navigator` writes an ATT&CK Navigator layer (score = rules per technique,
/// comment = their titles) to open in https://mitre-attack.github.io/attack-navigator/.
///
/// Example: harrier coverage -r sigma/rules -r escu/detections --format navigator -o layer.json
#[derive(Args)]
#[command(verbatim_doc_comment)]
pub struct CoverageArgs {
    #[command(flatten)]
    rules: RuleArgs,

    /// Output format (default: table on a terminal, json otherwise).
    #[arg(long, value_enum)]
    format: Option<CoverageFormat>,

    /// Write to this file instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,

    /// Hunt these logs and score techniques by hits instead of rules: what fired.
    #[arg(long, value_name = "PATH", num_args = 1..)]
    logs: Vec<String>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum CoverageFormat {
    Table,
    Json,
    Navigator,
}

pub fn coverage(args: &CoverageArgs, ui: &Ui) -> std::io::Result<ExitCode> {
    let set = args.rules.load()?;
    let mut coverage = Coverage::default();
    let rule_count = listed(&set).len();
    for rule in &listed(&set) {
        coverage.add(&rule.meta.title, &rule.meta.techniques, u64::from(args.logs.is_empty()));
    }
    let scored_by = if args.logs.is_empty() {
        "rules per technique"
    } else {
        let (_, tallies) = tally(&set, &args.logs, ui)?;
        coverage = Coverage::default();
        for tally in tallies.iter().filter(|tally| tally.hits > 0) {
            coverage.add(&tally.title, &tally.techniques, tally.hits);
        }
        "hits per technique"
    };
    let attack = Attack::get();
    let mut out: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(std::io::BufWriter::new(std::fs::File::create(path)?)),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let format = match args.output {
        Some(_) => args.format.unwrap_or(CoverageFormat::Json),
        None => progress::default_format(args.format, CoverageFormat::Table, CoverageFormat::Json),
    };
    match format {
        CoverageFormat::Navigator => {
            let description = format!("{rule_count} rules; score = {scored_by}");
            serde_json::to_writer_pretty(&mut out, &coverage.navigator_layer("Harrier rule coverage", &description))?;
            writeln!(out)?;
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
            serde_json::to_writer_pretty(&mut out, &report)?;
            writeln!(out)?;
        }
        CoverageFormat::Table => {
            for (tactic, mut cells) in coverage.matrix(attack) {
                cells.sort_by(|a, b| b.covered.score.cmp(&a.covered.score).then(a.id.cmp(b.id)));
                writeln!(out, "{} ({}): {} techniques", tactic.name, tactic.id, cells.len())?;
                for cell in cells {
                    writeln!(out, "  {:>4}  {:<10} {}", cell.covered.score, cell.id, cell.name)?;
                }
            }
            writeln!(out, "{rule_count} rules, {} techniques scored ({scored_by})", coverage.covered().count())?;
        }
    }
    out.flush()?;
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

    /// Output format (default: table on a terminal, json otherwise).
    #[arg(long, value_enum)]
    format: Option<ListFormat>,
}

/// Hunts logs with every rule of a set and tallies what each found.
fn tally(set: &RuleSet, paths: &[String], ui: &Ui) -> std::io::Result<(ExitCode, Vec<Tally>)> {
    let inputs = progress::inputs(paths);
    let mut tallies = Tallies::new(set);
    let summary = hunt::hunt_with_progress(Hunt::new(set), &mut tallies, ui, |hunt, sink| hunt.run(&inputs, sink))?;
    Ok((hunt::exit_code(&summary), tallies.into_tallies()))
}

pub fn noise(args: &NoiseArgs, ui: &Ui) -> std::io::Result<ExitCode> {
    let set = args.rules.load()?;
    let (code, mut tallies) = tally(&set, &args.paths, ui)?;
    tallies.retain(|tally| tally.hits > 0);
    tallies.sort_by(|a, b| b.hits.cmp(&a.hits).then(b.hosts.len().cmp(&a.hosts.len())).then(a.title.cmp(&b.title)));
    tallies.truncate(args.top);
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match progress::default_format(args.format, ListFormat::Table, ListFormat::Json) {
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
            serde_json::to_writer_pretty(&mut out, &lines)?;
            writeln!(out)?;
        }
        ListFormat::Table => {
            writeln!(out, "{:>7} {:>6} {:>6}  {:<60} TOP PROCESS", "HITS", "HOSTS", "PROCS", "RULE")?;
            for tally in &tallies {
                let title: String = tally.title.chars().take(60).collect();
                let top =
                    tally.top_process().map(|(_, process, count)| format!("{process} ({count})")).unwrap_or_default();
                writeln!(
                    out,
                    "{:>7} {:>6} {:>6}  {title:<60} {top}",
                    tally.hits,
                    tally.hosts.len(),
                    tally.processes.len()
                )?;
            }
        }
    }
    out.flush()?;
    if let Some(path) = &args.write_exclusions {
        std::fs::write(path, harrier_print::proposed_exclusions(&tallies))?;
        eprintln!("harrier: proposed exclusions written to {} (review them before use)", path.display());
    }
    Ok(code)
}
