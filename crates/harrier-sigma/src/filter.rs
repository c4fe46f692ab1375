//! Meta filters: a `filter` document adds its condition to the rules it names, as pySigma
//! does: each named rule's condition C becomes `(C) and (filter condition)`, so a filter that
//! suppresses matches says `not selection`.

use crate::detection;
use crate::modifiers::ItemContext;
use harrier_ir::{Expr, LogSource, RuleMeta};
use yaml_serde::{Mapping, Value as Yaml};

#[derive(Debug, Clone)]
pub(crate) struct Filter {
    /// The filter's logsource: a rule must have the same value for each key it sets.
    pub logsource: LogSource,
    /// Rule ids or names; empty (or `any`) means every rule of the logsource.
    pub rules: Vec<String>,
    pub condition: Expr,
}

pub(crate) fn parse(document: &Mapping, logsource: LogSource, context: &mut ItemContext<'_>) -> Result<Filter, String> {
    let Some(Yaml::Mapping(body)) = document.get("filter") else { return Err("`filter` must be a map".into()) };
    let rules = match body.get("rules") {
        Some(Yaml::Sequence(items)) => items.iter().filter_map(|item| item.as_str().map(str::to_owned)).collect(),
        Some(Yaml::String(any)) if any.eq_ignore_ascii_case("any") => Vec::new(),
        Some(Yaml::String(single)) => vec![single.clone()],
        None | Some(Yaml::Null) => Vec::new(),
        Some(_) => return Err("`filter.rules` must be a list of rule ids or names".into()),
    };
    let mut detection_part = body.clone();
    detection_part.remove("rules");
    let condition =
        detection::compile(&Yaml::Mapping(detection_part), context).map_err(|error| format!("filter: {error}"))?;
    Ok(Filter { logsource, rules, condition })
}

impl Filter {
    pub(crate) fn applies_to(&self, rule: &RuleMeta) -> bool {
        let named = self.rules.is_empty()
            || self
                .rules
                .iter()
                .any(|wanted| rule.id.as_deref() == Some(wanted) || rule.name.as_deref() == Some(wanted));
        let same = |filter: &Option<String>, rule: &Option<String>| {
            filter.as_ref().is_none_or(|value| rule.as_ref().is_some_and(|other| other.eq_ignore_ascii_case(value)))
        };
        named
            && same(&self.logsource.product, &rule.logsource.product)
            && same(&self.logsource.category, &rule.logsource.category)
            && same(&self.logsource.service, &rule.logsource.service)
    }
}
