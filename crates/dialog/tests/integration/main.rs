//! Deterministic tests of the dialog layer: every flow and timer runs on an
//! injected clock that jumps to the next deadline; nothing sleeps. Modules
//! are named after the RFC sections they check.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    missing_docs
)] // test code: a panic is a failed test

mod rfc3261_12_dialogs;
mod rfc3261_13_invite;
mod rfc3261_8_1_3_4_redirects;
mod rfc3515_refer;
mod util;
