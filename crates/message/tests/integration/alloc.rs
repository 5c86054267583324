//! Heap allocations per parse, counted per thread by allocation-counter's
//! global allocator: parsing a typical message must not allocate.

use sipkit_message::{parse, parse_with, Limits, Mode};

use crate::testdata;

fn allocations(f: impl FnOnce()) -> u64 {
    allocation_counter::measure(f).count_total
}

#[test]
fn counter_is_live() {
    assert!(allocations(|| drop(std::hint::black_box(vec![1u8; 10]))) >= 1);
}

#[test]
fn typical_messages_parse_without_allocating() {
    for name in [
        "invite-sdp.sip",
        "302-two-contacts.sip",
        "register.sip",
        "notify-sipfrag.sip",
        "refer.sip",
        "401-challenge.sip",
    ] {
        let buf = testdata(&format!("messages/{name}"));
        let n = allocations(|| {
            let m = parse(std::hint::black_box(&buf)).unwrap();
            std::hint::black_box(&m);
        });
        assert_eq!(n, 0, "{name}: {n} allocations");
        let n = allocations(|| {
            let m = sipkit_message::parse_raw(std::hint::black_box(&buf)).unwrap();
            std::hint::black_box((m.call_id().ok(), m.cseq().ok(), m.top_via().ok()));
        });
        assert_eq!(n, 0, "{name}: {n} allocations in parse_raw");
        let n = allocations(|| {
            let m = parse_with(&buf, &Limits::default(), Mode::Stream).unwrap();
            // Typed access is allocation-free too.
            let vias = m.vias().filter(|v| v.is_ok()).count();
            let contacts = m.contacts().filter(|c| c.is_ok()).count();
            let frag = m.sipfrag().map(|f| f.map(|f| f.status()));
            std::hint::black_box((vias, contacts, frag, m.content_type().ok()));
        });
        assert_eq!(n, 0, "{name} with typed access: {n} allocations");
    }
}

#[test]
fn errors_do_not_allocate() {
    let buf = testdata("rfc4475/scalar02.dat");
    let n = allocations(|| {
        std::hint::black_box(parse(&buf).unwrap_err());
    });
    assert_eq!(n, 0);
}

#[test]
fn many_headers_spill_once() {
    // longreq has more header lines than the inline slots: one heap vector.
    let buf = testdata("rfc4475/longreq.dat");
    let n = allocations(|| drop(std::hint::black_box(parse(&buf).unwrap())));
    assert!(n <= 2, "{n} allocations");
}
