//! Rebuilding what happened from SIP messages: transactions (RFC 3261
//! §17.1.3, §17.2.3 via `sipkit_transaction`'s keys), retransmissions and
//! their timers, calls grouped by Call-ID, redirects (§8.1.3.4), transfers
//! (RFC 3515) and the findings about them.
//!
//! State is kept only for open calls: a call is handed out
//! ([`Analyzer::poll_call`]) and forgotten once nothing is pending in it and
//! it has been quiet for [`Config::linger_ns`] of capture time, or once it
//! has been idle for [`Config::idle_ns`].

use std::borrow::Cow;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;

use sipkit_message::{
    parse_raw, uri_eq, CSeq, Head, HeaderName, Message, ParseError, RawMessage, Uri,
};

use crate::findings::{Finding, FindingId};
use crate::stats::Histogram;

type Map<K, V> = hashbrown::HashMap<K, V, foldhash::fast::RandomState>;

/// Timer values (RFC 3261 §17.1.1.1, Table 4) and how long calls are kept.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// T1, the RTT estimate: 500 ms.
    pub t1_ns: i64,
    /// T2, the cap of non-INVITE retransmission intervals: 4 s.
    pub t2_ns: i64,
    /// A finished call is written out after this much quiet capture time
    /// (64*T1 = 32 s: the longest a retransmission or a redirect retry may
    /// still come).
    pub linger_ns: i64,
    /// Any call idle this long is written out (an established call whose BYE
    /// was not captured).
    pub idle_ns: i64,
    /// Messages kept per call for its ladder; later ones are counted only.
    pub max_messages_per_call: usize,
    /// Run the full receiver check of RFC 3261 (what `sipkit parse` runs:
    /// the syntax of every header a stack relies on, single and mandatory
    /// headers, §8.2, §18.3) on every UDP message, so any malformed header
    /// is a `malformed_message` finding. Off by default: only the start
    /// line, the framing and the headers the analysis reads are checked
    /// ([`View::of_raw`]); a TCP stream's messages are always checked fully.
    pub validate: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            t1_ns: 500_000_000,
            t2_ns: 4_000_000_000,
            linger_ns: 32_000_000_000,
            idle_ns: 3_600_000_000_000,
            max_messages_per_call: 10_000,
            validate: false,
        }
    }
}

impl Config {
    /// 64*T1: Timer B and Timer F (RFC 3261 §17.1.1.2, §17.1.2.2).
    pub fn timer_b(&self) -> i64 {
        64 * self.t1_ns
    }
}

/// The transport a message came over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// UDP: unreliable, so transactions retransmit (RFC 3261 §17.1.1.2).
    Udp,
    /// TCP: reliable, nothing is retransmitted by the transaction layer.
    Tcp,
}

impl Transport {
    /// `UDP` or `TCP`.
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
        }
    }
}

/// Where and when a message was captured.
#[derive(Debug, Clone, Copy)]
pub struct Meta {
    /// The frame that carried (or completed) it.
    pub frame: u64,
    /// Capture time, ns since the epoch.
    pub ts_ns: i64,
    /// Sender.
    pub src: SocketAddr,
    /// Receiver.
    pub dst: SocketAddr,
    /// Transport.
    pub transport: Transport,
}

/// What one captured message was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// A request: method and Request-URI.
    Request {
        /// The method (the common ones are not allocated).
        method: Cow<'static, str>,
        /// The Request-URI as written (shared with the other messages of
        /// the call that carry the same one).
        uri: Arc<str>,
    },
    /// A response: code and reason phrase.
    Response {
        /// The status code.
        status: u16,
        /// The reason phrase as written (shared by the responses that
        /// carry the same one).
        reason: Arc<str>,
    },
    /// A message that does not parse.
    Malformed {
        /// The parser's error.
        error: String,
    },
}

/// The start line of a [`View`].
#[derive(Debug, Clone, Copy)]
enum StartView<'a> {
    Request { method: &'a str, uri: &'a str },
    Response { status: u16, reason: &'a str },
}

/// What the analyzer reads of one message, read once: the start line, the
/// Call-ID, CSeq, From and To URIs and tags and the top Via's branch (RFC
/// 3261 §8.1.1, §17.1.3); other headers (Contact, Refer-To, Event, …) are
/// read from `head` only where the analysis needs them.
#[derive(Debug, Clone, Copy)]
pub struct View<'m, 'a> {
    head: &'m Head<'a>,
    start: StartView<'a>,
    call_id: &'a str,
    cseq: CSeq<'a>,
    from_uri: &'a str,
    from_tag: Option<&'a str>,
    to_uri: &'a str,
    to_tag: Option<&'a str>,
    branch: Option<&'a str>,
}

impl<'m, 'a> View<'m, 'a> {
    /// The view of a fully parsed (validated) message.
    pub fn of_message(msg: &'m Message<'a>) -> Self {
        let start = match msg {
            Message::Request(r) => StartView::Request {
                method: r.method_str(),
                uri: r.uri().as_str(),
            },
            Message::Response(r) => StartView::Response {
                status: r.status(),
                reason: r.reason(),
            },
        };
        let (from, to) = (msg.from(), msg.to());
        View {
            head: msg,
            start,
            call_id: msg.call_id(),
            cseq: msg.cseq(),
            from_uri: from.uri.as_str(),
            from_tag: from.tag(),
            to_uri: to.uri.as_str(),
            to_tag: to.tag(),
            branch: msg.top_via().ok().and_then(|v| v.branch()),
        }
    }

    /// The view of a split message ([`sipkit_message::parse_raw`]), reading
    /// only the headers the analysis needs: Call-ID, CSeq, From, To and the
    /// top Via must parse, every message must carry them (RFC 3261 §8.1.1),
    /// a request's CSeq method must be its method (§8.1.1.5) and a request
    /// from an RFC 3261 element must carry Max-Forwards (§8.1.1.6). Other
    /// headers are not checked. `Err` when any of that fails: the error of
    /// the first read that failed, which need not be the first error in the
    /// message ([`RawMessage::validate`] gives that one).
    pub fn of_raw(raw: &'m RawMessage<'a>) -> Result<Self, ParseError> {
        Self::of_raw_memo(raw, &mut Memo::default(), &mut Untagged::default(), false)
    }

    /// [`View::of_raw`], with the From, To and top Via values that `memo`
    /// has read before compared instead of parsed (and From and To values
    /// that are such a value or an [`Untagged`] one with a tag added): the
    /// same reads in the same order, so the same view or the same error.
    /// `known_call_id`:
    /// the Call-ID value as written is the key of a call, so it was read
    /// before without error, and reads as itself (a valid Call-ID has no
    /// surrounding whitespace, RFC 3261 §25.1 `callid`).
    fn of_raw_memo(
        raw: &'m RawMessage<'a>,
        memo: &mut Memo,
        untagged: &mut Untagged,
        known_call_id: bool,
    ) -> Result<Self, ParseError> {
        let branch = top_branch(raw, memo, untagged)?;
        let call_id = match raw.header(HeaderName::CallId) {
            Some(h) if known_call_id => h.value,
            _ => raw.call_id()?,
        };
        let cseq = raw.cseq()?;
        let (from_uri, from_tag) =
            name_addr(raw, HeaderName::From, memo, untagged, RawMessage::from)?;
        let (to_uri, to_tag) = name_addr(raw, HeaderName::To, memo, untagged, RawMessage::to)?;
        let start = match raw.start_line() {
            sipkit_message::StartLine::Request { method, uri } => {
                let mf_missing = raw.header(HeaderName::MaxForwards).is_none()
                    && branch.is_some_and(|b| b.starts_with(MAGIC_COOKIE));
                if cseq.method != method || mf_missing {
                    // The receiver check says which and where.
                    raw.validate()?;
                }
                StartView::Request {
                    method,
                    uri: uri.as_str(),
                }
            }
            sipkit_message::StartLine::Response { status, reason } => {
                StartView::Response { status, reason }
            }
        };
        Ok(View {
            head: raw,
            start,
            call_id,
            cseq,
            from_uri,
            from_tag,
            to_uri,
            to_tag,
            branch,
        })
    }
}

/// A From or To value's URI and tag: from `memo` when it has read these
/// bytes before, or when they are `P;tag=T` (or `P`) for a `P` in
/// `untagged`; else by `read` (and then kept).
///
/// Why `P;tag=T` reads as `P` plus the tag: `T` is a token running to the
/// end, so it ends every element of `P` where `P`'s own end did (a URI
/// outside `<>`, a parameter name or value all stop at `;`), and then adds
/// one header parameter, the first named `tag` since `P` has no parameter
/// of that name — not even one without a value, which reads as no tag: so
/// `untagged` keeps no value with `tag` in it anywhere (RFC 3261 §20.20,
/// §20.39, §25.1 `from-param`, `tag-param`). The converse holds too: a
/// `P;tag=T` whose tag read is that `T` reads `P` alone as the same URI
/// without a tag, which is how `untagged` is filled.
fn name_addr<'a>(
    raw: &RawMessage<'a>,
    name: HeaderName,
    memo: &mut Memo,
    untagged: &mut Untagged,
    read: fn(&RawMessage<'a>) -> Result<sipkit_message::NameAddr<'a>, ParseError>,
) -> Result<(&'a str, Option<&'a str>), ParseError> {
    let value = raw.header(name).map(|h| h.value);
    if let Some(v) = value {
        if let Some((uri, tag)) = memo.get(name, v) {
            if let Some(uri) = at(v, uri) {
                return Ok((uri, at(v, tag)));
            }
        }
        let (p, tag) = match split_param(v, TAG_PARAM) {
            Some((p, t)) => (p, Some(t)),
            None => (v, None),
        };
        if let Some(u) = untagged.get(p) {
            if let Some(uri) = at(v, Some(u)) {
                memo.put(name, v, Some(u), tag);
                return Ok((uri, at(v, tag)));
            }
        }
    }
    let na = read(raw)?;
    let (uri, tag) = (na.uri.as_str(), na.tag());
    if let Some(v) = value {
        if let (Some(u), t) = (span(v, uri), tag.map(|t| span(v, t))) {
            if t != Some(None) {
                memo.put(name, v, Some(u), t.flatten());
            }
            match (t.flatten(), split_param(v, TAG_PARAM)) {
                (None, None) => untagged.put(v, u),
                (Some(t), Some((p, end))) if t == end => untagged.put(p, u),
                _ => {}
            }
        }
    }
    Ok((uri, tag))
}

