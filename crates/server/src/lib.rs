//! sipkit's registrar, location service and redirect decisions.
//!
//! * [`LocationService`]: bindings of an address-of-record to contacts
//!   (RFC 3261 §10), with two stores: [`MemoryStore`] (tests,
//!   `--db :memory:`) and [`SqliteStore`] (a WAL file that keeps every
//!   acknowledged registration across restarts and `kill -9`) and
//!   [`RedisStore`] (one Redis shared by several `sipkit serve` nodes).
//! * [`register`]: what a registrar answers to a REGISTER (§10.3) — 200 with
//!   the current bindings, 423, 400, 404, or 500 for an out-of-order CSeq or
//!   a store failure.
//! * [`redirect`]: what a redirect server answers to any other request —
//!   302 with every live contact, 301 for an AOR moved for good, 480, 404.
//! * [`auth`]: digest authentication (RFC 3261 §22, RFC 7616, RFC 8760)
//!   before the registrar and the lookup — stateless HMAC nonces, `nc`
//!   replay detection, no user enumeration, a per-source rate limit and
//!   bans — and the users (HA1s) and bans in the database.
//! * [`ServerConfig`]: `sipkit serve`'s TOML configuration.
//! * [`Core`]: `sipkit serve` as a sans-IO endpoint — the transaction layer
//!   and the [`Service`] behind `sipkit_transport::Endpoint`, tested on a
//!   clock that jumps; [`Server`] binds it and runs it on
//!   `sipkit-transport`'s one driver; [`Workers`] runs one core per worker
//!   thread on sockets shared with SO_REUSEPORT (`sipkit serve --workers`).
//! * [`metrics`]: the counters the cores update (Prometheus text format,
//!   `sipkit serve --metrics`) and [`metrics::MeteredStore`], which times the
//!   location service.
//!
//! Decisions are plain functions of (now, request, store, config), and the
//! core is driven one input at a time: nothing here opens a socket or reads
//! a clock. Time is passed in as [`UnixMs`] (wall-clock, because expiry is
//! persisted) and `sipkit_transport::Now`; the driver reads the clock once
//! per turn. Sockets are `sipkit-transport`'s, transactions
//! `sipkit-transaction`'s; parsing is `sipkit-message`'s, whose output the
//! caller copies into a [`RegisterRequest`].
//!
//! ```
//! use sipkit_server::{
//!     redirect, register, ContactEntry, MemoryStore, RedirectConfig, RedirectOutcome,
//!     RegisterContact, RegisterRequest, RegistrarConfig, UnixMs,
//! };
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let store = MemoryStore::new();
//! let now = UnixMs::from_millis(1_700_000_000_000);
//! let req = RegisterRequest::new(
//!     "sip:alice@example.com",
//!     "a84b4c76e66710@pc33.example.com",
//!     1,
//!     vec![RegisterContact::Uri(ContactEntry::new("sip:alice@192.0.2.4:5060"))],
//!     Some(600),
//!     "udp:192.0.2.4:5060".parse()?,
//! );
//! let reply = register(now, &req, &store, &RegistrarConfig::default());
//! assert_eq!(reply.status(), 200);
//!
//! // 100 s later an INVITE for Alice is redirected to her phone.
//! let later = now.plus_secs(100);
//! let answer = redirect(later, "INVITE", "sip:alice@example.com", &store, &RedirectConfig::default());
//! let RedirectOutcome::MovedTemporarily { contacts } = answer else { panic!("{answer:?}") };
//! assert_eq!(contacts[0].to_string(), "<sip:alice@192.0.2.4:5060>;expires=500;q=1");
//! # Ok(())
//! # }
//! ```

pub mod auth;
mod binding;
mod config;
pub mod core;
mod directory;
mod error;
pub mod metrics;
mod redirect;
mod registrar;
mod serve;
pub mod sip;
mod store;
mod time;
mod uri;

pub use binding::{
    reply_order, Binding, Change, ConnRef, ContactReply, Plan, Transport, TransportAddr,
    MAX_USER_AGENT, Q,
};
pub use config::{RegistrarSection, ServerConfig, TransactionSection, UsersSection};
pub use core::Core;
pub use directory::{Directory, Standing};
pub use error::{Error, Result};
pub use redirect::{redirect, RedirectConfig, RedirectOutcome};
pub use registrar::{
    register, ContactEntry, RegisterContact, RegisterOutcome, RegisterRequest, RegistrarConfig,
};
pub use serve::{Server, Workers};
pub use sip::{Reply, Service};
pub use store::{
    db_for_display, is_redis_url, open_store, open_store_with, Counts, DbSync, LocationService,
    MemoryStore, PurgeProgress, RedisOptions, RedisStore, SqliteStore,
};
pub use time::UnixMs;
pub use uri::{canonical_aor, contact_key, same_contact};
