//! Making captures: SIP messages wrapped in UDP or TCP, IPv4 or IPv6
//! (fragmented if asked), any supported link layer, written as pcap or
//! pcapng bytes. The tests' fixtures, the benchmark's million-packet file
//! and the fuzzers' seeds come from here, so every hard case is built the
//! same way and none is a binary nobody can regenerate.

use std::net::{IpAddr, SocketAddr};

use crate::net::{
    LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2, LINKTYPE_NULL, LINKTYPE_RAW,
};

/// A link layer to wrap IP packets in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Link {
    /// Ethernet II with these 802.1Q tags (0, 1 or 2: QinQ uses 0x88a8 outside).
    Ethernet(Vec<u16>),
    /// Linux cooked capture v1.
    Sll,
    /// Linux cooked capture v2.
    Sll2,
    /// Raw IP.
    Raw,
    /// BSD loopback (family word in little-endian host order).
    Null,
}

impl Link {
    /// The LINKTYPE_* value.
    pub fn linktype(&self) -> u32 {
        match self {
            Link::Ethernet(_) => LINKTYPE_ETHERNET,
            Link::Sll => LINKTYPE_LINUX_SLL,
            Link::Sll2 => LINKTYPE_LINUX_SLL2,
            Link::Raw => LINKTYPE_RAW,
            Link::Null => LINKTYPE_NULL,
        }
    }

    /// Wraps an IP packet.
    pub fn wrap(&self, ip: &[u8]) -> Vec<u8> {
        let v6 = ip.first().is_some_and(|b| b >> 4 == 6);
        let ethertype: u16 = if v6 { 0x86dd } else { 0x0800 };
        let mut o = Vec::with_capacity(ip.len() + 40);
        match self {
            Link::Ethernet(vlans) => {
                o.extend([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1]);
                for (i, id) in vlans.iter().enumerate() {
                    let tpid: u16 = if i == 0 && vlans.len() == 2 {
                        0x88a8
                    } else {
                        0x8100
                    };
                    o.extend(tpid.to_be_bytes());
                    o.extend((id & 0x0fff).to_be_bytes());
                }
                o.extend(ethertype.to_be_bytes());
            }
            Link::Sll => {
                o.extend([0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0]);
                o.extend(ethertype.to_be_bytes());
            }
            Link::Sll2 => {
                o.extend(ethertype.to_be_bytes());
                o.extend([0, 0, 0, 0, 0, 1, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0]);
            }
            Link::Raw => {}
            Link::Null => o.extend(if v6 { 30u32 } else { 2u32 }.to_le_bytes()),
        }
        o.extend_from_slice(ip);
        o
    }
}

fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for ch in data.chunks(2) {
        let w = u16::from_be_bytes([ch[0], *ch.get(1).unwrap_or(&0)]);
        sum += u32::from(w);
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// An IPv4 packet (header checksum filled in).
pub fn ipv4(
    src: [u8; 4],
    dst: [u8; 4],
    proto: u8,
    id: u16,
    frag: (usize, bool),
    payload: &[u8],
) -> Vec<u8> {
    let total = (20 + payload.len()).min(65535) as u16;
    let flags_off = ((frag.0 / 8) as u16 & 0x1fff) | if frag.1 { 0x2000 } else { 0 };
    let mut h = vec![0x45, 0];
    h.extend(total.to_be_bytes());
    h.extend(id.to_be_bytes());
    h.extend(flags_off.to_be_bytes());
    h.extend([64, proto, 0, 0]);
    h.extend(src);
    h.extend(dst);
    let c = checksum(&h);
    h[10..12].copy_from_slice(&c.to_be_bytes());
    h.extend_from_slice(payload);
    h
}

/// An IPv6 packet; with `frag = Some((id, offset, more))` it carries a
/// Fragment header (RFC 8200 §4.5).
pub fn ipv6(
    src: [u8; 16],
    dst: [u8; 16],
    proto: u8,
    frag: Option<(u32, usize, bool)>,
    payload: &[u8],
) -> Vec<u8> {
    let ext = if frag.is_some() { 8 } else { 0 };
    let mut h = vec![0x60, 0, 0, 0];
    h.extend(((payload.len() + ext) as u16).to_be_bytes());
    h.push(if frag.is_some() { 44 } else { proto });
    h.push(64);
    h.extend(src);
    h.extend(dst);
    if let Some((id, off, more)) = frag {
        h.extend([proto, 0]);
        h.extend((((off / 8) as u16) << 3 | u16::from(more)).to_be_bytes());
        h.extend(id.to_be_bytes());
    }
    h.extend_from_slice(payload);
    h
}

/// A UDP header and payload (checksum 0: not computed).
pub fn udp(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut o = Vec::with_capacity(payload.len() + 8);
    o.extend(sport.to_be_bytes());
    o.extend(dport.to_be_bytes());
    o.extend(((payload.len() + 8) as u16).to_be_bytes());
    o.extend([0, 0]);
    o.extend_from_slice(payload);
    o
}

/// TCP flags.
pub const SYN: u8 = 0x02;
/// ACK flag.
pub const ACK: u8 = 0x10;
/// PSH flag.
pub const PSH: u8 = 0x08;
/// FIN flag.
pub const FIN: u8 = 0x01;

/// A TCP header (20 bytes, no options) and payload.
pub fn tcp(sport: u16, dport: u16, seq: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut o = Vec::with_capacity(payload.len() + 20);
    o.extend(sport.to_be_bytes());
    o.extend(dport.to_be_bytes());
    o.extend(seq.to_be_bytes());
    o.extend(1u32.to_be_bytes());
    o.extend([0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    o.extend_from_slice(payload);
    o
}

/// IP packets carrying one transport payload from `src` to `dst`, in
/// fragments of at most `mtu_payload` bytes if given (a multiple of 8).
pub fn ip_packets(
    src: SocketAddr,
    dst: SocketAddr,
    proto: u8,
    l4: &[u8],
    id: u32,
    mtu_payload: Option<usize>,
) -> Vec<Vec<u8>> {
    let chunks: Vec<(usize, &[u8], bool)> = match mtu_payload {
        Some(m) if l4.len() > m && m >= 8 => {
            let m = m / 8 * 8;
            let n = l4.len().div_ceil(m);
            (0..n)
                .map(|i| {
                    let end = ((i + 1) * m).min(l4.len());
                    (i * m, &l4[i * m..end], i + 1 < n)
                })
                .collect()
        }
        _ => vec![(0, l4, false)],
    };
    let fragmented = chunks.len() > 1;
    chunks
        .into_iter()
        .map(|(off, data, more)| match (src.ip(), dst.ip()) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                ipv4(s.octets(), d.octets(), proto, id as u16, (off, more), data)
            }
            (IpAddr::V6(s), IpAddr::V6(d)) => ipv6(
                s.octets(),
                d.octets(),
                proto,
                fragmented.then_some((id, off, more)),
                data,
            ),
            (s, d) => {
                let v6 = |a: IpAddr| match a {
                    IpAddr::V4(x) => x.to_ipv6_mapped().octets(),
                    IpAddr::V6(x) => x.octets(),
                };
                ipv6(v6(s), v6(d), proto, None, data)
            }
        })
        .collect()
}

/// One frame to write: time (ns), interface (pcapng) and bytes.
#[derive(Debug, Clone)]
pub struct Frame {
    /// Capture time, ns since the epoch.
    pub ts_ns: i64,
    /// Interface index (pcapng only).
    pub iface: u32,
    /// The link-layer frame.
    pub data: Vec<u8>,
}

/// The 24-byte classic pcap file header; `nanos` picks the nanosecond
/// magic, `big_endian` the byte order.
pub fn pcap_header(linktype: u32, nanos: bool, big_endian: bool) -> Vec<u8> {
    let mut o = Vec::with_capacity(24);
    let w32 = |o: &mut Vec<u8>, x: u32| {
        o.extend(if big_endian {
            x.to_be_bytes()
        } else {
            x.to_le_bytes()
        })
    };
    let w16 = |o: &mut Vec<u8>, x: u16| {
        o.extend(if big_endian {
            x.to_be_bytes()
        } else {
            x.to_le_bytes()
        })
    };
    w32(&mut o, if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 });
    w16(&mut o, 2);
    w16(&mut o, 4);
    w32(&mut o, 0);
    w32(&mut o, 0);
    w32(&mut o, 262_144);
    w32(&mut o, linktype);
    o
}

