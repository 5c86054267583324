//! The serve core (`sipkit_server::Core`) without sockets or sleeps: inputs
//! as the driver feeds them, a clock that jumps to the next deadline
//! (ARCHITECTURE.md, "The sans-IO contract"; issue 11).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use sipkit_message::{parse, Message, Transport};
use sipkit_server::{
    Binding, ConnRef, Core, Counts, Error, LocationService, MemoryStore, Plan, PurgeProgress,
    Result, ServerConfig, Service, UnixMs,
};
use sipkit_transaction::{ConnId, Transmit};
use sipkit_transport::{Endpoint, Inbound, Now};

use crate::util::T0;

const SERVER: &str = "192.0.2.1:5060";
const PHONE: &str = "192.0.2.4:5062";

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// The store the core writes to, with a log of the calls that matter to
/// ordering, and a switch that makes the next commit fail.
#[derive(Debug, Default)]
struct Recorder {
    inner: MemoryStore,
    log: Mutex<Vec<&'static str>>,
    fail_commit: AtomicBool,
}

impl Recorder {
    fn note(&self, what: &'static str) {
        self.log.lock().unwrap().push(what);
    }
    fn log(&self) -> Vec<&'static str> {
        std::mem::take(&mut *self.log.lock().unwrap())
    }
}

impl LocationService for Recorder {
    fn lookup(&self, aor: &str, now: UnixMs) -> Result<Vec<Binding>> {
        self.inner.lookup(aor, now)
    }
    fn begin_batch(&self) -> Result<()> {
        self.note("begin");
        Ok(())
    }
    fn end_batch(&self) -> Result<()> {
        if self.fail_commit.load(Ordering::Relaxed) {
            return Err(Error::Corrupt {
                what: "commit",
                value: "disk full".into(),
            });
        }
        self.note("commit");
        Ok(())
    }
    fn update(
        &self,
        aor: &str,
        now: UnixMs,
        decide: &mut dyn FnMut(&[Binding]) -> Plan,
    ) -> Result<Vec<Binding>> {
        self.note("update");
        self.inner.update(aor, now, decide)
    }
    fn remove_all(&self, aor: &str) -> Result<usize> {
        self.inner.remove_all(aor)
    }
    fn purge_expired(&self, now: UnixMs) -> Result<usize> {
        self.note("purge");
        self.inner.purge_expired(now)
    }
    fn count(&self, now: UnixMs) -> Result<Counts> {
        self.inner.count(now)
    }
    fn is_known(&self, aor: &str) -> Result<bool> {
        self.inner.is_known(aor)
    }
}

/// A core over a [`Recorder`], and the clock of the test.
struct Bench {
    core: Core,
    store: Arc<Recorder>,
    start: Now,
    now: Now,
}

impl Bench {
    fn new() -> Bench {
        Bench::with_config(ServerConfig::default(), 0)
    }

    /// A bench whose core serves `config` as worker number `worker`.
    fn with_config(config: ServerConfig, worker: usize) -> Bench {
        #[allow(clippy::disallowed_methods)] // an epoch; time moves only by hand
        let instant = Instant::now();
        let start = Now {
            instant,
            wall: SystemTime::UNIX_EPOCH + Duration::from_millis(T0.0),
        };
        let store = Arc::new(Recorder::default());
        let service = Service {
            store: store.clone(),
            registrar: config.registrar_config().unwrap(),
            redirect: config.redirect_config().unwrap(),
            tag_key: 7,
            auth: None,
        };
        let mut core = Core::new(service, &config, 1, start.instant);
        core.set_worker(worker);
        // The purge due at start, in worker 0 only.
        core.handle_timeout(start);
        let purges: &[&str] = if worker == 0 { &["purge"] } else { &[] };
        assert_eq!(store.log(), purges);
        Bench {
            core,
            store,
            start,
            now: start,
        }
    }

    /// How long since the start.
    fn elapsed(&self) -> Duration {
        self.now.instant - self.start.instant
    }

    /// One driver turn of received messages: begin, feed, commit; then
    /// what it sends.
    fn turn(&mut self, msgs: &[Inbound]) -> Vec<Transmit> {
        self.core.begin_batch().unwrap();
        for m in msgs {
            self.core.handle_inbound(self.now, m.clone());
        }
        self.core.end_batch().unwrap();
        self.drain()
    }

    fn drain(&mut self) -> Vec<Transmit> {
        std::iter::from_fn(|| self.core.poll_transmit()).collect()
    }

