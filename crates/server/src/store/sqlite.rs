//! The durable location service: one SQLite file in write-ahead-log mode.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use rusqlite::{params, Connection, OpenFlags, OptionalExtension, Row, TransactionBehavior};

use crate::binding::{reply_order, Binding, Change, Plan, Transport, TransportAddr, Q};
use crate::error::{Error, Result};
use crate::store::{after_state, Counts, LocationService};
use crate::time::UnixMs;
use crate::uri::contact_key;

/// The schema, version by version; `SCHEMA[i]` migrates from `user_version`
/// i to i + 1.
const SCHEMA: &[&str] = &[
    // 0 -> 1
    "CREATE TABLE aors (
         aor           TEXT    NOT NULL PRIMARY KEY,
         first_seen_ms INTEGER NOT NULL
     ) WITHOUT ROWID;
     CREATE TABLE bindings (
         aor         TEXT    NOT NULL,
         contact_key TEXT    NOT NULL,
         contact     TEXT    NOT NULL,
         q           INTEGER NOT NULL CHECK (q BETWEEN 0 AND 1000),
         expires_ms  INTEGER NOT NULL,
         updated_ms  INTEGER NOT NULL,
         call_id     TEXT    NOT NULL,
         cseq        INTEGER NOT NULL,
         transport   TEXT    NOT NULL,
         source      TEXT    NOT NULL,
         instance    TEXT,
         reg_id      TEXT,
         PRIMARY KEY (aor, contact_key)
     ) WITHOUT ROWID;
     CREATE INDEX bindings_by_aor_expiry ON bindings (aor, expires_ms);
     CREATE INDEX bindings_by_expiry ON bindings (expires_ms);",
    // 1 -> 2: what the issue 14 binding keeps besides RFC 3261 §10.3: the
    // Path vector (RFC 3327 §5.3, a JSON array of the values as written;
    // NULL when none), the User-Agent, the node and the connection
    // (`WORKER/NUMBER`). Rows of version 1 read as none of them.
    "ALTER TABLE bindings ADD COLUMN path TEXT;
     ALTER TABLE bindings ADD COLUMN user_agent TEXT;
     ALTER TABLE bindings ADD COLUMN node TEXT;
     ALTER TABLE bindings ADD COLUMN connection TEXT;",
];

const COLUMNS: &str = "contact, q, expires_ms, updated_ms, call_id, cseq, transport, source, \
     instance, reg_id, path, user_agent, node, connection";

/// How far a commit is durable before [`LocationService::update`] returns
/// (SQLite's `synchronous` pragma in WAL mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DbSync {
    /// `synchronous=NORMAL`: the commit is in the WAL file (written, not
    /// fsynced) before the 200 goes out, so it survives a crash or `kill -9`
    /// of the process; a power cut or kernel crash may lose the last commits
    /// (phones re-register). No fsync per REGISTER: several times faster.
    #[default]
    Normal,
    /// `synchronous=FULL`: the WAL is fsynced at every commit, so an
    /// acknowledged binding also survives a power cut on a disk that honours
    /// fsync. One fsync per REGISTER.
    Full,
}

impl DbSync {
    fn pragma(self) -> &'static str {
        match self {
            DbSync::Normal => "NORMAL",
            DbSync::Full => "FULL",
        }
    }
}

/// A location service in one SQLite file.
///
/// Opened in WAL mode; [`SqliteStore::open`] uses `synchronous=FULL`
/// ([`DbSync::Full`]), [`SqliteStore::open_with`] lets the caller choose.
/// Every REGISTER is one transaction committed before
/// [`LocationService::update`] returns (or, in a group commit, before
/// [`LocationService::end_batch`] does), so a binding whose REGISTER was
/// answered 200 survives `kill -9` of the process in both modes and, with
/// `Full` on a disk that honours fsync, a power cut. The schema is created
/// or migrated on open (`PRAGMA user_version`); statements are prepared
/// once and cached. Lookups use the index on `(aor, expires_ms)`; purging
/// uses the one on `expires_ms`: no full scans.
///
/// Two connections: a reader for lookups, and the writer, which
/// [`SqliteStore::share`] hands to the other workers of a server. Each
/// worker then reads on its own connection, in parallel (WAL), and all
/// write through the one writer connection: an update reads, decides and
/// writes under the writer's lock inside the one open transaction, and the
/// first worker to end its batch commits every worker's writes made so far
/// in one COMMIT (one fsync with `Full`); a worker whose writes someone
/// else committed finds them committed when its batch ends. No worker waits
/// on SQLite's file lock for another. A handle with uncommitted writes of
/// its own reads through the writer, so it sees them. Another process may
/// open the same file; a writer waits up to 5 s for its lock.
#[derive(Debug)]
pub struct SqliteStore {
    /// This handle's read connection.
    reader: Mutex<Connection>,
    /// The connection every handle of the server writes through.
    writer: Arc<Writer>,
    /// This handle's group commit.
    batch: Mutex<Batch>,
    path: PathBuf,
}

