//! End to end in headless Chromium, driven by chromedriver over the W3C
//! WebDriver HTTP API (a small client on std::net): open the index, search
//! for "moved", open 302, follow "compare with 202", switch to Russian and
//! check the page is Russian. Screenshots of a code page and a compare page
//! are saved under `target/test-artifacts/`.
//!
//! Needs Debian's `chromium` and `chromium-driver` (`scripts/setup` installs
//! them). Without them the test says so and passes, except under CI
//! (`CI` set), where it fails.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::server::Server;
use crate::util::cyrillic_share;

const CHROMIUM: &[&str] = &["/usr/bin/chromium", "/usr/bin/chromium-browser"];
const CHROMEDRIVER: &[&str] = &["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"];
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

fn first_existing(list: &[&str]) -> Option<PathBuf> {
    list.iter().map(PathBuf::from).find(|p| p.is_file())
}

/// `target/test-artifacts/`, created.
fn artifacts() -> PathBuf {
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let dir = tmp
        .parent()
        .map(Path::to_owned)
        .unwrap_or(tmp)
        .join("test-artifacts");
    std::fs::create_dir_all(&dir).expect("creating target/test-artifacts");
    dir
}

/// chromedriver, started by this test and killed (by its own handle) on drop.
struct Driver {
    child: Child,
    addr: SocketAddr,
}

impl Driver {
    fn start(binary: &Path, log: &Path) -> Driver {
        // A free port: bind, read it, release it for chromedriver.
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(binary)
            .arg(format!("--port={port}"))
            .arg(format!("--log-path={}", log.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting chromedriver");
        let d = Driver {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(v) = call(d.addr, "GET", "/status", None) {
                if v["value"]["ready"] == true {
                    return d;
                }
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not become ready (log: {})",
                log.display()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // Only the process this test started, by its handle (its PID).
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One WebDriver call; the answer's JSON, or the error WebDriver reported.
fn call(addr: SocketAddr, method: &str, path: &str, body: Option<&Value>) -> Result<Value, String> {
    let mut s =
        TcpStream::connect_timeout(&addr, Duration::from_secs(5)).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(60)))
        .map_err(|e| e.to_string())?;
    let body = body.map(Value::to_string).unwrap_or_default();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).map_err(|e| e.to_string())?;
    // chromedriver may keep the connection open: read the head, then exactly
    // the body it announces (Content-Length, or chunks), not up to EOF.
    let mut raw = Vec::new();
    let mut buf = [0u8; 16384];
    let head_end = loop {
        if let Some(k) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break k + 4;
        }
        let n = s.read(&mut buf).map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("the connection closed before the head ended".into());
        }
        raw.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&raw[..head_end]).to_ascii_lowercase();
    let status: u16 = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or("no status")?;
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok());
    let chunked = head.contains("transfer-encoding: chunked");
    let complete = |raw: &[u8]| match length {
        Some(n) => raw.len() >= head_end + n,
        None if chunked => raw[head_end..].windows(5).any(|w| w == b"0\r\n\r\n"),
        None => false,
    };
    while !complete(&raw) {
        let n = s.read(&mut buf).map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        raw.extend_from_slice(&buf[..n]);
    }
    let rest = String::from_utf8_lossy(&raw[head_end..]).into_owned();
    let body = if chunked {
        let mut out = String::new();
        let mut r = rest.as_str();
        while let Some((size, more)) = r.split_once("\r\n") {
            let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            if n == 0 || more.len() < n {
                break;
            }
            out.push_str(&more[..n]);
            r = more[n..].trim_start_matches("\r\n");
        }
        out
    } else {
        match length {
            Some(n) => rest[..n.min(rest.len())].to_owned(),
            None => rest,
        }
    };
    let v: Value = serde_json::from_str(&body).map_err(|e| format!("{e}: {body}"))?;
    if status >= 400 {
        return Err(format!("{method} {path}: {status} {}", v["value"]));
    }
    Ok(v)
}

/// A browser session, deleted (Chromium quits) on drop.
struct Session {
    addr: SocketAddr,
    id: String,
}

