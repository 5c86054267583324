//! The test harness: a clock that only moves when told (it jumps to the
//! next deadline), message builders, and a log of what one endpoint sent
//! and told its TU, with times in seconds from the start (STYLE.md habit 4).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use sipkit_message::{parse, response_from_request, Message};
use sipkit_transaction::{Event, Transactions, Transmit};

pub const ALICE: &str = "192.0.2.1:5060";
pub const BOB: &str = "192.0.2.2:5060";

pub fn addr(s: &str) -> SocketAddr {
    s.parse().expect("test addresses are valid")
}

/// A clock: an epoch read once, then moved only by the test.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    pub start: Instant,
    pub now: Instant,
}

impl Clock {
    // The one clock read of the tests: an arbitrary epoch. Time moves only
    // when the test moves it.
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

    pub fn set(&mut self, secs: f64) {
        self.now = self.at(secs);
    }

    pub fn elapsed(&self) -> f64 {
        self.secs(self.now)
    }
}

/// What one endpoint sent and reported, with times in seconds.
#[derive(Debug, Default)]
pub struct Log {
    pub sent: Vec<(f64, Transmit)>,
    pub events: Vec<(f64, Event)>,
}

impl Log {
    /// When something was sent.
    pub fn send_times(&self) -> Vec<f64> {
        self.sent.iter().map(|(t, _)| *t).collect()
    }

    /// When something starting with `start_line` was sent.
    pub fn send_times_of(&self, start_line: &str) -> Vec<f64> {
        self.sent
            .iter()
            .filter(|(_, m)| first_line(&m.bytes).starts_with(start_line))
            .map(|(t, _)| *t)
            .collect()
    }

    /// Events as (time, short name): `Request INVITE`, `Response 180`, `Timeout B`, …
    pub fn names(&self) -> Vec<(f64, String)> {
        self.events.iter().map(|(t, e)| (*t, name(e))).collect()
    }
}

/// A short name for an event.
pub fn name(e: &Event) -> String {
    match e {
        Event::Request { key, .. } => format!("Request {}", key.method()),
        Event::Response { status, .. } => format!("Response {status}"),
        Event::Ack { key: Some(_), .. } => "Ack matched".into(),
        Event::Ack { key: None, .. } => "Ack".into(),
        Event::StrayResponse { status, .. } => format!("StrayResponse {status}"),
        Event::Timeout { timer, .. } => format!("Timeout {}", timer.name()),
        Event::TransportError { .. } => "TransportError".into(),
        Event::Terminated { .. } => "Terminated".into(),
        Event::Malformed { .. } => "Malformed".into(),
        _ => "other".into(),
    }
}

pub fn first_line(b: &[u8]) -> String {
    let s = String::from_utf8_lossy(b);
    s.lines().next().unwrap_or("").to_owned()
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Drains every output of `tx` into `log` at the current time.
pub fn drain(tx: &mut Transactions, clock: &Clock, log: &mut Log) {
    let t = clock.elapsed();
    while let Some(m) = tx.poll_transmit() {
        log.sent.push((t, m));
    }
    while let Some(e) = tx.poll_event() {
        log.events.push((t, e));
    }
}

/// Drains, then fires every deadline up to and including `until` seconds
/// (jumping the clock to each), then sets the clock to `until`.
pub fn run_until(tx: &mut Transactions, clock: &mut Clock, until: f64, log: &mut Log) {
    drain(tx, clock, log);
    while let Some(at) = tx.poll_timeout() {
        if clock.secs(at) > until {
            break;
        }
        assert!(
            at >= clock.now,
            "deadlines never lie in the past of the last input"
        );
        clock.now = at;
        tx.handle_timeout(at);
        drain(tx, clock, log);
    }
    clock.set(until);
}

/// Fires every deadline until none is left (bounded, in case of a bug).
pub fn run_all(tx: &mut Transactions, clock: &mut Clock, log: &mut Log) {
    run_until(tx, clock, 10_000.0, log);
}

pub fn request_with(method: &str, branch: &str, call_id: &str, cseq: u32, extra: &str) -> Vec<u8> {
    format!(
        "{method} sip:bob@192.0.2.2 SIP/2.0\r\n\
Via: SIP/2.0/UDP 192.0.2.1:5060;branch={branch}\r\n\
Max-Forwards: 70\r\n\
To: Bob <sip:bob@example.com>\r\n\
From: Alice <sip:alice@example.com>;tag=a1\r\n\
Call-ID: {call_id}\r\n\
CSeq: {cseq} {method}\r\n{extra}\
Content-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

pub fn request(method: &str, branch: &str) -> Vec<u8> {
    request_with(method, branch, "call1@192.0.2.1", 1, "")
}

pub fn invite(branch: &str) -> Vec<u8> {
    request("INVITE", branch)
}

pub fn options(branch: &str) -> Vec<u8> {
    request("OPTIONS", branch)
}

/// An ACK as a UAC builds it for a non-2xx (same branch) or, with a new
/// branch, for a 2xx.
pub fn ack(branch: &str, to_tag: &str) -> Vec<u8> {
    format!(
        "ACK sip:bob@192.0.2.2 SIP/2.0\r\n\
Via: SIP/2.0/UDP 192.0.2.1:5060;branch={branch}\r\n\
Max-Forwards: 70\r\n\
To: Bob <sip:bob@example.com>;tag={to_tag}\r\n\
From: Alice <sip:alice@example.com>;tag=a1\r\n\
Call-ID: call1@192.0.2.1\r\n\
CSeq: 1 ACK\r\n\
Content-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

/// A response to `req` (RFC 3261 §8.2.6), with a To tag unless `None`.
pub fn response(req: &[u8], status: u16, reason: &str, to_tag: Option<&str>) -> Vec<u8> {
    let Ok(Message::Request(r)) = parse(req) else {
        panic!("test request does not parse: {}", text(req))
    };
    let b = response_from_request(&r, status, reason);
    match to_tag {
        Some(t) => b.to_tag(t).build(),
        None => b.build(),
    }
}

/// The key of the only `Request` event in `log`.
pub fn request_key(log: &Log) -> sipkit_transaction::TransactionKey {
    let keys: Vec<_> = log
        .events
        .iter()
        .filter_map(|(_, e)| match e {
            Event::Request { key, .. } => Some(key.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        keys.len(),
        1,
        "expected one Request event: {:?}",
        log.names()
    );
    keys[0].clone()
}
