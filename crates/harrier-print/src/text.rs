//! The hunt as people read it: one line per hit in time order (time, computer, level, rule,
//! the fields that explain the event), correlation results among them, then each SPL
//! detection's rows as a table, then a short summary: hits by level, top hosts, top rules.

use crate::details::key_details;
use crate::grid::one_line;
use crate::spill::Sorter;
use console::{Style, measure_text_width, pad_str, truncate_str};
use harrier::{CorrelationResult, Event, Flow, Hit, Level, Row, RowResult, RuleMeta, Sink, Summary, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::io::{self, Write};

/// How the text is laid out.
#[derive(Debug, Clone, Copy, Default)]
pub struct TextOptions {
    /// Lines are cut to this many columns (the terminal's width); none: whole lines.
    pub width: Option<usize>,
    /// Levels in colour (ANSI escapes).
    pub color: bool,
}

/// One line of the timeline, ordered by time (lines without one last), then by arrival.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
struct Line {
    untimed: bool,
    time: i64,
    arrival: u64,
    when: String,
    host: String,
    /// The level's rank (`Level` is not serialized).
    level: u8,
    title: String,
    details: String,
}

const LEVELS: [Level; 5] = [Level::Informational, Level::Low, Level::Medium, Level::High, Level::Critical];

fn rank(level: Level) -> u8 {
    LEVELS.iter().position(|known| *known == level).unwrap_or(2) as u8
}

/// Narrowest the host and title columns get when lines are cut to a terminal (wider ones
/// take an eighth and a quarter of it).
const HOST_WIDTH: usize = 12;
const TITLE_WIDTH: usize = 24;
/// Entries of each top list in the closing summary.
const TOP: usize = 5;

/// The timeline of a hunt, written when the hunt ends (it is sorted by time).
pub struct Text<W: Write> {
    out: W,
    options: TextOptions,
    lines: Sorter<Line>,
    arrivals: u64,
    host_width: usize,
    title_width: usize,
    /// Rows of each SPL detection that aggregates: its title, level, rows.
    tables: Vec<(String, Level, Vec<Row>)>,
    levels: HashMap<Level, u64>,
    hosts: HashMap<String, u64>,
    rules: HashMap<String, u64>,
}

impl<W: Write> Text<W> {
    pub fn new(out: W, options: TextOptions) -> Text<W> {
        Text {
            out,
            options,
            lines: Sorter::new(),
            arrivals: 0,
            host_width: 0,
            title_width: 0,
            tables: Vec::new(),
            levels: HashMap::new(),
            hosts: HashMap::new(),
            rules: HashMap::new(),
        }
    }

    /// A line of the timeline; a hit (not a correlation result) also counts for the summary.
    fn add(
        &mut self,
        hit: bool,
        time: Option<Timestamp>,
        host: &str,
        rule: &RuleMeta,
        details: String,
    ) -> io::Result<Flow> {
        let host = if host.is_empty() { "-" } else { host };
        self.host_width = self.host_width.max(measure_text_width(host));
        self.title_width = self.title_width.max(measure_text_width(&rule.title));
        self.arrivals += 1;
        if hit {
            *self.levels.entry(rule.level).or_default() += 1;
            *self.hosts.entry(host.to_owned()).or_default() += 1;
            *self.rules.entry(rule.title.clone()).or_default() += 1;
        }
        self.lines.push(Line {
            untimed: time.is_none(),
            time: time.map_or(0, |time| time.unix_micros()),
            arrival: self.arrivals,
            when: time.map_or_else(|| "-".repeat(19), |time| time.to_string()[..19].replace('T', " ")),
            host: host.to_owned(),
            level: rank(rule.level),
            title: rule.title.clone(),
            details: one_line(&details),
        })?;
        Ok(Flow::Continue)
    }

    fn write_line(&mut self, line: &Line) -> io::Result<()> {
        // On a terminal the host and the title take their share of the width, so that the
        // details keep the most room; in a pipe or a file every column is whole.
        let (host_width, title_width) = match self.options.width {
            Some(width) => {
                (self.host_width.min((width / 8).max(HOST_WIDTH)), self.title_width.min((width / 4).max(TITLE_WIDTH)))
            }
            None => (self.host_width, self.title_width),
        };
        let level = LEVELS[usize::from(line.level)];
        let style = level_style(level, self.options.color);
        let host = pad_str(&line.host, host_width, console::Alignment::Left, Some("…"));
        let title = pad_str(&line.title, title_width, console::Alignment::Left, Some("…"));
        let text = format!(
            "{}  {host}  {}  {}  {}",
            line.when,
            style.apply_to(level_label(level)),
            style.apply_to(title),
            line.details
        );
        let text = match self.options.width {
            Some(width) => truncate_str(&text, width, "…").into_owned(),
            None => text,
        };
        writeln!(self.out, "{}", text.trim_end())
    }

    /// Hits by level, then the top hosts and rules.
    fn write_closing(&mut self, summary: &Summary) -> io::Result<()> {
        let hits: u64 = self.levels.values().sum();
        let by_level: Vec<String> = LEVELS
            .into_iter()
            .rev()
            .filter_map(|level| {
                let count = self.levels.get(&level)?;
                Some(format!("{} {}", count, level_style(level, self.options.color).apply_to(level.name())))
            })
            .collect();
        let levels = if by_level.is_empty() { String::new() } else { format!(" ({})", by_level.join(", ")) };
        let mut parts = vec![format!("{}{levels}", plural(hits, "hit"))];
        if summary.correlations > 0 {
            parts.push(plural(summary.correlations, "correlation result"));
        }
        if summary.rows > 0 {
            parts.push(format!("{} of SPL detections", plural(summary.rows, "result row")));
        }
        let undecided: u64 = summary.undecided.iter().map(|(_, events)| events).sum();
        if undecided > 0 {
            let rules = plural(summary.undecided.len() as u64, "rule");
            parts.push(format!("{} undecided by {rules} (fields the source cannot carry)", plural(undecided, "event")));
        }
        let lines =
            [parts.join(", "), format!("top hosts: {}", top(&self.hosts)), format!("top rules: {}", top(&self.rules))];
        writeln!(self.out)?;
        for line in lines.iter().filter(|line| !line.ends_with(": ")) {
            let line = match self.options.width {
                Some(width) => truncate_str(line, width, "…").into_owned(),
                None => line.clone(),
            };
            writeln!(self.out, "{line}")?;
        }
        Ok(())
    }
}

impl<W: Write> Sink for Text<W> {
    fn hit(&mut self, hit: &Hit<'_>) -> io::Result<Flow> {
        let event = hit.event;
        self.add(true, event.timestamp(), event.computer().unwrap_or_default(), hit.rule, key_details(event))
    }

    fn correlation(&mut self, result: &CorrelationResult<'_>) -> io::Result<Flow> {
        let found = result.result;
        let group: Vec<String> =
            found.group.iter().map(|(field, value)| format!("{field}: {}", value.as_deref().unwrap_or("-"))).collect();
        let host = group_value(&found.group, "Computer").unwrap_or_default();
        let details = format!(
            "correlation {} = {} over {} events since {} ¦ {}",
            result.kind,
            harrier_pipeline::format_number(found.value),
            found.events.len(),
            found.first.to_string()[..19].replace('T', " "),
            group.join(" ¦ ")
        );
        self.add(false, Some(found.last), &host, result.rule, details)
    }

    fn row(&mut self, result: &RowResult<'_>) -> io::Result<Flow> {
        let row = result.row;
        match &row.origin {
            Some(origin) if !result.aggregates => {
                let event: Event = row.to_event();
                let host = row.text("Computer").or_else(|| row.text("dest")).unwrap_or_default().into_owned();
                self.add(true, origin.timestamp, &host, result.rule, key_details(&event))
            }
            _ => {
                let rule = result.rule;
                match self.tables.last_mut() {
                    Some((title, _, rows)) if *title == rule.title => rows.push(row.clone()),
                    _ => self.tables.push((rule.title.clone(), rule.level, vec![row.clone()])),
                }
                Ok(Flow::Continue)
            }
        }
    }

    fn finish(&mut self, summary: &Summary) -> io::Result<()> {
        let lines = std::mem::take(&mut self.lines);
        for line in lines.into_sorted()? {
            self.write_line(&line?)?;
        }
        for (title, level, rows) in std::mem::take(&mut self.tables) {
            let style = level_style(level, self.options.color);
            let count = plural(rows.len() as u64, "row");
            writeln!(self.out, "\n{} [{}] {count}", style.apply_to(&title), style.apply_to(level.name()))?;
            crate::rows::write(&mut self.out, &rows, self.options.width)?;
        }
        self.write_closing(summary)?;
        self.out.flush()
    }
}

/// A group-by value of a correlation result.
fn group_value(group: &[(String, Option<String>)], field: &str) -> Option<String> {
    group.iter().find(|(name, _)| name.eq_ignore_ascii_case(field)).and_then(|(_, value)| value.clone())
}

/// The most frequent entries: `name (count)`, most first, then by name.
fn top(counts: &HashMap<String, u64>) -> String {
    let mut entries: Vec<(&String, &u64)> = counts.iter().collect();
    entries.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    entries.iter().take(TOP).map(|(name, count)| format!("{name} ({count})")).collect::<Vec<_>>().join(", ")
}

/// Four letters per level, so that the column stays narrow.
fn level_label(level: Level) -> &'static str {
    match level {
        Level::Critical => "crit",
        Level::High => "high",
        Level::Medium => "med ",
        Level::Low => "low ",
        Level::Informational => "info",
    }
}

/// A level's colour: critical and high in red, medium yellow, low green, informational dim.
pub fn level_style(level: Level, color: bool) -> Style {
    let style = Style::new().force_styling(color);
    match level {
        Level::Critical => style.red().bold().reverse(),
        Level::High => style.red().bold(),
        Level::Medium => style.yellow(),
        Level::Low => style.green(),
        Level::Informational => style.dim(),
    }
}

/// `1 hit`, `2 hits`.
pub(crate) fn plural(count: u64, what: &str) -> String {
    if count == 1 { format!("1 {what}") } else { format!("{count} {what}s") }
}
