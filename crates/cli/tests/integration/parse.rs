//! `sipkit parse`: valid messages show their structure, broken ones their
//! error as FILE:LINE:COL with exit status 1.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use crate::util::{sipkit, snapshot, stderr, stdout};

fn fixture(rel: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata")
        .join(rel)
        .to_string_lossy()
        .into_owned()
}

/// `sipkit ARGS` with `input` on standard input.
fn sipkit_stdin(args: &[&str], input: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sipkit"))
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running the sipkit binary");
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(input)
        .expect("writing stdin");
    child.wait_with_output().expect("waiting for sipkit")
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_str(&stdout(o)).unwrap_or_else(|e| panic!("{e}: {}", stdout(o)))
}

#[test]
fn parse_invite_text_snapshot() {
    let o = sipkit(&["parse", &fixture("messages/invite-sdp.sip")]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).is_empty());
    snapshot("parse_invite_sdp.txt", &stdout(&o));
}

#[test]
fn parse_notify_shows_the_sipfrag_status_line() {
    let o = sipkit(&["parse", &fixture("messages/notify-sipfrag.sip")]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("body: 16 bytes, message/sipfrag\n  sipfrag: SIP/2.0 200 OK\n"),
        "{out}"
    );
    assert!(out.contains("= package refer, id 93809824"), "{out}");
    assert!(
        out.contains("= state terminated, reason noresource"),
        "{out}"
    );
}

