//! The test harness: synchronous agents on a simulated network that drops,
//! duplicates and delays datagrams (so reorders them), driven by a clock
//! that jumps to the next deadline or delivery — nothing sleeps, nothing
//! touches a socket (STYLE.md habit 4; the transaction layer's
//! `lossy_link.rs`, quinn-proto's `Pair`, str0m's netem).
//!
//! A node is either a [`sipkit_ua::Agent`] or a scripted peer: a bare
//! [`sipkit_ua::UaCore`] whose requests a closure answers (a redirect
//! server, a registrar).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use sipkit_message::{parse, Message, Request};
use sipkit_transaction::TransactionKey;
use sipkit_transport::Transport;
use sipkit_ua::{resolve_literal, Agent, AgentOptions, EpEvent, Note, UaCore};

pub fn addr(s: &str) -> SocketAddr {
    s.parse().expect("test addresses are valid")
}

/// A clock: an epoch read once, then moved only by the harness.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    pub start: Instant,
    pub now: Instant,
}

impl Clock {
    // The one clock read of the tests: an arbitrary epoch.
    #[allow(clippy::disallowed_methods)]
    pub fn new() -> Clock {
        let start = Instant::now();
        Clock { start, now: start }
    }

    pub fn at(&self, secs: f64) -> Instant {
        self.start + Duration::from_millis((secs * 1000.0).round() as u64)
    }

    pub fn secs(&self, t: Instant) -> f64 {
        (t - self.start).as_millis() as f64 / 1000.0
    }

    pub fn elapsed(&self) -> f64 {
        self.secs(self.now)
    }
}

/// xorshift64*: the link's own seeded randomness.
pub struct Rng(pub u64);

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

/// What the link does to each datagram.
#[derive(Debug, Clone, Copy)]
pub struct Netem {
    pub drop: f64,
    pub duplicate: f64,
    pub max_delay_ms: u64,
    pub seed: u64,
}

impl Netem {
    /// Every datagram arrives at once, in order.
    pub fn perfect() -> Netem {
        Netem {
            drop: 0.0,
            duplicate: 0.0,
            max_delay_ms: 0,
            seed: 1,
        }
    }

    /// Drops 20 %, duplicates 10 %, delays up to 150 ms (so reorders).
    pub fn lossy(seed: u64) -> Netem {
        Netem {
            drop: 0.2,
            duplicate: 0.1,
            max_delay_ms: 150,
            seed: seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1,
        }
    }
}

