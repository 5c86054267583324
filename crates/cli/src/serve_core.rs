//! The core of `sipkit serve`: the transaction layer and the service, driven
//! by one input at a time. No sockets here: the caller feeds what the
//! transports received and sends what [`Core::take_outgoing`] returns.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use sipkit_message::{parse, parse_with, Message, Mode, Request};
use sipkit_server::{ServerConfig, Service, TransportAddr, UnixMs};
use sipkit_transaction::{
    Config as TxConfig, Event, SharedBytes, TransactionKey, Transactions, Transport as TxTransport,
};
use sipkit_transport::via::{is_forbidden_destination, stamp_received};
use sipkit_transport::{ConnId, Inbound, Transmit, Transport};

/// The transaction layer, the service and the bookkeeping between them.
#[derive(Debug)]
pub struct Core {
    tx: Transactions,
    service: Service,
    /// Each server transaction's local address and connection, so its
    /// responses leave from the socket the request came in on (§18.2.2).
    /// Kept only when a transport family has several listeners: with one,
    /// the family alone picks the socket.
    origin: HashMap<TransactionKey, (SocketAddr, Option<ConnId>)>,
    track_origin: bool,
    /// The connection a message from a peer last came on (stream transports).
    conn_of: HashMap<SocketAddr, ConnId>,
    out: Vec<Outgoing>,
    /// Wall-clock time of the input being handled (for the location service).
    wall: UnixMs,
}

impl Core {
    /// A core answering with `service`, with timers from `config`.
    pub fn new(service: Service, config: &ServerConfig, seed: u64) -> Core {
        let mut txc = TxConfig {
            t1: Duration::from_millis(config.transaction.t1_ms),
            t2: Duration::from_millis(config.transaction.t2_ms),
            t4: Duration::from_millis(config.transaction.t4_ms),
            // The service answers every request at once: no 100 needed.
            auto_trying: None,
            seed,
            ..TxConfig::default()
        };
        txc.limits.max_message_size = config.max_message_size;
        let tx = Transactions::new(txc);
        Core {
            tx,
            service,
            origin: HashMap::new(),
            track_origin: several_per_family(config),
            conn_of: HashMap::new(),
            out: Vec::new(),
            wall: UnixMs::from_millis(0),
        }
    }

    /// Feeds one received message.
    pub fn handle_inbound(&mut self, now: Instant, wall: UnixMs, msg: Inbound) {
        // Banned or rate-limited sources cost one lookup, before parsing.
        if !self.service.admit(wall, msg.source) {
            return;
        }
        self.wall = wall;
        if let Some(c) = msg.conn {
            self.conn_of.insert(msg.source, c);
        }
        let transport = tx_transport(msg.transport);
        let mode = if msg.transport.is_reliable() {
            Mode::Stream
        } else {
            Mode::Datagram
        };
        // One parse serves the transaction layer and the service.
        match parse_with(&msg.bytes, &self.tx.config().limits, mode) {
            Ok(parsed) => {
                self.tx
                    .handle_message(now, &parsed, &msg.bytes, msg.source, msg.local, transport);
                self.drain(now, msg.local, msg.conn, parsed.as_request());
            }
            Err(_) => {
                // The transaction layer reports it (with the reply to send).
                self.tx
                    .handle_datagram(now, &msg.bytes, msg.source, msg.local, transport);
                self.drain(now, msg.local, msg.conn, None);
            }
        }
    }

