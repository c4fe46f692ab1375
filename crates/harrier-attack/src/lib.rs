//! ATT&CK: the facts rules are tagged with.
//!
//! This crate owns the ATT&CK Enterprise tables (v18.1, from MITRE; plus the v19 tactics and
//! techniques that current Sigma rules already use) carried as data in `data/`, and the
//! resolution of a rule tag (`attack.t1059.001`, `attack.execution`, `attack.g0007`) to what it
//! names. `tools/attack_table.py` regenerates the v18.1 tables from MITRE's.
//!
//! © 2025 The MITRE Corporation. This work is reproduced and distributed with the permission of
//! The MITRE Corporation.

mod coverage;

pub use coverage::{Cell, Coverage, Covered};

/// The ATT&CK Enterprise version of the carried tables (plus the v19 ids Sigma uses).
pub const ATTACK_VERSION: &str = "18";

use std::collections::HashMap;
use std::sync::OnceLock;

const TECHNIQUES: &str = include_str!("../data/enterprise-attack.tsv");
const V19_TECHNIQUES: &str = include_str!("../data/v19-additions.tsv");
const TACTICS: &str = include_str!("../data/tactics.tsv");
const GROUPS_AND_SOFTWARE: &str = include_str!("../data/groups-and-software.tsv");

/// Where a technique stands in the ATT&CK version Harrier carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Live,
    Deprecated,
    /// Replaced by another technique (its id, when MITRE names one).
    Revoked {
        by: Option<String>,
    },
    /// Added by ATT&CK v19, which the carried tables predate.
    V19,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Technique {
    pub id: String,
    pub name: String,
    /// Tactic short names (`execution`), in matrix order.
    pub tactics: Vec<String>,
    pub parent: Option<String>,
    pub status: Status,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tactic {
    pub id: String,
    pub shortname: String,
    pub name: String,
}

/// What a rule tag names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagMeaning<'a> {
    Technique(&'a Technique),
    Tactic(&'a Tactic),
    /// A group or software (`attack.g0007`, `attack.s0002`): its name.
    Actor(&'a str),
    /// An ATT&CK data source id (`attack.ds0005`), which the tables do not list.
    DataSource,
    /// Not an ATT&CK tag (`cve.2021-44228`, `detection.threat-hunting`).
    NotAttack,
    /// An `attack.` tag that names nothing Harrier knows.
    Unknown,
}

/// The ATT&CK tables.
pub struct Attack {
    techniques: HashMap<String, Technique>,
    tactics: Vec<Tactic>,
    actors: HashMap<String, String>,
}

impl Attack {
    /// The tables carried in the crate, parsed once.
    pub fn get() -> &'static Attack {
        static ATTACK: OnceLock<Attack> = OnceLock::new();
        ATTACK.get_or_init(Attack::parse)
    }

    fn parse() -> Attack {
        let mut techniques = HashMap::new();
        for cells in rows(TECHNIQUES) {
            let status = match cells[4] {
                "live" => Status::Live,
                "deprecated" => Status::Deprecated,
                revoked => {
                    Status::Revoked { by: revoked.strip_prefix("revoked:").filter(|by| !by.is_empty()).map(Into::into) }
                }
            };
            techniques.insert(cells[0].to_owned(), technique(&cells, status));
        }
        for cells in rows(V19_TECHNIQUES) {
            techniques.entry(cells[0].to_owned()).or_insert_with(|| technique(&cells, Status::V19));
        }
        let tactics = rows(TACTICS)
            .map(|cells| Tactic { id: cells[0].into(), shortname: cells[1].into(), name: cells[2].into() })
            .collect();
        let actors = rows(GROUPS_AND_SOFTWARE).map(|cells| (cells[0].to_owned(), cells[1].to_owned())).collect();
        Attack { techniques, tactics, actors }
    }

    /// A technique by id, any case (`t1059.001`).
    pub fn technique(&self, id: &str) -> Option<&Technique> {
        self.techniques.get(&id.to_ascii_uppercase())
    }

    /// A tactic by short name (`command-and-control`, or with underscores) or by id (`TA0011`).
    pub fn tactic(&self, name: &str) -> Option<&Tactic> {
        let name = name.to_ascii_lowercase().replace('_', "-");
        self.tactics.iter().find(|tactic| tactic.shortname == name || tactic.id.eq_ignore_ascii_case(&name))
    }

    /// Tactics in matrix order.
    pub fn tactics(&self) -> &[Tactic] {
        &self.tactics
    }

    /// What a rule tag names.
    pub fn resolve_tag(&self, tag: &str) -> TagMeaning<'_> {
        let Some(name) = tag.to_ascii_lowercase().strip_prefix("attack.").map(str::to_owned) else {
            return TagMeaning::NotAttack;
        };
        let numbered =
            |prefix: &str| name.strip_prefix(prefix).is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()));
        if numbered("t") {
            self.technique(&name).map_or(TagMeaning::Unknown, TagMeaning::Technique)
        } else if numbered("g") || numbered("s") {
            self.actors.get(&name.to_ascii_uppercase()).map_or(TagMeaning::Unknown, |actor| TagMeaning::Actor(actor))
        } else if numbered("ds") {
            TagMeaning::DataSource
        } else {
            self.tactic(&name).map_or(TagMeaning::Unknown, TagMeaning::Tactic)
        }
    }
}

fn technique(cells: &[&str], status: Status) -> Technique {
    Technique {
        id: cells[0].into(),
        name: cells[1].into(),
        tactics: cells[2].split(',').filter(|tactic| !tactic.is_empty()).map(Into::into).collect(),
        parent: Some(cells[3]).filter(|parent| !parent.is_empty()).map(Into::into),
        status,
    }
}

/// The data rows of a carried table: comments and the header skipped, cells split on tabs.
fn rows(table: &'static str) -> impl Iterator<Item = Vec<&'static str>> {
    table.lines().filter(|line| !line.starts_with('#')).skip(1).map(|line| line.split('\t').collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_resolve_to_techniques_tactics_and_actors() {
        let attack = Attack::get();
        let TagMeaning::Technique(powershell) = attack.resolve_tag("attack.t1059.001") else { panic!() };
        assert_eq!((powershell.name.as_str(), powershell.parent.as_deref()), ("PowerShell", Some("T1059")));
        assert_eq!(powershell.tactics, ["execution"]);
        let TagMeaning::Tactic(c2) = attack.resolve_tag("attack.command_and_control") else { panic!() };
        assert_eq!((c2.id.as_str(), c2.name.as_str()), ("TA0011", "Command and Control"));
        let TagMeaning::Tactic(stealth) = attack.resolve_tag("attack.stealth") else { panic!() };
        assert_eq!((stealth.id.as_str(), stealth.name.as_str()), ("TA0005", "Stealth"), "v19's name for TA0005");
        assert!(matches!(
            attack.resolve_tag("attack.t1685.005"),
            TagMeaning::Technique(Technique { status: Status::V19, .. })
        ));
        assert_eq!(attack.resolve_tag("attack.g0007"), TagMeaning::Actor("APT28"));
        assert_eq!(attack.resolve_tag("cve.2021-44228"), TagMeaning::NotAttack);
        assert_eq!(attack.resolve_tag("attack.t9999"), TagMeaning::Unknown);
        assert_eq!(attack.resolve_tag("attack.nonsense"), TagMeaning::Unknown);
    }

    #[test]
    fn revoked_techniques_name_their_replacement() {
        let revoked = Attack::get().technique("T1086").unwrap();
        assert_eq!(revoked.status, Status::Revoked { by: Some("T1059.001".into()) });
    }
}
