//! Failed authentications counted per source and per user, and timed bans.
//!
//! Only wrong credentials count: a request without credentials (the
//! normal first leg of every registration), a stale nonce or a replayed
//! retransmission never does, so a phone is not punished for the
//! challenge it is supposed to get.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::time::UnixMs;

/// `[auth.ban]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BanSection {
    /// Failed authentications from one source IP within `window_s` that
    /// ban it; 0 never bans a source. Default 10.
    pub source_failures: u32,
    /// Failed authentications for one user name within `window_s` (from
    /// any sources) that ban the name: every authentication as that user
    /// then fails, except from an address that authenticated as the user in
    /// the last 24 hours, so a distributed guesser cannot lock the user's
    /// own phone out. 0 never bans a user. Default 20.
    pub user_failures: u32,
    /// The counting window, in seconds. Default 600.
    pub window_s: u32,
    /// How long a ban lasts, in seconds. Default 1800.
    pub ban_s: u32,
    /// Sources and users counted at most. Default 65536.
    pub max_tracked: usize,
}

impl Default for BanSection {
    fn default() -> Self {
        BanSection {
            source_failures: 10,
            user_failures: 20,
            window_s: 600,
            ban_s: 1800,
            max_tracked: 65_536,
        }
    }
}

/// What is banned.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BanTarget {
    /// Every message from this address is ignored.
    Source(IpAddr),
    /// Every authentication as this user fails.
    User(String),
}

impl fmt::Display for BanTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BanTarget::Source(ip) => write!(f, "source {ip}"),
            BanTarget::User(u) => write!(f, "user {u}"),
        }
    }
}

impl BanTarget {
    /// `source` or `user`.
    pub fn kind(&self) -> &'static str {
        match self {
            BanTarget::Source(_) => "source",
            BanTarget::User(_) => "user",
        }
    }

    /// The address or the user name.
    pub fn value(&self) -> String {
        match self {
            BanTarget::Source(ip) => ip.to_string(),
            BanTarget::User(u) => u.clone(),
        }
    }

    /// The target of [`BanTarget::kind`] and [`BanTarget::value`] as
    /// stored; `None` for an unknown kind or a source that is not an IP
    /// address.
    pub fn from_parts(kind: &str, value: &str) -> Option<BanTarget> {
        match kind {
            "source" => value.parse().ok().map(BanTarget::Source),
            "user" => Some(BanTarget::User(value.to_owned())),
            _ => None,
        }
    }
}

/// One ban.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ban {
    /// What is banned.
    pub target: BanTarget,
    /// When it ends.
    pub until: UnixMs,
    /// Why (`failures`, `manual`).
    pub reason: String,
}

/// How long an address that authenticated as a user stays exempt from
/// that user's ban.
const KNOWN_GOOD_MS: u64 = 24 * 3600 * 1000;

/// Addresses remembered per user as known good.
const GOOD_PER_USER: usize = 4;

#[derive(Debug, Clone, Copy)]
struct Counter {
    count: u32,
    since: UnixMs,
}

/// Counters and bans.
#[derive(Debug, Clone)]
pub struct Bans {
    cfg: BanSection,
    by_source: HashMap<IpAddr, Counter>,
    by_user: HashMap<String, Counter>,
    bans: HashMap<BanTarget, Ban>,
    /// Per user, the addresses that last authenticated as it, and when.
    good: HashMap<String, Vec<(IpAddr, UnixMs)>>,
}

impl Bans {
    /// Empty, with these settings.
    pub fn new(cfg: BanSection) -> Bans {
        Bans {
            cfg,
            by_source: HashMap::new(),
            by_user: HashMap::new(),
            bans: HashMap::new(),
            good: HashMap::new(),
        }
    }

