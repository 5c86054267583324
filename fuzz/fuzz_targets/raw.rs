//! Fuzzes `parse_raw` against `parse`: whatever `parse` accepts, `parse_raw`
//! accepts; whenever `parse_raw` accepts, `validate` gives exactly what `parse`
//! gives; the fallible accessors agree with the checked ones, and none panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sipkit_message::{parse_raw_with, parse_with, Limits, Mode, RawMessage};

fn exercise(r: &RawMessage<'_>) {
    let _ = (r.call_id(), r.cseq(), r.from(), r.to(), r.top_via());
    let _ = (r.max_forwards(), r.method(), r.status(), r.uri(), r.start_line());
    r.vias().for_each(drop);
    r.contacts().for_each(drop);
    r.routes().for_each(drop);
    for i in 0..r.header_count() {
        r.typed_values(i).for_each(drop);
    }
    let _ = (r.expires(), r.content_type(), r.sipfrag());
}

fn check(data: &[u8], limits: &Limits, mode: Mode) {
    let strict = parse_with(data, limits, mode);
    let raw = parse_raw_with(data, limits, mode);
    match (&strict, &raw) {
        (Ok(m), Ok(r)) => {
            exercise(r);
            assert!(r.validate().as_ref() == Ok(m), "validate differs from parse");
            assert_eq!(r.call_id().ok(), Some(m.call_id()));
            assert_eq!(r.cseq().ok(), Some(m.cseq()));
            assert!(r.headers().eq(m.headers()), "headers differ");
            assert_eq!(r.body(), m.body());
        }
        (Err(e), Ok(r)) => {
            exercise(r);
            assert_eq!(r.validate().as_ref().err(), Some(e), "validate error differs");
        }
        (Ok(_), Err(e)) => panic!("parse accepts what parse_raw rejects: {e}"),
        (Err(_), Err(_)) => {}
    }
}

fuzz_target!(|data: &[u8]| {
    check(data, &Limits::default(), Mode::Datagram);
    let small = Limits {
        max_message_size: 1024,
        max_headers: 16,
        max_nesting: 2,
    };
    check(data, &small, Mode::Stream);
});
