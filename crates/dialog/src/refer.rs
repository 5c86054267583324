//! REFER (RFC 3515) and its implicit subscription to the `refer` event
//! package (RFC 6665 rules as RFC 3515 uses them): the NOTIFYs whose
//! `message/sipfrag` body (RFC 3420) carries the status of the referred
//! request, Subscription-State, Referred-By (RFC 3892) and `Refer-Sub:
//! false` (RFC 4488).
//!
//! Two state machines, one per side, both sans-IO:
//! - [`ReferNotifier`] — the transferee (REFER recipient): answers 200
//!   (RFC 7647 §5; 202 only to imitate RFC 3515 equipment), reports the new call's progress as NOTIFY content, ends the
//!   subscription on the final status or when it expires.
//! - [`ReferSubscriber`] — the transferor (REFER issuer): reads the REFER's
//!   response and every NOTIFY, decides the [`Outcome`] and, when NOTIFYs do
//!   not come, a [`Diagnosis`] from what it saw.

use std::time::{Duration, Instant};

use sipkit_message::{Request, Response, Scheme};

/// The Content-Type of a NOTIFY body for the refer package (RFC 3515 §2.4.5).
pub const SIPFRAG: &str = "message/sipfrag;version=2.0";

/// The sipfrag body reporting a status (RFC 3515 §2.4.5: at least the
/// Status-Line), e.g. `SIP/2.0 100 Trying`.
pub fn sipfrag_body(status: u16, reason: &str) -> Vec<u8> {
    format!("SIP/2.0 {status} {reason}\r\n").into_bytes()
}

/// True if a `Refer-Sub` value says `false` (RFC 4488 §4).
pub fn is_refer_sub_false(value: Option<&str>) -> bool {
    value.is_some_and(|v| {
        v.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .eq_ignore_ascii_case("false")
    })
}

/// The status of a body that starts like a Status-Line (`SIP/2.0 200 OK`),
/// whatever its line ending: the fallback when the body is not a valid
/// `message/sipfrag`.
pub fn lenient_status(body: &[u8]) -> Option<u16> {
    let line = body.split(|&c| c == b'\r' || c == b'\n').next()?;
    let line = std::str::from_utf8(line).ok()?;
    let rest = line.trim_start().strip_prefix("SIP/2.0 ")?;
    let code = rest.get(..3)?;
    if rest.len() > 3 && !rest[3..].starts_with(' ') {
        return None;
    }
    code.parse().ok().filter(|c| (100..700).contains(c))
}

// ------------------------------------------------------------ notifier

/// The 2xx a REFER recipient accepts a REFER with.
///
/// RFC 7647 §5 deprecates 202 for REFER: a recipient that accepts a REFER
/// answers 200 and must not send 202. Transferors take both alike, so 202
/// stays available to behave like legacy RFC 3515 equipment in tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AcceptStatus {
    /// `200 OK` (RFC 7647 §5), the default.
    #[default]
    Ok,
    /// `202 Accepted`, as RFC 3515 §2.4.2 had it (legacy).
    Accepted,
}

impl AcceptStatus {
    /// The status code.
    pub fn code(self) -> u16 {
        match self {
            AcceptStatus::Ok => 200,
            AcceptStatus::Accepted => 202,
        }
    }

    /// Its reason phrase (RFC 3261 §21.2, RFC 3515 §2.4.2).
    pub fn reason(self) -> &'static str {
        match self {
            AcceptStatus::Ok => "OK",
            AcceptStatus::Accepted => "Accepted",
        }
    }

    /// The accept status for code 200 or 202; `None` for any other code.
    pub fn from_code(code: u16) -> Option<AcceptStatus> {
        match code {
            200 => Some(AcceptStatus::Ok),
            202 => Some(AcceptStatus::Accepted),
            _ => None,
        }
    }
}

/// How the transferee's notifier behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotifierConfig {
    /// How long the implicit subscription lasts (RFC 3515 §2.4.4 leaves it
    /// to the notifier; it is announced in `Subscription-State: active;expires=`).
    pub duration: Duration,
    /// Honour `Refer-Sub: false` (RFC 4488 norefersub): no subscription, no NOTIFY.
    pub norefersub: bool,
    /// The 2xx to accept a REFER with (200 by default, RFC 7647 §5).
    pub accept: AcceptStatus,
}

