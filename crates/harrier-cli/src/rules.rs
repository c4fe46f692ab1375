//! The rule options every command that reads rules shares, loading them, and what loading
//! says on stderr.

use crate::progress::{Ui, plural};
use clap::Args;
use harrier::{Level, LoadStatus, RuleSet, RuleSetBuilder, Selection, Status};
use std::io;
use std::path::{Path, PathBuf};

/// Where rules come from, what they need, and which of them run.
#[derive(Args, Clone, Default)]
pub struct RuleArgs {
    /// Rule files or directories (read recursively; `.yml` and `.yaml`): Sigma rules and
    /// Splunk ESCU detections, told apart by content. Folders named `macros`, `lookups` and
    /// `data_sources` hold ESCU support files, not rules, and are skipped. Repeatable.
    #[arg(long = "rules", short = 'r', value_name = "PATH")]
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

    /// A test on a field the event's source cannot carry (a Sysmon field on Security 4688;
    /// ParentProcessName on a 4688 before version 2): `unknown` (a rule hits only where its
    /// condition is certainly true, and the events it cannot decide are counted), or `absent`
    /// (plain Sigma: false, so `not` over it is true: every possible hit).
    #[arg(long, value_enum, default_value_t = UnknownFields::Unknown, value_name = "AS")]
    pub unknown_fields: UnknownFields,

    /// Load the Sigma rules from their files every time, without the cache. The cache (in
    /// $HARRIER_CACHE_DIR, else $XDG_CACHE_HOME/harrier, else ~/.cache/harrier) keeps the
    /// rules loaded, keyed by every rule file's bytes: it is never stale, only faster.
    #[arg(long)]
    pub no_cache: bool,

    #[command(flatten)]
    pub select: SelectArgs,
}

/// `--unknown-fields`.
#[derive(clap::ValueEnum, Clone, Copy, Default, PartialEq, Eq)]
pub enum UnknownFields {
    #[default]
    Unknown,
    Absent,
}

/// Which loaded rules run; the same options on every command that reads rules.
#[derive(Args, Clone, Default)]
pub struct SelectArgs {
    /// Only rules of this level or above (informational, low, medium, high, critical).
    #[arg(long, help_heading = "Selecting rules", visible_alias = "level", value_name = "LEVEL", value_parser = |text: &str| text.parse::<Level>())]
    min_level: Option<Level>,

    /// Only rules of this status (stable, test, experimental, deprecated, unsupported);
    /// repeatable.
    #[arg(long, help_heading = "Selecting rules", value_name = "STATUS", value_parser = |text: &str| text.parse::<Status>())]
    status: Vec<Status>,

    /// Only rules with this tag or one under it (`attack.t1059` takes `attack.t1059.001`; a
    /// bare technique id such as `T1059` means its `attack.` tag); repeatable.
    #[arg(long, help_heading = "Selecting rules", value_name = "TAG")]
    tag: Vec<String>,

    /// Only rules of this ATT&CK technique or one of its sub-techniques (`T1071` takes
    /// `T1071.003`); repeatable.
    #[arg(long, help_heading = "Selecting rules", value_name = "ID")]
    technique: Vec<String>,

    /// Only rules of this ATT&CK tactic (`command-and-control` or `TA0011`); repeatable.
    #[arg(long, help_heading = "Selecting rules", value_name = "TACTIC")]
    tactic: Vec<String>,

    /// Only the rule with this id (or Sigma name); repeatable.
    #[arg(long = "rule-id", help_heading = "Selecting rules", value_name = "ID")]
    ids: Vec<String>,
}

impl SelectArgs {
    pub(crate) fn selection(&self) -> Selection {
        Selection {
            min_level: self.min_level,
            statuses: self.status.clone(),
            tags: self.tag.clone(),
            techniques: self.technique.clone(),
            tactics: self.tactic.clone(),
            ids: self.ids.clone(),
        }
    }

    /// The options given, as the user wrote them (for messages).
    fn given(&self) -> Vec<String> {
        let mut given = Vec::new();
        given.extend(self.min_level.map(|level| format!("--min-level {level}")));
        given.extend(self.status.iter().map(|status| format!("--status {}", status.name())));
        given.extend(self.tag.iter().map(|tag| format!("--tag {tag}")));
        given.extend(self.technique.iter().map(|id| format!("--technique {id}")));
        given.extend(self.tactic.iter().map(|tactic| format!("--tactic {tactic}")));
        given.extend(self.ids.iter().map(|id| format!("--rule-id {id}")));
        given
    }
}

/// What a command does with the rules it loads.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Runs them: a set where none can run is an error.
    Run,
    /// Reads them (check, list, convert): a set without documents is an error.
    Read,
}

impl RuleArgs {
    /// The library's builder with these options.
    pub fn builder(&self) -> RuleSetBuilder {
        let mut builder = self.rules.iter().fold(RuleSet::builder(), |builder, path| builder.rules(path));
        builder = self.macros.iter().fold(builder, |builder, dir| builder.macros(dir));
        builder = self.lookups.iter().fold(builder, |builder, dir| builder.lookups(dir));
        if let Some(path) = &self.vars {
            builder = builder.vars_file(path);
        }
        if let Some(path) = &self.logsource_map {
            builder = builder.logsource_map(path);
        }
        if let Some(dir) = harrier::default_cache_dir().filter(|_| !self.no_cache) {
            builder = builder.cache_dir(dir);
        }
        builder.select(self.select.selection()).uncarried_as_absent(self.unknown_fields == UnknownFields::Absent)
    }

