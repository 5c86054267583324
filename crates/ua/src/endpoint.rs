//! The async shell: owns the sockets (through `sipkit-transport`) and the
//! clock, and runs the loop of ARCHITECTURE.md around the sans-IO
//! [`UaCore`] — feed one input with `now`, drain the outputs, wait for the
//! earliest deadline. Everything the UA core decides (the ACK to every
//! retransmitted 2xx, §13.2.2.4; the retransmission of this side's 2xx until
//! its ACK, §13.3.1.4) lives in [`UaCore`] and is tested without sockets.
//!
//! The clock is read here and only here, in [`now`] and [`seed`]: this
//! module is the IO boundary of the crate (clippy.toml bans `Instant::now`
//! and `SystemTime::now` everywhere else).

use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket as StdUdp};
use std::time::{Duration, Instant};

use sipkit_dialog::AckFor2xx;
use sipkit_transaction::TransactionKey;
use sipkit_transport::{
    ConnId, Inbound, ListenSpec, Transmit, Transport, TransportConfig, Transports,
};
use tokio::sync::mpsc;

pub use crate::core::EpEvent;
use crate::core::{resolve_literal, UaCore};
use crate::Error;

/// One UA's network endpoint: transports and the clock around a [`UaCore`].
#[derive(Debug)]
pub struct Endpoint {
    pub(crate) core: UaCore,
    transports: Transports,
    inbound: mpsc::Receiver<Inbound>,
    transport: Transport,
    local: SocketAddr,
    conn_of: HashMap<SocketAddr, ConnId>,
    started: Instant,
}

/// The local IP the system would use to reach `peer` (no packet is sent).
pub fn local_ip_for(peer: SocketAddr) -> std::net::IpAddr {
    let any: SocketAddr = if peer.is_ipv4() {
        "0.0.0.0:0"
    } else {
        "[::]:0"
    }
    .parse()
    .unwrap_or(peer);
    StdUdp::bind(any)
        .and_then(|s| {
            s.connect(peer)?;
            s.local_addr()
        })
        .map(|a| a.ip())
        .unwrap_or_else(|_| any.ip())
}

