//! CLI tests: run the built `sipkit` binary and compare with snapshots.

// Test code: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::print_stdout, missing_docs)]

mod analyze;
mod auth_e2e;
mod codes;
mod parse;
// The redis-server helper of sipkit-server's tests, written once; not every
// helper is used here.
#[allow(dead_code)]
#[path = "../../../server/tests/integration/redis_server.rs"]
mod redis_server;
mod serve;
mod serve_auth;
mod serve_faults;
mod serve_ops;
mod serve_redis;
mod serve_redis_auth;
mod ua;
mod util;
mod web;