/// Appends one classic pcap record.
pub fn pcap_record(o: &mut Vec<u8>, f: &Frame, nanos: bool, big_endian: bool) {
    let w32 = |o: &mut Vec<u8>, x: u32| {
        o.extend(if big_endian {
            x.to_be_bytes()
        } else {
            x.to_le_bytes()
        })
    };
    let sec = (f.ts_ns / 1_000_000_000) as u32;
    let sub = (f.ts_ns % 1_000_000_000) as u32;
    w32(o, sec);
    w32(o, if nanos { sub } else { sub / 1000 });
    w32(o, f.data.len() as u32);
    w32(o, f.data.len() as u32);
    o.extend_from_slice(&f.data);
}

/// Classic pcap bytes; `nanos` picks the nanosecond magic, `big_endian` the byte order.
pub fn pcap(linktype: u32, nanos: bool, big_endian: bool, frames: &[Frame]) -> Vec<u8> {
    let mut o = pcap_header(linktype, nanos, big_endian);
    for f in frames {
        pcap_record(&mut o, f, nanos, big_endian);
    }
    o
}

/// Pcapng bytes (little-endian): one section, one interface per link type
/// in `linktypes` (microsecond resolution), enhanced packet blocks.
pub fn pcapng(linktypes: &[u32], frames: &[Frame]) -> Vec<u8> {
    let mut o = Vec::new();
    let block = |o: &mut Vec<u8>, t: u32, body: &[u8]| {
        let pad = (4 - body.len() % 4) % 4;
        let len = (12 + body.len() + pad) as u32;
        o.extend(t.to_le_bytes());
        o.extend(len.to_le_bytes());
        o.extend_from_slice(body);
        o.extend(std::iter::repeat_n(0u8, pad));
        o.extend(len.to_le_bytes());
    };
    let mut shb = Vec::new();
    shb.extend(0x1A2B_3C4Du32.to_le_bytes());
    shb.extend(1u16.to_le_bytes());
    shb.extend(0u16.to_le_bytes());
    shb.extend((-1i64).to_le_bytes());
    block(&mut o, 0x0A0D_0D0A, &shb);
    for lt in linktypes {
        let mut idb = Vec::new();
        idb.extend((*lt as u16).to_le_bytes());
        idb.extend(0u16.to_le_bytes());
        idb.extend(262_144u32.to_le_bytes());
        block(&mut o, 1, &idb);
    }
    for f in frames {
        let us = (f.ts_ns / 1000) as u64;
        let mut epb = Vec::new();
        epb.extend(f.iface.to_le_bytes());
        epb.extend(((us >> 32) as u32).to_le_bytes());
        epb.extend((us as u32).to_le_bytes());
        epb.extend((f.data.len() as u32).to_le_bytes());
        epb.extend((f.data.len() as u32).to_le_bytes());
        epb.extend_from_slice(&f.data);
        epb.extend(std::iter::repeat_n(0u8, (4 - f.data.len() % 4) % 4));
        block(&mut o, 6, &epb);
    }
    o
}

/// A SIP message to put on the wire.
#[derive(Debug, Clone)]
pub struct Msg {
    /// Capture time, ns.
    pub ts_ns: i64,
    /// Sender.
    pub src: SocketAddr,
    /// Receiver.
    pub dst: SocketAddr,
    /// The message bytes.
    pub bytes: Vec<u8>,
}

/// Writes SIP messages as frames: UDP datagrams (fragmented to
/// `fragment` bytes of IP payload if given) or, with `tcp`, one TCP segment
/// per message on a connection per direction (SYN first).
#[derive(Debug, Clone)]
pub struct Wire {
    /// The link layer.
    pub link: Link,
    /// Fragment UDP datagrams larger than this many IP payload bytes.
    pub fragment: Option<usize>,
    /// Send over TCP.
    pub tcp: bool,
    next_id: u32,
    seqs: Vec<((SocketAddr, SocketAddr), u32)>,
}

impl Wire {
    /// UDP over `link`.
    pub fn new(link: Link) -> Self {
        Wire {
            link,
            fragment: None,
            tcp: false,
            next_id: 1,
            seqs: Vec::new(),
        }
    }

