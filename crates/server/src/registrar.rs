//! The registrar's decision (RFC 3261 §10.3) as a plain function of
//! (now, request, store, config).

use std::borrow::Cow;

use crate::binding::bounded_user_agent;
use crate::binding::{Binding, Change, ConnRef, ContactReply, Plan, TransportAddr, Q};
use crate::directory::{Directory, Standing};
use crate::store::LocationService;
use crate::time::UnixMs;
use crate::uri::{canonical_aor, contact_key};

/// The registrar's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrarConfig {
    /// The shortest non-zero expiration accepted; shorter → 423 with this in
    /// `Min-Expires` (RFC 3261 §10.3 step 6). Default 60 (the RFC's
    /// recommended floor for a registrar's minimum is 60 s, §20.23).
    pub min_expires: u32,
    /// The longest expiration granted; longer requests are shortened to it
    /// (§10.3 step 6: the registrar "MAY choose an expiration less than the
    /// requested"). Default 3600.
    pub max_expires: u32,
    /// The expiration of a contact that names none, in neither its
    /// `expires` parameter nor an Expires header ("a locally-configured
    /// default", §10.3 step 6). Default 3600.
    pub default_expires: u32,
    /// Domains served and users known.
    pub directory: Directory,
    /// The node that takes the REGISTERs, stored with each binding
    /// ([`Binding::node`]). Default `None`; `sipkit serve` sets its
    /// `--node-id`, else the host name.
    pub node: Option<String>,
}

impl Default for RegistrarConfig {
    fn default() -> Self {
        Self {
            min_expires: 60,
            max_expires: 3600,
            default_expires: 3600,
            directory: Directory::accept_any(),
            node: None,
        }
    }
}

/// What the registrar needs of a REGISTER, extracted by the caller from the
/// parsed message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterRequest {
    /// The To header field's URI (canonicalized here, §10.3 step 5).
    pub aor: String,
    /// The Call-ID.
    pub call_id: String,
    /// The CSeq number.
    pub cseq: u32,
    /// Every Contact header field value, in order; empty for a query.
    pub contacts: Vec<RegisterContact>,
    /// The Expires header field, if present.
    pub expires: Option<u32>,
    /// Where the request came from.
    pub source: TransportAddr,
    /// The connection it came on (stream transports), if known.
    pub connection: Option<ConnRef>,
    /// Every Path header field value (RFC 3327 §4), in order, as written.
    pub path: Vec<String>,
    /// Whether the Supported header field lists the `path` option tag
    /// (RFC 3327 §5.3).
    pub supports_path: bool,
    /// The User-Agent header field, if any (stored cut to
    /// [`crate::MAX_USER_AGENT`] bytes).
    pub user_agent: Option<String>,
}

impl RegisterRequest {
    /// A REGISTER of `aor` with this Call-ID and CSeq, these contacts and
    /// Expires header, from `source`; no Path, no User-Agent, no connection.
    pub fn new(
        aor: impl Into<String>,
        call_id: impl Into<String>,
        cseq: u32,
        contacts: Vec<RegisterContact>,
        expires: Option<u32>,
        source: TransportAddr,
    ) -> Self {
        Self {
            aor: aor.into(),
            call_id: call_id.into(),
            cseq,
            contacts,
            expires,
            source,
            connection: None,
            path: Vec::new(),
            supports_path: false,
            user_agent: None,
        }
    }
}

/// One Contact header field value of a REGISTER.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegisterContact {
    /// `Contact: *` (RFC 3261 §10.2.2: remove all bindings).
    Wildcard,
    /// A contact address with its parameters.
    Uri(ContactEntry),
}

/// A contact address and the Contact parameters the registrar uses.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ContactEntry {
    /// The URI, as written between `<` and `>` (URI parameters kept).
    pub uri: String,
    /// The `q` parameter. The caller parses it with `Q::from_str` and
    /// answers 400 itself when that fails.
    pub q: Option<Q>,
    /// The `expires` parameter, in seconds.
    pub expires: Option<u32>,
    /// The `+sip.instance` parameter (RFC 5626), as written.
    pub instance: Option<String>,
    /// The `reg-id` parameter (RFC 5626), as written.
    pub reg_id: Option<String>,
}

