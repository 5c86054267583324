//! URIs: `sip:`/`sips:` (RFC 3261 §19.1), `tel:` (RFC 3966), and any other
//! scheme kept as an absolute URI (RFC 3261 §25.1 `absoluteURI`).

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::params::{self, Params, Style};
use crate::scan;

/// A URI scheme. Comparison of schemes is case-insensitive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme<'a> {
    /// `sip`
    Sip,
    /// `sips`
    Sips,
    /// `tel` (RFC 3966)
    Tel,
    /// Any other scheme, as written; the URI is kept opaque.
    Other(&'a str),
}

impl Scheme<'_> {
    /// The scheme as a lowercase string for known ones, as written otherwise.
    pub fn as_str(&self) -> &str {
        match self {
            Scheme::Sip => "sip",
            Scheme::Sips => "sips",
            Scheme::Tel => "tel",
            Scheme::Other(s) => s,
        }
    }
}

/// A host: a domain name, an IPv4 address or an IPv6 reference (RFC 3261 §25.1 `host`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Host<'a> {
    /// A host name as written.
    Domain(&'a str),
    /// A dotted IPv4 address.
    V4(Ipv4Addr),
    /// An IPv6 address (written in brackets).
    V6(Ipv6Addr),
}

impl Host<'_> {
    /// Compares hosts as RFC 3261 §19.1.4 says: names case-insensitively, addresses by value.
    pub fn eq_host(&self, other: &Host<'_>) -> bool {
        match (self, other) {
            (Host::Domain(a), Host::Domain(b)) => a.eq_ignore_ascii_case(b),
            (Host::V4(a), Host::V4(b)) => a == b,
            (Host::V6(a), Host::V6(b)) => a == b,
            _ => false,
        }
    }
}

impl std::fmt::Display for Host<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Host::Domain(d) => f.write_str(d),
            Host::V4(a) => write!(f, "{a}"),
            Host::V6(a) => write!(f, "[{a}]"),
        }
    }
}

/// Parses `host` (name, IPv4 or `[IPv6]`); the whole input must be the host.
pub(crate) fn parse_host(s: &str) -> Result<Host<'_>, (usize, &'static str)> {
    let b = s.as_bytes();
    if b.is_empty() {
        return Err((0, "a host"));
    }
    if b[0] == b'[' {
        if b.len() < 2 || b[b.len() - 1] != b']' {
            return Err((0, "an IPv6 reference closed by ']'"));
        }
        return s[1..s.len() - 1]
            .parse::<Ipv6Addr>()
            .map(Host::V6)
            .map_err(|_| (1, "a valid IPv6 address"));
    }
    let (host, end) = scan_host(s, 0)?;
    if end != b.len() {
        return Err((end, HOST_NAME));
    }
    Ok(host)
}

const HOST_NAME: &str = "a host name of letters, digits, '-' and '.'";

/// Host byte classes (bits): 0 ends a host name.
const H_DIGIT: u8 = 1;
const H_ALPHA: u8 = 2;
const H_DOT: u8 = 4;
/// Any byte of a host name: letters, digits, '-', '_' and '.'.
const H_HOST: u8 = 8;
static HOST_CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let c = i as u8;
        t[i] = if c.is_ascii_digit() {
            H_DIGIT | H_HOST
        } else if c.is_ascii_alphabetic() || c == b'-' || c == b'_' {
            H_ALPHA | H_HOST
        } else if c == b'.' {
            H_DOT | H_HOST
        } else {
            0
        };
        i += 1;
    }
    t
};

/// Scans a host name or IPv4 address (not an IPv6 reference) starting at
/// `hs`, in one pass: labels of letters, digits, '-' and '_' separated by
/// single dots, stopping at the first other byte. Returns the host and its end.
#[inline(always)]
pub(crate) fn scan_host(s: &str, hs: usize) -> Result<(Host<'_>, usize), (usize, &'static str)> {
    let b = s.as_bytes();
    if b.get(hs)
        .is_some_and(|&c| HOST_CLASS[c as usize] & H_ALPHA != 0)
    {
        return scan_name(s, hs);
    }
    // An IPv4 address followed by a byte that is not a host byte is what
    // the general scan would find, without its passes over the bytes.
    if let Some((a, k)) = b.get(hs..).and_then(dotted_quad_prefix) {
        if b.get(hs + k).is_none_or(|&c| HOST_CLASS[c as usize] == 0) {
            return Ok((Host::V4(a), hs + k));
        }
    }
    scan_host_general(s, hs)
}

