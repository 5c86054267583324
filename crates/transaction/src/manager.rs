//! [`Transactions`]: every live transaction of one endpoint, the sans-IO
//! way (ARCHITECTURE.md, "The sans-IO contract"). Inputs carry `now`;
//! outputs are drained with `poll_transmit`, `poll_event` and
//! `poll_timeout`.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use crate::adapter::{self, ParseError, Start, Summary};
use crate::fsm::{Actions, Ctx, Input, Machine, Send, SlotOp, Up};
use crate::key::{client_key, server_key, Role, TransactionKey};
use crate::rng::SplitMix64;
use crate::{Config, ConnId, Error, SharedBytes, State, Timer, Transport};

/// Bytes to send: the output of [`Transactions::poll_transmit`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// Where to send: the request's destination, or for a response the
    /// address RFC 3261 §18.2.2 (and RFC 3581 `rport`) selects — over a
    /// reliable transport, the connection the request came from.
    pub destination: SocketAddr,
    /// Over which transport.
    pub transport: Transport,
    /// The message.
    pub bytes: SharedBytes,
    /// The transaction that sent it, if any; report a failure to send with
    /// [`Transactions::handle_transport_error`].
    pub key: Option<TransactionKey>,
    /// Our address to send from: for a response, the local address its
    /// request arrived on (RFC 3261 §18.2.2: "using the same transport"
    /// and, behind several sockets, the same socket). `None` lets the
    /// driver pick one of the destination's family.
    pub local: Option<SocketAddr>,
    /// The connection to send on (connection-oriented transports): for a
    /// response, the one its request came on (§18.2.2). If the driver has
    /// closed it, it opens or reuses one to `destination`.
    pub conn: Option<ConnId>,
}

/// How a received message arrived: the input that goes with its bytes
/// ([`Transactions::handle_received`]). Responses of the server transaction
/// it creates leave from `local` on `conn`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arrival {
    /// The packet's source (RFC 3261 §18.2.1).
    pub source: SocketAddr,
    /// Our address it arrived on.
    pub local: SocketAddr,
    /// The transport it arrived over.
    pub transport: Transport,
    /// The connection it came on, for connection-oriented transports.
    pub conn: Option<ConnId>,
}

/// What the transaction layer tells the TU: the output of [`Transactions::poll_event`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Event {
    /// A new request created a server transaction (RFC 3261 §17.2.1, §17.2.2:
    /// "the request MUST be passed to the TU"). Answer it with
    /// [`Transactions::send_response`] and this key; retransmissions of it
    /// are absorbed and never show up again.
    Request {
        /// The server transaction.
        key: TransactionKey,
        /// The request as received.
        request: SharedBytes,
        /// Where it came from.
        source: SocketAddr,
        /// The local address it arrived on.
        local: SocketAddr,
        /// The transport it arrived over.
        transport: Transport,
        /// For a CANCEL: the INVITE server transaction it matches (RFC 3261
        /// §9.2), if one is live. `None` calls for a 481 (§9.2).
        cancels: Option<TransactionKey>,
    },
    /// A response for a client transaction (RFC 3261 §17.1.1.2, §17.1.2.2):
    /// provisional responses, the final response once, and with RFC 6026
    /// every 2xx to an INVITE while it is Accepted (forks and retransmissions,
    /// which the TU ACKs, §13.2.2.4).
    Response {
        /// The client transaction.
        key: TransactionKey,
        /// The status code.
        status: u16,
        /// The response as received.
        response: SharedBytes,
    },
    /// An ACK the transaction layer does not absorb: the ACK for a 2xx
    /// (it has its own branch and matches no transaction, RFC 3261 §17.2.3,
    /// §13.3.1.4), or one that matched an INVITE server transaction in the
    /// Accepted state (RFC 6026 §8.7), whose key is then given.
    Ack {
        /// The Accepted INVITE server transaction it matched, if any.
        key: Option<TransactionKey>,
        /// The ACK as received.
        request: SharedBytes,
        /// Where it came from.
        source: SocketAddr,
        /// The local address it arrived on.
        local: SocketAddr,
        /// The transport it arrived over.
        transport: Transport,
    },
    /// A response that matches no client transaction; RFC 3261 §18.1.2 passes
    /// it to the core (a 2xx retransmission after Timer M, a stray).
    StrayResponse {
        /// The status code.
        status: u16,
        /// The response as received.
        response: SharedBytes,
        /// Where it came from.
        source: SocketAddr,
        /// The local address it arrived on.
        local: SocketAddr,
        /// The transport it arrived over.
        transport: Transport,
    },
    /// The transaction timed out: Timer B or F (no final response; the TU
    /// treats it as a 408, RFC 3261 §8.1.3.1) or Timer H (the ACK never came,
    /// §17.2.1). A `Terminated` event follows.
    Timeout {
        /// The transaction.
        key: TransactionKey,
        /// B, F or H.
        timer: Timer,
    },
    /// The driver reported a transport failure for this transaction (RFC 3261
    /// §17.1.4, §17.2.4). A `Terminated` event follows.
    TransportError {
        /// The transaction.
        key: TransactionKey,
    },
    /// The transaction is gone; its key is no longer valid.
    Terminated {
        /// The transaction.
        key: TransactionKey,
    },
    /// The datagram did not parse. For a request, `reply` is the answer
    /// from the one mapping of parse errors to replies (400 with a Warning,
    /// 505, 513; `sipkit_message::wire_reply`), addressed to the source: a
    /// server sends it. For a response, unrecognisable input or an ACK,
    /// `reply` is `None`: drop it (RFC 4475 §3.1.2.19). Nothing is queued
    /// for transmission on its own.
    Malformed {
        /// What is wrong, and where.
        error: ParseError,
        /// Where it came from.
        source: SocketAddr,
        /// The local address it arrived on.
        local: SocketAddr,
        /// The transport it arrived over.
        transport: Transport,
        /// The reply to send, if the input was a request.
        reply: Option<Transmit>,
    },
}

