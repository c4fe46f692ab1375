//! The library against the command line: the same hunt through `harrier::Hunt` gives what
//! `harrier hunt --format jsonl` prints, result by result, and two hunts of different rule
//! sets running at once in one process give what two separate runs of the command give.

use harrier::{CorrelationResult, Flow, Hit, Hunt, Input, RowResult, RuleSet, Sink, Undecided};
use harrier_print::{JsonLines, RowMap};
use serde_json::Value;
use std::io;
use std::path::PathBuf;
use std::process::Command;

/// One result as both sides can say it: its kind, rule, and what identifies it.
#[derive(Debug, Clone, PartialEq)]
enum Found {
    /// A hit (or an event an SPL detection kept): rule id, file, record, time.
    Event(Option<String>, String, u64, Option<String>),
    /// rule id, value, last time.
    Correlation(Option<String>, f64, String),
    /// rule id, the row's fields.
    Row(Option<String>, Value),
    /// rule id, events it could not decide.
    Undecided(Option<String>, u64),
}

/// Keeps what the library gives as [`Found`], and the JSON lines its printer writes.
struct Both {
    found: Vec<Found>,
    printed: JsonLines<Vec<u8>>,
}

impl Sink for Both {
    fn hit(&mut self, hit: &Hit<'_>) -> io::Result<Flow> {
        let event = hit.event;
        let time = event.timestamp().map(|time| time.to_string());
        self.found.push(Found::Event(hit.rule.id.clone(), event.source().path.clone(), event.record_id(), time));
        self.printed.hit(hit)
    }

    fn correlation(&mut self, result: &CorrelationResult<'_>) -> io::Result<Flow> {
        let found = result.result;
        self.found.push(Found::Correlation(result.rule.id.clone(), found.value, found.last.to_string()));
        self.printed.correlation(result)
    }

    fn row(&mut self, result: &RowResult<'_>) -> io::Result<Flow> {
        let id = result.rule.id.clone();
        self.found.push(match &result.row.origin {
            Some(origin) if !result.aggregates => Found::Event(
                id,
                origin.source.path.clone(),
                origin.record_id,
                origin.timestamp.map(|time| time.to_string()),
            ),
            _ => Found::Row(id, serde_json::to_value(RowMap(result.row)).unwrap()),
        });
        self.printed.row(result)
    }

    fn undecided(&mut self, undecided: &Undecided<'_>) -> io::Result<Flow> {
        self.found.push(Found::Undecided(undecided.rule.id.clone(), undecided.events));
        self.printed.undecided(undecided)
    }
}

/// What a JSON line of the command says, as [`Found`].
fn said(line: &Value) -> Found {
    let text = |name: &str| line[name].as_str().map(str::to_owned);
    match line["type"].as_str() {
        Some("correlation") => {
            Found::Correlation(text("rule_id"), line["value"].as_f64().unwrap(), text("last").unwrap())
        }
        Some("row") => Found::Row(text("rule_id"), line["row"].clone()),
        Some("undecided") => Found::Undecided(text("rule_id"), line["events"].as_u64().unwrap()),
        _ => Found::Event(
            text("rule_id"),
            text("source_file").unwrap(),
            line["record_id"].as_u64().unwrap(),
            text("timestamp"),
        ),
    }
}

/// A hunt of some rules over some logs, run both ways.
struct Case {
    rules: Vec<PathBuf>,
    logs: PathBuf,
}

impl Case {
    fn cli(&self) -> Vec<u8> {
        let mut command = Command::new(env!("CARGO_BIN_EXE_harrier"));
        command.arg("hunt").arg(&self.logs).args(["--format", "jsonl", "-q"]);
        for rules in &self.rules {
            command.arg("-r").arg(rules);
        }
        let output = command.output().unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        output.stdout
    }

    fn library(&self) -> (Vec<Found>, Vec<u8>) {
        let rules = self.rules.iter().fold(RuleSet::builder(), |builder, path| builder.rules(path)).build().unwrap();
        let mut both = Both { found: Vec::new(), printed: JsonLines::new(Vec::new()) };
        Hunt::new(&rules).run(&[Input::Path(self.logs.clone())], &mut both).unwrap();
        let printed = std::mem::replace(&mut both.printed, JsonLines::new(Vec::new()));
        (both.found, printed.into_inner())
    }
}

#[test]
fn the_library_gives_what_the_command_prints_and_concurrent_hunts_share_nothing() {
    let (Some(data), Some(escu)) = (harrier_testdata::shared(""), harrier_testdata::escu("detections")) else { return };
    let sigma = ["rules", "rules-threat-hunting", "rules-emerging-threats", "rules-placeholder"];
    let cases = [
        Case { rules: sigma.iter().map(|folder| data.join("sigma").join(folder)).collect(), logs: data.clone() },
        Case { rules: vec![escu], logs: data.clone() },
    ];
    // Both hunts at once, on two threads of this process.
    let results: Vec<(Vec<Found>, Vec<u8>)> = std::thread::scope(|scope| {
        let running: Vec<_> = cases.iter().map(|case| scope.spawn(|| case.library())).collect();
        running.into_iter().map(|thread| thread.join().unwrap()).collect()
    });
    for (case, (found, printed)) in cases.iter().zip(results) {
        let expected = case.cli();
        let lines: Vec<Value> = String::from_utf8(expected.clone())
            .unwrap()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        let said: Vec<Found> = lines.iter().map(said).collect();
        assert!(said.len() > 1000, "{} results: the case should find plenty", said.len());
        assert_eq!(found, said, "the library's results are the command's, in the same order");
        assert!(printed == expected, "the JSON lines written in a shared process are the command's, byte for byte");
    }
}
