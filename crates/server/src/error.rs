//! The crate's one error type.

/// Everything that can go wrong in the location service, the URI helpers and
/// the configuration loader.
///
/// Decisions ([`crate::register`], [`crate::redirect`]) never return it: they
/// turn a store failure into a 500 outcome, so the caller always has a reply
/// to send.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// SQLite reported an error (IO, locking, a full disk, a corrupt file …).
    #[error("location service: {0}")]
    Sqlite(#[from] rusqlite::Error),

    /// Redis reported an error or could not be reached (the Redis location
    /// service; the request is answered 500 with Retry-After).
    #[error("location service: redis: {0}")]
    Redis(#[from] redis::RedisError),

    /// Redis could not be reached at the last attempt and the Redis store
    /// waits before it tries again (backoff), answering this meanwhile.
    #[error(
        "location service: redis unreachable ({last_error}); next attempt in {retry_in_ms} ms"
    )]
    RedisUnavailable {
        /// Milliseconds until the next connect attempt.
        retry_in_ms: u64,
        /// Why the last attempt failed.
        last_error: String,
    },

    /// Other writers changed the AOR between every read and write of an
    /// update, as many times as the store tries.
    #[error("location service: {aor} kept changing under {attempts} attempts to update it")]
    Contended {
        /// The address-of-record.
        aor: String,
        /// How many times the update was tried.
        attempts: u32,
    },

    /// The database file was written by a newer sipkit.
    #[error("database {path}: schema version {found} is newer than this build understands (at most {supported})")]
    SchemaTooNew {
        /// The file opened.
        path: String,
        /// Its `PRAGMA user_version`.
        found: i64,
        /// The newest version this build migrates to.
        supported: i64,
    },

    /// SQLite refused write-ahead logging for the file (some network file
    /// systems do); without it the durability promise cannot be kept.
    #[error("database {path}: journal mode is {mode}, expected wal")]
    NotWal {
        /// The file opened.
        path: String,
        /// The journal mode SQLite kept.
        mode: String,
    },

    /// The COMMIT of the transaction that held these writes failed (a
    /// group commit of several workers, [`crate::SqliteStore`]): nothing of
    /// it is durable, and none of its REGISTERs may be acknowledged.
    #[error("location service: commit failed: {error}")]
    CommitFailed {
        /// SQLite's error.
        error: String,
    },

    /// A stored row holds a value this build cannot read back.
    #[error("location service holds an invalid {what}: {value:?}")]
    Corrupt {
        /// Which column or field.
        what: &'static str,
        /// The value found.
        value: String,
    },

    /// A value is too large for the store (a timestamp past year 292 million).
    #[error("{what} {value} is out of the location service's range")]
    OutOfRange {
        /// Which value.
        what: &'static str,
        /// The value given.
        value: u64,
    },

    /// A URI is not a SIP or SIPS URI this crate can read.
    #[error("invalid URI {uri:?}: {reason}")]
    InvalidUri {
        /// The text given.
        uri: String,
        /// What was wrong, e.g. "empty host".
        reason: &'static str,
    },

    /// A URI has a scheme other than `sip` or `sips` where only those are
    /// allowed (an address-of-record, a Request-URI); RFC 3261 §8.2.2.1 maps
    /// it to 416.
    #[error("unsupported URI scheme in {uri:?}: expected sip or sips")]
    UnsupportedScheme {
        /// The text given.
        uri: String,
    },

    /// A q-value is not `0` to `1` with at most three decimals (RFC 3261
    /// §25.1 `qvalue`).
    #[error("invalid q-value {text:?}: expected 0 to 1 with at most three decimals")]
    InvalidQ {
        /// The text given.
        text: String,
    },

    /// A transport address is not `TRANSPORT:IP:PORT`.
    #[error("invalid transport address {text:?}: {reason} (expected TRANSPORT:IP:PORT, e.g. udp:127.0.0.1:5060 or tcp:[::1]:5060)")]
    InvalidTransportAddr {
        /// The text given.
        text: String,
        /// What was wrong.
        reason: &'static str,
    },

    /// The configuration file does not parse or holds inconsistent values.
    #[error("config {source_name}: {message}")]
    Config {
        /// The file name, or `<string>` for text passed in.
        source_name: String,
        /// What was wrong, with the line and column when TOML knows them.
        message: String,
    },

    /// A listener could not be bound.
    #[error("binding {listen}: {source}")]
    Bind {
        /// The listen addresses.
        listen: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },

    /// The transports stopped delivering messages.
    #[error("the transport stopped")]
    TransportClosed,

    /// A file could not be read.
    #[error("reading {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
