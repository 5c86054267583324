//! Typed header values, parsed from the raw text on demand. Each parser takes
//! the value and a start offset and returns the value and where it ended, so
//! one function serves a header line holding a comma-separated list and the
//! same header repeated (RFC 3261 §7.3.1).

use crate::params::{self, Params, Style};
use crate::scan::{self, skip_lws};
use crate::uri::{self, Host, Uri};
use crate::ErrorKind;

/// An error inside one header value: offset into the value and the kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct VErr {
    pub at: usize,
    pub kind: ErrorKind,
}

impl From<(usize, &'static str)> for VErr {
    fn from((at, expected): (usize, &'static str)) -> Self {
        VErr {
            at,
            kind: ErrorKind::InvalidHeader { expected },
        }
    }
}

pub(crate) type VResult<T> = Result<T, VErr>;

fn uri_err(base: usize) -> impl Fn((usize, &'static str)) -> VErr {
    move |(at, expected)| VErr {
        at: base + at,
        kind: ErrorKind::InvalidUri { expected },
    }
}

fn range(at: usize, max: u64) -> VErr {
    VErr {
        at,
        kind: ErrorKind::OutOfRange { max },
    }
}

/// After one list element ending at `i`: skip LWS and require `,` or the end.
/// Returns the start of the next element, or `None` at the end.
pub(crate) fn list_next(b: &[u8], i: usize) -> VResult<Option<usize>> {
    let i = skip_lws(b, i);
    if i >= b.len() {
        return Ok(None);
    }
    if b[i] != b',' {
        return Err((i, "',' between values or the end of the header").into());
    }
    let j = skip_lws(b, i + 1);
    if j >= b.len() || b[j] == b',' {
        return Err((j.min(b.len()), "a value after ','").into());
    }
    Ok(Some(j))
}

/// Parses a whole single-valued header with `f`, requiring nothing after it.
pub(crate) fn single<'a, T>(
    s: &'a str,
    f: impl Fn(&'a str, usize) -> VResult<(T, usize)>,
) -> VResult<T> {
    let (v, end) = f(s, skip_lws(s.as_bytes(), 0))?;
    let e = skip_lws(s.as_bytes(), end);
    if e != s.len() {
        return Err((e, "the end of the header value (only one value allowed)").into());
    }
    Ok(v)
}

/// True for 1 to 5 digits whose value is at most `max`.
fn small_number(v: &[u8], max: u64) -> bool {
    v.len() <= 5 && scan::digits_u64(v).is_some_and(|n| n <= max)
}

fn delta_seconds(b: &[u8], i: usize) -> VResult<(u32, usize)> {
    let e = scan::take_while(b, i, |c| c.is_ascii_digit());
    if e == i {
        return Err((i, "a number of seconds").into());
    }
    let v = scan::digits_u64(&b[i..e]).unwrap_or(u64::MAX);
    let v = u32::try_from(v).map_err(|_| range(i, u64::from(u32::MAX)))?;
    Ok((v, e))
}

/// Parses a whole value as a decimal number bounded by `max` (leading zeros allowed, RFC 4475 §3.1.1.1).
pub(crate) fn number(s: &str, max: u64) -> VResult<u64> {
    let b = s.as_bytes();
    let i = skip_lws(b, 0);
    let e = scan::take_while(b, i, |c| c.is_ascii_digit());
    if e == i {
        return Err((i, "a decimal number").into());
    }
    if skip_lws(b, e) != b.len() {
        return Err((e, "only digits").into());
    }
    match scan::digits_u64(&b[i..e]) {
        Some(v) if v <= max => Ok(v),
        _ => Err(range(i, max)),
    }
}

// ---------------------------------------------------------------- Via

/// One Via value (RFC 3261 §20.42): `SIP/2.0/UDP host:port;branch=…`.
#[derive(Debug, Clone, Copy)]
pub struct Via<'a> {
    /// Protocol name, `SIP`.
    pub protocol: &'a str,
    /// Protocol version, `2.0`.
    pub version: &'a str,
    /// Transport token as written (`UDP`, `TCP`, `TLS`, `SCTP`, `WS`, or unknown).
    pub transport: &'a str,
    /// The sent-by host.
    pub host: Host<'a>,
    /// The sent-by port, if written.
    pub port: Option<u16>,
    /// via-params (`;branch=…;received=…;rport`).
    pub params: Params<'a>,
    /// The whole value as written.
    pub raw: &'a str,
}

impl<'a> Via<'a> {
    /// The `branch` parameter; RFC 3261 §8.1.1.7 branches start with `z9hG4bK`.
    pub fn branch(&self) -> Option<&'a str> {
        self.params.value("branch")
    }
    /// The `received` parameter (RFC 3261 §18.2.1).
    pub fn received(&self) -> Option<&'a str> {
        self.params.value("received")
    }
    /// `rport` (RFC 3581): `None` if absent, `Some(None)` if present without a value.
    pub fn rport(&self) -> Option<Option<u16>> {
        self.params
            .get("rport")
            .map(|p| p.value.and_then(|v| v.parse().ok()))
    }
    /// The `maddr` parameter.
    pub fn maddr(&self) -> Option<&'a str> {
        self.params.value("maddr")
    }
    /// The `ttl` parameter (0..=255, checked when parsed).
    pub fn ttl(&self) -> Option<u8> {
        self.params.value("ttl").and_then(|v| v.parse().ok())
    }
    /// True if the branch carries the RFC 3261 magic cookie `z9hG4bK`.
    pub fn is_rfc3261_branch(&self) -> bool {
        self.branch().is_some_and(|b| b.starts_with("z9hG4bK"))
    }
}

/// `name` equals `lower` (all lowercase letters) ignoring ASCII case: OR-ing
/// 0x20 maps only upper-case letters onto lower-case ones.
#[inline]
fn eq_lower(name: &[u8], lower: &[u8]) -> bool {
    name.len() == lower.len() && name.iter().zip(lower).all(|(&a, &b)| a | 0x20 == b)
}

