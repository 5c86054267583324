//! The one place that talks to `sipkit-message`: parsing, the few fields
//! the transaction layer reads, and the messages it builds (ACK, CANCEL,
//! 100 Trying, the reply to an unparseable request). When the message
//! crate's API changes, only this module changes.

use std::io::Write as _;

use sipkit_message::{
    parse_with, response_from_request, wire_reply, Disposition, HeaderName, Host, Limits, Message,
    Mode, Request, RequestBuilder, ViaRoute,
};

pub use sipkit_message::ParseError;

use crate::Transport;

/// The start line, as far as matching needs it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Start<'a> {
    Request { method: &'a str, uri: &'a str },
    Response { status: u16 },
}

/// The topmost Via (RFC 3261 §20.42), as far as matching and response
/// routing need it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TopVia<'a> {
    protocol: &'a str,
    version: &'a str,
    transport: &'a str,
    host: Host<'a>,
    pub port: Option<u16>,
    pub branch: Option<&'a str>,
    /// What decides where a response goes (RFC 3261 §18.2.2).
    pub route: ViaRoute<'a>,
    params: &'a str,
}

/// RFC 3261 §8.1.1.7 magic cookie.
pub(crate) const MAGIC_COOKIE: &str = "z9hG4bK";

impl TopVia<'_> {
    /// True if the branch carries the magic cookie *and* something after it
    /// (RFC 3261 §17.2.3). A branch of exactly `z9hG4bK` (RFC 4475 §3.2.1
    /// badbranch) identifies nothing, so it falls back to RFC 2543 matching,
    /// which RFC 4475 allows ("or it could fall back to the RFC 2543 style
    /// transaction identifier").
    pub(crate) fn is_rfc3261(&self) -> bool {
        self.branch
            .is_some_and(|b| b.len() > MAGIC_COOKIE.len() && b.starts_with(MAGIC_COOKIE))
    }

    /// Appends the sent-by host (lowercase; addresses in canonical form) and
    /// `:port` if written (RFC 3261 §17.2.3 rule 2 compares sent-by).
    pub(crate) fn write_sent_by(&self, out: &mut Vec<u8>) {
        write_host(out, &self.host);
        if let Some(p) = self.port {
            // Writing to a Vec cannot fail.
            let _ = write!(out, ":{p}");
        }
    }

    /// Appends a canonical form of the whole Via value for RFC 2543
    /// matching (§17.2.3: "top Via header field match"; §20.42 equality):
    /// protocol uppercase, sent-by as above, parameters lowercase without
    /// whitespace.
    pub(crate) fn write_canonical(&self, out: &mut Vec<u8>) {
        for (i, part) in [self.protocol, self.version, self.transport]
            .into_iter()
            .enumerate()
        {
            if i > 0 {
                out.push(b'/');
            }
            out.extend(part.bytes().map(|c| c.to_ascii_uppercase()));
        }
        out.push(b' ');
        self.write_sent_by(out);
        out.extend(
            self.params
                .bytes()
                .filter(|c| !c.is_ascii_whitespace())
                .map(|c| c.to_ascii_lowercase()),
        );
    }
}

fn write_host(out: &mut Vec<u8>, host: &Host<'_>) {
    match host {
        Host::Domain(d) => out.extend(d.bytes().map(|c| c.to_ascii_lowercase())),
        // Writing to a Vec cannot fail.
        other => {
            let _ = write!(out, "{other}");
        }
    }
}

/// What the transaction layer reads from a message (RFC 3261 §17.1.3, §17.2.3).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Summary<'a> {
    pub start: Start<'a>,
    pub via: TopVia<'a>,
    pub call_id: &'a str,
    pub cseq: u32,
    pub cseq_method: &'a str,
    pub from_tag: Option<&'a str>,
    pub to_tag: Option<&'a str>,
}

impl<'a> Summary<'a> {
    /// The request method, or `None` for a response.
    pub(crate) fn method(&self) -> Option<&'a str> {
        match self.start {
            Start::Request { method, .. } => Some(method),
            Start::Response { .. } => None,
        }
    }
}

fn mode(transport: Transport) -> Mode {
    if transport.is_stream() {
        Mode::Stream
    } else {
        Mode::Datagram
    }
}

fn parse_any<'a>(
    bytes: &'a [u8],
    transport: Transport,
    limits: &Limits,
) -> Result<Message<'a>, ParseError> {
    parse_with(bytes, limits, mode(transport))
}

