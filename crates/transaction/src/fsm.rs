//! The four transaction state machines of RFC 3261 §17, with RFC 6026's
//! Accepted state. States are values: `handle` consumes the state and
//! returns the next one with the actions to take (STYLE.md habit 5). No
//! bytes, clocks or queues here: the manager carries out the actions.

use std::fmt;
use std::time::Duration;

use crate::timer::{Slot, Timer};
use crate::{Config, Transport};

/// The state of a transaction, as named in RFC 3261 §17 and RFC 6026.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// INVITE client: request sent, no response yet (§17.1.1.2).
    Calling,
    /// Non-INVITE client or server: no response yet (§17.1.2.2, §17.2.2).
    Trying,
    /// A provisional response was received (client) or the request is with
    /// the TU (server).
    Proceeding,
    /// A final (non-2xx for INVITE) response was received or sent; waiting
    /// out retransmissions.
    Completed,
    /// INVITE server: the ACK arrived (§17.2.1).
    Confirmed,
    /// INVITE, a 2xx was received or sent (RFC 6026 §8.4, §8.7).
    Accepted,
    /// Finished; the transaction is removed (§17.1.1.2: "MUST be destroyed immediately").
    Terminated,
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// What happened to a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Input {
    /// A timer fired.
    Timer(Timer),
    /// A response arrived from the network (client transactions).
    Response(u16),
    /// A retransmission of the request arrived (server transactions).
    Request,
    /// An ACK matched (INVITE server transactions).
    Ack,
    /// The TU passed a response with this status (server transactions).
    Send(u16),
    /// The transport failed to send (RFC 3261 §17.1.4, §17.2.4).
    TransportError,
}

/// What to transmit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Send {
    /// The request, again (client).
    Request,
    /// The ACK for the non-2xx final response (client INVITE; built on first use).
    Ack,
    /// The response the TU just passed; it becomes the last response (server).
    Given,
    /// The last response sent, again (server).
    Last,
    /// A 100 Trying built from the request; it becomes the last response (server INVITE).
    Trying,
}

/// What to tell the TU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Up {
    /// The message that caused this step (a new request, a response, an ACK).
    Message,
    /// The transaction timed out (B, F, H).
    Timeout(Timer),
    /// The transport failed.
    TransportError,
}

/// What to do with one timer slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum SlotOp {
    /// Leave it as it is.
    #[default]
    Keep,
    /// Stop the timer in it.
    Clear,
    /// Start this timer for this long (zero: fire at once).
    Arm(Timer, Duration),
}

/// The actions of one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Actions {
    pub send: Option<Send>,
    pub up: Option<Up>,
    pub slots: [SlotOp; 2],
    /// The TU's response is not allowed in this state and is discarded
    /// (§17.2.2: "any other final responses passed by the TU ... MUST be discarded").
    pub rejected: bool,
}

impl Actions {
    fn none() -> Self {
        Actions::default()
    }
    fn send(s: Send) -> Self {
        Actions {
            send: Some(s),
            ..Actions::default()
        }
    }
    fn up(u: Up) -> Self {
        Actions {
            up: Some(u),
            ..Actions::default()
        }
    }
    fn rejected() -> Self {
        Actions {
            rejected: true,
            ..Actions::default()
        }
    }
    fn and_send(mut self, s: Send) -> Self {
        self.send = Some(s);
        self
    }
    /// Arms `timer` in its slot, or clears the slot when the timer does not
    /// run here (`None`).
    fn arm(mut self, timer: Timer, d: Option<Duration>) -> Self {
        self.slots[timer.slot() as usize] = match d {
            Some(d) => SlotOp::Arm(timer, d),
            None => SlotOp::Clear,
        };
        self
    }
    fn clear(mut self, slot: Slot) -> Self {
        self.slots[slot as usize] = SlotOp::Clear;
        self
    }
}

/// The timer values for one transaction (its transport decides reliability).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ctx<'c> {
    pub config: &'c Config,
    pub transport: Transport,
}