/// [`scan_host`] for any first byte, in one pass over the bytes.
fn scan_host_general(s: &str, hs: usize) -> Result<(Host<'_>, usize), (usize, &'static str)> {
    let b = s.as_bytes();
    let rest = b.get(hs..).unwrap_or_default();
    // `prev` is the class of the byte before, H_DOT at the start: a dot
    // after a dot (or first) starts an empty label.
    let mut prev = H_DOT;
    let mut seen = 0u8;
    let mut bad = 0u8;
    let mut n = 0usize;
    for &c in rest {
        let k = HOST_CLASS[c as usize];
        if k == 0 {
            break;
        }
        bad |= k & prev;
        prev = k;
        seen |= k;
        n += 1;
    }
    if bad & H_DOT != 0 {
        // An empty label: report the first.
        let mut prev = b'.';
        for (k, &c) in rest[..n].iter().enumerate() {
            if c == b'.' && prev == b'.' {
                return Err((hs + k, HOST_NAME));
            }
            prev = c;
        }
    }
    let i = hs + n;
    if n == 0 {
        return Err((hs, "a host"));
    }
    if seen & H_ALPHA == 0 {
        return match dotted_quad(&rest[..n]) {
            Some(a) => Ok((Host::V4(a), i)),
            None => Err((hs, "a valid IPv4 address")),
        };
    }
    Ok((Host::Domain(&s[hs..i]), i))
}

/// [`scan_host`] for a host whose first byte is a letter, '-' or '_' (so a
/// name, never an IPv4 address): four bytes a step while they all are host
/// bytes, noting a dot after a dot on the way; on one, the general scan
/// finds and reports the first empty label.
#[inline]
fn scan_name(s: &str, hs: usize) -> Result<(Host<'_>, usize), (usize, &'static str)> {
    let b = s.as_bytes();
    let mut i = hs;
    // The class of the byte before `i`; the first byte is no dot.
    let mut prev = 0u8;
    let mut bad = 0u8;
    while let Some(&[c0, c1, c2, c3]) = b.get(i..i.wrapping_add(4)) {
        let k0 = HOST_CLASS[c0 as usize];
        let k1 = HOST_CLASS[c1 as usize];
        let k2 = HOST_CLASS[c2 as usize];
        let k3 = HOST_CLASS[c3 as usize];
        if k0 & k1 & k2 & k3 & H_HOST == 0 {
            break;
        }
        bad |= (prev & k0) | (k0 & k1) | (k1 & k2) | (k2 & k3);
        prev = k3;
        i += 4;
    }
    while i < b.len() {
        let k = HOST_CLASS[b[i] as usize];
        if k == 0 {
            break;
        }
        bad |= prev & k;
        prev = k;
        i += 1;
    }
    if bad & H_DOT != 0 {
        return scan_host_general(s, hs);
    }
    Ok((Host::Domain(&s[hs..i]), i))
}

/// A strict dotted quad, as `str::parse::<Ipv4Addr>` accepts it: four parts
/// of one to three digits, each at most 255, without leading zeros.
#[inline]
fn dotted_quad(b: &[u8]) -> Option<Ipv4Addr> {
    match dotted_quad_prefix(b) {
        Some((a, k)) if k == b.len() => Some(a),
        _ => None,
    }
}

/// A dotted-quad IPv4 address at the start of `b` and where it ends.
#[inline]
fn dotted_quad_prefix(b: &[u8]) -> Option<(Ipv4Addr, usize)> {
    let (a0, k) = quad_part(b, 0)?;
    let (a1, k) = quad_part(b, quad_dot(b, k)?)?;
    let (a2, k) = quad_part(b, quad_dot(b, k)?)?;
    let (a3, k) = quad_part(b, quad_dot(b, k)?)?;
    Some((Ipv4Addr::new(a0, a1, a2, a3), k))
}

/// The offset after the dot at `k` of a dotted quad.
#[inline(always)]
fn quad_dot(b: &[u8], k: usize) -> Option<usize> {
    (b.get(k) == Some(&b'.')).then_some(k + 1)
}

/// One part of a dotted quad at `k`: one to three digits (no more are
/// read), no leading zero, at most 255; its value and end.
#[inline(always)]
fn quad_part(b: &[u8], k: usize) -> Option<(u8, usize)> {
    let digit = |k: usize| match b.get(k) {
        Some(&c) if c.is_ascii_digit() => Some(c - b'0'),
        _ => None,
    };
    let d0 = digit(k)?;
    let Some(d1) = digit(k + 1) else {
        return Some((d0, k + 1));
    };
    if d0 == 0 {
        return None;
    }
    let Some(d2) = digit(k + 2) else {
        return Some((d0 * 10 + d1, k + 2));
    };
    let v = u16::from(d0) * 100 + u16::from(d1) * 10 + u16::from(d2);
    Some((u8::try_from(v).ok()?, k + 3))
}