/// The top Via's branch: from `memo` when it has read this first Via line
/// before, or when the line is `P;branch=T` (or `P`) for a `P` in
/// `untagged`; else by [`RawMessage::top_via`] (and then kept). `P;branch=T` reads as `P` with that branch for the reasons
/// [`name_addr`] gives (RFC 3261 §20.42: `via-branch` is a token, and `P`
/// has no branch to come first).
fn top_branch<'a>(
    raw: &RawMessage<'a>,
    memo: &mut Memo,
    untagged: &mut Untagged,
) -> Result<Option<&'a str>, ParseError> {
    let via = HeaderName::Via;
    let line = raw.header(via).map(|h| h.value);
    if let Some(v) = line {
        if let Some((branch, _)) = memo.get(via, v) {
            return Ok(at(v, branch));
        }
        if let Some((p, b)) = split_param(v, BRANCH_PARAM) {
            if untagged.via.contains(p) {
                memo.put(via, v, Some(b), None);
                return Ok(at(v, Some(b)));
            }
        } else if untagged.via.contains(v) {
            memo.put(via, v, None, None);
            return Ok(None);
        }
    }
    let top = raw.top_via()?;
    let branch = top.branch();
    // The top Via is the first value of the first Via line when that line
    // is not blank (an empty line holds none).
    if let Some(v) = line.filter(|v| !v.trim().is_empty()) {
        match branch.map(|b| span(v, b)) {
            None => {
                memo.put(via, v, None, None);
                // Only a line that is one value: a branch added to a line
                // of several would go to the last.
                if span(v, top.raw).is_some_and(|(_, end)| usize::from(end) == v.len()) {
                    untagged.put_via(v);
                }
            }
            Some(Some(b)) => {
                memo.put(via, v, Some(b), None);
                if let Some((p, end)) = split_param(v, BRANCH_PARAM) {
                    if end == b {
                        untagged.put_via(p);
                    }
                }
            }
            Some(None) => {}
        }
    }
    Ok(branch)
}

/// The literal parameters [`split_param`] is asked for (any other spelling
/// is read the long way).
const TAG_PARAM: &str = ";tag=";
const BRANCH_PARAM: &str = ";branch=";

/// `value` as `P` + `param` + `T` (`param` like `;tag=`), with `T` a
/// non-empty token (RFC 3261 §25.1) that runs to the end: `P`, and `T`'s
/// span in `value`.
fn split_param<'v>(value: &'v str, param: &str) -> Option<(&'v str, Span)> {
    let k = memchr::memrchr(b';', value.as_bytes())?;
    let t = value.get(k + param.len()..)?;
    if !value[k..].starts_with(param) || t.is_empty() || !t.bytes().all(sipkit_message::is_token) {
        return None;
    }
    Some((&value[..k], span(value, t)?))
}

/// From and To values without a tag, and first Via lines without a branch,
/// that read without error, across calls (a caller's and a callee's
/// address and Via repeat from call to call, with a new tag or branch each
/// time): the URI's span in each address. None holds the parameter name
/// (`tag`, `branch`) in any case anywhere, so adding that parameter makes
/// it the first of its name. Bounded: emptied when full.
#[derive(Debug, Default)]
pub(crate) struct Untagged {
    uri: Map<Box<str>, Span>,
    via: hashbrown::HashSet<Box<str>, foldhash::fast::RandomState>,
}

/// True if `word` (lowercase ASCII) occurs in `value` in any case.
fn mentions(value: &str, word: &str) -> bool {
    value
        .as_bytes()
        .windows(word.len())
        .any(|w| w.eq_ignore_ascii_case(word.as_bytes()))
}

/// Most values [`Untagged`] keeps.
const UNTAGGED_MAX: usize = 4096;

impl Untagged {
    fn get(&self, value: &str) -> Option<Span> {
        self.uri.get(value).copied()
    }

    fn put(&mut self, value: &str, uri: Span) {
        if mentions(value, "tag") {
            return;
        }
        if self.uri.len() >= UNTAGGED_MAX {
            self.uri.clear();
        }
        self.uri.insert(value.into(), uri);
    }

    fn put_via(&mut self, value: &str) {
        if mentions(value, "branch") {
            return;
        }
        if self.via.len() >= UNTAGGED_MAX {
            self.via.clear();
        }
        self.via.insert(value.into());
    }
}

/// A part of a header value: its start and end byte.
type Span = (u16, u16);

/// Where `inner` lies in `outer`, if it is a part of it.
fn span(outer: &str, inner: &str) -> Option<Span> {
    let start = (inner.as_ptr() as usize).checked_sub(outer.as_ptr() as usize)?;
    let end = start + inner.len();
    (end <= outer.len()).then_some(())?;
    Some((u16::try_from(start).ok()?, u16::try_from(end).ok()?))
}

/// The part of `value` at `span`.
fn at(value: &str, span: Option<Span>) -> Option<&str> {
    let (a, b) = span?;
    value.get(usize::from(a)..usize::from(b))
}

/// Header values a call's messages repeat byte for byte — its From and To
/// values and its transactions' top Via lines — with what [`View::of_raw`]
/// read in each, so that a repeat is compared instead of parsed. A reading
/// depends on the value's bytes alone (each accessor parses the first line
/// of its header by itself), so the same bytes give the same reading; a
/// value that failed is never kept, and is read again the next time.
#[derive(Debug, Clone, Default)]
pub(crate) struct Memo {
    slots: Vec<MemoSlot>,
    next: usize,
}

/// One remembered value, kept inline (one allocation holds all of a
/// call's, so a lookup reads one block of memory): the URI (or Via
/// branch) and tag spans in it.
#[derive(Debug, Clone)]
struct MemoSlot {
    header: HeaderName,
    len: u8,
    value: [u8; MEMO_VALUE_MAX],
    first: Option<Span>,
    tag: Option<Span>,
}

/// Values remembered per call (a call has about three From/To values and
/// one Via line per transaction), and the longest one kept (a From with a
/// display name and a long tag, a Via with a long branch, fit).
const MEMO_SLOTS: usize = 8;
const MEMO_VALUE_MAX: usize = 96;

/// The memo's class of a header: From and To share one grammar and one
/// reading (RFC 3261 §20.20, §20.39; `RawMessage::from` and `to` read both
/// alike), so a value read in one reads the same in the other (the callee's
/// requests carry the caller's To as their From).
fn memo_class(header: HeaderName) -> HeaderName {
    match header {
        HeaderName::From => HeaderName::To,
        h => h,
    }
}

impl Memo {
    fn get(&self, header: HeaderName, value: &str) -> Option<(Option<Span>, Option<Span>)> {
        let header = memo_class(header);
        let v = value.as_bytes();
        // The last byte first: a call's values of one length differ mostly
        // at the end (tags, branches).
        self.slots
            .iter()
            .find(|s| {
                s.header == header
                    && usize::from(s.len) == v.len()
                    && s.value
                        .get(..v.len())
                        .is_some_and(|m| m.last() == v.last() && m == v)
            })
            .map(|s| (s.first, s.tag))
    }

    fn put(&mut self, header: HeaderName, value: &str, first: Option<Span>, tag: Option<Span>) {
        let Ok(len) = u8::try_from(value.len()) else {
            return;
        };
        let mut slot = MemoSlot {
            header: memo_class(header),
            len,
            value: [0; MEMO_VALUE_MAX],
            first,
            tag,
        };
        match slot.value.get_mut(..value.len()) {
            Some(v) => v.copy_from_slice(value.as_bytes()),
            None => return,
        }
        if self.slots.len() < MEMO_SLOTS {
            if self.slots.capacity() == 0 {
                self.slots.reserve_exact(MEMO_SLOTS);
            }
            self.slots.push(slot);
        } else {
            self.slots[self.next % MEMO_SLOTS] = slot;
            self.next += 1;
        }
    }
}

