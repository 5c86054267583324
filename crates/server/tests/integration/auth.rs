//! Digest authentication in the server (RFC 3261 §22, RFC 7616 §3.3–3.5,
//! RFC 8760): requests through `Service::respond` and `Service::admit` on
//! an injected clock, answered by sipkit-digest's client.

use std::net::IpAddr;
use std::sync::Arc;

use sipkit_digest::{Algorithm, Challenge, ClientAuth, CLIENT_PREFERENCE};
use sipkit_message::{parse, Message};
use sipkit_server::auth::{
    AuthDb, AuthSection, AuthSettings, Authenticator, Guard, NonceKey, OverLimit, UserRecord, Users,
};
use sipkit_server::{
    MemoryStore, RedirectConfig, RegistrarConfig, Reply, Service, TransportAddr, UnixMs,
};

use crate::util::TempDir;

const T0: UnixMs = UnixMs::from_millis(1_800_000_000_000);
const SECRET: &[u8] = b"a test secret of 32 bytes, fixed";
const PHONE: &str = "192.0.2.4";
const ATTACKER: &str = "203.0.113.66";

struct Fixture {
    service: Service,
}

fn settings(f: impl FnOnce(&mut AuthSection)) -> AuthSettings {
    let mut s = AuthSection::default();
    s.rate_limit.rate_per_s = 0.0;
    f(&mut s);
    AuthSettings::from_section(&s).unwrap()
}

impl Fixture {
    fn new(settings: AuthSettings) -> Fixture {
        Fixture::with_users(settings, &[("alice", "wonderland"), ("bob", "builder")])
    }

    fn with_users(settings: AuthSettings, users: &[(&str, &str)]) -> Fixture {
        let realm = settings.realm.clone();
        let users = Users::new(
            &realm,
            users.iter().map(|(n, p)| UserRecord::new(n, &realm, p)),
            "dummy",
        );
        let auth = Authenticator::new(settings, NonceKey::new(SECRET), users, 7);
        Fixture {
            service: Service {
                store: Arc::new(MemoryStore::new()),
                registrar: RegistrarConfig::default(),
                redirect: RedirectConfig::default(),
                tag_key: 1,
                auth: Some(Arc::new(Guard::new(auth, None, Vec::new(), "dummy".into()))),
            },
        }
    }

    fn send(&self, now: UnixMs, raw: &str, from: &str) -> Reply {
        let raw = raw.replace('\n', "\r\n");
        let Message::Request(req) = parse(raw.as_bytes()).unwrap() else {
            panic!("not a request")
        };
        let source = TransportAddr::new(
            sipkit_server::Transport::Udp,
            (from.parse::<IpAddr>().unwrap(), 5060).into(),
        );
        self.service.respond(now, &req, source, None).unwrap()
    }

    fn admit(&self, now: UnixMs, from: &str) -> bool {
        self.service
            .admit(now, (from.parse::<IpAddr>().unwrap(), 5060).into())
    }
}

fn register(user: &str, cseq: u32, auth: &str) -> String {
    format!(
        "REGISTER sip:example.com SIP/2.0
Via: SIP/2.0/UDP 192.0.2.4:5060;branch=z9hG4bKnashds7
Max-Forwards: 70
To: <sip:{user}@example.com>
From: <sip:{user}@example.com>;tag=456248
Call-ID: 843817637684230@998sdasdh09
CSeq: {cseq} REGISTER
Contact: <sip:{user}@192.0.2.4>
{auth}Expires: 600
Content-Length: 0

"
    )
}

fn request(method: &str, target: &str, cseq: u32, auth: &str) -> String {
    format!(
        "{method} sip:{target}@example.com SIP/2.0
Via: SIP/2.0/UDP 192.0.2.9:5060;branch=z9hG4bK74bf9{cseq}
Max-Forwards: 70
To: <sip:{target}@example.com>
From: <sip:alice@example.com>;tag=9fxced76sl
Call-ID: 3848276298220188511@atlanta.example.com
CSeq: {cseq} {method}
Contact: <sip:alice@192.0.2.9>
{auth}Content-Length: 0

"
    )
}

fn text(r: &Reply) -> String {
    String::from_utf8(r.bytes.clone()).unwrap()
}

/// The challenges of a 401/407, in order.
fn challenges(r: &Reply) -> Vec<Challenge> {
    text(r)
        .lines()
        .filter_map(|l| {
            l.strip_prefix("WWW-Authenticate: ")
                .or_else(|| l.strip_prefix("Proxy-Authenticate: "))
        })
        .map(|v| Challenge::parse(v).unwrap())
        .collect()
}

/// `Authorization: …\n` answering `r`'s challenges as `user` with
/// `password`, using the first offered of `algs`.
fn answer(
    r: &Reply,
    algs: &[Algorithm],
    method: &str,
    uri: &str,
    user: &str,
    password: &str,
) -> String {
    let header = if r.status == 407 {
        "Proxy-Authorization"
    } else {
        "Authorization"
    };
    let mut c = ClientAuth::new(&challenges(r), algs).unwrap();
    let creds = c.answer(method, uri, user, password, &[0xab; 8]);
    format!("{header}: {creds}\n")
}