impl Ctx<'_> {
    fn initial(&self, t: Timer) -> Option<Duration> {
        t.initial(self.config, self.transport)
    }
    fn t2(&self) -> Duration {
        self.config.t2
    }
}

fn is_provisional(status: u16) -> bool {
    status < 200
}

fn is_success(status: u16) -> bool {
    (200..300).contains(&status)
}

// ------------------------------------------------------------ INVITE client

/// INVITE client transaction (RFC 3261 §17.1.1, Figure 5; RFC 6026 §8.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClientInvite {
    /// Request sent; `a` is the interval Timer A was last armed with.
    Calling {
        a: Duration,
    },
    Proceeding,
    Completed,
    Accepted,
    Terminated,
}

impl ClientInvite {
    /// §17.1.1.2: "The client transaction MUST pass the request to the
    /// transport layer for transmission ... If an unreliable transport is
    /// being used, the client transaction MUST start timer A with a value of
    /// T1 ... For any transport, the client transaction MUST start timer B
    /// with a value of 64*T1 seconds."
    pub(crate) fn start(ctx: &Ctx<'_>) -> (Self, Actions) {
        let a = ctx.initial(Timer::A);
        let state = ClientInvite::Calling {
            a: a.unwrap_or_default(),
        };
        (
            state,
            Actions::send(Send::Request)
                .arm(Timer::A, a)
                .arm(Timer::B, ctx.initial(Timer::B)),
        )
    }

    pub(crate) fn handle(self, input: Input, ctx: &Ctx<'_>) -> (Self, Actions) {
        use ClientInvite::*;
        match (self, input) {
            // "When timer A fires, the client transaction MUST retransmit the
            // request ... and MUST reset the timer with a value of 2*T1" —
            // doubling each time (§17.1.1.2).
            (Calling { a }, Input::Timer(Timer::A)) => {
                let next = a.saturating_mul(2);
                (
                    Calling { a: next },
                    Actions::send(Send::Request).arm(Timer::A, Some(next)),
                )
            }
            // "If the client transaction is still in the Calling state when
            // timer B fires, the client transaction SHOULD inform the TU that
            // a timeout has occurred" (§17.1.1.2).
            (Calling { .. }, Input::Timer(Timer::B)) => {
                (Terminated, Actions::up(Up::Timeout(Timer::B)))
            }
            // "If the client transaction receives a provisional response while
            // in the Calling state, it transitions to the Proceeding state. In
            // the Proceeding state, the client transaction SHOULD NOT
            // retransmit the request any longer. Furthermore, the provisional
            // response MUST be passed to the TU."
            (Calling { .. } | Proceeding, Input::Response(s)) if is_provisional(s) => (
                Proceeding,
                Actions::up(Up::Message)
                    .clear(Slot::Retransmit)
                    .clear(Slot::Lifetime),
            ),
            // RFC 6026 §8.4: "When in either the Calling or Proceeding states,
            // reception of a 2xx response MUST cause the client transaction to
            // enter the Accepted state, and the response MUST be passed up to
            // the TU" ... Timer M is set to 64*T1.
            (Calling { .. } | Proceeding, Input::Response(s)) if is_success(s) => (
                Accepted,
                Actions::up(Up::Message)
                    .clear(Slot::Retransmit)
                    .arm(Timer::M, ctx.initial(Timer::M)),
            ),
            // "When in either the Calling or Proceeding states, reception of a
            // response with status code from 300-699 MUST cause the client
            // transaction to transition to Completed. The client transaction
            // MUST pass the received response up to the TU, and the client
            // transaction MUST generate an ACK request ... The client
            // transaction SHOULD start timer D when it enters the Completed
            // state".
            (Calling { .. } | Proceeding, Input::Response(_)) => (
                Completed,
                Actions::up(Up::Message)
                    .and_send(Send::Ack)
                    .clear(Slot::Retransmit)
                    .arm(Timer::D, ctx.initial(Timer::D)),
            ),
            // "Any retransmissions of the final response that are received
            // while in the Completed state MUST cause the ACK to be
            // re-passed to the transport layer for retransmission, but the
            // newly received response MUST NOT be passed up to the TU."
            (Completed, Input::Response(s)) if s >= 300 => (Completed, Actions::send(Send::Ack)),
            // "If timer D fires while the client transaction is in the
            // Completed state, the client transaction MUST move to the
            // Terminated state."
            (Completed, Input::Timer(Timer::D)) => (Terminated, Actions::none()),
            // RFC 6026 §8.4: "Any 2xx responses that match this client
            // transaction and that are received while in the Accepted state
            // MUST be passed up to the TU. The client transaction MUST NOT
            // generate an ACK to any 2xx response on its own."
            (Accepted, Input::Response(s)) if is_success(s) => (Accepted, Actions::up(Up::Message)),
            // "If Timer M fires while the client transaction is in the
            // Accepted state, the client transaction MUST move to the
            // Terminated state."
            (Accepted, Input::Timer(Timer::M)) => (Terminated, Actions::none()),
            // §17.1.4: "the client transaction SHOULD inform the TU that a
            // transport failure has occurred, and the client transaction
            // SHOULD transition directly to the Terminated state."
            (s, Input::TransportError) if s != Terminated => {
                (Terminated, Actions::up(Up::TransportError))
            }
            (s, Input::Send(_)) => (s, Actions::rejected()),
            // Anything else is absorbed.
            (s, _) => (s, Actions::none()),
        }
    }