    /// Jumps the clock to the next deadline and fires it; what it sends.
    fn jump(&mut self) -> Vec<Transmit> {
        let at = self.core.poll_timeout().expect("the purge timer at least");
        self.now = self.start.at(at);
        self.core.handle_timeout(self.now);
        self.drain()
    }
}

fn udp(bytes: String) -> Inbound {
    Inbound {
        transport: Transport::Udp,
        source: addr(PHONE),
        local: addr(SERVER),
        bytes: bytes.into_bytes(),
        conn: None,
    }
}

fn register(user: &str, cseq: u32) -> String {
    format!(
        "REGISTER sip:example.com SIP/2.0\r\nVia: SIP/2.0/UDP {PHONE};branch=z9hG4bKreg{user}{cseq}\r\n\
Max-Forwards: 70\r\nTo: <sip:{user}@example.com>\r\nFrom: <sip:{user}@example.com>;tag=r{user}\r\n\
Call-ID: reg-{user}\r\nCSeq: {cseq} REGISTER\r\nContact: <sip:{user}@{PHONE}>\r\nExpires: 600\r\n\
Content-Length: 0\r\n\r\n"
    )
}

fn request(method: &str, user: &str, branch: &str, cseq_method: &str, to_tag: &str) -> String {
    format!(
        "{method} sip:{user}@example.com SIP/2.0\r\nVia: SIP/2.0/UDP {PHONE};branch={branch};rport\r\n\
Max-Forwards: 70\r\nTo: <sip:{user}@example.com>{to_tag}\r\nFrom: <sip:caller@example.com>;tag=c1\r\n\
Call-ID: call-{branch}\r\nCSeq: 1 {cseq_method}\r\nContent-Length: 0\r\n\r\n"
    )
}

fn invite(user: &str, branch: &str) -> String {
    request("INVITE", user, branch, "INVITE", "")
}

/// The status line's code and the whole text of a transmission.
fn status(t: &Transmit) -> (u16, String) {
    let text = String::from_utf8(t.bytes.as_slice().to_vec()).unwrap();
    let Ok(Message::Response(r)) = parse(t.bytes.as_slice()) else {
        panic!("not a response: {text}")
    };
    (r.status(), text)
}

#[test]
fn register_then_invite_gets_302_from_the_same_socket() {
    let mut b = Bench::new();
    let out = b.turn(&[udp(register("alice", 1))]);
    assert_eq!(out.len(), 1);
    let (code, text) = status(&out[0]);
    assert_eq!(code, 200, "{text}");
    assert!(text.contains(&format!("Contact: <sip:alice@{PHONE}>;expires=600")));
    // RFC 3261 §18.2.2 from where the request came.
    assert_eq!(out[0].destination, addr(PHONE));
    assert_eq!(out[0].local, Some(addr(SERVER)));

    let out = b.turn(&[udp(invite("alice", "z9hG4bKinv1"))]);
    let (code, text) = status(&out[0]);
    assert_eq!(code, 302, "{text}");
    assert!(text.contains(&format!("Contact: <sip:alice@{PHONE}>")));
    // RFC 3581 §4: rport filled in, received added, and the response goes there.
    assert!(
        text.contains(&format!(
            "Via: SIP/2.0/UDP {PHONE};branch=z9hG4bKinv1;rport=5062;received=192.0.2.4\r\n"
        )),
        "{text}"
    );
}

/// RFC 3261 §17.2.1: over UDP the 302 goes out again at T1, 2·T1, 4·T1, …
/// capped at T2, until the ACK comes (Timer G); then nothing more.
#[test]
fn timer_g_retransmits_the_302_until_the_ack() {
    let mut b = Bench::new();
    b.turn(&[udp(register("alice", 1))]);
    let first = b.turn(&[udp(invite("alice", "z9hG4bKg1"))]);
    let (code, original) = status(&first[0]);
    assert_eq!(code, 302, "{original}");
    let mut sent_at = Vec::new();
    while b.elapsed() < Duration::from_millis(7500) {
        for t in b.jump() {
            assert_eq!(status(&t).1, original, "the same response, byte for byte");
            sent_at.push(b.elapsed().as_millis());
        }
    }
    assert_eq!(sent_at, [500, 1500, 3500, 7500]);
    let ack = request("ACK", "alice", "z9hG4bKg1", "ACK", "");
    // The ACK carries the To tag of the response (§17.1.1.3).
    let tag = original
        .lines()
        .find_map(|l| l.strip_prefix("To: <sip:alice@example.com>"))
        .unwrap()
        .to_owned();
    let ack = ack.replace(
        "To: <sip:alice@example.com>\r\n",
        &format!("To: <sip:alice@example.com>{tag}\r\n"),
    );
    assert!(b.turn(&[udp(ack)]).is_empty(), "the ACK is absorbed");
    assert_eq!(
        b.core.transactions(),
        2,
        "the INVITE Confirmed until Timer I, the REGISTER Completed until Timer J"
    );
    // Jump past Timer I (T4 = 5 s) and one purge: no retransmission.
    while b.elapsed() < Duration::from_secs(70) {
        assert!(b.jump().is_empty());
    }
    assert_eq!(b.core.transactions(), 0);
}

