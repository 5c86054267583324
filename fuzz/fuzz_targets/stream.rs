//! Fuzzes the TCP `StreamDecoder`: the first byte picks a chunk size, the rest
//! is pushed in chunks and decoded after each push. Decoding must never
//! panic, never loop, and never hold more than the configured bound.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sipkit_message::{Event, Limits, StreamDecoder};

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(first % 64) + 1;
    let limits = Limits {
        max_message_size: 2048,
        max_headers: 32,
        max_nesting: 4,
    };
    let mut d = StreamDecoder::new(limits);
    for c in rest.chunks(chunk) {
        if d.push(c).is_err() {
            return;
        }
        assert!(d.buffered() <= 2 * limits.max_message_size);
        // Each event consumes bytes, so this loop ends; bound it anyway.
        for _ in 0..=rest.len() {
            match d.decode() {
                Ok(Event::Partial) | Err(_) => break,
                Ok(Event::Message(m)) => {
                    let out = m.to_bytes();
                    assert!(sipkit_message::parse(&out).is_ok());
                }
                Ok(Event::Invalid { bytes, .. }) => assert!(!bytes.is_empty()),
                Ok(Event::Ping | Event::Pong) => {}
            }
        }
    }
});
