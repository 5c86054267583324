//! Byte classes and small scanners for the RFC 3261 §25.1 grammar.
//!
//! Everything here works on bytes and returns positions; the callers slice
//! their `&str` only at ASCII delimiters, so slices always fall on UTF-8
//! character boundaries.

/// `token` characters (RFC 3261 §25.1).
const TOKEN: u16 = 1;
/// `word` characters (Call-ID), a superset of token.
const WORD: u16 = 2;
/// `unreserved` = alphanum / mark.
const UNRESERVED: u16 = 4;
/// `user-unreserved` extras allowed in a URI user part.
const USER: u16 = 8;
/// Extras allowed in a URI password.
const PASSWORD: u16 = 16;
/// `param-unreserved` extras allowed in URI parameters.
const PARAM: u16 = 32;
/// `hnv-unreserved` extras allowed in URI header names and values.
const HNV: u16 = 64;
/// Characters of `reserved / unreserved` (plus `%`), i.e. `uric` without the escape check.
const URIC: u16 = 128;
/// `UNRESERVED | USER` as one bit, so a run test is a single AND.
const USER_RUN: u16 = 256;
/// `UNRESERVED | PARAM` as one bit.
const PARAM_RUN: u16 = 512;

const fn build() -> [u16; 256] {
    let mut t = [0u16; 256];
    let mut i = 0;
    while i < 256 {
        let c = i as u8;
        let alnum = c.is_ascii_alphanumeric();
        let mark = matches!(
            c,
            b'-' | b'_' | b'.' | b'!' | b'~' | b'*' | b'\'' | b'(' | b')'
        );
        let mut v = 0;
        if alnum
            || matches!(
                c,
                b'-' | b'.' | b'!' | b'%' | b'*' | b'_' | b'+' | b'`' | b'\'' | b'~'
            )
        {
            v |= TOKEN | WORD;
        }
        if matches!(
            c,
            b'(' | b')'
                | b'<'
                | b'>'
                | b':'
                | b'\\'
                | b'"'
                | b'/'
                | b'['
                | b']'
                | b'?'
                | b'{'
                | b'}'
        ) {
            v |= WORD;
        }
        if alnum || mark {
            v |= UNRESERVED;
        }
        if matches!(c, b'&' | b'=' | b'+' | b'$' | b',' | b';' | b'?' | b'/') {
            v |= USER;
        }
        if matches!(c, b'&' | b'=' | b'+' | b'$' | b',') {
            v |= PASSWORD;
        }
        if matches!(c, b'[' | b']' | b'/' | b':' | b'&' | b'+' | b'$') {
            v |= PARAM;
        }
        if matches!(c, b'[' | b']' | b'/' | b'?' | b':' | b'+' | b'$') {
            v |= HNV;
        }
        if alnum
            || mark
            || matches!(
                c,
                b';' | b'/' | b'?' | b':' | b'@' | b'&' | b'=' | b'+' | b'$' | b',' | b'%'
            )
        {
            v |= URIC;
        }
        if v & (UNRESERVED | USER) != 0 {
            v |= USER_RUN;
        }
        if v & (UNRESERVED | PARAM) != 0 {
            v |= PARAM_RUN;
        }
        t[i] = v;
        i += 1;
    }
    t
}

static TABLE: [u16; 256] = build();

/// True for a `token` byte (RFC 3261 §25.1): alphanumeric or one of
/// ``-.!%*_+`'~``.
#[inline]
pub fn is_token(c: u8) -> bool {
    TABLE[c as usize] & TOKEN != 0
}
#[cfg(test)]
pub(crate) fn is_word(c: u8) -> bool {
    TABLE[c as usize] & WORD != 0
}
#[inline]
pub(crate) fn is_user(c: u8) -> bool {
    TABLE[c as usize] & USER_RUN != 0
}
#[inline]
pub(crate) fn is_password(c: u8) -> bool {
    TABLE[c as usize] & (UNRESERVED | PASSWORD) != 0
}
#[cfg(test)]
pub(crate) fn is_paramchar(c: u8) -> bool {
    TABLE[c as usize] & PARAM_RUN != 0
}
#[inline]
pub(crate) fn is_hnv(c: u8) -> bool {
    TABLE[c as usize] & (UNRESERVED | HNV) != 0
}
#[inline]
pub(crate) fn is_uric(c: u8) -> bool {
    TABLE[c as usize] & URIC != 0
}

