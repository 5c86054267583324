//! Every example on the wire is a complete, valid SIP response: the
//! project's own parser (`sipkit-message`) accepts it, every header it
//! interprets parses, and the headers a code calls for are there.

use sipkit_codes::{explain, registered_codes, Lang};
use sipkit_message::{parse, HeaderName, Message};
use sipkit_web::example_response;

use crate::util::{get, text};

#[test]
fn every_example_parses_with_sipkit_message() {
    for code in registered_codes() {
        let m = example_response(code).unwrap_or_else(|| panic!("{code} has no example"));
        let msg = parse(m.as_bytes()).unwrap_or_else(|e| panic!("{code}: {e:?}\n{m}"));
        let Message::Response(r) = &msg else {
            panic!("{code}: not a response")
        };
        assert_eq!(r.status(), code);
        if code == 400 {
            // RFC 3261 §21.4.1: the phrase names the actual problem.
            assert!(r.reason().contains("Header Field"), "{}", r.reason());
        } else {
            assert_eq!(
                Some(r.reason()),
                explain(code, Lang::EN).unwrap().reason.as_deref(),
                "{code}: the registered phrase"
            );
        }
        // Every header sipkit interprets must parse as its type.
        for (i, h) in msg.headers().enumerate() {
            for v in msg.typed_values(i) {
                if let Err(e) = v {
                    panic!("{code}: header {:?} does not parse: {e:?}\n{m}", h.name);
                }
            }
        }
        assert_eq!(
            msg.content_length(),
            Some(msg.body().len()),
            "{code}: Content-Length"
        );
        assert!(msg.top_via().is_ok());
        // A To tag on everything but 100 Trying (RFC 3261 §8.2.6.2).
        assert_eq!(msg.to().tag().is_some(), code != 100, "{code}: To tag");
    }
}

#[test]
fn each_code_carries_the_headers_it_calls_for() {
    let cases: &[(u16, &str, &str)] = &[
        (202, "CSeq", "REFER"),
        (300, "Contact", "sip:"),
        (301, "Contact", "sip:"),
        (302, "Contact", "sip:"),
        (305, "Contact", "sip:"),
        (401, "WWW-Authenticate", "Digest"),
        (401, "CSeq", "REGISTER"),
        (405, "Allow", "INVITE"),
        (407, "Proxy-Authenticate", "Digest"),
        (415, "Accept", "application/sdp"),
        (420, "Unsupported", ""),
        (421, "Require", ""),
        (422, "Min-SE", ""),
        (423, "Min-Expires", ""),
        (423, "CSeq", "REGISTER"),
        (489, "Allow-Events", ""),
        (489, "CSeq", "SUBSCRIBE"),
        (494, "Security-Server", ""),
        (501, "Allow", ""),
        (503, "Retry-After", ""),
        (183, "Content-Type", "application/sdp"),
        (200, "Content-Type", "application/sdp"),
    ];
    for (code, header, contains) in cases {
        let m = example_response(*code).unwrap();
        let msg = parse(m.as_bytes()).unwrap();
        let v = msg
            .header_value(header)
            .unwrap_or_else(|| panic!("{code}: no {header}\n{m}"));
        assert!(v.contains(contains), "{code}: {header}: {v}");
    }
    let m = example_response(503).unwrap();
    let msg = parse(m.as_bytes()).unwrap();
    assert!(msg.retry_after().unwrap().is_some());
    let m = example_response(401).unwrap();
    let msg = parse(m.as_bytes()).unwrap();
    assert_eq!(msg.www_authenticate().count(), 1);
    assert!(msg.header(HeaderName::WwwAuthenticate).is_some());
}

#[test]
fn every_code_page_shows_its_example() {
    for lang in Lang::all() {
        for code in registered_codes() {
            let html = text(&get(&format!("/{}/{code}", lang.tag())));
            let m = example_response(code).unwrap();
            let first = m.lines().next().unwrap();
            assert!(html.contains("<section id=\"example\">"), "{code} {lang}");
            assert!(
                html.contains(&format!("<pre class=\"wire-msg\"><code>{first}\n")),
                "{code} {lang}: {first}"
            );
            let cseq = m.lines().find(|l| l.starts_with("CSeq:")).unwrap();
            assert!(html.contains(cseq), "{code} {lang}: {cseq}");
        }
    }
}

/// Every header field a code's facts say it must or should carry is in its
/// example, so the example never contradicts the entry.
#[test]
fn every_example_carries_the_header_fields_its_facts_call_for() {
    for code in registered_codes() {
        let e = explain(code, Lang::EN).unwrap();
        let m = example_response(code).unwrap();
        let msg = parse(m.as_bytes()).unwrap();
        let method = m
            .lines()
            .find_map(|l| l.strip_prefix("CSeq: "))
            .and_then(|v| v.split_whitespace().nth(1))
            .unwrap()
            .to_owned();
        for h in &e.facts.headers {
            let applies = h.on.as_deref().is_none_or(|on| on == method);
            if applies && h.level >= sipkit_codes::Level::Should {
                assert!(
                    msg.header_value(&h.name).is_some(),
                    "{code}: the facts call for {} ({:?})\n{m}",
                    h.name,
                    h.level
                );
            }
        }
        if let Some(methods) = &e.facts.methods {
            assert!(
                methods.contains(&method),
                "{code} answers {methods:?}, not {method}"
            );
        }
    }
}

/// RFC 3261 §21.3.5: a 380 describes the alternative service in its body,
/// not in Contact.
#[test]
fn rfc3261_21_3_5_the_380_example_puts_the_service_in_the_body() {
    let m = example_response(380).unwrap();
    let msg = parse(m.as_bytes()).unwrap();
    assert!(msg.header_value("Contact").is_none(), "{m}");
    assert!(!msg.body().is_empty(), "{m}");
    assert!(msg.header_value("Content-Type").is_some(), "{m}");
}

/// RFC 3892 §5: the refer target sends 429 to the request the REFER
/// triggered, not to the REFER; RFC 5839: 204 answers a refreshing
/// SUBSCRIBE inside the subscription's dialog.
#[test]
fn rfc3892_5_the_429_example_answers_the_triggered_invite() {
    let m = example_response(429).unwrap();
    assert!(m.contains("\r\nCSeq: 314159 INVITE\r\n"), "{m}");
    let m = example_response(204).unwrap();
    assert!(
        m.contains(" SUBSCRIBE\r\n") && m.contains("Expires: "),
        "{m}"
    );
}
