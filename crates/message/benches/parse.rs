//! Parsing throughput of sipkit-message against the rsip crate, on the same
//! realistic messages (testdata/messages), in the same run.
//!
//! `cargo bench -p sipkit-message --bench parse -- --warm-up-time 1 --measurement-time 3`
//!
//! Four groups, each sipkit against rsip's `SipMessage::try_from`:
//!
//! * `parse`: bytes to a message value. sipkit's [`parse_raw`] does what
//!   rsip's parser does — start line, header lines, body — and checks header
//!   values when they are read, as rsip does.
//! * `parse_typed`: the same, then read the top Via branch, From tag, CSeq,
//!   Call-ID and every Contact, as a transaction layer would.
//! * `validate`: sipkit's [`parse`], which also checks the syntax of every
//!   Via, From, To, Contact, Route, CSeq, Call-ID, … value and the receiver
//!   rules of RFC 3261, against the same rsip parse (which checks none of it).
//! * `validate_typed`: `validate`, then the typed reads of `parse_typed`.
//!
//! After criterion's report, a summary table gives messages/s and MB/s for
//! both parsers and their ratio (sipkit and rsip runs interleaved).
//!
//! [`parse_raw`]: sipkit_message::parse_raw
//! [`parse`]: sipkit_message::parse

// Bench code: measures time and reads fixtures.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::print_stdout, clippy::disallowed_methods, missing_docs)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput};
use rsip::prelude::*;

#[path = "common/readers.rs"]
mod readers;
use readers::{rsip_parse, rsip_typed, sipkit_parse, sipkit_raw, sipkit_raw_typed, sipkit_typed};

const MESSAGES: [(&str, &[u8]); 4] = [
    (
        "invite-sdp",
        include_bytes!("../../../testdata/messages/invite-sdp.sip"),
    ),
    (
        "302-two-contacts",
        include_bytes!("../../../testdata/messages/302-two-contacts.sip"),
    ),
    (
        "register",
        include_bytes!("../../../testdata/messages/register.sip"),
    ),
    (
        "notify-sipfrag",
        include_bytes!("../../../testdata/messages/notify-sipfrag.sip"),
    ),
];

type Parser = fn(&[u8]) -> usize;
const GROUPS: [(&str, Parser, Parser); 4] = [
    ("parse", sipkit_raw, rsip_parse),
    ("parse_typed", sipkit_raw_typed, rsip_typed),
    ("validate", sipkit_parse, rsip_parse),
    ("validate_typed", sipkit_typed, rsip_typed),
];

fn criterion_benches(c: &mut Criterion) {
    for (group, sipkit, rsip) in GROUPS {
        let mut g = c.benchmark_group(group);
        for (name, buf) in MESSAGES {
            g.throughput(Throughput::Bytes(buf.len() as u64));
            g.bench_with_input(BenchmarkId::new("sipkit", name), buf, |b, m| {
                b.iter(|| sipkit(black_box(m)))
            });
            g.bench_with_input(BenchmarkId::new("rsip", name), buf, |b, m| {
                b.iter(|| rsip(black_box(m)))
            });
        }
        g.finish();
    }
}

/// Messages per second of `a` and of `b`: the best of seven ~0.15 s runs
/// each, the two parsers' runs interleaved so a change in machine load hits both.
fn rates(a: Parser, b: Parser, buf: &[u8]) -> (f64, f64) {
    let run = |f: Parser| {
        let start = Instant::now();
        let mut n = 0u64;
        while start.elapsed() < Duration::from_millis(150) {
            for _ in 0..256 {
                black_box(f(black_box(buf)));
            }
            n += 256;
        }
        n as f64 / start.elapsed().as_secs_f64()
    };
    let (mut ra, mut rb) = (0f64, 0f64);
    for _ in 0..7 {
        ra = ra.max(run(a));
        rb = rb.max(run(b));
    }
    (ra, rb)
}

fn summary() {
    println!();
    println!(
        "{:<14} {:<18} {:>6} {:>13} {:>9} {:>13} {:>9} {:>7}",
        "group", "message", "bytes", "sipkit msg/s", "MB/s", "rsip msg/s", "MB/s", "ratio"
    );
    for (group, sipkit, rsip) in GROUPS {
        for (name, buf) in MESSAGES {
            let (a, b) = rates(sipkit, rsip, buf);
            let mb = |r: f64| r * buf.len() as f64 / 1e6;
            println!(
                "{group:<14} {name:<18} {:>6} {a:>13.0} {:>9.1} {b:>13.0} {:>9.1} {:>6.1}x",
                buf.len(),
                mb(a),
                mb(b),
                a / b
            );
        }
    }
}

fn main() {
    // Both parsers must accept every fixture, or the comparison is void.
    for (name, buf) in MESSAGES {
        assert!(sipkit_message::parse(buf).is_ok(), "sipkit rejects {name}");
        assert_eq!(sipkit_raw(buf), sipkit_parse(buf), "{name}");
        assert_eq!(sipkit_raw_typed(buf), sipkit_typed(buf), "{name}");
        assert!(
            rsip::SipMessage::try_from(buf).is_ok(),
            "rsip rejects {name}"
        );
        assert_eq!(
            sipkit_parse(buf),
            rsip_parse(buf),
            "header count differs for {name}"
        );
        let m = rsip::SipMessage::try_from(buf).expect("rsip parses");
        for c in m.contact_headers() {
            if let Err(e) = c.typed() {
                eprintln!("note: rsip cannot type a Contact of {name}: {e}");
            }
        }
    }
    let mut c = Criterion::default().configure_from_args();
    criterion_benches(&mut c);
    c.final_summary();
    // `cargo bench` passes --bench; `cargo test --benches` runs each bench once and skips this.
    if std::env::args().any(|a| a == "--bench") {
        summary();
    }
}
