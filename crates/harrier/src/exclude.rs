//! Exclusions: known-benign hits taken out, by rule id alone or by rule id and field
//! conditions in Sigma detection syntax (one format for Sigma and ESCU rules alike).
//!
//! ```yaml
//! exclusions:
//!   - name: backup agent mails reports
//!     rule: ac3311f5-661d-4e99-bd1f-3ec665b05441
//!     detection:
//!       agent:
//!         Image|endswith: '\backup-agent.exe'
//!       condition: agent
//!   - name: rule too noisy here
//!     rule: 7b434893-c57d-4f41-908d-6a17bf1ae98f
//! ```

use harrier_engine::Engine;
use harrier_event::Event;
use std::collections::HashMap;
use std::path::Path;

pub(crate) struct Exclusions {
    pub names: Vec<String>,
    /// Exclusions by rule id: (exclusion, its condition's number in the engine, if any).
    by_rule: HashMap<String, Vec<(usize, Option<usize>)>>,
    engine: Engine,
}

impl Exclusions {
    pub fn none() -> Exclusions {
        Exclusions {
            names: Vec::new(),
            by_rule: HashMap::new(),
            engine: Engine::new(std::iter::empty::<&harrier_ir::Expr>()).0,
        }
    }

    pub fn load(path: &Path) -> Result<Exclusions, String> {
        let place = |message: String| format!("{}: {message}", path.display());
        let text = std::fs::read_to_string(path).map_err(|error| place(error.to_string()))?;
        let document: yaml_serde::Value = yaml_serde::from_str(&text).map_err(|error| place(error.to_string()))?;
        let items = document
            .get("exclusions")
            .and_then(yaml_serde::Value::as_sequence)
            .ok_or_else(|| place("expected a list under `exclusions`".into()))?;
        let mut names = Vec::new();
        let mut by_rule: HashMap<String, Vec<(usize, Option<usize>)>> = HashMap::new();
        let mut conditions = Vec::new();
        for (index, item) in items.iter().enumerate() {
            let name = item
                .get("name")
                .and_then(|name| name.as_str())
                .map_or(format!("exclusion {}", index + 1), str::to_owned);
            let rule = item
                .get("rule")
                .and_then(|rule| rule.as_str())
                .ok_or_else(|| place(format!("`{name}` needs the `rule` id it applies to")))?;
            let condition = match item.get("detection") {
                None => None,
                Some(detection) => {
                    conditions.push(condition_of(detection).map_err(|why| place(format!("`{name}`: {why}")))?);
                    Some(conditions.len() - 1)
                }
            };
            by_rule.entry(rule.to_owned()).or_default().push((names.len(), condition));
            names.push(name);
        }
        let (engine, errors) = Engine::new(&conditions);
        if let Some((index, error)) = errors.first() {
            return Err(place(format!("exclusion condition {}: {error}", index + 1)));
        }
        Ok(Exclusions { names, by_rule, engine })
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The exclusion that takes out a hit of rule `rule_id` on `event`, if one does.
    pub fn excluding(&self, rule_id: Option<&str>, event: &Event) -> Option<usize> {
        let candidates = self.by_rule.get(rule_id?)?;
        let mut matched = None;
        for &(exclusion, condition) in candidates {
            match condition {
                None => return Some(exclusion),
                Some(condition) => {
                    let matched = matched.get_or_insert_with(|| {
                        let mut hits = Vec::new();
                        self.engine.matches(event, &mut hits);
                        hits
                    });
                    if matched.contains(&condition) {
                        return Some(exclusion);
                    }
                }
            }
        }
        None
    }
}

/// A Sigma `detection` block compiled as Sigma compiles rules.
pub(crate) fn condition_of(detection: &yaml_serde::Value) -> Result<harrier_ir::Expr, String> {
    let mut document = yaml_serde::Mapping::new();
    document.insert("title".into(), "exclusion".into());
    document.insert("logsource".into(), yaml_serde::Value::Mapping(yaml_serde::Mapping::new()));
    document.insert("detection".into(), detection.clone());
    let text = yaml_serde::to_string(&document).map_err(|error| error.to_string())?;
    let entries = harrier_sigma::load_text(&text, "exclusion", &harrier_sigma::LoadOptions::default());
    let entry = entries.first().ok_or("no detection")?;
    match &entry.outcome {
        harrier_sigma::Outcome::Active(rule) => Ok(rule.condition.clone()),
        harrier_sigma::Outcome::Failed(why) => Err(why.clone()),
        _ => Err("not a detection".into()),
    }
}
