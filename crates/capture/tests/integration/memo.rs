//! The analyzer's per-call memo of header values (`Analyzer::raw_message`)
//! changes nothing: the same messages read through `View::of_raw` alone
//! give the same calls, findings, counts and errors, byte for byte.

use proptest::prelude::*;

use crate::util::*;
use sipkit_capture::render::write_call_json;
use sipkit_capture::{Analyzer, Config, Meta, Transport, View};
use sipkit_codes::Lang;
use sipkit_message::parse_raw;

/// Every message of `msgs` through one analyzer, by the memo path or by
/// `View::of_raw`; the JSON of every call, then the counts and errors.
fn run(msgs: &[sipkit_capture::synth::Msg], memo: bool) -> String {
    let mut a = Analyzer::new(Config::default());
    let mut out = Vec::new();
    for (i, m) in msgs.iter().enumerate() {
        let meta = Meta {
            frame: i as u64 + 1,
            ts_ns: m.ts_ns,
            src: m.src,
            dst: m.dst,
            transport: Transport::Udp,
        };
        a.tick(m.ts_ns);
        let Ok(raw) = parse_raw(&m.bytes) else {
            out.extend_from_slice(b"split error\n");
            continue;
        };
        let read = if memo {
            a.raw_message(meta, &raw)
        } else {
            View::of_raw(&raw).map(|v| a.view(meta, &v))
        };
        if let Err(e) = read {
            out.extend_from_slice(format!("read error {i}: {e}\n").as_bytes());
        }
    }
    a.finish();
    while let Some(c) = a.poll_call() {
        write_call_json(&mut out, &c, Lang::EN);
        out.push(b'\n');
    }
    out.extend_from_slice(counts(a.summary()).as_bytes());
    String::from_utf8_lossy(&out).into_owned()
}

/// Replaces the byte at `at` (cyclically) of the From, To, Via or Call-ID
/// value (`header` 0–3) of message `i` with `b`.
fn mutate(msgs: &mut [sipkit_capture::synth::Msg], i: usize, header: usize, at: usize, b: u8) {
    let n = msgs.len();
    let m = &mut msgs[i % n];
    let name: &[u8] = [&b"\nFrom: "[..], b"\nTo: ", b"\nVia: ", b"\nCall-ID: "][header % 4];
    let Some(start) = m.bytes.windows(name.len()).position(|w| w == name) else {
        return;
    };
    let start = start + name.len();
    let end = start
        + m.bytes[start..]
            .iter()
            .position(|&c| c == b'\r')
            .unwrap_or(0);
    if end > start {
        m.bytes[start + at % (end - start)] = b;
    }
}

#[test]
fn memo_matches_plain_reads_on_clean_flows() {
    let msgs = both_flows();
    assert_eq!(run(&msgs, true), run(&msgs, false));
    // A value that broke after the call showed it whole is still an error.
    let mut broken = msgs.clone();
    for i in 3..6 {
        mutate(&mut broken, i, 0, 0, b'"');
        mutate(&mut broken, i + 3, 2, 3, b' ');
    }
    let memo = run(&broken, true);
    assert!(memo.matches("read error ").count() >= 3, "{memo}");
    assert_eq!(memo, run(&broken, false));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Values that differ in one byte from one seen before (a new tag, a
    /// broken URI, a stray quote) are read afresh, errors included.
    #[test]
    fn memo_matches_plain_reads_on_mutated_values(
        edits in proptest::collection::vec(
            (any::<usize>(), 0usize..4, any::<usize>(),
             prop_oneof![Just(b'"'), Just(b'<'), Just(b';'), Just(b' '), Just(b'x'), Just(b'%'), Just(0u8)]),
            1..12),
    ) {
        let mut msgs = both_flows();
        for (i, h, at, b) in edits {
            mutate(&mut msgs, i, h, at, b);
        }
        prop_assert_eq!(run(&msgs, true), run(&msgs, false));
    }
}
