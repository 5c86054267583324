//! `sipkit ban list|add|remove`: the bans of `sipkit serve`, kept in the
//! store it shares (its SQLite file or its Redis); every running server on
//! it applies changes within 2 seconds.

use std::io::Write;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::SystemTime;

use anyhow::bail;
use clap::{Args, Subcommand, ValueEnum};
use sipkit_server::auth::{Ban, BanTarget};
use sipkit_server::UnixMs;

use crate::auth_setup::{load_config, open_db};

/// Arguments of `sipkit ban`.
#[derive(Args, Debug)]
#[command(
    after_help = "Examples:\n  sipkit ban list\n  sipkit ban add source 203.0.113.9 --for 3600\n  \
sipkit ban add user 100\n  sipkit ban remove source 203.0.113.9\n  sipkit ban list --db redis://127.0.0.1:6379/0\n\
A banned source is ignored; a banned user fails every authentication (answered like a wrong password)."
)]
pub struct BanArgs {
    #[command(subcommand)]
    command: BanCommand,
    /// The SQLite database or the Redis URL sipkit serve uses (default: the configuration's db, else ./sipkit.db)
    #[arg(long, value_name = "PATH|URL", global = true)]
    db: Option<String>,
    /// The configuration file of sipkit serve (for db)
    #[arg(long, value_name = "FILE", global = true)]
    config: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
enum BanCommand {
    /// List the bans in force: kind, target, seconds left, reason
    List,
    /// Ban a source address or a user name
    Add {
        /// source or user
        kind: Kind,
        /// An IP address or a user name
        target: String,
        /// For how many seconds
        #[arg(long = "for", value_name = "SECONDS", default_value_t = 3600)]
        secs: u32,
    },
    /// Lift a ban
    Remove {
        /// source or user
        kind: Kind,
        /// An IP address or a user name
        target: String,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Kind {
    Source,
    User,
}

fn target(kind: Kind, value: &str) -> anyhow::Result<BanTarget> {
    Ok(match kind {
        Kind::Source => match value.parse::<IpAddr>() {
            Ok(ip) => BanTarget::Source(ip),
            Err(_) => bail!("{value:?} is not an IP address"),
        },
        Kind::User => BanTarget::User(value.to_owned()),
    })
}

pub fn run(args: &BanArgs) -> anyhow::Result<u8> {
    let config = load_config(args.config.as_ref())?;
    let (path, db) = open_db(args.db.as_deref(), &config)?;
    let now = UnixMs::from_system_time(SystemTime::now());
    let mut out = std::io::stdout().lock();
    match &args.command {
        BanCommand::List => {
            let bans = db.bans(now)?;
            for b in &bans {
                writeln!(
                    out,
                    "{}\t{}\t{}s\t{}",
                    b.target.kind(),
                    b.target.value(),
                    b.until.secs_until(now),
                    b.reason
                )?;
            }
            if bans.is_empty() {
                writeln!(std::io::stderr(), "no bans in {path}")?;
            }
        }
        BanCommand::Add {
            kind,
            target: t,
            secs,
        } => {
            let target = target(*kind, t)?;
            db.put_ban(&Ban {
                target: target.clone(),
                until: now.plus_secs(*secs),
                reason: "manual".into(),
            })?;
            writeln!(out, "banned {target} for {secs} s")?;
        }
        BanCommand::Remove { kind, target: t } => {
            let target = target(*kind, t)?;
            if !db.remove_ban(&target)? {
                bail!("no ban on {target} in {path}");
            }
            writeln!(out, "ban lifted on {target}")?;
        }
    }
    Ok(0)
}
