//! `sipkit serve` on loopback: the registrar and redirect server answered
//! over real sockets, its persistence across `kill -9`, graceful shutdown,
//! and interop with SIPp.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::util::{free_port, sipp};

/// A running `sipkit serve`, killed (by its PID) when dropped.
pub struct Server {
    child: Child,
    pub udp: SocketAddr,
    pub tcp: SocketAddr,
    /// The startup line.
    pub line: String,
}

impl Server {
    /// Starts the server on free loopback ports with `db`.
    pub fn start(db: &str, extra: &[&str]) -> Server {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_sipkit"));
        cmd.args([
            "serve",
            "--listen",
            "udp:127.0.0.1:0",
            "--listen",
            "tcp:127.0.0.1:0",
            "--db",
            db,
        ])
        .args(extra)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
        let mut child = cmd.spawn().expect("starting sipkit serve");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("reading the first line");
        // "sipkit serve: listening on udp:127.0.0.1:P, tcp:127.0.0.1:Q; ..."
        let addr = |proto: &str| -> SocketAddr {
            let start = line
                .find(&format!("{proto}:"))
                .unwrap_or_else(|| panic!("no {proto} in {line:?}"))
                + proto.len()
                + 1;
            let end = line[start..]
                .find([',', ';'])
                .map(|e| start + e)
                .unwrap_or(line.len());
            line[start..end]
                .trim()
                .parse()
                .unwrap_or_else(|_| panic!("address in {line:?}"))
        };
        let (udp, tcp) = (addr("udp"), addr("tcp"));
        Server {
            child,
            udp,
            tcp,
            line,
        }
    }

    /// Sends `sig` (e.g. "-KILL", "-TERM") to the server and waits for it.
    pub fn signal(mut self, sig: &str) -> std::process::ExitStatus {
        let ok = Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .expect("kill")
            .success();
        assert!(ok, "kill {sig} failed");
        let status = self.child.wait().expect("waiting for the server");
        std::mem::forget(self);
        status
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A UDP client on a free loopback port.
pub struct Client {
    sock: UdpSocket,
    server: SocketAddr,
}

impl Client {
    pub fn new(server: SocketAddr) -> Client {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        Client { sock, server }
    }

    pub fn port(&self) -> u16 {
        self.sock.local_addr().unwrap().port()
    }

    /// Sends `msg` (with `PORT` replaced by our port) and returns the first
    /// final response to it (skipping 100 Trying, and retransmissions of
    /// earlier final responses: a 3xx to an INVITE that is never ACKed is
    /// sent again after T1, RFC 3261 §17.2.1, which a slow run sees).
    pub fn ask(&self, msg: &str) -> String {
        let msg = msg
            .replace("PORT", &self.port().to_string())
            .replace('\n', "\r\n");
        self.sock.send_to(msg.as_bytes(), self.server).unwrap();
        let sent = branch(&msg);
        loop {
            let mut buf = vec![0u8; 65536];
            let (n, _) = self
                .sock
                .recv_from(&mut buf)
                .expect("a response within 5 s");
            let text = String::from_utf8_lossy(&buf[..n]).into_owned();
            if !text.starts_with("SIP/2.0 100 ") && branch(&text) == sent {
                return text;
            }
        }
    }
}

/// The branch of the first Via of a message, if any.
fn branch(msg: &str) -> Option<&str> {
    let at = msg.find("branch=")? + "branch=".len();
    let rest = &msg[at..];
    Some(&rest[..rest.find([';', ',', ' ', '\r', '\n']).unwrap_or(rest.len())])
}

pub fn status(resp: &str) -> u16 {
    resp.get(8..11)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {resp:?}"))
}

pub fn header<'a>(resp: &'a str, name: &str) -> Vec<&'a str> {
    resp.lines()
        .filter_map(|l| l.split_once(':'))
        .filter(|(n, _)| n.trim().eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim())
        .collect()
}

