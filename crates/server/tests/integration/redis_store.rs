//! What only the Redis store promises: its layout and key expiry, the
//! compare-and-set between nodes, and behaviour when Redis goes away. The
//! shared contract runs in `store::redis` and `registrar::redis`.

use std::time::Duration;

use sipkit_server::{
    register, Change, Error, LocationService, Plan, RedisOptions, RedisStore, RegisterOutcome,
    RegistrarConfig, UnixMs,
};

use crate::util::{binding, c, free_port, reg, RedisServer, T0};

const ALICE: &str = "sip:alice@example.com";
const B: &str = "sk:{sip:alice@example.com}:b";
const X: &str = "sk:{sip:alice@example.com}:x";
const M: &str = "sk:{sip:alice@example.com}:m";

fn raw(server: &RedisServer) -> ::redis::Connection {
    ::redis::Client::open(server.url())
        .unwrap()
        .get_connection()
        .unwrap()
}

fn query<T: ::redis::FromRedisValue>(conn: &mut ::redis::Connection, args: &[&str]) -> T {
    let mut cmd = ::redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query(conn).unwrap()
}

#[test]
fn redis_layout_is_a_hash_and_a_zset_that_expire_with_the_latest_binding() {
    let Some(server) = RedisServer::start("layout") else {
        return;
    };
    let store = RedisStore::open(&server.url()).unwrap();
    store
        .apply(
            ALICE,
            T0,
            &[
                Change::Upsert(binding("sip:alice@h1", T0, 60)),
                Change::Upsert(binding("sip:alice@h2", T0, 600)),
            ],
        )
        .unwrap();
    let mut r = raw(&server);
    assert_eq!(query::<String>(&mut r, &["TYPE", B]), "hash");
    assert_eq!(query::<String>(&mut r, &["TYPE", X]), "zset");
    assert_eq!(query::<u32>(&mut r, &["HLEN", B]), 2);
    let score: u64 = query(&mut r, &["ZSCORE", X, "sip:alice@h2"]);
    assert_eq!(score, T0.plus_secs(600).0);
    let record: String = query(&mut r, &["HGET", B, "sip:alice@h2"]);
    assert!(record.contains("\"call_id\":\"call-1\""), "{record}");
    // The keys live as long as the latest binding plus the grace.
    let limit = 600_000 + sipkit_server::RedisStore::KEY_GRACE_MS;
    for key in [B, X] {
        let ttl: i64 = query(&mut r, &["PTTL", key]);
        assert!(ttl > 0 && ttl.unsigned_abs() <= limit, "{key}: {ttl}");
        assert!(ttl.unsigned_abs() > limit - 10_000, "{key}: {ttl}");
    }
    assert_eq!(
        query::<i64>(&mut r, &["PTTL", M]),
        -1,
        "the known mark stays"
    );
    // Removing the long one shortens the TTL to the short one's.
    store
        .apply(ALICE, T0, &[Change::Remove("sip:alice@h2".into())])
        .unwrap();
    let ttl: i64 = query(&mut r, &["PTTL", X]);
    assert!(ttl.unsigned_abs() <= 60_000 + sipkit_server::RedisStore::KEY_GRACE_MS);
    // With no binding left the keys go at once; the AOR stays known.
    store.apply(ALICE, T0, &[Change::RemoveAll]).unwrap();
    assert_eq!(query::<u32>(&mut r, &["EXISTS", B, X]), 0);
    assert!(store.is_known(ALICE).unwrap());
}

#[test]
fn redis_an_aor_whose_keys_expired_has_no_binding_and_stays_known() {
    let Some(server) = RedisServer::start("ttl") else {
        return;
    };
    let store = RedisStore::open(&server.url()).unwrap();
    store
        .apply(
            ALICE,
            T0,
            &[Change::Upsert(binding("sip:alice@h1", T0, 60))],
        )
        .unwrap();
    let mut r = raw(&server);
    // What Redis does when the TTL runs out, without waiting for it.
    query::<()>(&mut r, &["PEXPIRE", B, "0"]);
    query::<()>(&mut r, &["PEXPIRE", X, "0"]);
    assert_eq!(store.lookup(ALICE, T0).unwrap(), vec![]);
    assert!(store.is_known(ALICE).unwrap());
    let after = store
        .apply(
            ALICE,
            T0,
            &[Change::Upsert(binding("sip:alice@h2", T0, 60))],
        )
        .unwrap();
    assert_eq!(after.len(), 1);
}

