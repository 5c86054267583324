//! Issue 14 points 1 and 7: `sipkit serve --workers N` sharing one
//! location service, and `--metrics` (Prometheus text format, `/health`),
//! on loopback.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::time::Duration;

use sipkit_server::LocationService;

use crate::serve::{header, register, request, status, temp_db, Client, Server};

/// The metrics address announced on the startup line.
pub fn metrics_addr(server: &Server) -> SocketAddr {
    let line = &server.line;
    let start = line
        .find("http://")
        .unwrap_or_else(|| panic!("no metrics address in {line:?}"))
        + "http://".len();
    let end = start + line[start..].find('/').expect("a path after the address");
    line[start..end].parse().expect("the metrics address")
}

/// GET `path` over HTTP/1.1; the status and the body.
pub fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).expect("connecting to the metrics server");
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).expect("an HTTP response");
    let code = text
        .get(9..12)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status in {text:?}"));
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    (code, body.to_owned())
}

/// The value of the sample `name` (with its labels, as written) in `text`.
pub fn sample(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no sample {name} in\n{text}"))
        .parse()
        .unwrap()
}

/// The open transactions of each worker.
fn transactions(text: &str, workers: usize) -> Vec<f64> {
    (0..workers)
        .map(|w| sample(text, &format!("sipkit_transactions_open{{worker=\"{w}\"}}")))
        .collect()
}

#[test]
fn serve_metrics_count_a_register_and_an_invite_and_health_is_ok() {
    let server = Server::start(
        ":memory:",
        &[
            "--workers",
            "2",
            "--metrics",
            "127.0.0.1:0",
            "--node-id",
            "node-7",
        ],
    );
    assert!(
        server.line.contains("2 worker(s) on node node-7"),
        "{}",
        server.line
    );
    let m = metrics_addr(&server);
    let (code, before) = get(m, "/metrics");
    assert_eq!(code, 200);
    for line in before.lines().filter(|l| !l.starts_with('#')) {
        assert!(line.starts_with("sipkit_"), "{line}");
    }
    assert!(before.contains("# TYPE sipkit_requests_total counter\n"));
    assert_eq!(sample(&before, "sipkit_workers"), 2.0);
    assert_eq!(sample(&before, "sipkit_bindings_live"), 0.0);

    let c = Client::new(server.udp);
    let r = c.ask(&register(
        "alice",
        "sip:alice@192.0.2.10:5070",
        "m-1",
        1,
        600,
    ));
    assert_eq!(status(&r), 200, "{r}");
    let r = c.ask(&request("INVITE", "sip:alice@example.com", "minv", ""));
    assert_eq!(status(&r), 302, "{r}");
    let r = c.ask(&request("OPTIONS", "sip:nobody@example.com", "mopt", ""));
    assert_eq!(status(&r), 404, "{r}");

    let (code, after) = get(m, "/metrics");
    assert_eq!(code, 200);
    let moved = |name: &str| sample(&after, name) - sample(&before, name);
    assert_eq!(moved("sipkit_requests_total{method=\"REGISTER\"}"), 1.0);
    assert_eq!(moved("sipkit_requests_total{method=\"INVITE\"}"), 1.0);
    assert_eq!(moved("sipkit_requests_total{method=\"OPTIONS\"}"), 1.0);
    assert_eq!(moved("sipkit_requests_total{method=\"BYE\"}"), 0.0);
    assert_eq!(sample(&after, "sipkit_responses_total{code=\"200\"}"), 1.0);
    assert_eq!(sample(&after, "sipkit_responses_total{code=\"302\"}"), 1.0);
    assert_eq!(sample(&after, "sipkit_responses_total{code=\"404\"}"), 1.0);
    assert_eq!(
        after.matches("sipkit_responses_total{").count(),
        3,
        "{after}"
    );
    assert_eq!(sample(&after, "sipkit_bindings_live"), 1.0);
    assert_eq!(sample(&after, "sipkit_aors_live"), 1.0);
    assert_eq!(sample(&after, "sipkit_store_up"), 1.0);
    assert_eq!(moved("sipkit_store_errors_total{op=\"update\"}"), 0.0);
    // One REGISTER → one timed update; at least the INVITE's lookup.
    assert_eq!(
        moved("sipkit_store_latency_seconds_count{op=\"update\"}"),
        1.0
    );
    assert!(moved("sipkit_store_latency_seconds_count{op=\"lookup\"}") >= 1.0);
    // The three server transactions wait in Completed (Timer J, Timer H:
    // 32 s over UDP), all on the worker that got this source.
    let open = transactions(&after, 2);
    assert_eq!(open.iter().sum::<f64>(), 3.0, "{open:?}");
    assert!(open.contains(&3.0), "one source, one worker: {open:?}");

    let (code, body) = get(m, "/health");
    assert_eq!((code, body.as_str()), (200, "ok\n"));
    let (code, _) = get(m, "/nothing");
    assert_eq!(code, 404);
}

