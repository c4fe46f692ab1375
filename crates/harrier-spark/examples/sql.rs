//! Runs Spark SQL statements on a Spark Connect server and prints each result row as JSON:
//! `cargo run -p harrier-spark --example sql -- sc://127.0.0.1:15002 'SELECT 1' @more.sql`
//! (`@FILE`: the statement in that file).

fn main() -> Result<(), String> {
    let mut arguments = std::env::args().skip(1);
    let url = arguments.next().ok_or("usage: sql URL STATEMENT...")?;
    let mut cluster = harrier_spark::Cluster::connect(&url, std::time::Duration::from_secs(3600))?;
    for argument in arguments {
        let statement = match argument.strip_prefix('@') {
            Some(file) => std::fs::read_to_string(file).map_err(|error| format!("{file}: {error}"))?,
            None => argument,
        };
        let start = std::time::Instant::now();
        let rows = harrier_spark::rows(&cluster.query(&statement)?);
        eprintln!("-- {} rows in {:.2} s", rows.len(), start.elapsed().as_secs_f64());
        for row in rows {
            let object: serde_json::Map<String, serde_json::Value> =
                row.into_iter().map(|(name, value)| (name, serde_json::to_value(&value).unwrap_or_default())).collect();
            println!("{}", serde_json::Value::Object(object));
        }
    }
    Ok(())
}
