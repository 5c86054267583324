//! An example of each registered response as it travels on the wire: a
//! complete SIP/2.0 response with the headers that code carries in practice
//! (Contact on a 3xx, WWW-Authenticate on 401, Allow on 405, Min-Expires on
//! 423, Retry-After on 503, Unsupported on 420 …), answering the request the
//! code usually answers (202 a REFER, 423 a REGISTER, 489 a SUBSCRIBE).
//!
//! Addresses are from the documentation ranges (`example.com`, RFC 2606;
//! `192.0.2.0/24`, RFC 5737). The test suite parses every example with
//! `sipkit-message`.

use std::fmt::Write as _;

use sipkit_codes::{explain, Lang};

/// The request a response answers.
#[derive(Debug, Clone, Copy)]
struct Ctx {
    method: &'static str,
    cseq: u32,
    from: &'static str,
    to: &'static str,
    /// Whether the request was sent within a dialog (a re-INVITE, a BYE).
    in_dialog: bool,
}

const INVITE: Ctx = Ctx {
    method: "INVITE",
    cseq: 314159,
    from: "Alice <sip:alice@atlanta.example.com>",
    to: "Bob <sip:bob@biloxi.example.com>",
    in_dialog: false,
};

fn ctx(code: u16) -> Ctx {
    let register = Ctx {
        method: "REGISTER",
        cseq: 1826,
        from: "Alice <sip:alice@atlanta.example.com>",
        to: "Alice <sip:alice@atlanta.example.com>",
        in_dialog: false,
    };
    match code {
        // 429 answers the request the REFER triggered (the INVITE to the
        // transfer target, RFC 3892), so it keeps the INVITE context.
        202 => Ctx {
            method: "REFER",
            cseq: 93809824,
            in_dialog: true,
            ..INVITE
        },
        // RFC 5839: 204 answers only a refreshing SUBSCRIBE, inside the
        // subscription's dialog.
        204 => Ctx {
            method: "SUBSCRIBE",
            cseq: 4712,
            in_dialog: true,
            ..INVITE
        },
        489 => Ctx {
            method: "SUBSCRIBE",
            cseq: 4711,
            ..INVITE
        },
        405 => Ctx {
            method: "MESSAGE",
            cseq: 1,
            ..INVITE
        },
        412 => Ctx {
            method: "PUBLISH",
            cseq: 2,
            to: INVITE.from,
            ..INVITE
        },
        469 => Ctx {
            method: "INFO",
            cseq: 314161,
            in_dialog: true,
            ..INVITE
        },
        481 => Ctx {
            method: "BYE",
            cseq: 231,
            in_dialog: true,
            ..INVITE
        },
        491 => Ctx {
            method: "INVITE",
            cseq: 314160,
            in_dialog: true,
            ..INVITE
        },
        401 | 423 | 439 | 494 | 555 => register,
        _ => INVITE,
    }
}

/// The headers particular to `code`, each a whole line without CRLF.
fn extra_headers(code: u16) -> Vec<&'static str> {
    match code {
        180..=183 | 200 | 202 | 204 => vec!["Contact: <sip:bob@192.0.2.4>"],
        199 => vec!["Contact: <sip:bob@192.0.2.4>", "Reason: SIP;cause=486;text=\"Busy Here\""],
        300 => vec!["Contact: <sip:bob@192.0.2.4>;q=0.7, <sip:bob@mobile.biloxi.example.com>;q=0.3"],
        301 => vec!["Contact: <sip:bob@chicago.example.com>"],
        302 => vec!["Contact: <sip:bob@192.0.2.4>;expires=3600"],
        305 => vec!["Contact: <sip:proxy.biloxi.example.com;lr>"],
        401 => vec![
            "WWW-Authenticate: Digest realm=\"atlanta.example.com\", qop=\"auth\", nonce=\"ea9c8e88df84f1cec4341ae6cbe5a359\", opaque=\"\", stale=FALSE, algorithm=MD5",
        ],
        405 | 501 => vec!["Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, UPDATE, PRACK"],
        407 => vec![
            "Proxy-Authenticate: Digest realm=\"biloxi.example.com\", qop=\"auth\", nonce=\"f84f1cec41e6cbe5aea9c8e88d359\", opaque=\"\", stale=FALSE, algorithm=MD5",
        ],
        412 => vec!["Event: presence"],
        413 => vec!["Retry-After: 60"],
        415 => vec!["Accept: application/sdp", "Accept-Encoding: identity", "Accept-Language: en"],
        417 => vec!["Accept-Resource-Priority: wps.0, wps.1, wps.2, wps.3, wps.4"],
        420 => vec!["Unsupported: sec-agree"],
        421 => vec!["Require: 100rel"],
        422 => vec!["Min-SE: 1800"],
        423 => vec!["Min-Expires: 3600"],
        424 => vec!["Geolocation-Error: 100;code=\"Cannot Process Location\""],
        425 => vec!["AlertMsg-Error: 100;message=\"Cannot process the alert payload\""],
        469 => vec!["Recv-Info: g.3gpp.mid-call"],
        470 => vec!["Permission-Missing: <sip:bob@biloxi.example.com>"],
        480 => vec!["Retry-After: 3600"],
        485 => vec!["Contact: <sip:bob.smith@biloxi.example.com>, <sip:bob.jones@biloxi.example.com>"],
        488 | 606 => vec!["Warning: 304 biloxi.example.com \"Media type not available\""],
        489 => vec!["Allow-Events: presence, dialog"],
        494 => vec!["Security-Server: ipsec-3gpp;q=0.1;alg=hmac-sha-1-96;spi-c=98765432;spi-s=87654321;port-c=8642;port-s=7531"],
        500 => vec!["Retry-After: 30"],
        503 => vec!["Retry-After: 300"],
        608 => vec!["Call-Info: <https://analytics.example.com/jwscard/8fe3a>;purpose=jwscard"],
        _ => vec![],
    }
}

