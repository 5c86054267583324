//! Placing a call (`sipkit call`): INVITE, redirects followed as RFC 3261
//! §8.1.3.4 says (through [`sipkit_dialog::RedirectFollower`]), the ACK for
//! the 2xx, an optional hold, and BYE. The decisions are the synchronous
//! [`crate::Agent`]'s ([`crate::Command::Call`], [`crate::Agent::place`]);
//! this holds what it is asked and the pieces of its report.

use std::net::SocketAddr;
use std::time::Duration;

use sipkit_codes::{agent_text, Lang};
use sipkit_dialog::{Choice, RedirectPolicy};
use sipkit_message::Response;

use crate::report::RedirectReport;

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

/// Why future requests go where they go, in one sentence.
pub(crate) fn future_rule(redirects: &[RedirectReport], permanent: bool, lang: Lang) -> String {
    if permanent {
        return agent_text(lang, "rule_permanent", &[]);
    }
    match redirects.iter().find(|r| r.followed) {
        None => agent_text(lang, "rule_none", &[]),
        Some(r) if r.status == 302 => agent_text(lang, "rule_temporary", &[]),
        Some(r) => agent_text(lang, "rule_other", &[("status", &r.status.to_string())]),
    }
}
