//! The two URI forms the location service keys on: the canonical
//! address-of-record (RFC 3261 §10.3 step 5) and the comparison form of a
//! contact (§19.1.4).
//!
//! Both are built on `sipkit-message`'s one URI parser ([`Uri::parse`]) and
//! follow its one URI comparison ([`uri_eq`]): two contacts with the same
//! [`contact_key`] are equal by §19.1.4, and two equal contacts have the
//! same key unless they differ in the documented exception below.

use std::borrow::Cow;
use std::fmt::Write as _;

use sipkit_message::{unescape, uri_eq, Host, Scheme, Uri};

use crate::error::{Error, Result};

/// The canonical form of an address-of-record, the key of the location
/// service.
///
/// RFC 3261 §10.3 step 5: the AOR taken from the To header field is
/// "converted to a canonical form ... all URI parameters MUST be removed
/// (including the user-param), and any escaped characters MUST be converted
/// to their unescaped form". The scheme and host are lowercased (§19.1.4:
/// they compare case-insensitively), the user part is kept as written
/// (case-sensitive), a password, a port and URI headers are dropped. The
/// port goes because an AOR names a user in a domain, not a socket: phones
/// register `sip:bob@example.com` while callers send to
/// `sip:bob@example.com:5060` (the server's port), and both mean Bob, as
/// Kamailio's and OpenSIPS's location services also treat them.
///
/// ```
/// # use sipkit_server::canonical_aor;
/// assert_eq!(
///     canonical_aor("<SIP:Alice@Example.COM;user=phone>").unwrap(),
///     "sip:Alice@example.com"
/// );
/// assert_eq!(canonical_aor("sip:%61lice@example.com").unwrap(), "sip:alice@example.com");
/// assert_eq!(canonical_aor("sip:bob@127.0.0.1:5060").unwrap(), "sip:bob@127.0.0.1");
/// ```
///
/// # Errors
/// [`Error::UnsupportedScheme`] for a scheme other than `sip`/`sips`,
/// [`Error::InvalidUri`] for text that is not a SIP URI.
pub fn canonical_aor(uri: &str) -> Result<String> {
    let u = sip_uri(uri)?;
    let mut out = String::with_capacity(uri.len());
    out.push_str(u.scheme.as_str());
    out.push(':');
    if let Some(user) = u.user {
        out.push_str(&unescaped(user));
        out.push('@');
    }
    push_host(&mut out, u.host);
    Ok(out)
}

/// The form in which two contact URIs of one AOR compare equal, so that a
/// refresh replaces its binding instead of adding a second one.
///
/// It follows RFC 3261 §19.1.4 ([`uri_eq`]): scheme, host and URI
/// parameters compare case-insensitively and in any order, user and
/// password case-sensitively after unescaping, the port is significant, URI
/// headers compare as a set. One documented exception: a parameter present
/// in only one of the URIs makes the keys differ, where §19.1.4 ignores it
/// unless it is `user`, `ttl`, `method`, `maddr` or `transport` — a key
/// cannot know which parameters the other URI has. A URI that is not
/// `sip:`/`sips:` (a `tel:` contact, say) keys on its text with the scheme
/// lowercased.
///
/// ```
/// # use sipkit_server::contact_key;
/// assert_eq!(
///     contact_key("sip:alice@PC33.example.com;Transport=TCP;lr"),
///     contact_key("<sip:alice@pc33.example.com;lr;transport=tcp>"),
/// );
/// assert_ne!(contact_key("sip:Alice@pc33"), contact_key("sip:alice@pc33"));
/// ```
pub fn contact_key(uri: &str) -> String {
    let Ok(u) = sip_uri(uri) else {
        let s = strip_brackets(uri);
        return match s.split_once(':') {
            Some((scheme, rest)) => format!("{}:{rest}", scheme.to_ascii_lowercase()),
            None => s.to_owned(),
        };
    };
    let mut out = String::with_capacity(uri.len());
    out.push_str(u.scheme.as_str());
    out.push(':');
    if let Some(user) = u.user {
        out.push_str(&unescaped(user));
        if let Some(password) = u.password {
            out.push(':');
            out.push_str(&unescaped(password));
        }
        out.push('@');
    }
    push_host(&mut out, u.host);
    if let Some(port) = u.port {
        out.push(':');
        // Writing to a String cannot fail.
        let _ = write!(out, "{port}");
    }
    let mut params: Vec<String> = u
        .params
        .iter()
        .map(|p| {
            let mut t = String::with_capacity(p.name.len() + p.value.map_or(0, |v| v.len() + 1));
            push_lower(&mut t, p.name);
            if let Some(v) = p.value {
                t.push('=');
                push_lower(&mut t, v);
            }
            t
        })
        .collect();
    params.sort_unstable();
    for param in params {
        out.push(';');
        out.push_str(&param);
    }
    let mut headers: Vec<String> = u
        .header_fields()
        .map(|(n, v)| {
            let mut t = String::with_capacity(n.len() + v.len() + 1);
            push_lower(&mut t, n);
            t.push('=');
            t.push_str(&unescaped(v));
            t
        })
        .collect();
    if !headers.is_empty() {
        headers.sort_unstable();
        out.push('?');
        out.push_str(&headers.join("&"));
    }
    out
}

