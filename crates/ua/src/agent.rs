//! `sipkit ua`: a headless user agent that listens, optionally registers,
//! answers calls (with a configurable code and delay), and acts as
//! transferee: on REFER it answers 200 (RFC 7647 §5; 202 on request),
//! sends NOTIFY "100 Trying", calls the Refer-To target with Referred-By,
//! sends NOTIFY with the final status, and hangs up the old call (RFC 3515,
//! RFC 3892, RFC 5589).
//!
//! [`Agent`] decides without IO: it takes `(now, input)` — a received
//! message ([`Agent::handle_datagram`]), an expired deadline
//! ([`Agent::handle_timeout`]) or a command ([`Agent::call`],
//! [`Agent::reinvite`], [`Agent::refer`], [`Agent::hangup`],
//! [`Agent::shutdown`]) — and its outputs are drained with
//! [`Agent::poll_transmit`], [`Agent::poll_note`] and
//! [`Agent::poll_timeout`]. All its deadlines are one [`Timer`] enum in one
//! table. [`run`] is the thin async shell: sockets, the clock, signals.

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use sipkit_codes::{agent_text, Lang};
use sipkit_dialog::{
    AcceptStatus, AckFor2xx, CallSetup, Dialog, DialogId, Next, NotifierConfig, NotifyContent,
    Outcome, RedirectFollower, RedirectPolicy, ReferNotifier, ReferSubscriber, Stop,
};
use sipkit_message::{parse, HeaderName, Message, Method, Request, RequestBuilder, Response};
use sipkit_transaction::TransactionKey;
use sipkit_transport::Transport;

use crate::auth::{Credentials, Decision, DigestState};
use crate::call::choices;
use crate::call::{future_rule, CallOptions};
use crate::core::{host_only, EpEvent, Transmit, UaCore};
use crate::report::{
    AgentCallReport, AgentReport, AttemptReport, AuthReport, CallReport, ContactReport,
    HangupReport, Note, RedirectReport, RegistrationReport, TransfereeReport,
};
use crate::transfer::TransferOptions;
use crate::{sdp, Error, ALLOW, USER_AGENT};

/// How the headless UA behaves.
#[derive(Debug, Clone)]
pub struct AgentOptions {
    /// The user part of the Contact (and of the AOR by default).
    pub user: String,
    /// The final status to answer INVITEs with (200; 486, 603, … to refuse;
    /// a 1xx rings until the caller cancels).
    pub answer_code: u16,
    /// Ring this long (180 Ringing) before answering.
    pub answer_delay: Duration,
    /// Register to this registrar URI.
    pub register: Option<String>,
    /// The address of record (default `sip:USER@<registrar host>`).
    pub aor: Option<String>,
    /// The registration's requested expiry, seconds.
    pub register_expires: u32,
    /// Hang up every established call after this long.
    pub hangup_after: Option<Duration>,
    /// Stop after this many inbound calls have ended.
    pub calls: Option<usize>,
    /// Stop after this long.
    pub duration: Option<Duration>,
    /// Honour `Refer-Sub: false` (RFC 4488).
    pub norefersub: bool,
    /// How long the implicit subscription of an accepted REFER lasts.
    pub refer_subscription: Duration,
    /// Give up the call to a Refer-To target after this long (CANCEL is not sent; the NOTIFY reports 408).
    pub ring_timeout: Duration,
    /// The 2xx an accepted REFER gets: 200 (RFC 7647 §5), or 202 to act
    /// like legacy RFC 3515 equipment.
    pub refer_response: AcceptStatus,
    /// The language of what it prints (the `[agent]` table of the knowledge base).
    pub lang: Lang,
    /// Answer digest challenges (401/407) to REGISTER and INVITE with
    /// these (RFC 3261 §22.2); without, a challenge ends the request.
    pub credentials: Option<Credentials>,
}

impl Default for AgentOptions {
    fn default() -> Self {
        AgentOptions {
            user: "sipkit".into(),
            answer_code: 200,
            answer_delay: Duration::ZERO,
            register: None,
            aor: None,
            register_expires: 3600,
            hangup_after: None,
            calls: None,
            duration: None,
            norefersub: true,
            refer_subscription: Duration::from_secs(60),
            ring_timeout: Duration::from_secs(60),
            refer_response: AcceptStatus::Ok,
            lang: Lang::EN,
            credentials: None,
        }
    }
}

/// Names one call of an [`Agent`] (inbound, outbound, or placed for a transfer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CallId(pub usize);

/// Every deadline of the agent: one enum, one table, the next deadline is
/// their minimum (STYLE.md habit 2). The transaction timers and the 2xx
/// retransmissions are the [`UaCore`]'s; [`Agent::poll_timeout`] gives the
/// earliest of both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Timer {
    /// `--answer-delay` is over: send the final response.
    Answer(CallId),
    /// `--hangup-after` is over: send BYE.
    Hangup(CallId),
    /// An outbound call rang too long: give it up.
    GiveUp(CallId),
    /// The implicit subscription of an accepted REFER expires (RFC 6665 §4.2.2).
    Subscription(CallId),
    /// The transferor's wait for NOTIFYs (`ReferSubscriber`) is over.
    NotifyWait(CallId),
    /// Refresh the registration (half the granted expiry).
    Refresh,
    /// Stop waiting for the un-REGISTER's response.
    Unregister,
    /// `--duration` is over.
    Stop,
    /// `--calls` calls have ended and retransmissions had time to be absorbed.
    Linger,
}

/// The timer table: at most one deadline per [`Timer`].
#[derive(Debug, Default, Clone)]
struct TimerTable(BTreeMap<Timer, Instant>);

impl TimerTable {
    fn set(&mut self, t: Timer, at: Instant) {
        self.0.insert(t, at);
    }
    fn set_opt(&mut self, t: Timer, at: Option<Instant>) {
        match at {
            Some(at) => self.set(t, at),
            None => self.clear(t),
        }
    }
    fn clear(&mut self, t: Timer) {
        self.0.remove(&t);
    }
    fn is_set(&self, t: Timer) -> bool {
        self.0.contains_key(&t)
    }
    fn next(&self) -> Option<Instant> {
        self.0.values().min().copied()
    }
    /// Removes and returns the timers due at `now`, earliest first.
    fn expired(&mut self, now: Instant) -> Vec<Timer> {
        let mut due: Vec<(Instant, Timer)> = self
            .0
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(t, at)| (*at, *t))
            .collect();
        due.sort();
        for (_, t) in &due {
            self.0.remove(t);
        }
        due.into_iter().map(|(_, t)| t).collect()
    }
}

/// Where a call is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallState {
    /// Inbound, waiting to answer.
    Ringing,
    /// Inbound 2xx sent, waiting for the ACK.
    Answered,
    /// Outbound INVITE sent.
    Calling,
    /// Established.
    Up,
    /// BYE sent, waiting for its response.
    Closing,
    /// Over.
    Ended,
}

#[derive(Debug)]
struct Transferee {
    notifier: ReferNotifier,
    child: Option<usize>,
    report: TransfereeReport,
}

/// The transferor's side of a REFER this agent sent.
#[derive(Debug)]
struct Transferor {
    key: TransactionKey,
    subscriber: ReferSubscriber,
    wait: Duration,
    reason: Option<String>,
    /// What the REFER asked, to send it again after a challenge.
    target: String,
    no_refer_sub: bool,
}

/// What an outbound call keeps: its INVITE chain and redirects (RFC 3261
/// §8.1.3.4), what to do when it rings too long, and what it reports.
#[derive(Debug)]
struct Outbound {
    setup: CallSetup,
    follower: RedirectFollower,
    original: String,
    /// Send every request here instead of resolving (an outbound proxy).
    proxy: Option<SocketAddr>,
    ring_timeout: Duration,
    /// CANCEL when it rings too long (`sipkit call`, RFC 3261 §9.1); a
    /// transferee's call to the target is given up without one.
    cancel_on_timeout: bool,
    /// Hang up this long after the answer.
    hangup_after: Option<Duration>,
    provisional: bool,
    cancel_pending: bool,
    attempts: Vec<AttemptReport>,
    reasons: Vec<String>,
    last: (Option<u16>, Option<String>),
    hangup: Option<HangupReport>,
    /// The digest challenges of its INVITEs (RFC 3261 §22.2).
    digest: DigestState,
    auth: Option<AuthReport>,
    /// A wrong password ended it (`stopped: auth_failed`).
    auth_failed: bool,
}

#[derive(Debug)]
struct Call {
    dialog: Option<Dialog>,
    dest: Option<SocketAddr>,
    inbound: bool,
    state: CallState,
    invite_key: Option<TransactionKey>,
    invite: Vec<u8>,
    local_tag: String,
    call_id: String,
    bye_key: Option<TransactionKey>,
    reinvite_key: Option<TransactionKey>,
    transfer: Option<Transferee>,
    referring: Option<Transferor>,
    parent: Option<usize>,
    out: Option<Box<Outbound>>,
    report: AgentCallReport,
    /// The digest challenge of its in-dialog requests (REFER, BYE).
    dialog_digest: DigestState,
    /// The dialog as it was when its BYE went out (the BYE ends it), to
    /// send the BYE again after a challenge; kept only with credentials.
    before_bye: Option<Dialog>,
}

#[derive(Debug)]
struct Registration {
    uri: String,
    aor: String,
    dest: SocketAddr,
    call_id: String,
    tag: String,
    cseq: u32,
    key: Option<TransactionKey>,
    unregistering: bool,
    report: RegistrationReport,
    /// The digest challenge answered, reused by refreshes (nc + 1).
    digest: DigestState,
}

/// Resolves a SIP URI to the address to send to. The agent calls it for a
/// registrar, a Refer-To target and a dialog's next hop; tests pass
/// [`crate::resolve_literal`], the shell a resolver that may block.
pub type Resolver = fn(&str) -> Result<SocketAddr, Error>;

