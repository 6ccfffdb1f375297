//! Where partition checkpoints live: a compacted Kafka topic, the way Kafka Streams keeps
//! its state stores' changelogs.
//!
//! Each input partition (`topic`, `partition`, under the consumer group) has two slots, A
//! and B, written in turn. A slot is a manifest record (generation, the input offset the
//! state covers, chunk count, length, checksum) and the state's bytes in chunks of at most
//! `checkpoint_chunk_bytes` (the broker's message limit is 1 MB by default; a partition's
//! state can be tens of MB). Chunks are written first and the manifest last, so a slot is
//! complete once its manifest is there; while one slot is being rewritten the other still
//! holds the previous complete checkpoint, so a crash in the middle of a write loses
//! nothing but that write. Keys repeat from checkpoint to checkpoint, so compaction keeps
//! the topic at about two checkpoints per input partition.
//!
//! Reading takes the slot with the higher generation whose chunks are all there and match
//! its checksum, else the other one, else none (the partition then starts empty from the
//! group's committed offset, as it would without checkpoints).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::{Offset, TopicPartitionList};
use rustc_hash::FxBuildHasher;
use std::hash::BuildHasher;
use thiserror::Error;
use tracing::{debug, info, warn};

use crate::topics::{TopicSpec, ensure_topic};

use records::{
    CHUNK_MAGIC, Manifest, SlotRecords, assemble, base_key, checksum, chunk_key, manifest_key,
    split_key,
};

/// Why checkpoints could not be written or read.
#[derive(Debug, Error)]
pub enum CheckpointStoreError {
    #[error("checkpoint topic {topic}: {source}")]
    Topic { topic: String, source: KafkaError },
    #[error("checkpoint client: {0}")]
    Client(KafkaError),
    #[error("checkpoint write to {topic} not confirmed: {source}")]
    Write { topic: String, source: KafkaError },
}

/// A checkpoint as stored: the input offset it covers (the next one to apply) and the
/// state's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub next_offset: i64,
    pub bytes: Vec<u8>,
    pub generation: u64,
}

/// What is known of a slot's last write, to tombstone chunks a smaller checkpoint leaves.
#[derive(Debug, Clone, Copy, Default)]
struct SlotInfo {
    generation: u64,
    chunks: [u32; 2],
}

/// Writes and reads checkpoints. Shared by the workers (writes) and the rebalance callback
/// (reads on assignment).
pub struct CheckpointStore {
    topic: String,
    partitions: i32,
    group: String,
    chunk_bytes: usize,
    producer: ThreadedProducer<DefaultProducerContext>,
    reader: ClientConfig,
    timeout: Duration,
    slots: Mutex<HashMap<String, SlotInfo>>,
}

impl std::fmt::Debug for CheckpointStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckpointStore")
            .field("topic", &self.topic)
            .field("partitions", &self.partitions)
            .finish_non_exhaustive()
    }
}

/// The checkpoint topic's settings.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    pub brokers: String,
    pub group: String,
    pub topic: String,
    /// Partitions of the checkpoint topic when it has to be created.
    pub partitions: i32,
    /// Replication factor when it has to be created.
    pub replication: i32,
    pub chunk_bytes: usize,
    /// How long a write or a read may take.
    pub timeout: Duration,
    /// librdkafka settings shared with the consumer (security, SASL...).
    pub librdkafka: Vec<(String, String)>,
}

impl CheckpointStore {
    /// Connects, and creates the compacted topic if it is missing.
    ///
    /// # Errors
    /// The topic cannot be created or described, or a client cannot be made.
    pub fn open(config: &StoreConfig) -> Result<Self, CheckpointStoreError> {
        let mut base = ClientConfig::new();
        base.set("bootstrap.servers", &config.brokers);
        for (key, value) in &config.librdkafka {
            base.set(key, value);
        }
        let max_bytes = (config.chunk_bytes + 4096).to_string();
        let partitions = ensure_topic(
            &base,
            &TopicSpec {
                name: &config.topic,
                partitions: config.partitions,
                replication: config.replication,
                configs: &[
                    ("cleanup.policy", "compact"),
                    ("max.message.bytes", &max_bytes),
                ],
                timeout: config.timeout,
            },
        )
        .map_err(|source| CheckpointStoreError::Topic {
            topic: config.topic.clone(),
            source,
        })?;
        info!(topic = %config.topic, partitions, "checkpoint store open");
        let mut producer_config = base.clone();
        producer_config
            // Chunks before their manifest: one request in flight keeps them in order.
            .set("max.in.flight.requests.per.connection", "1")
            .set("message.max.bytes", (config.chunk_bytes + 4096).to_string())
            .set("linger.ms", "0");
        let producer: ThreadedProducer<DefaultProducerContext> = producer_config
            .create()
            .map_err(CheckpointStoreError::Client)?;
        let mut reader = base;
        reader
            .set("group.id", format!("{}-checkpoint-reader", config.group))
            .set("enable.auto.commit", "false")
            .set("enable.partition.eof", "false")
            .set(
                "fetch.message.max.bytes",
                (config.chunk_bytes + 4096).to_string(),
            );
        Ok(CheckpointStore {
            topic: config.topic.clone(),
            partitions,
            group: config.group.clone(),
            chunk_bytes: config.chunk_bytes.max(1024),
            producer,
            reader,
            timeout: config.timeout,
            slots: Mutex::new(HashMap::new()),
        })
    }

