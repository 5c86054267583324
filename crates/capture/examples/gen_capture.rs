//! Writes a synthetic SIP capture (classic pcap, Ethernet, UDP) made of
//! benchmark rounds (`sipkit_capture::synth::scenario::bench_round`): a
//! REGISTER with its challenge, a redirected call with a retransmitted
//! INVITE, and a blind transfer. Rounds start 20 ms apart, so about 50
//! calls are open at once.
//!
//! `cargo run --release -p sipkit-capture --example gen_capture -- OUT.pcap PACKETS`

#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)] // a tool, not a library

use std::io::Write;

use sipkit_capture::synth::{pcap_header, pcap_record, scenario, Link, Wire};

fn main() {
    let mut args = std::env::args().skip(1);
    let out = args.next().expect("usage: gen_capture OUT.pcap PACKETS");
    let packets: u64 = args
        .next()
        .map_or(1_000_000, |s| s.parse().expect("PACKETS is a number"));
    let mut file = std::io::BufWriter::with_capacity(
        1 << 20,
        std::fs::File::create(&out).expect("creating OUT"),
    );
    file.write_all(&pcap_header(1, false, false)).unwrap();
    let mut wire = Wire::new(Link::Ethernet(vec![]));
    let (mut written, mut bytes, mut n) = (0u64, 24u64, 0u64);
    let t0 = 1_700_000_000_000_000_000i64;
    // Rounds overlap (each lasts ~9 s); keep a window sorted by time.
    let mut window: Vec<sipkit_capture::synth::Msg> = Vec::new();
    let mut buf = Vec::with_capacity(1 << 16);
    while written < packets {
        let start = t0 + i64::try_from(n).unwrap() * 20_000_000;
        window.extend(scenario::bench_round(n, start));
        n += 1;
        window.sort_by_key(|m| m.ts_ns);
        let ready = window.partition_point(|m| m.ts_ns < start);
        for m in window.drain(..ready) {
            for f in wire.frames(&m) {
                if written >= packets {
                    break;
                }
                buf.clear();
                pcap_record(&mut buf, &f, false, false);
                file.write_all(&buf).unwrap();
                written += 1;
                bytes += buf.len() as u64;
            }
        }
    }
    file.flush().unwrap();
    println!("{out}: {written} packets, {bytes} bytes, {n} rounds");
}
