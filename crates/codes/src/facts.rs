//! The structured facts of a code: what the client does next, who sends it,
//! what it answers, what it does to dialogs, what a proxy does with it, the
//! header fields it carries, and its registry status.
//!
//! Each class has defaults (RFC 3261 §21 and §16.7), and `data/codes.toml`
//! overrides them per code wherever a code's own section says otherwise.
//! Every generated sentence about a code is built from these facts alone.

use serde::{Deserialize, Serialize};

use crate::explain::SpecRef;

/// What a client does after receiving the response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Next {
    /// Keep waiting for a final response (1xx, RFC 3261 §8.1.3.1).
    Wait,
    /// Nothing more: the request succeeded (2xx).
    Done,
    /// Retry at the addresses in Contact (RFC 3261 §8.1.3.4).
    Contact,
    /// Repeat the request through the proxy named in Contact (305,
    /// RFC 3261 §21.3.4).
    ViaProxy,
    /// Use the alternative service described in the body (380,
    /// RFC 3261 §21.3.5).
    Alternative,
    /// Resend with credentials for the challenge (401, 407; RFC 3261 §22.2,
    /// §22.3).
    Credentials,
    /// Resend only after changing the request as the response indicates
    /// (RFC 3261 §21.4).
    Fix,
    /// May resend the same request unchanged (408 at a later time, RFC 3261
    /// §21.4.9; 491 after a random delay, §14.1).
    Resend,
    /// Try again later, after the time in Retry-After if given.
    Later,
    /// Try another server, flow or gateway (RFC 3261 §21.5.4, RFC 3263).
    Elsewhere,
    /// Do not try the request at other locations, though it may be tried
    /// again later (6xx, RFC 3261 §21.6).
    NotElsewhere,
    /// Do not repeat the request.
    Stop,
}

/// What the client changes before it sends the request again, for a code
/// whose next step is [`Next::Fix`] (each code's own section).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// The malformed part of the request.
    Syntax,
    /// The method, to one that the Allow header field lists.
    Method,
    /// Its Accept header field, so that the server can answer in an acceptable form.
    Accept,
    /// The condition of its PUBLISH, publishing the full state without SIP-If-Match.
    Condition,
    /// The size of the message or the transport that carries it.
    Size,
    /// The Request-URI, to a shorter one.
    UriLength,
    /// The format of the body.
    BodyFormat,
    /// The scheme of the Request-URI.
    UriScheme,
    /// The namespace in Resource-Priority.
    Priority,
    /// The option tags it requires in Require or Proxy-Require.
    RequiredTags,
    /// The option tags it declares in Supported.
    SupportedTags,
    /// The Session-Expires interval.
    SessionInterval,
    /// The requested expiry.
    Expiry,
    /// The location information it conveys.
    Location,
    /// The alert message it refers to.
    Alert,
    /// The identity assertion in the Identity header field.
    Identity,
    /// The Referred-By token.
    Referrer,
    /// Its privacy settings, so that the caller's identity is revealed.
    Anonymity,
    /// Its registration, dropping the outbound extension.
    Outbound,
    /// The Max-Breadth value or the number of branches.
    Breadth,
    /// The Info Package, to one that the peer accepts.
    InfoPackage,
    /// The relay permission, which it first obtains from the recipient.
    Consent,
    /// The Max-Forwards value or the route.
    MaxForwards,
    /// The Request-URI, to a complete address.
    Address,
    /// The session offer.
    Offer,
    /// The event package in Event.
    Event,
    /// The encryption of the body.
    Encryption,
    /// The security mechanism, choosing one that Security-Server lists.
    Agreement,
    /// The SIP version, to SIP/2.0.
    Version,
    /// Its registration, without push notification parameters.
    Push,
    /// The preconditions of the offer.
    Preconditions,
}