    fn home_partition(&self, base: &str) -> i32 {
        (FxBuildHasher.hash_one(base) % self.partitions.max(1) as u64) as i32
    }

    fn slots(&self) -> std::sync::MutexGuard<'_, HashMap<String, SlotInfo>> {
        self.slots
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Writes `bytes` as the checkpoint of (`topic`, `partition`) covering the input up to
    /// `next_offset`, and waits until the broker has confirmed every record.
    ///
    /// # Errors
    /// A record could not be delivered within the timeout.
    pub fn write(
        &self,
        topic: &str,
        partition: i32,
        next_offset: i64,
        bytes: &[u8],
    ) -> Result<u64, CheckpointStoreError> {
        let base = base_key(&self.group, topic, partition);
        let home = self.home_partition(&base);
        let info = self.slots().get(&base).copied().unwrap_or_default();
        let generation = info.generation + 1;
        let slot = generation % 2;
        let chunks: Vec<&[u8]> = bytes.chunks(self.chunk_bytes).collect();
        let count = chunks.len() as u32;
        let write_err = |source| CheckpointStoreError::Write {
            topic: self.topic.clone(),
            source,
        };
        for (i, chunk) in chunks.iter().enumerate() {
            let mut value = Vec::with_capacity(chunk.len() + 12);
            value.extend_from_slice(CHUNK_MAGIC);
            value.extend_from_slice(&generation.to_le_bytes());
            value.extend_from_slice(chunk);
            self.send(&chunk_key(&base, slot, i as u32), Some(&value), home)
                .map_err(write_err)?;
        }
        // Chunks a bigger checkpoint left in this slot: tombstones, so compaction drops them.
        for stale in count..info.chunks[slot as usize] {
            self.send(&chunk_key(&base, slot, stale), None, home)
                .map_err(write_err)?;
        }
        let manifest = Manifest {
            generation,
            next_offset,
            chunks: count,
            len: bytes.len() as u64,
            checksum: checksum(bytes),
        };
        self.send(&manifest_key(&base, slot), Some(&manifest.encode()), home)
            .map_err(write_err)?;
        self.producer
            .flush(self.timeout)
            .map_err(|source| CheckpointStoreError::Write {
                topic: self.topic.clone(),
                source,
            })?;
        let mut slots = self.slots();
        let entry = slots.entry(base).or_default();
        entry.generation = generation;
        entry.chunks[slot as usize] = count;
        Ok(generation)
    }

