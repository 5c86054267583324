//! RFC 2617 §3.5's example (the one RFC 3261 §22.4 builds on): MD5, qop
//! auth, and the RFC 2069 form without qop.

use sipkit_digest::{verify, Algorithm, Credentials};

const VALUE: &str = "Digest username=\"Mufasa\",\r\n realm=\"testrealm@host.com\",\r\n \
    nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\",\r\n uri=\"/dir/index.html\",\r\n qop=auth,\r\n \
    nc=00000001,\r\n cnonce=\"0a4f113b\",\r\n response=\"6629fae49393a05397450978507c4ef1\",\r\n \
    opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"";

#[test]
fn example_parses_with_folded_lines_and_verifies() {
    let c = Credentials::parse(VALUE).unwrap();
    assert_eq!(c.username, "Mufasa");
    assert_eq!(c.cnonce.as_deref(), Some("0a4f113b"));
    assert_eq!(c.algorithm(), Some(Algorithm::Md5));
    let ha1 = Algorithm::Md5.ha1("Mufasa", "testrealm@host.com", "Circle Of Life");
    assert!(verify(&c, "GET", &ha1));
    // Upper-case hex is the same response.
    let mut upper = c.clone();
    upper.response = upper.response.to_ascii_uppercase();
    assert!(verify(&upper, "GET", &ha1));
    let mut wrong_nc = c.clone();
    wrong_nc.nc = Some("00000002".into());
    assert!(!verify(&wrong_nc, "GET", &ha1));
}

#[test]
fn rfc2069_form_without_qop() {
    let ha1 = Algorithm::Md5.ha1("Mufasa", "testrealm@host.com", "Circle Of Life");
    let ha2 = Algorithm::Md5.ha2("GET", "/dir/index.html");
    let response = Algorithm::Md5.response(&ha1, "dcd98b7102dd2f0e8b11d0f600bfb0c093", None, &ha2);
    // H(HA1:nonce:HA2), independent of any cnonce.
    assert_eq!(
        response,
        Algorithm::Md5.hash(&[
            ha1.as_bytes(),
            b"dcd98b7102dd2f0e8b11d0f600bfb0c093",
            ha2.as_bytes()
        ])
    );
    let c = Credentials::parse(&format!(
        "Digest username=\"Mufasa\", realm=\"testrealm@host.com\", \
         nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", uri=\"/dir/index.html\", response=\"{response}\""
    ))
    .unwrap();
    assert!(verify(&c, "GET", &ha1));
}

#[test]
fn rfc3261_sip_register() {
    // RFC 3261 §22.4: the digest-uri is the Request-URI.
    let ha1 = Algorithm::Md5.ha1("bob", "biloxi.com", "zanzibar");
    let ha2 = Algorithm::Md5.ha2("REGISTER", "sip:biloxi.com");
    let nonce = "dcd98b7102dd2f0e8b11d0f600bfb0c093";
    let r = Algorithm::Md5.response(&ha1, nonce, Some(("00000001", "0a4f113b", "auth")), &ha2);
    let c = Credentials::parse(&format!(
        "Digest username=\"bob\", realm=\"biloxi.com\", nonce=\"{nonce}\", uri=\"sip:biloxi.com\", \
         qop=auth, nc=00000001, cnonce=\"0a4f113b\", response=\"{r}\""
    ))
    .unwrap();
    assert!(verify(&c, "REGISTER", &ha1));
    assert!(!verify(&c, "INVITE", &ha1));
}
