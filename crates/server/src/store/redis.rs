//! The shared location service: Redis, for several `sipkit serve` nodes.
//!
//! # URLs
//!
//! * `redis://[USER:PASSWORD@]HOST:PORT/DB` — one Redis server (or a
//!   primary behind a virtual IP); `rediss://` the same over TLS (the
//!   system's OpenSSL: the server's certificate must be trusted by it, e.g.
//!   through `SSL_CERT_FILE`; a `#insecure` suffix skips verification, for
//!   tests only); `redis+unix:///PATH?db=N` over a Unix socket.
//! * `redis+cluster://[USER:PASSWORD@]HOST:PORT[,HOST:PORT…]` — a Redis
//!   Cluster, given by seed nodes (database 0, the only one a cluster has),
//!   in plain TCP (no TLS to a cluster yet). Requests follow MOVED/ASK
//!   redirections; the AOR's keys share one slot.
//!
//! # Data layout (Redis ≥ 7.0, Redis Cluster safe)
//!
//! Three keys per address-of-record, all with the AOR as their hash tag so
//! they live in one Cluster slot and one script can touch all of them (`sk:`
//! is the default [`RedisOptions::prefix`]):
//!
//! | key | type | holds | expiry |
//! |---|---|---|---|
//! | `sk:{AOR}:b` | HASH | field = binding key ([`crate::contact_key`]), value = the whole [`Binding`] as JSON | key TTL |
//! | `sk:{AOR}:x` | ZSET | binding key scored by `expires_at` (Unix ms) | key TTL |
//! | `sk:{AOR}:m` | HASH | `v` = version, a new token at every write; `since` = first binding (ms) | none |
//!
//! The record holds every field [`Binding`] has: contact, q, `expires_at`,
//! `updated_at`, Call-ID, CSeq, the source transport address (what
//! `received` and the transport were), `+sip.instance` and `reg-id`. Path,
//! the owner node and connection, and User-Agent are not fields of
//! [`Binding`] yet; the record is JSON by field name and readers ignore
//! fields they do not know, so they can be added without a migration and
//! nodes of two versions can share one Redis.
//!
//! A binding is live while `now < expires_at`; every read takes only ZSET
//! members scored above `now`, so an expired binding is never returned
//! whether or not it was trimmed yet. Every write trims the AOR's expired
//! members and sets the TTL of `:b` and `:x` to the latest expiry plus
//! [`RedisStore::KEY_GRACE_MS`] (relative to the caller's `now`, so it also holds when
//! Redis's clock and the node's differ by less than the grace), and deletes
//! both keys when no binding is left: an AOR whose bindings all expired
//! vanishes by itself and no sweeper is needed for correctness.
//! [`LocationService::purge_expired`] (and [`LocationService::purge_step`])
//! is only housekeeping. Redis 7.0 has no per-field expiry (HPEXPIRE is
//! 7.4), hence the ZSET. `:m` has no TTL: it is the "known" mark (404 vs
//! 480, as the SQLite store's `aors` table) and holds the version.
//!
//! The version is a token the writing store draws for each write (a keyed
//! hash of a counter, 61 random-looking bits, an integer in [2^61, 2^62)),
//! not a counter: after Redis loses acknowledged writes (an AOF restart, a
//! replica promoted) a counter would reach a value some store has cached
//! again with other bindings; a token names one write only (two writes
//! share one with probability 2^-61). An AOR without `:m` is version `0`.
//! A sipkit from before tokens bumps `v` with HINCRBY, which still works on
//! a token; while such nodes write, the guarantee is theirs (a counter).
//!
//! # Commands per request
//!
//! RFC 3261 §10.3 is decided once, in Rust ([`crate::register`]); Redis only
//! stores. Each store (one per worker) keeps, for at most
//! 65 536 AORs, the version and live bindings it last read or wrote (two
//! generations of 32 768; when the young one is full the old one is
//! dropped), and an update is an optimistic compare-and-set on that copy:
//!
//! 1. The registrar decides on the cached bindings still live at `now`, or,
//!    for an AOR not cached, on none.
//! 2. `EVALSHA apply` with the cached version (`0`, absent, when not
//!    cached) and a new token: if `v` is still that version, it trims
//!    expired members, applies the plan (HSET + ZADD, HDEL + ZREM, DEL),
//!    sets `v` to the token, sets the TTLs (PEXPIRE) and returns the token
//!    and the live records for the 200, atomically; the store caches them.
//!    Otherwise it writes nothing and returns the stored version and live
//!    records (what `EVALSHA read` returns) in the same reply; the registrar
//!    decides again on them and the store applies again (at most
//!    [`RedisStore::MAX_ATTEMPTS`] times in all).
//!
//! So a REGISTER of a new AOR, or of an AOR whose last write went through
//! the same store, is one round trip; of an AOR written elsewhere since,
//! two (one if the new decision is a rejection, which writes nothing).
//! With several workers (`--workers`), SO_REUSEPORT hands the datagrams of
//! one source address, and a TCP connection, to one worker, so a UA's
//! refreshes find that worker's copy.
//! A decision that writes nothing (a rejection such as CSeq Out Of Order)
//! made on the cached copy has nothing to compare-and-set, so it is checked
//! with one `EVALSHA read`: the same version confirms it; another one is
//! decided on again (one more apply if that decision writes). The copy is
//! only ever a guess: every write checks the version in Redis, so a stale
//! copy costs a round trip, never a wrong decision. A Redis error drops the
//! AOR's entry, a reconnect the whole cache.
//!
//! A query REGISTER and a lookup (the 302) are one `EVALSHA read` and always
//! read Redis (a binding made through another node is in the next 302);
//! a lookup also refreshes the AOR's cached copy if there is one. `is_known`
//! is one HEXISTS, `remove_all` one script. `count` and `purge_expired` SCAN
//! the `:x` keys (`COUNT 500`), pipelining a ZCOUNT or a trim script per
//! key: O(AORs) in one call, for start-up and tests. The server purges with
//! [`LocationService::purge_step`] instead: the store keeps a SCAN cursor
//! (per master in a cluster, where each step opens a connection to that
//! master) and each step is one `SCAN … COUNT 3×budget` plus one pipeline of
//! trim scripts for the `:x` keys it returned. COUNT is in hash-table
//! buckets, which hold about one key each at most, and an AOR has three
//! keys, so a step returns about `budget` `:x` keys at most (in the test,
//! budget 50: 51 on average, 65 at most) and a round takes about buckets ÷
//! (3 × budget) steps. Measured once (a debug build, one local
//! redis-server): 100 000 AORs took 194 steps of the server's budget of 500
//! (at most 569 AORs, the slowest step 16 ms), where one `purge_expired`
//! over them takes 1.4 s. The sweep is thus spread over many short steps
//! between messages (`sipkit_server::core::PURGE_STEP_BUDGET` every
//! `PURGE_STEP_EVERY`, from worker 0 only). Several nodes on one Redis each
//! sweep it; that repeats only these cheap steps.
//!
//! Why not the whole §10.3 in Lua: it would define the registrar's rules
//! twice (Rust for memory and SQLite, Lua for Redis), and the `decide`
//! closure of [`LocationService::update`] is arbitrary Rust. Deciding on a
//! cached copy and letting the script check it gives the one round trip of
//! a script-side decision in the common case (a UA refreshes through the
//! node it registered through), with one implementation of §10.3. A
//! WATCH/MULTI/EXEC transaction would cost a round trip more plus a WATCH,
//! and cannot trim in the same step.
//!
//! # Clocks
//!
//! `expires_at` is absolute wall-clock time written by the node that took the
//! REGISTER and judged by the `now` of the node that reads it, so the
//! tolerance on expiry is the clock difference between nodes: with clocks
//! within δ of each other (NTP keeps them within milliseconds), no binding
//! is returned more than δ after, or withheld more than δ before, its
//! expiry. With equal clocks expiry is exact to the millisecond (tested
//! with injected time against a single in-memory node). Redis's own clock
//! only drives the key TTLs, which outlast the bindings by
//! [`RedisStore::KEY_GRACE_MS`].
//!
//! # Connection
//!
//! One synchronous connection behind a mutex (a cluster connection, which
//! holds one connection per master, for `redis+cluster://`), like the SQLite
//! store's: the server's loop calls the store synchronously and the trait is
//! synchronous.
//! Connect, read and write are bounded by [`RedisOptions`] timeouts, so no
//! call blocks longer than a transaction can wait. Any error drops the
//! connection; the next call reconnects. After a failed connect the store
//! answers [`Error::RedisUnavailable`] at once until a backoff (100 ms,
//! doubling, at most 2 s, measured with the `now` the caller passes in)
//! has passed, so a dead Redis costs one connect attempt per backoff, not
//! one per request. Reads and applies are retried once on a fresh
//! connection when the old one turns out dead (Redis restarted): an apply
//! whose reply was lost may have been applied, and then its second run is
//! refused by the version check with the store's own token as the stored
//! version, which the store takes as success. (The cluster client itself
//! retries a command up to twice on a connection error or a redirection,
//! waiting at most 100 ms before each; the same applies.) `remove_all`
//! is never retried.
//!
//! # Durability
//!
//! A write is acknowledged when Redis has applied it in memory: what Redis
//! keeps across its own restart depends on its persistence settings
//! (`appendonly yes` with `appendfsync everysec` loses at most about a
//! second), and replication to a replica is asynchronous. A UA whose binding
//! was lost gets it back at its next refresh.
//!
//! A Cluster failover loses what the promoted replica had not received.
//! Besides the usual lag, a replica that has just finished a full sync
//! reports `master_link_status:up` while its master still holds the writes
//! made during the sync until the replica's next `REPLCONF ACK`: a master
//! killed then took every write since the sync's snapshot with it (seen in
//! 3 of 30 runs of the CLI's `a_cluster_master_killed_fails_over_to_its_replica`
//! before it waited for the replicas' offsets; BENCHMARKS.md, "Faults").
//! `WAIT` after each write would narrow this, not close it (Redis's `WAIT`
//! documentation: it "does not make Redis a strongly consistent store"),
//! for a round trip more per REGISTER and a wait, on the node's loop, for
//! the replica's acknowledgement; the store does not send it.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use redis::{Cmd, Connection, ConnectionLike, FromRedisValue, RedisResult, Script};

