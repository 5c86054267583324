//! Every timer of the transaction layer in one enum and one table
//! (RFC 3261 §17 and Appendix A, RFC 6026 §8), and the configuration that
//! gives them their values.

use std::fmt;
use std::time::Duration;

use crate::Transport;

/// A transaction timer. The table (RFC 3261 Appendix A; RFC 6026 adds L and M):
///
/// | timer | value | section | meaning |
/// |---|---|---|---|
/// | A | T1, doubling | RFC 3261 §17.1.1.2 | INVITE request retransmission, unreliable transports only |
/// | B | 64·T1 | §17.1.1.2 | INVITE client transaction timeout |
/// | D | ≥ 32 s unreliable, 0 reliable | §17.1.1.2 | wait for response retransmissions (Completed) |
/// | E | T1, doubling to T2; T2 in Proceeding | §17.1.2.2 | non-INVITE request retransmission, unreliable only |
/// | F | 64·T1 | §17.1.2.2 | non-INVITE client transaction timeout |
/// | G | T1, doubling to T2 | §17.2.1 | INVITE final response retransmission, unreliable only |
/// | H | 64·T1 | §17.2.1 | wait for the ACK |
/// | I | T4 unreliable, 0 reliable | §17.2.1 | absorb ACK retransmissions (Confirmed) |
/// | J | 64·T1 unreliable, 0 reliable | §17.2.2 | absorb non-INVITE request retransmissions |
/// | K | T4 unreliable, 0 reliable | §17.1.2.2 | absorb non-INVITE response retransmissions |
/// | L | 64·T1 | RFC 6026 §8.7 | INVITE server Accepted: absorb INVITE retransmissions |
/// | M | 64·T1 | RFC 6026 §8.4 | INVITE client Accepted: pass 2xx retransmissions and forks to the TU |
/// | Trying | 200 ms (configurable) | RFC 3261 §17.2.1 | send 100 Trying if the TU has not answered |
///
/// [`Timer::initial`] computes the first value of each; the doubling rules
/// live with the state machines that apply them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Timer {
    /// INVITE request retransmission (client, Calling).
    A,
    /// INVITE client transaction timeout (Calling).
    B,
    /// Wait for response retransmissions (INVITE client, Completed).
    D,
    /// Non-INVITE request retransmission (client, Trying and Proceeding).
    E,
    /// Non-INVITE client transaction timeout.
    F,
    /// INVITE final response retransmission (server, Completed).
    G,
    /// Wait for the ACK (INVITE server, Completed).
    H,
    /// Absorb ACK retransmissions (INVITE server, Confirmed).
    I,
    /// Absorb request retransmissions (non-INVITE server, Completed).
    J,
    /// Absorb response retransmissions (non-INVITE client, Completed).
    K,
    /// Absorb INVITE retransmissions after a 2xx (INVITE server, Accepted; RFC 6026).
    L,
    /// Pass further 2xx to the TU (INVITE client, Accepted; RFC 6026).
    M,
    /// Send 100 Trying unless the TU has answered (INVITE server, Proceeding; RFC 3261 §17.2.1).
    Trying,
}

/// Which of a transaction's two timer slots a timer occupies: at most one
/// retransmission timer and one lifetime timer run at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Slot {
    /// A, E, G, Trying.
    Retransmit = 0,
    /// B, D, F, H, I, J, K, L, M.
    Lifetime = 1,
}

impl Timer {
    /// The slot this timer occupies in its transaction.
    pub(crate) fn slot(self) -> Slot {
        match self {
            Timer::A | Timer::E | Timer::G | Timer::Trying => Slot::Retransmit,
            _ => Slot::Lifetime,
        }
    }

    /// The value the timer starts with, from the table above; `None` where
    /// the timer does not run (A, E and G on a reliable transport,
    /// Trying when disabled). A zero duration fires at once.
    pub fn initial(self, config: &Config, transport: Transport) -> Option<Duration> {
        let reliable = config.is_reliable(transport);
        let unreliable_only = |d: Duration| if reliable { None } else { Some(d) };
        let zero_if_reliable = |d: Duration| if reliable { Duration::ZERO } else { d };
        let t64 = config.t1.saturating_mul(64);
        match self {
            // §17.1.1.2 "If an unreliable transport is being used, the client
            // transaction MUST start timer A with a value of T1."
            Timer::A | Timer::E | Timer::G => unreliable_only(config.t1),
            // "For any transport, the client transaction MUST start timer B
            // with a value of 64*T1 seconds" (§17.1.1.2); F likewise (§17.1.2.2),
            // H for any transport (§17.2.1); L, M (RFC 6026 §8.7, §8.4).
            Timer::B | Timer::F | Timer::H | Timer::L | Timer::M => Some(t64),
            // §17.1.1.2: "at least 32 seconds for unreliable transports, and
            // ... zero seconds for reliable transports".
            Timer::D => Some(zero_if_reliable(config.timer_d)),
            // §17.2.1, §17.1.2.2: T4 for unreliable, zero for reliable.
            Timer::I | Timer::K => Some(zero_if_reliable(config.t4)),
            // §17.2.2: "64*T1 seconds for unreliable transports, and zero
            // seconds for reliable transports".
            Timer::J => Some(zero_if_reliable(t64)),
            Timer::Trying => config.auto_trying,
        }
    }

