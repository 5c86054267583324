//! The parser: start line, header section, receiver validation (RFC 3261
//! §8.2, §16.3, §18.3) and body framing; also `message/sipfrag` (RFC 3420).

use crate::message::{offset_in, Header, HeaderStore, Parts, Request, Response, NONE};
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
    let mut r = parse_inner(buf, limits, mode);
    // Fixed in place: `map_err` would move the ~1.5 KB message once more.
    if let Err(e) = &mut r {
        // An error before the start line was read (size, framing, UTF-8):
        // classify the message by its first bytes so a request can still be answered.
        if e.start == StartKind::Unknown && e.kind != ErrorKind::Empty {
            e.start = guess_start(buf);
        }
    }
    r
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
    let mut lf = [0u32; LINE_HINTS];
    let (hend, body_start, lines) = match scan::find_head_end_lines(&buf[p..], &mut lf) {
        Some((k, n)) => (p + k + 2, p + k + 4, n),
        None => return Err(unterminated(buf, p)),
    };
    // The recorded line ends can stand for a search per line when there are
    // as many CRs as lines in the header section and each LF, when used, has
    // its CR: then no CR stands alone and the lines are those a search finds.
    let hints = (lines <= LINE_HINTS && memchr::memchr_iter(b'\r', &buf[p..hend]).count() == lines)
        .then(|| &lf[..lines]);
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
    let mut headers = HeaderStore::new();
    let mut first = [NONE; KNOWN];
    let start = match split_head(buf, p..hend, limits, false, hints, &mut headers, &mut first) {
        Ok(start) => start,
        // A lone CR can make the hints name a different first error: search again.
        Err(_) if hints.is_some() => {
            headers = HeaderStore::new();
            first = [NONE; KNOWN];
            split_head(buf, p..hend, limits, false, None, &mut headers, &mut first)?
        }
        Err(e) => return Err(e),
    };
    let sk = match start {
        Some(Start::Request { .. }) => StartKind::Request,
        _ => StartKind::Response,
    };
    let err = |h: &Header<'a>, e: VErr| -> ParseError {
        ParseError::at(buf, offset_in(buf, h.value) + e.at, e.kind)
            .with_header(h.name)
            .with_start(sk)
    };

    // Receiver validation, in header order so the first problem is reported.
    let hs = headers.as_slice();
    let mut from = None;
    let mut to = None;
    let mut call_id = None;
    let mut cseq: Option<CSeq<'a>> = None;
    let mut max_forwards = None;
    let mut content_length = None;
    let mut top_via = None;
    for (idx, h) in hs.iter().enumerate() {
        if h.name == HeaderName::Other {
            continue;
        }
        if h.name.is_single() && usize::from(first[h.name as usize]) != idx {
            return Err(ParseError::at(
                buf,
                offset_in(buf, h.raw_name),
                ErrorKind::DuplicateHeader(h.name),
            )
            .with_header(h.name)
            .with_start(sk));
        }
        let v = h.value;
        match h.name {
            HeaderName::Via => {
                let via = check_list(v, typed::via_at).map_err(|e| err(h, e))?;
                top_via.get_or_insert(via);
            }
            HeaderName::Contact => {
                check_list(v, typed::contact_at).map_err(|e| err(h, e))?;
            }
            HeaderName::Route | HeaderName::RecordRoute => {
                check_list(v, typed::route_at).map_err(|e| err(h, e))?;
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
    if let Some(Start::Request { method, .. }) = &start {
        if max_forwards.is_none() {
            let rfc3261 = top_via.is_rfc3261_branch();
            if rfc3261 {
                return Err(missing(HeaderName::MaxForwards));
            }
        }
        if cseq.method != *method {
            let h = &hs[usize::from(first[HeaderName::CSeq as usize])];
            let at = offset_in(buf, cseq.method);
            return Err(ParseError::at(buf, at, ErrorKind::CSeqMethodMismatch)
                .with_header(HeaderName::CSeq)
                .with_start(sk)
                .with_header(h.name));
        }
    }

    // Body framing (RFC 3261 §18.3).
    let available = buf.len() - body_start;
    let cl_err = |kind: ErrorKind| {
        let at = match first[HeaderName::ContentLength as usize] {
            NONE => hend,
            i => offset_in(buf, hs[usize::from(i)].value),
        };
        ParseError::at(buf, at, kind)
            .with_header(HeaderName::ContentLength)
            .with_start(sk)
    };
    let body = match (mode, content_length) {
        (Mode::Datagram, None) => &buf[body_start..],
        (Mode::Stream, None) => return Err(cl_err(ErrorKind::MissingContentLength)),
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
            &buf[body_start..body_start + n]
        }
    };

    // Written out in each arm so the parts are built in the message's place
    // rather than moved into it.
    macro_rules! parts {
        () => {
            Parts {
                buf,
                headers,
                first,
                body,
                call_id,
                cseq,
                from,
                to,
                max_forwards,
                content_length,
                start: sk,
                max_nesting: limits.max_nesting,
                top_via,
            }
        };
    }
    match start {
        Some(Start::Request { method, uri }) => Ok(Message::Request(Request {
            method,
            uri,
            parts: parts!(),
        })),
        Some(Start::Response { status, reason }) => Ok(Message::Response(Response {
            status,
            reason,
            parts: parts!(),
        })),
        None => unreachable_start(buf),
    }
}

/// How many line ends `parse` records while looking for the end of the
/// header section, to spare a search per line.
const LINE_HINTS: usize = 48;

/// `split_head` always yields a start line for a message (fragments only may
/// lack one); this keeps that invariant without a panic.
fn unreachable_start<'a>(buf: &[u8]) -> Result<Message<'a>, ParseError> {
    Err(ParseError::at(buf, 0, ErrorKind::Empty))
}

/// Checks every value of a list header; returns the first one.
fn check_list<'a, T>(
    v: &'a str,
    f: fn(&'a str, usize) -> typed::VResult<(T, usize)>,
) -> Result<T, VErr> {
    let b = v.as_bytes();
    let mut i = scan::skip_lws(b, 0);
    if i >= b.len() {
        return Err((i, "a value").into());
    }
    let mut first = None;
    loop {
        let (t, e) = f(v, i)?;
        if first.is_none() {
            first = Some(t);
        }
        match typed::list_next(b, e)? {
            Some(n) => i = n,
            // `first` was set on the first turn of the loop.
            None => return first.ok_or_else(|| (i, "a value").into()),
        }
    }
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

/// Splits `buf[head]` (start line and header lines, each ending in CRLF,
/// except possibly the last line of a fragment) into a start line and headers,
/// filling `headers` (empty on entry) and `first` (all `NONE` on entry) in place.
pub(crate) fn split_head<'a>(
    buf: &'a [u8],
    head: std::ops::Range<usize>,
    limits: &Limits,
    fragment: bool,
    hints: Option<&[u32]>,
    headers: &mut HeaderStore<'a>,
    first: &mut [u16; KNOWN],
) -> Result<Option<Start<'a>>, ParseError> {
    let (p, hend) = (head.start, head.end);
    let text = std::str::from_utf8(&buf[p..hend])
        .map_err(|e| ParseError::at(buf, p + e.valid_up_to(), ErrorKind::InvalidUtf8))?;
    let b = text.as_bytes();
    let hints = hints.unwrap_or_default();
    // Line `n` starting at `i` ends at its recorded LF, if that has its CR.
    let hinted = |n: usize, i: usize| -> Option<(usize, usize)> {
        let k = *hints.get(n)? as usize;
        (k > i && k < b.len() && b[k - 1] == b'\r').then_some((k - 1, k + 1))
    };
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
    let mut line = 1usize;
    let (e, mut i) = match hinted(0, 0) {
        Some(r) => r,
        None => line_end(0)?,
    };
    let first_line = &text[..e];
    let start = if fragment && !looks_like_start_line(first_line) {
        i = 0;
        line = 0;
        None
    } else {
        Some(start_line(buf, p, first_line)?)
    };
    let sk = match start {
        Some(Start::Request { .. }) => StartKind::Request,
        Some(Start::Response { .. }) => StartKind::Response,
        None => StartKind::Unknown,
    };
    let mut count = 0usize;
    // The open header's value, `b[vstart..vend]`: set (trimmed) once the
    // header ends, after any folds; trimming after every fold would be
    // quadratic in the number of folds.
    let mut vstart = 0usize;
    let mut vend = 0usize;
    while i < b.len() {
        let (e, n) = match hinted(line, i) {
            Some(r) => r,
            None => line_end(i).map_err(|e| e.with_start(sk))?,
        };
        line += 1;
        if b[i] == b' ' || b[i] == b'\t' {
            // A fold: the line continues the previous header's value (RFC 3261 §7.3.1).
            match headers.last_mut() {
                Some(_) => vend = e,
                None => {
                    return Err(
                        ParseError::at(buf, p + i, ErrorKind::InvalidHeaderName).with_start(sk)
                    );
                }
            }
            i = n;
            continue;
        }
        let ne = scan::take_while(b, i, scan::is_token);
        let c = scan::take_while(b, ne, |c| c == b' ' || c == b'\t');
        if ne == i || b.get(c) != Some(&b':') || c >= e {
            let at = if ne == i { i } else { c };
            return Err(ParseError::at(buf, p + at, ErrorKind::InvalidHeaderName).with_start(sk));
        }
        count += 1;
        if count > limits.max_headers {
            return Err(ParseError::at(
                buf,
                p + i,
                ErrorKind::TooLarge {
                    limit: Limit::HeaderCount,
                    max: limits.max_headers,
                },
            )
            .with_start(sk));
        }
        if let Some(h) = headers.last_mut() {
            h.value = &text[trim_range(b, vstart, vend)];
        }
        let name = HeaderName::from_bytes(&b[i..ne]);
        if name != HeaderName::Other && first[name as usize] == NONE {
            first[name as usize] = u16::try_from(count - 1).unwrap_or(NONE - 1);
        }
        vstart = c + 1;
        vend = e;
        headers.push(Header {
            name,
            raw_name: &text[i..ne],
            // Set when the header ends, after any folds.
            value: "",
        });
        i = n;
    }
    if let Some(h) = headers.last_mut() {
        h.value = &text[trim_range(b, vstart, vend)];
    }
    Ok(start)
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
    pub fn headers(&self) -> &[Header<'a>] {
        self.headers.as_slice()
    }
    /// The value of the first header called `name` (any case, compact forms resolve).
    pub fn header_value(&self, name: &str) -> Option<&'a str> {
        self.headers
            .as_slice()
            .iter()
            .find(|h| h.is(name))
            .map(|h| h.value)
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
    let start = split_head(buf, 0..hend, limits, true, None, &mut headers, &mut first)?;
    let start = start.map(|s| match s {
        Start::Request { method, uri } => StartLine::Request { method, uri },
        Start::Response { status, reason } => StartLine::Response { status, reason },
    });
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
