//! The transports a message travels over (RFC 3261 §18), as far as the
//! transaction layer cares: reliable or not, stream or datagram.

use std::fmt;

/// A SIP transport (RFC 3261 §18, RFC 4168 SCTP, RFC 7118 WebSocket).
///
/// Whether a transport counts as reliable (no retransmissions, zero-length
/// Timers D, I, J, K) is decided by [`crate::Config::is_reliable`].
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

    /// True for byte streams (TCP, TLS), where Content-Length frames the
    /// message and is mandatory (RFC 3261 §18.3).
    pub const fn is_stream(self) -> bool {
        matches!(self, Transport::Tcp | Transport::Tls)
    }

    /// The default port of a sent-by without one (RFC 3261 §18.2.2, §19.1.2;
    /// RFC 7118 uses the HTTP ports).
    pub const fn default_port(self) -> u16 {
        match self {
            Transport::Udp | Transport::Tcp | Transport::Sctp => 5060,
            Transport::Tls => 5061,
            Transport::Ws => 80,
            Transport::Wss => 443,
        }
    }

    pub(crate) const fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
