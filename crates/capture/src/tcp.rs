//! TCP stream reassembly for SIP (RFC 3261 §18.3: over a stream, messages
//! are framed by Content-Length).
//!
//! Each direction of a connection is one [`Stream`]: segments are put in
//! sequence order (out-of-order ones wait, under a byte budget; bytes seen
//! before — retransmitted segments — are dropped), and the ordered bytes go
//! to `sipkit_message`'s [`StreamDecoder`], which frames and parses the
//! messages, however the sender cut them into segments.

use std::collections::BTreeMap;

use sipkit_message::{Event, Limits, Message, ParseError, StreamDecoder};

/// Most out-of-order bytes one direction may hold while waiting for a gap to
/// fill; past it the gap is given up and the stream skips ahead.
pub const OUT_OF_ORDER_BUDGET: usize = 1 << 20;

/// What the stream gave the analyzer.
// `Message` is large (inline header slots); boxing it would allocate per message.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Delivered<'a> {
    /// A framed, valid message; `frame` is the frame that completed it.
    Message(Message<'a>),
    /// A framed message that failed validation.
    Invalid(ParseError, &'a [u8]),
    /// A CRLF keep-alive (RFC 5626 §3.5.1); decode on.
    KeepAlive,
    /// Framing lost (the stream stops being decoded).
    Broken(ParseError),
}

/// One direction of a TCP connection.
#[derive(Debug)]
pub struct Stream {
    /// Sequence number of relative offset 0.
    isn: Option<u32>,
    /// Next relative offset expected.
    next: u64,
    /// Out-of-order segments by relative offset.
    pending: BTreeMap<u64, Vec<u8>>,
    pending_bytes: usize,
    decoder: StreamDecoder,
    /// The stream did not start like SIP: ignore it.
    pub not_sip: bool,
    /// Decoding stopped after a framing error.
    pub broken: bool,
    /// Segments whose bytes had all been seen (TCP retransmissions).
    pub retransmitted_segments: u64,
    /// Capture time of the last segment.
    pub last_ns: i64,
    started: bool,
}

impl Stream {
    /// A direction whose first segment was not seen yet.
    pub fn new(now_ns: i64) -> Self {
        Stream {
            isn: None,
            next: 0,
            pending: BTreeMap::new(),
            pending_bytes: 0,
            decoder: StreamDecoder::new(Limits::default()),
            not_sip: false,
            broken: false,
            retransmitted_segments: 0,
            last_ns: now_ns,
            started: false,
        }
    }

    /// Bytes held (decoder buffer and out-of-order segments).
    pub fn held(&self) -> usize {
        self.decoder.buffered() + self.pending_bytes
    }

    /// Takes one segment; ordered bytes go to the decoder. Call
    /// [`Stream::next_message`] until it returns `None` afterwards.
    pub fn segment(&mut self, seq: u32, syn: bool, payload: &[u8], now_ns: i64) {
        self.last_ns = now_ns;
        if syn {
            self.isn = Some(seq.wrapping_add(1));
            self.next = 0;
            return;
        }
        if payload.is_empty() || self.not_sip || self.broken {
            return;
        }
        let isn = *self.isn.get_or_insert(seq);
        let d = seq.wrapping_sub(isn);
        if d > u32::MAX / 2 {
            // Before the start: an old retransmission.
            self.retransmitted_segments += 1;
            return;
        }
        let rel = u64::from(d);
        let end = rel + payload.len() as u64;
        if end <= self.next {
            self.retransmitted_segments += 1;
            return;
        }
        if rel > self.next {
            if self.pending_bytes + payload.len() > OUT_OF_ORDER_BUDGET {
                // Give up on the gap: skip to the earliest held segment.
                self.skip_gap();
                if rel > self.next && self.pending_bytes + payload.len() > OUT_OF_ORDER_BUDGET {
                    return;
                }
            }
            if rel > self.next {
                let old = self.pending.insert(rel, payload.to_vec());
                self.pending_bytes += payload.len();
                if let Some(o) = old {
                    self.pending_bytes -= o.len();
                }
                return;
            }
        }
        let skip = (self.next - rel) as usize;
        self.deliver(&payload[skip..]);
        while let Some((&at, _)) = self.pending.first_key_value() {
            if at > self.next {
                break;
            }
            let Some((at, data)) = self.pending.pop_first() else {
                break;
            };
            self.pending_bytes -= data.len();
            let end = at + data.len() as u64;
            if end > self.next {
                let skip = (self.next - at) as usize;
                self.deliver(&data[skip..]);
            }
        }
    }

    fn skip_gap(&mut self) {
        if let Some((at, data)) = self.pending.pop_first() {
            self.pending_bytes -= data.len();
            // Framing cannot survive lost bytes: start a fresh decoder.
            self.decoder = StreamDecoder::new(Limits::default());
            self.next = at;
            self.deliver(&data);
        }
    }

    fn deliver(&mut self, bytes: &[u8]) {
        self.next += bytes.len() as u64;
        if !self.started {
            self.started = true;
            let first = bytes.iter().position(|&c| c != b'\r' && c != b'\n');
            if let Some(i) = first {
                if !crate::sip::looks_like_sip(&bytes[i..]) {
                    self.not_sip = true;
                    return;
                }
            } else {
                self.started = false;
            }
        }
        if self.decoder.push(bytes).is_err() {
            self.broken = true;
        }
    }

    /// The next message framed from the ordered bytes, if any.
    pub fn next_message(&mut self) -> Option<Delivered<'_>> {
        if self.not_sip {
            return None;
        }
        match self.decoder.decode() {
            Ok(Event::Message(m)) => Some(Delivered::Message(m)),
            Ok(Event::Invalid { error, bytes }) => Some(Delivered::Invalid(error, bytes)),
            Ok(Event::Ping | Event::Pong) => Some(Delivered::KeepAlive),
            Ok(_) => None,
            Err(e) => {
                if self.broken {
                    None
                } else {
                    self.broken = true;
                    Some(Delivered::Broken(e))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const M: &[u8] = b"OPTIONS sip:b@example.com SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\n\
To: <sip:b@example.com>\r\nFrom: <sip:a@example.com>;tag=1\r\nCall-ID: x\r\n\
CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n";

    fn drain(s: &mut Stream) -> usize {
        let mut n = 0;
        while let Some(d) = s.next_message() {
            match d {
                Delivered::Message(_) => n += 1,
                Delivered::KeepAlive => {}
                other => panic!("{other:?}"),
            }
        }
        n
    }

    #[test]
    fn out_of_order_and_retransmitted_segments() {
        let two = [M, M].concat();
        let mut s = Stream::new(0);
        s.segment(999, true, &[], 0);
        let (a, rest) = two.split_at(50);
        let (b, c) = rest.split_at(200);
        s.segment(1000 + 250, false, c, 0);
        assert_eq!(drain(&mut s), 0);
        s.segment(1000, false, a, 0);
        s.segment(1000, false, a, 0);
        assert_eq!(s.retransmitted_segments, 1);
        s.segment(1000 + 50, false, b, 0);
        assert_eq!(drain(&mut s), 2);
        assert_eq!(s.held(), 0);
    }

    #[test]
    fn a_stream_that_is_not_sip_is_ignored() {
        let mut s = Stream::new(0);
        s.segment(1, false, b"GET / HTTP/1.1\r\n\r\n", 0);
        assert!(s.not_sip);
        assert_eq!(drain(&mut s), 0);
    }
}
