//! Prometheus metrics of `sipkit serve` (issue 14 point 7): counters the
//! cores update with relaxed atomics (no lock on the hot path, shared by
//! every worker) and their rendering in the text exposition format
//! (<https://prometheus.io/docs/instrumenting/exposition_formats/>).
//!
//! The cores count requests, responses, malformed messages, open
//! transactions and how late their timers fire; [`MeteredStore`] times the
//! location service; what is cheaper to read at scrape time (live bindings,
//! the authentication counters, bans in force) comes in as a [`Scrape`].
//!
//! ```
//! use sipkit_server::metrics::{Metrics, Scrape};
//!
//! let m = Metrics::new(1);
//! m.request("INVITE");
//! m.response(302);
//! let text = m.render(&Scrape::default());
//! assert!(text.contains("sipkit_requests_total{method=\"INVITE\"} 1\n"));
//! assert!(text.contains("sipkit_responses_total{code=\"302\"} 1\n"));
//! ```

use std::fmt::{self, Write as _};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::binding::Plan;
use crate::error::Result;
use crate::store::{Counts, LocationService};
use crate::time::UnixMs;
use crate::Binding;

/// The methods counted by name; any other is counted as `other`.
const METHODS: [&str; 14] = [
    "INVITE",
    "ACK",
    "BYE",
    "CANCEL",
    "REGISTER",
    "OPTIONS",
    "INFO",
    "PRACK",
    "UPDATE",
    "SUBSCRIBE",
    "NOTIFY",
    "REFER",
    "MESSAGE",
    "PUBLISH",
];

/// Upper bounds of the latency histograms, in seconds.
const BUCKETS: [f64; 14] = [
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0,
];

/// The location service operations timed by [`MeteredStore`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreOp {
    /// `lookup`, `lookup_replies`, `is_known`: the redirect server's reads.
    Lookup,
    /// `update` (a REGISTER's read-decide-write).
    Update,
    /// `end_batch`: the group commit of a turn.
    Commit,
    /// `remove_all`, `purge_expired`, `count`, `begin_batch`.
    Other,
}

impl StoreOp {
    const ALL: [StoreOp; 4] = [
        StoreOp::Lookup,
        StoreOp::Update,
        StoreOp::Commit,
        StoreOp::Other,
    ];

    fn label(self) -> &'static str {
        match self {
            StoreOp::Lookup => "lookup",
            StoreOp::Update => "update",
            StoreOp::Commit => "commit",
            StoreOp::Other => "other",
        }
    }
}

/// A latency histogram with fixed buckets ([`BUCKETS`]).
#[derive(Debug, Default)]
struct Histogram {
    /// Observations per bucket (not cumulative); the last is +Inf.
    buckets: [AtomicU64; BUCKETS.len() + 1],
    count: AtomicU64,
    sum_ns: AtomicU64,
}

impl Histogram {
    fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        let i = BUCKETS
            .iter()
            .position(|b| secs <= *b)
            .unwrap_or(BUCKETS.len());
        self.buckets[i].fetch_add(1, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
        let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        self.sum_ns.fetch_add(ns, Ordering::Relaxed);
    }

    fn render(&self, out: &mut String, name: &str, labels: &str) -> fmt::Result {
        let sep = if labels.is_empty() { "" } else { "," };
        let mut cumulative = 0;
        for (i, b) in BUCKETS.iter().enumerate() {
            cumulative += self.buckets[i].load(Ordering::Relaxed);
            writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{b}\"}} {cumulative}")?;
        }
        cumulative += self.buckets[BUCKETS.len()].load(Ordering::Relaxed);
        writeln!(
            out,
            "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {cumulative}"
        )?;
        let braces = if labels.is_empty() {
            String::new()
        } else {
            format!("{{{labels}}}")
        };
        let sum = self.sum_ns.load(Ordering::Relaxed) as f64 / 1e9;
        writeln!(out, "{name}_sum{braces} {sum}")?;
        writeln!(out, "{name}_count{braces} {cumulative}")
    }
}

/// The counters of one `sipkit serve` process, shared by its workers
/// (`Arc<Metrics>`). Every update is one relaxed atomic add or store.
#[derive(Debug)]
pub struct Metrics {
    requests: [AtomicU64; METHODS.len() + 1],
    /// Index `code - 100` for codes 100..=699.
    responses: Box<[AtomicU64]>,
    malformed: AtomicU64,
    /// Open transactions, one gauge per worker.
    transactions: Box<[AtomicU64]>,
    lag: Histogram,
    store_latency: [Histogram; StoreOp::ALL.len()],
    store_errors: [AtomicU64; StoreOp::ALL.len()],
}

