//! The one driver (`sipkit_transport::driver::run`) on loopback: it feeds
//! received messages, commands, deadlines and failed sends to an endpoint,
//! sends what the endpoint queues from the right socket and connection,
//! and stops on shutdown, on a failed commit, or when the endpoint is done.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use sipkit_message::{parse, response_from_request, Message};
use sipkit_transaction::{Config, Event, Transactions, Transmit};
use sipkit_transport::driver::{self, DriverConfig, Stopped};
use sipkit_transport::{
    Endpoint, Inbound, ListenSpec, Now, SendFailure, Transport, TransportConfig, Transports,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::{mpsc, oneshot};

const OPTIONS: &str = "OPTIONS sip:srv@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKd1;rport\r\nMax-Forwards: 70\r\nTo: <sip:srv@127.0.0.1>\r\nFrom: <sip:c@127.0.0.1>;tag=1\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";

/// Answers every request 200 OK through the transaction layer; sends the
/// bytes of a command to its address; records failures; can refuse to
/// commit and can have a deadline of its own.
struct Echo {
    tx: Transactions,
    failures: Vec<SendFailure>,
    fail_commit: bool,
    finish_on_failure: bool,
    alarm: Option<Instant>,
    rang: bool,
    held: VecDeque<Transmit>,
}

impl Echo {
    fn new() -> Echo {
        Echo {
            tx: Transactions::new(Config::default()),
            failures: Vec::new(),
            fail_commit: false,
            finish_on_failure: false,
            alarm: None,
            rang: false,
            held: VecDeque::new(),
        }
    }
}

impl Endpoint for Echo {
    type Command = (SocketAddr, Transport, Vec<u8>);
    type Error = &'static str;

    fn handle_inbound(&mut self, now: Now, msg: Inbound) {
        self.tx
            .handle_received(now.instant, &msg.bytes, msg.arrival());
        while let Some(ev) = self.tx.poll_event() {
            if let Event::Request { key, request, .. } = ev {
                let Ok(Message::Request(req)) = parse(request.as_slice()) else {
                    continue;
                };
                let ok = response_from_request(&req, 200, "OK").to_tag("t").finish();
                self.tx.send_response(now.instant, &key, &ok).unwrap();
            }
        }
    }

    fn handle_command(&mut self, _now: Now, (to, transport, bytes): Self::Command) {
        self.tx.send_stateless(&bytes, to, transport);
    }

    fn handle_timeout(&mut self, now: Now) {
        if self.alarm.is_some_and(|a| a <= now.instant) {
            self.alarm = None;
            self.rang = true;
        }
        self.tx.handle_timeout(now.instant);
    }

    fn handle_send_error(&mut self, _now: Now, failure: SendFailure) {
        self.failures.push(failure);
    }

    fn poll_timeout(&mut self) -> Option<Instant> {
        [self.tx.poll_timeout(), self.alarm]
            .into_iter()
            .flatten()
            .min()
    }

    fn poll_transmit(&mut self) -> Option<Transmit> {
        self.tx.poll_transmit()
    }

    fn end_batch(&mut self) -> Result<(), &'static str> {
        if self.fail_commit {
            // Keep what the turn produced: the driver must not send it.
            self.held
                .extend(std::iter::from_fn(|| self.tx.poll_transmit()));
            return Err("commit failed");
        }
        Ok(())
    }

    fn is_finished(&self) -> bool {
        self.rang || (self.finish_on_failure && !self.failures.is_empty())
    }
}

async fn bind(specs: &[&str]) -> (Transports, mpsc::Receiver<Inbound>) {
    let specs: Vec<ListenSpec> = specs.iter().map(|s| s.parse().unwrap()).collect();
    Transports::bind(&specs, TransportConfig::default())
        .await
        .expect("bind on loopback")
}

/// A bound on every wait, so a broken driver fails the test instead of hanging it.
async fn within<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), f)
        .await
        .expect("within 10 s")
}

#[tokio::test]
async fn answers_udp_and_tcp_from_the_right_socket_then_stops_on_shutdown() {
    let (transports, inbound) = bind(&["udp:127.0.0.1:0", "tcp:127.0.0.1:0"]).await;
    let udp_server = transports.local_addrs()[0].1;
    let tcp_server = transports.local_addrs()[1].1;
    let (stop_tx, stop_rx) = oneshot::channel::<&'static str>();
    let client = tokio::spawn(async move {
        let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        udp.send_to(OPTIONS.as_bytes(), udp_server).await.unwrap();
        let mut buf = [0u8; 2048];
        let (n, from) = within(udp.recv_from(&mut buf)).await.unwrap();
        assert_eq!(
            from, udp_server,
            "the reply leaves from the socket it came to"
        );
        assert!(buf[..n].starts_with(b"SIP/2.0 200 OK\r\n"));

        let mut tcp = TcpStream::connect(tcp_server).await.unwrap();
        let req = OPTIONS
            .replace("SIP/2.0/UDP", "SIP/2.0/TCP")
            .replace("z9hG4bKd1", "z9hG4bKd2");
        tcp.write_all(req.as_bytes()).await.unwrap();
        let n = within(tcp.read(&mut buf)).await.unwrap();
        assert!(
            buf[..n].starts_with(b"SIP/2.0 200 OK\r\n"),
            "the reply comes back on the connection"
        );
        stop_tx.send("bye").unwrap();
    });
    let mut echo = Echo::new();
    let stopped = within(driver::run(
        &mut echo,
        &transports,
        inbound,
        None,
        async { stop_rx.await.unwrap_or("dropped") },
        &DriverConfig::default(),
    ))
    .await;
    client.await.unwrap();
    assert_eq!(stopped, Ok(Stopped::Shutdown("bye")));
    // RFC 3261 §17.2.2: the UDP transaction waits in Completed for Timer J;
    // over TCP Timer J is zero and it is gone.
    assert_eq!(echo.tx.len(), 1);
}