/// Linear white space inside a header value: SP, HT, and the CR LF of a fold
/// (a raw header value only holds CR or LF as part of a fold, RFC 3261 §7.3.1).
#[inline]
pub(crate) const fn is_lws(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

/// Index of the first non-LWS byte at or after `i`.
#[inline]
pub(crate) fn skip_lws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && is_lws(b[i]) {
        i += 1;
    }
    i
}

/// End of a run of bytes satisfying `f`, starting at `i`.
#[inline]
pub(crate) fn take_while(b: &[u8], mut i: usize, f: impl Fn(u8) -> bool) -> usize {
    while i < b.len() && f(b[i]) {
        i += 1;
    }
    i
}

/// End of the run of bytes from `i` whose class has `bit`, four bytes a
/// step while it lasts (one AND of four table entries), then byte by byte.
/// Returns `i` itself when `i` is past the end, as [`take_while`] does.
#[inline(always)]
fn class_run(b: &[u8], mut i: usize, bit: u16) -> usize {
    while let Some(&[c0, c1, c2, c3]) = b.get(i..i.wrapping_add(4)) {
        let k = TABLE[c0 as usize] & TABLE[c1 as usize] & TABLE[c2 as usize] & TABLE[c3 as usize];
        if k & bit == 0 {
            break;
        }
        i += 4;
    }
    while i < b.len() && TABLE[b[i] as usize] & bit != 0 {
        i += 1;
    }
    i
}

/// `take_while(b, i, is_token)`, four bytes a step.
#[inline]
pub(crate) fn token_end(b: &[u8], i: usize) -> usize {
    class_run(b, i, TOKEN)
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// The high bit of the bytes of `x` below `n` (`n` at most 0x80), exact up
/// to and including the lowest such byte: a borrow may mark bytes above it,
/// never below, so the lowest bit set marks the first such byte.
#[inline(always)]
const fn bytes_below(x: u64, n: u8) -> u64 {
    x.wrapping_sub(ONES * n as u64) & !x & HIGHS
}

/// The first byte at or after `i` that is a control byte (below 0x20: CR,
/// LF, HT and the others) or, with `colon`, a ':'; eight bytes a step.
#[inline(always)]
pub(crate) fn find_control(b: &[u8], i: usize, colon: bool) -> Option<usize> {
    let stops = |c: u8| c < 0x20 || (colon && c == b':');
    let rest = b.get(i..)?;
    let (words, tail) = rest.as_chunks::<8>();
    for (k, w) in words.iter().enumerate() {
        // Byte 0 of the word in its low bits.
        let x = u64::from_le_bytes(*w);
        let mut m = bytes_below(x, 0x20);
        if colon {
            m |= bytes_below(x ^ (ONES * b':' as u64), 1);
        }
        if m != 0 {
            return Some(i + 8 * k + (m.trailing_zeros() / 8) as usize);
        }
    }
    let k = tail.iter().position(|&c| stops(c))?;
    Some(i + 8 * words.len() + k)
}

/// `take_while(b, i, is_word)`, four bytes a step.
#[inline]
pub(crate) fn word_end(b: &[u8], i: usize) -> usize {
    class_run(b, i, WORD)
}

/// `take_while(b, i, is_user)`, four bytes a step.
#[inline]
pub(crate) fn user_end(b: &[u8], i: usize) -> usize {
    class_run(b, i, USER_RUN)
}

/// `take_while(b, i, is_paramchar)`, four bytes a step.
#[inline]
pub(crate) fn paramchar_end(b: &[u8], i: usize) -> usize {
    class_run(b, i, PARAM_RUN)
}

/// True if `b[i..i + 3]` is a `%HH` escape.
#[inline]
pub(crate) fn escape_at(b: &[u8], i: usize) -> bool {
    matches!(b.get(i..i.wrapping_add(3)), Some(&[b'%', h, l]) if h.is_ascii_hexdigit() && l.is_ascii_hexdigit())
}

/// Checks a run of URI characters of class `f`, allowing `%HH` escapes.
/// Returns the offset of the first bad byte.
pub(crate) fn check_escaped(s: &[u8], f: impl Fn(u8) -> bool) -> Result<(), usize> {
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        if c == b'%' {
            if i + 2 < s.len() && s[i + 1].is_ascii_hexdigit() && s[i + 2].is_ascii_hexdigit() {
                i += 3;
                continue;
            }
            return Err(i);
        }
        if !f(c) {
            return Err(i);
        }
        i += 1;
    }
    Ok(())
}

