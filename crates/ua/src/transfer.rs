//! `sipkit transfer`: call the transferee, REFER it to the target (RFC 3515),
//! follow the NOTIFYs of the implicit subscription, decide the outcome,
//! diagnose a missing NOTIFY, and end the call (RFC 5589 blind transfer:
//! the transferor ends its own dialog). The decisions are the synchronous
//! [`Agent`]'s ([`crate::Command::Transfer`]: [`Agent::place`],
//! [`Agent::refer`], [`Agent::hangup`]); this is the report and the
//! diagnosis in words.

use std::time::Duration;

use sipkit_codes::{agent_text, Lang};
use sipkit_dialog::{Diagnosis, Outcome, ReferSubscriber};

use crate::agent::{Agent, CallId};
use crate::call::CallOptions;
use crate::report::{NotificationReport, TransferReport};

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

/// The outcome of the REFER sent on call `id`, its diagnosis, and the
/// diagnosis in words.
pub(crate) fn diagnose(
    agent: &Agent,
    id: CallId,
    opts: &TransferOptions,
) -> (Outcome, Diagnosis, String) {
    let sub = agent.referral(id);
    let outcome = sub
        .and_then(ReferSubscriber::outcome)
        .unwrap_or(Outcome::NoNotify);
    let diag = sub
        .and_then(|s| s.diagnosis().cloned())
        .unwrap_or(Diagnosis::NoNotifyAtAll {
            waited: opts.notify_timeout,
        });
    let text = text(opts.lang, &Why::Sub(&diag), &ctx(agent, &opts.target));
    (outcome, diag, text)
}

/// The report of `sipkit transfer` on call `id` (`None` before the call).
pub(crate) fn report(agent: &Agent, id: CallId, opts: &TransferOptions) -> Option<TransferReport> {
    let mut call = agent.call_report(id)?;
    let Some(sub) = agent.referral(id) else {
        let c = ctx(agent, &opts.target);
        let diagnosis = text(opts.lang, &Why::NotAnswered(call.final_status), &c);
        return Some(TransferReport {
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
    // The call as it stood when the REFER went out; the hang-up is reported apart.
    let hangup = call.hangup.take();
    let (outcome, diag, diagnosis) = diagnose(agent, id, opts);
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
    Some(TransferReport {
        call,
        target: opts.target.clone(),
        refer_status: sub.refer_status(),
        refer_reason: agent.refer_reason(id).map(str::to_owned),
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

fn ctx(agent: &Agent, target: &str) -> Ctx {
    Ctx {
        contact: agent.contact(),
        transport: agent.transport().as_str(),
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