/// Whether two contact URIs are the same contact by RFC 3261 §19.1.4, with
/// the parsing and comparison of `sipkit-message`; `false` when either is
/// not a URI.
pub fn same_contact(a: &str, b: &str) -> bool {
    match (Uri::parse(strip_brackets(a)), Uri::parse(strip_brackets(b))) {
        (Ok(a), Ok(b)) => uri_eq(&a, &b),
        _ => false,
    }
}

/// Parses a `sip:`/`sips:` URI, in angle brackets or not.
fn sip_uri(text: &str) -> Result<Uri<'_>> {
    let s = strip_brackets(text);
    let u = Uri::parse(s).map_err(|e| Error::InvalidUri {
        uri: text.to_owned(),
        reason: match e.kind {
            sipkit_message::ErrorKind::InvalidUri { expected } => expected,
            _ => "a SIP URI",
        },
    })?;
    match u.scheme {
        Scheme::Sip | Scheme::Sips => Ok(u),
        _ => Err(Error::UnsupportedScheme {
            uri: text.to_owned(),
        }),
    }
}

/// A host in comparison form: a name lowercased, an address canonical.
fn push_host(out: &mut String, host: Option<Host<'_>>) {
    match host {
        Some(Host::Domain(d)) => out.push_str(&d.to_ascii_lowercase()),
        Some(h) => out.push_str(&h.to_string()),
        None => {}
    }
}

/// Appends `s` unescaped and in lowercase (ASCII).
fn push_lower(out: &mut String, s: &str) {
    let start = out.len();
    out.push_str(&unescaped(s));
    out[start..].make_ascii_lowercase();
}

/// `%HH` escapes decoded; text that does not decode to UTF-8 stays as written.
fn unescaped(s: &str) -> Cow<'_, str> {
    match unescape(s) {
        Cow::Borrowed(_) => Cow::Borrowed(s),
        Cow::Owned(bytes) => match String::from_utf8(bytes) {
            Ok(t) => Cow::Owned(t),
            Err(_) => Cow::Borrowed(s),
        },
    }
}

/// The user part of a canonical AOR (`alice` of `sip:alice@example.com`).
pub(crate) fn aor_user(aor: &str) -> Option<&str> {
    let rest = aor.split_once(':').map_or(aor, |(_, r)| r);
    rest.rfind('@').map(|at| &rest[..at])
}

