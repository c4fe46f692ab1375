//! The SPL parser never panics: random and mutated searches (ESCU's own when `../shared` is
//! there, a few written here otherwise) give a query or an error, for a bounded time.

use harrier_spl::escu::Library;
use std::time::{Duration, Instant};

/// A small deterministic generator (xorshift), so a failure can be replayed.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound.max(1) as u64) as usize
    }
}

const SPECIAL: &[&str] = &[
    "|",
    "(",
    ")",
    "[",
    "]",
    "\"",
    "\\",
    "`",
    "=",
    "!=",
    "<",
    ">",
    "*",
    ",",
    " ",
    "NOT ",
    " OR ",
    " AND ",
    "IN",
    "by ",
    "as ",
    "eval(",
    "$",
    "'",
    "\n",
    "é",
    "💥",
    "```",
    "[|",
    "| tstats ",
    "| stats ",
    "| where ",
    "| rex ",
    "span=",
];

fn mutate(text: &str, random: &mut Random) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for _ in 0..=random.below(4) {
        let at = random.below(chars.len() + 1);
        match random.below(4) {
            0 if !chars.is_empty() => {
                chars.remove(at.min(chars.len() - 1));
            }
            1 => {
                let insert = SPECIAL[random.below(SPECIAL.len())];
                chars.splice(at..at, insert.chars());
            }
            2 => chars.truncate(at),
            _ => {
                let end = (at + random.below(20)).min(chars.len());
                let copy: Vec<char> = chars[at..end].to_vec();
                chars.splice(at..at, copy);
            }
        }
    }
    chars.into_iter().collect()
}

fn seeds() -> Vec<String> {
    let mut seeds: Vec<String> = [
        r#"`sysmon` EventCode=3 NOT(Image IN("*\\program files*")) (DestinationPortName="smtp" OR DestinationPort=25) | stats count min(_time) as firstTime by Image | `security_content_ctime(firstTime)`"#,
        r#"| tstats `security_content_summariesonly` count from datamodel=Endpoint.Processes where Processes.process_name=x by Processes.dest _time span=1h | `drop_dm_object_name(Processes)`"#,
        r#"a=1 | eval x=if(match(y, "(?i)a{2}"), 'b c' . "d", null()), n=mvindex(split(z, ","), -1) | where x LIKE "%a_" AND NOT n IN ("1", 2) | rex field=z max_match=0 "(?<p>\w+)" | lookup l c AS z OUTPUTNEW d | join type=left z [| inputlookup l.csv where c=1]"#,
    ]
    .iter()
    .map(|seed| seed.to_string())
    .collect();
    if let Some(root) = harrier_testdata::escu("detections") {
        for entry in walkdir::WalkDir::new(root).sort_by_file_name().into_iter().filter_map(Result::ok) {
            let Ok(text) = std::fs::read_to_string(entry.path()) else { continue };
            let Ok(document) = yaml_serde::from_str::<yaml_serde::Value>(&text) else { continue };
            if let Some(search) = document.get("search").and_then(|search| search.as_str()) {
                seeds.push(search.to_owned());
            }
        }
    }
    seeds
}

#[test]
fn random_and_mutated_searches_never_panic() {
    let mut library = Library::load(&[], &[]);
    if let Some(macros) = harrier_testdata::escu("macros") {
        library = Library::load(&[macros], &[]);
    }
    let seeds = seeds();
    let mut random = Random(0x5eed_5eed_1234_5678);
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut tried = 0u64;
    while Instant::now() < deadline {
        let seed = &seeds[random.below(seeds.len())];
        let search = if random.below(10) == 0 {
            (0..random.below(60)).map(|_| SPECIAL[random.below(SPECIAL.len())]).collect::<String>()
        } else {
            mutate(seed, &mut random)
        };
        let outcome = std::panic::catch_unwind(|| {
            let expanded = library.macros.expand(&search).unwrap_or_else(|_| search.clone());
            if let Err(error) = harrier_spl::parse_query(&expanded) {
                let _ = error.render(&expanded);
            }
        });
        assert!(outcome.is_ok(), "the parser panicked on: {search:?}");
        tried += 1;
    }
    eprintln!("{tried} searches parsed without a panic");
    assert!(tried > 1000);
}
