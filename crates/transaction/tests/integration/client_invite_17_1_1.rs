//! INVITE client transactions: RFC 3261 §17.1.1, RFC 6026 §8.4.

use sipkit_message::{parse, HeaderName, Message};
use sipkit_transaction::{Config, Error, Event, Role, State, Transactions, Transport};

use crate::harness::*;

fn client() -> Transactions {
    Transactions::new(Config::default())
}

#[test]
fn unanswered_invite_over_udp_timer_a_then_timer_b() {
    let (mut tx, mut clock, mut log) = (client(), Clock::new(), Log::default());
    let key = tx
        .send_request(clock.now, &invite("z9hG4bKa1"), addr(BOB), Transport::Udp)
        .unwrap();
    assert_eq!(key.role(), Role::Client);
    assert_eq!(tx.state(&key), Some(State::Calling));
    run_all(&mut tx, &mut clock, &mut log);
    assert_eq!(log.send_times(), [0.0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5]);
    assert!(log
        .sent
        .iter()
        .all(|(_, m)| m.bytes == invite("z9hG4bKa1")[..] && m.destination == addr(BOB)));
    assert_eq!(
        log.names(),
        [(32.0, "Timeout B".into()), (32.0, "Terminated".into())]
    );
    assert!(tx.is_empty());
}

#[test]
fn unanswered_invite_over_tcp_is_sent_once() {
    let (mut tx, mut clock, mut log) = (client(), Clock::new(), Log::default());
    tx.send_request(clock.now, &invite("z9hG4bKa2"), addr(BOB), Transport::Tcp)
        .unwrap();
    run_all(&mut tx, &mut clock, &mut log);
    assert_eq!(log.send_times(), [0.0]);
    assert_eq!(log.sent[0].1.transport, Transport::Tcp);
    assert_eq!(
        log.names(),
        [(32.0, "Timeout B".into()), (32.0, "Terminated".into())]
    );
}

#[test]
fn timer_values_follow_the_config() {
    let config = Config {
        t1: std::time::Duration::from_millis(100),
        ..Config::default()
    };
    let (mut tx, mut clock, mut log) = (Transactions::new(config), Clock::new(), Log::default());
    tx.send_request(clock.now, &invite("z9hG4bKa3"), addr(BOB), Transport::Udp)
        .unwrap();
    run_all(&mut tx, &mut clock, &mut log);
    assert_eq!(log.send_times(), [0.0, 0.1, 0.3, 0.7, 1.5, 3.1, 6.3]);
    assert_eq!(log.names()[0], (6.4, "Timeout B".into()));
}

#[test]
fn provisional_moves_calling_to_proceeding_and_stops_timers_a_and_b() {
    let (mut tx, mut clock, mut log) = (client(), Clock::new(), Log::default());
    let req = invite("z9hG4bKa4");
    let key = tx
        .send_request(clock.now, &req, addr(BOB), Transport::Udp)
        .unwrap();
    run_until(&mut tx, &mut clock, 0.2, &mut log);
    tx.handle_datagram(
        clock.now,
        &response(&req, 180, "Ringing", Some("b1")),
        addr(BOB),
        addr(ALICE),
        Transport::Udp,
    );
    drain(&mut tx, &clock, &mut log);
    assert_eq!(tx.state(&key), Some(State::Proceeding));
    // Every provisional response goes to the TU.
    run_until(&mut tx, &mut clock, 5.0, &mut log);
    tx.handle_datagram(
        clock.now,
        &response(&req, 183, "Session Progress", Some("b1")),
        addr(BOB),
        addr(ALICE),
        Transport::Udp,
    );
    run_until(&mut tx, &mut clock, 100.0, &mut log);
    assert_eq!(log.send_times(), [0.0], "no retransmission in Proceeding");
    assert_eq!(
        log.names(),
        [(0.2, "Response 180".into()), (5.0, "Response 183".into())]
    );
    assert_eq!(tx.poll_timeout(), None, "Proceeding runs no timer");
    assert_eq!(tx.state(&key), Some(State::Proceeding));
}

