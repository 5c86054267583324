//! Deterministic tests of the dialog layer: every flow and timer runs on an
//! injected clock that jumps to the next deadline; nothing sleeps. Modules
//! are named after the RFC sections they check.

// Test code: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::print_stdout, missing_docs)]

mod rfc3261_12_dialogs;
mod rfc3261_13_invite;
mod rfc3261_8_1_3_4_redirects;
mod rfc3515_refer;
mod util;
