//! A client and a server endpoint joined by a link that drops, duplicates
//! and delays (so reorders) datagrams, driven by a clock that jumps to the
//! next deadline or delivery (STYLE.md habit 4; quinn-proto's `Pair`,
//! str0m's netem). Whatever the link does, every transaction completes
//! once: the TU sees each request once and each final response once.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use sipkit_transaction::{Config, Event, TransactionKey, Transactions, Transmit, Transport};

use crate::harness::*;

/// xorshift64*: the link's own seeded randomness.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn chance(&mut self, p: f64) -> bool {
        ((self.next() >> 11) as f64 / (1u64 << 53) as f64) < p
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

struct Netem {
    drop: f64,
    duplicate: f64,
    max_delay_ms: u64,
    rng: Rng,
    seq: u64,
    /// (delivery time, order, to the server?, datagram)
    in_flight: Vec<(Instant, u64, bool, Transmit)>,
    dropped: usize,
    duplicated: usize,
}

impl Netem {
    fn send(&mut self, now: Instant, to_server: bool, t: Transmit) {
        if self.rng.chance(self.drop) {
            self.dropped += 1;
            return;
        }
        let copies = if self.rng.chance(self.duplicate) {
            2
        } else {
            1
        };
        self.duplicated += copies - 1;
        for _ in 0..copies {
            let at = now + Duration::from_millis(self.rng.below(self.max_delay_ms + 1));
            self.seq += 1;
            self.in_flight.push((at, self.seq, to_server, t.clone()));
        }
    }

    fn next_delivery(&self) -> Option<Instant> {
        self.in_flight.iter().map(|(at, ..)| *at).min()
    }

    fn due(&mut self, now: Instant) -> Vec<(bool, Transmit)> {
        let mut due: Vec<_> = Vec::new();
        let mut i = 0;
        while i < self.in_flight.len() {
            if self.in_flight[i].0 <= now {
                due.push(self.in_flight.swap_remove(i));
            } else {
                i += 1;
            }
        }
        due.sort_by_key(|(at, seq, ..)| (*at, *seq));
        due.into_iter().map(|(_, _, s, t)| (s, t)).collect()
    }
}

#[derive(Debug, Default)]
struct Outcome {
    requests_seen: HashMap<TransactionKey, usize>,
    finals: HashMap<TransactionKey, usize>,
    timeouts: Vec<String>,
    started: usize,
    malformed: usize,
}

