//! RFC 3515 REFER with its implicit subscription (RFC 6665 rules),
//! message/sipfrag bodies (RFC 3420), Referred-By (RFC 3892), Refer-Sub
//! (RFC 4488): the transferee's notifier and the transferor's subscriber,
//! every state and timer on an injected clock.

use std::time::{Duration, Instant};

use sipkit_dialog::{
    AcceptStatus, CallSetup, Diagnosis, Dialog, NotifierConfig, NotifyContent, Outcome,
    ReferNotifier, ReferSubscriber, SubscriberState, SIPFRAG,
};
use sipkit_message::HeaderName;

use crate::util::*;

const SECS: fn(u64) -> Duration = Duration::from_secs;

/// A confirmed call: Alice (transferor, UAC) and Bob (transferee, UAS).
fn call() -> (Dialog, Dialog) {
    let inv = crlf(
        "INVITE sip:bob@192.0.2.2 SIP/2.0
Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1
Max-Forwards: 70
From: <sip:alice@192.0.2.1>;tag=a1
To: <sip:bob@192.0.2.2>
Call-ID: call-1
CSeq: 1 INVITE
Contact: <sip:alice@192.0.2.1>
Content-Length: 0

",
    );
    let r = req(&inv);
    let mut bob = Dialog::uas(&r, "b1", "sip:bob@192.0.2.2").unwrap();
    let ok = bob.response(&r, 200, "OK").build();
    bob.set_confirmed();
    let alice = Dialog::uac(&r, &resp(&ok)).unwrap();
    (alice, bob)
}

/// Alice's REFER to Carol with `extra` headers; returns it and its CSeq.
fn refer(alice: &mut Dialog, extra: &[(&str, &str)]) -> (Vec<u8>, u32) {
    let (mut b, seq) = alice
        .request("REFER", "SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKrefer")
        .unwrap();
    for (n, v) in extra {
        b = b.raw_header(n, v);
    }
    (b.build(), seq)
}

fn default_refer(alice: &mut Dialog) -> (Vec<u8>, u32) {
    refer(
        alice,
        &[
            ("Refer-To", "<sip:carol@192.0.2.3>"),
            ("Referred-By", "<sip:alice@192.0.2.1>"),
        ],
    )
}

/// Bob's NOTIFY carrying `content`.
fn notify_bytes(bob: &mut Dialog, content: &NotifyContent) -> Vec<u8> {
    let (b, _) = bob
        .request("NOTIFY", "SIP/2.0/UDP 192.0.2.2;branch=z9hG4bKn")
        .unwrap();
    b.header(HeaderName::Event, &content.event)
        .header(HeaderName::SubscriptionState, &content.subscription_state)
        .body(content.content_type, content.body.clone())
        .build_checked()
        .unwrap()
}

/// A NOTIFY with the given values, from Bob.
fn notify_raw(
    bob: &mut Dialog,
    event: Option<&str>,
    state: Option<&str>,
    body: Option<&str>,
) -> Vec<u8> {
    let (mut b, _) = bob
        .request("NOTIFY", "SIP/2.0/UDP 192.0.2.2;branch=z9hG4bKn")
        .unwrap();
    if let Some(e) = event {
        b = b.header(HeaderName::Event, e);
    }
    if let Some(s) = state {
        b = b.header(HeaderName::SubscriptionState, s);
    }
    if let Some(body) = body {
        b = b.body(SIPFRAG, body.as_bytes().to_vec());
    }
    b.build()
}

/// Bob's answer to the REFER.
fn refer_answer(bob: &Dialog, refer: &[u8], status: u16, extra: &[(&str, &str)]) -> Vec<u8> {
    let mut b = bob.response(&req(refer), status, "Whatever");
    for (n, v) in extra {
        b = b.raw_header(n, v);
    }
    b.build()
}

// ------------------------------------------------------------ notifier

#[test]
fn rfc7647_5_refer_accepted_with_200_not_202() {
    let (mut alice, mut bob) = call();
    let (r, _) = default_refer(&mut alice);
    bob.on_request(&req(&r)).unwrap();
    let (_, ok) = ReferNotifier::accept(epoch(), &req(&r), NotifierConfig::default()).unwrap();
    assert_eq!(
        (ok.status, ok.reason),
        (200, "OK"),
        "RFC 7647 §5: a REFER recipient answers 200 and must not send 202"
    );
    let resp200 = refer_answer(&bob, &r, ok.status, &[]);
    assert_eq!(resp(&resp200).status(), 200);
}