/// Parses a dotted-quad IPv4 address (digits and dots only, as RFC 3261
/// §25.1 `IPv4address`; no leading `+`, at most three digits a part).
pub(crate) fn ipv4(b: &[u8]) -> Option<Ipv4Addr> {
    let mut parts = [0u8; 4];
    let mut n = 0usize;
    let mut val = 0u16;
    let mut digits = 0;
    for &c in b {
        if c == b'.' {
            if digits == 0 || n == 3 {
                return None;
            }
            parts[n] = u8::try_from(val).ok()?;
            n += 1;
            val = 0;
            digits = 0;
        } else if c.is_ascii_digit() && digits < 3 {
            val = val * 10 + u16::from(c - b'0');
            digits += 1;
        } else {
            return None;
        }
    }
    if digits == 0 || n != 3 {
        return None;
    }
    parts[3] = u8::try_from(val).ok()?;
    Some(Ipv4Addr::from(parts))
}

/// A parsed URI borrowing its text. Fields that a scheme lacks are `None`/empty:
/// a `tel:` URI keeps its number in `user`; an unknown scheme keeps only
/// [`Uri::opaque`].
#[derive(Debug, Clone, Copy)]
pub struct Uri<'a> {
    raw: &'a str,
    /// The scheme.
    pub scheme: Scheme<'a>,
    /// User part (still %-escaped), or the `tel:` number.
    pub user: Option<&'a str>,
    /// Password (still %-escaped).
    pub password: Option<&'a str>,
    /// Host, for `sip`/`sips`.
    pub host: Option<Host<'a>>,
    /// Port, if written.
    pub port: Option<u16>,
    /// URI parameters (`;transport=tcp;lr`).
    pub params: Params<'a>,
    /// Header component after `?`, as written (`Route=%3Csip:x%3E&Subject=y`).
    pub headers: &'a str,
}

impl<'a> Uri<'a> {
    /// Parses a whole string as a URI.
    ///
    /// ```
    /// use sipkit_message::{Uri, Host};
    /// let u = Uri::parse("sip:alice@[2001:db8::1]:5061;transport=tls").unwrap();
    /// assert_eq!(u.user, Some("alice"));
    /// assert_eq!(u.port, Some(5061));
    /// assert!(matches!(u.host, Some(Host::V6(_))));
    /// assert_eq!(u.params.value("transport"), Some("tls"));
    /// ```
    pub fn parse(s: &'a str) -> Result<Uri<'a>, crate::ParseError> {
        parse_uri(s).map_err(|(at, expected)| {
            crate::ParseError::at(s.as_bytes(), at, crate::ErrorKind::InvalidUri { expected })
        })
    }

    /// The URI exactly as written.
    pub fn as_str(&self) -> &'a str {
        self.raw
    }

    /// Everything after `scheme:` as written (the whole content for unknown schemes).
    pub fn opaque(&self) -> &'a str {
        let colon = self.raw.find(':').map_or(0, |c| c + 1);
        &self.raw[colon..]
    }

    /// True for `sip:` and `sips:`.
    pub fn is_sip(&self) -> bool {
        matches!(self.scheme, Scheme::Sip | Scheme::Sips)
    }

    /// Iterates the `?` header component as (name, value) pairs, still escaped.
    pub fn header_fields(&self) -> impl Iterator<Item = (&'a str, &'a str)> {
        let h = self.headers;
        h.split('&')
            .filter(|p| !p.is_empty())
            .map(|p| match p.find('=') {
                Some(e) => (&p[..e], &p[e + 1..]),
                None => (p, ""),
            })
    }
}

impl std::fmt::Display for Uri<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.raw)
    }
}

impl PartialEq for Uri<'_> {
    /// Equality is RFC 3261 §19.1.4 equivalence; see [`uri_eq`].
    fn eq(&self, other: &Self) -> bool {
        uri_eq(self, other)
    }
}

