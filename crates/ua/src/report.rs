//! What the commands tell as it happens ([`Note`]) and at the end (the
//! reports, serialized as the `--format json` document).

use std::net::SocketAddr;

use serde::Serialize;

/// One thing that happened, for the live log. The front end renders it
/// (with the explanation of every status code from sipkit-codes).
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Note {
    /// The endpoint is listening.
    Listening {
        /// Transport and bound address, e.g. `udp:127.0.0.1:5062`.
        listen: String,
        /// The Contact URI.
        contact: String,
    },
    /// A request went out.
    Sent {
        /// Method.
        method: String,
        /// Request-URI.
        uri: String,
        /// CSeq number.
        cseq: u32,
        /// Destination.
        to: SocketAddr,
    },
    /// A response came in.
    Response {
        /// Status code.
        status: u16,
        /// Reason phrase as received.
        reason: String,
        /// The method it answers (CSeq).
        method: String,
        /// Its Contacts (3xx), if any.
        contacts: Vec<String>,
    },
    /// A request came in.
    Request {
        /// Method.
        method: String,
        /// Request-URI.
        uri: String,
        /// From URI.
        from: String,
        /// Source address.
        source: SocketAddr,
    },
    /// This side answered a request.
    Replied {
        /// Status code.
        status: u16,
        /// Reason phrase.
        reason: String,
        /// The method answered.
        method: String,
    },
    /// A redirect is followed (or not).
    Redirect {
        /// The 3xx status.
        status: u16,
        /// Its Contacts in try order.
        queued: Vec<String>,
        /// Contacts skipped as already tried.
        looped: Vec<String>,
        /// The next target, if any.
        next: Option<String>,
        /// Why it stops, if it does.
        stop: Option<String>,
    },
    /// A NOTIFY of the refer subscription.
    Notify {
        /// The sipfrag's status.
        sipfrag_status: Option<u16>,
        /// The sipfrag's first line.
        sipfrag: String,
        /// Subscription-State.
        subscription_state: String,
        /// Its reason.
        reason: Option<String>,
        /// What this side answered.
        answered: u16,
    },
    /// Anything else worth a line.
    Info {
        /// The text.
        text: String,
    },
}

/// A Contact offered by a 3xx.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ContactReport {
    /// The URI.
    pub uri: String,
    /// Its q (absent when not given).
    pub q: Option<f32>,
}

/// A 3xx received.
#[derive(Debug, Clone, Serialize)]
pub struct RedirectReport {
    /// The status.
    pub status: u16,
    /// The reason phrase as received.
    pub reason: String,
    /// The Request-URI it answered.
    pub from_uri: String,
    /// Its Contacts in the order given.
    pub contacts: Vec<ContactReport>,
    /// The Contacts added to the targets, in try order.
    pub queued: Vec<String>,
    /// Contacts skipped as already tried (a loop).
    pub looped: Vec<String>,
    /// False for 305, 380, and one beyond the redirect limit.
    pub followed: bool,
}

/// One INVITE sent.
#[derive(Debug, Clone, Serialize)]
pub struct AttemptReport {
    /// The Request-URI.
    pub uri: String,
    /// Its CSeq.
    pub cseq: u32,
    /// Where it went.
    pub destination: Option<String>,
    /// The final status (none when no response came).
    pub status: Option<u16>,
    /// The reason phrase, or what happened instead of a response.
    pub reason: String,
}

/// How a call ended after it was answered.
#[derive(Debug, Clone, Serialize)]
pub struct HangupReport {
    /// `local` (this side sent BYE) or `remote`.
    pub by: String,
    /// The status of the BYE's response (local), or of our answer (remote).
    pub status: Option<u16>,
}

/// The result of `sipkit call`.
#[derive(Debug, Clone, Serialize)]
pub struct CallReport {
    /// The URI asked for.
    pub original_uri: String,
    /// The Request-URI of the last INVITE.
    pub final_uri: String,
    /// Its final status (none when no response came).
    pub final_status: Option<u16>,
    /// Its reason phrase.
    pub final_reason: Option<String>,
    /// `answered`, `failed`, `global_failure`, `loop`, `max_redirects`,
    /// `not_followed`, `no_contact`, or `auth_failed` (a wrong password:
    /// the answered challenge came back, or 403).
    pub stopped: String,
    /// Every 3xx received.
    pub redirects: Vec<RedirectReport>,
    /// Every INVITE sent.
    pub attempts: Vec<AttemptReport>,
    /// Where future requests for the original URI go: the original for a
    /// 302 (temporary), the new address after a 301 (permanent).
    pub future_requests_uri: String,
    /// Why, in one sentence.
    pub future_requests_rule: String,
    /// The new permanent address learnt from a 301, if any.
    pub permanent_address: Option<String>,
    /// The Call-ID.
    pub call_id: String,
    /// How the answered call ended.
    pub hangup: Option<HangupReport>,
    /// The digest challenges answered, if any came (RFC 3261 §22.2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth: Option<AuthReport>,
}

