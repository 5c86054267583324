//! RFC 3261 §22.2 (with RFC 7616 and RFC 8760): the agent answers digest
//! challenges — a scripted registrar or UAS that challenges and checks the
//! answer with `sipkit-digest`'s server side, on a jumping clock.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use sipkit_digest::{verify, Credentials as Creds};
use sipkit_ua::{AgentOptions, CallOptions, CallState, Command, Credentials};

use crate::harness::*;

const UA: &str = "192.0.2.1:5060";
const SERVER: &str = "192.0.2.20:5060";
const REALM: &str = "sipkit.test";
const PASSWORD: &str = "s3cret";

/// How the scripted server challenges.
#[derive(Clone)]
struct Server {
    /// 401 (registrar, WWW-Authenticate) or 407 (proxy, Proxy-Authenticate).
    status: u16,
    /// The `algorithm` values offered, one challenge each, in order.
    offer: Vec<&'static str>,
    /// Answer wrong credentials with this (401/407 again, or 403).
    on_bad: u16,
    /// The REGISTER CSeq whose (right) answer is called stale.
    stale_at: Option<u32>,
    /// Granted registration expiry.
    expires: u32,
    /// The methods challenged; others are answered 200 at once.
    methods: &'static [&'static str],
    /// A nonce serves one request: the next one is challenged again.
    one_time_nonce: bool,
}

