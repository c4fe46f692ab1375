//! The catalog as one page: the data inline as JSON, rendered by the page's script into
//! views by technique, by false positive, per rule and by search.

use crate::Catalog;
use std::io::Write;

const TEMPLATE: &str = include_str!("assets/catalog.html");
const STYLE: &str = include_str!("assets/catalog.css");
const SCRIPT: &str = include_str!("assets/catalog.js");

pub(crate) fn write(catalog: &Catalog, out: &mut dyn Write) -> std::io::Result<()> {
    let json = serde_json::to_string(catalog).map_err(std::io::Error::other)?;
    // `<` only occurs inside JSON strings, where `\u003c` means the same: the data can then
    // never close its script element.
    let json = json.replace('<', "\\u003c");
    let page = TEMPLATE.replace("{{STYLE}}", STYLE).replace("{{SCRIPT}}", SCRIPT);
    let (before, after) = page.split_once("{{DATA}}").expect("the template has a data slot");
    out.write_all(before.as_bytes())?;
    out.write_all(json.as_bytes())?;
    out.write_all(after.as_bytes())
}
