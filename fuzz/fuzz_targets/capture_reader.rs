//! The capture reader on any bytes, pushed in two uneven chunks: it never
//! panics, never returns a record longer than the input, and numbers
//! records from 1 without gaps.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sipkit_capture::CaptureReader;

fuzz_target!(|data: &[u8]| {
    let split = data.first().map_or(0, |b| usize::from(*b)).min(data.len());
    let mut r = CaptureReader::new();
    let mut expected = 1;
    for part in [&data[..split], &data[split..]] {
        r.push(part);
        while let Ok(Some(rec)) = r.next_record() {
            assert_eq!(rec.number, expected);
            assert!(rec.data.len() <= data.len());
            expected += 1;
        }
    }
    let _ = r.finish();
});
