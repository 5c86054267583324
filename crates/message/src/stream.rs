//! Framing SIP messages out of a byte stream (TCP, TLS; RFC 3261 §18.3) with
//! CRLF keep-alives (RFC 5626 §3.5.1).

use crate::limits::{Limits, Mode};
use crate::parser::parse_with;
use crate::scan;
use crate::{ErrorKind, HeaderName, Limit, Message, ParseError};

/// What [`StreamDecoder::decode`] found at the front of the buffer.
// `Message` is large (inline header slots); boxing it would allocate per message.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Event<'a> {
    /// A complete, valid message.
    Message(Message<'a>),
    /// A complete message (framed by its Content-Length) that failed
    /// validation; the stream goes on. Answer it per [`crate::wire_reply`].
    Invalid {
        /// Why it is invalid.
        error: ParseError,
        /// The message's bytes.
        bytes: &'a [u8],
    },
    /// A double CRLF keep-alive ping; the transport answers with one CRLF (RFC 5626 §3.5.1).
    Ping,
    /// A single CRLF: the pong answering our ping.
    Pong,
    /// Not enough bytes yet: push more and decode again.
    Partial,
}

/// Incremental decoder: push bytes as they arrive, then call
/// [`decode`](StreamDecoder::decode) until it returns [`Event::Partial`].
///
/// Errors from `decode` are fatal for the connection (framing is lost:
/// missing or bad Content-Length, a header section or body over the limit);
/// the decoder keeps returning the same error.
///
/// ```
/// use sipkit_message::{StreamDecoder, Event, Limits};
/// let mut d = StreamDecoder::new(Limits::default());
/// d.push(b"\r\n\r\nOPTIONS sip:b@example.com SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\n").unwrap();
/// assert!(matches!(d.decode(), Ok(Event::Ping)));
/// assert!(matches!(d.decode(), Ok(Event::Partial)));
/// d.push(b"To: <sip:b@example.com>\r\nFrom: <sip:a@example.com>;tag=1\r\nCall-ID: x\r\n\
/// CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n").unwrap();
/// match d.decode() {
///     Ok(Event::Message(m)) => assert_eq!(m.call_id(), "x"),
///     other => panic!("{other:?}"),
/// }
/// ```
#[derive(Debug, Clone)]
pub struct StreamDecoder {
    buf: Vec<u8>,
    start: usize,
    limits: Limits,
    max_buffered: usize,
    failed: Option<ParseError>,
    /// Bytes after `start` already searched for the end of the header
    /// section, so a peer sending a byte at a time does not cause rescans.
    scanned: usize,
}

impl StreamDecoder {
    /// A decoder with these limits; at most twice `max_message_size` bytes
    /// may wait in the buffer.
    pub fn new(limits: Limits) -> Self {
        StreamDecoder {
            buf: Vec::new(),
            start: 0,
            limits,
            max_buffered: limits.max_message_size.saturating_mul(2),
            failed: None,
            scanned: 0,
        }
    }

    /// Bytes received but not yet decoded.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.start
    }

    /// True once a fatal error was returned.
    pub fn is_failed(&self) -> bool {
        self.failed.is_some()
    }

    /// Appends received bytes. Fails (and poisons the decoder) if more than
    /// twice the message size limit would be waiting.
    pub fn push(&mut self, data: &[u8]) -> Result<(), ParseError> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        if self.buf.len() + data.len() > self.max_buffered {
            let e = ParseError::at(
                &self.buf,
                self.buf.len(),
                ErrorKind::TooLarge {
                    limit: Limit::MessageSize,
                    max: self.max_buffered,
                },
            );
            self.failed = Some(e);
            return Err(e);
        }
        self.buf.extend_from_slice(data);
        Ok(())
    }

    fn fail(&mut self, e: ParseError) -> ParseError {
        self.failed = Some(e);
        e
    }

    /// Decodes the next event from the buffered bytes.
    pub fn decode(&mut self) -> Result<Event<'_>, ParseError> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        let data = &self.buf[self.start..];
        let total = match next_frame(data, &self.limits, &mut self.scanned) {
            Ok(Step::Partial) => return Ok(Event::Partial),
            Ok(Step::Ping) => {
                self.start += 4;
                return Ok(Event::Ping);
            }
            Ok(Step::Pong) => {
                self.start += 2;
                return Ok(Event::Pong);
            }
            Ok(Step::Message(total)) => total,
            Err(e) => return Err(self.fail(e)),
        };
        let s = self.start;
        self.start += total;
        let bytes = &self.buf[s..s + total];
        Ok(match parse_with(bytes, &self.limits, Mode::Stream) {
            Ok(m) => Event::Message(m),
            Err(error) => Event::Invalid { error, bytes },
        })
    }
}

/// What the bytes at the front of a stream hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// Not enough bytes to tell.
    Partial,
    /// CRLF CRLF: a keep-alive ping (4 bytes).
    Ping,
    /// CRLF: a pong (2 bytes).
    Pong,
    /// A message of this many bytes, framed by its Content-Length (not yet
    /// validated).
    Message(usize),
}

