//! The Kafka consumer: group membership, the poll thread, and safe partition hand-over.
//!
//! One dedicated OS thread polls librdkafka (rebalance callbacks run inside `poll`, so they
//! may block briefly without stalling the async runtime) and routes each message to the
//! worker that owns its partition, in batches. On revoke, the callback hands the revoke to
//! the workers *through the same channels as the messages*, waits (bounded) until they have
//! applied everything before it, then commits synchronously, before librdkafka lets the
//! partitions go. Messages still buffered for a revoked partition are dropped unapplied:
//! their offsets were never stored, so the next owner reads them.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use callpulse_core::MetricsPolicy;
use callpulse_events::SharedClock;
use prometheus::Registry;
use rdkafka::TopicPartitionList;
use rdkafka::client::ClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{
    BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance, RebalanceProtocol,
};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::statistics::Statistics;
use rdkafka::types::RDKafkaRespErr;
use thiserror::Error;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, info, warn};

use crate::board::PartitionBoard;
use crate::checkpoints::{CheckpointStore, StoreConfig};
use crate::config::IngestConfig;
use crate::dead_letters::DeadLetters;
use crate::ratelimit::RateLimit;
use crate::restore::{restore_assigned, worker_of};
use crate::telemetry::IngestTelemetry;
use crate::topics::{TopicSpec, ensure_topic};
use crate::worker::{Input, Raw, Worker};

/// Why ingest could not start or stopped abnormally.
#[derive(Debug, Error)]
pub enum IngestError {
    /// The Kafka client rejected the configuration (a bad librdkafka property or value).
    #[error("could not create the kafka consumer")]
    Client(#[source] KafkaError),
    /// Subscribing to the configured topics failed.
    #[error("could not subscribe to the configured topics")]
    Subscribe(#[source] KafkaError),
    /// The engine's own metrics could not be registered (a duplicate registration).
    #[error("could not register ingest telemetry")]
    Telemetry(#[source] prometheus::Error),
    /// A worker ended while the poll thread still had input for it (it panicked).
    #[error("worker {0} stopped unexpectedly")]
    WorkerGone(usize),
    /// The poll thread could not be spawned or panicked.
    #[error("the kafka poll thread failed")]
    PollThread,
    /// Checkpoints are enabled but their topic cannot be used.
    #[error(
        "checkpoints enabled but unavailable (set ingest.checkpoints.enabled = false to run without)"
    )]
    Checkpoints(#[source] crate::checkpoints::CheckpointStoreError),
    /// The snapshot topic or its clients cannot be used.
    #[error(
        "the snapshot topic is unavailable (set ingest.shared.enabled = false to show only this instance's partitions)"
    )]
    Shared(#[source] KafkaError),
    /// The FCR repartition topic or its producer cannot be used.
    #[error("the FCR repartition topic is unavailable (ingest.fcr)")]
    FcrFacts(#[source] KafkaError),
    /// Dead letters are enabled but their topic or producer cannot be used.
    #[error(
        "dead letters enabled but unavailable (set ingest.dead_letters.enabled = false to run without)"
    )]
    DeadLetters(#[source] KafkaError),
    /// A worker thread could not be spawned.
    #[error("worker thread {0} could not be started")]
    WorkerThread(usize),
    /// The configuration is unusable (e.g. zero workers).
    #[error("invalid ingest configuration: {0}")]
    Config(String),
}

/// Shared between the poll thread and the rebalance callbacks it runs.
struct Ctx {
    workers: Vec<mpsc::Sender<Input>>,
    /// Partitions revoked since the poll loop last looked; it purges their buffered messages.
    revoked: Mutex<Vec<(Arc<str>, i32)>>,
    revoked_flag: AtomicBool,
    /// Set once the workers have been told to stop: the revoke that closing the consumer
    /// triggers then only commits (the workers already drained and are gone).
    closing: AtomicBool,
    drain_timeout: Duration,
    telemetry: IngestTelemetry,
    ready: Arc<AtomicBool>,
    error_log: Mutex<RateLimit>,
    /// Where each partition's log end goes, for the instance watermark.
    board: Arc<PartitionBoard>,
    /// Checkpoints to restore assigned partitions from (when enabled).
    checkpoints: Option<Arc<CheckpointStore>>,
    policy: Arc<MetricsPolicy>,
    /// Wall time for "when was the cluster last heard from".
    clock: SharedClock,
    /// The FCR repartition topic (its partitions hold trackers, not events).
    fcr_topic: Arc<str>,
}

impl ClientContext for Ctx {
    fn stats(&self, stats: Statistics) {
        // Statistics come every second whether or not the brokers answer: they are the
        // heartbeat of "when was the cluster last heard from".
        if stats.brokers.values().any(|b| b.state == "UP") {
            self.board.contact(self.clock.now());
        }
        for (topic, t) in &stats.topics {
            for (partition, p) in &t.partitions {
                // -1001 (invalid) until the first fetch response tells the log end.
                if *partition >= 0 && p.hi_offset >= 0 {
                    self.board.log_end(topic, *partition, p.hi_offset);
                }
                // Partition -1 is librdkafka's internal UA partition; -1 offsets are unknown.
                // The lag is counted from what the consumer has read (`app_offset`), not from
                // the committed offset, which with checkpoints trails by up to one
                // checkpoint interval on purpose (see `Worker::store`).
                if *partition >= 0 && p.hi_offset >= 0 && p.app_offset >= 0 {
                    self.telemetry
                        .lag
                        .with_label_values(&[topic.as_str(), &partition.to_string()])
                        .set((p.hi_offset - p.app_offset).max(0));
                }
            }
        }
    }

