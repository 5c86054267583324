//! The async shell: the [`Agent`] run on `sipkit-transport`'s one driver
//! (`sipkit_transport::driver::run`, the loop of ARCHITECTURE.md written
//! once). [`UserAgent`] binds the transports; the agent implements the
//! driver's [`Endpoint`] trait; what the command line asks becomes a
//! [`Command`] on the driver's command channel; a signal comes in through
//! the driver's shutdown future and becomes [`Command::Shutdown`], so the
//! agent un-registers before it stops.
//!
//! Nothing here reads the clock but through the driver ([`Now::read`]):
//! `clippy.toml` bans `Instant::now` and `SystemTime::now` in this crate.

use std::future::Future;
use std::net::{SocketAddr, UdpSocket as StdUdp};
use std::time::Instant;

use sipkit_transaction::Transmit;
use sipkit_transport::driver::{self, DriverConfig, SendFailure, Stopped};
use sipkit_transport::{
    Endpoint, Inbound, ListenSpec, Now, Transport, TransportConfig, Transports,
};
use tokio::sync::mpsc;

use crate::agent::{Agent, AgentOptions, Command};
use crate::core::{resolve_literal, UaCore};
use crate::report::{AgentReport, CallReport, Note, TransferReport};
use crate::{CallOptions, Error, TransferOptions};

/// The agent as the driver runs it: every input with the driver's time;
/// an error of an input ends the run ([`Agent::take_failure`]).
impl Endpoint for Agent {
    type Command = Command;
    type Error = Error;

    fn handle_inbound(&mut self, now: Now, msg: Inbound) {
        let r = self.handle_received(now.instant, &msg.bytes, msg.arrival());
        self.keep(r);
    }

    fn handle_command(&mut self, now: Now, command: Command) {
        let r = self.command(now.instant, command);
        self.keep(r);
    }

    fn handle_timeout(&mut self, now: Now) {
        let r = Agent::handle_timeout(self, now.instant);
        self.keep(r);
    }

    fn handle_send_error(&mut self, now: Now, failure: SendFailure) {
        tracing::debug!(destination = %failure.destination, error = %failure.error, "send failed");
        if let Some(key) = failure.key {
            let r = Agent::handle_send_error(self, now.instant, &key);
            self.keep(r);
        }
    }

    fn poll_timeout(&mut self) -> Option<Instant> {
        Agent::poll_timeout(self)
    }

    fn poll_transmit(&mut self) -> Option<Transmit> {
        Agent::poll_transmit(self)
    }

    fn is_finished(&self) -> bool {
        Agent::is_finished(self)
    }
}

/// The agent with the sink its notes go to as they happen (the command
/// line prints them).
struct Printing<'a> {
    agent: &'a mut Agent,
    notes: &'a mut dyn FnMut(Note),
}

impl Printing<'_> {
    fn flush(&mut self) {
        while let Some(n) = self.agent.poll_note() {
            (self.notes)(n);
        }
    }
}

impl Endpoint for Printing<'_> {
    type Command = Command;
    type Error = Error;

    fn handle_inbound(&mut self, now: Now, msg: Inbound) {
        Endpoint::handle_inbound(self.agent, now, msg);
    }
    fn handle_command(&mut self, now: Now, command: Command) {
        Endpoint::handle_command(self.agent, now, command);
    }
    fn handle_timeout(&mut self, now: Now) {
        Endpoint::handle_timeout(self.agent, now);
    }
    fn handle_send_error(&mut self, now: Now, failure: SendFailure) {
        Endpoint::handle_send_error(self.agent, now, failure);
    }
    fn poll_timeout(&mut self) -> Option<Instant> {
        Agent::poll_timeout(self.agent)
    }
    /// Once everything is sent, the notes are printed — outside the
    /// driver's turn, so printing never counts as a slow turn.
    fn poll_transmit(&mut self) -> Option<Transmit> {
        let t = Agent::poll_transmit(self.agent);
        if t.is_none() {
            self.flush();
        }
        t
    }
    fn is_finished(&self) -> bool {
        Agent::is_finished(self.agent)
    }
}