    /// The TCP segments (sequence number, flags, payload) of `m`'s
    /// direction, for a caller that cuts them itself; opens the direction
    /// with a SYN the first time.
    pub fn tcp_segments(&mut self, m: &Msg, cuts: &[usize]) -> Vec<(u32, u8, Vec<u8>)> {
        let key = (m.src, m.dst);
        let mut out = Vec::new();
        let seq = match self.seqs.iter().position(|(k, _)| *k == key) {
            Some(i) => self.seqs[i].1,
            None => {
                out.push((999, SYN, Vec::new()));
                self.seqs.push((key, 1000));
                1000
            }
        };
        let mut at = 0;
        let mut bounds: Vec<usize> = cuts
            .iter()
            .copied()
            .filter(|c| *c > 0 && *c < m.bytes.len())
            .collect();
        bounds.push(m.bytes.len());
        for b in bounds {
            out.push((seq + at as u32, ACK | PSH, m.bytes[at..b].to_vec()));
            at = b;
        }
        if let Some(e) = self.seqs.iter_mut().find(|(k, _)| *k == key) {
            e.1 = seq + m.bytes.len() as u32;
        }
        out
    }

    /// A TCP segment as a frame.
    pub fn tcp_frame(&self, src: SocketAddr, dst: SocketAddr, seg: &(u32, u8, Vec<u8>)) -> Vec<u8> {
        let l4 = tcp(src.port(), dst.port(), seg.0, seg.1, &seg.2);
        let ip = ip_packets(src, dst, 6, &l4, 0, None);
        self.link.wrap(ip.first().map(Vec::as_slice).unwrap_or(&[]))
    }

    /// The frames carrying `m`.
    pub fn frames(&mut self, m: &Msg) -> Vec<Frame> {
        if self.tcp {
            let segs = self.tcp_segments(m, &[]);
            return segs
                .iter()
                .map(|s| Frame {
                    ts_ns: m.ts_ns,
                    iface: 0,
                    data: self.tcp_frame(m.src, m.dst, s),
                })
                .collect();
        }
        let l4 = udp(m.src.port(), m.dst.port(), &m.bytes);
        self.next_id += 1;
        ip_packets(m.src, m.dst, 17, &l4, self.next_id, self.fragment)
            .into_iter()
            .map(|ip| Frame {
                ts_ns: m.ts_ns,
                iface: 0,
                data: self.link.wrap(&ip),
            })
            .collect()
    }

    /// The frames of every message, in order.
    pub fn all(&mut self, msgs: &[Msg]) -> Vec<Frame> {
        msgs.iter().flat_map(|m| self.frames(m)).collect()
    }
}

/// Builds SIP messages of one dialog-ish conversation between two parties.
#[derive(Debug, Clone)]
pub struct Party {
    /// Where it sends from.
    pub addr: SocketAddr,
    /// Its SIP URI.
    pub uri: String,
}

/// A request's text.
#[allow(clippy::too_many_arguments)]
pub fn request(
    method: &str,
    ruri: &str,
    from: &Party,
    from_tag: &str,
    to_uri: &str,
    to_tag: Option<&str>,
    call_id: &str,
    cseq: u32,
    branch: &str,
    extra: &str,
    body: &str,
) -> Vec<u8> {
    let to_tag = to_tag.map(|t| format!(";tag={t}")).unwrap_or_default();
    let cseq_method = method;
    format!(
        "{method} {ruri} SIP/2.0\r\nVia: SIP/2.0/UDP {};branch={branch}\r\nMax-Forwards: 70\r\n\
From: <{}>;tag={from_tag}\r\nTo: <{to_uri}>{to_tag}\r\nCall-ID: {call_id}\r\nCSeq: {cseq} {cseq_method}\r\n\
Contact: <{}>\r\n{extra}Content-Length: {}\r\n\r\n{body}",
        from.addr,
        from.uri,
        from.uri,
        body.len()
    )
    .into_bytes()
}