/// Parses a URI; errors are (offset in `s`, what was expected).
pub(crate) fn parse_uri(s: &str) -> Result<Uri<'_>, (usize, &'static str)> {
    let b = s.as_bytes();
    // The common case first: `sip:` in any case (OR-ing 0x20 maps only
    // upper-case letters onto lower-case ones).
    if let [c0, c1, c2, b':', ..] = *b {
        if c0 | 0x20 == b's' && c1 | 0x20 == b'i' && c2 | 0x20 == b'p' {
            let mut uri = Uri {
                raw: s,
                scheme: Scheme::Sip,
                user: None,
                password: None,
                host: None,
                port: None,
                params: Params::default(),
                headers: "",
            };
            parse_sip(s, 4, &mut uri)?;
            return Ok(uri);
        }
    }
    if !b.first().is_some_and(|c| c.is_ascii_alphabetic()) {
        return Err((0, "a URI scheme (a letter first)"));
    }
    let colon = scan::take_while(b, 0, |c| {
        c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.')
    });
    if b.get(colon) != Some(&b':') {
        return Err((colon, "':' after the URI scheme"));
    }
    let scheme_str = &s[..colon];
    let scheme = if scheme_str.eq_ignore_ascii_case("sip") {
        Scheme::Sip
    } else if scheme_str.eq_ignore_ascii_case("sips") {
        Scheme::Sips
    } else if scheme_str.eq_ignore_ascii_case("tel") {
        Scheme::Tel
    } else {
        Scheme::Other(scheme_str)
    };
    let start = colon + 1;
    let mut uri = Uri {
        raw: s,
        scheme,
        user: None,
        password: None,
        host: None,
        port: None,
        params: Params::default(),
        headers: "",
    };
    match scheme {
        Scheme::Sip | Scheme::Sips => parse_sip(s, start, &mut uri)?,
        Scheme::Tel => {
            let end = scan::take_while(b, start, |c| {
                c.is_ascii_hexdigit()
                    || matches!(c, b'*' | b'#' | b'+' | b'-' | b'.' | b'(' | b')' | b'%')
            });
            if end == start {
                return Err((start, "a telephone number after 'tel:'"));
            }
            uri.user = Some(&s[start..end]);
            let pend = params::scan_params(b, end, Style::Uri, b"")?;
            if pend != b.len() {
                return Err((pend, "the end of the tel URI"));
            }
            uri.params = Params::new(&s[end..]);
        }
        Scheme::Other(_) => {
            if start == b.len() {
                return Err((start, "content after the URI scheme"));
            }
            for (i, &c) in b.iter().enumerate().skip(start) {
                if !(scan::is_uric(c) || matches!(c, b'[' | b']' | b'#')) {
                    return Err((i, "URI characters (no whitespace, quotes or '<>')"));
                }
            }
        }
    }
    Ok(uri)
}

/// End of a run of user characters and valid `%HH` escapes from `i`.
#[inline]
fn user_run(b: &[u8], mut i: usize) -> usize {
    loop {
        i = scan::user_end(b, i);
        if scan::escape_at(b, i) {
            i += 3;
        } else {
            return i;
        }
    }
}

fn parse_sip<'a>(s: &'a str, start: usize, uri: &mut Uri<'a>) -> Result<(), (usize, &'static str)> {
    let b = s.as_bytes();
    let mut i = start;
    // Fast path: a user of user characters and valid escapes, then '@' (no
    // password): the first '@' ends it, as below, and it is valid.
    let run = user_run(b, start);
    if run > start && b.get(run) == Some(&b'@') {
        uri.user = Some(&s[start..run]);
        i = run + 1;
    } else if let Some(at) = b[run..].iter().position(|&c| c == b'@') {
        // userinfo: up to the first '@' (neither params nor headers may hold a raw '@'),
        // which is not in the run of user characters and escapes.
        let at = run + at;
        let ui = &b[start..at];
        let (user_end, pw) = match ui.iter().position(|&c| c == b':') {
            Some(p) => (start + p, Some((start + p + 1, at))),
            None => (at, None),
        };
        if user_end == start {
            return Err((start, "a user name before '@'"));
        }
        scan::check_escaped(&b[start..user_end], scan::is_user)
            .map_err(|p| (start + p, "user-name characters or %-escapes"))?;
        uri.user = Some(&s[start..user_end]);
        if let Some((ps, pe)) = pw {
            scan::check_escaped(&b[ps..pe], scan::is_password)
                .map_err(|p| (ps + p, "password characters or %-escapes"))?;
            uri.password = Some(&s[ps..pe]);
        }
        i = at + 1;
    }
    // host
    let hs = i;
    if b.get(i) == Some(&b'[') {
        i = match b[i..].iter().position(|&c| c == b']') {
            Some(p) => i + p + 1,
            None => return Err((i, "an IPv6 reference closed by ']'")),
        };
        if i == hs {
            return Err((hs, "a host"));
        }
        uri.host = Some(parse_host(&s[hs..i]).map_err(|(p, e)| (hs + p, e))?);
    } else {
        let (host, end) = scan_host(s, hs)?;
        uri.host = Some(host);
        i = end;
    }
    if b.get(i) == Some(&b':') {
        let ps = i + 1;
        i = scan::take_while(b, ps, |c| c.is_ascii_digit());
        let port = scan::digits_u64(&b[ps..i]).ok_or((ps, "a port number after ':'"))?;
        uri.port = Some(u16::try_from(port).map_err(|_| (ps, "a port number up to 65535"))?);
    }
    let pstart = i;
    // No parameters (the end of the URI) needs no scan.
    if i < b.len() {
        i = params::scan_params(b, i, Style::Uri, b"?")?;
    }
    uri.params = Params::new(&s[pstart..i]);
    if b.get(i) == Some(&b'?') {
        let hs = i + 1;
        for field in s[hs..].split('&') {
            let off = field.as_ptr() as usize - s.as_ptr() as usize;
            let Some(eq) = field.find('=') else {
                return Err((off, "a URI header of the form name=value"));
            };
            if eq == 0 {
                return Err((off, "a URI header name"));
            }
            scan::check_escaped(&field.as_bytes()[..eq], scan::is_hnv)
                .and_then(|_| {
                    scan::check_escaped(&field.as_bytes()[eq + 1..], scan::is_hnv)
                        .map_err(|p| p + eq + 1)
                })
                .map_err(|p| (off + p, "URI header characters or %-escapes"))?;
        }
        uri.headers = &s[hs..];
        i = b.len();
    }
    if i != b.len() {
        return Err((i, "the end of the URI (no whitespace or '<>' inside)"));
    }
    Ok(())
}

