//! Where SIP messages go at the transport layer, as pure functions: the
//! `received`/`rport` stamp on a request's top Via (RFC 3261 §18.2.1,
//! RFC 3581 §4), the destination of a response (RFC 3261 §18.2.2, RFC 3581
//! §4) and the addresses nothing is ever sent to (RFC 4475 §3.3.10). The
//! transaction layer and the drivers call these; none of them has a copy.

use std::net::{IpAddr, SocketAddr};

use crate::{Host, Transport, Via};

/// The parts of a top Via that decide where its response goes
/// ([`response_destination`]); [`Via::route`] reads them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ViaRoute<'a> {
    /// The sent-by port, if written.
    pub port: Option<u16>,
    /// The `maddr` parameter.
    pub maddr: Option<&'a str>,
    /// The `received` parameter.
    pub received: Option<&'a str>,
    /// `rport` (RFC 3581): `None` if absent, `Some(None)` without a value.
    pub rport: Option<Option<u16>>,
}

impl<'a> Via<'a> {
    /// What [`response_destination`] needs of this Via.
    pub fn route(&self) -> ViaRoute<'a> {
        ViaRoute {
            port: self.port,
            maddr: self.maddr(),
            received: self.received(),
            rport: self.rport(),
        }
    }
}

/// Where a server sends the response to a request whose top Via is `via`,
/// received from `source` over `transport` (RFC 3261 §18.2.2, RFC 3581 §4).
/// sipkit's one copy of the rule:
///
/// - over a reliable transport (`reliable`), back to the source: the
///   response goes on the connection the request came on, and this is the
///   address to reach again if that connection is gone;
/// - with a `maddr` that is an IP address, there, at the sent-by port or
///   the transport's default ("the response MUST be forwarded to the
///   address listed there, using the port indicated in sent-by");
/// - with `rport` (and no `maddr`, RFC 3581 §4), to `received` (or the
///   source address) at the `rport` value, or the source port when the
///   request was not stamped;
/// - else to `received` (or the source address, which is what `received`
///   holds once stamped) at the sent-by port or the transport's default.
pub fn response_destination(
    via: &ViaRoute<'_>,
    source: SocketAddr,
    transport: Transport,
    reliable: bool,
) -> SocketAddr {
    if reliable {
        return source;
    }
    let port = via.port.unwrap_or(transport.default_port());
    if let Some(ip) = via.maddr.and_then(ip_of) {
        return SocketAddr::new(ip, port);
    }
    let ip = via.received.and_then(ip_of).unwrap_or(source.ip());
    match via.rport {
        Some(Some(p)) => SocketAddr::new(ip, p),
        Some(None) => SocketAddr::new(ip, source.port()),
        None => SocketAddr::new(ip, port),
    }
}

/// An IP address, bracketed or not.
fn ip_of(s: &str) -> Option<IpAddr> {
    s.trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
        .ok()
}

/// The top Via value as the server must store it after receiving a request
/// from `source`, or `None` when it needs no change.
///
/// RFC 3261 §18.2.1: if the sent-by host differs from the packet's source
/// address, add `received` with the source address. RFC 3581 §4: if the Via
/// has a value-less `rport`, set it to the source port, and add `received`
/// even when the host matches.
pub fn stamp_received(via: &Via<'_>, source: SocketAddr) -> Option<String> {
    let rport_empty = matches!(via.rport(), Some(None));
    let host_matches = match via.host {
        Host::V4(ip) => IpAddr::V4(ip) == source.ip(),
        Host::V6(ip) => IpAddr::V6(ip) == source.ip(),
        Host::Domain(_) => false,
    };
    let need_received = (!host_matches || rport_empty) && via.received().is_none();
    if !need_received && !rport_empty {
        return None;
    }
    let mut out = String::with_capacity(via.raw.len() + 40);
    let received = format!("received={}", source.ip());
    // Rebuild the parameter list, filling `rport` in place.
    let (head, params) = match via.raw.find(';') {
        Some(i) => (&via.raw[..i], &via.raw[i..]),
        None => (via.raw, ""),
    };
    out.push_str(head.trim_end());
    for p in params.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        out.push(';');
        if p.eq_ignore_ascii_case("rport") {
            out.push_str(&format!("rport={}", source.port()));
        } else {
            out.push_str(p);
        }
    }
    if need_received {
        out.push(';');
        out.push_str(&received);
    }
    Some(out)
}