#[test]
fn s2_4_2_refer_accepted_with_202_when_acting_as_legacy_equipment() {
    let (mut alice, mut bob) = call();
    let (r, seq) = default_refer(&mut alice);
    assert_eq!(seq, 2);
    bob.on_request(&req(&r)).unwrap();
    let t0 = epoch();
    let cfg = NotifierConfig {
        accept: AcceptStatus::Accepted,
        ..NotifierConfig::default()
    };
    let (n, ok) = ReferNotifier::accept(t0, &req(&r), cfg).unwrap();
    assert_eq!((ok.status, ok.reason), (202, "Accepted"));
    assert_eq!(AcceptStatus::from_code(202), Some(AcceptStatus::Accepted));
    assert_eq!(AcceptStatus::from_code(200), Some(AcceptStatus::Ok));
    assert_eq!(AcceptStatus::from_code(201), None);
    assert!(!ok.refer_sub_false);
    assert_eq!(ok.target, "sip:carol@192.0.2.3");
    assert!(ok.target_headers.is_empty());
    assert_eq!(
        ok.referred_by, "<sip:alice@192.0.2.1>",
        "RFC 3892: copied from the REFER"
    );
    assert_eq!(
        ok.event, "refer;id=2",
        "RFC 3515 §2.4.6: id is the REFER's CSeq"
    );
    assert!(n.is_active());
    assert_eq!(n.poll_timeout(), Some(t0 + SECS(60)));
    // The 202 carries Bob's tag and Contact (REFER creates the subscription's usage).
    let resp202 = refer_answer(&bob, &r, 202, &[]);
    assert_eq!(
        header(&resp202, "Contact").as_deref(),
        Some("<sip:bob@192.0.2.2>")
    );
    assert_eq!(resp(&resp202).to().tag(), Some("b1"));
}

#[test]
fn rfc3892_referred_by_from_the_refer_goes_into_the_new_invite() {
    let (mut alice, _) = call();
    let (r, _) = refer(
        &mut alice,
        &[
            ("Refer-To", "<sip:carol@192.0.2.3>"),
            ("Referred-By", "\"Alice\" <sip:alice@atlanta.example.com>"),
        ],
    );
    let (_, ok) = ReferNotifier::accept(epoch(), &req(&r), NotifierConfig::default()).unwrap();
    let mut setup = CallSetup::new(
        "<sip:bob@192.0.2.2>;tag=n1",
        "<sip:carol@192.0.2.3>",
        "new-call",
        "sip:bob@192.0.2.2",
        1,
    );
    setup
        .headers
        .push(("Referred-By".into(), ok.referred_by.clone()));
    let (inv, _) = setup.invite(&ok.target, "SIP/2.0/UDP 192.0.2.2;branch=z9hG4bKnew");
    assert_eq!(first_line(&inv), "INVITE sip:carol@192.0.2.3 SIP/2.0");
    assert_eq!(
        header(&inv, "Referred-By").as_deref(),
        Some("\"Alice\" <sip:alice@atlanta.example.com>")
    );
    // Without Referred-By in the REFER, the REFER's From URI stands in.
    let (r, _) = refer(&mut alice, &[("Refer-To", "sip:carol@192.0.2.3")]);
    let (_, ok) = ReferNotifier::accept(epoch(), &req(&r), NotifierConfig::default()).unwrap();
    assert_eq!(ok.referred_by, "<sip:alice@192.0.2.1>");
    assert_eq!(ok.target, "sip:carol@192.0.2.3");
}

#[test]
fn s2_4_2_refer_refused_without_exactly_one_usable_refer_to() {
    let (mut alice, _) = call();
    let t0 = epoch();
    let (r, _) = refer(&mut alice, &[]);
    assert_eq!(
        ReferNotifier::accept(t0, &req(&r), NotifierConfig::default())
            .unwrap_err()
            .status,
        400
    );
    // Two Refer-To: the message layer refuses the REFER itself (a duplicate
    // single header), so the transaction layer answers 400 before we see it.
    let (r, _) = refer(
        &mut alice,
        &[
            ("Refer-To", "<sip:c@192.0.2.3>"),
            ("Refer-To", "<sip:d@192.0.2.4>"),
        ],
    );
    assert!(sipkit_message::parse(&r).is_err());
    let (r, _) = refer(&mut alice, &[("Refer-To", "<mailto:carol@example.com>")]);
    let e = ReferNotifier::accept(t0, &req(&r), NotifierConfig::default()).unwrap_err();
    assert_eq!((e.status, e.reason), (416, "Unsupported URI Scheme"));
}

