//! The whole analysis on any bytes: a valid pcap header (the first byte picks
//! the link type) followed by the input cut into records, so the fuzzer
//! reaches the link layers, defragmentation, TCP reassembly, SIP parsing and
//! the call analyzer; then every output is rendered. Nothing may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sipkit_capture::render::{call_json, call_text, ladder_text, summary_json, summary_text};
use sipkit_capture::{CaptureReader, Pipeline};
use sipkit_codes::Lang;

const LINKTYPES: [u32; 8] = [0, 1, 101, 108, 113, 228, 229, 276];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let mut file = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    file.extend(262_144u32.to_le_bytes());
    file.extend(LINKTYPES[usize::from(pick) % LINKTYPES.len()].to_le_bytes());
    // Records: a 2-byte length, then that many bytes; time advances 10 s
    // per record so calls time out and are written out.
    let mut i = 0;
    let mut t = 0u32;
    while i + 2 <= rest.len() {
        let n = usize::from(u16::from_le_bytes([rest[i], rest[i + 1]])).min(rest.len() - i - 2);
        let rec = &rest[i + 2..i + 2 + n];
        for x in [t, 0, n as u32, n as u32] {
            file.extend(x.to_le_bytes());
        }
        file.extend_from_slice(rec);
        i += 2 + n;
        t += 10;
    }
    let mut r = CaptureReader::new();
    let mut p = Pipeline::default();
    r.push(&file);
    while let Ok(Some(rec)) = r.next_record() {
        p.frame(&rec);
    }
    p.finish();
    while let Some(c) = p.poll_call() {
        let _ = serde_json::to_string(&call_json(&c, Lang::EN));
        let _ = call_text(&c, Lang::RU);
        let _ = ladder_text(&c, Lang::EN);
    }
    let _ = summary_json(p.summary());
    let _ = summary_text(p.summary(), Lang::EN);
});
