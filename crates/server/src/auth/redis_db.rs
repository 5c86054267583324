//! The authentication data in the Redis of the location service
//! ([`crate::RedisStore`]): users (HA1s, never passwords), the nonce secret
//! and the bans, so that `sipkit user --db redis://…` and `sipkit ban --db
//! redis://…` change them while `sipkit serve` runs, and every node on that
//! Redis shares them (a nonce issued by one node is accepted by another; a
//! ban decided by one node is enforced by all).
//!
//! Same URLs as the location store (`redis://`, `rediss://`,
//! `redis+unix://`, `redis+cluster://`), same connection code: one
//! [`crate::RedisStore`] connection with its timeouts, reconnection and
//! backoff ([`crate::RedisOptions`]).
//!
//! # Data layout (Redis ≥ 7.0, Redis Cluster safe)
//!
//! Five keys, all with the hash tag `{auth}` so they live in one Cluster
//! slot and each script below touches one slot only (`sk:` is the default
//! [`crate::RedisOptions::prefix`]; a location key's tag is a canonical
//! AOR, which always has a scheme, so never `auth`):
//!
//! | key | type | holds |
//! |---|---|---|
//! | `sk:{auth}:users` | HASH | field = user name, value = JSON `{"realm", "ha1_md5", "ha1_sha256", "ha1_sha512_256", "updated_ms"}` |
//! | `sk:{auth}:users_version` | STRING | a counter bumped by every user change (it starts at Redis's clock in µs, so a Redis emptied and refilled does not repeat a number a node saw) |
//! | `sk:{auth}:secret` | STRING | the nonce HMAC secret, hex; set once with `SET NX GET`, so every node adopts the first one's |
//! | `sk:{auth}:bans` | HASH | field = `source:IP` or `user:NAME`, value = JSON `{"until_ms", "reason"}` |
//! | `sk:{auth}:ban_expiry` | ZSET | the same fields scored by `until_ms` (Unix ms) |
//!
//! None has a TTL. A ban is in force while `now < until_ms` (`now` of the
//! node that reads it): a read takes only ZSET members scored above `now`,
//! so an expired ban is never enforced whether or not it was purged yet;
//! every node's guard purges expired ones every two seconds (one script).
//! A user write and its version bump are one script, as are a ban's two
//! keys.
//!
//! # Commands
//!
//! `sipkit serve` synchronises every two seconds ([`crate::auth::Guard`]):
//! one GET of the version (and one HGETALL when it moved), one purge
//! script, one read script for the bans, plus one write per ban it decided
//! itself. Nothing is read per request: a request is judged on the copy
//! held in memory, so when Redis is unreachable authentication goes on with
//! the last users, secret and bans read, and the location service answers
//! 500 with Retry-After.

use std::fmt;

use redis::Script;
use serde::{Deserialize, Serialize};

use super::bans::{Ban, BanTarget};
use super::db::unhex;
use super::store::AuthStore;
use super::users::UserRecord;
use crate::error::{Error, Result};
use crate::store::{RedisConn, RedisRetry, RedisStore};
use crate::time::UnixMs;

/// Creates the version counter at Redis's clock in µs when missing, then
/// bumps it. KEYS[2] is the counter.
const BUMP: &str = "
if redis.call('EXISTS', KEYS[2]) == 0 then
  local t = redis.call('TIME')
  redis.call('SET', KEYS[2], t[1] .. string.sub('000000' .. t[2], -6))
end
redis.call('INCR', KEYS[2])
";