/// How digest challenges to a request chain were answered (RFC 3261 §22,
/// RFC 7616, RFC 8760).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuthReport {
    /// The user name answered with.
    pub user: String,
    /// The realm of the challenge answered.
    pub realm: Option<String>,
    /// The algorithm chosen (`SHA-512-256`, `SHA-256`, `MD5`).
    pub algorithm: Option<String>,
    /// Challenges answered (a stale nonce counts, and is no failure).
    pub challenges: u32,
    /// `authenticated`, `auth_failed` (wrong user or password),
    /// `unsupported` (no challenge this agent can answer) or `no_password`.
    pub outcome: String,
    /// The final 401/407/403 when it failed.
    pub status: Option<u16>,
    /// Its explanation from the code reference (the text of `sipkit explain`).
    pub explanation: Option<String>,
}

impl CallReport {
    /// True when the call was answered.
    pub fn answered(&self) -> bool {
        self.stopped == "answered"
    }
}

/// One NOTIFY received by the transferor.
#[derive(Debug, Clone, Serialize)]
pub struct NotificationReport {
    /// Milliseconds after the REFER was sent.
    pub at_ms: u64,
    /// The status in the sipfrag.
    pub sipfrag_status: Option<u16>,
    /// The sipfrag's first line.
    pub sipfrag: String,
    /// The Subscription-State value.
    pub subscription_state: String,
    /// Its reason.
    pub reason: Option<String>,
    /// Its expires.
    pub expires: Option<u32>,
    /// The status this side answered with.
    pub answered: u16,
}

/// The result of `sipkit transfer`.
#[derive(Debug, Clone, Serialize)]
pub struct TransferReport {
    /// The call placed first (to the transferee).
    pub call: CallReport,
    /// The Refer-To target.
    pub target: String,
    /// The REFER's final status (408 when none came).
    pub refer_status: Option<u16>,
    /// Its reason phrase.
    pub refer_reason: Option<String>,
    /// False when the 2xx said `Refer-Sub: false`.
    pub refer_sub: Option<bool>,
    /// Every NOTIFY received.
    pub notifications: Vec<NotificationReport>,
    /// `transferred`, `failed`, `no_notify`, `refer_rejected`.
    pub outcome: String,
    /// The diagnosis in words.
    pub diagnosis: String,
    /// The diagnosis as a stable code.
    pub diagnosis_code: String,
    /// How the call to the transferee ended.
    pub hangup: Option<HangupReport>,
}

/// One call the headless UA handled.
#[derive(Debug, Clone, Serialize)]
pub struct AgentCallReport {
    /// The Call-ID.
    pub call_id: String,
    /// `inbound` or `outbound` (a call placed for a transfer).
    pub direction: String,
    /// The peer's URI.
    pub peer: String,
    /// The final status of the INVITE.
    pub status: Option<u16>,
    /// How it ended: `bye_sent`, `bye_received`, `cancelled`, `rejected`, `no_ack`, `failed`, `active`.
    pub ended: String,
    /// For an inbound call that was transferred: what happened.
    pub transfer: Option<TransfereeReport>,
    /// For a call placed because of a REFER: the Referred-By sent.
    pub referred_by: Option<String>,
}

/// What the UA did as transferee.
#[derive(Debug, Clone, Serialize)]
pub struct TransfereeReport {
    /// The Refer-To target.
    pub refer_to: String,
    /// The answer to the REFER.
    pub refer_status: u16,
    /// The Referred-By put in the new INVITE.
    pub referred_by: String,
    /// The sipfrag statuses NOTIFYed, in order.
    pub notified: Vec<u16>,
    /// The new call's final status.
    pub new_call_status: Option<u16>,
}

/// The result of `sipkit ua`.
#[derive(Debug, Clone, Serialize)]
pub struct AgentReport {
    /// Where it listened.
    pub listen: String,
    /// The registration's last status, if `--register` was given.
    pub registration: Option<RegistrationReport>,
    /// Every call.
    pub calls: Vec<AgentCallReport>,
    /// Why it stopped: the reason it was shut down with (`duration`,
    /// `calls`, a signal's), or `auth_failed` when the registrar refused
    /// the credentials.
    pub stopped: String,
}

/// The registration's result.
#[derive(Debug, Clone, Serialize)]
pub struct RegistrationReport {
    /// The registrar URI.
    pub registrar: String,
    /// The AOR registered.
    pub aor: String,
    /// The last REGISTER's status.
    pub status: Option<u16>,
    /// The expiry granted.
    pub expires: Option<u32>,
    /// The status of the un-REGISTER at exit.
    pub unregister_status: Option<u16>,
    /// The digest challenges answered, if any came (RFC 3261 §22.2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth: Option<AuthReport>,
}