/// One live transaction: its key and request in one buffer, the message
/// it retransmits, where it sends, its state and its two timer slots.
#[derive(Debug)]
struct Transaction {
    key: TransactionKey,
    request: SharedBytes,
    /// Server: the last response sent. Client INVITE: the ACK.
    stored: Option<SharedBytes>,
    /// Client: the destination. Server: where responses go (§18.2.2).
    peer: SocketAddr,
    transport: Transport,
    /// Server: the local address and connection the request came on.
    local: Option<SocketAddr>,
    conn: Option<ConnId>,
    machine: Machine,
    timers: [Option<(Timer, Instant)>; 2],
}

#[derive(Debug)]
struct Entry {
    generation: u32,
    tx: Option<Transaction>,
}

/// What came with an input, for the events and messages it causes.
#[derive(Debug, Clone)]
enum Carried<'a> {
    Nothing,
    Response {
        bytes: &'a [u8],
        status: u16,
    },
    NewRequest {
        from: Arrival,
        cancels: Option<TransactionKey>,
    },
    Ack {
        bytes: &'a [u8],
        from: Arrival,
    },
    Outgoing {
        bytes: &'a [u8],
    },
}

/// The transaction layer of one endpoint: every live client and server
/// transaction, matched by [`TransactionKey`] in a hash map, with their
/// timers in one min-heap of `(deadline, transaction, timer)`.
///
/// Timers are deleted lazily: a heap entry counts only while its
/// transaction still holds that timer at that deadline; stale entries are
/// skipped when they surface, and the heap is rebuilt when they outnumber
/// the live ones. A transaction costs one allocation for its key and
/// request together, one for its last response (or ACK), and a fixed-size
/// slot; nothing else.
///
/// See the [crate documentation](crate) for the driver loop.
#[derive(Debug)]
pub struct Transactions {
    config: Config,
    rng: SplitMix64,
    /// Keyed by a fast hash seeded from the config (keys come from the
    /// network: a seed per process keeps them from being chosen to collide).
    index: HashMap<TransactionKey, u32, foldhash::fast::FixedState>,
    slab: Vec<Entry>,
    free: Vec<u32>,
    heap: BinaryHeap<Reverse<(Instant, u64, Timer)>>,
    armed: usize,
    transmits: VecDeque<Transmit>,
    events: VecDeque<Event>,
    scratch: Vec<u8>,
}

