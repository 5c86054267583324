//! What the analysis looks like to a user: the summary and calls as text,
//! one call's ladder for a terminal, and JSON lines. Every sentence comes
//! from the data files (findings, headings) or from `sipkit_codes` (the
//! meaning of each response code), in the language asked for.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;
use serde_json::{json, Map, Value};
use sipkit_codes::{explain, Lang};

use crate::analyze::{Call, Kind, Summary};
use crate::findings::{text, ui, FindingId};

/// The percentiles reported.
pub const PERCENTILES: [(&str, f64); 3] = [("p50", 50.0), ("p95", 95.0), ("p99", 99.0)];

/// The registered reason phrase (else the one seen) and the one-sentence
/// meaning of a response code, from the reference.
pub fn code_text(code: u16, seen: &str, lang: Lang) -> (String, String) {
    match explain(code, lang) {
        Ok(e) => (e.reason.unwrap_or_else(|| seen.to_owned()), e.summary),
        Err(_) => (seen.to_owned(), String::new()),
    }
}

/// An outcome's word in `lang`.
pub fn outcome_label(call: &Call, lang: Lang) -> &'static str {
    text(lang, "outcome", call.outcome.as_str())
}

fn ms(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{v:.1}"))
}

/// The summary as text, like `tshark -z sip,stat` plus response times.
pub fn summary_text(s: &Summary, lang: Lang) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "== {} ==", ui(lang, "summary"));
    let _ = writeln!(
        o,
        "{}: {}   {}: {}   {}: {}   {}: {}",
        ui(lang, "packets"),
        s.packets,
        ui(lang, "sip_messages"),
        s.sip_messages,
        ui(lang, "retransmissions"),
        s.retransmissions,
        ui(lang, "calls"),
        s.calls
    );
    let _ = writeln!(o, "\n{}", ui(lang, "requests"));
    for (m, n) in &s.requests {
        let _ = writeln!(o, "  {m:<12} {n:>8}");
    }
    let _ = writeln!(o, "\n{}", ui(lang, "responses"));
    for (code, n) in &s.responses {
        let seen = s.reasons.get(code).map(String::as_str).unwrap_or("");
        let (reason, meaning) = code_text(*code, seen, lang);
        let _ = writeln!(o, "  {code} {reason:<28} {n:>8}  {meaning}");
    }
    let _ = writeln!(o, "\n{}", ui(lang, "response_times"));
    for (m, h) in &s.response_time {
        let _ = write!(o, "  {m:<12}");
        for (name, p) in PERCENTILES {
            let _ = write!(o, " {name} {:>9}", ms(h.percentile_ms(p)));
        }
        let _ = writeln!(o, "   n={}", h.count());
    }
    if s.setup_time.count() > 0 {
        let _ = write!(o, "\n{}\n  {:<12}", ui(lang, "setup_time"), "INVITE");
        for (name, p) in PERCENTILES {
            let _ = write!(o, " {name} {:>9}", ms(s.setup_time.percentile_ms(p)));
        }
        let _ = writeln!(o, "   n={}", s.setup_time.count());
    }
    if !s.findings.is_empty() {
        let _ = writeln!(o, "\n{}", ui(lang, "finding_counts"));
        for (id, n) in &s.findings {
            let _ = writeln!(
                o,
                "  {:<8} {:<24} {n:>8}",
                id.severity().label(lang),
                id.as_str()
            );
        }
    }
    for f in &s.orphan_findings {
        let _ = writeln!(
            o,
            "  [{}] {} ({}): {}",
            f.id.severity().label(lang),
            f.id.as_str(),
            f.id.spec(),
            f.message(lang)
        );
    }
    o
}

/// One call as a few lines: id, outcome, counts, findings.
pub fn call_text(c: &Call, lang: Lang) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{} {}  {}: {}  ({} {}, #{}-#{})",
        ui(lang, "call"),
        c.call_id,
        ui(lang, "outcome"),
        outcome_label(c, lang),
        c.messages.len() as u64 + c.dropped_messages,
        ui(lang, "messages"),
        c.first_frame(),
        c.messages.last().map_or(0, |m| m.frame)
    );
    if !c.from.is_empty() {
        let _ = writeln!(o, "  {} -> {}", c.from, c.to);
    }
    if !c.links.is_empty() {
        let _ = writeln!(o, "  {}: {}", ui(lang, "linked"), c.links.join(", "));
    }
    for f in &c.findings {
        let _ = writeln!(
            o,
            "  [{}] {} ({}): {}",
            f.id.severity().label(lang),
            f.id.as_str(),
            f.id.spec(),
            f.message(lang)
        );
    }
    o
}

