//! The knowledge base held to its promise: complete against the IANA
//! registry, every field in every language, Russian that is Russian, and a
//! comparison for every pair.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    missing_docs
)] // test code: a panic is a failed test

mod agent;
mod compare_all;
mod data;
mod facts;
mod grammar;
mod terms;
