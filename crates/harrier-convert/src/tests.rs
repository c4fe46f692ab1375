//! The seed rule (Sigma 7b434893, "Suspicious Program Location with Network Connections", in
//! its 2019 form) through every target.

use super::*;

/// The 2019 rule as the HELK query was made from it (fixture written from the issue's text).
const SEED_2019: &str = r#"
title: Suspicious Program Location with Network Connections
id: 7b434893-c57d-4f41-908d-6a17bf1ae98f
status: experimental
description: Detects programs with network connections running in suspicious files system locations
logsource:
    product: windows
    service: sysmon
detection:
    selection:
        EventID: 3
        Image:
            - '*\$Recycle.bin'
            - '*\Users\All Users\\*'
            - '*\Users\Default\\*'
            - '*\Users\Public\\*'
            - '*\Users\Contacts\\*'
            - '*\Users\Searches\\*'
            - 'C:\Perflogs\\*'
            - '*\config\systemprofile\\*'
            - '*\Windows\Fonts\\*'
            - '*\Windows\IME\\*'
            - '*\Windows\addins\\*'
    condition: selection
falsepositives:
    - unknown
level: high
"#;

fn rule(text: &str) -> Rule {
    let entries = harrier_sigma::load_text(text, "seed.yml", &harrier_sigma::LoadOptions::default());
    entries[0].rule().expect("the rule loads").clone()
}

fn convert_with(target: Target, profile: &str) -> Result<Conversion, Unsupported> {
    convert(&rule(SEED_2019), target, &Profile::load(profile).unwrap(), &Options::default())
}

/// Splits `field:(a OR b ...)` into its values.
fn group_values<'a>(query: &'a str, field: &str) -> Vec<&'a str> {
    let start = query.find(&format!("{field}:(")).unwrap_or_else(|| panic!("{field} in {query}")) + field.len() + 2;
    let end = start + query[start..].find(")").unwrap();
    let inner = &query[start..end];
    let mut values = Vec::new();
    let mut rest = inner;
    while let Some(at) = rest.find(" OR ") {
        values.push(&rest[..at]);
        rest = &rest[at + 4..];
    }
    values.push(rest);
    values
}

#[test]
fn the_seed_in_helk_is_the_seed_query_on_its_index_with_case_fixed() {
    let conversion = convert_with(Target::Lucene, "helk").unwrap();
    assert_eq!(conversion.index.as_deref(), Some("logs-endpoint-winevent-sysmon-*"), "the channel became HELK's index");
    let query = &conversion.query;
    assert!(query.starts_with("event_id:\"3\" AND (process_path.keyword:("), "{query}");
    let values = group_values(query, "process_path.keyword");
    assert_eq!(values.len(), 11, "{query}");
    // Each alternative is a Lucene regex over the keyword; read as a Rust regex (same syntax for
    // what is used here, once the `/` delimiters and `\/` are taken off and `$`, literal in
    // Lucene, is escaped) it must match the
    // paths the seed meant, whatever their case, and only those.
    let regexes: Vec<::regex::Regex> = values
        .iter()
        .map(|value| {
            let body = value.strip_prefix('/').and_then(|value| value.strip_suffix('/')).expect("a regex");
            ::regex::Regex::new(&format!("^(?:{})$", body.replace("\\/", "/").replace('$', "\\$"))).unwrap()
        })
        .collect();
    let matches = |path: &str| regexes.iter().any(|regex| regex.is_match(path));
    assert!(matches(r"C:\PerfLogs\evil.exe"), "the case the seed query missed");
    assert!(matches(r"C:\Perflogs\evil.exe") && matches(r"c:\users\public\x.exe") && matches(r"C:\$RECYCLE.BIN"));
    assert!(matches(r"D:\Windows\IME\x.exe"));
    assert!(!matches(r"D:\Perflogs\x.exe"), "C:\\Perflogs is anchored at the start");
    assert!(!matches(r"C:\Program Files\x.exe") && !matches(r"C:\$Recycle.bin\x.exe"), "*\\$Recycle.bin ends there");
}

