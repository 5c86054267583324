//! `sipkit transfer`: call the transferee, REFER it to the target (RFC 3515),
//! follow the NOTIFYs of the implicit subscription, decide the outcome,
//! diagnose a missing NOTIFY, and end the call (RFC 5589 blind transfer:
//! the transferor ends its own dialog). The decisions are the synchronous
//! [`Agent`]'s ([`Agent::place`], [`Agent::refer`], [`Agent::hangup`]);
//! this is its thin async shell and the diagnosis in words.

use std::time::Duration;

use sipkit_codes::{agent_text, Lang};
use sipkit_dialog::{Diagnosis, Outcome};

use crate::agent::{command_agent, drive_until, give_back, Agent, CallState};
use crate::call::CallOptions;
use crate::endpoint::{now, Endpoint};
use crate::report::{Note, NotificationReport, TransferReport};
use crate::Error;

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
    let c = ctx(ep, &opts.target);
    let mut agent = command_agent(ep, opts.lang);
    let result = run_transfer(ep, &mut agent, opts, &c, notes).await;
    give_back(ep, agent);
    result
}

async fn run_transfer(
    ep: &mut Endpoint,
    agent: &mut Agent,
    opts: &TransferOptions,
    c: &Ctx,
    notes: &mut dyn FnMut(Note),
) -> Result<TransferReport, Error> {
    let mut call_opts = opts.call.clone();
    call_opts.lang = opts.lang;
    let id = agent.place(now(), &call_opts, None)?;
    drive_until(ep, agent, notes, |a| {
        a.call_state(id) != Some(CallState::Calling)
    })
    .await?;
    let call = agent
        .call_report(id)
        .ok_or(Error::Internal("the placed call has no report"))?;
    if agent.call_state(id) != Some(CallState::Up) {
        let diagnosis = text(opts.lang, &Why::NotAnswered(call.final_status), c);
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
    }
    agent.refer(
        now(),
        id,
        &opts.target,
        opts.notify_timeout,
        opts.no_refer_sub,
    )?;
    drive_until(ep, agent, notes, |a| a.transfer_outcome(id).is_some()).await?;
    let sub = agent
        .referral(id)
        .cloned()
        .ok_or(Error::Internal("the REFER has no subscriber"))?;
    let refer_reason = agent.refer_reason(id).map(str::to_owned);
    let outcome = sub.outcome().unwrap_or(Outcome::NoNotify);
    let diag = sub
        .diagnosis()
        .cloned()
        .unwrap_or(Diagnosis::NoNotifyAtAll {
            waited: opts.notify_timeout,
        });
    let diagnosis = text(opts.lang, &Why::Sub(&diag), c);
    notes(Note::Info {
        text: agent_text(
            opts.lang,
            "transfer_outcome",
            &[("outcome", outcome.as_str()), ("diagnosis", &diagnosis)],
        ),
    });
    agent.hangup(now(), id)?;
    drive_until(ep, agent, notes, |a| {
        a.call_state(id) == Some(CallState::Ended)
    })
    .await?;
    let hangup = agent.call_report(id).and_then(|r| r.hangup);
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
        diagnosis_code: code(&diag).into(),
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
