//! `message/sipfrag` bodies (RFC 3420): a start line, headers and a body,
//! any of which may be missing.

use crate::headers::{HeaderStore, Headers, NONE};
use crate::limits::Limits;
use crate::name::KNOWN;
use crate::scan;
use crate::split::{lone_start_line, split_head, StartLine};
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

/// Parses a sipfrag body (RFC 3420 §2) at nesting `depth` (1 for a message
/// body). A body that is a start line alone skips the header split.
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
    if let Some((text, start)) = lone_start_line(buf) {
        let mut headers = HeaderStore::new();
        headers.set_text(text);
        return Ok(Fragment {
            start: Some(start?.into()),
            headers,
            body: &buf[buf.len()..],
            depth,
            max_nesting: limits.max_nesting,
        });
    }
    split_fragment(buf, limits, depth)
}

/// The general path of [`parse_fragment`], after its limits: the header
/// section, then the start line and header lines one by one.
fn split_fragment<'a>(
    buf: &'a [u8],
    limits: &Limits,
    depth: usize,
) -> Result<Fragment<'a>, ParseError> {
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

    /// The start-line-only path gives what the general split gives, the
    /// whole fragment (or error) alike.
    fn same_as_general(buf: &[u8]) {
        let limits = Limits::default();
        let fast = parse_fragment(buf, &limits, 1);
        let general = split_fragment(buf, &limits, 1);
        assert_eq!(
            format!("{fast:?}"),
            format!("{general:?}"),
            "{:?}",
            String::from_utf8_lossy(buf)
        );
    }

    #[test]
    fn lone_start_lines_as_the_general_split() {
        for b in [
            &b"SIP/2.0 200 OK"[..],
            b"SIP/2.0 200 OK\r\n",
            b"SIP/2.0 100 Trying\r\n",
            b"SIP/2.0 603 Declined\r\n\r\n",
            b"SIP/2.0 200 OK\r\n\r\nbody",
            b"SIP/2.0 200 OK\r\nX: y\r\n",
            b"SIP/2.0 200 OK\r",
            b"SIP/2.0 200 OK\n",
            b"SIP/2.0 200 OK\r\n\r",
            b"SIP/2.0 99 OK\r\n",
            b"SIP/2.0 200\r\n",
            b"SIP/2.0 200 \xffOK\r\n",
            b"SIP/3.0 200 OK",
            b"sip/2.0 200 O\x01K",
            b"INVITE sip:bob@biloxi.com SIP/2.0\r\n",
            b"INVITE sip:bob@biloxi.com?x=y SIP/2.0",
            b"INVITE  sip:bob@biloxi.com SIP/2.0",
            b"From: <sip:a@b>;tag=1",
            b"\r\n",
            b"",
        ] {
            same_as_general(b);
        }
    }

    proptest::proptest! {
        /// Start lines and near misses, with and without line ends and a
        /// header after: the fast path agrees with the general split.
        #[test]
        fn lone_start_line_agrees(
            line in "(SIP/2.0|sIp/2.0|SIP/2.1|SIP/2|X|INVITE sip:a@b|INVITE|)( |  |\t|)[0-9]{0,4}( |)[a-zA-Z \t\x01\x7fé]{0,6}( SIP/2.0|)",
            end in "(|\r\n|\r|\n|\r\n\r\n|\r\nX: y|\r\n\r\nb)",
        ) {
            same_as_general(format!("{line}{end}").as_bytes());
        }
    }
}
