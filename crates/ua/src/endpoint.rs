//! The driver: one task owns the transaction layer, the sockets and the
//! clock, and runs the loop of ARCHITECTURE.md (feed one input, drain the
//! outputs, wait for the earliest deadline). On top of the transaction
//! layer it does the two jobs of the UA core that the dialog layer
//! describes and that must not wait for the application: the ACK to every
//! retransmitted 2xx (RFC 3261 §13.2.2.4) and the retransmission of this
//! side's 2xx until its ACK (§13.3.1.4).

use std::collections::{HashMap, VecDeque};
use std::net::{SocketAddr, UdpSocket as StdUdp};
use std::time::{Duration, Instant};

use sipkit_dialog::{AckFor2xx, Timers, TwoXxAction, TwoXxRetransmit};
use sipkit_message::{parse, Message, Uri};
use sipkit_transaction::{
    Config as TxConfig, Event, TransactionKey, Transactions, Transport as TxTransport,
};
use sipkit_transport::{
    ConnId, Inbound, ListenSpec, Transmit, Transport, TransportConfig, Transports,
};
use tokio::sync::mpsc;

use crate::Error;

/// What the endpoint hands to the call logic.
#[derive(Debug, Clone)]
pub enum EpEvent {
    /// A new request (a server transaction; answer with [`Endpoint::respond`]).
    Request {
        /// The server transaction.
        key: TransactionKey,
        /// The request.
        bytes: Vec<u8>,
        /// Where it came from.
        source: SocketAddr,
        /// For a CANCEL, the INVITE it cancels.
        cancels: Option<TransactionKey>,
    },
    /// A response to a request this side sent (2xx retransmissions already ACKed are absorbed).
    Response {
        /// The client transaction.
        key: TransactionKey,
        /// The status.
        status: u16,
        /// The response.
        bytes: Vec<u8>,
    },
    /// An ACK for a 2xx this side sent (its retransmission has stopped).
    Ack {
        /// The ACK.
        bytes: Vec<u8>,
        /// The Call-ID it carries.
        call_id: String,
    },
    /// No ACK came for this side's 2xx within 64·T1 (§13.3.1.4): end the dialog.
    AckTimeout {
        /// The Call-ID.
        call_id: String,
        /// This side's tag.
        local_tag: String,
    },
    /// A client transaction got no final response (Timer B or F: a 408 to the TU).
    Timeout {
        /// The transaction.
        key: TransactionKey,
    },
    /// Sending failed for this transaction.
    TransportError {
        /// The transaction.
        key: TransactionKey,
    },
    /// The caller's deadline passed.
    Deadline,
}

#[derive(Debug)]
struct Answer {
    key: TransactionKey,
    bytes: Vec<u8>,
    call_id: String,
    local_tag: String,
    retransmit: TwoXxRetransmit,
}