#[tokio::test]
async fn commands_reach_the_endpoint_and_their_transmits_go_out() {
    let (transports, inbound) = bind(&["udp:127.0.0.1:0"]).await;
    let server = transports.local_addrs()[0].1;
    let peer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let peer_addr = peer.local_addr().unwrap();
    let (cmd_tx, cmd_rx) = mpsc::channel(4);
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let client = tokio::spawn(async move {
        cmd_tx
            .send((peer_addr, Transport::Udp, b"hello".to_vec()))
            .await
            .unwrap();
        // The application hangs up its channel: the driver goes on.
        drop(cmd_tx);
        let mut buf = [0u8; 64];
        let (n, from) = within(peer.recv_from(&mut buf)).await.unwrap();
        assert_eq!((&buf[..n], from), (&b"hello"[..], server));
        stop_tx.send(()).unwrap();
    });
    let mut echo = Echo::new();
    let stopped = within(driver::run(
        &mut echo,
        &transports,
        inbound,
        Some(cmd_rx),
        stop_rx,
        &DriverConfig::default(),
    ))
    .await;
    client.await.unwrap();
    assert_eq!(stopped, Ok(Stopped::Shutdown(Ok(()))));
}

#[tokio::test]
async fn a_failed_commit_stops_the_driver_before_anything_is_sent() {
    let (transports, inbound) = bind(&["udp:127.0.0.1:0"]).await;
    let server = transports.local_addrs()[0].1;
    let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    client.send_to(OPTIONS.as_bytes(), server).await.unwrap();
    let mut echo = Echo::new();
    echo.fail_commit = true;
    let stopped = within(driver::run(
        &mut echo,
        &transports,
        inbound,
        None,
        std::future::pending::<()>(),
        &DriverConfig::default(),
    ))
    .await;
    assert_eq!(stopped, Err("commit failed"));
    assert_eq!(
        echo.held.len(),
        1,
        "the 200 of that turn was never handed over"
    );
}

#[tokio::test]
async fn a_failed_tcp_send_comes_back_to_the_endpoint() {
    let (transports, inbound) = bind(&["tcp:127.0.0.1:0"]).await;
    // A port nobody listens on any more.
    let closed = {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        l.local_addr().unwrap()
    };
    let (cmd_tx, cmd_rx) = mpsc::channel(1);
    cmd_tx
        .send((closed, Transport::Tcp, b"OPTIONS".to_vec()))
        .await
        .unwrap();
    let mut echo = Echo::new();
    echo.finish_on_failure = true;
    let stopped = within(driver::run(
        &mut echo,
        &transports,
        inbound,
        Some(cmd_rx),
        std::future::pending::<()>(),
        &DriverConfig::default(),
    ))
    .await;
    assert_eq!(stopped, Ok(Stopped::Finished));
    assert_eq!(echo.failures.len(), 1);
    assert_eq!(echo.failures[0].destination, closed);
    assert_eq!(echo.failures[0].transport, Transport::Tcp);
}

#[tokio::test]
async fn a_due_deadline_is_handed_to_the_endpoint() {
    let (transports, inbound) = bind(&["udp:127.0.0.1:0"]).await;
    let mut echo = Echo::new();
    // Already due: the driver's timer fires at once, nothing waits.
    echo.alarm = Some(Now::read().instant);
    let stopped = within(driver::run(
        &mut echo,
        &transports,
        inbound,
        None,
        std::future::pending::<()>(),
        &DriverConfig::default(),
    ))
    .await;
    assert_eq!(stopped, Ok(Stopped::Finished));
    assert!(echo.rang);
}

#[tokio::test]
async fn a_transport_it_does_not_carry_is_a_send_failure() {
    let (transports, inbound) = bind(&["udp:127.0.0.1:0"]).await;
    let (cmd_tx, cmd_rx) = mpsc::channel(1);
    let to: SocketAddr = "127.0.0.1:5061".parse().unwrap();
    cmd_tx
        .send((to, Transport::Tls, b"OPTIONS".to_vec()))
        .await
        .unwrap();
    let mut echo = Echo::new();
    echo.finish_on_failure = true;
    let stopped = within(driver::run(
        &mut echo,
        &transports,
        inbound,
        Some(cmd_rx),
        std::future::pending::<()>(),
        &DriverConfig::default(),
    ))
    .await;
    assert_eq!(stopped, Ok(Stopped::Finished));
    assert_eq!(
        echo.failures[0].error.kind(),
        std::io::ErrorKind::Unsupported
    );
}
