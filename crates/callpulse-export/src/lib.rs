//! callpulse export: everything a reader of the engine talks to, over HTTP.
//!
//! Readers only: nothing here can block or slow the core. Every endpoint reads the latest
//! [`Published`] snapshot from [`Latest`] (an `ArcSwap`: lock-free for readers and writer):
//! - `prometheus.rs`: `/metrics`, a `Collector` that turns the snapshot into families at
//!   scrape time (plus the engine telemetry registered in the same registry).
//! - `ws.rs`: `/ws`, the wallboard feed: v1 (the whole snapshot every tick) and v2
//!   (subscriptions, deltas, alert events, heartbeats), with a bounded write buffer and a
//!   send timeout per client.
//! - `feed.rs`: the snapshot cut into pieces once per tick, from which v2 frames are
//!   assembled and shared by every client that asked for the same.
//! - `api.rs`: `/api/v1/snapshot`, `/api/v1/queues/{queue}`, `/healthz`, `/readyz`.
//! - `wallboard.rs`: `/`, the built-in wallboard page.
//! - `router.rs`: [`router`], wiring it all with timeouts and limits.
//! - `config.rs`: the `[export]` configuration section.
//! - `auth.rs`: who may read what (tokens, OIDC, roles, limits, audit); `tls.rs`: HTTPS.

mod api;
pub mod auth;
mod config;
mod error;
mod feed;
mod prometheus;
mod published;
mod router;
mod telemetry;
mod tls;
mod wallboard;
mod ws;

pub use config::{ExportConfig, ExportConfigError};
pub use error::ApiError;
pub use feed::Parts;
pub use prometheus::{LabelCap, SnapshotCollector};
pub use published::{Latest, Published};
pub use router::{ExportState, router, serve};
pub use telemetry::ExportTelemetry;
pub use tls::{Tls, TlsConfig, TlsError};