impl Change {
    /// The key of its phrase in the language files: `change_syntax`.
    pub(crate) fn key(self) -> &'static str {
        match self {
            Change::Syntax => "change_syntax",
            Change::Method => "change_method",
            Change::Accept => "change_accept",
            Change::Condition => "change_condition",
            Change::Size => "change_size",
            Change::UriLength => "change_uri_length",
            Change::BodyFormat => "change_body_format",
            Change::UriScheme => "change_uri_scheme",
            Change::Priority => "change_priority",
            Change::RequiredTags => "change_required_tags",
            Change::SupportedTags => "change_supported_tags",
            Change::SessionInterval => "change_session_interval",
            Change::Expiry => "change_expiry",
            Change::Location => "change_location",
            Change::Alert => "change_alert",
            Change::Identity => "change_identity",
            Change::Referrer => "change_referrer",
            Change::Anonymity => "change_anonymity",
            Change::Outbound => "change_outbound",
            Change::Breadth => "change_breadth",
            Change::InfoPackage => "change_info_package",
            Change::Consent => "change_consent",
            Change::MaxForwards => "change_max_forwards",
            Change::Address => "change_address",
            Change::Offer => "change_offer",
            Change::Event => "change_event",
            Change::Encryption => "change_encryption",
            Change::Agreement => "change_agreement",
            Change::Version => "change_version",
            Change::Push => "change_push",
            Change::Preconditions => "change_preconditions",
        }
    }
}

/// An element that sends a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sender {
    /// A user agent server.
    Uas,
    /// A proxy.
    Proxy,
    /// A registrar.
    Registrar,
    /// A redirect server.
    Redirect,
    /// A notifier (RFC 6665).
    Notifier,
    /// An event state compositor (RFC 3903).
    Compositor,
    /// The client itself, which reports it locally (a timeout, RFC 3261
    /// §8.1.3.1; a transport error, §8.1.3.1).
    Client,
}

/// What the response does to dialogs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DialogEffect {
    /// Neither creates nor ends a dialog.
    None,
    /// Creates an early dialog when it carries a To tag (RFC 3261 §12.1).
    Early,
    /// Ends an early dialog (199, RFC 6228).
    EndsEarly,
    /// Creates a dialog when it answers a dialog-creating request
    /// (RFC 3261 §12.1, RFC 6665 §4.1.2.1).
    Creates,
    /// Ends the dialog usage the request belonged to (RFC 5057 §5.1).
    EndsUsage,
    /// Ends the dialog and all its usages (RFC 5057 §5.1).
    EndsDialog,
}

/// What a proxy does with the response (RFC 3261 §16.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProxyAction {
    /// Does not forward it: it is hop-by-hop (100, §16.7 step 3).
    Absorb,
    /// Forwards it upstream at once (other 1xx and 2xx, §16.7 step 5).
    Forward,
    /// May recurse on its Contacts or forward it (3xx, §16.7 step 4).
    Recurse,
    /// Keeps it until every branch has answered, then forwards the best
    /// response (§16.7 step 6).
    Collect,
    /// Collects the challenges of all branches into one response (401, 407;
    /// §16.7 step 7).
    Aggregate,
    /// Does not forward it but answers 500 when it has nothing better
    /// (503, §16.7 step 6).
    Replace,
    /// Cancels its other branches and forwards it (6xx, §16.7 step 5).
    CancelBranches,
}

/// How strongly a specification asks for a header field (RFC 2119).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// MAY.
    May,
    /// SHOULD.
    Should,
    /// MUST.
    Must,
}

/// A header field a response carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeaderRule {
    /// The header field name, e.g. `Contact`.
    pub name: String,
    /// MUST, SHOULD or MAY.
    pub level: Level,
    /// The method the rule applies to, when it applies only to one
    /// (a 200 must carry Contact when it answers INVITE).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on: Option<String>,
}

/// Everything modeled about one code, its class defaults already applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Facts {
    /// Provisional (1xx) or final.
    #[serde(rename = "final")]
    pub final_: bool,
    /// What the client does next.
    pub next: Next,
    /// What the client changes before sending the request again, where the
    /// code's section says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change: Option<Change>,
    /// Who sends it.
    pub senders: Vec<Sender>,
    /// The methods it answers; `None` for any request.
    pub methods: Option<Vec<String>>,
    /// What it does to dialogs.
    pub dialog: DialogEffect,
    /// What a proxy does with it.
    pub proxy: ProxyAction,
    /// The header fields it must, should or may carry.
    pub headers: Vec<HeaderRule>,
    /// Whether it can answer an INVITE (derived from `methods`).
    pub answers_invite: bool,
    /// Whether only the next hop sees it, as with 100 Trying (derived from
    /// `proxy`, RFC 3261 §16.7 step 3).
    pub hop_by_hop: bool,
    /// Whether the client may send the request again in some form (derived
    /// from `next`).
    pub retryable: bool,
    /// The specification that defined the code.
    pub defined_in: SpecRef,
    /// The specifications that deprecated it or replaced it, if any.
    pub deprecated_by: Vec<SpecRef>,
}