pub fn register(user: &str, contact: &str, call_id: &str, cseq: u32, expires: u32) -> String {
    format!(
        "REGISTER sip:127.0.0.1 SIP/2.0\n\
Via: SIP/2.0/UDP 127.0.0.1:PORT;branch=z9hG4bK-r{call_id}{cseq};rport\n\
Max-Forwards: 70\n\
From: <sip:{user}@example.com>;tag=f{cseq}\n\
To: <sip:{user}@example.com>\n\
Call-ID: {call_id}\n\
CSeq: {cseq} REGISTER\n\
Contact: <{contact}>\n\
Expires: {expires}\n\
Content-Length: 0\n\n"
    )
}

pub fn request(method: &str, uri: &str, branch: &str, extra: &str) -> String {
    format!(
        "{method} {uri} SIP/2.0\n\
Via: SIP/2.0/UDP 127.0.0.1:PORT;branch=z9hG4bK-{branch}\n\
Max-Forwards: 70\n\
From: <sip:caller@example.net>;tag=c{branch}\n\
To: <{uri}>\n\
Call-ID: call-{branch}\n\
CSeq: 1 {method}\n\
{extra}Content-Length: 0\n\n"
    )
}

pub fn temp_db(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sipkit-serve-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("reg.db")
}

#[test]
fn register_then_invite_gets_302_with_the_contact() {
    let server = Server::start(":memory:", &[]);
    let c = Client::new(server.udp);
    let r = c.ask(&register(
        "alice",
        "sip:alice@192.0.2.10:5070",
        "reg-1",
        1,
        600,
    ));
    assert_eq!(status(&r), 200, "{r}");
    let contacts = header(&r, "Contact");
    assert_eq!(contacts.len(), 1, "{r}");
    assert!(
        contacts[0].starts_with("<sip:alice@192.0.2.10:5070>;expires="),
        "{r}"
    );
    // rport and received stamped on the Via of the response (RFC 3581).
    let via = header(&r, "Via")[0];
    assert!(
        via.contains(&format!("rport={}", c.port())) && via.contains("received=127.0.0.1"),
        "{via}"
    );
    let r = c.ask(&request("INVITE", "sip:alice@example.com", "inv1", ""));
    assert_eq!(status(&r), 302, "{r}");
    assert!(
        header(&r, "Contact")[0].starts_with("<sip:alice@192.0.2.10:5070>"),
        "{r}"
    );
    assert!(
        header(&r, "To")[0].contains(";tag="),
        "a final response carries a To tag: {r}"
    );
}

#[test]
fn every_answer_of_the_redirect_server() {
    let config =
        std::env::temp_dir().join(format!("sipkit-serve-{}-moved.toml", std::process::id()));
    std::fs::write(
        &config,
        "[moved]\n\"sip:old@example.com\" = \"sip:new@example.org\"\n",
    )
    .unwrap();
    let server = Server::start(":memory:", &["--config", config.to_str().unwrap()]);
    let c = Client::new(server.udp);
    let ask = |method: &str, uri: &str, branch: &str, extra: &str| {
        c.ask(&request(method, uri, branch, extra))
    };

    let r = ask("INVITE", "sip:nobody@example.com", "a1", "");
    assert_eq!(status(&r), 404, "unknown user: {r}");
    let r = ask("INVITE", "sip:old@example.com", "a2", "");
    assert_eq!(status(&r), 301, "{r}");
    assert_eq!(header(&r, "Contact"), ["<sip:new@example.org>"]);
    // Registered once, then removed: known, not reachable → 480.
    assert_eq!(
        status(&c.ask(&register("bob", "sip:bob@192.0.2.11", "reg-b", 1, 600))),
        200
    );
    assert_eq!(
        status(&c.ask(&register("bob", "sip:bob@192.0.2.11", "reg-b", 2, 0))),
        200
    );
    let r = ask("INVITE", "sip:bob@example.com", "a3", "");
    assert_eq!(status(&r), 480, "{r}");
    let r = ask("OPTIONS", "sip:127.0.0.1", "a4", "");
    assert_eq!(status(&r), 200, "{r}");
    assert!(header(&r, "Allow")[0].contains("INVITE"), "{r}");
    assert!(!header(&r, "Accept").is_empty(), "{r}");
    let r = ask("BYE", "sip:alice@example.com", "a5", "");
    assert_eq!(status(&r), 405, "{r}");
    assert!(!header(&r, "Allow").is_empty());
    let r = ask("FROBNICATE", "sip:alice@example.com", "a6", "");
    assert_eq!(status(&r), 501, "{r}");
    let r = c.ask(
        &request("INVITE", "sip:alice@example.com", "a7", "")
            .replace("Max-Forwards: 70", "Max-Forwards: 0"),
    );
    assert_eq!(status(&r), 483, "{r}");
    let r = ask(
        "INVITE",
        "sip:alice@example.com",
        "a8",
        "Require: foo, 100rel\n",
    );
    assert_eq!(status(&r), 420, "{r}");
    assert_eq!(header(&r, "Unsupported"), ["foo, 100rel"]);
    let r = ask("CANCEL", "sip:alice@example.com", "a9", "");
    assert_eq!(status(&r), 481, "a CANCEL matching nothing: {r}");
    let r = ask("INVITE", "tel:+15551234", "a10", "");
    assert_eq!(status(&r), 416, "{r}");
    let r = c.ask(&register("carol", "sip:carol@192.0.2.12", "reg-c", 1, 10));
    assert_eq!(status(&r), 423, "{r}");
    assert_eq!(header(&r, "Min-Expires"), ["60"]);
}

