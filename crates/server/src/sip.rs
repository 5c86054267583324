//! From a parsed SIP request to the bytes of the response: the registrar and
//! redirect server as a UAS (RFC 3261 §8.2), as a plain function of
//! (now, request, store, config). The transaction layer decides when to
//! call it and sends (and retransmits) what it returns.

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use sipkit_message::{response_from_request, Contact, HeaderName, Method, Request};

use crate::binding::{ConnRef, TransportAddr};
use crate::redirect::{redirect, RedirectConfig, RedirectOutcome};
use crate::registrar::{
    register, ContactEntry, RegisterContact, RegisterOutcome, RegisterRequest, RegistrarConfig,
};
use crate::store::LocationService;
use crate::time::UnixMs;
use crate::Q;

/// The methods this server handles, for `Allow` (§20.5).
pub const ALLOW: &str =
    "INVITE, ACK, CANCEL, OPTIONS, REGISTER, SUBSCRIBE, REFER, MESSAGE, PUBLISH";

/// The option tags this server supports (RFC 3261 §20.37): `path`, the
/// registrar side of RFC 3327 (§5.3). A `Require` naming anything else is
/// answered 420 (§8.2.2.3).
pub const SUPPORTED: &[&str] = &["path"];

/// The value of the `Server` header field.
pub const SERVER: &str = concat!("sipkit/", env!("CARGO_PKG_VERSION"));

/// The registrar and redirect server as a UAS.
#[derive(Debug, Clone)]
pub struct Service {
    /// The location service.
    pub store: Arc<dyn LocationService>,
    /// Registrar settings.
    pub registrar: RegistrarConfig,
    /// Redirect settings.
    pub redirect: RedirectConfig,
    /// Mixed into To tags so they differ between servers (from the caller's RNG).
    pub tag_key: u64,
    /// Digest authentication and abuse control; `None` serves everyone.
    pub auth: Option<Arc<crate::auth::Guard>>,
}

/// A response to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// The whole message.
    pub bytes: Vec<u8>,
    /// Something for the operator's log (a store failure); never sent.
    pub log: Option<String>,
}

impl Service {
    /// The response to `req`, received from `source`; `top_via` is the top
    /// Via as stamped with `received`/`rport` (§18.2.1, RFC 3581), or `None`
    /// to copy it unchanged. `None` for ACK, which gets no response (§17.2.1);
    /// CANCEL is answered by [`Service::respond_cancel`] because only the
    /// transaction layer knows whether it matches a transaction (§9.2).
    pub fn respond(
        &self,
        now: UnixMs,
        req: &Request<'_>,
        source: TransportAddr,
        top_via: Option<&str>,
    ) -> Option<Reply> {
        self.respond_on(now, req, source, None, top_via)
    }

    /// [`Service::respond`] for a request that came on the stream connection
    /// `connection` (stored with the bindings a REGISTER writes,
    /// [`crate::Binding::connection`]).
    pub fn respond_on(
        &self,
        now: UnixMs,
        req: &Request<'_>,
        source: TransportAddr,
        connection: Option<ConnRef>,
        top_via: Option<&str>,
    ) -> Option<Reply> {
        let method = req.method();
        let reply = |status: u16, reason: &str, extra: &[(&str, String)]| {
            Some(self.reply(req, status, reason, top_via, extra, b""))
        };
        match method {
            Method::Ack => return None,
            Method::Cancel => return Some(self.respond_cancel(req, false, top_via)),
            _ => {}
        }
        // §8.2.2.3: an option tag we do not support in Require → 420.
        let unsupported: Vec<&str> = req
            .require()
            .filter_map(Result::ok)
            .filter(|tag| !SUPPORTED.iter().any(|s| s.eq_ignore_ascii_case(tag)))
            .collect();
        if !unsupported.is_empty() {
            return reply(
                420,
                "Bad Extension",
                &[("Unsupported", unsupported.join(", "))],
            );
        }
        // A request inside a dialog: this server keeps no dialogs (§12.2.2).
        if req.to().tag().is_some() {
            return reply(481, "Call/Transaction Does Not Exist", &[]);
        }
        // Authentication comes before any lookup (crate::auth).
        if let Some(reply) = self.authenticate(now, req, source, top_via) {
            return Some(reply);
        }
        let to_self = req.uri().user.is_none();
        match method {
            Method::Register => Some(self.respond_register(now, req, source, connection, top_via)),
            // OPTIONS to the server itself (§11.2): what it can do.
            Method::Options if to_self => reply(
                200,
                "OK",
                &[
                    ("Allow", ALLOW.to_owned()),
                    ("Accept", "application/sdp".to_owned()),
                    ("Supported", SUPPORTED.join(", ")),
                ],
            ),
            Method::Invite
            | Method::Options
            | Method::Subscribe
            | Method::Refer
            | Method::Message
            | Method::Publish => {
                // §16.3 step 3 / §8.2: redirecting passes the request on, so
                // one with no hops left ends here.
                if req.max_forwards() == Some(0) {
                    return reply(483, "Too Many Hops", &[]);
                }
                Some(self.respond_redirect(now, req, top_via))
            }
            // Known methods this server does not handle outside a dialog (§8.2.1).
            Method::Bye | Method::Prack | Method::Update | Method::Info | Method::Notify => {
                reply(405, "Method Not Allowed", &[("Allow", ALLOW.to_owned())])
            }
            // An unknown method (§8.2.1, §21.5.2, RFC 4475 §3.1.1.2).
            Method::Other(_) | Method::Ack | Method::Cancel => {
                reply(501, "Not Implemented", &[("Allow", ALLOW.to_owned())])
            }
        }
    }

