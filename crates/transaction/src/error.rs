//! The one error type of the crate.

use crate::adapter::ParseError;
use crate::State;

/// Why an input from the TU was refused. Nothing is sent and no state
/// changes when one of these is returned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The message does not parse.
    #[error("invalid message: {0}")]
    Parse(#[from] ParseError),
    /// A request was expected (send_request).
    #[error("expected a request, found a response")]
    NotARequest,
    /// A response was expected (send_response).
    #[error("expected a response, found a request")]
    NotAResponse,
    /// An ACK is not sent in a client transaction: the ACK for a non-2xx
    /// is built by the INVITE transaction (RFC 3261 §17.1.1.3), the ACK for a
    /// 2xx by the TU and sent directly (§13.2.2.4); use `send_stateless`.
    #[error("an ACK is not sent in a transaction: expected send_stateless for the ACK of a 2xx")]
    AckIsNotATransaction,
    /// The top Via has no branch parameter; every request sent needs one
    /// (RFC 3261 §8.1.1.7). Take one from `Transactions::new_branch`.
    #[error("missing branch in the top Via: expected ;branch=z9hG4bK…")]
    MissingBranch,
    /// A transaction with the same key exists (a reused branch).
    #[error("a transaction with this key exists: expected a new branch")]
    DuplicateTransaction,
    /// No live transaction has this key (it never existed or has terminated).
    #[error("no transaction with this key: expected a live transaction")]
    UnknownTransaction,
    /// The key names a client transaction where a server one is needed, or the reverse.
    #[error("wrong kind of transaction: expected a {expected} transaction")]
    WrongRole {
        /// The role the call needs.
        expected: &'static str,
    },
    /// The response's CSeq method differs from the transaction's method.
    #[error("response CSeq method {found} does not match the transaction: expected {expected}")]
    MethodMismatch {
        /// The transaction's method.
        expected: String,
        /// The response's CSeq method.
        found: String,
    },
    /// The transaction does not accept this response in its state (RFC 3261
    /// §17.2.1, §17.2.2: further final responses are discarded).
    #[error("a {status} response is not allowed in state {state}: discarded")]
    ResponseNotAllowed {
        /// The status of the refused response.
        status: u16,
        /// The transaction's state.
        state: State,
    },
    /// CANCEL refused: RFC 3261 §9.1 — "If no provisional response has been
    /// received, the CANCEL request MUST NOT be sent"; after a final response
    /// it "SHOULD NOT be sent"; only INVITE client transactions are cancelled here.
    #[error("cannot CANCEL in state {state}: expected an INVITE client transaction in Proceeding")]
    CannotCancel {
        /// The INVITE transaction's state.
        state: State,
    },
}