#[test]
fn non_2xx_moves_to_completed_and_generates_the_ack_17_1_1_3() {
    let (mut tx, mut clock, mut log) = (client(), Clock::new(), Log::default());
    // A request as a proxy's client transaction sends it: two Vias, two Routes, a body.
    let req = "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP proxy.example.com:5060;branch=z9hG4bKp1\r\n\
Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKu1\r\n\
Route: <sip:p1.example.com;lr>\r\n\
Max-Forwards: 69\r\n\
To: Bob <sip:bob@biloxi.example.com>\r\n\
From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n\
Route: <sip:p2.example.com;lr>\r\n\
Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n\
CSeq: 314159 INVITE\r\n\
Contact: <sip:alice@pc33.atlanta.example.com>\r\n\
Content-Type: application/sdp\r\n\
Content-Length: 4\r\n\r\nv=0\n";
    let key = tx
        .send_request(clock.now, req.as_bytes(), addr(BOB), Transport::Udp)
        .unwrap();
    run_until(&mut tx, &mut clock, 0.7, &mut log);
    let busy = response(req.as_bytes(), 486, "Busy Here", Some("b77"));
    tx.handle_datagram(clock.now, &busy, addr(BOB), addr(ALICE), Transport::Udp);
    drain(&mut tx, &clock, &mut log);
    assert_eq!(tx.state(&key), Some(State::Completed));
    assert_eq!(log.names(), [(0.7, "Response 486".into())]);
    let (t, ack) = log.sent.last().unwrap();
    assert_eq!(*t, 0.7);
    assert_eq!(
        (ack.destination, ack.transport, ack.key.as_ref()),
        (addr(BOB), Transport::Udp, Some(&key))
    );
    let Ok(Message::Request(a)) = parse(&ack.bytes) else {
        panic!("ACK does not parse: {}", text(&ack.bytes))
    };
    assert_eq!(a.method_str(), "ACK");
    assert_eq!(a.uri().as_str(), "sip:bob@biloxi.example.com");
    let vias: Vec<_> = a.vias().collect::<Result<_, _>>().unwrap();
    assert_eq!(vias.len(), 1, "a single Via");
    assert_eq!(
        vias[0].raw, "SIP/2.0/UDP proxy.example.com:5060;branch=z9hG4bKp1",
        "the original top Via"
    );
    assert_eq!(a.call_id(), "a84b4c76e66710@pc33.atlanta.example.com");
    assert_eq!(
        a.header(HeaderName::From).unwrap().value,
        "Alice <sip:alice@atlanta.example.com>;tag=1928301774"
    );
    assert_eq!(
        a.header(HeaderName::To).unwrap().value,
        "Bob <sip:bob@biloxi.example.com>;tag=b77",
        "the To of the response"
    );
    assert_eq!((a.cseq().seq, a.cseq().method), (314159, "ACK"));
    let routes: Vec<_> = a
        .headers_named(HeaderName::Route)
        .map(|h| h.value)
        .collect();
    assert_eq!(
        routes,
        ["<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"]
    );
    assert!(a.max_forwards().is_some());
    assert!(a.body().is_empty() && a.header(HeaderName::Contact).is_none());
}

