//! The whole center from any instance: every instance publishes its partitions' read models
//! to a compacted snapshot topic and reads everyone's.
//!
//! - **Publish.** Once per `interval_ms` the publisher hands each owned partition's latest
//!   snapshot (an input partition's, or an FCR partition's) here; it goes to the topic keyed
//!   by its partition, split into chunks of at most `chunk_bytes`, each chunk keyed by its
//!   index, so compaction keeps every chunk of the newest version.
//! - **Read.** A thread of its own reads the whole topic from the beginning with a plain
//!   assignment (no group: every instance reads everything) and keeps, per partition, the
//!   newest complete part. The publisher merges the parts of partitions it does not own
//!   with its own, by the same merge (`Snapshot::build`).
//!
//! The topic has one partition, so a part's chunks arrive in the order they were written.
//! A part is only what the API, the feed and the wallboard need (windows, totals, agents),
//! never state: the state stays with its owner and its checkpoints.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use callpulse_core::{
    FcrPart, MetricsPolicy, PartitionSnapshot, SharedBody, SharedPart, SharedRef, Ts,
};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::{Offset, TopicPartitionList};
use tracing::{debug, info, warn};

use crate::board::Key;
use crate::ratelimit::RateLimit;
use crate::topics::{TopicSpec, ensure_topic};

/// Chunk header: the part's sequence number (u64), the chunk's index and the chunk count
/// (u16 each), little-endian.
const CHUNK_HEADER: usize = 12;

/// A partition's part as another instance published it.
#[derive(Debug, Clone)]
pub struct Remote {
    pub instance: Arc<str>,
    /// The owner's wall time when it published (ms).
    pub wall_ms: i64,
    pub body: RemoteBody,
}

/// A published part, of either kind.
#[derive(Debug, Clone)]
pub enum RemoteBody {
    Events(Arc<PartitionSnapshot>),
    Fcr(Arc<FcrPart>),
}

/// Settings of the shared view (`[ingest.shared]`).
#[derive(Debug, Clone)]
pub struct SharedSettings {
    pub topic: String,
    pub instance: String,
    pub chunk_bytes: usize,
    /// Parts older than this (by their owner's publishing time) are left out of the view.
    pub expire: Duration,
    pub timeout: Duration,
}

/// Chunks of one partition's part, as they arrive.
#[derive(Default)]
struct Assembly {
    /// index -> (sequence number, count, bytes).
    chunks: BTreeMap<u16, (u64, u16, Vec<u8>)>,
}

impl Assembly {
    /// Adds a chunk; the whole part once every chunk of its sequence number is here.
    fn add(&mut self, seq: u64, index: u16, count: u16, bytes: &[u8]) -> Option<Vec<u8>> {
        self.chunks.insert(index, (seq, count, bytes.to_vec()));
        let complete = (0..count).all(|i| {
            self.chunks
                .get(&i)
                .is_some_and(|(s, c, _)| *s == seq && *c == count)
        });
        if !complete {
            return None;
        }
        let mut whole = Vec::new();
        for i in 0..count {
            if let Some((_, _, bytes)) = self.chunks.get(&i) {
                whole.extend_from_slice(bytes);
            }
        }
        Some(whole)
    }
}

/// The shared view: this instance's publisher and everyone's parts.
pub struct SharedView {
    settings: SharedSettings,
    instance: Arc<str>,
    policy: Arc<MetricsPolicy>,
    producer: ThreadedProducer<DefaultProducerContext>,
    remote: Arc<Mutex<HashMap<Key, Remote>>>,
    seq: AtomicU64,
    stop: Arc<AtomicBool>,
    reader: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for SharedView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedView")
            .field("topic", &self.settings.topic)
            .field("instance", &self.settings.instance)
            .finish_non_exhaustive()
    }
}

