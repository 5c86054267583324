//! Syntax of challenges (§3.3) and credentials (§3.4): one line per case.

use sipkit_digest::{parse_challenges, Algorithm, Challenge, Credentials, ErrorKind};

/// `cred!(name, value, Ok|Err(kind))`.
macro_rules! cred {
    ($name:ident, $value:expr, Ok) => {
        #[test]
        fn $name() {
            Credentials::parse($value).unwrap();
        }
    };
    ($name:ident, $value:expr, Err($kind:expr)) => {
        #[test]
        fn $name() {
            assert_eq!(Credentials::parse($value).unwrap_err().kind, $kind);
        }
    };
}

const OK: &str = "Digest username=\"a\", realm=\"r\", nonce=\"n\", uri=\"sip:x\", response=\"0a\"";

cred!(minimal, OK, Ok);
cred!(
    lowercase_scheme_and_names,
    "digest USERNAME=\"a\", Realm=\"r\", nonce=n, uri=\"sip:x\", response=0a",
    Ok
);
cred!(
    unquoted_uri,
    "Digest username=\"a\", realm=\"r\", nonce=\"n\", uri=sip:x@y, response=\"0a\"",
    Ok
);
cred!(
    basic_scheme,
    "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==",
    Err(ErrorKind::NotDigest)
);
cred!(empty, "", Err(ErrorKind::NotDigest));
cred!(scheme_only, "Digest", Err(ErrorKind::ExpectedName));
cred!(
    no_username,
    "Digest realm=\"r\", nonce=\"n\", uri=\"sip:x\", response=\"0a\"",
    Err(ErrorKind::MissingParam("username"))
);
cred!(
    no_response,
    "Digest username=\"a\", realm=\"r\", nonce=\"n\", uri=\"sip:x\"",
    Err(ErrorKind::MissingParam("response"))
);
cred!(
    duplicate_nonce,
    "Digest username=\"a\", realm=\"r\", nonce=\"n\", nonce=\"m\", uri=\"sip:x\", response=\"0a\"",
    Err(ErrorKind::DuplicateParam("nonce"))
);
cred!(
    unterminated,
    "Digest username=\"a, realm=\"r\"",
    Err(ErrorKind::ExpectedComma)
);
cred!(
    unterminated_at_end,
    "Digest username=\"a",
    Err(ErrorKind::UnterminatedQuote)
);
cred!(
    missing_equals,
    "Digest username \"a\"",
    Err(ErrorKind::ExpectedEquals)
);
cred!(
    missing_comma,
    "Digest username=\"a\" realm=\"r\"",
    Err(ErrorKind::ExpectedComma)
);
cred!(bad_nc, "Digest username=\"a\", realm=\"r\", nonce=\"n\", uri=\"sip:x\", response=\"0a\", qop=auth, cnonce=\"c\", nc=1", Err(ErrorKind::BadNonceCount));
cred!(qop_without_cnonce, "Digest username=\"a\", realm=\"r\", nonce=\"n\", uri=\"sip:x\", response=\"0a\", qop=auth, nc=00000001", Err(ErrorKind::BadQop));
cred!(
    non_hex_response,
    "Digest username=\"a\", realm=\"r\", nonce=\"n\", uri=\"sip:x\", response=\"zz\"",
    Err(ErrorKind::BadResponse)
);
cred!(
    control_char,
    "Digest username=\"a\u{1}\", realm=\"r\", nonce=\"n\", uri=\"sip:x\", response=\"0a\"",
    Err(ErrorKind::ControlCharacter)
);
cred!(
    trailing_backslash,
    "Digest username=\"a\\",
    Err(ErrorKind::BadEscape)
);