/// The shared write connection and its one open transaction.
#[derive(Debug)]
struct Writer {
    state: Mutex<WriterState>,
}

#[derive(Debug)]
struct WriterState {
    conn: Connection,
    /// The number of the open transaction, or of the next one.
    gen: u64,
    /// A transaction is open (its number is `gen`).
    open: bool,
    /// Transactions whose COMMIT failed (everything in them rolled back),
    /// with SQLite's error.
    failed: BTreeMap<u64, String>,
    /// Tests: the next COMMIT fails as if the disk were full.
    fail_next_commit: bool,
}

/// A handle's group commit: whether one is armed, and the transactions
/// its writes went into since it began.
#[derive(Debug, Default)]
struct Batch {
    armed: bool,
    /// First and last transaction number this handle wrote in.
    wrote: Option<(u64, u64)>,
}

impl Writer {
    fn lock(&self) -> MutexGuard<'_, WriterState> {
        // A panic while the lock is held leaves at worst a savepoint open
        // inside the transaction, which the next COMMIT or ROLLBACK ends.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl WriterState {
    /// Opens the shared transaction if none is; its number.
    fn begin(&mut self) -> Result<u64> {
        if !self.open {
            self.conn.execute_batch("BEGIN IMMEDIATE")?;
            self.open = true;
        }
        Ok(self.gen)
    }

    /// Commits the open transaction, if any; on failure rolls it back and
    /// remembers its number as failed.
    fn commit(&mut self) {
        if !self.open {
            return;
        }
        let committed = if std::mem::take(&mut self.fail_next_commit) {
            Err("injected commit failure".to_owned())
        } else {
            self.conn.execute_batch("COMMIT").map_err(|e| e.to_string())
        };
        if let Err(e) = committed {
            // Nothing of the transaction is durable; leave none open.
            let _ = self.conn.execute_batch("ROLLBACK");
            self.failed.insert(self.gen, e);
        }
        self.open = false;
        self.gen += 1;
    }

    /// Whether every transaction from `first` to `last` is over: `Ok` if
    /// all committed, the error of one that failed; `None` while `last` is
    /// still open.
    fn settled(&self, (first, last): (u64, u64)) -> Option<Result<()>> {
        if self.open && self.gen == last {
            return None;
        }
        Some(match self.failed.range(first..=last).next() {
            None => Ok(()),
            Some((_, error)) => Err(Error::CommitFailed {
                error: error.clone(),
            }),
        })
    }
}

fn open_connection(path: &Path, shown: &str, sync: DbSync) -> Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(Duration::from_secs(5))?;
    let mode: String =
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(Error::NotWal {
            path: shown.to_owned(),
            mode,
        });
    }
    conn.pragma_update(None, "synchronous", sync.pragma())?;
    conn.set_prepared_statement_cache_capacity(32);
    Ok(conn)
}

impl SqliteStore {
    /// The schema version this build creates and reads.
    pub const SCHEMA_VERSION: i64 = SCHEMA.len() as i64;

