//! Restoring partitions on assignment: inside the rebalance callback, before librdkafka
//! starts fetching, each newly assigned partition's checkpoint is read and restored, handed
//! to the worker that will own it (ahead of any of its messages, through the same channel),
//! and the partition is assigned at the checkpoint's offset. The group's committed offset is
//! only the fallback: without a usable checkpoint the partition starts empty from it.

use std::hash::BuildHasher;
use std::sync::Arc;

use callpulse_core::{FcrPartition, MetricsPolicy, PartitionState};
use rdkafka::{Offset, TopicPartitionList};
use rustc_hash::FxBuildHasher;
use tokio::sync::mpsc;
use tracing::{info, warn};

use crate::checkpoints::CheckpointStore;
use crate::telemetry::IngestTelemetry;
use crate::worker::{Held, Input};

/// The worker that owns (`topic`, `partition`) among `workers`.
pub(crate) fn worker_of(topic: &str, partition: i32, workers: usize) -> usize {
    FxBuildHasher.hash_one((topic, partition)) as usize % workers.max(1)
}

/// The state `bytes` hold for a partition of `topic`: the FCR repartition topic's kind or
/// the input topics'.
fn restore_one(
    policy: &Arc<MetricsPolicy>,
    topic: &str,
    fcr_topic: &str,
    bytes: &[u8],
) -> Result<Held, callpulse_core::CheckpointError> {
    if topic == fcr_topic {
        FcrPartition::restore(policy, bytes).map(Held::Fcr)
    } else {
        PartitionState::restore(Arc::clone(policy), bytes).map(Held::Events)
    }
}

/// Restores every partition of `assigned` that has a usable checkpoint, and sets its
/// offset in `assigned` to the checkpoint's.
pub(crate) fn restore_assigned(
    store: &CheckpointStore,
    policy: &Arc<MetricsPolicy>,
    workers: &[mpsc::Sender<Input>],
    telemetry: &IngestTelemetry,
    fcr_topic: &str,
    assigned: &mut TopicPartitionList,
) {
    let partitions: Vec<(String, i32)> = assigned
        .elements()
        .iter()
        .map(|e| (e.topic().to_owned(), e.partition()))
        .collect();
    // One pass over the checkpoint topic for the whole assignment.
    let mut found = match store.read_all(&partitions) {
        Ok(found) => found,
        Err(err) => {
            warn!(%err, partitions = partitions.len(), "checkpoints could not be read: the assigned partitions start empty from the group's committed offsets");
            telemetry
                .checkpoints
                .with_label_values(&["read_failed"])
                .inc_by(partitions.len() as u64);
            return;
        }
    };
    for (topic, partition) in partitions {
        let read = found.remove(&(topic.clone(), partition)).flatten();
        let outcome = match read {
            Some(stored) => match restore_one(policy, &topic, fcr_topic, &stored.bytes) {
                Ok(state) => {
                    let worker = worker_of(&topic, partition, workers.len());
                    let input = Input::Restore {
                        partition: (Arc::from(topic.as_str()), partition),
                        state: Box::new(state),
                        next_offset: stored.next_offset,
                    };
                    let handed = workers[worker].blocking_send(input).is_ok();
                    let seek = assigned.set_partition_offset(
                        &topic,
                        partition,
                        Offset::Offset(stored.next_offset),
                    );
                    if handed && seek.is_ok() {
                        info!(
                            topic,
                            partition,
                            next_offset = stored.next_offset,
                            generation = stored.generation,
                            bytes = stored.bytes.len(),
                            "partition restored from its checkpoint"
                        );
                        "restored"
                    } else {
                        warn!(
                            topic,
                            partition,
                            "restored state could not be handed over; starting from the committed offset"
                        );
                        "read_failed"
                    }
                }
                Err(err) => {
                    warn!(topic, partition, %err, "checkpoint refused: the partition starts empty from the group's committed offset");
                    "refused"
                }
            },
            None => "none",
        };
        telemetry.checkpoints.with_label_values(&[outcome]).inc();
    }
}
