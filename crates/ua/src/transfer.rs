//! `sipkit transfer`: call the transferee, REFER it to the target (RFC 3515),
//! follow the NOTIFYs of the implicit subscription, decide the outcome,
//! diagnose a missing NOTIFY, and end the call (RFC 5589 blind transfer:
//! the transferor ends its own dialog).

use std::time::Duration;

use sipkit_codes::{agent_text, Lang};
use sipkit_dialog::{Diagnosis, DialogId, Outcome, ReferSubscriber};
use sipkit_message::{HeaderName, Method};

use crate::call::{
    as_request, as_response, hangup, in_dialog_request, note_response, place_call, reply,
    reply_default, CallOptions,
};
use crate::endpoint::{now, Endpoint, EpEvent};
use crate::report::{Note, NotificationReport, TransferReport};
use crate::{Error, USER_AGENT};

/// What `sipkit transfer` is asked to do.
#[derive(Debug, Clone)]
pub struct TransferOptions {
    /// The call to the transferee.
    pub call: CallOptions,
    /// The Refer-To target.
    pub target: String,
    /// How long to wait for NOTIFYs after the REFER is accepted.
    pub notify_timeout: Duration,
    /// Ask for no subscription (`Refer-Sub: false`, RFC 4488).
    pub no_refer_sub: bool,
    /// The language of the diagnosis.
    pub lang: Lang,
}

/// Calls, REFERs, follows the NOTIFYs, hangs up.
pub async fn transfer(
    ep: &mut Endpoint,
    opts: &TransferOptions,
    notes: &mut dyn FnMut(Note),
) -> Result<TransferReport, Error> {
    sipkit_message::Uri::parse(&opts.target)
        .map_err(|e| Error::BadUri(opts.target.clone(), e.to_string()))?;
    let mut call_opts = opts.call.clone();
    call_opts.lang = opts.lang;
    let (call, est) = place_call(ep, &call_opts, notes).await?;
    let Some(mut est) = est else {
        let status = call.final_status;
        let diagnosis = text(opts.lang, &Why::NotAnswered(status), &ctx(ep, &opts.target));
        ep.send_queued().await;
        return Ok(TransferReport {
            call,
            target: opts.target.clone(),
            refer_status: None,
            refer_reason: None,
            refer_sub: None,
            notifications: vec![],
            outcome: Outcome::Failed.as_str().into(),
            diagnosis,
            diagnosis_code: "call_not_answered".into(),
            hangup: None,
        });
    };
    let via = ep.via();
    let (b, seq) = est.dialog.request("REFER", &via)?;
    let local = est.dialog.local_party().to_owned();
    let referred_by = local.split(";tag=").next().unwrap_or(&local).to_owned();
    let mut b = b
        .header(HeaderName::ReferTo, format!("<{}>", opts.target))
        .header(HeaderName::ReferredBy, &referred_by)
        .header(HeaderName::UserAgent, USER_AGENT)
        .header(HeaderName::Supported, "norefersub");
    if opts.no_refer_sub {
        b = b.raw_header("Refer-Sub", "false");
    }
    let refer = b.build();
    let refer_key = ep.send_request(&refer, est.dest)?;
    notes(Note::Sent {
        method: "REFER".into(),
        uri: est.dialog.request_target().0,
        cseq: seq,
        to: est.dest,
    });
    let start = now();
    let mut sub = ReferSubscriber::new(start, seq, opts.notify_timeout, opts.no_refer_sub);
    let mut refer_reason = None;
    let dialog_id: DialogId = est.dialog.id().clone();
    while sub.outcome().is_none() {
        match ep.next(sub.poll_timeout()).await {
            EpEvent::Response { key, status, bytes } if key == refer_key => {
                let Some(r) = as_response(&bytes) else {
                    continue;
                };
                note_response(notes, &r);
                if status >= 200 {
                    refer_reason = Some(r.reason().to_owned());
                    sub.on_refer_response(now(), &r);
                    if status < 300 && sub.outcome().is_none() {
                        let secs = opts.notify_timeout.as_secs().to_string();
                        notes(Note::Info {
                            text: agent_text(opts.lang, "transfer_waiting", &[("secs", &secs)]),
                        });
                    }
                }
            }
            EpEvent::Timeout { key } if key == refer_key => sub.on_refer_timeout(),
            EpEvent::Response { bytes, .. } => {
                if let Some(r) = as_response(&bytes) {
                    note_response(notes, &r);
                }
            }
            EpEvent::Request {
                key, bytes, source, ..
            } => {
                let Some(req) = as_request(&bytes) else {
                    continue;
                };
                let ours = DialogId::of_request(&req).as_ref() == Some(&dialog_id);
                if ours && req.method() == Method::Notify {
                    crate::call::note_request(notes, &req, source);
                    // The CSeq check (§12.2.2) applies; the subscription survives a BYE.
                    let _ = est.dialog.on_request(&req);
                    let answer = sub.on_notify(now(), &req);
                    reply(
                        ep,
                        notes,
                        &key,
                        &req,
                        answer.status,
                        answer.reason,
                        Some(&dialog_id.local_tag),
                    );
                    if let Some(n) = sub.notifications().last() {
                        notes(Note::Notify {
                            sipfrag_status: n.sipfrag_status,
                            sipfrag: n.sipfrag.clone(),
                            subscription_state: n.subscription_state.clone(),
                            reason: n.reason.clone(),
                            answered: n.answered,
                        });
                    }
                } else if ours {
                    in_dialog_request(ep, &mut est, &key, &req, source, notes);
                } else {
                    reply_default(ep, notes, &key, &bytes, source);
                }
            }
            EpEvent::Deadline => sub.handle_timeout(now()),
            _ => {}
        }
    }
    let outcome = sub.outcome().unwrap_or(Outcome::NoNotify);
    let diag = sub
        .diagnosis()
        .cloned()
        .unwrap_or(Diagnosis::NoNotifyAtAll {
            waited: opts.notify_timeout,
        });
    let c = ctx(ep, &opts.target);
    let diagnosis = text(opts.lang, &Why::Sub(&diag), &c);
    let code = code(&diag);
    notes(Note::Info {
        text: agent_text(
            opts.lang,
            "transfer_outcome",
            &[("outcome", outcome.as_str()), ("diagnosis", &diagnosis)],
        ),
    });
    let hangup = Some(hangup(ep, &mut est, opts.lang, notes).await?);
    ep.send_queued().await;
    let notifications = sub
        .notifications()
        .iter()
        .map(|n| NotificationReport {
            at_ms: n.at.as_millis() as u64,
            sipfrag_status: n.sipfrag_status,
            sipfrag: n.sipfrag.clone(),
            subscription_state: n.subscription_state.clone(),
            reason: n.reason.clone(),
            expires: n.expires,
            answered: n.answered,
        })
        .collect();
    Ok(TransferReport {
        call,
        target: opts.target.clone(),
        refer_status: sub.refer_status(),
        refer_reason,
        refer_sub: sub
            .refer_status()
            .filter(|s| (200..300).contains(s))
            .map(|_| !sub.refer_sub_false()),
        notifications,
        outcome: outcome.as_str().into(),
        diagnosis,
        diagnosis_code: code.into(),
        hangup,
    })
}

