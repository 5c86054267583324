//! The two URI forms the location service keys on: the canonical
//! address-of-record (RFC 3261 §10.3 step 5) and the comparison form of a
//! contact (§19.1.4).
//!
//! This is not a general SIP URI parser (that is `sipkit-message`'s job); it
//! reads just enough of a `sip:`/`sips:` URI to build these keys.

use std::borrow::Cow;

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
    let p = SipUri::parse(uri)?;
    let mut out = String::with_capacity(uri.len());
    out.push_str(&p.scheme);
    out.push(':');
    if let Some(userinfo) = p.userinfo {
        let user = userinfo.split(':').next().unwrap_or(userinfo);
        let user = unescape(user).ok_or_else(|| Error::InvalidUri {
            uri: uri.to_owned(),
            reason: "invalid %-escape in the user part",
        })?;
        out.push_str(&user);
        out.push('@');
    }
    out.push_str(&p.host.to_ascii_lowercase());
    Ok(out)
}

/// The form in which two contact URIs of one AOR compare equal, so that a
/// refresh replaces its binding instead of adding a second one.
///
/// It follows RFC 3261 §19.1.4 where a key can: scheme, host and URI
/// parameters compare case-insensitively and in any order, the user part
/// case-sensitively after unescaping, and the port is significant. Two
/// deliberate simplifications: a parameter present in only one of the URIs
/// makes them differ (§19.1.4 ignores most such parameters), and URI headers
/// compare as written. A URI that is not `sip:`/`sips:` (a `tel:` contact,
/// say) keys on its text with the scheme lowercased.
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
    let Ok(p) = SipUri::parse(uri) else {
        let s = strip_brackets(uri);
        return match s.split_once(':') {
            Some((scheme, rest)) => format!("{}:{rest}", scheme.to_ascii_lowercase()),
            None => s.to_owned(),
        };
    };
    let mut out = String::with_capacity(uri.len());
    out.push_str(&p.scheme);
    out.push(':');
    if let Some(userinfo) = p.userinfo {
        match unescape(userinfo) {
            Some(u) => out.push_str(&u),
            None => out.push_str(userinfo),
        }
        out.push('@');
    }
    out.push_str(&p.host.to_ascii_lowercase());
    if let Some(port) = p.port {
        out.push(':');
        out.push_str(&port.to_string());
    }
    let mut params: Vec<String> = p
        .params
        .split(';')
        .filter(|s| !s.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    params.sort_unstable();
    for param in params {
        out.push(';');
        out.push_str(&param);
    }
    if !p.headers.is_empty() {
        out.push('?');
        out.push_str(p.headers);
    }
    out
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

/// Decodes `%HH` escapes; `None` for a malformed escape. Bytes that do not
/// decode to UTF-8 leave the text as written.
fn unescape(s: &str) -> Option<Cow<'_, str>> {
    if !s.contains('%') {
        return Some(Cow::Borrowed(s));
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Some(match String::from_utf8(out) {
        Ok(s) => Cow::Owned(s),
        Err(_) => Cow::Borrowed(s),
    })
}

/// The parts of a `sip:`/`sips:` URI (RFC 3261 §19.1.1) this module needs.
#[derive(Debug)]
struct SipUri<'a> {
    scheme: String,
    userinfo: Option<&'a str>,
    host: &'a str,
    port: Option<u16>,
    params: &'a str,
    headers: &'a str,
}

impl<'a> SipUri<'a> {
    fn parse(text: &'a str) -> Result<SipUri<'a>> {
        let invalid = |reason| Error::InvalidUri {
            uri: text.to_owned(),
            reason,
        };
        let s = strip_brackets(text);
        if s.is_empty() {
            return Err(invalid("empty URI"));
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid("whitespace or control character inside the URI"));
        }
        let (scheme, rest) = s.split_once(':').ok_or_else(|| invalid("no scheme"))?;
        let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
        if !scheme_ok {
            return Err(invalid("invalid scheme"));
        }
        let scheme = scheme.to_ascii_lowercase();
        if scheme != "sip" && scheme != "sips" {
            return Err(Error::UnsupportedScheme {
                uri: text.to_owned(),
            });
        }
        // '@' may appear unescaped in neither URI parameters nor headers
        // (§25.1 `paramchar`, `hvalue`), so the first one ends the userinfo.
        let (userinfo, after) = match rest.find('@') {
            Some(at) => (Some(&rest[..at]), &rest[at + 1..]),
            None => (None, rest),
        };
        if let Some(u) = userinfo {
            if u.is_empty() || u.starts_with(':') {
                return Err(invalid("empty user part before '@'"));
            }
        }
        let end = after.find([';', '?']).unwrap_or(after.len());
        let (hostport, tail) = after.split_at(end);
        let (params, headers) = match tail.as_bytes().first() {
            Some(b';') => match tail.find('?') {
                Some(q) => (&tail[1..q], &tail[q + 1..]),
                None => (&tail[1..], ""),
            },
            Some(b'?') => ("", &tail[1..]),
            _ => ("", ""),
        };
        let (host, port_text) = if hostport.starts_with('[') {
            let close = hostport
                .find(']')
                .ok_or_else(|| invalid("unterminated IPv6 reference"))?;
            let inside = &hostport[1..close];
            if inside.is_empty()
                || !inside
                    .chars()
                    .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
            {
                return Err(invalid("invalid IPv6 reference"));
            }
            (&hostport[..=close], &hostport[close + 1..])
        } else {
            match hostport.find(':') {
                Some(i) => (&hostport[..i], &hostport[i..]),
                None => (hostport, ""),
            }
        };
        if host.is_empty() {
            return Err(invalid("empty host"));
        }
        if !host.starts_with('[')
            && !host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
        {
            return Err(invalid("invalid character in host"));
        }
        let port = match port_text {
            "" => None,
            p => {
                let digits = p.strip_prefix(':').unwrap_or(p);
                if digits.is_empty()
                    || digits.len() > 5
                    || !digits.bytes().all(|b| b.is_ascii_digit())
                {
                    return Err(invalid("invalid port"));
                }
                Some(
                    digits
                        .parse::<u16>()
                        .map_err(|_| invalid("port above 65535"))?,
                )
            }
        };
        Ok(SipUri {
            scheme,
            userinfo,
            host,
            port,
            params,
            headers,
        })
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
