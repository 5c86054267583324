//! SIP capture analysis for sipkit: read a pcap or pcapng capture, rebuild
//! every transaction and call, and say what happened and what went wrong.
//!
//! The layers, each usable alone:
//!
//! * [`reader`]: capture files from bytes — pcap (µs and ns, both byte
//!   orders) and pcapng (several interfaces and link types).
//! * [`net`]: link layers (Ethernet with 0–2 VLAN tags, Linux SLL and SLL2,
//!   raw IP, BSD loopback), IPv4/IPv6 defragmentation under a byte budget.
//! * [`tcp`]: TCP reassembly (out-of-order and retransmitted segments)
//!   framed by `sipkit_message`'s stream decoder.
//! * [`analyze`]: transactions, retransmissions and timers, calls, redirects
//!   and transfers, and the [`findings`].
//! * [`render`]: text, ladder and JSON lines.
//!
//! What it does not do: no files, no sockets, no clock. The caller reads the
//! file (and unwraps gzip) and pushes bytes; time comes from the capture.
//!
//! ```
//! use sipkit_capture::{Pipeline, reader::CaptureReader};
//!
//! // A classic pcap (raw IPv4 link type) holding one UDP OPTIONS.
//! let sip = b"OPTIONS sip:b@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\n\
//! To: <sip:b@example.com>\r\nFrom: <sip:a@example.com>;tag=1\r\nCall-ID: c1\r\n\
//! CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n";
//! let mut ip = vec![0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 17, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2];
//! let total = (20 + 8 + sip.len()) as u16;
//! ip[2..4].copy_from_slice(&total.to_be_bytes());
//! ip.extend(5060u16.to_be_bytes());
//! ip.extend(5060u16.to_be_bytes());
//! ip.extend(((8 + sip.len()) as u16).to_be_bytes());
//! ip.extend([0, 0]);
//! ip.extend_from_slice(sip);
//! let mut file = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0];
//! file.extend(65535u32.to_le_bytes());
//! file.extend(101u32.to_le_bytes());
//! for x in [1u32, 0, ip.len() as u32, ip.len() as u32] {
//!     file.extend(x.to_le_bytes());
//! }
//! file.extend(&ip);
//!
//! let mut reader = CaptureReader::new();
//! let mut pipeline = Pipeline::default();
//! reader.push(&file);
//! while let Some(record) = reader.next_record().unwrap() {
//!     pipeline.frame(&record);
//! }
//! reader.finish().unwrap();
//! pipeline.finish();
//! let call = pipeline.poll_call().unwrap();
//! assert_eq!(call.call_id, "c1");
//! assert_eq!(pipeline.summary().requests["OPTIONS"], 1);
//! ```

pub mod analyze;
pub mod findings;
pub mod net;
pub mod reader;
pub mod render;
pub mod sip;
pub mod stats;
pub mod synth;
pub mod tcp;

use std::collections::HashMap;
use std::net::SocketAddr;

use sipkit_message::{parse_raw_with, parse_with, Limits, Mode};

pub use analyze::{
    Analyzer, Call, Config, Kind, MessageRecord, Meta, Outcome, Summary, Transport, View,
};
pub use findings::{Finding, FindingId, Severity};
pub use reader::{CaptureReader, ReadError, Record};

/// A TCP stream idle this long (capture time) is dropped.
const TCP_IDLE_NS: i64 = 300_000_000_000;

/// Frames in, calls out: link layers, defragmentation, TCP reassembly, SIP
/// parsing and the [`Analyzer`], in one pass.
#[derive(Debug, Default)]
pub struct Pipeline {
    defrag: net::Defragmenter,
    streams: HashMap<(SocketAddr, SocketAddr), tcp::Stream, foldhash::fast::RandomState>,
    analyzer: Analyzer,
    last_stream_sweep: i64,
    limits: Limits,
    validate: bool,
}

impl Pipeline {
    /// A pipeline with these timers.
    pub fn new(config: Config) -> Self {
        Pipeline {
            analyzer: Analyzer::new(config),
            validate: config.validate,
            ..Default::default()
        }
    }

