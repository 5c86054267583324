//! Each finding, from a capture made to show it (and its absence where the
//! flow is right). Named after the RFC sections they check.

use sipkit_capture::synth::{self, scenario, Link, Msg, Wire};
use sipkit_capture::{CaptureReader, Outcome, Pipeline};

use crate::util::*;

const T0: i64 = 1_700_000_000_000_000_000;
const S: i64 = 1_000_000_000;

fn run(msgs: &[Msg]) -> Run {
    analyze(&udp_pcap(Link::Ethernet(vec![]), msgs))
}

fn edit(m: &mut Msg, from: &str, to: &str) {
    let s = String::from_utf8(m.bytes.clone())
        .unwrap()
        .replace(from, to);
    m.bytes = s.into_bytes();
}

#[test]
fn rfc3261_8_1_3_4_redirect_followed_and_rfc3515_transfer_succeeded() {
    let r = run(&both_flows());
    let redirect = r.call("redir-");
    assert_eq!(redirect.outcome, Outcome::Answered);
    assert_eq!(r.finding_ids("redir-"), ["redirect_followed"]);
    assert_eq!(redirect.findings[0].packets, [2, 4]);
    let x = r.call("xfer-");
    assert_eq!(x.outcome, Outcome::Transferred);
    assert_eq!(r.finding_ids("xfer-"), ["transfer_succeeded"]);
    let en = x.findings[0].message(sipkit_codes::Lang::EN);
    assert!(en.contains("SIP/2.0 200 OK"), "{en}");
    let ru = x.findings[0].message(sipkit_codes::Lang::RU);
    assert!(ru.contains("удался"), "{ru}");
    // The transferee's new call is linked to the REFER's call.
    assert_eq!(x.links, [r.call("xfer2-").call_id.clone()]);
    assert_eq!(r.call("xfer2-").outcome, Outcome::Answered);
    assert!(r.call("xfer2-").findings.is_empty());
}

#[test]
fn rfc3515_2_4_5_transfer_failed() {
    let r = run(&scenario::transfer(1, T0, "486 Busy Here"));
    assert_eq!(r.finding_ids("xfer-"), ["transfer_failed"]);
    assert_eq!(r.call("xfer-").outcome, Outcome::Answered);
}

#[test]
fn rfc3515_2_4_4_transfer_no_notify() {
    let mut m = scenario::transfer(1, T0, "200 OK");
    for i in [11, 10, 6, 5] {
        m.remove(i);
    }
    let r = run(&m);
    assert_eq!(r.finding_ids("xfer-"), ["transfer_no_notify"]);
}

#[test]
fn rfc3515_2_4_2_transfer_rejected() {
    let mut m = scenario::transfer(1, T0, "200 OK");
    m[4].bytes = synth::response(&m[3].bytes, 603, "Decline", None, "");
    m.truncate(5);
    let r = run(&m);
    assert!(r.finding_ids("xfer-").contains(&"transfer_rejected"));
}

#[test]
fn rfc4488_4_refer_sub_false_expects_no_notify() {
    let mut m = scenario::transfer(1, T0, "200 OK");
    edit(&mut m[3], "Refer-To:", "Refer-Sub: false\r\nRefer-To:");
    m[4].bytes = synth::response(&m[3].bytes, 202, "Accepted", None, "Refer-Sub: false\r\n");
    for i in [11, 10, 6, 5] {
        m.remove(i);
    }
    let r = run(&m);
    assert_eq!(r.finding_ids("xfer-"), ["refer_sub_false"]);
}

#[test]
fn rfc3261_8_1_3_4_redirect_not_followed() {
    let m = scenario::redirect(1, T0, 100);
    let r = run(&m[..3]);
    assert_eq!(r.finding_ids("redir-"), ["redirect_not_followed"]);
    assert_eq!(r.call("redir-").outcome, Outcome::Redirected);
}

#[test]
fn rfc3261_8_1_3_4_retry_with_cseq_not_higher() {
    let mut m = scenario::redirect(1, T0, 100);
    for msg in &mut m[3..=5] {
        edit(msg, "CSeq: 2 INVITE", "CSeq: 1 INVITE");
    }
    edit(&mut m[6], "CSeq: 2 ACK", "CSeq: 1 ACK");
    let r = run(&m);
    let ids = r.finding_ids("redir-");
    assert!(ids.contains(&"redirect_followed"), "{ids:?}");
    assert!(ids.contains(&"redirect_retry_invalid"), "{ids:?}");
    let f = r
        .call("redir-")
        .findings
        .iter()
        .find(|f| f.id.as_str() == "redirect_retry_invalid")
        .unwrap();
    assert!(f.message(sipkit_codes::Lang::EN).contains("CSeq"));
}

