//! Placing a call (`sipkit call`): INVITE, redirects followed as RFC 3261
//! §8.1.3.4 says (through [`sipkit_dialog::RedirectFollower`]), the ACK for
//! the 2xx, an optional hold, and BYE.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use sipkit_codes::{agent_text, Lang};
use sipkit_dialog::{
    AckFor2xx, CallSetup, Choice, Dialog, Next, RedirectFollower, RedirectPolicy, Stop,
};
use sipkit_message::{parse, HeaderName, Message, Method, Request, Response};
use sipkit_transaction::TransactionKey;

use crate::endpoint::{now, Endpoint, EpEvent};
use crate::report::{AttemptReport, CallReport, ContactReport, HangupReport, Note, RedirectReport};
use crate::{sdp, Error, ALLOW, USER_AGENT};

/// What `sipkit call` is asked to do.
#[derive(Debug, Clone)]
pub struct CallOptions {
    /// The URI to call.
    pub uri: String,
    /// The From URI (default `sip:sipkit@<this host>`).
    pub from: Option<String>,
    /// Redirect limits.
    pub policy: RedirectPolicy,
    /// Give up ringing after this long: CANCEL (RFC 3261 §9.1).
    pub ring_timeout: Duration,
    /// Stay in the call this long after it is answered, then BYE.
    pub hold: Duration,
    /// Send every request to this address instead of resolving the URI (an outbound proxy).
    pub proxy: Option<SocketAddr>,
    /// Extra headers for the INVITE.
    pub headers: Vec<(String, String)>,
    /// The language of what it prints and of the report's sentences.
    pub lang: Lang,
}

impl CallOptions {
    /// Defaults for `uri`: 5 redirects, 60 s ringing, no hold.
    pub fn new(uri: &str) -> CallOptions {
        CallOptions {
            uri: uri.to_owned(),
            from: None,
            policy: RedirectPolicy::default(),
            ring_timeout: Duration::from_secs(60),
            hold: Duration::ZERO,
            proxy: None,
            headers: Vec::new(),
            lang: Lang::EN,
        }
    }
}

/// An answered call: its dialog and where in-dialog requests go.
#[derive(Debug, Clone)]
pub struct Established {
    /// The dialog.
    pub dialog: Dialog,
    /// The next hop's address.
    pub dest: SocketAddr,
    /// Set when the peer sent BYE.
    pub hangup: Option<HangupReport>,
}

enum InviteResult {
    Final {
        status: u16,
        reason: String,
        contacts: Vec<Choice>,
    },
    Answered {
        dialog: Box<Dialog>,
        dest: SocketAddr,
        status: u16,
        reason: String,
    },
    NoResponse(String),
}

/// The parsed request of an event (the transaction layer parsed it already).
pub(crate) fn as_request(bytes: &[u8]) -> Option<Request<'_>> {
    match parse(bytes) {
        Ok(Message::Request(r)) => Some(r),
        _ => None,
    }
}

pub(crate) fn as_response(bytes: &[u8]) -> Option<Response<'_>> {
    match parse(bytes) {
        Ok(Message::Response(r)) => Some(r),
        _ => None,
    }
}

/// The Contacts of a response as redirect choices.
pub(crate) fn choices(resp: &Response<'_>) -> Vec<Choice> {
    resp.contacts()
        .filter_map(Result::ok)
        .filter_map(|c| {
            let q = c.q_millis();
            c.address().map(|a| Choice {
                uri: a.uri.as_str().to_owned(),
                q,
            })
        })
        .collect()
}

