//! The agent against sipkit's own server: `sipkit_server::Core` (what
//! `sipkit serve` runs, with digest authentication on) wired to an
//! [`Agent`] in memory, on a clock that jumps to the next deadline. The
//! registration refreshes through the server's nonce — reused with the
//! next `nc` while the server accepts it, answered again when the server
//! calls it stale — and the binding never lapses. Nothing sleeps; no
//! socket is opened.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use sipkit_digest::Credentials as Creds;
use sipkit_server::auth::{
    AuthSection, AuthSettings, Authenticator, Guard, NonceKey, UserRecord, Users,
};
use sipkit_server::{Core, LocationService, MemoryStore, ServerConfig, Service, UnixMs};
use sipkit_transport::{Endpoint, Inbound, Now};
use sipkit_ua::{resolve_literal, Agent, AgentOptions, Credentials, Timer, Transport, UaCore};

use crate::harness::{addr, first_line, header};

const UA: &str = "192.0.2.1:5060";
const SERVER: &str = "192.0.2.20:5060";
const PASSWORD: &str = "s3cret";
/// The wall clock at the start (the server's nonces and bindings use it).
const T0_MS: u64 = 1_800_000_000_000;

/// What crossed the wire: (seconds since the start, to the server, bytes).
type Wire = Vec<(f64, bool, Vec<u8>)>;

/// A REGISTER sent: (time, CSeq, the nonce and nc of its credentials).
type Sent = (f64, String, Option<(String, String)>);

/// An agent and a server core on one perfect link.
struct Pair {
    agent: Agent,
    server: Core,
    store: Arc<MemoryStore>,
    start: Instant,
    now: Instant,
    wire: Wire,
}

impl Pair {
    /// The server with user alice (`auth`: the `[auth]` section, default
    /// but for the nonce lifetime) and an agent registering as alice for
    /// `expires` seconds with `password`.
    fn new(nonce_lifetime_s: u32, expires: u32, password: &str) -> Pair {
        #[allow(clippy::disallowed_methods)] // an epoch; time moves only by hand
        let start = Instant::now();
        let config = ServerConfig::default();
        let section = AuthSection {
            nonce_lifetime_s,
            ..AuthSection::default()
        };
        let settings = AuthSettings::from_section(&section).unwrap();
        let realm = settings.realm.clone();
        let users = Users::new(
            &realm,
            [UserRecord::new("alice", &realm, PASSWORD)],
            "dummy",
        );
        let auth = Authenticator::new(
            settings,
            NonceKey::new(b"a test secret of 32 bytes, fixed"),
            users,
            7,
        );
        let store = Arc::new(MemoryStore::new());
        let service = Service {
            store: store.clone(),
            registrar: config.registrar_config().unwrap(),
            redirect: config.redirect_config().unwrap(),
            tag_key: 7,
            auth: Some(Arc::new(Guard::new(auth, None, Vec::new(), "dummy".into()))),
        };
        let server = Core::new(service, &config, 1, start);
        let opts = AgentOptions {
            user: "alice".into(),
            register: Some(format!("sip:{SERVER}")),
            register_expires: expires,
            credentials: Some(Credentials {
                user: "alice".into(),
                password: password.into(),
            }),
            ..AgentOptions::default()
        };
        let core = UaCore::new(Transport::Udp, addr(UA), 3);
        let mut agent = Agent::new(start, core, opts, format!("udp:{UA}"), resolve_literal);
        agent.start(start).expect("the agent starts");
        let mut pair = Pair {
            agent,
            server,
            store,
            start,
            now: start,
            wire: Vec::new(),
        };
        pair.pump();
        pair
    }

    fn secs(&self) -> f64 {
        (self.now - self.start).as_secs_f64()
    }

    /// The server's time: both clocks moved by the same jumps.
    fn server_now(&self) -> Now {
        Now {
            instant: self.now,
            wall: SystemTime::UNIX_EPOCH + Duration::from_millis(T0_MS) + (self.now - self.start),
        }
    }

    fn wall(&self) -> UnixMs {
        UnixMs::from_system_time(self.server_now().wall)
    }

