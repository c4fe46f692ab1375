//! Field-mapping profiles: how the fields and logsources of Harrier's rules are named where
//! the logs live (native Sysmon names, ECS/Winlogbeat, HELK/OSSEM, Splunk CIM), as data files
//! a user can copy and extend.

use harrier_ir::LogSource;
use serde::Deserialize;
use std::collections::HashMap;
use std::path::Path;

/// One mapping profile (`data/mappings/*.yml` or a user's file of the same form).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Rule field name to the target's field name.
    #[serde(default)]
    pub fields: HashMap<String, String>,
    /// Mappings that hold only for some logsources, tried before `fields`.
    #[serde(default)]
    pub logsource_fields: Vec<LogsourceFields>,
    /// Prefix for fields no mapping names (ECS: `winlog.event_data.`); names with a dot are
    /// taken as already mapped.
    #[serde(default)]
    pub unmapped_prefix: Option<String>,
    /// Whether the target compares the values of ordinary fields ignoring case. Elasticsearch
    /// `keyword` fields do not, so conversions emit a case-insensitive form for them.
    #[serde(default)]
    pub case_insensitive_fields: bool,
    /// Fields whose name ends so ignore case (ECS's lowercase-normalized `.caseless`).
    #[serde(default)]
    pub caseless_suffix: Option<String>,
    /// Fields whose values Windows writes in one spelling (channel, provider): compared as
    /// written, without a case-insensitive form.
    #[serde(default)]
    pub canonical_fields: Vec<String>,
    /// Suffix for the field of wildcard and regex queries (HELK's `.keyword`).
    #[serde(default)]
    pub wildcard_suffix: Option<String>,
    /// Channel to index pattern: a rule on one such channel queries that index instead of
    /// testing the channel (HELK's index patterns).
    #[serde(default)]
    pub indexes: HashMap<String, String>,
    /// Rule field to the form its literal values take in the target (`{}` is the value):
    /// Splunk's `source` is `WinEventLog:<channel>`.
    #[serde(default)]
    pub value_formats: HashMap<String, String>,
    /// Rule field to a table of values the target writes differently (ECS's
    /// `network.direction` is `egress` where Sysmon's `Initiated` is `true`).
    #[serde(default)]
    pub value_maps: HashMap<String, HashMap<String, String>>,
    /// Quote plain values in Lucene (`event_id:"3"`, as legacy HELK queries do).
    #[serde(default)]
    pub quote_values: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogsourceFields {
    pub category: Option<String>,
    pub service: Option<String>,
    pub fields: HashMap<String, String>,
}

const BUILTIN: [(&str, &str); 5] = [
    ("sysmon", include_str!("../data/mappings/sysmon.yml")),
    ("ecs", include_str!("../data/mappings/ecs.yml")),
    ("helk", include_str!("../data/mappings/helk.yml")),
    ("cim", include_str!("../data/mappings/cim.yml")),
    ("splunk-windows", include_str!("../data/mappings/splunk-windows.yml")),
];

impl Profile {
    /// A literal value of a rule field as the target writes it.
    pub fn value(&self, field: &str, value: &str) -> Option<String> {
        let find = |table: &'_ HashMap<String, String>, key: &str| {
            table.iter().find(|(name, _)| name.eq_ignore_ascii_case(key)).map(|(_, to)| to.clone())
        };
        let mapped = self
            .value_maps
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(field))
            .and_then(|(_, table)| find(table, value));
        let format = self.value_formats.iter().find(|(name, _)| name.eq_ignore_ascii_case(field));
        match (mapped, format) {
            (Some(mapped), _) => Some(mapped),
            (None, Some((_, format))) => Some(format.replace("{}", value)),
            (None, None) => None,
        }
    }

    /// A built-in profile by name, or a profile file by path.
    pub fn load(name_or_path: &str) -> Result<Profile, String> {
        if let Some((_, text)) = BUILTIN.iter().find(|(name, _)| name.eq_ignore_ascii_case(name_or_path)) {
            return Ok(yaml_serde::from_str(text).expect("built-in profiles are valid"));
        }
        let path = Path::new(name_or_path);
        if !path.exists() {
            let names: Vec<&str> = BUILTIN.iter().map(|(name, _)| *name).collect();
            return Err(format!("no mapping profile `{name_or_path}` (built in: {}; or a file)", names.join(", ")));
        }
        let text = std::fs::read_to_string(path).map_err(|error| format!("{}: {error}", path.display()))?;
        yaml_serde::from_str(&text).map_err(|error| format!("{}: {error}", path.display()))
    }

    pub fn builtin_names() -> impl Iterator<Item = &'static str> {
        BUILTIN.iter().map(|(name, _)| *name)
    }

    /// The target's name for a rule's field, under the rule's logsource.
    pub fn field(&self, logsource: &LogSource, field: &str) -> String {
        let matches = |wanted: &Option<String>, actual: &Option<String>| {
            wanted
                .as_ref()
                .is_none_or(|wanted| actual.as_ref().is_some_and(|actual| actual.eq_ignore_ascii_case(wanted)))
        };
        let specific = self
            .logsource_fields
            .iter()
            .filter(|entry| {
                matches(&entry.category, &logsource.category) && matches(&entry.service, &logsource.service)
            })
            .find_map(|entry| lookup(&entry.fields, field));
        if let Some(mapped) = specific.or_else(|| lookup(&self.fields, field)) {
            return mapped.clone();
        }
        match &self.unmapped_prefix {
            Some(prefix) if !field.contains('.') => format!("{prefix}{field}"),
            _ => field.to_owned(),
        }
    }

    /// Whether the target compares this (mapped) field's values ignoring case.
    pub fn ignores_case(&self, field: &str) -> bool {
        self.case_insensitive_fields
            || self.caseless_suffix.as_ref().is_some_and(|suffix| field.ends_with(suffix.as_str()))
    }

    /// Whether values of this (mapped) field are compared as written.
    pub fn is_canonical(&self, field: &str) -> bool {
        self.canonical_fields.iter().any(|canonical| canonical.eq_ignore_ascii_case(field))
    }
}

fn lookup<'a>(fields: &'a HashMap<String, String>, field: &str) -> Option<&'a String> {
    fields.get(field).or_else(|| fields.iter().find(|(name, _)| name.eq_ignore_ascii_case(field)).map(|(_, to)| to))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_profile_parses() {
        for name in Profile::builtin_names() {
            let profile = Profile::load(name).unwrap();
            assert_eq!(profile.name, name);
        }
    }

    #[test]
    fn ecs_maps_by_logsource_then_by_name_then_prefixes() {
        let ecs = Profile::load("ecs").unwrap();
        let process_creation =
            LogSource { product: Some("windows".into()), category: Some("process_creation".into()), service: None };
        assert_eq!(ecs.field(&process_creation, "CommandLine"), "process.command_line");
        assert_eq!(ecs.field(&process_creation, "Image"), "process.executable.caseless");
        assert_eq!(ecs.field(&process_creation, "IntegrityLevel"), "winlog.event_data.IntegrityLevel");
        assert!(ecs.ignores_case("process.executable.caseless") && !ecs.ignores_case("process.command_line"));
    }
}
