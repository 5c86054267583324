//! The real server on a socket (127.0.0.1, a free port): it answers, and it
//! stops gracefully when told to.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::util::BASE;

/// `sipkit_web::serve` on 127.0.0.1 port 0 in a thread of its own; stopped
/// (gracefully) when dropped.
pub struct Server {
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<std::io::Result<()>>>,
}

impl Server {
    pub fn start() -> Server {
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()?;
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
                let addr = listener.local_addr()?;
                let site = sipkit_web::Site::new(&format!("http://{addr}"));
                let _ = addr_tx.send(addr);
                sipkit_web::serve(listener, site, async move {
                    let _ = stop_rx.await;
                })
                .await
            })
        });
        let addr = addr_rx
            .recv_timeout(Duration::from_secs(10))
            .expect("the server starts");
        Server {
            addr,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    /// Stops the server and returns how `serve` ended.
    pub fn stop(mut self) -> std::io::Result<()> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> std::io::Result<()> {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        match self.thread.take() {
            Some(t) => t.join().expect("the server thread panicked"),
            None => Ok(()),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

/// A plain HTTP/1.1 GET over a socket: status, headers (lower-case names), body.
pub fn http_get(
    addr: SocketAddr,
    path: &str,
    extra: &[(&str, &str)],
) -> (u16, Vec<(String, String)>, String) {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("connecting");
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in extra {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("reading the answer");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").expect("a complete answer");
    let mut lines = head.lines();
    let status: u16 = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"));
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_owned()
    };
    (status, headers, body)
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

#[test]
fn the_server_answers_on_a_socket_and_stops_gracefully() {
    let server = Server::start();
    let addr = server.addr;
    let (status, headers, body) = http_get(addr, "/en/302", &[]);
    assert_eq!(status, 200);
    assert!(body.contains("Moved Temporarily") && body.ends_with("</html>\n"));
    assert!(headers
        .iter()
        .any(|(k, v)| k == "content-type" && v == "text/html; charset=utf-8"));
    let (status, headers, _) = http_get(addr, "/", &[("Accept-Language", "ru-RU,ru;q=0.9")]);
    assert_eq!(status, 302);
    assert!(headers.iter().any(|(k, v)| k == "location" && v == "/ru/"));
    let (status, _, body) = http_get(addr, "/api/v1/compare/202/302?lang=ru", &[]);
    assert_eq!(status, 200);
    assert!(body.contains("\"lang\": \"ru\""));
    // Pages name the server's own address unless told otherwise.
    let (_, _, body) = http_get(addr, "/robots.txt", &[]);
    assert!(body.contains(&format!("Sitemap: http://{addr}/sitemap.xml")) && !body.contains(BASE));
    server.stop().expect("serve ends without an error");
    assert!(
        TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_err(),
        "the socket is closed"
    );
}

#[test]
fn many_requests_at_once_are_served() {
    let server = Server::start();
    let addr = server.addr;
    let threads: Vec<_> = (0..8)
        .map(|i| {
            std::thread::spawn(move || {
                for j in 0..10 {
                    let code = [302, 486, 202, 401][(i + j) % 4];
                    let (status, _, body) = http_get(addr, &format!("/en/{code}"), &[]);
                    assert_eq!(status, 200);
                    assert!(body.contains(&format!(">{code}</span>")));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("a client thread panicked");
    }
}
