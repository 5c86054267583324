//! sipkit-server's integration tests: one binary, one module per area.
//!
//! Tests that concern behaviour every store must share are written once as
//! `fn name(store: &dyn LocationService)` and run against each store by
//! [`for_each_store!`], which makes `memory::name` and `sqlite::name`.

// Test code: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::print_stdout, missing_docs)]

/// Runs each listed `fn(&dyn LocationService)` of the calling module as one
/// test per store: `memory::NAME` on a fresh [`MemoryStore`] and
/// `sqlite::NAME` on a fresh [`SqliteStore`] file in its own temp dir.
///
/// [`MemoryStore`]: sipkit_server::MemoryStore
/// [`SqliteStore`]: sipkit_server::SqliteStore
macro_rules! for_each_store {
    ($($name:ident),* $(,)?) => {
        mod memory {
            $(
                #[test]
                fn $name() {
                    super::$name(&sipkit_server::MemoryStore::new());
                }
            )*
        }
        mod sqlite {
            $(
                #[test]
                fn $name() {
                    let dir = crate::util::TempDir::new(stringify!($name));
                    let store = sipkit_server::SqliteStore::open(dir.file("location.db")).unwrap();
                    super::$name(&store);
                }
            )*
        }
    };
}

mod auth;
mod config;
mod contact_key_19_1_4;
mod core;
mod durability;
mod redirect;
mod registrar;
mod store;
mod util;
