//! Fuzzes `parse` (datagram and stream mode) and `parse_fragment`; whatever
//! parses must serialize and re-parse to an equal message, and every typed
//! accessor must run without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sipkit_message::{parse, parse_fragment, parse_with, wire_reply, Limits, Message, Mode};

fn exercise(m: &Message<'_>) {
    let _ = (
        m.call_id(),
        m.cseq(),
        m.from().tag(),
        m.to().display_name(),
        m.max_forwards(),
    );
    for v in m.vias().flatten() {
        let _ = (v.branch(), v.received(), v.rport(), v.maddr(), v.ttl());
    }
    for c in m.contacts().flatten() {
        let _ = (c.q_millis(), c.expires());
    }
    m.routes().for_each(drop);
    m.record_routes().for_each(drop);
    m.allow().for_each(drop);
    m.require().for_each(drop);
    m.accept().for_each(drop);
    m.warnings().for_each(drop);
    for a in m.www_authenticate().chain(m.authorization()).flatten() {
        let _ = a.param("realm");
    }
    let _ = (m.expires(), m.content_type(), m.refer_to(), m.referred_by());
    let _ = (m.event(), m.subscription_state(), m.retry_after());
    for i in 0..m.headers().len() {
        m.typed_values(i).for_each(drop);
    }
    if let Some(Ok(f)) = m.sipfrag() {
        let _ = f.sipfrag();
    }
    let out = m.to_bytes();
    let again = parse(&out).expect("serialized message re-parses");
    assert!(&again == m, "round trip changed the message");
}

fuzz_target!(|data: &[u8]| {
    match parse(data) {
        Ok(m) => exercise(&m),
        Err(e) => {
            let _ = (e.to_string(), wire_reply(&e));
        }
    }
    let small = Limits {
        max_message_size: 1024,
        max_headers: 16,
        max_nesting: 2,
    };
    if let Ok(m) = parse_with(data, &small, Mode::Stream) {
        exercise(&m);
    }
    let _ = parse_fragment(data, &small, 1);
});
