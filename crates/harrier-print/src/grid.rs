//! Text tables that fit the room there is: columns as wide as their widest cell, and when the
//! whole is wider than the terminal, the widest columns cut (`…`) until it fits.

use console::{measure_text_width, truncate_str};
use std::io::{self, Write};

/// How a column's cells line up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

/// Columns narrower than this are not cut further.
const NARROWEST: usize = 6;

/// Spaces between columns.
const GAP: usize = 2;

/// A table of text cells under a header.
#[derive(Debug, Clone, Default)]
pub struct Grid {
    header: Vec<(String, Align)>,
    rows: Vec<Vec<String>>,
}

impl Grid {
    pub fn new(header: &[(&str, Align)]) -> Grid {
        Grid { header: header.iter().map(|(name, align)| (name.to_string(), *align)).collect(), rows: Vec::new() }
    }

    /// A row of cells, one per column (line breaks shown as ` | `).
    pub fn push(&mut self, cells: Vec<String>) {
        self.rows.push(cells.into_iter().map(|cell| one_line(&cell)).collect());
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Writes the table, cut to `width` columns when there is a limit.
    pub fn write(&self, out: &mut dyn Write, width: Option<usize>) -> io::Result<()> {
        let widths = self.widths(width);
        let header: Vec<String> = self.header.iter().map(|(name, _)| name.clone()).collect();
        for cells in std::iter::once(&header).chain(&self.rows) {
            let mut line = String::new();
            for (column, ((_, align), width)) in self.header.iter().zip(&widths).enumerate() {
                let cell = truncate_str(cells.get(column).map_or("", String::as_str), *width, "…");
                let pad = width.saturating_sub(measure_text_width(&cell));
                if column > 0 {
                    line.push_str(&" ".repeat(GAP));
                }
                match align {
                    Align::Left => line.push_str(&format!("{cell}{}", " ".repeat(pad))),
                    Align::Right => line.push_str(&format!("{}{cell}", " ".repeat(pad))),
                }
            }
            writeln!(out, "{}", line.trim_end())?;
        }
        Ok(())
    }

    /// Each column as wide as its widest cell; then, while the line is too long, the widest
    /// column one narrower.
    fn widths(&self, limit: Option<usize>) -> Vec<usize> {
        let mut widths: Vec<usize> = (0..self.header.len())
            .map(|column| {
                let cells = self.rows.iter().filter_map(|row| row.get(column));
                cells
                    .map(|cell| measure_text_width(cell))
                    .chain([measure_text_width(&self.header[column].0)])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let Some(limit) = limit else { return widths };
        let total = |widths: &[usize]| widths.iter().sum::<usize>() + GAP * widths.len().saturating_sub(1);
        while total(&widths) > limit {
            let Some((widest, _)) =
                widths.iter().enumerate().filter(|(_, width)| **width > NARROWEST).max_by_key(|(_, width)| **width)
            else {
                break;
            };
            widths[widest] -= 1;
        }
        widths
    }
}

/// A value on one line: line breaks as ` | `, tabs as spaces.
pub fn one_line(text: &str) -> String {
    if !text.contains(['\n', '\r', '\t']) {
        return text.to_owned();
    }
    text.replace("\r\n", "\n").trim_end_matches('\n').replace('\n', " | ").replace(['\r', '\t'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(grid: &Grid, width: Option<usize>) -> Vec<String> {
        let mut out = Vec::new();
        grid.write(&mut out, width).unwrap();
        String::from_utf8(out).unwrap().lines().map(str::to_owned).collect()
    }

    #[test]
    fn a_table_fits_the_room_and_is_whole_without_a_limit() {
        let mut grid = Grid::new(&[("HITS", Align::Right), ("RULE", Align::Left), ("FILE", Align::Left)]);
        grid.push(vec![
            "12".into(),
            "Suspicious Program Location with Network Connections".into(),
            "a/b/c.yml:1".into(),
        ]);
        grid.push(vec!["3".into(), "Short".into(), "line\nbreak".into()]);
        let whole = written(&grid, None);
        assert!(whole[1].contains("Suspicious Program Location with Network Connections"));
        assert!(whole[2].ends_with("line | break"), "{:?}", whole[2]);
        let narrow = written(&grid, Some(40));
        assert!(narrow.iter().all(|line| measure_text_width(line) <= 40), "{narrow:#?}");
        assert!(narrow[1].contains('…') && narrow[1].starts_with("  12"));
    }
}