impl Server {
    fn registrar(offer: &[&'static str]) -> Server {
        Server {
            status: 401,
            offer: offer.to_vec(),
            on_bad: 401,
            stale_at: None,
            expires: 60,
            methods: &["REGISTER", "INVITE"],
            one_time_nonce: false,
        }
    }
}

/// What the server saw: (method, CSeq, credentials, whether they verified).
type Log = Rc<RefCell<Vec<(String, u32, Option<Creds>, bool)>>>;

fn challenge_headers(s: &Server, nonce: &str, stale: bool) -> Vec<(&'static str, String)> {
    let name = if s.status == 407 {
        "Proxy-Authenticate"
    } else {
        "WWW-Authenticate"
    };
    s.offer
        .iter()
        .map(|a| {
            let st = if stale { ", stale=true" } else { "" };
            (
                name,
                format!(
                    "Digest realm=\"{REALM}\", nonce=\"{nonce}\", qop=\"auth\", algorithm={a}, opaque=\"op\"{st}"
                ),
            )
        })
        .collect()
}

/// A registrar or UAS at SERVER that challenges every request without
/// (valid) credentials and checks the answer with the stored password.
fn server(net: &mut Net, s: Server) -> Log {
    let log: Log = Rc::default();
    let seen = log.clone();
    let nonce = Rc::new(RefCell::new(String::from("nonce-1")));
    net.scripted(
        SERVER,
        20,
        Box::new(move |core, now, key, req| {
            let method = req.method_str().to_owned();
            let cseq = req.cseq().seq;
            let header = if s.status == 407 {
                "Proxy-Authorization"
            } else {
                "Authorization"
            };
            if method == "ACK" {
                return;
            }
            if !s.methods.contains(&method.as_str()) {
                answer_ok(core, now, key, req, s.expires);
                return;
            }
            let creds = req
                .header_value(header)
                .map(|v| Creds::parse(v).expect("the agent's credentials parse"));
            let ok = creds.as_ref().is_some_and(|c| {
                let alg = c.algorithm().expect("a known algorithm");
                let ha1 = alg.base().ha1(&c.username, &c.realm, PASSWORD);
                c.realm == REALM
                    && c.uri == req.uri().as_str()
                    && c.opaque.as_deref() == Some("op")
                    && verify(c, &method, &ha1)
            });
            seen.borrow_mut()
                .push((method.clone(), cseq, creds.clone(), ok));
            let current = nonce.borrow().clone();
            let reason = if s.status == 407 {
                "Proxy Authentication Required"
            } else {
                "Unauthorized"
            };
            let stale = ok && s.stale_at == Some(cseq);
            let fresh = creds.as_ref().is_some_and(|c| c.nonce == current);
            if creds.is_none() || stale || (ok && !fresh) {
                if stale {
                    *nonce.borrow_mut() = format!("nonce-{cseq}");
                }
                let n = nonce.borrow().clone();
                let hs = challenge_headers(&s, &n, stale);
                let hs: Vec<(&str, &str)> = hs.iter().map(|(k, v)| (*k, v.as_str())).collect();
                respond(core, now, key, req, s.status, reason, &hs);
                return;
            }
            if !ok {
                if s.on_bad == 403 {
                    respond(core, now, key, req, 403, "Forbidden", &[]);
                } else {
                    let hs = challenge_headers(&s, &current, false);
                    let hs: Vec<(&str, &str)> = hs.iter().map(|(k, v)| (*k, v.as_str())).collect();
                    respond(core, now, key, req, s.status, reason, &hs);
                }
                return;
            }
            if s.one_time_nonce {
                *nonce.borrow_mut() = format!("nonce-{cseq}-used");
            }
            answer_ok(core, now, key, req, s.expires);
        }),
    );
    log
}

/// The 200 of the scripted server: a binding for REGISTER, a Contact for INVITE.
fn answer_ok(
    core: &mut sipkit_ua::UaCore,
    now: std::time::Instant,
    key: &sipkit_transaction::TransactionKey,
    req: &sipkit_message::Request<'_>,
    expires: u32,
) {
    match req.method_str() {
        "REGISTER" => {
            let asked: u32 = req
                .header_value("Expires")
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(3600);
            let contact = format!("<sip:alice@{UA}>;expires={}", asked.min(expires));
            respond(core, now, key, req, 200, "OK", &[("Contact", &contact)]);
        }
        "INVITE" => {
            let contact = format!("<sip:uas@{SERVER}>");
            respond(core, now, key, req, 200, "OK", &[("Contact", &contact)]);
        }
        _ => respond(core, now, key, req, 200, "OK", &[]),
    }
}

fn creds(password: &str) -> Option<Credentials> {
    Some(Credentials {
        user: "alice".into(),
        password: password.into(),
    })
}

fn registering(password: &str) -> AgentOptions {
    AgentOptions {
        user: "alice".into(),
        register: Some(format!("sip:{SERVER}")),
        credentials: creds(password),
        ..AgentOptions::default()
    }
}

/// (CSeq, algorithm, nc, nonce, verified) of every authorized request.
fn answers(log: &Log) -> Vec<(u32, String, String, String, bool)> {
    log.borrow()
        .iter()
        .filter_map(|(_, cseq, c, ok)| {
            c.as_ref().map(|c| {
                (
                    *cseq,
                    c.algorithm.clone().unwrap_or_default(),
                    c.nc.clone().unwrap_or_default(),
                    c.nonce.clone(),
                    *ok,
                )
            })
        })
        .collect()
}

#[test]
fn rfc7616_register_through_401_with_each_algorithm() {
    for alg in ["MD5", "SHA-256", "SHA-512-256"] {
        let mut net = Net::new(Netem::perfect());
        let log = server(&mut net, Server::registrar(&[alg]));
        let a = net.agent(UA, registering(PASSWORD), 1);
        net.run_until(5.0);
        let r = net.get(a).report().registration.unwrap();
        assert_eq!((r.status, r.expires), (Some(200), Some(60)), "{alg}");
        let auth = r.auth.unwrap();
        assert_eq!(auth.outcome, "authenticated", "{alg}");
        assert_eq!(auth.algorithm.as_deref(), Some(alg));
        assert_eq!(auth.challenges, 1);
        // The retry: the next CSeq, qop=auth, a cnonce, nc 1, verified.
        let seen = answers(&log);
        assert_eq!(
            seen,
            [(2, alg.to_owned(), "00000001".into(), "nonce-1".into(), true)]
        );
        let c = log.borrow()[1].2.clone().unwrap();
        assert_eq!(c.qop.as_deref(), Some("auth"));
        assert!(c.cnonce.as_ref().is_some_and(|n| n.len() >= 16), "{c:?}");
        assert_eq!(net.times(a, "REGISTER"), [0.0, 0.0]);
    }
}

#[test]
fn rfc8760_2_4_the_first_offered_algorithm_the_agent_supports_is_chosen() {
    for (offer, chosen) in [
        (&["SHA-999", "SHA-256", "MD5"][..], "SHA-256"),
        (&["MD5", "SHA-512-256"][..], "MD5"),
        (&["SHA-512-256", "SHA-256", "MD5"][..], "SHA-512-256"),
    ] {
        let mut net = Net::new(Netem::perfect());
        let log = server(&mut net, Server::registrar(offer));
        let a = net.agent(UA, registering(PASSWORD), 1);
        net.run_until(5.0);
        let r = net.get(a).report().registration.unwrap();
        assert_eq!(r.status, Some(200), "{offer:?}");
        let seen = answers(&log);
        assert_eq!(seen.len(), 1);
        assert_eq!((seen[0].1.as_str(), seen[0].4), (chosen, true), "{offer:?}");
    }
}

#[test]
fn rfc7616_3_4_refreshes_reuse_the_nonce_with_the_next_nc() {
    let mut net = Net::new(Netem::perfect());
    let log = server(&mut net, Server::registrar(&["SHA-256"]));
    let a = net.agent(UA, registering(PASSWORD), 1);
    net.run_until(70.0);
    assert_eq!(net.times(a, "REGISTER"), [0.0, 0.0, 30.0, 60.0]);
    let nc: Vec<(u32, String, String)> = answers(&log)
        .into_iter()
        .map(|(cseq, _, nc, nonce, ok)| {
            assert!(ok);
            (cseq, nc, nonce)
        })
        .collect();
    assert_eq!(
        nc,
        [
            (2, "00000001".into(), "nonce-1".into()),
            (3, "00000002".into(), "nonce-1".into()),
            (4, "00000003".into(), "nonce-1".into()),
        ]
    );
    // Un-registering answers with the same nonce too.
    net.with(a, |x, now| x.shutdown(now, "signal"));
    net.run_until(71.0);
    assert_eq!(net.get(a).stopped(), Some("signal"));
    let r = net.get(a).report().registration.unwrap();
    assert_eq!(r.unregister_status, Some(200));
    assert_eq!(answers(&log).last().unwrap().2, "00000004");
}

#[test]
fn rfc7616_3_3_a_stale_nonce_on_refresh_is_answered_and_is_no_failure() {
    let mut net = Net::new(Netem::perfect());
    let mut s = Server::registrar(&["SHA-256"]);
    s.stale_at = Some(3);
    let log = server(&mut net, s);
    let a = net.agent(UA, registering(PASSWORD), 1);
    net.run_until(40.0);
    // 1 (no credentials) → 401; 2 → 200; refresh 3 (old nonce) → 401
    // stale; 4 with the new nonce, nc 1 → 200.
    assert_eq!(net.times(a, "REGISTER"), [0.0, 0.0, 30.0, 30.0]);
    let seen = answers(&log);
    assert_eq!(
        seen.iter()
            .map(|(c, _, nc, n, _)| (*c, nc.as_str(), n.as_str()))
            .collect::<Vec<_>>(),
        [
            (2, "00000001", "nonce-1"),
            (3, "00000002", "nonce-1"),
            (4, "00000001", "nonce-3"),
        ]
    );
    let r = net.get(a).report().registration.unwrap();
    assert_eq!(r.status, Some(200));
    let auth = r.auth.unwrap();
    assert_eq!(
        (auth.outcome.as_str(), auth.challenges),
        ("authenticated", 2)
    );
    assert!(net.infos(a).iter().any(|t| t.contains("stale=true")));
    assert!(!net.infos(a).iter().any(|t| t.contains("auth_failed")));
}

#[test]
fn a_wrong_password_is_auth_failed_after_exactly_one_retry() {
    let mut net = Net::new(Netem::perfect());
    let log = server(&mut net, Server::registrar(&["MD5"]));
    let a = net.agent(UA, registering("wrong"), 1);
    net.run_until(40.0);
    assert_eq!(net.times(a, "REGISTER"), [0.0, 0.0], "one retry, no more");
    assert_eq!(answers(&log).len(), 1);
    assert!(!answers(&log)[0].4, "the server refused the wrong password");
    let r = net.get(a).report().registration.unwrap();
    assert_eq!(r.status, Some(401));
    let auth = r.auth.unwrap();
    assert_eq!(auth.outcome, "auth_failed");
    assert_eq!(auth.status, Some(401));
    let explain = sipkit_codes::explain(401, sipkit_codes::Lang::EN)
        .unwrap()
        .summary;
    assert_eq!(auth.explanation.as_deref(), Some(explain.as_str()));
    let said = net.infos(a);
    assert!(
        said.iter()
            .any(|t| t.starts_with("auth_failed: 401") && t.contains(&explain)),
        "{said:#?}"
    );
    assert_eq!(net.get(a).timer(sipkit_ua::Timer::Refresh), None);
    // Refused for the credentials: the agent stops (`sipkit ua` exits 1).
    assert_eq!(net.get(a).stopped(), Some("auth_failed"));
    assert_eq!(net.get(a).report().stopped, "auth_failed");
}

#[test]
fn no_password_says_how_to_give_one() {
    let mut net = Net::new(Netem::perfect());
    server(&mut net, Server::registrar(&["MD5"]));
    let mut o = registering(PASSWORD);
    o.credentials = None;
    let a = net.agent(UA, o, 1);
    net.run_until(5.0);
    assert_eq!(net.times(a, "REGISTER"), [0.0]);
    let r = net.get(a).report().registration.unwrap();
    assert_eq!(r.auth.unwrap().outcome, "no_password");
    assert!(net.infos(a).iter().any(|t| t.contains("--password")));
}

fn calling(password: &str) -> AgentOptions {
    AgentOptions {
        user: "alice".into(),
        answer_code: 486,
        credentials: creds(password),
        ..AgentOptions::default()
    }
}

fn call_opts() -> CallOptions {
    let mut c = CallOptions::new(&format!("sip:bob@{SERVER}"));
    c.hold = Duration::from_secs(1);
    c
}

#[test]
fn rfc3261_22_3_invite_through_407_keeps_call_id_and_from_tag_with_the_next_cseq() {
    let mut net = Net::new(Netem::perfect());
    let log = server(
        &mut net,
        Server {
            status: 407,
            ..Server::registrar(&["SHA-256", "MD5"])
        },
    );
    let a = net.agent(UA, calling(PASSWORD), 1);
    net.with(a, |x, now| x.command(now, Command::Call(call_opts())))
        .unwrap();
    net.run_until(10.0);
    assert!(net.get(a).is_finished());
    let r = net.get(a).placed_call_report().unwrap();
    assert_eq!(
        (r.stopped.as_str(), r.final_status),
        ("answered", Some(200))
    );
    assert_eq!(r.attempts.len(), 2);
    assert_eq!(r.attempts[0].status, Some(407));
    let auth = r.auth.unwrap();
    assert_eq!(
        (auth.outcome.as_str(), auth.algorithm.as_deref()),
        ("authenticated", Some("SHA-256"))
    );
    // The 407 was ACKed by the transaction layer; the new INVITE keeps
    // Call-ID and From tag, with CSeq 2 and Proxy-Authorization.
    let server_at = addr(SERVER);
    let sent: Vec<String> = net
        .sent(addr(UA), server_at)
        .into_iter()
        .map(|(_, w)| w)
        .collect();
    assert_eq!(sent, ["INVITE", "ACK", "INVITE", "ACK", "BYE"]);
    let invites = net.messages(addr(UA), "INVITE");
    assert_eq!(header(&invites[0].bytes, "CSeq").unwrap(), "1 INVITE");
    assert_eq!(header(&invites[1].bytes, "CSeq").unwrap(), "2 INVITE");
    for h in ["Call-ID", "From"] {
        assert_eq!(header(&invites[0].bytes, h), header(&invites[1].bytes, h));
    }
    assert!(header(&invites[1].bytes, "Proxy-Authorization").is_some());
    assert!(header(&invites[0].bytes, "Proxy-Authorization").is_none());
    let seen = answers(&log);
    assert_eq!(seen.len(), 1);
    assert!(seen[0].4);
}

#[test]
fn a_403_to_the_answered_invite_is_auth_failed() {
    let mut net = Net::new(Netem::perfect());
    server(
        &mut net,
        Server {
            status: 407,
            on_bad: 403,
            ..Server::registrar(&["MD5"])
        },
    );
    let a = net.agent(UA, calling("wrong"), 1);
    net.with(a, |x, now| x.command(now, Command::Call(call_opts())))
        .unwrap();
    net.run_until(40.0);
    assert!(net.get(a).is_finished());
    let r = net.get(a).placed_call_report().unwrap();
    assert_eq!(
        (r.stopped.as_str(), r.final_status),
        ("auth_failed", Some(403))
    );
    assert_eq!(r.attempts.len(), 2, "exactly one retry");
    let auth = r.auth.unwrap();
    assert_eq!(
        (auth.outcome.as_str(), auth.status),
        ("auth_failed", Some(403))
    );
    assert_eq!(
        net.get(a).call_state(sipkit_ua::CallId(0)),
        Some(CallState::Ended)
    );
}

#[test]
fn a_second_401_to_the_answered_invite_is_auth_failed() {
    let mut net = Net::new(Netem::perfect());
    server(&mut net, Server::registrar(&["SHA-512-256"]));
    let a = net.agent(UA, calling("wrong"), 1);
    net.with(a, |x, now| x.command(now, Command::Call(call_opts())))
        .unwrap();
    net.run_until(40.0);
    let r = net.get(a).placed_call_report().unwrap();
    assert_eq!(
        (r.stopped.as_str(), r.final_status),
        ("auth_failed", Some(401))
    );
    assert_eq!(net.messages(addr(UA), "INVITE").len(), 2);
}

#[test]
fn digest_registration_survives_a_lossy_link() {
    for seed in 0..24 {
        let mut net = Net::new(Netem::lossy(seed));
        let mut s = Server::registrar(&["SHA-256"]);
        s.stale_at = Some(3);
        server(&mut net, s);
        let a = net.agent(UA, registering(PASSWORD), 1);
        net.run_until(45.0);
        let r = net.get(a).report().registration.unwrap();
        let auth = r.auth.clone().unwrap();
        // A lost response is retransmitted by the transaction; the outcome
        // is never a failure when the password is right.
        assert_ne!(auth.outcome, "auth_failed", "seed {seed}: {r:?}");
        assert_eq!(r.status, Some(200), "seed {seed}: {r:?}");
    }
}

/// A PBX that challenges requests inside the dialog with one-time nonces:
/// the REFER of `sipkit transfer` is answered with credentials (next CSeq);
/// the BYE reuses that nonce (nc 2), is challenged with a new one and sent
/// again; the transfer goes on.
#[test]
fn rfc3261_22_2_refer_and_bye_in_the_dialog_are_answered_too() {
    let mut net = Net::new(Netem::perfect());
    let log = server(
        &mut net,
        Server {
            methods: &["REFER", "BYE"],
            one_time_nonce: true,
            ..Server::registrar(&["SHA-256"])
        },
    );
    let a = net.agent(UA, calling(PASSWORD), 1);
    let t = sipkit_ua::TransferOptions {
        call: CallOptions::new(&format!("sip:bob@{SERVER}")),
        target: "sip:carol@192.0.2.30".into(),
        notify_timeout: Duration::from_secs(2),
        no_refer_sub: false,
        lang: sipkit_codes::Lang::EN,
    };
    net.with(a, |x, now| x.command(now, Command::Transfer(t)))
        .unwrap();
    net.run_until(10.0);
    assert!(net.get(a).is_finished());
    let sent: Vec<String> = net
        .sent(addr(UA), addr(SERVER))
        .into_iter()
        .map(|(_, w)| w)
        .collect();
    assert_eq!(
        sent,
        ["INVITE", "ACK", "REFER", "REFER", "BYE", "BYE"],
        "each challenged once: {:#?} {:#?}",
        log.borrow(),
        net.infos(a)
    );
    let seen: Vec<(String, u32, bool, bool)> = log
        .borrow()
        .iter()
        .map(|(m, c, cr, ok)| (m.clone(), *c, cr.is_some(), *ok))
        .collect();
    assert_eq!(
        seen,
        [
            ("REFER".to_owned(), 2, false, false),
            ("REFER".to_owned(), 3, true, true),
            ("BYE".to_owned(), 4, true, true),
            ("BYE".to_owned(), 5, true, true),
        ]
    );
    let r = net.get(a).transfer_report().unwrap();
    assert_eq!(r.refer_status, Some(200));
    // The scripted PBX never notifies: the REFER was accepted all the same.
    assert_eq!(r.diagnosis_code, "no_notify");
    assert_eq!(r.hangup.unwrap().status, Some(200));
    let nc: Vec<(u32, String, String)> = answers(&log)
        .into_iter()
        .map(|(c, _, nc, n, _)| (c, nc, n))
        .collect();
    assert_eq!(
        nc,
        [
            (3, "00000001".into(), "nonce-1".into()),
            (4, "00000002".into(), "nonce-1".into()),
            (5, "00000001".into(), "nonce-3-used".into()),
        ]
    );
}

/// RFC 3261 §22.3: a proxy challenges (407) and then the UAS behind it
/// (401): the third INVITE carries both answers, each verified.
#[test]
fn rfc3261_22_3_a_proxy_and_then_the_uas_challenge_the_same_invite() {
    let mut net = Net::new(Netem::perfect());
    let seen: Rc<RefCell<Vec<(u32, bool, bool)>>> = Rc::default();
    let log = seen.clone();
    net.scripted(
        SERVER,
        20,
        Box::new(move |core, now, key, req| {
            let method = req.method_str().to_owned();
            if method != "INVITE" {
                answer_ok(core, now, key, req, 60);
                return;
            }
            let check = |header: &str, realm: &str| {
                req.header_value(header).is_some_and(|v| {
                    let c = Creds::parse(v).expect("credentials parse");
                    let ha1 = c.algorithm().unwrap().base().ha1("alice", realm, PASSWORD);
                    c.realm == realm && verify(&c, "INVITE", &ha1)
                })
            };
            let (proxy_ok, uas_ok) = (
                check("Proxy-Authorization", "proxy"),
                check("Authorization", "uas"),
            );
            log.borrow_mut().push((req.cseq().seq, proxy_ok, uas_ok));
            if !proxy_ok {
                let c = "Digest realm=\"proxy\", nonce=\"p1\", qop=\"auth\", algorithm=SHA-256";
                respond(
                    core,
                    now,
                    key,
                    req,
                    407,
                    "Proxy Authentication Required",
                    &[("Proxy-Authenticate", c)],
                );
            } else if !uas_ok {
                let c = "Digest realm=\"uas\", nonce=\"u1\", qop=\"auth\", algorithm=MD5";
                respond(
                    core,
                    now,
                    key,
                    req,
                    401,
                    "Unauthorized",
                    &[("WWW-Authenticate", c)],
                );
            } else {
                answer_ok(core, now, key, req, 60);
            }
        }),
    );
    let a = net.agent(UA, calling(PASSWORD), 1);
    net.with(a, |x, now| x.command(now, Command::Call(call_opts())))
        .unwrap();
    net.run_until(10.0);
    let r = net.get(a).placed_call_report().unwrap();
    assert_eq!(
        (r.stopped.as_str(), r.final_status),
        ("answered", Some(200))
    );
    assert_eq!(
        *seen.borrow(),
        [(1, false, false), (2, true, false), (3, true, true)]
    );
    assert_eq!(r.auth.unwrap().challenges, 2);
}