use crate::binding::{reply_order, Binding, Change, ConnRef, Plan, TransportAddr, Q};
use crate::error::{Error, Result};
use crate::store::version_cache::{Tokens, VersionCache, ABSENT};
use crate::store::{after_state, Counts, LocationService, PurgeProgress};
use crate::time::UnixMs;
use crate::uri::contact_key;

/// The largest `expires_at` a ZSET score holds exactly (2^53 − 1 ms, in the
/// year 287 396).
const MAX_EXACT_MS: u64 = (1 << 53) - 1;

/// SCAN page size for `count` and `purge_expired`.
const SCAN_COUNT: usize = 500;

/// The key prefix of [`RedisOptions::default`].
const DEFAULT_PREFIX: &str = "sk:";

/// Read-only: the version, then the live records. KEYS: b, x, m. ARGV: now.
const READ_SCRIPT: &str = r"#!lua flags=no-writes
local live = redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. ARGV[1], '+inf')
local out = { redis.call('HGET', KEYS[3], 'v') or '0' }
if #live > 0 then
  local vals = redis.call('HMGET', KEYS[1], unpack(live))
  for i = 1, #vals do
    if vals[i] then out[#out + 1] = vals[i] end
  end
end
return out
";

/// Compare-and-set of a plan. KEYS: b, x, m. ARGV: now, expected version,
/// key TTL in ms, new version (a token), then ops: `U key expires_at
/// record`, `R key`, `A`. When the version is not the expected one nothing
/// is written and the reply is `moved`, the current version and the live
/// records (what [`READ_SCRIPT`] returns); else `ok`, the new version and
/// the live records. Every argument is checked before the first write,
/// because Redis does not roll a failed script back.
const APPLY_SCRIPT: &str = r"
local b, x, m = KEYS[1], KEYS[2], KEYS[3]
local now = ARGV[1]
-- Appends the live records to out; returns how many keys are live.
local function live(out)
  local keys = redis.call('ZRANGEBYSCORE', x, '(' .. now, '+inf')
  if #keys > 0 then
    local vals = redis.call('HMGET', b, unpack(keys))
    for j = 1, #vals do
      if vals[j] then out[#out + 1] = vals[j] end
    end
  end
  return #keys
end
local cur = redis.call('HGET', m, 'v') or '0'
if cur ~= ARGV[2] then
  local out = { 'moved', cur }
  live(out)
  return out
end
local i = 5
while i <= #ARGV do
  local op = ARGV[i]
  if op == 'U' then i = i + 4
  elseif op == 'R' then i = i + 2
  elseif op == 'A' then i = i + 1
  else return redis.error_reply('sipkit: unknown op ' .. tostring(op)) end
end
if i ~= #ARGV + 1 then return redis.error_reply('sipkit: truncated op') end
local dead = redis.call('ZRANGEBYSCORE', x, '-inf', now)
if #dead > 0 then
  redis.call('HDEL', b, unpack(dead))
  redis.call('ZREMRANGEBYSCORE', x, '-inf', now)
end
local added = false
i = 5
while i <= #ARGV do
  local op = ARGV[i]
  if op == 'U' then
    redis.call('HSET', b, ARGV[i + 1], ARGV[i + 3])
    redis.call('ZADD', x, ARGV[i + 2], ARGV[i + 1])
    added = true
    i = i + 4
  elseif op == 'R' then
    redis.call('HDEL', b, ARGV[i + 1])
    redis.call('ZREM', x, ARGV[i + 1])
    i = i + 2
  else
    redis.call('DEL', b, x)
    i = i + 1
  end
end
if added then redis.call('HSETNX', m, 'since', now) end
local version = '0'
if added or redis.call('EXISTS', m) == 1 then
  version = ARGV[4]
  redis.call('HSET', m, 'v', version)
end
local out = { 'ok', version }
if live(out) == 0 then
  redis.call('DEL', b, x)
else
  redis.call('PEXPIRE', b, ARGV[3])
  redis.call('PEXPIRE', x, ARGV[3])
end
return out
";

/// Removes every binding, expired ones included; returns how many. KEYS: b,
/// x, m. ARGV: new version (a token).
const REMOVE_ALL_SCRIPT: &str = r"
local n = redis.call('HLEN', KEYS[1])
redis.call('DEL', KEYS[1], KEYS[2])
if redis.call('EXISTS', KEYS[3]) == 1 then redis.call('HSET', KEYS[3], 'v', ARGV[1]) end
return n
";

/// Trims the expired bindings of one AOR; returns how many. KEYS: b, x, m.
/// ARGV: now, new version (a token).
const PURGE_SCRIPT: &str = r"
local dead = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
if #dead == 0 then return 0 end
redis.call('HDEL', KEYS[1], unpack(dead))
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[2]) == 0 then redis.call('DEL', KEYS[1], KEYS[2]) end
if redis.call('EXISTS', KEYS[3]) == 1 then redis.call('HSET', KEYS[3], 'v', ARGV[2]) end
return #dead
";

/// Timeouts and backoff of a [`RedisStore`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RedisOptions {
    /// Connecting, including the handshake. Default 500 ms.
    pub connect_timeout: Duration,
    /// Each read and each write on the socket. Default 500 ms.
    pub io_timeout: Duration,
    /// The wait after a failed connect before the next attempt; doubled
    /// after each further failure up to [`RedisOptions::max_backoff`].
    /// Default 100 ms.
    pub backoff: Duration,
    /// The longest wait between connect attempts. Default 2 s.
    pub max_backoff: Duration,
    /// Put before every key: `sk:` (the default) gives `sk:{AOR}:b`. Letters,
    /// digits, `:`, `_`, `-` and `.` only; deployments that share one Redis
    /// database use different prefixes.
    pub prefix: &'static str,
}