/// KEYS: users, version. ARGV: name, record. Returns 1 when it replaced one.
const PUT_USER: &str = "
local existed = redis.call('HEXISTS', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
#BUMP
return existed
";

/// KEYS: users, version. ARGV: name. Returns 1 when there was one.
const REMOVE_USER: &str = "
local n = redis.call('HDEL', KEYS[1], ARGV[1])
if n > 0 then
#BUMP
end
return n
";

/// KEYS: bans, ban_expiry. ARGV: field, until_ms, record.
const PUT_BAN: &str = "
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
return 1
";

/// KEYS: bans, ban_expiry. ARGV: field. Returns 1 when there was one.
const REMOVE_BAN: &str = "
redis.call('ZREM', KEYS[2], ARGV[1])
return redis.call('HDEL', KEYS[1], ARGV[1])
";

/// KEYS: bans, ban_expiry. ARGV: now. Returns how many went.
const PURGE_BANS: &str = "
local dead = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
for i = 1, #dead do redis.call('HDEL', KEYS[1], dead[i]) end
if #dead > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[1]) end
return #dead
";

/// Read-only. KEYS: bans, ban_expiry. ARGV: now. Returns field, record,
/// field, record … of the bans in force.
const READ_BANS: &str = r"#!lua flags=no-writes
local live = redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. ARGV[1], '+inf')
local out = {}
for i = 1, #live do
  local v = redis.call('HGET', KEYS[1], live[i])
  if v then
    out[#out + 1] = live[i]
    out[#out + 1] = v
  end
end
return out
";

/// One user as stored in the users hash (the name is the field).
#[derive(Serialize, Deserialize)]
struct UserValue {
    realm: String,
    ha1_md5: String,
    ha1_sha256: String,
    ha1_sha512_256: String,
    #[serde(default)]
    updated_ms: u64,
}

/// One ban as stored in the bans hash (the target is the field).
#[derive(Serialize, Deserialize)]
struct BanValue {
    until_ms: u64,
    reason: String,
}

/// The keys, under the store's prefix.
struct Keys {
    users: String,
    version: String,
    secret: String,
    bans: String,
    expiry: String,
}

impl Keys {
    fn of(prefix: &str) -> Keys {
        Keys {
            users: format!("{prefix}{{auth}}:users"),
            version: format!("{prefix}{{auth}}:users_version"),
            secret: format!("{prefix}{{auth}}:secret"),
            bans: format!("{prefix}{{auth}}:bans"),
            expiry: format!("{prefix}{{auth}}:ban_expiry"),
        }
    }
}

/// Users, the nonce secret and bans in Redis (see the module docs for the
/// layout); the [`AuthStore`] of `--db redis://…`.
pub struct RedisAuthDb {
    redis: RedisStore,
    keys: Keys,
    put_user: Script,
    remove_user: Script,
    put_ban: Script,
    remove_ban: Script,
    purge_bans: Script,
    read_bans: Script,
}

impl RedisAuthDb {
    /// Connects to the Redis (or Redis Cluster) of `url`, as
    /// [`RedisStore::open`] does, and checks that it answers.
    ///
    /// # Errors
    /// As [`RedisStore::open`].
    pub fn open(url: &str) -> Result<RedisAuthDb> {
        Self::on(RedisStore::open(url)?)
    }

    /// The authentication data in the Redis that `redis` is connected to,
    /// under its key prefix ([`crate::RedisOptions::prefix`]), over its
    /// connection.
    ///
    /// # Errors
    /// None yet; reserved for a check of the server.
    pub fn on(redis: RedisStore) -> Result<RedisAuthDb> {
        let keys = Keys::of(redis.prefix());
        let bump = |s: &str| s.replace("#BUMP", BUMP);
        Ok(RedisAuthDb {
            redis,
            keys,
            put_user: Script::new(&bump(PUT_USER)),
            remove_user: Script::new(&bump(REMOVE_USER)),
            put_ban: Script::new(PUT_BAN),
            remove_ban: Script::new(REMOVE_BAN),
            purge_bans: Script::new(PURGE_BANS),
            read_bans: Script::new(READ_BANS),
        })
    }

    /// The URL, password hidden.
    pub fn url(&self) -> &str {
        self.redis.url()
    }

    fn read<T>(
        &self,
        now: Option<UnixMs>,
        f: impl FnMut(&mut RedisConn) -> redis::RedisResult<T>,
    ) -> Result<T> {
        self.redis.with_conn(now, RedisRetry::Once, f)
    }

    fn write<T>(
        &self,
        now: Option<UnixMs>,
        f: impl FnMut(&mut RedisConn) -> redis::RedisResult<T>,
    ) -> Result<T> {
        self.redis.with_conn(now, RedisRetry::Never, f)
    }
}

impl fmt::Debug for RedisAuthDb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisAuthDb")
            .field("url", &self.redis.url())
            .finish_non_exhaustive()
    }
}

