//! `sipkit user add|list|remove|passwd`: the users of `sipkit serve`,
//! stored beside the location service (its SQLite file or its Redis) as HA1
//! per algorithm, never the password.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::time::SystemTime;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use sipkit_server::auth::UserRecord;
use sipkit_server::UnixMs;

use crate::auth_setup::{load_config, open_db};

/// Arguments of `sipkit user`.
#[derive(Args, Debug)]
#[command(
    after_help = "Examples:\n  sipkit user add alice --password 'correct horse'\n  \
sipkit user add bob --password-file bob.pw --realm example.com --db /var/lib/sipkit/reg.db\n  \
echo secret | sipkit user add carol\n  sipkit user list\n  sipkit user passwd alice\n  sipkit user remove bob\n\
  sipkit user add alice --db redis://127.0.0.1:6379/0   (every sipkit serve on that Redis)\n\
Users take effect in a running sipkit serve within 2 seconds. The in-memory store (--db :memory:) takes users from [[auth.users]] in the configuration file instead."
)]
pub struct UserArgs {
    #[command(subcommand)]
    command: UserCommand,
    /// The SQLite database or the Redis URL sipkit serve uses (default: the configuration's db, else ./sipkit.db)
    #[arg(long, value_name = "PATH|URL", global = true)]
    db: Option<String>,
    /// The configuration file of sipkit serve (for db and auth.realm)
    #[arg(long, value_name = "FILE", global = true)]
    config: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
enum UserCommand {
    /// Add a user (or replace one): the password is read from --password, --password-file or standard input
    Add(PasswordArgs),
    /// List the users and their realms
    List,
    /// Remove a user
    Remove {
        /// The user name
        name: String,
    },
    /// Change a user's password
    Passwd(PasswordArgs),
}

#[derive(Args, Debug)]
struct PasswordArgs {
    /// The user name (the username of the digest credentials, the user part of the AOR)
    name: String,
    /// The password (visible in the process list: prefer --password-file or standard input)
    #[arg(long, value_name = "PW", conflicts_with = "password_file")]
    password: Option<String>,
    /// A file whose first line is the password
    #[arg(long, value_name = "FILE")]
    password_file: Option<PathBuf>,
    /// The realm [default: the configuration's auth.realm, else sipkit]
    #[arg(long, value_name = "REALM")]
    realm: Option<String>,
}

pub fn run(args: &UserArgs) -> anyhow::Result<u8> {
    let config = load_config(args.config.as_ref())?;
    let (path, db) = open_db(args.db.as_deref(), &config)?;
    let now = UnixMs::from_system_time(SystemTime::now());
    let mut out = std::io::stdout().lock();
    match &args.command {
        UserCommand::Add(p) | UserCommand::Passwd(p) => {
            let passwd = matches!(args.command, UserCommand::Passwd(_));
            check_name(&p.name)?;
            let existing = db.user(&p.name)?;
            if passwd && existing.is_none() {
                bail!("no user {:?} in {path}", p.name);
            }
            let realm = match (&p.realm, &existing) {
                (Some(r), _) => r.clone(),
                (None, Some(u)) if passwd => u.realm.clone(),
                _ => config.auth.realm.clone(),
            };
            if realm.is_empty() || realm.contains(['"', '\\', '\r', '\n']) {
                bail!("invalid realm {realm:?}: no quotes, backslashes or line breaks");
            }
            let password = read_password(p)?;
            let replaced = db.put_user(&UserRecord::new(&p.name, &realm, &password), now)?;
            let verb = if passwd {
                "password changed for"
            } else if replaced {
                "replaced"
            } else {
                "added"
            };
            writeln!(out, "user {verb} {} (realm {realm}) in {path}", p.name)?;
        }
        UserCommand::List => {
            let users = db.users()?;
            for u in &users {
                writeln!(out, "{}\t{}", u.name, u.realm)?;
            }
            if users.is_empty() {
                writeln!(
                    std::io::stderr(),
                    "no users in {path}: authentication is off until one is added"
                )?;
            }
        }
        UserCommand::Remove { name } => {
            if !db.remove_user(name)? {
                bail!("no user {name:?} in {path}");
            }
            writeln!(out, "user removed {name} from {path}")?;
        }
    }
    Ok(0)
}

fn check_name(name: &str) -> anyhow::Result<()> {
    if name.is_empty()
        || name
            .chars()
            .any(|c| c.is_control() || c == '"' || c == '\\')
    {
        bail!("invalid user name {name:?}: no control characters, quotes or backslashes");
    }
    Ok(())
}

/// `--password`, the first line of `--password-file`, or one line of
/// standard input (prompted for on a terminal).
fn read_password(p: &PasswordArgs) -> anyhow::Result<String> {
    let pw = if let Some(pw) = &p.password {
        pw.clone()
    } else if let Some(f) = &p.password_file {
        let text =
            std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?;
        text.lines().next().unwrap_or("").to_owned()
    } else {
        let stdin = std::io::stdin();
        if stdin.is_terminal() {
            write!(std::io::stderr(), "password for {} (echoed): ", p.name)?;
        }
        let mut line = String::new();
        stdin
            .lock()
            .read_line(&mut line)
            .context("reading the password from standard input")?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    };
    if pw.is_empty() {
        bail!("empty password: give --password, --password-file or a line on standard input");
    }
    Ok(pw)
}
