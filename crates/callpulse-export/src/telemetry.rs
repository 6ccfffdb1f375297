//! The exporter's own metrics.

use prometheus::{IntCounter, IntCounterVec, IntGauge, Opts, Registry};

/// Handles to the WebSocket metrics.
#[derive(Debug, Clone)]
pub struct ExportTelemetry {
    /// WebSocket clients connected now.
    pub ws_clients: IntGauge,
    /// Frames sent to WebSocket clients.
    pub ws_frames: IntCounter,
    /// Clients disconnected by the server, by reason (slow, send_error, too_many, too_large).
    pub ws_dropped: IntCounterVec,
    /// v2 client messages the server could not act on (answered with an `error` frame).
    pub ws_refused: IntCounter,
    /// Large frames not sent because `ws_buffer_budget_bytes` was in use (the client got a
    /// later frame instead).
    pub ws_deferred: IntCounter,
    /// HTTP connections closed at once because `export.max_connections` were open.
    pub http_refused: IntCounter,
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
        let http_refused = IntCounter::new(
            "callpulse_http_connections_refused_total",
            "HTTP connections closed at once because export.max_connections were open.",
        )?;
        registry.register(Box::new(http_refused.clone()))?;
        registry.register(Box::new(ws_clients.clone()))?;
        registry.register(Box::new(ws_frames.clone()))?;
        registry.register(Box::new(ws_dropped.clone()))?;
        for reason in ["slow", "send_error", "too_many", "too_large"] {
            ws_dropped.with_label_values(&[reason]);
        }
        Ok(ExportTelemetry {
            ws_clients,
            ws_frames,
            ws_dropped,
            ws_refused,
            ws_deferred,
            http_refused,
        })
    }
}