/// The reply with its nonces and To tag blanked: what may differ between
/// two challenges.
fn normalised(r: &Reply) -> String {
    let t = text(r);
    let mut out = String::new();
    for line in t.lines() {
        let mut l = line.to_owned();
        if let Some(i) = l.find("nonce=\"") {
            let end = l[i + 7..].find('"').unwrap() + i + 7;
            l.replace_range(i + 7..end, "N");
        }
        if let Some(i) = l.find(";tag=") {
            if l.starts_with("To:") {
                l.truncate(i);
            }
        }
        out.push_str(&l);
        out.push('\n');
    }
    out
}

mod rfc3261_22_1_challenges {
    use super::*;

    #[test]
    fn register_gets_401_with_one_challenge_per_algorithm_md5_first() {
        let f = Fixture::new(settings(|_| {}));
        let r = f.send(T0, &register("alice", 1, ""), PHONE);
        assert_eq!(r.status, 401, "{}", text(&r));
        assert!(text(&r).starts_with("SIP/2.0 401 Unauthorized\r\n"));
        let ch = challenges(&r);
        let algs: Vec<_> = ch.iter().map(|c| c.algorithm().unwrap()).collect();
        assert_eq!(
            algs,
            [Algorithm::Md5, Algorithm::Sha256, Algorithm::Sha512_256]
        );
        for c in &ch {
            assert_eq!(c.realm, "sipkit");
            assert_eq!(c.qop, ["auth"]);
            assert!(!c.stale);
            assert_eq!(c.nonce, ch[0].nonce);
            assert_eq!(c.nonce.len(), 64);
        }
        // No binding was made.
        assert!(!text(&r).contains("Contact:"));
    }

    #[test]
    fn the_order_is_configurable() {
        let f = Fixture::new(settings(|s| {
            s.algorithms = vec!["SHA-512-256".into(), "SHA-256".into()];
        }));
        let r = f.send(T0, &register("alice", 1, ""), PHONE);
        let algs: Vec<_> = challenges(&r)
            .iter()
            .map(|c| c.algorithm().unwrap())
            .collect();
        assert_eq!(algs, [Algorithm::Sha512_256, Algorithm::Sha256]);
    }

    #[test]
    fn every_algorithm_registers() {
        for alg in [
            Algorithm::Md5,
            Algorithm::Sha256,
            Algorithm::Sha512_256,
            Algorithm::Md5Sess,
            Algorithm::Sha256Sess,
            Algorithm::Sha512_256Sess,
        ] {
            let f = Fixture::new(settings(|s| {
                s.algorithms = vec![
                    "MD5".into(),
                    "SHA-256".into(),
                    "SHA-512-256".into(),
                    "MD5-sess".into(),
                    "SHA-256-sess".into(),
                    "SHA-512-256-sess".into(),
                ];
            }));
            let r = f.send(T0, &register("alice", 1, ""), PHONE);
            let auth = answer(
                &r,
                &[alg],
                "REGISTER",
                "sip:example.com",
                "alice",
                "wonderland",
            );
            assert!(auth.contains(&format!("algorithm={alg}")), "{auth}");
            let ok = f.send(T0.plus_secs(1), &register("alice", 2, &auth), PHONE);
            assert_eq!(ok.status, 200, "{alg}: {}", text(&ok));
            assert!(text(&ok).contains("Contact: <sip:alice@192.0.2.4>;expires=600"));
        }
    }

    #[test]
    fn the_client_preference_takes_the_topmost_offered() {
        let f = Fixture::new(settings(|_| {}));
        let r = f.send(T0, &register("bob", 1, ""), PHONE);
        let auth = answer(
            &r,
            &CLIENT_PREFERENCE,
            "REGISTER",
            "sip:example.com",
            "bob",
            "builder",
        );
        assert!(auth.contains("algorithm=MD5,"), "{auth}");
        assert_eq!(f.send(T0, &register("bob", 2, &auth), PHONE).status, 200);
    }

    #[test]
    fn requests_answered_here_get_407_before_the_lookup() {
        let f = Fixture::new(settings(|_| {}));
        // Register bob so that a lookup would find him.
        let r = f.send(T0, &register("bob", 1, ""), PHONE);
        let auth = answer(
            &r,
            &[Algorithm::Md5],
            "REGISTER",
            "sip:example.com",
            "bob",
            "builder",
        );
        assert_eq!(f.send(T0, &register("bob", 2, &auth), PHONE).status, 200);
        let mut seen = Vec::new();
        for method in [
            "INVITE",
            "OPTIONS",
            "MESSAGE",
            "SUBSCRIBE",
            "REFER",
            "PUBLISH",
        ] {
            for target in ["bob", "nobody"] {
                let r = f.send(T0, &request(method, target, 1, ""), PHONE);
                assert_eq!(r.status, 407, "{method} {target}: {}", text(&r));
                assert!(!text(&r).contains("Contact:"));
                assert_eq!(challenges(&r).len(), 3);
                seen.push(normalised(&r).replace(target, "T"));
            }
            // Registered and unknown targets get the same bytes.
            assert_eq!(seen[seen.len() - 1], seen[seen.len() - 2], "{method}");
        }
        // Authenticated, the INVITE reaches the lookup: 302 for bob, 404 for nobody.
        let r = f.send(T0, &request("INVITE", "bob", 1, ""), PHONE);
        let auth = answer(
            &r,
            &[Algorithm::Sha256],
            "INVITE",
            "sip:bob@example.com",
            "alice",
            "wonderland",
        );
        let ok = f.send(T0, &request("INVITE", "bob", 2, &auth), PHONE);
        assert_eq!(ok.status, 302, "{}", text(&ok));
        let r = f.send(T0, &request("INVITE", "nobody", 1, ""), PHONE);
        let auth = answer(
            &r,
            &[Algorithm::Md5],
            "INVITE",
            "sip:nobody@example.com",
            "bob",
            "builder",
        );
        assert_eq!(
            f.send(T0, &request("INVITE", "nobody", 2, &auth), PHONE)
                .status,
            404
        );
    }