impl Default for RedisOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_millis(500),
            io_timeout: Duration::from_millis(500),
            backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(2),
            prefix: DEFAULT_PREFIX,
        }
    }
}

/// A location service in Redis, shared by any number of sipkit nodes (see
/// the module docs for the layout and the commands per request).
pub struct RedisStore {
    target: Target,
    shown: String,
    options: RedisOptions,
    link: Mutex<Link>,
    /// The latest `now` a caller passed in, for the backoff of the methods
    /// that take none.
    last_now: AtomicU64,
    read: Script,
    apply: Script,
    remove_all: Script,
    purge: Script,
    /// What this store last read or wrote per AOR (lock it after `link`,
    /// never the other way round).
    cache: Mutex<VersionCache>,
    /// The version tokens this store writes.
    tokens: Tokens,
    /// Where the incremental purge stands (lock it after `link`).
    sweep: Mutex<Sweep>,
}

/// The place of [`LocationService::purge_step`] in its round: a SCAN cursor
/// on one server, or on each master of a cluster in turn.
#[derive(Debug, Default)]
struct Sweep {
    /// The cluster's masters (`HOST:PORT`) when the round began; empty on
    /// one server, and between rounds.
    masters: Vec<String>,
    /// The master being scanned.
    index: usize,
    /// The SCAN cursor on it; 0 at the start of its scan.
    cursor: u64,
}

/// Where the store connects: one server, or a Redis Cluster.
enum Target {
    Single(redis::Client),
    Cluster {
        client: redis::cluster::ClusterClient,
        /// `redis://[user:password@]` for connections to single masters.
        base: String,
    },
}

/// A connection to one server or to a cluster.
pub(crate) enum Conn {
    Single(Connection),
    Cluster(Box<redis::cluster::ClusterConnection>),
}

impl Conn {
    /// The connection, whichever kind it is.
    pub(crate) fn like(&mut self) -> &mut dyn ConnectionLike {
        match self {
            Conn::Single(c) => c,
            Conn::Cluster(c) => &mut **c,
        }
    }
}

/// The connection, or when it failed and when to try again.
#[derive(Default)]
struct Link {
    conn: Option<Conn>,
    failures: u32,
    retry_at: UnixMs,
    last_error: String,
}

