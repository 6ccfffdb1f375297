//! One partition of the FCR repartition topic: the tracker of the customers hashed to it.
//!
//! Facts reach the topic from every event partition, each tagged with where it came from
//! (source topic, partition, offset of the event that produced it, and its index among that
//! event's facts). An event partition restored from a checkpoint re-applies the events
//! after it and so produces some facts a second time; the tag makes them recognisable: per
//! source partition the tracker remembers the newest tag it applied and drops anything not
//! newer. Facts of one source arrive in its order (one producer per owner, one partition per
//! customer), so "not newer" is exactly "already applied". The remembered tags are part of
//! the checkpoint, which is what makes FCR exact after a crash.

use std::collections::BTreeMap;
use std::sync::Arc;

use callpulse_events::Ts;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::{FcrCounts, FcrFact, FcrTracker};
use crate::checkpoint::{CheckpointError, decode, encode};
use crate::policy::MetricsPolicy;

const MAGIC: &[u8; 4] = b"CPFC";
/// The first byte of every fact record: the record format this build writes and reads.
const RECORD_VERSION: u8 = 1;

/// Where a fact came from: (source offset, index among that event's facts).
type Tag = (i64, u32);

/// One fact on the repartition topic, with its origin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FactRecord {
    pub source_topic: Arc<str>,
    pub source_partition: i32,
    /// The offset of the event whose application produced the fact.
    pub offset: i64,
    /// Its index among that event's facts.
    pub index: u32,
    pub fact: FcrFact,
}

/// Why a fact record cannot be read.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum FactRecordError {
    #[error("fact record format version {0}; this build reads version {RECORD_VERSION}")]
    Version(u8),
    #[error("corrupt fact record: {0}")]
    Corrupt(String),
}

impl FactRecord {
    /// The customer the fact is about (what the record is keyed and partitioned by).
    pub fn customer(&self) -> u64 {
        match self.fact {
            FcrFact::Contact { customer, .. } | FcrFact::Completed { customer, .. } => customer,
        }
    }

    /// The record's bytes: a version byte, then postcard.
    pub fn encode(&self) -> Vec<u8> {
        match postcard::to_extend(self, vec![RECORD_VERSION]) {
            Ok(out) => out,
            Err(_) => unreachable!("postcard serialization of in-memory data"),
        }
    }

    /// # Errors
    /// [`FactRecordError`] for another version or bytes that do not decode.
    pub fn decode(bytes: &[u8]) -> Result<FactRecord, FactRecordError> {
        match bytes.split_first() {
            Some((&RECORD_VERSION, body)) => {
                postcard::from_bytes(body).map_err(|e| FactRecordError::Corrupt(e.to_string()))
            }
            Some((&other, _)) => Err(FactRecordError::Version(other)),
            None => Err(FactRecordError::Corrupt("empty record".to_owned())),
        }
    }
}

/// The state of one repartition-topic partition.
#[derive(Debug, Serialize, Deserialize)]
pub struct FcrPartition {
    tracker: FcrTracker,
    /// Per source partition, the newest fact applied.
    sources: BTreeMap<(Arc<str>, i32), Tag>,
    /// Facts dropped because they were applied already (a source re-read after a restore).
    duplicates: u64,
    /// Per queue, the totals the checkpoint brought: history this process did not count.
    #[serde(skip)]
    restored: BTreeMap<Arc<str>, FcrCounts>,
    #[serde(skip)]
    changed: bool,
}

/// What an FCR partition publishes on each tick.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FcrPart {
    /// The instant its windows were read at.
    pub at: Ts,
    pub queues: Vec<FcrQueuePart>,
    pub customers: u64,
    pub evicted: u64,
    pub duplicates: u64,
}

/// One queue's FCR in one partition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FcrQueuePart {
    pub name: Arc<str>,
    /// Outcomes known within each sliding window (policy order).
    pub windows: Vec<FcrCounts>,
    /// Every outcome the partition's history holds.
    pub totals: FcrCounts,
    /// Of those, what this process counted (restored history left out).
    pub counted: FcrCounts,
    pub pending: u64,
}

impl FcrPartition {
    /// An empty partition under `policy`.
    pub fn new(policy: &MetricsPolicy) -> FcrPartition {
        FcrPartition {
            tracker: FcrTracker::for_policy(policy),
            sources: BTreeMap::new(),
            duplicates: 0,
            restored: BTreeMap::new(),
            changed: true,
        }
    }

    /// Applies `record` unless its source already gave it; returns whether it was applied.
    pub fn apply(&mut self, record: &FactRecord) -> bool {
        let tag = (record.offset, record.index);
        let source = (Arc::clone(&record.source_topic), record.source_partition);
        match self.sources.get_mut(&source) {
            Some(newest) if *newest >= tag => {
                self.duplicates += 1;
                return false;
            }
            Some(newest) => *newest = tag,
            None => {
                self.sources.insert(source, tag);
            }
        }
        self.tracker.apply(&record.fact);
        self.changed = true;
        true
    }

    /// Moves event time to `at` (the instance watermark): windows that closed before it
    /// settle as successes even when no new fact comes (a quiet night).
    pub fn advance(&mut self, at: Ts) {
        self.tracker.advance(at);
    }

    /// The newest event time among the facts applied.
    pub fn high_water(&self) -> Option<Ts> {
        self.tracker.high_water
    }

    /// Whether a read at `now` could differ from the last one.
    pub fn changed_since_snapshot(&self) -> bool {
        self.changed
    }

    /// Reads the partition at `now` (after [`FcrPartition::advance`]).
    pub fn snapshot(&mut self, now: Ts, policy: &MetricsPolicy) -> FcrPart {
        self.changed = false;
        let mut part = self.tracker.read_part(now, policy, &self.restored);
        part.duplicates = self.duplicates;
        part
    }

