//! The `[export]` configuration section.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::TlsConfig;

/// An `[export]` value that cannot work.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("[export] {key} = {value}: {expected}")]
pub struct ExportConfigError {
    pub key: &'static str,
    pub value: String,
    pub expected: &'static str,
}

/// Frames up to this size are sent without taking from `ws_buffer_budget_bytes`: a
/// wallboard's deltas always go out, and they bound memory by clients x this.
pub const SMALL_FRAME_BYTES: usize = 64 * 1024;

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
    /// Frames larger than [`SMALL_FRAME_BYTES`] in flight to all clients together may hold
    /// at most this many bytes; a client whose large frame does not fit skips the tick (its
    /// next frame is a delta from its last one) rather than grow memory. Clients that never
    /// read hold their share until the send timeout drops them.
    pub ws_buffer_budget_bytes: usize,
    /// Largest frame accepted from a client (bytes): v2 subscriptions, pings and closes.
    pub ws_max_message_bytes: usize,
    /// A v2 client that has had no frame for this long (ms) gets a heartbeat, so it can
    /// tell a quiet feed from a dead connection (and the server finds dead clients).
    pub ws_heartbeat_ms: u64,
    /// Whole-request timeout for plain HTTP endpoints (ms).
    pub request_timeout_ms: u64,
    /// A client must send its request's headers within this time (ms), on a new connection
    /// and between requests on a kept-alive one; slower clients are disconnected.
    pub header_read_timeout_ms: u64,
    /// Most HTTP connections (WebSocket clients included) open at once; a new one past it is
    /// closed at once (`callpulse_http_connections_refused_total`).
    pub max_connections: usize,
    /// Queues, and teams, the configuration does not name that get series on `/metrics`
    /// (about 150 per queue, 20 per team): the first ones seen, for as long as they last.
    /// Configured ones always do; the API and the feed show all. 0: configured ones only.
    pub max_unconfigured_labels: usize,
    /// HTTPS (`[export.tls]`).
    pub tls: TlsConfig,
}

impl Default for ExportConfig {
    fn default() -> Self {
        ExportConfig {
            listen: "127.0.0.1:7710".to_owned(),
            ws_max_clients: 256,
            ws_send_timeout_ms: 5_000,
            ws_max_write_buffer_bytes: 8 * 1024 * 1024,
            ws_buffer_budget_bytes: 128 * 1024 * 1024,
            ws_max_message_bytes: 64 * 1024,
            ws_heartbeat_ms: 5_000,
            request_timeout_ms: 10_000,
            header_read_timeout_ms: 10_000,
            max_connections: 1_024,
            max_unconfigured_labels: 50,
            tls: TlsConfig::default(),
        }
    }
}

impl ExportConfig {
    /// Checks the values the server relies on.
    ///
    /// # Errors
    /// The first value out of range, with the key and what is expected.
    pub fn validate(&self) -> Result<(), ExportConfigError> {
        let fail = |key, value: &dyn ToString, expected| {
            Err(ExportConfigError {
                key,
                value: value.to_string(),
                expected,
            })
        };
        if self.ws_max_clients == 0 {
            return fail("ws_max_clients", &0, "must be at least 1");
        }
        if self.ws_send_timeout_ms == 0 {
            return fail("ws_send_timeout_ms", &0, "must be at least 1");
        }
        if self.ws_heartbeat_ms < 100 {
            return fail(
                "ws_heartbeat_ms",
                &self.ws_heartbeat_ms,
                "must be at least 100 (a heartbeat is a frame)",
            );
        }
        if self.ws_max_write_buffer_bytes < 64 * 1024 {
            return fail(
                "ws_max_write_buffer_bytes",
                &self.ws_max_write_buffer_bytes,
                "must be at least 65536 (one snapshot frame must fit)",
            );
        }
        if self.ws_buffer_budget_bytes < self.ws_max_write_buffer_bytes {
            return fail(
                "ws_buffer_budget_bytes",
                &self.ws_buffer_budget_bytes,
                "must be at least ws_max_write_buffer_bytes (the largest frame must fit)",
            );
        }
        if self.ws_max_message_bytes < 1024 {
            return fail(
                "ws_max_message_bytes",
                &self.ws_max_message_bytes,
                "must be at least 1024 (a subscription must fit)",
            );
        }
        if self.request_timeout_ms == 0 {
            return fail("request_timeout_ms", &0, "must be at least 1");
        }
        if self.header_read_timeout_ms == 0 {
            return fail("header_read_timeout_ms", &0, "must be at least 1");
        }
        if self.max_connections <= self.ws_max_clients {
            return fail(
                "max_connections",
                &self.max_connections,
                "must exceed ws_max_clients (scrapes and API calls need connections too)",
            );
        }
        let tls = &self.tls;
        if tls.enabled() && (tls.cert_file.is_empty() || tls.key_file.is_empty()) {
            return fail(
                "tls.cert_file",
                &tls.cert_file,
                "TLS needs both tls.cert_file and tls.key_file",
            );
        }
        if tls.reload_secs == 0 {
            return fail("tls.reload_secs", &0, "must be at least 1");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_pass_and_a_zero_heartbeat_is_named() {
        ExportConfig::default().validate().expect("defaults");
        let config = ExportConfig {
            ws_heartbeat_ms: 0,
            ..ExportConfig::default()
        };
        let error = config.validate().expect_err("0 ms heartbeat");
        assert!(
            error
                .to_string()
                .starts_with("[export] ws_heartbeat_ms = 0"),
            "{error}"
        );
    }
}
