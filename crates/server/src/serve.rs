//! `sipkit serve` as a library: open the location service, bind the
//! listeners, and run the [`Core`] on `sipkit-transport`'s one driver. The
//! command line only parses arguments and prints.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use sipkit_transport::driver::{self, DriverConfig, Stopped};
use sipkit_transport::{ListenSpec, Now, Transport, TransportConfig, Transports};
use tokio::sync::mpsc;

use crate::core::Core;
use crate::metrics::{MeteredStore, Metrics};
use crate::{
    is_redis_url, open_store_with, Counts, Error, LocationService, Result, ServerConfig, Service,
    SqliteStore, UnixMs,
};

/// A bound server, ready to [`run`](Server::run).
#[derive(Debug)]
pub struct Server {
    core: Core,
    transports: Transports,
    inbound: mpsc::Receiver<sipkit_transport::Inbound>,
    counts: Counts,
}

impl Server {
    /// Opens the location service of `config` and binds its listeners
    /// (inside a tokio runtime); `now` is when, `seed` feeds tags and
    /// branches (`sipkit_transport::seed()`), `auth` checks every request
    /// (digest authentication, rate limits and bans; `None`: nobody is
    /// challenged).
    ///
    /// # Errors
    /// The store's error, [`Error::Config`] for settings that do not hold
    /// together, or [`Error::Bind`] when a listener cannot be bound.
    pub async fn bind(
        config: &ServerConfig,
        now: Now,
        seed: u64,
        auth: Option<Arc<crate::auth::Guard>>,
    ) -> Result<Server> {
        let store: Arc<dyn LocationService> =
            Arc::from(open_store_with(&config.db, config.db_sync)?);
        let counts = store.count(UnixMs::from_system_time(now.wall))?;
        let specs: Vec<ListenSpec> = listen_specs(config);
        let tconfig = TransportConfig {
            max_message_size: config.max_message_size,
            ..TransportConfig::default()
        };
        let (transports, inbound) =
            Transports::bind(&specs, tconfig)
                .await
                .map_err(|source| Error::Bind {
                    listen: specs
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", "),
                    source,
                })?;
        let service = Service {
            store,
            registrar: registrar_config(config)?,
            redirect: config.redirect_config()?,
            tag_key: seed.rotate_left(32) ^ 0x9e37_79b9_7f4a_7c15,
            auth,
        };
        Ok(Server {
            core: Core::new(service, config, seed, now.instant),
            transports,
            inbound,
            counts,
        })
    }

    /// Where it listens, in the order of the configuration (ports chosen).
    pub fn local_addrs(&self) -> &[(Transport, SocketAddr)] {
        self.transports.local_addrs()
    }

    /// The bindings and AORs the location service held when it opened.
    pub fn counts(&self) -> Counts {
        self.counts
    }

    /// Serves until `shutdown` resolves (with a signal's name, say), which
    /// it then returns.
    ///
    /// # Errors
    /// [`Error::TransportClosed`] when the transports stop, or a store
    /// error that ends the driver. (A failed group commit does not: the
    /// REGISTERs of that turn are answered 500 and serving goes on.)
    pub async fn run<S>(mut self, shutdown: impl Future<Output = S>) -> Result<S> {
        let stopped = driver::run(
            &mut self.core,
            &self.transports,
            self.inbound,
            None,
            shutdown,
            &DriverConfig::default(),
        )
        .await?;
        match stopped {
            Stopped::Shutdown(s) => Ok(s),
            Stopped::Finished | Stopped::TransportClosed => Err(Error::TransportClosed),
        }
    }
}

/// `sipkit serve` on several cores: one OS thread per worker, each a
/// current-thread tokio runtime running its own [`Core`] on the driver over
/// its own [`Transports`]. With more than one worker every listener is
/// bound with SO_REUSEPORT to the same address (worker 0 first, the others
/// to the port it got), so the kernel spreads UDP sources — and a source's
/// retransmissions and ACKs keep reaching the worker that holds its
/// transaction — and TCP connections over the workers.
///
/// Shared by the workers: the authentication [`Guard`](crate::auth::Guard)
/// (nonce secret, users, bans, replay table), the [`Metrics`] and the
/// in-memory store (`:memory:`, sharded) and, for a SQLite file, the one
/// writer connection ([`SqliteStore::share`]): each worker reads on its own
/// connection (WAL lets readers run in parallel) and writes through the
/// shared one, and the first worker to end its turn commits what every
/// worker wrote so far in one transaction; each worker sends the 200s of
/// its turn only once the commit that holds its writes succeeded (a 200 is
/// never sent before its commit).
#[derive(Debug)]
pub struct Workers {
    threads: Vec<std::thread::JoinHandle<()>>,
    stop: tokio::sync::watch::Sender<bool>,
    exited: mpsc::UnboundedReceiver<(usize, Result<()>)>,
    locals: Vec<(Transport, SocketAddr)>,
    counts: Counts,
    store: Arc<dyn LocationService>,
    node: Option<String>,
}