/// Whether an operation may run twice (a read) or must not (a write).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Retry {
    /// A read: may run again on a new connection.
    Once,
    /// A write: never runs twice.
    Never,
}

impl RedisStore {
    /// How long the keys of an AOR outlive its latest binding: covers clock
    /// differences between the nodes and Redis. Bindings are judged by their
    /// `expires_at`, never by the key TTL, so this only delays garbage
    /// collection.
    pub const KEY_GRACE_MS: u64 = 60_000;

    /// How many times an update decides and tries to write (or, for a
    /// decision that writes nothing on a cached copy, to check it) before
    /// it gives up with [`Error::Contended`] when other nodes keep writing
    /// the same AOR in between.
    pub const MAX_ATTEMPTS: u32 = 16;

    /// Connects to the Redis server of `url` (`redis://[user:password@]HOST:PORT/DB`,
    /// `rediss://…` over TLS, `redis+unix:///path?db=N`)
    /// or to the Redis Cluster of `redis+cluster://[user:password@]HOST:PORT[,HOST:PORT…]`
    /// (seed nodes; database 0, the only one a cluster has) with the default
    /// [`RedisOptions`], and checks that it answers.
    ///
    /// # Errors
    /// [`Error::Redis`] when the URL is invalid or the server cannot be
    /// reached or refuses the connection; [`Error::Config`] for a key prefix
    /// with other characters than those [`RedisOptions::prefix`] allows.
    pub fn open(url: &str) -> Result<Self> {
        Self::open_with(url, RedisOptions::default())
    }

