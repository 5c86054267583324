//! Authentication shared through Redis (issue 14): two `sipkit serve` nodes
//! on one Redis take their users, nonce secret and bans from it, so a user
//! added with `sipkit user add --db redis://…` registers through either
//! node, a nonce issued by one node is accepted by the other, and a ban
//! added with `sipkit ban add --db redis://…` or decided by one node after
//! failed authentications is enforced by both. The Redis server is the
//! test's own, on a free loopback port.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sipkit_digest::{Algorithm, ClientAuth};

use crate::redis_server::{RedisCluster, RedisServer};
use crate::serve::{header, status, Server};
use crate::serve_auth::{challenges, register, temp_dir, Phone};
use crate::util::{sipkit, stderr, stdout};

/// The Authorization header answering the challenge in `resp`.
fn answer(resp: &str, user: &str, password: &str, cnonce: u8) -> String {
    let mut client = ClientAuth::new(&challenges(resp), &[Algorithm::Md5]).unwrap();
    let creds = client.answer("REGISTER", "sip:127.0.0.1", user, password, &[cnonce; 8]);
    format!("Authorization: {creds}\n")
}

/// Sends REGISTERs without credentials from `phone` until none is answered
/// (the source is banned), for at most 6 s (the nodes look at Redis every
/// 2 s).
fn silenced(phone: &Phone, cseq: &mut u32) -> bool {
    phone
        .sock
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(6);
    while Instant::now() < deadline {
        *cseq += 1;
        phone.send(&register("probe", *cseq, ""));
        if phone.recv().is_none() {
            return true;
        }
    }
    false
}

