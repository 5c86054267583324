//! Transaction keys and the matching rules behind them (RFC 3261 §17.1.3,
//! §17.2.3).
//!
//! A key is a canonical byte string: equal keys mean "same transaction".
//! It is stored in front of the transaction's request in one shared buffer,
//! so a transaction costs one allocation for its key and request together.
//!
//! Layout: a role byte (`C` client, `S` server), a rule byte (`3` RFC 3261
//! branch, `2` RFC 2543 fallback), the method, then NUL-separated fields:
//!
//! - client: method, branch (§17.1.3);
//! - server, RFC 3261: method (INVITE for ACK), branch, sent-by (§17.2.3);
//! - server, RFC 2543: method (INVITE for ACK), Request-URI, To tag,
//!   From tag, Call-ID, CSeq number, top Via (§17.2.3, last paragraphs).
//!
//! Branches compare case-insensitively (RFC 3261 §7.3.1: parameter values
//! and tokens are case-insensitive unless stated otherwise), as do sent-by
//! hosts; methods are case-sensitive (§7.1). Header fields never contain NUL
//! (the parser rejects control bytes), so the separator is unambiguous.

use std::borrow::Borrow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::io::Write as _;
use std::sync::Arc;

use crate::adapter::{Start, Summary};

/// Which side of a transaction a key names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// A client transaction: this side sent the request (RFC 3261 §17.1).
    Client,
    /// A server transaction: this side received the request (RFC 3261 §17.2).
    Server,
}

/// Identifies one transaction: what an incoming message is matched by, and
/// what the TU names a transaction with ([`crate::Transactions::send_response`],
/// events). Cheap to clone (a reference-counted buffer); compares and hashes
/// by the matching fields.
#[derive(Clone)]
pub struct TransactionKey {
    buf: Arc<[u8]>,
    len: u32,
}

impl TransactionKey {
    /// Wraps a buffer whose first `len` bytes are a key.
    pub(crate) fn new(buf: Arc<[u8]>, len: usize) -> TransactionKey {
        let len = u32::try_from(len.min(buf.len())).unwrap_or(u32::MAX);
        TransactionKey { buf, len }
    }

    /// The key bytes (see the module docs for the layout).
    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.buf.get(..self.len as usize).unwrap_or(&[])
    }

    /// The shared buffer (key then request).
    pub(crate) fn buffer(&self) -> &Arc<[u8]> {
        &self.buf
    }

    /// Client or server.
    pub fn role(&self) -> Role {
        if self.as_bytes().first() == Some(&b'C') {
            Role::Client
        } else {
            Role::Server
        }
    }

    /// True if a server key was built by the RFC 2543 fallback (no usable branch).
    pub fn is_rfc2543(&self) -> bool {
        self.as_bytes().get(1) == Some(&b'2')
    }

    fn fields(&self) -> impl Iterator<Item = &str> {
        self.as_bytes()
            .get(2..)
            .unwrap_or(&[])
            .split(|&c| c == 0)
            .map(|f| std::str::from_utf8(f).unwrap_or(""))
    }

    /// The method of the request that created the transaction (INVITE for
    /// the transaction an ACK belongs to).
    pub fn method(&self) -> &str {
        self.fields().next().unwrap_or("")
    }

    /// The branch (lowercase), unless the key is an RFC 2543 one.
    pub fn branch(&self) -> Option<&str> {
        if self.is_rfc2543() {
            None
        } else {
            self.fields().nth(1)
        }
    }

    /// The key of the transaction a message belongs to, as matching computes
    /// it: for a request the server key (§17.2.3; an ACK yields its INVITE's
    /// key, written with the ACK's To tag in the RFC 2543 case), for a
    /// response the client key (§17.1.3). Fails if the bytes do not parse or
    /// a response has no branch.
    pub fn of_message(bytes: &[u8]) -> Result<TransactionKey, crate::Error> {
        let s = crate::adapter::summarize(
            bytes,
            crate::Transport::Udp,
            &sipkit_message::Limits::default(),
        )?;
        Self::of_summary(&s)
    }

    /// Like [`TransactionKey::of_message`], for a message already parsed
    /// (a capture analyzer parses each message once and keys it here).
    pub fn of_parsed(msg: &sipkit_message::Message<'_>) -> Result<TransactionKey, crate::Error> {
        let s = crate::adapter::summary_of(msg)?;
        Self::of_summary(&s)
    }

    fn of_summary(s: &Summary<'_>) -> Result<TransactionKey, crate::Error> {
        let mut out = Vec::new();
        match s.start {
            Start::Request { method, .. } => {
                let m = if method == "ACK" { "INVITE" } else { method };
                server_key(&mut out, s, m, s.to_tag);
            }
            Start::Response { .. } => {
                let branch = s.via.branch.ok_or(crate::Error::MissingBranch)?;
                client_key(&mut out, s.cseq_method, branch);
            }
        }
        let len = out.len();
        Ok(TransactionKey::new(Arc::from(out), len))
    }
}