    /// Like [`RedisStore::open`], with the given timeouts and backoff.
    ///
    /// # Errors
    /// As [`RedisStore::open`].
    pub fn open_with(url: &str, options: RedisOptions) -> Result<Self> {
        if !options
            .prefix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b":_-.".contains(&b))
        {
            return Err(Error::Config {
                source_name: "redis options".to_owned(),
                message: format!(
                    "key prefix {:?}: letters, digits, ':', '_', '-' and '.' only",
                    options.prefix
                ),
            });
        }
        let target = match url.strip_prefix(CLUSTER_SCHEME) {
            Some(rest) => cluster_target(rest, &options)?,
            None => Target::Single(redis::Client::open(url)?),
        };
        let store = Self {
            target,
            shown: redact(url),
            options,
            link: Mutex::new(Link::default()),
            last_now: AtomicU64::new(0),
            read: Script::new(READ_SCRIPT),
            apply: Script::new(APPLY_SCRIPT),
            remove_all: Script::new(REMOVE_ALL_SCRIPT),
            purge: Script::new(PURGE_SCRIPT),
            cache: Mutex::new(VersionCache::default()),
            tokens: Tokens::new(),
            sweep: Mutex::new(Sweep::default()),
        };
        let conn = store.connect()?;
        store.lock().conn = Some(conn);
        Ok(store)
    }

    /// The URL this store was opened on, password hidden.
    pub fn url(&self) -> &str {
        &self.shown
    }

    /// The key prefix ([`RedisOptions::prefix`]), for the authentication
    /// data kept beside the bindings ([`crate::auth::RedisAuthDb`]).
    pub(crate) fn prefix(&self) -> &'static str {
        self.options.prefix
    }

    fn lock(&self) -> MutexGuard<'_, Link> {
        // A panic while the link is held leaves at worst a connection in an
        // unknown state; the next error drops it.
        self.link.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn cache(&self) -> MutexGuard<'_, VersionCache> {
        // The cache is only a hint (every write checks the version), so
        // whatever a panic left in it is safe to use.
        self.cache.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn connect(&self) -> RedisResult<Conn> {
        Ok(match &self.target {
            Target::Single(client) => {
                let mut conn = connect_one(client, &self.options)?;
                redis::cmd("PING").query::<()>(&mut conn)?;
                Conn::Single(conn)
            }
            Target::Cluster { client, .. } => {
                // No PING here: the cluster client sends a keyless PING to
                // every master, so one dead master would make every connect
                // fail and every AOR a 500. Connecting already checked a
                // seed and read the slot map from it.
                let conn = client.get_connection()?;
                conn.set_read_timeout(Some(self.options.io_timeout))?;
                conn.set_write_timeout(Some(self.options.io_timeout))?;
                Conn::Cluster(Box::new(conn))
            }
        })
    }

    /// Runs `f` on a connection to every master: the store's own connection
    /// for a single server, a new one to each master of a cluster.
    fn each_master(
        &self,
        conn: &mut Conn,
        mut f: impl FnMut(&mut Connection) -> RedisResult<()>,
    ) -> RedisResult<()> {
        let cluster = match conn {
            Conn::Single(c) => return f(c),
            Conn::Cluster(c) => &mut **c,
        };
        let Target::Cluster { base, .. } = &self.target else {
            return Ok(());
        };
        let nodes: String = redis::cmd("CLUSTER").arg("NODES").query(&mut *cluster)?;
        for addr in masters(&nodes) {
            let client = redis::Client::open(format!("{base}{addr}"))?;
            f(&mut connect_one(&client, &self.options)?)?;
        }
        Ok(())
    }

    /// One step of the incremental purge: one SCAN page of about `budget`
    /// `:x` keys from where `sweep` stands, and one pipeline trimming them.
    fn sweep_step(
        &self,
        conn: &mut Conn,
        sweep: &mut Sweep,
        now_arg: u64,
        budget: usize,
    ) -> RedisResult<PurgeProgress> {
        let pattern = format!("{}{{*}}:x", self.options.prefix);
        let (next, visited, purged) = match conn {
            Conn::Single(c) => self.trim_page(c, sweep.cursor, &pattern, now_arg, budget)?,
            Conn::Cluster(cluster) => {
                if sweep.masters.is_empty() {
                    let nodes: String = redis::cmd("CLUSTER").arg("NODES").query(&mut **cluster)?;
                    *sweep = Sweep {
                        masters: masters(&nodes),
                        ..Sweep::default()
                    };
                }
                let (Target::Cluster { base, .. }, Some(addr)) =
                    (&self.target, sweep.masters.get(sweep.index))
                else {
                    *sweep = Sweep::default();
                    return Ok(PurgeProgress {
                        round_done: true,
                        ..PurgeProgress::default()
                    });
                };
                let client = redis::Client::open(format!("{base}{addr}"))?;
                let mut c = connect_one(&client, &self.options)?;
                self.trim_page(&mut c, sweep.cursor, &pattern, now_arg, budget)?
            }
        };
        sweep.cursor = next;
        if next == 0 {
            sweep.index += 1;
        }
        let round_done = next == 0 && sweep.index >= sweep.masters.len();
        if round_done {
            *sweep = Sweep::default();
        }
        Ok(PurgeProgress {
            purged,
            visited,
            round_done,
        })
    }

    /// One SCAN page from `cursor` and the trims of its keys: the next
    /// cursor, the keys seen and the bindings removed.
    fn trim_page(
        &self,
        conn: &mut Connection,
        cursor: u64,
        pattern: &str,
        now_arg: u64,
        budget: usize,
    ) -> RedisResult<(u64, usize, usize)> {
        if cursor == 0 {
            self.purge.load(conn)?;
        }
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(pattern)
            .arg("COUNT")
            // COUNT is in hash-table buckets, which hold at most about one
            // key each, and an AOR has three keys (`:b`, `:x`, `:m`): about
            // `budget` `:x` keys come back, at most.
            .arg(budget.saturating_mul(3))
            .arg("TYPE")
            .arg("zset")
            .query(conn)?;
        let purged = self.trim_keys(conn, &keys, now_arg)?;
        Ok((next, keys.len(), purged))
    }

    /// The purge script on each AOR whose expiry key is in `keys`, in one
    /// pipeline: the bindings removed.
    fn trim_keys(
        &self,
        conn: &mut Connection,
        keys: &[String],
        now_arg: u64,
    ) -> RedisResult<usize> {
        if keys.is_empty() {
            return Ok(0);
        }
        let mut pipe = redis::pipe();
        for k in keys.iter().filter_map(|k| Keys::of_expiry_key(k)) {
            pipe.cmd("EVALSHA")
                .arg(self.purge.get_hash())
                .arg(3)
                .arg(&k.b)
                .arg(&k.x)
                .arg(&k.m)
                .arg(now_arg)
                .arg(self.tokens.next());
        }
        let counts: Vec<usize> = pipe.query(conn)?;
        Ok(counts.iter().sum())
    }

    /// The keys of `aor` under this store's prefix.
    fn keys(&self, aor: &str) -> Keys {
        Keys::of(self.options.prefix, aor)
    }

    /// Runs `f` on the connection, connecting first when there is none (and
    /// the backoff allows). Any error drops the connection; a `Retry::Once`
    /// operation that failed on a connection made earlier runs once more on
    /// a new one.
    pub(crate) fn with_conn<T>(
        &self,
        now: Option<UnixMs>,
        retry: Retry,
        mut f: impl FnMut(&mut Conn) -> RedisResult<T>,
    ) -> Result<T> {
        let now = match now {
            Some(now) => UnixMs(self.last_now.fetch_max(now.0, Ordering::Relaxed).max(now.0)),
            None => UnixMs(self.last_now.load(Ordering::Relaxed)),
        };
        let mut link = self.lock();
        let mut may_retry = retry == Retry::Once && link.conn.is_some();
        loop {
            let conn = match &mut link.conn {
                Some(conn) => conn,
                None => {
                    if link.failures > 0 && now < link.retry_at {
                        return Err(Error::RedisUnavailable {
                            retry_in_ms: link.retry_at.0 - now.0,
                            last_error: link.last_error.clone(),
                        });
                    }
                    match self.connect() {
                        Ok(conn) => {
                            link.failures = 0;
                            // Redis may have restarted or failed over and
                            // lost writes: nothing cached is trusted.
                            self.cache().clear();
                            link.conn.insert(conn)
                        }
                        Err(e) => {
                            link.failures = link.failures.saturating_add(1);
                            link.retry_at =
                                now.plus_millis(backoff_ms(&self.options, link.failures));
                            link.last_error = e.to_string();
                            return Err(e.into());
                        }
                    }
                }
            };
            match f(conn) {
                Ok(v) => return Ok(v),
                Err(e) => {
                    link.conn = None;
                    let dead = e.is_io_error() || e.is_connection_dropped() || e.is_timeout();
                    if may_retry && dead {
                        may_retry = false;
                        continue;
                    }
                    return Err(e.into());
                }
            }
        }
    }

    /// The version and live bindings of the AOR at `now`, in reply order.
    fn read(&self, aor: &str, now: UnixMs) -> Result<(String, Vec<Binding>)> {
        let keys = self.keys(aor);
        let now_arg = ms(now)?;
        let raw: Vec<String> = self.with_conn(Some(now), Retry::Once, |conn| {
            run_script(conn.like(), &self.read, READ_SCRIPT, &keys, &|c| {
                c.arg(now_arg);
            })
        })?;
        let mut raw = raw.into_iter();
        let version = raw.next().unwrap_or_else(|| ABSENT.to_owned());
        Ok((version, records(raw)?))
    }

    /// One attempt of an update: decides on `base` (the AOR's version and
    /// live bindings, as cached, assumed absent, or as Redis just returned
    /// them: `verified`) and writes the plan if the version is still that.
    fn attempt(
        &self,
        aor: &str,
        keys: &Keys,
        now: UnixMs,
        base: Stored,
        verified: bool,
        decide: &mut dyn FnMut(&[Binding]) -> Plan,
    ) -> Result<Attempt> {
        let (version, current) = base;
        let changes = match decide(&current) {
            Plan::Commit(changes) if !changes.is_empty() => changes,
            Plan::Commit(_) | Plan::Abort => {
                // Nothing to write, but a decision on a guess must be
                // checked: one read, as a query REGISTER costs anyway.
                let (stored, live) = if verified {
                    (version.clone(), current)
                } else {
                    self.read(aor, now)?
                };
                if stored != version {
                    return Ok(Attempt::Moved((stored, live)));
                }
                self.cache().put(aor, stored, live.clone());
                return Ok(Attempt::Done(live));
            }
        };
        let ops = ops(&changes, now)?;
        let after = after_state(current, &changes, now);
        let ttl = after
            .iter()
            .map(|b| b.expires_at.0.saturating_sub(now.0))
            .max()
            .unwrap_or(0)
            .saturating_add(Self::KEY_GRACE_MS);
        let token = self.tokens.next();
        let now_arg = ms(now)?;
        // Sent again on a new connection when the old one turns out dead:
        // if the first one was applied, the version is now `token` and the
        // second one is refused with it, which is recognised below.
        let reply: Vec<String> = self.with_conn(Some(now), Retry::Once, |conn| {
            run_script(conn.like(), &self.apply, APPLY_SCRIPT, keys, &|c| {
                c.arg(now_arg).arg(&version).arg(ttl).arg(&token);
                for op in &ops {
                    c.arg(op);
                }
            })
        })?;
        let mut reply = reply.into_iter();
        let applied = reply.next().is_some_and(|s| s == "ok");
        let stored = reply.next().unwrap_or_else(|| ABSENT.to_owned());
        let live = records(reply)?;
        if !applied && stored != token {
            return Ok(Attempt::Moved((stored, live))); // written since `version`
        }
        self.cache().put(aor, stored, live.clone());
        Ok(Attempt::Done(live))
    }
}

