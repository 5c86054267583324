//! A `redis-server` of the test's own, on a free loopback port. Shared by
//! the sipkit-server and sipkit (CLI) test binaries (the latter includes
//! this file with `#[path]`), so that it is written once.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// A `redis-server` started for one test on a free loopback port, with its
/// own temp dir, no snapshots and (unless asked) no AOF; killed by PID when
/// dropped.
#[derive(Debug)]
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
    dir: ScratchDir,
    extra: Vec<String>,
}

impl RedisServer {
    /// Starts one. When `redis-server` is not installed this says so and
    /// returns `None` (the test then passes vacuously), except under `CI`,
    /// where the test fails.
    pub fn start(tag: &str) -> Option<Self> {
        Self::start_with(tag, &[])
    }

    /// Like [`RedisServer::start`], with more `redis-server` arguments.
    pub fn start_with(tag: &str, extra: &[&str]) -> Option<Self> {
        if !redis_installed() {
            return None;
        }
        let mut server = Self {
            child: None,
            port: 0,
            dir: ScratchDir::new(tag),
            extra: extra.iter().map(|s| (*s).to_owned()).collect(),
        };
        // Another process may take the free port between our probe and
        // redis-server's bind: try a few ports.
        for _ in 0..5 {
            server.port = free_port();
            if server.spawn() {
                return Some(server);
            }
        }
        panic!("redis-server did not start on any free port");
    }

    /// Starts redis-server on this server's port and dir; whether it answers.
    fn spawn(&mut self) -> bool {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(self.dir.path())
            .args(["--logfile", "redis.log", "--daemonize", "no"])
            .args(&self.extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        self.child = Some(child);
        if wait_for_pong(self.port) {
            true
        } else {
            self.stop();
            false
        }
    }

    /// `redis://127.0.0.1:PORT/0`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// Sends `sig` ("-STOP", "-CONT") to the server by its PID.
    pub fn signal(&self, sig: &str) {
        let pid = self.child.as_ref().expect("the server runs").id();
        let ok = Command::new("kill")
            .args([sig, &pid.to_string()])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "kill {sig} {pid} failed");
    }

    /// Kills the server (SIGKILL, by PID) and reaps it.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The server's log (`redis.log` in its dir), empty when unreadable.
    #[allow(dead_code)] // used by the CLI's fault tests only
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("redis.log")).unwrap_or_default()
    }

    /// Starts it again on the same port and dir (after [`RedisServer::stop`]).
    pub fn restart(&mut self) {
        assert!(self.spawn(), "redis-server restarts on port {}", self.port);
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Whether `redis-server` can be run; panics under `CI` when it cannot.
pub fn redis_installed() -> bool {
    let found = Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "redis-server is not installed (run scripts/setup); CI requires it"
        );
        eprintln!("redis-server is not installed (run scripts/setup): Redis test not run");
    }
    found
}

/// A loopback port free a moment ago (redis-server cannot bind port 0).
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// Polls (bounded: 10 s) until the server on `port` answers PING.
fn wait_for_pong(port: u16) -> bool {
    wait_for(port, b"PING\r\n", b"+PONG")
}

/// redis-server's working dir, removed when dropped.
#[derive(Debug)]
struct ScratchDir(PathBuf);

