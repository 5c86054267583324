//! `sipkit serve`'s configuration file (TOML), documented key by key in
//! `crates/server/examples/sipkit.toml`.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::binding::{Transport, TransportAddr};
use crate::directory::Directory;
use crate::error::{Error, Result};
use crate::redirect::RedirectConfig;
use crate::registrar::RegistrarConfig;

/// The whole configuration of `sipkit serve`. Every key is optional; the
/// defaults run a server on 127.0.0.1:5060 over UDP and TCP with the SQLite
/// file `sipkit.db` in the current directory, any domain, any user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Where to listen: `udp:IP:PORT` or `tcp:IP:PORT` (IPv6 as `[::1]`).
    pub listen: Vec<TransportAddr>,
    /// The SQLite file of the location service, or `:memory:`.
    pub db: String,
    /// How durable each SQLite commit is before the 200 goes out.
    pub db_sync: crate::DbSync,
    /// Domains served (the host of an AOR); empty accepts any domain.
    #[serde(alias = "domain", alias = "realms")]
    pub domains: Vec<String>,
    /// The largest message accepted, in bytes; larger → 513.
    pub max_message_size: usize,
    /// Expiration limits of the registrar.
    pub registrar: RegistrarSection,
    /// Timer base values of the transaction layer (RFC 3261 §17).
    pub transaction: TransactionSection,
    /// Known users.
    pub users: UsersSection,
    /// AORs moved for good: AOR → new URI, answered 301.
    pub moved: BTreeMap<String, String>,
    /// Digest authentication and abuse control.
    pub auth: crate::auth::AuthSection,
    /// Worker threads serving SIP, each with its own sockets bound to the
    /// same addresses with SO_REUSEPORT; unset: one per core.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workers: Option<usize>,
    /// Where to serve Prometheus metrics (`/metrics`) and `/health` over
    /// HTTP, `IP:PORT` (port 0 picks one); unset: nowhere.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics: Option<std::net::SocketAddr>,
    /// The name of this node, stored with every binding it writes
    /// ([`crate::Binding::node`]) so that nodes sharing a store know which
    /// one holds a contact's connection; unset: the host name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_id: Option<String>,
}

/// `[registrar]`: expiration limits (RFC 3261 §10.3 step 6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RegistrarSection {
    /// Shortest non-zero expiration; shorter → 423. Default 60.
    pub min_expires: u32,
    /// Longest expiration granted. Default 3600.
    pub max_expires: u32,
    /// Expiration when the REGISTER names none. Unset: 3600, or
    /// `max_expires` if that is lower; see
    /// [`RegistrarSection::default_expires`].
    pub default_expires: Option<u32>,
}

/// `[transaction]`: RFC 3261 §17 timer base values, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TransactionSection {
    /// T1, the RTT estimate. Default 500.
    pub t1_ms: u64,
    /// T2, the longest retransmit interval of non-INVITE requests and
    /// INVITE responses. Default 4000.
    pub t2_ms: u64,
    /// T4, the longest time a message stays in the network. Default 5000.
    pub t4_ms: u64,
}

/// `[users]`: who may register and be called.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UsersSection {
    /// User names (`alice`) or AORs (`sip:alice@example.com`); empty
    /// accepts anyone, without authentication.
    pub known: Vec<String>,
}

impl ServerConfig {
    /// The default database file, in the current directory.
    pub const DEFAULT_DB: &'static str = "sipkit.db";

    /// Parses and validates configuration text.
    ///
    /// # Errors
    /// [`Error::Config`] naming the key and, for syntax errors, the line.
    pub fn from_toml(text: &str) -> Result<Self> {
        Self::parse_named(text, "<string>")
    }

