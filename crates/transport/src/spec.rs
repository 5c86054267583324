//! Transports and listen specifications such as `udp:127.0.0.1:5060`.

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;

/// A transport sipkit speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Transport {
    /// UDP: unreliable; the transaction layer retransmits (RFC 3261 §17).
    Udp,
    /// TCP: reliable and stream-oriented; messages are framed by Content-Length (§18.3).
    Tcp,
}

impl Transport {
    /// Whether the transport is reliable (timers A, E, G do not run; D, I, J, K are 0).
    pub fn is_reliable(self) -> bool {
        matches!(self, Transport::Tcp)
    }

    /// The token used in Via (`UDP`, `TCP`).
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
        }
    }

    /// The transport named by a Via token or a URI `transport` parameter.
    pub fn from_token(s: &str) -> Option<Transport> {
        if s.eq_ignore_ascii_case("udp") {
            Some(Transport::Udp)
        } else if s.eq_ignore_ascii_case("tcp") {
            Some(Transport::Tcp)
        } else {
            None
        }
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One listener: a transport and an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListenSpec {
    /// The transport.
    pub transport: Transport,
    /// The address (`[::1]:5060` for IPv6).
    pub addr: SocketAddr,
}

/// Why a listen specification is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid listen address {input:?}: {why} (expected udp:IP:PORT or tcp:IP:PORT, e.g. udp:127.0.0.1:5060 or tcp:[::1]:5060)")]
pub struct ParseSpecError {
    input: String,
    why: &'static str,
}

impl FromStr for ListenSpec {
    type Err = ParseSpecError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |why| ParseSpecError {
            input: s.to_owned(),
            why,
        };
        let (proto, addr) = s.split_once(':').ok_or_else(|| err("no transport"))?;
        let transport =
            Transport::from_token(proto).ok_or_else(|| err("the transport must be udp or tcp"))?;
        let addr = addr
            .parse::<SocketAddr>()
            .map_err(|_| err("not an IP:PORT (IPv6 goes in brackets)"))?;
        Ok(ListenSpec { transport, addr })
    }
}

impl fmt::Display for ListenSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}",
            self.transport.as_str().to_ascii_lowercase(),
            self.addr
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_v4_v6_and_case() {
        let s: ListenSpec = "udp:127.0.0.1:5060".parse().unwrap();
        assert_eq!((s.transport, s.addr.port()), (Transport::Udp, 5060));
        let s: ListenSpec = "TCP:[::1]:5070".parse().unwrap();
        assert_eq!(s.transport, Transport::Tcp);
        assert!(s.addr.is_ipv6());
        assert_eq!(s.to_string(), "tcp:[::1]:5070");
    }

    #[test]
    fn rejects_bad_specs() {
        for bad in [
            "127.0.0.1:5060",
            "sctp:127.0.0.1:5060",
            "udp:localhost:5060",
            "udp:::1:5060",
            "udp:",
            "",
        ] {
            assert!(bad.parse::<ListenSpec>().is_err(), "{bad}");
        }
    }
}