impl ContactEntry {
    /// A contact with no parameters.
    pub fn new(uri: impl Into<String>) -> Self {
        Self {
            uri: uri.into(),
            ..Self::default()
        }
    }

    /// The same contact with a `q` parameter.
    pub fn with_q(mut self, q: Q) -> Self {
        self.q = Some(q);
        self
    }

    /// The same contact with an `expires` parameter.
    pub fn with_expires(mut self, secs: u32) -> Self {
        self.expires = Some(secs);
        self
    }
}

/// The registrar's answer; the caller turns it into a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegisterOutcome {
    /// 200 OK listing every current binding of the AOR with its remaining
    /// expires (§10.3 step 8), highest q first, then most recently
    /// registered. One `Contact` header field value per entry (its `Display`
    /// is `<uri>;expires=N;q=X`); no Contact at all when the list is empty.
    Ok {
        /// The bindings after the request.
        contacts: Vec<ContactReply>,
    },
    /// 400 Bad Request; `reason` says what was wrong and serves as the reason
    /// phrase.
    BadRequest {
        /// What was wrong.
        reason: &'static str,
    },
    /// 404 Not Found: the AOR's domain is not served or the user is not
    /// known (§10.3 steps 1 and 5: "If the address-of-record is not valid
    /// for the domain in the Request-URI, the registrar MUST send a 404").
    NotFound {
        /// `Unknown User` or `Domain Not Served`, the reason phrase.
        reason: &'static str,
    },
    /// 420 Bad Extension with `Unsupported: path`: the request carries Path
    /// but the UA did not list `path` in Supported (RFC 3327 §5.3, the
    /// recommended policy, so that the UA learns a proxy added a Path it
    /// did not ask for).
    PathNotSupported,
    /// 423 Interval Too Brief with `Min-Expires: min_expires` (§10.3 step 6).
    IntervalTooBrief {
        /// The value of the Min-Expires header field.
        min_expires: u32,
    },
    /// 500 because the request repeats or precedes the REGISTER that last
    /// wrote a binding: same Call-ID, CSeq not higher (§10.3 step 7). Nothing
    /// of the request was applied.
    CSeqOutOfOrder {
        /// The Call-ID shared by the request and the binding.
        call_id: String,
        /// The CSeq stored with the binding.
        stored: u32,
        /// The CSeq of the request.
        received: u32,
    },
    /// 500 because the location service failed; nothing was applied.
    StoreFailed {
        /// The store's error, for the log (not for the wire).
        error: String,
    },
}

impl RegisterOutcome {
    /// The response status code.
    pub fn status(&self) -> u16 {
        match self {
            RegisterOutcome::Ok { .. } => 200,
            RegisterOutcome::BadRequest { .. } => 400,
            RegisterOutcome::NotFound { .. } => 404,
            RegisterOutcome::PathNotSupported => 420,
            RegisterOutcome::IntervalTooBrief { .. } => 423,
            RegisterOutcome::CSeqOutOfOrder { .. } | RegisterOutcome::StoreFailed { .. } => 500,
        }
    }

    /// The reason phrase to send: the standard one, or one that says what
    /// was wrong.
    pub fn reason_phrase(&self) -> Cow<'static, str> {
        Cow::Borrowed(match self {
            RegisterOutcome::Ok { .. } => "OK",
            RegisterOutcome::BadRequest { reason } | RegisterOutcome::NotFound { reason } => reason,
            RegisterOutcome::PathNotSupported => "Bad Extension",
            RegisterOutcome::IntervalTooBrief { .. } => "Interval Too Brief",
            RegisterOutcome::CSeqOutOfOrder { .. } => "CSeq Out Of Order",
            RegisterOutcome::StoreFailed { .. } => LOCATION_SERVICE_FAILURE,
        })
    }
}

/// The reason phrase of the 500 sent when the location service fails
/// (RFC 3261 §21.5.1 leaves the phrase to the server; this one says which
/// part failed), for the registrar and the redirect server alike.
pub(crate) const LOCATION_SERVICE_FAILURE: &str = "Location Service Failure";