/// One message of a call, as the ladder shows it.
#[derive(Debug, Clone)]
pub struct MessageRecord {
    /// Frame number.
    pub frame: u64,
    /// Capture time, ns.
    pub ts_ns: i64,
    /// Sender.
    pub src: SocketAddr,
    /// Receiver.
    pub dst: SocketAddr,
    /// Transport.
    pub transport: Transport,
    /// Request, response or malformed.
    pub kind: Kind,
    /// CSeq number and method (0 and empty when malformed).
    pub cseq: (u32, Cow<'static, str>),
    /// A retransmission of an earlier message of the same transaction.
    pub retransmission: bool,
}

/// How a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// An INVITE was answered with 2xx.
    Answered,
    /// Answered, then transferred with REFER, and the transfer succeeded.
    Transferred,
    /// The last INVITE got a 3xx.
    Redirected,
    /// The last INVITE got 4xx–6xx.
    Rejected,
    /// The INVITE was cancelled (487).
    Cancelled,
    /// The first request got no final response.
    Unanswered,
    /// A non-INVITE request succeeded.
    Completed,
    /// A non-INVITE request failed.
    Failed,
    /// Only responses or broken messages were captured.
    Incomplete,
}

impl Outcome {
    /// The stable id.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Answered => "answered",
            Outcome::Transferred => "transferred",
            Outcome::Redirected => "redirected",
            Outcome::Rejected => "rejected",
            Outcome::Cancelled => "cancelled",
            Outcome::Unanswered => "unanswered",
            Outcome::Completed => "completed",
            Outcome::Failed => "failed",
            Outcome::Incomplete => "incomplete",
        }
    }
}

/// A client transaction as seen on the wire.
#[derive(Debug, Clone)]
struct Tx {
    key: String,
    /// A hash of `key`, compared first: most transactions of a call are
    /// told apart without reading their keys.
    key_hash: u64,
    method: Cow<'static, str>,
    cseq: u32,
    ruri: Arc<str>,
    /// The From tag of an INVITE (empty for other methods).
    from_tag: String,
    initial: bool,
    transport: Transport,
    first_frame: u64,
    first_ns: i64,
    last_send_ns: i64,
    sends: u32,
    provisional: bool,
    final_status: Option<u16>,
    final_frame: u64,
    acked: bool,
    spacing_reported: bool,
    tcp_reported: bool,
}

#[derive(Debug, Clone)]
struct Redirect {
    frame: u64,
    status: String,
    contacts: Vec<String>,
    from_tag: String,
    cseq: u32,
    followed: bool,
}

#[derive(Debug, Clone)]
struct Refer {
    frame: u64,
    cseq: u32,
    key: String,
    sub_false: bool,
    accepted: Option<(u64, i64, String)>,
    no_sub: bool,
    notified: bool,
    terminated: bool,
    outcome_reported: bool,
    late_reported: bool,
}

/// A call: every message with one Call-ID, with what was found in it.
#[derive(Debug, Clone)]
pub struct Call {
    /// The Call-ID.
    pub call_id: String,
    /// The messages, in capture order (at most
    /// [`Config::max_messages_per_call`]).
    pub messages: Vec<MessageRecord>,
    /// Messages not kept because the call had too many.
    pub dropped_messages: u64,
    /// What was found.
    pub findings: Vec<Finding>,
    /// Other calls this one is linked to (a transfer's new call, or a
    /// redirect retry that changed the Call-ID).
    pub links: Vec<String>,
    /// How it ended (set when the call is handed out).
    pub outcome: Outcome,
    /// The From URI of the first request seen.
    pub from: String,
    /// The To URI of the first request seen.
    pub to: String,
    /// Capture time of the first and last message, ns.
    pub first_ns: i64,
    /// Capture time of the last message, ns.
    pub last_ns: i64,
    txs: Vec<Tx>,
    redirects: Vec<Redirect>,
    tried: Vec<Arc<str>>,
    refers: Vec<Refer>,
    /// The request (method, Request-URI) challenged last and how often in a row.
    challenge: Option<(Cow<'static, str>, Arc<str>, u32)>,
    auth_reported: bool,
    answered: bool,
    bye_done: bool,
    /// When the call's first initial INVITE was sent (the start of setup).
    first_invite_ns: Option<i64>,
    /// Header values read before in this call.
    memo: Memo,
    /// The time of this call's entry in [`Analyzer`]'s `due` queue (at
    /// most `last_ns`).
    due_ns: i64,
}

impl Call {
    fn new(call_id: &str, ts_ns: i64) -> Self {
        Call {
            call_id: call_id.to_owned(),
            messages: Vec::with_capacity(8),
            dropped_messages: 0,
            findings: Vec::new(),
            links: Vec::new(),
            outcome: Outcome::Incomplete,
            from: String::new(),
            to: String::new(),
            first_ns: ts_ns,
            last_ns: ts_ns,
            txs: Vec::new(),
            redirects: Vec::new(),
            tried: Vec::new(),
            refers: Vec::new(),
            challenge: None,
            auth_reported: false,
            answered: false,
            bye_done: false,
            first_invite_ns: None,
            memo: Memo::default(),
            due_ns: ts_ns,
        }
    }

    /// The frame of the first message.
    pub fn first_frame(&self) -> u64 {
        self.messages.first().map_or(0, |m| m.frame)
    }

    /// True once nothing more is expected: no open transaction, no
    /// established dialog, no subscription waiting for its NOTIFY.
    fn quiescent(&self, now: i64, cfg: &Config) -> bool {
        let open_tx = self
            .txs
            .iter()
            .any(|t| t.final_status.is_none() && now - t.first_ns < cfg.timer_b());
        let dialog_up = self.answered && !self.bye_done;
        let sub_pending = self.refers.iter().any(|r| {
            r.accepted
                .as_ref()
                .is_some_and(|(_, at, _)| !r.no_sub && !r.terminated && now - at < cfg.timer_b())
        });
        !open_tx && !dialog_up && !sub_pending
    }

    fn add(&mut self, f: Finding) {
        self.findings.push(f);
    }
}

/// Counts over the whole capture.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Frames read.
    pub packets: u64,
    /// SIP messages recognised (valid or not).
    pub sip_messages: u64,
    /// Requests per method, retransmissions included (as `tshark -z sip,stat`).
    pub requests: BTreeMap<String, u64>,
    /// Responses per status code, retransmissions included.
    pub responses: BTreeMap<u16, u64>,
    /// Reason phrase seen first for each code.
    pub reasons: BTreeMap<u16, String>,
    /// Requests and final responses recognised as retransmissions.
    pub retransmissions: u64,
    /// Request to first final response, per method.
    pub response_time: BTreeMap<String, Histogram>,
    /// INVITE to 2xx of answered initial INVITEs.
    pub setup_time: Histogram,
    /// Findings per kind.
    pub findings: BTreeMap<FindingId, u64>,
    /// Calls handed out.
    pub calls: u64,
    /// Capture time of the first and last frame, ns.
    pub first_ns: Option<i64>,
    /// Capture time of the last frame.
    pub last_ns: i64,
    /// Per second of capture time: requests (first copies) and failure
    /// responses (final 4xx–6xx), at most [`MAX_SECONDS`] seconds.
    pub per_second: Vec<(u32, u32)>,
    /// Frames whose link type is not decoded.
    pub unknown_link: u64,
    /// Frames that are not IP or do not slice.
    pub not_ip: u64,
    /// UDP/TCP payloads that are not SIP.
    pub not_sip: u64,
    /// TCP segments whose bytes had been seen (TCP-level retransmissions).
    pub tcp_retransmitted_segments: u64,
    /// IP datagrams given up while defragmenting (budget or timeout).
    pub defrag_dropped: u64,
    /// Findings that belong to no call (a message without a Call-ID).
    pub orphan_findings: Vec<Finding>,
}

/// Longest capture (in seconds) the per-second series covers.
pub const MAX_SECONDS: usize = 1_000_000;

impl Summary {
    fn second(&mut self, ts_ns: i64) -> Option<&mut (u32, u32)> {
        let first = self.first_ns?;
        let s = usize::try_from((ts_ns - first) / 1_000_000_000).ok()?;
        if s >= MAX_SECONDS {
            return None;
        }
        if self.per_second.len() <= s {
            self.per_second.resize(s + 1, (0, 0));
        }
        self.per_second.get_mut(s)
    }
}

/// The call analyzer: feed it messages with [`Analyzer::message`] (and
/// frames with [`Analyzer::tick`]), take finished calls with
/// [`Analyzer::poll_call`], and call [`Analyzer::finish`] at the end.
#[derive(Debug, Default)]
pub struct Analyzer {
    cfg: Config,
    /// Boxed: a `Call` is a few hundred bytes, and moves from here to
    /// `ready` to the caller.
    calls: Calls,
    ready: VecDeque<Box<Call>>,
    /// Every open call by a time at most its `last_ns`, oldest first, so a
    /// sweep looks only at the calls quiet long enough to be finished, not
    /// at all of them (entries a call has left behind are skipped).
    due: BinaryHeap<Reverse<(i64, String)>>,
    summary: Summary,
    now_ns: i64,
    last_sweep_ns: i64,
    /// Recent 3xx targets, to spot a retry that changed its Call-ID.
    redirect_targets: RedirectTargets,
    /// Recent REFERs: (Refer-To URI, Call-ID, time, the transferee's address).
    refer_targets: ReferTargets,
    /// The transaction key of the message at hand (reused).
    key_buf: String,
    /// The reason phrase last seen with each status code (at most one per
    /// code, so bounded), shared by the responses that repeat it.
    reasons: Map<u16, Arc<str>>,
    /// From and To values read without a tag, for every call.
    untagged: Untagged,
}

/// Where a recent 3xx sent its caller.
#[derive(Debug, Clone)]
struct RedirectTarget {
    uri: String,
    call_id: String,
    frame: u64,
    ts_ns: i64,
    from_uri: String,
}

