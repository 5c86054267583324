//! Header field names: the ones sipkit knows, their compact forms (RFC 3261
//! §7.3.3, RFC 3515, RFC 3892, RFC 6665 …) and case-insensitive lookup.
//!
//! Generated from one table; the variant list, canonical spelling, compact
//! form and "single value" flag are defined once here.

/// A header field name. Unknown names are [`HeaderName::Other`]; the raw
/// spelling stays available on [`crate::Header::raw_name`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
#[repr(u8)]
pub enum HeaderName {
    /// `Accept`
    Accept,
    /// `Accept-Contact` (compact `a`)
    AcceptContact,
    /// `Accept-Encoding`
    AcceptEncoding,
    /// `Accept-Language`
    AcceptLanguage,
    /// `Alert-Info`
    AlertInfo,
    /// `Allow`
    Allow,
    /// `Allow-Events` (compact `u`)
    AllowEvents,
    /// `Authentication-Info`
    AuthenticationInfo,
    /// `Authorization`
    Authorization,
    /// `Call-ID` (compact `i`)
    CallId,
    /// `Call-Info`
    CallInfo,
    /// `Contact` (compact `m`)
    Contact,
    /// `Content-Disposition`
    ContentDisposition,
    /// `Content-Encoding` (compact `e`)
    ContentEncoding,
    /// `Content-Language`
    ContentLanguage,
    /// `Content-Length` (compact `l`)
    ContentLength,
    /// `Content-Type` (compact `c`)
    ContentType,
    /// `CSeq`
    CSeq,
    /// `Date`
    Date,
    /// `Error-Info`
    ErrorInfo,
    /// `Event` (compact `o`)
    Event,
    /// `Expires`
    Expires,
    /// `From` (compact `f`)
    From,
    /// `Identity` (compact `y`)
    Identity,
    /// `Identity-Info` (compact `n`)
    IdentityInfo,
    /// `In-Reply-To`
    InReplyTo,
    /// `Max-Forwards`
    MaxForwards,
    /// `MIME-Version`
    MimeVersion,
    /// `Min-Expires`
    MinExpires,
    /// `Min-SE`
    MinSe,
    /// `Organization`
    Organization,
    /// `Path`
    Path,
    /// `Priority`
    Priority,
    /// `P-Asserted-Identity`
    PAssertedIdentity,
    /// `Proxy-Authenticate`
    ProxyAuthenticate,
    /// `Proxy-Authorization`
    ProxyAuthorization,
    /// `Proxy-Require`
    ProxyRequire,
    /// `RAck`
    RAck,
    /// `Reason`
    Reason,
    /// `Record-Route`
    RecordRoute,
    /// `Refer-To` (compact `r`)
    ReferTo,
    /// `Referred-By` (compact `b`)
    ReferredBy,
    /// `Reject-Contact` (compact `j`)
    RejectContact,
    /// `Replaces`
    Replaces,
    /// `Reply-To`
    ReplyTo,
    /// `Request-Disposition` (compact `d`)
    RequestDisposition,
    /// `Require`
    Require,
    /// `Retry-After`
    RetryAfter,
    /// `Route`
    Route,
    /// `RSeq`
    RSeq,
    /// `Server`
    Server,
    /// `Session-Expires` (compact `x`)
    SessionExpires,
    /// `Subject` (compact `s`)
    Subject,
    /// `Subscription-State`
    SubscriptionState,
    /// `Supported` (compact `k`)
    Supported,
    /// `Timestamp`
    Timestamp,
    /// `To` (compact `t`)
    To,
    /// `Unsupported`
    Unsupported,
    /// `User-Agent`
    UserAgent,
    /// `Via` (compact `v`)
    Via,
    /// `Warning`
    Warning,
    /// `WWW-Authenticate`
    WwwAuthenticate,
    /// Any other header; compare [`crate::Header::raw_name`] case-insensitively.
    Other,
}

/// Number of known names (all variants but `Other`).
pub(crate) const KNOWN: usize = HeaderName::Other as usize;

