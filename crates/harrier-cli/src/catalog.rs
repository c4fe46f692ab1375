//! `harrier catalog`: the rule set as a detection catalog to browse (or as one JSON document).

use crate::coverage::tally;
use crate::output::{OutputArgs, create};
use crate::progress::Ui;
use crate::rules::wrong;
use crate::rules::{Purpose, RuleArgs};
use clap::{Args, ValueEnum};
use harrier_catalog::{Catalog, Evidence, Options, rule_key};
use harrier_print::Tally;
use std::collections::HashMap;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

/// Write a detection catalog: every rule of both languages by ATT&CK technique and by known
/// false positive, as a site to browse from the file system (or as JSON data).
///
/// Each rule shows its source (sigma or splunk), level, status, techniques, description,
/// detection logic as written (the Sigma `detection` block; the ESCU `search`, its macros
/// expanded on demand), known false positives, author, references and file; on its own page
/// its conversions (Lucene with the ECS and HELK mappings, Splunk, SQL, ES|QL, or why not) and
/// what became of it when loading. Rules that did not load are listed with their reason.
/// The page searches titles, descriptions, ids, fields and false positives, filters by
/// source, level, tactic and status, and links deep: index.html#T1071.003,
/// index.html#rule/<id>, index.html#fp.
///
/// With --logs, each rule also shows its hits, hosts and first and last time on those logs;
/// with --benign, its noise on logs believed benign (as `harrier noise` counts it), so that
/// the known false positives that really show up stand out.
///
/// Examples:
///   harrier catalog -r sigma/rules -r escu/detections --out catalog/   # open catalog/index.html
///   harrier catalog -r escu/detections --logs logs/ --benign benign-logs/ --out catalog/
///   harrier catalog -r sigma/rules --format json -o catalog.json
#[derive(Args)]
#[command(verbatim_doc_comment)]
pub struct CatalogArgs {
    #[command(flatten)]
    rules: RuleArgs,

    /// The folder to write the site to (index.html); created when missing.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,

    /// Output format: html (the site, in --out) or json (one document, on standard output
    /// or -o FILE).
    #[arg(long, value_enum, default_value_t = CatalogFormat::Html)]
    format: CatalogFormat,

    #[command(flatten)]
    output: OutputArgs,

    /// Logs to hunt for each rule's evidence: hits, hosts, first and last time.
    #[arg(long, value_name = "PATH", num_args = 1..)]
    logs: Vec<String>,

    /// Logs believed benign: each rule's noise on them.
    #[arg(long, value_name = "PATH", num_args = 1..)]
    benign: Vec<String>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum CatalogFormat {
    Html,
    Json,
}

pub fn run(args: &CatalogArgs, ui: &Ui) -> io::Result<ExitCode> {
    match (args.format, &args.out) {
        (CatalogFormat::Json, Some(_)) => {
            return Err(wrong("--out is the site's folder; with --format json use -o FILE".into()));
        }
        (CatalogFormat::Html, None) => {
            return Err(wrong("--out DIR is needed: the folder to write the site to".into()));
        }
        _ => {}
    }
    let hunts = !args.logs.is_empty() || !args.benign.is_empty();
    let set = args.rules.load(if hunts { Purpose::Run } else { Purpose::Read }, ui)?;
    let mut options = Options {
        sources: args.rules.rules.iter().map(|path| path.display().to_string()).collect(),
        logs: args.logs.clone(),
        benign: args.benign.clone(),
        ..Options::default()
    };
    let mut code = ExitCode::SUCCESS;
    for (paths, found) in [(&args.logs, &mut options.evidence), (&args.benign, &mut options.noise)] {
        if paths.is_empty() {
            continue;
        }
        let (hunt_code, tallies) = tally(set, paths, ui)?;
        if hunt_code != ExitCode::SUCCESS {
            code = hunt_code;
        }
        *found = evidence(tallies);
    }
    let catalog = Catalog::build(set, &options);
    match &args.out {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|error| wrong(format!("cannot create {}: {error}", dir.display())))?;
            let path = dir.join("index.html");
            let mut file = BufWriter::new(create(&path)?);
            catalog.write_html(&mut file)?;
            file.flush()?;
            if !ui.quiet {
                eprintln!("harrier: catalog of {} written to {}", summary(&catalog), path.display());
            }
        }
        None => {
            let mut out = args.output.open(ui)?;
            catalog.write_json(&mut out.writer)?;
            out.writer.flush()?;
        }
    }
    Ok(code)
}

/// Each rule's evidence by its key, for the rules that hit.
fn evidence(tallies: Vec<Tally>) -> HashMap<String, Evidence> {
    tallies
        .into_iter()
        .filter(|tally| tally.hits > 0)
        .map(|tally| {
            let top_process = tally.top_process().map(|(_, process, count)| (process.to_owned(), count));
            let found = Evidence {
                hits: tally.hits,
                hosts: tally.hosts.len(),
                host_names: tally.hosts.iter().take(5).cloned().collect(),
                first: tally.first.map(|time| time.to_string()),
                last: tally.last.map(|time| time.to_string()),
                top_process,
            };
            (rule_key(tally.id.as_deref(), &tally.title), found)
        })
        .collect()
}

fn summary(catalog: &Catalog) -> String {
    let counts = &catalog.counts;
    let failed = counts.outcomes.get("failed").copied().unwrap_or(0);
    format!(
        "{} rule documents ({} Sigma, {} Splunk; {} did not load) under {} techniques",
        counts.documents, counts.sigma, counts.splunk, failed, counts.techniques
    )
}