/// An AOR's version and live bindings (reply order).
type Stored = (String, Vec<Binding>);

/// How one attempt of an update ended.
enum Attempt {
    /// Decided and written (or nothing to write): the live bindings after.
    Done(Vec<Binding>),
    /// The version was not the one decided on: what is stored instead.
    Moved(Stored),
}

/// Runs one of the store's scripts on the AOR's keys, with the arguments
/// `args` adds: EVALSHA, or EVAL when the server does not hold the script
/// yet (NOSCRIPT). EVAL goes to the node of the keys and caches the script
/// there; the fallback of redis-rs's `Script::invoke`, SCRIPT LOAD, goes to
/// every master of a cluster, so while one master was down an AOR of
/// another one could not run a script that master had not run yet.
fn run_script<T: FromRedisValue>(
    conn: &mut dyn ConnectionLike,
    script: &Script,
    source: &str,
    keys: &Keys,
    args: &dyn Fn(&mut Cmd),
) -> RedisResult<T> {
    let call = |command: &str, body: &str| {
        let mut c = redis::cmd(command);
        c.arg(body).arg(3).arg(&keys.b).arg(&keys.x).arg(&keys.m);
        args(&mut c);
        c
    };
    match call("EVALSHA", script.get_hash()).query(conn) {
        Err(e) if e.code() == Some("NOSCRIPT") => call("EVAL", source).query(conn),
        other => other,
    }
}

/// Bindings from their records, in reply order.
fn records(raw: impl Iterator<Item = String>) -> Result<Vec<Binding>> {
    let mut bindings = raw.map(|r| decode(&r)).collect::<Result<Vec<_>>>()?;
    bindings.sort_by(reply_order);
    Ok(bindings)
}

/// The wait after the `failures`-th failed connect in a row, in ms.
fn backoff_ms(options: &RedisOptions, failures: u32) -> u64 {
    let base = u64::try_from(options.backoff.as_millis()).unwrap_or(u64::MAX);
    let max = u64::try_from(options.max_backoff.as_millis()).unwrap_or(u64::MAX);
    let shift = failures.saturating_sub(1).min(20);
    base.saturating_mul(1 << shift).min(max)
}

/// The keys of one AOR.
struct Keys {
    b: String,
    x: String,
    m: String,
}

impl Keys {
    fn of(prefix: &str, aor: &str) -> Self {
        Self {
            b: format!("{prefix}{{{aor}}}:b"),
            x: format!("{prefix}{{{aor}}}:x"),
            m: format!("{prefix}{{{aor}}}:m"),
        }
    }

    /// The keys of the AOR whose expiry ZSET is `x` (a name from SCAN).
    fn of_expiry_key(x: &str) -> Option<Self> {
        let stem = x.strip_suffix(":x")?;
        Some(Self {
            b: format!("{stem}:b"),
            x: x.to_owned(),
            m: format!("{stem}:m"),
        })
    }
}

/// One binding as stored in the AOR's hash: every field of [`Binding`], by
/// name, so a newer sipkit can add fields that an older one ignores.
#[derive(serde::Serialize, serde::Deserialize)]
struct Record {
    contact: String,
    q: u16,
    expires_at: u64,
    updated_at: u64,
    call_id: String,
    cseq: u32,
    source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    instance: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reg_id: Option<String>,
    // Added for issue 14: absent in older records, which decode as none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    path: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    user_agent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    node: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    connection: Option<ConnRef>,
}

fn encode(b: &Binding) -> Result<String> {
    let record = Record {
        contact: b.contact.clone(),
        q: b.q.thousandths(),
        expires_at: b.expires_at.0,
        updated_at: b.updated_at.0,
        call_id: b.call_id.clone(),
        cseq: b.cseq,
        source: b.source.to_string(),
        instance: b.instance.clone(),
        reg_id: b.reg_id.clone(),
        path: b.path.clone(),
        user_agent: b.user_agent.clone(),
        node: b.node.clone(),
        connection: b.connection,
    };
    serde_json::to_string(&record).map_err(|e| Error::Corrupt {
        what: "binding record",
        value: e.to_string(),
    })
}

fn decode(text: &str) -> Result<Binding> {
    let corrupt = |what: &'static str, value: String| Error::Corrupt { what, value };
    let r: Record =
        serde_json::from_str(text).map_err(|_| corrupt("binding record", text.to_owned()))?;
    let q = Q::new(r.q).ok_or_else(|| corrupt("q", r.q.to_string()))?;
    let source: TransportAddr = r
        .source
        .parse()
        .map_err(|_| corrupt("source address", r.source.clone()))?;
    Ok(Binding {
        contact: r.contact,
        q,
        expires_at: UnixMs(r.expires_at),
        updated_at: UnixMs(r.updated_at),
        call_id: r.call_id,
        cseq: r.cseq,
        source,
        instance: r.instance,
        reg_id: r.reg_id,
        path: r.path,
        user_agent: r.user_agent,
        node: r.node,
        connection: r.connection,
    })
}