impl HeaderName {
    /// Every known name, in declaration order.
    pub const ALL: [HeaderName; KNOWN] = [
        HeaderName::Accept,
        HeaderName::AcceptContact,
        HeaderName::AcceptEncoding,
        HeaderName::AcceptLanguage,
        HeaderName::AlertInfo,
        HeaderName::Allow,
        HeaderName::AllowEvents,
        HeaderName::AuthenticationInfo,
        HeaderName::Authorization,
        HeaderName::CallId,
        HeaderName::CallInfo,
        HeaderName::Contact,
        HeaderName::ContentDisposition,
        HeaderName::ContentEncoding,
        HeaderName::ContentLanguage,
        HeaderName::ContentLength,
        HeaderName::ContentType,
        HeaderName::CSeq,
        HeaderName::Date,
        HeaderName::ErrorInfo,
        HeaderName::Event,
        HeaderName::Expires,
        HeaderName::From,
        HeaderName::Identity,
        HeaderName::IdentityInfo,
        HeaderName::InReplyTo,
        HeaderName::MaxForwards,
        HeaderName::MimeVersion,
        HeaderName::MinExpires,
        HeaderName::MinSe,
        HeaderName::Organization,
        HeaderName::Path,
        HeaderName::Priority,
        HeaderName::PAssertedIdentity,
        HeaderName::ProxyAuthenticate,
        HeaderName::ProxyAuthorization,
        HeaderName::ProxyRequire,
        HeaderName::RAck,
        HeaderName::Reason,
        HeaderName::RecordRoute,
        HeaderName::ReferTo,
        HeaderName::ReferredBy,
        HeaderName::RejectContact,
        HeaderName::Replaces,
        HeaderName::ReplyTo,
        HeaderName::RequestDisposition,
        HeaderName::Require,
        HeaderName::RetryAfter,
        HeaderName::Route,
        HeaderName::RSeq,
        HeaderName::Server,
        HeaderName::SessionExpires,
        HeaderName::Subject,
        HeaderName::SubscriptionState,
        HeaderName::Supported,
        HeaderName::Timestamp,
        HeaderName::To,
        HeaderName::Unsupported,
        HeaderName::UserAgent,
        HeaderName::Via,
        HeaderName::Warning,
        HeaderName::WwwAuthenticate,
    ];

