//! Tests of sipkit-digest: the RFC's worked examples as vectors, the
//! syntax of challenges and credentials, and a client answering a server.
//! Modules are named after the RFC sections they check.

// Test code: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::print_stdout, missing_docs)]

mod client_server;
mod properties;
mod rfc2617_3_5_example;
mod rfc7616_3_4_syntax;
mod rfc7616_3_9_examples;