/// Processes a REGISTER as RFC 3261 §10.3 says, against `store`, at `now`.
///
/// The caller has done steps 1–4 that concern the message (Request-URI,
/// `Require`, authentication); this function does the rest:
///
/// * the AOR of the To URI is canonicalized (step 5) and checked against
///   the configured domains and users: 404 if not ours;
/// * Path without `Supported: path`: 420 (RFC 3327 §5.3 leaves it to local
///   policy and recommends the 420); with it, each binding written keeps
///   the path vector (the Path values in order, §5.3) — the caller copies
///   the Path into the 200;
/// * no Contact: a query; 200 with the current bindings (§10.2.3);
/// * `Contact: *` must be alone and come with `Expires: 0`, else 400
///   (step 6); then every binding is removed, subject to the Call-ID/CSeq
///   rule below;
/// * each contact's expiration is its `expires` parameter, else the
///   Expires header, else `default_expires`; a non-zero value below
///   `min_expires` gives 423 with Min-Expires; above `max_expires` it is
///   shortened; 0 removes the binding (step 6);
/// * the Call-ID/CSeq rule (step 7): for an existing binding, "If the
///   Call-ID value in the existing binding differs from the Call-ID value in
///   the request, the binding MUST be removed if the expiration time is zero
///   and updated otherwise. If they are the same, the registrar compares the
///   CSeq value. If the value is higher than that of the existing binding,
///   it MUST update or remove the binding as above. If not, the update MUST
///   be aborted and the request fails." The failure is answered 500 with the
///   reason phrase `CSeq Out Of Order`, and no binding of the request is
///   touched;
/// * all changes are one store transaction: "The binding updates MUST be
///   committed ... if and only if all binding updates and additions
///   succeed"; a store failure is a 500 with nothing applied;
/// * 200 lists all current bindings with their remaining expires (step 8).
///
/// A contact listed twice in one request counts once, the last one written.
pub fn register<S>(
    now: UnixMs,
    req: &RegisterRequest,
    store: &S,
    cfg: &RegistrarConfig,
) -> RegisterOutcome
where
    S: LocationService + ?Sized,
{
    let Ok(aor) = canonical_aor(&req.aor) else {
        return RegisterOutcome::BadRequest {
            reason: "Invalid Address-of-Record in To",
        };
    };
    match cfg.directory.standing(&aor) {
        Standing::Admitted => {}
        Standing::ForeignDomain => {
            return RegisterOutcome::NotFound {
                reason: "Domain Not Served",
            }
        }
        Standing::UnknownUser => {
            return RegisterOutcome::NotFound {
                reason: "Unknown User",
            }
        }
    }
    if !req.path.is_empty() && !req.supports_path {
        return RegisterOutcome::PathNotSupported;
    }
    let action = match Action::of(req, cfg) {
        Ok(action) => action,
        Err(outcome) => return outcome,
    };
    if let Action::Query = action {
        return match store.lookup(&aor, now) {
            Ok(bindings) => ok(&bindings, now),
            Err(e) => RegisterOutcome::StoreFailed {
                error: e.to_string(),
            },
        };
    }
    // A store may call the decision again on newer bindings (the Redis
    // store's compare-and-set): only the last one counts.
    let mut rejected = None;
    let user_agent = req.user_agent.as_deref().map(bounded_user_agent);
    let result = store.update(&aor, now, &mut |current| match action.plan(
        now,
        req,
        cfg,
        user_agent.as_ref(),
        current,
    ) {
        Ok(changes) => {
            rejected = None;
            Plan::Commit(changes)
        }
        Err(outcome) => {
            rejected = Some(outcome);
            Plan::Abort
        }
    });
    match (result, rejected) {
        (Err(e), _) => RegisterOutcome::StoreFailed {
            error: e.to_string(),
        },
        (Ok(_), Some(outcome)) => outcome,
        (Ok(after), None) => ok(&after, now),
    }
}

fn ok(bindings: &[Binding], now: UnixMs) -> RegisterOutcome {
    RegisterOutcome::Ok {
        contacts: bindings.iter().map(|b| b.reply(now)).collect(),
    }
}

