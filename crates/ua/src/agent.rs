//! `sipkit ua`: a headless user agent that listens, optionally registers,
//! answers calls (with a configurable code and delay), and acts as
//! transferee: on REFER it answers 202, sends NOTIFY "100 Trying", calls the
//! Refer-To target with Referred-By, sends NOTIFY with the final status, and
//! hangs up the old call (RFC 3515, RFC 3892, RFC 5589).

use std::future::Future;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use sipkit_dialog::{
    AckFor2xx, CallSetup, Dialog, DialogId, NotifierConfig, NotifyContent, ReferNotifier,
};
use sipkit_message::{HeaderName, Method, Request, RequestBuilder};
use sipkit_transaction::TransactionKey;

use crate::call::{as_request, as_response, note_request, note_response, reply};
use crate::endpoint::{now, Endpoint, EpEvent};
use crate::report::{AgentCallReport, AgentReport, Note, RegistrationReport, TransfereeReport};
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
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
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

#[derive(Debug)]
struct Call {
    dialog: Option<Dialog>,
    dest: Option<SocketAddr>,
    inbound: bool,
    state: State,
    invite_key: Option<TransactionKey>,
    invite: Vec<u8>,
    local_tag: String,
    call_id: String,
    answer_at: Option<Instant>,
    hangup_at: Option<Instant>,
    give_up_at: Option<Instant>,
    bye_key: Option<TransactionKey>,
    transfer: Option<Transferee>,
    parent: Option<usize>,
    report: AgentCallReport,
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
    refresh_at: Option<Instant>,
    unregistering: bool,
    report: RegistrationReport,
}

/// The headless UA's state.
#[derive(Debug)]
struct Agent {
    opts: AgentOptions,
    calls: Vec<Call>,
    reg: Option<Registration>,
    stop_at: Option<Instant>,
    linger_until: Option<Instant>,
}

/// Runs the UA until `shutdown` resolves, `--duration` passes or `--calls`
/// inbound calls have ended; then un-registers and reports.
pub async fn run(
    ep: &mut Endpoint,
    opts: AgentOptions,
    notes: &mut dyn FnMut(Note),
    shutdown: impl Future<Output = ()>,
) -> Result<AgentReport, Error> {
    let listen = format!(
        "{}:{}",
        ep.transport().as_str().to_ascii_lowercase(),
        ep.local_addr()
    );
    notes(Note::Listening {
        listen: listen.clone(),
        contact: ep.contact(&opts.user),
    });
    let mut agent = Agent {
        stop_at: opts.duration.map(|d| now() + d),
        opts,
        calls: Vec::new(),
        reg: None,
        linger_until: None,
    };
    if let Some(uri) = agent.opts.register.clone() {
        agent.start_registration(ep, &uri, notes).await?;
    }
    let mut shutdown = std::pin::pin!(shutdown);
    let stopped;
    loop {
        if agent.linger_until.is_some_and(|t| now() >= t) {
            stopped = "calls".to_owned();
            break;
        }
        if agent.stop_at.is_some_and(|t| now() >= t) {
            stopped = "duration".to_owned();
            break;
        }
        let deadline = agent.next_deadline();
        tokio::select! {
            ev = ep.next(deadline) => agent.on_event(ep, ev, notes).await?,
            () = &mut shutdown => {
                stopped = "signal".to_owned();
                break;
            }
        }
        agent.check_done();
    }
    agent.unregister(ep, notes).await;
    ep.send_queued().await;
    let calls = agent.calls.into_iter().map(|mut c| {
        if c.state != State::Ended {
            c.report.ended = "active".into();
        }
        if let Some(t) = c.transfer {
            c.report.transfer = Some(t.report);
        }
        c.report
    });
    Ok(AgentReport {
        listen,
        registration: agent.reg.map(|r| r.report),
        calls: calls.collect(),
        stopped,
    })
}

impl Agent {
    fn next_deadline(&self) -> Option<Instant> {
        let mut all: Vec<Instant> = Vec::new();
        for c in &self.calls {
            if c.state == State::Ended {
                continue;
            }
            all.extend(c.answer_at);
            all.extend(c.hangup_at);
            all.extend(c.give_up_at);
            if let Some(t) = &c.transfer {
                all.extend(t.notifier.poll_timeout());
            }
        }
        if let Some(r) = &self.reg {
            all.extend(r.refresh_at);
        }
        all.extend(self.stop_at);
        all.extend(self.linger_until);
        all.into_iter().min()
    }

