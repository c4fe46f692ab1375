//! A rule set: every rule document of both languages read, the runnable ones compiled once,
//! and what became of each document, as data.

use crate::Error;
use crate::cache::{self, CacheUse};
use crate::exclude::Exclusions;
use crate::files;
use crate::packed::{Packed, PackedEntry, compile_engine};
use crate::spl::SplSet;
use harrier_correlate::Correlator;
use harrier_engine::Engine;
use harrier_ir::{Correlation, Level, Rule, RuleMeta, Status};
use harrier_sigma::{LoadOptions, Outcome};
use harrier_spl::escu::{Library, Outcome as SplOutcome};
use serde::Serialize;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::OnceLock;

/// A rule that runs, as results name it: a Sigma detection rule (its number in the engine), a
/// Sigma correlation, or an SPL detection (ESCU or an ad-hoc search). Ordered as results are
/// written: Sigma hits, then correlation results, then SPL results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RuleKey {
    Sigma(usize),
    Correlation(usize),
    Spl(usize),
}

/// The language a rule document is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    Sigma,
    Spl,
}

impl Language {
    pub fn name(self) -> &'static str {
        match self {
            Language::Sigma => "sigma",
            Language::Spl => "spl",
        }
    }
}

/// What became of one rule document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum LoadStatus {
    /// Parsed and compiled; it runs.
    #[serde(rename = "loaded")]
    Loaded,
    /// Loaded, but left out by the selection (level, status, tag, technique, id).
    #[serde(rename = "not selected")]
    NotSelected,
    /// A Sigma meta filter, applied to the rules it names.
    #[serde(rename = "filter")]
    Filter,
    /// A Sigma correlation over rules of the set.
    #[serde(rename = "correlation")]
    Correlation,
    /// Loaded, but never run on Windows logs (another product's logsource) or deprecated.
    #[serde(rename = "inactive")]
    Inactive,
    /// Not loaded: the reason says why.
    #[serde(rename = "failed")]
    Failed,
}

impl LoadStatus {
    pub fn name(self) -> &'static str {
        match self {
            LoadStatus::Loaded => "loaded",
            LoadStatus::NotSelected => "not selected",
            LoadStatus::Filter => "filter",
            LoadStatus::Correlation => "correlation",
            LoadStatus::Inactive => "inactive",
            LoadStatus::Failed => "failed",
        }
    }

    /// Whether the document is a rule the selection takes (loaded, inactive or a
    /// correlation): what rule listings, coverage and the catalog's techniques count. Failed
    /// documents and meta filters are not rules of their own.
    pub fn is_selected_rule(self) -> bool {
        !matches!(self, LoadStatus::Failed | LoadStatus::Filter | LoadStatus::NotSelected)
    }
}

/// One rule document and what became of it.
#[derive(Debug, Clone, Serialize)]
pub struct RuleOutcome<'a> {
    pub file: &'a str,
    /// 1-based line where the document starts.
    pub line: usize,
    pub id: Option<&'a str>,
    pub title: Option<&'a str>,
    pub language: Language,
    /// Parsed and compiled (it may still be inactive for these logs).
    pub loaded: bool,
    pub status: LoadStatus,
    pub reason: Option<String>,
    pub warnings: &'a [String],
    /// The document's metadata, when it has any (not for a document that failed to parse).
    #[serde(skip)]
    pub meta: Option<&'a RuleMeta>,
}

/// Which loaded rules run. Empty lists select everything.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub min_level: Option<Level>,
    /// Sigma statuses (`stable`, `test`, ...).
    pub statuses: Vec<Status>,
    /// Tags, each taking the tags under it (`attack.t1059` takes `attack.t1059.001`). A
    /// technique id alone (`T1059`) means its `attack.` tag.
    pub tags: Vec<String>,
    /// ATT&CK technique ids, each taking its sub-techniques.
    pub techniques: Vec<String>,
    /// ATT&CK tactics, by name (`command-and-control`) or id (`TA0011`).
    pub tactics: Vec<String>,
    /// Rule ids (or Sigma names).
    pub ids: Vec<String>,
}