/// An SDP answer, for the responses that carry one (RFC 3264).
const SDP: &str = "v=0\r\n\
o=bob 2890844527 2890844527 IN IP4 192.0.2.4\r\n\
s=-\r\n\
c=IN IP4 192.0.2.4\r\n\
t=0 0\r\n\
m=audio 49172 RTP/AVP 0 8 101\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\n";

/// The body of a 380: the alternative service, as 3GPP TS 24.229 describes it.
const ALTERNATIVE: &str = "<?xml version=\"1.0\"?>\r\n\
<ims-3gpp version=\"1\"><alternative-service><type>emergency</type>\
<reason>Emergency call</reason></alternative-service></ims-3gpp>\r\n";

/// The reason phrase an example shows: the registered one, except for 400,
/// whose phrase names the actual problem as RFC 3261 §21.4.1 asks.
fn wire_reason(code: u16, registered: String) -> String {
    match code {
        400 => "Malformed Contact Header Field".to_owned(),
        _ => registered,
    }
}

/// The example response for a registered `code`, with CRLF line ends;
/// `None` for a code IANA has not registered (it has no reason phrase).
pub fn example_response(code: u16) -> Option<String> {
    let e = explain(code, Lang::EN).ok()?;
    let reason = wire_reason(code, e.reason?);
    let c = ctx(code);
    let mut m = String::with_capacity(600);
    let _ = write!(m, "SIP/2.0 {code} {reason}\r\n");
    m.push_str("Via: SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bK776asdhds;received=192.0.2.101;rport=5060\r\n");
    let _ = write!(m, "From: {};tag=1928301774\r\n", c.from);
    // A 100 Trying is not part of a dialog and carries no To tag (§8.2.6.2);
    // every other response of a UAS does.
    if code == 100 && !c.in_dialog {
        let _ = write!(m, "To: {}\r\n", c.to);
    } else {
        let _ = write!(m, "To: {};tag=a6c85cf\r\n", c.to);
    }
    m.push_str("Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n");
    let _ = write!(m, "CSeq: {} {}\r\n", c.cseq, c.method);
    for h in extra_headers(code) {
        m.push_str(h);
        m.push_str("\r\n");
    }
    match code {
        // A SUBSCRIBE answer states the subscription's duration (RFC 6665
        // §4.2.1.1); a REFER answer does not.
        204 => m.push_str("Expires: 3600\r\n"),
        200 => m.push_str("Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, UPDATE, PRACK, REFER, NOTIFY\r\nSupported: replaces, timer\r\n"),
        _ => {}
    }
    if code == 380 {
        // RFC 3261 §21.3.5: the alternative service is described in the body,
        // in a format RFC 3261 leaves open; here the 3GPP one (TS 24.229) a
        // P-CSCF uses to send a phone to emergency calling.
        let _ = write!(
            m,
            "Content-Type: application/3gpp-ims+xml\r\nContent-Length: {}\r\n\r\n{ALTERNATIVE}",
            ALTERNATIVE.len()
        );
    } else if matches!(code, 183 | 200) {
        let _ = write!(
            m,
            "Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{SDP}",
            SDP.len()
        );
    } else {
        m.push_str("Content-Length: 0\r\n\r\n");
    }
    Some(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_302_has_its_contact_and_a_valid_length() {
        let m = example_response(302).unwrap();
        assert!(m.starts_with("SIP/2.0 302 Moved Temporarily\r\n"));
        assert!(m.contains("\r\nContact: <sip:bob@192.0.2.4>;expires=3600\r\n"));
        assert!(m.ends_with("Content-Length: 0\r\n\r\n"));
    }

    #[test]
    fn an_unregistered_code_has_no_example() {
        assert!(example_response(299).is_none());
    }
}