/// The common shape of a URI between `<` and `>`, scanned in place from
/// `us` (just past the `<`) without first looking for the `>`: `sip:`, a user
/// and `@` (or none), a host name or IPv4 address, an optional port and URI
/// parameters, then `>`. Returns the URI and the offset of that `>`, or `None`
/// for anything else (IPv6 references, passwords, URI headers, other schemes,
/// any error), which the general path then handles.
///
/// Every byte it consumes is neither `>` nor whitespace, so the `>` it stops
/// at is the first one, and `parse_uri` on the text between `<` and `>` runs
/// the same steps over the same bytes: the result is the same.
#[inline(always)]
pub(crate) fn sip_until_gt(s: &str, us: usize) -> Option<(Uri<'_>, usize)> {
    let b = s.as_bytes();
    let &[c0, c1, c2, b':', ..] = b.get(us..)? else {
        return None;
    };
    if !(c0 | 0x20 == b's' && c1 | 0x20 == b'i' && c2 | 0x20 == b'p') {
        return None;
    }
    let start = us + 4;
    let run = user_run(b, start);
    let (user, hs) = match b.get(run) {
        Some(b'@') if run > start => (Some(&s[start..run]), run + 1),
        // No '@' before the '>' (user characters hold neither): no userinfo.
        Some(b'>') => (None, start),
        _ => return None,
    };
    if b.get(hs) == Some(&b'[') {
        return None;
    }
    let (host, mut i) = scan_host(s, hs).ok()?;
    let mut port = None;
    if b.get(i) == Some(&b':') {
        let ps = i + 1;
        i = scan::take_while(b, ps, |c| c.is_ascii_digit());
        port = Some(u16::try_from(scan::digits_u64(&b[ps..i])?).ok()?);
    }
    let pstart = i;
    // No parameters (the '>' right after the host or port) needs no scan.
    if b.get(i) != Some(&b'>') {
        i = params::scan_params(b, i, Style::Uri, b">").ok()?;
    }
    if b.get(i) != Some(&b'>') {
        return None;
    }
    let uri = Uri {
        raw: &s[us..i],
        scheme: Scheme::Sip,
        user,
        password: None,
        host: Some(host),
        port,
        params: Params::new(&s[pstart..i]),
        headers: "",
    };
    Some((uri, i))
}

