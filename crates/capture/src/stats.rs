//! Response-time statistics in constant memory: a histogram with
//! logarithmic buckets (each 2 % wider than the last), so percentiles over
//! millions of transactions cost a few kilobytes.

/// Bucket growth factor: a percentile is exact to within 2 %.
const GROWTH: f64 = 1.02;
/// Buckets: 1 µs × 1.02^1200 ≈ 2.0e10 µs ≈ 5.5 hours; longer lands in the last.
const BUCKETS: usize = 1200;

/// A histogram of durations.
#[derive(Debug, Clone, Default)]
pub struct Histogram {
    counts: Vec<u64>,
    n: u64,
    max_ns: i64,
}

impl Histogram {
    fn bucket(us: f64) -> usize {
        if us < 1.0 {
            return 0;
        }
        ((us.ln() / GROWTH.ln()) as usize + 1).min(BUCKETS - 1)
    }

    /// Adds a duration (negative ones count as zero).
    pub fn record_ns(&mut self, ns: i64) {
        if self.counts.is_empty() {
            self.counts = vec![0; BUCKETS];
        }
        let ns = ns.max(0);
        let b = Self::bucket(ns as f64 / 1000.0);
        if let Some(c) = self.counts.get_mut(b) {
            *c += 1;
        }
        self.n += 1;
        self.max_ns = self.max_ns.max(ns);
    }

    /// How many durations were added.
    pub fn count(&self) -> u64 {
        self.n
    }

    /// The `p`-th percentile (0–100) in milliseconds, `None` if empty.
    pub fn percentile_ms(&self, p: f64) -> Option<f64> {
        if self.n == 0 {
            return None;
        }
        let rank = ((p / 100.0) * self.n as f64).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (b, c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                let us = if b == 0 {
                    0.0
                } else {
                    // The middle (geometric) of the bucket [g^(b-1), g^b).
                    GROWTH.powf(b as f64 - 0.5)
                };
                let max_ms = self.max_ns as f64 / 1e6;
                return Some((us / 1000.0).min(max_ms));
            }
        }
        Some(self.max_ns as f64 / 1e6)
    }

    /// Non-empty buckets as (lower bound ms, upper bound ms, count), for plots.
    pub fn buckets_ms(&self) -> Vec<(f64, f64, u64)> {
        self.counts
            .iter()
            .enumerate()
            .filter(|(_, c)| **c > 0)
            .map(|(b, c)| {
                let lo = if b == 0 {
                    0.0
                } else {
                    GROWTH.powf(b as f64 - 1.0) / 1000.0
                };
                (lo, GROWTH.powf(b as f64) / 1000.0, *c)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_within_two_percent() {
        let mut h = Histogram::default();
        for ms in 1..=1000 {
            h.record_ns(ms * 1_000_000);
        }
        for (p, want) in [(50.0, 500.0), (95.0, 950.0), (99.0, 990.0)] {
            let got = h.percentile_ms(p).unwrap();
            assert!((got - want).abs() / want < 0.02, "p{p}: {got} vs {want}");
        }
        assert_eq!(h.count(), 1000);
        assert!(Histogram::default().percentile_ms(50.0).is_none());
    }
}
