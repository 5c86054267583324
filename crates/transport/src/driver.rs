//! The one driver: a tokio loop that runs any sans-IO SIP endpoint over
//! [`Transports`] (ARCHITECTURE.md, "The sans-IO contract").
//!
//! An endpoint — `sipkit serve`'s core, a user agent — implements
//! [`Endpoint`]: it takes inputs with the time ([`Endpoint::handle_inbound`],
//! [`Endpoint::handle_command`], [`Endpoint::handle_timeout`],
//! [`Endpoint::handle_send_error`]) and is drained of outputs
//! ([`Endpoint::poll_transmit`], [`Endpoint::poll_timeout`]). [`run`] is the
//! loop, written once:
//!
//! 1. wait for the earliest of a received message, a command, the
//!    endpoint's next deadline, a failed send, or `shutdown`;
//! 2. feed that input with the current time ([`Now::read`]) — a received
//!    message together with whatever else is already queued (up to
//!    [`DriverConfig::batch`]), inside [`Endpoint::begin_batch`] and
//!    [`Endpoint::end_batch`], so an endpoint can commit the turn's writes
//!    at once before anything of that turn is sent;
//! 3. drain every transmission and send it: UDP straight from the socket
//!    without waiting (a full buffer drops it, as the network could; the
//!    transaction layer retransmits), TCP on its connection, or on a new
//!    one in a task.
//!
//! The loop is the only part that sleeps or reads the clock; the endpoint
//! is tested without it by feeding the same inputs with a clock that jumps
//! (see `sipkit-server`'s core tests and the transaction layer's harness).
//!
//! A runnable loop: an endpoint that answers every request 200 OK, run
//! until a client on loopback has its answer.
//!
//! ```
//! use std::time::Instant;
//! use sipkit_transport::driver::{self, DriverConfig, Stopped};
//! use sipkit_transport::{Endpoint, Inbound, ListenSpec, Now, TransportConfig, Transports};
//! use sipkit_transaction::{Config, Event, Transactions, Transmit};
//!
//! /// Answers every request 200 OK.
//! struct Echo(Transactions);
//!
//! impl Endpoint for Echo {
//!     type Command = ();
//!     type Error = std::convert::Infallible;
//!     fn handle_inbound(&mut self, now: Now, msg: Inbound) {
//!         self.0.handle_received(now.instant, &msg.bytes, msg.arrival());
//!         while let Some(ev) = self.0.poll_event() {
//!             if let Event::Request { key, request, .. } = ev {
//!                 if let Ok(sipkit_message::Message::Request(req)) = sipkit_message::parse(&request) {
//!                     let ok = sipkit_message::response_from_request(&req, 200, "OK").to_tag("t").finish();
//!                     let _ = self.0.send_response(now.instant, &key, &ok);
//!                 }
//!             }
//!         }
//!     }
//!     fn handle_timeout(&mut self, now: Now) {
//!         self.0.handle_timeout(now.instant);
//!         while self.0.poll_event().is_some() {}
//!     }
//!     fn poll_timeout(&mut self) -> Option<Instant> {
//!         self.0.poll_timeout()
//!     }
//!     fn poll_transmit(&mut self) -> Option<Transmit> {
//!         self.0.poll_transmit()
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let specs: Vec<ListenSpec> = vec!["udp:127.0.0.1:0".parse()?];
//! let (transports, inbound) = Transports::bind(&specs, TransportConfig::default()).await?;
//! let server = transports.local_addrs()[0].1;
//! // The shutdown future: a client that sends an OPTIONS and reads the answer.
//! let client = async move {
//!     let sock = tokio::net::UdpSocket::bind("127.0.0.1:0").await.ok()?;
//!     let options = "OPTIONS sip:echo@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK1;rport\r\n\
//!         Max-Forwards: 70\r\nTo: <sip:echo@127.0.0.1>\r\nFrom: <sip:c@127.0.0.1>;tag=1\r\nCall-ID: c1\r\n\
//!         CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
//!     sock.send_to(options.as_bytes(), server).await.ok()?;
//!     let mut buf = [0u8; 1500];
//!     let n = sock.recv(&mut buf).await.ok()?;
//!     Some(String::from_utf8_lossy(&buf[..n]).lines().next()?.to_owned())
//! };
//! let mut echo = Echo(Transactions::new(Config::default()));
//! let stopped = driver::run(&mut echo, &transports, inbound, None, client, &DriverConfig::default()).await?;
//! assert_eq!(stopped, Stopped::Shutdown(Some("SIP/2.0 200 OK".to_owned())));
//! # Ok(()) }
//! ```

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};