/// Two nodes write one AOR: the second write lands between the first
/// node's read and write, so the first node's compare-and-set fails, and it
/// reads again and decides again on what is there now.
#[test]
fn redis_a_write_between_read_and_write_makes_the_update_decide_again() {
    let Some(server) = RedisServer::start("cas") else {
        return;
    };
    let a = RedisStore::open(&server.url()).unwrap();
    let b = RedisStore::open(&server.url()).unwrap();
    let mut seen = Vec::new();
    let after = a
        .update(ALICE, T0, &mut |cur| {
            seen.push(cur.len());
            if seen.len() == 1 {
                b.apply(ALICE, T0, &[Change::Upsert(binding("sip:alice@b", T0, 60))])
                    .unwrap();
            }
            Plan::Commit(vec![Change::Upsert(binding("sip:alice@a", T0, 120))])
        })
        .unwrap();
    assert_eq!(
        seen,
        [0, 1],
        "decided twice, the second time on B's binding"
    );
    let mut contacts: Vec<_> = after.into_iter().map(|b| b.contact).collect();
    contacts.sort();
    assert_eq!(contacts, ["sip:alice@a", "sip:alice@b"]);
    assert_eq!(b.lookup(ALICE, T0).unwrap().len(), 2);
}

/// A node that keeps losing the race gives up with an error (a 500) rather
/// than looping.
#[test]
fn redis_an_update_that_always_loses_the_race_gives_up() {
    let Some(server) = RedisServer::start("contended") else {
        return;
    };
    let a = RedisStore::open(&server.url()).unwrap();
    let b = RedisStore::open(&server.url()).unwrap();
    let mut n = 0u32;
    let err = a
        .update(ALICE, T0, &mut |_| {
            n += 1;
            b.apply(
                ALICE,
                T0,
                &[Change::Upsert(binding(&format!("sip:alice@b{n}"), T0, 60))],
            )
            .unwrap();
            Plan::Commit(vec![Change::Upsert(binding("sip:alice@a", T0, 60))])
        })
        .unwrap_err();
    assert!(matches!(err, Error::Contended { .. }), "{err}");
    assert_eq!(n, sipkit_server::RedisStore::MAX_ATTEMPTS);
    assert!(!a
        .lookup(ALICE, T0)
        .unwrap()
        .iter()
        .any(|b| b.contact == "sip:alice@a"));
}

#[test]
fn redis_stopped_is_a_store_failure_then_the_store_reconnects_by_itself() {
    let Some(mut server) = RedisServer::start("down") else {
        return;
    };
    let options = RedisOptions {
        backoff: Duration::from_millis(100),
        ..RedisOptions::default()
    };
    let store = RedisStore::open_with(&server.url(), options).unwrap();
    let cfg = RegistrarConfig::default();
    let req = |cseq| reg(ALICE, "c1", cseq, vec![c("sip:alice@h1")], Some(600));
    assert_eq!(register(T0, &req(1), &store, &cfg).status(), 200);
    server.stop();
    // The registrar answers 500 (Location Service Failure), nothing panics.
    let out = register(T0, &req(2), &store, &cfg);
    assert!(
        matches!(out, RegisterOutcome::StoreFailed { .. }),
        "{out:?}"
    );
    // Within the backoff the store does not even try.
    let soon = UnixMs(T0.0 + 50);
    assert!(matches!(
        store.lookup(ALICE, soon),
        Err(Error::RedisUnavailable { .. })
    ));
    server.restart();
    assert!(matches!(
        store.lookup(ALICE, soon),
        Err(Error::RedisUnavailable { .. })
    ));
    // After the backoff it reconnects; this Redis kept nothing (no AOF).
    let later = T0.plus_secs(1);
    assert_eq!(store.lookup(ALICE, later).unwrap(), vec![]);
    assert_eq!(register(later, &req(3), &store, &cfg).status(), 200);
    assert_eq!(store.lookup(ALICE, later).unwrap().len(), 1);
}

