//! Frames of a byte stream held whole in memory — a TCP stream reassembled
//! from a capture, a file of messages — with where each one starts.
//! Framing is the receiver's (RFC 3261 §18.3, RFC 5626 §3.5.1), the same
//! as [`StreamDecoder`](crate::StreamDecoder)'s, without copying the bytes.

use crate::error::Position;
use crate::limits::{Limits, Mode};
use crate::message::Message;
use crate::parser::parse_with;
use crate::stream::{next_frame, Step};
use crate::{ErrorKind, ParseError};

/// An iterator over the frames of a stream: messages, keep-alives and, at
/// the end, what could not be framed. Each frame says where it starts in
/// the stream ([`Frame::at`]); an error found in a frame (framing, parsing,
/// a header value read later) is positioned in the frame, as the receiver of
/// that frame would report it, and [`Frame::locate`] positions it in the
/// stream.
///
/// ```
/// use sipkit_message::{FrameKind, Frames, Limits};
/// let msg = "OPTIONS sip:b@example.com SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\n\
/// To: <sip:b@example.com>\r\nFrom: <sip:a@example.com>;tag=1\r\nCall-ID: x\r\n\
/// CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n";
/// let stream = format!("\r\n\r\n{msg}{msg}OPTIONS sip:b@example.com SIP/2.0\r\n");
/// let frames: Vec<_> = Frames::new(stream.as_bytes(), Limits::default()).collect();
/// assert_eq!(frames.len(), 4);
/// assert_eq!(frames[0].kind, FrameKind::Ping);
/// assert_eq!((frames[1].at.offset, frames[1].at.line), (4, 3));
/// assert_eq!(frames[2].parse().unwrap().call_id(), "x");
/// let FrameKind::Truncated(err) = frames[3].kind else { panic!() };
/// assert_eq!((err.line, err.column), (2, 1)); // in the frame
/// let err = frames[3].locate(err);
/// assert_eq!((err.line, err.column), (22, 1)); // in the stream
/// ```
#[derive(Debug, Clone)]
pub struct Frames<'a> {
    data: &'a [u8],
    limits: Limits,
    at: Position,
    done: bool,
}

/// One frame of a stream (see [`Frames`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    /// Where the frame starts in the stream.
    pub at: Position,
    /// The frame's bytes.
    pub bytes: &'a [u8],
    /// What the frame holds.
    pub kind: FrameKind,
    limits: Limits,
}

/// What a [`Frame`] holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameKind {
    /// A message framed by its Content-Length; [`Frame::parse`] checks it
    /// (it may still be invalid, and the stream goes on).
    Message,
    /// CRLF CRLF: a keep-alive ping, answered with CRLF (RFC 5626 §3.5.1).
    Ping,
    /// CRLF: a pong.
    Pong,
    /// The stream ends inside a message; the error says what is missing.
    /// The last frame.
    Truncated(ParseError),
    /// Framing is lost: no, a bad or an ambiguous Content-Length, or a
    /// message over the size limit. The frame is the rest of the stream.
    /// The last frame.
    Lost(ParseError),
}

impl<'a> Frames<'a> {
    /// The frames of `data`, framed with these limits.
    pub fn new(data: &'a [u8], limits: Limits) -> Self {
        Frames {
            data,
            limits,
            at: Position::START,
            done: false,
        }
    }

    fn frame(&mut self, len: usize, kind: FrameKind) -> Frame<'a> {
        let o = self.at.offset;
        let bytes = &self.data[o..o + len];
        let frame = Frame {
            at: self.at,
            bytes,
            kind,
            limits: self.limits,
        };
        self.at = self.at.advanced(bytes);
        frame
    }
}

impl<'a> Iterator for Frames<'a> {
    type Item = Frame<'a>;

    fn next(&mut self) -> Option<Frame<'a>> {
        let rest = self.data.get(self.at.offset..)?;
        if self.done || rest.is_empty() {
            return None;
        }
        let kind = match next_frame(rest, &self.limits, &mut 0) {
            Ok(Step::Ping) => return Some(self.frame(4, FrameKind::Ping)),
            Ok(Step::Pong) => return Some(self.frame(2, FrameKind::Pong)),
            Ok(Step::Message(n)) => return Some(self.frame(n, FrameKind::Message)),
            Ok(Step::Partial) => FrameKind::Truncated(truncation(rest, &self.limits)),
            Err(e) => FrameKind::Lost(e),
        };
        self.done = true;
        Some(self.frame(rest.len(), kind))
    }
}

impl std::iter::FusedIterator for Frames<'_> {}

impl<'a> Frame<'a> {
    /// Parses a [`FrameKind::Message`] frame as a stream receiver does
    /// ([`Mode::Stream`]). The message borrows the frame; its errors, and
    /// those read from it later, are positioned in the frame.
    pub fn parse(&self) -> Result<Message<'a>, ParseError> {
        parse_with(self.bytes, &self.limits, Mode::Stream)
    }

    /// An error positioned in this frame, positioned in the stream.
    pub fn locate(&self, e: ParseError) -> ParseError {
        e.located_at(self.at)
    }
}

/// Why the last bytes of a stream are not a message: parsing them says it
/// (no empty line after the headers, or a short body).
fn truncation(rest: &[u8], limits: &Limits) -> ParseError {
    match parse_with(rest, limits, Mode::Stream) {
        Err(e) => e,
        // The framer yields every complete message, so this is not expected;
        // report the end of the input all the same.
        Ok(_) => ParseError::at(rest, rest.len(), ErrorKind::Truncated),
    }
}
