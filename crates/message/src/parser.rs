//! The parser: start line, header section, receiver validation (RFC 3261
//! §8.2, §16.3, §18.3) and body framing; also `message/sipfrag` (RFC 3420).

use crate::message::{
    offset_in, Head, Header, HeaderStore, Headers, Parts, Request, Response, MAX_HEAD, NONE,
};
use crate::name::{HeaderName, KNOWN};
use crate::scan;
use crate::typed::{self, CSeq, VErr};
use crate::uri::{self, Uri};
use crate::{ErrorKind, Limit, Message, ParseError, StartKind};

/// Bounds that keep hostile input from costing unbounded memory or time.
/// The defaults match common servers: 64 KiB is the largest UDP datagram and
/// the default buffer of Kamailio and OpenSIPS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest message (start line, headers and body) in bytes.
    pub max_message_size: usize,
    /// Most header lines (folded continuation lines count with their header).
    pub max_headers: usize,
    /// Deepest nesting of comments and of sipfrag bodies.
    pub max_nesting: usize,
}

impl Limits {
    /// Default nesting depth.
    pub const DEFAULT_NESTING: usize = 8;
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_size: 65_535,
            max_headers: 256,
            max_nesting: Self::DEFAULT_NESTING,
        }
    }
}

/// How the message arrived, which decides how its body is framed (RFC 3261 §18.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// UDP and other datagrams: the body ends with the datagram; Content-Length,
    /// if present, must not exceed it, and bytes after it are discarded.
    Datagram,
    /// TCP/TLS: Content-Length is mandatory and delimits the body.
    Stream,
}

/// Parses one datagram with the default [`Limits`].
///
/// ```
/// let buf = b"OPTIONS sip:bob@example.com SIP/2.0\r\n\
/// Via: SIP/2.0/UDP pc33.example.com;branch=z9hG4bK776asdhds\r\n\
/// Max-Forwards: 70\r\nTo: <sip:bob@example.com>\r\n\
/// From: Alice <sip:alice@example.com>;tag=1928301774\r\n\
/// Call-ID: a84b4c76e66710\r\nCSeq: 63104 OPTIONS\r\nContent-Length: 0\r\n\r\n";
/// let msg = sipkit_message::parse(buf).unwrap();
/// assert_eq!(msg.cseq().seq, 63104);
/// assert_eq!(msg.top_via().unwrap().branch(), Some("z9hG4bK776asdhds"));
/// ```
pub fn parse(buf: &[u8]) -> Result<Message<'_>, ParseError> {
    parse_with(buf, &Limits::default(), Mode::Datagram)
}

/// Parses one message with explicit limits and framing mode.
pub fn parse_with<'a>(
    buf: &'a [u8],
    limits: &Limits,
    mode: Mode,
) -> Result<Message<'a>, ParseError> {
    parse_inner(buf, limits, mode)
}

/// An error before the start line was read (size, framing, UTF-8) is
/// classified by the message's first bytes, so a request can still be answered.
#[cold]
fn classify(mut e: ParseError, buf: &[u8]) -> ParseError {
    if e.start == StartKind::Unknown && e.kind != ErrorKind::Empty {
        e.start = guess_start(buf);
    }
    e
}

fn guess_start(buf: &[u8]) -> StartKind {
    let mut p = 0;
    while buf.get(p..p + 2) == Some(b"\r\n") {
        p += 2;
    }
    match buf.get(p..p + 4) {
        Some(v) if v.eq_ignore_ascii_case(b"SIP/") => StartKind::Response,
        _ => StartKind::Request,
    }
}

fn parse_inner<'a>(buf: &'a [u8], limits: &Limits, mode: Mode) -> Result<Message<'a>, ParseError> {
    let mut headers = HeaderStore::new();
    let mut first = [NONE; KNOWN];
    let (start, hend, body_start) = split_message(buf, limits, mode, &mut headers, &mut first)?;
    check_message(buf, start, headers, first, hend, body_start, limits, mode)
}

/// Size limits, the end of the header section, the start line and the header
/// lines; fills `headers` and `first` in place and returns the start line and
/// the offsets of the CRLF ending the header section and of the body.
#[inline(always)]
fn split_message<'a>(
    buf: &'a [u8],
    limits: &Limits,
    mode: Mode,
    headers: &mut HeaderStore<'a>,
    first: &mut [u16; KNOWN],
) -> Result<(Start<'a>, usize, usize), ParseError> {
    split_message_inner(buf, limits, mode, headers, first).map_err(|e| classify(e, buf))
}

