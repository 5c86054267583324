//! sipkit's test user agent: place calls that follow redirects keeping the
//! original URI (`sipkit call`), transfer calls with REFER and watch and
//! diagnose the NOTIFYs (`sipkit transfer`), and answer calls as a headless
//! UA that acts as transferee (`sipkit ua`).
//!
//! This crate is the driver of the sans-IO layers: it owns the sockets
//! (through `sipkit-transport`) and the clock, feeds the transaction layer
//! (`sipkit-transaction`) and the dialog layer (`sipkit-dialog`), and runs
//! the loop of ARCHITECTURE.md in [`Endpoint::next`]: feed one input, drain
//! every output, wait for the earliest deadline. The protocol decisions —
//! dialogs, the ACK and 2xx retransmission, REFER and its subscription, the
//! redirect policy — live in `sipkit-dialog` and are tested there without
//! sockets or sleeps.
//!
//! What it does not do (yet): media (the SDP announces a port nobody
//! listens on), digest authentication, RFC 3263 DNS (SRV/NAPTR; plain
//! A/AAAA and IP literals only), TLS, attended transfer (Replaces).
//!
//! Every step is reported as a [`Note`] as it happens; each command returns
//! a report (`CallReport`, `TransferReport`, `AgentReport`) that serializes
//! to the `--format json` document.

mod agent;
pub mod book;
mod call;
mod core;
mod endpoint;
mod report;
pub mod sdp;
mod transfer;

pub use agent::{
    reason_for, run as run_agent, Agent, AgentOptions, CallId, CallState, Resolver, Timer,
};
pub use call::{call, hangup, hold, place_call, CallOptions, Established};
pub use core::{resolve_literal, Transmit, UaCore};
pub use endpoint::{local_ip_for, now, resolve, resolve_blocking, seed, Endpoint, EpEvent};
pub use report::{
    AgentCallReport, AgentReport, AttemptReport, CallReport, ContactReport, HangupReport, Note,
    NotificationReport, RedirectReport, RegistrationReport, TransferReport, TransfereeReport,
};
pub use sipkit_transport::Transport;
pub use transfer::{code as diagnosis_code, transfer, TransferOptions};

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
