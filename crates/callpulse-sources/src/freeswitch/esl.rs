//! FreeSWITCH's event socket framing (`mod_event_socket`), without I/O: bytes in, frames
//! out. A frame is a block of `Name: value` header lines ended by a blank line, followed by
//! `Content-Length` bytes of body when that header is there. A `text/event-plain` frame's
//! body is itself such a header block: the event, its values URL-encoded.

use std::collections::BTreeMap;

/// One frame: its headers and body.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Frame {
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
}

impl Frame {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }

    /// The frame's `Content-Type`.
    pub fn content_type(&self) -> Option<&str> {
        self.header("Content-Type")
    }
}

/// Why the stream cannot be framed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("Content-Length {0:?} is not a byte count")]
    BadLength(String),
    #[error("frame of {0} bytes is larger than the {1}-byte limit")]
    TooLarge(usize, usize),
}

/// Splits a byte stream into frames as it arrives.
#[derive(Debug, Default)]
pub struct Framer {
    buf: Vec<u8>,
    /// Headers read, waiting for their body.
    pending: Option<(BTreeMap<String, String>, usize)>,
}

/// Largest frame accepted: events are a few kilobytes; a runaway length is an error, not an
/// allocation.
const MAX_FRAME: usize = 4 << 20;

impl Framer {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds bytes read from the socket.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes held that make no complete frame yet.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// The bytes held past the last frame taken (with a frame's headers still waiting for
    /// its body put back in front): what arrived behind a handshake's reply, for the next
    /// reader of the stream.
    pub fn into_rest(self) -> Vec<u8> {
        match self.pending {
            None => self.buf,
            Some((headers, _)) => {
                let mut rest: Vec<u8> = headers
                    .iter()
                    .flat_map(|(name, value)| format!("{name}: {value}\n").into_bytes())
                    .collect();
                rest.push(b'\n');
                rest.extend(self.buf);
                rest
            }
        }
    }

    /// The next complete frame, if the bytes hold one.
    ///
    /// # Errors
    /// A `Content-Length` that is no number or past the limit: the stream cannot be resynced.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, FrameError> {
        loop {
            if let Some((_, length)) = &self.pending {
                let length = *length;
                if self.buf.len() < length {
                    return Ok(None);
                }
                let body: Vec<u8> = self.buf.drain(..length).collect();
                let (headers, _) = self.pending.take().unwrap_or_default();
                return Ok(Some(Frame { headers, body }));
            }
            // Blank lines between frames carry nothing.
            let skip = self.buf.iter().take_while(|b| **b == b'\n').count();
            self.buf.drain(..skip);
            let Some(end) = find_blank_line(&self.buf) else {
                if self.buf.len() > MAX_FRAME {
                    return Err(FrameError::TooLarge(self.buf.len(), MAX_FRAME));
                }
                return Ok(None);
            };
            let block: Vec<u8> = self.buf.drain(..end + 2).collect();
            let headers = headers(&String::from_utf8_lossy(&block), false);
            match headers.get("Content-Length") {
                None => {
                    return Ok(Some(Frame {
                        headers,
                        body: Vec::new(),
                    }));
                }
                Some(text) => {
                    let length: usize = text
                        .trim()
                        .parse()
                        .map_err(|_| FrameError::BadLength(text.clone()))?;
                    if length > MAX_FRAME {
                        return Err(FrameError::TooLarge(length, MAX_FRAME));
                    }
                    self.pending = Some((headers, length));
                }
            }
        }
    }
}

/// An event as `mod_event_socket` sends it in plain format: its headers, values
/// percent-encoded, framed with `Content-Length` (for fixtures, fake servers and captures).
pub fn event_frame(headers: &[(&str, &str)]) -> String {
    let body: String = headers
        .iter()
        .map(|(name, value)| format!("{name}: {}\n", percent_encode(value)))
        .collect::<String>()
        + "\n";
    format!(
        "Content-Length: {}\nContent-Type: text/event-plain\n\n{body}",
        body.len()
    )
}

fn percent_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Where the first `\n\n` starts.
fn find_blank_line(buf: &[u8]) -> Option<usize> {
    buf.windows(2).position(|w| w == b"\n\n")
}

/// `Name: value` lines; values percent-decoded when `encoded` (an event-plain body).
pub fn headers(text: &str, encoded: bool) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|line| line.split_once(": ").or_else(|| line.split_once(':')))
        .map(|(name, value)| {
            let value = value.trim_end_matches('\r');
            let value = if encoded {
                percent_decode(value)
            } else {
                value.to_owned()
            };
            (name.trim().to_owned(), value)
        })
        .collect()
}

/// `%XX` sequences decoded (FreeSWITCH URL-encodes event-plain values); a malformed one is
/// kept as written.
fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let decoded = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok());
        match decoded {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_split_anywhere_come_out_whole() {
        let body = "Event-Name: CUSTOM\nCC-Queue: support%40default\n\n";
        let stream = format!(
            "Content-Type: auth/request\n\n\
             Content-Type: command/reply\nReply-Text: +OK accepted\n\n\
             Content-Length: {}\nContent-Type: text/event-plain\n\n{body}",
            body.len()
        );
        for cut in 0..stream.len() {
            let mut f = Framer::new();
            let mut frames = Vec::new();
            for part in [&stream[..cut], &stream[cut..]] {
                f.push(part.as_bytes());
                while let Some(frame) = f.next_frame().expect("frames") {
                    frames.push(frame);
                }
            }
            assert_eq!(frames.len(), 3, "cut at {cut}");
            assert_eq!(frames[0].content_type(), Some("auth/request"));
            assert_eq!(frames[1].header("Reply-Text"), Some("+OK accepted"));
            let event = headers(&String::from_utf8_lossy(&frames[2].body), true);
            assert_eq!(event["CC-Queue"], "support@default");
            assert_eq!(f.buffered(), 0);
        }
    }

    #[test]
    fn a_bad_length_is_an_error_not_an_allocation() {
        let mut f = Framer::new();
        f.push(b"Content-Length: lots\n\n");
        assert!(matches!(f.next_frame(), Err(FrameError::BadLength(_))));
        let mut f = Framer::new();
        f.push(b"Content-Length: 99999999999\n\n");
        assert!(matches!(f.next_frame(), Err(FrameError::TooLarge(..))));
        assert_eq!(percent_decode("a%2Gb%20c%"), "a%2Gb c%");
        let frame = event_frame(&[("CC-Agent-Status", "Available (On Demand)")]);
        let mut f = Framer::new();
        f.push(frame.as_bytes());
        let frame = f.next_frame().expect("frame").expect("whole");
        let event = headers(&String::from_utf8_lossy(&frame.body), true);
        assert_eq!(event["CC-Agent-Status"], "Available (On Demand)");
    }
}
