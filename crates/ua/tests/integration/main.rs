//! sipkit-ua's synchronous agent driven on a jumping clock: two or three
//! agents against each other (and scripted redirect servers and
//! registrars) over a perfect and a lossy link. Nothing sleeps; no socket
//! is opened.

// Test code: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::print_stdout, missing_docs)]

mod digest;
mod harness;
mod serve_core;
mod two_agents;