use sipkit_message::is_forbidden_destination;
use sipkit_transaction::{Arrival, SharedBytes, TransactionKey, Transmit as TxTransmit};
use tokio::sync::mpsc;

use crate::{Inbound, Transmit, Transport, Transports};

/// The time an input comes with: the monotonic clock for timers, and the
/// wall clock for what is persisted (binding expiry). Read once per turn by
/// the driver; made up freely by tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Now {
    /// For deadlines (RFC 3261 §17 timers).
    pub instant: Instant,
    /// For values that outlive the process.
    pub wall: SystemTime,
}

impl Now {
    /// Reads both clocks.
    pub fn read() -> Now {
        Now {
            instant: Instant::now(),
            wall: SystemTime::now(),
        }
    }

    /// The same moment `d` later on both clocks (saturating at what the
    /// platform's clocks can hold).
    pub fn plus(self, d: Duration) -> Now {
        Now {
            instant: self.instant.checked_add(d).unwrap_or(self.instant),
            wall: self.wall.checked_add(d).unwrap_or(self.wall),
        }
    }

    /// This moment moved to `instant`, the wall clock by as much.
    pub fn at(self, instant: Instant) -> Now {
        match instant.checked_duration_since(self.instant) {
            Some(d) => Now {
                instant,
                wall: self.wall.checked_add(d).unwrap_or(self.wall),
            },
            None => Now {
                instant,
                wall: self
                    .wall
                    .checked_sub(self.instant.duration_since(instant))
                    .unwrap_or(self.wall),
            },
        }
    }
}

/// A sans-IO endpoint the driver runs: every input comes with [`Now`],
/// outputs are drained after every input.
pub trait Endpoint {
    /// What the application sends in besides the network (a user agent's
    /// "place this call"); `()` or [`std::convert::Infallible`] when none.
    type Command;
    /// Why the endpoint cannot go on (its turn could not be committed).
    type Error;

    /// One message received from the network.
    fn handle_inbound(&mut self, now: Now, msg: Inbound);

    /// One command from the application. The default drops it.
    fn handle_command(&mut self, now: Now, command: Self::Command) {
        let _ = (now, command);
    }

    /// The deadline of [`Endpoint::poll_timeout`] is reached (calling
    /// early is harmless).
    fn handle_timeout(&mut self, now: Now);

    /// A transmission could not be sent (no route, connection refused or
    /// closed): the transaction that sent it fails (RFC 3261 §17.1.4,
    /// §17.2.4). The default only logs it.
    fn handle_send_error(&mut self, now: Now, failure: SendFailure) {
        let _ = now;
        tracing::debug!(destination = %failure.destination, error = %failure.error, "send failed");
    }

    /// The earliest deadline, if any.
    #[must_use]
    fn poll_timeout(&mut self) -> Option<Instant>;

    /// The next message to send.
    #[must_use]
    fn poll_transmit(&mut self) -> Option<TxTransmit>;

    /// A turn of received messages begins (see [`Endpoint::end_batch`]).
    fn begin_batch(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }

    /// The turn's received messages are all fed: make their effects
    /// durable. Nothing the turn produced is sent before this returns; an
    /// error stops the driver without sending it.
    fn end_batch(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }

    /// True when the endpoint has nothing more to do (a user agent whose
    /// calls are over); the driver then returns [`Stopped::Finished`].
    fn is_finished(&self) -> bool {
        false
    }
}

