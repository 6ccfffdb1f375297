//! The `[ingest]` configuration section.

use std::collections::BTreeMap;

use callpulse_events::{DecodeLimits, Topic};
use callpulse_sources::NativeFormat;
use serde::{Deserialize, Serialize};

/// Kafka topic names, one per contract topic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TopicsConfig {
    /// Call events (`call_queued`, `call_answered`, `call_abandoned`, `call_completed`).
    pub calls: String,
    /// Agent state events.
    pub agents: String,
    /// Ticket events.
    pub tickets: String,
    /// CSAT survey responses.
    pub surveys: String,
    /// Topics that carry a system's native records instead of contract events, by name,
    /// with their format: `amazon-connect` (contact records and agent events, as bridged
    /// from Kinesis) or `genesys-cloud` (conversation details). Each message is mapped to
    /// contract events in the partition it arrived in (docs/sources.md).
    pub native: BTreeMap<String, NativeFormat>,
}

impl Default for TopicsConfig {
    fn default() -> Self {
        TopicsConfig {
            calls: Topic::Calls.default_name().to_owned(),
            agents: Topic::Agents.default_name().to_owned(),
            tickets: Topic::Tickets.default_name().to_owned(),
            surveys: Topic::Surveys.default_name().to_owned(),
            native: BTreeMap::new(),
        }
    }
}

impl TopicsConfig {
    /// The configured name of `topic`.
    pub fn name(&self, topic: Topic) -> &str {
        match topic {
            Topic::Calls => &self.calls,
            Topic::Agents => &self.agents,
            Topic::Tickets => &self.tickets,
            Topic::Surveys => &self.surveys,
        }
    }

    /// All four names, in contract order.
    pub fn all(&self) -> Vec<&str> {
        Topic::ALL.iter().map(|t| self.name(*t)).collect()
    }

    /// The contract topics and the native ones: every topic the engine subscribes to.
    pub fn inputs(&self) -> Vec<&str> {
        let mut topics = self.all();
        topics.extend(self.native.keys().map(String::as_str));
        topics
    }
}

/// How the engine consumes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IngestConfig {
    /// Kafka bootstrap servers, `host:port[,host:port...]`.
    pub brokers: String,
    /// Consumer group id. Every instance of one deployment uses the same id; Kafka spreads
    /// the partitions over them (scaling out = more instances).
    pub group_id: String,
    /// Topic names.
    pub topics: TopicsConfig,
    /// Worker threads applying events. Partitions are spread over them by hash; more workers
    /// than cores buys nothing.
    pub workers: usize,
    /// Messages handed from the poll thread to a worker in one batch, at most.
    pub batch_size: usize,
    /// Batches queued per worker before the poll thread waits (backpressure, bounded memory).
    pub channel_batches: usize,
    /// How often workers publish partition snapshots (ms); also the WebSocket update period.
    pub tick_ms: u64,
    /// How long a revoke or shutdown waits for workers to apply what they were handed (ms).
    /// Keep it well under `session.timeout.ms` (librdkafka default 45000).
    pub drain_timeout_ms: u64,
    /// Largest accepted message payload (bytes).
    pub max_payload_bytes: usize,
    /// How far ahead of the engine's clock an event time may be (s).
    pub max_future_secs: u64,
    /// How far behind the engine's clock an event time may be (s); 0 accepts any age.
    pub max_past_secs: u64,
    /// librdkafka properties passed through untouched (e.g. `security.protocol`,
    /// `sasl.mechanisms`, `ssl.ca.location`, `auto.offset.reset`). They override the
    /// engine's own settings, except `enable.auto.offset.store`, which must stay false.
    /// Values may be written as strings, numbers or booleans.
    #[serde(deserialize_with = "properties")]
    pub librdkafka: BTreeMap<String, String>,
    /// Partition state checkpoints (see `docs/state.md`).
    pub checkpoints: CheckpointsConfig,
    /// Where rejected messages are copied.
    pub dead_letters: DeadLettersConfig,
    /// The FCR repartition topic.
    pub fcr: FcrConfig,
    /// The snapshot topic that gives every instance the whole center.
    pub shared: SharedConfig,
}

