//! Workers, one thread each: each owns the [`PartitionState`] of the partitions hashed to it.
//!
//! A worker's input is one bounded channel of [`Input`]s: message batches, and the control
//! messages that must be ordered with them (revoke, shutdown). Because control travels in the
//! same channel, "everything handed over before the revoke is applied before the revoke is
//! acknowledged" holds by construction.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::mpsc::SyncSender;
use std::time::Duration;

use callpulse_core::{FactRecord, FcrPartition, MetricsPolicy, PartitionState};
use callpulse_events::{DecodeLimits, Envelope, Rejection, SharedClock, check, decode};
use callpulse_sources::{NativeFormat, NativeMapper};
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::{Offset, TopicPartitionList};
use tokio::sync::{mpsc, watch};
use tracing::{debug, warn};

use crate::board::{PartitionBoard, Tick};
use crate::checkpoints::CheckpointStore;
use crate::dead_letters::DeadLetters;
use crate::fcr_facts::FactsOut;
use crate::ratelimit::RateLimit;
use crate::telemetry::IngestTelemetry;

/// One Kafka message, detached from the client's buffers.
#[derive(Debug)]
pub(crate) struct Raw {
    pub(crate) topic: Arc<str>,
    pub(crate) partition: i32,
    /// The message's own offset.
    pub(crate) offset: i64,
    pub(crate) payload: Vec<u8>,
}

/// What a worker receives, in order.
#[derive(Debug)]
pub(crate) enum Input {
    Batch(Vec<Raw>),
    /// Drop these partitions' state (after publishing their totals as retired) and ack.
    Revoke {
        partitions: Vec<(Arc<str>, i32)>,
        done: SyncSender<()>,
    },
    /// A partition just assigned, restored from its checkpoint; its messages follow from
    /// the checkpoint's offset. Sent by the rebalance callback before any of them.
    Restore {
        partition: (Arc<str>, i32),
        state: Box<Held>,
        next_offset: i64,
    },
    /// The consumer polled and found nothing after the batches before this one: every
    /// partition of this worker is caught up until its next message.
    Idle,
    /// Store offsets, publish a last snapshot of everything, ack and stop. (The channel
    /// itself never closes first: the consumer context holds senders, and the workers hold
    /// the consumer.)
    Shutdown {
        done: SyncSender<()>,
    },
}

/// The state of one owned partition: of an input topic, or of the FCR repartition topic.
// One per owned partition, moved only when a partition is restored or revoked: the size
// difference costs nothing, a box would cost an indirection per event.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub(crate) enum Held {
    Events(PartitionState),
    Fcr(FcrPartition),
}

impl Held {
    fn checkpoint(&self, policy: &MetricsPolicy) -> Vec<u8> {
        match self {
            Held::Events(state) => state.checkpoint(),
            Held::Fcr(fcr) => fcr.checkpoint(policy),
        }
    }
}

struct Owned {
    state: Held,
    /// The next offset to apply (the last applied + 1): what a checkpoint now would cover.
    next_offset: Option<i64>,
    /// The offset the last checkpoint written covers.
    checkpointed: Option<i64>,
    /// The last offset applied (the message's own), not yet handed to the offset store.
    pending_offset: Option<i64>,
    /// The last offset applied, if this batch applied any (for the watermark's progress).
    batch_offset: Option<i64>,
    /// For a native topic's partition, its mapper (what it remembers is not checkpointed:
    /// the event ids it derives let the partition's de-duplication drop what a restart
    /// maps again).
    mapper: Option<NativeMapper>,
}

/// Everything a worker needs, moved into its task.
pub(crate) struct Worker<C: ConsumerContext + 'static> {
    pub(crate) id: usize,
    pub(crate) inputs: mpsc::Receiver<Input>,
    pub(crate) consumer: Arc<BaseConsumer<C>>,
    pub(crate) policy: Arc<MetricsPolicy>,
    pub(crate) limits: DecodeLimits,
    pub(crate) board: Arc<PartitionBoard>,
    pub(crate) telemetry: IngestTelemetry,
    /// The process's clock: the decode range check ("absurd" event times) only.
    pub(crate) clock: SharedClock,
    /// The publisher's tick requests: read every partition at the tick's instant.
    pub(crate) ticks: watch::Receiver<Tick>,
    /// Where checkpoints go, and every how many ticks.
    pub(crate) checkpoints: Option<Arc<CheckpointStore>>,
    pub(crate) checkpoint_every_ticks: u64,
    /// Where rejected messages are copied (when enabled).
    pub(crate) dead_letters: Option<Arc<DeadLetters>>,
    /// Where FCR facts go, re-keyed by customer; its topic's partitions come back to the
    /// group's members as [`Held::Fcr`].
    pub(crate) facts: Arc<FactsOut>,
    /// Topics of native records, with their format (`[ingest.topics] native`).
    pub(crate) native: Arc<BTreeMap<String, NativeFormat>>,
}

