//! The detection catalog: every rule document of a set, Sigma and ESCU alike, by ATT&CK
//! technique and by known false positive, each with its detection logic as written, its
//! conversions for other engines, what became of it when loading, and (given logs) the
//! evidence of how it behaves on them.
//!
//! The catalog is data first ([`Catalog`], serialized as one JSON document); the site is
//! that data in one self-contained page (styles, script and data inline, a content security
//! policy that forbids any network request) that opens from the file system.

mod false_positives;
mod logic;
mod site;

use harrier::{ConvertOptions, Language, LoadStatus, Profile, RuleOutcome, RuleSet, Target};
use harrier_attack::Attack;
use rayon::prelude::*;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};

pub use false_positives::{FalsePositive, normalize as normalize_false_positive};
pub use logic::Logic;

/// How a rule behaved on logs: from a hunt (`--logs`) or a noise run (`--benign`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Evidence {
    pub hits: u64,
    /// Distinct hosts, and the first few of them by name.
    pub hosts: usize,
    pub host_names: Vec<String>,
    pub first: Option<String>,
    pub last: Option<String>,
    /// The process with the most hits and its count (`harrier noise`'s top process).
    pub top_process: Option<(String, u64)>,
}

/// What the catalog adds to the rules: where they came from and what they did on logs.
#[derive(Debug, Default)]
pub struct Options {
    /// The rule paths, as given.
    pub sources: Vec<String>,
    /// The logs hunted for evidence, and each rule's evidence by [`rule_key`].
    pub logs: Vec<String>,
    pub evidence: HashMap<String, Evidence>,
    /// The logs believed benign, and each rule's noise on them by [`rule_key`].
    pub benign: Vec<String>,
    pub noise: HashMap<String, Evidence>,
}

/// The key evidence is filed under: a rule's id, or its title when it has none.
pub fn rule_key(id: Option<&str>, title: &str) -> String {
    id.unwrap_or(title).to_owned()
}

/// The whole catalog.
#[derive(Debug, Serialize)]
pub struct Catalog {
    pub harrier_version: &'static str,
    pub attack_version: &'static str,
    pub sources: Vec<String>,
    pub logs: Vec<String>,
    pub benign: Vec<String>,
    pub counts: Counts,
    pub rules: Vec<CatalogRule>,
    /// Tactics in matrix order, each with the techniques its rules name.
    pub tactics: Vec<TacticEntry>,
    /// Techniques ATT&CK lists without a tactic (deprecated or revoked ones).
    pub outside_matrix: Vec<TechniqueEntry>,
    /// Ids that name no ATT&CK technique Harrier knows, with their rules.
    pub unknown_techniques: Vec<TechniqueEntry>,
    /// Rules (by index) that name no technique.
    pub no_technique: Vec<usize>,
    /// Known false positives, most shared first.
    pub false_positives: Vec<FalsePositive>,
    /// Rules whose false positives are "unknown", "none" or not given.
    pub false_positives_unknown: Vec<usize>,
}

#[derive(Debug, Default, Serialize)]
pub struct Counts {
    pub documents: usize,
    pub sigma: usize,
    pub splunk: usize,
    /// By load outcome (`loaded`, `inactive`, `correlation`, `filter`, `failed`).
    pub outcomes: BTreeMap<&'static str, usize>,
    /// Documents the rule selection left out (they are not in the catalog).
    pub not_selected: usize,
    pub techniques: usize,
}

/// One rule document as the catalog shows it.
#[derive(Debug, Serialize)]
pub struct CatalogRule {
    /// Its place in deep links: `#rule/<anchor>` (the id when unique, else `doc-<n>`).
    pub anchor: String,
    pub id: Option<String>,
    pub title: String,
    /// `sigma` or `splunk` (an ESCU detection).
    pub source: &'static str,
    pub level: Option<&'static str>,
    pub status: Option<&'static str>,
    /// ESCU's detection type (TTP, Anomaly, Hunting).
    pub r#type: Option<String>,
    pub techniques: Vec<String>,
    pub tactics: Vec<String>,
    pub description: Option<String>,
    pub author: Option<String>,
    pub references: Vec<String>,
    pub false_positives: Vec<String>,
    pub logsource: Option<String>,
    pub file: String,
    pub line: usize,
    /// `loaded`, `inactive`, `correlation`, `filter` or `failed`.
    pub outcome: LoadStatus,
    pub reason: Option<String>,
    pub warnings: Vec<String>,
    pub logic: Option<Logic>,
    /// Field names the logic tests (Sigma), for search.
    pub fields: Vec<String>,
    pub conversions: Vec<ConversionEntry>,
    pub evidence: Option<Evidence>,
    pub noise: Option<Evidence>,
}

