//! Requests and responses borrowing the input buffer, with lazy typed access
//! to their headers (RFC 3261 §7).

use crate::name::{HeaderName, KNOWN};
use crate::parser::Limits;
use crate::typed::{
    self, Auth, CSeq, Contact, Event, MediaType, NameAddr, RetryAfter, SubscriptionState, VErr,
    VResult, Via, Warning,
};
use crate::uri::Uri;
use crate::{ErrorKind, ParseError, StartKind};

/// One header line: its name (known or `Other`), the name as written, and the
/// value as written with surrounding whitespace trimmed (folds stay inside).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header<'a> {
    /// The name, compact forms mapped to the full name.
    pub name: HeaderName,
    /// The name exactly as written (`v`, `MaX-fOrWaRdS`, `X-Custom`).
    pub raw_name: &'a str,
    /// The value as written (may hold CRLF+WSP folds, RFC 3261 §7.3.1).
    pub value: &'a str,
}

impl Default for Header<'_> {
    fn default() -> Self {
        Header {
            name: HeaderName::Other,
            raw_name: "",
            value: "",
        }
    }
}

impl<'a> Header<'a> {
    /// True if this header has the given name (known names by identity,
    /// others by case-insensitive spelling; compact forms resolve).
    pub fn is(&self, name: &str) -> bool {
        match HeaderName::from_bytes(name.as_bytes()) {
            HeaderName::Other => {
                self.name == HeaderName::Other && self.raw_name.eq_ignore_ascii_case(name)
            }
            n => self.name == n,
        }
    }

    /// The value with every fold (CRLF + whitespace) and run of whitespace collapsed to one space.
    pub fn value_unfolded(&self) -> String {
        self.value
            .split_ascii_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Header slots kept inline for a typical message; only a message with more
/// than [`INLINE_HEADERS`] header lines spills to the heap.
pub const INLINE_HEADERS: usize = 32;

/// One header line as offsets into the header section's text: 20 bytes
/// instead of the 40 of a [`Header`], so the inline store is small to set up
/// and to move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Slot {
    name: HeaderName,
    name_len: u32,
    name_at: u32,
    value_at: u32,
    value_len: u32,
}

const EMPTY_SLOT: Slot = Slot {
    name: HeaderName::Other,
    name_len: 0,
    name_at: 0,
    value_at: 0,
    value_len: 0,
};

/// The largest header section the slots can address.
pub(crate) const MAX_HEAD: usize = u32::MAX as usize;

/// Header lines: inline up to [`INLINE_HEADERS`], on the heap beyond.
#[derive(Debug, Clone)]
pub(crate) struct HeaderStore<'a> {
    /// The text the slots' offsets point into.
    text: &'a str,
    len: usize,
    slots: [Slot; INLINE_HEADERS],
    /// Every slot once there are more than fit inline; empty until then.
    heap: Vec<Slot>,
}

/// `u32` offset: the splitter rejects a header section that ends past
/// `u32::MAX` ([`MAX_HEAD`]), so this never saturates.
#[inline(always)]
fn off(x: usize) -> u32 {
    u32::try_from(x).unwrap_or(u32::MAX)
}

impl<'a> HeaderStore<'a> {
    #[inline(always)]
    pub(crate) fn new() -> Self {
        HeaderStore {
            text: "",
            len: 0,
            slots: [EMPTY_SLOT; INLINE_HEADERS],
            heap: Vec::new(),
        }
    }

    /// Sets the text the offsets of [`push`](Self::push) point into.
    #[inline(always)]
    pub(crate) fn set_text(&mut self, text: &'a str) {
        self.text = text;
    }

    /// Appends a line: its name, and the ranges of `text` holding the name
    /// as written and the value.
    #[inline(always)]
    pub(crate) fn push(
        &mut self,
        name: HeaderName,
        raw_name: std::ops::Range<usize>,
        value: std::ops::Range<usize>,
    ) {
        let slot = Slot {
            name,
            name_len: off(raw_name.len()),
            name_at: off(raw_name.start),
            value_at: off(value.start),
            value_len: off(value.len()),
        };
        if self.len < INLINE_HEADERS {
            self.slots[self.len] = slot;
        } else {
            self.spill(slot);
        }
        self.len += 1;
    }