/// A message's label: `INVITE sip:bob@b`, `302 Moved Temporarily`.
pub fn label(kind: &Kind) -> String {
    match kind {
        Kind::Request { method, uri } => format!("{method} {uri}"),
        Kind::Response { status, reason } => format!("{status} {reason}"),
        Kind::Malformed { error } => format!("(malformed: {error})"),
    }
}

/// One call's ladder for a terminal: every message with its time (s from
/// the call's start), frame, direction and endpoints; responses with their
/// meaning; then the findings.
pub fn ladder_text(c: &Call, lang: Lang) -> String {
    let mut o = call_text(c, lang);
    o.push('\n');
    let mut cache: BTreeMap<u16, String> = BTreeMap::new();
    for m in &c.messages {
        let t = (m.ts_ns - c.first_ns) as f64 / 1e9;
        let _ = write!(
            o,
            "{t:>10.6}  #{:<7} {:>22} -> {:<22} {:<3} {}",
            m.frame,
            m.src.to_string(),
            m.dst.to_string(),
            m.transport.as_str(),
            label(&m.kind)
        );
        if m.retransmission {
            let _ = write!(o, "  ({})", ui(lang, "retransmission"));
        }
        if let Kind::Response { status, reason } = &m.kind {
            let meaning = cache
                .entry(*status)
                .or_insert_with(|| code_text(*status, reason, lang).1);
            if !meaning.is_empty() {
                let _ = write!(o, "\n{:>52}{meaning}", "");
            }
        }
        o.push('\n');
    }
    o
}

/// A message of a call as JSON.
#[derive(Debug, Serialize)]
pub struct MessageJson<'a> {
    frame: u64,
    time: Fixed,
    src: std::net::SocketAddr,
    dst: std::net::SocketAddr,
    transport: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    method: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    uri: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    malformed: Option<&'a str>,
    cseq: CSeqJson<'a>,
    retransmission: bool,
}

/// `"1 INVITE"`, written without an intermediate string.
#[derive(Debug)]
struct CSeqJson<'a>(u32, &'a str);

impl Serialize for CSeqJson<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!("{} {}", self.0, self.1))
    }
}

/// A time in nanoseconds written as an exact decimal number of seconds or
/// milliseconds (`1700000000.02`, `250.5`): every digit the capture has,
/// none that a binary float would invent, and no float formatting.
#[derive(Debug, Clone, Copy)]
pub struct Fixed {
    ns: i64,
    /// In milliseconds, not seconds.
    millis: bool,
}

impl Fixed {
    /// `ns` in seconds.
    pub fn seconds(ns: i64) -> Self {
        Fixed { ns, millis: false }
    }

    /// `ns` in milliseconds.
    pub fn millis(ns: i64) -> Self {
        Fixed { ns, millis: true }
    }

    /// Appends the number: the whole units, a point and the fraction's
    /// significant digits (at least one, as `1.0`).
    pub fn write(self, out: &mut Vec<u8>) {
        if self.ns < 0 {
            out.push(b'-');
        }
        let abs = self.ns.unsigned_abs();
        // Constant divisors, so no division instruction.
        let (whole, mut frac, mut places) = if self.millis {
            (abs / 1_000_000, abs % 1_000_000, 6)
        } else {
            (abs / 1_000_000_000, abs % 1_000_000_000, 9)
        };
        out.extend_from_slice(itoa::Buffer::new().format(whole).as_bytes());
        out.push(b'.');
        // The fraction without its trailing zeros (at least one digit),
        // its digits written from the right.
        if frac == 0 {
            out.push(b'0');
            return;
        }
        while frac % 10 == 0 {
            frac /= 10;
            places -= 1;
        }
        let mut digits = [b'0'; 9];
        for d in digits[..places].iter_mut().rev() {
            *d = b'0' + (frac % 10) as u8;
            frac /= 10;
        }
        out.extend_from_slice(&digits[..places]);
    }
}

