//! The user agent's sans-IO core: the transaction layer plus the two duties
//! of a UA core that must not wait for the application — the ACK to every
//! retransmitted 2xx (RFC 3261 §13.2.2.4) and the retransmission of this
//! side's 2xx until its ACK (§13.3.1.4) — and the end of a second 2xx from
//! another fork (ACK, then BYE, §13.2.2.4).
//!
//! No sockets and no clock: every input takes `now`, and the outputs are
//! drained with [`UaCore::poll_transmit`], [`UaCore::poll_event`] and
//! [`UaCore::poll_timeout`] (ARCHITECTURE.md, "The sans-IO contract"). The
//! synchronous [`crate::Agent`] sits on it, and `sipkit-transport`'s one
//! driver runs the agent; the tests drive both on a jumping clock. What it
//! transmits is the transaction layer's [`Transmit`]: a response carries
//! the local address and the connection its request came on, so nothing
//! here keeps its own book of them.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Instant;

use sipkit_dialog::{AckFor2xx, Timers, TwoXxAction, TwoXxRetransmit};
use sipkit_message::{parse, Message, Uri};
pub use sipkit_transaction::Transmit;
use sipkit_transaction::{Arrival, Config as TxConfig, Event, TransactionKey, Transactions};
use sipkit_transport::Transport;

use crate::Error;

/// What the core hands to the call logic.
#[derive(Debug, Clone)]
pub enum EpEvent {
    /// A new request (a server transaction; answer with [`UaCore::respond`]).
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
}

#[derive(Debug)]
struct Answer {
    key: TransactionKey,
    bytes: Vec<u8>,
    call_id: String,
    local_tag: String,
    retransmit: TwoXxRetransmit,
}

/// One UA's protocol core: transaction layer, 2xx/ACK duties, identities.
#[derive(Debug)]
pub struct UaCore {
    tx: Transactions,
    transport: Transport,
    advertised: SocketAddr,
    acks: Vec<(AckFor2xx, SocketAddr)>,
    answers: Vec<Answer>,
    events: VecDeque<EpEvent>,
    outbox: VecDeque<Transmit>,
    timers: Timers,
    /// SplitMix64 state for cnonces (seeded; no hidden randomness).
    rng: u64,
}

impl UaCore {
    /// A core that speaks `transport` and puts `advertised` in Via and
    /// Contact; `seed` feeds tags, branches and Call-IDs.
    pub fn new(transport: Transport, advertised: SocketAddr, seed: u64) -> UaCore {
        let cfg = TxConfig {
            seed,
            ..TxConfig::default()
        };
        UaCore {
            tx: Transactions::new(cfg),
            transport,
            advertised,
            acks: Vec::new(),
            answers: Vec::new(),
            events: VecDeque::new(),
            outbox: VecDeque::new(),
            timers: Timers::default(),
            rng: seed ^ 0x6a09_e667_f3bc_c908,
        }
    }

    /// The address in Via and Contact.
    pub fn advertised(&self) -> SocketAddr {
        self.advertised
    }
    /// The transport.
    pub fn transport(&self) -> Transport {
        self.transport
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

    fn tx_transport(&self) -> Transport {
        self.transport
    }

    /// Eight fresh bytes from the seeded generator (SplitMix64), for a
    /// digest cnonce (RFC 7616 §3.4: the client's nonce).
    pub fn random_bytes(&mut self) -> [u8; 8] {
        self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        (z ^ (z >> 31)).to_be_bytes()
    }

    // ------------------------------------------------------------ inputs

    /// A message received from `source` on `local` (no connection).
    pub fn handle_datagram(
        &mut self,
        now: Instant,
        bytes: &[u8],
        source: SocketAddr,
        local: SocketAddr,
        transport: Transport,
    ) {
        self.tx
            .handle_datagram(now, bytes, source, local, transport);
        self.drain(now);
    }

    /// A message received as `from` says, connection included: responses
    /// to a request go back on the connection it came on (RFC 3261 §18.2.2).
    pub fn handle_received(&mut self, now: Instant, bytes: &[u8], from: Arrival) {
        self.tx.handle_received(now, bytes, from);
        self.drain(now);
    }

    /// A transmission of transaction `key` could not be sent: it fails
    /// (RFC 3261 §17.1.4, §17.2.4) and the call logic hears of it.
    pub fn handle_transport_error(&mut self, now: Instant, key: &TransactionKey) {
        if self.tx.handle_transport_error(now, key).is_err() {
            tracing::debug!(?key, "a send failed after its transaction ended");
        }
        self.drain(now);
    }

    /// Fires every deadline up to `now`: the transaction timers and the 2xx retransmissions.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.tx.handle_timeout(now);
        self.answer_timers(now);
        self.drain(now);
    }

    /// Sends a request in a new client transaction.
    pub fn send_request(
        &mut self,
        now: Instant,
        bytes: &[u8],
        dest: SocketAddr,
    ) -> Result<TransactionKey, Error> {
        let key = self
            .tx
            .send_request(now, bytes, dest, self.tx_transport())?;
        self.flush();
        Ok(key)
    }

