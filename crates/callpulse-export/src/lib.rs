//! callpulse export: everything a reader of the engine talks to, over HTTP.
//!
//! Readers only: nothing here can block or slow the core. Every endpoint reads the latest
//! [`Published`] snapshot from [`Latest`] (an `ArcSwap`: lock-free for readers and writer):
//! - `prometheus.rs`: `/metrics`, a `Collector` that turns the snapshot into families at
//!   scrape time (plus the engine telemetry registered in the same registry).
//! - `ws.rs`: `/ws`, the wallboard feed (snapshot on connect, then one update per tick, with
//!   a bounded write buffer and a send timeout per client).
//! - `api.rs`: `/api/v1/snapshot`, `/api/v1/queues/{queue}`, `/healthz`, `/readyz`.
//! - `wallboard.rs`: `/`, the built-in wallboard page.
//! - `router.rs`: [`router`], wiring it all with timeouts and limits.
//! - `config.rs`: the `[export]` configuration section.

mod api;
mod config;
mod error;
mod prometheus;
mod published;
mod router;
mod telemetry;
mod wallboard;
mod ws;

pub use config::ExportConfig;
pub use error::ApiError;
pub use prometheus::{LabelCap, SnapshotCollector};
pub use published::{Latest, Published};
pub use router::{ExportState, router, serve};
pub use telemetry::ExportTelemetry;