/// What a REGISTER asks for, once its Contact fields are validated.
#[derive(Debug)]
enum Action<'a> {
    /// No Contact: list the bindings.
    Query,
    /// `Contact: *` with `Expires: 0`.
    RemoveAll,
    /// Contacts with their granted expiration (0 = remove), one per key.
    Bind(Vec<(&'a ContactEntry, u32)>),
}

impl<'a> Action<'a> {
    /// Step 6: validates the Contact fields and resolves each expiration.
    fn of(req: &'a RegisterRequest, cfg: &RegistrarConfig) -> Result<Action<'a>, RegisterOutcome> {
        if req.contacts.is_empty() {
            return Ok(Action::Query);
        }
        if req
            .contacts
            .iter()
            .any(|c| matches!(c, RegisterContact::Wildcard))
        {
            if req.contacts.len() > 1 {
                return Err(RegisterOutcome::BadRequest {
                    reason: "Wildcard Contact Must Be Alone",
                });
            }
            if req.expires != Some(0) {
                return Err(RegisterOutcome::BadRequest {
                    reason: "Wildcard Contact Requires Expires 0",
                });
            }
            return Ok(Action::RemoveAll);
        }
        let mut bind: Vec<(&ContactEntry, u32, String)> = Vec::with_capacity(req.contacts.len());
        for contact in &req.contacts {
            let RegisterContact::Uri(entry) = contact else {
                continue; // wildcards were handled above
            };
            if entry.uri.trim().is_empty() {
                return Err(RegisterOutcome::BadRequest {
                    reason: "Empty Contact URI",
                });
            }
            let asked = entry.expires.or(req.expires).unwrap_or(cfg.default_expires);
            if asked != 0 && asked < cfg.min_expires {
                return Err(RegisterOutcome::IntervalTooBrief {
                    min_expires: cfg.min_expires,
                });
            }
            let granted = asked.min(cfg.max_expires);
            let key = contact_key(&entry.uri);
            match bind.iter_mut().find(|(_, _, k)| *k == key) {
                Some(slot) => *slot = (entry, granted, key),
                None => bind.push((entry, granted, key)),
            }
        }
        Ok(Action::Bind(
            bind.into_iter().map(|(e, g, _)| (e, g)).collect(),
        ))
    }

    /// Step 7: the changes to make given the AOR's live bindings, or the
    /// 500 when the Call-ID/CSeq rule aborts the request.
    fn plan(
        &self,
        now: UnixMs,
        req: &RegisterRequest,
        cfg: &RegistrarConfig,
        user_agent: Option<&String>,
        current: &[Binding],
    ) -> Result<Vec<Change>, RegisterOutcome> {
        let out_of_order = |b: &Binding| {
            (b.call_id == req.call_id && req.cseq <= b.cseq).then(|| {
                RegisterOutcome::CSeqOutOfOrder {
                    call_id: req.call_id.clone(),
                    stored: b.cseq,
                    received: req.cseq,
                }
            })
        };
        match self {
            Action::Query => Ok(Vec::new()),
            Action::RemoveAll => match current.iter().find_map(out_of_order) {
                Some(outcome) => Err(outcome),
                None => Ok(vec![Change::RemoveAll]),
            },
            Action::Bind(entries) => {
                let mut changes = Vec::with_capacity(entries.len());
                for &(entry, granted) in entries {
                    let key = contact_key(&entry.uri);
                    let existing = current.iter().find(|b| b.key() == key);
                    if let Some(outcome) = existing.and_then(out_of_order) {
                        return Err(outcome);
                    }
                    if granted == 0 {
                        if existing.is_some() {
                            changes.push(Change::Remove(entry.uri.clone()));
                        }
                        continue;
                    }
                    changes.push(Change::Upsert(Binding {
                        contact: entry.uri.trim().to_owned(),
                        q: entry.q.unwrap_or_default(),
                        expires_at: now.plus_secs(granted),
                        updated_at: now,
                        call_id: req.call_id.clone(),
                        cseq: req.cseq,
                        source: req.source,
                        instance: entry.instance.clone(),
                        reg_id: entry.reg_id.clone(),
                        path: req.path.clone(),
                        user_agent: user_agent.cloned(),
                        node: cfg.node.clone(),
                        connection: req.connection,
                    }));
                }
                Ok(changes)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemoryStore;

    const T0: UnixMs = UnixMs(1_700_000_000_000);

    fn req(contacts: Vec<RegisterContact>, expires: Option<u32>) -> RegisterRequest {
        RegisterRequest::new(
            "sip:alice@example.com",
            "c1",
            1,
            contacts,
            expires,
            "udp:192.0.2.1:5060".parse().unwrap(),
        )
    }

    fn uri(u: &str) -> RegisterContact {
        RegisterContact::Uri(ContactEntry::new(u))
    }

    #[test]
    fn expiry_precedence_param_then_header_then_default() {
        let cfg = RegistrarConfig::default();
        let r = RegisterRequest {
            contacts: vec![
                RegisterContact::Uri(ContactEntry::new("sip:a@h1").with_expires(120)),
                uri("sip:a@h2"),
            ],
            ..req(vec![], Some(300))
        };
        let Ok(Action::Bind(b)) = Action::of(&r, &cfg) else {
            panic!()
        };
        assert_eq!(b.iter().map(|(_, g)| *g).collect::<Vec<_>>(), [120, 300]);
        let r = req(vec![uri("sip:a@h1")], None);
        let Ok(Action::Bind(b)) = Action::of(&r, &cfg) else {
            panic!()
        };
        assert_eq!(b[0].1, 3600);
    }

    #[test]
    fn duplicate_contact_in_one_request_counts_once_last_wins() {
        let cfg = RegistrarConfig::default();
        let r = req(
            vec![
                RegisterContact::Uri(ContactEntry::new("sip:a@H1").with_expires(100)),
                RegisterContact::Uri(ContactEntry::new("sip:a@h1").with_expires(200)),
            ],
            None,
        );
        let Ok(Action::Bind(b)) = Action::of(&r, &cfg) else {
            panic!()
        };
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].1, 200);
        let store = MemoryStore::new();
        let out = register(T0, &r, &store, &cfg);
        assert_eq!(out.status(), 200, "{out:?}");
    }

    #[test]
    fn path_needs_supported_path_rfc3327_5_3() {
        let store = MemoryStore::new();
        let cfg = RegistrarConfig {
            node: Some("n1".into()),
            ..RegistrarConfig::default()
        };
        let mut r = req(vec![uri("sip:a@h1")], None);
        r.path = vec!["<sip:p1;lr>".into()];
        let out = register(T0, &r, &store, &cfg);
        assert_eq!(
            (out.status(), out.reason_phrase().as_ref()),
            (420, "Bad Extension")
        );
        assert!(store
            .lookup("sip:alice@example.com", T0)
            .unwrap()
            .is_empty());
        r.supports_path = true;
        r.user_agent = Some("x".repeat(1000));
        r.connection = Some(ConnRef { worker: 1, id: 5 });
        assert_eq!(register(T0, &r, &store, &cfg).status(), 200);
        let b = &store.lookup("sip:alice@example.com", T0).unwrap()[0];
        assert_eq!(b.path, ["<sip:p1;lr>"]);
        assert_eq!(
            b.user_agent.as_ref().map(String::len),
            Some(crate::MAX_USER_AGENT)
        );
        assert_eq!(b.node.as_deref(), Some("n1"));
        assert_eq!(b.connection, Some(ConnRef { worker: 1, id: 5 }));
    }

    #[test]
    fn reason_phrases() {
        assert_eq!(
            RegisterOutcome::IntervalTooBrief { min_expires: 60 }.reason_phrase(),
            "Interval Too Brief"
        );
        let o = RegisterOutcome::CSeqOutOfOrder {
            call_id: "x".into(),
            stored: 2,
            received: 1,
        };
        assert_eq!(
            (o.status(), o.reason_phrase().as_ref()),
            (500, "CSeq Out Of Order")
        );
    }
}