/// A transmission that could not be sent.
#[derive(Debug)]
pub struct SendFailure {
    /// The transaction that sent it, if any.
    pub key: Option<TransactionKey>,
    /// Where it was going.
    pub destination: SocketAddr,
    /// Over what.
    pub transport: Transport,
    /// What went wrong.
    pub error: io::Error,
}

/// Why [`run`] returned.
#[derive(Debug, PartialEq, Eq)]
pub enum Stopped<S> {
    /// The shutdown future resolved with this value (a signal's name).
    Shutdown(S),
    /// [`Endpoint::is_finished`] said so.
    Finished,
    /// The transports stopped delivering messages.
    TransportClosed,
}

/// Settings of the loop.
#[derive(Debug, Clone)]
pub struct DriverConfig {
    /// How many already-queued messages one turn takes after the first
    /// before it looks at timers, commands and shutdown again.
    pub batch: usize,
    /// A turn longer than this is logged: at high rates the kernel's socket
    /// buffer fills while the loop is busy.
    pub slow_turn: Duration,
}

impl Default for DriverConfig {
    fn default() -> Self {
        DriverConfig {
            batch: 64,
            slow_turn: Duration::from_millis(20),
        }
    }
}

impl Inbound {
    /// How the message arrived, as the transaction layer takes it.
    pub fn arrival(&self) -> Arrival {
        Arrival {
            source: self.source,
            local: self.local,
            transport: self.transport,
            conn: self.conn,
        }
    }
}

/// Runs `endpoint` over `transports` until `shutdown` resolves, the
/// endpoint is finished or the transports stop; `inbound` is the channel
/// [`Transports::bind`] returned, `commands` the application's channel if
/// it has one. Returns the endpoint's error if a turn could not be
/// committed.
pub async fn run<E, S>(
    endpoint: &mut E,
    transports: &Transports,
    mut inbound: mpsc::Receiver<Inbound>,
    mut commands: Option<mpsc::Receiver<E::Command>>,
    shutdown: impl Future<Output = S>,
    config: &DriverConfig,
) -> Result<Stopped<S>, E::Error>
where
    E: Endpoint,
{
    let mut shutdown = std::pin::pin!(shutdown);
    // Failed TCP sends come back from their tasks on this channel.
    let (failed_tx, mut failed_rx) = mpsc::unbounded_channel::<SendFailure>();
    // One timer, re-armed only when the earliest deadline changes.
    let timer = tokio::time::sleep(Duration::from_secs(3600));
    let mut timer = std::pin::pin!(timer);
    let mut armed: Option<Instant> = None;
    loop {
        flush(endpoint, transports, &failed_tx);
        if endpoint.is_finished() {
            return Ok(Stopped::Finished);
        }
        let deadline = endpoint.poll_timeout();
        if deadline != armed {
            if let Some(d) = deadline {
                timer.as_mut().reset(tokio::time::Instant::from_std(d));
            }
            armed = deadline;
        }
        let commands_open = commands.is_some();
        tokio::select! {
            msg = inbound.recv() => {
                let Some(msg) = msg else { return Ok(Stopped::TransportClosed) };
                let now = Now::read();
                endpoint.begin_batch()?;
                endpoint.handle_inbound(now, msg);
                // Whatever else is already queued goes in the same turn.
                for _ in 0..config.batch {
                    match inbound.try_recv() {
                        Ok(msg) => endpoint.handle_inbound(now, msg),
                        Err(_) => break,
                    }
                }
                let took = now.instant.elapsed();
                if took > config.slow_turn {
                    tracing::warn!(ms = took.as_millis() as u64, "slow turn: the loop was busy; datagrams may have queued up");
                }
                endpoint.end_batch()?;
            }
            () = &mut timer, if armed.is_some() => {
                armed = None;
                endpoint.handle_timeout(Now::read());
            }
            cmd = recv_command(&mut commands), if commands_open => {
                match cmd {
                    Some(cmd) => endpoint.handle_command(Now::read(), cmd),
                    // The application hung up its channel: no more commands.
                    None => commands = None,
                }
            }
            Some(failure) = failed_rx.recv() => {
                endpoint.handle_send_error(Now::read(), failure);
            }
            signal = &mut shutdown => {
                flush(endpoint, transports, &failed_tx);
                return Ok(Stopped::Shutdown(signal));
            }
        }
    }
}