/// The host of a canonical AOR, without port (`example.com`).
pub(crate) fn aor_host(aor: &str) -> &str {
    let rest = aor.split_once(':').map_or(aor, |(_, r)| r);
    let hostport = rest.rfind('@').map_or(rest, |at| &rest[at + 1..]);
    if hostport.starts_with('[') {
        hostport.find(']').map_or(hostport, |i| &hostport[..=i])
    } else {
        hostport.split(':').next().unwrap_or(hostport)
    }
}

fn strip_brackets(s: &str) -> &str {
    let s = s.trim();
    match s.strip_prefix('<').and_then(|s| s.strip_suffix('>')) {
        Some(inner) => inner.trim(),
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_aor_rfc3261_10_3_step5() {
        let c = |s| canonical_aor(s).unwrap();
        assert_eq!(c("sip:alice@example.com"), "sip:alice@example.com");
        assert_eq!(c(" <sip:alice@example.com> "), "sip:alice@example.com");
        assert_eq!(
            c("sip:+1555@example.com;user=phone"),
            "sip:+1555@example.com"
        );
        assert_eq!(
            c("SIPS:bob@EXAMPLE.com:5061;transport=tcp?x=y"),
            "sips:bob@example.com"
        );
        assert_eq!(c("sip:bob:secret@example.com"), "sip:bob@example.com");
        assert_eq!(c("sip:b%6Fb@example.com"), "sip:bob@example.com");
        assert_eq!(c("sip:example.com"), "sip:example.com");
        assert_eq!(c("sip:alice@[2001:DB8::1]:5060"), "sip:alice@[2001:db8::1]");
        assert_eq!(c("sip:a;b@example.com"), "sip:a;b@example.com");
    }

    #[test]
    fn canonical_aor_rejects_what_is_not_a_sip_uri() {
        assert!(matches!(
            canonical_aor("tel:+15551234"),
            Err(Error::UnsupportedScheme { .. })
        ));
        assert!(matches!(
            canonical_aor("mailto:a@b"),
            Err(Error::UnsupportedScheme { .. })
        ));
        for bad in [
            "",
            "alice@example.com",
            "sip:",
            "sip:alice@",
            "sip:@example.com",
            "sip:alice@exa mple.com",
            "sip:alice@example.com:port",
            "sip:alice@example.com:70000",
            "sip:alice@[::1",
            "sip:al%4ice@example.com",
            "1sip:alice@example.com",
        ] {
            assert!(
                matches!(canonical_aor(bad), Err(Error::InvalidUri { .. })),
                "{bad:?} should be invalid"
            );
        }
    }

    #[test]
    fn contact_key_rfc3261_19_1_4() {
        let same = |a, b| assert_eq!(contact_key(a), contact_key(b), "{a} vs {b}");
        let differ = |a, b| assert_ne!(contact_key(a), contact_key(b), "{a} vs {b}");
        same("sip:alice@PC33.Example.com", "sip:alice@pc33.example.com");
        same("SIP:alice@pc33", "sip:alice@pc33");
        same("sip:%61lice@pc33", "sip:alice@pc33");
        same("sip:a@h;transport=TCP;lr", "<sip:a@h;lr;transport=tcp>");
        differ("sip:Alice@pc33", "sip:alice@pc33");
        differ("sip:alice@pc33", "sip:alice@pc33:5060");
        differ("sip:alice@pc33", "sips:alice@pc33");
        differ(
            "sip:alice@pc33;transport=tcp",
            "sip:alice@pc33;transport=udp",
        );
        same("tel:+1555", "TEL:+1555");
        differ("tel:+1555", "tel:+1556");
    }

    #[test]
    fn aor_parts() {
        assert_eq!(aor_user("sip:alice@example.com"), Some("alice"));
        assert_eq!(aor_user("sip:example.com"), None);
        assert_eq!(aor_user("sip:a@b@example.com"), Some("a@b"));
        assert_eq!(aor_host("sip:alice@example.com:5070"), "example.com");
        assert_eq!(aor_host("sip:example.com"), "example.com");
        assert_eq!(aor_host("sip:alice@[::1]:5060"), "[::1]");
    }
}
