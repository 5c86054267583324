//! The auth-param list shared by challenges and credentials (RFC 3261 §25.1
//! `auth-param`, RFC 7616 §3.3–3.4, RFC 7235 §2.1): `name=token` or
//! `name="quoted string"`, separated by commas, with optional whitespace.

use crate::error::{ErrorKind, ParseError};

/// One `name=value` pair, the value unquoted and unescaped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    /// The name as written (compare case-insensitively).
    pub name: String,
    /// The value, without quotes or backslash escapes.
    pub value: String,
    /// Whether the value was a quoted-string on the wire.
    pub quoted: bool,
}

/// A cursor over one header value.
pub(crate) struct Cursor<'a> {
    s: &'a [u8],
    pub(crate) pos: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(s: &'a str) -> Self {
        Cursor {
            s: s.as_bytes(),
            pos: 0,
        }
    }

    fn err(&self, kind: ErrorKind) -> ParseError {
        ParseError {
            kind,
            offset: self.pos,
        }
    }

    pub(crate) fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\r' | b'\n') = self.s.get(self.pos) {
            self.pos += 1;
        }
    }

    pub(crate) fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    pub(crate) fn at_end(&self) -> bool {
        self.pos >= self.s.len()
    }

    /// A token (RFC 3261 §25.1); empty when none is here.
    pub(crate) fn token(&mut self) -> &'a str {
        let start = self.pos;
        while let Some(&b) = self.s.get(self.pos) {
            if is_token_byte(b) {
                self.pos += 1;
            } else {
                break;
            }
        }
        // Token bytes are ASCII, so this slice is on char boundaries.
        std::str::from_utf8(&self.s[start..self.pos]).unwrap_or("")
    }

    /// Whether the next non-blank thing after the token at the cursor is
    /// `=` (an auth-param) rather than a new scheme.
    pub(crate) fn next_is_param(&self) -> bool {
        let mut i = self.pos;
        while let Some(&b) = self.s.get(i) {
            if is_token_byte(b) {
                i += 1;
            } else {
                break;
            }
        }
        while let Some(b' ' | b'\t') = self.s.get(i) {
            i += 1;
        }
        self.s.get(i) == Some(&b'=')
    }

    /// One `name = value`.
    pub(crate) fn param(&mut self) -> Result<Param, ParseError> {
        let name = self.token();
        if name.is_empty() {
            return Err(self.err(ErrorKind::ExpectedName));
        }
        self.skip_ws();
        if self.peek() != Some(b'=') {
            return Err(self.err(ErrorKind::ExpectedEquals));
        }
        self.pos += 1;
        self.skip_ws();
        let (value, quoted) = if self.peek() == Some(b'"') {
            (self.quoted()?, true)
        } else {
            // Lenient: some clients send `uri=sip:a@b` unquoted; take
            // everything up to the next comma or blank.
            let start = self.pos;
            while let Some(&b) = self.s.get(self.pos) {
                if b == b',' || b == b' ' || b == b'\t' || b == b'"' {
                    break;
                }
                if b < 0x20 || b == 0x7f {
                    return Err(self.err(ErrorKind::ControlCharacter));
                }
                self.pos += 1;
            }
            if start == self.pos {
                return Err(self.err(ErrorKind::ExpectedValue));
            }
            let v = std::str::from_utf8(&self.s[start..self.pos])
                .map_err(|_| self.err(ErrorKind::InvalidUtf8))?;
            (v.to_owned(), false)
        };
        Ok(Param {
            name: name.to_owned(),
            value,
            quoted,
        })
    }

    /// A quoted-string starting at the cursor (RFC 3261 §25.1).
    fn quoted(&mut self) -> Result<String, ParseError> {
        let open = self.pos;
        self.pos += 1;
        let mut out = Vec::new();
        loop {
            match self.s.get(self.pos) {
                None => {
                    return Err(ParseError {
                        kind: ErrorKind::UnterminatedQuote,
                        offset: open,
                    })
                }
                Some(b'"') => {
                    self.pos += 1;
                    break;
                }
                Some(b'\\') => {
                    match self.s.get(self.pos + 1) {
                        Some(&b) if b != b'\r' && b != b'\n' => out.push(b),
                        _ => return Err(self.err(ErrorKind::BadEscape)),
                    }
                    self.pos += 2;
                }
                Some(&b) if (b < 0x20 && b != b'\t') || b == 0x7f => {
                    return Err(self.err(ErrorKind::ControlCharacter))
                }
                Some(&b) => {
                    out.push(b);
                    self.pos += 1;
                }
            }
        }
        String::from_utf8(out).map_err(|_| ParseError {
            kind: ErrorKind::InvalidUtf8,
            offset: open,
        })
    }

    /// After a param: a comma (consumed; returns true), the end (false), or
    /// an error.
    pub(crate) fn comma(&mut self) -> Result<bool, ParseError> {
        self.skip_ws();
        match self.peek() {
            None => Ok(false),
            Some(b',') => {
                self.pos += 1;
                self.skip_ws();
                // Empty list elements are allowed (RFC 7230 §7 `#rule`).
                while self.peek() == Some(b',') {
                    self.pos += 1;
                    self.skip_ws();
                }
                Ok(!self.at_end())
            }
            Some(_) => Err(self.err(ErrorKind::ExpectedComma)),
        }
    }
}

/// RFC 3261 §25.1 `token` characters.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'.' | b'!' | b'%' | b'*' | b'_' | b'+' | b'`' | b'\'' | b'~'
        )
}

/// Writes `value` as a quoted-string, escaping `"` and `\`.
/// Appends `, name=value` for each unknown parameter, quoting the value if
/// it was quoted or is not a token, so that it survives a round trip.
pub(crate) fn push_others(out: &mut String, others: &[Param]) {
    for p in others {
        out.push_str(", ");
        out.push_str(&p.name);
        out.push('=');
        if p.quoted || !is_token(&p.value) {
            push_quoted(out, &p.value);
        } else {
            out.push_str(&p.value);
        }
    }
}

pub(crate) fn push_quoted(out: &mut String, value: &str) {
    out.push('"');
    for c in value.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

/// Whether `value` can be written as a bare token.
pub(crate) fn is_token(value: &str) -> bool {
    !value.is_empty() && value.bytes().all(is_token_byte)
}