impl ScratchDir {
    fn new(tag: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("sipkit-redis-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("the temp dir is writable");
        Self(path)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A Redis Cluster of three masters (no replicas, or one each with
/// [`RedisCluster::start_replicated`]) on loopback, created with
/// `redis-cli --cluster create`; every node killed when dropped.
#[derive(Debug)]
pub struct RedisCluster {
    nodes: Vec<RedisServer>,
}

impl RedisCluster {
    /// Starts three cluster-enabled servers, joins them, and waits (bounded)
    /// until every node reports `cluster_state:ok`. `None` as
    /// [`RedisServer::start`] when Redis is not installed.
    pub fn start(tag: &str) -> Option<Self> {
        Self::start_with(tag, &[])
    }

    /// Like [`RedisCluster::start`], with more `redis-server` arguments for
    /// every node (e.g. `--cluster-node-timeout`).
    pub fn start_with(tag: &str, extra: &[&str]) -> Option<Self> {
        Self::start_nodes(tag, 0, extra)
    }

    /// Three masters and one replica each (`--cluster-replicas 1`): nodes 0
    /// to 2 are the masters, 3 to 5 the replicas.
    #[allow(dead_code)] // used by the CLI's fault tests only
    pub fn start_replicated(tag: &str, extra: &[&str]) -> Option<Self> {
        Self::start_nodes(tag, 1, extra)
    }

    fn start_nodes(tag: &str, replicas: usize, extra: &[&str]) -> Option<Self> {
        let mut nodes = Vec::new();
        for i in 0..3 * (1 + replicas) {
            let bus = free_port().to_string();
            let mut args = vec![
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                "nodes.conf",
                "--cluster-port",
                &bus,
            ];
            args.extend_from_slice(extra);
            let node = RedisServer::start_with(&format!("{tag}-{i}"), &args)?;
            nodes.push(node);
        }
        let addrs: Vec<String> = nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect();
        let status = Command::new("redis-cli")
            .args(["--cluster", "create"])
            .args(&addrs)
            .args(["--cluster-replicas", &replicas.to_string(), "--cluster-yes"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("redis-cli runs (package redis-tools)");
        assert!(status.success(), "redis-cli --cluster create failed");
        for node in &nodes {
            assert!(
                wait_for(node.port, b"CLUSTER INFO\r\n", b"cluster_state:ok"),
                "the cluster did not come up on port {}",
                node.port
            );
        }
        for node in &nodes[3..] {
            assert!(
                wait_for(node.port, b"INFO replication\r\n", b"master_link_status:up"),
                "the replica on port {} did not sync",
                node.port
            );
        }
        Some(Self { nodes })
    }

    /// Waits (bounded: 10 s per replica) until every replica has applied
    /// its master's replication stream up to the master's offset now, so
    /// every write acknowledged before this call survives a failover.
    /// `master_link_status:up` is not enough: after a diskless full sync
    /// the master holds back the writes made since the snapshot until the
    /// replica's next `REPLCONF ACK`, up to a second later (Redis's
    /// `replication.c`, "Waiting for REPLCONF ACK from slave to enable
    /// streaming"); a master killed meanwhile took them with it. Returns
    /// the replicas that were behind at the first check: port, offset
    /// then, their master's offset, and the time they took to catch up.
    #[allow(dead_code)] // used by the CLI's fault tests only
    pub fn wait_replicated(&self) -> Vec<(u16, u64, u64, Duration)> {
        let mut behind = Vec::new();
        for node in &self.nodes {
            let info = redis_cli(node.port, &["INFO", "replication"]);
            if info_field(&info, "role") != "master" {
                continue;
            }
            let offset: u64 = info_field(&info, "master_repl_offset")
                .parse()
                .expect("a master reports master_repl_offset");
            // "slave0:ip=…,port=…,state=…,offset=…,lag=…"
            let replicas = info.lines().filter_map(|l| {
                let (name, fields) = l.split_once(':')?;
                name.starts_with("slave").then_some(())?;
                fields
                    .split(',')
                    .find_map(|kv| kv.strip_prefix("port="))?
                    .parse::<u16>()
                    .ok()
            });
            for port in replicas.collect::<Vec<_>>() {
                #[allow(clippy::disallowed_methods)] // a test's own measurement
                let started = Instant::now();
                let mut first = None;
                let caught_up = (0..1000).any(|_| {
                    let info = redis_cli(port, &["INFO", "replication"]);
                    let at = info_field(&info, "slave_repl_offset")
                        .parse::<u64>()
                        .unwrap_or(0);
                    first.get_or_insert(at);
                    if at < offset {
                        std::thread::sleep(Duration::from_millis(10));
                    }
                    at >= offset
                });
                assert!(
                    caught_up,
                    "the replica on port {port} did not reach its master's offset {offset}"
                );
                if let Some(at) = first.filter(|&at| at < offset) {
                    behind.push((port, at, offset, started.elapsed()));
                }
            }
        }
        behind
    }

    /// The client port of node `i` (masters first).
    #[allow(dead_code)] // used by the CLI's fault tests only
    pub fn port(&self, i: usize) -> u16 {
        self.nodes[i].port
    }

    /// Node `i`'s log.
    #[allow(dead_code)] // used by the CLI's fault tests only
    pub fn log(&self, i: usize) -> String {
        self.nodes[i].log()
    }

    /// Kills node `i` (SIGKILL, by PID).
    #[allow(dead_code)] // used by the CLI's fault tests only
    pub fn kill(&mut self, i: usize) {
        self.nodes[i].stop();
    }

    /// Starts node `i` again on its port, bus port and dir (its
    /// `nodes.conf`: the same node ID and slots); returns once it answers
    /// PING.
    #[allow(dead_code)] // used by the CLI's fault tests only
    pub fn restart(&mut self, i: usize) {
        self.nodes[i].restart();
    }

    /// `redis+cluster://127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3`.
    pub fn url(&self) -> String {
        let hosts: Vec<String> = self
            .nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect();
        format!("redis+cluster://{}", hosts.join(","))
    }
}

/// `redis-cli -h 127.0.0.1 -p PORT ARGS…`'s output ("" when it fails).
pub fn redis_cli(port: u16, args: &[&str]) -> String {
    let out = Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("redis-cli runs (package redis-tools)");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Field `name` of an `INFO` reply ("" when absent).
pub fn info_field(info: &str, name: &str) -> String {
    info.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .unwrap_or("")
        .trim()
        .to_owned()
}

/// Polls (bounded: 10 s) until the server on `port` answers `command` with
/// a reply containing `want`.
fn wait_for(port: u16, command: &[u8], want: &[u8]) -> bool {
    for _ in 0..1000 {
        if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
            let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
            let mut buf = [0u8; 4096];
            if s.write_all(command).is_ok() {
                if let Ok(n) = s.read(&mut buf) {
                    if buf[..n].windows(want.len()).any(|w| w == want) {
                        return true;
                    }
                }
            }
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}
