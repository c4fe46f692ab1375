//! The HTML report of a hunt: one self-contained page (styles, script and data inline; a
//! content security policy forbids any network request) with totals by level, the ATT&CK
//! matrix as a heat map of hits, a timeline of hits by level, the top rules, hosts, users and
//! processes, and a sortable, filterable table of every hit with its event, techniques and
//! false-positive notes.
//!
//! Built for large hunts: values repeat across hits (hosts, images, command lines), so the
//! data is embedded with a string table, and the page renders only the table rows in view,
//! which keeps 100,000 hits usable.

pub mod actors;

use harrier_ir::RuleMeta;
use serde::Serialize;
use std::collections::HashMap;
use std::io::Write;

/// What produced a hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HitKind {
    /// A detection rule matched one event.
    Event,
    /// A correlation rule's condition held for a group.
    Correlation,
    /// An SPL detection produced a result row.
    Row,
}

/// A rule as the report shows it.
#[derive(Debug, Clone, Serialize)]
pub struct RuleInfo {
    pub title: String,
    pub id: Option<String>,
    pub level: &'static str,
    pub kind: HitKind,
    pub techniques: Vec<Technique>,
    pub tactics: Vec<String>,
    pub false_positives: Vec<String>,
    pub description: Option<String>,
    pub file: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Technique {
    pub id: String,
    /// ATT&CK's name; `None` for an id ATT&CK does not know.
    pub name: Option<&'static str>,
}

impl RuleInfo {
    pub fn of(meta: &RuleMeta, kind: HitKind) -> RuleInfo {
        let attack = harrier_attack::Attack::get();
        RuleInfo {
            title: meta.title.clone(),
            id: meta.id.clone(),
            level: meta.level.name(),
            kind,
            techniques: meta
                .techniques
                .iter()
                .map(|id| Technique {
                    id: id.clone(),
                    name: attack.technique(id).map(|technique| technique.name.as_str()),
                })
                .collect(),
            tactics: meta.tactics.clone(),
            false_positives: meta.false_positives.clone(),
            description: meta.description.clone(),
            file: meta.source.to_string(),
        }
    }
}

/// One hit as it goes into the report.
#[derive(Debug, Clone)]
pub struct Hit {
    /// Index into the rules given to [`Report::new`].
    pub rule: usize,
    /// Milliseconds since the Unix epoch, UTC.
    pub time_ms: Option<i64>,
    pub source: String,
    /// EVTX EventRecordID or JSON line; none for aggregate results.
    pub record: Option<u64>,
    /// The event's fields (or the result's), in order.
    pub fields: Vec<(String, String)>,
}

/// Facts of the run shown in the report's header.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunFacts {
    /// When the hunt ran, as the page shows it.
    pub generated: String,
    pub files: u64,
    pub events: u64,
    pub rules: usize,
    /// What was skipped while reading (corrupt records, unreadable files), as the summary says.
    pub skipped: Option<String>,
}

/// Longest value kept per field: the report is for reading, the JSONL output keeps all.
const MAX_VALUE_CHARS: usize = 4096;

/// A hit with its strings in the string table; -1 where a value is absent.
#[derive(Serialize)]
struct StoredHit(u32, Option<i64>, i64, i64, i64, u32, Option<u64>, Vec<u32>);

/// Hits gathered for the report, strings interned as they come.
pub struct Report {
    rules: Vec<RuleInfo>,
    strings: Vec<String>,
    index: HashMap<String, u32>,
    hits: Vec<StoredHit>,
}

impl Report {
    pub fn new(rules: Vec<RuleInfo>) -> Report {
        Report { rules, strings: Vec::new(), index: HashMap::new(), hits: Vec::new() }
    }

    /// Adds a rule after the ones given to [`Report::new`]; gives its index for [`Hit::rule`].
    pub fn add_rule(&mut self, rule: RuleInfo) -> usize {
        self.rules.push(rule);
        self.rules.len() - 1
    }

    pub fn len(&self) -> usize {
        self.hits.len()
    }

