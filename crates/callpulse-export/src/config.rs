//! The `[export]` configuration section.

use serde::{Deserialize, Serialize};

/// How the HTTP server listens and treats its clients.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExportConfig {
    /// Listen address. Loopback by default: expose it deliberately (e.g. `0.0.0.0:7710`).
    /// 7710 stays clear of the 9100-9999 range used by well-known Prometheus exporters.
    pub listen: String,
    /// Most WebSocket clients served at once; further upgrades get 503.
    pub ws_max_clients: usize,
    /// A WebSocket client whose socket does not accept a frame within this time (ms) is
    /// disconnected: a slow wallboard must never hold memory or the engine back.
    pub ws_send_timeout_ms: u64,
    /// Per-client cap on bytes buffered for writing; past it the client is disconnected.
    pub ws_max_write_buffer_bytes: usize,
    /// Largest frame accepted from a client (bytes); clients only send pings and closes.
    pub ws_max_message_bytes: usize,
    /// Whole-request timeout for plain HTTP endpoints (ms).
    pub request_timeout_ms: u64,
    /// Queues, and teams, the configuration does not name that get series on `/metrics`
    /// (about 150 per queue, 20 per team): the first ones seen, for as long as they last.
    /// Configured ones always do; the API and the feed show all. 0: configured ones only.
    pub max_unconfigured_labels: usize,
}

impl Default for ExportConfig {
    fn default() -> Self {
        ExportConfig {
            listen: "127.0.0.1:7710".to_owned(),
            ws_max_clients: 256,
            ws_send_timeout_ms: 5_000,
            ws_max_write_buffer_bytes: 8 * 1024 * 1024,
            ws_max_message_bytes: 4 * 1024,
            request_timeout_ms: 10_000,
            max_unconfigured_labels: 50,
        }
    }
}
