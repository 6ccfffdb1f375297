//! Dead letters: every message the engine rejects (malformed, unknown type, too large, out
//! of range, past a name cap) is copied, byte for byte, to a dead-letter topic, with why and
//! where it came from in headers, so an operator can see, fix and replay it. Duplicates are
//! not dead letters: redelivery is normal under at-least-once.
//!
//! Sends are asynchronous; a worker waits for them (`flush`) before it stores the offsets
//! of the messages they came from, so a rejected message is either in the dead-letter topic
//! or read again after a restart.

use std::time::Duration;

use callpulse_events::Rejection;
use prometheus::IntCounterVec;
use rdkafka::ClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::error::KafkaError;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};
use tracing::warn;

/// Header names on a dead letter.
pub const HEADER_REASON: &str = "callpulse.reason";
pub const HEADER_ERROR: &str = "callpulse.error";
pub const HEADER_TOPIC: &str = "callpulse.source.topic";
pub const HEADER_PARTITION: &str = "callpulse.source.partition";
pub const HEADER_OFFSET: &str = "callpulse.source.offset";
pub const HEADER_TRUNCATED: &str = "callpulse.truncated";

/// Counts deliveries as the broker confirms them.
struct Deliveries {
    outcomes: IntCounterVec,
}

impl ClientContext for Deliveries {}

impl ProducerContext for Deliveries {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        match result {
            Ok(_) => self.outcomes.with_label_values(&["sent"]).inc(),
            Err((err, _)) => {
                self.outcomes.with_label_values(&["failed"]).inc();
                warn!(%err, "dead letter not delivered");
            }
        }
    }
}

/// The dead-letter producer, shared by the workers.
pub struct DeadLetters {
    topic: String,
    max_bytes: usize,
    producer: ThreadedProducer<Deliveries>,
    outcomes: IntCounterVec,
    timeout: Duration,
}

impl std::fmt::Debug for DeadLetters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeadLetters")
            .field("topic", &self.topic)
            .finish_non_exhaustive()
    }
}

impl DeadLetters {
    /// A producer to `topic` (which must exist) on `base`'s brokers; `outcomes` counts
    /// `sent`, `failed` and `truncated`.
    ///
    /// # Errors
    /// The producer cannot be created.
    pub fn new(
        base: &ClientConfig,
        topic: &str,
        max_bytes: usize,
        timeout: Duration,
        outcomes: IntCounterVec,
    ) -> Result<Self, KafkaError> {
        let mut config = base.clone();
        config
            .set("message.max.bytes", (max_bytes + 8192).to_string())
            .set("linger.ms", "50");
        let producer = config.create_with_context(Deliveries {
            outcomes: outcomes.clone(),
        })?;
        Ok(DeadLetters {
            topic: topic.to_owned(),
            max_bytes,
            producer,
            outcomes,
            timeout,
        })
    }

    /// Copies a rejected message to the dead-letter topic (duplicates are skipped).
    pub fn send(&self, topic: &str, partition: i32, offset: i64, payload: &[u8], why: &Rejection) {
        if matches!(why, Rejection::Duplicate) {
            return;
        }
        let truncated = payload.len() > self.max_bytes;
        let body = &payload[..payload.len().min(self.max_bytes)];
        let (partition_text, offset_text) = (partition.to_string(), offset.to_string());
        let error = why.to_string();
        let mut headers = OwnedHeaders::new()
            .insert(Header {
                key: HEADER_REASON,
                value: Some(why.reason()),
            })
            .insert(Header {
                key: HEADER_ERROR,
                value: Some(&error),
            })
            .insert(Header {
                key: HEADER_TOPIC,
                value: Some(topic),
            })
            .insert(Header {
                key: HEADER_PARTITION,
                value: Some(&partition_text),
            })
            .insert(Header {
                key: HEADER_OFFSET,
                value: Some(&offset_text),
            });
        if truncated {
            headers = headers.insert(Header {
                key: HEADER_TRUNCATED,
                value: Some(&payload.len().to_string()),
            });
            self.outcomes.with_label_values(&["truncated"]).inc();
        }
        let key = format!("{topic}/{partition}/{offset}");
        let record = BaseRecord::to(&self.topic)
            .key(&key)
            .payload(body)
            .headers(headers);
        if let Err((err, _)) = self.producer.send(record) {
            self.outcomes.with_label_values(&["failed"]).inc();
            warn!(%err, topic, partition, offset, "dead letter could not be queued");
        }
    }

    /// Waits until every dead letter sent so far is confirmed (or the timeout passes).
    pub fn flush(&self) {
        if self.producer.in_flight_count() > 0
            && let Err(err) = self.producer.flush(self.timeout)
        {
            warn!(%err, "dead letters not all confirmed");
        }
    }
}