impl Default for NotifierConfig {
    fn default() -> Self {
        NotifierConfig {
            duration: Duration::from_secs(60),
            norefersub: true,
            accept: AcceptStatus::Ok,
        }
    }
}

/// Why a REFER is refused, with the status to answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferRefusal {
    /// The status code (400, 416, …).
    pub status: u16,
    /// Its reason phrase.
    pub reason: &'static str,
    /// What was wrong.
    pub why: &'static str,
}

/// An accepted REFER: what to answer and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferAccepted {
    /// 200 (RFC 7647 §5), or 202 when configured to act like RFC 3515 equipment.
    pub status: u16,
    /// The reason phrase of `status`.
    pub reason: &'static str,
    /// Add `Refer-Sub: false` to the 2xx: the subscription is suppressed (RFC 4488 §4).
    pub refer_sub_false: bool,
    /// The Refer-To URI without its `?headers`: the new request's Request-URI.
    pub target: String,
    /// The Refer-To URI's headers (`Replaces=…`), still escaped (RFC 3515 §2.1).
    pub target_headers: Vec<(String, String)>,
    /// The Referred-By value for the new request: copied from the REFER
    /// (RFC 3892 §3), or the REFER's From URI when it had none.
    pub referred_by: String,
    /// The Event value of every NOTIFY: `refer;id=<REFER CSeq>` (RFC 3515 §2.4.6).
    pub event: String,
}

/// What one NOTIFY carries (headers and body); the dialog adds the rest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyContent {
    /// The Event value.
    pub event: String,
    /// The Subscription-State value: `active;expires=N` or `terminated;reason=R`.
    pub subscription_state: String,
    /// [`SIPFRAG`].
    pub content_type: &'static str,
    /// The sipfrag.
    pub body: Vec<u8>,
    /// True for the last NOTIFY of the subscription.
    pub terminal: bool,
}

/// The transferee's side of the implicit subscription (RFC 3515 §2.4.4–2.4.7).
///
/// ```
/// use std::time::Instant;
/// use sipkit_dialog::{ReferNotifier, NotifierConfig};
/// let refer = sipkit_message::parse(b"REFER sip:b@192.0.2.2 SIP/2.0\r\n\
/// Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\nMax-Forwards: 70\r\n\
/// From: <sip:a@192.0.2.1>;tag=a\r\nTo: <sip:b@192.0.2.2>;tag=b\r\nCall-ID: c\r\n\
/// CSeq: 2 REFER\r\nContact: <sip:a@192.0.2.1>\r\nRefer-To: <sip:carol@192.0.2.3>\r\n\
/// Content-Length: 0\r\n\r\n").unwrap();
/// # #[allow(clippy::disallowed_methods)]
/// let now = Instant::now();
/// let (mut n, ok) = ReferNotifier::accept(now, refer.as_request().unwrap(), NotifierConfig::default()).unwrap();
/// assert_eq!((ok.status, ok.target.as_str()), (200, "sip:carol@192.0.2.3"));
/// let first = n.notify(now, 100, "Trying").unwrap();
/// assert_eq!(first.subscription_state, "active;expires=60");
/// let last = n.notify(now, 200, "OK").unwrap();
/// assert_eq!(last.subscription_state, "terminated;reason=noresource");
/// assert_eq!(last.body, b"SIP/2.0 200 OK\r\n");
/// ```
#[derive(Debug, Clone)]
pub struct ReferNotifier {
    event: String,
    suppressed: bool,
    active: bool,
    expires_at: Instant,
    last: (u16, String),
}

