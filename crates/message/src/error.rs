//! The one error type of the crate, and the one place that maps it to a wire
//! reply (RFC 3261 §8.2, §21.4).

use crate::HeaderName;

/// Which limit of [`crate::Limits`] was exceeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Limit {
    /// Total message size (or buffered bytes in the stream decoder).
    MessageSize,
    /// Number of header lines.
    HeaderCount,
    /// Nesting depth of comments or sipfrag bodies.
    Nesting,
}

impl std::fmt::Display for Limit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Limit::MessageSize => "message size",
            Limit::HeaderCount => "header count",
            Limit::Nesting => "nesting depth",
        })
    }
}

/// What went wrong. Each variant carries the data a reply or a log needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The input holds no message (empty, or only CRLFs).
    #[error("empty message: expected a request or status line")]
    Empty,
    /// The header section is not terminated by an empty line.
    #[error("truncated message: expected an empty line (CRLF CRLF) ending the headers")]
    Truncated,
    /// A line ends in LF without CR (RFC 3261 §7 requires CRLF).
    #[error("bare LF: expected CRLF line endings")]
    BareLf,
    /// A byte outside the header grammar (a control byte or bare CR).
    #[error("unexpected byte 0x{0:02x}")]
    InvalidByte(u8),
    /// The header section is not UTF-8 (RFC 3261 §7.3.1: TEXT-UTF8).
    #[error("invalid UTF-8 in the header section")]
    InvalidUtf8,
    /// The Request-Line (RFC 3261 §7.1) is malformed.
    #[error("invalid request line: expected {expected}")]
    InvalidRequestLine {
        /// What the grammar expected at that point.
        expected: &'static str,
    },
    /// The Status-Line (RFC 3261 §7.2) is malformed.
    #[error("invalid status line: expected {expected}")]
    InvalidStatusLine {
        /// What the grammar expected at that point.
        expected: &'static str,
    },
    /// The SIP-Version is not of the form `SIP/x.y`.
    #[error("invalid SIP version: expected SIP/2.0")]
    InvalidVersion,
    /// A well-formed version other than SIP/2.0; a server answers 505 (RFC 3261 §21.5.7).
    #[error("unsupported SIP version SIP/{major}.{minor}: expected SIP/2.0")]
    UnsupportedVersion {
        /// Major version number (saturating).
        major: u16,
        /// Minor version number (saturating).
        minor: u16,
    },
    /// The status code is not three digits in 100..=699 (RFC 3261 §7.2, RFC 4475 §3.1.2.19).
    #[error("invalid status code: expected three digits from 100 to 699")]
    InvalidStatusCode,
    /// A URI does not follow RFC 3261 §19.1 / §25.1.
    #[error("invalid URI: expected {expected}")]
    InvalidUri {
        /// What the grammar expected at that point.
        expected: &'static str,
    },
    /// A header line has no valid `token ":"` name.
    #[error("invalid header line: expected a header name (token) followed by ':'")]
    InvalidHeaderName,
    /// A header value does not follow its grammar.
    #[error("expected {expected}")]
    InvalidHeader {
        /// What the grammar expected at that point.
        expected: &'static str,
    },
    /// A number is outside its allowed range (CSeq < 2^31, Max-Forwards ≤ 255, …).
    #[error("number out of range: expected at most {max}")]
    OutOfRange {
        /// The largest allowed value.
        max: u64,
    },
    /// A mandatory header is absent (RFC 3261 §8.1.1).
    #[error("missing mandatory {0} header")]
    MissingHeader(HeaderName),
    /// A header that allows one value appears more than once (RFC 3261 §7.3.1, RFC 4475 §3.3.8).
    #[error("duplicate {0} header: expected it at most once")]
    DuplicateHeader(HeaderName),
    /// The CSeq method differs from the Request-Line method (RFC 3261 §8.1.1.5).
    #[error("CSeq method differs from the request method: expected them equal")]
    CSeqMethodMismatch,
    /// Content-Length is not a non-negative decimal number (RFC 4475 §3.1.2.3).
    #[error("invalid Content-Length: expected a non-negative decimal number")]
    InvalidContentLength,
    /// Content-Length declares more bytes than the datagram holds (RFC 3261 §18.3).
    #[error(
        "Content-Length declares {declared} bytes but the body has {actual}: expected them equal"
    )]
    ContentLengthMismatch {
        /// The value of Content-Length.
        declared: usize,
        /// Bytes available after the header section.
        actual: usize,
    },
    /// A stream-framed message has no Content-Length (RFC 3261 §18.3).
    #[error("missing Content-Length: expected one on a stream transport")]
    MissingContentLength,
    /// A configured limit was exceeded.
    #[error("{limit} exceeds the limit of {max}")]
    TooLarge {
        /// Which limit.
        limit: Limit,
        /// Its configured value.
        max: usize,
    },
}

