//! The one error type of this crate: where a header value stopped parsing.

/// Why a challenge or credentials header value did not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The scheme is not `Digest`.
    NotDigest,
    /// A parameter name was expected.
    ExpectedName,
    /// `=` was expected after a parameter name.
    ExpectedEquals,
    /// A parameter value was expected after `=`.
    ExpectedValue,
    /// A comma was expected between parameters.
    ExpectedComma,
    /// A quoted-string has no closing quote.
    UnterminatedQuote,
    /// A backslash at the end of a quoted-string, or before CR or LF.
    BadEscape,
    /// A control character in a value.
    ControlCharacter,
    /// A value is not UTF-8.
    InvalidUtf8,
    /// A parameter appears twice.
    DuplicateParam(&'static str),
    /// A required parameter is missing.
    MissingParam(&'static str),
    /// `nc` is not 8 hexadecimal digits (RFC 7616 §3.4).
    BadNonceCount,
    /// `qop` is given without `cnonce` or `nc`, or names several values.
    BadQop,
    /// `response` is not hexadecimal.
    BadResponse,
}

/// A challenge or credentials value that does not parse, and where.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{kind} at byte {offset}")]
pub struct ParseError {
    /// What is wrong.
    pub kind: ErrorKind,
    /// Byte offset in the header value.
    pub offset: usize,
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ErrorKind::NotDigest => f.write_str("expected the Digest scheme"),
            ErrorKind::ExpectedName => f.write_str("expected a parameter name"),
            ErrorKind::ExpectedEquals => f.write_str("expected '=' after a parameter name"),
            ErrorKind::ExpectedValue => f.write_str("expected a parameter value"),
            ErrorKind::ExpectedComma => f.write_str("expected ',' between parameters"),
            ErrorKind::UnterminatedQuote => f.write_str("unterminated quoted string"),
            ErrorKind::BadEscape => f.write_str("bad backslash escape in a quoted string"),
            ErrorKind::ControlCharacter => f.write_str("control character in a value"),
            ErrorKind::InvalidUtf8 => f.write_str("value is not UTF-8"),
            ErrorKind::DuplicateParam(p) => write!(f, "duplicate parameter {p}"),
            ErrorKind::MissingParam(p) => write!(f, "missing parameter {p}"),
            ErrorKind::BadNonceCount => f.write_str("nc must be 8 hexadecimal digits"),
            ErrorKind::BadQop => f.write_str("qop needs cnonce and nc, and names one value"),
            ErrorKind::BadResponse => f.write_str("response must be hexadecimal"),
        }
    }
}