    fn error(&self, error: KafkaError, reason: &str) {
        self.telemetry.consumer_errors.inc();
        let (log, hidden) = self
            .error_log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .allow(mono_now());
        if log {
            warn!(%error, reason, suppressed_since_last = hidden, "kafka client error");
        }
    }
}

#[allow(clippy::disallowed_methods)] // monotonic time for log rate limiting only
fn mono_now() -> std::time::Instant {
    std::time::Instant::now()
}

/// A running ingest pipeline.
#[derive(Debug)]
pub struct Ingest {
    /// Where workers publish partition snapshots; the publisher reads it.
    pub board: Arc<PartitionBoard>,
    /// The ingest metrics.
    pub telemetry: IngestTelemetry,
    /// The whole center's parts, when `ingest.shared` is enabled.
    pub shared: Option<Arc<SharedView>>,
    ready: Arc<AtomicBool>,
    poll_thread: Option<JoinHandle<Result<(), IngestError>>>,
    workers: Vec<JoinHandle<()>>,
}

impl Ingest {
    /// A handle that reads true once the consumer has received its first assignment.
    pub fn ready_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.ready)
    }

    /// Waits until the poll thread and every worker have finished (after the shutdown token
    /// was cancelled, or on a fatal error).
    ///
    /// # Errors
    /// The poll thread's error, if it ended abnormally.
    pub async fn join(mut self) -> Result<(), IngestError> {
        let poll = self.poll_thread.take();
        let result = match poll {
            Some(handle) => tokio::task::spawn_blocking(move || handle.join())
                .await
                .map_err(|_| IngestError::PollThread)?
                .map_err(|_| IngestError::PollThread)?,
            None => Ok(()),
        };
        if let Some(shared) = self.shared.take() {
            let _ = tokio::task::spawn_blocking(move || shared.close()).await;
        }
        let workers = std::mem::take(&mut self.workers);
        // A worker that panicked has nothing more to hand back; the poll thread's result says
        // whether ingest stopped cleanly.
        let _ = tokio::task::spawn_blocking(move || {
            for worker in workers {
                let _ = worker.join();
            }
        })
        .await;
        result
    }
}

