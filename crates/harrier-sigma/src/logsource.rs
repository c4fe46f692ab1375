//! Logsource routing: a rule's product/category/service become the Channel and EventID
//! conditions that select its events, from a mapping that is data
//! (`data/windows-logsources.yml`) and that a user can extend with a file of the same form.

use crate::unknown::Uncarried;
use harrier_ir::{Expr, LogSource, Pattern, Predicate, Test};
use serde::Deserialize;
use std::collections::BTreeMap;

const BUILTIN: &str = include_str!("../data/windows-logsources.yml");

/// The mapping from logsources to the logs that hold them.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogsourceMap {
    /// The product these logs are (`windows`); rules for other products do not run on them.
    pub product: String,
    #[serde(default)]
    pub categories: BTreeMap<String, Vec<Source>>,
    /// Service name to the channels it is written to.
    #[serde(default)]
    pub services: BTreeMap<String, Vec<String>>,
}

/// One source of a category's events.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    pub channel: Option<String>,
    #[serde(default)]
    pub event_ids: Vec<i64>,
    /// Sigma field name to this source's field name.
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
    /// The fields (after mapping) events of this source cannot carry, at all or before some
    /// version: tests on them are unknown (see [`crate::unknown`]).
    #[serde(default)]
    pub uncarried: Uncarried,
}

/// What routing made of a rule.
#[derive(Debug, Clone, PartialEq)]
pub enum Routed {
    /// The rule's condition, restricted to its logsource's events; and, when a source cannot
    /// carry a field it tests, the condition as plain Sigma reads it on such sources (see
    /// [`harrier_ir::Rule::plain`]).
    Active { condition: Expr, plain: Option<Expr> },
    /// The rule cannot match these logs; why.
    Inactive(String),
}

impl LogsourceMap {
    pub fn builtin() -> LogsourceMap {
        yaml_serde::from_str(BUILTIN).expect("the built-in logsource map is valid")
    }

    /// Reads a user's mapping file.
    pub fn from_yaml(text: &str) -> Result<LogsourceMap, String> {
        yaml_serde::from_str(text).map_err(|error| error.to_string())
    }

    /// Adds `other`'s categories and services, replacing those of the same name.
    pub fn extend(&mut self, other: LogsourceMap) {
        self.categories.extend(other.categories);
        self.services.extend(other.services);
    }

    /// Restricts a rule's detection to its logsource's events. With `unknown`, a test on a
    /// field a source cannot carry is unknown rather than false.
    pub fn route(&self, logsource: &LogSource, detection: Expr, unknown: bool) -> Routed {
        if let Some(product) = &logsource.product
            && !product.eq_ignore_ascii_case(&self.product)
        {
            return Routed::Inactive(format!("product `{product}` is not in {} logs", self.product));
        }
        let service_channels = match &logsource.service {
            Some(service) => match self.services.get(&service.to_ascii_lowercase()) {
                Some(channels) => Some(channels),
                None => {
                    return Routed::Inactive(format!("service `{service}` has no channel mapping"));
                }
            },
            None => None,
        };
        let mut plain = Vec::new();
        let by_category = match &logsource.category {
            Some(category) => match self.categories.get(&category.to_ascii_lowercase()) {
                Some(sources) => {
                    let mut branches = Vec::new();
                    for source in sources {
                        let (branch, branch_plain) = source.restrict(&detection, unknown);
                        branches.push(branch);
                        plain.extend(branch_plain);
                    }
                    Expr::or(branches)
                }
                None => {
                    return Routed::Inactive(format!("category `{category}` has no mapping to {} logs", self.product));
                }
            },
            None if logsource.product.is_none() && service_channels.is_none() && logsource != &LogSource::default() => {
                return Routed::Inactive("the logsource names no product, category or service of these logs".into());
            }
            None => detection,
        };
        let by_service = service_channels
            .map(|channels| Expr::or(channels.iter().map(|channel| equals("Channel", channel)).collect()));
        let within = |expr: Expr| Expr::and(by_service.clone().into_iter().chain([expr]).collect());
        let plain = (!plain.is_empty()).then(|| within(Expr::or(plain)));
        Routed::Active { condition: within(by_category), plain }
    }
}

