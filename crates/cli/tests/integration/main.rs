//! CLI tests: run the built `sipkit` binary and compare with snapshots.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    missing_docs
)] // test code: a panic is a failed test

mod analyze;
mod codes;
mod parse;
mod serve;
mod ua;
mod util;
mod web;