    #[cold]
    fn spill(&mut self, slot: Slot) {
        if self.heap.is_empty() {
            self.heap.reserve(INLINE_HEADERS * 2);
            self.heap.extend_from_slice(&self.slots);
        }
        self.heap.push(slot);
    }

    /// Sets the value of the last line pushed.
    #[inline(always)]
    pub(crate) fn set_last_value(&mut self, value: std::ops::Range<usize>) {
        let last = match self.len {
            0 => return,
            n if n <= INLINE_HEADERS => self.slots.get_mut(n - 1),
            _ => self.heap.last_mut(),
        };
        if let Some(s) = last {
            s.value_at = off(value.start);
            s.value_len = off(value.len());
        }
    }

    #[inline(always)]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    #[inline(always)]
    fn slot(&self, i: usize) -> Option<&Slot> {
        if i >= self.len {
            None
        } else if self.len <= INLINE_HEADERS {
            self.slots.get(i)
        } else {
            self.heap.get(i)
        }
    }

    /// The name of line `i`.
    #[inline(always)]
    pub(crate) fn name(&self, i: usize) -> Option<HeaderName> {
        self.slot(i).map(|s| s.name)
    }

    /// Line `i`.
    #[inline]
    pub(crate) fn get(&self, i: usize) -> Option<Header<'a>> {
        let s = self.slot(i)?;
        let text = |at: u32, len: usize| {
            let at = at as usize;
            self.text.get(at..at.saturating_add(len)).unwrap_or("")
        };
        Some(Header {
            name: s.name,
            raw_name: text(s.name_at, s.name_len as usize),
            value: text(s.value_at, s.value_len as usize),
        })
    }

    pub(crate) fn iter(&self) -> Headers<'_, 'a> {
        Headers {
            store: self,
            front: 0,
            back: self.len,
        }
    }
}

/// The header lines of a message or fragment, in order (see [`Head::headers`]).
#[derive(Debug, Clone)]
pub struct Headers<'m, 'a> {
    store: &'m HeaderStore<'a>,
    front: usize,
    back: usize,
}

impl<'a> Iterator for Headers<'_, 'a> {
    type Item = Header<'a>;
    #[inline]
    fn next(&mut self) -> Option<Header<'a>> {
        if self.front >= self.back {
            return None;
        }
        let h = self.store.get(self.front);
        self.front += 1;
        h
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.back - self.front;
        (n, Some(n))
    }
    fn nth(&mut self, n: usize) -> Option<Header<'a>> {
        self.front = self.front.saturating_add(n).min(self.back);
        self.next()
    }
}

impl<'a> DoubleEndedIterator for Headers<'_, 'a> {
    fn next_back(&mut self) -> Option<Header<'a>> {
        if self.front >= self.back {
            return None;
        }
        self.back -= 1;
        self.store.get(self.back)
    }
}

impl ExactSizeIterator for Headers<'_, '_> {}
impl std::iter::FusedIterator for Headers<'_, '_> {}

/// A request method (RFC 3261 §7.1 and extensions). Methods are case-sensitive:
/// `invite` and `RE%47IST%45R` are extension methods (RFC 4475 §3.1.1.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum Method<'a> {
    Invite,
    Ack,
    Bye,
    Cancel,
    Register,
    Options,
    Info,
    Prack,
    Update,
    Subscribe,
    Notify,
    Refer,
    Message,
    Publish,
    /// Any other method, as written.
    Other(&'a str),
}

impl<'a> Method<'a> {
    /// Classifies a method token.
    pub fn from_token(s: &'a str) -> Method<'a> {
        match s {
            "INVITE" => Method::Invite,
            "ACK" => Method::Ack,
            "BYE" => Method::Bye,
            "CANCEL" => Method::Cancel,
            "REGISTER" => Method::Register,
            "OPTIONS" => Method::Options,
            "INFO" => Method::Info,
            "PRACK" => Method::Prack,
            "UPDATE" => Method::Update,
            "SUBSCRIBE" => Method::Subscribe,
            "NOTIFY" => Method::Notify,
            "REFER" => Method::Refer,
            "MESSAGE" => Method::Message,
            "PUBLISH" => Method::Publish,
            other => Method::Other(other),
        }
    }

    /// The method token.
    pub fn as_str(&self) -> &'a str {
        match self {
            Method::Invite => "INVITE",
            Method::Ack => "ACK",
            Method::Bye => "BYE",
            Method::Cancel => "CANCEL",
            Method::Register => "REGISTER",
            Method::Options => "OPTIONS",
            Method::Info => "INFO",
            Method::Prack => "PRACK",
            Method::Update => "UPDATE",
            Method::Subscribe => "SUBSCRIBE",
            Method::Notify => "NOTIFY",
            Method::Refer => "REFER",
            Method::Message => "MESSAGE",
            Method::Publish => "PUBLISH",
            Method::Other(s) => s,
        }
    }
}

