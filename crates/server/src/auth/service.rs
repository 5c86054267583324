//! The authenticator behind a lock, its database and its log, and the two
//! places the server calls it: [`Service::admit`] for every message before
//! it is parsed, and [`Service::authenticate`] before a request reaches the
//! registrar or the location lookup.

use std::net::IpAddr;
use std::sync::{Mutex, MutexGuard, PoisonError};

use sipkit_message::{HeaderName, Method, Request};

use super::bans::Ban;
use super::decide::{AuthEvent, AuthInput, Authenticator, Verdict};
use super::limiter::Admit;
use super::store::AuthStore;
use super::users::{UserRecord, Users};
use crate::binding::TransportAddr;
use crate::sip::{Reply, Service};
use crate::time::UnixMs;

/// How often the guard looks at the store for user and ban changes made by
/// `sipkit user` / `sipkit ban` or by other nodes, in milliseconds.
const SYNC_MS: u64 = 2000;

/// Bans decided here that wait for the store at most.
const MAX_UNSAVED: usize = 4096;

/// An [`Authenticator`] shared by the server's tasks, synchronised with the
/// store's users and bans ([`AuthStore`]: SQLite or Redis), logging its events through `tracing`.
#[derive(Debug)]
pub struct Guard {
    inner: Mutex<State>,
}

#[derive(Debug)]
struct State {
    auth: Authenticator,
    /// The store; taken out while one caller exchanges with it.
    db: Option<Box<dyn AuthStore>>,
    /// Whether a caller is exchanging with the store right now.
    syncing: bool,
    next_sync: UnixMs,
    users_version: i64,
    /// Users from the configuration, kept when the database's are reloaded.
    config_users: Vec<UserRecord>,
    dummy_password: String,
    /// Bans made here and not yet written to the store (where the other
    /// nodes pick them up).
    unsaved: Vec<Ban>,
    /// Events counted since start (for the metrics).
    stats: crate::metrics::AuthStats,
}

