//! SIP transports on tokio: UDP and TCP listeners on IPv4 and IPv6, TCP
//! connection reuse and idle close, stream framing (RFC 3261 §18), and the
//! one driver loop that runs any sans-IO endpoint over them ([`driver`]:
//! the [`Endpoint`] trait and [`driver::run`]).
//!
//! This is the only sipkit layer that owns sockets. It does not interpret
//! messages beyond framing them: it hands every received message up as an
//! [`Inbound`] (bytes, source, local address, transport) and sends whatever
//! [`Transmit`] the layers above produce. The protocol decisions it needs —
//! the `received`/`rport` stamp on the top Via and the destination of a
//! response — are plain functions of `sipkit-message`
//! ([`sipkit_message::stamp_received`], [`sipkit_message::response_destination`]).
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! use sipkit_transport::{ListenSpec, Transmit, TransportConfig, Transports};
//!
//! let specs: Vec<ListenSpec> = vec!["udp:127.0.0.1:0".parse().unwrap(), "tcp:127.0.0.1:0".parse().unwrap()];
//! let (transports, mut inbound) = Transports::bind(&specs, TransportConfig::default()).await?;
//! while let Some(msg) = inbound.recv().await {
//!     // parse msg.bytes, decide, then answer:
//!     let reply = Transmit::reply_to(&msg, b"SIP/2.0 200 OK\r\n...".to_vec());
//!     transports.send(reply).await?;
//! }
//! # Ok(()) }
//! ```

pub mod driver;
mod spec;
mod tcp;

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::sync::mpsc;

pub use driver::{DriverConfig, Endpoint, Now, SendFailure, Shutdown, Stopped};
pub use sipkit_transaction::ConnId;
pub use spec::{ListenSpec, ParseSpecError, Transport};

/// A message received from the network, framed but not parsed.
#[derive(Debug, Clone)]
pub struct Inbound {
    /// How it arrived.
    pub transport: Transport,
    /// The peer's address (the packet's source, RFC 3261 §18.2.1).
    pub source: SocketAddr,
    /// Our address it arrived at.
    pub local: SocketAddr,
    /// The message: one datagram, or one message framed out of a stream.
    pub bytes: Vec<u8>,
    /// The connection it came on (stream transports only): responses go back
    /// on it (§18.2.2).
    pub conn: Option<ConnId>,
}

/// A message to send.
#[derive(Debug, Clone)]
pub struct Transmit {
    /// Over what.
    pub transport: Transport,
    /// To whom.
    pub destination: SocketAddr,
    /// Prefer this connection (stream transports), e.g. the one a request
    /// came on; if it is gone, a connection to `destination` is used or opened.
    pub conn: Option<ConnId>,
    /// From which of our addresses (UDP); `None` picks one of the family.
    pub local: Option<SocketAddr>,
    /// The bytes.
    pub bytes: Vec<u8>,
}

impl Transmit {
    /// A reply that goes back the way `inbound` came: same transport, same
    /// connection, same local socket, to the packet's source. The server's
    /// §18.2.2 choice for a datagram (received/rport) is
    /// [`sipkit_message::response_destination`]; this is the shortcut when it
    /// is the source.
    pub fn reply_to(inbound: &Inbound, bytes: Vec<u8>) -> Transmit {
        Transmit {
            transport: inbound.transport,
            destination: inbound.source,
            conn: inbound.conn,
            local: Some(inbound.local),
            bytes,
        }
    }
}

/// A seed for the sans-IO layers' generators (tags, branches, Call-IDs):
/// not secret, only distinct per process and run. The clock is read here,
/// in the one crate that may.
pub fn seed() -> u64 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    t ^ (u64::from(std::process::id()) << 32)
}

/// Transport settings.
#[derive(Debug, Clone)]
pub struct TransportConfig {
    /// The largest message accepted (a larger datagram is passed up all the
    /// same, truncated to this many bytes plus one, so the layer above can
    /// answer 513; a larger stream message closes the connection).
    pub max_message_size: usize,
    /// A TCP connection idle (nothing received) for this long is closed.
    pub tcp_idle_timeout: Duration,
    /// SO_RCVBUF asked for UDP sockets: a busy server drops datagrams when
    /// the kernel queue is short (the kernel caps it at net.core.rmem_max).
    pub udp_recv_buffer: usize,
    /// How many received messages may wait for the layer above.
    pub queue: usize,
    /// Bind every listener with SO_REUSEPORT, so several [`Transports`] (one
    /// per worker thread) can listen on the same address and the kernel
    /// spreads UDP sources and TCP connections over them (Unix only;
    /// elsewhere ignored). Off by default: a second server on the same
    /// port is then an error, not a silent share.
    pub reuse_port: bool,
}