    #[test]
    fn options_to_the_server_itself_is_not_challenged() {
        let f = Fixture::new(settings(|_| {}));
        let raw = request("OPTIONS", "x", 1, "").replace("OPTIONS sip:x@", "OPTIONS sip:");
        assert_eq!(f.send(T0, &raw, PHONE).status, 200);
    }

    #[test]
    fn a_trusted_source_is_not_challenged() {
        let f = Fixture::new(settings(|s| {
            s.trust = vec!["192.0.2.0/24".parse().unwrap()]
        }));
        assert_eq!(f.send(T0, &register("alice", 1, ""), PHONE).status, 200);
        assert_eq!(
            f.send(T0, &request("INVITE", "alice", 1, ""), PHONE).status,
            302
        );
        assert_eq!(f.send(T0, &register("alice", 1, ""), ATTACKER).status, 401);
    }

    #[test]
    fn without_users_nobody_is_challenged_unless_forced() {
        let f = Fixture::with_users(settings(|_| {}), &[]);
        assert_eq!(f.send(T0, &register("alice", 1, ""), PHONE).status, 200);
        let f = Fixture::with_users(settings(|s| s.enabled = Some(true)), &[]);
        assert_eq!(f.send(T0, &register("alice", 1, ""), PHONE).status, 401);
        // Users of another realm only: still challenged (they cannot get in,
        // and neither can anyone else).
        let realm = "elsewhere";
        let users = Users::new(
            "sipkit",
            [UserRecord::new("alice", realm, "wonderland")],
            "dummy",
        );
        assert_eq!(users.other_realm(), 1);
        let auth = Authenticator::new(settings(|_| {}), NonceKey::new(SECRET), users, 7);
        let f = Fixture {
            service: Service {
                auth: Some(Arc::new(Guard::new(auth, None, Vec::new(), "d".into()))),
                ..Fixture::with_users(settings(|_| {}), &[]).service
            },
        };
        assert_eq!(f.send(T0, &register("alice", 1, ""), PHONE).status, 401);
    }
}

mod rfc7616_3_3_responses {
    use super::*;

    #[test]
    fn a_register_for_another_user_is_403() {
        let f = Fixture::new(settings(|_| {}));
        let r = f.send(T0, &register("bob", 1, ""), PHONE);
        let auth = answer(
            &r,
            &[Algorithm::Md5],
            "REGISTER",
            "sip:example.com",
            "alice",
            "wonderland",
        );
        let r = f.send(T0, &register("bob", 2, &auth), PHONE);
        assert_eq!(r.status, 403, "{}", text(&r));
        assert!(text(&r).contains(
            "Warning: 399 sipkit \"the authenticated user is not the user of the To URI\""
        ));
    }

    #[test]
    fn malformed_credentials_are_400_with_the_reason() {
        let f = Fixture::new(settings(|_| {}));
        for (bad, reason) in [
            ("Authorization: Digest username=\"alice\", realm=\"sipkit\"\n", "missing parameter nonce"),
            ("Authorization: Digest username=\"alice\" realm=\"sipkit\"\n", "expected ','"),
            (
                "Authorization: Digest username=\"alice\", realm=\"sipkit\", nonce=\"x\", uri=\"sip:example.com\", response=\"00\", qop=auth\n",
                "qop needs cnonce and nc",
            ),
            ("Authorization: Basic YWxpY2U6d29uZGVybGFuZA==\n", "expected the Digest scheme"),
        ] {
            let r = f.send(T0, &register("alice", 1, bad), PHONE);
            assert_eq!(r.status, 400, "{bad}: {}", text(&r));
            let t = text(&r);
            let w = t.lines().find(|l| l.starts_with("Warning: 399 sipkit \"malformed Authorization: ")).unwrap_or_else(|| panic!("{t}"));
            assert!(w.contains(reason), "{w}");
        }
    }

    #[test]
    fn another_realm_or_an_unoffered_algorithm_gets_a_fresh_challenge() {
        let f = Fixture::new(settings(|s| s.algorithms = vec!["SHA-256".into()]));
        let r = f.send(T0, &register("alice", 1, ""), PHONE);
        // The client answers with MD5 anyway (not offered).
        let mut md5 = r.clone();
        md5.bytes = text(&r)
            .replace("algorithm=SHA-256", "algorithm=MD5")
            .into_bytes();
        let auth = answer(
            &md5,
            &[Algorithm::Md5],
            "REGISTER",
            "sip:example.com",
            "alice",
            "wonderland",
        );
        let again = f.send(T0, &register("alice", 2, &auth), PHONE);
        assert_eq!(again.status, 401);
        assert_eq!(challenges(&again)[0].algorithm(), Some(Algorithm::Sha256));
        // Another realm.
        let auth = answer(
            &r,
            &[Algorithm::Sha256],
            "REGISTER",
            "sip:example.com",
            "alice",
            "wonderland",
        )
        .replace("realm=\"sipkit\"", "realm=\"elsewhere\"");
        assert_eq!(f.send(T0, &register("alice", 2, &auth), PHONE).status, 401);
    }

