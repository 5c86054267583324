//! Digest authentication for SIP (RFC 3261 §22, RFC 7616, RFC 8760),
//! sans-IO: no clock, no randomness, no sockets. Callers pass the random
//! bytes of a cnonce and keep their own nonce state.
//!
//! * Syntax: [`Challenge`] (`WWW-Authenticate`, `Proxy-Authenticate`) and
//!   [`Credentials`] (`Authorization`, `Proxy-Authorization`) parse and
//!   print RFC 7616 §3.3–3.4 parameter lists; quoted strings are unescaped
//!   and unknown parameters survive a round trip.
//! * Hashes: [`Algorithm`] computes HA1, HA2 and the response for MD5,
//!   SHA-256 and SHA-512-256 and their `-sess` variants.
//! * Client: [`ClientAuth`] answers a list of challenges, choosing the
//!   topmost one with an algorithm it supports (RFC 8760 §2.4), with
//!   `qop=auth`, a cnonce and an incrementing `nc`.
//! * Server: [`verify`] checks credentials against a stored HA1 in
//!   constant time (`subtle`).
//!
//! It does not do `qop=auth-int` (it needs the body's hash) or `userhash`
//! on the server side (it needs a reverse index).
//!
//! ```
//! use sipkit_digest::{verify, Algorithm, Challenge, ClientAuth, CLIENT_PREFERENCE};
//!
//! // The server offers SHA-256 then MD5 (RFC 8760: preferred first).
//! let offered = [
//!     Challenge::new("sipkit", "abc123", Algorithm::Sha256),
//!     Challenge::new("sipkit", "abc123", Algorithm::Md5),
//! ];
//! let mut client = ClientAuth::new(&offered, &CLIENT_PREFERENCE).unwrap();
//! assert_eq!(client.algorithm(), Algorithm::Sha256);
//! let creds = client.answer("REGISTER", "sip:example.com", "alice", "secret", &[7; 8]);
//! assert_eq!(creds.nc.as_deref(), Some("00000001"));
//!
//! // The server stores HA1 only and checks the response.
//! let ha1 = Algorithm::Sha256.ha1("alice", "sipkit", "secret");
//! assert!(verify(&creds, "REGISTER", &ha1));
//! assert!(!verify(&creds, "INVITE", &ha1));
//! ```

mod algorithm;
mod challenge;
mod credentials;
mod error;
mod params;

use subtle::ConstantTimeEq;

pub use algorithm::{to_hex, Algorithm, UnknownAlgorithm};
pub use challenge::{parse_challenges, Challenge};
pub use credentials::Credentials;
pub use error::{ErrorKind, ParseError};
pub use params::Param;

/// What a client supports, most preferred first: SHA-512-256, SHA-256,
/// MD5. [`ClientAuth`] still takes the server's order: the topmost
/// challenge with any of these wins (RFC 8760 §2.4).
pub const CLIENT_PREFERENCE: [Algorithm; 3] =
    [Algorithm::Sha512_256, Algorithm::Sha256, Algorithm::Md5];

/// Why a client cannot answer the challenges it got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AnswerError {
    /// No challenge names an algorithm the client supports.
    #[error("no challenge offers a supported digest algorithm")]
    NoSupportedAlgorithm,
    /// A challenge with a supported algorithm offers qop values but not
    /// `auth` (only `auth-int`, say).
    #[error("no challenge offers qop=auth")]
    NoSupportedQop,
}

/// The challenge a client answers: the first (topmost) one whose
/// algorithm is in `supported` and that offers `qop=auth` or no qop
/// (RFC 8760 §2.4; RFC 7616 §3.7 lets the client pick any it supports).
pub fn choose<'a>(
    challenges: &'a [Challenge],
    supported: &[Algorithm],
) -> Result<(&'a Challenge, Algorithm), AnswerError> {
    let mut qop_missing = false;
    for c in challenges {
        let Some(a) = c.algorithm() else { continue };
        if !supported.contains(&a) {
            continue;
        }
        if c.qop.is_empty() || c.offers_auth() {
            return Ok((c, a));
        }
        qop_missing = true;
    }
    Err(if qop_missing {
        AnswerError::NoSupportedQop
    } else {
        AnswerError::NoSupportedAlgorithm
    })
}

/// A client's state for one challenge: the chosen challenge and algorithm
/// and the nonce count, so that further requests can reuse the nonce
/// (RFC 7616 §3.4: `nc` counts the requests sent with this nonce).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientAuth {
    challenge: Challenge,
    algorithm: Algorithm,
    nc: u32,
}