#[inline(always)]
pub(crate) fn via_at(s: &str, i: usize) -> VResult<(Via<'_>, usize)> {
    let b = s.as_bytes();
    let start = i;
    let mut parts = [""; 3];
    let mut i = i;
    // The common sent-protocol prefix, byte for byte: what the loop below
    // would find for it.
    let mut from = 0;
    if b.get(i..i + 8) == Some(b"SIP/2.0/") {
        parts[0] = &s[i..i + 3];
        parts[1] = &s[i + 4..i + 7];
        i = skip_lws(b, i + 8);
        from = 2;
    }
    for (k, part) in parts.iter_mut().enumerate().skip(from) {
        if k > from {
            i = skip_lws(b, i);
            if b.get(i) != Some(&b'/') {
                return Err((i, "'/' in the sent-protocol (like SIP/2.0/UDP)").into());
            }
            i = skip_lws(b, i + 1);
        }
        let e = scan::token_end(b, i);
        if e == i {
            return Err((i, "a sent-protocol like SIP/2.0/UDP").into());
        }
        *part = &s[i..e];
        i = e;
    }
    let ws = i;
    i = skip_lws(b, i);
    if i == ws {
        return Err((i, "whitespace then the sent-by host").into());
    }
    let hs = i;
    let host = if b.get(i) == Some(&b'[') {
        i = scan::take_while(b, i, |c| {
            c != b']' && !scan::is_lws(c) && c != b';' && c != b','
        });
        if b.get(i) == Some(&b']') {
            i += 1;
        }
        uri::parse_host(&s[hs..i]).map_err(|(p, e)| VErr::from((hs + p, e)))?
    } else {
        let (host, end) = uri::scan_host(s, hs).map_err(VErr::from)?;
        i = end;
        host
    };
    let mut port = None;
    let after_host = i;
    i = skip_lws(b, i);
    if b.get(i) == Some(&b':') {
        let ps = skip_lws(b, i + 1);
        let pe = scan::take_while(b, ps, |c| c.is_ascii_digit());
        let p = scan::digits_u64(&b[ps..pe]).ok_or((ps, "a port number"))?;
        port = Some(u16::try_from(p).map_err(|_| range(ps, 65535))?);
        i = pe;
    } else {
        i = after_host;
    }
    let pstart = i;
    // Check the parameters RFC 3261 §20.42 gives a syntax, in the same pass.
    let end = params::scan_params_with(
        b,
        i,
        Style::Header,
        b",",
        #[inline(always)]
        |b, (n, v)| {
            let name = &b[n.clone()];
            let at = n.start;
            // Values as bytes: a `str` only where one is needed (rare shapes).
            let val = v.clone().map(|r| &b[r]);
            // Dispatch on the length first: most parameters are none of these.
            let is = |lower: &[u8]| eq_lower(name, lower);
            if !matches!(name.len(), 3 | 5 | 6 | 8) {
                // Not one of the parameters checked below.
            } else if is(b"branch") {
                if val.is_none() {
                    return Err((at, "a branch value"));
                }
            } else if is(b"received") {
                let r = v.ok_or((at, "an IP address in received"))?;
                let vb = &b[r.clone()];
                let inner = match vb {
                    [b'[', m @ .., b']'] => m,
                    _ => vb,
                };
                if uri::ipv4(inner).is_none() {
                    let v = &s[r];
                    let v = v
                        .strip_prefix('[')
                        .and_then(|v| v.strip_suffix(']'))
                        .unwrap_or(v);
                    if v.parse::<std::net::Ipv6Addr>().is_err() {
                        return Err((at, "an IP address in received"));
                    }
                }
            } else if is(b"rport") {
                if let Some(v) = val {
                    if !small_number(v, 65535) {
                        return Err((at, "a port number from 0 to 65535 in rport"));
                    }
                }
            } else if is(b"ttl") {
                if !val.is_some_and(|v| small_number(v, 255)) {
                    return Err((at, "a ttl from 0 to 255"));
                }
            } else if is(b"maddr") {
                let r = v.ok_or((at, "a host in maddr"))?;
                uri::parse_host(&s[r]).map_err(|(_, e)| (at, e))?;
            }
            Ok(())
        },
    )?;
    let params = Params::new(&s[pstart..end]);
    let via = Via {
        protocol: parts[0],
        version: parts[1],
        transport: parts[2],
        host,
        port,
        params,
        raw: &s[start..end],
    };
    Ok((via, end))
}

// ---------------------------------------------------------------- name-addr

/// A `name-addr` or `addr-spec` with header parameters (RFC 3261 §20.10,
/// §20.20, §20.39): From, To, Contact, Route, Record-Route, Refer-To, …
#[derive(Debug, Clone, Copy)]
pub struct NameAddr<'a> {
    /// Display name as written: quoted (with its quotes) or a run of tokens.
    pub display: Option<&'a str>,
    /// The URI.
    pub uri: Uri<'a>,
    /// True if the URI was enclosed in `<>`.
    pub bracketed: bool,
    /// Header parameters after the URI (`;tag=…`, `;expires=…`).
    pub params: Params<'a>,
    /// The whole value as written.
    pub raw: &'a str,
}

impl<'a> NameAddr<'a> {
    /// The `tag` parameter (RFC 3261 §19.3).
    pub fn tag(&self) -> Option<&'a str> {
        self.params.value("tag")
    }
    /// The display name without surrounding quotes (escapes stay as written).
    pub fn display_name(&self) -> Option<&'a str> {
        self.display.map(params::unquote)
    }
}

/// Parses a name-addr / addr-spec at `i`. `bare_params_ok` is false for
/// Route-like headers whose grammar requires `<>`.
pub(crate) fn name_addr_at(
    s: &str,
    i: usize,
    need_brackets: bool,
) -> VResult<(NameAddr<'_>, usize)> {
    name_addr_with(s, i, need_brackets, |_, _| Ok(()))
}