/// Without an ACK, Timer H (64·T1 = 32 s) ends the retransmissions.
#[test]
fn timer_h_ends_an_unacknowledged_302() {
    let mut b = Bench::new();
    b.turn(&[udp(invite("nobody", "z9hG4bKh1"))]);
    let mut sent_at = Vec::new();
    while b.core.transactions() > 0 {
        for _ in b.jump() {
            sent_at.push(b.elapsed().as_millis());
        }
    }
    assert_eq!(
        sent_at,
        [500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500]
    );
    assert_eq!(b.elapsed(), Duration::from_secs(32));
}

/// RFC 3261 §9.2: a CANCEL that matches the INVITE server transaction gets
/// 200 (the INVITE was already answered, so no 487 follows, and its 302
/// stands); one that matches nothing gets 481.
#[test]
fn cancel_gets_200_when_it_matches_and_481_when_not() {
    let mut b = Bench::new();
    b.turn(&[udp(register("bob", 1))]);
    let out = b.turn(&[udp(invite("bob", "z9hG4bKc1"))]);
    assert_eq!(status(&out[0]).0, 302);
    let cancel = request("CANCEL", "bob", "z9hG4bKc1", "CANCEL", "");
    let out = b.turn(&[udp(cancel)]);
    assert_eq!(out.len(), 1);
    let (code, text) = status(&out[0]);
    assert_eq!(code, 200, "{text}");
    assert!(text.contains("CSeq: 1 CANCEL"));
    let stray = request("CANCEL", "bob", "z9hG4bKc2", "CANCEL", "");
    assert_eq!(status(&b.turn(&[udp(stray)])[0]).0, 481);
}

/// Group commit: the REGISTERs of one turn are written, committed once,
/// and only then is any 200 sent; a failed commit sends no 200: each of
/// its REGISTERs is answered 500 with Retry-After (nothing of it is
/// stored), the other answers of the turn go as usual, and the server goes
/// on.
#[test]
fn no_200_leaves_before_its_commit() {
    let mut b = Bench::new();
    b.core.begin_batch().unwrap();
    b.core.handle_inbound(b.now, udp(register("carol", 1)));
    b.core.handle_inbound(b.now, udp(register("dave", 1)));
    assert!(b.core.poll_transmit().is_none(), "held until the commit");
    b.core.end_batch().unwrap();
    assert_eq!(b.store.log(), ["begin", "update", "update", "commit"]);
    let out = b.drain();
    assert_eq!(
        out.iter().map(|t| status(t).0).collect::<Vec<_>>(),
        [200, 200]
    );

    b.store.fail_commit.store(true, Ordering::Relaxed);
    b.core.begin_batch().unwrap();
    b.core.handle_inbound(b.now, udp(register("erin", 1)));
    b.core
        .handle_inbound(b.now, udp(invite("carol", "z9hG4bKinv-fc")));
    assert!(b.core.poll_transmit().is_none(), "held until the commit");
    b.core.end_batch().unwrap();
    let out = b.drain();
    let got: Vec<(u16, String)> = out.iter().map(status).collect();
    assert_eq!(got.len(), 2, "{got:?}");
    let (code, text) = got.iter().find(|(_, t)| t.contains("REGISTER")).unwrap();
    assert_eq!(
        *code, 500,
        "a registration that may be lost is never acknowledged"
    );
    assert!(
        text.starts_with("SIP/2.0 500 Location Service Failure\r\n"),
        "{text}"
    );
    assert!(text.contains("\r\nRetry-After: 5\r\n"), "{text}");
    assert!(got.iter().any(|(c, _)| *c == 302), "{got:?}");

    // The next turn commits again.
    b.store.fail_commit.store(false, Ordering::Relaxed);
    let out = b.turn(&[udp(register("erin", 2))]);
    assert_eq!(status(&out[0]).0, 200);
}

