//! Where users, the nonce secret and bans are kept, so that `sipkit user`
//! and `sipkit ban` can change them while `sipkit serve` runs and every node
//! sharing the store shares them: the SQLite file of the location service
//! ([`AuthDb`]) or its Redis ([`RedisAuthDb`]). [`crate::auth::Guard`]
//! reads and writes it every two seconds.

use std::fmt;

use super::bans::{Ban, BanTarget};
use super::db::AuthDb;
use super::redis_db::RedisAuthDb;
use super::users::UserRecord;
use crate::error::Result;
use crate::store::is_redis_url;
use crate::time::UnixMs;

/// The authentication data of one deployment: users (RFC 7616 §3.4.2 HA1s,
/// never passwords), the HMAC secret of the nonces, and bans.
///
/// Every method is one atomic step on the shared store, so several nodes
/// and the command line may call them at the same time.
pub trait AuthStore: Send + fmt::Debug {
    /// A number that changes whenever a user is added, changed or removed
    /// (0 before the first).
    ///
    /// # Errors
    /// The store's error ([`crate::Error::Sqlite`], [`crate::Error::Redis`],
    /// [`crate::Error::RedisUnavailable`]).
    fn users_version(&self) -> Result<i64>;

    /// Adds or replaces a user; true when it replaced one.
    ///
    /// # Errors
    /// The store's error.
    fn put_user(&self, u: &UserRecord, now: UnixMs) -> Result<bool>;

    /// One user.
    ///
    /// # Errors
    /// The store's error, or [`crate::Error::Corrupt`] for a record that
    /// does not read back.
    fn user(&self, name: &str) -> Result<Option<UserRecord>>;

    /// Removes a user; whether there was one.
    ///
    /// # Errors
    /// The store's error.
    fn remove_user(&self, name: &str) -> Result<bool>;

    /// Every user, by name.
    ///
    /// # Errors
    /// The store's error, or [`crate::Error::Corrupt`].
    fn users(&self) -> Result<Vec<UserRecord>>;

    /// The nonce secret; `fresh` (random bytes from the caller) is stored
    /// and returned when there is none yet, so every node sharing the store
    /// adopts the first one's secret and accepts the others' nonces.
    ///
    /// # Errors
    /// The store's error, or [`crate::Error::Corrupt`] for a stored secret
    /// that is not hex.
    fn secret_or_insert(&self, fresh: &[u8]) -> Result<Vec<u8>>;

    /// Adds or replaces a ban (a longer or a shorter one: the last write
    /// wins).
    ///
    /// # Errors
    /// The store's error.
    fn put_ban(&self, b: &Ban) -> Result<()>;

    /// Lifts a ban; whether there was one.
    ///
    /// # Errors
    /// The store's error.
    fn remove_ban(&self, target: &BanTarget) -> Result<bool>;

    /// Removes the bans over at `now`; how many.
    ///
    /// # Errors
    /// The store's error.
    fn purge_bans(&self, now: UnixMs) -> Result<usize>;

    /// The bans in force at `now` (`now < until`), sorted by kind and target.
    ///
    /// # Errors
    /// The store's error, or [`crate::Error::Corrupt`] for a ban that does
    /// not read back.
    fn bans(&self, now: UnixMs) -> Result<Vec<Ban>>;
}

/// Opens the authentication store beside the location service `db` names
/// (as [`crate::open_store`] reads it): `None` for `:memory:` (users then
/// come from the configuration only), a [`RedisAuthDb`] for a Redis URL, an
/// [`AuthDb`] in the SQLite file otherwise.
///
/// # Errors
/// Whatever [`AuthDb::open`] or [`RedisAuthDb::open`] returns.
pub fn open_auth_store(db: &str) -> Result<Option<Box<dyn AuthStore>>> {
    Ok(if db == ":memory:" {
        None
    } else if is_redis_url(db) {
        Some(Box::new(RedisAuthDb::open(db)?))
    } else {
        Some(Box::new(AuthDb::open(db)?))
    })
}