/// [`name_addr_at`] that hands each header parameter to `on` while scanning.
pub(crate) fn name_addr_with<'s>(
    s: &'s str,
    i: usize,
    need_brackets: bool,
    on: impl FnMut(&[u8], params::Found) -> Result<(), (usize, &'static str)>,
) -> VResult<(NameAddr<'s>, usize)> {
    let b = s.as_bytes();
    let start = skip_lws(b, i);
    let mut i = start;
    let mut display = None;
    let lt = if b.get(i) == Some(&b'"') {
        let qe = scan::quoted_string(b, i)?;
        display = Some(&s[i..qe]);
        i = skip_lws(b, qe);
        if b.get(i) != Some(&b'<') {
            return Err((i, "'<' after the quoted display name").into());
        }
        Some(i)
    } else if b.get(i) == Some(&b'<') {
        Some(i)
    } else {
        // *(token LWS) "<" — or an addr-spec.
        let mut j = i;
        let mut found = None;
        loop {
            let e = scan::token_end(b, j);
            if e == j {
                break;
            }
            let k = skip_lws(b, e);
            if b.get(k) == Some(&b'<') {
                // The tokens from `i` (not LWS) to `e`: `s[i..k]` without its trailing LWS.
                display = Some(&s[i..e]);
                found = Some(k);
                break;
            }
            if k == e {
                break; // a non-token, non-space byte: not a display name
            }
            j = k;
        }
        found
    };
    let (uri, mut i, bracketed) =
        if let Some((uri, gt)) = lt.and_then(|lt| uri::sip_until_gt(s, lt + 1)) {
            (uri, gt + 1, true)
        } else if let Some(lt) = lt {
            let us = lt + 1;
            let Some(gt) = memchr::memchr(b'>', &b[us..]) else {
                return Err((lt, "'>' closing the URI").into());
            };
            let gt = us + gt;
            if b.get(us).is_some_and(|&c| scan::is_lws(c)) || (gt > us && scan::is_lws(b[gt - 1])) {
                let at = if scan::is_lws(b[us]) { us } else { gt - 1 };
                return Err((
                    at,
                    "no whitespace inside '<' and '>' (RFC 3261 §25.1 LAQUOT, RAQUOT)",
                )
                    .into());
            }
            let uri = uri::parse_uri(&s[us..gt]).map_err(uri_err(us))?;
            (uri, gt + 1, true)
        } else {
            if need_brackets {
                return Err((i, "'<' before the URI").into());
            }
            let e = scan::take_while(b, i, |c| {
                !matches!(c, b';' | b',' | b' ' | b'\t' | b'\r' | b'\n')
            });
            let uri = match uri::parse_uri(&s[i..e]) {
                Ok(u) => u,
                Err((at, expected)) => {
                    // A display name that is not tokens (RFC 4475 §3.1.2.15) reads better this way.
                    let rest = &b[i..];
                    if rest.contains(&b'<') && !s[i..e].contains(':') {
                        return Err(
                            (i, "a display name of tokens or a quoted string before '<'").into(),
                        );
                    }
                    return Err(uri_err(i)((at, expected)));
                }
            };
            if !uri.headers.is_empty() {
                return Err((i, "'<>' around a URI that has '?' headers (RFC 3261 §20)").into());
            }
            (uri, e, false)
        };
    let pstart = i;
    i = params::scan_params_with(b, i, Style::Header, b",", on)?;
    Ok((
        NameAddr {
            display,
            uri,
            bracketed,
            params: Params::new(&s[pstart..i]),
            raw: &s[start..i],
        },
        i,
    ))
}

fn name_addr_any(s: &str, i: usize) -> VResult<(NameAddr<'_>, usize)> {
    name_addr_at(s, i, false)
}

pub(crate) fn route_at(s: &str, i: usize) -> VResult<(NameAddr<'_>, usize)> {
    name_addr_at(s, i, true)
}

pub(crate) fn from_to(s: &str) -> VResult<NameAddr<'_>> {
    single(s, name_addr_any)
}

/// A Contact value (RFC 3261 §20.10): `*` or an address with parameters.
#[derive(Debug, Clone, Copy)]
pub enum Contact<'a> {
    /// `Contact: *`, used with `Expires: 0` to remove all bindings (§10.2.2).
    Wildcard,
    /// A contact address.
    Address(NameAddr<'a>),
}

impl<'a> Contact<'a> {
    /// The address, unless this is the wildcard.
    pub fn address(&self) -> Option<&NameAddr<'a>> {
        match self {
            Contact::Wildcard => None,
            Contact::Address(a) => Some(a),
        }
    }
    /// The `q` parameter in thousandths (`q=0.33` → 330; checked 0..=1000 when parsed).
    pub fn q_millis(&self) -> Option<u16> {
        self.address()?.params.value("q").and_then(qvalue)
    }
    /// The `expires` parameter in seconds (checked ≤ 2^32-1 when parsed).
    pub fn expires(&self) -> Option<u32> {
        self.address()?
            .params
            .value("expires")
            .and_then(|v| v.parse().ok())
    }
}

/// Parses a `qvalue` exactly as RFC 3261 §25.1 writes it
/// (`"0" ["." 0*3DIGIT]` or `"1" ["." 0*3("0")]`) into thousandths:
/// `0.5` → 500, `1.000` → 1000; `None` for anything else. sipkit's one
/// q-value parser (Contact, Accept-Contact preferences, the registrar).
pub fn qvalue(v: &str) -> Option<u16> {
    qvalue_bytes(v.as_bytes())
}

