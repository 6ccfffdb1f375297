//! Reading history files: plain or gzip, line by line, with a cap on how much of one line
//! is held.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use anyhow::Context;

/// A file, gzip-decoded when it starts with the gzip magic bytes, or stdin for `-`.
pub(super) fn open(path: &Path) -> anyhow::Result<Box<dyn BufRead>> {
    let raw: Box<dyn Read> = if path.as_os_str() == "-" {
        Box::new(io::stdin().lock())
    } else {
        Box::new(File::open(path).with_context(|| format!("while opening {}", path.display()))?)
    };
    let mut reader = BufReader::with_capacity(1 << 16, raw);
    let gzip = reader
        .fill_buf()
        .with_context(|| format!("while reading {}", path.display()))?
        .starts_with(&[0x1f, 0x8b]);
    Ok(if gzip {
        Box::new(BufReader::with_capacity(
            1 << 16,
            flate2::bufread::MultiGzDecoder::new(reader),
        ))
    } else {
        Box::new(reader)
    })
}

pub(super) enum Line {
    Complete,
    /// Longer than the cap: skipped to its end without being held in memory.
    Oversized(usize),
    End,
}

/// Reads one line into `buf` (without the newline), holding at most `cap` bytes of it.
pub(super) fn read_line_capped(
    reader: &mut dyn BufRead,
    buf: &mut Vec<u8>,
    cap: usize,
) -> io::Result<Line> {
    buf.clear();
    let mut len = 0usize;
    let mut any = false;
    loop {
        let chunk = reader.fill_buf()?;
        if chunk.is_empty() {
            return Ok(match (any, len > cap) {
                (false, _) => Line::End,
                (true, true) => Line::Oversized(len),
                (true, false) => Line::Complete,
            });
        }
        any = true;
        let (part, done) = match chunk.iter().position(|b| *b == b'\n') {
            Some(i) => (&chunk[..i], Some(i + 1)),
            None => (chunk, None),
        };
        len += part.len();
        if len <= cap {
            buf.extend_from_slice(part);
        } else {
            buf.clear();
        }
        let used = done.unwrap_or(chunk.len());
        reader.consume(used);
        if done.is_some() {
            return Ok(if len > cap {
                Line::Oversized(len)
            } else {
                Line::Complete
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_are_skipped_without_being_held() {
        let text = format!("short\n{}\nlast", "x".repeat(100));
        let mut reader = BufReader::with_capacity(8, text.as_bytes());
        let mut buf = Vec::new();
        let mut seen = Vec::new();
        loop {
            match read_line_capped(&mut reader, &mut buf, 10).expect("read") {
                Line::End => break,
                Line::Complete => seen.push(String::from_utf8_lossy(&buf).into_owned()),
                Line::Oversized(n) => seen.push(format!("<{n}>")),
            }
            assert!(buf.len() <= 10);
        }
        assert_eq!(seen, ["short", "<100>", "last"]);
    }
}
