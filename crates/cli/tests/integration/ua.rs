//! `sipkit call`, `sipkit transfer` and `sipkit ua` on loopback: against
//! each other, against `sipkit serve`, and against SIPp (the scenarios in
//! testdata/sipp/ua). Every socket is bound to 127.0.0.1 on a free port;
//! every SIPp run is bounded by -m, -timeout and `timeout`; every process
//! started is ended by its PID.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::util::{free_port, sipkit, sipp, stdout};

/// SIPp (Debian package sip-tester) drives the interop scenarios in
/// testdata/sipp/ua. Missing SIPp fails the test in CI (the `CI` variable is
/// set) and is reported as skipped elsewhere.
fn scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/sipp/ua")
        .join(name)
}

/// A background process, killed by its PID when dropped.
struct Proc {
    child: Option<Child>,
    name: String,
}

impl Proc {
    /// Waits for it to exit (at most `secs`) and returns its exit code and output.
    fn finish(mut self, secs: u64) -> (i32, String) {
        let mut child = self.child.take().expect("running");
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(status) = child.try_wait().expect("waiting") {
                let out = child.wait_with_output().expect("output");
                let text = format!(
                    "{}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                );
                return (status.code().unwrap_or(-1), text);
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let out = child.wait_with_output().expect("output");
                panic!(
                    "{} did not finish in {secs} s:\n{}",
                    self.name,
                    String::from_utf8_lossy(&out.stdout)
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Starts SIPp with scenario `file` on local `port` (bounded: -m 1, -timeout, `timeout`).
fn start_sipp(sipp: &Path, file: &str, port: u16, args: &[&str]) -> Proc {
    let child = Command::new("timeout")
        .args(["60", sipp.to_str().unwrap()])
        .args(["-sf", scenario(file).to_str().unwrap()])
        .args(["-i", "127.0.0.1", "-p", &port.to_string(), "-m", "1"])
        .args([
            "-timeout",
            "40",
            "-timeout_error",
            "-nostdin",
            "-max_retrans",
            "5",
        ])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting sipp");
    Proc {
        child: Some(child),
        name: format!("sipp {file}"),
    }
}

/// Starts SIPp's built-in UAS (INVITE → 180 → 200 → ACK → BYE → 200) on `port`.
fn start_sipp_uas(sipp: &Path, port: u16) -> Proc {
    let child = Command::new("timeout")
        .args(["60", sipp.to_str().unwrap()])
        .args([
            "-sn",
            "uas",
            "-i",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-m",
            "1",
        ])
        .args(["-timeout", "40", "-timeout_error", "-nostdin"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting sipp");
    Proc {
        child: Some(child),
        name: "sipp uas".into(),
    }
}

/// Gives SIPp time to bind its socket before it is called.
fn settle() {
    std::thread::sleep(Duration::from_millis(400));
}

/// A running `sipkit ua` on a free loopback port, its address, and what it printed.
pub(crate) struct Ua {
    proc: Proc,
    pub(crate) addr: SocketAddr,
    out: std::sync::Arc<std::sync::Mutex<String>>,
    pub(crate) err: std::sync::Arc<std::sync::Mutex<String>>,
    readers: Vec<std::thread::JoinHandle<()>>,
}

impl Ua {
    /// Waits for it to exit and returns its exit code and everything it
    /// printed: stdout, then stderr.
    pub(crate) fn finish(mut self, secs: u64) -> (i32, String) {
        let (rc, _) = std::mem::replace(
            &mut self.proc,
            Proc {
                child: None,
                name: String::new(),
            },
        )
        .finish(secs);
        for r in self.readers.drain(..) {
            let _ = r.join();
        }
        let out = format!("{}{}", self.out.lock().unwrap(), self.err.lock().unwrap());
        (rc, out)
    }
}

pub(crate) fn start_ua(extra: &[&str]) -> Ua {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sipkit"))
        .args(["ua", "--listen", "udp:127.0.0.1:0"])
        .args(extra)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting sipkit ua");
    // Progress goes to stdout, or to stderr with --format json.
    let json = extra.contains(&"json");
    let stdout_pipe = child.stdout.take().expect("piped stdout");
    let stderr_pipe = child.stderr.take().expect("piped stderr");
    let out = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let err = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let mut first = String::new();
    let mut readers = Vec::new();
    let spawn = |r: Box<dyn BufRead + Send>, out: std::sync::Arc<std::sync::Mutex<String>>| {
        std::thread::spawn(move || {
            for l in r.lines().map_while(Result::ok) {
                let mut o = out.lock().unwrap();
                o.push_str(&l);
                o.push('\n');
            }
        })
    };
    if json {
        let mut r = BufReader::new(stderr_pipe);
        r.read_line(&mut first).expect("the first line");
        readers.push(spawn(Box::new(r), err.clone()));
        readers.push(spawn(Box::new(BufReader::new(stdout_pipe)), out.clone()));
    } else {
        let mut r = BufReader::new(stdout_pipe);
        r.read_line(&mut first).expect("the first line");
        readers.push(spawn(Box::new(r), out.clone()));
        readers.push(spawn(Box::new(BufReader::new(stderr_pipe)), err.clone()));
    }
    // "[  0.000] listening on udp:127.0.0.1:PORT, Contact <...>"
    let start = first
        .find("udp:")
        .unwrap_or_else(|| panic!("no address in {first:?}"))
        + 4;
    let end = first[start..]
        .find(',')
        .map(|e| start + e)
        .unwrap_or(first.len());
    let addr: SocketAddr = first[start..end]
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("address in {first:?}"));
    Ua {
        proc: Proc {
            child: Some(child),
            name: "sipkit ua".into(),
        },
        addr,
        out,
        err,
        readers,
    }
}

pub(crate) fn json(o: &Output) -> Value {
    serde_json::from_str(&stdout(o)).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}):\n{}\nstderr:\n{}",
            stdout(o),
            String::from_utf8_lossy(&o.stderr)
        )
    })
}

pub(crate) fn run(args: &[&str]) -> Output {
    let mut all = vec![args[0], "--listen", "udp:127.0.0.1:0"];
    all.extend_from_slice(&args[1..]);
    sipkit(&all)
}

pub(crate) fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

// ------------------------------------------------------------ no peers

#[test]
fn ua_commands_have_help_with_exit_codes() {
    for cmd in ["ua", "call", "transfer"] {
        let o = sipkit(&[cmd, "--help"]);
        assert_eq!(code(&o), 0, "{cmd} --help");
        let text = stdout(&o);
        assert!(
            text.contains("Exit status: 0"),
            "{cmd} --help lacks exit codes:\n{text}"
        );
        assert!(
            text.contains("--format") && text.contains("--lang"),
            "{cmd}"
        );
    }
    assert!(stdout(&sipkit(&["transfer", "--help"])).contains("--notify-timeout"));
    assert!(stdout(&sipkit(&["transfer", "--help"])).contains("[default: 32]"));
}

#[test]
fn ua_usage_errors_exit_2() {
    let o = sipkit(&["call", "not a uri"]);
    assert_eq!(code(&o), 2);
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("not a valid URI"),
        "{o:?}"
    );
    assert_eq!(code(&sipkit(&["call", "mailto:bob@example.com"])), 2);
    assert_eq!(
        code(&sipkit(&["transfer", "sip:bob@127.0.0.1:9"])),
        2,
        "--to is required"
    );
    assert_eq!(
        code(&sipkit(&["transfer", "sip:bob@127.0.0.1:9", "--to", "x y"])),
        2
    );
    assert_eq!(code(&sipkit(&["ua", "--answer", "99"])), 2);
    assert_eq!(
        code(&sipkit(&["call", "sip:b@127.0.0.1:9", "--hold", "soon"])),
        2
    );
}