    pub(crate) fn state(self) -> State {
        match self {
            ClientInvite::Calling { .. } => State::Calling,
            ClientInvite::Proceeding => State::Proceeding,
            ClientInvite::Completed => State::Completed,
            ClientInvite::Accepted => State::Accepted,
            ClientInvite::Terminated => State::Terminated,
        }
    }
}

// -------------------------------------------------------- non-INVITE client

/// Non-INVITE client transaction (RFC 3261 §17.1.2, Figure 6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClientNonInvite {
    /// Request sent; `e` is the interval Timer E was last armed with.
    Trying {
        e: Duration,
    },
    Proceeding,
    Completed,
    Terminated,
}

impl ClientNonInvite {
    /// §17.1.2.2: "When entering this state, the client transaction SHOULD
    /// set timer F to fire in 64*T1 seconds. The request MUST be passed to
    /// the transport layer for transmission. If an unreliable transport is in
    /// use, the client transaction MUST set timer E to fire in T1 seconds."
    pub(crate) fn start(ctx: &Ctx<'_>) -> (Self, Actions) {
        let e = ctx.initial(Timer::E);
        let state = ClientNonInvite::Trying {
            e: e.unwrap_or_default(),
        };
        (
            state,
            Actions::send(Send::Request)
                .arm(Timer::E, e)
                .arm(Timer::F, ctx.initial(Timer::F)),
        )
    }

    pub(crate) fn handle(self, input: Input, ctx: &Ctx<'_>) -> (Self, Actions) {
        use ClientNonInvite::*;
        match (self, input) {
            // "If timer E fires while still in this state, the timer is reset,
            // but this time with a value of MIN(2*T1, T2). When the timer
            // fires again, it is reset to a MIN(4*T1, T2)."
            (Trying { e }, Input::Timer(Timer::E)) => {
                let next = e.saturating_mul(2).min(ctx.t2());
                (
                    Trying { e: next },
                    Actions::send(Send::Request).arm(Timer::E, Some(next)),
                )
            }
            // "If Timer E fires while in the Proceeding state, the request
            // MUST be passed to the transport layer for retransmission, and
            // Timer E MUST be reset with a value of T2 seconds."
            (Proceeding, Input::Timer(Timer::E)) => (
                Proceeding,
                Actions::send(Send::Request).arm(Timer::E, Some(ctx.t2())),
            ),
            // "If Timer F fires while the client transaction is still in the
            // Trying state, the client transaction SHOULD inform the TU about
            // the timeout, and then it SHOULD enter the Terminated state"; the
            // same holds in Proceeding.
            (Trying { .. } | Proceeding, Input::Timer(Timer::F)) => {
                (Terminated, Actions::up(Up::Timeout(Timer::F)))
            }
            // "If a provisional response is received while in the Trying
            // state, the response MUST be passed to the TU, and then the client
            // transaction SHOULD move to the Proceeding state."  Timer E keeps
            // running; its next firing resets it to T2.
            (Trying { .. } | Proceeding, Input::Response(s)) if is_provisional(s) => {
                (Proceeding, Actions::up(Up::Message))
            }
            // "If a final response (status codes 200-699) is received while in
            // the Trying [or Proceeding] state, the response MUST be passed to
            // the TU, and the client transaction MUST transition to the
            // Completed state ... [it] MUST set Timer K to fire in T4 seconds
            // for unreliable transports, and zero seconds for reliable".
            (Trying { .. } | Proceeding, Input::Response(_)) => (
                Completed,
                Actions::up(Up::Message)
                    .clear(Slot::Retransmit)
                    .arm(Timer::K, ctx.initial(Timer::K)),
            ),
            // "The Completed state exists to buffer any additional response
            // retransmissions that may be received" — absorbed below.
            // "If Timer K fires while in this state, the client transaction
            // MUST transition to the Terminated state."
            (Completed, Input::Timer(Timer::K)) => (Terminated, Actions::none()),
            // §17.1.4.
            (s, Input::TransportError) if s != Terminated => {
                (Terminated, Actions::up(Up::TransportError))
            }
            (s, Input::Send(_)) => (s, Actions::rejected()),
            (s, _) => (s, Actions::none()),
        }
    }

