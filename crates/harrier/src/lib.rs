//! Harrier as a library: Sigma rules and Splunk ESCU analytics over Windows event logs.
//!
//! Load a [`RuleSet`] once (Sigma and ESCU files together, told apart by content), then run
//! [`Hunt`]s of it over EVTX and JSON logs; results go to a [`Sink`] you provide, in the same
//! order whatever the number of threads.
//!
//! ```
//! # std::env::set_current_dir("../..").unwrap(); // the repository's examples
//! use harrier::{Flow, Hit, Hunt, Input, RuleSet};
//!
//! let rules = RuleSet::builder().rules("examples/rules").build()?;
//! let logs = [Input::from_arg("examples/logs")];
//! let summary = Hunt::new(&rules).run(&logs, &mut |hit: &Hit| {
//!     let time = hit.event.timestamp().map(|time| time.to_string()).unwrap_or_default();
//!     println!("{time}  {}", hit.rule.title);
//!     Ok(Flow::Continue)
//! })?;
//! println!("{} hits in {} events", summary.hits, summary.events);
//! # assert!(summary.hits > 0);
//! # Ok::<(), harrier::Error>(())
//! ```
//!
//! - A rule set is built by [`RuleSet::builder`] with every option of `harrier hunt`: rule
//!   paths, ESCU macros and lookups, placeholder values, logsource maps, exclusions, and a
//!   [`Selection`] by level, status, tag, technique and id. What became of every document
//!   (loaded, inactive, filter, correlation, failed and why) is data: [`RuleSet::outcomes`].
//! - A [`Hunt`] reads paths, standard input or events you build ([`Hunt::run_events`]); its
//!   time window, threads, progress callback and [`CancelToken`] are set by its methods. With
//!   the `spark` feature, `Hunt::run_on_spark` runs the same rules on a Spark cluster.
//! - A [`Sink`] receives [`Hit`]s (a Sigma rule and the event), [`CorrelationResult`]s,
//!   [`RowResult`]s (SPL result rows) and the run's [`Summary`]. The `harrier-print` crate's
//!   writers (JSON Lines, CSV, timelines, tables, the HTML report) are sinks.
//! - [`RuleSet::convert`] gives each document as a query for Elasticsearch, Splunk or SQL.

mod cache;
mod convert;
mod exclude;
mod files;
mod filter;
mod hunt;
#[cfg(feature = "lake")]
mod lake;
mod packed;
mod results;
mod rules;
mod sink;
#[cfg(feature = "spark")]
mod spark;
mod spl;

pub use cache::{CacheUse, default_cache_dir};
pub use filter::EventFilter;
pub use harrier_convert::{Conversion, Dialect, Options as ConvertOptions, Profile, Target};
pub use harrier_correlate::{CorrelationHit, EventRef};
pub use harrier_event::{Event, Field, FieldName, SourceFile, TimeWindow, Timestamp, Value};
pub use harrier_ir::{Annotation, Level, RuleMeta, SourcePlace, Status};
pub use harrier_pipeline::Row;
pub use harrier_read::{FileReport, Input, Place, Problem, Summary as ReadSummary};
pub use hunt::{CancelToken, Hunt, MAX_THREADS, Progress};
#[cfg(feature = "lake")]
pub use lake::lake_events;
pub use results::{CorrelationResult, Hit, RowResult, RuleCount, Summary, Undecided};
pub use rules::{Language, LoadStatus, RuleKey, RuleOutcome, RuleSet, RuleSetBuilder, Selection};
pub use sink::{Flow, Sink, Tee};
#[cfg(feature = "spark")]
pub use spark::{Fallback, SparkOptions};

/// Why a rule set could not be built or a hunt did not finish. A rule that fails to load is
/// not an error but an outcome ([`RuleSet::outcomes`]); a bad record is a problem counted in
/// the [`Summary`].
#[derive(Debug)]
pub enum Error {
    /// An option cannot be used: a file it names (vars, logsource map, exclusions) is
    /// missing or malformed, a thread count or time window is out of range.
    Options(String),
    /// An ad-hoc search that does not parse or cannot run.
    Search(String),
    /// The sink failed (writing output, most often).
    Sink(std::io::Error),
    /// The Spark cluster could not be reached or a query failed.
    Spark(String),
    /// Rows of a lake that cannot be read back as events.
    Lake(String),
    /// The hunt's [`CancelToken`] was cancelled.
    Cancelled,
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Options(why) | Error::Search(why) | Error::Spark(why) | Error::Lake(why) => f.write_str(why),
            Error::Sink(error) => write!(f, "{error}"),
            Error::Cancelled => f.write_str("the hunt was cancelled"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Sink(error) => Some(error),
            _ => None,
        }
    }
}
