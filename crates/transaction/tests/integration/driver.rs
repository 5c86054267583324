//! The driver loop over two endpoints, as the crate docs write it, and the
//! scheduling machinery: one deadline for many transactions, stale timers.

use sipkit_transaction::{Config, Event, Timer, Transactions, Transport};

use crate::harness::*;

#[test]
fn many_transactions_share_one_heap_and_fire_in_order() {
    let (mut tx, mut clock, mut log) = (
        Transactions::new(Config::default()),
        Clock::new(),
        Log::default(),
    );
    // 1000 OPTIONS over UDP, 1 ms apart; half are answered at once.
    let mut keys = Vec::new();
    for i in 0..1000u32 {
        run_until(&mut tx, &mut clock, f64::from(i) / 1000.0, &mut log);
        let req = options(&format!("z9hG4bKmany{i}"));
        let key = tx
            .send_request(clock.now, &req, addr(BOB), Transport::Udp)
            .unwrap();
        if i % 2 == 0 {
            tx.handle_datagram(
                clock.now,
                &response(&req, 200, "OK", Some("t")),
                addr(BOB),
                addr(ALICE),
                Transport::Udp,
            );
        }
        keys.push(key);
    }
    assert_eq!(tx.len(), 1000);
    let (at, timer, key) = tx.next_timer().unwrap();
    assert_eq!(
        (clock.secs(at), timer, &key),
        (1.001, Timer::E, &keys[501]),
        "first retransmission of the first unanswered sent after 0.5 s"
    );
    run_all(&mut tx, &mut clock, &mut log);
    assert!(tx.is_empty());
    let timeouts = log.names().iter().filter(|(_, n)| n == "Timeout F").count();
    assert_eq!(timeouts, 500);
    // Each unanswered one was sent 11 times, each answered one once.
    assert_eq!(log.sent.len(), 500 + 500 * 11);
    assert!(
        log.sent.windows(2).all(|w| w[0].0 <= w[1].0),
        "outputs come in time order"
    );
}

#[test]
fn idle_layer_has_no_deadline() {
    let mut tx = Transactions::new(Config::default());
    assert_eq!(tx.poll_timeout(), None);
    assert!(tx.poll_transmit().is_none() && tx.poll_event().is_none());
    tx.handle_timeout(Clock::new().now);
}

#[test]
fn send_stateless_is_queued_without_a_transaction() {
    let mut tx = Transactions::new(Config::default());
    tx.send_stateless(&ack("z9hG4bKnew", "t"), addr(BOB), Transport::Udp);
    let t = tx.poll_transmit().unwrap();
    assert!(t.key.is_none() && first_line(&t.bytes).starts_with("ACK"));
    assert!(tx.is_empty());
}

#[test]
fn a_whole_call_setup_failure_between_two_endpoints() {
    // INVITE → 100 (automatic, after 200 ms of TU silence) → 486 → ACK, over UDP.
    let mut alice = Transactions::new(Config::default());
    let mut bob = Transactions::new(Config {
        seed: 7,
        ..Config::default()
    });
    let mut clock = Clock::new();
    let (mut alog, mut blog) = (Log::default(), Log::default());
    let req = invite(&alice.new_branch());
    let key = alice
        .send_request(clock.now, &req, addr(BOB), Transport::Udp)
        .unwrap();
    let mut bob_key = None;
    for _ in 0..100 {
        // Drain every output of both sides until nothing moves.
        loop {
            let mut idle = true;
            while let Some(t) = alice.poll_transmit() {
                bob.handle_datagram(clock.now, &t.bytes, addr(ALICE), addr(BOB), t.transport);
                alog.sent.push((clock.elapsed(), t));
                idle = false;
            }
            while let Some(t) = bob.poll_transmit() {
                alice.handle_datagram(clock.now, &t.bytes, addr(BOB), addr(ALICE), t.transport);
                blog.sent.push((clock.elapsed(), t));
                idle = false;
            }
            while let Some(e) = bob.poll_event() {
                if let Event::Request { key, .. } = &e {
                    bob_key = Some(key.clone());
                }
                blog.events.push((clock.elapsed(), e));
                idle = false;
            }
            while let Some(e) = alice.poll_event() {
                alog.events.push((clock.elapsed(), e));
                idle = false;
            }
            if idle {
                break;
            }
        }
        // Bob's TU answers 486 at 0.3 s.
        if clock.elapsed() >= 0.3 {
            if let Some(k) = bob_key.take() {
                bob.send_response(clock.now, &k, &response(&req, 486, "Busy Here", Some("b")))
                    .unwrap();
                continue;
            }
        }
        let tu_deadline = bob_key.is_some().then(|| clock.at(0.3));
        let Some(at) = [alice.poll_timeout(), bob.poll_timeout(), tu_deadline]
            .into_iter()
            .flatten()
            .min()
        else {
            break;
        };
        clock.now = at;
        alice.handle_timeout(clock.now);
        bob.handle_timeout(clock.now);
    }
    let lines = |log: &Log| {
        log.sent
            .iter()
            .map(|(t, m)| (*t, first_line(&m.bytes)))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        lines(&alog),
        [
            (0.0, "INVITE sip:bob@192.0.2.2 SIP/2.0".into()),
            (0.3, "ACK sip:bob@192.0.2.2 SIP/2.0".into())
        ]
    );
    assert_eq!(
        lines(&blog),
        [
            (0.2, "SIP/2.0 100 Trying".into()),
            (0.3, "SIP/2.0 486 Busy Here".into())
        ]
    );
    assert_eq!(
        alog.names(),
        [
            (0.2, "Response 100".into()),
            (0.3, "Response 486".into()),
            (32.3, "Terminated".into())
        ]
    );
    assert_eq!(
        blog.names(),
        [(0.0, "Request INVITE".into()), (5.3, "Terminated".into())]
    );
    assert!(alice.is_empty() && bob.is_empty());
    assert!(alog.events.iter().all(|(_, e)| match e {
        Event::Response { key: k, .. } | Event::Terminated { key: k } => *k == key,
        _ => false,
    }));
}
