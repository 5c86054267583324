//! Integration tests of sipkit-message, one module per area.

// Test code: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::print_stdout, missing_docs)]

mod alloc;
mod builder;
mod describe;
mod frames;
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

/// Every message of `testdata/rfc4475` and `testdata/messages`, in name order.
pub fn fixtures() -> Vec<Vec<u8>> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata");
    let mut out = Vec::new();
    for dir in ["rfc4475", "messages"] {
        let mut paths: Vec<_> = std::fs::read_dir(root.join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "dat" || x == "sip"))
            .collect();
        paths.sort();
        out.extend(paths.into_iter().map(|p| std::fs::read(p).unwrap()));
    }
    out
}