/// Scans a quoted-string whose opening `"` is at `i`; returns the index just
/// past the closing quote, or `Err(pos)` with the position of the problem
/// (RFC 3261 §25.1: qdtext and quoted-pair).
pub(crate) fn quoted_string(b: &[u8], i: usize) -> Result<usize, (usize, &'static str)> {
    debug_assert!(b.get(i) == Some(&b'"'));
    /// Bytes a quoted string holds as they are: all but '"', '\\' and
    /// control bytes other than LWS.
    static PLAIN: [bool; 256] = {
        let mut t = [false; 256];
        let mut c = 0;
        while c < 256 {
            let u = c as u8;
            t[c] = !(u == b'"' || u == b'\\' || u == 0x7f || (u < 0x20 && !is_lws(u)));
            c += 1;
        }
        t
    };
    let mut j = i + 1;
    while j < b.len() {
        if PLAIN[b[j] as usize] {
            j += 1;
            continue;
        }
        match b[j] {
            b'"' => return Ok(j + 1),
            b'\\' => {
                // quoted-pair = "\" (%x00-09 / %x0B-0C / %x0E-7F)
                match b.get(j + 1) {
                    Some(&c) if c <= 0x7f && c != b'\r' && c != b'\n' => j += 2,
                    _ => return Err((j, "a valid escape after '\\' in a quoted string")),
                }
            }
            b' ' | b'\t' | b'\r' | b'\n' => j += 1,
            c if c < 0x20 || c == 0x7f => {
                return Err((
                    j,
                    "printable characters in a quoted string (escape control bytes)",
                ))
            }
            _ => j += 1,
        }
    }
    Err((i, "a closing '\"' for the quoted string"))
}

/// Scans a comment whose `(` is at `i`, with nesting bounded by `max_depth`
/// (RFC 3261 §25.1 `comment`). Returns the index past the closing `)`.
pub(crate) fn comment(
    b: &[u8],
    i: usize,
    max_depth: usize,
) -> Result<usize, (usize, &'static str)> {
    let mut depth = 0usize;
    let mut j = i;
    while j < b.len() {
        match b[j] {
            b'(' => {
                depth += 1;
                if depth > max_depth {
                    return Err((j, "comments nested no deeper than the limit"));
                }
                j += 1;
            }
            b')' => {
                depth -= 1;
                j += 1;
                if depth == 0 {
                    return Ok(j);
                }
            }
            b'\\' => match b.get(j + 1) {
                Some(&c) if c <= 0x7f && c != b'\r' && c != b'\n' => j += 2,
                _ => return Err((j, "a valid escape after '\\' in a comment")),
            },
            c if c < 0x20 && !is_lws(c) => return Err((j, "printable characters in a comment")),
            _ => j += 1,
        }
    }
    Err((i, "a closing ')' for the comment"))
}

/// Parses a run of ASCII digits as u64, `None` on overflow or if empty.
pub(crate) fn digits_u64(s: &[u8]) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    let mut v: u64 = 0;
    for &c in s {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
    }
    Some(v)
}

/// Value of one hex digit.
#[inline]
pub(crate) fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Iterator over the bytes of `s` with `%HH` escapes decoded
/// (RFC 3261 §19.1.4 compares URI components after unescaping).
#[derive(Debug, Clone)]
pub struct Unescaped<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> Unescaped<'a> {
    /// Decodes `s` lazily; a `%` not followed by two hex digits is kept as is.
    pub fn new(s: &'a str) -> Self {
        Unescaped {
            s: s.as_bytes(),
            i: 0,
        }
    }
}

impl Iterator for Unescaped<'_> {
    type Item = u8;
    fn next(&mut self) -> Option<u8> {
        let c = *self.s.get(self.i)?;
        if c == b'%' {
            if let (Some(h), Some(l)) = (
                self.s.get(self.i + 1).and_then(|&c| hex_val(c)),
                self.s.get(self.i + 2).and_then(|&c| hex_val(c)),
            ) {
                self.i += 3;
                return Some(h << 4 | l);
            }
        }
        self.i += 1;
        Some(c)
    }
}

/// Decodes `%HH` escapes, borrowing when there are none.
pub fn unescape(s: &str) -> std::borrow::Cow<'_, [u8]> {
    if s.as_bytes().contains(&b'%') {
        std::borrow::Cow::Owned(Unescaped::new(s).collect())
    } else {
        std::borrow::Cow::Borrowed(s.as_bytes())
    }
}

