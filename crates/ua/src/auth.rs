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

/// The digest state of one chain of requests (a registration, a call's
/// INVITEs): the challenge being answered and whether the last request
/// was itself the answer to a challenge.
#[derive(Debug, Clone, Default)]
pub(crate) struct DigestState {
    client: Option<ClientAuth>,
    /// The challenge came in a 407 (answer with Proxy-Authorization).
    proxy: bool,
    /// The last request sent answered a challenge.
    pub(crate) retried: bool,
    /// Stale challenges answered since the last success.
    stale: u32,
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
        if self.retried && !(stale && self.stale < MAX_STALE) {
            return Decision::Failed;
        }
        if stale {
            self.stale += 1;
        }
        self.client = Some(client);
        self.proxy = proxy;
        self.answered += 1;
        self.retried = true;
        Decision::Retry { stale }
    }

    /// The request got a final answer other than a challenge.
    pub(crate) fn on_final(&mut self) {
        self.retried = false;
        self.stale = 0;
    }

    /// The header carrying credentials for `method` to `uri` (the
    /// Request-URI), if a challenge has been answered: the next `nc` of
    /// its nonce, a cnonce from `random`.
    pub(crate) fn header(
        &mut self,
        creds: &Credentials,
        method: &str,
        uri: &str,
        random: [u8; 8],
    ) -> Option<(&'static str, String)> {
        let client = self.client.as_mut()?;
        let answer = client.answer(method, uri, &creds.user, &creds.password, &random);
        let name = if self.proxy {
            "Proxy-Authorization"
        } else {
            "Authorization"
        };
        Some((name, answer.to_string()))
    }

    /// The realm and algorithm answered, if any.
    pub(crate) fn realm_and_algorithm(&self) -> Option<(String, &'static str)> {
        self.client
            .as_ref()
            .map(|c| (c.challenge().realm.clone(), c.algorithm().as_str()))
    }

    /// The header name answered with, for the notes.
    pub(crate) fn challenge_header(&self) -> &'static str {
        if self.proxy {
            "Proxy-Authenticate"
        } else {
            "WWW-Authenticate"
        }
    }
}
