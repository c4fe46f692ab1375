//! The files of a tar archive, one after another, as one stream (Splunk's attack_data ships
//! logs as `.tar.gz` archives of one text file).

use std::io::{self, Read};

const BLOCK: usize = 512;

/// Reads the contents of the regular files of a tar stream, headers and padding left out.
pub(crate) struct Contents<R> {
    inner: R,
    /// Bytes of the current file still to give, then padding to skip.
    remaining: u64,
    padding: u64,
    finished: bool,
}

impl<R: Read> Contents<R> {
    pub(crate) fn new(inner: R) -> Contents<R> {
        Contents { inner, remaining: 0, padding: 0, finished: false }
    }

    /// Moves to the next regular file with content; false at the end of the archive.
    fn next_file(&mut self) -> io::Result<bool> {
        loop {
            io::copy(&mut (&mut self.inner).take(self.padding), &mut io::sink())?;
            self.padding = 0;
            let mut header = [0u8; BLOCK];
            if !read_block(&mut self.inner, &mut header)? || header.iter().all(|&byte| byte == 0) {
                return Ok(false);
            }
            let size = octal(&header[124..136])
                .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "tar header with a bad size"))?;
            let padding = (BLOCK as u64 - size % BLOCK as u64) % BLOCK as u64;
            let regular = matches!(header[156], b'0' | 0);
            if regular && size > 0 {
                (self.remaining, self.padding) = (size, padding);
                return Ok(true);
            }
            self.padding = size + padding;
        }
    }
}

impl<R: Read> Read for Contents<R> {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        while self.remaining == 0 {
            if self.finished || !self.next_file()? {
                self.finished = true;
                return Ok(0);
            }
        }
        let wanted = buffer.len().min(self.remaining as usize);
        let read = self.inner.read(&mut buffer[..wanted])?;
        if read == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "tar archive cut inside a file"));
        }
        self.remaining -= read as u64;
        Ok(read)
    }
}

/// Fills a block; false at a clean end of stream.
fn read_block(reader: &mut impl Read, block: &mut [u8]) -> io::Result<bool> {
    let mut filled = 0;
    while filled < block.len() {
        match reader.read(&mut block[filled..])? {
            0 if filled == 0 => return Ok(false),
            0 => return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "tar header cut short")),
            count => filled += count,
        }
    }
    Ok(true)
}

fn octal(field: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(field).ok()?.trim_matches(|c: char| c == '\0' || c == ' ');
    if text.is_empty() { Some(0) } else { u64::from_str_radix(text, 8).ok() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(name: &str, size: usize, kind: u8) -> Vec<u8> {
        let mut block = vec![0u8; BLOCK];
        block[..name.len()].copy_from_slice(name.as_bytes());
        let size = format!("{size:011o}\0");
        block[124..136].copy_from_slice(size.as_bytes());
        block[156] = kind;
        block[257..262].copy_from_slice(b"ustar");
        block
    }

    #[test]
    fn files_come_out_without_headers_or_padding() {
        let mut archive = header("dir", 0, b'5');
        archive.extend(header("a.json", 3, b'0'));
        archive.extend(b"{}\n");
        archive.extend(vec![0u8; BLOCK - 3]);
        archive.extend(header("b.json", 2, b'0'));
        archive.extend(b"{}");
        archive.extend(vec![0u8; BLOCK - 2 + 2 * BLOCK]);
        let mut text = String::new();
        Contents::new(archive.as_slice()).read_to_string(&mut text).unwrap();
        assert_eq!(text, "{}\n{}");
        let cut = &archive[..BLOCK * 2 + 1];
        assert!(Contents::new(cut).read_to_string(&mut String::new()).is_err());
    }
}