/// Case-insensitive ASCII comparison of two strings after unescaping.
pub(crate) fn eq_unescaped_ci(a: &str, b: &str) -> bool {
    Unescaped::new(a)
        .map(|c| c.to_ascii_lowercase())
        .eq(Unescaped::new(b).map(|c| c.to_ascii_lowercase()))
}

/// Case-sensitive comparison of two strings after unescaping.
pub(crate) fn eq_unescaped(a: &str, b: &str) -> bool {
    Unescaped::new(a).eq(Unescaped::new(b))
}

/// Trims LWS (including folds) from both ends.
#[inline]
pub(crate) fn trim_lws(s: &str) -> &str {
    let b = s.as_bytes();
    let mut i = 0;
    let mut j = b.len();
    while i < j && is_lws(b[i]) {
        i += 1;
    }
    while j > i && is_lws(b[j - 1]) {
        j -= 1;
    }
    // Both ends sit next to ASCII bytes (or the string ends): char boundaries.
    &s[i..j]
}

/// Number of leading LWS bytes.
#[inline]
pub(crate) fn lead_lws(s: &str) -> usize {
    skip_lws(s.as_bytes(), 0)
}

/// Finds the CRLF CRLF that ends a header section.
pub(crate) fn find_head_end(b: &[u8]) -> Option<usize> {
    static FINDER: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"\r\n\r\n"));
    FINDER.find(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Eight bytes a step finds what a byte-by-byte search finds: the
        /// first control byte (or ':'), whatever bytes follow it.
        #[test]
        fn find_control_is_the_first(
            b in proptest::collection::vec(
                proptest::sample::select(vec![0u8, b'\t', b'\n', b'\r', 0x1f, b' ', b':', b'9', b'a', 0x7f, 0x80, 0xa0, 0xff]),
                0..40,
            ),
            i in 0usize..44,
        ) {
            for colon in [false, true] {
                let want = (i..b.len()).find(|&k| b[k] < 0x20 || (colon && b[k] == b':'));
                proptest::prop_assert_eq!(find_control(&b, i, colon), want);
            }
        }
    }

    #[test]
    fn classes() {
        assert!(is_token(b'!') && is_token(b'%') && !is_token(b'('));
        assert!(is_word(b'(') && is_word(b'"') && !is_word(b' '));
        assert!(is_user(b';') && is_user(b'?') && !is_user(b'@'));
        assert!(is_password(b'&') && !is_password(b';'));
    }

    #[test]
    fn runs_match_take_while() {
        // Every byte value at every offset of a run, and runs of each length.
        for c in 0..=255u8 {
            for len in 0..10 {
                for at in 0..len {
                    let mut v = vec![b'a'; len];
                    v[at] = c;
                    for i in 0..=len + 1 {
                        assert_eq!(token_end(&v, i), take_while(&v, i, is_token));
                        assert_eq!(user_end(&v, i), take_while(&v, i, is_user));
                        assert_eq!(paramchar_end(&v, i), take_while(&v, i, is_paramchar));
                    }
                }
            }
            let e = [b'%', c, b'1'];
            assert_eq!(escape_at(&e, 0), c.is_ascii_hexdigit());
            assert!(!escape_at(&e[..2], 0) && !escape_at(&e, 1) && !escape_at(&e, 9));
        }
    }

    #[test]
    fn quoted() {
        assert_eq!(quoted_string(br#""a\"b" x"#, 0), Ok(6));
        assert!(quoted_string(br#""abc"#, 0).is_err());
        assert!(quoted_string(b"\"a\x01\"", 0).is_err());
        assert_eq!(quoted_string(b"\"a\\\x00\"", 0), Ok(5));
    }

    #[test]
    fn comments_nest_with_limit() {
        assert_eq!(comment(b"(a (b) c) d", 0, 4), Ok(9));
        assert!(comment(b"((((((x))))))", 0, 4).is_err());
        assert!(comment(b"(open", 0, 4).is_err());
    }

    #[test]
    fn unescaping() {
        assert_eq!(&*unescape("a%41%zz"), b"aA%zz");
        assert!(eq_unescaped("%75se%72", "user"));
        assert!(eq_unescaped_ci("%6C%72", "LR"));
        assert_eq!(digits_u64(b"0009"), Some(9));
        assert_eq!(digits_u64(b"99999999999999999999999"), None);
    }
}