    pub(crate) fn state(self) -> State {
        match self {
            ClientNonInvite::Trying { .. } => State::Trying,
            ClientNonInvite::Proceeding => State::Proceeding,
            ClientNonInvite::Completed => State::Completed,
            ClientNonInvite::Terminated => State::Terminated,
        }
    }
}

// ------------------------------------------------------------ INVITE server

/// INVITE server transaction (RFC 3261 §17.2.1, Figure 7; RFC 6026 §8.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ServerInvite {
    /// The request is with the TU; `provisional` once a 1xx was sent.
    Proceeding {
        provisional: bool,
    },
    /// A 300-699 was sent; `g` is the interval Timer G was last armed with.
    Completed {
        g: Duration,
    },
    Confirmed,
    Accepted,
    Terminated,
}

impl ServerInvite {
    /// §17.2.1: "When a server transaction is constructed for a request, it
    /// enters the Proceeding state. The server transaction MUST generate a
    /// 100 (Trying) response unless it knows that the TU will generate a
    /// provisional or final response within 200 ms ... The request MUST be
    /// passed to the TU." The 100 is deferred to the Trying timer
    /// ([`Config::auto_trying`]).
    pub(crate) fn start(ctx: &Ctx<'_>) -> (Self, Actions) {
        let actions = Actions::up(Up::Message);
        let actions = match ctx.initial(Timer::Trying) {
            Some(d) => actions.arm(Timer::Trying, Some(d)),
            None => actions,
        };
        (ServerInvite::Proceeding { provisional: false }, actions)
    }

