//! Several nodes on one Redis behave as one node (issue 14, point 4): random
//! sequences of REGISTER (new, refresh, replayed or older CSeq, Expires 0,
//! `*`), queries, redirects and clock jumps, each sent through a random one
//! of three [`RedisStore`]s on one `redis-server`, get exactly the answers a
//! single [`MemoryStore`] gives: the same 200 contact lists (with the same
//! remaining expires), the same 500s, the same 302/480/404. Time is injected
//! and shared, so expiry is checked to the millisecond: nothing expires
//! early or late (with real clocks the tolerance is the nodes' clock skew,
//! see the `RedisStore` docs).

use proptest::prelude::*;
use sipkit_server::{
    redirect, register, ContactEntry, LocationService, MemoryStore, RedirectConfig, RedisStore,
    RegisterContact, RegistrarConfig, UnixMs,
};

use crate::util::{reg, RedisCluster, RedisServer, T0};

const USERS: [&str; 2] = ["alice", "bob"];
const HOSTS: [&str; 3] = ["192.0.2.1", "192.0.2.2:5070", "[2001:db8::3]"];
/// 0 removes; 30 is below Min-Expires (423); the rest are granted.
const EXPIRES: [u32; 5] = [0, 30, 60, 300, 3600];

#[derive(Debug, Clone)]
enum Op {
    Register {
        node: usize,
        user: usize,
        hosts: Vec<usize>,
        call_id: usize,
        cseq: u32,
        expires: usize,
    },
    Wildcard {
        node: usize,
        user: usize,
        call_id: usize,
        cseq: u32,
    },
    Query {
        node: usize,
        user: usize,
    },
    Invite {
        node: usize,
        user: usize,
    },
    /// The clock moves on by this many ms.
    Advance(u64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => (0..3usize, 0..2usize, prop::collection::vec(0..3usize, 1..3), 0..2usize, 1..5u32, 0..5usize)
            .prop_map(|(node, user, hosts, call_id, cseq, expires)| Op::Register { node, user, hosts, call_id, cseq, expires }),
        1 => (0..3usize, 0..2usize, 0..2usize, 1..5u32)
            .prop_map(|(node, user, call_id, cseq)| Op::Wildcard { node, user, call_id, cseq }),
        1 => (0..3usize, 0..2usize).prop_map(|(node, user)| Op::Query { node, user }),
        3 => (0..3usize, 0..2usize).prop_map(|(node, user)| Op::Invite { node, user }),
        2 => prop_oneof![Just(1u64), 0..70_000u64, Just(60_000), Just(300_000)].prop_map(Op::Advance),
    ]
}

fn aor(user: usize) -> String {
    format!("sip:{}@example.com", USERS[user])
}

/// Runs `ops` against the reference and the nodes; the first difference
/// fails.
fn same_answers(reference: &MemoryStore, nodes: &[RedisStore], ops: &[Op]) {
    let cfg = RegistrarConfig::default();
    let rcfg = RedirectConfig::default();
    let mut now = T0;
    for (step, op) in ops.iter().enumerate() {
        let (node, req) = match op {
            Op::Advance(ms) => {
                now = UnixMs(now.0 + ms);
                continue;
            }
            Op::Invite { node, user } => {
                let want = redirect(now, "INVITE", &aor(*user), reference, &rcfg);
                let got = redirect(now, "INVITE", &aor(*user), &nodes[*node], &rcfg);
                assert_eq!(got, want, "step {step}: {op:?}");
                continue;
            }
            Op::Register {
                node,
                user,
                hosts,
                call_id,
                cseq,
                expires,
            } => {
                let contacts = hosts
                    .iter()
                    .map(|h| {
                        RegisterContact::Uri(ContactEntry::new(format!(
                            "sip:{}@{}",
                            USERS[*user], HOSTS[*h]
                        )))
                    })
                    .collect();
                let req = reg(
                    &aor(*user),
                    &format!("call-{call_id}"),
                    *cseq,
                    contacts,
                    Some(EXPIRES[*expires]),
                );
                (*node, req)
            }
            Op::Wildcard {
                node,
                user,
                call_id,
                cseq,
            } => {
                let req = reg(
                    &aor(*user),
                    &format!("call-{call_id}"),
                    *cseq,
                    vec![RegisterContact::Wildcard],
                    Some(0),
                );
                (*node, req)
            }
            Op::Query { node, user } => (*node, reg(&aor(*user), "query", 1, vec![], None)),
        };
        let want = register(now, &req, reference, &cfg);
        let got = register(now, &req, &nodes[node], &cfg);
        assert_eq!(got, want, "step {step}: {op:?}");
    }
    // And at the end every node sees what the single node sees.
    for user in 0..USERS.len() {
        let want = reference.lookup(&aor(user), now).unwrap();
        for node in nodes {
            assert_eq!(node.lookup(&aor(user), now).unwrap(), want);
            assert_eq!(
                node.is_known(&aor(user)).unwrap(),
                reference.is_known(&aor(user)).unwrap()
            );
        }
    }
}

