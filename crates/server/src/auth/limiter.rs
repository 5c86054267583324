//! A token bucket per source IP address, checked for every datagram or
//! framed message before it is parsed, so a flood from one source costs a
//! hash lookup per packet and does not starve the others.

use std::collections::HashMap;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::time::UnixMs;

/// What happens to a source over its rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OverLimit {
    /// Its messages are dropped unanswered for `penalty_s`.
    #[default]
    Drop,
    /// Its requests are answered `503 Service Unavailable` with
    /// `Retry-After: penalty_s` for `penalty_s`.
    Busy,
}

/// `[auth.rate_limit]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimitSection {
    /// Messages per second a source may send on average; 0 turns the
    /// limit off. Default 200.
    pub rate_per_s: f64,
    /// How many may come at once above the average. Default 400.
    pub burst: f64,
    /// `drop` (default) or `busy` (503 + Retry-After).
    pub over: OverLimit,
    /// How long a source over its rate stays limited, in seconds. Default 10.
    pub penalty_s: u32,
    /// Sources tracked at most; idle ones are forgotten first. Default 65536.
    pub max_sources: usize,
}

impl Default for RateLimitSection {
    fn default() -> Self {
        RateLimitSection {
            rate_per_s: 200.0,
            burst: 400.0,
            over: OverLimit::Drop,
            penalty_s: 10,
            max_sources: 65_536,
        }
    }
}

impl Eq for RateLimitSection {}

/// The verdict on one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admit {
    /// Handle it.
    Pass,
    /// Ignore it.
    Drop,
    /// Answer 503 with this Retry-After.
    Busy(u32),
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    last: UnixMs,
    limited_until: UnixMs,
}

/// The buckets.
#[derive(Debug, Clone)]
pub struct RateLimiter {
    cfg: RateLimitSection,
    buckets: HashMap<IpAddr, Bucket>,
}

impl RateLimiter {
    /// A limiter with these settings.
    pub fn new(cfg: RateLimitSection) -> RateLimiter {
        RateLimiter {
            cfg,
            buckets: HashMap::new(),
        }
    }

    /// Sources tracked.
    pub fn len(&self) -> usize {
        self.buckets.len()
    }

    /// Whether no source is tracked.
    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty()
    }

    /// Takes one token for a message from `ip` at `now`. The second value
    /// is true when this message put the source over its rate.
    pub fn admit(&mut self, now: UnixMs, ip: IpAddr) -> (Admit, bool) {
        let c = self.cfg;
        if c.rate_per_s <= 0.0 {
            return (Admit::Pass, false);
        }
        if !self.buckets.contains_key(&ip) && self.buckets.len() >= c.max_sources.max(1) {
            self.forget_idle(now);
        }
        let b = self.buckets.entry(ip).or_insert(Bucket {
            tokens: c.burst,
            last: now,
            limited_until: UnixMs::from_millis(0),
        });
        let elapsed = now.as_millis().saturating_sub(b.last.as_millis()) as f64 / 1000.0;
        b.tokens = (b.tokens + elapsed * c.rate_per_s).min(c.burst.max(1.0));
        b.last = now;
        let limited = |until: UnixMs| match c.over {
            OverLimit::Drop => Admit::Drop,
            OverLimit::Busy => Admit::Busy(until.secs_until(now).max(1)),
        };
        if now < b.limited_until {
            // Still flooding: the penalty runs from its last message over
            // the rate.
            if b.tokens >= 1.0 {
                b.tokens -= 1.0;
            } else {
                b.limited_until = now.plus_secs(c.penalty_s);
            }
            return (limited(b.limited_until), false);
        }
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            return (Admit::Pass, false);
        }
        b.limited_until = now.plus_secs(c.penalty_s);
        (limited(b.limited_until), true)
    }

    /// Seconds left in the source's 503 period, when `over = "busy"` and
    /// it is in one.
    pub fn busy_for(&self, now: UnixMs, ip: IpAddr) -> Option<u32> {
        if self.cfg.over != OverLimit::Busy {
            return None;
        }
        let b = self.buckets.get(&ip)?;
        (now < b.limited_until).then(|| b.limited_until.secs_until(now).max(1))
    }

    /// Drops the buckets that are full and not limited (they behave as
    /// new); if that frees nothing, drops them all (fail open: a flood of
    /// spoofed sources must not grow memory).
    fn forget_idle(&mut self, now: UnixMs) {
        let c = self.cfg;
        self.buckets.retain(|_, b| {
            let elapsed = now.as_millis().saturating_sub(b.last.as_millis()) as f64 / 1000.0;
            now < b.limited_until || b.tokens + elapsed * c.rate_per_s < c.burst
        });
        if self.buckets.len() >= c.max_sources.max(1) {
            self.buckets.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: UnixMs = UnixMs::from_millis(1_800_000_000_000);

    fn cfg(over: OverLimit) -> RateLimitSection {
        RateLimitSection {
            rate_per_s: 10.0,
            burst: 20.0,
            over,
            penalty_s: 5,
            max_sources: 4,
        }
    }

    #[test]
    fn burst_then_rate_then_penalty() {
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let mut l = RateLimiter::new(cfg(OverLimit::Drop));
        for _ in 0..20 {
            assert_eq!(l.admit(T0, a), (Admit::Pass, false));
        }
        assert_eq!(l.admit(T0, a), (Admit::Drop, true));
        // Another source is unaffected.
        assert_eq!(l.admit(T0, b), (Admit::Pass, false));
        // Tokens came back after 1 s, but the penalty lasts 5 s.
        assert_eq!(l.admit(T0.plus_secs(1), a), (Admit::Drop, false));
        assert_eq!(l.admit(T0.plus_secs(5), a), (Admit::Pass, false));
    }

    #[test]
    fn busy_mode_says_when_to_retry() {
        let a: IpAddr = "2001:db8::1".parse().unwrap();
        let mut l = RateLimiter::new(cfg(OverLimit::Busy));
        for _ in 0..20 {
            l.admit(T0, a);
        }
        assert_eq!(l.admit(T0, a), (Admit::Busy(5), true));
        assert_eq!(l.admit(T0.plus_millis(3500), a), (Admit::Busy(2), false));
    }

    #[test]
    fn off_and_bounded() {
        let mut off = RateLimiter::new(RateLimitSection {
            rate_per_s: 0.0,
            ..cfg(OverLimit::Drop)
        });
        for _ in 0..1000 {
            assert_eq!(off.admit(T0, "192.0.2.1".parse().unwrap()).0, Admit::Pass);
        }
        let mut l = RateLimiter::new(cfg(OverLimit::Drop));
        for i in 0..100u8 {
            l.admit(T0, IpAddr::from([198, 51, 100, i]));
            assert!(l.len() <= 4);
        }
    }
}