#[test]
fn parse_302_json() {
    let o = sipkit(&[
        "parse",
        "--format",
        "json",
        &fixture("messages/302-two-contacts.sip"),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json(&o);
    assert_eq!(v["kind"], "response");
    assert_eq!(v["status"], 302);
    assert_eq!(v["reason"], "Moved Temporarily");
    let contacts: Vec<_> = v["headers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["name"] == "Contact")
        .collect();
    assert_eq!(contacts.len(), 2);
    assert_eq!(contacts[0]["parsed"][0]["q"], 0.7);
    assert_eq!(contacts[0]["parsed"][0]["expires"], 3600);
    assert_eq!(contacts[1]["parsed"][0]["display"], "Bob (mobile)");
    assert_eq!(contacts[1]["parsed"][0]["uri"]["params"]["user"], "phone");
    let via = &v["headers"][0]["parsed"][0];
    assert_eq!(via["transport"], "UDP");
    assert_eq!(via["received"], "192.0.2.10");
    assert_eq!(v["body"]["length"], 0);
    snapshot("parse_302_two_contacts.json", &stdout(&o));
}

#[test]
fn parse_register_json_has_auth_params() {
    let o = sipkit(&[
        "parse",
        "--format",
        "json",
        &fixture("messages/register.sip"),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json(&o);
    assert_eq!(v["kind"], "request");
    assert_eq!(v["method"], "REGISTER");
    let auth = v["headers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["name"] == "Authorization")
        .unwrap();
    assert_eq!(auth["parsed"][0]["scheme"], "Digest");
    assert_eq!(auth["parsed"][0]["params"]["realm"], "biloxi.example.com");
}

#[test]
fn invalid_message_reports_line_column_and_caret() {
    let file = fixture("messages/invalid-max-forwards.sip");
    let o = sipkit(&["parse", &file]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    let want = format!(
        "{file}:3:15: error: invalid Max-Forwards header: number out of range: expected at most 255\n  \
         Max-Forwards: 700\n                ^\n  note: a server answers 400 Bad Request\n"
    );
    assert_eq!(err, want);
    assert!(stdout(&o).is_empty());
}

#[test]
fn rfc4475_badvers_answers_505() {
    let o = sipkit(&["parse", &fixture("rfc4475/badvers.dat")]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("badvers.dat:1:34: error: unsupported SIP version SIP/7.0"),
        "{err}"
    );
    assert!(
        err.contains("note: a server answers 505 Version Not Supported"),
        "{err}"
    );
}

#[test]
fn invalid_response_is_dropped_not_answered() {
    let o = sipkit(&["parse", &fixture("rfc4475/bigcode.dat")]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("note: a receiver drops it without answering"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn invalid_json_goes_to_stdout_too() {
    let o = sipkit(&[
        "parse",
        "--format",
        "json",
        &fixture("rfc4475/mismatch01.dat"),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let v = json(&o);
    assert_eq!(v["kind"], "error");
    assert_eq!(v["line"], 6);
    assert_eq!(v["column"], 9);
    assert_eq!(v["header"], "CSeq");
    assert_eq!(v["reply"]["status"], 400);
    assert!(stderr(&o).contains("mismatch01.dat:6:9: error:"));
}

#[test]
fn stdin_with_dash() {
    let msg = std::fs::read(fixture("messages/register.sip")).unwrap();
    let o = sipkit_stdin(&["parse", "-"], &msg);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).starts_with("request REGISTER sip:registrar.biloxi.example.com SIP/2.0\n"));
    let o = sipkit_stdin(&["parse", "-"], b"OPTIONS sip:a@b SIP/2.0\nVia: x\n\n");
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).starts_with("<stdin>:1:24: error: bare LF: expected CRLF line endings\n"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn stream_frames_several_messages() {
    let mut input = b"\r\n\r\n".to_vec();
    for f in [
        "messages/invite-sdp.sip",
        "messages/302-two-contacts.sip",
        "rfc4475/mismatch01.dat",
        "messages/notify-sipfrag.sip",
    ] {
        input.extend(std::fs::read(fixture(f)).unwrap());
    }
    let o = sipkit_stdin(&["parse", "--stream", "-"], &input);
    assert_eq!(
        o.status.code(),
        Some(1),
        "mismatch01 makes the stream invalid"
    );
    let out = stdout(&o);
    let heads: Vec<_> = out.lines().filter(|l| l.starts_with('#')).collect();
    assert_eq!(heads.len(), 5, "{out}");
    assert_eq!(heads[0], "# keep-alive ping at byte 0");
    assert_eq!(heads[1], "# message at byte 4");
    assert!(
        heads[3].starts_with("# invalid message at byte "),
        "{}",
        heads[3]
    );
    assert!(stderr(&o).contains("<stdin>:"), "{}", stderr(&o));

    let o = sipkit_stdin(&["parse", "--stream", "--format", "json", "-"], &input);
    let v = json(&o);
    assert_eq!(v["kind"], "stream");
    let kinds: Vec<_> = v["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(kinds, ["ping", "request", "response", "error", "request"]);
}

#[test]
fn stream_reports_a_truncated_tail() {
    let mut input = std::fs::read(fixture("messages/register.sip")).unwrap();
    input.extend(b"OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h\r\n");
    let o = sipkit_stdin(&["parse", "--stream", "-"], &input);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).contains("# framing lost at byte 721"),
        "{}",
        stdout(&o)
    );
}

/// Issue 11: the stream was fed to a decoder in 8 KiB chunks, so a ping
/// across byte 8192 read as two pongs; the input is now framed whole.
#[test]
fn issue11_a_ping_across_8k_is_one_ping() {
    let reg = std::fs::read(fixture("messages/register.sip")).unwrap();
    assert_eq!(reg.len(), 721);
    let mut input = reg.repeat(10);
    input.extend(b"\r\n".repeat(490));
    input.extend(b"\r\n\r\n"); // bytes 8190..8194
    input.extend(&reg);
    let o = sipkit_stdin(&["parse", "--stream", "-"], &input);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    let heads: Vec<_> = out.lines().filter(|l| l.starts_with('#')).collect();
    assert_eq!(
        heads[heads.len() - 3..],
        [
            "# keep-alive ping at byte 8186",
            "# keep-alive ping at byte 8190",
            "# message at byte 8194"
        ]
    );
}

#[test]
fn missing_file_is_exit_2() {
    let o = sipkit(&["parse", "/nonexistent/sipkit-test.sip"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("reading /nonexistent/sipkit-test.sip"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn every_rfc4475_message_gets_a_verdict() {
    let dir = PathBuf::from(fixture("rfc4475"));
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "dat") {
            let o = sipkit(&["parse", p.to_str().unwrap()]);
            let code = o.status.code();
            assert!(
                code == Some(0) || code == Some(1),
                "{}: {code:?} {}",
                p.display(),
                stderr(&o)
            );
            if code == Some(1) {
                assert!(stderr(&o).contains(": error: "), "{}", p.display());
            }
        }
    }
}
