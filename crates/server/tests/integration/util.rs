//! Shared helpers: temp dirs, builders, a store that always fails.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use sipkit_server::{
    Binding, ContactEntry, Counts, Error, LocationService, Plan, RegisterContact, RegisterRequest,
    Result, TransportAddr, UnixMs, Q,
};

pub use crate::redis_server::{free_port, RedisCluster, RedisServer};

/// A fixed "now" for tests: 2023-11-14T22:13:20Z.
pub const T0: UnixMs = UnixMs(1_700_000_000_000);

/// A directory under the system temp dir, unique to this process and call,
/// removed with everything in it when dropped.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("sipkit-server-{tag}-{}-{n}", std::process::id()));
        // A leftover from a killed earlier run with the same pid is stale.
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("the temp dir is writable");
        Self(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn src() -> TransportAddr {
    "udp:192.0.2.10:5060".parse().unwrap()
}

pub fn q(thousandths: u16) -> Q {
    Q::new(thousandths).unwrap()
}

/// A binding of `contact` expiring `secs` after `now`, written at `now`.
pub fn binding(contact: &str, now: UnixMs, secs: u32) -> Binding {
    Binding {
        contact: contact.to_owned(),
        q: Q::default(),
        expires_at: now.plus_secs(secs),
        updated_at: now,
        call_id: "call-1".into(),
        cseq: 1,
        source: src(),
        instance: None,
        reg_id: None,
        path: Vec::new(),
        user_agent: None,
        node: None,
        connection: None,
    }
}

/// A REGISTER for `aor` with Call-ID `call_id` and CSeq `cseq`.
pub fn reg(
    aor: &str,
    call_id: &str,
    cseq: u32,
    contacts: Vec<RegisterContact>,
    expires: Option<u32>,
) -> RegisterRequest {
    RegisterRequest::new(aor, call_id, cseq, contacts, expires, src())
}

pub fn c(uri: &str) -> RegisterContact {
    RegisterContact::Uri(ContactEntry::new(uri))
}

pub fn ce(entry: ContactEntry) -> RegisterContact {
    RegisterContact::Uri(entry)
}

/// A store whose every operation fails, as a full disk would.
#[derive(Debug)]
pub struct FailingStore;

fn fail<T>() -> Result<T> {
    Err(Error::Corrupt {
        what: "test",
        value: "this store always fails".into(),
    })
}

impl LocationService for FailingStore {
    fn lookup(&self, _: &str, _: UnixMs) -> Result<Vec<Binding>> {
        fail()
    }
    fn update(
        &self,
        _: &str,
        _: UnixMs,
        _: &mut dyn FnMut(&[Binding]) -> Plan,
    ) -> Result<Vec<Binding>> {
        fail()
    }
    fn remove_all(&self, _: &str) -> Result<usize> {
        fail()
    }
    fn purge_expired(&self, _: UnixMs) -> Result<usize> {
        fail()
    }
    fn count(&self, _: UnixMs) -> Result<Counts> {
        fail()
    }
    fn is_known(&self, _: &str) -> Result<bool> {
        fail()
    }
}