#[inline(always)]
fn split_message_inner<'a>(
    buf: &'a [u8],
    limits: &Limits,
    mode: Mode,
    headers: &mut HeaderStore<'a>,
    first: &mut [u16; KNOWN],
) -> Result<(Start<'a>, usize, usize), ParseError> {
    if mode == Mode::Datagram && buf.len() > limits.max_message_size {
        return Err(ParseError::at(
            buf,
            limits.max_message_size,
            ErrorKind::TooLarge {
                limit: Limit::MessageSize,
                max: limits.max_message_size,
            },
        ));
    }
    // RFC 3261 §7.5: CRLFs before the start line are ignored.
    let mut p = 0;
    while buf.len() >= p + 2 && buf[p] == b'\r' && buf[p + 1] == b'\n' {
        p += 2;
    }
    if p >= buf.len() {
        return Err(ParseError::at(buf, p, ErrorKind::Empty));
    }
    // One pass over well-formed input; anything it does not take is split
    // again by the general path below, which finds the same error the same
    // way every time (header-section end, UTF-8, then line by line).
    if let Some(r) = split_fast(buf, p, limits, mode, headers, first) {
        return r;
    }
    *headers = HeaderStore::new();
    *first = [NONE; KNOWN];
    split_general(buf, p, limits, mode, headers, first)
}

/// The general path of [`split_message`] for the message starting at `p`
/// (after any leading CRLFs): the end of the header section, the size limit
/// of a stream, then UTF-8 and the lines one by one, each with its own error.
fn split_general<'a>(
    buf: &'a [u8],
    p: usize,
    limits: &Limits,
    mode: Mode,
    headers: &mut HeaderStore<'a>,
    first: &mut [u16; KNOWN],
) -> Result<(Start<'a>, usize, usize), ParseError> {
    let (hend, body_start) = match scan::find_head_end(&buf[p..]) {
        Some(k) => (p + k + 2, p + k + 4),
        None => return Err(unterminated(buf, p)),
    };
    if mode == Mode::Stream && body_start > limits.max_message_size {
        return Err(ParseError::at(
            buf,
            limits.max_message_size,
            ErrorKind::TooLarge {
                limit: Limit::MessageSize,
                max: limits.max_message_size,
            },
        ));
    }
    let start = split_head(buf, p..hend, limits, false, headers, first)?;
    match start {
        Some(start) => Ok((start, hend, body_start)),
        None => Err(unreachable_start(buf)),
    }
}

/// The receiver checks of RFC 3261 (§8.1.1 mandatory headers, single
/// headers once, CSeq method, the syntax of every header the stack reads)
/// and body framing (§18.3) over a split message.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn check_message<'a>(
    buf: &'a [u8],
    start: Start<'a>,
    headers: HeaderStore<'a>,
    first: [u16; KNOWN],
    hend: usize,
    body_start: usize,
    limits: &Limits,
    mode: Mode,
) -> Result<Message<'a>, ParseError> {
    let sk = start.kind();
    let err = |h: &Header<'a>, e: VErr| -> ParseError {
        ParseError::at(buf, offset_in(buf, h.value) + e.at, e.kind)
            .with_header(h.name)
            .with_start(sk)
    };

    // Receiver validation, in header order so the first problem is reported.
    let hs = &headers;
    let mut from = None;
    let mut to = None;
    let mut call_id = None;
    let mut cseq: Option<CSeq<'a>> = None;
    let mut max_forwards = None;
    let mut content_length = None;
    let mut top_via = None;
    for (idx, h) in hs.iter().enumerate() {
        let h = &h;
        if h.name == HeaderName::Other {
            continue;
        }
        if h.name.is_single() && usize::from(first[h.name as usize]) != idx {
            return Err(duplicate(buf, h, sk));
        }
        let v = h.value;
        match h.name {
            HeaderName::Via => {
                let via = check_list(v, typed::via_at).map_err(|e| err(h, e))?;
                top_via.get_or_insert(via);
            }
            HeaderName::Contact => {
                check_all(v, typed::contact_at).map_err(|e| err(h, e))?;
            }
            HeaderName::Route | HeaderName::RecordRoute => {
                check_all(v, typed::route_at).map_err(|e| err(h, e))?;
            }
            HeaderName::From => from = Some(typed::from_to(v).map_err(|e| err(h, e))?),
            HeaderName::To => to = Some(typed::from_to(v).map_err(|e| err(h, e))?),
            HeaderName::CallId => call_id = Some(typed::call_id(v).map_err(|e| err(h, e))?),
            HeaderName::CSeq => cseq = Some(typed::cseq(v).map_err(|e| err(h, e))?),
            HeaderName::MaxForwards => {
                max_forwards = Some(typed::number(v, 255).map_err(|e| err(h, e))? as u8)
            }
            HeaderName::ContentLength => {
                content_length = Some(crate::message::content_length(v).map_err(|e| err(h, e))?)
            }
            HeaderName::Expires | HeaderName::MinExpires => {
                typed::number(v, u64::from(u32::MAX)).map_err(|e| err(h, e))?;
            }
            HeaderName::ContentType => {
                typed::single(v, typed::media_type_at).map_err(|e| err(h, e))?;
            }
            HeaderName::Date => {
                typed::date(v).map_err(|e| err(h, e))?;
            }
            _ => {}
        }
    }

    // Mandatory headers (RFC 3261 §8.1.1). Max-Forwards may be absent only in
    // a request from an RFC 2543 element, recognised by a top Via without the
    // magic cookie (RFC 3261 §8.1.1.7, RFC 4475 §3.4.1).
    let missing =
        |n: HeaderName| ParseError::at(buf, hend, ErrorKind::MissingHeader(n)).with_start(sk);
    let to = to.ok_or_else(|| missing(HeaderName::To))?;
    let from = from.ok_or_else(|| missing(HeaderName::From))?;
    let call_id = call_id.ok_or_else(|| missing(HeaderName::CallId))?;
    let cseq = cseq.ok_or_else(|| missing(HeaderName::CSeq))?;
    let Some(top_via) = top_via else {
        return Err(missing(HeaderName::Via));
    };
    if let Start::Request { method, .. } = &start {
        if max_forwards.is_none() {
            let rfc3261 = top_via.is_rfc3261_branch();
            if rfc3261 {
                return Err(missing(HeaderName::MaxForwards));
            }
        }
        if cseq.method != *method {
            let at = offset_in(buf, cseq.method);
            return Err(ParseError::at(buf, at, ErrorKind::CSeqMethodMismatch)
                .with_header(HeaderName::CSeq)
                .with_start(sk));
        }
    }

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

    // Written out in each arm so the parts are built in the message's place
    // rather than moved into it.
    macro_rules! parts {
        () => {
            Parts {
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
                call_id,
                cseq,
                from,
                to,
                max_forwards,
                top_via,
            }
        };
    }
    match start {
        Start::Request { method, uri } => Ok(Message::Request(Request {
            method,
            uri,
            parts: parts!(),
        })),
        Start::Response { status, reason } => Ok(Message::Response(Response {
            status,
            reason,
            parts: parts!(),
        })),
    }
}