/// A timestamp as a ZSET score; refused beyond what a double holds exactly.
fn ms(t: UnixMs) -> Result<u64> {
    if t.0 > MAX_EXACT_MS {
        return Err(Error::OutOfRange {
            what: "timestamp (ms)",
            value: t.0,
        });
    }
    Ok(t.0)
}

/// The apply script's arguments after the first three, for `changes`;
/// checked before anything is sent.
fn ops(changes: &[Change], now: UnixMs) -> Result<Vec<String>> {
    let mut out = Vec::with_capacity(changes.len() * 4);
    for change in changes {
        match change {
            Change::Upsert(b) if b.is_live(now) => {
                out.push("U".to_owned());
                out.push(b.key());
                out.push(ms(b.expires_at)?.to_string());
                out.push(encode(b)?);
            }
            Change::Upsert(b) => {
                out.push("R".to_owned());
                out.push(b.key());
            }
            Change::Remove(uri) => {
                out.push("R".to_owned());
                out.push(contact_key(uri));
            }
            Change::RemoveAll => out.push("A".to_owned()),
        }
    }
    Ok(out)
}

/// The URL scheme of a Redis Cluster: seed nodes, comma-separated.
pub(crate) const CLUSTER_SCHEME: &str = "redis+cluster://";

/// A cluster client from what follows `redis+cluster://`.
fn cluster_target(rest: &str, options: &RedisOptions) -> Result<Target> {
    let (auth, hosts) = match rest.rfind('@') {
        Some(at) => (&rest[..=at], &rest[at + 1..]),
        None => ("", rest),
    };
    let hosts = hosts.trim_end_matches('/');
    let base = format!("redis://{auth}");
    let seeds: Vec<String> = hosts
        .split(',')
        .filter(|h| !h.is_empty())
        .map(|h| format!("{base}{h}"))
        .collect();
    let client = redis::cluster::ClusterClient::builder(seeds)
        .connection_timeout(options.connect_timeout)
        .response_timeout(options.io_timeout)
        .retries(2)
        // The client sleeps between retries (CLUSTERDOWN, TRYAGAIN) inside
        // the call, and the store is called from the server's loop: its
        // default waits (at least 1.28 s each) blocked a node for 2.56 s
        // while a restarted master refused queries. At most 100 ms each.
        .min_retry_wait(10)
        .max_retry_wait(100)
        .build()?;
    Ok(Target::Cluster { client, base })
}

/// A connection to one server, with the store's timeouts.
fn connect_one(client: &redis::Client, options: &RedisOptions) -> RedisResult<Connection> {
    let conn = client.get_connection_with_timeout(options.connect_timeout)?;
    conn.set_read_timeout(Some(options.io_timeout))?;
    conn.set_write_timeout(Some(options.io_timeout))?;
    Ok(conn)
}

/// The `HOST:PORT` of every master that is not failing, from the text of
/// CLUSTER NODES (`id host:port@cport[,hostname] flags master …`).
fn masters(nodes: &str) -> Vec<String> {
    nodes
        .lines()
        .filter_map(|line| {
            let mut fields = line.split(' ');
            let addr = fields.nth(1)?;
            let flags = fields.next()?;
            let is_master = flags.split(',').any(|f| f == "master");
            let failing = flags.split(',').any(|f| f == "fail" || f == "noaddr");
            let addr = addr.split('@').next()?;
            (is_master && !failing).then(|| addr.to_owned())
        })
        .collect()
}

/// Hides the password of a `redis://user:password@host` URL.
pub(crate) fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://***@{}", &url[..s], &url[at + 1..]),
        _ => url.to_owned(),
    }
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("url", &self.shown)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl LocationService for RedisStore {
    fn lookup(&self, aor: &str, now: UnixMs) -> Result<Vec<Binding>> {
        match self.read(aor, now) {
            Ok((version, live)) => {
                self.cache().refresh(aor, &version, &live);
                Ok(live)
            }
            Err(e) => {
                self.cache().forget(aor);
                Err(e)
            }
        }
    }

    fn update(
        &self,
        aor: &str,
        now: UnixMs,
        decide: &mut dyn FnMut(&[Binding]) -> Plan,
    ) -> Result<Vec<Binding>> {
        let keys = self.keys(aor);
        // Optimistic: decide on what this store last read or wrote (or on
        // "absent" for an AOR it does not know) and write with that
        // version; a refusal brings the stored state to decide on again.
        let cached = self.cache().take(aor);
        let mut base = match cached {
            Some(entry) => entry.live_at(now),
            None => (ABSENT.to_owned(), Vec::new()),
        };
        let mut verified = false;
        for _ in 0..Self::MAX_ATTEMPTS {
            match self.attempt(aor, &keys, now, base, verified, decide) {
                Ok(Attempt::Done(live)) => return Ok(live),
                Ok(Attempt::Moved(stored)) => {
                    base = stored;
                    verified = true;
                }
                Err(e) => {
                    self.cache().forget(aor);
                    return Err(e);
                }
            }
        }
        Err(Error::Contended {
            aor: aor.to_owned(),
            attempts: Self::MAX_ATTEMPTS,
        })
    }

    fn remove_all(&self, aor: &str) -> Result<usize> {
        let keys = self.keys(aor);
        self.cache().forget(aor);
        let token = self.tokens.next();
        self.with_conn(None, Retry::Never, |conn| {
            run_script(
                conn.like(),
                &self.remove_all,
                REMOVE_ALL_SCRIPT,
                &keys,
                &|c| {
                    c.arg(&token);
                },
            )
        })
    }

    fn purge_expired(&self, now: UnixMs) -> Result<usize> {
        let now_arg = ms(now)?;
        let pattern = format!("{}{{*}}:x", self.options.prefix);
        self.with_conn(Some(now), Retry::Never, |conn| {
            let mut purged = 0usize;
            self.each_master(conn, |conn| {
                self.purge.load(conn)?;
                scan_expiry_keys(conn, &pattern, |conn, keys| {
                    purged += self.trim_keys(conn, keys, now_arg)?;
                    Ok(())
                })
            })?;
            Ok(purged)
        })
    }

    fn purge_step(&self, now: UnixMs, budget: usize) -> Result<PurgeProgress> {
        let now_arg = ms(now)?;
        self.with_conn(Some(now), Retry::Never, |conn| {
            let mut sweep = self.sweep.lock().unwrap_or_else(PoisonError::into_inner);
            let done = self.sweep_step(conn, &mut sweep, now_arg, budget.max(1));
            if done.is_err() {
                // Start the next round afresh (and load the script again:
                // Redis may have restarted).
                *sweep = Sweep::default();
            }
            done
        })
    }

    fn count(&self, now: UnixMs) -> Result<Counts> {
        let now_arg = ms(now)?;
        let pattern = format!("{}{{*}}:x", self.options.prefix);
        self.with_conn(Some(now), Retry::Once, |conn| {
            let mut counts = Counts::default();
            self.each_master(conn, |conn| {
                scan_expiry_keys(conn, &pattern, |conn, keys| {
                    let mut pipe = redis::pipe();
                    for k in keys {
                        pipe.cmd("ZCOUNT")
                            .arg(k)
                            .arg(format!("({now_arg}"))
                            .arg("+inf");
                    }
                    let live: Vec<usize> = pipe.query(conn)?;
                    counts.bindings += live.iter().sum::<usize>();
                    counts.aors += live.iter().filter(|n| **n > 0).count();
                    Ok(())
                })
            })?;
            Ok(counts)
        })
    }

    fn is_known(&self, aor: &str) -> Result<bool> {
        let keys = self.keys(aor);
        self.with_conn(None, Retry::Once, |conn| {
            redis::cmd("HEXISTS")
                .arg(&keys.m)
                .arg("since")
                .query(conn.like())
        })
    }
}

