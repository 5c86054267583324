//! Percent-decoding of URL path segments and query values (RFC 3986 §2.1),
//! shared by the pages (`site`) and the JSON API (`api`).

/// Percent-decoding of a query value (`+` is a space); invalid escapes stay
/// as they are, invalid UTF-8 is replaced.
pub(crate) fn decode(s: &str) -> String {
    percent_decode(s, true)
}

/// Percent-decoding of a path segment (`+` stays a plus).
pub(crate) fn decode_segment(s: &str) -> String {
    percent_decode(s, false)
}

fn percent_decode(s: &str, plus_is_space: bool) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' if plus_is_space => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = |c: u8| (c as char).to_digit(16);
                match (hex(b[i + 1]), hex(b[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 3;
                        continue;
                    }
                    _ => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
