//! Digest authentication (RFC 3261 §22, RFC 7616, RFC 8760) and abuse
//! control for the registrar and redirect server.
//!
//! * [`Authenticator`]: the decision — challenge, pass, 400, 403, 503 — as
//!   a plain function of (now, request, source, users), with stateless
//!   HMAC nonces ([`NonceKey`]), a bounded `nc` replay table
//!   ([`ReplayTable`]), a per-source token bucket ([`RateLimiter`]) and
//!   failure counters with timed bans ([`Bans`]). Sans-IO: time and the
//!   random seed are inputs.
//! * [`Guard`]: the authenticator behind a lock, kept in step with the
//!   shared [`AuthStore`] (users as HA1s, the nonce secret, bans: in the
//!   SQLite file, [`AuthDb`], or in Redis, [`RedisAuthDb`]) and
//!   logging `auth.challenge`, `auth.ok`, `auth.fail`, `ban.add`,
//!   `ban.expire`.
//! * [`AuthSection`]: `[auth]` in the configuration.

mod bans;
mod cidr;
mod config;
mod db;
mod decide;
mod limiter;
mod nonce;
mod redis_db;
mod replay;
mod service;
mod store;
mod users;

pub use bans::{Ban, BanSection, BanTarget, Bans};
pub use cidr::{BadCidr, Cidr};
pub use config::{AuthSection, ConfigUser, DEFAULT_ALGORITHMS, DEFAULT_REALM};
pub use db::AuthDb;
pub use decide::{AuthEvent, AuthInput, AuthSettings, Authenticator, Verdict};
pub use limiter::{Admit, OverLimit, RateLimitSection, RateLimiter};
pub use nonce::{NonceKey, NonceState};
pub use redis_db::RedisAuthDb;
pub use replay::{NcCheck, ReplayTable};
pub use service::Guard;
pub use store::{open_auth_store, AuthStore};
pub use users::{UserRecord, Users};