/// Calls `page` with every page of AOR expiry keys that SCAN returns (a key
/// may come twice if the keyspace is rehashed meanwhile; both users are
/// idempotent per key within one call).
fn scan_expiry_keys(
    conn: &mut Connection,
    pattern: &str,
    mut page: impl FnMut(&mut Connection, &[String]) -> RedisResult<()>,
) -> RedisResult<()> {
    let mut cursor: u64 = 0;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(pattern)
            .arg("COUNT")
            .arg(SCAN_COUNT)
            .arg("TYPE")
            .arg("zset")
            .query(conn)?;
        if !keys.is_empty() {
            page(conn, &keys)?;
        }
        if next == 0 {
            return Ok(());
        }
        cursor = next;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_share_the_aor_hash_tag() {
        let k = Keys::of("sk:", "sip:alice@example.com");
        assert_eq!(k.b, "sk:{sip:alice@example.com}:b");
        assert_eq!(k.x, "sk:{sip:alice@example.com}:x");
        assert_eq!(k.m, "sk:{sip:alice@example.com}:m");
        let back = Keys::of_expiry_key(&k.x).unwrap();
        assert_eq!((back.b, back.m), (k.b, k.m));
    }

    #[test]
    fn masters_are_read_from_cluster_nodes() {
        let text = "a1 127.0.0.1:7001@17001 myself,master - 0 0 1 connected 0-5460\n\
b2 127.0.0.1:7002@17002,host master - 0 1 2 connected 5461-10922\n\
c3 127.0.0.1:7003@17003 slave a1 0 1 1 connected\n\
d4 127.0.0.1:7004@17004 master,fail - 0 1 3 disconnected\n";
        assert_eq!(masters(text), ["127.0.0.1:7001", "127.0.0.1:7002"]);
    }

    #[test]
    fn redact_hides_the_password() {
        assert_eq!(redact("redis://u:pw@h:6379/0"), "redis://***@h:6379/0");
        assert_eq!(redact("redis://h:6379/0"), "redis://h:6379/0");
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let o = RedisOptions::default();
        let f = |n| backoff_ms(&o, n);
        assert_eq!(
            [f(1), f(2), f(3), f(5), f(9), f(u32::MAX)],
            [100, 200, 400, 1600, 2000, 2000]
        );
    }

    #[test]
    fn a_record_without_the_issue_14_fields_decodes_with_none_of_them() {
        let old = r#"{"contact":"sip:a@h1","q":1000,"expires_at":5000,"updated_at":1000,"call_id":"c","cseq":2,"source":"udp:192.0.2.1:5060","reg_id":"1"}"#;
        let b = decode(old).unwrap();
        assert_eq!((b.contact.as_str(), b.cseq), ("sip:a@h1", 2));
        assert_eq!(b.reg_id.as_deref(), Some("1"));
        assert!(b.path.is_empty());
        assert_eq!((b.user_agent, b.node, b.connection), (None, None, None));
        // Unknown fields (from a newer sipkit) are ignored too.
        let newer = old.replace("}", r#","future":[1,2]}"#);
        assert_eq!(decode(&newer).unwrap().cseq, 2);
    }

    #[test]
    fn the_issue_14_fields_round_trip_by_name() {
        let mut b = decode(r#"{"contact":"sip:a@h1","q":500,"expires_at":5000,"updated_at":1000,"call_id":"c","cseq":2,"source":"tcp:192.0.2.1:5060"}"#).unwrap();
        b.path = vec!["<sip:p1.example.com;lr>".into(), "<sip:p2;lr>".into()];
        b.user_agent = Some("phone/1.0".into());
        b.node = Some("node-a".into());
        b.connection = Some(ConnRef { worker: 1, id: 42 });
        let text = encode(&b).unwrap();
        assert!(text.contains(r#""connection":"1/42""#), "{text}");
        assert_eq!(decode(&text).unwrap(), b);
    }

    #[test]
    fn a_timestamp_beyond_a_double_is_refused_before_anything_is_sent() {
        assert!(ms(UnixMs(MAX_EXACT_MS)).is_ok());
        assert!(matches!(
            ms(UnixMs(u64::MAX)),
            Err(Error::OutOfRange { .. })
        ));
    }
}
