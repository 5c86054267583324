//! Non-INVITE client transactions: RFC 3261 §17.1.2.

use sipkit_transaction::{Config, State, Transactions, Transport};

use crate::harness::*;

fn client() -> Transactions {
    Transactions::new(Config::default())
}

#[test]
fn unanswered_over_udp_timer_e_doubles_to_t2_then_timer_f() {
    let (mut tx, mut clock, mut log) = (client(), Clock::new(), Log::default());
    let key = tx
        .send_request(clock.now, &options("z9hG4bKn1"), addr(BOB), Transport::Udp)
        .unwrap();
    assert_eq!(tx.state(&key), Some(State::Trying));
    run_all(&mut tx, &mut clock, &mut log);
    assert_eq!(
        log.send_times(),
        [0.0, 0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5]
    );
    assert_eq!(
        log.names(),
        [(32.0, "Timeout F".into()), (32.0, "Terminated".into())]
    );
    assert!(tx.is_empty());
}

#[test]
fn unanswered_over_tcp_is_sent_once() {
    let (mut tx, mut clock, mut log) = (client(), Clock::new(), Log::default());
    tx.send_request(clock.now, &options("z9hG4bKn2"), addr(BOB), Transport::Tcp)
        .unwrap();
    run_all(&mut tx, &mut clock, &mut log);
    assert_eq!(log.send_times(), [0.0]);
    assert_eq!(
        log.names(),
        [(32.0, "Timeout F".into()), (32.0, "Terminated".into())]
    );
}

#[test]
fn in_proceeding_timer_e_fires_every_t2() {
    let (mut tx, mut clock, mut log) = (client(), Clock::new(), Log::default());
    let req = request("REGISTER", "z9hG4bKn3");
    let key = tx
        .send_request(clock.now, &req, addr(BOB), Transport::Udp)
        .unwrap();
    run_until(&mut tx, &mut clock, 0.2, &mut log);
    tx.handle_datagram(
        clock.now,
        &response(&req, 100, "Trying", None),
        addr(BOB),
        addr(ALICE),
        Transport::Udp,
    );
    assert_eq!(tx.state(&key), Some(State::Proceeding));
    run_all(&mut tx, &mut clock, &mut log);
    // Timer E armed in Trying fires at 0.5; from then on every T2.
    assert_eq!(
        log.send_times(),
        [0.0, 0.5, 4.5, 8.5, 12.5, 16.5, 20.5, 24.5, 28.5]
    );
    assert_eq!(
        log.names(),
        [
            (0.2, "Response 100".into()),
            (32.0, "Timeout F".into()),
            (32.0, "Terminated".into())
        ]
    );
}

#[test]
fn t2_caps_the_interval_with_other_timer_values() {
    let config = Config {
        t1: std::time::Duration::from_millis(200),
        t2: std::time::Duration::from_millis(1000),
        ..Config::default()
    };
    let (mut tx, mut clock, mut log) = (Transactions::new(config), Clock::new(), Log::default());
    tx.send_request(clock.now, &options("z9hG4bKn4"), addr(BOB), Transport::Udp)
        .unwrap();
    run_until(&mut tx, &mut clock, 5.0, &mut log);
    assert_eq!(log.send_times(), [0.0, 0.2, 0.6, 1.4, 2.4, 3.4, 4.4]);
    run_all(&mut tx, &mut clock, &mut log);
    assert_eq!(log.names()[0], (12.8, "Timeout F".into()));
}

#[test]
fn final_response_completes_and_timer_k_absorbs_retransmissions() {
    let (mut tx, mut clock, mut log) = (client(), Clock::new(), Log::default());
    let req = options("z9hG4bKn5");
    let key = tx
        .send_request(clock.now, &req, addr(BOB), Transport::Udp)
        .unwrap();
    run_until(&mut tx, &mut clock, 0.7, &mut log);
    let ok = response(&req, 200, "OK", Some("b1"));
    tx.handle_datagram(clock.now, &ok, addr(BOB), addr(ALICE), Transport::Udp);
    assert_eq!(tx.state(&key), Some(State::Completed));
    run_until(&mut tx, &mut clock, 2.0, &mut log);
    tx.handle_datagram(clock.now, &ok, addr(BOB), addr(ALICE), Transport::Udp);
    tx.handle_datagram(
        clock.now,
        &response(&req, 100, "Trying", None),
        addr(BOB),
        addr(ALICE),
        Transport::Udp,
    );
    run_all(&mut tx, &mut clock, &mut log);
    assert_eq!(
        log.send_times(),
        [0.0, 0.5],
        "retransmissions stop at the final response"
    );
    // The retransmitted 200 is absorbed; Timer K = T4 = 5 s after the 200.
    assert_eq!(
        log.names(),
        [(0.7, "Response 200".into()), (5.7, "Terminated".into())]
    );
}

#[test]
fn timer_k_is_zero_over_tcp() {
    let (mut tx, clock, mut log) = (client(), Clock::new(), Log::default());
    let req = options("z9hG4bKn6");
    tx.send_request(clock.now, &req, addr(BOB), Transport::Tcp)
        .unwrap();
    tx.handle_datagram(
        clock.now,
        &response(&req, 404, "Not Found", Some("b1")),
        addr(BOB),
        addr(ALICE),
        Transport::Tcp,
    );
    drain(&mut tx, &clock, &mut log);
    assert_eq!(
        log.names(),
        [(0.0, "Response 404".into()), (0.0, "Terminated".into())]
    );
}

#[test]
fn provisional_then_final_from_proceeding() {
    let (mut tx, mut clock, mut log) = (client(), Clock::new(), Log::default());
    let req = request("SUBSCRIBE", "z9hG4bKn7");
    let key = tx
        .send_request(clock.now, &req, addr(BOB), Transport::Udp)
        .unwrap();
    tx.handle_datagram(
        clock.now,
        &response(&req, 180, "Ringing", None),
        addr(BOB),
        addr(ALICE),
        Transport::Udp,
    );
    run_until(&mut tx, &mut clock, 6.0, &mut log);
    tx.handle_datagram(
        clock.now,
        &response(&req, 202, "Accepted", Some("b")),
        addr(BOB),
        addr(ALICE),
        Transport::Udp,
    );
    assert_eq!(tx.state(&key), Some(State::Completed));
    run_all(&mut tx, &mut clock, &mut log);
    assert_eq!(log.send_times(), [0.0, 0.5, 4.5]);
    assert_eq!(
        log.names(),
        [
            (0.0, "Response 180".into()),
            (6.0, "Response 202".into()),
            (11.0, "Terminated".into())
        ]
    );
}

#[test]
fn transport_error_terminates() {
    let (mut tx, clock, mut log) = (client(), Clock::new(), Log::default());
    let key = tx
        .send_request(clock.now, &options("z9hG4bKn8"), addr(BOB), Transport::Udp)
        .unwrap();
    tx.handle_transport_error(clock.now, &key).unwrap();
    drain(&mut tx, &clock, &mut log);
    assert_eq!(
        log.names(),
        [(0.0, "TransportError".into()), (0.0, "Terminated".into())]
    );
    assert_eq!(tx.poll_timeout(), None, "its timers are gone");
}