impl SharedView {
    /// Creates the topic if missing (compacted, one partition), the producer, and the reader
    /// thread.
    ///
    /// # Errors
    /// The client's error when the topic or a client cannot be set up.
    pub fn open(
        base: &ClientConfig,
        settings: SharedSettings,
        policy: Arc<MetricsPolicy>,
    ) -> Result<Arc<SharedView>, KafkaError> {
        let max_bytes = (settings.chunk_bytes + 64 * 1024).to_string();
        ensure_topic(
            base,
            &TopicSpec {
                name: &settings.topic,
                partitions: 1,
                replication: 1,
                configs: &[
                    ("cleanup.policy", "compact"),
                    ("max.message.bytes", &max_bytes),
                ],
                timeout: settings.timeout,
            },
        )?;
        let mut producer_config = base.clone();
        producer_config
            .set("message.max.bytes", &max_bytes)
            .set("linger.ms", "5");
        let producer: ThreadedProducer<DefaultProducerContext> = producer_config.create()?;
        let mut consumer_config = base.clone();
        consumer_config
            // Never joins a group (the partition is assigned), never commits: every
            // instance reads the whole topic, from the beginning, at every start.
            .set(
                "group.id",
                format!("callpulse-shared-{}", settings.instance),
            )
            .set("enable.auto.commit", "false")
            .set("enable.partition.eof", "false")
            .set("fetch.message.max.bytes", &max_bytes);
        let consumer: BaseConsumer = consumer_config.create()?;
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(&settings.topic, 0, Offset::Beginning)?;
        consumer.assign(&tpl)?;
        let remote = Arc::new(Mutex::new(HashMap::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let reader = {
            let (remote, stop, policy) =
                (Arc::clone(&remote), Arc::clone(&stop), Arc::clone(&policy));
            std::thread::Builder::new()
                .name("callpulse-shared".into())
                .spawn(move || read_loop(&consumer, &remote, &stop, &policy))
                .map_err(|_| KafkaError::ClientCreation("shared view reader thread".into()))?
        };
        info!(topic = %settings.topic, instance = %settings.instance, "sharing partition snapshots");
        Ok(Arc::new(SharedView {
            instance: Arc::from(settings.instance.as_str()),
            settings,
            policy,
            producer,
            remote,
            seq: AtomicU64::new(0),
            stop,
            reader: Mutex::new(Some(reader)),
        }))
    }

    /// This instance's id.
    pub fn instance(&self) -> &str {
        &self.settings.instance
    }

    /// Publishes partition `key`'s part, read by this instance at wall time `wall`. The part
    /// is also kept here at once, as if read back: when the partition goes (a revoke, a
    /// broker outage) its last figures stay in the view even if the broker never echoed it.
    pub fn publish(&self, key: &Key, body: &RemoteBody, wall: Ts) {
        let reference = match body {
            RemoteBody::Events(part) => SharedRef::Events(part),
            RemoteBody::Fcr(part) => SharedRef::Fcr(part),
        };
        let bytes = SharedPart::encode_ref(
            &self.settings.instance,
            wall.millis(),
            reference,
            &self.policy,
        );
        self.remote
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(
                key.clone(),
                Remote {
                    instance: Arc::clone(&self.instance),
                    wall_ms: wall.millis(),
                    body: body.clone(),
                },
            );
        // Each part gets its own number, so chunks of two versions never mix.
        let seq = self.seq.fetch_add(1, Ordering::Relaxed) ^ (wall.millis() as u64) << 20;
        let chunk = self.settings.chunk_bytes.max(1);
        let count = bytes.len().div_ceil(chunk).max(1);
        let Ok(count) = u16::try_from(count) else {
            warn!(topic = %key.0, partition = key.1, bytes = bytes.len(), "partition snapshot too large to share");
            return;
        };
        for index in 0..count {
            let start = usize::from(index) * chunk;
            let body = &bytes[start.min(bytes.len())..(start + chunk).min(bytes.len())];
            let mut value = Vec::with_capacity(CHUNK_HEADER + body.len());
            value.extend_from_slice(&seq.to_le_bytes());
            value.extend_from_slice(&index.to_le_bytes());
            value.extend_from_slice(&count.to_le_bytes());
            value.extend_from_slice(body);
            let record_key = format!("{}/{}/{index}", key.0, key.1);
            let record = BaseRecord::to(&self.settings.topic)
                .partition(0)
                .key(&record_key)
                .payload(&value);
            if let Err((err, _)) = self.producer.send(record) {
                debug!(%err, "partition snapshot not queued for sharing");
                return;
            }
        }
    }

    /// Every partition's newest part except `here`'s (which this instance owns), leaving
    /// out those published longer than the expiry ago (at wall time `wall`).
    pub fn remote(&self, here: &HashSet<Key>, wall: Ts) -> Vec<(Key, Remote)> {
        let oldest = wall.millis() - self.settings.expire.as_millis() as i64;
        let remote = self.remote.lock().unwrap_or_else(PoisonError::into_inner);
        let mut parts: Vec<(Key, Remote)> = remote
            .iter()
            .filter(|(key, part)| !here.contains(*key) && part.wall_ms >= oldest)
            .map(|(key, part)| (key.clone(), part.clone()))
            .collect();
        parts.sort_by(|a, b| a.0.cmp(&b.0));
        parts
    }

    /// Stops the reader thread and flushes what is queued.
    pub fn close(&self) {
        self.stop.store(true, Ordering::Release);
        let _ = self.producer.flush(self.settings.timeout);
        if let Some(reader) = self
            .reader
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            let _ = reader.join();
        }
    }
}

/// Parses a record key `topic/partition/index`.
fn parse_key(key: &str) -> Option<Key> {
    let mut it = key.rsplitn(3, '/');
    let _index = it.next()?;
    let partition = it.next()?.parse().ok()?;
    let topic = it.next()?;
    Some((Arc::from(topic), partition))
}

fn read_loop(
    consumer: &BaseConsumer,
    remote: &Mutex<HashMap<Key, Remote>>,
    stop: &AtomicBool,
    policy: &MetricsPolicy,
) {
    let mut assembling: HashMap<Key, Assembly> = HashMap::new();
    let mut log_limit = RateLimit::new(Duration::from_secs(30), 3);
    while !stop.load(Ordering::Acquire) {
        let Some(polled) = consumer.poll(Duration::from_millis(100)) else {
            continue;
        };
        let msg = match polled {
            Ok(msg) => msg,
            Err(err) => {
                if log_limit.allow(mono_now()).0 {
                    warn!(%err, "reading the snapshot topic");
                }
                continue;
            }
        };
        let (Some(key), Some(value)) = (
            msg.key().and_then(|k| std::str::from_utf8(k).ok()),
            msg.payload(),
        ) else {
            continue;
        };
        let Some(key) = parse_key(key) else {
            continue;
        };
        if value.len() < CHUNK_HEADER {
            continue;
        }
        let seq = u64::from_le_bytes(value[..8].try_into().unwrap_or_default());
        let index = u16::from_le_bytes([value[8], value[9]]);
        let count = u16::from_le_bytes([value[10], value[11]]);
        let whole = if count == 1 {
            assembling.remove(&key);
            Some(value[CHUNK_HEADER..].to_vec())
        } else {
            assembling.entry(key.clone()).or_default().add(
                seq,
                index,
                count,
                &value[CHUNK_HEADER..],
            )
        };
        let Some(whole) = whole else {
            continue;
        };
        match SharedPart::decode(policy, &whole) {
            Ok(part) => {
                let body = match part.body {
                    SharedBody::Events(p) => RemoteBody::Events(Arc::from(p)),
                    SharedBody::Fcr(p) => RemoteBody::Fcr(Arc::new(p)),
                };
                let part = Remote {
                    instance: Arc::from(part.instance),
                    wall_ms: part.wall_ms,
                    body,
                };
                let mut remote = remote.lock().unwrap_or_else(PoisonError::into_inner);
                // A part older than the one held (a slow reader of an old version) is not
                // taken back.
                if remote
                    .get(&key)
                    .is_none_or(|held| held.wall_ms <= part.wall_ms)
                {
                    remote.insert(key, part);
                }
            }
            Err(err) => {
                if log_limit.allow(mono_now()).0 {
                    warn!(topic = %key.0, partition = key.1, %err, "a shared partition snapshot was refused (another version or metrics policy)");
                }
            }
        }
    }
}

#[allow(clippy::disallowed_methods)] // monotonic time for log rate limiting only
fn mono_now() -> std::time::Instant {
    std::time::Instant::now()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_back() {
        assert_eq!(parse_key("calls/3/0"), Some((Arc::from("calls"), 3)));
        assert_eq!(parse_key("a.b-c/12/4"), Some((Arc::from("a.b-c"), 12)));
        assert_eq!(parse_key("calls/x/0"), None);
        assert_eq!(parse_key("calls"), None);
    }

    #[test]
    fn chunks_assemble_only_when_every_chunk_of_one_version_is_here() {
        let mut a = Assembly::default();
        assert_eq!(a.add(1, 0, 2, b"ab"), None);
        // A chunk of a newer version does not complete the older one.
        assert_eq!(a.add(2, 1, 2, b"YZ"), None);
        assert_eq!(a.add(2, 0, 2, b"WX"), Some(b"WXYZ".to_vec()));
        assert_eq!(a.add(3, 1, 2, b"!!"), None);
    }
}