/// A scripted peer's answer to one request: it may respond through the core.
pub type Script = Box<dyn FnMut(&mut UaCore, Instant, &TransactionKey, &Request<'_>)>;

pub enum Node {
    Agent(Box<Agent>),
    Scripted(Box<UaCore>, Script),
}

/// One datagram on the wire, as the log keeps it.
#[derive(Debug, Clone)]
pub struct Wire {
    pub at: f64,
    pub from: SocketAddr,
    pub to: SocketAddr,
    pub bytes: Vec<u8>,
    pub dropped: bool,
}

impl Wire {
    pub fn first_line(&self) -> String {
        first_line(&self.bytes)
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
    /// `INVITE`, `ACK`, … for a request; `200 INVITE` for a response.
    pub fn what(&self) -> String {
        let l = self.first_line();
        match l.strip_prefix("SIP/2.0 ") {
            Some(rest) => {
                let code = rest.split(' ').next().unwrap_or("");
                format!("{code} {}", cseq_method(&self.bytes))
            }
            None => l.split(' ').next().unwrap_or("").to_owned(),
        }
    }
}

pub fn first_line(b: &[u8]) -> String {
    String::from_utf8_lossy(b)
        .lines()
        .next()
        .unwrap_or("")
        .to_owned()
}

pub fn cseq_method(b: &[u8]) -> String {
    header(b, "CSeq")
        .and_then(|v| v.split(' ').nth(1).map(str::to_owned))
        .unwrap_or_default()
}

/// The value of the first header `name` (case-insensitive) in a message.
pub fn header(b: &[u8], name: &str) -> Option<String> {
    let text = String::from_utf8_lossy(b);
    for line in text.lines().skip(1) {
        if line.is_empty() {
            break;
        }
        if let Some((n, v)) = line.split_once(':') {
            if n.trim().eq_ignore_ascii_case(name) {
                return Some(v.trim().to_owned());
            }
        }
    }
    None
}

/// Decides to drop one particular datagram (on top of the random loss).
pub type DropRule = Box<dyn FnMut(&Wire) -> bool>;

/// Agents and scripted peers joined by one simulated network.
pub struct Net {
    pub clock: Clock,
    pub nodes: BTreeMap<SocketAddr, Node>,
    /// A stateless forking proxy: a datagram to the key goes to each address.
    pub forks: BTreeMap<SocketAddr, Vec<SocketAddr>>,
    pub netem: Netem,
    rng: Rng,
    seq: u64,
    in_flight: Vec<(Instant, u64, SocketAddr, SocketAddr, Vec<u8>)>,
    pub wire: Vec<Wire>,
    pub notes: Vec<(f64, SocketAddr, Note)>,
    pub drop_rules: Vec<DropRule>,
}

impl Net {
    pub fn new(netem: Netem) -> Net {
        Net {
            clock: Clock::new(),
            nodes: BTreeMap::new(),
            forks: BTreeMap::new(),
            rng: Rng(netem.seed),
            netem,
            seq: 0,
            in_flight: Vec::new(),
            wire: Vec::new(),
            notes: Vec::new(),
            drop_rules: Vec::new(),
        }
    }

    /// Adds a started agent at `at` (UDP), with tags and branches from `seed`.
    pub fn agent(&mut self, at: &str, opts: AgentOptions, seed: u64) -> SocketAddr {
        let a = addr(at);
        let core = UaCore::new(Transport::Udp, a, seed);
        let mut agent = Agent::new(
            self.clock.now,
            core,
            opts,
            format!("udp:{a}"),
            resolve_literal,
        );
        agent.start(self.clock.now).expect("the agent starts");
        self.nodes.insert(a, Node::Agent(Box::new(agent)));
        a
    }

    /// Adds a scripted peer at `at`.
    pub fn scripted(&mut self, at: &str, seed: u64, script: Script) -> SocketAddr {
        let a = addr(at);
        let core = UaCore::new(Transport::Udp, a, seed);
        self.nodes.insert(a, Node::Scripted(Box::new(core), script));
        a
    }

    pub fn get(&mut self, a: SocketAddr) -> &mut Agent {
        match self.nodes.get_mut(&a) {
            Some(Node::Agent(x)) => x,
            _ => panic!("no agent at {a}"),
        }
    }

    /// Runs a command on the agent at `a` at the current time.
    pub fn with<T>(&mut self, a: SocketAddr, f: impl FnOnce(&mut Agent, Instant) -> T) -> T {
        let now = self.clock.now;
        let out = f(self.get(a), now);
        self.collect();
        out
    }

    fn send(&mut self, from: SocketAddr, to: SocketAddr, bytes: Vec<u8>) {
        let now = self.clock.now;
        let mut w = Wire {
            at: self.clock.elapsed(),
            from,
            to,
            bytes,
            dropped: false,
        };
        let mut ruled = false;
        for r in &mut self.drop_rules {
            if r(&w) {
                ruled = true;
            }
        }
        if ruled || self.rng.chance(self.netem.drop) {
            w.dropped = true;
            self.wire.push(w);
            return;
        }
        let copies = if self.rng.chance(self.netem.duplicate) {
            2
        } else {
            1
        };
        let targets = self.forks.get(&to).cloned().unwrap_or_else(|| vec![to]);
        for _ in 0..copies {
            for t in &targets {
                let delay = self.rng.below(self.netem.max_delay_ms + 1);
                self.seq += 1;
                self.in_flight.push((
                    now + Duration::from_millis(delay),
                    self.seq,
                    from,
                    *t,
                    w.bytes.clone(),
                ));
            }
        }
        self.wire.push(w);
    }

    /// Drains every node's outputs into the network and the log.
    fn collect(&mut self) {
        let t = self.clock.elapsed();
        let mut out = Vec::new();
        for (a, n) in &mut self.nodes {
            match n {
                Node::Agent(x) => {
                    while let Some(tx) = x.poll_transmit() {
                        out.push((*a, tx.destination, tx.bytes));
                    }
                    while let Some(note) = x.poll_note() {
                        self.notes.push((t, *a, note));
                    }
                }
                Node::Scripted(core, script) => {
                    while let Some(ev) = core.poll_event() {
                        if let EpEvent::Request { key, bytes, .. } = ev {
                            if let Ok(Message::Request(r)) = parse(&bytes) {
                                script(core, self.clock.now, &key, &r);
                            }
                        }
                    }
                    while let Some(tx) = core.poll_transmit() {
                        out.push((*a, tx.destination, tx.bytes));
                    }
                }
            }
        }
        for (from, to, bytes) in out {
            self.send(from, to, bytes.to_vec());
        }
    }

    fn next_deadline(&mut self) -> Option<Instant> {
        let mut all: Vec<Instant> = self.in_flight.iter().map(|f| f.0).collect();
        for n in self.nodes.values_mut() {
            match n {
                Node::Agent(x) => all.extend(x.poll_timeout()),
                Node::Scripted(core, _) => all.extend(core.poll_timeout()),
            }
        }
        all.into_iter().min()
    }

    /// Delivers and fires everything up to `until` seconds, jumping the
    /// clock from one delivery or deadline to the next; then sets the clock
    /// to `until`.
    pub fn run_until(&mut self, until: f64) {
        let end = self.clock.at(until);
        for _ in 0..100_000 {
            self.collect();
            let Some(at) = self.next_deadline() else {
                break;
            };
            if at > end {
                break;
            }
            if at > self.clock.now {
                self.clock.now = at;
            }
            let now = self.clock.now;
            let mut due: Vec<_> = Vec::new();
            let mut i = 0;
            while i < self.in_flight.len() {
                if self.in_flight[i].0 <= now {
                    due.push(self.in_flight.swap_remove(i));
                } else {
                    i += 1;
                }
            }
            due.sort_by_key(|d| (d.0, d.1));
            for (_, _, from, to, bytes) in due {
                match self.nodes.get_mut(&to) {
                    Some(Node::Agent(x)) => x
                        .handle_datagram(now, &bytes, from, to, Transport::Udp)
                        .expect("the agent takes the datagram"),
                    Some(Node::Scripted(core, _)) => {
                        core.handle_datagram(now, &bytes, from, to, Transport::Udp)
                    }
                    None => {}
                }
                self.collect();
            }
            for n in self.nodes.values_mut() {
                match n {
                    Node::Agent(x) => {
                        if x.poll_timeout().is_some_and(|t| t <= now) {
                            x.handle_timeout(now).expect("the agent takes the timeout");
                        }
                    }
                    Node::Scripted(core, _) => {
                        if core.poll_timeout().is_some_and(|t| t <= now) {
                            core.handle_timeout(now);
                        }
                    }
                }
            }
        }
        self.collect();
        if self.clock.now < end {
            self.clock.now = end;
        }
    }

    /// What crossed the wire from `from` to `to`, delivered or not: (time, what).
    pub fn sent(&self, from: SocketAddr, to: SocketAddr) -> Vec<(f64, String)> {
        self.wire
            .iter()
            .filter(|w| w.from == from && w.to == to)
            .map(|w| (w.at, w.what()))
            .collect()
    }

    /// The times `from` sent `what` (`INVITE`, `200 INVITE`, …) to anyone.
    pub fn times(&self, from: SocketAddr, what: &str) -> Vec<f64> {
        self.wire
            .iter()
            .filter(|w| w.from == from && w.what() == what)
            .map(|w| w.at)
            .collect()
    }

    /// The messages `from` sent whose `what()` is `what`.
    pub fn messages(&self, from: SocketAddr, what: &str) -> Vec<Wire> {
        self.wire
            .iter()
            .filter(|w| w.from == from && w.what() == what)
            .cloned()
            .collect()
    }

    /// The Info notes of the agent at `a`.
    pub fn infos(&self, a: SocketAddr) -> Vec<String> {
        self.notes
            .iter()
            .filter(|(_, at, _)| *at == a)
            .filter_map(|(_, _, n)| match n {
                Note::Info { text } => Some(text.clone()),
                _ => None,
            })
            .collect()
    }
}

/// A response to `req` with `status`, a To tag, and extra header lines.
pub fn respond(
    core: &mut UaCore,
    now: Instant,
    key: &TransactionKey,
    req: &Request<'_>,
    status: u16,
    reason: &str,
    extra: &[(&str, &str)],
) {
    let mut b = sipkit_message::response_from_request(req, status, reason);
    if status > 100 {
        b = b.to_tag("scripted");
    }
    for (n, v) in extra {
        b = b.raw_header(n, v);
    }
    core.respond(now, key, &b.build())
        .expect("the scripted response is valid");
}