fn user_from(name: String, value: &str) -> Result<UserRecord> {
    let v: UserValue = serde_json::from_str(value).map_err(|_| Error::Corrupt {
        what: "auth user record",
        value: value.to_owned(),
    })?;
    Ok(UserRecord {
        name,
        realm: v.realm,
        ha1_md5: v.ha1_md5,
        ha1_sha256: v.ha1_sha256,
        ha1_sha512_256: v.ha1_sha512_256,
    })
}

/// The hash field of a ban: `source:IP` or `user:NAME`.
fn ban_field(t: &BanTarget) -> String {
    format!("{}:{}", t.kind(), t.value())
}

fn ban_from(field: &str, value: &str) -> Result<Ban> {
    let corrupt = |what, value: &str| Error::Corrupt {
        what,
        value: value.to_owned(),
    };
    let target = field
        .split_once(':')
        .and_then(|(kind, v)| BanTarget::from_parts(kind, v))
        .ok_or_else(|| corrupt("auth ban target", field))?;
    let v: BanValue = serde_json::from_str(value).map_err(|_| corrupt("auth ban record", value))?;
    Ok(Ban {
        target,
        until: UnixMs::from_millis(v.until_ms),
        reason: v.reason,
    })
}

impl AuthStore for RedisAuthDb {
    fn users_version(&self) -> Result<i64> {
        let v: Option<i64> = self.read(None, |c| {
            redis::cmd("GET").arg(&self.keys.version).query(c.like())
        })?;
        Ok(v.unwrap_or(0))
    }

    fn put_user(&self, u: &UserRecord, now: UnixMs) -> Result<bool> {
        let value = serde_json::to_string(&UserValue {
            realm: u.realm.clone(),
            ha1_md5: u.ha1_md5.clone(),
            ha1_sha256: u.ha1_sha256.clone(),
            ha1_sha512_256: u.ha1_sha512_256.clone(),
            updated_ms: now.as_millis(),
        })
        .map_err(|e| Error::Corrupt {
            what: "auth user record",
            value: e.to_string(),
        })?;
        let replaced: i64 = self.write(Some(now), |c| {
            self.put_user
                .key(&self.keys.users)
                .key(&self.keys.version)
                .arg(&u.name)
                .arg(&value)
                .invoke(c.like())
        })?;
        Ok(replaced == 1)
    }

    fn user(&self, name: &str) -> Result<Option<UserRecord>> {
        let v: Option<String> = self.read(None, |c| {
            redis::cmd("HGET")
                .arg(&self.keys.users)
                .arg(name)
                .query(c.like())
        })?;
        v.map(|v| user_from(name.to_owned(), &v)).transpose()
    }

    fn remove_user(&self, name: &str) -> Result<bool> {
        let n: i64 = self.write(None, |c| {
            self.remove_user
                .key(&self.keys.users)
                .key(&self.keys.version)
                .arg(name)
                .invoke(c.like())
        })?;
        Ok(n > 0)
    }

    fn users(&self) -> Result<Vec<UserRecord>> {
        let all: Vec<(String, String)> = self.read(None, |c| {
            redis::cmd("HGETALL").arg(&self.keys.users).query(c.like())
        })?;
        let mut users = all
            .into_iter()
            .map(|(name, v)| user_from(name, &v))
            .collect::<Result<Vec<_>>>()?;
        users.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(users)
    }