#[test]
fn escapes_and_unknown_params_round_trip() {
    let v = "Digest username=\"al\\\"ice\", realm=\"r\", nonce=\"n\", uri=\"sip:x\", \
             response=\"0a\", x-ext=\"keep me\", tok=abc";
    let c = Credentials::parse(v).unwrap();
    assert_eq!(c.username, "al\"ice");
    assert_eq!(c.other.len(), 2);
    let printed = c.to_string();
    assert!(printed.contains("username=\"al\\\"ice\""), "{printed}");
    assert!(printed.contains("x-ext=\"keep me\""), "{printed}");
    assert!(printed.contains("tok=abc"), "{printed}");
    assert_eq!(Credentials::parse(&printed).unwrap(), c);
}

#[test]
fn utf8_username() {
    let v = "Digest username=\"J\u{e4}s\u{f8}n Doe\", realm=\"r\", nonce=\"n\", uri=\"sip:x\", response=\"0a\"";
    assert_eq!(
        Credentials::parse(v).unwrap().username,
        "J\u{e4}s\u{f8}n Doe"
    );
}

#[test]
fn challenge_prints_what_a_server_sends_and_parses_back() {
    let mut c = Challenge::new("sipkit", "abc", Algorithm::Sha256);
    c.stale = true;
    let s = c.to_string();
    assert_eq!(
        s,
        "Digest realm=\"sipkit\", nonce=\"abc\", stale=true, algorithm=SHA-256, qop=\"auth\""
    );
    assert_eq!(Challenge::parse(&s).unwrap(), c);
}

#[test]
fn challenge_list_in_one_value() {
    let v = "Digest realm=\"a\", nonce=\"1\", algorithm=SHA-256, qop=\"auth,auth-int\", \
             Digest realm=\"a\", nonce=\"1\", algorithm=MD5, qop=\"auth\", foo=bar";
    let all = parse_challenges(v).unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].algorithm(), Some(Algorithm::Sha256));
    assert_eq!(all[0].qop, ["auth", "auth-int"]);
    assert_eq!(all[1].algorithm(), Some(Algorithm::Md5));
    assert_eq!(all[1].other[0].value, "bar");
    assert_eq!(
        Challenge::parse(v).unwrap_err().kind,
        ErrorKind::ExpectedComma
    );
}

#[test]
fn challenge_errors() {
    let e = |v: &str| Challenge::parse(v).unwrap_err().kind;
    assert_eq!(e("Digest nonce=\"1\""), ErrorKind::MissingParam("realm"));
    assert_eq!(e("Digest realm=\"1\""), ErrorKind::MissingParam("nonce"));
    assert_eq!(e("Basic realm=\"x\""), ErrorKind::NotDigest);
    assert_eq!(
        e("Digest realm=\"a\", realm=\"b\", nonce=\"1\""),
        ErrorKind::DuplicateParam("realm")
    );
    // An unknown algorithm parses; it is just not one we can answer.
    let c = Challenge::parse("Digest realm=\"a\", nonce=\"1\", algorithm=SHA3").unwrap();
    assert_eq!(c.algorithm(), None);
    // Absent algorithm means MD5.
    let c = Challenge::parse("Digest realm=\"a\", nonce=\"1\"").unwrap();
    assert_eq!(c.algorithm(), Some(Algorithm::Md5));
}

#[test]
fn no_input_panics() {
    // Every prefix and a byte flip at every position of a real value.
    let v = "Digest username=\"alice\", realm=\"sipkit\", nonce=\"n\\\"x\", uri=\"sip:a@b\", \
             response=\"0123456789abcdef0123456789abcdef\", qop=auth, nc=00000001, cnonce=\"c\"";
    for i in 0..=v.len() {
        if v.is_char_boundary(i) {
            let _ = Credentials::parse(&v[..i]);
            let _ = parse_challenges(&v[..i]);
        }
    }
    for i in 0..v.len() {
        for b in [b'"', b',', b'=', b'\\', 0u8, b' '] {
            let mut bytes = v.as_bytes().to_vec();
            bytes[i] = b;
            if let Ok(s) = std::str::from_utf8(&bytes) {
                let _ = Credentials::parse(s);
                let _ = parse_challenges(s);
            }
        }
    }
}
