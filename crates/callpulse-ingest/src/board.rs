//! The partition board: the rendezvous between the workers and the publisher.
//!
//! - Workers report each owned partition's progress (newest event time, next offset) after
//!   every batch; the consumer's statistics add each partition's log end. The publisher
//!   turns that into the instance watermark (`callpulse_core::watermark`).
//! - The publisher requests a tick: one sequence number and one read instant for every
//!   partition. Each worker reads its partitions at that instant, publishes the snapshots
//!   tagged with the tick, and acknowledges; the publisher merges once all have (or the
//!   tick's deadline passed), so a merged window is one window.
//! - A revoked partition's lifetime totals are kept here so exported counters never
//!   decrease.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use callpulse_core::{FcrCounts, FcrPart, PartitionProgress, PartitionSnapshot, Retired, Ts};
use tokio::sync::{Notify, watch};

/// A partition: (topic, partition).
pub type Key = (Arc<str>, i32);

/// One publishing tick: every partition of the merged snapshot is read at `at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tick {
    /// Increases by one per tick; 0 before the first.
    pub seq: u64,
    /// The read instant (the instance watermark when the tick was requested).
    pub at: Ts,
}

#[derive(Debug, Default)]
struct Inner {
    /// Each owned partition's latest snapshot and the tick it was read for.
    live: HashMap<Key, (u64, Arc<PartitionSnapshot>)>,
    /// Each owned partition of the FCR repartition topic: its latest part and tick.
    fcr: HashMap<Key, (u64, Arc<FcrPart>)>,
    retired: Retired,
    /// Per queue, the FCR outcomes this process counted in partitions it gave away.
    retired_fcr: BTreeMap<Arc<str>, FcrCounts>,
    progress: HashMap<Key, PartitionProgress>,
    /// Per worker, the last tick it acknowledged.
    acked: Vec<u64>,
}

/// What the publisher reads for one tick.
#[derive(Debug)]
pub struct BoardRead {
    /// Every live partition snapshot, and (in the same order) which partition it is.
    pub parts: Vec<Arc<PartitionSnapshot>>,
    pub part_keys: Vec<Key>,
    /// Every owned FCR partition's part, and which it is.
    pub fcr: Vec<Arc<FcrPart>>,
    pub fcr_keys: Vec<Key>,
    pub retired_fcr: BTreeMap<Arc<str>, FcrCounts>,
    /// How many of them were not read for the requested tick (their worker missed the
    /// deadline): their windows end at an earlier instant.
    pub stale: usize,
    pub retired: Retired,
}

/// Shared between the workers (writers, one per partition), the consumer's statistics
/// callback and the publisher (reader).
///
/// **Locking behaviour:** one `std::sync::Mutex`, held only to swap an `Arc` in, update a
/// few integers or clone the list of `Arc`s out; never across an `.await` and never while
/// merging. A mutex rather than per-partition atomics because retiring must move totals from
/// `live` to `retired` in one step: a reader must never see them in both places, or in
/// neither.
#[derive(Debug)]
pub struct PartitionBoard {
    inner: Mutex<Inner>,
    /// FCR facts that could not be sent to the repartition topic.
    facts_dropped: AtomicU64,
    ticks: watch::Sender<Tick>,
    acks: Notify,
    /// Wall time (ms) the cluster was last heard from (a broker up in the client's
    /// statistics, or a message), and the last message received; `i64::MIN` before.
    last_contact_ms: AtomicI64,
    last_message_ms: AtomicI64,
}

impl Default for PartitionBoard {
    fn default() -> Self {
        PartitionBoard::new(1)
    }
}

impl PartitionBoard {
    /// A board for `workers` workers.
    pub fn new(workers: usize) -> Self {
        PartitionBoard {
            inner: Mutex::new(Inner {
                acked: vec![0; workers],
                ..Inner::default()
            }),
            facts_dropped: AtomicU64::new(0),
            ticks: watch::Sender::new(Tick::default()),
            acks: Notify::new(),
            last_contact_ms: AtomicI64::new(i64::MIN),
            last_message_ms: AtomicI64::new(i64::MIN),
        }
    }

    /// The cluster answered at wall time `at` (a broker up, or a message).
    pub fn contact(&self, at: Ts) {
        self.last_contact_ms
            .fetch_max(at.millis(), Ordering::Relaxed);
    }

    /// A message was received at wall time `at`.
    pub fn message(&self, at: Ts) {
        self.last_message_ms
            .fetch_max(at.millis(), Ordering::Relaxed);
        self.contact(at);
    }