/// Over TCP a response carries the connection and the local address its
/// request came on (RFC 3261 §18.2.2), from the transaction layer.
#[test]
fn tcp_response_goes_back_on_its_connection() {
    let mut b = Bench::new();
    let msg = Inbound {
        transport: Transport::Tcp,
        source: addr("192.0.2.4:40000"),
        local: addr("192.0.2.1:5061"),
        bytes: register("frank", 1)
            .replace("SIP/2.0/UDP", "SIP/2.0/TCP")
            .into_bytes(),
        conn: Some(ConnId::new(42)),
    };
    let out = b.turn(&[msg]);
    assert_eq!(status(&out[0]).0, 200);
    assert_eq!(out[0].transport, Transport::Tcp);
    assert_eq!(out[0].conn, Some(ConnId::new(42)));
    assert_eq!(out[0].local, Some(addr("192.0.2.1:5061")));
    assert_eq!(out[0].destination, addr("192.0.2.4:40000"));
}

/// A request that does not parse gets the one wire reply, from the socket
/// it came in on.
#[test]
fn malformed_request_gets_400_from_its_socket() {
    let mut b = Bench::new();
    let bad = register("gina", 1).replace("CSeq: 1 REGISTER", "CSeq: 1 INVITE");
    let out = b.turn(&[udp(bad)]);
    assert_eq!(out.len(), 1);
    assert_eq!(status(&out[0]).0, 400);
    assert_eq!(out[0].local, Some(addr(SERVER)));
}

/// Expired bindings are purged every minute, on the core's own timer.
#[test]
fn expired_bindings_are_purged_every_minute() {
    let mut b = Bench::new();
    let mut purges = Vec::new();
    while b.elapsed() < Duration::from_secs(180) {
        b.jump();
        if b.store.log().contains(&"purge") {
            purges.push(b.elapsed().as_secs());
        }
    }
    assert_eq!(purges, [60, 120, 180]);
}

/// A store whose purge round takes three steps; it logs when each step
/// ran (wall-clock ms since T0).
#[derive(Debug, Default)]
struct Stepper {
    inner: MemoryStore,
    steps: Mutex<Vec<u64>>,
}

impl LocationService for Stepper {
    fn lookup(&self, aor: &str, now: UnixMs) -> Result<Vec<Binding>> {
        self.inner.lookup(aor, now)
    }
    fn update(
        &self,
        aor: &str,
        now: UnixMs,
        decide: &mut dyn FnMut(&[Binding]) -> Plan,
    ) -> Result<Vec<Binding>> {
        self.inner.update(aor, now, decide)
    }
    fn remove_all(&self, aor: &str) -> Result<usize> {
        self.inner.remove_all(aor)
    }
    fn purge_expired(&self, _: UnixMs) -> Result<usize> {
        panic!("the core purges in steps")
    }
    fn purge_step(&self, now: UnixMs, budget: usize) -> Result<PurgeProgress> {
        assert_eq!(budget, sipkit_server::core::PURGE_STEP_BUDGET);
        let mut steps = self.steps.lock().unwrap();
        steps.push(now.0 - T0.0);
        Ok(PurgeProgress {
            purged: 0,
            visited: budget,
            round_done: steps.len().is_multiple_of(3),
        })
    }
    fn count(&self, now: UnixMs) -> Result<Counts> {
        self.inner.count(now)
    }
    fn is_known(&self, aor: &str) -> Result<bool> {
        self.inner.is_known(aor)
    }
}

/// Issue 14: worker 0 sweeps the store in steps, one every 100 ms until a
/// round is done, a round every minute from its start; another worker
/// never sweeps (and has no timer for it).
#[test]
fn only_worker_0_sweeps_in_steps_a_round_a_minute() {
    let start = Bench::new().start;
    let sweeper = Arc::new(Stepper::default());
    let other = Arc::new(Stepper::default());
    let mut zero = core_on(sweeper.clone(), start, 0);
    let mut one = core_on(other.clone(), start, 1);
    assert_eq!(one.poll_timeout(), None, "no purge timer in worker 1");
    zero.handle_timeout(start);
    loop {
        let at = zero.poll_timeout().unwrap();
        if at - start.instant > Duration::from_secs(150) {
            break;
        }
        zero.handle_timeout(start.at(at));
        one.handle_timeout(start.at(at));
    }
    assert_eq!(
        *sweeper.steps.lock().unwrap(),
        [0, 100, 200, 60_000, 60_100, 60_200, 120_000, 120_100, 120_200]
    );
    assert!(other.steps.lock().unwrap().is_empty());
}