/// Starts the consumer, its poll thread and the workers. Must run inside a tokio runtime.
/// Everything stops once `shutdown` is cancelled: intake stops, workers apply what they were
/// handed and publish, offsets are committed, the consumer leaves the group.
///
/// # Errors
/// An [`IngestError`] when the client cannot be created or subscribed.
pub fn start(
    config: &IngestConfig,
    policy: Arc<MetricsPolicy>,
    registry: &Registry,
    clock: SharedClock,
    shutdown: CancellationToken,
) -> Result<Ingest, IngestError> {
    if config.workers == 0 || config.batch_size == 0 || config.channel_batches == 0 {
        return Err(IngestError::Config(
            "workers, batch_size and channel_batches must be > 0".into(),
        ));
    }
    if config.fcr.partitions < 1 || config.fcr.replication < 1 {
        return Err(IngestError::Config(
            "ingest.fcr needs partitions >= 1 and replication >= 1".into(),
        ));
    }
    let shared = &config.shared;
    if shared.enabled && (shared.interval_ms == 0 || shared.chunk_bytes == 0) {
        return Err(IngestError::Config(
            "ingest.shared needs interval_ms > 0 and chunk_bytes > 0".into(),
        ));
    }
    let fcr_topic = config.fcr_topic();
    if config.topics.inputs().contains(&fcr_topic.as_str()) {
        return Err(IngestError::Config(format!(
            "ingest.fcr.topic {fcr_topic:?} is also an input topic"
        )));
    }
    if let Some(clash) = config
        .topics
        .native
        .keys()
        .find(|name| config.topics.all().contains(&name.as_str()))
    {
        return Err(IngestError::Config(format!(
            "ingest.topics.native names {clash:?}, a contract topic: a topic carries one or the other"
        )));
    }
    let telemetry = IngestTelemetry::register(registry).map_err(IngestError::Telemetry)?;
    let board = Arc::new(PartitionBoard::new(config.workers));
    let ready = Arc::new(AtomicBool::new(false));
    let (senders, receivers): (Vec<_>, Vec<_>) = (0..config.workers)
        .map(|_| mpsc::channel(config.channel_batches))
        .unzip();
    let checkpoints = if config.checkpoints.enabled {
        let store = CheckpointStore::open(&StoreConfig {
            brokers: config.brokers.clone(),
            group: config.group_id.clone(),
            topic: config.checkpoints.topic.clone(),
            partitions: config.checkpoints.partitions,
            replication: config.checkpoints.replication,
            chunk_bytes: config.checkpoints.chunk_bytes,
            timeout: Duration::from_millis(config.checkpoints.timeout_ms),
            librdkafka: config.connection_properties().into_iter().collect(),
        })
        .map_err(IngestError::Checkpoints)?;
        Some(Arc::new(store))
    } else {
        None
    };
    let checkpoint_every_ticks = (config.checkpoints.interval_ms / config.tick_ms.max(1)).max(1);
    let dead_letters = if config.dead_letters.enabled {
        Some(Arc::new(open_dead_letters(config, &telemetry)?))
    } else {
        None
    };
    let facts = Arc::new(open_fcr_facts(config, &board)?);
    let shared = if config.shared.enabled {
        Some(open_shared(config, &policy)?)
    } else {
        None
    };
    let ctx = Ctx {
        fcr_topic: Arc::from(fcr_topic.as_str()),
        checkpoints: checkpoints.clone(),
        policy: Arc::clone(&policy),
        clock: Arc::clone(&clock),
        workers: senders.clone(),
        revoked: Mutex::new(Vec::new()),
        revoked_flag: AtomicBool::new(false),
        closing: AtomicBool::new(false),
        drain_timeout: Duration::from_millis(config.drain_timeout_ms),
        telemetry: telemetry.clone(),
        ready: Arc::clone(&ready),
        error_log: Mutex::new(RateLimit::new(Duration::from_secs(30), 3)),
        board: Arc::clone(&board),
    };
    let consumer: Arc<BaseConsumer<Ctx>> = Arc::new(
        client_config(config)
            .create_with_context(ctx)
            .map_err(IngestError::Client)?,
    );
    let mut topics = config.topics.inputs();
    topics.push(&fcr_topic);
    consumer
        .subscribe(&topics)
        .map_err(IngestError::Subscribe)?;
    info!(brokers = %config.brokers, group = %config.group_id, ?topics, workers = config.workers, "ingest started");

    // Each worker on a thread of its own: decoding, applying and reading partitions is CPU
    // work that must not occupy the async runtime's threads (HTTP, the publisher). The
    // worker's loop is still a future (channels, ticks), driven by `Handle::block_on`.
    let runtime = tokio::runtime::Handle::current();
    let workers = receivers
        .into_iter()
        .enumerate()
        .map(|(id, inputs)| {
            let worker = Worker {
                id,
                inputs,
                consumer: Arc::clone(&consumer),
                policy: Arc::clone(&policy),
                limits: config.decode_limits(),
                board: Arc::clone(&board),
                telemetry: telemetry.clone(),
                clock: Arc::clone(&clock),
                ticks: board.ticks(),
                checkpoints: checkpoints.clone(),
                checkpoint_every_ticks,
                dead_letters: dead_letters.clone(),
                facts: Arc::clone(&facts),
                native: Arc::new(config.topics.native.clone()),
            };
            let runtime = runtime.clone();
            std::thread::Builder::new()
                .name(format!("callpulse-worker-{id}"))
                .spawn(move || runtime.block_on(worker.run()))
                .map_err(|_| IngestError::WorkerThread(id))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let batch_size = config.batch_size;
    let poll_thread = std::thread::Builder::new()
        .name("callpulse-poll".into())
        .spawn(move || {
            let result = poll_loop(&consumer, senders, batch_size, &shutdown);
            if result.is_err() {
                shutdown.cancel();
            }
            // Closing the consumer runs librdkafka's final rebalance callbacks in the thread
            // that drops the last handle; make that this thread, never an async worker.
            for _ in 0..200 {
                if Arc::strong_count(&consumer) == 1 {
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            close(consumer);
            result
        })
        .map_err(|_| IngestError::PollThread)?;
    Ok(Ingest {
        board,
        telemetry,
        shared,
        ready,
        poll_thread: Some(poll_thread),
        workers,
    })
}

fn client_config(config: &IngestConfig) -> ClientConfig {
    let mut cc = ClientConfig::new();
    cc.set("bootstrap.servers", &config.brokers)
        .set("group.id", &config.group_id)
        .set("enable.auto.commit", "true")
        .set("auto.commit.interval.ms", "1000")
        .set("auto.offset.reset", "earliest")
        // Statistics carry each partition's log end, which tells the instance watermark
        // whether a partition is caught up; their age bounds how long a fresh lag spike can
        // go unnoticed there (docs/time.md).
        .set("statistics.interval.ms", "1000")
        .set("enable.partition.eof", "false")
        // Incremental rebalancing: when an instance joins or leaves, only the partitions that
        // move are revoked, so the others keep their windows.
        .set("partition.assignment.strategy", "cooperative-sticky");
    for (key, value) in &config.librdkafka {
        cc.set(key, value);
    }
    // Offsets are stored by the workers after apply; an automatic store at poll time would
    // commit messages that were never applied.
    cc.set("enable.auto.offset.store", "false");
    cc
}

/// How long closing the consumer (leaving the group, the final revoke and its commit) may
/// take before the engine stops without it.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(15);

/// Closes the consumer within [`CLOSE_TIMEOUT`]. rdkafka's own drop polls until librdkafka
/// says the consumer is closed, with no limit: a group coordinator that never answers the
/// leave (seen with the mock cluster under load) would hang the shutdown for good. Past the
/// limit the handle is leaked to the process exit: offsets not committed by then are those
/// of events the next owner re-reads and its restored de-duplication drops (docs/state.md).
fn close(consumer: Arc<BaseConsumer<Ctx>>) {
    let Ok(consumer) = Arc::try_unwrap(consumer) else {
        warn!("the consumer is still shared at shutdown; it closes when its last user drops it");
        return;
    };
    if consumer.close_queue().is_err() {
        // rdkafka's drop reports and handles it.
        return;
    }
    let deadline = mono_now() + CLOSE_TIMEOUT;
    while !consumer.closed() && mono_now() < deadline {
        // Messages still delivered are neither applied nor stored: the next owner reads them.
        let _ = consumer.poll(Duration::from_millis(100));
    }
    if consumer.closed() {
        drop(consumer);
    } else {
        warn!(
            timeout_s = CLOSE_TIMEOUT.as_secs(),
            "the Kafka consumer did not close in time; stopping without it"
        );
        // Leaked on purpose: dropping it would start the unbounded wait again.
        let _leaked = std::mem::ManuallyDrop::new(consumer);
    }
}

fn poll_loop(
    consumer: &BaseConsumer<Ctx>,
    senders: Vec<mpsc::Sender<Input>>,
    batch_size: usize,
    shutdown: &CancellationToken,
) -> Result<(), IngestError> {
    let ctx = consumer.context();
    let mut buffers: Vec<Vec<Raw>> = senders
        .iter()
        .map(|_| Vec::with_capacity(batch_size))
        .collect();
    let mut topics: HashMap<String, Arc<str>> = HashMap::new();
    let mut consumed: HashMap<Arc<str>, u64> = HashMap::new();
    let mut error_log = RateLimit::new(Duration::from_secs(30), 3);
    let flush = |buffers: &mut Vec<Vec<Raw>>, consumed: &mut HashMap<Arc<str>, u64>| {
        for (topic, count) in consumed.drain() {
            ctx.telemetry
                .consumed
                .with_label_values(&[&topic])
                .inc_by(count);
        }
        if buffers.iter().any(|b| !b.is_empty()) {
            ctx.board.message(ctx.clock.now());
        }
        for (i, buffer) in buffers.iter_mut().enumerate() {
            if !buffer.is_empty() {
                let batch = std::mem::replace(buffer, Vec::with_capacity(batch_size));
                senders[i]
                    .blocking_send(Input::Batch(batch))
                    .map_err(|_| IngestError::WorkerGone(i))?;
            }
        }
        Ok::<(), IngestError>(())
    };
    while !shutdown.is_cancelled() {
        let pending = buffers.iter().any(|b| !b.is_empty());
        let polled = consumer.poll(if pending {
            Duration::ZERO
        } else {
            Duration::from_millis(100)
        });
        if ctx.revoked_flag.swap(false, Ordering::AcqRel) {
            let gone =
                std::mem::take(&mut *ctx.revoked.lock().unwrap_or_else(PoisonError::into_inner));
            for buffer in &mut buffers {
                buffer.retain(|raw| {
                    !gone
                        .iter()
                        .any(|(t, p)| *t == raw.topic && *p == raw.partition)
                });
            }
        }
        match polled {
            Some(Ok(msg)) => {
                let topic = match topics.get(msg.topic()) {
                    Some(topic) => Arc::clone(topic),
                    None => {
                        let topic: Arc<str> = Arc::from(msg.topic());
                        topics.insert(msg.topic().to_owned(), Arc::clone(&topic));
                        topic
                    }
                };
                // Events only: the repartition topic's facts are derived from them.
                if topic != ctx.fcr_topic {
                    *consumed.entry(Arc::clone(&topic)).or_default() += 1;
                }
                let worker = worker_of(&topic, msg.partition(), buffers.len());
                buffers[worker].push(Raw {
                    topic,
                    partition: msg.partition(),
                    offset: msg.offset(),
                    payload: msg.payload().map(<[u8]>::to_vec).unwrap_or_default(),
                });
                if buffers[worker].len() >= batch_size {
                    flush(&mut buffers, &mut consumed)?;
                }
            }
            Some(Err(err)) => {
                ctx.telemetry.consumer_errors.inc();
                let (log, hidden) = error_log.allow(mono_now());
                if log {
                    warn!(%err, suppressed_since_last = hidden, "kafka consumer error");
                }
            }
            None => {
                flush(&mut buffers, &mut consumed)?;
                if !pending {
                    // A whole poll interval without a message: every partition is at its
                    // log's end as far as the consumer knows. Behind the data in each
                    // channel, so it never overtakes a batch; skipped when a channel is full
                    // (that worker has data to apply, so it is not idle anyway).
                    for sender in &senders {
                        let _ = sender.try_send(Input::Idle);
                    }
                }
            }
        }
    }
    info!("shutdown: stopping intake, draining workers");
    flush(&mut buffers, &mut consumed)?;
    if !ctx.broadcast(|done| Input::Shutdown { done }) {
        warn!("workers did not drain in time on shutdown");
    }
    ctx.closing.store(true, Ordering::Release);
    ctx.commit(consumer, "shutdown");
    consumer.unsubscribe();
    info!("ingest stopped");
    Ok(())
}

mod outputs;
mod rebalance;

use outputs::{open_dead_letters, open_fcr_facts, open_shared};

use crate::shared::SharedView;