#[test]
fn s2_1_refer_to_headers_are_split_off_the_target() {
    let (mut alice, _) = call();
    let (r, _) = refer(
        &mut alice,
        &[(
            "Refer-To",
            "<sip:carol@192.0.2.3?Replaces=abc%40h%3Bto-tag%3D1%3Bfrom-tag%3D2>",
        )],
    );
    let (_, ok) = ReferNotifier::accept(epoch(), &req(&r), NotifierConfig::default()).unwrap();
    assert_eq!(ok.target, "sip:carol@192.0.2.3");
    assert_eq!(
        ok.target_headers,
        [(
            "Replaces".to_owned(),
            "abc%40h%3Bto-tag%3D1%3Bfrom-tag%3D2".to_owned()
        )]
    );
}

#[test]
fn s2_4_5_notifies_progress_then_terminates_on_the_final_status() {
    let (mut alice, _) = call();
    let (r, _) = default_refer(&mut alice);
    let t0 = epoch();
    let (mut n, _) = ReferNotifier::accept(t0, &req(&r), NotifierConfig::default()).unwrap();
    let first = n.notify(t0, 100, "Trying").unwrap();
    assert_eq!(first.event, "refer;id=2");
    assert_eq!(first.subscription_state, "active;expires=60");
    assert_eq!(first.content_type, "message/sipfrag;version=2.0");
    assert_eq!(first.body, b"SIP/2.0 100 Trying\r\n");
    assert!(!first.terminal);
    let ringing = n.notify(t0 + SECS(10), 180, "Ringing").unwrap();
    assert_eq!(
        ringing.subscription_state, "active;expires=50",
        "the seconds left"
    );
    let last = n.notify(t0 + SECS(12), 200, "OK").unwrap();
    assert_eq!(last.subscription_state, "terminated;reason=noresource");
    assert_eq!(last.body, b"SIP/2.0 200 OK\r\n");
    assert!(last.terminal);
    assert!(!n.is_active());
    assert_eq!(
        n.notify(t0 + SECS(13), 200, "OK"),
        None,
        "nothing after terminated"
    );
    assert_eq!(n.poll_timeout(), None);
}

#[test]
fn s2_4_5_a_failed_new_call_is_reported_and_terminates() {
    let (mut alice, _) = call();
    let (r, _) = default_refer(&mut alice);
    let t0 = epoch();
    let (mut n, _) = ReferNotifier::accept(t0, &req(&r), NotifierConfig::default()).unwrap();
    n.notify(t0, 100, "Trying").unwrap();
    let last = n.notify(t0 + SECS(1), 486, "Busy Here").unwrap();
    assert_eq!(last.body, b"SIP/2.0 486 Busy Here\r\n");
    assert_eq!(last.subscription_state, "terminated;reason=noresource");
}

#[test]
fn rfc6665_4_2_2_subscription_expiry_sends_terminated_timeout() {
    let (mut alice, _) = call();
    let (r, _) = default_refer(&mut alice);
    let t0 = epoch();
    let cfg = NotifierConfig {
        duration: SECS(30),
        ..NotifierConfig::default()
    };
    let (mut n, _) = ReferNotifier::accept(t0, &req(&r), cfg).unwrap();
    n.notify(t0, 100, "Trying").unwrap();
    n.notify(t0 + SECS(2), 180, "Ringing").unwrap();
    assert_eq!(n.handle_timeout(t0 + SECS(29)), None, "not yet");
    let deadline = n.poll_timeout().unwrap();
    assert_eq!(deadline, t0 + SECS(30));
    let last = n.handle_timeout(deadline).unwrap();
    assert_eq!(last.subscription_state, "terminated;reason=timeout");
    assert_eq!(
        last.body, b"SIP/2.0 180 Ringing\r\n",
        "the last status known"
    );
    assert!(!n.is_active());
    assert_eq!(n.handle_timeout(deadline + SECS(1)), None);
}