/// Parses a message received over (or to be sent over) `transport` and
/// reads what matching needs. Stream transports require Content-Length
/// (RFC 3261 §18.3).
pub(crate) fn summarize<'a>(
    bytes: &'a [u8],
    transport: Transport,
    limits: &Limits,
) -> Result<Summary<'a>, ParseError> {
    let msg = parse_any(bytes, transport, limits)?;
    summary_of(&msg)
}

pub(crate) fn summary_of<'a>(msg: &Message<'a>) -> Result<Summary<'a>, ParseError> {
    let v = msg.top_via()?;
    let via = TopVia {
        protocol: v.protocol,
        version: v.version,
        transport: v.transport,
        host: v.host,
        port: v.port,
        branch: v.branch(),
        route: v.route(),
        params: v.params.as_str(),
    };
    let start = match msg {
        Message::Request(r) => Start::Request {
            method: r.method_str(),
            uri: r.uri().as_str(),
        },
        Message::Response(r) => Start::Response { status: r.status() },
    };
    let cseq = msg.cseq();
    Ok(Summary {
        start,
        via,
        call_id: msg.call_id(),
        cseq: cseq.seq,
        cseq_method: cseq.method,
        from_tag: msg.from().tag(),
        to_tag: msg.to().tag(),
    })
}

/// Limits for re-reading a message that was checked when it was stored:
/// only a change of the message crate could make it fail.
fn stored_limits() -> Limits {
    Limits {
        max_message_size: usize::MAX,
        ..Limits::default()
    }
}

/// The To tag of a stored message, if it parses and has one.
pub(crate) fn to_tag(bytes: &[u8]) -> Option<&str> {
    parse_any(bytes, Transport::Udp, &stored_limits())
        .ok()
        .and_then(|m| m.to().tag())
}

/// A stored request (it parsed when it was stored, so this only fails if the
/// message crate changed its mind).
fn request_of(bytes: &[u8]) -> Option<Request<'_>> {
    match parse_any(bytes, Transport::Udp, &stored_limits()).ok()? {
        Message::Request(r) => Some(r),
        Message::Response(_) => None,
    }
}

/// The headers a request sent by a client transaction shares with the ACK
/// and CANCEL it builds (RFC 3261 §17.1.1.3, §9.1): same Request-URI,
/// Call-ID, From, CSeq number; the single top Via; every Route.
fn derived(req: &Request<'_>, method: &str, to: &str) -> Vec<u8> {
    let mut b = RequestBuilder::new(method, req.uri().as_str());
    if let Ok(via) = req.top_via() {
        b = b.header(HeaderName::Via, via.raw);
    }
    for r in req.headers_named(HeaderName::Route) {
        b = b.header(HeaderName::Route, r.value);
    }
    let mf = req.max_forwards().unwrap_or(70);
    b = b.header(HeaderName::MaxForwards, mf.to_string());
    if let Some(f) = req.header(HeaderName::From) {
        b = b.header(HeaderName::From, f.value);
    }
    b = b
        .header(HeaderName::To, to)
        .header(HeaderName::CallId, req.call_id())
        .header(HeaderName::CSeq, format!("{} {}", req.cseq().seq, method));
    b.build()
}

/// The ACK for a non-2xx final response, built inside the INVITE client
/// transaction (RFC 3261 §17.1.1.3): Request-URI, Call-ID, From and the CSeq
/// number of the original request, CSeq method ACK, the To of the response
/// (with its tag), a single Via equal to the original top Via, the
/// original's Route headers, no body.
pub(crate) fn build_ack(original: &[u8], response: &[u8]) -> Option<Vec<u8>> {
    let req = request_of(original)?;
    let resp = parse_any(response, Transport::Udp, &stored_limits()).ok()?;
    let to = resp.header(HeaderName::To).map_or("", |h| h.value);
    Some(derived(&req, "ACK", to))
}

/// A CANCEL for a request sent by a client transaction (RFC 3261 §9.1):
/// Request-URI, Call-ID, To, From and CSeq number identical, CSeq method
/// CANCEL, a single Via equal to the original top Via, the original's Route
/// headers.
pub(crate) fn build_cancel(original: &[u8]) -> Option<Vec<u8>> {
    let req = request_of(original)?;
    let to = req.header(HeaderName::To).map_or("", |h| h.value);
    Some(derived(&req, "CANCEL", to))
}

/// The 100 Trying an INVITE server transaction sends on its own (RFC 3261
/// §17.2.1): built as §8.2.6 says, without a To tag ("downgraded from MAY to
/// SHOULD NOT"), Timestamp copied (§8.2.6.1).
pub(crate) fn build_trying(request: &[u8]) -> Option<Vec<u8>> {
    let req = request_of(request)?;
    Some(response_from_request(&req, 100, "Trying").build())
}