/// URI equivalence per RFC 3261 §19.1.4: escapes compared decoded, user and
/// password case-sensitive, host case-insensitive, a port only equal to the
/// same port, `user`/`ttl`/`method`/`maddr`/`transport` parameters must match
/// when either side has them, other parameters only when both do, and URI
/// headers must all match. `tel:` and other schemes compare decoded and
/// case-insensitively.
///
/// ```
/// use sipkit_message::{Uri, uri_eq};
/// let a = Uri::parse("sip:%61lice@AtLanTa.com;transport=TCP").unwrap();
/// let b = Uri::parse("SIP:alice@atlanta.com;Transport=tcp").unwrap();
/// assert!(uri_eq(&a, &b));
/// let c = Uri::parse("sip:alice@atlanta.com:5060;transport=tcp").unwrap();
/// assert!(!uri_eq(&a, &c));
/// ```
pub fn uri_eq(a: &Uri<'_>, b: &Uri<'_>) -> bool {
    match (a.scheme, b.scheme) {
        (Scheme::Sip, Scheme::Sip) | (Scheme::Sips, Scheme::Sips) => {}
        (Scheme::Tel, Scheme::Tel) => return scan::eq_unescaped_ci(a.opaque(), b.opaque()),
        (Scheme::Other(x), Scheme::Other(y)) if x.eq_ignore_ascii_case(y) => {
            return scan::eq_unescaped_ci(a.opaque(), b.opaque())
        }
        _ => return false,
    }
    let opt_eq = |x: Option<&str>, y: Option<&str>| match (x, y) {
        (None, None) => true,
        (Some(x), Some(y)) => scan::eq_unescaped(x, y),
        _ => false,
    };
    if !opt_eq(a.user, b.user) || !opt_eq(a.password, b.password) || a.port != b.port {
        return false;
    }
    match (a.host, b.host) {
        (Some(x), Some(y)) if x.eq_host(&y) => {}
        _ => return false,
    }
    const MUST: [&str; 5] = ["user", "ttl", "method", "maddr", "transport"];
    let param_eq = |p: &crate::Param<'_>, q: &crate::Param<'_>| match (p.value, q.value) {
        (None, None) => true,
        (Some(x), Some(y)) => scan::eq_unescaped_ci(x, y),
        _ => false,
    };
    for (x, y) in [(a, b), (b, a)] {
        for p in x.params.iter() {
            let q = y
                .params
                .iter()
                .find(|q| scan::eq_unescaped_ci(q.name, p.name));
            match q {
                Some(q) if !param_eq(&p, &q) => return false,
                None if MUST.iter().any(|m| scan::eq_unescaped_ci(p.name, m)) => return false,
                _ => {}
            }
        }
        for (n, v) in x.header_fields() {
            if !y
                .header_fields()
                .any(|(m, w)| scan::eq_unescaped_ci(n, m) && scan::eq_unescaped(v, w))
            {
                return false;
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// A URI that parses holds no SP or HT: the Request-Line relies on
        /// it to skip its search for whitespace inside the Request-URI.
        #[test]
        fn parsed_uris_hold_no_whitespace(
            scheme in "(sip|SIPS|tel|x-y)",
            rest in "[a-c0-9@:;=?&%\\[\\]<>. \t+-]{0,16}",
        ) {
            let u = format!("{scheme}:{rest}");
            if parse_uri(&u).is_ok() {
                proptest::prop_assert!(!u.contains([' ', '\t']), "{:?}", u);
            }
        }
    }

    macro_rules! uri {
        ($name:ident, $s:expr, ok $(, |$u:ident| $check:expr)?) => {
            #[test]
            fn $name() {
                let u = parse_uri($s).unwrap_or_else(|e| panic!("{:?} for {}", e, $s));
                $( let $u = u; assert!($check, "{:?}", $u); )?
                let _ = u;
            }
        };
        ($name:ident, $s:expr, err) => {
            #[test]
            fn $name() {
                assert!(parse_uri($s).is_err(), "{} should fail", $s);
            }
        };
    }

    uri!(plain, "sip:alice@example.com", ok, |u| u.user
        == Some("alice")
        && u.host == Some(Host::Domain("example.com")));
    uri!(ipv4_port, "sip:1.2.3.4:5060", ok, |u| u.host
        == Some(Host::V4(Ipv4Addr::new(1, 2, 3, 4)))
        && u.port == Some(5060));
    uri!(ipv6, "sips:[::1]:5061;transport=tls", ok, |u| matches!(
        u.host,
        Some(Host::V6(_))
    ) && u
        .params
        .value("transport")
        == Some("tls"));
    uri!(
        user_with_semicolon,
        "sip:user;par=u%40example.net@example.com",
        ok,
        |u| u.user == Some("user;par=u%40example.net") && u.params.is_empty()
    );
    uri!(password, "sip:alice:secret@host", ok, |u| u.password
        == Some("secret"));
    uri!(
        headers,
        "sip:user@example.com?Route=%3Csip:sip.example.com%3E",
        ok,
        |u| u.headers == "Route=%3Csip:sip.example.com%3E"
    );
    uri!(
        tel,
        "tel:+1-201-555-0123;phone-context=example.com",
        ok,
        |u| u.scheme == Scheme::Tel && u.user == Some("+1-201-555-0123")
    );
    uri!(other, "soap.beep://192.0.2.103:3002", ok, |u| u.scheme
        == Scheme::Other("soap.beep"));
    uri!(upper_scheme, "SIP:a@b", ok, |u| u.scheme == Scheme::Sip);
    uri!(angle, "<sip:a@b>", err);
    uri!(space, "sip:a@b; lr", err);
    uri!(no_host, "sip:a@", err);
    uri!(bad_port, "sip:a@b:99999", err);
    uri!(bad_v4, "sip:1.2.3.400", err);
    uri!(short_v4, "sip:1.2.3", err);

    #[test]
    fn ipv4_parts() {
        assert_eq!(ipv4(b"255.255.255.255"), Some(Ipv4Addr::BROADCAST));
        assert_eq!(ipv4(b"010.0.0.1"), Some(Ipv4Addr::new(10, 0, 0, 1)));
        for bad in [
            "256.1.1.1",
            "1.2.3.4.5",
            "1..2.3",
            "1.2.3.",
            ".1.2.3",
            "1234.1.1.1",
            "",
        ] {
            assert_eq!(ipv4(bad.as_bytes()), None, "{bad}");
        }
    }
    #[test]
    fn dotted_quad_matches_std() {
        let alphabet = [b'0', b'1', b'2', b'5', b'9', b'.'];
        let mut cases = vec![Vec::new()];
        for len in 1..=8 {
            let n = alphabet.len().pow(len);
            let mut k = 0;
            while k < n {
                let mut v = Vec::new();
                let mut x = k;
                for _ in 0..len {
                    v.push(alphabet[x % alphabet.len()]);
                    x /= alphabet.len();
                }
                cases.push(v);
                k += 1;
            }
        }
        for extra in [
            "255.255.255.255",
            "256.1.1.1",
            "01.2.3.4",
            "0.0.0.0",
            "1.2.3.4.5",
            "192.0.2.101",
            "1234.1.1.1",
            "1.2.3.0000",
            "100.200.250.199",
            "1.2.3.",
        ] {
            cases.push(extra.as_bytes().to_vec());
        }
        for c in cases {
            let s = std::str::from_utf8(&c).unwrap();
            assert_eq!(dotted_quad(&c), s.parse::<Ipv4Addr>().ok(), "{s}");
            // The IPv4 fast path of `scan_host` finds what the general scan finds.
            for tail in ["", ":5060", ";lr", ">", "a", "-", ".", "9", "_x", " "] {
                let t = format!("{s}{tail}");
                assert_eq!(scan_host(&t, 0), scan_host_general(&t, 0), "{t}");
            }
        }
    }
    #[test]
    fn host_name_fast_path_agrees() {
        let hosts = [
            "a",
            "a.",
            "a..b",
            "a.b..",
            "ab.cd.ef",
            "proxy.atlanta.example.com",
            "x-y_z.Q9",
            "h1.2.3.4",
            "a.1.2.3",
            "-",
            "_a",
            "abcd",
            "abcde.",
            "abcd..e",
            "abcdefgh.ij",
            "a.b.c.d.e.f.g.h",
            "example.com.",
            "UPPER.CASE.ORG",
            "a.-",
            "a.b.",
            "abc.d.",
        ];
        let tails = [
            "", ":5060", ";lr", ">", " x", ".", "..", "@", "%41", "é", "[", "\r\n",
        ];
        for h in hosts {
            for t in tails {
                for pre in ["", "x@", ".;"] {
                    let s = format!("{pre}{h}{t}");
                    let hs = pre.len();
                    assert_eq!(scan_name(&s, hs), scan_host_general(&s, hs), "{s:?}");
                    assert_eq!(scan_host(&s, hs), scan_host_general(&s, hs), "{s:?}");
                }
            }
        }
    }
    #[test]
    fn bracketed_fast_path_agrees() {
        let uris = [
            "sip:bob@biloxi.example.com",
            "SIP:Bob@Biloxi.Example.COM:5060",
            "sIp:bob@192.0.2.4:5060",
            "sip:+15551234567@gw.biloxi.example.com;user=phone",
            "sip:proxy.example.com;lr",
            "sip:192.0.2.4",
            "sip:192.0.2.4:5060;transport=tcp;lr",
            "sip:%61lice@atlanta.com;transport=TCP",
            "sip:user;par=u%40example.net@example.com",
            "sip:a@b;n%61me=v%61lue%25%34%31;flag;x=",
            "sip:a@b;;x",
            "sip:a@b;x=%zz",
            "sip:a%zz@b",
            "sip:a%4@b",
            "sip:@b",
            "sip:",
            "sip:a@",
            "sip:a@b:",
            "sip:a@b:99999",
            "sip:a@b:0065535",
            "sip:a@1.2.3.400",
            "sip:a@1.2.3",
            "sip:a@b..c",
            "sip:a@.b",
            "sip:a@b.",
            "sip:alice:secret@host",
            "sip:host:5060",
            "sip:[::1]:5060",
            "sip:a@[2001:db8::1]",
            "sips:a@b",
            "tel:+1-201-555-0123",
            "sip:a@b?subject=x",
            "sip:a@b;lr?x=y",
            "sip:a@b c",
            "sip:a@b\r\n",
            "sip:a@b;x=é",
            "sip:aé@b",
            "sip:a@b_c-d.e",
            "sip:a@b;maddr=[::1]",
        ];
        let mut fast = 0;
        for u in uris {
            for tail in [">", ">;tag=1", "> ;q=0.5, <sip:c@d>", "", ">>", "x>"] {
                let s = format!("<{u}{tail}");
                let Some((f, gt)) = sip_until_gt(&s, 1) else {
                    continue;
                };
                fast += 1;
                assert_eq!(Some(gt), s.find('>'), "{s}");
                let g = parse_uri(&s[1..gt]).unwrap_or_else(|e| panic!("{s}: {e:?}"));
                assert_eq!(f.raw, g.raw, "{s}");
                assert_eq!(f.scheme, g.scheme, "{s}");
                assert_eq!(f.user, g.user, "{s}");
                assert_eq!(f.password, g.password, "{s}");
                assert_eq!(f.host, g.host, "{s}");
                assert_eq!(f.port, g.port, "{s}");
                assert_eq!(f.params.as_str(), g.params.as_str(), "{s}");
                assert_eq!(f.headers, g.headers, "{s}");
            }
        }
        // The common shapes do take the fast path.
        assert!(fast >= 10 * 3, "{fast}");
        for u in [
            "sip:bob@biloxi.example.com",
            "sip:proxy.example.com;lr",
            "sip:a@1.2.3.4:5",
        ] {
            assert!(sip_until_gt(&format!("<{u}>"), 1).is_some(), "{u}");
        }
    }
    uri!(empty_param, "sip:a@b;;x", err);
    uri!(bad_escape, "sip:a%zz@b", err);
    uri!(no_colon, "sipexample", err);

    #[test]
    fn equivalence_rfc3261_19_1_4() {
        let eq = |a: &str, b: &str| uri_eq(&parse_uri(a).unwrap(), &parse_uri(b).unwrap());
        // The equal examples of §19.1.4.
        assert!(eq(
            "sip:%61lice@atlanta.com;transport=TCP",
            "sip:alice@AtLanTa.CoM;Transport=tcp"
        ));
        assert!(eq(
            "sip:carol@chicago.com",
            "sip:carol@chicago.com;newparam=5"
        ));
        assert!(eq(
            "sip:carol@chicago.com;security=on",
            "sip:carol@chicago.com;newparam=5"
        ));
        assert!(eq(
            "sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com",
            "sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com"
        ));
        assert!(eq(
            "sip:alice@atlanta.com?subject=project%20x&priority=urgent",
            "sip:alice@atlanta.com?priority=urgent&subject=project%20x"
        ));
        // The unequal examples.
        assert!(!eq(
            "SIP:ALICE@AtLanTa.CoM;Transport=udp",
            "sip:alice@AtLanTa.CoM;Transport=UDP"
        ));
        assert!(!eq("sip:bob@biloxi.com", "sip:bob@biloxi.com:5060"));
        assert!(!eq(
            "sip:bob@biloxi.com",
            "sip:bob@biloxi.com;transport=udp"
        ));
        assert!(!eq(
            "sip:bob@biloxi.com",
            "sip:bob@biloxi.com:6000;transport=tcp"
        ));
        assert!(!eq(
            "sip:carol@chicago.com",
            "sip:carol@chicago.com?Subject=next%20meeting"
        ));
        assert!(!eq("sip:bob@phone21.boxesbybob.com", "sip:bob@192.0.2.4"));
        assert!(!eq(
            "sip:carol@chicago.com;security=on",
            "sip:carol@chicago.com;security=off"
        ));
        assert!(!eq("sip:a@b", "sips:a@b"));
        // RFC 4475 §3.1.1.3: escaped and unescaped forms are equal.
        assert!(eq(
            "sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31",
            "sip:caller@host5.example.net;lr;name=value%2541"
        ));
    }
}