    fn check_done(&mut self) {
        let Some(n) = self.opts.calls else { return };
        let ended = self
            .calls
            .iter()
            .filter(|c| c.inbound && c.state == State::Ended)
            .count();
        let busy = self.calls.iter().any(|c| c.state != State::Ended);
        if ended >= n && !busy && self.linger_until.is_none() {
            // Let retransmissions of our last responses be absorbed.
            self.linger_until = Some(now() + Duration::from_millis(1500));
        }
    }

    async fn on_event(
        &mut self,
        ep: &mut Endpoint,
        ev: EpEvent,
        notes: &mut dyn FnMut(Note),
    ) -> Result<(), Error> {
        match ev {
            EpEvent::Request {
                key,
                bytes,
                source,
                cancels,
            } => {
                self.on_request(ep, key, &bytes, source, cancels, notes)
                    .await
            }
            EpEvent::Response { key, status, bytes } => {
                self.on_response(ep, key, status, &bytes, notes).await
            }
            EpEvent::Ack { call_id, .. } => {
                for c in &mut self.calls {
                    if c.inbound && c.call_id == call_id && c.state == State::Answered {
                        c.state = State::Up;
                        notes(Note::Info {
                            text: format!("call {call_id} established (ACK received)"),
                        });
                        c.hangup_at = self.opts.hangup_after.map(|d| now() + d);
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
                    notes(Note::Info { text: format!("no ACK for our 2xx within 64·T1: ending call {call_id} (RFC 3261 §13.3.1.4)") });
                    self.calls[i].report.ended = "no_ack".into();
                    self.send_bye(ep, i, notes)?;
                }
                Ok(())
            }
            EpEvent::Timeout { key } => {
                self.on_timeout(ep, &key, notes)?;
                Ok(())
            }
            EpEvent::TransportError { key } => {
                notes(Note::Info {
                    text: "a request could not be sent".into(),
                });
                self.on_timeout(ep, &key, notes)?;
                Ok(())
            }
            EpEvent::Deadline => self.on_deadline(ep, notes).await,
        }
    }

    // ------------------------------------------------------------ requests

    async fn on_request(
        &mut self,
        ep: &mut Endpoint,
        key: TransactionKey,
        bytes: &[u8],
        source: SocketAddr,
        cancels: Option<TransactionKey>,
        notes: &mut dyn FnMut(Note),
    ) -> Result<(), Error> {
        let Some(req) = as_request(bytes) else {
            return Ok(());
        };
        note_request(notes, &req, source);
        if req.method() == Method::Cancel {
            return self.on_cancel(ep, &key, &req, cancels, notes);
        }
        let id = DialogId::of_request(&req);
        let found = id.as_ref().and_then(|id| {
            self.calls
                .iter()
                .position(|c| c.dialog.as_ref().is_some_and(|d| d.id() == id))
        });
        match (req.method(), id.is_some(), found) {
            (Method::Invite, false, _) => self.on_invite(ep, key, bytes, notes).await,
            (_, true, Some(i)) => self.in_dialog(ep, i, key, &req, notes).await,
            (_, true, None) => {
                reply(
                    ep,
                    notes,
                    &key,
                    &req,
                    481,
                    "Call/Transaction Does Not Exist",
                    None,
                );
                Ok(())
            }
            (Method::Options, false, _) => {
                reply(ep, notes, &key, &req, 200, "OK", None);
                Ok(())
            }
            _ => {
                reply(ep, notes, &key, &req, 405, "Method Not Allowed", None);
                Ok(())
            }
        }
    }

    fn on_cancel(
        &mut self,
        ep: &mut Endpoint,
        key: &TransactionKey,
        req: &Request<'_>,
        cancels: Option<TransactionKey>,
        notes: &mut dyn FnMut(Note),
    ) -> Result<(), Error> {
        let Some(invite_key) = cancels else {
            reply(
                ep,
                notes,
                key,
                req,
                481,
                "Call/Transaction Does Not Exist",
                None,
            );
            return Ok(());
        };
        reply(ep, notes, key, req, 200, "OK", None);
        if let Some(c) = self
            .calls
            .iter_mut()
            .find(|c| c.invite_key.as_ref() == Some(&invite_key) && c.state == State::Ringing)
        {
            // RFC 3261 §9.2: the INVITE gets 487.
            if let Some(inv) = as_request(&c.invite) {
                reply(
                    ep,
                    notes,
                    &invite_key,
                    &inv,
                    487,
                    "Request Terminated",
                    Some(&c.local_tag),
                );
            }
            c.state = State::Ended;
            c.report.status = Some(487);
            c.report.ended = "cancelled".into();
        }
        Ok(())
    }

    async fn on_invite(
        &mut self,
        ep: &mut Endpoint,
        key: TransactionKey,
        bytes: &[u8],
        notes: &mut dyn FnMut(Note),
    ) -> Result<(), Error> {
        let Some(req) = as_request(bytes) else {
            return Ok(());
        };
        let tag = ep.tag();
        let contact = ep.contact(&self.opts.user);
        let dialog = match Dialog::uas(&req, &tag, &contact) {
            Ok(d) => d,
            Err(e) => {
                notes(Note::Info {
                    text: format!("cannot accept this INVITE: {e}"),
                });
                reply(ep, notes, &key, &req, 400, "Bad Request", Some(&tag));
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
            state: State::Ringing,
            invite_key: Some(key.clone()),
            invite: bytes.to_vec(),
            local_tag: tag.clone(),
            call_id: req.call_id().to_owned(),
            answer_at: None,
            hangup_at: None,
            give_up_at: None,
            bye_key: None,
            transfer: None,
            parent: None,
            report,
        };
        if code >= 300 {
            reply(ep, notes, &key, &req, code, reason_for(code), Some(&tag));
            call.state = State::Ended;
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
                if ep.respond(&key, &b).is_ok() {
                    notes(Note::Replied {
                        status: ring,
                        reason: reason_for(ring).into(),
                        method: "INVITE".into(),
                    });
                }
            }
            if code >= 200 {
                call.answer_at = Some(now() + self.opts.answer_delay);
            }
            self.calls.push(call);
            return Ok(());
        }
        self.calls.push(call);
        let i = self.calls.len() - 1;
        self.answer(ep, i, notes).await
    }

    async fn answer(
        &mut self,
        ep: &mut Endpoint,
        i: usize,
        notes: &mut dyn FnMut(Note),
    ) -> Result<(), Error> {
        let code = self.opts.answer_code;
        let adv = ep.advertised();
        let c = &mut self.calls[i];
        c.answer_at = None;
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
        ep.respond_2xx(&key, &b, &c.call_id, &c.local_tag)?;
        d.set_confirmed();
        notes(Note::Replied {
            status: code,
            reason: reason_for(code).into(),
            method: "INVITE".into(),
        });
        c.state = State::Answered;
        c.report.status = Some(code);
        let hop = d.next_hop().to_owned();
        c.dest = Some(ep.resolve(&hop).await?);
        Ok(())
    }

    async fn in_dialog(
        &mut self,
        ep: &mut Endpoint,
        i: usize,
        key: TransactionKey,
        req: &Request<'_>,
        notes: &mut dyn FnMut(Note),
    ) -> Result<(), Error> {
        let tag = self.calls[i].local_tag.clone();
        let Some(d) = self.calls[i].dialog.as_mut() else {
            return Ok(());
        };
        if let Err(e) = d.on_request(req) {
            let (s, r) = match e {
                sipkit_dialog::Error::CSeqOutOfOrder { .. } => (500, "Server Internal Error"),
                _ => (481, "Call/Transaction Does Not Exist"),
            };
            reply(ep, notes, &key, req, s, r, Some(&tag));
            return Ok(());
        }
        match req.method() {
            Method::Bye => {
                reply(ep, notes, &key, req, 200, "OK", Some(&tag));
                let c = &mut self.calls[i];
                // Both sides may hang up at once (a transferor ends its dialog too, RFC 5589).
                if c.state != State::Closing {
                    c.state = State::Ended;
                }
                if c.report.ended.is_empty() {
                    c.report.ended = "bye_received".into();
                }
            }
            Method::Refer => self.on_refer(ep, i, key, req, notes).await?,
            Method::Invite => {
                let adv = ep.advertised();
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
                    if ep.respond_2xx(&key, &b, &c.call_id, &c.local_tag).is_ok() {
                        notes(Note::Replied {
                            status: 200,
                            reason: "OK".into(),
                            method: "INVITE".into(),
                        });
                    }
                }
            }
            Method::Info | Method::Options | Method::Update => {
                reply(ep, notes, &key, req, 200, "OK", Some(&tag))
            }
            Method::Notify => reply(
                ep,
                notes,
                &key,
                req,
                481,
                "Subscription Does Not Exist",
                Some(&tag),
            ),
            _ => reply(ep, notes, &key, req, 405, "Method Not Allowed", Some(&tag)),
        }
        Ok(())
    }

