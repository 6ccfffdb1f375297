//! Topics the engine writes to (checkpoints, dead letters): found, or created with the
//! settings they need.

use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use tracing::info;

/// A topic as the engine needs it.
#[derive(Debug)]
pub(crate) struct TopicSpec<'a> {
    pub(crate) name: &'a str,
    pub(crate) partitions: i32,
    pub(crate) replication: i32,
    pub(crate) configs: &'a [(&'a str, &'a str)],
    pub(crate) timeout: Duration,
}

/// The topic's partition count, creating it first if it does not exist. A broker without
/// the admin API (librdkafka's mock cluster) needs the topic made beforehand.
pub(crate) fn ensure_topic(base: &ClientConfig, spec: &TopicSpec<'_>) -> Result<i32, KafkaError> {
    let consumer: BaseConsumer = base.create()?;
    let partitions = || -> Result<i32, KafkaError> {
        let metadata = consumer.fetch_metadata(Some(spec.name), spec.timeout)?;
        Ok(metadata
            .topics()
            .iter()
            .find(|t| t.name() == spec.name && t.error().is_none())
            .map_or(0, |t| t.partitions().len() as i32))
    };
    let existing = partitions()?;
    if existing > 0 {
        return Ok(existing);
    }
    let admin: AdminClient<DefaultClientContext> = base.create()?;
    let mut new = NewTopic::new(
        spec.name,
        spec.partitions.max(1),
        TopicReplication::Fixed(spec.replication.max(1)),
    );
    for (key, value) in spec.configs {
        new = new.set(key, value);
    }
    let options = AdminOptions::new()
        .operation_timeout(Some(spec.timeout))
        .request_timeout(Some(spec.timeout));
    for result in futures::executor::block_on(admin.create_topics([&new], &options))? {
        match result {
            Ok(name) => info!(topic = %name, configs = ?spec.configs, "topic created"),
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((_, code)) => return Err(KafkaError::AdminOp(code)),
        }
    }
    // A topic just created may take a moment to show its partitions.
    #[allow(clippy::disallowed_methods)] // bounding a blocking wait, not event time
    let start = std::time::Instant::now();
    loop {
        let count = partitions()?;
        if count > 0 {
            return Ok(count);
        }
        if start.elapsed() > spec.timeout {
            return Err(KafkaError::MetadataFetch(
                RDKafkaErrorCode::UnknownTopicOrPartition,
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
