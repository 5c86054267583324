//! The authentication tables in the location database's SQLite file:
//! users (HA1s, never passwords), the nonce secret, and the bans, so that
//! `sipkit user` and `sipkit ban` can change them while `sipkit serve`
//! runs, and every node sharing the file shares users and secret.
//!
//! [`AuthStore`] documents each operation; [`super::RedisAuthDb`] is the
//! same for a Redis location service.
//!
//! The tables live beside the location service's and are created with
//! `IF NOT EXISTS`, outside its schema versioning.

use std::path::Path;
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension};

use super::bans::{Ban, BanTarget};
use super::store::AuthStore;
use super::users::UserRecord;
use crate::error::{Error, Result};
use crate::time::UnixMs;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS auth_users (
    name           TEXT    NOT NULL PRIMARY KEY,
    realm          TEXT    NOT NULL,
    ha1_md5        TEXT    NOT NULL,
    ha1_sha256     TEXT    NOT NULL,
    ha1_sha512_256 TEXT    NOT NULL,
    updated_ms     INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS auth_meta (
    key   TEXT NOT NULL PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS auth_bans (
    kind     TEXT    NOT NULL,
    target   TEXT    NOT NULL,
    until_ms INTEGER NOT NULL,
    reason   TEXT    NOT NULL,
    PRIMARY KEY (kind, target)
) WITHOUT ROWID;
";

/// The authentication tables of one database file.
#[derive(Debug)]
pub struct AuthDb {
    conn: Connection,
}

impl AuthDb {
    /// Opens (creating if needed) the file and its authentication tables.
    ///
    /// # Errors
    /// [`Error::Sqlite`] when the file cannot be opened or written.
    pub fn open(path: impl AsRef<Path>) -> Result<AuthDb> {
        let conn = Connection::open(path.as_ref())?;
        conn.busy_timeout(Duration::from_secs(5))?;
        let _: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
        conn.execute_batch(SCHEMA)?;
        Ok(AuthDb { conn })
    }

    fn bump_users_version(&self) -> Result<()> {
        self.conn.execute(
            "INSERT INTO auth_meta (key, value) VALUES ('users_version', '1')
             ON CONFLICT (key) DO UPDATE SET value = CAST(value AS INTEGER) + 1",
            [],
        )?;
        Ok(())
    }
}

impl AuthStore for AuthDb {
    fn users_version(&self) -> Result<i64> {
        let v: Option<String> = self
            .conn
            .query_row(
                "SELECT value FROM auth_meta WHERE key = 'users_version'",
                [],
                |r| r.get(0),
            )
            .optional()?;
        Ok(v.and_then(|v| v.parse().ok()).unwrap_or(0))
    }

    fn put_user(&self, u: &UserRecord, now: UnixMs) -> Result<bool> {
        let existed = self.user(&u.name)?.is_some();
        self.conn.execute(
            "INSERT OR REPLACE INTO auth_users
             (name, realm, ha1_md5, ha1_sha256, ha1_sha512_256, updated_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                u.name,
                u.realm,
                u.ha1_md5,
                u.ha1_sha256,
                u.ha1_sha512_256,
                i64::try_from(now.as_millis()).unwrap_or(i64::MAX)
            ],
        )?;
        self.bump_users_version()?;
        Ok(existed)
    }

    fn user(&self, name: &str) -> Result<Option<UserRecord>> {
        Ok(self
            .conn
            .query_row(
                "SELECT name, realm, ha1_md5, ha1_sha256, ha1_sha512_256 FROM auth_users WHERE name = ?1",
                [name],
                |r| {
                    Ok(UserRecord {
                        name: r.get(0)?,
                        realm: r.get(1)?,
                        ha1_md5: r.get(2)?,
                        ha1_sha256: r.get(3)?,
                        ha1_sha512_256: r.get(4)?,
                    })
                },
            )
            .optional()?)
    }

    fn remove_user(&self, name: &str) -> Result<bool> {
        let n = self
            .conn
            .execute("DELETE FROM auth_users WHERE name = ?1", [name])?;
        self.bump_users_version()?;
        Ok(n > 0)
    }

    fn users(&self) -> Result<Vec<UserRecord>> {
        let mut st = self.conn.prepare(
            "SELECT name, realm, ha1_md5, ha1_sha256, ha1_sha512_256 FROM auth_users ORDER BY name",
        )?;
        let rows = st.query_map([], |r| {
            Ok(UserRecord {
                name: r.get(0)?,
                realm: r.get(1)?,
                ha1_md5: r.get(2)?,
                ha1_sha256: r.get(3)?,
                ha1_sha512_256: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    fn secret_or_insert(&self, fresh: &[u8]) -> Result<Vec<u8>> {
        self.conn.execute(
            "INSERT OR IGNORE INTO auth_meta (key, value) VALUES ('nonce_secret', ?1)",
            [sipkit_digest::to_hex(fresh)],
        )?;
        let hex: String = self.conn.query_row(
            "SELECT value FROM auth_meta WHERE key = 'nonce_secret'",
            [],
            |r| r.get(0),
        )?;
        unhex(&hex).ok_or(Error::Corrupt {
            what: "auth_meta.nonce_secret",
            value: hex,
        })
    }

    fn put_ban(&self, b: &Ban) -> Result<()> {
        self.conn.execute(
            "INSERT OR REPLACE INTO auth_bans (kind, target, until_ms, reason) VALUES (?1, ?2, ?3, ?4)",
            params![
                b.target.kind(),
                b.target.value(),
                i64::try_from(b.until.as_millis()).unwrap_or(i64::MAX),
                b.reason
            ],
        )?;
        Ok(())
    }

    fn remove_ban(&self, target: &BanTarget) -> Result<bool> {
        let n = self.conn.execute(
            "DELETE FROM auth_bans WHERE kind = ?1 AND target = ?2",
            params![target.kind(), target.value()],
        )?;
        Ok(n > 0)
    }

    fn purge_bans(&self, now: UnixMs) -> Result<usize> {
        Ok(self.conn.execute(
            "DELETE FROM auth_bans WHERE until_ms <= ?1",
            [i64::try_from(now.as_millis()).unwrap_or(i64::MAX)],
        )?)
    }

    fn bans(&self, now: UnixMs) -> Result<Vec<Ban>> {
        let mut st = self.conn.prepare(
            "SELECT kind, target, until_ms, reason FROM auth_bans WHERE until_ms > ?1 ORDER BY kind, target",
        )?;
        let rows = st.query_map([i64::try_from(now.as_millis()).unwrap_or(i64::MAX)], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, String>(3)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (kind, target, until, reason) = row?;
            let target = BanTarget::from_parts(&kind, &target).ok_or(Error::Corrupt {
                what: "auth_bans.target",
                value: format!("{kind} {target}"),
            })?;
            out.push(Ban {
                target,
                until: UnixMs::from_millis(u64::try_from(until).unwrap_or(0)),
                reason,
            });
        }
        // By target as Rust orders it (an IPv4 address before any IPv6 one),
        // as every store lists them.
        out.sort_by(|a, b| a.target.cmp(&b.target));
        Ok(out)
    }
}

/// Decodes hex; `None` for odd lengths or other characters.
pub(crate) fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}
