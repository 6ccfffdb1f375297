//! callpulse ingest: from Kafka messages to applied events.
//!
//! This crate owns the consumer group membership and the ownership of partition state:
//! - `consumer.rs`: the librdkafka consumer (every property passed through), the poll thread,
//!   and the rebalance callbacks that hand partitions over safely.
//! - `worker.rs`: worker threads; each Kafka partition's [`PartitionState`] lives in exactly one
//!   worker, which decodes, applies, stores offsets and publishes snapshots on each tick.
//! - `board.rs`: where workers report progress and publish partition snapshots for each
//!   tick, and retire revoked partitions.
//! - `telemetry.rs`: the engine's own metrics (consumed, rejected, lag, rebalances).
//! - `config.rs`: the `[ingest]` configuration section.
//!
//! Delivery is at-least-once: an offset is stored only after its message was applied (or
//! rejected and counted), and committed synchronously before a partition is given away.
//!
//! [`PartitionState`]: callpulse_core::PartitionState

mod board;
mod checkpoints;
mod config;
mod consumer;
mod dead_letters;
mod fcr_facts;
mod ratelimit;
mod restore;
mod shared;
mod telemetry;
mod topics;
mod worker;

pub use board::{BoardRead, Key, PartitionBoard, Tick};
pub use checkpoints::{CheckpointStore, CheckpointStoreError, StoreConfig, Stored};
pub use config::{CheckpointsConfig, DeadLettersConfig, FcrConfig, IngestConfig, TopicsConfig};
pub use consumer::{Ingest, IngestError, start};
pub use dead_letters::{
    HEADER_ERROR, HEADER_OFFSET, HEADER_PARTITION, HEADER_REASON, HEADER_TOPIC, HEADER_TRUNCATED,
};
pub use fcr_facts::FactsOut;
pub use shared::{Remote, RemoteBody, SharedSettings, SharedView};
pub use telemetry::IngestTelemetry;