impl PartialEq for TransactionKey {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for TransactionKey {}

impl Hash for TransactionKey {
    /// Hashes exactly as the `[u8]` it borrows as, so maps can be queried
    /// with a key written into a scratch buffer.
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state);
    }
}

impl Borrow<[u8]> for TransactionKey {
    fn borrow(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl fmt::Display for TransactionKey {
    /// `client INVITE z9hg4bk776asdhds`, `server INVITE z9hg4bk776asdhds pc33.atlanta.com:5060`,
    /// `server INVITE (RFC 2543) sip:bob@b …`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.role() {
            Role::Client => "client",
            Role::Server => "server",
        })?;
        for (i, field) in self.fields().enumerate() {
            if i == 1 && self.is_rfc2543() {
                f.write_str(" (RFC 2543)")?;
            }
            if !field.is_empty() {
                write!(f, " {field}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for TransactionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TransactionKey({self})")
    }
}

fn push_lower(out: &mut Vec<u8>, s: &str) {
    out.extend(s.bytes().map(|c| c.to_ascii_lowercase()));
}

/// Writes the client key of a transaction: "the branch parameter in the top
/// Via" and "the method parameter in the CSeq header field" (RFC 3261 §17.1.3).
pub(crate) fn client_key(out: &mut Vec<u8>, method: &str, branch: &str) {
    out.extend_from_slice(b"C3");
    out.extend_from_slice(method.as_bytes());
    out.push(0);
    push_lower(out, branch);
}

/// Writes the server key for a request (RFC 3261 §17.2.3), under `method`
/// (the caller passes INVITE for an ACK, and the To tag to use for RFC 2543
/// matching).
///
/// With an RFC 3261 branch: branch, sent-by and method. Otherwise the RFC 2543
/// fallback: "the Request-URI, To tag, From tag, Call-ID, CSeq, and top Via
/// header field". The Request-URI is compared as written (a retransmission
/// is a copy), not with the full §19.1.4 URI equality.
pub(crate) fn server_key(out: &mut Vec<u8>, s: &Summary<'_>, method: &str, to_tag: Option<&str>) {
    let uri = match s.start {
        Start::Request { uri, .. } => uri,
        Start::Response { .. } => "",
    };
    if s.via.is_rfc3261() {
        out.extend_from_slice(b"S3");
        out.extend_from_slice(method.as_bytes());
        out.push(0);
        push_lower(out, s.via.branch.unwrap_or(""));
        out.push(0);
        s.via.write_sent_by(out);
    } else {
        out.extend_from_slice(b"S2");
        out.extend_from_slice(method.as_bytes());
        for field in [
            uri,
            to_tag.unwrap_or(""),
            s.from_tag.unwrap_or(""),
            s.call_id,
        ] {
            out.push(0);
            out.extend_from_slice(field.as_bytes());
        }
        out.push(0);
        // Writing to a Vec cannot fail.
        let _ = write!(out, "{}", s.cseq);
        out.push(0);
        s.via.write_canonical(out);
    }
}