/// REGISTER from one source, INVITEs from others until one lands on the
/// other worker: every INVITE gets the 302 with the contact, whichever
/// worker answers it.
fn workers_share_the_store(db: &str) {
    let server = Server::start(db, &["--workers", "2", "--metrics", "127.0.0.1:0"]);
    let m = metrics_addr(&server);
    let a = Client::new(server.udp);
    let r = a.ask(&register("bob", "sip:bob@192.0.2.20:5080", "w-1", 1, 600));
    assert_eq!(status(&r), 200, "{r}");
    let (_, text) = get(m, "/metrics");
    let open = transactions(&text, 2);
    let registrar = open
        .iter()
        .position(|n| *n == 1.0)
        .unwrap_or_else(|| panic!("the REGISTER's transaction on one worker: {open:?}"));
    let other = 1 - registrar;
    // The kernel hashes each source to a worker: with 24 sources the chance
    // that none reaches the other worker is 2^-24.
    let mut crossed = false;
    for i in 0..24 {
        let b = Client::new(server.udp);
        let r = b.ask(&request(
            "INVITE",
            "sip:bob@example.com",
            &format!("w{i}"),
            "",
        ));
        assert_eq!(status(&r), 302, "{r}");
        assert!(
            header(&r, "Contact")[0].starts_with("<sip:bob@192.0.2.20:5080>"),
            "{r}"
        );
        let (_, text) = get(m, "/metrics");
        if transactions(&text, 2)[other] > 0.0 {
            crossed = true;
            break;
        }
    }
    assert!(crossed, "no INVITE reached the worker without the REGISTER");
}

#[test]
fn serve_two_workers_share_the_memory_store() {
    workers_share_the_store(":memory:");
}

#[test]
fn serve_two_workers_share_the_sqlite_store() {
    let db = temp_db("workers");
    workers_share_the_store(db.to_str().unwrap());
}

/// A retransmitted REGISTER (same branch) from the same source reaches the
/// worker holding its transaction: the same 200 again, one request counted.
#[test]
fn serve_retransmission_reaches_the_same_worker() {
    let server = Server::start(":memory:", &["--workers", "2", "--metrics", "127.0.0.1:0"]);
    let m = metrics_addr(&server);
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let port = sock.local_addr().unwrap().port();
    let msg = register("carol", "sip:carol@192.0.2.30", "rt-1", 1, 600)
        .replace("PORT", &port.to_string())
        .replace('\n', "\r\n");
    let mut answers = Vec::new();
    for _ in 0..3 {
        sock.send_to(msg.as_bytes(), server.udp).unwrap();
        let mut buf = vec![0u8; 65536];
        let (n, _) = sock.recv_from(&mut buf).expect("a response within 5 s");
        answers.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    assert_eq!(status(&answers[0]), 200, "{}", answers[0]);
    assert!(answers.iter().all(|a| a == &answers[0]), "{answers:?}");
    let (_, text) = get(m, "/metrics");
    assert_eq!(
        sample(&text, "sipkit_requests_total{method=\"REGISTER\"}"),
        1.0
    );
    assert_eq!(sample(&text, "sipkit_responses_total{code=\"200\"}"), 1.0);
}

/// One exchange on a TCP connection: `msg` (a UDP template from
/// `crate::serve`) sent over `s`, the first final response's head read.
fn tcp_ask(s: &mut TcpStream, msg: &str) -> String {
    let port = s.local_addr().unwrap().port().to_string();
    let msg = msg
        .replace("SIP/2.0/UDP", "SIP/2.0/TCP")
        .replace("PORT", &port)
        .replace('\n', "\r\n");
    s.write_all(msg.as_bytes()).unwrap();
    let mut got = Vec::new();
    loop {
        let mut buf = [0u8; 4096];
        let n = s.read(&mut buf).expect("a response within 5 s");
        assert!(n > 0, "connection closed");
        got.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&got).into_owned();
        if let Some(end) = text.find("\r\n\r\n") {
            if !text.starts_with("SIP/2.0 100 ") {
                return text[..end].to_owned();
            }
            got.drain(..end + 4);
        }
    }
}

/// TCP connections spread over the workers too (one SO_REUSEPORT listener
/// each), and each is answered from the shared store: INVITEs on new
/// connections until both workers hold one (their server transactions wait
/// for the ACK, Timer H).
#[test]
fn serve_tcp_connections_spread_over_two_workers() {
    let server = Server::start(":memory:", &["--workers", "2", "--metrics", "127.0.0.1:0"]);
    let m = metrics_addr(&server);
    let mut first = TcpStream::connect(server.tcp).unwrap();
    first
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let r = tcp_ask(
        &mut first,
        &register("tom", "sip:tom@192.0.2.40;transport=tcp", "tc-1", 1, 600),
    );
    assert_eq!(status(&r), 200, "{r}");
    let mut conns = Vec::new();
    let mut both = false;
    // With 24 connections the chance that all land on one worker is 2^-23.
    for i in 0..24 {
        let mut s = TcpStream::connect(server.tcp).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let r = tcp_ask(
            &mut s,
            &request("INVITE", "sip:tom@example.com", &format!("tc{i}"), ""),
        );
        assert_eq!(status(&r), 302, "{r}");
        assert!(
            header(&r, "Contact")[0].contains("sip:tom@192.0.2.40;transport=tcp"),
            "{r}"
        );
        conns.push(s);
        let (_, text) = get(m, "/metrics");
        if transactions(&text, 2).iter().all(|n| *n > 0.0) {
            both = true;
            break;
        }
    }
    assert!(both, "every TCP connection went to one worker");
}

