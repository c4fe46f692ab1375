//! `harrier convert`: rules as queries for Elasticsearch, Splunk and SQL engines.

use crate::rules::RuleArgs;
use clap::{Args, ValueEnum};
use harrier::{Conversion, ConvertOptions, LoadStatus, Profile, RuleOutcome, Target};
use serde::Serialize;
use std::io::Write;
use std::process::ExitCode;

/// Convert rules to queries for the engines where logs already live.
///
/// Targets: `lucene` (Elasticsearch/OpenSearch query_string), `es-dsl` (query DSL JSON),
/// `esql` (ES|QL), `splunk` (SPL), `sql` (`--dialect sqlite|duckdb|postgres|spark`).
/// Each rule's logsource becomes channel and event id tests (or, with `--mapping helk`, an
/// index pattern); `--mapping` names its fields as the target's logs do: `sysmon` (native
/// names), `ecs` (Winlogbeat 7+, as pySigma's ecs_windows), `helk` (OSSEM), `cim` (Splunk),
/// or a YAML file of the same form.
///
/// Sigma compares values ignoring case; every target gets the case-insensitive form it has
/// (`case_insensitive` in the DSL, `TO_LOWER` in ES|QL, `LIKE`/`ILIKE` in SQL, both-case regex
/// classes on case-sensitive keyword fields in query_string). A feature a target cannot
/// express is an error naming the rule and the feature, never a weaker query;
/// `--skip-unsupported` converts the rest and lists what was skipped. An ESCU detection
/// converts to Splunk as its search with macros expanded, and to SQL (sqlite, duckdb) as its
/// pipeline (`stats` as GROUP BY) over a table of `harrier events --view splunk` output.
///
/// Example: harrier convert sigma/rules --to lucene --mapping ecs --skip-unsupported
#[derive(Args)]
#[command(verbatim_doc_comment)]
pub struct ConvertArgs {
    #[command(flatten)]
    rules: RuleArgs,

    /// lucene, es-dsl, esql, splunk or sql.
    #[arg(long, value_name = "TARGET")]
    to: String,

    /// SQL dialect: sqlite (default), duckdb, postgres, spark.
    #[arg(long, value_name = "DIALECT")]
    dialect: Option<String>,

    /// Field-mapping profile: sysmon, ecs, helk, cim, or a file (default: ecs for
    /// Elasticsearch targets, sysmon for Splunk and SQL).
    #[arg(long, value_name = "PROFILE")]
    mapping: Option<String>,

    /// SQL table (and ES|QL source when the profile gives no index).
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

    /// text: one query per line; jsonl: one object per rule with its id, title, file, query
    /// and index, or why it was skipped.
    #[arg(long, value_enum, default_value_t = ConvertFormat::Text)]
    format: ConvertFormat,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ConvertFormat {
    Text,
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
}

pub fn run(args: &ConvertArgs) -> std::io::Result<ExitCode> {
    let target = Target::parse(&args.to, args.dialect.as_deref()).map_err(std::io::Error::other)?;
    let profile =
        Profile::load(args.mapping.as_deref().unwrap_or(target.default_profile())).map_err(std::io::Error::other)?;
    let set = args.rules.load()?;
    let options = ConvertOptions { table: args.table.clone(), tumbling_windows: args.tumbling_windows };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
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
                    eprintln!("harrier: cannot convert {name} to {}: {why}", args.to);
                    return Ok(ExitCode::FAILURE);
                }
                skipped += 1;
                eprintln!("harrier: skipped {name}: {why}");
                if args.format == ConvertFormat::Jsonl {
                    writeln!(out, "{}", serde_json::to_string(&line(&status, None, Some(&why)))?)?;
                }
            }
        }
    }
    out.flush()?;
    eprintln!("harrier: {converted} rules converted to {}, {skipped} skipped", args.to);
    Ok(ExitCode::SUCCESS)
}

fn line<'a>(status: &RuleOutcome<'a>, conversion: Option<&'a Conversion>, skipped: Option<&'a str>) -> Line<'a> {
    Line {
        rule_id: status.id,
        rule_title: status.title,
        file: status.file,
        line: status.line,
        query: conversion.map(|conversion| conversion.query.as_str()),
        index: conversion.and_then(|conversion| conversion.index.as_deref()),
        skipped,
    }
}