impl Serialize for Fixed {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut text = Vec::with_capacity(24);
        self.write(&mut text);
        // ASCII digits, so always UTF-8 and always a JSON number.
        let text = String::from_utf8(text).map_err(serde::ser::Error::custom)?;
        serde_json::value::RawValue::from_string(text)
            .map_err(serde::ser::Error::custom)?
            .serialize(s)
    }
}

/// A finding as JSON.
#[derive(Debug, Serialize)]
pub struct FindingJson<'a> {
    id: &'static str,
    severity: &'static str,
    packets: &'a [u64],
    message: String,
    spec: &'static str,
}

/// A call as the JSON object of `--format json` (`"type": "call"`).
#[derive(Debug, Serialize)]
pub struct CallJson<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    call_id: &'a str,
    outcome: &'static str,
    from: &'a str,
    to: &'a str,
    start: Fixed,
    duration_ms: Fixed,
    links: &'a [String],
    messages: Vec<MessageJson<'a>>,
    dropped_messages: u64,
    findings: Vec<FindingJson<'a>>,
}

/// A call as the JSON object of `--format json` (`"type": "call"`); it
/// borrows the call and serializes without building a tree.
pub fn call_json(c: &Call, lang: Lang) -> CallJson<'_> {
    let messages = c
        .messages
        .iter()
        .map(|m| {
            let (method, uri, status, reason, malformed) = match &m.kind {
                Kind::Request { method, uri } => {
                    (Some(method.as_ref()), Some(&**uri), None, None, None)
                }
                Kind::Response { status, reason } => {
                    (None, None, Some(*status), Some(reason.as_ref()), None)
                }
                Kind::Malformed { error } => (None, None, None, None, Some(error.as_str())),
            };
            MessageJson {
                frame: m.frame,
                time: Fixed::seconds(m.ts_ns),
                src: m.src,
                dst: m.dst,
                transport: m.transport.as_str(),
                method,
                uri,
                status,
                reason,
                malformed,
                cseq: CSeqJson(m.cseq.0, &m.cseq.1),
                retransmission: m.retransmission,
            }
        })
        .collect();
    let findings = c
        .findings
        .iter()
        .map(|f| FindingJson {
            id: f.id.as_str(),
            severity: f.id.severity().as_str(),
            packets: &f.packets,
            message: f.message(lang),
            spec: f.id.spec(),
        })
        .collect();
    CallJson {
        kind: "call",
        call_id: &c.call_id,
        outcome: c.outcome.as_str(),
        from: &c.from,
        to: &c.to,
        start: Fixed::seconds(c.first_ns),
        duration_ms: Fixed::millis(c.last_ns - c.first_ns),
        links: &c.links,
        messages,
        dropped_messages: c.dropped_messages,
        findings,
    }
}

/// Milliseconds to the microsecond.
fn round3(v: Option<f64>) -> Option<f64> {
    v.map(|v| (v * 1000.0).round() / 1000.0)
}

/// The summary as the last JSON object of `--format json`.
pub fn summary_json(s: &Summary) -> Value {
    let times: Map<String, Value> = s
        .response_time
        .iter()
        .map(|(m, h)| {
            let p: Map<String, Value> = PERCENTILES
                .iter()
                .map(|(n, p)| ((*n).to_owned(), json!(round3(h.percentile_ms(*p)))))
                .collect();
            (m.clone(), Value::Object(p))
        })
        .collect();
    let setup: Map<String, Value> = PERCENTILES
        .iter()
        .map(|(n, p)| {
            (
                (*n).to_owned(),
                json!(round3(s.setup_time.percentile_ms(*p))),
            )
        })
        .collect();
    let responses: Map<String, Value> = s
        .responses
        .iter()
        .map(|(c, n)| (c.to_string(), json!(n)))
        .collect();
    let findings: Map<String, Value> = FindingId::ALL
        .iter()
        .filter_map(|id| {
            s.findings
                .get(id)
                .map(|n| (id.as_str().to_owned(), json!(n)))
        })
        .collect();
    json!({
        "type": "summary",
        "packets": s.packets,
        "sip_messages": s.sip_messages,
        "calls": s.calls,
        "requests": s.requests,
        "responses": responses,
        "retransmissions": s.retransmissions,
        "response_time_ms": times,
        "setup_time_ms": setup,
        "findings": findings,
        "not_sip": s.not_sip,
        "not_ip": s.not_ip,
        "unknown_link": s.unknown_link,
        "tcp_retransmitted_segments": s.tcp_retransmitted_segments,
        "defrag_dropped": s.defrag_dropped,
    })
}