    /// Delivers everything either side sends, at once, until both are quiet.
    fn pump(&mut self) {
        let (ua, server) = (addr(UA), addr(SERVER));
        loop {
            let mut moved = false;
            while let Some(tx) = self.agent.poll_transmit() {
                assert_eq!(tx.destination, server, "the agent sends only to the server");
                let bytes = tx.bytes.to_vec();
                self.wire.push((self.secs(), true, bytes.clone()));
                let now = self.server_now();
                self.server.begin_batch().unwrap();
                self.server.handle_inbound(
                    now,
                    Inbound {
                        transport: Transport::Udp,
                        source: ua,
                        local: server,
                        bytes,
                        conn: None,
                    },
                );
                self.server.end_batch().unwrap();
                moved = true;
            }
            while let Some(tx) = self.server.poll_transmit() {
                assert_eq!(tx.destination, ua, "the server answers the agent");
                let bytes = tx.bytes.to_vec();
                self.wire.push((self.secs(), false, bytes.clone()));
                self.agent
                    .handle_datagram(self.now, &bytes, server, ua, Transport::Udp)
                    .expect("the agent takes the datagram");
                moved = true;
            }
            if !moved {
                break;
            }
        }
    }

    /// Fires every deadline up to `until` seconds, jumping from one to the
    /// next; then sets the clock to `until`.
    fn run_until(&mut self, until: f64) {
        let end = self.start + Duration::from_secs_f64(until);
        for _ in 0..100_000 {
            self.pump();
            let next = [self.agent.poll_timeout(), self.server.poll_timeout()]
                .into_iter()
                .flatten()
                .min();
            let Some(at) = next.filter(|t| *t <= end) else {
                break;
            };
            self.now = self.now.max(at);
            if self.agent.poll_timeout().is_some_and(|t| t <= self.now) {
                self.agent
                    .handle_timeout(self.now)
                    .expect("the agent takes the timeout");
            }
            if self.server.poll_timeout().is_some_and(|t| t <= self.now) {
                let now = self.server_now();
                self.server.handle_timeout(now);
            }
        }
        self.pump();
        self.now = self.now.max(end);
    }

    /// Every REGISTER: (time, CSeq, the nonce and nc of its credentials).
    fn registers(&self) -> Vec<Sent> {
        self.wire
            .iter()
            .filter(|(_, to_server, b)| *to_server && first_line(b).starts_with("REGISTER "))
            .map(|(t, _, b)| {
                let creds = header(b, "Authorization")
                    .map(|v| Creds::parse(&v).expect("the agent's credentials parse"))
                    .map(|c| (c.nonce.clone(), c.nc.clone().unwrap_or_default()));
                (*t, header(b, "CSeq").unwrap(), creds)
            })
            .collect()
    }

    /// Every response of the server: (time, status line, stale=true said).
    fn responses(&self) -> Vec<(f64, String, bool)> {
        self.wire
            .iter()
            .filter(|(_, to_server, _)| !*to_server)
            .map(|(t, _, b)| {
                let stale = header(b, "WWW-Authenticate").is_some_and(|v| v.contains("stale=true"));
                (*t, first_line(b), stale)
            })
            .collect()
    }

    /// The contacts the server has for alice now.
    fn bindings(&self) -> Vec<String> {
        self.store
            .lookup(&format!("sip:alice@{}", addr(SERVER).ip()), self.wall())
            .unwrap()
            .iter()
            .map(|b| b.contact.clone())
            .collect()
    }
}

