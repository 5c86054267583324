//! What the analysis looks like to a user: the summary and calls as text,
//! one call's ladder for a terminal, and JSON lines. Every sentence comes
//! from the data files (findings, headings) or from `sipkit_codes` (the
//! meaning of each response code), in the language asked for.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

use serde::Serialize;
use serde_json::{json, Map, Value};
use sipkit_codes::{explain, Lang};

use crate::analyze::{Call, Kind, MessageRecord, Summary, Transport};
use crate::findings::{text, ui, FindingId, Piece};

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
        self.write_with(out, &mut WholeDigits::default());
    }

    /// [`Fixed::write`], taking the digits of the whole units from `whole`
    /// when they are the ones it holds (times in a capture share them), and
    /// leaving this number's there.
    fn write_with(self, out: &mut Vec<u8>, digits: &mut WholeDigits) {
        let abs = self.ns.unsigned_abs();
        // The fraction as its first digit and the eight after it (for
        // milliseconds, the last three of those always zero). Constant
        // divisors, so no division instruction.
        let (whole, first, rest) = if self.millis {
            let frac = abs % 1_000_000;
            (abs / 1_000_000, frac / 100_000, frac % 100_000 * 1_000)
        } else {
            let frac = abs % 1_000_000_000;
            (abs / 1_000_000_000, frac / 100_000_000, frac % 100_000_000)
        };
        if digits.of != Some(whole) {
            *digits = WholeDigits::of(whole);
        }
        // A sign, the whole units, the point, the fraction.
        let mut t = Scratch::<32>::new();
        if self.ns < 0 {
            t.byte(b'-');
        }
        for (word, len) in digits.words {
            t.word(word, len);
        }
        t.byte(b'.');
        t.byte(b'0' + first as u8);
        // `rest` is below 10^8; its trailing zeros (the high bytes) go.
        let rest = digits8(rest as u32);
        t.word(rest + ASCII_ZEROS, 8 - (rest.leading_zeros() / 8) as usize);
        t.append_to(out);
    }
}

/// The whole units of a [`Fixed`] in decimal: two words of ASCII digits
/// and how many of each to keep.
#[derive(Debug, Default, Clone, Copy)]
struct WholeDigits {
    /// The number written, if any.
    of: Option<u64>,
    words: [(u64, usize); 2],
}

impl WholeDigits {
    /// `whole`, below 10^16 (`u64::MAX / 10^6` is 1.8e13): the high eight
    /// digits without leading zeros, then the low eight; or, below 10^8,
    /// the low ones alone.
    fn of(whole: u64) -> Self {
        let (high, low) = ((whole / 100_000_000) as u32, (whole % 100_000_000) as u32);
        let words = if high > 0 {
            [decimal8(high), (digits8(low) + ASCII_ZEROS, 8)]
        } else {
            [decimal8(low), (0, 0)]
        };
        WholeDigits {
            of: Some(whole),
            words,
        }
    }
}

/// `b'0'` in every byte: digits to ASCII.
const ASCII_ZEROS: u64 = 0x3030_3030_3030_3030;

/// `v` (below 10^8) in decimal: the ASCII digits from the low byte up,
/// without leading zeros (`0` keeps one), and how many.
fn decimal8(v: u32) -> (u64, usize) {
    let d = digits8(v);
    let zeros = (d.trailing_zeros() / 8).min(7);
    ((d + ASCII_ZEROS) >> (8 * zeros), 8 - zeros as usize)
}