    /// Reads, parses and validates a configuration file.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be read, [`Error::Config`] when it
    /// is not a valid configuration.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: shown.clone(),
            source,
        })?;
        Self::parse_named(&text, &shown)
    }

    fn parse_named(text: &str, name: &str) -> Result<Self> {
        let config: ServerConfig = toml::from_str(text).map_err(|e| Error::Config {
            source_name: name.to_owned(),
            message: e.to_string().trim_end().to_owned(),
        })?;
        config.validate().map_err(|e| match e {
            Error::Config { message, .. } => Error::Config {
                source_name: name.to_owned(),
                message,
            },
            other => other,
        })?;
        Ok(config)
    }

    /// Checks the values together: at least one listen address, each UDP or
    /// TCP and none twice; `min_expires <= default_expires <= max_expires`
    /// with a non-zero default; `0 < t1_ms <= t2_ms`, `t4_ms > 0`; a message
    /// size from 1024 bytes to 16 MiB; users and moved AORs that parse.
    ///
    /// # Errors
    /// [`Error::Config`] saying which key is wrong and why.
    pub fn validate(&self) -> Result<()> {
        let bad = |message: String| {
            Err(Error::Config {
                source_name: "<config>".into(),
                message,
            })
        };
        if self.listen.is_empty() {
            return bad("listen: at least one address is needed".into());
        }
        let mut seen = HashSet::new();
        for l in &self.listen {
            if !matches!(l.transport, Transport::Udp | Transport::Tcp) {
                return bad(format!("listen {l}: only udp and tcp are supported"));
            }
            if !seen.insert(*l) {
                return bad(format!("listen {l}: listed twice"));
            }
        }
        if self.workers == Some(0) {
            return bad("workers: must be at least 1".into());
        }
        if let Some(node) = &self.node_id {
            if node.trim().is_empty() || node.len() > 255 || node.chars().any(char::is_control) {
                return bad(format!(
                    "node_id {node:?}: expected 1 to 255 bytes, no control characters"
                ));
            }
        }
        if self.db.trim().is_empty() {
            return bad("db: empty path (use :memory: for no file)".into());
        }
        let r = &self.registrar;
        if r.max_expires == 0 {
            return bad("registrar.max_expires: must be above 0".into());
        }
        if r.default_expires == Some(0) {
            return bad("registrar.default_expires: must be above 0".into());
        }
        let default = r.default_expires();
        if !(r.min_expires <= default && default <= r.max_expires) {
            return bad(format!(
                "registrar: expected min_expires <= default_expires <= max_expires, got {} / {} / {}",
                r.min_expires, default, r.max_expires
            ));
        }
        let t = &self.transaction;
        if t.t1_ms == 0 || t.t2_ms < t.t1_ms || t.t4_ms == 0 {
            return bad(format!(
                "transaction: expected 0 < t1_ms <= t2_ms and t4_ms > 0, got t1_ms = {}, t2_ms = {}, t4_ms = {}",
                t.t1_ms, t.t2_ms, t.t4_ms
            ));
        }
        if !(1024..=16 * 1024 * 1024).contains(&self.max_message_size) {
            return bad(format!(
                "max_message_size: expected 1024 to 16777216 bytes, got {}",
                self.max_message_size
            ));
        }
        self.auth.validate()?;
        self.redirect_config().map_err(|e| Error::Config {
            source_name: "<config>".into(),
            message: match e {
                Error::Config { message, .. } => message,
                other => other.to_string(),
            },
        })?;
        Ok(())
    }

    /// Domains and users as a [`Directory`].
    ///
    /// # Errors
    /// [`Error::Config`] for a user entry that is not a name or a SIP URI.
    pub fn directory(&self) -> Result<Directory> {
        Directory::new(&self.domains, &self.users.known)
    }

    /// The registrar's settings.
    ///
    /// # Errors
    /// As [`ServerConfig::directory`].
    pub fn registrar_config(&self) -> Result<RegistrarConfig> {
        Ok(RegistrarConfig {
            min_expires: self.registrar.min_expires,
            max_expires: self.registrar.max_expires,
            default_expires: self.registrar.default_expires(),
            directory: self.directory()?,
            node: self.node_id.clone(),
        })
    }

    /// The redirect server's settings.
    ///
    /// # Errors
    /// As [`ServerConfig::directory`], and [`Error::Config`] for a `[moved]`
    /// key that is not a SIP URI or an empty target.
    pub fn redirect_config(&self) -> Result<RedirectConfig> {
        let mut cfg = RedirectConfig::new(self.directory()?);
        for (aor, to) in &self.moved {
            cfg = cfg.with_moved(aor, to).map_err(|e| Error::Config {
                source_name: "<config>".into(),
                message: format!("moved {aor:?}: {e}"),
            })?;
        }
        Ok(cfg)
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        let local = |t| TransportAddr::new(t, ([127, 0, 0, 1], 5060).into());
        Self {
            listen: vec![local(Transport::Udp), local(Transport::Tcp)],
            db: Self::DEFAULT_DB.to_owned(),
            db_sync: crate::DbSync::default(),
            domains: Vec::new(),
            max_message_size: 65_535,
            registrar: RegistrarSection::default(),
            transaction: TransactionSection::default(),
            users: UsersSection::default(),
            moved: BTreeMap::new(),
            auth: crate::auth::AuthSection::default(),
            workers: None,
            metrics: None,
            node_id: None,
        }
    }
}

impl RegistrarSection {
    /// The expiration given when a REGISTER names none: the configured
    /// value, else 3600 or `max_expires` if that is lower (so that setting
    /// only `max_expires = 600` works).
    pub fn default_expires(&self) -> u32 {
        self.default_expires.unwrap_or_else(|| {
            RegistrarConfig::default()
                .default_expires
                .min(self.max_expires)
        })
    }
}

impl Default for RegistrarSection {
    fn default() -> Self {
        let r = RegistrarConfig::default();
        Self {
            min_expires: r.min_expires,
            max_expires: r.max_expires,
            default_expires: None,
        }
    }
}

impl TransactionSection {
    /// T1 as a duration.
    pub fn t1(&self) -> Duration {
        Duration::from_millis(self.t1_ms)
    }

    /// T2 as a duration.
    pub fn t2(&self) -> Duration {
        Duration::from_millis(self.t2_ms)
    }

    /// T4 as a duration.
    pub fn t4(&self) -> Duration {
        Duration::from_millis(self.t4_ms)
    }
}

impl Default for TransactionSection {
    /// RFC 3261 §17.1.1.1: T1 = 500 ms, T2 = 4 s; Table 4: T4 = 5 s.
    fn default() -> Self {
        Self {
            t1_ms: 500,
            t2_ms: 4000,
            t4_ms: 5000,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_text_is_the_default() {
        assert_eq!(
            ServerConfig::from_toml("").unwrap(),
            ServerConfig::default()
        );
        ServerConfig::default().validate().unwrap();
    }

    #[test]
    fn default_round_trips_through_toml() {
        let text = toml::to_string(&ServerConfig::default()).unwrap();
        assert_eq!(
            ServerConfig::from_toml(&text).unwrap(),
            ServerConfig::default()
        );
    }
}