    pub(crate) fn handle(self, input: Input, ctx: &Ctx<'_>) -> (Self, Actions) {
        use ServerInvite::*;
        match (self, input) {
            // "If a request retransmission is received while in the Proceeding
            // state, the most recent provisional response that was received
            // from the TU MUST be passed to the transport layer for
            // retransmission."
            (Proceeding { provisional: true }, Input::Request) => (self, Actions::send(Send::Last)),
            (Proceeding { provisional: false }, Input::Timer(Timer::Trying)) => (
                Proceeding { provisional: true },
                Actions::send(Send::Trying),
            ),
            // "The TU passes any number of provisional responses to the server
            // transaction. So long as the server transaction is in the
            // Proceeding state, each of these MUST be passed to the transport
            // layer for transmission."
            (Proceeding { .. }, Input::Send(s)) if is_provisional(s) => (
                Proceeding { provisional: true },
                Actions::send(Send::Given).clear(Slot::Retransmit),
            ),
            // RFC 6026 §8.7: "If, while in the Proceeding state, the TU passes
            // a 2xx response to the server transaction, the server transaction
            // MUST pass this response to the transport layer for transmission
            // ... [and] MUST then transition to the Accepted state", Timer L
            // set to 64*T1.
            (Proceeding { .. }, Input::Send(s)) if is_success(s) => (
                Accepted,
                Actions::send(Send::Given)
                    .clear(Slot::Retransmit)
                    .arm(Timer::L, ctx.initial(Timer::L)),
            ),
            // "While in the Proceeding state, if the TU passes a response with
            // status code from 300 to 699 to the server transaction, the
            // response MUST be passed to the transport layer for transmission,
            // and the state machine MUST enter the Completed state. For
            // unreliable transports, timer G is set to fire in T1 seconds, and is
            // not set to fire for reliable transports." "When the Completed state
            // is entered, timer H MUST be set to fire in 64*T1 seconds for all
            // transports."
            (Proceeding { .. }, Input::Send(_)) => {
                let g = ctx.initial(Timer::G);
                (
                    Completed {
                        g: g.unwrap_or_default(),
                    },
                    Actions::send(Send::Given)
                        .arm(Timer::G, g)
                        .arm(Timer::H, ctx.initial(Timer::H)),
                )
            }
            // "If timer G fires, the response is passed to the transport layer
            // once more for retransmission, and timer G is set to fire in
            // MIN(2*T1, T2) seconds. From then on, when timer G fires, the
            // response is passed to the transport again for transmission, and
            // timer G is reset with a value that doubles, unless that value
            // exceeds T2, in which case it is reset with the value of T2."
            (Completed { g }, Input::Timer(Timer::G)) => {
                let next = g.saturating_mul(2).min(ctx.t2());
                (
                    Completed { g: next },
                    Actions::send(Send::Last).arm(Timer::G, Some(next)),
                )
            }
            // "Furthermore, while in the Completed state, if a request
            // retransmission is received, the server SHOULD pass the response
            // to the transport for retransmission."
            (Completed { .. }, Input::Request) => (self, Actions::send(Send::Last)),
            // "If an ACK is received while the server transaction is in the
            // Completed state, the server transaction MUST transition to the
            // Confirmed state. As Timer G is ignored in this state, any
            // retransmissions of the response will cease." Timer I: T4
            // unreliable, zero reliable.
            (Completed { .. }, Input::Ack) => (
                Confirmed,
                Actions::none()
                    .clear(Slot::Retransmit)
                    .arm(Timer::I, ctx.initial(Timer::I)),
            ),
            // "If timer H fires while in the Completed state, it implies that
            // the ACK was never received. In this case, the server transaction
            // MUST transition to the Terminated state, and MUST indicate to the
            // TU that a transaction failure has occurred."
            (Completed { .. }, Input::Timer(Timer::H)) => {
                (Terminated, Actions::up(Up::Timeout(Timer::H)))
            }
            // "The purpose of the Confirmed state is to absorb any additional
            // ACK messages that arrive ... Once timer I fires, the server MUST
            // transition to the Terminated state."
            (Confirmed, Input::Timer(Timer::I)) => (Terminated, Actions::none()),
            // RFC 6026 §8.7: "While in the Accepted state, if the TU passes a
            // 2xx response, the server transaction MUST pass the response to
            // the transport layer for transmission." INVITE retransmissions are
            // absorbed (below); an ACK that matches is passed to the TU (it
            // belongs to the 2xx, which the TU handles, RFC 3261 §13.3.1.4).
            (Accepted, Input::Send(s)) if is_success(s) => (Accepted, Actions::send(Send::Given)),
            (Accepted, Input::Ack) => (Accepted, Actions::up(Up::Message)),
            // "If Timer L fires while the INVITE server transaction is in the
            // Accepted state, the transaction MUST transition to the
            // Terminated state."
            (Accepted, Input::Timer(Timer::L)) => (Terminated, Actions::none()),
            // §17.2.4: on a transport failure the server transaction informs
            // the TU and terminates.
            (s, Input::TransportError) if s != Terminated => {
                (Terminated, Actions::up(Up::TransportError))
            }
            // A response in Completed, Confirmed or Terminated, or a non-2xx in
            // Accepted, is not allowed: discarded.
            (s, Input::Send(_)) => (s, Actions::rejected()),
            (s, _) => (s, Actions::none()),
        }
    }