    /// Opens (creating if missing) the database file at `path`, switches it
    /// to WAL, and creates or migrates the schema.
    ///
    /// # Errors
    /// [`Error::Sqlite`] when SQLite cannot open or write the file,
    /// [`Error::NotWal`] when the file system refuses WAL,
    /// [`Error::SchemaTooNew`] for a file from a newer sipkit.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(path, DbSync::Full)
    }

    /// Like [`SqliteStore::open`], with the durability of each commit chosen
    /// by `sync` (see [`DbSync`]).
    ///
    /// # Errors
    /// As [`SqliteStore::open`].
    pub fn open_with(path: impl AsRef<Path>, sync: DbSync) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let shown = path.display().to_string();
        let mut conn = open_connection(&path, &shown, sync)?;
        migrate(&mut conn, &shown)?;
        let writer = Arc::new(Writer {
            state: Mutex::new(WriterState {
                conn,
                gen: 0,
                open: false,
                failed: BTreeMap::new(),
                fail_next_commit: false,
            }),
        });
        Self::with_writer(path, sync, writer)
    }

    fn with_writer(path: PathBuf, sync: DbSync, writer: Arc<Writer>) -> Result<Self> {
        let shown = path.display().to_string();
        let reader = open_connection(&path, &shown, sync)?;
        Ok(Self {
            reader: Mutex::new(reader),
            writer,
            batch: Mutex::new(Batch::default()),
            path,
        })
    }

    /// Another handle on the same file for another worker: its own read
    /// connection, this one's writer (see the type's docs: one writer,
    /// group commits across the workers).
    ///
    /// # Errors
    /// As [`SqliteStore::open`], for the new read connection.
    pub fn share(&self) -> Result<Self> {
        let sync = {
            let w = self.writer.lock();
            let level: i64 = w
                .conn
                .pragma_query_value(None, "synchronous", |row| row.get(0))?;
            if level >= 2 {
                DbSync::Full
            } else {
                DbSync::Normal
            }
        };
        Self::with_writer(self.path.clone(), sync, self.writer.clone())
    }

    /// The file this store was opened on.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn lock_reader(&self) -> MutexGuard<'_, Connection> {
        self.reader.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn lock_batch(&self) -> MutexGuard<'_, Batch> {
        self.batch.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs a read on the reader, or on the writer while this handle has
    /// writes of its own not yet committed (so that it sees them).
    fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let pending = self.lock_batch().wrote.map(|(_, last)| last);
        if let Some(last) = pending {
            let w = self.writer.lock();
            if w.open && w.gen == last {
                return f(&w.conn);
            }
        }
        f(&self.lock_reader())
    }

    /// Runs a write inside the shared transaction, as a savepoint of its
    /// own (all or nothing); `f` says whether it wrote anything. Inside a
    /// batch the commit waits for [`LocationService::end_batch`]; outside
    /// one the transaction (with whatever other workers wrote in it) is
    /// committed before this returns.
    fn write<T>(&self, f: impl FnOnce(&Connection) -> Result<(T, bool)>) -> Result<T> {
        let mut batch = self.lock_batch();
        let mut w = self.writer.lock();
        let gen = w.begin()?;
        let result = (|| {
            let sp = w.conn.savepoint()?;
            let (out, wrote) = f(&sp)?;
            if wrote {
                sp.commit()?;
            }
            Ok((out, wrote))
        })();
        let (out, wrote) = match result {
            Ok(done) => done,
            Err(e) => {
                // The savepoint rolled back. Outside a batch, end the
                // transaction rather than keep the file's write lock.
                if !batch.armed {
                    w.commit();
                }
                return Err(e);
            }
        };
        if batch.armed {
            if wrote {
                batch.wrote = Some(match batch.wrote {
                    Some((first, _)) => (first, gen),
                    None => (gen, gen),
                });
            }
            return Ok(out);
        }
        w.commit();
        w.settled((gen, gen)).unwrap_or(Ok(())).map(|()| out)
    }

    /// Makes the next COMMIT of the shared writer fail (and roll back), for
    /// tests of what a failed group commit does.
    #[doc(hidden)]
    pub fn fail_next_commit(&self) {
        self.writer.lock().fail_next_commit = true;
    }

    /// The value of `PRAGMA name` on this store's write connection, as
    /// text, for tests that check the durability settings.
    #[doc(hidden)]
    pub fn pragma(&self, name: &str) -> Result<String> {
        let w = self.writer.lock();
        Ok(w.conn.pragma_query_value(None, name, |row| {
            Ok(match row.get_ref(0)? {
                rusqlite::types::ValueRef::Integer(i) => i.to_string(),
                rusqlite::types::ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
                other => format!("{other:?}"),
            })
        })?)
    }

    /// SQLite's plan for the lookup query, one line per step, for tests that
    /// check the hot path uses an index.
    #[doc(hidden)]
    pub fn explain_lookup(&self) -> Result<Vec<String>> {
        let conn = self.lock_reader();
        let sql = format!("EXPLAIN QUERY PLAN {}", lookup_sql());
        let mut stmt = conn.prepare(&sql)?;
        let rows = stmt.query_map(params!["sip:a@b", 0i64], |row| row.get::<_, String>(3))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

fn migrate(conn: &mut Connection, path: &str) -> Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let version: i64 = tx.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if version > SqliteStore::SCHEMA_VERSION {
        return Err(Error::SchemaTooNew {
            path: path.to_owned(),
            found: version,
            supported: SqliteStore::SCHEMA_VERSION,
        });
    }
    let from = usize::try_from(version).map_err(|_| Error::Corrupt {
        what: "schema version",
        value: version.to_string(),
    })?;
    for step in &SCHEMA[from..] {
        tx.execute_batch(step)?;
    }
    if from < SCHEMA.len() {
        tx.pragma_update(None, "user_version", SqliteStore::SCHEMA_VERSION)?;
    }
    tx.commit()?;
    Ok(())
}

