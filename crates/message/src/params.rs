//! `;name=value` parameter lists of URIs (RFC 3261 §19.1.1) and of header
//! values (§7.3.1 `generic-param`), iterated lazily over the borrowed text.

use crate::scan;

/// One parameter: a name and an optional value. A header-parameter value that
/// is a quoted-string keeps its quotes; see [`Param::unquoted`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Param<'a> {
    /// Parameter name as written.
    pub name: &'a str,
    /// Value as written, `None` for a flag like `;lr`.
    pub value: Option<&'a str>,
}

impl<'a> Param<'a> {
    /// The value with surrounding quotes removed (escapes inside stay as written).
    pub fn unquoted(&self) -> Option<&'a str> {
        self.value.map(unquote)
    }
}

/// Strips one pair of surrounding double quotes, if present.
pub fn unquote(v: &str) -> &str {
    if v.len() >= 2 && v.starts_with('"') && v.ends_with('"') {
        &v[1..v.len() - 1]
    } else {
        v
    }
}

/// A validated parameter list, kept as text. The text starts at the first `;`
/// (or is empty). Iteration never fails: the list was checked when the value
/// that holds it was parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Params<'a> {
    raw: &'a str,
}

impl<'a> Params<'a> {
    pub(crate) fn new(raw: &'a str) -> Self {
        Params { raw }
    }

    /// The list as written, starting with `;` (empty if there are none).
    pub fn as_str(&self) -> &'a str {
        self.raw
    }

    /// True if there are no parameters.
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// Iterates the parameters in order.
    pub fn iter(&self) -> ParamIter<'a> {
        ParamIter { rest: self.raw }
    }

    /// The first parameter named `name` (ASCII case-insensitive).
    pub fn get(&self, name: &str) -> Option<Param<'a>> {
        let n = name.as_bytes();
        if n.is_empty() {
            // No parameter has an empty name.
            return None;
        }
        if scan::token_end(n, 0) != n.len() {
            return self.get_general(n);
        }
        // What `get_general` returns for a token (no LWS, ';', '"' or '='
        // in it), in one pass over each parameter: the name as written is `n`
        // when the parameter's text (after leading LWS) starts with `n` and
        // only LWS follows before its '=', its ';' or the end.
        let b = self.raw.as_bytes();
        let mut at = 0;
        while let Some(k) = b.get(at..)?.iter().position(|&c| c == b';') {
            let i = scan::skip_lws(b, at + k + 1);
            if b.get(i..i + n.len()).is_some_and(|w| eq_ci(w, n)) {
                let t = scan::skip_lws(b, i + n.len());
                let name = &self.raw[i..i + n.len()];
                match b.get(t) {
                    None | Some(b';') => return Some(Param { name, value: None }),
                    Some(b'=') => {
                        // The value: up to the next ';' outside quotes,
                        // without LWS at either end.
                        let mut e = piece_end(b, t + 1);
                        let v = scan::skip_lws(b, t + 1);
                        while e > v && scan::is_lws(b[e - 1]) {
                            e -= 1;
                        }
                        let value = Some(&self.raw[v..e]);
                        return Some(Param { name, value });
                    }
                    Some(_) => {}
                }
            }
            at = piece_end(b, i);
        }
        None
    }

    /// [`get`](Self::get) for any name: a parameter whose text (after
    /// leading LWS) does not start with `n` cannot be it.
    fn get_general(&self, n: &[u8]) -> Option<Param<'a>> {
        let b = self.raw.as_bytes();
        let mut at = 0;
        while let Some(k) = b.get(at..)?.iter().position(|&c| c == b';') {
            let start = at + k + 1;
            let end = piece_end(b, start);
            let mut i = start;
            while i < end && scan::is_lws(b[i]) {
                i += 1;
            }
            if b.get(i..i + n.len())
                .is_some_and(|w| w.eq_ignore_ascii_case(n))
            {
                // A non-empty name starts at `i` (the first byte that is
                // not LWS), so it is `name` when it is as long.
                if let Some(p) = split_piece(&self.raw[start..end]) {
                    if p.name.len() == n.len() {
                        return Some(p);
                    }
                }
            }
            at = end;
        }
        None
    }

    /// The value of `name`, if present with a value.
    pub fn value(&self, name: &str) -> Option<&'a str> {
        self.get(name).and_then(|p| p.value)
    }

    /// True if a parameter named `name` is present (with or without value).
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
}

impl<'a> IntoIterator for Params<'a> {
    type Item = Param<'a>;
    type IntoIter = ParamIter<'a>;
    fn into_iter(self) -> ParamIter<'a> {
        self.iter()
    }
}