#[test]
fn rfc4488_refer_sub_false_suppresses_the_subscription() {
    let (mut alice, _) = call();
    let (r, _) = refer(
        &mut alice,
        &[
            ("Refer-To", "<sip:carol@192.0.2.3>"),
            ("Refer-Sub", "false"),
            ("Supported", "norefersub"),
        ],
    );
    let t0 = epoch();
    let (mut n, ok) = ReferNotifier::accept(t0, &req(&r), NotifierConfig::default()).unwrap();
    assert!(ok.refer_sub_false, "the 202 says Refer-Sub: false");
    assert!(n.is_suppressed());
    assert_eq!(n.notify(t0, 100, "Trying"), None, "no NOTIFY at all");
    assert_eq!(n.poll_timeout(), None);
    // An agent that does not do norefersub keeps the subscription.
    let cfg = NotifierConfig {
        norefersub: false,
        ..NotifierConfig::default()
    };
    let (mut n, ok) = ReferNotifier::accept(t0, &req(&r), cfg).unwrap();
    assert!(!ok.refer_sub_false);
    assert!(n.notify(t0, 100, "Trying").is_some());
}

// ---------------------------------------------------------- subscriber

struct Flow {
    bob: Dialog,
    refer: Vec<u8>,
    sub: ReferSubscriber,
    t0: Instant,
}

fn flow(wait: u64) -> Flow {
    let (mut alice, bob) = call();
    let (refer, seq) = default_refer(&mut alice);
    let t0 = epoch();
    let sub = ReferSubscriber::new(t0, seq, SECS(wait), false);
    Flow {
        bob,
        refer,
        sub,
        t0,
    }
}

impl Flow {
    fn answer(&mut self, at: u64, status: u16, extra: &[(&str, &str)]) {
        let r = refer_answer(&self.bob, &self.refer, status, extra);
        self.sub.on_refer_response(self.t0 + SECS(at), &resp(&r));
    }
    fn notify(&mut self, at: u64, state: &str, frag: &str) -> u16 {
        let n = notify_raw(&mut self.bob, Some("refer;id=2"), Some(state), Some(frag));
        self.sub.on_notify(self.t0 + SECS(at), &req(&n)).status
    }
    /// Jumps the clock to each deadline until none is left; returns the last.
    fn run_timers(&mut self) -> Option<Duration> {
        let mut last = None;
        while let Some(at) = self.sub.poll_timeout() {
            self.sub.handle_timeout(at);
            last = Some(at - self.t0);
        }
        last
    }
}

#[test]
fn transfer_succeeds_202_then_100_then_200() {
    let mut f = flow(32);
    assert_eq!(f.sub.state(), SubscriberState::Referring);
    f.answer(0, 202, &[]);
    assert_eq!(f.sub.state(), SubscriberState::Subscribed);
    assert_eq!(f.sub.refer_status(), Some(202));
    assert_eq!(f.sub.poll_timeout(), Some(f.t0 + SECS(32)));
    assert_eq!(
        f.notify(1, "active;expires=60", "SIP/2.0 100 Trying\r\n"),
        200
    );
    assert_eq!(f.sub.outcome(), None);
    assert_eq!(
        f.notify(3, "terminated;reason=noresource", "SIP/2.0 200 OK\r\n"),
        200
    );
    assert_eq!(f.sub.outcome(), Some(Outcome::Transferred));
    assert_eq!(
        f.sub.diagnosis(),
        Some(&Diagnosis::Transferred { status: 200 })
    );
    assert_eq!(f.sub.state(), SubscriberState::Done);
    assert_eq!(f.sub.poll_timeout(), None);
    let n = f.sub.notifications();
    assert_eq!(n.len(), 2);
    assert_eq!(
        (
            n[0].sipfrag_status,
            n[0].subscription_state.as_str(),
            n[0].expires
        ),
        (Some(100), "active", Some(60))
    );
    assert_eq!(n[0].sipfrag, "SIP/2.0 100 Trying");
    assert_eq!(n[0].at, SECS(1));
    assert_eq!(
        (n[1].sipfrag_status, n[1].reason.as_deref()),
        (Some(200), Some("noresource"))
    );
    // A NOTIFY after the subscription ended: 481 (RFC 6665 §4.1.3).
    assert_eq!(
        f.notify(4, "terminated;reason=noresource", "SIP/2.0 200 OK\r\n"),
        481
    );
    assert_eq!(f.sub.outcome(), Some(Outcome::Transferred));
}