    /// The timer's letter (`"A"` … `"M"`, `"Trying"`).
    pub fn name(self) -> &'static str {
        match self {
            Timer::A => "A",
            Timer::B => "B",
            Timer::D => "D",
            Timer::E => "E",
            Timer::F => "F",
            Timer::G => "G",
            Timer::H => "H",
            Timer::I => "I",
            Timer::J => "J",
            Timer::K => "K",
            Timer::L => "L",
            Timer::M => "M",
            Timer::Trying => "Trying",
        }
    }
}

impl fmt::Display for Timer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Timer::Trying => f.write_str("the 100 Trying timer"),
            t => write!(f, "Timer {}", t.name()),
        }
    }
}

/// Timer values and the other knobs of [`crate::Transactions`].
///
/// The defaults are RFC 3261's: T1 = 500 ms (RTT estimate, §17.1.1.1),
/// T2 = 4 s (cap of non-INVITE and INVITE-response retransmission
/// intervals), T4 = 5 s (longest a message stays in the network), Timer D
/// = 32 s. UDP is unreliable; TCP, TLS, SCTP, WS and WSS are reliable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// T1, the round-trip estimate (default 500 ms).
    pub t1: Duration,
    /// T2, the longest retransmission interval (default 4 s).
    pub t2: Duration,
    /// T4, the longest a message lives in the network (default 5 s).
    pub t4: Duration,
    /// Timer D on unreliable transports; RFC 3261 §17.1.1.2 asks for at
    /// least 32 s (default 32 s). Reliable transports always use 0.
    pub timer_d: Duration,
    /// When an INVITE server transaction sends 100 Trying on its own if the
    /// TU has sent no response yet (RFC 3261 §17.2.1: "MUST generate a 100
    /// (Trying) response unless it knows that the TU will generate a
    /// provisional or final response within 200 ms"). Default `Some(200 ms)`:
    /// a TU that answers at once (the redirect server) cancels it before it
    /// fires, so SIPp and Kamailio see no 100; `None` turns it off, for a
    /// TU that always sends its own 100.
    pub auto_trying: Option<Duration>,
    /// Seed of the generator behind [`crate::Transactions::new_branch`] and
    /// the To tags of error replies. Take it from the operating system in the
    /// driver; a fixed seed makes a run reproducible.
    pub seed: u64,
    /// Which transports are reliable (default: all but UDP).
    pub reliable: ReliableTransports,
    /// Parser limits for every message in and out; a received request over
    /// them is answered 513 or 400 (`sipkit_message::wire_reply`).
    pub limits: sipkit_message::Limits,
}

/// The set of transports treated as reliable (RFC 3261 §17: the
/// transaction layer does not retransmit over them, and Timers D, I, J, K
/// are zero).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReliableTransports([bool; Transport::ALL.len()]);

impl Default for ReliableTransports {
    /// Everything but UDP: TCP, TLS, SCTP, WS and WSS.
    fn default() -> Self {
        let mut set = [true; Transport::ALL.len()];
        set[Transport::Udp.index()] = false;
        ReliableTransports(set)
    }
}

impl ReliableTransports {
    /// True if `transport` is in the set.
    pub fn contains(&self, transport: Transport) -> bool {
        self.0[transport.index()]
    }

    /// The set with `transport` added (`true`) or removed (`false`).
    pub fn with(mut self, transport: Transport, reliable: bool) -> Self {
        self.0[transport.index()] = reliable;
        self
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            t4: Duration::from_secs(5),
            timer_d: Duration::from_secs(32),
            auto_trying: Some(Duration::from_millis(200)),
            seed: 0x5eed_5eed_5eed_5eed,
            reliable: ReliableTransports::default(),
            limits: sipkit_message::Limits::default(),
        }
    }
}

impl Config {
    /// True if `transport` is treated as reliable (RFC 3261 §17: no
    /// retransmissions by the transaction layer, Timers D, I, J, K of zero).
    pub fn is_reliable(&self, transport: Transport) -> bool {
        self.reliable.contains(transport)
    }
}