impl ReferNotifier {
    /// Takes a REFER (RFC 3515 §2.4.2): exactly one Refer-To with a SIP or
    /// SIPS URI, else a refusal to answer with. On success the answer is
    /// `config.accept` (200 unless configured otherwise, RFC 7647 §5) and, unless `Refer-Sub: false` suppressed it, the subscription is
    /// active for `config.duration`.
    pub fn accept(
        now: Instant,
        refer: &Request<'_>,
        config: NotifierConfig,
    ) -> Result<(ReferNotifier, ReferAccepted), ReferRefusal> {
        let bad = |why| ReferRefusal {
            status: 400,
            reason: "Bad Request",
            why,
        };
        let count = refer
            .headers_named(sipkit_message::HeaderName::ReferTo)
            .count();
        if count == 0 {
            return Err(bad(
                "no Refer-To header (RFC 3515 §2.4.1 requires exactly one)",
            ));
        }
        if count > 1 {
            return Err(bad(
                "more than one Refer-To header (RFC 3515 §2.4.1 allows exactly one)",
            ));
        }
        let refer_to = match refer.refer_to() {
            Ok(Some(r)) => r,
            _ => return Err(bad("the Refer-To value does not parse")),
        };
        if !matches!(refer_to.uri.scheme, Scheme::Sip | Scheme::Sips) {
            return Err(ReferRefusal {
                status: 416,
                reason: "Unsupported URI Scheme",
                why: "this agent can only call sip: and sips: Refer-To targets",
            });
        }
        let raw = refer_to.uri.as_str();
        let target = raw.split('?').next().unwrap_or(raw).to_owned();
        let target_headers = refer_to
            .uri
            .header_fields()
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
            .collect();
        let referred_by = match refer.referred_by() {
            Ok(Some(rb)) => rb.raw.to_owned(),
            _ => format!("<{}>", refer.from().uri.as_str()),
        };
        let suppressed = config.norefersub && is_refer_sub_false(refer.header_value("Refer-Sub"));
        let event = format!("refer;id={}", refer.cseq().seq);
        let n = ReferNotifier {
            event: event.clone(),
            suppressed,
            active: !suppressed,
            expires_at: now + config.duration,
            last: (100, "Trying".to_owned()),
        };
        let ok = ReferAccepted {
            status: config.accept.code(),
            reason: config.accept.reason(),
            refer_sub_false: suppressed,
            target,
            target_headers,
            referred_by,
            event,
        };
        Ok((n, ok))
    }

    /// True while NOTIFYs are to be sent.
    pub fn is_active(&self) -> bool {
        self.active
    }

    /// True when `Refer-Sub: false` suppressed the subscription.
    pub fn is_suppressed(&self) -> bool {
        self.suppressed
    }

    /// The NOTIFY reporting the referred request's `status` (RFC 3515
    /// §2.4.5): a provisional status keeps the subscription active with the
    /// seconds left; a final one terminates it with `reason=noresource`
    /// (§2.4.7). `None` once terminated or when suppressed.
    pub fn notify(&mut self, now: Instant, status: u16, reason: &str) -> Option<NotifyContent> {
        if !self.active {
            return None;
        }
        self.last = (status, reason.to_owned());
        let terminal = status >= 200;
        let subscription_state = if terminal {
            self.active = false;
            "terminated;reason=noresource".to_owned()
        } else {
            let left = self.expires_at.saturating_duration_since(now).as_secs();
            format!("active;expires={left}")
        };
        Some(NotifyContent {
            event: self.event.clone(),
            subscription_state,
            content_type: SIPFRAG,
            body: sipfrag_body(status, reason),
            terminal,
        })
    }

    /// When the subscription expires, if it is active.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.active.then_some(self.expires_at)
    }

    /// At expiry the notifier sends a last NOTIFY with the last status and
    /// `terminated;reason=timeout` (RFC 6665 §4.2.2).
    pub fn handle_timeout(&mut self, now: Instant) -> Option<NotifyContent> {
        if !self.active || now < self.expires_at {
            return None;
        }
        self.active = false;
        Some(NotifyContent {
            event: self.event.clone(),
            subscription_state: "terminated;reason=timeout".to_owned(),
            content_type: SIPFRAG,
            body: sipfrag_body(self.last.0, &self.last.1),
            terminal: true,
        })
    }
}

// ---------------------------------------------------------- subscriber

/// The result of a transfer as the transferor sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A NOTIFY reported a 2xx for the new call.
    Transferred,
    /// A NOTIFY reported a failure, or the subscription ended without a result.
    Failed,
    /// No (final) NOTIFY came.
    NoNotify,
    /// The REFER got a non-2xx final response or none.
    ReferRejected,
}

impl Outcome {
    /// `transferred`, `failed`, `no_notify`, `refer_rejected`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Transferred => "transferred",
            Outcome::Failed => "failed",
            Outcome::NoNotify => "no_notify",
            Outcome::ReferRejected => "refer_rejected",
        }
    }
}