    pub(crate) fn state(self) -> State {
        match self {
            ServerInvite::Proceeding { .. } => State::Proceeding,
            ServerInvite::Completed { .. } => State::Completed,
            ServerInvite::Confirmed => State::Confirmed,
            ServerInvite::Accepted => State::Accepted,
            ServerInvite::Terminated => State::Terminated,
        }
    }
}

// -------------------------------------------------------- non-INVITE server

/// Non-INVITE server transaction (RFC 3261 §17.2.2, Figure 8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ServerNonInvite {
    Trying,
    Proceeding,
    Completed,
    Terminated,
}

impl ServerNonInvite {
    /// §17.2.2: "The state machine is initialized in the Trying state and is
    /// passed a request other than INVITE or ACK when initialized. This
    /// request is passed up to the TU."
    pub(crate) fn start(_ctx: &Ctx<'_>) -> (Self, Actions) {
        (ServerNonInvite::Trying, Actions::up(Up::Message))
    }

    pub(crate) fn handle(self, input: Input, ctx: &Ctx<'_>) -> (Self, Actions) {
        use ServerNonInvite::*;
        match (self, input) {
            // "Once in the Trying state, any further request retransmissions
            // are discarded."
            (Trying, Input::Request) => (Trying, Actions::none()),
            // "While in the Trying state, if the TU passes a provisional
            // response to the server transaction, the server transaction MUST
            // enter the Proceeding state. The response MUST be passed to the
            // transport layer for transmission. Any further provisional
            // responses that are received from the TU while in the Proceeding
            // state MUST be passed to the transport layer for transmission."
            (Trying | Proceeding, Input::Send(s)) if is_provisional(s) => {
                (Proceeding, Actions::send(Send::Given))
            }
            // "If a retransmission of the request is received while in the
            // Proceeding state, the most recently sent provisional response
            // MUST be passed to the transport layer for retransmission."
            (Proceeding, Input::Request) => (Proceeding, Actions::send(Send::Last)),
            // "If the TU passes a final response (status codes 200-699) to the
            // server while in the Proceeding [or Trying] state, the transaction
            // MUST enter the Completed state, and the response MUST be passed
            // to the transport layer for transmission." Timer J: 64*T1
            // unreliable, zero reliable.
            (Trying | Proceeding, Input::Send(_)) => (
                Completed,
                Actions::send(Send::Given).arm(Timer::J, ctx.initial(Timer::J)),
            ),
            // "While in the Completed state, the server transaction MUST pass
            // the final response to the transport layer for retransmission
            // whenever a retransmission of the request is received. Any other
            // final responses passed by the TU to the server transaction MUST
            // be discarded while in the Completed state."
            (Completed, Input::Request) => (Completed, Actions::send(Send::Last)),
            (s, Input::Send(_)) => (s, Actions::rejected()),
            // "The server transaction remains in this state until Timer J
            // fires, at which point it MUST transition to the Terminated state."
            (Completed, Input::Timer(Timer::J)) => (Terminated, Actions::none()),
            // §17.2.4.
            (s, Input::TransportError) if s != Terminated => {
                (Terminated, Actions::up(Up::TransportError))
            }
            (s, _) => (s, Actions::none()),
        }
    }

    pub(crate) fn state(self) -> State {
        match self {
            ServerNonInvite::Trying => State::Trying,
            ServerNonInvite::Proceeding => State::Proceeding,
            ServerNonInvite::Completed => State::Completed,
            ServerNonInvite::Terminated => State::Terminated,
        }
    }
}

// ------------------------------------------------------------ any of them

/// One of the four machines (named as in RFC 3261 §17).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(clippy::enum_variant_names)]
pub(crate) enum Machine {
    ClientInvite(ClientInvite),
    ClientNonInvite(ClientNonInvite),
    ServerInvite(ServerInvite),
    ServerNonInvite(ServerNonInvite),
}