/// [`qvalue`] on bytes.
fn qvalue_bytes(b: &[u8]) -> Option<u16> {
    let (int, frac) = match b.iter().position(|&c| c == b'.') {
        Some(d) => (&b[..d], &b[d + 1..]),
        None => (b, &b""[..]),
    };
    if int.len() != 1 || frac.len() > 3 || !frac.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut millis = 0u16;
    for k in 0..3 {
        millis = millis * 10 + frac.get(k).map_or(0, |c| u16::from(c - b'0'));
    }
    match int[0] {
        b'0' => Some(millis),
        b'1' if millis == 0 => Some(1000),
        _ => None,
    }
}

pub(crate) fn contact_at(s: &str, i: usize) -> VResult<(Contact<'_>, usize)> {
    let b = s.as_bytes();
    let i = skip_lws(b, i);
    if b.get(i) == Some(&b'*') {
        let e = skip_lws(b, i + 1);
        if e == b.len() && i == skip_lws(b, 0) {
            return Ok((Contact::Wildcard, i + 1));
        }
        return Err((i, "'*' alone as the Contact value").into());
    }
    let (na, end) = name_addr_with(
        s,
        i,
        false,
        #[inline(always)]
        |b, (n, v)| {
            let name = &b[n.clone()];
            let val = v.map(|r| &b[r]);
            if eq_lower(name, b"q") {
                if val.and_then(qvalue_bytes).is_none() {
                    return Err((n.start, "a q value from 0 to 1 with at most three decimals"));
                }
            } else if eq_lower(name, b"expires") {
                let ok = val
                    .is_some_and(|v| scan::digits_u64(v).is_some_and(|n| n <= u64::from(u32::MAX)));
                if !ok {
                    return Err((n.start, "a number of seconds up to 4294967295 in expires"));
                }
            }
            Ok(())
        },
    )?;
    Ok((Contact::Address(na), end))
}

// ---------------------------------------------------------------- scalars

/// The CSeq header (RFC 3261 §20.16): sequence number and method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CSeq<'a> {
    /// Sequence number, less than 2^31 (§8.1.1.5).
    pub seq: u32,
    /// Method as written (case-sensitive).
    pub method: &'a str,
}

/// Parses a CSeq value: `1*DIGIT LWS Method` (RFC 3261 §20.16, §25.1).
#[inline]
pub(crate) fn cseq(s: &str) -> VResult<CSeq<'_>> {
    // The usual form as the split leaves it (trimmed): 1 to 9 digits (below
    // 2^31 whatever they are), one SP and a token to the end. What
    // `cseq_general` makes of it, in one pass.
    let b = s.as_bytes();
    let mut seq = 0u32;
    let mut e = 0;
    while let Some(d) = b.get(e).map(|c| c.wrapping_sub(b'0')).filter(|&d| d <= 9) {
        if e == 9 {
            return cseq_general(s);
        }
        seq = seq * 10 + u32::from(d);
        e += 1;
    }
    if e > 0 && b.get(e) == Some(&b' ') && e + 1 < b.len() && scan::token_end(b, e + 1) == b.len() {
        return Ok(CSeq {
            seq,
            method: &s[e + 1..],
        });
    }
    cseq_general(s)
}

/// [`cseq`] for any value: LWS around the parts, folds, and every error.
#[cold]
fn cseq_general(s: &str) -> VResult<CSeq<'_>> {
    let b = s.as_bytes();
    let i = skip_lws(b, 0);
    let e = scan::take_while(b, i, |c| c.is_ascii_digit());
    if e == i {
        return Err((i, "a sequence number then the method").into());
    }
    let seq = match scan::digits_u64(&b[i..e]) {
        Some(v) if v < (1 << 31) => v as u32,
        _ => return Err(range(i, (1 << 31) - 1)),
    };
    let m = skip_lws(b, e);
    if m == e {
        return Err((e, "whitespace then the method").into());
    }
    let me = scan::token_end(b, m);
    if me == m {
        return Err((m, "a method name").into());
    }
    if skip_lws(b, me) != b.len() {
        return Err((me, "the end of the CSeq value").into());
    }
    Ok(CSeq {
        seq,
        method: &s[m..me],
    })
}

pub(crate) fn call_id(s: &str) -> VResult<&str> {
    // callid = word [ "@" word ] (RFC 3261 §25.1), in one pass: a run of
    // word bytes, then '@' and another run, then the end.
    let v = scan::trim_lws(s);
    let off = scan::lead_lws(s);
    let b = v.as_bytes();
    let e1 = scan::word_end(b, 0);
    match b.get(e1) {
        None if e1 == 0 => Err((off, "a Call-ID word").into()),
        None => Ok(v),
        Some(b'@') if e1 == 0 => Err((off, "a Call-ID word").into()),
        Some(b'@') => {
            let e2 = scan::word_end(b, e1 + 1);
            if e2 < b.len() {
                Err((off + e2, "Call-ID characters (word [\"@\" word])").into())
            } else if e2 == e1 + 1 {
                Err((off + e2, "a word after '@' in the Call-ID").into())
            } else {
                Ok(v)
            }
        }
        Some(_) => Err((off + e1, "Call-ID characters (word [\"@\" word])").into()),
    }
}

/// A media type (RFC 3261 §20.15 Content-Type, §20.1 Accept entries).
#[derive(Debug, Clone, Copy)]
pub struct MediaType<'a> {
    /// Top-level type (`application`).
    pub mtype: &'a str,
    /// Subtype (`sdp`).
    pub subtype: &'a str,
    /// Parameters (`;boundary=…`).
    pub params: Params<'a>,
}

impl MediaType<'_> {
    /// True if this is `type/subtype`, compared case-insensitively.
    pub fn is(&self, mtype: &str, subtype: &str) -> bool {
        self.mtype.eq_ignore_ascii_case(mtype) && self.subtype.eq_ignore_ascii_case(subtype)
    }
}

impl std::fmt::Display for MediaType<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.mtype, self.subtype)
    }
}