/// A Redis that accepts connections but never answers (SIGSTOP, as a hung
/// or unreachable host): every call ends within the store's timeouts with
/// an error, never hangs; when Redis answers again the store does too.
#[test]
// What is measured here is real elapsed time (the socket timeouts), not the
// store's notion of time, which stays injected.
#[allow(clippy::disallowed_methods)]
fn redis_that_stops_answering_costs_timeouts_not_hangs() {
    let Some(server) = RedisServer::start("hung") else {
        return;
    };
    let store = RedisStore::open(&server.url()).unwrap();
    store
        .apply(
            ALICE,
            T0,
            &[Change::Upsert(binding("sip:alice@h1", T0, 600))],
        )
        .unwrap();
    server.signal("-STOP");
    let started = std::time::Instant::now();
    // The read times out (500 ms), is retried once on a new connection
    // whose PING times out too (500 ms): an error after about 1 s.
    assert!(store.lookup(ALICE, T0).is_err());
    let took = started.elapsed();
    // Within the backoff: no attempt at all, an error at once.
    let fast = std::time::Instant::now();
    assert!(matches!(
        store.lookup(ALICE, UnixMs(T0.0 + 10)),
        Err(Error::RedisUnavailable { .. })
    ));
    let fast = fast.elapsed();
    server.signal("-CONT");
    assert!(took < Duration::from_secs(3), "{took:?}");
    assert!(fast < Duration::from_millis(100), "{fast:?}");
    assert_eq!(store.lookup(ALICE, T0.plus_secs(5)).unwrap().len(), 1);
}

/// With `appendonly yes` a binding acknowledged before `kill -9` of Redis is
/// there after its restart, and the store's next read reconnects without
/// an error.
#[test]
fn redis_with_aof_keeps_bindings_across_its_restart() {
    let Some(mut server) =
        RedisServer::start_with("aof", &["--appendonly", "yes", "--appendfsync", "always"])
    else {
        return;
    };
    let store = RedisStore::open(&server.url()).unwrap();
    let b = binding("sip:alice@h1", T0, 600);
    store
        .apply(ALICE, T0, &[Change::Upsert(b.clone())])
        .unwrap();
    server.stop();
    server.restart();
    assert_eq!(store.lookup(ALICE, T0).unwrap(), vec![b]);
    assert!(store.is_known(ALICE).unwrap());
}