impl Selection {
    pub fn takes(&self, meta: &RuleMeta) -> bool {
        let level = self.min_level.is_none_or(|min| meta.level >= min);
        let status = self.statuses.is_empty() || meta.status.is_some_and(|status| self.statuses.contains(&status));
        let tag = self.tags.is_empty() || self.tags.iter().any(|wanted| has_tag(meta, wanted));
        let technique = self.techniques.is_empty()
            || self.techniques.iter().any(|wanted| {
                let wanted = wanted.to_ascii_uppercase();
                meta.techniques.iter().any(|id| *id == wanted || id.starts_with(&format!("{wanted}.")))
            });
        let tactic = self.tactics.is_empty()
            || self.tactics.iter().any(|wanted| {
                let tactic = harrier_attack::Attack::get().tactic(wanted);
                let wanted = tactic.map_or_else(|| wanted.to_ascii_lowercase(), |tactic| tactic.shortname.clone());
                meta.tactics.contains(&wanted)
            });
        let id = self.ids.is_empty()
            || self.ids.iter().any(|wanted| {
                meta.id.as_deref().is_some_and(|id| id.eq_ignore_ascii_case(wanted))
                    || meta.name.as_deref() == Some(wanted)
            });
        level && status && tag && technique && tactic && id
    }
}

/// A tag or one under it, ignoring case; a bare technique id stands for its `attack.` tag.
fn has_tag(meta: &RuleMeta, wanted: &str) -> bool {
    let wanted = wanted.to_ascii_lowercase();
    let is_technique =
        wanted.len() > 1 && wanted.starts_with('t') && wanted[1..].starts_with(|c: char| c.is_ascii_digit());
    let wanted = if is_technique { format!("attack.{wanted}") } else { wanted };
    meta.tags.iter().any(|tag| {
        let tag = tag.to_ascii_lowercase();
        tag == wanted || tag.starts_with(&format!("{wanted}."))
    })
}

/// How to build a [`RuleSet`]: where rules come from, what they need, which of them run.
#[derive(Debug, Clone, Default)]
pub struct RuleSetBuilder {
    rules: Vec<PathBuf>,
    macros: Vec<PathBuf>,
    lookups: Vec<PathBuf>,
    vars: Option<PathBuf>,
    placeholders: HashMap<String, Vec<String>>,
    logsource_maps: Vec<PathBuf>,
    exclusions: Option<PathBuf>,
    selection: Selection,
    trim_values: bool,
    /// Tests on fields the routed source cannot carry are taken as absent (every possible hit)
    /// rather than unknown.
    uncarried_as_absent: bool,
    /// Where loaded Sigma rules are cached (see [`RuleSetBuilder::cache_dir`]).
    cache_dir: Option<PathBuf>,
}

impl RuleSetBuilder {
    /// A rule file or directory (read recursively; `.yml` and `.yaml`): Sigma rules and ESCU
    /// detections, told apart by content. Folders named `macros`, `lookups` and
    /// `data_sources` hold ESCU support files and are skipped.
    pub fn rules(mut self, path: impl Into<PathBuf>) -> Self {
        self.rules.push(path.into());
        self
    }

    /// A folder of SPL macro files; without any, a `macros` folder beside or above each rules
    /// path is used.
    pub fn macros(mut self, dir: impl Into<PathBuf>) -> Self {
        self.macros.push(dir.into());
        self
    }

    /// A folder of lookup definitions with their CSVs; without any, a `lookups` folder beside
    /// or above each rules path is used.
    pub fn lookups(mut self, dir: impl Into<PathBuf>) -> Self {
        self.lookups.push(dir.into());
        self
    }

