//! From a captured frame to a UDP datagram or a TCP segment: link layers
//! (Ethernet with 0, 1 or 2 VLAN tags, Linux cooked SLL and SLL2, raw IP,
//! BSD loopback), IPv4/IPv6 and their fragments.
//!
//! Slicing is done by the `etherparse` crate; what it lacks is here: the
//! SLL2 header (20 bytes, protocol type first), the BSD loopback family word
//! and a defragmenter that holds at most a fixed number of bytes.

use std::borrow::Cow;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use etherparse::{EtherType, NetSlice, SlicedPacket, TcpSlice, TransportSlice, UdpSlice};

/// LINKTYPE_NULL: BSD loopback, a 4-byte address family in host byte order.
pub const LINKTYPE_NULL: u32 = 0;
/// LINKTYPE_ETHERNET.
pub const LINKTYPE_ETHERNET: u32 = 1;
/// LINKTYPE_RAW: the frame is an IPv4 or IPv6 packet.
pub const LINKTYPE_RAW: u32 = 101;
/// LINKTYPE_LOOP: OpenBSD loopback, the family word in network byte order.
pub const LINKTYPE_LOOP: u32 = 108;
/// LINKTYPE_LINUX_SLL: Linux cooked capture v1 (16-byte header).
pub const LINKTYPE_LINUX_SLL: u32 = 113;
/// LINKTYPE_IPV4.
pub const LINKTYPE_IPV4: u32 = 228;
/// LINKTYPE_IPV6.
pub const LINKTYPE_IPV6: u32 = 229;
/// LINKTYPE_LINUX_SLL2: Linux cooked capture v2 (20-byte header, protocol first).
pub const LINKTYPE_LINUX_SLL2: u32 = 276;
/// The raw-IP link types some systems write as DLT values (12 on most, 14 on OpenBSD).
const DLT_RAW_ALT: [u32; 2] = [12, 14];

/// IP protocol numbers (IANA).
const IP_UDP: u8 = 17;
const IP_TCP: u8 = 6;

/// What a frame carried that the analyzer cares about.
#[derive(Debug)]
pub enum L4<'a> {
    /// A UDP datagram (reassembled if it came in IP fragments).
    Udp {
        /// Source address and port.
        src: SocketAddr,
        /// Destination address and port.
        dst: SocketAddr,
        /// The UDP payload.
        payload: Cow<'a, [u8]>,
    },
    /// A TCP segment.
    Tcp {
        /// Source address and port.
        src: SocketAddr,
        /// Destination address and port.
        dst: SocketAddr,
        /// Sequence number of the first payload byte (of the SYN if `syn`).
        seq: u32,
        /// SYN flag.
        syn: bool,
        /// FIN or RST flag: the direction ends here.
        fin: bool,
        /// The segment's payload.
        payload: Cow<'a, [u8]>,
    },
}

/// Why a frame gave nothing to analyze.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// A link type this reader does not decode.
    LinkType,
    /// Not IP, or IP that does not slice (truncated, bad header).
    NotIp,
    /// IP but neither UDP nor TCP.
    OtherProtocol,
    /// A fragment kept until the rest of its datagram arrives.
    Fragment,
}

/// Defragmentation limits: bytes held at once and how long (capture time) an
/// incomplete datagram waits.
#[derive(Debug, Clone, Copy)]
pub struct DefragLimits {
    /// Most payload bytes of incomplete datagrams kept at once; the oldest
    /// datagram is dropped to make room.
    pub budget: usize,
    /// An incomplete datagram older than this (ns of capture time) is dropped
    /// (RFC 791 suggests 15 s; Linux waits 30 s).
    pub timeout_ns: i64,
}