fn duplicate(buf: &[u8], h: &Header<'_>, sk: StartKind) -> ParseError {
    ParseError::at(
        buf,
        offset_in(buf, h.raw_name),
        ErrorKind::DuplicateHeader(h.name),
    )
    .with_header(h.name)
    .with_start(sk)
}

/// The body as RFC 3261 §18.3 frames it: `content_length` bytes after the
/// header section, or the rest of a datagram without Content-Length.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn frame_body<'a>(
    buf: &'a [u8],
    hs: &HeaderStore<'a>,
    first: &[u16; KNOWN],
    content_length: Option<usize>,
    hend: usize,
    body_start: usize,
    limits: &Limits,
    mode: Mode,
    sk: StartKind,
) -> Result<&'a [u8], ParseError> {
    let available = buf.len() - body_start;
    let cl_err = |kind: ErrorKind| {
        let at = match first[HeaderName::ContentLength as usize] {
            NONE => hend,
            i => hs
                .get(usize::from(i))
                .map_or(hend, |h| offset_in(buf, h.value)),
        };
        ParseError::at(buf, at, kind)
            .with_header(HeaderName::ContentLength)
            .with_start(sk)
    };
    match (mode, content_length) {
        (Mode::Datagram, None) => Ok(&buf[body_start..]),
        (Mode::Stream, None) => Err(cl_err(ErrorKind::MissingContentLength)),
        (_, Some(n)) => {
            if mode == Mode::Stream && body_start.saturating_add(n) > limits.max_message_size {
                return Err(cl_err(ErrorKind::TooLarge {
                    limit: Limit::MessageSize,
                    max: limits.max_message_size,
                }));
            }
            if n > available {
                return Err(cl_err(ErrorKind::ContentLengthMismatch {
                    declared: n,
                    actual: available,
                }));
            }
            Ok(&buf[body_start..body_start + n])
        }
    }
}

/// Splits one datagram into its start line, header lines and body, with the
/// default [`Limits`], checking only what framing needs: the start line
/// (method, Request-URI, SIP-Version, status code), the header-line syntax
/// and names, UTF-8, size limits, and one well-formed Content-Length that
/// fits the data. Header values are parsed when read, so a malformed one
/// shows up as an `Err` from its accessor; [`RawMessage::validate`] runs the
/// receiver checks of [`parse`] on the result.
///
/// This is the level of a capture indexer or a load balancer that only needs
/// a few headers, and the level at which other stacks' parsers work (they
/// check a header's value when it is first read).
///
/// ```
/// let buf = b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n\
/// To: <sip:b@h>;tag=2\r\nFrom: <sip:a@h>;tag=1\r\nCall-ID: x\r\n\
/// CSeq: 1 INVITE\r\nContact: <sip:b@192.0.2.4>, bad<\r\nContent-Length: 0\r\n\r\n";
/// let raw = sipkit_message::parse_raw(buf).unwrap();
/// assert_eq!(raw.status(), Some(200));
/// assert_eq!(raw.call_id().unwrap(), "x");
/// // The second Contact is malformed: only reading it (or validating) says so.
/// assert!(raw.contacts().nth(1).unwrap().is_err());
/// assert!(raw.validate().is_err());
/// ```
pub fn parse_raw(buf: &[u8]) -> Result<RawMessage<'_>, ParseError> {
    parse_raw_with(buf, &Limits::default(), Mode::Datagram)
}