    /// The canonical spelling (`Call-ID`, `WWW-Authenticate`, …); `""` for `Other`.
    pub const fn as_str(self) -> &'static str {
        match self {
            HeaderName::Accept => "Accept",
            HeaderName::AcceptContact => "Accept-Contact",
            HeaderName::AcceptEncoding => "Accept-Encoding",
            HeaderName::AcceptLanguage => "Accept-Language",
            HeaderName::AlertInfo => "Alert-Info",
            HeaderName::Allow => "Allow",
            HeaderName::AllowEvents => "Allow-Events",
            HeaderName::AuthenticationInfo => "Authentication-Info",
            HeaderName::Authorization => "Authorization",
            HeaderName::CallId => "Call-ID",
            HeaderName::CallInfo => "Call-Info",
            HeaderName::Contact => "Contact",
            HeaderName::ContentDisposition => "Content-Disposition",
            HeaderName::ContentEncoding => "Content-Encoding",
            HeaderName::ContentLanguage => "Content-Language",
            HeaderName::ContentLength => "Content-Length",
            HeaderName::ContentType => "Content-Type",
            HeaderName::CSeq => "CSeq",
            HeaderName::Date => "Date",
            HeaderName::ErrorInfo => "Error-Info",
            HeaderName::Event => "Event",
            HeaderName::Expires => "Expires",
            HeaderName::From => "From",
            HeaderName::Identity => "Identity",
            HeaderName::IdentityInfo => "Identity-Info",
            HeaderName::InReplyTo => "In-Reply-To",
            HeaderName::MaxForwards => "Max-Forwards",
            HeaderName::MimeVersion => "MIME-Version",
            HeaderName::MinExpires => "Min-Expires",
            HeaderName::MinSe => "Min-SE",
            HeaderName::Organization => "Organization",
            HeaderName::Path => "Path",
            HeaderName::Priority => "Priority",
            HeaderName::PAssertedIdentity => "P-Asserted-Identity",
            HeaderName::ProxyAuthenticate => "Proxy-Authenticate",
            HeaderName::ProxyAuthorization => "Proxy-Authorization",
            HeaderName::ProxyRequire => "Proxy-Require",
            HeaderName::RAck => "RAck",
            HeaderName::Reason => "Reason",
            HeaderName::RecordRoute => "Record-Route",
            HeaderName::ReferTo => "Refer-To",
            HeaderName::ReferredBy => "Referred-By",
            HeaderName::RejectContact => "Reject-Contact",
            HeaderName::Replaces => "Replaces",
            HeaderName::ReplyTo => "Reply-To",
            HeaderName::RequestDisposition => "Request-Disposition",
            HeaderName::Require => "Require",
            HeaderName::RetryAfter => "Retry-After",
            HeaderName::Route => "Route",
            HeaderName::RSeq => "RSeq",
            HeaderName::Server => "Server",
            HeaderName::SessionExpires => "Session-Expires",
            HeaderName::Subject => "Subject",
            HeaderName::SubscriptionState => "Subscription-State",
            HeaderName::Supported => "Supported",
            HeaderName::Timestamp => "Timestamp",
            HeaderName::To => "To",
            HeaderName::Unsupported => "Unsupported",
            HeaderName::UserAgent => "User-Agent",
            HeaderName::Via => "Via",
            HeaderName::Warning => "Warning",
            HeaderName::WwwAuthenticate => "WWW-Authenticate",
            HeaderName::Other => "",
        }
    }

    /// The compact form, if the name has one (RFC 3261 §7.3.3 and extensions).
    pub const fn compact(self) -> Option<char> {
        match self {
            HeaderName::AcceptContact => Some('a'),
            HeaderName::AllowEvents => Some('u'),
            HeaderName::CallId => Some('i'),
            HeaderName::Contact => Some('m'),
            HeaderName::ContentEncoding => Some('e'),
            HeaderName::ContentLength => Some('l'),
            HeaderName::ContentType => Some('c'),
            HeaderName::Event => Some('o'),
            HeaderName::From => Some('f'),
            HeaderName::Identity => Some('y'),
            HeaderName::IdentityInfo => Some('n'),
            HeaderName::ReferTo => Some('r'),
            HeaderName::ReferredBy => Some('b'),
            HeaderName::RejectContact => Some('j'),
            HeaderName::RequestDisposition => Some('d'),
            HeaderName::SessionExpires => Some('x'),
            HeaderName::Subject => Some('s'),
            HeaderName::Supported => Some('k'),
            HeaderName::To => Some('t'),
            HeaderName::Via => Some('v'),
            _ => None,
        }
    }

    /// True for headers that may appear at most once (their grammar has no
    /// comma-separated list, RFC 3261 §7.3.1); a repeat is a parse error.
    pub const fn is_single(self) -> bool {
        matches!(
            self,
            HeaderName::CallId
                | HeaderName::ContentDisposition
                | HeaderName::ContentLength
                | HeaderName::ContentType
                | HeaderName::CSeq
                | HeaderName::Date
                | HeaderName::Event
                | HeaderName::Expires
                | HeaderName::From
                | HeaderName::MaxForwards
                | HeaderName::MimeVersion
                | HeaderName::MinExpires
                | HeaderName::MinSe
                | HeaderName::Organization
                | HeaderName::Priority
                | HeaderName::RAck
                | HeaderName::ReferTo
                | HeaderName::ReferredBy
                | HeaderName::Replaces
                | HeaderName::ReplyTo
                | HeaderName::RetryAfter
                | HeaderName::RSeq
                | HeaderName::Server
                | HeaderName::SessionExpires
                | HeaderName::Subject
                | HeaderName::SubscriptionState
                | HeaderName::Timestamp
                | HeaderName::To
                | HeaderName::UserAgent
        )
    }

    /// Looks a name up case-insensitively, compact forms included.
    /// Returns `Other` for anything unknown (including `C%6Fntact`, RFC 4475 §3.1.1.5).
    pub fn from_bytes(name: &[u8]) -> HeaderName {
        /// `name` equals `lower` (lower case already) ignoring ASCII case:
        /// OR-ing 0x20 into the bytes where `lower` has a letter (bit 0x40
        /// set; not in '-' or digits) maps exactly the two cases of that
        /// letter onto it. Names of 4 to 16 bytes are compared as two
        /// overlapping words (the first and the last 4 or 8 bytes).
        #[inline(always)]
        fn lc_eq(name: &[u8], lower: &[u8]) -> bool {
            #[inline(always)]
            fn w8(b: &[u8], at: usize) -> u64 {
                let mut x = [0u8; 8];
                x.copy_from_slice(&b[at..at + 8]);
                u64::from_le_bytes(x)
            }
            #[inline(always)]
            fn w4(b: &[u8], at: usize) -> u32 {
                let mut x = [0u8; 4];
                x.copy_from_slice(&b[at..at + 4]);
                u32::from_le_bytes(x)
            }
            let n = name.len();
            if n != lower.len() {
                return false;
            }
            if n >= 8 {
                if n <= 16 {
                    let (x, y) = (w8(name, 0), w8(lower, 0));
                    let (u, v) = (w8(name, n - 8), w8(lower, n - 8));
                    return (x | ((y & 0x4040_4040_4040_4040) >> 1)) == y
                        && (u | ((v & 0x4040_4040_4040_4040) >> 1)) == v;
                }
                return name
                    .iter()
                    .zip(lower)
                    .all(|(&a, &b)| a.to_ascii_lowercase() == b);
            }
            if n >= 4 {
                let (x, y) = (w4(name, 0), w4(lower, 0));
                let (u, v) = (w4(name, n - 4), w4(lower, n - 4));
                return (x | ((y & 0x4040_4040) >> 1)) == y && (u | ((v & 0x4040_4040) >> 1)) == v;
            }
            name.iter()
                .zip(lower)
                .all(|(&a, &b)| a.to_ascii_lowercase() == b)
        }
        if name.is_empty() {
            return HeaderName::Other;
        }
        if name.len() == 1 {
            return match name[0].to_ascii_lowercase() {
                b'a' => HeaderName::AcceptContact,
                b'u' => HeaderName::AllowEvents,
                b'i' => HeaderName::CallId,
                b'm' => HeaderName::Contact,
                b'e' => HeaderName::ContentEncoding,
                b'l' => HeaderName::ContentLength,
                b'c' => HeaderName::ContentType,
                b'o' => HeaderName::Event,
                b'f' => HeaderName::From,
                b'y' => HeaderName::Identity,
                b'n' => HeaderName::IdentityInfo,
                b'r' => HeaderName::ReferTo,
                b'b' => HeaderName::ReferredBy,
                b'j' => HeaderName::RejectContact,
                b'd' => HeaderName::RequestDisposition,
                b'x' => HeaderName::SessionExpires,
                b's' => HeaderName::Subject,
                b'k' => HeaderName::Supported,
                b't' => HeaderName::To,
                b'v' => HeaderName::Via,
                _ => HeaderName::Other,
            };
        }
        // Dispatch on length and first letter, then compare case-insensitively.
        match (name.len(), name[0] | 0x20) {
            (6, b'a') if lc_eq(name, b"accept") => HeaderName::Accept,
            (14, b'a') if lc_eq(name, b"accept-contact") => HeaderName::AcceptContact,
            (15, b'a') if lc_eq(name, b"accept-encoding") => HeaderName::AcceptEncoding,
            (15, b'a') if lc_eq(name, b"accept-language") => HeaderName::AcceptLanguage,
            (10, b'a') if lc_eq(name, b"alert-info") => HeaderName::AlertInfo,
            (5, b'a') if lc_eq(name, b"allow") => HeaderName::Allow,
            (12, b'a') if lc_eq(name, b"allow-events") => HeaderName::AllowEvents,
            (19, b'a') if lc_eq(name, b"authentication-info") => HeaderName::AuthenticationInfo,
            (13, b'a') if lc_eq(name, b"authorization") => HeaderName::Authorization,
            (7, b'c') if lc_eq(name, b"call-id") => HeaderName::CallId,
            (9, b'c') if lc_eq(name, b"call-info") => HeaderName::CallInfo,
            (7, b'c') if lc_eq(name, b"contact") => HeaderName::Contact,
            (19, b'c') if lc_eq(name, b"content-disposition") => HeaderName::ContentDisposition,
            (16, b'c') if lc_eq(name, b"content-encoding") => HeaderName::ContentEncoding,
            (16, b'c') if lc_eq(name, b"content-language") => HeaderName::ContentLanguage,
            (14, b'c') if lc_eq(name, b"content-length") => HeaderName::ContentLength,
            (12, b'c') if lc_eq(name, b"content-type") => HeaderName::ContentType,
            (4, b'c') if lc_eq(name, b"cseq") => HeaderName::CSeq,
            (4, b'd') if lc_eq(name, b"date") => HeaderName::Date,
            (10, b'e') if lc_eq(name, b"error-info") => HeaderName::ErrorInfo,
            (5, b'e') if lc_eq(name, b"event") => HeaderName::Event,
            (7, b'e') if lc_eq(name, b"expires") => HeaderName::Expires,
            (4, b'f') if lc_eq(name, b"from") => HeaderName::From,
            (8, b'i') if lc_eq(name, b"identity") => HeaderName::Identity,
            (13, b'i') if lc_eq(name, b"identity-info") => HeaderName::IdentityInfo,
            (11, b'i') if lc_eq(name, b"in-reply-to") => HeaderName::InReplyTo,
            (12, b'm') if lc_eq(name, b"max-forwards") => HeaderName::MaxForwards,
            (12, b'm') if lc_eq(name, b"mime-version") => HeaderName::MimeVersion,
            (11, b'm') if lc_eq(name, b"min-expires") => HeaderName::MinExpires,
            (6, b'm') if lc_eq(name, b"min-se") => HeaderName::MinSe,
            (12, b'o') if lc_eq(name, b"organization") => HeaderName::Organization,
            (4, b'p') if lc_eq(name, b"path") => HeaderName::Path,
            (8, b'p') if lc_eq(name, b"priority") => HeaderName::Priority,
            (19, b'p') if lc_eq(name, b"p-asserted-identity") => HeaderName::PAssertedIdentity,
            (18, b'p') if lc_eq(name, b"proxy-authenticate") => HeaderName::ProxyAuthenticate,
            (19, b'p') if lc_eq(name, b"proxy-authorization") => HeaderName::ProxyAuthorization,
            (13, b'p') if lc_eq(name, b"proxy-require") => HeaderName::ProxyRequire,
            (4, b'r') if lc_eq(name, b"rack") => HeaderName::RAck,
            (6, b'r') if lc_eq(name, b"reason") => HeaderName::Reason,
            (12, b'r') if lc_eq(name, b"record-route") => HeaderName::RecordRoute,
            (8, b'r') if lc_eq(name, b"refer-to") => HeaderName::ReferTo,
            (11, b'r') if lc_eq(name, b"referred-by") => HeaderName::ReferredBy,
            (14, b'r') if lc_eq(name, b"reject-contact") => HeaderName::RejectContact,
            (8, b'r') if lc_eq(name, b"replaces") => HeaderName::Replaces,
            (8, b'r') if lc_eq(name, b"reply-to") => HeaderName::ReplyTo,
            (19, b'r') if lc_eq(name, b"request-disposition") => HeaderName::RequestDisposition,
            (7, b'r') if lc_eq(name, b"require") => HeaderName::Require,
            (11, b'r') if lc_eq(name, b"retry-after") => HeaderName::RetryAfter,
            (5, b'r') if lc_eq(name, b"route") => HeaderName::Route,
            (4, b'r') if lc_eq(name, b"rseq") => HeaderName::RSeq,
            (6, b's') if lc_eq(name, b"server") => HeaderName::Server,
            (15, b's') if lc_eq(name, b"session-expires") => HeaderName::SessionExpires,
            (7, b's') if lc_eq(name, b"subject") => HeaderName::Subject,
            (18, b's') if lc_eq(name, b"subscription-state") => HeaderName::SubscriptionState,
            (9, b's') if lc_eq(name, b"supported") => HeaderName::Supported,
            (9, b't') if lc_eq(name, b"timestamp") => HeaderName::Timestamp,
            (2, b't') if lc_eq(name, b"to") => HeaderName::To,
            (11, b'u') if lc_eq(name, b"unsupported") => HeaderName::Unsupported,
            (10, b'u') if lc_eq(name, b"user-agent") => HeaderName::UserAgent,
            (3, b'v') if lc_eq(name, b"via") => HeaderName::Via,
            (7, b'w') if lc_eq(name, b"warning") => HeaderName::Warning,
            (16, b'w') if lc_eq(name, b"www-authenticate") => HeaderName::WwwAuthenticate,
            _ => HeaderName::Other,
        }
    }
}

