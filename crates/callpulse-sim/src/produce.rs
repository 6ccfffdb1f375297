//! Producing simulated events to Kafka, keyed as the contract requires.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use callpulse_events::{Envelope, SharedClock, Topic};
use rdkafka::ClientContext;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::DeliveryResult;
use rdkafka::producer::{BaseRecord, Producer, ProducerContext, ThreadedProducer};
use thiserror::Error;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::Simulator;

/// Why producing failed.
#[derive(Debug, Error)]
pub enum ProduceError {
    /// The producer could not be created (bad broker list or librdkafka property).
    #[error("could not create the kafka producer")]
    Client(#[source] KafkaError),
    /// A message could not be queued for sending.
    #[error("could not queue a message")]
    Send(#[source] KafkaError),
    /// Not everything was delivered within the flush timeout.
    #[error("could not flush produced messages")]
    Flush(#[source] KafkaError),
    /// The cluster did not answer a metadata request: wrong address, or refused credentials
    /// (SASL, SSL).
    #[error("could not reach the kafka cluster (check the brokers and the security settings)")]
    Unreachable(#[source] KafkaError),
    /// Creating the topics failed.
    #[error("could not create topic {topic}: {reason}")]
    CreateTopic { topic: String, reason: String },
}

/// Topic names by contract topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimTopics(pub BTreeMap<&'static str, String>);

impl SimTopics {
    /// Explicit names.
    pub fn new(calls: &str, agents: &str, tickets: &str, surveys: &str) -> SimTopics {
        let mut map = BTreeMap::new();
        for (topic, name) in Topic::ALL.iter().zip([calls, agents, tickets, surveys]) {
            map.insert(topic.default_name(), name.to_owned());
        }
        SimTopics(map)
    }

    /// The name for `topic`.
    pub fn name(&self, topic: Topic) -> &str {
        self.0
            .get(topic.default_name())
            .map_or(topic.default_name(), String::as_str)
    }

    /// Every name.
    pub fn all(&self) -> Vec<&str> {
        Topic::ALL.iter().map(|t| self.name(*t)).collect()
    }
}

struct DeliveryCounter {
    failures: Arc<AtomicU64>,
}

impl ClientContext for DeliveryCounter {}

impl ProducerContext for DeliveryCounter {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _opaque: ()) {
        if let Err((err, _)) = result
            && self
                .failures
                .fetch_add(1, Ordering::Relaxed)
                .is_multiple_of(1000)
        {
            warn!(%err, "message delivery failed");
        }
    }
}

/// A Kafka producer of contract events.
pub struct EventProducer {
    producer: ThreadedProducer<DeliveryCounter>,
    topics: SimTopics,
    failures: Arc<AtomicU64>,
}

impl std::fmt::Debug for EventProducer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventProducer")
            .field("topics", &self.topics)
            .finish_non_exhaustive()
    }
}

impl EventProducer {
    /// A producer for `brokers`, with extra librdkafka properties passed through.
    ///
    /// # Errors
    /// [`ProduceError::Client`] for an unusable configuration.
    pub fn new(
        brokers: &str,
        extra: &BTreeMap<String, String>,
        topics: SimTopics,
    ) -> Result<Self, ProduceError> {
        let failures = Arc::new(AtomicU64::new(0));
        let mut cc = ClientConfig::new();
        cc.set("bootstrap.servers", brokers)
            .set("linger.ms", "5")
            .set("queue.buffering.max.messages", "500000")
            .set("compression.type", "lz4");
        for (key, value) in extra {
            cc.set(key, value);
        }
        let producer = cc
            .create_with_context(DeliveryCounter {
                failures: Arc::clone(&failures),
            })
            .map_err(ProduceError::Client)?;
        Ok(EventProducer {
            producer,
            topics,
            failures,
        })
    }

