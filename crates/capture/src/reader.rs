//! Reading capture files from bytes: classic pcap (microsecond and
//! nanosecond timestamps, either byte order) and pcapng (several sections and
//! interfaces, each with its own link type and timestamp resolution).
//!
//! The reader is push-based: the caller hands it chunks of the file as they
//! are read ([`CaptureReader::push`]) and takes records out until it needs
//! more ([`CaptureReader::next_record`] returns `Ok(None)`). At the end,
//! [`CaptureReader::finish`] says whether the file stopped in the middle of a
//! record, and at which byte offset. Gzip is unwrapped by the caller.
//!
//! Blocks are parsed by the `pcap-parser` crate; this module keeps the
//! buffer, the per-interface state and the error offsets.

use pcap_parser::pcapng::{
    parse_block_be, parse_block_le, parse_sectionheaderblock, Block, EnhancedPacketBlock,
};
use pcap_parser::{parse_pcap_frame, parse_pcap_frame_be, parse_pcap_header, PcapError};

/// Largest captured packet accepted (libpcap's `MAXIMUM_SNAPLEN`); a bigger
/// length field means the file is corrupt, not that more bytes are coming.
pub const MAX_PACKET: usize = 262_144;
/// Largest pcapng block accepted (a packet plus generous options).
const MAX_BLOCK: usize = MAX_PACKET + 65_536;
/// Magic number of a pcapng Section Header Block.
const SHB_TYPE: u32 = 0x0A0D_0D0A;

/// One captured frame.
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    /// Frame number, from 1, as Wireshark counts them.
    pub number: u64,
    /// Capture time in nanoseconds since the Unix epoch.
    pub ts_ns: i64,
    /// The frame's link type (LINKTYPE_* value).
    pub linktype: u32,
    /// The captured bytes (possibly fewer than went over the wire).
    pub data: &'a [u8],
    /// The frame's length on the wire.
    pub orig_len: u32,
    /// Byte offset of the record in the (uncompressed) file.
    pub offset: u64,
}

/// Why a capture cannot be read (further).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// The first bytes are neither a pcap nor a pcapng header.
    #[error("not a capture file: expected a pcap or pcapng header (or gzip of one), found {0}")]
    NotACapture(String),
    /// The file ends in the middle of a record.
    #[error("capture truncated at byte {offset}: the last record is incomplete")]
    Truncated {
        /// Byte offset of the incomplete record.
        offset: u64,
    },
    /// A record that cannot be valid; nothing after it can be trusted.
    #[error("capture corrupt at byte {offset}: {what}")]
    Corrupt {
        /// Byte offset of the bad record.
        offset: u64,
        /// What is wrong.
        what: &'static str,
    },
}

/// What the reader knows about the file so far.
#[derive(Debug, Clone)]
enum Format {
    Unknown,
    Pcap {
        big_endian: bool,
        nanos: bool,
        linktype: u32,
    },
    PcapNg {
        big_endian: bool,
        interfaces: Vec<Interface>,
    },
}

/// A pcapng interface: link type, timestamp units per second, offset (s).
#[derive(Debug, Clone, Copy)]
struct Interface {
    linktype: u32,
    units: u64,
    offset_s: i64,
}

/// Push-based capture reader (see the module docs).
#[derive(Debug)]
pub struct CaptureReader {
    /// Bytes of the file at `buf[pos..end]`; `buf[end..]` is room for
    /// the next read ([`CaptureReader::space`]).
    buf: Vec<u8>,
    pos: usize,
    end: usize,
    /// File offset of `buf[0]`.
    base: u64,
    format: Format,
    frames: u64,
    failed: Option<ReadError>,
}

impl Default for CaptureReader {
    fn default() -> Self {
        Self::new()
    }
}

/// The result of trying to parse one unit at the front of the buffer.
enum Step {
    /// Need more bytes.
    More,
    /// Consumed `n` bytes, no packet (a header or a non-packet block).
    Skip(usize),
    /// Consumed `n` bytes; a packet at `range` of the buffer.
    Packet {
        n: usize,
        range: (usize, usize),
        ts_ns: i64,
        linktype: u32,
        orig_len: u32,
    },
}