    /// Counts one failed authentication; returns the bans it caused.
    pub fn record_failure(&mut self, now: UnixMs, source: IpAddr, user: &str) -> Vec<Ban> {
        let c = self.cfg;
        let mut new = Vec::new();
        let window = u64::from(c.window_s) * 1000;
        let bump = |ctr: &mut Counter| {
            if now.as_millis().saturating_sub(ctr.since.as_millis()) > window {
                *ctr = Counter {
                    count: 0,
                    since: now,
                };
            }
            ctr.count = ctr.count.saturating_add(1);
            ctr.count
        };
        if c.source_failures > 0 {
            if self.by_source.len() >= c.max_tracked.max(1) && !self.by_source.contains_key(&source)
            {
                prune(&mut self.by_source, now, window, c.max_tracked);
            }
            let ctr = self.by_source.entry(source).or_insert(Counter {
                count: 0,
                since: now,
            });
            if bump(ctr) >= c.source_failures {
                self.by_source.remove(&source);
                new.push(self.ban(BanTarget::Source(source), now, c.ban_s, "failures"));
            }
        }
        if c.user_failures > 0 {
            if self.by_user.len() >= c.max_tracked.max(1) && !self.by_user.contains_key(user) {
                prune(&mut self.by_user, now, window, c.max_tracked);
            }
            let ctr = self.by_user.entry(user.to_owned()).or_insert(Counter {
                count: 0,
                since: now,
            });
            if bump(ctr) >= c.user_failures {
                self.by_user.remove(user);
                new.push(self.ban(BanTarget::User(user.to_owned()), now, c.ban_s, "failures"));
            }
        }
        new
    }

    /// Forgets a source's failures after it authenticated as `user`, and
    /// remembers it as a known good address of the user (only while user
    /// bans are on).
    pub fn record_success(&mut self, now: UnixMs, source: IpAddr, user: &str) {
        self.by_source.remove(&source);
        if self.cfg.user_failures == 0 {
            return;
        }
        if !self.good.contains_key(user) && self.good.len() >= self.cfg.max_tracked.max(1) {
            self.good.retain(|_, v| {
                v.retain(|(_, at)| now.as_millis().saturating_sub(at.as_millis()) <= KNOWN_GOOD_MS);
                !v.is_empty()
            });
            if self.good.len() >= self.cfg.max_tracked.max(1) {
                self.good.clear();
            }
        }
        let list = self.good.entry(user.to_owned()).or_default();
        list.retain(|(ip, _)| *ip != source);
        if list.len() >= GOOD_PER_USER {
            list.remove(0);
        }
        list.push((source, now));
    }

    /// Whether authentication as `user` from `source` is refused at `now`:
    /// the user is banned and `source` is not one of its known good
    /// addresses.
    pub fn user_banned_for(&self, now: UnixMs, user: &str, source: IpAddr) -> bool {
        if self.bans.is_empty() || !self.is_banned(now, &BanTarget::User(user.to_owned())) {
            return false;
        }
        !self.good.get(user).is_some_and(|v| {
            v.iter().any(|(ip, at)| {
                *ip == source && now.as_millis().saturating_sub(at.as_millis()) <= KNOWN_GOOD_MS
            })
        })
    }

    /// Adds or extends a ban.
    pub fn ban(&mut self, target: BanTarget, now: UnixMs, secs: u32, reason: &str) -> Ban {
        let ban = Ban {
            target: target.clone(),
            until: now.plus_secs(secs),
            reason: reason.to_owned(),
        };
        self.bans.insert(target, ban.clone());
        ban
    }

    /// Puts a ban in place as given (loaded from the database).
    pub fn insert(&mut self, ban: Ban) {
        self.bans.insert(ban.target.clone(), ban);
    }

    /// Lifts a ban; whether there was one.
    pub fn remove(&mut self, target: &BanTarget) -> bool {
        self.bans.remove(target).is_some()
    }

    /// Whether `target` is banned at `now`.
    pub fn is_banned(&self, now: UnixMs, target: &BanTarget) -> bool {
        self.bans.get(target).is_some_and(|b| now < b.until)
    }

    /// Whether the source is banned at `now` (no allocation: the hot path).
    pub fn source_banned(&self, now: UnixMs, ip: IpAddr) -> bool {
        !self.bans.is_empty() && self.is_banned(now, &BanTarget::Source(ip))
    }

