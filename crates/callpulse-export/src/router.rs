//! The HTTP surface: routes, limits and the server loop.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, Request};
use axum::http::{HeaderName, Method, StatusCode, header};
use axum::middleware::from_fn_with_state;
use axum::routing::get;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use prometheus::Registry;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tower::Service;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::timeout::TimeoutLayer;
use tracing::{debug, warn};

use crate::auth::guard::{Guarded, guard};
use crate::auth::{Access, Auth};
use crate::tls::Tls;
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
    /// Who may read what ([`ExportState::with_auth`]; open by default).
    pub auth: Arc<Auth>,
    /// HTTPS, when configured ([`ExportState::with_tls`]).
    pub tls: Option<Arc<Tls>>,
    /// The effective configuration, secrets left out: `/api/v1/config` (admin).
    pub settings: Arc<serde_json::Value>,
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
            auth: Auth::off(),
            tls: None,
            settings: Arc::new(serde_json::Value::Null),
        }
    }

    /// Checks credentials with `auth` (the default serves everyone everything).
    #[must_use]
    pub fn with_auth(mut self, auth: Arc<Auth>) -> ExportState {
        self.auth = auth;
        self
    }

    /// Serves HTTPS with `tls`.
    #[must_use]
    pub fn with_tls(mut self, tls: Option<Arc<Tls>>) -> ExportState {
        self.tls = tls;
        self
    }

    /// What `/api/v1/config` shows admins.
    #[must_use]
    pub fn with_settings(mut self, settings: serde_json::Value) -> ExportState {
        self.settings = Arc::new(settings);
        self
    }
}

/// Every route, each group behind the guard of what it needs (the page itself and the
/// health probes are open). Plain HTTP requests are bounded by `request_timeout_ms`; an
/// upgraded WebSocket lives outside that bound and has its own per-frame send timeout.
pub fn router(state: ExportState) -> Router {
    let timeout = Duration::from_millis(state.config.request_timeout_ms);
    let guarded = |access| {
        from_fn_with_state(
            Guarded {
                state: state.clone(),
                access,
            },
            guard,
        )
    };
    let open = Router::new()
        .route("/", get(wallboard::page))
        .route("/healthz", get(api::healthz))
        .route("/readyz", get(api::readyz));
    let read = Router::new()
        .route("/api/v1/snapshot", get(api::snapshot))
        .route("/api/v1/queues/{queue}", get(api::queue))
        .route("/api/v1/center", get(api::center))
        .route("/api/v1/groups/{group}", get(api::group))
        .route("/api/v1/teams/{team}", get(api::team))
        .route("/api/v1/engine", get(api::engine))
        .route("/api/v1/agents/{agent}/scorecard", get(api::scorecard))
        .route_layer(guarded(Access::Read));
    let http = Router::new()
        .merge(open)
        .merge(read)
        .route(
            "/metrics",
            get(api::metrics).route_layer(guarded(Access::Metrics)),
        )
        .route(
            "/api/v1/whoami",
            get(api::whoami).route_layer(guarded(Access::Whoami)),
        )
        .route(
            "/api/v1/config",
            get(api::settings).route_layer(guarded(Access::Admin)),
        )
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            timeout,
        ));
    let origins = &state.auth.config().cors_origins;
    let app = Router::new()
        .route("/ws", get(ws::upgrade).route_layer(guarded(Access::Read)))
        .merge(http)
        .fallback(|| async { ApiError::NotFound("route".to_owned()) });
    let app = if origins.is_empty() {
        app
    } else {
        // Only the configured origins; a browser on any other site is refused by the browser.
        let origins: Vec<_> = origins.iter().filter_map(|o| o.parse().ok()).collect();
        app.layer(
            CorsLayer::new()
                .allow_origin(AllowOrigin::list(origins))
                .allow_methods([Method::GET])
                .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
                .expose_headers([HeaderName::from_static("retry-after")])
                .max_age(Duration::from_secs(600)),
        )
    };
    app.with_state(state)
}

