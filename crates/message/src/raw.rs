//! [`RawMessage`]: a message split but not validated, whose checked
//! headers are read through fallible accessors.

use crate::head::Head;
use crate::headers::{offset_in, HeaderStore, NONE};
use crate::limits::{Limits, Mode};
use crate::message::Message;
use crate::name::{HeaderName, KNOWN};
use crate::split::{duplicate, frame_body, split_message, unreachable_start, Start, StartLine};
use crate::typed::{self, CSeq};
use crate::uri::Uri;
use crate::validate::check_message;
use crate::{ErrorKind, ParseError};

pub(crate) fn split_raw<'a>(
    buf: &'a [u8],
    limits: &Limits,
    mode: Mode,
) -> Result<RawMessage<'a>, ParseError> {
    let mut headers = HeaderStore::new();
    let mut first = [NONE; KNOWN];
    let (start, hend, body_start) = split_message(buf, limits, mode, &mut headers, &mut first)?;
    let sk = start.kind();
    let hs = &headers;
    // Framing needs exactly one Content-Length, and a well-formed one: two
    // could frame the body two ways (RFC 3261 §20.14, §18.3).
    let content_length = match first[HeaderName::ContentLength as usize] {
        NONE => None,
        i => {
            let i = usize::from(i);
            let Some(h) = hs.get(i) else {
                return Err(unreachable_start(buf));
            };
            if let Some(d) = (i + 1..hs.len())
                .find(|&k| hs.name(k) == Some(HeaderName::ContentLength))
                .and_then(|k| hs.get(k))
            {
                return Err(duplicate(buf, &d, sk));
            }
            Some(typed::content_length(h.value).map_err(|e| {
                ParseError::at(buf, offset_in(buf, h.value) + e.at, e.kind)
                    .with_header(h.name)
                    .with_start(sk)
            })?)
        }
    };
    let body = frame_body(
        buf,
        hs,
        &first,
        content_length,
        hend,
        body_start,
        limits,
        mode,
        sk,
    )?;
    Ok(RawMessage {
        start,
        head: Head {
            buf,
            headers,
            first,
            body,
            content_length,
            start: sk,
            max_nesting: limits.max_nesting,
            head_end: hend,
        },
        body_start,
        limits: *limits,
        mode,
    })
}

/// A message split by [`parse_raw`](crate::parse_raw): start line, header lines and body, with
/// header values still unchecked. It dereferences to [`Head`] for the header
/// lines, the body and the typed accessors of list headers; the headers a full
/// parse keeps checked are read here with fallible accessors.
#[derive(Debug, Clone)]
pub struct RawMessage<'a> {
    start: Start<'a>,
    head: Head<'a>,
    body_start: usize,
    limits: Limits,
    mode: Mode,
}

impl<'a> std::ops::Deref for RawMessage<'a> {
    type Target = Head<'a>;
    fn deref(&self) -> &Head<'a> {
        &self.head
    }
}

impl<'a> RawMessage<'a> {
    /// The Request-Line or Status-Line.
    pub fn start_line(&self) -> StartLine<'a> {
        self.start.into()
    }

    /// True for a request.
    pub fn is_request(&self) -> bool {
        matches!(self.start, Start::Request { .. })
    }

    /// The method of a request.
    pub fn method(&self) -> Option<crate::Method<'a>> {
        match self.start {
            Start::Request { method, .. } => Some(crate::Method::from_token(method)),
            Start::Response { .. } => None,
        }
    }

    /// The Request-URI of a request.
    pub fn uri(&self) -> Option<&Uri<'a>> {
        match &self.start {
            Start::Request { uri, .. } => Some(uri),
            Start::Response { .. } => None,
        }
    }

    /// The status code of a response.
    pub fn status(&self) -> Option<u16> {
        match self.start {
            Start::Response { status, .. } => Some(status),
            Start::Request { .. } => None,
        }
    }

    fn missing(&self, name: HeaderName) -> ParseError {
        ParseError::at(
            self.head.buf,
            self.head.head_end,
            ErrorKind::MissingHeader(name),
        )
        .with_start(self.head.start)
    }

    #[inline]
    fn required_value<T>(
        &self,
        name: HeaderName,
        f: impl Fn(&'a str) -> typed::VResult<T>,
    ) -> Result<T, ParseError> {
        let v = self
            .head
            .first_value(name)
            .ok_or_else(|| self.missing(name))?;
        f(v).map_err(|e| self.head.value_error(name, v, e))
    }

    /// The Call-ID (RFC 3261 §20.8).
    pub fn call_id(&self) -> Result<&'a str, ParseError> {
        self.required_value(HeaderName::CallId, typed::call_id)
    }

    /// The CSeq (RFC 3261 §20.16).
    pub fn cseq(&self) -> Result<CSeq<'a>, ParseError> {
        self.required_value(HeaderName::CSeq, typed::cseq)
    }

    /// The From header (RFC 3261 §20.20).
    pub fn from(&self) -> Result<typed::NameAddr<'a>, ParseError> {
        self.required_value(HeaderName::From, typed::from_to)
    }

    /// The To header (RFC 3261 §20.39).
    pub fn to(&self) -> Result<typed::NameAddr<'a>, ParseError> {
        self.required_value(HeaderName::To, typed::from_to)
    }

    /// Max-Forwards (RFC 3261 §20.22), `None` if absent.
    pub fn max_forwards(&self) -> Result<Option<u8>, ParseError> {
        self.head.single_opt(HeaderName::MaxForwards, |s| {
            typed::number(s, 255).map(|v| v as u8)
        })
    }

    /// The topmost Via (RFC 3261 §18.2.2).
    pub fn top_via(&self) -> Result<typed::Via<'a>, ParseError> {
        // The first value of the first Via line, read directly: what
        // `vias().next()` yields when that line holds a value.
        if let Some(h) = self.head.first_line(HeaderName::Via) {
            let v = h.value;
            let i = crate::scan::skip_lws(v.as_bytes(), 0);
            if i < v.len() {
                return typed::via_at(v, i)
                    .and_then(|(via, end)| typed::list_next(v.as_bytes(), end).map(|_| via))
                    .map_err(|e| self.head.value_error(h.name, v, e));
            }
        }
        self.head
            .vias()
            .next()
            .unwrap_or_else(|| Err(self.missing(HeaderName::Via)))
    }

    /// Runs the receiver checks of [`parse`](crate::parse) (every checked header's syntax,
    /// mandatory and single headers, CSeq method): the same message, or the
    /// same error, as [`parse_with`](crate::parse_with) with this message's limits and mode.
    pub fn validate(&self) -> Result<Message<'a>, ParseError> {
        let h = &self.head;
        check_message(
            h.buf,
            self.start,
            h.headers.clone(),
            h.first,
            h.head_end,
            self.body_start,
            &self.limits,
            self.mode,
        )
    }
}
