//! Transports on loopback: UDP and TCP, IPv4 and IPv6, framing, reuse.

// Test code: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::print_stdout, missing_docs)]

mod driver;
mod sockets;
