//! What a rule set covers (or what fired), by technique: the tactic × technique matrix and
//! the ATT&CK Navigator layer of it.

use crate::Attack;
use std::collections::BTreeMap;

/// Scores per technique id, with the rules behind each.
#[derive(Debug, Default, Clone)]
pub struct Coverage {
    techniques: BTreeMap<String, Covered>,
}

#[derive(Debug, Default, Clone, PartialEq)]
pub struct Covered {
    pub score: u64,
    pub rules: Vec<String>,
}

/// One cell of the matrix.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub covered: &'a Covered,
}

impl Coverage {
    /// Counts `score` (1 for a rule, its hits for a hunt) for each technique of a rule.
    pub fn add(&mut self, rule: &str, techniques: &[String], score: u64) {
        for id in techniques {
            let entry = self.techniques.entry(id.to_ascii_uppercase()).or_default();
            entry.score += score;
            if !entry.rules.iter().any(|known| known == rule) {
                entry.rules.push(rule.to_owned());
            }
        }
    }

    /// Techniques with a score above zero.
    pub fn covered(&self) -> impl Iterator<Item = (&str, &Covered)> {
        self.techniques.iter().filter(|(_, covered)| covered.score > 0).map(|(id, covered)| (id.as_str(), covered))
    }

    /// Per tactic in matrix order, its covered techniques by id (a technique under each of
    /// its tactics). Ids ATT&CK does not know are left out.
    pub fn matrix<'a>(&'a self, attack: &'a Attack) -> Vec<(&'a crate::Tactic, Vec<Cell<'a>>)> {
        attack
            .tactics()
            .iter()
            .map(|tactic| {
                let cells = self
                    .covered()
                    .filter_map(|(id, covered)| {
                        let technique = attack.technique(id)?;
                        technique.tactics.contains(&tactic.shortname).then_some(Cell {
                            id: &technique.id,
                            name: &technique.name,
                            covered,
                        })
                    })
                    .collect();
                (tactic, cells)
            })
            .collect()
    }

    /// An ATT&CK Navigator layer (format 4.5): score = the coverage score, comment = the
    /// rules. ATT&CK data version as Harrier carries it.
    pub fn navigator_layer(&self, name: &str, description: &str) -> serde_json::Value {
        let max = self.covered().map(|(_, covered)| covered.score).max().unwrap_or(1);
        let techniques: Vec<serde_json::Value> = self
            .covered()
            .map(|(id, covered)| {
                serde_json::json!({
                    "techniqueID": id,
                    "score": covered.score,
                    "comment": covered.rules.join("; "),
                    "enabled": true,
                    "showSubtechniques": false,
                })
            })
            .collect();
        serde_json::json!({
            "name": name,
            "versions": {"attack": crate::ATTACK_VERSION, "navigator": "5.1.0", "layer": "4.5"},
            "domain": "enterprise-attack",
            "description": description,
            "filters": {"platforms": ["Windows"]},
            "sorting": 3,
            "layout": {"layout": "side", "aggregateFunction": "average", "showID": false, "showName": true, "showAggregateScores": false, "countUnscored": false},
            "hideDisabled": false,
            "techniques": techniques,
            "gradient": {"colors": ["#fff7e6ff", "#fdb462ff", "#d7301fff"], "minValue": 0, "maxValue": max},
            "legendItems": [],
            "metadata": [],
            "links": [],
            "showTacticRowBackground": false,
            "tacticRowBackground": "#dddddd",
            "selectTechniquesAcrossTactics": true,
            "selectSubtechniquesWithParent": false,
            "selectVisibleTechniques": false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn techniques_fall_under_their_tactics() {
        let mut coverage = Coverage::default();
        coverage.add("mail rule", &["T1071.003".to_owned(), "t1071".to_owned()], 1);
        coverage.add("other", &["T1071.003".to_owned()], 2);
        let attack = Attack::get();
        let matrix = coverage.matrix(attack);
        let (_, cells) = matrix.iter().find(|(tactic, _)| tactic.shortname == "command-and-control").unwrap();
        let mail = cells.iter().find(|cell| cell.id == "T1071.003").unwrap();
        assert_eq!((mail.name, mail.covered.score), ("Mail Protocols", 3));
        assert_eq!(mail.covered.rules, ["mail rule", "other"]);
        let layer = coverage.navigator_layer("x", "y");
        assert_eq!(layer["techniques"].as_array().unwrap().len(), 2);
        assert_eq!(layer["gradient"]["maxValue"], 3);
    }
}
