//! Embedding Harrier: a custom sink that counts what a hunt finds per host and level.
//!
//! cargo run -p harrier --example embed -- examples/rules examples/logs

use harrier::{CorrelationResult, Flow, Hit, Hunt, Input, RowResult, RuleSet, Sink, Summary};
use std::collections::BTreeMap;
use std::io;

/// Hits per (computer, level), correlation results and SPL rows by title.
#[derive(Default)]
struct PerHost {
    hits: BTreeMap<(String, &'static str), u64>,
    other: BTreeMap<String, u64>,
}

impl Sink for PerHost {
    fn hit(&mut self, hit: &Hit<'_>) -> io::Result<Flow> {
        let host = hit.event.computer().unwrap_or("-").to_owned();
        *self.hits.entry((host, hit.rule.level.name())).or_default() += 1;
        Ok(Flow::Continue)
    }

    fn correlation(&mut self, result: &CorrelationResult<'_>) -> io::Result<Flow> {
        *self.other.entry(format!("correlation: {}", result.rule.title)).or_default() += 1;
        Ok(Flow::Continue)
    }

    fn row(&mut self, row: &RowResult<'_>) -> io::Result<Flow> {
        *self.other.entry(format!("SPL row: {}", row.rule.title)).or_default() += 1;
        Ok(Flow::Continue)
    }

    fn finish(&mut self, summary: &Summary) -> io::Result<()> {
        for ((host, level), count) in &self.hits {
            println!("{count:>6}  {level:<8} {host}");
        }
        for (what, count) in &self.other {
            println!("{count:>6}  {what}");
        }
        println!("{} events, {} hits, {} rules run", summary.events, summary.hits, summary.rules_run);
        Ok(())
    }
}

fn main() -> Result<(), harrier::Error> {
    let mut args = std::env::args().skip(1);
    let rules = args.next().unwrap_or_else(|| "examples/rules".into());
    let logs: Vec<Input> = args.map(|path| Input::from_arg(&path)).collect();
    let logs = if logs.is_empty() { vec![Input::from_arg("examples/logs")] } else { logs };
    let rules = RuleSet::builder().rules(rules).build()?;
    let summary = Hunt::new(&rules).run(&logs, &mut PerHost::default())?;
    if summary.hits == 0 {
        eprintln!("no hits: are the rules and logs the right way round?");
    }
    Ok(())
}