/// What is read at scrape time rather than counted: the location service's
/// live bindings (or why they could not be read) and the authentication
/// counters.
#[derive(Debug, Clone, Default)]
pub struct Scrape {
    /// The store's counts, or its error (the store is then down).
    pub store: Option<std::result::Result<Counts, String>>,
    /// Authentication counters, when authentication is on.
    pub auth: Option<AuthStats>,
}

/// Authentication counters since start, and bans in force.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AuthStats {
    /// Challenges sent (401/407).
    pub challenges: u64,
    /// Requests whose credentials were accepted.
    pub ok: u64,
    /// Requests whose credentials were refused.
    pub fail: u64,
    /// Bans made (by the failure threshold).
    pub bans_added: u64,
    /// Bans in force at the scrape.
    pub bans_active: u64,
}

impl Metrics {
    /// Counters for `workers` workers, all zero.
    pub fn new(workers: usize) -> Metrics {
        Metrics {
            requests: Default::default(),
            responses: (100..700).map(|_| AtomicU64::new(0)).collect(),
            malformed: AtomicU64::new(0),
            transactions: (0..workers.max(1)).map(|_| AtomicU64::new(0)).collect(),
            lag: Histogram::default(),
            store_latency: Default::default(),
            store_errors: Default::default(),
        }
    }

    /// One new request (a server transaction) with this method.
    pub fn request(&self, method: &str) {
        let i = METHODS
            .iter()
            .position(|m| *m == method)
            .unwrap_or(METHODS.len());
        self.requests[i].fetch_add(1, Ordering::Relaxed);
    }