/// Where a [`UserAgent`] listens and what it advertises.
#[derive(Debug, Clone, Copy)]
pub struct Bind {
    /// Transport and address to listen on (port 0 picks one).
    pub listen: ListenSpec,
    /// The address put in Via and Contact; by default the bound address,
    /// or when that is a wildcard, the local IP toward `toward` (or 127.0.0.1).
    pub advertise: Option<SocketAddr>,
    /// The first peer, to choose the advertised IP behind a wildcard.
    pub toward: Option<SocketAddr>,
    /// Seed of tags, branches, Call-IDs and cnonces (`sipkit_transport::seed()`).
    pub seed: u64,
}

/// A bound user agent: the [`Agent`] and its transports, ready to run on
/// the driver as `sipkit ua` ([`UserAgent::run_agent`]), `sipkit call`
/// ([`UserAgent::call`]) or `sipkit transfer` ([`UserAgent::transfer`]).
#[derive(Debug)]
pub struct UserAgent {
    agent: Agent,
    transports: Transports,
    inbound: mpsc::Receiver<Inbound>,
    local: SocketAddr,
}

impl UserAgent {
    /// Binds `bind.listen` (inside a tokio runtime) and makes the agent;
    /// `now` is when (the driver's [`Now::read`]).
    ///
    /// # Errors
    /// [`Error::Bind`] when the address cannot be bound.
    pub async fn bind(bind: &Bind, opts: AgentOptions, now: Now) -> Result<UserAgent, Error> {
        let spec = bind.listen;
        let (transports, inbound) = Transports::bind(&[spec], TransportConfig::default())
            .await
            .map_err(|e| Error::Bind(spec.to_string(), e))?;
        let local = transports
            .local_addrs()
            .first()
            .map(|(_, a)| *a)
            .unwrap_or(spec.addr);
        let advertised = bind.advertise.unwrap_or_else(|| {
            if local.ip().is_unspecified() {
                let ip = bind
                    .toward
                    .map(local_ip_for)
                    .filter(|ip| !ip.is_unspecified());
                SocketAddr::new(ip.unwrap_or_else(|| [127, 0, 0, 1].into()), local.port())
            } else {
                local
            }
        });
        let core = UaCore::new(spec.transport, advertised, bind.seed);
        let listen = format!("{}:{local}", spec.transport.as_str().to_ascii_lowercase());
        let agent = Agent::new(now.instant, core, opts, listen, resolve_blocking);
        Ok(UserAgent {
            agent,
            transports,
            inbound,
            local,
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The transport.
    pub fn transport(&self) -> Transport {
        self.agent.transport()
    }

    /// `udp:IP:PORT`, as printed.
    pub fn listen(&self) -> String {
        format!(
            "{}:{}",
            self.transport().as_str().to_ascii_lowercase(),
            self.local
        )
    }

    /// The Contact URI.
    pub fn contact(&self) -> String {
        self.agent.contact()
    }

    /// Runs the agent on the driver: `commands` go in first, in order;
    /// `shutdown` (a signal) becomes [`Command::Shutdown`] — the agent
    /// un-registers and then stops. Returns the agent when it is finished.
    ///
    /// # Errors
    /// The error of an input that made the agent give up, or
    /// [`Error::Internal`] when the transports stopped first.
    pub async fn run(
        self,
        commands: Vec<Command>,
        shutdown: impl Future<Output = ()>,
        notes: &mut dyn FnMut(Note),
    ) -> Result<Agent, Error> {
        let UserAgent {
            mut agent,
            transports,
            inbound,
            ..
        } = self;
        let (tx, rx) = mpsc::channel(commands.len() + 1);
        for c in commands {
            // The channel has room for every command and the shutdown.
            let _ = tx.try_send(c);
        }
        // The signal goes in as a command; the driver's shutdown future
        // then never resolves: the agent decides when it is finished.
        let signal = async move {
            shutdown.await;
            let _ = tx.send(Command::Shutdown("signal".into())).await;
            std::future::pending::<()>().await;
        };
        // The knowledge base is parsed on first use: before the loop, so
        // that the first turn with a response is not a slow one.
        let lang = agent.lang();
        let _ = sipkit_codes::agent_text(lang, "listening", &[]);
        let _ = sipkit_codes::explain(200, lang);
        let mut ep = Printing {
            agent: &mut agent,
            notes,
        };
        let stopped = driver::run(
            &mut ep,
            &transports,
            inbound,
            Some(rx),
            signal,
            &DriverConfig::default(),
        )
        .await?;
        ep.flush();
        if let Some(e) = agent.take_failure() {
            return Err(e);
        }
        match stopped {
            Stopped::Finished => Ok(agent),
            Stopped::Shutdown(()) | Stopped::TransportClosed => {
                Err(Error::Internal("the transports closed"))
            }
        }
    }

    /// `sipkit ua`: announces itself, registers with `--register`, answers
    /// and transfers until `shutdown`, `--duration` or `--calls`; then
    /// un-registers and reports.
    ///
    /// # Errors
    /// As [`UserAgent::run`].
    pub async fn run_agent(
        self,
        notes: &mut dyn FnMut(Note),
        shutdown: impl Future<Output = ()>,
    ) -> Result<AgentReport, Error> {
        let agent = self.run(vec![Command::Start], shutdown, notes).await?;
        Ok(agent.report())
    }

    /// `sipkit call`: places the call, follows redirects, holds, hangs up.
    ///
    /// # Errors
    /// As [`UserAgent::run`].
    pub async fn call(
        self,
        opts: CallOptions,
        notes: &mut dyn FnMut(Note),
    ) -> Result<CallReport, Error> {
        let agent = self
            .run(vec![Command::Call(opts)], std::future::pending(), notes)
            .await?;
        agent
            .placed_call_report()
            .ok_or(Error::Internal("the placed call has no report"))
    }

    /// `sipkit transfer`: calls, REFERs, follows the NOTIFYs, hangs up.
    ///
    /// # Errors
    /// As [`UserAgent::run`]; [`Error::BadUri`] for a target that is no URI.
    pub async fn transfer(
        self,
        opts: TransferOptions,
        notes: &mut dyn FnMut(Note),
    ) -> Result<TransferReport, Error> {
        let agent = self
            .run(vec![Command::Transfer(opts)], std::future::pending(), notes)
            .await?;
        agent
            .transfer_report()
            .ok_or(Error::Internal("the transfer has no report"))
    }
}

/// The local IP the system would use to reach `peer` (no packet is sent).
pub fn local_ip_for(peer: SocketAddr) -> std::net::IpAddr {
    let any: SocketAddr = if peer.is_ipv4() {
        "0.0.0.0:0"
    } else {
        "[::]:0"
    }
    .parse()
    .unwrap_or(peer);
    StdUdp::bind(any)
        .and_then(|s| {
            s.connect(peer)?;
            s.local_addr()
        })
        .map(|a| a.ip())
        .unwrap_or_else(|_| any.ip())
}

/// Resolves a SIP URI's host and port (IP literal or A/AAAA; 5060, or 5061 for sips).
pub async fn resolve(uri: &str) -> Result<SocketAddr, Error> {
    match resolve_literal(uri) {
        Ok(a) => Ok(a),
        Err(Error::Resolve(host, _)) => {
            let port = sipkit_message::Uri::parse(uri)
                .ok()
                .and_then(|u| u.port)
                .unwrap_or(if uri.starts_with("sips:") { 5061 } else { 5060 });
            let bare = host.trim_matches(['[', ']']).to_owned();
            let mut addrs = tokio::net::lookup_host((bare.as_str(), port))
                .await
                .map_err(|e| Error::Resolve(host.clone(), e.to_string()))?;
            addrs
                .next()
                .ok_or_else(|| Error::Resolve(host, "no address".into()))
        }
        Err(e) => Err(e),
    }
}

/// The blocking form of [`resolve`], for the synchronous agent: an IP
/// literal at once, a host name through the system resolver (it blocks
/// the driver's task while it runs).
pub fn resolve_blocking(uri: &str) -> Result<SocketAddr, Error> {
    use std::net::ToSocketAddrs;
    match resolve_literal(uri) {
        Ok(a) => Ok(a),
        Err(Error::Resolve(host, _)) => {
            let port = sipkit_message::Uri::parse(uri)
                .ok()
                .and_then(|u| u.port)
                .unwrap_or(if uri.starts_with("sips:") { 5061 } else { 5060 });
            let bare = host.trim_matches(['[', ']']).to_owned();
            (bare.as_str(), port)
                .to_socket_addrs()
                .map_err(|e| Error::Resolve(host.clone(), e.to_string()))?
                .next()
                .ok_or_else(|| Error::Resolve(host, "no address".into()))
        }
        Err(e) => Err(e),
    }
}