#[test]
fn bad_messages_get_the_reply_the_rfc_asks_for() {
    let config =
        std::env::temp_dir().join(format!("sipkit-serve-{}-small.toml", std::process::id()));
    std::fs::write(&config, "max_message_size = 4096\n").unwrap();
    let server = Server::start(":memory:", &["--config", config.to_str().unwrap()]);
    let c = Client::new(server.udp);
    // 400 with the reason: CSeq method differs from the request method.
    let r = c.ask(
        &request("OPTIONS", "sip:a@example.com", "b1", "")
            .replace("CSeq: 1 OPTIONS", "CSeq: 1 INVITE"),
    );
    assert_eq!(status(&r), 400, "{r}");
    assert!(
        !header(&r, "Warning").is_empty()
            || r.lines().next().unwrap().len() > "SIP/2.0 400 Bad Request".len(),
        "{r}"
    );
    // 505 for another version.
    let r = c.ask(&request("OPTIONS", "sip:a@example.com", "b2", "").replacen(
        " SIP/2.0\n",
        " SIP/7.0\n",
        1,
    ));
    assert_eq!(status(&r), 505, "{r}");
    // 513 for a message over the limit.
    let big = format!("X-Pad: {}\n", "a".repeat(5_000));
    let r = c.ask(&request("OPTIONS", "sip:a@example.com", "b3", &big));
    assert_eq!(status(&r), 513, "{r}");
}

#[test]
fn retransmitted_invite_gets_the_same_response() {
    let server = Server::start(":memory:", &[]);
    let c = Client::new(server.udp);
    let msg = request("INVITE", "sip:ghost@example.com", "rt1", "");
    let first = c.ask(&msg);
    let second = c.ask(&msg);
    assert_eq!(status(&first), 404);
    assert_eq!(
        first, second,
        "the server transaction absorbs the retransmission and resends its response"
    );
}

#[test]
fn registrations_survive_kill_9() {
    let db = temp_db("kill9");
    let dbs = db.to_str().unwrap().to_owned();
    let server = Server::start(&dbs, &[]);
    let c = Client::new(server.udp);
    for i in 0..20 {
        let r = c.ask(&register(
            &format!("u{i}"),
            &format!("sip:u{i}@192.0.2.20:{}", 5000 + i),
            &format!("k{i}"),
            1,
            3600,
        ));
        assert_eq!(status(&r), 200, "{r}");
    }
    let st = server.signal("-KILL");
    assert!(!st.success(), "killed");
    let server = Server::start(&dbs, &[]);
    let c = Client::new(server.udp);
    for i in 0..20 {
        let r = c.ask(&request(
            "INVITE",
            &format!("sip:u{i}@example.com"),
            &format!("k9{i}"),
            "",
        ));
        assert_eq!(
            status(&r),
            302,
            "binding {i} acknowledged before kill -9 is still there: {r}"
        );
        assert!(
            header(&r, "Contact")[0].contains(&format!("192.0.2.20:{}", 5000 + i)),
            "{r}"
        );
    }
    drop(server);
    let _ = std::fs::remove_dir_all(db.parent().unwrap());
}

