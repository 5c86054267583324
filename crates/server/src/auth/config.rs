//! `[auth]` in `sipkit serve`'s configuration (documented key by key in
//! `crates/server/examples/sipkit.toml`).

use serde::{Deserialize, Serialize};
use sipkit_digest::Algorithm;

use super::bans::BanSection;
use super::cidr::Cidr;
use super::limiter::RateLimitSection;
use super::users::UserRecord;
use crate::error::{Error, Result};

/// The default realm.
pub const DEFAULT_REALM: &str = "sipkit";

/// The default challenge order. MD5 comes first because SIPp 3.6.1, svcrack,
/// JsSIP, SIP.js and pjsip before 2.15 read only the first challenge or
/// give up on anything but MD5 (see README, "Authentication"); clients that
/// pick among several challenges still find SHA-256 and SHA-512-256.
pub const DEFAULT_ALGORITHMS: [Algorithm; 3] =
    [Algorithm::Md5, Algorithm::Sha256, Algorithm::Sha512_256];

/// `[auth]`: digest authentication and abuse control.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthSection {
    /// `true` or `false` forces authentication on or off; unset, it is on
    /// whenever at least one user exists.
    pub enabled: Option<bool>,
    /// The realm of the challenges and of the stored HA1s. Default `sipkit`.
    pub realm: String,
    /// The challenges sent, one per algorithm, in this order (`MD5`,
    /// `SHA-256`, `SHA-512-256`, and the `-sess` variants).
    pub algorithms: Vec<String>,
    /// How long a nonce is accepted, in seconds. Default 300.
    pub nonce_lifetime_s: u32,
    /// How far in the future a nonce's time may be (clock skew between
    /// nodes), in seconds. Default 3.
    pub nonce_max_future_s: u32,
    /// The nonce HMAC secret, shared by every node that must accept the
    /// others' nonces. Set, it takes precedence over the stored one. Unset:
    /// generated into the database (the SQLite file or Redis) on first
    /// start, so every node on it shares it (per process with
    /// `db = ":memory:"`).
    pub secret: Option<String>,
    /// Source ranges (CIDR) that are never challenged nor rate-limited: a
    /// PBX or SBC peer.
    pub trust: Vec<Cidr>,
    /// How many nonces the replay table remembers per node. Default 100000.
    pub replay_table_size: usize,
    /// Users from the configuration, for every store; SQLite and Redis also
    /// keep users (`sipkit user add`), and a stored user overrides a
    /// configured one of the same name.
    pub users: Vec<ConfigUser>,
    /// Per-source rate limit.
    pub rate_limit: RateLimitSection,
    /// Bans after failed authentications.
    pub ban: BanSection,
}

/// A user in the configuration file: a password or the HA1s.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigUser {
    /// The user name.
    pub name: String,
    /// The password (hashed at load, not kept), or leave it out and give
    /// the three HA1s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// H(name:realm:password) with MD5.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ha1_md5: Option<String>,
    /// With SHA-256.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ha1_sha256: Option<String>,
    /// With SHA-512-256.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ha1_sha512_256: Option<String>,
}

impl Default for AuthSection {
    fn default() -> Self {
        AuthSection {
            enabled: None,
            realm: DEFAULT_REALM.to_owned(),
            algorithms: DEFAULT_ALGORITHMS
                .iter()
                .map(|a| a.as_str().to_owned())
                .collect(),
            nonce_lifetime_s: 300,
            nonce_max_future_s: 3,
            secret: None,
            trust: Vec::new(),
            replay_table_size: 100_000,
            users: Vec::new(),
            rate_limit: RateLimitSection::default(),
            ban: BanSection::default(),
        }
    }
}

impl AuthSection {
    /// The algorithms, parsed, in order.
    ///
    /// # Errors
    /// [`Error::Config`] for an unknown name, a duplicate or an empty list.
    pub fn algorithm_list(&self) -> Result<Vec<Algorithm>> {
        let bad = |message: String| Error::Config {
            source_name: "<config>".into(),
            message,
        };
        let mut out = Vec::new();
        for a in &self.algorithms {
            let alg = Algorithm::from_name(a).ok_or_else(|| {
                bad(format!(
                    "auth.algorithms: unknown {a:?}: expected MD5, SHA-256, SHA-512-256 or a -sess variant"
                ))
            })?;
            if out.contains(&alg) {
                return Err(bad(format!("auth.algorithms: {a} listed twice")));
            }
            out.push(alg);
        }
        if out.is_empty() {
            return Err(bad("auth.algorithms: at least one is needed".into()));
        }
        Ok(out)
    }

    /// The configured users as records of the realm.
    ///
    /// # Errors
    /// [`Error::Config`] for a user with neither a password nor all three
    /// HA1s, or an HA1 of the wrong length.
    pub fn user_records(&self) -> Result<Vec<UserRecord>> {
        let bad = |message: String| Error::Config {
            source_name: "<config>".into(),
            message,
        };
        let mut out = Vec::new();
        for u in &self.users {
            if u.name.is_empty() {
                return Err(bad("auth.users: a user has an empty name".into()));
            }
            let rec = match (&u.password, &u.ha1_md5, &u.ha1_sha256, &u.ha1_sha512_256) {
                (Some(p), None, None, None) => UserRecord::new(&u.name, &self.realm, p),
                (None, Some(m), Some(s), Some(t)) => {
                    for (h, len) in [(m, 32), (s, 64), (t, 64)] {
                        if h.len() != len || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
                            return Err(bad(format!(
                                "auth.users {}: an HA1 must be {len} hex digits",
                                u.name
                            )));
                        }
                    }
                    UserRecord {
                        name: u.name.clone(),
                        realm: self.realm.clone(),
                        ha1_md5: m.to_ascii_lowercase(),
                        ha1_sha256: s.to_ascii_lowercase(),
                        ha1_sha512_256: t.to_ascii_lowercase(),
                    }
                }
                _ => {
                    return Err(bad(format!(
                        "auth.users {}: give either password or all of ha1_md5, ha1_sha256, ha1_sha512_256",
                        u.name
                    )))
                }
            };
            out.push(rec);
        }
        Ok(out)
    }

    /// Checks the section.
    ///
    /// # Errors
    /// [`Error::Config`] naming the key.
    pub fn validate(&self) -> Result<()> {
        let bad = |message: String| {
            Err(Error::Config {
                source_name: "<config>".into(),
                message,
            })
        };
        if self.realm.is_empty() || self.realm.contains(['"', '\\', '\r', '\n']) {
            return bad(format!(
                "auth.realm: {:?} must be non-empty, without quotes, backslashes or line breaks",
                self.realm
            ));
        }
        self.algorithm_list()?;
        self.user_records()?;
        if self.nonce_lifetime_s == 0 {
            return bad("auth.nonce_lifetime_s: must be above 0".into());
        }
        if self.replay_table_size == 0 {
            return bad("auth.replay_table_size: must be above 0".into());
        }
        let r = &self.rate_limit;
        if !(r.rate_per_s >= 0.0
            && r.rate_per_s.is_finite()
            && r.burst >= 1.0
            && r.burst.is_finite())
        {
            return bad(format!(
                "auth.rate_limit: expected rate_per_s >= 0 and burst >= 1, got {} and {}",
                r.rate_per_s, r.burst
            ));
        }
        if matches!(&self.secret, Some(s) if s.len() < 16) {
            return bad("auth.secret: use at least 16 characters".into());
        }
        Ok(())
    }
}
