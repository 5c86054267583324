//! The knowledge base held to its promise: complete against the IANA
//! registry, every field in every language, Russian that is Russian, and a
//! comparison for every pair.

// Test code: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::print_stdout, missing_docs)]

mod agent;
mod compare_all;
mod data;
mod facts;
mod grammar;
mod terms;
