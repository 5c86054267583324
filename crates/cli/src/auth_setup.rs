//! Building `sipkit serve`'s authentication from its configuration and
//! database, and what `sipkit user` / `sipkit ban` share: the database
//! path, the realm, random bytes.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context};
use sipkit_server::auth::{
    open_auth_store, AuthSettings, AuthStore, Authenticator, Guard, NonceKey, Users,
};
use sipkit_server::ServerConfig;

/// `n` bytes from the operating system's CSPRNG.
pub fn random_bytes(n: usize) -> anyhow::Result<Vec<u8>> {
    let mut b = vec![0u8; n];
    getrandom::getrandom(&mut b)
        .map_err(|e| anyhow::anyhow!("reading random bytes from the operating system: {e}"))?;
    Ok(b)
}

/// A random u64 seed.
pub fn random_seed() -> anyhow::Result<u64> {
    let b = random_bytes(8)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(&b);
    Ok(u64::from_be_bytes(a))
}

/// The configuration `--config` names, or the default one.
pub fn load_config(path: Option<&PathBuf>) -> anyhow::Result<ServerConfig> {
    match path {
        Some(p) => ServerConfig::load(p).with_context(|| format!("loading {}", p.display())),
        None => Ok(ServerConfig::default()),
    }
}

/// The store of users and bans: `--db`, else the configuration's `db` (a
/// SQLite file or a Redis URL); the memory store has none. Returns it with
/// its name as it may be printed (a Redis password hidden).
pub fn open_db(
    db: Option<&str>,
    config: &ServerConfig,
) -> anyhow::Result<(String, Box<dyn AuthStore>)> {
    let path = db.unwrap_or(&config.db).to_owned();
    let shown = sipkit_server::db_for_display(&path);
    match open_auth_store(&path).with_context(|| format!("opening the database {shown}"))? {
        Some(store) => Ok((shown, store)),
        None => bail!("--db :memory: has no database for users and bans: give --db PATH or --db redis://… (what sipkit serve uses), or list users under [[auth.users]] in the configuration file"),
    }
}

/// The authentication of `sipkit serve`, or `None` when it is turned off
/// (`--no-auth` or `enabled = false`, logged as a warning). While no user
/// exists (and `enabled` is not `true`) it lets everything through, and
/// turns on by itself when `sipkit user add` adds the first user.
pub fn build_guard(config: &ServerConfig) -> anyhow::Result<Option<Arc<Guard>>> {
    let section = &config.auth;
    if section.enabled == Some(false) {
        tracing::warn!("authentication is OFF (--no-auth or auth.enabled = false): anyone may register and be redirected to");
        return Ok(None);
    }
    let settings = AuthSettings::from_section(section).context("configuration [auth]")?;
    // Users, bans and the nonce secret shared with `sipkit user`, `sipkit
    // ban` and the other nodes: in the SQLite file or in Redis.
    let db = open_auth_store(&config.db)
        .with_context(|| format!("opening {}", sipkit_server::db_for_display(&config.db)))?;
    let secret = match (&section.secret, &db) {
        (Some(s), _) => s.as_bytes().to_vec(),
        (None, Some(db)) => db
            .secret_or_insert(&random_bytes(32)?)
            .context("reading the nonce secret")?,
        (None, None) => random_bytes(32)?,
    };
    let config_users = section.user_records().context("configuration [auth]")?;
    let mut all = config_users.clone();
    if let Some(db) = &db {
        all.extend(db.users().context("reading users")?);
    }
    let dummy = sipkit_digest::to_hex(&random_bytes(16)?);
    let users = Users::new(&settings.realm, all, &dummy);
    if users.other_realm() > 0 {
        tracing::warn!(
            skipped = users.other_realm(),
            realm = %settings.realm,
            "users stored for another realm cannot authenticate; re-add them with --realm"
        );
    }
    let algorithms: Vec<&str> = settings.algorithms.iter().map(|a| a.as_str()).collect();
    if users.is_empty() && users.other_realm() == 0 && !settings.always {
        tracing::info!(
            "authentication: no users yet, everyone is served (sipkit user add turns it on)"
        );
    } else {
        tracing::info!(
            users = users.len(),
            realm = %settings.realm,
            algorithms = %algorithms.join(", "),
            trusted = settings.trust.len(),
            "authentication on"
        );
    }
    let auth = Authenticator::new(settings, NonceKey::new(&secret), users, random_seed()?);
    Ok(Some(Arc::new(Guard::new(auth, db, config_users, dummy))))
}