    async fn on_refer(
        &mut self,
        ep: &mut Endpoint,
        i: usize,
        key: TransactionKey,
        req: &Request<'_>,
        notes: &mut dyn FnMut(Note),
    ) -> Result<(), Error> {
        let tag = self.calls[i].local_tag.clone();
        if self.calls[i]
            .transfer
            .as_ref()
            .is_some_and(|t| t.notifier.is_active())
        {
            reply(ep, notes, &key, req, 491, "Request Pending", Some(&tag));
            return Ok(());
        }
        let cfg = NotifierConfig {
            duration: self.opts.refer_subscription,
            norefersub: self.opts.norefersub,
        };
        let (notifier, ok) = match ReferNotifier::accept(now(), req, cfg) {
            Ok(x) => x,
            Err(refusal) => {
                notes(Note::Info {
                    text: format!("REFER refused: {}", refusal.why),
                });
                reply(
                    ep,
                    notes,
                    &key,
                    req,
                    refusal.status,
                    refusal.reason,
                    Some(&tag),
                );
                return Ok(());
            }
        };
        let Some(d) = self.calls[i].dialog.as_ref() else {
            return Ok(());
        };
        let mut b = d
            .response(req, ok.status, "Accepted")
            .header(HeaderName::UserAgent, USER_AGENT);
        if ok.refer_sub_false {
            b = b.raw_header("Refer-Sub", "false");
        }
        let bytes = b.build();
        ep.respond(&key, &bytes)?;
        notes(Note::Replied {
            status: ok.status,
            reason: "Accepted".into(),
            method: "REFER".into(),
        });
        notes(Note::Info {
            text: format!(
                "transferring to {} (Referred-By: {})",
                ok.target, ok.referred_by
            ),
        });
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
        self.notify(ep, i, 100, "Trying", notes)?;
        // The new call, with Referred-By (RFC 3892) and this UA as caller.
        let adv = ep.advertised();
        let from = format!("<sip:{}@{}>;tag={}", self.opts.user, host_of(adv), ep.tag());
        let call_id = ep.call_id();
        let contact = ep.contact(&self.opts.user);
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
        let dest = match ep.resolve(&ok.target).await {
            Ok(d) => d,
            Err(e) => {
                notes(Note::Info {
                    text: format!("cannot call {}: {e}", ok.target),
                });
                self.notify(ep, i, 503, "Service Unavailable", notes)?;
                return Ok(());
            }
        };
        let via = ep.via();
        let (invite, seq) = setup.invite(&ok.target, &via);
        let k = ep.send_request(&invite, dest)?;
        notes(Note::Sent {
            method: "INVITE".into(),
            uri: ok.target.clone(),
            cseq: seq,
            to: dest,
        });
        self.calls.push(Call {
            dialog: None,
            dest: Some(dest),
            inbound: false,
            state: State::Calling,
            invite_key: Some(k),
            invite,
            local_tag: String::new(),
            call_id: call_id.clone(),
            answer_at: None,
            hangup_at: None,
            give_up_at: Some(now() + self.opts.ring_timeout),
            bye_key: None,
            transfer: None,
            parent: Some(i),
            report: AgentCallReport {
                call_id,
                direction: "outbound".into(),
                peer: ok.target,
                status: None,
                ended: String::new(),
                transfer: None,
                referred_by: Some(ok.referred_by),
            },
        });
        let child = self.calls.len() - 1;
        if let Some(t) = self.calls[i].transfer.as_mut() {
            t.child = Some(child);
        }
        Ok(())
    }

