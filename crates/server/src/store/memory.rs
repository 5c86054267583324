//! The in-memory location service: for tests and `--db :memory:`.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::binding::{reply_order, Binding, Plan};
use crate::error::Result;
use crate::store::{after_state, Counts, LocationService};
use crate::time::UnixMs;

/// How many independently locked parts the map is split into.
const SHARDS: usize = 64;

type Shard = HashMap<String, Vec<Binding>, foldhash::fast::RandomState>;

/// A location service held in memory; nothing survives the process. The
/// map is split into 64 shards by a hash of the AOR, each behind
/// its own mutex, so workers on different AORs do not wait for each other
/// (no global lock). Every operation on an AOR is atomic (its shard's lock
/// held throughout); `count` and `purge_expired` visit the shards in turn.
#[derive(Debug)]
pub struct MemoryStore {
    /// AOR → its bindings, expired ones possibly included until purged; an
    /// AOR whose bindings are all gone stays as an empty list ("known").
    shards: Box<[Mutex<Shard>]>,
    /// Picks an AOR's shard.
    hasher: foldhash::fast::RandomState,
}

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            hasher: foldhash::fast::RandomState::default(),
        }
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The shard holding `aor`, locked.
    fn lock(&self, aor: &str) -> MutexGuard<'_, Shard> {
        let i = (self.hasher.hash_one(aor) as usize) % self.shards.len();
        lock(&self.shards[i])
    }
}

fn lock(shard: &Mutex<Shard>) -> MutexGuard<'_, Shard> {
    // A panic inside `update`'s decision happens before the map is
    // touched (the new list is computed first, then swapped in), so a
    // poisoned map is still consistent.
    shard.lock().unwrap_or_else(PoisonError::into_inner)
}

impl LocationService for MemoryStore {
    fn lookup(&self, aor: &str, now: UnixMs) -> Result<Vec<Binding>> {
        let map = self.lock(aor);
        let mut live: Vec<Binding> = map
            .get(aor)
            .map(|list| list.iter().filter(|b| b.is_live(now)).cloned().collect())
            .unwrap_or_default();
        live.sort_by(reply_order);
        Ok(live)
    }

    fn lookup_replies(&self, aor: &str, now: UnixMs) -> Result<Vec<crate::ContactReply>> {
        let map = self.lock(aor);
        let mut live: Vec<&Binding> = map
            .get(aor)
            .map(|list| list.iter().filter(|b| b.is_live(now)).collect())
            .unwrap_or_default();
        live.sort_by(|a, b| reply_order(a, b));
        Ok(live.into_iter().map(|b| b.reply(now)).collect())
    }

    fn update(
        &self,
        aor: &str,
        now: UnixMs,
        decide: &mut dyn FnMut(&[Binding]) -> Plan,
    ) -> Result<Vec<Binding>> {
        let mut map = self.lock(aor);
        let mut current: Vec<Binding> = map
            .get(aor)
            .map(|list| list.iter().filter(|b| b.is_live(now)).cloned().collect())
            .unwrap_or_default();
        current.sort_by(reply_order);
        match decide(&current) {
            Plan::Abort => Ok(current),
            Plan::Commit(changes) => {
                let after = after_state(current, &changes, now);
                let adds = changes
                    .iter()
                    .any(|c| matches!(c, crate::Change::Upsert(b) if b.is_live(now)));
                match map.get_mut(aor) {
                    Some(list) => list.clone_from(&after),
                    None if adds => {
                        map.insert(aor.to_owned(), after.clone());
                    }
                    None => {}
                }
                Ok(after)
            }
        }
    }

    fn remove_all(&self, aor: &str) -> Result<usize> {
        let mut map = self.lock(aor);
        Ok(map
            .get_mut(aor)
            .map_or(0, |list| std::mem::take(list).len()))
    }

    fn purge_expired(&self, now: UnixMs) -> Result<usize> {
        let mut purged = 0;
        for shard in self.shards.iter() {
            for list in lock(shard).values_mut() {
                let before = list.len();
                list.retain(|b| b.is_live(now));
                purged += before - list.len();
            }
        }
        Ok(purged)
    }

    fn count(&self, now: UnixMs) -> Result<Counts> {
        let mut counts = Counts::default();
        for shard in self.shards.iter() {
            for list in lock(shard).values() {
                let live = list.iter().filter(|b| b.is_live(now)).count();
                counts.bindings += live;
                counts.aors += usize::from(live > 0);
            }
        }
        Ok(counts)
    }

    fn is_known(&self, aor: &str) -> Result<bool> {
        Ok(self.lock(aor).contains_key(aor))
    }
}