#[test]
fn redis_reports_a_corrupt_record_instead_of_panicking() {
    let Some(server) = RedisServer::start("corrupt") else {
        return;
    };
    let store = RedisStore::open(&server.url()).unwrap();
    let mut r = raw(&server);
    let at = T0.plus_secs(60).0.to_string();
    query::<()>(&mut r, &["ZADD", X, &at, "sip:alice@h1"]);
    query::<()>(&mut r, &["HSET", B, "sip:alice@h1", "{not json"]);
    let err = store.lookup(ALICE, T0).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Corrupt {
                what: "binding record",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn open_store_picks_redis_for_a_redis_url() {
    let Some(server) = RedisServer::start("open") else {
        return;
    };
    let store = sipkit_server::open_store(&server.url()).unwrap();
    assert!(format!("{store:?}").starts_with("RedisStore"), "{store:?}");
    // Nothing listening: an error at once, not a hang.
    let nobody = format!("redis://127.0.0.1:{}/0", free_port());
    assert!(sipkit_server::open_store(&nobody).is_err());
    assert!(sipkit_server::is_redis_url("rediss://h:6380/0"));
    assert!(!sipkit_server::is_redis_url("./redis.db"));
}

/// `rediss://`: the whole store over TLS to a redis-server with a
/// self-signed certificate (`#insecure`: the test's certificate is in no
/// trust store; in service the server's certificate must be trusted by the
/// system's OpenSSL, e.g. through `SSL_CERT_FILE`).
#[test]
fn rediss_runs_the_store_over_tls() {
    let dir = crate::util::TempDir::new("tls");
    let (cert, key) = (dir.file("cert.pem"), dir.file("key.pem"));
    let made = std::process::Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args([
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .expect("openssl runs (package openssl)");
    assert!(made.success(), "openssl req failed");
    let tls_port = free_port().to_string();
    let (cert, key) = (cert.to_str().unwrap(), key.to_str().unwrap());
    let Some(server) = RedisServer::start_with(
        "tls",
        &[
            "--tls-port",
            &tls_port,
            "--tls-cert-file",
            cert,
            "--tls-key-file",
            key,
            "--tls-ca-cert-file",
            cert,
            "--tls-auth-clients",
            "no",
        ],
    ) else {
        return;
    };
    let url = format!("rediss://127.0.0.1:{tls_port}/0#insecure");
    let store = RedisStore::open(&url).unwrap();
    let b = binding("sip:alice@h1", T0, 600);
    store
        .apply(ALICE, T0, &[Change::Upsert(b.clone())])
        .unwrap();
    assert_eq!(store.lookup(ALICE, T0).unwrap(), vec![b.clone()]);
    // The same data seen in plain text: it went to this server.
    let plain = RedisStore::open(&server.url()).unwrap();
    assert_eq!(plain.lookup(ALICE, T0).unwrap(), vec![b]);
    // Plain text to the TLS port fails (at once, not after a hang).
    assert!(RedisStore::open(&format!("redis://127.0.0.1:{tls_port}/0")).is_err());
}

#[test]
fn a_key_prefix_that_would_be_a_glob_is_refused() {
    let options = RedisOptions {
        prefix: "sk*:",
        ..RedisOptions::default()
    };
    let err = RedisStore::open_with("redis://127.0.0.1:1/0", options).unwrap_err();
    assert!(matches!(err, Error::Config { .. }), "{err}");
}

/// Script calls (EVALSHA and EVAL: one round trip each) Redis has run so
/// far, from `INFO commandstats` (commands a script runs count apart).
fn script_calls(conn: &mut ::redis::Connection) -> u64 {
    let info: String = query(conn, &["INFO", "commandstats"]);
    info.lines()
        .filter(|l| l.starts_with("cmdstat_evalsha:") || l.starts_with("cmdstat_eval:"))
        .filter_map(|l| {
            l.split("calls=")
                .nth(1)?
                .split(',')
                .next()?
                .parse::<u64>()
                .ok()
        })
        .sum()
}

/// Two stores (two workers or nodes) on one fresh Redis whose scripts are
/// loaded already, and a plain connection to count with.
fn two_stores(tag: &str) -> Option<(RedisServer, RedisStore, RedisStore, ::redis::Connection)> {
    let server = RedisServer::start(tag)?;
    let a = RedisStore::open(&server.url()).unwrap();
    let b = RedisStore::open(&server.url()).unwrap();
    // Loads the apply and read scripts (the first EVALSHA of each is
    // refused with NOSCRIPT), on another AOR.
    let warm = "sip:warm@example.com";
    a.apply(warm, T0, &[Change::Upsert(binding("sip:w@h", T0, 60))])
        .unwrap();
    a.lookup(warm, T0).unwrap();
    let r = raw(&server);
    Some((server, a, b, r))
}

/// Issue #14: one script call per REGISTER when the store took the AOR's
/// last write itself (or nobody wrote it yet), two when another store did,
/// and the second store's decision is made on what is stored, not on its
/// stale copy.
#[test]
fn redis_a_register_costs_one_script_call_unless_written_elsewhere() {
    let Some((_server, a, b, mut r)) = two_stores("calls") else {
        return;
    };
    let cfg = RegistrarConfig::default();
    let calls = |r: &mut ::redis::Connection| {
        let n = script_calls(r);
        move |r: &mut ::redis::Connection| script_calls(r) - n
    };
    let contacts = |store: &RedisStore| {
        let mut v: Vec<_> = store
            .lookup(ALICE, T0)
            .unwrap()
            .into_iter()
            .map(|b| (b.contact, b.cseq))
            .collect();
        v.sort();
        v
    };
    let h1 = |cseq| reg(ALICE, "c1", cseq, vec![c("sip:alice@h1")], Some(600));
    let h2 = |cseq| reg(ALICE, "c2", cseq, vec![c("sip:alice@h2")], Some(600));

    let since = calls(&mut r);
    assert_eq!(register(T0, &h1(1), &a, &cfg).status(), 200);
    assert_eq!(since(&mut r), 1, "a new AOR: one apply");

    let since = calls(&mut r);
    assert_eq!(register(T0, &h1(2), &a, &cfg).status(), 200);
    assert_eq!(since(&mut r), 1, "a refresh through the same store");

    let since = calls(&mut r);
    assert_eq!(register(T0, &h2(1), &b, &cfg).status(), 200);
    assert_eq!(
        since(&mut r),
        2,
        "B never saw the AOR: refused, then applied"
    );

    // A's copy is stale (B wrote since): refused, decided again on both.
    let since = calls(&mut r);
    let out = register(T0, &h1(3), &a, &cfg);
    assert_eq!(since(&mut r), 2);
    let RegisterOutcome::Ok { contacts: listed } = out else {
        panic!("{out:?}");
    };
    assert_eq!(listed.len(), 2, "A's 200 lists B's binding too");
    assert_eq!(
        contacts(&b),
        [
            ("sip:alice@h1".to_owned(), 3),
            ("sip:alice@h2".to_owned(), 1)
        ]
    );

    // Up to date again: one call.
    let since = calls(&mut r);
    assert_eq!(register(T0, &h1(4), &a, &cfg).status(), 200);
    assert_eq!(since(&mut r), 1);

    // Lookups always read Redis: one call, B's view includes A's write.
    let since = calls(&mut r);
    assert_eq!(contacts(&b)[0], ("sip:alice@h1".to_owned(), 4));
    assert_eq!(since(&mut r), 1);

    // A query REGISTER is one read.
    let since = calls(&mut r);
    let query_reg = reg(ALICE, "c3", 1, vec![], None);
    assert_eq!(register(T0, &query_reg, &b, &cfg).status(), 200);
    assert_eq!(since(&mut r), 1);

    // B's lookup refreshed nothing it had cached wrongly: B wrote h2 and
    // has seen A's writes since through lookups, so its next write is one
    // call too.
    let since = calls(&mut r);
    assert_eq!(register(T0, &h2(2), &b, &cfg).status(), 200);
    assert_eq!(since(&mut r), 1);
}

/// A stale copy never decides: A cached CSeq 1 for c1, B took CSeq 5 since;
/// a delayed CSeq 2 through A is out of order (§10.3 step 7) though A's
/// copy would accept it.
#[test]
fn redis_a_stale_copy_is_refused_and_the_decision_made_again() {
    let Some((_server, a, b, mut r)) = two_stores("stale") else {
        return;
    };
    let cfg = RegistrarConfig::default();
    let h1 = |cseq, exp| reg(ALICE, "c1", cseq, vec![c("sip:alice@h1")], Some(exp));
    assert_eq!(register(T0, &h1(1, 600), &a, &cfg).status(), 200);
    assert_eq!(register(T0, &h1(5, 600), &b, &cfg).status(), 200);
    let n = script_calls(&mut r);
    let out = register(T0, &h1(2, 600), &a, &cfg);
    assert!(
        matches!(
            out,
            RegisterOutcome::CSeqOutOfOrder {
                stored: 5,
                received: 2,
                ..
            }
        ),
        "{out:?}"
    );
    // The refused apply brought back what is stored, and that decision
    // writes nothing: one call.
    assert_eq!(script_calls(&mut r) - n, 1);
    assert_eq!(a.lookup(ALICE, T0).unwrap()[0].cseq, 5);

    // The other way round: B removes the binding (CSeq 6, Expires 0). A's
    // copy (CSeq 5) would refuse a CSeq 3 as out of order; a refusal
    // writes nothing to compare-and-set, so it is checked with a read,
    // which shows no such binding: a new binding and a 200.
    assert_eq!(register(T0, &h1(6, 0), &b, &cfg).status(), 200);
    let n = script_calls(&mut r);
    assert_eq!(register(T0, &h1(3, 600), &a, &cfg).status(), 200);
    let calls = script_calls(&mut r) - n;
    assert_eq!(b.lookup(ALICE, T0).unwrap()[0].cseq, 3);
    assert_eq!(calls, 2, "the read, then one apply on the version it read");
}

/// Redis may lose acknowledged writes (AOF `everysec`, an asynchronous
/// replica promoted) and go on from an older state, where a counter would
/// reach the version a store cached again with other bindings. Versions
/// are tokens unique to each write, so the store's copy matches only the
/// state it was made from: here the AOR is rolled back behind A's back to
/// another state with an old-style counter, then emptied, and A notices
/// each time.
#[test]
fn redis_a_state_rolled_back_behind_the_copy_is_noticed() {
    let Some((server, a, b, mut r)) = two_stores("rollback") else {
        return;
    };
    let cfg = RegistrarConfig::default();
    let h1 = |cseq| reg(ALICE, "c1", cseq, vec![c("sip:alice@h1")], Some(600));
    assert_eq!(register(T0, &h1(1), &a, &cfg).status(), 200);
    let token: String = query(&mut r, &["HGET", M, "v"]);
    assert!(token.parse::<u64>().unwrap() >= 1 << 61, "{token}");
    // Another state of the AOR: B's CSeq 7 of c1; then the version is put
    // back to what an old counter would hold.
    let other = RedisStore::open(&server.url()).unwrap();
    assert_eq!(register(T0, &h1(7), &other, &cfg).status(), 200);
    query::<()>(&mut r, &["HSET", M, "v", "1"]);
    drop(other);
    let n = script_calls(&mut r);
    let out = register(T0, &h1(2), &a, &cfg);
    assert!(
        matches!(out, RegisterOutcome::CSeqOutOfOrder { stored: 7, .. }),
        "{out:?}"
    );
    assert_eq!(script_calls(&mut r) - n, 1);

    // Everything lost (a restart without persistence on the same
    // connection): A's copy is refused and the binding made anew.
    assert_eq!(register(T0, &h1(8), &a, &cfg).status(), 200);
    query::<()>(&mut r, &["DEL", B, X, M]);
    let n = script_calls(&mut r);
    let later = T0.plus_secs(1);
    let h1_9 = reg(ALICE, "c1", 9, vec![c("sip:alice@h9")], Some(600));
    let out = register(later, &h1_9, &a, &cfg);
    assert_eq!(script_calls(&mut r) - n, 2);
    let RegisterOutcome::Ok { contacts } = out else {
        panic!("{out:?}");
    };
    assert_eq!(contacts.len(), 1, "h1 is gone with the lost state");
    assert_eq!(b.lookup(ALICE, later).unwrap()[0].contact, "sip:alice@h9");
    assert!(b.is_known(ALICE).unwrap());
}

/// Calls of `command` so far, from INFO commandstats.
fn calls(conn: &mut ::redis::Connection, command: &str) -> u64 {
    let info: String = query(conn, &["INFO", "commandstats"]);
    let prefix = format!("cmdstat_{command}:calls=");
    info.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|rest| rest.split(',').next())
        .map_or(0, |n| n.parse().unwrap())
}

/// Issue 14: the purge goes in bounded steps. With 2,000 AORs of which 400
/// expired, steps of budget 50 each SCAN once and trim at most about 50
/// AORs, and one round purges exactly the expired bindings; the next round
/// finds nothing.
#[test]
fn redis_purge_steps_are_bounded_and_a_round_purges_exactly_the_expired() {
    let Some(server) = RedisServer::start("purge-steps") else {
        return;
    };
    let store = RedisStore::open(&server.url()).unwrap();
    for i in 0..2000 {
        let aor = format!("sip:u{i}@example.com");
        let secs = if i % 5 == 0 { 60 } else { 600 };
        store
            .apply(
                &aor,
                T0,
                &[Change::Upsert(binding(&format!("sip:u{i}@h"), T0, secs))],
            )
            .unwrap();
    }
    let mut r = raw(&server);
    let now = T0.plus_secs(61);
    let budget = 50;
    let (mut purged, mut visited, mut steps, mut most) = (0, 0, 0, 0);
    loop {
        let (scans, trims) = (calls(&mut r, "scan"), calls(&mut r, "evalsha"));
        let p = store.purge_step(now, budget).unwrap();
        assert_eq!(calls(&mut r, "scan") - scans, 1, "one SCAN per step");
        let trimmed = calls(&mut r, "evalsha") - trims;
        assert_eq!(trimmed, p.visited as u64, "one trim per key seen");
        assert!(p.visited <= 2 * budget, "step {steps}: {p:?}");
        purged += p.purged;
        visited += p.visited;
        most = most.max(p.visited);
        steps += 1;
        assert!(steps < 1000, "the round never ends");
        if p.round_done {
            break;
        }
    }
    eprintln!("{steps} steps, {visited} keys seen, at most {most} in a step");
    assert_eq!(purged, 400);
    assert!(visited >= 2000, "{visited}");
    assert!(steps >= 2000 / (2 * budget), "{steps}");
    assert_eq!(store.count(now).unwrap().aors, 1600);
    assert_eq!(query::<u64>(&mut r, &["DBSIZE"]), 2000 + 2 * 1600);
    // The next round starts afresh and finds nothing more.
    let mut again = 0;
    loop {
        let p = store.purge_step(now, budget).unwrap();
        again += p.purged;
        if p.round_done {
            break;
        }
    }
    assert_eq!(again, 0);
}