/// Iterator over [`Params`].
#[derive(Debug, Clone)]
pub struct ParamIter<'a> {
    rest: &'a str,
}

/// `a.eq_ignore_ascii_case(c)`, cheaper where the bytes are equal as
/// written: two bytes differ only in case when they differ in bit 0x20
/// alone and one is a letter.
#[inline(always)]
fn eq_ci(a: &[u8], c: &[u8]) -> bool {
    a.len() == c.len()
        && a.iter()
            .zip(c)
            .all(|(&x, &y)| x == y || (x ^ y == 0x20 && (x | 0x20).is_ascii_lowercase()))
}

/// Where the parameter starting at `start` ends: the next `;` outside a
/// quoted string, or the end.
#[inline]
fn piece_end(b: &[u8], start: usize) -> usize {
    let mut i = start;
    loop {
        // Token bytes are neither ';' nor '"': skip them four at a time.
        i = scan::token_end(b, i);
        match b.get(i) {
            None => return b.len(),
            Some(b';') => return i,
            Some(b'"') => i = scan::quoted_string(b, i).unwrap_or(b.len()),
            Some(_) => i += 1,
        }
    }
}

/// One parameter's text (between its `;` and the next) as name and value;
/// `None` for an empty name.
#[inline]
fn split_piece(piece: &str) -> Option<Param<'_>> {
    let (name, value) = match piece.find('=') {
        Some(eq) => (
            scan::trim_lws(&piece[..eq]),
            Some(scan::trim_lws(&piece[eq + 1..])),
        ),
        None => (scan::trim_lws(piece), None),
    };
    (!name.is_empty()).then_some(Param { name, value })
}

impl<'a> Iterator for ParamIter<'a> {
    type Item = Param<'a>;
    fn next(&mut self) -> Option<Param<'a>> {
        loop {
            let b = self.rest.as_bytes();
            let start = b.iter().position(|&c| c == b';')? + 1;
            let i = piece_end(b, start);
            let piece = &self.rest[start..i];
            self.rest = &self.rest[i..];
            if let Some(p) = split_piece(piece) {
                return Some(p);
            }
        }
    }
}

/// Which grammar a parameter list follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    /// URI parameters: `paramchar` and escapes, no whitespace, no quotes.
    Uri,
    /// Header parameters: `token [ = token / host / quoted-string ]`, LWS around `;` and `=`.
    Header,
}

/// Validates a parameter list starting at `i` (which must be at `;` or at the
/// end) and returns its end: the end of input, or the first byte in `stops`
/// found where a new `;` was expected. Errors carry a position and what was expected.
pub(crate) fn scan_params(
    b: &[u8],
    i: usize,
    style: Style,
    stops: &[u8],
) -> Result<usize, (usize, &'static str)> {
    scan_params_with(b, i, style, stops, |_, _| Ok(()))
}

/// A parameter found by [`scan_params_with`]: name range and value range.
pub(crate) type Found = (std::ops::Range<usize>, Option<std::ops::Range<usize>>);