#[allow(clippy::disallowed_methods)] // monotonic time for log rate limiting only
fn mono_now() -> std::time::Instant {
    std::time::Instant::now()
}

impl<C: ConsumerContext + 'static> Worker<C> {
    /// Runs until the input channel closes.
    pub(crate) async fn run(mut self) {
        let mut partitions: HashMap<(Arc<str>, i32), Owned> = HashMap::new();
        let mut log_limit = RateLimit::new(Duration::from_secs(10), 5);
        let mut last_tick = *self.ticks.borrow();
        let mut ticks_open = true;
        let mut ticks_seen = 0u64;
        loop {
            tokio::select! {
                // The tick first: it is ready at most once per period, so it cannot starve the
                // data, while with the data first a busy channel (a backlog being caught up)
                // would starve the tick, freezing the published figures and the offset store.
                biased;
                changed = self.ticks.changed(), if ticks_open => match changed {
                    Ok(()) => {
                        last_tick = *self.ticks.borrow_and_update();
                        ticks_seen += 1;
                        if ticks_seen.is_multiple_of(self.checkpoint_every_ticks.max(1)) {
                            self.checkpoint(&mut partitions, |_| true);
                        }
                        self.store(&mut partitions, |_| true);
                        self.publish(&mut partitions, last_tick);
                    }
                    // The publisher stopped (shutdown): only the inputs matter now.
                    Err(_) => ticks_open = false,
                },
                input = self.inputs.recv() => match input {
                    Some(Input::Batch(batch)) => self.apply(&mut partitions, batch, &mut log_limit),
                    Some(Input::Idle) => self.board.idle(partitions.keys()),
                    Some(Input::Restore { partition, mut state, next_offset }) => {
                        if let Held::Events(state) = &mut *state {
                            // What the checkpoint brought is history this process did not
                            // count: its Prometheus counters leave it out (board.restored).
                            // (An FCR partition keeps its own restored totals.)
                            let first = state.snapshot(last_tick.at);
                            self.board.restored(&partition.0, partition.1, &first);
                            // Its event time is known before its first message arrives.
                            self.board.progress([(&partition, state.high_water(), next_offset)]);
                        }
                        let mapper = self.native.get(&*partition.0).map(|f| NativeMapper::new(*f));
                        partitions.insert(partition, Owned {
                            state: *state,
                            next_offset: Some(next_offset),
                            checkpointed: Some(next_offset),
                            pending_offset: None,
                            batch_offset: None,
                            mapper,
                        });
                    }
                    Some(Input::Revoke { partitions: gone, done }) => {
                        self.checkpoint(&mut partitions, |key| gone.contains(key));
                        self.store(&mut partitions, |key| gone.contains(key));
                        for key in gone {
                            let Some(owned) = partitions.remove(&key) else {
                                continue;
                            };
                            // Only its lifetime totals outlive it: any instant will do.
                            match owned.state {
                                Held::Events(mut state) => {
                                    let last = state.snapshot(last_tick.at);
                                    self.board.retire(&key.0, key.1, &last);
                                }
                                Held::Fcr(mut fcr) => {
                                    let last = fcr.snapshot(last_tick.at, &self.policy);
                                    self.board.retire_fcr(&key.0, key.1, &last);
                                }
                            }
                            debug!(worker = self.id, topic = %key.0, partition = key.1, "partition state dropped on revoke");
                        }
                        let _ = done.send(());
                    }
                    Some(Input::Shutdown { done }) => {
                        self.checkpoint(&mut partitions, |_| true);
                        self.store(&mut partitions, |_| true);
                        // The last snapshot holds everything applied, read at the last tick's
                        // instant (the publisher's final merge uses the same one).
                        self.publish(&mut partitions, last_tick);
                        let _ = done.send(());
                        return;
                    }
                    None => break,
                },
            }
        }
        self.publish(&mut partitions, last_tick);
    }

    fn apply(
        &self,
        partitions: &mut HashMap<(Arc<str>, i32), Owned>,
        batch: Vec<Raw>,
        log_limit: &mut RateLimit,
    ) {
        let now = self.clock.now();
        let mut rejected = [0u64; Rejection::REASONS.len()];
        // Reused across the batch: a message's outcomes (one per event a native record maps
        // to), without an allocation per message on the hot path.
        let mut mapped: Vec<Envelope> = Vec::new();
        let mut results: Vec<Result<(), Rejection>> = Vec::new();
        for raw in batch {
            let key = (Arc::clone(&raw.topic), raw.partition);
            let owned = partitions.entry(key).or_insert_with(|| Owned {
                state: if *raw.topic == *self.facts.topic() {
                    Held::Fcr(FcrPartition::new(&self.policy))
                } else {
                    Held::Events(PartitionState::new(Arc::clone(&self.policy)))
                },
                next_offset: None,
                checkpointed: None,
                pending_offset: None,
                batch_offset: None,
                mapper: self.native.get(&*raw.topic).map(|f| NativeMapper::new(*f)),
            });
            results.clear();
            match &mut owned.state {
                Held::Events(state) => {
                    match &mut owned.mapper {
                        None => results.push(
                            decode(&raw.payload, now, &self.limits)
                                .and_then(|env| state.apply(&env))
                                .map(|_| ()),
                        ),
                        Some(mapper) => {
                            match native(mapper, &raw.payload, &self.limits, &mut mapped) {
                                Err(rejection) => results.push(Err(rejection)),
                                Ok(()) => results.extend(mapped.drain(..).map(|env| {
                                    check(&env, now, &self.limits)
                                        .and_then(|()| state.apply(&env))
                                        .map(|_| ())
                                })),
                            }
                        }
                    }
                    // Tagged with the event they came from, so that a tracker can tell a
                    // fact sent again after a restore (see `FcrPartition`).
                    for (index, fact) in state.drain_fcr_facts().into_iter().enumerate() {
                        self.facts.send(&FactRecord {
                            source_topic: Arc::clone(&raw.topic),
                            source_partition: raw.partition,
                            offset: raw.offset,
                            index: index as u32,
                            fact,
                        });
                    }
                }
                Held::Fcr(fcr) => results.push(match FactRecord::decode(&raw.payload) {
                    Ok(record) => {
                        fcr.apply(&record);
                        Ok(())
                    }
                    // Only an engine of another version writes what this one cannot read.
                    Err(err) => Err(Rejection::InvalidField(format!("FCR fact record: {err}"))),
                }),
            }
            for rejection in results.drain(..).filter_map(Result::err) {
                rejected[rejection.reason_index()] += 1;
                if let Some(dead_letters) = &self.dead_letters {
                    dead_letters.send(
                        &raw.topic,
                        raw.partition,
                        raw.offset,
                        &raw.payload,
                        &rejection,
                    );
                }
                let (log, hidden) = log_limit.allow(mono_now());
                if log {
                    warn!(
                        topic = %raw.topic,
                        partition = raw.partition,
                        offset = raw.offset,
                        reason = rejection.reason(),
                        suppressed_since_last = hidden,
                        error = %rejection,
                        "rejected event"
                    );
                }
            }
            owned.pending_offset = Some(raw.offset);
            owned.batch_offset = Some(raw.offset);
            owned.next_offset = Some(raw.offset + 1);
        }
        let mut progress = Vec::new();
        for (key, owned) in partitions.iter_mut() {
            let offset = owned.batch_offset.take();
            // The watermark follows the input topics only: the repartition topic's facts
            // are derived from them.
            if let (Some(offset), Held::Events(state)) = (offset, &owned.state) {
                progress.push((key, state.high_water(), offset + 1));
            }
        }
        self.board.progress(progress);
        for (i, count) in rejected.iter().enumerate() {
            if *count > 0 {
                self.telemetry
                    .rejected
                    .with_label_values(&[Rejection::REASONS[i]])
                    .inc_by(*count);
            }
        }
    }

    /// Writes a checkpoint of each partition selected by `which` that applied something
    /// since its last one, covering the input up to its next offset. A failed write is
    /// counted and logged; the partition's previous checkpoint stays valid, and the state
    /// lives on in memory.
    fn checkpoint(
        &self,
        partitions: &mut HashMap<(Arc<str>, i32), Owned>,
        which: impl Fn(&(Arc<str>, i32)) -> bool,
    ) {
        let Some(store) = &self.checkpoints else {
            return;
        };
        // The facts of the events a checkpoint covers must be on the repartition topic
        // before it: a restore never produces them again.
        self.facts.flush();
        for (key, owned) in partitions.iter_mut().filter(|(key, _)| which(key)) {
            let Some(next) = owned.next_offset else {
                continue;
            };
            if owned.checkpointed == Some(next) {
                continue;
            }
            let bytes = owned.state.checkpoint(&self.policy);
            match store.write(&key.0, key.1, next, &bytes) {
                Ok(generation) => {
                    owned.checkpointed = Some(next);
                    self.telemetry
                        .checkpoints
                        .with_label_values(&["written"])
                        .inc();
                    self.telemetry.checkpoint_bytes.set(bytes.len() as i64);
                    debug!(topic = %key.0, partition = key.1, next, generation, bytes = bytes.len(), "checkpoint written");
                }
                Err(err) => {
                    self.telemetry
                        .checkpoints
                        .with_label_values(&["write_failed"])
                        .inc();
                    warn!(topic = %key.0, partition = key.1, %err, "checkpoint write failed; the previous one stays in use, the others wait for the next round");
                    // The broker is most likely unreachable: trying every other partition
                    // would hold this worker (and a revoke waiting on it) for a timeout each.
                    return;
                }
            }
        }
    }

    /// Hands the last applied offset of each partition selected by `which` to librdkafka's
    /// offset store, in one call. The auto-commit timer commits what is stored; revoke and
    /// shutdown commit synchronously after this ran. Storing once per tick rather than per
    /// batch matters: each store takes a lock the poll thread also needs.
    fn store(
        &self,
        partitions: &mut HashMap<(Arc<str>, i32), Owned>,
        which: impl Fn(&(Arc<str>, i32)) -> bool,
    ) {
        // A rejected message's offset is stored only once its dead letter is confirmed, an
        // applied one's once its FCR facts are.
        if let Some(dead_letters) = &self.dead_letters {
            dead_letters.flush();
        }
        self.facts.flush();
        let mut list = TopicPartitionList::new();
        let checkpointing = self.checkpoints.is_some();
        for (key, owned) in partitions.iter_mut().filter(|(key, _)| which(key)) {
            let Some(last) = owned.pending_offset.take() else {
                continue;
            };
            // With checkpoints, the group's offset never runs ahead of the checkpoint: a
            // partition whose checkpoint is missing or refused starts empty from that
            // offset, so everything after it must still be in the topic to re-read, or
            // its history would be lost. Without them, the last applied message counts.
            let next = if checkpointing {
                match owned.checkpointed {
                    Some(covered) => covered,
                    None => {
                        owned.pending_offset = Some(last);
                        continue;
                    }
                }
            } else {
                last + 1
            };
            if checkpointing && next <= last {
                // Applied beyond the checkpoint: stored again once the next one covers it.
                owned.pending_offset = Some(last);
            }
            // `store_offsets` takes the next offset to read, i.e. the last applied + 1
            // (unlike `store_offset`, which is given the message's own offset and adds 1
            // itself). Pinned by the e2e restart test.
            let _ = list.add_partition_offset(&key.0, key.1, Offset::Offset(next));
        }
        if list.count() > 0
            && let Err(err) = self.consumer.store_offsets(&list)
        {
            // Fails for partitions revoked meanwhile; their next owner re-reads.
            debug!(worker = self.id, %err, "could not store offsets");
        }
    }

    /// Reads every owned partition at the tick's instant, publishes, and acknowledges the
    /// tick to the publisher.
    fn publish(&self, partitions: &mut HashMap<(Arc<str>, i32), Owned>, tick: Tick) {
        for ((topic, partition), owned) in partitions.iter_mut() {
            match &mut owned.state {
                // An unchanged partition read in the same bucket keeps its published
                // snapshot: reading 100 queues' windows costs milliseconds that applying
                // events needs more.
                Held::Events(state) => {
                    if state.changed_since_snapshot(tick.at)
                        || !self.board.reuse(topic, *partition, tick.seq)
                    {
                        let snapshot = Arc::new(state.snapshot(tick.at));
                        self.board.publish(topic, *partition, tick.seq, snapshot);
                    }
                }
                // Every partition has reported its facts up to the watermark: windows that
                // closed before it settle even when no new fact arrives (a quiet night).
                Held::Fcr(fcr) => {
                    fcr.advance(tick.at);
                    let part = Arc::new(fcr.snapshot(tick.at, &self.policy));
                    self.board.publish_fcr(topic, *partition, tick.seq, part);
                }
            }
        }
        self.board.ack(self.id, tick.seq);
    }
}

/// A native topic's message mapped to contract events (into `out`), or why it cannot be.
fn native(
    mapper: &mut NativeMapper,
    payload: &[u8],
    limits: &DecodeLimits,
    out: &mut Vec<Envelope>,
) -> Result<(), Rejection> {
    if payload.len() > limits.max_payload_bytes {
        return Err(Rejection::PayloadTooLarge(payload.len()));
    }
    let text = std::str::from_utf8(payload)
        .map_err(|e| Rejection::MalformedJson(format!("not UTF-8: {e}")))?;
    out.clear();
    mapper
        .map(text, out)
        .map_err(|(reason, detail)| Rejection::Unmappable { reason, detail })
}