/// [`parse_raw`] with explicit limits and framing mode.
pub fn parse_raw_with<'a>(
    buf: &'a [u8],
    limits: &Limits,
    mode: Mode,
) -> Result<RawMessage<'a>, ParseError> {
    parse_raw_inner(buf, limits, mode)
}

fn parse_raw_inner<'a>(
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
            Some(crate::message::content_length(h.value).map_err(|e| {
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

/// A message split by [`parse_raw`]: start line, header lines and body, with
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

    fn required_value<T>(
        &self,
        name: HeaderName,
        f: impl Fn(&'a str) -> typed::VResult<T>,
    ) -> Result<T, ParseError> {
        let h = self.head.header(name).ok_or_else(|| self.missing(name))?;
        f(h.value).map_err(|e| self.head.value_error(&h, h.value, e))
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
        self.head
            .vias()
            .next()
            .unwrap_or_else(|| Err(self.missing(HeaderName::Via)))
    }

    /// Runs the receiver checks of [`parse`] (every checked header's syntax,
    /// mandatory and single headers, CSeq method): the same message, or the
    /// same error, as [`parse_with`] with this message's limits and mode.
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

/// The single pass for well-formed messages: finds each line end with one
/// search for CR or LF, splits the header lines as it goes, stops at the
/// empty line, then checks UTF-8 and the start line. `None` when anything is
/// off (a bare CR or LF, a bad header name, too many headers, invalid UTF-8,
/// no empty line): the general path then reports the error. `Some(Err)` only
/// for errors the general path would report first (size limits, start line).
#[inline(always)]
fn split_fast<'a>(
    buf: &'a [u8],
    p: usize,
    limits: &Limits,
    mode: Mode,
    headers: &mut HeaderStore<'a>,
    first: &mut [u16; KNOWN],
) -> Option<Result<(Start<'a>, usize, usize), ParseError>> {
    // A line from `i`: the offset of its CR, which must be followed by LF.
    let line_end = |i: usize| -> Option<usize> {
        let k = i + memchr::memchr2(b'\r', b'\n', buf.get(i..)?)?;
        (buf[k] == b'\r' && buf.get(k + 1) == Some(&b'\n')).then_some(k)
    };
    let start_end = line_end(p)?;
    let mut i = start_end + 2;
    let mut lines = HeaderLines::default();
    let hend = loop {
        let c0 = *buf.get(i)?;
        if c0 == b'\r' {
            if buf.get(i + 1) == Some(&b'\n') {
                break i;
            }
            return None;
        }
        let e = line_end(i)?;
        lines.line(buf, i, e, limits, headers, first).ok()?;
        i = e + 2;
    };
    lines.finish(buf, headers);
    let body_start = hend + 2;
    if mode == Mode::Stream && body_start > limits.max_message_size {
        return None;
    }
    // Offsets above are from the start of `buf`; so is the text.
    let text = std::str::from_utf8(&buf[..hend]).ok()?;
    headers.set_text(text);
    Some(start_line(buf, p, &text[p..start_end]).map(|start| (start, hend, body_start)))
}

/// `split_head` always yields a start line for a message (fragments only may
/// lack one); this keeps that invariant without a panic.
fn unreachable_start(buf: &[u8]) -> ParseError {
    ParseError::at(buf, 0, ErrorKind::Empty)
}

/// Checks every value of a list header, keeping none (a value is a few
/// hundred bytes: not moving it matters on this path).
#[inline(always)]
fn check_all<'a, T>(
    v: &'a str,
    f: fn(&'a str, usize) -> typed::VResult<(T, usize)>,
) -> Result<(), VErr> {
    let e = f(v, first_value(v)?)?.1;
    check_rest(v, e, f)
}

/// Checks every value of a list header; returns the first one.
fn check_list<'a, T>(
    v: &'a str,
    f: fn(&'a str, usize) -> typed::VResult<(T, usize)>,
) -> Result<T, VErr> {
    let (first, e) = f(v, first_value(v)?)?;
    check_rest(v, e, f)?;
    Ok(first)
}

/// Where the first value of a list header starts; an empty list is an error.
#[inline(always)]
fn first_value(v: &str) -> Result<usize, VErr> {
    let b = v.as_bytes();
    let i = scan::skip_lws(b, 0);
    if i >= b.len() {
        return Err((i, "a value").into());
    }
    Ok(i)
}

/// Checks the values after the one that ended at `e`.
#[inline(always)]
fn check_rest<'a, T>(
    v: &'a str,
    mut e: usize,
    f: fn(&'a str, usize) -> typed::VResult<(T, usize)>,
) -> Result<(), VErr> {
    while let Some(n) = typed::list_next(v.as_bytes(), e)? {
        e = f(v, n)?.1;
    }
    Ok(())
}

/// Error for a header section without an empty line: a bare LF is the likely cause.
fn unterminated(buf: &[u8], p: usize) -> ParseError {
    let mut prev = 0u8;
    for (i, &c) in buf.iter().enumerate().skip(p) {
        if c == b'\n' && prev != b'\r' {
            return ParseError::at(buf, i, ErrorKind::BareLf);
        }
        prev = c;
    }
    ParseError::at(buf, buf.len(), ErrorKind::Truncated)
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum Start<'a> {
    Request { method: &'a str, uri: Uri<'a> },
    Response { status: u16, reason: &'a str },
}

impl Start<'_> {
    fn kind(&self) -> StartKind {
        match self {
            Start::Request { .. } => StartKind::Request,
            Start::Response { .. } => StartKind::Response,
        }
    }
}

#[cfg(test)]
impl StartLine<'_> {
    fn describe(self) -> String {
        match self {
            StartLine::Request { method, uri } => format!("{method} {}", uri.as_str()),
            StartLine::Response { status, reason } => format!("{status} {reason}"),
        }
    }
}

impl<'a> From<Start<'a>> for StartLine<'a> {
    fn from(s: Start<'a>) -> Self {
        match s {
            Start::Request { method, uri } => StartLine::Request { method, uri },
            Start::Response { status, reason } => StartLine::Response { status, reason },
        }
    }
}

/// Splits `buf[head]` (start line and header lines, each ending in CRLF,
/// except possibly the last line of a fragment) into a start line and headers,
/// filling `headers` (empty on entry) and `first` (all `NONE` on entry) in place.
pub(crate) fn split_head<'a>(
    buf: &'a [u8],
    head: std::ops::Range<usize>,
    limits: &Limits,
    fragment: bool,
    headers: &mut HeaderStore<'a>,
    first: &mut [u16; KNOWN],
) -> Result<Option<Start<'a>>, ParseError> {
    let (p, hend) = (head.start, head.end);
    let text = std::str::from_utf8(&buf[p..hend])
        .map_err(|e| ParseError::at(buf, p + e.valid_up_to(), ErrorKind::InvalidUtf8))?;
    let b = text.as_bytes();
    headers.set_text(text);
    let line_end = |i: usize| -> Result<(usize, usize), ParseError> {
        match memchr::memchr2(b'\r', b'\n', &b[i..]) {
            Some(k) => {
                let k = i + k;
                if b[k] == b'\n' {
                    Err(ParseError::at(buf, p + k, ErrorKind::BareLf))
                } else if b.get(k + 1) != Some(&b'\n') {
                    Err(ParseError::at(buf, p + k, ErrorKind::InvalidByte(b'\r')))
                } else {
                    Ok((k, k + 2))
                }
            }
            None => Ok((b.len(), b.len())),
        }
    };
    let (e, mut i) = line_end(0)?;
    let first_line = &text[..e];
    let start = if fragment && !looks_like_start_line(first_line) {
        i = 0;
        None
    } else {
        Some(start_line(buf, p, first_line)?)
    };
    let sk = match start {
        Some(Start::Request { .. }) => StartKind::Request,
        Some(Start::Response { .. }) => StartKind::Response,
        None => StartKind::Unknown,
    };
    let mut lines = HeaderLines::default();
    while i < b.len() {
        let (e, n) = line_end(i).map_err(|e| e.with_start(sk))?;
        lines
            .line(b, i, e, limits, headers, first)
            .map_err(|(at, kind)| ParseError::at(buf, p + at, kind).with_start(sk))?;
        i = n;
    }
    lines.finish(b, headers);
    Ok(start)
}

