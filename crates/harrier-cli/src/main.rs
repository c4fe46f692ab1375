//! `harrier`: the command line over the `harrier` library and its `harrier-print` writers.
//!
//! This crate owns the user interface only: arguments and their help, which writer prints,
//! progress on stderr, exit codes. Loading rules, hunting and writing results live in the
//! library crates, so another program can embed them without this one.

mod allocator;
mod bench;
mod catalog;
mod check;
mod convert;
mod coverage;
mod events;
mod hunt;
#[cfg(feature = "lake")]
mod ingest;
mod output;
mod progress;
mod rules;
mod search;
#[cfg(feature = "spark")]
mod spark;
mod stats;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// mimalloc instead of the system allocator: a hunt allocates a string per field value of every
/// event, and glibc's malloc and free took about a third of JSON parsing in the profile.
#[global_allocator]
static ALLOCATOR: allocator::Mimalloc = allocator::Mimalloc;

/// Harrier: a fast detection engine for Windows event logs (EVTX and JSON exports).
///
/// Inputs are files, directories (read recursively, in sorted order) or `-` for standard
/// input. Formats are told by content, not by extension: EVTX, JSON Lines, concatenated or
/// pretty-printed JSON objects, JSON arrays, each optionally gzip-compressed; JSON in the
/// layouts of evtx_dump, Winlogbeat 6 and 7+/ECS, NXLog/Security-Datasets and Azure Log
/// Analytics. Every layout is normalized to the field names Sigma rules use.
///
/// First steps (rules: SigmaHQ's release archive or repository, Splunk's security_content):
///   harrier stats logs/                                  # what is in the logs
///   harrier hunt logs/ -r sigma/rules                    # the hits, as a timeline
///   harrier hunt logs/ -r sigma/rules --format summary   # hits per rule
///   harrier hunt logs/ -r sigma/rules -r escu/detections --html report.html
///   harrier rules check -r sigma/rules --failed-only     # what cannot run, and why
///
/// Output is the same on a terminal or in a pipe (choose it with --format); only colour and
/// cutting lines to the terminal's width follow the terminal.
///
/// Exit codes: 0 when the work was done (problems with single records, lines or rules are
/// reported and counted), 1 when nothing could be read or a run failed, 2 for wrong
/// arguments or inputs that cannot work (no rules to run, an output file that cannot be
/// written).
#[derive(Parser)]
#[command(name = "harrier", version, max_term_width = 100, verbatim_doc_comment)]
struct Cli {
    /// Worker threads, 1 to 1024 (default: one per core). Output never depends on it.
    #[arg(long, short = 'j', global = true, value_name = "N", help_heading = "Global options",
          value_parser = clap::value_parser!(u16).range(1..=harrier::MAX_THREADS as i64))]
    threads: Option<u16>,

    /// Print nothing on stderr but errors: no progress, no counts, no problems.
    #[arg(long, short = 'q', global = true, conflicts_with = "verbose", help_heading = "Global options")]
    quiet: bool,

    /// Name each problem (skipped record, rule that cannot run) on stderr, not only their
    /// counts.
    #[arg(long, short = 'v', global = true, help_heading = "Global options")]
    verbose: bool,

    /// The largest JSON line, document or XML event read, in MiB: a longer one is skipped and
    /// counted, so that a hostile input cannot take the memory.
    #[arg(long, global = true, value_name = "MIB", default_value_t = 16, help_heading = "Global options",
          value_parser = clap::value_parser!(u32).range(1..=4096))]
    max_record_size: u32,

    /// Colour: auto (on a terminal, unless NO_COLOR is set), always, never.
    #[arg(long, global = true, value_enum, default_value_t = progress::Color::Auto, value_name = "WHEN", help_heading = "Global options")]
    color: progress::Color,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Hunt(hunt::HuntArgs),
    Search(search::SearchArgs),
    Events(events::EventsArgs),
    Stats(stats::StatsArgs),
    /// Work with rule files: check that they load, list them.
    #[command(subcommand)]
    Rules(RulesCommand),
    Coverage(coverage::CoverageArgs),
    Noise(coverage::NoiseArgs),
    Catalog(catalog::CatalogArgs),
    Convert(convert::ConvertArgs),
    #[cfg(feature = "lake")]
    Ingest(ingest::IngestArgs),
    Bench(bench::BenchArgs),
}

#[derive(Subcommand)]
enum RulesCommand {
    Check(check::CheckArgs),
    List(coverage::ListArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(threads) = cli.threads {
        // Fails only if a pool was already built, which nothing here does before this point.
        let _ = rayon::ThreadPoolBuilder::new().num_threads(usize::from(threads)).build_global();
    }
    let ui = progress::Ui {
        quiet: cli.quiet,
        verbose: cli.verbose,
        color: cli.color,
        max_record_bytes: (cli.max_record_size as usize) << 20,
    };
    let outcome = match cli.command {
        Command::Hunt(args) => hunt::run(&args, &ui),
        Command::Search(args) => search::run(&args, &ui),
        Command::Rules(RulesCommand::Check(args)) => check::run(&args, &ui),
        Command::Rules(RulesCommand::List(args)) => coverage::list(&args, &ui),
        Command::Coverage(args) => coverage::coverage(&args, &ui),
        Command::Noise(args) => coverage::noise(&args, &ui),
        Command::Catalog(args) => catalog::run(&args, &ui),
        Command::Convert(args) => convert::run(&args, &ui),
        #[cfg(feature = "lake")]
        Command::Ingest(args) => ingest::run(&args, &ui),
        Command::Events(args) => events::run(&args, &ui),
        Command::Stats(args) => stats::run(&args, &ui),
        Command::Bench(args) => bench::run(&args, &ui),
    };
    match outcome {
        Ok(code) => code,
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("harrier: error: {error}");
            if error.kind() == std::io::ErrorKind::InvalidInput { ExitCode::from(2) } else { ExitCode::FAILURE }
        }
    }
}
