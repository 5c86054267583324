//! `parse_raw` (split only, values checked when read) against `parse` (every
//! receiver check): whatever `parse_raw` accepts, `validate` turns into exactly
//! what `parse` gives, and the fallible accessors agree with the checked ones.

use proptest::prelude::*;

use crate::fixtures;
use sipkit_message::{
    parse, parse_raw, parse_raw_with, parse_with, ErrorKind, HeaderName, Limits, Mode, StartLine,
};

/// The contract between the two levels, on one input.
fn agree(buf: &[u8], limits: &Limits, mode: Mode) {
    let strict = parse_with(buf, limits, mode);
    let raw = parse_raw_with(buf, limits, mode);
    match (&strict, &raw) {
        (Ok(m), Ok(r)) => {
            assert_eq!(r.validate().as_ref(), Ok(m));
            assert_eq!(r.call_id().unwrap(), m.call_id());
            assert_eq!(r.cseq().unwrap(), m.cseq());
            assert_eq!(r.from().unwrap().raw, m.from().raw);
            assert_eq!(r.to().unwrap().raw, m.to().raw);
            assert_eq!(r.top_via().unwrap().raw, m.top_via().unwrap().raw);
            assert_eq!(r.max_forwards().unwrap(), m.max_forwards());
            assert!(r.headers().eq(m.headers()));
            assert_eq!(r.body(), m.body());
            assert_eq!(r.content_length(), m.content_length());
            assert_eq!(r.is_request(), m.is_request());
            match (r.start_line(), m.as_request(), m.as_response()) {
                (StartLine::Request { method, uri }, Some(q), None) => {
                    assert_eq!(method, q.method_str());
                    assert_eq!(uri.as_str(), q.uri().as_str());
                }
                (StartLine::Response { status, reason }, None, Some(s)) => {
                    assert_eq!((status, reason), (s.status(), s.reason()));
                }
                _ => panic!("start lines differ"),
            }
        }
        (Err(e), Ok(r)) => assert_eq!(r.validate().as_ref().err(), Some(e)),
        // Raw checks less: it can't reject what parse accepts.
        (Ok(_), Err(e)) => panic!("parse accepts, parse_raw rejects: {e}"),
        (Err(_), Err(_)) => {}
    }
}

#[test]
fn every_fixture_agrees_in_both_modes() {
    let all = fixtures();
    assert!(all.len() >= 56);
    for buf in &all {
        agree(buf, &Limits::default(), Mode::Datagram);
        agree(buf, &Limits::default(), Mode::Stream);
    }
}

#[test]
fn values_are_checked_when_read() {
    let buf = b"SIP/2.0 302 Moved Temporarily\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n\
Via: SIP/2.0/UDP bad host\r\nTo: <sip:b@h>;tag=2\r\nFrom: <sip:a@h>;tag=1\r\nCall-ID: x\r\n\
CSeq: 1 INVITE\r\nContact: <sip:b@192.0.2.4>;q=0.5, <sip:b@h\r\nContent-Length: 0\r\n\r\n";
    let r = parse_raw(buf).unwrap();
    assert_eq!(r.status(), Some(302));
    assert_eq!(r.top_via().unwrap().branch(), Some("z9hG4bK1"));
    let mut contacts = r.contacts();
    assert!(contacts.next().unwrap().is_ok());
    let e = contacts.next().unwrap().unwrap_err();
    assert_eq!(e.header, Some(HeaderName::Contact));
    assert!(r.vias().nth(1).unwrap().is_err());
    // validate reports the first problem in header order, as parse does.
    let e = r.validate().unwrap_err();
    assert_eq!(e, parse(buf).unwrap_err());
    assert_eq!(e.header, Some(HeaderName::Via));
}

#[test]
fn missing_headers_are_errors_of_their_accessors() {
    let buf = b"OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 0\r\n\r\n";
    let r = parse_raw(buf).unwrap();
    for e in [
        r.call_id().map(drop),
        r.cseq().map(drop),
        r.from().map(drop),
        r.to().map(drop),
        r.top_via().map(drop),
    ] {
        assert!(matches!(e.unwrap_err().kind, ErrorKind::MissingHeader(_)));
    }
    assert_eq!(r.max_forwards(), Ok(None));
    assert_eq!(r.method(), Some(sipkit_message::Method::Options));
    assert_eq!(
        r.uri().unwrap().host,
        Some(sipkit_message::Host::Domain("b"))
    );
}

#[test]
fn framing_is_checked_at_once() {
    // Two Content-Lengths could frame the body two ways.
    let two = b"SIP/2.0 200 OK\r\nContent-Length: 0\r\nl: 4\r\n\r\nabcd";
    let e = parse_raw(two).unwrap_err();
    assert_eq!(
        e.kind,
        ErrorKind::DuplicateHeader(HeaderName::ContentLength)
    );
    let bad = b"SIP/2.0 200 OK\r\nContent-Length: -1\r\n\r\n";
    assert_eq!(
        parse_raw(bad).unwrap_err().kind,
        ErrorKind::InvalidContentLength
    );
    let long = b"SIP/2.0 200 OK\r\nContent-Length: 9\r\n\r\nabc";
    assert!(matches!(
        parse_raw(long).unwrap_err().kind,
        ErrorKind::ContentLengthMismatch {
            declared: 9,
            actual: 3
        }
    ));
    let none = b"SIP/2.0 200 OK\r\n\r\nabc";
    assert_eq!(
        parse_raw_with(none, &Limits::default(), Mode::Stream)
            .unwrap_err()
            .kind,
        ErrorKind::MissingContentLength
    );
    assert_eq!(parse_raw(none).unwrap().body(), b"abc");
    // The start line is checked: another version is told apart for 505.
    let v = b"OPTIONS sip:a@b SIP/3.0\r\n\r\n";
    assert!(matches!(
        parse_raw(v).unwrap_err().kind,
        ErrorKind::UnsupportedVersion { major: 3, minor: 0 }
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_agree(bytes in prop::collection::vec(any::<u8>(), 0..800)) {
        agree(&bytes, &Limits::default(), Mode::Datagram);
    }

    #[test]
    fn edited_fixtures_agree(
        idx in any::<prop::sample::Index>(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        stream in any::<bool>(),
    ) {
        let all = fixtures();
        let mut buf = idx.get(&all).clone();
        for (at, byte) in &edits {
            if !buf.is_empty() {
                let i = at.index(buf.len());
                buf[i] = *byte;
            }
        }
        let mode = if stream { Mode::Stream } else { Mode::Datagram };
        agree(&buf, &Limits::default(), mode);
    }
}
