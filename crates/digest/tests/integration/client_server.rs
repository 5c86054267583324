//! The client side (RFC 8760 §2.4: answer the topmost supported challenge)
//! against the server side's check.

use sipkit_digest::{
    choose, verify, Algorithm, AnswerError, Challenge, ClientAuth, CLIENT_PREFERENCE,
};

fn offer(algs: &[Algorithm]) -> Vec<Challenge> {
    algs.iter()
        .map(|a| Challenge::new("sipkit", "nonce-1", *a))
        .collect()
}

#[test]
fn takes_the_topmost_supported_challenge() {
    let ch = offer(&[Algorithm::Md5, Algorithm::Sha256]);
    assert_eq!(choose(&ch, &CLIENT_PREFERENCE).unwrap().1, Algorithm::Md5);
    let ch = offer(&[Algorithm::Sha512_256, Algorithm::Md5]);
    assert_eq!(
        choose(&ch, &CLIENT_PREFERENCE).unwrap().1,
        Algorithm::Sha512_256
    );
    // An MD5-only client skips SHA-256.
    let ch = offer(&[Algorithm::Sha256, Algorithm::Md5]);
    assert_eq!(choose(&ch, &[Algorithm::Md5]).unwrap().1, Algorithm::Md5);
    // Unknown algorithms are skipped.
    let mut ch = offer(&[Algorithm::Md5]);
    ch.insert(
        0,
        Challenge::parse("Digest realm=\"x\", nonce=\"y\", algorithm=SHA3-256").unwrap(),
    );
    assert_eq!(choose(&ch, &CLIENT_PREFERENCE).unwrap().1, Algorithm::Md5);
}

#[test]
fn nothing_to_answer() {
    let ch = offer(&[Algorithm::Sha256]);
    assert_eq!(
        choose(&ch, &[Algorithm::Md5]).unwrap_err(),
        AnswerError::NoSupportedAlgorithm
    );
    let mut only_int = Challenge::new("r", "n", Algorithm::Md5);
    only_int.qop = vec!["auth-int".into()];
    assert_eq!(
        ClientAuth::new(&[only_int], &CLIENT_PREFERENCE).unwrap_err(),
        AnswerError::NoSupportedQop
    );
    assert_eq!(
        choose(&[], &CLIENT_PREFERENCE).unwrap_err(),
        AnswerError::NoSupportedAlgorithm
    );
}

#[test]
fn every_algorithm_round_trips_and_nc_counts() {
    for alg in Algorithm::ALL {
        let mut client = ClientAuth::new(&offer(&[alg]), &Algorithm::ALL).unwrap();
        let ha1 = alg.base().ha1("alice", "sipkit", "pw");
        for n in 1..=3u32 {
            let c = client.answer(
                "REGISTER",
                "sip:example.com",
                "alice",
                "pw",
                &n.to_be_bytes(),
            );
            assert_eq!(c.nc_value(), n);
            assert_eq!(c.algorithm(), Some(alg));
            assert_eq!(c.qop.as_deref(), Some("auth"));
            assert_eq!(c.response.len(), alg.hex_len());
            assert!(verify(&c, "REGISTER", &ha1), "{alg} nc={n}");
            // What goes on the wire parses back to the same.
            let back = sipkit_digest::Credentials::parse(&c.to_string()).unwrap();
            assert!(verify(&back, "REGISTER", &ha1));
            assert!(!verify(
                &back,
                "REGISTER",
                &alg.base().ha1("alice", "sipkit", "pW")
            ));
        }
    }
}

#[test]
fn no_qop_offered_falls_back_to_rfc2069() {
    let mut ch = Challenge::new("sipkit", "n", Algorithm::Md5);
    ch.qop.clear();
    let mut client = ClientAuth::new(&[ch], &CLIENT_PREFERENCE).unwrap();
    let c = client.answer("INVITE", "sip:bob@x", "alice", "pw", &[1]);
    assert_eq!(c.qop, None);
    assert_eq!(c.cnonce, None);
    assert!(verify(
        &c,
        "INVITE",
        &Algorithm::Md5.ha1("alice", "sipkit", "pw")
    ));
}

#[test]
fn unsupported_qop_never_verifies() {
    let mut client = ClientAuth::new(&offer(&[Algorithm::Md5]), &CLIENT_PREFERENCE).unwrap();
    let mut c = client.answer("INVITE", "sip:bob@x", "alice", "pw", &[1]);
    c.qop = Some("auth-int".into());
    assert!(!verify(
        &c,
        "INVITE",
        &Algorithm::Md5.ha1("alice", "sipkit", "pw")
    ));
    c.algorithm = Some("SHA3".into());
    c.qop = Some("auth".into());
    assert!(!verify(
        &c,
        "INVITE",
        &Algorithm::Md5.ha1("alice", "sipkit", "pw")
    ));
}

trait NcValue {
    fn nc_value(&self) -> u32;
}

impl NcValue for sipkit_digest::Credentials {
    fn nc_value(&self) -> u32 {
        self.nonce_count().unwrap()
    }
}
