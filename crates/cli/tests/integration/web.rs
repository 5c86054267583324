//! `sipkit web`: serving on a socket (address printed, SIGTERM stops it
//! gracefully) and `--export DIR`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::{sipkit, stderr, stdout};

/// A `sipkit web` process started by the test; killed by its PID if the
/// test ends without stopping it.
struct Served {
    child: Child,
    addr: SocketAddr,
}

impl Served {
    fn start(extra: &[&str]) -> Served {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sipkit"))
            .args(["web", "--listen", "127.0.0.1:0"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting sipkit web");
        let mut out = BufReader::new(child.stdout.take().expect("stdout"));
        let mut first = String::new();
        out.read_line(&mut first).expect("reading the first line");
        let url = first
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no address in {first:?}"));
        let addr: SocketAddr = url
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .parse()
            .expect("an address");
        assert!(
            first.starts_with(
                "sipkit web: serving the SIP response-code reference at http://127.0.0.1:"
            ),
            "{first}"
        );
        Served { child, addr }
    }

    /// SIGTERM, then the exit status and stderr.
    fn terminate(mut self) -> (Option<i32>, String) {
        let pid = self.child.id().to_string();
        let ok = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("running kill")
            .success();
        assert!(ok, "kill -TERM {pid}");
        let deadline = Instant::now() + Duration::from_secs(10);
        let status = loop {
            if let Some(s) = self.child.try_wait().expect("waiting") {
                break s;
            }
            assert!(
                Instant::now() < deadline,
                "sipkit web did not stop on SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        let mut err = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            let _ = e.read_to_string(&mut err);
        }
        (status.code(), err)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn get(addr: SocketAddr, path: &str, accept_language: &str) -> (u16, String) {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("connecting");
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept-Language: {accept_language}\r\nConnection: close\r\n\r\n").unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).expect("reading");
    let status = raw
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("a status");
    (status, raw)
}

#[test]
fn web_serves_prints_its_address_and_stops_on_sigterm() {
    let served = Served::start(&[]);
    let (status, page) = get(served.addr, "/en/302", "en");
    assert_eq!(status, 200);
    assert!(
        page.contains("Moved Temporarily")
            && page.contains(&format!("href=\"http://{}/en/302\"", served.addr))
    );
    let (status, head) = get(served.addr, "/", "ru-RU,ru;q=0.9,en;q=0.5");
    assert_eq!(status, 302);
    assert!(head.contains("location: /ru/"), "{head}");
    let (status, json) = get(served.addr, "/api/v1/codes/302?lang=ru", "en");
    assert_eq!(status, 200);
    assert!(json.contains("\"title\": \"Временно перемещён\""));
    let (code, err) = served.terminate();
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("sipkit web: stopped"), "{err}");
}

#[test]
fn web_names_the_base_url_it_is_given() {
    let served = Served::start(&["--base-url", "https://sip.example.org/"]);
    let (_, page) = get(served.addr, "/ru/486", "ru");
    assert!(page.contains("<link rel=\"canonical\" href=\"https://sip.example.org/ru/486\">"));
    let (code, _) = served.terminate();
    assert_eq!(code, Some(0));
}

#[test]
fn web_reports_an_address_in_use() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let o = sipkit(&["web", "--listen", &addr]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains(&format!("sipkit: error: serving on {addr}")),
        "{}",
        stderr(&o)
    );
    let o = sipkit(&["web", "--listen", "not-an-address"]);
    assert_eq!(o.status.code(), Some(2), "a usage error");
}

#[test]
fn web_exports_the_whole_site() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cli-web-export");
    let _ = std::fs::remove_dir_all(&dir);
    let o = sipkit(&[
        "web",
        "--export",
        dir.to_str().unwrap(),
        "--base-url",
        "https://sip.example.org",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), "");
    let err = stderr(&o);
    assert!(
        err.contains("sipkit web: exported 1000 of "),
        "progress: {err}"
    );
    let total: usize = err
        .lines()
        .last()
        .and_then(|l| l.strip_prefix("sipkit web: exported "))
        .and_then(|l| l.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no total in {err}"));
    assert!(total > 10_000, "{total}");
    for f in [
        "index.html",
        "404.html",
        "en/302/index.html",
        "ru/compare/202-vs-302/index.html",
        "api/v1/ru/codes/302.json",
        "sitemap.xml",
    ] {
        assert!(dir.join(f).is_file(), "{f}");
    }
    let sitemap = std::fs::read_to_string(dir.join("sitemap.xml")).unwrap();
    assert!(sitemap.contains("<loc>https://sip.example.org/en/302</loc>"));
    let _ = std::fs::remove_dir_all(&dir);
}
