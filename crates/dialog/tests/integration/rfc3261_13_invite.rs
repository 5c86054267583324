//! RFC 3261 §13: the UAS retransmits its 2xx until the ACK (§13.3.1.4), the
//! UAC answers every 2xx retransmission with the same ACK (§13.2.2.4), and
//! retried INVITEs keep Call-ID, From tag and To with a higher CSeq (§8.1.3.4).

use std::time::Duration;

use sipkit_dialog::{AckFor2xx, CallSetup, Dialog, Timers, TwoXxAction, TwoXxRetransmit};

use crate::util::*;

/// Runs the retransmitter on a clock that jumps to each deadline, and
/// returns (milliseconds since start, action) for each action, stopping
/// the ACK at `ack_at` if given.
fn drive(reliable: bool, ack_at: Option<Duration>) -> Vec<(u128, TwoXxAction)> {
    let start = epoch();
    let mut r = TwoXxRetransmit::new(start, Timers::default(), reliable);
    let mut out = Vec::new();
    while let Some(at) = r.poll_timeout() {
        if let Some(a) = ack_at {
            if at - start >= a {
                r.on_ack();
                continue;
            }
        }
        if let Some(action) = r.handle_timeout(at) {
            out.push(((at - start).as_millis(), action));
        }
    }
    out
}

#[test]
fn s13_3_1_4_2xx_retransmitted_t1_doubling_to_t2_then_give_up_at_64_t1() {
    let got = drive(false, None);
    let retransmits: Vec<u128> = got
        .iter()
        .filter(|(_, a)| *a == TwoXxAction::Retransmit)
        .map(|(t, _)| *t)
        .collect();
    assert_eq!(
        retransmits,
        [500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500],
        "T1, doubling to T2 = 4 s"
    );
    assert_eq!(
        got.last(),
        Some(&(32000, TwoXxAction::GiveUp)),
        "64·T1 without ACK ends it"
    );
}

#[test]
fn s13_3_1_4_ack_stops_retransmission() {
    let got = drive(false, Some(Duration::from_millis(2000)));
    assert_eq!(
        got,
        [
            (500, TwoXxAction::Retransmit),
            (1500, TwoXxAction::Retransmit)
        ]
    );
    let start = epoch();
    let mut r = TwoXxRetransmit::new(start, Timers::default(), false);
    r.on_ack();
    assert!(r.is_acked());
    assert_eq!(r.poll_timeout(), None);
    assert_eq!(r.handle_timeout(start + Duration::from_secs(40)), None);
}

#[test]
fn s13_3_1_4_reliable_transport_waits_for_ack_without_retransmitting() {
    assert_eq!(drive(true, None), [(32000, TwoXxAction::GiveUp)]);
}

#[test]
fn s13_3_1_4_early_timer_call_is_harmless() {
    let start = epoch();
    let mut r = TwoXxRetransmit::new(start, Timers::default(), false);
    assert_eq!(r.handle_timeout(start + Duration::from_millis(499)), None);
    assert_eq!(
        r.handle_timeout(start + Duration::from_millis(500)),
        Some(TwoXxAction::Retransmit)
    );
    assert_eq!(r.poll_timeout(), Some(start + Duration::from_millis(1500)));
}

#[test]
fn s13_2_2_4_same_ack_for_every_2xx_retransmission() {
    let inv = crlf(INVITE);
    let ok = answer(200, "OK", Some("a6c85cf"), "sip:bob@192.0.2.4");
    let d = Dialog::uac(&req(&inv), &resp(&ok)).unwrap();
    let ack = d
        .ack(
            314159,
            "SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKack",
        )
        .build();
    let mut a = AckFor2xx::new("a84b4c76e66710", 314159, "a6c85cf", ack.clone());
    // The transaction layer passes the first 2xx and every retransmission
    // while Accepted (RFC 6026 §8.4); each gets the identical ACK.
    for _ in 0..3 {
        assert_eq!(a.on_2xx(&resp(&ok)), Some(&ack[..]));
    }
    assert_eq!(a.sent(), 3);
    // A 2xx from another fork (another To tag) is another dialog: not this ACK.
    let fork = answer(200, "OK", Some("fork2"), "sip:bob@192.0.2.5");
    assert_eq!(a.on_2xx(&resp(&fork)), None);
    // ... but it answers the same INVITE: the UAC ACKs it and ends it with BYE.
    assert!(a.is_for_invite("a84b4c76e66710", 314159));
    assert!(!a.is_for_invite("a84b4c76e66710", 314160));
    // Nor a 2xx to another INVITE (re-INVITE with a higher CSeq).
    let other = crlf(
        &String::from_utf8(ok.clone())
            .unwrap()
            .replace("314159 INVITE", "314160 INVITE"),
    );
    assert_eq!(a.on_2xx(&resp(&other)), None);
    assert_eq!(a.bytes(), &ack[..]);
}

#[test]
fn s8_1_3_4_retries_keep_call_id_from_tag_and_to_with_higher_cseq() {
    let mut c = CallSetup::new(
        "<sip:alice@192.0.2.1>;tag=a1",
        "<sip:bob@example.com>",
        "call-1@192.0.2.1",
        "sip:alice@192.0.2.1:5062",
        1,
    );
    c.headers.push(("User-Agent".into(), "sipkit".into()));
    c.body = Some(("application/sdp".into(), b"v=0\r\n".to_vec()));
    let (first, s1) = c.invite(
        "sip:bob@example.com",
        "SIP/2.0/UDP 192.0.2.1:5062;branch=z9hG4bK1",
    );
    let (second, s2) = c.invite(
        "sip:bob@192.0.2.4:5080",
        "SIP/2.0/UDP 192.0.2.1:5062;branch=z9hG4bK2",
    );
    assert_eq!((s1, s2), (1, 2));
    assert_eq!(c.next_seq(), 3);
    let (a, b) = (req(&first), req(&second));
    assert_eq!(
        b.uri().as_str(),
        "sip:bob@192.0.2.4:5080",
        "the Contact becomes the Request-URI"
    );
    assert_eq!(a.call_id(), b.call_id());
    assert_eq!(a.from().tag(), b.from().tag());
    assert_eq!(a.to().raw, b.to().raw);
    assert_eq!(b.to().tag(), None);
    assert_ne!(
        a.top_via().unwrap().branch(),
        b.top_via().unwrap().branch(),
        "a new client transaction"
    );
    assert_eq!(b.cseq().seq, a.cseq().seq + 1);
    assert_eq!(b.header_value("User-Agent"), Some("sipkit"));
    assert_eq!(b.body(), b"v=0\r\n");
    assert_eq!(
        header(&second, "Contact").as_deref(),
        Some("<sip:alice@192.0.2.1:5062>")
    );
}