/// Issue 14 point 7: the core counts what it answers, its open
/// transactions and how late its timers fire, on the jumping clock.
#[test]
fn the_core_counts_into_the_metrics() {
    use sipkit_server::metrics::{Metrics, Scrape};
    let mut b = Bench::new();
    let m = Arc::new(Metrics::new(2));
    b.core.set_metrics(m.clone(), 1);
    b.turn(&[udp(register("alice", 1)), udp(invite("alice", "z9hG4bKm1"))]);
    b.turn(&[
        udp(invite("nobody", "z9hG4bKm2")),
        udp("garbage\r\n\r\n".into()),
    ]);
    assert_eq!(m.requests("REGISTER"), 1);
    assert_eq!(m.requests("INVITE"), 2);
    assert_eq!(
        (m.responses(200), m.responses(302), m.responses(404)),
        (1, 1, 1)
    );
    let text = m.render(&Scrape::default());
    assert!(
        text.contains("sipkit_transactions_open{worker=\"1\"} 3\n"),
        "{text}"
    );
    assert!(
        text.contains("sipkit_transactions_open{worker=\"0\"} 0\n"),
        "{text}"
    );
    assert!(text.contains("sipkit_malformed_total 1\n"), "{text}");
    // The loop serves the next deadline 30 ms late.
    let due = b.core.poll_timeout().unwrap();
    b.now = b.start.at(due + Duration::from_millis(30));
    b.core.handle_timeout(b.now);
    let text = m.render(&Scrape::default());
    assert!(
        text.contains("sipkit_worker_loop_lag_seconds_count 1\n"),
        "{text}"
    );
    assert!(
        text.contains("sipkit_worker_loop_lag_seconds_sum 0.03\n"),
        "{text}"
    );
    assert!(
        text.contains("sipkit_worker_loop_lag_seconds_bucket{le=\"0.025\"} 0\n"),
        "{text}"
    );
    assert!(
        text.contains("sipkit_worker_loop_lag_seconds_bucket{le=\"0.05\"} 1\n"),
        "{text}"
    );
}

/// A REGISTER of `frank` over TCP on connection 42 with these extra header
/// lines.
fn tcp_register(extra: &str) -> Inbound {
    let text = register("frank", 1)
        .replace("SIP/2.0/UDP", "SIP/2.0/TCP")
        .replace("Expires: 600\r\n", &format!("Expires: 600\r\n{extra}"));
    Inbound {
        transport: Transport::Tcp,
        source: addr("192.0.2.4:40000"),
        local: addr("192.0.2.1:5061"),
        bytes: text.into_bytes(),
        conn: Some(ConnId::new(42)),
    }
}

/// RFC 3327 §5.3: with `Supported: path` the registrar stores the path
/// vector with the binding and copies the Path values into the 200; the
/// binding also keeps the User-Agent, the node and the connection (issue
/// 14: which connection of which worker of which node holds the flow).
#[test]
fn rfc3327_5_3_path_is_stored_and_returned_in_the_200() {
    let config = ServerConfig {
        node_id: Some("node-a".into()),
        ..ServerConfig::default()
    };
    let mut b = Bench::with_config(config, 2);
    let out = b.turn(&[tcp_register(
        "Supported: path, gruu\r\nPath: <sip:p3.example.com;lr>\r\n\
Path: <sip:p1.example.net;lr>, <sip:[2001:db8::9];lr>\r\nUser-Agent: Phone/1.0\r\n",
    )]);
    let (code, text) = status(&out[0]);
    assert_eq!(code, 200, "{text}");
    assert!(
        text.contains(
            "\r\nPath: <sip:p3.example.com;lr>, <sip:p1.example.net;lr>, <sip:[2001:db8::9];lr>\r\n"
        ),
        "{text}"
    );
    let stored = b.store.inner.lookup("sip:frank@example.com", T0).unwrap();
    assert_eq!(stored.len(), 1);
    let s = &stored[0];
    assert_eq!(
        s.path,
        [
            "<sip:p3.example.com;lr>",
            "<sip:p1.example.net;lr>",
            "<sip:[2001:db8::9];lr>"
        ]
    );
    assert_eq!(s.user_agent.as_deref(), Some("Phone/1.0"));
    assert_eq!(s.node.as_deref(), Some("node-a"));
    assert_eq!(s.connection, Some(ConnRef { worker: 2, id: 42 }));
    assert_eq!(s.source.to_string(), "tcp:192.0.2.4:40000");
}