/// Runs `invites` INVITEs (answered 486) and `others` OPTIONS (answered
/// 200), one every 100 ms, over the link.
fn run(
    seed: u64,
    drop: f64,
    duplicate: f64,
    max_delay_ms: u64,
    invites: usize,
    others: usize,
) -> (Outcome, Netem) {
    let mut client = Transactions::new(Config {
        seed,
        ..Config::default()
    });
    let mut server = Transactions::new(Config {
        seed: seed ^ 0xffff,
        ..Config::default()
    });
    let mut net = Netem {
        drop,
        duplicate,
        max_delay_ms,
        rng: Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1),
        seq: 0,
        in_flight: Vec::new(),
        dropped: 0,
        duplicated: 0,
    };
    let mut clock = Clock::new();
    let mut out = Outcome::default();
    // Alternate INVITE and OPTIONS while both remain, one every 100 ms.
    let (mut inv_left, mut opt_left) = (invites, others);
    let mut pending: Vec<(f64, &str)> = Vec::new();
    while inv_left + opt_left > 0 {
        let invite = inv_left > 0 && (pending.len().is_multiple_of(2) || opt_left == 0);
        if invite {
            inv_left -= 1;
        } else {
            opt_left -= 1;
        }
        pending.push((
            pending.len() as f64 / 10.0,
            if invite { "INVITE" } else { "OPTIONS" },
        ));
    }
    pending.reverse();
    let (alice, bob) = (addr(ALICE), addr(BOB));
    for _ in 0..1_000_000 {
        // Start the requests due now.
        while pending
            .last()
            .is_some_and(|(t, _)| clock.at(*t) <= clock.now)
        {
            let (_, method) = pending.pop().unwrap();
            let branch = client.new_branch();
            let req = request_with(method, &branch, &format!("{branch}@alice"), 1, "");
            client
                .send_request(clock.now, &req, bob, Transport::Udp)
                .unwrap();
            out.started += 1;
        }
        // Deliver what the link holds for now.
        for (to_server, t) in net.due(clock.now) {
            if to_server {
                server.handle_datagram(clock.now, &t.bytes, alice, bob, t.transport);
            } else {
                client.handle_datagram(clock.now, &t.bytes, bob, alice, t.transport);
            }
        }
        // Drain both sides; the server's TU answers at once.
        loop {
            let mut idle = true;
            while let Some(t) = client.poll_transmit() {
                net.send(clock.now, true, t);
                idle = false;
            }
            while let Some(t) = server.poll_transmit() {
                net.send(clock.now, false, t);
                idle = false;
            }
            while let Some(e) = server.poll_event() {
                idle = false;
                match e {
                    Event::Request { key, request, .. } => {
                        *out.requests_seen.entry(key.clone()).or_default() += 1;
                        let status = if key.method() == "INVITE" {
                            (486, "Busy Here")
                        } else {
                            (200, "OK")
                        };
                        server
                            .send_response(
                                clock.now,
                                &key,
                                &response(&request, status.0, status.1, Some("srv")),
                            )
                            .unwrap();
                    }
                    Event::Timeout { timer, .. } => out.timeouts.push(format!("server {timer}")),
                    Event::Malformed { .. } => out.malformed += 1,
                    _ => {}
                }
            }
            while let Some(e) = client.poll_event() {
                idle = false;
                match e {
                    Event::Response { key, status, .. } if status >= 200 => {
                        *out.finals.entry(key).or_default() += 1
                    }
                    Event::Timeout { timer, .. } => out.timeouts.push(format!("client {timer}")),
                    Event::Malformed { .. } => out.malformed += 1,
                    _ => {}
                }
            }
            if idle {
                break;
            }
        }
        let next_start = pending.last().map(|(t, _)| clock.at(*t));
        let next = [
            client.poll_timeout(),
            server.poll_timeout(),
            net.next_delivery(),
            next_start,
        ]
        .into_iter()
        .flatten()
        .min();
        let Some(at) = next else { break };
        clock.now = at.max(clock.now);
        client.handle_timeout(clock.now);
        server.handle_timeout(clock.now);
    }
    assert!(
        client.is_empty() && server.is_empty(),
        "every transaction ends"
    );
    (out, net)
}

fn check(out: &Outcome, net: &Netem, seed: u64) {
    assert_eq!(out.malformed, 0);
    assert!(out.timeouts.is_empty(), "seed {seed}: {:?}", out.timeouts);
    assert_eq!(
        out.requests_seen.len(),
        out.started,
        "seed {seed}: every request reached the server TU"
    );
    assert!(
        out.requests_seen.values().all(|&n| n == 1),
        "seed {seed}: the TU sees each request once"
    );
    assert_eq!(
        out.finals.len(),
        out.started,
        "seed {seed}: every transaction got its final response"
    );
    assert!(
        out.finals.values().all(|&n| n == 1),
        "seed {seed}: the TU sees each final response once"
    );
    assert!(net.in_flight.is_empty());
}

#[test]
fn drop_duplicate_and_delay_still_complete_every_transaction() {
    let (mut dropped, mut duplicated) = (0, 0);
    for seed in 1..=10 {
        let (out, net) = run(seed, 0.2, 0.1, 300, 5, 5);
        check(&out, &net, seed);
        dropped += net.dropped;
        duplicated += net.duplicated;
    }
    assert!(
        dropped > 50 && duplicated > 20,
        "the link really misbehaved: {dropped} dropped, {duplicated} duplicated"
    );
}

#[test]
fn heavier_loss_still_completes() {
    for seed in 100..105 {
        let (out, net) = run(seed, 0.3, 0.0, 50, 3, 3);
        check(&out, &net, seed);
    }
}

#[test]
fn duplicates_and_reordering_alone_are_absorbed() {
    for seed in 200..205 {
        let (out, net) = run(seed, 0.0, 0.5, 400, 4, 4);
        check(&out, &net, seed);
        assert!(net.duplicated > 0);
    }
}