/// One conversion: the query, or why there is none.
#[derive(Debug, Serialize)]
pub struct ConversionEntry {
    pub target: &'static str,
    pub query: Option<String>,
    pub index: Option<String>,
    pub refusal: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct TacticEntry {
    pub id: String,
    pub shortname: String,
    pub name: String,
    pub techniques: Vec<TechniqueEntry>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TechniqueEntry {
    pub id: String,
    pub name: Option<String>,
    /// Rules (by index) naming this id itself.
    pub rules: Vec<usize>,
    pub subtechniques: Vec<TechniqueEntry>,
    /// Why the id is listed apart (deprecated, revoked, unknown).
    pub note: Option<String>,
}

/// The conversions shown beside each rule: (label, target, dialect, mapping).
const CONVERSIONS: [(&str, &str, Option<&str>, &str); 6] = [
    ("Lucene (ECS)", "lucene", None, "ecs"),
    ("Lucene (HELK)", "lucene", None, "helk"),
    ("Splunk", "splunk", None, "splunk-windows"),
    ("SQL (SQLite)", "sql", Some("sqlite"), "sysmon"),
    ("SQL (Spark)", "sql", Some("spark"), "sysmon"),
    ("ES|QL", "esql", None, "ecs"),
];

impl Catalog {
    /// The catalog of a rule set. Rule files are read again for the Sigma logic as written.
    pub fn build(set: &RuleSet, options: &Options) -> Catalog {
        let targets: Vec<(&'static str, Target, Profile)> = CONVERSIONS
            .iter()
            .map(|(label, target, dialect, mapping)| {
                let target = Target::parse(target, *dialect).expect("a built-in target");
                (*label, target, Profile::load(mapping).expect("a built-in mapping"))
            })
            .collect();
        let files = logic::Files::default();
        // Documents the selection left out are not in the catalog, only counted.
        let mut rules: Vec<CatalogRule> = (0..set.len())
            .into_par_iter()
            .filter_map(|index| {
                let outcome = set.outcome(index);
                (outcome.status != LoadStatus::NotSelected)
                    .then(|| catalog_rule(set, index, outcome, &targets, &files, options))
            })
            .collect();
        name_anchors(&mut rules);
        let mut counts = Counts { not_selected: set.len() - rules.len(), ..Counts::default() };
        for rule in &rules {
            counts.documents += 1;
            *if rule.source == "sigma" { &mut counts.sigma } else { &mut counts.splunk } += 1;
            *counts.outcomes.entry(rule.outcome.name()).or_default() += 1;
        }
        let filed: Vec<(usize, &CatalogRule)> =
            rules.iter().enumerate().filter(|(_, rule)| rule.outcome.is_selected_rule()).collect();
        let tree = TechniqueTree::of(&filed);
        counts.techniques = tree.by_id.len();
        let (false_positives, false_positives_unknown) = false_positives::group(&filed);
        Catalog {
            harrier_version: env!("CARGO_PKG_VERSION"),
            attack_version: harrier_attack::ATTACK_VERSION,
            sources: options.sources.clone(),
            logs: options.logs.clone(),
            benign: options.benign.clone(),
            counts,
            tactics: tree.tactics(),
            outside_matrix: tree.outside_matrix(),
            unknown_techniques: tree.unknown(),
            no_technique: tree.none,
            false_positives,
            false_positives_unknown,
            rules,
        }
    }

    /// The catalog as one JSON document.
    pub fn write_json(&self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        serde_json::to_writer(&mut *out, self).map_err(std::io::Error::other)?;
        writeln!(out)
    }

    /// The catalog as one self-contained HTML page.
    pub fn write_html(&self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        site::write(self, out)
    }
}

/// Document `index` of the set, whose outcome is `outcome`, as the catalog shows it.
fn catalog_rule(
    set: &RuleSet,
    index: usize,
    outcome: RuleOutcome<'_>,
    targets: &[(&'static str, Target, Profile)],
    files: &logic::Files,
    options: &Options,
) -> CatalogRule {
    let meta = outcome.meta;
    let title = outcome.title.map(str::to_owned).unwrap_or_else(|| outcome.file.to_owned());
    let key = rule_key(outcome.id, &title);
    let logic = match set.spl_search(index) {
        Some((search, expanded)) => Some(Logic::spl(search, expanded)),
        None => files.sigma(outcome.file, outcome.line),
    };
    let convert_options = ConvertOptions::default();
    let conversions = targets
        .iter()
        .map(|(label, target, profile)| match set.convert(index, *target, profile, &convert_options) {
            Ok(conversion) => {
                ConversionEntry { target: label, query: Some(conversion.query), index: conversion.index, refusal: None }
            }
            Err(why) => ConversionEntry { target: label, query: None, index: None, refusal: Some(why) },
        })
        .collect();
    CatalogRule {
        anchor: String::new(),
        id: outcome.id.map(str::to_owned),
        source: match outcome.language {
            Language::Sigma => "sigma",
            Language::Spl => "splunk",
        },
        level: meta.map(|meta| meta.level.name()),
        status: meta.and_then(|meta| meta.status).map(|status| status.name()),
        r#type: meta.and_then(|meta| meta.annotation_text("type")).map(str::to_owned),
        techniques: meta.map(|meta| meta.techniques.clone()).unwrap_or_default(),
        tactics: meta.map(|meta| meta.tactics.clone()).unwrap_or_default(),
        description: meta.and_then(|meta| meta.description.clone()),
        author: meta.and_then(|meta| meta.author.clone()),
        references: meta.map(|meta| meta.references.clone()).unwrap_or_default(),
        false_positives: meta.map(|meta| meta.false_positives.clone()).unwrap_or_default(),
        logsource: meta.map(|meta| meta.logsource.to_string()).filter(|text| !text.is_empty()),
        file: outcome.file.to_owned(),
        line: outcome.line,
        outcome: outcome.status,
        reason: outcome.reason,
        warnings: outcome.warnings.to_vec(),
        fields: logic.as_ref().map(Logic::fields).unwrap_or_default(),
        logic,
        conversions,
        evidence: options.evidence.get(&key).cloned(),
        noise: options.noise.get(&key).cloned(),
        title,
    }
}

/// Anchors for deep links: the rule's id when no other document has it, else `doc-<n>`.
fn name_anchors(rules: &mut [CatalogRule]) {
    let mut seen: HashMap<String, usize> = HashMap::new();
    for rule in rules.iter() {
        if let Some(id) = &rule.id {
            *seen.entry(id.clone()).or_default() += 1;
        }
    }
    for (index, rule) in rules.iter_mut().enumerate() {
        rule.anchor = match &rule.id {
            Some(id) if seen[id] == 1 && !id.is_empty() => id.clone(),
            _ => format!("doc-{index}"),
        };
    }
}

/// Rules by technique id, and the ids placed in the ATT&CK matrix.
struct TechniqueTree {
    by_id: BTreeMap<String, Vec<usize>>,
    none: Vec<usize>,
}

impl TechniqueTree {
    fn of(rules: &[(usize, &CatalogRule)]) -> TechniqueTree {
        let mut by_id: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        let mut none = Vec::new();
        for (index, rule) in rules {
            let ids: HashSet<String> = rule.techniques.iter().map(|id| id.to_ascii_uppercase()).collect();
            if ids.is_empty() {
                none.push(*index);
            }
            for id in ids {
                by_id.entry(id).or_default().push(*index);
            }
        }
        by_id.values_mut().for_each(|rules| rules.sort_unstable());
        TechniqueTree { by_id, none }
    }

    fn entry(&self, id: &str, name: Option<&str>, note: Option<String>) -> TechniqueEntry {
        TechniqueEntry {
            id: id.to_owned(),
            name: name.map(str::to_owned),
            rules: self.by_id.get(id).cloned().unwrap_or_default(),
            subtechniques: Vec::new(),
            note,
        }
    }

    /// Each tactic with the techniques named (or with a sub-technique named) under it.
    fn tactics(&self) -> Vec<TacticEntry> {
        let attack = Attack::get();
        let mut parents: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for id in self.by_id.keys() {
            let Some(technique) = attack.technique(id).filter(|technique| !technique.tactics.is_empty()) else {
                continue;
            };
            match &technique.parent {
                Some(parent) => parents.entry(parent).or_default().push(id),
                None => {
                    parents.entry(id).or_default();
                }
            }
        }
        attack
            .tactics()
            .iter()
            .map(|tactic| {
                let techniques = parents
                    .iter()
                    .filter_map(|(parent, subs)| {
                        let technique = attack.technique(parent)?;
                        let subs: Vec<&str> = subs
                            .iter()
                            .copied()
                            .filter(|sub| {
                                attack.technique(sub).is_some_and(|sub| sub.tactics.contains(&tactic.shortname))
                            })
                            .collect();
                        if !technique.tactics.contains(&tactic.shortname) && subs.is_empty() {
                            return None;
                        }
                        let mut entry = self.entry(parent, Some(&technique.name), None);
                        entry.subtechniques = subs
                            .iter()
                            .filter_map(|sub| attack.technique(sub))
                            .map(|sub| self.entry(&sub.id, Some(&sub.name), None))
                            .collect();
                        Some(entry)
                    })
                    .collect();
                TacticEntry {
                    id: tactic.id.clone(),
                    shortname: tactic.shortname.clone(),
                    name: tactic.name.clone(),
                    techniques,
                }
            })
            .collect()
    }

    /// Ids ATT&CK knows but places under no tactic (deprecated, revoked).
    fn outside_matrix(&self) -> Vec<TechniqueEntry> {
        let attack = Attack::get();
        self.by_id
            .keys()
            .filter_map(|id| attack.technique(id).filter(|technique| technique.tactics.is_empty()))
            .map(|technique| {
                let note = match &technique.status {
                    harrier_attack::Status::Revoked { by: Some(by) } => format!("revoked: replaced by {by}"),
                    harrier_attack::Status::Revoked { by: None } => "revoked".to_owned(),
                    _ => "deprecated".to_owned(),
                };
                self.entry(&technique.id, Some(&technique.name), Some(note))
            })
            .collect()
    }

    /// Ids that name no technique Harrier knows.
    fn unknown(&self) -> Vec<TechniqueEntry> {
        let attack = Attack::get();
        let note = format!("not an ATT&CK v{} technique id Harrier knows", harrier_attack::ATTACK_VERSION);
        self.by_id
            .keys()
            .filter(|id| attack.technique(id).is_none())
            .map(|id| self.entry(id, None, Some(note.clone())))
            .collect()
    }
}