impl Machine {
    /// Starts a client transaction for a request with `method`.
    pub(crate) fn client(method: &str, ctx: &Ctx<'_>) -> (Machine, Actions) {
        if method == "INVITE" {
            let (s, a) = ClientInvite::start(ctx);
            (Machine::ClientInvite(s), a)
        } else {
            let (s, a) = ClientNonInvite::start(ctx);
            (Machine::ClientNonInvite(s), a)
        }
    }

    /// Starts a server transaction for a request with `method` (not ACK).
    pub(crate) fn server(method: &str, ctx: &Ctx<'_>) -> (Machine, Actions) {
        if method == "INVITE" {
            let (s, a) = ServerInvite::start(ctx);
            (Machine::ServerInvite(s), a)
        } else {
            let (s, a) = ServerNonInvite::start(ctx);
            (Machine::ServerNonInvite(s), a)
        }
    }

    /// One step: consumes the state, returns the next and its actions.
    pub(crate) fn handle(self, input: Input, ctx: &Ctx<'_>) -> (Machine, Actions) {
        match self {
            Machine::ClientInvite(s) => {
                let (s, a) = s.handle(input, ctx);
                (Machine::ClientInvite(s), a)
            }
            Machine::ClientNonInvite(s) => {
                let (s, a) = s.handle(input, ctx);
                (Machine::ClientNonInvite(s), a)
            }
            Machine::ServerInvite(s) => {
                let (s, a) = s.handle(input, ctx);
                (Machine::ServerInvite(s), a)
            }
            Machine::ServerNonInvite(s) => {
                let (s, a) = s.handle(input, ctx);
                (Machine::ServerNonInvite(s), a)
            }
        }
    }

    pub(crate) fn state(self) -> State {
        match self {
            Machine::ClientInvite(s) => s.state(),
            Machine::ClientNonInvite(s) => s.state(),
            Machine::ServerInvite(s) => s.state(),
            Machine::ServerNonInvite(s) => s.state(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(config: &Config, transport: Transport) -> Ctx<'_> {
        Ctx { config, transport }
    }

    #[test]
    fn timer_a_doubles_without_cap() {
        let c = Config::default();
        let cx = ctx(&c, Transport::Udp);
        let (mut s, a) = ClientInvite::start(&cx);
        assert_eq!(
            a.slots[0],
            SlotOp::Arm(Timer::A, Duration::from_millis(500))
        );
        let mut seen = Vec::new();
        for _ in 0..5 {
            let (n, a) = s.handle(Input::Timer(Timer::A), &cx);
            let SlotOp::Arm(Timer::A, d) = a.slots[0] else {
                panic!("{a:?}")
            };
            seen.push(d.as_millis());
            s = n;
        }
        assert_eq!(seen, [1000, 2000, 4000, 8000, 16000]);
    }

    #[test]
    fn reliable_transport_arms_no_retransmission_timer() {
        let c = Config::default();
        let cx = ctx(&c, Transport::Tcp);
        let (_, a) = ClientNonInvite::start(&cx);
        assert_eq!(a.slots[0], SlotOp::Clear);
        assert_eq!(a.slots[1], SlotOp::Arm(Timer::F, Duration::from_secs(32)));
        let (s, a) = ClientNonInvite::Proceeding.handle(Input::Response(200), &cx);
        assert_eq!(
            (s, a.slots[1]),
            (
                ClientNonInvite::Completed,
                SlotOp::Arm(Timer::K, Duration::ZERO)
            )
        );
    }

    #[test]
    fn server_rejects_responses_after_final() {
        let c = Config::default();
        let cx = ctx(&c, Transport::Udp);
        assert!(
            ServerNonInvite::Completed
                .handle(Input::Send(200), &cx)
                .1
                .rejected
        );
        assert!(
            ServerInvite::Confirmed
                .handle(Input::Send(200), &cx)
                .1
                .rejected
        );
        assert!(
            ServerInvite::Accepted
                .handle(Input::Send(486), &cx)
                .1
                .rejected
        );
        assert!(
            !ServerInvite::Accepted
                .handle(Input::Send(200), &cx)
                .1
                .rejected
        );
    }
}