    /// The response to a CANCEL (§9.2): 200 when it matched a server
    /// transaction (the transaction layer then answers the INVITE with 487
    /// if it was still pending), 481 when it matched none.
    pub fn respond_cancel(&self, req: &Request<'_>, matched: bool, top_via: Option<&str>) -> Reply {
        if matched {
            self.reply(req, 200, "OK", top_via, &[], b"")
        } else {
            self.reply(
                req,
                481,
                "Call/Transaction Does Not Exist",
                top_via,
                &[],
                b"",
            )
        }
    }

    /// 487 Request Terminated for an INVITE that a CANCEL ended (§9.2).
    pub fn request_terminated(&self, invite: &Request<'_>, top_via: Option<&str>) -> Reply {
        self.reply(invite, 487, "Request Terminated", top_via, &[], b"")
    }

    fn respond_register(
        &self,
        now: UnixMs,
        req: &Request<'_>,
        source: TransportAddr,
        connection: Option<ConnRef>,
        top_via: Option<&str>,
    ) -> Reply {
        // 400 naming the header that does not parse (RFC 3261 §21.4.1).
        let bad = |header: &str, e: sipkit_message::ParseError| {
            self.reply(
                req,
                400,
                &format!("Bad {header}: {}", e.kind),
                top_via,
                &[],
                b"",
            )
        };
        let mut contacts = Vec::new();
        for c in req.contacts() {
            match c {
                Ok(Contact::Wildcard) => contacts.push(RegisterContact::Wildcard),
                Ok(Contact::Address(a)) => {
                    let mut e = ContactEntry::new(a.uri.as_str());
                    if let Some(q) = a.params.value("q").and_then(|q| q.parse::<Q>().ok()) {
                        e = e.with_q(q);
                    }
                    if let Some(x) = a
                        .params
                        .value("expires")
                        .and_then(|v| v.parse::<u32>().ok())
                    {
                        e = e.with_expires(x);
                    }
                    e.instance = a.params.value("+sip.instance").map(str::to_owned);
                    e.reg_id = a.params.value("reg-id").map(str::to_owned);
                    contacts.push(RegisterContact::Uri(e));
                }
                Err(e) => return bad("Contact", e),
            }
        }
        let expires = match req.expires() {
            Ok(x) => x,
            Err(e) => return bad("Expires", e),
        };
        let mut path = Vec::new();
        for p in req.paths() {
            match p {
                Ok(p) => path.push(p.raw.trim().to_owned()),
                Err(e) => return bad("Path", e),
            }
        }
        let rr = RegisterRequest {
            connection,
            path,
            supports_path: req
                .supported()
                .filter_map(Result::ok)
                .any(|tag| tag.eq_ignore_ascii_case("path")),
            user_agent: req
                .header(HeaderName::UserAgent)
                .map(|h| h.value.to_owned()),
            ..RegisterRequest::new(
                req.to().uri.as_str(),
                req.call_id(),
                req.cseq().seq,
                contacts,
                expires,
                source,
            )
        };
        let outcome = register(now, &rr, &*self.store, &self.registrar);
        let reason = outcome.reason_phrase();
        match &outcome {
            RegisterOutcome::Ok { contacts } => {
                let mut extra: Vec<(&str, String)> = contacts
                    .iter()
                    .map(|c| ("Contact", c.to_string()))
                    .collect();
                // RFC 3327 §5.3: "The registrar copies the Path header field
                // values into a Path header field in the successful (200
                // class) REGISTER response."
                if !rr.path.is_empty() {
                    extra.push(("Path", rr.path.join(", ")));
                }
                self.reply(req, 200, &reason, top_via, &extra, b"")
            }
            RegisterOutcome::PathNotSupported => self.reply(
                req,
                420,
                &reason,
                top_via,
                &[("Unsupported", "path".to_owned())],
                b"",
            ),
            RegisterOutcome::IntervalTooBrief { min_expires } => self.reply(
                req,
                423,
                &reason,
                top_via,
                &[("Min-Expires", min_expires.to_string())],
                b"",
            ),
            RegisterOutcome::StoreFailed { error } => {
                self.location_service_failure(req, top_via, error)
            }
            other => self.reply(req, other.status(), &reason, top_via, &[], b""),
        }
    }

