//! What the location service stores: bindings of an address-of-record to
//! contact addresses (RFC 3261 §10), and the values they are made of.

use std::cmp::Ordering;
use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;

pub use sipkit_message::Transport;

use crate::error::{Error, Result};
use crate::time::UnixMs;
use crate::uri::contact_key;

/// A q-value (RFC 3261 §20.10, grammar in §25.1: `qvalue`), the relative
/// preference of a contact, held as thousandths: 0 to 1000.
///
/// A Contact without a `q` parameter is stored as 1.0 ([`Q::default`]):
/// RFC 3261 gives no default, and treating an unspecified q as the highest
/// keeps such a device first rather than behind every device that asked for
/// less.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Q(u16);

impl Q {
    /// q = 1.0.
    pub const MAX: Q = Q(1000);
    /// q = 0.
    pub const MIN: Q = Q(0);

    /// A q-value from thousandths; `None` above 1000.
    pub const fn new(thousandths: u16) -> Option<Q> {
        if thousandths <= 1000 {
            Some(Q(thousandths))
        } else {
            None
        }
    }

    /// The value in thousandths (0..=1000).
    pub const fn thousandths(self) -> u16 {
        self.0
    }
}

impl Default for Q {
    fn default() -> Self {
        Q::MAX
    }
}

/// Renders the shortest `qvalue` form: `1`, `0`, `0.5`, `0.05`, `0.123`.
impl fmt::Display for Q {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            1000 => f.write_str("1"),
            0 => f.write_str("0"),
            n => {
                let digits = format!("{n:03}");
                write!(f, "0.{}", digits.trim_end_matches('0'))
            }
        }
    }
}

/// Parses a `qvalue` exactly as RFC 3261 §25.1 writes it:
/// `"0" ["." 0*3DIGIT]` or `"1" ["." 0*3("0")]` ([`sipkit_message::qvalue`]).
impl FromStr for Q {
    type Err = Error;

    fn from_str(s: &str) -> Result<Q> {
        sipkit_message::qvalue(s)
            .map(Q)
            .ok_or_else(|| Error::InvalidQ { text: s.to_owned() })
    }
}

/// A transport and a socket address: where a REGISTER came from (kept for
/// NAT traversal, RFC 3261 §18.2.1 `received`, RFC 5626) or where the server
/// listens. Written `udp:127.0.0.1:5060` or `tcp:[::1]:5060`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TransportAddr {
    /// The transport.
    pub transport: Transport,
    /// The IP address and port.
    pub addr: SocketAddr,
}

impl TransportAddr {
    /// A transport address from its parts.
    pub const fn new(transport: Transport, addr: SocketAddr) -> Self {
        Self { transport, addr }
    }
}

impl fmt::Display for TransportAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.transport.as_lowercase(), self.addr)
    }
}

impl FromStr for TransportAddr {
    type Err = Error;

    fn from_str(s: &str) -> Result<TransportAddr> {
        let bad = |reason| Error::InvalidTransportAddr {
            text: s.to_owned(),
            reason,
        };
        let (t, a) = s.split_once(':').ok_or_else(|| bad("no transport"))?;
        let transport = t
            .parse::<Transport>()
            .map_err(|_| bad("unknown transport"))?;
        let addr = a
            .parse::<SocketAddr>()
            .map_err(|_| bad("not an IP address and port"))?;
        Ok(TransportAddr { transport, addr })
    }
}

impl serde::Serialize for TransportAddr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for TransportAddr {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// The longest User-Agent kept with a binding, in bytes; a longer one is
/// cut at a character boundary (it is for display, not for matching).
pub const MAX_USER_AGENT: usize = 256;

/// `text` cut to at most [`MAX_USER_AGENT`] bytes, at a character boundary.
pub(crate) fn bounded_user_agent(text: &str) -> String {
    let text = text.trim();
    let mut end = text.len().min(MAX_USER_AGENT);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

/// The stream connection that holds a binding's flow: the worker of
/// `sipkit serve` that accepted it and that worker's connection number
/// (numbers are per worker). With [`Binding::node`] it tells another worker
/// or node which connection a request for the contact must go out on
/// (RFC 3261 §18.2.2 answers on the connection a request came on; RFC 5626
/// §5.3 forwards on the flow a registration came on). Written
/// `WORKER/NUMBER`, e.g. `0/17`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConnRef {
    /// The worker (0 for a single-threaded server).
    pub worker: u32,
    /// The connection number within that worker.
    pub id: u64,
}

impl fmt::Display for ConnRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.worker, self.id)
    }
}

