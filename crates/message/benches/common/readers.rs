//! The parses and typed reads that the `parse` bench times and
//! `examples/parse_loop.rs` runs under callgrind: one definition for both, so
//! the two measure the same work. Each panics if a fixture does not parse
//! (both run on `testdata/messages`, which every parser here accepts).

use rsip::prelude::*;

pub fn sipkit_raw(buf: &[u8]) -> usize {
    let m = sipkit_message::parse_raw(buf).expect("sipkit splits the fixture");
    m.headers().len()
}

pub fn sipkit_raw_typed(buf: &[u8]) -> usize {
    let m = sipkit_message::parse_raw(buf).expect("parse_raw");
    let via = m.top_via().expect("via");
    let mut n = via.branch().map_or(0, str::len);
    n += m.from().expect("from").tag().map_or(0, str::len);
    n += m.cseq().expect("cseq").seq as usize + m.call_id().expect("call-id").len();
    for c in m.contacts() {
        n += c
            .expect("contact")
            .address()
            .map_or(0, |a| a.uri.as_str().len());
    }
    n
}

pub fn sipkit_parse(buf: &[u8]) -> usize {
    let m = sipkit_message::parse(buf).expect("sipkit parses the fixture");
    m.headers().len()
}

pub fn rsip_parse(buf: &[u8]) -> usize {
    let m = rsip::SipMessage::try_from(buf).expect("rsip parses the fixture");
    m.headers().iter().count()
}

pub fn sipkit_typed(buf: &[u8]) -> usize {
    let m = sipkit_message::parse(buf).expect("parse");
    let via = m.top_via().expect("via");
    let mut n = via.branch().map_or(0, str::len);
    n += m.from().tag().map_or(0, str::len);
    n += m.cseq().seq as usize + m.call_id().len();
    for c in m.contacts() {
        n += c
            .expect("contact")
            .address()
            .map_or(0, |a| a.uri.as_str().len());
    }
    n
}

pub fn rsip_typed(buf: &[u8]) -> usize {
    let m = rsip::SipMessage::try_from(buf).expect("parse");
    let via = m.via_header().expect("via").typed().expect("typed via");
    let mut n = via.branch().map_or(0, |b| b.to_string().len());
    n += m
        .from_header()
        .expect("from")
        .tag()
        .expect("tag")
        .map_or(0, |t| t.to_string().len());
    n += m
        .cseq_header()
        .expect("cseq")
        .typed()
        .expect("typed cseq")
        .seq as usize;
    n += m.call_id_header().expect("call-id").to_string().len();
    for c in m.contact_headers() {
        // rsip 0.4 cannot type a Contact with a quoted parameter holding '<'
        // (register.sip's +sip.instance, RFC 5626); the attempt is still timed.
        n += c.typed().map_or(1, |c| c.uri.to_string().len());
    }
    n
}
