//! INVITE server transactions: RFC 3261 §17.2.1, RFC 6026 §8.7.

use std::time::Duration;

use sipkit_message::{parse, HeaderName};
use sipkit_transaction::{Config, Error, Event, Role, State, Transactions, Transport};

use crate::harness::*;

/// A server whose TU answers itself (no automatic 100).
fn server() -> Transactions {
    Transactions::new(Config {
        auto_trying: None,
        ..Config::default()
    })
}

fn receive(tx: &mut Transactions, clock: &Clock, bytes: &[u8], transport: Transport) {
    tx.handle_datagram(clock.now, bytes, addr(ALICE), addr(BOB), transport);
}

#[test]
fn new_invite_goes_to_the_tu_and_retransmissions_are_absorbed() {
    let (mut tx, mut clock, mut log) = (server(), Clock::new(), Log::default());
    let req = invite("z9hG4bKs1");
    receive(&mut tx, &clock, &req, Transport::Udp);
    drain(&mut tx, &clock, &mut log);
    let key = request_key(&log);
    assert_eq!((key.role(), key.method()), (Role::Server, "INVITE"));
    assert_eq!(tx.state(&key), Some(State::Proceeding));
    let Some((
        _,
        Event::Request {
            request,
            source,
            local,
            transport,
            cancels,
            ..
        },
    )) = log.events.first()
    else {
        panic!()
    };
    assert_eq!(
        (&request[..], *source, *local, *transport, cancels),
        (&req[..], addr(ALICE), addr(BOB), Transport::Udp, &None)
    );
    run_until(&mut tx, &mut clock, 0.5, &mut log);
    receive(&mut tx, &clock, &req, Transport::Udp);
    drain(&mut tx, &clock, &mut log);
    assert_eq!(log.events.len(), 1, "the retransmission is not passed up");
    assert!(
        log.sent.is_empty(),
        "nothing to resend before a provisional response"
    );
}

#[test]
fn automatic_100_trying_after_200_ms_and_resent_on_retransmission() {
    let (mut tx, mut clock, mut log) = (
        Transactions::new(Config::default()),
        Clock::new(),
        Log::default(),
    );
    let req = invite("z9hG4bKs2");
    receive(&mut tx, &clock, &req, Transport::Udp);
    run_until(&mut tx, &mut clock, 0.5, &mut log);
    receive(&mut tx, &clock, &req, Transport::Udp);
    drain(&mut tx, &clock, &mut log);
    assert_eq!(log.send_times(), [0.2, 0.5]);
    let trying = parse(&log.sent[0].1.bytes).unwrap();
    let resp = trying.as_response().unwrap();
    assert_eq!(resp.status(), 100);
    assert_eq!(
        trying.to().tag(),
        None,
        "no To tag on the 100 (§17.2.1: SHOULD NOT)"
    );
    assert_eq!(trying.top_via().unwrap().branch(), Some("z9hG4bKs2"));
    assert_eq!(log.sent[0].1.destination, addr(ALICE));
    assert_eq!(log.sent[1].1.bytes, log.sent[0].1.bytes);
}

#[test]
fn no_automatic_100_when_the_tu_answers_at_once() {
    let (mut tx, mut clock, mut log) = (
        Transactions::new(Config::default()),
        Clock::new(),
        Log::default(),
    );
    let req = invite("z9hG4bKs3");
    receive(&mut tx, &clock, &req, Transport::Udp);
    drain(&mut tx, &clock, &mut log);
    let key = request_key(&log);
    tx.send_response(
        clock.now,
        &key,
        &response(&req, 302, "Moved Temporarily", Some("r1")),
    )
    .unwrap();
    run_until(&mut tx, &mut clock, 1.0, &mut log);
    assert!(
        log.sent
            .iter()
            .all(|(_, m)| first_line(&m.bytes).starts_with("SIP/2.0 302")),
        "no 100 Trying"
    );
}

#[test]
fn automatic_100_can_be_immediate() {
    let config = Config {
        auto_trying: Some(Duration::ZERO),
        ..Config::default()
    };
    let (mut tx, clock, mut log) = (Transactions::new(config), Clock::new(), Log::default());
    receive(&mut tx, &clock, &invite("z9hG4bKs4"), Transport::Udp);
    drain(&mut tx, &clock, &mut log);
    assert_eq!(log.send_times_of("SIP/2.0 100"), [0.0]);
}