pub(crate) fn media_type_at(s: &str, i: usize) -> VResult<(MediaType<'_>, usize)> {
    let b = s.as_bytes();
    let i = skip_lws(b, i);
    let te = scan::token_end(b, i);
    if te == i {
        return Err((i, "a media type like application/sdp").into());
    }
    let sl = skip_lws(b, te);
    if b.get(sl) != Some(&b'/') {
        return Err((sl, "'/' in the media type").into());
    }
    let ss = skip_lws(b, sl + 1);
    let se = scan::token_end(b, ss);
    if se == ss {
        return Err((ss, "a media subtype after '/'").into());
    }
    let end = params::scan_params(b, se, Style::Header, b",")?;
    Ok((
        MediaType {
            mtype: &s[i..te],
            subtype: &s[ss..se],
            params: Params::new(&s[se..end]),
        },
        end,
    ))
}

pub(crate) fn token_at(s: &str, i: usize) -> VResult<(&str, usize)> {
    let b = s.as_bytes();
    let i = skip_lws(b, i);
    let e = scan::token_end(b, i);
    if e == i {
        return Err((i, "a token (option tag or method)").into());
    }
    Ok((&s[i..e], e))
}

/// A challenge or credentials (RFC 3261 §20.7, §20.27, §20.28, §20.44): an
/// auth scheme and its comma-separated `name=value` parameters.
#[derive(Debug, Clone, Copy)]
pub struct Auth<'a> {
    /// Scheme as written (`Digest`, or anything else, RFC 4475 §3.3.7).
    pub scheme: &'a str,
    /// Everything after the scheme, as written.
    pub rest: &'a str,
}

impl<'a> Auth<'a> {
    /// Iterates `name=value` parameters; quoted values keep their quotes.
    pub fn params(&self) -> impl Iterator<Item = crate::Param<'a>> {
        let s = self.rest;
        let b = s.as_bytes();
        let mut i = 0usize;
        std::iter::from_fn(move || {
            i = skip_lws(b, i);
            let ns = i;
            let ne = scan::token_end(b, i);
            if ne == ns {
                return None;
            }
            let mut j = skip_lws(b, ne);
            let mut value = None;
            if b.get(j) == Some(&b'=') {
                j = skip_lws(b, j + 1);
                let vs = j;
                j = if b.get(j) == Some(&b'"') {
                    scan::quoted_string(b, j).unwrap_or(b.len())
                } else {
                    scan::take_while(b, j, |c| c != b',' && !scan::is_lws(c))
                };
                value = Some(&s[vs..j]);
            }
            j = skip_lws(b, j);
            i = if b.get(j) == Some(&b',') {
                j + 1
            } else {
                b.len()
            };
            Some(crate::Param {
                name: &s[ns..ne],
                value,
            })
        })
    }
    /// The unquoted value of parameter `name` (case-insensitive), e.g. `realm`, `nonce`.
    pub fn param(&self, name: &str) -> Option<&'a str> {
        self.params()
            .find(|p| p.name.eq_ignore_ascii_case(name))
            .and_then(|p| p.unquoted())
    }
}

pub(crate) fn auth(s: &str) -> VResult<Auth<'_>> {
    let b = s.as_bytes();
    let i = skip_lws(b, 0);
    let e = scan::token_end(b, i);
    if e == i {
        return Err((i, "an auth scheme such as Digest").into());
    }
    let r = skip_lws(b, e);
    if r < b.len() && r == e {
        return Err((e, "whitespace after the auth scheme").into());
    }
    // Check the parameter list: token68 or auth-param *(COMMA auth-param).
    let mut j = r;
    while j < b.len() {
        let ns = j;
        j = scan::token_end(b, j);
        if j == ns {
            return Err((j, "an auth parameter name").into());
        }
        let k = skip_lws(b, j);
        if b.get(k) == Some(&b'=') {
            let mut v = skip_lws(b, k + 1);
            if b.get(v) == Some(&b'"') {
                v = scan::quoted_string(b, v)?;
            } else {
                let vs = v;
                v = scan::take_while(b, v, |c| {
                    scan::is_token(c) || matches!(c, b'/' | b'=' | b':')
                });
                if v == vs && b.get(v).is_some_and(|&c| c != b',') {
                    return Err((v, "an auth parameter value").into());
                }
            }
            j = v;
        } else {
            // token68 (Basic credentials etc.): the rest must be token68 characters.
            j = scan::take_while(b, k, |c| scan::is_token(c) || matches!(c, b'/' | b'='));
        }
        j = match list_next(b, j)? {
            Some(n) => n,
            None => b.len(),
        };
    }
    Ok(Auth {
        scheme: &s[i..e],
        rest: scan::trim_lws(&s[r..]),
    })
}

/// The Event header (RFC 6665 §8.2.1): package name and parameters (`id`).
#[derive(Debug, Clone, Copy)]
pub struct Event<'a> {
    /// Event package, e.g. `refer`, `presence`, `dialog`.
    pub package: &'a str,
    /// Parameters, e.g. `;id=93809824`.
    pub params: Params<'a>,
}

impl<'a> Event<'a> {
    /// The `id` parameter (RFC 3515 §2.4.6 uses the REFER's CSeq number).
    pub fn id(&self) -> Option<&'a str> {
        self.params.value("id")
    }
}

pub(crate) fn event(s: &str) -> VResult<Event<'_>> {
    single(s, |s, i| {
        let b = s.as_bytes();
        let e = scan::token_end(b, i);
        if e == i {
            return Err((i, "an event package name").into());
        }
        let end = params::scan_params(b, e, Style::Header, b"")?;
        Ok((
            Event {
                package: &s[i..e],
                params: Params::new(&s[e..end]),
            },
            end,
        ))
    })
}

/// The Subscription-State header (RFC 6665 §8.2.3).
#[derive(Debug, Clone, Copy)]
pub struct SubscriptionState<'a> {
    /// `active`, `pending`, `terminated`, or an extension.
    pub state: &'a str,
    /// Parameters: `expires`, `reason`, `retry-after`.
    pub params: Params<'a>,
}