    /// The 500 for a REGISTER the location service could not store (its
    /// update, or the group commit that held it, failed): nothing of it was
    /// applied; `Retry-After: 5` asks the UA to try again soon (RFC 3261
    /// §21.5.1, §20.33). `error` goes to the log, not on the wire.
    pub fn location_service_failure(
        &self,
        req: &Request<'_>,
        top_via: Option<&str>,
        error: &str,
    ) -> Reply {
        Reply {
            log: Some(format!("location service failed: {error}")),
            ..self.reply(
                req,
                500,
                crate::registrar::LOCATION_SERVICE_FAILURE,
                top_via,
                &[("Retry-After", "5".to_owned())],
                b"",
            )
        }
    }

    fn respond_redirect(&self, now: UnixMs, req: &Request<'_>, top_via: Option<&str>) -> Reply {
        let outcome = redirect(
            now,
            req.method().as_str(),
            req.uri().as_str(),
            &*self.store,
            &self.redirect,
        );
        let reason = outcome.reason_phrase();
        match &outcome {
            RedirectOutcome::MovedTemporarily { contacts } => {
                let extra: Vec<(&str, String)> = contacts
                    .iter()
                    .map(|c| ("Contact", c.to_string()))
                    .collect();
                self.reply(req, 302, &reason, top_via, &extra, b"")
            }
            RedirectOutcome::MovedPermanently { uri } => self.reply(
                req,
                301,
                &reason,
                top_via,
                &[("Contact", format!("<{uri}>"))],
                b"",
            ),
            RedirectOutcome::StoreFailed { error } => {
                self.location_service_failure(req, top_via, error)
            }
            other => {
                let status = other.status().unwrap_or(500);
                self.reply(req, status, &reason, top_via, &[], b"")
            }
        }
    }

    /// A deterministic To tag for this request, so a retransmitted request
    /// that reaches us after its transaction ended still gets the same tag.
    fn to_tag(&self, req: &Request<'_>) -> u64 {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        self.tag_key.hash(&mut h);
        req.call_id().hash(&mut h);
        req.from().tag().hash(&mut h);
        req.cseq().seq.hash(&mut h);
        h.finish()
    }

    /// Writes a response to `req` (§8.2.6) with `sipkit_message`'s one
    /// response builder: every Via (the top one as stamped), From, To (with
    /// our tag, except on 100), Call-ID, CSeq, then `extra`, Server, and
    /// Content-Length. A non-empty `body` is sent as `application/sdp`.
    pub fn reply(
        &self,
        req: &Request<'_>,
        status: u16,
        reason: &str,
        top_via: Option<&str>,
        extra: &[(&str, String)],
        body: &[u8],
    ) -> Reply {
        let mut b = response_from_request(req, status, reason);
        if let Some(stamped) = top_via {
            b = b.top_via(stamped);
        }
        if status != 100 {
            b = b.to_tag(hex16(&mut [0u8; 16], self.to_tag(req)));
        }
        for (name, value) in extra {
            b.push_header(name, value);
        }
        b.push_header("Server", SERVER);
        if !body.is_empty() {
            b = b.body("application/sdp", body);
        }
        Reply {
            status,
            bytes: b.finish(),
            log: None,
        }
    }
}

/// `n` as 16 lowercase hex digits, written in `buf`.
fn hex16(buf: &mut [u8; 16], n: u64) -> &str {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for (i, b) in buf.iter_mut().enumerate() {
        *b = DIGITS[((n >> (60 - 4 * i)) & 0xf) as usize];
    }
    std::str::from_utf8(buf).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_16_hex_digits() {
        assert_eq!(
            hex16(&mut [0; 16], 0x0123_4567_89ab_cdef),
            "0123456789abcdef"
        );
        assert_eq!(hex16(&mut [0; 16], 0xff), format!("{:016x}", 0xff));
    }
}