#[test]
fn provisional_responses_are_sent_and_the_latest_is_resent() {
    let (mut tx, mut clock, mut log) = (server(), Clock::new(), Log::default());
    let req = invite("z9hG4bKs5");
    receive(&mut tx, &clock, &req, Transport::Udp);
    drain(&mut tx, &clock, &mut log);
    let key = request_key(&log);
    tx.send_response(clock.now, &key, &response(&req, 100, "Trying", None))
        .unwrap();
    tx.send_response(clock.now, &key, &response(&req, 180, "Ringing", Some("t")))
        .unwrap();
    run_until(&mut tx, &mut clock, 1.0, &mut log);
    receive(&mut tx, &clock, &req, Transport::Udp);
    drain(&mut tx, &clock, &mut log);
    let lines: Vec<_> = log
        .sent
        .iter()
        .map(|(t, m)| (*t, first_line(&m.bytes)))
        .collect();
    assert_eq!(
        lines,
        [
            (0.0, "SIP/2.0 100 Trying".into()),
            (0.0, "SIP/2.0 180 Ringing".into()),
            (1.0, "SIP/2.0 180 Ringing".into())
        ]
    );
    assert_eq!(tx.state(&key), Some(State::Proceeding));
    assert_eq!(
        tx.poll_timeout(),
        None,
        "Proceeding waits for the TU without a timer"
    );
}

#[test]
fn timer_g_retransmits_a_486_until_timer_h() {
    let (mut tx, mut clock, mut log) = (server(), Clock::new(), Log::default());
    let req = invite("z9hG4bKs6");
    receive(&mut tx, &clock, &req, Transport::Udp);
    drain(&mut tx, &clock, &mut log);
    let key = request_key(&log);
    tx.send_response(
        clock.now,
        &key,
        &response(&req, 486, "Busy Here", Some("t")),
    )
    .unwrap();
    assert_eq!(tx.state(&key), Some(State::Completed));
    run_all(&mut tx, &mut clock, &mut log);
    assert_eq!(
        log.send_times(),
        [0.0, 0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5]
    );
    assert!(log
        .sent
        .iter()
        .all(|(_, m)| first_line(&m.bytes) == "SIP/2.0 486 Busy Here"
            && m.destination == addr(ALICE)));
    assert_eq!(
        log.names()[1..],
        [(32.0, "Timeout H".into()), (32.0, "Terminated".into())]
    );
}

#[test]
fn ack_confirms_stops_timer_g_and_timer_i_ends_it() {
    let (mut tx, mut clock, mut log) = (server(), Clock::new(), Log::default());
    let req = invite("z9hG4bKs7");
    receive(&mut tx, &clock, &req, Transport::Udp);
    drain(&mut tx, &clock, &mut log);
    let key = request_key(&log);
    tx.send_response(
        clock.now,
        &key,
        &response(&req, 486, "Busy Here", Some("t")),
    )
    .unwrap();
    run_until(&mut tx, &mut clock, 2.0, &mut log);
    receive(&mut tx, &clock, &ack("z9hG4bKs7", "t"), Transport::Udp);
    assert_eq!(tx.state(&key), Some(State::Confirmed));
    // ACK and INVITE retransmissions are absorbed in Confirmed.
    run_until(&mut tx, &mut clock, 3.0, &mut log);
    receive(&mut tx, &clock, &ack("z9hG4bKs7", "t"), Transport::Udp);
    receive(&mut tx, &clock, &req, Transport::Udp);
    run_all(&mut tx, &mut clock, &mut log);
    assert_eq!(log.send_times(), [0.0, 0.5, 1.5]);
    // Timer I = T4 = 5 s after the ACK; the ACK never reaches the TU.
    assert_eq!(log.names()[1..], [(7.0, "Terminated".into())]);
}

#[test]
fn invite_retransmission_in_completed_resends_the_final_response() {
    let (mut tx, mut clock, mut log) = (server(), Clock::new(), Log::default());
    let req = invite("z9hG4bKs8");
    receive(&mut tx, &clock, &req, Transport::Udp);
    drain(&mut tx, &clock, &mut log);
    let key = request_key(&log);
    tx.send_response(
        clock.now,
        &key,
        &response(&req, 404, "Not Found", Some("t")),
    )
    .unwrap();
    run_until(&mut tx, &mut clock, 0.2, &mut log);
    receive(&mut tx, &clock, &req, Transport::Udp);
    drain(&mut tx, &clock, &mut log);
    assert_eq!(log.send_times(), [0.0, 0.2]);
    // Further responses from the TU are discarded.
    let err = tx
        .send_response(
            clock.now,
            &key,
            &response(&req, 500, "Server Error", Some("t")),
        )
        .unwrap_err();
    assert_eq!(
        err,
        Error::ResponseNotAllowed {
            status: 500,
            state: State::Completed
        }
    );
}