    pub fn is_empty(&self) -> bool {
        self.hits.is_empty()
    }

    pub fn add(&mut self, hit: Hit) {
        let get = |name: &str| {
            hit.fields.iter().find(|(field, _)| field.eq_ignore_ascii_case(name)).map(|(_, value)| value.clone())
        };
        let mut actor = |names| match actors::first_of(names, get) {
            Some((_, value)) => i64::from(self.intern(&value)),
            None => -1,
        };
        let (host, user, process) =
            (actor(actors::HOST_FIELDS), actor(actors::USER_FIELDS), actor(actors::PROCESS_FIELDS));
        let mut fields = Vec::with_capacity(hit.fields.len() * 2);
        for (name, value) in &hit.fields {
            fields.push(self.intern(name));
            fields.push(self.intern(shortened(value)));
        }
        let source = self.intern(&hit.source);
        let rule = u32::try_from(hit.rule).expect("fewer than 4 billion rules");
        self.hits.push(StoredHit(rule, hit.time_ms, host, user, process, source, hit.record, fields));
    }

    fn intern(&mut self, text: &str) -> u32 {
        if let Some(&index) = self.index.get(text) {
            return index;
        }
        let index = u32::try_from(self.strings.len()).expect("fewer than 4 billion distinct values");
        self.strings.push(text.to_owned());
        self.index.insert(text.to_owned(), index);
        index
    }

    /// Hits per technique, by tactic in matrix order (techniques without hits left out).
    fn matrix(&self) -> Vec<MatrixTactic> {
        let mut per_rule = vec![0u64; self.rules.len()];
        for hit in &self.hits {
            per_rule[hit.0 as usize] += 1;
        }
        let mut coverage = harrier_attack::Coverage::default();
        for (rule, hits) in self.rules.iter().zip(per_rule) {
            let ids: Vec<String> = rule.techniques.iter().map(|technique| technique.id.clone()).collect();
            coverage.add(&rule.title, &ids, hits);
        }
        let attack = harrier_attack::Attack::get();
        coverage
            .matrix(attack)
            .into_iter()
            .map(|(tactic, cells)| MatrixTactic {
                id: tactic.id.clone(),
                name: tactic.name.clone(),
                shortname: tactic.shortname.clone(),
                techniques: cells
                    .into_iter()
                    .map(|cell| MatrixCell {
                        id: cell.id.to_owned(),
                        name: cell.name.to_owned(),
                        hits: cell.covered.score,
                    })
                    .collect(),
            })
            .collect()
    }

    /// Writes the page. `title` names the hunt (e.g. the paths hunted).
    pub fn write_html(&self, title: &str, facts: &RunFacts, out: &mut dyn Write) -> std::io::Result<()> {
        let data = ReportData {
            title,
            attack_version: harrier_attack::ATTACK_VERSION,
            facts,
            rules: &self.rules,
            strings: &self.strings,
            hits: &self.hits,
            matrix: self.matrix(),
        };
        let json = serde_json::to_string(&data).map_err(std::io::Error::other)?;
        // `<` only occurs inside JSON strings, where `\u003c` means the same: the data can
        // then never close its script element.
        let json = json.replace('<', "\\u003c");
        let page = TEMPLATE
            .replace("{{TITLE}}", &escape_html(title))
            .replace("{{STYLE}}", STYLE)
            .replace("{{SCRIPT}}", SCRIPT);
        let (before, after) = page.split_once("{{DATA}}").expect("the template has a data slot");
        out.write_all(before.as_bytes())?;
        out.write_all(json.as_bytes())?;
        out.write_all(after.as_bytes())
    }
}

#[derive(Serialize)]
struct ReportData<'a> {
    title: &'a str,
    attack_version: &'static str,
    facts: &'a RunFacts,
    rules: &'a [RuleInfo],
    strings: &'a [String],
    hits: &'a [StoredHit],
    matrix: Vec<MatrixTactic>,
}

