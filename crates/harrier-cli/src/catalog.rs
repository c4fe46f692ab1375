//! `harrier rules list` and `harrier coverage`: a rule set by ATT&CK technique.

use crate::progress;
use crate::rules::{RuleArgs, RuleSet};
use clap::{Args, ValueEnum};
use harrier_attack::{Attack, Coverage};
use harrier_ir::{Annotation, Level, RuleMeta};
use serde::Serialize;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// A rule of either language with what a listing shows of it.
struct Listed<'a> {
    language: &'static str,
    status: &'static str,
    meta: &'a RuleMeta,
}

/// Every rule that loaded (Sigma rules, correlations, ESCU detections), failed ones left out.
fn listed(set: &RuleSet) -> Vec<Listed<'_>> {
    let mut rules = Vec::new();
    for index in 0..set.len() {
        let status = set.status(index);
        if status.status == "failed" || status.status == "filter" {
            continue;
        }
        let meta = match index.checked_sub(set.entries.len()) {
            Some(spl) => Some(&set.spl.detections[spl].meta),
            None => {
                let entry = &set.entries[index];
                entry.rule().map(|rule| &rule.meta).or_else(|| entry.correlation().map(|c| &c.meta))
            }
        };
        if let Some(meta) = meta {
            rules.push(Listed { language: status.language, status: status.status, meta });
        }
    }
    rules
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
    language: &'static str,
    id: Option<&'a str>,
    title: &'a str,
    level: &'static str,
    /// ESCU's detection type (TTP, Anomaly, Hunting); absent for Sigma.
    r#type: Option<&'a str>,
    status: Option<&'static str>,
    /// `loaded`, `inactive` (not for Windows logs, or deprecated) or `not selected`.
    load_status: &'static str,
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
    let set = RuleSet::load(&args.rules).map_err(std::io::Error::other)?;
    let attack = Attack::get();
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
                technique_names: meta
                    .techniques
                    .iter()
                    .map(|id| attack.technique(id).map(|t| t.name.as_str()))
                    .collect(),
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
                    line.language,
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
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum CoverageFormat {
    Table,
    Json,
    Navigator,
}

pub fn coverage(args: &CoverageArgs) -> std::io::Result<ExitCode> {
    let set = RuleSet::load(&args.rules).map_err(std::io::Error::other)?;
    let mut coverage = Coverage::default();
    let rules = listed(&set);
    for rule in &rules {
        coverage.add(&rule.meta.title, &rule.meta.techniques, 1);
    }
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
            let description = format!("{} rules; score = rules per technique", rules.len());
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
                        .map(|cell| serde_json::json!({"id": cell.id, "name": cell.name, "rules": cell.covered.score, "rule_titles": cell.covered.rules}))
                        .collect();
                    serde_json::json!({"tactic": tactic.shortname, "tactic_id": tactic.id, "name": tactic.name, "techniques": techniques})
                })
                .collect();
            let total = coverage.covered().count();
            serde_json::to_writer_pretty(
                &mut out,
                &serde_json::json!({"rules": rules.len(), "techniques_covered": total, "matrix": matrix}),
            )?;
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
            writeln!(out, "{} rules cover {} techniques", rules.len(), coverage.covered().count())?;
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