impl Default for TransportConfig {
    fn default() -> Self {
        TransportConfig {
            max_message_size: 65_535,
            tcp_idle_timeout: Duration::from_secs(300),
            udp_recv_buffer: 4 * 1024 * 1024,
            queue: 4096,
            reuse_port: false,
        }
    }
}

/// The set of bound sockets and open connections.
#[derive(Debug, Clone)]
pub struct Transports {
    udp: Vec<(SocketAddr, Arc<UdpSocket>)>,
    /// The same UDP sockets (duplicated descriptors) for sending without the
    /// runtime: a direct `sendto` that fails only when the kernel's buffer
    /// is really full, not when tokio has not yet seen the socket writable.
    udp_direct: Vec<(SocketAddr, Arc<std::net::UdpSocket>)>,
    tcp: Arc<tcp::Table>,
    locals: Vec<(Transport, SocketAddr)>,
}

impl Transports {
    /// Binds every listener in `specs` and starts receiving. Received
    /// messages arrive on the returned channel. A port of 0 binds a free
    /// port; [`local_addrs`](Self::local_addrs) tells which.
    pub async fn bind(
        specs: &[ListenSpec],
        config: TransportConfig,
    ) -> io::Result<(Transports, mpsc::Receiver<Inbound>)> {
        let (tx, rx) = mpsc::channel(config.queue);
        let config = Arc::new(config);
        let table = Arc::new(tcp::Table::new(tx.clone(), config.clone()));
        let mut udp = Vec::new();
        let mut udp_direct = Vec::new();
        let mut locals = Vec::new();
        for spec in specs {
            match spec.transport {
                Transport::Udp => {
                    let (sock, direct) =
                        bind_udp(spec.addr, config.udp_recv_buffer, config.reuse_port)?;
                    let sock = Arc::new(sock);
                    let local = sock.local_addr()?;
                    udp_direct.push((local, Arc::new(direct)));
                    tokio::spawn(udp_loop(
                        sock.clone(),
                        local,
                        tx.clone(),
                        config.max_message_size,
                    ));
                    udp.push((local, sock));
                    locals.push((Transport::Udp, local));
                }
                Transport::Tcp => {
                    let local = table.listen(spec.addr, config.reuse_port).await?;
                    locals.push((Transport::Tcp, local));
                }
                other => return Err(unsupported(other)),
            }
        }
        Ok((
            Transports {
                udp,
                udp_direct,
                tcp: table,
                locals,
            },
            rx,
        ))
    }

    /// Where we listen, in the order of the specs.
    pub fn local_addrs(&self) -> &[(Transport, SocketAddr)] {
        &self.locals
    }

    /// The first local address of `transport` in the family of `peer`.
    pub fn local_for(&self, transport: Transport, peer: SocketAddr) -> Option<SocketAddr> {
        self.locals
            .iter()
            .find(|(t, a)| *t == transport && a.is_ipv4() == peer.is_ipv4())
            .map(|(_, a)| *a)
    }

    /// Sends `t`. UDP goes out from the socket bound to `t.local` (or the
    /// first of the destination's family); TCP on `t.conn`, else on an open
    /// connection to the destination, else on a new one (§18.2.2).
    pub async fn send(&self, t: Transmit) -> io::Result<()> {
        match t.transport {
            Transport::Udp => {
                let sock = self.udp_socket(t.local, t.destination)?;
                sock.send_to(&t.bytes, t.destination).await.map(|_| ())
            }
            Transport::Tcp => self.tcp.send(t.conn, t.destination, t.bytes).await,
            other => Err(unsupported(other)),
        }
    }

    /// Queues `t` on an open TCP connection without waiting; gives it back
    /// when there is none (or its queue is full), for [`Transports::send`].
    pub fn try_send_tcp(&self, t: Transmit) -> Result<(), Transmit> {
        self.tcp.try_send(t)
    }

