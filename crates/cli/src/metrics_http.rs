//! `sipkit serve --metrics IP:PORT`: Prometheus metrics on `/metrics` (text
//! exposition format 0.0.4) and a location service check on `/health`,
//! over a small axum server on the main thread's runtime (the SIP workers
//! run on threads of their own).

use std::sync::Arc;

use axum::extract::State as Extract;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use sipkit_server::auth::Guard;
use sipkit_server::metrics::{Metrics, Scrape};
use sipkit_server::{LocationService, UnixMs};
use tokio::net::TcpListener;

/// What the handlers read.
pub struct State {
    /// The workers' counters.
    pub metrics: Arc<Metrics>,
    /// The location service, for live bindings and the health check.
    pub store: Arc<dyn LocationService>,
    /// The authentication guard, for its counters and bans.
    pub auth: Option<Arc<Guard>>,
}

/// Serves `/metrics` and `/health` on `listener` until the process ends.
pub async fn serve(listener: TcpListener, state: Arc<State>) {
    let app = Router::new()
        .route("/metrics", get(metrics))
        .route("/health", get(health))
        .with_state(state);
    if let Err(e) = axum::serve(listener, app).await {
        tracing::warn!(error = %e, "the metrics server stopped");
    }
}

fn now() -> UnixMs {
    UnixMs::from_system_time(std::time::SystemTime::now())
}

async fn metrics(Extract(state): Extract<Arc<State>>) -> Response {
    let now = now();
    let scrape = Scrape {
        store: Some(state.store.count(now).map_err(|e| e.to_string())),
        auth: state.auth.as_ref().map(|g| g.stats(now)),
    };
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(&scrape),
    )
        .into_response()
}

/// 200 `ok` when the location service answers a read, else 503 with its
/// error.
async fn health(Extract(state): Extract<Arc<State>>) -> Response {
    match state.store.is_known("sip:health-check@sipkit.invalid") {
        Ok(_) => (StatusCode::OK, "ok\n").into_response(),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("location service: {e}\n"),
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sipkit_server::{Binding, Counts, Error, Plan, Result};

    /// A location service whose every operation fails, as a store whose
    /// disk or server went away does.
    #[derive(Debug)]
    struct Down;

    fn down<T>() -> Result<T> {
        Err(Error::Io {
            path: "reg.db".into(),
            source: std::io::Error::other("disk I/O error"),
        })
    }

    impl LocationService for Down {
        fn lookup(&self, _: &str, _: UnixMs) -> Result<Vec<Binding>> {
            down()
        }
        fn update(
            &self,
            _: &str,
            _: UnixMs,
            _: &mut dyn FnMut(&[Binding]) -> Plan,
        ) -> Result<Vec<Binding>> {
            down()
        }
        fn remove_all(&self, _: &str) -> Result<usize> {
            down()
        }
        fn purge_expired(&self, _: UnixMs) -> Result<usize> {
            down()
        }
        fn count(&self, _: UnixMs) -> Result<Counts> {
            down()
        }
        fn is_known(&self, _: &str) -> Result<bool> {
            down()
        }
    }

    async fn get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(
            format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await
        .unwrap();
        let mut text = String::new();
        s.read_to_string(&mut text).await.unwrap();
        let code = text[9..12].parse().unwrap();
        let body = text.split_once("\r\n\r\n").unwrap().1.to_owned();
        (code, body)
    }

    async fn start(store: Arc<dyn LocationService>) -> std::net::SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(State {
            metrics: Arc::new(Metrics::new(1)),
            store,
            auth: None,
        });
        tokio::spawn(serve(listener, state));
        addr
    }

    #[tokio::test]
    async fn health_is_503_with_the_error_when_the_store_is_down() {
        let addr = start(Arc::new(Down)).await;
        let (code, body) =
            tokio::time::timeout(std::time::Duration::from_secs(10), get(addr, "/health"))
                .await
                .unwrap();
        assert_eq!(code, 503);
        assert!(
            body.starts_with("location service: reading reg.db: disk I/O error"),
            "{body}"
        );
        let (code, body) = get(addr, "/metrics").await;
        assert_eq!(code, 200);
        assert!(body.contains("\nsipkit_store_up 0\n"), "{body}");
        assert!(!body.contains("sipkit_bindings_live"), "{body}");
    }

    #[tokio::test]
    async fn health_is_ok_when_the_store_answers() {
        let addr = start(Arc::new(sipkit_server::MemoryStore::new())).await;
        let (code, body) = get(addr, "/health").await;
        assert_eq!((code, body.as_str()), (200, "ok\n"));
        let (_, body) = get(addr, "/metrics").await;
        assert!(body.contains("\nsipkit_store_up 1\n"), "{body}");
        assert!(body.contains("\nsipkit_bindings_live 0\n"), "{body}");
    }
}