    /// One response sent with this status code (100..=699; others ignored).
    pub fn response(&self, code: u16) {
        if let Some(c) = usize::from(code)
            .checked_sub(100)
            .and_then(|i| self.responses.get(i))
        {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// One message that did not parse.
    pub fn malformed(&self) {
        self.malformed.fetch_add(1, Ordering::Relaxed);
    }

    /// Worker `worker` holds `n` live transactions.
    pub fn set_transactions(&self, worker: usize, n: usize) {
        if let Some(g) = self.transactions.get(worker) {
            g.store(n as u64, Ordering::Relaxed);
        }
    }

    /// A worker served a due timer this late.
    pub fn loop_lag(&self, late: Duration) {
        self.lag.observe(late);
    }

    /// One location service operation took `took`, and failed or not.
    pub fn store_op(&self, op: StoreOp, took: Duration, failed: bool) {
        let i = op as usize;
        self.store_latency[i].observe(took);
        if failed {
            self.store_errors[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The requests counted for `method` (`"other"` for the rest).
    pub fn requests(&self, method: &str) -> u64 {
        let i = METHODS
            .iter()
            .position(|m| *m == method)
            .unwrap_or(METHODS.len());
        self.requests[i].load(Ordering::Relaxed)
    }

    /// The responses counted with `code`.
    pub fn responses(&self, code: u16) -> u64 {
        usize::from(code)
            .checked_sub(100)
            .and_then(|i| self.responses.get(i))
            .map_or(0, |c| c.load(Ordering::Relaxed))
    }

    /// Everything in the Prometheus text exposition format (version 0.0.4).
    pub fn render(&self, scrape: &Scrape) -> String {
        let mut out = String::with_capacity(8192);
        // Writing to a String cannot fail.
        let _ = self.write(&mut out, scrape);
        out
    }

    fn write(&self, out: &mut String, scrape: &Scrape) -> fmt::Result {
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        head(
            out,
            "sipkit_requests_total",
            "counter",
            "New requests received (server transactions), by method.",
        )?;
        for (i, m) in METHODS.iter().chain(["other"].iter()).enumerate() {
            writeln!(
                out,
                "sipkit_requests_total{{method=\"{m}\"}} {}",
                load(&self.requests[i])
            )?;
        }
        head(
            out,
            "sipkit_responses_total",
            "counter",
            "Responses sent, by status code (codes never sent are absent).",
        )?;
        for (i, c) in self.responses.iter().enumerate() {
            let n = load(c);
            if n > 0 {
                writeln!(out, "sipkit_responses_total{{code=\"{}\"}} {n}", i + 100)?;
            }
        }
        head(
            out,
            "sipkit_malformed_total",
            "counter",
            "Messages that did not parse (answered 400 and the like when they were requests).",
        )?;
        writeln!(out, "sipkit_malformed_total {}", load(&self.malformed))?;
        head(
            out,
            "sipkit_transactions_open",
            "gauge",
            "Live SIP transactions, by worker.",
        )?;
        for (w, g) in self.transactions.iter().enumerate() {
            writeln!(
                out,
                "sipkit_transactions_open{{worker=\"{w}\"}} {}",
                load(g)
            )?;
        }
        head(
            out,
            "sipkit_workers",
            "gauge",
            "Worker threads serving SIP.",
        )?;
        writeln!(out, "sipkit_workers {}", self.transactions.len())?;
        head(
            out,
            "sipkit_worker_loop_lag_seconds",
            "histogram",
            "How late a worker's loop served a due timer (a busy loop delays retransmissions).",
        )?;
        self.lag.render(out, "sipkit_worker_loop_lag_seconds", "")?;
        head(
            out,
            "sipkit_store_latency_seconds",
            "histogram",
            "Location service operation latency, by operation.",
        )?;
        for op in StoreOp::ALL {
            self.store_latency[op as usize].render(
                out,
                "sipkit_store_latency_seconds",
                &format!("op=\"{}\"", op.label()),
            )?;
        }
        head(
            out,
            "sipkit_store_errors_total",
            "counter",
            "Location service operations that failed, by operation.",
        )?;
        for op in StoreOp::ALL {
            writeln!(
                out,
                "sipkit_store_errors_total{{op=\"{}\"}} {}",
                op.label(),
                load(&self.store_errors[op as usize])
            )?;
        }
        if let Some(store) = &scrape.store {
            head(
                out,
                "sipkit_store_up",
                "gauge",
                "1 when the location service answered the scrape, else 0.",
            )?;
            writeln!(out, "sipkit_store_up {}", u8::from(store.is_ok()))?;
            if let Ok(counts) = store {
                head(
                    out,
                    "sipkit_bindings_live",
                    "gauge",
                    "Bindings not yet expired in the location service.",
                )?;
                writeln!(out, "sipkit_bindings_live {}", counts.bindings)?;
                head(
                    out,
                    "sipkit_aors_live",
                    "gauge",
                    "Addresses-of-record with at least one live binding.",
                )?;
                writeln!(out, "sipkit_aors_live {}", counts.aors)?;
            }
        }
        if let Some(a) = &scrape.auth {
            let counters = [
                (
                    "sipkit_auth_challenges_total",
                    "Digest challenges sent (401/407).",
                    a.challenges,
                ),
                (
                    "sipkit_auth_ok_total",
                    "Requests whose digest credentials were accepted.",
                    a.ok,
                ),
                (
                    "sipkit_auth_failures_total",
                    "Requests whose digest credentials were refused.",
                    a.fail,
                ),
                (
                    "sipkit_bans_added_total",
                    "Bans made by the failure thresholds.",
                    a.bans_added,
                ),
            ];
            for (name, help, v) in counters {
                head(out, name, "counter", help)?;
                writeln!(out, "{name} {v}")?;
            }
            head(out, "sipkit_bans_active", "gauge", "Bans in force.")?;
            writeln!(out, "sipkit_bans_active {}", a.bans_active)?;
        }
        Ok(())
    }
}

fn head(out: &mut String, name: &str, kind: &str, help: &str) -> fmt::Result {
    writeln!(out, "# HELP {name} {help}")?;
    writeln!(out, "# TYPE {name} {kind}")
}

/// A location service that times every operation into [`Metrics`] and
/// counts its failures; otherwise the store it wraps.
#[derive(Debug)]
pub struct MeteredStore {
    inner: Arc<dyn LocationService>,
    metrics: Arc<Metrics>,
}

impl MeteredStore {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn LocationService>, metrics: Arc<Metrics>) -> MeteredStore {
        MeteredStore { inner, metrics }
    }

    fn timed<T>(&self, op: StoreOp, f: impl FnOnce() -> Result<T>) -> Result<T> {
        // Latency for the metrics only: no decision reads this clock.
        #[allow(clippy::disallowed_methods)]
        let start = std::time::Instant::now();
        let r = f();
        self.metrics.store_op(op, start.elapsed(), r.is_err());
        r
    }
}

impl LocationService for MeteredStore {
    fn lookup(&self, aor: &str, now: UnixMs) -> Result<Vec<Binding>> {
        self.timed(StoreOp::Lookup, || self.inner.lookup(aor, now))
    }

    fn lookup_replies(&self, aor: &str, now: UnixMs) -> Result<Vec<crate::ContactReply>> {
        self.timed(StoreOp::Lookup, || self.inner.lookup_replies(aor, now))
    }

    fn begin_batch(&self) -> Result<()> {
        self.timed(StoreOp::Other, || self.inner.begin_batch())
    }

    fn end_batch(&self) -> Result<()> {
        self.timed(StoreOp::Commit, || self.inner.end_batch())
    }

    fn update(
        &self,
        aor: &str,
        now: UnixMs,
        decide: &mut dyn FnMut(&[Binding]) -> Plan,
    ) -> Result<Vec<Binding>> {
        self.timed(StoreOp::Update, || self.inner.update(aor, now, decide))
    }

    fn remove_all(&self, aor: &str) -> Result<usize> {
        self.timed(StoreOp::Other, || self.inner.remove_all(aor))
    }

    fn purge_expired(&self, now: UnixMs) -> Result<usize> {
        self.timed(StoreOp::Other, || self.inner.purge_expired(now))
    }

    fn purge_step(&self, now: UnixMs, budget: usize) -> Result<crate::store::PurgeProgress> {
        self.timed(StoreOp::Other, || self.inner.purge_step(now, budget))
    }

    fn count(&self, now: UnixMs) -> Result<Counts> {
        self.timed(StoreOp::Other, || self.inner.count(now))
    }

    fn is_known(&self, aor: &str) -> Result<bool> {
        self.timed(StoreOp::Lookup, || self.inner.is_known(aor))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemoryStore;

    #[test]
    fn counts_and_renders_every_family() {
        let m = Metrics::new(2);
        m.request("REGISTER");
        m.request("REGISTER");
        m.request("FOO");
        m.response(200);
        m.response(99);
        m.response(700);
        m.set_transactions(1, 5);
        m.loop_lag(Duration::from_millis(3));
        let text = m.render(&Scrape {
            store: Some(Ok(Counts {
                bindings: 3,
                aors: 2,
            })),
            auth: Some(AuthStats {
                challenges: 4,
                ..AuthStats::default()
            }),
        });
        assert!(text.contains("sipkit_requests_total{method=\"REGISTER\"} 2\n"));
        assert!(text.contains("sipkit_requests_total{method=\"other\"} 1\n"));
        assert!(text.contains("sipkit_requests_total{method=\"INVITE\"} 0\n"));
        assert!(text.contains("sipkit_responses_total{code=\"200\"} 1\n"));
        assert_eq!(text.matches("sipkit_responses_total{").count(), 1);
        assert!(text.contains("sipkit_transactions_open{worker=\"1\"} 5\n"));
        assert!(text.contains("sipkit_workers 2\n"));
        assert!(text.contains("sipkit_worker_loop_lag_seconds_bucket{le=\"0.0025\"} 0\n"));
        assert!(text.contains("sipkit_worker_loop_lag_seconds_bucket{le=\"0.005\"} 1\n"));
        assert!(text.contains("sipkit_worker_loop_lag_seconds_count 1\n"));
        assert!(text.contains("sipkit_bindings_live 3\n"));
        assert!(text.contains("sipkit_store_up 1\n"));
        assert!(text.contains("sipkit_auth_challenges_total 4\n"));
        // Every sample's family is declared once.
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let name = line.split(['{', ' ']).next().unwrap();
            let family = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|s| name.strip_suffix(s))
                .filter(|f| text.contains(&format!("# TYPE {f} histogram")))
                .unwrap_or(name);
            assert_eq!(
                text.matches(&format!("# TYPE {family} ")).count(),
                1,
                "{line}"
            );
        }
    }

    #[test]
    fn a_down_store_is_reported() {
        let m = Metrics::new(1);
        let text = m.render(&Scrape {
            store: Some(Err("disk I/O error".into())),
            auth: None,
        });
        assert!(text.contains("sipkit_store_up 0\n"));
        assert!(!text.contains("sipkit_bindings_live"));
        assert!(!text.contains("sipkit_auth_"));
    }

    #[test]
    fn the_metered_store_times_each_operation() {
        let m = Arc::new(Metrics::new(1));
        let store = MeteredStore::new(Arc::new(MemoryStore::new()), m.clone());
        let now = UnixMs::from_millis(1_000);
        store.lookup("sip:a@b", now).unwrap();
        store.is_known("sip:a@b").unwrap();
        store.end_batch().unwrap();
        let text = m.render(&Scrape::default());
        assert!(text.contains("sipkit_store_latency_seconds_count{op=\"lookup\"} 2\n"));
        assert!(text.contains("sipkit_store_latency_seconds_count{op=\"commit\"} 1\n"));
        assert!(text.contains("sipkit_store_latency_seconds_count{op=\"update\"} 0\n"));
        assert!(text.contains("sipkit_store_errors_total{op=\"lookup\"} 0\n"));
    }
}