#[derive(Serialize)]
struct MatrixTactic {
    id: String,
    name: String,
    shortname: String,
    techniques: Vec<MatrixCell>,
}

#[derive(Serialize)]
struct MatrixCell {
    id: String,
    name: String,
    hits: u64,
}

const TEMPLATE: &str = include_str!("assets/report.html");
const STYLE: &str = include_str!("assets/report.css");
const SCRIPT: &str = include_str!("assets/report.js");

fn shortened(value: &str) -> &str {
    match value.char_indices().nth(MAX_VALUE_CHARS) {
        Some((end, _)) => &value[..end],
        None => value,
    }
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(title: &str, level: &'static str, techniques: &[&str]) -> RuleInfo {
        RuleInfo {
            title: title.into(),
            id: Some(format!("id-{title}")),
            level,
            kind: HitKind::Event,
            techniques: techniques.iter().map(|id| Technique { id: (*id).into(), name: None }).collect(),
            tactics: Vec::new(),
            false_positives: vec!["admins".into()],
            description: None,
            file: "r.yml".into(),
        }
    }

    fn hit(rule: usize, fields: &[(&str, &str)]) -> Hit {
        Hit {
            rule,
            time_ms: Some(1_700_000_000_000),
            source: "a.evtx".into(),
            record: Some(1),
            fields: fields.iter().map(|(name, value)| ((*name).into(), (*value).into())).collect(),
        }
    }

    fn page(report: &Report) -> String {
        let mut out = Vec::new();
        report.write_html("hunt </script>", &RunFacts::default(), &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn values_cannot_break_out_of_the_page() {
        let mut report = Report::new(vec![rule("<b>x</b>", "high", &[])]);
        report.add(hit(0, &[("CommandLine", "</script><script>alert(1)</script>")]));
        let page = page(&report);
        assert_eq!(page.matches("</script>").count(), 2, "only the page's own two script elements close");
        assert!(page.contains("hunt &lt;/script&gt;"));
        assert!(page.contains("Content-Security-Policy\" content=\"default-src 'none'"), "the page may fetch nothing");
        assert!(!page.contains("src=") && !page.contains("href=") && !page.contains("url("), "and links nothing");
    }

    #[test]
    fn repeated_values_are_stored_once_and_actors_are_found() {
        let mut report = Report::new(vec![rule("a", "high", &["T1059.001"])]);
        for _ in 0..3 {
            report
                .add(hit(0, &[("Computer", "ws1"), ("User", "-"), ("SubjectUserName", "bob"), ("Image", "C:\\x.exe")]));
        }
        assert_eq!(report.len(), 3);
        let distinct = ["a.evtx", "ws1", "bob", "C:\\x.exe", "Computer", "User", "-", "SubjectUserName", "Image"];
        assert_eq!(report.strings.len(), distinct.len());
        let StoredHit(_, _, host, user, process, ..) = &report.hits[2];
        let text = |index: &i64| report.strings[usize::try_from(*index).unwrap()].as_str();
        assert_eq!((text(host), text(user), text(process)), ("ws1", "bob", "C:\\x.exe"), "`-` is no user");
    }

    #[test]
    fn the_matrix_counts_hits_per_technique() {
        let mut report =
            Report::new(vec![rule("a", "high", &["T1059.001"]), rule("b", "low", &["T1059.001", "T1033"])]);
        report.add(hit(0, &[]));
        report.add(hit(1, &[]));
        report.add(hit(1, &[]));
        let matrix = report.matrix();
        let cell = |id: &str| {
            matrix.iter().flat_map(|tactic| &tactic.techniques).find(|cell| cell.id == id).map(|cell| cell.hits)
        };
        assert_eq!((cell("T1059.001"), cell("T1033")), (Some(3), Some(2)));
    }

    #[test]
    fn long_values_are_cut_on_a_character_boundary() {
        let long = "é".repeat(MAX_VALUE_CHARS + 10);
        assert_eq!(shortened(&long).chars().count(), MAX_VALUE_CHARS);
    }
}
