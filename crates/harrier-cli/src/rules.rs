//! The rule options every command that reads rules shares, and what loading says on stderr.

use clap::Args;
use harrier::{LoadStatus, RuleSet, RuleSetBuilder};
use std::path::PathBuf;

/// Where rules come from and what they need.
#[derive(Args, Clone)]
pub struct RuleArgs {
    /// Rule files or directories (read recursively; `.yml` and `.yaml`): Sigma rules and
    /// Splunk ESCU detections, told apart by content. Folders named `macros`, `lookups` and
    /// `data_sources` hold ESCU support files, not rules, and are skipped.
    #[arg(long = "rules", short = 'r', required = true, value_name = "PATH")]
    pub rules: Vec<PathBuf>,

    /// Folders of SPL macro files (ESCU `macros/`); default: a `macros` folder beside or above
    /// each rules path.
    #[arg(long, value_name = "DIR")]
    pub macros: Vec<PathBuf>,

    /// Folders of lookup definitions with their CSV files (ESCU `lookups/`); default: a
    /// `lookups` folder beside or above each rules path.
    #[arg(long, value_name = "DIR")]
    pub lookups: Vec<PathBuf>,

    /// Values for `expand` placeholders: a YAML map of name to a value or list of values
    /// (`Administrators: [admin, 'adm_*']`). Undefined placeholders match any value.
    #[arg(long, value_name = "FILE")]
    pub vars: Option<PathBuf>,

    /// More logsource mappings (same format as the built-in windows-logsources.yml), added
    /// to and overriding the built-in ones.
    #[arg(long = "logsource-map", value_name = "FILE")]
    pub logsource_map: Option<PathBuf>,
}

impl RuleArgs {
    /// The library's builder with these options.
    pub fn builder(&self) -> RuleSetBuilder {
        let mut builder = RuleSet::builder();
        for path in &self.rules {
            builder = builder.rules(path);
        }
        for dir in &self.macros {
            builder = builder.macros(dir);
        }
        for dir in &self.lookups {
            builder = builder.lookups(dir);
        }
        if let Some(path) = &self.vars {
            builder = builder.vars_file(path);
        }
        if let Some(path) = &self.logsource_map {
            builder = builder.logsource_map(path);
        }
        builder
    }

    /// Every rule, none left out by a selection.
    pub fn load(&self) -> std::io::Result<RuleSet> {
        self.builder().build().map_err(std::io::Error::other)
    }
}

/// Says on stderr how many rules run, and names each one that cannot.
pub fn report_loading(set: &RuleSet) {
    if let Some(error) = set.correlation_error() {
        eprintln!("harrier: correlations not run: {error}");
    }
    for (file, why) in set.support_file_problems() {
        eprintln!("harrier: cannot read {file}: {why}");
    }
    for outcome in set.outcomes().filter(|outcome| outcome.status == LoadStatus::Failed) {
        eprintln!(
            "harrier: rule not loaded: {}:{} {}: {}",
            outcome.file,
            outcome.line,
            outcome.id.unwrap_or("-"),
            outcome.reason.as_deref().unwrap_or("")
        );
    }
    eprintln!(
        "harrier: {} rules run ({} inactive for Windows logs or deprecated, {} not selected, {} failed to load)",
        set.rules_run(),
        set.count(LoadStatus::Inactive),
        set.count(LoadStatus::NotSelected),
        set.count(LoadStatus::Failed)
    );
}