impl Default for DefragLimits {
    fn default() -> Self {
        DefragLimits {
            budget: 16 << 20,
            timeout_ns: 30_000_000_000,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct FragKey {
    src: IpAddr,
    dst: IpAddr,
    id: u32,
    proto: u8,
}

#[derive(Debug)]
struct Partial {
    first_ns: i64,
    /// (byte offset, bytes).
    parts: Vec<(usize, Vec<u8>)>,
    /// Known once the last fragment (MF = 0) arrived.
    total: Option<usize>,
    held: usize,
}

/// IPv4 and IPv6 defragmenter (RFC 791 §3.2, RFC 8200 §4.5) under a byte budget.
#[derive(Debug, Default)]
pub struct Defragmenter {
    limits: DefragLimits,
    partial: HashMap<FragKey, Partial>,
    held: usize,
    /// Datagrams given up (budget or timeout).
    pub dropped: u64,
}

impl Defragmenter {
    /// A defragmenter with these limits.
    pub fn new(limits: DefragLimits) -> Self {
        Defragmenter {
            limits,
            ..Default::default()
        }
    }

    /// Bytes held now.
    pub fn held(&self) -> usize {
        self.held
    }

    /// Adds a fragment; returns the whole payload once every byte arrived.
    fn add(
        &mut self,
        key: FragKey,
        ts_ns: i64,
        offset: usize,
        more: bool,
        data: &[u8],
    ) -> Option<Vec<u8>> {
        self.expire(ts_ns);
        if data.len() > self.limits.budget {
            self.dropped += 1;
            return None;
        }
        while self.held + data.len() > self.limits.budget {
            let oldest = self
                .partial
                .iter()
                .min_by_key(|(_, p)| p.first_ns)
                .map(|(k, _)| *k)?;
            self.remove(&oldest);
            self.dropped += 1;
        }
        let p = self.partial.entry(key).or_insert_with(|| Partial {
            first_ns: ts_ns,
            parts: Vec::new(),
            total: None,
            held: 0,
        });
        if !more {
            p.total = Some(offset + data.len());
        }
        p.parts.push((offset, data.to_vec()));
        p.held += data.len();
        self.held += data.len();
        let total = p.total?;
        p.parts.sort_by_key(|(o, _)| *o);
        let mut covered = 0;
        for (o, d) in &p.parts {
            if *o > covered {
                return None;
            }
            covered = covered.max(o + d.len());
        }
        if covered < total {
            return None;
        }
        let p = self.remove(&key)?;
        let mut out = vec![0u8; total];
        for (o, d) in &p.parts {
            let end = (o + d.len()).min(total);
            if *o < end {
                out[*o..end].copy_from_slice(&d[..end - o]);
            }
        }
        Some(out)
    }

    fn remove(&mut self, key: &FragKey) -> Option<Partial> {
        let p = self.partial.remove(key)?;
        self.held -= p.held;
        Some(p)
    }

    fn expire(&mut self, now_ns: i64) {
        let timeout = self.limits.timeout_ns;
        if self.partial.is_empty() {
            return;
        }
        let old: Vec<FragKey> = self
            .partial
            .iter()
            .filter(|(_, p)| now_ns.saturating_sub(p.first_ns) > timeout)
            .map(|(k, _)| *k)
            .collect();
        for k in old {
            self.remove(&k);
            self.dropped += 1;
        }
    }
}

/// The frame most captures are made of — IPv4, not a fragment, UDP, on
/// Ethernet without VLAN tags, Linux SLL or SLL2, or raw IP — read in
/// place; `None` for any other frame and for anything in this one that
/// `etherparse` would treat with care (a length that does not add up, a
/// fragment), which [`slice`] then handles. The result is the one the
/// `etherparse` path gives (tested, `fast_path_agrees_with_etherparse`).
///
/// IPv4 is RFC 791 §3.1 (version, IHL, total length, flags and fragment
/// offset, protocol, addresses); UDP is RFC 768 (ports and length).
fn udp_over_ipv4(linktype: u32, data: &[u8]) -> Option<L4<'_>> {
    const ETHERTYPE_IPV4: [u8; 2] = [0x08, 0x00];
    let ip_at = match linktype {
        LINKTYPE_ETHERNET if data.get(12..14)? == ETHERTYPE_IPV4 => 14,
        LINKTYPE_LINUX_SLL if sll_protocol(data)? == 0x0800 => 16,
        LINKTYPE_LINUX_SLL2 if data.get(0..2)? == ETHERTYPE_IPV4 => 20,
        LINKTYPE_RAW | LINKTYPE_IPV4 => 0,
        _ => return None,
    };
    let ip = data.get(ip_at..)?;
    let (&vihl, &proto) = (ip.first()?, ip.get(9)?);
    let header_len = usize::from(vihl & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([*ip.get(2)?, *ip.get(3)?]));
    // Flags and fragment offset: a set MF bit or a non-zero offset makes
    // a fragment (reserved and DF bits are ignored, as etherparse does).
    let fragment = u16::from_be_bytes([*ip.get(6)?, *ip.get(7)?]) & 0x3fff != 0;
    if vihl >> 4 != 4
        || header_len < 20
        || proto != IP_UDP
        || fragment
        || total < header_len + 8
        || total > ip.len()
    {
        return None;
    }
    let udp = ip.get(header_len..total)?;
    let udp_len = usize::from(u16::from_be_bytes([udp[4], udp[5]]));
    if udp_len < 8 || udp_len > udp.len() {
        return None;
    }
    let addr = |at: usize| IpAddr::from([ip[at], ip[at + 1], ip[at + 2], ip[at + 3]]);
    let port = |at: usize| u16::from_be_bytes([udp[at], udp[at + 1]]);
    Some(L4::Udp {
        src: SocketAddr::new(addr(12), port(0)),
        dst: SocketAddr::new(addr(16), port(2)),
        payload: Cow::Borrowed(&udp[8..udp_len]),
    })
}

/// The EtherType of a Linux SLL (v1) frame: packet type (2), ARPHRD type
/// (2), address length (2), address (8), protocol (2). The protocol is an
/// EtherType for every device but these, whose frames are not IP: netlink
/// (824), radiotap (803) and Frame Relay (770). Loopback (772), which a
/// capture on Linux's "any" device has for `lo`, is read like Ethernet (1);
/// `etherparse`'s own SLL slicing refuses it.
fn sll_protocol(data: &[u8]) -> Option<u16> {
    const NOT_ETHERTYPE: [u16; 3] = [824, 803, 770];
    let h = data.get(..16)?;
    let arphrd = u16::from_be_bytes([h[2], h[3]]);
    (!NOT_ETHERTYPE.contains(&arphrd)).then(|| u16::from_be_bytes([h[14], h[15]]))
}

/// Slices a frame down to its IP layer.
fn slice(linktype: u32, data: &[u8]) -> Result<SlicedPacket<'_>, Skip> {
    let r = match linktype {
        LINKTYPE_ETHERNET => SlicedPacket::from_ethernet(data),
        LINKTYPE_LINUX_SLL => {
            let proto = sll_protocol(data).ok_or(Skip::NotIp)?;
            SlicedPacket::from_ether_type(EtherType(proto), &data[16..])
        }
        LINKTYPE_LINUX_SLL2 => {
            // SLL2: protocol type (2), reserved (2), ifindex (4), ARPHRD (2),
            // packet type (1), address length (1), address (8).
            if data.len() < 20 {
                return Err(Skip::NotIp);
            }
            let proto = u16::from_be_bytes([data[0], data[1]]);
            SlicedPacket::from_ether_type(EtherType(proto), &data[20..])
        }
        LINKTYPE_RAW | LINKTYPE_IPV4 | LINKTYPE_IPV6 => SlicedPacket::from_ip(data),
        t if DLT_RAW_ALT.contains(&t) => SlicedPacket::from_ip(data),
        LINKTYPE_NULL | LINKTYPE_LOOP => {
            if data.len() < 4 {
                return Err(Skip::NotIp);
            }
            SlicedPacket::from_ip(&data[4..])
        }
        _ => return Err(Skip::LinkType),
    };
    r.map_err(|_| Skip::NotIp)
}

/// Decodes one frame into a UDP datagram or TCP segment, feeding fragments
/// to `defrag` (which returns the datagram once complete).
pub fn decode<'a>(
    linktype: u32,
    data: &'a [u8],
    ts_ns: i64,
    defrag: &mut Defragmenter,
) -> Result<L4<'a>, Skip> {
    if let Some(udp) = udp_over_ipv4(linktype, data) {
        return Ok(udp);
    }
    let p = slice(linktype, data)?;
    let (src_ip, dst_ip, frag): (IpAddr, IpAddr, Option<(u32, usize, bool)>) = match &p.net {
        Some(NetSlice::Ipv4(v4)) => {
            let h = v4.header();
            let frag = h.is_fragmenting_payload().then(|| {
                (
                    u32::from(h.identification()),
                    usize::from(h.fragments_offset().byte_offset()),
                    h.more_fragments(),
                )
            });
            (h.source_addr().into(), h.destination_addr().into(), frag)
        }
        Some(NetSlice::Ipv6(v6)) => {
            let h = v6.header();
            let mut frag = None;
            for ext in v6.extensions().clone() {
                if let etherparse::Ipv6ExtensionSlice::Fragment(f) = ext {
                    if f.is_fragmenting_payload() {
                        let f = f.to_header();
                        frag = Some((
                            f.identification,
                            usize::from(f.fragment_offset.byte_offset()),
                            f.more_fragments,
                        ));
                    }
                }
            }
            (h.source_addr().into(), h.destination_addr().into(), frag)
        }
        _ => return Err(Skip::NotIp),
    };
    if let Some((id, offset, more)) = frag {
        let Some(ip) = p.ip_payload() else {
            return Err(Skip::NotIp);
        };
        let proto = ip.ip_number.0;
        if proto != IP_UDP && proto != IP_TCP {
            return Err(Skip::OtherProtocol);
        }
        let key = FragKey {
            src: src_ip,
            dst: dst_ip,
            id,
            proto,
        };
        let whole = defrag
            .add(key, ts_ns, offset, more, ip.payload)
            .ok_or(Skip::Fragment)?;
        return transport_from_bytes(proto, src_ip, dst_ip, whole);
    }
    match p.transport {
        Some(TransportSlice::Udp(u)) => Ok(L4::Udp {
            src: SocketAddr::new(src_ip, u.source_port()),
            dst: SocketAddr::new(dst_ip, u.destination_port()),
            payload: Cow::Borrowed(u.payload()),
        }),
        Some(TransportSlice::Tcp(t)) => Ok(L4::Tcp {
            src: SocketAddr::new(src_ip, t.source_port()),
            dst: SocketAddr::new(dst_ip, t.destination_port()),
            seq: t.sequence_number(),
            syn: t.syn(),
            fin: t.fin() || t.rst(),
            payload: Cow::Borrowed(t.payload()),
        }),
        _ => Err(Skip::OtherProtocol),
    }
}

