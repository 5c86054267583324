//! `sipkit serve`: the registrar and redirect server on UDP and TCP —
//! its arguments and what it prints. The server itself is
//! `sipkit_server::Server`: its core on `sipkit-transport`'s one driver.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use sipkit_server::metrics::Metrics;
use sipkit_server::{db_for_display, ServerConfig, TransportAddr, Workers};
use sipkit_transport::{ListenSpec, Now, Shutdown};

/// Arguments of `sipkit serve`.
#[derive(Args, Debug)]
#[command(
    after_help = "With no arguments: UDP and TCP on 127.0.0.1:5060, registrations kept in ./sipkit.db, \
digest authentication as soon as a user exists (sipkit user add).\n\
Examples:\n  sipkit serve\n  sipkit serve --listen udp:0.0.0.0:5060 --listen tcp:[::1]:5060 --db /var/lib/sipkit/reg.db\n  \
sipkit serve --config sipkit.toml\n  RUST_LOG=debug sipkit serve --db :memory:\n  \
sipkit serve --workers 2 --metrics 127.0.0.1:9060\n  \
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
    /// The realm of digest authentication [default: the configuration's auth.realm, else sipkit]
    #[arg(long, value_name = "REALM")]
    pub realm: Option<String>,
    /// Never challenge anyone, even with users in the database (logged as a warning)
    #[arg(long)]
    pub no_auth: bool,
    /// Do not challenge requests from this range (a PBX or SBC peer), e.g. 10.0.0.0/8. Repeatable.
    #[arg(long, value_name = "CIDR")]
    pub trust: Vec<sipkit_server::auth::Cidr>,
    /// Worker threads, each with its own sockets on the same addresses (SO_REUSEPORT) [default: the configuration's workers, else one per core]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub workers: Option<u16>,
    /// Serve Prometheus metrics on http://IP:PORT/metrics and a store check on /health (port 0 picks one)
    #[arg(long, value_name = "IP:PORT")]
    pub metrics: Option<std::net::SocketAddr>,
    /// The name of this node, stored with every binding next to the connection its REGISTER came on [default: the configuration's node_id, else the host name]
    #[arg(long, value_name = "NAME")]
    pub node_id: Option<String>,
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
            .map(|l| TransportAddr::new(l.transport, l.addr))
            .collect();
    }
    if let Some(db) = &args.db {
        config.db = db.clone();
    }
    if let Some(realm) = &args.realm {
        config.auth.realm = realm.clone();
    }
    if args.no_auth {
        config.auth.enabled = Some(false);
    }
    config.auth.trust.extend(args.trust.iter().copied());
    if let Some(n) = args.workers {
        config.workers = Some(usize::from(n));
    }
    if let Some(m) = args.metrics {
        config.metrics = Some(m);
    }
    if let Some(node) = &args.node_id {
        config.node_id = Some(node.clone());
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
    let auth = crate::auth_setup::build_guard(&config)?;
    let workers = config.workers.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    let metrics = config.metrics.map(|_| Arc::new(Metrics::new(workers)));
    let server = Workers::start(
        &config,
        Now::read(),
        sipkit_transport::seed(),
        auth.clone(),
        workers,
        metrics.clone(),
    )
    .with_context(|| {
        format!(
            "starting the server (location service {:?})",
            db_for_display(&config.db)
        )
    })?;
    let metrics_at = match (config.metrics, metrics) {
        (Some(addr), Some(m)) => {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("binding the metrics listener {addr}"))?;
            let at = listener.local_addr().context("the metrics listener")?;
            let state = Arc::new(crate::metrics_http::State {
                metrics: m,
                store: server.store(),
                auth,
            });
            tokio::spawn(crate::metrics_http::serve(listener, state));
            format!("; metrics on http://{at}/metrics")
        }
        _ => String::new(),
    };
    // Signal handlers go in before the address is announced, so a SIGTERM
    // sent right after the announcement stops the server gracefully.
    let shutdown = Shutdown::install().context("installing the signal handlers")?;
    let listening: Vec<String> = server
        .local_addrs()
        .iter()
        .map(|(t, a)| format!("{}:{a}", t.as_lowercase()))
        .collect();
    let db = if config.db == ":memory:" {
        "in memory (lost on exit)".to_owned()
    } else {
        db_for_display(&config.db)
    };
    let counts = server.counts();
    say(&format!(
        "sipkit serve: listening on {}; {} worker(s) on node {}{metrics_at}; location service {db} with {} binding(s) of {} AOR(s); Ctrl-C stops",
        listening.join(", "),
        server.len(),
        server.node().unwrap_or("(unnamed)"),
        counts.bindings,
        counts.aors
    ));
    tracing::info!(listen = %listening.join(", "), db = %db_for_display(&config.db), node = server.node().unwrap_or_default(), "serving");
    let signal = server.run(shutdown.wait()).await.map_err(|e| match e {
        sipkit_server::Error::TransportClosed => anyhow::anyhow!("the transport stopped"),
        e => anyhow::Error::new(e).context("the location service failed; stopping"),
    })?;
    tracing::info!(signal, "shutting down");
    say(&format!("sipkit serve: {signal} received, stopped"));
    Ok(0)
}

/// One line on stdout; a closed stdout (the reader went away) is no reason to fail.
fn say(line: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}