async fn recv_command<C>(commands: &mut Option<mpsc::Receiver<C>>) -> Option<C> {
    match commands {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// Sends everything the endpoint has to send.
fn flush<E: Endpoint>(
    endpoint: &mut E,
    transports: &Transports,
    failed: &mpsc::UnboundedSender<SendFailure>,
) {
    while let Some(t) = endpoint.poll_transmit() {
        send(transports, t, failed);
    }
}

/// Sends one transmission without waiting: UDP straight from the socket,
/// TCP on an open connection, or in a task that connects.
fn send(transports: &Transports, t: TxTransmit, failed: &mpsc::UnboundedSender<SendFailure>) {
    let dest = t.destination;
    if is_forbidden_destination(dest) {
        // RFC 4475 §3.3.10: never send to a broadcast address.
        tracing::info!(%dest, "not sending to a broadcast or unspecified address");
        return;
    }
    // The local address only picks a socket of the destination's family.
    let local = t
        .local
        .filter(|l| !l.ip().is_unspecified() && l.is_ipv4() == dest.is_ipv4());
    match t.transport {
        Transport::Udp => {
            if let Err(e) = transports.try_send_udp(local, dest, t.bytes.as_slice()) {
                tracing::debug!(%dest, error = %e, "udp send failed");
            }
            return;
        }
        Transport::Tcp => {}
        other => {
            let _ = failed.send(SendFailure {
                key: t.key,
                destination: dest,
                transport: other,
                error: io::Error::new(
                    io::ErrorKind::Unsupported,
                    format!("sipkit-transport does not carry {other}"),
                ),
            });
            return;
        }
    }
    let key = t.key;
    let owned = Transmit {
        transport: t.transport,
        destination: dest,
        conn: t.conn,
        local,
        bytes: to_vec(&t.bytes),
    };
    if let Err(owned) = transports.try_send_tcp(owned) {
        // No open connection (or its queue is full): connect or wait in a task.
        let transports = transports.clone();
        let failed = failed.clone();
        tokio::spawn(async move {
            let transport = owned.transport;
            if let Err(error) = transports.send(owned).await {
                let _ = failed.send(SendFailure {
                    key,
                    destination: dest,
                    transport,
                    error,
                });
            }
        });
    }
}

fn to_vec(b: &SharedBytes) -> Vec<u8> {
    b.as_slice().to_vec()
}

/// SIGINT and SIGTERM (Ctrl-C elsewhere), listened to from the moment
/// [`Shutdown::install`] returns, so a signal sent right after a server
/// announces its address stops it gracefully.
#[derive(Debug)]
pub struct Shutdown {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
}

impl Shutdown {
    /// Installs the handlers (inside a tokio runtime).
    pub fn install() -> io::Result<Shutdown> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Ok(Shutdown {
                term: signal(SignalKind::terminate())?,
                int: signal(SignalKind::interrupt())?,
            })
        }
        #[cfg(not(unix))]
        Ok(Shutdown {})
    }

    /// Resolves with the signal's name.
    pub async fn wait(mut self) -> &'static str {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_clocks_move_together() {
        let t0 = Now::read();
        let later = t0.plus(Duration::from_secs(3));
        assert_eq!(later.instant - t0.instant, Duration::from_secs(3));
        assert_eq!(
            later.wall.duration_since(t0.wall).ok(),
            Some(Duration::from_secs(3))
        );
        assert_eq!(later.at(t0.instant), t0);
        assert_eq!(t0.at(later.instant), later);
    }
}
