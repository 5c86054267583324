//! `WWW-Authenticate` / `Proxy-Authenticate` digest challenges (RFC 3261
//! §22.4, §25.1 `digest-cln`; RFC 7616 §3.3; RFC 8760 §2.3).

use std::fmt;

use crate::error::{ErrorKind, ParseError};
use crate::params::{is_token, push_others, push_quoted, Cursor, Param};
use crate::Algorithm;

/// One digest challenge.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Challenge {
    /// `realm` (required).
    pub realm: String,
    /// `nonce` (required).
    pub nonce: String,
    /// `opaque`, echoed by the client.
    pub opaque: Option<String>,
    /// `algorithm` as written; absent means MD5. See [`Challenge::algorithm`].
    pub algorithm: Option<String>,
    /// The `qop` options (`auth`, `auth-int`); empty when absent.
    pub qop: Vec<String>,
    /// `stale=true`: the nonce expired but the credentials were right
    /// (RFC 7616 §3.3), so the client retries without asking the user.
    pub stale: bool,
    /// `domain`, as written.
    pub domain: Option<String>,
    /// `userhash=true` (RFC 7616 §3.4.4).
    pub userhash: bool,
    /// `charset` (only `UTF-8` is defined).
    pub charset: Option<String>,
    /// Parameters this crate does not know, kept in order for a round trip.
    pub other: Vec<Param>,
}

impl Challenge {
    /// A challenge with `realm`, `nonce`, one `algorithm` and `qop="auth"`,
    /// as a server issues it.
    pub fn new(realm: &str, nonce: &str, algorithm: Algorithm) -> Challenge {
        Challenge {
            realm: realm.to_owned(),
            nonce: nonce.to_owned(),
            algorithm: Some(algorithm.as_str().to_owned()),
            qop: vec!["auth".to_owned()],
            ..Challenge::default()
        }
    }

    /// The algorithm offered, `None` when it names one this crate does not
    /// implement (absent means MD5).
    pub fn algorithm(&self) -> Option<Algorithm> {
        Algorithm::from_param(self.algorithm.as_deref())
    }

    /// Whether the challenge offers `qop=auth`.
    pub fn offers_auth(&self) -> bool {
        self.qop.iter().any(|q| q.eq_ignore_ascii_case("auth"))
    }

    /// Parses one header value holding exactly one challenge.
    ///
    /// # Errors
    /// [`ParseError`] for broken syntax, another scheme, a missing realm or
    /// nonce, or a second challenge in the same value.
    pub fn parse(value: &str) -> Result<Challenge, ParseError> {
        let mut all = parse_challenges(value)?;
        if all.len() != 1 {
            return Err(ParseError {
                kind: ErrorKind::ExpectedComma,
                offset: value.len(),
            });
        }
        Ok(all.remove(0))
    }
}

/// Parses a header value that may hold several comma-separated challenges
/// (RFC 7235 §4.1 allows it). Only `Digest` challenges are accepted.
///
/// # Errors
/// [`ParseError`] on the first problem.
pub fn parse_challenges(value: &str) -> Result<Vec<Challenge>, ParseError> {
    let mut c = Cursor::new(value);
    let mut out = Vec::new();
    c.skip_ws();
    loop {
        let at = c.pos;
        let scheme = c.token();
        if !scheme.eq_ignore_ascii_case("Digest") {
            return Err(ParseError {
                kind: ErrorKind::NotDigest,
                offset: at,
            });
        }
        c.skip_ws();
        let mut params = Vec::new();
        let mut more = true;
        while more {
            params.push(c.param()?);
            more = c.comma()?;
            if more && !c.next_is_param() {
                break;
            }
        }
        out.push(from_params(params, at)?);
        if !more {
            return Ok(out);
        }
    }
}

fn from_params(params: Vec<Param>, at: usize) -> Result<Challenge, ParseError> {
    let mut ch = Challenge::default();
    let mut seen = [false; 8];
    let dup = |seen: &mut [bool; 8], i: usize, name: &'static str| {
        if std::mem::replace(&mut seen[i], true) {
            Err(ParseError {
                kind: ErrorKind::DuplicateParam(name),
                offset: at,
            })
        } else {
            Ok(())
        }
    };
    for p in params {
        let n = p.name.to_ascii_lowercase();
        match n.as_str() {
            "realm" => {
                dup(&mut seen, 0, "realm")?;
                ch.realm = p.value;
            }
            "nonce" => {
                dup(&mut seen, 1, "nonce")?;
                ch.nonce = p.value;
            }
            "opaque" => {
                dup(&mut seen, 2, "opaque")?;
                ch.opaque = Some(p.value);
            }
            "algorithm" => {
                dup(&mut seen, 3, "algorithm")?;
                ch.algorithm = Some(p.value);
            }
            "qop" => {
                dup(&mut seen, 4, "qop")?;
                ch.qop = p
                    .value
                    .split(',')
                    .map(str::trim)
                    .filter(|q| !q.is_empty())
                    .map(str::to_owned)
                    .collect();
            }
            "stale" => {
                dup(&mut seen, 5, "stale")?;
                ch.stale = p.value.eq_ignore_ascii_case("true");
            }
            "domain" => {
                dup(&mut seen, 6, "domain")?;
                ch.domain = Some(p.value);
            }
            "userhash" => {
                dup(&mut seen, 7, "userhash")?;
                ch.userhash = p.value.eq_ignore_ascii_case("true");
            }
            "charset" => ch.charset = Some(p.value),
            _ => ch.other.push(p),
        }
    }
    if !seen[0] {
        return Err(ParseError {
            kind: ErrorKind::MissingParam("realm"),
            offset: at,
        });
    }
    if !seen[1] {
        return Err(ParseError {
            kind: ErrorKind::MissingParam("nonce"),
            offset: at,
        });
    }
    Ok(ch)
}

impl fmt::Display for Challenge {
    /// `Digest realm="…", nonce="…", [opaque="…", ]algorithm=…, qop="auth"[, stale=true]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::with_capacity(160);
        s.push_str("Digest realm=");
        push_quoted(&mut s, &self.realm);
        if let Some(d) = &self.domain {
            s.push_str(", domain=");
            push_quoted(&mut s, d);
        }
        s.push_str(", nonce=");
        push_quoted(&mut s, &self.nonce);
        if let Some(o) = &self.opaque {
            s.push_str(", opaque=");
            push_quoted(&mut s, o);
        }
        if self.stale {
            s.push_str(", stale=true");
        }
        if let Some(a) = &self.algorithm {
            s.push_str(", algorithm=");
            if is_token(a) {
                s.push_str(a);
            } else {
                push_quoted(&mut s, a);
            }
        }
        if !self.qop.is_empty() {
            s.push_str(", qop=");
            push_quoted(&mut s, &self.qop.join(","));
        }
        if let Some(c) = &self.charset {
            s.push_str(", charset=");
            s.push_str(c);
        }
        if self.userhash {
            s.push_str(", userhash=true");
        }
        push_others(&mut s, &self.other);
        f.write_str(&s)
    }
}
