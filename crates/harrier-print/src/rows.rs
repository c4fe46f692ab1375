//! SPL result rows as a table: one column per field, in the order fields first appear.

use crate::grid::{Align, Grid};
use harrier::{Row, Value};
use std::io::{self, Write};

/// Writes rows as a table, cut to `width` columns when there is a limit. `_time` (epoch
/// seconds, as `bin` and `stats by _time` leave it) is shown as a date.
pub fn write(out: &mut dyn Write, rows: &[Row], width: Option<usize>) -> io::Result<()> {
    let mut columns: Vec<&str> = Vec::new();
    for row in rows {
        for (name, _) in &row.fields {
            if !columns.contains(&name.name()) && name.name() != harrier_cim::DATAMODEL_FIELD {
                columns.push(name.name());
            }
        }
    }
    let header: Vec<(&str, Align)> = columns.iter().map(|column| (*column, Align::Left)).collect();
    let mut grid = Grid::new(&header);
    for row in rows {
        grid.push(columns.iter().map(|column| cell(row, column)).collect());
    }
    grid.write(out, width)
}

fn cell(row: &Row, column: &str) -> String {
    let Some(value) = row.get(column) else { return String::new() };
    if column == "_time"
        && let Some(date) = date(value)
    {
        return date;
    }
    harrier_pipeline::display(value)
}

/// Epoch seconds as `2024-05-01 13:00:00` (UTC).
fn date(value: &Value) -> Option<String> {
    let seconds = match value {
        Value::Int(seconds) => *seconds as f64,
        Value::Float(seconds) => *seconds,
        _ => return None,
    };
    let time = harrier::Timestamp::from_unix_micros((seconds * 1e6) as i64)?;
    Some(time.to_string()[..19].replace('T', " "))
}
