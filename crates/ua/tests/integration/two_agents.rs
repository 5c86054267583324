//! Agents against each other on a jumping clock: the transferee flow
//! (RFC 3515, RFC 7647 §5, RFC 5589), redirect following (RFC 3261
//! §8.1.3.4), re-INVITE (§14), a forked second 2xx (§13.2.2.4), the
//! registration refresh (§10.2.4), and the agent's own timers — first on a
//! perfect link with exact times, then on lossy links with many seeds.

use std::time::Duration;

use sipkit_dialog::{AcceptStatus, Outcome, RedirectPolicy, Stop};
use sipkit_ua::{AgentOptions, CallId, CallState, Timer};

use crate::harness::*;

const ALICE: &str = "192.0.2.1:5060";
const BOB: &str = "192.0.2.2:5060";
const CAROL: &str = "192.0.2.3:5060";
const REDIRECT: &str = "192.0.2.9:5060";
const REGISTRAR: &str = "192.0.2.10:5060";
const FORK: &str = "192.0.2.100:5060";

fn opts(user: &str) -> AgentOptions {
    AgentOptions {
        user: user.into(),
        ..AgentOptions::default()
    }
}

/// Alice calls Bob; on a perfect link the call is up at once.
fn alice_calls_bob(net: &mut Net) -> (CallId, CallId) {
    let a = addr(ALICE);
    let b = addr(BOB);
    let call = net
        .with(a, |x, now| {
            x.call(now, &format!("sip:bob@{BOB}"), RedirectPolicy::default())
        })
        .unwrap();
    net.run_until(net.clock.elapsed() + 5.0);
    assert_eq!(net.get(a).call_state(call), Some(CallState::Up));
    let bob_call = net.get(b).call_ids().next().expect("Bob has the call");
    assert_eq!(net.get(b).call_state(bob_call), Some(CallState::Up));
    (call, bob_call)
}

// ---------------------------------------------------------- transferee

/// Alice (transferor) refers Bob (transferee) to Carol (target).
fn transfer(netem: Netem, bob: AgentOptions) -> Net {
    let mut net = Net::new(netem);
    let a = net.agent(ALICE, opts("alice"), 1);
    let b = net.agent(BOB, bob, 2);
    net.agent(CAROL, opts("carol"), 3);
    let call = net
        .with(a, |x, now| {
            x.call(now, &format!("sip:bob@{BOB}"), RedirectPolicy::default())
        })
        .unwrap();
    net.run_until(40.0);
    assert_eq!(net.get(a).call_state(call), Some(CallState::Up));
    assert_eq!(
        net.get(b).call_state(CallId(0)),
        Some(CallState::Up),
        "{:#?}",
        net.get(b).report()
    );
    net.with(a, |x, now| {
        x.refer(
            now,
            call,
            &format!("sip:carol@{CAROL}"),
            Duration::from_secs(32),
            false,
        )
    })
    .unwrap();
    net.run_until(120.0);
    net
}