#[test]
fn over_tcp_no_timer_g_timer_h_still_runs_and_timer_i_is_zero() {
    let (mut tx, mut clock, mut log) = (server(), Clock::new(), Log::default());
    let req = invite("z9hG4bKs9");
    receive(&mut tx, &clock, &req, Transport::Tcp);
    drain(&mut tx, &clock, &mut log);
    let key = request_key(&log);
    tx.send_response(
        clock.now,
        &key,
        &response(&req, 486, "Busy Here", Some("t")),
    )
    .unwrap();
    run_until(&mut tx, &mut clock, 10.0, &mut log);
    assert_eq!(log.send_times(), [0.0]);
    assert_eq!(
        log.sent[0].1.destination,
        addr(ALICE),
        "back over the connection"
    );
    receive(&mut tx, &clock, &ack("z9hG4bKs9", "t"), Transport::Tcp);
    drain(&mut tx, &clock, &mut log);
    assert_eq!(log.names()[1..], [(10.0, "Terminated".into())]);

    // Without the ACK, Timer H fires at 64*T1 over TCP too.
    let (mut tx, mut clock, mut log) = (server(), Clock::new(), Log::default());
    receive(&mut tx, &clock, &req, Transport::Tcp);
    drain(&mut tx, &clock, &mut log);
    let key = request_key(&log);
    tx.send_response(
        clock.now,
        &key,
        &response(&req, 486, "Busy Here", Some("t")),
    )
    .unwrap();
    run_all(&mut tx, &mut clock, &mut log);
    assert_eq!(
        log.names()[1..],
        [(32.0, "Timeout H".into()), (32.0, "Terminated".into())]
    );
}

#[test]
fn a_2xx_moves_to_accepted_until_timer_l() {
    let (mut tx, mut clock, mut log) = (server(), Clock::new(), Log::default());
    let req = invite("z9hG4bKsa");
    receive(&mut tx, &clock, &req, Transport::Udp);
    drain(&mut tx, &clock, &mut log);
    let key = request_key(&log);
    let ok = response(&req, 200, "OK", Some("t"));
    tx.send_response(clock.now, &key, &ok).unwrap();
    assert_eq!(tx.state(&key), Some(State::Accepted));
    // INVITE retransmissions are absorbed: the UAS core retransmits the 2xx
    // itself, through the transaction (RFC 6026 §8.7).
    run_until(&mut tx, &mut clock, 0.5, &mut log);
    receive(&mut tx, &clock, &req, Transport::Udp);
    tx.send_response(clock.now, &key, &ok).unwrap();
    // A non-2xx is refused in Accepted.
    let err = tx
        .send_response(
            clock.now,
            &key,
            &response(&req, 486, "Busy Here", Some("t")),
        )
        .unwrap_err();
    assert_eq!(
        err,
        Error::ResponseNotAllowed {
            status: 486,
            state: State::Accepted
        }
    );
    // The ACK for the 2xx has its own branch: it matches nothing and goes to the TU.
    run_until(&mut tx, &mut clock, 1.0, &mut log);
    receive(&mut tx, &clock, &ack("z9hG4bKother", "t"), Transport::Udp);
    // An ACK that reuses the INVITE's branch matches the Accepted transaction: passed up too.
    receive(&mut tx, &clock, &ack("z9hG4bKsa", "t"), Transport::Udp);
    run_all(&mut tx, &mut clock, &mut log);
    assert_eq!(
        log.send_times(),
        [0.0, 0.5],
        "the 2xx once, then once more from the TU"
    );
    assert_eq!(
        log.names(),
        [
            (0.0, "Request INVITE".into()),
            (1.0, "Ack".into()),
            (1.0, "Ack matched".into()),
            (32.0, "Terminated".into())
        ]
    );
}

