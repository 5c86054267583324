//! Digest authentication end to end, sipkit against sipkit (issue 12):
//! `sipkit ua --register` and `sipkit call` answering `sipkit serve`'s
//! challenges over real sockets on loopback, for each algorithm the
//! server may offer first, and a wrong password refused as `auth_failed`.
//! The refresh through the server's nonce is tested without sockets, on a
//! jumping clock, in sipkit-ua's `serve_core` tests.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::serve::Server;
use crate::ua::{code, json, run, start_ua};
use crate::util::sipkit;

const ALICE_PW: &str = "alice-Pw-1";
const BOB_PW: &str = "bob-Pw-2";

/// `sipkit serve` with users alice and bob in its configuration and, when
/// given, this challenge order (`[auth] algorithms`).
fn server(name: &str, algorithms: Option<&[&str]>) -> (Server, PathBuf) {
    let dir = std::env::temp_dir().join(format!("sipkit-authe2e-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut text = String::from("[auth]\n");
    if let Some(a) = algorithms {
        let list: Vec<String> = a.iter().map(|a| format!("\"{a}\"")).collect();
        text.push_str(&format!("algorithms = [{}]\n", list.join(", ")));
    }
    text.push_str(&format!(
        "users = [\n  {{ name = \"alice\", password = \"{ALICE_PW}\" }},\n  {{ name = \"bob\", password = \"{BOB_PW}\" }},\n]\n"
    ));
    let config = dir.join("sipkit.toml");
    std::fs::write(&config, text).unwrap();
    let server = Server::start(":memory:", &["--config", config.to_str().unwrap()]);
    (server, dir)
}

/// The `--format json` document `sipkit ua` printed at exit (before its
/// progress lines on stderr).
fn ua_report(out: &str) -> Value {
    let doc: String = out
        .lines()
        .take_while(|l| !l.starts_with('['))
        .collect::<Vec<_>>()
        .join("\n");
    serde_json::from_str(&doc).unwrap_or_else(|e| panic!("{e}: {out}"))
}

/// The summary of `sipkit explain CODE`.
fn explanation(code: u16) -> String {
    let o = sipkit(&["explain", &code.to_string(), "--format", "json"]);
    json(&o)["summary"].as_str().unwrap().to_owned()
}

/// alice registers with `sipkit ua` through the server's 401; bob calls
/// her AOR with `sipkit call` through the server's 407 and is redirected
/// (302) to her registered contact, where her `sipkit ua` answers. Both
/// answer the challenge listed first, with `expected`.
fn register_and_call(name: &str, algorithms: Option<&[&str]>, expected: &str) {
    let (server, dir) = server(name, algorithms);
    let registrar = format!("sip:{}", server.udp);
    let ua = start_ua(&[
        "--user",
        "alice",
        "--password",
        ALICE_PW,
        "--register",
        &registrar,
        "--expires",
        "120",
        "--calls",
        "1",
        "--duration",
        "20",
        "--format",
        "json",
    ]);
    let deadline = Instant::now() + Duration::from_secs(5);
    while !ua
        .err
        .lock()
        .unwrap()
        .contains("registered sip:alice@127.0.0.1")
    {
        assert!(
            Instant::now() < deadline,
            "no registration:\n{}",
            ua.err.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let aor = format!("sip:alice@{}", server.udp);
    let o = run(&[
        "call",
        &aor,
        "--user",
        "bob",
        "--password",
        BOB_PW,
        "--format",
        "json",
    ]);
    let j = json(&o);
    assert_eq!(code(&o), 0, "{j:#}");
    let attempts = j["attempts"].as_array().unwrap();
    assert_eq!(attempts[0]["status"], 407, "{j:#}");
    assert_eq!(attempts[1]["status"], 302, "{j:#}");
    assert_eq!(attempts[1]["cseq"], 2, "{j:#}");
    assert_eq!(j["redirects"][0]["status"], 302, "{j:#}");
    assert_eq!(
        j["final_uri"],
        format!("sip:alice@{}", ua.addr).as_str(),
        "the registered Contact: {j:#}"
    );
    assert_eq!(j["final_status"], 200, "{j:#}");
    assert_eq!(j["auth"]["outcome"], "authenticated", "{j:#}");
    assert_eq!(j["auth"]["user"], "bob");
    assert_eq!(j["auth"]["realm"], "sipkit");
    assert_eq!(j["auth"]["algorithm"], expected, "{j:#}");
    assert_eq!(j["auth"]["challenges"], 1);
    let (rc, out) = ua.finish(20);
    assert_eq!(rc, 0, "{out}");
    let r = ua_report(&out);
    let reg = &r["registration"];
    assert_eq!(reg["status"], 200, "{r:#}");
    assert_eq!(reg["expires"], 120);
    assert_eq!(reg["unregister_status"], 200, "un-REGISTER at exit: {r:#}");
    assert_eq!(reg["auth"]["outcome"], "authenticated", "{r:#}");
    assert_eq!(reg["auth"]["realm"], "sipkit");
    assert_eq!(reg["auth"]["algorithm"], expected, "{r:#}");
    assert_eq!(reg["auth"]["challenges"], 1, "{r:#}");
    assert_eq!(r["calls"][0]["direction"], "inbound", "{r:#}");
    assert_eq!(r["calls"][0]["status"], 200, "{r:#}");
    assert_eq!(r["stopped"], "calls");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn auth_e2e_md5_first_by_default() {
    register_and_call("md5", None, "MD5");
}

#[test]
fn auth_e2e_sha256_first() {
    register_and_call(
        "sha256",
        Some(&["SHA-256", "MD5", "SHA-512-256"]),
        "SHA-256",
    );
}

#[test]
fn auth_e2e_sha512_256_first() {
    register_and_call(
        "sha512",
        Some(&["SHA-512-256", "SHA-256", "MD5"]),
        "SHA-512-256",
    );
}

/// bob with a wrong password: the server challenges the answered INVITE
/// again (407), and `sipkit call` stops with `auth_failed`, exit status 1, and
/// the explanation of that final response.
#[test]
fn auth_e2e_call_wrong_password_is_auth_failed() {
    let (server, dir) = server("call-wrong", None);
    let aor = format!("sip:alice@{}", server.udp);
    let o = run(&[
        "call",
        &aor,
        "--user",
        "bob",
        "--password",
        "not-it",
        "--format",
        "json",
    ]);
    let j = json(&o);
    assert_eq!(code(&o), 1, "{j:#}");
    assert_eq!(j["stopped"], "auth_failed", "{j:#}");
    assert_eq!(
        j["attempts"].as_array().unwrap().len(),
        2,
        "exactly one retry: {j:#}"
    );
    // A fresh challenge, not 403: a wrong password and an unknown user
    // look the same (no user enumeration).
    let status = 407;
    assert_eq!(j["final_status"], status, "{j:#}");
    let auth = &j["auth"];
    assert_eq!(auth["outcome"], "auth_failed", "{j:#}");
    assert_eq!(auth["status"], status);
    assert_eq!(auth["explanation"], explanation(status).as_str());
    // The text form says it in one line, with the same explanation.
    let o = run(&["call", &aor, "--user", "bob", "--password", "not-it"]);
    assert_eq!(code(&o), 1);
    let out = crate::util::stdout(&o);
    let line = out
        .lines()
        .find(|l| l.contains(&format!("auth_failed: {status} ")))
        .unwrap_or_else(|| panic!("no auth_failed line:\n{out}"));
    assert!(line.contains(&explanation(status)), "{line}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// alice with a wrong password: the registration is challenged again
/// (401), `sipkit ua`
/// reports `auth_failed` with the explanation, stops at once (not at
/// --duration) and exits 1.
#[test]
fn auth_e2e_register_wrong_password_is_auth_failed_and_exits_1() {
    let (server, dir) = server("reg-wrong", None);
    let registrar = format!("sip:{}", server.udp);
    let started = Instant::now();
    let o = run(&[
        "ua",
        "--user",
        "alice",
        "--password",
        "not-it",
        "--register",
        &registrar,
        "--duration",
        "30",
        "--format",
        "json",
    ]);
    let r = json(&o);
    assert_eq!(code(&o), 1, "{r:#}");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "it stopped on auth_failed, not at --duration"
    );
    assert_eq!(r["stopped"], "auth_failed", "{r:#}");
    let reg = &r["registration"];
    let status = 401;
    assert_eq!(reg["status"], status, "{r:#}");
    assert_eq!(reg["unregister_status"], Value::Null, "never registered");
    let auth = &reg["auth"];
    assert_eq!(auth["outcome"], "auth_failed", "{r:#}");
    assert_eq!(auth["status"], status);
    assert_eq!(auth["explanation"], explanation(status).as_str());
    assert_eq!(auth["challenges"], 1, "exactly one retry: {r:#}");
    let _ = std::fs::remove_dir_all(&dir);
}