#[test]
fn rfc7647_5_transferee_answers_200_notifies_calls_the_target_and_hangs_up() {
    let net = &mut transfer(Netem::perfect(), opts("bob"));
    let (a, b, c) = (addr(ALICE), addr(BOB), addr(CAROL));
    assert_eq!(
        net.get(a).transfer_outcome(CallId(0)),
        Some(Outcome::Transferred)
    );
    assert_eq!(
        net.get(a).referral(CallId(0)).unwrap().refer_status(),
        Some(200)
    );
    // Bob: 200 to the REFER, NOTIFY 100 and 200, the INVITE to Carol with
    // Referred-By, then BYE of the old call (RFC 5589 §6.1), all at 40 s.
    let to_alice: Vec<String> = net.sent(b, a).into_iter().map(|(_, w)| w).collect();
    let tail: Vec<&str> = to_alice
        .iter()
        .map(String::as_str)
        .skip_while(|w| *w != "200 REFER")
        .collect();
    assert_eq!(
        tail,
        ["200 REFER", "NOTIFY", "NOTIFY", "BYE"],
        "{to_alice:?}"
    );
    let notifies = net.messages(b, "NOTIFY");
    assert!(notifies[0].text().contains("SIP/2.0 100 Trying"));
    assert_eq!(
        header(&notifies[0].bytes, "Subscription-State").as_deref(),
        Some("active;expires=60")
    );
    assert!(notifies[1].text().contains("SIP/2.0 200 OK"));
    assert_eq!(
        header(&notifies[1].bytes, "Subscription-State").as_deref(),
        Some("terminated;reason=noresource")
    );
    let invite = &net.messages(b, "INVITE")[0];
    assert_eq!(invite.to, c);
    assert_eq!(
        header(&invite.bytes, "Referred-By").as_deref(),
        Some(format!("<sip:alice@{}>", ALICE.split(':').next().unwrap()).as_str())
    );
    let report = net.get(b).report();
    let t = report.calls[0].transfer.as_ref().unwrap();
    assert_eq!(
        (t.refer_status, t.notified.as_slice()),
        (200, &[100, 200][..])
    );
    assert_eq!(t.new_call_status, Some(200));
    assert_eq!(report.calls[0].ended, "transferred");
    assert_eq!(report.calls[1].direction, "outbound");
    assert_eq!(net.get(b).call_state(CallId(1)), Some(CallState::Up));
    // The subscription ended with the final NOTIFY: no expiry timer is left.
    assert_eq!(net.get(b).timer(Timer::Subscription(CallId(0))), None);
    assert_eq!(net.get(a).call_state(CallId(0)), Some(CallState::Ended));
}

#[test]
fn rfc3515_2_4_2_transferee_answers_202_when_told_to_act_like_legacy_equipment() {
    let bob = AgentOptions {
        refer_response: AcceptStatus::Accepted,
        ..opts("bob")
    };
    let net = &mut transfer(Netem::perfect(), bob);
    let (a, b) = (addr(ALICE), addr(BOB));
    assert_eq!(net.times(b, "202 REFER").len(), 1);
    assert!(net.times(b, "200 REFER").is_empty());
    assert_eq!(
        net.get(a).referral(CallId(0)).unwrap().refer_status(),
        Some(202)
    );
    assert_eq!(
        net.get(a).transfer_outcome(CallId(0)),
        Some(Outcome::Transferred),
        "a transferor takes 202 like 200"
    );
}

#[test]
fn transferee_flow_survives_a_lossy_link() {
    let mut dropped = 0;
    for seed in 0..24 {
        let net = &mut transfer(Netem::lossy(seed), opts("bob"));
        let (a, b) = (addr(ALICE), addr(BOB));
        let report = net.get(b).report();
        let t = report.calls[0].transfer.as_ref().unwrap_or_else(|| {
            panic!("seed {seed}: no transfer: {report:#?}");
        });
        assert_eq!(t.notified, [100, 200], "seed {seed}");
        assert_eq!(t.new_call_status, Some(200), "seed {seed}");
        assert_eq!(
            net.get(a).transfer_outcome(CallId(0)),
            Some(Outcome::Transferred),
            "seed {seed}"
        );
        // Each NOTIFY is one transaction, however often it was resent.
        assert_eq!(
            net.messages(b, "NOTIFY")
                .iter()
                .map(|w| header(&w.bytes, "CSeq").unwrap())
                .collect::<std::collections::BTreeSet<_>>()
                .len(),
            2,
            "seed {seed}"
        );
        dropped += net.wire.iter().filter(|w| w.dropped).count();
    }
    assert!(dropped > 24, "the link lost datagrams: {dropped}");
}

