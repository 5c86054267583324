//! Answering digest challenges (RFC 3261 §22.2, RFC 7616, RFC 8760): the
//! user agent's side, sans-IO, on `sipkit-digest`'s client.
//!
//! A 401 (`WWW-Authenticate`) or 407 (`Proxy-Authenticate`) is answered
//! once: the topmost challenge whose algorithm the agent supports
//! (SHA-512-256, SHA-256, MD5) is chosen, the request is sent again with a
//! higher CSeq and `Authorization` / `Proxy-Authorization` (`qop=auth`, a
//! cnonce from the agent's seeded generator, `nc` counting the requests
//! sent with that nonce). A second challenge for the answered request —
//! unless it says `stale=true` — or a 403 means the password is wrong.
//! Later requests of the same chain (registration refreshes) reuse the
//! nonce with the next `nc`.

use std::fmt;

use sipkit_digest::{parse_challenges, Challenge, ClientAuth, CLIENT_PREFERENCE};
use sipkit_message::{HeaderName, Response};

/// A user name and password to answer digest challenges with.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The digest user name.
    pub user: String,
    /// The password.
    pub password: String,
}

impl fmt::Debug for Credentials {
    /// The password is never printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .field("password", &"…")
            .finish()
    }
}

/// Stale challenges answered in a row before giving up (a registrar that
/// calls every nonce stale would otherwise be answered forever).
const MAX_STALE: u32 = 2;

/// One kind of challenge answered: a server's (401) or a proxy's (407).
#[derive(Debug, Clone, Default)]
struct Answered {
    client: Option<ClientAuth>,
    /// The last request carried an answer to this kind of challenge.
    retried: bool,
    /// Stale challenges of this kind answered since the last success.
    stale: u32,
}

/// The digest state of one chain of requests (a registration, a call's
/// INVITEs, a dialog's requests): the challenges being answered — a
/// proxy's and the server's apart, since a request may need both (RFC
/// 3261 §22.3) — and whether the last request answered each.
#[derive(Debug, Clone, Default)]
pub(crate) struct DigestState {
    www: Answered,
    proxy: Answered,
    /// Which kind was answered last (for the notes and the report).
    last_proxy: bool,
    /// Challenges answered in all.
    pub(crate) answered: u32,
}

/// What to do with a 401/407.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Send the request again with credentials (`stale`: the nonce had
    /// expired, the password was right).
    Retry {
        /// The challenge said `stale=true`.
        stale: bool,
    },
    /// The answered request was challenged again: wrong credentials.
    Failed,
    /// No challenge can be answered (no digest, no supported algorithm or qop).
    Unsupported(String),
}

impl DigestState {
    /// Whether the last request carried credentials in answer to a challenge.
    pub(crate) fn sent_credentials(&self) -> bool {
        self.www.retried || self.proxy.retried
    }

    /// Takes a 401 or 407 to the last request of the chain.
    pub(crate) fn on_challenge(&mut self, resp: &Response<'_>) -> Decision {
        let proxy = resp.status() == 407;
        let (name, header) = if proxy {
            (HeaderName::ProxyAuthenticate, "Proxy-Authenticate")
        } else {
            (HeaderName::WwwAuthenticate, "WWW-Authenticate")
        };
        let challenges: Vec<Challenge> = resp
            .headers_named(name)
            .filter_map(|h| parse_challenges(h.value).ok())
            .flatten()
            .collect();
        let client = match ClientAuth::new(&challenges, &CLIENT_PREFERENCE) {
            Ok(c) => c,
            Err(e) => {
                let why = if challenges.is_empty() {
                    format!("no Digest challenge in {header}")
                } else {
                    e.to_string()
                };
                return Decision::Unsupported(why);
            }
        };
        let stale = client.challenge().stale;
        let kind = if proxy {
            &mut self.proxy
        } else {
            &mut self.www
        };
        if kind.retried && !(stale && kind.stale < MAX_STALE) {
            return Decision::Failed;
        }
        if stale {
            kind.stale += 1;
        }
        kind.client = Some(client);
        kind.retried = true;
        // The other kind, if answered, is still answered in the retry.
        self.last_proxy = proxy;
        self.answered += 1;
        Decision::Retry { stale }
    }

    /// The request got a final answer other than a challenge.
    pub(crate) fn on_final(&mut self) {
        for k in [&mut self.www, &mut self.proxy] {
            k.retried = false;
            k.stale = 0;
        }
    }

    /// The headers carrying credentials for `method` to `uri` (the
    /// Request-URI): one per challenge answered so far (Authorization,
    /// Proxy-Authorization), each with the next `nc` of its nonce and a
    /// cnonce from `random`.
    pub(crate) fn headers(
        &mut self,
        creds: &Credentials,
        method: &str,
        uri: &str,
        random: [u8; 8],
    ) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        for (name, kind) in [
            ("Proxy-Authorization", &mut self.proxy),
            ("Authorization", &mut self.www),
        ] {
            if let Some(client) = kind.client.as_mut() {
                let answer = client.answer(method, uri, &creds.user, &creds.password, &random);
                out.push((name, answer.to_string()));
            }
        }
        out
    }

    /// The realm and algorithm of the challenge answered last, if any.
    pub(crate) fn realm_and_algorithm(&self) -> Option<(String, &'static str)> {
        let kind = if self.last_proxy {
            &self.proxy
        } else {
            &self.www
        };
        kind.client
            .as_ref()
            .map(|c| (c.challenge().realm.clone(), c.algorithm().as_str()))
    }

    /// The header of the challenge answered last, for the notes.
    pub(crate) fn challenge_header(&self) -> &'static str {
        if self.last_proxy {
            "Proxy-Authenticate"
        } else {
            "WWW-Authenticate"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_is_never_printed() {
        let c = Credentials {
            user: "alice".into(),
            password: "s3cret".into(),
        };
        let shown = format!("{c:?}");
        assert!(
            shown.contains("alice") && !shown.contains("s3cret"),
            "{shown}"
        );
    }
}