    #[test]
    fn an_expired_nonce_with_the_right_password_is_stale() {
        let f = Fixture::new(settings(|_| {}));
        let r = f.send(T0, &register("alice", 1, ""), PHONE);
        let right = answer(
            &r,
            &[Algorithm::Md5],
            "REGISTER",
            "sip:example.com",
            "alice",
            "wonderland",
        );
        let wrong = answer(
            &r,
            &[Algorithm::Md5],
            "REGISTER",
            "sip:example.com",
            "alice",
            "looking glass",
        );
        let late = T0.plus_millis(300_001);
        let s = f.send(late, &register("alice", 2, &right), PHONE);
        assert_eq!(s.status, 401);
        assert!(challenges(&s).iter().all(|c| c.stale));
        let w = f.send(late, &register("alice", 2, &wrong), PHONE);
        assert_eq!(w.status, 401);
        assert!(challenges(&w).iter().all(|c| !c.stale));
        // Just inside the lifetime it is fine.
        assert_eq!(
            f.send(T0.plus_secs(300), &register("alice", 2, &right), PHONE)
                .status,
            200
        );
    }

    #[test]
    fn nonces_of_a_node_sharing_the_secret_are_accepted_forged_ones_not() {
        let a = Fixture::new(settings(|_| {}));
        let b = Fixture::new(settings(|_| {}));
        let r = a.send(T0, &register("alice", 1, ""), PHONE);
        let auth = answer(
            &r,
            &[Algorithm::Md5],
            "REGISTER",
            "sip:example.com",
            "alice",
            "wonderland",
        );
        assert_eq!(
            b.send(T0.plus_secs(1), &register("alice", 2, &auth), PHONE)
                .status,
            200
        );
        // A nonce from 4 s in the future (more than 3 s of skew) is not.
        let r = a.send(T0.plus_secs(4), &register("alice", 1, ""), PHONE);
        let auth = answer(
            &r,
            &[Algorithm::Md5],
            "REGISTER",
            "sip:example.com",
            "alice",
            "wonderland",
        );
        assert_eq!(b.send(T0, &register("alice", 2, &auth), PHONE).status, 401);
        // A nonce made up by the client is not.
        let forged = auth.replace(&challenges(&r)[0].nonce, &"0".repeat(64));
        let forged_auth = {
            // Recompute the response for the forged nonce so only the nonce is wrong.
            let mut ch = challenges(&r);
            for c in &mut ch {
                c.nonce = "0".repeat(64);
            }
            let mut c = ClientAuth::new(&ch, &[Algorithm::Md5]).unwrap();
            format!(
                "Authorization: {}\n",
                c.answer(
                    "REGISTER",
                    "sip:example.com",
                    "alice",
                    "wonderland",
                    &[1; 8]
                )
            )
        };
        assert_ne!(forged, forged_auth);
        assert_eq!(
            a.send(T0.plus_secs(4), &register("alice", 2, &forged_auth), PHONE)
                .status,
            401
        );
    }
}

mod rfc7616_3_4_replay {
    use super::*;

    #[test]
    fn a_replayed_authorization_is_refused_a_higher_nc_is_not() {
        let f = Fixture::new(settings(|_| {}));
        let r = f.send(T0, &register("alice", 1, ""), PHONE);
        let mut client = ClientAuth::new(&challenges(&r), &[Algorithm::Md5]).unwrap();
        let first = client.answer(
            "REGISTER",
            "sip:example.com",
            "alice",
            "wonderland",
            &[1; 8],
        );
        let auth = format!("Authorization: {first}\n");
        assert_eq!(f.send(T0, &register("alice", 2, &auth), PHONE).status, 200);
        // The same bytes again, from anywhere: a fresh challenge.
        let replay = f.send(T0.plus_secs(1), &register("alice", 3, &auth), ATTACKER);
        assert_eq!(replay.status, 401, "{}", text(&replay));
        assert!(challenges(&replay).iter().all(|c| !c.stale));
        // A lower nc is refused too; nc 2 with the same nonce is fine.
        let second = client.answer(
            "REGISTER",
            "sip:example.com",
            "alice",
            "wonderland",
            &[2; 8],
        );
        assert_eq!(second.nc.as_deref(), Some("00000002"));
        let auth2 = format!("Authorization: {second}\n");
        assert_eq!(
            f.send(T0.plus_secs(2), &register("alice", 4, &auth2), PHONE)
                .status,
            200
        );
        assert_eq!(
            f.send(T0.plus_secs(3), &register("alice", 5, &auth2), PHONE)
                .status,
            401
        );
        assert_eq!(
            f.send(T0.plus_secs(3), &register("alice", 5, &auth), PHONE)
                .status,
            401
        );
    }
}

mod no_enumeration {
    use super::*;