/// A response to `req` (its Via, From, To, Call-ID and CSeq copied), with a
/// To tag and extra header lines.
pub fn response(
    req: &[u8],
    status: u16,
    reason: &str,
    to_tag: Option<&str>,
    extra: &str,
) -> Vec<u8> {
    let text = String::from_utf8_lossy(req);
    let mut o = format!("SIP/2.0 {status} {reason}\r\n");
    for line in text.split("\r\n").skip(1) {
        if line.is_empty() {
            break;
        }
        let lower = line.to_ascii_lowercase();
        if lower.starts_with("via:")
            || lower.starts_with("from:")
            || lower.starts_with("call-id:")
            || lower.starts_with("cseq:")
        {
            o.push_str(line);
            o.push_str("\r\n");
        } else if lower.starts_with("to:") {
            o.push_str(line);
            if let Some(t) = to_tag {
                if !lower.contains("tag=") {
                    o.push_str(";tag=");
                    o.push_str(t);
                }
            }
            o.push_str("\r\n");
        }
    }
    o.push_str(extra);
    o.push_str("Content-Length: 0\r\n\r\n");
    o.into_bytes()
}

/// An SDP body of about `size` bytes (padding attributes make big ones,
/// for fragmentation) for call `n`: each call gets its own session id and
/// media port, as real calls do.
pub fn sdp(n: u64, size: usize) -> String {
    let port = 10_000 + 2 * (n % 25_000);
    let mut s = format!(
        "v=0\r\no=- {n} 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\nm=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
    );
    let mut i = 0;
    while s.len() + 20 < size {
        s.push_str(&format!("a=x-pad:{i:010}\r\n"));
        i += 1;
    }
    s
}