    /// Answers server transaction `key`.
    pub fn respond(
        &mut self,
        now: Instant,
        key: &TransactionKey,
        bytes: &[u8],
    ) -> Result<(), Error> {
        self.tx.send_response(now, key, bytes)?;
        self.flush();
        Ok(())
    }

    /// Answers an INVITE with a 2xx and keeps retransmitting it until the
    /// ACK (RFC 3261 §13.3.1.4).
    pub fn respond_2xx(
        &mut self,
        now: Instant,
        key: &TransactionKey,
        bytes: &[u8],
        call_id: &str,
        local_tag: &str,
    ) -> Result<(), Error> {
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
    pub fn cancel(
        &mut self,
        now: Instant,
        invite: &TransactionKey,
    ) -> Result<TransactionKey, Error> {
        let k = self.tx.cancel(now, invite)?;
        self.flush();
        Ok(k)
    }

    // ----------------------------------------------------------- outputs

    /// The next message to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.outbox.pop_front()
    }

    /// The next event for the call logic.
    pub fn poll_event(&mut self) -> Option<EpEvent> {
        self.events.pop_front()
    }

    /// The earliest deadline: a transaction timer or a 2xx retransmission.
    pub fn poll_timeout(&mut self) -> Option<Instant> {
        [
            self.tx.poll_timeout(),
            self.answers
                .iter()
                .filter_map(|a| a.retransmit.poll_timeout())
                .min(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    // --------------------------------------------------------- internals

    fn answer_timers(&mut self, now: Instant) {
        let mut resend = Vec::new();
        for a in &mut self.answers {
            match a.retransmit.handle_timeout(now) {
                Some(TwoXxAction::Retransmit) => resend.push((a.key.clone(), a.bytes.clone())),
                Some(TwoXxAction::GiveUp) => self.events.push_back(EpEvent::AckTimeout {
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

    fn drain(&mut self, now: Instant) {
        while let Some(ev) = self.tx.poll_event() {
            match ev {
                Event::Request {
                    key,
                    request,
                    source,
                    cancels,
                    ..
                } => {
                    self.events.push_back(EpEvent::Request {
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
                    if (200..300).contains(&status) && self.end_fork(now, &key, &response) {
                        continue;
                    }
                    self.events.push_back(EpEvent::Response {
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
                        self.events.push_back(EpEvent::Ack {
                            bytes: request.to_vec(),
                            call_id,
                        });
                    }
                }
                Event::Timeout { key, timer } => {
                    tracing::debug!(?key, timer = timer.name(), "transaction timed out");
                    if key.role() == sipkit_transaction::Role::Client {
                        self.events.push_back(EpEvent::Timeout { key });
                    }
                }
                Event::TransportError { key } => {
                    self.events.push_back(EpEvent::TransportError { key })
                }
                Event::Terminated { .. } => {}
                Event::Malformed {
                    error,
                    source,
                    reply,
                    ..
                } => {
                    tracing::info!(%source, error = %error, "malformed message");
                    if let Some(t) = reply {
                        self.push(t);
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
    /// The ACK and BYE go to the fork's own next hop when it is an IP
    /// literal (its Contact, or its first Route), else where the first ACK went.
    fn end_fork(&mut self, now: Instant, key: &TransactionKey, response: &[u8]) -> bool {
        let Ok(Message::Response(r)) = parse(response) else {
            return false;
        };
        if r.cseq().method != "INVITE" {
            return false;
        }
        let Some(first_dest) = self
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
        let dest = resolve_literal(dialog.next_hop()).unwrap_or(first_dest);
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
            if let Err(e) = self.send_request(now, &bye, dest) {
                tracing::debug!(error = %e, "BYE to the extra fork refused");
            }
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
            self.push(t);
        }
    }

    fn push(&mut self, t: Transmit) {
        if sipkit_message::is_forbidden_destination(t.destination) {
            return;
        }
        self.outbox.push_back(t);
    }
}

pub(crate) fn host_only(a: SocketAddr) -> String {
    match a {
        SocketAddr::V4(v) => v.ip().to_string(),
        SocketAddr::V6(v) => format!("[{}]", v.ip()),
    }
}

fn host_port(a: SocketAddr) -> String {
    format!("{}:{}", host_only(a), a.port())
}

/// Where a SIP URI's host and port point when the host is an IP literal
/// (or its `maddr` is): port 5060, or 5061 for sips. `Err` for a host name
/// (which needs DNS: [`crate::resolve`]) or a URI that is not sip:/sips:.
pub fn resolve_literal(uri: &str) -> Result<SocketAddr, Error> {
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
    let bare = host.trim_matches(['[', ']']);
    match bare.parse::<std::net::IpAddr>() {
        Ok(ip) => Ok(SocketAddr::new(ip, port)),
        Err(_) => Err(Error::Resolve(host, "not an IP literal".into())),
    }
}