impl CaptureReader {
    /// A reader that has seen no bytes.
    pub fn new() -> Self {
        CaptureReader {
            buf: Vec::new(),
            pos: 0,
            end: 0,
            base: 0,
            format: Format::Unknown,
            frames: 0,
            failed: None,
        }
    }

    /// Appends the next bytes of the file.
    pub fn push(&mut self, data: &[u8]) {
        self.space(data.len())[..data.len()].copy_from_slice(data);
        self.commit(data.len());
    }

    /// Room for at least `min` more bytes of the file, so a caller can
    /// read into the reader directly (one copy less than [`Self::push`]);
    /// then [`Self::commit`] says how many it wrote. Consumed bytes are
    /// dropped here, when they are at least half of what is held.
    pub fn space(&mut self, min: usize) -> &mut [u8] {
        if self.pos > 0 && self.pos * 2 >= self.end {
            self.buf.copy_within(self.pos..self.end, 0);
            self.base += self.pos as u64;
            self.end -= self.pos;
            self.pos = 0;
        }
        if self.buf.len() - self.end < min {
            self.buf.resize(self.end + min, 0);
        }
        &mut self.buf[self.end..]
    }

    /// Takes `n` bytes written at the start of [`Self::space`] as the next
    /// bytes of the file (at most the room it gave).
    pub fn commit(&mut self, n: usize) {
        self.end = (self.end + n).min(self.buf.len());
    }