/// Recent 3xx Contact targets by URI and caller (see [`uri_key`]; candidates
/// are then compared by RFC 3261 §19.1.4 URI equality), so a new call's
/// Request-URI is looked up in constant time.
#[derive(Debug, Default)]
struct RedirectTargets {
    by_uri: Map<String, VecDeque<RedirectTarget>>,
    order: VecDeque<(i64, String)>,
}

/// The index key of a redirect target: the target URI without parameters,
/// lowercased, and the caller's From URI (a retry comes from the same caller).
fn uri_key(uri: &str, from_uri: &str) -> String {
    let mut k = uri
        .split([';', '?', '>'])
        .next()
        .unwrap_or("")
        .trim_start_matches('<')
        .to_ascii_lowercase();
    k.push('\0');
    k.push_str(from_uri);
    k
}

impl RedirectTargets {
    fn push(&mut self, uri: &str, t: RedirectTarget) {
        let key = uri_key(uri, &t.from_uri);
        self.order.push_back((t.ts_ns, key.clone()));
        self.by_uri.entry(key).or_default().push_back(t);
    }

    fn expire(&mut self, horizon: i64) {
        while self.order.front().is_some_and(|(ts, _)| *ts < horizon) {
            let Some((_, key)) = self.order.pop_front() else {
                break;
            };
            if let Some(v) = self.by_uri.get_mut(&key) {
                while v.front().is_some_and(|t| t.ts_ns < horizon) {
                    v.pop_front();
                }
                if v.is_empty() {
                    self.by_uri.remove(&key);
                }
            }
        }
    }

    fn find(
        &self,
        ruri: &str,
        from_uri: &str,
        pred: impl Fn(&RedirectTarget) -> bool,
    ) -> Option<&RedirectTarget> {
        self.by_uri
            .get(&uri_key(ruri, from_uri))?
            .iter()
            .rev()
            .find(|t| pred(t) && same_uri(&t.uri, ruri))
    }
}

/// Recent REFERs by the transferee's address: (Refer-To URI, Call-ID, time).
#[derive(Debug, Default)]
struct ReferTargets {
    by_ip: Map<std::net::IpAddr, VecDeque<(String, String, i64)>>,
    order: VecDeque<(i64, std::net::IpAddr)>,
}

impl ReferTargets {
    fn push(&mut self, ip: std::net::IpAddr, t: (String, String, i64)) {
        self.order.push_back((t.2, ip));
        self.by_ip.entry(ip).or_default().push_back(t);
    }

    fn expire(&mut self, horizon: i64) {
        while self.order.front().is_some_and(|(ts, _)| *ts < horizon) {
            let Some((_, ip)) = self.order.pop_front() else {
                break;
            };
            if let Some(v) = self.by_ip.get_mut(&ip) {
                while v.front().is_some_and(|t| t.2 < horizon) {
                    v.pop_front();
                }
                if v.is_empty() {
                    self.by_ip.remove(&ip);
                }
            }
        }
    }
}

/// Most findings kept that belong to no call.
const MAX_ORPHANS: usize = 1000;

/// Distinct request methods counted by name in the summary (requests and
/// response times); the methods seen after that many are counted together
/// under [`OTHER_METHODS`], so a capture of endless invented methods cannot
/// grow the summary. RFC 3261 and its extensions register 14.
pub const MAX_METHODS: usize = 64;

/// The summary's key for the methods beyond [`MAX_METHODS`]: not a method
/// token (RFC 3261 §25.1 has no parentheses in `token`), so it names no
/// real method.
pub const OTHER_METHODS: &str = "(other)";

/// The summary key of `method` in a map that holds `len` keys.
fn method_key(method: &str, len: usize) -> String {
    if len < MAX_METHODS {
        method.to_owned()
    } else {
        OTHER_METHODS.to_owned()
    }
}

impl Analyzer {
    /// An analyzer with these timers.
    pub fn new(cfg: Config) -> Self {
        Analyzer {
            cfg,
            ..Default::default()
        }
    }

    /// The counts so far.
    pub fn summary(&self) -> &Summary {
        &self.summary
    }

    /// Mutable counts, for the packet layers.
    pub fn summary_mut(&mut self) -> &mut Summary {
        &mut self.summary
    }

    /// Calls open now.
    pub fn open_calls(&self) -> usize {
        self.calls.len()
    }

    /// A finished call, if one is ready.
    pub fn poll_call(&mut self) -> Option<Call> {
        self.ready.pop_front().map(|c| *c)
    }

    /// Notes a frame at capture time `ts_ns`; every eighth of
    /// [`Config::linger_ns`] of capture time (at least a second) the open
    /// calls are checked and the finished ones handed out.
    pub fn tick(&mut self, ts_ns: i64) {
        self.summary.packets += 1;
        if self.summary.first_ns.is_none() {
            self.summary.first_ns = Some(ts_ns);
            self.last_sweep_ns = ts_ns;
        }
        self.summary.last_ns = self.summary.last_ns.max(ts_ns);
        self.now_ns = self.now_ns.max(ts_ns);
        if self.now_ns - self.last_sweep_ns >= (self.cfg.linger_ns / 8).max(1_000_000_000) {
            self.last_sweep_ns = self.now_ns;
            self.sweep(false);
        }
    }

    /// Hands out every call still open (end of the capture).
    pub fn finish(&mut self) {
        self.sweep(true);
    }

    fn sweep(&mut self, all: bool) {
        let now = self.now_ns;
        let cfg = self.cfg;
        let horizon = now - cfg.timer_b();
        self.redirect_targets.expire(horizon);
        self.refer_targets.expire(horizon);
        let mut out: Vec<Box<Call>> = Vec::new();
        if all {
            self.due.clear();
            out.extend(self.calls.table.drain());
        } else {
            // A call is finished when quiescent and quiet for `linger_ns`,
            // or quiet for `idle_ns`: never before it is quiet for the
            // shorter of the two.
            let quiet = cfg.linger_ns.min(cfg.idle_ns);
            let mut again = Vec::new();
            while self
                .due
                .peek()
                .is_some_and(|Reverse((t, _))| now - t > quiet)
            {
                let Some(Reverse((t, id))) = self.due.pop() else {
                    break;
                };
                let Some(c) = self.calls.get_mut(id.as_str()) else {
                    continue;
                };
                if c.due_ns != t {
                    continue;
                }
                if (c.quiescent(now, &cfg) && now - c.last_ns > cfg.linger_ns)
                    || now - c.last_ns > cfg.idle_ns
                {
                    out.extend(self.calls.remove(id.as_str()));
                } else {
                    c.due_ns = c.last_ns;
                    again.push(Reverse((c.last_ns, id)));
                }
            }
            self.due.extend(again);
        }
        // Stable, by the first frame: the order the calls began in.
        out.sort_by_cached_key(|c| c.first_frame());
        for mut c in out {
            finalize(&mut c, now, &cfg);
            self.summary.calls += 1;
            for f in &c.findings {
                *self.summary.findings.entry(f.id).or_default() += 1;
            }
            self.ready.push_back(c);
        }
    }

    /// A message that did not parse: a `malformed_message` finding, in its
    /// call if its Call-ID can be read.
    pub fn malformed(&mut self, meta: Meta, bytes: &[u8], error: &ParseError) {
        self.summary.sip_messages += 1;
        let text = error.kind.to_string();
        let f = Finding::new(FindingId::MalformedMessage, vec![meta.frame])
            .arg("error", text.clone())
            .arg("line", error.line.to_string())
            .arg("column", error.column.to_string());
        let call_id = parse_raw(bytes)
            .ok()
            .and_then(|r| r.call_id().ok().map(str::to_owned));
        match call_id {
            Some(id) => {
                let hash = self.calls.hash(&id);
                let call = self.calls.open(&mut self.due, &id, hash, meta.ts_ns);
                push_record(
                    call,
                    &self.cfg,
                    MessageRecord {
                        frame: meta.frame,
                        ts_ns: meta.ts_ns,
                        src: meta.src,
                        dst: meta.dst,
                        transport: meta.transport,
                        kind: Kind::Malformed { error: text },
                        cseq: (0, Cow::Borrowed("")),
                        retransmission: false,
                    },
                );
                call.add(f);
            }
            None => {
                *self.summary.findings.entry(f.id).or_default() += 1;
                if self.summary.orphan_findings.len() < MAX_ORPHANS {
                    self.summary.orphan_findings.push(f);
                }
            }
        }
    }

    /// One parsed SIP message.
    pub fn message(&mut self, meta: Meta, msg: &Message<'_>) {
        self.view(meta, &View::of_message(msg));
    }

    /// One split message ([`sipkit_message::parse_raw`]): read as
    /// [`View::of_raw`] reads it — the error of that read if it fails,
    /// and then nothing is recorded — with the header values its call has
    /// shown before compared rather than parsed again.
    pub fn raw_message(&mut self, meta: Meta, raw: &RawMessage<'_>) -> Result<(), ParseError> {
        // The call's values, looked up by the Call-ID as written (a value
        // that is not a valid Call-ID finds nothing, and fails the read).
        // Hashed once: the call is found again by the same hash.
        let id = raw
            .header(HeaderName::CallId)
            .map(|h| (h.value, self.calls.hash(h.value)));
        let found = id
            .and_then(|(id, hash)| self.calls.find_mut(id, hash))
            .map(|c| std::mem::take(&mut c.memo));
        let known = found.is_some();
        let mut memo = found.unwrap_or_default();
        let view = View::of_raw_memo(raw, &mut memo, &mut self.untagged, known)?;
        // The read Call-ID is the value as written (the same bytes) when
        // the value was valid as written.
        let hash = id.filter(|(id, _)| *id == view.call_id).map(|(_, h)| h);
        self.view_with(meta, &view, Some(memo), hash);
        Ok(())
    }

