//! Stateless nonces (RFC 7616 §3.3 leaves the format to the server): the
//! issue time and 8 random bytes under an HMAC-SHA256 with a shared
//! secret, so any node holding the secret accepts any other node's nonces
//! and no node stores them.
//!
//! Wire form: 64 lowercase hex digits = issued-at (8 bytes, ms since the
//! epoch, big-endian) | random (8 bytes) | HMAC-SHA256(secret, first 16
//! bytes) truncated to 16 bytes.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::time::UnixMs;

/// The HMAC key of the nonces.
#[derive(Clone)]
pub struct NonceKey {
    mac: Hmac<Sha256>,
}

impl std::fmt::Debug for NonceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NonceKey(..)")
    }
}

/// What a nonce received in credentials is worth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonceState {
    /// Ours and within its lifetime.
    Fresh {
        /// Its identity for the replay table (the MAC).
        id: [u8; 16],
        /// When it was issued.
        issued: UnixMs,
    },
    /// Ours but older than the lifetime: re-challenge with `stale=true`.
    Stale,
    /// Not ours (bad MAC or format), or issued too far in the future.
    Invalid,
}

impl NonceKey {
    /// A key from the configured or stored secret (any length; 32 bytes of
    /// randomness is what `sipkit serve` generates).
    pub fn new(secret: &[u8]) -> NonceKey {
        // HMAC takes keys of any length; the error is unreachable.
        let mac = match Hmac::<Sha256>::new_from_slice(secret) {
            Ok(m) => m,
            Err(_) => unreachable_key(),
        };
        NonceKey { mac }
    }

    fn tag(&self, body: &[u8; 16]) -> [u8; 16] {
        let mut m = self.mac.clone();
        m.update(body);
        let full = m.finalize().into_bytes();
        let mut out = [0u8; 16];
        out.copy_from_slice(&full[..16]);
        out
    }

    /// A new nonce issued at `now` with the caller's random bytes.
    pub fn issue(&self, now: UnixMs, random: [u8; 8]) -> String {
        let mut body = [0u8; 16];
        body[..8].copy_from_slice(&now.as_millis().to_be_bytes());
        body[8..].copy_from_slice(&random);
        let tag = self.tag(&body);
        let mut all = [0u8; 32];
        all[..16].copy_from_slice(&body);
        all[16..].copy_from_slice(&tag);
        sipkit_digest::to_hex(&all)
    }

    /// Checks a nonce at `now`: the MAC in constant time, then the age
    /// (`lifetime_ms`) and the clock skew allowed into the future
    /// (`max_future_ms`, for nodes whose clocks differ).
    pub fn check(
        &self,
        nonce: &str,
        now: UnixMs,
        lifetime_ms: u64,
        max_future_ms: u64,
    ) -> NonceState {
        let Some(all) = unhex32(nonce) else {
            return NonceState::Invalid;
        };
        let mut body = [0u8; 16];
        body.copy_from_slice(&all[..16]);
        let tag = self.tag(&body);
        if !bool::from(tag.ct_eq(&all[16..])) {
            return NonceState::Invalid;
        }
        let mut ts = [0u8; 8];
        ts.copy_from_slice(&all[..8]);
        let issued = u64::from_be_bytes(ts);
        let now = now.as_millis();
        if issued > now.saturating_add(max_future_ms) {
            return NonceState::Invalid;
        }
        if now.saturating_sub(issued) > lifetime_ms {
            return NonceState::Stale;
        }
        NonceState::Fresh {
            id: tag,
            issued: UnixMs::from_millis(issued),
        }
    }
}

#[cold]
fn unreachable_key() -> Hmac<Sha256> {
    // `Hmac::new_from_slice` accepts every key length; a zero key keeps the
    // server running (nonces then fail to verify and clients re-register).
    match Hmac::<Sha256>::new_from_slice(&[0u8; 32]) {
        Ok(m) => m,
        Err(_) => unreachable_key(),
    }
}

fn unhex32(s: &str) -> Option<[u8; 32]> {
    let b = s.as_bytes();
    if b.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        let hi = hexval(b[2 * i])?;
        let lo = hexval(b[2 * i + 1])?;
        *o = (hi << 4) | lo;
    }
    Some(out)
}

fn hexval(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: UnixMs = UnixMs::from_millis(1_800_000_000_000);

    #[test]
    fn fresh_stale_future_forged() {
        let k = NonceKey::new(b"secret");
        let n = k.issue(T0, [1; 8]);
        assert_eq!(n.len(), 64);
        assert!(
            matches!(k.check(&n, T0, 300_000, 3000), NonceState::Fresh { issued, .. } if issued == T0)
        );
        assert!(matches!(
            k.check(&n, T0.plus_secs(300), 300_000, 3000),
            NonceState::Fresh { .. }
        ));
        assert_eq!(
            k.check(&n, T0.plus_millis(300_001), 300_000, 3000),
            NonceState::Stale
        );
        // Issued by a node whose clock is 3 s ahead: accepted; 3.001 s: not.
        let ahead = k.issue(T0.plus_secs(3), [2; 8]);
        assert!(matches!(
            k.check(&ahead, T0, 300_000, 3000),
            NonceState::Fresh { .. }
        ));
        let far = k.issue(T0.plus_millis(3001), [2; 8]);
        assert_eq!(k.check(&far, T0, 300_000, 3000), NonceState::Invalid);
        // Another secret, a flipped digit, garbage.
        assert_eq!(
            NonceKey::new(b"other").check(&n, T0, 300_000, 3000),
            NonceState::Invalid
        );
        let mut flipped = n.clone().into_bytes();
        flipped[3] = if flipped[3] == b'0' { b'1' } else { b'0' };
        let flipped = String::from_utf8(flipped).unwrap();
        assert_eq!(k.check(&flipped, T0, 300_000, 3000), NonceState::Invalid);
        assert_eq!(k.check("", T0, 300_000, 3000), NonceState::Invalid);
        assert_eq!(
            k.check(&"z".repeat(64), T0, 300_000, 3000),
            NonceState::Invalid
        );
        assert_eq!(k.check("é", T0, 300_000, 3000), NonceState::Invalid);
        // Another node with the same secret accepts it.
        assert!(matches!(
            NonceKey::new(b"secret").check(&n, T0, 300_000, 3000),
            NonceState::Fresh { .. }
        ));
    }
}
