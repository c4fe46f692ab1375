//! The table of a hunt: hits per rule, most severe first, with the correlation results; then
//! each SPL detection's rows under its title.

use harrier::{CorrelationHit, CorrelationResult, Flow, Hit, Row, RowResult, RuleKey, RuleSet, Sink, Summary};
use harrier_event::Timestamp;
use std::io::{self, Write};

/// Gathers a hunt's results and writes the tables when it ends.
pub struct RuleTable<'r, W: Write> {
    out: W,
    rules: &'r RuleSet,
    correlations: Vec<(RuleKey, CorrelationHit)>,
    /// Rows of each SPL detection, in the order they came.
    rows: Vec<(RuleKey, Vec<Row>)>,
}

impl<'r, W: Write> RuleTable<'r, W> {
    pub fn new(out: W, rules: &'r RuleSet) -> RuleTable<'r, W> {
        RuleTable { out, rules, correlations: Vec::new(), rows: Vec::new() }
    }

    /// Hits per rule, most severe first, then most hits; then the correlation results.
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
        let row = |out: &mut W, cells: [&str; 7]| {
            let [hits, level, rule, techniques, tactics, first, last] = cells;
            writeln!(out, "{hits:>7}  {level:<13} {rule:<60} {techniques:<24} {tactics:<28} {first:<20} {last:<20}")
        };
        row(&mut self.out, ["HITS", "LEVEL", "RULE", "TECHNIQUES", "TACTICS", "FIRST", "LAST"])?;
        for (key, count) in counted {
            let meta = rules.meta(*key);
            row(
                &mut self.out,
                [
                    &count.results.to_string(),
                    meta.level.name(),
                    &cut(&meta.title, 60),
                    &cut(&meta.techniques.join(","), 24),
                    &cut(&meta.tactics.join(","), 28),
                    &time(count.first),
                    &time(count.last),
                ],
            )?;
        }
        for (key, result) in &self.correlations {
            let meta = rules.meta(*key);
            let group: Vec<String> = result
                .group
                .iter()
                .map(|(field, value)| format!("{field}={}", value.as_deref().unwrap_or("")))
                .collect();
            row(
                &mut self.out,
                [
                    &format!("[{}]", result.value),
                    meta.level.name(),
                    &cut(&format!("{} ({})", meta.title, group.join(" ")), 60),
                    &cut(&meta.techniques.join(","), 24),
                    &cut(&meta.tactics.join(","), 28),
                    &time(Some(result.first)),
                    &time(Some(result.last)),
                ],
            )?;
        }
        Ok(())
    }

    /// Each SPL detection's rows as a table under its title.
    fn write_rows(&mut self) -> io::Result<()> {
        for (key, rows) in &self.rows {
            let meta = self.rules.meta(*key);
            writeln!(self.out, "\n{} [{}] {} rows", meta.title, meta.level.name(), rows.len())?;
            write_row_table(&mut self.out, rows)?;
        }
        Ok(())
    }
}

impl<W: Write> Sink for RuleTable<'_, W> {
    fn hit(&mut self, _: &Hit<'_>) -> io::Result<Flow> {
        Ok(Flow::Continue)
    }

    fn correlation(&mut self, result: &CorrelationResult<'_>) -> io::Result<Flow> {
        self.correlations.push((result.key, result.result.clone()));
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
        }
        self.write_rows()?;
        self.out.flush()
    }
}

/// Rows as a table: one column per field, in the order fields first appear.
fn write_row_table(out: &mut impl Write, rows: &[Row]) -> io::Result<()> {
    const WIDTH: usize = 40;
    let mut columns: Vec<&str> = Vec::new();
    for row in rows {
        for (name, _) in &row.fields {
            if !columns.contains(&&**name) && &**name != harrier_cim::DATAMODEL_FIELD {
                columns.push(name);
            }
        }
    }
    let cell = |row: &Row, column: &str| {
        cut(&row.get(column).map(harrier_pipeline::display).unwrap_or_default().replace('\n', " | "), WIDTH)
    };
    let widths: Vec<usize> = columns
        .iter()
        .map(|column| {
            rows.iter().map(|row| cell(row, column).chars().count()).chain([column.len().min(WIDTH)]).max().unwrap_or(0)
        })
        .collect();
    let line = |cells: Vec<String>| {
        cells.iter().zip(&widths).map(|(text, width)| format!("{text:<width$}")).collect::<Vec<_>>().join("  ")
    };
    writeln!(out, "{}", line(columns.iter().map(|column| cut(column, WIDTH)).collect()).trim_end())?;
    for row in rows {
        writeln!(out, "{}", line(columns.iter().map(|column| cell(row, column)).collect()).trim_end())?;
    }
    Ok(())
}

/// A time as the table shows it: `2024-05-01 13:00:00`.
fn time(time: Option<Timestamp>) -> String {
    time.map(|time| time.to_string()[..19].replace('T', " ")).unwrap_or_default()
}

/// The text cut to `width` characters, an ellipsis for the last when it is longer.
pub fn cut(text: &str, width: usize) -> String {
    match text.char_indices().nth(width) {
        Some((end, _)) => format!("{}…", &text[..end - text[..end].chars().last().map_or(0, char::len_utf8)]),
        None => text.to_owned(),
    }
}
