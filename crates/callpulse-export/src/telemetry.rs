//! The exporter's own metrics.

use prometheus::{IntCounter, IntCounterVec, IntGauge, Opts, Registry};

/// Handles to the WebSocket metrics.
#[derive(Debug, Clone)]
pub struct ExportTelemetry {
    /// WebSocket clients connected now.
    pub ws_clients: IntGauge,
    /// Frames sent to WebSocket clients.
    pub ws_frames: IntCounter,
    /// Clients disconnected by the server, by reason (slow, send_error, too_many, too_large,
    /// unauthorized: a subscription outside the role's scope, an expired or revoked credential).
    pub ws_dropped: IntCounterVec,
    /// v2 client messages the server could not act on (answered with an `error` frame).
    pub ws_refused: IntCounter,
    /// Large frames not sent because `ws_buffer_budget_bytes` was in use (the client got a
    /// later frame instead).
    pub ws_deferred: IntCounter,
    /// HTTP connections closed at once, by reason: `export.max_connections` open
    /// (`max_connections`) or `auth.max_connections_per_client` from one address (`per_client`).
    pub http_refused: IntCounterVec,
    /// Requests refused by authentication, by reason (missing, invalid, expired, forbidden,
    /// rate_limited).
    pub auth_refused: IntCounterVec,
    /// Authenticated requests and WebSocket sessions let through, by role.
    pub auth_allowed: IntCounterVec,
    /// TLS certificate reloads, by outcome (ok, failed).
    pub tls_reloads: IntCounterVec,
}

impl ExportTelemetry {
    /// Creates and registers the exporter metrics.
    ///
    /// # Errors
    /// A registration conflict in `registry`.
    pub fn register(registry: &Registry) -> Result<Self, prometheus::Error> {
        let ws_clients = IntGauge::new("callpulse_ws_clients", "WebSocket clients connected now.")?;
        let ws_frames = IntCounter::new(
            "callpulse_ws_frames_sent_total",
            "Frames sent to WebSocket clients.",
        )?;
        let ws_dropped = IntCounterVec::new(
            Opts::new(
                "callpulse_ws_dropped_total",
                "WebSocket clients disconnected by the server, by reason.",
            ),
            &["reason"],
        )?;
        let ws_refused = IntCounter::new(
            "callpulse_ws_messages_refused_total",
            "WebSocket client messages refused (malformed, unknown type, bad subscription).",
        )?;
        registry.register(Box::new(ws_refused.clone()))?;
        let ws_deferred = IntCounter::new(
            "callpulse_ws_frames_deferred_total",
            "Large WebSocket frames skipped because the shared buffer budget was in use; the client gets a later frame.",
        )?;
        registry.register(Box::new(ws_deferred.clone()))?;
        let http_refused = IntCounterVec::new(
            Opts::new(
                "callpulse_http_connections_refused_total",
                "HTTP connections closed at once: export.max_connections open, or auth.max_connections_per_client from one address.",
            ),
            &["reason"],
        )?;
        registry.register(Box::new(http_refused.clone()))?;
        for reason in ["max_connections", "per_client"] {
            http_refused.with_label_values(&[reason]);
        }
        let auth_refused = IntCounterVec::new(
            Opts::new(
                "callpulse_http_requests_refused_total",
                "HTTP requests and WebSocket upgrades refused by authentication, by reason.",
            ),
            &["reason"],
        )?;
        registry.register(Box::new(auth_refused.clone()))?;
        for reason in ["missing", "invalid", "expired", "forbidden", "rate_limited"] {
            auth_refused.with_label_values(&[reason]);
        }
        let auth_allowed = IntCounterVec::new(
            Opts::new(
                "callpulse_http_requests_authenticated_total",
                "Authenticated HTTP requests and WebSocket upgrades let through, by role.",
            ),
            &["role"],
        )?;
        registry.register(Box::new(auth_allowed.clone()))?;
        // Every role from zero: a series born at its first request hides that request from
        // `increase()`, and the series exist (at 0) when auth is off.
        for role in crate::auth::Role::ALL {
            auth_allowed.with_label_values(&[role.as_str()]);
        }
        let tls_reloads = IntCounterVec::new(
            Opts::new(
                "callpulse_tls_reloads_total",
                "TLS certificate reloads after its files changed, by outcome (failed: the previous certificate stays).",
            ),
            &["outcome"],
        )?;
        registry.register(Box::new(tls_reloads.clone()))?;
        for outcome in ["ok", "failed"] {
            tls_reloads.with_label_values(&[outcome]);
        }
        registry.register(Box::new(ws_clients.clone()))?;
        registry.register(Box::new(ws_frames.clone()))?;
        registry.register(Box::new(ws_dropped.clone()))?;
        for reason in [
            "slow",
            "send_error",
            "too_many",
            "too_large",
            "unauthorized",
        ] {
            ws_dropped.with_label_values(&[reason]);
        }
        Ok(ExportTelemetry {
            ws_clients,
            ws_frames,
            ws_dropped,
            ws_refused,
            ws_deferred,
            http_refused,
            auth_refused,
            auth_allowed,
            tls_reloads,
        })
    }
}