/// The eight decimal digits of `v` (below 10^8), most significant first, as
/// a little-endian word of byte values 0..=9: halves of four digits, then
/// of two, then one, each split in every lane at once by a multiplication
/// and a shift (`n / 100 == n * 10486 >> 20` for `n < 10^4`,
/// `n / 10 == n * 103 >> 10` for `n < 100`).
fn digits8(v: u32) -> u64 {
    let v = u64::from(v);
    let fours = (v / 10_000) | ((v % 10_000) << 32);
    let hundreds = ((fours * 10_486) >> 20) & 0x0000_007f_0000_007f;
    let twos = hundreds | ((fours - hundreds * 100) << 16);
    let tens = ((twos * 103) >> 10) & 0x000f_000f_000f_000f;
    tens | ((twos - tens * 10) << 8)
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

/// Appends a JSON string (RFC 8259 §7) as `serde_json` writes it; one of
/// up to 32 bytes that needs no escape is built on the stack a word at a
/// time.
fn json_str(out: &mut Vec<u8>, s: &str) {
    let b = s.as_bytes();
    if b.len() <= 32 {
        let mut t = Scratch::<40>::new();
        t.byte(b'"');
        let (words, rest) = b.as_chunks::<8>();
        let mut flags = 0;
        for w in words {
            let w = u64::from_le_bytes(*w);
            flags |= escape_flags(w);
            t.word(w, 8);
        }
        if !rest.is_empty() {
            let w = tail_word(b, b.len() - rest.len());
            flags |= escape_flags(w);
            t.word(w, rest.len());
        }
        t.byte(b'"');
        if flags == 0 {
            t.append_to(out);
            return;
        }
    }
    out.reserve(b.len() + 2);
    out.push(b'"');
    escape_into(out, s);
    out.push(b'"');
}

/// Up to `N` bytes built on the stack with fixed-size stores (a word is
/// stored whole, then only part of it kept) and appended with one
/// fixed-size copy: no call to `memcpy` for short pieces of varying length.
/// The caller sizes `N` for eight bytes past the longest text it builds.
struct Scratch<const N: usize> {
    t: [u8; N],
    n: usize,
}

impl<const N: usize> Scratch<N> {
    fn new() -> Self {
        Scratch { t: [0; N], n: 0 }
    }

    /// Stores the eight bytes of `w`, lowest first, and keeps `keep` of them.
    fn word(&mut self, w: u64, keep: usize) {
        self.t[self.n..self.n + 8].copy_from_slice(&w.to_le_bytes());
        self.n += keep;
    }

    fn byte(&mut self, b: u8) {
        self.t[self.n] = b;
        self.n += 1;
    }

    fn append_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.t);
        out.truncate(out.len() - (N - self.n));
    }
}

/// Appends the inside of a JSON string holding `s` (RFC 8259 §7), escaped
/// as `serde_json` escapes it: `"` and `\` as `\"` and `\\`, the control
/// characters as `\b`, `\t`, `\n`, `\f`, `\r` or `\u00XX`; everything else,
/// non-ASCII included, as it is. The plain runs between escapes are copied
/// whole, found eight bytes a step.
fn escape_into(out: &mut Vec<u8>, s: &str) {
    let b = s.as_bytes();
    // `b[..done]` is written; `b[i..]` is still to look at.
    let mut done = 0;
    let mut i = 0;
    while i < b.len() {
        let (word, step) = match b[i..].first_chunk::<8>() {
            Some(w) => (u64::from_le_bytes(*w), 8),
            None => (tail_word(b, i), b.len() - i),
        };
        let flags = escape_flags(word);
        if flags == 0 {
            i += step;
            continue;
        }
        let at = i + (flags.trailing_zeros() / 8) as usize;
        out.extend_from_slice(&b[done..at]);
        push_escape(out, b[at]);
        done = at + 1;
        i = done;
    }
    out.extend_from_slice(&b[done..]);
}

