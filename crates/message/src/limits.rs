//! Limits that bound what hostile input can cost, and the framing mode a
//! message arrived in (RFC 3261 §18.3).

/// Bounds that keep hostile input from costing unbounded memory or time.
/// The defaults match common servers: 64 KiB is the largest UDP datagram and
/// the default buffer of Kamailio and OpenSIPS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest message (start line, headers and body) in bytes.
    pub max_message_size: usize,
    /// Most header lines (folded continuation lines count with their header).
    pub max_headers: usize,
    /// Deepest nesting of comments and of sipfrag bodies.
    pub max_nesting: usize,
}

impl Limits {
    /// Default nesting depth.
    pub const DEFAULT_NESTING: usize = 8;
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_size: 65_535,
            max_headers: 256,
            max_nesting: Self::DEFAULT_NESTING,
        }
    }
}

/// How the message arrived, which decides how its body is framed (RFC 3261 §18.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// UDP and other datagrams: the body ends with the datagram; Content-Length,
    /// if present, must not exceed it, and bytes after it are discarded.
    Datagram,
    /// TCP/TLS: Content-Length is mandatory and delimits the body.
    Stream,
}