/// The snapshot topic: each instance publishes its partitions' read models there and reads
/// everyone's, so its API, feed and wallboard show the whole center (`docs/state.md`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SharedConfig {
    /// Publish and read partition snapshots. Off, an instance shows only its own partitions.
    pub enabled: bool,
    /// The compacted topic (created if missing, one partition). Empty:
    /// `<group_id>.snapshots` (one view per deployment).
    pub topic: String,
    /// This instance's id in the view; empty: `$HOSTNAME-<pid>`.
    pub instance: String,
    /// How often each owned partition's snapshot is published (ms).
    pub interval_ms: u64,
    /// Parts published longer ago than this (s) are left out of the view (an instance gone
    /// whose partitions nobody took, or a previous deployment's).
    pub expire_secs: u64,
    /// Largest record written (bytes); a bigger part is split into chunks.
    pub chunk_bytes: usize,
    /// How long creating the topic and flushing at shutdown may take (ms).
    pub timeout_ms: u64,
}

impl Default for SharedConfig {
    fn default() -> Self {
        SharedConfig {
            enabled: true,
            topic: String::new(),
            instance: String::new(),
            interval_ms: 1000,
            expire_secs: 600,
            chunk_bytes: 900_000,
            timeout_ms: 10_000,
        }
    }
}

/// The repartition topic that brings a customer's contacts together for FCR, whichever
/// partition (and instance) read them (see `docs/state.md`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FcrConfig {
    /// The topic (created if missing). The group consumes it beside the input topics.
    /// Empty: `<group_id>.fcr-facts`, so that two deployments (groups) on one cluster never
    /// read each other's facts.
    pub topic: String,
    /// Its partitions and replication factor when it is created. Facts are spread over
    /// the partitions it has, by customer.
    pub partitions: i32,
    pub replication: i32,
    /// How long a worker waits for its facts to be confirmed before it stores offsets or
    /// writes a checkpoint (ms).
    pub timeout_ms: u64,
}

impl Default for FcrConfig {
    fn default() -> Self {
        FcrConfig {
            topic: String::new(),
            partitions: 4,
            replication: 1,
            timeout_ms: 10_000,
        }
    }
}

/// The dead-letter topic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeadLettersConfig {
    /// Copy every rejected message (not duplicates) to `topic`, with the reason and its
    /// source in headers. Off, rejections are only counted and logged.
    pub enabled: bool,
    /// The topic (created if missing, with the broker's default retention).
    pub topic: String,
    /// Its partitions and replication factor when it is created.
    pub partitions: i32,
    pub replication: i32,
    /// Longest body copied (bytes); a longer message is cut there and marked truncated.
    pub max_bytes: usize,
    /// How long a worker waits for dead letters to be confirmed before storing offsets (ms).
    pub timeout_ms: u64,
}

impl Default for DeadLettersConfig {
    fn default() -> Self {
        DeadLettersConfig {
            enabled: true,
            topic: "callpulse.dead-letters".to_owned(),
            partitions: 4,
            replication: 1,
            max_bytes: 900_000,
            timeout_ms: 10_000,
        }
    }
}

/// Where and how often partition state is checkpointed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CheckpointsConfig {
    /// Checkpoint partition state to Kafka and restore it on assignment. Off, a partition
    /// starts empty from the group's committed offset, as after any restart.
    pub enabled: bool,
    /// The compacted topic the checkpoints go to (created if missing).
    pub topic: String,
    /// Partitions and replication factor of that topic when it is created.
    pub partitions: i32,
    pub replication: i32,
    /// How often each changed partition is checkpointed (ms); also on revoke and shutdown.
    /// The group's committed offsets follow the checkpoints, trailing by up to this.
    pub interval_ms: u64,
    /// Largest record written (bytes); a bigger state is split into chunks. Keep under the
    /// topic's `max.message.bytes` (1 MB by default).
    pub chunk_bytes: usize,
    /// How long a checkpoint write or read may take (ms).
    pub timeout_ms: u64,
}

