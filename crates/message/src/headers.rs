//! The header store: the header lines of a message or fragment as compact
//! offset slots into the header section's text (inline for a typical
//! message), and the [`Header`] values they yield. No parsing here.

use crate::name::HeaderName;

/// One header line: its name (known or `Other`), the name as written, and the
/// value as written with surrounding whitespace trimmed (folds stay inside).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header<'a> {
    /// The name, compact forms mapped to the full name.
    pub name: HeaderName,
    /// The name exactly as written (`v`, `MaX-fOrWaRdS`, `X-Custom`).
    pub raw_name: &'a str,
    /// The value as written (may hold CRLF+WSP folds, RFC 3261 §7.3.1).
    pub value: &'a str,
}

impl Default for Header<'_> {
    fn default() -> Self {
        Header {
            name: HeaderName::Other,
            raw_name: "",
            value: "",
        }
    }
}

impl<'a> Header<'a> {
    /// True if this header has the given name (known names by identity,
    /// others by case-insensitive spelling; compact forms resolve).
    pub fn is(&self, name: &str) -> bool {
        match HeaderName::from_bytes(name.as_bytes()) {
            HeaderName::Other => {
                self.name == HeaderName::Other && self.raw_name.eq_ignore_ascii_case(name)
            }
            n => self.name == n,
        }
    }

    /// The value with every fold (CRLF + whitespace) and run of whitespace collapsed to one space.
    pub fn value_unfolded(&self) -> String {
        self.value
            .split_ascii_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Header slots kept inline for a typical message; only a message with more
/// than [`INLINE_HEADERS`] header lines spills to the heap.
pub const INLINE_HEADERS: usize = 32;

/// One header line as offsets into the header section's text: 20 bytes
/// instead of the 40 of a [`Header`], so the inline store is small to set up
/// and to move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Slot {
    name: HeaderName,
    name_len: u32,
    name_at: u32,
    value_at: u32,
    value_len: u32,
}

/// An unused slot: never read (a slot past `len` is not), and all zero
/// bytes, so a new store is set up with plain zeroing in place.
const EMPTY_SLOT: Slot = Slot {
    name: HeaderName::Accept,
    name_len: 0,
    name_at: 0,
    value_at: 0,
    value_len: 0,
};

/// The largest header section the slots can address.
pub(crate) const MAX_HEAD: usize = u32::MAX as usize;

/// Header lines: inline up to [`INLINE_HEADERS`], on the heap beyond.
#[derive(Debug, Clone)]
pub(crate) struct HeaderStore<'a> {
    /// The text the slots' offsets point into.
    text: &'a str,
    len: usize,
    slots: [Slot; INLINE_HEADERS],
    /// Every slot once there are more than fit inline; empty until then.
    heap: Vec<Slot>,
}

/// `u32` offset: the splitter rejects a header section that ends past
/// `u32::MAX` ([`MAX_HEAD`]), so this never saturates.
#[inline(always)]
fn off(x: usize) -> u32 {
    u32::try_from(x).unwrap_or(u32::MAX)
}

impl<'a> HeaderStore<'a> {
    #[inline(always)]
    pub(crate) fn new() -> Self {
        HeaderStore {
            text: "",
            len: 0,
            slots: [EMPTY_SLOT; INLINE_HEADERS],
            heap: Vec::new(),
        }
    }

    /// Sets the text the offsets of [`push`](Self::push) point into.
    #[inline(always)]
    pub(crate) fn set_text(&mut self, text: &'a str) {
        self.text = text;
    }

    /// Appends a line: its name, and the ranges of `text` holding the name
    /// as written and the value.
    #[inline(always)]
    pub(crate) fn push(
        &mut self,
        name: HeaderName,
        raw_name: std::ops::Range<usize>,
        value: std::ops::Range<usize>,
    ) {
        let slot = Slot {
            name,
            name_len: off(raw_name.len()),
            name_at: off(raw_name.start),
            value_at: off(value.start),
            value_len: off(value.len()),
        };
        if self.len < INLINE_HEADERS {
            self.slots[self.len] = slot;
        } else {
            self.spill(slot);
        }
        self.len += 1;
    }