impl Facts {
    /// Whether the registry marks it deprecated.
    pub fn deprecated(&self) -> bool {
        !self.deprecated_by.is_empty()
    }

    /// The level at which it carries `header`, with the method the rule is
    /// limited to.
    pub fn header(&self, name: &str) -> Option<&HeaderRule> {
        self.headers.iter().find(|h| h.name == name)
    }
}

/// The per-code overrides as written in `codes.toml`; `None` keeps the
/// class default.
#[derive(Debug, Clone, Default)]
pub(crate) struct Overrides {
    pub(crate) next: Option<Next>,
    pub(crate) change: Option<Change>,
    pub(crate) senders: Option<Vec<Sender>>,
    pub(crate) methods: Option<Vec<String>>,
    pub(crate) dialog: Option<DialogEffect>,
    pub(crate) proxy: Option<ProxyAction>,
    pub(crate) headers: Option<Vec<HeaderRule>>,
}

/// The class defaults, RFC 3261 §21.1–§21.6 and §16.7.
fn class_defaults(class: u8) -> Overrides {
    let mut d = Overrides {
        next: Some(Next::NotElsewhere),
        change: None,
        senders: Some(vec![Sender::Uas]),
        methods: None,
        dialog: Some(DialogEffect::None),
        proxy: Some(ProxyAction::CancelBranches),
        headers: Some(vec![]),
    };
    match class {
        // Provisional responses answer INVITE in practice (RFC 4320 §4.1
        // keeps them off non-INVITE requests).
        1 => {
            d.next = Some(Next::Wait);
            d.methods = Some(vec!["INVITE".into()]);
            d.dialog = Some(DialogEffect::Early);
            d.proxy = Some(ProxyAction::Forward);
        }
        2 => {
            d.next = Some(Next::Done);
            d.dialog = Some(DialogEffect::Creates);
            d.proxy = Some(ProxyAction::Forward);
        }
        3 => {
            d.next = Some(Next::Contact);
            d.senders = Some(vec![Sender::Redirect, Sender::Uas]);
            d.proxy = Some(ProxyAction::Recurse);
            d.headers = Some(vec![HeaderRule {
                name: "Contact".into(),
                level: Level::Should,
                on: None,
            }]);
        }
        4 | 5 => {
            d.next = Some(if class == 4 { Next::Fix } else { Next::Later });
            d.senders = Some(vec![Sender::Uas, Sender::Proxy]);
            d.proxy = Some(ProxyAction::Collect);
        }
        _ => {}
    }
    d
}

/// The facts of `code`: its overrides over its class defaults.
pub(crate) fn resolve(
    code: u16,
    o: &Overrides,
    defined_in: SpecRef,
    deprecated_by: Vec<SpecRef>,
) -> Facts {
    let class = (code / 100) as u8;
    let d = class_defaults(class);
    let next = o.next.or(d.next).unwrap_or(Next::Stop);
    let methods = o.methods.clone().or(d.methods);
    let proxy = o.proxy.or(d.proxy).unwrap_or(ProxyAction::Collect);
    Facts {
        final_: class != 1,
        next,
        change: o.change,
        senders: o.senders.clone().or(d.senders).unwrap_or_default(),
        answers_invite: methods
            .as_ref()
            .is_none_or(|m| m.iter().any(|x| x == "INVITE")),
        methods,
        dialog: o.dialog.or(d.dialog).unwrap_or(DialogEffect::None),
        hop_by_hop: proxy == ProxyAction::Absorb,
        proxy,
        retryable: !matches!(next, Next::Wait | Next::Done | Next::Stop),
        headers: o.headers.clone().or(d.headers).unwrap_or_default(),
        defined_in,
        deprecated_by,
    }
}