/// Header lines as they are split, one at a time: a line is a new header or
/// a fold continuing the open one (RFC 3261 §7.3.1).
#[derive(Default)]
struct HeaderLines {
    count: usize,
    // The open header's value, `b[vstart..vend]`: set (trimmed) once the
    // header ends, after any folds; trimming after every fold would be
    // quadratic in the number of folds.
    vstart: usize,
    vend: usize,
}

impl HeaderLines {
    /// Takes the line `b[i..e]` (`e` is its CR), filling `headers` and
    /// `first`; an error is its offset in `b` and what is wrong there.
    #[inline(always)]
    fn line(
        &mut self,
        b: &[u8],
        i: usize,
        e: usize,
        limits: &Limits,
        headers: &mut HeaderStore<'_>,
        first: &mut [u16; KNOWN],
    ) -> Result<(), (usize, ErrorKind)> {
        if e > MAX_HEAD {
            return Err((
                i,
                ErrorKind::TooLarge {
                    limit: Limit::MessageSize,
                    max: MAX_HEAD,
                },
            ));
        }
        if b[i] == b' ' || b[i] == b'\t' {
            if self.count == 0 {
                return Err((i, ErrorKind::InvalidHeaderName));
            }
            self.vend = e;
            return Ok(());
        }
        let ne = scan::take_while(b, i, scan::is_token);
        // The colon follows the name; SP/HT before it is allowed (HCOLON).
        let c = if b.get(ne) == Some(&b':') {
            ne
        } else {
            scan::take_while(b, ne, |c| c == b' ' || c == b'\t')
        };
        if ne == i || c >= e || b[c] != b':' {
            return Err((if ne == i { i } else { c }, ErrorKind::InvalidHeaderName));
        }
        self.count += 1;
        if self.count > limits.max_headers {
            return Err((
                i,
                ErrorKind::TooLarge {
                    limit: Limit::HeaderCount,
                    max: limits.max_headers,
                },
            ));
        }
        if self.count > 1 {
            headers.set_last_value(trim_range(b, self.vstart, self.vend));
        }
        let name = HeaderName::from_bytes(&b[i..ne]);
        if name != HeaderName::Other && first[name as usize] == NONE {
            first[name as usize] = u16::try_from(self.count - 1).unwrap_or(NONE - 1);
        }
        // The value is set when the header ends, after any folds.
        headers.push(name, i..ne, 0..0);
        self.vstart = c + 1;
        self.vend = e;
        Ok(())
    }

