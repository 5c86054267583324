//! The raw split shared by every level of parsing: size limits, the start
//! line (RFC 3261 §7.1, §7.2), header lines and folds (§7.3.1), UTF-8 and
//! body framing by Content-Length (§18.3). Values are not checked here.

use crate::headers::{offset_in, Header, HeaderStore, MAX_HEAD, NONE};
use crate::limits::{Limits, Mode};
use crate::name::{HeaderName, KNOWN};
use crate::scan;
use crate::uri::{self, Uri};
use crate::{ErrorKind, Limit, ParseError, StartKind};

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

/// Size limits, the end of the header section, the start line and the header
/// lines; fills `headers` and `first` in place and returns the start line and
/// the offsets of the CRLF ending the header section and of the body.
#[inline(always)]
pub(crate) fn split_message<'a>(
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

pub(crate) fn duplicate(buf: &[u8], h: &Header<'_>, sk: StartKind) -> ParseError {
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
pub(crate) fn frame_body<'a>(
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

/// The single pass for well-formed messages: finds each line's colon and
/// end eight bytes a step ([`scan::find_control`]), splits the header lines
/// as it goes (name, colon, trimmed value: one slot written once), stops at
/// the empty line, then checks UTF-8 and the start line. `None` when
/// anything is off or unusual (a bare CR or LF, a fold, SP/HT before the
/// colon, a bad header name, too many headers, invalid UTF-8, no empty line,
/// a header section past what the slots address): the general path then
/// splits it again and reports the error. `Some(Err)` only for errors the
/// general path would report first (size limits, start line).
#[inline(always)]
fn split_fast<'a>(
    buf: &'a [u8],
    p: usize,
    limits: &Limits,
    mode: Mode,
    headers: &mut HeaderStore<'a>,
    first: &mut [u16; KNOWN],
) -> Option<Result<(Start<'a>, usize, usize), ParseError>> {
    if buf.len() > MAX_HEAD {
        return None;
    }
    // A line ends at its first CR or LF (other control bytes, HT among
    // them, are part of the line), which must be a CR followed by LF.
    let line_end = |mut k: usize| -> Option<usize> {
        loop {
            k = scan::find_control(buf, k, false)?;
            match buf[k] {
                b'\r' if buf.get(k + 1) == Some(&b'\n') => return Some(k),
                b'\r' | b'\n' => return None,
                _ => k += 1,
            }
        }
    };
    let start_end = line_end(p)?;
    let mut i = start_end + 2;
    let mut count = 0usize;
    let hend = loop {
        // The line's first control byte or ':': the colon right after the
        // name of a header line, or the CR of the empty line.
        let c = scan::find_control(buf, i, true)?;
        if buf[c] != b':' {
            if c == i && buf[c] == b'\r' && buf.get(c + 1) == Some(&b'\n') {
                break i;
            }
            return None;
        }
        // The name: a token. A known name is spelled in token bytes, so
        // only another one needs its bytes checked.
        let name = HeaderName::from_bytes(&buf[i..c]);
        if c == i || (name == HeaderName::Other && scan::token_end(buf, i) != c) {
            return None;
        }
        count += 1;
        if count > limits.max_headers {
            return None;
        }
        let e = line_end(c + 1)?;
        if matches!(buf.get(e + 2), Some(b' ' | b'\t')) {
            return None;
        }
        let value = trim_range(buf, c + 1, e);
        note_first(first, name, count - 1);
        headers.push(name, i..c, value);
        i = e + 2;
    };
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
pub(crate) fn unreachable_start(buf: &[u8]) -> ParseError {
    ParseError::at(buf, 0, ErrorKind::Empty)
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
    pub(crate) fn kind(&self) -> StartKind {
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

/// What [`split_head`] makes of a fragment (`buf` whole) that is a start
/// line alone, with or without its CRLF — the usual NOTIFY body, `SIP/2.0
/// 200 OK` (RFC 3515 §2.4.5): the text and the start line, or its error.
/// `None` for anything else (header lines, a control byte, invalid UTF-8, a
/// first line that is not a start line).
pub(crate) fn lone_start_line(buf: &[u8]) -> Option<(&str, Result<Start<'_>, ParseError>)> {
    let line = buf.strip_suffix(b"\r\n").unwrap_or(buf);
    // No CR or LF in the line; other control bytes (HT among them, rare
    // in a start line) are left to the general path too.
    if scan::find_control(line, 0, false).is_some() {
        return None;
    }
    let text = std::str::from_utf8(buf).ok()?;
    let line = &text[..line.len()];
    if !looks_like_start_line(line) {
        return None;
    }
    Some((text, start_line(buf, 0, line)))
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
        note_first(first, name, self.count - 1);
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

/// Records line `index` as the first `name` line unless one came before.
#[inline(always)]
fn note_first(first: &mut [u16; KNOWN], name: HeaderName, index: usize) {
    if name != HeaderName::Other && first[name as usize] == NONE {
        first[name as usize] = u16::try_from(index).unwrap_or(NONE - 1);
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
    let (me, last_sp) = request_line_spaces(line, last_sp_fast).map_err(|(i, e)| bad(i, e))?;
    let rest = &line[me + 1..];
    let (ver, uri_s, us) = (&rest[last_sp + 1..], &rest[..last_sp], me + 1);
    // A URI that parses holds no SP or HT, so only one that does not is
    // searched for them; the errors keep their order.
    let uri = uri::parse_uri(uri_s);
    if uri.is_err() {
        if let Some(k) = memchr::memchr2(b' ', b'\t', uri_s.as_bytes()) {
            return Err(bad(us + k, "no whitespace inside the Request-URI"));
        }
    }
    version(ver).map_err(|k| at(us + last_sp + 1, k, s))?;
    let uri = uri.map_err(|(i, expected)| at(us + i, ErrorKind::InvalidUri { expected }, s))?;
    if let Some(q) = uri_headers_at(&uri, uri_s) {
        return Err(at(us + q, NO_URI_HEADERS, s));
    }
    Ok(Start::Request {
        method: &line[..me],
        uri,
    })
}

/// A Request-URI carries no `?` headers (RFC 3261 §19.1.1).
const NO_URI_HEADERS: ErrorKind = ErrorKind::InvalidUri {
    expected: "no '?' headers in a Request-URI (RFC 3261 §19.1.1)",
};

/// Where the `?` of a Request-URI's headers stands in `uri_s`, if it has any.
fn uri_headers_at(uri: &Uri<'_>, uri_s: &str) -> Option<usize> {
    (!uri.headers.is_empty()).then(|| uri_s.find('?').unwrap_or(0))
}

/// The last SP of `rest` (a Request-Line after its method): the one of a
/// line ending in " SIP/2.0" without a search.
fn last_sp_fast(rb: &[u8]) -> Option<usize> {
    match rb.len().checked_sub(8).map(|t| (t, &rb[t..])) {
        Some((t, &[b' ', c0, c1, c2, b'/', b'2', b'.', b'0']))
            if c0 | 0x20 == b's' && c1 | 0x20 == b'i' && c2 | 0x20 == b'p' =>
        {
            Some(t)
        }
        _ => memchr::memrchr(b' ', rb),
    }
}

/// The single SPs of a Request-Line (RFC 3261 §7.1, §25.1): the method's
/// end, and the last SP after it (found by `last_sp`), which separates the
/// Request-URI from the SIP-Version; `Err` is the offset in the line and
/// what was expected there.
fn request_line_spaces(
    line: &str,
    last_sp: fn(&[u8]) -> Option<usize>,
) -> Result<(usize, usize), (usize, &'static str)> {
    let b = line.as_bytes();
    let me = scan::take_while(b, 0, scan::is_token);
    if me == 0 {
        return Err((0, "a method (token) at the start of the line"));
    }
    if b.get(me) != Some(&b' ') {
        return Err((me, "a single SP after the method"));
    }
    let rest = &line[me + 1..];
    let Some(sp) = last_sp(rest.as_bytes()) else {
        return Err((line.len(), "SP then SIP-Version after the Request-URI"));
    };
    let (ver, uri_s, us) = (&rest[sp + 1..], &rest[..sp], me + 1);
    if ver.is_empty() {
        return Err((us + sp, "no whitespace after the SIP-Version"));
    }
    if uri_s.is_empty() || uri_s.starts_with(' ') {
        return Err((us, "exactly one SP between the method and the Request-URI"));
    }
    if uri_s.ends_with(' ') {
        return Err((
            us + uri_s.trim_end().len(),
            "exactly one SP between the Request-URI and SIP-Version",
        ));
    }
    Ok((me, sp))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{parse, parse_with};

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

    proptest::proptest! {
        /// On header sections built from the bytes that matter to the split
        /// (line ends, folds, SP/HT around the colon, bad name bytes,
        /// non-ASCII), the single pass agrees with the general path wherever
        /// it answers.
        #[test]
        fn single_pass_agrees_on_random_header_lines(
            lines in proptest::collection::vec("[a-cA-C:; \t\r\n\x00é-]{0,12}", 0..8),
            start in "(OPTIONS sip:a@b SIP/2.0|SIP/2.0 200 OK|SIP/2.0 99 x|X sip:a SIP/3.0)",
        ) {
            let mut m = format!("{start}\r\n");
            for l in &lines {
                m.push_str(l);
                m.push_str("\r\n");
            }
            m.push_str("\r\nbody");
            fast_agrees(m.as_bytes());
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

    /// The Request-Line checks as they were before the two shortcuts of
    /// `start_line` (the last SP of a line ending in " SIP/2.0", no search
    /// for whitespace inside a URI that parses): the error (or the URI).
    /// The SP rules are `request_line_spaces`, with the last SP searched.
    fn request_line_before(line: &str) -> Result<String, ParseError> {
        let b = line.as_bytes();
        let s = StartKind::Request;
        let at = |i: usize, k: ErrorKind| ParseError::at(b, i, k).with_start(s);
        let bad = |i, expected| at(i, ErrorKind::InvalidRequestLine { expected });
        let (me, last_sp) = request_line_spaces(line, |rb| memchr::memrchr(b' ', rb))
            .map_err(|(i, e)| bad(i, e))?;
        let rest = &line[me + 1..];
        let (ver, uri_s, us) = (&rest[last_sp + 1..], &rest[..last_sp], me + 1);
        if let Some(k) = memchr::memchr2(b' ', b'\t', uri_s.as_bytes()) {
            return Err(bad(us + k, "no whitespace inside the Request-URI"));
        }
        version(ver).map_err(|k| at(us + last_sp + 1, k))?;
        let uri = uri::parse_uri(uri_s)
            .map_err(|(i, expected)| at(us + i, ErrorKind::InvalidUri { expected }))?;
        if let Some(q) = uri_headers_at(&uri, uri_s) {
            return Err(at(us + q, NO_URI_HEADERS));
        }
        Ok(format!("{} {}", &line[..me], uri.as_str()))
    }

    proptest::proptest! {
        /// The Request-Line gives what it gave before its shortcuts, errors
        /// (kind and offset) included.
        #[test]
        fn request_line_as_before(
            method in "(INVITE|X|)",
            sp in "( |  |\t|)",
            uri in "(sip:|sIp:|tel:|x:|)[a-c1.@;=?: \t%<>]{0,10}",
            sp2 in "( |  |\t|)",
            ver in "(SIP/2.0|sip/2.0|SIP/2.1|SIP/02.0|SIP/2.0 |HTTP/1.1| SIP/2.0|)",
        ) {
            let line = format!("{method}{sp}{uri}{sp2}{ver}");
            let now = start_line(line.as_bytes(), 0, &line)
                .map(|st| StartLine::from(st).describe());
            proptest::prop_assert_eq!(now, request_line_before(&line), "{:?}", line);
        }
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
}
