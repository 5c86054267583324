//! Transports on loopback: UDP and TCP, IPv4 and IPv6, framing, reuse.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    missing_docs
)] // test code: a panic is a failed test

mod driver;
mod sockets;