/// Serves `router(state)` on `listener` until `shutdown` is cancelled, then finishes the
/// requests in flight (at most [`DRAIN`]).
///
/// Unlike `axum::serve`, every connection has a header-read timeout (a client that trickles
/// its request headers is cut off, not held forever) and the number of connections is
/// capped (`export.max_connections`; past it a new connection is closed at once and
/// counted).
///
/// # Errors
/// Never: accept errors (out of file descriptors, a reset before accept) are logged and
/// retried after a pause.
pub async fn serve(listener: TcpListener, state: ExportState) -> std::io::Result<()> {
    let shutdown = state.shutdown.clone();
    let app = router(state.clone());
    let header_timeout = Duration::from_millis(state.config.header_read_timeout_ms);
    let connections = Arc::new(Semaphore::new(state.config.max_connections));
    let graceful = GracefulShutdown::new();
    loop {
        let (stream, peer) = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // EMFILE and friends: back off rather than spin.
                    warn!(%error, "accepting an HTTP connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let Ok(permit) = Arc::clone(&connections).try_acquire_owned() else {
            state
                .telemetry
                .http_refused
                .with_label_values(&["max_connections"])
                .inc();
            drop(stream);
            continue;
        };
        let Some(slot) = state.auth.connect(peer.ip()) else {
            state
                .telemetry
                .http_refused
                .with_label_values(&["per_client"])
                .inc();
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let service = service_fn(move |mut request: Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            app.clone().call(request)
        });
        let mut builder = Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(header_timeout)
            .max_buf_size(MAX_HEADER_BYTES);
        let builder = builder.http1_only();
        match state.tls.as_ref().map(|tls| tls.acceptor()) {
            None => {
                let connection = builder
                    .serve_connection_with_upgrades(TokioIo::new(stream), service)
                    .into_owned();
                let connection = graceful.watch(connection);
                tokio::spawn(async move {
                    if let Err(error) = connection.await {
                        debug!(%error, "HTTP connection ended with an error");
                    }
                    drop((permit, slot));
                });
            }
            Some(acceptor) => {
                // The handshake has the header-read timeout: a client that opens a socket and
                // says nothing holds a connection slot no longer than a slow plain client.
                let watcher = graceful.watcher();
                tokio::spawn(async move {
                    let stream =
                        match tokio::time::timeout(header_timeout, acceptor.accept(stream)).await {
                            Ok(Ok(stream)) => stream,
                            Ok(Err(error)) => {
                                debug!(%error, %peer, "TLS handshake failed");
                                return;
                            }
                            Err(_) => {
                                debug!(%peer, "TLS handshake timed out");
                                return;
                            }
                        };
                    let connection = builder
                        .serve_connection_with_upgrades(TokioIo::new(stream), service)
                        .into_owned();
                    if let Err(error) = watcher.watch(connection).await {
                        debug!(%error, "HTTPS connection ended with an error");
                    }
                    drop((permit, slot));
                });
            }
        }
    }
    if tokio::time::timeout(DRAIN, graceful.shutdown())
        .await
        .is_err()
    {
        warn!("HTTP connections still open after the drain period; closing them");
    }
    Ok(())
}

/// How long shutdown waits for requests in flight.
const DRAIN: Duration = Duration::from_secs(10);

/// Largest request head (request line and headers) read from a client.
const MAX_HEADER_BYTES: usize = 64 * 1024;

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use callpulse_core::{MetricsPolicy, Snapshot, Ts};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    use super::*;
    use crate::{Latest, Published};

    async fn server(config: ExportConfig) -> (std::net::SocketAddr, CancellationToken) {
        let registry = Registry::new();
        let telemetry = ExportTelemetry::register(&registry).expect("telemetry");
        let latest = Latest::new(Published::new(Snapshot::empty(
            &MetricsPolicy::default(),
            Ts(0),
        )));
        let shutdown = CancellationToken::new();
        let state = ExportState::new(
            config,
            latest,
            registry,
            telemetry,
            Arc::new(AtomicBool::new(true)),
            shutdown.clone(),
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(serve(listener, state));
        (addr, shutdown)
    }

    /// Reads until the server closes; the bytes read.
    async fn until_closed(stream: &mut TcpStream) -> Vec<u8> {
        let mut out = Vec::new();
        let _ = stream.read_to_end(&mut out).await;
        out
    }

    #[tokio::test]
    async fn a_client_trickling_headers_is_cut_off() {
        let config = ExportConfig {
            header_read_timeout_ms: 300,
            ..ExportConfig::default()
        };
        let (addr, shutdown) = server(config).await;
        let mut slow = TcpStream::connect(addr).await.expect("connect");
        slow.write_all(b"GET /healthz HTTP/1.1\r\n")
            .await
            .expect("write");
        let trickle = async {
            for _ in 0..50 {
                tokio::time::sleep(Duration::from_millis(100)).await;
                if slow.write_all(b"X-Slow: 1\r\n").await.is_err() {
                    return true;
                }
            }
            false
        };
        // Cut off well before the 5 s the trickle would last.
        let cut = tokio::time::timeout(Duration::from_secs(3), trickle).await;
        assert!(matches!(cut, Ok(true)), "still open: {cut:?}");
        // A prompt client is served.
        let mut fine = TcpStream::connect(addr).await.expect("connect");
        fine.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .expect("write");
        let answer = String::from_utf8(until_closed(&mut fine).await).expect("text");
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        shutdown.cancel();
    }

    #[tokio::test]
    async fn connections_past_the_cap_are_closed_and_errors_stay_short() {
        let config = ExportConfig {
            max_connections: 3,
            ws_max_clients: 1,
            ..ExportConfig::default()
        };
        let (addr, shutdown) = server(config).await;
        let mut held = Vec::new();
        for _ in 0..3 {
            held.push(TcpStream::connect(addr).await.expect("connect"));
        }
        let mut extra = TcpStream::connect(addr).await.expect("the kernel accepts");
        let read = tokio::time::timeout(Duration::from_secs(5), until_closed(&mut extra)).await;
        assert_eq!(
            read.ok().map(|b| b.len()),
            Some(0),
            "closed without an answer"
        );
        drop(held);
        // A 10 KB name in the path gets a short answer.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let name = "x".repeat(10_000);
        let mut client = TcpStream::connect(addr).await.expect("connect");
        client
            .write_all(
                format!(
                    "GET /api/v1/queues/{name} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                )
                .as_bytes(),
            )
            .await
            .expect("write");
        let answer = until_closed(&mut client).await;
        let text = String::from_utf8_lossy(&answer);
        assert!(text.starts_with("HTTP/1.1 404"), "{text}");
        assert!(answer.len() < 1_000, "{} bytes back", answer.len());
        shutdown.cancel();
    }
}
