//! Input that does not parse: the event, and the wire reply from the
//! message crate's single mapping (ARCHITECTURE.md, "Errors").

use sipkit_message::parse;
use sipkit_transaction::{Config, Event, Transactions, Transport};

use crate::harness::*;

fn malformed(bytes: &[u8], transport: Transport) -> Event {
    let mut tx = Transactions::new(Config::default());
    let clock = Clock::new();
    tx.handle_datagram(
        clock.now,
        bytes,
        addr("198.51.100.7:6000"),
        addr(BOB),
        transport,
    );
    let e = tx.poll_event().expect("one event");
    assert!(
        tx.poll_event().is_none() && tx.poll_transmit().is_none(),
        "nothing queued on its own"
    );
    assert!(tx.is_empty());
    e
}

fn reply_status(e: &Event) -> Option<u16> {
    let Event::Malformed { reply, .. } = e else {
        panic!("{e:?}")
    };
    reply.as_ref().map(|t| {
        assert_eq!(t.destination, addr("198.51.100.7:6000"), "to the source");
        assert!(t.key.is_none());
        let r = parse(&t.bytes).unwrap_or_else(|err| panic!("{err}: {}", text(&t.bytes)));
        r.as_response().unwrap().status()
    })
}

#[test]
fn bad_request_gets_400_with_its_headers_and_a_warning() {
    let bad = String::from_utf8(options("z9hG4bKx1"))
        .unwrap()
        .replace("Max-Forwards: 70", "Max-Forwards: 300");
    let e = malformed(bad.as_bytes(), Transport::Udp);
    assert_eq!(reply_status(&e), Some(400));
    let Event::Malformed {
        reply: Some(t),
        error,
        transport,
        ..
    } = &e
    else {
        unreachable!()
    };
    assert_eq!(*transport, Transport::Udp);
    assert!(error.to_string().contains("Max-Forwards"), "{error}");
    let r = parse(&t.bytes).unwrap();
    assert_eq!(r.top_via().unwrap().branch(), Some("z9hG4bKx1"));
    assert_eq!(r.call_id(), "call1@192.0.2.1");
    assert!(r.to().tag().is_some(), "a To tag is added (§8.2.6.2)");
    assert!(r.header_value("Warning").unwrap().starts_with("399 "));
}

#[test]
fn unsupported_version_gets_505() {
    let bad = String::from_utf8(options("z9hG4bKx2"))
        .unwrap()
        .replace("SIP/2.0\r\nVia", "SIP/3.0\r\nVia");
    assert_eq!(
        reply_status(&malformed(bad.as_bytes(), Transport::Udp)),
        Some(505)
    );
}

#[test]
fn stream_message_without_content_length_gets_400() {
    let bad = String::from_utf8(options("z9hG4bKx3"))
        .unwrap()
        .replace("Content-Length: 0\r\n", "");
    assert_eq!(
        reply_status(&malformed(bad.as_bytes(), Transport::Tcp)),
        Some(400)
    );
    // The same bytes are fine in a datagram.
    let mut tx = Transactions::new(Config::default());
    tx.handle_datagram(
        Clock::new().now,
        bad.as_bytes(),
        addr(ALICE),
        addr(BOB),
        Transport::Udp,
    );
    assert!(matches!(tx.poll_event(), Some(Event::Request { .. })));
}

#[test]
fn bad_response_garbage_and_bad_ack_are_dropped() {
    let resp = response(&options("z9hG4bKx4"), 200, "OK", Some("t"));
    let bad_resp = String::from_utf8(resp)
        .unwrap()
        .replace("SIP/2.0 200", "SIP/2.0 2000");
    assert_eq!(
        reply_status(&malformed(bad_resp.as_bytes(), Transport::Udp)),
        None
    );
    assert_eq!(
        reply_status(&malformed(b"\x00\x01hello", Transport::Udp)),
        None
    );
    assert_eq!(reply_status(&malformed(b"", Transport::Udp)), None);
    let bad_ack = String::from_utf8(ack("z9hG4bKx5", "t"))
        .unwrap()
        .replace("Max-Forwards: 70", "Max-Forwards: 300");
    assert_eq!(
        reply_status(&malformed(bad_ack.as_bytes(), Transport::Udp)),
        None,
        "an ACK is never answered"
    );
}