    fn secret_or_insert(&self, fresh: &[u8]) -> Result<Vec<u8>> {
        let hex = sipkit_digest::to_hex(fresh);
        // SET NX GET (Redis 7.0): nil when ours was stored, else the one
        // already there, which is left as it is.
        let old: Option<String> = self.write(None, |c| {
            redis::cmd("SET")
                .arg(&self.keys.secret)
                .arg(&hex)
                .arg("NX")
                .arg("GET")
                .query(c.like())
        })?;
        match old {
            None => Ok(fresh.to_vec()),
            Some(old) => unhex(&old).ok_or(Error::Corrupt {
                what: "auth nonce secret",
                value: old,
            }),
        }
    }

    fn put_ban(&self, b: &Ban) -> Result<()> {
        let value = serde_json::to_string(&BanValue {
            until_ms: b.until.as_millis(),
            reason: b.reason.clone(),
        })
        .map_err(|e| Error::Corrupt {
            what: "auth ban record",
            value: e.to_string(),
        })?;
        let field = ban_field(&b.target);
        let _: i64 = self.write(None, |c| {
            self.put_ban
                .key(&self.keys.bans)
                .key(&self.keys.expiry)
                .arg(&field)
                .arg(b.until.as_millis())
                .arg(&value)
                .invoke(c.like())
        })?;
        Ok(())
    }

    fn remove_ban(&self, target: &BanTarget) -> Result<bool> {
        let field = ban_field(target);
        let n: i64 = self.write(None, |c| {
            self.remove_ban
                .key(&self.keys.bans)
                .key(&self.keys.expiry)
                .arg(&field)
                .invoke(c.like())
        })?;
        Ok(n > 0)
    }

    fn purge_bans(&self, now: UnixMs) -> Result<usize> {
        self.write(Some(now), |c| {
            self.purge_bans
                .key(&self.keys.bans)
                .key(&self.keys.expiry)
                .arg(now.as_millis())
                .invoke(c.like())
        })
    }

    fn bans(&self, now: UnixMs) -> Result<Vec<Ban>> {
        let raw: Vec<(String, String)> = self.read(Some(now), |c| {
            self.read_bans
                .key(&self.keys.bans)
                .key(&self.keys.expiry)
                .arg(now.as_millis())
                .invoke(c.like())
        })?;
        let mut bans = raw
            .iter()
            .map(|(f, v)| ban_from(f, v))
            .collect::<Result<Vec<_>>>()?;
        bans.sort_by(|a, b| a.target.cmp(&b.target));
        Ok(bans)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_has_the_auth_hash_tag() {
        let k = Keys::of("sk:");
        for key in [&k.users, &k.version, &k.secret, &k.bans, &k.expiry] {
            assert!(key.starts_with("sk:{auth}:"), "{key}");
        }
    }

    #[test]
    fn ban_fields_read_back_and_bad_ones_are_corrupt() {
        for t in [
            BanTarget::Source("2001:db8::7".parse().unwrap()),
            BanTarget::Source("192.0.2.7".parse().unwrap()),
            BanTarget::User("al:ice".into()),
        ] {
            let b = ban_from(&ban_field(&t), r#"{"until_ms":5,"reason":"manual"}"#).unwrap();
            assert_eq!(b.target, t);
            assert_eq!(b.until, UnixMs::from_millis(5));
        }
        assert!(matches!(
            ban_from("source:not-an-ip", r#"{"until_ms":5,"reason":"x"}"#),
            Err(Error::Corrupt { .. })
        ));
        assert!(matches!(
            ban_from("user:x", "{"),
            Err(Error::Corrupt { .. })
        ));
        assert!(matches!(
            user_from("x".into(), "[]"),
            Err(Error::Corrupt { .. })
        ));
    }
}
