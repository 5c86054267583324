//! TCP: listeners, one reader and one writer task per connection, a table
//! for reuse (RFC 3261 §18.2.2, §18.3), idle close, CRLF keep-alive pongs
//! (RFC 5626 §3.5.1).

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use sipkit_message::{Event, Limits, StreamDecoder};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use crate::{ConnId, Inbound, Transport, TransportConfig};

#[derive(Debug)]
struct Conn {
    tx: mpsc::Sender<Vec<u8>>,
}

#[derive(Debug, Default)]
struct Inner {
    conns: HashMap<ConnId, Conn>,
    by_peer: HashMap<SocketAddr, ConnId>,
}

/// The open connections.
#[derive(Debug)]
pub(crate) struct Table {
    inner: Mutex<Inner>,
    next: AtomicU64,
    up: mpsc::Sender<Inbound>,
    config: Arc<TransportConfig>,
}

impl Table {
    pub(crate) fn new(up: mpsc::Sender<Inbound>, config: Arc<TransportConfig>) -> Table {
        Table {
            inner: Mutex::new(Inner::default()),
            next: AtomicU64::new(1),
            up,
            config,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock would poison it; the table stays
        // consistent at every step, so the data is still good to use.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn len(&self) -> usize {
        self.lock().conns.len()
    }

    /// Binds a listener and accepts connections on it until the process ends.
    pub(crate) async fn listen(
        self: &Arc<Self>,
        addr: SocketAddr,
        reuse_port: bool,
    ) -> io::Result<SocketAddr> {
        let sock = socket2::Socket::new(
            socket2::Domain::for_address(addr),
            socket2::Type::STREAM,
            None,
        )?;
        if addr.is_ipv6() {
            sock.set_only_v6(true)?;
        }
        sock.set_reuse_address(true)?;
        crate::set_reuse_port(&sock, reuse_port)?;
        sock.set_nonblocking(true)?;
        sock.bind(&addr.into())?;
        sock.listen(1024)?;
        let listener = TcpListener::from_std(sock.into())?;
        let local = listener.local_addr()?;
        let table = self.clone();
        tokio::spawn(async move {
            loop {
                match listener.accept().await {
                    Ok((stream, peer)) => {
                        let _ = stream.set_nodelay(true);
                        table.adopt(stream, peer, local);
                    }
                    Err(e) => {
                        // EMFILE and friends: wait a little instead of spinning.
                        tracing::warn!(%local, error = %e, "tcp accept failed");
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    }
                }
            }
        });
        Ok(local)
    }

    /// Registers a connected stream and starts its reader and writer.
    fn adopt(
        self: &Arc<Self>,
        stream: TcpStream,
        peer: SocketAddr,
        local: SocketAddr,
    ) -> (ConnId, mpsc::Sender<Vec<u8>>) {
        let id = ConnId::new(self.next.fetch_add(1, Ordering::Relaxed));
        let (tx, rx) = mpsc::channel::<Vec<u8>>(256);
        {
            let mut inner = self.lock();
            inner.conns.insert(id, Conn { tx: tx.clone() });
            inner.by_peer.insert(peer, id);
        }
        tracing::debug!(%peer, %local, conn = id.get(), "tcp connection open");
        let (read, write) = stream.into_split();
        tokio::spawn(writer(write, rx));
        let table = self.clone();
        let pong = tx.clone();
        tokio::spawn(async move {
            table.reader(read, id, peer, local, pong).await;
            table.forget(id, peer);
            tracing::debug!(%peer, conn = id.get(), "tcp connection closed");
        });
        (id, tx)
    }

    fn forget(&self, id: ConnId, peer: SocketAddr) {
        let mut inner = self.lock();
        inner.conns.remove(&id);
        if inner.by_peer.get(&peer) == Some(&id) {
            inner.by_peer.remove(&peer);
        }
    }

    async fn reader(
        &self,
        mut read: tokio::net::tcp::OwnedReadHalf,
        id: ConnId,
        peer: SocketAddr,
        local: SocketAddr,
        pong: mpsc::Sender<Vec<u8>>,
    ) {
        let limits = Limits {
            max_message_size: self.config.max_message_size,
            ..Limits::default()
        };
        let mut decoder = StreamDecoder::new(limits);
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = match tokio::time::timeout(self.config.tcp_idle_timeout, read.read(&mut buf))
                .await
            {
                Err(_) => {
                    tracing::debug!(%peer, "tcp connection idle: closing");
                    return;
                }
                Ok(Ok(0)) | Ok(Err(_)) => return,
                Ok(Ok(n)) => n,
            };
            if let Err(e) = decoder.push(&buf[..n]) {
                tracing::info!(%peer, error = %e, "tcp stream over its limit: closing");
                return;
            }
            loop {
                let ev = match decoder.decode() {
                    Ok(ev) => ev,
                    Err(e) => {
                        // Framing is lost (bad or missing Content-Length):
                        // nothing after this point can be trusted.
                        tracing::info!(%peer, error = %e, "tcp framing lost: closing");
                        return;
                    }
                };
                let bytes = match ev {
                    Event::Partial => break,
                    Event::Ping => {
                        let _ = pong.try_send(b"\r\n".to_vec());
                        continue;
                    }
                    Event::Pong => continue,
                    Event::Message(m) => m.source().to_vec(),
                    Event::Invalid { bytes, .. } => bytes.to_vec(),
                };
                let msg = Inbound {
                    transport: Transport::Tcp,
                    source: peer,
                    local,
                    bytes,
                    conn: Some(id),
                };
                if self.up.send(msg).await.is_err() {
                    return;
                }
            }
        }
    }