    /// Closes the last header.
    #[inline(always)]
    fn finish(self, b: &[u8], headers: &mut HeaderStore<'_>) {
        if self.count > 0 {
            headers.set_last_value(trim_range(b, self.vstart, self.vend));
        }
    }
}

/// `s..e` without LWS at either end. Both ends of the result sit next to
/// ASCII bytes (or the line ends), so they are char boundaries.
#[inline(always)]
fn trim_range(b: &[u8], mut s: usize, mut e: usize) -> std::ops::Range<usize> {
    while s < e && scan::is_lws(b[s]) {
        s += 1;
    }
    while e > s && scan::is_lws(b[e - 1]) {
        e -= 1;
    }
    s..e
}

fn looks_like_start_line(line: &str) -> bool {
    let b = line.as_bytes();
    if b.len() >= 4 && b[..4].eq_ignore_ascii_case(b"SIP/") {
        return true;
    }
    let m = scan::take_while(b, 0, scan::is_token);
    m > 0
        && b.get(m) == Some(&b' ')
        && line
            .rsplit(' ')
            .next()
            .is_some_and(|v| v.len() > 4 && v.as_bytes()[..4].eq_ignore_ascii_case(b"SIP/"))
}

/// Parses `SIP/x.y`: Ok for 2.0, `UnsupportedVersion` for another well-formed one.
fn version(s: &str) -> Result<(), ErrorKind> {
    let b = s.as_bytes();
    if let [s0, i, p, b'/', b'2', b'.', b'0'] = *b {
        if s0 | 0x20 == b's' && i | 0x20 == b'i' && p | 0x20 == b'p' {
            return Ok(());
        }
    }
    if b.len() < 4 || !b[..4].eq_ignore_ascii_case(b"SIP/") {
        return Err(ErrorKind::InvalidVersion);
    }
    let rest = &b[4..];
    let dot = rest
        .iter()
        .position(|&c| c == b'.')
        .ok_or(ErrorKind::InvalidVersion)?;
    let (maj, min) = (&rest[..dot], &rest[dot + 1..]);
    let num = |d: &[u8]| -> Result<u16, ErrorKind> {
        if d.is_empty() || !d.iter().all(u8::is_ascii_digit) {
            return Err(ErrorKind::InvalidVersion);
        }
        Ok(scan::digits_u64(d).map_or(u16::MAX, |v| u16::try_from(v).unwrap_or(u16::MAX)))
    };
    let (major, minor) = (num(maj)?, num(min)?);
    if (major, minor) == (2, 0) {
        Ok(())
    } else {
        Err(ErrorKind::UnsupportedVersion { major, minor })
    }
}