/// A seed for tags, branches and Call-IDs: not secret, only distinct per run.
pub fn seed() -> u64 {
    #[allow(clippy::disallowed_methods)]
    // the async shell owns the clock; not secret, only distinct
    let t = std::time::SystemTime::now()
        .duration_since(std::time::SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    t ^ (u64::from(std::process::id()) << 32)
}

impl Endpoint {
    /// Binds `transport` on `listen` (port 0 picks one). `advertise`
    /// overrides the address put in Via and Contact; by default it is the
    /// bound address, or when that is a wildcard, the local IP toward
    /// `toward` (or 127.0.0.1).
    pub async fn bind(
        transport: Transport,
        listen: SocketAddr,
        advertise: Option<SocketAddr>,
        toward: Option<SocketAddr>,
        seed: u64,
    ) -> Result<Endpoint, Error> {
        let spec = ListenSpec {
            transport,
            addr: listen,
        };
        let (transports, inbound) = Transports::bind(&[spec], TransportConfig::default())
            .await
            .map_err(|e| Error::Bind(spec.to_string(), e))?;
        let local = transports
            .local_addrs()
            .first()
            .map(|(_, a)| *a)
            .unwrap_or(listen);
        let advertised = advertise.unwrap_or_else(|| {
            if local.ip().is_unspecified() {
                let ip = toward.map(local_ip_for).filter(|ip| !ip.is_unspecified());
                SocketAddr::new(ip.unwrap_or_else(|| [127, 0, 0, 1].into()), local.port())
            } else {
                local
            }
        });
        Ok(Endpoint {
            core: UaCore::new(transport, advertised, seed),
            transports,
            inbound,
            transport,
            local,
            conn_of: HashMap::new(),
            started: now(),
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }
    /// The address in Via and Contact.
    pub fn advertised(&self) -> SocketAddr {
        self.core.advertised()
    }
    /// The transport.
    pub fn transport(&self) -> Transport {
        self.transport
    }
    /// When the endpoint started.
    pub fn started(&self) -> Instant {
        self.started
    }

    /// A Via value with a fresh branch (RFC 3261 §8.1.1.7, RFC 3581 rport).
    pub fn via(&mut self) -> String {
        self.core.via()
    }
    /// A fresh tag.
    pub fn tag(&mut self) -> String {
        self.core.tag()
    }
    /// A fresh Call-ID.
    pub fn call_id(&mut self) -> String {
        self.core.call_id()
    }
    /// This UA's Contact URI for `user`.
    pub fn contact(&self, user: &str) -> String {
        self.core.contact(user)
    }

    /// Sends a request in a new client transaction.
    pub fn send_request(
        &mut self,
        bytes: &[u8],
        dest: SocketAddr,
    ) -> Result<TransactionKey, Error> {
        self.core.send_request(now(), bytes, dest)
    }

    /// Answers server transaction `key`.
    pub fn respond(&mut self, key: &TransactionKey, bytes: &[u8]) -> Result<(), Error> {
        self.core.respond(now(), key, bytes)
    }

    /// Answers an INVITE with a 2xx and keeps retransmitting it until the
    /// ACK (RFC 3261 §13.3.1.4).
    pub fn respond_2xx(
        &mut self,
        key: &TransactionKey,
        bytes: &[u8],
        call_id: &str,
        local_tag: &str,
    ) -> Result<(), Error> {
        self.core.respond_2xx(now(), key, bytes, call_id, local_tag)
    }

    /// Sends the ACK for a 2xx and keeps it for the 2xx's retransmissions (§13.2.2.4).
    pub fn send_ack(&mut self, ack: AckFor2xx, dest: SocketAddr) {
        self.core.send_ack(ack, dest);
    }

    /// CANCELs an INVITE client transaction (§9.1).
    pub fn cancel(&mut self, invite: &TransactionKey) -> Result<TransactionKey, Error> {
        self.core.cancel(now(), invite)
    }

    /// Resolves a SIP URI to the address to send to (RFC 3263 is not done:
    /// an IP literal, or the host's A/AAAA records; port 5060 by default).
    pub async fn resolve(&self, uri: &str) -> Result<SocketAddr, Error> {
        resolve(uri).await
    }

    /// Sends one message of the core: over a stream transport, on the
    /// connection the peer last used, if any.
    pub(crate) async fn send(&mut self, t: crate::core::Transmit) {
        let dest = t.destination;
        let conn = if t.transport.is_reliable() {
            self.conn_of.get(&dest).copied()
        } else {
            None
        };
        let t = Transmit {
            transport: t.transport,
            destination: dest,
            conn,
            local: t.local,
            bytes: t.bytes,
        };
        if let Err(e) = self.transports.send(t).await {
            tracing::debug!(%dest, error = %e, "send failed");
        }
    }

    /// Sends everything queued, in order. [`Endpoint::next`] does it first;
    /// call it before dropping the endpoint.
    pub async fn send_queued(&mut self) {
        while let Some(t) = self.core.poll_transmit() {
            self.send(t).await;
        }
    }

    /// Waits for the next message from the network (`None` when the
    /// transports are gone), and notes the connection it came on.
    pub(crate) async fn recv(&mut self) -> Option<Inbound> {
        let msg = self.inbound.recv().await?;
        if let Some(c) = msg.conn {
            self.conn_of.insert(msg.source, c);
        }
        Some(msg)
    }

    /// Waits for the next event, or until `deadline`.
    pub async fn next(&mut self, deadline: Option<Instant>) -> EpEvent {
        loop {
            self.send_queued().await;
            if let Some(ev) = self.core.poll_event() {
                return ev;
            }
            let wake = [self.core.poll_timeout(), deadline]
                .into_iter()
                .flatten()
                .min();
            tokio::select! {
                msg = self.recv() => {
                    let Some(msg) = msg else {
                        return EpEvent::Deadline;
                    };
                    self.core
                        .handle_datagram(now(), &msg.bytes, msg.source, msg.local, msg.transport);
                }
                () = sleep_until(wake) => {
                    let now = now();
                    self.core.handle_timeout(now);
                    if deadline.is_some_and(|d| now >= d) {
                        self.send_queued().await;
                        if let Some(ev) = self.core.poll_event() {
                            return ev;
                        }
                        return EpEvent::Deadline;
                    }
                }
            }
        }
    }

    /// How long since the endpoint started.
    pub fn elapsed(&self) -> Duration {
        now().saturating_duration_since(self.started)
    }
}

/// Sleeps until `at`, or forever when there is no deadline.
pub(crate) async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(d) => tokio::time::sleep_until(tokio::time::Instant::from_std(d)).await,
        None => std::future::pending().await,
    }
}

/// The driver's clock.
pub fn now() -> Instant {
    #[allow(clippy::disallowed_methods)] // the async shell owns the clock
    Instant::now()
}

/// Resolves a SIP URI's host and port (IP literal or A/AAAA; 5060, or 5061 for sips).
pub async fn resolve(uri: &str) -> Result<SocketAddr, Error> {
    match resolve_literal(uri) {
        Ok(a) => Ok(a),
        Err(Error::Resolve(host, _)) => {
            let port = sipkit_message::Uri::parse(uri)
                .ok()
                .and_then(|u| u.port)
                .unwrap_or(if uri.starts_with("sips:") { 5061 } else { 5060 });
            let bare = host.trim_matches(['[', ']']).to_owned();
            let mut addrs = tokio::net::lookup_host((bare.as_str(), port))
                .await
                .map_err(|e| Error::Resolve(host.clone(), e.to_string()))?;
            addrs
                .next()
                .ok_or_else(|| Error::Resolve(host, "no address".into()))
        }
        Err(e) => Err(e),
    }
}

/// The blocking form of [`resolve`], for the synchronous agent: an IP
/// literal at once, a host name through the system resolver (it blocks
/// the shell's task while it runs).
pub fn resolve_blocking(uri: &str) -> Result<SocketAddr, Error> {
    use std::net::ToSocketAddrs;
    match resolve_literal(uri) {
        Ok(a) => Ok(a),
        Err(Error::Resolve(host, _)) => {
            let port = sipkit_message::Uri::parse(uri)
                .ok()
                .and_then(|u| u.port)
                .unwrap_or(if uri.starts_with("sips:") { 5061 } else { 5060 });
            let bare = host.trim_matches(['[', ']']).to_owned();
            (bare.as_str(), port)
                .to_socket_addrs()
                .map_err(|e| Error::Resolve(host.clone(), e.to_string()))?
                .next()
                .ok_or_else(|| Error::Resolve(host, "no address".into()))
        }
        Err(e) => Err(e),
    }
}