#[test]
fn sigterm_stops_gracefully() {
    let server = Server::start(":memory:", &[]);
    let st = server.signal("-TERM");
    assert_eq!(st.code(), Some(0), "graceful exit on SIGTERM");
}

#[test]
fn tcp_register_and_redirect() {
    use std::io::{Read, Write};
    let server = Server::start(":memory:", &[]);
    let mut s = std::net::TcpStream::connect(server.tcp).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let port = s.local_addr().unwrap().port().to_string();
    let mut exchange = |msg: String| -> String {
        let msg = msg
            .replace("SIP/2.0/UDP", "SIP/2.0/TCP")
            .replace("PORT", &port)
            .replace('\n', "\r\n");
        s.write_all(msg.as_bytes()).unwrap();
        let mut got = Vec::new();
        loop {
            let mut buf = [0u8; 4096];
            let n = s.read(&mut buf).expect("response within 5 s");
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
    };
    let r = exchange(register(
        "tina",
        "sip:tina@192.0.2.30;transport=tcp",
        "t-1",
        1,
        600,
    ));
    assert_eq!(status(&r), 200, "{r}");
    let r = exchange(request("INVITE", "sip:tina@example.com", "t2", ""));
    assert_eq!(status(&r), 302, "{r}");
    assert!(
        header(&r, "Contact")[0].contains("sip:tina@192.0.2.30;transport=tcp"),
        "{r}"
    );
}

/// SIPp (Debian package sip-tester) drives the interop scenarios in
/// testdata/sipp. Missing SIPp fails the test in CI and is reported elsewhere.
fn scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/sipp")
        .join(name)
}

/// Runs one SIPp scenario against `target` and returns its exit code.
fn run_sipp(sipp: &Path, file: &str, target: SocketAddr, user: &str, transport: &str) -> i32 {
    let port = free_port();
    let out = Command::new("timeout")
        .args(["60", sipp.to_str().unwrap()])
        .args(["-sf", scenario(file).to_str().unwrap()])
        .arg(target.to_string())
        .args([
            "-i",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-s",
            user,
            "-m",
            "1",
            "-t",
            transport,
        ])
        .args([
            "-timeout",
            "20",
            "-timeout_error",
            "-nostdin",
            "-max_retrans",
            "3",
        ])
        .stdin(Stdio::null())
        .output()
        .expect("running sipp");
    let code = out.status.code().unwrap_or(-1);
    if code != 0 {
        eprintln!(
            "sipp {file} over {transport} exited {code}:\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
        eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    }
    code
}

fn sipp_suite(transport: &str, workers: &str) {
    let Some(sipp) = sipp() else { return };
    let server = Server::start(":memory:", &["--workers", workers]);
    let target = if transport == "u1" {
        server.udp
    } else {
        server.tcp
    };
    assert_eq!(
        run_sipp(&sipp, "options.xml", target, "probe", transport),
        0,
        "OPTIONS"
    );
    assert_eq!(
        run_sipp(&sipp, "register.xml", target, "sippuser", transport),
        0,
        "REGISTER and un-REGISTER"
    );
    assert_eq!(
        run_sipp(&sipp, "register_keep.xml", target, "sippcallee", transport),
        0,
        "REGISTER"
    );
    assert_eq!(
        run_sipp(&sipp, "invite_302.xml", target, "sippcallee", transport),
        0,
        "INVITE → 302 → ACK"
    );
    assert_eq!(
        run_sipp(&sipp, "invite_404.xml", target, "nosuchuser", transport),
        0,
        "INVITE → 404 → ACK"
    );
}

#[test]
fn sipp_interop_udp() {
    sipp_suite("u1", "1");
}

#[test]
fn sipp_interop_tcp() {
    sipp_suite("t1", "1");
}

/// Issue 14 point 1: the same scenarios with two workers sharing the port.
#[test]
fn sipp_interop_udp_two_workers() {
    sipp_suite("u1", "2");
}

#[test]
fn sipp_interop_tcp_two_workers() {
    sipp_suite("t1", "2");
}