impl Workers {
    /// Opens the location service of `config`, starts `workers` worker
    /// threads (at least one) and waits until every one has bound its
    /// listeners. `now`, `seed` and `auth` are as for [`Server::bind`];
    /// with `metrics` the cores and the store are counted there.
    ///
    /// # Errors
    /// As [`Server::bind`]; [`Error::Bind`] also when a worker thread
    /// cannot start. Workers already started are stopped.
    pub fn start(
        config: &ServerConfig,
        now: Now,
        seed: u64,
        auth: Option<Arc<crate::auth::Guard>>,
        workers: usize,
        metrics: Option<Arc<Metrics>>,
    ) -> Result<Workers> {
        let workers = workers.max(1);
        let shared: Option<Arc<dyn LocationService>> = if config.db == ":memory:" {
            Some(Arc::from(open_store_with(&config.db, config.db_sync)?))
        } else {
            None
        };
        // A SQLite file: one writer connection for every worker (it
        // group-commits their REGISTERs together), a reader each.
        let sqlite = if shared.is_none() && !is_redis_url(&config.db) {
            Some(SqliteStore::open_with(&config.db, config.db_sync)?)
        } else {
            None
        };
        let open = || -> Result<Arc<dyn LocationService>> {
            let store: Arc<dyn LocationService> = match (&shared, &sqlite) {
                (Some(s), _) => s.clone(),
                (None, Some(first)) => Arc::new(first.share()?),
                (None, None) => Arc::from(open_store_with(&config.db, config.db_sync)?),
            };
            Ok(match &metrics {
                Some(m) => Arc::new(MeteredStore::new(store, m.clone())),
                None => store,
            })
        };
        let first_store = open()?;
        let counts = first_store.count(UnixMs::from_system_time(now.wall))?;
        let registrar = registrar_config(config)?;
        let redirect = config.redirect_config()?;
        let tag_key = seed.rotate_left(32) ^ 0x9e37_79b9_7f4a_7c15;
        let (stop, stop_rx) = tokio::sync::watch::channel(false);
        let (exited_tx, exited) = mpsc::unbounded_channel();
        let mut pool = Workers {
            threads: Vec::with_capacity(workers),
            stop,
            exited,
            locals: Vec::new(),
            counts,
            store: first_store.clone(),
            node: registrar.node.clone(),
        };
        let mut specs: Vec<ListenSpec> = listen_specs(config);
        let tconfig = TransportConfig {
            max_message_size: config.max_message_size,
            reuse_port: workers > 1,
            ..TransportConfig::default()
        };
        for i in 0..workers {
            let store = if i == 0 { first_store.clone() } else { open()? };
            let service = Service {
                store,
                registrar: registrar.clone(),
                redirect: redirect.clone(),
                tag_key,
                auth: auth.clone(),
            };
            let mut core = Core::new(
                service,
                config,
                seed ^ (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15),
                now.instant,
            );
            core.set_worker(i);
            if let Some(m) = &metrics {
                core.set_metrics(m.clone(), i);
            }
            let (ready_tx, ready_rx) = std::sync::mpsc::channel();
            let job = WorkerJob {
                index: i,
                core,
                specs: specs.clone(),
                tconfig: tconfig.clone(),
                stop: stop_rx.clone(),
                ready: ready_tx,
                exited: exited_tx.clone(),
            };
            let listen = specs
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ");
            let spawned = std::thread::Builder::new()
                .name(format!("sipkit-worker-{i}"))
                .spawn(move || job.run());
            let thread = spawned.map_err(|source| Error::Bind {
                listen: listen.clone(),
                source,
            })?;
            pool.threads.push(thread);
            // Dropping `pool` on an error below stops the workers started.
            let locals = match ready_rx.recv() {
                Ok(Ok(locals)) => locals,
                Ok(Err(source)) => return Err(Error::Bind { listen, source }),
                Err(_) => return Err(Error::TransportClosed),
            };
            if i == 0 {
                // The others bind to the ports worker 0 got.
                for (spec, (_, local)) in specs.iter_mut().zip(&locals) {
                    spec.addr = *local;
                }
                pool.locals = locals;
            }
        }
        Ok(pool)
    }

    /// Where the workers listen, in the order of the configuration (ports
    /// chosen).
    pub fn local_addrs(&self) -> &[(Transport, SocketAddr)] {
        &self.locals
    }