    /// Frames returned so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Bytes consumed so far (the offset of the next record).
    pub fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    /// The next frame, `Ok(None)` if more bytes are needed, or the error
    /// that stops the reading (returned again on every later call).
    pub fn next_record(&mut self) -> Result<Option<Record<'_>>, ReadError> {
        loop {
            if let Some(e) = &self.failed {
                return Err(e.clone());
            }
            let offset = self.offset();
            match self.step() {
                Ok(Step::More) => return Ok(None),
                Ok(Step::Skip(n)) => self.pos += n,
                Ok(Step::Packet {
                    n,
                    range,
                    ts_ns,
                    linktype,
                    orig_len,
                }) => {
                    let start = self.pos;
                    self.pos += n;
                    self.frames += 1;
                    let data = self
                        .buf
                        .get(start + range.0..start + range.1)
                        .unwrap_or(&[]);
                    return Ok(Some(Record {
                        number: self.frames,
                        ts_ns,
                        linktype,
                        data,
                        orig_len,
                        offset,
                    }));
                }
                Err(e) => {
                    self.failed = Some(e.clone());
                    return Err(e);
                }
            }
        }
    }

    /// Call at the end of the file: fails if it stopped inside a record or
    /// held no capture at all.
    pub fn finish(&self) -> Result<(), ReadError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let rest = self.end - self.pos;
        match self.format {
            Format::Unknown => Err(ReadError::NotACapture(if rest == 0 {
                "an empty file".into()
            } else {
                format!("only {rest} bytes")
            })),
            _ if rest > 0 => Err(ReadError::Truncated {
                offset: self.offset(),
            }),
            _ => Ok(()),
        }
    }

    fn corrupt(&self, what: &'static str) -> ReadError {
        ReadError::Corrupt {
            offset: self.offset(),
            what,
        }
    }

    fn step(&mut self) -> Result<Step, ReadError> {
        let input = &self.buf[self.pos..self.end];
        if input.is_empty() {
            return Ok(Step::More);
        }
        match &self.format {
            Format::Unknown => self.detect(),
            Format::Pcap {
                big_endian,
                nanos,
                linktype,
            } => {
                if input.len() < 16 {
                    return Ok(Step::More);
                }
                let field = |at: usize| {
                    let b = [input[at], input[at + 1], input[at + 2], input[at + 3]];
                    if *big_endian {
                        u32::from_be_bytes(b)
                    } else {
                        u32::from_le_bytes(b)
                    }
                };
                if field(8) as usize > MAX_PACKET {
                    return Err(self.corrupt("a record longer than 262144 bytes"));
                }
                let parsed = if *big_endian {
                    parse_pcap_frame_be(input)
                } else {
                    parse_pcap_frame(input)
                };
                match parsed {
                    Ok((rest, b)) => {
                        let frac = i64::from(b.ts_usec) * if *nanos { 1 } else { 1000 };
                        let ts_ns = i64::from(b.ts_sec) * 1_000_000_000 + frac;
                        let start = b.data.as_ptr() as usize - input.as_ptr() as usize;
                        Ok(Step::Packet {
                            n: input.len() - rest.len(),
                            range: (start, start + b.data.len()),
                            ts_ns,
                            linktype: *linktype,
                            orig_len: b.origlen,
                        })
                    }
                    Err(nom_err) => incomplete_or(nom_err, || {
                        self.corrupt("a pcap record that does not parse")
                    }),
                }
            }
            Format::PcapNg { big_endian, .. } => {
                if input.len() < 12 {
                    return Ok(Step::More);
                }
                let big_endian = *big_endian;
                let word = |at: usize| {
                    let b = [input[at], input[at + 1], input[at + 2], input[at + 3]];
                    if big_endian {
                        u32::from_be_bytes(b)
                    } else {
                        u32::from_le_bytes(b)
                    }
                };
                if u32::from_le_bytes([input[0], input[1], input[2], input[3]]) == SHB_TYPE {
                    return self.section_header();
                }
                let len = word(4) as usize;
                if len > MAX_BLOCK {
                    return Err(self.corrupt("a pcapng block longer than 327680 bytes"));
                }
                if len < 12 || !len.is_multiple_of(4) {
                    return Err(self.corrupt("a pcapng block length that is not a multiple of 4"));
                }
                if input.len() < len {
                    return Ok(Step::More);
                }
                let parsed = if big_endian {
                    parse_block_be(input)
                } else {
                    parse_block_le(input)
                };
                let (rest, block) = match parsed {
                    Ok(v) => v,
                    Err(e) => {
                        return incomplete_or(e, || {
                            self.corrupt("a pcapng block that does not parse")
                        })
                    }
                };
                let n = input.len() - rest.len();
                let base = input.as_ptr() as usize;
                let Format::PcapNg { interfaces, .. } = &mut self.format else {
                    return Ok(Step::Skip(n));
                };
                match block {
                    Block::InterfaceDescription(idb) => {
                        let units = idb.ts_resolution().unwrap_or(1_000_000).max(1);
                        interfaces.push(Interface {
                            linktype: idb.linktype.0 as u32,
                            units,
                            offset_s: idb.ts_offset(),
                        });
                        Ok(Step::Skip(n))
                    }
                    Block::EnhancedPacket(epb) => {
                        let Some(iface) = interfaces.get(epb.if_id as usize).copied() else {
                            return Err(ReadError::Corrupt {
                                offset: self.base + self.pos as u64,
                                what: "a packet on an interface that was not described",
                            });
                        };
                        let data = epb_data(&epb);
                        let ticks = (u64::from(epb.ts_high) << 32) | u64::from(epb.ts_low);
                        let ns = u128::from(ticks) * 1_000_000_000 / u128::from(iface.units);
                        let ts_ns = i64::try_from(ns)
                            .unwrap_or(i64::MAX)
                            .saturating_add(iface.offset_s.saturating_mul(1_000_000_000));
                        let start = data.as_ptr() as usize - base;
                        Ok(Step::Packet {
                            n,
                            range: (start, start + data.len()),
                            ts_ns,
                            linktype: iface.linktype,
                            orig_len: epb.origlen,
                        })
                    }
                    Block::SimplePacket(spb) => {
                        let Some(iface) = interfaces.first().copied() else {
                            return Err(ReadError::Corrupt {
                                offset: self.base + self.pos as u64,
                                what: "a simple packet before any interface",
                            });
                        };
                        let start = spb.data.as_ptr() as usize - base;
                        let len = spb.data.len().min(spb.origlen as usize);
                        Ok(Step::Packet {
                            n,
                            range: (start, start + len),
                            ts_ns: 0,
                            linktype: iface.linktype,
                            orig_len: spb.origlen,
                        })
                    }
                    _ => Ok(Step::Skip(n)),
                }
            }
        }
    }

    /// Recognises the file by its first four bytes.
    fn detect(&mut self) -> Result<Step, ReadError> {
        let input = &self.buf[self.pos..self.end];
        if input.len() < 4 {
            return Ok(Step::More);
        }
        let magic = u32::from_le_bytes([input[0], input[1], input[2], input[3]]);
        match magic {
            0xa1b2_c3d4 | 0xa1b2_3c4d | 0xd4c3_b2a1 | 0x4d3c_b2a1 => {
                if input.len() < 24 {
                    return Ok(Step::More);
                }
                let (_, h) = match parse_pcap_header(input) {
                    Ok(v) => v,
                    Err(e) => {
                        return incomplete_or(e, || {
                            self.corrupt("a pcap header that does not parse")
                        })
                    }
                };
                self.format = Format::Pcap {
                    big_endian: h.is_bigendian(),
                    nanos: h.is_nanosecond_precision(),
                    linktype: h.network.0 as u32,
                };
                Ok(Step::Skip(24))
            }
            SHB_TYPE => self.section_header(),
            _ => Err(ReadError::NotACapture(describe_magic(input))),
        }
    }

    /// A pcapng Section Header Block starts a section: byte order and
    /// interfaces start afresh.
    fn section_header(&mut self) -> Result<Step, ReadError> {
        let input = &self.buf[self.pos..self.end];
        if input.len() < 12 {
            return Ok(Step::More);
        }
        let bom_be = input[8..12] == [0x1A, 0x2B, 0x3C, 0x4D];
        let len_bytes = [input[4], input[5], input[6], input[7]];
        let len = if bom_be {
            u32::from_be_bytes(len_bytes)
        } else {
            u32::from_le_bytes(len_bytes)
        } as usize;
        if len > MAX_BLOCK {
            return Err(self.corrupt("a section header longer than 327680 bytes"));
        }
        match parse_sectionheaderblock(input) {
            Ok((rest, shb)) => {
                self.format = Format::PcapNg {
                    big_endian: shb.big_endian(),
                    interfaces: Vec::new(),
                };
                Ok(Step::Skip(input.len() - rest.len()))
            }
            Err(e) => incomplete_or(e, || {
                self.corrupt("a pcapng section header that does not parse")
            }),
        }
    }
}