    /// Sends the NOTIFY reporting `status` on call `i`'s subscription.
    fn notify(
        &mut self,
        ep: &mut Endpoint,
        i: usize,
        status: u16,
        reason: &str,
        notes: &mut dyn FnMut(Note),
    ) -> Result<(), Error> {
        let Some(t) = self.calls[i].transfer.as_mut() else {
            return Ok(());
        };
        let Some(content) = t.notifier.notify(now(), status, reason) else {
            return Ok(());
        };
        t.report.notified.push(status);
        self.send_notify(ep, i, &content, notes)
    }

    fn send_notify(
        &mut self,
        ep: &mut Endpoint,
        i: usize,
        content: &NotifyContent,
        notes: &mut dyn FnMut(Note),
    ) -> Result<(), Error> {
        let via = ep.via();
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
        ep.send_request(&bytes, dest)?;
        let frag = String::from_utf8_lossy(&content.body).trim_end().to_owned();
        notes(Note::Sent {
            method: "NOTIFY".into(),
            uri,
            cseq: seq,
            to: dest,
        });
        notes(Note::Info {
            text: format!(
                "NOTIFY carries \"{frag}\", Subscription-State: {}",
                content.subscription_state
            ),
        });
        Ok(())
    }

    // ----------------------------------------------------------- responses

