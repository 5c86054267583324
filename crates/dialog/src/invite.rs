//! The INVITE's 2xx and its ACK, which live above the transaction layer
//! (RFC 3261 §13.2.2.4, §13.3.1.4; RFC 6026): the UAS core retransmits its
//! 2xx until the ACK comes, and the UAC core answers every retransmission
//! of the 2xx with the same ACK. Also the INVITEs of one call attempt
//! chain (§8.1.3.4: same Call-ID, From tag and To, a higher CSeq).

use std::time::{Duration, Instant};

use sipkit_message::{HeaderName, RequestBuilder};

/// The timer values the dialog layer uses (RFC 3261 §17.1.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timers {
    /// RTT estimate, 500 ms.
    pub t1: Duration,
    /// Longest retransmit interval, 4 s.
    pub t2: Duration,
}

impl Default for Timers {
    fn default() -> Self {
        Timers {
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
        }
    }
}

/// What the UAS core does when its 2xx timer fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TwoXxAction {
    /// Send the 2xx again.
    Retransmit,
    /// 64·T1 passed without an ACK: RFC 3261 §13.3.1.4 says the UAS
    /// "SHOULD terminate the dialog" — confirm the session and send BYE.
    GiveUp,
}

/// The UAS core's retransmission of its 2xx to an INVITE (RFC 3261
/// §13.3.1.4): "The 2xx response is passed to the transport with an interval
/// that starts at T1 seconds and doubles for each retransmission until it
/// reaches T2 seconds. Response retransmissions cease when an ACK request
/// for the response is received", and after 64·T1 without one the dialog
/// ends. Over a reliable transport nothing is retransmitted, but the wait
/// for the ACK is the same.
///
/// ```
/// use std::time::{Duration, Instant};
/// use sipkit_dialog::{Timers, TwoXxAction, TwoXxRetransmit};
/// # #[allow(clippy::disallowed_methods)]
/// let start = Instant::now();
/// let mut r = TwoXxRetransmit::new(start, Timers::default(), false);
/// let mut sent = vec![];
/// while let Some(at) = r.poll_timeout() {
///     match r.handle_timeout(at) {
///         Some(TwoXxAction::Retransmit) => sent.push((at - start).as_millis()),
///         Some(TwoXxAction::GiveUp) => break,
///         None => {}
///     }
/// }
/// assert_eq!(&sent[..5], &[500, 1500, 3500, 7500, 11500]);
/// ```
#[derive(Debug, Clone)]
pub struct TwoXxRetransmit {
    next: Option<Instant>,
    interval: Duration,
    give_up: Instant,
    t2: Duration,
    acked: bool,
}

impl TwoXxRetransmit {
    /// Starts when the 2xx is first sent at `now`.
    pub fn new(now: Instant, timers: Timers, reliable: bool) -> TwoXxRetransmit {
        let give_up = now + timers.t1 * 64;
        TwoXxRetransmit {
            next: (!reliable).then(|| now + timers.t1),
            interval: timers.t1,
            give_up,
            t2: timers.t2,
            acked: false,
        }
    }

    /// The ACK arrived: stop.
    pub fn on_ack(&mut self) {
        self.acked = true;
    }

    /// True once the ACK arrived.
    pub fn is_acked(&self) -> bool {
        self.acked
    }

    /// The next deadline, `None` when done.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.acked {
            return None;
        }
        Some(self.next.map_or(self.give_up, |n| n.min(self.give_up)))
    }

    /// Fires what is due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) -> Option<TwoXxAction> {
        if self.acked {
            return None;
        }
        if now >= self.give_up {
            self.acked = true; // done either way
            self.next = None;
            return Some(TwoXxAction::GiveUp);
        }
        match self.next {
            Some(n) if now >= n => {
                self.interval = (self.interval * 2).min(self.t2);
                self.next = Some(n + self.interval);
                Some(TwoXxAction::Retransmit)
            }
            _ => None,
        }
    }
}

/// The UAC core's ACK for a 2xx (RFC 3261 §13.2.2.4): built once, sent for
/// the first 2xx and again for each retransmission of that 2xx (which the
/// transaction layer passes up while it is Accepted, RFC 6026 §8.4).
#[derive(Debug, Clone)]
pub struct AckFor2xx {
    call_id: String,
    cseq: u32,
    to_tag: String,
    ack: Vec<u8>,
    sent: usize,
}

