//! The in-memory location service: for tests and `--db :memory:`.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::binding::{reply_order, Binding, Plan};
use crate::error::Result;
use crate::store::{after_state, Counts, LocationService};
use crate::time::UnixMs;

/// A location service held in a `HashMap` behind a mutex; nothing survives
/// the process. Every operation is atomic (one lock held throughout).
#[derive(Debug, Default)]
pub struct MemoryStore {
    /// AOR → its bindings, expired ones possibly included until purged; an
    /// AOR whose bindings are all gone stays as an empty list ("known").
    aors: Mutex<HashMap<String, Vec<Binding>, foldhash::fast::RandomState>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Vec<Binding>, foldhash::fast::RandomState>> {
        // A panic inside `update`'s decision happens before the map is
        // touched (the new list is computed first, then swapped in), so a
        // poisoned map is still consistent.
        self.aors.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl LocationService for MemoryStore {
    fn lookup(&self, aor: &str, now: UnixMs) -> Result<Vec<Binding>> {
        let map = self.lock();
        let mut live: Vec<Binding> = map
            .get(aor)
            .map(|list| list.iter().filter(|b| b.is_live(now)).cloned().collect())
            .unwrap_or_default();
        live.sort_by(reply_order);
        Ok(live)
    }

    fn lookup_replies(&self, aor: &str, now: UnixMs) -> Result<Vec<crate::ContactReply>> {
        let map = self.lock();
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
        let mut map = self.lock();
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
        let mut map = self.lock();
        Ok(map
            .get_mut(aor)
            .map_or(0, |list| std::mem::take(list).len()))
    }

    fn purge_expired(&self, now: UnixMs) -> Result<usize> {
        let mut map = self.lock();
        let mut purged = 0;
        for list in map.values_mut() {
            let before = list.len();
            list.retain(|b| b.is_live(now));
            purged += before - list.len();
        }
        Ok(purged)
    }

    fn count(&self, now: UnixMs) -> Result<Counts> {
        let map = self.lock();
        let mut counts = Counts::default();
        for list in map.values() {
            let live = list.iter().filter(|b| b.is_live(now)).count();
            counts.bindings += live;
            counts.aors += usize::from(live > 0);
        }
        Ok(counts)
    }

    fn is_known(&self, aor: &str) -> Result<bool> {
        Ok(self.lock().contains_key(aor))
    }
}