impl Guard {
    /// A guard around `auth`; with `db`, users and bans are kept in step
    /// with the store every two seconds, and the bans this guard decides
    /// are written to it at the next message. `config_users` are the users
    /// given in the configuration (kept across reloads); `dummy_password`
    /// is the unknown users' stand-in, as given to [`Users::new`].
    pub fn new(
        mut auth: Authenticator,
        db: Option<Box<dyn AuthStore>>,
        config_users: Vec<UserRecord>,
        dummy_password: String,
    ) -> Guard {
        // auth.challenge and auth.ok are logged at debug level only.
        auth.set_routine_events(tracing::enabled!(tracing::Level::DEBUG));
        let users_version = db
            .as_ref()
            .and_then(|d| d.users_version().ok())
            .unwrap_or(0);
        Guard {
            inner: Mutex::new(State {
                auth,
                db,
                syncing: false,
                next_sync: UnixMs::from_millis(0),
                users_version,
                config_users,
                dummy_password,
                unsaved: Vec::new(),
                stats: crate::metrics::AuthStats::default(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves consistent tables (each
        // update is one call): keep serving.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether to handle a message from `ip` at all (see
    /// [`Authenticator::admit`]); a 503 period counts as handled.
    pub fn admit(&self, now: UnixMs, ip: IpAddr) -> bool {
        self.sync(now);
        let mut st = self.lock();
        let a = st.auth.admit(now, ip);
        st.flush_events();
        a != Admit::Drop
    }

    /// Expires bans and, every [`SYNC_MS`], exchanges users and bans with
    /// the store: writes the bans decided here, purges expired ones, reads
    /// the bans and, when their version moved, the users. The store is
    /// called without the lock held (one worker does it while the others
    /// go on with what they have), so a slow or unreachable Redis delays
    /// only the message that triggered the exchange.
    fn sync(&self, now: UnixMs) {
        let (db, unsaved, known_version) = {
            let mut st = self.lock();
            if now < st.next_sync || st.syncing {
                return;
            }
            st.next_sync = now.plus_millis(SYNC_MS);
            st.auth.expire(now);
            let Some(db) = st.db.take() else {
                st.unsaved.clear();
                return;
            };
            st.syncing = true;
            (db, std::mem::take(&mut st.unsaved), st.users_version)
        };
        let (fetched, unwritten) = exchange(&*db, now, unsaved, known_version);
        let mut st = self.lock();
        st.db = Some(db);
        st.syncing = false;
        // Those not written first (the older), then those decided meanwhile.
        let newer = std::mem::replace(&mut st.unsaved, unwritten);
        st.unsaved.extend(newer);
        match fetched {
            Ok(fetched) => st.apply(now, fetched),
            Err(e) => {
                tracing::warn!(error = %e, "could not synchronise users and bans with the database");
            }
        }
    }

    /// The verdict on one request, and the challenge header values when it
    /// is a challenge.
    pub fn check(&self, now: UnixMs, input: &AuthInput<'_>) -> (Verdict, Vec<String>) {
        let mut st = self.lock();
        let v = st.auth.check(now, input);
        // Counted here: their events are recorded only at debug level.
        match &v {
            Verdict::Challenge { .. } => st.stats.challenges += 1,
            Verdict::Pass { user: Some(_) } => st.stats.ok += 1,
            _ => {}
        }
        let ch = match &v {
            Verdict::Challenge { stale, .. } => st.auth.challenges(now, *stale),
            _ => Vec::new(),
        };
        st.flush_events();
        (v, ch)
    }

    /// Seconds of 503 left for `ip`, if any.
    pub fn busy(&self, now: UnixMs, ip: IpAddr) -> Option<u32> {
        self.lock().auth.busy(now, ip)
    }

    /// The bans in force at `now`.
    pub fn bans(&self, now: UnixMs) -> Vec<Ban> {
        self.lock().auth.bans().list(now)
    }

    /// Challenges, accepted and refused credentials and bans made since
    /// start, and the bans in force at `now` (for the metrics).
    pub fn stats(&self, now: UnixMs) -> crate::metrics::AuthStats {
        let st = self.lock();
        crate::metrics::AuthStats {
            bans_active: st.auth.bans().list(now).len() as u64,
            ..st.stats
        }
    }

    /// How many users can authenticate.
    pub fn user_count(&self) -> usize {
        self.lock().auth.users().len()
    }
}

impl State {
    /// Takes what the store returned: its bans are the list (added ones
    /// enforced, removed ones lifted), except bans decided here and not yet
    /// written; a new users version brings the store's users, which
    /// override configured users of the same name, unless the store lost
    /// its users altogether (version 0).
    fn apply(&mut self, now: UnixMs, (stored, users): Fetched) {
        let pending = |unsaved: &[Ban], b: &Ban| unsaved.iter().any(|u| u.target == b.target);
        let bans = self.auth.bans_mut();
        for b in bans.list(now) {
            if !stored.iter().any(|s| s.target == b.target) && !pending(&self.unsaved, &b) {
                bans.remove(&b.target);
            }
        }
        for s in stored {
            if !pending(&self.unsaved, &s) {
                bans.insert(s);
            }
        }
        if let Some((version, stored_users)) = users {
            if version == 0 && self.users_version != 0 {
                // No user was ever removed from this store: it was emptied
                // (a Redis restarted without persistence, a FLUSHALL).
                // Dropping every user would let everyone in.
                tracing::error!(
                    users = self.auth.users().len(),
                    "the store no longer holds any user data (emptied? Redis restarted without persistence?): keeping the users read before; add them again with sipkit user add"
                );
                self.users_version = 0;
                return;
            }
            self.users_version = version;
            let realm = self.auth.settings().realm.clone();
            let mut all = self.config_users.clone();
            all.extend(stored_users);
            let users = Users::new(&realm, all, &self.dummy_password);
            tracing::info!(users = users.len(), "users reloaded from the database");
            self.auth.set_users(users);
        }
    }

    fn flush_events(&mut self) {
        let new = self.auth.take_new_bans();
        if !new.is_empty() {
            self.unsaved.extend(new);
            // While the store is down they wait; the oldest go first past
            // a bound (they are still enforced here until they expire).
            if self.unsaved.len() > MAX_UNSAVED {
                let over = self.unsaved.len() - MAX_UNSAVED;
                self.unsaved.drain(..over);
            }
            // Write them at the next message.
            self.next_sync = UnixMs::from_millis(0);
        }
        for e in self.auth.take_events() {
            match e.name {
                "auth.fail" => self.stats.fail += 1,
                "ban.add" => self.stats.bans_added += 1,
                _ => {}
            }
            log(&e);
        }
    }
}

/// What an exchange brings back: the bans in force, and the users with
/// their version when it moved.
type Fetched = (Vec<Ban>, Option<(i64, Vec<UserRecord>)>);

/// The store's side of [`Guard::sync`]: purges expired bans, writes
/// `unsaved` (those it could not write come back, to be tried at the next
/// exchange), and returns the bans in force and, when the users version is no
/// longer `known_version`, the new version and the users.
fn exchange(
    db: &dyn AuthStore,
    now: UnixMs,
    mut unsaved: Vec<Ban>,
    known_version: i64,
) -> (crate::Result<Fetched>, Vec<Ban>) {
    let fetched = (|| {
        // First the call that carries `now` (a Redis store measures its
        // reconnect backoff with it).
        db.purge_bans(now)?;
        while let Some(b) = unsaved.first() {
            db.put_ban(b)?;
            unsaved.remove(0);
        }
        let bans = db.bans(now)?;
        let version = db.users_version()?;
        let users = if version == known_version {
            None
        } else {
            Some((version, db.users()?))
        };
        Ok((bans, users))
    })();
    (fetched, unsaved)
}

/// Writes one event with its stable name as the message, so a log line
/// reads `... WARN auth.fail source=192.0.2.7 user="100" realm="sipkit"
/// reason="wrong_credentials"` (the fail2ban filter in `contrib/` matches it).
fn log(e: &AuthEvent) {
    let source = e.source.map_or_else(|| "-".to_owned(), |ip| ip.to_string());
    let (user, realm, reason) = (e.user.as_str(), e.realm.as_str(), e.reason);
    match e.name {
        "auth.challenge" => {
            tracing::debug!(source = %source, user, realm, reason, "auth.challenge")
        }
        "auth.ok" => tracing::debug!(source = %source, user, realm, reason, "auth.ok"),
        "auth.fail" => tracing::warn!(source = %source, user, realm, reason, "auth.fail"),
        "ban.add" => tracing::warn!(source = %source, user, realm, reason, "ban.add"),
        _ => tracing::info!(source = %source, user, realm, reason, "{}", e.name),
    }
}

impl Service {
    /// Whether to handle a message from `source` at all: false for a
    /// banned source or one over its rate (with `over = "drop"`). Call it
    /// for every received message, before parsing; true without
    /// authentication.
    pub fn admit(&self, now: UnixMs, source: std::net::SocketAddr) -> bool {
        match &self.auth {
            Some(g) => g.admit(now, source.ip()),
            None => true,
        }
    }

    /// The reply that authentication gives instead of the service's, if
    /// any: 503 in a rate-limit period; for REGISTER 401, and for a request
    /// the server answers itself (INVITE, OPTIONS to a user, SUBSCRIBE,
    /// REFER, MESSAGE, PUBLISH) 407, before any location lookup; 400 for
    /// malformed credentials; 403 for a REGISTER by another user.
    pub(crate) fn authenticate(
        &self,
        now: UnixMs,
        req: &Request<'_>,
        source: TransportAddr,
        top_via: Option<&str>,
    ) -> Option<Reply> {
        let guard = self.auth.as_ref()?;
        let ip = source.addr.ip();
        let busy = |retry_after: u32| {
            self.reply(
                req,
                503,
                "Service Unavailable",
                top_via,
                &[("Retry-After", retry_after.to_string())],
                b"",
            )
        };
        let method = req.method();
        let register = method == Method::Register;
        let challenged = match method {
            Method::Register
            | Method::Invite
            | Method::Subscribe
            | Method::Refer
            | Method::Message
            | Method::Publish => true,
            Method::Options => req.uri().user.is_some(),
            _ => false,
        };
        if !challenged {
            return guard.busy(now, ip).map(busy);
        }
        let header = if register {
            HeaderName::Authorization
        } else {
            HeaderName::ProxyAuthorization
        };
        let credentials: Vec<&str> = req.headers_named(header).map(|h| h.value).collect();
        let input = AuthInput {
            method: req.method_str(),
            register,
            to_user: req.to().uri.user,
            credentials: &credentials,
            source: ip,
        };
        let (verdict, challenges) = guard.check(now, &input);
        Some(match verdict {
            Verdict::Pass { .. } => return None,
            Verdict::Challenge { proxy, .. } => {
                let (status, reason, name) = if proxy {
                    (407, "Proxy Authentication Required", "Proxy-Authenticate")
                } else {
                    (401, "Unauthorized", "WWW-Authenticate")
                };
                let extra: Vec<(&str, String)> =
                    challenges.into_iter().map(|c| (name, c)).collect();
                self.reply(req, status, reason, top_via, &extra, b"")
            }
            Verdict::Malformed { reason } => self.reply(
                req,
                400,
                "Bad Request",
                top_via,
                &[("Warning", warning(&reason))],
                b"",
            ),
            Verdict::Forbidden { reason } => self.reply(
                req,
                403,
                "Forbidden",
                top_via,
                &[("Warning", warning(reason))],
                b"",
            ),
            Verdict::Busy { retry_after } => busy(retry_after),
        })
    }
}

/// A Warning value (RFC 3261 §20.43): code 399 (miscellaneous), agent
/// `sipkit`, the text quoted with quotes and backslashes removed.
fn warning(text: &str) -> String {
    let clean: String = text
        .chars()
        .filter(|c| !matches!(c, '"' | '\\' | '\r' | '\n'))
        .collect();
    format!("399 sipkit \"{clean}\"")
}