    /// Unknown user, known user with a wrong password, known user without
    /// credentials: the same bytes apart from nonce and To tag.
    #[test]
    fn three_cases_are_byte_identical() {
        for (method, status) in [("REGISTER", 401), ("INVITE", 407), ("OPTIONS", 407)] {
            let f = Fixture::new(settings(|_| {}));
            let make = |user: &str, auth: &str| {
                if method == "REGISTER" {
                    // The AOR is the same in all three; only the credentials differ.
                    register("alice", 2, auth)
                } else {
                    let _ = user;
                    request(method, "alice", 2, auth)
                }
            };
            let uri = if method == "REGISTER" {
                "sip:example.com"
            } else {
                "sip:alice@example.com"
            };
            let first = f.send(T0, &make("alice", ""), PHONE);
            assert_eq!(first.status, status);
            let unknown = answer(&first, &[Algorithm::Md5], method, uri, "mallory", "x");
            let wrong = answer(&first, &[Algorithm::Md5], method, uri, "alice", "x");
            let r_none = f.send(T0, &make("alice", ""), PHONE);
            let r_unknown = f.send(T0, &make("mallory", &unknown), PHONE);
            let r_wrong = f.send(T0, &make("alice", &wrong), PHONE);
            assert_eq!(r_none.status, status);
            assert_eq!(normalised(&r_none), normalised(&r_unknown), "{method}");
            assert_eq!(normalised(&r_none), normalised(&r_wrong), "{method}");
            assert_eq!(r_none.bytes.len(), r_wrong.bytes.len());
        }
    }
}

mod abuse {
    use super::*;

    #[test]
    fn wrong_passwords_ban_the_source_missing_credentials_never_do() {
        let f = Fixture::new(settings(|s| s.ban.source_failures = 5));
        // A phone's normal first leg, many times over: never banned.
        for i in 0..50 {
            assert!(f.admit(T0.plus_secs(i), PHONE));
            assert_eq!(
                f.send(T0.plus_secs(i), &register("alice", 1, ""), PHONE)
                    .status,
                401
            );
        }
        // Five wrong guesses from the attacker.
        for i in 0..5 {
            assert!(f.admit(T0.plus_secs(i), ATTACKER), "banned after {i}");
            let r = f.send(T0.plus_secs(i), &register("alice", 1, ""), ATTACKER);
            let auth = answer(
                &r,
                &[Algorithm::Md5],
                "REGISTER",
                "sip:example.com",
                "alice",
                &format!("guess{i}"),
            );
            assert_eq!(
                f.send(T0.plus_secs(i), &register("alice", 2, &auth), ATTACKER)
                    .status,
                401
            );
        }
        assert!(!f.admit(T0.plus_secs(6), ATTACKER));
        assert!(f.admit(T0.plus_secs(6), PHONE));
        // The ban (from the fifth failure, at 4 s) lasts ban_s (1800 s by
        // default), then expires.
        assert!(!f.admit(T0.plus_millis(1_803_999), ATTACKER));
        assert!(f.admit(T0.plus_secs(1806), ATTACKER));
        // A success clears the count: four failures, a success, four more: no ban.
        let f = Fixture::new(settings(|s| s.ban.source_failures = 5));
        for round in 0..2 {
            for i in 0..4 {
                let r = f.send(T0, &register("alice", 1, ""), PHONE);
                let auth = answer(
                    &r,
                    &[Algorithm::Md5],
                    "REGISTER",
                    "sip:example.com",
                    "alice",
                    &format!("typo{round}{i}"),
                );
                f.send(T0, &register("alice", 2, &auth), PHONE);
            }
            let r = f.send(T0, &register("alice", 1, ""), PHONE);
            let auth = answer(
                &r,
                &[Algorithm::Md5],
                "REGISTER",
                "sip:example.com",
                "alice",
                "wonderland",
            );
            assert_eq!(
                f.send(T0, &register("alice", 10 + round, &auth), PHONE)
                    .status,
                200
            );
        }
        assert!(f.admit(T0, PHONE));
    }

    #[test]
    fn a_user_ban_refuses_new_addresses_not_the_users_own_phone() {
        let f = Fixture::new(settings(|s| {
            s.ban.source_failures = 0;
            s.ban.user_failures = 3;
        }));
        // Alice's phone registered before the attack.
        let r = f.send(T0, &register("alice", 1, ""), PHONE);
        let auth = answer(
            &r,
            &[Algorithm::Md5],
            "REGISTER",
            "sip:example.com",
            "alice",
            "wonderland",
        );
        assert_eq!(f.send(T0, &register("alice", 2, &auth), PHONE).status, 200);
        // Three guesses from three addresses ban the name.
        for i in 0..3u8 {
            let from = format!("203.0.113.{}", 10 + i);
            let r = f.send(T0, &register("alice", 1, ""), &from);
            let auth = answer(
                &r,
                &[Algorithm::Md5],
                "REGISTER",
                "sip:example.com",
                "alice",
                &format!("g{i}"),
            );
            assert_eq!(f.send(T0, &register("alice", 2, &auth), &from).status, 401);
        }
        // The right password from a new address is refused like a wrong one...
        let r = f.send(T0, &register("alice", 1, ""), ATTACKER);
        let auth = answer(
            &r,
            &[Algorithm::Md5],
            "REGISTER",
            "sip:example.com",
            "alice",
            "wonderland",
        );
        assert_eq!(
            f.send(T0, &register("alice", 2, &auth), ATTACKER).status,
            401
        );
        // ...but alice's own phone still gets in.
        let r = f.send(T0, &register("alice", 1, ""), PHONE);
        let auth = answer(
            &r,
            &[Algorithm::Md5],
            "REGISTER",
            "sip:example.com",
            "alice",
            "wonderland",
        );
        assert_eq!(f.send(T0, &register("alice", 3, &auth), PHONE).status, 200);
        // Bob is not affected.
        let r = f.send(T0, &register("bob", 1, ""), ATTACKER);
        let auth = answer(
            &r,
            &[Algorithm::Md5],
            "REGISTER",
            "sip:example.com",
            "bob",
            "builder",
        );
        assert_eq!(f.send(T0, &register("bob", 2, &auth), ATTACKER).status, 200);
    }