#[test]
fn ua_call_sipkit_ua_answers_and_the_call_is_hung_up() {
    let ua = start_ua(&["--calls", "1", "--duration", "20"]);
    let uri = format!("sip:sipkit@{}", ua.addr);
    let o = run(&["call", &uri, "--format", "json", "--hold", "0.2"]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    let j = json(&o);
    assert_eq!(j["final_status"], 200);
    assert_eq!(j["stopped"], "answered");
    assert_eq!(j["redirects"], Value::Array(vec![]));
    assert_eq!(j["future_requests_uri"], uri.as_str());
    assert_eq!(j["hangup"]["by"], "local");
    assert_eq!(j["hangup"]["status"], 200);
    let (rc, _) = ua.finish(20);
    assert_eq!(rc, 0);
}

#[test]
fn ua_call_text_shows_each_response_with_its_explanation() {
    let ua = start_ua(&["--answer", "486", "--calls", "1", "--duration", "20"]);
    let o = run(&["call", &format!("sip:sipkit@{}", ua.addr)]);
    assert_eq!(code(&o), 1, "a refused call exits 1");
    let text = stdout(&o);
    assert!(text.contains("← 486 Busy Here (INVITE): "), "{text}");
    let busy = sipkit_codes::explain(486, sipkit_codes::Lang::EN)
        .unwrap()
        .summary;
    assert!(
        text.contains(&busy),
        "the explanation from the code reference:\n{text}"
    );
    assert!(text.contains("result: the call failed"), "{text}");
    let o = run(&["call", &format!("sip:sipkit@{}", ua.addr), "--lang", "ru"]);
    let ru = sipkit_codes::explain(486, sipkit_codes::Lang::RU)
        .unwrap()
        .summary;
    assert!(stdout(&o).contains(&ru), "{}", stdout(&o));
}

#[test]
fn ua_explanations_are_the_text_of_sipkit_explain() {
    let ua = start_ua(&["--answer", "486", "--calls", "1", "--duration", "20"]);
    let o = run(&["call", &format!("sip:sipkit@{}", ua.addr), "--lang", "ru"]);
    let text = stdout(&o);
    let line = text
        .lines()
        .find(|l| l.contains("← 486 "))
        .unwrap_or_else(|| panic!("{text}"));
    let (_, said) = line.split_once("(INVITE): ").unwrap();
    let explain = json(&sipkit(&[
        "explain", "486", "--lang", "ru", "--format", "json",
    ]));
    assert_eq!(
        said,
        explain["summary"].as_str().unwrap(),
        "the same text as sipkit explain"
    );
}

#[test]
fn ua_prints_the_knowledge_base_sentences_in_russian() {
    // The UA's and the caller's own lines come from the [agent] table of ru.toml.
    let ua = start_ua(&["--calls", "1", "--duration", "20", "--lang", "ru"]);
    let o = run(&["call", &format!("sip:sipkit@{}", ua.addr), "--lang", "ru"]);
    assert_eq!(code(&o), 0);
    let text = stdout(&o);
    let say =
        |k: &str, args: &[(&str, &str)]| sipkit_codes::agent_text(sipkit_codes::Lang::RU, k, args);
    assert!(text.contains("итог: ответ 200 OK на "), "{text}");
    assert!(
        text.contains(&say("rule_none", &[])),
        "the future-calls rule:\n{text}"
    );
    let (rc, out) = ua.finish(20);
    assert_eq!(rc, 0, "{out}");
    assert!(out.contains("установлен (пришёл ACK)"), "{out}");
    assert!(out.contains("остановлен (calls)"), "{out}");
}

#[test]
fn ua_answer_delay_rings_first() {
    let ua = start_ua(&["--answer-delay", "0.5", "--calls", "1", "--duration", "20"]);
    let o = run(&["call", &format!("sip:sipkit@{}", ua.addr)]);
    assert_eq!(code(&o), 0);
    let text = stdout(&o);
    let ring = text.find("← 180 Ringing").expect("180 first");
    let ok = text.find("← 200 OK (INVITE)").expect("then 200");
    assert!(ring < ok, "{text}");
    drop(ua);
}

#[test]
fn ua_transfer_between_three_sipkit_uas() {
    transfer_between_three_sipkit_uas(&[], 200);
}

#[test]
fn ua_transfer_between_three_sipkit_uas_with_a_legacy_202() {
    transfer_between_three_sipkit_uas(&["--refer-response", "202"], 202);
}

/// Bob is transferred to Carol; both are `sipkit ua`. Bob accepts the
/// REFER with `status` (200 by default, RFC 7647 §5).
fn transfer_between_three_sipkit_uas(bob_args: &[&str], status: i64) {
    let carol = start_ua(&["--hangup-after", "0.5", "--duration", "20"]);
    let mut args = vec!["--calls", "1", "--duration", "20", "--format", "json"];
    args.extend_from_slice(bob_args);
    let bob = start_ua(&args);
    let target = format!("sip:carol@{}", carol.addr);
    let o = run(&[
        "transfer",
        &format!("sip:bob@{}", bob.addr),
        "--to",
        &target,
        "--notify-timeout",
        "10",
        "--format",
        "json",
    ]);
    let j = json(&o);
    assert_eq!(code(&o), 0, "{j:#}");
    assert_eq!(j["refer_status"], status);
    assert_eq!(j["outcome"], "transferred");
    assert_eq!(j["refer_sub"], true);
    let frags: Vec<i64> = j["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["sipfrag_status"].as_i64().unwrap())
        .collect();
    assert_eq!(frags, [100, 200]);
    assert_eq!(j["notifications"][0]["subscription_state"], "active");
    assert_eq!(j["notifications"][1]["subscription_state"], "terminated");
    assert_eq!(j["notifications"][1]["reason"], "noresource");
    let (rc, out) = bob.finish(20);
    assert_eq!(rc, 0, "{out}");
    let doc: String = out
        .lines()
        .take_while(|l| !l.starts_with('['))
        .collect::<Vec<_>>()
        .join("\n");
    let b: Value = serde_json::from_str(&doc).unwrap_or_else(|e| panic!("{e}: {out}"));
    let calls = b["calls"].as_array().unwrap();
    assert_eq!(calls.len(), 2, "{b:#}");
    assert_eq!(calls[0]["transfer"]["refer_to"], target.as_str());
    assert_eq!(calls[0]["transfer"]["refer_status"], status);
    assert_eq!(
        calls[0]["transfer"]["notified"],
        serde_json::json!([100, 200])
    );
    assert!(
        calls[1]["referred_by"]
            .as_str()
            .unwrap()
            .contains("sip:sipkit@127.0.0.1"),
        "{b:#}"
    );
    drop(carol);
}

#[test]
fn ua_transfer_with_refer_sub_false_asked_and_granted() {
    let carol = start_ua(&["--hangup-after", "0.3", "--duration", "20"]);
    let bob = start_ua(&["--duration", "20"]);
    let o = run(&[
        "transfer",
        &format!("sip:bob@{}", bob.addr),
        "--to",
        &format!("sip:carol@{}", carol.addr),
        "--no-refer-sub",
        "--format",
        "json",
    ]);
    let j = json(&o);
    assert_eq!(code(&o), 1, "the outcome is unknown: {j:#}");
    assert_eq!(j["outcome"], "no_notify");
    assert_eq!(j["diagnosis_code"], "subscription_refused");
    assert_eq!(j["refer_sub"], false);
    assert!(
        j["diagnosis"].as_str().unwrap().contains("as asked"),
        "{j:#}"
    );
}

// ----------------------------------------------------------- with SIPp

#[test]
fn ua_sipp_call_follows_302_and_keeps_the_original_uri() {
    let Some(sipp) = sipp() else { return };
    let (rp, tp) = (free_port(), free_port());
    let target = format!("sip:bob@127.0.0.1:{tp}");
    let redirect = start_sipp(&sipp, "redirect_302.xml", rp, &["-set", "target", &target]);
    let uas = start_sipp_uas(&sipp, tp);
    settle();
    let original = format!("sip:bob@127.0.0.1:{rp}");
    let o = run(&["call", &original, "--format", "json"]);
    let j = json(&o);
    assert_eq!(code(&o), 0, "{j:#}");
    assert_eq!(j["original_uri"], original.as_str());
    assert_eq!(j["final_uri"], target.as_str());
    assert_eq!(j["final_status"], 200);
    assert_eq!(j["redirects"][0]["status"], 302);
    assert_eq!(j["redirects"][0]["contacts"][0]["uri"], target.as_str());
    assert_eq!(
        j["future_requests_uri"],
        original.as_str(),
        "302 keeps the original URI"
    );
    assert_eq!(j["permanent_address"], Value::Null);
    // Same Call-ID, higher CSeq (RFC 3261 §8.1.3.4).
    assert_eq!(j["attempts"][0]["cseq"], 1);
    assert_eq!(j["attempts"][1]["cseq"], 2);
    let (rc, out) = redirect.finish(30);
    assert_eq!(rc, 0, "the 302 stand-in got its ACK:\n{out}");
    let (rc, out) = uas.finish(30);
    assert_eq!(rc, 0, "the target got INVITE, ACK and BYE:\n{out}");
}

#[test]
fn ua_sipp_call_text_says_future_calls_go_to_the_original() {
    let Some(sipp) = sipp() else { return };
    let (rp, tp) = (free_port(), free_port());
    let redirect = start_sipp(
        &sipp,
        "redirect_302.xml",
        rp,
        &["-set", "target", &format!("sip:bob@127.0.0.1:{tp}")],
    );
    let uas = start_sipp_uas(&sipp, tp);
    settle();
    let o = run(&["call", &format!("sip:bob@127.0.0.1:{rp}")]);
    assert_eq!(code(&o), 0);
    let text = stdout(&o);
    assert!(
        text.contains("← 302 Moved Temporarily (INVITE): "),
        "{text}"
    );
    assert!(
        text.contains(&format!("future calls go to: sip:bob@127.0.0.1:{rp}")),
        "{text}"
    );
    assert!(text.contains("keep the original URI"), "{text}");
    drop((redirect, uas));
}

#[test]
fn ua_sipp_call_301_updates_the_address_book() {
    let Some(sipp) = sipp() else { return };
    let (rp, tp) = (free_port(), free_port());
    let new = format!("sip:bob@127.0.0.1:{tp}");
    let redirect = start_sipp(&sipp, "redirect_301.xml", rp, &["-set", "target", &new]);
    let uas = start_sipp_uas(&sipp, tp);
    settle();
    let book = std::env::temp_dir().join(format!("sipkit-ua-book-{}-{rp}", std::process::id()));
    let original = format!("sip:bob@127.0.0.1:{rp}");
    std::fs::write(
        &book,
        format!("# test book\nbob {original}\nalice sip:alice@127.0.0.1:9\n"),
    )
    .unwrap();
    let o = run(&[
        "call",
        "bob",
        "--book",
        book.to_str().unwrap(),
        "--update",
        "--format",
        "json",
    ]);
    let j = json(&o);
    assert_eq!(code(&o), 0, "{j:#}");
    assert_eq!(j["redirects"][0]["status"], 301);
    assert_eq!(
        j["future_requests_uri"],
        new.as_str(),
        "301 replaces the URI"
    );
    assert_eq!(j["permanent_address"], new.as_str());
    let text = std::fs::read_to_string(&book).unwrap();
    assert_eq!(
        text,
        format!("# test book\nbob {new}\nalice sip:alice@127.0.0.1:9\n")
    );
    let _ = std::fs::remove_file(&book);
    assert_eq!(redirect.finish(30).0, 0);
    assert_eq!(uas.finish(30).0, 0);
}

#[test]
fn ua_sipp_call_stops_on_a_redirect_loop() {
    let Some(sipp) = sipp() else { return };
    let (a, b) = (free_port(), free_port());
    let ra = start_sipp(
        &sipp,
        "redirect_302.xml",
        a,
        &["-set", "target", &format!("sip:bob@127.0.0.1:{b}")],
    );
    let rb = start_sipp(
        &sipp,
        "redirect_302.xml",
        b,
        &["-set", "target", &format!("sip:bob@127.0.0.1:{a}")],
    );
    settle();
    let o = run(&[
        "call",
        &format!("sip:bob@127.0.0.1:{a}"),
        "--format",
        "json",
    ]);
    let j = json(&o);
    assert_eq!(code(&o), 1, "{j:#}");
    assert_eq!(j["stopped"], "loop");
    assert_eq!(j["final_status"], 302);
    assert_eq!(j["redirects"].as_array().unwrap().len(), 2);
    assert_eq!(
        j["redirects"][1]["looped"][0],
        format!("sip:bob@127.0.0.1:{a}").as_str()
    );
    assert_eq!(
        j["attempts"].as_array().unwrap().len(),
        2,
        "the original is not called again"
    );
    assert_eq!(ra.finish(30).0, 0);
    assert_eq!(rb.finish(30).0, 0);
}

#[test]
fn ua_sipp_call_max_redirects() {
    let Some(sipp) = sipp() else { return };
    let (a, b) = (free_port(), free_port());
    let ra = start_sipp(
        &sipp,
        "redirect_302.xml",
        a,
        &["-set", "target", &format!("sip:bob@127.0.0.1:{b}")],
    );
    settle();
    let o = run(&[
        "call",
        &format!("sip:bob@127.0.0.1:{a}"),
        "--max-redirects",
        "0",
        "--format",
        "json",
    ]);
    let j = json(&o);
    assert_eq!(code(&o), 1);
    assert_eq!(j["stopped"], "max_redirects");
    assert_eq!(j["redirects"][0]["followed"], false);
    assert_eq!(ra.finish(30).0, 0);
}

#[test]
fn ua_sipp_call_through_sipkit_serve_redirect() {
    let Some(sipp) = sipp() else { return };
    let server = crate::serve::Server::start(":memory:", &[]);
    // A SIPp phone registers its contact, then answers on that port.
    let phone = free_port();
    let out = Command::new("timeout")
        .args(["60", sipp.to_str().unwrap()])
        .args([
            "-sf",
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../testdata/sipp/register_keep.xml")
                .to_str()
                .unwrap(),
        ])
        .arg(server.udp.to_string())
        .args([
            "-i",
            "127.0.0.1",
            "-p",
            &phone.to_string(),
            "-s",
            "uaphone",
            "-m",
            "1",
            "-t",
            "u1",
        ])
        .args(["-timeout", "20", "-timeout_error", "-nostdin"])
        .stdin(Stdio::null())
        .output()
        .expect("running sipp");
    assert_eq!(
        out.status.code(),
        Some(0),
        "REGISTER:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let uas = start_sipp_uas(&sipp, phone);
    settle();
    let aor = format!("sip:uaphone@{}", server.udp);
    let o = run(&["call", &aor, "--format", "json"]);
    let j = json(&o);
    assert_eq!(code(&o), 0, "{j:#}");
    assert_eq!(j["redirects"][0]["status"], 302);
    assert!(
        j["final_uri"]
            .as_str()
            .unwrap()
            .ends_with(&format!("@127.0.0.1:{phone}")),
        "{j:#}"
    );
    assert_eq!(
        j["future_requests_uri"],
        aor.as_str(),
        "the AOR stays the address for future calls"
    );
    assert_eq!(uas.finish(30).0, 0);
}

/// `file` is a name in testdata/sipp/ua, or an absolute path.
fn sipp_transfer(file: &str, notify_timeout: &str) -> (i32, Value, String) {
    let sipp = sipp().expect("checked by the caller");
    let port = free_port();
    let peer = start_sipp(
        &sipp,
        file,
        port,
        &["-trace_logs", "-log_file", "/dev/stdout"],
    );
    settle();
    let o = run(&[
        "transfer",
        &format!("sip:bob@127.0.0.1:{port}"),
        "--to",
        "sip:carol@127.0.0.1:9",
        "--notify-timeout",
        notify_timeout,
        "--format",
        "json",
    ]);
    let j = json(&o);
    let (rc, out) = peer.finish(40);
    assert_eq!(rc, 0, "SIPp {file} failed:\n{out}");
    (code(&o), j, out)
}

/// `sipkit transfer` takes 200 (RFC 7647 §5) and 202 (RFC 3515) alike:
/// transferee_notify.xml answers the REFER with 202, and a copy of it made
/// here with 200.
fn sipp_transfer_accepted_and_notifies(status: i64) {
    let file = if status == 202 {
        scenario("transferee_notify.xml")
    } else {
        let text = std::fs::read_to_string(scenario("transferee_notify.xml")).unwrap();
        assert!(text.contains("SIP/2.0 202 Accepted"));
        let path = std::env::temp_dir().join(format!(
            "sipkit-transferee-notify-200-{}.xml",
            std::process::id()
        ));
        std::fs::write(
            &path,
            text.replace("SIP/2.0 202 Accepted", "SIP/2.0 200 OK"),
        )
        .unwrap();
        path
    };
    let (rc, j, log) = sipp_transfer(file.to_str().unwrap(), "10");
    if status != 202 {
        let _ = std::fs::remove_file(&file);
    }
    assert_eq!(rc, 0, "{j:#}");
    assert_eq!(j["refer_status"], status);
    assert_eq!(j["refer_sub"], true);
    assert_eq!(j["outcome"], "transferred");
    assert_eq!(j["diagnosis_code"], "transferred");
    assert_eq!(j["notifications"][0]["sipfrag_status"], 100);
    assert_eq!(j["notifications"][0]["subscription_state"], "active");
    assert_eq!(j["notifications"][1]["sipfrag_status"], 200);
    assert_eq!(j["notifications"][1]["subscription_state"], "terminated");
    assert_eq!(
        j["hangup"]["by"], "local",
        "RFC 5589: the transferor ends its dialog"
    );
    assert!(
        log.contains("REFER Refer-To sip:carol@127.0.0.1:9 Referred-By sip:sipkit@127.0.0.1"),
        "{log}"
    );
}

#[test]
fn ua_sipp_transfer_200_and_notifies() {
    if sipp().is_none() {
        return;
    }
    sipp_transfer_accepted_and_notifies(200);
}

#[test]
fn ua_sipp_transfer_202_and_notifies() {
    if sipp().is_none() {
        return;
    }
    sipp_transfer_accepted_and_notifies(202);
}

#[test]
fn ua_sipp_transfer_no_notify_is_diagnosed() {
    if sipp().is_none() {
        return;
    }
    let (rc, j, _) = sipp_transfer("transferee_silent.xml", "2");
    assert_eq!(rc, 1);
    assert_eq!(j["refer_status"], 202);
    assert_eq!(j["outcome"], "no_notify");
    assert_eq!(j["diagnosis_code"], "no_notify");
    assert_eq!(j["notifications"], Value::Array(vec![]));
    let d = j["diagnosis"].as_str().unwrap();
    assert!(
        d.contains("within 2 s") && d.contains("reachable") && d.contains("NAT"),
        "{d}"
    );
}

#[test]
fn ua_sipp_transfer_refer_rejected() {
    if sipp().is_none() {
        return;
    }
    let (rc, j, _) = sipp_transfer("transferee_reject.xml", "5");
    assert_eq!(rc, 1);
    assert_eq!(j["refer_status"], 603);
    assert_eq!(j["outcome"], "refer_rejected");
    assert!(
        j["diagnosis"].as_str().unwrap().contains("603 Decline"),
        "{j:#}"
    );
}

#[test]
fn ua_sipp_transfer_notify_with_a_failure() {
    if sipp().is_none() {
        return;
    }
    let (rc, j, _) = sipp_transfer("transferee_failed.xml", "5");
    assert_eq!(rc, 1);
    assert_eq!(j["outcome"], "failed");
    assert_eq!(j["diagnosis_code"], "new_call_failed");
    assert_eq!(j["notifications"][1]["sipfrag_status"], 486);
}

#[test]
fn ua_sipp_transfer_refused_subscription() {
    if sipp().is_none() {
        return;
    }
    let (rc, j, _) = sipp_transfer("transferee_norefersub.xml", "5");
    assert_eq!(rc, 1);
    assert_eq!(j["outcome"], "no_notify");
    assert_eq!(j["diagnosis_code"], "subscription_refused");
    assert_eq!(j["refer_sub"], false);
}

#[test]
fn ua_sipp_transferor_moves_the_call_to_a_target_that_sees_referred_by() {
    let Some(sipp) = sipp() else { return };
    transferor_moves_the_call(&sipp, &[], 200);
}

#[test]
fn ua_sipp_transferor_gets_a_legacy_202_when_asked_for() {
    let Some(sipp) = sipp() else { return };
    transferor_moves_the_call(&sipp, &["--refer-response", "202"], 202);
}

/// SIPp transfers a call to `sipkit ua` (started with `ua_extra`) to a SIPp
/// target; the REFER is answered with `status`.
fn transferor_moves_the_call(sipp: &Path, ua_extra: &[&str], status: u16) {
    let mut args = vec![
        "--hangup-after",
        "0.5",
        "--calls",
        "1",
        "--duration",
        "30",
        "--format",
        "json",
    ];
    args.extend_from_slice(ua_extra);
    let ua = start_ua(&args);
    let carol_port = free_port();
    let carol = start_sipp(
        sipp,
        "target_referred_by.xml",
        carol_port,
        &["-trace_logs", "-log_file", "/dev/stdout"],
    );
    let alice_port = free_port();
    let errors = std::env::temp_dir().join(format!(
        "sipkit-ua-transferor-{}-{alice_port}.log",
        std::process::id()
    ));
    settle();
    let alice = Command::new("timeout")
        .args(["60", sipp.to_str().unwrap()])
        .args(["-sf", scenario("transferor.xml").to_str().unwrap()])
        .arg(ua.addr.to_string())
        .args([
            "-i",
            "127.0.0.1",
            "-p",
            &alice_port.to_string(),
            "-s",
            "sipkit",
            "-m",
            "1",
        ])
        .args([
            "-set",
            "refer_to",
            &format!("sip:carol@127.0.0.1:{carol_port}"),
        ])
        .args([
            "-timeout",
            "40",
            "-timeout_error",
            "-nostdin",
            "-trace_err",
            "-trace_logs",
            "-log_file",
            "/dev/stdout",
            "-error_file",
        ])
        .arg(&errors)
        .stdin(Stdio::null())
        .output()
        .expect("running sipp");
    let unexpected = std::fs::read_to_string(&errors).unwrap_or_default();
    let _ = std::fs::remove_file(&errors);
    if alice.status.code() != Some(0) {
        let (_, ua_out) = ua.finish(30);
        panic!(
            "the transferor (SIPp, exit {:?}) should see {status}, NOTIFY 100 (active), NOTIFY 200 (terminated) and BYE:\n{}\n{unexpected}\nsipkit ua:\n{ua_out}",
            alice.status.code(),
            String::from_utf8_lossy(&alice.stdout)
        );
    }
    let alice_log = String::from_utf8_lossy(&alice.stdout);
    assert!(
        alice_log.contains(&format!("REFER answered {status}")),
        "{alice_log}"
    );
    let (rc, log) = carol.finish(30);
    assert_eq!(rc, 0, "the target got the INVITE with Referred-By:\n{log}");
    assert!(
        log.contains(&format!("Referred-By sip:alice@127.0.0.1:{alice_port}")),
        "{log}"
    );
    let (rc, out) = ua.finish(30);
    assert_eq!(rc, 0, "{out}");
    assert!(
        out.contains("\"notified\": [\n") && out.contains("\"new_call_status\": 200"),
        "{out}"
    );
    assert!(
        out.contains(&format!("\"refer_status\": {status}")),
        "{out}"
    );
}

#[test]
fn ua_registers_to_sipkit_serve_and_is_called_through_its_redirect() {
    let server = crate::serve::Server::start(":memory:", &[]);
    let registrar = format!("sip:{}", server.udp);
    let ua = start_ua(&[
        "--user",
        "alice",
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
    // Wait for the registration to land.
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
    let o = run(&["call", &aor, "--format", "json"]);
    let j = json(&o);
    assert_eq!(code(&o), 0, "{j:#}");
    assert_eq!(j["redirects"][0]["status"], 302);
    assert_eq!(
        j["final_uri"],
        format!("sip:alice@{}", ua.addr).as_str(),
        "the registered Contact"
    );
    assert_eq!(j["future_requests_uri"], aor.as_str());
    let (rc, out) = ua.finish(20);
    assert_eq!(rc, 0, "{out}");
    let doc: String = out
        .lines()
        .take_while(|l| !l.starts_with('['))
        .collect::<Vec<_>>()
        .join("\n");
    let r: Value = serde_json::from_str(&doc).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(r["registration"]["status"], 200, "{r:#}");
    assert_eq!(r["registration"]["expires"], 120);
    assert_eq!(
        r["registration"]["unregister_status"], 200,
        "un-REGISTER at exit"
    );
}

#[test]
fn ua_sipp_second_2xx_from_another_fork_is_acked_and_ended() {
    let Some(sipp) = sipp() else { return };
    let port = free_port();
    let peer = start_sipp(&sipp, "fork_two_2xx.xml", port, &[]);
    settle();
    let o = run(&[
        "call",
        &format!("sip:bob@127.0.0.1:{port}"),
        "--hold",
        "0.5",
        "--format",
        "json",
    ]);
    let j = json(&o);
    assert_eq!(code(&o), 0, "{j:#}");
    assert_eq!(j["hangup"]["status"], 200);
    let (rc, out) = peer.finish(30);
    assert_eq!(
        rc, 0,
        "SIPp saw ACK for both 2xx, BYE for the second at once, then BYE for the first:\n{out}"
    );
}

#[test]
fn ua_ring_timeout_cancels_and_the_ua_answers_487() {
    let ua = start_ua(&["--answer", "180", "--calls", "1", "--duration", "20"]);
    let o = run(&[
        "call",
        &format!("sip:x@{}", ua.addr),
        "--ring-timeout",
        "0.5",
        "--format",
        "json",
    ]);
    let j = json(&o);
    assert_eq!(code(&o), 1, "{j:#}");
    assert_eq!(
        j["final_status"], 487,
        "RFC 3261 §9.2: CANCEL ends the INVITE with 487"
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("sent CANCEL"));
    let (rc, out) = ua.finish(20);
    assert_eq!(rc, 0);
    assert!(
        out.contains("→ 200 OK (CANCEL)") && out.contains("→ 487 Request Terminated (INVITE)"),
        "{out}"
    );
}

#[test]
fn ua_sipkit_serve_never_answers_refer_with_202() {
    // RFC 7647 §5: 202 is deprecated for REFER. The redirect server answers
    // a REFER like any request it redirects, and 481 inside a dialog.
    use crate::serve::{status, Client, Server};
    let server = Server::start(":memory:", &[]);
    let c = Client::new(server.udp);
    let register = "REGISTER sip:127.0.0.1 SIP/2.0\n\
Via: SIP/2.0/UDP 127.0.0.1:PORT;branch=z9hG4bK-refer-r1;rport\n\
Max-Forwards: 70\n\
From: <sip:bob@example.com>;tag=r1\n\
To: <sip:bob@example.com>\n\
Call-ID: refer-reg\n\
CSeq: 1 REGISTER\n\
Contact: <sip:bob@192.0.2.20:5070>\n\
Expires: 600\n\
Content-Length: 0\n\n";
    assert_eq!(status(&c.ask(register)), 200);
    let refer = |user: &str, branch: &str, to_tag: &str| {
        format!(
            "REFER sip:{user}@example.com SIP/2.0\n\
Via: SIP/2.0/UDP 127.0.0.1:PORT;branch=z9hG4bK-{branch}\n\
Max-Forwards: 70\n\
From: <sip:alice@example.net>;tag=a-{branch}\n\
To: <sip:{user}@example.com>{to_tag}\n\
Call-ID: refer-{branch}\n\
CSeq: 1 REFER\n\
Contact: <sip:alice@127.0.0.1:PORT>\n\
Refer-To: <sip:carol@example.com>\n\
Content-Length: 0\n\n"
        )
    };
    let cases = [
        ("bob", "rf1", "", 302),
        ("nobody", "rf2", "", 404),
        ("bob", "rf3", ";tag=b1", 481),
    ];
    for (user, branch, tag, want) in cases {
        let r = c.ask(&refer(user, branch, tag));
        assert_eq!(status(&r), want, "{r}");
        assert_ne!(status(&r), 202, "{r}");
    }
}

// ------------------------------------------------ digest (RFC 3261 §22)

/// `sipkit ua --register` against SIPp as a registrar that challenges and
/// checks the answer with `<verifyauth>`: the right password (here from
/// SIPKIT_PASSWORD) registers, refreshes nothing in 1 s and un-registers.
#[test]
fn ua_sipp_registrar_digest_verifies_the_password() {
    let Some(sipp) = sipp() else { return };
    let port = free_port();
    let registrar = start_sipp(
        &sipp,
        "registrar_digest.xml",
        port,
        &["-set", "user", "alice", "-set", "password", "s3cret"],
    );
    settle();
    let uri = format!("sip:127.0.0.1:{port}");
    let o = crate::util::sipkit_env(
        &[
            "ua",
            "--listen",
            "udp:127.0.0.1:0",
            "--register",
            &uri,
            "--user",
            "alice",
            "--duration",
            "1",
            "--format",
            "json",
        ],
        &[("SIPKIT_PASSWORD", "s3cret")],
    );
    let j = json(&o);
    assert_eq!(code(&o), 0, "{j:#}");
    let r = &j["registration"];
    assert_eq!(r["status"], 200, "SIPp's verifyauth accepted it: {j:#}");
    assert_eq!(r["expires"], 60);
    assert_eq!(r["unregister_status"], 200);
    assert_eq!(r["auth"]["outcome"], "authenticated");
    assert_eq!(r["auth"]["algorithm"], "MD5");
    assert_eq!(r["auth"]["realm"], "sipp.test");
    assert_eq!(r["auth"]["challenges"], 1);
    let (rc, out) = registrar.finish(30);
    assert_eq!(
        rc, 0,
        "the registrar saw REGISTER, the answer and the un-REGISTER:\n{out}"
    );
}

/// A wrong password (from --password-file): SIPp's verifyauth refuses it
/// with 403, and the UA reports `auth_failed` with the explanation of 403.
#[test]
fn ua_sipp_registrar_digest_wrong_password_is_auth_failed() {
    let Some(sipp) = sipp() else { return };
    let port = free_port();
    let registrar = start_sipp(
        &sipp,
        "registrar_digest.xml",
        port,
        &["-set", "user", "alice", "-set", "password", "s3cret"],
    );
    settle();
    let dir = std::env::temp_dir().join(format!("sipkit-pw-{port}"));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("password");
    std::fs::write(&file, "not-it\n").unwrap();
    let uri = format!("sip:127.0.0.1:{port}");
    let o = run(&[
        "ua",
        "--register",
        &uri,
        "--user",
        "alice",
        "--password-file",
        file.to_str().unwrap(),
        "--duration",
        "1",
    ]);
    let _ = std::fs::remove_dir_all(&dir);
    let out = stdout(&o);
    assert_eq!(
        code(&o),
        1,
        "a registration refused for the password fails:\n{out}"
    );
    let explain = sipkit(&["explain", "403", "--format", "json"]);
    let summary = json(&explain)["summary"].as_str().unwrap().to_owned();
    let line = out
        .lines()
        .find(|l| l.contains("auth_failed: 403 Forbidden to REGISTER"))
        .unwrap_or_else(|| panic!("no auth_failed line:\n{out}"));
    assert!(line.contains(&summary), "{line}");
    assert_eq!(
        out.matches("→ REGISTER").count(),
        2,
        "exactly one retry:\n{out}"
    );
    let (rc, out) = registrar.finish(30);
    assert_eq!(rc, 0, "{out}");
}

/// `sipkit call --user --password` against SIPp as a UAS that answers the
/// INVITE with 401 and checks the new INVITE (CSeq 2) with `<verifyauth>`.
#[test]
fn ua_sipp_call_answers_the_uas_challenge() {
    let Some(sipp) = sipp() else { return };
    let port = free_port();
    let uas = start_sipp(
        &sipp,
        "uas_digest.xml",
        port,
        &["-set", "user", "alice", "-set", "password", "s3cret"],
    );
    settle();
    let uri = format!("sip:bob@127.0.0.1:{port}");
    let o = run(&[
        "call",
        &uri,
        "--user",
        "alice",
        "--password",
        "s3cret",
        "--format",
        "json",
    ]);
    let j = json(&o);
    assert_eq!(code(&o), 0, "{j:#}");
    assert_eq!(j["final_status"], 200);
    assert_eq!(j["attempts"][0]["status"], 401);
    assert_eq!(j["attempts"][1]["cseq"], 2);
    assert_eq!(j["auth"]["outcome"], "authenticated");
    let (rc, out) = uas.finish(30);
    assert_eq!(
        rc, 0,
        "the UAS verified the answer, got ACK and BYE:\n{out}"
    );
}

/// The same with a wrong password: 403, `auth_failed`, exit status 1.
#[test]
fn ua_sipp_call_wrong_password_is_auth_failed() {
    let Some(sipp) = sipp() else { return };
    let port = free_port();
    let uas = start_sipp(
        &sipp,
        "uas_digest.xml",
        port,
        &["-set", "user", "alice", "-set", "password", "s3cret"],
    );
    settle();
    let uri = format!("sip:bob@127.0.0.1:{port}");
    let o = run(&[
        "call",
        &uri,
        "--user",
        "alice",
        "--password",
        "nope",
        "--format",
        "json",
    ]);
    let j = json(&o);
    assert_eq!(code(&o), 1, "{j:#}");
    assert_eq!(j["stopped"], "auth_failed");
    assert_eq!(j["final_status"], 403);
    assert_eq!(j["auth"]["outcome"], "auth_failed");
    assert_eq!(j["attempts"].as_array().unwrap().len(), 2);
    let (rc, out) = uas.finish(30);
    assert_eq!(rc, 0, "{out}");
}

#[test]
fn ua_password_file_that_cannot_be_read_is_a_usage_error() {
    let o = run(&[
        "call",
        "sip:bob@127.0.0.1:9",
        "--password-file",
        "/nonexistent/sipkit-password",
    ]);
    assert_eq!(code(&o), 2);
    assert!(String::from_utf8_lossy(&o.stderr).contains("password file"));
}