impl std::fmt::Display for Method<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The header section and body of a message: header lines in order, an index
/// of the first line of each known name, and the body framed as RFC 3261 §18.3
/// says. Every typed accessor here parses its header on access, so it returns
/// a `Result`. Both a fully checked [`Message`] (through [`Parts`]) and a
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

/// What requests and responses share: the [`Head`] (headers and body, to which
/// it dereferences) and the values checked while parsing (Call-ID, CSeq,
/// From, To, Max-Forwards, top Via). [`Request`], [`Response`] and [`Message`]
/// dereference to it.
#[derive(Debug, Clone)]
pub struct Parts<'a> {
    pub(crate) head: Head<'a>,
    pub(crate) call_id: &'a str,
    pub(crate) cseq: CSeq<'a>,
    pub(crate) from: NameAddr<'a>,
    pub(crate) to: NameAddr<'a>,
    pub(crate) max_forwards: Option<u8>,
    pub(crate) top_via: Via<'a>,
}

impl<'a> std::ops::Deref for Parts<'a> {
    type Target = Head<'a>;
    fn deref(&self) -> &Head<'a> {
        &self.head
    }
}

/// Index value meaning "no such header" in `Parts::first`.
pub(crate) const NONE: u16 = u16::MAX;

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
                    Some(Err(self.parts.value_error(&h, v, e)))
                }
            };
        }
    }
}