impl<'a> SubscriptionState<'a> {
    /// The `expires` parameter, in seconds.
    pub fn expires(&self) -> Option<u32> {
        self.params.value("expires").and_then(|v| v.parse().ok())
    }
    /// The `reason` parameter (`noresource`, `timeout`, …).
    pub fn reason(&self) -> Option<&'a str> {
        self.params.value("reason")
    }
    /// The `retry-after` parameter, in seconds.
    pub fn retry_after(&self) -> Option<u32> {
        self.params
            .value("retry-after")
            .and_then(|v| v.parse().ok())
    }
}

/// A Subscription-State value's state token and parameters from `i`
/// (RFC 6665 §8.2.3), before the numeric parameters are checked, and its end.
fn state_and_params(s: &str, i: usize) -> VResult<(SubscriptionState<'_>, usize)> {
    let b = s.as_bytes();
    let e = scan::token_end(b, i);
    if e == i {
        return Err((i, "a subscription state such as active").into());
    }
    let end = params::scan_params(b, e, Style::Header, b"")?;
    let st = SubscriptionState {
        state: &s[i..e],
        params: Params::new(&s[e..end]),
    };
    Ok((st, end))
}

pub(crate) fn subscription_state(s: &str) -> VResult<SubscriptionState<'_>> {
    single(s, |s, i| {
        let (st, end) = state_and_params(s, i)?;
        // The first `expires` and the first `retry-after` (RFC 6665 §8.2.3)
        // are numbers, checked in that order: both found in one pass.
        let (mut expires, mut retry_after) = (None, None);
        for p in st.params.iter() {
            if expires.is_none() && p.name.eq_ignore_ascii_case("expires") {
                expires = Some(p);
            } else if retry_after.is_none() && p.name.eq_ignore_ascii_case("retry-after") {
                retry_after = Some(p);
            }
        }
        for p in [expires, retry_after].into_iter().flatten() {
            let at = p.name.as_ptr() as usize - s.as_ptr() as usize;
            number(p.value.unwrap_or(""), u64::from(u32::MAX)).map_err(|e| VErr { at, ..e })?;
        }
        Ok((st, end))
    })
}

/// The Retry-After header (RFC 3261 §20.33).
#[derive(Debug, Clone, Copy)]
pub struct RetryAfter<'a> {
    /// Seconds to wait.
    pub seconds: u32,
    /// The comment, with its parentheses, if any.
    pub comment: Option<&'a str>,
    /// Parameters (`;duration=…`).
    pub params: Params<'a>,
}

pub(crate) fn retry_after(s: &str, max_nesting: usize) -> VResult<RetryAfter<'_>> {
    single(s, |s, i| {
        let b = s.as_bytes();
        let (seconds, e) = delta_seconds(b, i)?;
        let mut j = skip_lws(b, e);
        let mut comment = None;
        let mut pstart = e;
        if b.get(j) == Some(&b'(') {
            let ce = scan::comment(b, j, max_nesting).map_err(|(at, expected)| {
                if expected.starts_with("comments nested") {
                    VErr {
                        at,
                        kind: ErrorKind::TooLarge {
                            limit: crate::Limit::Nesting,
                            max: max_nesting,
                        },
                    }
                } else {
                    VErr::from((at, expected))
                }
            })?;
            comment = Some(&s[j..ce]);
            pstart = ce;
            j = ce;
        }
        let end = params::scan_params(b, j, Style::Header, b"")?;
        Ok((
            RetryAfter {
                seconds,
                comment,
                params: Params::new(&s[pstart..end]),
            },
            end,
        ))
    })
}

/// One Warning value (RFC 3261 §20.43): `code agent "text"`.
#[derive(Debug, Clone, Copy)]
pub struct Warning<'a> {
    /// Three-digit warning code.
    pub code: u16,
    /// The warn-agent (host or pseudonym).
    pub agent: &'a str,
    /// The warn-text with its quotes.
    pub text: &'a str,
}

pub(crate) fn warning_at(s: &str, i: usize) -> VResult<(Warning<'_>, usize)> {
    let b = s.as_bytes();
    let i = skip_lws(b, i);
    let e = scan::take_while(b, i, |c| c.is_ascii_digit());
    if e - i != 3 || b.get(e) != Some(&b' ') {
        return Err((i, "a three-digit warn-code then SP").into());
    }
    let code = scan::digits_u64(&b[i..e]).unwrap_or(0) as u16;
    let a = e + 1;
    let ae = scan::take_while(b, a, |c| !scan::is_lws(c) && c != b'"');
    if ae == a || b.get(ae) != Some(&b' ') {
        return Err((a, "a warn-agent then SP").into());
    }
    let t = ae + 1;
    if b.get(t) != Some(&b'"') {
        return Err((t, "a quoted warn-text").into());
    }
    let te = scan::quoted_string(b, t)?;
    Ok((
        Warning {
            code,
            agent: &s[a..ae],
            text: &s[t..te],
        },
        te,
    ))
}

