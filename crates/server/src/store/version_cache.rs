//! What one [`super::RedisStore`] last read or wrote per AOR, so that a
//! REGISTER can be decided and written in one round trip (an optimistic
//! compare-and-set on the cached version), and the version tokens it
//! writes.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::binding::Binding;
use crate::time::UnixMs;

/// The version an AOR without `:m` (never registered, or lost by Redis) is
/// read as. No token is ever this.
pub(crate) const ABSENT: &str = "0";

/// An AOR's version and live bindings (reply order) as this store last read
/// or wrote them.
#[derive(Debug)]
pub(crate) struct Entry {
    pub version: String,
    pub live: Vec<Binding>,
}

type Map = HashMap<String, Entry, foldhash::fast::RandomState>;

/// A bounded map AOR → [`Entry`]: two generations of at most
/// [`VersionCache::CAPACITY`] / 2 AORs each. Entries go into the young one;
/// when it is full the old one is dropped and the young one becomes the
/// old one, so an AOR used within the last half capacity of insertions is
/// still there (a cheap approximation of LRU, O(1) per operation).
#[derive(Debug, Default)]
pub(crate) struct VersionCache {
    young: Map,
    old: Map,
}

impl VersionCache {
    /// At most this many AORs are cached per store (per worker).
    pub const CAPACITY: usize = 65_536;

    /// Removes and returns the AOR's entry: the caller decides on it and
    /// puts back what it then reads or writes (an update that fails leaves
    /// nothing cached for the AOR).
    pub fn take(&mut self, aor: &str) -> Option<Entry> {
        self.young.remove(aor).or_else(|| self.old.remove(aor))
    }

    /// Caches the AOR's `version` and `live` bindings; an absent AOR is not
    /// cached (deciding on "absent" is what an uncached AOR does anyway).
    pub fn put(&mut self, aor: &str, version: String, live: Vec<Binding>) {
        self.old.remove(aor);
        if version == ABSENT {
            self.young.remove(aor);
            return;
        }
        if self.young.len() >= Self::CAPACITY / 2 && !self.young.contains_key(aor) {
            self.old = std::mem::take(&mut self.young);
        }
        self.young.insert(aor.to_owned(), Entry { version, live });
    }

    /// Replaces the AOR's entry if it is cached with another version
    /// (a lookup read it); an AOR not cached stays so.
    pub fn refresh(&mut self, aor: &str, version: &str, live: &[Binding]) {
        let entry = match self.young.get_mut(aor) {
            Some(e) => e,
            None => match self.old.get_mut(aor) {
                Some(e) => e,
                None => return,
            },
        };
        if entry.version != version {
            if version == ABSENT {
                self.forget(aor);
            } else {
                entry.version = version.to_owned();
                entry.live = live.to_vec();
            }
        }
    }

    /// Drops the AOR's entry (after an error).
    pub fn forget(&mut self, aor: &str) {
        self.young.remove(aor);
        self.old.remove(aor);
    }

    /// Drops every entry (after a reconnect).
    pub fn clear(&mut self) {
        self.young.clear();
        self.old.clear();
    }

    /// How many AORs are cached.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.young.len() + self.old.len()
    }
}

impl Entry {
    /// The cached bindings still live at `now`, in reply order.
    pub fn live_at(mut self, now: UnixMs) -> (String, Vec<Binding>) {
        self.live.retain(|b| b.is_live(now));
        (self.version, self.live)
    }
}

/// Version tokens, one per write: a keyed hash (SipHash with random keys
/// drawn for this generator) of a counter, in [2^61, 2^62) as decimal. A
/// token is never reused as a counter is after Redis loses writes (an AOF
/// restart), so a cached version matches only the state written with it:
/// another write has another token except with probability 2^-61 per
/// pair. It stays an integer below 2^62 so that an older sipkit, which
/// bumps the version with HINCRBY, can share the Redis.
#[derive(Debug)]
pub(crate) struct Tokens {
    key: std::collections::hash_map::RandomState,
    next: AtomicU64,
}

impl Tokens {
    pub fn new() -> Self {
        Self {
            key: std::collections::hash_map::RandomState::new(),
            next: AtomicU64::new(0),
        }
    }

    /// A fresh token.
    pub fn next(&self) -> String {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let mut h = self.key.build_hasher();
        h.write_u64(n);
        ((h.finish() >> 3) | (1 << 61)).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn live(n: usize) -> Vec<Binding> {
        Vec::with_capacity(n)
    }

    #[test]
    fn tokens_are_distinct_integers_in_range() {
        let t = Tokens::new();
        let mut seen = std::collections::HashSet::new();
        for _ in 0..10_000 {
            let v: u64 = t.next().parse().unwrap();
            assert!((1 << 61..1 << 62).contains(&v), "{v}");
            assert!(seen.insert(v));
        }
        // Another generator (another store or node) draws other tokens.
        let u = Tokens::new();
        assert!(!seen.contains(&u.next().parse::<u64>().unwrap()));
    }

    #[test]
    fn the_cache_is_bounded_and_keeps_the_recent_half() {
        let mut c = VersionCache::default();
        let n = VersionCache::CAPACITY * 3;
        for i in 0..n {
            c.put(&format!("sip:{i}@h"), "7".to_owned(), live(0));
            assert!(c.len() <= VersionCache::CAPACITY);
        }
        for i in n - VersionCache::CAPACITY / 2..n {
            assert!(c.take(&format!("sip:{i}@h")).is_some(), "{i}");
        }
        assert!(c.take("sip:0@h").is_none());
    }

    #[test]
    fn absent_is_not_cached_and_refresh_only_touches_cached_aors() {
        let mut c = VersionCache::default();
        c.put("a", ABSENT.to_owned(), live(0));
        assert_eq!(c.len(), 0);
        c.refresh("a", "9", &[]);
        assert_eq!(c.len(), 0);
        c.put("a", "8".to_owned(), live(0));
        c.refresh("a", "9", &[]);
        assert_eq!(c.take("a").unwrap().version, "9");
        c.put("a", "8".to_owned(), live(0));
        c.refresh("a", ABSENT, &[]);
        assert_eq!(c.len(), 0);
        c.put("a", "8".to_owned(), live(0));
        c.clear();
        assert!(c.take("a").is_none());
    }
}
