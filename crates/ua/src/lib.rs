//! sipkit's test user agent: place calls that follow redirects keeping the
//! original URI (`sipkit call`), transfer calls with REFER and watch and
//! diagnose the NOTIFYs (`sipkit transfer`), and answer calls as a headless
//! UA that acts as transferee (`sipkit ua`).
//!
//! Two layers. The sans-IO one decides: [`UaCore`] (the transaction layer,
//! the ACK to every retransmitted 2xx and the retransmission of this side's
//! 2xx until its ACK, RFC 3261 §13) and, on it, the headless phone
//! [`Agent`], which takes `(now, input)` and returns messages, notes and its
//! next deadline — all its timers are one [`Timer`] enum in one table. It
//! answers calls and acts as transferee (`sipkit ua`), and places calls that
//! follow redirects and transfers them with REFER (`sipkit call`, `sipkit
//! transfer`: a [`Command`]). The async one is `sipkit-transport`'s one
//! driver: the agent implements its `Endpoint` trait, and [`UserAgent`]
//! binds the transports and runs the agent on
//! `sipkit_transport::driver::run` — feed one input with the time, drain
//! every output, wait for the earliest deadline. The protocol decisions
//! below the UA — dialogs, REFER and its subscription, the redirect policy
//! — live in `sipkit-dialog`. Nothing in this crate reads the clock
//! (clippy.toml bans it; the driver's `Now::read` does); the agent is
//! tested with two or three agents against each other on a jumping clock
//! and a lossy link (`tests/integration`).
//!
//! ```
//! use std::time::Instant;
//! use sipkit_dialog::RedirectPolicy;
//! use sipkit_ua::{resolve_literal, Agent, AgentOptions, CallState, Transport, UaCore};
//!
//! # #[allow(clippy::disallowed_methods)]
//! let t0 = Instant::now(); // the driver's clock; the agent never reads it
//! let alice_at = "192.0.2.1:5060".parse()?;
//! let bob_at = "192.0.2.2:5060".parse()?;
//! let mut alice = Agent::new(t0, UaCore::new(Transport::Udp, alice_at, 1),
//!     AgentOptions::default(), "udp:192.0.2.1:5060".into(), resolve_literal);
//! let mut bob = Agent::new(t0, UaCore::new(Transport::Udp, bob_at, 2),
//!     AgentOptions::default(), "udp:192.0.2.2:5060".into(), resolve_literal);
//! let call = alice.call(t0, "sip:bob@192.0.2.2:5060", RedirectPolicy::default())?;
//! // A perfect network: deliver until both are quiet.
//! loop {
//!     let mut moved = false;
//!     while let Some(t) = alice.poll_transmit() {
//!         bob.handle_datagram(t0, &t.bytes, alice_at, bob_at, Transport::Udp)?;
//!         moved = true;
//!     }
//!     while let Some(t) = bob.poll_transmit() {
//!         alice.handle_datagram(t0, &t.bytes, bob_at, alice_at, Transport::Udp)?;
//!         moved = true;
//!     }
//!     if !moved { break; }
//! }
//! assert_eq!(alice.call_state(call), Some(CallState::Up));
//! // The driver then sleeps until the earliest deadline and calls handle_timeout.
//! assert!(alice.poll_timeout().is_some_and(|t| t > t0));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! What it does not do (yet): media (the SDP announces a port nobody
//! listens on), digest authentication, RFC 3263 DNS (SRV/NAPTR; plain
//! A/AAAA and IP literals only), TLS, attended transfer (Replaces).
//!
//! Every step is reported as a [`Note`] as it happens; each command returns
//! a report (`CallReport`, `TransferReport`, `AgentReport`) that serializes
//! to the `--format json` document.

mod agent;
mod auth;
pub mod book;
mod call;
mod core;
mod report;
pub mod sdp;
mod shell;
mod transfer;

pub use agent::{reason_for, Agent, AgentOptions, CallId, CallState, Command, Resolver, Timer};
pub use auth::Credentials;
pub use call::CallOptions;
pub use core::{resolve_literal, EpEvent, Transmit, UaCore};
pub use report::{
    AgentCallReport, AgentReport, AttemptReport, AuthReport, CallReport, ContactReport,
    HangupReport, Note, NotificationReport, RedirectReport, RegistrationReport, TransferReport,
    TransfereeReport,
};
pub use shell::{local_ip_for, resolve, resolve_blocking, Bind, UserAgent};
pub use sipkit_transport::Transport;
pub use transfer::{code as diagnosis_code, TransferOptions};

/// The User-Agent header of every request and response.
pub const USER_AGENT: &str = concat!("sipkit/", env!("CARGO_PKG_VERSION"));

/// The methods this UA handles (Allow).
pub const ALLOW: &str = "INVITE, ACK, CANCEL, BYE, OPTIONS, REFER, NOTIFY, INFO, UPDATE";

/// Why the user agent could not do what it was asked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A socket could not be bound.
    #[error("cannot listen on {0}: {1}")]
    Bind(String, #[source] std::io::Error),
    /// A URI is not one this UA can call.
    #[error("invalid URI {0:?}: {1}")]
    BadUri(String, String),
    /// A host name did not resolve.
    #[error("cannot resolve {0}: {1}")]
    Resolve(String, String),
    /// The transaction layer refused a message.
    #[error("transaction layer: {0}")]
    Transaction(#[from] sipkit_transaction::Error),
    /// The dialog layer refused an input.
    #[error("dialog: {0}")]
    Dialog(#[from] sipkit_dialog::Error),
    /// Something that cannot happen happened.
    #[error("internal error: {0}")]
    Internal(&'static str),
}
