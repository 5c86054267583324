//! [`Head`]: the header section and body of a message, with lookup by name
//! and typed accessors that parse a header when it is read.

use crate::headers::{offset_in, Header, HeaderStore, Headers, NONE};
use crate::limits::Limits;
use crate::name::{HeaderName, KNOWN};
use crate::sipfrag::{parse_fragment, Fragment};
use crate::typed::{
    self, Auth, Contact, Event, MediaType, NameAddr, RetryAfter, SubscriptionState, VErr, VResult,
    Via, Warning,
};
use crate::typed_value::{tv_raw, typed_fn, whole, TypedValue};
use crate::{ParseError, StartKind};

/// The header section and body of a message: header lines in order, an index
/// of the first line of each known name, and the body framed as RFC 3261 §18.3
/// says. Every typed accessor here parses its header on access, so it returns
/// a `Result`. Both a fully checked [`Message`](crate::Message) (through [`Parts`](crate::Parts)) and a
/// [`RawMessage`](crate::RawMessage) from [`parse_raw`](crate::parse_raw) dereference to it.
#[derive(Debug, Clone)]
pub struct Head<'a> {
    pub(crate) buf: &'a [u8],
    pub(crate) headers: HeaderStore<'a>,
    pub(crate) first: [u16; KNOWN],
    pub(crate) body: &'a [u8],
    pub(crate) content_length: Option<usize>,
    pub(crate) start: StartKind,
    pub(crate) max_nesting: usize,
    /// Offset of the CRLF that ends the header section (where a missing
    /// header is reported).
    pub(crate) head_end: usize,
}

/// An iterator over typed values of one header name: every value of every
/// line with that name, in order (RFC 3261 §7.3.1: a list in one line and
/// repeated lines are equivalent). Yields an error and stops at the first
/// malformed value.
pub struct Values<'m, 'a, T> {
    parts: &'m Head<'a>,
    name: HeaderName,
    only: Option<usize>,
    idx: usize,
    pos: Option<usize>,
    f: fn(&'a str, usize) -> VResult<(T, usize)>,
    done: bool,
}

impl<T> std::fmt::Debug for Values<'_, '_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Values")
            .field("name", &self.name)
            .field("idx", &self.idx)
            .finish()
    }
}

impl<'a, T> Iterator for Values<'_, 'a, T> {
    type Item = Result<T, ParseError>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let hs = &self.parts.headers;
        loop {
            if self.only.is_some_and(|i| i != self.idx) {
                return None;
            }
            if self.only.is_none() && hs.name(self.idx)? != self.name {
                self.idx += 1;
                continue;
            }
            let h = hs.get(self.idx)?;
            let v = h.value;
            let i = match self.pos {
                Some(p) => p,
                None => {
                    let i = crate::scan::skip_lws(v.as_bytes(), 0);
                    if i >= v.len() {
                        // An empty line holds no values (allowed for Allow, Supported, …).
                        self.idx += 1;
                        if self.only.is_some() {
                            self.done = true;
                            return None;
                        }
                        continue;
                    }
                    i
                }
            };
            let res =
                (self.f)(v, i).and_then(|(t, end)| Ok((t, typed::list_next(v.as_bytes(), end)?)));
            return match res {
                Ok((t, next)) => {
                    match next {
                        Some(n) => self.pos = Some(n),
                        None => {
                            self.pos = None;
                            self.idx += 1;
                            if self.only.is_some() {
                                self.done = true;
                            }
                        }
                    }
                    Some(Ok(t))
                }
                Err(e) => {
                    self.done = true;
                    Some(Err(self.parts.value_error(h.name, v, e)))
                }
            };
        }
    }
}

impl<'a> Head<'a> {
    /// Converts an error inside header `h`'s value into a positioned [`ParseError`].
    pub(crate) fn value_error(&self, name: HeaderName, v: &'a str, e: VErr) -> ParseError {
        let base = offset_in(self.buf, v);
        ParseError::at(self.buf, base + e.at, e.kind)
            .with_header(name)
            .with_start(self.start)
    }

    fn values<T>(
        &self,
        name: HeaderName,
        f: fn(&'a str, usize) -> VResult<(T, usize)>,
    ) -> Values<'_, 'a, T> {
        Values {
            parts: self,
            name,
            only: None,
            idx: 0,
            pos: None,
            f,
            done: false,
        }
    }

    pub(crate) fn single_opt<T>(
        &self,
        name: HeaderName,
        f: impl Fn(&'a str) -> VResult<T>,
    ) -> Result<Option<T>, ParseError> {
        match self.first_value(name) {
            None => Ok(None),
            Some(v) => f(v).map(Some).map_err(|e| self.value_error(name, v, e)),
        }
    }

    /// All header lines in order.
    pub fn headers(&self) -> Headers<'_, 'a> {
        self.headers.iter()
    }

    /// The number of header lines.
    pub fn header_count(&self) -> usize {
        self.headers.len()
    }

    /// Header line `index` (0 is the first after the start line).
    pub fn header_at(&self, index: usize) -> Option<Header<'a>> {
        self.headers.get(index)
    }

    /// The first header line with this name.
    #[inline]
    pub fn header(&self, name: HeaderName) -> Option<Header<'a>> {
        if name == HeaderName::Other {
            return None;
        }
        match self.first[name as usize] {
            NONE => None,
            i => self.headers.get(usize::from(i)),
        }
    }