    async fn on_response(
        &mut self,
        ep: &mut Endpoint,
        key: TransactionKey,
        status: u16,
        bytes: &[u8],
        notes: &mut dyn FnMut(Note),
    ) -> Result<(), Error> {
        let Some(resp) = as_response(bytes) else {
            return Ok(());
        };
        note_response(notes, &resp);
        if self
            .reg
            .as_ref()
            .is_some_and(|r| r.key.as_ref() == Some(&key))
        {
            self.on_register_response(&resp, notes);
            return Ok(());
        }
        if let Some(i) = self
            .calls
            .iter()
            .position(|c| c.bye_key.as_ref() == Some(&key))
        {
            if status >= 200 {
                self.calls[i].state = State::Ended;
                if self.calls[i].report.ended.is_empty() {
                    self.calls[i].report.ended = "bye_sent".into();
                }
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
        if status < 200 || self.calls[i].state != State::Calling {
            return Ok(());
        }
        self.calls[i].give_up_at = None;
        self.calls[i].report.status = Some(status);
        let parent = self.calls[i].parent;
        if status < 300 {
            let Some(inv) = as_request(&self.calls[i].invite) else {
                return Ok(());
            };
            let dialog = Dialog::uac(&inv, &resp)?;
            let dest = ep.resolve(dialog.next_hop()).await?;
            let via = ep.via();
            let ack = dialog
                .ack(inv.cseq().seq, &via)
                .header(HeaderName::UserAgent, USER_AGENT)
                .build();
            ep.send_ack(
                AckFor2xx::new(inv.call_id(), inv.cseq().seq, &dialog.id().remote_tag, ack),
                dest,
            );
            notes(Note::Sent {
                method: "ACK".into(),
                uri: dialog.request_target().0,
                cseq: inv.cseq().seq,
                to: dest,
            });
            let c = &mut self.calls[i];
            c.local_tag = dialog.id().local_tag.clone();
            c.dialog = Some(dialog);
            c.dest = Some(dest);
            c.state = State::Up;
            c.hangup_at = self.opts.hangup_after.map(|d| now() + d);
            if let Some(p) = parent {
                self.child_final(ep, p, status, resp.reason(), notes)?;
                // RFC 5589 §6.1: the transfer succeeded; the old call ends.
                if self.calls[p].state == State::Up || self.calls[p].state == State::Answered {
                    notes(Note::Info {
                        text: "transfer done: hanging up the old call".into(),
                    });
                    self.calls[p].report.ended = "transferred".into();
                    self.send_bye(ep, p, notes)?;
                }
            }
        } else {
            self.calls[i].state = State::Ended;
            self.calls[i].report.ended = "failed".into();
            if let Some(p) = parent {
                self.child_final(ep, p, status, resp.reason(), notes)?;
            }
        }
        Ok(())
    }

    fn child_final(
        &mut self,
        ep: &mut Endpoint,
        parent: usize,
        status: u16,
        reason: &str,
        notes: &mut dyn FnMut(Note),
    ) -> Result<(), Error> {
        if let Some(t) = self.calls[parent].transfer.as_mut() {
            t.report.new_call_status = Some(status);
        }
        let reason = if reason.is_empty() {
            reason_for(status)
        } else {
            reason
        };
        self.notify(ep, parent, status, reason, notes)
    }

    fn on_timeout(
        &mut self,
        ep: &mut Endpoint,
        key: &TransactionKey,
        notes: &mut dyn FnMut(Note),
    ) -> Result<(), Error> {
        if let Some(r) = self.reg.as_mut().filter(|r| r.key.as_ref() == Some(key)) {
            notes(Note::Info {
                text: format!("no response from the registrar {}", r.uri),
            });
            r.report.status = None;
            r.key = None;
            return Ok(());
        }
        if let Some(i) = self
            .calls
            .iter()
            .position(|c| c.bye_key.as_ref() == Some(key))
        {
            self.calls[i].state = State::Ended;
            return Ok(());
        }
        if let Some(i) = self.calls.iter().position(|c| {
            !c.inbound && c.invite_key.as_ref() == Some(key) && c.state == State::Calling
        }) {
            self.calls[i].state = State::Ended;
            self.calls[i].report.ended = "failed".into();
            self.calls[i].give_up_at = None;
            if let Some(p) = self.calls[i].parent {
                self.child_final(ep, p, 408, "Request Timeout", notes)?;
            }
        }
        Ok(())
    }

    fn send_bye(
        &mut self,
        ep: &mut Endpoint,
        i: usize,
        notes: &mut dyn FnMut(Note),
    ) -> Result<(), Error> {
        let via = ep.via();
        let c = &mut self.calls[i];
        c.hangup_at = None;
        let (Some(d), Some(dest)) = (c.dialog.as_mut(), c.dest) else {
            c.state = State::Ended;
            return Ok(());
        };
        let Ok((b, seq)) = d.request("BYE", &via) else {
            c.state = State::Ended;
            return Ok(());
        };
        let bytes = b.header(HeaderName::UserAgent, USER_AGENT).build();
        let uri = d.request_target().0;
        d.terminate();
        c.bye_key = Some(ep.send_request(&bytes, dest)?);
        c.state = State::Closing;
        notes(Note::Sent {
            method: "BYE".into(),
            uri,
            cseq: seq,
            to: dest,
        });
        Ok(())
    }

    async fn on_deadline(
        &mut self,
        ep: &mut Endpoint,
        notes: &mut dyn FnMut(Note),
    ) -> Result<(), Error> {
        let t = now();
        for i in 0..self.calls.len() {
            if self.calls[i].state == State::Ended {
                continue;
            }
            if self.calls[i].answer_at.is_some_and(|a| t >= a)
                && self.calls[i].state == State::Ringing
            {
                self.answer(ep, i, notes).await?;
            }
            if self.calls[i].hangup_at.is_some_and(|a| t >= a) {
                notes(Note::Info {
                    text: format!("hanging up call {} (--hangup-after)", self.calls[i].call_id),
                });
                if self.calls[i].report.ended.is_empty() {
                    self.calls[i].report.ended = "bye_sent".into();
                }
                self.send_bye(ep, i, notes)?;
            }
            if self.calls[i].give_up_at.is_some_and(|a| t >= a)
                && self.calls[i].state == State::Calling
            {
                notes(Note::Info {
                    text: format!("{} did not answer in time", self.calls[i].report.peer),
                });
                self.calls[i].give_up_at = None;
                self.calls[i].state = State::Ended;
                self.calls[i].report.ended = "failed".into();
                if let Some(p) = self.calls[i].parent {
                    self.child_final(ep, p, 408, "Request Timeout", notes)?;
                }
            }
            let expired = self.calls[i]
                .transfer
                .as_mut()
                .and_then(|tr| tr.notifier.handle_timeout(t));
            if let Some(content) = expired {
                self.send_notify(ep, i, &content, notes)?;
            }
        }
        if self
            .reg
            .as_ref()
            .is_some_and(|r| r.refresh_at.is_some_and(|a| t >= a))
        {
            let expires = self.opts.register_expires;
            self.send_register(ep, expires, notes)?;
        }
        Ok(())
    }

    // -------------------------------------------------------- registration

    async fn start_registration(
        &mut self,
        ep: &mut Endpoint,
        uri: &str,
        notes: &mut dyn FnMut(Note),
    ) -> Result<(), Error> {
        let u = sipkit_message::Uri::parse(uri)
            .map_err(|e| Error::BadUri(uri.to_owned(), e.to_string()))?;
        let host = u.host.map(|h| h.to_string()).unwrap_or_default();
        let aor = self
            .opts
            .aor
            .clone()
            .unwrap_or_else(|| format!("sip:{}@{host}", self.opts.user));
        let dest = ep.resolve(uri).await?;
        self.reg = Some(Registration {
            uri: uri.to_owned(),
            aor: aor.clone(),
            dest,
            call_id: ep.call_id(),
            tag: ep.tag(),
            cseq: 0,
            key: None,
            refresh_at: None,
            unregistering: false,
            report: RegistrationReport {
                registrar: uri.to_owned(),
                aor,
                status: None,
                expires: None,
                unregister_status: None,
            },
        });
        let expires = self.opts.register_expires;
        self.send_register(ep, expires, notes)
    }

    fn send_register(
        &mut self,
        ep: &mut Endpoint,
        expires: u32,
        notes: &mut dyn FnMut(Note),
    ) -> Result<(), Error> {
        let via = ep.via();
        let contact = ep.contact(&self.opts.user);
        let Some(r) = self.reg.as_mut() else {
            return Ok(());
        };
        r.cseq += 1;
        r.refresh_at = None;
        let bytes = RequestBuilder::new("REGISTER", &r.uri)
            .header(HeaderName::Via, via)
            .header(HeaderName::MaxForwards, "70")
            .header(HeaderName::From, format!("<{}>;tag={}", r.aor, r.tag))
            .header(HeaderName::To, format!("<{}>", r.aor))
            .header(HeaderName::CallId, &r.call_id)
            .header(HeaderName::CSeq, format!("{} REGISTER", r.cseq))
            .header(HeaderName::Contact, format!("<{contact}>"))
            .header(HeaderName::Expires, expires.to_string())
            .header(HeaderName::UserAgent, USER_AGENT)
            .build();
        r.key = Some(ep.send_request(&bytes, r.dest)?);
        notes(Note::Sent {
            method: "REGISTER".into(),
            uri: r.uri.clone(),
            cseq: r.cseq,
            to: r.dest,
        });
        Ok(())
    }

    fn on_register_response(
        &mut self,
        resp: &sipkit_message::Response<'_>,
        notes: &mut dyn FnMut(Note),
    ) {
        let Some(r) = self.reg.as_mut() else { return };
        let status = resp.status();
        if status < 200 {
            return;
        }
        r.key = None;
        if r.unregistering {
            r.report.unregister_status = Some(status);
            return;
        }
        r.report.status = Some(status);
        if (200..300).contains(&status) {
            let granted = resp
                .contacts()
                .filter_map(Result::ok)
                .find_map(|c| c.expires())
                .or_else(|| resp.expires().ok().flatten())
                .unwrap_or(self.opts.register_expires);
            r.report.expires = Some(granted);
            notes(Note::Info {
                text: format!("registered {} for {granted} s", r.aor),
            });
            if granted > 0 {
                r.refresh_at = Some(now() + Duration::from_secs(u64::from(granted.max(2) / 2)));
            }
        } else if status == 401 || status == 407 {
            notes(Note::Info { text: "the registrar asks for digest authentication, which sipkit ua does not do yet: not registered".into() });
        } else {
            notes(Note::Info {
                text: format!("registration refused with {status}"),
            });
        }
    }

    async fn unregister(&mut self, ep: &mut Endpoint, notes: &mut dyn FnMut(Note)) {
        let registered = self
            .reg
            .as_ref()
            .is_some_and(|r| r.report.status.is_some_and(|s| (200..300).contains(&s)));
        if !registered {
            return;
        }
        if let Some(r) = self.reg.as_mut() {
            r.unregistering = true;
        }
        if self.send_register(ep, 0, notes).is_err() {
            return;
        }
        let give_up = now() + Duration::from_secs(3);
        while self.reg.as_ref().is_some_and(|r| r.key.is_some()) {
            match ep.next(Some(give_up)).await {
                EpEvent::Response { key, bytes, .. }
                    if self
                        .reg
                        .as_ref()
                        .is_some_and(|r| r.key.as_ref() == Some(&key)) =>
                {
                    if let Some(resp) = as_response(&bytes) {
                        note_response(notes, &resp);
                        self.on_register_response(&resp, notes);
                    }
                }
                EpEvent::Deadline => break,
                _ => {}
            }
        }
    }
}

fn host_of(a: SocketAddr) -> String {
    match a {
        SocketAddr::V4(v) => v.ip().to_string(),
        SocketAddr::V6(v) => format!("[{}]", v.ip()),
    }
}

/// The registered reason phrase of a code (`sipkit_codes`); an unregistered
/// code gets its class's x00 phrase, as a receiver treats it (RFC 3261 §21).
pub fn reason_for(code: u16) -> &'static str {
    sipkit_codes::reason_phrase(code)
        .or_else(|| sipkit_codes::reason_phrase(code / 100 * 100))
        .unwrap_or("Unknown")
}
