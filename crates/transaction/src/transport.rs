//! The transports a message travels over: sipkit's one [`Transport`] type,
//! defined in `sipkit-message` (RFC 3261 §18).

pub use sipkit_message::Transport;

/// Identifies one connection of a connection-oriented transport (TCP, TLS,
/// WebSocket) for as long as the driver keeps it open. The driver hands it
/// in with a received message ([`crate::Arrival::conn`]) and gets it back on
/// every [`crate::Transmit`] of the server transaction that message created,
/// so a response goes back on the connection its request came on (RFC 3261
/// §18.2.2) without the driver keeping a table of its own. This layer never
/// looks inside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(u64);

impl ConnId {
    /// The token for the driver's connection number `n`.
    pub const fn new(n: u64) -> ConnId {
        ConnId(n)
    }

    /// The driver's connection number.
    pub const fn get(self) -> u64 {
        self.0
    }
}
