//! The core of `sipkit serve`: the transaction layer (RFC 3261 §17) and the
//! [`Service`] (registrar and redirect server), as one sans-IO endpoint.
//! It owns no socket and reads no clock: `sipkit_transport::driver` feeds it
//! what the transports received, with the time, and sends what it returns;
//! tests feed it the same way with a clock that jumps.
//!
//! Two duties besides answering:
//!
//! - group commit: the REGISTERs of one driver turn are made durable
//!   together ([`Endpoint::end_batch`]), and no response of that turn leaves
//!   before — [`Endpoint::poll_transmit`] holds everything while a batch is
//!   open, and the 200s to REGISTERs are handed to their transactions only
//!   once the commit succeeded, so a 200 is never sent for a binding a
//!   crash could still lose; when the commit fails those REGISTERs are
//!   answered 500 with Retry-After instead (nothing of them was stored) and
//!   the server goes on;
//! - purging expired bindings, as a timer of its own, in worker 0 only
//!   (every store is shared by the workers of a node, so one sweeper is
//!   enough): a round starts every [`PURGE_EVERY`] and goes in
//!   [`crate::LocationService::purge_step`]s of [`PURGE_STEP_BUDGET`] AORs, one
//!   every [`PURGE_STEP_EVERY`], so a large Redis store is swept in short
//!   bites between messages instead of one long stall (issue 14). Memory
//!   and SQLite finish a round in one step, as before.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sipkit_message::{parse, parse_with, stamp_received, Message, Method, Mode, Request};
use sipkit_transaction::{Config as TxConfig, Event, TransactionKey, Transactions, Transmit};
use sipkit_transport::{Endpoint, Inbound, Now, SendFailure};

use crate::metrics::Metrics;
use crate::{ConnRef, Error, ServerConfig, Service, TransportAddr, UnixMs};

/// How often expired bindings are deleted from the location service.
/// A round starts this long after the previous one started, or one
/// [`PURGE_STEP_EVERY`] after it ended when it took longer.
pub const PURGE_EVERY: Duration = Duration::from_secs(60);

/// The pause between two steps of a purge round.
pub const PURGE_STEP_EVERY: Duration = Duration::from_millis(100);

/// The AORs one purge step may look at ([`crate::LocationService::purge_step`]).
/// With [`PURGE_STEP_EVERY`] that is about 5 000 AORs a second: on Redis
/// (see [`crate::RedisStore`], "Commands per request") a round over 100 000
/// AORs took 194 steps (about 20 s, within [`PURGE_EVERY`]); one step is
/// one SCAN and one pipeline of at most about 500 short scripts (16 ms at
/// most in a debug build, against 1.4 s for one whole purge).
pub const PURGE_STEP_BUDGET: usize = 500;

/// The transaction layer and the service, driven one input at a time.
#[derive(Debug)]
pub struct Core {
    tx: Transactions,
    service: Service,
    /// Replies to malformed requests (sent outside any transaction).
    replies: VecDeque<Transmit>,
    /// True between `begin_batch` and `end_batch`: nothing is sent.
    batch_open: bool,
    /// When the next purge step is due (worker 0 only).
    next_purge: Instant,
    /// When the purge round under way started, if one is.
    round_start: Option<Instant>,
    /// Where to count, and which worker this core is.
    metrics: Option<(Arc<Metrics>, usize)>,
    /// The deadline last reported by `poll_timeout` (for the loop lag).
    deadline: Option<Instant>,
    /// Which worker this core is (stored with bindings, [`ConnRef`]).
    worker: u32,
    /// The connection of the message being handled, while it is.
    arrival_conn: Option<sipkit_transport::ConnId>,
    /// The 200s to REGISTERs of the open batch, waiting for its commit.
    held: Vec<Held>,
}

/// A 200 to a REGISTER that waits for the batch's commit, and the 500 to
/// send instead if the commit fails.
#[derive(Debug)]
struct Held {
    key: TransactionKey,
    at: Instant,
    source: std::net::SocketAddr,
    ok: crate::Reply,
    failed: crate::Reply,
}

impl Core {
    /// A core answering with `service`, with the timers and limits of
    /// `config`; tags and branches from `seed`. The first purge step is due
    /// at `now` (if this core stays worker 0, see [`Core::set_worker`]).
    pub fn new(service: Service, config: &ServerConfig, seed: u64, now: Instant) -> Core {
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
        Core {
            tx: Transactions::new(txc),
            service,
            replies: VecDeque::new(),
            batch_open: false,
            next_purge: now,
            round_start: None,
            metrics: None,
            deadline: None,
            worker: 0,
            arrival_conn: None,
            held: Vec::new(),
        }
    }

