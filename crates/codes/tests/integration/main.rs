//! The knowledge base held to its promise: complete against the IANA
//! registry, every field in every language, Russian that is Russian, and a
//! comparison for every pair.

mod compare_all;
mod data;
mod grammar;