/// Parses a Request-Line (RFC 3261 §7.1, strict single SPs per RFC 4475
/// §3.1.2.8-10) or a Status-Line (§7.2).
fn start_line<'a>(buf: &[u8], p: usize, line: &'a str) -> Result<Start<'a>, ParseError> {
    let b = line.as_bytes();
    let at = |i: usize, k: ErrorKind, s: StartKind| ParseError::at(buf, p + i, k).with_start(s);
    if b.len() >= 4 && b[..4].eq_ignore_ascii_case(b"SIP/") {
        let s = StartKind::Response;
        let bad = |i, expected| at(i, ErrorKind::InvalidStatusLine { expected }, s);
        let sp = b
            .iter()
            .position(|&c| c == b' ')
            .ok_or_else(|| bad(b.len(), "SP after the SIP-Version"))?;
        version(&line[..sp]).map_err(|k| at(0, k, s))?;
        let cs = sp + 1;
        let ce = scan::take_while(b, cs, |c| c.is_ascii_digit());
        if ce - cs != 3 || (ce < b.len() && b[ce] != b' ') {
            if ce > cs {
                return Err(at(cs, ErrorKind::InvalidStatusCode, s));
            }
            return Err(bad(cs, "a three-digit status code"));
        }
        let status = (b[cs] - b'0') as u16 * 100
            + (b[cs + 1] - b'0') as u16 * 10
            + (b[cs + 2] - b'0') as u16;
        if !(100..=699).contains(&status) {
            return Err(at(cs, ErrorKind::InvalidStatusCode, s));
        }
        if ce == b.len() {
            return Err(bad(ce, "SP after the status code"));
        }
        let reason = &line[ce + 1..];
        if let Some(k) = reason
            .bytes()
            .position(|c| (c < 0x20 && c != b'\t') || c == 0x7f)
        {
            return Err(at(
                ce + 1 + k,
                ErrorKind::InvalidByte(reason.as_bytes()[k]),
                s,
            ));
        }
        return Ok(Start::Response { status, reason });
    }
    let s = StartKind::Request;
    let bad = |i, expected| at(i, ErrorKind::InvalidRequestLine { expected }, s);
    let me = scan::take_while(b, 0, scan::is_token);
    if me == 0 {
        return Err(bad(0, "a method (token) at the start of the line"));
    }
    if b.get(me) != Some(&b' ') {
        return Err(bad(me, "a single SP after the method"));
    }
    let rest = &line[me + 1..];
    let Some(last_sp) = memchr::memrchr(b' ', rest.as_bytes()) else {
        return Err(bad(line.len(), "SP then SIP-Version after the Request-URI"));
    };
    let ver = &rest[last_sp + 1..];
    let uri_s = &rest[..last_sp];
    let us = me + 1;
    if ver.is_empty() {
        return Err(bad(us + last_sp, "no whitespace after the SIP-Version"));
    }
    if uri_s.is_empty() || uri_s.starts_with(' ') {
        return Err(bad(
            us,
            "exactly one SP between the method and the Request-URI",
        ));
    }
    if uri_s.ends_with(' ') {
        return Err(bad(
            us + uri_s.trim_end().len(),
            "exactly one SP between the Request-URI and SIP-Version",
        ));
    }
    if let Some(k) = memchr::memchr2(b' ', b'\t', uri_s.as_bytes()) {
        return Err(bad(us + k, "no whitespace inside the Request-URI"));
    }
    version(ver).map_err(|k| at(us + last_sp + 1, k, s))?;
    let uri = uri::parse_uri(uri_s)
        .map_err(|(i, expected)| at(us + i, ErrorKind::InvalidUri { expected }, s))?;
    if !uri.headers.is_empty() {
        let q = uri_s.find('?').unwrap_or(0);
        return Err(at(
            us + q,
            ErrorKind::InvalidUri {
                expected: "no '?' headers in a Request-URI (RFC 3261 §19.1.1)",
            },
            s,
        ));
    }
    Ok(Start::Request {
        method: &line[..me],
        uri,
    })
}