/// Appends a JSON string as `serde_json` writes it: plain strings are copied
/// as they are, anything with a quote, backslash or control character goes
/// through `serde_json`'s escaping.
fn json_str(out: &mut Vec<u8>, s: &str) {
    if needs_escape(s.as_bytes()) {
        // Writing into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, s);
    } else {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    }
}

fn json_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

/// True if `b` holds a byte JSON escapes: a control character, `"` or `\\`.
/// Eight bytes a step (the SWAR tests for a zero byte and for a byte below
/// a bound, on `x ^ repeat(c)` and on `x`); the tail is the last eight
/// bytes again, or, in a string shorter than eight, padded with a byte that
/// needs no escape.
fn needs_escape(b: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let word = |c: &[u8]| {
        let mut w = [b'a'; 8];
        w[..c.len()].copy_from_slice(c);
        let x = u64::from_le_bytes(w);
        let below = |x: u64, n: u64| x.wrapping_sub(ONES * n) & !x & HIGH;
        below(x, 0x20) | below(x ^ (ONES * 0x22), 1) | below(x ^ (ONES * 0x5c), 1)
    };
    if b.len() < 8 {
        return word(b) != 0;
    }
    let mut chunks = b.chunks_exact(8);
    let mut hit = 0;
    for c in &mut chunks {
        hit |= word(c);
    }
    if !chunks.remainder().is_empty() {
        hit |= word(&b[b.len() - 8..]);
    }
    hit != 0
}

/// A constant of this crate that needs no escaping, copied as it is.
fn json_plain(out: &mut Vec<u8>, s: &str) {
    debug_assert!(!needs_escape(s.as_bytes()));
    out.push(b'"');
    out.extend_from_slice(s.as_bytes());
    out.push(b'"');
}

/// The addresses a call's JSON has written so far, and where: a call goes
/// back and forth between a few, copied from the first time.
#[derive(Default)]
struct AddrCache {
    seen: [(Option<std::net::SocketAddr>, usize, usize); 4],
    next: usize,
}

impl AddrCache {
    fn write(&mut self, out: &mut Vec<u8>, a: &std::net::SocketAddr) {
        if let Some((_, from, to)) = self.seen.iter().find(|(s, ..)| s.as_ref() == Some(a)) {
            out.extend_from_within(*from..*to);
            return;
        }
        let from = out.len();
        json_addr(out, a);
        self.seen[self.next % 4] = (Some(*a), from, out.len());
        self.next += 1;
    }
}

/// A socket address as a JSON string (`"192.0.2.1:5060"`, `"[2001:db8::1]:5060"`).
fn json_addr(out: &mut Vec<u8>, a: &std::net::SocketAddr) {
    match a {
        std::net::SocketAddr::V4(v4) => {
            // `"255.255.255.255:65535"` is 23 bytes: built on the stack,
            // then one copy.
            let mut t = [0u8; 24];
            t[0] = b'"';
            let mut n = 1;
            for (i, o) in v4.ip().octets().into_iter().enumerate() {
                if i > 0 {
                    t[n] = b'.';
                    n += 1;
                }
                let [len, d @ ..] = OCTETS[usize::from(o)];
                t[n..n + 3].copy_from_slice(&d);
                n += usize::from(len);
            }
            t[n] = b':';
            n = decimal(&mut t, n + 1, u32::from(v4.port()));
            t[n] = b'"';
            out.extend_from_slice(&t[..n + 1]);
        }
        std::net::SocketAddr::V6(_) => json_str(out, &a.to_string()),
    }
}

/// Every byte value in decimal: its length, then its digits (padded).
const OCTETS: [[u8; 4]; 256] = {
    let mut t = [[0u8; 4]; 256];
    let mut v = 0;
    while v < 256 {
        let (h, d, u) = ((v / 100) as u8, (v / 10 % 10) as u8, (v % 10) as u8);
        t[v] = if v >= 100 {
            [3, b'0' + h, b'0' + d, b'0' + u]
        } else if v >= 10 {
            [2, b'0' + d, b'0' + u, 0]
        } else {
            [1, b'0' + u, 0, 0]
        };
        v += 1;
    }
    t
};