/// Whether the failing message was a request, a response, or not known yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartKind {
    /// The start line was not recognised.
    Unknown,
    /// A request (it can be answered).
    Request,
    /// A response (it is dropped, never answered nor forwarded).
    Response,
}

/// A parse error: what, where (byte offset, 1-based line and column) and in
/// which header. Small and `Copy`; building one never allocates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseError {
    /// What went wrong.
    pub kind: ErrorKind,
    /// Byte offset into the input buffer.
    pub offset: usize,
    /// 1-based line number (lines end in LF).
    pub line: u32,
    /// 1-based column, counted in bytes.
    pub column: u32,
    /// The header involved, if any (`Other` for an unknown one).
    pub header: Option<HeaderName>,
    /// Whether the input was a request or a response.
    pub start: StartKind,
}

impl ParseError {
    /// Builds an error at `offset` into `buf`, computing line and column.
    pub(crate) fn at(buf: &[u8], offset: usize, kind: ErrorKind) -> ParseError {
        let offset = offset.min(buf.len());
        let before = &buf[..offset];
        let line = before.iter().filter(|&&c| c == b'\n').count() + 1;
        let line_start = before
            .iter()
            .rposition(|&c| c == b'\n')
            .map_or(0, |p| p + 1);
        ParseError {
            kind,
            offset,
            line: u32::try_from(line).unwrap_or(u32::MAX),
            column: u32::try_from(offset - line_start + 1).unwrap_or(u32::MAX),
            header: None,
            start: StartKind::Unknown,
        }
    }

    pub(crate) fn with_header(mut self, h: HeaderName) -> Self {
        self.header = Some(h);
        self
    }

    pub(crate) fn with_start(mut self, s: StartKind) -> Self {
        self.start = s;
        self
    }
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.header {
            Some(h)
                if !matches!(
                    self.kind,
                    ErrorKind::MissingHeader(_) | ErrorKind::DuplicateHeader(_)
                ) =>
            {
                write!(
                    f,
                    "invalid {h} header at line {}, column {}: {}",
                    self.line, self.column, self.kind
                )
            }
            _ => write!(
                f,
                "{} at line {}, column {}",
                self.kind, self.line, self.column
            ),
        }
    }
}

impl std::error::Error for ParseError {}

impl ParseError {
    /// Where the error is: byte offset, line and column.
    pub fn position(&self) -> Position {
        Position {
            offset: self.offset,
            line: self.line,
            column: self.column,
        }
    }

    /// The same error positioned in a larger buffer, for an error found in
    /// a part of it (a frame of a stream, a body) that starts at `origin`.
    ///
    /// ```
    /// use sipkit_message::{parse, Position};
    /// let stream = b"garbage\r\nINVITE sip:a@b SIP/9.0\r\n\r\n";
    /// let err = parse(&stream[9..]).unwrap_err();
    /// assert_eq!((err.line, err.column), (1, 16));
    /// let err = err.located_at(Position::of(stream, 9));
    /// assert_eq!((err.offset, err.line, err.column), (24, 2, 16));
    /// ```
    pub fn located_at(mut self, origin: Position) -> ParseError {
        if self.line <= 1 {
            self.column = self.column.saturating_add(origin.column.saturating_sub(1));
        }
        self.line = self.line.saturating_add(origin.line.saturating_sub(1));
        self.offset = self.offset.saturating_add(origin.offset);
        self
    }
}

/// A place in a buffer: byte offset, and the 1-based line (lines end in LF)
/// and column (in bytes) it falls on, as in [`ParseError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Position {
    /// Byte offset from the start of the buffer.
    pub offset: usize,
    /// 1-based line number.
    pub line: u32,
    /// 1-based column, counted in bytes.
    pub column: u32,
}

impl Position {
    /// The start of a buffer: offset 0, line 1, column 1.
    pub const START: Position = Position {
        offset: 0,
        line: 1,
        column: 1,
    };

    /// The position of `offset` in `buf` (clamped to its length).
    pub fn of(buf: &[u8], offset: usize) -> Position {
        Position::START.advanced(&buf[..offset.min(buf.len())])
    }

    /// The position just after `bytes`, which start at this position.
    pub fn advanced(self, bytes: &[u8]) -> Position {
        let lines = memchr::memchr_iter(b'\n', bytes).count();
        let column = match memchr::memrchr(b'\n', bytes) {
            Some(k) => bytes.len() - k,
            None => (self.column as usize).saturating_add(bytes.len()),
        };
        Position {
            offset: self.offset.saturating_add(bytes.len()),
            line: self
                .line
                .saturating_add(u32::try_from(lines).unwrap_or(u32::MAX)),
            column: u32::try_from(column).unwrap_or(u32::MAX),
        }
    }
}