    /// Queues one event on its topic, keyed by its interaction or agent id. Waits while the
    /// local queue is full (backpressure) rather than dropping.
    ///
    /// # Errors
    /// [`ProduceError::Send`] for anything but a full queue.
    pub fn send(&self, env: &Envelope) -> Result<(), ProduceError> {
        let topic = self.topics.name(env.event.kind().topic());
        self.send_raw(topic, env.event.key(), env.to_json().as_bytes())
    }

    /// Queues raw bytes (for tests that need malformed input on the wire).
    ///
    /// # Errors
    /// [`ProduceError::Send`] for anything but a full queue.
    pub fn send_raw(&self, topic: &str, key: &str, payload: &[u8]) -> Result<(), ProduceError> {
        loop {
            match self
                .producer
                .send(BaseRecord::to(topic).key(key).payload(payload))
            {
                Ok(()) => return Ok(()),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err((err, _)) => return Err(ProduceError::Send(err)),
            }
        }
    }

    /// Asks the cluster for its metadata, so that unreachable brokers or refused credentials
    /// fail at once rather than at the end of a long flush.
    ///
    /// # Errors
    /// [`ProduceError::Unreachable`] with librdkafka's reason.
    pub fn check_reachable(&self, timeout: Duration) -> Result<(), ProduceError> {
        self.producer
            .client()
            .fetch_metadata(None, timeout)
            .map(drop)
            .map_err(ProduceError::Unreachable)
    }

    /// Waits until everything queued is delivered.
    ///
    /// # Errors
    /// [`ProduceError::Flush`] on timeout.
    pub fn flush(&self, timeout: Duration) -> Result<(), ProduceError> {
        self.producer.flush(timeout).map_err(ProduceError::Flush)
    }

    /// Messages whose delivery failed so far.
    pub fn failures(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }
}

/// Creates the topics with `partitions` partitions each, if they do not exist yet; `extra`
/// holds librdkafka properties for reaching the cluster (SASL, SSL).
///
/// # Errors
/// [`ProduceError::CreateTopic`] when the broker refuses (other than "already exists").
pub async fn ensure_topics(
    brokers: &str,
    extra: &BTreeMap<String, String>,
    topics: &[&str],
    partitions: i32,
) -> Result<(), ProduceError> {
    let mut cc = ClientConfig::new();
    cc.set("bootstrap.servers", brokers);
    for (key, value) in extra {
        cc.set(key, value);
    }
    let admin: AdminClient<DefaultClientContext> = cc.create().map_err(ProduceError::Client)?;
    let new: Vec<NewTopic<'_>> = topics
        .iter()
        .map(|t| NewTopic::new(t, partitions, TopicReplication::Fixed(1)))
        .collect();
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    let results =
        admin
            .create_topics(&new, &opts)
            .await
            .map_err(|e| ProduceError::CreateTopic {
                topic: topics.join(","),
                reason: e.to_string(),
            })?;
    for result in results {
        match result {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => {
                return Err(ProduceError::CreateTopic {
                    topic,
                    reason: code.to_string(),
                });
            }
        }
    }
    Ok(())
}

/// Runs `sim` in real time (simulated time = wall time), producing every event as it
/// happens, until `shutdown` is cancelled. Returns the number of events produced.
///
/// Blocking (producing waits on a full queue, flushing waits for delivery): run it on a
/// thread of its own (`spawn_blocking`), never on an async runtime thread.
///
/// # Errors
/// The first [`ProduceError`].
pub fn run_realtime(
    mut sim: Simulator,
    producer: &EventProducer,
    clock: &SharedClock,
    shutdown: &CancellationToken,
) -> Result<u64, ProduceError> {
    let mut produced = 0u64;
    let mut logged = 0u64;
    while !shutdown.is_cancelled() {
        for env in sim.advance_to(clock.now()) {
            producer.send(&env)?;
            produced += 1;
        }
        if produced / 10_000 > logged {
            logged = produced / 10_000;
            info!(produced, "simulator progress");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    producer.flush(Duration::from_secs(5))?;
    Ok(produced)
}
