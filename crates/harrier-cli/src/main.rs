//! `harrier`: the command line over the `harrier` library and its `harrier-print` writers.
//!
//! This crate owns the user interface only: arguments and their help, which writer prints,
//! progress on stderr, exit codes. Loading rules, hunting and writing results live in the
//! library crates, so another program can embed them without this one.

mod bench;
mod catalog;
mod check;
mod convert;
mod events;
mod hunt;
#[cfg(feature = "lake")]
mod ingest;
mod progress;
mod rules;
mod search;
#[cfg(feature = "spark")]
mod spark;
mod stats;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Harrier: a fast detection engine for Windows event logs (EVTX and JSON exports).
///
/// Inputs are files, directories (read recursively, in sorted order) or `-` for standard
/// input. Formats are told by content, not by extension: EVTX, JSON Lines, concatenated or
/// pretty-printed JSON objects, JSON arrays, each optionally gzip-compressed; JSON in the
/// layouts of evtx_dump, Winlogbeat 6 and 7+/ECS, NXLog/Security-Datasets and Azure Log
/// Analytics. Every layout is normalized to the field names Sigma rules use.
///
/// Exit codes: 0 when something was read (problems with single records or lines are reported
/// on stderr and counted in the summary), 1 when nothing could be read, 2 for wrong arguments.
#[derive(Parser)]
#[command(name = "harrier", version, max_term_width = 100)]
struct Cli {
    /// Worker threads (default: one per core). Output order never depends on it.
    #[arg(long, short = 'j', global = true, value_name = "N")]
    threads: Option<usize>,

    /// Print no summary and no progress on stderr (problems are still printed).
    #[arg(long, short = 'q', global = true)]
    quiet: bool,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Hunt(hunt::HuntArgs),
    Search(search::SearchArgs),
    Events(events::EventsArgs),
    Stats(stats::StatsArgs),
    /// Work with rule files.
    #[command(subcommand)]
    Rules(RulesCommand),
    Bench(bench::BenchArgs),
    Coverage(catalog::CoverageArgs),
    Noise(catalog::NoiseArgs),
    Convert(convert::ConvertArgs),
    #[cfg(feature = "lake")]
    Ingest(ingest::IngestArgs),
}

#[derive(Subcommand)]
enum RulesCommand {
    Check(check::CheckArgs),
    List(catalog::ListArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(threads) = cli.threads {
        // Fails only if a pool was already built, which nothing here does before this point.
        let _ = rayon::ThreadPoolBuilder::new().num_threads(threads.max(1)).build_global();
    }
    let ui = progress::Ui { quiet: cli.quiet };
    let outcome = match cli.command {
        Command::Hunt(args) => hunt::run(&args, &ui),
        Command::Search(args) => search::run(&args, &ui),
        Command::Rules(RulesCommand::Check(args)) => check::run(&args),
        Command::Rules(RulesCommand::List(args)) => catalog::list(&args),
        Command::Coverage(args) => catalog::coverage(&args, &ui),
        Command::Noise(args) => catalog::noise(&args, &ui),
        Command::Convert(args) => convert::run(&args),
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
            ExitCode::FAILURE
        }
    }
}