#[test]
fn three_redis_nodes_answer_as_one_node() {
    let Some(server) = RedisServer::start("multinode") else {
        return;
    };
    let url = server.url();
    let admin = ::redis::Client::open(url.as_str()).unwrap();
    let admin = std::cell::RefCell::new(admin.get_connection().unwrap());
    answer_as_one_node(&url, 64, || {
        ::redis::cmd("FLUSHDB")
            .query::<()>(&mut *admin.borrow_mut())
            .unwrap();
    });
}

/// The same against a three-master Redis Cluster: the AORs land on
/// different masters.
#[test]
fn three_nodes_on_a_redis_cluster_answer_as_one_node() {
    let Some(cluster) = RedisCluster::start("multinode") else {
        return;
    };
    let url = cluster.url();
    let admin = ::redis::cluster::ClusterClient::new(vec![url
        .replace("redis+cluster://", "redis://")
        .split(',')
        .next()
        .unwrap()
        .to_owned()])
    .unwrap();
    let admin = std::cell::RefCell::new(admin.get_connection().unwrap());
    answer_as_one_node(&url, 16, || {
        ::redis::cmd("FLUSHALL")
            .query::<()>(&mut *admin.borrow_mut())
            .unwrap();
    });
}

/// Runs `cases` random sequences through three stores on `url`, calling
/// `flush` before each.
fn answer_as_one_node(url: &str, cases: u32, flush: impl Fn()) {
    let nodes: Vec<RedisStore> = (0..3).map(|_| RedisStore::open(url).unwrap()).collect();
    proptest!(ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() },
        |(ops in prop::collection::vec(op(), 1..40))| {
        flush();
        same_answers(&MemoryStore::new(), &nodes, &ops);
    });
}

/// RFC 3261 §10.3 step 7 under a real race: two nodes get the same phone's
/// REGISTERs CSeq 2k (delayed) and 2k+1 at the same moment, 200 times. In
/// whatever order they run, the binding ends with CSeq 2k+1: the older one
/// is either applied first or refused, never written over the newer one
/// (the compare-and-set makes the loser decide again).
#[test]
fn racing_nodes_never_let_an_older_cseq_win() {
    let Some(server) = RedisServer::start("race") else {
        return;
    };
    let url = server.url();
    let nodes: Vec<RedisStore> = (0..2).map(|_| RedisStore::open(&url).unwrap()).collect();
    let cfg = RegistrarConfig::default();
    let alice = aor(0);
    let req = |cseq| {
        reg(
            &alice,
            "phone",
            cseq,
            vec![RegisterContact::Uri(ContactEntry::new(
                "sip:alice@192.0.2.1",
            ))],
            Some(600),
        )
    };
    for k in 1..=200u32 {
        // Both start together; a failed assertion ends the test, never
        // leaves a thread waiting.
        let start = std::sync::Barrier::new(2);
        let statuses: Vec<u16> = std::thread::scope(|s| {
            let racers: Vec<_> = nodes
                .iter()
                .zip([2 * k, 2 * k + 1])
                .map(|(node, cseq)| {
                    let (start, cfg, req) = (&start, &cfg, &req);
                    s.spawn(move || {
                        start.wait();
                        register(T0, &req(cseq), node, cfg).status()
                    })
                })
                .collect();
            racers.into_iter().map(|r| r.join().unwrap()).collect()
        });
        assert!(
            statuses.iter().all(|s| matches!(s, 200 | 500)),
            "{statuses:?}"
        );
        let b = nodes[0].lookup(&alice, T0).unwrap();
        assert_eq!(b[0].cseq, 2 * k + 1, "round {k}: {statuses:?}");
    }
}

/// The documented clock tolerance: with node A's clock `d` ahead of true
/// time and node B's `d` behind, a binding registered through A for 60 s is
/// seen through B until true time + 60 s + 2d, exactly the clocks'
/// difference late, and not a millisecond more.
#[test]
fn expiry_is_off_by_exactly_the_clock_difference_between_nodes() {
    let Some(server) = RedisServer::start("skew") else {
        return;
    };
    let url = server.url();
    let (a, b) = (
        RedisStore::open(&url).unwrap(),
        RedisStore::open(&url).unwrap(),
    );
    let d = 1_500u64;
    let t0 = T0; // true time of the REGISTER
    let req = reg(
        &aor(0),
        "c",
        1,
        vec![RegisterContact::Uri(ContactEntry::new(
            "sip:alice@192.0.2.1",
        ))],
        Some(60),
    );
    let out = register(UnixMs(t0.0 + d), &req, &a, &RegistrarConfig::default());
    assert_eq!(out.status(), 200, "{out:?}");
    let seen_by_b = |true_ms: u64| {
        let now_b = UnixMs(true_ms - d);
        b.lookup(&aor(0), now_b).unwrap().len()
    };
    let expiry = t0.plus_secs(60).0;
    assert_eq!(seen_by_b(expiry + 2 * d - 1), 1);
    assert_eq!(seen_by_b(expiry + 2 * d), 0);
    // A, whose clock wrote it, sees it end on time.
    assert_eq!(a.lookup(&aor(0), UnixMs(expiry - 1 + d)).unwrap().len(), 1);
    assert_eq!(a.lookup(&aor(0), UnixMs(expiry + d)).unwrap().len(), 0);
}