    /// A YAML file of values for `expand` placeholders (name to a value or a list).
    pub fn vars_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.vars = Some(path.into());
        self
    }

    /// Values for one `expand` placeholder (added to those of [`vars_file`](Self::vars_file)).
    pub fn var(mut self, name: impl Into<String>, values: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.placeholders.insert(name.into(), values.into_iter().map(Into::into).collect());
        self
    }

    /// More logsource mappings (the form of the built-in `windows-logsources.yml`), added to
    /// and overriding the built-in ones.
    pub fn logsource_map(mut self, path: impl Into<PathBuf>) -> Self {
        self.logsource_maps.push(path.into());
        self
    }

    /// A YAML file of exclusions (known-benign hits taken out, by rule id and optionally a
    /// Sigma-syntax condition), applied to Sigma hits and SPL rows alike.
    pub fn exclusions(mut self, path: impl Into<PathBuf>) -> Self {
        self.exclusions = Some(path.into());
        self
    }

    /// Which loaded rules run.
    pub fn select(mut self, selection: Selection) -> Self {
        self.selection = selection;
        self
    }

    /// Ignore white space around values when matching (Sigma compares values as they are).
    pub fn trim_values(mut self, trim: bool) -> Self {
        self.trim_values = trim;
        self
    }

    /// A test on a field the routed event's source and version cannot carry (a Sysmon field
    /// on Security 4688, `ParentProcessName` on a 4688 before version 2) is unknown by default,
    /// and a rule hits only where its condition is certainly true; `true` takes such a field as
    /// absent instead, as plain Sigma does, and gives every possible hit.
    pub fn uncarried_as_absent(mut self, absent: bool) -> Self {
        self.uncarried_as_absent = absent;
        self
    }

    /// Keep the loaded Sigma rules in `dir` (created if need be), keyed by the bytes of every
    /// rule file, the options and the Harrier build, and read them from there when the same
    /// rules load again: loading SigmaHQ then costs a fraction of parsing its YAML. A stale
    /// or damaged cache file is never used, and is rewritten. Off unless called;
    /// [`default_cache_dir`](crate::default_cache_dir) is the user's cache directory.
    pub fn cache_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cache_dir = Some(dir.into());
        self
    }

    /// Reads and compiles every rule. Fails only when a file the options name (vars,
    /// logsource map, exclusions) cannot be used; a rule that cannot load is an outcome.
    /// The files and folders `build` reads rules from: the rules paths, and the macro and
    /// lookup folders ESCU detections would use (given, or found beside or above the rules).
    /// What another machine needs to build the same rule set (the Python package ships them to
    /// Spark's executors).
    pub fn source_paths(&self) -> (Vec<PathBuf>, Vec<PathBuf>, Vec<PathBuf>) {
        let (macros, lookups) = files::support_dirs(&self.rules, &self.macros, &self.lookups);
        (self.rules.clone(), macros, lookups)
    }

    pub fn build(self) -> Result<RuleSet, Error> {
        if let Some(missing) = self.rules.iter().find(|path| !path.exists()) {
            return Err(Error::Options(format!("{}: no such file or directory", missing.display())));
        }
        let options = self.load_options()?;
        let exclusions = match &self.exclusions {
            Some(path) => Exclusions::load(path).map_err(Error::Options)?,
            None => Exclusions::none(),
        };
        let listed = files::list_rule_files(&self.rules);
        let (mut entries, escu, cache_use) = cache::load(self.cache_dir.as_deref(), &listed, &options);
        let library = files::spl_library(&self.rules, &self.macros, &self.lookups, !escu.is_empty());
        let select = |meta: &RuleMeta| self.selection.takes(meta);
        let mut detections: Vec<_> = escu.iter().map(|file| harrier_spl::escu::load_file(file, &library)).collect();
        reject_duplicate_ids(&mut entries, &mut detections);
        let mut set = RuleSet::compile(entries, &select);
        set.spl = SplSet::compile(detections, &library, &select);
        set.library_problems = library.problems;
        set.cache_use = cache_use;
        set.exclusions = exclusions;
        set.engine.set_trim_values(self.trim_values);
        set.trim_values = self.trim_values;
        Ok(set)
    }

    fn load_options(&self) -> Result<LoadOptions, Error> {
        let mut options = LoadOptions::default();
        for path in &self.logsource_maps {
            options.logsources.extend(files::logsource_map(path).map_err(Error::Options)?);
        }
        if let Some(path) = &self.vars {
            options.placeholders = files::placeholders(path).map_err(Error::Options)?;
        }
        options.placeholders.extend(self.placeholders.clone());
        options.unknown_fields = !self.uncarried_as_absent;
        Ok(options)
    }
}

/// The names once each, ignoring case (each event's channel is looked up among them).
fn distinct_ignoring_case(mut names: Vec<String>) -> Vec<String> {
    names.sort_by_key(|name| name.to_ascii_lowercase());
    names.dedup_by(|name, kept| name.eq_ignore_ascii_case(kept));
    names
}

