//! Replay detection for nonce counts (RFC 7616 §3.4: the server "SHOULD"
//! check that `nc` grows): the highest `nc` seen per nonce, in a table of
//! bounded size per node.
//!
//! When the table is full the oldest nonce is dropped; every nonce issued
//! up to that one's time is then treated as stale (the client re-answers
//! a `stale=true` challenge without asking its user), so an evicted nonce
//! can never be replayed.

use std::collections::{HashMap, VecDeque};

use crate::time::UnixMs;

/// The verdict on one (nonce, nc).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NcCheck {
    /// A higher `nc` than any seen with this nonce: recorded.
    Fresh,
    /// The same or a lower `nc` than one already accepted.
    Replay,
    /// The nonce may have been dropped from a full table: re-challenge
    /// with `stale=true`.
    Forgotten,
}

/// The last accepted `nc` per nonce.
#[derive(Debug, Clone)]
pub struct ReplayTable {
    capacity: usize,
    last: HashMap<[u8; 16], u32>,
    order: VecDeque<([u8; 16], UnixMs)>,
    /// Nonces issued at or before this are refused as forgotten.
    floor: Option<UnixMs>,
}

impl ReplayTable {
    /// A table for at most `capacity` nonces (at least 1).
    pub fn new(capacity: usize) -> ReplayTable {
        ReplayTable {
            capacity: capacity.max(1),
            last: HashMap::new(),
            order: VecDeque::new(),
            floor: None,
        }
    }

    /// How many nonces are remembered.
    pub fn len(&self) -> usize {
        self.last.len()
    }

    /// Whether no nonce is remembered.
    pub fn is_empty(&self) -> bool {
        self.last.is_empty()
    }

    /// Checks and records `nc` for the nonce `id` issued at `issued`;
    /// nonces older than `lifetime_ms` at `now` are dropped first (they are
    /// refused as stale before they get here).
    pub fn check(
        &mut self,
        id: [u8; 16],
        issued: UnixMs,
        nc: u32,
        now: UnixMs,
        lifetime_ms: u64,
    ) -> NcCheck {
        while let Some((old, at)) = self.order.front().copied() {
            if now.as_millis().saturating_sub(at.as_millis()) > lifetime_ms {
                self.order.pop_front();
                self.last.remove(&old);
            } else {
                break;
            }
        }
        if let Some(last) = self.last.get_mut(&id) {
            if nc <= *last {
                return NcCheck::Replay;
            }
            *last = nc;
            return NcCheck::Fresh;
        }
        if self.floor.is_some_and(|f| issued <= f) {
            return NcCheck::Forgotten;
        }
        while self.last.len() >= self.capacity {
            let Some((old, at)) = self.order.pop_front() else {
                break;
            };
            if self.last.remove(&old).is_some() {
                self.floor = Some(self.floor.map_or(at, |f| f.max(at)));
            }
        }
        self.last.insert(id, nc);
        self.order.push_back((id, issued));
        NcCheck::Fresh
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: UnixMs = UnixMs::from_millis(1_800_000_000_000);

    #[test]
    fn same_or_lower_nc_is_a_replay() {
        let mut t = ReplayTable::new(10);
        assert_eq!(t.check([1; 16], T0, 1, T0, 300_000), NcCheck::Fresh);
        assert_eq!(t.check([1; 16], T0, 1, T0, 300_000), NcCheck::Replay);
        assert_eq!(t.check([1; 16], T0, 2, T0, 300_000), NcCheck::Fresh);
        assert_eq!(t.check([1; 16], T0, 1, T0, 300_000), NcCheck::Replay);
        assert_eq!(t.check([2; 16], T0, 1, T0, 300_000), NcCheck::Fresh);
    }

    #[test]
    fn bounded_and_evicted_nonces_are_never_replayable() {
        let mut t = ReplayTable::new(3);
        for i in 0..10u8 {
            let at = T0.plus_millis(u64::from(i));
            assert_eq!(t.check([i; 16], at, 1, at, 300_000), NcCheck::Fresh);
            assert!(t.len() <= 3);
        }
        let now = T0.plus_millis(10);
        // Nonce 0 was evicted: refused, not accepted again.
        assert_eq!(t.check([0; 16], T0, 1, now, 300_000), NcCheck::Forgotten);
        assert_eq!(t.check([0; 16], T0, 5, now, 300_000), NcCheck::Forgotten);
        // Nonce 9 is still there.
        assert_eq!(
            t.check([9; 16], T0.plus_millis(9), 1, now, 300_000),
            NcCheck::Replay
        );
        // A nonce issued later than every evicted one is fine.
        assert_eq!(t.check([42; 16], now, 1, now, 300_000), NcCheck::Fresh);
    }

    #[test]
    fn expired_nonces_leave_without_raising_the_floor() {
        let mut t = ReplayTable::new(2);
        t.check([1; 16], T0, 1, T0, 1000);
        t.check([2; 16], T0, 1, T0, 1000);
        let later = T0.plus_secs(2);
        assert_eq!(t.check([3; 16], later, 1, later, 1000), NcCheck::Fresh);
        assert_eq!(t.len(), 1);
        assert_eq!(t.check([4; 16], later, 1, later, 1000), NcCheck::Fresh);
    }
}
