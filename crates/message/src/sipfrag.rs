//! `message/sipfrag` bodies (RFC 3420): a start line, headers and a body,
//! any of which may be missing.

use crate::headers::{HeaderStore, Headers, NONE};
use crate::limits::Limits;
use crate::name::KNOWN;
use crate::scan;
use crate::split::{split_head, StartLine};
use crate::typed;
use crate::{ErrorKind, Limit, ParseError};

/// A `message/sipfrag` body (RFC 3420): an optional start line, any headers
/// and an optional body — used by NOTIFY after REFER (RFC 3515 §2.4.5) to carry
/// the status of the referred request, e.g. `SIP/2.0 200 OK`.
#[derive(Debug, Clone)]
pub struct Fragment<'a> {
    /// The start line, if the fragment has one.
    pub start: Option<StartLine<'a>>,
    headers: HeaderStore<'a>,
    /// The fragment's own body.
    pub body: &'a [u8],
    depth: usize,
    max_nesting: usize,
}

impl<'a> Fragment<'a> {
    /// Header lines in order.
    pub fn headers(&self) -> Headers<'_, 'a> {
        self.headers.iter()
    }
    /// The value of the first header called `name` (any case, compact forms resolve).
    pub fn header_value(&self, name: &str) -> Option<&'a str> {
        self.headers.iter().find(|h| h.is(name)).map(|h| h.value)
    }
    /// The status code when the fragment starts with a Status-Line.
    pub fn status(&self) -> Option<u16> {
        match self.start {
            Some(StartLine::Response { status, .. }) => Some(status),
            _ => None,
        }
    }
    /// A nested sipfrag body, bounded by the nesting limit.
    pub fn sipfrag(&self) -> Option<Result<Fragment<'a>, ParseError>> {
        let ct = self.header_value("Content-Type")?;
        let (m, _) = typed::media_type_at(ct, 0).ok()?;
        if !m.is("message", "sipfrag") {
            return None;
        }
        let limits = Limits {
            max_nesting: self.max_nesting,
            ..Limits::default()
        };
        Some(parse_fragment(self.body, &limits, self.depth + 1))
    }
}

/// Parses a sipfrag body (RFC 3420 §2) at nesting `depth` (1 for a message body).
pub fn parse_fragment<'a>(
    buf: &'a [u8],
    limits: &Limits,
    depth: usize,
) -> Result<Fragment<'a>, ParseError> {
    if depth > limits.max_nesting {
        return Err(ParseError::at(
            buf,
            0,
            ErrorKind::TooLarge {
                limit: Limit::Nesting,
                max: limits.max_nesting,
            },
        ));
    }
    if buf.len() > limits.max_message_size {
        return Err(ParseError::at(
            buf,
            limits.max_message_size,
            ErrorKind::TooLarge {
                limit: Limit::MessageSize,
                max: limits.max_message_size,
            },
        ));
    }
    let (hend, body) = match scan::find_head_end(buf) {
        Some(k) => (k + 2, &buf[k + 4..]),
        None => {
            // No empty line: headers run to the end; a final CRLF is optional.
            (buf.len(), &buf[buf.len()..])
        }
    };
    if hend == 0 {
        return Ok(Fragment {
            start: None,
            headers: HeaderStore::new(),
            body,
            depth,
            max_nesting: limits.max_nesting,
        });
    }
    let mut headers = HeaderStore::new();
    let mut first = [NONE; KNOWN];
    let start = split_head(buf, 0..hend, limits, true, &mut headers, &mut first)?;
    let start = start.map(StartLine::from);
    Ok(Fragment {
        start,
        headers,
        body,
        depth,
        max_nesting: limits.max_nesting,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sipfrag_forms() {
        let f = parse_fragment(b"SIP/2.0 200 OK\r\n", &Limits::default(), 1).unwrap();
        assert_eq!(f.status(), Some(200));
        let f = parse_fragment(b"SIP/2.0 100 Trying", &Limits::default(), 1).unwrap();
        assert_eq!(f.status(), Some(100));
        let f = parse_fragment(
            b"INVITE sip:bob@biloxi.com SIP/2.0\r\nVia: SIP/2.0/UDP h\r\n\r\nbody",
            &Limits::default(),
            1,
        )
        .unwrap();
        assert!(matches!(
            f.start,
            Some(StartLine::Request {
                method: "INVITE",
                ..
            })
        ));
        assert_eq!(f.body, b"body");
        let f = parse_fragment(b"From: <sip:a@b>;tag=1\r\n", &Limits::default(), 1).unwrap();
        assert!(f.start.is_none());
        assert_eq!(f.header_value("f"), Some("<sip:a@b>;tag=1"));
        assert!(parse_fragment(b"SIP/2.0 200 OK", &Limits::default(), 9).is_err());
    }
}
