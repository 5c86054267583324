//! The transports a SIP message travels over (RFC 3261 §18): the one
//! `Transport` type every sipkit layer names.

use std::fmt;
use std::str::FromStr;

/// A SIP transport (RFC 3261 §18, RFC 4168 SCTP, RFC 7118 WebSocket).
///
/// Written in a Via as `UDP`, `TCP`, … (RFC 3261 §20.42) and in a URI
/// `transport` parameter or a listen address as `udp`, `tcp`, …; parsing
/// ignores case. Whether the transaction layer treats a transport as
/// reliable is its configuration's call (`sipkit_transaction::Config`);
/// [`Transport::is_reliable`] is RFC 3261's default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Transport {
    /// UDP: unreliable, one message per datagram.
    Udp,
    /// TCP: reliable stream.
    Tcp,
    /// TLS over TCP: reliable stream.
    Tls,
    /// SCTP: reliable, message-oriented.
    Sctp,
    /// WebSocket: reliable, one message per frame.
    Ws,
    /// WebSocket over TLS.
    Wss,
}

impl Transport {
    /// Every transport, in declaration order.
    pub const ALL: [Transport; 6] = [
        Transport::Udp,
        Transport::Tcp,
        Transport::Tls,
        Transport::Sctp,
        Transport::Ws,
        Transport::Wss,
    ];

    /// The token as written in a Via (`UDP`, `TCP`, …; RFC 3261 §20.42, RFC 7118 §5.1).
    pub const fn as_str(self) -> &'static str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
            Transport::Tls => "TLS",
            Transport::Sctp => "SCTP",
            Transport::Ws => "WS",
            Transport::Wss => "WSS",
        }
    }

    /// The lowercase name, as in a URI `transport` parameter (RFC 3261
    /// §19.1.1) or a listen address such as `udp:127.0.0.1:5060`.
    pub const fn as_lowercase(self) -> &'static str {
        match self {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
            Transport::Tls => "tls",
            Transport::Sctp => "sctp",
            Transport::Ws => "ws",
            Transport::Wss => "wss",
        }
    }

    /// The transport named by a Via token or a URI `transport` parameter,
    /// in any case.
    pub fn from_token(s: &str) -> Option<Transport> {
        Transport::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(s))
    }

    /// True for byte streams (TCP, TLS), where Content-Length frames the
    /// message and is mandatory (RFC 3261 §18.3).
    pub const fn is_stream(self) -> bool {
        matches!(self, Transport::Tcp | Transport::Tls)
    }

    /// True for every transport but UDP: RFC 3261 §17.1.1.2 and §17.1.2.2
    /// retransmit only over an unreliable one.
    pub const fn is_reliable(self) -> bool {
        !matches!(self, Transport::Udp)
    }

    /// The default port of a sent-by or URI without one (RFC 3261 §18.2.2,
    /// §19.1.2; RFC 7118 uses the HTTP ports).
    pub const fn default_port(self) -> u16 {
        match self {
            Transport::Udp | Transport::Tcp | Transport::Sctp => 5060,
            Transport::Tls => 5061,
            Transport::Ws => 80,
            Transport::Wss => 443,
        }
    }

    /// The position in [`Transport::ALL`], for tables indexed by transport.
    pub const fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The input named no transport sipkit knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownTransport;

impl fmt::Display for UnknownTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("unknown transport (expected udp, tcp, tls, sctp, ws or wss)")
    }
}

impl std::error::Error for UnknownTransport {}

/// Case-insensitive: `UDP`, `udp` and `Udp` are one transport.
impl FromStr for Transport {
    type Err = UnknownTransport;

    fn from_str(s: &str) -> Result<Transport, UnknownTransport> {
        Transport::from_token(s).ok_or(UnknownTransport)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_in_any_case() {
        for t in Transport::ALL {
            assert_eq!(Transport::from_token(t.as_str()), Some(t));
            assert_eq!(t.as_lowercase().parse::<Transport>(), Ok(t));
            assert_eq!(t.as_lowercase(), t.as_str().to_ascii_lowercase());
            assert_eq!(Transport::ALL[t.index()], t);
        }
        assert_eq!("Udp".parse::<Transport>(), Ok(Transport::Udp));
        assert_eq!("quic".parse::<Transport>(), Err(UnknownTransport));
    }

    #[test]
    fn rfc3261_defaults() {
        assert!(!Transport::Udp.is_reliable());
        assert!(Transport::Tcp.is_reliable() && Transport::Tcp.is_stream());
        assert!(Transport::Sctp.is_reliable() && !Transport::Sctp.is_stream());
        assert_eq!(Transport::Tls.default_port(), 5061);
    }
}