/// The scenarios the tests and the benchmark use. Each returns the
/// messages in order; `t0` is the start time (ns) and `n` makes the Call-IDs,
/// tags and branches unique.
pub mod scenario {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 5060)))
    }

    /// Alice, the redirect server (or Bob), Carol: three parties on 192.0.2.0/24.
    pub fn parties() -> (Party, Party, Party) {
        (
            Party {
                addr: addr("192.0.2.10:5060"),
                uri: "sip:alice@192.0.2.10".into(),
            },
            Party {
                addr: addr("192.0.2.20:5060"),
                uri: "sip:bob@192.0.2.20".into(),
            },
            Party {
                addr: addr("192.0.2.30:5060"),
                uri: "sip:carol@192.0.2.30".into(),
            },
        )
    }

    const MS: i64 = 1_000_000;

    /// INVITE → 302 (Contact: Carol) → ACK → INVITE to Carol (CSeq 2) → 180
    /// → 200 → ACK → BYE → 200: a redirect followed correctly
    /// (RFC 3261 §8.1.3.4). `sdp_size` sets the INVITE body size.
    pub fn redirect(n: u64, t0: i64, sdp_size: usize) -> Vec<Msg> {
        let (a, b, c) = parties();
        let cid = format!("redir-{n}@192.0.2.10");
        let ft = format!("a{n}");
        let body = sdp(n, sdp_size);
        let ct = "Content-Type: application/sdp\r\n";
        let inv1 = request(
            "INVITE",
            &b.uri,
            &a,
            &ft,
            &b.uri,
            None,
            &cid,
            1,
            &format!("z9hG4bKr{n}a"),
            ct,
            &body,
        );
        let r302 = response(
            &inv1,
            302,
            "Moved Temporarily",
            Some(&format!("b{n}")),
            &format!("Contact: <{}>\r\n", c.uri),
        );
        let ack1 = request(
            "ACK",
            &b.uri,
            &a,
            &ft,
            &b.uri,
            Some(&format!("b{n}")),
            &cid,
            1,
            &format!("z9hG4bKr{n}a"),
            "",
            "",
        );
        let inv2 = request(
            "INVITE",
            &c.uri,
            &a,
            &ft,
            &b.uri,
            None,
            &cid,
            2,
            &format!("z9hG4bKr{n}b"),
            ct,
            &body,
        );
        let r180 = response(&inv2, 180, "Ringing", Some(&format!("c{n}")), "");
        let r200 = response(
            &inv2,
            200,
            "OK",
            Some(&format!("c{n}")),
            &format!("Contact: <{}>\r\n", c.uri),
        );
        let ack2 = request(
            "ACK",
            &c.uri,
            &a,
            &ft,
            &b.uri,
            Some(&format!("c{n}")),
            &cid,
            2,
            &format!("z9hG4bKr{n}c"),
            "",
            "",
        );
        let bye = request(
            "BYE",
            &c.uri,
            &a,
            &ft,
            &b.uri,
            Some(&format!("c{n}")),
            &cid,
            3,
            &format!("z9hG4bKr{n}d"),
            "",
            "",
        );
        let r200b = response(&bye, 200, "OK", None, "");
        let m = |t: i64, s: &Party, d: &Party, bytes: Vec<u8>| Msg {
            ts_ns: t0 + t * MS,
            src: s.addr,
            dst: d.addr,
            bytes,
        };
        vec![
            m(0, &a, &b, inv1),
            m(5, &b, &a, r302),
            m(6, &a, &b, ack1),
            m(10, &a, &c, inv2),
            m(20, &c, &a, r180),
            m(1000, &c, &a, r200),
            m(1001, &a, &c, ack2),
            m(5000, &a, &c, bye),
            m(5010, &c, &a, r200b),
        ]
    }

    /// A blind transfer (RFC 3515, RFC 5589 §6): Alice calls Bob, Bob answers;
    /// Alice REFERs Bob to Carol; 202; NOTIFY (100 Trying); Bob INVITEs
    /// Carol (new Call-ID, Referred-By); Carol answers; NOTIFY `final`
    /// (e.g. 200 OK, terminated); Alice hangs up.
    pub fn transfer(n: u64, t0: i64, final_status: &str) -> Vec<Msg> {
        let (a, b, c) = parties();
        let cid = format!("xfer-{n}@192.0.2.10");
        let cid2 = format!("xfer2-{n}@192.0.2.20");
        let (at, bt, ct) = (format!("a{n}"), format!("b{n}"), format!("c{n}"));
        let m = |t: i64, s: &Party, d: &Party, bytes: Vec<u8>| Msg {
            ts_ns: t0 + t * MS,
            src: s.addr,
            dst: d.addr,
            bytes,
        };
        let inv = request(
            "INVITE",
            &b.uri,
            &a,
            &at,
            &b.uri,
            None,
            &cid,
            1,
            &format!("z9hG4bKx{n}a"),
            "",
            "",
        );
        let r200 = response(
            &inv,
            200,
            "OK",
            Some(&bt),
            &format!("Contact: <{}>\r\n", b.uri),
        );
        let ack = request(
            "ACK",
            &b.uri,
            &a,
            &at,
            &b.uri,
            Some(&bt),
            &cid,
            1,
            &format!("z9hG4bKx{n}b"),
            "",
            "",
        );
        let refer = request(
            "REFER",
            &b.uri,
            &a,
            &at,
            &b.uri,
            Some(&bt),
            &cid,
            2,
            &format!("z9hG4bKx{n}c"),
            &format!("Refer-To: <{}>\r\nReferred-By: <{}>\r\n", c.uri, a.uri),
            "",
        );
        let r202 = response(&refer, 202, "Accepted", None, "");
        let frag1 = "SIP/2.0 100 Trying\r\n";
        let notify_hdr = |state: &str| {
            format!("Event: refer;id=2\r\nSubscription-State: {state}\r\nContent-Type: message/sipfrag;version=2.0\r\n")
        };
        let n1 = request(
            "NOTIFY",
            &a.uri,
            &b,
            &bt,
            &a.uri,
            Some(&at),
            &cid,
            1,
            &format!("z9hG4bKx{n}d"),
            &notify_hdr("active;expires=60"),
            frag1,
        );
        let n1r = response(&n1, 200, "OK", None, "");
        let inv2 = request(
            "INVITE",
            &c.uri,
            &b,
            &format!("b2{n}"),
            &c.uri,
            None,
            &cid2,
            1,
            &format!("z9hG4bKx{n}e"),
            &format!("Referred-By: <{}>\r\n", a.uri),
            "",
        );
        let inv2r = response(
            &inv2,
            200,
            "OK",
            Some(&ct),
            &format!("Contact: <{}>\r\n", c.uri),
        );
        let ack2 = request(
            "ACK",
            &c.uri,
            &b,
            &format!("b2{n}"),
            &c.uri,
            Some(&ct),
            &cid2,
            1,
            &format!("z9hG4bKx{n}f"),
            "",
            "",
        );
        let frag2 = format!("SIP/2.0 {final_status}\r\n");
        let n2 = request(
            "NOTIFY",
            &a.uri,
            &b,
            &bt,
            &a.uri,
            Some(&at),
            &cid,
            2,
            &format!("z9hG4bKx{n}g"),
            &notify_hdr("terminated;reason=noresource"),
            &frag2,
        );
        let n2r = response(&n2, 200, "OK", None, "");
        let bye = request(
            "BYE",
            &b.uri,
            &a,
            &at,
            &b.uri,
            Some(&bt),
            &cid,
            3,
            &format!("z9hG4bKx{n}h"),
            "",
            "",
        );
        let byer = response(&bye, 200, "OK", None, "");
        let bye2 = request(
            "BYE",
            &c.uri,
            &b,
            &format!("b2{n}"),
            &c.uri,
            Some(&ct),
            &cid2,
            2,
            &format!("z9hG4bKx{n}i"),
            "",
            "",
        );
        let bye2r = response(&bye2, 200, "OK", None, "");
        vec![
            m(0, &a, &b, inv),
            m(100, &b, &a, r200),
            m(101, &a, &b, ack),
            m(2000, &a, &b, refer),
            m(2005, &b, &a, r202),
            m(2010, &b, &a, n1),
            m(2015, &a, &b, n1r),
            m(2020, &b, &c, inv2),
            m(2500, &c, &b, inv2r),
            m(2501, &b, &c, ack2),
            m(2510, &b, &a, n2),
            m(2515, &a, &b, n2r),
            m(2600, &a, &b, bye),
            m(2605, &b, &a, byer),
            m(9000, &b, &c, bye2),
            m(9005, &c, &b, bye2r),
        ]
    }

    /// REGISTER → 401 → REGISTER with credentials → 200.
    pub fn register(n: u64, t0: i64) -> Vec<Msg> {
        let (a, b, _) = parties();
        let cid = format!("reg-{n}@192.0.2.10");
        let r1 = request(
            "REGISTER",
            "sip:192.0.2.20",
            &a,
            &format!("r{n}"),
            &a.uri,
            None,
            &cid,
            1,
            &format!("z9hG4bKg{n}a"),
            "Expires: 3600\r\n",
            "",
        );
        let c401 = response(
            &r1,
            401,
            "Unauthorized",
            Some(&format!("s{n}")),
            "WWW-Authenticate: Digest realm=\"example.com\", nonce=\"abc\", qop=\"auth\"\r\n",
        );
        let r2 = request("REGISTER", "sip:192.0.2.20", &a, &format!("r{n}"), &a.uri, None, &cid, 2, &format!("z9hG4bKg{n}b"),
            "Expires: 3600\r\nAuthorization: Digest username=\"alice\", realm=\"example.com\", nonce=\"abc\", uri=\"sip:192.0.2.20\", response=\"0123456789abcdef0123456789abcdef\", qop=auth, nc=00000001, cnonce=\"x\"\r\n", "");
        let ok = response(&r2, 200, "OK", Some(&format!("s{n}")), "");
        let m = |t: i64, s: &Party, d: &Party, bytes: Vec<u8>| Msg {
            ts_ns: t0 + t * MS,
            src: s.addr,
            dst: d.addr,
            bytes,
        };
        vec![
            m(0, &a, &b, r1),
            m(3, &b, &a, c401),
            m(5, &a, &b, r2),
            m(9, &b, &a, ok),
        ]
    }

    /// One round of the benchmark's traffic, starting at `t0`: a REGISTER
    /// with its challenge, a redirected call (INVITE → 302 → ACK → INVITE →
    /// 180 → 200 → ACK → BYE → 200) whose first INVITE is retransmitted once
    /// after T1, and a blind transfer (REFER → 202 → NOTIFYs): 33 messages.
    pub fn bench_round(n: u64, t0: i64) -> Vec<Msg> {
        let mut v = register(n, t0);
        let mut r = redirect(n, t0 + 10 * MS, 200);
        let mut again = r[0].clone();
        again.ts_ns += 500 * MS;
        r.insert(1, again);
        // The rest of the call follows the retransmission.
        for m in &mut r[2..] {
            m.ts_ns += 500 * MS;
        }
        v.append(&mut r);
        v.append(&mut transfer(n, t0 + 20 * MS, "200 OK"));
        v.sort_by_key(|m| m.ts_ns);
        v
    }
}