/// What the transferor concludes from what it saw.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Diagnosis {
    /// The new call was answered (sipfrag 2xx).
    Transferred {
        /// The sipfrag status.
        status: u16,
    },
    /// A NOTIFY arrived with a failure status for the new call.
    NewCallFailed {
        /// The sipfrag status.
        status: u16,
    },
    /// The REFER was answered with a failure.
    ReferRejected {
        /// The status.
        status: u16,
    },
    /// The REFER got no response at all (Timer F).
    ReferTimedOut,
    /// The 2xx to the REFER said `Refer-Sub: false`: no subscription, so no
    /// NOTIFY will ever come (RFC 4488).
    SubscriptionRefused {
        /// True when this side asked for it with `Refer-Sub: false`.
        requested: bool,
    },
    /// The subscription was given zero lifetime (`Expires: 0` on the 2xx or
    /// `expires=0` in Subscription-State) and no result came.
    ExpiresZero,
    /// The subscription expired (Subscription-State `expires`) before a result.
    SubscriptionExpired {
        /// The last sipfrag status seen.
        last_status: Option<u16>,
    },
    /// No NOTIFY at all within the wait.
    NoNotifyAtAll {
        /// The wait.
        waited: Duration,
    },
    /// NOTIFYs came, but not the final one within the wait.
    NoFinalNotify {
        /// The last sipfrag status seen.
        last_status: Option<u16>,
        /// The wait.
        waited: Duration,
    },
    /// The notifier terminated the subscription without a final status.
    TerminatedWithoutResult {
        /// The Subscription-State reason.
        reason: Option<String>,
        /// The last sipfrag status seen.
        last_status: Option<u16>,
    },
}

/// One NOTIFY as the transferor received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// Time since the REFER was sent.
    pub at: Duration,
    /// The status in the sipfrag's Status-Line, if it has one.
    pub sipfrag_status: Option<u16>,
    /// The sipfrag's first line as received (`SIP/2.0 100 Trying`).
    pub sipfrag: String,
    /// The Subscription-State value (`active`, `pending`, `terminated`; empty if missing).
    pub subscription_state: String,
    /// Its `reason` parameter.
    pub reason: Option<String>,
    /// Its `expires` parameter.
    pub expires: Option<u32>,
    /// The status this side answered the NOTIFY with.
    pub answered: u16,
}

/// The answer to give a NOTIFY and what it reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyAnswer {
    /// 200, or 481 (no such subscription), 489 (not the refer event), 400.
    pub status: u16,
    /// Its reason phrase.
    pub reason: &'static str,
}

/// Where the subscriber is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubscriberState {
    /// The REFER is out; no final response yet.
    Referring,
    /// Accepted; the subscription is alive.
    Subscribed,
    /// Over: an outcome is decided.
    Done,
}

/// The transferor's side: the REFER's response, then the NOTIFYs of the
/// implicit subscription, bounded by a wait (`--notify-timeout`).
///
/// Inputs: [`on_refer_response`](Self::on_refer_response),
/// [`on_refer_timeout`](Self::on_refer_timeout),
/// [`on_notify`](Self::on_notify), [`handle_timeout`](Self::handle_timeout);
/// outputs: [`poll_timeout`](Self::poll_timeout), [`outcome`](Self::outcome),
/// [`diagnosis`](Self::diagnosis), [`notifications`](Self::notifications).
#[derive(Debug, Clone)]
pub struct ReferSubscriber {
    refer_seq: u32,
    asked_no_sub: bool,
    started: Instant,
    wait: Duration,
    state: SubscriberState,
    deadline: Option<Instant>,
    expiry: Option<Instant>,
    refer_status: Option<u16>,
    refer_sub_false: bool,
    expires_zero: bool,
    notifications: Vec<Notification>,
    outcome: Option<(Outcome, Diagnosis)>,
}

impl ReferSubscriber {
    /// The REFER with CSeq `refer_seq` went out at `now`; NOTIFYs are awaited
    /// for `wait` after it is accepted. `asked_no_sub` when the REFER carried
    /// `Refer-Sub: false`.
    pub fn new(
        now: Instant,
        refer_seq: u32,
        wait: Duration,
        asked_no_sub: bool,
    ) -> ReferSubscriber {
        ReferSubscriber {
            refer_seq,
            asked_no_sub,
            started: now,
            wait,
            state: SubscriberState::Referring,
            deadline: None,
            expiry: None,
            refer_status: None,
            refer_sub_false: false,
            expires_zero: false,
            notifications: Vec::new(),
            outcome: None,
        }
    }