pub(crate) fn note_response(notes: &mut dyn FnMut(Note), resp: &Response<'_>) {
    notes(Note::Response {
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

pub(crate) fn note_request(notes: &mut dyn FnMut(Note), req: &Request<'_>, source: SocketAddr) {
    notes(Note::Request {
        method: req.method_str().to_owned(),
        uri: req.uri().as_str().to_owned(),
        from: req.from().uri.as_str().to_owned(),
        source,
    });
}

/// Answers `key` with a plain response built from `req` and notes it.
pub(crate) fn reply(
    ep: &mut Endpoint,
    notes: &mut dyn FnMut(Note),
    key: &TransactionKey,
    req: &Request<'_>,
    status: u16,
    reason: &str,
    tag: Option<&str>,
) {
    let mut b = sipkit_message::response_from_request(req, status, reason);
    if status > 100 {
        let t = tag.map(str::to_owned).unwrap_or_else(|| ep.tag());
        b = b.to_tag(&t);
    }
    if status == 405 {
        b = b.header(HeaderName::Allow, ALLOW);
    }
    let bytes = b.header(HeaderName::UserAgent, USER_AGENT).build();
    if let Err(e) = ep.respond(key, &bytes) {
        tracing::debug!(error = %e, "response refused");
        return;
    }
    notes(Note::Replied {
        status,
        reason: reason.to_owned(),
        method: req.method_str().to_owned(),
    });
}

/// The answer to a request no flow expects: 200 to OPTIONS, 481 inside an
/// unknown dialog or to an unmatched CANCEL, 486 to a new INVITE, 405 else.
pub(crate) fn reply_default(
    ep: &mut Endpoint,
    notes: &mut dyn FnMut(Note),
    key: &TransactionKey,
    bytes: &[u8],
    source: SocketAddr,
) {
    let Some(req) = as_request(bytes) else { return };
    note_request(notes, &req, source);
    let (status, reason) = match req.method() {
        Method::Options => (200, "OK"),
        Method::Cancel => (481, "Call/Transaction Does Not Exist"),
        _ if req.to().tag().is_some() => (481, "Call/Transaction Does Not Exist"),
        Method::Invite => (486, "Busy Here"),
        Method::Bye | Method::Notify => (481, "Call/Transaction Does Not Exist"),
        _ => (405, "Method Not Allowed"),
    };
    reply(ep, notes, key, &req, status, reason, None);
}

async fn dest_for(
    ep: &Endpoint,
    uri: &str,
    proxy: Option<SocketAddr>,
) -> Result<SocketAddr, Error> {
    match proxy {
        Some(p) => Ok(p),
        None => ep.resolve(uri).await,
    }
}

/// Places the call and follows redirects until it is answered or it stops.
/// Returns the report so far and, when answered, the established call.
pub async fn place_call(
    ep: &mut Endpoint,
    opts: &CallOptions,
    notes: &mut dyn FnMut(Note),
) -> Result<(CallReport, Option<Established>), Error> {
    sipkit_message::Uri::parse(&opts.uri)
        .map_err(|e| Error::BadUri(opts.uri.clone(), e.to_string()))?;
    let from_uri = opts
        .from
        .clone()
        .unwrap_or_else(|| format!("sip:sipkit@{}", host_of(ep.advertised())));
    let tag = ep.tag();
    let call_id = ep.call_id();
    let contact = ep.contact("sipkit");
    let mut setup = CallSetup::new(
        &format!("<{from_uri}>;tag={tag}"),
        &format!("<{}>", opts.uri),
        &call_id,
        &contact,
        1,
    );
    setup.headers.push(("User-Agent".into(), USER_AGENT.into()));
    setup.headers.push(("Allow".into(), ALLOW.into()));
    setup
        .headers
        .push(("Supported".into(), "norefersub".into()));
    setup.headers.extend(opts.headers.iter().cloned());
    let adv = ep.advertised();
    setup.body = Some((
        "application/sdp".into(),
        sdp::session(adv.ip(), sdp::rtp_port(adv.port()), 1),
    ));
    let mut follower = RedirectFollower::new(&opts.uri, opts.policy);
    let mut attempts: Vec<AttemptReport> = Vec::new();
    let mut reasons: Vec<String> = Vec::new();
    let mut target = opts.uri.clone();
    let mut established = None;
    let mut last: (Option<u16>, Option<String>);
    loop {
        let seq = setup.next_seq();
        let dest = match dest_for(ep, &target, opts.proxy).await {
            Ok(d) => d,
            Err(e) => {
                let error = e.to_string();
                notes(Note::Info {
                    text: agent_text(
                        opts.lang,
                        "cannot_send",
                        &[("target", &target), ("error", &error)],
                    ),
                });
                attempts.push(AttemptReport {
                    uri: target.clone(),
                    cseq: seq,
                    destination: None,
                    status: None,
                    reason: e.to_string(),
                });
                last = (None, Some(e.to_string()));
                match follower.on_final(0, vec![]) {
                    Next::Try(n) => {
                        target = n;
                        continue;
                    }
                    Next::Stop(_) => break,
                }
            }
        };
        let via = ep.via();
        let (invite, seq) = setup.invite(&target, &via);
        let key = ep.send_request(&invite, dest)?;
        notes(Note::Sent {
            method: "INVITE".into(),
            uri: target.clone(),
            cseq: seq,
            to: dest,
        });
        let ring_deadline = now() + opts.ring_timeout;
        let result = run_invite(
            ep,
            &key,
            &invite,
            ring_deadline,
            opts.proxy,
            opts.lang,
            notes,
        )
        .await?;
        let (status, reason, contacts) = match result {
            InviteResult::Answered {
                dialog,
                dest,
                status,
                reason,
            } => {
                established = Some(Established {
                    dialog: *dialog,
                    dest,
                    hangup: None,
                });
                (status, reason, vec![])
            }
            InviteResult::Final {
                status,
                reason,
                contacts,
            } => (status, reason, contacts),
            InviteResult::NoResponse(why) => (0, why, vec![]),
        };
        attempts.push(AttemptReport {
            uri: target.clone(),
            cseq: seq,
            destination: Some(dest.to_string()),
            status: (status != 0).then_some(status),
            reason: reason.clone(),
        });
        last = ((status != 0).then_some(status), Some(reason.clone()));
        if (300..400).contains(&status) {
            reasons.push(reason.clone());
        }
        // The follower takes 408 for "no response" (RFC 3261 §8.1.3.1).
        let next = follower.on_final(if status == 0 { 408 } else { status }, contacts);
        if (300..400).contains(&status) {
            let rec = follower.redirects().last().cloned();
            let (next_uri, stop) = match &next {
                Next::Try(u) => (Some(u.clone()), None),
                Next::Stop(s) => (None, Some(s.as_str().to_owned())),
            };
            if let Some(rec) = rec {
                notes(Note::Redirect {
                    status,
                    queued: rec.queued,
                    looped: rec.looped,
                    next: next_uri,
                    stop,
                });
            }
        }
        match next {
            Next::Try(n) => target = n,
            Next::Stop(_) => break,
        }
    }
    let stop = follower.stopped().unwrap_or(Stop::Failed);
    let redirects = follower
        .redirects()
        .iter()
        .zip(reasons.iter().chain(std::iter::repeat(&String::new())))
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
    let future = follower.future_uri().to_owned();
    let permanent = follower.permanent_address().map(str::to_owned);
    let rule = future_rule(&redirects, permanent.is_some(), opts.lang);
    let report = CallReport {
        original_uri: opts.uri.clone(),
        final_uri: follower.current().to_owned(),
        final_status: last.0,
        final_reason: last.1,
        stopped: stop.as_str().to_owned(),
        redirects,
        attempts,
        future_requests_uri: future,
        future_requests_rule: rule,
        permanent_address: permanent,
        call_id,
        hangup: None,
    };
    Ok((report, established))
}

/// Why future requests go where they go, in one sentence.
fn future_rule(redirects: &[RedirectReport], permanent: bool, lang: Lang) -> String {
    if permanent {
        return agent_text(lang, "rule_permanent", &[]);
    }
    match redirects.iter().find(|r| r.followed) {
        None => agent_text(lang, "rule_none", &[]),
        Some(r) if r.status == 302 => agent_text(lang, "rule_temporary", &[]),
        Some(r) => agent_text(lang, "rule_other", &[("status", &r.status.to_string())]),
    }
}

fn host_of(a: SocketAddr) -> String {
    match a {
        SocketAddr::V4(v) => format!("{}", v.ip()),
        SocketAddr::V6(v) => format!("[{}]", v.ip()),
    }
}

async fn run_invite(
    ep: &mut Endpoint,
    key: &TransactionKey,
    invite: &[u8],
    ring_deadline: Instant,
    proxy: Option<SocketAddr>,
    lang: Lang,
    notes: &mut dyn FnMut(Note),
) -> Result<InviteResult, Error> {
    let mut cancelled = false;
    let mut cancel_when_provisional = false;
    let mut provisional = false;
    loop {
        let deadline = (!cancelled).then_some(ring_deadline);
        match ep.next(deadline).await {
            EpEvent::Response {
                key: k,
                status,
                bytes,
            } if &k == key => {
                let Some(resp) = as_response(&bytes) else {
                    continue;
                };
                note_response(notes, &resp);
                if status < 200 {
                    provisional = true;
                    if cancel_when_provisional {
                        cancel_when_provisional = false;
                        send_cancel(ep, key, lang, notes);
                    }
                    continue;
                }
                if status < 300 {
                    let Some(inv) = as_request(invite) else {
                        return Err(Error::Internal("the INVITE does not parse"));
                    };
                    let dialog = Dialog::uac(&inv, &resp)?;
                    let dest = dest_for(ep, dialog.next_hop(), proxy).await?;
                    let via = ep.via();
                    let ack = dialog
                        .ack(inv.cseq().seq, &via)
                        .header(HeaderName::UserAgent, USER_AGENT)
                        .build();
                    let remote_tag = dialog.id().remote_tag.clone();
                    ep.send_ack(
                        AckFor2xx::new(inv.call_id(), inv.cseq().seq, &remote_tag, ack),
                        dest,
                    );
                    notes(Note::Sent {
                        method: "ACK".into(),
                        uri: dialog.request_target().0,
                        cseq: inv.cseq().seq,
                        to: dest,
                    });
                    return Ok(InviteResult::Answered {
                        dialog: Box::new(dialog),
                        dest,
                        status,
                        reason: resp.reason().to_owned(),
                    });
                }
                return Ok(InviteResult::Final {
                    status,
                    reason: resp.reason().to_owned(),
                    contacts: choices(&resp),
                });
            }
            EpEvent::Response { bytes, .. } => {
                if let Some(resp) = as_response(&bytes) {
                    note_response(notes, &resp);
                }
            }
            EpEvent::Timeout { key: k } if &k == key => {
                return Ok(InviteResult::NoResponse(agent_text(
                    lang,
                    "call_no_response",
                    &[],
                )));
            }
            EpEvent::TransportError { key: k } if &k == key => {
                return Ok(InviteResult::NoResponse(agent_text(
                    lang,
                    "call_transport_failed",
                    &[],
                )));
            }
            EpEvent::Request {
                key: k,
                bytes,
                source,
                ..
            } => reply_default(ep, notes, &k, &bytes, source),
            EpEvent::Deadline => {
                cancelled = true;
                notes(Note::Info {
                    text: agent_text(lang, "call_cancelling", &[]),
                });
                if provisional {
                    send_cancel(ep, key, lang, notes);
                } else {
                    // RFC 3261 §9.1: no CANCEL before a provisional response.
                    cancel_when_provisional = true;
                }
            }
            _ => {}
        }
    }
}

fn send_cancel(ep: &mut Endpoint, key: &TransactionKey, lang: Lang, notes: &mut dyn FnMut(Note)) {
    let text = match ep.cancel(key) {
        Ok(_) => agent_text(lang, "call_cancel_sent", &[]),
        Err(e) => agent_text(lang, "call_cannot_cancel", &[("error", &e.to_string())]),
    };
    notes(Note::Info { text });
}

/// Handles a request inside an established call's dialog: BYE ends it (200),
/// anything else gets 200 (INFO, OPTIONS, re-INVITE without media change)
/// or 405. Returns true if it was BYE.
pub(crate) fn in_dialog_request(
    ep: &mut Endpoint,
    est: &mut Established,
    key: &TransactionKey,
    req: &Request<'_>,
    source: SocketAddr,
    notes: &mut dyn FnMut(Note),
) -> bool {
    note_request(notes, req, source);
    if let Err(e) = est.dialog.on_request(req) {
        let (s, r) = match e {
            sipkit_dialog::Error::CSeqOutOfOrder { .. } => (500, "Server Internal Error"),
            _ => (481, "Call/Transaction Does Not Exist"),
        };
        reply(
            ep,
            notes,
            key,
            req,
            s,
            r,
            Some(&est.dialog.id().local_tag.clone()),
        );
        return false;
    }
    let tag = est.dialog.id().local_tag.clone();
    match req.method() {
        Method::Bye => {
            reply(ep, notes, key, req, 200, "OK", Some(&tag));
            est.hangup = Some(HangupReport {
                by: "remote".into(),
                status: Some(200),
            });
            true
        }
        Method::Info | Method::Options | Method::Update => {
            reply(ep, notes, key, req, 200, "OK", Some(&tag));
            false
        }
        Method::Invite => {
            // A re-INVITE: accept with the same session description.
            let adv = ep.advertised();
            let b = est
                .dialog
                .response(req, 200, "OK")
                .header(HeaderName::UserAgent, USER_AGENT)
                .body(
                    "application/sdp",
                    sdp::session(adv.ip(), sdp::rtp_port(adv.port()), 2),
                )
                .build();
            let call_id = est.dialog.id().call_id.clone();
            if ep.respond_2xx(key, &b, &call_id, &tag).is_ok() {
                notes(Note::Replied {
                    status: 200,
                    reason: "OK".into(),
                    method: "INVITE".into(),
                });
            }
            false
        }
        _ => {
            reply(ep, notes, key, req, 405, "Method Not Allowed", Some(&tag));
            false
        }
    }
}

/// Stays in the call until `until`, answering the peer's requests; returns
/// early if the peer hangs up.
pub async fn hold(
    ep: &mut Endpoint,
    est: &mut Established,
    until: Instant,
    notes: &mut dyn FnMut(Note),
) {
    while est.hangup.is_none() {
        match ep.next(Some(until)).await {
            EpEvent::Deadline => return,
            EpEvent::Request {
                key, bytes, source, ..
            } => {
                let Some(req) = as_request(&bytes) else {
                    continue;
                };
                if sipkit_dialog::DialogId::of_request(&req).as_ref() == Some(est.dialog.id()) {
                    in_dialog_request(ep, est, &key, &req, source, notes);
                } else {
                    reply_default(ep, notes, &key, &bytes, source);
                }
            }
            EpEvent::Response { bytes, .. } => {
                if let Some(r) = as_response(&bytes) {
                    note_response(notes, &r);
                }
            }
            _ => {}
        }
    }
}

/// Sends BYE and waits for its final response (or Timer F); `lang` is the
/// language of what it prints.
pub async fn hangup(
    ep: &mut Endpoint,
    est: &mut Established,
    lang: Lang,
    notes: &mut dyn FnMut(Note),
) -> Result<HangupReport, Error> {
    if let Some(h) = &est.hangup {
        return Ok(h.clone());
    }
    let via = ep.via();
    let (b, seq) = est.dialog.request("BYE", &via)?;
    let bye = b.header(HeaderName::UserAgent, USER_AGENT).build();
    let key = ep.send_request(&bye, est.dest)?;
    notes(Note::Sent {
        method: "BYE".into(),
        uri: est.dialog.request_target().0,
        cseq: seq,
        to: est.dest,
    });
    let give_up = now() + Duration::from_secs(40);
    loop {
        match ep.next(Some(give_up)).await {
            EpEvent::Response {
                key: k,
                status,
                bytes,
            } if k == key => {
                if let Some(r) = as_response(&bytes) {
                    note_response(notes, &r);
                    est.dialog.on_response(&r);
                }
                if status >= 200 {
                    let h = HangupReport {
                        by: "local".into(),
                        status: Some(status),
                    };
                    est.hangup = Some(h.clone());
                    return Ok(h);
                }
            }
            EpEvent::Timeout { key: k } if k == key => {
                notes(Note::Info {
                    text: agent_text(lang, "call_bye_no_response", &[]),
                });
                est.dialog.terminate();
                let h = HangupReport {
                    by: "local".into(),
                    status: None,
                };
                est.hangup = Some(h.clone());
                return Ok(h);
            }
            EpEvent::Request {
                key: k,
                bytes,
                source,
                ..
            } => {
                let Some(req) = as_request(&bytes) else {
                    continue;
                };
                if sipkit_dialog::DialogId::of_request(&req).as_ref() == Some(est.dialog.id())
                    && req.method() == Method::Bye
                {
                    // Both sides hung up at once.
                    note_request(notes, &req, source);
                    let tag = est.dialog.id().local_tag.clone();
                    reply(ep, notes, &k, &req, 200, "OK", Some(&tag));
                } else {
                    reply_default(ep, notes, &k, &bytes, source);
                }
            }
            EpEvent::Deadline => {
                let h = HangupReport {
                    by: "local".into(),
                    status: None,
                };
                est.hangup = Some(h.clone());
                return Ok(h);
            }
            _ => {}
        }
    }
}

/// `sipkit call`: place the call, follow redirects, hold, hang up.
pub async fn call(
    ep: &mut Endpoint,
    opts: &CallOptions,
    notes: &mut dyn FnMut(Note),
) -> Result<CallReport, Error> {
    let (mut report, est) = place_call(ep, opts, notes).await?;
    if let Some(mut est) = est {
        if !opts.hold.is_zero() {
            hold(ep, &mut est, now() + opts.hold, notes).await;
        }
        report.hangup = Some(hangup(ep, &mut est, opts.lang, notes).await?);
    }
    ep.send_queued().await;
    Ok(report)
}
