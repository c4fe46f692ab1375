//! Telling formats apart by their first bytes.

use std::fmt;

/// A file format Harrier reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Evtx,
    /// JSON Lines, concatenated or pretty-printed objects, or arrays of objects.
    Json,
    /// Rendered Windows events (`<Event xmlns=...>`), as Splunk's XmlWinEventLog keeps them.
    Xml,
    /// gzip around one of the others.
    Gzip(Inner),
}

/// The format inside a gzip stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inner {
    Evtx,
    Json,
    Xml,
    /// A tar archive whose files hold JSON (Splunk attack_data's `.tar.gz`).
    TarJson,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Evtx => "evtx",
            Format::Json => "json",
            Format::Xml => "xml",
            Format::Gzip(Inner::Evtx) => "evtx+gzip",
            Format::Gzip(Inner::Json) => "json+gzip",
            Format::Gzip(Inner::Xml) => "xml+gzip",
            Format::Gzip(Inner::TarJson) => "json+tar+gzip",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

pub(crate) const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];
const EVTX_MAGIC: &[u8] = b"ElfFile\0";
const UTF8_BOM: &[u8] = &[0xef, 0xbb, 0xbf];

/// What the first bytes of a (decompressed) stream say it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sniffed {
    Evtx,
    Json,
    Xml,
    Tar,
    Gzip,
    Empty,
    Unknown,
}

pub(crate) fn sniff(prefix: &[u8]) -> Sniffed {
    if prefix.starts_with(EVTX_MAGIC) {
        return Sniffed::Evtx;
    }
    if prefix.starts_with(GZIP_MAGIC) {
        return Sniffed::Gzip;
    }
    if prefix.get(257..262) == Some(b"ustar") {
        return Sniffed::Tar;
    }
    let text = prefix.strip_prefix(UTF8_BOM).unwrap_or(prefix);
    match text.iter().find(|byte| !byte.is_ascii_whitespace()) {
        None if prefix.len() < crate::inputs::SNIFF_BYTES => Sniffed::Empty,
        Some(b'{' | b'[') => Sniffed::Json,
        Some(b'<') if memchr::memmem::find(text, b"<Event").is_some() => Sniffed::Xml,
        _ => Sniffed::Unknown,
    }
}

/// A short, printable description of bytes that are not a known format.
pub(crate) fn describe(prefix: &[u8]) -> String {
    let shown: String = prefix
        .iter()
        .take(16)
        .map(|&byte| if byte.is_ascii_graphic() || byte == b' ' { byte as char } else { '.' })
        .collect();
    format!("not an EVTX, JSON, XML or gzip file (starts with \"{shown}\")")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_told_by_content() {
        assert_eq!(sniff(b"ElfFile\0rest"), Sniffed::Evtx);
        assert_eq!(sniff(&[0x1f, 0x8b, 8, 0]), Sniffed::Gzip);
        assert_eq!(sniff(b"\xef\xbb\xbf  \n{\"a\":1}"), Sniffed::Json);
        assert_eq!(sniff(b"[{}]"), Sniffed::Json);
        assert_eq!(sniff(b"MZ\x90\0"), Sniffed::Unknown);
        assert_eq!(sniff(b""), Sniffed::Empty);
        assert_eq!(sniff(b"  \n "), Sniffed::Empty);
    }
}
