//! Real sockets on loopback, ports chosen by the kernel.

use std::time::Duration;

use sipkit_transport::{Inbound, ListenSpec, Transmit, Transport, TransportConfig, Transports};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::mpsc::Receiver;

const OPTIONS: &[u8] = b"OPTIONS sip:srv@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKa\r\nMax-Forwards: 70\r\nTo: <sip:srv@127.0.0.1>\r\nFrom: <sip:c@127.0.0.1>;tag=1\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";

async fn next(rx: &mut Receiver<Inbound>) -> Inbound {
    // A bound on the wait so a broken transport fails the test instead of hanging it.
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("message within 10 s")
        .expect("channel open")
}

async fn bind(specs: &[&str]) -> (Transports, Receiver<Inbound>) {
    let specs: Vec<ListenSpec> = specs.iter().map(|s| s.parse().unwrap()).collect();
    Transports::bind(&specs, TransportConfig::default())
        .await
        .expect("bind on loopback")
}

#[tokio::test]
async fn udp_v4_round_trip() {
    let (t, mut rx) = bind(&["udp:127.0.0.1:0"]).await;
    let server = t.local_addrs()[0].1;
    let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    client.send_to(OPTIONS, server).await.unwrap();
    let got = next(&mut rx).await;
    assert_eq!(got.transport, Transport::Udp);
    assert_eq!(got.bytes, OPTIONS);
    assert_eq!(got.source, client.local_addr().unwrap());
    t.send(Transmit::reply_to(&got, b"SIP/2.0 200 OK\r\n\r\n".to_vec()))
        .await
        .unwrap();
    let mut buf = [0u8; 100];
    let (n, from) = tokio::time::timeout(Duration::from_secs(10), client.recv_from(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&buf[..n], b"SIP/2.0 200 OK\r\n\r\n");
    assert_eq!(from, server);
}

#[tokio::test]
async fn udp_v6_round_trip() {
    if std::net::UdpSocket::bind("[::1]:0").is_err() {
        // IPv6 loopback missing on this host: say so; fail in CI.
        assert!(
            std::env::var_os("CI").is_none(),
            "IPv6 loopback unavailable in CI"
        );
        eprintln!("skipping: no IPv6 loopback here");
        return;
    }
    let (t, mut rx) = bind(&["udp:[::1]:0", "udp:127.0.0.1:0"]).await;
    let server6 = t.local_addrs()[0].1;
    let client = UdpSocket::bind("[::1]:0").await.unwrap();
    client.send_to(OPTIONS, server6).await.unwrap();
    let got = next(&mut rx).await;
    assert!(got.source.is_ipv6());
    assert_eq!(got.local, server6);
}

#[tokio::test]
async fn udp_crlf_keepalive_is_not_passed_up() {
    let (t, mut rx) = bind(&["udp:127.0.0.1:0"]).await;
    let server = t.local_addrs()[0].1;
    let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    client.send_to(b"\r\n\r\n", server).await.unwrap();
    client.send_to(OPTIONS, server).await.unwrap();
    assert_eq!(
        next(&mut rx).await.bytes,
        OPTIONS,
        "the keep-alive was skipped"
    );
}

#[tokio::test]
async fn tcp_framing_keepalive_and_reuse() {
    let (t, mut rx) = bind(&["tcp:127.0.0.1:0"]).await;
    let server = t.local_addrs()[0].1;
    let mut client = TcpStream::connect(server).await.unwrap();
    // Two messages and a ping in pieces, split in the middle of a header.
    let mut stream = Vec::new();
    stream.extend_from_slice(OPTIONS);
    stream.extend_from_slice(b"\r\n\r\n");
    stream.extend_from_slice(OPTIONS);
    let (a, b) = stream.split_at(50);
    client.write_all(a).await.unwrap();
    client.write_all(b).await.unwrap();
    let first = next(&mut rx).await;
    let second = next(&mut rx).await;
    assert_eq!(first.bytes, OPTIONS);
    assert_eq!(second.bytes, OPTIONS);
    assert_eq!(first.conn, second.conn, "same connection");
    assert!(first.conn.is_some());
    // The pong for the ping, then the reply on the same connection.
    t.send(Transmit::reply_to(
        &second,
        b"SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n".to_vec(),
    ))
    .await
    .unwrap();
    let mut got = Vec::new();
    let want = b"\r\nSIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n";
    while got.len() < want.len() {
        let mut buf = [0u8; 256];
        let n = tokio::time::timeout(Duration::from_secs(10), client.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0, "connection closed early");
        got.extend_from_slice(&buf[..n]);
    }
    assert_eq!(got, want);
    assert_eq!(t.tcp_connections(), 1);
}

#[tokio::test]
async fn tcp_outbound_connects_and_reuses() {
    let (t, _rx) = bind(&["tcp:127.0.0.1:0"]).await;
    let peer = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dest = peer.local_addr().unwrap();
    let send = |bytes: &[u8]| Transmit {
        transport: Transport::Tcp,
        destination: dest,
        conn: None,
        local: None,
        bytes: bytes.to_vec(),
    };
    t.send(send(b"one")).await.unwrap();
    t.send(send(b"two")).await.unwrap();
    let (mut s, _) = tokio::time::timeout(Duration::from_secs(10), peer.accept())
        .await
        .unwrap()
        .unwrap();
    let mut got = Vec::new();
    while got.len() < 6 {
        let mut buf = [0u8; 16];
        let n = tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0);
        got.extend_from_slice(&buf[..n]);
    }
    assert_eq!(got, b"onetwo", "both on one connection");
    assert_eq!(t.tcp_connections(), 1);
}