impl FromStr for ConnRef {
    type Err = Error;

    fn from_str(s: &str) -> Result<ConnRef> {
        let bad = || Error::Corrupt {
            what: "connection",
            value: s.to_owned(),
        };
        let (w, n) = s.split_once('/').ok_or_else(bad)?;
        Ok(ConnRef {
            worker: w.parse().map_err(|_| bad())?,
            id: n.parse().map_err(|_| bad())?,
        })
    }
}

impl serde::Serialize for ConnRef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for ConnRef {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// One binding of an address-of-record to a contact address (RFC 3261 §10.3
/// step 7 lists what a registrar keeps: the contact, its q and expiry, and
/// the Call-ID and CSeq of the REGISTER that last wrote it), with what a
/// proxy or another node needs to reach it: the Path (RFC 3327 §5.3), where
/// the REGISTER came from and on which node and connection, and the
/// User-Agent for the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// The contact URI exactly as the REGISTER wrote it, URI parameters kept
    /// (without the angle brackets and without Contact header parameters).
    pub contact: String,
    /// Its q-value.
    pub q: Q,
    /// When it expires; from then on it is never returned.
    pub expires_at: UnixMs,
    /// When the REGISTER that created or last refreshed it was processed;
    /// among equal q-values the most recent comes first.
    pub updated_at: UnixMs,
    /// Call-ID of that REGISTER.
    pub call_id: String,
    /// CSeq number of that REGISTER.
    pub cseq: u32,
    /// Where that REGISTER came from.
    pub source: TransportAddr,
    /// The `+sip.instance` Contact parameter (RFC 5626 §4.2), as written.
    pub instance: Option<String>,
    /// The `reg-id` Contact parameter (RFC 5626 §4.2), as written.
    pub reg_id: Option<String>,
    /// The path vector (RFC 3327 §5.3): the REGISTER's Path header field
    /// values in order, each as written (`<sip:p1.example.com;lr>`); a
    /// request to the contact is routed through them. Empty without Path.
    pub path: Vec<String>,
    /// The REGISTER's User-Agent, cut to [`MAX_USER_AGENT`] bytes.
    pub user_agent: Option<String>,
    /// The node (`sipkit serve --node-id`, default its host name) that
    /// took the REGISTER.
    pub node: Option<String>,
    /// The connection of that node the REGISTER came on (stream transports
    /// only; `None` for UDP).
    pub connection: Option<ConnRef>,
}

impl Binding {
    /// Whether the binding is still in force at `now` (it expires at
    /// `expires_at` exactly).
    pub fn is_live(&self, now: UnixMs) -> bool {
        self.expires_at > now
    }

    /// Seconds left at `now`, rounded up (see [`UnixMs::secs_until`]).
    pub fn remaining_secs(&self, now: UnixMs) -> u32 {
        self.expires_at.secs_until(now)
    }

    /// The key that identifies this binding within its AOR: the contact URI
    /// in comparison form ([`contact_key`]).
    pub fn key(&self) -> String {
        contact_key(&self.contact)
    }

    /// The Contact value to send back for this binding at `now`.
    pub fn reply(&self, now: UnixMs) -> ContactReply {
        ContactReply {
            uri: self.contact.clone(),
            q: self.q,
            expires: self.remaining_secs(now),
        }
    }
}

/// The order in which bindings are listed in a 200 to REGISTER and a 302:
/// highest q first; among equal q the most recently registered (latest
/// `updated_at`) first; then by contact text, so the order is total and
/// stable across stores.
pub fn reply_order(a: &Binding, b: &Binding) -> Ordering {
    b.q.cmp(&a.q)
        .then(b.updated_at.cmp(&a.updated_at))
        .then_with(|| a.contact.cmp(&b.contact))
}

/// A Contact header field value of a 200 (RFC 3261 §10.3 step 8) or a 3xx
/// (§21.3): the URI, its remaining expires and its q.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactReply {
    /// The contact URI as registered.
    pub uri: String,
    /// Its q-value.
    pub q: Q,
    /// Seconds left.
    pub expires: u32,
}

/// `<sip:alice@192.0.2.4>;expires=3600;q=0.5`.
impl fmt::Display for ContactReply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{}>;expires={};q={}", self.uri, self.expires, self.q)
    }
}