#[test]
fn rfc6665_4_2_2_the_subscription_expires_when_the_target_never_answers() {
    // Carol rings forever; Bob's subscription lasts 60 s and the new call gives up at 90 s.
    let mut net = Net::new(Netem::perfect());
    let a = net.agent(ALICE, opts("alice"), 1);
    let b = net.agent(
        BOB,
        AgentOptions {
            ring_timeout: Duration::from_secs(90),
            ..opts("bob")
        },
        2,
    );
    net.agent(
        CAROL,
        AgentOptions {
            answer_code: 180,
            ..opts("carol")
        },
        3,
    );
    let (call, _) = alice_calls_bob(&mut net);
    let t0 = net.clock.elapsed();
    net.with(a, |x, now| {
        x.refer(
            now,
            call,
            &format!("sip:carol@{CAROL}"),
            Duration::from_secs(120),
            false,
        )
    })
    .unwrap();
    net.run_until(t0 + 200.0);
    let notifies = net.messages(b, "NOTIFY");
    let states: Vec<(f64, String)> = notifies
        .iter()
        .map(|w| {
            (
                w.at - t0,
                header(&w.bytes, "Subscription-State").unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        states,
        [
            (0.0, "active;expires=60".to_owned()),
            (60.0, "terminated;reason=timeout".to_owned()),
        ]
    );
    assert!(
        notifies[1].text().contains("SIP/2.0 100 Trying"),
        "the last status known"
    );
    assert!(net
        .infos(b)
        .contains(&format!("sip:carol@{CAROL} did not answer in time")));
    assert_eq!(net.get(b).call_state(CallId(1)), Some(CallState::Ended));
    assert_eq!(
        net.get(a).transfer_outcome(CallId(0)),
        Some(Outcome::NoNotify),
        "{:?}",
        net.get(a).referral(CallId(0))
    );
}

// ------------------------------------------------------------ redirects

/// A redirect server: every INVITE gets `status` with these Contacts.
fn redirector(net: &mut Net, status: u16, contacts: &'static [&'static str]) {
    net.scripted(
        REDIRECT,
        9,
        Box::new(move |core, now, key, req| {
            if req.method_str() == "INVITE" {
                let extra: Vec<(&str, &str)> = contacts.iter().map(|c| ("Contact", *c)).collect();
                respond(core, now, key, req, status, "Moved Temporarily", &extra);
            }
        }),
    );
}

#[test]
fn rfc3261_8_1_3_4_a_302_is_followed_with_the_same_call_id_and_the_next_cseq() {
    let mut net = Net::new(Netem::perfect());
    let a = net.agent(ALICE, opts("alice"), 1);
    let b = net.agent(BOB, opts("bob"), 2);
    redirector(
        &mut net,
        302,
        &[
            "<sip:nobody@192.0.2.77:5060>;q=0.1",
            "<sip:bob@192.0.2.2:5060>;q=0.9",
        ],
    );
    let call = net
        .with(a, |x, now| {
            x.call(
                now,
                &format!("sip:bob@{REDIRECT}"),
                RedirectPolicy::default(),
            )
        })
        .unwrap();
    net.run_until(10.0);
    assert_eq!(net.get(a).call_state(call), Some(CallState::Up));
    let invites = net.messages(a, "INVITE");
    assert_eq!(invites.len(), 2, "one to the redirector, one to Bob");
    assert_eq!(invites[1].to, b, "the higher q first");
    assert_eq!(
        header(&invites[0].bytes, "Call-ID"),
        header(&invites[1].bytes, "Call-ID")
    );
    assert_eq!(
        header(&invites[0].bytes, "CSeq").as_deref(),
        Some("1 INVITE")
    );
    assert_eq!(
        header(&invites[1].bytes, "CSeq").as_deref(),
        Some("2 INVITE")
    );
    assert_eq!(
        header(&invites[0].bytes, "From"),
        header(&invites[1].bytes, "From"),
        "the same From tag"
    );
    // The non-2xx is ACKed by the transaction layer (§17.1.1.3), at once.
    assert_eq!(net.times(a, "ACK"), [0.0, 0.0]);
    let f = net.get(a).redirects(call).unwrap();
    assert_eq!(f.stopped(), Some(Stop::Answered));
    assert_eq!(
        f.future_uri(),
        format!("sip:bob@{REDIRECT}"),
        "302: future requests keep the original URI (§21.3.3)"
    );
    assert_eq!(f.redirects()[0].queued.len(), 2);
}

#[test]
fn rfc3261_8_1_3_4_a_redirect_loop_stops() {
    let mut net = Net::new(Netem::perfect());
    let a = net.agent(ALICE, opts("alice"), 1);
    redirector(&mut net, 302, &["<sip:bob@192.0.2.9:5060>"]);
    let call = net
        .with(a, |x, now| {
            x.call(
                now,
                &format!("sip:bob@{REDIRECT}"),
                RedirectPolicy::default(),
            )
        })
        .unwrap();
    net.run_until(10.0);
    assert_eq!(net.get(a).call_state(call), Some(CallState::Ended));
    assert_eq!(
        net.get(a).redirects(call).unwrap().stopped(),
        Some(Stop::Loop)
    );
    assert_eq!(net.messages(a, "INVITE").len(), 1);
    assert_eq!(net.get(a).report().calls[0].ended, "failed");
}

#[test]
fn redirect_following_survives_a_lossy_link() {
    for seed in 0..24 {
        let mut net = Net::new(Netem::lossy(seed));
        let a = net.agent(ALICE, opts("alice"), 1);
        net.agent(BOB, opts("bob"), 2);
        redirector(&mut net, 302, &["<sip:bob@192.0.2.2:5060>"]);
        let call = net
            .with(a, |x, now| {
                x.call(
                    now,
                    &format!("sip:bob@{REDIRECT}"),
                    RedirectPolicy::default(),
                )
            })
            .unwrap();
        net.run_until(60.0);
        assert_eq!(
            net.get(a).call_state(call),
            Some(CallState::Up),
            "seed {seed}"
        );
        let f = net.get(a).redirects(call).unwrap();
        assert_eq!(
            f.redirects().len(),
            1,
            "one 302 however often it came: seed {seed}"
        );
        assert_eq!(f.attempts().len(), 2, "seed {seed}");
    }
}

// ------------------------------------------------------------ re-INVITE

#[test]
fn rfc3261_14_reinvite_is_answered_and_its_2xx_resent_until_the_ack() {
    let mut net = Net::new(Netem::perfect());
    let a = net.agent(ALICE, opts("alice"), 1);
    let b = net.agent(BOB, opts("bob"), 2);
    let (call, bob_call) = alice_calls_bob(&mut net);
    // Lose Alice's first ACK of the re-INVITE's 2xx.
    let mut lost = false;
    net.drop_rules.push(Box::new(move |w| {
        let hit =
            !lost && w.what() == "ACK" && header(&w.bytes, "CSeq").as_deref() == Some("2 ACK");
        lost |= hit;
        hit
    }));
    net.run_until(10.0);
    net.with(a, |x, now| x.reinvite(now, call)).unwrap();
    net.run_until(20.0);
    let ok: Vec<f64> = net
        .messages(b, "200 INVITE")
        .iter()
        .filter(|w| header(&w.bytes, "CSeq").as_deref() == Some("2 INVITE"))
        .map(|w| w.at)
        .collect();
    assert_eq!(ok, [10.0, 10.5], "T1 later the 2xx is resent (§13.3.1.4)");
    let acks: Vec<f64> = net
        .messages(a, "ACK")
        .iter()
        .filter(|w| header(&w.bytes, "CSeq").as_deref() == Some("2 ACK"))
        .map(|w| w.at)
        .collect();
    assert_eq!(
        acks,
        [10.0, 10.5],
        "the kept ACK answers the retransmission"
    );
    let sdp = net.messages(b, "200 INVITE")[1].text();
    assert!(
        sdp.contains("o=sipkit 1 2 IN IP4"),
        "the session version moves to 2: {sdp}"
    );
    assert_eq!(net.get(a).call_state(call), Some(CallState::Up));
    assert_eq!(net.get(b).call_state(bob_call), Some(CallState::Up));
    // Both still hang up cleanly.
    net.with(a, |x, now| x.hangup(now, call)).unwrap();
    net.run_until(30.0);
    assert_eq!(net.get(a).call_state(call), Some(CallState::Ended));
    assert_eq!(net.get(b).report().calls[0].ended, "bye_received");
}

// ------------------------------------------------------------ forking

#[test]
fn rfc3261_13_2_2_4_a_second_2xx_from_another_fork_is_acked_and_ended_with_bye() {
    let mut net = Net::new(Netem::perfect());
    let a = net.agent(ALICE, opts("alice"), 1);
    let b = net.agent(BOB, opts("bob"), 2);
    let c = net.agent(CAROL, opts("carol"), 3);
    net.forks.insert(addr(FORK), vec![b, c]);
    let call = net
        .with(a, |x, now| {
            x.call(now, &format!("sip:both@{FORK}"), RedirectPolicy::default())
        })
        .unwrap();
    net.run_until(10.0);
    // Both answered; Alice keeps Bob's (first) dialog and ends Carol's.
    assert_eq!(net.get(a).call_state(call), Some(CallState::Up));
    let bob_tag = net.get(b).dialog(CallId(0)).unwrap().id().local_tag.clone();
    assert_eq!(net.get(a).dialog(call).unwrap().id().remote_tag, bob_tag);
    assert_eq!(net.sent(a, b), [(0.0, "ACK".to_owned())]);
    assert_eq!(
        net.sent(a, c),
        [(0.0, "ACK".to_owned()), (0.0, "BYE".to_owned())],
        "ACK, then BYE, to the fork's own Contact"
    );
    assert_eq!(net.get(b).call_state(CallId(0)), Some(CallState::Up));
    assert_eq!(net.get(c).call_state(CallId(0)), Some(CallState::Ended));
    assert_eq!(net.get(c).report().calls[0].ended, "bye_received");
    assert_eq!(net.get(a).report().calls.len(), 1, "one call for Alice");
}

#[test]
fn forked_second_2xx_survives_a_lossy_link() {
    let mut dropped = 0;
    for seed in 0..24 {
        let mut net = Net::new(Netem::lossy(seed));
        let a = net.agent(ALICE, opts("alice"), 1);
        let b = net.agent(BOB, opts("bob"), 2);
        let c = net.agent(CAROL, opts("carol"), 3);
        net.forks.insert(addr(FORK), vec![b, c]);
        let call = net
            .with(a, |x, now| {
                x.call(now, &format!("sip:both@{FORK}"), RedirectPolicy::default())
            })
            .unwrap();
        net.run_until(80.0);
        assert_eq!(
            net.get(a).call_state(call),
            Some(CallState::Up),
            "seed {seed}"
        );
        let kept = net.get(a).dialog(call).unwrap().id().remote_tag.clone();
        // Exactly one of Bob and Carol keeps the call: the one Alice ACKed first.
        let up: Vec<_> = [b, c]
            .into_iter()
            .filter(|x| net.get(*x).call_state(CallId(0)) == Some(CallState::Up))
            .collect();
        assert_eq!(up.len(), 1, "seed {seed}: {:?}", net.sent(a, c));
        let tag = net
            .get(up[0])
            .dialog(CallId(0))
            .unwrap()
            .id()
            .local_tag
            .clone();
        assert_eq!(tag, kept, "seed {seed}");
        let other = if up[0] == b { c } else { b };
        assert_eq!(
            net.get(other).report().calls[0].ended,
            "bye_received",
            "seed {seed}: Alice ended the other fork herself"
        );
        dropped += net.wire.iter().filter(|w| w.dropped).count();
    }
    assert!(dropped > 24, "the link lost datagrams: {dropped}");
}

// -------------------------------------------------------- registration

/// A registrar granting `granted` seconds to every REGISTER (0 stays 0).
fn registrar(net: &mut Net, granted: u32) {
    net.scripted(
        REGISTRAR,
        10,
        Box::new(move |core, now, key, req| {
            if req.method_str() != "REGISTER" {
                return;
            }
            let asked = header_of(req, "Expires").unwrap_or(3600);
            let e = if asked == 0 { 0 } else { granted.min(asked) };
            let contact = format!("<sip:bob@{BOB}>;expires={e}");
            respond(
                core,
                now,
                key,
                req,
                200,
                "OK",
                &[("Contact", contact.as_str())],
            );
        }),
    );
}

fn header_of(req: &sipkit_message::Request<'_>, name: &str) -> Option<u32> {
    req.header_value(name).and_then(|v| v.trim().parse().ok())
}

fn register_opts() -> AgentOptions {
    AgentOptions {
        register: Some(format!("sip:{REGISTRAR}")),
        register_expires: 3600,
        ..opts("bob")
    }
}

#[test]
fn rfc3261_10_2_4_the_registration_is_refreshed_at_half_the_granted_expiry() {
    let mut net = Net::new(Netem::perfect());
    registrar(&mut net, 60);
    let b = net.agent(BOB, register_opts(), 2);
    net.run_until(100.0);
    assert_eq!(net.times(b, "REGISTER"), [0.0, 30.0, 60.0, 90.0]);
    let cseqs: Vec<String> = net
        .messages(b, "REGISTER")
        .iter()
        .map(|w| header(&w.bytes, "CSeq").unwrap())
        .collect();
    assert_eq!(
        cseqs,
        ["1 REGISTER", "2 REGISTER", "3 REGISTER", "4 REGISTER"]
    );
    let call_ids: std::collections::BTreeSet<_> = net
        .messages(b, "REGISTER")
        .iter()
        .map(|w| header(&w.bytes, "Call-ID").unwrap())
        .collect();
    assert_eq!(
        call_ids.len(),
        1,
        "one Call-ID for the registration (§10.2.4)"
    );
    let report = net.get(b).report();
    let r = report.registration.unwrap();
    assert_eq!((r.status, r.expires), (Some(200), Some(60)));
    assert_eq!(net.get(b).timer(Timer::Refresh), Some(net.clock.at(120.0)));
    // Stopping un-registers (Expires: 0) and ends on its answer.
    net.with(b, |x, now| x.shutdown(now, "signal"));
    net.run_until(101.0);
    let last = net.messages(b, "REGISTER").pop().unwrap();
    assert_eq!(header(&last.bytes, "Expires").as_deref(), Some("0"));
    assert_eq!(net.get(b).stopped(), Some("signal"));
    assert_eq!(
        net.get(b).report().registration.unwrap().unregister_status,
        Some(200)
    );
}

#[test]
fn a_lost_refresh_is_retransmitted_by_its_transaction() {
    let mut net = Net::new(Netem::perfect());
    registrar(&mut net, 60);
    let b = net.agent(BOB, register_opts(), 2);
    let mut lost = false;
    net.drop_rules.push(Box::new(move |w| {
        let hit = !lost && header(&w.bytes, "CSeq").as_deref() == Some("2 REGISTER");
        lost |= hit;
        hit
    }));
    net.run_until(40.0);
    assert_eq!(
        net.times(b, "REGISTER"),
        [0.0, 30.0, 30.5],
        "Timer E: T1 after the lost one"
    );
    assert_eq!(net.get(b).timer(Timer::Refresh), Some(net.clock.at(60.5)));
}

#[test]
fn registration_refresh_survives_a_lossy_link() {
    for seed in 0..24 {
        let mut net = Net::new(Netem::lossy(seed));
        registrar(&mut net, 60);
        let b = net.agent(BOB, register_opts(), 2);
        net.run_until(200.0);
        let report = net.get(b).report();
        let r = report.registration.unwrap();
        assert_eq!(r.status, Some(200), "seed {seed}");
        let distinct: std::collections::BTreeSet<_> = net
            .messages(b, "REGISTER")
            .iter()
            .map(|w| header(&w.bytes, "CSeq").unwrap())
            .collect();
        assert!(
            distinct.len() >= 6,
            "a refresh about every 30 s: seed {seed}: {distinct:?}"
        );
    }
}

// ----------------------------------------------------- the agent's timers

#[test]
fn answer_delay_hangup_after_and_calls_run_on_the_timer_table() {
    let mut net = Net::new(Netem::perfect());
    let a = net.agent(ALICE, opts("alice"), 1);
    let b = net.agent(
        BOB,
        AgentOptions {
            answer_delay: Duration::from_secs(3),
            hangup_after: Some(Duration::from_secs(10)),
            calls: Some(1),
            ..opts("bob")
        },
        2,
    );
    net.with(a, |x, now| {
        x.call(now, &format!("sip:bob@{BOB}"), RedirectPolicy::default())
    })
    .unwrap();
    net.run_until(1.0);
    assert_eq!(
        net.get(b).timer(Timer::Answer(CallId(0))),
        Some(net.clock.at(3.0))
    );
    net.run_until(30.0);
    assert_eq!(net.times(b, "180 INVITE"), [0.0]);
    assert_eq!(net.times(b, "200 INVITE"), [3.0]);
    assert_eq!(net.times(b, "BYE"), [13.0], "--hangup-after from the ACK");
    assert_eq!(
        net.get(b).stopped(),
        Some("calls"),
        "1.5 s after the call ended"
    );
    assert!(net.notes.iter().any(|(t, at, _)| *at == b && *t == 13.0));
    assert_eq!(net.get(b).report().calls[0].ended, "bye_sent");
    assert_eq!(net.get(a).report().calls[0].ended, "bye_received");
}

#[test]
fn duration_stops_the_agent() {
    let mut net = Net::new(Netem::perfect());
    let b = net.agent(
        BOB,
        AgentOptions {
            duration: Some(Duration::from_secs(7)),
            ..opts("bob")
        },
        2,
    );
    net.run_until(6.9);
    assert_eq!(net.get(b).stopped(), None);
    net.run_until(7.0);
    assert_eq!(net.get(b).stopped(), Some("duration"));
}

#[test]
fn the_agent_speaks_the_language_of_the_knowledge_base() {
    let mut net = Net::new(Netem::perfect());
    registrar(&mut net, 60);
    let b = net.agent(
        BOB,
        AgentOptions {
            lang: sipkit_codes::Lang::RU,
            ..register_opts()
        },
        2,
    );
    net.run_until(1.0);
    let aor = format!("sip:bob@{}", REGISTRAR.split(':').next().unwrap());
    assert_eq!(
        net.infos(b),
        [sipkit_codes::agent_text(
            sipkit_codes::Lang::RU,
            "ua_registered",
            &[("aor", &aor), ("secs", "60")]
        )]
    );
    assert!(net.infos(b)[0].ends_with("зарегистрирован на 60 с"));
}

#[test]
fn rfc3261_9_1_a_call_that_rings_too_long_is_cancelled_after_its_provisional() {
    let mut net = Net::new(Netem::perfect());
    let a = net.agent(ALICE, opts("alice"), 1);
    let b = net.agent(
        BOB,
        AgentOptions {
            answer_code: 180,
            ..opts("bob")
        },
        2,
    );
    // Lose Bob's first four 180s: at the ring timeout (5 s) nothing
    // provisional has come, and no CANCEL may go out before one does.
    let mut lost = 0;
    net.drop_rules.push(Box::new(move |w| {
        let hit = lost < 4 && w.what() == "180 INVITE";
        lost += usize::from(hit);
        hit
    }));
    let mut call = sipkit_ua::CallOptions::new(&format!("sip:bob@{BOB}"));
    call.ring_timeout = Duration::from_secs(5);
    let id = net
        .with(a, |x, now| x.place(now, &call, Some(Duration::ZERO)))
        .unwrap();
    net.run_until(40.0);
    // Bob's transaction resends its 180 with each INVITE retransmission
    // (0, 0.5, 1.5, 3.5, 7.5 s); the fifth arrives.
    assert_eq!(net.times(a, "INVITE"), [0.0, 0.5, 1.5, 3.5, 7.5]);
    assert!(net
        .infos(a)
        .contains(&"no answer in time: cancelling".to_owned()));
    assert_eq!(net.times(a, "CANCEL"), [7.5], "after the 180, not at 5 s");
    assert_eq!(net.times(b, "487 INVITE"), [7.5]);
    let r = net.get(a).call_report(id).unwrap();
    assert_eq!((r.final_status, r.stopped.as_str()), (Some(487), "failed"));
    assert_eq!(r.attempts.len(), 1);
    assert_eq!(net.get(b).report().calls[0].ended, "cancelled");
}

// ------------------------------------------ commands (what the driver runs)

/// `sipkit transfer` as one command: the agent calls, REFERs once the call
/// is up, hangs up once the outcome is known, and is then finished.
#[test]
fn the_transfer_command_calls_refers_hangs_up_and_finishes() {
    let mut net = Net::new(Netem::perfect());
    let a = net.agent(ALICE, opts("alice"), 1);
    net.agent(BOB, opts("bob"), 2);
    net.agent(CAROL, opts("carol"), 3);
    let t = sipkit_ua::TransferOptions {
        call: sipkit_ua::CallOptions::new(&format!("sip:bob@{BOB}")),
        target: format!("sip:carol@{CAROL}"),
        notify_timeout: Duration::from_secs(32),
        no_refer_sub: false,
        lang: sipkit_codes::Lang::EN,
    };
    net.with(a, |x, now| x.command(now, sipkit_ua::Command::Transfer(t)))
        .unwrap();
    assert!(!net.get(a).is_finished());
    net.run_until(10.0);
    assert!(net.get(a).is_finished());
    let r = net.get(a).transfer_report().expect("a transfer report");
    assert_eq!(
        (r.outcome.as_str(), r.diagnosis_code.as_str()),
        ("transferred", "transferred")
    );
    assert_eq!(r.refer_status, Some(200));
    assert_eq!(r.hangup.map(|h| h.by), Some("local".to_owned()));
    let sent: Vec<String> = net
        .sent(a, addr(BOB))
        .into_iter()
        .map(|(_, w)| w)
        .filter(|w| !w.starts_with(char::is_numeric))
        .collect();
    assert_eq!(sent, ["INVITE", "ACK", "REFER", "BYE"]);
}

/// `sipkit call` as one command: finished when the call has ended.
#[test]
fn the_call_command_is_finished_when_the_call_ends() {
    let mut net = Net::new(Netem::perfect());
    let a = net.agent(ALICE, opts("alice"), 1);
    net.agent(BOB, opts("bob"), 2);
    let mut c = sipkit_ua::CallOptions::new(&format!("sip:bob@{BOB}"));
    c.hold = Duration::from_secs(2);
    net.with(a, |x, now| x.command(now, sipkit_ua::Command::Call(c)))
        .unwrap();
    net.run_until(1.0);
    assert!(!net.get(a).is_finished(), "held for 2 s");
    net.run_until(5.0);
    assert!(net.get(a).is_finished());
    let r = net.get(a).placed_call_report().unwrap();
    assert_eq!(r.final_status, Some(200));
    assert_eq!(net.times(a, "BYE"), [2.0]);
}
