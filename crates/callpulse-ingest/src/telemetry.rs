//! The engine's own ingest metrics, registered into the caller's registry (never the global
//! default one, so two engines in one test process keep separate counts).

use callpulse_events::Rejection;
use prometheus::{IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry};

/// Handles to every ingest metric. Cheap to clone (each handle is an `Arc`).
#[derive(Debug, Clone)]
pub struct IngestTelemetry {
    /// Messages read from Kafka, by topic.
    pub consumed: IntCounterVec,
    /// Messages not applied, by bounded reason.
    pub rejected: IntCounterVec,
    /// Messages between the stored position and the partition's high watermark.
    pub lag: IntGaugeVec,
    /// Partitions assigned to this instance now.
    pub assigned: IntGauge,
    /// Rebalance callbacks, by kind (assign, revoke, error).
    pub rebalances: IntCounterVec,
    /// Synchronous commits (revoke, shutdown) that failed, or were not tried because the
    /// cluster was unreachable; the next owner restores from checkpoints and re-reads.
    pub commit_failures: IntCounter,
    /// Consumer-level errors reported by librdkafka (broker down, auth failures, ...).
    pub consumer_errors: IntCounter,
    /// Partition checkpoints, by outcome (written, write_failed, restored, refused, none).
    pub checkpoints: IntCounterVec,
    /// Size of the last checkpoint written (bytes).
    pub checkpoint_bytes: IntGauge,
    /// Rejected messages copied to the dead-letter topic, by outcome.
    pub dead_letters: IntCounterVec,
}

/// The outcomes `callpulse_checkpoints_total` counts.
pub const CHECKPOINT_OUTCOMES: [&str; 6] = [
    "written",
    "write_failed",
    "restored",
    "refused",
    "read_failed",
    "none",
];

impl IngestTelemetry {
    /// Messages consumed and rejected so far, summed over topics and reasons.
    pub fn totals(&self) -> (u64, u64) {
        use prometheus::core::Collector;
        let sum = |vec: &IntCounterVec| -> u64 {
            vec.collect()
                .iter()
                .flat_map(|family| family.get_metric())
                .map(|metric| metric.get_counter().get_value() as u64)
                .sum()
        };
        (sum(&self.consumed), sum(&self.rejected))
    }

    /// Creates and registers every ingest metric.
    ///
    /// # Errors
    /// A registration conflict (the same name registered twice in `registry`).
    pub fn register(registry: &Registry) -> Result<Self, prometheus::Error> {
        let consumed = IntCounterVec::new(
            Opts::new(
                "callpulse_events_consumed_total",
                "Messages read from Kafka, by topic.",
            ),
            &["topic"],
        )?;
        let rejected = IntCounterVec::new(
            Opts::new(
                "callpulse_events_rejected_total",
                "Messages not applied, by reason (malformed_json, unknown_type, duplicate, ...).",
            ),
            &["reason"],
        )?;
        let lag = IntGaugeVec::new(
            Opts::new(
                "callpulse_consumer_lag_messages",
                "Messages behind the high watermark, per assigned partition (librdkafka statistics).",
            ),
            &["topic", "partition"],
        )?;
        let assigned = IntGauge::new(
            "callpulse_consumer_assigned_partitions",
            "Kafka partitions assigned to this instance.",
        )?;
        let rebalances = IntCounterVec::new(
            Opts::new(
                "callpulse_consumer_rebalances_total",
                "Rebalance callbacks, by kind.",
            ),
            &["kind"],
        )?;
        let commit_failures = IntCounter::new(
            "callpulse_consumer_commit_failures_total",
            "Synchronous offset commits (revoke, shutdown) that failed, or were skipped because the cluster had been unreachable for 10 s.",
        )?;
        let consumer_errors = IntCounter::new(
            "callpulse_consumer_errors_total",
            "Errors reported by the Kafka client (broker unreachable, authentication, ...).",
        )?;
        let checkpoints = IntCounterVec::new(
            Opts::new(
                "callpulse_checkpoints_total",
                "Partition checkpoints: written, write_failed, and on assignment restored, refused (another format or policy: started empty), read_failed (started empty) or none.",
            ),
            &["outcome"],
        )?;
        let checkpoint_bytes = IntGauge::new(
            "callpulse_checkpoint_last_bytes",
            "Size of the last partition checkpoint written.",
        )?;
        let dead_letters = IntCounterVec::new(
            Opts::new(
                "callpulse_dead_letters_total",
                "Rejected messages copied to the dead-letter topic: sent (confirmed), failed, truncated.",
            ),
            &["outcome"],
        )?;
        registry.register(Box::new(dead_letters.clone()))?;
        for outcome in ["sent", "failed", "truncated"] {
            dead_letters.with_label_values(&[outcome]);
        }
        registry.register(Box::new(checkpoints.clone()))?;
        registry.register(Box::new(checkpoint_bytes.clone()))?;
        for outcome in CHECKPOINT_OUTCOMES {
            checkpoints.with_label_values(&[outcome]);
        }
        registry.register(Box::new(consumed.clone()))?;
        registry.register(Box::new(rejected.clone()))?;
        registry.register(Box::new(lag.clone()))?;
        registry.register(Box::new(assigned.clone()))?;
        registry.register(Box::new(rebalances.clone()))?;
        registry.register(Box::new(commit_failures.clone()))?;
        registry.register(Box::new(consumer_errors.clone()))?;
        // Pre-create every reason and kind so dashboards read 0 rather than "no data".
        for reason in Rejection::REASONS {
            rejected.with_label_values(&[reason]);
        }
        for kind in ["assign", "revoke", "error"] {
            rebalances.with_label_values(&[kind]);
        }
        Ok(IngestTelemetry {
            consumed,
            rejected,
            lag,
            assigned,
            rebalances,
            commit_failures,
            consumer_errors,
            checkpoints,
            checkpoint_bytes,
            dead_letters,
        })
    }
}