/// The headless UA, sans-IO: `(now, input)` in, messages, notes and the
/// next deadline out.
#[derive(Debug)]
pub struct Agent {
    core: UaCore,
    opts: AgentOptions,
    resolve: Resolver,
    listen: String,
    calls: Vec<Call>,
    reg: Option<Registration>,
    timers: TimerTable,
    notes: VecDeque<Note>,
    stopping: Option<String>,
    stopped: Option<String>,
    /// What the application asked for with a [`Command`], until it is done.
    task: Option<Task>,
    /// An error of an input the driver could not be told of (its
    /// `handle_*` return nothing): the run ends with it.
    failure: Option<Error>,
}

/// What the application asks the agent to do, through the driver's
/// command channel (`sipkit_transport::driver::run`) or directly with
/// [`Agent::command`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Command {
    /// Announce the address and, with `--register`, register (`sipkit ua`).
    Start,
    /// Place a call as `sipkit call` does: redirects followed, hang up
    /// after `hold`; the agent is finished when the call has ended.
    Call(CallOptions),
    /// Call, REFER, follow the NOTIFYs and hang up as `sipkit transfer`
    /// does; the agent is finished when the call has ended.
    Transfer(TransferOptions),
    /// Stop: un-register first when registered (a signal).
    Shutdown(String),
}

/// The application's request in progress: which call, and how far.
#[derive(Debug)]
enum Task {
    Call(CallId),
    Transfer {
        id: CallId,
        opts: Box<TransferOptions>,
        stage: Stage,
    },
}

/// What became of a final response in the digest exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AuthStep {
    /// Not a challenge (or a 403 to a request without credentials).
    NotMine,
    /// Send the request again with credentials.
    Retry,
    /// A wrong password: the answered request was refused again.
    Failed,
    /// A challenge that cannot be answered (said): it ends the request.
    Said,
}

/// How far `sipkit transfer` is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// The INVITE is out.
    Calling,
    /// The REFER is out; NOTIFYs are followed.
    Referred,
    /// The outcome is known; BYE is out.
    HangingUp,
    /// Over (or the call was never answered).
    Done,
}

impl Agent {
    /// An agent on `core` that reports `listen` as its address. Nothing is
    /// sent until [`Agent::start`].
    pub fn new(
        now: Instant,
        core: UaCore,
        opts: AgentOptions,
        listen: String,
        resolve: Resolver,
    ) -> Agent {
        let mut timers = TimerTable::default();
        if let Some(d) = opts.duration {
            timers.set(Timer::Stop, now + d);
        }
        Agent {
            core,
            opts,
            resolve,
            listen,
            calls: Vec::new(),
            reg: None,
            timers,
            notes: VecDeque::new(),
            stopping: None,
            stopped: None,
            task: None,
            failure: None,
        }
    }

    /// Announces the address and, with `--register`, sends the first REGISTER.
    pub fn start(&mut self, now: Instant) -> Result<(), Error> {
        let contact = self.core.contact(&self.opts.user);
        self.note(Note::Listening {
            listen: self.listen.clone(),
            contact,
        });
        if let Some(uri) = self.opts.register.clone() {
            self.start_registration(now, &uri)?;
        }
        Ok(())
    }

    /// Gives the protocol core back.
    pub fn into_core(self) -> UaCore {
        self.core
    }

    /// This agent's Contact URI.
    pub fn contact(&self) -> String {
        self.core.contact(&self.opts.user)
    }

    /// The language of its notes.
    pub fn lang(&self) -> Lang {
        self.opts.lang
    }

    /// The transport it speaks.
    pub fn transport(&self) -> Transport {
        self.core.transport()
    }

    /// Carries out `cmd` (see [`Command`]).
    pub fn command(&mut self, now: Instant, cmd: Command) -> Result<(), Error> {
        match cmd {
            Command::Start => self.start(now)?,
            Command::Call(opts) => {
                let id = self.place(now, &opts, Some(opts.hold))?;
                self.task = Some(Task::Call(id));
            }
            Command::Transfer(opts) => {
                sipkit_message::Uri::parse(&opts.target)
                    .map_err(|e| Error::BadUri(opts.target.clone(), e.to_string()))?;
                let mut call = opts.call.clone();
                call.lang = opts.lang;
                let id = self.place(now, &call, None)?;
                self.task = Some(Task::Transfer {
                    id,
                    opts: Box::new(opts),
                    stage: Stage::Calling,
                });
            }
            Command::Shutdown(reason) => self.shutdown(now, &reason),
        }
        self.advance(now)
    }

    /// True when there is nothing more to do: the agent stopped, the call
    /// or transfer of a [`Command`] is over, or an input failed
    /// ([`Agent::take_failure`]).
    pub fn is_finished(&self) -> bool {
        self.stopped.is_some()
            || self.failure.is_some()
            || match &self.task {
                Some(Task::Call(id)) => self.call_state(*id) == Some(CallState::Ended),
                Some(Task::Transfer { stage, .. }) => *stage == Stage::Done,
                None => false,
            }
    }

    /// The error that finished the agent, if one did.
    pub fn take_failure(&mut self) -> Option<Error> {
        self.failure.take()
    }

    /// Keeps the error of an input whose caller cannot take it (the driver).
    pub(crate) fn keep(&mut self, r: Result<(), Error>) {
        if let Err(e) = r {
            tracing::debug!(error = %e, "the agent cannot go on");
            self.failure.get_or_insert(e);
        }
    }

    /// Moves `sipkit transfer` on: REFER once the call is up, BYE once the
    /// outcome is known (RFC 5589 blind transfer).
    fn advance(&mut self, now: Instant) -> Result<(), Error> {
        let Some(Task::Transfer { id, opts, stage }) = &self.task else {
            return Ok(());
        };
        let (id, stage) = (*id, *stage);
        let next = match stage {
            Stage::Calling => match self.call_state(id) {
                Some(CallState::Calling) => return Ok(()),
                Some(CallState::Up) => {
                    let (target, wait, no_sub) =
                        (opts.target.clone(), opts.notify_timeout, opts.no_refer_sub);
                    self.refer(now, id, &target, wait, no_sub)?;
                    Stage::Referred
                }
                _ => Stage::Done,
            },
            Stage::Referred => {
                if self.transfer_outcome(id).is_none() {
                    return Ok(());
                }
                let lang = opts.lang;
                let (outcome, _, diagnosis) = crate::transfer::diagnose(self, id, opts);
                self.note(Note::Info {
                    text: agent_text(
                        lang,
                        "transfer_outcome",
                        &[("outcome", outcome.as_str()), ("diagnosis", &diagnosis)],
                    ),
                });
                self.hangup(now, id)?;
                Stage::HangingUp
            }
            Stage::HangingUp if self.call_state(id) == Some(CallState::Ended) => Stage::Done,
            Stage::HangingUp | Stage::Done => return Ok(()),
        };
        if let Some(Task::Transfer { stage, .. }) = self.task.as_mut() {
            *stage = next;
        }
        // A stage may be over at once (the call already ended).
        self.advance(now)
    }

    /// The report of `sipkit transfer` (after [`Command::Transfer`]).
    pub fn transfer_report(&self) -> Option<crate::TransferReport> {
        match &self.task {
            Some(Task::Transfer { id, opts, .. }) => crate::transfer::report(self, *id, opts),
            _ => None,
        }
    }

    /// The report of `sipkit call` (after [`Command::Call`]).
    pub fn placed_call_report(&self) -> Option<CallReport> {
        match &self.task {
            Some(Task::Call(id)) => self.call_report(*id),
            _ => None,
        }
    }

    // ------------------------------------------------------------ inputs

    /// A message received from `source` on `local`.
    pub fn handle_datagram(
        &mut self,
        now: Instant,
        bytes: &[u8],
        source: SocketAddr,
        local: SocketAddr,
        transport: Transport,
    ) -> Result<(), Error> {
        self.core
            .handle_datagram(now, bytes, source, local, transport);
        self.process(now)?;
        self.advance(now)
    }

    /// A message received as `from` says, connection included (what the
    /// driver hands over).
    pub fn handle_received(
        &mut self,
        now: Instant,
        bytes: &[u8],
        from: sipkit_transaction::Arrival,
    ) -> Result<(), Error> {
        self.core.handle_received(now, bytes, from);
        self.process(now)?;
        self.advance(now)
    }

    /// A transmission of transaction `key` could not be sent (no route,
    /// connection refused): the transaction fails as if it timed out.
    pub fn handle_send_error(&mut self, now: Instant, key: &TransactionKey) -> Result<(), Error> {
        self.core.handle_transport_error(now, key);
        self.process(now)?;
        self.advance(now)
    }

    /// Fires every deadline up to `now`: the core's, then the agent's timers.
    pub fn handle_timeout(&mut self, now: Instant) -> Result<(), Error> {
        self.core.handle_timeout(now);
        self.process(now)?;
        for t in self.timers.expired(now) {
            self.on_timer(now, t)?;
            self.process(now)?;
        }
        self.advance(now)
    }

    /// Stops: un-registers first when registered (waiting at most 3 s for
    /// the answer), then [`Agent::stopped`] says `reason`.
    pub fn shutdown(&mut self, now: Instant, reason: &str) {
        if self.stopping.is_some() || self.stopped.is_some() {
            return;
        }
        let registered = self
            .reg
            .as_ref()
            .is_some_and(|r| r.report.status.is_some_and(|s| (200..300).contains(&s)));
        if registered {
            if let Some(r) = self.reg.as_mut() {
                r.unregistering = true;
            }
            self.timers.clear(Timer::Refresh);
            if self.send_register(now, 0).is_ok() {
                self.stopping = Some(reason.to_owned());
                self.timers
                    .set(Timer::Unregister, now + Duration::from_secs(3));
                return;
            }
        }
        self.stopped = Some(reason.to_owned());
    }

    // ----------------------------------------------------------- outputs