/// RFC 3327 §5.3: Path without `Supported: path` is answered, as the RFC
/// recommends, 420 Bad Extension naming `path`, and nothing is stored.
#[test]
fn rfc3327_5_3_path_without_supported_path_is_420() {
    let mut b = Bench::new();
    let out = b.turn(&[tcp_register("Path: <sip:p1.example.net;lr>\r\n")]);
    let (code, text) = status(&out[0]);
    assert_eq!(code, 420, "{text}");
    assert!(text.contains("\r\nUnsupported: path\r\n"), "{text}");
    assert!(!text.contains("\r\nPath:"), "{text}");
    assert_eq!(b.store.inner.count(T0).unwrap(), Counts::default());
}

/// `Require: path` (RFC 3327 §5.2, added by a proxy) names an extension
/// this registrar supports, so it is no reason for a 420; a REGISTER
/// without Path stores no path and answers without one; over UDP there is
/// no connection.
#[test]
fn require_path_is_supported_and_udp_has_no_connection() {
    let mut b = Bench::new();
    let text = register("gina", 1).replace(
        "Expires: 600\r\n",
        "Expires: 600\r\nRequire: path\r\nSupported: path\r\n",
    );
    let out = b.turn(&[udp(text)]);
    let (code, text) = status(&out[0]);
    assert_eq!(code, 200, "{text}");
    assert!(!text.contains("\r\nPath:"), "{text}");
    let s = &b.store.inner.lookup("sip:gina@example.com", T0).unwrap()[0];
    assert!(s.path.is_empty());
    assert_eq!((s.connection, s.user_agent.as_deref()), (None, None));
    // An unknown option tag in Require is still a 420 naming only it.
    let text =
        register("gina", 2).replace("Expires: 600\r\n", "Expires: 600\r\nRequire: path, foo\r\n");
    let out = b.turn(&[udp(text)]);
    let (code, text) = status(&out[0]);
    assert_eq!(code, 420, "{text}");
    assert!(text.contains("\r\nUnsupported: foo\r\n"), "{text}");
}

/// A core over `store` (no purge logged), at `start`.
fn core_on(store: Arc<dyn LocationService>, start: Now, worker: usize) -> Core {
    let config = ServerConfig::default();
    let service = Service {
        store,
        registrar: config.registrar_config().unwrap(),
        redirect: config.redirect_config().unwrap(),
        tag_key: 7,
        auth: None,
    };
    let mut core = Core::new(service, &config, worker as u64, start.instant);
    core.set_worker(worker);
    core
}

/// Two workers on one SQLite file share its writer (issue 14): the turns
/// of both are committed by one COMMIT, before either sends its 200; when
/// that COMMIT fails, both answer 500 and nothing is stored.
#[test]
fn two_workers_on_one_sqlite_writer_commit_together_or_both_answer_500() {
    let dir = crate::util::TempDir::new("core-shared-writer");
    let a_store = sipkit_server::SqliteStore::open(dir.file("location.db")).unwrap();
    let b_store = a_store.share().unwrap();
    let probe = sipkit_server::SqliteStore::open(dir.file("location.db")).unwrap();
    let fail = a_store.share().unwrap();
    let start = Bench::new().start;
    let mut a = core_on(Arc::new(a_store), start, 0);
    let mut b = core_on(Arc::new(b_store), start, 1);
    let drain = |c: &mut Core| -> Vec<u16> {
        std::iter::from_fn(|| c.poll_transmit())
            .map(|t| status(&t).0)
            .collect()
    };
    for (round, fails) in [(1, false), (2, true)] {
        a.begin_batch().unwrap();
        b.begin_batch().unwrap();
        a.handle_inbound(start, udp(register(&format!("ann{round}"), 1)));
        b.handle_inbound(start, udp(register(&format!("ben{round}"), 1)));
        assert!(drain(&mut a).is_empty() && drain(&mut b).is_empty());
        if fails {
            fail.fail_next_commit();
        }
        // b ends first: its COMMIT carries a's REGISTER too.
        b.end_batch().unwrap();
        let stored = probe.count(T0).unwrap().bindings;
        a.end_batch().unwrap();
        let want = if fails { 500 } else { 200 };
        assert_eq!((drain(&mut a), drain(&mut b)), (vec![want], vec![want]));
        assert_eq!(stored, 2, "round {round}: only the first round is stored");
    }
}