#[test]
fn timer_d_absorbs_final_response_retransmissions_and_resends_the_ack() {
    let (mut tx, mut clock, mut log) = (client(), Clock::new(), Log::default());
    let req = invite("z9hG4bKa5");
    let key = tx
        .send_request(clock.now, &req, addr(BOB), Transport::Udp)
        .unwrap();
    run_until(&mut tx, &mut clock, 0.1, &mut log);
    let busy = response(&req, 486, "Busy Here", Some("b1"));
    for at in [0.1, 0.6, 1.6, 3.6] {
        run_until(&mut tx, &mut clock, at, &mut log);
        tx.handle_datagram(clock.now, &busy, addr(BOB), addr(ALICE), Transport::Udp);
    }
    run_until(&mut tx, &mut clock, 32.0, &mut log);
    assert_eq!(tx.state(&key), Some(State::Completed));
    run_all(&mut tx, &mut clock, &mut log);
    assert_eq!(
        log.send_times_of("INVITE"),
        [0.0],
        "Timer A stopped at the final response"
    );
    assert_eq!(
        log.send_times_of("ACK"),
        [0.1, 0.6, 1.6, 3.6],
        "one ACK per 486 received"
    );
    let acks: Vec<_> = log
        .sent
        .iter()
        .filter(|(_, m)| first_line(&m.bytes).starts_with("ACK"))
        .collect();
    assert!(
        acks.windows(2).all(|w| w[0].1.bytes == w[1].1.bytes),
        "the same ACK each time"
    );
    // The 486 reaches the TU once; Timer D (32 s) ends the transaction.
    assert_eq!(
        log.names(),
        [(0.1, "Response 486".into()), (32.1, "Terminated".into())]
    );
}

#[test]
fn timer_d_is_zero_over_tcp() {
    let (mut tx, mut clock, mut log) = (client(), Clock::new(), Log::default());
    let req = invite("z9hG4bKa6");
    tx.send_request(clock.now, &req, addr(BOB), Transport::Tcp)
        .unwrap();
    run_until(&mut tx, &mut clock, 0.3, &mut log);
    tx.handle_datagram(
        clock.now,
        &response(&req, 603, "Decline", Some("b1")),
        addr(BOB),
        addr(ALICE),
        Transport::Tcp,
    );
    drain(&mut tx, &clock, &mut log);
    assert_eq!(log.send_times_of("ACK"), [0.3]);
    assert_eq!(
        log.names(),
        [(0.3, "Response 603".into()), (0.3, "Terminated".into())]
    );
    assert!(tx.is_empty());
}

#[test]
fn proceeding_then_final_completes() {
    let (mut tx, mut clock, mut log) = (client(), Clock::new(), Log::default());
    let req = invite("z9hG4bKa7");
    let key = tx
        .send_request(clock.now, &req, addr(BOB), Transport::Udp)
        .unwrap();
    tx.handle_datagram(
        clock.now,
        &response(&req, 100, "Trying", None),
        addr(BOB),
        addr(ALICE),
        Transport::Udp,
    );
    run_until(&mut tx, &mut clock, 10.0, &mut log);
    tx.handle_datagram(
        clock.now,
        &response(&req, 480, "Temporarily Unavailable", Some("b")),
        addr(BOB),
        addr(ALICE),
        Transport::Udp,
    );
    drain(&mut tx, &clock, &mut log);
    assert_eq!(tx.state(&key), Some(State::Completed));
    assert_eq!(log.send_times_of("ACK"), [10.0]);
}

#[test]
fn a_2xx_moves_to_accepted_and_every_2xx_reaches_the_tu_until_timer_m() {
    let (mut tx, mut clock, mut log) = (client(), Clock::new(), Log::default());
    let req = invite("z9hG4bKa8");
    let key = tx
        .send_request(clock.now, &req, addr(BOB), Transport::Udp)
        .unwrap();
    run_until(&mut tx, &mut clock, 0.1, &mut log);
    let ok = response(&req, 200, "OK", Some("b1"));
    tx.handle_datagram(clock.now, &ok, addr(BOB), addr(ALICE), Transport::Udp);
    drain(&mut tx, &clock, &mut log);
    assert_eq!(tx.state(&key), Some(State::Accepted));
    // A retransmission and a 2xx from another fork (RFC 6026 §8.4).
    run_until(&mut tx, &mut clock, 4.0, &mut log);
    tx.handle_datagram(clock.now, &ok, addr(BOB), addr(ALICE), Transport::Udp);
    let fork = response(&req, 200, "OK", Some("b2"));
    tx.handle_datagram(clock.now, &fork, addr(BOB), addr(ALICE), Transport::Udp);
    // Non-2xx in Accepted is absorbed.
    tx.handle_datagram(
        clock.now,
        &response(&req, 486, "Busy Here", Some("b3")),
        addr(BOB),
        addr(ALICE),
        Transport::Udp,
    );
    run_all(&mut tx, &mut clock, &mut log);
    assert_eq!(
        log.send_times(),
        [0.0],
        "no ACK for a 2xx and no retransmission"
    );
    assert_eq!(
        log.names(),
        [
            (0.1, "Response 200".into()),
            (4.0, "Response 200".into()),
            (4.0, "Response 200".into()),
            (32.1, "Terminated".into()),
        ]
    );
    // After Timer M a 2xx matches nothing: it goes to the core (§18.1.2).
    tx.handle_datagram(clock.now, &ok, addr(BOB), addr(ALICE), Transport::Udp);
    let e = tx.poll_event().unwrap();
    assert!(
        matches!(e, Event::StrayResponse { status: 200, .. }),
        "{e:?}"
    );
}