#[test]
fn a_200_to_refer_works_like_202() {
    let mut f = flow(32);
    f.answer(0, 200, &[]);
    assert_eq!(f.sub.state(), SubscriberState::Subscribed);
}

#[test]
fn notify_with_a_failure_fails_the_transfer() {
    let mut f = flow(32);
    f.answer(0, 202, &[]);
    f.notify(1, "active", "SIP/2.0 100 Trying\r\n");
    f.notify(
        2,
        "terminated;reason=noresource",
        "SIP/2.0 503 Service Unavailable\r\n",
    );
    assert_eq!(f.sub.outcome(), Some(Outcome::Failed));
    assert_eq!(
        f.sub.diagnosis(),
        Some(&Diagnosis::NewCallFailed { status: 503 })
    );
}

#[test]
fn s2_4_2_refer_rejected() {
    let mut f = flow(32);
    f.sub
        .on_refer_response(f.t0, &resp(&refer_answer(&f.bob, &f.refer, 100, &[])));
    assert_eq!(
        f.sub.outcome(),
        None,
        "provisional responses change nothing"
    );
    f.answer(0, 603, &[]);
    assert_eq!(f.sub.outcome(), Some(Outcome::ReferRejected));
    assert_eq!(
        f.sub.diagnosis(),
        Some(&Diagnosis::ReferRejected { status: 603 })
    );
    assert_eq!(f.sub.poll_timeout(), None, "nothing to wait for");
}

#[test]
fn refer_without_any_response() {
    let mut f = flow(32);
    f.sub.on_refer_timeout();
    assert_eq!(f.sub.outcome(), Some(Outcome::ReferRejected));
    assert_eq!(f.sub.refer_status(), Some(408));
    assert_eq!(f.sub.diagnosis(), Some(&Diagnosis::ReferTimedOut));
}

#[test]
fn no_notify_at_all_within_the_wait() {
    let mut f = flow(32);
    f.answer(1, 202, &[]);
    assert_eq!(f.run_timers(), Some(SECS(33)), "the wait runs from the 202");
    assert_eq!(f.sub.outcome(), Some(Outcome::NoNotify));
    assert_eq!(
        f.sub.diagnosis(),
        Some(&Diagnosis::NoNotifyAtAll { waited: SECS(32) })
    );
}

#[test]
fn early_timer_calls_change_nothing() {
    let mut f = flow(32);
    f.answer(0, 202, &[]);
    f.sub.handle_timeout(f.t0 + SECS(31));
    assert_eq!(f.sub.outcome(), None);
}

#[test]
fn only_100_trying_then_silence() {
    let mut f = flow(5);
    f.answer(0, 202, &[]);
    f.notify(1, "active", "SIP/2.0 100 Trying\r\n");
    f.run_timers();
    assert_eq!(f.sub.outcome(), Some(Outcome::NoNotify));
    assert_eq!(
        f.sub.diagnosis(),
        Some(&Diagnosis::NoFinalNotify {
            last_status: Some(100),
            waited: SECS(5)
        })
    );
}

#[test]
fn rfc4488_refer_sub_false_means_no_notify_will_come() {
    let mut f = flow(32);
    f.answer(0, 202, &[("Refer-Sub", "false")]);
    assert!(f.sub.refer_sub_false());
    assert_eq!(
        f.sub.outcome(),
        Some(Outcome::NoNotify),
        "decided at once: nothing to wait for"
    );
    assert_eq!(
        f.sub.diagnosis(),
        Some(&Diagnosis::SubscriptionRefused { requested: false })
    );
    assert_eq!(f.sub.poll_timeout(), None);
}

#[test]
fn refer_sub_false_requested_by_us() {
    let (mut alice, bob) = call();
    let (r, seq) = refer(
        &mut alice,
        &[
            ("Refer-To", "<sip:carol@192.0.2.3>"),
            ("Refer-Sub", "false"),
        ],
    );
    let t0 = epoch();
    let mut sub = ReferSubscriber::new(t0, seq, SECS(32), true);
    sub.on_refer_response(
        t0,
        &resp(&refer_answer(&bob, &r, 202, &[("Refer-Sub", "false")])),
    );
    assert_eq!(
        sub.diagnosis(),
        Some(&Diagnosis::SubscriptionRefused { requested: true })
    );
}