/// [`scan_params`] that also hands each parameter to `on` while scanning,
/// so callers check the values they care about in the same pass.
#[inline(always)]
pub(crate) fn scan_params_with(
    b: &[u8],
    mut i: usize,
    style: Style,
    stops: &[u8],
    mut on: impl FnMut(&[u8], Found) -> Result<(), (usize, &'static str)>,
) -> Result<usize, (usize, &'static str)> {
    loop {
        let before_ws = i;
        if style == Style::Header {
            i = scan::skip_lws(b, i);
        }
        if i >= b.len() {
            return Ok(before_ws);
        }
        if b[i] != b';' {
            if stops.contains(&b[i]) {
                return Ok(before_ws);
            }
            return Err((i, "';' before a parameter"));
        }
        i += 1;
        if style == Style::Header {
            i = scan::skip_lws(b, i);
        }
        let ns = i;
        i = match style {
            Style::Uri => param_run_checked(b, i)?,
            Style::Header => scan::token_end(b, i),
        };
        if i == ns {
            return Err((ns, "a parameter name after ';'"));
        }
        let name = ns..i;
        let after_name = i;
        if style == Style::Header {
            i = scan::skip_lws(b, i);
        }
        if i < b.len() && b[i] == b'=' {
            i += 1;
            if style == Style::Header {
                i = scan::skip_lws(b, i);
            }
            let vs = i;
            match style {
                Style::Uri => {
                    i = param_run_checked(b, i)?;
                }
                Style::Header => {
                    if i < b.len() && b[i] == b'"' {
                        i = scan::quoted_string(b, i)?;
                    } else if i < b.len() && b[i] == b'[' {
                        // IPv6reference as a gen-value (e.g. received=[::1])
                        i = scan::take_while(b, i, |c| {
                            c.is_ascii_hexdigit() || matches!(c, b'[' | b']' | b':' | b'.')
                        });
                    } else {
                        i = scan::token_end(b, i);
                    }
                }
            }
            if i == vs {
                return Err((vs, "a parameter value after '='"));
            }
            on(b, (name, Some(vs..i)))?;
        } else {
            i = after_name;
            on(b, (name, None))?;
        }
    }
}

/// A run of `paramchar` (RFC 3261 §25.1) with its `%HH` escapes checked in
/// the same pass: the end of the run, or the position of a bad escape.
#[inline]
fn param_run_checked(b: &[u8], mut i: usize) -> Result<usize, (usize, &'static str)> {
    loop {
        i = scan::paramchar_end(b, i);
        if b.get(i) != Some(&b'%') {
            return Ok(i);
        }
        if !scan::escape_at(b, i) {
            return Err((i, "a valid %-escape"));
        }
        i += 3;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// `get` is the first parameter `iter` yields with that name, on
        /// any text (checked or not).
        #[test]
        fn get_is_the_first_match_of_iter(
            raw in "[;=a-cA-C \t\"\\\\]{0,24}",
            name in "[a-cA-C;= ]{0,3}",
        ) {
            get_is_first_of_iter(&raw, &name)?;
        }
    }

    /// `Params::get(name)` is what `iter` finds first for `name`.
    fn get_is_first_of_iter(
        raw: &str,
        name: &str,
    ) -> Result<(), proptest::test_runner::TestCaseError> {
        let p = Params::new(raw);
        proptest::prop_assert_eq!(
            p.get(name),
            p.iter().find(|x| x.name.eq_ignore_ascii_case(name))
        );
        Ok(())
    }

    proptest::proptest! {
        /// The same for plain names (the single-pass lookup) on lists of
        /// names, values, quotes and LWS.
        #[test]
        fn get_of_a_plain_name_is_the_first_match_of_iter(
            raw in "( ?;[ \t]?(tag|TaG|ta|tags|x|lr)[ \t]?(=[ \t]?(\"[a;=]*\"|[a-z0-9=]{0,4})[ \t]?)?){0,4}",
            name in "tag|ta|lr|x|TAG",
        ) {
            get_is_first_of_iter(&raw, &name)?;
        }
    }

    #[test]
    fn eq_ci_is_eq_ignore_ascii_case() {
        for x in 0..=255u8 {
            for y in 0..=255u8 {
                assert_eq!(eq_ci(&[x], &[y]), [x].eq_ignore_ascii_case(&[y]), "{x} {y}");
            }
        }
        assert!(!eq_ci(b"ab", b"a"));
    }

    #[test]
    fn get_skips_quoted_semicolons_and_lws() {
        let p = Params::new(";x=\"a;tag=no\" ; TAG = t1 ;tag=t2;branch=z9hG4bK1");
        assert_eq!(p.value("tag"), Some("t1"));
        assert_eq!(p.value("x"), Some("\"a;tag=no\""));
        assert_eq!(p.value("branch"), Some("z9hG4bK1"));
        assert_eq!(p.get("ta"), None);
        assert_eq!(p.get("lr"), None);
    }

    #[test]
    fn iterate_header_params_with_lws_and_quotes() {
        let p = Params::new(" ;   tag    = 1918181833n ; x=\"a;b\" ;lr");
        let v: Vec<_> = p.iter().collect();
        assert_eq!(v.len(), 3);
        assert_eq!(
            v[0],
            Param {
                name: "tag",
                value: Some("1918181833n")
            }
        );
        assert_eq!(v[1].unquoted(), Some("a;b"));
        assert_eq!(
            v[2],
            Param {
                name: "lr",
                value: None
            }
        );
        assert_eq!(p.value("TAG"), Some("1918181833n"));
    }

    #[test]
    fn scan_rejects_empty_params() {
        assert!(scan_params(b";;", 0, Style::Header, b",").is_err());
        assert!(scan_params(b";a=", 0, Style::Uri, b"").is_err());
        assert_eq!(scan_params(b";a=b;c ,x", 0, Style::Header, b","), Ok(6));
        assert_eq!(scan_params(b";a=b?x", 0, Style::Uri, b"?"), Ok(4));
    }
}
