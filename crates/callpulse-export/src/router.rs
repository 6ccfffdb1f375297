//! The HTTP surface: routes, limits and the server loop.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use prometheus::Registry;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tower_http::timeout::TimeoutLayer;

use crate::{ApiError, ExportConfig, ExportTelemetry, Latest, api, wallboard, ws};

/// What every handler can read. Cheap to clone.
#[derive(Debug, Clone)]
pub struct ExportState {
    /// The latest published snapshot; the publisher swaps it in.
    pub latest: Arc<Latest>,
    /// Engine telemetry and the snapshot collector, gathered by `/metrics`.
    pub registry: Registry,
    /// True once ingest has its first partition assignment (`/readyz`).
    pub ready: Arc<AtomicBool>,
    pub config: ExportConfig,
    pub telemetry: ExportTelemetry,
    /// Cancelled at shutdown: WebSocket clients get a close frame.
    pub shutdown: CancellationToken,
    /// One permit per WebSocket client (`ws_max_clients`).
    pub ws_slots: Arc<Semaphore>,
    /// One permit per byte of large frames in flight (`ws_buffer_budget_bytes`).
    pub ws_budget: Arc<Semaphore>,
}

impl ExportState {
    /// State for `config`, reading `latest`.
    pub fn new(
        config: ExportConfig,
        latest: Arc<Latest>,
        registry: Registry,
        telemetry: ExportTelemetry,
        ready: Arc<AtomicBool>,
        shutdown: CancellationToken,
    ) -> ExportState {
        let ws_slots = Arc::new(Semaphore::new(config.ws_max_clients));
        let ws_budget = Arc::new(Semaphore::new(
            config.ws_buffer_budget_bytes.min(Semaphore::MAX_PERMITS),
        ));
        ExportState {
            latest,
            registry,
            ready,
            config,
            telemetry,
            shutdown,
            ws_slots,
            ws_budget,
        }
    }
}

/// Every route. Plain HTTP requests are bounded by `request_timeout_ms`; an upgraded
/// WebSocket lives outside that bound and has its own per-frame send timeout.
pub fn router(state: ExportState) -> Router {
    let timeout = Duration::from_millis(state.config.request_timeout_ms);
    let http = Router::new()
        .route("/", get(wallboard::page))
        .route("/metrics", get(api::metrics))
        .route("/api/v1/snapshot", get(api::snapshot))
        .route("/api/v1/queues/{queue}", get(api::queue))
        .route("/api/v1/engine", get(api::engine))
        .route("/healthz", get(api::healthz))
        .route("/readyz", get(api::readyz))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            timeout,
        ));
    Router::new()
        .route("/ws", get(ws::upgrade))
        .merge(http)
        .fallback(|| async { ApiError::NotFound("route".to_owned()) })
        .with_state(state)
}

/// Serves `router(state)` on `listener` until `shutdown` is cancelled, then finishes the
/// requests in flight.
///
/// # Errors
/// An I/O error from the listener.
pub async fn serve(listener: TcpListener, state: ExportState) -> std::io::Result<()> {
    let shutdown = state.shutdown.clone();
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await
}