impl Transactions {
    /// An empty transaction layer.
    pub fn new(config: Config) -> Transactions {
        let seed = config.seed;
        Transactions {
            rng: SplitMix64::new(seed),
            config,
            index: HashMap::with_hasher(foldhash::fast::FixedState::with_seed(seed)),
            slab: Vec::new(),
            free: Vec::new(),
            heap: BinaryHeap::new(),
            armed: 0,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            scratch: Vec::with_capacity(2048),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Number of live transactions.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// True if no transaction is live.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// The state of a live transaction.
    pub fn state(&self, key: &TransactionKey) -> Option<State> {
        self.get(key).map(|t| t.machine.state())
    }

    /// The request that created a live transaction.
    pub fn request(&self, key: &TransactionKey) -> Option<SharedBytes> {
        self.get(key).map(|t| t.request.clone())
    }

    /// A new branch for the top Via of a request this side sends: the RFC
    /// 3261 §8.1.1.7 magic cookie `z9hG4bK` and 16 hex digits from the
    /// seeded generator ([`Config::seed`]).
    pub fn new_branch(&mut self) -> String {
        let mut s = String::with_capacity(23);
        s.push_str(adapter::MAGIC_COOKIE);
        self.rng.hex(&mut s, 16);
        s
    }

    /// A new tag (RFC 3261 §19.3), 16 hex digits from the seeded generator.
    pub fn new_tag(&mut self) -> String {
        let mut s = String::with_capacity(16);
        self.rng.hex(&mut s, 16);
        s
    }

    // ------------------------------------------------------------ inputs

    /// Feeds one received message: a UDP datagram, or one message framed out
    /// of a TCP/TLS stream (with `sipkit_message::StreamDecoder`), or a
    /// WebSocket frame. Matches it to a transaction (RFC 3261 §17.1.3,
    /// §17.2.3) or creates a server transaction; then drain the outputs.
    /// The same as [`Transactions::handle_received`] with no connection.
    pub fn handle_datagram(
        &mut self,
        now: Instant,
        bytes: &[u8],
        source: SocketAddr,
        local: SocketAddr,
        transport: Transport,
    ) {
        self.handle_received(
            now,
            bytes,
            Arrival {
                source,
                local,
                transport,
                conn: None,
            },
        );
    }

    /// Feeds one received message with how it arrived, connection
    /// included: the responses of a server transaction it creates carry
    /// `from.local` and `from.conn` on their [`Transmit`].
    pub fn handle_received(&mut self, now: Instant, bytes: &[u8], from: Arrival) {
        match adapter::summarize(bytes, from.transport, &self.config.limits) {
            Ok(s) => self.dispatch(now, bytes, &s, from),
            Err(error) => self.malformed(bytes, error, from),
        }
    }

    /// Like [`Transactions::handle_datagram`] for a message the driver has
    /// parsed already (from `bytes`, with `sipkit_message::parse_with`, this
    /// layer's `limits` and the transport's framing mode), so that the
    /// driver and this layer share one parse: the driver keeps using `msg`
    /// for the request it then answers.
    pub fn handle_message(
        &mut self,
        now: Instant,
        msg: &sipkit_message::Message<'_>,
        bytes: &[u8],
        source: SocketAddr,
        local: SocketAddr,
        transport: Transport,
    ) {
        self.handle_parsed(
            now,
            msg,
            bytes,
            Arrival {
                source,
                local,
                transport,
                conn: None,
            },
        );
    }

    /// [`Transactions::handle_received`] for a message the driver has parsed
    /// already (see [`Transactions::handle_message`]).
    pub fn handle_parsed(
        &mut self,
        now: Instant,
        msg: &sipkit_message::Message<'_>,
        bytes: &[u8],
        from: Arrival,
    ) {
        match adapter::summary_of(msg) {
            Ok(s) => self.dispatch(now, bytes, &s, from),
            Err(error) => self.malformed(bytes, error, from),
        }
    }

    /// Hands a summarized message to the client or server side.
    fn dispatch(&mut self, now: Instant, bytes: &[u8], s: &Summary<'_>, from: Arrival) {
        match s.start {
            Start::Response { status } => self.on_response(now, bytes, s, status, from),
            Start::Request { method, .. } => self.on_request(now, bytes, s, method, from),
        }
    }

    /// Reports a message that did not parse, with the reply for a request.
    fn malformed(&mut self, bytes: &[u8], error: ParseError, from: Arrival) {
        let Arrival {
            source,
            local,
            transport,
            conn,
        } = from;
        let rng = &mut self.rng;
        let tag = || {
            let mut t = String::with_capacity(16);
            rng.hex(&mut t, 16);
            t
        };
        let reply = adapter::malformed_reply(bytes, &error, tag).map(|b| Transmit {
            destination: source,
            transport,
            bytes: SharedBytes::copy_from(&b),
            key: None,
            local: Some(local),
            conn,
        });
        self.events.push_back(Event::Malformed {
            error,
            source,
            local,
            transport,
            reply,
        });
    }

    /// Starts a client transaction for `request` (RFC 3261 §17.1): sends it
    /// to `destination` and retransmits it as the timers say. The top Via
    /// must carry a branch ([`Transactions::new_branch`]); the branch and
    /// method make the key. ACK is refused ([`Error::AckIsNotATransaction`]).
    pub fn send_request(
        &mut self,
        now: Instant,
        request: &[u8],
        destination: SocketAddr,
        transport: Transport,
    ) -> Result<TransactionKey, Error> {
        let s = adapter::summarize(request, transport, &self.config.limits)?;
        let method = s.method().ok_or(Error::NotARequest)?;
        if method == "ACK" {
            return Err(Error::AckIsNotATransaction);
        }
        let branch = s.via.branch.ok_or(Error::MissingBranch)?;
        self.scratch.clear();
        client_key(&mut self.scratch, method, branch);
        if self.index.contains_key(&self.scratch[..]) {
            return Err(Error::DuplicateTransaction);
        }
        let ctx = Ctx {
            config: &self.config,
            transport,
        };
        let (machine, actions) = Machine::client(method, &ctx);
        let (idx, key) = self.insert(request, destination, transport, None, machine);
        self.apply(now, idx, actions, Carried::Nothing)?;
        Ok(key)
    }

    /// Passes the TU's response to server transaction `key` (RFC 3261
    /// §17.2.1, §17.2.2), which sends it and retransmits it as needed.
    /// Refused, and nothing sent, if its CSeq method is not the
    /// transaction's or the state does not allow it.
    pub fn send_response(
        &mut self,
        now: Instant,
        key: &TransactionKey,
        response: &[u8],
    ) -> Result<(), Error> {
        if key.role() != Role::Server {
            return Err(Error::WrongRole { expected: "server" });
        }
        let idx = *self
            .index
            .get(key.as_bytes())
            .ok_or(Error::UnknownTransaction)?;
        let transport = self.get(key).map_or(Transport::Udp, |t| t.transport);
        let s = adapter::summarize(response, transport, &self.config.limits)?;
        let Start::Response { status } = s.start else {
            return Err(Error::NotAResponse);
        };
        if s.cseq_method != key.method() {
            return Err(Error::MethodMismatch {
                expected: key.method().to_owned(),
                found: s.cseq_method.to_owned(),
            });
        }
        self.step(
            now,
            idx,
            Input::Send(status),
            Carried::Outgoing { bytes: response },
        )
    }

    /// Cancels the INVITE of client transaction `invite` (RFC 3261 §9.1):
    /// builds the CANCEL from the INVITE (same Request-URI, Call-ID, To,
    /// From, CSeq number, top Via and Routes) and sends it in its own
    /// non-INVITE client transaction, whose key is returned. Only in
    /// Proceeding: a CANCEL "MUST NOT be sent" before a provisional
    /// response, and "SHOULD NOT" after a final one.
    pub fn cancel(
        &mut self,
        now: Instant,
        invite: &TransactionKey,
    ) -> Result<TransactionKey, Error> {
        let tx = self.get(invite).ok_or(Error::UnknownTransaction)?;
        let state = tx.machine.state();
        if !matches!(tx.machine, Machine::ClientInvite(_)) || state != State::Proceeding {
            return Err(Error::CannotCancel { state });
        }
        let (peer, transport) = (tx.peer, tx.transport);
        let bytes = adapter::build_cancel(&tx.request).ok_or(Error::CannotCancel { state })?;
        self.send_request(now, &bytes, peer, transport)
    }

    /// Queues bytes outside any transaction: the ACK for a 2xx (RFC 3261
    /// §13.2.2.4, §17.1.1.3), a 2xx retransmission by the UAS core
    /// (§13.3.1.4), a stateless response.
    pub fn send_stateless(&mut self, bytes: &[u8], destination: SocketAddr, transport: Transport) {
        let bytes = SharedBytes::copy_from(bytes);
        self.transmits.push_back(Transmit {
            destination,
            transport,
            bytes,
            key: None,
            local: None,
            conn: None,
        });
    }

    /// Fires every timer due at `now`. Call it when the deadline from
    /// [`Transactions::poll_timeout`] is reached (calling early is harmless).
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(&Reverse((at, id, timer))) = self.heap.peek() {
            if at > now {
                break;
            }
            self.heap.pop();
            let Some(idx) = self.live_timer(at, id, timer) else {
                continue;
            };
            if let Some(tx) = self.slab.get_mut(idx as usize).and_then(|e| e.tx.as_mut()) {
                tx.timers[timer.slot() as usize] = None;
                self.armed -= 1;
            }
            // A timer input is never refused.
            let _ = self.step(now, idx, Input::Timer(timer), Carried::Nothing);
        }
        self.compact();
    }

    /// Reports that sending a [`Transmit`] of transaction `key` failed
    /// (RFC 3261 §17.1.4, §17.2.4): the transaction informs the TU
    /// ([`Event::TransportError`]) and terminates.
    pub fn handle_transport_error(
        &mut self,
        now: Instant,
        key: &TransactionKey,
    ) -> Result<(), Error> {
        let idx = *self
            .index
            .get(key.as_bytes())
            .ok_or(Error::UnknownTransaction)?;
        self.step(now, idx, Input::TransportError, Carried::Nothing)
    }

    // ----------------------------------------------------------- outputs

    /// The next message to send. Drain after every input.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next event for the TU. Drain after every input.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// The earliest deadline of a live timer: call
    /// [`Transactions::handle_timeout`] then. `None` when nothing is pending.
    #[must_use]
    pub fn poll_timeout(&mut self) -> Option<Instant> {
        self.next_timer().map(|(at, _, _)| at)
    }

    /// The earliest live timer: its deadline, which timer, and its transaction.
    pub fn next_timer(&mut self) -> Option<(Instant, Timer, TransactionKey)> {
        while let Some(&Reverse((at, id, timer))) = self.heap.peek() {
            if let Some(idx) = self.live_timer(at, id, timer) {
                let key = self.slab.get(idx as usize)?.tx.as_ref()?.key.clone();
                return Some((at, timer, key));
            }
            self.heap.pop();
        }
        None
    }

    // ---------------------------------------------------------- internals

    fn get(&self, key: &TransactionKey) -> Option<&Transaction> {
        let idx = *self.index.get(key.as_bytes())?;
        self.slab.get(idx as usize)?.tx.as_ref()
    }

    fn on_response(
        &mut self,
        now: Instant,
        bytes: &[u8],
        s: &Summary<'_>,
        status: u16,
        from: Arrival,
    ) {
        // §17.1.3: the branch of the top Via and the CSeq method.
        let idx = s.via.branch.and_then(|branch| {
            self.scratch.clear();
            client_key(&mut self.scratch, s.cseq_method, branch);
            self.index.get(&self.scratch[..]).copied()
        });
        match idx {
            // A response input is never refused.
            Some(idx) => {
                let _ = self.step(
                    now,
                    idx,
                    Input::Response(status),
                    Carried::Response { bytes, status },
                );
            }
            None => {
                let response = SharedBytes::copy_from(bytes);
                let Arrival {
                    source,
                    local,
                    transport,
                    ..
                } = from;
                self.events.push_back(Event::StrayResponse {
                    status,
                    response,
                    source,
                    local,
                    transport,
                });
            }
        }
    }

    fn on_request(
        &mut self,
        now: Instant,
        bytes: &[u8],
        s: &Summary<'_>,
        method: &str,
        from: Arrival,
    ) {
        if method == "ACK" {
            match self.find_invite_for_ack(s) {
                Some(idx) => {
                    let _ = self.step(now, idx, Input::Ack, Carried::Ack { bytes, from });
                }
                None => {
                    let request = SharedBytes::copy_from(bytes);
                    let Arrival {
                        source,
                        local,
                        transport,
                        ..
                    } = from;
                    self.events.push_back(Event::Ack {
                        key: None,
                        request,
                        source,
                        local,
                        transport,
                    });
                }
            }
            return;
        }
        // §9.2: a CANCEL is its own transaction; find the INVITE it cancels
        // by the same rules with the method INVITE.
        let cancels = if method == "CANCEL" {
            self.scratch.clear();
            server_key(&mut self.scratch, s, "INVITE", s.to_tag);
            self.index
                .get_key_value(&self.scratch[..])
                .map(|(k, _)| k.clone())
        } else {
            None
        };
        self.scratch.clear();
        server_key(&mut self.scratch, s, method, s.to_tag);
        if let Some(&idx) = self.index.get(&self.scratch[..]) {
            // A retransmission (§17.2.1, §17.2.2): absorbed, maybe answered again.
            let _ = self.step(now, idx, Input::Request, Carried::Nothing);
            return;
        }
        let transport = from.transport;
        let reliable = self.config.is_reliable(transport);
        let peer =
            sipkit_message::response_destination(&s.via.route, from.source, transport, reliable);
        let ctx = Ctx {
            config: &self.config,
            transport,
        };
        let (machine, actions) = Machine::server(method, &ctx);
        let (idx, _) = self.insert(bytes, peer, transport, Some(from), machine);
        let _ = self.apply(now, idx, actions, Carried::NewRequest { from, cancels });
    }

    /// §17.2.3: an ACK matches the INVITE transaction with the same branch
    /// and sent-by. RFC 2543 fallback: "the Request-URI, From tag, Call-ID,
    /// CSeq number (not the method), and top Via header field match those of
    /// the INVITE request which created the transaction, and the To tag of
    /// the ACK matches the To tag of the response sent by the server
    /// transaction." The INVITE was keyed with its own To tag: the ACK's
    /// for a re-INVITE, none for an initial INVITE — both are tried.
    fn find_invite_for_ack(&mut self, s: &Summary<'_>) -> Option<u32> {
        self.scratch.clear();
        server_key(&mut self.scratch, s, "INVITE", s.to_tag);
        let rfc3261 = s.via.is_rfc3261();
        if let Some(&idx) = self.index.get(&self.scratch[..]) {
            if rfc3261 || self.response_to_tag_is(idx, s.to_tag) {
                return Some(idx);
            }
        }
        if rfc3261 || s.to_tag.is_none() {
            return None;
        }
        self.scratch.clear();
        server_key(&mut self.scratch, s, "INVITE", None);
        let idx = *self.index.get(&self.scratch[..])?;
        self.response_to_tag_is(idx, s.to_tag).then_some(idx)
    }

    fn response_to_tag_is(&self, idx: u32, tag: Option<&str>) -> bool {
        let stored = self
            .slab
            .get(idx as usize)
            .and_then(|e| e.tx.as_ref())
            .and_then(|t| t.stored.as_ref());
        stored.is_some_and(|r| adapter::to_tag(r) == tag)
    }

    /// Stores a new transaction whose key is in `self.scratch`.
    fn insert(
        &mut self,
        message: &[u8],
        peer: SocketAddr,
        transport: Transport,
        from: Option<Arrival>,
        machine: Machine,
    ) -> (u32, TransactionKey) {
        let key_len = self.scratch.len();
        self.scratch.extend_from_slice(message);
        let buf: Arc<[u8]> = Arc::from(&self.scratch[..]);
        let key = TransactionKey::new(buf, key_len);
        let request = SharedBytes::sub(key.buffer().clone(), key_len);
        let tx = Transaction {
            key: key.clone(),
            request,
            stored: None,
            peer,
            transport,
            local: from.map(|f| f.local),
            conn: from.and_then(|f| f.conn),
            machine,
            timers: [None, None],
        };
        let idx = match self.free.pop() {
            Some(i) => {
                if let Some(e) = self.slab.get_mut(i as usize) {
                    e.tx = Some(tx);
                }
                i
            }
            None => {
                self.slab.push(Entry {
                    generation: 0,
                    tx: Some(tx),
                });
                // More than 2^32 simultaneous transactions would exhaust memory first.
                u32::try_from(self.slab.len() - 1).unwrap_or(u32::MAX)
            }
        };
        self.index.insert(key.clone(), idx);
        (idx, key)
    }

    fn remove(&mut self, idx: u32) {
        let Some(entry) = self.slab.get_mut(idx as usize) else {
            return;
        };
        let Some(tx) = entry.tx.take() else {
            return;
        };
        entry.generation = entry.generation.wrapping_add(1);
        self.armed -= tx.timers.iter().filter(|t| t.is_some()).count();
        self.index.remove(tx.key.as_bytes());
        self.free.push(idx);
        self.events.push_back(Event::Terminated { key: tx.key });
    }

    /// The transaction index a heap entry refers to, if it is still live.
    fn live_timer(&self, at: Instant, id: u64, timer: Timer) -> Option<u32> {
        let idx = (id & 0xffff_ffff) as u32;
        let entry = self.slab.get(idx as usize)?;
        let tx = entry.tx.as_ref()?;
        let live = u64::from(entry.generation) == id >> 32
            && tx.timers[timer.slot() as usize] == Some((timer, at));
        live.then_some(idx)
    }

    /// Rebuilds the heap when stale entries outnumber live ones twice over.
    fn compact(&mut self) {
        if self.heap.len() <= 1024 || self.heap.len() <= 3 * self.armed {
            return;
        }
        let heap = std::mem::take(&mut self.heap);
        let live: Vec<_> = heap
            .into_vec()
            .into_iter()
            .filter(|Reverse((at, id, timer))| self.live_timer(*at, *id, *timer).is_some())
            .collect();
        self.heap = BinaryHeap::from(live);
    }

    /// One state machine step: consume the state, keep the next, act.
    fn step(
        &mut self,
        now: Instant,
        idx: u32,
        input: Input,
        carried: Carried<'_>,
    ) -> Result<(), Error> {
        let tx = self
            .slab
            .get_mut(idx as usize)
            .and_then(|e| e.tx.as_mut())
            .ok_or(Error::UnknownTransaction)?;
        let ctx = Ctx {
            config: &self.config,
            transport: tx.transport,
        };
        let before = tx.machine;
        let (next, actions) = before.handle(input, &ctx);
        if actions.rejected {
            let status = if let Input::Send(s) = input { s } else { 0 };
            return Err(Error::ResponseNotAllowed {
                status,
                state: before.state(),
            });
        }
        tx.machine = next;
        self.apply(now, idx, actions, carried)
    }

    /// Carries out the actions of a step for transaction `idx`.
    fn apply(
        &mut self,
        now: Instant,
        idx: u32,
        actions: Actions,
        carried: Carried<'_>,
    ) -> Result<(), Error> {
        let entry = self
            .slab
            .get_mut(idx as usize)
            .ok_or(Error::UnknownTransaction)?;
        let id = (u64::from(entry.generation) << 32) | u64::from(idx);
        let tx = entry.tx.as_mut().ok_or(Error::UnknownTransaction)?;

        if let Some(send) = actions.send {
            let bytes = match send {
                Send::Request => Some(tx.request.clone()),
                Send::Last => tx.stored.clone(),
                Send::Given => match &carried {
                    Carried::Outgoing { bytes } => {
                        tx.stored = Some(SharedBytes::copy_from(bytes));
                        tx.stored.clone()
                    }
                    _ => None,
                },
                Send::Ack => {
                    if tx.stored.is_none() {
                        if let Carried::Response { bytes, .. } = &carried {
                            tx.stored = adapter::build_ack(&tx.request, bytes)
                                .map(|a| SharedBytes::copy_from(&a));
                        }
                    }
                    tx.stored.clone()
                }
                Send::Trying => {
                    tx.stored =
                        adapter::build_trying(&tx.request).map(|t| SharedBytes::copy_from(&t));
                    tx.stored.clone()
                }
            };
            if let Some(bytes) = bytes {
                let t = Transmit {
                    destination: tx.peer,
                    transport: tx.transport,
                    bytes,
                    key: Some(tx.key.clone()),
                    local: tx.local,
                    conn: tx.conn,
                };
                self.transmits.push_back(t);
            }
        }

        if let Some(up) = actions.up {
            let key = tx.key.clone();
            let event = match (up, carried) {
                (Up::Timeout(timer), _) => Some(Event::Timeout { key, timer }),
                (Up::TransportError, _) => Some(Event::TransportError { key }),
                (Up::Message, Carried::Response { bytes, status }) => Some(Event::Response {
                    key,
                    status,
                    response: SharedBytes::copy_from(bytes),
                }),
                (Up::Message, Carried::NewRequest { from, cancels }) => Some(Event::Request {
                    key,
                    request: tx.request.clone(),
                    source: from.source,
                    local: from.local,
                    transport: from.transport,
                    cancels,
                }),
                (Up::Message, Carried::Ack { bytes, from }) => Some(Event::Ack {
                    key: Some(key),
                    request: SharedBytes::copy_from(bytes),
                    source: from.source,
                    local: from.local,
                    transport: from.transport,
                }),
                (Up::Message, _) => None,
            };
            self.events.extend(event);
        }

        let mut immediate = None;
        for (slot, op) in actions.slots.into_iter().enumerate() {
            let arm = match op {
                SlotOp::Keep => continue,
                SlotOp::Clear => None,
                SlotOp::Arm(timer, d) => Some((timer, d)),
            };
            if tx.timers[slot].take().is_some() {
                self.armed -= 1;
            }
            if let Some((timer, d)) = arm {
                if d.is_zero() {
                    immediate = Some(timer);
                } else if let Some(at) = now.checked_add(d) {
                    tx.timers[slot] = Some((timer, at));
                    self.armed += 1;
                    self.heap.push(Reverse((at, id, timer)));
                }
            }
        }

        if tx.machine.state() == State::Terminated {
            self.remove(idx);
            return Ok(());
        }
        match immediate {
            // A zero-length timer (D, I, J, K on a reliable transport) fires at once.
            Some(timer) => self.step(now, idx, Input::Timer(timer), Carried::Nothing),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invite(i: usize) -> Vec<u8> {
        format!(
            "INVITE sip:b@192.0.2.2 SIP/2.0\r\nVia: SIP/2.0/TCP 192.0.2.1;branch=z9hG4bK{i}\r\n\
             Max-Forwards: 70\r\nTo: <sip:b@x>\r\nFrom: <sip:a@x>;tag=1\r\nCall-ID: c{i}\r\n\
             CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"
        )
        .into_bytes()
    }

    fn busy(i: usize) -> Vec<u8> {
        format!(
            "SIP/2.0 486 Busy Here\r\nVia: SIP/2.0/TCP 192.0.2.1;branch=z9hG4bK{i}\r\n\
             To: <sip:b@x>;tag=2\r\nFrom: <sip:a@x>;tag=1\r\nCall-ID: c{i}\r\n\
             CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"
        )
        .into_bytes()
    }

    #[test]
    fn stale_timers_are_skipped_and_compacted() {
        #[allow(clippy::disallowed_methods)] // an epoch for the test; time moves only by hand
        let now = Instant::now();
        let mut tx = Transactions::new(Config::default());
        let peer: SocketAddr = "192.0.2.2:5060".parse().unwrap();
        for i in 0..2000 {
            tx.send_request(now, &invite(i), peer, Transport::Tcp)
                .unwrap();
        }
        assert_eq!((tx.heap.len(), tx.armed), (2000, 2000), "Timer B of each");
        for i in 0..2000 {
            tx.handle_datagram(now, &busy(i), peer, peer, Transport::Tcp);
        }
        // Timer D is zero over TCP: every transaction ended, its Timer B is stale.
        assert!(tx.is_empty());
        assert_eq!((tx.heap.len(), tx.armed), (2000, 0));
        tx.handle_timeout(now);
        assert_eq!(tx.heap.len(), 0, "rebuilt without the stale entries");
        assert_eq!(tx.poll_timeout(), None);
        // Slots are reused with a new generation: an old entry cannot fire a new timer.
        tx.send_request(now, &invite(0), peer, Transport::Tcp)
            .unwrap();
        assert_eq!(tx.slab.len(), 2000);
        assert_eq!(tx.slab.iter().map(|e| e.generation).max(), Some(1));
    }

    /// Issue 11: a response leaves from the local address and on the
    /// connection its request came on (RFC 3261 §18.2.2), carried by the
    /// layer rather than by a table in each driver.
    #[test]
    fn responses_carry_the_requests_local_address_and_connection() {
        #[allow(clippy::disallowed_methods)] // an epoch for the test; time moves only by hand
        let now = Instant::now();
        let mut tx = Transactions::new(Config::default());
        let from = Arrival {
            source: "192.0.2.1:40000".parse().unwrap(),
            local: "192.0.2.2:5070".parse().unwrap(),
            transport: Transport::Tcp,
            conn: Some(ConnId::new(7)),
        };
        tx.handle_received(now, &invite(1), from);
        let Some(Event::Request { key, .. }) = tx.poll_event() else {
            panic!("a new request")
        };
        tx.send_response(now, &key, &busy(1)).unwrap();
        let t = tx.poll_transmit().unwrap();
        assert_eq!(t.destination, from.source);
        assert_eq!(t.local, Some(from.local));
        assert_eq!(t.conn, Some(ConnId::new(7)));
        // A request this side sends names neither: the driver picks.
        tx.send_request(now, &invite(2), from.source, Transport::Tcp)
            .unwrap();
        let t = tx.poll_transmit().unwrap();
        assert_eq!((t.local, t.conn), (None, None));
    }
}