fn lookup_sql() -> String {
    format!("SELECT {COLUMNS} FROM bindings WHERE aor = ?1 AND expires_ms > ?2")
}

fn ms(t: UnixMs) -> Result<i64> {
    i64::try_from(t.as_millis()).map_err(|_| Error::OutOfRange {
        what: "timestamp (ms)",
        value: t.as_millis(),
    })
}

/// Reads the AOR, lets `decide` plan, writes the plan on `conn` (inside a
/// transaction or savepoint the caller commits). Returns the bindings after
/// the change and whether anything was written (else the caller drops the
/// transaction, which rolls back).
fn apply_plan(
    conn: &Connection,
    aor: &str,
    now: UnixMs,
    decide: &mut dyn FnMut(&[Binding]) -> Plan,
) -> Result<(Vec<Binding>, bool)> {
    let current = load(conn, aor, now)?;
    let changes = match decide(&current) {
        Plan::Abort => return Ok((current, false)),
        Plan::Commit(changes) if changes.is_empty() => return Ok((current, false)),
        Plan::Commit(changes) => changes,
    };
    // Expired bindings of this AOR go while we hold its rows anyway.
    conn.prepare_cached("DELETE FROM bindings WHERE aor = ?1 AND expires_ms <= ?2")?
        .execute(params![aor, ms(now)?])?;
    for change in &changes {
        write(conn, aor, now, change)?;
    }
    Ok((after_state(current, &changes, now), true))
}

fn load(conn: &Connection, aor: &str, now: UnixMs) -> Result<Vec<Binding>> {
    let mut stmt = conn.prepare_cached(&lookup_sql())?;
    let mut rows = stmt.query(params![aor, ms(now)?])?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(read_binding(row)?);
    }
    out.sort_by(reply_order);
    Ok(out)
}

fn read_binding(row: &Row<'_>) -> Result<Binding> {
    let corrupt = |what: &'static str, value: String| Error::Corrupt { what, value };
    let q: i64 = row.get(1)?;
    let q = u16::try_from(q)
        .ok()
        .and_then(Q::new)
        .ok_or_else(|| corrupt("q", q.to_string()))?;
    let time = |i: usize, what: &'static str| -> Result<UnixMs> {
        let v: i64 = row.get(i)?;
        u64::try_from(v)
            .map(UnixMs)
            .map_err(|_| corrupt(what, v.to_string()))
    };
    let cseq: i64 = row.get(5)?;
    let cseq = u32::try_from(cseq).map_err(|_| corrupt("cseq", cseq.to_string()))?;
    let transport: String = row.get(6)?;
    let transport: Transport = transport
        .parse()
        .map_err(|_| corrupt("transport", transport.clone()))?;
    let source: String = row.get(7)?;
    let addr = source
        .parse()
        .map_err(|_| corrupt("source address", source.clone()))?;
    let path = match row.get::<_, Option<String>>(10)? {
        None => Vec::new(),
        Some(text) => serde_json::from_str(&text).map_err(|_| corrupt("path", text.clone()))?,
    };
    let connection = match row.get::<_, Option<String>>(13)? {
        None => None,
        Some(text) => Some(
            text.parse()
                .map_err(|_| corrupt("connection", text.clone()))?,
        ),
    };
    Ok(Binding {
        contact: row.get(0)?,
        q,
        expires_at: time(2, "expiry")?,
        updated_at: time(3, "update time")?,
        call_id: row.get(4)?,
        cseq,
        source: TransportAddr::new(transport, addr),
        instance: row.get(8)?,
        reg_id: row.get(9)?,
        path,
        user_agent: row.get(11)?,
        node: row.get(12)?,
        connection,
    })
}