#[test]
fn the_seed_in_ecs_is_pysigmas_form() {
    let query = convert_with(Target::Lucene, "ecs").unwrap().query;
    // `sigma convert -t lucene -p sysmon -p ecs_windows` (pySigma 1.5.1, backend 2.1.1), from
    // ../shared/data/sigma/NOTES.md §3.2; the same terms, our parentheses.
    let pysigma = r"winlog.channel:Microsoft\-Windows\-Sysmon\/Operational AND (event.code:3 AND (process.executable.caseless:(*\\$Recycle.bin OR *\\Users\\All\ Users\\* OR *\\Users\\Default\\* OR *\\Users\\Public\\* OR *\\Users\\Contacts\\* OR *\\Users\\Searches\\* OR C\:\\Perflogs\\* OR *\\config\\systemprofile\\* OR *\\Windows\\Fonts\\* OR *\\Windows\\IME\\* OR *\\Windows\\addins\\*)))";
    let terms = |text: &str| {
        let mut terms: Vec<String> = text
            .replace(['(', ')'], " ")
            .split_whitespace()
            .map(str::to_owned)
            .filter(|term| term != "AND" && term != "OR")
            .collect();
        terms.sort();
        terms
    };
    assert_eq!(terms(&query), terms(pysigma), "{query}");
}

#[test]
fn the_seed_in_every_other_target() {
    let sqlite = convert_with(Target::Sql(Dialect::Sqlite), "sysmon").unwrap().query;
    assert!(
        sqlite.starts_with(
            r#"SELECT * FROM "logs" WHERE ("Channel" LIKE 'Microsoft-Windows-Sysmon/Operational' ESCAPE '\')"#
        ),
        "{sqlite}"
    );
    assert!(sqlite.contains(r#""Image" LIKE 'C:\\Perflogs\\%' ESCAPE '\'"#), "{sqlite}");
    let spark = convert_with(Target::Sql(Dialect::Spark), "sysmon").unwrap().query;
    assert!(spark.contains(r#"`Image` ILIKE 'C:\\\\Perflogs\\\\%' ESCAPE '\\'"#), "Spark unescapes literals: {spark}");
    let splunk = convert_with(Target::Splunk, "splunk-windows").unwrap().query;
    assert!(
        splunk.starts_with(r#"source="WinEventLog:Microsoft-Windows-Sysmon/Operational" EventCode="3" Image IN ("#),
        "{splunk}"
    );
    let splunk = convert_with(Target::Splunk, "cim").unwrap().query;
    assert!(
        splunk.contains(r#"EventCode="3""#)
            && splunk.contains(r#"process_path IN ("*\\$Recycle.bin", "*\\Users\\All Users\\*""#),
        "{splunk}"
    );
    let esql = convert_with(Target::Esql, "ecs").unwrap().query;
    assert!(esql.contains(r#"process.executable.caseless LIKE """C:\\Perflogs\\*""""#), "{esql}");
    let dsl: serde_json::Value = serde_json::from_str(&convert_with(Target::EsDsl, "ecs").unwrap().query).unwrap();
    let text = dsl.to_string();
    assert!(
        text.contains(
            r#"{"wildcard":{"process.executable.caseless":{"value":"C:\\\\Perflogs\\\\*","case_insensitive":true}}}"#
        ),
        "{text}"
    );
}

#[test]
fn features_a_target_lacks_are_named() {
    let fieldref = rule(
        "title: t\nlogsource: {product: windows, category: process_creation}\ndetection:\n  sel:\n    ParentImage|fieldref: Image\n  condition: sel\n",
    );
    let error = convert(&fieldref, Target::Lucene, &Profile::load("ecs").unwrap(), &Options::default()).unwrap_err();
    assert!(error.feature.contains("fieldref"), "{error}");
    let keyword = rule(
        "title: t\nlogsource: {product: windows, service: security}\ndetection:\n  kw: [mimikatz]\n  condition: kw\n",
    );
    assert!(
        convert(&keyword, Target::Sql(Dialect::Sqlite), &Profile::load("sysmon").unwrap(), &Options::default())
            .is_err()
    );
    let single = rule(
        "title: t\nlogsource: {product: windows, service: security}\ndetection:\n  sel:\n    TargetUserName: 'adm?n'\n  condition: sel\n",
    );
    let error = convert(&single, Target::Splunk, &Profile::load("sysmon").unwrap(), &Options::default()).unwrap_err();
    assert!(error.feature.contains("single-character wildcard"), "{error}");
}

#[test]
fn the_candidates_of_an_spl_search_include_the_events_its_joins_read() {
    let query = harrier_spl::parse_query(
        "search EventCode=4688 | join type=inner ProcessId [search EventCode=4689 | fields ProcessId]",
    )
    .expect("the search parses");
    let candidates = crate::sql_query_candidates(&query, Dialect::Sqlite);
    assert!(candidates.contains("4688") && candidates.contains("4689"), "{candidates}");
    assert!(candidates.contains(" OR "), "{candidates}");
}
