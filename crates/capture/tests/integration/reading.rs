//! Every container, link layer, IP version, fragment and TCP cut recovers
//! the same messages.

use std::io::Write;

use sipkit_capture::synth::{self, Frame, Link, Wire};
use sipkit_capture::{Outcome, ReadError};

use crate::util::*;

fn baseline() -> String {
    let run = analyze(&udp_pcap(Link::Ethernet(vec![]), &both_flows()));
    assert!(run.error.is_none());
    assert_eq!(run.summary.sip_messages, 25);
    counts(&run.summary)
}

#[test]
fn every_link_layer_gives_the_same_counts() {
    let want = baseline();
    for link in [
        Link::Ethernet(vec![100]),
        Link::Ethernet(vec![100, 200]),
        Link::Sll,
        Link::Sll2,
        Link::Raw,
        Link::Null,
    ] {
        let run = analyze(&udp_pcap(link.clone(), &both_flows()));
        assert_eq!(counts(&run.summary), want, "{link:?}");
        assert_eq!(run.calls.len(), 3, "{link:?}");
    }
}

#[test]
fn nanosecond_big_endian_pcap_and_byte_at_a_time() {
    let want = baseline();
    let f = frames(Link::Ethernet(vec![]), &both_flows());
    let file = synth::pcap(1, true, true, &f);
    let run = analyze_chunked(&file, 1);
    assert_eq!(counts(&run.summary), want);
    // Nanosecond timestamps survive: the first message is at t0 exactly.
    assert_eq!(run.calls[0].first_ns, 1_700_000_000_000_000_000);
}

#[test]
fn pcapng_with_two_link_types() {
    let want = baseline();
    let msgs = both_flows();
    let mut eth = Wire::new(Link::Ethernet(vec![]));
    let mut sll2 = Wire::new(Link::Sll2);
    let mut fr: Vec<Frame> = Vec::new();
    for (i, m) in msgs.iter().enumerate() {
        if i % 2 == 0 {
            fr.extend(eth.frames(m));
        } else {
            fr.extend(sll2.frames(m).into_iter().map(|mut f| {
                f.iface = 1;
                f
            }));
        }
    }
    let file = synth::pcapng(&[1, 276], &fr);
    let run = analyze(&file);
    assert!(run.error.is_none(), "{:?}", run.error);
    assert_eq!(counts(&run.summary), want);
}

#[test]
fn gzip_is_the_callers_job_and_works_through_flate2() {
    let file = udp_pcap(Link::Ethernet(vec![]), &both_flows());
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&file).unwrap();
    let gz = gz.finish().unwrap();
    let mut plain = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::MultiGzDecoder::new(&gz[..]), &mut plain)
        .unwrap();
    assert_eq!(counts(&analyze(&plain).summary), baseline());
}

#[test]
fn ipv4_and_ipv6_fragments_are_reassembled() {
    let want = baseline();
    for v6 in [false, true] {
        let mut msgs = both_flows();
        if v6 {
            for m in &mut msgs {
                let map = |a: std::net::SocketAddr| {
                    let std::net::IpAddr::V4(v4) = a.ip() else {
                        unreachable!()
                    };
                    let mut o = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
                    o[12..].copy_from_slice(&v4.octets());
                    std::net::SocketAddr::from((o, a.port()))
                };
                m.src = map(m.src);
                m.dst = map(m.dst);
            }
        }
        let mut w = Wire::new(Link::Ethernet(vec![]));
        w.fragment = Some(256);
        // Fragments arrive in reverse order for every datagram.
        let mut fr = Vec::new();
        for m in &msgs {
            let mut f = w.frames(m);
            f.reverse();
            fr.extend(f);
        }
        assert!(fr.len() > 40, "the messages were fragmented");
        let run = analyze(&synth::pcap(1, false, false, &fr));
        assert_eq!(counts(&run.summary), want, "v6={v6}");
        assert_eq!(run.summary.defrag_dropped, 0);
    }
}

#[test]
fn tcp_coalesced_split_out_of_order_and_retransmitted_segments() {
    let want = baseline();
    let msgs = both_flows();
    let mut w = Wire::new(Link::Ethernet(vec![]));
    w.tcp = true;
    let mut fr = Vec::new();
    let mut i = 0;
    while i < msgs.len() {
        let m = &msgs[i];
        let frame = |w: &Wire, seg: &(u32, u8, Vec<u8>)| Frame {
            ts_ns: m.ts_ns,
            iface: 0,
            data: w.tcp_frame(m.src, m.dst, seg),
        };
        match i % 4 {
            // Split in three, the last two swapped, the first sent twice.
            0 => {
                let segs = w.tcp_segments(m, &[40, 200]);
                let n = segs.len();
                for s in &segs[..n - 2] {
                    fr.push(frame(&w, s));
                }
                fr.push(frame(&w, &segs[n - 1]));
                fr.push(frame(&w, &segs[n - 2]));
                fr.push(frame(&w, &segs[n - 3]));
            }
            // Coalesced with the next message if it goes the same way.
            1 if i + 1 < msgs.len() && msgs[i + 1].src == m.src && msgs[i + 1].dst == m.dst => {
                let mut both = m.clone();
                both.bytes.extend_from_slice(&msgs[i + 1].bytes);
                for s in w.tcp_segments(&both, &[]) {
                    fr.push(frame(&w, &s));
                }
                i += 1;
            }
            _ => {
                for s in w.tcp_segments(m, &[]) {
                    fr.push(frame(&w, &s));
                }
            }
        }
        i += 1;
    }
    let run = analyze(&synth::pcap(1, false, false, &fr));
    assert_eq!(counts(&run.summary), want);
    assert!(run.summary.tcp_retransmitted_segments > 0);
    let redirect = run.call("redir-");
    assert_eq!(redirect.outcome, Outcome::Answered);
    assert!(
        !run.calls
            .iter()
            .flat_map(|c| &c.findings)
            .any(|f| f.id.as_str() == "retransmission_over_tcp"),
        "a TCP-level retransmission is not a SIP retransmission"
    );
}

#[test]
fn truncated_capture_is_analysed_up_to_the_cut() {
    let file = udp_pcap(Link::Ethernet(vec![]), &both_flows());
    let cut = file.len() - 30;
    let run = analyze(&file[..cut]);
    match run.error {
        Some(ReadError::Truncated { offset }) => assert!(offset > 24 && (offset as usize) < cut),
        other => panic!("{other:?}"),
    }
    assert_eq!(run.summary.sip_messages, 24);
}

#[test]
fn a_file_that_is_not_a_capture() {
    let run = analyze(b"this is a text file, not a capture\n");
    assert!(matches!(run.error, Some(ReadError::NotACapture(_))));
}

#[test]
fn sip_on_any_port_is_recognised_and_other_udp_is_not() {
    let mut msgs = synth::scenario::register(1, 1_000_000_000);
    for m in &mut msgs {
        m.src.set_port(40000);
        m.dst.set_port(5072);
    }
    let mut fr = frames(Link::Raw, &msgs);
    let noise = synth::ipv4(
        [10, 0, 0, 1],
        [10, 0, 0, 2],
        17,
        9,
        (0, false),
        &synth::udp(53, 53, b"\x12\x34not sip"),
    );
    fr.push(Frame {
        ts_ns: 2_000_000_000,
        iface: 0,
        data: noise,
    });
    let run = analyze(&synth::pcap(101, false, false, &fr));
    assert_eq!(run.summary.requests["REGISTER"], 2);
    assert_eq!(run.summary.not_sip, 1);
    assert_eq!(run.call("reg-").outcome, Outcome::Completed);
}