#[test]
fn transport_error_terminates_17_1_4() {
    let (mut tx, clock, mut log) = (client(), Clock::new(), Log::default());
    let key = tx
        .send_request(clock.now, &invite("z9hG4bKa9"), addr(BOB), Transport::Tcp)
        .unwrap();
    tx.handle_transport_error(clock.now, &key).unwrap();
    drain(&mut tx, &clock, &mut log);
    assert_eq!(
        log.names(),
        [(0.0, "TransportError".into()), (0.0, "Terminated".into())]
    );
    assert_eq!(
        tx.handle_transport_error(clock.now, &key),
        Err(Error::UnknownTransaction)
    );
}

#[test]
fn cancel_is_sent_only_in_proceeding_9_1() {
    let (mut tx, mut clock, mut log) = (client(), Clock::new(), Log::default());
    let req = invite("z9hG4bKaa");
    let key = tx
        .send_request(clock.now, &req, addr(BOB), Transport::Udp)
        .unwrap();
    assert_eq!(
        tx.cancel(clock.now, &key),
        Err(Error::CannotCancel {
            state: State::Calling
        })
    );
    tx.handle_datagram(
        clock.now,
        &response(&req, 180, "Ringing", Some("b1")),
        addr(BOB),
        addr(ALICE),
        Transport::Udp,
    );
    drain(&mut tx, &clock, &mut log);
    run_until(&mut tx, &mut clock, 2.0, &mut log);
    let cancel_key = tx.cancel(clock.now, &key).unwrap();
    assert_eq!(
        (cancel_key.method(), cancel_key.branch()),
        ("CANCEL", Some("z9hg4bkaa"))
    );
    assert_ne!(cancel_key, key);
    drain(&mut tx, &clock, &mut log);
    let (_, c) = log.sent.last().unwrap();
    let Ok(Message::Request(c)) = parse(&c.bytes) else {
        panic!()
    };
    assert_eq!(
        (c.method_str(), c.cseq().seq, c.cseq().method),
        ("CANCEL", 1, "CANCEL")
    );
    assert_eq!(c.top_via().unwrap().branch(), Some("z9hG4bKaa"));
    assert_eq!(c.to().tag(), None, "the To of the INVITE, not of the 180");
    // The 200 for the CANCEL and the 487 for the INVITE go to their own transactions.
    let cancel_bytes = tx.request(&cancel_key).unwrap();
    tx.handle_datagram(
        clock.now,
        &response(&cancel_bytes, 200, "OK", Some("b1")),
        addr(BOB),
        addr(ALICE),
        Transport::Udp,
    );
    tx.handle_datagram(
        clock.now,
        &response(&req, 487, "Request Terminated", Some("b1")),
        addr(BOB),
        addr(ALICE),
        Transport::Udp,
    );
    let keys: Vec<_> = std::iter::from_fn(|| tx.poll_event())
        .filter_map(|e| match e {
            Event::Response { key, status, .. } => Some((key, status)),
            _ => None,
        })
        .collect();
    assert_eq!(keys, [(cancel_key.clone(), 200), (key.clone(), 487)]);
    assert_eq!(tx.state(&key), Some(State::Completed));
    assert_eq!(tx.state(&cancel_key), Some(State::Completed));
}

