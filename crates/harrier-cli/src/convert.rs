//! `harrier convert`: rules as queries for Elasticsearch, Splunk and SQL engines.

use crate::output::OutputArgs;
use crate::progress::Ui;
use crate::rules::{Purpose, RuleArgs, wrong};
use clap::{Args, ValueEnum};
use harrier::{Conversion, ConvertOptions, LoadStatus, Profile, RuleOutcome, Target};
use serde::Serialize;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// Convert rules to queries for the engines where logs already live.
///
/// Targets (-t): `lucene` (Elasticsearch/OpenSearch query_string), `es-dsl` (query DSL JSON),
/// `esql` (ES|QL), `splunk` (SPL), `sql` (`--dialect sqlite|duckdb|postgres|spark`).
/// Each Windows rule's logsource becomes channel and event id tests (or, with `-p helk`, an
/// index pattern); the mapping (-p) names its fields as the target's logs do: `sysmon`
/// (native names), `ecs` (Winlogbeat 7+, as pySigma's ecs_windows), `helk` (OSSEM), `cim`
/// (Splunk CIM), `splunk-windows` (native names, `source=WinEventLog:<channel>`), or a YAML
/// file of the same form. Rules of other products (Linux, cloud, proxy) convert with their
/// own field names and no logsource condition.
///
/// Sigma compares values ignoring case; every target gets the case-insensitive form it has
/// (`case_insensitive` in the DSL, `TO_LOWER` in ES|QL, `LIKE`/`ILIKE` in SQL, both-case regex
/// classes on case-sensitive keyword fields in query_string). A feature a target cannot
/// express is an error naming the rule and the feature, never a weaker query;
/// `--skip-unsupported` converts the rest and lists what was skipped. An ESCU detection
/// converts to Splunk as its search with macros expanded, and to SQL (sqlite, duckdb) as its
/// pipeline (`stats` as GROUP BY) over a table of `harrier events --view splunk` output.
///
/// Examples:
///   harrier convert sigma/rules -t lucene -p ecs --skip-unsupported
///   harrier convert rule.yml -t splunk
///   harrier convert -r escu/detections -t sql --dialect duckdb --skip-unsupported -o out.sql
#[derive(Args)]
#[command(verbatim_doc_comment)]
pub struct ConvertArgs {
    /// Rule files or directories (the same as -r).
    #[arg(value_name = "RULES")]
    paths: Vec<PathBuf>,

    #[command(flatten)]
    rules: RuleArgs,

    /// lucene, es-dsl, esql, splunk or sql.
    #[arg(long = "target", short = 't', visible_alias = "to", value_name = "TARGET")]
    target: String,

    /// SQL dialect: sqlite (default), duckdb, postgres, spark.
    #[arg(long, value_name = "DIALECT")]
    dialect: Option<String>,

    /// Field mapping: sysmon, ecs, helk, cim, splunk-windows, or a YAML file (default: ecs for
    /// Elasticsearch targets, sysmon for Splunk and SQL).
    #[arg(long = "mapping", short = 'p', visible_alias = "pipeline", value_name = "MAPPING")]
    mapping: Option<String>,

    /// SQL table (and ES|QL source when the mapping gives no index).
    #[arg(long, default_value = "logs", value_name = "NAME")]
    table: String,

    /// Correlations in ES|QL count per fixed bucket of the timespan (ES|QL has no sliding
    /// windows: a burst across a bucket edge can be missed); without this they are refused.
    #[arg(long)]
    tumbling_windows: bool,

    /// Convert what can be and list the rest, instead of stopping at the first rule that
    /// cannot be converted.
    #[arg(long)]
    skip_unsupported: bool,

    /// text: one query per line; jsonl (json): one object per rule with its id, title, file,
    /// query and index, or why it was skipped.
    #[arg(long, value_enum, default_value_t = ConvertFormat::Text)]
    format: ConvertFormat,

    #[command(flatten)]
    output: OutputArgs,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ConvertFormat {
    Text,
    #[value(alias = "json")]
    Jsonl,
}

#[derive(Serialize)]
struct Line<'a> {
    rule_id: Option<&'a str>,
    rule_title: Option<&'a str>,
    file: &'a str,
    line: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    query: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    index: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    skipped: Option<&'a str>,
    /// A rule for other logs than Windows, converted without a logsource condition: why its
    /// logsource has no mapping.
    #[serde(skip_serializing_if = "Option::is_none")]
    unmapped_logsource: Option<&'a str>,
}

pub fn run(args: &ConvertArgs, ui: &Ui) -> std::io::Result<ExitCode> {
    let target = Target::parse(&args.target, args.dialect.as_deref()).map_err(wrong)?;
    let profile = Profile::load(args.mapping.as_deref().unwrap_or(target.default_profile())).map_err(wrong)?;
    let mut rules = args.rules.clone();
    rules.rules.extend(args.paths.iter().cloned());
    let mut out = args.output.open(ui)?;
    let set = rules.load(Purpose::Read, ui)?;
    let options = ConvertOptions { table: args.table.clone(), tumbling_windows: args.tumbling_windows };
    let out = &mut out.writer;
    let (mut converted, mut skipped) = (0usize, 0usize);
    for (index, status) in set.outcomes().enumerate() {
        match set.convert(index, target, &profile, &options) {
            Ok(conversion) => {
                converted += 1;
                match args.format {
                    ConvertFormat::Text => writeln!(out, "{}", conversion.query)?,
                    ConvertFormat::Jsonl => {
                        writeln!(out, "{}", serde_json::to_string(&line(&status, Some(&conversion), None))?)?
                    }
                }
            }
            Err(why) => {
                let name = format!("{}:{} {}", status.file, status.line, status.id.or(status.title).unwrap_or("-"));
                if !args.skip_unsupported && status.status == LoadStatus::Loaded {
                    out.flush()?;
                    eprintln!("harrier: cannot convert {name} to {}: {why}", args.target);
                    return Ok(ExitCode::FAILURE);
                }
                skipped += 1;
                if ui.verbose {
                    eprintln!("harrier: skipped {name}: {why}");
                }
                if args.format == ConvertFormat::Jsonl {
                    writeln!(out, "{}", serde_json::to_string(&line(&status, None, Some(&why)))?)?;
                }
            }
        }
    }
    out.flush()?;
    if !ui.quiet {
        let named = if ui.verbose || args.format == ConvertFormat::Jsonl { "" } else { "; -v names each and why" };
        eprintln!("harrier: {converted} rules converted to {}, {skipped} skipped{named}", args.target);
    }
    Ok(ExitCode::SUCCESS)
}

fn line<'a>(status: &'a RuleOutcome<'a>, conversion: Option<&'a Conversion>, skipped: Option<&'a str>) -> Line<'a> {
    Line {
        rule_id: status.id,
        rule_title: status.title,
        file: status.file,
        line: status.line,
        query: conversion.map(|conversion| conversion.query.as_str()),
        index: conversion.and_then(|conversion| conversion.index.as_deref()),
        skipped,
        unmapped_logsource: conversion.and(status.reason.as_deref()).filter(|_| status.status == LoadStatus::Inactive),
    }
}
