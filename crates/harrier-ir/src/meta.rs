use std::fmt;
use std::str::FromStr;

/// How serious a hit is, in Sigma's order.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Level {
    Informational,
    Low,
    #[default]
    Medium,
    High,
    Critical,
}

impl Level {
    pub fn name(self) -> &'static str {
        match self {
            Level::Informational => "informational",
            Level::Low => "low",
            Level::Medium => "medium",
            Level::High => "high",
            Level::Critical => "critical",
        }
    }
}

impl FromStr for Level {
    type Err = String;
    fn from_str(text: &str) -> Result<Level, String> {
        Ok(match text.to_ascii_lowercase().as_str() {
            "informational" | "info" => Level::Informational,
            "low" => Level::Low,
            "medium" => Level::Medium,
            "high" => Level::High,
            "critical" => Level::Critical,
            other => return Err(format!("unknown level `{other}`")),
        })
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    Stable,
    Test,
    Experimental,
    Deprecated,
    Unsupported,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::Stable => "stable",
            Status::Test => "test",
            Status::Experimental => "experimental",
            Status::Deprecated => "deprecated",
            Status::Unsupported => "unsupported",
        }
    }
}

impl FromStr for Status {
    type Err = String;
    fn from_str(text: &str) -> Result<Status, String> {
        Ok(match text.to_ascii_lowercase().as_str() {
            "stable" => Status::Stable,
            "test" => Status::Test,
            "experimental" => Status::Experimental,
            "deprecated" => Status::Deprecated,
            "unsupported" => Status::Unsupported,
            other => return Err(format!("unknown status `{other}`")),
        })
    }
}

/// What logs a rule is about, as Sigma's `logsource` says it.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq, Eq, Default, Hash)]
pub struct LogSource {
    pub product: Option<String>,
    pub category: Option<String>,
    pub service: Option<String>,
}

impl fmt::Display for LogSource {
    /// The parts given, `product/category/service` (`windows/process_creation`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts = [&self.product, &self.category, &self.service];
        let given: Vec<&str> = parts.iter().filter_map(|part| part.as_deref()).collect();
        f.write_str(&given.join("/"))
    }
}

/// Where a rule was read from.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq, Eq, Default)]
pub struct SourcePlace {
    pub file: String,
    /// 1-based line where the rule's document starts.
    pub line: usize,
}

impl fmt::Display for SourcePlace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// A rule's metadata: what it is, how serious, what it maps to, what it gets wrong.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq, Default)]
pub struct RuleMeta {
    pub id: Option<String>,
    pub name: Option<String>,
    pub title: String,
    pub description: Option<String>,
    pub status: Option<Status>,
    pub level: Level,
    pub author: Option<String>,
    pub references: Vec<String>,
    pub tags: Vec<String>,
    /// ATT&CK technique ids from the tags, upper case (`T1059.001`).
    pub techniques: Vec<String>,
    /// ATT&CK tactic names from the tags (`execution`, `defense-evasion`).
    pub tactics: Vec<String>,
    pub false_positives: Vec<String>,
    pub logsource: LogSource,
    pub source: SourcePlace,
    /// Metadata of the rule's own language worth showing with each hit (ESCU: `type`,
    /// `analytic_story`, `confidence`, `impact`, `risk_score`), in the rule's order.
    pub annotations: Vec<(String, Annotation)>,
}

impl RuleMeta {
    /// A text annotation by name (ESCU's `type`: `TTP`, `Anomaly`, `Hunting`).
    pub fn annotation_text(&self, key: &str) -> Option<&str> {
        self.annotations.iter().find(|(name, _)| name == key).and_then(|(_, value)| match value {
            Annotation::Text(text) => Some(text.as_str()),
            _ => None,
        })
    }
}

/// One language-specific metadata value.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq)]
pub enum Annotation {
    Text(String),
    Number(f64),
    List(Vec<String>),
}

/// The ATT&CK tactics by their tag names (ATT&CK v18, plus v19's new names).
const TACTICS: [&str; 17] = [
    "reconnaissance",
    "resource-development",
    "initial-access",
    "execution",
    "persistence",
    "privilege-escalation",
    "defense-evasion",
    "credential-access",
    "discovery",
    "lateral-movement",
    "collection",
    "command-and-control",
    "exfiltration",
    "impact",
    "stealth",
    "defense-impairment",
    "inhibit-response-function",
];

/// ATT&CK technique ids (`attack.t1059.001` → `T1059.001`) and tactic names
/// (`attack.execution` → `execution`) from a rule's tags, in tag order, without repeats.
pub fn attack_ids(tags: &[String]) -> (Vec<String>, Vec<String>) {
    let mut techniques = Vec::new();
    let mut tactics = Vec::new();
    for tag in tags {
        let Some(name) = tag.to_ascii_lowercase().strip_prefix("attack.").map(str::to_owned) else {
            continue;
        };
        let is_technique = name.starts_with('t') && name[1..].chars().next().is_some_and(|c| c.is_ascii_digit());
        if is_technique {
            push_new(&mut techniques, name.to_ascii_uppercase());
        } else if TACTICS.contains(&name.replace('_', "-").as_str()) {
            push_new(&mut tactics, name.replace('_', "-"));
        }
    }
    (techniques, tactics)
}

fn push_new(list: &mut Vec<String>, item: String) {
    if !list.contains(&item) {
        list.push(item);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attack_tags_give_techniques_and_tactics() {
        let tags: Vec<String> = [
            "attack.execution",
            "attack.t1059.001",
            "attack.T1059.001",
            "attack.g0007",
            "cve.2021-44228",
            "attack.defense_evasion",
        ]
        .iter()
        .map(|tag| tag.to_string())
        .collect();
        let (techniques, tactics) = attack_ids(&tags);
        assert_eq!(techniques, ["T1059.001"]);
        assert_eq!(tactics, ["execution", "defense-evasion"]);
    }

    #[test]
    fn levels_order_by_severity() {
        assert!(Level::Critical > Level::High && Level::Low > Level::Informational);
        assert_eq!("HIGH".parse::<Level>(), Ok(Level::High));
    }
}