#[test]
fn expires_zero_on_the_202_is_diagnosed() {
    let mut f = flow(10);
    f.answer(0, 202, &[("Expires", "0")]);
    assert!(f.sub.expires_zero());
    assert_eq!(f.sub.outcome(), None, "a final NOTIFY may still come");
    f.run_timers();
    assert_eq!(f.sub.outcome(), Some(Outcome::NoNotify));
    assert_eq!(f.sub.diagnosis(), Some(&Diagnosis::ExpiresZero));
}

#[test]
fn expires_zero_in_subscription_state_is_diagnosed() {
    let mut f = flow(10);
    f.answer(0, 202, &[]);
    f.notify(1, "active;expires=0", "SIP/2.0 100 Trying\r\n");
    f.run_timers();
    assert_eq!(f.sub.diagnosis(), Some(&Diagnosis::ExpiresZero));
}

#[test]
fn rfc6665_subscription_expires_before_the_result() {
    let mut f = flow(32);
    f.answer(0, 202, &[]);
    f.notify(1, "active;expires=5", "SIP/2.0 100 Trying\r\n");
    assert_eq!(
        f.sub.poll_timeout(),
        Some(f.t0 + SECS(6)),
        "the expiry comes before the wait ends"
    );
    assert_eq!(f.run_timers(), Some(SECS(6)));
    assert_eq!(f.sub.outcome(), Some(Outcome::NoNotify));
    assert_eq!(
        f.sub.diagnosis(),
        Some(&Diagnosis::SubscriptionExpired {
            last_status: Some(100)
        })
    );
}

#[test]
fn expires_on_the_202_bounds_the_subscription() {
    let mut f = flow(32);
    f.answer(0, 202, &[("Expires", "3")]);
    assert_eq!(f.run_timers(), Some(SECS(3)));
    assert_eq!(
        f.sub.diagnosis(),
        Some(&Diagnosis::SubscriptionExpired { last_status: None })
    );
}

#[test]
fn terminated_without_a_final_status() {
    let mut f = flow(32);
    f.answer(0, 202, &[]);
    f.notify(1, "active", "SIP/2.0 100 Trying\r\n");
    f.notify(2, "terminated;reason=rejected", "SIP/2.0 100 Trying\r\n");
    assert_eq!(f.sub.outcome(), Some(Outcome::Failed));
    assert_eq!(
        f.sub.diagnosis(),
        Some(&Diagnosis::TerminatedWithoutResult {
            reason: Some("rejected".into()),
            last_status: Some(100)
        })
    );
}

#[test]
fn notify_may_overtake_the_202() {
    let mut f = flow(32);
    assert_eq!(f.notify(0, "active", "SIP/2.0 100 Trying\r\n"), 200);
    assert_eq!(f.sub.state(), SubscriberState::Subscribed);
    f.answer(0, 202, &[]);
    assert_eq!(f.sub.state(), SubscriberState::Subscribed);
    f.notify(1, "terminated", "SIP/2.0 200 OK\r\n");
    assert_eq!(f.sub.outcome(), Some(Outcome::Transferred));
}

#[test]
fn rfc6665_notify_checks_event_id_and_state() {
    let mut f = flow(32);
    f.answer(0, 202, &[]);
    let t = f.t0 + SECS(1);
    let wrong_event = notify_raw(
        &mut f.bob,
        Some("presence"),
        Some("active"),
        Some("SIP/2.0 100 Trying\r\n"),
    );
    assert_eq!(f.sub.on_notify(t, &req(&wrong_event)).status, 489);
    let no_event = notify_raw(
        &mut f.bob,
        None,
        Some("active"),
        Some("SIP/2.0 100 Trying\r\n"),
    );
    assert_eq!(f.sub.on_notify(t, &req(&no_event)).status, 489);
    let other_id = notify_raw(
        &mut f.bob,
        Some("refer;id=99"),
        Some("active"),
        Some("SIP/2.0 100 Trying\r\n"),
    );
    assert_eq!(f.sub.on_notify(t, &req(&other_id)).status, 481);
    let no_state = notify_raw(
        &mut f.bob,
        Some("refer;id=2"),
        None,
        Some("SIP/2.0 100 Trying\r\n"),
    );
    assert_eq!(f.sub.on_notify(t, &req(&no_state)).status, 400);
    // An Event without id is the first REFER's subscription (RFC 3515 §2.4.6).
    let no_id = notify_raw(
        &mut f.bob,
        Some("refer"),
        Some("active"),
        Some("SIP/2.0 180 Ringing\r\n"),
    );
    assert_eq!(f.sub.on_notify(t, &req(&no_id)).status, 200);
    assert_eq!(f.sub.outcome(), None, "none of these decided anything");
    let answered: Vec<u16> = f.sub.notifications().iter().map(|n| n.answered).collect();
    assert_eq!(
        answered,
        [489, 489, 481, 400, 200],
        "every NOTIFY is kept for the report"
    );
}

