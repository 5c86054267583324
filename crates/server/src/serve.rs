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
use crate::{
    open_store_with, Counts, Error, LocationService, Result, ServerConfig, Service, UnixMs,
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
        let specs: Vec<ListenSpec> = config
            .listen
            .iter()
            .map(|l| ListenSpec {
                transport: l.transport,
                addr: l.addr,
            })
            .collect();
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
            registrar: config.registrar_config()?,
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
    /// A failed group commit of the location service: the server stops
    /// without acknowledging the registrations of that turn.
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
