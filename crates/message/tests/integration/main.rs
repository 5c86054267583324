//! Integration tests of sipkit-message, one module per area.

mod alloc;
mod builder;
mod raw;
mod roundtrip;
mod stream;
mod torture;

use std::path::PathBuf;

/// Reads a fixture from the repository's `testdata/`.
pub fn testdata(rel: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata")
        .join(rel);
    std::fs::read(&p).unwrap_or_else(|e| panic!("reading {}: {e}", p.display()))
}