    /// The state.
    pub fn state(&self) -> SubscriberState {
        self.state
    }
    /// The REFER's final status, once known.
    pub fn refer_status(&self) -> Option<u16> {
        self.refer_status
    }
    /// True when the 2xx said `Refer-Sub: false`.
    pub fn refer_sub_false(&self) -> bool {
        self.refer_sub_false
    }
    /// True when the subscription was given zero lifetime.
    pub fn expires_zero(&self) -> bool {
        self.expires_zero
    }
    /// Every NOTIFY received, in order.
    pub fn notifications(&self) -> &[Notification] {
        &self.notifications
    }
    /// The outcome, once decided.
    pub fn outcome(&self) -> Option<Outcome> {
        self.outcome.as_ref().map(|(o, _)| *o)
    }
    /// The diagnosis, once decided.
    pub fn diagnosis(&self) -> Option<&Diagnosis> {
        self.outcome.as_ref().map(|(_, d)| d)
    }

    fn decide(&mut self, o: Outcome, d: Diagnosis) {
        if self.outcome.is_none() {
            self.outcome = Some((o, d));
        }
        self.state = SubscriberState::Done;
        self.deadline = None;
        self.expiry = None;
    }

    fn last_status(&self) -> Option<u16> {
        self.notifications
            .iter()
            .rev()
            .find_map(|n| n.sipfrag_status)
    }

    /// The REFER's response. A 2xx (202, or 200 from older agents) starts
    /// the wait for NOTIFYs — unless it says `Refer-Sub: false` (RFC 4488:
    /// no NOTIFY will come); a 3xx–6xx is a rejection (RFC 3515 §2.4.2).
    /// An `Expires: 0` is noted: the subscription then lives for no time.
    pub fn on_refer_response(&mut self, now: Instant, resp: &Response<'_>) {
        let status = resp.status();
        if status < 200 || self.refer_status.is_some() {
            return;
        }
        self.refer_status = Some(status);
        if status >= 300 {
            self.decide(Outcome::ReferRejected, Diagnosis::ReferRejected { status });
            return;
        }
        if matches!(resp.expires(), Ok(Some(0))) {
            self.expires_zero = true;
        } else if let Ok(Some(secs)) = resp.expires() {
            self.expiry
                .get_or_insert(now + Duration::from_secs(u64::from(secs)));
        }
        if is_refer_sub_false(resp.header_value("Refer-Sub")) {
            self.refer_sub_false = true;
            if self.notifications.is_empty() {
                self.decide(
                    Outcome::NoNotify,
                    Diagnosis::SubscriptionRefused {
                        requested: self.asked_no_sub,
                    },
                );
                return;
            }
        }
        if self.state == SubscriberState::Referring {
            self.state = SubscriberState::Subscribed;
        }
        self.deadline.get_or_insert(now + self.wait);
    }

    /// The REFER's transaction timed out (no response, RFC 3261 §8.1.3.1: a 408).
    pub fn on_refer_timeout(&mut self) {
        if self.refer_status.is_none() {
            self.refer_status = Some(408);
            self.decide(Outcome::ReferRejected, Diagnosis::ReferTimedOut);
        }
    }

