//! The catalog as one page: the data inline as JSON, rendered by the page's script into
//! views by technique, by false positive, per rule and by search.

use crate::Catalog;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use flate2::Compression;
use flate2::write::GzEncoder;
use std::io::{BufWriter, Write};

const TEMPLATE: &str = include_str!("assets/catalog.html");
const STYLE: &str = include_str!("assets/catalog.css");
const SCRIPT: &str = include_str!("assets/catalog.js");

/// Writes the page. The data is gzip-compressed and base64-encoded (a tenth of its size: the
/// browser reads the file sooner and inflates it natively); the conversions, half the data,
/// go in an element of their own that the page inflates after it first shows.
pub(crate) fn write(catalog: &Catalog, out: &mut dyn Write) -> std::io::Result<()> {
    let mut data = serde_json::to_value(catalog).map_err(std::io::Error::other)?;
    let conversions: Vec<serde_json::Value> = data["rules"]
        .as_array_mut()
        .expect("rules are a list")
        .iter_mut()
        .map(|rule| rule.as_object_mut().and_then(|rule| rule.remove("conversions")).unwrap_or_default())
        .collect();
    let page = TEMPLATE.replace("{{STYLE}}", STYLE).replace("{{SCRIPT}}", SCRIPT);
    let (before, rest) = page.split_once("{{DATA}}").expect("the template has a data slot");
    let (between, after) = rest.split_once("{{CONVERSIONS}}").expect("the template has a conversions slot");
    out.write_all(before.as_bytes())?;
    out.write_all(packed(&data)?.as_bytes())?;
    out.write_all(between.as_bytes())?;
    out.write_all(packed(&conversions)?.as_bytes())?;
    out.write_all(after.as_bytes())
}

/// JSON, gzip-compressed, in base64: text that can never close its script element.
fn packed(value: &impl serde::Serialize) -> std::io::Result<String> {
    // The encoder readies its whole output buffer on every write: JSON's many small writes
    // go through a buffer.
    let mut gzip = BufWriter::with_capacity(1 << 20, GzEncoder::new(Vec::new(), Compression::fast()));
    serde_json::to_writer(&mut gzip, value).map_err(std::io::Error::other)?;
    let gzip = gzip.into_inner().map_err(|error| error.into_error())?;
    Ok(STANDARD.encode(gzip.finish()?))
}