    #[test]
    fn a_flood_is_dropped_without_touching_other_sources() {
        let f = Fixture::new(settings(|s| {
            s.rate_limit.rate_per_s = 50.0;
            s.rate_limit.burst = 100.0;
        }));
        let mut dropped = 0;
        for i in 0..1000u64 {
            // 1000 messages in one second from the attacker.
            if !f.admit(T0.plus_millis(i), ATTACKER) {
                dropped += 1;
            }
        }
        assert!(dropped >= 850, "{dropped}");
        assert!(f.admit(T0.plus_millis(999), PHONE));
        // Penalty: 10 s after its last message over the rate, then the
        // attacker is heard again.
        assert!(!f.admit(T0.plus_millis(10_998), ATTACKER));
        assert!(f.admit(T0.plus_secs(12), ATTACKER));
    }

    #[test]
    fn busy_mode_answers_503_with_retry_after() {
        let f = Fixture::new(settings(|s| {
            s.rate_limit.rate_per_s = 1.0;
            s.rate_limit.burst = 2.0;
            s.rate_limit.over = OverLimit::Busy;
            s.rate_limit.penalty_s = 30;
        }));
        for _ in 0..3 {
            assert!(f.admit(T0, ATTACKER));
        }
        let r = f.send(T0, &register("alice", 1, ""), ATTACKER);
        assert_eq!(r.status, 503, "{}", text(&r));
        assert!(text(&r).contains("Retry-After: 30\r\n"));
        // Requests that are never challenged get the 503 too.
        let bye = request("BYE", "alice", 1, "");
        assert_eq!(f.send(T0, &bye, ATTACKER).status, 503);
        assert_eq!(f.send(T0, &bye, PHONE).status, 405);
        assert_eq!(f.send(T0, &register("alice", 1, ""), PHONE).status, 401);
    }
}

mod database {
    //! The same contract for the SQLite file and Redis (one server and a
    //! Redis Cluster): two handles on one store stand for two nodes.

    use super::*;
    use sipkit_server::auth::{AuthStore, Ban, BanTarget, RedisAuthDb};
    use sipkit_server::{RedisOptions, RedisStore};

    /// Two handles on one store, and a check that no password reached it.
    type Open = Box<dyn Fn() -> Box<dyn AuthStore>>;

    fn users_secret_and_bans_persist_and_are_shared(open: &Open) {
        let (db, db2) = (open(), open());
        assert!(!db
            .put_user(&UserRecord::new("alice", "sipkit", "pw"), T0)
            .unwrap());
        assert!(db
            .put_user(&UserRecord::new("alice", "sipkit", "pw2"), T0)
            .unwrap());
        db.put_user(&UserRecord::new("bob", "other", "pw"), T0)
            .unwrap();
        let v = db.users_version().unwrap();
        let secret = db.secret_or_insert(&[1; 32]).unwrap();
        assert_eq!(secret, [1; 32]);
        // A second node gets the first one's secret, not its own.
        assert_eq!(db2.secret_or_insert(&[2; 32]).unwrap(), [1; 32]);
        let users = db2.users().unwrap();
        assert_eq!(users.len(), 2);
        assert_eq!(users[0], UserRecord::new("alice", "sipkit", "pw2"));
        assert_eq!(
            db2.user("bob").unwrap(),
            Some(UserRecord::new("bob", "other", "pw"))
        );
        assert_eq!(db2.user("carol").unwrap(), None);
        assert!(db2.remove_user("bob").unwrap());
        assert!(!db2.remove_user("bob").unwrap());
        assert_ne!(db.users_version().unwrap(), v);
        let ban = Ban {
            target: BanTarget::Source(ATTACKER.parse().unwrap()),
            until: T0.plus_secs(60),
            reason: "manual".into(),
        };
        let v6 = Ban {
            target: BanTarget::Source("2001:db8::66".parse().unwrap()),
            until: T0.plus_secs(30),
            reason: "failures".into(),
        };
        let user = Ban {
            target: BanTarget::User("alice".into()),
            until: T0.plus_secs(90),
            reason: "failures".into(),
        };
        for b in [&user, &ban, &v6] {
            db.put_ban(b).unwrap();
        }
        assert_eq!(
            db2.bans(T0).unwrap(),
            [ban.clone(), v6.clone(), user.clone()]
        );
        // In force while now < until.
        assert_eq!(
            db2.bans(T0.plus_secs(30)).unwrap(),
            [ban.clone(), user.clone()]
        );
        assert_eq!(db2.purge_bans(T0.plus_secs(30)).unwrap(), 1);
        assert!(db2.bans(T0.plus_secs(60)).unwrap() == [user.clone()]);
        // The last write wins, shorter or longer.
        db2.put_ban(&Ban {
            until: T0.plus_secs(10),
            ..user.clone()
        })
        .unwrap();
        assert_eq!(
            db.bans(T0.plus_secs(10)).unwrap(),
            std::slice::from_ref(&ban)
        );
        assert!(db2.remove_ban(&ban.target).unwrap());
        assert!(!db2.remove_ban(&ban.target).unwrap());
        assert!(db.bans(T0).unwrap().len() == 1);
        assert_eq!(db.purge_bans(T0.plus_secs(3600)).unwrap(), 1);
        assert!(db.bans(T0).unwrap().is_empty());
    }

