//! The redirect server's decision (RFC 3261 §8.3, §21.3) as a plain function
//! of (now, method, Request-URI, store, config).

use std::borrow::Cow;
use std::collections::HashMap;

use crate::binding::ContactReply;
use crate::directory::{Directory, Standing};
use crate::error::{Error, Result};
use crate::store::LocationService;
use crate::time::UnixMs;
use crate::uri::canonical_aor;

/// The redirect server's settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RedirectConfig {
    /// Domains served and users known.
    pub directory: Directory,
    /// AORs moved for good: canonical AOR → the URI to answer 301 with.
    moved: HashMap<String, String>,
}

impl RedirectConfig {
    /// A config with this directory and nothing moved.
    pub fn new(directory: Directory) -> Self {
        Self {
            directory,
            moved: HashMap::new(),
        }
    }

    /// Marks `aor` (canonicalized) as moved for good to `to` (sent as is).
    ///
    /// # Errors
    /// When `aor` is not a SIP URI or `to` is empty.
    pub fn with_moved(mut self, aor: &str, to: &str) -> Result<Self> {
        let key = canonical_aor(aor)?;
        let to = to.trim();
        if to.is_empty() {
            return Err(Error::InvalidUri {
                uri: to.to_owned(),
                reason: "empty target of a moved AOR",
            });
        }
        self.moved.insert(key, to.to_owned());
        Ok(self)
    }

    /// Where the canonical `aor` moved for good, if configured.
    pub fn moved_to(&self, aor: &str) -> Option<&str> {
        self.moved.get(aor).map(String::as_str)
    }
}

/// The redirect server's answer; the caller turns it into a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedirectOutcome {
    /// 302 Moved Temporarily (§21.3.3) with one Contact per live binding,
    /// highest q first, then most recently registered, each with its q and
    /// remaining `expires` (`Display`: `<uri>;expires=N;q=X`).
    MovedTemporarily {
        /// The contacts, in order; never empty.
        contacts: Vec<ContactReply>,
    },
    /// 301 Moved Permanently (§21.3.2) with `Contact: <uri>`.
    MovedPermanently {
        /// The AOR's new address, as configured.
        uri: String,
    },
    /// 480 Temporarily Unavailable (§21.4.18): a known user with no live
    /// binding.
    TemporarilyUnavailable,
    /// 404 Not Found (§21.4.5): not a user of this server, or a domain it
    /// does not serve.
    NotFound {
        /// `Unknown User` or `Domain Not Served`, the reason phrase.
        reason: &'static str,
    },
    /// 416 Unsupported URI Scheme (§8.2.2.1, §21.4.13): the Request-URI is
    /// not `sip:` or `sips:`.
    UnsupportedUriScheme,
    /// 400 Bad Request: the Request-URI is not a valid SIP URI.
    BadRequest {
        /// What was wrong, the reason phrase.
        reason: &'static str,
    },
    /// 500: the location service failed.
    StoreFailed {
        /// The store's error, for the log (not for the wire).
        error: String,
    },
    /// REGISTER, ACK or CANCEL: not the redirect server's business; the
    /// caller must not have passed it (see [`redirect`]). Send nothing.
    NotApplicable,
}

impl RedirectOutcome {
    /// The response status code; `None` for [`RedirectOutcome::NotApplicable`].
    pub fn status(&self) -> Option<u16> {
        Some(match self {
            RedirectOutcome::MovedTemporarily { .. } => 302,
            RedirectOutcome::MovedPermanently { .. } => 301,
            RedirectOutcome::TemporarilyUnavailable => 480,
            RedirectOutcome::NotFound { .. } => 404,
            RedirectOutcome::UnsupportedUriScheme => 416,
            RedirectOutcome::BadRequest { .. } => 400,
            RedirectOutcome::StoreFailed { .. } => 500,
            RedirectOutcome::NotApplicable => return None,
        })
    }

    /// The reason phrase to send.
    pub fn reason_phrase(&self) -> Cow<'static, str> {
        Cow::Borrowed(match self {
            RedirectOutcome::MovedTemporarily { .. } => "Moved Temporarily",
            RedirectOutcome::MovedPermanently { .. } => "Moved Permanently",
            RedirectOutcome::TemporarilyUnavailable => "Temporarily Unavailable",
            RedirectOutcome::NotFound { reason } | RedirectOutcome::BadRequest { reason } => reason,
            RedirectOutcome::UnsupportedUriScheme => "Unsupported URI Scheme",
            RedirectOutcome::StoreFailed { .. } => crate::registrar::LOCATION_SERVICE_FAILURE,
            RedirectOutcome::NotApplicable => "",
        })
    }
}