    /// The value of the first header line with this name: what
    /// [`header`](Self::header) holds, without the name as written.
    #[inline]
    pub(crate) fn first_value(&self, name: HeaderName) -> Option<&'a str> {
        match self.first.get(name as usize).copied() {
            None | Some(NONE) => None,
            Some(i) => self.headers.value(usize::from(i)),
        }
    }

    /// The first line named `name` when the index records exactly that line
    /// (it does for the first 65534 lines).
    #[inline]
    pub(crate) fn first_line(&self, name: HeaderName) -> Option<Header<'a>> {
        match self.first.get(name as usize).copied() {
            None => None,
            Some(i) if i >= NONE - 1 => None,
            Some(i) => self.headers.get(usize::from(i)),
        }
    }

    /// Every header line with this name, in order.
    pub fn headers_named(&self, name: HeaderName) -> impl Iterator<Item = Header<'a>> + '_ {
        self.headers
            .iter()
            .filter(move |h| h.name == name && name != HeaderName::Other)
    }

    /// The value of the first header called `name` (any case, compact forms
    /// resolve; unknown names compare as written).
    pub fn header_value(&self, name: &str) -> Option<&'a str> {
        self.headers.iter().find(|h| h.is(name)).map(|h| h.value)
    }

    /// The body: exactly Content-Length bytes, or the rest of a datagram without one.
    pub fn body(&self) -> &'a [u8] {
        self.body
    }

    /// The input buffer this message borrows.
    pub fn source(&self) -> &'a [u8] {
        self.buf
    }

    /// Content-Length as declared, `None` if absent.
    pub fn content_length(&self) -> Option<usize> {
        self.content_length
    }

    /// Every Via value, top first (RFC 3261 §20.42).
    pub fn vias(&self) -> Values<'_, 'a, Via<'a>> {
        self.values(HeaderName::Via, typed::via_at)
    }

    /// Every Contact value (RFC 3261 §20.10), including `*`.
    pub fn contacts(&self) -> Values<'_, 'a, Contact<'a>> {
        self.values(HeaderName::Contact, typed::contact_at)
    }

    /// Every Route value (RFC 3261 §20.34).
    pub fn routes(&self) -> Values<'_, 'a, NameAddr<'a>> {
        self.values(HeaderName::Route, typed::route_at)
    }

    /// Every Record-Route value (RFC 3261 §20.30).
    pub fn record_routes(&self) -> Values<'_, 'a, NameAddr<'a>> {
        self.values(HeaderName::RecordRoute, typed::route_at)
    }

    /// Every Path value (RFC 3327).
    pub fn paths(&self) -> Values<'_, 'a, NameAddr<'a>> {
        self.values(HeaderName::Path, typed::route_at)
    }

    /// Option tags or methods of a token-list header: Allow, Supported,
    /// Require, Proxy-Require, Unsupported, Allow-Events, …
    pub fn tokens(&self, name: HeaderName) -> Values<'_, 'a, &'a str> {
        self.values(name, typed::token_at)
    }

    /// Allow (RFC 3261 §20.5).
    pub fn allow(&self) -> Values<'_, 'a, &'a str> {
        self.tokens(HeaderName::Allow)
    }

    /// Supported (RFC 3261 §20.37).
    pub fn supported(&self) -> Values<'_, 'a, &'a str> {
        self.tokens(HeaderName::Supported)
    }

    /// Require (RFC 3261 §20.32); unknown tags call for 420 (RFC 4475 §3.3.5).
    pub fn require(&self) -> Values<'_, 'a, &'a str> {
        self.tokens(HeaderName::Require)
    }

    /// Proxy-Require (RFC 3261 §20.29).
    pub fn proxy_require(&self) -> Values<'_, 'a, &'a str> {
        self.tokens(HeaderName::ProxyRequire)
    }

    /// Unsupported (RFC 3261 §20.40).
    pub fn unsupported(&self) -> Values<'_, 'a, &'a str> {
        self.tokens(HeaderName::Unsupported)
    }

    /// Accept entries (RFC 3261 §20.1); an element that can produce none answers 406.
    pub fn accept(&self) -> Values<'_, 'a, MediaType<'a>> {
        self.values(HeaderName::Accept, typed::media_type_at)
    }

    /// Expires (RFC 3261 §20.19), seconds.
    pub fn expires(&self) -> Result<Option<u32>, ParseError> {
        self.single_opt(HeaderName::Expires, |s| {
            typed::number(s, u64::from(u32::MAX)).map(|v| v as u32)
        })
    }

    /// Min-Expires (RFC 3261 §20.23), seconds.
    pub fn min_expires(&self) -> Result<Option<u32>, ParseError> {
        self.single_opt(HeaderName::MinExpires, |s| {
            typed::number(s, u64::from(u32::MAX)).map(|v| v as u32)
        })
    }

    /// Content-Type (RFC 3261 §20.15).
    pub fn content_type(&self) -> Result<Option<MediaType<'a>>, ParseError> {
        self.single_opt(HeaderName::ContentType, |s| {
            typed::single(s, typed::media_type_at)
        })
    }

    /// WWW-Authenticate challenges, one per line (RFC 3261 §20.44).
    pub fn www_authenticate(&self) -> Values<'_, 'a, Auth<'a>> {
        self.values(HeaderName::WwwAuthenticate, |s, i| whole(s, i, typed::auth))
    }

    /// Proxy-Authenticate challenges, one per line (RFC 3261 §20.27).
    pub fn proxy_authenticate(&self) -> Values<'_, 'a, Auth<'a>> {
        self.values(HeaderName::ProxyAuthenticate, |s, i| {
            whole(s, i, typed::auth)
        })
    }

    /// Authorization credentials, one per line (RFC 3261 §20.7).
    pub fn authorization(&self) -> Values<'_, 'a, Auth<'a>> {
        self.values(HeaderName::Authorization, |s, i| whole(s, i, typed::auth))
    }

    /// Proxy-Authorization credentials, one per line (RFC 3261 §20.28).
    pub fn proxy_authorization(&self) -> Values<'_, 'a, Auth<'a>> {
        self.values(HeaderName::ProxyAuthorization, |s, i| {
            whole(s, i, typed::auth)
        })
    }

    /// Refer-To (RFC 3515 §2.1).
    pub fn refer_to(&self) -> Result<Option<NameAddr<'a>>, ParseError> {
        self.single_opt(HeaderName::ReferTo, |s| {
            typed::single(s, |s, i| typed::name_addr_at(s, i, false))
        })
    }

    /// Referred-By (RFC 3892 §3).
    pub fn referred_by(&self) -> Result<Option<NameAddr<'a>>, ParseError> {
        self.single_opt(HeaderName::ReferredBy, |s| {
            typed::single(s, |s, i| typed::name_addr_at(s, i, false))
        })
    }

    /// Event (RFC 6665 §8.2.1).
    pub fn event(&self) -> Result<Option<Event<'a>>, ParseError> {
        self.single_opt(HeaderName::Event, typed::event)
    }

    /// Subscription-State (RFC 6665 §8.2.3).
    pub fn subscription_state(&self) -> Result<Option<SubscriptionState<'a>>, ParseError> {
        self.single_opt(HeaderName::SubscriptionState, typed::subscription_state)
    }

    /// Retry-After (RFC 3261 §20.33); comment nesting is bounded by the limits.
    pub fn retry_after(&self) -> Result<Option<RetryAfter<'a>>, ParseError> {
        let n = self.max_nesting;
        self.single_opt(HeaderName::RetryAfter, move |s| typed::retry_after(s, n))
    }

    /// Warning values (RFC 3261 §20.43).
    pub fn warnings(&self) -> Values<'_, 'a, Warning<'a>> {
        self.values(HeaderName::Warning, typed::warning_at)
    }

    /// Typed values of the header line at `index` in [`Head::headers`]; a
    /// header sipkit does not interpret yields one [`TypedValue::Raw`].
    pub fn typed_values(&self, index: usize) -> Values<'_, 'a, TypedValue<'a>> {
        let name = self.headers.name(index).unwrap_or(HeaderName::Other);
        let f = typed_fn(name).unwrap_or(tv_raw);
        Values {
            parts: self,
            name,
            only: Some(index),
            idx: index,
            pos: None,
            f,
            done: false,
        }
    }

    /// The body parsed as `message/sipfrag` (RFC 3420) when Content-Type says so.
    pub fn sipfrag(&self) -> Option<Result<Fragment<'a>, ParseError>> {
        match self.content_type() {
            Ok(Some(ct)) if ct.is("message", "sipfrag") => {
                let limits = Limits {
                    max_nesting: self.max_nesting,
                    ..Limits::default()
                };
                Some(parse_fragment(self.body, &limits, 1))
            }
            _ => None,
        }
    }

    pub(crate) fn write_rest(&self, out: &mut Vec<u8>) {
        for h in self.headers.iter() {
            out.extend_from_slice(h.raw_name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(h.value.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(self.body);
    }

    pub(crate) fn same_parts(&self, o: &Head<'_>) -> bool {
        self.headers.iter().eq(o.headers.iter()) && self.body == o.body
    }
}
