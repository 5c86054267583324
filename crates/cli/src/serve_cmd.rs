//! `sipkit serve`: the registrar and redirect server on UDP and TCP.
//!
//! The driver loop of ARCHITECTURE.md: one task owns the transaction layer
//! and the service; it takes one input at a time (a received message, an
//! expired timer, a signal), drains every output, then waits for the
//! earliest of the next deadline, a socket and a signal.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{bail, Context};
use clap::Args;
use sipkit_server::{
    db_for_display, open_store_with, LocationService, ServerConfig, Service, TransportAddr, UnixMs,
};
use sipkit_transport::{ListenSpec, Transport, TransportConfig, Transports};

use crate::serve_core::Core;

/// Arguments of `sipkit serve`.
#[derive(Args, Debug)]
#[command(
    after_help = "With no arguments: UDP and TCP on 127.0.0.1:5060, registrations kept in ./sipkit.db, \
anyone may register without authentication.\n\
Examples:\n  sipkit serve\n  sipkit serve --listen udp:0.0.0.0:5060 --listen tcp:[::1]:5060 --db /var/lib/sipkit/reg.db\n  \
sipkit serve --config sipkit.toml\n  RUST_LOG=debug sipkit serve --db :memory:\n  \
sipkit serve --db redis://127.0.0.1:6379/0   (every node on the same Redis shares the bindings)\n\
A documented example configuration is crates/server/examples/sipkit.toml."
)]
pub struct ServeArgs {
    /// Listen on TRANSPORT:IP:PORT (udp or tcp; IPv6 in brackets; port 0 picks a free one). Repeatable.
    #[arg(long, value_name = "SPEC")]
    pub listen: Vec<ListenSpec>,
    /// The location service: a SQLite file, :memory: for a store that ends with the process, or redis://HOST:PORT/DB (also rediss://, redis+unix:///PATH, redis+cluster://HOST:PORT,HOST:PORT) for one Redis shared by several servers
    #[arg(long, value_name = "PATH|URL")]
    pub db: Option<String>,
    /// A TOML configuration file (see crates/server/examples/sipkit.toml)
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Check the configuration, print it as TOML and exit
    #[arg(long)]
    pub check_config: bool,
}

pub fn run(args: &ServeArgs) -> anyhow::Result<u8> {
    let mut config = match &args.config {
        Some(path) => {
            ServerConfig::load(path).with_context(|| format!("loading {}", path.display()))?
        }
        None => ServerConfig::default(),
    };
    if !args.listen.is_empty() {
        config.listen = args
            .listen
            .iter()
            .map(|l| l.to_string().parse::<TransportAddr>())
            .collect::<Result<_, _>>()
            .context("listen address")?;
    }
    if let Some(db) = &args.db {
        config.db = db.clone();
    }
    config.validate().context("configuration")?;
    if args.check_config {
        print!(
            "{}",
            toml::to_string_pretty(&config).context("printing the configuration")?
        );
        return Ok(0);
    }
    crate::logging::init();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    runtime.block_on(serve(config))
}