/// One change to an AOR's bindings; a REGISTER makes a list of them that the
/// store applies all or nothing.
// Most changes are upserts: boxing the binding would cost an allocation
// each to save space on the rarer removals.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Add the binding, or replace the one whose contact compares equal
    /// ([`contact_key`]). A binding already expired at `now` is a removal.
    Upsert(Binding),
    /// Remove the binding whose contact compares equal to this URI, if any.
    Remove(String),
    /// Remove every binding of the AOR (`Contact: *`, RFC 3261 §10.2.2).
    RemoveAll,
}

/// What a caller of [`crate::LocationService::update`] decides after seeing
/// the AOR's live bindings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// Apply these changes in one transaction.
    Commit(Vec<Change>),
    /// Change nothing.
    Abort,
}

/// Applies `changes` to a list of live bindings, as a store does, and keeps
/// only those live at `now`. Stores use it so both compute the same result.
pub(crate) fn apply_changes(bindings: &mut Vec<Binding>, changes: &[Change], now: UnixMs) {
    for change in changes {
        match change {
            Change::Upsert(b) => {
                let key = b.key();
                bindings.retain(|old| old.key() != key);
                if b.is_live(now) {
                    bindings.push(b.clone());
                }
            }
            Change::Remove(uri) => {
                let key = contact_key(uri);
                bindings.retain(|old| old.key() != key);
            }
            Change::RemoveAll => bindings.clear(),
        }
    }
    bindings.retain(|b| b.is_live(now));
    bindings.sort_by(reply_order);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn q_display_is_shortest_qvalue() {
        let show = |n| Q::new(n).unwrap().to_string();
        assert_eq!(show(1000), "1");
        assert_eq!(show(0), "0");
        assert_eq!(show(500), "0.5");
        assert_eq!(show(50), "0.05");
        assert_eq!(show(5), "0.005");
        assert_eq!(show(123), "0.123");
        assert_eq!(show(120), "0.12");
        assert_eq!(Q::new(1001), None);
    }

    #[test]
    fn q_parses_rfc3261_grammar_only() {
        let q = |s: &str| s.parse::<Q>().ok().map(Q::thousandths);
        assert_eq!(q("0"), Some(0));
        assert_eq!(q("0."), Some(0));
        assert_eq!(q("0.5"), Some(500));
        assert_eq!(q("0.05"), Some(50));
        assert_eq!(q("0.123"), Some(123));
        assert_eq!(q("1"), Some(1000));
        assert_eq!(q("1.000"), Some(1000));
        assert_eq!(q("1.001"), None);
        assert_eq!(q("0.1234"), None);
        assert_eq!(q("2"), None);
        assert_eq!(q(".5"), None);
        assert_eq!(q("0.-1"), None);
        assert_eq!(q(""), None);
    }

    #[test]
    fn transport_addr_round_trips() {
        for text in ["udp:127.0.0.1:5060", "tcp:[::1]:5061", "wss:192.0.2.1:443"] {
            let t: TransportAddr = text.parse().unwrap();
            assert_eq!(t.to_string(), text);
        }
        let t: TransportAddr = "UDP:10.0.0.1:5060".parse().unwrap();
        assert_eq!(t.transport, Transport::Udp);
        assert!("udp:localhost:5060".parse::<TransportAddr>().is_err());
        assert!("127.0.0.1:5060".parse::<TransportAddr>().is_err());
        assert!("xyz:127.0.0.1:5060".parse::<TransportAddr>().is_err());
    }

    #[test]
    fn conn_ref_round_trips() {
        let c: ConnRef = "3/17".parse().unwrap();
        assert_eq!(c, ConnRef { worker: 3, id: 17 });
        assert_eq!(c.to_string(), "3/17");
        for bad in ["", "3", "3/", "/17", "x/1", "1/-2"] {
            assert!(bad.parse::<ConnRef>().is_err(), "{bad}");
        }
    }

    #[test]
    fn user_agent_is_cut_at_a_char_boundary() {
        assert_eq!(bounded_user_agent(" softphone/1.0 "), "softphone/1.0");
        let long = "é".repeat(MAX_USER_AGENT);
        let cut = bounded_user_agent(&long);
        assert!(cut.len() <= MAX_USER_AGENT && cut.len() >= MAX_USER_AGENT - 1);
        assert!(cut.chars().all(|c| c == 'é'));
    }

    #[test]
    fn contact_reply_renders_as_rfc3261_contact_value() {
        let r = ContactReply {
            uri: "sip:alice@192.0.2.4;transport=tcp".into(),
            q: Q::new(700).unwrap(),
            expires: 3599,
        };
        assert_eq!(
            r.to_string(),
            "<sip:alice@192.0.2.4;transport=tcp>;expires=3599;q=0.7"
        );
    }
}