    /// One SIP message, as read by [`View::of_message`] or [`View::of_raw`].
    pub fn view(&mut self, meta: Meta, msg: &View<'_, '_>) {
        self.view_with(meta, msg, None, None);
    }

    /// [`Analyzer::view`], with the call's memo and the Call-ID's hash
    /// when the caller has them.
    fn view_with(&mut self, meta: Meta, msg: &View<'_, '_>, memo: Option<Memo>, hash: Option<u64>) {
        self.summary.sip_messages += 1;
        let call_id = msg.call_id;
        let cseq = msg.cseq;
        let mut key = std::mem::take(&mut self.key_buf);
        tx_key(msg, &mut key);
        let key_hash = hash_key(&key);
        let mut new_request = false;
        let mut record = MessageRecord {
            frame: meta.frame,
            ts_ns: meta.ts_ns,
            src: meta.src,
            dst: meta.dst,
            transport: meta.transport,
            kind: Kind::Malformed {
                error: String::new(),
            },
            cseq: (cseq.seq, intern_method(cseq.method)),
            retransmission: false,
        };
        let cseq_method = record.cseq.1.clone();
        let cfg = self.cfg;
        let mut links: Vec<(String, String, Option<u64>)> = Vec::new();
        let hash = hash.unwrap_or_else(|| self.calls.hash(call_id));
        let call = self.calls.open(&mut self.due, call_id, hash, meta.ts_ns);
        if let Some(memo) = memo {
            call.memo = memo;
        }
        match msg.start {
            StartView::Request { method, uri } => {
                if call.from.is_empty() {
                    call.from = msg.from_uri.to_owned();
                    call.to = msg.to_uri.to_owned();
                }
                match self.summary.requests.get_mut(method) {
                    Some(n) => *n += 1,
                    None => {
                        let key = method_key(method, self.summary.requests.len());
                        *self.summary.requests.entry(key).or_default() += 1;
                    }
                }
                // The URI of a recent transaction of the call, if the same.
                let uri = match call.txs.iter().rev().take(4).find(|t| &*t.ruri == uri) {
                    Some(t) => Arc::clone(&t.ruri),
                    None => Arc::from(uri),
                };
                // A request's CSeq method is its method (checked by the reads).
                let method_name = if cseq_method == method {
                    cseq_method.clone()
                } else {
                    intern_method(method)
                };
                record.kind = Kind::Request {
                    method: method_name.clone(),
                    uri: Arc::clone(&uri),
                };
                if method == "ACK" {
                    on_ack(call, &key, key_hash, cseq.seq);
                } else if let Some(tx) = call
                    .txs
                    .iter_mut()
                    .rev()
                    .find(|t| t.key_hash == key_hash && t.key == key)
                {
                    // Keys are unique in a call (a transaction is added only
                    // when none has its key), so the newest first is no
                    // other answer, only a shorter search.
                    record.retransmission = true;
                    self.summary.retransmissions += 1;
                    if let Some(f) = request_retransmission(tx, &meta, &cfg) {
                        call.add(f);
                    }
                } else {
                    new_request = true;
                    let tx = Tx {
                        key: key.clone(),
                        key_hash,
                        method: method_name,
                        cseq: cseq.seq,
                        ruri: uri,
                        // Only a redirect of an INVITE reads it.
                        from_tag: if method == "INVITE" {
                            msg.from_tag.unwrap_or("").to_owned()
                        } else {
                            String::new()
                        },
                        initial: msg.to_tag.is_none(),
                        transport: meta.transport,
                        first_frame: meta.frame,
                        first_ns: meta.ts_ns,
                        last_send_ns: meta.ts_ns,
                        sends: 1,
                        provisional: false,
                        final_status: None,
                        final_frame: 0,
                        acked: false,
                        spacing_reported: false,
                        tcp_reported: false,
                    };
                    if method == "INVITE" && tx.initial && call.first_invite_ns.is_none() {
                        call.first_invite_ns = Some(meta.ts_ns);
                    }
                    call.txs.push(tx);
                    on_new_request(
                        call,
                        msg,
                        &meta,
                        &key,
                        &mut self.redirect_targets,
                        &mut self.refer_targets,
                        &mut links,
                        &cfg,
                    );
                }
            }
            StartView::Response { status, reason } => {
                match self.summary.responses.get_mut(&status) {
                    Some(n) => *n += 1,
                    None => {
                        self.summary.responses.insert(status, 1);
                        self.summary.reasons.insert(status, reason.to_owned());
                    }
                }
                record.kind = Kind::Response {
                    status,
                    reason: match self.reasons.get(&status) {
                        Some(r) if **r == *reason => Arc::clone(r),
                        _ => {
                            let r: Arc<str> = Arc::from(reason);
                            self.reasons.insert(status, Arc::clone(&r));
                            r
                        }
                    },
                };
                if let Some(i) = call
                    .txs
                    .iter()
                    .rposition(|t| t.key_hash == key_hash && t.key == key)
                {
                    let tx = &mut call.txs[i];
                    if status < 200 {
                        tx.provisional = true;
                    } else if tx.final_status.is_some() {
                        record.retransmission = true;
                        self.summary.retransmissions += 1;
                        let invite_2xx = tx.method == "INVITE" && status < 300;
                        if meta.transport == Transport::Tcp && !invite_2xx && !tx.tcp_reported {
                            tx.tcp_reported = true;
                            let f = Finding::new(
                                FindingId::RetransmissionOverTcp,
                                vec![tx.final_frame, meta.frame],
                            )
                            .arg("method", format!("{status} {reason}"))
                            .arg("transport", meta.transport.as_str());
                            call.add(f);
                        }
                    } else {
                        tx.final_status = Some(status);
                        tx.final_frame = meta.frame;
                        let rt = meta.ts_ns - tx.first_ns;
                        match self.summary.response_time.get_mut(tx.method.as_ref()) {
                            Some(h) => h.record_ns(rt),
                            None => {
                                let len = self.summary.response_time.len();
                                self.summary
                                    .response_time
                                    .entry(method_key(&tx.method, len))
                                    .or_default()
                                    .record_ns(rt);
                            }
                        }
                        // Setup time: from the call's first INVITE (before any
                        // redirect or challenge) to the 2xx, once per call.
                        if tx.method == "INVITE" && (200..300).contains(&status) && tx.initial {
                            if let Some(start) = call.first_invite_ns.take() {
                                self.summary.setup_time.record_ns(meta.ts_ns - start);
                            }
                        }
                        if status >= 400 {
                            if let Some(s) = self.summary.second(meta.ts_ns) {
                                s.1 += 1;
                            }
                        }
                        on_final(call, i, msg, &meta, &mut self.redirect_targets, &cfg);
                    }
                }
            }
        }
        if new_request {
            if let Some(s) = self.summary.second(meta.ts_ns) {
                s.0 += 1;
            }
        }
        push_record(call, &cfg, record);
        self.key_buf = key;
        for (a, b, redirect) in links {
            if let Some(frame) = redirect {
                if let Some(c) = self.calls.get_mut(a.as_str()) {
                    for r in c.redirects.iter_mut().filter(|r| r.frame == frame) {
                        r.followed = true;
                    }
                }
            }
            for (x, y) in [(&a, &b), (&b, &a)] {
                if let Some(c) = self.calls.get_mut(x.as_str()) {
                    if !c.links.contains(y) {
                        c.links.push(y.clone());
                    }
                }
            }
        }
    }
}

/// The open calls by Call-ID, found by a hash the caller computes once
/// per message ([`Calls::hash`]).
#[derive(Debug, Default)]
struct Calls {
    table: hashbrown::HashTable<Box<Call>>,
    state: foldhash::fast::RandomState,
}

impl Calls {
    fn hash(&self, id: &str) -> u64 {
        use std::hash::BuildHasher as _;
        self.state.hash_one(id)
    }

    fn len(&self) -> usize {
        self.table.len()
    }

    fn find_mut(&mut self, id: &str, hash: u64) -> Option<&mut Call> {
        self.table
            .find_mut(hash, |c| c.call_id == id)
            .map(|c| &mut **c)
    }

    fn get_mut(&mut self, id: &str) -> Option<&mut Call> {
        self.find_mut(id, self.hash(id))
    }

    fn remove(&mut self, id: &str) -> Option<Box<Call>> {
        let hash = self.hash(id);
        let entry = self.table.find_entry(hash, |c| c.call_id == id).ok()?;
        Some(entry.remove().0)
    }

    /// The call `id` (whose hash is `hash`), opened if new, and seen at
    /// `ts_ns`: its `last_ns`, and its place in `due` when that time is
    /// earlier than its entry's (a capture is not always in time order).
    fn open<'c>(
        &'c mut self,
        due: &mut BinaryHeap<Reverse<(i64, String)>>,
        id: &str,
        hash: u64,
        ts_ns: i64,
    ) -> &'c mut Call {
        let Calls { table, state } = self;
        let rehash = |c: &Call| {
            use std::hash::BuildHasher as _;
            state.hash_one(c.call_id.as_str())
        };
        let call = match table.entry(hash, |c| c.call_id == id, |c| rehash(c)) {
            hashbrown::hash_table::Entry::Occupied(o) => o.into_mut(),
            hashbrown::hash_table::Entry::Vacant(v) => {
                due.push(Reverse((ts_ns, id.to_owned())));
                v.insert(Box::new(Call::new(id, ts_ns))).into_mut()
            }
        };
        call.last_ns = ts_ns;
        if ts_ns < call.due_ns {
            call.due_ns = ts_ns;
            due.push(Reverse((ts_ns, id.to_owned())));
        }
        call
    }
}

