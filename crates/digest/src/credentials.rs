//! `Authorization` / `Proxy-Authorization` digest credentials (RFC 3261
//! §22.2, §25.1 `digest-response`; RFC 7616 §3.4).

use std::fmt;

use crate::error::{ErrorKind, ParseError};
use crate::params::{is_token, push_others, push_quoted, Cursor, Param};
use crate::Algorithm;

/// Digest credentials, as a client sends them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Credentials {
    /// `username` (required).
    pub username: String,
    /// `realm` (required).
    pub realm: String,
    /// `nonce` (required), echoed from the challenge.
    pub nonce: String,
    /// `uri` (required): the digest-uri, the Request-URI in SIP.
    pub uri: String,
    /// `response` (required): the request-digest in hex.
    pub response: String,
    /// `algorithm` as written; absent means MD5. See [`Credentials::algorithm`].
    pub algorithm: Option<String>,
    /// `cnonce` (required with `qop`).
    pub cnonce: Option<String>,
    /// `opaque`, echoed from the challenge.
    pub opaque: Option<String>,
    /// `qop`, the one chosen (`auth`).
    pub qop: Option<String>,
    /// `nc` as 8 hex digits (required with `qop`).
    pub nc: Option<String>,
    /// `userhash=true`: `username` is H(user:realm) (RFC 7616 §3.4.4).
    pub userhash: bool,
    /// Parameters this crate does not know, kept in order.
    pub other: Vec<Param>,
}

impl Credentials {
    /// The algorithm used, `None` when it is one this crate does not
    /// implement (absent means MD5).
    pub fn algorithm(&self) -> Option<Algorithm> {
        Algorithm::from_param(self.algorithm.as_deref())
    }

    /// The nonce count as a number; `None` without `nc`.
    pub fn nonce_count(&self) -> Option<u32> {
        self.nc
            .as_deref()
            .and_then(|n| u32::from_str_radix(n, 16).ok())
    }

    /// Parses a header value with one set of digest credentials. Checks the
    /// syntax and the required parameters (username, realm, nonce, uri,
    /// response; cnonce and nc with qop; nc as 8 hex digits; a hex
    /// response), not the values.
    ///
    /// # Errors
    /// [`ParseError`] saying what is wrong and where.
    pub fn parse(value: &str) -> Result<Credentials, ParseError> {
        let mut c = Cursor::new(value);
        c.skip_ws();
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
        loop {
            params.push(c.param()?);
            if !c.comma()? {
                break;
            }
        }
        from_params(params, value.len())
    }
}

fn from_params(params: Vec<Param>, end: usize) -> Result<Credentials, ParseError> {
    let err = |kind| ParseError { kind, offset: end };
    let mut cr = Credentials::default();
    let mut seen = [false; 11];
    for p in params {
        let n = p.name.to_ascii_lowercase();
        let (i, name): (usize, &'static str) = match n.as_str() {
            "username" => (0, "username"),
            "realm" => (1, "realm"),
            "nonce" => (2, "nonce"),
            "uri" => (3, "uri"),
            "response" => (4, "response"),
            "algorithm" => (5, "algorithm"),
            "cnonce" => (6, "cnonce"),
            "opaque" => (7, "opaque"),
            "qop" => (8, "qop"),
            "nc" => (9, "nc"),
            "userhash" => (10, "userhash"),
            _ => {
                cr.other.push(p);
                continue;
            }
        };
        if std::mem::replace(&mut seen[i], true) {
            return Err(err(ErrorKind::DuplicateParam(name)));
        }
        let v = p.value;
        match i {
            0 => cr.username = v,
            1 => cr.realm = v,
            2 => cr.nonce = v,
            3 => cr.uri = v,
            4 => cr.response = v,
            5 => cr.algorithm = Some(v),
            6 => cr.cnonce = Some(v),
            7 => cr.opaque = Some(v),
            8 => cr.qop = Some(v),
            9 => cr.nc = Some(v),
            _ => cr.userhash = v.eq_ignore_ascii_case("true"),
        }
    }
    for (i, name) in [
        (0, "username"),
        (1, "realm"),
        (2, "nonce"),
        (3, "uri"),
        (4, "response"),
    ] {
        if !seen[i] {
            return Err(err(ErrorKind::MissingParam(name)));
        }
    }
    if cr.response.is_empty() || !cr.response.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(err(ErrorKind::BadResponse));
    }
    if let Some(nc) = &cr.nc {
        if nc.len() != 8 || !nc.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(err(ErrorKind::BadNonceCount));
        }
    }
    if let Some(q) = &cr.qop {
        if q.contains(',') || q.is_empty() || cr.cnonce.is_none() || cr.nc.is_none() {
            return Err(err(ErrorKind::BadQop));
        }
    }
    Ok(cr)
}

impl fmt::Display for Credentials {
    /// `Digest username="…", realm="…", nonce="…", uri="…", response="…",
    /// algorithm=…, cnonce="…", opaque="…", qop=auth, nc=00000001`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::with_capacity(256);
        s.push_str("Digest username=");
        push_quoted(&mut s, &self.username);
        s.push_str(", realm=");
        push_quoted(&mut s, &self.realm);
        s.push_str(", nonce=");
        push_quoted(&mut s, &self.nonce);
        s.push_str(", uri=");
        push_quoted(&mut s, &self.uri);
        s.push_str(", response=");
        push_quoted(&mut s, &self.response);
        if let Some(a) = &self.algorithm {
            s.push_str(", algorithm=");
            if is_token(a) {
                s.push_str(a);
            } else {
                push_quoted(&mut s, a);
            }
        }
        if let Some(c) = &self.cnonce {
            s.push_str(", cnonce=");
            push_quoted(&mut s, c);
        }
        if let Some(o) = &self.opaque {
            s.push_str(", opaque=");
            push_quoted(&mut s, o);
        }
        if let Some(q) = &self.qop {
            s.push_str(", qop=");
            s.push_str(q);
        }
        if let Some(nc) = &self.nc {
            s.push_str(", nc=");
            s.push_str(nc);
        }
        if self.userhash {
            s.push_str(", userhash=true");
        }
        push_others(&mut s, &self.other);
        f.write_str(&s)
    }
}
