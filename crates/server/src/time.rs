//! Wall-clock time as an input.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A wall-clock instant: milliseconds since the Unix epoch.
///
/// Binding expiry is persisted, so it is wall-clock time (a monotonic
/// `Instant` means nothing after a restart). Every function of this crate
/// takes it as an argument; only the IO edge reads the clock, once per input,
/// with [`UnixMs::from_system_time`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct UnixMs(pub u64);

impl UnixMs {
    /// The instant `ms` milliseconds after the epoch.
    pub const fn from_millis(ms: u64) -> Self {
        Self(ms)
    }

    /// Converts a `SystemTime` read by the caller; instants before the epoch
    /// become the epoch.
    pub fn from_system_time(t: SystemTime) -> Self {
        let d = t.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
        Self(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    /// Milliseconds since the epoch.
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// This instant plus `secs` seconds (saturating).
    pub const fn plus_secs(self, secs: u32) -> Self {
        Self(self.0.saturating_add(secs as u64 * 1000))
    }

    /// This instant plus `ms` milliseconds (saturating).
    pub const fn plus_millis(self, ms: u64) -> Self {
        Self(self.0.saturating_add(ms))
    }

    /// Whole seconds from `now` until `self`, rounded up, so a binding with
    /// 0.4 s left is reported as 1 s and not as 0 (which would read as
    /// "removed"); 0 once `self` is not after `now`.
    pub fn secs_until(self, now: UnixMs) -> u32 {
        let ms = self.0.saturating_sub(now.0);
        u32::try_from(ms.div_ceil(1000)).unwrap_or(u32::MAX)
    }
}

impl fmt::Display for UnixMs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ms", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secs_until_rounds_up_and_saturates() {
        let now = UnixMs(10_000);
        assert_eq!(UnixMs(10_000).secs_until(now), 0);
        assert_eq!(UnixMs(9_000).secs_until(now), 0);
        assert_eq!(UnixMs(10_001).secs_until(now), 1);
        assert_eq!(UnixMs(11_000).secs_until(now), 1);
        assert_eq!(UnixMs(11_001).secs_until(now), 2);
        assert_eq!(UnixMs(u64::MAX).secs_until(UnixMs(0)), u32::MAX);
    }

    #[test]
    fn plus_secs_saturates() {
        assert_eq!(UnixMs(1).plus_secs(2), UnixMs(2001));
        assert_eq!(UnixMs(u64::MAX - 1).plus_secs(1), UnixMs(u64::MAX));
    }

    #[test]
    fn from_system_time_before_epoch_is_epoch() {
        let t = UNIX_EPOCH - Duration::from_secs(5);
        assert_eq!(UnixMs::from_system_time(t), UnixMs(0));
        let t = UNIX_EPOCH + Duration::from_millis(1234);
        assert_eq!(UnixMs::from_system_time(t), UnixMs(1234));
    }
}
