//! A binding whose REGISTER was answered 200 survives `kill -9`.
//!
//! The test re-executes this very test binary as a child process running
//! only [`writer_child`], which registers one AOR after another through a
//! `SqliteStore` and prints `ack N` after each 200. The parent reads some
//! acknowledgements, kills the child with SIGKILL while it is still writing,
//! reads whatever whole lines were printed before death, reopens the file
//! and finds every acknowledged binding.
//!
//! This proves durability across a process crash (the OS keeps what was
//! written). Durability across a power cut rests on `synchronous=FULL`,
//! checked in `store::sqlite_runs_in_wal_with_synchronous_full`, and on the
//! disk honouring fsync, which no test here can prove.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};

use sipkit_server::{register, LocationService, RegistrarConfig, SqliteStore};

use crate::util::{c, reg, TempDir, T0};

/// Set in the child's environment: the database file to write to.
const WRITER_DB: &str = "SIPKIT_SERVER_DURABILITY_WRITER_DB";
/// The child stops by itself after this many registrations.
const MAX_WRITES: u32 = 100_000;
/// The parent kills the child after reading this many acknowledgements.
const KILL_AFTER: usize = 200;

fn aor(i: u32) -> String {
    format!("sip:user{i}@example.com")
}

fn contact(i: u32) -> String {
    format!(
        "sip:user{i}@10.{}.{}.{}:5060",
        (i >> 16) & 255,
        (i >> 8) & 255,
        i & 255
    )
}

/// The writer process; a no-op in a normal test run.
#[test]
fn writer_child() {
    let Ok(path) = std::env::var(WRITER_DB) else {
        return;
    };
    let store = SqliteStore::open(&path).expect("the child opens the database");
    let cfg = RegistrarConfig::default();
    // Straight to the process's stdout, past the test harness's capture;
    // one write(2) per line, flushed before the next REGISTER.
    let mut out = std::io::stdout().lock();
    for i in 0..MAX_WRITES {
        let req = reg(
            &aor(i),
            &format!("call-{i}"),
            1,
            vec![c(&contact(i))],
            Some(3600),
        );
        let outcome = register(T0, &req, &store, &cfg);
        assert_eq!(outcome.status(), 200, "{outcome:?}");
        out.write_all(format!("ack {i}\n").as_bytes()).unwrap();
        out.flush().unwrap();
    }
}

#[cfg(unix)]
#[test]
fn kill_9_loses_no_acknowledged_binding() {
    use std::os::unix::process::ExitStatusExt;

    let dir = TempDir::new("durability");
    let path = dir.file("location.db");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "durability::writer_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(WRITER_DB, &path)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the test binary re-executes itself");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut acked = Vec::new();
    let read_acks = |stdout: &mut BufReader<_>, acked: &mut Vec<u32>, until: Option<usize>| {
        let mut line = String::new();
        while until.is_none_or(|n| acked.len() < n) {
            line.clear();
            if stdout.read_line(&mut line).unwrap() == 0 {
                return false;
            }
            // A line cut short by the kill was not acknowledged. The test
            // harness prints "test durability::writer_child ... " without a
            // newline before the first ack, so an ack may end a line.
            let tail = line.rfind("ack ").map(|i| &line[i..]).unwrap_or("");
            if let Some(n) = tail.strip_prefix("ack ").and_then(|l| l.strip_suffix('\n')) {
                acked.push(n.parse::<u32>().unwrap());
            }
        }
        true
    };
    let alive = read_acks(&mut stdout, &mut acked, Some(KILL_AFTER));
    if !alive {
        let mut err = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        panic!("the writer ended after {} acks: {err}", acked.len());
    }
    // SIGKILL, by the child's PID, while it is mid-way through its writes.
    child.kill().unwrap();
    read_acks(&mut stdout, &mut acked, None);
    let status = child.wait().unwrap();
    assert_eq!(
        status.signal(),
        Some(9),
        "the writer died of SIGKILL, not {status:?}"
    );
    assert!(acked.len() >= KILL_AFTER);
    assert!(
        acked.len() < MAX_WRITES as usize,
        "the writer finished before the kill; the test proved little"
    );

    let store = SqliteStore::open(&path).unwrap();
    for &i in &acked {
        let bindings = store.lookup(&aor(i), T0).unwrap();
        assert_eq!(
            bindings.len(),
            1,
            "acknowledged binding {i} of {} lost",
            acked.len()
        );
        assert_eq!(bindings[0].contact, contact(i));
        assert_eq!(bindings[0].call_id, format!("call-{i}"));
    }
    // At most the one REGISTER in flight at the kill may have committed
    // without its ack being printed.
    let count = store.count(T0).unwrap().bindings;
    assert!(
        count == acked.len() || count == acked.len() + 1,
        "{count} bindings for {} acks",
        acked.len()
    );
    // The recovered file takes new registrations.
    let next = acked.len() as u32 + 10;
    let out = register(
        T0,
        &reg(&aor(next), "after", 1, vec![c(&contact(next))], Some(60)),
        &store,
        &RegistrarConfig::default(),
    );
    assert_eq!(out.status(), 200);
}