    /// Removes and returns the bans over at `now`.
    pub fn expire(&mut self, now: UnixMs) -> Vec<Ban> {
        let mut gone = Vec::new();
        self.bans.retain(|_, b| {
            let keep = now < b.until;
            if !keep {
                gone.push(b.clone());
            }
            keep
        });
        gone
    }

    /// The bans in force at `now`, sorted.
    pub fn list(&self, now: UnixMs) -> Vec<Ban> {
        let mut v: Vec<Ban> = self
            .bans
            .values()
            .filter(|b| now < b.until)
            .cloned()
            .collect();
        v.sort_by(|a, b| a.target.cmp(&b.target));
        v
    }
}

/// Drops counters whose window is over; if that is not enough, all of them.
fn prune<K: std::hash::Hash + Eq>(
    m: &mut HashMap<K, Counter>,
    now: UnixMs,
    window: u64,
    max: usize,
) {
    m.retain(|_, c| now.as_millis().saturating_sub(c.since.as_millis()) <= window);
    if m.len() >= max.max(1) {
        m.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: UnixMs = UnixMs::from_millis(1_800_000_000_000);

    #[test]
    fn source_banned_after_n_failures_in_window() {
        let ip: IpAddr = "192.0.2.9".parse().unwrap();
        let mut b = Bans::new(BanSection {
            source_failures: 3,
            window_s: 60,
            ban_s: 100,
            ..BanSection::default()
        });
        assert!(b.record_failure(T0, ip, "100").is_empty());
        // The window restarts after 60 s.
        assert!(b.record_failure(T0.plus_secs(61), ip, "100").is_empty());
        assert!(b.record_failure(T0.plus_secs(62), ip, "101").is_empty());
        let new = b.record_failure(T0.plus_secs(63), ip, "102");
        assert_eq!(new.len(), 1);
        assert_eq!(new[0].target, BanTarget::Source(ip));
        assert!(b.source_banned(T0.plus_secs(63), ip));
        assert!(b.source_banned(T0.plus_secs(162), ip));
        assert!(!b.source_banned(T0.plus_secs(163), ip));
        assert_eq!(b.list(T0.plus_secs(100)).len(), 1);
        assert_eq!(b.expire(T0.plus_secs(163)).len(), 1);
        assert!(b.list(T0.plus_secs(100)).is_empty());
    }

    #[test]
    fn success_resets_and_users_ban_when_configured() {
        let ip: IpAddr = "192.0.2.9".parse().unwrap();
        let mut b = Bans::new(BanSection {
            source_failures: 2,
            user_failures: 3,
            ..BanSection::default()
        });
        b.record_failure(T0, ip, "alice");
        b.record_success(T0, ip, "alice");
        assert!(b.record_failure(T0, ip, "alice").is_empty());
        let other: IpAddr = "192.0.2.10".parse().unwrap();
        let new = b.record_failure(T0, other, "alice");
        assert_eq!(new[0].target, BanTarget::User("alice".into()));
        assert!(b.is_banned(T0, &BanTarget::User("alice".into())));
        // Refused from elsewhere, not from the address that authenticated.
        assert!(b.user_banned_for(T0, "alice", other));
        assert!(!b.user_banned_for(T0, "alice", ip));
        assert!(!b.user_banned_for(T0, "bob", other));
        assert!(b.remove(&BanTarget::User("alice".into())));
        assert!(!b.is_banned(T0, &BanTarget::User("alice".into())));
    }

    #[test]
    fn counters_stay_bounded() {
        let mut b = Bans::new(BanSection {
            source_failures: 1000,
            max_tracked: 16,
            ..BanSection::default()
        });
        for i in 0..200u16 {
            b.record_failure(T0, IpAddr::from([10, 0, (i >> 8) as u8, i as u8]), "x");
            assert!(b.by_source.len() <= 16, "{}", b.by_source.len());
        }
    }
}
