//! Transports on loopback: UDP and TCP, IPv4 and IPv6, framing, reuse.

mod sockets;