/// Decides how the redirect server answers a request for `request_uri` at
/// `now`.
///
/// The caller's duty: REGISTER goes to [`crate::register`]; ACK is never
/// answered (§17.2.1: it is absorbed by the INVITE server transaction) and
/// CANCEL is answered by the transaction layer (§9.2), so for these three
/// this returns [`RedirectOutcome::NotApplicable`]. OPTIONS addressed to the
/// server itself (not to a user), Max-Forwards, size and version checks are
/// also the caller's; every other method, extension methods included, is
/// redirected alike.
///
/// In order:
/// 1. an AOR configured as moved for good → 301 with its new URI, even if
///    it still has bindings (the configuration is the operator's word);
/// 2. a domain not served or, with users listed, a user not listed → 404;
/// 3. live bindings → 302 with every one, highest q first; among equal q
///    the most recently registered (REGISTER processed last) first; then by
///    contact text;
/// 4. a known user without a live binding → 480. Known means listed in the
///    configuration or having ever held a binding in this store
///    ([`LocationService::is_known`]), so with no user list a phone that
///    registered once and went away gets 480, a name never seen 404;
/// 5. otherwise 404.
pub fn redirect<S>(
    now: UnixMs,
    method: &str,
    request_uri: &str,
    store: &S,
    cfg: &RedirectConfig,
) -> RedirectOutcome
where
    S: LocationService + ?Sized,
{
    if matches!(method, "REGISTER" | "ACK" | "CANCEL") {
        return RedirectOutcome::NotApplicable;
    }
    let aor = match canonical_aor(request_uri) {
        Ok(aor) => aor,
        Err(Error::UnsupportedScheme { .. }) => return RedirectOutcome::UnsupportedUriScheme,
        Err(_) => {
            return RedirectOutcome::BadRequest {
                reason: "Invalid Request-URI",
            }
        }
    };
    if let Some(uri) = cfg.moved_to(&aor) {
        return RedirectOutcome::MovedPermanently {
            uri: uri.to_owned(),
        };
    }
    match cfg.directory.standing(&aor) {
        Standing::Admitted => {}
        Standing::ForeignDomain => {
            return RedirectOutcome::NotFound {
                reason: "Domain Not Served",
            }
        }
        Standing::UnknownUser => {
            return RedirectOutcome::NotFound {
                reason: "Unknown User",
            }
        }
    }
    let contacts = match store.lookup_replies(&aor, now) {
        Ok(c) => c,
        Err(e) => {
            return RedirectOutcome::StoreFailed {
                error: e.to_string(),
            }
        }
    };
    if !contacts.is_empty() {
        return RedirectOutcome::MovedTemporarily { contacts };
    }
    let known = cfg.directory.is_listed(&aor)
        || match store.is_known(&aor) {
            Ok(k) => k,
            Err(e) => {
                return RedirectOutcome::StoreFailed {
                    error: e.to_string(),
                }
            }
        };
    if known {
        RedirectOutcome::TemporarilyUnavailable
    } else {
        RedirectOutcome::NotFound {
            reason: "Unknown User",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemoryStore;

    #[test]
    fn register_ack_cancel_are_not_applicable() {
        let store = MemoryStore::new();
        let cfg = RedirectConfig::default();
        for m in ["REGISTER", "ACK", "CANCEL"] {
            let o = redirect(UnixMs(0), m, "sip:a@b", &store, &cfg);
            assert_eq!(o, RedirectOutcome::NotApplicable);
            assert_eq!(o.status(), None);
        }
        // Methods are case-sensitive (RFC 3261 §7.1): "ack" is an extension.
        assert_eq!(
            redirect(UnixMs(0), "ack", "sip:a@b", &store, &cfg).status(),
            Some(404)
        );
    }

    #[test]
    fn request_uri_errors() {
        let store = MemoryStore::new();
        let cfg = RedirectConfig::default();
        assert_eq!(
            redirect(UnixMs(0), "INVITE", "tel:+15551234", &store, &cfg),
            RedirectOutcome::UnsupportedUriScheme
        );
        assert_eq!(
            redirect(UnixMs(0), "INVITE", "sip:", &store, &cfg).status(),
            Some(400)
        );
    }

    #[test]
    fn moved_keys_are_canonical() {
        let cfg = RedirectConfig::default()
            .with_moved(
                "<SIP:carol@Example.com;user=phone>",
                "sip:carol@example.org",
            )
            .unwrap();
        assert_eq!(
            cfg.moved_to("sip:carol@example.com"),
            Some("sip:carol@example.org")
        );
        assert!(RedirectConfig::default()
            .with_moved("sip:a@b", " ")
            .is_err());
        assert!(RedirectConfig::default()
            .with_moved("tel:1", "sip:a@b")
            .is_err());
    }
}
