//! The engine's own outputs to Kafka beside the offsets: the dead-letter producer, and which
//! pass-through client settings they share with the consumer.

use super::*;
use crate::fcr_facts::FactsOut;
use crate::shared::SharedSettings;

/// A client configuration for the engine's own producers and admin calls: the brokers and
/// the pass-through connection settings.
fn base_config(config: &IngestConfig) -> ClientConfig {
    let mut base = ClientConfig::new();
    base.set("bootstrap.servers", &config.brokers);
    for (key, value) in config.connection_properties() {
        base.set(key, value);
    }
    base
}

/// The shared view's clients, the snapshot topic created if missing.
pub(super) fn open_shared(
    config: &IngestConfig,
    policy: &Arc<MetricsPolicy>,
) -> Result<Arc<SharedView>, IngestError> {
    let s = &config.shared;
    let instance = if s.instance.is_empty() {
        // Engines started in one process (tests, benches) get a suffix each.
        static STARTED: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = STARTED.fetch_add(1, Ordering::Relaxed);
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "callpulse".to_owned());
        match n {
            0 => format!("{host}-{}", std::process::id()),
            n => format!("{host}-{}-{n}", std::process::id()),
        }
    } else {
        s.instance.clone()
    };
    SharedView::open(
        &base_config(config),
        SharedSettings {
            topic: config.shared_topic(),
            instance,
            chunk_bytes: s.chunk_bytes,
            expire: Duration::from_secs(s.expire_secs),
            timeout: Duration::from_millis(s.timeout_ms),
        },
        Arc::clone(policy),
    )
    .map_err(IngestError::Shared)
}

/// The FCR repartition producer, its topic created if missing.
pub(super) fn open_fcr_facts(
    config: &IngestConfig,
    board: &Arc<PartitionBoard>,
) -> Result<FactsOut, IngestError> {
    let f = &config.fcr;
    let base = base_config(config);
    let timeout = Duration::from_millis(f.timeout_ms);
    let topic = config.fcr_topic();
    let partitions = ensure_topic(
        &base,
        &TopicSpec {
            name: &topic,
            partitions: f.partitions,
            replication: f.replication,
            configs: &[],
            timeout,
        },
    )
    .map_err(IngestError::FcrFacts)?;
    FactsOut::new(&base, &topic, partitions, timeout, Arc::clone(board))
        .map_err(IngestError::FcrFacts)
}

/// The dead-letter producer, its topic created if missing.
pub(super) fn open_dead_letters(
    config: &IngestConfig,
    telemetry: &IngestTelemetry,
) -> Result<DeadLetters, IngestError> {
    let d = &config.dead_letters;
    let base = base_config(config);
    let timeout = Duration::from_millis(d.timeout_ms);
    let max_bytes = (d.max_bytes + 8192).to_string();
    ensure_topic(
        &base,
        &TopicSpec {
            name: &d.topic,
            partitions: d.partitions,
            replication: d.replication,
            configs: &[("max.message.bytes", &max_bytes)],
            timeout,
        },
    )
    .map_err(IngestError::DeadLetters)?;
    DeadLetters::new(
        &base,
        &d.topic,
        d.max_bytes,
        timeout,
        telemetry.dead_letters.clone(),
    )
    .map_err(IngestError::DeadLetters)
}