    fn the_guard_enforces_bans_added_to_the_store_and_saves_its_own(open: &Open) {
        let db = open();
        let mut s = settings(|s| s.ban.source_failures = 2);
        s.realm = "sipkit".into();
        let users = Users::new("sipkit", [UserRecord::new("alice", "sipkit", "pw")], "d");
        let auth = Authenticator::new(s, NonceKey::new(SECRET), users, 1);
        let guard = Guard::new(
            auth,
            Some(open()),
            vec![UserRecord::new("alice", "sipkit", "pw")],
            "d".into(),
        );
        let phone: IpAddr = PHONE.parse().unwrap();
        assert!(guard.admit(T0, phone));
        db.put_ban(&Ban {
            target: BanTarget::Source(phone),
            until: T0.plus_secs(600),
            reason: "manual".into(),
        })
        .unwrap();
        // Seen at the next synchronisation (every 2 s).
        assert!(!guard.admit(T0.plus_secs(3), phone));
        db.remove_ban(&BanTarget::Source(phone)).unwrap();
        assert!(guard.admit(T0.plus_secs(6), phone));
        // A user added to the store can authenticate after the next sync.
        db.put_user(&UserRecord::new("carol", "sipkit", "pw"), T0)
            .unwrap();
        assert_eq!(guard.user_count(), 1);
        guard.admit(T0.plus_secs(9), phone);
        assert_eq!(guard.user_count(), 2);
        // Bans made by the guard land in the store.
        let attacker: IpAddr = ATTACKER.parse().unwrap();
        for cnonce in 0..2u8 {
            let input = sipkit_server::auth::AuthInput {
                method: "REGISTER",
                register: true,
                to_user: Some("alice"),
                credentials: &[&format!(
                    "Digest username=\"alice\", realm=\"sipkit\", nonce=\"{}\", uri=\"sip:x\", response=\"{}\", qop=auth, nc=00000001, cnonce=\"{cnonce}\"",
                    NonceKey::new(SECRET).issue(T0.plus_secs(10), [cnonce; 8]),
                    "0".repeat(32)
                )],
                source: attacker,
            };
            guard.check(T0.plus_secs(10), &input);
        }
        assert!(!guard.admit(T0.plus_secs(11), attacker));
        let bans = db.bans(T0.plus_secs(11)).unwrap();
        assert_eq!(bans.len(), 1, "{bans:?}");
        assert_eq!(bans[0].reason, "failures");
    }

    /// Every function above against one store kind.
    macro_rules! for_each_auth_store {
        ($($name:ident),* $(,)?) => {
            mod sqlite {
                use super::*;
                #[test]
                fn every_function_of_the_module() {
                    $(
                        let dir = TempDir::new(concat!("authdb-", stringify!($name)));
                        let path = dir.file("auth.db");
                        let open: Open = Box::new(move || Box::new(AuthDb::open(&path).unwrap()));
                        super::$name(&open);
                        // Never the password: only the three HA1s.
                        let raw = std::fs::read(dir.file("auth.db")).unwrap();
                        assert!(!raw.windows(3).any(|w| w == b"pw2"));
                    )*
                }
            }
            mod redis {
                use super::*;
                #[test]
                fn every_function_of_the_module() {
                    let Some(server) = crate::util::RedisServer::start("auth-store") else {
                        return;
                    };
                    $(
                        let url = server.url();
                        let open: Open = Box::new(move || {
                            let options = RedisOptions {
                                prefix: concat!(stringify!($name), ":"),
                                ..RedisOptions::default()
                            };
                            let store = RedisStore::open_with(&url, options).unwrap();
                            Box::new(RedisAuthDb::on(store).unwrap())
                        });
                        super::$name(&open);
                    )*
                }
            }
            mod redis_cluster {
                use super::*;
                #[test]
                fn every_function_of_the_module() {
                    let Some(cluster) = crate::util::RedisCluster::start("auth-store") else {
                        return;
                    };
                    $(
                        let url = cluster.url();
                        let open: Open = Box::new(move || {
                            let options = RedisOptions {
                                prefix: concat!(stringify!($name), ":"),
                                ..RedisOptions::default()
                            };
                            let store = RedisStore::open_with(&url, options).unwrap();
                            Box::new(RedisAuthDb::on(store).unwrap())
                        });
                        super::$name(&open);
                    )*
                }
            }
        };
    }