/// The methods of RFC 3261 and its extensions, kept without allocating.
const METHODS: [&str; 14] = [
    "INVITE",
    "ACK",
    "BYE",
    "CANCEL",
    "OPTIONS",
    "REGISTER",
    "PRACK",
    "SUBSCRIBE",
    "NOTIFY",
    "PUBLISH",
    "INFO",
    "REFER",
    "MESSAGE",
    "UPDATE",
];

fn intern_method(m: &str) -> Cow<'static, str> {
    match METHODS.iter().find(|k| **k == m) {
        Some(k) => Cow::Borrowed(k),
        None => Cow::Owned(m.to_owned()),
    }
}

fn push_record(call: &mut Call, cfg: &Config, record: MessageRecord) {
    if call.messages.len() < cfg.max_messages_per_call {
        call.messages.push(record);
    } else {
        call.dropped_messages += 1;
    }
}

/// The transaction a message belongs to, as one string: the RFC 3261 key
/// (CSeq method — INVITE for an ACK — and top Via branch, §17.1.3) from
/// `sipkit_transaction`, or, when the branch is not an RFC 3261 one, the
/// RFC 2543 fields a response shares with its request (Call-ID is the call;
/// CSeq number and method, From tag).
/// The RFC 3261 branch prefix (§8.1.1.7).
const MAGIC_COOKIE: &str = "z9hG4bK";

fn tx_key(msg: &View<'_, '_>, key: &mut String) {
    use std::fmt::Write as _;
    key.clear();
    // What `TransactionKey::of_parsed` keys on, read from the one Via
    // parse: a response's client key is its CSeq method and branch; a
    // request's server key, under its method (INVITE for an ACK), has a
    // branch only when it is longer than the magic cookie (else RFC 2543).
    // The branch is lowercased as the key writes it.
    if let Some(b) = msg.branch.filter(|b| b.starts_with(MAGIC_COOKIE)) {
        let method = match msg.start {
            StartView::Request { method, .. } if b.len() > MAGIC_COOKIE.len() => match method {
                "ACK" => Some("INVITE"),
                m => Some(m),
            },
            StartView::Request { .. } => None,
            StartView::Response { .. } => Some(msg.cseq.method),
        };
        if let Some(m) = method {
            key.push_str(m);
            key.push('\0');
            let at = key.len();
            key.push_str(b);
            key[at..].make_ascii_lowercase();
            return;
        }
    }
    let cseq = msg.cseq;
    let method = if cseq.method == "ACK" {
        "INVITE"
    } else {
        cseq.method
    };
    let _ = write!(
        key,
        "2543\0{}\0{}\0{}",
        cseq.seq,
        method,
        msg.from_tag.unwrap_or("")
    );
}

/// The hash of a transaction key kept beside it (a fixed seed: only equal
/// keys must have equal hashes).
fn hash_key(key: &str) -> u64 {
    use std::hash::BuildHasher as _;
    foldhash::fast::FixedState::with_seed(0).hash_one(key)
}

/// A request seen again in its transaction: checks it against the
/// retransmission rules of RFC 3261 §17.1.1.2 (Timer A) and §17.1.2.2
/// (Timer E): over UDP the interval starts at T1 and doubles, capped at T2
/// for non-INVITE (and T2 once a provisional arrived); over TCP nothing is
/// retransmitted.
fn request_retransmission(tx: &mut Tx, meta: &Meta, cfg: &Config) -> Option<Finding> {
    let interval = meta.ts_ns - tx.last_send_ns;
    tx.last_send_ns = meta.ts_ns;
    tx.sends += 1;
    if meta.transport == Transport::Tcp || tx.transport == Transport::Tcp {
        if tx.tcp_reported {
            return None;
        }
        tx.tcp_reported = true;
        return Some(
            Finding::new(
                FindingId::RetransmissionOverTcp,
                vec![tx.first_frame, meta.frame],
            )
            .arg("method", tx.method.clone())
            .arg("transport", Transport::Tcp.as_str()),
        );
    }
    if tx.spacing_reported {
        return None;
    }
    let invite = tx.method == "INVITE";
    let k = tx.sends.saturating_sub(2).min(30);
    let doubled = cfg.t1_ns.saturating_mul(1i64 << k);
    let expected = if invite {
        doubled
    } else if tx.provisional {
        cfg.t2_ns
    } else {
        doubled.min(cfg.t2_ns)
    };
    // Allowed: half to one and a half times the interval, plus 50 ms of
    // capture jitter.
    let slack = 50_000_000;
    if interval * 2 >= expected && interval <= expected + expected / 2 + slack {
        return None;
    }
    tx.spacing_reported = true;
    Some(
        Finding::new(
            FindingId::RetransmissionSpacing,
            vec![tx.first_frame, meta.frame],
        )
        .arg("method", tx.method.clone())
        .arg("actual", (interval / 1_000_000).to_string())
        .arg("expected", (expected / 1_000_000).to_string())
        .arg("timer", if invite { "A" } else { "E" })
        .arg("cap", if invite { "" } else { ", T2 = 4 s" }),
    )
}

/// An ACK: for a non-2xx final it is part of the INVITE transaction
/// (§17.1.1.3); for a 2xx it is its own transaction and acknowledges the
/// INVITE with the same CSeq number (§13.2.2.4).
fn on_ack(call: &mut Call, key: &str, key_hash: u64, seq: u32) {
    if call
        .txs
        .iter()
        .any(|t| t.key_hash == key_hash && t.key == key)
    {
        return;
    }
    for t in call.txs.iter_mut() {
        if t.method == "INVITE" && t.cseq == seq && t.final_status.is_some_and(|s| s < 300) {
            t.acked = true;
        }
    }
}

fn same_uri(a: &str, b: &str) -> bool {
    match (Uri::parse(a), Uri::parse(b)) {
        (Ok(x), Ok(y)) => uri_eq(&x, &y),
        _ => a.eq_ignore_ascii_case(b),
    }
}

#[allow(clippy::too_many_arguments)]
fn on_new_request(
    call: &mut Call,
    msg: &View<'_, '_>,
    meta: &Meta,
    key: &str,
    redirect_targets: &mut RedirectTargets,
    refer_targets: &mut ReferTargets,
    links: &mut Vec<(String, String, Option<u64>)>,
    cfg: &Config,
) {
    let StartView::Request { method, uri: ruri } = msg.start else {
        return;
    };
    let cseq = msg.cseq.seq;
    let from_tag = msg.from_tag.unwrap_or("");
    match method {
        "INVITE" => {
            // A retry after a redirect in this call (§8.1.3.4).
            if let Some(r) = call.redirects.iter_mut().rev().find(|r| !r.followed) {
                r.followed = true;
                let matches = r.contacts.iter().any(|c| same_uri(c, ruri));
                let (p0, status) = (r.frame, r.status.clone());
                let mut reasons = Vec::new();
                if r.from_tag != from_tag {
                    reasons.push("@from_tag_changed");
                }
                if cseq <= r.cseq {
                    reasons.push("@cseq_not_higher");
                }
                if !matches {
                    reasons.push("@uri_not_contact");
                }
                if matches {
                    call.add(
                        Finding::new(FindingId::RedirectFollowed, vec![p0, meta.frame])
                            .arg("status", status)
                            .arg("target", ruri),
                    );
                }
                for reason in reasons {
                    call.add(
                        Finding::new(FindingId::RedirectRetryInvalid, vec![p0, meta.frame])
                            .arg("reason", reason),
                    );
                }
            } else if msg.to_tag.is_none() && call.txs.len() == 1 {
                // A new call whose Request-URI a recent 3xx of another call
                // pointed to, from the same caller: a retry with a new Call-ID.
                let from_uri = msg.from_uri;
                let found = redirect_targets
                    .find(ruri, from_uri, |t| t.call_id != call.call_id)
                    .map(|t| (t.call_id.clone(), t.frame));
                if let Some((other, p0)) = &found {
                    call.add(
                        Finding::new(FindingId::RedirectFollowed, vec![*p0, meta.frame])
                            .arg("status", "3xx")
                            .arg("target", ruri),
                    );
                    call.add(
                        Finding::new(FindingId::RedirectRetryInvalid, vec![*p0, meta.frame])
                            .arg("reason", "@call_id_changed"),
                    );
                    links.push((other.clone(), call.call_id.clone(), Some(*p0)));
                }
            }
            // The transferee's INVITE to the Refer-To target (RFC 3515 §2.4.3):
            // the first request of a new call, sent by the REFER's recipient,
            // to the Refer-To URI or carrying Referred-By.
            if msg.to_tag.is_none() && call.txs.len() == 1 {
                let referred = msg.head.referred_by().ok().flatten().is_some();
                let src = meta.src.ip();
                if let Some((_, other, _)) = refer_targets.by_ip.get(&src).and_then(|v| {
                    v.iter()
                        .rev()
                        .find(|t| t.1 != call.call_id && (referred || same_uri(&t.0, ruri)))
                }) {
                    links.push((other.clone(), call.call_id.clone(), None));
                }
            }
            if let Some(t) = call.txs.last() {
                let uri = Arc::clone(&t.ruri);
                call.tried.push(uri);
            }
        }
        "REFER" => {
            let refer_to = msg
                .head
                .refer_to()
                .ok()
                .flatten()
                .map(|n| n.uri.as_str().to_owned())
                .unwrap_or_default();
            let sub_false = msg
                .head
                .header_value("Refer-Sub")
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("false"));
            if !refer_to.is_empty() {
                refer_targets.push(meta.dst.ip(), (refer_to, call.call_id.clone(), meta.ts_ns));
            }
            call.refers.push(Refer {
                frame: meta.frame,
                cseq,
                key: key.to_owned(),
                sub_false,
                accepted: None,
                no_sub: false,
                notified: false,
                terminated: false,
                outcome_reported: false,
                late_reported: false,
            });
        }
        "NOTIFY" => {
            let Some(event) = msg.head.event().ok().flatten() else {
                return;
            };
            if !event.package.eq_ignore_ascii_case("refer") {
                return;
            }
            let id = event.id().and_then(|s| s.parse::<u32>().ok());
            // `Event: refer;id=<REFER CSeq>` names the REFER (RFC 3515 §2.4.6);
            // without an id it is the only (latest) one.
            let at = match id {
                Some(id) => call.refers.iter().rposition(|r| r.cseq == id),
                None => call.refers.len().checked_sub(1),
            };
            if let Some(refer) = at.and_then(|i| call.refers.get_mut(i)) {
                apply_notify(refer, msg, meta, cfg, &mut call.findings);
            }
        }
        _ => {}
    }
}