/// Checks an RFC 1123 date in GMT (RFC 3261 §20.17, RFC 4475 §3.1.2.12):
/// `Sat, 13 Nov 2010 23:29:00 GMT`.
pub(crate) fn date(s: &str) -> VResult<&str> {
    let v = scan::trim_lws(s);
    let off = scan::lead_lws(s);
    let b = v.as_bytes();
    const DAYS: [&[u8]; 7] = [b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat", b"Sun"];
    const MONTHS: [&[u8]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
        b"Dec",
    ];
    let ok_shape = b.len() == 29
        && DAYS.contains(&&b[0..3])
        && &b[3..5] == b", "
        && b[5..7].iter().all(u8::is_ascii_digit)
        && b[7] == b' '
        && MONTHS.contains(&&b[8..11])
        && b[11] == b' '
        && b[12..16].iter().all(u8::is_ascii_digit)
        && b[16] == b' '
        && b[17..19].iter().all(u8::is_ascii_digit)
        && b[19] == b':'
        && b[20..22].iter().all(u8::is_ascii_digit)
        && b[22] == b':'
        && b[23..25].iter().all(u8::is_ascii_digit)
        && b[25] == b' ';
    if !ok_shape {
        return Err((off, "a date like 'Sat, 13 Nov 2010 23:29:00 GMT'").into());
    }
    if &b[26..29] != b"GMT" {
        return Err((off + 26, "the time zone GMT (RFC 3261 §20.17)").into());
    }
    Ok(v)
}

/// Parses a Content-Length value (RFC 3261 §20.14; negative is invalid, RFC 4475 §3.1.2.3).
pub(crate) fn content_length(s: &str) -> VResult<usize> {
    let t = scan::trim_lws(s);
    let off = scan::lead_lws(s);
    if t.is_empty() || !t.bytes().all(|c| c.is_ascii_digit()) {
        return Err(VErr {
            at: off,
            kind: ErrorKind::InvalidContentLength,
        });
    }
    match scan::digits_u64(t.as_bytes()).and_then(|v| usize::try_from(v).ok()) {
        Some(v) => Ok(v),
        None => Err(VErr {
            at: off,
            kind: ErrorKind::OutOfRange {
                max: usize::MAX as u64,
            },
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list<'a, T>(
        s: &'a str,
        f: impl Fn(&'a str, usize) -> VResult<(T, usize)>,
    ) -> VResult<Vec<T>> {
        let b = s.as_bytes();
        let mut out = Vec::new();
        let mut i = skip_lws(b, 0);
        loop {
            let (v, e) = f(s, i)?;
            out.push(v);
            match list_next(b, e)? {
                Some(n) => i = n,
                None => return Ok(out),
            }
        }
    }

    #[test]
    fn via_folded_and_listed() {
        let s = "SIP  / 2.0  / TCP     spindle.example.com   ;\r\n  branch  =   z9hG4bK9ikj8  ,\r\n SIP  /    2.0   / UDP  192.168.255.111   ; branch=\r\n z9hG4bK30239";
        let v = list(s, via_at).unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].transport, "TCP");
        assert_eq!(v[0].branch(), Some("z9hG4bK9ikj8"));
        assert_eq!(v[1].host, Host::V4("192.168.255.111".parse().unwrap()));
        assert_eq!(v[1].branch(), Some("z9hG4bK30239"));
    }

    #[test]
    fn via_params() {
        let (v, _) = via_at(
            "SIP/2.0/UDP [2001:db8::9]:5070;rport=5071;received=192.0.2.1;ttl=16;maddr=224.2.0.1",
            0,
        )
        .unwrap();
        assert_eq!(v.port, Some(5070));
        assert_eq!(v.rport(), Some(Some(5071)));
        assert_eq!(v.received(), Some("192.0.2.1"));
        assert_eq!(v.ttl(), Some(16));
        assert_eq!(v.maddr(), Some("224.2.0.1"));
        let (v, _) = via_at("SIP/2.0/UDP h;rport", 0).unwrap();
        assert_eq!(v.rport(), Some(None));
        assert!(via_at("SIP/2.0/UDP h;ttl=256", 0).is_err());
        assert!(via_at("SIP/2.0/UDP h;received=host.example", 0).is_err());
        assert!(list("SIP/2.0/UDP 192.0.2.15;;,;,,", via_at).is_err());
    }

    #[test]
    fn name_addrs() {
        let a = from_to(
            "\"J Rosenberg \\\\\\\"\"       <sip:jdrosen@example.com>\r\n  ;\r\n  tag = 98asjd8",
        )
        .unwrap();
        assert_eq!(a.tag(), Some("98asjd8"));
        assert_eq!(a.display, Some("\"J Rosenberg \\\\\\\"\""));
        let a = from_to("caller<sip:caller@example.com>;tag=323").unwrap();
        assert_eq!(a.display, Some("caller"));
        let a = from_to(" A  b.c \r\n  D\t<SIP:x@Y.example:5060;lr>;tag=2").unwrap();
        assert_eq!(a.display, Some("A  b.c \r\n  D"));
        assert_eq!(a.uri.as_str(), "SIP:x@Y.example:5060;lr");
        assert_eq!((a.uri.port, a.uri.params.as_str()), (Some(5060), ";lr"));
        let a = from_to("<sip:[::1]:5060>;tag=3").unwrap();
        assert!(matches!(a.uri.host, Some(Host::V6(_))) && a.tag() == Some("3"));
        assert!(from_to("<sip:a@b;x=%zz>").is_err());
        let a = from_to("sip:user@example.com;tag=1").unwrap();
        assert!(!a.bracketed && a.tag() == Some("1"));
        assert!(from_to("Bell, Alexander <sip:a.g.bell@example.com>;tag=43").is_err());
        assert!(from_to("\"Watson, Thomas\" < sip:t.watson@example.org >").is_err());
        assert!(from_to("\"Mr. J. User <sip:j.user@example.com>").is_err());
        assert!(from_to("<sip:a@b>, <sip:c@d>").is_err());
    }

    #[test]
    fn contacts() {
        let v = list("<sip:a@b>;q=0.33;expires=60, \"x\" <sip:c@d>", contact_at).unwrap();
        assert_eq!(v[0].q_millis(), Some(330));
        assert_eq!(v[0].expires(), Some(60));
        assert!(matches!(contact_at("*", 0), Ok((Contact::Wildcard, 1))));
        assert!(contact_at("sip:user@example.com?Route=%3Csip:sip.example.com%3E", 0).is_err());
        assert!(contact_at("<sip:a@b>;expires=280297596632815", 0).is_err());
        assert!(contact_at("<sip:a@b>;q=1.5", 0).is_err());
        assert!(list("\"Joe\" <sip:joe@example.org>;;;;", contact_at).is_err());
        assert_eq!(qvalue("1.000"), Some(1000));
        assert_eq!(qvalue("0"), Some(0));
    }

    /// The two-pass Call-ID check the single pass replaced.
    fn call_id_reference(s: &str) -> VResult<&str> {
        let v = scan::trim_lws(s);
        let off = scan::lead_lws(s);
        let b = v.as_bytes();
        let at = b.iter().position(|&c| c == b'@').unwrap_or(b.len());
        if at == 0 {
            return Err((off, "a Call-ID word").into());
        }
        if let Some(bad) = b
            .iter()
            .enumerate()
            .position(|(k, &c)| k != at && !scan::is_word(c))
        {
            return Err((off + bad, "Call-ID characters (word [\"@\" word])").into());
        }
        if at + 1 == b.len() {
            return Err((off + at + 1, "a word after '@' in the Call-ID").into());
        }
        Ok(v)
    }

    /// Subscription-State as it was checked before the one pass over its
    /// parameters: `Params::get` for each numeric one.
    fn subscription_state_before(s: &str) -> VResult<SubscriptionState<'_>> {
        single(s, |s, i| {
            let (st, end) = state_and_params(s, i)?;
            for name in ["expires", "retry-after"] {
                if let Some(p) = st.params.get(name) {
                    let at = p.name.as_ptr() as usize - s.as_ptr() as usize;
                    number(p.value.unwrap_or(""), u64::from(u32::MAX))
                        .map_err(|e| VErr { at, ..e })?;
                }
            }
            Ok((st, end))
        })
    }

    proptest::proptest! {
        /// One pass over the parameters checks what the lookups checked,
        /// errors included.
        #[test]
        fn subscription_state_as_before(
            state in "(active|terminated|)",
            params in proptest::collection::vec(
                "( |);( |)(expires|EXPIRES|retry-after|Retry-After|reason|expire|x)( |)(=( |)(3600|0|x|\"1\"|99999999999|)|)",
                0..4,
            ),
        ) {
            let s = format!("{state}{}", params.concat());
            let now = subscription_state(&s).map(|v| (v.state, v.params));
            let before = subscription_state_before(&s).map(|v| (v.state, v.params));
            proptest::prop_assert_eq!(now, before, "{:?}", s);
        }
    }

    proptest::proptest! {
        /// The usual-form path of `cseq` gives what the general parse gives,
        /// errors included.
        #[test]
        fn cseq_agrees_with_the_general_parse(
            seq in "(0|1|[0-9]{1,12}|2147483647|2147483648|)",
            sp in "( |  |\t|\r\n |)",
            method in "[A-Za-z.!~é@ ]{0,8}",
            lead in "( |)",
        ) {
            let s = format!("{lead}{seq}{sp}{method}");
            proptest::prop_assert_eq!(cseq(&s), cseq_general(&s), "{:?}", s);
        }
    }

    proptest::proptest! {
        /// The single pass finds what the two passes found, errors included.
        #[test]
        fn call_id_agrees_with_the_two_passes(s in "[ \t@ab%<;,\x00é]{0,8}") {
            proptest::prop_assert_eq!(call_id(&s), call_id_reference(&s));
        }
    }

    #[test]
    fn scalars() {
        assert_eq!(
            cseq("0009\r\n  INVITE").unwrap(),
            CSeq {
                seq: 9,
                method: "INVITE"
            }
        );
        assert!(cseq("36893488147419103232 REGISTER").is_err());
        assert!(cseq("2147483648 INVITE").is_err());
        assert_eq!(number(" 0068", 255).unwrap(), 68);
        assert!(number("300", 255).is_err());
        assert!(number("-999", u64::MAX).is_err());
        assert!(call_id("intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{").is_ok());
        assert!(call_id("a b").is_err());
        assert!(call_id("@x").is_err());
    }

    #[test]
    fn media_auth_event() {
        let (m, _) = media_type_at("multipart/mixed;boundary=7a9cbec02ceef655", 0).unwrap();
        assert!(m.is("Multipart", "MIXED"));
        assert_eq!(m.params.value("boundary"), Some("7a9cbec02ceef655"));
        let a =
            auth("Digest realm=\"atlanta.com\", nonce=\"84a4cc6f\", algorithm=MD5, qop=\"auth\"")
                .unwrap();
        assert_eq!(a.scheme, "Digest");
        assert_eq!(a.param("nonce"), Some("84a4cc6f"));
        assert_eq!(a.param("algorithm"), Some("MD5"));
        assert_eq!(
            auth("NoOneKnowsThisScheme opaque-data=here")
                .unwrap()
                .param("opaque-data"),
            Some("here")
        );
        assert!(auth("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==").is_ok());
        let e = event("refer;id=93809824").unwrap();
        assert_eq!((e.package, e.id()), ("refer", Some("93809824")));
        let st = subscription_state("terminated;reason=noresource").unwrap();
        assert_eq!(st.reason(), Some("noresource"));
        let r = retry_after("120 (I'm in a meeting);duration=3600", 4).unwrap();
        assert_eq!((r.seconds, r.params.value("duration")), (120, Some("3600")));
        assert!(retry_after("949302838503028349304023988", 4).is_err());
        assert!(retry_after("5 ((((((deep))))))", 4).is_err());
        let (w, _) = warning_at("370 devnull \"Choose a bigger pipe\"", 0).unwrap();
        assert_eq!((w.code, w.agent), (370, "devnull"));
        assert!(warning_at("1812 overture \"In Progress\"", 0).is_err());
        assert!(date("Sat, 13 Nov 2010 23:29:00 GMT").is_ok());
        assert!(date("Fri, 01 Jan 2010 16:00:00 EST").is_err());
    }
}