/// The typed interpretation of one header value, for tools that show every
/// header (see [`Head::typed_values`]).
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum TypedValue<'a> {
    /// Via.
    Via(Via<'a>),
    /// From, To, Route, Record-Route, Refer-To, Referred-By, Reply-To, Path, P-Asserted-Identity.
    NameAddr(NameAddr<'a>),
    /// Contact.
    Contact(Contact<'a>),
    /// CSeq.
    CSeq(CSeq<'a>),
    /// Call-ID.
    CallId(&'a str),
    /// Max-Forwards, Content-Length, Expires, Min-Expires, RSeq.
    Number(u64),
    /// Content-Type, Accept.
    MediaType(MediaType<'a>),
    /// Allow, Supported, Require, Proxy-Require, Unsupported, Allow-Events, Content-Encoding, Accept-Encoding.
    Token(&'a str),
    /// WWW-Authenticate, Proxy-Authenticate, Authorization, Proxy-Authorization.
    Auth(Auth<'a>),
    /// Event.
    Event(Event<'a>),
    /// Subscription-State.
    SubscriptionState(SubscriptionState<'a>),
    /// Retry-After.
    RetryAfter(RetryAfter<'a>),
    /// Warning.
    Warning(Warning<'a>),
    /// Date (checked to be an RFC 1123 date in GMT).
    Date(&'a str),
    /// A header sipkit does not interpret.
    Raw(&'a str),
}

fn whole<'a, T>(s: &'a str, i: usize, f: impl Fn(&'a str) -> VResult<T>) -> VResult<(T, usize)> {
    let _ = i;
    Ok((f(s)?, s.len()))
}

fn tv_via(s: &str, i: usize) -> VResult<(TypedValue<'_>, usize)> {
    typed::via_at(s, i).map(|(v, e)| (TypedValue::Via(v), e))
}
fn tv_route(s: &str, i: usize) -> VResult<(TypedValue<'_>, usize)> {
    typed::route_at(s, i).map(|(v, e)| (TypedValue::NameAddr(v), e))
}
fn tv_name_addr(s: &str, i: usize) -> VResult<(TypedValue<'_>, usize)> {
    whole(s, i, |s| {
        typed::single(s, |s, i| typed::name_addr_at(s, i, false))
    })
    .map(|(v, e)| (TypedValue::NameAddr(v), e))
}
fn tv_name_addr_list(s: &str, i: usize) -> VResult<(TypedValue<'_>, usize)> {
    typed::name_addr_at(s, i, false).map(|(v, e)| (TypedValue::NameAddr(v), e))
}
fn tv_contact(s: &str, i: usize) -> VResult<(TypedValue<'_>, usize)> {
    typed::contact_at(s, i).map(|(v, e)| (TypedValue::Contact(v), e))
}
fn tv_cseq(s: &str, i: usize) -> VResult<(TypedValue<'_>, usize)> {
    whole(s, i, typed::cseq).map(|(v, e)| (TypedValue::CSeq(v), e))
}
fn tv_call_id(s: &str, i: usize) -> VResult<(TypedValue<'_>, usize)> {
    whole(s, i, typed::call_id).map(|(v, e)| (TypedValue::CallId(v), e))
}
fn tv_u8(s: &str, i: usize) -> VResult<(TypedValue<'_>, usize)> {
    whole(s, i, |s| typed::number(s, 255)).map(|(v, e)| (TypedValue::Number(v), e))
}
fn tv_u32(s: &str, i: usize) -> VResult<(TypedValue<'_>, usize)> {
    whole(s, i, |s| typed::number(s, u64::from(u32::MAX))).map(|(v, e)| (TypedValue::Number(v), e))
}
fn tv_content_length(s: &str, i: usize) -> VResult<(TypedValue<'_>, usize)> {
    whole(s, i, content_length).map(|(v, e)| (TypedValue::Number(v as u64), e))
}
fn tv_media(s: &str, i: usize) -> VResult<(TypedValue<'_>, usize)> {
    typed::media_type_at(s, i).map(|(v, e)| (TypedValue::MediaType(v), e))
}
fn tv_token(s: &str, i: usize) -> VResult<(TypedValue<'_>, usize)> {
    typed::token_at(s, i).map(|(v, e)| (TypedValue::Token(v), e))
}
fn tv_auth(s: &str, i: usize) -> VResult<(TypedValue<'_>, usize)> {
    whole(s, i, typed::auth).map(|(v, e)| (TypedValue::Auth(v), e))
}
fn tv_event(s: &str, i: usize) -> VResult<(TypedValue<'_>, usize)> {
    whole(s, i, typed::event).map(|(v, e)| (TypedValue::Event(v), e))
}
fn tv_substate(s: &str, i: usize) -> VResult<(TypedValue<'_>, usize)> {
    whole(s, i, typed::subscription_state).map(|(v, e)| (TypedValue::SubscriptionState(v), e))
}
fn tv_retry_after(s: &str, i: usize) -> VResult<(TypedValue<'_>, usize)> {
    whole(s, i, |s| typed::retry_after(s, Limits::DEFAULT_NESTING))
        .map(|(v, e)| (TypedValue::RetryAfter(v), e))
}
fn tv_warning(s: &str, i: usize) -> VResult<(TypedValue<'_>, usize)> {
    typed::warning_at(s, i).map(|(v, e)| (TypedValue::Warning(v), e))
}
fn tv_date(s: &str, i: usize) -> VResult<(TypedValue<'_>, usize)> {
    whole(s, i, typed::date).map(|(v, e)| (TypedValue::Date(v), e))
}
fn tv_raw(s: &str, _i: usize) -> VResult<(TypedValue<'_>, usize)> {
    Ok((TypedValue::Raw(s), s.len()))
}

/// The per-name parser behind [`Parts::typed_values`]; `None` for uninterpreted names.
type F<'a> = fn(&'a str, usize) -> VResult<(TypedValue<'a>, usize)>;

pub(crate) fn typed_fn<'a>(name: HeaderName) -> Option<F<'a>> {
    use HeaderName as H;
    let f: F<'a> = match name {
        H::Via => tv_via as F<'a>,
        H::Route | H::RecordRoute | H::Path => tv_route as F<'a>,
        H::From | H::To | H::ReferTo | H::ReferredBy | H::ReplyTo => tv_name_addr as F<'a>,
        H::PAssertedIdentity => tv_name_addr_list as F<'a>,
        H::Contact => tv_contact as F<'a>,
        H::CSeq => tv_cseq as F<'a>,
        H::CallId => tv_call_id as F<'a>,
        H::MaxForwards => tv_u8 as F<'a>,
        H::Expires | H::MinExpires | H::RSeq => tv_u32 as F<'a>,
        H::ContentLength => tv_content_length as F<'a>,
        H::ContentType | H::Accept => tv_media as F<'a>,
        H::Allow
        | H::Supported
        | H::Require
        | H::ProxyRequire
        | H::Unsupported
        | H::AllowEvents
        | H::ContentEncoding
        | H::AcceptEncoding => tv_token as F<'a>,
        H::WwwAuthenticate | H::ProxyAuthenticate | H::Authorization | H::ProxyAuthorization => {
            tv_auth as F<'a>
        }
        H::Event => tv_event as F<'a>,
        H::SubscriptionState => tv_substate as F<'a>,
        H::RetryAfter => tv_retry_after as F<'a>,
        H::Warning => tv_warning as F<'a>,
        H::Date => tv_date as F<'a>,
        _ => return None,
    };
    Some(f)
}

/// Parses a Content-Length value (RFC 3261 §20.14; negative is invalid, RFC 4475 §3.1.2.3).
pub(crate) fn content_length(s: &str) -> VResult<usize> {
    let t = crate::scan::trim_lws(s);
    let off = crate::scan::lead_lws(s);
    if t.is_empty() || !t.bytes().all(|c| c.is_ascii_digit()) {
        return Err(VErr {
            at: off,
            kind: ErrorKind::InvalidContentLength,
        });
    }
    match crate::scan::digits_u64(t.as_bytes()).and_then(|v| usize::try_from(v).ok()) {
        Some(v) => Ok(v),
        None => Err(VErr {
            at: off,
            kind: ErrorKind::OutOfRange {
                max: usize::MAX as u64,
            },
        }),
    }
}

impl<'a> Head<'a> {
    /// Converts an error inside header `h`'s value into a positioned [`ParseError`].
    pub(crate) fn value_error(&self, h: &Header<'a>, v: &'a str, e: VErr) -> ParseError {
        let base = offset_in(self.buf, v);
        ParseError::at(self.buf, base + e.at, e.kind)
            .with_header(h.name)
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
        match self.header(name) {
            None => Ok(None),
            Some(h) => f(h.value)
                .map(Some)
                .map_err(|e| self.value_error(&h, h.value, e)),
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
    pub fn header(&self, name: HeaderName) -> Option<Header<'a>> {
        if name == HeaderName::Other {
            return None;
        }
        match self.first[name as usize] {
            NONE => None,
            i => self.headers.get(usize::from(i)),
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
    pub fn sipfrag(&self) -> Option<Result<crate::Fragment<'a>, ParseError>> {
        match self.content_type() {
            Ok(Some(ct)) if ct.is("message", "sipfrag") => {
                let limits = Limits {
                    max_nesting: self.max_nesting,
                    ..Limits::default()
                };
                Some(crate::parser::parse_fragment(self.body, &limits, 1))
            }
            _ => None,
        }
    }

    fn write_rest(&self, out: &mut Vec<u8>) {
        for h in self.headers.iter() {
            out.extend_from_slice(h.raw_name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(h.value.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(self.body);
    }

    fn same_parts(&self, o: &Head<'_>) -> bool {
        self.headers.iter().eq(o.headers.iter()) && self.body == o.body
    }
}

impl<'a> Parts<'a> {
    /// The Call-ID (RFC 3261 §20.8).
    pub fn call_id(&self) -> &'a str {
        self.call_id
    }

    /// The CSeq (RFC 3261 §20.16).
    pub fn cseq(&self) -> CSeq<'a> {
        self.cseq
    }

    /// The From header (RFC 3261 §20.20).
    pub fn from(&self) -> &NameAddr<'a> {
        &self.from
    }

    /// The To header (RFC 3261 §20.39).
    pub fn to(&self) -> &NameAddr<'a> {
        &self.to
    }

    /// Max-Forwards (RFC 3261 §20.22), `None` if absent (RFC 2543 peers).
    pub fn max_forwards(&self) -> Option<u8> {
        self.max_forwards
    }

    /// The topmost Via, which a response is routed by (RFC 3261 §18.2.2);
    /// every message has one (checked when parsed).
    /// Kept as a `Result` for callers written against the lazy form; it is
    /// always `Ok` for a parsed message.
    pub fn top_via(&self) -> Result<Via<'a>, ParseError> {
        Ok(self.top_via)
    }
}

/// Byte offset of `inner` within `outer`, if it lies there (0 otherwise).
pub(crate) fn offset_in(outer: &[u8], inner: &str) -> usize {
    let o = outer.as_ptr() as usize;
    let i = inner.as_ptr() as usize;
    if i >= o && i <= o + outer.len() {
        i - o
    } else {
        0
    }
}

/// A SIP request (RFC 3261 §7.1).
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub(crate) method: &'a str,
    pub(crate) uri: Uri<'a>,
    pub(crate) parts: Parts<'a>,
}

impl<'a> Request<'a> {
    /// The method.
    pub fn method(&self) -> Method<'a> {
        Method::from_token(self.method)
    }
    /// The method token as written.
    pub fn method_str(&self) -> &'a str {
        self.method
    }
    /// The Request-URI.
    pub fn uri(&self) -> &Uri<'a> {
        &self.uri
    }
    /// Serializes the request; `parse` of the output yields an equal request.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.method.as_bytes());
        out.push(b' ');
        out.extend_from_slice(self.uri.as_str().as_bytes());
        out.extend_from_slice(b" SIP/2.0\r\n");
        self.parts.write_rest(out);
    }
}

impl<'a> std::ops::Deref for Request<'a> {
    type Target = Parts<'a>;
    fn deref(&self) -> &Parts<'a> {
        &self.parts
    }
}

impl PartialEq for Request<'_> {
    /// Structural equality: method, Request-URI text, headers as written, body.
    fn eq(&self, o: &Self) -> bool {
        self.method == o.method
            && self.uri.as_str() == o.uri.as_str()
            && self.parts.same_parts(&o.parts.head)
    }
}

/// A SIP response (RFC 3261 §7.2).
#[derive(Debug, Clone)]
pub struct Response<'a> {
    pub(crate) status: u16,
    pub(crate) reason: &'a str,
    pub(crate) parts: Parts<'a>,
}

impl<'a> Response<'a> {
    /// The status code, 100..=699.
    pub fn status(&self) -> u16 {
        self.status
    }
    /// The reason phrase as written (may be empty; match on the code, RFC 4475 §3.1.1.12).
    pub fn reason(&self) -> &'a str {
        self.reason
    }
    /// Serializes the response; `parse` of the output yields an equal response.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"SIP/2.0 ");
        // The status is 100..=699 (checked when parsed or built): three digits.
        let st = self.status;
        out.extend_from_slice(&[
            b'0' + (st / 100 % 10) as u8,
            b'0' + (st / 10 % 10) as u8,
            b'0' + (st % 10) as u8,
        ]);
        out.push(b' ');
        out.extend_from_slice(self.reason.as_bytes());
        out.extend_from_slice(b"\r\n");
        self.parts.write_rest(out);
    }
}

impl<'a> std::ops::Deref for Response<'a> {
    type Target = Parts<'a>;
    fn deref(&self) -> &Parts<'a> {
        &self.parts
    }
}

impl PartialEq for Response<'_> {
    /// Structural equality: status, reason, headers as written, body.
    fn eq(&self, o: &Self) -> bool {
        self.status == o.status && self.reason == o.reason && self.parts.same_parts(&o.parts.head)
    }
}