impl Default for CheckpointsConfig {
    fn default() -> Self {
        CheckpointsConfig {
            enabled: true,
            topic: "callpulse.checkpoints".to_owned(),
            partitions: 8,
            replication: 1,
            interval_ms: 30_000,
            chunk_bytes: 900_000,
            timeout_ms: 10_000,
        }
    }
}

/// A librdkafka property value: librdkafka takes strings, but `6000` or `true` written in
/// TOML (or read from an environment variable) should not need quoting.
#[derive(Deserialize)]
#[serde(untagged)]
enum Property {
    Text(String),
    Integer(i64),
    Float(f64),
    Flag(bool),
}

fn properties<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<String, String>, D::Error> {
    let raw = BTreeMap::<String, Property>::deserialize(d)?;
    Ok(raw
        .into_iter()
        .map(|(key, value)| {
            let value = match value {
                Property::Text(text) => text,
                Property::Integer(n) => n.to_string(),
                Property::Float(x) => x.to_string(),
                Property::Flag(b) => b.to_string(),
            };
            (key, value)
        })
        .collect())
}

impl Default for IngestConfig {
    fn default() -> Self {
        IngestConfig {
            brokers: "127.0.0.1:9092".to_owned(),
            group_id: "callpulse".to_owned(),
            topics: TopicsConfig::default(),
            workers: 2,
            batch_size: 2048,
            channel_batches: 16,
            tick_ms: 1000,
            drain_timeout_ms: 10_000,
            max_payload_bytes: 64 * 1024,
            max_future_secs: 300,
            max_past_secs: 7 * 24 * 3600,
            librdkafka: BTreeMap::new(),
            checkpoints: CheckpointsConfig::default(),
            dead_letters: DeadLettersConfig::default(),
            fcr: FcrConfig::default(),
            shared: SharedConfig::default(),
        }
    }
}

impl IngestConfig {
    /// The pass-through librdkafka settings about reaching the cluster (security, SASL, SSL,
    /// client id, sockets, brokers, metadata), which every client of the cluster needs: the
    /// engine's producers and admin calls, and `callpulse simulate`. Consumer-only settings
    /// stay with the consumer.
    pub fn connection_properties(&self) -> BTreeMap<String, String> {
        const PREFIXES: [&str; 8] = [
            "security.",
            "sasl.",
            "ssl.",
            "ssl_",
            "client.",
            "socket.",
            "broker.",
            "metadata.",
        ];
        self.librdkafka
            .iter()
            .filter(|(key, _)| PREFIXES.iter().any(|prefix| key.starts_with(prefix)))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// The FCR repartition topic's name (`fcr.topic`, or derived from the group).
    pub fn fcr_topic(&self) -> String {
        if self.fcr.topic.is_empty() {
            format!("{}.fcr-facts", self.group_id)
        } else {
            self.fcr.topic.clone()
        }
    }

    /// The snapshot topic's name (`shared.topic`, or derived from the group).
    pub fn shared_topic(&self) -> String {
        if self.shared.topic.is_empty() {
            format!("{}.snapshots", self.group_id)
        } else {
            self.shared.topic.clone()
        }
    }

    /// The decoder's limits from this section.
    pub fn decode_limits(&self) -> DecodeLimits {
        DecodeLimits {
            max_payload_bytes: self.max_payload_bytes,
            max_future_ms: self.max_future_secs as i64 * 1000,
            max_past_ms: (self.max_past_secs > 0).then(|| self.max_past_secs as i64 * 1000),
            ..DecodeLimits::default()
        }
    }
}
