//! CLI tests: run the built `sipkit` binary and compare with snapshots.

mod codes;
mod parse;
mod serve;
mod ua;
mod util;
mod web;