/// The reply to a request that did not parse, from the message crate's one
/// mapping ([`sipkit_message::wire_reply`]: 400 with a Warning, 505, 513),
/// or `None` when it must be dropped: a response, input without a request
/// line or without a Via (nothing to route a reply by), or an ACK (RFC 3261
/// §17.1.1.3: an ACK is never answered).
///
/// The message crate gives the status and Warning, not the bytes; the
/// headers are taken here by a lenient line scan, since the message did
/// not parse: every Via, From, To (with `tag` added if it has none,
/// §8.2.6.2), Call-ID and CSeq line, as written.
pub(crate) fn malformed_reply(
    bytes: &[u8],
    err: &ParseError,
    tag: impl FnOnce() -> String,
) -> Option<Vec<u8>> {
    let Disposition::Reply(reply) = wire_reply(err) else {
        return None;
    };
    let start = skip_crlf(bytes);
    let rest = &bytes[start..];
    // A request line starts with a method token and a space; an ACK is never answered.
    let method_len = rest
        .iter()
        .take_while(|c| c.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(c))
        .count();
    if method_len == 0 || rest.get(method_len) != Some(&b' ') || rest.starts_with(b"ACK ") {
        return None;
    }
    let headers = lenient_headers(rest);
    // Without a Via the reply cannot be routed back (§18.2.2) nor matched by the peer.
    if !headers
        .iter()
        .any(|(n, _)| HeaderName::from_bytes(n) == HeaderName::Via)
    {
        return None;
    }
    let tag = tag();
    let mut out = Vec::with_capacity(256);
    let _ = write!(out, "SIP/2.0 {} {}\r\n", reply.status, reply.reason);
    for (name, value) in headers {
        let n = HeaderName::from_bytes(name);
        let keep = matches!(
            n,
            HeaderName::Via
                | HeaderName::From
                | HeaderName::To
                | HeaderName::CallId
                | HeaderName::CSeq
        );
        if !keep {
            continue;
        }
        out.extend_from_slice(n.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend(
            value
                .iter()
                .map(|&c| if c == b'\t' || c >= 0x20 { c } else { b' ' }),
        );
        if n == HeaderName::To && !contains_tag(&value) {
            out.extend_from_slice(b";tag=");
            out.extend_from_slice(tag.as_bytes());
        }
        out.extend_from_slice(b"\r\n");
    }
    let _ = write!(
        out,
        "Warning: {}\r\nContent-Length: 0\r\n\r\n",
        reply.warning_value("sipkit")
    );
    Some(out)
}

fn skip_crlf(b: &[u8]) -> usize {
    let mut i = 0;
    while b.get(i..i + 2) == Some(b"\r\n") {
        i += 2;
    }
    i
}

fn contains_tag(value: &[u8]) -> bool {
    value.windows(4).any(|w| w.eq_ignore_ascii_case(b"tag="))
}

/// Header lines after the start line up to the first empty line, folded
/// continuation lines joined; `(name, value)` trimmed. Never fails.
fn lenient_headers(b: &[u8]) -> Vec<(&[u8], Vec<u8>)> {
    let mut out: Vec<(&[u8], Vec<u8>)> = Vec::new();
    let mut lines = b
        .split(|&c| c == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let _start_line = lines.next();
    for line in lines {
        if line.is_empty() {
            break;
        }
        if line[0] == b' ' || line[0] == b'\t' {
            if let Some((_, v)) = out.last_mut() {
                v.push(b' ');
                v.extend_from_slice(line.trim_ascii());
            }
            continue;
        }
        if let Some(colon) = line.iter().position(|&c| c == b':') {
            out.push((
                line[..colon].trim_ascii(),
                line[colon + 1..].trim_ascii().to_vec(),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use super::*;

    const INVITE: &[u8] = b"INVITE sip:bob@biloxi.example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP pc33.Atlanta.example.com:5070;branch=z9hG4bK776asdhds;rport, SIP/2.0/UDP p2.example.com;branch=z9hG4bKx\r\n\
Route: <sip:p1.example.com;lr>\r\nRoute: <sip:p2.example.com;lr>\r\n\
Max-Forwards: 69\r\nTo: Bob <sip:bob@biloxi.example.com>\r\n\
From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n\
Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\nCSeq: 314159 INVITE\r\n\
Content-Length: 0\r\n\r\n";

    #[test]
    fn summary_reads_the_matching_fields() {
        let s = summarize(INVITE, Transport::Udp, &Limits::default()).unwrap();
        assert!(matches!(
            s.start,
            Start::Request {
                method: "INVITE",
                uri: "sip:bob@biloxi.example.com"
            }
        ));
        assert_eq!(s.via.branch, Some("z9hG4bK776asdhds"));
        assert!(s.via.is_rfc3261() && s.via.route.rport.is_some());
        let mut sb = Vec::new();
        s.via.write_sent_by(&mut sb);
        assert_eq!(sb, b"pc33.atlanta.example.com:5070");
        assert_eq!((s.cseq, s.cseq_method), (314159, "INVITE"));
        assert_eq!((s.from_tag, s.to_tag), (Some("1928301774"), None));
    }

    #[test]
    fn badbranch_is_not_rfc3261() {
        let b = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../testdata/rfc4475/badbranch.dat"
        ))
        .unwrap();
        let s = summarize(&b, Transport::Udp, &Limits::default()).unwrap();
        assert_eq!(s.via.branch, Some("z9hG4bK"));
        assert!(!s.via.is_rfc3261());
    }

    #[test]
    fn reply_address_follows_18_2_2() {
        use sipkit_message::response_destination;
        let src: SocketAddr = "192.0.2.9:40000".parse().unwrap();
        let s = summarize(INVITE, Transport::Udp, &Limits::default()).unwrap();
        assert_eq!(
            response_destination(&s.via.route, src, Transport::Udp, false),
            src,
            "rport"
        );
        let no_rport = String::from_utf8_lossy(INVITE).replace(";rport", "");
        let s = summarize(no_rport.as_bytes(), Transport::Udp, &Limits::default()).unwrap();
        assert_eq!(
            response_destination(&s.via.route, src, Transport::Udp, false),
            "192.0.2.9:5070".parse().unwrap()
        );
        assert_eq!(
            response_destination(&s.via.route, src, Transport::Tcp, true),
            src
        );
    }

    #[test]
    fn ack_and_cancel_copy_the_right_headers() {
        let resp = b"SIP/2.0 486 Busy Here\r\nVia: SIP/2.0/UDP pc33.Atlanta.example.com:5070;branch=z9hG4bK776asdhds;rport\r\n\
To: Bob <sip:bob@biloxi.example.com>;tag=a6c85cf\r\nFrom: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n\
Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\nCSeq: 314159 INVITE\r\nContent-Length: 0\r\n\r\n";
        let ack = build_ack(INVITE, resp).unwrap();
        let text = String::from_utf8(ack.clone()).unwrap();
        assert!(
            text.starts_with("ACK sip:bob@biloxi.example.com SIP/2.0\r\n"),
            "{text}"
        );
        assert_eq!(text.matches("Via:").count(), 1);
        assert!(text.contains(
            "Via: SIP/2.0/UDP pc33.Atlanta.example.com:5070;branch=z9hG4bK776asdhds;rport\r\n"
        ));
        assert!(text.contains("To: Bob <sip:bob@biloxi.example.com>;tag=a6c85cf\r\n"));
        assert!(text.contains("CSeq: 314159 ACK\r\n"));
        assert_eq!(text.matches("Route:").count(), 2);
        let cancel = String::from_utf8(build_cancel(INVITE).unwrap()).unwrap();
        assert!(
            cancel.contains("CSeq: 314159 CANCEL\r\n")
                && cancel.contains("To: Bob <sip:bob@biloxi.example.com>\r\n")
        );
    }

    #[test]
    fn malformed_request_gets_a_reply_with_its_headers() {
        let bad =
            b"OPTIONS sip:a@b SIP/7.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nTo: <sip:a@b>\r\n\
From: <sip:c@d>;tag=9\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n\r\n";
        let err = parse_any(bad, Transport::Udp, &Limits::default()).unwrap_err();
        let reply = String::from_utf8(malformed_reply(bad, &err, || "t1".into()).unwrap()).unwrap();
        assert!(
            reply.starts_with("SIP/2.0 505 Version Not Supported\r\n"),
            "{reply}"
        );
        assert!(
            reply.contains("To: <sip:a@b>;tag=t1\r\n") && reply.contains("Warning: 399 sipkit \"")
        );
        let bad_ack = b"ACK sip:a@b SIP/7.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n\r\n";
        let err = parse_any(bad_ack, Transport::Udp, &Limits::default()).unwrap_err();
        assert_eq!(malformed_reply(bad_ack, &err, || "t1".into()), None);
    }
}