/// `b[from..]`, one to seven bytes, as a little-endian word whose missing
/// high bytes are a plain `a`: read as the last eight bytes of `b`, or, in
/// a shorter `b`, as two overlapping reads of all of it, shifted down.
fn tail_word(b: &[u8], from: usize) -> u64 {
    const PLAIN: u64 = 0x6161_6161_6161_6161;
    let n = b.len() - from;
    let x = if let Some(last) = b.last_chunk::<8>() {
        u64::from_le_bytes(*last) >> (8 * (8 - n))
    } else {
        let len = b.len();
        let all = if let (Some(lo), Some(hi)) = (b.first_chunk::<4>(), b.last_chunk::<4>()) {
            u64::from(u32::from_le_bytes(*lo))
                | u64::from(u32::from_le_bytes(*hi)) << (8 * (len - 4))
        } else if let (Some(lo), Some(hi)) = (b.first_chunk::<2>(), b.last_chunk::<2>()) {
            u64::from(u16::from_le_bytes(*lo))
                | u64::from(u16::from_le_bytes(*hi)) << (8 * (len - 2))
        } else {
            b.first().map_or(0, |&c| u64::from(c))
        };
        all >> (8 * from)
    };
    x | PLAIN << (8 * n)
}

/// True for a byte a JSON string escapes: a control character, `"` or `\\`.
fn is_escaped(c: u8) -> bool {
    c < 0x20 || c == b'"' || c == b'\\'
}

/// Appends the escape of a byte [`is_escaped`] holds, as `serde_json`
/// writes it.
fn push_escape(out: &mut Vec<u8>, c: u8) {
    let short = match c {
        b'"' => b'"',
        b'\\' => b'\\',
        0x08 => b'b',
        0x0c => b'f',
        b'\n' => b'n',
        b'\r' => b'r',
        b'\t' => b't',
        _ => 0,
    };
    if short != 0 {
        out.extend_from_slice(&[b'\\', short]);
    } else {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let c = usize::from(c);
        out.extend_from_slice(&[b'\\', b'u', b'0', b'0', HEX[c >> 4], HEX[c & 15]]);
    }
}

fn json_u64(out: &mut Vec<u8>, v: u64) {
    match u32::try_from(v) {
        Ok(v) if v < 100_000_000 => {
            let mut t = Scratch::<8>::new();
            let (digits, len) = decimal8(v);
            t.word(digits, len);
            t.append_to(out);
        }
        _ => out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes()),
    }
}

/// For eight bytes as a little-endian word, a word with the high bit of
/// byte `k` set if byte `k` [`is_escaped`], and maybe of some bytes above
/// the first such: the SWAR tests for a byte below a bound, on `x` and on
/// `x ^ repeat(c)`, where a borrow can only flag a byte above one flagged
/// rightly. So the word is zero exactly when no byte is escaped, and its
/// lowest flag is the first byte that is.
fn escape_flags(x: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let below = |x: u64, n: u64| x.wrapping_sub(ONES * n) & !x & HIGH;
    below(x, 0x20) | below(x ^ (ONES * 0x22), 1) | below(x ^ (ONES * 0x5c), 1)
}

/// A constant of this crate that needs no escaping, copied as it is.
fn json_plain(out: &mut Vec<u8>, s: &str) {
    debug_assert!(!s.bytes().any(is_escaped));
    out.reserve(s.len() + 2);
    out.push(b'"');
    out.extend_from_slice(s.as_bytes());
    out.push(b'"');
}

/// A string known by where it is: within one call's JSON the strings are
/// borrowed from the call, so the same place and length is the same text.
#[derive(Debug, Clone, Copy)]
struct At<'a>(&'a str);

impl PartialEq for At<'_> {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self.0, other.0)
    }
}

/// JSON text a call's output already holds, by what it was written for
/// (`N` remembered, the oldest forgotten first): a call's requests repeat
/// their Request-URI.
struct Recent<K, const N: usize> {
    seen: [Option<(K, usize, usize)>; N],
    next: usize,
}

impl<K: PartialEq + Copy, const N: usize> Recent<K, N> {
    fn new() -> Self {
        Recent {
            seen: [None; N],
            next: 0,
        }
    }

