//! sipkit-server's integration tests: one binary, one module per area.
//!
//! Tests that concern behaviour every store must share are written once as
//! `fn name(store: &dyn LocationService)` and run against each store by
//! [`for_each_store!`], which makes `memory::name`, `sqlite::name` and
//! `redis::name`.

// Test code: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::print_stdout, missing_docs)]

/// Runs each listed `fn(&dyn LocationService)` of the calling module as one
/// test per store: `memory::NAME` on a fresh [`MemoryStore`] and
/// `sqlite::NAME` on a fresh [`SqliteStore`] file in its own temp dir, and
/// `redis::NAME` on a [`RedisStore`] of a `redis-server` the test starts on
/// a free loopback port (see [`util::RedisServer`]); and, in one test
/// `redis_cluster::every_function_of_the_module`, each of them against a
/// three-master Redis Cluster on loopback ([`util::RedisCluster`]).
///
/// [`MemoryStore`]: sipkit_server::MemoryStore
/// [`SqliteStore`]: sipkit_server::SqliteStore
/// [`RedisStore`]: sipkit_server::RedisStore
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
        mod redis {
            $(
                #[test]
                fn $name() {
                    let Some(server) = crate::util::RedisServer::start(stringify!($name)) else {
                        return;
                    };
                    let store = sipkit_server::RedisStore::open(&server.url()).unwrap();
                    super::$name(&store);
                }
            )*
        }
        /// The same functions against a three-master Redis Cluster created
        /// once for the module (creating one takes seconds): one test, each
        /// function on its own key prefix.
        mod redis_cluster {
            #[test]
            fn every_function_of_the_module() {
                let Some(cluster) = crate::util::RedisCluster::start(module_path!()) else {
                    return;
                };
                $(
                    let options = sipkit_server::RedisOptions {
                        prefix: concat!(stringify!($name), ":"),
                        ..sipkit_server::RedisOptions::default()
                    };
                    let store = sipkit_server::RedisStore::open_with(&cluster.url(), options).unwrap();
                    super::$name(&store);
                )*
            }
        }
    };
}

mod auth;
mod config;
mod contact_key_19_1_4;
mod core;
mod durability;
mod multinode;
mod redirect;
mod redis_server;
mod redis_store;
mod registrar;
mod store;
mod util;
