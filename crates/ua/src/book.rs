//! A local address book: one `NAME URI` per line, `#` starts a comment.
//! `sipkit call NAME --book FILE` looks NAME up; with `--update`, a 301
//! rewrites the entry to the new permanent address (RFC 3261 §21.3.2: "the
//! requestor SHOULD update any local directory, address book, and user
//! location caches with this new value").

use sipkit_message::{uri_eq, Uri};

/// Looks `name` up; `None` if it is not in the book.
pub fn lookup(book: &str, name: &str) -> Option<String> {
    book.lines().find_map(|line| {
        let (n, uri) = split(line)?;
        (n == name).then(|| uri.to_owned())
    })
}

fn split(line: &str) -> Option<(&str, &str)> {
    let t = line.trim();
    if t.is_empty() || t.starts_with('#') {
        return None;
    }
    let mut parts = t.split_whitespace();
    Some((parts.next()?, parts.next()?))
}

fn same(a: &str, b: &str) -> bool {
    match (Uri::parse(a), Uri::parse(b)) {
        (Ok(x), Ok(y)) => uri_eq(&x, &y),
        _ => a == b,
    }
}

/// Rewrites every entry whose URI is `old` to `new`, keeping everything else
/// (comments, order, other entries) as it was. Returns the new text and the
/// names changed.
pub fn update(book: &str, old: &str, new: &str) -> (String, Vec<String>) {
    let mut out = String::with_capacity(book.len() + new.len());
    let mut changed = Vec::new();
    for line in book.split_inclusive('\n') {
        match split(line) {
            Some((name, uri)) if same(uri, old) => {
                let end = if line.ends_with('\n') { "\n" } else { "" };
                out.push_str(&format!("{name} {new}{end}"));
                changed.push(name.to_owned());
            }
            _ => out.push_str(line),
        }
    }
    (out, changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOOK: &str = "# my phones\nbob sip:bob@example.com\nalice   sip:alice@192.0.2.1:5062\n\nbob2 SIP:bob@EXAMPLE.COM\n";

    #[test]
    fn lookup_by_name() {
        assert_eq!(
            lookup(BOOK, "alice").as_deref(),
            Some("sip:alice@192.0.2.1:5062")
        );
        assert_eq!(lookup(BOOK, "carol"), None);
        assert_eq!(lookup(BOOK, "#"), None);
    }

    #[test]
    fn update_rewrites_every_entry_of_the_old_uri_only() {
        let (text, changed) = update(BOOK, "sip:bob@example.com", "sip:robert@example.org");
        assert_eq!(changed, ["bob", "bob2"]);
        assert_eq!(
            text,
            "# my phones\nbob sip:robert@example.org\nalice   sip:alice@192.0.2.1:5062\n\nbob2 sip:robert@example.org\n"
        );
        let (same_text, none) = update(BOOK, "sip:nobody@example.com", "sip:x@y");
        assert_eq!((same_text.as_str(), none.len()), (BOOK, 0));
    }
}