    /// Appends what `fresh` appends for `key`, copied from its first time.
    fn write(&mut self, out: &mut Vec<u8>, key: K, fresh: impl FnOnce(&mut Vec<u8>)) {
        let hit = self.seen.iter().flatten().find(|(k, ..)| *k == key);
        if let Some(&(_, from, to)) = hit {
            out.extend_from_within(from..to);
            return;
        }
        let from = out.len();
        fresh(out);
        self.seen[self.next % N] = Some((key, from, out.len()));
        self.next += 1;
    }
}

/// Slots of a [`Fragments`] table.
const FRAGMENT_SLOTS: usize = 256;

/// JSON fragments kept across calls by what they were written for, in a
/// direct-mapped table of [`FRAGMENT_SLOTS`] (made at the first use). A key
/// holds what makes its identity last: values, `'static` strings, or a
/// clone of a shared string, compared by address.
#[derive(Debug)]
struct Fragments<K> {
    slots: Vec<Option<(K, Box<[u8]>)>>,
}

impl<K> Default for Fragments<K> {
    fn default() -> Self {
        Fragments { slots: Vec::new() }
    }
}

impl<K> Fragments<K> {
    /// Appends the fragment of the key `is` accepts, from the table when
    /// there, else as `fresh` writes it, kept under `key()` in the slot of
    /// `hash`.
    fn write(
        &mut self,
        out: &mut Vec<u8>,
        hash: u64,
        is: impl Fn(&K) -> bool,
        key: impl FnOnce() -> K,
        fresh: impl FnOnce(&mut Vec<u8>),
    ) {
        if self.slots.is_empty() {
            self.slots.resize_with(FRAGMENT_SLOTS, || None);
        }
        let i = (hash.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 56) as usize % FRAGMENT_SLOTS;
        let slot = self.slots.get_mut(i);
        if let Some(Some((k, text))) = &slot {
            if is(k) {
                out.extend_from_slice(text);
                return;
            }
        }
        let from = out.len();
        fresh(out);
        if let Some(slot) = slot {
            *slot = Some((key(), out[from..].into()));
        }
    }
}

/// A `'static` string's address, for hashing.
fn address(s: &str) -> u64 {
    s.as_ptr() as u64
}

/// A message's route: sender, receiver, transport.
type Route = (std::net::SocketAddr, std::net::SocketAddr, Transport);

