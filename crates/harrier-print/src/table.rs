//! The summary of a hunt: hits per rule, most severe first; the correlation results; then
//! each SPL detection's rows as a table.

use crate::grid::{Align, Grid};
use harrier::{CorrelationHit, CorrelationResult, Flow, Hit, Row, RowResult, RuleKey, RuleSet, Sink, Summary};
use harrier_event::Timestamp;
use std::io::{self, Write};

/// Gathers a hunt's results and writes the tables when it ends.
pub struct RuleTable<'r, W: Write> {
    out: W,
    rules: &'r RuleSet,
    width: Option<usize>,
    /// Whether each SPL table is headed by its detection's title and level (not for an
    /// ad-hoc search, whose rows are all there is).
    titled: bool,
    correlations: Vec<(RuleKey, &'static str, CorrelationHit)>,
    /// Rows of each SPL detection, in the order they came.
    rows: Vec<(RuleKey, Vec<Row>)>,
}

impl<'r, W: Write> RuleTable<'r, W> {
    /// Tables cut to `width` columns when there is a limit.
    pub fn new(out: W, rules: &'r RuleSet, width: Option<usize>) -> RuleTable<'r, W> {
        RuleTable { out, rules, width, titled: true, correlations: Vec::new(), rows: Vec::new() }
    }

    /// Rows only, without the detection's title: the output of one ad-hoc search.
    pub fn untitled(mut self) -> Self {
        self.titled = false;
        self
    }

    /// Hits per rule, most severe first, then most hits.
    fn write_rules(&mut self, summary: &Summary) -> io::Result<()> {
        let rules = self.rules;
        let mut counted: Vec<_> = summary
            .per_rule
            .iter()
            .filter(|(key, count)| matches!(key, RuleKey::Sigma(_)) && count.results > 0)
            .collect();
        counted.sort_by(|a, b| {
            let level = |key: RuleKey| rules.meta(key).level;
            level(b.0).cmp(&level(a.0)).then(b.1.results.cmp(&a.1.results)).then(a.0.cmp(&b.0))
        });
        let mut grid = Grid::new(&[
            ("HITS", Align::Right),
            ("LEVEL", Align::Left),
            ("RULE", Align::Left),
            ("TECHNIQUES", Align::Left),
            ("TACTICS", Align::Left),
            ("FIRST", Align::Left),
            ("LAST", Align::Left),
        ]);
        for (key, count) in counted {
            let meta = rules.meta(*key);
            grid.push(vec![
                count.results.to_string(),
                meta.level.name().to_owned(),
                meta.title.clone(),
                meta.techniques.join(","),
                meta.tactics.join(","),
                time(count.first),
                time(count.last),
            ]);
        }
        grid.write(&mut self.out, self.width)
    }

    /// The rules that could not decide some events, and how many.
    fn write_undecided(&mut self, summary: &Summary) -> io::Result<()> {
        if summary.undecided.is_empty() {
            return Ok(());
        }
        writeln!(self.out, "\nundecided events: {}", crate::UNDECIDED_WHY)?;
        let mut grid = Grid::new(&[("EVENTS", Align::Right), ("LEVEL", Align::Left), ("RULE", Align::Left)]);
        for (key, events) in &summary.undecided {
            let meta = self.rules.meta(*key);
            grid.push(vec![events.to_string(), meta.level.name().to_owned(), meta.title.clone()]);
        }
        grid.write(&mut self.out, self.width)
    }

    /// Each correlation result: how many events it holds and the value its condition held
    /// for (the count, distinct values, sum ...), per group.
    fn write_correlations(&mut self) -> io::Result<()> {
        if self.correlations.is_empty() {
            return Ok(());
        }
        writeln!(self.out, "\ncorrelation results (each a group whose events met the correlation's condition):")?;
        let mut grid = Grid::new(&[
            ("EVENTS", Align::Right),
            ("VALUE", Align::Right),
            ("TYPE", Align::Left),
            ("LEVEL", Align::Left),
            ("CORRELATION", Align::Left),
            ("GROUP", Align::Left),
            ("FIRST", Align::Left),
            ("LAST", Align::Left),
        ]);
        for (key, kind, result) in &self.correlations {
            let meta = self.rules.meta(*key);
            let group: Vec<String> = result
                .group
                .iter()
                .map(|(field, value)| format!("{field}={}", value.as_deref().unwrap_or("")))
                .collect();
            grid.push(vec![
                result.events.len().to_string(),
                harrier_pipeline::format_number(result.value),
                kind.to_string(),
                meta.level.name().to_owned(),
                meta.title.clone(),
                group.join(" "),
                time(Some(result.first)),
                time(Some(result.last)),
            ]);
        }
        grid.write(&mut self.out, self.width)
    }

    /// Each SPL detection's rows as a table under its title.
    fn write_rows(&mut self) -> io::Result<()> {
        for (key, rows) in &self.rows {
            let meta = self.rules.meta(*key);
            if self.titled {
                writeln!(
                    self.out,
                    "\n{} [{}] {}",
                    meta.title,
                    meta.level.name(),
                    crate::text::plural(rows.len() as u64, "row")
                )?;
            }
            crate::rows::write(&mut self.out, rows, self.width)?;
            if !self.titled {
                writeln!(self.out, "{}", crate::text::plural(rows.len() as u64, "row"))?;
            }
        }
        Ok(())
    }
}

impl<W: Write> Sink for RuleTable<'_, W> {
    fn hit(&mut self, _: &Hit<'_>) -> io::Result<Flow> {
        Ok(Flow::Continue)
    }

    fn correlation(&mut self, result: &CorrelationResult<'_>) -> io::Result<Flow> {
        self.correlations.push((result.key, result.kind, result.result.clone()));
        Ok(Flow::Continue)
    }

    fn row(&mut self, result: &RowResult<'_>) -> io::Result<Flow> {
        match self.rows.last_mut() {
            Some((key, rows)) if *key == result.key => rows.push(result.row.clone()),
            _ => self.rows.push((result.key, vec![result.row.clone()])),
        }
        Ok(Flow::Continue)
    }

    fn finish(&mut self, summary: &Summary) -> io::Result<()> {
        if self.rules.sigma_rules_run() > 0 {
            self.write_rules(summary)?;
            self.write_undecided(summary)?;
        }
        self.write_correlations()?;
        self.write_rows()?;
        self.out.flush()
    }
}

/// A time as tables show it: `2024-05-01 13:00:00`.
fn time(time: Option<Timestamp>) -> String {
    time.map(|time| time.to_string()[..19].replace('T', " ")).unwrap_or_default()
}
