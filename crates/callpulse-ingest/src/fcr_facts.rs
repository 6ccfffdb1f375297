//! The FCR repartition topic's producer: facts re-keyed by customer.
//!
//! A customer's contacts reach every event partition (calls are keyed by call id), so each
//! worker sends the FCR facts its partitions produce to the repartition topic, partitioned
//! by customer; the same consumer group reads that topic, and the owner of each of its
//! partitions settles the customers hashed there (`callpulse_core::FcrPartition`). This is
//! Kafka Streams' repartition topic. The partition is chosen here (customer modulo the
//! topic's partition count), not by a client's partitioner, so every producer agrees.
//!
//! A worker flushes this producer before it stores offsets or writes a checkpoint: a fact
//! is on the topic before the event that produced it is taken as applied, so a crash can
//! only make a source re-send facts (which their tags recognise), never lose one.

use std::sync::Arc;
use std::time::Duration;

use callpulse_core::FactRecord;
use rdkafka::ClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};
use tracing::warn;

use crate::board::PartitionBoard;

struct Deliveries {
    board: Arc<PartitionBoard>,
}

impl ClientContext for Deliveries {}

impl ProducerContext for Deliveries {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        if let Err((err, _)) = result {
            self.board.facts_dropped(1);
            warn!(%err, "FCR fact not delivered to the repartition topic");
        }
    }
}

/// Sends FCR facts to the repartition topic.
pub struct FactsOut {
    topic: String,
    partitions: i32,
    producer: ThreadedProducer<Deliveries>,
    board: Arc<PartitionBoard>,
    timeout: Duration,
}

impl std::fmt::Debug for FactsOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FactsOut")
            .field("topic", &self.topic)
            .field("partitions", &self.partitions)
            .finish_non_exhaustive()
    }
}

impl FactsOut {
    /// A producer for `topic`, which has `partitions` partitions.
    ///
    /// # Errors
    /// The client's error when it cannot be created.
    pub fn new(
        base: &ClientConfig,
        topic: &str,
        partitions: i32,
        timeout: Duration,
        board: Arc<PartitionBoard>,
    ) -> Result<Self, KafkaError> {
        let mut config = base.clone();
        // Idempotence keeps one source's facts in order on the partition through retries,
        // which the duplicate filter of the partitions' trackers relies on.
        config
            .set("enable.idempotence", "true")
            .set("linger.ms", "20");
        let producer = config.create_with_context(Deliveries {
            board: Arc::clone(&board),
        })?;
        Ok(FactsOut {
            topic: topic.to_owned(),
            partitions: partitions.max(1),
            producer,
            board,
            timeout,
        })
    }

    /// The repartition topic's name.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Queues `record` for its customer's partition.
    pub fn send(&self, record: &FactRecord) {
        let customer = record.customer();
        let partition = (customer % self.partitions as u64) as i32;
        let key = customer.to_be_bytes();
        let body = record.encode();
        let mut pending = BaseRecord::to(&self.topic)
            .partition(partition)
            .key(&key[..])
            .payload(&body[..]);
        // A full local queue is back-pressure, not a failure: wait for room briefly.
        for _ in 0..100 {
            match self.producer.send(pending) {
                Ok(()) => return,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    pending = back;
                    self.producer.poll(Duration::from_millis(10));
                }
                Err((err, _)) => {
                    self.board.facts_dropped(1);
                    warn!(%err, "FCR fact could not be queued");
                    return;
                }
            }
        }
        self.board.facts_dropped(1);
        warn!("FCR fact dropped: the producer queue stayed full");
    }

    /// Waits until every fact sent so far is confirmed (or the timeout passed).
    pub fn flush(&self) {
        if self.producer.in_flight_count() > 0
            && let Err(err) = self.producer.flush(self.timeout)
        {
            warn!(%err, "FCR facts not all confirmed");
        }
    }
}
