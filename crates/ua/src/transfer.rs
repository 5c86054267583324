//! `sipkit transfer`: call the transferee, REFER it to the target (RFC 3515),
//! follow the NOTIFYs of the implicit subscription, decide the outcome,
//! diagnose a missing NOTIFY, and end the call (RFC 5589 blind transfer:
//! the transferor ends its own dialog).

use std::time::Duration;

use sipkit_codes::Lang;
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
    let (call, est) = place_call(ep, &opts.call, notes).await?;
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
                        notes(Note::Info {
                            text: format!(
                                "waiting up to {} s for NOTIFY",
                                opts.notify_timeout.as_secs()
                            ),
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
        text: format!("outcome: {} — {diagnosis}", outcome.as_str()),
    });
    let hangup = Some(hangup(ep, &mut est, notes).await?);
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
        None => {
            if lang == Lang::RU {
                "нет".into()
            } else {
                "none".into()
            }
        }
    }
}

fn text(lang: Lang, why: &Why<'_>, c: &Ctx) -> String {
    let ru = lang == Lang::RU;
    match why {
        Why::NotAnswered(s) => {
            let s = s.map_or_else(
                || {
                    if ru {
                        "ответа нет".to_owned()
                    } else {
                        "no response".to_owned()
                    }
                },
                |s| named(s, lang),
            );
            if ru {
                format!(
                    "вызов переводимому не был принят ({s}): переводить нечего, REFER не отправлен"
                )
            } else {
                format!("the call to the transferee was not answered ({s}): there is nothing to transfer, no REFER was sent")
            }
        }
        Why::Sub(d) => match d {
            Diagnosis::Transferred { status } => {
                if ru {
                    format!(
                        "переводимый дозвонился до {}: новый вызов принят ({})",
                        c.target,
                        named(*status, lang)
                    )
                } else {
                    format!(
                        "the transferee reached {}: the new call was answered ({})",
                        c.target,
                        named(*status, lang)
                    )
                }
            }
            Diagnosis::NewCallFailed { status } => {
                if ru {
                    format!(
                        "пришёл NOTIFY с ошибкой: вызов переводимого на {} завершился {} — {}",
                        c.target,
                        named(*status, lang),
                        summary(*status, lang)
                    )
                } else {
                    format!(
                        "a NOTIFY arrived with a failure: the transferee's call to {} ended with {} — {}",
                        c.target,
                        named(*status, lang),
                        summary(*status, lang)
                    )
                }
            }
            Diagnosis::ReferRejected { status } => {
                if ru {
                    format!(
                        "переводимый отклонил REFER: {} — {}",
                        named(*status, lang),
                        summary(*status, lang)
                    )
                } else {
                    format!(
                        "the transferee refused the REFER with {} — {}",
                        named(*status, lang),
                        summary(*status, lang)
                    )
                }
            }
            Diagnosis::ReferTimedOut => {
                if ru {
                    "на REFER не пришло ответа за 32 с (таймер F): переводимый или прокси его потерял или отбросил".into()
                } else {
                    "no response to the REFER within 32 s (Timer F): the transferee or a proxy lost or dropped it".into()
                }
            }
            Diagnosis::SubscriptionRefused { requested: true } => {
                if ru {
                    "переводимый принял REFER без подписки (Refer-Sub: false), как и просили: NOTIFY не будет, исход перевода неизвестен".into()
                } else {
                    "the transferee accepted the REFER without a subscription (Refer-Sub: false), as asked: no NOTIFY will come, so the outcome is unknown".into()
                }
            }
            Diagnosis::SubscriptionRefused { requested: false } => {
                if ru {
                    "подписка отклонена: ответ 2xx на REFER содержит Refer-Sub: false, хотя REFER этого не просил (RFC 4488 §4 разрешает это, только если REFER сам содержал Refer-Sub: false); NOTIFY не будет, исход перевода неизвестен".into()
                } else {
                    "the subscription was refused: the 2xx to the REFER says Refer-Sub: false although the REFER did not ask for it (RFC 4488 §4 allows that only when the REFER carried Refer-Sub: false); no NOTIFY will come, so the outcome is unknown".into()
                }
            }
            Diagnosis::ExpiresZero => {
                if ru {
                    "подписке дали нулевой срок (Expires: 0 или expires=0): она закончилась сразу, и NOTIFY с результатом не пришёл".into()
                } else {
                    "the subscription was given zero lifetime (Expires: 0 or expires=0): it ended at once, and no NOTIFY with the result came".into()
                }
            }
            Diagnosis::SubscriptionExpired { last_status } => {
                if ru {
                    format!(
                        "подписка истекла (expires в Subscription-State) раньше, чем пришёл NOTIFY с итогом; последний статус: {}",
                        last(*last_status, lang)
                    )
                } else {
                    format!(
                        "the subscription expired (the expires of Subscription-State) before a NOTIFY with the final result; the last status was {}",
                        last(*last_status, lang)
                    )
                }
            }
            Diagnosis::NoNotifyAtAll { waited } => {
                if ru {
                    format!(
                        "за {} с не пришло ни одного NOTIFY, хотя REFER принят: проверьте, что Contact переводящего <{}> достижим от переводимого по {} — NAT (частный адрес в Contact или Via), межсетевой экран, отбрасывающий входящие запросы, или несовпадение транспорта (переводимый шлёт NOTIFY по другому транспорту или порту)",
                        waited.as_secs(),
                        c.contact,
                        c.transport
                    )
                } else {
                    format!(
                        "no NOTIFY arrived within {} s although the REFER was accepted: check that the transferor's Contact <{}> is reachable from the transferee over {} — NAT (a private address in Contact or Via), a firewall dropping inbound requests, or a transport mismatch (the transferee sending NOTIFY over another transport or port)",
                        waited.as_secs(),
                        c.contact,
                        c.transport
                    )
                }
            }
            Diagnosis::NoFinalNotify {
                last_status,
                waited,
            } => {
                if ru {
                    format!(
                        "NOTIFY приходили (последний: {}), но итогового за {} с не было: новый вызов, возможно, ещё звонит (увеличьте --notify-timeout), или переводимый перестал сообщать",
                        last(*last_status, lang),
                        waited.as_secs()
                    )
                } else {
                    format!(
                        "NOTIFYs came (the last: {}) but no final one within {} s: the new call may still be ringing (raise --notify-timeout), or the transferee stopped reporting",
                        last(*last_status, lang),
                        waited.as_secs()
                    )
                }
            }
            Diagnosis::TerminatedWithoutResult {
                reason,
                last_status,
            } => {
                let r = reason.clone().unwrap_or_else(|| "-".into());
                if ru {
                    format!(
                        "переводимый завершил подписку (reason={r}), не сообщив итог нового вызова; последний статус: {}",
                        last(*last_status, lang)
                    )
                } else {
                    format!(
                        "the transferee ended the subscription (reason={r}) without reporting the new call's final status; the last status was {}",
                        last(*last_status, lang)
                    )
                }
            }
            _ => {
                if ru {
                    "исход неизвестен".into()
                } else {
                    "the outcome is unknown".into()
                }
            }
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