    /// Sends a datagram without waiting when the socket buffer is full (the
    /// datagram is then dropped, as the network could have dropped it; the
    /// transaction layer retransmits).
    pub fn try_send_udp(
        &self,
        local: Option<SocketAddr>,
        destination: SocketAddr,
        bytes: &[u8],
    ) -> io::Result<()> {
        let sock = local
            .and_then(|l| self.udp_direct.iter().find(|(a, _)| *a == l))
            .or_else(|| {
                self.udp_direct
                    .iter()
                    .find(|(a, _)| a.is_ipv4() == destination.is_ipv4())
            })
            .map(|(_, s)| s)
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::AddrNotAvailable,
                    format!("no UDP listener for {destination}"),
                )
            })?;
        match sock.send_to(bytes, destination) {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(()),
            Err(e) => Err(e),
        }
    }

    fn udp_socket(
        &self,
        local: Option<SocketAddr>,
        destination: SocketAddr,
    ) -> io::Result<&Arc<UdpSocket>> {
        local
            .and_then(|l| self.udp.iter().find(|(a, _)| *a == l))
            .or_else(|| {
                self.udp
                    .iter()
                    .find(|(a, _)| a.is_ipv4() == destination.is_ipv4())
            })
            .map(|(_, s)| s)
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::AddrNotAvailable,
                    format!("no UDP listener for {destination}"),
                )
            })
    }

    /// How many TCP connections are open.
    pub fn tcp_connections(&self) -> usize {
        self.tcp.len()
    }
}

/// The error for a transport this crate does not carry (TLS, SCTP, WS).
fn unsupported(t: Transport) -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        format!("sipkit-transport does not carry {t}"),
    )
}

/// A UDP socket for the runtime and a duplicate of its descriptor for
/// direct sends (both non-blocking).
fn bind_udp(
    addr: SocketAddr,
    recv_buffer: usize,
    reuse_port: bool,
) -> io::Result<(UdpSocket, std::net::UdpSocket)> {
    use socket2::{Domain, Protocol, Socket, Type};
    let sock = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    if addr.is_ipv6() {
        sock.set_only_v6(true)?;
    }
    // Best effort: the kernel caps the size at net.core.rmem_max.
    let _ = sock.set_recv_buffer_size(recv_buffer);
    let _ = sock.set_send_buffer_size(recv_buffer);
    set_reuse_port(&sock, reuse_port)?;
    sock.set_nonblocking(true)?;
    sock.bind(&addr.into())?;
    let direct: std::net::UdpSocket = sock.try_clone()?.into();
    Ok((UdpSocket::from_std(sock.into())?, direct))
}

/// SO_REUSEPORT when asked for (Unix; elsewhere nothing).
pub(crate) fn set_reuse_port(sock: &socket2::Socket, on: bool) -> io::Result<()> {
    #[cfg(all(unix, not(any(target_os = "solaris", target_os = "illumos"))))]
    if on {
        sock.set_reuse_port(true)?;
    }
    #[cfg(not(all(unix, not(any(target_os = "solaris", target_os = "illumos")))))]
    let _ = (sock, on);
    Ok(())
}

async fn udp_loop(sock: Arc<UdpSocket>, local: SocketAddr, tx: mpsc::Sender<Inbound>, max: usize) {
    // One byte more than the limit, so an oversized datagram is seen as such.
    let mut buf = vec![0u8; max.max(1) + 1];
    loop {
        let (n, source) = match sock.recv_from(&mut buf).await {
            Ok(r) => r,
            Err(e) => {
                // ICMP port unreachable from an earlier send shows up here on
                // some systems; it concerns that send, not this socket.
                tracing::debug!(%local, error = %e, "udp receive error");
                continue;
            }
        };
        // RFC 5626 §3.5.1 keep-alives over UDP are a bare CRLF: nothing to pass up.
        if buf[..n].iter().all(|b| *b == b'\r' || *b == b'\n') {
            continue;
        }
        let msg = Inbound {
            transport: Transport::Udp,
            source,
            local,
            bytes: buf[..n].to_vec(),
            conn: None,
        };
        if tx.send(msg).await.is_err() {
            return;
        }
    }
}