fn write(tx: &Connection, aor: &str, now: UnixMs, change: &Change) -> Result<()> {
    match change {
        Change::Upsert(b) if !b.is_live(now) => {
            tx.prepare_cached("DELETE FROM bindings WHERE aor = ?1 AND contact_key = ?2")?
                .execute(params![aor, b.key()])?;
        }
        Change::Upsert(b) => {
            let path = if b.path.is_empty() {
                None
            } else {
                Some(serde_json::to_string(&b.path).map_err(|e| Error::Corrupt {
                    what: "path",
                    value: e.to_string(),
                })?)
            };
            tx.prepare_cached("INSERT INTO aors (aor, first_seen_ms) VALUES (?1, ?2) ON CONFLICT (aor) DO NOTHING")?
                .execute(params![aor, ms(now)?])?;
            tx.prepare_cached(
                "INSERT INTO bindings (aor, contact_key, contact, q, expires_ms, updated_ms, call_id, cseq, transport, source, instance, reg_id, path, user_agent, node, connection)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)
                 ON CONFLICT (aor, contact_key) DO UPDATE SET
                     contact = excluded.contact, q = excluded.q, expires_ms = excluded.expires_ms,
                     updated_ms = excluded.updated_ms, call_id = excluded.call_id, cseq = excluded.cseq,
                     transport = excluded.transport, source = excluded.source,
                     instance = excluded.instance, reg_id = excluded.reg_id,
                     path = excluded.path, user_agent = excluded.user_agent,
                     node = excluded.node, connection = excluded.connection",
            )?
            .execute(params![
                aor,
                b.key(),
                b.contact,
                b.q.thousandths(),
                ms(b.expires_at)?,
                ms(b.updated_at)?,
                b.call_id,
                b.cseq,
                b.source.transport.as_lowercase(),
                b.source.addr.to_string(),
                b.instance,
                b.reg_id,
                path,
                b.user_agent,
                b.node,
                b.connection.map(|c| c.to_string()),
            ])?;
        }
        Change::Remove(uri) => {
            tx.prepare_cached("DELETE FROM bindings WHERE aor = ?1 AND contact_key = ?2")?
                .execute(params![aor, contact_key(uri)])?;
        }
        Change::RemoveAll => {
            tx.prepare_cached("DELETE FROM bindings WHERE aor = ?1")?
                .execute(params![aor])?;
        }
    }
    Ok(())
}

fn count_usize(n: i64) -> usize {
    // COUNT(*) is never negative.
    usize::try_from(n).unwrap_or(0)
}

impl LocationService for SqliteStore {
    fn lookup(&self, aor: &str, now: UnixMs) -> Result<Vec<Binding>> {
        self.read(|conn| load(conn, aor, now))
    }

    fn update(
        &self,
        aor: &str,
        now: UnixMs,
        decide: &mut dyn FnMut(&[Binding]) -> Plan,
    ) -> Result<Vec<Binding>> {
        // The writer's lock is held from the read to the write, and the
        // transaction is IMMEDIATE: nothing, in this process or another,
        // changes the AOR between what `decide` sees and what is written.
        self.write(|conn| apply_plan(conn, aor, now, decide))
    }

    fn begin_batch(&self) -> Result<()> {
        let mut batch = self.lock_batch();
        batch.armed = true;
        Ok(())
    }

    fn end_batch(&self) -> Result<()> {
        let mut batch = self.lock_batch();
        batch.armed = false;
        let Some(wrote) = batch.wrote.take() else {
            return Ok(());
        };
        let mut w = self.writer.lock();
        if let Some(done) = w.settled(wrote) {
            // Another worker's end of batch committed ours with its own.
            return done;
        }
        // Ours is the open transaction: commit it, with whatever the other
        // workers wrote in it meanwhile.
        w.commit();
        w.settled(wrote).unwrap_or(Ok(()))
    }

    fn remove_all(&self, aor: &str) -> Result<usize> {
        self.write(|conn| {
            let n = conn
                .prepare_cached("DELETE FROM bindings WHERE aor = ?1")?
                .execute(params![aor])?;
            Ok((n, n > 0))
        })
    }

    fn purge_expired(&self, now: UnixMs) -> Result<usize> {
        self.write(|conn| {
            let n = conn
                .prepare_cached("DELETE FROM bindings WHERE expires_ms <= ?1")?
                .execute(params![ms(now)?])?;
            Ok((n, n > 0))
        })
    }

    fn count(&self, now: UnixMs) -> Result<Counts> {
        self.read(|conn| {
            let (bindings, aors) = conn
                .prepare_cached(
                    "SELECT COUNT(*), COUNT(DISTINCT aor) FROM bindings WHERE expires_ms > ?1",
                )?
                .query_row(params![ms(now)?], |row| {
                    Ok((row.get::<_, i64>(0)?, row.get::<_, i64>(1)?))
                })?;
            Ok(Counts {
                bindings: count_usize(bindings),
                aors: count_usize(aors),
            })
        })
    }

    fn is_known(&self, aor: &str) -> Result<bool> {
        self.read(|conn| {
            let found = conn
                .prepare_cached("SELECT 1 FROM aors WHERE aor = ?1")?
                .query_row(params![aor], |_| Ok(()))
                .optional()?;
            Ok(found.is_some())
        })
    }
}