#[test]
fn rfc3261_8_1_3_4_retry_with_a_new_call_id() {
    let mut m = scenario::redirect(1, T0, 100);
    for msg in &mut m[3..] {
        edit(msg, "Call-ID: redir-1@", "Call-ID: other-1@");
    }
    let r = run(&m);
    let ids = r.finding_ids("other-");
    assert!(ids.contains(&"redirect_retry_invalid"), "{ids:?}");
    assert!(r
        .call("other-")
        .findings
        .iter()
        .any(|f| f.args.iter().any(|a| a.1 == "@call_id_changed")));
    // The original call is not said to be unfollowed, and the two are linked.
    assert!(
        r.finding_ids("redir-").is_empty(),
        "{:?}",
        r.finding_ids("redir-")
    );
    assert_eq!(r.call("redir-").links.len(), 1);
}

#[test]
fn rfc3261_8_1_3_4_redirect_loop() {
    let mut m = scenario::redirect(1, T0, 100);
    edit(
        &mut m[1],
        "Contact: <sip:carol@192.0.2.30>",
        "Contact: <sip:bob@192.0.2.20>",
    );
    let r = run(&m[..3]);
    assert!(r.finding_ids("redir-").contains(&"redirect_loop"));
}

/// INVITE over UDP at 0, 0.5, 1.5, 3.5 s (Timer A doubling from T1): no
/// spacing finding; nothing answers and the capture goes on past 32 s:
/// Timer B expired and the INVITE is unanswered (RFC 3261 §17.1.1.2).
#[test]
fn rfc3261_17_1_1_2_timer_a_spacing_and_timer_b() {
    let m = scenario::redirect(1, T0, 100);
    let mut msgs = Vec::new();
    for t in [0, 500, 1500, 3500] {
        let mut x = m[0].clone();
        x.ts_ns = T0 + t * 1_000_000;
        msgs.push(x);
    }
    let mut late = scenario::register(9, T0 + 40 * S);
    msgs.append(&mut late);
    let r = run(&msgs);
    let ids = r.finding_ids("redir-");
    assert_eq!(ids, ["unanswered_invite", "timer_expired"]);
    assert_eq!(r.summary.retransmissions, 3);
    assert_eq!(r.call("redir-").outcome, Outcome::Unanswered);
    assert!(r.call("redir-").messages[1].retransmission);
}

/// A non-INVITE retransmitted after 100 ms instead of T1 = 500 ms.
#[test]
fn rfc3261_17_1_2_2_timer_e_spacing() {
    let mut m = scenario::register(1, T0);
    let mut again = m[0].clone();
    again.ts_ns += 100_000_000;
    m.insert(1, again);
    let r = run(&m);
    assert_eq!(r.finding_ids("reg-"), ["retransmission_spacing"]);
    let text = r.call("reg-").findings[0].message(sipkit_codes::Lang::EN);
    assert!(text.contains("100 ms") && text.contains("500 ms"), "{text}");
}

#[test]
fn rfc3261_17_1_1_2_retransmission_over_tcp() {
    let m = scenario::register(1, T0);
    let mut msgs = m.clone();
    let mut again = m[0].clone();
    again.ts_ns += 500_000_000;
    msgs.insert(1, again);
    let mut w = Wire::new(Link::Ethernet(vec![]));
    w.tcp = true;
    let r = analyze(&synth::pcap(1, false, false, &w.all(&msgs)));
    assert_eq!(r.finding_ids("reg-"), ["retransmission_over_tcp"]);
}

#[test]
fn rfc3261_13_2_2_4_no_ack_for_2xx() {
    let mut m = scenario::transfer(1, T0, "200 OK");
    m.remove(2);
    let r = run(&m);
    assert!(r.finding_ids("xfer-").contains(&"no_ack_for_2xx"));
}

#[test]
fn rfc3261_22_2_auth_loop() {
    let m = scenario::register(1, T0);
    let mut msgs = vec![m[0].clone(), m[1].clone()];
    for i in 0..3 {
        let mut r = m[2].clone();
        edit(&mut r, "CSeq: 2", &format!("CSeq: {}", i + 2));
        edit(&mut r, "z9hG4bKg1b", &format!("z9hG4bKg1b{i}"));
        r.ts_ns += i64::from(i) * S;
        let mut c = m[1].clone();
        c.bytes = synth::response(&r.bytes, 401, "Unauthorized", Some("s1"), "");
        c.ts_ns = r.ts_ns + 1_000_000;
        msgs.push(r);
        msgs.push(c);
    }
    let r = run(&msgs);
    assert_eq!(r.finding_ids("reg-"), ["auth_loop"]);
    // One challenge then success is normal.
    assert!(run(&m).finding_ids("reg-").is_empty());
}