/// A later document with an id an earlier one has (in the order files are read: sorted paths)
/// does not load, and says which document has the id: rule ids must be unique (a correlation
/// naming an id must know which rule it means), and a copy of a rule must not run twice.
fn reject_duplicate_ids(entries: &mut [PackedEntry], detections: &mut [harrier_spl::escu::Detection]) {
    let mut first: HashMap<String, String> = HashMap::new();
    let mut check = |id: Option<&str>, place: String| -> Option<String> {
        let id = id?;
        match first.get(id) {
            Some(earlier) => Some(format!(
                "the id `{id}` is also the id of {earlier}, read first, which runs: rule ids must be unique"
            )),
            None => {
                first.insert(id.to_owned(), place);
                None
            }
        }
    };
    for entry in entries.iter_mut().filter(|entry| !matches!(entry.outcome, Outcome::Failed(_))) {
        if let Some(why) = check(entry.id.as_deref(), entry.place.to_string()) {
            entry.outcome = Outcome::Failed(why);
        }
    }
    for detection in detections.iter_mut().filter(|detection| !matches!(detection.outcome, SplOutcome::Failed(_))) {
        if let Some(why) = check(detection.meta.id.as_deref(), detection.meta.source.to_string()) {
            detection.outcome = SplOutcome::Failed(why);
        }
    }
}

/// Rules of both languages, loaded and compiled once; reusable by any number of hunts, on any
/// number of threads at once.
pub struct RuleSet {
    pub(crate) entries: Vec<PackedEntry>,
    /// Whether the selection takes each entry.
    selected: Vec<bool>,
    /// Why an entry that loaded cannot run after all (its regex, say), by entry index.
    compile_errors: HashMap<usize, String>,
    /// Entry index of each compiled rule, in engine order.
    pub(crate) active: Vec<usize>,
    pub(crate) engine: Engine,
    /// The correlations over the active rules.
    pub(crate) correlator: Correlator,
    /// Engine rules whose own hits are not reported (every correlation naming them says
    /// `generate: false`).
    pub(crate) suppressed: Vec<bool>,
    /// The plain Sigma conditions of the rules that test a field their source may not carry
    /// (see [`harrier_ir::Rule::plain`]), compiled when an event that needs them first comes
    /// (see [`RuleSet::undecided`]); the engine rule of each, and the channels they are routed
    /// to (`None`: any).
    plain: OnceLock<Engine>,
    plain_rules: Vec<usize>,
    plain_channels: Option<Vec<String>>,
    trim_values: bool,
    /// Why the correlations could not be set up, if they could not.
    correlation_error: Option<String>,
    /// The SPL detections, numbered after the Sigma entries.
    pub(crate) spl: SplSet,
    /// Macro and lookup files that could not be read: (file, why).
    library_problems: Vec<(String, String)>,
    pub(crate) exclusions: Exclusions,
    cache_use: CacheUse,
}

impl RuleSet {
    /// How to load a rule set.
    pub fn builder() -> RuleSetBuilder {
        RuleSetBuilder::default()
    }

    /// One ad-hoc SPL search (Splunk's search language and pipeline), as one SPL detection
    /// titled `search`, with macros and lookups from the folders given.
    pub fn search(spl: &str, macros: &[PathBuf], lookups: &[PathBuf]) -> Result<RuleSet, Error> {
        let library = Library::load(macros, lookups);
        let mut set = RuleSet::compile(Vec::new(), &|_| true);
        set.spl = SplSet::from_search(spl, &library).map_err(Error::Search)?;
        set.library_problems = library.problems;
        Ok(set)
    }

    /// Compiles the active, selected Sigma entries and their correlations.
    fn compile(mut entries: Vec<PackedEntry>, select: &dyn Fn(&RuleMeta) -> bool) -> RuleSet {
        files::warn_unknown_attack_tags(&mut entries);
        let selected: Vec<bool> =
            entries.iter().map(|entry| entry.rule().is_some_and(|rule| select(&rule.meta))).collect();
        let active: Vec<usize> = entries
            .iter()
            .enumerate()
            .filter(|(index, entry)| matches!(entry.outcome, Outcome::Active(_)) && selected[*index])
            .map(|(index, _)| index)
            .collect();
        let rule_at = |index: usize| entries[index].rule().expect("active rules loaded");
        let (engine, compile_errors) = compile_engine(active.iter().map(|&index| &rule_at(index).condition), None);
        let compile_errors = compile_errors.into_iter().map(|(position, error)| (active[position], error)).collect();
        let correlations: Vec<Correlation> = entries.iter().filter_map(|entry| entry.correlation().cloned()).collect();
        let resolve = |reference: &str| {
            active.iter().position(|&index| {
                let meta = &rule_at(index).meta;
                meta.id.as_deref() == Some(reference) || meta.name.as_deref() == Some(reference)
            })
        };
        let (correlator, correlation_error) = match Correlator::new(correlations, &resolve) {
            Ok(correlator) => (correlator, None),
            Err(error) => (Correlator::new(Vec::new(), &resolve).expect("no correlations"), Some(error)),
        };
        let suppressed = (0..active.len()).map(|rule| correlator.suppresses(rule)).collect();
        let plain_rules: Vec<usize> =
            (0..active.len()).filter(|&index| rule_at(active[index]).plain.is_some()).collect();
        // A plain condition that does not decode has no channels: it is routed to all.
        let plain_channels = plain_rules
            .iter()
            .filter_map(|&index| rule_at(active[index]).plain.as_ref())
            .map(|plain| harrier_engine::channels(&plain.unpack().ok()?))
            .collect::<Option<Vec<Vec<String>>>>()
            .map(|channels| distinct_ignoring_case(channels.concat()));
        RuleSet {
            entries,
            selected,
            compile_errors,
            active,
            engine,
            correlator,
            suppressed,
            plain: OnceLock::new(),
            plain_rules,
            plain_channels,
            trim_values: false,
            correlation_error,
            spl: SplSet::default(),
            library_problems: Vec::new(),
            exclusions: Exclusions::none(),
            cache_use: CacheUse::Off,
        }
    }

