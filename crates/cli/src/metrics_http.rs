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