async fn serve(config: ServerConfig) -> anyhow::Result<u8> {
    let store: Arc<dyn LocationService> = Arc::from(
        open_store_with(&config.db, config.db_sync).with_context(|| {
            format!(
                "opening the location service {:?}",
                db_for_display(&config.db)
            )
        })?,
    );
    let now = UnixMs::from_system_time(SystemTime::now());
    let counts = store.count(now).context("reading the location service")?;
    let specs: Vec<ListenSpec> = config
        .listen
        .iter()
        .map(|l| l.to_string().parse::<ListenSpec>())
        .collect::<Result<_, _>>()
        .context("listen address")?;
    let tconfig = TransportConfig {
        max_message_size: config.max_message_size,
        ..TransportConfig::default()
    };
    let (transports, mut inbound) = Transports::bind(&specs, tconfig).await.with_context(|| {
        format!(
            "binding {}",
            specs
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )
    })?;
    // Signal handlers go in before the address is announced, so a SIGTERM
    // sent right after the announcement stops the server gracefully.
    let mut shutdown = std::pin::pin!(Shutdown::install()?.wait());
    let listening: Vec<String> = transports
        .local_addrs()
        .iter()
        .map(|(t, a)| format!("{}:{a}", t.as_str().to_ascii_lowercase()))
        .collect();
    let db = if config.db == ":memory:" {
        "in memory (lost on exit)".to_owned()
    } else {
        db_for_display(&config.db)
    };
    say(&format!(
        "sipkit serve: listening on {}; location service {db} with {} binding(s) of {} AOR(s); Ctrl-C stops",
        listening.join(", "),
        counts.bindings,
        counts.aors
    ));
    tracing::info!(listen = %listening.join(", "), %db, "serving");
    let service = Service {
        store: store.clone(),
        registrar: config.registrar_config()?,
        redirect: config.redirect_config()?,
        tag_key: seed(),
    };
    let mut core = Core::new(service, &config, seed());
    let mut purge = tokio::time::interval(Duration::from_secs(60));
    // One timer, re-armed only when the earliest deadline changes.
    let timer = tokio::time::sleep(Duration::from_secs(3600));
    let mut timer = std::pin::pin!(timer);
    let mut armed: Option<Instant> = None;
    let mut outgoing = Vec::new();
    loop {
        let deadline = core.poll_timeout();
        if deadline != armed {
            if let Some(d) = deadline {
                timer.as_mut().reset(tokio::time::Instant::from_std(d));
            }
            armed = deadline;
        }
        tokio::select! {
            msg = inbound.recv() => {
                let Some(msg) = msg else { bail!("the transport stopped") };
                let now = Instant::now();
                let wall = wall();
                // Group commit: the REGISTERs of this turn are committed
                // together, before any of their 200s is sent below.
                store.begin_batch().context("starting a group commit")?;
                core.handle_inbound(now, wall, msg);
                // Whatever else is already queued goes in the same turn.
                for _ in 0..BATCH {
                    match inbound.try_recv() {
                        Ok(msg) => core.handle_inbound(now, wall, msg),
                        Err(_) => break,
                    }
                }
                let took = now.elapsed();
                if took > SLOW_TURN {
                    tracing::warn!(ms = took.as_millis() as u64, "slow turn: the loop was busy; datagrams may have queued up");
                }
                if let Err(e) = store.end_batch() {
                    // Nothing of this turn is stored, and its answers were
                    // not sent: stop rather than acknowledge it later.
                    bail!("the location service could not commit registrations ({e}); stopping without acknowledging them");
                }
            }
            () = &mut timer, if armed.is_some() => {
                armed = None;
                core.handle_timeout(Instant::now());
            }
            _ = purge.tick() => {
                match store.purge_expired(wall()) {
                    Ok(0) => {}
                    Ok(n) => tracing::debug!(purged = n, "expired bindings purged"),
                    Err(e) => tracing::warn!(error = %e, "purging expired bindings failed"),
                }
            }
            signal = &mut shutdown => {
                tracing::info!(signal, "shutting down");
                say(&format!("sipkit serve: {signal} received, stopped"));
                return Ok(0);
            }
        }
        core.take_outgoing(&mut outgoing);
        for o in outgoing.drain(..) {
            let dest = o.destination;
            if o.transport == Transport::Udp {
                if let Err(e) = transports.try_send_udp(o.local, dest, o.bytes.as_slice()) {
                    tracing::debug!(%dest, error = %e, "udp send failed");
                }
            } else if let Err(t) = transports.try_send_tcp(o.into_transmit()) {
                // No open connection (or its queue is full): connect or wait in a task.
                let transports = transports.clone();
                tokio::spawn(async move {
                    if let Err(e) = transports.send(t).await {
                        tracing::debug!(%dest, error = %e, "tcp send failed");
                    }
                });
            }
        }
    }
}

/// How many queued messages one turn of the loop takes before it looks at
/// timers and signals again.
const BATCH: usize = 64;

/// A loop turn longer than this is logged: at high rates the kernel's socket
/// buffer fills while the loop is busy.
const SLOW_TURN: Duration = Duration::from_millis(20);

/// One line on stdout; a closed stdout (the reader went away) is no reason to fail.
fn say(line: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// Wall-clock time for the location service (expiry is persisted).
fn wall() -> UnixMs {
    UnixMs::from_system_time(SystemTime::now())
}

/// A seed for tags and branches: not secret, only distinct per process.
fn seed() -> u64 {
    let t = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    t ^ (u64::from(std::process::id()) << 32)
}

/// SIGINT and SIGTERM, listened to from the moment `install` returns.
struct Shutdown {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
}

impl Shutdown {
    fn install() -> anyhow::Result<Shutdown> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Ok(Shutdown {
                term: signal(SignalKind::terminate()).context("installing the SIGTERM handler")?,
                int: signal(SignalKind::interrupt()).context("installing the SIGINT handler")?,
            })
        }
        #[cfg(not(unix))]
        Ok(Shutdown {})
    }

    /// Resolves with the signal's name.
    async fn wait(mut self) -> &'static str {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.term.recv() => "SIGTERM",
                _ = self.int.recv() => "SIGINT",
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            "Ctrl-C"
        }
    }
}