    /// A NOTIFY inside the REFER's dialog (the caller matched the dialog; a
    /// NOTIFY for another dialog gets 481 there). Checks the Event
    /// (`refer`, with `id` = the REFER's CSeq when present, RFC 3515
    /// §2.4.6), reads Subscription-State (RFC 6665 §8.2.3) and the sipfrag
    /// status, decides the outcome on a final status or a terminated
    /// subscription, and says what to answer. A NOTIFY before the REFER's
    /// 2xx is valid (it may overtake it over UDP) and counts as acceptance.
    pub fn on_notify(&mut self, now: Instant, req: &Request<'_>) -> NotifyAnswer {
        let at = now.saturating_duration_since(self.started);
        let first_line = String::from_utf8_lossy(
            req.body()
                .split(|&c| c == b'\r' || c == b'\n')
                .next()
                .unwrap_or(b""),
        )
        .into_owned();
        let sipfrag_status = match req.sipfrag() {
            Some(Ok(f)) => f.status(),
            // Be liberal in what is accepted: a body whose Status-Line ends
            // with a bare LF (baresip 1.0) or that lacks its Content-Type
            // still says how the new call went.
            _ => lenient_status(req.body()),
        };
        let event = req.event().ok().flatten();
        let answer = match event {
            None => NotifyAnswer {
                status: 489,
                reason: "Bad Event",
            },
            Some(e) if !e.package.eq_ignore_ascii_case("refer") => NotifyAnswer {
                status: 489,
                reason: "Bad Event",
            },
            Some(e)
                if e.id()
                    .is_some_and(|id| id.trim().parse::<u32>().ok() != Some(self.refer_seq)) =>
            {
                NotifyAnswer {
                    status: 481,
                    reason: "Subscription Does Not Exist",
                }
            }
            _ if self.state == SubscriberState::Done
                && self.outcome().is_some_and(|o| o != Outcome::NoNotify) =>
            {
                // RFC 6665 §4.1.3: a NOTIFY for a subscription that is over gets 481.
                NotifyAnswer {
                    status: 481,
                    reason: "Subscription Does Not Exist",
                }
            }
            _ => NotifyAnswer {
                status: 200,
                reason: "OK",
            },
        };
        let st = req.subscription_state().ok().flatten();
        let (state, reason, expires) = match &st {
            Some(s) => (
                s.state.to_ascii_lowercase(),
                s.reason().map(str::to_owned),
                s.expires(),
            ),
            None => (String::new(), None, None),
        };
        let answer = if st.is_none() && answer.status == 200 {
            NotifyAnswer {
                status: 400,
                reason: "Missing Subscription-State",
            }
        } else {
            answer
        };
        self.notifications.push(Notification {
            at,
            sipfrag_status,
            sipfrag: first_line,
            subscription_state: state.clone(),
            reason: reason.clone(),
            expires,
            answered: answer.status,
        });
        if answer.status != 200 {
            return answer;
        }
        if self.state == SubscriberState::Referring {
            self.state = SubscriberState::Subscribed;
            self.deadline.get_or_insert(now + self.wait);
        }
        if self.state == SubscriberState::Done && self.outcome.is_some() {
            // A late NOTIFY after we gave up waiting: recorded, nothing changes.
            return answer;
        }
        match sipfrag_status {
            Some(s @ 200..=299) => {
                self.decide(Outcome::Transferred, Diagnosis::Transferred { status: s });
                return answer;
            }
            Some(s) if s >= 300 => {
                self.decide(Outcome::Failed, Diagnosis::NewCallFailed { status: s });
                return answer;
            }
            _ => {}
        }
        if state == "terminated" {
            let last_status = self.last_status();
            self.decide(
                Outcome::Failed,
                Diagnosis::TerminatedWithoutResult {
                    reason,
                    last_status,
                },
            );
            return answer;
        }
        match expires {
            Some(0) => {
                self.expires_zero = true;
            }
            Some(secs) => self.expiry = Some(now + Duration::from_secs(u64::from(secs))),
            None => {}
        }
        answer
    }

    /// The next deadline: the end of the wait, or the subscription's expiry.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.state == SubscriberState::Done {
            return None;
        }
        match (self.deadline, self.expiry) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Fires what is due: the subscription's expiry, or the end of the wait
    /// (outcome `no_notify`, diagnosed from what was seen).
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.state == SubscriberState::Done {
            return;
        }
        let last_status = self.last_status();
        if self.expiry.is_some_and(|e| now >= e) {
            self.decide(
                Outcome::NoNotify,
                Diagnosis::SubscriptionExpired { last_status },
            );
            return;
        }
        if self.deadline.is_some_and(|d| now >= d) {
            let waited = self.wait;
            let d = if self.expires_zero && last_status.is_none_or(|s| s < 200) {
                Diagnosis::ExpiresZero
            } else if self.notifications.is_empty() {
                Diagnosis::NoNotifyAtAll { waited }
            } else {
                Diagnosis::NoFinalNotify {
                    last_status,
                    waited,
                }
            };
            self.decide(Outcome::NoNotify, d);
        }
    }
}
