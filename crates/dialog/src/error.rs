//! The one error type of the dialog layer.

use sipkit_message::ParseError;

/// Why the dialog layer refused an input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The message did not parse.
    #[error("message does not parse: {0}")]
    Parse(#[from] ParseError),
    /// A request was expected.
    #[error("expected a request, got a response")]
    NotARequest,
    /// A response was expected.
    #[error("expected a response, got a request")]
    NotAResponse,
    /// A dialog needs a tag on both sides (RFC 3261 §12.1).
    #[error("no {0} tag: a dialog needs the From tag and the To tag (RFC 3261 §12.1)")]
    MissingTag(&'static str),
    /// Only 101–299 responses to INVITE (or SUBSCRIBE/REFER) create a dialog.
    #[error("a {0} response does not create a dialog (RFC 3261 §12.1: only 101-199 with a To tag and 2xx do)")]
    NoDialogFromStatus(u16),
    /// The message belongs to another dialog.
    #[error("the message does not belong to this dialog (Call-ID and tags differ)")]
    OtherDialog,
    /// An in-dialog request arrived with a CSeq lower than the last one (RFC 3261 §12.2.2: 500).
    #[error("CSeq {got} is lower than the last one seen ({last}); RFC 3261 §12.2.2 answers 500")]
    CSeqOutOfOrder {
        /// The CSeq number received.
        got: u32,
        /// The remote sequence number of the dialog.
        last: u32,
    },
    /// A header the operation needs is missing.
    #[error("missing {0} header")]
    MissingHeader(&'static str),
    /// A header value is not what the RFC asks for.
    #[error("invalid {header}: {why}")]
    InvalidHeader {
        /// The header.
        header: &'static str,
        /// What is wrong.
        why: &'static str,
    },
    /// The dialog is terminated.
    #[error("the dialog is terminated")]
    Terminated,
}