    /// Rule documents of both languages: Sigma entries, then SPL detections.
    pub fn len(&self) -> usize {
        self.entries.len() + self.spl.detections.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// What became of each rule document, in the order they were read.
    pub fn outcomes(&self) -> impl Iterator<Item = RuleOutcome<'_>> {
        (0..self.len()).map(|index| self.outcome(index))
    }

    /// What became of document `index` (Sigma entries first, then SPL detections).
    pub fn outcome(&self, index: usize) -> RuleOutcome<'_> {
        if index >= self.entries.len() {
            return self.spl_outcome(index - self.entries.len());
        }
        let entry = &self.entries[index];
        let (status, reason) = match (&entry.outcome, self.compile_errors.get(&index)) {
            (_, Some(error)) => (LoadStatus::Failed, Some(error.clone())),
            (Outcome::Active(_), None) if !self.selected[index] => (LoadStatus::NotSelected, None),
            (Outcome::Active(_), None) => (LoadStatus::Loaded, None),
            (Outcome::Filter { applied_to }, None) => {
                (LoadStatus::Filter, Some(format!("filter applied to {applied_to} rules")))
            }
            (Outcome::Correlation(correlation), None) => {
                (LoadStatus::Correlation, Some(format!("{} correlation", correlation.kind.name())))
            }
            (Outcome::Inactive { reason, .. }, None) => (LoadStatus::Inactive, Some(reason.clone())),
            (Outcome::Failed(reason), None) => (LoadStatus::Failed, Some(reason.clone())),
        };
        RuleOutcome {
            file: &entry.place.file,
            line: entry.place.line,
            id: entry.id.as_deref(),
            title: entry.title.as_deref(),
            language: Language::Sigma,
            loaded: status != LoadStatus::Failed,
            status,
            reason,
            warnings: &entry.warnings,
            meta: entry.rule().map(|rule| &rule.meta).or_else(|| entry.correlation().map(|c| &c.meta)),
        }
    }

    fn spl_outcome(&self, index: usize) -> RuleOutcome<'_> {
        let detection = &self.spl.detections[index];
        let (status, reason) = match (&detection.outcome, self.spl.compile_errors.get(&index)) {
            (_, Some(error)) => (LoadStatus::Failed, Some(error.clone())),
            (SplOutcome::Failed(why), None) => (LoadStatus::Failed, Some(why.clone())),
            (SplOutcome::Deprecated(_), None) => (LoadStatus::Inactive, Some("deprecated".to_owned())),
            (SplOutcome::Runnable(_), None) if !self.spl.selected[index] => (LoadStatus::NotSelected, None),
            (SplOutcome::Runnable(_), None) => (LoadStatus::Loaded, None),
        };
        RuleOutcome {
            file: &detection.meta.source.file,
            line: detection.meta.source.line,
            id: detection.meta.id.as_deref(),
            title: Some(&detection.meta.title),
            language: Language::Spl,
            loaded: status != LoadStatus::Failed,
            status,
            reason,
            warnings: &self.spl.warnings[index],
            meta: Some(&detection.meta),
        }
    }

    /// An SPL document's search as written and with its macros expanded (when that
    /// worked); `None` for a Sigma document.
    pub fn spl_search(&self, index: usize) -> Option<(&str, Option<&str>)> {
        let detection = self.spl.detections.get(index.checked_sub(self.entries.len())?)?;
        Some((&detection.search, detection.expanded.as_deref()))
    }

    /// How many documents have this status.
    pub fn count(&self, status: LoadStatus) -> usize {
        self.outcomes().filter(|outcome| outcome.status == status).count()
    }

    /// Why the set's correlations cannot run (a correlation naming a rule that is not loaded,
    /// a cycle), if they cannot.
    /// Whether the Sigma rules came from the cache.
    pub fn cache_use(&self) -> CacheUse {
        self.cache_use
    }

    pub fn correlation_error(&self) -> Option<&str> {
        self.correlation_error.as_deref()
    }

    /// Macro and lookup files that could not be read: (file, why).
    pub fn support_file_problems(&self) -> &[(String, String)] {
        &self.library_problems
    }

    /// The names of the exclusions, in file order.
    pub fn exclusion_names(&self) -> &[String] {
        &self.exclusions.names
    }

    /// Every rule that runs, in result order: Sigma rules (engine order), correlations, SPL
    /// detections.
    pub fn running(&self) -> impl Iterator<Item = (RuleKey, &RuleMeta)> {
        let sigma = (0..self.active.len()).map(RuleKey::Sigma);
        let correlations = (0..self.correlator.len()).map(RuleKey::Correlation);
        let spl = (0..self.spl.runners.len()).map(RuleKey::Spl);
        sigma.chain(correlations).chain(spl).map(|key| (key, self.meta(key)))
    }

    /// How many rules run: Sigma detection rules and SPL detections (correlations are
    /// counted with the rules they correlate).
    pub fn rules_run(&self) -> usize {
        self.active.len() + self.spl.runners.len()
    }

    /// How many Sigma detection rules run.
    pub fn sigma_rules_run(&self) -> usize {
        self.active.len()
    }

    /// The metadata of a rule that runs.
    pub fn meta(&self, key: RuleKey) -> &RuleMeta {
        match key {
            RuleKey::Sigma(rule) => &self.rule(rule).meta,
            RuleKey::Correlation(index) => &self.correlator.correlation(index).meta,
            RuleKey::Spl(runner) => &self.spl.detection(runner).meta,
        }
    }

    /// The Sigma rule behind an engine number, its conditions encoded.
    pub(crate) fn rule(&self, engine_rule: usize) -> &Rule<Packed> {
        self.entries[self.active[engine_rule]].rule().expect("active rules loaded")
    }

    /// The rules that cannot decide the event (engine numbers, into `undecided`), given the
    /// rules that hit it (`matched`): those plain Sigma hits that did not hit.
    pub(crate) fn undecided(&self, event: &harrier_event::Event, matched: &[usize], undecided: &mut Vec<usize>) {
        undecided.clear();
        if !self.may_be_undecided(event) {
            return;
        }
        self.plain_engine().matches(event, undecided);
        undecided.retain_mut(|index| {
            *index = self.plain_rules[*index];
            !matched.contains(index)
        });
    }

    /// Whether some rule may be unable to decide the event: it is in a channel a plain
    /// condition is routed to.
    fn may_be_undecided(&self, event: &harrier_event::Event) -> bool {
        !self.plain_rules.is_empty()
            && self.plain_channels.as_ref().is_none_or(|channels| {
                let channel = self.engine.channel(event);
                channel.is_some_and(|channel| channels.iter().any(|c| c.eq_ignore_ascii_case(channel)))
            })
    }

    /// The engine of the plain conditions, compiled on first use (most hunts have no event of
    /// a source that cannot carry what rules test, Security 4688 for Sysmon rules) beside the
    /// rules' engine, whose regular expressions it shares.
    fn plain_engine(&self) -> &Engine {
        self.plain.get_or_init(|| {
            let conditions = self.plain_rules.iter().filter_map(|&index| self.rule(index).plain.as_ref());
            let (mut engine, _) = compile_engine(conditions, Some(&self.engine));
            engine.set_trim_values(self.trim_values);
            engine
        })
    }

    /// Whether a Sigma rule the engine holds failed to compile.
    #[cfg(feature = "spark")]
    pub(crate) fn failed_to_compile(&self, engine_rule: usize) -> bool {
        self.compile_errors.contains_key(&self.active[engine_rule])
    }
}
