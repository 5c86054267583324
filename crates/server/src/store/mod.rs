//! The location service (RFC 3261 §10.2, §10.3): one trait, three stores.

use std::fmt;

use crate::binding::{apply_changes, Binding, Change, Plan};
use crate::error::Result;
use crate::time::UnixMs;

mod memory;
mod redis;
mod sqlite;
mod version_cache;

pub(crate) use self::redis::{Conn as RedisConn, Retry as RedisRetry};
pub use self::redis::{RedisOptions, RedisStore};
pub use memory::MemoryStore;
pub use sqlite::{DbSync, SqliteStore};

/// Live bindings and the AORs that hold them, at some `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    /// Bindings not yet expired.
    pub bindings: usize,
    /// Addresses-of-record with at least one such binding.
    pub aors: usize,
}

/// What one [`LocationService::purge_step`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PurgeProgress {
    /// Bindings removed by this step.
    pub purged: usize,
    /// AORs this step looked at (0 when the store does not count them).
    pub visited: usize,
    /// True when this step finished a round over the whole store: the next
    /// step starts a new one.
    pub round_done: bool,
}

/// The location service: "an abstract database ... of bindings of
/// address-of-record keys to zero or more contact addresses" (RFC 3261
/// §10.2, §10.3), written by the registrar and read by the redirect server.
///
/// Keys are canonical AORs ([`crate::canonical_aor`]); within an AOR a
/// binding is identified by its contact in comparison form
/// ([`crate::contact_key`]). Time is always passed in: a binding is live
/// while `now < expires_at`, and an expired one is never returned, whether
/// or not [`LocationService::purge_expired`] has removed it yet.
///
/// Methods take `&self`: stores lock inside, so one store can be shared by
/// every task of a server (`Arc<dyn LocationService>`).
pub trait LocationService: Send + Sync + fmt::Debug {
    /// The AOR's live bindings at `now`, in reply order
    /// ([`crate::reply_order`]: highest q first, then most recently
    /// registered, then by contact). The hot path of the redirect server.
    fn lookup(&self, aor: &str, now: UnixMs) -> Result<Vec<Binding>>;

    /// Starts a group commit: until [`LocationService::end_batch`], each
    /// [`LocationService::update`] stays atomic on its own, but becomes
    /// durable only when the batch ends. A server that handles several
    /// REGISTERs in one turn commits them together and must send none of
    /// their 200s before `end_batch` returns `Ok`. A store without durable
    /// commits ignores batches.
    fn begin_batch(&self) -> Result<()> {
        Ok(())
    }

    /// Ends a group commit (see [`LocationService::begin_batch`]): every
    /// update since is durable when this returns `Ok`. On `Err` none of
    /// them is, and none may be acknowledged.
    fn end_batch(&self) -> Result<()> {
        Ok(())
    }

    /// What a 302 lists for the AOR at `now`: its live contacts in reply
    /// order with q and remaining expires. The same as mapping
    /// [`LocationService::lookup`] through [`Binding::reply`]; a store may
    /// do it without copying whole bindings.
    fn lookup_replies(&self, aor: &str, now: UnixMs) -> Result<Vec<crate::ContactReply>> {
        Ok(self
            .lookup(aor, now)?
            .iter()
            .map(|b| b.reply(now))
            .collect())
    }

    /// Reads the AOR's live bindings, lets `decide` choose the changes and
    /// applies them, all in one transaction: other writers see all of them
    /// or none, and nothing can change the AOR between the read and the
    /// write (RFC 3261 §10.3: "binding updates MUST be committed ... if and
    /// only if all binding updates and additions succeed"). Returns the live
    /// bindings after the transaction, in reply order; on [`Plan::Abort`]
    /// nothing is written and the bindings as read are returned.
    ///
    /// A durable store has made the changes durable when this returns `Ok`.
    fn update(
        &self,
        aor: &str,
        now: UnixMs,
        decide: &mut dyn FnMut(&[Binding]) -> Plan,
    ) -> Result<Vec<Binding>>;

    /// Applies `changes` atomically; [`LocationService::update`] without a
    /// decision.
    fn apply(&self, aor: &str, now: UnixMs, changes: &[Change]) -> Result<Vec<Binding>> {
        self.update(aor, now, &mut |_| Plan::Commit(changes.to_vec()))
    }

    /// Removes every binding of the AOR; returns how many rows went,
    /// expired ones included. The AOR stays known.
    fn remove_all(&self, aor: &str) -> Result<usize>;

    /// Removes every binding expired at `now` (`expires_at <= now`); returns
    /// how many. AORs stay known.
    fn purge_expired(&self, now: UnixMs) -> Result<usize>;

    /// One bounded step of a purge round: removes bindings expired at `now`
    /// from at most about `budget` AORs, resuming where the previous step
    /// stopped, so a server can sweep a large store without stalling its
    /// event loop. The default is one whole [`LocationService::purge_expired`]
    /// per step, always completing the round (right for stores whose purge
    /// is one indexed delete or an in-memory sweep).
    fn purge_step(&self, now: UnixMs, budget: usize) -> Result<PurgeProgress> {
        let _ = budget;
        Ok(PurgeProgress {
            purged: self.purge_expired(now)?,
            visited: 0,
            round_done: true,
        })
    }

    /// Live bindings and AORs with a live binding at `now`.
    fn count(&self, now: UnixMs) -> Result<Counts>;

    /// Whether the AOR has ever held a binding in this store (live, expired
    /// or removed). The redirect server answers such an AOR 480 rather than
    /// 404 when it has no live binding.
    fn is_known(&self, aor: &str) -> Result<bool>;
}

/// Opens the store `db` names: `:memory:` is a [`MemoryStore`], a
/// `redis://HOST:PORT/DB` URL (or `rediss://`, `redis+unix://`, or
/// `redis+cluster://HOST:PORT,HOST:PORT` for a Redis Cluster) a
/// [`RedisStore`], anything else the path of a [`SqliteStore`] file (created
/// if missing).
///
/// # Errors
/// Whatever [`SqliteStore::open`] or [`RedisStore::open`] returns.
pub fn open_store(db: &str) -> Result<Box<dyn LocationService>> {
    open_store_with(db, DbSync::Full)
}

/// Like [`open_store`], with the durability of SQLite commits.
///
/// # Errors
/// As [`SqliteStore::open`] and [`RedisStore::open`].
pub fn open_store_with(db: &str, sync: DbSync) -> Result<Box<dyn LocationService>> {
    if db == ":memory:" {
        Ok(Box::new(MemoryStore::new()))
    } else if is_redis_url(db) {
        Ok(Box::new(RedisStore::open(db)?))
    } else {
        Ok(Box::new(SqliteStore::open_with(db, sync)?))
    }
}

/// Whether `db` names a Redis server rather than a SQLite file.
pub fn is_redis_url(db: &str) -> bool {
    [
        "redis://",
        "rediss://",
        "redis+unix://",
        self::redis::CLUSTER_SCHEME,
    ]
    .iter()
    .any(|scheme| db.starts_with(scheme))
}

/// `db` as it may be printed or logged: a Redis URL's password hidden.
pub fn db_for_display(db: &str) -> String {
    if is_redis_url(db) {
        self::redis::redact(db)
    } else {
        db.to_owned()
    }
}

/// Keeps the live bindings, then applies the plan's changes; shared so that
/// both stores return the same thing.
pub(crate) fn after_state(
    mut current: Vec<Binding>,
    changes: &[Change],
    now: UnixMs,
) -> Vec<Binding> {
    apply_changes(&mut current, changes, now);
    current
}