/// The captured bytes of an enhanced packet block, without the padding.
fn epb_data<'a>(epb: &EnhancedPacketBlock<'a>) -> &'a [u8] {
    let n = (epb.caplen as usize).min(epb.data.len());
    &epb.data[..n]
}

/// Maps nom's "need more" to [`Step::More`] and anything else to `corrupt`.
fn incomplete_or<I>(
    e: pcap_parser::nom::Err<PcapError<I>>,
    corrupt: impl FnOnce() -> ReadError,
) -> Result<Step, ReadError> {
    match e {
        pcap_parser::nom::Err::Incomplete(_) => Ok(Step::More),
        _ => Err(corrupt()),
    }
}

/// A short description of what the file starts with, for the error.
fn describe_magic(input: &[u8]) -> String {
    let head = &input[..input.len().min(8)];
    let printable = head
        .iter()
        .all(|c| c.is_ascii_graphic() || *c == b' ' || *c == b'\r' || *c == b'\n');
    if printable {
        format!("text starting {:?}", String::from_utf8_lossy(head))
    } else {
        let hex: Vec<String> = head.iter().map(|b| format!("{b:02x}")).collect();
        format!("bytes {}", hex.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pcap_header(magic: [u8; 4], be: bool, linktype: u32) -> Vec<u8> {
        let mut v = magic.to_vec();
        let w16 =
            |v: &mut Vec<u8>, x: u16| v.extend(if be { x.to_be_bytes() } else { x.to_le_bytes() });
        w16(&mut v, 2);
        w16(&mut v, 4);
        v.extend([0; 8]);
        let w32 =
            |v: &mut Vec<u8>, x: u32| v.extend(if be { x.to_be_bytes() } else { x.to_le_bytes() });
        w32(&mut v, 65535);
        w32(&mut v, linktype);
        v
    }

    #[test]
    fn big_endian_nanosecond_pcap_byte_at_a_time() {
        let mut f = pcap_header([0xa1, 0xb2, 0x3c, 0x4d], true, 101);
        for x in [7u32, 123_456_789, 3, 3] {
            f.extend(x.to_be_bytes());
        }
        f.extend(b"abc");
        let mut r = CaptureReader::new();
        let mut got = Vec::new();
        for b in &f {
            r.push(std::slice::from_ref(b));
            while let Some(rec) = r.next_record().unwrap() {
                got.push((rec.number, rec.ts_ns, rec.linktype, rec.data.to_vec()));
            }
        }
        r.finish().unwrap();
        assert_eq!(got, vec![(1, 7_123_456_789, 101, b"abc".to_vec())]);
    }

    #[test]
    fn truncation_is_reported_at_the_record_offset() {
        let mut f = pcap_header([0xd4, 0xc3, 0xb2, 0xa1], false, 1);
        for x in [1u32, 2, 10, 10] {
            f.extend(x.to_le_bytes());
        }
        f.extend(b"short");
        let mut r = CaptureReader::new();
        r.push(&f);
        assert!(r.next_record().unwrap().is_none());
        assert_eq!(r.finish(), Err(ReadError::Truncated { offset: 24 }));
    }

    #[test]
    fn text_is_not_a_capture() {
        let mut r = CaptureReader::new();
        r.push(b"INVITE sip:bob@example.com SIP/2.0\r\n");
        assert!(matches!(r.next_record(), Err(ReadError::NotACapture(_))));
        let r = CaptureReader::new();
        assert!(matches!(r.finish(), Err(ReadError::NotACapture(_))));
    }

    #[test]
    fn absurd_record_length_is_corrupt_not_a_wait() {
        let mut f = pcap_header([0xd4, 0xc3, 0xb2, 0xa1], false, 1);
        for x in [1u32, 2, u32::MAX, 10] {
            f.extend(x.to_le_bytes());
        }
        let mut r = CaptureReader::new();
        r.push(&f);
        assert!(matches!(
            r.next_record(),
            Err(ReadError::Corrupt { offset: 24, .. })
        ));
    }

    #[test]
    fn reading_into_space_matches_push_and_keeps_offsets() {
        // Three records of different sizes, read through `space`/`commit`
        // in odd chunk sizes (partial reads, as `read` may return), against
        // one `push` of the whole file: the same frames, times and offsets.
        let mut f = pcap_header([0xd4, 0xc3, 0xb2, 0xa1], false, 1);
        for (i, len) in [5u32, 300, 17].into_iter().enumerate() {
            for x in [i as u32 + 1, 0, len, len] {
                f.extend(x.to_le_bytes());
            }
            f.extend((0..len).map(|b| b as u8));
        }
        let collect = |r: &mut CaptureReader, got: &mut Vec<(u64, i64, u64, Vec<u8>)>| {
            while let Some(rec) = r.next_record().unwrap() {
                got.push((rec.number, rec.ts_ns, rec.offset, rec.data.to_vec()));
            }
        };
        let mut whole = CaptureReader::new();
        let mut want = Vec::new();
        whole.push(&f);
        collect(&mut whole, &mut want);
        assert_eq!(want.len(), 3);
        for chunk in [1usize, 7, 64, 1000] {
            let mut r = CaptureReader::new();
            let mut got = Vec::new();
            let mut at = 0;
            while at < f.len() {
                // Ask for more room than is written, as a reader does.
                let room = r.space(chunk * 2);
                assert!(room.len() >= chunk * 2);
                let n = chunk.min(f.len() - at);
                room[..n].copy_from_slice(&f[at..at + n]);
                r.commit(n);
                at += n;
                collect(&mut r, &mut got);
            }
            r.finish().unwrap();
            assert_eq!(got, want, "chunks of {chunk}");
            assert_eq!(r.offset(), f.len() as u64);
        }
    }
}