    /// Fires due timers.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.tx.handle_timeout(now);
        self.drain(now, unspecified(), None, None);
    }

    /// The next deadline.
    pub fn poll_timeout(&mut self) -> Option<Instant> {
        self.tx.poll_timeout()
    }

    /// Moves everything to send now into `buf` (which must be empty), so
    /// that both vectors keep their capacity from turn to turn.
    pub fn take_outgoing(&mut self, buf: &mut Vec<Outgoing>) {
        std::mem::swap(&mut self.out, buf);
    }

    /// How many transactions are live.
    #[allow(dead_code)]
    pub fn transactions(&self) -> usize {
        self.tx.len()
    }

    /// Handles every event and queues every transmission; `parsed` is the
    /// input message when it was a request (a new request's event carries
    /// the same bytes).
    fn drain(
        &mut self,
        now: Instant,
        local: SocketAddr,
        conn: Option<ConnId>,
        parsed: Option<&Request<'_>>,
    ) {
        while let Some(ev) = self.tx.poll_event() {
            match ev {
                Event::Request {
                    key,
                    request,
                    source,
                    local,
                    transport,
                    cancels,
                } => {
                    if self.track_origin {
                        self.origin
                            .insert(key.clone(), (local, self.conn_of.get(&source).copied()));
                    }
                    match parsed {
                        Some(req) => {
                            self.answer(now, &key, req, source, transport, cancels.is_some())
                        }
                        None => match parse(request.as_slice()) {
                            Ok(Message::Request(req)) => {
                                self.answer(now, &key, &req, source, transport, cancels.is_some())
                            }
                            _ => {
                                tracing::warn!(%source, "a request the transaction layer accepted did not parse again")
                            }
                        },
                    }
                }
                Event::Malformed {
                    error,
                    source,
                    reply,
                    ..
                } => {
                    tracing::info!(%source, error = %error, "malformed message");
                    if let Some(t) = reply {
                        self.push(t.transport, t.destination, Some(local), conn, t.bytes);
                    }
                }
                Event::Terminated { key } => {
                    if self.track_origin {
                        self.origin.remove(&key);
                    }
                }
                Event::Timeout { key, timer } => {
                    tracing::debug!(?key, timer = timer.name(), "transaction timed out");
                }
                other => tracing::debug!(event = ?other, "ignored"),
            }
        }
        while let Some(t) = self.tx.poll_transmit() {
            let (l, c) = t
                .key
                .as_ref()
                .and_then(|k| self.origin.get(k).copied())
                .map(|(l, c)| (Some(l), c))
                .unwrap_or((None, None));
            self.push(t.transport, t.destination, l, c, t.bytes);
        }
    }

    fn push(
        &mut self,
        transport: TxTransport,
        destination: SocketAddr,
        local: Option<SocketAddr>,
        conn: Option<ConnId>,
        bytes: SharedBytes,
    ) {
        if is_forbidden_destination(destination) {
            // RFC 4475 §3.3.10: never send to a broadcast address.
            tracing::info!(%destination, "not sending to a broadcast or unspecified address");
            return;
        }
        let transport = match transport {
            TxTransport::Udp => Transport::Udp,
            _ => Transport::Tcp,
        };
        let conn = if transport == Transport::Tcp {
            conn.or_else(|| self.conn_of.get(&destination).copied())
        } else {
            None
        };
        let local = local.filter(|l| !l.ip().is_unspecified());
        self.out.push(Outgoing {
            transport,
            destination,
            conn,
            local,
            bytes,
        });
    }

    /// Answers one new request through its server transaction.
    fn answer(
        &mut self,
        now: Instant,
        key: &TransactionKey,
        req: &Request<'_>,
        source: SocketAddr,
        transport: TxTransport,
        matched: bool,
    ) {
        let stamped = req.top_via().ok().and_then(|v| stamp_received(&v, source));
        let from = TransportAddr::new(
            if transport == TxTransport::Udp {
                sipkit_server::Transport::Udp
            } else {
                sipkit_server::Transport::Tcp
            },
            source,
        );
        let reply = match req.method() {
            sipkit_message::Method::Cancel => Some(self.service.respond_cancel(
                req,
                matched,
                stamped.as_deref(),
            )),
            _ => self
                .service
                .respond(self.wall, req, from, stamped.as_deref()),
        };
        let Some(reply) = reply else { return };
        if let Some(log) = &reply.log {
            tracing::error!(%source, "{log}");
        }
        tracing::debug!(%source, method = req.method_str(), status = reply.status, "answered");
        if let Err(e) = self.tx.send_response(now, key, &reply.bytes) {
            tracing::warn!(%source, error = %e, "the transaction layer refused the response");
        }
    }
}

/// A message to send, still in the transaction layer's shared buffer (no
/// copy on the UDP path).
#[derive(Debug)]
pub struct Outgoing {
    pub transport: Transport,
    pub destination: SocketAddr,
    pub conn: Option<ConnId>,
    pub local: Option<SocketAddr>,
    pub bytes: SharedBytes,
}

impl Outgoing {
    /// As the transport's owned `Transmit` (copies the bytes).
    pub fn into_transmit(self) -> Transmit {
        Transmit {
            transport: self.transport,
            destination: self.destination,
            conn: self.conn,
            local: self.local,
            bytes: self.bytes.as_slice().to_vec(),
        }
    }
}

/// Whether some transport has more than one listener in one address family;
/// then responses must remember which socket their request came in on.
fn several_per_family(config: &ServerConfig) -> bool {
    let mut seen = std::collections::HashSet::new();
    config
        .listen
        .iter()
        .any(|l| !seen.insert((l.transport, l.addr.is_ipv4())))
}

fn tx_transport(t: Transport) -> TxTransport {
    match t {
        Transport::Udp => TxTransport::Udp,
        Transport::Tcp => TxTransport::Tcp,
    }
}

fn unspecified() -> SocketAddr {
    SocketAddr::from(([0, 0, 0, 0], 0))
}