/// A parsed SIP message borrowing its buffer.
#[derive(Debug, Clone, PartialEq)]
pub enum Message<'a> {
    /// A request.
    Request(Request<'a>),
    /// A response.
    Response(Response<'a>),
}

impl<'a> Message<'a> {
    /// The request, if this is one.
    pub fn as_request(&self) -> Option<&Request<'a>> {
        match self {
            Message::Request(r) => Some(r),
            Message::Response(_) => None,
        }
    }
    /// The response, if this is one.
    pub fn as_response(&self) -> Option<&Response<'a>> {
        match self {
            Message::Response(r) => Some(r),
            Message::Request(_) => None,
        }
    }
    /// True for a request.
    pub fn is_request(&self) -> bool {
        matches!(self, Message::Request(_))
    }
    /// Serializes the message (RFC 3261 §7 wire form).
    pub fn write_to(&self, out: &mut Vec<u8>) {
        match self {
            Message::Request(r) => r.write_to(out),
            Message::Response(r) => r.write_to(out),
        }
    }
    /// The serialized message as a new vector.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(self.buf.len());
        self.write_to(&mut v);
        v
    }
}

impl<'a> std::ops::Deref for Message<'a> {
    type Target = Parts<'a>;
    fn deref(&self) -> &Parts<'a> {
        match self {
            Message::Request(r) => &r.parts,
            Message::Response(r) => &r.parts,
        }
    }
}