    /// Sends on `conn` if open, else on a connection to `dest`, else on a new one.
    pub(crate) async fn send(
        self: &Arc<Self>,
        conn: Option<ConnId>,
        dest: SocketAddr,
        bytes: Vec<u8>,
    ) -> io::Result<()> {
        let existing = {
            let inner = self.lock();
            conn.and_then(|c| inner.conns.get(&c))
                .or_else(|| inner.by_peer.get(&dest).and_then(|c| inner.conns.get(c)))
                .map(|c| c.tx.clone())
        };
        let tx = match existing {
            Some(tx) => tx,
            None => {
                let stream = TcpStream::connect(dest).await?;
                let _ = stream.set_nodelay(true);
                let local = stream.local_addr()?;
                self.adopt(stream, dest, local).1
            }
        };
        tx.send(bytes).await.map_err(|_| {
            io::Error::new(
                io::ErrorKind::BrokenPipe,
                format!("tcp connection to {dest} closed"),
            )
        })
    }

    /// Queues on `t.conn` or a connection to `t.destination` without waiting.
    pub(crate) fn try_send(&self, t: crate::Transmit) -> Result<(), crate::Transmit> {
        let tx = {
            let inner = self.lock();
            t.conn
                .and_then(|c| inner.conns.get(&c))
                .or_else(|| {
                    inner
                        .by_peer
                        .get(&t.destination)
                        .and_then(|c| inner.conns.get(c))
                })
                .map(|c| c.tx.clone())
        };
        let Some(tx) = tx else { return Err(t) };
        let crate::Transmit {
            transport,
            destination,
            conn,
            local,
            bytes,
        } = t;
        tx.try_send(bytes).map_err(|e| {
            let bytes = match e {
                mpsc::error::TrySendError::Full(b) | mpsc::error::TrySendError::Closed(b) => b,
            };
            crate::Transmit {
                transport,
                destination,
                conn,
                local,
                bytes,
            }
        })
    }
}

async fn writer(mut write: tokio::net::tcp::OwnedWriteHalf, mut rx: mpsc::Receiver<Vec<u8>>) {
    while let Some(bytes) = rx.recv().await {
        if write.write_all(&bytes).await.is_err() {
            return;
        }
    }
    let _ = write.shutdown().await;
}
