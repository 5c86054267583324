//! Running the binary and comparing with snapshot files.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

/// `sipkit ARGS` with a clean, deterministic environment: no locale, no
/// colour, 80 columns.
pub fn sipkit(args: &[&str]) -> Output {
    sipkit_env(args, &[])
}

/// Like `sipkit`, with extra environment variables.
pub fn sipkit_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sipkit"));
    cmd.args(args)
        .env_remove("LANG")
        .env_remove("LC_ALL")
        .env_remove("LC_MESSAGES")
        .env("NO_COLOR", "1")
        .env("COLUMNS", "80")
        .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("running the sipkit binary")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("stdout is UTF-8")
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).expect("stderr is UTF-8")
}

/// Compares `actual` with `tests/snapshots/NAME`; with `SIPKIT_BLESS=1` in
/// the environment, writes it instead.
pub fn snapshot(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(name);
    if std::env::var_os("SIPKIT_BLESS").is_some() {
        std::fs::write(&path, actual).expect("writing the snapshot");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run with SIPKIT_BLESS=1 to create it)",
            path.display()
        )
    });
    if expected != actual {
        let first = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(expected.lines().count().min(actual.lines().count()));
        panic!(
            "snapshot {name} differs at line {}:\n  expected: {:?}\n  actual:   {:?}\n(run with SIPKIT_BLESS=1 to accept)",
            first + 1,
            expected.lines().nth(first),
            actual.lines().nth(first)
        );
    }
}

/// SIPp (Debian package sip-tester), which drives the interop scenarios in
/// testdata/sipp. Missing SIPp fails the test when the `CI` variable is set
/// and is reported as skipped elsewhere.
pub fn sipp() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join("sipp"))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "sipp is not installed (apt-get install sip-tester); scripts/setup installs it"
        );
        eprintln!("SKIPPED: sipp is not installed (apt-get install sip-tester); the SIPp interop tests did not run");
    }
    found
}

/// A port free on loopback for both UDP and TCP (a peer such as SIPp binds
/// it over either): bound and released, for the peer to bind next. A port
/// the kernel hands out for UDP may be a TCP connection's local port at the
/// same moment (the ephemeral range is shared), so both are checked.
pub fn free_port() -> u16 {
    for _ in 0..100 {
        let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = udp.local_addr().unwrap().port();
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no port free for both UDP and TCP in 100 tries")
}

/// A peer tool on PATH (`name`, from Debian package `package`). Missing, it
/// fails the test when the `CI` variable is set (scripts/setup installs it)
/// and is reported and skipped elsewhere.
pub fn tool(name: &str, package: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(name))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{name} is not installed (apt-get install {package}); scripts/setup installs it"
        );
        println!("skipped: {name} is not installed (apt-get install {package})");
    }
    found
}