/// Never send to a broadcast address (RFC 4475 §3.3.10 bcast): true for the
/// limited broadcast address and the unspecified address.
pub fn is_forbidden_destination(addr: SocketAddr) -> bool {
    match addr.ip() {
        IpAddr::V4(v4) => v4.is_broadcast() || v4.is_unspecified(),
        IpAddr::V6(v6) => v6.is_unspecified(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses `value` as the Via of a minimal message and runs `f` on it.
    fn with_via<R>(value: &str, f: impl FnOnce(&Via<'_>) -> R) -> R {
        let msg = format!(
            "OPTIONS sip:x@example.com SIP/2.0\r\nVia: {value}\r\nMax-Forwards: 70\r\nTo: <sip:x@example.com>\r\nFrom: <sip:y@example.com>;tag=1\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
        );
        let parsed = crate::parse(msg.as_bytes()).expect("test message parses");
        let via = parsed.top_via().expect("test via parses");
        f(&via)
    }

    fn src(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn received_added_when_host_differs() {
        let v = with_via("SIP/2.0/UDP pc33.example.com;branch=z9hG4bK1", |v| {
            stamp_received(v, src("192.0.2.4:5060"))
        });
        assert_eq!(
            v.as_deref(),
            Some("SIP/2.0/UDP pc33.example.com;branch=z9hG4bK1;received=192.0.2.4")
        );
    }

    #[test]
    fn nothing_when_host_matches_and_no_rport() {
        let v = with_via("SIP/2.0/UDP 192.0.2.4:5060;branch=z9hG4bK1", |v| {
            stamp_received(v, src("192.0.2.4:5060"))
        });
        assert_eq!(v, None);
    }

    #[test]
    fn rport_filled_and_received_added_even_when_host_matches() {
        // RFC 3581 §4.
        let v = with_via("SIP/2.0/UDP 192.0.2.4:5060;rport;branch=z9hG4bK1", |v| {
            stamp_received(v, src("192.0.2.4:40000"))
        });
        assert_eq!(
            v.as_deref(),
            Some("SIP/2.0/UDP 192.0.2.4:5060;rport=40000;branch=z9hG4bK1;received=192.0.2.4")
        );
    }

    #[test]
    fn ipv6_source() {
        let v = with_via("SIP/2.0/UDP [2001:db8::1];branch=z9hG4bK1", |v| {
            stamp_received(v, src("[2001:db8::9]:5060"))
        });
        assert_eq!(
            v.as_deref(),
            Some("SIP/2.0/UDP [2001:db8::1];branch=z9hG4bK1;received=2001:db8::9")
        );
        let same = with_via("SIP/2.0/UDP [2001:db8::9];branch=z9hG4bK1", |v| {
            stamp_received(v, src("[2001:db8::9]:5060"))
        });
        assert_eq!(same, None);
    }

    #[test]
    fn destination_rules_18_2_2_and_3581_4() {
        let s = src("192.0.2.4:40000");
        let d = |via: &str| {
            with_via(via, |v| {
                response_destination(&v.route(), s, Transport::Udp, false)
            })
        };
        assert_eq!(
            d("SIP/2.0/UDP h.example.com;branch=z9hG4bK1;received=192.0.2.4"),
            src("192.0.2.4:5060")
        );
        assert_eq!(
            d("SIP/2.0/UDP h.example.com:5070;branch=z9hG4bK1;received=192.0.2.9"),
            src("192.0.2.9:5070"),
            "received, at the sent-by port"
        );
        assert_eq!(
            d("SIP/2.0/UDP h.example.com:5070;branch=z9hG4bK1"),
            src("192.0.2.4:5070"),
            "the source address stands for an unstamped received"
        );
        assert_eq!(
            d("SIP/2.0/UDP h.example.com;rport=40000;received=192.0.2.4;branch=z9hG4bK1"),
            s
        );
        assert_eq!(d("SIP/2.0/UDP h.example.com;rport;branch=z9hG4bK1"), s);
        assert_eq!(
            d("SIP/2.0/UDP h.example.com:5080;maddr=198.51.100.7;branch=z9hG4bK1"),
            src("198.51.100.7:5080")
        );
        // RFC 3581 §4 applies rport only "if there is no maddr parameter".
        assert_eq!(
            d("SIP/2.0/UDP h.example.com:5080;rport;maddr=198.51.100.7;branch=z9hG4bK1"),
            src("198.51.100.7:5080")
        );
        // A maddr that is a name, not an address, cannot be used without DNS.
        assert_eq!(
            d("SIP/2.0/UDP h.example.com:5080;maddr=relay.example.com;branch=z9hG4bK1"),
            src("192.0.2.4:5080")
        );
        assert_eq!(
            d("SIP/2.0/UDP 192.0.2.4:5062;branch=z9hG4bK1"),
            src("192.0.2.4:5062")
        );
        assert_eq!(
            with_via("SIP/2.0/TLS h.example.com;branch=z9hG4bK1", |v| {
                response_destination(&v.route(), s, Transport::Tls, false)
            }),
            src("192.0.2.4:5061"),
            "the transport's default port"
        );
    }

    #[test]
    fn reliable_goes_back_to_the_source() {
        let s = src("192.0.2.4:40000");
        let d = with_via(
            "SIP/2.0/TCP h.example.com:5070;maddr=198.51.100.7;branch=z9hG4bK1",
            |v| response_destination(&v.route(), s, Transport::Tcp, true),
        );
        assert_eq!(d, s);
    }

    #[test]
    fn broadcast_is_forbidden() {
        assert!(is_forbidden_destination(src("255.255.255.255:5060")));
        assert!(is_forbidden_destination(src("0.0.0.0:5060")));
        assert!(!is_forbidden_destination(src("127.0.0.1:5060")));
    }
}