impl Source {
    /// The detection on this source's events (fields renamed to its own); when it tests a
    /// field the source may not carry, the detection where it is certainly true, and as plain
    /// Sigma reads it.
    fn restrict(&self, detection: &Expr, unknown: bool) -> (Expr, Option<Expr>) {
        let channel = self.channel.as_deref().map(|channel| equals("Channel", channel));
        let event_ids = (!self.event_ids.is_empty())
            .then(|| Expr::or(self.event_ids.iter().map(|id| equals("EventID", &id.to_string())).collect()));
        let detection = if self.fields.is_empty() {
            detection.clone()
        } else {
            detection.map_fields(&|field| self.fields.get(field).cloned().unwrap_or_else(|| field.to_owned()))
        };
        let guarded =
            |expr: Expr| Expr::and(channel.clone().into_iter().chain(event_ids.clone()).chain([expr]).collect());
        if !unknown || !self.uncarried.touches(&detection) {
            return (guarded(detection), None);
        }
        (guarded(self.uncarried.certainly(&detection, true)), Some(guarded(detection)))
    }
}

fn equals(field: &str, value: &str) -> Expr {
    Expr::Pred(Predicate {
        field: Some(field.to_owned()),
        test: Test::Matches { pattern: Pattern::literal(value), cased: false },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn logsource(product: Option<&str>, category: Option<&str>, service: Option<&str>) -> LogSource {
        LogSource {
            product: product.map(Into::into),
            category: category.map(Into::into),
            service: service.map(Into::into),
        }
    }

    fn detection() -> Expr {
        equals("Image", "C:\\x.exe")
    }

    #[test]
    fn process_creation_reads_sysmon_1_and_security_4688_with_renamed_fields() {
        let Routed::Active { condition: expr, .. } = LogsourceMap::builtin().route(
            &logsource(Some("windows"), Some("process_creation"), None),
            detection(),
            true,
        ) else {
            panic!("routed")
        };
        let Expr::Or(branches) = expr else { panic!("two sources") };
        assert_eq!(branches.len(), 2);
        let fields: Vec<String> = branches[1].predicates().iter().filter_map(|p| p.field.clone()).collect();
        assert_eq!(fields, ["Channel", "EventID", "NewProcessName"]);
    }

    #[test]
    fn services_become_channels_and_other_products_are_inactive() {
        let map = LogsourceMap::builtin();
        let Routed::Active { condition: expr, .. } =
            map.route(&logsource(Some("windows"), None, Some("security")), detection(), true)
        else {
            panic!()
        };
        assert_eq!(expr.predicates()[0].field.as_deref(), Some("Channel"));
        assert!(matches!(
            map.route(&logsource(Some("linux"), Some("process_creation"), None), detection(), true),
            Routed::Inactive(_)
        ));
        assert!(matches!(map.route(&logsource(None, Some("proxy"), None), detection(), true), Routed::Inactive(_)));
        assert!(matches!(
            map.route(&logsource(Some("windows"), None, Some("nonexistent")), detection(), true),
            Routed::Inactive(_)
        ));
        assert_eq!(
            map.route(&LogSource::default(), detection(), true),
            Routed::Active { condition: detection(), plain: None }
        );
    }

    #[test]
    fn a_user_file_extends_the_map() {
        let mut map = LogsourceMap::builtin();
        map.extend(LogsourceMap::from_yaml("product: windows\nservices:\n  custom: [My/Channel]\n").unwrap());
        let custom = map.route(&logsource(Some("windows"), None, Some("custom")), detection(), true);
        assert!(matches!(custom, Routed::Active { .. }));
        assert!(LogsourceMap::from_yaml("product: windows\nbogus: 1\n").is_err());
    }
}