    /// The next message to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.core.poll_transmit()
    }

    /// The next thing that happened, for the live log.
    pub fn poll_note(&mut self) -> Option<Note> {
        self.notes.pop_front()
    }

    /// The earliest deadline: the core's or one of the [`Timer`]s.
    pub fn poll_timeout(&mut self) -> Option<Instant> {
        [self.core.poll_timeout(), self.timers.next()]
            .into_iter()
            .flatten()
            .min()
    }

    /// The deadline of one timer, if it is armed.
    pub fn timer(&self, t: Timer) -> Option<Instant> {
        self.timers.0.get(&t).copied()
    }

    /// Why the agent stopped, once it has.
    pub fn stopped(&self) -> Option<&str> {
        self.stopped.as_deref()
    }

    /// The report so far (the `--format json` document of `sipkit ua`).
    pub fn report(&self) -> AgentReport {
        let calls = self.calls.iter().map(|c| {
            let mut r = c.report.clone();
            if c.state != CallState::Ended {
                r.ended = "active".into();
            }
            if let Some(t) = &c.transfer {
                r.transfer = Some(t.report.clone());
            }
            r
        });
        AgentReport {
            listen: self.listen.clone(),
            registration: self.reg.as_ref().map(|r| r.report.clone()),
            calls: calls.collect(),
            stopped: self.stopped.clone().unwrap_or_default(),
        }
    }

    /// The calls so far, oldest first.
    pub fn call_ids(&self) -> impl Iterator<Item = CallId> {
        (0..self.calls.len()).map(CallId)
    }

    /// Where call `id` is.
    pub fn call_state(&self, id: CallId) -> Option<CallState> {
        self.calls.get(id.0).map(|c| c.state)
    }

    /// The dialog of call `id`, once it has one.
    pub fn dialog(&self, id: CallId) -> Option<&Dialog> {
        self.calls.get(id.0).and_then(|c| c.dialog.as_ref())
    }

    /// The redirect follower of an outbound call `id`.
    pub fn redirects(&self, id: CallId) -> Option<&RedirectFollower> {
        self.calls
            .get(id.0)
            .and_then(|c| c.out.as_ref())
            .map(|o| &o.follower)
    }

    /// The report of a call placed with [`Agent::place`] (the `--format
    /// json` document of `sipkit call`).
    pub fn call_report(&self, id: CallId) -> Option<CallReport> {
        let c = self.calls.get(id.0)?;
        let o = c.out.as_ref()?;
        let f = &o.follower;
        let redirects = f
            .redirects()
            .iter()
            .zip(o.reasons.iter().chain(std::iter::repeat(&String::new())))
            .map(|(r, reason)| RedirectReport {
                status: r.status,
                reason: reason.clone(),
                from_uri: r.from_uri.clone(),
                contacts: r
                    .contacts
                    .iter()
                    .map(|c| ContactReport {
                        uri: c.uri.clone(),
                        q: c.q.map(|q| f32::from(q) / 1000.0),
                    })
                    .collect(),
                queued: r.queued.clone(),
                looped: r.looped.clone(),
                followed: r.followed,
            })
            .collect::<Vec<_>>();
        let permanent = f.permanent_address().map(str::to_owned);
        let rule = future_rule(&redirects, permanent.is_some(), self.opts.lang);
        Some(CallReport {
            original_uri: o.original.clone(),
            final_uri: f.current().to_owned(),
            final_status: o.last.0,
            final_reason: o.last.1.clone(),
            stopped: if o.auth_failed {
                "auth_failed".to_owned()
            } else {
                f.stopped().unwrap_or(Stop::Failed).as_str().to_owned()
            },
            redirects,
            attempts: o.attempts.clone(),
            future_requests_uri: f.future_uri().to_owned(),
            future_requests_rule: rule,
            permanent_address: permanent,
            call_id: c.call_id.clone(),
            hangup: o.hangup.clone(),
            auth: o.auth.clone(),
        })
    }

    /// The final reason phrase of the REFER sent on call `id`.
    pub fn refer_reason(&self, id: CallId) -> Option<&str> {
        self.calls
            .get(id.0)
            .and_then(|c| c.referring.as_ref())
            .and_then(|r| r.reason.as_deref())
    }

    /// The transferor's view of a REFER sent on call `id`.
    pub fn referral(&self, id: CallId) -> Option<&ReferSubscriber> {
        self.calls
            .get(id.0)
            .and_then(|c| c.referring.as_ref())
            .map(|r| &r.subscriber)
    }

    /// The outcome of a REFER sent on call `id`, once decided.
    pub fn transfer_outcome(&self, id: CallId) -> Option<Outcome> {
        self.referral(id).and_then(ReferSubscriber::outcome)
    }

    // ---------------------------------------------------------- commands

    /// Places a call to `uri`, following redirects as `policy` allows
    /// (RFC 3261 §8.1.3.4, through [`RedirectFollower`]); it stays up
    /// until [`Agent::hangup`] or the peer's BYE.
    pub fn call(
        &mut self,
        now: Instant,
        uri: &str,
        policy: RedirectPolicy,
    ) -> Result<CallId, Error> {
        let mut opts = CallOptions::new(uri);
        opts.policy = policy;
        self.place(now, &opts, None)
    }

    /// Places a call as `sipkit call` does: INVITE to `opts.uri` (or its
    /// proxy), redirects followed, CANCEL after `opts.ring_timeout` (RFC
    /// 3261 §9.1), and with `hangup_after` a BYE that long after the answer.
    /// A target that does not resolve is reported in the call's attempts.
    pub fn place(
        &mut self,
        now: Instant,
        opts: &CallOptions,
        hangup_after: Option<Duration>,
    ) -> Result<CallId, Error> {
        sipkit_message::Uri::parse(&opts.uri)
            .map_err(|e| Error::BadUri(opts.uri.clone(), e.to_string()))?;
        let adv = self.core.advertised();
        let from_uri = opts
            .from
            .clone()
            .unwrap_or_else(|| format!("sip:{}@{}", self.opts.user, host_only(adv)));
        let from = format!("<{from_uri}>;tag={}", self.core.tag());
        let call_id = self.core.call_id();
        let contact = self.core.contact(&self.opts.user);
        let mut setup = CallSetup::new(&from, &format!("<{}>", opts.uri), &call_id, &contact, 1);
        setup.headers.push(("User-Agent".into(), USER_AGENT.into()));
        setup.headers.push(("Allow".into(), ALLOW.into()));
        setup
            .headers
            .push(("Supported".into(), "norefersub".into()));
        setup.headers.extend(opts.headers.iter().cloned());
        setup.body = Some((
            "application/sdp".into(),
            sdp::session(adv.ip(), sdp::rtp_port(adv.port()), 1),
        ));
        let report = AgentCallReport {
            call_id: call_id.clone(),
            direction: "outbound".into(),
            peer: opts.uri.clone(),
            status: None,
            ended: String::new(),
            transfer: None,
            referred_by: None,
        };
        let out = Outbound {
            setup,
            follower: RedirectFollower::new(&opts.uri, opts.policy),
            original: opts.uri.clone(),
            proxy: opts.proxy,
            ring_timeout: opts.ring_timeout,
            cancel_on_timeout: true,
            hangup_after,
            provisional: false,
            cancel_pending: false,
            attempts: Vec::new(),
            reasons: Vec::new(),
            last: (None, None),
            hangup: None,
            digest: DigestState::default(),
            auth: None,
            auth_failed: false,
        };
        let i = self.push_outbound(out, None, report);
        self.follow(now, i, Next::Try(opts.uri.clone()), 0, "")?;
        self.process(now)?;
        Ok(CallId(i))
    }

    /// Sends a re-INVITE on an established call (same session, version 2);
    /// its 2xx is ACKed (RFC 3261 §14.1).
    pub fn reinvite(&mut self, now: Instant, id: CallId) -> Result<(), Error> {
        let via = self.core.via();
        let adv = self.core.advertised();
        let c = self
            .calls
            .get_mut(id.0)
            .ok_or(Error::Internal("no such call"))?;
        let (Some(d), Some(dest)) = (c.dialog.as_mut(), c.dest) else {
            return Err(Error::Internal("the call has no dialog"));
        };
        let (b, seq) = d.request("INVITE", &via)?;
        let bytes = b
            .header(HeaderName::UserAgent, USER_AGENT)
            .body(
                "application/sdp",
                sdp::session(adv.ip(), sdp::rtp_port(adv.port()), 2),
            )
            .build();
        let uri = d.request_target().0;
        c.reinvite_key = Some(self.core.send_request(now, &bytes, dest)?);
        self.note(Note::Sent {
            method: "INVITE".into(),
            uri,
            cseq: seq,
            to: dest,
        });
        self.process(now)
    }

    /// Sends REFER with `Refer-To: <target>` on an established call and
    /// follows the NOTIFYs of its subscription for at most `notify_wait`
    /// (RFC 3515; the transferor's side, [`ReferSubscriber`]).
    pub fn refer(
        &mut self,
        now: Instant,
        id: CallId,
        target: &str,
        notify_wait: Duration,
        no_refer_sub: bool,
    ) -> Result<(), Error> {
        let via = self.core.via();
        let c = self
            .calls
            .get_mut(id.0)
            .ok_or(Error::Internal("no such call"))?;
        let (Some(d), Some(dest)) = (c.dialog.as_mut(), c.dest) else {
            return Err(Error::Internal("the call has no dialog"));
        };
        let random = self.core.random_bytes();
        let authorization = self
            .opts
            .credentials
            .as_ref()
            .map(|cr| {
                c.dialog_digest
                    .headers(cr, "REFER", &d.request_target().0, random)
            })
            .unwrap_or_default();
        let (b, seq) = d.request("REFER", &via)?;
        let local = d.local_party().to_owned();
        let referred_by = local.split(";tag=").next().unwrap_or(&local).to_owned();
        let mut b = b
            .header(HeaderName::ReferTo, format!("<{target}>"))
            .header(HeaderName::ReferredBy, &referred_by)
            .header(HeaderName::UserAgent, USER_AGENT)
            .header(HeaderName::Supported, "norefersub");
        if no_refer_sub {
            b = b.raw_header("Refer-Sub", "false");
        }
        for (name, value) in authorization {
            b = b.raw_header(name, value);
        }
        let bytes = b.build();
        let uri = d.request_target().0;
        let key = self.core.send_request(now, &bytes, dest)?;
        let subscriber = ReferSubscriber::new(now, seq, notify_wait, no_refer_sub);
        self.timers
            .set_opt(Timer::NotifyWait(id), subscriber.poll_timeout());
        c.referring = Some(Transferor {
            key,
            subscriber,
            wait: notify_wait,
            reason: None,
            target: target.to_owned(),
            no_refer_sub,
        });
        self.note(Note::Sent {
            method: "REFER".into(),
            uri,
            cseq: seq,
            to: dest,
        });
        self.process(now)
    }

    /// Hangs up call `id` (BYE); nothing when it has ended already.
    pub fn hangup(&mut self, now: Instant, id: CallId) -> Result<(), Error> {
        if id.0 >= self.calls.len() {
            return Err(Error::Internal("no such call"));
        }
        if matches!(
            self.calls[id.0].state,
            CallState::Ended | CallState::Closing
        ) {
            return Ok(());
        }
        if self.calls[id.0].report.ended.is_empty() {
            self.calls[id.0].report.ended = "bye_sent".into();
        }
        self.send_bye(now, id.0)?;
        self.process(now)
    }

    // --------------------------------------------------------- internals

    fn note(&mut self, n: Note) {
        self.notes.push_back(n);
    }

    /// Notes the sentence `key` of the knowledge base's `[agent]` table.
    fn say(&mut self, key: &str, args: &[(&str, &str)]) {
        let text = agent_text(self.opts.lang, key, args);
        self.note(Note::Info { text });
    }

    /// Hands every event of the core to the call logic, then checks `--calls`.
    fn process(&mut self, now: Instant) -> Result<(), Error> {
        while let Some(ev) = self.core.poll_event() {
            self.on_event(now, ev)?;
        }
        self.check_done(now);
        Ok(())
    }

    fn check_done(&mut self, now: Instant) {
        let Some(n) = self.opts.calls else { return };
        let ended = self
            .calls
            .iter()
            .filter(|c| c.inbound && c.state == CallState::Ended)
            .count();
        let busy = self.calls.iter().any(|c| c.state != CallState::Ended);
        if ended >= n && !busy && !self.timers.is_set(Timer::Linger) && self.stopping.is_none() {
            // Let retransmissions of our last responses be absorbed.
            self.timers
                .set(Timer::Linger, now + Duration::from_millis(1500));
        }
    }

    fn on_timer(&mut self, now: Instant, t: Timer) -> Result<(), Error> {
        match t {
            Timer::Answer(CallId(i)) => {
                if self.calls[i].state == CallState::Ringing {
                    self.answer(now, i)?;
                }
            }
            Timer::Hangup(CallId(i)) => {
                if self.calls[i].state != CallState::Ended {
                    // A call placed by `sipkit call` ends after --hold, silently as before.
                    let placed = self.calls[i].out.is_some() && self.calls[i].parent.is_none();
                    if !placed {
                        let call_id = self.calls[i].call_id.clone();
                        self.say("ua_hanging_up", &[("call_id", &call_id)]);
                    }
                    if self.calls[i].report.ended.is_empty() {
                        self.calls[i].report.ended = "bye_sent".into();
                    }
                    self.send_bye(now, i)?;
                }
            }
            Timer::GiveUp(CallId(i)) => {
                let cancel = self.calls[i]
                    .out
                    .as_ref()
                    .is_some_and(|o| o.cancel_on_timeout);
                if self.calls[i].state == CallState::Calling && cancel {
                    self.say("call_cancelling", &[]);
                    let provisional = self.calls[i].out.as_ref().is_some_and(|o| o.provisional);
                    if provisional {
                        self.send_cancel(now, i);
                    } else if let Some(o) = self.calls[i].out.as_mut() {
                        // RFC 3261 §9.1: no CANCEL before a provisional response.
                        o.cancel_pending = true;
                    }
                } else if self.calls[i].state == CallState::Calling {
                    let peer = self.calls[i].report.peer.clone();
                    self.say("ua_no_answer", &[("uri", &peer)]);
                    self.calls[i].state = CallState::Ended;
                    self.calls[i].report.ended = "failed".into();
                    if let Some(p) = self.calls[i].parent {
                        self.child_final(now, p, 408, "Request Timeout")?;
                    }
                }
            }
            Timer::Subscription(CallId(i)) => {
                let expired = self.calls[i]
                    .transfer
                    .as_mut()
                    .and_then(|tr| tr.notifier.handle_timeout(now));
                if let Some(content) = expired {
                    self.send_notify(now, i, &content)?;
                }
            }
            Timer::NotifyWait(CallId(i)) => {
                if let Some(r) = self.calls[i].referring.as_mut() {
                    r.subscriber.handle_timeout(now);
                }
                self.after_subscriber(i);
            }
            Timer::Refresh => {
                let expires = self.opts.register_expires;
                self.send_register(now, expires)?;
            }
            Timer::Unregister => {
                if let Some(reason) = self.stopping.take() {
                    self.stopped = Some(reason);
                }
            }
            Timer::Stop => self.shutdown(now, "duration"),
            Timer::Linger => self.shutdown(now, "calls"),
        }
        Ok(())
    }

    fn on_event(&mut self, now: Instant, ev: EpEvent) -> Result<(), Error> {
        match ev {
            EpEvent::Request {
                key,
                bytes,
                source,
                cancels,
            } => self.on_request(now, key, &bytes, source, cancels),
            EpEvent::Response { key, status, bytes } => self.on_response(now, key, status, &bytes),
            EpEvent::Ack { call_id, .. } => {
                for i in 0..self.calls.len() {
                    let c = &mut self.calls[i];
                    if c.inbound && c.call_id == call_id && c.state == CallState::Answered {
                        c.state = CallState::Up;
                        self.say("ua_established", &[("call_id", &call_id)]);
                        if let Some(d) = self.opts.hangup_after {
                            self.timers.set(Timer::Hangup(CallId(i)), now + d);
                        }
                    }
                }
                Ok(())
            }
            EpEvent::AckTimeout { call_id, local_tag } => {
                if let Some(i) = self
                    .calls
                    .iter()
                    .position(|c| c.call_id == call_id && c.local_tag == local_tag)
                {
                    self.say("ua_no_ack", &[("call_id", &call_id)]);
                    self.calls[i].report.ended = "no_ack".into();
                    self.send_bye(now, i)?;
                }
                Ok(())
            }
            EpEvent::Timeout { key } => self.on_timeout(now, &key, false),
            EpEvent::TransportError { key } => {
                self.say("ua_send_failed", &[]);
                self.on_timeout(now, &key, true)
            }
        }
    }

    /// Answers `key` with a plain response built from `req` and notes it.
    #[allow(clippy::too_many_arguments)]
    fn reply(
        &mut self,
        now: Instant,
        key: &TransactionKey,
        req: &Request<'_>,
        status: u16,
        reason: &str,
        tag: Option<&str>,
    ) {
        let mut b = sipkit_message::response_from_request(req, status, reason);
        if status > 100 {
            let t = tag.map(str::to_owned).unwrap_or_else(|| self.core.tag());
            b = b.to_tag(&t);
        }
        if status == 405 {
            b = b.header(HeaderName::Allow, ALLOW);
        }
        let bytes = b.header(HeaderName::UserAgent, USER_AGENT).build();
        if let Err(e) = self.core.respond(now, key, &bytes) {
            tracing::debug!(error = %e, "response refused");
            return;
        }
        self.note(Note::Replied {
            status,
            reason: reason.to_owned(),
            method: req.method_str().to_owned(),
        });
    }

    fn note_response(&mut self, resp: &Response<'_>) {
        self.note(Note::Response {
            status: resp.status(),
            reason: resp.reason().to_owned(),
            method: resp.cseq().method.to_owned(),
            contacts: if (300..400).contains(&resp.status()) {
                choices(resp).into_iter().map(|c| c.uri).collect()
            } else {
                vec![]
            },
        });
    }

    // ------------------------------------------------------------ requests

    fn on_request(
        &mut self,
        now: Instant,
        key: TransactionKey,
        bytes: &[u8],
        source: SocketAddr,
        cancels: Option<TransactionKey>,
    ) -> Result<(), Error> {
        let Some(req) = as_request(bytes) else {
            return Ok(());
        };
        self.note(Note::Request {
            method: req.method_str().to_owned(),
            uri: req.uri().as_str().to_owned(),
            from: req.from().uri.as_str().to_owned(),
            source,
        });
        if req.method() == Method::Cancel {
            self.on_cancel(now, &key, &req, cancels);
            return Ok(());
        }
        let id = DialogId::of_request(&req);
        let found = id.as_ref().and_then(|id| {
            self.calls
                .iter()
                .position(|c| c.dialog.as_ref().is_some_and(|d| d.id() == id))
        });
        match (req.method(), id.is_some(), found) {
            (Method::Invite, false, _) => self.on_invite(now, key, bytes),
            (_, true, Some(i)) => self.in_dialog(now, i, key, &req),
            (_, true, None) => {
                self.reply(
                    now,
                    &key,
                    &req,
                    481,
                    "Call/Transaction Does Not Exist",
                    None,
                );
                Ok(())
            }
            (Method::Options, false, _) => {
                self.reply(now, &key, &req, 200, "OK", None);
                Ok(())
            }
            (Method::Bye | Method::Notify, false, _) => {
                self.reply(
                    now,
                    &key,
                    &req,
                    481,
                    "Call/Transaction Does Not Exist",
                    None,
                );
                Ok(())
            }
            _ => {
                self.reply(now, &key, &req, 405, "Method Not Allowed", None);
                Ok(())
            }
        }
    }

    fn on_cancel(
        &mut self,
        now: Instant,
        key: &TransactionKey,
        req: &Request<'_>,
        cancels: Option<TransactionKey>,
    ) {
        let Some(invite_key) = cancels else {
            self.reply(now, key, req, 481, "Call/Transaction Does Not Exist", None);
            return;
        };
        self.reply(now, key, req, 200, "OK", None);
        if let Some(i) = self.calls.iter().position(|c| {
            c.invite_key.as_ref() == Some(&invite_key) && c.state == CallState::Ringing
        }) {
            // RFC 3261 §9.2: the INVITE gets 487.
            let invite = self.calls[i].invite.clone();
            let tag = self.calls[i].local_tag.clone();
            if let Some(inv) = as_request(&invite) {
                self.reply(
                    now,
                    &invite_key,
                    &inv,
                    487,
                    "Request Terminated",
                    Some(&tag),
                );
            }
            let c = &mut self.calls[i];
            c.state = CallState::Ended;
            c.report.status = Some(487);
            c.report.ended = "cancelled".into();
            self.timers.clear(Timer::Answer(CallId(i)));
        }
    }

    fn on_invite(&mut self, now: Instant, key: TransactionKey, bytes: &[u8]) -> Result<(), Error> {
        let Some(req) = as_request(bytes) else {
            return Ok(());
        };
        let tag = self.core.tag();
        let contact = self.core.contact(&self.opts.user);
        let dialog = match Dialog::uas(&req, &tag, &contact) {
            Ok(d) => d,
            Err(e) => {
                self.say("ua_cannot_accept", &[("error", &e.to_string())]);
                self.reply(now, &key, &req, 400, "Bad Request", Some(&tag));
                return Ok(());
            }
        };
        let report = AgentCallReport {
            call_id: req.call_id().to_owned(),
            direction: "inbound".into(),
            peer: req.from().uri.as_str().to_owned(),
            status: None,
            ended: String::new(),
            transfer: None,
            referred_by: None,
        };
        let code = self.opts.answer_code;
        let mut call = Call {
            dialog: Some(dialog),
            dest: None,
            inbound: true,
            state: CallState::Ringing,
            invite_key: Some(key.clone()),
            invite: bytes.to_vec(),
            local_tag: tag.clone(),
            call_id: req.call_id().to_owned(),
            bye_key: None,
            reinvite_key: None,
            transfer: None,
            referring: None,
            parent: None,
            out: None,
            report,
            dialog_digest: DigestState::default(),
            before_bye: None,
        };
        let i = self.calls.len();
        if code >= 300 {
            self.reply(now, &key, &req, code, reason_for(code), Some(&tag));
            call.state = CallState::Ended;
            call.report.status = Some(code);
            call.report.ended = "rejected".into();
            self.calls.push(call);
            return Ok(());
        }
        if code < 200 || !self.opts.answer_delay.is_zero() {
            let ring = if code < 200 { code } else { 180 };
            if let Some(d) = &call.dialog {
                let b = d
                    .response(&req, ring, reason_for(ring))
                    .header(HeaderName::UserAgent, USER_AGENT)
                    .build();
                if self.core.respond(now, &key, &b).is_ok() {
                    self.note(Note::Replied {
                        status: ring,
                        reason: reason_for(ring).into(),
                        method: "INVITE".into(),
                    });
                }
            }
            if code >= 200 {
                self.timers
                    .set(Timer::Answer(CallId(i)), now + self.opts.answer_delay);
            }
            self.calls.push(call);
            return Ok(());
        }
        self.calls.push(call);
        self.answer(now, i)
    }

    fn answer(&mut self, now: Instant, i: usize) -> Result<(), Error> {
        let code = self.opts.answer_code;
        let adv = self.core.advertised();
        self.timers.clear(Timer::Answer(CallId(i)));
        let c = &mut self.calls[i];
        let (Some(key), Some(d)) = (c.invite_key.clone(), c.dialog.as_mut()) else {
            return Ok(());
        };
        let Some(req) = as_request(&c.invite) else {
            return Ok(());
        };
        let b = d
            .response(&req, code, reason_for(code))
            .header(HeaderName::UserAgent, USER_AGENT)
            .header(HeaderName::Allow, ALLOW)
            .header(HeaderName::Supported, "norefersub")
            .body(
                "application/sdp",
                sdp::session(adv.ip(), sdp::rtp_port(adv.port()), 1),
            )
            .build();
        self.core
            .respond_2xx(now, &key, &b, &c.call_id, &c.local_tag)?;
        d.set_confirmed();
        let hop = d.next_hop().to_owned();
        c.state = CallState::Answered;
        c.report.status = Some(code);
        self.note(Note::Replied {
            status: code,
            reason: reason_for(code).into(),
            method: "INVITE".into(),
        });
        let dest = (self.resolve)(&hop)?;
        self.calls[i].dest = Some(dest);
        Ok(())
    }

    fn in_dialog(
        &mut self,
        now: Instant,
        i: usize,
        key: TransactionKey,
        req: &Request<'_>,
    ) -> Result<(), Error> {
        let tag = self.calls[i].local_tag.clone();
        let Some(d) = self.calls[i].dialog.as_mut() else {
            return Ok(());
        };
        let checked = d.on_request(req);
        if req.method() == Method::Notify && self.calls[i].referring.is_some() {
            // The subscription outlives the INVITE usage and a NOTIFY may
            // overtake the one before it: the subscriber judges it (RFC 6665).
            self.on_refer_notify(now, i, &key, req, &tag);
            return Ok(());
        }
        if let Err(e) = checked {
            let (s, r) = match e {
                sipkit_dialog::Error::CSeqOutOfOrder { .. } => (500, "Server Internal Error"),
                _ => (481, "Call/Transaction Does Not Exist"),
            };
            self.reply(now, &key, req, s, r, Some(&tag));
            return Ok(());
        }
        match req.method() {
            Method::Bye => {
                self.reply(now, &key, req, 200, "OK", Some(&tag));
                let c = &mut self.calls[i];
                // Both sides may hang up at once (a transferor ends its dialog too, RFC 5589).
                if c.state != CallState::Closing {
                    c.state = CallState::Ended;
                }
                if c.report.ended.is_empty() {
                    c.report.ended = "bye_received".into();
                }
                if let (true, Some(o)) = (c.state == CallState::Ended, c.out.as_mut()) {
                    o.hangup.get_or_insert(HangupReport {
                        by: "remote".into(),
                        status: Some(200),
                    });
                }
                self.timers.clear(Timer::Hangup(CallId(i)));
            }
            Method::Refer => self.on_refer(now, i, key, req)?,
            Method::Invite => {
                let adv = self.core.advertised();
                let c = &mut self.calls[i];
                if let Some(d) = c.dialog.as_ref() {
                    let b = d
                        .response(req, 200, "OK")
                        .header(HeaderName::UserAgent, USER_AGENT)
                        .body(
                            "application/sdp",
                            sdp::session(adv.ip(), sdp::rtp_port(adv.port()), 2),
                        )
                        .build();
                    if self
                        .core
                        .respond_2xx(now, &key, &b, &c.call_id, &c.local_tag)
                        .is_ok()
                    {
                        self.note(Note::Replied {
                            status: 200,
                            reason: "OK".into(),
                            method: "INVITE".into(),
                        });
                    }
                }
            }
            Method::Info | Method::Options | Method::Update => {
                self.reply(now, &key, req, 200, "OK", Some(&tag))
            }
            Method::Notify => self.reply(
                now,
                &key,
                req,
                481,
                "Subscription Does Not Exist",
                Some(&tag),
            ),
            _ => self.reply(now, &key, req, 405, "Method Not Allowed", Some(&tag)),
        }
        Ok(())
    }

    /// A NOTIFY of the subscription of a REFER this agent sent.
    fn on_refer_notify(
        &mut self,
        now: Instant,
        i: usize,
        key: &TransactionKey,
        req: &Request<'_>,
        tag: &str,
    ) {
        let answer = match self.calls[i].referring.as_mut() {
            Some(r) => r.subscriber.on_notify(now, req),
            None => return,
        };
        self.reply(now, key, req, answer.status, answer.reason, Some(tag));
        let last = self.calls[i]
            .referring
            .as_ref()
            .and_then(|r| r.subscriber.notifications().last().cloned());
        if let Some(n) = last {
            self.note(Note::Notify {
                sipfrag_status: n.sipfrag_status,
                sipfrag: n.sipfrag,
                subscription_state: n.subscription_state,
                reason: n.reason,
                answered: n.answered,
            });
        }
        self.after_subscriber(i);
    }

    /// Re-arms the transferor's wait after its subscriber moved.
    fn after_subscriber(&mut self, i: usize) {
        let next = self.calls[i]
            .referring
            .as_ref()
            .and_then(|r| r.subscriber.poll_timeout());
        self.timers.set_opt(Timer::NotifyWait(CallId(i)), next);
    }

    fn on_refer(
        &mut self,
        now: Instant,
        i: usize,
        key: TransactionKey,
        req: &Request<'_>,
    ) -> Result<(), Error> {
        let tag = self.calls[i].local_tag.clone();
        if self.calls[i]
            .transfer
            .as_ref()
            .is_some_and(|t| t.notifier.is_active())
        {
            self.reply(now, &key, req, 491, "Request Pending", Some(&tag));
            return Ok(());
        }
        let cfg = NotifierConfig {
            duration: self.opts.refer_subscription,
            norefersub: self.opts.norefersub,
            accept: self.opts.refer_response,
        };
        let (notifier, ok) = match ReferNotifier::accept(now, req, cfg) {
            Ok(x) => x,
            Err(refusal) => {
                self.say("ua_refer_refused", &[("why", refusal.why)]);
                self.reply(now, &key, req, refusal.status, refusal.reason, Some(&tag));
                return Ok(());
            }
        };
        let Some(d) = self.calls[i].dialog.as_ref() else {
            return Ok(());
        };
        let mut b = d
            .response(req, ok.status, ok.reason)
            .header(HeaderName::UserAgent, USER_AGENT);
        if ok.refer_sub_false {
            b = b.raw_header("Refer-Sub", "false");
        }
        let bytes = b.build();
        self.core.respond(now, &key, &bytes)?;
        self.note(Note::Replied {
            status: ok.status,
            reason: ok.reason.into(),
            method: "REFER".into(),
        });
        self.say(
            "ua_transferring",
            &[("target", &ok.target), ("referred_by", &ok.referred_by)],
        );
        self.timers
            .set_opt(Timer::Subscription(CallId(i)), notifier.poll_timeout());
        self.calls[i].transfer = Some(Transferee {
            notifier,
            child: None,
            report: TransfereeReport {
                refer_to: ok.target.clone(),
                refer_status: ok.status,
                referred_by: ok.referred_by.clone(),
                notified: vec![],
                new_call_status: None,
            },
        });
        self.notify(now, i, 100, "Trying")?;
        // The new call, with Referred-By (RFC 3892) and this UA as caller.
        let adv = self.core.advertised();
        let from = format!(
            "<sip:{}@{}>;tag={}",
            self.opts.user,
            host_only(adv),
            self.core.tag()
        );
        let call_id = self.core.call_id();
        let contact = self.core.contact(&self.opts.user);
        let mut setup = CallSetup::new(&from, &format!("<{}>", ok.target), &call_id, &contact, 1);
        setup
            .headers
            .push(("Referred-By".into(), ok.referred_by.clone()));
        setup.headers.push(("User-Agent".into(), USER_AGENT.into()));
        setup.headers.push(("Allow".into(), ALLOW.into()));
        setup.body = Some((
            "application/sdp".into(),
            sdp::session(adv.ip(), sdp::rtp_port(adv.port()), 1),
        ));
        let report = AgentCallReport {
            call_id,
            direction: "outbound".into(),
            peer: ok.target.clone(),
            status: None,
            ended: String::new(),
            transfer: None,
            referred_by: Some(ok.referred_by),
        };
        // The transferee calls the target without following redirects, and
        // gives up after --ring-timeout without CANCEL.
        if let Err(e) = (self.resolve)(&ok.target) {
            {
                self.say(
                    "ua_cannot_call",
                    &[("uri", &ok.target), ("error", &e.to_string())],
                );
                return self.notify(now, i, 503, "Service Unavailable");
            }
        }
        let out = Outbound {
            setup,
            follower: RedirectFollower::new(&ok.target, RedirectPolicy { max_redirects: 0 }),
            original: ok.target.clone(),
            proxy: None,
            ring_timeout: self.opts.ring_timeout,
            cancel_on_timeout: false,
            hangup_after: self.opts.hangup_after,
            provisional: false,
            cancel_pending: false,
            attempts: Vec::new(),
            reasons: Vec::new(),
            last: (None, None),
            hangup: None,
            digest: DigestState::default(),
            auth: None,
            auth_failed: false,
        };
        let child = self.push_outbound(out, Some(i), report);
        if let Some(t) = self.calls[i].transfer.as_mut() {
            t.child = Some(child);
        }
        self.follow(now, child, Next::Try(ok.target.clone()), 0, "")
    }

    /// Adds an outbound call that has not sent anything yet.
    fn push_outbound(
        &mut self,
        out: Outbound,
        parent: Option<usize>,
        report: AgentCallReport,
    ) -> usize {
        let i = self.calls.len();
        self.calls.push(Call {
            dialog: None,
            dest: None,
            inbound: false,
            state: CallState::Calling,
            invite_key: None,
            invite: Vec::new(),
            local_tag: String::new(),
            call_id: out.setup.call_id.clone(),
            bye_key: None,
            reinvite_key: None,
            transfer: None,
            referring: None,
            parent,
            out: Some(Box::new(out)),
            report,
            dialog_digest: DigestState::default(),
            before_bye: None,
        });
        i
    }

    /// Where call `i` sends a request for `uri`: its proxy, or the URI resolved.
    fn dest_for(&self, i: usize, uri: &str) -> Result<SocketAddr, Error> {
        match self.calls[i].out.as_ref().and_then(|o| o.proxy) {
            Some(p) => Ok(p),
            None => (self.resolve)(uri),
        }
    }

    /// Goes on with call `i` after an attempt ended with `status` (0: no
    /// response) and `reason`: the next target of its redirect chain, or
    /// the end of the call (reported to a transfer it was placed for).
    fn follow(
        &mut self,
        now: Instant,
        i: usize,
        mut next: Next,
        status: u16,
        reason: &str,
    ) -> Result<(), Error> {
        loop {
            match next {
                Next::Try(uri) => match self.dest_for(i, &uri) {
                    Ok(dest) => return self.send_invite(now, i, &uri, dest),
                    Err(e) => {
                        let error = e.to_string();
                        self.say("cannot_send", &[("target", &uri), ("error", &error)]);
                        let Some(o) = self.calls[i].out.as_mut() else {
                            return Ok(());
                        };
                        o.attempts.push(AttemptReport {
                            uri,
                            cseq: o.setup.next_seq(),
                            destination: None,
                            status: None,
                            reason: error.clone(),
                        });
                        o.last = (None, Some(error));
                        next = o.follower.on_final(0, vec![]);
                    }
                },
                Next::Stop(_) => {
                    self.timers.clear(Timer::GiveUp(CallId(i)));
                    self.calls[i].state = CallState::Ended;
                    self.calls[i].report.ended = "failed".into();
                    if let Some(p) = self.calls[i].parent {
                        let (status, reason) = if status == 0 {
                            (408, "Request Timeout")
                        } else {
                            (status, reason)
                        };
                        self.child_final(now, p, status, reason)?;
                    }
                    return Ok(());
                }
            }
        }
    }

    /// CANCELs call `i`'s INVITE (RFC 3261 §9.1).
    fn send_cancel(&mut self, now: Instant, i: usize) {
        let Some(key) = self.calls[i].invite_key.clone() else {
            return;
        };
        match self.core.cancel(now, &key) {
            Ok(_) => self.say("call_cancel_sent", &[]),
            Err(e) => self.say("call_cannot_cancel", &[("error", &e.to_string())]),
        }
    }

    /// Sends the next INVITE of call `i`'s chain to `uri` at `dest`.
    fn send_invite(
        &mut self,
        now: Instant,
        i: usize,
        uri: &str,
        dest: SocketAddr,
    ) -> Result<(), Error> {
        let via = self.core.via();
        let random = self.core.random_bytes();
        let Some(o) = self.calls[i].out.as_mut() else {
            return Err(Error::Internal("an outbound call without its setup"));
        };
        // Credentials for this Request-URI, when a challenge was answered
        // (a retry, or the next target of a redirect: the next nc).
        o.setup
            .headers
            .retain(|(n, _)| n != "Authorization" && n != "Proxy-Authorization");
        if let Some(c) = self.opts.credentials.as_ref() {
            for (name, value) in o.digest.headers(c, "INVITE", uri, random) {
                o.setup.headers.push((name.to_owned(), value));
            }
        }
        let (invite, seq) = o.setup.invite(uri, &via);
        o.provisional = false;
        o.cancel_pending = false;
        o.attempts.push(AttemptReport {
            uri: uri.to_owned(),
            cseq: seq,
            destination: Some(dest.to_string()),
            status: None,
            reason: String::new(),
        });
        let ring = o.ring_timeout;
        let k = self.core.send_request(now, &invite, dest)?;
        let c = &mut self.calls[i];
        c.invite_key = Some(k);
        c.invite = invite;
        c.dest = Some(dest);
        self.note(Note::Sent {
            method: "INVITE".into(),
            uri: uri.to_owned(),
            cseq: seq,
            to: dest,
        });
        self.timers.set(Timer::GiveUp(CallId(i)), now + ring);
        Ok(())
    }

    /// Sends the NOTIFY reporting `status` on call `i`'s subscription.
    fn notify(&mut self, now: Instant, i: usize, status: u16, reason: &str) -> Result<(), Error> {
        let Some(t) = self.calls[i].transfer.as_mut() else {
            return Ok(());
        };
        let Some(content) = t.notifier.notify(now, status, reason) else {
            return Ok(());
        };
        t.report.notified.push(status);
        let next = t.notifier.poll_timeout();
        self.timers.set_opt(Timer::Subscription(CallId(i)), next);
        self.send_notify(now, i, &content)
    }

    fn send_notify(
        &mut self,
        now: Instant,
        i: usize,
        content: &NotifyContent,
    ) -> Result<(), Error> {
        let via = self.core.via();
        let c = &mut self.calls[i];
        let (Some(d), Some(dest)) = (c.dialog.as_mut(), c.dest) else {
            return Ok(());
        };
        // The subscription outlives the INVITE usage (RFC 5057): a BYE does not stop its NOTIFYs.
        let was = d.state();
        if was == sipkit_dialog::DialogState::Terminated {
            d.set_confirmed();
        }
        let built = d.request("NOTIFY", &via);
        if was == sipkit_dialog::DialogState::Terminated {
            d.terminate();
        }
        let (b, seq) = built?;
        let bytes = b
            .header(HeaderName::Event, &content.event)
            .header(HeaderName::SubscriptionState, &content.subscription_state)
            .header(HeaderName::UserAgent, USER_AGENT)
            .body(content.content_type, content.body.clone())
            .build();
        let uri = d.request_target().0;
        self.core.send_request(now, &bytes, dest)?;
        let frag = String::from_utf8_lossy(&content.body).trim_end().to_owned();
        self.note(Note::Sent {
            method: "NOTIFY".into(),
            uri,
            cseq: seq,
            to: dest,
        });
        self.say(
            "ua_notify_carries",
            &[("sipfrag", &frag), ("state", &content.subscription_state)],
        );
        Ok(())
    }

    // ----------------------------------------------------------- responses

    fn on_response(
        &mut self,
        now: Instant,
        key: TransactionKey,
        status: u16,
        bytes: &[u8],
    ) -> Result<(), Error> {
        let Some(resp) = as_response(bytes) else {
            return Ok(());
        };
        self.note_response(&resp);
        if self
            .reg
            .as_ref()
            .is_some_and(|r| r.key.as_ref() == Some(&key))
        {
            return self.on_register_response(now, &resp);
        }
        if let Some(i) = self
            .calls
            .iter()
            .position(|c| c.bye_key.as_ref() == Some(&key))
        {
            if status >= 200 && self.dialog_auth(i, &resp) == AuthStep::Retry {
                return self.send_bye_again(now, i);
            }
            if status >= 200 {
                if let Some(d) = self.calls[i].dialog.as_mut() {
                    d.on_response(&resp);
                }
                self.calls[i].state = CallState::Ended;
                if self.calls[i].report.ended.is_empty() {
                    self.calls[i].report.ended = "bye_sent".into();
                }
                if let Some(o) = self.calls[i].out.as_mut() {
                    o.hangup.get_or_insert(HangupReport {
                        by: "local".into(),
                        status: Some(status),
                    });
                }
            }
            return Ok(());
        }
        if let Some(i) = self
            .calls
            .iter()
            .position(|c| c.referring.as_ref().is_some_and(|r| r.key == key))
        {
            if status >= 200 && self.dialog_auth(i, &resp) == AuthStep::Retry {
                // RFC 3261 §22.2: the REFER again, CSeq + 1, with credentials.
                let Some(r) = self.calls[i].referring.as_ref() else {
                    return Ok(());
                };
                let (target, wait, no_sub) = (r.target.clone(), r.wait, r.no_refer_sub);
                return self.refer(now, CallId(i), &target, wait, no_sub);
            }
            let mut waiting = None;
            if let Some(r) = self.calls[i].referring.as_mut() {
                if status >= 200 && r.reason.is_none() {
                    r.reason = Some(resp.reason().to_owned());
                    r.subscriber.on_refer_response(now, &resp);
                    if status < 300 && r.subscriber.outcome().is_none() {
                        waiting = Some(r.wait.as_secs());
                    }
                }
            }
            if let Some(secs) = waiting {
                self.say("transfer_waiting", &[("secs", &secs.to_string())]);
            }
            self.after_subscriber(i);
            return Ok(());
        }
        if let Some(i) = self
            .calls
            .iter()
            .position(|c| c.reinvite_key.as_ref() == Some(&key))
        {
            if (200..300).contains(&status) {
                self.ack_2xx(now, i, &resp)?;
            }
            return Ok(());
        }
        let Some(i) = self
            .calls
            .iter()
            .position(|c| !c.inbound && c.invite_key.as_ref() == Some(&key))
        else {
            return Ok(());
        };
        if self.calls[i].state != CallState::Calling {
            return Ok(());
        }
        if status < 200 {
            let cancel = match self.calls[i].out.as_mut() {
                Some(o) => {
                    o.provisional = true;
                    std::mem::take(&mut o.cancel_pending)
                }
                None => false,
            };
            if cancel {
                self.send_cancel(now, i);
            }
            return Ok(());
        }
        if self.invite_auth(now, i, &resp)? {
            return Ok(());
        }
        self.timers.clear(Timer::GiveUp(CallId(i)));
        self.calls[i].report.status = Some(status);
        let parent = self.calls[i].parent;
        let reason = resp.reason().to_owned();
        let Some(o) = self.calls[i].out.as_mut() else {
            return Ok(());
        };
        if let Some(a) = o.attempts.last_mut() {
            a.status = Some(status);
            a.reason = reason.clone();
        }
        o.last = (Some(status), Some(reason.clone()));
        if (300..400).contains(&status) {
            o.reasons.push(reason.clone());
        }
        let hangup_after = o.hangup_after;
        let next = o.follower.on_final(status, choices(&resp));
        let rec = o.follower.redirects().last().cloned();
        if status < 300 {
            self.ack_2xx(now, i, &resp)?;
            self.calls[i].state = CallState::Up;
            if let Some(d) = hangup_after {
                self.timers.set(Timer::Hangup(CallId(i)), now + d);
            }
            if let Some(p) = parent {
                self.child_final(now, p, status, resp.reason())?;
                // RFC 5589 §6.1: the transfer succeeded; the old call ends.
                if matches!(self.calls[p].state, CallState::Up | CallState::Answered) {
                    self.say("ua_transfer_done", &[]);
                    self.calls[p].report.ended = "transferred".into();
                    self.send_bye(now, p)?;
                }
            }
            return Ok(());
        }
        if let (true, Some(rec)) = ((300..400).contains(&status), rec) {
            let (next_uri, stop) = match &next {
                Next::Try(u) => (Some(u.clone()), None),
                Next::Stop(s) => (None, Some(s.as_str().to_owned())),
            };
            self.note(Note::Redirect {
                status,
                queued: rec.queued,
                looped: rec.looped,
                next: next_uri,
                stop,
            });
        }
        self.follow(now, i, next, status, &reason)
    }

    /// A final response to call `i`'s INVITE in the digest exchange: true
    /// when it was a challenge answered with a new INVITE (same Call-ID
    /// and From tag, CSeq + 1, RFC 3261 §22.2; the transaction layer ACKed
    /// the 401/407). A wrong password marks the call `auth_failed`; the
    /// response then ends it as any failure does.
    fn invite_auth(&mut self, now: Instant, i: usize, resp: &Response<'_>) -> Result<bool, Error> {
        let Some(o) = self.calls[i].out.as_mut() else {
            return Ok(false);
        };
        let mut digest = std::mem::take(&mut o.digest);
        let mut auth = o.auth.take();
        let step = self.auth_step(&mut digest, &mut auth, resp);
        let dest = self.calls[i].dest;
        let Some(o) = self.calls[i].out.as_mut() else {
            return Ok(false);
        };
        o.digest = digest;
        o.auth = auth;
        match step {
            AuthStep::Retry => {
                if let Some(a) = o.attempts.last_mut() {
                    a.status = Some(resp.status());
                    a.reason = resp.reason().to_owned();
                }
                let uri = o.follower.current().to_owned();
                let dest = match dest {
                    Some(d) => d,
                    None => self.dest_for(i, &uri)?,
                };
                self.send_invite(now, i, &uri, dest)?;
                Ok(true)
            }
            AuthStep::Failed => {
                o.auth_failed = true;
                Ok(false)
            }
            AuthStep::NotMine | AuthStep::Said => Ok(false),
        }
    }

    /// ACKs the 2xx of call `i`'s INVITE or re-INVITE and keeps the ACK for
    /// the 2xx's retransmissions (RFC 3261 §13.2.2.4); the first 2xx makes
    /// the dialog.
    fn ack_2xx(&mut self, _now: Instant, i: usize, resp: &Response<'_>) -> Result<(), Error> {
        let seq = resp.cseq().seq;
        let via = self.core.via();
        let c = &mut self.calls[i];
        if c.dialog.is_none() {
            let Some(inv) = as_request(&c.invite) else {
                return Err(Error::Internal("the INVITE does not parse"));
            };
            let d = Dialog::uac(&inv, resp)?;
            c.local_tag = d.id().local_tag.clone();
            c.dialog = Some(d);
        } else if let Some(d) = c.dialog.as_mut() {
            // A re-INVITE's 2xx refreshes the remote target (§12.2.1.2).
            d.on_response(resp);
        }
        let Some(d) = c.dialog.as_ref() else {
            return Ok(());
        };
        let hop = d.next_hop().to_owned();
        let ack = d
            .ack(seq, &via)
            .header(HeaderName::UserAgent, USER_AGENT)
            .build();
        let remote_tag = d.id().remote_tag.clone();
        let uri = d.request_target().0;
        let call_id = d.id().call_id.clone();
        let dest = self.dest_for(i, &hop)?;
        self.core
            .send_ack(AckFor2xx::new(&call_id, seq, &remote_tag, ack), dest);
        self.calls[i].dest = Some(dest);
        self.note(Note::Sent {
            method: "ACK".into(),
            uri,
            cseq: seq,
            to: dest,
        });
        Ok(())
    }

    fn child_final(
        &mut self,
        now: Instant,
        parent: usize,
        status: u16,
        reason: &str,
    ) -> Result<(), Error> {
        if let Some(t) = self.calls[parent].transfer.as_mut() {
            t.report.new_call_status = Some(status);
        }
        let reason = if reason.is_empty() {
            reason_for(status)
        } else {
            reason
        };
        self.notify(now, parent, status, reason)
    }

    /// A client transaction ended without a final response: Timer B or F,
    /// or (`transport_error`) a failed send.
    fn on_timeout(
        &mut self,
        now: Instant,
        key: &TransactionKey,
        transport_error: bool,
    ) -> Result<(), Error> {
        if let Some(r) = self.reg.as_mut().filter(|r| r.key.as_ref() == Some(key)) {
            let uri = r.uri.clone();
            r.report.status = None;
            r.key = None;
            self.say("ua_registrar_silent", &[("uri", &uri)]);
            if let Some(reason) = self.stopping.take() {
                self.stopped = Some(reason);
            }
            return Ok(());
        }
        if let Some(i) = self
            .calls
            .iter()
            .position(|c| c.bye_key.as_ref() == Some(key))
        {
            self.calls[i].state = CallState::Ended;
            let placed = self.calls[i].parent.is_none();
            if let (true, Some(o)) = (placed, self.calls[i].out.as_mut()) {
                o.hangup.get_or_insert(HangupReport {
                    by: "local".into(),
                    status: None,
                });
                self.say("call_bye_no_response", &[]);
            }
            return Ok(());
        }
        if let Some(i) = self
            .calls
            .iter()
            .position(|c| c.referring.as_ref().is_some_and(|r| &r.key == key))
        {
            if let Some(r) = self.calls[i].referring.as_mut() {
                r.subscriber.on_refer_timeout();
            }
            self.after_subscriber(i);
            return Ok(());
        }
        if let Some(i) = self.calls.iter().position(|c| {
            !c.inbound && c.invite_key.as_ref() == Some(key) && c.state == CallState::Calling
        }) {
            self.timers.clear(Timer::GiveUp(CallId(i)));
            let why = if transport_error {
                "call_transport_failed"
            } else {
                "call_no_response"
            };
            let reason = agent_text(self.opts.lang, why, &[]);
            let Some(o) = self.calls[i].out.as_mut() else {
                return Ok(());
            };
            if let Some(a) = o.attempts.last_mut() {
                a.reason = reason.clone();
            }
            o.last = (None, Some(reason));
            // The follower takes 408 for "no response" (RFC 3261 §8.1.3.1).
            let next = o.follower.on_final(408, vec![]);
            return self.follow(now, i, next, 0, "");
        }
        Ok(())
    }

    fn send_bye(&mut self, now: Instant, i: usize) -> Result<(), Error> {
        let via = self.core.via();
        let random = self.core.random_bytes();
        self.timers.clear(Timer::Hangup(CallId(i)));
        let c = &mut self.calls[i];
        let (Some(d), Some(dest)) = (c.dialog.as_mut(), c.dest) else {
            c.state = CallState::Ended;
            return Ok(());
        };
        let uri = d.request_target().0;
        let authorization = self
            .opts
            .credentials
            .as_ref()
            .map(|cr| c.dialog_digest.headers(cr, "BYE", &uri, random))
            .unwrap_or_default();
        let Ok((b, seq)) = d.request("BYE", &via) else {
            c.state = CallState::Ended;
            return Ok(());
        };
        let mut b = b.header(HeaderName::UserAgent, USER_AGENT);
        for (name, value) in authorization {
            b = b.raw_header(name, value);
        }
        let bytes = b.build();
        if self.opts.credentials.is_some() {
            c.before_bye = Some(d.clone());
        }
        d.terminate();
        c.bye_key = Some(self.core.send_request(now, &bytes, dest)?);
        c.state = CallState::Closing;
        self.note(Note::Sent {
            method: "BYE".into(),
            uri,
            cseq: seq,
            to: dest,
        });
        Ok(())
    }

    /// The BYE of call `i` again after a challenge (RFC 3261 §22.2): the
    /// dialog ended with the first BYE, so it is taken as it was then (its
    /// CSeq counted the first BYE: this one gets the next).
    fn send_bye_again(&mut self, now: Instant, i: usize) -> Result<(), Error> {
        if let Some(d) = self.calls[i].before_bye.take() {
            self.calls[i].dialog = Some(d);
        }
        self.send_bye(now, i)
    }

    /// A final response to an in-dialog request (REFER, BYE) of call `i`
    /// in the digest exchange of its dialog.
    fn dialog_auth(&mut self, i: usize, resp: &Response<'_>) -> AuthStep {
        let mut digest = std::mem::take(&mut self.calls[i].dialog_digest);
        let mut auth = None;
        let step = self.auth_step(&mut digest, &mut auth, resp);
        self.calls[i].dialog_digest = digest;
        step
    }

    // -------------------------------------------------------- registration

    fn start_registration(&mut self, now: Instant, uri: &str) -> Result<(), Error> {
        let u = sipkit_message::Uri::parse(uri)
            .map_err(|e| Error::BadUri(uri.to_owned(), e.to_string()))?;
        let host = u.host.map(|h| h.to_string()).unwrap_or_default();
        let aor = self
            .opts
            .aor
            .clone()
            .unwrap_or_else(|| format!("sip:{}@{host}", self.opts.user));
        let dest = (self.resolve)(uri)?;
        self.reg = Some(Registration {
            uri: uri.to_owned(),
            aor: aor.clone(),
            dest,
            call_id: self.core.call_id(),
            tag: self.core.tag(),
            cseq: 0,
            key: None,
            unregistering: false,
            report: RegistrationReport {
                registrar: uri.to_owned(),
                aor,
                status: None,
                expires: None,
                unregister_status: None,
                auth: None,
            },
            digest: DigestState::default(),
        });
        let expires = self.opts.register_expires;
        self.send_register(now, expires)
    }

    fn send_register(&mut self, now: Instant, expires: u32) -> Result<(), Error> {
        let via = self.core.via();
        let contact = self.core.contact(&self.opts.user);
        self.timers.clear(Timer::Refresh);
        let Some(r) = self.reg.as_mut() else {
            return Ok(());
        };
        r.cseq += 1;
        let random = self.core.random_bytes();
        let authorization = self
            .opts
            .credentials
            .as_ref()
            .map(|c| r.digest.headers(c, "REGISTER", &r.uri, random))
            .unwrap_or_default();
        let mut b = RequestBuilder::new("REGISTER", &r.uri)
            .header(HeaderName::Via, via)
            .header(HeaderName::MaxForwards, "70")
            .header(HeaderName::From, format!("<{}>;tag={}", r.aor, r.tag))
            .header(HeaderName::To, format!("<{}>", r.aor))
            .header(HeaderName::CallId, &r.call_id)
            .header(HeaderName::CSeq, format!("{} REGISTER", r.cseq))
            .header(HeaderName::Contact, format!("<{contact}>"))
            .header(HeaderName::Expires, expires.to_string())
            .header(HeaderName::UserAgent, USER_AGENT);
        for (name, value) in authorization {
            b = b.raw_header(name, value);
        }
        let bytes = b.build();
        r.key = Some(self.core.send_request(now, &bytes, r.dest)?);
        let n = Note::Sent {
            method: "REGISTER".into(),
            uri: r.uri.clone(),
            cseq: r.cseq,
            to: r.dest,
        };
        self.note(n);
        Ok(())
    }

    fn on_register_response(&mut self, now: Instant, resp: &Response<'_>) -> Result<(), Error> {
        let Some(r) = self.reg.as_mut() else {
            return Ok(());
        };
        let status = resp.status();
        if status < 200 {
            return Ok(());
        }
        r.key = None;
        let mut digest = std::mem::take(&mut r.digest);
        let mut auth = r.report.auth.take();
        let step = self.auth_step(&mut digest, &mut auth, resp);
        let Some(r) = self.reg.as_mut() else {
            return Ok(());
        };
        r.digest = digest;
        r.report.auth = auth;
        if step == AuthStep::Retry {
            let expires = if r.unregistering {
                0
            } else {
                self.opts.register_expires
            };
            return self.send_register(now, expires);
        }
        if r.unregistering {
            r.report.unregister_status = Some(status);
            self.timers.clear(Timer::Unregister);
            if let Some(reason) = self.stopping.take() {
                self.stopped = Some(reason);
            }
            return Ok(());
        }
        r.report.status = Some(status);
        if step == AuthStep::Failed {
            // Refused for the credentials: nothing will make it register,
            // so the agent stops (`sipkit ua` exits 1), as a script expects.
            self.shutdown(now, "auth_failed");
            return Ok(());
        }
        if step != AuthStep::NotMine {
            // A challenge or unusable challenge that was said already.
            return Ok(());
        }
        let (key, args) = if (200..300).contains(&status) {
            let granted = resp
                .contacts()
                .filter_map(Result::ok)
                .find_map(|c| c.expires())
                .or_else(|| resp.expires().ok().flatten())
                .unwrap_or(self.opts.register_expires);
            r.report.expires = Some(granted);
            let args = vec![("aor", r.aor.clone()), ("secs", granted.to_string())];
            if granted > 0 {
                self.timers.set(
                    Timer::Refresh,
                    now + Duration::from_secs(u64::from(granted.max(2) / 2)),
                );
            }
            ("ua_registered", args)
        } else {
            ("ua_register_refused", vec![("status", status.to_string())])
        };
        let args: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
        self.say(key, &args);
        Ok(())
    }

    // ---------------------------------------------------------- digest

    /// A final response to a request of a chain with digest state `d`
    /// (taken out of the chain) and report `auth`: answers a 401/407 when
    /// there are credentials (RFC 3261 §22.2), and says why not when it
    /// cannot; a second challenge to the answered request (unless stale) or
    /// a 403 to it is a wrong password (`auth_failed`).
    fn auth_step(
        &mut self,
        d: &mut DigestState,
        auth: &mut Option<AuthReport>,
        resp: &Response<'_>,
    ) -> AuthStep {
        let status = resp.status();
        let method = resp.cseq().method.to_owned();
        // A 403 counts only as the answer to credentials sent.
        let refused = status == 403 && d.sent_credentials();
        if !(status == 401 || status == 407 || refused) {
            d.on_final();
            if let Some(a) = auth.as_mut().filter(|a| a.outcome == "challenged") {
                a.outcome = "authenticated".into();
            }
            return AuthStep::NotMine;
        }
        let user = self
            .opts
            .credentials
            .as_ref()
            .map_or_else(|| self.opts.user.clone(), |c| c.user.clone());
        let explanation = sipkit_codes::explain(status, self.opts.lang)
            .map(|e| e.summary)
            .unwrap_or_default();
        let report = auth.get_or_insert_with(|| AuthReport {
            user: user.clone(),
            realm: None,
            algorithm: None,
            challenges: 0,
            outcome: String::new(),
            status: None,
            explanation: None,
        });
        let status_s = status.to_string();
        if self.opts.credentials.is_none() {
            report.outcome = "no_password".into();
            report.status = Some(status);
            report.explanation = Some(explanation);
            self.say(
                "auth_no_password",
                &[("status", &status_s), ("method", &method)],
            );
            return AuthStep::Said;
        }
        let decision = if status == 403 {
            Decision::Failed
        } else {
            d.on_challenge(resp)
        };
        if let Some((realm, algorithm)) = d.realm_and_algorithm() {
            report.realm = Some(realm);
            report.algorithm = Some(algorithm.to_owned());
        }
        report.challenges = d.answered;
        let realm = report.realm.clone().unwrap_or_default();
        let algorithm = report.algorithm.clone().unwrap_or_default();
        match decision {
            Decision::Retry { stale } => {
                report.outcome = "challenged".into();
                let header = d.challenge_header();
                let key = if stale {
                    "auth_stale"
                } else {
                    "auth_answering"
                };
                self.say(
                    key,
                    &[
                        ("status", &status_s),
                        ("header", header),
                        ("user", &user),
                        ("realm", &realm),
                        ("algorithm", &algorithm),
                        ("method", &method),
                    ],
                );
                AuthStep::Retry
            }
            Decision::Failed => {
                report.outcome = "auth_failed".into();
                report.status = Some(status);
                report.explanation = Some(explanation.clone());
                self.say(
                    "auth_failed",
                    &[
                        ("status", &status_s),
                        ("reason", resp.reason()),
                        ("method", &method),
                        ("user", &user),
                        ("realm", &realm),
                        ("explanation", &explanation),
                    ],
                );
                AuthStep::Failed
            }
            Decision::Unsupported(why) => {
                report.outcome = "unsupported".into();
                report.status = Some(status);
                report.explanation = Some(explanation);
                self.say(
                    "auth_unsupported",
                    &[("status", &status_s), ("method", &method), ("error", &why)],
                );
                AuthStep::Said
            }
        }
    }
}

fn as_request(bytes: &[u8]) -> Option<Request<'_>> {
    match parse(bytes) {
        Ok(Message::Request(r)) => Some(r),
        _ => None,
    }
}

fn as_response(bytes: &[u8]) -> Option<Response<'_>> {
    match parse(bytes) {
        Ok(Message::Response(r)) => Some(r),
        _ => None,
    }
}

/// The registered reason phrase of a code (`sipkit_codes`); an unregistered
/// code gets its class's x00 phrase, as a receiver treats it (RFC 3261 §21).
pub fn reason_for(code: u16) -> &'static str {
    sipkit_codes::reason_phrase(code)
        .or_else(|| sipkit_codes::reason_phrase(code / 100 * 100))
        .unwrap_or("Unknown")
}
