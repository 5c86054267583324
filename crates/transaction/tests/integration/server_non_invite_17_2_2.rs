//! Non-INVITE server transactions: RFC 3261 §17.2.2.

use sipkit_transaction::{Config, Error, State, Transactions, Transport};

use crate::harness::*;

fn server() -> Transactions {
    Transactions::new(Config::default())
}

fn receive(tx: &mut Transactions, clock: &Clock, bytes: &[u8], transport: Transport) {
    tx.handle_datagram(clock.now, bytes, addr(ALICE), addr(BOB), transport);
}

#[test]
fn trying_absorbs_retransmissions_silently() {
    let (mut tx, mut clock, mut log) = (server(), Clock::new(), Log::default());
    let req = options("z9hG4bKt1");
    receive(&mut tx, &clock, &req, Transport::Udp);
    drain(&mut tx, &clock, &mut log);
    let key = request_key(&log);
    assert_eq!(
        (key.method(), tx.state(&key)),
        ("OPTIONS", Some(State::Trying))
    );
    for at in [0.5, 1.5, 3.5] {
        run_until(&mut tx, &mut clock, at, &mut log);
        receive(&mut tx, &clock, &req, Transport::Udp);
    }
    drain(&mut tx, &clock, &mut log);
    assert_eq!(log.events.len(), 1);
    assert!(log.sent.is_empty());
    assert_eq!(tx.poll_timeout(), None, "no automatic 100 for non-INVITE");
}

#[test]
fn proceeding_resends_the_latest_provisional() {
    let (mut tx, mut clock, mut log) = (server(), Clock::new(), Log::default());
    let req = request("REGISTER", "z9hG4bKt2");
    receive(&mut tx, &clock, &req, Transport::Udp);
    drain(&mut tx, &clock, &mut log);
    let key = request_key(&log);
    tx.send_response(clock.now, &key, &response(&req, 100, "Trying", None))
        .unwrap();
    assert_eq!(tx.state(&key), Some(State::Proceeding));
    run_until(&mut tx, &mut clock, 0.5, &mut log);
    receive(&mut tx, &clock, &req, Transport::Udp);
    drain(&mut tx, &clock, &mut log);
    assert_eq!(log.send_times(), [0.0, 0.5]);
    assert_eq!(log.sent[0].1.bytes, log.sent[1].1.bytes);
    // Another provisional, then the final response: Proceeding -> Completed.
    tx.send_response(clock.now, &key, &response(&req, 183, "Progress", Some("t")))
        .unwrap();
    assert_eq!(tx.state(&key), Some(State::Proceeding));
    tx.send_response(clock.now, &key, &response(&req, 200, "OK", Some("t")))
        .unwrap();
    assert_eq!(tx.state(&key), Some(State::Completed));
    run_until(&mut tx, &mut clock, 1.0, &mut log);
    receive(&mut tx, &clock, &req, Transport::Udp);
    drain(&mut tx, &clock, &mut log);
    let lines: Vec<_> = log
        .sent
        .iter()
        .map(|(t, m)| (*t, first_line(&m.bytes)))
        .collect();
    assert_eq!(
        lines[2..],
        [
            (0.5, "SIP/2.0 183 Progress".into()),
            (0.5, "SIP/2.0 200 OK".into()),
            (1.0, "SIP/2.0 200 OK".into())
        ]
    );
}

#[test]
fn transport_error_terminates_17_2_4() {
    let (mut tx, clock, mut log) = (server(), Clock::new(), Log::default());
    let req = options("z9hG4bKt6");
    receive(&mut tx, &clock, &req, Transport::Udp);
    drain(&mut tx, &clock, &mut log);
    let key = request_key(&log);
    tx.send_response(clock.now, &key, &response(&req, 200, "OK", Some("t")))
        .unwrap();
    tx.handle_transport_error(clock.now, &key).unwrap();
    drain(&mut tx, &clock, &mut log);
    assert_eq!(
        log.names()[1..],
        [(0.0, "TransportError".into()), (0.0, "Terminated".into())]
    );
    assert!(tx.is_empty() && tx.poll_timeout().is_none());
}

#[test]
fn completed_resends_the_final_and_timer_j_ends_it() {
    let (mut tx, mut clock, mut log) = (server(), Clock::new(), Log::default());
    let req = options("z9hG4bKt3");
    receive(&mut tx, &clock, &req, Transport::Udp);
    drain(&mut tx, &clock, &mut log);
    let key = request_key(&log);
    run_until(&mut tx, &mut clock, 0.1, &mut log);
    tx.send_response(clock.now, &key, &response(&req, 200, "OK", Some("t")))
        .unwrap();
    assert_eq!(tx.state(&key), Some(State::Completed));
    for at in [0.5, 1.5, 3.5, 7.5] {
        run_until(&mut tx, &mut clock, at, &mut log);
        receive(&mut tx, &clock, &req, Transport::Udp);
    }
    // Further final responses are discarded.
    let err = tx
        .send_response(clock.now, &key, &response(&req, 500, "Oops", Some("t")))
        .unwrap_err();
    assert_eq!(
        err,
        Error::ResponseNotAllowed {
            status: 500,
            state: State::Completed
        }
    );
    run_all(&mut tx, &mut clock, &mut log);
    assert_eq!(
        log.send_times(),
        [0.1, 0.5, 1.5, 3.5, 7.5],
        "the server never retransmits on its own"
    );
    // Timer J = 64*T1 after the final response.
    assert_eq!(
        log.names(),
        [(0.0, "Request OPTIONS".into()), (32.1, "Terminated".into())]
    );
}

#[test]
fn timer_j_is_zero_over_tcp() {
    let (mut tx, clock, mut log) = (server(), Clock::new(), Log::default());
    let req = options("z9hG4bKt4");
    receive(&mut tx, &clock, &req, Transport::Tcp);
    drain(&mut tx, &clock, &mut log);
    let key = request_key(&log);
    tx.send_response(clock.now, &key, &response(&req, 200, "OK", Some("t")))
        .unwrap();
    drain(&mut tx, &clock, &mut log);
    assert_eq!(log.names()[1..], [(0.0, "Terminated".into())]);
    assert_eq!(log.send_times(), [0.0]);
    assert!(tx.is_empty());
}

#[test]
fn unknown_key_is_refused() {
    let (mut tx, clock, mut log) = (server(), Clock::new(), Log::default());
    let req = options("z9hG4bKt5");
    receive(&mut tx, &clock, &req, Transport::Tcp);
    drain(&mut tx, &clock, &mut log);
    let key = request_key(&log);
    tx.send_response(clock.now, &key, &response(&req, 200, "OK", Some("t")))
        .unwrap();
    assert_eq!(
        tx.send_response(clock.now, &key, &response(&req, 200, "OK", Some("t"))),
        Err(Error::UnknownTransaction)
    );
}