/// Slices UDP or TCP out of a reassembled IP payload.
fn transport_from_bytes(
    proto: u8,
    src_ip: IpAddr,
    dst_ip: IpAddr,
    whole: Vec<u8>,
) -> Result<L4<'static>, Skip> {
    if proto == IP_UDP {
        let u = UdpSlice::from_slice(&whole).map_err(|_| Skip::NotIp)?;
        let (sp, dp) = (u.source_port(), u.destination_port());
        let payload = u.payload().to_vec();
        Ok(L4::Udp {
            src: SocketAddr::new(src_ip, sp),
            dst: SocketAddr::new(dst_ip, dp),
            payload: Cow::Owned(payload),
        })
    } else {
        let t = TcpSlice::from_slice(&whole).map_err(|_| Skip::NotIp)?;
        Ok(L4::Tcp {
            src: SocketAddr::new(src_ip, t.source_port()),
            dst: SocketAddr::new(dst_ip, t.destination_port()),
            seq: t.sequence_number(),
            syn: t.syn(),
            fin: t.fin() || t.rst(),
            payload: Cow::Owned(t.payload().to_vec()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the `etherparse` path makes of a frame (`decode` without the
    /// fast path), in a comparable form.
    fn slow(linktype: u32, data: &[u8]) -> Option<(SocketAddr, SocketAddr, Vec<u8>)> {
        let p = slice(linktype, data).ok()?;
        let (src, dst) = match &p.net {
            Some(NetSlice::Ipv4(v4)) => {
                let h = v4.header();
                if h.is_fragmenting_payload() {
                    return None;
                }
                (h.source_addr(), h.destination_addr())
            }
            _ => return None,
        };
        match p.transport {
            Some(TransportSlice::Udp(u)) => Some((
                SocketAddr::new(src.into(), u.source_port()),
                SocketAddr::new(dst.into(), u.destination_port()),
                u.payload().to_vec(),
            )),
            _ => None,
        }
    }

    fn udp_frame(linktype: u32, payload: &[u8]) -> Vec<u8> {
        let mut f = match linktype {
            LINKTYPE_ETHERNET => {
                let mut e = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2];
                e.extend([0x08, 0x00]);
                e
            }
            LINKTYPE_LINUX_SLL => {
                let mut e = vec![0; 14];
                e.extend([0x08, 0x00]);
                e
            }
            LINKTYPE_LINUX_SLL2 => {
                let mut e = vec![0x08, 0x00];
                e.extend([0; 18]);
                e
            }
            _ => Vec::new(),
        };
        let total = (20 + 8 + payload.len()) as u16;
        f.extend([0x45, 0]);
        f.extend(total.to_be_bytes());
        f.extend([0, 1, 0x40, 0, 64, IP_UDP, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2]);
        f.extend(5060u16.to_be_bytes());
        f.extend(5080u16.to_be_bytes());
        f.extend((8 + payload.len() as u16).to_be_bytes());
        f.extend([0, 0]);
        f.extend_from_slice(payload);
        f
    }

    #[test]
    fn sll_loopback_and_netlink() {
        // `tcpdump -i any` on Linux: frames of `lo` carry ARPHRD_LOOPBACK.
        let mut f = udp_frame(LINKTYPE_LINUX_SLL, b"x");
        f[2..4].copy_from_slice(&772u16.to_be_bytes());
        let mut defrag = Defragmenter::default();
        for frame in [f.clone(), {
            // The same frame with IP options, off the fast path.
            let mut o = f[..16].to_vec();
            o.extend([0x46, 0, 0, 33, 0, 1, 0x40, 0, 64, IP_UDP, 0, 0]);
            o.extend([192, 0, 2, 1, 192, 0, 2, 2, 1, 1, 1, 0]);
            o.extend(&f[36..]);
            o
        }] {
            match decode(LINKTYPE_LINUX_SLL, &frame, 0, &mut defrag) {
                Ok(L4::Udp { src, payload, .. }) => {
                    assert_eq!(src, "192.0.2.1:5060".parse().unwrap());
                    assert_eq!(&*payload, b"x");
                }
                other => panic!("{other:?}"),
            }
        }
        f[2..4].copy_from_slice(&824u16.to_be_bytes());
        assert!(matches!(
            decode(LINKTYPE_LINUX_SLL, &f, 0, &mut defrag),
            Err(Skip::NotIp)
        ));
    }

    proptest::proptest! {
        /// Wherever the fast path answers, etherparse answers the same;
        /// on well-formed frames it always answers.
        #[test]
        fn fast_path_agrees_with_etherparse(
            link in proptest::sample::select(vec![
                LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2, LINKTYPE_RAW,
            ]),
            payload in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64),
            flips in proptest::collection::vec((0usize..120, proptest::prelude::any::<u8>()), 0..3),
            cut in 0usize..8,
        ) {
            let mut f = udp_frame(link, &payload);
            let clean = f.clone();
            for (at, v) in &flips {
                if let Some(b) = f.get_mut(*at) {
                    *b = *v;
                }
            }
            f.truncate(f.len().saturating_sub(cut));
            let fast = udp_over_ipv4(link, &f).map(|l4| match l4 {
                L4::Udp { src, dst, payload } => (src, dst, payload.into_owned()),
                L4::Tcp { .. } => unreachable!("the fast path is UDP only"),
            });
            if let Some(fast) = fast {
                proptest::prop_assert_eq!(Some(fast), slow(link, &f));
            }
            proptest::prop_assert!(udp_over_ipv4(link, &clean).is_some());
        }
    }

    fn key(id: u32) -> FragKey {
        FragKey {
            src: IpAddr::from([10, 0, 0, 1]),
            dst: IpAddr::from([10, 0, 0, 2]),
            id,
            proto: IP_UDP,
        }
    }

    #[test]
    fn fragments_in_any_order_make_the_datagram() {
        let mut d = Defragmenter::default();
        assert!(d.add(key(1), 0, 16, false, b"CDEF").is_none());
        assert!(d.add(key(1), 0, 8, true, b"BBBBBBBB").is_none());
        let whole = d.add(key(1), 0, 0, true, b"AAAAAAAA").unwrap();
        assert_eq!(whole, b"AAAAAAAABBBBBBBBCDEF");
        assert_eq!(d.held(), 0);
    }

    #[test]
    fn the_budget_drops_the_oldest_datagram() {
        let mut d = Defragmenter::new(DefragLimits {
            budget: 20,
            timeout_ns: 1_000,
        });
        assert!(d.add(key(1), 0, 0, true, &[0; 16]).is_none());
        assert!(d.add(key(2), 1, 0, true, &[0; 16]).is_none());
        assert_eq!(d.dropped, 1);
        assert!(d.held() <= 20);
        // Timed out by capture time.
        assert!(d.add(key(3), 5_000, 0, true, &[0; 8]).is_none());
        assert_eq!(d.dropped, 2);
        assert_eq!(d.held(), 8);
    }
}