impl ClientAuth {
    /// Chooses the challenge to answer among `challenges` (all the
    /// `WWW-Authenticate` or `Proxy-Authenticate` values of a 401/407, in
    /// order) with [`choose`].
    ///
    /// # Errors
    /// [`AnswerError`] when none can be answered.
    pub fn new(challenges: &[Challenge], supported: &[Algorithm]) -> Result<Self, AnswerError> {
        let (c, a) = choose(challenges, supported)?;
        Ok(ClientAuth {
            challenge: c.clone(),
            algorithm: a,
            nc: 0,
        })
    }

    /// The algorithm chosen.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The challenge answered.
    pub fn challenge(&self) -> &Challenge {
        &self.challenge
    }

    /// The credentials for one request: `method` and `uri` (the
    /// Request-URI as sent), with the next `nc` and a cnonce made of
    /// `cnonce_random` in hex (pass at least 8 fresh random bytes). With
    /// `qop=auth` offered the answer uses it; with no qop it falls back to
    /// the RFC 2069 form.
    pub fn answer(
        &mut self,
        method: &str,
        uri: &str,
        username: &str,
        password: &str,
        cnonce_random: &[u8],
    ) -> Credentials {
        let ha1 = self
            .algorithm
            .base()
            .ha1(username, &self.challenge.realm, password);
        self.answer_with_ha1(method, uri, username, &ha1, cnonce_random)
    }

    /// As [`ClientAuth::answer`], from a precomputed HA1 of the algorithm's
    /// base hash (`H(username:realm:password)`).
    pub fn answer_with_ha1(
        &mut self,
        method: &str,
        uri: &str,
        username: &str,
        ha1: &str,
        cnonce_random: &[u8],
    ) -> Credentials {
        let ch = &self.challenge;
        let alg = self.algorithm;
        let ha2 = alg.ha2(method, uri);
        let mut creds = Credentials {
            username: username.to_owned(),
            realm: ch.realm.clone(),
            nonce: ch.nonce.clone(),
            uri: uri.to_owned(),
            algorithm: ch.algorithm.clone(),
            opaque: ch.opaque.clone(),
            ..Credentials::default()
        };
        if ch.offers_auth() {
            self.nc = self.nc.wrapping_add(1);
            let nc = format!("{:08x}", self.nc);
            let cnonce = to_hex(cnonce_random);
            let sess = alg.session_ha1(ha1, &ch.nonce, &cnonce);
            creds.response = alg.response(&sess, &ch.nonce, Some((&nc, &cnonce, "auth")), &ha2);
            creds.qop = Some("auth".to_owned());
            creds.nc = Some(nc);
            creds.cnonce = Some(cnonce);
        } else {
            let sess = alg.session_ha1(ha1, &ch.nonce, "");
            creds.response = alg.response(&sess, &ch.nonce, None, &ha2);
        }
        creds
    }
}

/// Whether `creds` answer `method` correctly given the stored `ha1`, the
/// HA1 of the credentials' base algorithm ([`Algorithm::base`]) for their
/// username and realm. The response is compared in constant time; an
/// unknown algorithm or `qop` other than `auth` is never correct. Checking
/// the nonce, the realm and the user is the caller's job.
pub fn verify(creds: &Credentials, method: &str, ha1: &str) -> bool {
    let Some(alg) = creds.algorithm() else {
        return false;
    };
    let qop = match creds.qop.as_deref() {
        None => None,
        Some(q) if q.eq_ignore_ascii_case("auth") => Some(q),
        Some(_) => return false,
    };
    let cnonce = creds.cnonce.as_deref().unwrap_or("");
    let sess = alg.session_ha1(ha1, &creds.nonce, cnonce);
    let ha2 = alg.ha2(method, &creds.uri);
    let expected = alg.response(
        &sess,
        &creds.nonce,
        qop.map(|q| (creds.nc.as_deref().unwrap_or(""), cnonce, q)),
        &ha2,
    );
    ct_eq_hex(&expected, &creds.response)
}

/// Constant-time comparison of two hex strings, ignoring the case of the
/// second; a length difference is not secret.
pub fn ct_eq_hex(expected: &str, given: &str) -> bool {
    if expected.len() != given.len() {
        return false;
    }
    let mut buf = [0u8; 128];
    let n = given.len().min(buf.len());
    for (d, s) in buf.iter_mut().zip(given.bytes()) {
        *d = s.to_ascii_lowercase();
    }
    if n != given.len() {
        return false;
    }
    bool::from(expected.as_bytes().ct_eq(&buf[..n]))
}