    /// Processes one captured frame.
    pub fn frame(&mut self, rec: &Record<'_>) {
        self.analyzer.tick(rec.ts_ns);
        match net::decode(rec.linktype, rec.data, rec.ts_ns, &mut self.defrag) {
            Ok(net::L4::Udp { src, dst, payload }) => {
                let meta = Meta {
                    frame: rec.number,
                    ts_ns: rec.ts_ns,
                    src,
                    dst,
                    transport: Transport::Udp,
                };
                self.datagram(meta, &payload);
            }
            Ok(net::L4::Tcp {
                src,
                dst,
                seq,
                syn,
                fin,
                payload,
            }) => {
                let meta = Meta {
                    frame: rec.number,
                    ts_ns: rec.ts_ns,
                    src,
                    dst,
                    transport: Transport::Tcp,
                };
                self.segment(meta, seq, syn, fin, &payload);
            }
            Err(net::Skip::LinkType) => self.analyzer.summary_mut().unknown_link += 1,
            Err(net::Skip::NotIp) => self.analyzer.summary_mut().not_ip += 1,
            Err(net::Skip::OtherProtocol | net::Skip::Fragment) => {}
        }
        self.analyzer.summary_mut().defrag_dropped = self.defrag.dropped;
        if rec.ts_ns - self.last_stream_sweep > 10_000_000_000 {
            self.last_stream_sweep = rec.ts_ns;
            let now = rec.ts_ns;
            self.streams.retain(|_, s| now - s.last_ns < TCP_IDLE_NS);
        }
    }

    fn datagram(&mut self, meta: Meta, payload: &[u8]) {
        // A keep-alive (RFC 5626 §3.5.1 CRLF) or anything not SIP.
        if !sip::looks_like_sip(payload) {
            self.analyzer.summary_mut().not_sip += 1;
            return;
        }
        if self.validate {
            match parse_with(payload, &self.limits, Mode::Datagram) {
                Ok(msg) => self.analyzer.message(meta, &msg),
                Err(e) => self.analyzer.malformed(meta, payload, &e),
            }
            return;
        }
        // Split, then read only what the analysis needs (`View::of_raw`).
        // Any error is reported as the full receiver check reports it, so
        // a malformed message reads the same with or without `validate`.
        // Matched by reference: the split message is large, not moved.
        match &parse_raw_with(payload, &self.limits, Mode::Datagram) {
            Ok(raw) => match self.analyzer.raw_message(meta, raw) {
                Ok(()) => {}
                Err(e) => {
                    let e = raw.validate().err().unwrap_or(e);
                    self.analyzer.malformed(meta, payload, &e);
                }
            },
            Err(e) => {
                // Split errors are found in another order than the full
                // check's (Content-Length first): take the full check's.
                let full = parse_with(payload, &self.limits, Mode::Datagram).err();
                self.analyzer
                    .malformed(meta, payload, full.as_ref().unwrap_or(e));
            }
        }
    }

    fn segment(&mut self, meta: Meta, seq: u32, syn: bool, fin: bool, payload: &[u8]) {
        let key = (meta.src, meta.dst);
        let stream = self
            .streams
            .entry(key)
            .or_insert_with(|| tcp::Stream::new(meta.ts_ns));
        let before = stream.retransmitted_segments;
        stream.segment(seq, syn, payload, meta.ts_ns);
        let retransmitted = stream.retransmitted_segments - before;
        while let Some(d) = stream.next_message() {
            match d {
                tcp::Delivered::Message(m) => self.analyzer.message(meta, &m),
                tcp::Delivered::Invalid(e, bytes) => self.analyzer.malformed(meta, bytes, &e),
                tcp::Delivered::Broken(e) => self.analyzer.malformed(meta, &[], &e),
                tcp::Delivered::KeepAlive => {}
            }
        }
        let not_sip = stream.not_sip;
        if fin {
            self.streams.remove(&key);
        }
        let s = self.analyzer.summary_mut();
        s.tcp_retransmitted_segments += retransmitted;
        if not_sip && !payload.is_empty() {
            s.not_sip += 1;
        }
    }

    /// End of the capture: every open call is finished.
    pub fn finish(&mut self) {
        self.analyzer.finish();
    }

    /// A finished call, if one is ready.
    pub fn poll_call(&mut self) -> Option<Call> {
        self.analyzer.poll_call()
    }

    /// The counts so far.
    pub fn summary(&self) -> &Summary {
        self.analyzer.summary()
    }

    /// Calls open now.
    pub fn open_calls(&self) -> usize {
        self.analyzer.open_calls()
    }
}