    /// Loads the rules, failing at once (exit 2) when there are none to work with, and says
    /// on stderr what loading found.
    pub fn load(&self, purpose: Purpose, ui: &Ui) -> io::Result<&'static RuleSet> {
        self.load_with(self.builder(), purpose, ui)
    }

    /// As [`RuleArgs::load`], with a builder the command added to.
    ///
    /// The rule set lives until the process exits: a command loads one, and freeing its
    /// hundreds of thousands of allocations at the end would cost a tenth of a second for
    /// nothing.
    pub fn load_with(&self, builder: RuleSetBuilder, purpose: Purpose, ui: &Ui) -> io::Result<&'static RuleSet> {
        if self.rules.is_empty() {
            return Err(wrong("no rules given: name rule files or folders with -r PATH".into()));
        }
        let set = builder.build().map_err(|error| wrong(error.to_string()))?;
        if set.is_empty() {
            return Err(wrong(format!(
                "found no rule files (.yml, .yaml) under {}{}",
                self.paths(),
                logs_hint(&self.rules)
            )));
        }
        if purpose == Purpose::Run && set.rules_run() == 0 {
            return Err(wrong(self.none_runs(&set)));
        }
        if purpose == Purpose::Run {
            report_loading(&set, ui);
        }
        Ok(Box::leak(Box::new(set)))
    }

    fn paths(&self) -> String {
        self.rules.iter().map(|path| path.display().to_string()).collect::<Vec<_>>().join(", ")
    }

    /// Why a set with documents runs none of them.
    fn none_runs(&self, set: &RuleSet) -> String {
        let mut why = vec![];
        let count = |status| set.count(status) as u64;
        if count(LoadStatus::NotSelected) > 0 {
            why.push(format!("{} not selected by {}", count(LoadStatus::NotSelected), self.select.given().join(" ")));
        }
        if count(LoadStatus::Inactive) > 0 {
            why.push(format!(
                "{} inactive (for other products than Windows, or deprecated)",
                count(LoadStatus::Inactive)
            ));
        }
        if count(LoadStatus::Failed) > 0 {
            why.push(format!(
                "{} failed to load (`harrier rules check --failed-only` says why)",
                count(LoadStatus::Failed)
            ));
        }
        format!(
            "no rules to run: of the {} under {}, {}",
            plural(set.len() as u64, "rule document"),
            self.paths(),
            if why.is_empty() { "none is a detection rule".to_owned() } else { why.join(", ") }
        )
    }
}

/// An error of the arguments: exit code 2.
pub fn wrong(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}

/// A hint when the rules paths hold logs rather than rules (arguments swapped).
fn logs_hint(paths: &[PathBuf]) -> String {
    let looks_like_logs = |path: &Path| {
        let extension = path.extension().and_then(|ext| ext.to_str()).unwrap_or_default().to_ascii_lowercase();
        matches!(extension.as_str(), "evtx" | "json" | "jsonl" | "gz" | "xml")
    };
    let files = paths.iter().flat_map(|path| walkdir::WalkDir::new(path).max_depth(3)).filter_map(Result::ok);
    match files.map(|entry| entry.into_path()).find(|path| looks_like_logs(path)) {
        Some(log) => format!(
            " ({} looks like a log: logs come first, rules after -r, as in `harrier hunt LOGS -r RULES`)",
            log.display()
        ),
        None => String::new(),
    }
}

/// Says on stderr how many rules run and how many cannot (each named with `-v`).
pub fn report_loading(set: &RuleSet, ui: &Ui) {
    if ui.quiet {
        return;
    }
    if let Some(error) = set.correlation_error() {
        eprintln!("harrier: correlations not run: {error}");
    }
    let failed: Vec<_> = set.outcomes().filter(|outcome| outcome.status == LoadStatus::Failed).collect();
    if ui.verbose {
        for (file, why) in set.support_file_problems() {
            eprintln!("harrier: cannot read {file}: {why}");
        }
        for outcome in &failed {
            let reason = outcome.reason.as_deref().unwrap_or("");
            eprintln!(
                "harrier: rule not loaded: {}:{} {}: {reason}",
                outcome.file,
                outcome.line,
                outcome.id.unwrap_or("-")
            );
        }
    }
    let mut line = format!("harrier: {} run", plural(set.rules_run() as u64, "rule"));
    let inactive = set.count(LoadStatus::Inactive);
    if inactive > 0 {
        line += &format!("; {inactive} inactive (other products than Windows, or deprecated)");
    }
    let not_selected = set.count(LoadStatus::NotSelected);
    if not_selected > 0 {
        line += &format!("; {not_selected} not selected");
    }
    if !failed.is_empty() || !set.support_file_problems().is_empty() {
        line += &format!(
            "; {} cannot run{} (`harrier rules check --failed-only` says why{})",
            failed.len(),
            match set.support_file_problems().len() {
                0 => String::new(),
                files => format!(", {} unreadable", plural(files as u64, "support file")),
            },
            if ui.verbose { "" } else { "; -v names them here" }
        );
    }
    eprintln!("{line}");
}