#[test]
fn refused_requests() {
    let (mut tx, clock) = (client(), Clock::new());
    let now = clock.now;
    assert_eq!(
        tx.send_request(now, &ack("z9hG4bKab", "x"), addr(BOB), Transport::Udp),
        Err(Error::AckIsNotATransaction)
    );
    let no_branch = String::from_utf8(invite("z9hG4bKab"))
        .unwrap()
        .replace(";branch=z9hG4bKab", "");
    assert_eq!(
        tx.send_request(now, no_branch.as_bytes(), addr(BOB), Transport::Udp),
        Err(Error::MissingBranch)
    );
    let req = invite("z9hG4bKab");
    tx.send_request(now, &req, addr(BOB), Transport::Udp)
        .unwrap();
    assert_eq!(
        tx.send_request(now, &req, addr(BOB), Transport::Udp),
        Err(Error::DuplicateTransaction)
    );
    let resp = response(&req, 200, "OK", Some("t"));
    assert_eq!(
        tx.send_request(now, &resp, addr(BOB), Transport::Udp),
        Err(Error::NotARequest)
    );
    assert!(matches!(
        tx.send_request(now, b"garbage", addr(BOB), Transport::Udp),
        Err(Error::Parse(_))
    ));
    assert_eq!(tx.len(), 1);
}

#[test]
fn branches_from_the_seeded_generator_are_reproducible() {
    let mut a = Transactions::new(Config {
        seed: 42,
        ..Config::default()
    });
    let mut b = Transactions::new(Config {
        seed: 42,
        ..Config::default()
    });
    let (x, y) = (a.new_branch(), b.new_branch());
    assert_eq!(x, y);
    assert!(x.starts_with("z9hG4bK") && x.len() == 23);
    assert_ne!(a.new_branch(), x);
    assert_eq!(a.new_tag().len(), 16);
}

#[test]
fn proceeding_then_2xx_moves_to_accepted() {
    let (mut tx, mut clock, mut log) = (client(), Clock::new(), Log::default());
    let req = invite("z9hG4bKac");
    let key = tx
        .send_request(clock.now, &req, addr(BOB), Transport::Udp)
        .unwrap();
    tx.handle_datagram(
        clock.now,
        &response(&req, 180, "Ringing", Some("b")),
        addr(BOB),
        addr(ALICE),
        Transport::Udp,
    );
    run_until(&mut tx, &mut clock, 20.0, &mut log);
    tx.handle_datagram(
        clock.now,
        &response(&req, 200, "OK", Some("b")),
        addr(BOB),
        addr(ALICE),
        Transport::Udp,
    );
    assert_eq!(tx.state(&key), Some(State::Accepted));
    run_all(&mut tx, &mut clock, &mut log);
    assert_eq!(
        log.names(),
        [
            (0.0, "Response 180".into()),
            (20.0, "Response 200".into()),
            (52.0, "Terminated".into())
        ],
        "Timer M runs 64*T1 from the 2xx"
    );
}

#[test]
fn timer_m_runs_over_tcp_too() {
    let (mut tx, mut clock, mut log) = (client(), Clock::new(), Log::default());
    let req = invite("z9hG4bKad");
    tx.send_request(clock.now, &req, addr(BOB), Transport::Tcp)
        .unwrap();
    tx.handle_datagram(
        clock.now,
        &response(&req, 200, "OK", Some("b")),
        addr(BOB),
        addr(ALICE),
        Transport::Tcp,
    );
    run_all(&mut tx, &mut clock, &mut log);
    assert_eq!(
        log.names(),
        [(0.0, "Response 200".into()), (32.0, "Terminated".into())]
    );
}
