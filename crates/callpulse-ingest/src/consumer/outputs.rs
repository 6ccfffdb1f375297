//! The engine's own outputs to Kafka beside the offsets: the dead-letter producer, and which
//! pass-through client settings they share with the consumer.

use super::*;

/// The dead-letter producer, its topic created if missing.
pub(super) fn open_dead_letters(
    config: &IngestConfig,
    telemetry: &IngestTelemetry,
) -> Result<DeadLetters, IngestError> {
    let d = &config.dead_letters;
    let mut base = ClientConfig::new();
    base.set("bootstrap.servers", &config.brokers);
    for (key, value) in config
        .librdkafka
        .iter()
        .filter(|(k, _)| is_shared_property(k))
    {
        base.set(key, value);
    }
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

/// Whether a pass-through librdkafka property concerns the connection (security, SASL,
/// TLS, addressing) and so applies to the checkpoint clients too; consumer-only ones
/// (`session.timeout.ms`, `auto.offset.reset`...) do not.
pub(super) fn is_shared_property(key: &str) -> bool {
    [
        "security.",
        "sasl.",
        "ssl.",
        "ssl_",
        "client.",
        "socket.",
        "broker.",
        "metadata.",
    ]
    .iter()
    .any(|prefix| key.starts_with(prefix))
}