/// Frames the front of `data` as RFC 3261 §18.3 and RFC 5626 §3.5.1 say:
/// keep-alives, then a header section ended by an empty line and a body of
/// Content-Length bytes. An error means framing is lost (no, a bad or an
/// ambiguous Content-Length, or over the size limit); its position is in
/// `data`. `scanned` carries, between calls on a growing `data`, how much was
/// already searched for the end of the header section (0 to start); it is
/// reset once a frame is found.
pub(crate) fn next_frame(
    data: &[u8],
    limits: &Limits,
    scanned: &mut usize,
) -> Result<Step, ParseError> {
    if data.is_empty() {
        return Ok(Step::Partial);
    }
    if data[0] == b'\r' {
        match data {
            [b'\r', b'\n', b'\r', b'\n', ..] => {
                *scanned = 0;
                return Ok(Step::Ping);
            }
            [b'\r'] | [b'\r', b'\n', b'\r'] => return Ok(Step::Partial),
            [b'\r', b'\n', ..] => {
                *scanned = 0;
                return Ok(Step::Pong);
            }
            _ => {}
        }
    }
    let max = limits.max_message_size;
    let window = &data[..data.len().min(max.saturating_add(4))];
    let from = scanned.saturating_sub(3).min(window.len());
    let found = scan::find_head_end(&window[from..]).map(|k| from + k);
    // Resume after what was searched; once found, the end stays findable.
    *scanned = found.unwrap_or(window.len());
    let Some(k) = found else {
        if data.len() > max {
            return Err(ParseError::at(
                data,
                max,
                ErrorKind::TooLarge {
                    limit: Limit::MessageSize,
                    max,
                },
            ));
        }
        return Ok(Step::Partial);
    };
    let cl = match content_length(&data[..k + 2])? {
        Some(n) => n,
        None => {
            return Err(ParseError::at(data, k + 2, ErrorKind::MissingContentLength)
                .with_header(HeaderName::ContentLength))
        }
    };
    let total = (k + 4).saturating_add(cl);
    if total > max {
        return Err(ParseError::at(
            data,
            k + 4,
            ErrorKind::TooLarge {
                limit: Limit::MessageSize,
                max,
            },
        )
        .with_header(HeaderName::ContentLength));
    }
    if data.len() < total {
        return Ok(Step::Partial);
    }
    *scanned = 0;
    Ok(Step::Message(total))
}

/// Finds Content-Length (or `l`) in a header section; a second, different
/// value makes framing ambiguous (RFC 4475 §3.3.9).
fn content_length(head: &[u8]) -> Result<Option<usize>, ParseError> {
    let mut found: Option<(usize, usize)> = None;
    let mut i = 0;
    while i < head.len() {
        let e = memchr::memchr(b'\n', &head[i..]).map_or(head.len(), |k| i + k);
        let line = &head[i..e];
        let ne = scan::take_while(line, 0, scan::is_token);
        let c = scan::take_while(line, ne, |c| c == b' ' || c == b'\t');
        let name = &line[..ne];
        if line.get(c) == Some(&b':')
            && (name.eq_ignore_ascii_case(b"content-length") || name.eq_ignore_ascii_case(b"l"))
        {
            // The value, with any folded continuation lines.
            let vs = i + c + 1;
            let mut ve = e;
            while ve + 1 < head.len() && matches!(head[ve + 1], b' ' | b'\t') {
                ve = memchr::memchr(b'\n', &head[ve + 1..]).map_or(head.len(), |k| ve + 1 + k);
            }
            let v = &head[vs..ve.min(head.len())];
            let s = scan::skip_lws(v, 0);
            let t = v.len() - v.iter().rev().take_while(|&&c| scan::is_lws(c)).count();
            let digits = if s < t { &v[s..t] } else { &v[..0] };
            let n = match scan::digits_u64(digits).and_then(|n| usize::try_from(n).ok()) {
                Some(n) if digits.iter().all(u8::is_ascii_digit) => n,
                _ => {
                    return Err(
                        ParseError::at(head, vs + s, ErrorKind::InvalidContentLength)
                            .with_header(HeaderName::ContentLength),
                    )
                }
            };
            if let Some((prev, _)) = found {
                if prev != n {
                    return Err(ParseError::at(
                        head,
                        i,
                        ErrorKind::DuplicateHeader(HeaderName::ContentLength),
                    )
                    .with_header(HeaderName::ContentLength));
                }
            }
            found = Some((n, i));
        }
        i = e + 1;
    }
    Ok(found.map(|(n, _)| n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_length_scan() {
        assert_eq!(
            content_length(b"INVITE x SIP/2.0\r\nl: 12\r\n").unwrap(),
            Some(12)
        );
        assert_eq!(
            content_length(b"INVITE x SIP/2.0\r\nContent-Length:\r\n 7\r\n").unwrap(),
            Some(7)
        );
        assert_eq!(
            content_length(b"INVITE x SIP/2.0\r\nTo: a\r\n").unwrap(),
            None
        );
        assert!(content_length(b"X\r\nContent-Length: -999\r\n").is_err());
        assert!(content_length(b"X\r\nContent-Length: 13\r\nContent-Length: 5\r\n").is_err());
    }
}
