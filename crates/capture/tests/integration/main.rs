//! sipkit-capture integration tests: captures built by `sipkit_capture::synth`
//! (every link layer, fragments, TCP cut every way), analysed end to end.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    missing_docs
)] // test code: a panic is a failed test

mod findings;
mod memo;
mod never_panics;
mod reading;
mod util;