/// SIGTERM stops every worker: the process exits 0 after saying so.
#[test]
fn serve_sigterm_stops_every_worker() {
    let server = Server::start(":memory:", &["--workers", "3"]);
    assert!(server.line.contains("3 worker(s)"), "{}", server.line);
    let c = Client::new(server.udp);
    let r = c.ask(&register("una", "sip:una@192.0.2.50", "st-1", 1, 600));
    assert_eq!(status(&r), 200, "{r}");
    let st = server.signal("-TERM");
    assert_eq!(st.code(), Some(0), "graceful exit on SIGTERM");
}

/// Issue 14 point 2 end to end: a REGISTER over TCP through a proxy that
/// added Path (RFC 3327 §5.3) to two workers on one SQLite file is answered
/// 200 with the Path, and the file holds the binding with its path vector,
/// User-Agent, node and connection (the worker that took it and its
/// connection number); one over UDP holds no connection.
#[test]
fn serve_stores_path_user_agent_node_and_connection() {
    let db = temp_db("binding-fields");
    let db_text = db.display().to_string();
    let server = Server::start(&db_text, &["--workers", "2", "--node-id", "node-q"]);
    let mut s = TcpStream::connect(server.tcp).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let msg = register("vic", "sip:vic@192.0.2.60;transport=tcp", "bf-1", 1, 600).replace(
        "Expires: 600\n",
        "Expires: 600\nSupported: path\nPath: <sip:edge.example.com;lr>\nUser-Agent: Phone/3.1\n",
    );
    let r = tcp_ask(&mut s, &msg);
    assert_eq!(status(&r), 200, "{r}");
    assert_eq!(header(&r, "Path"), ["<sip:edge.example.com;lr>"], "{r}");
    let c = Client::new(server.udp);
    let r = c.ask(&register("vic", "sip:vic@192.0.2.61", "bf-2", 1, 600));
    assert_eq!(status(&r), 200, "{r}");

    let store = sipkit_server::SqliteStore::open(&db).unwrap();
    let now = sipkit_server::UnixMs::from_system_time(std::time::SystemTime::now());
    let got = store.lookup("sip:vic@example.com", now).unwrap();
    assert_eq!(got.len(), 2, "{got:?}");
    let tcp = got.iter().find(|b| b.contact.contains("tcp")).unwrap();
    assert_eq!(tcp.path, ["<sip:edge.example.com;lr>"]);
    assert_eq!(tcp.user_agent.as_deref(), Some("Phone/3.1"));
    assert_eq!(tcp.node.as_deref(), Some("node-q"));
    let conn = tcp.connection.expect("a TCP binding names its connection");
    assert!(conn.worker < 2 && conn.id >= 1, "{conn}");
    let udp = got.iter().find(|b| !b.contact.contains("tcp")).unwrap();
    assert_eq!(udp.connection, None);
    assert_eq!(udp.node.as_deref(), Some("node-q"));
    assert!(udp.path.is_empty());
    drop(s);
    assert_eq!(server.signal("-TERM").code(), Some(0));
}

/// Two workers on one SQLite file write through one shared writer that
/// group-commits the REGISTERs of both before their 200s (issue 14): eight
/// sources (spread over both workers by the kernel) register at once;
/// after `kill -9` every acknowledged binding is in the file.
#[test]
fn serve_two_workers_one_sqlite_writer_keep_every_acknowledged_binding() {
    let db = temp_db("one-writer");
    let server = Server::start(db.to_str().unwrap(), &["--workers", "2"]);
    let udp = server.udp;
    let threads: Vec<_> = (0..8)
        .map(|t| {
            std::thread::spawn(move || {
                let c = Client::new(udp);
                for i in 0..20 {
                    let user = format!("ow{t}x{i}");
                    let r = c.ask(&register(
                        &user,
                        &format!("sip:{user}@192.0.2.70"),
                        &format!("ow-{t}-{i}"),
                        1,
                        600,
                    ));
                    assert_eq!(status(&r), 200, "{r}");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("a client thread failed");
    }
    server.signal("-KILL");
    let store = sipkit_server::SqliteStore::open(&db).unwrap();
    let now = sipkit_server::UnixMs::from_system_time(std::time::SystemTime::now());
    assert_eq!(store.count(now).unwrap().bindings, 160);
}