/// A NOTIFY of the REFER's implicit subscription: its sipfrag body carries
/// the status of the transferee's request (RFC 3515 §2.4.5).
fn apply_notify(
    refer: &mut Refer,
    msg: &View<'_, '_>,
    meta: &Meta,
    cfg: &Config,
    findings: &mut Vec<Finding>,
) {
    if !refer.notified {
        if let Some((accept_frame, at, status)) = &refer.accepted {
            if meta.ts_ns - at > cfg.timer_b() && !refer.late_reported {
                refer.late_reported = true;
                findings.push(
                    Finding::new(
                        FindingId::TransferNoNotify,
                        vec![refer.frame, *accept_frame],
                    )
                    .arg("status", status.clone()),
                );
            }
        }
    }
    refer.notified = true;
    if msg
        .head
        .subscription_state()
        .ok()
        .flatten()
        .is_some_and(|s| s.state.eq_ignore_ascii_case("terminated"))
    {
        refer.terminated = true;
    }
    let Some(Ok(frag)) = msg.head.sipfrag() else {
        return;
    };
    let Some(sipkit_message::StartLine::Response { status, reason }) = frag.start else {
        return;
    };
    if status < 200 || refer.outcome_reported {
        return;
    }
    refer.outcome_reported = true;
    let id = if status < 300 {
        FindingId::TransferSucceeded
    } else {
        FindingId::TransferFailed
    };
    findings.push(
        Finding::new(id, vec![refer.frame, meta.frame])
            .arg("frag", format!("SIP/2.0 {status} {reason}")),
    );
}

/// A transaction's first final response (`call.txs[i]`).
fn on_final(
    call: &mut Call,
    i: usize,
    msg: &View<'_, '_>,
    meta: &Meta,
    redirect_targets: &mut RedirectTargets,
    _cfg: &Config,
) {
    let StartView::Response { status, reason } = msg.start else {
        return;
    };
    let status_text = || format!("{status} {reason}");
    let Some(t) = call.txs.get(i) else {
        return;
    };
    let (first_frame, cseq) = (t.first_frame, t.cseq);
    let method = match t.method.as_ref() {
        "INVITE" => "INVITE",
        "BYE" => "BYE",
        "REFER" => "REFER",
        _ => "",
    };
    // Challenges (RFC 3261 §22.2, §22.3): the same request challenged again
    // and again means the credentials are refused.
    let same = call
        .challenge
        .as_ref()
        .is_some_and(|(m, u, _)| *m == t.method && *u == t.ruri);
    if status == 401 || status == 407 {
        let n = match &call.challenge {
            Some((_, _, n)) if same => n + 1,
            _ => 1,
        };
        let (m, u) = (t.method.clone(), Arc::clone(&t.ruri));
        call.challenge = Some((m.clone(), Arc::clone(&u), n));
        if n >= 3 && !call.auth_reported {
            call.auth_reported = true;
            call.add(
                Finding::new(FindingId::AuthLoop, vec![first_frame, meta.frame])
                    .arg("method", m)
                    .arg("target", &*u)
                    .arg("count", n.to_string()),
            );
        }
    } else if same {
        call.challenge = None;
    }
    match method {
        "INVITE" if (300..400).contains(&status) => {
            let contacts: Vec<String> = msg
                .head
                .contacts()
                .filter_map(Result::ok)
                .filter_map(|c| c.address().map(|a| a.uri.as_str().to_owned()))
                .collect();
            if let Some(back) = contacts
                .iter()
                .find(|c| call.tried.iter().any(|t| same_uri(t, c)))
            {
                call.add(
                    Finding::new(FindingId::RedirectLoop, vec![meta.frame])
                        .arg("target", back.clone()),
                );
            }
            let from_uri = msg.from_uri.to_owned();
            for c in &contacts {
                redirect_targets.push(
                    c,
                    RedirectTarget {
                        uri: c.clone(),
                        call_id: call.call_id.clone(),
                        frame: meta.frame,
                        ts_ns: meta.ts_ns,
                        from_uri: from_uri.clone(),
                    },
                );
            }
            call.redirects.push(Redirect {
                frame: meta.frame,
                status: status_text(),
                contacts,
                from_tag: call
                    .txs
                    .get(i)
                    .map(|t| t.from_tag.clone())
                    .unwrap_or_default(),
                cseq,
                followed: false,
            });
        }
        "INVITE" if status < 300 => call.answered = true,
        "BYE" => call.bye_done = true,
        "REFER" => {
            let Some(key) = call.txs.get(i).map(|t| t.key.as_str()) else {
                return;
            };
            let Some(refer) = call.refers.iter_mut().find(|r| r.key == key) else {
                return;
            };
            if status >= 300 {
                let f = Finding::new(FindingId::TransferRejected, vec![refer.frame, meta.frame])
                    .arg("status", status_text());
                call.add(f);
            } else {
                refer.accepted = Some((meta.frame, meta.ts_ns, status_text()));
                let resp_false = msg
                    .head
                    .header_value("Refer-Sub")
                    .is_some_and(|v| v.trim().eq_ignore_ascii_case("false"));
                if refer.sub_false && resp_false {
                    refer.no_sub = true;
                    let f = Finding::new(FindingId::ReferSubFalse, vec![refer.frame, meta.frame]);
                    call.add(f);
                }
            }
        }
        _ => {}
    }
}

/// Findings that need the whole call, and its outcome.
fn finalize(call: &mut Call, now: i64, cfg: &Config) {
    let mut add = Vec::new();
    for t in &call.txs {
        match t.final_status {
            None => {
                if t.method == "INVITE" {
                    add.push(Finding::new(
                        FindingId::UnansweredInvite,
                        vec![t.first_frame],
                    ));
                }
                if now - t.first_ns >= cfg.timer_b() {
                    add.push(
                        Finding::new(FindingId::TimerExpired, vec![t.first_frame])
                            .arg("method", t.method.clone())
                            .arg("timer", if t.method == "INVITE" { "B" } else { "F" }),
                    );
                }
            }
            Some(s) if t.method == "INVITE" && s < 300 && (200..300).contains(&s) && !t.acked => {
                add.push(
                    Finding::new(FindingId::NoAckFor2xx, vec![t.first_frame, t.final_frame])
                        .arg("status", s.to_string()),
                );
            }
            _ => {}
        }
    }
    for r in &call.redirects {
        if !r.followed {
            add.push(
                Finding::new(FindingId::RedirectNotFollowed, vec![r.frame])
                    .arg("status", r.status.clone())
                    .arg("target", r.contacts.join(", ")),
            );
        }
    }
    for r in &call.refers {
        if let Some((frame, _, status)) = &r.accepted {
            if !r.no_sub && !r.notified {
                add.push(
                    Finding::new(FindingId::TransferNoNotify, vec![r.frame, *frame])
                        .arg("status", status.clone()),
                );
            }
        }
    }
    call.findings.extend(add);
    call.findings
        .sort_by_key(|f| f.packets.first().copied().unwrap_or(0));
    call.outcome = outcome(call);
}