#[test]
fn rfc3261_7_malformed_message_with_line_and_column() {
    let mut m = scenario::register(1, T0);
    edit(&mut m[0], "CSeq: 1 REGISTER", "CSeq: one REGISTER");
    let r = run(&m);
    let f = &r.call("reg-").findings[0];
    assert_eq!(f.id.as_str(), "malformed_message");
    assert_eq!(f.packets, [1]);
    let text = f.message(sipkit_codes::Lang::EN);
    assert!(text.contains("line 7"), "{text}");
}

/// A header the analysis does not read (here a Contact of a REGISTER) is
/// not checked by default, so the message is analysed; with
/// `Config::validate` the full receiver check of RFC 3261 (§7.3.1, §20.10)
/// makes it a `malformed_message`, with its line and column. A malformed
/// header the analysis reads is reported either way.
#[test]
fn rfc3261_7_unread_header_checked_only_with_validate() {
    let mut m = scenario::register(1, T0);
    edit(&mut m[0], "Contact: <", "Contact: bad<<");
    let file = udp_pcap(synth::Link::Ethernet(vec![]), &m);
    let fast = analyze(&file);
    assert!(fast.finding_ids("reg-").is_empty());
    assert_eq!(fast.summary.requests["REGISTER"], 2);
    let full = analyze_validated(&file);
    let f = &full.call("reg-").findings[0];
    assert_eq!(f.id.as_str(), "malformed_message");
    assert_eq!(f.packets, [1]);
    let text = f.message(sipkit_codes::Lang::EN);
    assert!(text.contains("line 8"), "{text}");
    assert_eq!(full.summary.requests["REGISTER"], 1);

    // CSeq is read: malformed with or without validation, at the same place.
    let mut m = scenario::register(1, T0);
    edit(&mut m[0], "CSeq: 1 REGISTER", "CSeq: one REGISTER");
    let file = udp_pcap(synth::Link::Ethernet(vec![]), &m);
    let fast = analyze(&file);
    let full = analyze_validated(&file);
    let text = |r: &Run| r.call("reg-").findings[0].message(sipkit_codes::Lang::EN);
    assert_eq!(text(&fast), text(&full));
}

/// Calls leave memory as capture time passes: with 200 calls a minute
/// apart, at most a couple are open at once and most come out before the end.
#[test]
fn calls_stream_out_in_bounded_memory() {
    let mut msgs = Vec::new();
    for n in 0..200 {
        msgs.extend(scenario::redirect(
            n,
            T0 + i64::try_from(n).unwrap() * 60 * S,
            100,
        ));
    }
    let file = udp_pcap(Link::Raw, &msgs);
    let mut r = CaptureReader::new();
    let mut p = Pipeline::default();
    r.push(&file);
    let (mut before_end, mut max_open) = (0, 0);
    while let Some(rec) = r.next_record().unwrap() {
        p.frame(&rec);
        max_open = max_open.max(p.open_calls());
        while p.poll_call().is_some() {
            before_end += 1;
        }
    }
    assert!(max_open <= 2, "{max_open}");
    assert!(before_end >= 198, "{before_end}");
}

/// RFC 3261 §25.1: any token is a method. A capture of endless invented
/// methods keeps the summary bounded: the first `MAX_METHODS` are counted
/// by name, the rest together, and every request is still counted.
#[test]
fn invented_methods_beyond_the_bound_are_counted_together() {
    let base = both_flows();
    let template = base[0].clone();
    let mut msgs = Vec::new();
    let n = sipkit_capture::analyze::MAX_METHODS + 36;
    for i in 0..n {
        let mut m = template.clone();
        let text = String::from_utf8(m.bytes.clone()).unwrap();
        let method = format!("X{i}");
        let (start, rest) = text.split_once("\r\n").unwrap();
        let uri = start.split(' ').nth(1).unwrap();
        let cseq_method = start.split(' ').next().unwrap();
        let rest = rest
            .replace(&format!(" {cseq_method}\r\n"), &format!(" {method}\r\n"))
            .replace("Call-ID: ", &format!("Call-ID: m{i}-"));
        m.bytes = format!("{method} {uri} SIP/2.0\r\n{rest}").into_bytes();
        m.ts_ns += i as i64 * 1_000_000;
        msgs.push(m);
    }
    let r = run(&msgs);
    let s = &r.summary;
    assert_eq!(
        s.requests.len(),
        sipkit_capture::analyze::MAX_METHODS + 1,
        "{:?}",
        s.requests
    );
    assert_eq!(s.requests.get("X0"), Some(&1));
    assert_eq!(
        s.requests.get(sipkit_capture::analyze::OTHER_METHODS),
        Some(&36)
    );
    assert_eq!(s.requests.values().sum::<u64>(), n as u64);
    assert!(r.calls.iter().all(|c| c
        .findings
        .iter()
        .all(|f| f.id.as_str() != "malformed_message")));
}