impl std::fmt::Display for HeaderName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if *self == HeaderName::Other {
            "header"
        } else {
            self.as_str()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_round_trips_every_name() {
        for n in HeaderName::ALL {
            assert_eq!(HeaderName::from_bytes(n.as_str().as_bytes()), n);
            assert_eq!(
                HeaderName::from_bytes(n.as_str().to_uppercase().as_bytes()),
                n
            );
            if let Some(c) = n.compact() {
                assert_eq!(HeaderName::from_bytes(c.to_string().as_bytes()), n);
                assert_eq!(
                    HeaderName::from_bytes(c.to_ascii_uppercase().to_string().as_bytes()),
                    n
                );
            }
        }
        assert_eq!(HeaderName::from_bytes(b"C%6Fntact"), HeaderName::Other);
        assert_eq!(HeaderName::from_bytes(b"q"), HeaderName::Other);
        assert_eq!(HeaderName::from_bytes(b""), HeaderName::Other);
        assert_eq!(HeaderName::from_bytes(b"@ia"), HeaderName::Other);
        assert_eq!(
            HeaderName::from_bytes(b"MaX-fOrWaRdS"),
            HeaderName::MaxForwards
        );
    }

    #[test]
    fn known_names_are_tokens() {
        // With the exact case-insensitive lookup, a name that resolves to a
        // known one is a token: the split relies on it.
        for n in HeaderName::ALL {
            assert!(n.as_str().bytes().all(crate::scan::is_token), "{n:?}");
            if let Some(c) = n.compact() {
                assert!(crate::scan::is_token(c as u8) && c.is_ascii_alphabetic());
            }
        }
    }

    #[test]
    fn lookup_is_exactly_case_insensitive() {
        // Every one-byte change of every name: a match only when the byte is
        // the same letter in the other case.
        for n in HeaderName::ALL {
            let name = n.as_str().as_bytes();
            for k in 0..name.len() {
                for c in 0..=255u8 {
                    let mut v = name.to_vec();
                    v[k] = c;
                    let want = if v.eq_ignore_ascii_case(name) {
                        n
                    } else {
                        HeaderName::ALL
                            .into_iter()
                            .find(|m| m.as_str().as_bytes().eq_ignore_ascii_case(&v))
                            .unwrap_or(HeaderName::Other)
                    };
                    assert_eq!(HeaderName::from_bytes(&v), want, "{v:?}");
                }
            }
        }
    }
}
