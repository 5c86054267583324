//! CLI tests: run the built `sipkit` binary and compare with snapshots.

mod codes;
mod util;