    /// The bindings and AORs the location service held when it opened.
    pub fn counts(&self) -> Counts {
        self.counts
    }

    /// The node name stored with the bindings written here
    /// ([`crate::Binding::node`]): `node_id`, else the host name.
    pub fn node(&self) -> Option<&str> {
        self.node.as_deref()
    }

    /// How many workers run.
    pub fn len(&self) -> usize {
        self.threads.len()
    }

    /// Always false: there is at least one worker.
    pub fn is_empty(&self) -> bool {
        self.threads.is_empty()
    }

    /// The location service (worker 0's handle), for health checks and
    /// scrapes.
    pub fn store(&self) -> Arc<dyn LocationService> {
        self.store.clone()
    }

    /// Serves until `shutdown` resolves (then stops every worker and
    /// returns its value) or a worker stops on its own.
    ///
    /// # Errors
    /// A store error that ended a worker's driver (the other workers are
    /// stopped too), or [`Error::TransportClosed`]. A failed group commit
    /// is not one: its REGISTERs are answered 500 and serving goes on.
    pub async fn run<S>(mut self, shutdown: impl Future<Output = S>) -> Result<S> {
        let outcome = tokio::select! {
            s = shutdown => Ok(s),
            exited = self.exited.recv() => Err(match exited {
                Some((i, Err(e))) => {
                    tracing::error!(worker = i, error = %e, "worker stopped");
                    e
                }
                _ => Error::TransportClosed,
            }),
        };
        self.stop_all();
        // A worker that failed while stopping still fails the run.
        let mut failure = None;
        while let Ok((_, r)) = self.exited.try_recv() {
            if let Err(e) = r {
                failure.get_or_insert(e);
            }
        }
        match (outcome, failure) {
            (Ok(s), None) => Ok(s),
            (Err(e), _) | (Ok(_), Some(e)) => Err(e),
        }
    }

    /// Tells every worker to stop and waits for their threads.
    fn stop_all(&mut self) {
        let _ = self.stop.send(true);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        self.stop_all();
    }
}

/// What one worker thread needs.
struct WorkerJob {
    index: usize,
    core: Core,
    specs: Vec<ListenSpec>,
    tconfig: TransportConfig,
    stop: tokio::sync::watch::Receiver<bool>,
    ready: std::sync::mpsc::Sender<std::io::Result<Vec<(Transport, SocketAddr)>>>,
    exited: mpsc::UnboundedSender<(usize, Result<()>)>,
}

impl WorkerJob {
    /// The worker thread: binds, says so, serves until told to stop.
    fn run(self) {
        let WorkerJob {
            index,
            mut core,
            specs,
            tconfig,
            mut stop,
            ready,
            exited,
        } = self;
        let runtime = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt,
            Err(e) => {
                let _ = ready.send(Err(e));
                return;
            }
        };
        let result = runtime.block_on(async move {
            let (transports, inbound) = match Transports::bind(&specs, tconfig).await {
                Ok(t) => t,
                Err(e) => {
                    let _ = ready.send(Err(e));
                    return Ok(());
                }
            };
            let _ = ready.send(Ok(transports.local_addrs().to_vec()));
            let stopped = async move {
                let _ = stop.wait_for(|s| *s).await;
            };
            match driver::run(
                &mut core,
                &transports,
                inbound,
                None,
                stopped,
                &DriverConfig::default(),
            )
            .await?
            {
                Stopped::Shutdown(()) => Ok(()),
                Stopped::Finished | Stopped::TransportClosed => Err(Error::TransportClosed),
            }
        });
        let _ = exited.send((index, result));
    }
}

/// The listeners `config` asks for, as the transports bind them.
fn listen_specs(config: &ServerConfig) -> Vec<ListenSpec> {
    config
        .listen
        .iter()
        .map(|l| ListenSpec {
            transport: l.transport,
            addr: l.addr,
        })
        .collect()
}

/// The registrar's settings of `config`, the node named by `node_id` or
/// else the host name.
fn registrar_config(config: &ServerConfig) -> Result<crate::RegistrarConfig> {
    let mut registrar = config.registrar_config()?;
    if registrar.node.is_none() {
        registrar.node = host_name();
    }
    Ok(registrar)
}

/// This machine's host name (Linux: `/proc/sys/kernel/hostname`, else
/// `/etc/hostname`, else `$HOSTNAME`); `None` when none is found.
fn host_name() -> Option<String> {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .chain(std::env::var("HOSTNAME").ok())
        .map(|name| name.trim().to_owned())
        .find(|name| !name.is_empty() && name.len() <= 255)
}
