//! Random sequences of inputs — mutated and random datagrams, TU responses
//! to random keys, transport errors, clock jumps — never panic, and the
//! bookkeeping stays consistent (ARCHITECTURE.md: "Wire input never panics").

use proptest::prelude::*;

use sipkit_transaction::{Config, Event, TransactionKey, Transactions, Transport};

use crate::harness::*;

#[derive(Debug, Clone)]
enum Op {
    /// Receive message `which` (of a small corpus), possibly corrupted at `at` with `byte`.
    Receive {
        which: usize,
        corrupt: Option<(usize, u8)>,
        tcp: bool,
    },
    /// Receive random bytes.
    Garbage(Vec<u8>),
    /// The TU sends a request from the corpus.
    Send { which: usize, tcp: bool },
    /// The TU answers the `key`-th known key with `status`.
    Respond { key: usize, status: u16 },
    /// The driver reports a transport error for the `key`-th known key.
    Fail { key: usize },
    /// Cancel the `key`-th known key.
    Cancel { key: usize },
    /// The clock moves by this many milliseconds, then timers fire.
    Wait(u64),
}

fn corpus() -> Vec<Vec<u8>> {
    let inv = invite("z9hG4bKp1");
    let opt = options("z9hG4bKp2");
    vec![
        inv.clone(),
        opt.clone(),
        request("CANCEL", "z9hG4bKp1"),
        ack("z9hG4bKp1", "t"),
        ack("z9hG4bKp9", "t"),
        response(&inv, 100, "Trying", None),
        response(&inv, 180, "Ringing", Some("t")),
        response(&inv, 200, "OK", Some("t")),
        response(&inv, 486, "Busy Here", Some("t")),
        response(&opt, 200, "OK", Some("t")),
        response(&opt, 100, "Trying", None),
        text(&inv).replace(";branch=z9hG4bKp1", "").into_bytes(),
        text(&inv).replace("z9hG4bKp1", "z9hG4bK").into_bytes(),
        text(&ack("z9hG4bKp1", "t"))
            .replace(";branch=z9hG4bKp1", "")
            .into_bytes(),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..14usize, proptest::option::of((0..400usize, any::<u8>())), any::<bool>())
            .prop_map(|(which, corrupt, tcp)| Op::Receive { which, corrupt, tcp }),
        1 => proptest::collection::vec(any::<u8>(), 0..64).prop_map(Op::Garbage),
        2 => (0..14usize, any::<bool>()).prop_map(|(which, tcp)| Op::Send { which, tcp }),
        3 => (0..8usize, prop_oneof![Just(100u16), Just(180), Just(200), Just(486), 100..700u16])
            .prop_map(|(key, status)| Op::Respond { key, status }),
        1 => (0..8usize).prop_map(|key| Op::Fail { key }),
        1 => (0..8usize).prop_map(|key| Op::Cancel { key }),
        3 => prop_oneof![0..600u64, 0..40_000u64].prop_map(Op::Wait),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_inputs_never_panic(ops in proptest::collection::vec(op(), 1..40), udp_only in any::<bool>()) {
        let corpus = corpus();
        let mut tx = Transactions::new(Config::default());
        let mut clock = Clock::new();
        let mut keys: Vec<TransactionKey> = Vec::new();
        let mut live: i64 = 0;
        let transport = |tcp: bool| if tcp && !udp_only { Transport::Tcp } else { Transport::Udp };
        for op in ops {
            match op {
                Op::Receive { which, corrupt, tcp } => {
                    let mut m = corpus[which].clone();
                    if let Some((at, byte)) = corrupt {
                        let n = m.len();
                        m[at % n] = byte;
                    }
                    tx.handle_datagram(clock.now, &m, addr(ALICE), addr(BOB), transport(tcp));
                }
                Op::Garbage(bytes) => tx.handle_datagram(clock.now, &bytes, addr(ALICE), addr(BOB), Transport::Udp),
                Op::Send { which, tcp } => {
                    if let Ok(k) = tx.send_request(clock.now, &corpus[which], addr(BOB), transport(tcp)) {
                        keys.push(k);
                        live += 1;
                    }
                }
                Op::Respond { key, status } => {
                    if let Some(k) = keys.get(key).cloned() {
                        if let Some(req) = tx.request(&k) {
                            let resp = response(&req, status, "Reason", Some("t"));
                            let _ = tx.send_response(clock.now, &k, &resp);
                        }
                    }
                }
                Op::Fail { key } => {
                    if let Some(k) = keys.get(key) {
                        let _ = tx.handle_transport_error(clock.now, k);
                    }
                }
                Op::Cancel { key } => {
                    if let Some(k) = keys.get(key).cloned() {
                        if let Ok(c) = tx.cancel(clock.now, &k) {
                            keys.push(c);
                            live += 1;
                        }
                    }
                }
                Op::Wait(ms) => {
                    clock.now += std::time::Duration::from_millis(ms);
                    tx.handle_timeout(clock.now);
                }
            }
            while tx.poll_transmit().is_some() {}
            while let Some(e) = tx.poll_event() {
                match e {
                    Event::Request { key, .. } => {
                        keys.push(key);
                        live += 1;
                    }
                    Event::Terminated { .. } => live -= 1,
                    _ => {}
                }
            }
            prop_assert_eq!(live, tx.len() as i64, "every created transaction terminates exactly once");
            if let Some(at) = tx.poll_timeout() {
                prop_assert!(at > clock.now, "due timers were fired");
            }
        }
    }
}