impl Session {
    fn new(addr: SocketAddr, chromium: &Path, profile: &Path) -> Session {
        let caps = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium.display().to_string(),
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage", "--hide-scrollbars", "--lang=en-US",
                    format!("--user-data-dir={}", profile.display()), "--window-size=1200,1800"
                ]
            }
        }}});
        let v = call(addr, "POST", "/session", Some(&caps)).expect("a WebDriver session");
        let id = v["value"]["sessionId"]
            .as_str()
            .expect("a session id")
            .to_owned();
        Session { addr, id }
    }

    fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let p = format!("/session/{}{path}", self.id);
        let v = call(self.addr, method, &p, body.as_ref()).unwrap_or_else(|e| panic!("{e}"));
        v["value"].clone()
    }

    fn go(&self, url: &str) {
        self.cmd("POST", "/url", Some(json!({ "url": url })));
    }

    fn url(&self) -> String {
        self.cmd("GET", "/url", None)
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    fn find_all(&self, css: &str) -> Vec<String> {
        let v = self.cmd(
            "POST",
            "/elements",
            Some(json!({ "using": "css selector", "value": css })),
        );
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e[ELEMENT].as_str().map(str::to_owned))
            .collect()
    }

    /// The first element matching `css`, waiting up to 10 s for it.
    fn wait_for(&self, css: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(e) = self.find_all(css).into_iter().next() {
                return e;
            }
            assert!(
                Instant::now() < deadline,
                "no element {css} on {}",
                self.url()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn wait_url(&self, ends_with: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.url().ends_with(ends_with) {
            assert!(
                Instant::now() < deadline,
                "expected a URL ending {ends_with}, at {}",
                self.url()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn click(&self, el: &str) {
        self.cmd("POST", &format!("/element/{el}/click"), Some(json!({})));
    }

    fn text(&self, el: &str) -> String {
        self.cmd("GET", &format!("/element/{el}/text"), None)
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    fn type_into(&self, el: &str, text: &str) {
        self.cmd(
            "POST",
            &format!("/element/{el}/value"),
            Some(json!({ "text": text })),
        );
    }

    fn script(&self, js: &str) -> Value {
        self.cmd(
            "POST",
            "/execute/sync",
            Some(json!({ "script": js, "args": [] })),
        )
    }

    fn screenshot(&self, file: &Path) {
        let b64 = self.cmd("GET", "/screenshot", None);
        let png = base64_decode(b64.as_str().expect("a base64 screenshot"));
        assert!(png.starts_with(b"\x89PNG"), "a PNG");
        std::fs::write(file, png).expect("writing the screenshot");
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = call(self.addr, "DELETE", &format!("/session/{}", self.id), None);
    }
}

fn base64_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0);
    for v in s.bytes().filter_map(val) {
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

#[test]
fn base64_decodes() {
    assert_eq!(base64_decode("aGVsbG8="), b"hello");
    assert_eq!(base64_decode("aGk="), b"hi");
    assert_eq!(base64_decode(""), b"");
}

#[test]
fn search_open_compare_and_switch_language_in_chromium() {
    let (Some(chromium), Some(driver)) = (first_existing(CHROMIUM), first_existing(CHROMEDRIVER))
    else {
        let msg = "the browser test needs Debian's chromium and chromium-driver (run scripts/setup): not found";
        assert!(std::env::var_os("CI").is_none(), "{msg}");
        eprintln!("SKIPPED: {msg}");
        return;
    };
    let out = artifacts();
    let profile = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("chromium-profile-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&profile);
    let server = Server::start();
    let driver = Driver::start(&driver, &out.join("chromedriver.log"));
    let s = Session::new(driver.addr, &chromium, &profile);

    // The index, and search as you type.
    s.go(&server.url("/en/"));
    let title = s.script("return document.title;");
    assert_eq!(
        title,
        "SIP response codes explained: every code, every pair compared"
    );
    let q = s.wait_for("#q");
    s.type_into(&q, "moved");
    let live = s.wait_for("#live .results a[href='/en/302']");
    assert!(s.text(&live).contains("Moved Temporarily"));
    assert!(
        !s.find_all("#live .results a[href='/en/301']").is_empty(),
        "301 is found too"
    );
    // The same search without the script: submit the form.
    s.type_into(&q, "\u{E007}");
    s.wait_url("/en/search?q=moved");
    let hit = s.wait_for("#live .results a[href='/en/302']");
    s.click(&hit);
    s.wait_url("/en/302");
    let h1 = s.text(&s.wait_for("h1"));
    assert!(
        h1.contains("302") && h1.contains("Moved Temporarily"),
        "{h1}"
    );
    assert!(
        !s.find_all("#flow svg").is_empty(),
        "the call flow is drawn"
    );
    s.screenshot(&out.join("web-code-302.png"));

    // Compare with 202.
    let link = s.wait_for("#compare a[href='/en/compare/202-vs-302']");
    assert_eq!(s.text(&link), "Compare with 202 Accepted");
    s.click(&link);
    s.wait_url("/en/compare/202-vs-302");
    let h1 = s.text(&s.wait_for("h1"));
    assert!(h1.contains("202") && h1.contains("302"), "{h1}");
    s.screenshot(&out.join("web-compare-202-302.png"));

    // Switch to Russian.
    let ru = s.wait_for(".langs a[hreflang='ru']");
    s.click(&ru);
    s.wait_url("/ru/compare/202-vs-302");
    assert_eq!(s.script("return document.documentElement.lang;"), "ru");
    let body = s.script("return document.querySelector('main').innerText;");
    let body = body.as_str().unwrap_or_default();
    assert!(
        body.contains("Временно перемещён") && body.contains("Главные различия"),
        "{body}"
    );
    let share = cyrillic_share(body);
    assert!(
        share > 0.75,
        "the page's text is Russian: {:.0}% Cyrillic",
        share * 100.0
    );
    s.screenshot(&out.join("web-compare-202-302-ru.png"));

    // A phone-sized window: nothing wider than the screen.
    s.cmd(
        "POST",
        "/window/rect",
        Some(json!({ "width": 390, "height": 844 })),
    );
    s.go(&server.url("/ru/302"));
    s.wait_for("h1");
    let overflow = s.script(
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth;",
    );
    assert!(
        overflow.as_i64().is_some_and(|o| o <= 0),
        "horizontal overflow of {overflow} px on a phone"
    );
    s.screenshot(&out.join("web-code-302-ru-phone.png"));
    drop(s);
    drop(driver);
    let _ = std::fs::remove_dir_all(&profile);
}
