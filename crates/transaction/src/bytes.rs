//! Message bytes shared between a transaction, its retransmissions and the
//! events handed to the TU, without copying.

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

/// An immutable, cheaply cloned view of message bytes.
///
/// A transaction keeps its request (and its last response or ACK) once;
/// every [`crate::Transmit`] and [`crate::Event`] carrying it clones the
/// handle, not the bytes.
#[derive(Clone)]
pub struct SharedBytes {
    buf: Arc<[u8]>,
    start: u32,
    end: u32,
}

impl SharedBytes {
    /// Copies `bytes` into a new shared buffer.
    pub fn copy_from(bytes: &[u8]) -> SharedBytes {
        SharedBytes::sub(Arc::from(bytes), 0)
    }

    /// The view of `buf[start..]`. Messages are bounded by the parser's size
    /// limit (64 KiB by default), far below `u32::MAX`.
    pub(crate) fn sub(buf: Arc<[u8]>, start: usize) -> SharedBytes {
        let end = u32::try_from(buf.len()).unwrap_or(u32::MAX);
        let start = u32::try_from(start).unwrap_or(u32::MAX).min(end);
        SharedBytes { buf, start, end }
    }

    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        // start ≤ end ≤ buf.len() by construction.
        self.buf
            .get(self.start as usize..self.end as usize)
            .unwrap_or(&[])
    }
}

impl Deref for SharedBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl AsRef<[u8]> for SharedBytes {
    fn as_ref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl PartialEq for SharedBytes {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for SharedBytes {}

impl PartialEq<[u8]> for SharedBytes {
    fn eq(&self, other: &[u8]) -> bool {
        self.as_slice() == other
    }
}

impl fmt::Debug for SharedBytes {
    /// The first line of the message, then the length.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.as_slice();
        let line = b.split(|&c| c == b'\r' || c == b'\n').next().unwrap_or(b);
        write!(f, "{:?} ({} bytes)", String::from_utf8_lossy(line), b.len())
    }
}