    #[cold]
    fn spill(&mut self, slot: Slot) {
        if self.heap.is_empty() {
            self.heap.reserve(INLINE_HEADERS * 2);
            self.heap.extend_from_slice(&self.slots);
        }
        self.heap.push(slot);
    }

    /// Sets the value of the last line pushed.
    #[inline(always)]
    pub(crate) fn set_last_value(&mut self, value: std::ops::Range<usize>) {
        let last = match self.len {
            0 => return,
            n if n <= INLINE_HEADERS => self.slots.get_mut(n - 1),
            _ => self.heap.last_mut(),
        };
        if let Some(s) = last {
            s.value_at = off(value.start);
            s.value_len = off(value.len());
        }
    }

    #[inline(always)]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    #[inline(always)]
    fn slot(&self, i: usize) -> Option<&Slot> {
        if i >= self.len {
            None
        } else if self.len <= INLINE_HEADERS {
            self.slots.get(i)
        } else {
            self.heap.get(i)
        }
    }

    /// The name of line `i`.
    #[inline(always)]
    pub(crate) fn name(&self, i: usize) -> Option<HeaderName> {
        self.slot(i).map(|s| s.name)
    }

    /// The text at `at..at + len`.
    #[inline(always)]
    fn text(&self, at: u32, len: u32) -> &'a str {
        let at = at as usize;
        self.text
            .get(at..at.saturating_add(len as usize))
            .unwrap_or("")
    }

    /// Line `i`.
    #[inline(always)]
    pub(crate) fn get(&self, i: usize) -> Option<Header<'a>> {
        let s = self.slot(i)?;
        Some(Header {
            name: s.name,
            raw_name: self.text(s.name_at, s.name_len),
            value: self.text(s.value_at, s.value_len),
        })
    }

    /// The value of line `i`.
    #[inline(always)]
    pub(crate) fn value(&self, i: usize) -> Option<&'a str> {
        let s = self.slot(i)?;
        Some(self.text(s.value_at, s.value_len))
    }

    pub(crate) fn iter(&self) -> Headers<'_, 'a> {
        Headers {
            store: self,
            front: 0,
            back: self.len,
        }
    }
}

/// The header lines of a message or fragment, in order (see [`Head::headers`](crate::Head::headers)).
#[derive(Debug, Clone)]
pub struct Headers<'m, 'a> {
    store: &'m HeaderStore<'a>,
    front: usize,
    back: usize,
}

impl<'a> Iterator for Headers<'_, 'a> {
    type Item = Header<'a>;
    #[inline]
    fn next(&mut self) -> Option<Header<'a>> {
        if self.front >= self.back {
            return None;
        }
        let h = self.store.get(self.front);
        self.front += 1;
        h
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.back - self.front;
        (n, Some(n))
    }
    fn nth(&mut self, n: usize) -> Option<Header<'a>> {
        self.front = self.front.saturating_add(n).min(self.back);
        self.next()
    }
}

impl<'a> DoubleEndedIterator for Headers<'_, 'a> {
    fn next_back(&mut self) -> Option<Header<'a>> {
        if self.front >= self.back {
            return None;
        }
        self.back -= 1;
        self.store.get(self.back)
    }
}

impl ExactSizeIterator for Headers<'_, '_> {}
impl std::iter::FusedIterator for Headers<'_, '_> {}

/// Index value meaning "no such header" in `Parts::first`.
pub(crate) const NONE: u16 = u16::MAX;

/// Byte offset of `inner` within `outer`, if it lies there (0 otherwise).
pub(crate) fn offset_in(outer: &[u8], inner: &str) -> usize {
    let o = outer.as_ptr() as usize;
    let i = inner.as_ptr() as usize;
    if i >= o && i <= o + outer.len() {
        i - o
    } else {
        0
    }
}