fn outcome(call: &Call) -> Outcome {
    let invites: Vec<&Tx> = call.txs.iter().filter(|t| t.method == "INVITE").collect();
    if !invites.is_empty() {
        if call.answered {
            let transferred = call
                .findings
                .iter()
                .any(|f| f.id == FindingId::TransferSucceeded);
            return if transferred {
                Outcome::Transferred
            } else {
                Outcome::Answered
            };
        }
        return match invites.iter().rev().find_map(|t| t.final_status) {
            Some(s) if (300..400).contains(&s) => Outcome::Redirected,
            Some(487) => Outcome::Cancelled,
            Some(_) => Outcome::Rejected,
            None => Outcome::Unanswered,
        };
    }
    if call.txs.is_empty() {
        return Outcome::Incomplete;
    }
    match call.txs.iter().rev().find_map(|t| t.final_status) {
        Some(s) if s < 300 => Outcome::Completed,
        Some(_) => Outcome::Failed,
        None => Outcome::Unanswered,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sipkit_transaction::TransactionKey;

    /// The key as first written: through `TransactionKey::of_parsed`.
    fn tx_key_via_transaction(msg: &Message<'_>) -> String {
        if msg.top_via().is_ok_and(|v| v.is_rfc3261_branch()) {
            if let Ok(k) = TransactionKey::of_parsed(msg) {
                if let Some(b) = k.branch() {
                    return format!("{}\0{}", k.method(), b);
                }
            }
        }
        let cseq = msg.cseq();
        let method = if cseq.method == "ACK" {
            "INVITE"
        } else {
            cseq.method
        };
        format!(
            "2543\0{}\0{}\0{}",
            cseq.seq,
            method,
            msg.from().tag().unwrap_or("")
        )
    }

    #[test]
    fn tx_key_matches_the_transaction_crate() {
        let branches = [
            "z9hG4bK776asdhds",
            "z9hG4bKAbC",
            "z9hG4bK",
            "Z9HG4BKx",
            "abc",
            "",
        ];
        let starts = [
            ("INVITE sip:b@h SIP/2.0", "1 INVITE"),
            ("ACK sip:b@h SIP/2.0", "1 ACK"),
            ("CANCEL sip:b@h SIP/2.0", "1 CANCEL"),
            ("BYE sip:b@h SIP/2.0", "2 BYE"),
            ("SIP/2.0 200 OK", "1 INVITE"),
            ("SIP/2.0 487 Request Terminated", "1 CANCEL"),
        ];
        for b in branches {
            let via = if b.is_empty() {
                "SIP/2.0/UDP h.example.com:5060".to_owned()
            } else {
                format!("SIP/2.0/UDP H.example.com:5060;branch={b}")
            };
            for (start, cseq) in starts {
                let text = format!(
                    "{start}\r\nVia: {via}\r\nMax-Forwards: 70\r\nTo: <sip:b@h>\r\n\
                     From: <sip:a@h>;tag=ft\r\nCall-ID: c\r\nCSeq: {cseq}\r\nContent-Length: 0\r\n\r\n"
                );
                let msg = sipkit_message::parse(text.as_bytes());
                assert!(msg.is_ok(), "{text}");
                let Ok(msg) = msg else { continue };
                let mut key = String::new();
                tx_key(&View::of_message(&msg), &mut key);
                assert_eq!(key, tx_key_via_transaction(&msg), "{text}");
            }
        }
    }

    /// The due queue hands out exactly the calls a scan of every call
    /// would, at the same sweeps, with timestamps out of order and a call
    /// seen again after it was queued.
    #[test]
    fn sweeps_find_the_calls_a_full_scan_finds() {
        let sec = 1_000_000_000i64;
        let options = |id: &str| {
            format!(
                "OPTIONS sip:b@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK{id}\r\n\
                 Max-Forwards: 70\r\nTo: <sip:b@h>\r\nFrom: <sip:a@h>;tag=1\r\n\
                 Call-ID: {id}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
            )
        };
        let ok = |id: &str| {
            format!(
                "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK{id}\r\n\
                 To: <sip:b@h>;tag=2\r\nFrom: <sip:a@h>;tag=1\r\n\
                 Call-ID: {id}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
            )
        };
        // (time s, message): "b" is seen back in time, "c" is answered late.
        let script = [
            (100, options("a")),
            (101, ok("a")),
            (40, options("b")),
            (41, ok("b")),
            (102, options("c")),
            (130, ok("c")),
            (140, options("d")),
        ];
        let mut a = Analyzer::new(Config::default());
        let mut out: Vec<(i64, String)> = Vec::new();
        let meta = |t: i64| Meta {
            frame: 1,
            ts_ns: t * sec,
            src: "192.0.2.1:5060"
                .parse()
                .unwrap_or(SocketAddr::from(([0; 4], 0))),
            dst: "192.0.2.2:5060"
                .parse()
                .unwrap_or(SocketAddr::from(([0; 4], 0))),
            transport: Transport::Udp,
        };
        let drain = |a: &mut Analyzer, t: i64, out: &mut Vec<(i64, String)>| {
            while let Some(c) = a.poll_call() {
                out.push((t, c.call_id));
            }
        };
        for (t, text) in &script {
            a.tick(t * sec);
            drain(&mut a, *t, &mut out);
            let raw = sipkit_message::parse_raw(text.as_bytes());
            let Ok(raw) = raw else { panic!("{text}") };
            assert!(a.raw_message(meta(*t), &raw).is_ok());
        }
        for t in 141..=200 {
            a.tick(t * sec);
            drain(&mut a, t, &mut out);
        }
        // A sweep runs when capture time has moved 4 s (linger / 8) past
        // the last one: at 130 (time jumps from 102), then 134 is never
        // seen, 140, 144, … A call goes out at the first sweep more than
        // 32 s after its last message, once nothing is pending: "b" (last
        // seen at 41, back in time) at 130; "a" (101) at 140; "c" (130) at
        // 164; "d" (140, its OPTIONS unanswered, so pending until Timer F
        // at 172) at 176. A scan of every call at every sweep gives this.
        assert_eq!(
            out,
            [
                (130, "b".to_owned()),
                (140, "a".to_owned()),
                (164, "c".to_owned()),
                (176, "d".to_owned())
            ]
        );
    }

    /// What a read gives: the view's fields (not the head), or the error.
    fn reading(r: Result<View<'_, '_>, ParseError>) -> String {
        match r {
            Ok(v) => format!(
                "{:?} {} {:?} {} {:?} {} {:?} {:?}",
                v.start, v.call_id, v.cseq, v.from_uri, v.from_tag, v.to_uri, v.to_tag, v.branch
            ),
            Err(e) => format!("error {e}"),
        }
    }

    /// Every shape of From, To and Via value, bare and with a tag (or
    /// branch) that is or is not a token, in two messages of a call and in
    /// the first of another: the memo's and [`Untagged`]'s shortcuts read
    /// exactly what the parser reads, errors included.
    #[test]
    fn shortcuts_read_what_the_parser_reads() {
        const ADDRESSES: &[&str] = &[
            "<sip:a@b>",
            "\"A\" <sip:a@b>",
            "A B <sip:a@b;user=phone>",
            "sip:a@b",
            "sip:a@b;user=phone",
            "sip:a@b?h=1",
            "<sip:a@b>;x=\"q;tag=z\"",
            "<sip:a@b>;lr",
            "<sip:a@b>;TAG=y",
            "<sip:a@b>;tag=y",
            "<sip:a@b>;x=[::1]",
            "<sip:a@b>;",
            "<sip:a@b>;x=",
            "<sip:a@b",
            "sip:a@b, sip:c@d",
            "tel:+123",
            "\"unclosed <sip:a@b>",
            "<sip:a@b> ;tag",
        ];
        const VIAS: &[&str] = &[
            "SIP/2.0/UDP 192.0.2.10:5060",
            "SIP/2.0/UDP 192.0.2.10:5060;rport",
            "SIP/2.0/TCP [2001:db8::1]:5060;received=192.0.2.1",
            "SIP/2.0/UDP host.example.com",
            "SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKx",
            "SIP/2.0/UDP 192.0.2.10;BRANCH=z9hG4bKy",
            "SIP/2.0/UDP 192.0.2.10;ttl=300",
            "SIP/2.0/UDP 192.0.2.10:99999",
            "SIP/2.0/UDP 192.0.2.10, SIP/2.0/UDP 192.0.2.11",
            "SIP/2.0/UDP",
            "SIP/2.0/UDP 192.0.2.10;",
            "SIP/2.0/UDP 192.0.2.10;received",
        ];
        const SUFFIXES: &[&str] = &["", "=t1", "=t2", "=", "=a b", "=<x>", "=t1;x"];
        let message = |h: usize, value: &str| {
            let mut v = [
                "<sip:alice@a>;tag=f".to_owned(),
                "<sip:bob@b>".to_owned(),
                "SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1".to_owned(),
            ];
            v[h] = value.to_owned();
            format!(
                "INVITE sip:bob@b SIP/2.0\r\nVia: {}\r\nMax-Forwards: 70\r\nFrom: {}\r\n\
                 To: {}\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n",
                v[2], v[0], v[1]
            )
        };
        for (h, bases, param) in [
            (0, ADDRESSES, ";tag"),
            (1, ADDRESSES, ";tag"),
            (2, VIAS, ";branch"),
        ] {
            for base in bases {
                for a in SUFFIXES {
                    for b in SUFFIXES {
                        let with = |s: &str| match s {
                            "" => (*base).to_owned(),
                            s => format!("{base}{param}{s}"),
                        };
                        let texts = [
                            message(h, &with(a)),
                            message(h, &with(b)),
                            message(h, &with(b)),
                        ];
                        let (mut memo, mut untagged) = (Memo::default(), Untagged::default());
                        for (i, text) in texts.iter().enumerate() {
                            if i == 2 {
                                memo = Memo::default(); // the next call
                            }
                            let Ok(raw) = sipkit_message::parse_raw(text.as_bytes()) else {
                                continue;
                            };
                            assert_eq!(
                                reading(View::of_raw_memo(&raw, &mut memo, &mut untagged, false)),
                                reading(View::of_raw(&raw)),
                                "{text}"
                            );
                        }
                    }
                }
            }
        }
    }
}