#[test]
fn two_nodes_on_one_redis_share_users_nonces_and_bans() {
    let Some(redis) = RedisServer::start("auth-nodes") else {
        return;
    };
    let url = redis.url();
    let o = sipkit(&["user", "add", "alice", "--password", "pw-A", "--db", &url]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        format!("user added alice (realm sipkit) in {url}\n")
    );
    // Bob keeps authentication on when alice is removed below.
    let o = sipkit(&["user", "add", "bob", "--password", "pw-B", "--db", &url]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = sipkit(&["user", "list", "--db", &url]);
    assert_eq!(stdout(&o), "alice\tsipkit\nbob\tsipkit\n");
    // Three failures from one source ban it.
    let dir = temp_dir("redis-nodes");
    let config = dir.join("sipkit.toml");
    std::fs::write(&config, "[auth.ban]\nsource_failures = 3\n").unwrap();
    let config = config.to_str().unwrap();
    let a = Server::start(&url, &["--config", config]);
    let b = Server::start(&url, &["--config", config]);

    // The user registers through both nodes.
    let mut cseq = 1;
    for node in [&a, &b] {
        let phone = Phone::new("127.0.0.1", node.udp);
        let r = phone.ask(&register("alice", cseq, ""));
        assert_eq!(status(&r), 401, "{r}");
        let auth = answer(&r, "alice", "pw-A", 1);
        let r = phone.ask(&register("alice", cseq + 1, &auth));
        assert_eq!(status(&r), 200, "{r}");
        cseq += 2;
    }
    // A nonce issued by A, answered through B: one secret, from Redis.
    let (pa, pb) = (
        Phone::new("127.0.0.1", a.udp),
        Phone::new("127.0.0.1", b.udp),
    );
    let r = pa.ask(&register("alice", cseq, ""));
    assert_eq!(status(&r), 401, "{r}");
    let auth = answer(&r, "alice", "pw-A", 2);
    let r = pb.ask(&register("alice", cseq + 1, &auth));
    assert_eq!(status(&r), 200, "{r}");
    cseq += 2;
    // ... and the other way round.
    let r = pb.ask(&register("alice", cseq, ""));
    let auth = answer(&r, "alice", "pw-A", 3);
    let r = pa.ask(&register("alice", cseq + 1, &auth));
    assert_eq!(status(&r), 200, "{r}");

    // A ban added with `sipkit ban add --db redis://…` is enforced by B.
    let o = sipkit(&[
        "ban",
        "add",
        "source",
        "127.0.0.2",
        "--for",
        "60",
        "--db",
        &url,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let mut probe_cseq = 0;
    let banned = Phone::new("127.0.0.2", b.udp);
    assert!(
        silenced(&banned, &mut probe_cseq),
        "sipkit ban add was not enforced by B"
    );

    // A ban that A decides after three wrong passwords is enforced by B.
    let attacker_a = Phone::new("127.0.0.3", a.udp);
    for i in 0..3u8 {
        let r = attacker_a.ask(&register("alice", 100 + u32::from(i), ""));
        assert_eq!(status(&r), 401, "{r}");
        let auth = answer(&r, "alice", "wrong", 10 + i);
        attacker_a.send(&register("alice", 200 + u32::from(i), &auth));
        let r = attacker_a.recv();
        if i < 2 {
            let r = r.expect("an answer before the ban");
            assert_eq!(status(&r), 401, "{r}");
        }
    }
    let attacker_b = Phone::new("127.0.0.3", b.udp);
    // A writes its ban at its next message, B reads it within 2 s.
    attacker_a.send(&register("alice", 300, ""));
    assert!(
        silenced(&attacker_b, &mut probe_cseq),
        "a ban decided by A was not enforced by B"
    );
    let o = sipkit(&["ban", "list", "--db", &url]);
    let list = stdout(&o);
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines.len(), 2, "{list}");
    assert!(lines[0].starts_with("source\t127.0.0.2\t"), "{list}");
    assert!(lines[0].ends_with("\tmanual"), "{list}");
    assert!(lines[1].starts_with("source\t127.0.0.3\t"), "{list}");
    assert!(lines[1].ends_with("\tfailures"), "{list}");
    // Lifted in Redis, lifted on both nodes.
    let o = sipkit(&["ban", "remove", "source", "127.0.0.3", "--db", &url]);
    assert!(o.status.success(), "{}", stderr(&o));
    let deadline = Instant::now() + Duration::from_secs(6);
    let mut answered = false;
    while Instant::now() < deadline && !answered {
        probe_cseq += 1;
        attacker_a.send(&register("probe", probe_cseq, ""));
        answered = attacker_a.recv().is_some_and(|r| status(&r) == 401);
    }
    assert!(answered, "A still bans 127.0.0.3 after sipkit ban remove");

    // A user removed from Redis can no longer register through B.
    let o = sipkit(&["user", "remove", "alice", "--db", &url]);
    assert!(o.status.success(), "{}", stderr(&o));
    let deadline = Instant::now() + Duration::from_secs(6);
    let mut refused = false;
    cseq += 2;
    while Instant::now() < deadline && !refused {
        let r = pb.ask(&register("alice", cseq, ""));
        let auth = answer(&r, "alice", "pw-A", 4);
        refused = status(&pb.ask(&register("alice", cseq + 1, &auth))) == 401;
        cseq += 2;
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(refused, "a removed user still registers through B");
}

#[test]
fn redis_stopped_with_users_in_it_is_500_with_retry_after() {
    let Some(mut redis) = RedisServer::start("auth-outage") else {
        return;
    };
    let url = redis.url();
    let o = sipkit(&["user", "add", "alice", "--password", "pw-A", "--db", &url]);
    assert!(o.status.success(), "{}", stderr(&o));
    let node = Server::start(&url, &[]);
    let phone = Phone::new("127.0.0.1", node.udp);
    let r = phone.ask(&register("alice", 1, ""));
    let auth = answer(&r, "alice", "pw-A", 1);
    assert_eq!(status(&phone.ask(&register("alice", 2, &auth))), 200);

    redis.stop();
    // The challenge needs no store; the registration does: 500 with
    // Retry-After, as for the location service alone.
    let r = phone.ask(&register("alice", 3, ""));
    assert_eq!(status(&r), 401, "{r}");
    let auth = answer(&r, "alice", "pw-A", 2);
    let r = phone.ask(&register("alice", 4, &auth));
    assert_eq!(status(&r), 500, "{r}");
    assert_eq!(header(&r, "Retry-After"), ["5"], "{r}");
    // The tools say what is wrong and fail.
    for args in [
        &["user", "list", "--db", &url][..],
        &["ban", "add", "source", "192.0.2.1", "--db", &url][..],
    ] {
        let o = sipkit(args);
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        assert!(
            stderr(&o).contains(&format!("opening the database {url}")),
            "{}",
            stderr(&o)
        );
    }
    // A node cannot start without its store: it says so and exits.
    let o = Command::new(env!("CARGO_BIN_EXE_sipkit"))
        .args(["serve", "--listen", "udp:127.0.0.1:0", "--db", &url])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(stderr(&o).contains("redis"), "{}", stderr(&o));

    // Back by itself, users and all.
    redis.restart();
    let back = Instant::now();
    let mut cseq = 5;
    loop {
        let r = phone.ask(&register("alice", cseq, ""));
        let auth = answer(&r, "alice", "pw-A", 3);
        let r = phone.ask(&register("alice", cseq + 1, &auth));
        if status(&r) == 200 {
            break;
        }
        assert_eq!(status(&r), 500, "{r}");
        assert!(back.elapsed() < Duration::from_secs(10), "{r}");
        cseq += 2;
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `--db redis+cluster://…`: the user added through the cluster registers
/// through both nodes, and a nonce of one node is accepted by the other
/// (the authentication keys share one slot, whichever master holds it).
#[test]
fn two_nodes_on_a_redis_cluster_share_users_and_nonces() {
    let Some(cluster) = RedisCluster::start("auth-serve") else {
        return;
    };
    let url = cluster.url();
    let o = sipkit(&["user", "add", "alice", "--password", "pw-A", "--db", &url]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = sipkit(&[
        "ban",
        "add",
        "source",
        "127.0.0.2",
        "--for",
        "60",
        "--db",
        &url,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let (a, b) = (Server::start(&url, &[]), Server::start(&url, &[]));
    let (pa, pb) = (
        Phone::new("127.0.0.1", a.udp),
        Phone::new("127.0.0.1", b.udp),
    );
    let r = pa.ask(&register("alice", 1, ""));
    assert_eq!(status(&r), 401, "{r}");
    let auth = answer(&r, "alice", "pw-A", 1);
    let r = pb.ask(&register("alice", 2, &auth));
    assert_eq!(status(&r), 200, "{r}");
    // The ban is read at the first message: 127.0.0.2 is ignored by both.
    let mut probe_cseq = 0;
    for node in [&a, &b] {
        assert!(silenced(
            &Phone::new("127.0.0.2", node.udp),
            &mut probe_cseq
        ));
    }
    let o = sipkit(&["ban", "list", "--db", &url]);
    assert!(
        stdout(&o).starts_with("source\t127.0.0.2\t"),
        "{}",
        stdout(&o)
    );
}
