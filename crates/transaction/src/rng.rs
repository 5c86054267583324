//! The seeded generator behind branch ids and tags (STYLE.md habit 1:
//! randomness is an input). SplitMix64: tiny, fast, and the same sequence for
//! the same seed on every platform — not cryptographic, so seed it from the
//! operating system in the driver when branches must be hard to guess.

/// SplitMix64 (Steele, Lea, Flood 2014).
#[derive(Debug, Clone)]
pub(crate) struct SplitMix64(u64);

impl SplitMix64 {
    pub(crate) fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// `n` lowercase hex digits (n ≤ 16), appended to `out`.
    pub(crate) fn hex(&mut self, out: &mut String, n: usize) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let v = self.next_u64();
        for i in 0..n.min(16) {
            out.push(char::from(HEX[((v >> (60 - 4 * i)) & 0xf) as usize]));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_sequence() {
        let (mut a, mut b) = (SplitMix64::new(7), SplitMix64::new(7));
        for _ in 0..10 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
        let mut s = String::new();
        SplitMix64::new(1).hex(&mut s, 16);
        assert_eq!(s.len(), 16);
        assert!(s.bytes().all(|c| c.is_ascii_hexdigit()));
    }
}