    /// Says which worker of the server this core is (default 0): bindings
    /// written through a connection name it ([`ConnRef::worker`]). Only
    /// worker 0 purges expired bindings: the workers share one store.
    pub fn set_worker(&mut self, worker: usize) {
        self.worker = u32::try_from(worker).unwrap_or(u32::MAX);
    }

    /// Counts requests, responses, malformed messages, open transactions
    /// and timer lateness into `metrics`, as worker number `worker`.
    pub fn set_metrics(&mut self, metrics: Arc<Metrics>, worker: usize) {
        self.metrics = Some((metrics, worker));
    }

    /// Publishes the open transactions gauge.
    fn gauge(&self) {
        if let Some((m, w)) = &self.metrics {
            m.set_transactions(*w, self.tx.len());
        }
    }

    /// How many transactions are live.
    pub fn transactions(&self) -> usize {
        self.tx.len()
    }

    /// Handles every event of the transaction layer; `parsed` is the input
    /// message when it was a request (a new request's event carries the
    /// same bytes, so it is not parsed twice).
    fn drain(&mut self, now: Now, parsed: Option<&Request<'_>>) {
        while let Some(ev) = self.tx.poll_event() {
            match ev {
                Event::Request {
                    key,
                    request,
                    source,
                    transport,
                    cancels,
                    ..
                } => {
                    let from = TransportAddr::new(transport, source);
                    let conn = self.arrival_conn.map(|c| ConnRef {
                        worker: self.worker,
                        id: c.get(),
                    });
                    let from = (from, conn);
                    let matched = cancels.is_some();
                    match parsed {
                        Some(req) => self.answer(now, &key, req, from, matched),
                        None => match parse(request.as_slice()) {
                            Ok(Message::Request(req)) => {
                                self.answer(now, &key, &req, from, matched)
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
                    if let Some((m, _)) = &self.metrics {
                        m.malformed();
                        if let Some(code) =
                            reply.as_ref().and_then(|r| status_of(r.bytes.as_slice()))
                        {
                            m.response(code);
                        }
                    }
                    self.replies.extend(reply);
                }
                Event::Timeout { key, timer } => {
                    tracing::debug!(?key, timer = timer.name(), "transaction timed out");
                }
                Event::Terminated { .. } => {}
                other => tracing::debug!(event = ?other, "ignored"),
            }
        }
    }

    /// Answers one new request through its server transaction.
    fn answer(
        &mut self,
        now: Now,
        key: &TransactionKey,
        req: &Request<'_>,
        (from, conn): (TransportAddr, Option<ConnRef>),
        matched: bool,
    ) {
        let source = from.addr;
        if let Some((m, _)) = &self.metrics {
            m.request(req.method_str());
        }
        let stamped = req.top_via().ok().and_then(|v| stamp_received(&v, source));
        let reply = match req.method() {
            Method::Cancel => Some(
                self.service
                    .respond_cancel(req, matched, stamped.as_deref()),
            ),
            _ => self.service.respond_on(
                UnixMs::from_system_time(now.wall),
                req,
                from,
                conn,
                stamped.as_deref(),
            ),
        };
        let Some(reply) = reply else { return };
        if self.batch_open && reply.status == 200 && req.method() == Method::Register {
            let failed = self.service.location_service_failure(
                req,
                stamped.as_deref(),
                "group commit failed",
            );
            self.held.push(Held {
                key: key.clone(),
                at: now.instant,
                source,
                ok: reply,
                failed,
            });
            return;
        }
        self.send_reply(now.instant, key, source, req.method_str(), &reply);
    }

    /// Hands `reply` to its server transaction, logs and counts it.
    fn send_reply(
        &mut self,
        at: Instant,
        key: &TransactionKey,
        source: std::net::SocketAddr,
        method: &str,
        reply: &crate::Reply,
    ) {
        if let Some(log) = &reply.log {
            tracing::error!(%source, "{log}");
        }
        tracing::debug!(%source, method, status = reply.status, "answered");
        match self.tx.send_response(at, key, &reply.bytes) {
            Ok(_) => {
                if let Some((m, _)) = &self.metrics {
                    m.response(reply.status);
                }
            }
            Err(e) => {
                tracing::warn!(%source, error = %e, "the transaction layer refused the response")
            }
        }
    }

    /// Whether this core sweeps the store (worker 0).
    fn sweeps(&self) -> bool {
        self.worker == 0
    }

    /// One purge step; schedules the next one.
    fn purge(&mut self, now: Now) {
        let started = *self.round_start.get_or_insert(now.instant);
        match self
            .service
            .store
            .purge_step(UnixMs::from_system_time(now.wall), PURGE_STEP_BUDGET)
        {
            Ok(p) => {
                if p.purged > 0 {
                    tracing::debug!(purged = p.purged, "expired bindings purged");
                }
                if p.round_done {
                    self.round_start = None;
                    self.next_purge = (started + PURGE_EVERY).max(now.instant + PURGE_STEP_EVERY);
                } else {
                    self.next_purge = now.instant + PURGE_STEP_EVERY;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "purging expired bindings failed");
                // The store keeps its place; try again in a round's time.
                self.next_purge = now.instant + PURGE_EVERY;
            }
        }
    }
}

impl Endpoint for Core {
    type Command = Infallible;
    type Error = Error;

    fn handle_inbound(&mut self, now: Now, msg: Inbound) {
        // Banned or rate-limited sources cost one lookup, before parsing.
        if !self
            .service
            .admit(UnixMs::from_system_time(now.wall), msg.source)
        {
            return;
        }
        let mode = if msg.transport.is_stream() {
            Mode::Stream
        } else {
            Mode::Datagram
        };
        let from = msg.arrival();
        self.arrival_conn = msg.conn;
        // One parse serves the transaction layer and the service.
        match parse_with(&msg.bytes, &self.tx.config().limits, mode) {
            Ok(parsed) => {
                self.tx
                    .handle_parsed(now.instant, &parsed, &msg.bytes, from);
                self.drain(now, parsed.as_request());
            }
            Err(_) => {
                // The transaction layer reports it, with the reply to send.
                self.tx.handle_received(now.instant, &msg.bytes, from);
                self.drain(now, None);
            }
        }
        self.arrival_conn = None;
    }

    fn handle_timeout(&mut self, now: Now) {
        if let (Some((m, _)), Some(d)) = (&self.metrics, self.deadline) {
            if now.instant >= d {
                m.loop_lag(now.instant - d);
            }
        }
        self.tx.handle_timeout(now.instant);
        self.drain(now, None);
        if self.sweeps() && now.instant >= self.next_purge {
            self.purge(now);
        }
        self.gauge();
    }

    fn handle_send_error(&mut self, now: Now, failure: SendFailure) {
        tracing::debug!(destination = %failure.destination, error = %failure.error, "send failed");
        // RFC 3261 §17.2.4: the server transaction informs the TU and ends.
        if let Some(key) = failure.key {
            let _ = self.tx.handle_transport_error(now.instant, &key);
            self.drain(now, None);
        }
    }

    fn poll_timeout(&mut self) -> Option<Instant> {
        let purge = self.sweeps().then_some(self.next_purge);
        let d = match (self.tx.poll_timeout(), purge) {
            (Some(t), Some(p)) => Some(t.min(p)),
            (t, p) => t.or(p),
        };
        self.deadline = d;
        d
    }

    fn poll_transmit(&mut self) -> Option<Transmit> {
        if self.batch_open {
            return None;
        }
        self.replies.pop_front().or_else(|| self.tx.poll_transmit())
    }

    fn begin_batch(&mut self) -> Result<(), Error> {
        self.service.store.begin_batch()?;
        self.batch_open = true;
        Ok(())
    }

    fn end_batch(&mut self) -> Result<(), Error> {
        // Nothing of this turn's REGISTERs is stored if the commit fails:
        // they are answered 500 (Retry-After) instead of 200.
        let committed = self.service.store.end_batch();
        self.batch_open = false;
        let held = std::mem::take(&mut self.held);
        if let Err(e) = &committed {
            tracing::error!(error = %e, registrations = held.len(), "the location service could not commit a turn; its REGISTERs are answered 500");
        }
        for h in held {
            let reply = if committed.is_ok() { &h.ok } else { &h.failed };
            self.send_reply(h.at, &h.key, h.source, "REGISTER", reply);
        }
        self.gauge();
        Ok(())
    }
}

/// The status code of a response's bytes (`SIP/2.0 NNN ...`).
fn status_of(bytes: &[u8]) -> Option<u16> {
    let code = bytes.strip_prefix(b"SIP/2.0 ")?.get(..3)?;
    std::str::from_utf8(code).ok()?.parse().ok()
}