    fn send(&self, key: &str, value: Option<&[u8]>, partition: i32) -> Result<(), KafkaError> {
        let mut record = BaseRecord::<str, [u8]>::to(&self.topic)
            .key(key)
            .partition(partition);
        if let Some(value) = value {
            record = record.payload(value);
        }
        let mut record = record;
        // A full local queue drains as deliveries complete: retry for the timeout.
        #[allow(clippy::disallowed_methods)] // bounding a blocking wait, not event time
        let start = std::time::Instant::now();
        loop {
            match self.producer.send(record) {
                Ok(()) => return Ok(()),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back))
                    if start.elapsed() < self.timeout =>
                {
                    record = back;
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err((err, _)) => return Err(err),
            }
        }
    }

    /// The latest complete checkpoint of (`topic`, `partition`), if any.
    ///
    /// # Errors
    /// The checkpoint topic cannot be read.
    pub fn read(
        &self,
        topic: &str,
        partition: i32,
    ) -> Result<Option<Stored>, CheckpointStoreError> {
        let wanted = [(topic.to_owned(), partition)];
        Ok(self.read_all(&wanted)?.remove(&wanted[0]).flatten())
    }

    /// The latest complete checkpoint of each of `wanted`: one pass over each checkpoint
    /// partition involved, however many input partitions it holds (an assignment of many
    /// partitions reads each record once).
    ///
    /// # Errors
    /// The checkpoint topic cannot be read.
    pub fn read_all(
        &self,
        wanted: &[(String, i32)],
    ) -> Result<HashMap<(String, i32), Option<Stored>>, CheckpointStoreError> {
        let mut by_home: HashMap<i32, HashMap<String, (String, i32)>> = HashMap::new();
        for (topic, partition) in wanted {
            let base = base_key(&self.group, topic, *partition);
            by_home
                .entry(self.home_partition(&base))
                .or_default()
                .insert(base, (topic.clone(), *partition));
        }
        let mut found = HashMap::new();
        for (home, bases) in by_home {
            let mut slots: HashMap<&str, SlotRecords> = HashMap::new();
            self.scan(home, |key, value| {
                let Some((base, slot, which)) = split_key(key) else {
                    return;
                };
                let Some((base, _)) = bases.get_key_value(base) else {
                    return;
                };
                slots
                    .entry(base.as_str())
                    .or_default()
                    .take(slot, which, value);
            })?;
            for (base, (topic, partition)) in &bases {
                let records = slots.remove(base.as_str()).unwrap_or_default();
                let stored = self.settle(base, topic, *partition, records);
                found.insert((topic.clone(), *partition), stored);
            }
        }
        Ok(found)
    }

    /// Reads checkpoint partition `home` from its start to its end, record by record.
    fn scan(
        &self,
        home: i32,
        mut each: impl FnMut(&str, Option<&[u8]>),
    ) -> Result<(), CheckpointStoreError> {
        let topic_err = |source| CheckpointStoreError::Topic {
            topic: self.topic.clone(),
            source,
        };
        let consumer: BaseConsumer = self.reader.create().map_err(CheckpointStoreError::Client)?;
        let (low, high) = consumer
            .fetch_watermarks(&self.topic, home, self.timeout)
            .map_err(topic_err)?;
        if high <= low {
            return Ok(());
        }
        let mut list = TopicPartitionList::new();
        list.add_partition_offset(&self.topic, home, Offset::Beginning)
            .map_err(CheckpointStoreError::Client)?;
        consumer
            .assign(&list)
            .map_err(CheckpointStoreError::Client)?;
        #[allow(clippy::disallowed_methods)] // bounding a blocking read, not event time
        let start = std::time::Instant::now();
        let mut next = low;
        while next < high {
            if start.elapsed() > self.timeout {
                return Err(topic_err(KafkaError::MessageConsumption(
                    RDKafkaErrorCode::OperationTimedOut,
                )));
            }
            let Some(message) = consumer.poll(Duration::from_millis(100)) else {
                continue;
            };
            let message = message.map_err(topic_err)?;
            next = message.offset() + 1;
            if let Some(Ok(key)) = message.key_view::<str>() {
                each(key, message.payload());
            }
        }
        Ok(())
    }

    /// The newest complete slot of one input partition; remembers its generations and
    /// chunk counts for the next write.
    fn settle(
        &self,
        base: &str,
        topic: &str,
        partition: i32,
        records: SlotRecords,
    ) -> Option<Stored> {
        let mut candidates: Vec<(u64, Manifest)> = records
            .manifests
            .iter()
            .enumerate()
            .filter_map(|(slot, m)| m.map(|m| (slot as u64, m)))
            .collect();
        candidates.sort_by_key(|(_, m)| std::cmp::Reverse(m.generation));
        let mut found = None;
        for (slot, manifest) in &candidates {
            match assemble(&records.chunks, *slot, manifest) {
                Some(bytes) => {
                    found = Some(Stored {
                        next_offset: manifest.next_offset,
                        bytes,
                        generation: manifest.generation,
                    });
                    break;
                }
                None => warn!(
                    topic,
                    partition,
                    generation = manifest.generation,
                    "checkpoint slot incomplete or corrupt (a write cut short?); trying the other"
                ),
            }
        }
        let mut slots = self.slots();
        let info = slots.entry(base.to_owned()).or_default();
        for (slot, m) in &candidates {
            info.generation = info.generation.max(m.generation);
            info.chunks[*slot as usize] = info.chunks[*slot as usize].max(m.chunks);
        }
        debug!(topic, partition, found = found.is_some(), "checkpoint read");
        found
    }
}

mod records;
#[cfg(test)]
mod tests;