/// A hash of a route's addresses and ports.
fn route_hash(route: &Route) -> u64 {
    let fold = |a: &std::net::SocketAddr| -> u64 {
        let ip = match a.ip() {
            std::net::IpAddr::V4(ip) => u64::from(u32::from(ip)),
            std::net::IpAddr::V6(ip) => {
                let v = u128::from(ip);
                (v as u64) ^ ((v >> 64) as u64)
            }
        };
        (ip << 16) ^ u64::from(a.port())
    };
    fold(&route.0).rotate_left(29) ^ fold(&route.1) ^ route.2 as u64
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
/// byte for byte what `serde_json` writes for [`call_json`]; for many
/// calls, [`JsonWriter`] remembers more between them.
pub fn write_call_json(out: &mut Vec<u8>, c: &Call, lang: Lang) {
    JsonWriter::default().write_call(out, c, lang);
}

/// Writes calls as the JSON objects of `--format json`, byte for byte what
/// `serde_json` writes for [`call_json`], without its per-field formatting
/// machinery. A capture repeats itself: few endpoints, the same methods,
/// reason phrases and CSeqs call after call, so the writer keeps the JSON
/// of those across calls, and within a call the JSON of its Request-URIs.
#[derive(Debug, Default)]
pub struct JsonWriter {
    /// `,"src":…,"dst":…,"transport":…`.
    routes: Fragments<Route>,
    /// `,"status":…,"reason":…` by code and shared reason phrase.
    responses: Fragments<(u16, Arc<str>)>,
    /// `,"method":…` by interned method.
    methods: Fragments<&'static str>,
    /// `,"cseq":…,"retransmission":…}` by number, interned method and flag.
    cseqs: Fragments<(u32, &'static str, bool)>,
    /// The texts of the findings' templates, escaped.
    texts: Fragments<&'static str>,
    /// The whole seconds of the time written last (times mostly share them).
    seconds: WholeDigits,
}

impl JsonWriter {
    /// Appends `c` as the JSON object of `--format json` (`"type": "call"`).
    pub fn write_call(&mut self, out: &mut Vec<u8>, c: &Call, lang: Lang) {
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
        Fixed::seconds(c.first_ns).write_with(out, &mut self.seconds);
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
        let mut uris = Recent::<_, 4>::new();
        for (i, m) in c.messages.iter().enumerate() {
            out.extend_from_slice(if i > 0 {
                b",{\"frame\":"
            } else {
                b"{\"frame\":"
            });
            json_u64(out, m.frame);
            out.extend_from_slice(b",\"time\":");
            Fixed::seconds(m.ts_ns).write_with(out, &mut self.seconds);
            let route = (m.src, m.dst, m.transport);
            self.routes.write(
                out,
                route_hash(&route),
                |r| *r == route,
                || route,
                |out| {
                    out.extend_from_slice(b",\"src\":");
                    json_addr(out, &m.src);
                    out.extend_from_slice(b",\"dst\":");
                    json_addr(out, &m.dst);
                    out.extend_from_slice(b",\"transport\":");
                    json_plain(out, m.transport.as_str());
                },
            );
            self.write_kind(out, &m.kind, &mut uris);
            self.write_cseq(out, m);
        }
        out.extend_from_slice(b"],\"dropped_messages\":");
        json_u64(out, c.dropped_messages);
        out.extend_from_slice(b",\"findings\":[");
        for (i, f) in c.findings.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(b"{\"id\":");
            json_plain(out, f.id.as_str());
            out.extend_from_slice(b",\"severity\":");
            json_plain(out, f.id.severity().as_str());
            out.extend_from_slice(b",\"packets\":[");
            for (j, p) in f.packets.iter().enumerate() {
                if j > 0 {
                    out.push(b',');
                }
                json_u64(out, *p);
            }
            out.extend_from_slice(b"],\"message\":\"");
            let texts = &mut self.texts;
            f.write_message(lang, |piece| match piece {
                Piece::Fixed(t) => {
                    texts.write(
                        out,
                        address(t),
                        |k| std::ptr::eq(*k, t),
                        || t,
                        |out| escape_into(out, t),
                    );
                }
                Piece::Text(t) => escape_into(out, t),
                Piece::Packet(p) => json_u64(out, p),
            });
            out.extend_from_slice(b"\",\"spec\":");
            json_plain(out, f.id.spec());
            out.push(b'}');
        }
        out.extend_from_slice(b"]}");
    }

    /// `,"method":…,"uri":…`, `,"status":…,"reason":…` or `,"malformed":…`.
    fn write_kind<'c>(&mut self, out: &mut Vec<u8>, kind: &'c Kind, uris: &mut Recent<At<'c>, 4>) {
        match kind {
            Kind::Request { method, uri } => {
                let fresh = |out: &mut Vec<u8>| {
                    out.extend_from_slice(b",\"method\":");
                    json_str(out, method);
                };
                match method {
                    Cow::Borrowed(m) => {
                        let m: &'static str = m;
                        self.methods
                            .write(out, address(m), |k| std::ptr::eq(*k, m), || m, fresh);
                    }
                    Cow::Owned(_) => fresh(out),
                }
                uris.write(out, At(uri), |out| {
                    out.extend_from_slice(b",\"uri\":");
                    json_str(out, uri);
                });
            }
            Kind::Response { status, reason } => {
                let hash = u64::from(*status) ^ address(reason).rotate_left(16);
                self.responses.write(
                    out,
                    hash,
                    |(s, r)| s == status && Arc::ptr_eq(r, reason),
                    || (*status, Arc::clone(reason)),
                    |out| {
                        out.extend_from_slice(b",\"status\":");
                        json_u64(out, u64::from(*status));
                        out.extend_from_slice(b",\"reason\":");
                        json_str(out, reason);
                    },
                );
            }
            Kind::Malformed { error } => {
                out.extend_from_slice(b",\"malformed\":");
                json_str(out, error);
            }
        }
    }

    /// `,"cseq":…,"retransmission":…}`, the end of a message.
    fn write_cseq(&mut self, out: &mut Vec<u8>, m: &MessageRecord) {
        let (number, retransmission) = (m.cseq.0, m.retransmission);
        let fresh = |out: &mut Vec<u8>| {
            out.extend_from_slice(b",\"cseq\":\"");
            json_u64(out, u64::from(number));
            out.push(b' ');
            escape_into(out, &m.cseq.1);
            out.extend_from_slice(if retransmission {
                b"\",\"retransmission\":true}"
            } else {
                b"\",\"retransmission\":false}"
            });
        };
        match &m.cseq.1 {
            Cow::Borrowed(method) => {
                let method: &'static str = method;
                let hash =
                    u64::from(number) ^ address(method).rotate_left(16) ^ u64::from(retransmission);
                self.cseqs.write(
                    out,
                    hash,
                    |(n, k, r)| *n == number && std::ptr::eq(*k, method) && *r == retransmission,
                    || (number, method, retransmission),
                    fresh,
                );
            }
            Cow::Owned(_) => fresh(out),
        }
    }
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
        // More routes, start lines and CSeqs than the caches keep, some the
        // same text in another place, some escaped.
        let c = &mut calls[1];
        let Some(first) = c.messages.first().cloned() else {
            panic!("a call without messages");
        };
        let shared: std::sync::Arc<str> = "Sh\"ared".into();
        for k in 0..40u16 {
            let mut m = first.clone();
            m.src.set_port(5000 + k % 6);
            m.dst.set_port(6000 + k % 5);
            m.kind = match k % 4 {
                0 => Kind::Response {
                    status: 100 + k % 9,
                    reason: shared.clone(),
                },
                1 => Kind::Response {
                    status: 100 + k % 9,
                    reason: "Sh\"ared".into(),
                },
                2 => Kind::Request {
                    method: format!("M{}", k % 7).into(),
                    uri: shared.clone(),
                },
                _ => Kind::Request {
                    method: "INVITE".into(),
                    uri: format!("sip:{}", k % 3).into(),
                },
            };
            m.cseq = (
                u32::from(k % 10),
                if k % 3 == 0 {
                    "BYE".into()
                } else {
                    "A\tB".to_owned().into()
                },
            );
            m.retransmission = k % 2 == 0;
            c.messages.push(m);
        }
        // One writer for everything, twice over, so its tables fill, and a
        // fresh one per call.
        let mut writer = JsonWriter::default();
        for lang in [Lang::EN, Lang::RU, Lang::EN] {
            for c in &calls {
                let theirs = serde_json::to_vec(&call_json(c, lang)).unwrap_or_default();
                let mut fresh = Vec::new();
                write_call_json(&mut fresh, c, lang);
                let mut kept = b"x".to_vec();
                writer.write_call(&mut kept, c, lang);
                for mine in [&fresh[..], &kept[1..]] {
                    assert_eq!(
                        String::from_utf8_lossy(mine),
                        String::from_utf8_lossy(&theirs)
                    );
                }
            }
        }
    }

    #[test]
    fn fixed_point_times() {
        let w = fixed_text;
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

    /// The fraction as the plain arithmetic writes it.
    fn fixed_reference(ns: i64, millis: bool) -> String {
        let unit: u64 = if millis { 1_000_000 } else { 1_000_000_000 };
        let places = if millis { 6 } else { 9 };
        let abs = ns.unsigned_abs();
        let frac = format!("{:0places$}", abs % unit);
        let frac = frac.trim_end_matches('0');
        let sign = if ns < 0 { "-" } else { "" };
        let frac = if frac.is_empty() { "0" } else { frac };
        format!("{sign}{}.{frac}", abs / unit)
    }

    fn fixed_text(f: Fixed) -> String {
        let mut v = Vec::new();
        f.write(&mut v);
        String::from_utf8(v).unwrap_or_default()
    }

    #[test]
    fn fragments_keep_one_per_slot() {
        let mut table = Fragments::<u32>::default();
        let mut out = Vec::new();
        for k in [1u32, 2, 1, 1, 3, 2, 3] {
            // Every key in the same slot: each write either copies the one
            // kept there or replaces it.
            table.write(
                &mut out,
                7,
                |x| *x == k,
                || k,
                |out| out.extend_from_slice(format!("<{k}>").as_bytes()),
            );
        }
        assert_eq!(String::from_utf8_lossy(&out), "<1><2><1><1><3><2><3>");
    }

    #[test]
    fn eight_digits_at_once() {
        let plain = |v: u32| {
            let mut w = [0u8; 8];
            let mut x = v;
            for d in w.iter_mut().rev() {
                *d = (x % 10) as u8;
                x /= 10;
            }
            u64::from_le_bytes(w)
        };
        let edges = [0, 1, 9, 10, 99, 100, 9_999, 10_000, 10_001, 99_999_999];
        for v in edges.into_iter().chain((0..100_000_000).step_by(9_973)) {
            assert_eq!(digits8(v), plain(v), "{v}");
        }
    }

    proptest::proptest! {
        #[test]
        fn fixed_is_the_plain_arithmetic(ns in proptest::prelude::any::<i64>(), small in -10_000_000_000i64..10_000_000_000) {
            for ns in [ns, small, ns / 1_000 * 1_000, ns / 1_000_000 * 1_000_000] {
                for millis in [false, true] {
                    let f = if millis { Fixed::millis(ns) } else { Fixed::seconds(ns) };
                    proptest::prop_assert_eq!(fixed_text(f), fixed_reference(ns, millis));
                }
            }
        }

        #[test]
        fn escaping_is_serde_jsons(s in "[ -~\\t\\n\\x00-\\x1f\\x7fé€\"\\\\]{0,40}", t in proptest::prelude::any::<String>()) {
            for s in [&s, &t] {
                let mut mine = Vec::new();
                json_str(&mut mine, s);
                let theirs = serde_json::to_vec(s).unwrap_or_default();
                proptest::prop_assert_eq!(String::from_utf8_lossy(&mine), String::from_utf8_lossy(&theirs));
            }
        }

        #[test]
        fn tail_words_are_the_bytes_padded(b in proptest::collection::vec(proptest::prelude::any::<u8>(), 1..20), from in 0usize..20) {
            let from = from % b.len();
            if b.len() - from < 8 {
                let mut w = [b'a'; 8];
                w[..b.len() - from].copy_from_slice(&b[from..]);
                proptest::prop_assert_eq!(tail_word(&b, from), u64::from_le_bytes(w));
            }
        }

        #[test]
        fn escape_flags_find_the_first_escaped_byte(w in proptest::prelude::any::<[u8; 8]>(), pick in proptest::collection::vec((0usize..8, proptest::sample::select(vec![0u8, 0x1f, b'"', b'\\', b'!', b'#', b' ', 0x7f, 0x80, 0xff])), 0..4)) {
            let mut w = w;
            for (k, c) in pick {
                w[k] = c;
            }
            let flags = escape_flags(u64::from_le_bytes(w));
            let first = w.iter().position(|&c| is_escaped(c));
            proptest::prop_assert_eq!(first, (flags != 0).then(|| (flags.trailing_zeros() / 8) as usize));
        }
    }
}
