//! Message fixtures and a clock.

use std::time::Instant;

use sipkit_message::{parse, Message, Request, Response};

/// An epoch for a test; time moves only by adding to it.
pub fn epoch() -> Instant {
    #[allow(clippy::disallowed_methods)] // the test's own clock, never read again
    Instant::now()
}

/// Writes `text` with CRLF line ends (fixtures are written with `\n`).
pub fn crlf(text: &str) -> Vec<u8> {
    let mut s = text.replace("\r\n", "\n").replace('\n', "\r\n");
    if !s.ends_with("\r\n\r\n") {
        s.push_str("\r\n");
    }
    s.into_bytes()
}

pub fn req(bytes: &[u8]) -> Request<'_> {
    match parse(bytes) {
        Ok(Message::Request(r)) => r,
        other => panic!(
            "not a request: {other:?}\n{}",
            String::from_utf8_lossy(bytes)
        ),
    }
}

pub fn resp(bytes: &[u8]) -> Response<'_> {
    match parse(bytes) {
        Ok(Message::Response(r)) => r,
        other => panic!(
            "not a response: {other:?}\n{}",
            String::from_utf8_lossy(bytes)
        ),
    }
}

/// The value of the first header called `name` in `bytes`.
pub fn header(bytes: &[u8], name: &str) -> Option<String> {
    parse(bytes).ok()?.header_value(name).map(str::to_owned)
}

/// Every value of headers called `name`, in order.
pub fn headers(bytes: &[u8], name: &str) -> Vec<String> {
    let Ok(m) = parse(bytes) else { return vec![] };
    m.headers()
        .filter(|h| h.is(name))
        .map(|h| h.value.to_owned())
        .collect()
}

/// The start line.
pub fn first_line(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .lines()
        .next()
        .unwrap_or("")
        .to_owned()
}

/// Alice's INVITE to Bob through two proxies.
pub const INVITE: &str = "INVITE sip:bob@biloxi.example.com SIP/2.0
Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKnashds8
Max-Forwards: 70
To: Bob <sip:bob@biloxi.example.com>
From: Alice <sip:alice@atlanta.example.com>;tag=1928301774
Call-ID: a84b4c76e66710
CSeq: 314159 INVITE
Contact: <sip:alice@pc33.atlanta.example.com>
Content-Length: 0

";

/// The INVITE as Bob receives it, Record-Routed by two proxies.
pub const INVITE_AT_BOB: &str = "INVITE sip:bob@192.0.2.4 SIP/2.0
Via: SIP/2.0/UDP p2.biloxi.example.com;branch=z9hG4bKp2
Via: SIP/2.0/UDP p1.atlanta.example.com;branch=z9hG4bKp1
Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKnashds8
Max-Forwards: 68
Record-Route: <sip:p2.biloxi.example.com;lr>
Record-Route: <sip:p1.atlanta.example.com;lr>
To: Bob <sip:bob@biloxi.example.com>
From: Alice <sip:alice@atlanta.example.com>;tag=1928301774
Call-ID: a84b4c76e66710
CSeq: 314159 INVITE
Contact: <sip:alice@pc33.atlanta.example.com>
Content-Length: 0

";

/// Bob's answer with `status` as Alice receives it.
pub fn answer(status: u16, reason: &str, tag: Option<&str>, contact: &str) -> Vec<u8> {
    let tag = tag.map(|t| format!(";tag={t}")).unwrap_or_default();
    crlf(&format!(
        "SIP/2.0 {status} {reason}
Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKnashds8
Record-Route: <sip:p2.biloxi.example.com;lr>
Record-Route: <sip:p1.atlanta.example.com;lr>
To: Bob <sip:bob@biloxi.example.com>{tag}
From: Alice <sip:alice@atlanta.example.com>;tag=1928301774
Call-ID: a84b4c76e66710
CSeq: 314159 INVITE
Contact: <{contact}>
Content-Length: 0

"
    ))
}
