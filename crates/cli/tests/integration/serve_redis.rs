//! Several `sipkit serve` nodes on one Redis (issue 14): a binding made
//! through one node is in every other node's 302 at once, RFC 3261 §10.3
//! holds across nodes, and a Redis outage is a 500 with Retry-After that
//! ends by itself when Redis is back. The Redis server is the test's own,
//! on a free loopback port.

use std::time::{Duration, Instant};

use crate::redis_server::RedisServer;
use crate::serve::{header, register, request, status, Client, Server};

fn contacts(resp: &str) -> Vec<String> {
    header(resp, "Contact")
        .into_iter()
        .map(|c| c.split(';').next().unwrap_or(c).to_owned())
        .collect()
}

#[test]
fn three_nodes_on_one_redis_share_every_binding() {
    let Some(redis) = RedisServer::start("three-nodes") else {
        return;
    };
    let url = redis.url();
    let nodes: Vec<Server> = (0..3).map(|_| Server::start(&url, &[])).collect();
    let [a, b, c] = [0, 1, 2].map(|i| Client::new(nodes[i].udp));

    let r = a.ask(&register(
        "alice",
        "sip:alice@192.0.2.10:5070",
        "reg-1",
        1,
        600,
    ));
    assert_eq!(status(&r), 200, "{r}");
    // Registered through A, in B's 302 at once.
    let r = b.ask(&request("INVITE", "sip:alice@example.com", "n1", ""));
    assert_eq!(status(&r), 302, "{r}");
    assert_eq!(contacts(&r), ["<sip:alice@192.0.2.10:5070>"]);
    // A second device through C: C's 200 lists both.
    let r = c.ask(&register("alice", "sip:alice@192.0.2.20", "reg-2", 1, 300));
    assert_eq!(status(&r), 200, "{r}");
    assert_eq!(
        contacts(&r),
        ["<sip:alice@192.0.2.20>", "<sip:alice@192.0.2.10:5070>"]
    );
    // §10.3 step 7 across nodes: A's binding, Call-ID and CSeq again (a
    // replay), sent through B, is refused and changes nothing.
    let r = b.ask(&register(
        "alice",
        "sip:alice@192.0.2.10:5070",
        "reg-1",
        1,
        60,
    ));
    assert_eq!(status(&r), 500, "{r}");
    assert!(r.starts_with("SIP/2.0 500 CSeq Out Of Order"), "{r}");
    // Unregistering through B removes it for C too.
    let r = b.ask(&register(
        "alice",
        "sip:alice@192.0.2.10:5070",
        "reg-1",
        2,
        0,
    ));
    assert_eq!(contacts(&r), ["<sip:alice@192.0.2.20>"], "{r}");
    let r = c.ask(&request("INVITE", "sip:alice@example.com", "n2", ""));
    assert_eq!(contacts(&r), ["<sip:alice@192.0.2.20>"], "{r}");
    // `*` through A: every node answers 480 (known, not reachable).
    let r = a.ask(&register("alice", "*", "reg-3", 1, 0).replace("<*>", "*"));
    assert_eq!(status(&r), 200, "{r}");
    assert!(contacts(&r).is_empty(), "{r}");
    for (client, branch) in [(&a, "n3"), (&b, "n4"), (&c, "n5")] {
        let r = client.ask(&request("INVITE", "sip:alice@example.com", branch, ""));
        assert_eq!(status(&r), 480, "{r}");
    }
    let r = b.ask(&request("INVITE", "sip:nobody@example.com", "n6", ""));
    assert_eq!(status(&r), 404, "{r}");
}

#[test]
fn redis_stopped_is_500_with_retry_after_and_service_returns_by_itself() {
    let Some(mut redis) = RedisServer::start("outage") else {
        return;
    };
    let node = Server::start(&redis.url(), &[]);
    let cl = Client::new(node.udp);
    let contact = "sip:alice@192.0.2.10:5070";
    assert_eq!(
        status(&cl.ask(&register("alice", contact, "r", 1, 600))),
        200
    );

    redis.stop();
    for cseq in 2..6 {
        let started = Instant::now();
        let r = cl.ask(&register("alice", contact, "r", cseq, 600));
        assert_eq!(status(&r), 500, "{r}");
        assert_eq!(header(&r, "Retry-After"), ["5"], "{r}");
        let branch = format!("down{cseq}");
        let r = cl.ask(&request("INVITE", "sip:alice@example.com", &branch, ""));
        assert_eq!(status(&r), 500, "{r}");
        assert_eq!(header(&r, "Retry-After"), ["5"], "{r}");
        // Bounded by the store's timeouts, far inside a transaction.
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
    }

    redis.restart();
    // Back by itself: the node reconnects after at most its longest backoff
    // (2 s). Polled, bounded.
    let back = Instant::now();
    let mut cseq = 10;
    loop {
        let r = cl.ask(&register("alice", contact, "r", cseq, 600));
        if status(&r) == 200 {
            break;
        }
        assert_eq!(status(&r), 500, "{r}");
        assert!(
            back.elapsed() < Duration::from_secs(10),
            "still failing 10 s after Redis returned: {r}"
        );
        cseq += 1;
        std::thread::sleep(Duration::from_millis(50));
    }
    let r = cl.ask(&request("INVITE", "sip:alice@example.com", "up", ""));
    assert_eq!(contacts(&r), [format!("<{contact}>")], "{r}");
}
