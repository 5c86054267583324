//! Integration tests of sipkit-transaction, one module per area, named
//! after the RFC 3261 sections they exercise. The clock jumps to the next
//! deadline; nothing sleeps.

// Test code: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::print_stdout, missing_docs)]

mod harness;

mod client_invite_17_1_1;
mod client_non_invite_17_1_2;
mod driver;
mod lossy_link;
mod malformed;
mod matching_17_1_3_17_2_3;
mod never_panics;
mod server_invite_17_2_1;
mod server_non_invite_17_2_2;