/// What the diagnosis talks about.
struct Ctx {
    contact: String,
    transport: &'static str,
    target: String,
}

fn ctx(ep: &Endpoint, target: &str) -> Ctx {
    Ctx {
        contact: ep.contact("sipkit"),
        transport: ep.transport().as_str(),
        target: target.to_owned(),
    }
}

enum Why<'a> {
    NotAnswered(Option<u16>),
    Sub(&'a Diagnosis),
}

/// The stable code of a diagnosis (the JSON `diagnosis_code`).
pub fn code(d: &Diagnosis) -> &'static str {
    match d {
        Diagnosis::Transferred { .. } => "transferred",
        Diagnosis::NewCallFailed { .. } => "new_call_failed",
        Diagnosis::ReferRejected { .. } => "refer_rejected",
        Diagnosis::ReferTimedOut => "refer_timeout",
        Diagnosis::SubscriptionRefused { .. } => "subscription_refused",
        Diagnosis::ExpiresZero => "expires_zero",
        Diagnosis::SubscriptionExpired { .. } => "subscription_expired",
        Diagnosis::NoNotifyAtAll { .. } => "no_notify",
        Diagnosis::NoFinalNotify { .. } => "no_final_notify",
        Diagnosis::TerminatedWithoutResult { .. } => "terminated_without_result",
        _ => "other",
    }
}

/// `486 Busy Here` in the language, from the code reference.
fn named(code: u16, lang: Lang) -> String {
    match sipkit_codes::explain(code, lang) {
        Ok(e) => format!("{code} {}", e.title),
        Err(_) => code.to_string(),
    }
}