impl AckFor2xx {
    /// Keeps `ack`, the ACK for the 2xx of dialog (`call_id`, `to_tag`) to
    /// the INVITE with CSeq `cseq`.
    pub fn new(call_id: &str, cseq: u32, to_tag: &str, ack: Vec<u8>) -> AckFor2xx {
        AckFor2xx {
            call_id: call_id.to_owned(),
            cseq,
            to_tag: to_tag.to_owned(),
            ack,
            sent: 0,
        }
    }

    /// The ACK to send for this 2xx, if it is (a retransmission of) the one
    /// this ACK answers; counts the sends.
    pub fn on_2xx(&mut self, resp: &sipkit_message::Response<'_>) -> Option<&[u8]> {
        let same = resp.call_id() == self.call_id
            && resp.cseq().seq == self.cseq
            && resp.cseq().method == "INVITE"
            && resp.to().tag() == Some(self.to_tag.as_str())
            && (200..300).contains(&resp.status());
        if !same {
            return None;
        }
        self.sent += 1;
        Some(&self.ack)
    }

    /// True if this ACK answers a 2xx to the INVITE (`call_id`, `cseq`),
    /// from any fork: a 2xx with the same Call-ID and CSeq but another To tag
    /// is from another fork (RFC 3261 §13.2.2.4).
    pub fn is_for_invite(&self, call_id: &str, cseq: u32) -> bool {
        self.call_id == call_id && self.cseq == cseq
    }

    /// The ACK bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.ack
    }

    /// How many times it was handed out.
    pub fn sent(&self) -> usize {
        self.sent
    }
}

/// The fixed parts of an outgoing call: the INVITEs of one attempt chain
/// share Call-ID, From (with tag) and To, and each new one — a retry at a
/// redirect's Contact (RFC 3261 §8.1.3.4) — gets the next CSeq.
#[derive(Debug, Clone)]
pub struct CallSetup {
    /// From, with this UA's tag.
    pub from: String,
    /// To: the original target, without a tag.
    pub to: String,
    /// The Call-ID.
    pub call_id: String,
    /// This UA's Contact URI.
    pub contact: String,
    /// Extra headers for every INVITE (User-Agent, Allow, Supported, …).
    pub headers: Vec<(String, String)>,
    /// The body (SDP offer) and its Content-Type, if any.
    pub body: Option<(String, Vec<u8>)>,
    next_seq: u32,
}

impl CallSetup {
    /// A call whose first INVITE has CSeq `first_seq`.
    pub fn new(from: &str, to: &str, call_id: &str, contact: &str, first_seq: u32) -> CallSetup {
        CallSetup {
            from: from.to_owned(),
            to: to.to_owned(),
            call_id: call_id.to_owned(),
            contact: contact.to_owned(),
            headers: Vec::new(),
            body: None,
            next_seq: first_seq,
        }
    }

    /// The CSeq number the next INVITE will get.
    pub fn next_seq(&self) -> u32 {
        self.next_seq
    }

    /// The next INVITE of the chain, to `request_uri`, with `via` (the
    /// whole Via value with a fresh branch: each attempt is a new client
    /// transaction), and its CSeq number.
    pub fn invite(&mut self, request_uri: &str, via: &str) -> (Vec<u8>, u32) {
        let seq = self.next_seq;
        self.next_seq = seq.wrapping_add(1) & 0x7fff_ffff;
        let mut b = RequestBuilder::new("INVITE", request_uri)
            .header(HeaderName::Via, via)
            .header(HeaderName::MaxForwards, "70")
            .header(HeaderName::From, &self.from)
            .header(HeaderName::To, &self.to)
            .header(HeaderName::CallId, &self.call_id)
            .header(HeaderName::CSeq, format!("{seq} INVITE"))
            .header(HeaderName::Contact, format!("<{}>", self.contact));
        for (n, v) in &self.headers {
            b = b.raw_header(n, v);
        }
        if let Some((ct, body)) = &self.body {
            b = b.body(ct, body.clone());
        }
        (b.build(), seq)
    }
}