/// The response a server sends for a request it could not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireReply {
    /// Status code: 400, 505 or 513.
    pub status: u16,
    /// Reason phrase for the status line.
    pub reason: &'static str,
    /// Warning code (RFC 3261 §20.43): 399 "miscellaneous warning".
    pub warn_code: u16,
    /// Warning text: the error's description, safe inside a quoted-string.
    pub warn_text: String,
}

impl WireReply {
    /// A complete Warning header value, `399 agent "text"` (RFC 3261 §20.43).
    pub fn warning_value(&self, agent: &str) -> String {
        format!("{} {} \"{}\"", self.warn_code, agent, self.warn_text)
    }
}

/// What to do with a message that failed to parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disposition {
    /// Answer the request with this response.
    Reply(WireReply),
    /// Drop silently: a bad response is never answered nor forwarded
    /// (RFC 4475 §3.1.2.5, §3.1.2.19), and unrecognisable input has no one to answer.
    Drop,
}

/// Maps a parse error to the wire reply — the only place that does
/// (400 with a Warning, 505 for a version, 513 for size; RFC 3261 §21.4, §21.5.7).
pub fn wire_reply(err: &ParseError) -> Disposition {
    if err.start != StartKind::Request {
        return Disposition::Drop;
    }
    let (status, reason) = match err.kind {
        ErrorKind::UnsupportedVersion { .. } => (505, "Version Not Supported"),
        ErrorKind::TooLarge {
            limit: Limit::MessageSize | Limit::HeaderCount,
            ..
        } => (513, "Message Too Large"),
        _ => (400, "Bad Request"),
    };
    let text = err.to_string().replace(['"', '\\'], "'");
    Disposition::Reply(WireReply {
        status,
        reason,
        warn_code: 399,
        warn_text: text,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(kind: ErrorKind) -> ParseError {
        ParseError::at(b"INVITE x\r\nTo: y\r\n", 12, kind).with_start(StartKind::Request)
    }

    fn status(kind: ErrorKind) -> u16 {
        match wire_reply(&req(kind)) {
            Disposition::Reply(r) => {
                assert_eq!(r.warn_code, 399);
                assert!(!r.warn_text.is_empty() && !r.warn_text.contains('"'));
                r.status
            }
            Disposition::Drop => 0,
        }
    }

    #[test]
    fn line_and_column() {
        let e = req(ErrorKind::InvalidHeaderName);
        assert_eq!((e.line, e.column, e.offset), (2, 3, 12));
        assert!(e.to_string().contains("line 2, column 3"));
    }

    #[test]
    fn wire_reply_per_variant() {
        use ErrorKind::*;
        let h = HeaderName::To;
        let cases: &[(ErrorKind, u16)] = &[
            (Empty, 400),
            (Truncated, 400),
            (BareLf, 400),
            (InvalidByte(0), 400),
            (InvalidUtf8, 400),
            (InvalidRequestLine { expected: "x" }, 400),
            (InvalidStatusLine { expected: "x" }, 400),
            (InvalidVersion, 400),
            (UnsupportedVersion { major: 7, minor: 0 }, 505),
            (InvalidStatusCode, 400),
            (InvalidUri { expected: "x" }, 400),
            (InvalidHeaderName, 400),
            (InvalidHeader { expected: "x" }, 400),
            (OutOfRange { max: 255 }, 400),
            (MissingHeader(h), 400),
            (DuplicateHeader(h), 400),
            (CSeqMethodMismatch, 400),
            (InvalidContentLength, 400),
            (
                ContentLengthMismatch {
                    declared: 9,
                    actual: 1,
                },
                400,
            ),
            (MissingContentLength, 400),
            (
                TooLarge {
                    limit: Limit::MessageSize,
                    max: 1,
                },
                513,
            ),
            (
                TooLarge {
                    limit: Limit::HeaderCount,
                    max: 1,
                },
                513,
            ),
            (
                TooLarge {
                    limit: Limit::Nesting,
                    max: 1,
                },
                400,
            ),
        ];
        for &(k, want) in cases {
            assert_eq!(status(k), want, "{k:?}");
        }
    }

    #[test]
    fn responses_and_unknown_input_are_dropped() {
        let e = ParseError::at(b"SIP/2.0 9999 x", 8, ErrorKind::InvalidStatusCode)
            .with_start(StartKind::Response);
        assert_eq!(wire_reply(&e), Disposition::Drop);
        let e = ParseError::at(b"", 0, ErrorKind::Empty);
        assert_eq!(wire_reply(&e), Disposition::Drop);
    }

    #[test]
    fn display_is_lowercase_and_says_where() {
        let e = req(ErrorKind::OutOfRange { max: 255 }).with_header(HeaderName::MaxForwards);
        let s = e.to_string();
        assert!(
            s.starts_with("invalid Max-Forwards header at line 2, column 3"),
            "{s}"
        );
        assert!(!s.ends_with('.'));
        assert!(std::mem::size_of::<ParseError>() <= 64);
    }
}