    /// Wall times of the last contact with the cluster and of the last message.
    pub fn last_heard(&self) -> (Option<Ts>, Option<Ts>) {
        let read = |a: &AtomicI64| {
            let ms = a.load(Ordering::Relaxed);
            (ms != i64::MIN).then_some(Ts(ms))
        };
        (read(&self.last_contact_ms), read(&self.last_message_ms))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A poisoned board only means a worker panicked mid-swap of an Arc: the map is intact.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Replaces the published snapshot of `(topic, partition)`, read for tick `seq`.
    pub fn publish(
        &self,
        topic: &Arc<str>,
        partition: i32,
        seq: u64,
        snapshot: Arc<PartitionSnapshot>,
    ) {
        self.lock()
            .live
            .insert((Arc::clone(topic), partition), (seq, snapshot));
    }

    /// Replaces the published part of FCR partition `(topic, partition)`, read for `seq`.
    pub fn publish_fcr(&self, topic: &Arc<str>, partition: i32, seq: u64, part: Arc<FcrPart>) {
        self.lock()
            .fcr
            .insert((Arc::clone(topic), partition), (seq, part));
    }

    /// Marks an unchanged partition's snapshot (of either kind) as read for tick `seq` (its
    /// windows and live state are the same at the new instant, see
    /// `PartitionState::changed_since_snapshot`).
    pub fn reuse(&self, topic: &Arc<str>, partition: i32, seq: u64) -> bool {
        let mut inner = self.lock();
        let key = (Arc::clone(topic), partition);
        if let Some(entry) = inner.live.get_mut(&key) {
            entry.0 = seq;
            return true;
        }
        match inner.fcr.get_mut(&key) {
            Some(entry) => {
                entry.0 = seq;
                true
            }
            None => false,
        }
    }

    /// The FCR partition is no longer ours: keep what this process counted in it.
    pub fn retire_fcr(&self, topic: &Arc<str>, partition: i32, last: &FcrPart) {
        let mut inner = self.lock();
        inner.fcr.remove(&(Arc::clone(topic), partition));
        for q in &last.queues {
            inner
                .retired_fcr
                .entry(Arc::clone(&q.name))
                .or_default()
                .add(&q.counted);
        }
    }

    /// `n` FCR facts could not be sent to the repartition topic.
    pub fn facts_dropped(&self, n: u64) {
        self.facts_dropped.fetch_add(n, Ordering::Relaxed);
    }

    /// FCR facts that could not be sent, since the start.
    pub fn facts_dropped_total(&self) -> u64 {
        self.facts_dropped.load(Ordering::Relaxed)
    }

    /// The partition is no longer ours: keep its lifetime totals, drop its live view.
    pub fn retire(&self, topic: &Arc<str>, partition: i32, last: &PartitionSnapshot) {
        let mut inner = self.lock();
        let key = (Arc::clone(topic), partition);
        inner.live.remove(&key);
        inner.progress.remove(&key);
        inner.retired.retire(topic, partition, last);
    }

    /// Notes a partition just restored from its checkpoint: its lifetime totals so far are
    /// history this process did not count (see `Retired::restored_counters`).
    pub fn restored(&self, topic: &Arc<str>, partition: i32, first: &PartitionSnapshot) {
        self.lock().retired.restore(topic, partition, first);
    }

    /// Records how far partitions have been applied (after each batch): per partition its
    /// newest event time and the next offset to apply.
    pub fn progress<'a>(&self, applied: impl IntoIterator<Item = (&'a Key, Option<Ts>, i64)>) {
        let mut inner = self.lock();
        for (key, high_water, next) in applied {
            let entry = inner.progress.entry(key.clone()).or_default();
            entry.high_water = high_water;
            entry.next_offset = Some(next);
            entry.idle = false;
        }
    }

    /// The consumer found nothing to read after everything handed to this worker so far:
    /// its partitions are idle until their next message.
    pub fn idle<'a>(&self, owned: impl IntoIterator<Item = &'a Key>) {
        let mut inner = self.lock();
        for key in owned {
            if let Some(entry) = inner.progress.get_mut(key) {
                entry.idle = true;
            }
        }
    }

    /// Records a partition's log end as the consumer last learned it (statistics). Only
    /// for partitions a worker owns: a log end arriving after a revoke is ignored.
    pub fn log_end(&self, topic: &str, partition: i32, end: i64) {
        let mut inner = self.lock();
        if let Some(entry) = inner.progress.get_mut(&(Arc::from(topic), partition)) {
            entry.log_end = Some(end);
        }
    }

    /// Registers a newly assigned partition, so that it counts in the watermark before its
    /// first message is applied.
    pub fn assigned(&self, topic: &str, partition: i32) {
        self.lock()
            .progress
            .entry((Arc::from(topic), partition))
            .or_default();
    }

    /// Every owned partition's progress.
    pub fn all_progress(&self) -> Vec<PartitionProgress> {
        self.lock().progress.values().copied().collect()
    }

    /// Asks every worker to read its partitions at `tick.at` and publish.
    pub fn request_tick(&self, tick: Tick) {
        self.ticks.send_replace(tick);
    }

    /// The ticks the publisher requests (each worker holds one receiver).
    pub fn ticks(&self) -> watch::Receiver<Tick> {
        self.ticks.subscribe()
    }

    /// Worker `worker` has published every partition it owns for tick `seq`.
    pub fn ack(&self, worker: usize, seq: u64) {
        if let Some(slot) = self.lock().acked.get_mut(worker) {
            *slot = (*slot).max(seq);
        }
        self.acks.notify_waiters();
    }

    fn all_acked(&self, seq: u64) -> bool {
        self.lock().acked.iter().all(|acked| *acked >= seq)
    }

    /// Waits until every worker acknowledged tick `seq`, at most `deadline`; whether they
    /// all did.
    pub async fn wait_for_acks(&self, seq: u64, deadline: Duration) -> bool {
        let timeout = tokio::time::sleep(deadline);
        tokio::pin!(timeout);
        loop {
            // Registered before the check, so an ack between the check and the wait wakes us.
            let notified = self.acks.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.all_acked(seq) {
                return true;
            }
            tokio::select! {
                () = &mut notified => {}
                () = &mut timeout => return self.all_acked(seq),
            }
        }
    }

    /// A consistent read for tick `seq`: every live snapshot and the retired totals, at one
    /// instant.
    pub fn read(&self, seq: u64) -> BoardRead {
        let inner = self.lock();
        let (part_keys, parts) = inner
            .live
            .iter()
            .map(|(key, (_, s))| (key.clone(), Arc::clone(s)))
            .unzip();
        let (fcr_keys, fcr) = inner
            .fcr
            .iter()
            .map(|(key, (_, s))| (key.clone(), Arc::clone(s)))
            .unzip();
        BoardRead {
            parts,
            part_keys,
            fcr,
            fcr_keys,
            stale: inner.live.values().filter(|(tick, _)| *tick != seq).count()
                + inner.fcr.values().filter(|(tick, _)| *tick != seq).count(),
            retired: inner.retired.clone(),
            retired_fcr: inner.retired_fcr.clone(),
        }
    }

    /// Partitions with a live snapshot.
    pub fn live_partitions(&self) -> usize {
        let inner = self.lock();
        inner.live.len() + inner.fcr.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_tick_completes_when_every_worker_acknowledged() {
        let board = Arc::new(PartitionBoard::new(2));
        board.request_tick(Tick { seq: 1, at: Ts(5) });
        assert!(!board.wait_for_acks(1, Duration::from_millis(20)).await);
        board.ack(0, 1);
        let waiter = {
            let board = Arc::clone(&board);
            tokio::spawn(async move { board.wait_for_acks(1, Duration::from_secs(30)).await })
        };
        tokio::task::yield_now().await;
        board.ack(1, 1);
        assert!(waiter.await.expect("joined"));
    }

    #[test]
    fn reads_count_snapshots_of_older_ticks() {
        let board = PartitionBoard::new(1);
        let topic: Arc<str> = Arc::from("calls");
        board.publish(&topic, 0, 1, Arc::new(PartitionSnapshot::default()));
        board.publish(&topic, 1, 2, Arc::new(PartitionSnapshot::default()));
        assert_eq!(board.read(2).stale, 1);
        assert!(board.reuse(&topic, 0, 2));
        assert_eq!(board.read(2).stale, 0);
        assert!(!board.reuse(&topic, 7, 2));
    }

    #[test]
    fn progress_is_kept_for_owned_partitions_only() {
        let board = PartitionBoard::new(1);
        let topic: Arc<str> = Arc::from("calls");
        board.log_end("calls", 0, 10);
        assert!(board.all_progress().is_empty());
        board.assigned("calls", 0);
        board.progress([(&(Arc::clone(&topic), 0), Some(Ts(7)), 4)]);
        board.log_end("calls", 0, 10);
        let p = board.all_progress()[0];
        assert_eq!(
            (p.high_water, p.next_offset, p.log_end),
            (Some(Ts(7)), Some(4), Some(10))
        );
        assert!(!p.caught_up());
        board.retire(&topic, 0, &PartitionSnapshot::default());
        assert!(board.all_progress().is_empty());
    }
}