/// One UA's network endpoint: transports, transaction layer, and the 2xx/ACK duties.
#[derive(Debug)]
pub struct Endpoint {
    tx: Transactions,
    transports: Transports,
    inbound: mpsc::Receiver<Inbound>,
    transport: Transport,
    local: SocketAddr,
    advertised: SocketAddr,
    conn_of: HashMap<SocketAddr, ConnId>,
    origin: HashMap<TransactionKey, (SocketAddr, Option<ConnId>)>,
    acks: Vec<(AckFor2xx, SocketAddr)>,
    answers: Vec<Answer>,
    pending: VecDeque<EpEvent>,
    /// Messages to send, in order: sent at the top of [`Endpoint::next`]
    /// (an async send waits for socket readiness; a non-blocking one could
    /// drop the very first datagram).
    outbox: VecDeque<Transmit>,
    timers: Timers,
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

pub use sipkit_transport::seed;

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
        let cfg = TxConfig {
            seed,
            ..TxConfig::default()
        };
        #[allow(clippy::disallowed_methods)]
        let started = Instant::now();
        Ok(Endpoint {
            tx: Transactions::new(cfg),
            transports,
            inbound,
            transport,
            local,
            advertised,
            conn_of: HashMap::new(),
            origin: HashMap::new(),
            acks: Vec::new(),
            answers: Vec::new(),
            pending: VecDeque::new(),
            outbox: VecDeque::new(),
            timers: Timers::default(),
            started,
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }
    /// The address in Via and Contact.
    pub fn advertised(&self) -> SocketAddr {
        self.advertised
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
        let b = self.tx.new_branch();
        format!(
            "SIP/2.0/{} {};branch={b};rport",
            self.transport.as_str(),
            host_port(self.advertised)
        )
    }
    /// A fresh tag.
    pub fn tag(&mut self) -> String {
        self.tx.new_tag()
    }
    /// A fresh Call-ID.
    pub fn call_id(&mut self) -> String {
        format!("{}@{}", self.tx.new_tag(), host_only(self.advertised))
    }
    /// This UA's Contact URI for `user`.
    pub fn contact(&self, user: &str) -> String {
        let t = if self.transport == Transport::Tcp {
            ";transport=tcp"
        } else {
            ""
        };
        format!("sip:{user}@{}{t}", host_port(self.advertised))
    }

    fn tx_transport(&self) -> TxTransport {
        self.transport
    }

    /// Sends a request in a new client transaction.
    pub fn send_request(
        &mut self,
        bytes: &[u8],
        dest: SocketAddr,
    ) -> Result<TransactionKey, Error> {
        let now = now();
        let key = self
            .tx
            .send_request(now, bytes, dest, self.tx_transport())?;
        self.flush();
        Ok(key)
    }

    /// Answers server transaction `key`.
    pub fn respond(&mut self, key: &TransactionKey, bytes: &[u8]) -> Result<(), Error> {
        self.tx.send_response(now(), key, bytes)?;
        self.flush();
        Ok(())
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
        let now = now();
        self.tx.send_response(now, key, bytes)?;
        self.answers.push(Answer {
            key: key.clone(),
            bytes: bytes.to_vec(),
            call_id: call_id.to_owned(),
            local_tag: local_tag.to_owned(),
            retransmit: TwoXxRetransmit::new(now, self.timers, self.transport.is_reliable()),
        });
        self.flush();
        Ok(())
    }

    /// Sends the ACK for a 2xx and keeps it for the 2xx's retransmissions (§13.2.2.4).
    pub fn send_ack(&mut self, ack: AckFor2xx, dest: SocketAddr) {
        self.tx
            .send_stateless(ack.bytes(), dest, self.tx_transport());
        self.acks.push((ack, dest));
        self.flush();
    }

    /// CANCELs an INVITE client transaction (§9.1).
    pub fn cancel(&mut self, invite: &TransactionKey) -> Result<TransactionKey, Error> {
        let k = self.tx.cancel(now(), invite)?;
        self.flush();
        Ok(k)
    }

    /// Resolves a SIP URI to the address to send to (RFC 3263 is not done:
    /// an IP literal, or the host's A/AAAA records; port 5060 by default).
    pub async fn resolve(&self, uri: &str) -> Result<SocketAddr, Error> {
        resolve(uri).await
    }

    /// Sends everything queued, in order. [`Endpoint::next`] does it first;
    /// call it before dropping the endpoint.
    pub async fn send_queued(&mut self) {
        while let Some(t) = self.outbox.pop_front() {
            let dest = t.destination;
            if let Err(e) = self.transports.send(t).await {
                tracing::debug!(%dest, error = %e, "send failed");
            }
        }
    }

    /// Waits for the next event, or until `deadline`.
    pub async fn next(&mut self, deadline: Option<Instant>) -> EpEvent {
        loop {
            self.send_queued().await;
            if let Some(ev) = self.pending.pop_front() {
                return ev;
            }
            let wake = [
                self.tx.poll_timeout(),
                self.answers
                    .iter()
                    .filter_map(|a| a.retransmit.poll_timeout())
                    .min(),
                deadline,
            ]
            .into_iter()
            .flatten()
            .min();
            let sleep = async {
                match wake {
                    Some(d) => tokio::time::sleep_until(tokio::time::Instant::from_std(d)).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                msg = self.inbound.recv() => {
                    let Some(msg) = msg else {
                        return EpEvent::Deadline;
                    };
                    self.on_inbound(msg);
                }
                () = sleep => {
                    let now = now();
                    self.tx.handle_timeout(now);
                    self.answer_timers(now);
                    self.drain();
                    if deadline.is_some_and(|d| now >= d) && self.pending.is_empty() {
                        return EpEvent::Deadline;
                    }
                }
            }
        }
    }

    fn on_inbound(&mut self, msg: Inbound) {
        if let Some(c) = msg.conn {
            self.conn_of.insert(msg.source, c);
        }
        let t = msg.transport;
        self.tx
            .handle_datagram(now(), &msg.bytes, msg.source, msg.local, t);
        self.drain();
    }

    fn answer_timers(&mut self, now: Instant) {
        let mut resend = Vec::new();
        for a in &mut self.answers {
            match a.retransmit.handle_timeout(now) {
                Some(TwoXxAction::Retransmit) => resend.push((a.key.clone(), a.bytes.clone())),
                Some(TwoXxAction::GiveUp) => self.pending.push_back(EpEvent::AckTimeout {
                    call_id: a.call_id.clone(),
                    local_tag: a.local_tag.clone(),
                }),
                None => {}
            }
        }
        for (k, b) in resend {
            // The server transaction is Accepted until Timer L (64·T1): it passes the 2xx on.
            if self.tx.send_response(now, &k, &b).is_err() {
                tracing::debug!("2xx retransmission after the transaction ended");
            }
        }
        self.answers
            .retain(|a| a.retransmit.poll_timeout().is_some());
    }

    fn drain(&mut self) {
        while let Some(ev) = self.tx.poll_event() {
            match ev {
                Event::Request {
                    key,
                    request,
                    source,
                    local,
                    cancels,
                    ..
                } => {
                    self.origin
                        .insert(key.clone(), (local, self.conn_of.get(&source).copied()));
                    self.pending.push_back(EpEvent::Request {
                        key,
                        bytes: request.to_vec(),
                        source,
                        cancels,
                    });
                }
                Event::Response {
                    key,
                    status,
                    response,
                } => {
                    if (200..300).contains(&status) && self.reack(&response) {
                        continue;
                    }
                    if (200..300).contains(&status) && self.end_fork(&key, &response) {
                        continue;
                    }
                    self.pending.push_back(EpEvent::Response {
                        key,
                        status,
                        bytes: response.to_vec(),
                    });
                }
                Event::StrayResponse {
                    status, response, ..
                } => {
                    if (200..300).contains(&status) {
                        self.reack(&response);
                    }
                }
                Event::Ack { request, .. } => {
                    let Ok(Message::Request(ack)) = parse(&request) else {
                        continue;
                    };
                    let call_id = ack.call_id().to_owned();
                    let tag = ack.to().tag().unwrap_or("").to_owned();
                    let mut first = false;
                    for a in &mut self.answers {
                        if a.call_id == call_id && a.local_tag == tag && !a.retransmit.is_acked() {
                            a.retransmit.on_ack();
                            first = true;
                        }
                    }
                    self.answers.retain(|a| !a.retransmit.is_acked());
                    if first {
                        self.pending.push_back(EpEvent::Ack {
                            bytes: request.to_vec(),
                            call_id,
                        });
                    }
                }
                Event::Timeout { key, timer } => {
                    tracing::debug!(?key, timer = timer.name(), "transaction timed out");
                    if key.role() == sipkit_transaction::Role::Client {
                        self.pending.push_back(EpEvent::Timeout { key });
                    }
                }
                Event::TransportError { key } => {
                    self.pending.push_back(EpEvent::TransportError { key })
                }
                Event::Terminated { key } => {
                    self.origin.remove(&key);
                }
                Event::Malformed {
                    error,
                    source,
                    reply,
                    ..
                } => {
                    tracing::info!(%source, error = %error, "malformed message");
                    if let Some(t) = reply {
                        self.push(t.transport, t.destination, None, t.bytes.to_vec());
                    }
                }
                other => tracing::debug!(event = ?other, "ignored"),
            }
        }
        self.flush();
    }

    /// A 2xx from another fork of an INVITE whose first 2xx was ACKed
    /// already (same Call-ID and CSeq, another To tag): RFC 3261 §13.2.2.4
    /// says to ACK it and then end that dialog with BYE. True if it was one.
    fn end_fork(&mut self, key: &TransactionKey, response: &[u8]) -> bool {
        let Ok(Message::Response(r)) = parse(response) else {
            return false;
        };
        if r.cseq().method != "INVITE" {
            return false;
        }
        let Some(dest) = self
            .acks
            .iter()
            .find(|(a, _)| a.is_for_invite(r.call_id(), r.cseq().seq))
            .map(|(_, d)| *d)
        else {
            return false;
        };
        let Some(invite) = self.tx.request(key) else {
            return false;
        };
        let Ok(Message::Request(inv)) = parse(&invite) else {
            return false;
        };
        let Ok(mut dialog) = sipkit_dialog::Dialog::uac(&inv, &r) else {
            return false;
        };
        let via = self.via();
        let ack = dialog.ack(inv.cseq().seq, &via).build();
        let tag = dialog.id().remote_tag.clone();
        self.send_ack(
            AckFor2xx::new(inv.call_id(), inv.cseq().seq, &tag, ack),
            dest,
        );
        let via = self.via();
        if let Ok((b, _)) = dialog.request("BYE", &via) {
            let bye = b
                .header(sipkit_message::HeaderName::UserAgent, crate::USER_AGENT)
                .build();
            let _ = self.send_request(&bye, dest);
        }
        tracing::info!(tag = %tag, "a second 2xx from another fork: ACKed and ended with BYE (RFC 3261 §13.2.2.4)");
        true
    }

    /// Resends the kept ACK if `response` is a retransmission of an ACKed 2xx.
    fn reack(&mut self, response: &[u8]) -> bool {
        let Ok(Message::Response(r)) = parse(response) else {
            return false;
        };
        if r.cseq().method != "INVITE" {
            return false;
        }
        let mut hit = None;
        for (a, dest) in &mut self.acks {
            if let Some(b) = a.on_2xx(&r) {
                hit = Some((b.to_vec(), *dest));
                break;
            }
        }
        match hit {
            Some((b, dest)) => {
                self.tx.send_stateless(&b, dest, self.tx_transport());
                true
            }
            None => false,
        }
    }

    fn flush(&mut self) {
        while let Some(t) = self.tx.poll_transmit() {
            let origin = t.key.as_ref().and_then(|k| self.origin.get(k).copied());
            let local = origin.map(|(l, _)| l);
            self.push(t.transport, t.destination, local, t.bytes.to_vec());
        }
    }

    fn push(
        &mut self,
        transport: TxTransport,
        destination: SocketAddr,
        local: Option<SocketAddr>,
        bytes: Vec<u8>,
    ) {
        if sipkit_message::is_forbidden_destination(destination) {
            return;
        }
        let t = match transport {
            TxTransport::Udp => Transmit {
                transport: Transport::Udp,
                destination,
                conn: None,
                local,
                bytes,
            },
            _ => {
                let conn = self.conn_of.get(&destination).copied();
                Transmit {
                    transport: Transport::Tcp,
                    destination,
                    conn,
                    local: None,
                    bytes,
                }
            }
        };
        self.outbox.push_back(t);
    }

    /// How long since the endpoint started.
    pub fn elapsed(&self) -> Duration {
        now().saturating_duration_since(self.started)
    }
}

/// The driver's clock.
pub fn now() -> Instant {
    #[allow(clippy::disallowed_methods)] // the driver owns the clock
    Instant::now()
}

fn host_only(a: SocketAddr) -> String {
    match a {
        SocketAddr::V4(v) => v.ip().to_string(),
        SocketAddr::V6(v) => format!("[{}]", v.ip()),
    }
}

fn host_port(a: SocketAddr) -> String {
    format!("{}:{}", host_only(a), a.port())
}

/// Resolves a SIP URI's host and port (IP literal or A/AAAA; 5060, or 5061 for sips).
pub async fn resolve(uri: &str) -> Result<SocketAddr, Error> {
    let u = Uri::parse(uri).map_err(|e| Error::BadUri(uri.to_owned(), e.to_string()))?;
    if !u.is_sip() {
        return Err(Error::BadUri(
            uri.to_owned(),
            "only sip: and sips: URIs can be called".into(),
        ));
    }
    let port = u
        .port
        .unwrap_or(if matches!(u.scheme, sipkit_message::Scheme::Sips) {
            5061
        } else {
            5060
        });
    let host = u
        .params
        .value("maddr")
        .map(str::to_owned)
        .or_else(|| u.host.map(|h| h.to_string()));
    let Some(host) = host else {
        return Err(Error::BadUri(uri.to_owned(), "no host".into()));
    };
    let bare = host.trim_matches(['[', ']']).to_owned();
    if let Ok(ip) = bare.parse::<std::net::IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    let mut addrs = tokio::net::lookup_host((bare.as_str(), port))
        .await
        .map_err(|e| Error::Resolve(host.clone(), e.to_string()))?;
    addrs
        .next()
        .ok_or_else(|| Error::Resolve(host, "no address".into()))
}