    for_each_auth_store!(
        users_secret_and_bans_persist_and_are_shared,
        the_guard_enforces_bans_added_to_the_store_and_saves_its_own,
    );

    #[test]
    fn redis_keys_share_one_slot_and_hold_no_password() {
        let Some(server) = crate::util::RedisServer::start("auth-layout") else {
            return;
        };
        let db = RedisAuthDb::open(&server.url()).unwrap();
        db.put_user(&UserRecord::new("alice", "sipkit", "s3cret"), T0)
            .unwrap();
        db.secret_or_insert(&[7; 32]).unwrap();
        db.put_ban(&Ban {
            target: BanTarget::User("alice".into()),
            until: T0.plus_secs(60),
            reason: "manual".into(),
        })
        .unwrap();
        let mut conn = ::redis::Client::open(server.url())
            .unwrap()
            .get_connection()
            .unwrap();
        let mut keys: Vec<String> = ::redis::cmd("KEYS").arg("*").query(&mut conn).unwrap();
        keys.sort();
        assert_eq!(
            keys,
            [
                "sk:{auth}:ban_expiry",
                "sk:{auth}:bans",
                "sk:{auth}:secret",
                "sk:{auth}:users",
                "sk:{auth}:users_version"
            ]
        );
        let record: String = ::redis::cmd("HGET")
            .arg("sk:{auth}:users")
            .arg("alice")
            .query(&mut conn)
            .unwrap();
        assert!(!record.contains("s3cret"), "{record}");
        assert!(record.contains(&sipkit_digest::Algorithm::Md5.ha1("alice", "sipkit", "s3cret")));
        let secret: String = ::redis::cmd("GET")
            .arg("sk:{auth}:secret")
            .query(&mut conn)
            .unwrap();
        assert_eq!(secret, "07".repeat(32));
        // A stored secret that is not hex is reported, not used.
        let _: () = ::redis::cmd("SET")
            .arg("sk:{auth}:secret")
            .arg("zz")
            .query(&mut conn)
            .unwrap();
        assert!(matches!(
            db.secret_or_insert(&[1; 32]),
            Err(sipkit_server::Error::Corrupt { .. })
        ));
    }

    #[test]
    fn redis_stopped_is_an_error_and_the_guard_keeps_what_it_read() {
        let Some(mut server) = crate::util::RedisServer::start("auth-outage") else {
            return;
        };
        let db = RedisAuthDb::open(&server.url()).unwrap();
        db.put_user(&UserRecord::new("carol", "sipkit", "pw"), T0)
            .unwrap();
        let auth = Authenticator::new(
            settings(|_| {}),
            NonceKey::new(SECRET),
            Users::new("sipkit", db.users().unwrap(), "d"),
            1,
        );
        let guard = Guard::new(
            auth,
            Some(Box::new(RedisAuthDb::open(&server.url()).unwrap())),
            Vec::new(),
            "d".into(),
        );
        let phone: IpAddr = PHONE.parse().unwrap();
        assert!(guard.admit(T0, phone));
        assert_eq!(guard.user_count(), 1);
        server.stop();
        assert!(db.users().is_err());
        assert!(db
            .put_ban(&Ban {
                target: BanTarget::Source(phone),
                until: T0.plus_secs(60),
                reason: "manual".into(),
            })
            .is_err());
        // The guard goes on with the users it read.
        assert!(guard.admit(T0.plus_secs(3), phone));
        assert_eq!(guard.user_count(), 1);
        // A ban it decides meanwhile is enforced here at once, and written
        // when Redis is back.
        let attacker: IpAddr = ATTACKER.parse().unwrap();
        for cnonce in 0..10u8 {
            let input = sipkit_server::auth::AuthInput {
                method: "REGISTER",
                register: true,
                to_user: Some("carol"),
                credentials: &[&format!(
                    "Digest username=\"carol\", realm=\"sipkit\", nonce=\"{}\", uri=\"sip:x\", response=\"{}\", qop=auth, nc=00000001, cnonce=\"{cnonce}\"",
                    NonceKey::new(SECRET).issue(T0.plus_secs(4), [cnonce; 8]),
                    "0".repeat(32)
                )],
                source: attacker,
            };
            guard.check(T0.plus_secs(4), &input);
        }
        assert!(!guard.admit(T0.plus_secs(4), attacker));
        assert!(!guard.admit(T0.plus_secs(7), attacker));
        server.restart();
        guard.admit(T0.plus_secs(10), attacker);
        let bans = db.bans(T0.plus_secs(10)).unwrap();
        assert_eq!(bans.len(), 1, "{bans:?}");
        assert_eq!(bans[0].target, BanTarget::Source(attacker));
        assert_eq!(guard.bans(T0.plus_secs(10)), bans);
        // The restarted Redis kept no users (no persistence): the guard
        // keeps those it had rather than letting everyone in ...
        assert_eq!(guard.user_count(), 1);
        // ... until users are added again.
        db.put_user(&UserRecord::new("dave", "sipkit", "pw"), T0)
            .unwrap();
        guard.admit(T0.plus_secs(13), phone);
        assert_eq!(guard.user_count(), 1);
        assert!(db.users().unwrap()[0].name == "dave");
    }
}
