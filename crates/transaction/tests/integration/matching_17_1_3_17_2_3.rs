//! Matching messages to transactions: RFC 3261 §17.1.3 (responses to
//! client transactions), §17.2.3 (requests to server transactions, with the
//! RFC 2543 fallback), §9.2 (CANCEL), RFC 4475 §3.2.1 (badbranch).

use sipkit_transaction::{Config, Event, State, TransactionKey, Transactions, Transport};

use crate::harness::*;

fn endpoint() -> Transactions {
    Transactions::new(Config {
        auto_trying: None,
        ..Config::default()
    })
}

fn testdata(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../../testdata/rfc4475/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn receive(tx: &mut Transactions, clock: &Clock, bytes: &[u8]) {
    tx.handle_datagram(clock.now, bytes, addr(ALICE), addr(BOB), Transport::Udp);
}

fn replace(b: &[u8], from: &str, to: &str) -> Vec<u8> {
    let s = text(b);
    assert!(s.contains(from), "{from:?} not in {s}");
    s.replacen(from, to, 1).into_bytes()
}

fn request_keys(log: &Log) -> Vec<TransactionKey> {
    log.events
        .iter()
        .filter_map(|(_, e)| match e {
            Event::Request { key, .. } => Some(key.clone()),
            _ => None,
        })
        .collect()
}

// ------------------------------------------------------------ §17.1.3

#[test]
fn responses_match_by_top_via_branch_and_cseq_method() {
    let (mut tx, clock, mut log) = (endpoint(), Clock::new(), Log::default());
    let req = invite("z9hG4bKm1");
    let key = tx
        .send_request(clock.now, &req, addr(BOB), Transport::Udp)
        .unwrap();
    let ringing = response(&req, 180, "Ringing", Some("b"));
    // Same branch, CSeq method CANCEL: a response to a CANCEL, not to this INVITE.
    tx.handle_datagram(
        clock.now,
        &replace(&ringing, "CSeq: 1 INVITE", "CSeq: 1 CANCEL"),
        addr(BOB),
        addr(ALICE),
        Transport::Udp,
    );
    // Another branch.
    tx.handle_datagram(
        clock.now,
        &replace(&ringing, "z9hG4bKm1", "z9hG4bKm2"),
        addr(BOB),
        addr(ALICE),
        Transport::Udp,
    );
    // Branch values are case-insensitive (RFC 3261 §7.3.1).
    tx.handle_datagram(
        clock.now,
        &replace(&ringing, "z9hG4bKm1", "Z9HG4BKM1"),
        addr(BOB),
        addr(ALICE),
        Transport::Udp,
    );
    drain(&mut tx, &clock, &mut log);
    assert_eq!(
        log.names(),
        [
            (0.0, "StrayResponse 180".into()),
            (0.0, "StrayResponse 180".into()),
            (0.0, "Response 180".into())
        ]
    );
    assert_eq!(tx.state(&key), Some(State::Proceeding));
    // A response without a branch matches nothing.
    let no_branch = replace(&ringing, ";branch=z9hG4bKm1", "");
    tx.handle_datagram(
        clock.now,
        &no_branch,
        addr(BOB),
        addr(ALICE),
        Transport::Udp,
    );
    assert!(matches!(tx.poll_event(), Some(Event::StrayResponse { .. })));
}

// ------------------------------------------------------------ §17.2.3

#[test]
fn requests_match_by_branch_sent_by_and_method() {
    let (mut tx, clock, mut log) = (endpoint(), Clock::new(), Log::default());
    let req = invite("z9hG4bKm3");
    receive(&mut tx, &clock, &req);
    receive(&mut tx, &clock, &req); // retransmission: absorbed
                                    // Same branch from another sent-by: another transaction.
    receive(
        &mut tx,
        &clock,
        &replace(&req, "192.0.2.1:5060", "192.0.2.9:5060"),
    );
    // Same branch, another port: another transaction.
    receive(
        &mut tx,
        &clock,
        &replace(&req, "192.0.2.1:5060", "192.0.2.1:5062"),
    );
    // Same branch and sent-by, another method: another transaction.
    receive(&mut tx, &clock, &request("OPTIONS", "z9hG4bKm3"));
    drain(&mut tx, &clock, &mut log);
    let keys = request_keys(&log);
    assert_eq!(keys.len(), 4, "{:?}", log.names());
    assert_eq!(
        keys[0].to_string(),
        "server INVITE z9hg4bkm3 192.0.2.1:5060"
    );
    assert_eq!(
        keys[1].to_string(),
        "server INVITE z9hg4bkm3 192.0.2.9:5060"
    );
    assert_eq!(keys[3].method(), "OPTIONS");
    assert_eq!(tx.len(), 4);
}

#[test]
fn sent_by_host_compares_case_insensitively() {
    let (mut tx, clock, mut log) = (endpoint(), Clock::new(), Log::default());
    let req = replace(
        &invite("z9hG4bKm4"),
        "192.0.2.1:5060",
        "PC33.Atlanta.example.com",
    );
    receive(&mut tx, &clock, &req);
    receive(
        &mut tx,
        &clock,
        &replace(&req, "PC33.Atlanta", "pc33.atlanta"),
    );
    drain(&mut tx, &clock, &mut log);
    assert_eq!(request_keys(&log).len(), 1);
}

#[test]
fn ack_matches_the_invite_transaction_only_with_the_same_branch_and_sent_by() {
    let (mut tx, clock, mut log) = (endpoint(), Clock::new(), Log::default());
    let req = invite("z9hG4bKm5");
    receive(&mut tx, &clock, &req);
    drain(&mut tx, &clock, &mut log);
    let key = request_key(&log);
    tx.send_response(
        clock.now,
        &key,
        &response(&req, 486, "Busy Here", Some("t")),
    )
    .unwrap();
    // Another sent-by: no match, passed up.
    receive(
        &mut tx,
        &clock,
        &replace(&ack("z9hG4bKm5", "t"), "192.0.2.1:5060", "192.0.2.9:5060"),
    );
    assert_eq!(tx.state(&key), Some(State::Completed));
    receive(&mut tx, &clock, &ack("z9hG4bKm5", "t"));
    assert_eq!(tx.state(&key), Some(State::Confirmed));
    drain(&mut tx, &clock, &mut log);
    assert_eq!(log.names()[1..], [(0.0, "Ack".into())]);
    assert_eq!(
        TransactionKey::of_message(&ack("z9hG4bKm5", "t")).unwrap(),
        key,
        "an ACK's key is its INVITE's"
    );
}

#[test]
fn cancel_is_a_separate_transaction_that_finds_its_invite_9_2() {
    let (mut tx, clock, mut log) = (endpoint(), Clock::new(), Log::default());
    let inv = invite("z9hG4bKm6");
    receive(&mut tx, &clock, &inv);
    let cancel = request("CANCEL", "z9hG4bKm6");
    receive(&mut tx, &clock, &cancel);
    receive(&mut tx, &clock, &cancel); // retransmission: absorbed
    receive(&mut tx, &clock, &request("CANCEL", "z9hG4bKm7")); // no such INVITE
    drain(&mut tx, &clock, &mut log);
    let cancels: Vec<_> = log
        .events
        .iter()
        .filter_map(|(_, e)| match e {
            Event::Request { key, cancels, .. } => Some((key.method().to_owned(), cancels.clone())),
            _ => None,
        })
        .collect();
    let invite_key = request_keys(&log)[0].clone();
    assert_eq!(
        cancels,
        [
            ("INVITE".to_owned(), None),
            ("CANCEL".to_owned(), Some(invite_key.clone())),
            ("CANCEL".to_owned(), None)
        ]
    );
    let cancel_key = request_keys(&log)[1].clone();
    assert_eq!(cancel_key.branch(), invite_key.branch());
    // The TU answers both: 200 to the CANCEL, 487 to the INVITE.
    tx.send_response(
        clock.now,
        &cancel_key,
        &response(&cancel, 200, "OK", Some("t")),
    )
    .unwrap();
    tx.send_response(
        clock.now,
        &invite_key,
        &response(&inv, 487, "Request Terminated", Some("t")),
    )
    .unwrap();
    assert_eq!(tx.state(&cancel_key), Some(State::Completed));
    assert_eq!(tx.state(&invite_key), Some(State::Completed));
}

// ------------------------------------------------- RFC 2543 fallback

const INV_RESPONSE_TAG: &str = "r2543";

#[test]
fn rfc2543_invite_retransmission_and_ack_match_without_a_branch() {
    let (mut tx, mut clock, mut log) = (endpoint(), Clock::new(), Log::default());
    let inv = testdata("inv2543.dat");
    receive(&mut tx, &clock, &inv);
    drain(&mut tx, &clock, &mut log);
    let key = request_key(&log);
    assert!(key.is_rfc2543() && key.branch().is_none());
    run_until(&mut tx, &mut clock, 0.5, &mut log);
    receive(&mut tx, &clock, &inv);
    drain(&mut tx, &clock, &mut log);
    assert_eq!(log.events.len(), 1, "the retransmission is absorbed");
    tx.send_response(
        clock.now,
        &key,
        &response(&inv, 486, "Busy Here", Some(INV_RESPONSE_TAG)),
    )
    .unwrap();
    // ACK: Request-URI, From tag, Call-ID, CSeq number and top Via of the
    // INVITE, To tag of the response.
    let ack = |to_tag: &str| {
        format!(
            "ACK sip:UserB@example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP iftgw.example.com\r\n\
From: <sip:+13035551111@ift.client.example.net;user=phone>\r\n\
To: sip:+16505552222@ss1.example.net;user=phone;tag={to_tag}\r\n\
Call-ID: inv2543.1717@ift.client.example.com\r\n\
CSeq: 56 ACK\r\n\r\n"
        )
        .into_bytes()
    };
    receive(&mut tx, &clock, &ack("other"));
    assert_eq!(
        tx.state(&key),
        Some(State::Completed),
        "another To tag does not match"
    );
    receive(&mut tx, &clock, &ack(INV_RESPONSE_TAG));
    assert_eq!(tx.state(&key), Some(State::Confirmed));
    drain(&mut tx, &clock, &mut log);
    assert_eq!(log.names()[1..], [(0.5, "Ack".into())]);
    // Another CSeq is another transaction.
    receive(
        &mut tx,
        &clock,
        &replace(&inv, "CSeq: 56 INVITE", "CSeq: 57 INVITE"),
    );
    drain(&mut tx, &clock, &mut log);
    assert_eq!(request_keys(&log).len(), 2);
}

#[test]
fn rfc2543_reinvite_with_to_tag_and_its_ack() {
    let (mut tx, clock, mut log) = (endpoint(), Clock::new(), Log::default());
    let no_branch = |b: Vec<u8>| replace(&b, ";branch=z9hG4bKx", "");
    let inv = no_branch(replace(
        &invite("z9hG4bKx"),
        "To: Bob <sip:bob@example.com>",
        "To: Bob <sip:bob@example.com>;tag=d1",
    ));
    receive(&mut tx, &clock, &inv);
    drain(&mut tx, &clock, &mut log);
    let key = request_key(&log);
    assert!(key.is_rfc2543());
    tx.send_response(
        clock.now,
        &key,
        &response(&inv, 488, "Not Acceptable Here", None),
    )
    .unwrap();
    receive(&mut tx, &clock, &no_branch(ack("z9hG4bKx", "d1")));
    assert_eq!(tx.state(&key), Some(State::Confirmed));
}

#[test]
fn rfc2543_non_invite_matches_on_all_fields() {
    let (mut tx, clock, mut log) = (endpoint(), Clock::new(), Log::default());
    let opt = replace(&options("z9hG4bKx"), ";branch=z9hG4bKx", "");
    receive(&mut tx, &clock, &opt);
    receive(&mut tx, &clock, &opt);
    receive(
        &mut tx,
        &clock,
        &replace(&opt, "CSeq: 1 OPTIONS", "CSeq: 2 OPTIONS"),
    );
    receive(&mut tx, &clock, &replace(&opt, "tag=a1", "tag=a2"));
    receive(
        &mut tx,
        &clock,
        &replace(&opt, "Call-ID: call1", "Call-ID: call2"),
    );
    receive(
        &mut tx,
        &clock,
        &replace(
            &opt,
            "sip:bob@192.0.2.2 SIP/2.0",
            "sip:carol@192.0.2.2 SIP/2.0",
        ),
    );
    receive(
        &mut tx,
        &clock,
        &replace(
            &opt,
            "To: Bob <sip:bob@example.com>",
            "To: Bob <sip:bob@example.com>;tag=x",
        ),
    );
    receive(
        &mut tx,
        &clock,
        &replace(&opt, "192.0.2.1:5060", "192.0.2.1:5061"),
    );
    drain(&mut tx, &clock, &mut log);
    assert_eq!(
        request_keys(&log).len(),
        7,
        "one retransmission absorbed, six distinct transactions"
    );
}

#[test]
fn badbranch_4475_3_2_1_falls_back_and_does_not_conflate() {
    let (mut tx, clock, mut log) = (endpoint(), Clock::new(), Log::default());
    let bad = testdata("badbranch.dat");
    receive(&mut tx, &clock, &bad);
    receive(&mut tx, &clock, &bad);
    // Another request with the same bare-cookie branch and sent-by, another Call-ID.
    let other = replace(
        &bad,
        "Call-ID: badbranch.sadonfo23i420jv0as0derf3j3n",
        "Call-ID: badbranch.other",
    );
    receive(&mut tx, &clock, &other);
    drain(&mut tx, &clock, &mut log);
    let keys = request_keys(&log);
    assert_eq!(keys.len(), 2, "{:?}", log.names());
    assert!(keys.iter().all(TransactionKey::is_rfc2543));
    // It is answered like any request, and its retransmission gets the answer again.
    tx.send_response(clock.now, &keys[0], &response(&bad, 200, "OK", Some("t")))
        .unwrap();
    receive(&mut tx, &clock, &bad);
    drain(&mut tx, &clock, &mut log);
    assert_eq!(log.send_times(), [0.0, 0.0]);
    // A response carrying the bare cookie still matches the client transaction that sent it.
    let mut client = endpoint();
    let ckey = client
        .send_request(clock.now, &bad, addr(BOB), Transport::Udp)
        .unwrap();
    client.handle_datagram(
        clock.now,
        &response(&bad, 200, "OK", Some("t")),
        addr(BOB),
        addr(ALICE),
        Transport::Udp,
    );
    assert!(client
        .poll_event()
        .is_some_and(|e| matches!(e, Event::Response { key, .. } if key == ckey)));
}

#[test]
fn of_message_agrees_with_the_manager() {
    let (mut tx, clock, mut log) = (endpoint(), Clock::new(), Log::default());
    let req = invite("z9hG4bKm8");
    let ckey = tx
        .send_request(clock.now, &req, addr(BOB), Transport::Udp)
        .unwrap();
    assert_eq!(
        TransactionKey::of_message(&response(&req, 100, "Trying", None)).unwrap(),
        ckey
    );
    let mut server = endpoint();
    receive(&mut server, &clock, &req);
    drain(&mut server, &clock, &mut log);
    assert_eq!(TransactionKey::of_message(&req).unwrap(), request_key(&log));
    assert_eq!(ckey.to_string(), "client INVITE z9hg4bkm8");
    assert_ne!(ckey, request_key(&log), "client and server keys differ");
    // Keying a message already parsed gives the same keys.
    let parsed = sipkit_message::parse(&req).unwrap();
    assert_eq!(
        TransactionKey::of_parsed(&parsed).unwrap(),
        request_key(&log)
    );
    let resp = response(&req, 100, "Trying", None);
    let parsed = sipkit_message::parse(&resp).unwrap();
    assert_eq!(TransactionKey::of_parsed(&parsed).unwrap(), ckey);
}