    /// The whole state as checkpoint bytes (`CPFC` header, else as the event partitions').
    pub fn checkpoint(&self, policy: &MetricsPolicy) -> Vec<u8> {
        encode(MAGIC, policy, self)
    }

    /// The state a checkpoint holds, under `policy`.
    ///
    /// # Errors
    /// [`CheckpointError`] as for event partitions.
    pub fn restore(policy: &MetricsPolicy, bytes: &[u8]) -> Result<FcrPartition, CheckpointError> {
        let mut state: FcrPartition = decode(MAGIC, policy, bytes)?;
        state.restored = state
            .tracker
            .view(Ts(0), policy)
            .into_iter()
            .map(|(name, view)| (name, view.totals))
            .collect();
        state.changed = true;
        Ok(state)
    }
}

impl FcrTracker {
    /// The tracker read as one partition's part (`replay`, which feeds one tracker with
    /// every fact, and tests): everything counted here.
    pub fn part(&mut self, now: Ts, policy: &MetricsPolicy) -> FcrPart {
        self.advance(now);
        self.read_part(now, policy, &BTreeMap::new())
    }

    /// The tracker's figures at `now`; `restored` per queue is history this process did not
    /// count (left out of `counted`).
    fn read_part(
        &self,
        now: Ts,
        policy: &MetricsPolicy,
        restored: &BTreeMap<Arc<str>, FcrCounts>,
    ) -> FcrPart {
        let queues = self
            .view(now, policy)
            .into_iter()
            .map(|(name, view)| {
                let mut counted = view.totals;
                if let Some(restored) = restored.get(&name) {
                    counted.eligible -= restored.eligible.min(counted.eligible);
                    counted.success -= restored.success.min(counted.success);
                }
                FcrQueuePart {
                    name,
                    windows: view.windows,
                    totals: view.totals,
                    counted,
                    pending: view.pending,
                }
            })
            .collect();
        FcrPart {
            at: now,
            queues,
            customers: self.customers() as u64,
            evicted: self.evicted,
            duplicates: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(partition: i32, offset: i64, index: u32, fact: FcrFact) -> FactRecord {
        FactRecord {
            source_topic: Arc::from("calls"),
            source_partition: partition,
            offset,
            index,
            fact,
        }
    }

    fn completed(customer: u64, done_s: i64) -> FcrFact {
        FcrFact::Completed {
            customer,
            offered: Ts((done_s - 60) * 1000),
            done: Ts(done_s * 1000),
            queue: Arc::from("q"),
            key: Ts(done_s * 1000),
        }
    }

    #[test]
    fn a_record_round_trips_and_a_foreign_one_is_refused() {
        let r = record(2, 17, 1, completed(9, 1_000));
        assert_eq!(FactRecord::decode(&r.encode()), Ok(r.clone()));
        let mut other = r.encode();
        other[0] = 7;
        assert_eq!(FactRecord::decode(&other), Err(FactRecordError::Version(7)));
        assert!(FactRecord::decode(&[]).is_err());
        assert!(FactRecord::decode(&[RECORD_VERSION, 0xff]).is_err());
    }

    #[test]
    fn facts_a_source_gives_again_after_a_restore_count_once() {
        let policy = MetricsPolicy::default();
        let mut p = FcrPartition::new(&policy);
        assert!(p.apply(&record(0, 5, 0, completed(1, 1_000))));
        assert!(p.apply(&record(1, 3, 0, completed(2, 1_000))));
        // Partition 0 is re-read from an offset before 5: the same fact comes again.
        assert!(!p.apply(&record(0, 5, 0, completed(1, 1_000))));
        assert!(p.apply(&record(
            0,
            5,
            1,
            FcrFact::Contact {
                customer: 1,
                at: Ts(1_100_000),
            }
        )));
        assert!(!p.apply(&record(0, 4, 0, completed(3, 900))));
        let now = Ts(1_200_000);
        p.advance(now);
        let part = p.snapshot(now, &policy);
        assert_eq!(part.duplicates, 2);
        let q = &part.queues[0];
        // Customer 1 called again within the window: one failure, counted once.
        assert_eq!(
            q.totals,
            FcrCounts {
                eligible: 1,
                success: 0
            }
        );
        assert_eq!(q.pending, 1);
    }

    #[test]
    fn a_restored_partition_counts_only_what_it_applies_after_the_restore() {
        let policy = MetricsPolicy::default();
        let mut p = FcrPartition::new(&policy);
        p.apply(&record(0, 1, 0, completed(1, 1_000)));
        p.apply(&record(
            0,
            2,
            0,
            FcrFact::Contact {
                customer: 1,
                at: Ts(1_010_000),
            },
        ));
        let bytes = p.checkpoint(&policy);
        let mut back = FcrPartition::restore(&policy, &bytes).expect("restores");
        // The tags came along: the re-read fact is a duplicate.
        assert!(!back.apply(&record(
            0,
            2,
            0,
            FcrFact::Contact {
                customer: 1,
                at: Ts(1_010_000),
            }
        )));
        back.apply(&record(0, 3, 0, completed(4, 2_000)));
        back.apply(&record(
            0,
            4,
            0,
            FcrFact::Contact {
                customer: 4,
                at: Ts(2_001_000),
            },
        ));
        let part = back.snapshot(Ts(2_100_000), &policy);
        assert_eq!(part.queues[0].totals.eligible, 2);
        assert_eq!(part.queues[0].counted.eligible, 1);
        assert_eq!(
            FcrPartition::restore(&policy, &[1, 2, 3]).err(),
            Some(CheckpointError::NotACheckpoint)
        );
    }
}