#[tokio::test(start_paused = true)]
async fn tcp_idle_connection_is_closed() {
    let specs: Vec<ListenSpec> = vec!["tcp:127.0.0.1:0".parse().unwrap()];
    let config = TransportConfig {
        tcp_idle_timeout: Duration::from_secs(30),
        ..TransportConfig::default()
    };
    let (t, mut rx) = Transports::bind(&specs, config).await.unwrap();
    let server = t.local_addrs()[0].1;
    let mut client = TcpStream::connect(server).await.unwrap();
    client.write_all(OPTIONS).await.unwrap();
    let _ = next(&mut rx).await;
    assert_eq!(t.tcp_connections(), 1);
    // Paused time: the runtime jumps to the idle deadline once everything waits.
    let mut buf = [0u8; 8];
    let n = client.read(&mut buf).await.unwrap();
    assert_eq!(n, 0, "the server closed the idle connection");
    tokio::task::yield_now().await;
    assert_eq!(t.tcp_connections(), 0);
}

#[tokio::test]
async fn several_listeners_at_once() {
    let (t, mut rx) = bind(&["udp:127.0.0.1:0", "tcp:127.0.0.1:0", "udp:127.0.0.2:0"]).await;
    assert_eq!(t.local_addrs().len(), 3);
    let udp2 = t.local_addrs()[2].1;
    let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    client.send_to(OPTIONS, udp2).await.unwrap();
    assert_eq!(next(&mut rx).await.local, udp2);
}

/// Regression (found by the user agent): a datagram sent right after bind,
/// before the runtime has seen the socket writable, must leave at once.
#[tokio::test]
async fn first_udp_send_goes_out_immediately() {
    let (t, _rx) = bind(&["udp:127.0.0.1:0"]).await;
    let peer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    t.try_send_udp(None, peer.local_addr().unwrap(), b"first")
        .unwrap();
    let mut buf = [0u8; 16];
    let (n, _) = tokio::time::timeout(Duration::from_secs(10), peer.recv_from(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&buf[..n], b"first");
}

/// Issue 14 point 1: with `reuse_port` a second set of listeners binds the
/// same UDP and TCP addresses (one per worker); without it, it cannot.
#[tokio::test]
async fn reuse_port_lets_workers_share_an_address() {
    let specs: Vec<ListenSpec> = vec![
        "udp:127.0.0.1:0".parse().unwrap(),
        "tcp:127.0.0.1:0".parse().unwrap(),
    ];
    let shared = TransportConfig {
        reuse_port: true,
        ..TransportConfig::default()
    };
    let (first, _rx1) = Transports::bind(&specs, shared.clone()).await.unwrap();
    let taken: Vec<ListenSpec> = first
        .local_addrs()
        .iter()
        .map(|(t, a)| ListenSpec {
            transport: *t,
            addr: *a,
        })
        .collect();
    let (second, _rx2) = Transports::bind(&taken, shared).await.unwrap();
    assert_eq!(second.local_addrs(), first.local_addrs());
    let alone = Transports::bind(&taken[..1], TransportConfig::default()).await;
    assert_eq!(
        alone.map(|_| ()).unwrap_err().kind(),
        std::io::ErrorKind::AddrInUse
    );
}
