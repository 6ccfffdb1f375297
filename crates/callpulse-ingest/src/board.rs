//! The partition board: where workers publish each owned partition's latest snapshot, and
//! where a revoked partition's lifetime totals are kept so exported counters never decrease.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use callpulse_core::{FcrFact, PartitionSnapshot, Retired};

type Key = (Arc<str>, i32);

#[derive(Debug, Default)]
struct Inner {
    live: HashMap<Key, Arc<PartitionSnapshot>>,
    retired: Retired,
}

/// Shared between the workers (writers, one per partition) and the publisher (reader).
///
/// **Locking behaviour:** one `std::sync::Mutex`, held only to swap an `Arc` in or to clone
/// the list of `Arc`s out, never across an `.await` and never while merging. A mutex rather
/// than per-partition atomics because retiring must move totals from `live` to `retired` in
/// one step: a reader must never see them in both places, or in neither.
#[derive(Debug, Default)]
pub struct PartitionBoard {
    inner: Mutex<Inner>,
    /// FCR facts from every partition since the publisher last took them (its own lock:
    /// pushed per batch, taken per tick).
    fcr_facts: Mutex<Vec<FcrFact>>,
}

impl PartitionBoard {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A poisoned board only means a worker panicked mid-swap of an Arc: the map is intact.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Replaces the published snapshot of `(topic, partition)`.
    pub fn publish(&self, topic: &Arc<str>, partition: i32, snapshot: Arc<PartitionSnapshot>) {
        self.lock()
            .live
            .insert((Arc::clone(topic), partition), snapshot);
    }

    /// The partition is no longer ours: keep its lifetime totals, drop its live view.
    pub fn retire(&self, topic: &Arc<str>, partition: i32, last: &PartitionSnapshot) {
        let mut inner = self.lock();
        inner.live.remove(&(Arc::clone(topic), partition));
        inner.retired.absorb(last);
    }

    /// A consistent read: every live snapshot and the retired totals, at one instant.
    pub fn read(&self) -> (Vec<Arc<PartitionSnapshot>>, Retired) {
        let inner = self.lock();
        (
            inner.live.values().cloned().collect(),
            inner.retired.clone(),
        )
    }

    /// Adds facts for the instance's FCR tracker.
    pub fn push_fcr_facts(&self, facts: Vec<FcrFact>) {
        if !facts.is_empty() {
            self.fcr_facts
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .extend(facts);
        }
    }

    /// Takes every fact pushed so far.
    pub fn take_fcr_facts(&self) -> Vec<FcrFact> {
        std::mem::take(
            &mut *self
                .fcr_facts
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        )
    }

    /// Partitions with a live snapshot.
    pub fn live_partitions(&self) -> usize {
        self.lock().live.len()
    }
}