#[test]
fn rfc3420_interop_baresip_sipfrag_with_a_bare_lf_still_counts() {
    // baresip 1.0 sends "SIP/2.0 200 OK\n" (bare LF, Content-Type without version).
    let mut f = flow(32);
    f.answer(0, 202, &[]);
    let (b, _) = f
        .bob
        .request("NOTIFY", "SIP/2.0/UDP 192.0.2.2;branch=z9hG4bKb")
        .unwrap();
    let n = b
        .header(HeaderName::Event, "refer;id=2")
        .header(
            HeaderName::SubscriptionState,
            "terminated;reason=noresource",
        )
        .body("message/sipfrag", b"SIP/2.0 200 OK\n".to_vec())
        .build();
    assert_eq!(f.sub.on_notify(f.t0, &req(&n)).status, 200);
    assert_eq!(f.sub.notifications()[0].sipfrag_status, Some(200));
    assert_eq!(f.sub.outcome(), Some(Outcome::Transferred));
    assert_eq!(
        sipkit_dialog::lenient_status(b"SIP/2.0 486 Busy Here"),
        Some(486)
    );
    assert_eq!(sipkit_dialog::lenient_status(b"SIP/2.0 4860 x"), None);
    assert_eq!(sipkit_dialog::lenient_status(b"INVITE sip:x SIP/2.0"), None);
}

#[test]
fn notify_without_a_sipfrag_body_reports_nothing() {
    let mut f = flow(32);
    f.answer(0, 202, &[]);
    let n = notify_raw(&mut f.bob, Some("refer;id=2"), Some("active"), None);
    assert_eq!(f.sub.on_notify(f.t0, &req(&n)).status, 200);
    assert_eq!(f.sub.notifications()[0].sipfrag_status, None);
    assert_eq!(f.sub.outcome(), None);
}

#[test]
fn notifier_and_subscriber_end_to_end_through_dialogs() {
    let (mut alice, mut bob) = call();
    let (r, seq) = default_refer(&mut alice);
    let t0 = epoch();
    let mut sub = ReferSubscriber::new(t0, seq, SECS(32), false);
    bob.on_request(&req(&r)).unwrap();
    let (mut n, ok) = ReferNotifier::accept(t0, &req(&r), NotifierConfig::default()).unwrap();
    let a = refer_answer(&bob, &r, ok.status, &[]);
    sub.on_refer_response(t0, &resp(&a));
    for (at, status, reason) in [(0, 100, "Trying"), (2, 180, "Ringing"), (4, 200, "OK")] {
        let content = n.notify(t0 + SECS(at), status, reason).unwrap();
        let bytes = notify_bytes(&mut bob, &content);
        let nreq = req(&bytes);
        alice.on_request(&nreq).unwrap();
        assert_eq!(sub.on_notify(t0 + SECS(at), &nreq).status, 200);
    }
    assert_eq!(sub.outcome(), Some(Outcome::Transferred));
    let states: Vec<(Option<u16>, &str)> = sub
        .notifications()
        .iter()
        .map(|n| (n.sipfrag_status, n.subscription_state.as_str()))
        .collect();
    assert_eq!(
        states,
        [
            (Some(100), "active"),
            (Some(180), "active"),
            (Some(200), "terminated")
        ]
    );
    assert_eq!(
        bob.local_seq(),
        Some(3),
        "three NOTIFYs from Bob's own CSeq space"
    );
    assert_eq!(alice.remote_seq(), Some(3));
}
