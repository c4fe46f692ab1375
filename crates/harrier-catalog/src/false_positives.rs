//! Known false positives across rules: normalized so that the same text written with
//! another case, spacing or final dot is one entry, and grouped with the rules naming it.

use crate::CatalogRule;
use serde::Serialize;
use std::collections::{BTreeSet, HashMap};

/// One known false positive and who names it.
#[derive(Debug, Serialize)]
pub struct FalsePositive {
    /// The normalized text (the grouping key, for links).
    pub key: String,
    /// The text as most rules write it.
    pub text: String,
    /// Rules (by index) naming it.
    pub rules: Vec<usize>,
    /// The techniques of those rules.
    pub techniques: Vec<String>,
}

/// The grouping key of a false positive: lower case, runs of white space as one space, no
/// surrounding spaces, quotes or final dots. Empty for "unknown", "none" and the like: they
/// say nothing is known.
pub fn normalize(text: &str) -> String {
    let spaced = text.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase();
    let key = spaced.trim_matches(|c: char| c == '.' || c == '"' || c == '\'' || c == ' ').to_owned();
    const NOTHING_KNOWN: [&str; 8] = ["unknown", "none", "n/a", "na", "-", "none known", "unlikely", "no known"];
    if NOTHING_KNOWN.contains(&key.as_str()) { String::new() } else { key }
}

/// The false positives of the rules, most shared first, and the rules that know none.
pub(crate) fn group(rules: &[(usize, &CatalogRule)]) -> (Vec<FalsePositive>, Vec<usize>) {
    struct Group<'a> {
        spellings: HashMap<&'a str, usize>,
        rules: BTreeSet<usize>,
        techniques: BTreeSet<String>,
    }
    let mut groups: HashMap<String, Group> = HashMap::new();
    let mut unknown = Vec::new();
    for (index, rule) in rules {
        let mut named_any = false;
        for text in &rule.false_positives {
            let key = normalize(text);
            if key.is_empty() {
                continue;
            }
            named_any = true;
            let group = groups.entry(key).or_insert_with(|| Group {
                spellings: HashMap::new(),
                rules: BTreeSet::new(),
                techniques: BTreeSet::new(),
            });
            *group.spellings.entry(text.trim()).or_default() += 1;
            group.rules.insert(*index);
            group.techniques.extend(rule.techniques.iter().map(|id| id.to_ascii_uppercase()));
        }
        if !named_any {
            unknown.push(*index);
        }
    }
    let mut entries: Vec<FalsePositive> = groups
        .into_iter()
        .map(|(key, group)| {
            let most = group.spellings.iter().max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)));
            FalsePositive {
                text: most.map_or_else(|| key.clone(), |(text, _)| text.to_string()),
                key,
                rules: group.rules.into_iter().collect(),
                techniques: group.techniques.into_iter().collect(),
            }
        })
        .collect();
    entries.sort_by(|a, b| b.rules.len().cmp(&a.rules.len()).then_with(|| a.key.cmp(&b.key)));
    (entries, unknown)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_of_one_false_positive_are_one_key() {
        assert_eq!(normalize("Legitimate  administrative activity."), "legitimate administrative activity");
        assert_eq!(normalize(" legitimate administrative Activity "), "legitimate administrative activity");
        assert_eq!(normalize("Unknown"), "");
        assert_eq!(normalize("None."), "");
        assert_eq!(normalize(""), "");
    }
}