#[test]
fn responses_follow_18_2_2_to_the_via_port_or_rport() {
    let (mut tx, clock, mut log) = (server(), Clock::new(), Log::default());
    // Sent from port 40000 with a Via saying 5070 and no rport: the Via port.
    let req = String::from_utf8(invite("z9hG4bKsb"))
        .unwrap()
        .replace("192.0.2.1:5060", "192.0.2.1:5070");
    tx.handle_datagram(
        clock.now,
        req.as_bytes(),
        addr("192.0.2.1:40000"),
        addr(BOB),
        Transport::Udp,
    );
    drain(&mut tx, &clock, &mut log);
    let key = request_key(&log);
    tx.send_response(
        clock.now,
        &key,
        &response(req.as_bytes(), 486, "Busy Here", Some("t")),
    )
    .unwrap();
    drain(&mut tx, &clock, &mut log);
    assert_eq!(log.sent[0].1.destination, addr("192.0.2.1:5070"));
    // With rport (RFC 3581): the source port.
    let (mut tx, mut log) = (server(), Log::default());
    let req = req.replace(";branch=z9hG4bKsb", ";rport;branch=z9hG4bKsc");
    tx.handle_datagram(
        clock.now,
        req.as_bytes(),
        addr("192.0.2.1:40000"),
        addr(BOB),
        Transport::Udp,
    );
    drain(&mut tx, &clock, &mut log);
    let key = request_key(&log);
    tx.send_response(
        clock.now,
        &key,
        &response(req.as_bytes(), 486, "Busy Here", Some("t")),
    )
    .unwrap();
    drain(&mut tx, &clock, &mut log);
    assert_eq!(log.sent[0].1.destination, addr("192.0.2.1:40000"));
}

#[test]
fn send_response_checks_its_input() {
    let (mut tx, clock, mut log) = (server(), Clock::new(), Log::default());
    let req = invite("z9hG4bKsd");
    receive(&mut tx, &clock, &req, Transport::Udp);
    drain(&mut tx, &clock, &mut log);
    let key = request_key(&log);
    assert_eq!(
        tx.send_response(clock.now, &key, &req),
        Err(Error::NotAResponse)
    );
    let wrong = response(&request("BYE", "z9hG4bKsd"), 200, "OK", Some("t"));
    assert!(matches!(
        tx.send_response(clock.now, &key, &wrong),
        Err(Error::MethodMismatch { .. })
    ));
    let mut client = server();
    let ckey = client
        .send_request(clock.now, &options("z9hG4bKse"), addr(BOB), Transport::Udp)
        .unwrap();
    let ok = response(&options("z9hG4bKse"), 200, "OK", Some("t"));
    assert_eq!(
        client.send_response(clock.now, &ckey, &ok),
        Err(Error::WrongRole { expected: "server" })
    );
    // A TCP response needs its Content-Length.
    receive(&mut tx, &clock, &invite("z9hG4bKsf"), Transport::Tcp);
    drain(&mut tx, &clock, &mut log);
    let tcp_key = log.events.iter().rev().find_map(|(_, e)| match e {
        Event::Request { key, .. } => Some(key.clone()),
        _ => None,
    });
    let no_cl = String::from_utf8(response(&invite("z9hG4bKsf"), 486, "Busy", Some("t")))
        .unwrap()
        .replace("Content-Length: 0\r\n", "");
    assert!(matches!(
        tx.send_response(clock.now, &tcp_key.unwrap(), no_cl.as_bytes()),
        Err(Error::Parse(_))
    ));
    assert_eq!(
        parse(&req).unwrap().header(HeaderName::CSeq).unwrap().value,
        "1 INVITE"
    );
}

#[test]
fn transport_error_terminates_17_2_4() {
    let (mut tx, clock, mut log) = (server(), Clock::new(), Log::default());
    let req = invite("z9hG4bKsg");
    receive(&mut tx, &clock, &req, Transport::Udp);
    drain(&mut tx, &clock, &mut log);
    let key = request_key(&log);
    tx.send_response(
        clock.now,
        &key,
        &response(&req, 486, "Busy Here", Some("t")),
    )
    .unwrap();
    let sent = tx.poll_transmit().unwrap();
    tx.handle_transport_error(clock.now, sent.key.as_ref().unwrap())
        .unwrap();
    drain(&mut tx, &clock, &mut log);
    assert_eq!(
        log.names()[1..],
        [(0.0, "TransportError".into()), (0.0, "Terminated".into())]
    );
    assert!(tx.is_empty() && tx.poll_timeout().is_none());
}