fn summary(code: u16, lang: Lang) -> String {
    sipkit_codes::explain(code, lang)
        .map(|e| e.summary)
        .unwrap_or_default()
}

fn last(s: Option<u16>, lang: Lang) -> String {
    match s {
        Some(s) => named(s, lang),
        None => agent_text(lang, "diag_none", &[]),
    }
}

/// The diagnosis in words, from the `[agent]` table of the knowledge base.
fn text(lang: Lang, why: &Why<'_>, c: &Ctx) -> String {
    let say = |key: &str, args: &[(&str, &str)]| agent_text(lang, key, args);
    let target = c.target.as_str();
    match why {
        Why::NotAnswered(s) => {
            let s = s.map_or_else(|| say("diag_no_response", &[]), |s| named(s, lang));
            say("diag_not_answered", &[("status", &s)])
        }
        Why::Sub(d) => match d {
            Diagnosis::Transferred { status } => say(
                "diag_transferred",
                &[("target", target), ("status", &named(*status, lang))],
            ),
            Diagnosis::NewCallFailed { status } => say(
                "diag_new_call_failed",
                &[
                    ("target", target),
                    ("status", &named(*status, lang)),
                    ("summary", &summary(*status, lang)),
                ],
            ),
            Diagnosis::ReferRejected { status } => say(
                "diag_refer_rejected",
                &[
                    ("status", &named(*status, lang)),
                    ("summary", &summary(*status, lang)),
                ],
            ),
            Diagnosis::ReferTimedOut => say("diag_refer_timeout", &[]),
            Diagnosis::SubscriptionRefused { requested: true } => say("diag_refused_as_asked", &[]),
            Diagnosis::SubscriptionRefused { requested: false } => say("diag_refused_unasked", &[]),
            Diagnosis::ExpiresZero => say("diag_expires_zero", &[]),
            Diagnosis::SubscriptionExpired { last_status } => {
                say("diag_expired", &[("last", &last(*last_status, lang))])
            }
            Diagnosis::NoNotifyAtAll { waited } => say(
                "diag_no_notify",
                &[
                    ("secs", &waited.as_secs().to_string()),
                    ("contact", &c.contact),
                    ("transport", c.transport),
                ],
            ),
            Diagnosis::NoFinalNotify {
                last_status,
                waited,
            } => say(
                "diag_no_final_notify",
                &[
                    ("last", &last(*last_status, lang)),
                    ("secs", &waited.as_secs().to_string()),
                ],
            ),
            Diagnosis::TerminatedWithoutResult {
                reason,
                last_status,
            } => {
                let r = reason.clone().unwrap_or_else(|| "-".into());
                say(
                    "diag_terminated",
                    &[("reason", &r), ("last", &last(*last_status, lang))],
                )
            }
            _ => say("diag_unknown", &[]),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c() -> Ctx {
        Ctx {
            contact: "sip:sipkit@192.0.2.1:5062".into(),
            transport: "UDP",
            target: "sip:carol@192.0.2.3".into(),
        }
    }

    #[test]
    fn no_notify_points_at_the_contact() {
        let t = text(
            Lang::EN,
            &Why::Sub(&Diagnosis::NoNotifyAtAll {
                waited: Duration::from_secs(32),
            }),
            &c(),
        );
        assert!(
            t.contains("within 32 s")
                && t.contains("<sip:sipkit@192.0.2.1:5062>")
                && t.contains("NAT"),
            "{t}"
        );
        let t = text(
            Lang::RU,
            &Why::Sub(&Diagnosis::NoNotifyAtAll {
                waited: Duration::from_secs(5),
            }),
            &c(),
        );
        assert!(t.contains("NAT") && t.contains("5 с"), "{t}");
    }

    #[test]
    fn failures_are_named_from_the_code_reference() {
        let t = text(
            Lang::EN,
            &Why::Sub(&Diagnosis::NewCallFailed { status: 486 }),
            &c(),
        );
        assert!(t.contains("486 Busy Here"), "{t}");
        let t = text(
            Lang::EN,
            &Why::Sub(&Diagnosis::ReferRejected { status: 603 }),
            &c(),
        );
        assert!(t.contains("603 Decline"), "{t}");
        assert_eq!(code(&Diagnosis::ExpiresZero), "expires_zero");
    }
}
