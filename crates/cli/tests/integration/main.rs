//! CLI tests: run the built `sipkit` binary and compare with snapshots.

// Test code: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::print_stdout, missing_docs)]

mod codes;
mod parse;
mod serve;
mod serve_auth;
mod ua;
mod util;
mod web;
