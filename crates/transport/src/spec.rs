//! Transports and listen specifications such as `udp:127.0.0.1:5060`.

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;

pub use sipkit_message::Transport;

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
        let transport = Transport::from_token(proto)
            .filter(|t| matches!(t, Transport::Udp | Transport::Tcp))
            .ok_or_else(|| err("the transport must be udp or tcp"))?;
        let addr = addr
            .parse::<SocketAddr>()
            .map_err(|_| err("not an IP:PORT (IPv6 goes in brackets)"))?;
        Ok(ListenSpec { transport, addr })
    }
}

impl fmt::Display for ListenSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.transport.as_lowercase(), self.addr)
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
