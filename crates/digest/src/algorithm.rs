//! The digest algorithms (RFC 7616 §3.2, §6.1; RFC 8760 §2.2) and the
//! hashes of RFC 7616 §3.4.2–3.4.3.

use md5::Md5;
use sha2::{Digest, Sha256, Sha512_256};

/// A digest algorithm, as named in the `algorithm` parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Algorithm {
    /// `MD5` (RFC 2617; the default when `algorithm` is absent).
    Md5,
    /// `MD5-sess`.
    Md5Sess,
    /// `SHA-256` (RFC 7616, RFC 8760).
    Sha256,
    /// `SHA-256-sess`.
    Sha256Sess,
    /// `SHA-512-256`: SHA-512/256 (FIPS 180-4).
    Sha512_256,
    /// `SHA-512-256-sess`.
    Sha512_256Sess,
}

impl Algorithm {
    /// Every algorithm, non-session ones first.
    pub const ALL: [Algorithm; 6] = [
        Algorithm::Md5,
        Algorithm::Sha256,
        Algorithm::Sha512_256,
        Algorithm::Md5Sess,
        Algorithm::Sha256Sess,
        Algorithm::Sha512_256Sess,
    ];

    /// The token on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Md5Sess => "MD5-sess",
            Algorithm::Sha256 => "SHA-256",
            Algorithm::Sha256Sess => "SHA-256-sess",
            Algorithm::Sha512_256 => "SHA-512-256",
            Algorithm::Sha512_256Sess => "SHA-512-256-sess",
        }
    }

    /// The algorithm a token names, case-insensitively; `None` for one this
    /// crate does not implement.
    pub fn from_name(name: &str) -> Option<Algorithm> {
        Algorithm::ALL
            .into_iter()
            .find(|a| a.as_str().eq_ignore_ascii_case(name))
    }

    /// The algorithm of an `algorithm` parameter, MD5 when it is absent
    /// (RFC 7616 §3.3).
    pub fn from_param(param: Option<&str>) -> Option<Algorithm> {
        match param {
            None => Some(Algorithm::Md5),
            Some(p) => Algorithm::from_name(p),
        }
    }

    /// Whether this is a `-sess` variant (RFC 7616 §3.4.2).
    pub fn is_session(self) -> bool {
        matches!(
            self,
            Algorithm::Md5Sess | Algorithm::Sha256Sess | Algorithm::Sha512_256Sess
        )
    }

    /// The hash function without the session variant: the one whose HA1 a
    /// server stores.
    pub fn base(self) -> Algorithm {
        match self {
            Algorithm::Md5 | Algorithm::Md5Sess => Algorithm::Md5,
            Algorithm::Sha256 | Algorithm::Sha256Sess => Algorithm::Sha256,
            Algorithm::Sha512_256 | Algorithm::Sha512_256Sess => Algorithm::Sha512_256,
        }
    }

    /// Length of a hash in hex digits: 32 for MD5, 64 for the others.
    pub fn hex_len(self) -> usize {
        match self.base() {
            Algorithm::Md5 => 32,
            _ => 64,
        }
    }

    /// H(p1 ":" p2 ":" …) as lowercase hex (RFC 7616 §3.4.1 `H(data)`).
    pub fn hash(self, parts: &[&[u8]]) -> String {
        fn run<D: Digest>(parts: &[&[u8]]) -> String {
            let mut d = D::new();
            for (i, p) in parts.iter().enumerate() {
                if i > 0 {
                    d.update(b":");
                }
                d.update(p);
            }
            to_hex(&d.finalize())
        }
        match self.base() {
            Algorithm::Md5 => run::<Md5>(parts),
            Algorithm::Sha256 => run::<Sha256>(parts),
            _ => run::<Sha512_256>(parts),
        }
    }

    /// HA1 = H(username ":" realm ":" password) (RFC 7616 §3.4.2), for the
    /// non-session variant: what a server stores instead of the password.
    pub fn ha1(self, username: &str, realm: &str, password: &str) -> String {
        self.hash(&[username.as_bytes(), realm.as_bytes(), password.as_bytes()])
    }

    /// The HA1 used in a response: `ha1` itself, or for a `-sess` variant
    /// H(ha1 ":" nonce ":" cnonce) (RFC 7616 §3.4.2).
    pub fn session_ha1(self, ha1: &str, nonce: &str, cnonce: &str) -> String {
        if self.is_session() {
            self.hash(&[ha1.as_bytes(), nonce.as_bytes(), cnonce.as_bytes()])
        } else {
            ha1.to_owned()
        }
    }

    /// HA2 = H(method ":" uri) for qop `auth` or none (RFC 7616 §3.4.3).
    pub fn ha2(self, method: &str, uri: &str) -> String {
        self.hash(&[method.as_bytes(), uri.as_bytes()])
    }

    /// The request-digest (RFC 7616 §3.4.1): with `qop` (`Some((nc,
    /// cnonce, qop))`) H(HA1:nonce:nc:cnonce:qop:HA2), without it the RFC
    /// 2069 form H(HA1:nonce:HA2). `ha1` is the session HA1 already.
    pub fn response(
        self,
        ha1: &str,
        nonce: &str,
        qop: Option<(&str, &str, &str)>,
        ha2: &str,
    ) -> String {
        match qop {
            Some((nc, cnonce, qop)) => self.hash(&[
                ha1.as_bytes(),
                nonce.as_bytes(),
                nc.as_bytes(),
                cnonce.as_bytes(),
                qop.as_bytes(),
                ha2.as_bytes(),
            ]),
            None => self.hash(&[ha1.as_bytes(), nonce.as_bytes(), ha2.as_bytes()]),
        }
    }
}

impl std::fmt::Display for Algorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Algorithm {
    type Err = UnknownAlgorithm;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Algorithm::from_name(s).ok_or(UnknownAlgorithm)
    }
}

/// A name that is not one of [`Algorithm::ALL`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("unknown digest algorithm: expected MD5, SHA-256, SHA-512-256 or a -sess variant")]
pub struct UnknownAlgorithm;

/// Lowercase hex of `bytes`.
pub fn to_hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(HEX[usize::from(b >> 4)]));
        s.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    s
}