/// Writes `v` (at most 65535) in decimal at `t[n..]`; returns the end.
fn decimal(t: &mut [u8; 24], n: usize, v: u32) -> usize {
    let digits = match v {
        0..=9 => 1,
        10..=99 => 2,
        100..=999 => 3,
        1000..=9999 => 4,
        _ => 5,
    };
    let mut v = v;
    for k in (n..n + digits).rev() {
        if let Some(d) = t.get_mut(k) {
            *d = b'0' + (v % 10) as u8;
        }
        v /= 10;
    }
    n + digits
}

/// Appends a call as the JSON object of `--format json` (`"type": "call"`),
/// byte for byte what `serde_json` writes for [`call_json`], without its
/// per-field formatting machinery.
pub fn write_call_json(out: &mut Vec<u8>, c: &Call, lang: Lang) {
    let mut addrs = AddrCache::default();
    out.reserve(256 * c.messages.len().min(4096) + 512);
    out.extend_from_slice(b"{\"type\":\"call\",\"call_id\":");
    json_str(out, &c.call_id);
    out.extend_from_slice(b",\"outcome\":");
    json_plain(out, c.outcome.as_str());
    out.extend_from_slice(b",\"from\":");
    json_str(out, &c.from);
    out.extend_from_slice(b",\"to\":");
    json_str(out, &c.to);
    out.extend_from_slice(b",\"start\":");
    Fixed::seconds(c.first_ns).write(out);
    out.extend_from_slice(b",\"duration_ms\":");
    Fixed::millis(c.last_ns - c.first_ns).write(out);
    out.extend_from_slice(b",\"links\":[");
    for (i, l) in c.links.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        json_str(out, l);
    }
    out.extend_from_slice(b"],\"messages\":[");
    for (i, m) in c.messages.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"frame\":");
        json_u64(out, m.frame);
        out.extend_from_slice(b",\"time\":");
        Fixed::seconds(m.ts_ns).write(out);
        out.extend_from_slice(b",\"src\":");
        addrs.write(out, &m.src);
        out.extend_from_slice(b",\"dst\":");
        addrs.write(out, &m.dst);
        out.extend_from_slice(b",\"transport\":");
        json_plain(out, m.transport.as_str());
        match &m.kind {
            Kind::Request { method, uri } => {
                out.extend_from_slice(b",\"method\":");
                json_str(out, method);
                out.extend_from_slice(b",\"uri\":");
                json_str(out, uri);
            }
            Kind::Response { status, reason } => {
                out.extend_from_slice(b",\"status\":");
                json_u64(out, u64::from(*status));
                out.extend_from_slice(b",\"reason\":");
                json_str(out, reason);
            }
            Kind::Malformed { error } => {
                out.extend_from_slice(b",\"malformed\":");
                json_str(out, error);
            }
        }
        out.extend_from_slice(b",\"cseq\":");
        let method = &m.cseq.1;
        if needs_escape(method.as_bytes()) {
            json_str(out, &format!("{} {}", m.cseq.0, method));
        } else {
            out.push(b'"');
            json_u64(out, u64::from(m.cseq.0));
            out.push(b' ');
            out.extend_from_slice(method.as_bytes());
            out.push(b'"');
        }
        out.extend_from_slice(if m.retransmission {
            b",\"retransmission\":true}"
        } else {
            b",\"retransmission\":false}"
        });
    }
    out.extend_from_slice(b"],\"dropped_messages\":");
    json_u64(out, c.dropped_messages);
    out.extend_from_slice(b",\"findings\":[");
    for (i, f) in c.findings.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"id\":");
        json_str(out, f.id.as_str());
        out.extend_from_slice(b",\"severity\":");
        json_str(out, f.id.severity().as_str());
        out.extend_from_slice(b",\"packets\":[");
        for (j, p) in f.packets.iter().enumerate() {
            if j > 0 {
                out.push(b',');
            }
            json_u64(out, *p);
        }
        out.extend_from_slice(b"],\"message\":");
        json_str(out, &f.message(lang));
        out.extend_from_slice(b",\"spec\":");
        json_str(out, f.id.spec());
        out.push(b'}');
    }
    out.extend_from_slice(b"]}");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reader::CaptureReader;
    use crate::synth::{pcap, scenario, Link, Wire};
    use crate::Pipeline;

    fn calls() -> Vec<Call> {
        let mut wire = Wire::new(Link::Ethernet(vec![]));
        let mut msgs = Vec::new();
        for n in 0..3 {
            msgs.extend(scenario::bench_round(
                n,
                1_700_000_000_000_000_000 + n as i64,
            ));
        }
        msgs.extend(scenario::transfer(
            7,
            1_700_000_100_000_000_000,
            "503 Service Unavailable",
        ));
        msgs.sort_by_key(|m| m.ts_ns);
        let frames = wire.all(&msgs);
        let file = pcap(wire.link.linktype(), false, false, &frames);
        let mut reader = CaptureReader::new();
        let mut pipeline = Pipeline::default();
        reader.push(&file);
        while let Ok(Some(r)) = reader.next_record() {
            pipeline.frame(&r);
        }
        pipeline.finish();
        let mut out = Vec::new();
        while let Some(c) = pipeline.poll_call() {
            out.push(c);
        }
        out
    }

    #[test]
    fn hand_written_json_is_serde_json_byte_for_byte() {
        let mut calls = calls();
        assert!(calls.len() > 5);
        // Strings that need escaping, a link, an IPv6 address, odd numbers.
        let c = &mut calls[0];
        c.call_id = "q\"uote\\back\u{1}slash é".into();
        c.from = "sip:a\tb@h".into();
        c.links = vec!["x".into(), "y\"".into()];
        c.first_ns = -5;
        c.dropped_messages = 3;
        if let Some(m) = c.messages.first_mut() {
            m.src = "[2001:db8::1]:5060".parse().unwrap_or(m.src);
            m.cseq.1 = "WEIRD\"".to_owned().into();
            m.kind = Kind::Malformed {
                error: "bad \n line".into(),
            };
        }
        for lang in [Lang::EN, Lang::RU] {
            for c in &calls {
                let mut mine = Vec::new();
                write_call_json(&mut mine, c, lang);
                let theirs = serde_json::to_vec(&call_json(c, lang)).unwrap_or_default();
                assert_eq!(
                    String::from_utf8_lossy(&mine),
                    String::from_utf8_lossy(&theirs)
                );
            }
        }
    }

    #[test]
    fn fixed_point_times() {
        let w = |f: Fixed| {
            let mut v = Vec::new();
            f.write(&mut v);
            String::from_utf8(v).unwrap_or_default()
        };
        assert_eq!(w(Fixed::seconds(1_700_000_000_000_000_000)), "1700000000.0");
        assert_eq!(
            w(Fixed::seconds(1_700_000_000_005_000_000)),
            "1700000000.005"
        );
        assert_eq!(
            w(Fixed::seconds(1_700_000_000_000_000_001)),
            "1700000000.000000001"
        );
        assert_eq!(w(Fixed::seconds(999_999_999)), "0.999999999");
        assert_eq!(w(Fixed::seconds(-5)), "-0.000000005");
        assert_eq!(w(Fixed::seconds(-1_500_000_000)), "-1.5");
        assert_eq!(w(Fixed::millis(9_000_000)), "9.0");
        assert_eq!(w(Fixed::millis(2_605_000_001)), "2605.000001");
        assert_eq!(w(Fixed::millis(i64::MIN)), "-9223372036854.775808");
        // Always a JSON number that reads back as the time (to f64 precision).
        for ns in [0i64, 1, 123_456_789_012, -987_654_321, i64::MAX] {
            let text = w(Fixed::seconds(ns));
            let v: f64 = serde_json::from_str(&text).unwrap_or(f64::NAN);
            assert!(
                (v - ns as f64 / 1e9).abs() <= 1e-9 * v.abs().max(1.0),
                "{text}"
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn escape_check_is_the_plain_one(s in "[ -~\\t\\n\\x00-\\x1fé\"\\\\]{0,40}") {
            let naive = s.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\');
            proptest::prop_assert_eq!(needs_escape(s.as_bytes()), naive);
        }

        #[test]
        fn escape_check_on_any_bytes(b in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40)) {
            let naive = b.iter().any(|&c| c < 0x20 || c == b'"' || c == b'\\');
            proptest::prop_assert_eq!(needs_escape(&b), naive);
        }
    }
}