/// The start line of a sipfrag (RFC 3420), if it has one.
#[derive(Debug, Clone, Copy)]
pub enum StartLine<'a> {
    /// A Request-Line.
    Request {
        /// Method token.
        method: &'a str,
        /// Request-URI.
        uri: Uri<'a>,
    },
    /// A Status-Line.
    Response {
        /// Status code.
        status: u16,
        /// Reason phrase.
        reason: &'a str,
    },
}

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

    /// A split's result with the headers and index it filled.
    type Split<'a> = (
        Result<(Start<'a>, usize, usize), ParseError>,
        HeaderStore<'a>,
        [u16; KNOWN],
    );

    /// The general path alone over the same input.
    fn split_slow(buf: &[u8], p: usize, mode: Mode) -> Split<'_> {
        let mut h = HeaderStore::new();
        let mut f = [NONE; KNOWN];
        let r = split_general(buf, p, &Limits::default(), mode, &mut h, &mut f);
        (r, h, f)
    }

    /// Wherever the single pass gives an answer, it is the general path's.
    fn fast_agrees(buf: &[u8]) {
        let mut p = 0;
        while buf.len() >= p + 2 && buf[p] == b'\r' && buf[p + 1] == b'\n' {
            p += 2;
        }
        if p >= buf.len() {
            return;
        }
        let mut h = HeaderStore::new();
        let mut f = [NONE; KNOWN];
        let Some(fast) = split_fast(buf, p, &Limits::default(), Mode::Datagram, &mut h, &mut f)
        else {
            return;
        };
        let (slow, sh, sf) = split_slow(buf, p, Mode::Datagram);
        match (fast, slow) {
            (Ok((a, ae, ab)), Ok((b, be, bb))) => {
                assert_eq!((ae, ab), (be, bb));
                assert_eq!(StartLine::from(a).describe(), StartLine::from(b).describe());
                assert!(h.iter().eq(sh.iter()), "{:?}", String::from_utf8_lossy(buf));
                assert_eq!(f, sf);
            }
            (Err(a), Err(b)) => assert_eq!(a, b),
            (a, b) => panic!(
                "fast {a:?} slow {b:?} on {:?}",
                String::from_utf8_lossy(buf)
            ),
        }
    }

    #[test]
    fn single_pass_agrees_with_the_general_path() {
        let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata");
        let mut all = Vec::new();
        for dir in ["rfc4475", "messages"] {
            for e in std::fs::read_dir(root.join(dir)).unwrap() {
                all.push(std::fs::read(e.unwrap().path()).unwrap());
            }
        }
        all.push(b"\r\n\r\nOPTIONS sip:a@b SIP/2.0\r\nX:  a \r\n \t b \r\nY:\r\n\r\n".to_vec());
        all.push(b"SIP/2.0 200 OK\r\nA : 1\r\nb\t: 2\r\n\r\nbody\r\n\r\n".to_vec());
        for buf in &all {
            fast_agrees(buf);
        }
        // Every byte of two messages replaced by each byte that matters to
        // the split.
        for buf in all.iter().filter(|b| b.len() < 700).take(6) {
            for i in 0..buf.len() {
                for c in [b'\r', b'\n', b' ', b'\t', b':', b'a', 0x80, 0xff, 0] {
                    let mut m = buf.clone();
                    m[i] = c;
                    fast_agrees(&m);
                }
            }
        }
    }

    #[test]
    fn long_names_and_the_addressable_head() {
        // A name longer than 64 KiB keeps its spelling.
        let name = "X".repeat(70_000);
        let m = format!(
            "OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n{name}: v\r\n\
             Max-Forwards: 70\r\nTo: <sip:a@b>\r\nFrom: <sip:a@b>;tag=1\r\nCall-ID: c\r\n\
             CSeq: 1 OPTIONS\r\n\r\n"
        );
        let limits = Limits {
            max_message_size: 100_000,
            ..Limits::default()
        };
        let msg = parse_with(m.as_bytes(), &limits, Mode::Datagram).unwrap();
        let h = msg.header_at(1).unwrap();
        assert_eq!((h.raw_name.len(), h.value), (70_000, "v"));
        // A line ending past what the slots address is refused, not truncated.
        let mut h = HeaderStore::new();
        let mut f = [NONE; KNOWN];
        let r = HeaderLines::default().line(b"X: y", 0, MAX_HEAD + 1, &limits, &mut h, &mut f);
        assert!(matches!(r, Err((0, ErrorKind::TooLarge { .. }))));
        assert_eq!(h.len(), 0);
    }

    #[test]
    fn versions() {
        assert_eq!(version("SIP/2.0"), Ok(()));
        assert_eq!(version("sip/2.0"), Ok(()));
        assert_eq!(
            version("SIP/7.0"),
            Err(ErrorKind::UnsupportedVersion { major: 7, minor: 0 })
        );
        assert_eq!(version("SIP/2"), Err(ErrorKind::InvalidVersion));
        assert_eq!(version("HTTP/1.1"), Err(ErrorKind::InvalidVersion));
    }

    #[test]
    fn errors_before_the_start_line_are_classified() {
        let big = [b'x'; 70_000];
        assert_eq!(parse(&big).unwrap_err().start, StartKind::Request);
        assert_eq!(
            parse(b"SIP/2.0 200 OK\r\n").unwrap_err().start,
            StartKind::Response
        );
        assert_eq!(parse(b"\r\n").unwrap_err().start, StartKind::Unknown);
    }

    #[test]
    fn many_folds_and_an_all_blank_value() {
        let mut m = b"OPTIONS sip:a@b SIP/2.0\r\nX-Blank:".to_vec();
        for _ in 0..10_000 {
            m.extend_from_slice(b"\r\n ");
        }
        m.extend_from_slice(
            b"\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nMax-Forwards: 70\r\nTo: <sip:a@b>\r\n\
From: <sip:a@b>;tag=1\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\nl: 0\r\n\r\n",
        );
        let msg = parse(&m).unwrap();
        assert_eq!(msg.header_value("X-Blank"), Some(""));
    }

    #[test]
    fn a_lone_cr_is_reported_where_it_stands() {
        // As many CRs as lines, but one stands alone and one LF is bare: the
        // line-end hints must not hide the first error.
        let m = b"OPTIONS sip:a@b SIP/2.0\r\nX: a\rb\r\nY: c\nZ: d\r\n\r\n";
        let e = parse(m).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidByte(b'\r'));
        assert_eq!(e.offset, 29);
        let m = b"OPTIONS sip:a@b SIP/2.0\r\nX: a\nb\r\n\r\n";
        assert_eq!(parse(m).unwrap_err().kind, ErrorKind::BareLf);
    }

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