/// Refreshes reuse the server's nonce with the next nc and get 200 at
/// once; after the nonce's lifetime the server calls it stale, the agent
/// answers the new challenge (nc 1), and the binding never lapses.
#[test]
fn refreshes_go_through_the_servers_nonce_and_its_stale_challenge() {
    // Expiry 240 s: refreshes every 120 s; nonces live 300 s.
    let mut p = Pair::new(300, 240, PASSWORD);
    let contact = format!("sip:alice@{UA}");
    assert_eq!(p.bindings(), [contact.as_str()], "registered at once");
    for t in [100.0, 230.0, 350.0, 470.0, 590.0, 710.0] {
        p.run_until(t);
        assert_eq!(
            p.bindings(),
            [contact.as_str()],
            "still registered at {t} s"
        );
    }
    let regs = p.registers();
    let first_nonce = regs[1].2.clone().expect("the answer to the challenge").0;
    let at = |i: usize| regs[i].0.round() as u64;
    let cseq = |i: usize| regs[i].1.clone();
    let nc = |i: usize| regs[i].2.clone().map(|(n, nc)| (n == first_nonce, nc));
    // t = 0: challenged, answered with nc 1.
    assert_eq!(
        (at(0), cseq(0), regs[0].2.clone()),
        (0, "1 REGISTER".into(), None)
    );
    assert_eq!(
        (at(1), cseq(1), nc(1)),
        (0, "2 REGISTER".into(), Some((true, "00000001".into())))
    );
    // Refreshes at 120 and 240 s: the same nonce, nc 2 and 3, no challenge.
    assert_eq!(
        (at(2), cseq(2), nc(2)),
        (120, "3 REGISTER".into(), Some((true, "00000002".into())))
    );
    assert_eq!(
        (at(3), cseq(3), nc(3)),
        (240, "4 REGISTER".into(), Some((true, "00000003".into())))
    );
    // At 360 s the nonce is 360 s old: stale; answered with a new nonce.
    assert_eq!(
        (at(4), cseq(4), nc(4)),
        (360, "5 REGISTER".into(), Some((true, "00000004".into())))
    );
    assert_eq!(
        (at(5), cseq(5), nc(5)),
        (360, "6 REGISTER".into(), Some((false, "00000001".into())))
    );
    let second_nonce = regs[5].2.clone().unwrap().0;
    // And the new nonce is reused in turn.
    assert_eq!(at(6), 480);
    assert_eq!(regs[6].2, Some((second_nonce.clone(), "00000002".into())));
    assert_eq!(at(7), 600);
    assert_eq!(regs[7].2, Some((second_nonce, "00000003".into())));
    let statuses: Vec<(u64, String, bool)> = p
        .responses()
        .into_iter()
        .map(|(t, l, s)| (t.round() as u64, l, s))
        .collect();
    let ok = |t: u64| (t, "SIP/2.0 200 OK".to_owned(), false);
    let challenge = |t: u64, stale: bool| (t, "SIP/2.0 401 Unauthorized".to_owned(), stale);
    assert_eq!(
        statuses,
        [
            challenge(0, false),
            ok(0),
            ok(120),
            ok(240),
            challenge(360, true),
            ok(360),
            ok(480),
            ok(600),
        ]
    );
    let r = p.agent.report().registration.unwrap();
    assert_eq!((r.status, r.expires), (Some(200), Some(240)));
    let auth = r.auth.unwrap();
    assert_eq!(auth.outcome, "authenticated");
    assert_eq!(auth.algorithm.as_deref(), Some("MD5"));
    assert_eq!(auth.realm.as_deref(), Some("sipkit"));
    assert_eq!(auth.challenges, 2, "the first challenge and the stale one");
    assert_eq!(p.agent.stopped(), None);
    // Shutting down un-registers through the nonce too.
    let now = p.now;
    p.agent.shutdown(now, "signal");
    p.run_until(720.0);
    assert_eq!(p.agent.stopped(), Some("signal"));
    let r = p.agent.report().registration.unwrap();
    assert_eq!(r.unregister_status, Some(200));
    assert!(p.bindings().is_empty(), "un-registered");
}

/// A wrong password: the server challenges the answer again, the agent
/// stops with `auth_failed` after exactly one retry, nothing is bound and
/// nothing is refreshed.
#[test]
fn a_wrong_password_against_the_server_core_stops_the_agent() {
    let mut p = Pair::new(300, 240, "not-it");
    p.run_until(600.0);
    assert_eq!(p.registers().len(), 2, "one retry, no more");
    assert_eq!(p.agent.stopped(), Some("auth_failed"));
    assert_eq!(p.agent.timer(Timer::Refresh), None);
    let r = p.agent.report();
    assert_eq!(r.stopped, "auth_failed");
    let reg = r.registration.unwrap();
    assert_eq!(reg.status, Some(401));
    assert_eq!(reg.unregister_status, None, "never registered");
    let auth = reg.auth.unwrap();
    assert_eq!(
        (auth.outcome.as_str(), auth.status),
        ("auth_failed", Some(401))
    );
    assert!(p.bindings().is_empty());
}
